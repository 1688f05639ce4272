"""Kafka subscribers of the integrations service."""

from acms_integrations import case_relationships
from acms_integrations.tables import projections
from acms_platform.messaging import EventHandlers

handlers = EventHandlers(consumer="integrations")
projections.register(handlers)
case_relationships.register(handlers)
