"""Probe effects are counted per stream (tests and the benchmark poll for them).

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_probe_effects_stream", "probe_effects", ["stream"])


def downgrade() -> None:
    op.drop_index("ix_probe_effects_stream", table_name="probe_effects")
