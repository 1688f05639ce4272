"""A case opens from the referral-assigned event exactly once, with its reference and
what the request carried."""

from __future__ import annotations

import asyncio
import re

import pytest

from acms_contracts import EventEnvelope, topics
from acms_platform.testing.kafka import publish_as_admin, published

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _bootstrap(world) -> str:
    return world.runtime.settings.kafka_bootstrap


async def test_a_case_opens_with_a_reference_and_what_the_request_carried(world):
    event = world.assignment()
    assert await world.deliver(event)
    case = await world.case_of(event.referral_id)
    assert re.fullmatch(rf"AS-{event.at.year}-\d{{6}}", case["reference"])
    assert case["status"] == "active"
    assert case["school_id"] == world.orgs["school_a"]
    assert case["provider_id"] == world.orgs["asp_a"]
    assert case["case_manager_id"] == world.accounts["case_manager_a"]
    assert case["primary_contact_id"] == world.accounts["teacher_a"]
    assert case["details"]["whanau"][0]["name"] == "Mere Test"
    assert case["details"]["pastoral"]["iep"] == "Reading support plan"
    assert case["details"]["reason_text"] == "Absent most days this term"
    assert [h["action"] for h in case["request_history"]] == ["submit", "allocate", "assign"]
    found = await published(
        _bootstrap(world),
        topics.CASES,
        lambda e: e["payload"]["case_id"] == str(case["id"]),
        namespace=world.runtime.settings.topic_namespace,
    )
    assert [e["event_type"] for _, e in found] == ["CaseOpened"]
    key, envelope = found[0]
    assert key == event.subject_student_key
    assert envelope["payload"]["reference"] == case["reference"]


async def test_a_redelivered_or_replayed_assignment_opens_one_case(world):
    event = world.assignment()
    envelope = EventEnvelope.wrap(event, producer="referrals")
    assert await world.deliver(event, envelope)
    # Redelivered (the same event id): the inbox stops it.
    assert not await world.deliver(event, envelope)
    # Replayed (the same request, another event id): the unique request id stops it.
    assert await world.deliver(event)
    assert await world.cases_of(event.referral_id) == 1


async def test_through_kafka_a_replayed_assignment_opens_one_case(world):
    event, later = world.assignment(), world.assignment()
    first = EventEnvelope.wrap(event, producer="referrals")
    replay = EventEnvelope.wrap(event, producer="referrals")
    key = event.subject_student_key.encode()
    # One key: one partition, so the later event is applied after the three before it. As
    # referrals would publish them (the admin stands in: cases may not write referrals' topic).
    await publish_as_admin(
        _bootstrap(world),
        world.runtime.settings.topic(topics.REFERRALS),  # this session's namespace
        *(
            (envelope.model_dump_json().encode(), key)
            for envelope in (first, first, replay, EventEnvelope.wrap(later, producer="referrals"))
        ),
    )
    async with asyncio.timeout(30):
        while await world.cases_of(later.referral_id) == 0:
            await asyncio.sleep(0.1)
    assert await world.cases_of(event.referral_id) == 1


async def test_references_are_distinct(world):
    references = {(await world.open_case())["reference"] for _ in range(5)}
    assert len(references) == 5
