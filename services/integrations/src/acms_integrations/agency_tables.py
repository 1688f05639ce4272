"""Tables of agency information requests, consented sharing and the disclosure log
(migration 0006). Kept apart from the feeds' tables in `tables.py`."""

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Identity,
    Integer,
    String,
    Table,
    Text,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

from acms_integrations.tables import metadata

# Which identity organisation (org type agency) is which agency of `agreements.yaml`: set
# by the platform admin, so that an agency's client-credential token (its organisation)
# reaches only the requests addressed to that agency.
agency_links = Table(
    "agency_links",
    metadata,
    Column("agency", String(40), primary_key=True),
    Column("organisation_id", Uuid, nullable=False, unique=True),
    Column("linked_by", Uuid, nullable=False),
    Column("linked_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Each case's relationships, from the cases service's events (CaseOpened, CaseTransferred,
# CaseClosed): who may ask for consent and share for the student (its provider's workflow
# leads and its case manager), and which student it is about.
case_relationships = Table(
    "case_relationships",
    metadata,
    Column("case_id", Uuid, primary_key=True),
    Column("student_key", String(64), nullable=False, index=True),
    Column("provider_id", Uuid),
    Column("case_manager_id", Uuid),  # none after a transfer until the new ASP assigns
    Column("school_id", Uuid),
    Column("open", Boolean, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# An information request to an agency, and its delivery: `delivery_*` drive the delivery
# worker (`delivery.py`) as the outbox drives the relay; the request's id is the
# idempotency key the agency sees on every attempt.
agency_requests = Table(
    "agency_requests",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("agency", String(40), nullable=False),
    Column("agency_org_id", Uuid, nullable=False),
    Column("agreement_name", String(200), nullable=False),
    Column("agreement_version", String(40), nullable=False),
    Column("case_id", Uuid, nullable=False, index=True),
    Column("student_key", String(64), nullable=False, index=True),
    Column("subject", String(20), nullable=False),  # student or parent
    Column("purpose", String(500), nullable=False),
    Column("fields", JSONB, nullable=False),  # field name -> value sent
    Column("requested_by", Uuid, nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("status", String(20), nullable=False),  # pending, delivered, answered
    Column("delivery_attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True)),  # null once delivered
    Column("last_error", String(500)),
    Column("delivered_at", DateTime(timezone=True)),
    Column("answer", JSONB),
    Column("answered_by", Uuid),
    Column("answered_at", DateTime(timezone=True)),
    Column("location", JSONB),  # what Central Investigation recorded from the answer
    Column("location_recorded_by", Uuid),
    Column("location_recorded_at", DateTime(timezone=True)),
)

# Every disclosure of personal information outside the system: append-only (a trigger
# refuses UPDATE, DELETE and TRUNCATE; migration 0006).
disclosures = Table(
    "disclosures",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("disclosed_at", DateTime(timezone=True), nullable=False),
    Column("disclosed_by", Uuid, nullable=False),  # the account that asked for it
    Column("kind", String(30), nullable=False),  # information_request, additional_support, ...
    Column("recipient_org_id", Uuid, nullable=False),
    Column("recipient", String(200), nullable=False),  # agency code, or the party's name
    Column("fields", ARRAY(String(60)), nullable=False),
    Column("agreement", String(300)),  # information requests: name (version)
    Column("consent_id", Uuid),  # consented sharing: the consent it was made under
    Column("student_key", String(64), nullable=False, index=True),
    Column("case_id", Uuid, nullable=False),
    Column("record_id", Uuid, nullable=False),  # the request or share disclosed
)

# A consent from the student or a parent to share with one party for one purpose.
consents = Table(
    "consents",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("case_id", Uuid, nullable=False, index=True),
    Column("student_key", String(64), nullable=False),
    Column("party_org_id", Uuid, nullable=False),
    Column("purpose", String(40), nullable=False),  # additional_support or third_party
    Column("scope", ARRAY(String(60)), nullable=False),  # the fields it covers
    Column("given_by_name", String(200), nullable=False),
    Column("given_by_relationship", String(20), nullable=False),  # student or parent
    Column("given_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("recorded_by", Uuid, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("withdrawn_at", DateTime(timezone=True)),
    Column("withdrawn_by", Uuid),
    Column("withdrawal_note", Text),
)

# What a case team shared under a consent: an additional-support request to another
# agency, or information for a third party. The party reads it through the partner API
# while the consent stands.
shares = Table(
    "shares",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("consent_id", Uuid, nullable=False, index=True),
    Column("case_id", Uuid, nullable=False, index=True),
    Column("student_key", String(64), nullable=False),
    Column("recipient_org_id", Uuid, nullable=False, index=True),
    Column("purpose", String(40), nullable=False),
    Column("fields", JSONB, nullable=False),
    Column("note", Text),
    Column("shared_by", Uuid, nullable=False),
    Column("shared_at", DateTime(timezone=True), nullable=False),
)
