"""What needs a case manager's attention, and the student's daily attendance.

Needs attention: an active case with nothing recorded on it by a person for
`case_idle_days` is flagged (`attention_reason`) by a scan that runs every
`case_attention_scan_seconds`, once per idle episode: the flag, a timeline entry and a
`CaseNeedsAttention` event (so notifications can be sent) are written in one
transaction. The next recorded activity clears it (`Context.record`).

Attendance: integrations publishes each day's attendance only for students with an
active case; each record is kept for every active case of the student (a later record of
the same session replaces an earlier one by `as_of`), never for a closed case.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import and_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from acms_cases.context import CASE, Context
from acms_cases.schemas import AttendanceRecord, AttendanceView, CaseStatus
from acms_cases.tables import case_attendance, case_timeline, cases
from acms_contracts import EventEnvelope
from acms_contracts.attendance import StudentAttendanceRecorded
from acms_contracts.cases import CaseNeedsAttention
from acms_platform.errors import Forbidden
from acms_platform.outbox import Outbox
from acms_platform.runtime import Runtime

log = logging.getLogger(__name__)

NO_RECENT_ACTIVITY = "no_recent_activity"
OVERDUE_CALENDAR_ENTRY = "overdue_calendar_entry"
SCAN_BATCH = 500
SYSTEM = "system"


# --- Attendance ------------------------------------------------------------------------


async def record_attendance(
    event: StudentAttendanceRecorded, envelope: EventEnvelope, session: AsyncSession
) -> None:
    """Keep the record for each active case of the student (none: dropped unstored)."""
    active = select(cases.c.id).where(
        cases.c.student_key == event.subject_student_key,
        cases.c.status == CaseStatus.ACTIVE.value,
    )
    for case_id in (await session.execute(active)).scalars():
        statement = insert(case_attendance).values(
            case_id=case_id,
            on=event.on,
            session=event.session,
            school_id=event.school_id,
            code=event.code,
            category=event.category.value,
            as_of=event.as_of,
        )
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["case_id", "on", "session"],
                set_={
                    "school_id": statement.excluded.school_id,
                    "code": statement.excluded.code,
                    "category": statement.excluded.category,
                    "as_of": statement.excluded.as_of,
                },
                # An older file's record of the same session never replaces a newer one.
                where=case_attendance.c.as_of < statement.excluded.as_of,
            )
        )


async def attendance_of(
    session: AsyncSession, case_id: UUID, since: date | None, until: date | None
) -> list[AttendanceRecord]:
    statement = select(case_attendance).where(case_attendance.c.case_id == case_id)
    if since is not None:
        statement = statement.where(case_attendance.c.on >= since)
    if until is not None:
        statement = statement.where(case_attendance.c.on <= until)
    statement = statement.order_by(case_attendance.c.on.desc(), case_attendance.c.session)
    return [
        AttendanceRecord(
            on=row.on,
            session=row.session,
            code=row.code,
            category=row.category,
            school_id=str(row.school_id),
        )
        for row in (await session.execute(statement)).all()
    ]


def summarise(records: list[AttendanceRecord]) -> dict[str, Any]:
    """Sessions by category and the share present (justified absences count as absent,
    as in the Ministry's half-day calculation)."""
    counts = Counter(r.category for r in records)
    total = len(records)
    return {
        "sessions": total,
        **{
            category: counts.get(category, 0)
            for category in ("present", "justified", "unjustified", "unknown")
        },
        "present_percent": round(100 * counts.get("present", 0) / total, 1) if total else None,
    }


async def view(
    ctx: Context, case_id: UUID, since: date | None, until: date | None
) -> AttendanceView:
    """The attendance of the case for those granted its `attendance` tier (ACCESS-MODEL 4:
    the case manager only while the case is active); 404 if the case is not visible."""
    row = await ctx.load(case_id)
    decision = await ctx.authorise(row)
    if "attendance" not in decision.tiers:
        raise Forbidden("the attendance of this case is not yours to see")
    ctx.access.returned(CASE, row.id, row.student_key, ["attendance"])
    records = await attendance_of(ctx.session, row.id, since, until)
    return AttendanceView(case_id=str(row.id), summary=summarise(records), records=records)


# --- Needs attention -------------------------------------------------------------------


async def flag_idle_cases(
    session: AsyncSession, outbox: Outbox, idle_days: int, now: datetime
) -> int:
    """Flag up to SCAN_BATCH active cases idle since before now - idle_days and not
    flagged yet; the number flagged."""
    cutoff = now - timedelta(days=idle_days)
    statement = (
        select(cases)
        .where(
            cases.c.status == CaseStatus.ACTIVE.value,
            cases.c.last_activity_at < cutoff,
            cases.c.attention_reason.is_(None),
        )
        .order_by(cases.c.last_activity_at)
        .limit(SCAN_BATCH)
        .with_for_update(skip_locked=True)
    )
    rows = (await session.execute(statement)).all()
    for row in rows:
        await session.execute(
            update(cases)
            .where(and_(cases.c.id == row.id))
            .values(attention_reason=NO_RECENT_ACTIVITY, attention_since=now)
        )
        idle = (now - row.last_activity_at).days
        await session.execute(
            case_timeline.insert().values(
                case_id=row.id,
                kind="needs_attention",
                tier="full",
                actor_id=SYSTEM,
                at=now,
                detail={"reason": NO_RECENT_ACTIVITY, "idle_days": idle},
            )
        )
        await outbox.add(
            session,
            CaseNeedsAttention(
                case_id=row.id,
                reference=row.reference,
                subject_student_key=row.student_key,
                actor_id=SYSTEM,
                at=now,
                reason=NO_RECENT_ACTIVITY,
                provider_id=row.provider_id,
                case_manager_id=row.case_manager_id,
                idle_days=idle,
            ),
        )
    return len(rows)


# The earliest calendar entry of each active, unflagged case that started before :now
# and is not done (by its current version).
_OVERDUE = text(
    """
    SELECT c.id, c.reference, c.student_key, c.provider_id, c.case_manager_id,
           e.item_id, e.sensitive, e.due_at
    FROM cases c
    CROSS JOIN LATERAL (
      SELECT i.id AS item_id, v.sensitive, (v.fields ->> 'starts_at')::timestamptz AS due_at
      FROM case_items i
      JOIN case_item_versions v ON v.item_id = i.id AND v.version = i.current_version
      WHERE i.case_id = c.id AND i.kind = 'calendar_entry'
        AND NOT COALESCE((v.fields ->> 'done')::boolean, false)
        AND (v.fields ->> 'starts_at')::timestamptz < :now
      ORDER BY due_at
      LIMIT 1
    ) e
    WHERE c.status = 'active' AND c.attention_reason IS NULL
    LIMIT :limit
    FOR UPDATE OF c SKIP LOCKED
    """
)


async def flag_overdue_entries(session: AsyncSession, outbox: Outbox, now: datetime) -> int:
    """Flag up to SCAN_BATCH active cases with a calendar entry past its start and not
    done; the number flagged. The timeline entry has the calendar entry's tier."""
    rows = (await session.execute(_OVERDUE, {"now": now, "limit": SCAN_BATCH})).all()
    for row in rows:
        await session.execute(
            update(cases)
            .where(cases.c.id == row.id)
            .values(attention_reason=OVERDUE_CALENDAR_ENTRY, attention_since=now)
        )
        await session.execute(
            case_timeline.insert().values(
                case_id=row.id,
                kind="needs_attention",
                tier="sensitive" if row.sensitive else "full",
                actor_id=SYSTEM,
                at=now,
                detail={
                    "reason": OVERDUE_CALENDAR_ENTRY,
                    "item_id": str(row.item_id),
                    "due_at": row.due_at.isoformat(),
                },
            )
        )
        await outbox.add(
            session,
            CaseNeedsAttention(
                case_id=row.id,
                reference=row.reference,
                subject_student_key=row.student_key,
                actor_id=SYSTEM,
                at=now,
                reason=OVERDUE_CALENDAR_ENTRY,
                provider_id=row.provider_id,
                case_manager_id=row.case_manager_id,
                item_id=row.item_id,
                due_at=row.due_at,
            ),
        )
    return len(rows)


async def scan_once(runtime: Runtime) -> int:
    """One full scan, a batch per transaction; the number of cases flagged (overdue
    calendar entries first: the more specific reason)."""
    flagged = 0
    for flag in (_flag_overdue, _flag_idle):
        while True:
            async with runtime.database.transaction() as session:
                count = await flag(session, runtime, datetime.now(UTC))
            flagged += count
            if count < SCAN_BATCH:
                break
    return flagged


async def _flag_overdue(session: AsyncSession, runtime: Runtime, now: datetime) -> int:
    return await flag_overdue_entries(session, runtime.outbox, now)


async def _flag_idle(session: AsyncSession, runtime: Runtime, now: datetime) -> int:
    return await flag_idle_cases(session, runtime.outbox, runtime.settings.case_idle_days, now)


async def remind(runtime: Runtime) -> None:
    """The reminder scan, for the service's lifetime (ServiceDefinition.workers)."""
    while True:
        try:
            if flagged := await scan_once(runtime):
                log.info("%d cases need attention", flagged)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - the database away: the next scan retries
            log.warning("needs-attention scan failed: %s", type(error).__name__)
        await asyncio.sleep(runtime.settings.case_attention_scan_seconds)
