"""The sensitive label and sharing with the school (ACCESS-MODEL 3: the two exclude each
other), school comments, and the case team (ACCESS-MODEL 4-6): who may do each, what the
other parties then see, the timeline at the item's tier, and the events published."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from acms_contracts import topics
from acms_contracts.enrolments import StudentEnrolmentChanged
from acms_contracts.identity import CatchmentAssigned
from acms_platform.testing.kafka import published

pytestmark = pytest.mark.asyncio(loop_scope="session")

OUTCOME = {"outcome_category": "attending_regularly", "outcome_text": "Back at school"}
TEAM_TIERS = ["basic", "summary", "demographic", "support_plan", "shared", "full"]


async def _case(world, **kwargs) -> str:
    return str((await world.open_case(**kwargs))["id"])


async def _note(world, case_id, text="A note", who="case_manager_a", **extra) -> dict:
    response = await world.client.post(
        f"/cases/{case_id}/notes", json={"text": text, **extra}, headers=world.as_(who)
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _label(world, case_id, item_id, version, sensitive, who="case_manager_a"):
    return await world.client.post(
        f"/cases/{case_id}/items/{item_id}/sensitive",
        json={"sensitive": sensitive, "version": version},
        headers=world.as_(who),
    )


async def _share(world, case_id, item_id, version, shared=True, who="case_manager_a"):
    return await world.client.post(
        f"/cases/{case_id}/items/{item_id}/share",
        json={"shared": shared, "version": version},
        headers=world.as_(who),
    )


async def _item(world, case_id, item_id, who):
    return await world.client.get(f"/cases/{case_id}/items/{item_id}", headers=world.as_(who))


async def _add_member(world, case_id, member, who="asp_lead_a"):
    return await world.client.post(
        f"/cases/{case_id}/team",
        json={"account_id": str(world.accounts[member])},
        headers=world.as_(who),
    )


async def _timeline(world, case_id, who) -> list[dict]:
    response = await world.client.get(f"/cases/{case_id}/timeline", headers=world.as_(who))
    assert response.status_code == 200, response.text
    return response.json()


# --- Sensitive and shared --------------------------------------------------------------


async def test_sharing_a_sensitive_item_is_422_with_the_reason_and_changes_nothing(world):
    case_id = await _case(world)
    note = await _note(world, case_id, "Disclosure", sensitive=True)
    refused = await _share(world, case_id, note["id"], 1)
    assert refused.status_code == 422
    assert "sensitive" in refused.json()["detail"] and "never shared" in refused.json()["detail"]
    kept = (await _item(world, case_id, note["id"], "case_manager_a")).json()
    assert kept["version"] == 1 and kept["shared"] is False
    assert (await _item(world, case_id, note["id"], "leader_a")).status_code == 404


async def test_labelling_a_shared_note_sensitive_withdraws_it_from_the_school(world):
    case_id = await _case(world)
    note = await _note(world, case_id, "For the school")
    shared = await _share(world, case_id, note["id"], 1)
    assert shared.status_code == 200 and shared.json()["shared"] is True
    for reader in ("leader_a", "teacher_a"):
        assert (await _item(world, case_id, note["id"], reader)).status_code == 200
    assert (await _item(world, case_id, note["id"], "office_a")).status_code == 404
    labelled = await _label(world, case_id, note["id"], 2, True, who="asp_lead_a")
    assert labelled.status_code == 200, labelled.text
    assert labelled.json()["sensitive"] is True and labelled.json()["shared"] is False
    for reader in ("leader_a", "teacher_a"):
        assert (await _item(world, case_id, note["id"], reader)).status_code == 404
        listed = await world.client.get(f"/cases/{case_id}/notes", headers=world.as_(reader))
        assert listed.json() == []
    # The school saw the share on the timeline; the label is a sensitive entry.
    school = [e["kind"] for e in await _timeline(world, case_id, "leader_a")]
    assert "item_shared_with_school" in school and "item_labelled_sensitive" not in school
    manager = [e["kind"] for e in await _timeline(world, case_id, "case_manager_a")]
    assert manager[-3:] == ["note_added", "item_shared_with_school", "item_labelled_sensitive"]
    found = await published(
        world.runtime.settings.kafka_bootstrap,
        topics.CASES,
        lambda e: e["payload"]["case_id"] == case_id and "item_id" in e["payload"],
        enough=3,
        namespace=world.runtime.settings.topic_namespace,
    )
    assert [e["event_type"] for _, e in found] == [
        "CaseItemSharedWithSchool",
        "CaseItemLabelledSensitive",
        "CaseItemShareWithdrawn",
    ]
    share_event = found[0][1]["payload"]
    assert share_event["school_id"] == str(world.orgs["school_a"])
    assert share_event["item_id"] == note["id"] and "text" not in share_event


async def test_history_shows_each_party_only_the_versions_its_tiers_read(world):
    case_id = await _case(world)
    await _add_member(world, case_id, "case_manager_a2")
    note = await _note(world, case_id, "Version one")
    assert (await _share(world, case_id, note["id"], 1)).status_code == 200  # v2 shared
    assert (await _label(world, case_id, note["id"], 2, True)).status_code == 200  # v3 sensitive
    assert (await _label(world, case_id, note["id"], 3, False)).status_code == 200  # v4 plain
    manager = (await _item(world, case_id, note["id"], "case_manager_a")).json()
    assert [v["change"] for v in manager["history"]] == ["create", "share", "label", "unlabel"]
    member = (await _item(world, case_id, note["id"], "case_manager_a2")).json()
    assert [v["version"] for v in member["history"]] == [1, 2, 4]
    assert all(v["text"] == "Version one" for v in member["history"])
    # No longer shared: the school sees none of it, the shared version included.
    assert (await _item(world, case_id, note["id"], "leader_a")).status_code == 404


async def test_only_the_assigned_case_manager_shares_with_the_school(world):
    case_id = await _case(world)
    note = await _note(world, case_id)
    for who, status in (("asp_lead_a", 403), ("leader_a", 403), ("case_manager_a2", 404)):
        refused = await _share(world, case_id, note["id"], 1, who=who)
        assert refused.status_code == status, (who, refused.text)
    assert (await _share(world, case_id, note["id"], 1)).status_code == 200
    withdrawn = await _share(world, case_id, note["id"], 2, shared=False)
    assert withdrawn.status_code == 200 and withdrawn.json()["shared"] is False
    assert (await _item(world, case_id, note["id"], "leader_a")).status_code == 404


async def test_only_notes_and_comments_are_shared(world):
    case_id = await _case(world)
    activity = await world.client.post(
        f"/cases/{case_id}/activities",
        json={"activity_type": "call", "occurred_at": "2026-03-02T09:30:00Z", "outcome": "Rang"},
        headers=world.as_("case_manager_a"),
    )
    refused = await _share(world, case_id, activity.json()["id"], 1)
    assert refused.status_code == 422 and "only notes and comments" in refused.json()["detail"]


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("case_manager_a", 200),
        ("asp_lead_a", 200),
        ("case_manager_a2", 403),  # on the team: reads, does not label
        ("leader_a", 403),
        ("asp_lead_b", 404),
        ("case_manager_b", 404),
    ],
)
async def test_the_case_manager_and_the_providers_leads_label_items(world, who, status):
    case_id = await _case(world)
    await _add_member(world, case_id, "case_manager_a2")
    note = await _note(world, case_id)
    response = await _label(world, case_id, note["id"], 1, True, who=who)
    assert response.status_code == status, (who, response.text)
    stale = await _label(world, case_id, note["id"], 1, status != 200, who="case_manager_a")
    assert stale.status_code == (409 if status == 200 else 200)


# --- Comments --------------------------------------------------------------------------


async def test_the_school_side_comments_on_active_cases_and_the_provider_reads_them(world):
    case_id = await _case(world)
    for who in ("leader_a", "office_a", "teacher_a", "case_manager_a"):
        response = await world.client.post(
            f"/cases/{case_id}/comments", json={"text": f"From {who}"}, headers=world.as_(who)
        )
        assert response.status_code == 201, (who, response.text)
        assert set(response.json()) == {"id", "kind", "version", "at"}  # a receipt
    for who in ("teacher_a2", "leader_b", "asp_lead_b"):
        refused = await world.client.post(
            f"/cases/{case_id}/comments", json={"text": "x"}, headers=world.as_(who)
        )
        assert refused.status_code == 404, who
    expected = ["From leader_a", "From office_a", "From teacher_a", "From case_manager_a"]
    for reader in ("case_manager_a", "asp_lead_a", "leader_a", "teacher_a"):
        listed = await world.client.get(f"/cases/{case_id}/comments", headers=world.as_(reader))
        assert [c["text"] for c in listed.json()] == expected, reader
        assert all(c["shared"] for c in listed.json())
    assert (
        await world.client.get(f"/cases/{case_id}/comments", headers=world.as_("office_a"))
    ).status_code == 403
    kinds = [e["kind"] for e in await _timeline(world, case_id, "leader_a")]
    assert kinds == ["opened"] + ["comment_added"] * 4


async def test_a_comment_is_edited_by_its_author_only_while_they_see_it(world):
    case_id = await _case(world)
    ids = {}
    for who in ("leader_a", "teacher_a", "office_a"):
        created = await world.client.post(
            f"/cases/{case_id}/comments", json={"text": who}, headers=world.as_(who)
        )
        ids[who] = created.json()["id"]

    async def edit(who, author):
        return await world.client.put(
            f"/cases/{case_id}/comments/{ids[author]}",
            json={"text": "edited", "version": 1},
            headers=world.as_(who),
        )

    assert (await edit("leader_a", "leader_a")).status_code == 200
    assert (await edit("leader_a", "teacher_a")).status_code == 403
    assert (await edit("office_a", "office_a")).status_code == 404  # office support reads none
    assert (await edit("teacher_a2", "teacher_a")).status_code == 404


async def test_comments_on_a_closed_case_are_409_naming_the_state(world):
    case_id = await _case(world)
    await world.client.post(
        f"/cases/{case_id}/close", json=OUTCOME, headers=world.as_("case_manager_a")
    )
    for who in ("leader_a", "office_a"):
        late = await world.client.post(
            f"/cases/{case_id}/comments", json={"text": "Late"}, headers=world.as_(who)
        )
        assert late.status_code == 409 and late.json()["current_status"] == "closed", who
    # The primary contact no longer sees a closed case at all.
    gone = await world.client.post(
        f"/cases/{case_id}/comments", json={"text": "Late"}, headers=world.as_("teacher_a")
    )
    assert gone.status_code == 404


# --- The team --------------------------------------------------------------------------


async def test_a_team_member_sees_full_never_sensitive_until_removed(world):
    case_id = await _case(world)
    member = world.as_("case_manager_a2")
    assert (await world.client.get(f"/cases/{case_id}", headers=member)).status_code == 404
    added = await _add_member(world, case_id, "case_manager_a2")
    assert added.status_code == 200, added.text
    assert [m["account_id"] for m in added.json()] == [str(world.accounts["case_manager_a2"])]
    view = await world.client.get(f"/cases/{case_id}", headers=member)
    assert view.status_code == 200 and view.json()["tiers"] == TEAM_TIERS
    listed = await world.client.get("/cases?limit=100", headers=member)
    assert case_id in {c["id"] for c in listed.json()}
    note = await _note(world, case_id, "Seen by the team")
    assert (await _item(world, case_id, note["id"], "case_manager_a2")).status_code == 200
    removed = await world.client.delete(
        f"/cases/{case_id}/team/{world.accounts['case_manager_a2']}",
        headers=world.as_("asp_lead_a"),
    )
    assert removed.status_code == 200 and removed.json() == []
    assert (await world.client.get(f"/cases/{case_id}", headers=member)).status_code == 404
    assert (await _item(world, case_id, note["id"], "case_manager_a2")).status_code == 404
    listed = await world.client.get("/cases?limit=100", headers=member)
    assert case_id not in {c["id"] for c in listed.json()}
    again = await world.client.delete(
        f"/cases/{case_id}/team/{world.accounts['case_manager_a2']}",
        headers=world.as_("asp_lead_a"),
    )
    assert again.status_code == 404
    kinds = [e["kind"] for e in await _timeline(world, case_id, "leader_a")]
    assert kinds == ["opened", "team_member_added", "team_member_removed"]
    found = await published(
        world.runtime.settings.kafka_bootstrap,
        topics.CASES,
        lambda e: e["payload"]["case_id"] == case_id and "account_id" in e["payload"],
        enough=2,
        namespace=world.runtime.settings.topic_namespace,
    )
    assert [e["event_type"] for _, e in found] == ["CaseTeamMemberAdded", "CaseTeamMemberRemoved"]


@pytest.mark.parametrize(
    ("member", "reason"),
    [
        ("case_manager_b", "not an active staff member"),  # another organisation
        ("leader_a", "not an active staff member"),
        ("case_manager_a", "case manager"),
    ],
)
async def test_only_other_staff_of_the_cases_provider_join_its_team(world, member, reason):
    case_id = await _case(world)
    refused = await _add_member(world, case_id, member)
    assert refused.status_code == 422 and reason in refused.json()["detail"]
    assert refused.json()["errors"][0]["field"] == "account_id"
    team = await world.client.get(f"/cases/{case_id}/team", headers=world.as_("asp_lead_a"))
    assert team.json() == []


async def test_twice_on_the_team_is_422(world):
    case_id = await _case(world)
    assert (await _add_member(world, case_id, "case_manager_a2")).status_code == 200
    twice = await _add_member(world, case_id, "case_manager_a2")
    assert twice.status_code == 422 and "already" in twice.json()["detail"]


@pytest.mark.parametrize(
    ("who", "status"),
    [("case_manager_a", 403), ("leader_a", 403), ("asp_lead_b", 404), ("case_manager_a2", 404)],
)
async def test_only_the_providers_workflow_leads_manage_the_team(world, who, status):
    case_id = await _case(world)
    refused = await _add_member(world, case_id, "case_manager_a2", who=who)
    assert refused.status_code == status, (who, refused.text)


async def test_the_team_leaves_with_the_case_when_it_moves_to_another_provider(world):
    for school, asp in (("school_a", "asp_a"), ("school_b", "asp_b")):
        await world.deliver(
            CatchmentAssigned(
                organisation_id=world.orgs[school],
                asp_id=world.orgs[asp],
                effective_from=date(2026, 1, 1),
            )
        )
    opened = await world.open_case()
    case_id = str(opened["id"])
    assert (await _add_member(world, case_id, "case_manager_a2")).status_code == 200
    await world.deliver(
        StudentEnrolmentChanged(
            subject_student_key=opened["student_key"],
            school_id=world.orgs["school_b"],
            effective_on=date.today(),
            as_of=datetime.now(UTC),
        )
    )
    member = world.as_("case_manager_a2")
    assert (await world.client.get(f"/cases/{case_id}", headers=member)).status_code == 404
    team = await world.client.get(f"/cases/{case_id}/team", headers=world.as_("asp_lead_b"))
    assert team.status_code == 200 and team.json() == []
