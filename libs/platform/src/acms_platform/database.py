"""Async SQLAlchemy engine and sessions. The request edge owns the transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import MetaData, text
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
            # Each pooled connection is pinged when a transaction takes it: one that the
            # database dropped (a restart, a terminated backend) is replaced by a fresh one
            # before the transaction's first statement, and a failed ping invalidates every
            # connection of the pool older than it (SQLAlchemy's pessimistic disconnect
            # handling), so a PostgreSQL restart costs no request. The price is one round
            # trip per checkout, measured in benchmarks/README.md. A connection lost in the
            # middle of a transaction still fails that request with 503 (app.py): what it
            # did is rolled back, and retrying it is the client's call.
            pool_pre_ping=True,
            connect_args={"timeout": 5},
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
