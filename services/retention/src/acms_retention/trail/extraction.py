"""What the trail indexes from each audit event: one small adapter per event type.

The envelope is stored as it came (JSONB); the adapter only says which account,
organisation, records and students the event is about, so they can be searched. A new
audit event type is a new adapter of a few lines, registered in `ADAPTERS`; an event
type without one is still stored, indexed by what its envelope alone says.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from acms_contracts import Event, EventEnvelope, topics
from acms_contracts.audit import AccessDecisionRecorded, ApiRequestAudited
from acms_contracts.identity import (
    AccountCreated,
    AccountDisabled,
    AccountEnabled,
    RoleGranted,
    RoleRevoked,
)


@dataclass(frozen=True)
class RecordAccess:
    """One record an event concerns: returned (with the tiers), refused, or probed."""

    record_id: str
    kind: str
    student_key: str | None
    tiers: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "record_id": self.record_id,
            "kind": self.kind,
            "student_key": self.student_key,
            "tiers": list(self.tiers),
        }


@dataclass(frozen=True)
class TrailIndex:
    """The searchable columns of one trail row."""

    account_id: str | None = None
    organisation_id: str | None = None
    roles: tuple[str, ...] = ()
    action: str | None = None
    # allowed | denied | not_found (a probe of an id that does not exist) | none (a read
    # that returned nothing) | change
    outcome: str | None = None
    rule: str | None = None
    trace_id: str | None = None
    accesses: tuple[RecordAccess, ...] = field(default=())

    @property
    def student_keys(self) -> list[str]:
        return sorted({a.student_key for a in self.accesses if a.student_key})

    @property
    def record_ids(self) -> list[str]:
        return sorted({a.record_id for a in self.accesses})

    def as_json(self) -> dict[str, Any]:
        """The index as hashed into the chain (so an edited column breaks the link)."""
        return {
            "account_id": self.account_id,
            "organisation_id": self.organisation_id,
            "roles": list(self.roles),
            "action": self.action,
            "outcome": self.outcome,
            "rule": self.rule,
            "trace_id": self.trace_id,
            "student_keys": self.student_keys,
            "record_ids": self.record_ids,
            "accesses": [a.as_json() for a in self.accesses],
        }


Adapter = Callable[[Any, EventEnvelope], TrailIndex]


def trace_id_of(envelope: EventEnvelope) -> str | None:
    """The trace id from the envelope's W3C traceparent (version-traceid-spanid-flags)."""
    parts = envelope.trace_context.get("traceparent", "").split("-")
    return parts[1] if len(parts) == 4 else None


def _access_decision(event: AccessDecisionRecorded, envelope: EventEnvelope) -> TrailIndex:
    return TrailIndex(
        account_id=event.principal_id,
        organisation_id=str(event.organisation_id) if event.organisation_id else None,
        roles=tuple(event.roles),
        action=f"{event.service}:{event.action}",
        outcome="allowed" if event.allowed else "denied",
        rule=event.rule,
        trace_id=event.trace_id or trace_id_of(envelope),
        accesses=(
            RecordAccess(
                record_id=event.resource_id,
                kind=event.resource_kind,
                student_key=event.subject_student_key,
                tiers=tuple(event.tiers),
            ),
        ),
    )


def _api_request(event: ApiRequestAudited, envelope: EventEnvelope) -> TrailIndex:
    """The access kit's one event per request: allowed if it returned records (those are
    its accesses, with their tiers); otherwise denied, or not_found if every refusal was a
    probe of an id that does not exist, or none for a read that found nothing. The denials
    of a request that also returned records stay in its stored envelope."""
    if event.records:
        outcome = "allowed"
        accesses = tuple(
            RecordAccess(r.id, r.kind, r.student_key, tuple(r.tiers)) for r in event.records
        )
    else:
        probes = all(d.reason == "not_found" for d in event.denials)
        outcome = "not_found" if probes else "denied" if event.denials else "none"
        accesses = tuple(RecordAccess(d.id, d.kind, d.student_key) for d in event.denials)
    # each record's granting rules (`rules`; `rule` alone in events written before)
    rules = sorted({g for r in event.records for g in r.rules or ([r.rule] if r.rule else [])})
    return TrailIndex(
        account_id=event.principal_id,
        organisation_id=str(event.organisation_id) if event.organisation_id else None,
        roles=tuple(event.roles),
        action=f"{event.service}:{event.action}",
        outcome=outcome,
        rule=",".join(rules) or None,
        trace_id=event.trace_id or trace_id_of(envelope),
        accesses=accesses,
    )


def _account_change(event: Any, envelope: EventEnvelope) -> TrailIndex:
    """Account and role changes: about the account (its id is the record)."""
    detail = f":{event.role}" if isinstance(event, RoleGranted | RoleRevoked) else ""
    return TrailIndex(
        account_id=str(event.account_id),
        organisation_id=str(getattr(event, "organisation_id", "") or "") or None,
        action=f"identity:{envelope.event_type}{detail}",
        outcome="change",
        trace_id=trace_id_of(envelope),
        accesses=(RecordAccess(str(event.account_id), "account", None),),
    )


def _from_envelope(event: Event, envelope: EventEnvelope) -> TrailIndex:
    """An audit event type with no adapter yet: indexed by its envelope alone."""
    return TrailIndex(
        action=f"{envelope.producer}:{envelope.event_type}",
        trace_id=trace_id_of(envelope),
        accesses=(RecordAccess(envelope.key, envelope.event_type, envelope.student_key),),
    )


ADAPTERS: dict[str, Adapter] = {
    AccessDecisionRecorded.event_type: _access_decision,
    ApiRequestAudited.event_type: _api_request,
    AccountCreated.event_type: _account_change,
    AccountDisabled.event_type: _account_change,
    AccountEnabled.event_type: _account_change,
    RoleGranted.event_type: _account_change,
    RoleRevoked.event_type: _account_change,
}

# Beyond every topic of the audit family, the account and role changes are audit events.
ACCOUNT_CHANGES: tuple[type[Event], ...] = (
    AccountCreated,
    AccountDisabled,
    AccountEnabled,
    RoleGranted,
    RoleRevoked,
)


def audit_topics() -> tuple[str, ...]:
    """Every audit topic (`acms.audit.*`), including those added after this was written."""
    return tuple(t for t in topics.ALL_TOPICS if t.startswith("acms.audit."))


def index_for(event: Event, envelope: EventEnvelope) -> TrailIndex:
    return ADAPTERS.get(envelope.event_type, _from_envelope)(event, envelope)
