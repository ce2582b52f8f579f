"""Config adaptation: library functions that rewrite a loaded mmengine ``Config``."""
