"""Values PostgreSQL cannot hold are 422 naming the field, on every route of every
service, before the endpoint runs; a body is limited by the bytes actually read."""

from datetime import datetime
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter
from pydantic import BaseModel

from acms_platform.app import create_app
from acms_platform.runtime import ServiceDefinition
from acms_platform.settings import Settings
from acms_platform.testing.plugin import TEST_STUDENT_KEY_SECRET
from acms_platform.testing.probe import probe_client

router = APIRouter()
reached: list[str] = []


class Pupil(BaseModel):
    name: str
    tags: list[str] = []


class Note(BaseModel):
    text: str
    count: int = 0
    when: datetime | None = None
    pupil: Pupil | None = None
    extra: dict[str, str] = {}


@router.post("/notes")
async def add_note(note: Note) -> dict[str, str]:
    reached.append("notes")
    return {"status": "stored"}


@router.get("/search")
async def search(q: str = "", offset: int = 0, since: datetime | None = None) -> list[str]:
    reached.append("search")
    return []


@router.get("/sync-search")
def sync_search(q: str = "") -> list[str]:
    reached.append("sync-search")
    return []


@pytest.fixture
def client() -> httpx.AsyncClient:
    reached.clear()
    return probe_client(router, Path(__file__).parent, max_body_bytes=4096)


def _fields(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    assert not reached, "the endpoint ran"
    return [problem["field"] for problem in response.json()["errors"]]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": "a\x00b"}, "text"),
        ({"text": "ok", "pupil": {"name": "Aroha\x00"}}, "pupil.name"),
        ({"text": "ok", "pupil": {"name": "Aroha", "tags": ["x", "\x00"]}}, "pupil.tags.1"),
        ({"text": "ok", "extra": {"key\x00": "v"}}, "extra.key\x00"),
        ({"text": "ok", "count": 2**63}, "count"),
        ({"text": "ok", "count": -(2**63) - 1}, "count"),
        ({"text": "ok", "when": "0001-01-01T00:00:00+05:00"}, "when"),
        ({"text": "ok", "when": "9999-12-31T23:30:00-05:00"}, "when"),
    ],
)
async def test_body_values_the_database_cannot_hold_are_422_naming_the_field(client, body, field):
    assert _fields(await client.post("/notes", json=body)) == [field]


@pytest.mark.asyncio
async def test_a_lone_surrogate_in_a_body_is_422():
    # json.dumps escapes it as \ud800, which Python's JSON parser turns back into a str
    # that cannot be encoded as UTF-8.
    definition = ServiceDefinition(name="probe", root=Path(__file__).parent)
    app = create_app(
        definition,
        [router],
        Settings(service_name="probe", student_key_secret=TEST_STUDENT_KEY_SECRET),
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://p") as c:
        response = await c.post(
            "/notes", content=b'{"text": "x\\ud800"}', headers={"content-type": "application/json"}
        )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "text"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("q=a%00b", "query.q"),
        (f"offset={2**64}", "query.offset"),
        ("since=0001-01-01T01:00:00%2B02:00", "query.since"),
    ],
)
async def test_query_values_the_database_cannot_hold_are_422_naming_the_field(client, query, field):
    assert _fields(await client.get(f"/search?{query}")) == [field]
    assert field in (await client.get(f"/search?{query}")).json()["detail"]


@pytest.mark.asyncio
async def test_sync_endpoints_are_checked_too(client):
    assert _fields(await client.get("/sync-search?q=%00")) == ["query.q"]


@pytest.mark.asyncio
async def test_ordinary_values_pass(client):
    response = await client.post(
        "/notes",
        json={"text": "Kia ora, whānau 👋", "count": 2**63 - 1, "when": "0001-01-01T00:00:00Z"},
    )
    assert response.status_code == 200, response.text
    assert (await client.get("/search?q=Ng%C4%81ti&offset=5")).status_code == 200


@pytest.mark.asyncio
async def test_a_chunked_body_is_limited_by_the_bytes_read(client):
    sent = 0

    async def chunks():
        nonlocal sent
        for _ in range(64):
            sent += 1024
            yield b"x" * 1024

    response = await client.post(
        "/notes", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413, response.text
    assert "4096 bytes" in response.json()["detail"]
    assert not reached
    assert sent < 64 * 1024, "the whole body was read"


@pytest.mark.asyncio
async def test_a_declared_length_over_the_limit_is_413_unread(client):
    response = await client.post(
        "/notes", content=b"x" * 5000, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


@pytest.mark.asyncio
async def test_a_chunked_body_within_the_limit_reaches_the_route(client):
    async def chunks():
        yield b'{"text": '
        yield b'"fine"}'

    response = await client.post(
        "/notes", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 200, response.text
