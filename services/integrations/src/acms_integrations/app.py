"""Composition root of the integrations service.

Run: `uvicorn --factory acms_integrations.app:create`.
"""

from pathlib import Path

from fastapi import FastAPI

from acms_contracts import topics
from acms_integrations import api, batch_api, delivery
from acms_integrations.handlers import handlers
from acms_integrations.ministry_handlers import StudentKeys
from acms_integrations.tables import projections
from acms_platform.app import create_app
from acms_platform.runtime import ServiceDefinition
from acms_platform.settings import Settings

SERVICE_ROOT = Path(__file__).resolve().parents[2]
definition = ServiceDefinition(
    name="integrations",
    root=SERVICE_ROOT,
    handlers=handlers,
    publishes=(topics.ENROLMENTS, topics.ATTENDANCE, topics.AGENCY_REQUESTS, topics.AUDIT_ACCESS),
    actors=projections,
    streamed_uploads=batch_api.STREAMED_UPLOADS,
    workers=(delivery.deliver_to_agencies,),  # information requests to the agencies' endpoints
)


def create(settings: Settings | None = None) -> FastAPI:
    app = create_app(definition, [*api.routers, *batch_api.routers], settings)
    StudentKeys.of = app.state.runtime.settings.student_key
    return app
