"""Requests: the region of their current school, and whether ENROL set that school.

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
    op.add_column("referrals", sa.Column("school_region", sa.String(100)))
    op.add_column(
        "referrals",
        sa.Column("school_from_enrol", sa.Boolean, nullable=False, server_default="false"),
    )
    # The region of each request's school, as the organisations projection knows it.
    op.execute(
        """
        UPDATE referrals SET school_region = organisations.region
        FROM organisations
        WHERE organisations.id = referrals.school_id AND organisations.org_type = 'school'
        """
    )
    # A request whose school is still the one ENROL's latest move gave it (no school
    # included: the student is enrolled nowhere) holds ENROL's school; one whose creator
    # has named another school since holds the creator's.
    op.execute(
        """
        UPDATE referrals SET school_from_enrol = true
        FROM (
            SELECT DISTINCT ON (referral_id) referral_id, detail ->> 'school_id' AS school_id
            FROM referral_transitions
            WHERE action = 'enrolment_changed'
            ORDER BY referral_id, id DESC
        ) AS latest_move
        WHERE latest_move.referral_id = referrals.id
          AND latest_move.school_id IS NOT DISTINCT FROM referrals.school_id::text
        """
    )


def downgrade() -> None:
    raise NotImplementedError("ACMS migrations are forward-only")
