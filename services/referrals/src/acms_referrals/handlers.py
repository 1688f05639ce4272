"""Kafka subscribers of the referrals service."""

from acms_contracts.enrolments import StudentEnrolmentChanged
from acms_platform.messaging import EventHandlers
from acms_referrals import staff_projection
from acms_referrals.service.enrolment import follow_enrolment_change
from acms_referrals.tables import organisations

handlers = EventHandlers(consumer="referrals")
organisations.register(handlers)
staff_projection.register(handlers)
handlers.on(StudentEnrolmentChanged)(follow_enrolment_change)
