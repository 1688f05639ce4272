"""ACMS_TEST_INFRA=testcontainers: a clear stop where it cannot run, and the right containers
where it can (exercised here against a stand-in for testcontainers, since no engine runs here)."""

import socket
import sys
import tempfile
import types
from pathlib import Path

import pytest

from acms_platform.testing import containers
from acms_platform.testing.containers import TestcontainersInfrastructure, assemble_policies
from acms_platform.testing.infra import LocalLaunchers, provider_from_environment


@pytest.fixture
def listening_socket():
    """A unix socket that accepts connections, standing in for a Docker engine's."""
    folder = Path(tempfile.mkdtemp(prefix="acms-"))  # short path: AF_UNIX limits its length
    path = folder / "docker.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen()
    yield path
    server.close()
    path.unlink()
    folder.rmdir()


def test_local_launchers_stay_the_default(monkeypatch):
    monkeypatch.delenv("ACMS_TEST_INFRA", raising=False)
    assert isinstance(provider_from_environment(), LocalLaunchers)


def test_testcontainers_without_a_docker_engine_stops_with_a_clear_message(monkeypatch):
    monkeypatch.setenv("ACMS_TEST_INFRA", "testcontainers")
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/acms/docker.sock")
    provider = provider_from_environment()
    with pytest.raises(RuntimeError) as stopped:
        provider.start(["postgres", "kafka", "cerbos"])
    message = str(stopped.value)
    assert "ACMS_TEST_INFRA=testcontainers needs a running Docker engine" in message
    assert "no Docker engine socket at /nonexistent/acms/docker.sock" in message
    assert "ACMS_TEST_INFRA=local" in message
    assert stopped.value.__cause__ is None and not provider.containers


def test_a_socket_nobody_answers_on_is_no_engine(monkeypatch):
    with tempfile.TemporaryDirectory(prefix="acms-") as folder:
        path = Path(folder) / "docker.sock"
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as dead:
            dead.bind(str(path))  # bound, never listening: connections are refused
            monkeypatch.setenv("DOCKER_HOST", f"unix://{path}")
            with pytest.raises(RuntimeError, match="cannot connect to the Docker engine"):
                TestcontainersInfrastructure().start(["postgres"])


def test_an_engine_without_the_extra_says_what_to_install(monkeypatch, listening_socket):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{listening_socket}")
    monkeypatch.setitem(sys.modules, "testcontainers", None)  # as if not installed
    monkeypatch.setitem(sys.modules, "testcontainers.core.container", None)
    with pytest.raises(RuntimeError, match="uv sync --all-packages --extra testcontainers"):
        TestcontainersInfrastructure().start(["postgres"])


def test_the_gateway_is_left_to_the_local_launchers():
    with pytest.raises(RuntimeError, match="ACMS_TEST_INFRA=local or external"):
        TestcontainersInfrastructure().start(["nginx"])


class FakeContainer:
    """Records what the provider asks of testcontainers' DockerContainer."""

    started: list["FakeContainer"] = []
    next_port = 32768
    fail_image: str | None = None

    def __init__(self, image):
        self.image, self.env, self.ports, self.command = image, {}, [], None
        self.copied_before_start, self.copied_after_start = [], []
        self.running = self.stopped = False

    def with_env(self, name, value):
        self.env[name] = value
        return self

    def with_exposed_ports(self, *ports):
        self.ports += ports
        return self

    def with_command(self, command):
        self.command = command
        return self

    def with_copy_into_container(self, source, destination, mode=0o644):
        self.copied_before_start.append((source, destination))
        return self

    def copy_into_container(self, source, destination, mode=0o644):
        self.copied_after_start.append((source, destination))

    def start(self):
        if self.image == FakeContainer.fail_image:
            raise RuntimeError(f"{self.image} failed to start")
        self.running = True
        FakeContainer.started.append(self)
        self.mapped = {}
        for port in self.ports:
            self.mapped[port] = FakeContainer.next_port
            FakeContainer.next_port += 1
        return self

    def stop(self):
        self.stopped = True

    def get_container_host_ip(self):
        return "docker-host"

    def get_exposed_port(self, port):
        return self.mapped[port]

    def get_wrapped_container(self):
        return types.SimpleNamespace(
            exec_run=lambda command: types.SimpleNamespace(exit_code=0, output=b""),
            logs=lambda **_: b"[KafkaRaftServer nodeId=1] Kafka Server started\n",
        )


@pytest.fixture
def fake_engine(monkeypatch):
    FakeContainer.started, FakeContainer.fail_image = [], None
    module = types.ModuleType("testcontainers.core.container")
    module.DockerContainer = FakeContainer
    monkeypatch.setitem(sys.modules, "testcontainers.core.container", module)
    monkeypatch.setattr(containers, "docker_engine_problem", lambda: None)
    ok = types.SimpleNamespace(status_code=200)
    monkeypatch.setattr(containers.httpx, "get", lambda url, timeout: ok)
    return FakeContainer


def test_the_containers_fill_the_endpoints_the_tests_use(fake_engine):
    provider = TestcontainersInfrastructure()
    provider.start(["postgres", "kafka", "cerbos"])
    postgres, kafka, cerbos = fake_engine.started
    assert (postgres.image, kafka.image) == (containers.POSTGRES_IMAGE, containers.KAFKA_IMAGE)
    assert cerbos.image == containers.CERBOS_IMAGE
    endpoints = provider.endpoints
    assert (endpoints.pg_host, endpoints.pg_port) == ("docker-host", postgres.mapped[5432])
    assert endpoints.kafka_bootstrap == f"docker-host:{kafka.mapped[9092]}"
    assert endpoints.cerbos_url == f"http://docker-host:{cerbos.mapped[3592]}"

    # Kafka advertises the mapped address, known only once it runs
    script = dict((d, s) for s, d in kafka.copied_after_start)[containers.KAFKA_START_SCRIPT]
    assert f"PLAINTEXT://docker-host:{kafka.mapped[9092]}" in script.decode()
    assert kafka.env["KAFKA_PROCESS_ROLES"] == "broker,controller"

    # Cerbos gets every service's policies, as deploy/cerbos.sh assembles them
    policies = next(s for s, d in cerbos.copied_before_start if d == "/acms")
    services_with_policies = {
        p.parent.name for p in containers.REPO_ROOT.glob("services/*/policies")
    }
    assert {p.name for p in policies.iterdir()} >= services_with_policies

    provider.start(["postgres"])  # already running: reused
    assert len(fake_engine.started) == 3
    provider.stop()
    assert all(c.stopped for c in fake_engine.started) and not policies.exists()


def test_a_component_that_fails_to_start_takes_the_started_ones_down(fake_engine):
    fake_engine.fail_image = containers.KAFKA_IMAGE
    provider = TestcontainersInfrastructure()
    with pytest.raises(RuntimeError, match="failed to start"):
        provider.start(["postgres", "kafka", "cerbos"])
    (postgres,) = fake_engine.started
    assert postgres.stopped and not provider.containers


def test_policies_are_assembled_with_the_one_root_schemas_folder(tmp_path):
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "case.json").write_text("{}")
    for service in ("cases", "referrals"):
        (tmp_path / "services" / service / "policies").mkdir(parents=True)
        (tmp_path / "services" / service / "policies" / "policy.yaml").write_text("x: 1\n")
    assembled = assemble_policies(
        tmp_path / "out", tmp_path / "services", schemas=tmp_path / "schemas"
    )
    assert [p.name for p in (assembled / "_schemas").iterdir()] == ["case.json"]
    assert (assembled / "referrals" / "policy.yaml").is_file()

    (tmp_path / "services" / "referrals" / "policies" / "_schemas").mkdir()
    with pytest.raises(RuntimeError, match="schemas live in policies/_schemas"):
        assemble_policies(tmp_path / "out", tmp_path / "services", schemas=tmp_path / "schemas")
