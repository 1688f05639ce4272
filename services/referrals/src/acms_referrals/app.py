"""Composition root of the referrals service: `uvicorn --factory acms_referrals.app:create`."""

from pathlib import Path

from fastapi import FastAPI

from acms_contracts import topics
from acms_platform.app import create_app
from acms_platform.runtime import ServiceDefinition
from acms_platform.settings import Settings
from acms_referrals import api
from acms_referrals.domain import StaleVersion, WrongState
from acms_referrals.errors import conflict_response
from acms_referrals.handlers import handlers
from acms_referrals.tables import projections

SERVICE_ROOT = Path(__file__).resolve().parents[2]
definition = ServiceDefinition(
    name="referrals",
    root=SERVICE_ROOT,
    handlers=handlers,
    publishes=(topics.REFERRALS, topics.AUDIT_ACCESS),
    actors=projections,
)


def create(settings: Settings | None = None) -> FastAPI:
    app = create_app(definition, [projections.router, api.router], settings)
    app.add_exception_handler(WrongState, conflict_response)
    app.add_exception_handler(StaleVersion, conflict_response)
    return app
