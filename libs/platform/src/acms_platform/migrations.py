"""Alembic wiring shared by every service: each service's env.py calls `run_env`."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from acms_platform.platform_tables import platform_metadata

# Several replicas may start at once; only one migrates at a time.
_MIGRATION_LOCK = 72_410_001


def alembic_config(
    service_root: Path, database_url: str, student_key_secret: str | None = None
) -> Config:
    """The service's Alembic configuration; migrations that re-key students read the
    student-key secret from it (`migration_student_key_secret`)."""
    config = Config()
    config.set_main_option("script_location", str(service_root / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    if student_key_secret is not None:
        config.attributes["student_key_secret"] = student_key_secret
    return config


def upgrade_to_head(
    service_root: Path, database_url: str, student_key_secret: str | None = None
) -> None:
    """Apply the service's migrations (blocking: call it in a thread from async code)."""
    command.upgrade(alembic_config(service_root, database_url, student_key_secret), "head")


def migration_student_key_secret() -> str:
    """The student-key secret, inside a migration that re-keys stored student keys."""
    secret = context.config.attributes.get("student_key_secret")
    if not secret:
        raise RuntimeError("this migration re-keys students: it needs ACMS_STUDENT_KEY_SECRET")
    return secret


def _migrate(connection: Connection, metadata: list[MetaData]) -> None:
    connection.execute(text("select pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK})
    try:
        context.configure(connection=connection, target_metadata=metadata)
        with context.begin_transaction():
            context.run_migrations()
    finally:
        connection.execute(text("select pg_advisory_unlock(:key)"), {"key": _MIGRATION_LOCK})
        connection.commit()


async def _run_online(url: str, metadata: list[MetaData]) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_migrate, metadata)
    finally:
        await engine.dispose()


def run_env(service_metadata: MetaData) -> None:
    """Body of a service's migrations/env.py."""
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is not set"
    asyncio.run(_run_online(url, [platform_metadata, service_metadata]))


def create_platform_tables() -> None:
    """Migration step shared by every service's first revision (platform schema v1)."""
    import sqlalchemy as sa
    from alembic import op
    from sqlalchemy.dialects import postgresql

    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("event_id", sa.Uuid, nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("envelope", postgresql.JSONB, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("event_id", name="uq_outbox_event_id"),
    )
    # Wakes the relay at commit (and only if the transaction commits); once per statement.
    op.execute(
        "create function outbox_notify() returns trigger language plpgsql as $$ "
        "begin perform pg_notify('acms_outbox', ''); return null; end $$"
    )
    op.execute(
        "create trigger outbox_notify after insert on outbox "
        "for each statement execute function outbox_notify()"
    )
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(200), nullable=False),
        sa.Column("event_id", sa.Uuid, nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column(
            "processed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("consumer", "event_id", name="pk_inbox"),
    )
