"""Cases, their timeline, versioned content items, catchments and the enrolments projection.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from acms_platform.projections.enrolments import create_enrolments_projection_table

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_enrolments_projection_table()
    op.create_table(
        "catchments",
        sa.Column("school_id", sa.Uuid, nullable=False),
        sa.Column("asp_id", sa.Uuid, nullable=False),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.PrimaryKeyConstraint("school_id", name="pk_catchments"),
    )
    op.execute("CREATE SEQUENCE case_reference_seq")
    op.create_table(
        "cases",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("reference", sa.String(20), nullable=False),
        sa.Column("referral_id", sa.Uuid, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("student_key", sa.String(64), nullable=False),
        sa.Column("nsn", sa.String(10)),
        sa.Column("student_name", sa.String(201), nullable=False),
        sa.Column("year_level", sa.Integer),
        sa.Column("school_id", sa.Uuid),
        sa.Column("student_school_id", sa.Uuid),
        sa.Column("provider_id", sa.Uuid),
        sa.Column("provider_type", sa.String(10)),
        sa.Column("case_manager_id", sa.Uuid),
        sa.Column("primary_contact_id", sa.Uuid),
        sa.Column("reason_category", sa.String(40)),
        sa.Column("prosecution_notified", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("outcome_category", sa.String(40)),
        sa.Column("outcome_text", sa.String(4000)),
        sa.Column("details", postgresql.JSONB, nullable=False),
        sa.Column("request_history", postgresql.JSONB, nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cases"),
        sa.UniqueConstraint("reference", name="uq_cases_reference"),
        sa.UniqueConstraint("referral_id", name="uq_cases_referral_id"),
    )
    for name, columns in (
        ("ix_cases_school_opened", ["school_id", "opened_at", "id"]),
        ("ix_cases_provider_opened", ["provider_id", "opened_at", "id"]),
        ("ix_cases_case_manager_opened", ["case_manager_id", "opened_at", "id"]),
        ("ix_cases_primary_contact_opened", ["primary_contact_id", "opened_at", "id"]),
        ("ix_cases_opened_id", ["opened_at", "id"]),
        ("ix_cases_student_key", ["student_key"]),
    ):
        op.create_index(name, "cases", columns)
    op.create_table(
        "case_timeline",
        sa.Column("id", sa.BigInteger, autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Uuid, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("tier", sa.String(20), nullable=False),
        sa.Column("actor_id", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", postgresql.JSONB, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_case_timeline"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_case_timeline_case_id_cases"),
    )
    op.create_index("ix_case_timeline_case_id", "case_timeline", ["case_id"])
    op.create_table(
        "case_items",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("case_id", sa.Uuid, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("current_version", sa.Integer, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_case_items"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_case_items_case_id_cases"),
    )
    op.create_index("ix_case_items_case_created", "case_items", ["case_id", "created_at", "id"])
    op.create_table(
        "case_item_versions",
        sa.Column("item_id", sa.Uuid, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("sensitive", sa.Boolean, nullable=False),
        sa.Column("author_id", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("item_id", "version", name="pk_case_item_versions"),
        sa.ForeignKeyConstraint(
            ["item_id"], ["case_items.id"], name="fk_case_item_versions_item_id_case_items"
        ),
    )


def downgrade() -> None:
    raise NotImplementedError("ACMS migrations are forward-only")
