"""Composition root of the cases service: `uvicorn --factory acms_cases.app:create`."""

from pathlib import Path

from fastapi import FastAPI

from acms_cases import api, attention
from acms_cases.handlers import handlers
from acms_cases.tables import projections
from acms_platform.app import create_app
from acms_platform.runtime import ServiceDefinition
from acms_platform.settings import Settings

SERVICE_ROOT = Path(__file__).resolve().parents[2]
definition = ServiceDefinition(
    name="cases",
    root=SERVICE_ROOT,
    handlers=handlers,
    actors=projections,
    workers=(attention.remind,),  # cases that need attention (idle, overdue entries)
)


def create(settings: Settings | None = None) -> FastAPI:
    return create_app(definition, api.routers, settings)
