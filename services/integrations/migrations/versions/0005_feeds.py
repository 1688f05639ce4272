"""ENROL's full records, batch-upload jobs and their rejected rows, the active-case
projection and the attendance kept for students with an active case (issue 11).

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
    for column in (
        sa.Column("record_school_id", sa.Uuid),
        sa.Column("student_type", sa.String(4)),
        sa.Column("year_level", sa.SmallInteger),
        sa.Column("enrolled_on", sa.Date),
        sa.Column("left_on", sa.Date),
        sa.Column("leaving_reason", sa.String(40)),
        sa.Column("job_id", sa.Uuid),
    ):
        op.add_column("enrolments", column)
    now = sa.func.now()
    op.create_table(
        "ingest_jobs",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.Column("bytes_received", sa.BigInteger, nullable=False, server_default="0"),
        *(
            sa.Column(name, sa.Integer, nullable=False, server_default="0")
            for name in ("rows_read", "rejected", "applied", "unchanged", "stale", "dropped")
        ),
        sa.Column("sha256", sa.String(64)),
        sa.Column("failure", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_ingest_jobs"),
    )
    op.create_index(
        "ix_ingest_jobs_created_by_created_at", "ingest_jobs", ["created_by", "created_at"]
    )
    op.create_table(
        "ingest_rejections",
        sa.Column("job_id", sa.Uuid, nullable=False),
        sa.Column("line", sa.Integer, nullable=False),
        sa.Column("reasons", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("job_id", "line", name="pk_ingest_rejections"),
    )
    op.create_table(
        "active_cases",
        sa.Column("case_id", sa.Uuid, nullable=False),
        sa.Column("student_key", sa.String(64), nullable=False),
        sa.Column("school_id", sa.Uuid),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("case_id", name="pk_active_cases"),
    )
    op.create_index("ix_active_cases_student_key", "active_cases", ["student_key"])
    op.create_table(
        "attendance_records",
        sa.Column("student_key", sa.String(64), nullable=False),
        sa.Column("school_id", sa.Uuid, nullable=False),
        sa.Column("on", sa.Date, nullable=False),
        sa.Column("session", sa.String(3), nullable=False),
        sa.Column("code", sa.String(2), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("job_id", sa.Uuid),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.PrimaryKeyConstraint(
            "student_key", "school_id", "on", "session", name="pk_attendance_records"
        ),
    )


def downgrade() -> None:
    raise NotImplementedError("ACMS migrations are forward-only")
