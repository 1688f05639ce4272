"""End to end through the gateway on real Kafka: identity registers an organisation and
every other service learns it through its own projection."""

from __future__ import annotations

import time
import uuid

import pytest

from acms_platform.testing.flows import wait_until

SERVICES = ("identity", "referrals", "cases", "integrations", "reporting", "retention")
PROJECTING = SERVICES[1:]


def test_every_service_is_ready_through_the_gateway(system, gateway):
    for service in SERVICES:
        response = gateway.get(f"/api/{service}/readyz")
        assert response.status_code == 200, (service, response.text)
        assert response.headers.get("x-request-id")


def test_registered_organisation_reaches_every_service_projection(system, gateway):
    name = f"Kōwhai Intermediate {uuid.uuid4().hex[:6]}"
    created = gateway.post(
        "/api/identity/organisations",
        json={"org_type": "school", "name": name, "region": "Waikato"},
        headers=system.admin_headers(),
    )
    assert created.status_code == 201, created.text
    organisation_id = created.json()["id"]

    deadline = time.monotonic() + 60
    pending = set(PROJECTING)
    while pending and time.monotonic() < deadline:
        for service in sorted(pending):
            response = gateway.get(
                f"/api/{service}/organisations/{organisation_id}", headers=system.admin_headers()
            )
            if response.status_code == 200:
                assert response.json()["name"] == name
                assert response.json()["region"] == "Waikato"
                pending.discard(service)
        time.sleep(0.2)
    assert not pending, f"never reached: {sorted(pending)}"
    for service in PROJECTING:
        anonymous = gateway.get(f"/api/{service}/organisations/{organisation_id}")
        assert anonymous.status_code == 401, (service, anonymous.text)


def test_gateway_refuses_oversized_bodies(system, gateway):
    response = gateway.post(
        "/api/identity/organisations",
        content=b"x" * (2 * 1024 * 1024),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"org_type": "castle", "name": "X"}, "org_type"),
        ({"org_type": "school", "name": ""}, "name"),
        ({"org_type": "isp", "name": "ISP without school"}, "parent_school_id"),
    ],
)
def test_bad_organisation_input_is_422_naming_the_field(system, gateway, body, field):
    response = gateway.post(
        "/api/identity/organisations", json=body, headers=system.admin_headers()
    )
    assert response.status_code == 422, response.text
    assert field in response.json()["detail"]


def test_a_role_revoked_in_identity_stops_working_in_referrals(system, gateway):
    admin = system.admin_headers()
    school = gateway.post(
        "/api/identity/organisations",
        json={"org_type": "school", "name": f"Tōtara School {uuid.uuid4().hex[:6]}"},
        headers=admin,
    )
    assert school.status_code == 201, school.text
    school_id = school.json()["id"]
    tag = uuid.uuid4().hex[:8]
    accounts = system.create_accounts(
        school_id,
        {
            f"leader-{tag}@test.example.org": "school_leader",
            f"staff-{tag}@test.example.org": "school_staff",
        },
    )
    leader = system.sign_in(f"leader-{tag}@test.example.org")
    staff = system.sign_in(f"staff-{tag}@test.example.org")
    draft = {"student": {"given_name": "Hēmi", "family_name": "Walker"}, "school_id": school_id}

    def create_draft() -> int:
        return gateway.post("/api/referrals/referrals", json=draft, headers=staff).status_code

    # The school reaches referrals' projection through Kafka first.
    assert wait_until(lambda: create_draft() == 201), "staff could never create a draft"

    staff_id = accounts[f"staff-{tag}@test.example.org"]
    revoked = gateway.delete(
        f"/api/identity/accounts/{staff_id}/roles/school_staff", headers=leader
    )
    assert revoked.status_code == 200, revoked.text

    # Same access token, still unexpired: refused (401, sign in again) once RoleRevoked
    # reaches referrals.
    assert wait_until(lambda: create_draft() == 401), (
        f"revoked role still works in referrals: {create_draft()}"
    )
