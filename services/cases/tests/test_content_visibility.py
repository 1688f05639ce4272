"""ACCESS-MODEL 3, 4 and 5 for a case's items, as a matrix through the API: for each party,
exactly the items its tiers read -- in item lists, one item's view and its history -- and
the nearest party not granted sees nothing (404 for a case or item it may not see, 403 for
a case it sees without any item of the kind); a write is refused the same way.

The case: a plain note, a sensitive note, a note shared with the school, a comment by the
school leader, the support plan and an activity; case manager A2 is on its team."""

from __future__ import annotations

import pytest
import pytest_asyncio

pytestmark = pytest.mark.asyncio(loop_scope="session")

PROVIDER = {"plain", "sensitive", "shared", "comment", "plan", "activity"}
SCHOOL = {"shared", "comment", "plan"}
# Party → the items it sees; None: the case itself is not theirs (404 everywhere).
SEES: dict[str, set[str] | None] = {
    "case_manager_a": PROVIDER,
    "asp_lead_a": PROVIDER,
    "case_manager_a2": PROVIDER - {"sensitive"},  # on the team: full, never sensitive
    "leader_a": SCHOOL,
    "teacher_a": SCHOOL,  # the primary contact
    "office_a": set(),  # sees the case in summary: no content
    "investigator": set(),  # summary + demographic: no content
    "contracts": set(),
    "teacher_a2": None,
    "leader_b": None,
    "asp_lead_b": None,
    "case_manager_b": None,
    "isp_lead_a": None,
    "prosecutor": None,  # not notified
    "contract_manager": set(),
}
PATHS = {
    "plain": "notes",
    "sensitive": "notes",
    "shared": "notes",
    "comment": "comments",
    "plan": "support-plan",
    "activity": "activities",
}
ACTIVITY = {"activity_type": "call", "occurred_at": "2026-03-02T09:30:00+13:00", "outcome": "Rang"}


async def _post(world, who, path, body, status=201):
    response = await world.client.post(path, json=body, headers=world.as_(who))
    assert response.status_code == status, (who, path, response.text)
    return response.json()


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def case(world) -> dict[str, str]:
    case_id = str((await world.open_case())["id"])
    base = f"/cases/{case_id}"
    manager = "case_manager_a"
    items = {
        "plain": (await _post(world, manager, f"{base}/notes", {"text": "Plain note"}))["id"],
        "sensitive": (
            await _post(world, manager, f"{base}/notes", {"text": "Disclosure", "sensitive": True})
        )["id"],
        "shared": (await _post(world, manager, f"{base}/notes", {"text": "For the school"}))["id"],
        "comment": (await _post(world, "leader_a", f"{base}/comments", {"text": "Kia ora"}))["id"],
        "activity": (await _post(world, manager, f"{base}/activities", ACTIVITY))["id"],
    }
    await _post(
        world, manager, f"{base}/items/{items['shared']}/share", {"shared": True, "version": 1}, 200
    )
    plan = await world.client.put(
        f"{base}/support-plan", json={"text": "The plan"}, headers=world.as_(manager)
    )
    items["plan"] = plan.json()["id"]
    account = str(world.accounts["case_manager_a2"])
    await _post(world, "asp_lead_a", f"{base}/team", {"account_id": account}, 200)
    return {"case": case_id, **items}


@pytest.mark.parametrize("party", sorted(SEES))
async def test_each_party_reads_exactly_the_items_its_tiers_grant(world, case, party):
    base, headers, sees = f"/cases/{case['case']}", world.as_(party), SEES[party]
    for label, item_id in case.items():
        if label == "case":
            continue
        one = await world.client.get(f"{base}/items/{item_id}", headers=headers)
        visible = sees is not None and label in sees
        assert one.status_code == (200 if visible else 404), (party, label, one.text)
        if visible:
            assert one.json()["id"] == item_id
    for path in sorted(set(PATHS.values())):
        listed = await world.client.get(f"{base}/{path}", headers=headers)
        expected = {label for label, p in PATHS.items() if p == path and sees and label in sees}
        if sees is None:
            assert listed.status_code == 404, (party, path)
        elif path == "support-plan":
            assert listed.status_code == (200 if "plan" in sees else 403), (party, path)
        elif not expected and listed.status_code == 403:
            continue  # sees the case, reads no item of the kind at all
        else:
            assert listed.status_code == 200, (party, path, listed.text)
            ids = {i["id"] for i in listed.json()}
            assert ids == {case[label] for label in expected}, (party, path)


@pytest.mark.parametrize("party", sorted(SEES))
async def test_the_case_view_carries_the_shared_items_to_the_school_only(world, case, party):
    view = await world.client.get(f"/cases/{case['case']}", headers=world.as_(party))
    if SEES[party] is None:
        assert view.status_code == 404
        return
    shared = view.json().get("shared_items")
    if "shared" not in view.json()["tiers"]:
        assert shared is None
        return
    assert {i["id"] for i in shared} == {case["shared"], case["comment"]}
    kinds = {i["id"]: i.get("kind") for i in shared}  # a client tells a note from a comment
    assert kinds == {case["shared"]: "note", case["comment"]: "comment"}


@pytest.mark.parametrize(
    ("party", "status"),
    [
        ("case_manager_a", 200),
        ("asp_lead_a", 200),
        ("case_manager_a2", 403),  # a team member reads, never writes
        ("leader_a", 403),
        ("office_a", 403),
        ("investigator", 403),
        ("teacher_a2", 404),
        ("leader_b", 404),
        ("asp_lead_b", 404),
        ("case_manager_b", 404),
    ],
)
async def test_a_write_is_refused_as_its_read_is(world, case, party, status):
    base = f"/cases/{case['case']}"
    current = (
        await world.client.get(f"{base}/items/{case['plain']}", headers=world.as_("asp_lead_a"))
    ).json()["version"]
    response = await world.client.put(
        f"{base}/notes/{case['plain']}",
        json={"text": f"Edited by {party}", "version": current},
        headers=world.as_(party),
    )
    assert response.status_code == status, (party, response.text)
    if status != 200:  # (a granted party's new note would change the matrix's case)
        added = await world.client.post(
            f"{base}/notes", json={"text": f"New by {party}"}, headers=world.as_(party)
        )
        assert added.status_code == status, (party, added.text)


async def test_a_sensitive_item_is_404_to_a_team_member_for_reads_and_labels(world, case):
    base = f"/cases/{case['case']}"
    member = world.as_("case_manager_a2")
    assert (
        await world.client.get(f"{base}/items/{case['sensitive']}", headers=member)
    ).status_code == 404
    timeline = (await world.client.get(f"{base}/timeline", headers=member)).json()
    assert all(e["detail"].get("item_id") != case["sensitive"] for e in timeline)
    manager_timeline = (
        await world.client.get(f"{base}/timeline", headers=world.as_("case_manager_a"))
    ).json()
    assert any(e["detail"].get("item_id") == case["sensitive"] for e in manager_timeline)
