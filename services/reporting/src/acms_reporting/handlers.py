"""Kafka subscribers of the reporting service."""

from acms_platform.messaging import EventHandlers
from acms_reporting.tables import organisations

handlers = EventHandlers(consumer="reporting")
organisations.register(handlers)
