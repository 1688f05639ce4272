"""Failures of integrations use cases, each with the HTTP status the edge answers with."""

from fastapi import Request
from fastapi.responses import JSONResponse


class IntegrationsError(Exception):
    status_code = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def body(self) -> dict[str, object]:
        return {"detail": self.detail}


class Forbidden(IntegrationsError):
    status_code = 403


class Invalid(IntegrationsError):
    """Bad input: every problem names its field (`changes.3.school_id`), as the platform's
    validation errors do."""

    status_code = 422

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("invalid request: " + "; ".join(f"{f}: {m}" for f, m in problems))
        self.problems = problems

    def body(self) -> dict[str, object]:
        return {
            "detail": self.detail,
            "errors": [{"field": f, "message": m} for f, m in self.problems],
        }


async def integrations_error_response(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, IntegrationsError)
    return JSONResponse(error.body(), status_code=error.status_code)
