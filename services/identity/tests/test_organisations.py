"""Organisations, catchments and monitoring links: the platform admin changes them."""

import pytest

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_platform_admin_registers_an_isp_attached_to_a_school(world):
    response = await world.client.post(
        "/organisations",
        json={
            "org_type": "isp",
            "name": "Kōwhai ISP",
            "parent_school_id": str(world.orgs["school_b"]),
        },
        headers=world.as_("admin"),
    )
    assert response.status_code == 201, response.text
    assert response.json()["parent_school_id"] == str(world.orgs["school_b"])


@pytest.mark.parametrize("actor", ["leader_a", "asp_lead_a", "investigator", "contracts"])
async def test_only_the_platform_admin_registers_organisations(world, actor):
    response = await world.client.post(
        "/organisations", json={"org_type": "school", "name": "Rogue"}, headers=world.as_(actor)
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"org_type": "castle", "name": "X"}, "org_type"),
        ({"org_type": "school", "name": ""}, "name"),
        ({"org_type": "isp", "name": "ISP without school"}, "parent_school_id"),
        ({"org_type": "school", "name": "S", "parent_school_id": None, "extra": 1}, "extra"),
    ],
)
async def test_bad_organisation_input_is_422_naming_the_field(world, body, field):
    response = await world.client.post("/organisations", json=body, headers=world.as_("admin"))
    assert response.status_code == 422, response.text
    assert field in response.json()["detail"]


async def test_isp_attached_to_a_non_school_is_422(world):
    response = await world.client.post(
        "/organisations",
        json={"org_type": "isp", "name": "Bad ISP", "parent_school_id": str(world.orgs["asp_a"])},
        headers=world.as_("admin"),
    )
    assert response.status_code == 422
    assert "parent_school_id" in response.json()["detail"]


async def test_a_school_has_exactly_one_current_asp_and_a_new_catchment_takes_over(world):
    school = world.orgs["school_a"]
    moved = await world.client.post(
        f"/organisations/{school}/catchments",
        json={"asp_id": str(world.orgs["asp_b"]), "effective_from": "2024-02-01"},
        headers=world.as_("admin"),
    )
    assert moved.status_code == 201, moved.text
    now = await world.client.get(f"/organisations/{school}/catchment", headers=world.as_("admin"))
    before = await world.client.get(
        f"/organisations/{school}/catchment?on=2023-12-31", headers=world.as_("admin")
    )
    assert now.json()["asp_id"] == str(world.orgs["asp_b"])
    assert before.json()["asp_id"] == str(world.orgs["asp_a"])


async def test_two_catchments_from_the_same_day_are_refused(world):
    body = {"asp_id": str(world.orgs["asp_b"]), "effective_from": "2020-01-01"}
    response = await world.client.post(
        f"/organisations/{world.orgs['school_a']}/catchments", json=body, headers=world.as_("admin")
    )
    assert response.status_code == 409


async def test_catchment_must_join_a_school_to_an_asp(world):
    body = {"asp_id": str(world.orgs["school_b"]), "effective_from": "2025-01-01"}
    response = await world.client.post(
        f"/organisations/{world.orgs['school_a']}/catchments", json=body, headers=world.as_("admin")
    )
    assert response.status_code == 422
    assert "asp_id" in response.json()["detail"]


async def test_catchments_are_changed_only_by_the_platform_admin(world):
    body = {"asp_id": str(world.orgs["asp_a"]), "effective_from": "2025-01-01"}
    response = await world.client.post(
        f"/organisations/{world.orgs['school_a']}/catchments",
        json=body,
        headers=world.as_("leader_a"),
    )
    assert response.status_code == 403


async def test_monitoring_links_join_a_regional_contract_manager_to_an_asp(world):
    link = {
        "account_id": str(world.accounts["contract_manager"]),
        "asp_id": str(world.orgs["asp_a"]),
    }
    added = await world.client.post("/monitoring-links", json=link, headers=world.as_("admin"))
    again = await world.client.post("/monitoring-links", json=link, headers=world.as_("admin"))
    path = f"/monitoring-links/{link['account_id']}/{link['asp_id']}"
    removed = await world.client.delete(path, headers=world.as_("admin"))
    assert (added.status_code, again.status_code, removed.status_code) == (201, 409, 204)


async def test_only_a_regional_contract_manager_monitors_asps(world):
    link = {"account_id": str(world.accounts["investigator"]), "asp_id": str(world.orgs["asp_a"])}
    response = await world.client.post("/monitoring-links", json=link, headers=world.as_("admin"))
    assert response.status_code == 422
    assert "account_id" in response.json()["detail"]


async def test_monitoring_links_are_changed_only_by_the_platform_admin(world):
    link = {
        "account_id": str(world.accounts["contract_manager"]),
        "asp_id": str(world.orgs["asp_a"]),
    }
    response = await world.client.post(
        "/monitoring-links", json=link, headers=world.as_("contract_manager")
    )
    assert response.status_code == 403
