"""A request that meets an unavailable database gets 503 with a message, not a 500."""

from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter
from sqlalchemy.exc import IntegrityError, OperationalError

from acms_platform.testing.probe import probe_client

router = APIRouter()


@router.get("/dropped")
async def dropped() -> None:
    raise OperationalError("SELECT 1", {}, ConnectionResetError("connection was closed"))


@router.get("/constraint")
async def constraint() -> None:
    raise IntegrityError("INSERT", {}, Exception("duplicate key"))


@pytest.fixture
def client() -> httpx.AsyncClient:
    return probe_client(router, Path(__file__).parent)


@pytest.mark.asyncio
async def test_a_dropped_database_connection_is_503_with_retry_after(client):
    response = await client.get("/dropped")
    assert response.status_code == 503
    assert response.json()["detail"] == "the database is unavailable; try again shortly"
    assert response.headers["retry-after"] == "1"


@pytest.mark.asyncio
async def test_other_database_errors_are_500_without_details(client):
    response = await client.get("/constraint")
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error"}


def test_a_body_field_itself_named_body_keeps_its_name_in_the_422():
    from acms_platform.app import _field_of

    assert _field_of(("body", "body")) == "body"
    assert _field_of(("body", "pupil", "name")) == "pupil.name"
    assert _field_of(("query", "offset")) == "query.offset"
