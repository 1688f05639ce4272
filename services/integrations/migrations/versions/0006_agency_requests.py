"""Agency information requests, their delivery, consented sharing, the disclosure log
(append-only) and the case relationships they are authorised by.

Revision ID: 0006
Revises: 0004
"""

from alembic import op

from acms_integrations.agency_tables import (
    agency_links,
    agency_requests,
    case_relationships,
    consents,
    disclosures,
    shares,
)

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    for table in (agency_links, case_relationships, agency_requests, disclosures, consents, shares):
        table.create(bind)
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
