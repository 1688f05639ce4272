"""Creating a request, editing the draft, submitting and withdrawing it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from acms_contracts.referrals import (
    ReferralDrafted,
    ReferralSubmitted,
    ReferralWithdrawn,
)
from acms_referrals import repository
from acms_referrals.domain import Status, missing_for_submit
from acms_referrals.errors import Forbidden, Incomplete, Invalid
from acms_referrals.schemas import (
    EditDraft,
    ReferralView,
    RequestContent,
    TransitionOutcome,
    VersionOnly,
)
from acms_referrals.service import reading, transitions
from acms_referrals.service.context import (
    REFERRAL,
    TIER_ACTIONS,
    Actor,
    Context,
    new_referral_resource,
)
from acms_referrals.service.reading import view_referral
from acms_referrals.tables import organisations, staff_members


async def _school_region(ctx: Context, school_id: UUID | None) -> str | None:
    if school_id is None:
        return None
    school = await organisations.get(ctx.session, school_id)
    if school is None or school.org_type != "school":
        raise Invalid("school_id", f"no school {school_id}")
    return school.region


async def _authorise_create(ctx: Context, actor: Actor, school_id: UUID | None) -> str | None:
    """Whether the actor may make a request for `school_id`; the school's region."""
    region = await _school_region(ctx, school_id)
    resource = new_referral_resource(school_id, region)
    if not await ctx.access.allowed(REFERRAL, resource, "create"):
        raise Forbidden("not allowed to create a request for support for this school")
    return region


async def _primary_contact(
    ctx: Context, actor: Actor, content: RequestContent, school: UUID
) -> UUID | None:
    """The named primary contact, an active account of `school`; else the creator when
    they are school staff."""
    if content.primary_contact_id is None:
        return actor.account_id if actor.org_type == "school" else None
    member = await staff_members.get_member(ctx.session, content.primary_contact_id)
    if member is None or member.disabled or member.organisation_id != school:
        raise Invalid("primary_contact_id", "not an active staff member of the student's school")
    return member.account_id


def _named_by_creator(region: str | None) -> dict[str, Any]:
    """The columns of a school the creator names: its region, and not ENROL's."""
    return {"school_region": region, "school_from_enrol": False}


def _columns(content: RequestContent) -> dict[str, Any]:
    student = content.student
    name = " ".join(n for n in (student.given_name, student.family_name) if n) or "(unnamed)"
    details = content.model_dump(mode="json", exclude={"school_id", "primary_contact_id"})
    return {
        "nsn": student.nsn,
        "student_name": name,
        "school_id": content.school_id,
        "reason_category": content.reason_category,
        "details": details,
    }


async def create_draft(ctx: Context, actor: Actor, content: RequestContent) -> ReferralView:
    region = await _authorise_create(ctx, actor, content.school_id)
    if actor.org_id is None:
        raise Forbidden("your account belongs to no organisation")
    at = datetime.now(UTC)
    nsn = content.student.nsn
    values = {
        "id": uuid4(),
        "status": Status.DRAFT.value,
        "version": 1,
        # [decision] Without an NSN the request gets a key of its own until one is known.
        "student_key": ctx.student_key(nsn) if nsn else str(uuid4()),
        "created_by": str(actor.account_id),
        "creator_org_id": actor.org_id,
        "primary_contact_id": await _primary_contact(
            ctx, actor, content, content.school_id or actor.org_id
        ),
        "created_at": at,
        "updated_at": at,
        **_columns(content),
        **_named_by_creator(region),
    }
    row = await repository.insert(ctx.session, values)
    await transitions.record(ctx, actor, row, "draft", None, at, {})
    event = ReferralDrafted(
        **transitions.event_fields(row, actor, at),
        school_id=row.school_id,
        created_by_org_id=row.creator_org_id,
    )
    await ctx.outbox.add(ctx.session, event)
    return await view_referral(ctx, actor, row.id)


async def edit_draft(
    ctx: Context, actor: Actor, referral_id: UUID, command: EditDraft
) -> ReferralView:
    row = await transitions.load(ctx, referral_id)
    view_school = TIER_ACTIONS["school"]
    decision = await ctx.authorise(actor, row, "edit", also=[view_school])
    content = RequestContent.model_validate(command.model_dump(exclude={"version"}))
    school: dict[str, Any] = {}
    if decision.allows(view_school):
        if content.school_id != row.school_id:
            # Moving it is creating anew; the school is then the creator's, not ENROL's.
            school = _named_by_creator(await _authorise_create(ctx, actor, content.school_id))
        contact_org = content.school_id or row.creator_org_id
    else:
        # ENROL moved the student to a school the creator is not told: the draft stays
        # there whatever school the edit names, and the primary contact is checked against
        # the creator's organisation, so that no answer depends on that school.
        content = content.model_copy(update={"school_id": row.school_id})
        contact_org = row.creator_org_id
    changes = _columns(content) | school
    changes["primary_contact_id"] = await _primary_contact(ctx, actor, content, contact_org)
    if content.student.nsn:
        changes["student_key"] = ctx.student_key(content.student.nsn)
    updated = await transitions.apply(ctx, actor, row, "edit", command.version, changes, None)
    if school:
        # Moved to another school: what the caller now sees is decided again.
        return await view_referral(ctx, actor, referral_id)
    # Nothing the policy reads has changed: the tiers decided with `edit` still hold, and
    # the answer needs no second round trip.
    return await reading.present(ctx, actor, updated, decision.tiers)


async def submit(
    ctx: Context, actor: Actor, referral_id: UUID, command: VersionOnly
) -> TransitionOutcome:
    row = await transitions.load(ctx, referral_id)
    await ctx.authorise(actor, row, "submit")
    if row.status == Status.DRAFT.value:
        missing = missing_for_submit(
            row.details,
            school_id=row.school_id,
            primary_contact_id=row.primary_contact_id,
            school_from_enrol=row.school_from_enrol,
        )
        if missing:
            raise Incomplete(missing)

    def event(fields: dict[str, Any]) -> ReferralSubmitted:
        return ReferralSubmitted(
            **fields, school_id=row.school_id, reason_category=row.reason_category or ""
        )

    updated = await transitions.apply(ctx, actor, row, "submit", command.version, {}, event)
    return transitions.outcome(updated)


async def withdraw(
    ctx: Context, actor: Actor, referral_id: UUID, command: VersionOnly
) -> TransitionOutcome:
    row = await transitions.load(ctx, referral_id)
    await ctx.authorise(actor, row, "withdraw")
    updated = await transitions.apply(
        ctx, actor, row, "withdraw", command.version, {}, lambda f: ReferralWithdrawn(**f)
    )
    return transitions.outcome(updated)
