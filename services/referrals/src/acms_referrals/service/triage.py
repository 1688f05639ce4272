"""Review (accept, decline), allocation, re-allocation and assignment."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy.engine import Row

from acms_contracts.referrals import (
    ReferralAccepted,
    ReferralAllocated,
    ReferralAssigned,
    ReferralDeclined,
    ReferralHistoryEntry,
    ReferralReallocated,
)
from acms_platform.errors import Conflict
from acms_referrals import repository
from acms_referrals.errors import Invalid
from acms_referrals.schemas import Allocate, Assign, Decline, TransitionOutcome, VersionOnly
from acms_referrals.service import transitions
from acms_referrals.service.context import Actor, Context
from acms_referrals.tables import organisations, staff_members

PROVIDER_TYPES = ("asp", "isp")


async def accept(
    ctx: Context, actor: Actor, referral_id: UUID, command: VersionOnly
) -> TransitionOutcome:
    row = await transitions.load(ctx, referral_id)
    await ctx.authorise(actor, row, "accept")
    updated = await transitions.apply(
        ctx, actor, row, "accept", command.version, {}, lambda f: ReferralAccepted(**f)
    )
    return transitions.outcome(updated)


async def decline(
    ctx: Context, actor: Actor, referral_id: UUID, command: Decline
) -> TransitionOutcome:
    row = await transitions.load(ctx, referral_id)
    await ctx.authorise(actor, row, "decline")
    updated = await transitions.apply(
        ctx,
        actor,
        row,
        "decline",
        command.version,
        {"decline_reason": command.reason},
        lambda f: ReferralDeclined(**f, reason=command.reason),
    )
    return transitions.outcome(updated)


async def _provider_type(ctx: Context, row: Row[Any], provider_id: UUID) -> str:
    """The provider's type; an ISP only for a student at that ISP's school (else 422)."""
    provider = await organisations.get(ctx.session, provider_id)
    if provider is None or provider.org_type not in PROVIDER_TYPES:
        raise Invalid("provider_id", f"no ASP or ISP {provider_id}")
    if provider.org_type == "isp" and (
        row.school_id is None or provider.parent_school_id != row.school_id
    ):
        raise Invalid("provider_id", "an ISP works only requests for students at its school")
    return provider.org_type


async def allocate(
    ctx: Context, actor: Actor, referral_id: UUID, command: Allocate
) -> TransitionOutcome:
    row = await transitions.load(ctx, referral_id)
    await ctx.authorise(actor, row, "allocate")
    provider_type = await _provider_type(ctx, row, command.provider_id)
    changes = {"provider_id": command.provider_id, "provider_type": provider_type}
    updated = await transitions.apply(
        ctx,
        actor,
        row,
        "allocate",
        command.version,
        changes,
        lambda f: ReferralAllocated(
            **f, provider_id=command.provider_id, provider_type=provider_type
        ),
        detail={"provider_id": str(command.provider_id)},
    )
    return transitions.outcome(updated)


async def reallocate(
    ctx: Context, actor: Actor, referral_id: UUID, command: Allocate
) -> TransitionOutcome:
    row = await transitions.load(ctx, referral_id)
    target = await organisations.get(ctx.session, command.provider_id)
    target_type = target.org_type if target is not None else ""
    await ctx.authorise(actor, row, "reallocate", target_provider_type=target_type)
    if row.case_id is not None:
        # The case holds the work now: moving the request alone would leave the case with
        # the provider that was meant to lose it (ACCESS-MODEL 6).
        raise Conflict("a case was opened from this request: re-allocate the case instead")
    provider_type = await _provider_type(ctx, row, command.provider_id)
    if command.provider_id == row.provider_id:
        raise Invalid("provider_id", "the request is already allocated to this provider")
    changes = {
        "provider_id": command.provider_id,
        "provider_type": provider_type,
        "assignee_id": None,
    }
    updated = await transitions.apply(
        ctx,
        actor,
        row,
        "reallocate",
        command.version,
        changes,
        lambda f: ReferralReallocated(
            **f,
            from_provider_id=row.provider_id,
            provider_id=command.provider_id,
            provider_type=provider_type,
        ),
        detail={"from_provider_id": str(row.provider_id), "provider_id": str(command.provider_id)},
    )
    return transitions.outcome(updated)


async def _case_content(ctx: Context, row: Row[Any]) -> dict[str, Any]:
    """What the case opened from this request carries: the request as written and its
    history so far (the assignment itself is the event)."""
    details = row.details or {}
    student = details.get("student") or {}
    history = await repository.history(ctx.session, row.id)
    return {
        "provider_type": row.provider_type,
        "nsn": row.nsn,
        "student_name": row.student_name,
        "year_level": student.get("year_level"),
        "reason_category": row.reason_category,
        "reason_text": details.get("reason_text"),
        "actions_taken": details.get("actions_taken"),
        "primary_contact_id": row.primary_contact_id,
        "student": student,
        "whanau": details.get("whanau") or [],
        "pastoral": details.get("pastoral"),
        "history": [
            ReferralHistoryEntry(
                action=h.action,
                from_status=h.from_status,
                to_status=h.to_status,
                at=h.at,
                actor_id=h.actor_id,
                detail=h.detail or {},
            )
            for h in history
        ],
    }


async def assign(
    ctx: Context, actor: Actor, referral_id: UUID, command: Assign
) -> TransitionOutcome:
    row = await transitions.load(ctx, referral_id)
    await ctx.authorise(actor, row, "assign")
    member = await staff_members.get_member(ctx.session, command.assignee_id)
    is_case_worker = member is not None and (
        row.provider_type == "isp" or "asp_case_manager" in member.roles
    )
    if (
        member is None
        or member.disabled
        or member.organisation_id != row.provider_id
        or not is_case_worker
    ):
        raise Invalid("assignee_id", "not an active case manager of the provider")
    content = await _case_content(ctx, row)
    updated = await transitions.apply(
        ctx,
        actor,
        row,
        "assign",
        command.version,
        {"assignee_id": command.assignee_id},
        lambda f: ReferralAssigned(
            **f,
            school_id=row.school_id,
            provider_id=row.provider_id,
            assignee_id=command.assignee_id,
            **content,
        ),
        detail={"assignee_id": str(command.assignee_id)},
    )
    return transitions.outcome(updated)
