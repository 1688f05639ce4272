"""The one error body every service answers with, and an OpenAPI that says so.

Every 4xx/5xx a service (or the gateway in front of it) sends is `{"detail": str}`; a 422
adds `errors`, one entry per field, and some answers add a little more (a 409 the
current status or version, a 422 on submit the missing fields): extra members are
allowed, and named by the route that sends them. `document_errors` rewrites an app's
OpenAPI so that every operation lists every status it can answer, each with this body,
instead of FastAPI's default 422 shape, which no route of ours ever sent.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field


class FieldProblem(BaseModel):
    field: str = Field(description="where: `email`, `pupil.name`, `query.offset`, `changes.3`")
    message: str


class ErrorBody(BaseModel):
    """The body of every error response."""

    model_config = ConfigDict(extra="allow", title="Error")

    detail: str = Field(description="what went wrong, for a person to read")
    errors: list[FieldProblem] | None = Field(default=None, description="422: each problem")
    request_id: str | None = Field(default=None, description="set when the gateway answers")


class InvalidRequest(ErrorBody):
    """422: the request names a field that is missing, malformed or not storable."""

    model_config = ConfigDict(extra="allow", title="InvalidRequest")

    errors: list[FieldProblem]


class Readiness(BaseModel):
    """/readyz: ready, or 503 naming what is missing."""

    model_config = ConfigDict(title="Readiness")

    status: str
    failing: list[str] | None = None


DESCRIPTIONS = {
    400: "the body could not be read",
    401: "no valid access token (or, to sign in, refused without saying why)",
    403: "the caller sees the record but may not do this",
    404: "absent, or not visible to the caller: the two are indistinguishable",
    409: "the record changed or is in a state that does not allow this",
    413: "body larger than the limit (1 MiB)",
    422: "invalid request: every problem by field",
    429: "too many requests from this client (the gateway's rate limit)",
    503: "the service is starting or its database is unavailable; try again shortly",
}


def statuses_for(path: str, method: str, operation: dict[str, Any]) -> list[int]:
    """Every error status the platform and the service's use cases can answer with: any
    request may be too large, hold an unstorable value or meet the gateway's rate limit;
    anything but /healthz may find the database unavailable."""
    statuses = [413, 422, 429]
    if path != "/healthz":
        statuses.append(503)
    if "requestBody" in operation:
        statuses.append(400)
    if operation.get("security"):
        statuses += [401, 403]
        if method != "get":
            statuses.append(409)
    if "{" in path:
        statuses.append(404)
    return sorted(statuses)


def document_errors(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema and app.openapi_schema.get("x-acms-errors"):
            return app.openapi_schema
        schema = generate()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in (ErrorBody, InvalidRequest, Readiness):
            model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(model_schema.pop("$defs", {}))
            components[model_schema["title"]] = model_schema
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                _document(path, method, operation)
        schema["x-acms-errors"] = True
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _document(path: str, method: str, operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    if path == "/readyz":
        for code in ("200", "503"):
            responses[code] = {
                "description": "ready" if code == "200" else "not ready: what is missing",
                "content": {"application/json": {"schema": _ref("Readiness")}},
            }
    declared = {int(status) for status in responses if status.isdigit() and int(status) >= 400}
    for status in sorted(declared | set(statuses_for(path, method, operation))):
        ref = "InvalidRequest" if status == 422 else "Error"
        if path == "/readyz" and status == 503:
            continue
        entry = responses.get(str(status))
        if entry is None or status == 422:
            entry = responses[str(status)] = {"description": DESCRIPTIONS.get(status, "error")}
        content = entry.setdefault("content", {}).setdefault("application/json", {})
        content.setdefault("schema", _ref(ref))


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}
