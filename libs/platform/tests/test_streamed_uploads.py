"""RequestHygiene's streamed uploads: a declared path gets its body unbuffered, counted
against the upload limit; every other path keeps the buffered body limit."""

import httpx
import pytest
from fastapi import FastAPI, Request

from acms_platform.errors import PlatformError, platform_error_response
from acms_platform.hygiene import RequestHygiene

pytestmark = pytest.mark.asyncio


def _app() -> FastAPI:
    app = FastAPI()
    app.add_exception_handler(PlatformError, platform_error_response)

    @app.put("/uploads/{name}")
    async def upload(name: str, request: Request) -> dict[str, int]:
        sizes = [len(chunk) async for chunk in request.stream() if chunk]
        return {"bytes": sum(sizes), "chunks": len(sizes)}

    @app.put("/other")
    async def other(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    app.add_middleware(
        RequestHygiene, max_bytes=1024, streamed=(r"/uploads/[^/]+",), max_upload_bytes=4096
    )
    return app


async def _pieces(total: int, size: int = 500):
    for start in range(0, total, size):
        yield b"x" * min(size, total - start)


async def _put(path: str, total: int) -> httpx.Response:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.put(path, content=_pieces(total))


async def test_a_streamed_upload_passes_the_body_limit_in_pieces():
    response = await _put("/uploads/a", 3000)
    assert response.status_code == 200
    assert response.json() == {"bytes": 3000, "chunks": 6}, "not buffered into one"


async def test_a_streamed_upload_past_its_own_limit_is_413():
    assert (await _put("/uploads/a", 5000)).status_code == 413


async def test_every_other_path_keeps_the_buffered_limit():
    assert (await _put("/other", 3000)).status_code == 413
    assert (await _put("/uploads/a/more", 3000)).status_code == 413, "matched whole"
