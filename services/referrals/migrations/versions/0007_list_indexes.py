"""Each column a view rule of the policy compares (school, creator, creator's
organisation, provider, case manager), indexed with the lists' order (newest first):
a list reads every branch of its plan in index order and stops at the page's end
(`repository.page_statement`). They replace the single-column indexes on those columns.

Not CONCURRENTLY: replicas starting together wait for the migration lock inside a
statement, and a concurrent build waits for every older snapshot, theirs included. A
plain build holds writes to `referrals` while it runs (6 s for 1,000,000
requests on this project's 2-core machines).

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

COLUMNS = {
    "school": "school_id",
    "creator_org": "creator_org_id",
    "created_by": "created_by",
    "provider": "provider_id",
    "assignee": "assignee_id",
}


def upgrade() -> None:
    for name, column in COLUMNS.items():
        op.create_index(f"ix_referrals_{name}_created", "referrals", [column, "created_at", "id"])
        op.drop_index(f"ix_referrals_{column}", "referrals")


def downgrade() -> None:
    raise NotImplementedError("ACMS migrations are forward-only")
