"""The response check every service's tests run: an answer that breaks its route's
OpenAPI response schema fails the call; one that keeps it passes."""

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from acms_platform.testing.openapi import check_responses


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    count: int | None = None


app = FastAPI()


@app.get("/good/{item}")
async def good(item: str) -> Out:
    return Out(id=item)


@app.get("/extra", response_model=Out)
async def extra() -> JSONResponse:
    return JSONResponse({"id": "x", "secret": "leaked"})


@app.get("/wrong-type", response_model=Out)
async def wrong_type() -> JSONResponse:
    return JSONResponse({"id": 1})


@pytest.fixture
def client() -> httpx.AsyncClient:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
    client.app = app  # type: ignore[attr-defined]
    check_responses(client)
    return client


@pytest.mark.asyncio
async def test_an_answer_within_its_schema_passes(client):
    assert (await client.get("/good/a")).json() == {"id": "a", "count": None}


@pytest.mark.asyncio
@pytest.mark.parametrize(("path", "problem"), [("/extra", "secret"), ("/wrong-type", "id")])
async def test_an_answer_outside_its_schema_fails_the_call(client, path, problem):
    with pytest.raises(AssertionError, match=problem):
        await client.get(path)
