"""Failures of referrals use cases, each with the HTTP status the edge answers with."""

from fastapi import Request
from fastapi.responses import JSONResponse

from acms_referrals.domain import StaleVersion, WrongState


class ReferralError(Exception):
    status_code = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def body(self) -> dict[str, object]:
        return {"detail": self.detail}


class NotAuthenticated(ReferralError):
    status_code = 401


class Forbidden(ReferralError):
    """The caller sees the request but may not do this to it."""

    status_code = 403


class NotFound(ReferralError):
    """Absent, or not visible to the caller: the two are indistinguishable on purpose."""

    status_code = 404

    def __init__(self, referral_id: object) -> None:
        super().__init__(f"no request for support {referral_id}")


class Invalid(ReferralError):
    """Bad input: the message starts with the field it is about."""

    status_code = 422

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field

    def body(self) -> dict[str, object]:
        return {"detail": self.detail, "errors": [{"field": self.field, "message": self.detail}]}


class Incomplete(ReferralError):
    """Submit of a request that lacks required fields: every missing field by name."""

    status_code = 422

    def __init__(self, missing: list[str]) -> None:
        super().__init__("cannot submit: missing required fields: " + ", ".join(missing))
        self.missing = missing

    def body(self) -> dict[str, object]:
        return {
            "detail": self.detail,
            "missing": self.missing,
            "errors": [{"field": f, "message": "required to submit"} for f in self.missing],
        }


async def referral_error_response(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ReferralError)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(error, NotAuthenticated) else None
    return JSONResponse(error.body(), status_code=error.status_code, headers=headers)


async def conflict_response(request: Request, error: Exception) -> JSONResponse:
    """Wrong state or stale version: 409, with the current state or version."""
    body: dict[str, object] = {"detail": str(error)}
    if isinstance(error, WrongState):
        body["current_status"] = error.current.value
    elif isinstance(error, StaleVersion):
        body["current_version"] = error.current
    return JSONResponse(body, status_code=409)
