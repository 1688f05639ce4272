"""Events published by the integrations service about information requests to government
agencies (Immigration, MSD, Oranga Tamariki, Police) made by Central Investigation to
help locate a student or parent. Keyed by the student key, so they stay in order with the
student's cases.

No content travels: what an agency answered (an address, a phone number) stays with the
request in integrations, where Central Investigation reads it. The events tell the case
that an answer arrived, and that location details were recorded from it.
"""

from datetime import datetime
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from acms_contracts import topics
from acms_contracts.envelope import Event


class _AgencyRequestEvent(Event):
    topic: ClassVar[str] = topics.AGENCY_REQUESTS

    request_id: UUID
    case_id: UUID
    agency: str = Field(description="immigration, msd, oranga_tamariki or police")
    subject_student_key: str = Field(min_length=1, max_length=64)
    at: datetime

    def partition_key(self) -> str:
        return self.subject_student_key

    def student_key(self) -> str | None:
        return self.subject_student_key


class AgencyInformationReturned(_AgencyRequestEvent):
    """The agency answered the request through the partner API."""

    event_type: ClassVar[str] = "AgencyInformationReturned"
    found: bool = Field(description="whether the agency holds anything on the person")
    location_returned: bool = Field(description="whether the answer carries location details")


class AgencyLocationRecorded(_AgencyRequestEvent):
    """Central Investigation recorded updated location details from the agency's answer
    (the details stay in integrations, with the request)."""

    event_type: ClassVar[str] = "AgencyLocationRecorded"
    actor_id: str = Field(description="account that recorded the details")
