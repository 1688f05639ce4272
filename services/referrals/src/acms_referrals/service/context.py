"""What every use case works with: the transaction, the outbox, the PDP and the actor,
and the one place where a request's visibility and actions are decided."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from acms_platform.audit import access_decision, record_access, record_denial
from acms_platform.database import Database
from acms_platform.outbox import Outbox
from acms_platform.policy import PolicyClient, PolicyPrincipal, PolicyResource, ResourceDecision
from acms_platform.tokens import Principal
from acms_referrals.errors import Forbidden, NotFound

SERVICE = "referrals"
KIND = "referral"
# The tiers of a request (ACCESS-MODEL section 3), and `school`: where the request is now
# (its school, provider and case manager). The student's current school is demographic
# information; the policy withholds it from a party who sees the request only because
# they or their school made it, once ENROL has moved the student elsewhere.
TIER_ACTIONS = {
    "basic": "view",
    "summary": "view_summary",
    "full": "view_full",
    "school": "view_school",
}


@dataclass(frozen=True)
class Actor:
    """The verified caller, with what this service knows of their organisation."""

    principal: Principal
    account_id: UUID
    org_id: UUID | None
    org_type: str | None = None
    parent_school_id: UUID | None = None
    region: str | None = None
    monitored_asp_ids: tuple[str, ...] = ()

    @property
    def policy_principal(self) -> PolicyPrincipal:
        # Unknown attributes are left out, not sent as null: a rule comparing two nulls
        # must not match.
        attr: dict[str, Any] = {"monitored_asp_ids": list(self.monitored_asp_ids)}
        for name in ("org_id", "org_type", "parent_school_id", "region"):
            value = getattr(self, name)
            if value is not None:
                attr[name] = str(value)
        return PolicyPrincipal(str(self.account_id), list(self.principal.roles), attr)


def _text(value: object) -> str:
    return "" if value is None else str(value)


def referral_resource(row: Row[Any], **extra: str) -> PolicyResource:
    """A stored request as the policy sees it (the columns the plan maps, nothing else)."""
    attr: dict[str, Any] = {
        "status": row.status,
        "school_id": _text(row.school_id),
        "school_region": _text(row.school_region),
        "school_from_enrol": bool(row.school_from_enrol),
        "created_by": row.created_by,
        "creator_org_id": _text(row.creator_org_id),
        "provider_id": _text(row.provider_id),
        "assignee_id": _text(row.assignee_id),
        **extra,
    }
    return PolicyResource(KIND, str(row.id), attr)


@dataclass
class Context:
    session: AsyncSession
    outbox: Outbox
    database: Database
    policy: PolicyClient
    # The student key of an NSN under this deployment's secret (`Settings.student_key`).
    student_key: Callable[[str], str]

    async def authorise(
        self, actor: Actor, row: Row[Any], action: str, *, also: Sequence[str] = (), **extra: str
    ) -> ResourceDecision:
        """404 unless the caller sees the request; 403 if they see it but may not act.
        The decision, which also answers the actions `also` names (same round trip)."""
        resource = referral_resource(row, **extra)
        actions = ["view", action, *also]
        decision = (await self.policy.check(actor.policy_principal, [resource], actions))[
            resource.id
        ]
        if not decision.allows("view"):
            await self.record_denial(actor, resource, action, row.student_key)
            raise NotFound(row.id)
        if not decision.allows(action):
            await self.record_denial(actor, resource, action, row.student_key)
            raise Forbidden(f"not allowed to {action} this request")
        return decision

    async def tiers_of(self, actor: Actor, rows: list[Row[Any]]) -> dict[str, list[str]]:
        """Granted tiers (and `school`) by request id, decided in one round trip for the
        whole page."""
        if not rows:
            return {}
        decisions = await self.policy.check(
            actor.policy_principal,
            [referral_resource(r) for r in rows],
            list(TIER_ACTIONS.values()),
        )
        return {
            rid: [tier for tier, action in TIER_ACTIONS.items() if d.allows(action)]
            for rid, d in decisions.items()
        }

    async def record_denial(
        self, actor: Actor, resource: PolicyResource, action: str, student_key: str | None
    ) -> None:
        decision = access_decision(
            actor.principal,
            service=SERVICE,
            resource_kind=resource.kind,
            resource_id=resource.id,
            action=action,
            allowed=False,
            student_key=student_key,
        )
        await record_denial(self.database, self.outbox, decision)

    async def record_read(self, actor: Actor, row: Row[Any], tiers: list[str], rule: str) -> None:
        decision = access_decision(
            actor.principal,
            service=SERVICE,
            resource_kind=KIND,
            resource_id=str(row.id),
            action="view",
            allowed=True,
            tiers=tiers,
            rule=rule,
            student_key=row.student_key,
        )
        await record_access(self.session, self.outbox, decision)
