"""ACCESS-MODEL section 4 for requests, through the API: for every role, what they see of
a draft, a submitted, a declined and an assigned request at their own and at another
school or provider. Granted tiers present, other tiers absent, not visible is 404."""

import uuid

import pytest
import pytest_asyncio

from .requests import complete_request, make_request

pytestmark = pytest.mark.asyncio(loop_scope="session")

STATES = ("draft", "submitted", "declined", "assigned")
# Requests at school A are made by teacher A and assigned at ASP A to case manager A;
# at school B by leader B, assigned at ASP B to case manager B.
SIDES = {
    "a": {"creator": "teacher_a", "school": "school_a", "provider": "asp_a",
          "assignee": "case_manager_a"},
    "b": {"creator": "leader_b", "school": "school_b", "provider": "asp_b",
          "assignee": "case_manager_b"},
}  # fmt: skip

EVERYTHING = {f"{side}_{state}" for side in SIDES for state in STATES}
SUBMITTED_ONWARDS = {r for r in EVERYTHING if not r.endswith("draft")}

# Who sees which request, and at which tier ("full" = the whole request as written).
SEES: dict[str, dict[str, str]] = {
    "leader_a": {f"a_{s}": "full" for s in STATES},
    "office_a": {f"a_{s}": "full" for s in STATES},
    "teacher_a": {f"a_{s}": "full" for s in STATES},
    "teacher_a2": {},
    "leader_b": {f"b_{s}": "full" for s in STATES},
    "office_b": {f"b_{s}": "full" for s in STATES},
    "teacher_b": {},
    "isp_lead_a": {},
    "isp_worker_a": {},
    "asp_lead_a": {"a_assigned": "full"},
    "asp_lead_b": {"b_assigned": "full"},
    "case_manager_a": {"a_assigned": "full"},
    "case_manager_a2": {},
    "case_manager_b": {"b_assigned": "full"},
    "investigator": {r: "full" for r in SUBMITTED_ONWARDS},
    "contracts": {},
    "prosecutor": {},
    "privacy": {},
    "records": {},
    "admin": {},
    "regional_staff": {},
    "contract_manager": {"a_assigned": "summary"},  # monitors ASP A, not ASP B
    "agency_client": {},
}

BASIC_FIELDS = {"id", "status", "student_name", "school_id", "provider_id", "opened_at"}
SUMMARY_FIELDS = {"nsn", "reason_category", "history", "decline_reason"}
FULL_FIELDS = {"student", "whanau", "reason_text", "actions_taken", "pastoral"}


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def matrix(world):
    """One request per side and state; all share a family name unique to this module."""
    family = f"Matrix{uuid.uuid4().hex[:8]}"
    made = {}
    for side, who in SIDES.items():
        for state in STATES:
            body = complete_request(world, who["school"])
            body["student"]["family_name"] = family
            made[f"{side}_{state}"] = await make_request(world, state, body=body, **who)
    return family, {name: r["id"] for name, r in made.items()}


def _assert_tier(view: dict, tier: str) -> None:
    assert BASIC_FIELDS <= view.keys()
    if tier in ("summary", "full"):
        assert SUMMARY_FIELDS - {"history"} <= view.keys()
    else:
        assert not SUMMARY_FIELDS & view.keys()
    if tier == "full":
        assert FULL_FIELDS <= view.keys()
    else:
        assert not FULL_FIELDS & view.keys()


@pytest.mark.parametrize("role", sorted(SEES))
async def test_each_role_sees_exactly_the_requests_and_tiers_section_4_grants(world, matrix, role):
    _, ids = matrix
    for name, referral_id in ids.items():
        response = await world.client.get(f"/referrals/{referral_id}", headers=world.as_(role))
        tier = SEES[role].get(name)
        if tier is None:
            assert response.status_code == 404, f"{role} must not see {name}"
            assert response.json() == {"detail": f"no request for support {referral_id}"}
        else:
            assert response.status_code == 200, f"{role} must see {name}: {response.text}"
            _assert_tier(response.json(), tier)
            # Possible duplicates are Central Investigation's only (issue 10).
            assert ("possible_duplicate_of" in response.json()) == (role == "investigator")


@pytest.mark.parametrize("role", sorted(SEES))
async def test_each_role_lists_exactly_the_requests_it_may_see(world, matrix, role):
    family, ids = matrix
    response = await world.client.get(
        "/referrals", params={"q": family, "limit": 100}, headers=world.as_(role)
    )
    assert response.status_code == 200
    listed = {view["id"]: view for view in response.json()}
    expected = {ids[name]: tier for name, tier in SEES[role].items()}
    assert set(listed) == set(expected)
    for referral_id, tier in expected.items():
        _assert_tier(listed[referral_id], tier)
        assert ("possible_duplicate_of" in listed[referral_id]) == (role == "investigator")


async def test_the_school_sees_the_decline_reason(world, matrix):
    _, ids = matrix
    response = await world.client.get(
        f"/referrals/{ids['a_declined']}", headers=world.as_("teacher_a")
    )
    assert response.json()["decline_reason"] == "Below the threshold for support."


async def test_a_nonexistent_request_and_an_invisible_one_answer_alike(world, matrix):
    _, ids = matrix
    hidden = await world.client.get(f"/referrals/{ids['b_draft']}", headers=world.as_("leader_a"))
    missing_id = uuid.uuid4()
    missing = await world.client.get(f"/referrals/{missing_id}", headers=world.as_("leader_a"))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["detail"].replace(ids["b_draft"], "X") == missing.json()["detail"].replace(
        str(missing_id), "X"
    )


async def test_isp_lead_sees_requests_allocated_to_their_isp_only(world):
    made = await make_request(world, "allocated", provider="isp_a")
    other = await make_request(world, "allocated", provider="asp_a")
    seen = await world.client.get(f"/referrals/{made['id']}", headers=world.as_("isp_lead_a"))
    assert seen.status_code == 200
    _assert_tier(seen.json(), "full")
    unseen = await world.client.get(f"/referrals/{other['id']}", headers=world.as_("isp_lead_a"))
    assert unseen.status_code == 404


async def test_regional_office_staff_see_the_requests_they_made(world):
    body = complete_request(world, primary_contact_id=str(world.accounts["teacher_a"]))
    made = await make_request(world, "submitted", creator="regional_staff", body=body)
    own = await world.client.get(f"/referrals/{made['id']}", headers=world.as_("regional_staff"))
    assert own.status_code == 200
    _assert_tier(own.json(), "full")
    # Made by a regional office, not by staff at school A: office support does not see it,
    # the school's leader does (the student is at their school).
    office = await world.client.get(f"/referrals/{made['id']}", headers=world.as_("office_a"))
    leader = await world.client.get(f"/referrals/{made['id']}", headers=world.as_("leader_a"))
    assert office.status_code == 404 and leader.status_code == 200


async def test_contract_manager_sees_the_summary_of_requests_of_monitored_asps(world, matrix):
    _, ids = matrix
    response = await world.client.get(
        f"/referrals/{ids['a_assigned']}", headers=world.as_("contract_manager")
    )
    assert response.status_code == 200
    _assert_tier(response.json(), "summary")
    unmonitored = await world.client.get(
        f"/referrals/{ids['b_assigned']}", headers=world.as_("contract_manager")
    )
    assert unmonitored.status_code == 404
