"""Student keys become keyed pseudonyms: every stored key is recomputed as
HMAC-SHA-256 of the student's NSN under ACMS_STUDENT_KEY_SECRET (`acms_contracts.
student_keys`), replacing the uuid5 of the NSN, which anyone could reverse by trying every
NSN. The same re-keying as `python -m acms_referrals.rekey` (see there for the rules).
Holds writes to `referrals` and `enrolments` while it runs.

Revision ID: 0008
Revises: 0007
"""

from alembic import op

from acms_contracts.student_keys import student_key_for_nsn
from acms_platform.migrations import migration_student_key_secret
from acms_referrals.rekey import rekey

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    secret = migration_student_key_secret()
    rekey(op.get_bind(), lambda nsn: student_key_for_nsn(nsn, secret))


def downgrade() -> None:
    raise NotImplementedError("ACMS migrations are forward-only")
