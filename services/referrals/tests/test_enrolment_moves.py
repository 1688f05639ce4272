"""ACCESS-MODEL section 4: a student is "at school X" while ENROL says so. When ENROL
reports a move (integrations' StudentEnrolmentChanged), the student's requests follow at
once: the former school's leader loses them, the new school's leader gains them, and a
student enrolled nowhere does not vanish from those who still see the request."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import select

from acms_contracts import EventEnvelope, topics
from acms_contracts.enrolments import StudentEnrolmentChanged
from acms_contracts.vocabulary import OrgType, Role
from acms_platform.platform_tables import inbox
from acms_platform.testing.plugin import kafka_admin
from acms_platform.testing.plugin import student_key_for_test as student_key_for_nsn
from acms_referrals.tables import referral_transitions

from .requests import complete_request, make_request, new_nsn

pytestmark = pytest.mark.asyncio(loop_scope="session")

T1 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _moved(nsn: str, school_id, at: datetime = T1) -> StudentEnrolmentChanged:
    return StudentEnrolmentChanged(
        subject_student_key=student_key_for_nsn(nsn),
        school_id=school_id,
        effective_on=at.date(),
        as_of=at,
    )


async def _requests(world, nsn: str, family: str, states: tuple[str, ...]) -> list[dict]:
    """Requests for one student (same NSN), made at school A by teacher A."""
    made = []
    for state in states:
        body = complete_request(world, "school_a")
        body["student"] |= {"nsn": nsn, "family_name": family}
        made.append(await make_request(world, state, body=body))
    return made


async def _view(world, who: str, referral_id: str):
    return await world.client.get(f"/referrals/{referral_id}", headers=world.as_(who))


async def _listed(world, who: str, family: str) -> set[str]:
    response = await world.client.get(
        "/referrals", params={"q": family, "limit": 100}, headers=world.as_(who)
    )
    assert response.status_code == 200, response.text
    return {r["id"] for r in response.json()}


async def _moves_recorded(world, referral_id: str) -> list:
    async with world.runtime.database.transaction() as session:
        rows = await session.execute(
            select(referral_transitions).where(
                referral_transitions.c.referral_id == uuid.UUID(referral_id),
                referral_transitions.c.action == "enrolment_changed",
            )
        )
        return list(rows)


def _family() -> str:
    return f"Moved{uuid.uuid4().hex[:8]}"


async def test_former_school_leader_loses_the_request_and_the_new_school_leader_sees_it(world):
    nsn, family = new_nsn(), _family()
    (referral,) = await _requests(world, nsn, family, ("submitted",))
    assert (await _view(world, "leader_a", referral["id"])).status_code == 200
    assert (await _view(world, "leader_b", referral["id"])).status_code == 404

    await world.deliver(_moved(nsn, world.orgs["school_b"]))

    assert (await _view(world, "leader_a", referral["id"])).status_code == 404
    assert referral["id"] not in await _listed(world, "leader_a", family)
    seen = await _view(world, "leader_b", referral["id"])
    assert seen.status_code == 200, seen.text
    assert seen.json()["school_id"] == str(world.orgs["school_b"])
    assert seen.json()["version"] == referral["version"] + 1
    assert referral["id"] in await _listed(world, "leader_b", family)
    move = seen.json()["history"][-1]
    assert move["action"] == "enrolment_changed" and move["actor_id"] == "enrol"
    assert move["school_id"] == str(world.orgs["school_b"])
    assert "from_school_id" not in move, "the school the student left is not shown"


async def test_every_request_of_the_student_moves_drafts_and_closed_ones_included(world):
    nsn, family = new_nsn(), _family()
    made = await _requests(world, nsn, family, ("draft", "withdrawn", "assigned"))
    other = (await _requests(world, new_nsn(), family, ("submitted",)))[0]

    await world.deliver(_moved(nsn, world.orgs["school_b"]))

    assert await _listed(world, "leader_b", family) == {r["id"] for r in made}
    assert await _listed(world, "leader_a", family) == {other["id"]}
    for referral in made:
        assert len(await _moves_recorded(world, referral["id"])) == 1
    # The assigned request (no case yet) followed the student away from the provider working
    # it (ACCESS-MODEL 6, test_request_moves).
    assert (await _view(world, "asp_lead_a", made[2]["id"])).status_code == 404


async def test_a_student_enrolled_nowhere_stays_visible_to_creator_and_central_investigation(
    world,
):
    nsn, family = new_nsn(), _family()
    (referral,) = await _requests(world, nsn, family, ("submitted",))

    await world.deliver(_moved(nsn, None))

    for leader in ("leader_a", "leader_b"):
        assert (await _view(world, leader, referral["id"])).status_code == 404
        assert referral["id"] not in await _listed(world, leader, family)
    for keeper in ("teacher_a", "investigator"):
        seen = await _view(world, keeper, referral["id"])
        assert seen.status_code == 200, (keeper, seen.text)
        assert referral["id"] in await _listed(world, keeper, family), keeper
    assert (await _view(world, "investigator", referral["id"])).json()["school_id"] is None
    # Its creator is not told that the student is enrolled nowhere
    # (test_enrolment_moves_whereabouts).
    assert "school_id" not in (await _view(world, "teacher_a", referral["id"])).json()


async def test_an_enrolment_change_older_than_the_one_applied_changes_nothing(world):
    nsn, family = new_nsn(), _family()
    (referral,) = await _requests(world, nsn, family, ("submitted",))
    await world.deliver(_moved(nsn, world.orgs["school_b"], T1 + timedelta(days=2)))

    await world.deliver(_moved(nsn, world.orgs["school_a"], T1))  # older, arriving late
    await world.deliver(_moved(nsn, world.orgs["school_a"], T1 + timedelta(days=2)))  # same time

    seen = await _view(world, "leader_b", referral["id"])
    assert seen.json()["school_id"] == str(world.orgs["school_b"])
    assert seen.json()["version"] == referral["version"] + 1
    assert len(await _moves_recorded(world, referral["id"])) == 1


async def test_an_edit_made_on_a_read_from_before_the_move_is_a_conflict(world):
    nsn, family = new_nsn(), _family()
    (draft,) = await _requests(world, nsn, family, ("draft",))
    await world.deliver(_moved(nsn, world.orgs["school_b"]))
    body = complete_request(world, "school_a")
    body["student"] |= {"nsn": nsn, "family_name": family}
    response = await world.client.put(
        f"/referrals/{draft['id']}",
        json={**body, "version": draft["version"]},
        headers=world.as_("teacher_a"),
    )
    assert response.status_code == 409, response.text
    assert response.json()["current_version"] == draft["version"] + 1


async def test_a_draft_made_after_a_move_keeps_its_creators_school_until_the_next_change(world):
    nsn, family = new_nsn(), _family()
    await world.deliver(_moved(nsn, world.orgs["school_b"]))
    (draft,) = await _requests(world, nsn, family, ("draft",))
    assert (await _view(world, "leader_a", draft["id"])).json()["school_id"] == str(
        world.orgs["school_a"]
    )
    school_c = await world.add_organisation(f"school_c_{family}", OrgType.SCHOOL, None, None)

    await world.deliver(_moved(nsn, school_c, T1 + timedelta(days=1)))

    assert (await _view(world, "leader_a", draft["id"])).status_code == 404
    leader_c = f"leader_c_{family}"
    await world.add_account(leader_c, f"school_c_{family}", [Role.SCHOOL_LEADER])
    assert (await _view(world, leader_c, draft["id"])).json()["school_id"] == str(school_c)
    # Its creator keeps the draft, not where the student went (test_enrolment_moves_whereabouts).
    assert "school_id" not in (await _view(world, "teacher_a", draft["id"])).json()


async def test_a_move_delivered_twice_through_kafka_is_applied_once(world):
    nsn, family = new_nsn(), _family()
    (referral,) = await _requests(world, nsn, family, ("submitted",))
    moved = EventEnvelope.wrap(_moved(nsn, world.orgs["school_b"]), producer="integrations")
    # Older than the move, sent after it on the same key: once it is processed, so is the
    # move and its duplicate before it.
    sentinel = EventEnvelope.wrap(
        _moved(nsn, world.orgs["school_a"], T1 - timedelta(days=1)), producer="integrations"
    )
    producer = AIOKafkaProducer(**kafka_admin(world.runtime.settings.kafka_bootstrap))
    await producer.start()
    try:
        for envelope in (moved, moved, sentinel):
            await producer.send_and_wait(
                world.runtime.settings.topic(topics.ENROLMENTS),
                envelope.model_dump_json().encode(),
                key=envelope.key.encode(),
            )
    finally:
        await producer.stop()

    await _until_processed(world, sentinel.event_id)
    seen = await _view(world, "leader_b", referral["id"])
    assert seen.status_code == 200, seen.text
    assert seen.json()["version"] == referral["version"] + 1
    assert len(await _moves_recorded(world, referral["id"])) == 1


async def _until_processed(world, event_id: uuid.UUID, timeout: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        async with world.runtime.database.transaction() as session:
            found = await session.execute(
                select(inbox.c.event_id).where(
                    inbox.c.consumer == "referrals", inbox.c.event_id == event_id
                )
            )
            if found.first() is not None:
                return
        await asyncio.sleep(0.2)
    raise AssertionError(f"event {event_id} never processed by referrals")
