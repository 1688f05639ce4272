"""Agency information requests, their delivery, consented sharing, the disclosure log
(append-only) and the case relationships they are authorised by.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agency_links",
        sa.Column("agency", sa.String(40)),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("linked_by", sa.Uuid(), nullable=False),
        sa.Column(
            "linked_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("agency", name="pk_agency_links"),
        sa.UniqueConstraint("organisation_id", name="uq_agency_links_organisation_id"),
    )
    op.create_table(
        "case_relationships",
        sa.Column("case_id", sa.Uuid()),
        sa.Column("student_key", sa.String(64), nullable=False),
        sa.Column("provider_id", sa.Uuid()),
        sa.Column("case_manager_id", sa.Uuid()),
        sa.Column("school_id", sa.Uuid()),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("case_id", name="pk_case_relationships"),
    )
    op.create_index("ix_case_relationships_student_key", "case_relationships", ["student_key"])
    op.create_table(
        "agency_requests",
        sa.Column("id", sa.Uuid()),
        sa.Column("agency", sa.String(40), nullable=False),
        sa.Column("agency_org_id", sa.Uuid(), nullable=False),
        sa.Column("agreement_name", sa.String(200), nullable=False),
        sa.Column("agreement_version", sa.String(40), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("student_key", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(20), nullable=False),
        sa.Column("purpose", sa.String(500), nullable=False),
        sa.Column("fields", postgresql.JSONB(), nullable=False),
        sa.Column("requested_by", sa.Uuid(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("delivery_attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
        sa.Column("last_error", sa.String(500)),
        sa.Column("delivered_at", sa.DateTime(timezone=True)),
        sa.Column("answer", postgresql.JSONB()),
        sa.Column("answered_by", sa.Uuid()),
        sa.Column("answered_at", sa.DateTime(timezone=True)),
        sa.Column("location", postgresql.JSONB()),
        sa.Column("location_recorded_by", sa.Uuid()),
        sa.Column("location_recorded_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_agency_requests"),
    )
    op.create_index("ix_agency_requests_case_id", "agency_requests", ["case_id"])
    op.create_index("ix_agency_requests_student_key", "agency_requests", ["student_key"])
    op.create_table(
        "disclosures",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True)),
        sa.Column("disclosed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disclosed_by", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("recipient_org_id", sa.Uuid(), nullable=False),
        sa.Column("recipient", sa.String(200), nullable=False),
        sa.Column("fields", postgresql.ARRAY(sa.String(60)), nullable=False),
        sa.Column("agreement", sa.String(300)),
        sa.Column("consent_id", sa.Uuid()),
        sa.Column("student_key", sa.String(64), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_disclosures"),
    )
    op.create_index("ix_disclosures_student_key", "disclosures", ["student_key"])
    op.create_table(
        "consents",
        sa.Column("id", sa.Uuid()),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("student_key", sa.String(64), nullable=False),
        sa.Column("party_org_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(40), nullable=False),
        sa.Column("scope", postgresql.ARRAY(sa.String(60)), nullable=False),
        sa.Column("given_by_name", sa.String(200), nullable=False),
        sa.Column("given_by_relationship", sa.String(20), nullable=False),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.Uuid(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True)),
        sa.Column("withdrawn_by", sa.Uuid()),
        sa.Column("withdrawal_note", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_consents"),
    )
    op.create_index("ix_consents_case_id", "consents", ["case_id"])
    op.create_table(
        "shares",
        sa.Column("id", sa.Uuid()),
        sa.Column("consent_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("student_key", sa.String(64), nullable=False),
        sa.Column("recipient_org_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(40), nullable=False),
        sa.Column("fields", postgresql.JSONB(), nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("shared_by", sa.Uuid(), nullable=False),
        sa.Column("shared_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_shares"),
    )
    op.create_index("ix_shares_case_id", "shares", ["case_id"])
    op.create_index("ix_shares_consent_id", "shares", ["consent_id"])
    op.create_index("ix_shares_recipient_org_id", "shares", ["recipient_org_id"])
    op.create_index(
        "ix_agency_requests_due",
        "agency_requests",
        ["next_attempt_at"],
        postgresql_where="next_attempt_at IS NOT NULL",
    )
    # The service's own role cannot be kept from UPDATE and DELETE on a table it owns, so a
    # trigger refuses them (and TRUNCATE) for everyone (as retention's audit trail does).
    op.execute(
        """
        CREATE FUNCTION refuse_disclosure_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION 'the disclosure log is append-only: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER disclosures_append_only BEFORE UPDATE OR DELETE ON disclosures"
        " FOR EACH ROW EXECUTE FUNCTION refuse_disclosure_change()"
    )
    op.execute(
        "CREATE TRIGGER disclosures_no_truncate BEFORE TRUNCATE ON disclosures"
        " FOR EACH STATEMENT EXECUTE FUNCTION refuse_disclosure_change()"
    )


def downgrade() -> None:
    raise NotImplementedError("ACMS migrations are forward-only")
