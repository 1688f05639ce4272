"""Kafka subscribers of the referrals service."""

from acms_platform.messaging import EventHandlers
from acms_referrals.service.enrolment import follow_enrolment_change
from acms_referrals.tables import enrolment_projection, projections

handlers = EventHandlers(consumer="referrals")
projections.register(handlers)
enrolment_projection.follow(follow_enrolment_change)
