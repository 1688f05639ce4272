"""Failures of referrals use cases: the platform's errors (`acms_platform.errors`, each
with its status, answered by the platform), plus what only referrals says."""

from fastapi import Request
from fastapi.responses import JSONResponse

from acms_platform.errors import Forbidden, Invalid, NotAuthenticated, PlatformError
from acms_platform.errors import NotFound as PlatformNotFound
from acms_referrals.domain import StaleVersion, WrongState

__all__ = [
    "Forbidden",
    "Incomplete",
    "Invalid",
    "NotAuthenticated",
    "NotFound",
    "conflict_response",
]


class NotFound(PlatformNotFound):
    """Absent, or not visible to the caller: the two are indistinguishable on purpose."""

    def __init__(self, referral_id: object) -> None:
        super().__init__(f"no request for support {referral_id}")


class Incomplete(PlatformError):
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


async def conflict_response(request: Request, error: Exception) -> JSONResponse:
    """Wrong state or stale version: 409, with the current state or version."""
    body: dict[str, object] = {"detail": str(error)}
    if isinstance(error, WrongState):
        body["current_status"] = error.current.value
    elif isinstance(error, StaleVersion):
        body["current_version"] = error.current
    return JSONResponse(body, status_code=409)
