"""Requests for support, their transitions, and the staff projection.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "referrals",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("student_key", sa.String(64), nullable=False),
        sa.Column("nsn", sa.String(10)),
        sa.Column("student_name", sa.String(201), nullable=False),
        sa.Column("school_id", sa.Uuid),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("creator_org_id", sa.Uuid, nullable=False),
        sa.Column("primary_contact_id", sa.Uuid),
        sa.Column("reason_category", sa.String(40)),
        sa.Column("provider_id", sa.Uuid),
        sa.Column("provider_type", sa.String(10)),
        sa.Column("assignee_id", sa.Uuid),
        sa.Column("decline_reason", sa.String(2000)),
        sa.Column("details", postgresql.JSONB, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("id", name="pk_referrals"),
    )
    for name, columns in [
        ("ix_referrals_school_id", ["school_id"]),
        ("ix_referrals_creator_org_id", ["creator_org_id"]),
        ("ix_referrals_created_by", ["created_by"]),
        ("ix_referrals_provider_id", ["provider_id"]),
        ("ix_referrals_assignee_id", ["assignee_id"]),
        ("ix_referrals_status_created", ["status", "created_at", "id"]),
        ("ix_referrals_created_at_id", ["created_at", "id"]),
        ("ix_referrals_student_key", ["student_key"]),
    ]:
        op.create_index(name, "referrals", columns)
    op.create_table(
        "referral_transitions",
        sa.Column("id", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("referral_id", sa.Uuid, nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("from_status", sa.String(20)),
        sa.Column("to_status", sa.String(20), nullable=False),
        sa.Column("actor_id", sa.String(64), nullable=False),
        sa.Column("actor_org_id", sa.Uuid),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", postgresql.JSONB, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_referral_transitions"),
        sa.ForeignKeyConstraint(
            ["referral_id"], ["referrals.id"], name="fk_referral_transitions_referral_id_referrals"
        ),
    )
    op.create_index("ix_referral_transitions_referral_id", "referral_transitions", ["referral_id"])
    op.create_table(
        "staff",
        sa.Column("account_id", sa.Uuid, nullable=False),
        sa.Column("organisation_id", sa.Uuid, nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("roles", postgresql.ARRAY(sa.String(40)), nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False, server_default="false"),
        sa.PrimaryKeyConstraint("account_id", name="pk_staff"),
    )
    op.create_index("ix_staff_organisation_id", "staff", ["organisation_id"])


def downgrade() -> None:
    raise NotImplementedError("ACMS migrations are forward-only")
