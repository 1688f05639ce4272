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


class MailUnavailable(PlatformError):
    """The mail server did not take the message: nothing was created (503)."""

    status_code = 503


class TokenRefused(PlatformError):
    """An activation or reset token that is unknown, expired or already used (400): one
    answer for all three."""

    status_code = 400


__all__ = [
    "Conflict",
    "Forbidden",
    "IdentityError",
    "Invalid",
    "MailUnavailable",
    "NotAuthenticated",
    "NotFound",
    "TokenRefused",
]
