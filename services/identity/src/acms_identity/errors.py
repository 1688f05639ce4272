"""Failures of identity use cases: the platform's errors, each with its status (answered
by the platform's one handler, registered by `create_app`)."""

from acms_platform.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotAuthenticated,
    NotFound,
    PlatformError,
)

IdentityError = PlatformError

__all__ = [
    "Conflict",
    "Forbidden",
    "IdentityError",
    "Invalid",
    "NotAuthenticated",
    "NotFound",
]
