"""Identity's accounts as every service needs them: who a caller is now (organisation,
roles, disabled, roles revoked since their token was signed, the ASPs a regional contract
manager monitors) and staff names, kept from identity's events through the inbox."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import (
    Boolean,
    Column,
    MetaData,
    String,
    Table,
    Uuid,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY, insert
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


def staff_table(metadata: MetaData) -> Table:
    return Table(
        "staff",
        metadata,
        Column("account_id", Uuid, primary_key=True),
        Column("organisation_id", Uuid, nullable=False, index=True),
        Column("display_name", String(200), nullable=False),
        Column("roles", ARRAY(String(40)), nullable=False),
        # Roles identity revoked since: a token that still lists one is refused.
        Column("revoked_roles", ARRAY(String(40)), nullable=False, server_default="{}"),
        Column("disabled", Boolean, nullable=False, server_default="false"),
    )


def monitoring_links_table(metadata: MetaData) -> Table:
    """Which ASPs each regional contract manager monitors (identity's monitoring links)."""
    return Table(
        "monitoring_links",
        metadata,
        Column("account_id", Uuid, primary_key=True),
        Column("asp_id", Uuid, primary_key=True),
    )


class StaffProjection:
    def __init__(self, metadata: MetaData) -> None:
        self.table = staff_table(metadata)
        self.monitoring_links = monitoring_links_table(metadata)

    def register(self, handlers: EventHandlers) -> None:
        handlers.on(AccountCreated)(self.record_account)
        handlers.on(RoleGranted)(self.record_role_granted)
        handlers.on(RoleRevoked)(self.record_role_revoked)
        handlers.on(AccountDisabled)(self.record_disabled)
        handlers.on(AccountEnabled)(self.record_enabled)
        handlers.on(MonitoringLinkAdded)(self.record_link_added)
        handlers.on(MonitoringLinkRemoved)(self.record_link_removed)

    async def record_account(
        self, event: AccountCreated, envelope: EventEnvelope, session: AsyncSession
    ) -> None:
        values = {"organisation_id": event.organisation_id, "display_name": event.display_name}
        await session.execute(
            insert(self.table)
            .values(account_id=event.account_id, roles=[], **values)
            .on_conflict_do_update(index_elements=["account_id"], set_=values)
        )

    async def record_role_granted(
        self, event: RoleGranted, envelope: EventEnvelope, session: AsyncSession
    ) -> None:
        staff, role = self.table, event.role.value
        await session.execute(
            staff.update()
            .where(staff.c.account_id == event.account_id)
            .values(
                roles=func.array_append(func.array_remove(staff.c.roles, role), role),
                revoked_roles=func.array_remove(staff.c.revoked_roles, role),
            )
        )

    async def record_role_revoked(
        self, event: RoleRevoked, envelope: EventEnvelope, session: AsyncSession
    ) -> None:
        staff, role = self.table, event.role.value
        await session.execute(
            staff.update()
            .where(staff.c.account_id == event.account_id)
            .values(
                roles=func.array_remove(staff.c.roles, role),
                revoked_roles=func.array_append(
                    func.array_remove(staff.c.revoked_roles, role), role
                ),
            )
        )

    async def record_disabled(
        self, event: AccountDisabled, envelope: EventEnvelope, session: AsyncSession
    ) -> None:
        await self._set_disabled(session, event.account_id, True)

    async def record_enabled(
        self, event: AccountEnabled, envelope: EventEnvelope, session: AsyncSession
    ) -> None:
        await self._set_disabled(session, event.account_id, False)

    async def _set_disabled(self, session: AsyncSession, account_id: UUID, disabled: bool) -> None:
        await session.execute(
            self.table.update()
            .where(self.table.c.account_id == account_id)
            .values(disabled=disabled)
        )

    async def record_link_added(
        self, event: MonitoringLinkAdded, envelope: EventEnvelope, session: AsyncSession
    ) -> None:
        await session.execute(
            insert(self.monitoring_links)
            .values(account_id=event.account_id, asp_id=event.asp_id)
            .on_conflict_do_nothing()
        )

    async def record_link_removed(
        self, event: MonitoringLinkRemoved, envelope: EventEnvelope, session: AsyncSession
    ) -> None:
        links = self.monitoring_links
        await session.execute(
            links.delete().where(
                (links.c.account_id == event.account_id) & (links.c.asp_id == event.asp_id)
            )
        )

    async def get_member(self, session: AsyncSession, account_id: UUID) -> Row[Any] | None:
        statement = select(self.table).where(self.table.c.account_id == account_id)
        return (await session.execute(statement)).first()

    async def names_of(self, session: AsyncSession, account_ids: set[UUID]) -> dict[UUID, str]:
        if not account_ids:
            return {}
        staff = self.table
        rows = await session.execute(
            select(staff.c.account_id, staff.c.display_name).where(
                staff.c.account_id.in_(account_ids)
            )
        )
        return {r.account_id: r.display_name for r in rows}


def create_staff_projection_tables() -> None:
    """Migration step for services that keep the staff projection (v1)."""
    import sqlalchemy as sa
    from alembic import op
    from sqlalchemy.dialects import postgresql

    op.create_table(
        "staff",
        sa.Column("account_id", sa.Uuid, nullable=False),
        sa.Column("organisation_id", sa.Uuid, nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("roles", postgresql.ARRAY(sa.String(40)), nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False, server_default="false"),
        sa.Column(
            "revoked_roles",
            postgresql.ARRAY(sa.String(40)),
            nullable=False,
            server_default="{}",
        ),
        sa.PrimaryKeyConstraint("account_id", name="pk_staff"),
    )
    op.create_index("ix_staff_organisation_id", "staff", ["organisation_id"])
    op.create_table(
        "monitoring_links",
        sa.Column("account_id", sa.Uuid, nullable=False),
        sa.Column("asp_id", sa.Uuid, nullable=False),
        sa.PrimaryKeyConstraint("account_id", "asp_id", name="pk_monitoring_links"),
    )
