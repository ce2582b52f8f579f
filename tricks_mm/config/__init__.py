"""Config adaptation: loading with overlays, the command-line flags, epoch scaling, the host
guards ``tools/train.py`` switches on, the per-image colour switch, and the one config walker
(library code the CLI and the ladder share)."""
