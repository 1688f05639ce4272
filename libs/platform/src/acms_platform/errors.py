"""The one error base of every service: a use case raises a `PlatformError` subclass and
the edge answers with its status and body (registered once by `create_app`)."""

from __future__ import annotations

from typing import ClassVar

from fastapi import Request
from fastapi.responses import JSONResponse


class PlatformError(Exception):
    """A refusal the caller can act on: `status_code`, and a `detail` that says why."""

    status_code: ClassVar[int] = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def body(self) -> dict[str, object]:
        return {"detail": self.detail}

    def headers(self) -> dict[str, str] | None:
        return None


class NotAuthenticated(PlatformError):
    """No usable identity: a missing or bad token, or an account that may not act now."""

    status_code = 401

    def headers(self) -> dict[str, str] | None:
        return {"WWW-Authenticate": 'Bearer error="invalid_token"'}


class Forbidden(PlatformError):
    """The caller sees the record but may not do this to it."""

    status_code = 403


class NotFound(PlatformError):
    """Absent, or not visible to the caller: the two are indistinguishable on purpose."""

    status_code = 404


class Conflict(PlatformError):
    status_code = 409


class Invalid(PlatformError):
    """Bad input: the message starts with the field it is about."""

    status_code = 422

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field

    def body(self) -> dict[str, object]:
        return {"detail": self.detail, "errors": [{"field": self.field, "message": self.detail}]}


async def platform_error_response(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, PlatformError)
    return JSONResponse(error.body(), status_code=error.status_code, headers=error.headers())
