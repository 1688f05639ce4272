"""Where the tests' real infrastructure comes from: the one place that decides.

`ACMS_TEST_INFRA` picks the provider:
- `local` (default): the project's launchers in deploy/ (PostgreSQL, Kafka, Cerbos from
  registries); components already running are reused and left running.
- `external`: everything is already running at the configured addresses; touch nothing.
- `testcontainers`: PostgreSQL, Kafka and Cerbos in throwaway containers, for machines with
  a Docker engine and the platform's `testcontainers` extra (`containers.py`). Without an
  engine (this project's machines) it stops at once and says so.
"""

from __future__ import annotations

import os
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from acms_platform.testing.containers import TestcontainersInfrastructure

REPO_ROOT = Path(__file__).resolve().parents[5]
INFRA_SCRIPT = REPO_ROOT / "deploy" / "infra.sh"


@dataclass
class Endpoints:
    pg_host: str = "127.0.0.1"
    pg_port: int = int(os.environ.get("ACMS_PG_PORT", "55432"))
    kafka_bootstrap: str = os.environ.get("ACMS_KAFKA_BOOTSTRAP", "127.0.0.1:59092")
    cerbos_url: str = os.environ.get("ACMS_CERBOS_URL", "http://127.0.0.1:3592")
    gateway_url: str = f"http://127.0.0.1:{os.environ.get('ACMS_GATEWAY_PORT', '8080')}"
    # The local SMTP server (deploy/mail.sh); its Maildir is read by acms_identity.local_mail.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = int(os.environ.get("ACMS_SMTP_PORT", "2525"))


class InfrastructureProvider(Protocol):
    endpoints: Endpoints

    def start(self, components: list[str]) -> None: ...

    def stop(self) -> None: ...


def port_open(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


@dataclass
class LocalLaunchers:
    """Starts components with deploy/infra.sh; stops only those it started."""

    endpoints: Endpoints = field(default_factory=Endpoints)
    started: list[str] = field(default_factory=list)

    def _running(self, component: str) -> bool:
        result = subprocess.run(  # noqa: S603 - our own script
            [str(INFRA_SCRIPT), "status", component], capture_output=True, text=True
        )
        return result.returncode == 0

    def start(self, components: list[str]) -> None:
        wanted = [c for c in components if not self._running(c)]
        if wanted:
            subprocess.run([str(INFRA_SCRIPT), "up", *wanted], check=True)  # noqa: S603
            self.started += wanted

    def stop(self) -> None:
        if self.started and not os.environ.get("ACMS_KEEP_INFRA"):
            subprocess.run([str(INFRA_SCRIPT), "down", *self.started], check=False)  # noqa: S603
        self.started = []

    def control(self, action: str, component: str) -> None:
        """For fault tests: `deploy/<component>.sh stop|start|kill`."""
        script = REPO_ROOT / "deploy" / f"{component}.sh"
        subprocess.run([str(script), action], check=True)  # noqa: S603


@dataclass
class ExternalInfrastructure:
    endpoints: Endpoints = field(default_factory=Endpoints)

    def start(self, components: list[str]) -> None:
        return None

    def stop(self) -> None:
        return None


def provider_from_environment() -> (
    LocalLaunchers | ExternalInfrastructure | TestcontainersInfrastructure
):
    choice = os.environ.get("ACMS_TEST_INFRA", "local")
    if choice == "local":
        return LocalLaunchers()
    if choice == "external":
        return ExternalInfrastructure()
    if choice == "testcontainers":
        # imported here: the module imports this one, and needs nothing unless chosen
        from acms_platform.testing.containers import TestcontainersInfrastructure

        return TestcontainersInfrastructure()
    raise RuntimeError(f"ACMS_TEST_INFRA={choice!r}: expected local, external or testcontainers")
