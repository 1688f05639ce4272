"""Use cases of the integrations service: the ENROL intake."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from acms_contracts.enrolments import StudentEnrolmentChanged
from acms_integrations import repository
from acms_integrations.errors import Forbidden, Invalid
from acms_integrations.legacy_keys import legacy_student_key
from acms_integrations.schemas import (
    ChangeResult,
    EnrolmentChange,
    EnrolmentChanges,
    IntakeReport,
    Outcome,
)
from acms_platform.audit import access_decision, record_denial
from acms_platform.database import Database
from acms_platform.outbox import Outbox
from acms_platform.policy import PolicyClient, PolicyPrincipal, PolicyResource
from acms_platform.tokens import Principal

SERVICE = "integrations"
FEED = PolicyResource("enrolment_feed", "enrol")
ATTENDANCE_FEED = PolicyResource("attendance_feed", "attendance")


@dataclass
class Context:
    session: AsyncSession
    outbox: Outbox
    database: Database
    policy: PolicyClient
    # The student key of an NSN under this deployment's secret (`Settings.student_key`).
    student_key: Callable[[str], str]


def feed_caller(principal: Principal) -> PolicyPrincipal:
    """The feeds' caller as the policy sees it: from the verified token alone (a machine
    identity is in no staff projection)."""
    attr: dict[str, object] = {"is_service": principal.is_service}
    if principal.organisation_id is not None:
        attr["org_id"] = str(principal.organisation_id)
    return PolicyPrincipal(principal.id, list(principal.roles), attr)


async def authorise_feed(
    policy: PolicyClient,
    database: Database,
    outbox: Outbox,
    principal: Principal,
    feed: PolicyResource = FEED,
) -> None:
    """403 unless the caller is the feed's machine identity; a refusal is audited."""
    if await policy.is_allowed(feed_caller(principal), feed, "report"):
        return
    decision = access_decision(
        principal,
        service=SERVICE,
        resource_kind=feed.kind,
        resource_id=feed.id,
        action="report",
        allowed=False,
    )
    await record_denial(database, outbox, decision)
    what = "enrolment changes" if feed is FEED else "daily attendance"
    raise Forbidden(f"only the Ministry's ENROL feed client may report {what}")


def _refuse_conflicts(changes: list[EnrolmentChange]) -> None:
    """Two rows of one batch for the same student and time naming different schools
    cannot both be true: refuse the batch rather than pick one."""
    seen: dict[tuple[str, datetime], int] = {}
    problems = []
    for index, change in enumerate(changes):
        first = seen.setdefault((change.nsn, change.as_of), index)
        if first != index and changes[first].school_id != change.school_id:
            problems.append(
                (
                    f"changes.{index}.as_of",
                    f"same student and as_of as changes.{first} but another school",
                )
            )
    if problems:
        raise Invalid(problems)


async def _refuse_unknown_schools(ctx: Context, changes: list[EnrolmentChange]) -> None:
    named = {c.school_id for c in changes if c.school_id is not None}
    known = await repository.known_schools(ctx.session, named)
    problems = [
        (f"changes.{index}.school_id", f"no school {change.school_id} is known here")
        for index, change in enumerate(changes)
        if change.school_id is not None and change.school_id not in known
    ]
    if problems:
        raise Invalid(problems)


def enrolment_event(student_key: str, held: Any) -> StudentEnrolmentChanged:
    """The enrolment held for a student, as the event that tells consumers of it."""
    return StudentEnrolmentChanged(
        subject_student_key=student_key,
        school_id=held.school_id,
        effective_on=held.effective_on,
        as_of=held.as_of,
    )


async def report_enrolment_changes(ctx: Context, batch: EnrolmentChanges) -> IntakeReport:
    """Record a batch from ENROL: all of it or, on any invalid row, none of it. Each change
    that moves a student publishes one `StudentEnrolmentChanged`, in this transaction."""
    changes = batch.changes
    _refuse_conflicts(changes)
    await _refuse_unknown_schools(ctx, changes)
    now = datetime.now(UTC)
    keys = [ctx.student_key(c.nsn) for c in changes]
    # One student's rows in time order; students in key order, so that two concurrent
    # batches lock the same rows in the same order (no deadlock).
    order = sorted(range(len(changes)), key=lambda i: (keys[i], changes[i].as_of, i))
    outcomes: dict[int, Outcome] = {}
    for index in order:
        change, student_key = changes[index], keys[index]
        adopted = await repository.adopt_legacy_row(
            ctx.session, legacy_student_key(change.nsn), student_key, change.nsn
        )
        held = await repository.record_if_later(
            ctx.session,
            student_key,
            change.nsn,
            change.school_id,
            change.effective_on,
            change.as_of,
            now,
        )
        if held is None:
            outcomes[index] = Outcome.IGNORED
        elif held.previous_as_of is not None and held.previous_school_id == held.school_id:
            outcomes[index] = Outcome.UNCHANGED
        else:
            outcomes[index] = Outcome.APPLIED
            await ctx.outbox.add(ctx.session, enrolment_event(student_key, held))
            continue
        if adopted:
            # Consumers knew this student by the old key: tell them the enrolment held,
            # under the new one, even though this row changed nothing.
            current = await repository.held(ctx.session, student_key)
            await ctx.outbox.add(ctx.session, enrolment_event(student_key, current))
    results = [ChangeResult(index=i, outcome=outcomes[i]) for i in range(len(changes))]
    counts = {o: sum(1 for r in results if r.outcome is o) for o in Outcome}
    return IntakeReport(
        received=len(changes),
        applied=counts[Outcome.APPLIED],
        unchanged=counts[Outcome.UNCHANGED],
        ignored=counts[Outcome.IGNORED],
        results=results,
    )
