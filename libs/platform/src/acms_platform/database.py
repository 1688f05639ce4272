"""Async SQLAlchemy engine and sessions. The request edge owns the transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import MetaData, text
from sqlalchemy.exc import DBAPIError
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


class Database:
    """One engine and session factory per process."""

    def __init__(self, settings: Settings) -> None:
        self.url = settings.database_url
        self.engine: AsyncEngine = create_async_engine(
            self.url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_pool_size,
            # No ping before each use (a round trip and ~0.2 ms of CPU per transaction): a
            # dropped connection fails one request with 503 (app.py) and the pool is renewed.
            pool_pre_ping=False,
            connect_args={"timeout": 5},
            # Parameters are the request's values (names, whānau and pastoral text, e-mails):
            # never part of an error's message, so never in a log.
            hide_parameters=True,
        )
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
