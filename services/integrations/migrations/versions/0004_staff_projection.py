"""The staff projection: who a caller is now (disabled, revoked roles, monitoring links).

Revision ID: 0003
Revises: 0002
"""

from acms_platform.projections.staff import create_staff_projection_tables

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_staff_projection_tables()


def downgrade() -> None:
    raise NotImplementedError("ACMS migrations are forward-only")
