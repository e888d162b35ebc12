"""GetRandomPassword with boto3 and raw HTTP (docs/aws-behaviour.md §3.7): defaults, character classes, exclusions
and the impossible-request errors."""

import json
import string

from conftest import error_of
from test_wire import signed

UPPER = set(string.ascii_uppercase)
LOWER = set(string.ascii_lowercase)
DIGITS = set(string.digits)
# The 32 ASCII punctuation characters: !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~
PUNCTUATION = set(string.punctuation)
TOO_SHORT = ("InvalidParameterException", "Password length is too short based on the required types.", 400)


def password(sm, **kwargs):
    out = sm.get_random_password(**kwargs)
    assert set(out) - {"ResponseMetadata"} == {"RandomPassword"}
    return out["RandomPassword"]


def test_default_is_32_characters_with_every_class_and_no_space(sm):
    for _ in range(20):
        p = password(sm)
        assert len(p) == 32
        chars = set(p)
        assert chars <= UPPER | LOWER | DIGITS | PUNCTUATION
        assert " " not in chars
        # RequireEachIncludedType defaults to true.
        for cls in (UPPER, LOWER, DIGITS, PUNCTUATION):
            assert chars & cls, p


def test_passwords_differ_between_calls(sm):
    seen = {password(sm) for _ in range(10)}
    assert len(seen) == 10


def test_password_length_bounds(sm):
    assert len(password(sm, PasswordLength=4)) == 4
    assert len(password(sm, PasswordLength=4096)) == 4096
    code, message, status = error_of(sm.get_random_password, PasswordLength=4097)
    assert (code, status) == ("ValidationException", 400)
    assert message.startswith("1 validation error detected: ")
    assert "'passwordLength'" in message


def test_password_length_zero_sent_raw_is_a_validation_error(server):
    # botocore refuses PasswordLength < 1 client-side; other clients send it.
    r = signed(server, "GetRandomPassword", json.dumps({"PasswordLength": 0}))
    assert r.status_code == 400
    body = r.json()
    assert body["__type"] == "ValidationException"
    assert body["Message"].startswith("1 validation error detected: ")
    assert "'passwordLength'" in body["Message"]


def test_each_exclusion_flag_removes_its_class(sm):
    for flag, cls in (
        ("ExcludeUppercase", UPPER),
        ("ExcludeLowercase", LOWER),
        ("ExcludeNumbers", DIGITS),
        ("ExcludePunctuation", PUNCTUATION),
    ):
        p = password(sm, PasswordLength=200, **{flag: True})
        assert len(p) == 200
        assert not set(p) & cls, flag
        remaining = (UPPER | LOWER | DIGITS | PUNCTUATION) - cls
        assert set(p) <= remaining, flag
        for other in (UPPER, LOWER, DIGITS, PUNCTUATION):
            if other is not cls:
                assert set(p) & other, (flag, p)


def test_only_lowercase_left(sm):
    p = password(sm, PasswordLength=50, ExcludePunctuation=True, ExcludeNumbers=True, ExcludeUppercase=True)
    assert len(p) == 50 and set(p) <= LOWER


def test_exclude_characters(sm):
    excluded = "xyzDje@?!."
    p = password(sm, PasswordLength=120, ExcludeCharacters=excluded)
    assert len(p) == 120 and not set(p) & set(excluded)
    p = password(sm, PasswordLength=300, ExcludeCharacters=string.digits[:9], ExcludePunctuation=True)
    # Only '9' is left of the digits, and a digit is still required.
    assert set(p) & DIGITS == {"9"}


def test_include_space(sm):
    ps = [password(sm, PasswordLength=300, IncludeSpace=True) for _ in range(5)]
    assert all(len(p) == 300 for p in ps)
    # Whether space is a required class is not specified; over 1500 characters it shows anyway.
    assert " " in "".join(ps)
    assert set("".join(ps)) <= UPPER | LOWER | DIGITS | PUNCTUATION | {" "}


def test_require_each_included_type_false_allows_length_one(sm):
    p = password(sm, PasswordLength=1, RequireEachIncludedType=False)
    assert len(p) == 1 and p in UPPER | LOWER | DIGITS | PUNCTUATION


def test_length_shorter_than_required_classes_is_rejected(sm):
    assert error_of(sm.get_random_password, PasswordLength=2) == TOO_SHORT
    assert error_of(sm.get_random_password, PasswordLength=3) == TOO_SHORT
    # With fewer classes the same length is fine.
    assert len(password(sm, PasswordLength=2, ExcludePunctuation=True, ExcludeNumbers=True)) == 2


def test_every_class_excluded_is_rejected(sm):
    assert error_of(
        sm.get_random_password,
        ExcludeUppercase=True,
        ExcludeLowercase=True,
        ExcludeNumbers=True,
        ExcludePunctuation=True,
    ) == TOO_SHORT
