"""Composition root of the retention service: `uvicorn --factory acms_retention.app:create`."""

from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import FastAPI

from acms_contracts import topics
from acms_platform.app import create_app
from acms_platform.outbox import Outbox
from acms_platform.runtime import ServiceDefinition
from acms_platform.settings import Settings
from acms_retention import api
from acms_retention.alerts import AlertRules, Thresholds
from acms_retention.config import checkpoint_key, retention_settings
from acms_retention.handlers import build_handlers
from acms_retention.tables import audit_checkpoints, audit_trail, projections
from acms_retention.trail.seal import Sealer

SERVICE_ROOT = Path(__file__).resolve().parents[2]


def create(settings: Settings | None = None) -> FastAPI:
    config = retention_settings(settings) if settings else retention_settings()
    outbox = Outbox("retention")
    sealer = Sealer(
        checkpoint_key(config),
        config.audit_checkpoint_rows,
        config.audit_checkpoint_seconds,
        outbox,
    )
    alerts = AlertRules(
        Thresholds(
            distinct_students=config.alert_distinct_students,
            distinct_students_window=timedelta(seconds=config.alert_distinct_students_seconds),
            denials=config.alert_denials,
            denials_window=timedelta(seconds=config.alert_denials_seconds),
            grant_grace=timedelta(seconds=config.alert_grant_grace_seconds),
            usual_hours_min_reads=config.alert_usual_hours_min_reads,
            usual_hours_min_share=config.alert_usual_hours_min_share,
            usual_hours_zone=_zone(config.alert_usual_hours_timezone),
            relationship_grace=timedelta(seconds=config.alert_relationship_grace_seconds),
        ),
        outbox,
    )
    definition = ServiceDefinition(
        name="retention",
        root=SERVICE_ROOT,
        handlers=build_handlers(after_append=(sealer, alerts), alerts=alerts),
        publishes=(topics.RETENTION_AUDIT, topics.AUDIT_ACCESS),
        actors=projections,
        # the trail and its seals: the service's own role may add to them, never change them
        append_only_tables=(audit_trail.name, audit_checkpoints.name),
    )
    return create_app(definition, api.routers, config)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        problem = f"ACMS_ALERT_USUAL_HOURS_TIMEZONE: no time zone {name!r}"
        raise SystemExit(f"retention: invalid settings:\n  {problem}") from None
