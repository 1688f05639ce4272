"""Composition root of the cases service: `uvicorn --factory acms_cases.app:create`."""

from pathlib import Path

from fastapi import FastAPI

from acms_cases import api, attention, document_api, documents
from acms_cases.blobs import store_from
from acms_cases.handlers import handlers
from acms_cases.tables import projections
from acms_contracts import topics
from acms_platform.app import create_app
from acms_platform.runtime import ServiceDefinition
from acms_platform.settings import Settings

SERVICE_ROOT = Path(__file__).resolve().parents[2]
definition = ServiceDefinition(
    name="cases",
    root=SERVICE_ROOT,
    handlers=handlers,
    publishes=(topics.CASES, topics.AUDIT_ACCESS),
    actors=projections,
    streamed_uploads=document_api.STREAMED_UPLOADS,
    workers=(attention.remind,),  # cases that need attention (idle, overdue entries)
)


def create(settings: Settings | None = None) -> FastAPI:
    app = create_app(definition, [*api.routers, document_api.router], settings)
    app.state.blob_store = store_from(app.state.runtime.settings)
    documents.sweep_at_start(app)  # blobs of uploads that died, before this start
    return app
