"""What two alert rules learn as events arrive: each organisation's reads per hour of the
day (its usual hours), and the records an organisation lost by a move or re-allocation.

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
        "organisation_hours",
        sa.Column("organisation_id", sa.String(64), nullable=False),
        sa.Column("hour", sa.SmallInteger, nullable=False),
        sa.Column("reads", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("organisation_id", "hour"),
        sa.CheckConstraint("hour BETWEEN 0 AND 23", name="ck_organisation_hours_hour"),
    )
    op.create_table(
        "ended_relationships",
        sa.Column("organisation_id", sa.String(64), nullable=False),
        sa.Column("record_id", sa.String(200), nullable=False),
        sa.Column("student_key", sa.String(64), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cause", sa.String(100), nullable=False),
        sa.Column("event_id", sa.Uuid, nullable=False),
        sa.PrimaryKeyConstraint("organisation_id", "record_id"),
    )


def downgrade() -> None:
    op.drop_table("ended_relationships")
    op.drop_table("organisation_hours")
