"""Composition root of the reporting service: `uvicorn --factory acms_reporting.app:create`."""

from pathlib import Path

from fastapi import FastAPI

from acms_platform.app import create_app
from acms_platform.runtime import ServiceDefinition
from acms_platform.settings import Settings
from acms_reporting import api
from acms_reporting.handlers import handlers
from acms_reporting.tables import projections

SERVICE_ROOT = Path(__file__).resolve().parents[2]
definition = ServiceDefinition(
    name="reporting", root=SERVICE_ROOT, handlers=handlers, actors=projections
)


def create(settings: Settings | None = None) -> FastAPI:
    return create_app(definition, api.routers, settings)
