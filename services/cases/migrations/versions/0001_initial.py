"""Platform tables (outbox, inbox) and the organisations projection.

Revision ID: 0001
Revises:
"""

from acms_platform.identity_projection import create_organisations_projection_table
from acms_platform.migrations import create_platform_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_platform_tables()
    create_organisations_projection_table()


def downgrade() -> None:
    raise NotImplementedError("ACMS migrations are forward-only")
