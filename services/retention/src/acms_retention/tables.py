"""Tables of the retention service."""

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    Text,
    Uuid,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from acms_platform.database import new_metadata
from acms_platform.projections import Projections

metadata = new_metadata()
projections = Projections(metadata)

# The audit trail: append-only (a trigger refuses UPDATE, DELETE and TRUNCATE), one row per
# audit event, hash-chained per `chain` in `seq` order (trail/chain.py).
audit_trail = Table(
    "audit_trail",
    metadata,
    Column("chain", SmallInteger, primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("event_id", Uuid, nullable=False, unique=True),
    Column("topic", String(200), nullable=False),
    Column("event_type", String(200), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("stored_at", DateTime(timezone=True), nullable=False),
    Column("account_id", String(200)),
    Column("organisation_id", String(64)),
    Column("roles", ARRAY(Text), nullable=False),
    Column("action", String(300)),
    Column("outcome", String(20)),
    # the granting policy rules of what the request returned, comma-joined
    Column("rule", Text),
    Column("trace_id", String(64)),
    Column("student_keys", ARRAY(Text), nullable=False),
    Column("record_ids", ARRAY(Text), nullable=False),
    # [{record_id, kind, student_key, tiers}]: what each record returned, refused or probed
    Column("accesses", JSONB, nullable=False),
    Column("envelope", JSONB, nullable=False),
    Column("prev_hash", LargeBinary, nullable=False),
    Column("hash", LargeBinary, nullable=False),
)

# A chain's head, sealed with the service's key every so many rows or seconds; the same
# checkpoint is published on Kafka (AuditCheckpointSealed) so a copy lives outside this
# database. Append-only too.
audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("chain", SmallInteger, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", LargeBinary, nullable=False),
    Column("sealed_at", DateTime(timezone=True), nullable=False),
    Column("mac", String(64), nullable=False),
)

# Alerts raised as events arrive (alerts.py); acknowledged by the privacy officer.
access_alerts = Table(
    "access_alerts",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("rule", String(100), nullable=False),
    Column("account_id", String(200), nullable=False),
    Column("organisation_id", String(64)),
    Column("summary", String(500), nullable=False),
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("count", Integer, nullable=False),
    Column("evidence", ARRAY(Uuid), nullable=False),  # the trail events that raised it
    Column("raised_at", DateTime(timezone=True), nullable=False),
    Column("acknowledged_at", DateTime(timezone=True)),
    Column("acknowledged_by", String(200)),
    Column("note", String(2000)),
)

# Each organisation's allowed reads of personal information per hour of the day (local
# time): the usual hours the `outside_usual_hours` rule learns from its own history.
organisation_hours = Table(
    "organisation_hours",
    metadata,
    Column("organisation_id", String(64), primary_key=True),
    Column("hour", SmallInteger, primary_key=True),
    Column("reads", BigInteger, nullable=False),
)

# A record (case, request) an organisation lost when the student moved or the record was
# re-allocated (ACCESS-MODEL 6): a later read of it by that organisation raises
# `after_relationship_ended`. The row goes when the organisation gets the record back.
ended_relationships = Table(
    "ended_relationships",
    metadata,
    Column("organisation_id", String(64), primary_key=True),
    Column("record_id", String(200), primary_key=True),
    Column("student_key", String(64), nullable=False),
    Column("ended_at", DateTime(timezone=True), nullable=False),
    Column("cause", String(100), nullable=False),
    Column("event_id", Uuid, nullable=False),
)
