"""Kafka subscribers of the retention service: identity's organisations and staff (the
platform's projections), every audit event, each stored in the trail (trail/append.py),
and the moves and re-allocations of cases and requests (relationships.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from acms_contracts import EVENT_TYPES, Event, EventEnvelope
from acms_platform.messaging import EventHandlers, Handler
from acms_retention import relationships
from acms_retention.alerts import AlertRules
from acms_retention.tables import projections
from acms_retention.trail import append
from acms_retention.trail.extraction import ACCOUNT_CHANGES, audit_topics


def audit_event_classes() -> list[type[Event]]:
    """Every event type of an audit topic, and the account and role changes."""
    on_audit_topics = [cls for cls in EVENT_TYPES.values() if cls.topic in audit_topics()]
    return on_audit_topics + [cls for cls in ACCOUNT_CHANGES if cls not in on_audit_topics]


def build_handlers(
    after_append: tuple[append.AfterAppend, ...] = (), alerts: AlertRules | None = None
) -> EventHandlers:
    handlers = EventHandlers(consumer="retention")
    projections.register(handlers)
    if alerts is not None:  # the records organisations lost, for one of its rules
        relationships.register(handlers, alerts)

    async def store_in_trail(event: Any, envelope: EventEnvelope, session: AsyncSession) -> None:
        append.queue(session, event, envelope, after_append)

    for event_class in audit_event_classes():
        handlers.on(event_class)(_also(handlers, event_class, store_in_trail))
    return handlers


def _also(handlers: EventHandlers, event_class: type[Event], store: Handler) -> Handler:
    """`store`, after the handler already registered for this event type (the staff
    projection's, for the account and role changes): one handler per type, both effects in
    the one transaction."""
    registered = handlers.handlers.get(event_class.event_type)
    if registered is None:
        return store
    project = registered[1]

    async def project_and_store(event: Any, envelope: EventEnvelope, session: AsyncSession) -> None:
        await project(event, envelope, session)
        await store(event, envelope, session)

    return project_and_store
