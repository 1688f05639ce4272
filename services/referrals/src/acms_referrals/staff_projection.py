"""Identity's accounts as referrals needs them (primary contacts, case managers and
their names), kept from identity's account events through the inbox."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from acms_contracts import EventEnvelope
from acms_contracts.identity import (
    AccountCreated,
    AccountDisabled,
    AccountEnabled,
    MonitoringLinkAdded,
    MonitoringLinkRemoved,
    RoleGranted,
    RoleRevoked,
)
from acms_platform.messaging import EventHandlers
from acms_referrals.tables import monitoring_links, staff


async def record_account(
    event: AccountCreated, envelope: EventEnvelope, session: AsyncSession
) -> None:
    values = {"organisation_id": event.organisation_id, "display_name": event.display_name}
    await session.execute(
        insert(staff)
        .values(account_id=event.account_id, roles=[], **values)
        .on_conflict_do_update(index_elements=["account_id"], set_=values)
    )


async def record_role_granted(
    event: RoleGranted, envelope: EventEnvelope, session: AsyncSession
) -> None:
    role = event.role.value
    roles = func.array_append(func.array_remove(staff.c.roles, role), role)
    revoked = func.array_remove(staff.c.revoked_roles, role)
    await session.execute(
        staff.update()
        .where(staff.c.account_id == event.account_id)
        .values(roles=roles, revoked_roles=revoked)
    )


async def record_role_revoked(
    event: RoleRevoked, envelope: EventEnvelope, session: AsyncSession
) -> None:
    role = event.role.value
    roles = func.array_remove(staff.c.roles, role)
    revoked = func.array_append(func.array_remove(staff.c.revoked_roles, role), role)
    await session.execute(
        staff.update()
        .where(staff.c.account_id == event.account_id)
        .values(roles=roles, revoked_roles=revoked)
    )


async def record_disabled(
    event: AccountDisabled, envelope: EventEnvelope, session: AsyncSession
) -> None:
    await session.execute(
        staff.update().where(staff.c.account_id == event.account_id).values(disabled=True)
    )


async def record_enabled(
    event: AccountEnabled, envelope: EventEnvelope, session: AsyncSession
) -> None:
    await session.execute(
        staff.update().where(staff.c.account_id == event.account_id).values(disabled=False)
    )


async def record_link_added(
    event: MonitoringLinkAdded, envelope: EventEnvelope, session: AsyncSession
) -> None:
    await session.execute(
        insert(monitoring_links)
        .values(account_id=event.account_id, asp_id=event.asp_id)
        .on_conflict_do_nothing()
    )


async def record_link_removed(
    event: MonitoringLinkRemoved, envelope: EventEnvelope, session: AsyncSession
) -> None:
    await session.execute(
        monitoring_links.delete().where(
            (monitoring_links.c.account_id == event.account_id)
            & (monitoring_links.c.asp_id == event.asp_id)
        )
    )


async def monitored_asp_ids(session: AsyncSession, account_id: UUID) -> tuple[str, ...]:
    rows = await session.execute(
        select(monitoring_links.c.asp_id).where(monitoring_links.c.account_id == account_id)
    )
    return tuple(sorted(str(asp_id) for asp_id in rows.scalars()))


def register(handlers: EventHandlers) -> None:
    handlers.on(MonitoringLinkAdded)(record_link_added)
    handlers.on(MonitoringLinkRemoved)(record_link_removed)
    handlers.on(AccountCreated)(record_account)
    handlers.on(RoleGranted)(record_role_granted)
    handlers.on(RoleRevoked)(record_role_revoked)
    handlers.on(AccountDisabled)(record_disabled)
    handlers.on(AccountEnabled)(record_enabled)


async def get_member(session: AsyncSession, account_id: UUID) -> Row[Any] | None:
    return (await session.execute(select(staff).where(staff.c.account_id == account_id))).first()


async def names_of(session: AsyncSession, account_ids: set[UUID]) -> dict[UUID, str]:
    if not account_ids:
        return {}
    rows = await session.execute(
        select(staff.c.account_id, staff.c.display_name).where(staff.c.account_id.in_(account_ids))
    )
    return {r.account_id: r.display_name for r in rows}
