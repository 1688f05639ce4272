"""A case's content kinds on the one versioned item model (ACCESS-MODEL 5 and 9): each kind
written, edited as a new version with every earlier one kept, on the timeline at the
item's tier; bad input a 422 naming the field and nothing written; a closed case 409
naming its state; no version is ever updated or deleted, even by SQL."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

pytestmark = pytest.mark.asyncio(loop_scope="session")

OUTCOME = {"outcome_category": "attending_regularly", "outcome_text": "Attending daily again"}
WHEN = "2026-03-02T09:30:00+13:00"
# Each kind: its path, a first body, an edited body, the field holding its main text.
KINDS = {
    "note": ("notes", {"text": "Called whānau"}, {"text": "Called whānau twice"}, "text"),
    "correspondence": (
        "correspondence",
        {
            "channel": "email",
            "direction": "out",
            "parties": ["Case manager", "Mere Test"],
            "subject": "Meeting",
            "body": "Kia ora, can we meet on Tuesday?",
            "sent_at": WHEN,
        },
        {
            "channel": "email",
            "direction": "out",
            "parties": ["Case manager", "Mere Test"],
            "subject": "Meeting",
            "body": "Kia ora, can we meet on Wednesday?",
            "sent_at": WHEN,
        },
        "body",
    ),
    "activity": (
        "activities",
        {"activity_type": "home_visit", "occurred_at": WHEN, "outcome": "Nobody home"},
        {"activity_type": "home_visit", "occurred_at": WHEN, "outcome": "Met Mere at home"},
        "outcome",
    ),
    "calendar_entry": (
        "calendar",
        {"title": "Meeting with whānau", "starts_at": WHEN},
        {"title": "Meeting with whānau", "starts_at": WHEN, "done": True},
        "title",
    ),
}

MAIL, VISIT = KINDS["correspondence"][1], KINDS["activity"][1]


async def _case(world, **kwargs) -> str:
    return str((await world.open_case(**kwargs))["id"])


@pytest.mark.parametrize("kind", sorted(KINDS))
async def test_each_kind_is_versioned_and_keeps_every_earlier_version(world, kind):
    path, first, edited, main = KINDS[kind]
    case_id = await _case(world)
    manager = world.as_("case_manager_a")
    added = await world.client.post(f"/cases/{case_id}/{path}", json=first, headers=manager)
    assert added.status_code == 201, added.text
    item = added.json()
    assert item["kind"] == kind and item["version"] == 1 and item["change"] == "create"
    revised = await world.client.put(
        f"/cases/{case_id}/{path}/{item['id']}", json={**edited, "version": 1}, headers=manager
    )
    assert revised.status_code == 200, revised.text
    stale = await world.client.put(
        f"/cases/{case_id}/{path}/{item['id']}", json={**edited, "version": 1}, headers=manager
    )
    assert stale.status_code == 409 and stale.json()["current_version"] == 2
    listed = (await world.client.get(f"/cases/{case_id}/{path}", headers=manager)).json()
    assert [i["id"] for i in listed] == [item["id"]]
    assert listed[0][main] == edited[main]
    assert [v[main] for v in listed[0]["history"]] == [first[main], edited[main]]
    assert [v["change"] for v in listed[0]["history"]] == ["create", "revise"]
    one = await world.client.get(f"/cases/{case_id}/items/{item['id']}", headers=manager)
    assert one.status_code == 200 and one.json() == listed[0]
    kinds = [
        e["kind"]
        for e in (await world.client.get(f"/cases/{case_id}/timeline", headers=manager)).json()
    ]
    assert kinds == ["opened", f"{kind}_added", f"{kind}_revised"]


async def test_a_calendar_entry_is_marked_done_by_an_edit(world):
    case_id = await _case(world)
    manager = world.as_("case_manager_a")
    path, first, edited, _ = KINDS["calendar_entry"]
    added = (
        await world.client.post(f"/cases/{case_id}/{path}", json=first, headers=manager)
    ).json()
    assert added["done"] is False and added["ends_at"] is None
    done = await world.client.put(
        f"/cases/{case_id}/{path}/{added['id']}", json={**edited, "version": 1}, headers=manager
    )
    assert done.json()["done"] is True
    assert [v["done"] for v in done.json()["history"]] == [False, True]


async def test_the_support_plan_is_one_per_case_and_the_school_reads_it(world):
    case_id = await _case(world)
    manager = world.as_("case_manager_a")
    plan = f"/cases/{case_id}/support-plan"
    missing = await world.client.get(plan, headers=manager)
    assert missing.status_code == 404
    first = await world.client.put(plan, json={"text": "Walk to school together"}, headers=manager)
    assert first.status_code == 200, first.text
    again = await world.client.put(plan, json={"text": "A second plan"}, headers=manager)
    assert again.status_code == 409 and again.json()["current_version"] == 1
    edit = await world.client.put(
        plan, json={"text": "Walk to school; breakfast club", "version": 1}, headers=manager
    )
    assert edit.status_code == 200 and edit.json()["version"] == 2
    # School leader and primary contact read the support plan (its own tier) ...
    for reader in ("leader_a", "teacher_a"):
        seen = await world.client.get(plan, headers=world.as_(reader))
        assert seen.status_code == 200, (reader, seen.text)
        assert [v["text"] for v in seen.json()["history"]] == [
            "Walk to school together",
            "Walk to school; breakfast club",
        ]
        view = (await world.client.get(f"/cases/{case_id}", headers=world.as_(reader))).json()
        assert view["support_plan"]["text"] == "Walk to school; breakfast club"
    # ... office support and Central Investigation do not.
    for outsider in ("office_a", "investigator"):
        refused = await world.client.get(plan, headers=world.as_(outsider))
        assert refused.status_code == 403, outsider
        view = (await world.client.get(f"/cases/{case_id}", headers=world.as_(outsider))).json()
        assert "support_plan" not in view
    assert (await world.client.get(plan, headers=world.as_("leader_b"))).status_code == 404


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("notes", {"text": "   "}, "text"),
        ("correspondence", {**KINDS["correspondence"][1], "body": ""}, "body"),
        ("correspondence", {**KINDS["correspondence"][1], "parties": []}, "parties"),
        ("correspondence", {**KINDS["correspondence"][1], "direction": "sideways"}, "direction"),
        ("correspondence", {**MAIL, "sent_at": "1999-12-31T23:00:00Z"}, "sent_at"),
        ("activities", {**VISIT, "occurred_at": "2101-01-01T00:00:00Z"}, "occurred_at"),
        ("activities", {**VISIT, "occurred_at": "2026-03-02T09:30:00"}, "occurred_at"),
        ("activities", {**KINDS["activity"][1], "activity_type": "party"}, "activity_type"),
        ("calendar", {"title": "x", "starts_at": WHEN, "ends_at": "2026-03-01T09:30Z"}, "ends_at"),
        ("calendar", {"title": "", "starts_at": WHEN}, "title"),
        ("support-plan", {"text": ""}, "text"),
        ("comments", {"text": " "}, "text"),
    ],
)  # fmt: skip
async def test_bad_content_is_422_naming_the_field_and_nothing_is_written(world, path, body, field):
    case_id = await _case(world)
    manager = world.as_("case_manager_a")
    send = world.client.put if path == "support-plan" else world.client.post
    refused = await send(f"/cases/{case_id}/{path}", json=body, headers=manager)
    assert refused.status_code == 422, refused.text
    assert field in [e["field"] for e in refused.json()["errors"]], refused.json()
    assert refused.json()["detail"]
    timeline = (await world.client.get(f"/cases/{case_id}/timeline", headers=manager)).json()
    assert [e["kind"] for e in timeline] == ["opened"]


@pytest.mark.parametrize("kind", sorted(KINDS))
async def test_writing_on_a_closed_case_is_409_naming_the_state(world, kind):
    path, first, edited, _ = KINDS[kind]
    case_id = await _case(world)
    manager = world.as_("case_manager_a")
    item = (await world.client.post(f"/cases/{case_id}/{path}", json=first, headers=manager)).json()
    await world.client.post(f"/cases/{case_id}/close", json=OUTCOME, headers=manager)
    for response in (
        await world.client.post(f"/cases/{case_id}/{path}", json=first, headers=manager),
        await world.client.put(
            f"/cases/{case_id}/{path}/{item['id']}", json={**edited, "version": 1}, headers=manager
        ),
        await world.client.post(
            f"/cases/{case_id}/items/{item['id']}/sensitive",
            json={"sensitive": True, "version": 1},
            headers=manager,
        ),
    ):
        assert response.status_code == 409, response.text
        assert response.json()["current_status"] == "closed"
        assert "closed" in response.json()["detail"]
    plan = await world.client.put(
        f"/cases/{case_id}/support-plan", json={"text": "Late plan"}, headers=manager
    )
    assert plan.status_code == 409 and plan.json()["current_status"] == "closed"


async def test_an_item_of_another_kind_or_case_is_404(world):
    case_id, other_case = await _case(world), await _case(world)
    manager = world.as_("case_manager_a")
    note = (
        await world.client.post(f"/cases/{case_id}/notes", json={"text": "A"}, headers=manager)
    ).json()
    as_activity = await world.client.put(
        f"/cases/{case_id}/activities/{note['id']}",
        json={**KINDS["activity"][1], "version": 1},
        headers=manager,
    )
    assert as_activity.status_code == 404
    elsewhere = await world.client.get(f"/cases/{other_case}/items/{note['id']}", headers=manager)
    assert elsewhere.status_code == 404
    unknown = await world.client.get(f"/cases/{case_id}/items/{uuid.uuid4()}", headers=manager)
    assert unknown.status_code == 404


async def test_no_version_is_ever_updated_or_deleted_even_by_sql(world):
    case_id = await _case(world)
    manager = world.as_("case_manager_a")
    note = (
        await world.client.post(f"/cases/{case_id}/notes", json={"text": "Kept"}, headers=manager)
    ).json()
    for statement in (
        "UPDATE case_item_versions SET text = 'Rewritten' WHERE item_id = :id",
        "DELETE FROM case_item_versions WHERE item_id = :id",
    ):
        with pytest.raises(DBAPIError, match="never"):
            async with world.runtime.database.transaction() as session:
                await session.execute(text(statement), {"id": note["id"]})
    kept = (await world.client.get(f"/cases/{case_id}/items/{note['id']}", headers=manager)).json()
    assert kept["text"] == "Kept" and len(kept["history"]) == 1
