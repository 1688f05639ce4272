"""`ACMS_TEST_INFRA=testcontainers`: PostgreSQL, Kafka and Cerbos in throwaway containers.

For machines with a Docker engine; this project's own machines have none, and there the
provider says so before touching anything. Needs the platform's optional extra
(`uv sync --all-packages --extra testcontainers`); `testcontainers` is imported only when the
provider starts, so nothing else depends on it. The images are those of
deploy/compose/compose.yaml. The gateway is not provided: it must reach services that the tests
run on the host, which the local launchers do (`ACMS_TEST_INFRA=local`).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from acms_platform.settings import SERVICE_PORTS, Settings
from acms_platform.testing.infra import REPO_ROOT, Endpoints
from acms_platform.testing.pdp import SCHEMA_ENFORCEMENT, assemble_policies

POSTGRES_IMAGE = "postgres:15-bookworm"
KAFKA_IMAGE = "apache/kafka:4.1.1"
CERBOS_IMAGE = "ghcr.io/cerbos/cerbos:0.55.0"
COMPONENTS = ("postgres", "kafka", "cerbos")
CERBOS_CONFIG = f"""\
server:
  httpListenAddr: ":3592"
  grpcListenAddr: ":3593"
storage:
  driver: disk
  disk:
    directory: /acms/policies
    watchForChanges: false
schema:
  enforcement: {SCHEMA_ENFORCEMENT}
audit:
  enabled: false
telemetry:
  disabled: true
"""
DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"

# The containers' broker is PLAINTEXT, without SASL, TLS or ACLs, unlike the launchers' and
# compose's (SASL_SSL, deploy/compose/kafka-start.sh): the tests that depend on those skip
# here (plugin.KAFKA_SASL). Not for want of a way (kafka-start.sh's properties, a CA made
# with openssl, the storage formatted with the admin's SCRAM credential would do it) but of
# an engine to try it on: this project's machines have none, and a broker set-up nobody has
# run would fail on first use where a plain one works. Whoever first runs this provider on a
# Docker engine: port kafka-start.sh here and drop KAFKA_SASL.
# Kafka's advertised address is the host port Docker maps, known only once the container
# runs: the container waits for this script, which we copy in after start.
KAFKA_START_SCRIPT = "/tmp/acms_kafka_start.sh"  # noqa: S108 - inside the container
KAFKA_START_READY = "/tmp/acms_kafka_start.ready"  # noqa: S108 - inside the container
KAFKA_COMMAND = [
    "sh",
    "-c",
    f"while [ ! -f {KAFKA_START_READY} ]; do sleep 0.1; done; exec sh {KAFKA_START_SCRIPT}",
]
KAFKA_ENVIRONMENT = {
    "CLUSTER_ID": "nI8xzsxtTGmHr33pUtuvXQ",
    "KAFKA_NODE_ID": "1",
    "KAFKA_PROCESS_ROLES": "broker,controller",
    "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@localhost:9094",
    "KAFKA_LISTENERS": "PLAINTEXT://0.0.0.0:9092,BROKER://0.0.0.0:9093,CONTROLLER://0.0.0.0:9094",
    "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": (
        "PLAINTEXT:PLAINTEXT,BROKER:PLAINTEXT,CONTROLLER:PLAINTEXT"
    ),
    "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
    "KAFKA_INTER_BROKER_LISTENER_NAME": "BROKER",
    "KAFKA_LOG_DIRS": "/var/lib/kafka/data",
    "KAFKA_NUM_PARTITIONS": "6",
    "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
    "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
    "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
    "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR": "1",
    "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR": "1",
    "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
}


def docker_engine_problem(address: str | None = None) -> str | None:
    """Why no Docker engine answers at DOCKER_HOST (or the default socket); None if one does.

    Only unix and tcp addresses are probed; others (ssh://...) are left to the Docker client.
    """
    address = address or os.environ.get("DOCKER_HOST") or DEFAULT_DOCKER_HOST
    target = urlsplit(address)
    try:
        if target.scheme == "unix":
            if not Path(target.path).exists():
                return f"no Docker engine socket at {target.path}"
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                probe.settimeout(2)
                probe.connect(target.path)
        elif target.scheme in ("tcp", "http", "https"):
            port = target.port or (2376 if target.scheme == "https" else 2375)
            socket.create_connection((target.hostname or "localhost", port), timeout=2).close()
    except OSError as error:
        return f"cannot connect to the Docker engine at {address}: {error}"
    return None


def require_docker_engine() -> None:
    problem = docker_engine_problem()
    if problem:
        raise RuntimeError(
            f"ACMS_TEST_INFRA=testcontainers needs a running Docker engine: {problem}. "
            "Start one or set DOCKER_HOST to where it listens; on a machine without one, "
            "use ACMS_TEST_INFRA=local (the default) or external."
        )


def import_docker_container() -> Any:
    try:
        from testcontainers.core.container import DockerContainer
    except ImportError as error:
        raise RuntimeError(
            "ACMS_TEST_INFRA=testcontainers needs the platform's optional `testcontainers` "
            "extra, which is not installed: uv sync --all-packages --extra testcontainers "
            f"({error})"
        ) from None
    return DockerContainer


def wait_until(
    what: str, ready: Callable[[], bool], timeout: float, logs: Callable[[], str]
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if ready():
                return
        except (OSError, httpx.HTTPError):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{what} not ready after {timeout:.0f}s; last log lines:\n{logs()}")


def log_tail(container: Any, lines: int = 30) -> str:
    try:
        tail: bytes = container.get_wrapped_container().logs(tail=lines)
        return tail.decode(errors="replace")
    except Exception as error:  # noqa: BLE001 - only used to explain another failure
        return f"(logs unavailable: {error})"


@dataclass
class TestcontainersInfrastructure:
    """Starts each requested component once in its own container; stop() removes them all."""

    __test__ = False  # a provider, not a pytest test class

    endpoints: Endpoints = field(default_factory=Endpoints)
    startup_timeout: float = 180
    containers: dict[str, Any] = field(default_factory=dict)
    policies_dir: Path | None = None

    def start(self, components: list[str]) -> None:
        if "mail" in components:
            # The SMTP server is a small host process (aiosmtpd, deploy/mail.sh) in any case.
            from acms_platform.testing.infra import INFRA_SCRIPT

            subprocess.run([str(INFRA_SCRIPT), "up", "mail"], check=True)  # noqa: S603
            components = [c for c in components if c != "mail"]
        unknown = [c for c in components if c not in COMPONENTS]
        if unknown:
            raise RuntimeError(
                f"ACMS_TEST_INFRA=testcontainers provides {', '.join(COMPONENTS)}, not "
                f"{', '.join(unknown)}: the gateway must reach services running on the host; "
                "run those tests with ACMS_TEST_INFRA=local or external"
            )
        wanted = [c for c in COMPONENTS if c in components and c not in self.containers]
        if not wanted:
            return
        require_docker_engine()
        docker_container = import_docker_container()
        starters = {"postgres": self._postgres, "kafka": self._kafka, "cerbos": self._cerbos}
        try:
            for component in wanted:
                starters[component](docker_container)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        for container in reversed(list(self.containers.values())):
            try:
                container.stop()
            except Exception:  # noqa: BLE001, S110 - best effort: the reaper removes leftovers
                pass
        self.containers.clear()
        if self.policies_dir is not None:
            shutil.rmtree(self.policies_dir, ignore_errors=True)
            self.policies_dir = None

    def _run(self, name: str, container: Any) -> Any:
        self.containers[name] = container
        container.start()
        return container

    def _postgres(self, docker_container: Any) -> None:
        # The credentials the tests' Settings will use (ACMS_PG_USER/PASSWORD or defaults).
        defaults = Settings(service_name="identity", student_key_secret=SecretStr("unused" * 6))
        container = self._run(
            "postgres",
            docker_container(POSTGRES_IMAGE)
            .with_env("POSTGRES_USER", defaults.pg_user)
            .with_env("POSTGRES_PASSWORD", defaults.pg_password)
            .with_env("POSTGRES_DB", "postgres")
            .with_command(["postgres", "-c", "max_connections=300", "-c", "fsync=off"])
            .with_exposed_ports(5432),
        )
        wrapped = container.get_wrapped_container()

        def accepts_tcp() -> bool:
            # over TCP: the image's first-run init server listens on its socket only
            command = ["pg_isready", "-h", "127.0.0.1", "-U", defaults.pg_user, "-d", "postgres"]
            return int(wrapped.exec_run(command).exit_code) == 0

        wait_until("postgres", accepts_tcp, self.startup_timeout, lambda: log_tail(container))
        for service in SERVICE_PORTS:  # acms_<service>, as deploy/postgres.sh provisions
            sql = f"CREATE DATABASE acms_{service}"
            result = wrapped.exec_run(["psql", "-U", defaults.pg_user, "-d", "postgres", "-c", sql])
            if result.exit_code != 0:
                raise RuntimeError(f"postgres: {sql} failed: {result.output.decode()}")
        self.endpoints.pg_host = container.get_container_host_ip()
        self.endpoints.pg_port = int(container.get_exposed_port(5432))

    def _kafka(self, docker_container: Any) -> None:
        container = docker_container(KAFKA_IMAGE).with_command(KAFKA_COMMAND)
        for name, value in KAFKA_ENVIRONMENT.items():
            container = container.with_env(name, value)
        container = self._run("kafka", container.with_exposed_ports(9092))
        bootstrap = f"{container.get_container_host_ip()}:{container.get_exposed_port(9092)}"
        script = (
            f"export KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://{bootstrap},BROKER://$(hostname):9093\n"
            "exec /etc/kafka/docker/run\n"
        )
        container.copy_into_container(script.encode(), KAFKA_START_SCRIPT, 0o755)
        container.copy_into_container(b"", KAFKA_START_READY)

        def broker_started() -> bool:
            logs = container.get_wrapped_container().logs().decode(errors="replace")
            return "Kafka Server started" in logs

        wait_until("kafka", broker_started, self.startup_timeout, lambda: log_tail(container))
        self.endpoints.kafka_bootstrap = bootstrap

    def _cerbos(self, docker_container: Any) -> None:
        folder = REPO_ROOT / ".run" / "testcontainers" / uuid.uuid4().hex[:8]
        self.policies_dir = folder
        # Copied in between create and start (the image has no shell to wait with), outside
        # the image's declared volumes.
        policies = assemble_policies(folder / "policies")
        container = self._run(
            "cerbos",
            docker_container(CERBOS_IMAGE)
            .with_copy_into_container(policies, "/acms")
            .with_copy_into_container(CERBOS_CONFIG.encode(), "/acms/cerbos.yaml")
            .with_command(["server", "--config=/acms/cerbos.yaml"])
            .with_exposed_ports(3592),
        )
        url = f"http://{container.get_container_host_ip()}:{container.get_exposed_port(3592)}"

        def healthy() -> bool:
            return httpx.get(f"{url}/_cerbos/health", timeout=2).status_code == 200

        wait_until("cerbos", healthy, self.startup_timeout, lambda: log_tail(container))
        self.endpoints.cerbos_url = url
