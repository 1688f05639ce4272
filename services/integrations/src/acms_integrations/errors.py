"""Failures of integrations use cases, each with the HTTP status the edge answers with."""

from acms_platform.errors import Conflict, Forbidden, NotFound, PlatformError

__all__ = ["Conflict", "Forbidden", "Invalid", "NotFound"]


class Invalid(PlatformError):
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
