"""Kafka subscribers of the integrations service."""

from acms_integrations.tables import organisations
from acms_platform.messaging import EventHandlers

handlers = EventHandlers(consumer="integrations")
organisations.register(handlers)
