"""Least privilege on PostgreSQL: each service logs in as its own role, which opens its
own database and no other service's."""

from __future__ import annotations

import asyncpg
import pytest

from acms_platform.database import Database
from acms_platform.testing.plugin import create_database, service_credentials, settings_for_test

pytestmark = pytest.mark.infra


async def _connect(settings, **credentials) -> asyncpg.Connection:
    return await asyncpg.connect(
        host=settings.pg_host,
        port=settings.pg_port,
        user=credentials.get("pg_user", settings.pg_user),
        password=credentials.get("pg_password", settings.pg_password),
        database=settings.database_name,
    )


@pytest.mark.asyncio(loop_scope="session")
async def test_a_service_opens_its_own_database_with_its_own_role(infrastructure):
    identity = settings_for_test("identity", infrastructure)
    await create_database(identity)
    assert identity.pg_user == "acms_identity"
    connection = await _connect(identity)
    try:
        assert await connection.fetchval("select current_user") == "acms_identity"
        owner = "select pg_get_userbyid(datdba) from pg_database where datname = current_database()"
        assert await connection.fetchval(owner) == "acms_identity"
    finally:
        await connection.close()


@pytest.mark.asyncio(loop_scope="session")
async def test_another_services_credentials_are_refused(infrastructure):
    identity = settings_for_test("identity", infrastructure)
    await create_database(identity)
    referrals = service_credentials("referrals")
    await create_database(settings_for_test("referrals", infrastructure))  # the role exists
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
        await _connect(identity, **referrals)
    # through the platform's own engine too: the service sees a refusal, not the data
    database = Database(identity.model_copy(update=referrals))
    try:
        with pytest.raises(Exception, match="permission denied for database"):
            await database.ping()
    finally:
        await database.dispose()


@pytest.mark.asyncio(loop_scope="session")
async def test_a_wrong_password_is_refused(infrastructure):
    identity = settings_for_test("identity", infrastructure)
    await create_database(identity)
    with pytest.raises(asyncpg.InvalidPasswordError):
        await _connect(identity, pg_password="not-the-secret")
