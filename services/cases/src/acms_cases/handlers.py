"""Kafka subscribers of the cases service."""

from sqlalchemy.ext.asyncio import AsyncSession

from acms_cases import service
from acms_cases.tables import projections
from acms_contracts import EventEnvelope
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
