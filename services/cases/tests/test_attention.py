"""The student's daily attendance on the case (ACCESS-MODEL 3 and 4: the `attendance`
tier, the case manager's only while the case is active) and the needs-attention reminder
(an idle case flagged once per episode, published, cleared by the next activity)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import update

from acms_cases import attention
from acms_cases.tables import case_attendance, cases
from acms_contracts import topics
from acms_contracts.attendance import AttendanceCategory, StudentAttendanceRecorded
from acms_platform.testing.kafka import published

pytestmark = pytest.mark.asyncio(loop_scope="session")

OUTCOME = {"outcome_category": "attending_regularly", "outcome_text": "Attending daily again"}
DAY = date(2026, 11, 2)


def mark(
    row, code="U", category=AttendanceCategory.UNJUSTIFIED, *, on=DAY, session="AM", as_of=None
):
    return StudentAttendanceRecorded(
        subject_student_key=row["student_key"],
        school_id=row["school_id"],
        on=on,
        session=session,
        code=code,
        category=category,
        as_of=as_of or datetime(2026, 11, 2, 18, tzinfo=UTC),
    )


async def attendance(world, case_id, who):
    return await world.client.get(f"/cases/{case_id}/attendance", headers=world.as_(who))


async def test_attendance_is_kept_per_session_and_a_later_file_replaces_an_earlier_one(world):
    row = await world.open_case()
    first = datetime(2026, 11, 2, 18, tzinfo=UTC)
    await world.deliver(mark(row, as_of=first))
    await world.deliver(mark(row, "P", AttendanceCategory.PRESENT, session="PM", as_of=first))
    await world.deliver(
        mark(row, "J", AttendanceCategory.JUSTIFIED, as_of=first + timedelta(days=1))
    )
    await world.deliver(mark(row, "U", as_of=first - timedelta(days=1)))  # older: ignored

    answer = await attendance(world, row["id"], "case_manager_a")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [(r["session"], r["code"]) for r in body["records"]] == [("AM", "J"), ("PM", "P")]
    assert body["summary"]["sessions"] == 2 and body["summary"]["present_percent"] == 50.0
    view = (
        await world.client.get(f"/cases/{row['id']}", headers=world.as_("case_manager_a"))
    ).json()
    assert {a["code"] for a in view["attendance"]} == {"J", "P"}


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("case_manager_a", 200),
        ("asp_lead_a", 200),
        ("leader_a", 403),  # sees the case, not its attendance
        ("teacher_a", 403),  # primary contact: no attendance tier
        ("case_manager_a2", 404),  # same provider, not theirs
        ("asp_lead_b", 404),
        ("leader_b", 404),
    ],
)
async def test_attendance_is_for_the_provider_that_holds_the_case(world, who, status):
    row = await world.open_case()
    await world.deliver(mark(row))
    answer = await attendance(world, row["id"], who)
    assert answer.status_code == status, answer.text
    view = await world.client.get(f"/cases/{row['id']}", headers=world.as_(who))
    if status != 200:
        assert view.status_code == 404 or "attendance" not in view.json()


async def test_after_closure_the_case_manager_loses_attendance_and_nothing_new_is_kept(world):
    row = await world.open_case()
    await world.deliver(mark(row))
    closed = await world.client.post(
        f"/cases/{row['id']}/close", json=OUTCOME, headers=world.as_("case_manager_a")
    )
    assert closed.status_code == 200, closed.text
    await world.deliver(mark(row, on=DAY + timedelta(days=1)))

    assert (await attendance(world, row["id"], "case_manager_a")).status_code == 403
    lead = await attendance(world, row["id"], "asp_lead_a")
    assert lead.status_code == 200
    assert [r["on"] for r in lead.json()["records"]] == [DAY.isoformat()]


async def test_attendance_of_a_student_without_an_active_case_is_not_kept(world):
    row = await world.open_case()
    stranger = mark(row).model_copy(update={"subject_student_key": "k" * 64})
    await world.deliver(stranger)
    async with world.runtime.database.transaction() as session:
        kept = (
            await session.execute(
                case_attendance.select().where(case_attendance.c.case_id == row["id"])
            )
        ).all()
    assert kept == []


async def test_attendance_dates_out_of_range_are_refused(world):
    row = await world.open_case()
    refused = await world.client.get(
        f"/cases/{row['id']}/attendance",
        params={"since": "1900-01-01"},
        headers=world.as_("case_manager_a"),
    )
    assert refused.status_code == 422


async def _idle(world, case_id, days):
    async with world.runtime.database.transaction() as session:
        await session.execute(
            update(cases)
            .where(cases.c.id == case_id)
            .values(last_activity_at=datetime.now(UTC) - timedelta(days=days))
        )


async def _needing(world, who):
    answer = await world.client.get(
        "/cases", params={"needs_attention": "true", "limit": 100}, headers=world.as_(who)
    )
    assert answer.status_code == 200, answer.text
    return {c["id"] for c in answer.json()}


async def test_an_idle_case_needs_attention_once_until_something_is_recorded(world):
    idle = str((await world.open_case())["id"])
    busy = str((await world.open_case())["id"])
    idle_days = world.runtime.settings.case_idle_days
    await _idle(world, idle, idle_days + 1)
    await _idle(world, busy, idle_days - 1)

    assert await attention.scan_once(world.runtime) >= 1
    assert await attention.scan_once(world.runtime) == 0  # once per episode
    for who in ("case_manager_a", "asp_lead_a"):
        needing = await _needing(world, who)
        assert idle in needing and busy not in needing
    # The school sees the case, but not the provider's own work on it: the filter
    # answers nothing rather than tell.
    assert idle not in await _needing(world, "leader_a")
    view = (await world.client.get(f"/cases/{idle}", headers=world.as_("case_manager_a"))).json()
    assert view["needs_attention"] == "no_recent_activity"
    school_view = (await world.client.get(f"/cases/{idle}", headers=world.as_("leader_a"))).json()
    assert "needs_attention" not in school_view

    found = await published(
        world.runtime.settings.kafka_bootstrap,
        topics.CASES,
        lambda e: e["event_type"] == "CaseNeedsAttention" and e["payload"]["case_id"] == idle,
        namespace=world.runtime.settings.topic_namespace,
    )
    assert len(found) == 1
    assert found[0][1]["payload"]["reason"] == "no_recent_activity"

    note = await world.client.post(
        f"/cases/{idle}/notes", json={"text": "Called home"}, headers=world.as_("case_manager_a")
    )
    assert note.status_code == 201, note.text
    assert idle not in await _needing(world, "case_manager_a")
    assert await attention.scan_once(world.runtime) == 0


async def test_a_closed_case_never_needs_attention(world):
    row = await world.open_case()
    await world.client.post(
        f"/cases/{row['id']}/close", json=OUTCOME, headers=world.as_("case_manager_a")
    )
    await _idle(world, row["id"], 400)
    await attention.scan_once(world.runtime)
    assert str(row["id"]) not in await _needing(world, "asp_lead_a")


async def test_an_unknown_case_has_no_attendance(world):
    answer = await attendance(world, uuid.uuid4(), "case_manager_a")
    assert answer.status_code == 404


async def test_an_overdue_calendar_entry_needs_attention_and_a_done_one_does_not(world):
    overdue, done = str((await world.open_case())["id"]), str((await world.open_case())["id"])
    manager = world.as_("case_manager_a")
    past = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    for case_id, finished in ((overdue, False), (done, True)):
        added = await world.client.post(
            f"/cases/{case_id}/calendar",
            json={"title": "Meeting at school", "starts_at": past, "done": finished},
            headers=manager,
        )
        assert added.status_code == 201, added.text

    await attention.scan_once(world.runtime)
    needing = await _needing(world, "case_manager_a")
    assert overdue in needing and done not in needing
    view = (await world.client.get(f"/cases/{overdue}", headers=manager)).json()
    assert view["needs_attention"] == "overdue_calendar_entry"
    found = await published(
        world.runtime.settings.kafka_bootstrap,
        topics.CASES,
        lambda e: e["event_type"] == "CaseNeedsAttention" and e["payload"]["case_id"] == overdue,
        namespace=world.runtime.settings.topic_namespace,
    )
    assert found[0][1]["payload"]["reason"] == "overdue_calendar_entry"
    assert "title" not in found[0][1]["payload"]  # no content travels
