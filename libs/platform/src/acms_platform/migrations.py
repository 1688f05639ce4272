"""Alembic wiring shared by every service: each service's env.py calls `run_env`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from acms_platform.platform_tables import platform_metadata

# Several replicas may start at once; only one migrates at a time.
_MIGRATION_LOCK = 72_410_001


@dataclass(frozen=True)
class RuntimeGrants:
    """What the owner grants the role the service runs as, after every migration run: use
    of the database and schema, reading and writing every table and sequence, except
    that `append_only` tables may only be read and added to (never updated, deleted or
    truncated) and the migrations' own bookkeeping only read. Being no owner, the role
    cannot drop a table or a trigger, nor grant itself anything back."""

    role: str
    append_only: tuple[str, ...] = ()


def alembic_config(
    service_root: Path,
    database_url: str,
    student_key_secret: str | None = None,
    grants: RuntimeGrants | None = None,
) -> Config:
    """The service's Alembic configuration; migrations that re-key students read the
    student-key secret from it (`migration_student_key_secret`)."""
    config = Config()
    config.set_main_option("script_location", str(service_root / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    if student_key_secret is not None:
        config.attributes["student_key_secret"] = student_key_secret
    if grants is not None:
        config.attributes["runtime_grants"] = grants
    return config


def upgrade_to_head(
    service_root: Path,
    database_url: str,
    student_key_secret: str | None = None,
    grants: RuntimeGrants | None = None,
) -> None:
    """Apply the service's migrations (blocking: call it in a thread from async code)."""
    config = alembic_config(service_root, database_url, student_key_secret, grants)
    command.upgrade(config, "head")


def migration_student_key_secret() -> str:
    """The student-key secret, inside a migration that re-keys stored student keys."""
    secret: str | None = context.config.attributes.get("student_key_secret")
    if not secret:
        raise RuntimeError("this migration re-keys students: it needs ACMS_STUDENT_KEY_SECRET")
    return secret


def _migrate(connection: Connection, metadata: list[MetaData]) -> None:
    connection.execute(text("select pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK})
    try:
        context.configure(connection=connection, target_metadata=metadata)
        with context.begin_transaction():
            context.run_migrations()
            grants = context.config.attributes.get("runtime_grants")
            if grants is not None:
                _grant(connection, grants)
    finally:
        connection.execute(text("select pg_advisory_unlock(:key)"), {"key": _MIGRATION_LOCK})
        connection.commit()


def _grant(connection: Connection, grants: RuntimeGrants) -> None:
    role = _identifier(connection, grants.role)
    database = _identifier(
        connection, connection.execute(text("select current_database()")).scalar_one()
    )
    statements = [
        f"grant connect, temporary on database {database} to {role}",
        f"grant usage on schema public to {role}",
        f"grant select, insert, update, delete on all tables in schema public to {role}",
        f"grant usage, select, update on all sequences in schema public to {role}",
        f"revoke insert, update, delete, truncate on alembic_version from {role}",
    ]
    if grants.append_only:
        tables = ", ".join(_identifier(connection, t) for t in grants.append_only)
        statements.append(f"revoke update, delete, truncate on {tables} from {role}")
    for statement in statements:
        connection.execute(text(statement))


def _identifier(connection: Connection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote_identifier(name)


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
