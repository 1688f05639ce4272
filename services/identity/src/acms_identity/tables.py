"""Tables of the identity service: the source of truth for organisations."""

from acms_platform.database import new_metadata
from sqlalchemy import Column, DateTime, ForeignKey, String, Table, Uuid, func

metadata = new_metadata()

organisations = Table(
    "organisations",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("org_type", String(40), nullable=False),
    Column("name", String(200), nullable=False),
    Column("region", String(100)),
    Column("parent_school_id", Uuid, ForeignKey("organisations.id")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
