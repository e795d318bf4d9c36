"""Launch tokens: every reason to refuse one, and the one way to accept it."""

from __future__ import annotations

import time
import uuid
import warnings

import jwt
import pytest

from portal.auth.launch import LEEWAY_SECONDS, LaunchRefused, mint, verify

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


def refused(token_text, **expected) -> LaunchRefused:
    with pytest.raises(LaunchRefused) as caught:
        verify(token_text, SECRET, **expected)
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


UTRECHT = "98624248-2e8c-4c87-8f99-86364f4f2519"


@pytest.mark.parametrize(
    "shops",
    [
        ["*", UTRECHT],  # "every shop" hidden among uuids: an intranet bug, not a grant
        [UTRECHT, "*"],
        ["*", "*"],
        ["Utrecht"],
        [UTRECHT.upper()],  # not as Leat writes it: would never match a shop
        [UTRECHT.replace("-", "")],
        [f"{{{UTRECHT}}}"],
        [UTRECHT, ""],
        [UTRECHT, None],
        ["*\x00"],
    ],
)
def test_shops_must_be_every_shop_or_shop_uuids(shops):
    assert "shops" in refused(token(shops=shops)).reason


def test_shops_may_be_many_uuids_or_every_shop():
    many = [str(uuid.uuid4()) for _ in range(500)]
    assert verify(token(shops=many), SECRET).shops == tuple(many)
    assert verify(token(shops=["*"]), SECRET).shops == ("*",)


@pytest.mark.parametrize("claim", ["sub", "name", "jti"])
def test_a_claim_longer_than_its_column_is_refused(claim):
    assert "longer than 255" in refused(token(**{claim: "x" * 256})).reason
    assert verify(token(**{claim: "x" * 255}), SECRET)  # exactly as long as the column


@pytest.mark.parametrize("claim", ["sub", "name", "jti"])
@pytest.mark.parametrize("character", ["\x00", "\n", "\x1b"])
def test_a_claim_with_a_control_character_is_refused(claim, character):
    assert "control character" in refused(token(**{claim: f"an{character}na"})).reason


def test_the_leeway_is_how_long_a_used_id_must_be_kept():
    launch = verify(token(iat=NOW - 290, exp=NOW + 10), SECRET)
    assert launch.accepted_until == NOW + 10 + LEEWAY_SECONDS
    # A fractional exp is accepted until exp + leeway itself: rounded up, never down.
    launch = verify(token(iat=NOW - 290, exp=NOW + 10.5), SECRET)
    assert launch.accepted_until == NOW + 11 + LEEWAY_SECONDS


# -- audience and issuer (PORTAL_LAUNCH_AUDIENCE, PORTAL_LAUNCH_ISSUER) ---------------------

PORTAL = "https://visits.example.com"
INTRANET = "https://intranet.example.com"


def test_the_configured_audience_and_issuer_are_accepted():
    launch = verify(token(aud=PORTAL, iss=INTRANET), SECRET, audience=PORTAL, issuer=INTRANET)
    assert launch.manager_id == "anna@example.com"
    # aud may be a list that names this portal among others (RFC 7519 §4.1.3).
    assert verify(token(aud=["https://other.example", PORTAL]), SECRET, audience=PORTAL)


@pytest.mark.parametrize(
    ("overrides", "why"),
    [
        ({"aud": "https://other.example", "iss": INTRANET}, "aud is not"),
        ({"iss": INTRANET}, "missing claim aud"),
        ({"aud": PORTAL, "iss": "https://other.example"}, "iss is not"),
        ({"aud": PORTAL}, "missing claim iss"),
    ],
)
def test_a_configured_audience_or_issuer_must_match(overrides, why):
    error = refused(token(**overrides), audience=PORTAL, issuer=INTRANET)
    assert why in error.reason
    assert error.public == "This sign-in link is not valid."


def test_without_configuration_neither_is_required():
    assert verify(token(), SECRET)
    assert verify(token(iss="whoever"), SECRET)  # iss is not read
    # A token for a named audience was meant for another service sharing the secret.
    assert "PORTAL_LAUNCH_AUDIENCE is unset" in refused(token(aud=PORTAL)).reason


def test_mint_carries_audience_and_issuer():
    minted = mint(SECRET, manager_id="m", name="M", shops=["*"], audience=PORTAL, issuer=INTRANET)
    assert verify(minted, SECRET, audience=PORTAL, issuer=INTRANET).manager_id == "m"


@pytest.mark.parametrize("garbage", ["", "not-a-token", "a.b.c", "ey.ey.ey"])
def test_garbage(garbage):
    refused(garbage)


def test_the_public_message_never_names_the_check():
    for bad in (token(secret="another-secret-of-enough-length-000000"), token(exp=NOW + 601)):
        assert refused(bad).public == "This sign-in link is not valid."


def test_real_clock_default():
    fresh = mint(SECRET, manager_id="m", name="M", shops=["*"], now=time.time() - 20)
    assert verify(fresh, SECRET).manager_id == "m"
