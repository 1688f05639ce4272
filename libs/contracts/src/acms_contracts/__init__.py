"""Contracts shared by every ACMS service: the envelope, the events, the topics."""

from acms_contracts.envelope import Event, EventEnvelope, UnknownEventType, parse_envelope
from acms_contracts.registry import EVENT_TYPES, event_class

__all__ = [
    "EVENT_TYPES",
    "Event",
    "EventEnvelope",
    "UnknownEventType",
    "event_class",
    "parse_envelope",
]
