"""The audit names the policy rule that granted each record (issue 12): a real PDP over the
case policy, the access kit's decisions, and the records it would audit."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from acms_platform.access import Actor, RequestAccess, ResourceKind
from acms_platform.policy import PolicyClient, PolicyResource
from acms_platform.testing.infra import REPO_ROOT
from acms_platform.testing.pdp import private_pdp
from acms_platform.testing.policy_schemas import check_outputs, granting_rules
from acms_platform.tokens import Principal

CASE_POLICIES = REPO_ROOT / "services" / "cases" / "policies"
PROVIDER = str(uuid.uuid4())
CASE = ResourceKind(
    "case",
    "case",
    {
        "basic": "view",
        "summary": "view_summary",
        "full": "view_full",
        "sensitive": "view_sensitive",
        "attendance": "view_attendance",
    },
)


@pytest.fixture(scope="module")
def pdp(tmp_path_factory) -> Iterator[str]:
    with private_pdp(CASE_POLICIES, tmp_path_factory.mktemp("cerbos") / "cerbos.log") as url:
        yield url


def _actor(account: uuid.UUID, role: str) -> Actor:
    principal = Principal(str(account), uuid.UUID(PROVIDER), (role,))
    return Actor(principal, account, uuid.UUID(PROVIDER), org_type="asp")


def _case(case_manager: uuid.UUID, *, status: str = "active", team=()) -> PolicyResource:
    attr = {
        "status": status,
        "school_id": str(uuid.uuid4()),
        "student_school_id": "",
        "provider_id": PROVIDER,
        "case_manager_id": str(case_manager),
        "primary_contact_id": "",
        "prosecution_notified": False,
        "team_member_ids": [str(m) for m in team],
        "student_open_provider_ids": [],
        "student_open_case_manager_ids": [],
    }
    return PolicyResource("case", str(uuid.uuid4()), attr)


def _access(pdp_url: str, policy: PolicyClient, actor: Actor) -> RequestAccess:
    # authorise, tiers_of and returned touch neither the session nor the outbox
    return RequestAccess("test", actor, None, None, None, policy, method="GET")  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_a_decision_names_the_rules_that_allowed_each_action(pdp):
    manager = uuid.uuid4()
    policy = PolicyClient(pdp)
    try:
        decision = (
            await policy.check(
                _actor(manager, "asp_case_manager").policy_principal,
                [case := _case(manager)],
                ["view_sensitive", "view_attendance", "manage_team"],
            )
        )[case.id]
    finally:
        await policy.close()
    assert decision.rules == {
        "view_sensitive": ("case.case_manager_sees_every_tier_of_their_cases",),
        "view_attendance": ("case.case_manager_sees_attendance_while_the_case_is_active",),
    }
    assert decision.rules_of(["manage_team"]) == []  # denied: granted by nothing


@pytest.mark.asyncio
async def test_a_read_records_the_rules_granting_the_tiers_it_returned(pdp):
    manager = uuid.uuid4()
    policy = PolicyClient(pdp)
    access = _access(pdp, policy, _actor(manager, "asp_case_manager"))
    try:
        case = _case(manager)
        decision = await access.authorise(CASE, case)
        access.returned(CASE, case.id, None, decision.tiers)
        access.returned(CASE, case.id, None, ["full"], "check:view")  # a fallback is ignored
    finally:
        await policy.close()
    every, attendance = (
        "case.case_manager_sees_every_tier_of_their_cases",
        "case.case_manager_sees_attendance_while_the_case_is_active",
    )
    assert decision.tiers == list(CASE.tier_actions)
    assert access.records[0].rules == [every, attendance]
    assert access.records[0].rule == f"{every},{attendance}"
    assert access.records[1].rules == [every]
    assert {every, attendance} <= granting_rules()


@pytest.mark.asyncio
async def test_a_page_records_each_records_own_rule_from_the_batch_check(pdp):
    member = uuid.uuid4()
    policy = PolicyClient(pdp)
    access = _access(pdp, policy, _actor(member, "asp_case_manager"))
    mine, on_team = _case(member), _case(uuid.uuid4(), team=[member])
    try:
        tiers = await access.tiers_of(CASE, [mine, on_team])
    finally:
        await policy.close()
    for case in (mine, on_team):
        access.returned(CASE, case.id, None, tiers[case.id])
    assert [r.rules for r in access.records] == [
        [
            "case.case_manager_sees_every_tier_of_their_cases",
            "case.case_manager_sees_attendance_while_the_case_is_active",
        ],
        ["case.team_members_see_full_never_sensitive_while_on_the_team_of_their_provider"],
    ]


def test_an_allow_rule_without_the_output_naming_it_is_a_policy_problem():
    policy = {
        "rules": [
            {"name": "a", "effect": "EFFECT_ALLOW", "output": {"when": {"ruleActivated": '"a"'}}},
            {"name": "b", "effect": "EFFECT_ALLOW"},
            {"name": "c", "effect": "EFFECT_ALLOW", "output": {"when": {"ruleActivated": '"a"'}}},
            {"effect": "EFFECT_ALLOW"},
            {"name": "d", "effect": "EFFECT_DENY"},
        ]
    }
    problems = check_outputs(Path("x.yaml"), policy)
    assert [p.split(":")[1].strip() for p in problems] == [
        "rule b",
        "rule c",
        "ALLOW rule 4 has no name (the audit names it)",
    ]
