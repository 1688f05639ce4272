"""ACMS cases service."""
