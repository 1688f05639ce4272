"""Cross-service fixtures: services as real processes, the probe service, the gateway."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from acms_platform.settings import SERVICE_PORTS
from acms_platform.testing.infra import REPO_ROOT, LocalLaunchers
from acms_platform.testing.plugin import RUN_ID, create_database, settings_for_test
from acms_platform.testing.processes import ServiceProcess, settings_environment

PROBE_DIR = Path(__file__).parent / "probe"
PROBE_PORT = 8199
SERVICES = ("identity", "referrals", "cases", "integrations", "reporting", "retention")
SERVICES_SH = REPO_ROOT / "deploy" / "services.sh"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Fault tests stop and kill shared infrastructure: run them after everything else."""
    # A module that checks what the whole run did (RUNS_LAST) comes after even those.
    items.sort(
        key=lambda item: (
            item.get_closest_marker("fault") is not None,
            getattr(item.module, "RUNS_LAST", False),
        )
    )


@pytest.fixture
def launchers(infrastructure) -> LocalLaunchers:
    if not isinstance(infrastructure, LocalLaunchers):
        pytest.skip("fault tests control the infrastructure: needs ACMS_TEST_INFRA=local")
    return infrastructure


@pytest.fixture(scope="session")
def probe_settings(infrastructure):
    settings = settings_for_test("probe", infrastructure, port=PROBE_PORT)
    asyncio.run(create_database(settings))
    return settings


@pytest.fixture
def probe_process(probe_settings):
    """Returns a factory of probe processes; every process started is stopped after."""
    started: list[ServiceProcess] = []

    def start(**extra_env: str) -> ServiceProcess:
        process = ServiceProcess(
            "probe_service:create", probe_settings, app_dir=PROBE_DIR, extra_env=extra_env
        )
        started.append(process)
        return process.start()

    yield start
    for process in started:
        process.stop()


ADMIN_EMAIL = "platform-admin@test.example.org"
ADMIN_PASSWORD = "test-password-NOT-SECRET"


class RunningSystem:
    """The six services as processes on their standard ports, behind the real gateway."""

    admin_email = ADMIN_EMAIL

    def __init__(self, processes: dict[str, ServiceProcess], gateway_url: str) -> None:
        self.processes = processes
        self.gateway_url = gateway_url
        self._admin_headers: dict[str, str] | None = None

    def admin_headers(self) -> dict[str, str]:
        """A platform admin's bearer token: bootstrapped once (an invitation, like every
        account), activated from its mail and signed in, all through the gateway."""
        if self._admin_headers is None:
            identity = self.processes["identity"]
            subprocess.run(
                [sys.executable, "-m", "acms_identity.bootstrap", "--email", ADMIN_EMAIL],
                env=os.environ | settings_environment(identity.settings),
                check=True,
                capture_output=True,
            )
            try:  # bootstrapped by an earlier module of this session: activated already
                self._admin_headers = self.sign_in(ADMIN_EMAIL)
            except httpx.HTTPStatusError:
                self.activate(ADMIN_EMAIL)
                self._admin_headers = self.sign_in(ADMIN_EMAIL)
        return self._admin_headers

    def activate(self, email: str, password: str = ADMIN_PASSWORD) -> None:
        """What the invitee does: the token from the mail that arrived, then POST /activate."""
        from acms_identity.local_mail import token_for

        response = httpx.post(
            f"{self.gateway_url}/api/identity/activate",
            json={"token": token_for(email), "password": password},
            timeout=30,
        )
        assert response.status_code == 204, response.text

    def create_accounts(self, organisation_id: str, roles_by_email: dict[str, str]) -> dict:
        """Accounts invited by the system (identity's own use case, as the demo and
        bootstrap do), each then activated from its mail through the gateway. Email → id."""
        return asyncio.run(self._create_accounts(organisation_id, roles_by_email))

    async def _create_accounts(self, organisation_id: str, roles_by_email: dict[str, str]) -> dict:
        from acms_identity.bootstrap import system_context
        from acms_identity.schemas import CreateAccount
        from acms_identity.service import accounts
        from acms_platform.database import Database

        database = Database(self.processes["identity"].settings)
        created = {}
        try:
            async with database.transaction() as session:
                ctx = system_context(database, session, self.processes["identity"].settings)
                for email, role in roles_by_email.items():
                    command = CreateAccount(
                        organisation_id=organisation_id,
                        display_name=email.split("@")[0],
                        email=email,
                        roles=[role],
                    )
                    created[email] = str((await accounts.create_account(ctx, None, command)).id)
        finally:
            await database.dispose()
        for email in created:
            await asyncio.to_thread(self.activate, email)
        return created

    def sign_in(self, email: str, password: str = ADMIN_PASSWORD) -> dict[str, str]:
        response = httpx.post(
            f"{self.gateway_url}/api/identity/sign-in",
            json={"email": email, "password": password},
            timeout=30,
        )
        response.raise_for_status()
        return {"authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture(scope="module")
def system(infrastructure, request):
    """A module may set some services' settings: `SYSTEM_SETTINGS = {service: {...}}`."""
    infrastructure.start(["nginx"])
    module_settings = getattr(request.module, "SYSTEM_SETTINGS", {})
    names = ("identity", "referrals", "cases", "integrations", "reporting", "retention")
    processes: dict[str, ServiceProcess] = {}
    try:
        for name in names:
            # Own database and consumer group: in-process apps of the same service may be
            # alive (session fixtures) with a paused event loop, holding partitions.
            settings = settings_for_test(
                name,
                infrastructure,
                database_name=f"test_{RUN_ID}_{name}_e2e",
                consumer_group=f"test-{RUN_ID}-{name}-e2e",
                # every test client is 127.0.0.1: identity's tests cover the per-client throttle
                sign_in_free_failures_client=100_000,
                **module_settings.get(name, {}),
            )
            asyncio.run(create_database(settings))
            processes[name] = ServiceProcess(f"acms_{name}.app:create", settings)
            processes[name].launch()
        for process in processes.values():
            process.wait_ready(timeout=300)  # six imports at once on a busy machine
        yield RunningSystem(processes, infrastructure.endpoints.gateway_url)
    finally:
        for process in processes.values():
            process.stop()


@pytest.fixture(scope="module")
def gateway(system):
    """An HTTP client of the running system's gateway."""
    with httpx.Client(base_url=system.gateway_url, timeout=120) as client:
        yield client


def service_url(service: str) -> str:
    return f"http://127.0.0.1:{SERVICE_PORTS[service]}"


def services_sh(action: str, service: str, env: dict[str, str] | None = None) -> None:
    subprocess.run([str(SERVICES_SH), action, service], check=True, env=env, timeout=180)


class SupervisedSystem(RunningSystem):
    """The six services as deploy/services.sh runs them: each under its supervisor."""

    def __init__(self, environments: dict[str, dict[str, str]], settings, gateway_url) -> None:
        processes = {
            name: SimpleNamespace(settings=s, url=service_url(name)) for name, s in settings.items()
        }
        super().__init__(processes, gateway_url)  # type: ignore[arg-type]
        self.environments = environments

    def start(self, service: str) -> None:
        """Returns once the service's /readyz answers 200."""
        services_sh("start", service, self.environments[service])

    def stop(self, service: str) -> None:
        services_sh("stop", service, self.environments[service])


@pytest.fixture(scope="module")
def supervised(infrastructure):
    """The six services started by deploy/services.sh (so supervised, and started again
    when they die) with this session's databases and topic namespace, on their standard
    ports behind the gateway; stopped, supervisors first, at the end of the module."""
    if not isinstance(infrastructure, LocalLaunchers):
        pytest.skip("runs the services with deploy/services.sh: needs ACMS_TEST_INFRA=local")
    infrastructure.start(["nginx"])
    environments, settings = {}, {}
    for name in SERVICES:
        settings[name] = settings_for_test(
            name,
            infrastructure,
            database_name=f"test_{RUN_ID}_{name}_sup",
            consumer_group=f"test-{RUN_ID}-{name}-sup",
            # The relay is woken by NOTIFY at every commit; its idle poll would be the first
            # to meet connections a PostgreSQL restart dropped, and renew the pool before any
            # request could (which the restart test must not depend on).
            outbox_idle_poll_seconds=30,
        )
        asyncio.run(create_database(settings[name]))
        environments[name] = os.environ | settings_environment(settings[name])
    system = SupervisedSystem(environments, settings, infrastructure.endpoints.gateway_url)
    try:
        with ThreadPoolExecutor(len(SERVICES)) as pool:
            list(pool.map(system.start, SERVICES))
        yield system
    finally:
        for name in SERVICES:
            subprocess.run([str(SERVICES_SH), "stop", name], check=False, timeout=120)
