"""Every response of a service carries the security headers and `no-store`; metrics name
no version."""

from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter

from acms_platform.testing.probe import probe_client

router = APIRouter()


@router.get("/pupils/{pupil_id}")
async def pupil(pupil_id: int) -> dict[str, str]:
    return {"name": "Aroha"}


EXPECTED = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


@pytest.fixture
def client() -> httpx.AsyncClient:
    return probe_client(router, Path(__file__).parent, max_body_bytes=1024)


def assert_secured(response: httpx.Response) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, (response.request.url, name)
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "camera=()" in response.headers["permissions-policy"]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/pupils/1", 200),
        ("GET", "/pupils/x", 422),
        ("GET", "/pupils?q=%00", 422),
        ("GET", "/nowhere", 404),
        ("POST", "/pupils/1", 405),
        ("GET", "/healthz", 200),
        ("GET", "/openapi.json", 200),
        ("GET", "/asyncapi.json", 200),
    ],
)
async def test_every_response_carries_the_security_headers(client, method, path, status):
    response = await client.request(method, path)
    assert response.status_code == status
    assert_secured(response)
    assert "default-src 'none'" in response.headers["content-security-policy"]


@pytest.mark.asyncio
async def test_a_refused_body_carries_them_too(client):
    response = await client.post("/pupils/1", content=b"x" * 2048)
    assert response.status_code == 413
    assert_secured(response)


@pytest.mark.asyncio
async def test_the_docs_page_may_load_its_viewer_and_nothing_else(client):
    response = await client.get("/docs")
    assert response.status_code == 200
    assert_secured(response)
    policy = response.headers["content-security-policy"]
    assert "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net" in policy


@pytest.mark.asyncio
async def test_metrics_name_no_python_version(client):
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert "python_info" not in response.text
    assert "process_" in response.text or "python_gc" in response.text
