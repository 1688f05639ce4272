"""Building upload files, sending them, and reading what the uploads recorded."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select

from acms_contracts import Event, EventEnvelope
from acms_contracts.cases import CaseClosed, CaseOpened
from acms_integrations.handlers import handlers
from acms_integrations.tables import attendance_records
from acms_platform.testing.kafka import published
from acms_platform.testing.plugin import TOPIC_NAMESPACE, kafka_admin
from acms_platform.testing.plugin import student_key_for_test as student_key_for_nsn

from .conftest import World

AS_OF = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
ENROL_HEADER = "nsn,school_id,student_type,year_level,enrolled_on,left_on,leaving_reason"
ATTENDANCE_HEADER = "nsn,school_id,date,session,code"


def enrol_line(world: World, nsn: str, school: str, year: int = 9, left: str = "") -> str:
    reason = "Left NZ" if left else ""
    return f"{nsn},{world.orgs[school]},RE,{year},2026-02-02,{left},{reason}"


def mark_line(world: World, nsn: str, school: str, code: str, day="2026-03-02", session="AM"):
    return f"{nsn},{world.orgs[school]},{day},{session},{code}"


def csv_file(header: str, *lines: str) -> bytes:
    return ("\n".join((header, *lines)) + "\n").encode()


async def chunks(data: bytes, size: int = 97) -> AsyncIterator[bytes]:
    """The body in small pieces, so lines straddle chunks as they do over a network."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def new_job(world: World, kind: str, fmt: str = "csv", as_of=AS_OF, who="enrol_feed"):
    return await world.client.post(
        f"/{kind}/batches",
        json={"format": fmt, "as_of": as_of.isoformat()},
        headers=world.as_(who),
    )


async def upload(
    world: World, kind: str, data: bytes, fmt: str = "csv", as_of=AS_OF, who="enrol_feed"
) -> dict[str, Any]:
    """Create a job and PUT its file; the job as the PUT answered it."""
    created = await new_job(world, kind, fmt, as_of)
    assert created.status_code == 201, created.text
    job_id = created.json()["id"]
    response = await world.client.put(
        f"/{kind}/batches/{job_id}/file",
        content=chunks(data),
        headers={**world.as_(who), "content-type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    return response.json()


async def rejections(world: World, kind: str, job_id: str) -> list[tuple[int, str]]:
    response = await world.client.get(
        f"/{kind}/batches/{job_id}/rejections", headers=world.as_("enrol_feed")
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    lines = response.text.splitlines()
    assert lines[0] == "line,reasons"
    import csv

    return [(int(line), reasons) for line, reasons in csv.reader(lines[1:])]


async def events_for(world: World, topic: str, nsn: str, enough: int = 1, linger=1.5):
    key = student_key_for_nsn(nsn)
    return await published(
        world.runtime.settings.kafka_bootstrap,
        topic,
        lambda e: e["payload"].get("subject_student_key") == key,
        enough=enough,
        within_seconds=10 if enough else 3,
        linger=linger,
    )


async def handle(world: World, event: Event) -> None:
    """Apply an event through the service's own handler, as its consumer would."""
    _, handler = handlers.handlers[event.event_type]
    async with world.runtime.database.transaction() as session:
        await handler(event, EventEnvelope.wrap(event, producer="cases"), session)


def case_opened(world: World, nsn: str, school: str = "school_a") -> CaseOpened:
    return CaseOpened(
        case_id=uuid.uuid4(),
        reference="AS-2026-000001",
        subject_student_key=student_key_for_nsn(nsn),
        actor_id="system",
        at=AS_OF - timedelta(days=3),
        referral_id=uuid.uuid4(),
        school_id=world.orgs[school],
        provider_id=world.orgs["asp_a"],
        case_manager_id=uuid.uuid4(),
    )


def case_closed(opened: CaseOpened) -> CaseClosed:
    return CaseClosed(
        case_id=opened.case_id,
        reference=opened.reference,
        subject_student_key=opened.subject_student_key,
        actor_id="system",
        at=AS_OF,
        outcome_category="returned_to_school",
    )


async def kept_marks(world: World, nsn: str) -> int:
    async with world.runtime.database.transaction() as session:
        return await session.scalar(
            select(func.count())
            .select_from(attendance_records)
            .where(attendance_records.c.student_key == student_key_for_nsn(nsn))
        )


async def publish_raw(world: World, topic: str, value: bytes, key: bytes = b"k") -> None:
    producer = AIOKafkaProducer(**kafka_admin(world.runtime.settings.kafka_bootstrap))
    await producer.start()
    try:
        await producer.send_and_wait(TOPIC_NAMESPACE + topic, value, key=key)
    finally:
        await producer.stop()


async def publish(world: World, event: Event) -> None:
    envelope = EventEnvelope.wrap(event, producer="enrol")
    await publish_raw(
        world, event.topic, envelope.model_dump_json().encode(), envelope.key.encode()
    )


def jsonl(*rows: dict[str, Any]) -> bytes:
    return "".join(json.dumps(row) + "\n" for row in rows).encode()
