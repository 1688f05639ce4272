"""pytest plugin loaded for the whole repo (`-p acms_platform.testing.plugin`).

Infrastructure is started once per test session through the provider in `infra.py`.
Each test session gets its own databases (`test_<run>_<service>`) and its own Kafka topic
namespace (`test-<run>.`, which prefixes its topics and consumer groups), so tests never
touch the demo stack's data or messages. The session drops its databases and deletes its
topics and groups at the end (`ACMS_KEEP_TEST_DATABASES=1` keeps them, to look into a
failure).
"""

from __future__ import annotations

import asyncio
import os
import uuid
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack

import asyncpg
import httpx
import pytest
import pytest_asyncio

from acms_contracts.student_keys import student_key_for_nsn
from acms_platform.settings import Settings
from acms_platform.testing.infra import provider_from_environment
from acms_platform.testing.isolation import KafkaPicture, delete_namespace, demo_picture
from acms_platform.testing.openapi import check_responses

RUN_ID = uuid.uuid4().hex[:8]
# The student-key secret of every service a test starts (a fixed, made-up value: tests
# compute the keys they expect with it). Never a deployment's secret.
TEST_STUDENT_KEY_SECRET = "test-student-key-secret-NOT-SECRET-0123456789"
TOPIC_NAMESPACE = f"test-{RUN_ID}."


@pytest.fixture(scope="session")
def infrastructure():
    provider = provider_from_environment()
    provider.start(["postgres", "kafka", "cerbos"])
    provider.demo_kafka_at_start = asyncio.run(demo_picture(provider.endpoints.kafka_bootstrap))
    yield provider
    if os.environ.get("ACMS_KEEP_TEST_DATABASES") != "1":
        try:
            asyncio.run(drop_run_databases(settings_for_test("cleanup", provider)))
        except (OSError, asyncpg.PostgresError) as error:  # tidiness, not a test result
            warnings.warn(f"test databases of run {RUN_ID} left behind: {error!r}", stacklevel=1)
        try:
            asyncio.run(delete_namespace(provider.endpoints.kafka_bootstrap, TOPIC_NAMESPACE))
        except Exception as error:  # noqa: BLE001 - tidiness, not a test result
            warnings.warn(f"Kafka topics of run {RUN_ID} left behind: {error!r}", stacklevel=1)
    provider.stop()


@pytest.fixture(scope="session")
def demo_kafka_at_start(infrastructure) -> KafkaPicture:
    """The demo stack's topics and consumer groups as this session found them."""
    return infrastructure.demo_kafka_at_start


@pytest.fixture(scope="session")
def run_id() -> str:
    return RUN_ID


def student_key_for_test(nsn: str) -> str:
    """The student key the services a test starts derive for this NSN."""
    return student_key_for_nsn(nsn, TEST_STUDENT_KEY_SECRET)


def settings_for_test(service: str, infrastructure, **overrides: object) -> Settings:
    endpoints = infrastructure.endpoints
    values: dict[str, object] = {
        "service_name": service,
        "environment": "test",
        "pg_host": endpoints.pg_host,
        "pg_port": endpoints.pg_port,
        "database_name": f"test_{RUN_ID}_{service}",
        "kafka_bootstrap": endpoints.kafka_bootstrap,
        "consumer_group": f"test-{RUN_ID}-{service}",
        "topic_namespace": TOPIC_NAMESPACE,
        "cerbos_url": endpoints.cerbos_url,
        "outbox_idle_poll_seconds": 0.2,
        "student_key_secret": TEST_STUDENT_KEY_SECRET,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


async def create_database(settings: Settings) -> None:
    connection = await _admin_connection(settings)
    try:
        name = settings.database_name
        exists = await connection.fetchval("select 1 from pg_database where datname = $1", name)
        if not exists:
            await connection.execute(f'create database "{name}"')
    finally:
        await connection.close()


async def drop_run_databases(settings: Settings) -> list[str]:
    """Drops this session's databases (`test_<run>_*`), leaving other sessions' alone."""
    connection = await _admin_connection(settings)
    try:
        names = await connection.fetch(
            "select datname from pg_database where datname like $1", f"test\\_{RUN_ID}\\_%"
        )
        for (name,) in names:
            await connection.execute(f'drop database if exists "{name}" with (force)')
        return [name for (name,) in names]
    finally:
        await connection.close()


async def _admin_connection(settings: Settings) -> asyncpg.Connection:
    return await asyncpg.connect(
        host=settings.pg_host,
        port=settings.pg_port,
        user=settings.pg_user,
        password=settings.pg_password,
        database="postgres",
    )


ServiceFactory = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest_asyncio.fixture(loop_scope="session")
async def start_service(infrastructure) -> AsyncIterator[ServiceFactory]:
    """Start services in-process (lifespan and all) and return an HTTP client for each."""
    async with AsyncExitStack() as stack:

        async def start(name: str, create_app, **overrides: object) -> httpx.AsyncClient:
            settings = settings_for_test(name, infrastructure, **overrides)
            await create_database(settings)
            app = create_app(settings)
            await stack.enter_async_context(app.router.lifespan_context(app))
            await app.state.runtime.wait_started()
            client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url=f"http://{name}"
            )
            await stack.enter_async_context(client)
            client.app = app  # type: ignore[attr-defined]
            check_responses(client)  # every answer against its OpenAPI response schema
            return client

        yield start
