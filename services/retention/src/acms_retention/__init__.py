"""ACMS retention service."""
