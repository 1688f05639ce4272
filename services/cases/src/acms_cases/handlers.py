"""Kafka subscribers of the cases service."""

from sqlalchemy.ext.asyncio import AsyncSession

from acms_cases import attention, service
from acms_cases.tables import enrolment_projection, projections
from acms_contracts import EventEnvelope
from acms_contracts.attendance import StudentAttendanceRecorded
from acms_contracts.enrolments import StudentEnrolmentChanged
from acms_contracts.identity import CatchmentAssigned
from acms_contracts.referrals import ReferralAssigned
from acms_platform.messaging import EventHandlers
from acms_platform.outbox import Outbox

handlers = EventHandlers(consumer="cases")
projections.register(handlers)
outbox = Outbox("cases")


@handlers.on(ReferralAssigned)
async def open_case(
    event: ReferralAssigned, envelope: EventEnvelope, session: AsyncSession
) -> None:
    """A case opens from the assigned request, exactly once."""
    await service.open_from_assignment(event, envelope, session, outbox)


handlers.on(CatchmentAssigned)(service.record_catchment)
handlers.on(StudentAttendanceRecorded)(attention.record_attendance)


@enrolment_projection.follow
async def follow_enrolment(
    event: StudentEnrolmentChanged, envelope: EventEnvelope, session: AsyncSession
) -> None:
    """Cases follow the student to their new school (ACCESS-MODEL 6)."""
    await service.follow_enrolment(event, envelope, session, outbox)
