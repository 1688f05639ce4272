"""A service process's life: start-up without its dependencies, bad settings, SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time

import httpx

from acms_platform.testing.infra import REPO_ROOT
from acms_platform.testing.plugin import create_database, settings_for_test
from acms_platform.testing.processes import ServiceProcess

FREE_PORT = 1  # nothing listens on port 1 here


def test_service_without_its_database_reports_which_and_keeps_retrying(infrastructure):
    settings = settings_for_test("reporting", infrastructure, port=8197, pg_port=FREE_PORT)
    process = ServiceProcess("acms_reporting.app:create", settings)
    process.launch()
    try:
        deadline = time.monotonic() + 30
        response = None
        while time.monotonic() < deadline:
            try:
                response = httpx.get(f"{process.url}/readyz", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.3)
        assert response is not None and response.status_code == 503
        assert "database" in " ".join(response.json()["failing"])
        time.sleep(2)
        assert process.process.poll() is None, "the service must keep retrying, not exit"
        assert httpx.get(f"{process.url}/healthz", timeout=2).status_code == 200
        log = process.log_path.read_text()
        assert f"waiting for database at 127.0.0.1:{FREE_PORT}" in log
        assert "Traceback" not in log
    finally:
        process.stop()


def test_a_bad_setting_stops_the_service_at_once_naming_it():
    result = subprocess.run(
        [sys.executable, "-m", "uvicorn", "--factory", "acms_cases.app:create", "--port", "8196"],
        cwd=REPO_ROOT,
        env={"PATH": "/usr/bin:/bin", "ACMS_KAFKA_PARTITIONS": "many"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "ACMS_KAFKA_PARTITIONS" in result.stderr


def test_a_service_without_the_student_key_secret_refuses_to_start_naming_it():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "acms_referrals.app:create",
            "--port",
            "8195",
        ],
        cwd=REPO_ROOT,
        env={"PATH": "/usr/bin:/bin", "ACMS_PG_PASSWORD": "a-password-not-to-echo"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "ACMS_STUDENT_KEY_SECRET: required, not set" in result.stderr
    assert "a-password-not-to-echo" not in result.stderr


def test_sigterm_stops_a_ready_service_cleanly(infrastructure):
    settings = settings_for_test("retention", infrastructure, port=8198)
    asyncio.run(create_database(settings))
    process = ServiceProcess("acms_retention.app:create", settings).start()
    process.process.send_signal(signal.SIGTERM)
    # uvicorn re-raises the signal once shutdown is complete, hence -SIGTERM, not 0.
    assert process.process.wait(30) in (0, -signal.SIGTERM)
    log = process.log_path.read_text()
    assert "retention stopping" in log
    assert "Application shutdown complete" in log
    assert "Traceback" not in log
