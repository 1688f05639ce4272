"""Use cases of the cases service: opening a case from an assigned request (exactly once),
reading a case and lists through the access kit, closing, the prosecution notice, the
primary contact, the timeline and moves. Content items: `content.py`; the team: `team.py`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from acms_cases import content, document_repository, repository, team
from acms_cases.context import (
    CASE,
    SYSTEM,
    TIER_ACTIONS,
    Context,
    WrongState,
    iso,
    text_of,
)
from acms_cases.schemas import (
    CaseOutcome,
    CaseStatus,
    CaseView,
    ChangePrimaryContact,
    Close,
    Reallocate,
    TimelineEntry,
)
from acms_cases.tables import organisations, staff_members
from acms_contracts import EventEnvelope
from acms_contracts.cases import (
    CaseClosed,
    CaseOpened,
    CasePrimaryContactChanged,
    CaseProsecutionNoticeGiven,
    CaseProsecutionNoticeWithdrawn,
    CaseTransferred,
)
from acms_contracts.enrolments import StudentEnrolmentChanged
from acms_contracts.identity import CatchmentAssigned
from acms_contracts.referrals import ReferralAssigned
from acms_platform.errors import Conflict, Invalid
from acms_platform.outbox import Outbox

__all__ = ["Context", "WrongState"]


def reference_of(number: int, at: datetime) -> str:
    return f"AS-{at.year}-{number:06d}"


# --- Opening -------------------------------------------------------------------------


async def open_from_assignment(
    event: ReferralAssigned, envelope: EventEnvelope, session: AsyncSession, outbox: Outbox
) -> Row[Any] | None:
    """Open the case of an assigned request, exactly once: a redelivered event is stopped
    by the inbox, a replayed one (another event id, same request) by the unique request
    id. None when the request already has its case."""
    at = event.at
    number = await repository.next_reference_number(session)
    reference = reference_of(number, at)
    history = [h.model_dump(mode="json") for h in event.history]
    history.append(
        {
            "action": "assign",
            "from_status": None,
            "to_status": "assigned",
            "at": at.isoformat(),
            "actor_id": event.actor_id,
            "detail": {"assignee_id": str(event.assignee_id)},
        }
    )
    details = {
        "student": event.student or {},
        "whanau": event.whanau,
        "reason_text": event.reason_text,
        "actions_taken": event.actions_taken,
        "pastoral": event.pastoral or {},
    }
    enrolled = await repository.enrolment_of(session, event.subject_student_key)
    row = await repository.insert_once(
        session,
        {
            "id": uuid4(),
            "reference": reference,
            "referral_id": event.referral_id,
            "status": CaseStatus.ACTIVE.value,
            "version": 1,
            "student_key": event.subject_student_key,
            "nsn": event.nsn,
            "student_name": event.student_name or "(unnamed)",
            "year_level": event.year_level,
            "school_id": event.school_id,
            # ENROL's word on where the student is now, if it has spoken; else the request's.
            "student_school_id": enrolled[0] if enrolled else event.school_id,
            "provider_id": event.provider_id,
            "provider_type": event.provider_type,
            "case_manager_id": event.assignee_id,
            "primary_contact_id": event.primary_contact_id,
            "reason_category": event.reason_category,
            "details": details,
            "request_history": history,
            "opened_at": at,
            "updated_at": at,
            "last_activity_at": at,
        },
    )
    if row is None:
        return None
    await repository.add_timeline(
        session,
        {
            "case_id": row.id,
            "kind": "opened",
            "tier": "summary",
            "actor_id": event.actor_id,
            "at": at,
            "detail": {"referral_id": str(event.referral_id), "reference": reference},
        },
    )
    await outbox.add(
        session,
        CaseOpened(
            case_id=row.id,
            reference=reference,
            subject_student_key=row.student_key,
            actor_id=event.actor_id,
            at=at,
            referral_id=event.referral_id,
            school_id=event.school_id,
            provider_id=event.provider_id,
            case_manager_id=event.assignee_id,
        ),
    )
    return row


# --- Reading -------------------------------------------------------------------------


def _people(rows: list[Row[Any]]) -> set[UUID]:
    return {p for r in rows for p in (r.case_manager_id, r.primary_contact_id) if p is not None}


async def project(
    ctx: Context, row: Row[Any], tiers: list[str], names: dict[UUID, str], *, counts: bool
) -> CaseView:
    details = row.details or {}
    student = details.get("student") or {}
    groups: dict[str, dict[str, Any]] = {
        "basic": {
            "id": str(row.id),
            "reference": row.reference,
            "status": row.status,
            "version": row.version,
            "student_name": row.student_name,
            "school_id": text_of(row.school_id) or None,
            "provider_id": text_of(row.provider_id) or None,
            "case_manager_name": names.get(row.case_manager_id) if row.case_manager_id else None,
            "primary_contact_name": (
                names.get(row.primary_contact_id) if row.primary_contact_id else None
            ),
            "opened_at": iso(row.opened_at),
            "closed_at": iso(row.closed_at),
        },
        "summary": {
            "nsn": row.nsn,
            "year_level": row.year_level,
            "reason_category": row.reason_category,
            "provider_type": row.provider_type,
            "case_manager_id": text_of(row.case_manager_id) or None,
            "referral_id": str(row.referral_id),
            "request_history": row.request_history,
            "outcome_category": row.outcome_category,
            "outcome_text": row.outcome_text,
            "prosecution_notified": row.prosecution_notified,
            "updated_at": iso(row.updated_at),
        },
        "demographic": {
            "home_address": student.get("address"),
            "school_last_attended": text_of(row.school_id) or None,
        },
        "full": {
            "student": student,
            "whanau": details.get("whanau") or [],
            "reason_text": details.get("reason_text"),
            "actions_taken": details.get("actions_taken"),
            "pastoral": details.get("pastoral") or {},
            "primary_contact_id": text_of(row.primary_contact_id) or None,
            "needs_attention": row.attention_reason,
            "last_activity_at": iso(row.last_activity_at),
        },
        "attendance": {"attendance": []},
    }
    if counts and "attendance" in tiers:
        recent = await repository.recent_attendance(ctx.session, row.id)
        groups["attendance"]["attendance"] = [
            {"on": a.on.isoformat(), "session": a.session, "code": a.code, "category": a.category}
            for a in recent
        ]
    if counts:
        # The case's own view (not lists): counts and the content the case view carries.
        numbers = await repository.item_counts(ctx.session, row.id)
        groups["summary"]["note_count"] = numbers.get(("note", False), 0)
        groups["summary"]["activity_count"] = numbers.get(("activity", False), 0)
        groups["summary"]["document_count"] = await document_repository.count_not_sensitive(
            ctx.session, row.id
        )
        groups["sensitive"] = {"sensitive_note_count": numbers.get(("note", True), 0)}
        plan, shared_items = await content.case_view_content(ctx, row, tiers)
        groups["support_plan"] = {"support_plan": plan}
        groups["shared"] = {"shared_items": shared_items}
    return CaseView.project(tiers, groups, tiers=tiers)


async def view_case(ctx: Context, case_id: UUID) -> CaseView:
    row = await ctx.load(case_id)
    decision = await ctx.authorise(row)
    names = await staff_members.names_of(ctx.session, _people([row]))
    ctx.access.returned(CASE, row.id, row.student_key, decision.tiers)
    return await project(ctx, row, decision.tiers, names, counts=True)


async def list_cases(ctx: Context, filters: repository.ListFilters) -> list[CaseView]:
    """Cases the caller may see, newest first, filtered in SQL by the policy's plan. A
    search by text (name, NSN, reference) needs the summary tier (the NSN is in it): only
    cases the caller sees in summary can match."""
    # A filter on a tier's field needs that tier, or the filter itself would tell: the
    # needs-attention flag is `full` (the provider's own work), the text search `summary`.
    needed = "full" if filters.needs_attention else "summary" if filters.text else "basic"
    action = TIER_ACTIONS[needed]
    condition = await ctx.access.readable(
        CASE, repository.cases, repository.CASE_POLICY_COLUMNS, action=action
    )
    rows = await repository.readable(ctx.session, condition, filters)
    tiers = await ctx.access.tiers_of(CASE, await ctx.resources(rows))
    names = await staff_members.names_of(ctx.session, _people(rows))
    views = []
    for row in rows:
        granted = tiers.get(str(row.id), [])
        if "basic" not in granted or needed not in granted:
            continue  # the plan and the check disagree: never show the row (fail closed)
        ctx.access.returned(CASE, row.id, row.student_key, granted)
        views.append(await project(ctx, row, granted, names, counts=False))
    return views


async def timeline(ctx: Context, case_id: UUID) -> list[TimelineEntry]:
    """Every change on the case whose item the caller may see (lifecycle: summary;
    content: the tier of its item, `domain.entry_tier`; sensitive content: sensitive)."""
    row = await ctx.load(case_id)
    decision = await ctx.authorise(row)
    ctx.access.returned(CASE, row.id, row.student_key, decision.tiers)
    entries = await repository.timeline(ctx.session, row.id, decision.tiers)
    return [
        TimelineEntry(kind=e.kind, actor_id=e.actor_id, at=e.at.isoformat(), detail=e.detail)
        for e in entries
    ]


# --- Lifecycle -----------------------------------------------------------------------


def _outcome(row: Row[Any]) -> CaseOutcome:
    return CaseOutcome(
        id=str(row.id),
        reference=row.reference,
        status=row.status,
        version=row.version,
        prosecution_notified=row.prosecution_notified,
    )


async def close(ctx: Context, case_id: UUID, command: Close) -> CaseOutcome:
    row, _ = await ctx.active(case_id, "close", "close")
    at = datetime.now(UTC)
    updated = await repository.update(
        ctx.session,
        row.id,
        {
            "status": CaseStatus.CLOSED.value,
            "outcome_category": command.outcome_category.value,
            "outcome_text": command.outcome_text,
            "closed_at": at,
            "updated_at": at,
        },
    )
    await ctx.record(
        updated, "closed", "summary", at, {"outcome_category": command.outcome_category.value}
    )
    await ctx.outbox.add(
        ctx.session,
        CaseClosed(**ctx.event_fields(updated, at), outcome_category=command.outcome_category),
    )
    return _outcome(updated)


async def notify_prosecution(ctx: Context, case_id: UUID) -> CaseOutcome:
    row, _ = await ctx.active(case_id, "notify_prosecution", "notify for prosecution")
    if row.prosecution_notified:
        raise Conflict("the case is already notified for potential prosecution")
    at = datetime.now(UTC)
    updated = await repository.update(
        ctx.session, row.id, {"prosecution_notified": True, "updated_at": at}
    )
    await ctx.record(updated, "prosecution_notice_given", "summary", at, {})
    await ctx.outbox.add(ctx.session, CaseProsecutionNoticeGiven(**ctx.event_fields(row, at)))
    return _outcome(updated)


async def withdraw_prosecution(ctx: Context, case_id: UUID) -> CaseOutcome:
    row, _ = await ctx.active(case_id, "withdraw_prosecution", "withdraw the prosecution notice of")
    if not row.prosecution_notified:
        raise Conflict("the case is not notified for potential prosecution")
    at = datetime.now(UTC)
    updated = await repository.update(
        ctx.session, row.id, {"prosecution_notified": False, "updated_at": at}
    )
    await ctx.record(updated, "prosecution_notice_withdrawn", "summary", at, {})
    await ctx.outbox.add(ctx.session, CaseProsecutionNoticeWithdrawn(**ctx.event_fields(row, at)))
    return _outcome(updated)


async def change_primary_contact(
    ctx: Context, case_id: UUID, command: ChangePrimaryContact
) -> CaseOutcome:
    """A school leader or office support names another primary contact: an active staff
    member of the case's school (else 422)."""
    row, _ = await ctx.active(case_id, "change_primary_contact", "change the primary contact of")
    member = await staff_members.get_member(ctx.session, command.account_id)
    if member is None or member.disabled or member.organisation_id != row.school_id:
        raise Invalid("account_id", "not an active staff member of the case's school")
    if row.primary_contact_id == command.account_id:
        raise Invalid("account_id", "already the primary contact of this case")
    at = datetime.now(UTC)
    updated = await repository.update(
        ctx.session, row.id, {"primary_contact_id": command.account_id, "updated_at": at}
    )
    await ctx.record(
        updated,
        "primary_contact_changed",
        "summary",
        at,
        {
            "from_primary_contact_id": text_of(row.primary_contact_id) or None,
            "primary_contact_id": str(command.account_id),
        },
    )
    await ctx.outbox.add(
        ctx.session,
        CasePrimaryContactChanged(
            **ctx.event_fields(updated, at),
            school_id=row.school_id,
            primary_contact_id=command.account_id,
        ),
    )
    return _outcome(updated)


async def reallocate(ctx: Context, case_id: UUID, command: Reallocate) -> CaseOutcome:
    """Central Investigation gives an active case to another ASP (or to the ISP of the
    case's school); an ASP workflow lead gives their ASP's case to another ASP (section 5).
    The provider that loses it loses it as on a move (section 6): its case manager and its
    team go; the school keeps it. `CaseTransferred` (reason `reallocated`) is published."""
    target = await organisations.get(ctx.session, command.provider_id)
    target_type = target.org_type if target is not None else ""
    row, _ = await ctx.active(
        case_id, "reallocate", "re-allocate", target_provider_type=target_type
    )
    if target is None or target.org_type not in ("asp", "isp"):
        raise Invalid("provider_id", f"no ASP or ISP {command.provider_id}")
    if target.org_type == "isp" and (
        row.school_id is None or target.parent_school_id != row.school_id
    ):
        raise Invalid("provider_id", "an ISP works only cases of students at its school")
    if command.provider_id == row.provider_id:
        raise Invalid("provider_id", "the case is already allocated to this provider")
    at = datetime.now(UTC)
    updated = await repository.update(
        ctx.session,
        row.id,
        {
            "provider_id": command.provider_id,
            "provider_type": target.org_type,
            "case_manager_id": None,
            "updated_at": at,
        },
    )
    await team.disband(ctx.session, ctx.outbox, row, at)
    await ctx.record(
        updated,
        "reallocated",
        "summary",
        at,
        {
            "from_provider_id": text_of(row.provider_id) or None,
            "provider_id": str(command.provider_id),
        },
    )
    await ctx.outbox.add(
        ctx.session,
        CaseTransferred(
            **ctx.event_fields(updated, at),
            reason="reallocated",
            from_school_id=row.school_id,
            school_id=row.school_id,
            from_provider_id=row.provider_id,
            provider_id=command.provider_id,
        ),
    )
    return _outcome(updated)


# --- Moves (ACCESS-MODEL 6) ----------------------------------------------------------


async def record_catchment(
    event: CatchmentAssigned, envelope: EventEnvelope, session: AsyncSession
) -> None:
    await repository.set_catchment(
        session, event.organisation_id, event.asp_id, event.effective_from
    )


async def follow_enrolment(
    event: StudentEnrolmentChanged, envelope: EventEnvelope, session: AsyncSession, outbox: Outbox
) -> None:
    """A later enrolment is held for the student: every case of theirs knows where they are
    now (a school sees a case only while the student is theirs), and each active case at
    another school follows them: its school becomes the new one and it goes to the ASP
    whose catchment holds it (an ISP case too); a provider that loses it loses its case
    manager, and the former school's primary contact goes. Closed cases stay where they
    were closed (their provider keeps them)."""
    school_id = event.school_id
    await repository.set_student_school(session, event.subject_student_key, school_id)
    target = await repository.catchment_asp(session, school_id) if school_id else None
    for row in await repository.lock_active_elsewhere(
        session, event.subject_student_key, school_id
    ):
        changes: dict[str, Any] = {
            "school_id": school_id,
            "primary_contact_id": None,
            "updated_at": event.as_of,
        }
        if target != row.provider_id:
            changes.update(
                provider_id=target,
                provider_type="asp" if target else None,
                case_manager_id=None,
            )
        updated = await repository.update(session, row.id, changes)
        if target != row.provider_id:
            # The former provider's team loses the case with it (ACCESS-MODEL 6).
            await team.disband(session, outbox, row, event.as_of)
        detail = {
            "from_school_id": text_of(row.school_id) or None,
            "school_id": text_of(school_id) or None,
            "from_provider_id": text_of(row.provider_id) or None,
            "provider_id": text_of(updated.provider_id) or None,
        }
        await repository.add_timeline(
            session,
            {
                "case_id": row.id,
                "kind": "transferred",
                "tier": "summary",
                "actor_id": SYSTEM,
                "at": event.as_of,
                "detail": detail,
            },
        )
        await outbox.add(
            session,
            CaseTransferred(
                case_id=row.id,
                reference=row.reference,
                subject_student_key=row.student_key,
                actor_id=SYSTEM,
                at=event.as_of,
                from_school_id=row.school_id,
                school_id=school_id,
                from_provider_id=row.provider_id,
                provider_id=updated.provider_id,
            ),
        )
