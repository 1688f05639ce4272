"""Async SQLAlchemy engine and sessions. The request edge owns the transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import MetaData, text
from sqlalchemy import event as sa_event
from sqlalchemy.exc import DBAPIError, InvalidatePoolError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from acms_platform.settings import Settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


def _drop_closed_connections(dbapi_connection, _record, _proxy) -> None:  # type: ignore[no-untyped-def]
    """Pool checkout hook: a connection the database has closed (a restart, a terminated
    backend: PostgreSQL says so and closes the socket, and asyncpg marks the connection
    closed as soon as the event loop reads that) is not handed to a transaction. The pool
    replaces it with a fresh one before the transaction's first statement, and invalidates
    every pooled connection made before it (SQLAlchemy's disconnect handling on checkout),
    so a PostgreSQL restart costs no request. A connection that dies while a transaction
    uses it still fails that request with 503 (app.py); nothing it did was committed."""
    if dbapi_connection.driver_connection.is_closed():
        raise InvalidatePoolError("connection closed by the database")


class Database:
    """One engine and session factory per process."""

    def __init__(self, settings: Settings) -> None:
        self.url = settings.database_url
        self.engine: AsyncEngine = create_async_engine(
            self.url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_pool_size,
            # No ping at checkout (pool_pre_ping costs a round trip per transaction:
            # benchmarks/pool_pre_ping.py); _drop_closed_connections (above) checks, without
            # I/O, what the driver already knows.
            pool_pre_ping=False,
            connect_args={"timeout": 5},
            # Parameters are the request's values (names, whānau and pastoral text, e-mails):
            # never part of an error's message, so never in a log.
            hide_parameters=True,
        )
        sa_event.listen(self.engine.sync_engine, "checkout", _drop_closed_connections)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error."""
        async with self.sessions() as session, session.begin():
            yield session

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("select 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


def describe_database_error(error: BaseException) -> str:
    """What a log may say about a database error: its class, SQLSTATE, constraint and
    statement (with placeholders). Never the driver's message, whose DETAIL quotes the
    offending values ("Key (email)=(...) already exists")."""
    if not isinstance(error, DBAPIError):
        return type(error).__name__
    cause = error.orig.__cause__ if error.orig is not None else None
    cause = cause or error.orig
    parts = [f"{type(error).__name__} ({type(cause).__name__}"]
    if sqlstate := getattr(cause, "sqlstate", None):
        parts.append(f", SQLSTATE {sqlstate}")
    if constraint := getattr(cause, "constraint_name", None):
        parts.append(f", constraint {constraint}")
    parts.append(")")
    if error.statement:
        parts.append(f" on: {' '.join(error.statement.split())[:300]}")
    return "".join(parts)
