"""One request's access: the actor, the policy decisions, and the one audit event that
lists every record the request returned (with its tiers) and every denial.

`authorise` is the one place a route decides on one record: a record the caller may not
see is 404 (reads and writes alike: a 403 would tell them it exists); one they see but
may not act on is 403. One `CheckResources` carries the view, every tier and the action.

Each record of the audit event names the policy rules that granted it (`rules`, `rule`
their comma-joined form): the rules Cerbos reports, in the same `CheckResources` answer,
as the source of the outputs of the rules that allowed the tiers returned (and the action
done), as `<kind>.<rule name>`. The kit remembers every decision of the request for that.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from uuid import UUID

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from acms_contracts.audit import ApiRequestAudited, AuditedDenial, AuditedRecord
from acms_platform.access.actor import Actor
from acms_platform.access.plan import plan_condition
from acms_platform.access.tiers import granted_tiers
from acms_platform.database import Database
from acms_platform.errors import Forbidden, NotFound
from acms_platform.outbox import Outbox
from acms_platform.policy import PolicyClient, PolicyResource, ResourceDecision
from acms_platform.telemetry import current_trace_id

DenialReason = Literal["not_visible", "not_allowed", "not_found"]


@dataclass(frozen=True)
class ResourceKind:
    """A kind of record as the policy knows it: its Cerbos kind, how a message names
    one, and its tiers (tier → the action granting it; the first tier is the one that
    makes the record visible at all)."""

    name: str
    label: str
    tier_actions: Mapping[str, str]

    @property
    def view_action(self) -> str:
        return next(iter(self.tier_actions.values()))

    @property
    def visible_tier(self) -> str:
        return next(iter(self.tier_actions))

    def not_found(self, record_id: object) -> NotFound:
        return NotFound(f"no {self.label} {record_id}")

    def not_allowed(self, action: str) -> Forbidden:
        return Forbidden(f"not allowed: {action} on this {self.label}")


@dataclass(frozen=True)
class Decision:
    """The policy's answer on one record: the tiers granted and the actions allowed."""

    tiers: list[str]
    decision: ResourceDecision

    def allows(self, action: str) -> bool:
        return self.decision.allows(action)


@dataclass
class RequestAccess:
    service: str
    actor: Actor
    session: AsyncSession
    outbox: Outbox
    database: Database
    policy: PolicyClient
    method: str = ""
    route: str = ""
    action: str = ""
    records: list[AuditedRecord] = field(default_factory=list)
    denials: list[AuditedDenial] = field(default_factory=list)
    # every decision of this request, by (kind, resource id): the granting rules of a
    # record `returned` are read from it
    decided: dict[tuple[str, str], ResourceDecision] = field(default_factory=dict)

    async def _check(
        self, kind: ResourceKind, resources: list[PolicyResource], actions: Sequence[str]
    ) -> dict[str, ResourceDecision]:
        decisions = await self.policy.check(self.actor.policy_principal, resources, actions)
        for resource_id, decision in decisions.items():
            self.decided[(kind.name, resource_id)] = decision
        return decisions

    def _record(
        self,
        kind: ResourceKind,
        record_id: str,
        student_key: str | None,
        tiers: Sequence[str],
        rules: Sequence[str],
    ) -> None:
        self.records.append(
            AuditedRecord(
                kind=kind.name,
                id=record_id,
                student_key=student_key,
                tiers=list(tiers),
                rule=",".join(rules) or None,
                rules=list(rules) or None,
            )
        )

    async def authorise(
        self,
        kind: ResourceKind,
        resource: PolicyResource,
        action: str | None = None,
        *,
        also: Sequence[str] = (),
        student_key: str | None = None,
    ) -> Decision:
        """The decision on one record, in one round trip: 404 unless the caller sees it;
        403 if they see it but may not do `action`. `action` None is a read: the caller
        then reports what it returned (`returned`)."""
        wanted = [*kind.tier_actions.values(), *([action] if action else []), *also]
        actions = list(dict.fromkeys(wanted))
        decisions = await self._check(kind, [resource], actions)
        answer = decisions.get(resource.id) or ResourceDecision(resource.id, {})
        decision = Decision(granted_tiers(answer, kind.tier_actions), answer)
        if not answer.allows(kind.view_action):
            self.denied(kind, resource.id, action or kind.view_action, student_key, "not_visible")
            raise kind.not_found(resource.id)
        if action is not None:
            if not answer.allows(action):
                self.denied(kind, resource.id, action, student_key, "not_allowed")
                raise kind.not_allowed(action)
            # The answer to a change shows the record at most in the tiers granted on it;
            # its rules: those allowing the action, then those granting the tiers.
            tier_actions = [kind.tier_actions[t] for t in decision.tiers]
            rules = answer.rules_of([action, *tier_actions])
            self._record(kind, resource.id, student_key, decision.tiers, rules)
        return decision

    async def allowed(self, kind: ResourceKind, resource: PolicyResource, action: str) -> bool:
        """Whether `action` is allowed on a record that need not be visible first (such as
        creating one); a refusal is recorded."""
        decision = (await self._check(kind, [resource], [action])).get(resource.id)
        allowed = decision is not None and decision.allows(action)
        if not allowed:
            self.denied(kind, resource.id, action, None, "not_allowed")
        return allowed

    async def tiers_of(
        self, kind: ResourceKind, resources: Iterable[PolicyResource]
    ) -> dict[str, list[str]]:
        """Granted tiers by record id, decided in one round trip for a whole page."""
        resources = list(resources)
        if not resources:
            return {}
        decisions = await self._check(kind, resources, list(kind.tier_actions.values()))
        return {r.id: granted_tiers(decisions.get(r.id), kind.tier_actions) for r in resources}

    async def readable(
        self,
        kind: ResourceKind,
        table: Table,
        columns: dict[str, Any],
        joins: list[tuple[Any, Any]] | None = None,
        *,
        action: str | None = None,
    ) -> ColumnElement[bool]:
        """The records of `kind` the caller may `action` (default: see), as SQL."""
        plan = await self.policy.plan(
            self.actor.policy_principal, kind.name, action or kind.view_action
        )
        return plan_condition(plan, table, columns, joins)

    def returned(
        self,
        kind: ResourceKind,
        record_id: UUID | str,
        student_key: str | None,
        tiers: Sequence[str],
        rule: str | None = None,
        *,
        decided_on: str | None = None,
    ) -> None:
        """Record that the answer holds this record with these tiers, granted by the rules
        of this request's decision on it (or on `decided_on`, the id of the resource
        decided, when the record is not itself one, such as the trail's searches): the
        rules granting those tiers, else those allowing what was decided. `rule` names
        what granted a record no policy decision covers (a grant waiting for approval)."""
        decision = self.decided.get((kind.name, decided_on or str(record_id)))
        rules: list[str] = []
        if decision is not None:
            wanted = [kind.tier_actions[t] for t in tiers if t in kind.tier_actions]
            rules = decision.rules_of(wanted) or decision.rules_of(decision.actions)
        if not rules and rule:
            rules = [rule]
        self._record(kind, str(record_id), student_key, tiers, rules)

    def denied(
        self,
        kind: ResourceKind,
        record_id: UUID | str,
        action: str,
        student_key: str | None,
        reason: DenialReason,
    ) -> None:
        self.denials.append(
            AuditedDenial(
                kind=kind.name,
                id=str(record_id),
                action=action,
                student_key=student_key,
                reason=reason,
            )
        )

    def missing(self, kind: ResourceKind, record_id: UUID | str) -> NotFound:
        """A probe of an id that does not exist: recorded, and the 404 to raise."""
        self.denied(kind, record_id, kind.view_action, None, "not_found")
        return kind.not_found(record_id)

    def audit_event(self, status_code: int | None) -> ApiRequestAudited | None:
        """The request's one audit event, or None if it was a change that touched no
        record. A read that returned nothing is recorded too (a search that found no
        student, or a list the caller sees nothing of, is still someone looking)."""
        if not self.records and not self.denials and self.method != "GET":
            return None
        principal = self.actor.principal
        return ApiRequestAudited(
            principal_id=principal.id,
            organisation_id=self.actor.org_id,
            roles=list(principal.roles),
            service=self.service,
            method=self.method,
            route=self.route,
            action=self.action,
            status_code=status_code,
            trace_id=current_trace_id(),
            records=self.records,
            denials=self.denials,
        )

    async def record_in_request(self) -> None:
        """On success: in the request's own transaction (no read without its record)."""
        event = self.audit_event(200)
        if event is not None:
            await self.outbox.add(self.session, event)

    async def record_refused(self, status_code: int) -> None:
        """On failure: in a transaction of its own, which survives the request's rollback.
        Records returned before the failure were not returned: only denials remain."""
        self.records.clear()
        event = self.audit_event(status_code)
        if event is not None:
            async with self.database.transaction() as session:
                await self.outbox.add(session, event)
