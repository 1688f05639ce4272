"""The registry of every event type known to this build of the contracts."""

from acms_contracts import (
    agencies,
    attendance,
    audit,
    cases,
    enrolments,
    identity,
    ministry,
    platform,
    referrals,
    retention,
)
from acms_contracts.envelope import Event, UnknownEventType

_EVENT_CLASSES: tuple[type[Event], ...] = (
    identity.OrganisationRegistered,
    identity.OrganisationRenamed,
    identity.CatchmentAssigned,
    identity.MonitoringLinkAdded,
    identity.MonitoringLinkRemoved,
    identity.AccountCreated,
    identity.AccountDisabled,
    identity.AccountEnabled,
    identity.RoleGranted,
    identity.RoleRevoked,
    audit.AccessDecisionRecorded,
    audit.ApiRequestAudited,
    platform.ProbeEmitted,
    platform.BenchmarkProbeEmitted,
    referrals.ReferralDrafted,
    referrals.ReferralSubmitted,
    referrals.ReferralWithdrawn,
    referrals.ReferralDeclined,
    referrals.ReferralAccepted,
    referrals.ReferralAllocated,
    referrals.ReferralReallocated,
    referrals.ReferralAssigned,
    enrolments.StudentEnrolmentChanged,
    attendance.StudentAttendanceRecorded,
    ministry.EnrolmentRecordReported,
    ministry.AttendanceMarkReported,
    agencies.AgencyInformationReturned,
    agencies.AgencyLocationRecorded,
    cases.CaseOpened,
    cases.CaseClosed,
    cases.CaseProsecutionNoticeGiven,
    cases.CaseProsecutionNoticeWithdrawn,
    cases.CaseTransferred,
    cases.CasePrimaryContactChanged,
    cases.CaseNeedsAttention,
    retention.AuditCheckpointSealed,
    retention.AccessAlertRaised,
    retention.AccessAlertAcknowledged,
)

EVENT_TYPES: dict[str, type[Event]] = {cls.event_type: cls for cls in _EVENT_CLASSES}


def event_class(event_type: str) -> type[Event]:
    try:
        return EVENT_TYPES[event_type]
    except KeyError:
        raise UnknownEventType(f"unknown event type {event_type!r}") from None
