"""A Cerbos PDP of a test's own, serving exactly one service's policies.

The shared PDP loads policies at start only; a service's tests start their own so they
always run against the policies in the working tree, assembled as `deploy/cerbos.sh`
does (the service's folder, and `policies/_schemas` at the root) and enforcing the
schemas as every deployment does (a request that does not fit is denied).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from acms_platform.testing.infra import REPO_ROOT

CACHE = Path(os.environ.get("ACMS_CACHE_DIR", Path.home() / ".cache" / "acms"))
# The one attribute-schema folder, at the root of every assembled policy tree.
SCHEMAS = REPO_ROOT / "policies" / "_schemas"
SCHEMA_ENFORCEMENT = "reject"


def assemble_policies(
    destination: Path,
    services_dir: Path = REPO_ROOT / "services",
    *,
    folders: list[Path] | None = None,
    schemas: Path = SCHEMAS,
) -> Path:
    """`policies/_schemas` into destination/_schemas and every services/<svc>/policies (or
    just `folders`) into destination/<svc>, as deploy/cerbos.sh assembles them."""
    shutil.rmtree(destination, ignore_errors=True)
    destination.mkdir(parents=True)
    shutil.copytree(schemas, destination / "_schemas")
    for source in folders or sorted(services_dir.glob("*/policies")):
        if (source / "_schemas").exists():
            raise RuntimeError(f"{source}/_schemas: schemas live in policies/_schemas")
        shutil.copytree(source, destination / source.parent.name)
    return destination


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


def compile_service_policies(policies: Path, workdir: Path) -> None:
    """`cerbos compile` (and its test suites) over one service's folder assembled with the
    schemas, then the attribute check (`policy_schemas`); AssertionError with the output."""
    from acms_platform.testing.policy_schemas import check

    root = assemble_policies(workdir / "policies", folders=[policies])
    result = subprocess.run(  # noqa: S603
        [str(cerbos_binary()), "compile", "--no-color", str(root)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAILED" not in result.stdout and "OK" in result.stdout
    assert check(root) == []


@contextmanager
def private_pdp(policies: Path, log: Path, timeout: float = 30) -> Iterator[str]:
    """Start `cerbos server` on free ports over one service's `policies` folder (assembled
    with the schemas next to `log`); yields its HTTP URL."""
    root = assemble_policies(log.parent / "policies", folders=[policies])
    http_port, grpc_port = free_port(), free_port()
    command = [
        str(cerbos_binary()),
        "server",
        f"--set=server.httpListenAddr=127.0.0.1:{http_port}",
        f"--set=server.grpcListenAddr=127.0.0.1:{grpc_port}",
        "--set=storage.driver=disk",
        f"--set=storage.disk.directory={root}",
        f"--set=schema.enforcement={SCHEMA_ENFORCEMENT}",
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
