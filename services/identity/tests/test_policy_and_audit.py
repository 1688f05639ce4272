"""The PDP fails closed; decisions are audited; every change publishes its event."""

import asyncio
import json
import uuid

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from acms_contracts import topics
from acms_identity.service.staff_directory import account_resource
from acms_platform.policy import PolicyClient, PolicyPrincipal, PolicyResource, PolicyUnavailable
from acms_platform.testing.pdp import free_port as _free_port
from acms_platform.testing.plugin import TOPIC_NAMESPACE, kafka_admin
from acms_platform.testing.policy_schemas import granting_rules

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _events(
    bootstrap: str, topic: str, wanted, *, enough: int = 1, timeout: float = 30
) -> list[dict]:
    """Envelopes on `topic` (this session's namespace) for which `wanted(envelope)` holds,
    read from the start."""
    consumer = AIOKafkaConsumer(
        TOPIC_NAMESPACE + topic,
        **kafka_admin(bootstrap),
        group_id=f"{TOPIC_NAMESPACE}identity-test-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    found: list[dict] = []
    try:
        async with asyncio.timeout(timeout):
            while len(found) < enough:
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    for record in records:
                        envelope = json.loads(record.value)
                        if wanted(envelope):
                            found.append(envelope)
    except TimeoutError:
        pass
    finally:
        await consumer.stop()
    return found


def _bootstrap(world) -> str:
    return world.client.app.state.runtime.settings.kafka_bootstrap


async def test_unreachable_pdp_fails_closed_with_503(start_service, world):
    from acms_identity.app import create

    port = _free_port()
    cut_off = await start_service("identity", create, cerbos_url=f"http://127.0.0.1:{port}")
    target = world.accounts["teacher_a"]
    response = await cut_off.post(f"/accounts/{target}/disable", headers=world.as_("leader_a"))
    assert response.status_code == 503
    assert "authorisation service unavailable" in response.json()["detail"]
    listing = await cut_off.get("/accounts", headers=world.as_("admin"))
    assert listing.status_code == 503
    still_enabled = await world.client.get(f"/accounts/{target}", headers=world.as_("leader_a"))
    assert still_enabled.json()["disabled"] is False


async def test_batch_check_decides_many_resources_in_one_call(identity_pdp):
    own, other = uuid.uuid4(), uuid.uuid4()
    policy = PolicyClient(identity_pdp)
    principal = PolicyPrincipal(
        "p", ["asp_workflow_lead"], {"org_id": str(own), "org_type": "asp", "is_service": False}
    )
    resources = [account_resource(f"r{i}", own if i % 2 else other, "asp") for i in range(100)]
    decisions = await policy.check(principal, resources, ["view", "disable"])
    await policy.close()
    assert len(decisions) == 100
    assert all(d.allows("disable") == (int(d.resource_id[1:]) % 2 == 1) for d in decisions.values())


def _about(actor: str, target: str):
    """Audit events of `actor`'s requests that name the account `target`."""
    return lambda e: (
        e["event_type"] == "ApiRequestAudited"
        and e["payload"]["principal_id"] == actor
        and any(r["id"] == target for r in e["payload"]["records"] + e["payload"]["denials"])
    )


async def test_a_denial_is_audited_even_though_the_request_fails(world):
    target = world.accounts["asp_lead_a"]  # a colleague the case manager sees, not manages
    response = await world.client.post(
        f"/accounts/{target}/disable", headers=world.as_("case_manager_a")
    )
    assert response.status_code == 403
    actor = str(world.accounts["case_manager_a"])
    found = await _events(_bootstrap(world), topics.AUDIT_ACCESS, _about(actor, str(target)))
    assert found, "no audit event for the denial"
    payload = found[0]["payload"]
    assert payload["records"] == [] and payload["status_code"] == 403
    assert payload["roles"] == ["asp_case_manager"]
    (denial,) = payload["denials"]
    assert (denial["action"], denial["reason"]) == ("disable", "not_allowed")


async def test_a_write_to_a_hidden_account_is_404_and_audited(world):
    target = world.accounts["case_manager_b"]
    response = await world.client.post(
        f"/accounts/{target}/roles",
        json={"role": "asp_workflow_lead"},
        headers=world.as_("asp_lead_a"),
    )
    assert response.status_code == 404
    actor = str(world.accounts["asp_lead_a"])
    found = await _events(_bootstrap(world), topics.AUDIT_ACCESS, _about(actor, str(target)))
    assert found, "no audit event for the denial"
    (denial,) = found[0]["payload"]["denials"]
    assert (denial["action"], denial["reason"]) == ("grant_role", "not_visible")


async def test_reading_an_account_is_audited_with_its_tier(world):
    target = world.accounts["teacher_a"]
    response = await world.client.get(f"/accounts/{target}", headers=world.as_("office_a"))
    assert response.status_code == 200
    actor = str(world.accounts["office_a"])
    found = await _events(_bootstrap(world), topics.AUDIT_ACCESS, _about(actor, str(target)))
    assert found, "no audit event for the read"
    (record,) = found[0]["payload"]["records"]
    assert record["tiers"] == ["staff_directory", "staff_contact"]
    assert record["rules"] and set(record["rules"]) <= granting_rules(), record
    assert all(r.startswith("identity_account.") for r in record["rules"])


async def test_account_changes_publish_their_events_in_order(world):
    created = await world.client.post(
        "/accounts",
        json={
            "organisation_id": str(world.orgs["asp_a"]),
            "display_name": "Hēmi Parata",
            "email": f"hemi.{uuid.uuid4().hex[:6]}@test.example.org",
            "roles": ["asp_case_manager"],
        },
        headers=world.as_("asp_lead_a"),
    )
    account = created.json()["id"]
    headers = world.as_("asp_lead_a")
    await world.client.post(f"/accounts/{account}/disable", headers=headers)
    await world.client.post(f"/accounts/{account}/enable", headers=headers)
    await world.client.delete(f"/accounts/{account}/roles/asp_case_manager", headers=headers)
    expected = ["AccountCreated", "RoleGranted", "AccountDisabled", "AccountEnabled", "RoleRevoked"]

    found = await _events(
        _bootstrap(world),
        topics.IDENTITY_ACCOUNTS,
        lambda envelope: envelope["key"] == account,
        enough=len(expected),
    )
    assert [e["event_type"] for e in found] == expected


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(500, text="internal error"),
        httpx.Response(200, text="<html>proxy login</html>"),
        httpx.Response(200, json={"unexpected": True}),
        httpx.Response(200, json={"results": [{"no_resource": 1}]}),
    ],
)
async def test_a_pdp_answering_nonsense_fails_closed(answer):
    policy = PolicyClient("http://pdp", transport=httpx.MockTransport(lambda request: answer))
    principal = PolicyPrincipal("p", ["platform_admin"])
    with pytest.raises(PolicyUnavailable) as refused:
        await policy.is_allowed(principal, PolicyResource("identity_account", "x"), "view")
    assert refused.value.status_code == 503
    await policy.close()
