"""Fixtures come from the plugin `acms_platform.testing.plugin` (see pyproject addopts)."""
