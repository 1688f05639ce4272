"""The one way a stored request changes: state checked by the domain, version checked
against concurrent edits, the transition recorded (who, when), the event queued in the
outbox, all in the caller's transaction."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy.engine import Row

from acms_contracts.envelope import Event
from acms_referrals import repository
from acms_referrals.domain import StaleVersion, Status, check_version, next_status
from acms_referrals.schemas import TransitionOutcome
from acms_referrals.service.context import Actor, Context

EventFactory = Callable[[dict[str, Any]], Event]


async def load(ctx: Context, referral_id: UUID) -> Row[Any]:
    row = await repository.get(ctx.session, referral_id)
    if row is None:
        raise ctx.missing(referral_id)
    return row


def event_fields(row: Row[Any], actor: Actor, at: datetime) -> dict[str, Any]:
    return {
        "referral_id": row.id,
        "subject_student_key": row.student_key,
        "actor_id": str(actor.account_id),
        "version": row.version,
        "at": at,
    }


async def record(
    ctx: Context,
    actor: Actor,
    row: Row[Any],
    action: str,
    from_status: str | None,
    at: datetime,
    detail: dict[str, Any],
) -> None:
    await repository.add_transition(
        ctx.session,
        {
            "referral_id": row.id,
            "action": action,
            "from_status": from_status,
            "to_status": row.status,
            "actor_id": str(actor.account_id),
            "actor_org_id": actor.org_id,
            "at": at,
            "detail": detail,
        },
    )


async def apply(
    ctx: Context,
    actor: Actor,
    row: Row[Any],
    action: str,
    expected_version: int,
    changes: dict[str, Any],
    event: EventFactory | None,
    detail: dict[str, Any] | None = None,
) -> Row[Any]:
    """Move `row` by `action` (already authorised). 409 on a wrong state or stale version."""
    new_status = next_status(action, Status(row.status))
    check_version(expected_version, row.version)
    at = datetime.now(UTC)
    updated = await repository.update_versioned(
        ctx.session,
        row.id,
        expected_version,
        {"status": new_status.value, "updated_at": at, **changes},
    )
    if updated is None:  # changed between our read and our write
        current = await repository.get(ctx.session, row.id)
        raise StaleVersion(expected_version, current.version if current else expected_version)
    await record(ctx, actor, updated, action, row.status, at, detail or {})
    if event is not None:
        await ctx.outbox.add(ctx.session, event(event_fields(updated, actor, at)))
    return updated


def outcome(row: Row[Any]) -> TransitionOutcome:
    """What a transition answers: the new state only. The caller may no longer see the
    request afterwards (a provider that re-allocates it away), so no content is returned."""
    return TransitionOutcome(id=str(row.id), status=row.status, version=row.version)
