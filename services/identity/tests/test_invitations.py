"""Accounts by invitation (issue 15, findings 1 and 2): every account is invited, the
invitee chooses their own password with a one-time, expiring token mailed to them, and no
route takes a password for someone else."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from acms_identity.local_mail import token_for
from acms_identity.tables import activation_tokens

pytestmark = pytest.mark.asyncio(loop_scope="session")

PASSWORD = "a-password-of-their-own"


async def _token(email: str, purpose: str = "invitation") -> str:
    return await asyncio.to_thread(token_for, email, None, purpose)


async def _new_organisation(world, org_type: str, parent: str | None = None) -> str:
    body = {"org_type": org_type, "name": f"New {org_type} {uuid.uuid4().hex[:6]}"}
    if parent:
        body["parent_school_id"] = parent
    response = await world.client.post("/organisations", json=body, headers=world.as_("admin"))
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _invitation(organisation_id: str, role: str, tag: str) -> dict:
    return {
        "organisation_id": organisation_id,
        "display_name": f"Hine {tag}",
        "email": f"first.{tag}.{uuid.uuid4().hex[:8]}@test.example.org",
        "roles": [role],
    }


@pytest.mark.parametrize(
    ("org_type", "lead_role"),
    [("school", "school_leader"), ("asp", "asp_workflow_lead"), ("isp", "isp_workflow_lead")],
)
async def test_platform_admin_invites_the_first_lead_of_a_new_organisation(
    world, org_type, lead_role
):
    parent = await _new_organisation(world, "school") if org_type == "isp" else None
    organisation = await _new_organisation(world, org_type, parent)
    invitation = _invitation(organisation, lead_role, org_type)
    created = await world.client.post("/accounts", json=invitation, headers=world.as_("admin"))
    assert created.status_code == 201, created.text
    assert created.json()["pending_activation"] is True
    assert created.json()["roles"] == [lead_role]
    token = await _token(invitation["email"])
    activated = await world.client.post("/activate", json={"token": token, "password": PASSWORD})
    assert activated.status_code == 204, activated.text
    signed_in = await world.client.post(
        "/sign-in", json={"email": invitation["email"], "password": PASSWORD}
    )
    assert signed_in.status_code == 200, signed_in.text
    # Only the first: the organisation's own lead invites everyone after.
    second = _invitation(organisation, lead_role, f"{org_type}-second")
    again = await world.client.post("/accounts", json=second, headers=world.as_("admin"))
    assert again.status_code == 403, again.text
    staff = await world.client.post(
        "/accounts",
        json=_invitation(organisation, lead_role, "x") | {"roles": []},
        headers=world.as_("admin"),
    )
    assert staff.status_code == 403


async def test_no_route_accepts_a_password_for_someone_else(world):
    body = _invitation(str(world.orgs["ministry"]), "central_investigation", "pw")
    response = await world.client.post(
        "/accounts", json=body | {"password": "chosen-by-the-admin"}, headers=world.as_("admin")
    )
    assert response.status_code == 422, response.text
    assert "password" in response.text
    schema = (await world.client.get("/openapi.json")).json()
    components = schema["components"]["schemas"]
    taking_a_password = set()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
            properties = components.get(ref.rsplit("/", 1)[-1], {}).get("properties", {})
            if any("password" in name for name in properties):
                taking_a_password.add(f"{method.upper()} {path}")
    # One's own password only: with one's own credentials, or a token mailed to oneself.
    assert taking_a_password == {"POST /sign-in", "POST /activate"}


async def test_an_invited_account_cannot_sign_in_before_it_is_activated(world):
    body = _invitation(str(world.orgs["school_a"]), "school_staff", "early")
    assert (
        await world.client.post("/accounts", json=body, headers=world.as_("leader_a"))
    ).status_code == 201
    attempt = await world.client.post("/sign-in", json={"email": body["email"], "password": "x"})
    assert attempt.status_code == 401


async def test_an_activation_token_works_once(world):
    body = _invitation(str(world.orgs["school_a"]), "school_staff", "once")
    await world.client.post("/accounts", json=body, headers=world.as_("leader_a"))
    token = await _token(body["email"])
    first = await world.client.post("/activate", json={"token": token, "password": PASSWORD})
    reused = await world.client.post(
        "/activate", json={"token": token, "password": "another-password-here"}
    )
    assert (first.status_code, reused.status_code) == (204, 400)
    assert reused.json()["detail"].startswith("token:")
    signed_in = await world.client.post(
        "/sign-in", json={"email": body["email"], "password": PASSWORD}
    )
    assert signed_in.status_code == 200, "the reuse changed nothing"


async def test_an_expired_activation_token_is_refused_and_a_new_invitation_works(world):
    body = _invitation(str(world.orgs["school_a"]), "school_staff", "late")
    created = await world.client.post("/accounts", json=body, headers=world.as_("leader_a"))
    token = await _token(body["email"])
    runtime = world.client.app.state.runtime
    async with runtime.database.transaction() as session:
        await session.execute(
            update(activation_tokens)
            .where(activation_tokens.c.account_id == uuid.UUID(created.json()["id"]))
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    expired = await world.client.post("/activate", json={"token": token, "password": PASSWORD})
    assert expired.status_code == 400
    resent = await world.client.post(
        f"/accounts/{created.json()['id']}/invitation", headers=world.as_("office_a")
    )
    assert resent.status_code == 200, resent.text
    fresh = await _token(body["email"])
    assert fresh != token
    assert (
        await world.client.post("/activate", json={"token": fresh, "password": PASSWORD})
    ).status_code == 204


async def test_password_reset_mails_the_owner_and_answers_alike_for_unknown_addresses(world):
    await world.add_account("reset_me", "school_a", [], password=PASSWORD)
    email = world.email_of("reset_me", "school_a")
    old = (await world.client.post("/sign-in", json={"email": email, "password": PASSWORD})).json()
    known = await world.client.post("/password-reset", json={"email": email})
    unknown = await world.client.post("/password-reset", json={"email": "ghost@test.example.org"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    await world.activate(email, "my-brand-new-password", purpose="password_reset")
    assert (
        await world.client.post("/sign-in", json={"email": email, "password": PASSWORD})
    ).status_code == 401
    assert (
        await world.client.post(
            "/sign-in", json={"email": email, "password": "my-brand-new-password"}
        )
    ).status_code == 200
    refreshed = await world.client.post(
        "/token/refresh", json={"refresh_token": old["refresh_token"]}
    )
    assert refreshed.status_code == 401, "a new password ends the old sessions"
