"""Use cases of the referrals service."""
