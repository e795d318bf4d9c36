"""Launch tokens: every reason to refuse one, and the one way to accept it."""

from __future__ import annotations

import time
import warnings

import jwt
import pytest

from portal.auth.launch import LaunchRefused, mint, verify

SECRET = "launch-secret-for-tests-only-0123456789"
NOW = int(time.time())


@pytest.fixture(autouse=True)
def _now():
    # verify() reads the clock: NOW must be each test's time, not the collection's,
    # or a suite that reaches this file 90 s after collecting fails the future-iat test.
    global NOW
    NOW = int(time.time())


def claims(**overrides):
    base = {
        "sub": "anna@example.com",
        "name": "Anna",
        "shops": ["dc1a363c-e073-44cd-afb2-df64988729bd"],
        "iat": NOW,
        "exp": NOW + 300,
        "jti": "7c1d1f0e-5f4e-4a57-9b0a-1d2f3e4a5b6c",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def token(secret=SECRET, algorithm="HS256", **overrides):
    return jwt.encode(claims(**overrides), secret, algorithm=algorithm)


def refused(token_text) -> LaunchRefused:
    with pytest.raises(LaunchRefused) as caught:
        verify(token_text, SECRET)
    return caught.value


def test_a_good_token_names_the_manager_and_their_shops():
    launch = verify(token(), SECRET)
    assert launch.manager_id == "anna@example.com"
    assert launch.name == "Anna"
    assert launch.shops == ("dc1a363c-e073-44cd-afb2-df64988729bd",)
    assert launch.expires_at == NOW + 300


def test_mint_makes_what_verify_accepts():
    launch = verify(mint(SECRET, manager_id="bob", name="Bob", shops=["*"]), SECRET)
    assert (launch.manager_id, launch.shops) == ("bob", ("*",))


def test_a_token_signed_with_another_secret():
    assert "invalid" in refused(token(secret="another-secret-of-enough-length-000000")).reason


def test_alg_none():
    unsigned = jwt.encode(claims(), key="", algorithm="none")
    assert unsigned.endswith(".")  # really unsigned
    assert "invalid" in refused(unsigned).reason


def test_another_algorithm_even_with_the_right_secret():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        other = token(algorithm="HS512")
    assert "invalid" in refused(other).reason


def test_a_tampered_payload():
    header, _payload, signature = token().split(".")
    forged_payload = token(shops=["*"]).split(".")[1]
    assert "invalid" in refused(f"{header}.{forged_payload}.{signature}").reason


def test_expired():
    error = refused(token(iat=NOW - 400, exp=NOW - 31))  # past exp and the 30 s leeway
    assert error.reason == "expired"
    assert "expired" in error.public


def test_a_lifetime_over_ten_minutes():
    assert "lifetime" in refused(token(exp=NOW + 601)).reason


def test_issued_in_the_future():
    assert "future" in refused(token(iat=NOW + 120, exp=NOW + 300)).reason


@pytest.mark.parametrize("missing", ["sub", "name", "shops", "iat", "exp", "jti"])
def test_a_missing_claim(missing):
    assert "missing" in refused(token(**{missing: None})).reason


@pytest.mark.parametrize(
    "overrides",
    [{"shops": []}, {"shops": "*"}, {"shops": [1]}, {"sub": ""}, {"name": "  "}, {"jti": 5}],
)
def test_claims_of_the_wrong_shape(overrides):
    refused(token(**overrides))


@pytest.mark.parametrize("garbage", ["", "not-a-token", "a.b.c", "ey.ey.ey"])
def test_garbage(garbage):
    refused(garbage)


def test_the_public_message_never_names_the_check():
    for bad in (token(secret="another-secret-of-enough-length-000000"), token(exp=NOW + 601)):
        assert refused(bad).public == "This sign-in link is not valid."


def test_real_clock_default():
    fresh = mint(SECRET, manager_id="m", name="M", shops=["*"], now=time.time() - 20)
    assert verify(fresh, SECRET).manager_id == "m"
