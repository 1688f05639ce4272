"""ACMS referrals service."""
