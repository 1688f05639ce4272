"""The student key before keyed pseudonyms: uuid5 of the NSN under a namespace that was
committed in `acms_contracts` (anyone could reverse it by trying every NSN).

Used for one thing only: migration 0003 could not re-key the enrolment rows written
before it, because this service did not keep the NSN. The intake finds such a row by this
key when ENROL next reports the student and re-keys it (`repository.adopt_legacy_row`).
Remove this module, and that step, once `select count(*) from enrolments where nsn is
null` is 0.
"""

from uuid import UUID, uuid5

LEGACY_NAMESPACE = UUID("6d0b7c1e-5a8f-4c1a-9f64-2f3c2b6f5a10")


def legacy_student_key(nsn: str) -> str:
    return str(uuid5(LEGACY_NAMESPACE, f"nsn:{nsn}"))
