"""The trail's `rule`: every policy rule that granted a request's records, comma-joined
(issue 12: rule names such as `case.case_manager_sees_every_tier_of_their_cases`), so no
longer cut at 300 characters. Text in PostgreSQL is the same storage as varchar: no row
is rewritten, and rows already chained keep their value and hash.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column("audit_trail", "rule", type_=sa.Text, existing_type=sa.String(300))


def downgrade() -> None:
    op.alter_column("audit_trail", "rule", type_=sa.String(300), existing_type=sa.Text)
