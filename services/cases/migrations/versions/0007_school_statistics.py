"""Extended statistics on a case's two schools: `school_id` (where the request was made) and
`student_school_id` (where the student is now) are nearly always equal, so the planner,
multiplying their selectivities as if independent, expected 3 rows where a school leader's
list has 1,372 (benchmarks/README.md, case_read_latency: 700,000 cases, 500 schools). With
functional-dependency statistics it expects 446 (measured 2026-12-03 on that data; adding
`mcv` brought it back to 3, so only `dependencies`). The plan there was the same either way.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE STATISTICS IF NOT EXISTS st_cases_schools (dependencies)"
        " ON school_id, student_school_id FROM cases"
    )
    op.execute("ANALYZE cases")


def downgrade() -> None:
    op.execute("DROP STATISTICS IF EXISTS st_cases_schools")
