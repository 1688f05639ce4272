"""Onboarding by invitation end to end through the gateway (issue 15): the platform admin
invites the first leader of a new school, the mail arrives at the local SMTP server, the
invitee activates and signs in; an expired or reused token is refused; no route takes a
password for someone else."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import update

from acms_identity.local_mail import token_for
from acms_identity.tables import activation_tokens
from acms_platform.database import Database

PASSWORD = "the-leaders-own-password"


def _expire_tokens_of(system, account_id: str) -> None:
    async def expire() -> None:
        database = Database(system.processes["identity"].settings)
        try:
            async with database.transaction() as session:
                await session.execute(
                    update(activation_tokens)
                    .where(activation_tokens.c.account_id == uuid.UUID(account_id))
                    .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
                )
        finally:
            await database.dispose()

    asyncio.run(expire())


def test_first_school_leader_is_invited_activates_and_signs_in_through_the_gateway(system):
    api = f"{system.gateway_url}/api/identity"
    admin = system.admin_headers()
    school = httpx.post(
        f"{api}/organisations",
        json={"org_type": "school", "name": f"Kōwhai School {uuid.uuid4().hex[:6]}"},
        headers=admin,
    )
    assert school.status_code == 201, school.text
    email = f"principal.{uuid.uuid4().hex[:8]}@test.example.org"
    invitation = {
        "organisation_id": school.json()["id"],
        "display_name": "Aroha Principal",
        "email": email,
        "roles": ["school_leader"],
    }
    # Nobody sets another person's password.
    with_password = httpx.post(
        f"{api}/accounts", json=invitation | {"password": "chosen-by-admin"}, headers=admin
    )
    assert with_password.status_code == 422
    created = httpx.post(f"{api}/accounts", json=invitation, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["pending_activation"] is True
    token = token_for(email)  # the mail arrived at the local SMTP server's Maildir
    early = httpx.post(f"{api}/sign-in", json={"email": email, "password": PASSWORD})
    assert early.status_code == 401
    activated = httpx.post(f"{api}/activate", json={"token": token, "password": PASSWORD})
    assert activated.status_code == 204, activated.text
    reused = httpx.post(f"{api}/activate", json={"token": token, "password": "another-one-123"})
    assert reused.status_code == 400
    signed_in = httpx.post(f"{api}/sign-in", json={"email": email, "password": PASSWORD})
    assert signed_in.status_code == 200, signed_in.text
    leader = {"authorization": f"Bearer {signed_in.json()['access_token']}"}
    # The leader now invites their staff; the expired invitation is refused, a new one works.
    staff_email = f"teacher.{uuid.uuid4().hex[:8]}@test.example.org"
    staff = httpx.post(
        f"{api}/accounts",
        json=invitation | {"email": staff_email, "roles": ["school_staff"]},
        headers=leader,
    )
    assert staff.status_code == 201, staff.text
    stale = token_for(staff_email)
    _expire_tokens_of(system, staff.json()["id"])
    expired = httpx.post(f"{api}/activate", json={"token": stale, "password": PASSWORD})
    assert expired.status_code == 400
    resent = httpx.post(f"{api}/accounts/{staff.json()['id']}/invitation", headers=leader)
    assert resent.status_code == 200, resent.text
    fresh = token_for(staff_email)
    assert fresh != stale
    assert (
        httpx.post(f"{api}/activate", json={"token": fresh, "password": PASSWORD}).status_code
        == 204
    )
