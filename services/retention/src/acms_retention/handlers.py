"""Kafka subscribers of the retention service."""

from acms_platform.messaging import EventHandlers
from acms_retention.tables import organisations

handlers = EventHandlers(consumer="retention")
organisations.register(handlers)
