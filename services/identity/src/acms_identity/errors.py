"""Failures of identity use cases, each with the HTTP status the edge answers with."""

from fastapi import Request
from fastapi.responses import JSONResponse


class IdentityError(Exception):
    status_code = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotAuthenticated(IdentityError):
    status_code = 401


class Forbidden(IdentityError):
    status_code = 403


class NotFound(IdentityError):
    """Absent, or not visible to the caller: the two are indistinguishable on purpose."""

    status_code = 404


class Conflict(IdentityError):
    status_code = 409


class Invalid(IdentityError):
    """Bad input: the message starts with the field it is about."""

    status_code = 422

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field


async def identity_error_response(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, IdentityError)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(error, NotAuthenticated) else None
    body: dict[str, object] = {"detail": error.detail}
    if isinstance(error, Invalid):  # the platform's 422 body: each problem by field
        body["errors"] = [{"field": error.field, "message": error.detail}]
    return JSONResponse(body, status_code=error.status_code, headers=headers)
