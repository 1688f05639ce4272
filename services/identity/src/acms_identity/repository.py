"""Queries of the identity service, including the readable-accounts statement."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import Select, and_, func, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from acms_identity.tables import account_roles, accounts, catchments, organisations

# Every attribute the identity_account policy can mention, mapped to a column.
ACCOUNT_POLICY_COLUMNS: dict[str, Any] = {
    "request.resource.id": accounts.c.id,
    "request.resource.attr.org_id": accounts.c.organisation_id,
    "request.resource.attr.org_type": organisations.c.org_type,
}
ACCOUNT_POLICY_JOINS = [(organisations, accounts.c.organisation_id == organisations.c.id)]


async def get_organisation(session: AsyncSession, organisation_id: UUID) -> Row[Any] | None:
    statement = select(organisations).where(organisations.c.id == organisation_id)
    return (await session.execute(statement)).first()


def _roles_column() -> Any:
    roles = (
        select(func.coalesce(func.array_agg(account_roles.c.role), []))
        .where(account_roles.c.account_id == accounts.c.id)
        .scalar_subquery()
    )
    return roles.label("roles")


def account_statement() -> Select[Any]:
    return select(
        accounts.c.id,
        accounts.c.organisation_id,
        organisations.c.org_type,
        accounts.c.display_name,
        accounts.c.email,
        accounts.c.is_service,
        accounts.c.disabled_at,
        _roles_column(),
    ).join(organisations, accounts.c.organisation_id == organisations.c.id)


async def get_account(session: AsyncSession, account_id: UUID) -> Row[Any] | None:
    statement = account_statement().where(accounts.c.id == account_id)
    return (await session.execute(statement)).first()


async def readable_accounts(
    session: AsyncSession,
    readable: ColumnElement[bool],
    *,
    organisation_id: UUID | None,
    limit: int,
    offset: int,
) -> list[Row[Any]]:
    """Accounts the caller may view: `readable` is the policy's plan, applied in SQL."""
    statement = account_statement().where(readable)
    if organisation_id is not None:
        statement = statement.where(accounts.c.organisation_id == organisation_id)
    statement = statement.order_by(accounts.c.display_name, accounts.c.id)
    return list((await session.execute(statement.limit(limit).offset(offset))).all())


async def account_roles_of(session: AsyncSession, account_id: UUID) -> list[str]:
    statement = select(account_roles.c.role).where(account_roles.c.account_id == account_id)
    return list((await session.execute(statement)).scalars())


async def current_catchment(session: AsyncSession, school_id: UUID, on: date) -> Row[Any] | None:
    statement = (
        select(catchments)
        .where(and_(catchments.c.school_id == school_id, catchments.c.effective_from <= on))
        .order_by(catchments.c.effective_from.desc())
        .limit(1)
    )
    return (await session.execute(statement)).first()
