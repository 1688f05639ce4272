"""Organisation types and roles of ACCESS-MODEL.md sections 1 and 2."""

from enum import StrEnum


class OrgType(StrEnum):
    SCHOOL = "school"
    ISP = "isp"
    ASP = "asp"
    MINISTRY_NATIONAL = "ministry_national"
    MINISTRY_REGIONAL = "ministry_regional"
    AGENCY = "agency"


class Role(StrEnum):
    SCHOOL_LEADER = "school_leader"
    SCHOOL_OFFICE_SUPPORT = "school_office_support"
    SCHOOL_STAFF = "school_staff"
    ISP_WORKFLOW_LEAD = "isp_workflow_lead"
    ASP_WORKFLOW_LEAD = "asp_workflow_lead"
    ASP_CASE_MANAGER = "asp_case_manager"
    CENTRAL_INVESTIGATION = "central_investigation"
    NATIONAL_CONTRACTS = "national_contracts"
    PROSECUTIONS = "prosecutions"
    REGIONAL_CONTRACT_MANAGER = "regional_contract_manager"
    REGIONAL_OFFICE_STAFF = "regional_office_staff"
    PRIVACY_OFFICER = "privacy_officer"
    RECORDS_MANAGER = "records_manager"
    PLATFORM_ADMIN = "platform_admin"
    AGENCY_CLIENT = "agency_client"
    ENROL_FEED = "enrol_feed"


ROLE_ORG_TYPE: dict[Role, OrgType] = {
    Role.SCHOOL_LEADER: OrgType.SCHOOL,
    Role.SCHOOL_OFFICE_SUPPORT: OrgType.SCHOOL,
    Role.SCHOOL_STAFF: OrgType.SCHOOL,
    Role.ISP_WORKFLOW_LEAD: OrgType.ISP,
    Role.ASP_WORKFLOW_LEAD: OrgType.ASP,
    Role.ASP_CASE_MANAGER: OrgType.ASP,
    Role.CENTRAL_INVESTIGATION: OrgType.MINISTRY_NATIONAL,
    Role.NATIONAL_CONTRACTS: OrgType.MINISTRY_NATIONAL,
    Role.PROSECUTIONS: OrgType.MINISTRY_NATIONAL,
    Role.PRIVACY_OFFICER: OrgType.MINISTRY_NATIONAL,
    Role.RECORDS_MANAGER: OrgType.MINISTRY_NATIONAL,
    Role.PLATFORM_ADMIN: OrgType.MINISTRY_NATIONAL,
    Role.REGIONAL_CONTRACT_MANAGER: OrgType.MINISTRY_REGIONAL,
    Role.REGIONAL_OFFICE_STAFF: OrgType.MINISTRY_REGIONAL,
    Role.AGENCY_CLIENT: OrgType.AGENCY,
    Role.ENROL_FEED: OrgType.MINISTRY_NATIONAL,
}

# [decision] Roles held only by machine identities (client credentials, no password):
# an agency's client, and the Ministry's ENROL system reporting enrolment changes.
MACHINE_ROLES: frozenset[Role] = frozenset({Role.AGENCY_CLIENT, Role.ENROL_FEED})


def role_is_valid_for(role: Role, org_type: OrgType) -> bool:
    return ROLE_ORG_TYPE[role] is org_type
