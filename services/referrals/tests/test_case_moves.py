"""ACCESS-MODEL 6 for the request a case was opened from: when the cases service moves
the case (`CaseTransferred`), the request goes with it. The former provider and case
manager lose it (404, absent from lists and searches), the new provider sees it, and the
school it was made at loses it as a request without a case does (`followed_student`). A
redelivered, replayed or earlier move changes nothing; a move of a case we do not know is
ignored and the consumer goes on. The cases service is stood in for by the admin
publishing on its topic, as it would."""

import asyncio
import uuid
from datetime import timedelta

import pytest

from acms_contracts import EventEnvelope, topics
from acms_contracts.cases import CaseOpened, CaseTransferred
from acms_platform.testing.kafka import publish_as_admin, published

from .requests import new_nsn
from .test_enrolment_moves import T1, _family, _listed, _moved, _view
from .test_request_moves import _assert_lost, _new_catchment, _request, _searched

pytestmark = pytest.mark.asyncio(loop_scope="session")

FORMER = ("leader_a", "office_a", "teacher_a", "asp_lead_a", "case_manager_a")


def _opened(world, nsn: str, referral: dict) -> CaseOpened:
    return CaseOpened(
        case_id=uuid.uuid4(),
        reference="AS-2026-000042",
        subject_student_key=_moved(nsn, None).subject_student_key,
        actor_id="system",
        at=T1 - timedelta(days=30),
        referral_id=uuid.UUID(referral["id"]),
        school_id=world.orgs["school_a"],
        provider_id=world.orgs["asp_a"],
        case_manager_id=world.accounts["case_manager_a"],
    )


def _transferred(opened: CaseOpened, school, provider, at=T1, from_provider=None):
    return CaseTransferred(
        case_id=opened.case_id,
        reference=opened.reference,
        subject_student_key=opened.subject_student_key,
        actor_id="system",
        at=at,
        from_school_id=opened.school_id,
        school_id=school,
        from_provider_id=from_provider or opened.provider_id,
        provider_id=provider,
    )


async def _publish(world, *events) -> None:
    """On the cases topic in order, one key (one partition): applied in this order."""
    await publish_as_admin(
        world.runtime.settings.kafka_bootstrap,
        world.runtime.settings.topic(topics.CASES),
        *(
            (
                (e if isinstance(e, EventEnvelope) else EventEnvelope.wrap(e, producer="cases"))
                .model_dump_json()
                .encode(),
                (e.key if isinstance(e, EventEnvelope) else e.partition_key()).encode(),
            )
            for e in events
        ),
    )


async def _moves(world, referral_id: str) -> list[dict]:
    seen = await _view(world, "investigator", referral_id)
    assert seen.status_code == 200, seen.text
    return [h for h in seen.json()["history"] if h["action"] == "case_transferred"]


async def _until_moved(world, referral_id: str, count: int = 1) -> None:
    async with asyncio.timeout(30):
        while len(await _moves(world, referral_id)) < count:
            await asyncio.sleep(0.1)


async def test_the_request_follows_its_case_and_the_former_provider_and_manager_lose_it(world):
    nsn, family = new_nsn(), _family()
    new = await _new_catchment(world, family)
    referral = await _request(world, "assigned", family, nsn)
    opened = _opened(world, nsn, referral)
    await world.deliver(opened)
    # ENROL's move reaches referrals too: the request, with its case, stays with ASP A.
    await world.deliver(_moved(nsn, new["school"]))
    for who in ("asp_lead_a", "case_manager_a"):
        assert (await _view(world, who, referral["id"])).status_code == 200, who

    await _publish(world, _transferred(opened, new["school"], new["asp"]))
    await _until_moved(world, referral["id"])

    for who in FORMER:
        await _assert_lost(world, who, referral, family, nsn)
    for who in (new["lead"], new["leader"], "investigator"):
        seen = await _view(world, who, referral["id"])
        assert seen.status_code == 200, (who, seen.text)
        view = seen.json()
        assert view["school_id"] == str(new["school"])
        assert view["provider_id"] == str(new["asp"])
        assert view["case_manager_name"] is None
        assert referral["id"] in await _listed(world, who, family), who
        assert referral["id"] in await _searched(world, who, nsn), who
    # Its new provider cannot assign it again: the case holds the work.
    assert (await _view(world, new["case_manager"], referral["id"])).status_code == 404
    (move,) = await _moves(world, referral["id"])
    assert move["provider_id"] == str(new["asp"]) and move["from_provider_id"] == str(
        world.orgs["asp_a"]
    )
    assert "from_school_id" not in move  # the school last attended is not shown


async def test_the_move_is_published_for_the_request(world):
    nsn, family = new_nsn(), _family()
    new = await _new_catchment(world, family)
    referral = await _request(world, "assigned", family, nsn)
    opened = _opened(world, nsn, referral)
    await _publish(world, opened, _transferred(opened, new["school"], new["asp"]))
    await _until_moved(world, referral["id"])
    found = await published(
        world.runtime.settings.kafka_bootstrap,
        topics.REFERRALS,
        lambda e: (
            e["event_type"] == "ReferralTransferred"
            and e["payload"]["referral_id"] == referral["id"]
        ),
        namespace=world.runtime.settings.topic_namespace,
    )
    assert len(found) == 1
    payload = found[0][1]["payload"]
    assert payload["from_provider_id"] == str(world.orgs["asp_a"])
    assert payload["provider_id"] == str(new["asp"])
    assert payload["school_id"] == str(new["school"])


async def test_a_move_within_the_catchment_keeps_the_provider_and_case_manager(world):
    nsn, family = new_nsn(), _family()
    new = await _new_catchment(world, family)
    referral = await _request(world, "assigned", family, nsn)
    opened = _opened(world, nsn, referral)
    await _publish(world, opened, _transferred(opened, new["school"], world.orgs["asp_a"]))
    await _until_moved(world, referral["id"])
    for who in ("asp_lead_a", "case_manager_a", new["leader"]):
        seen = await _view(world, who, referral["id"])
        assert seen.status_code == 200, who
        assert seen.json()["status"] == "assigned"
    for who in ("leader_a", "office_a", "teacher_a", new["lead"]):
        assert (await _view(world, who, referral["id"])).status_code == 404, who


async def test_with_no_catchment_asp_no_provider_keeps_the_request(world):
    nsn, family = new_nsn(), _family()
    new = await _new_catchment(world, family)
    referral = await _request(world, "assigned", family, nsn)
    opened = _opened(world, nsn, referral)
    await _publish(world, opened, _transferred(opened, new["school"], None))
    await _until_moved(world, referral["id"])
    for who in FORMER:
        await _assert_lost(world, who, referral, family, nsn)
    seen = (await _view(world, "investigator", referral["id"])).json()
    assert seen["provider_id"] is None and seen["assignee_id"] is None


async def test_a_redelivered_replayed_or_earlier_move_changes_nothing(world):
    nsn, family = new_nsn(), _family()
    new = await _new_catchment(world, family)
    referral = await _request(world, "assigned", family, nsn)
    opened = _opened(world, nsn, referral)
    move = _transferred(opened, new["school"], new["asp"])
    envelope = EventEnvelope.wrap(move, producer="cases")
    await _publish(world, opened, envelope)
    await _until_moved(world, referral["id"])
    after = (await _view(world, "investigator", referral["id"])).json()

    # The same delivery again, the same move under another event id, an earlier move back
    # to ASP A; then a second request of the same student moved, on the same partition:
    # once it has moved, everything before it was handled.
    earlier = _transferred(opened, world.orgs["school_a"], world.orgs["asp_a"], T1 - timedelta(1))
    marker = await _request(world, "assigned", family, nsn)
    marker_opened = _opened(world, nsn, marker)
    await _publish(
        world,
        envelope,
        move,
        earlier,
        marker_opened,
        _transferred(marker_opened, new["school"], new["asp"]),
    )
    await _until_moved(world, marker["id"])

    again = (await _view(world, "investigator", referral["id"])).json()
    # The marker is another open request of the student: a possible duplicate now.
    again.pop("possible_duplicate_of"), after.pop("possible_duplicate_of")
    assert again == after
    assert len(await _moves(world, referral["id"])) == 1
    for who in ("asp_lead_a", "case_manager_a"):
        assert (await _view(world, who, referral["id"])).status_code == 404, who


async def test_a_move_of_an_unknown_case_is_ignored_and_the_consumer_goes_on(world):
    nsn, family = new_nsn(), _family()
    new = await _new_catchment(world, family)
    stranger = _opened(world, nsn, {"id": str(uuid.uuid4())})  # no such request here
    referral = await _request(world, "assigned", family, nsn)
    opened = _opened(world, nsn, referral)
    await _publish(
        world,
        _transferred(stranger, new["school"], new["asp"]),
        opened,
        _transferred(opened, new["school"], new["asp"]),
    )
    await _until_moved(world, referral["id"])
    assert (await _view(world, new["lead"], referral["id"])).status_code == 200


async def test_a_reallocated_case_takes_its_request_to_the_new_provider_the_school_keeps_it(
    world,
):
    """`POST /cases/{id}/reallocate` (CaseTransferred, reason `reallocated`): the former
    provider and case manager lose the request, the new provider has it without an
    assignee, the school it was made at keeps it; a redelivery changes nothing."""
    nsn, family = new_nsn(), _family()
    referral = await _request(world, "assigned", family, nsn)
    opened = _opened(world, nsn, referral)
    await world.deliver(opened)
    before = (await _view(world, "investigator", referral["id"])).json()["version"]
    reallocated = _transferred(opened, opened.school_id, world.orgs["asp_b"]).model_copy(
        update={"reason": "reallocated", "actor_id": str(world.accounts["investigator"])}
    )
    await _publish(world, reallocated, reallocated)

    async with asyncio.timeout(30):
        while (await _view(world, "asp_lead_b", referral["id"])).status_code != 200:
            await asyncio.sleep(0.1)
    seen = (await _view(world, "asp_lead_b", referral["id"])).json()
    assert seen["provider_id"] == str(world.orgs["asp_b"]) and seen["case_manager_name"] is None
    assert seen["school_id"] == str(world.orgs["school_a"]) and seen["version"] == before + 1
    for who in ("asp_lead_a", "case_manager_a"):
        assert (await _view(world, who, referral["id"])).status_code == 404, who
        assert referral["id"] not in await _listed(world, who, family), who
        assert referral["id"] not in await _searched(world, who, nsn), who
    for who in ("leader_a", "office_a", "teacher_a"):  # the school keeps its request
        assert (await _view(world, who, referral["id"])).status_code == 200, who
    found = await published(
        world.runtime.settings.kafka_bootstrap,
        topics.REFERRALS,
        lambda e: (
            e["event_type"] == "ReferralReallocated"
            and e["payload"]["referral_id"] == referral["id"]
        ),
        namespace=world.runtime.settings.topic_namespace,
    )
    assert len(found) == 1  # the redelivery published nothing more
    assert found[0][1]["payload"]["from_provider_id"] == str(world.orgs["asp_a"])
