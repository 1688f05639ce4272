"""ACCESS-MODEL section 4 for cases, through the API: every role against every tier of
section 3. A granted party sees exactly the tiers granted (each tier's fields present,
every other tier's fields absent); the nearest party not granted (another school, another
ASP, another case manager, a teacher who is not the primary contact) gets 404, and the
lists, filtered in SQL by the policy's plan, hold exactly the cases each role sees."""

from __future__ import annotations

import pytest
import pytest_asyncio

pytestmark = pytest.mark.asyncio(loop_scope="session")

ALL = ["basic", "summary", "demographic", "support_plan", "shared", "full", "sensitive",
       "attendance"]  # fmt: skip
NO_ATTENDANCE = [t for t in ALL if t != "attendance"]
SCHOOL_LEADER = ["basic", "summary", "support_plan", "shared"]
MINISTRY = ["basic", "summary", "demographic"]
# One field of each tier, present exactly when the tier is granted.
FIELD_OF_TIER = {
    "basic": "reference",
    "summary": "nsn",
    "demographic": "home_address",
    "support_plan": "support_plan",
    "shared": "shared_items",
    "full": "whanau",
    "sensitive": "sensitive_note_count",
    "attendance": "attendance",
}
NOTHING: dict[str, list[str]] = {}

EXPECTED: dict[str, dict[str, list[str]]] = {
    "leader_a": {c: SCHOOL_LEADER for c in ("active", "closed", "notified", "isp")},
    "office_a": {
        "active": ["basic", "summary"],
        "notified": ["basic", "summary"],
        "isp": ["basic", "summary"],
        "closed": ["basic"],
    },
    "teacher_a": {
        "active": ["basic", "support_plan", "shared"],
        "notified": ["basic", "support_plan", "shared"],
    },
    "teacher_a2": NOTHING,
    "leader_b": NOTHING,
    "office_b": NOTHING,
    "asp_lead_a": {"active": ALL, "closed": ALL, "notified": ALL},
    "asp_lead_b": NOTHING,
    "case_manager_a": {"active": ALL, "notified": ALL, "closed": NO_ATTENDANCE},
    "case_manager_a2": NOTHING,
    "case_manager_b": NOTHING,
    "isp_lead_a": {"isp": ALL},
    "isp_lead_b": NOTHING,
    "isp_worker_a": NOTHING,
    "investigator": {c: MINISTRY for c in ("active", "closed", "notified", "isp")},
    "contracts": {c: MINISTRY for c in ("active", "closed", "notified", "isp")},
    "contract_manager": {c: ["basic", "summary"] for c in ("active", "closed", "notified")},
    "contract_manager_b": NOTHING,
    "prosecutor": {"notified": ALL},
    "privacy": NOTHING,
    "records": NOTHING,
    "admin": NOTHING,
    "regional_staff": NOTHING,
    "agency_client": NOTHING,
}


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def matrix(world) -> dict[str, str]:
    ids = {
        "active": (await world.open_case())["id"],
        "closed": (await world.open_case())["id"],
        "notified": (await world.open_case())["id"],
        "isp": (
            await world.open_case(provider="isp_a", assignee="isp_worker_a", primary_contact=None)
        )["id"],
    }
    lead = world.as_("asp_lead_a")
    closed = await world.client.post(
        f"/cases/{ids['closed']}/close",
        json={"outcome_category": "attending_regularly", "outcome_text": "Back at school"},
        headers=lead,
    )
    assert closed.status_code == 200, closed.text
    notified = await world.client.post(f"/cases/{ids['notified']}/prosecution-notice", headers=lead)
    assert notified.status_code == 200, notified.text
    return {name: str(case_id) for name, case_id in ids.items()}


@pytest.mark.parametrize("role", sorted(EXPECTED))
async def test_each_role_sees_exactly_the_tiers_section_4_grants(world, matrix, role):
    for case, case_id in matrix.items():
        response = await world.client.get(f"/cases/{case_id}", headers=world.as_(role))
        expected = EXPECTED[role].get(case)
        if not expected:
            assert response.status_code == 404, (role, case, response.text)
            continue
        assert response.status_code == 200, (role, case, response.text)
        view = response.json()
        assert view["tiers"] == expected, (role, case)
        for tier, name in FIELD_OF_TIER.items():
            assert (name in view) == (tier in expected), (role, case, tier)


@pytest.mark.parametrize("role", sorted(EXPECTED))
async def test_each_role_lists_exactly_the_cases_it_sees(world, matrix, role):
    response = await world.client.get("/cases?limit=100", headers=world.as_(role))
    assert response.status_code == 200, response.text
    listed = {v["id"]: v for v in response.json()}
    mine = {case for case, case_id in matrix.items() if case_id in listed}
    assert mine == set(EXPECTED[role]), role
    for case in mine:
        assert listed[matrix[case]]["tiers"] == EXPECTED[role][case]


async def test_another_organisations_case_is_404_like_an_unknown_one(world, matrix):
    other = await world.client.get(f"/cases/{matrix['active']}", headers=world.as_("asp_lead_b"))
    unknown = await world.client.get(
        "/cases/00000000-0000-4000-8000-000000000000", headers=world.as_("asp_lead_b")
    )
    assert other.status_code == unknown.status_code == 404
    assert "no case" in other.json()["detail"]


async def test_prosecutions_loses_the_case_on_withdrawal_and_on_closure(world):
    lead, prosecutor = world.as_("asp_lead_a"), world.as_("prosecutor")
    case_id = str((await world.open_case())["id"])
    assert (await world.client.get(f"/cases/{case_id}", headers=prosecutor)).status_code == 404
    notice = f"/cases/{case_id}/prosecution-notice"
    assert (await world.client.post(notice, headers=lead)).status_code == 200
    seen = await world.client.get(f"/cases/{case_id}", headers=prosecutor)
    assert seen.status_code == 200 and seen.json()["tiers"] == ALL
    assert (await world.client.post(f"{notice}/withdraw", headers=lead)).status_code == 200
    assert (await world.client.get(f"/cases/{case_id}", headers=prosecutor)).status_code == 404
    assert (await world.client.post(notice, headers=lead)).status_code == 200
    closed = await world.client.post(
        f"/cases/{case_id}/close",
        json={"outcome_category": "prosecution", "outcome_text": "Referred for prosecution"},
        headers=lead,
    )
    assert closed.status_code == 200
    assert (await world.client.get(f"/cases/{case_id}", headers=prosecutor)).status_code == 404
