"""Staff projection: roles revoked in identity.

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


def upgrade() -> None:
    op.add_column(
        "staff",
        sa.Column(
            "revoked_roles",
            postgresql.ARRAY(sa.String(40)),
            nullable=False,
            server_default="{}",
        ),
    )


def downgrade() -> None:
    raise NotImplementedError("ACMS migrations are forward-only")
