"""Kafka subscribers of the cases service."""

from acms_cases.tables import projections
from acms_platform.messaging import EventHandlers

handlers = EventHandlers(consumer="cases")
projections.register(handlers)
