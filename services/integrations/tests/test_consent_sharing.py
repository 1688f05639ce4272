"""Consent and sharing: a share needs a valid consent covering the party, the purpose and
every field (else 422 saying so); expiry and withdrawal stop sharing and the party's reads
at once, and what was shared stays in the disclosure log. Only the case's team records
consents and shares (the nearest others get 404)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from acms_contracts.cases import CaseClosed, CaseTransferred
from acms_platform.testing.accounts import deliver

from .agencies import disclosures
from .conftest import open_case

pytestmark = pytest.mark.asyncio(loop_scope="session")

SCOPE = ["full_name", "home_address", "transport_needs"]
SHARED = {"full_name": "Aroha Test-Student", "transport_needs": "pick-up 8:15 (fake)"}


def consent_body(
    world, *, party="transport", purpose="third_party", expires_in=30 * 86400, **extra
):
    now = datetime.now(UTC)
    return {
        "party_org_id": str(world.orgs[party]),
        "purpose": purpose,
        "scope": SCOPE,
        "given_by_name": "Test Parent (fake)",
        "given_by_relationship": "parent",
        "given_at": (now - timedelta(minutes=1)).isoformat(),
        "expires_at": (now + timedelta(seconds=expires_in)).isoformat(),
        **extra,
    }


async def record(world, case_id, who="cm_a", **kwargs):
    return await world.client.post(
        f"/cases/{case_id}/consents", json=consent_body(world, **kwargs), headers=world.as_(who)
    )


async def share(world, case_id, who="cm_a", party="transport", purpose="third_party", fields=None):
    return await world.client.post(
        f"/cases/{case_id}/shares",
        json={
            "party_org_id": str(world.orgs[party]),
            "purpose": purpose,
            "fields": fields or SHARED,
        },
        headers=world.as_(who),
    )


async def test_sharing_without_a_consent_is_refused_saying_so(world):
    case_id, key = await open_case(world)
    response = await share(world, case_id)
    assert response.status_code == 422
    assert "no valid consent" in response.json()["detail"]
    assert await disclosures(world, student_key=key) == []


async def test_a_consent_covers_its_party_purpose_and_fields_only(world):
    case_id, key = await open_case(world)
    recorded = await record(world, case_id)
    assert recorded.status_code == 201, recorded.text
    consent = recorded.json()
    assert consent["valid"] is True and consent["given_by_relationship"] == "parent"

    made = await share(world, case_id)
    assert made.status_code == 201, made.text
    assert made.json()["consent_id"] == consent["id"]

    outside = await share(world, case_id, fields=SHARED | {"parent_phone": "021 000 0000"})
    assert outside.status_code == 422
    assert "parent_phone" in outside.json()["detail"]
    other_party = await share(world, case_id, party="msd")
    assert other_party.status_code == 422
    other_purpose = await share(world, case_id, purpose="additional_support")
    assert other_purpose.status_code == 422

    logged = await disclosures(world, student_key=key)
    assert len(logged) == 1
    assert logged[0]["kind"] == "third_party"
    assert logged[0]["consent_id"] == consent["id"]
    assert logged[0]["fields"] == sorted(SHARED)
    assert logged[0]["recipient_org_id"] == str(world.orgs["transport"])
    assert logged[0]["disclosed_by"] == str(world.accounts["cm_a"])


async def test_the_party_reads_what_was_shared_with_it_and_no_one_else_does(world):
    case_id, _ = await open_case(world)
    await record(world, case_id)
    share_id = (await share(world, case_id)).json()["id"]
    own = await world.client.get(
        f"/partner/shares/{share_id}", headers=world.as_("transport_client")
    )
    assert own.status_code == 200
    assert own.json()["fields"] == SHARED
    listed = await world.client.get("/partner/shares", headers=world.as_("transport_client"))
    assert share_id in [s["id"] for s in listed.json()]
    for other in (
        "msd_client",
        "police_client",
        "agency_client",
        "investigator",
        "privacy",
        "cm_b",
    ):
        got = await world.client.get(f"/partner/shares/{share_id}", headers=world.as_(other))
        assert got.status_code == 404, other
        theirs = await world.client.get("/partner/shares", headers=world.as_(other))
        assert share_id not in [s["id"] for s in theirs.json()], other


async def test_withdrawal_stops_sharing_and_reads_at_once_and_the_log_keeps_what_was_shared(
    world,
):
    case_id, key = await open_case(world)
    consent_id = (await record(world, case_id)).json()["id"]
    share_id = (await share(world, case_id)).json()["id"]
    withdrawn = await world.client.post(
        f"/consents/{consent_id}/withdraw",
        json={"note": "parent phoned"},
        headers=world.as_("cm_a"),
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["valid"] is False and withdrawn.json()["withdrawn_at"]

    refused = await share(world, case_id)
    assert refused.status_code == 422 and "no valid consent" in refused.json()["detail"]
    read = await world.client.get(
        f"/partner/shares/{share_id}", headers=world.as_("transport_client")
    )
    assert read.status_code == 404
    listed = await world.client.get("/partner/shares", headers=world.as_("transport_client"))
    assert share_id not in [s["id"] for s in listed.json()]
    assert [d["record_id"] for d in await disclosures(world, student_key=key)] == [share_id]
    again = await world.client.post(
        f"/consents/{consent_id}/withdraw", json={}, headers=world.as_("cm_a")
    )
    assert again.status_code == 409
    # The team still sees the share it made, and the consent as withdrawn.
    team = await world.client.get(f"/cases/{case_id}/shares", headers=world.as_("cm_a"))
    assert [s["id"] for s in team.json()] == [share_id]
    consents = await world.client.get(f"/cases/{case_id}/consents", headers=world.as_("lead_a"))
    assert consents.json()[0]["withdrawal_note"] == "parent phoned"


async def test_an_expired_consent_stops_sharing_and_reads(world):
    case_id, _ = await open_case(world)
    assert (await record(world, case_id, expires_in=2)).status_code == 201
    share_id = (await share(world, case_id)).json()["id"]
    await asyncio.sleep(2.5)
    assert (await share(world, case_id)).status_code == 422
    read = await world.client.get(
        f"/partner/shares/{share_id}", headers=world.as_("transport_client")
    )
    assert read.status_code == 404
    consents = await world.client.get(f"/cases/{case_id}/consents", headers=world.as_("cm_a"))
    assert consents.json()[0]["valid"] is False


async def test_a_consent_must_be_given_already_and_not_yet_expired(world):
    case_id, _ = await open_case(world)
    past = await record(world, case_id, expires_in=-60)
    assert past.status_code == 422
    assert "expires_at" in [e["field"] for e in past.json()["errors"]]
    future = datetime.now(UTC) + timedelta(days=1)
    given_later = await record(world, case_id, given_at=future.isoformat())
    assert given_later.status_code == 422
    not_shareable = await record(world, case_id, scope=["attendance_notes"])
    assert not_shareable.status_code == 422
    school = await record(world, case_id, party="school_a")
    assert school.status_code == 422


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("cm_a", 201),  # the assigned case manager
        ("lead_a", 201),  # the provider's workflow lead
        ("cm_a2", 404),  # another case manager of the same provider
        ("cm_b", 404),  # another provider's
        ("lead_b", 404),
        ("investigator", 404),
        ("privacy", 404),
        ("leader_a", 404),
        ("transport_client", 404),
    ],
)
async def test_only_the_case_team_records_consents_and_shares(world, who, status):
    case_id, _ = await open_case(world)
    assert (await record(world, case_id, who=who)).status_code == status
    shared = await share(world, case_id, who=who)
    assert shared.status_code == (201 if status == 201 else 404)
    listed = await world.client.get(f"/cases/{case_id}/consents", headers=world.as_(who))
    assert listed.status_code == (200 if status == 201 else 404)
    shares = await world.client.get(f"/cases/{case_id}/shares", headers=world.as_(who))
    assert shares.status_code == (200 if status == 201 else 404)


async def test_a_closed_case_takes_no_new_consent_or_share_but_takes_a_withdrawal(world):
    case_id, key = await open_case(world)
    consent_id = (await record(world, case_id)).json()["id"]
    await deliver(
        world.client.app,
        CaseClosed(
            case_id=case_id, reference="AS-2026-000001", subject_student_key=key,
            actor_id="system", at=datetime.now(UTC), outcome_category="returned",
        ),
    )  # fmt: skip
    assert (await record(world, case_id)).status_code == 403
    assert (await share(world, case_id)).status_code == 403
    withdrawn = await world.client.post(
        f"/consents/{consent_id}/withdraw", json={}, headers=world.as_("cm_a")
    )
    assert withdrawn.status_code == 200


async def test_a_transfer_takes_the_case_from_the_former_team(world):
    case_id, key = await open_case(world)
    await record(world, case_id)
    await deliver(
        world.client.app,
        CaseTransferred(
            case_id=case_id, reference="AS-2026-000002", subject_student_key=key,
            actor_id="system", at=datetime.now(UTC), from_school_id=world.orgs["school_a"],
            school_id=world.orgs["school_b"], from_provider_id=world.orgs["asp_a"],
            provider_id=world.orgs["asp_b"],
        ),
    )  # fmt: skip
    for former in ("cm_a", "lead_a"):
        assert (await share(world, case_id, who=former)).status_code == 404
        got = await world.client.get(f"/cases/{case_id}/consents", headers=world.as_(former))
        assert got.status_code == 404
    new_lead = await world.client.get(f"/cases/{case_id}/consents", headers=world.as_("lead_b"))
    assert new_lead.status_code == 200 and len(new_lead.json()) == 1
