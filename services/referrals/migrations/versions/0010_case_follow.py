"""The case opened from a request, as referrals follows it: when it last moved
(`CaseTransferred`, the out-of-order guard of the request following it) and when it
closed (`CaseClosed`: the student has no active case from this request any more).

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("referrals", sa.Column("case_moved_at", sa.DateTime(timezone=True)))
    op.add_column("referrals", sa.Column("case_closed_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    raise NotImplementedError("ACMS migrations are forward-only")
