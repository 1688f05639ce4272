"""Kafka subscribers of the retention service."""

from acms_platform.messaging import EventHandlers
from acms_retention.tables import projections

handlers = EventHandlers(consumer="retention")
projections.register(handlers)
