"""The one envelope every event travels in, and the base class of event payloads."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field


class UnknownEventType(ValueError):
    """An envelope named an event type this build of the contracts does not know."""


class Event(BaseModel):
    """Base of every event payload. Subclasses name their type, version and topic."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str]

    def partition_key(self) -> str:
        """The Kafka key: the student key where a student is concerned, else the aggregate."""
        raise NotImplementedError

    def student_key(self) -> str | None:
        return None


class EventEnvelope(BaseModel):
    """What goes on the wire: metadata plus the payload of one event."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: UUID = Field(default_factory=uuid4)
    event_type: str
    schema_version: int = Field(ge=1)
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    producer: str
    key: str = Field(min_length=1, description="Kafka message key")
    student_key: str | None = Field(
        default=None, description="stable student key; equals `key` for student events"
    )
    trace_context: dict[str, str] = Field(
        default_factory=dict, description="W3C trace context (traceparent, tracestate)"
    )
    payload: dict[str, Any]

    @classmethod
    def wrap(
        cls, event: Event, *, producer: str, trace_context: dict[str, str] | None = None
    ) -> EventEnvelope:
        return cls(
            event_type=event.event_type,
            schema_version=event.schema_version,
            producer=producer,
            key=event.partition_key(),
            student_key=event.student_key(),
            trace_context=trace_context or {},
            payload=event.model_dump(mode="json"),
        )

    def event(self) -> Event:
        """The typed payload; raises UnknownEventType or pydantic.ValidationError."""
        from acms_contracts.registry import event_class

        return event_class(self.event_type).model_validate(self.payload)


def parse_envelope(raw: bytes | str) -> EventEnvelope:
    """Parse and validate an envelope and its payload; raises on anything malformed."""
    envelope = EventEnvelope.model_validate_json(raw)
    envelope.event()
    return envelope
