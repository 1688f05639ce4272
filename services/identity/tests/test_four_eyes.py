"""Four eyes on the roles that see student data (issue 15, finding 2): a platform admin's
grant is inert until a second platform admin approves it; the approver cannot be the
granter; both steps are audited."""

import uuid

import jwt
import pytest
import pytest_asyncio

from acms_contracts import topics
from acms_contracts.vocabulary import Role

from .test_policy_and_audit import _bootstrap, _events

pytestmark = pytest.mark.asyncio(loop_scope="session")

PASSWORD = "a-password-of-their-own"


@pytest_asyncio.fixture(loop_scope="session")
async def second_admin(world) -> str:
    if "admin2" not in world.accounts:
        await world.add_account("admin2", "ministry", [Role.PLATFORM_ADMIN])
    return "admin2"


async def _invite_investigator(world, tag: str) -> tuple[str, str]:
    email = f"investigator.{tag}.{uuid.uuid4().hex[:8]}@test.example.org"
    created = await world.client.post(
        "/accounts",
        json={
            "organisation_id": str(world.orgs["ministry"]),
            "display_name": f"Rangi {tag}",
            "email": email,
            "roles": ["central_investigation"],
        },
        headers=world.as_("admin"),
    )
    assert created.status_code == 201, created.text
    return created.json()["id"], email


async def _roles_signed_in(world, email: str) -> list[str]:
    response = await world.client.post("/sign-in", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return jwt.decode(response.json()["access_token"], options={"verify_signature": False})["roles"]


async def test_a_data_role_granted_by_one_admin_is_inert_until_a_second_approves(
    world, second_admin
):
    account, email = await _invite_investigator(world, "inert")
    await world.activate(email, PASSWORD)
    shown = (await world.client.get(f"/accounts/{account}", headers=world.as_("admin"))).json()
    assert (shown["roles"], shown["pending_roles"]) == ([], ["central_investigation"])
    assert await _roles_signed_in(world, email) == [], "inert: the token carries no role"
    approved = await world.client.post(
        f"/accounts/{account}/roles/central_investigation/approve",
        headers=world.as_(second_admin),
    )
    assert approved.status_code == 200, approved.text
    assert (approved.json()["roles"], approved.json()["pending_roles"]) == (
        ["central_investigation"],
        [],
    )
    assert await _roles_signed_in(world, email) == ["central_investigation"]


async def test_the_granter_cannot_approve_their_own_grant(world, second_admin):
    account = world.accounts["contracts"]
    granted = await world.client.post(
        f"/accounts/{account}/roles", json={"role": "prosecutions"}, headers=world.as_("admin")
    )
    assert granted.status_code == 200, granted.text
    assert "prosecutions" not in granted.json()["roles"]
    assert granted.json()["pending_roles"] == ["prosecutions"]
    own = await world.client.post(
        f"/accounts/{account}/roles/prosecutions/approve", headers=world.as_("admin")
    )
    assert own.status_code == 403, own.text
    assert "four eyes" in own.json()["detail"]
    still = (await world.client.get(f"/accounts/{account}", headers=world.as_("admin"))).json()
    assert "prosecutions" not in still["roles"]
    other = await world.client.post(
        f"/accounts/{account}/roles/prosecutions/approve", headers=world.as_(second_admin)
    )
    assert other.status_code == 200 and "prosecutions" in other.json()["roles"]


async def test_a_rejected_grant_never_takes_effect(world, second_admin):
    account, _ = await _invite_investigator(world, "rejected")
    rejected = await world.client.post(
        f"/accounts/{account}/roles/central_investigation/reject",
        headers=world.as_(second_admin),
    )
    assert rejected.status_code == 200
    assert (rejected.json()["roles"], rejected.json()["pending_roles"]) == ([], [])
    late = await world.client.post(
        f"/accounts/{account}/roles/central_investigation/approve", headers=world.as_("admin")
    )
    assert late.status_code == 404


async def test_only_a_platform_admin_approves(world, second_admin):
    account, _ = await _invite_investigator(world, "not-theirs")
    for who, status in (("investigator", 404), ("leader_a", 404)):
        response = await world.client.post(
            f"/accounts/{account}/roles/central_investigation/approve", headers=world.as_(who)
        )
        assert response.status_code == status, (who, response.text)


async def test_roles_without_four_eyes_are_granted_at_once(world):
    response = await world.client.post(
        f"/accounts/{world.accounts['teacher_a']}/roles",
        json={"role": "school_office_support"},
        headers=world.as_("leader_a"),
    )
    assert response.status_code == 200
    assert "school_office_support" in response.json()["roles"]
    assert response.json()["pending_roles"] == []


async def test_both_steps_of_a_four_eyes_grant_are_audited(world, second_admin):
    account, _ = await _invite_investigator(world, "audited")
    approved = await world.client.post(
        f"/accounts/{account}/roles/central_investigation/approve",
        headers=world.as_(second_admin),
    )
    assert approved.status_code == 200

    def step(envelope: dict, rule: str, who: str) -> bool:
        payload = envelope["payload"]
        return (
            envelope["event_type"] == "ApiRequestAudited"
            and payload["principal_id"] == str(world.accounts[who])
            and any(
                r["kind"] == "identity_role_grant" and rule in (r["rules"] or [])
                for r in payload["records"]
            )
        )

    requested = await _events(
        _bootstrap(world), topics.AUDIT_ACCESS, lambda e: step(e, "four_eyes:requested", "admin")
    )
    approval = await _events(
        _bootstrap(world),
        topics.AUDIT_ACCESS,
        lambda e: step(e, "identity_role_grant.a_second_platform_admin_approves", second_admin),
    )
    assert requested and approval
