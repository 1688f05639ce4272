"""Composition root of the retention service: `uvicorn --factory acms_retention.app:create`."""

from pathlib import Path

from fastapi import FastAPI

from acms_contracts import topics
from acms_platform.app import create_app
from acms_platform.outbox import Outbox
from acms_platform.runtime import ServiceDefinition
from acms_platform.settings import Settings
from acms_retention import api
from acms_retention.config import retention_settings
from acms_retention.handlers import build_handlers
from acms_retention.trail.seal import Sealer

SERVICE_ROOT = Path(__file__).resolve().parents[2]


def create(settings: Settings | None = None) -> FastAPI:
    config = retention_settings(settings) if settings else retention_settings()
    sealer = Sealer(
        config.checkpoint_key,
        config.audit_checkpoint_rows,
        config.audit_checkpoint_seconds,
        Outbox("retention"),
    )
    definition = ServiceDefinition(
        name="retention",
        root=SERVICE_ROOT,
        handlers=build_handlers(after_append=(sealer,)),
        publishes=(topics.RETENTION_AUDIT,),
    )
    return create_app(definition, [api.router], config)
