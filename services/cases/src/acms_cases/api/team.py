"""Routes of a case's team: provider workflow leads add and remove members."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from acms_cases import team as use
from acms_cases.api.common import CHANGE, NOT_VISIBLE, CasesContext
from acms_cases.schemas import AddTeamMember, TeamMemberView

team = APIRouter(prefix="/cases/{case_id}/team", tags=["case team"])
CHANGE_TEAM = {**CHANGE, 422: {"description": "not an active staff member of the provider"}}


@team.get("", responses={**NOT_VISIBLE, 403: {"description": "not seen in summary"}})
async def list_team(case_id: UUID, ctx: CasesContext) -> list[TeamMemberView]:
    return await use.members(ctx, case_id)


@team.post("", responses=CHANGE_TEAM)
async def add_team_member(
    case_id: UUID, command: AddTeamMember, ctx: CasesContext
) -> list[TeamMemberView]:
    """Another active staff member of the case's provider joins the team: they see the
    case in `full` (never `sensitive`) while they are on it."""
    return await use.add(ctx, case_id, command)


@team.delete("/{account_id}", responses=CHANGE_TEAM)
async def remove_team_member(
    case_id: UUID, account_id: UUID, ctx: CasesContext
) -> list[TeamMemberView]:
    return await use.remove(ctx, case_id, account_id)
