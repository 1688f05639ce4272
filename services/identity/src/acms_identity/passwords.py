"""Argon2id password and client-secret hashes, and the dummy used for unknown users."""

from __future__ import annotations

import asyncio
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()
# Verified against when the email is unknown, so that a miss costs as long as a hit.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(32))


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def verify_secret(stored_hash: str | None, secret: str) -> bool:
    """True when `secret` matches; always does the full Argon2 work, even with no hash."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, secret) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_opaque_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """Refresh tokens are 256 random bits: a plain SHA-256 is enough to store them."""
    return hashlib.sha256(token.encode()).hexdigest()


async def hash_secret_off_loop(secret: str) -> str:
    """Argon2 takes tens to hundreds of milliseconds: never on the event loop."""
    return await asyncio.to_thread(hash_secret, secret)


async def verify_secret_off_loop(stored_hash: str | None, secret: str) -> bool:
    return await asyncio.to_thread(verify_secret, stored_hash, secret)
