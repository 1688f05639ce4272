"""Accounts by invitation, four eyes on data roles, sign-in throttling (issue 15).

Activation tokens (invitations and password resets, kept as digests), role grants waiting
for a second platform admin, the sign-in throttle's counters and the clients each account
has signed in from. The hard lock-out (failed_sign_ins, locked_until) is gone.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _at(name: str, nullable: bool = True) -> sa.Column:
    if nullable:
        return sa.Column(name, sa.DateTime(timezone=True))
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    op.create_table(
        "activation_tokens",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("account_id", sa.Uuid, nullable=False),
        sa.Column("purpose", sa.String(20), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        _at("used_at"),
        _at("created_at", nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name="pk_activation_tokens"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_activation_tokens_account_id_accounts"
        ),
        sa.CheckConstraint(
            "purpose in ('invitation', 'password_reset')", name="ck_activation_tokens_purpose"
        ),
    )
    op.create_index("ix_activation_tokens_account_id", "activation_tokens", ["account_id"])
    op.create_table(
        "role_grant_requests",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("account_id", sa.Uuid, nullable=False),
        sa.Column("role", sa.String(60), nullable=False),
        sa.Column("requested_by", sa.Uuid, nullable=False),
        _at("requested_at", nullable=False),
        sa.Column("decided_by", sa.Uuid),
        _at("decided_at"),
        sa.Column("outcome", sa.String(20)),
        sa.PrimaryKeyConstraint("id", name="pk_role_grant_requests"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_role_grant_requests_account_id_accounts"
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"], ["accounts.id"], name="fk_role_grant_requests_requested_by_accounts"
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["accounts.id"], name="fk_role_grant_requests_decided_by_accounts"
        ),
        sa.CheckConstraint(
            "outcome in ('approved', 'rejected')", name="ck_role_grant_requests_outcome"
        ),
        sa.CheckConstraint(
            "outcome is distinct from 'approved' or decided_by <> requested_by",
            name="ck_role_grant_requests_four_eyes",
        ),
    )
    # At most one grant of a role to an account waits at a time.
    op.create_index(
        "uq_role_grant_requests_pending",
        "role_grant_requests",
        ["account_id", "role"],
        unique=True,
        postgresql_where=sa.text("decided_at is null"),
    )
    op.create_table(
        "sign_in_throttle",
        sa.Column("key", sa.String(80), nullable=False),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("key", name="pk_sign_in_throttle"),
    )
    op.create_table(
        "known_clients",
        sa.Column("account_id", sa.Uuid, nullable=False),
        sa.Column("client_key", sa.String(80), nullable=False),
        _at("last_seen_at", nullable=False),
        sa.PrimaryKeyConstraint("account_id", "client_key", name="pk_known_clients"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_known_clients_account_id_accounts"
        ),
    )
    op.drop_column("accounts", "failed_sign_ins")
    op.drop_column("accounts", "locked_until")


def downgrade() -> None:
    raise NotImplementedError("ACMS migrations are forward-only")
