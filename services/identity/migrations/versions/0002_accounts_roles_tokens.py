"""Catchments, monitoring links, accounts, roles, signing keys, refresh tokens.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _created_at() -> sa.Column:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    )


def upgrade() -> None:
    op.create_table(
        "catchments",
        sa.Column("school_id", sa.Uuid, nullable=False),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.Column("asp_id", sa.Uuid, nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("school_id", "effective_from", name="pk_catchments"),
        sa.ForeignKeyConstraint(
            ["school_id"], ["organisations.id"], name="fk_catchments_school_id_organisations"
        ),
        sa.ForeignKeyConstraint(
            ["asp_id"], ["organisations.id"], name="fk_catchments_asp_id_organisations"
        ),
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("organisation_id", sa.Uuid, nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320)),
        sa.Column("password_hash", sa.Text),
        sa.Column("is_service", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("client_id", sa.String(100)),
        sa.Column("client_secret_hash", sa.Text),
        sa.Column("disabled_at", sa.DateTime(timezone=True)),
        sa.Column("failed_sign_ins", sa.Integer, nullable=False, server_default="0"),
        sa.Column("locked_until", sa.DateTime(timezone=True)),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name="pk_accounts"),
        sa.UniqueConstraint("email", name="uq_accounts_email"),
        sa.UniqueConstraint("client_id", name="uq_accounts_client_id"),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name="fk_accounts_organisation_id_organisations",
        ),
    )
    op.create_index("ix_accounts_organisation_id", "accounts", ["organisation_id"])
    op.create_table(
        "account_roles",
        sa.Column("account_id", sa.Uuid, nullable=False),
        sa.Column("role", sa.String(60), nullable=False),
        sa.Column(
            "granted_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("account_id", "role", name="pk_account_roles"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_account_roles_account_id_accounts"
        ),
    )
    op.create_table(
        "monitoring_links",
        sa.Column("account_id", sa.Uuid, nullable=False),
        sa.Column("asp_id", sa.Uuid, nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("account_id", "asp_id", name="pk_monitoring_links"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_monitoring_links_account_id_accounts"
        ),
        sa.ForeignKeyConstraint(
            ["asp_id"], ["organisations.id"], name="fk_monitoring_links_asp_id_organisations"
        ),
    )
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(64), nullable=False),
        sa.Column("algorithm", sa.String(20), nullable=False),
        sa.Column("private_key_pem", sa.Text, nullable=False),
        sa.Column("public_jwk", postgresql.JSONB, nullable=False),
        _created_at(),
        sa.Column("retired_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("kid", name="pk_signing_keys"),
    )
    op.create_table(
        "refresh_tokens",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("account_id", sa.Uuid, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        _created_at(),
        sa.PrimaryKeyConstraint("token_hash", name="pk_refresh_tokens"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_refresh_tokens_account_id_accounts"
        ),
    )
    op.create_index("ix_refresh_tokens_account_id", "refresh_tokens", ["account_id"])


def downgrade() -> None:
    raise NotImplementedError("ACMS migrations are forward-only")
