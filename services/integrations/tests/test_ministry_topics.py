"""The Ministry's Kafka topics in: a record is applied as an uploaded row would be, a
message delivered twice is applied once (inbox), and a message that can never be applied
goes to the dead-letter topic with its reason while the consumer carries on."""

import asyncio
import uuid
from datetime import date, timedelta

import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy import select

from acms_contracts import EventEnvelope, topics
from acms_contracts.ministry import AttendanceMarkReported, EnrolmentRecordReported
from acms_integrations.tables import active_cases
from acms_platform.testing.plugin import TOPIC_NAMESPACE, kafka_admin

from .feed import new_nsn
from .uploads import AS_OF, case_opened, events_for, kept_marks, publish, publish_raw

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _record(world, nsn: str, school: str = "school_a", **extra) -> EnrolmentRecordReported:
    values = {
        "nsn": nsn,
        "school_id": world.orgs[school],
        "student_type": "RE",
        "year_level": 5,
        "enrolled_on": date(2026, 2, 2),
        "as_of": AS_OF,
        **extra,
    }
    return EnrolmentRecordReported(**values)


async def test_a_record_on_the_ministry_topic_is_applied_and_published_once(world):
    nsn = new_nsn()
    event = _record(world, nsn)
    envelope = EventEnvelope.wrap(event, producer="enrol")
    raw = envelope.model_dump_json().encode()
    await publish_raw(world, topics.MINISTRY_ENROLMENTS, raw)
    await publish_raw(world, topics.MINISTRY_ENROLMENTS, raw)  # delivered twice
    await publish(world, _record(world, nsn))  # the same record again, another message
    found = await events_for(world, topics.ENROLMENTS, nsn, enough=2, linger=3)
    assert len(found) == 1
    assert found[0][1]["payload"]["school_id"] == str(world.orgs["school_a"])


async def test_poison_messages_go_to_the_dead_letter_topic_and_the_consumer_carries_on(world):
    nsn, unknown, left = new_nsn(), new_nsn(), new_nsn()
    marker = uuid.uuid4().hex
    await publish_raw(world, topics.MINISTRY_ENROLMENTS, f"not json {marker}".encode())
    await publish(world, _record(world, unknown, school_id=uuid.uuid4()))
    await publish(world, _record(world, left, left_on=date(2026, 1, 1), leaving_reason="Left NZ"))
    await publish(world, _record(world, nsn))
    assert await events_for(world, topics.ENROLMENTS, nsn), "the good record after them"
    reasons = await _dead_letter_reasons(world, topics.MINISTRY_ENROLMENTS, (marker, unknown, left))
    assert "invalid envelope" in reasons[marker]
    assert reasons[unknown] == "school_id: no such school is known here"
    assert reasons[left] == "left_on: is before enrolled_on"


async def _dead_letter_reasons(world, topic: str, markers) -> dict[str, str]:
    """The dead-letter reason of each message holding one of `markers` (read raw: a
    poison message need not be JSON)."""
    consumer = AIOKafkaConsumer(
        TOPIC_NAMESPACE + topics.dead_letter_topic(topic),
        **kafka_admin(world.runtime.settings.kafka_bootstrap),
        group_id=f"{TOPIC_NAMESPACE}dlt-reader-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    reasons: dict[str, str] = {}
    try:
        deadline = asyncio.get_running_loop().time() + 20
        while asyncio.get_running_loop().time() < deadline and len(reasons) < len(markers):
            batch = await consumer.getmany(timeout_ms=300)
            for records in batch.values():
                for record in records:
                    value = record.value.decode(errors="replace")
                    for marker in markers:
                        if marker in value:
                            headers = {k: v.decode() for k, v in record.headers}
                            reasons[marker] = headers["x-dead-letter-reason"]
    finally:
        await consumer.stop()
    return reasons


async def test_attendance_on_the_ministry_topic_is_kept_for_a_student_with_a_case(world):
    followed, other = new_nsn(), new_nsn()
    opened = case_opened(world, followed)
    await publish(world, opened)  # through Kafka, as the cases service publishes it
    mark = {
        "school_id": world.orgs["school_a"],
        "on": date(2026, 3, 2),
        "session": "AM",
        "code": "T",
        "as_of": AS_OF,
    }
    for _ in range(50):  # the projection may take the case a moment after it is published
        await asyncio.sleep(0.2)
        async with world.runtime.database.transaction() as session:
            if await session.scalar(
                select(active_cases.c.case_id).where(active_cases.c.case_id == opened.case_id)
            ):
                break
    await publish(world, AttendanceMarkReported(nsn=other, **mark))
    await publish(world, AttendanceMarkReported(nsn=followed, **mark))
    found = await events_for(world, topics.ATTENDANCE, followed)
    assert found[0][1]["payload"]["category"] == "unjustified"
    assert await kept_marks(world, other) == 0


async def test_an_unknown_attendance_code_on_the_topic_is_dead_lettered(world):
    marker = new_nsn()
    event = AttendanceMarkReported(
        nsn=marker,
        school_id=world.orgs["school_a"],
        on=date(2026, 3, 2) - timedelta(days=1),
        session="PM",
        code="Z",
        as_of=AS_OF,
    )
    await publish(world, event)
    reasons = await _dead_letter_reasons(world, topics.MINISTRY_ATTENDANCE, (marker,))
    assert reasons == {marker: "code: not one of the Ministry's attendance codes"}
