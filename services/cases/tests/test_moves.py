"""ACCESS-MODEL section 6 for cases: when ENROL moves a student with an active case, the
case follows them to the new school and the ASP of its catchment (an ISP case too); the
former school loses every case of the student, closed ones included; the former ASP
loses the active case but keeps the one it closed before; the former case manager
loses the case; a transfer event is published."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import pytest_asyncio

from acms_contracts import topics
from acms_contracts.enrolments import StudentEnrolmentChanged
from acms_contracts.identity import CatchmentAssigned
from acms_platform.testing.kafka import published

pytestmark = pytest.mark.asyncio(loop_scope="session")

OUTCOME = {"outcome_category": "attending_regularly", "outcome_text": "Back at school"}


async def _status(world, who: str, case_id) -> int:
    return (await world.client.get(f"/cases/{case_id}", headers=world.as_(who))).status_code


async def _move(world, student_key: str, school: str | None, *, at: datetime | None = None):
    await world.deliver(
        StudentEnrolmentChanged(
            subject_student_key=student_key,
            school_id=world.orgs[school] if school else None,
            effective_on=date.today(),
            as_of=at or datetime.now(UTC),
        )
    )


@pytest_asyncio.fixture(loop_scope="session")
async def catchments(world):
    for school, asp in (("school_a", "asp_a"), ("school_b", "asp_b")):
        await world.deliver(
            CatchmentAssigned(
                organisation_id=world.orgs[school],
                asp_id=world.orgs[asp],
                effective_from=date(2026, 1, 1),
            )
        )


async def test_an_active_case_follows_the_student_and_the_former_parties_lose_it(world, catchments):
    nsn = str(700_000_000 + uuid.uuid4().int % 100_000_000)
    closed = await world.open_case(nsn=nsn)
    closing = await world.client.post(
        f"/cases/{closed['id']}/close", json=OUTCOME, headers=world.as_("case_manager_a")
    )
    assert closing.status_code == 200
    active = await world.open_case(nsn=nsn)
    before = {who: await _status(world, who, active["id"]) for who in ("leader_a", "teacher_a")}
    assert before == {"leader_a": 200, "teacher_a": 200}
    await _move(world, active["student_key"], "school_b")

    # The active case: at school B, ASP B's, with no case manager or primary contact yet.
    moved = await world.client.get(f"/cases/{active['id']}", headers=world.as_("asp_lead_b"))
    assert moved.status_code == 200
    view = moved.json()
    assert view["school_id"] == str(world.orgs["school_b"])
    assert view["provider_id"] == str(world.orgs["asp_b"])
    assert view["case_manager_id"] is None
    for who in ("leader_a", "office_a", "teacher_a", "asp_lead_a", "case_manager_a"):
        assert await _status(world, who, active["id"]) == 404, who
    for who in ("leader_b", "office_b", "asp_lead_b", "investigator"):
        assert await _status(world, who, active["id"]) == 200, who

    # The closed case stays ASP A's; the former school loses it; the new school never had it.
    # ASP B, which now holds the student's open case, sees it as the student's history
    # (ACCESS-MODEL 4: `full`, never `sensitive` or `attendance`; test_history.py).
    for who in ("asp_lead_a", "case_manager_a", "investigator", "asp_lead_b"):
        assert await _status(world, who, closed["id"]) == 200, who
    history = await world.client.get(f"/cases/{closed['id']}", headers=world.as_("asp_lead_b"))
    assert "sensitive" not in history.json()["tiers"]
    assert "attendance" not in history.json()["tiers"]
    for who in ("leader_a", "office_a", "leader_b"):
        assert await _status(world, who, closed["id"]) == 404, who

    timeline = await world.client.get(
        f"/cases/{active['id']}/timeline", headers=world.as_("asp_lead_b")
    )
    assert [e["kind"] for e in timeline.json()] == ["opened", "transferred"]
    found = await published(
        world.runtime.settings.kafka_bootstrap,
        topics.CASES,
        lambda e: (
            e["payload"]["case_id"] == str(active["id"]) and e["event_type"] == "CaseTransferred"
        ),
        namespace=world.runtime.settings.topic_namespace,
    )
    payload = found[0][1]["payload"]
    assert payload["from_provider_id"] == str(world.orgs["asp_a"])
    assert payload["provider_id"] == str(world.orgs["asp_b"])


async def test_an_isp_case_moves_to_the_catchment_asp(world, catchments):
    case = await world.open_case(provider="isp_a", assignee="isp_worker_a", primary_contact=None)
    assert await _status(world, "isp_lead_a", case["id"]) == 200
    await _move(world, case["student_key"], "school_b")
    assert await _status(world, "isp_lead_a", case["id"]) == 404
    assert await _status(world, "asp_lead_b", case["id"]) == 200


async def test_a_move_within_the_same_catchment_keeps_provider_and_case_manager(world, catchments):
    await world.deliver(
        CatchmentAssigned(
            organisation_id=world.orgs["school_b"],
            asp_id=world.orgs["asp_a"],
            effective_from=date(2026, 6, 1),
        )
    )
    try:
        case = await world.open_case()
        await _move(world, case["student_key"], "school_b")
        assert await _status(world, "case_manager_a", case["id"]) == 200
        assert await _status(world, "leader_a", case["id"]) == 404
        assert await _status(world, "leader_b", case["id"]) == 200
    finally:
        await world.deliver(
            CatchmentAssigned(
                organisation_id=world.orgs["school_b"],
                asp_id=world.orgs["asp_b"],
                effective_from=date(2026, 7, 1),
            )
        )


async def test_a_stale_enrolment_changes_nothing(world, catchments):
    case = await world.open_case()
    now = datetime.now(UTC)
    await _move(world, case["student_key"], "school_a", at=now)
    await _move(world, case["student_key"], "school_b", at=now - timedelta(days=1))
    assert await _status(world, "case_manager_a", case["id"]) == 200
    assert await _status(world, "leader_b", case["id"]) == 404
