"""ACMS integrations service."""
