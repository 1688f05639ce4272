"""An in-process client of a throwaway app built by the platform's `create_app` around a
test's own router: how the platform's unit tests see what every service's app does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from fastapi import APIRouter
from pydantic import SecretStr

from acms_platform.app import create_app
from acms_platform.runtime import ServiceDefinition
from acms_platform.settings import Settings
from acms_platform.testing.plugin import TEST_STUDENT_KEY_SECRET


def probe_client(router: APIRouter, root: Path, **settings: Any) -> httpx.AsyncClient:
    """`root` is the probe service's folder (a test's own); `settings` override the
    defaults of a service named probe."""
    definition = ServiceDefinition(name="probe", root=root)
    app = create_app(
        definition,
        [router],
        Settings(
            service_name="probe", student_key_secret=SecretStr(TEST_STUDENT_KEY_SECRET), **settings
        ),
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://probe")
