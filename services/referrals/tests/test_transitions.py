"""ACCESS-MODEL section 5 and the lifecycle through the API: every transition by the
roles allowed to make it, refused to everyone else (404 when they cannot see the request,
403 when they can), 409 from the wrong state or with a stale version."""

import asyncio

import pytest

from .requests import complete_request, make_request

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _post(world, referral, action, actor, **body):
    return await world.client.post(
        f"/referrals/{referral['id']}/{action}",
        json={"version": referral["version"], **body},
        headers=world.as_(actor),
    )


def _ids(world, **named):
    return {k: str(world.orgs.get(v) or world.accounts[v]) for k, v in named.items()}


@pytest.mark.parametrize(
    "creator", ["leader_a", "office_a", "teacher_a", "isp_lead_a", "regional_staff"]
)
async def test_each_creator_role_drafts_submits_and_withdraws(world, creator):
    contact = {"primary_contact_id": str(world.accounts["teacher_a"])}
    body = complete_request(world, **contact)
    submitted = await make_request(world, "submitted", creator=creator, body=body)
    withdrawn = await _post(world, submitted, "withdraw", creator)
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"


async def test_the_full_path_from_draft_to_assignment(world):
    assigned = await make_request(world, "assigned")
    assert assigned["status"] == "assigned" and assigned["version"] == 5


async def test_central_investigation_declines_with_a_reason(world):
    declined = await make_request(world, "declined")
    assert declined["status"] == "declined"


async def test_central_investigation_reallocates_and_the_former_provider_loses_sight(world):
    assigned = await make_request(world, "assigned")
    moved = await _post(
        world, assigned, "reallocate", "investigator", **_ids(world, provider_id="asp_b")
    )
    assert moved.status_code == 200 and moved.json()["status"] == "allocated"
    for former in ("asp_lead_a", "case_manager_a"):
        lost = await world.client.get(f"/referrals/{assigned['id']}", headers=world.as_(former))
        assert lost.status_code == 404
    gained = await world.client.get(f"/referrals/{assigned['id']}", headers=world.as_("asp_lead_b"))
    assert gained.status_code == 200 and gained.json()["assignee_id"] is None


async def test_an_asp_lead_reallocates_their_request_to_another_asp(world):
    allocated = await make_request(world, "allocated")
    moved = await _post(
        world, allocated, "reallocate", "asp_lead_a", **_ids(world, provider_id="asp_b")
    )
    assert moved.status_code == 200


async def test_an_asp_lead_may_not_reallocate_to_an_isp(world):
    allocated = await make_request(world, "allocated")
    refused = await _post(
        world, allocated, "reallocate", "asp_lead_a", **_ids(world, provider_id="isp_a")
    )
    assert refused.status_code == 403


async def test_an_isp_lead_assigns_to_a_worker_of_their_isp(world):
    assigned = await make_request(world, "assigned", provider="isp_a", assignee="isp_worker_a")
    assert assigned["status"] == "assigned"


DENIED = [
    # (state, action, actor, body, status): 404 when the actor cannot see the request.
    ("draft", "submit", "teacher_a2", {}, 404),
    ("draft", "submit", "leader_a", {}, 403),
    ("draft", "submit", "investigator", {}, 404),
    ("submitted", "withdraw", "leader_a", {}, 403),
    ("submitted", "withdraw", "office_a", {}, 403),
    ("submitted", "accept", "leader_a", {}, 403),
    ("submitted", "accept", "asp_lead_a", {}, 404),
    ("submitted", "accept", "contracts", {}, 404),
    ("submitted", "decline", "teacher_a", {"reason": "no"}, 403),
    ("accepted", "allocate", "leader_a", {"provider_id": "asp_a"}, 403),
    ("accepted", "allocate", "asp_lead_a", {"provider_id": "asp_a"}, 404),
    ("allocated", "assign", "asp_lead_b", {"assignee_id": "case_manager_b"}, 404),
    ("allocated", "assign", "case_manager_a", {"assignee_id": "case_manager_a"}, 404),
    ("allocated", "assign", "investigator", {"assignee_id": "case_manager_a"}, 403),
    ("allocated", "assign", "leader_a", {"assignee_id": "case_manager_a"}, 403),
    ("assigned", "reallocate", "asp_lead_b", {"provider_id": "asp_b"}, 404),
    ("assigned", "reallocate", "leader_a", {"provider_id": "asp_b"}, 403),
    ("assigned", "reallocate", "case_manager_a", {"provider_id": "asp_b"}, 403),
]


@pytest.mark.parametrize(("state", "action", "actor", "body", "expected"), DENIED)
async def test_a_transition_is_refused_to_roles_section_5_does_not_name(
    world, state, action, actor, body, expected
):
    referral = await make_request(world, state)
    resolved = _ids(world, **body) if body and "reason" not in body else body
    response = await _post(world, referral, action, actor, **resolved)
    assert response.status_code == expected, response.text
    still = await world.client.get(f"/referrals/{referral['id']}", headers=world.as_("leader_a"))
    assert still.json()["status"] == referral["status"]


@pytest.mark.parametrize(
    ("school", "creator", "expected"),
    [
        ("school_b", "teacher_a", 403),
        ("school_b", "isp_lead_a", 403),
        ("school_a", "asp_lead_a", 403),
        ("school_a", "investigator", 403),
        ("school_a", "otago_staff", 403),
        ("school_a", "regional_staff", 201),
        (None, "teacher_a", 201),
    ],
)
async def test_a_request_is_created_only_for_the_creators_own_school_or_region(
    world, school, creator, expected
):
    body = complete_request(world, school, primary_contact_id=None)
    response = await world.client.post("/referrals", json=body, headers=world.as_(creator))
    assert response.status_code == expected, response.text


WRONG_STATE = [
    ("submitted", "submit", "teacher_a", {}),
    ("accepted", "withdraw", "teacher_a", {}),
    ("declined", "accept", "investigator", {}),
    ("submitted", "allocate", "investigator", {"provider_id": "asp_a"}),
    ("accepted", "reallocate", "investigator", {"provider_id": "asp_b"}),
    ("assigned", "assign", "asp_lead_a", {"assignee_id": "case_manager_a2"}),
]


@pytest.mark.parametrize(("state", "action", "actor", "body"), WRONG_STATE)
async def test_a_transition_from_the_wrong_state_is_409_with_the_current_state(
    world, state, action, actor, body
):
    referral = await make_request(world, state)
    response = await _post(world, referral, action, actor, **_ids(world, **body))
    assert response.status_code == 409
    assert response.json()["current_status"] == state
    assert f"is {state}" in response.json()["detail"]


async def test_editing_a_submitted_request_is_409(world):
    submitted = await make_request(world, "submitted")
    body = {**complete_request(world), "version": submitted["version"]}
    response = await world.client.put(
        f"/referrals/{submitted['id']}", json=body, headers=world.as_("teacher_a")
    )
    assert response.status_code == 409 and response.json()["current_status"] == "submitted"


async def test_a_stale_version_is_409_and_never_a_lost_update(world):
    draft = await make_request(world, "draft")
    first = {**complete_request(world), "reason_text": "first edit", "version": 1}
    second = {**complete_request(world), "reason_text": "second edit", "version": 1}
    url, teacher = f"/referrals/{draft['id']}", world.as_("teacher_a")
    assert (await world.client.put(url, json=first, headers=teacher)).status_code == 200
    stale = await world.client.put(url, json=second, headers=teacher)
    assert stale.status_code == 409 and stale.json()["current_version"] == 2
    kept = await world.client.get(url, headers=teacher)
    assert kept.json()["reason_text"] == "first edit" and kept.json()["version"] == 2


async def test_every_transition_is_recorded_with_who_and_when(world):
    assigned = await make_request(world, "assigned")
    view = await world.client.get(f"/referrals/{assigned['id']}", headers=world.as_("leader_a"))
    history = view.json()["history"]
    assert [h["action"] for h in history] == ["draft", "submit", "accept", "allocate", "assign"]
    actors = ["teacher_a", "teacher_a", "investigator", "investigator", "asp_lead_a"]
    assert [h["actor_id"] for h in history] == [str(world.accounts[a]) for a in actors]
    assert all(h["at"] for h in history)


async def test_two_concurrent_decisions_on_one_version_let_exactly_one_through(world):
    submitted = await make_request(world, "submitted")
    accept, decline = await asyncio.gather(
        _post(world, submitted, "accept", "investigator"),
        _post(world, submitted, "decline", "investigator", reason="Duplicate request."),
    )
    assert sorted([accept.status_code, decline.status_code]) == [200, 409]
    view = await world.client.get(f"/referrals/{submitted['id']}", headers=world.as_("leader_a"))
    assert view.json()["version"] == submitted["version"] + 1
    assert len(view.json()["history"]) == 3
