"""What every use case works with: the transaction, the outbox and the request's access
(the actor, the policy, the audit event), and the one place where a request's
visibility and actions are decided."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from acms_platform.access import Actor, Decision, RequestAccess, ResourceKind
from acms_platform.outbox import Outbox
from acms_platform.policy import PolicyClient, PolicyResource
from acms_referrals.domain import Status

__all__ = [
    "KIND",
    "REFERRAL",
    "TIER_ACTIONS",
    "Actor",
    "Context",
    "new_referral_resource",
    "referral_resource",
]

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
    # Issue 10: the student's other open requests and active cases (possible duplicates),
    # Central Investigation's only.
    "duplicates": "view_duplicates",
}
REFERRAL = ResourceKind(KIND, "request for support", TIER_ACTIONS)


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
        "followed_student": bool(row.followed_student),
        **extra,
    }
    return PolicyResource(KIND, str(row.id), attr)


def new_referral_resource(school_id: UUID | None, school_region: str | None) -> PolicyResource:
    """A request about to be made, as the policy sees it (its policy ignores the stored
    attributes' schema for `create`)."""
    attr: dict[str, Any] = {"status": Status.DRAFT.value, "school_id": _text(school_id)}
    if school_region is not None:
        attr["school_region"] = school_region
    return PolicyResource(KIND, "new", attr)


@dataclass
class Context:
    session: AsyncSession
    outbox: Outbox
    access: RequestAccess
    # The student key of an NSN under this deployment's secret (`Settings.student_key`).
    student_key: Callable[[str], str]

    @property
    def policy(self) -> PolicyClient:
        return self.access.policy

    async def authorise(
        self, actor: Actor, row: Row[Any], action: str, *, also: Sequence[str] = (), **extra: str
    ) -> Decision:
        """404 unless the caller sees the request; 403 if they see it but may not act.
        The decision also answers the tiers and the actions `also` names (one round trip)."""
        resource = referral_resource(row, **extra)
        return await self.access.authorise(
            REFERRAL, resource, action, also=also, student_key=row.student_key
        )

    async def tiers_of(self, actor: Actor, rows: list[Row[Any]]) -> dict[str, list[str]]:
        """Granted tiers (and `school`) by request id, decided in one round trip for the
        whole page."""
        return await self.access.tiers_of(REFERRAL, [referral_resource(r) for r in rows])

    def missing(self, referral_id: UUID) -> Exception:
        """The 404 of an id that names no request, the probe recorded."""
        return self.access.missing(REFERRAL, referral_id)

    def record_denial(
        self, actor: Actor, resource: PolicyResource, action: str, student_key: str | None
    ) -> None:
        self.access.denied(REFERRAL, resource.id, action, student_key, "not_allowed")

    def record_read(self, actor: Actor, row: Row[Any], tiers: list[str]) -> None:
        self.access.returned(REFERRAL, row.id, row.student_key, tiers)
