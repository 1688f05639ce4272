"""Composition root of the retention service: `uvicorn --factory acms_retention.app:create`."""

from pathlib import Path

from fastapi import FastAPI

from acms_platform.app import create_app
from acms_platform.runtime import ServiceDefinition
from acms_platform.settings import Settings
from acms_retention import api
from acms_retention.handlers import build_handlers

SERVICE_ROOT = Path(__file__).resolve().parents[2]


def create(settings: Settings | None = None) -> FastAPI:
    definition = ServiceDefinition(name="retention", root=SERVICE_ROOT, handlers=build_handlers())
    return create_app(definition, [api.router], settings)
