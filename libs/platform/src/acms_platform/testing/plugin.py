"""pytest plugin loaded for the whole repo (`-p acms_platform.testing.plugin`).

Infrastructure is started once per test session through the provider in `infra.py`.
Each test session gets its own databases (`test_<run>_<service>`) and its own Kafka topic
namespace (`test-<run>.`, which prefixes its topics and consumer groups), so tests never
touch the demo stack's data or messages. A suite whose service consumes what another
suite's service publishes (cases opens a case from referrals' `ReferralAssigned`) takes a
namespace and databases of its own: `settings_for_test(..., suite="cases")` uses
`suite_namespace("cases")` (`test-<run>-cases.`) and `test_<run>_cases_<service>`. The
session drops its databases and deletes its topics and groups, every suite's, and removes
its files (`.run/test-data/<run>`) at the end (`ACMS_KEEP_TEST_DATABASES=1` keeps the
databases, to look into a failure).

As in production, each service connects as its own login role (`acms_<service>`, password
the local secret `pg_<service>` that deploy/lib/common.sh's ensure_secret also reads) and
can open only its own databases; only this plugin's administrator connection
(`ACMS_PG_ADMIN_USER`/`ACMS_PG_ADMIN_PASSWORD`, default the local `acms`) creates roles
and databases.

Kafka likewise: each service connects as its own principal (`acms-<service>`, password the
local secret `kafka_<service>`), with the ACLs `acms_platform.kafka_acls` derives from its
code, granted at session start on this session's namespace (its consumer groups by prefix:
tests start replicas and variants with suffixed groups) and removed at the end. The tests'
own clients and test-only services (the probe) connect as the admin (`kafka_admin`). Every
client connects over TLS and verifies the broker against the local CA deploy/kafka.sh made
(`KAFKA_CA_FILE`, .run/tls/kafka-ca.pem), as the services do.
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import uuid
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from acms_contracts.student_keys import student_key_for_nsn
from acms_platform import kafka_acls
from acms_platform.kafka_client import client_options
from acms_platform.settings import Settings
from acms_platform.testing.infra import (
    REPO_ROOT,
    InfrastructureProvider,
    provider_from_environment,
)
from acms_platform.testing.isolation import KafkaPicture, delete_namespace, demo_picture
from acms_platform.testing.openapi import check_responses

RUN_ID = uuid.uuid4().hex[:8]
# The student-key secret of every service a test starts (a fixed, made-up value: tests
# compute the keys they expect with it). Never a deployment's secret.
TEST_STUDENT_KEY_SECRET = "test-student-key-secret-NOT-SECRET-0123456789"
TOPIC_NAMESPACE = f"test-{RUN_ID}."
# The namespaces of the suites that asked for one (`suite_namespace`), deleted at the end
# with the session's own.
SUITE_NAMESPACES: set[str] = set()
# The suites with a namespace of their own (`suite_namespace`); each gets its services'
# Kafka ACLs at the session's start, so a new one is named here.
SUITES = ("cases", "referrals")
ADMIN_USER = os.environ.get("ACMS_PG_ADMIN_USER", "acms")
ADMIN_PASSWORD = os.environ.get("ACMS_PG_ADMIN_PASSWORD", "acms")
SECRETS_DIR = Path(os.environ.get("ACMS_RUN_DIR", REPO_ROOT / ".run")) / "secrets"
# Files a service keeps (cases' document blobs) for this session only, never the demo's.
TEST_DATA_DIR = Path(os.environ.get("ACMS_RUN_DIR", REPO_ROOT / ".run")) / "test-data" / RUN_ID
# The throwaway containers' broker (containers.py) has no SASL or TLS listener (it says
# why); the launchers' has both.
KAFKA_SASL = os.environ.get("ACMS_TEST_INFRA", "local") != "testcontainers"
# The CA the broker's certificate is verified against (deploy/lib/common.sh KAFKA_CA_FILE),
# or the one ACMS_KAFKA_CA_FILE names (ACMS_TEST_INFRA=external).
KAFKA_CA_FILE = Path(
    os.environ.get("ACMS_KAFKA_CA_FILE")
    or Path(os.environ.get("ACMS_RUN_DIR", REPO_ROOT / ".run")) / "tls" / "kafka-ca.pem"
)


def local_secret(name: str) -> str:
    """The local secret NAME, created at first use exactly as deploy/lib/common.sh's
    ensure_secret does (32 random bytes, base64url, 0600 under .run/secrets)."""
    path = SECRETS_DIR / name
    if not path.is_file() or not path.stat().st_size:
        SECRETS_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)
        value = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
        draft = path.with_name(f"{name}.{os.getpid()}.tmp")
        draft.touch(mode=0o600)
        draft.write_text(value)
        try:
            os.link(draft, path)  # the first writer wins; everyone reads what it wrote
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


# Services that run as a lesser role while their own role owns the database and migrates
# (as deploy/lib/common.sh's RUNTIME_ROLE_SERVICES): retention, whose trail is append-only.
RUNTIME_ROLE_SERVICES = frozenset({"retention"})


def service_credentials(service: str) -> dict[str, str]:
    """The settings a service connects with: its own role and that role's password (and,
    for a service that runs as a lesser role, the owner that migrates)."""
    owner = {"pg_user": f"acms_{service}", "pg_password": local_secret(f"pg_{service}")}
    if service not in RUNTIME_ROLE_SERVICES:
        return owner
    return {
        "pg_user": f"acms_{service}_app",
        "pg_password": local_secret(f"pg_{service}_app"),
        "pg_owner_user": owner["pg_user"],
        "pg_owner_password": owner["pg_password"],
    }


def kafka_tls() -> dict[str, str]:
    """The Kafka setting that makes a client connect over TLS, trusting the local CA."""
    return {"kafka_ca_file": str(KAFKA_CA_FILE)} if KAFKA_SASL else {}


def kafka_admin_credentials() -> dict[str, str]:
    """The admin's Kafka user and password (deploy/kafka.sh formats the storage with it),
    and the CA to verify the broker with: Settings keyword arguments."""
    if not KAFKA_SASL:
        return {}
    password = os.environ.get("ACMS_KAFKA_ADMIN_PASSWORD") or local_secret("kafka_admin")
    return {
        "kafka_username": os.environ.get("ACMS_KAFKA_ADMIN_USER", "admin"),
        "kafka_password": password,
        **kafka_tls(),
    }


def kafka_admin(bootstrap: str) -> dict[str, object]:
    """aiokafka keyword arguments for a test's own client: `bootstrap`, as the admin."""
    admin = kafka_admin_credentials()
    return client_options(
        bootstrap,
        admin.get("kafka_username"),
        admin.get("kafka_password"),
        admin.get("kafka_ca_file"),
    )


def kafka_credentials(service: str) -> dict[str, str]:
    """The Kafka settings a service connects with: its own principal for a service of
    the deployment, the admin for a test-only one (the probe); over TLS either way."""
    if KAFKA_SASL and service in kafka_acls.SERVICES:
        return {
            "kafka_username": kafka_acls.username(service),
            "kafka_password": local_secret(f"kafka_{service}"),
            **kafka_tls(),
        }
    return kafka_admin_credentials()


async def grant_run_acls(bootstrap: str) -> None:
    """Every service's principal, and its derived ACLs on this session's namespace and on
    each suite's (SUITES)."""
    passwords = {s: local_secret(f"kafka_{s}") for s in kafka_acls.SERVICES}
    for namespace in (TOPIC_NAMESPACE, *(suite_namespace(suite) for suite in SUITES)):
        rules = kafka_acls.deployment_acls(
            namespace=namespace,
            group_of=lambda service: f"test-{RUN_ID}-{service}",
            group_prefixed=True,
        )
        await kafka_acls.apply(kafka_admin(bootstrap), rules, passwords)


# The demo stack's Kafka as the session found it (`infrastructure` takes it at start).
DEMO_KAFKA_AT_START = pytest.StashKey[KafkaPicture]()


@pytest.fixture(scope="session")
def infrastructure(pytestconfig: pytest.Config) -> Iterator[InfrastructureProvider]:
    provider = provider_from_environment()
    provider.start(["postgres", "kafka", "cerbos", "mail"])
    bootstrap = provider.endpoints.kafka_bootstrap
    if KAFKA_SASL:
        asyncio.run(grant_run_acls(bootstrap))
    pytestconfig.stash[DEMO_KAFKA_AT_START] = asyncio.run(demo_picture(kafka_admin(bootstrap)))
    yield provider
    if os.environ.get("ACMS_KEEP_TEST_DATABASES") != "1":
        try:
            asyncio.run(drop_run_databases(settings_for_test("cleanup", provider)))
        except (OSError, asyncpg.PostgresError) as error:  # tidiness, not a test result
            warnings.warn(f"test databases of run {RUN_ID} left behind: {error!r}", stacklevel=1)
        try:
            for namespace in (TOPIC_NAMESPACE, *sorted(SUITE_NAMESPACES)):
                asyncio.run(delete_namespace(kafka_admin(bootstrap), namespace))
        except Exception as error:  # noqa: BLE001 - tidiness, not a test result
            warnings.warn(f"Kafka topics of run {RUN_ID} left behind: {error!r}", stacklevel=1)
        shutil.rmtree(TEST_DATA_DIR, ignore_errors=True)
    provider.stop()


@pytest.fixture(scope="session")
def demo_kafka_at_start(
    infrastructure: InfrastructureProvider, pytestconfig: pytest.Config
) -> KafkaPicture:
    """The demo stack's topics and consumer groups as this session found them."""
    return pytestconfig.stash[DEMO_KAFKA_AT_START]


@pytest.fixture(scope="session")
def run_id() -> str:
    return RUN_ID


def student_key_for_test(nsn: str) -> str:
    """The student key the services a test starts derive for this NSN."""
    return student_key_for_nsn(nsn, TEST_STUDENT_KEY_SECRET)


def suite_namespace(suite: str) -> str:
    """The Kafka topic namespace of one test suite (`test-<run>-<suite>.`), so that what one
    suite's services publish never reaches another suite's services. Deleted with the
    session's own namespace at the end."""
    if suite not in SUITES:
        raise ValueError(f"suite {suite!r} is not in plugin.SUITES (its Kafka ACLs)")
    namespace = f"test-{RUN_ID}-{suite}."
    SUITE_NAMESPACES.add(namespace)
    return namespace


def settings_for_test(
    service: str,
    infrastructure: InfrastructureProvider,
    *,
    suite: str | None = None,
    **overrides: object,
) -> Settings:
    """A test service's settings. With `suite`, the suite's own topic namespace and
    database (`test_<run>_<suite>_<service>`, dropped with the session's others)."""
    endpoints = infrastructure.endpoints
    namespace = TOPIC_NAMESPACE if suite is None else suite_namespace(suite)
    database = f"test_{RUN_ID}_{service}" if suite is None else f"test_{RUN_ID}_{suite}_{service}"
    values: dict[str, object] = {
        "service_name": service,
        "environment": "test",
        "pg_host": endpoints.pg_host,
        "pg_port": endpoints.pg_port,
        "database_name": database,
        **service_credentials(service.replace("-", "_")),
        "kafka_bootstrap": endpoints.kafka_bootstrap,
        **kafka_credentials(service),
        "consumer_group": f"test-{RUN_ID}-{service}",
        "topic_namespace": namespace,
        "cerbos_url": endpoints.cerbos_url,
        "smtp_host": endpoints.smtp_host,
        "smtp_port": endpoints.smtp_port,
        "public_url": endpoints.gateway_url,
        "outbox_idle_poll_seconds": 0.2,
        "student_key_secret": TEST_STUDENT_KEY_SECRET,
        "data_dir": str(TEST_DATA_DIR),
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


async def create_database(settings: Settings) -> None:
    """The settings' database, owned by the settings' role and closed to every other."""
    connection = await _admin_connection(settings)
    name = settings.database_name
    role = settings.pg_owner_user or settings.pg_user
    try:
        if role != ADMIN_USER:
            await _ensure_role(connection, role, settings.pg_owner_password or settings.pg_password)
        runtime = settings.runtime_role
        if runtime is not None:  # it may connect; its other rights come from the migrations
            await _ensure_role(connection, runtime, settings.pg_password)
        exists = await connection.fetchval("select 1 from pg_database where datname = $1", name)
        if not exists:
            await connection.execute(f'create database "{name}" owner "{role}"')
            await connection.execute(f'revoke all on database "{name}" from public')
        if runtime is not None:
            await connection.execute(f'grant connect on database "{name}" to "{runtime}"')
    finally:
        await connection.close()


async def _ensure_role(connection: asyncpg.Connection, role: str, password: str) -> None:
    # Sessions and the launchers may race to create the same role: a lock orders them.
    async with connection.transaction():
        await connection.execute("select pg_advisory_xact_lock(hashtext($1))", role)
        exists = await connection.fetchval("select 1 from pg_roles where rolname = $1", role)
        verb = "alter" if exists else "create"
        secret = password.replace("'", "''")
        await connection.execute(f"""{verb} role "{role}" login password '{secret}'""")
        # the administrator may drop the role's databases (owner rights come with membership)
        await connection.execute(f'grant "{role}" to "{ADMIN_USER}"')


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
        user=ADMIN_USER,
        password=ADMIN_PASSWORD,
        database="postgres",
    )


class ServiceClient(httpx.AsyncClient):
    """An in-process service's HTTP client, with the service's app (`start_service`)."""

    def __init__(self, app: FastAPI, **options: Any) -> None:
        super().__init__(transport=httpx.ASGITransport(app=app), **options)
        self.app = app


ServiceFactory = Callable[..., Awaitable[ServiceClient]]


@pytest_asyncio.fixture(loop_scope="session")
async def start_service(infrastructure: InfrastructureProvider) -> AsyncIterator[ServiceFactory]:
    """Start services in-process (lifespan and all) and return an HTTP client for each."""
    async with AsyncExitStack() as stack:

        async def start(
            name: str,
            create_app: Callable[[Settings], FastAPI],
            *,
            suite: str | None = None,
            **overrides: object,
        ) -> ServiceClient:
            settings = settings_for_test(name, infrastructure, suite=suite, **overrides)
            await create_database(settings)
            app = create_app(settings)
            await stack.enter_async_context(app.router.lifespan_context(app))
            await app.state.runtime.wait_started()
            client = ServiceClient(app, base_url=f"http://{name}")
            await stack.enter_async_context(client)
            check_responses(client)  # every answer against its OpenAPI response schema
            return client

        yield start
