"""A real S3-compatible server for the S3 blob store's tests: Versity Gateway (Apache-2.0),
built from the Go module proxy (`go install github.com/versity/versitygw/cmd/versitygw`)
once per machine into ~/.cache/acms (about 6 minutes on 2 cores), serving a directory of
its own on a loopback port. No Go, or a build that fails: the tests skip saying why."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

VERSION = "v1.8.0"
MODULE = "github.com/versity/versitygw/cmd/versitygw"
CACHE = Path(os.environ.get("ACMS_CACHE_DIR", Path.home() / ".cache" / "acms"))
BINARY = CACHE / f"versitygw-{VERSION}" / "versitygw"
BUILD_SECONDS = 900
ACCESS_KEY, SECRET_KEY = "acms-test", "acms-test-secret-NOT-SECRET"


def versitygw() -> Path:
    if BINARY.is_file():
        return BINARY
    go = shutil.which("go") or (
        "/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").is_file() else None
    )
    if go is None:
        pytest.skip("no Go toolchain to build Versity Gateway from the module proxy")
    BINARY.parent.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(
            [go, "install", f"{MODULE}@{VERSION}"],
            env=os.environ | {"GOBIN": str(BINARY.parent), "GOFLAGS": "-buildvcs=false"},
            check=True,
            capture_output=True,
            timeout=BUILD_SECONDS,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        pytest.skip(f"Versity Gateway {VERSION} did not build here: {error}")
    return BINARY


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def s3_server(root: Path) -> Iterator[str]:
    """The endpoint URL of a Versity Gateway serving `root` (posix backend)."""
    binary = versitygw()
    port = _free_port()
    (root / "gw").mkdir(parents=True)
    (root / "meta").mkdir()
    log = (root / "versitygw.log").open("wb")
    process = subprocess.Popen(
        [
            str(binary),
            "--port",
            f"127.0.0.1:{port}",
            "--access",
            ACCESS_KEY,
            "--secret",
            SECRET_KEY,
            "posix",
            "--sidecar",
            str(root / "meta"),
            str(root / "gw"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"versitygw did not start: see {root / 'versitygw.log'}")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)
        log.close()
