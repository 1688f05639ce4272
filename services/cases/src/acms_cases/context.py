"""What every use case of a case shares: the request's context (session, outbox, access),
the case as the policy sees it (its team included), and the refusals about its state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from acms_cases import history, repository
from acms_cases.history import NO_HOLDERS, HistoryHolders
from acms_cases.schemas import CaseStatus
from acms_platform.access import Actor, Decision, RequestAccess, ResourceKind
from acms_platform.errors import Conflict
from acms_platform.outbox import Outbox
from acms_platform.policy import PolicyResource

KIND = "case"
# The tiers of a case (ACCESS-MODEL section 3) and the action granting each; `basic`
# first: it makes the case visible at all.
TIER_ACTIONS = {
    "basic": "view",
    "summary": "view_summary",
    "demographic": "view_demographic",
    "support_plan": "view_support_plan",
    "shared": "view_shared",
    "full": "view_full",
    "sensitive": "view_sensitive",
    "attendance": "view_attendance",
}
CASE = ResourceKind(KIND, "case", TIER_ACTIONS)
SYSTEM = "system"


class WrongState(Conflict):
    """The change does not fit the case's state: 409 naming it."""

    def __init__(self, action: str, current: str) -> None:
        super().__init__(f"cannot {action} a case that is {current}")
        self.current = current

    def body(self) -> dict[str, object]:
        return {"detail": self.detail, "current_status": self.current}


class StaleVersion(Conflict):
    def __init__(self, what: str, expected: int, current: int) -> None:
        super().__init__(
            f"the {what} was changed since version {expected}: it is at version {current}"
        )
        self.current = current

    def body(self) -> dict[str, object]:
        return {"detail": self.detail, "current_version": self.current}


def text_of(value: object) -> str:
    return "" if value is None else str(value)


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def case_resource(
    row: Row[Any], team: Sequence[UUID] = (), holders: HistoryHolders = NO_HOLDERS
) -> PolicyResource:
    """A stored case as the policy sees it (the columns the plan maps, nothing else), with
    its current team and who holds another open case of its student (`history`)."""
    return PolicyResource(
        KIND,
        str(row.id),
        {
            "status": row.status,
            "school_id": text_of(row.school_id),
            "student_school_id": text_of(row.student_school_id),
            "provider_id": text_of(row.provider_id),
            "case_manager_id": text_of(row.case_manager_id),
            "primary_contact_id": text_of(row.primary_contact_id),
            "prosecution_notified": bool(row.prosecution_notified),
            "team_member_ids": [str(member) for member in team],
            "student_open_provider_ids": holders.provider_ids,
            "student_open_case_manager_ids": holders.case_manager_ids,
        },
    )


@dataclass
class Context:
    session: AsyncSession
    outbox: Outbox
    access: RequestAccess

    @property
    def actor(self) -> Actor:
        return self.access.actor

    @property
    def actor_id(self) -> str:
        return str(self.actor.account_id)

    async def load(self, case_id: UUID, *, lock: bool = False) -> Row[Any]:
        row = await repository.get(self.session, case_id, lock=lock)
        if row is None:
            raise self.access.missing(CASE, case_id)
        return row

    async def resources(self, rows: Sequence[Row[Any]]) -> list[PolicyResource]:
        """The cases as the policy sees them, their teams and the holders of their
        students' other open cases loaded in one query each."""
        teams = await repository.teams_of(self.session, [r.id for r in rows])
        open_cases = await history.open_cases_of(self.session, [r.student_key for r in rows])
        return [
            case_resource(r, teams[r.id], HistoryHolders.of(r.id, open_cases[r.student_key]))
            for r in rows
        ]

    async def authorise(
        self,
        row: Row[Any],
        action: str | None = None,
        *,
        also: Sequence[str] = (),
        **attributes: Any,
    ) -> Decision:
        """`attributes`: what the action adds to the case for the policy (e.g. the type of
        the provider a re-allocation would give it)."""
        (resource,) = await self.resources([row])
        resource.attr.update(attributes)
        return await self.access.authorise(
            CASE, resource, action, also=also, student_key=row.student_key
        )

    async def active(
        self, case_id: UUID, action: str, verb: str, **attributes: Any
    ) -> tuple[Row[Any], Decision]:
        """The case locked for a change, authorised (404 / 403), and active (else 409)."""
        row = await self.load(case_id, lock=True)
        decision = await self.authorise(row, action, **attributes)
        if row.status != CaseStatus.ACTIVE.value:
            raise WrongState(verb, row.status)
        return row, decision

    async def record(
        self, row: Row[Any], kind: str, tier: str, at: datetime, detail: dict[str, Any]
    ) -> None:
        await repository.add_timeline(
            self.session,
            {
                "case_id": row.id,
                "kind": kind,
                "tier": tier,
                "actor_id": self.actor_id,
                "at": at,
                "detail": detail,
            },
        )
        # A person did something on the case: it is not idle, and any reminder is answered.
        await repository.record_activity(self.session, row.id, at)

    def event_fields(self, row: Row[Any], at: datetime) -> dict[str, Any]:
        return {
            "case_id": row.id,
            "reference": row.reference,
            "subject_student_key": row.student_key,
            "actor_id": self.actor_id,
            "at": at,
        }
