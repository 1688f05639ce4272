"""A Cerbos PDP of a test's own, serving exactly one service's policies.

The shared PDP loads policies at start only; a service's tests start their own so they
always run against the policies in the working tree.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

CACHE = Path(os.environ.get("ACMS_CACHE_DIR", Path.home() / ".cache" / "acms"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def cerbos_binary() -> Path:
    found = sorted(CACHE.glob("cerbos-*/node_modules/@cerbos/cerbos-linux-x64/cerbos-linux-x64"))
    if not found:
        raise RuntimeError("no Cerbos binary: run deploy/infra.sh up cerbos (it installs it)")
    return found[-1]


@contextmanager
def private_pdp(policies: Path, log: Path, timeout: float = 30) -> Iterator[str]:
    """Start `cerbos server` on free ports over `policies`; yields its HTTP URL."""
    http_port, grpc_port = free_port(), free_port()
    command = [
        str(cerbos_binary()),
        "server",
        f"--set=server.httpListenAddr=127.0.0.1:{http_port}",
        f"--set=server.grpcListenAddr=127.0.0.1:{grpc_port}",
        "--set=storage.driver=disk",
        f"--set=storage.disk.directory={policies}",
        "--set=telemetry.disabled=true",
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)  # noqa: S603
    url = f"http://127.0.0.1:{http_port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{url}/_cerbos/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Cerbos did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(10)
