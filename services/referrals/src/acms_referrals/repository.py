"""Queries of the referrals service, including the readable-requests statement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from cerbos.sdk.model import PlanResourcesResponse
from sqlalchemy import Select, and_, exists, or_, select, union
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from acms_platform.access import disjuncts, plan_condition
from acms_referrals.tables import catchments, organisations, referral_transitions, referrals

# Every attribute the referral policy's view rules (view, view_school) can mention, mapped
# to a column.
REFERRAL_POLICY_COLUMNS: dict[str, Any] = {
    "request.resource.id": referrals.c.id,
    "request.resource.attr.status": referrals.c.status,
    "request.resource.attr.school_id": referrals.c.school_id,
    "request.resource.attr.school_region": referrals.c.school_region,
    "request.resource.attr.school_from_enrol": referrals.c.school_from_enrol,
    "request.resource.attr.created_by": referrals.c.created_by,
    "request.resource.attr.creator_org_id": referrals.c.creator_org_id,
    "request.resource.attr.provider_id": referrals.c.provider_id,
    "request.resource.attr.assignee_id": referrals.c.assignee_id,
    "request.resource.attr.followed_student": referrals.c.followed_student,
}


def readable_condition(plan: PlanResourcesResponse) -> ColumnElement[bool]:
    """The policy's plan as a SQL condition on `referrals` (always-false for a denial;
    a missing school, provider or assignee is NULL: `acms_platform.access.plan`)."""
    return plan_condition(plan, referrals, REFERRAL_POLICY_COLUMNS)


@dataclass(frozen=True)
class ListFilters:
    status: str | None = None
    school_id: UUID | None = None
    provider_id: UUID | None = None
    assignee_id: UUID | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    text: str | None = None
    # Whether the student has another open request or active case (Central Investigation's
    # `duplicates` tier only: the list is then read from that tier's plan).
    possible_duplicate: bool | None = None
    limit: int = 50
    offset: int = 0

    @property
    def by_whereabouts(self) -> bool:
        """Whether the list is narrowed by where requests are (school, provider, case
        manager): then only requests whose whereabouts the caller sees may match, or the
        filter would tell them where a request they may not locate has gone."""
        return any(v is not None for v in (self.school_id, self.provider_id, self.assignee_id))


async def get(session: AsyncSession, referral_id: UUID) -> Row[Any] | None:
    return (await session.execute(select(referrals).where(referrals.c.id == referral_id))).first()


async def insert(session: AsyncSession, values: dict[str, Any]) -> Row[Any]:
    statement = referrals.insert().values(**values).returning(*referrals.c)
    return (await session.execute(statement)).one()


async def update_versioned(
    session: AsyncSession, referral_id: UUID, expected_version: int, values: dict[str, Any]
) -> Row[Any] | None:
    """Apply `values` only if nobody changed the request since `expected_version`."""
    statement = (
        referrals.update()
        .where(referrals.c.id == referral_id, referrals.c.version == expected_version)
        .values(version=expected_version + 1, **values)
        .returning(*referrals.c)
    )
    return (await session.execute(statement)).first()


async def add_transition(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(referral_transitions.insert().values(**values))


async def history(session: AsyncSession, referral_id: UUID) -> list[Row[Any]]:
    statement = (
        select(referral_transitions)
        .where(referral_transitions.c.referral_id == referral_id)
        .order_by(referral_transitions.c.id)
    )
    return list((await session.execute(statement)).all())


async def lock_requests_elsewhere(
    session: AsyncSession, student_key: str, school_id: UUID | None
) -> list[Row[Any]]:
    """The student's requests whose school is not `school_id`, locked for re-scoping."""
    statement = (
        select(
            referrals.c.id,
            referrals.c.status,
            referrals.c.school_id,
            referrals.c.provider_id,
            referrals.c.assignee_id,
            referrals.c.case_id,
        )
        .where(
            referrals.c.student_key == student_key,
            referrals.c.school_id.is_distinct_from(school_id),
        )
        .order_by(referrals.c.id)
        .with_for_update()
    )
    return list((await session.execute(statement)).all())


async def move_to_school(
    session: AsyncSession, referral_ids: list[UUID], school_id: UUID | None, at: datetime
) -> None:
    """ENROL's school, with its region as the organisations projection knows it (none for
    a school it does not know: then the school is in no region), marked as ENROL's. A new
    version, so that anyone editing on an older read gets 409 and reloads."""
    await session.execute(
        referrals.update()
        .where(referrals.c.id.in_(referral_ids))
        .values(
            school_id=school_id,
            school_region=_region_of_school(school_id),
            school_from_enrol=True,
            version=referrals.c.version + 1,
            updated_at=at,
        )
    )


async def transfer(session: AsyncSession, referral_id: UUID, values: dict[str, Any]) -> Row[Any]:
    """A request that followed its student (`move_to_school` gave it its new version)."""
    statement = (
        referrals.update()
        .where(referrals.c.id == referral_id)
        .values(followed_student=True, **values)
        .returning(*referrals.c)
    )
    return (await session.execute(statement)).one()


async def record_case_opened(session: AsyncSession, referral_id: UUID, case_id: UUID) -> None:
    """The case opened from the request (the first one the cases service reported)."""
    await session.execute(
        referrals.update()
        .where(referrals.c.id == referral_id, referrals.c.case_id.is_(None))
        .values(case_id=case_id)
    )


async def lock_request_of_case(session: AsyncSession, case_id: UUID) -> Row[Any] | None:
    """The request the case was opened from, locked while it follows the case."""
    statement = select(referrals).where(referrals.c.case_id == case_id).with_for_update()
    return (await session.execute(statement)).first()


async def provider_type(session: AsyncSession, provider_id: UUID) -> str:
    """`isp` if the organisations projection knows the provider as one, else `asp` (the
    cases service re-allocates only to an ASP or an ISP)."""
    found = await organisations.get(session, provider_id)
    return "isp" if found is not None and found.org_type == "isp" else "asp"


async def reallocate_with_case(
    session: AsyncSession, referral_id: UUID, values: dict[str, Any], at: datetime
) -> Row[Any]:
    """A request whose case was re-allocated: the case's new provider, a new version."""
    statement = (
        referrals.update()
        .where(referrals.c.id == referral_id)
        .values(version=referrals.c.version + 1, updated_at=at, **values)
        .returning(*referrals.c)
    )
    return (await session.execute(statement)).one()


async def follow_case(
    session: AsyncSession, referral_id: UUID, school_id: UUID | None, values: dict[str, Any]
) -> Row[Any]:
    """The request goes where its case went (`values`), at `school_id` as ENROL's school
    (`move_to_school`), lost by the school it was made at; a new version."""
    statement = (
        referrals.update()
        .where(referrals.c.id == referral_id)
        .values(
            school_id=school_id,
            school_region=_region_of_school(school_id),
            school_from_enrol=True,
            followed_student=True,
            version=referrals.c.version + 1,
            **values,
        )
        .returning(*referrals.c)
    )
    return (await session.execute(statement)).one()


async def record_case_closed(session: AsyncSession, case_id: UUID, at: datetime) -> None:
    await session.execute(
        referrals.update()
        .where(referrals.c.case_id == case_id, referrals.c.case_closed_at.is_(None))
        .values(case_closed_at=at)
    )


async def set_catchment(
    session: AsyncSession, school_id: UUID, asp_id: UUID, effective_from: Any
) -> None:
    """The ASP whose catchment holds the school (the assignment effective latest wins)."""
    statement = pg_insert(catchments).values(
        school_id=school_id, asp_id=asp_id, effective_from=effective_from
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[catchments.c.school_id],
            set_={"asp_id": statement.excluded.asp_id, "effective_from": effective_from},
            where=catchments.c.effective_from <= statement.excluded.effective_from,
        )
    )


async def catchment_asp(session: AsyncSession, school_id: UUID | None) -> UUID | None:
    if school_id is None:
        return None
    return await session.scalar(
        select(catchments.c.asp_id).where(catchments.c.school_id == school_id)
    )


def _region_of_school(school_id: UUID | None) -> Any:
    if school_id is None:
        return None
    orgs = organisations.table
    return (
        select(orgs.c.region)
        .where(orgs.c.id == school_id, orgs.c.org_type == "school")
        .scalar_subquery()
    )


# A request is open while submitted, accepted, allocated or assigned, and its case (if one
# was opened from it) has not closed. Drafts do not count; declined and withdrawn are done.
OPEN_STATUSES = ("submitted", "accepted", "allocated", "assigned")


def _is_open(table: Any) -> ColumnElement[bool]:
    return and_(table.c.status.in_(OPEN_STATUSES), table.c.case_closed_at.is_(None))


def _open_others() -> ColumnElement[bool]:
    """Another open request (or active case) of the same student exists."""
    other = referrals.alias("other")
    return exists().where(
        other.c.student_key == referrals.c.student_key,
        other.c.id != referrals.c.id,
        _is_open(other),
    )


async def open_requests_of(session: AsyncSession, student_keys: set[str]) -> list[Row[Any]]:
    """The open requests of these students, with the case opened from each, oldest first."""
    if not student_keys:
        return []
    statement = (
        select(referrals.c.id, referrals.c.student_key, referrals.c.status, referrals.c.case_id)
        .where(referrals.c.student_key.in_(student_keys), _is_open(referrals))
        .order_by(referrals.c.created_at, referrals.c.id)
    )
    return list((await session.execute(statement)).all())


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def readable_statement(readable: ColumnElement[bool], filters: ListFilters) -> Select[Any]:
    """Requests the caller may view (`readable` is the policy's plan, applied in SQL),
    narrowed by the caller's filters, in a stable order."""
    statement = select(referrals).where(readable)
    for column, value in (
        (referrals.c.status, filters.status),
        (referrals.c.school_id, filters.school_id),
        (referrals.c.provider_id, filters.provider_id),
        (referrals.c.assignee_id, filters.assignee_id),
    ):
        if value is not None:
            statement = statement.where(column == value)
    if filters.created_from is not None:
        statement = statement.where(referrals.c.created_at >= filters.created_from)
    if filters.created_to is not None:
        statement = statement.where(referrals.c.created_at < filters.created_to)
    if filters.possible_duplicate is not None:
        others = _open_others()
        statement = statement.where(others if filters.possible_duplicate else ~others)
    if filters.text:
        pattern = f"%{_like_escaped(filters.text)}%"
        statement = statement.where(
            or_(
                referrals.c.student_name.ilike(pattern, escape="\\"),
                referrals.c.nsn == filters.text,
            )
        )
    return statement.order_by(referrals.c.created_at.desc(), referrals.c.id.desc())


def page_statement(readable: ColumnElement[bool], filters: ListFilters) -> Select[Any]:
    """One page of `readable_statement`. A plan that is a disjunction (a school leader:
    requests at their school, or made by them) is read branch by branch, each in index
    order up to the page's end, and the page is taken from the union of their ids: as one
    condition PostgreSQL gathers every matching row of every branch and sorts them all."""
    branches = disjuncts(readable)
    if len(branches) < 2:
        return readable_statement(readable, filters).limit(filters.limit).offset(filters.offset)
    end = filters.offset + filters.limit
    candidates = union(
        *(
            select(branch_page.c.id)
            for branch_page in (
                readable_statement(branch, filters)
                .with_only_columns(referrals.c.id, referrals.c.created_at)
                .limit(end)
                .subquery()
                for branch in branches
            )
        )
    )
    return (
        select(referrals)
        .where(referrals.c.id.in_(candidates))
        .order_by(referrals.c.created_at.desc(), referrals.c.id.desc())
        .limit(filters.limit)
        .offset(filters.offset)
    )


async def readable(
    session: AsyncSession, readable: ColumnElement[bool], filters: ListFilters
) -> list[Row[Any]]:
    return list((await session.execute(page_statement(readable, filters))).all())
