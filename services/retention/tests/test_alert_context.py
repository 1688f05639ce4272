"""The two alert rules that learn from what arrives: an organisation's usual hours (from its
own reads), and the records an organisation lost by a move or a re-allocation (from the
cases' and requests' events). Each fires at its threshold and not below it. Thresholds are
the tests' service's (conftest.py): 20 reads of history, an hour holding under 10 % of them
is unusual; a minute's grace after a loss. Real Kafka, PostgreSQL and Cerbos."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from acms_contracts import EventEnvelope, event_class
from acms_contracts.cases import CaseTransferred
from acms_contracts.referrals import ReferralReallocated, ReferralTransferred
from acms_retention.tables import ended_relationships

from .audit_events import access, publish, stored

pytestmark = pytest.mark.asyncio(loop_scope="session")

NZ = ZoneInfo("Pacific/Auckland")
MORNING = datetime(2026, 5, 4, 10, 0, tzinfo=NZ)  # a Monday, 10:00 in New Zealand
NIGHT = datetime(2026, 5, 5, 3, 0, tzinfo=NZ)


async def alerts_of(service, account: str) -> list[dict]:
    response = await service.get(
        "/audit/alerts", params={"account_id": account, "status": "all"}, headers=service.officer
    )
    assert response.status_code == 200, response.text
    return response.json()


async def read(service, **kw) -> str:
    """Publish one read, wait until stored; the reading account."""
    account = kw.pop("account", None) or str(uuid.uuid4())
    envelope = access(account=account, **kw)
    await publish(service, envelope)
    await stored(service, [envelope.event_id], expected=1)
    return account


async def history(service, organisation: uuid.UUID, at: datetime, reads: int) -> None:
    """`reads` reads by the organisation's staff (each its own account), one a minute."""
    envelopes = [
        access(organisation=organisation, occurred_at=at + timedelta(minutes=i))
        for i in range(reads)
    ]
    await publish(service, *envelopes)
    await stored(service, [e.event_id for e in envelopes], expected=len(envelopes))


async def test_a_read_at_an_hour_the_organisation_never_works_fires(service):
    school = uuid.uuid4()
    await history(service, school, MORNING, 20)
    at_night = await read(service, organisation=school, occurred_at=NIGHT)
    (alert,) = await alerts_of(service, at_night)
    assert alert["rule"] == "outside_usual_hours"
    assert "03:00-03:59" in alert["summary"] and "0.00 %" in alert["summary"]
    in_hours = await read(service, organisation=school, occurred_at=MORNING + timedelta(days=1))
    assert await alerts_of(service, in_hours) == []


async def test_usual_hours_need_enough_history_and_a_share_under_the_threshold(service):
    new = uuid.uuid4()  # 19 reads: too little history to judge
    await history(service, new, MORNING, 19)
    assert await alerts_of(service, await read(service, organisation=new, occurred_at=NIGHT)) == []
    # That night read is now 1 of 20 (5 %): the next night read fires...
    assert await alerts_of(service, await read(service, organisation=new, occurred_at=NIGHT))
    # ...but not where night reads hold 10 % (2 of 20): the threshold itself is usual.
    shift = uuid.uuid4()
    await history(service, shift, MORNING, 18)
    await history(service, shift, NIGHT - timedelta(days=7), 2)
    usual = await read(service, organisation=shift, occurred_at=NIGHT)
    assert await alerts_of(service, usual) == []


async def test_refusals_and_reads_without_students_do_not_teach_or_fire(service):
    school = uuid.uuid4()
    await history(service, school, MORNING, 20)
    refused = await read(service, organisation=school, occurred_at=NIGHT, allowed=False)
    assert [a["rule"] for a in await alerts_of(service, refused)] == []


def transferred(case_id, student, from_provider, to_provider, at, from_school=None, school=None):
    event = CaseTransferred(
        case_id=case_id,
        reference="AS-2026-000001",
        subject_student_key=student,
        actor_id="system",
        at=at,
        from_school_id=from_school,
        school_id=school,
        from_provider_id=from_provider,
        provider_id=to_provider,
    )
    return EventEnvelope.wrap(event, producer="cases")


async def lost(service, envelope: EventEnvelope, organisation: uuid.UUID, record: str) -> None:
    """Publish a case or request event on its topic; wait until the loss is recorded."""
    await publish(service, envelope, topic=event_class(envelope.event_type).topic)
    database = service.app.state.runtime.database
    query = select(ended_relationships.c.event_id).where(
        ended_relationships.c.organisation_id == str(organisation),
        ended_relationships.c.record_id == record,
    )
    async with asyncio.timeout(60):
        while True:
            async with database.transaction() as session:
                if (await session.execute(query)).scalar() == envelope.event_id:
                    return
            await asyncio.sleep(0.1)


async def test_the_former_provider_reading_a_moved_case_after_the_grace_fires(service):
    old, new, case, student = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), "s1"
    moved_at = MORNING
    await lost(service, transferred(case, student, old, new, moved_at), old, str(case))

    def reading(organisation, after):
        return {"organisation": organisation, "record_id": str(case), "kind": "case",
                "student_key": student, "occurred_at": moved_at + after}  # fmt: skip

    in_grace = await read(service, **reading(old, timedelta(seconds=59)))
    assert await alerts_of(service, in_grace) == []
    new_provider = await read(service, **reading(new, timedelta(minutes=5)))
    assert await alerts_of(service, new_provider) == []
    still_looking = await read(service, **reading(old, timedelta(minutes=2)), allowed=False)
    (alert,) = await alerts_of(service, still_looking)
    assert alert["rule"] == "after_relationship_ended"
    assert "case moved to another provider" in alert["summary"]
    # The same account again: the one alert covers that loss.
    await read(service, account=still_looking, **reading(old, timedelta(minutes=3)))
    assert len(await alerts_of(service, still_looking)) == 1
    # Given the case back, the provider's reads are its own again.
    back = transferred(case, student, new, old, moved_at + timedelta(hours=1))
    await lost(service, back, new, str(case))
    returned = await read(service, **reading(old, timedelta(hours=2)))
    assert await alerts_of(service, returned) == []


async def test_a_read_that_arrives_before_the_move_it_followed_fires_when_the_move_arrives(
    service,
):
    old, new, case = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    school, new_school = uuid.uuid4(), uuid.uuid4()
    reader = await read(
        service, organisation=school, record_id=str(case), kind="case", student_key="s2",
        occurred_at=MORNING + timedelta(minutes=10),
    )  # fmt: skip
    assert await alerts_of(service, reader) == []
    move = transferred(case, "s2", old, new, MORNING, from_school=school, school=new_school)
    await lost(service, move, school, str(case))
    (alert,) = await alerts_of(service, reader)
    assert alert["rule"] == "after_relationship_ended"
    assert "student moved school" in alert["summary"]


async def test_a_re_allocated_request_read_by_the_former_provider_fires(service):
    old, new, referral = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    event = ReferralReallocated(
        referral_id=referral, subject_student_key="s3", actor_id=str(uuid.uuid4()), version=4,
        at=MORNING, from_provider_id=old, provider_id=new, provider_type="asp",
    )  # fmt: skip
    await lost(service, EventEnvelope.wrap(event, producer="referrals"), old, str(referral))
    reader = await read(
        service, organisation=old, record_id=str(referral), student_key="s3",
        occurred_at=MORNING + timedelta(minutes=2),
    )  # fmt: skip
    (alert,) = await alerts_of(service, reader)
    assert "request re-allocated" in alert["summary"]


async def test_a_request_that_followed_its_student_fires_for_former_school_and_provider(service):
    old, new, referral = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    school, new_school = uuid.uuid4(), uuid.uuid4()
    event = ReferralTransferred(
        referral_id=referral, subject_student_key="s4", actor_id="enrol", version=6,
        at=MORNING, from_school_id=school, school_id=new_school, from_provider_id=old,
        provider_id=new, provider_type="asp",
    )  # fmt: skip
    envelope = EventEnvelope.wrap(event, producer="referrals")
    await lost(service, envelope, old, str(referral))
    await lost(service, envelope, school, str(referral))

    def reading(organisation):
        return {"organisation": organisation, "record_id": str(referral), "student_key": "s4",
                "occurred_at": MORNING + timedelta(minutes=2)}  # fmt: skip

    (by_provider,) = await alerts_of(service, await read(service, **reading(old)))
    assert "request moved to another provider" in by_provider["summary"]
    (by_school,) = await alerts_of(service, await read(service, **reading(school)))
    assert "student moved school" in by_school["summary"]
    for gained in (new, new_school):
        assert await alerts_of(service, await read(service, **reading(gained))) == []


async def test_a_request_that_moved_within_its_providers_catchment_keeps_the_provider(service):
    provider, referral = uuid.uuid4(), uuid.uuid4()
    school, new_school = uuid.uuid4(), uuid.uuid4()
    event = ReferralTransferred(
        referral_id=referral, subject_student_key="s5", actor_id="enrol", version=6,
        at=MORNING, from_school_id=school, school_id=new_school, from_provider_id=provider,
        provider_id=provider, provider_type="asp",
    )  # fmt: skip
    await lost(service, EventEnvelope.wrap(event, producer="referrals"), school, str(referral))
    reader = await read(
        service, organisation=provider, record_id=str(referral), student_key="s5",
        occurred_at=MORNING + timedelta(minutes=2),
    )  # fmt: skip
    assert await alerts_of(service, reader) == []
