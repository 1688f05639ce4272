"""Kafka subscribers of the referrals service."""

from acms_platform.messaging import EventHandlers
from acms_referrals import staff_projection
from acms_referrals.tables import organisations

handlers = EventHandlers(consumer="referrals")
organisations.register(handlers)
staff_projection.register(handlers)
