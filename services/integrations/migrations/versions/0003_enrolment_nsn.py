"""Student keys become keyed pseudonyms (HMAC-SHA-256 of the NSN under
ACMS_STUDENT_KEY_SECRET, `acms_contracts.student_keys`). Each enrolment row now keeps the
NSN its key was computed from, so that a change of the secret can re-key it
(`python -m acms_integrations.rekey`).

The rows written before this revision were keyed by uuid5 of the NSN and kept no NSN, so
they cannot be re-keyed here: they keep their old key, with `nsn` null, until ENROL next
reports the student; the intake then finds the row by its old key, re-keys it and tells
consumers the enrolment under the new key (`legacy_keys`, `repository.adopt_legacy_row`).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("enrolments", sa.Column("nsn", sa.String(10)))


def downgrade() -> None:
    raise NotImplementedError("ACMS migrations are forward-only")
