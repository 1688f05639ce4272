"""Kafka subscribers of the referrals service."""

from sqlalchemy.ext.asyncio import AsyncSession

from acms_contracts import EventEnvelope
from acms_contracts.cases import CaseClosed, CaseOpened, CaseTransferred
from acms_contracts.enrolments import StudentEnrolmentChanged
from acms_contracts.identity import CatchmentAssigned
from acms_platform.messaging import EventHandlers
from acms_platform.outbox import Outbox
from acms_referrals import repository
from acms_referrals.service.case_moves import follow_case_transfer, record_case_closed
from acms_referrals.service.enrolment import follow_enrolment_change
from acms_referrals.tables import enrolment_projection, projections

handlers = EventHandlers(consumer="referrals")
projections.register(handlers)
outbox = Outbox("referrals")


@enrolment_projection.follow
async def follow_enrolment(
    event: StudentEnrolmentChanged, envelope: EventEnvelope, session: AsyncSession
) -> None:
    """The student's requests follow them to their new school (ACCESS-MODEL 6)."""
    await follow_enrolment_change(event, envelope, session, outbox)


@handlers.on(CatchmentAssigned)
async def record_catchment(
    event: CatchmentAssigned, envelope: EventEnvelope, session: AsyncSession
) -> None:
    """Where an allocated request goes when its student moves to this school."""
    await repository.set_catchment(
        session, event.organisation_id, event.asp_id, event.effective_from
    )


@handlers.on(CaseOpened)
async def record_case_opened(
    event: CaseOpened, envelope: EventEnvelope, session: AsyncSession
) -> None:
    """A case opened from the request: from now on the case moves with the student, not
    the request."""
    await repository.record_case_opened(session, event.referral_id, event.case_id)


@handlers.on(CaseTransferred)
async def follow_case(
    event: CaseTransferred, envelope: EventEnvelope, session: AsyncSession
) -> None:
    """The request goes where its case went: the former provider and case manager lose it
    with the case (ACCESS-MODEL 6)."""
    await follow_case_transfer(event, envelope, session, outbox)


handlers.on(CaseClosed)(record_case_closed)
