"""Services as real OS processes, for end-to-end and fault tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from pydantic import SecretStr

from acms_platform.settings import Settings
from acms_platform.testing.infra import REPO_ROOT, port_open


def settings_environment(settings: Settings) -> dict[str, str]:
    """The ACMS_* environment that reproduces `settings` in a child process."""
    env = {}
    for name, value in settings.model_dump(exclude={"database_url"}).items():
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if value is not None:
            env[f"ACMS_{name.upper()}"] = str(value)
    return env


@dataclass
class ServiceProcess:
    """`uvicorn --factory <factory>` on `settings.http_port`, logging to a file."""

    factory: str
    settings: Settings
    app_dir: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.http_port}"

    @property
    def log_path(self) -> Path:
        folder = Path(os.environ.get("ACMS_RUN_DIR", REPO_ROOT / ".run")) / "logs" / "tests"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{self.settings.service_name}-{self.settings.http_port}.log"

    def start(self, ready_timeout: float = 90) -> ServiceProcess:
        self.launch()
        try:
            self.wait_ready(ready_timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def launch(self) -> None:
        port = self.settings.http_port
        if port_open("127.0.0.1", port):
            raise RuntimeError(
                f"port {port} is busy: stop the demo stack (deploy/down) before running tests"
            )
        command = [sys.executable, "-m", "uvicorn", "--factory", self.factory]
        command += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
        if self.app_dir:
            command += ["--app-dir", str(self.app_dir)]
        env = os.environ | settings_environment(self.settings) | self.extra_env
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter
                command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.factory} exited: see {self.log_path}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise TimeoutError(f"{self.factory} not ready after {timeout}s: see {self.log_path}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def wait_killed(self, timeout: float = 60) -> int:
        """Wait for the process to die by itself (e.g. a planned SIGKILL); its exit code."""
        assert self.process is not None
        return self.process.wait(timeout)
