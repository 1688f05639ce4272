"""The tables every service database has for reliable messaging: outbox and inbox."""

from sqlalchemy import BigInteger, Column, DateTime, Identity, String, Table, Uuid, func
from sqlalchemy.dialects.postgresql import JSONB

from acms_platform.database import new_metadata

platform_metadata = new_metadata()

outbox = Table(
    "outbox",
    platform_metadata,
    # Relay order: rows leave in id order, so events of one key keep their order.
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("event_id", Uuid, nullable=False, unique=True),
    Column("topic", String(200), nullable=False),
    Column("key", String(200), nullable=False),
    Column("envelope", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

inbox = Table(
    "inbox",
    platform_metadata,
    # An event's effect and this marker commit together: a redelivery finds the marker.
    Column("consumer", String(200), primary_key=True),
    Column("event_id", Uuid, primary_key=True),
    Column("topic", String(200), nullable=False),
    Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
