"""Queries of the identity service, including the readable-accounts statement."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Select, and_, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from acms_identity.tables import (
    account_roles,
    accounts,
    catchments,
    organisations,
    refresh_tokens,
    role_grant_requests,
)
from acms_platform.access import Account

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


def _pending_roles_column() -> Any:
    pending = (
        select(func.coalesce(func.array_agg(role_grant_requests.c.role), []))
        .where(
            role_grant_requests.c.account_id == accounts.c.id,
            role_grant_requests.c.decided_at.is_(None),
        )
        .scalar_subquery()
    )
    return pending.label("pending_roles")


def account_statement() -> Select[Any]:
    return select(
        accounts.c.id,
        accounts.c.organisation_id,
        organisations.c.org_type,
        accounts.c.display_name,
        accounts.c.email,
        accounts.c.is_service,
        accounts.c.disabled_at,
        (accounts.c.password_hash.is_(None) & ~accounts.c.is_service).label("pending_activation"),
        _roles_column(),
        _pending_roles_column(),
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


class IdentityAccounts:
    """Identity's actor source: who a caller is now, from its own tables. Its roles are
    exact: a token listing a role the account no longer holds is refused."""

    async def account(self, session: AsyncSession, account_id: UUID) -> Account | None:
        row = await get_account(session, account_id)
        if row is None:
            return None
        return Account(
            account_id=row.id,
            organisation_id=row.organisation_id,
            disabled=row.disabled_at is not None,
            roles=frozenset(row.roles),
            roles_exact=True,
            display_name=row.display_name,
            org_type=row.org_type,
        )


# --- Accounts and roles: the writes of `service/accounts.py` ------------------------------


async def email_taken(session: AsyncSession, email: str) -> bool:
    statement = select(accounts.c.id).where(accounts.c.email == email)
    return (await session.execute(statement)).first() is not None


async def insert_account(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(insert(accounts).values(**values))


async def update_account(session: AsyncSession, account_id: UUID, values: dict[str, Any]) -> None:
    await session.execute(update(accounts).where(accounts.c.id == account_id).values(**values))


async def add_role(session: AsyncSession, account_id: UUID, role: str) -> bool:
    """Grant `role`; False if the account held it already."""
    statement = (
        pg_insert(account_roles)
        .values(account_id=account_id, role=role)
        .on_conflict_do_nothing()
        .returning(account_roles.c.role)
    )
    return (await session.execute(statement)).first() is not None


async def remove_role(session: AsyncSession, account_id: UUID, role: str) -> bool:
    """Revoke `role`; False if the account did not hold it."""
    statement = (
        delete(account_roles)
        .where(account_roles.c.account_id == account_id, account_roles.c.role == role)
        .returning(account_roles.c.role)
    )
    return (await session.execute(statement)).first() is not None


async def revoke_refresh_tokens(session: AsyncSession, account_id: UUID, at: datetime) -> None:
    await session.execute(
        update(refresh_tokens)
        .where(refresh_tokens.c.account_id == account_id, refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=at)
    )


LEAD_ROLE_OF_ORG_TYPE = {
    "school": "school_leader",
    "asp": "asp_workflow_lead",
    "isp": "isp_workflow_lead",
}


async def organisation_has_lead(
    session: AsyncSession, organisation_id: UUID, org_type: str
) -> bool:
    """Whether an account of the organisation (enabled, activated or invited) holds its
    lead role: the platform admin invites only the first."""
    role = LEAD_ROLE_OF_ORG_TYPE.get(org_type)
    if role is None:
        return False
    statement = (
        select(accounts.c.id)
        .join(account_roles, account_roles.c.account_id == accounts.c.id)
        .where(
            accounts.c.organisation_id == organisation_id,
            accounts.c.disabled_at.is_(None),
            account_roles.c.role == role,
        )
        .limit(1)
    )
    return (await session.execute(statement)).first() is not None
