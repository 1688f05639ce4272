"""ACCESS-MODEL sections 5 and 6: Central Investigation re-allocates an active case to
another ASP (or the ISP of the case's school), an ASP workflow lead their ASP's case to
another ASP; the provider that loses it loses it as on a move (its lead, case manager and
team: 404), the school keeps it, and `CaseTransferred` (reason `reallocated`) says so."""

from __future__ import annotations

import pytest

from acms_contracts import topics
from acms_platform.testing.kafka import published

pytestmark = pytest.mark.asyncio(loop_scope="session")

OUTCOME = {"outcome_category": "attending_regularly", "outcome_text": "Back at school"}


async def _status(world, who: str, case_id) -> int:
    return (await world.client.get(f"/cases/{case_id}", headers=world.as_(who))).status_code


async def _reallocate(world, case_id, provider: str, who: str):
    return await world.client.post(
        f"/cases/{case_id}/reallocate",
        json={"provider_id": str(world.orgs.get(provider, provider))},
        headers=world.as_(who),
    )


async def _listed(world, who: str, reference: str) -> set[str]:
    """The caller's list searched by the case's reference (so the case, if theirs, is in
    the first page whatever else they hold)."""
    response = await world.client.get("/cases", params={"q": reference}, headers=world.as_(who))
    assert response.status_code == 200, response.text
    return {c["id"] for c in response.json()}


@pytest.mark.parametrize("who", ["investigator", "asp_lead_a"])
async def test_a_reallocated_case_leaves_its_provider_its_case_manager_and_team(world, who):
    case = await world.open_case()
    case_id = str(case["id"])
    added = await world.client.post(
        f"/cases/{case_id}/team",
        json={"account_id": str(world.accounts["case_manager_a2"])},
        headers=world.as_("asp_lead_a"),
    )
    assert added.status_code in (200, 201), added.text
    for former in ("asp_lead_a", "case_manager_a", "case_manager_a2"):
        assert await _status(world, former, case_id) == 200, former
        assert case_id in await _listed(world, former, case["reference"]), former

    moved = await _reallocate(world, case_id, "asp_b", who)
    assert moved.status_code == 200, moved.text

    for former in ("asp_lead_a", "case_manager_a", "case_manager_a2"):
        assert await _status(world, former, case_id) == 404, former
        assert case_id not in await _listed(world, former, case["reference"]), former
        again = await _reallocate(world, case_id, "asp_a", former)
        assert again.status_code == 404, (former, again.text)
    view = (await world.client.get(f"/cases/{case_id}", headers=world.as_("asp_lead_b"))).json()
    assert view["provider_id"] == str(world.orgs["asp_b"]) and view["case_manager_id"] is None
    assert case_id in await _listed(world, "asp_lead_b", case["reference"])
    for school in ("leader_a", "teacher_a"):  # the school keeps its case
        assert await _status(world, school, case_id) == 200, school
    timeline = await world.client.get(f"/cases/{case_id}/timeline", headers=world.as_("asp_lead_b"))
    kinds = [e["kind"] for e in timeline.json()]
    assert "reallocated" in kinds and "team_member_removed" in kinds
    found = await published(
        world.runtime.settings.kafka_bootstrap,
        topics.CASES,
        lambda e: e["event_type"] == "CaseTransferred" and e["payload"]["case_id"] == case_id,
        namespace=world.runtime.settings.topic_namespace,
    )
    payload = found[0][1]["payload"]
    assert payload["reason"] == "reallocated"
    assert payload["from_provider_id"] == str(world.orgs["asp_a"])
    assert payload["provider_id"] == str(world.orgs["asp_b"])
    assert payload["from_school_id"] == payload["school_id"] == str(world.orgs["school_a"])


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("asp_lead_b", 404),  # another ASP's lead does not see the case at all
        ("leader_b", 404),
        ("case_manager_a", 403),  # sees the case, may not give it away
        ("leader_a", 403),
        ("contracts", 403),
    ],
)
async def test_nobody_else_reallocates_a_case(world, who, status):
    if who not in world.tokens:
        pytest.skip(f"no {who} in this world")
    case = await world.open_case()
    refused = await _reallocate(world, case["id"], "asp_b", who)
    assert refused.status_code == status, (who, refused.text)
    assert await _status(world, "case_manager_a", case["id"]) == 200


async def test_an_asp_lead_gives_a_case_to_another_asp_only(world):
    case = await world.open_case()
    refused = await _reallocate(world, case["id"], "isp_a", "asp_lead_a")
    assert refused.status_code == 403, refused.text
    isp = await _reallocate(world, case["id"], "isp_a", "investigator")
    assert isp.status_code == 200, isp.text
    assert await _status(world, "isp_lead_a", case["id"]) == 200


@pytest.mark.parametrize(
    ("provider", "reason"),
    [
        ("isp_b", "ISP works only cases of students at its school"),
        ("school_b", "no ASP or ISP"),
        ("00000000-0000-4000-8000-000000000000", "no ASP or ISP"),
        ("asp_a", "already allocated to this provider"),
    ],
)
async def test_a_reallocation_to_no_fitting_provider_is_422_and_changes_nothing(
    world, provider, reason
):
    case = await world.open_case()
    refused = await _reallocate(world, case["id"], provider, "investigator")
    assert refused.status_code == 422, refused.text
    assert reason in refused.text
    assert await _status(world, "case_manager_a", case["id"]) == 200


async def test_a_closed_case_is_not_reallocated(world):
    case = await world.open_case()
    closing = await world.client.post(
        f"/cases/{case['id']}/close", json=OUTCOME, headers=world.as_("case_manager_a")
    )
    assert closing.status_code == 200
    refused = await _reallocate(world, case["id"], "asp_b", "investigator")
    assert refused.status_code == 409 and "closed" in refused.text, refused.text
    assert await _status(world, "asp_lead_a", case["id"]) == 200
