"""Closing with an outcome, the prosecution notice, the timeline and notes as versioned
content items (ACCESS-MODEL 5 and 9), and bad input answered 4xx with nothing written."""

from __future__ import annotations

import uuid

import pytest

from acms_contracts import topics
from acms_platform.testing.kafka import published

pytestmark = pytest.mark.asyncio(loop_scope="session")

OUTCOME = {"outcome_category": "attending_regularly", "outcome_text": "Attending daily again"}


async def _case(world, **kwargs) -> str:
    return str((await world.open_case(**kwargs))["id"])


@pytest.mark.parametrize("closer", ["case_manager_a", "asp_lead_a"])
async def test_the_case_manager_or_a_workflow_lead_closes_with_an_outcome(world, closer):
    case_id = await _case(world)
    closed = await world.client.post(
        f"/cases/{case_id}/close", json=OUTCOME, headers=world.as_(closer)
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    view = (await world.client.get(f"/cases/{case_id}", headers=world.as_("asp_lead_a"))).json()
    assert view["outcome_category"] == "attending_regularly"
    assert view["outcome_text"] == "Attending daily again"
    assert view["closed_at"] is not None
    again = await world.client.post(
        f"/cases/{case_id}/close", json=OUTCOME, headers=world.as_(closer)
    )
    assert again.status_code == 409
    assert again.json()["current_status"] == "closed"
    assert "closed" in again.json()["detail"]


@pytest.mark.parametrize(
    ("who", "status"),
    [("case_manager_a2", 404), ("leader_a", 403), ("investigator", 403), ("asp_lead_b", 404)],
)
async def test_others_may_not_close(world, who, status):
    case_id = await _case(world)
    refused = await world.client.post(
        f"/cases/{case_id}/close", json=OUTCOME, headers=world.as_(who)
    )
    assert refused.status_code == status, refused.text
    view = (await world.client.get(f"/cases/{case_id}", headers=world.as_("asp_lead_a"))).json()
    assert view["status"] == "active"


async def test_only_workflow_leads_notify_for_prosecution(world):
    case_id = await _case(world)
    notice = f"/cases/{case_id}/prosecution-notice"
    refused = await world.client.post(notice, headers=world.as_("case_manager_a"))
    assert refused.status_code == 403
    assert (await world.client.post(notice, headers=world.as_("asp_lead_a"))).status_code == 200
    twice = await world.client.post(notice, headers=world.as_("asp_lead_a"))
    assert twice.status_code == 409
    withdraw = await world.client.post(f"{notice}/withdraw", headers=world.as_("asp_lead_a"))
    assert withdraw.status_code == 200 and withdraw.json()["prosecution_notified"] is False


@pytest.mark.parametrize(
    "body",
    [
        {"outcome_category": "attending_regularly", "outcome_text": "   "},
        {"outcome_category": "cured", "outcome_text": "x"},
        {"outcome_text": "x"},
        {**OUTCOME, "extra": 1},
    ],
)
async def test_a_bad_outcome_is_422_and_changes_nothing(world, body):
    case_id = await _case(world)
    refused = await world.client.post(
        f"/cases/{case_id}/close", json=body, headers=world.as_("case_manager_a")
    )
    assert refused.status_code == 422
    view = (await world.client.get(f"/cases/{case_id}", headers=world.as_("asp_lead_a"))).json()
    assert view["status"] == "active"


async def test_the_timeline_holds_every_change_for_those_who_may_see_it(world):
    case_id = await _case(world)
    lead, manager = world.as_("asp_lead_a"), world.as_("case_manager_a")
    await world.client.post(f"/cases/{case_id}/prosecution-notice", headers=lead)
    await world.client.post(f"/cases/{case_id}/prosecution-notice/withdraw", headers=lead)
    note = await world.client.post(
        f"/cases/{case_id}/notes", json={"text": "Home visit"}, headers=manager
    )
    secret = await world.client.post(
        f"/cases/{case_id}/notes", json={"text": "Disclosure", "sensitive": True}, headers=manager
    )
    assert note.status_code == secret.status_code == 201
    await world.client.post(f"/cases/{case_id}/close", json=OUTCOME, headers=manager)
    kinds = [
        e["kind"]
        for e in (await world.client.get(f"/cases/{case_id}/timeline", headers=lead)).json()
    ]
    assert kinds == [
        "opened",
        "prosecution_notice_given",
        "prosecution_notice_withdrawn",
        "note_added",
        "note_added",
        "closed",
    ]
    entries = (
        await world.client.get(f"/cases/{case_id}/timeline", headers=world.as_("investigator"))
    ).json()
    # Central Investigation sees the lifecycle, not content (summary + demographic only).
    assert [e["kind"] for e in entries] == [
        "opened",
        "prosecution_notice_given",
        "prosecution_notice_withdrawn",
        "closed",
    ]
    for entry in entries:
        assert entry["actor_id"] and entry["at"]
    hidden = await world.client.get(f"/cases/{case_id}/timeline", headers=world.as_("leader_b"))
    assert hidden.status_code == 404
    found = await published(
        world.runtime.settings.kafka_bootstrap,
        topics.CASES,
        lambda e: e["payload"]["case_id"] == case_id,
        enough=4,
        namespace=world.runtime.settings.topic_namespace,
    )
    assert [e["event_type"] for _, e in found] == [
        "CaseOpened",
        "CaseProsecutionNoticeGiven",
        "CaseProsecutionNoticeWithdrawn",
        "CaseClosed",
    ]


async def test_an_edited_note_is_a_new_version_and_keeps_every_earlier_text(world):
    case_id = await _case(world)
    manager = world.as_("case_manager_a")
    added = await world.client.post(
        f"/cases/{case_id}/notes", json={"text": "First text"}, headers=manager
    )
    note_id = added.json()["id"]
    path = f"/cases/{case_id}/notes/{note_id}"
    second = await world.client.put(
        path, json={"text": "Second text", "version": 1}, headers=manager
    )
    assert second.status_code == 200, second.text
    assert second.json()["version"] == 2
    stale = await world.client.put(path, json={"text": "Lost edit", "version": 1}, headers=manager)
    assert stale.status_code == 409 and stale.json()["current_version"] == 2
    notes = (
        await world.client.get(f"/cases/{case_id}/notes", headers=world.as_("asp_lead_a"))
    ).json()
    assert len(notes) == 1
    assert notes[0]["text"] == "Second text"
    assert [v["text"] for v in notes[0]["history"]] == ["First text", "Second text"]


async def test_a_sensitive_note_is_for_sensitive_readers_only(world):
    case_id = await _case(world)
    manager = world.as_("case_manager_a")
    await world.client.post(f"/cases/{case_id}/notes", json={"text": "Plain"}, headers=manager)
    await world.client.post(
        f"/cases/{case_id}/notes", json={"text": "Sensitive", "sensitive": True}, headers=manager
    )
    texts = [
        n["text"]
        for n in (await world.client.get(f"/cases/{case_id}/notes", headers=manager)).json()
    ]
    assert texts == ["Plain", "Sensitive"]
    view = (await world.client.get(f"/cases/{case_id}", headers=manager)).json()
    assert view["note_count"] == 1 and view["sensitive_note_count"] == 1
    leader = (await world.client.get(f"/cases/{case_id}", headers=world.as_("leader_a"))).json()
    assert leader["note_count"] == 1 and "sensitive_note_count" not in leader
    # A school leader sees the notes shared with the school only (none here); office support
    # reads no content at all: refused.
    shared = await world.client.get(f"/cases/{case_id}/notes", headers=world.as_("leader_a"))
    assert shared.status_code == 200 and shared.json() == []
    refused = await world.client.get(f"/cases/{case_id}/notes", headers=world.as_("office_a"))
    assert refused.status_code == 403


@pytest.mark.parametrize(
    "body", [{"text": ""}, {"text": "   "}, {"text": "x" * 20_001}, {"text": "a", "x": 1}, {}]
)
async def test_an_empty_or_oversized_note_is_422_and_nothing_is_written(world, body):
    case_id = await _case(world)
    manager = world.as_("case_manager_a")
    refused = await world.client.post(f"/cases/{case_id}/notes", json=body, headers=manager)
    assert refused.status_code == 422
    assert (await world.client.get(f"/cases/{case_id}/notes", headers=manager)).json() == []


async def test_notes_are_refused_on_a_closed_case_naming_the_state(world):
    case_id = await _case(world)
    manager = world.as_("case_manager_a")
    added = await world.client.post(
        f"/cases/{case_id}/notes", json={"text": "Before"}, headers=manager
    )
    await world.client.post(f"/cases/{case_id}/close", json=OUTCOME, headers=manager)
    late = await world.client.post(
        f"/cases/{case_id}/notes", json={"text": "After"}, headers=manager
    )
    assert late.status_code == 409 and late.json()["current_status"] == "closed"
    edit = await world.client.put(
        f"/cases/{case_id}/notes/{added.json()['id']}",
        json={"text": "Rewritten", "version": 1},
        headers=manager,
    )
    assert edit.status_code == 409
    unknown = await world.client.put(
        f"/cases/{case_id}/notes/{uuid.uuid4()}", json={"text": "x", "version": 1}, headers=manager
    )
    assert unknown.status_code == 409  # the case is closed: refused before looking for it


async def test_an_unknown_note_on_an_active_case_is_404(world):
    case_id = await _case(world)
    unknown = await world.client.put(
        f"/cases/{case_id}/notes/{uuid.uuid4()}",
        json={"text": "x", "version": 1},
        headers=world.as_("case_manager_a"),
    )
    assert unknown.status_code == 404


async def test_caseload_and_search(world):
    name = f"Caseload {uuid.uuid4().hex[:8]}"
    mine = await world.open_case(assignee="case_manager_a2", name=name)
    await world.open_case(assignee="case_manager_a", name=name)
    listed = await world.client.get(
        f"/cases?mine=true&q={name}", headers=world.as_("case_manager_a2")
    )
    assert [v["id"] for v in listed.json()] == [str(mine["id"])]
    by_reference = await world.client.get(
        f"/cases?q={mine['reference']}", headers=world.as_("asp_lead_a")
    )
    assert [v["id"] for v in by_reference.json()] == [str(mine["id"])]
    by_nsn = await world.client.get(f"/cases?q={mine['nsn']}", headers=world.as_("investigator"))
    assert [v["id"] for v in by_nsn.json()] == [str(mine["id"])]
    # A teacher who is primary contact sees basic only: no search by NSN for them.
    teacher = await world.client.get(f"/cases?q={mine['nsn']}", headers=world.as_("teacher_a"))
    assert teacher.json() == []
    school = await world.client.get(
        f"/cases?school_id={world.orgs['school_a']}&q={name}", headers=world.as_("leader_a")
    )
    assert len(school.json()) == 2


async def test_the_school_changes_the_primary_contact_and_the_new_one_sees_the_case(world):
    case_id = await _case(world)
    path = f"/cases/{case_id}/primary-contact"
    teacher2 = str(world.accounts["teacher_a2"])
    assert await _get_status(world, "teacher_a2", case_id) == 404
    refused = await world.client.post(
        path, json={"account_id": teacher2}, headers=world.as_("case_manager_a")
    )
    assert refused.status_code == 403
    outsider = await world.client.post(
        path, json={"account_id": str(world.accounts["leader_b"])}, headers=world.as_("office_a")
    )
    assert outsider.status_code == 422
    changed = await world.client.post(
        path, json={"account_id": teacher2}, headers=world.as_("office_a")
    )
    assert changed.status_code == 200, changed.text
    assert await _get_status(world, "teacher_a2", case_id) == 200
    assert await _get_status(world, "teacher_a", case_id) == 404
    kinds = [
        e["kind"]
        for e in (
            await world.client.get(f"/cases/{case_id}/timeline", headers=world.as_("leader_a"))
        ).json()
    ]
    assert kinds == ["opened", "primary_contact_changed"]


async def test_a_new_request_for_the_same_student_opens_a_new_case(world):
    first = await world.open_case(nsn="555000111")
    await world.client.post(
        f"/cases/{first['id']}/close", json=OUTCOME, headers=world.as_("case_manager_a")
    )
    second = await world.open_case(nsn="555000111")
    assert second["id"] != first["id"] and second["reference"] != first["reference"]
    assert second["status"] == "active"
    assert await _get_status(world, "case_manager_a", first["id"]) == 200


async def _get_status(world, who: str, case_id) -> int:
    return (await world.client.get(f"/cases/{case_id}", headers=world.as_(who))).status_code
