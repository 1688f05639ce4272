"""Each student's current school as ENROL last reported it (integrations'
`StudentEnrolmentChanged`), by student key. `as_of` orders the changes: an event not
later than the one held is stale and changes nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from uuid import UUID

from sqlalchemy import Column, Date, DateTime, MetaData, String, Table, Uuid, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from acms_contracts import EventEnvelope
from acms_contracts.enrolments import StudentEnrolmentChanged
from acms_platform.messaging import EventHandlers

# What a service does once a later enrolment is held, in the same inbox transaction.
EnrolmentFollower = Callable[
    [StudentEnrolmentChanged, EventEnvelope, AsyncSession], Awaitable[None]
]


def enrolments_table(metadata: MetaData) -> Table:
    return Table(
        "enrolments",
        metadata,
        Column("student_key", String(64), primary_key=True),
        Column("school_id", Uuid),  # null: enrolled nowhere
        Column("effective_on", Date, nullable=False),
        Column("as_of", DateTime(timezone=True), nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


class EnrolmentProjection:
    def __init__(self, metadata: MetaData) -> None:
        self.table = enrolments_table(metadata)
        self._followers: list[EnrolmentFollower] = []

    def follow(self, follower: EnrolmentFollower) -> EnrolmentFollower:
        """Run `follower` after each change that is applied (not after a stale one)."""
        self._followers.append(follower)
        return follower

    def register(self, handlers: EventHandlers) -> None:
        handlers.on(StudentEnrolmentChanged)(self.record_change)

    async def record_change(
        self, event: StudentEnrolmentChanged, envelope: EventEnvelope, session: AsyncSession
    ) -> None:
        applied = await self.record_if_later(
            session,
            {
                "student_key": event.subject_student_key,
                "school_id": event.school_id,
                "effective_on": event.effective_on,
                "as_of": event.as_of,
                "updated_at": envelope.occurred_at,
            },
        )
        if applied:
            for follower in self._followers:
                await follower(event, envelope, session)

    async def record_if_later(self, session: AsyncSession, values: dict[str, object]) -> bool:
        """Hold `values` as the student's enrolment if its `as_of` is later than the one
        held (one statement: concurrent deliveries serialise on the row). False if not."""
        table = self.table
        statement = insert(table).values(**values)
        upsert = statement.on_conflict_do_update(
            index_elements=[table.c.student_key],
            set_={c: statement.excluded[c] for c in values if c != "student_key"},
            where=table.c.as_of < statement.excluded.as_of,
        ).returning(table.c.student_key)
        return (await session.execute(upsert)).first() is not None

    async def current_school(self, session: AsyncSession, student_key: str) -> UUID | None:
        statement = select(self.table.c.school_id).where(self.table.c.student_key == student_key)
        return await session.scalar(statement)


def create_enrolments_projection_table() -> None:
    """Migration step for services that keep the enrolments projection (v1)."""
    import sqlalchemy as sa
    from alembic import op

    op.create_table(
        "enrolments",
        sa.Column("student_key", sa.String(64), nullable=False),
        sa.Column("school_id", sa.Uuid),
        sa.Column("effective_on", sa.Date, nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("student_key", name="pk_enrolments"),
    )
