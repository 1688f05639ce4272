"""Kafka subscribers of the reporting service."""

from acms_platform.messaging import EventHandlers
from acms_reporting.tables import projections

handlers = EventHandlers(consumer="reporting")
projections.register(handlers)
