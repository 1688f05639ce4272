"""ACMS reporting service."""
