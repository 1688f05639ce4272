"""Each transition reaches Kafka once, keyed by the student; every read of a request is
audited with the tiers it returned, and every refusal too."""

import uuid

import pytest

from acms_contracts import topics
from acms_platform.testing.kafka import published
from acms_platform.testing.plugin import student_key_for_test as student_key_for_nsn
from acms_platform.testing.policy_schemas import granting_rules

from .requests import complete_request, make_request

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _bootstrap(world) -> str:
    return world.runtime.settings.kafka_bootstrap


async def _made(world, state):
    body = complete_request(world)
    referral = await make_request(world, state, body=body)
    return referral, student_key_for_nsn(body["student"]["nsn"])


async def test_each_transition_is_published_once_keyed_by_the_student(world):
    referral, student_key = await _made(world, "assigned")
    found = await published(
        _bootstrap(world),
        topics.REFERRALS,
        lambda e: e["payload"]["referral_id"] == referral["id"],
        enough=5,
        namespace=world.runtime.settings.topic_namespace,
    )
    assert [e["event_type"] for _, e in found] == [
        "ReferralDrafted",
        "ReferralSubmitted",
        "ReferralAccepted",
        "ReferralAllocated",
        "ReferralAssigned",
    ]
    assert {key for key, _ in found} == {student_key}
    assert all(e["student_key"] == student_key for _, e in found)
    assert [e["payload"]["version"] for _, e in found] == [1, 2, 3, 4, 5]
    assigned = found[-1][1]["payload"]
    assert assigned["assignee_id"] == str(world.accounts["case_manager_a"])
    assert assigned["provider_id"] == str(world.orgs["asp_a"])


async def test_a_refused_transition_publishes_nothing(world):
    referral, _ = await _made(world, "withdrawn")
    refused = await world.client.post(
        f"/referrals/{referral['id']}/accept",
        json={"version": referral["version"]},
        headers=world.as_("investigator"),
    )
    assert refused.status_code == 409
    found = await published(
        _bootstrap(world),
        topics.REFERRALS,
        lambda e: e["payload"]["referral_id"] == referral["id"],
        enough=3,
        namespace=world.runtime.settings.topic_namespace,
    )
    assert [e["event_type"] for _, e in found] == [
        "ReferralDrafted",
        "ReferralSubmitted",
        "ReferralWithdrawn",
    ]


async def test_decline_and_reallocation_events_carry_reason_and_providers(world):
    declined, _ = await _made(world, "declined")
    moved, _ = await _made(world, "assigned")
    response = await world.client.post(
        f"/referrals/{moved['id']}/reallocate",
        json={"version": moved["version"], "provider_id": str(world.orgs["asp_b"])},
        headers=world.as_("investigator"),
    )
    assert response.status_code == 200
    wanted = {declined["id"]: "ReferralDeclined", moved["id"]: "ReferralReallocated"}
    found = await published(
        _bootstrap(world),
        topics.REFERRALS,
        lambda e: wanted.get(e["payload"]["referral_id"]) == e["event_type"],
        enough=2,
        namespace=world.runtime.settings.topic_namespace,
    )
    by_type = {e["event_type"]: e["payload"] for _, e in found}
    assert by_type["ReferralDeclined"]["reason"] == "Below the threshold for support."
    reallocated = by_type["ReferralReallocated"]
    assert reallocated["from_provider_id"] == str(world.orgs["asp_a"])
    assert reallocated["provider_id"] == str(world.orgs["asp_b"])


def _audited(world, who: str, predicate):
    """The audit events of requests made by `who` that `predicate` accepts."""
    actor = str(world.accounts[who])
    return published(
        _bootstrap(world),
        topics.AUDIT_ACCESS,
        lambda e: (
            e["event_type"] == "ApiRequestAudited"
            and e["payload"]["principal_id"] == actor
            and predicate(e["payload"])
        ),
        namespace=world.runtime.settings.topic_namespace,
    )


def _names(referral_id: str):
    return lambda p: any(r["id"] == referral_id for r in p["records"] + p["denials"])


async def test_reading_a_request_is_audited_with_the_tiers_returned(world):
    referral, student_key = await _made(world, "submitted")
    response = await world.client.get(
        f"/referrals/{referral['id']}", headers=world.as_("investigator")
    )
    assert response.status_code == 200
    found = await _audited(world, "investigator", _names(referral["id"]))
    assert found, "no audit record of the read"
    key, envelope = found[0]
    payload = envelope["payload"]
    assert payload["service"] == "referrals" and payload["denials"] == []
    assert (payload["method"], payload["route"]) == ("GET", "/referrals/{referral_id}")
    assert payload["action"] == "view_referral"
    rules = payload["records"][0].pop("rules")
    granting = payload["records"][0].pop("rule")
    assert granting == ",".join(rules)
    # the rules of the referral policy that granted the tiers returned
    assert (
        {
            "referral.central_investigation_sees_submitted_requests",
            "referral.central_investigation_sees_possible_duplicates",
        }
        <= set(rules)
        <= granting_rules()
    )
    assert payload["records"] == [
        {
            "kind": "referral",
            "id": referral["id"],
            "student_key": student_key,
            # Central Investigation's read includes the student's possible duplicates.
            "tiers": ["basic", "summary", "full", "school", "duplicates"],
        }
    ]
    # Keyed by the caller's organisation: the audit trail indexes it per student.
    assert key == payload["organisation_id"] == str(world.orgs["ministry"])


async def test_a_list_is_one_audit_event_naming_every_request_returned(world):
    body = complete_request(world)
    family = "Listed" + body["student"]["nsn"]
    made = []
    for _ in range(2):
        body = complete_request(world)
        body["student"]["family_name"] = family
        made.append(await make_request(world, "draft", body=body))
    listed = await world.client.get(
        "/referrals", params={"q": family}, headers=world.as_("office_a")
    )
    assert sorted(v["id"] for v in listed.json()) == sorted(r["id"] for r in made)
    found = await _audited(
        world,
        "office_a",
        lambda p: (
            p["action"] == "list_referrals" and any(r["id"] == made[0]["id"] for r in p["records"])
        ),
    )
    assert len(found) == 1, "one event per request, not one per row"
    records = found[0][1]["payload"]["records"]
    assert sorted(r["id"] for r in records) == sorted(r["id"] for r in made)
    # each row's own granting rules, from the page's one batch check, not the plan
    assert all(r["rules"] and set(r["rules"]) <= granting_rules() for r in records), records


async def test_an_attempt_to_read_an_invisible_request_is_audited_as_a_denial(world):
    referral, student_key = await _made(world, "draft")
    response = await world.client.get(f"/referrals/{referral['id']}", headers=world.as_("leader_b"))
    assert response.status_code == 404
    found = await _audited(world, "leader_b", _names(referral["id"]))
    assert found, "no audit record of the denial"
    payload = found[0][1]["payload"]
    assert payload["records"] == [] and payload["status_code"] == 404
    assert payload["denials"] == [
        {
            "kind": "referral",
            "id": referral["id"],
            "action": "view",
            "student_key": student_key,
            "reason": "not_visible",
        }
    ]


async def test_a_probe_of_an_id_that_does_not_exist_is_audited(world):
    probed = str(uuid.uuid4())
    response = await world.client.get(f"/referrals/{probed}", headers=world.as_("leader_b"))
    assert response.status_code == 404
    found = await _audited(world, "leader_b", _names(probed))
    assert found, "no audit record of the probe"
    assert found[0][1]["payload"]["denials"][0]["reason"] == "not_found"


async def test_a_write_to_a_hidden_request_is_404_and_audited(world):
    referral, _ = await _made(world, "draft")
    response = await world.client.post(
        f"/referrals/{referral['id']}/submit",
        json={"version": referral["version"]},
        headers=world.as_("leader_b"),
    )
    assert response.status_code == 404
    found = await _audited(world, "leader_b", _names(referral["id"]))
    assert found and found[0][1]["payload"]["denials"][0]["action"] == "submit"
