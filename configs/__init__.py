"""The shipped run-configuration presets (YAML files), installed as ``qnoise.presets``."""
