"""Kafka subscribers of the integrations service."""

from acms_platform.messaging import EventHandlers

from acms_integrations.tables import organisations

handlers = EventHandlers(consumer="integrations")
organisations.register(handlers)
