"""Current enrolment per student, as the ENROL feed reported it.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "enrolments",
        sa.Column("student_key", sa.String(64), nullable=False),
        sa.Column("school_id", sa.Uuid),
        sa.Column("effective_on", sa.Date, nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("previous_school_id", sa.Uuid),
        sa.Column("previous_as_of", sa.DateTime(timezone=True)),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("student_key", name="pk_enrolments"),
    )


def downgrade() -> None:
    raise NotImplementedError("ACMS migrations are forward-only")
