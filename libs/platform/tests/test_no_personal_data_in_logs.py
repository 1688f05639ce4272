"""A database error never puts the request's values into a log: not the service's (SQL
parameters are hidden, the driver's DETAIL is not repeated), not PostgreSQL's."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from acms_platform.app import create_app
from acms_platform.database import Database
from acms_platform.runtime import ServiceDefinition
from acms_platform.testing.infra import REPO_ROOT, LocalLaunchers
from acms_platform.testing.plugin import create_database, settings_for_test

pytestmark = pytest.mark.infra

LOG_DIR = Path(os.environ.get("ACMS_RUN_DIR", REPO_ROOT / ".run")) / "logs"


class Pupil(BaseModel):
    email: str
    pastoral_note: str


def _every_log() -> dict[Path, str]:
    return {
        path: path.read_text(errors="replace")
        for path in LOG_DIR.rglob("*.log")
        if path.is_file() or path.is_symlink()
    }


@pytest.mark.asyncio(loop_scope="session")
async def test_a_database_error_leaves_no_value_of_the_request_in_any_log(infrastructure, capfd):
    marker = f"marker-{uuid.uuid4().hex}"
    settings = settings_for_test("logprobe", infrastructure)
    await create_database(settings)
    database = Database(settings)
    constraint = f"uq_pupils_{uuid.uuid4().hex[:8]}"
    router = APIRouter()

    @router.post("/pupils")
    async def add_twice(pupil: Pupil) -> None:
        async with database.transaction() as session:
            await session.execute(
                text(
                    f"create temporary table pupils (email text constraint {constraint} unique,"
                    " note text)"
                )
            )
            insert = text("insert into pupils (email, note) values (:email, :note)")
            for _ in range(2):  # the second violates the unique constraint
                await session.execute(insert, {"email": pupil.email, "note": pupil.pastoral_note})

    definition = ServiceDefinition(name="logprobe", root=Path(__file__).parent)
    app = create_app(definition, [router], settings)
    try:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://logprobe") as client:
            response = await client.post(
                "/pupils",
                json={"email": f"{marker}@example.org", "pastoral_note": f"whānau {marker}"},
            )
    finally:
        await database.dispose()
    assert response.status_code == 500
    assert marker not in response.text

    out, err = capfd.readouterr()
    assert "IntegrityError" in err and constraint in err, "the error was not logged at all"
    assert marker not in out + err

    if isinstance(infrastructure, LocalLaunchers):
        deadline = time.monotonic() + 5
        while not any(constraint in log for log in _every_log().values()):
            assert time.monotonic() < deadline, f"PostgreSQL's log never showed {constraint}"
            await asyncio.sleep(0.1)
    leaked = [str(path) for path, log in _every_log().items() if marker in log]
    assert not leaked, f"the marker is in {leaked}"
