import hashlib
import hmac
import inspect
from uuid import UUID, uuid4

import pytest

from acms_contracts import student_keys
from acms_contracts.student_keys import is_keyed_pseudonym, student_key_for_nsn

ONE = "first-test-secret-NOT-SECRET-0123456789"
TWO = "second-test-secret-NOT-SECRET-012345678"


def test_the_key_cannot_be_made_without_a_secret():
    parameter = inspect.signature(student_key_for_nsn).parameters["secret"]
    assert parameter.default is inspect.Parameter.empty
    with pytest.raises(TypeError):
        student_key_for_nsn("123456789")  # type: ignore[call-arg]
    for weak in ("", "x" * 31, b""):
        with pytest.raises(ValueError, match="at least 32"):
            student_key_for_nsn("123456789", weak)


def test_the_contracts_hold_no_secret_or_namespace():
    assert not hasattr(student_keys, "STUDENT_KEY_NAMESPACE")
    from acms_contracts import referrals

    assert not hasattr(referrals, "STUDENT_KEY_NAMESPACE")
    assert not hasattr(referrals, "student_key_for_nsn")


def test_two_secrets_give_different_keys_and_one_secret_the_same_key():
    assert student_key_for_nsn("123456789", ONE) != student_key_for_nsn("123456789", TWO)
    assert student_key_for_nsn("123456789", ONE) == student_key_for_nsn(" 123456789 ", ONE)
    assert student_key_for_nsn("123456789", ONE) == student_key_for_nsn("123456789", ONE.encode())
    # Leading zeros are kept: another NSN, another key.
    assert student_key_for_nsn("0123456789", ONE) != student_key_for_nsn("123456789", ONE)


def test_the_key_is_the_hmac_of_the_nsn_written_as_a_version_8_uuid():
    key = student_key_for_nsn("123456789", ONE)
    mac = hmac.new(ONE.encode(), b"nsn:123456789", hashlib.sha256).digest()
    parsed = UUID(key)
    assert parsed.version == 8 and parsed.variant == "specified in RFC 4122"
    # Every bit but the six version and variant bits is the MAC's.
    mask = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
    assert parsed.int & mask == int.from_bytes(mac[:16], "big") & mask
    assert "123456789" not in key and len(key) == 36


def test_a_pseudonym_is_told_from_older_and_random_keys():
    assert is_keyed_pseudonym(student_key_for_nsn("123456789", ONE))
    assert not is_keyed_pseudonym(str(uuid4()))
    assert not is_keyed_pseudonym("not-a-uuid")


@pytest.mark.parametrize("nsn", ["12345678", "12345678901", "12345678a", ""])
def test_an_nsn_that_is_not_9_or_10_digits_is_refused(nsn):
    with pytest.raises(ValueError, match="9 or 10 digits"):
        student_key_for_nsn(nsn, ONE)
