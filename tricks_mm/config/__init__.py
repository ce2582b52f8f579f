"""Config adaptation: loading with overlays, the command-line flags, epoch scaling, the host
guards ``tools/train.py`` switches on, and the one config walker (library code the CLI and the
ladder share)."""
