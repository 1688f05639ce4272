"""Composition root of the identity service: `uvicorn --factory acms_identity.app:create`."""

from pathlib import Path

from acms_contracts import topics
from acms_platform.app import create_app
from acms_platform.runtime import ServiceDefinition
from acms_platform.settings import Settings
from fastapi import FastAPI

from acms_identity import api
from acms_identity.handlers import handlers

SERVICE_ROOT = Path(__file__).resolve().parents[2]
definition = ServiceDefinition(
    name="identity",
    root=SERVICE_ROOT,
    handlers=handlers,
    publishes=(topics.IDENTITY_ORGANISATIONS, topics.IDENTITY_ACCOUNTS, topics.AUDIT_ACCESS),
)


def create(settings: Settings | None = None) -> FastAPI:
    return create_app(definition, [api.router], settings)
