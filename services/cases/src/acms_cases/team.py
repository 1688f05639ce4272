"""The case's team (ACCESS-MODEL 4 and 5): the provider's workflow leads add and remove
other active staff of the case's current provider. The policy grants a member `full`
(never `sensitive`) only while they are on the team and their organisation is the case's
provider; a case that moves to another provider leaves its former team behind."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from acms_cases import repository
from acms_cases.context import CASE, SYSTEM, Context
from acms_cases.schemas import AddTeamMember, TeamMemberView
from acms_cases.tables import staff_members
from acms_contracts.cases import CaseTeamMemberAdded, CaseTeamMemberRemoved
from acms_platform.errors import Invalid, NotFound
from acms_platform.outbox import Outbox


async def _members(session: AsyncSession, case_id: UUID) -> list[TeamMemberView]:
    rows = await repository.current_team(session, case_id)
    names = await staff_members.names_of(session, {r.account_id for r in rows})
    return [
        TeamMemberView(
            account_id=str(r.account_id),
            name=names.get(r.account_id),
            added_by=r.added_by,
            added_at=r.added_at.isoformat(),
        )
        for r in rows
    ]


async def members(ctx: Context, case_id: UUID) -> list[TeamMemberView]:
    """The current team, for those who see the case in summary (its assignment)."""
    row = await ctx.load(case_id)
    decision = await ctx.authorise(row, "view_summary")
    ctx.access.returned(CASE, row.id, row.student_key, decision.tiers)
    return await _members(ctx.session, row.id)


async def add(ctx: Context, case_id: UUID, command: AddTeamMember) -> list[TeamMemberView]:
    row, _ = await ctx.active(case_id, "manage_team", "change the team of")
    member = await staff_members.get_member(ctx.session, command.account_id)
    if member is None or member.disabled or member.organisation_id != row.provider_id:
        raise Invalid("account_id", "not an active staff member of the case's provider")
    if member.account_id == row.case_manager_id:
        raise Invalid("account_id", "the case's case manager, who is not added to its team")
    current = {r.account_id for r in await repository.current_team(ctx.session, row.id)}
    if member.account_id in current:
        raise Invalid("account_id", "already on the team of this case")
    at = datetime.now(UTC)
    await repository.add_team_member(
        ctx.session,
        {
            "case_id": row.id,
            "account_id": member.account_id,
            "added_by": ctx.actor_id,
            "added_at": at,
        },
    )
    await repository.update(ctx.session, row.id, {"updated_at": at})
    await ctx.record(
        row, "team_member_added", "summary", at, {"account_id": str(member.account_id)}
    )
    await ctx.outbox.add(
        ctx.session,
        CaseTeamMemberAdded(
            **ctx.event_fields(row, at), provider_id=row.provider_id, account_id=member.account_id
        ),
    )
    return await _members(ctx.session, row.id)


async def remove(ctx: Context, case_id: UUID, account_id: UUID) -> list[TeamMemberView]:
    row, _ = await ctx.active(case_id, "manage_team", "change the team of")
    at = datetime.now(UTC)
    left = await repository.end_membership(ctx.session, row.id, account_id, ctx.actor_id, at)
    if not left:
        raise NotFound(f"no team member {account_id} on this case")
    await repository.update(ctx.session, row.id, {"updated_at": at})
    await ctx.record(row, "team_member_removed", "summary", at, {"account_id": str(account_id)})
    await ctx.outbox.add(
        ctx.session,
        CaseTeamMemberRemoved(
            **ctx.event_fields(row, at), provider_id=row.provider_id, account_id=account_id
        ),
    )
    return await _members(ctx.session, row.id)


async def disband(session: AsyncSession, outbox: Outbox, row: Row[Any], at: datetime) -> None:
    """The case left its provider: every member of its team leaves with it."""
    for account_id in await repository.end_membership(session, row.id, None, SYSTEM, at):
        await repository.add_timeline(
            session,
            {
                "case_id": row.id,
                "kind": "team_member_removed",
                "tier": "summary",
                "actor_id": SYSTEM,
                "at": at,
                "detail": {"account_id": str(account_id), "reason": "moved"},
            },
        )
        await outbox.add(
            session,
            CaseTeamMemberRemoved(
                case_id=row.id,
                reference=row.reference,
                subject_student_key=row.student_key,
                actor_id=SYSTEM,
                at=at,
                provider_id=row.provider_id,
                account_id=account_id,
            ),
        )
