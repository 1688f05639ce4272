"""Documents and media on a case: the document and its versions (blob key, size, SHA-256,
media type, file name, sensitive and shared labels).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_documents",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("case_id", sa.Uuid, nullable=False),
        sa.Column("current_version", sa.Integer, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_case_documents"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_case_documents_case_id_cases"),
    )
    op.create_index(
        "ix_case_documents_case_created", "case_documents", ["case_id", "created_at", "id"]
    )
    op.create_table(
        "case_document_versions",
        sa.Column("document_id", sa.Uuid, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("blob_key", sa.String(200), nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("sensitive", sa.Boolean, nullable=False),
        sa.Column("shared", sa.Boolean, nullable=False),
        sa.Column("author_id", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("document_id", "version", name="pk_case_document_versions"),
        sa.UniqueConstraint("blob_key", name="uq_case_document_versions_blob_key"),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["case_documents.id"],
            name="fk_case_document_versions_document_id_case_documents",
        ),
        sa.CheckConstraint(
            "NOT (sensitive AND shared)",
            name="ck_case_document_versions_sensitive_never_shared",
        ),
    )


def downgrade() -> None:
    raise NotImplementedError("ACMS migrations are forward-only")
