"""Cross-service fixtures: services as real processes, the probe service, the gateway."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from acms_platform.testing.infra import LocalLaunchers
from acms_platform.testing.plugin import create_database, settings_for_test
from acms_platform.testing.processes import ServiceProcess, settings_environment

PROBE_DIR = Path(__file__).parent / "probe"
PROBE_PORT = 8199


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Fault tests stop and kill shared infrastructure: run them after everything else."""
    items.sort(key=lambda item: item.get_closest_marker("fault") is not None)


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

    def __init__(self, processes: dict[str, ServiceProcess], gateway_url: str) -> None:
        self.processes = processes
        self.gateway_url = gateway_url
        self._admin_headers: dict[str, str] | None = None

    def admin_headers(self) -> dict[str, str]:
        """A platform admin's bearer token: bootstrapped once, signed in via the gateway."""
        if self._admin_headers is None:
            identity = self.processes["identity"]
            subprocess.run(
                [sys.executable, "-m", "acms_identity.bootstrap", "--email", ADMIN_EMAIL],
                env=os.environ
                | settings_environment(identity.settings)
                | {"ACMS_BOOTSTRAP_PASSWORD": ADMIN_PASSWORD},
                check=True,
                capture_output=True,
            )
            response = httpx.post(
                f"{self.gateway_url}/api/identity/sign-in",
                json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
                timeout=30,
            )
            response.raise_for_status()
            self._admin_headers = {"authorization": f"Bearer {response.json()['access_token']}"}
        return self._admin_headers


@pytest.fixture(scope="module")
def system(infrastructure):
    infrastructure.start(["nginx"])
    names = ("identity", "referrals", "cases", "integrations", "reporting", "retention")
    processes: dict[str, ServiceProcess] = {}
    try:
        for name in names:
            settings = settings_for_test(name, infrastructure)
            asyncio.run(create_database(settings))
            processes[name] = ServiceProcess(f"acms_{name}.app:create", settings)
            processes[name].launch()
        for process in processes.values():
            process.wait_ready(timeout=120)
        yield RunningSystem(processes, infrastructure.endpoints.gateway_url)
    finally:
        for process in processes.values():
            process.stop()
