"""Kafka subscribers of the cases service."""

from acms_platform.messaging import EventHandlers

from acms_cases.tables import organisations

handlers = EventHandlers(consumer="cases")
organisations.register(handlers)
