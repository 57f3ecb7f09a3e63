"""Units, configuration, presets, registries and errors shared by every layer."""
