"""Reading requests: one by id, and lists filtered in SQL by the policy's plan."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from acms_referrals import repository, staff_projection
from acms_referrals.errors import NotFound
from acms_referrals.service.context import (
    KIND,
    TIER_ACTIONS,
    Actor,
    Context,
    referral_resource,
)
from acms_referrals.service.views import people_of, project


async def view_referral(ctx: Context, actor: Actor, referral_id: UUID) -> dict[str, Any]:
    row = await repository.get(ctx.session, referral_id)
    if row is None:
        raise NotFound(referral_id)
    tiers = (await ctx.tiers_of(actor, [row])).get(str(row.id), [])
    if "basic" not in tiers:
        await ctx.record_denial(actor, referral_resource(row), "view", row.student_key)
        raise NotFound(referral_id)
    names = await staff_projection.names_of(ctx.session, people_of([row]))
    history = await repository.history(ctx.session, row.id) if "summary" in tiers else None
    await ctx.record_read(actor, row, tiers, "check:view")
    return project(row, tiers, names, history)


async def list_referrals(
    ctx: Context, actor: Actor, filters: repository.ListFilters
) -> list[dict[str, Any]]:
    # Narrowed by school, provider or case manager, the list holds only requests whose
    # whereabouts the caller sees (view_school implies view in the policy): one plan still.
    action = TIER_ACTIONS["school"] if filters.by_whereabouts else TIER_ACTIONS["basic"]
    plan = await ctx.policy.plan(actor.policy_principal, KIND, action)
    readable = repository.readable_condition(plan)
    rows = await repository.readable(ctx.session, readable, filters)
    tiers = await ctx.tiers_of(actor, rows)
    names = await staff_projection.names_of(ctx.session, people_of(rows))
    views = []
    for row in rows:
        granted = tiers.get(str(row.id), [])
        if "basic" not in granted or (filters.by_whereabouts and "school" not in granted):
            # The plan and the check disagree: never show the row (fail closed).
            continue
        await ctx.record_read(actor, row, granted, f"plan:{action}")
        views.append(project(row, granted, names))
    return views
