"""End to end through the gateway on real Kafka (ARCHITECTURE flow 2): ENROL says a
student moved → integrations publishes → referrals re-scopes the student's requests, so
the former school's leader loses the request and the new school's leader sees it."""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, datetime

import httpx
import pytest


@pytest.fixture(scope="module")
def gateway(system):
    with httpx.Client(base_url=system.gateway_url, timeout=30) as client:
        yield client


# A fresh consumer group reads each topic from its start: on a long-lived Kafka the first
# projection of a new organisation may wait behind the whole history of earlier runs.
CATCH_UP_SECONDS = 240


def wait_until(condition, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.3)
    return False


def _school(gateway, admin, name: str) -> str:
    created = gateway.post(
        "/api/identity/organisations",
        json={"org_type": "school", "name": f"{name} {uuid.uuid4().hex[:6]}", "region": "Otago"},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    return created.json()["id"]


def _enrol_feed_headers(gateway, admin) -> dict[str, str]:
    """The ENROL system's machine identity: a client of the Ministry with role enrol_feed,
    created by the platform admin, signing in with client credentials."""
    ministry = gateway.get("/api/identity/me", headers=admin).json()["organisation_id"]
    client = gateway.post(
        "/api/identity/clients",
        json={"organisation_id": ministry, "display_name": "ENROL feed", "roles": ["enrol_feed"]},
        headers=admin,
    )
    assert client.status_code == 201, client.text
    credentials = {k: client.json()[k] for k in ("client_id", "client_secret")}
    token = gateway.post("/api/identity/token/client", json=credentials)
    assert token.status_code == 200, token.text
    return {"authorization": f"Bearer {token.json()['access_token']}"}


def test_enrol_move_takes_the_request_from_the_old_school_to_the_new(system, gateway):
    admin = system.admin_headers()
    old_school = _school(gateway, admin, "Rimu School")
    new_school = _school(gateway, admin, "Miro School")
    tag = uuid.uuid4().hex[:8]
    system.create_accounts(
        old_school,
        {f"old-leader-{tag}@test.example.org": "school_leader",
         f"old-staff-{tag}@test.example.org": "school_staff"},
    )  # fmt: skip
    system.create_accounts(new_school, {f"new-leader-{tag}@test.example.org": "school_leader"})
    old_leader = system.sign_in(f"old-leader-{tag}@test.example.org")
    old_staff = system.sign_in(f"old-staff-{tag}@test.example.org")
    new_leader = system.sign_in(f"new-leader-{tag}@test.example.org")
    enrol_feed = _enrol_feed_headers(gateway, admin)

    nsn = str(random.randint(100_000_000, 999_999_999))
    family = f"Tane{tag}"
    draft = {"student": {"nsn": nsn, "given_name": "Mere", "family_name": family},
             "school_id": old_school}  # fmt: skip
    created: dict = {}

    def create_draft() -> bool:
        response = gateway.post("/api/referrals/referrals", json=draft, headers=old_staff)
        created.update(response.json())
        return response.status_code == 201

    # The old school reaches referrals' projection through Kafka first.
    assert wait_until(create_draft, CATCH_UP_SECONDS), f"staff never created a draft: {created}"
    request = f"/api/referrals/referrals/{created['id']}"

    def status(headers) -> int:
        return gateway.get(request, headers=headers).status_code

    def listed(headers) -> bool:
        response = gateway.get("/api/referrals/referrals", params={"q": family}, headers=headers)
        assert response.status_code == 200, response.text
        return created["id"] in {r["id"] for r in response.json()}

    assert status(old_leader) == 200 and listed(old_leader)
    assert status(new_leader) == 404 and not listed(new_leader)

    def person_reports() -> int:
        # 401 until the account reaches integrations' staff projection through Kafka.
        response = gateway.post("/api/integrations/enrol/changes", json={}, headers=old_leader)
        return response.status_code

    assert wait_until(lambda: person_reports() == 403), f"a person got {person_reports()}"

    move = {
        "nsn": nsn,
        "school_id": new_school,
        "effective_on": datetime.now(UTC).date().isoformat(),
        "as_of": datetime.now(UTC).isoformat(),
    }
    reported: dict = {}

    def report_move() -> bool:
        response = gateway.post(
            "/api/integrations/enrol/changes", json={"changes": [move]}, headers=enrol_feed
        )
        reported.update(status=response.status_code, body=response.json())
        # 422 until the new school reaches integrations' projection through Kafka (401
        # until the feed's client account does).
        return response.status_code == 200

    assert wait_until(report_move, CATCH_UP_SECONDS), f"ENROL feed refused: {reported}"
    assert reported["body"]["applied"] == 1

    assert wait_until(lambda: status(new_leader) == 200), "new school's leader never saw it"
    assert listed(new_leader)
    assert status(old_leader) == 404
    assert not listed(old_leader)
    seen = gateway.get(request, headers=new_leader).json()
    assert seen["school_id"] == new_school
    assert seen["history"][-1]["action"] == "enrolment_changed"
    assert status(old_staff) == 200, "the creator still sees what they made"
