"""Bad input is 422 naming the field, and nothing is half-written."""

import uuid
from datetime import date, timedelta

import pytest

from acms_platform.testing.accounts import tokens_refused_at_once
from acms_platform.testing.routes import not_refused

from .requests import complete_request, make_request

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _student(**changes):
    return lambda body: body["student"].update(changes)


def _whanau(**changes):
    return lambda body: body["whanau"][0].update(changes)


def _set(**changes):
    return lambda body: body.update(changes)


BAD = [
    ("student.nsn", _student(nsn="12345")),
    ("student.nsn", _student(nsn="12345678A")),
    ("student.date_of_birth", _student(date_of_birth=(date.today() + timedelta(1)).isoformat())),
    ("student.date_of_birth", _student(date_of_birth="1950-01-01")),
    ("student.date_of_birth", _student(date_of_birth="2024-02-30")),
    ("student.gender", _student(gender="unknown-value")),
    ("student.given_name", _student(given_name="x" * 101)),
    ("student.year_level", _student(year_level=40)),
    ("whanau.0.email", _whanau(email="not-an-email")),
    ("whanau.0.phone", _whanau(phone="call me")),
    ("whanau.0.relationship", _whanau(relationship="landlord")),
    ("reason_category", _set(reason_category="boredom")),
    ("reason_text", _set(reason_text="x" * 4001)),
    ("school_id", _set(school_id="not-a-uuid")),
    ("favourite_colour", _set(favourite_colour="blue")),
]


@pytest.mark.parametrize(("field", "spoil"), BAD, ids=[f"{f}-{i}" for i, (f, _) in enumerate(BAD)])
async def test_bad_input_is_422_naming_the_field_and_writes_nothing(world, field, spoil):
    family = f"Bad{uuid.uuid4().hex[:8]}"
    body = complete_request(world)
    body["student"]["family_name"] = family
    spoil(body)
    response = await world.client.post("/referrals", json=body, headers=world.as_("teacher_a"))
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]
    listed = await world.client.get(
        "/referrals", params={"q": family}, headers=world.as_("teacher_a")
    )
    assert listed.json() == []


@pytest.mark.parametrize(
    ("field", "value"),
    [("school_id", lambda w: str(uuid.uuid4())), ("school_id", lambda w: str(w.orgs["asp_a"]))],
)
async def test_an_unknown_school_is_422(world, field, value):
    body = complete_request(world, school_id=value(world))
    response = await world.client.post("/referrals", json=body, headers=world.as_("teacher_a"))
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == field


@pytest.mark.parametrize("contact", ["teacher_b", "case_manager_a", None])
async def test_a_primary_contact_from_outside_the_school_is_422(world, contact):
    account = str(world.accounts[contact]) if contact else str(uuid.uuid4())
    body = complete_request(world, primary_contact_id=account)
    response = await world.client.post("/referrals", json=body, headers=world.as_("leader_a"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "primary_contact_id"


async def test_submit_of_an_incomplete_draft_lists_the_missing_fields_by_name(world):
    body = {"student": {"given_name": "Tama"}, "school_id": str(world.orgs["school_a"])}
    created = await world.client.post("/referrals", json=body, headers=world.as_("teacher_a"))
    assert created.status_code == 201, created.text
    draft = created.json()
    response = await world.client.post(
        f"/referrals/{draft['id']}/submit", json={"version": 1}, headers=world.as_("teacher_a")
    )
    assert response.status_code == 422
    assert response.json()["missing"] == [
        "actions_taken",
        "reason_category",
        "reason_text",
        "student.date_of_birth",
        "student.family_name",
        "student.nsn",
        "whanau",
    ]
    still = await world.client.get(f"/referrals/{draft['id']}", headers=world.as_("teacher_a"))
    assert still.json()["status"] == "draft" and still.json()["version"] == 1


async def test_a_non_enrolment_request_is_submitted_without_nsn_or_school(world):
    body = complete_request(world, None)
    body["student"].update(nsn=None, not_enrolled=True)
    body["reason_category"] = "non_enrolment"
    created = await make_request(world, "submitted", school=None, body=body)
    assert created["status"] == "submitted"


@pytest.mark.parametrize(
    ("provider", "field"), [("school_b", "provider_id"), ("ministry", "provider_id")]
)
async def test_allocation_to_something_that_is_not_a_provider_is_422(world, provider, field):
    accepted = await make_request(world, "accepted")
    response = await world.client.post(
        f"/referrals/{accepted['id']}/allocate",
        json={"version": accepted["version"], "provider_id": str(world.orgs[provider])},
        headers=world.as_("investigator"),
    )
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == field


async def test_an_isp_is_allocated_only_requests_for_students_at_its_school(world):
    accepted = await make_request(world, "accepted", creator="leader_b", school="school_b")
    response = await world.client.post(
        f"/referrals/{accepted['id']}/allocate",
        json={"version": accepted["version"], "provider_id": str(world.orgs["isp_a"])},
        headers=world.as_("investigator"),
    )
    assert response.status_code == 422 and "ISP" in response.json()["detail"]


@pytest.mark.parametrize("assignee", ["case_manager_b", "asp_lead_a", "teacher_a", None])
async def test_assignment_to_anyone_but_a_case_manager_of_the_provider_is_422(world, assignee):
    allocated = await make_request(world, "allocated")
    account = str(world.accounts[assignee]) if assignee else str(uuid.uuid4())
    response = await world.client.post(
        f"/referrals/{allocated['id']}/assign",
        json={"version": allocated["version"], "assignee_id": account},
        headers=world.as_("asp_lead_a"),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "assignee_id"


async def test_a_decline_without_a_reason_is_422(world):
    submitted = await make_request(world, "submitted")
    response = await world.client.post(
        f"/referrals/{submitted['id']}/decline",
        json={"version": submitted["version"], "reason": "  "},
        headers=world.as_("investigator"),
    )
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "reason"


async def test_an_oversized_body_is_refused_by_the_service(world):
    body = complete_request(world, reason_text="x" * 2_000_000)
    response = await world.client.post("/referrals", json=body, headers=world.as_("teacher_a"))
    assert response.status_code == 413


async def test_a_request_without_a_token_is_401(world):
    response = await world.client.get("/referrals")
    assert response.status_code == 401


async def test_a_disabled_account_is_refused_before_its_token_expires(world):
    from acms_contracts.identity import AccountDisabled
    from acms_contracts.vocabulary import Role

    account = await world.add_account("teacher_soon_gone", "school_a", [Role.SCHOOL_STAFF])
    assert (await world.client.get("/referrals", headers=world.as_("teacher_soon_gone"))).is_success
    await world.deliver(AccountDisabled(account_id=account))
    refused = await world.client.get("/referrals", headers=world.as_("teacher_soon_gone"))
    assert refused.status_code == 401


async def test_every_route_refuses_an_account_that_may_not_act_now(world):
    """A disabled account's token, an unknown account's and one listing a revoked role:
    401 on every route, at once."""
    refused = await tokens_refused_at_once(world.client.app, world.signer, "school_leader")
    assert await not_refused(world.client, refused) == []
