"""ACMS identity service."""
