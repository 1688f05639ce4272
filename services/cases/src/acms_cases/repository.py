"""Queries of the cases service, including the readable-cases statement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Select, exists, false, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from acms_cases.history import OPEN_CASE_MANAGERS, OPEN_PROVIDERS
from acms_cases.tables import (
    case_attendance,
    case_item_versions,
    case_items,
    case_reference_seq,
    case_team_members,
    case_timeline,
    cases,
    catchments,
    enrolments,
)
from acms_platform.access import Membership


def _on_the_team(account_id: Any) -> ColumnElement[bool]:
    """`account_id` is a current member of the case's team (correlated to `cases`)."""
    try:
        member = UUID(str(account_id))
    except ValueError:
        return false()  # not an account id: on no team
    return exists().where(
        case_team_members.c.case_id == cases.c.id,
        case_team_members.c.account_id == member,
        case_team_members.c.removed_at.is_(None),
    )


# Every attribute the case policy's view rules can mention, mapped to a column.
CASE_POLICY_COLUMNS: dict[str, Any] = {
    "request.resource.id": cases.c.id,
    "request.resource.attr.status": cases.c.status,
    "request.resource.attr.school_id": cases.c.school_id,
    "request.resource.attr.student_school_id": cases.c.student_school_id,
    "request.resource.attr.provider_id": cases.c.provider_id,
    "request.resource.attr.case_manager_id": cases.c.case_manager_id,
    "request.resource.attr.primary_contact_id": cases.c.primary_contact_id,
    "request.resource.attr.prosecution_notified": cases.c.prosecution_notified,
    "request.resource.attr.team_member_ids": Membership(_on_the_team),
    # The student's history (`history`): other open cases of the student, as EXISTS.
    "request.resource.attr.student_open_provider_ids": OPEN_PROVIDERS,
    "request.resource.attr.student_open_case_manager_ids": OPEN_CASE_MANAGERS,
}


@dataclass(frozen=True)
class ListFilters:
    status: str | None = None
    school_id: UUID | None = None
    provider_id: UUID | None = None
    case_manager_id: UUID | None = None
    text: str | None = None
    needs_attention: bool = False
    limit: int = 50
    offset: int = 0


async def get(session: AsyncSession, case_id: UUID, *, lock: bool = False) -> Row[Any] | None:
    statement = select(cases).where(cases.c.id == case_id)
    if lock:
        statement = statement.with_for_update()
    return (await session.execute(statement)).first()


async def next_reference_number(session: AsyncSession) -> int:
    return int(await session.scalar(case_reference_seq.next_value()))


async def insert_once(session: AsyncSession, values: dict[str, Any]) -> Row[Any] | None:
    """The new case, or None if its request already opened one (the unique request id)."""
    statement = (
        insert(cases)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[cases.c.referral_id])
        .returning(*cases.c)
    )
    return (await session.execute(statement)).first()


async def update(session: AsyncSession, case_id: UUID, values: dict[str, Any]) -> Row[Any]:
    statement = (
        cases.update()
        .where(cases.c.id == case_id)
        .values(version=cases.c.version + 1, **values)
        .returning(*cases.c)
    )
    return (await session.execute(statement)).one()


async def add_timeline(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(case_timeline.insert().values(**values))


async def recent_attendance(
    session: AsyncSession, case_id: UUID, limit: int = 20
) -> list[Row[Any]]:
    """The case's latest attendance records, newest first."""
    statement = (
        select(case_attendance)
        .where(case_attendance.c.case_id == case_id)
        .order_by(case_attendance.c.on.desc(), case_attendance.c.session)
        .limit(limit)
    )
    return list((await session.execute(statement)).all())


async def record_activity(session: AsyncSession, case_id: UUID, at: datetime) -> None:
    await session.execute(
        cases.update()
        .where(cases.c.id == case_id)
        .values(
            last_activity_at=func.greatest(cases.c.last_activity_at, at),
            attention_reason=None,
            attention_since=None,
        )
    )


async def timeline(session: AsyncSession, case_id: UUID, tiers: list[str]) -> list[Row[Any]]:
    statement = (
        select(case_timeline)
        .where(case_timeline.c.case_id == case_id, case_timeline.c.tier.in_(tiers))
        .order_by(case_timeline.c.id)
    )
    return list((await session.execute(statement)).all())


async def item_counts(session: AsyncSession, case_id: UUID) -> dict[tuple[str, bool], int]:
    """(kind, sensitive) → how many items of the case, by their current version."""
    statement = (
        select(case_items.c.kind, case_item_versions.c.sensitive, func.count())
        .join(
            case_item_versions,
            (case_items.c.id == case_item_versions.c.item_id)
            & (case_items.c.current_version == case_item_versions.c.version),
        )
        .where(case_items.c.case_id == case_id)
        .group_by(case_items.c.kind, case_item_versions.c.sensitive)
    )
    return {(r[0], r[1]): int(r[2]) for r in await session.execute(statement)}


async def add_item(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(case_items.insert().values(**values))


async def get_item(
    session: AsyncSession, case_id: UUID, item_id: UUID, *, lock: bool = False
) -> Row[Any] | None:
    statement = select(case_items).where(
        case_items.c.id == item_id, case_items.c.case_id == case_id
    )
    if lock:
        statement = statement.with_for_update()
    return (await session.execute(statement)).first()


async def add_item_version(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(case_item_versions.insert().values(**values))


async def set_current_version(session: AsyncSession, item_id: UUID, version: int) -> None:
    await session.execute(
        case_items.update().where(case_items.c.id == item_id).values(current_version=version)
    )


async def items_with_versions(
    session: AsyncSession,
    case_id: UUID,
    *,
    kind: str | None = None,
    item_id: UUID | None = None,
) -> list[Row[Any]]:
    """Every version of the case's items (of one kind, or one item), by item (oldest
    first) and version."""
    statement = (
        select(
            case_items.c.id,
            case_items.c.kind,
            case_items.c.current_version,
            case_items.c.created_by,
            case_items.c.created_at,
            case_item_versions.c.version,
            case_item_versions.c.text,
            case_item_versions.c.sensitive,
            case_item_versions.c.shared,
            case_item_versions.c.fields,
            case_item_versions.c.change,
            case_item_versions.c.author_id,
            case_item_versions.c.at,
        )
        .join(case_item_versions, case_item_versions.c.item_id == case_items.c.id)
        .where(case_items.c.case_id == case_id)
        .order_by(case_items.c.created_at, case_items.c.id, case_item_versions.c.version)
    )
    if kind is not None:
        statement = statement.where(case_items.c.kind == kind)
    if item_id is not None:
        statement = statement.where(case_items.c.id == item_id)
    return list((await session.execute(statement)).all())


async def current_version(session: AsyncSession, item_id: UUID, version: int) -> Row[Any]:
    statement = select(case_item_versions).where(
        case_item_versions.c.item_id == item_id, case_item_versions.c.version == version
    )
    return (await session.execute(statement)).one()


async def support_plan_of(
    session: AsyncSession, case_id: UUID, *, lock: bool = False
) -> Row[Any] | None:
    statement = select(case_items).where(
        case_items.c.case_id == case_id, case_items.c.kind == "support_plan"
    )
    if lock:
        statement = statement.with_for_update()
    return (await session.execute(statement)).first()


# --- The team --------------------------------------------------------------------------


async def teams_of(session: AsyncSession, case_ids: list[UUID]) -> dict[UUID, list[UUID]]:
    """The current team of each case (account ids, in the order they joined)."""
    if not case_ids:
        return {}
    statement = (
        select(case_team_members.c.case_id, case_team_members.c.account_id)
        .where(case_team_members.c.case_id.in_(case_ids), case_team_members.c.removed_at.is_(None))
        .order_by(case_team_members.c.id)
    )
    teams: dict[UUID, list[UUID]] = {case_id: [] for case_id in case_ids}
    for row in await session.execute(statement):
        teams[row.case_id].append(row.account_id)
    return teams


async def current_team(session: AsyncSession, case_id: UUID) -> list[Row[Any]]:
    statement = (
        select(case_team_members)
        .where(case_team_members.c.case_id == case_id, case_team_members.c.removed_at.is_(None))
        .order_by(case_team_members.c.id)
    )
    return list((await session.execute(statement)).all())


async def add_team_member(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(case_team_members.insert().values(**values))


async def end_membership(
    session: AsyncSession, case_id: UUID, account_id: UUID | None, by: str, at: Any
) -> list[UUID]:
    """End the current membership of one member (or, `account_id` None, of every member):
    the accounts that left."""
    statement = case_team_members.update().where(
        case_team_members.c.case_id == case_id, case_team_members.c.removed_at.is_(None)
    )
    if account_id is not None:
        statement = statement.where(case_team_members.c.account_id == account_id)
    result = await session.execute(
        statement.values(removed_at=at, removed_by=by).returning(case_team_members.c.account_id)
    )
    return [r.account_id for r in result]


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def readable_statement(readable: ColumnElement[bool], filters: ListFilters) -> Select[Any]:
    """Cases the caller may view (`readable` is the policy's plan, applied in SQL),
    narrowed by the caller's filters, newest first."""
    statement = select(cases).where(readable)
    for column, value in (
        (cases.c.status, filters.status),
        (cases.c.school_id, filters.school_id),
        (cases.c.provider_id, filters.provider_id),
        (cases.c.case_manager_id, filters.case_manager_id),
    ):
        if value is not None:
            statement = statement.where(column == value)
    if filters.needs_attention:
        statement = statement.where(cases.c.attention_reason.is_not(None))
    if filters.text:
        pattern = f"%{_like_escaped(filters.text)}%"
        statement = statement.where(
            or_(
                cases.c.student_name.ilike(pattern, escape="\\"),
                cases.c.nsn == filters.text,
                cases.c.reference == filters.text.upper(),
            )
        )
    return (
        statement.order_by(cases.c.opened_at.desc(), cases.c.id.desc())
        .limit(filters.limit)
        .offset(filters.offset)
    )


async def readable(
    session: AsyncSession, condition: ColumnElement[bool], filters: ListFilters
) -> list[Row[Any]]:
    return list((await session.execute(readable_statement(condition, filters))).all())


async def enrolment_of(session: AsyncSession, student_key: str) -> tuple[UUID | None] | None:
    """(school,) as ENROL last reported it (school None: enrolled nowhere), or None if no
    enrolment is held for the student."""
    row = (
        await session.execute(
            select(enrolments.c.school_id).where(enrolments.c.student_key == student_key)
        )
    ).first()
    return None if row is None else (row.school_id,)


async def set_catchment(
    session: AsyncSession, school_id: UUID, asp_id: UUID, effective_from: date
) -> None:
    """The ASP whose catchment holds the school (the assignment effective latest wins)."""
    statement = insert(catchments).values(
        school_id=school_id, asp_id=asp_id, effective_from=effective_from
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[catchments.c.school_id],
            set_={"asp_id": statement.excluded.asp_id, "effective_from": effective_from},
            where=catchments.c.effective_from <= statement.excluded.effective_from,
        )
    )


async def catchment_asp(session: AsyncSession, school_id: UUID) -> UUID | None:
    return await session.scalar(
        select(catchments.c.asp_id).where(catchments.c.school_id == school_id)
    )


async def set_student_school(
    session: AsyncSession, student_key: str, school_id: UUID | None
) -> None:
    await session.execute(
        cases.update().where(cases.c.student_key == student_key).values(student_school_id=school_id)
    )


async def lock_active_elsewhere(
    session: AsyncSession, student_key: str, school_id: UUID | None
) -> list[Row[Any]]:
    """The student's active cases whose school is not `school_id`, locked for the move."""
    statement = (
        select(cases)
        .where(
            cases.c.student_key == student_key,
            cases.c.status == "active",
            cases.c.school_id.is_distinct_from(school_id),
        )
        .order_by(cases.c.id)
        .with_for_update()
    )
    return list((await session.execute(statement)).all())
