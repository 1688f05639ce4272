"""Every Kafka topic name in one place.

Topic names carry a major version: a change that is not backward compatible gets a new
topic rather than breaking consumers of the old one.
"""

IDENTITY_ORGANISATIONS = "acms.identity.organisations.v1"
IDENTITY_ACCOUNTS = "acms.identity.accounts.v1"
AUDIT_ACCESS = "acms.audit.access.v1"
REFERRALS = "acms.referrals.v1"
CASES = "acms.cases.v1"
ENROLMENTS = "acms.integrations.enrolments.v1"
ATTENDANCE = "acms.integrations.attendance.v1"
# Inbound: what the Ministry's ENROL side publishes for integrations to take in (the same
# records as the batch uploads, one per message; services/integrations/README.md).
MINISTRY_ENROLMENTS = "acms.ministry.enrolments.v1"
MINISTRY_ATTENDANCE = "acms.ministry.attendance.v1"
AGENCY_REQUESTS = "acms.integrations.agencies.v1"
PLATFORM_PROBES = "acms.platform.probes.v1"
PLATFORM_BENCHMARK = "acms.platform.benchmark.v1"
# What the retention service says about the trail it keeps (checkpoints, alerts). Not an
# acms.audit.* topic: the trail does not store its own seals.
RETENTION_AUDIT = "acms.retention.audit.v1"

ALL_TOPICS: tuple[str, ...] = (
    IDENTITY_ORGANISATIONS,
    IDENTITY_ACCOUNTS,
    AUDIT_ACCESS,
    REFERRALS,
    CASES,
    ENROLMENTS,
    ATTENDANCE,
    MINISTRY_ENROLMENTS,
    MINISTRY_ATTENDANCE,
    AGENCY_REQUESTS,
    PLATFORM_PROBES,
    PLATFORM_BENCHMARK,
    RETENTION_AUDIT,
)

DEAD_LETTER_SUFFIX = ".dlt"


def dead_letter_topic(topic: str) -> str:
    """The dead-letter topic where unhandleable messages from `topic` are parked."""
    return topic + DEAD_LETTER_SUFFIX


if __name__ == "__main__":
    print("\n".join(ALL_TOPICS + tuple(dead_letter_topic(t) for t in ALL_TOPICS)))
