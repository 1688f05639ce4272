"""Audit emitter: every decision that returns personal information, and every denial,
becomes an `AccessDecisionRecorded` event in the outbox.

An allowed read is recorded in the request's own transaction (no record without the
read, no read without the record). A denial is recorded in a transaction of its own,
because the request's transaction is rolled back when the request fails.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from acms_contracts.audit import AccessDecisionRecorded
from acms_platform.database import Database
from acms_platform.outbox import Outbox
from acms_platform.telemetry import current_trace_id
from acms_platform.tokens import Principal


def access_decision(
    principal: Principal,
    *,
    service: str,
    resource_kind: str,
    resource_id: str,
    action: str,
    allowed: bool,
    tiers: Sequence[str] = (),
    rule: str | None = None,
    student_key: str | None = None,
) -> AccessDecisionRecorded:
    return AccessDecisionRecorded(
        principal_id=principal.id,
        organisation_id=principal.organisation_id,
        roles=list(principal.roles),
        service=service,
        resource_kind=resource_kind,
        resource_id=resource_id,
        action=action,
        allowed=allowed,
        tiers=list(tiers) if allowed else [],
        rule=rule,
        trace_id=current_trace_id(),
        subject_student_key=student_key,
    )


async def record_access(
    session: AsyncSession, outbox: Outbox, decision: AccessDecisionRecorded
) -> None:
    """Record an allowed read inside the transaction that returns it."""
    await outbox.add(session, decision)


async def record_denial(
    database: Database, outbox: Outbox, decision: AccessDecisionRecorded
) -> None:
    """Record a denial in its own transaction: it must survive the request's rollback."""
    async with database.transaction() as session:
        await outbox.add(session, decision)
