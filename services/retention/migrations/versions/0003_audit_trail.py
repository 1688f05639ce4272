"""The audit trail and its checkpoints, append-only.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

APPEND_ONLY = ("audit_trail", "audit_checkpoints")


def upgrade() -> None:
    text_array = postgresql.ARRAY(sa.Text)
    op.create_table(
        "audit_trail",
        sa.Column("chain", sa.SmallInteger, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("event_id", sa.Uuid, nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("account_id", sa.String(200)),
        sa.Column("organisation_id", sa.String(64)),
        sa.Column("roles", text_array, nullable=False),
        sa.Column("action", sa.String(300)),
        sa.Column("outcome", sa.String(20)),
        sa.Column("rule", sa.String(300)),
        sa.Column("trace_id", sa.String(64)),
        sa.Column("student_keys", text_array, nullable=False),
        sa.Column("record_ids", text_array, nullable=False),
        sa.Column("accesses", postgresql.JSONB, nullable=False),
        sa.Column("envelope", postgresql.JSONB, nullable=False),
        sa.Column("prev_hash", sa.LargeBinary, nullable=False),
        sa.Column("hash", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("chain", "seq", name="pk_audit_trail"),
        sa.UniqueConstraint("event_id", name="uq_audit_trail_event_id"),
    )
    op.create_index("ix_audit_trail_account", "audit_trail", ["account_id", "occurred_at"])
    op.create_index(
        "ix_audit_trail_organisation", "audit_trail", ["organisation_id", "occurred_at"]
    )
    op.create_index("ix_audit_trail_occurred_at", "audit_trail", ["occurred_at"])
    op.create_index("ix_audit_trail_trace", "audit_trail", ["trace_id"])
    op.create_index(
        "ix_audit_trail_students", "audit_trail", ["student_keys"], postgresql_using="gin"
    )
    op.create_index("ix_audit_trail_records", "audit_trail", ["record_ids"], postgresql_using="gin")
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), nullable=False),
        sa.Column("chain", sa.SmallInteger, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.LargeBinary, nullable=False),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("mac", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_checkpoints"),
    )
    op.create_index("ix_audit_checkpoints_chain", "audit_checkpoints", ["chain", "seq"])
    # The service's own role cannot be kept from UPDATE and DELETE on tables it owns, so a
    # trigger refuses them (and TRUNCATE) for everyone; only a superuser who disables it
    # can change a row, and the hash chain shows that he did.
    op.execute(
        """
        CREATE FUNCTION refuse_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION 'the audit trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
        END $$
        """
    )
    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}"
            " FOR EACH ROW EXECUTE FUNCTION refuse_audit_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION refuse_audit_change()"
        )


def downgrade() -> None:
    raise NotImplementedError("ACMS migrations are forward-only")
