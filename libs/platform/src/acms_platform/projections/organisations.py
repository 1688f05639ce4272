"""The local projection of identity's organisations that every other service keeps.

Services never call identity to learn about an organisation: they read this table, kept
up to date from identity's events through the inbox.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Column, DateTime, MetaData, String, Table, Uuid, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from acms_contracts import EventEnvelope
from acms_contracts.identity import OrganisationRegistered, OrganisationRenamed
from acms_platform.messaging import EventHandlers


def organisations_table(metadata: MetaData) -> Table:
    return Table(
        "organisations",
        metadata,
        Column("id", Uuid, primary_key=True),
        Column("org_type", String(40), nullable=False),
        Column("name", String(200), nullable=False),
        Column("region", String(100)),
        Column("parent_school_id", Uuid),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


class OrganisationView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    org_type: str
    name: str
    region: str | None
    parent_school_id: UUID | None
    updated_at: datetime


class OrganisationProjection:
    def __init__(self, metadata: MetaData) -> None:
        self.table = organisations_table(metadata)

    def register(self, handlers: EventHandlers) -> None:
        handlers.on(OrganisationRegistered)(self.record_registration)
        handlers.on(OrganisationRenamed)(self.record_rename)

    async def record_registration(
        self, event: OrganisationRegistered, envelope: EventEnvelope, session: AsyncSession
    ) -> None:
        values = {
            "org_type": event.org_type.value,
            "name": event.name,
            "region": event.region,
            "parent_school_id": event.parent_school_id,
            "updated_at": envelope.occurred_at,
        }
        await session.execute(
            insert(self.table)
            .values(id=event.organisation_id, **values)
            .on_conflict_do_update(index_elements=["id"], set_=values)
        )

    async def record_rename(
        self, event: OrganisationRenamed, envelope: EventEnvelope, session: AsyncSession
    ) -> None:
        await session.execute(
            self.table.update()
            .where(self.table.c.id == event.organisation_id)
            .values(name=event.name, updated_at=envelope.occurred_at)
        )

    async def get(self, session: AsyncSession, organisation_id: UUID) -> OrganisationView | None:
        row = (
            await session.execute(select(self.table).where(self.table.c.id == organisation_id))
        ).first()
        return OrganisationView.model_validate(row) if row else None


def create_organisations_projection_table() -> None:
    """Migration step for services that keep the organisations projection (v1)."""
    import sqlalchemy as sa
    from alembic import op

    op.create_table(
        "organisations",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("org_type", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("region", sa.String(100)),
        sa.Column("parent_school_id", sa.Uuid),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("id", name="pk_organisations"),
    )
