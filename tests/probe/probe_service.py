"""A tiny service used only by the plumbing's fault tests and benchmark.

It writes ProbeEmitted events through the real outbox (POST /probes) and consumes them
back through the real consumer, recording one row per handled event in `probe_effects`.
That effect is deliberately not idempotent on its own: only the inbox prevents a
redelivered event from producing a second row.

Run: `uvicorn --app-dir tests/probe --factory probe_service:create --port 8199`.
Set PROBE_DIE_AFTER_EFFECT=<stream>:<sequence> to SIGKILL the process right after that event's
effect committed and before its Kafka offset is committed.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, Field
from sqlalchemy import (
    BigInteger,
    Column,
    Identity,
    Integer,
    String,
    Table,
    Uuid,
    func,
    insert,
    select,
)
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from acms_contracts import EventEnvelope, topics
from acms_contracts.platform import BenchmarkProbeEmitted, ProbeEmitted
from acms_platform.app import create_app
from acms_platform.database import new_metadata
from acms_platform.dependencies import DbSession, ServiceOutbox
from acms_platform.messaging import EventHandlers
from acms_platform.outbox import pending_count
from acms_platform.runtime import ServiceDefinition
from acms_platform.settings import Settings

metadata = new_metadata()
probe_effects = Table(
    "probe_effects",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("event_id", Uuid, nullable=False),
    Column("stream", String(100), nullable=False, index=True),
    Column("sequence", Integer, nullable=False),
    Column("latency_ns", BigInteger, nullable=False),
)


handlers = EventHandlers(consumer="probe")
DIE_AFTER = os.environ.get("PROBE_DIE_AFTER_EFFECT")
_EFFECTS = "probe_effects"


@handlers.on(BenchmarkProbeEmitted)
@handlers.on(ProbeEmitted)
async def record_probe(event: ProbeEmitted, envelope: EventEnvelope, session: AsyncSession) -> None:
    # One row per event, written with the batch's other effects as one statement at commit
    # (the effect is the probe's, kept small so the benchmark measures the plumbing).
    session.info.setdefault(_EFFECTS, []).append(
        {
            "event_id": envelope.event_id,
            "stream": event.stream,
            "sequence": event.sequence,
            "latency_ns": time.time_ns() - event.sent_at_ns if event.sent_at_ns else 0,
        }
    )
    if DIE_AFTER == f"{event.stream}:{event.sequence}":
        # Die once the transaction has committed, before FastStream commits the offset.
        session.info["die_after_commit"] = True


@sa_event.listens_for(Session, "before_commit")
def _write_effects(session: Session) -> None:
    if rows := session.info.pop(_EFFECTS, None):
        session.execute(insert(probe_effects), rows)


@sa_event.listens_for(Session, "after_rollback")
def _drop_effects(session: Session) -> None:
    session.info.pop(_EFFECTS, None)


def _die_after_commit(session) -> None:  # type: ignore[no-untyped-def]
    if session.info.pop("die_after_commit", False):
        os.kill(os.getpid(), signal.SIGKILL)


class EmitProbes(BaseModel):
    stream: str = Field(min_length=1, max_length=100)
    first_sequence: int = Field(ge=0)
    count: int = Field(ge=1, le=10_000)


router = APIRouter()


@router.post("/probes", status_code=201)
async def emit_probes(command: EmitProbes, session: DbSession, outbox: ServiceOutbox) -> dict:
    for sequence in range(command.first_sequence, command.first_sequence + command.count):
        await outbox.add(
            session,
            ProbeEmitted(stream=command.stream, sequence=sequence, sent_at_ns=time.time_ns()),
        )
    return {"emitted": command.count}


@router.get("/probes/state")
async def probe_state(session: DbSession) -> dict:
    rows = (
        await session.execute(
            select(
                probe_effects.c.stream, probe_effects.c.sequence, probe_effects.c.event_id
            ).order_by(probe_effects.c.id)
        )
    ).all()
    return {
        "outbox_pending": await pending_count(session),
        "effects": [
            {"stream": r.stream, "sequence": r.sequence, "event_id": str(r.event_id)} for r in rows
        ],
        "effect_count": len(rows),
        "distinct_events": (
            await session.execute(select(func.count(probe_effects.c.event_id.distinct())))
        ).scalar_one(),
    }


definition = ServiceDefinition(
    name="probe",
    root=Path(__file__).resolve().parent,
    handlers=handlers,
    publishes=(topics.PLATFORM_PROBES, topics.PLATFORM_BENCHMARK),
)


def create(settings: Settings | None = None) -> FastAPI:
    if DIE_AFTER is not None and not sa_event.contains(Session, "after_commit", _die_after_commit):
        sa_event.listen(Session, "after_commit", _die_after_commit)
    return create_app(definition, [router], settings)
