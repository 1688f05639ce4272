"""The student key: a keyed pseudonym of a National Student Number.

`student_key_for_nsn(nsn, secret)` is HMAC-SHA-256 of the normalised NSN under the
deployment's student-key secret (`ACMS_STUDENT_KEY_SECRET`), written as a UUID (the first
128 bits of the MAC, with the version bits of an RFC 9562 version 8 UUID). Every service
holding the secret derives the same key for the same student, so one student's events
share a Kafka partition key; without the secret a key cannot be turned back into an NSN
by trying every NSN. This package never holds the secret: the caller passes it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from functools import lru_cache
from uuid import UUID

# A National Student Number as every service accepts it: 9 or 10 digits [decision: leading
# zeros kept as written, so "0123456789" and "123456789" are different students].
NSN_PATTERN = r"^[0-9]{9,10}$"
_NSN = re.compile(NSN_PATTERN)

# A secret shorter than this is refused: the key is only as hard to reverse as the secret
# is to guess (the launchers make 43 characters from 32 random bytes).
MIN_SECRET_LENGTH = 32


def normalise_nsn(nsn: str) -> str:
    """The NSN as keys are computed from it: surrounding spaces dropped, 9 or 10 digits."""
    value = nsn.strip()
    if not _NSN.fullmatch(value):
        raise ValueError("an NSN is 9 or 10 digits")
    return value


def _secret_bytes(secret: str | bytes) -> bytes:
    raw = secret.encode() if isinstance(secret, str) else bytes(secret)
    if len(raw) < MIN_SECRET_LENGTH:
        raise ValueError(f"the student-key secret must be at least {MIN_SECRET_LENGTH} bytes")
    return raw


@lru_cache(maxsize=8)
def _keyed(secret: str | bytes) -> hmac.HMAC:
    """The MAC keyed with the secret, before any message: copied for each NSN, so the key
    schedule is computed once per secret (a national file keys a million NSNs)."""
    return hmac.new(_secret_bytes(secret), b"nsn:", hashlib.sha256)


def student_key_for_nsn(nsn: str, secret: str | bytes) -> str:
    """The student key of the student with this NSN under the deployment's secret."""
    mac = _keyed(secret).copy()
    mac.update(normalise_nsn(nsn).encode())
    raw = bytearray(mac.digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x80  # version 8 (custom), RFC 9562 section 5.8
    raw[8] = (raw[8] & 0x3F) | 0x80  # variant 10
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def is_keyed_pseudonym(key: str) -> bool:
    """Whether `key` has the shape of a key from `student_key_for_nsn` (version 8): keys
    made before it (uuid5 of the NSN) and a draft's own random key (uuid4) have not."""
    try:
        return UUID(key).version == 8
    except ValueError:
        return False
