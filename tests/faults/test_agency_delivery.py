"""Agency delivery survives a SIGKILL of the integrations service mid-delivery: every
request reaches the agency, none is lost, none is processed twice (the agency recognises
a re-send by its idempotency key), and each is logged as disclosed exactly once.

Real processes on real PostgreSQL and Kafka: the service (uvicorn, as deployed) and the
agency simulator, which takes each request and then waits before acknowledging it, so a
kill lands between the agency having a request and the service recording that it does."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import func, insert, select

from acms_integrations.agency_tables import agency_requests, disclosures
from acms_integrations.app import SERVICE_ROOT
from acms_platform.database import Database
from acms_platform.migrations import upgrade_to_head
from acms_platform.testing.plugin import create_database, settings_for_test
from acms_platform.testing.processes import ServiceProcess

pytestmark = pytest.mark.fault

SIMULATOR_PORT = 8193
SERVICE_PORT = 8194
SIMULATOR = f"http://127.0.0.1:{SIMULATOR_PORT}"
REQUESTS = 8


@pytest.fixture
def simulator():
    process = subprocess.Popen(
        [sys.executable, "-m", "acms_integrations.simulator", "--port", str(SIMULATOR_PORT)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{SIMULATOR}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    yield SIMULATOR
    process.terminate()
    process.wait(10)


@pytest.fixture
def delivery_settings(infrastructure):
    """A service of its own: its own database, consumer group and port."""
    settings = settings_for_test(
        "integrations",
        infrastructure,
        port=SERVICE_PORT,
        database_name=f"{settings_for_test('integrations', infrastructure).database_name}_kill",
        consumer_group=f"{settings_for_test('integrations', infrastructure).consumer_group}-kill",
        agency_msd_url=f"{SIMULATOR}/msd",
        agency_retry_base_seconds=0.2,
        agency_retry_max_seconds=1.0,
        agency_delivery_poll_seconds=0.1,
        agency_delivery_timeout_seconds=30,
    )
    asyncio.run(create_database(settings))
    database = Database(settings)
    upgrade_to_head(SERVICE_ROOT, database.url, settings.student_key_secret.get_secret_value())
    asyncio.run(database.dispose())
    return settings


async def _queue_requests(settings, count: int) -> list[str]:
    """Requests as `create_request` writes them (due now); the API is tested elsewhere."""
    database = Database(settings)
    ids = [uuid.uuid4() for _ in range(count)]
    now = datetime.now(UTC)
    try:
        async with database.transaction() as session:
            await session.execute(
                insert(agency_requests),
                [
                    {
                        "id": request_id,
                        "agency": "msd",
                        "agency_org_id": uuid.uuid4(),
                        "agreement_name": "MSD - test agreement",
                        "agreement_version": "test",
                        "case_id": uuid.uuid4(),
                        "student_key": f"fault-{n}",
                        "subject": "student",
                        "purpose": "fault test",
                        "fields": {"full_name": f"Fault Test {n}"},
                        "requested_by": uuid.uuid4(),
                        "requested_at": now,
                        "status": "pending",
                        "delivery_attempts": 0,
                        "next_attempt_at": now,
                    }
                    for n, request_id in enumerate(ids)
                ],
            )
    finally:
        await database.dispose()
    return [str(i) for i in ids]


async def _state(settings, ids: list[str]) -> tuple[dict[str, str], dict[str, int]]:
    """Each request's status, and disclosures logged per request."""
    database = Database(settings)
    try:
        async with database.transaction() as session:
            rows = await session.execute(
                select(agency_requests.c.id, agency_requests.c.status).where(
                    agency_requests.c.id.in_([uuid.UUID(i) for i in ids])
                )
            )
            statuses = {str(r.id): r.status for r in rows}
            logged = await session.execute(
                select(disclosures.c.record_id, func.count()).group_by(disclosures.c.record_id)
            )
            counts = {str(r[0]): r[1] for r in logged}
    finally:
        await database.dispose()
    return statuses, counts


def _received() -> dict:
    return httpx.get(f"{SIMULATOR}/_received", timeout=5).json()["msd"]


def test_a_service_killed_mid_delivery_loses_nothing_and_sends_nothing_twice(
    simulator, delivery_settings
):
    httpx.post(f"{SIMULATOR}/_control/msd", json={"mode": "slow", "delay_seconds": 3})
    ids = asyncio.run(_queue_requests(delivery_settings, REQUESTS))
    victim = ServiceProcess("acms_integrations.app:create", delivery_settings).start()
    try:
        deadline = time.monotonic() + 60
        while len(_received()) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        taken = set(_received())
        assert len(taken) >= 3, "the service never delivered"
        assert victim.process is not None
        victim.process.kill()  # SIGKILL: the request the agency holds is not acknowledged
        victim.process.wait(10)
    finally:
        victim.stop()
    statuses, _ = asyncio.run(_state(delivery_settings, ids))
    in_flight = [key for key in taken if statuses[key] == "pending"]
    assert len(in_flight) == 1, "exactly the request in flight is unacknowledged"

    httpx.post(f"{SIMULATOR}/_control/msd", json={"mode": "up"})
    survivor = ServiceProcess("acms_integrations.app:create", delivery_settings).start()
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            statuses, logged = asyncio.run(_state(delivery_settings, ids))
            if all(status == "delivered" for status in statuses.values()):
                break
            time.sleep(0.3)
        time.sleep(1)  # a second delivery, were there one, would show now
        statuses, logged = asyncio.run(_state(delivery_settings, ids))
    finally:
        survivor.stop()

    assert set(statuses.values()) == {"delivered"}, statuses
    received = _received()
    assert sorted(received) == sorted(ids), "every request reached the agency, and only they"
    # The one in flight was sent again under its key, and recognised; no other was re-sent.
    assert {
        key: entry["deliveries"] for key, entry in received.items() if entry["deliveries"] > 1
    } == {in_flight[0]: 2}
    assert logged == dict.fromkeys(ids, 1), "each disclosure logged once"
