"""Appending audit events to the trail, exactly once, in chain order.

A handler queues its event in the session; just before the transaction commits, the
batch's rows are written as one statement. Each chain touched is locked for the rest of
the transaction (pg_advisory_xact_lock), its head read, and the rows linked after it, so
concurrent consumers (replicas, topics) append to a chain one at a time. An event already
in the trail (a redelivery after the inbox forgot it) is not appended again: the trail's
own unique event id makes exactly-once independent of the inbox's retention.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Uuid, bindparam, insert, text
from sqlalchemy import event as sa_event
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from acms_contracts import Event, EventEnvelope
from acms_platform.outbox import discard_queued_after, queued_in
from acms_retention.tables import audit_trail
from acms_retention.trail import chain
from acms_retention.trail.extraction import TrailIndex, index_for

log = logging.getLogger(__name__)

_PENDING = "acms_trail_pending"
_AFTER_APPEND = "acms_trail_after_append"


@dataclass(frozen=True)
class PendingEvent:
    topic: str
    envelope: EventEnvelope
    index: TrailIndex


# Called, inside the appending transaction, with the rows just appended (alerts, seals).
AfterAppend = Callable[[Session, list[dict[str, Any]]], None]


def queue(
    session: AsyncSession,
    event: Event,
    envelope: EventEnvelope,
    after_append: tuple[AfterAppend, ...] = (),
) -> None:
    """Queue `event` for the trail; it is written when the session's transaction commits."""
    pending = PendingEvent(event.topic, envelope, index_for(event, envelope))
    session.info.setdefault(_PENDING, []).append(pending)
    session.info[_AFTER_APPEND] = after_append


# insert=True: ahead of the outbox's own before_commit listener, so events queued by the
# after-append steps (alerts, checkpoints) are still written in this transaction.
@sa_event.listens_for(Session, "before_commit", insert=True)
def _append_pending(session: Session) -> None:
    pending: list[PendingEvent] | None = session.info.pop(_PENDING, None)
    after_append: tuple[AfterAppend, ...] = session.info.pop(_AFTER_APPEND, ())
    if pending:
        rows = append(session, pending)
        for step in after_append:
            _run_step(session, step, rows)


def _run_step(session: Session, step: AfterAppend, rows: list[dict[str, Any]]) -> None:
    """Run one after-append step in a savepoint. A step that fails (an alert rule's bug, a
    constraint) is undone alone, with the events it queued, and logged: the audit events
    are stored whatever happens to the rules evaluated on them, never dead-lettered."""
    queued = queued_in(session)
    try:
        with session.connection().begin_nested():
            step(session, rows)
    except Exception as error:  # noqa: BLE001  # any failure of a step leaves the trail whole
        discard_queued_after(session, queued)
        log.error(
            "after-append step %s failed on %d trail rows (%s), stored without it: event ids %s",
            _step_name(step),
            len(rows),
            type(error).__name__,
            [str(row["event_id"]) for row in rows[:20]],
        )


def _step_name(step: AfterAppend) -> str:
    return getattr(step, "__name__", type(step).__name__)


@sa_event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_AFTER_APPEND, None)


_ALREADY_STORED = text("SELECT event_id FROM audit_trail WHERE event_id = ANY(:ids)").bindparams(
    bindparam("ids", type_=ARRAY(Uuid))
)
_LOCK = text("SELECT pg_advisory_xact_lock(:lock_class, :chain)")
_HEAD = text("SELECT seq, hash FROM audit_trail WHERE chain = :chain ORDER BY seq DESC LIMIT 1")


def append(session: Session, pending: list[PendingEvent]) -> list[dict[str, Any]]:
    """Write `pending` to the trail (skipping events already there); the rows written."""
    ids = [p.envelope.event_id for p in pending]
    stored = set(session.execute(_ALREADY_STORED, {"ids": ids}).scalars())
    by_chain: dict[int, list[PendingEvent]] = {}
    for item in pending:
        if item.envelope.event_id in stored:
            continue
        stored.add(item.envelope.event_id)
        by_chain.setdefault(chain.chain_for(item.envelope.key), []).append(item)
    stored_at = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    for chain_id in sorted(by_chain):  # one lock order for every appender: no deadlock
        session.execute(_LOCK, {"lock_class": chain.LOCK_CLASS, "chain": chain_id})
        head = session.execute(_HEAD, {"chain": chain_id}).first()
        seq, prev_hash = (head[0], bytes(head[1])) if head else (0, chain.GENESIS)
        for item in by_chain[chain_id]:
            seq += 1
            row = trail_row(chain_id, seq, prev_hash, stored_at, item)
            rows.append(row)
            prev_hash = row["hash"]
    if rows:
        session.execute(insert(audit_trail), rows)
    return rows


def trail_row(
    chain_id: int, seq: int, prev_hash: bytes, stored_at: datetime, item: PendingEvent
) -> dict[str, Any]:
    envelope = item.envelope.model_dump(mode="json")
    index = item.index.as_json()
    content = chain.link_content(
        chain=chain_id,
        seq=seq,
        event_id=str(item.envelope.event_id),
        topic=item.topic,
        event_type=item.envelope.event_type,
        occurred_at=item.envelope.occurred_at,
        stored_at=stored_at,
        index=index,
        envelope=envelope,
    )
    return {
        "chain": chain_id,
        "seq": seq,
        "event_id": item.envelope.event_id,
        "topic": item.topic,
        "event_type": item.envelope.event_type,
        "occurred_at": item.envelope.occurred_at,
        "stored_at": stored_at,
        "account_id": index["account_id"],
        "organisation_id": index["organisation_id"],
        "roles": index["roles"],
        "action": index["action"],
        "outcome": index["outcome"],
        "rule": index["rule"],
        "trace_id": index["trace_id"],
        "student_keys": index["student_keys"],
        "record_ids": index["record_ids"],
        "accesses": index["accesses"],
        "envelope": envelope,
        "prev_hash": prev_hash,
        "hash": chain.link_hash(prev_hash, content),
    }
