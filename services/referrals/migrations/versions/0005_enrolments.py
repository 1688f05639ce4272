"""Projection of the students' current enrolments (integrations' ENROL feed).

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
        "enrolments",
        sa.Column("student_key", sa.String(64), nullable=False),
        sa.Column("school_id", sa.Uuid),
        sa.Column("effective_on", sa.Date, nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("student_key", name="pk_enrolments"),
    )


def downgrade() -> None:
    raise NotImplementedError("ACMS migrations are forward-only")
