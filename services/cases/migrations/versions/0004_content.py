"""Content kinds on the one item model, sharing with the school, and the case team.

Versions gain `shared` (the item is shared with the school at this version), `fields`
(kind-specific content: a correspondence's parties, an activity's date...) and `change`
(what the version did: create, revise, label, unlabel, share, unshare). A trigger refuses
any UPDATE of a version, and any DELETE outside a disposal (ACCESS-MODEL 9). The support
plan is one item per case. The team: who was added to a case, by whom, and when they left.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "case_item_versions",
        sa.Column("shared", sa.Boolean, nullable=False, server_default="false"),
    )
    op.add_column(
        "case_item_versions",
        sa.Column("fields", postgresql.JSONB, nullable=False, server_default="{}"),
    )
    op.add_column(
        "case_item_versions",
        sa.Column("change", sa.String(20), nullable=False, server_default="revise"),
    )
    # The versions written before this revision: the first of each created its note.
    op.execute("UPDATE case_item_versions SET change = 'create' WHERE version = 1")
    op.execute(
        """
        CREATE FUNCTION case_item_versions_are_immutable() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' AND current_setting('acms.disposal', true) = 'on' THEN
                RETURN OLD;
            END IF;
            RAISE EXCEPTION 'case item versions are never % (ACCESS-MODEL 9)',
                lower(TG_OP) || 'd' USING ERRCODE = 'restrict_violation';
        END;
        $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER case_item_versions_immutable
        BEFORE UPDATE OR DELETE ON case_item_versions
        FOR EACH ROW EXECUTE FUNCTION case_item_versions_are_immutable()
        """
    )
    op.create_index(
        "uq_case_items_one_support_plan",
        "case_items",
        ["case_id"],
        unique=True,
        postgresql_where=sa.text("kind = 'support_plan'"),
    )
    op.create_table(
        "case_team_members",
        sa.Column("id", sa.BigInteger, autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Uuid, nullable=False),
        sa.Column("account_id", sa.Uuid, nullable=False),
        sa.Column("added_by", sa.String(64), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_by", sa.String(64)),
        sa.Column("removed_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_case_team_members"),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name="fk_case_team_members_case_id_cases"
        ),
    )
    # One current membership per person and case; the caller's cases by membership.
    op.create_index(
        "uq_case_team_members_current",
        "case_team_members",
        ["case_id", "account_id"],
        unique=True,
        postgresql_where=sa.text("removed_at IS NULL"),
    )
    op.create_index(
        "ix_case_team_members_account_current",
        "case_team_members",
        ["account_id", "case_id"],
        postgresql_where=sa.text("removed_at IS NULL"),
    )


def downgrade() -> None:
    raise NotImplementedError("ACMS migrations are forward-only")
