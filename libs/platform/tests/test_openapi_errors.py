"""Every service's OpenAPI tells the truth about errors: one error body, on every
operation, for every status it can answer with; the bodies sent match it."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

import httpx
import jsonschema_rs
import pytest
from fastapi import APIRouter
from pydantic import BaseModel

from acms_platform.app import create_app
from acms_platform.runtime import ServiceDefinition
from acms_platform.settings import Settings
from acms_platform.testing.plugin import TEST_STUDENT_KEY_SECRET

SERVICES = ("identity", "referrals", "cases", "integrations", "reporting", "retention")
ERROR_SCHEMAS = {"Error", "InvalidRequest", "Readiness"}


@pytest.fixture(autouse=True)
def _student_key_secret(monkeypatch):
    """A required setting: the apps built here read it from the environment."""
    monkeypatch.setenv("ACMS_STUDENT_KEY_SECRET", TEST_STUDENT_KEY_SECRET)


def _document(service: str) -> dict:
    settings = Settings(service_name=service, student_key_secret=TEST_STUDENT_KEY_SECRET)
    return import_module(f"acms_{service}.app").create(settings).openapi()


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_documents_every_error_status_with_the_error_body(service):
    document = _document(service)
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            where = f"{service} {method.upper()} {path}"
            responses = operation["responses"]
            statuses = {int(s) for s in responses}
            assert {413, 422, 429} <= statuses, where
            if operation.get("security"):
                assert {401, 403} <= statuses, where
            if "{" in path:
                assert 404 in statuses, where
            for status, response in responses.items():
                if int(status) < 400:
                    continue
                schema = response["content"]["application/json"]["schema"]
                assert schema["$ref"].rsplit("/", 1)[1] in ERROR_SCHEMAS, (where, status)


def test_operations_that_need_a_token_say_so():
    document = _document("referrals")
    assert document["paths"]["/referrals"]["get"]["security"]
    assert "security" not in _document("identity")["paths"]["/sign-in"]["post"]


router = APIRouter()


class Body(BaseModel):
    name: str


@router.post("/things")
async def add(body: Body) -> None:
    return None


@pytest.fixture
def app():
    definition = ServiceDefinition(name="probe", root=Path(__file__).parent)
    return create_app(
        definition,
        [router],
        Settings(
            service_name="probe", student_key_secret=TEST_STUDENT_KEY_SECRET, max_body_bytes=1024
        ),
    )


def _validator(app, name: str):
    document = app.openapi()
    schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    return jsonschema_rs.validator_for(schema)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("request_args", "status", "schema"),
    [
        ({"method": "POST", "url": "/things", "json": {}}, 422, "InvalidRequest"),
        ({"method": "POST", "url": "/things", "content": b"{"}, 422, "InvalidRequest"),
        ({"method": "GET", "url": "/healthz?x=%00"}, 422, "InvalidRequest"),
        ({"method": "POST", "url": "/things", "content": b"x" * 2000}, 413, "Error"),
        ({"method": "GET", "url": "/nowhere"}, 404, "Error"),
    ],
)
async def test_the_bodies_sent_are_the_bodies_documented(app, request_args, status, schema):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://probe") as client:
        response = await client.request(**request_args)
    assert response.status_code == status, response.text
    _validator(app, schema).validate(response.json())
