"""Reading requests: one by id, and lists filtered in SQL by the policy's plan."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy.engine import Row

from acms_referrals import repository
from acms_referrals.schemas import ReferralView
from acms_referrals.service.context import REFERRAL, TIER_ACTIONS, Actor, Context, referral_resource
from acms_referrals.service.views import people_of, project
from acms_referrals.tables import staff_members


async def view_referral(ctx: Context, actor: Actor, referral_id: UUID) -> ReferralView:
    row = await repository.get(ctx.session, referral_id)
    if row is None:
        raise ctx.missing(referral_id)
    # One CheckResources for every tier; 404 (and the denial recorded) if none is granted.
    decision = await ctx.access.authorise(
        REFERRAL, referral_resource(row), student_key=row.student_key
    )
    return await present(ctx, actor, row, decision.tiers)


async def present(ctx: Context, actor: Actor, row: Row[Any], tiers: list[str]) -> ReferralView:
    """The request with the tiers granted, its read recorded."""
    names = await staff_members.names_of(ctx.session, people_of([row]))
    history = await repository.history(ctx.session, row.id) if "summary" in tiers else None
    open_rows = await _open_requests(ctx, [row], {str(row.id): tiers})
    ctx.record_read(actor, row, tiers)
    return project(row, tiers, names, history, open_rows)


async def _open_requests(
    ctx: Context, rows: list[Row[Any]], tiers: dict[str, list[str]]
) -> list[Row[Any]]:
    """Open requests of the students of the rows granted `duplicates` (none otherwise)."""
    keys = {r.student_key for r in rows if "duplicates" in tiers.get(str(r.id), [])}
    return await repository.open_requests_of(ctx.session, keys)


async def list_referrals(
    ctx: Context, actor: Actor, filters: repository.ListFilters
) -> list[ReferralView]:
    # Narrowed by school, provider or case manager, the list holds only requests whose
    # whereabouts the caller sees (view_school implies view in the policy): one plan still.
    # Narrowed by possible duplicates, only requests whose duplicates the caller sees may
    # match (Central Investigation's): else the filter would tell of other requests.
    if filters.possible_duplicate is not None:
        needed = "duplicates"
    elif filters.by_whereabouts:
        needed = "school"
    else:
        needed = "basic"
    action = TIER_ACTIONS[needed]
    plan = await ctx.policy.plan(actor.policy_principal, REFERRAL.name, action)
    readable = repository.readable_condition(plan)
    rows = await repository.readable(ctx.session, readable, filters)
    tiers = await ctx.tiers_of(actor, rows)
    names = await staff_members.names_of(ctx.session, people_of(rows))
    open_rows = await _open_requests(ctx, rows, tiers)
    views = []
    for row in rows:
        granted = tiers.get(str(row.id), [])
        if (
            "basic" not in granted
            or needed not in granted
            or (filters.by_whereabouts and "school" not in granted)
        ):
            # The plan and the check disagree: never show the row (fail closed).
            continue
        ctx.record_read(actor, row, granted)
        views.append(project(row, granted, names, open_rows=open_rows))
    return views
