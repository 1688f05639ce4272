"""Kafka subscribers of the integrations service.

The cases' events feed two projections (one handler per event type): which students have
an active case (case_projection: attendance is kept for them only) and who holds each case
(case_relationships: consent and sharing)."""

from acms_contracts.cases import CaseClosed, CaseOpened, CaseTransferred
from acms_integrations import case_projection, case_relationships, ministry_handlers
from acms_integrations.tables import projections
from acms_platform.messaging import EventHandlers, Handler

handlers = EventHandlers(consumer="integrations")
projections.register(handlers)
ministry_handlers.register(handlers)


def _both(first: Handler, second: Handler) -> Handler:
    async def both(event, envelope, session):  # type: ignore[no-untyped-def]
        await first(event, envelope, session)
        await second(event, envelope, session)

    return both


handlers.on(CaseOpened)(_both(case_projection.case_opened, case_relationships.case_opened))
handlers.on(CaseTransferred)(
    _both(case_projection.case_transferred, case_relationships.case_transferred)
)
handlers.on(CaseClosed)(_both(case_projection.case_closed, case_relationships.case_closed))
