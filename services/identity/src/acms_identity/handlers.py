"""Kafka subscribers of the identity service (none yet: identity is a source)."""

from acms_platform.messaging import EventHandlers

handlers = EventHandlers(consumer="identity")
