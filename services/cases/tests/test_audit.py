"""Every read of a case is audited (ACCESS-MODEL 8): one ApiRequestAudited per request,
listing each case returned with its tiers, and each denial."""

from __future__ import annotations

import pytest

from acms_contracts import topics
from acms_platform.testing.kafka import published

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _audited(world, who: str, case_id: str) -> list[dict]:
    actor = str(world.accounts[who])
    found = await published(
        world.runtime.settings.kafka_bootstrap,
        topics.AUDIT_ACCESS,
        lambda e: (
            e["event_type"] == "ApiRequestAudited"
            and e["payload"]["principal_id"] == actor
            and any(r["id"] == case_id for r in e["payload"]["records"] + e["payload"]["denials"])
        ),
        namespace=world.runtime.settings.topic_namespace,
    )
    return [envelope["payload"] for _, envelope in found]


async def test_a_read_is_audited_with_the_tiers_returned(world):
    case_id = str((await world.open_case())["id"])
    response = await world.client.get(f"/cases/{case_id}", headers=world.as_("leader_a"))
    assert response.status_code == 200
    (audit,) = await _audited(world, "leader_a", case_id)
    (record,) = [r for r in audit["records"] if r["id"] == case_id]
    assert record["kind"] == "case"
    assert record["tiers"] == ["basic", "summary", "support_plan", "shared"]
    assert audit["status_code"] == 200


async def test_a_hidden_case_is_audited_as_a_denial(world):
    case_id = str((await world.open_case())["id"])
    response = await world.client.get(f"/cases/{case_id}", headers=world.as_("leader_b"))
    assert response.status_code == 404
    (audit,) = await _audited(world, "leader_b", case_id)
    assert audit["records"] == []
    assert [d["reason"] for d in audit["denials"]] == ["not_visible"]
