"""ACCESS-MODEL.md section 4: who sees which staff. Lists are filtered in SQL from the
policy's plan; an account the caller may not see is 404."""

import pytest

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _visible(world, actor: str) -> set[str]:
    """Names (from world.accounts) of the world's accounts in the actor's staff list."""
    ids = set()
    for organisation_id in world.orgs.values():  # the database holds other tests' worlds too
        response = await world.client.get(
            f"/accounts?organisation_id={organisation_id}", headers=world.as_(actor)
        )
        assert response.status_code == 200, response.text
        ids |= {row["id"] for row in response.json()}
    return {name for name, account_id in world.accounts.items() if str(account_id) in ids}


SCHOOL_A = {"leader_a", "office_a", "teacher_a"}
ASP_A = {"asp_lead_a", "case_manager_a"}


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        ("office_a", SCHOOL_A),
        ("leader_a", SCHOOL_A),
        ("teacher_a", {"teacher_a"}),
        ("asp_lead_a", ASP_A),
        ("case_manager_a", ASP_A),
        ("isp_lead_a", {"isp_lead_a", "isp_worker_a"}),
        ("investigator", {"investigator"}),
        ("contract_manager", {"contract_manager"}),
    ],
)
async def test_staff_list_shows_only_the_callers_organisation(world, actor, expected):
    assert await _visible(world, actor) == expected


async def test_national_contracts_see_school_isp_and_asp_staff_but_not_ministry(world):
    visible = await _visible(world, "contracts")
    other_ministry_staff = {"admin", "investigator", "contract_manager"}
    assert visible == set(world.accounts) - other_ministry_staff  # and themselves


async def test_platform_admin_sees_every_account(world):
    assert await _visible(world, "admin") == set(world.accounts)


async def test_account_outside_ones_view_is_404(world):
    response = await world.client.get(
        f"/accounts/{world.accounts['teacher_b']}", headers=world.as_("leader_a")
    )
    assert response.status_code == 404


async def test_asp_staff_do_not_see_another_asps_staff(world):
    response = await world.client.get(
        f"/accounts/{world.accounts['case_manager_b']}", headers=world.as_("case_manager_a")
    )
    assert response.status_code == 404


async def test_staff_list_filtered_by_an_invisible_organisation_is_empty(world):
    response = await world.client.get(
        f"/accounts?organisation_id={world.orgs['school_b']}", headers=world.as_("office_a")
    )
    assert response.status_code == 200
    assert response.json() == []


async def test_national_contracts_see_roles_but_not_contact_details(world):
    listed = await world.client.get(
        f"/accounts?organisation_id={world.orgs['school_a']}", headers=world.as_("contracts")
    )
    single = await world.client.get(
        f"/accounts/{world.accounts['leader_a']}", headers=world.as_("contracts")
    )
    assert listed.status_code == single.status_code == 200
    assert listed.json() and all("email" not in row for row in listed.json())
    assert all(row["roles"] for row in listed.json())
    assert "email" not in single.json() and single.json()["roles"] == ["school_leader"]


async def test_school_office_support_sees_contact_details_of_school_staff(world):
    listed = await world.client.get(
        f"/accounts?organisation_id={world.orgs['school_a']}", headers=world.as_("office_a")
    )
    assert listed.json() and all(row["email"] for row in listed.json())
