"""Tables of documents and media on a case (migration 0005): the document, and its versions.
A revised file is a new version; no version is updated or deleted (ACCESS-MODEL 9). Each
version names its blob (blobs.py) with the size, SHA-256 and media type found while it
was streamed in, and carries the `sensitive` and `shared` labels that decide its tier."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Table,
    Uuid,
)

from acms_cases.tables import metadata

case_documents = Table(
    "case_documents",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("case_id", Uuid, ForeignKey("cases.id"), nullable=False),
    Column("current_version", Integer, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_case_documents_case_created", "case_id", "created_at", "id"),
)

case_document_versions = Table(
    "case_document_versions",
    metadata,
    Column("document_id", Uuid, primary_key=True),
    Column("version", Integer, primary_key=True),
    # The blob's final key: unique, so the sweeper can tell a committed row from an orphan.
    Column("blob_key", String(200), nullable=False, unique=True),
    Column("size_bytes", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("filename", String(255), nullable=False),
    Column("sensitive", Boolean, nullable=False),
    Column("shared", Boolean, nullable=False),
    Column("author_id", String(64), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    ForeignKeyConstraint(["document_id"], ["case_documents.id"]),
    # ACCESS-MODEL 3: a sensitive item is never also shared with the school.
    CheckConstraint("NOT (sensitive AND shared)", name="sensitive_never_shared"),
)
