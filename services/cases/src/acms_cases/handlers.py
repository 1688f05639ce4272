"""Kafka subscribers of the cases service."""

from acms_cases.tables import organisations
from acms_platform.messaging import EventHandlers

handlers = EventHandlers(consumer="cases")
organisations.register(handlers)
