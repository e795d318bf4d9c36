"""Launch links: the intranet signs who a manager is and which shops they run; the
portal checks the signature and trusts exactly that.

A launch token is a JWT (HS256, shared secret ``PORTAL_LAUNCH_SECRET``) with
``sub`` (the manager, e.g. an e-mail address), ``name``, ``shops`` (Leat shop uuids,
or ``["*"]`` for all), ``iat``, ``exp`` (at most 10 minutes later) and ``jti`` (used once),
and ``aud`` / ``iss`` when the portal is configured to expect them; optionally ``locale``,
the manager's language (used only when the portal has it, see portal/i18n.py).
"""

from __future__ import annotations

import math
import time
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import jwt

from ..i18n import _l, supported

ALGORITHM = "HS256"
MAX_LIFETIME_SECONDS = 600
# Clocks of the intranet and the portal may disagree a little.
LEEWAY_SECONDS = 30
ALL_SHOPS = "*"
# The reasons (for the log) of the two refusals that say nothing against the link's
# maker: a link used once already, or one that has run out. Only these may lead a
# browser whose session is the same manager's on to the visits page (auth/routes.py).
EXPIRED = "expired"
USED = "jti already used"
REQUIRED_CLAIMS = ("sub", "name", "shops", "iat", "exp", "jti")
# sub, name and jti are stored in columns of this size (who recorded a visit, used ids):
# a longer one is refused here rather than failing the database later.
MAX_CLAIM_LENGTH = 255


class LaunchRefused(Exception):
    """A launch token the portal will not accept.

    ``reason`` is for the log; ``public`` is what the manager may read: it says what
    to do, never which check failed on a forged token.
    """

    def __init__(self, reason: str, public: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.public = public or _l("This sign-in link is not valid.")


@dataclass(frozen=True)
class Launch:
    """A verified launch token: who, which shops, and the id that may not come again."""

    manager_id: str
    name: str
    shops: tuple[str, ...]
    jti: str
    expires_at: int
    # The manager's language when the link names one the portal has, else None.
    locale: str | None = None

    @property
    def accepted_until(self) -> int:
        """The last second at which ``verify`` still accepts this token (the leeway
        past ``exp``): its ``jti`` must be remembered at least until then."""
        return self.expires_at + LEEWAY_SECONDS


def verify(
    token: str,
    secret: str,
    *,
    audience: str | None = None,
    issuer: str | None = None,
    check_expiry: bool = True,
) -> Launch:
    """Check signature, algorithm, times and claims; raise ``LaunchRefused`` otherwise.

    ``check_expiry=False`` checks everything but ``exp`` being past: it tells who an
    expired link was made for (never enough to sign anyone in; see auth/routes.py).

    With ``audience`` / ``issuer`` the token must carry that ``aud`` / ``iss``. Without
    an audience a token that names one is refused (PyJWT's rule: it was meant for
    another service that shares the secret); without an issuer ``iss`` is not read.
    Whether the ``jti`` was used before is the caller's check (it needs the database).
    """
    required = [*REQUIRED_CLAIMS, *(["aud"] if audience else []), *(["iss"] if issuer else [])]
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],  # never "none", never what the token itself names
            options={"require": required, "verify_exp": check_expiry},
            audience=audience or None,
            issuer=issuer or None,
            leeway=LEEWAY_SECONDS,
        )
    except jwt.ExpiredSignatureError:
        raise LaunchRefused(EXPIRED, _l("This sign-in link has expired.")) from None
    except jwt.ImmatureSignatureError:
        raise LaunchRefused("issued in the future") from None
    except jwt.MissingRequiredClaimError as exc:
        raise LaunchRefused(f"missing claim {exc.claim}") from None
    except jwt.InvalidAudienceError:
        if not audience:
            raise LaunchRefused(
                "aud names an audience, and PORTAL_LAUNCH_AUDIENCE is unset"
            ) from None
        raise LaunchRefused("aud is not this portal's PORTAL_LAUNCH_AUDIENCE") from None
    except jwt.InvalidIssuerError:
        raise LaunchRefused("iss is not this portal's PORTAL_LAUNCH_ISSUER") from None
    except jwt.InvalidTokenError as exc:
        raise LaunchRefused(f"invalid token: {type(exc).__name__}") from None
    iat, exp = claims["iat"], claims["exp"]
    if not isinstance(iat, int | float) or not isinstance(exp, int | float):
        raise LaunchRefused("iat or exp is not a number")
    if exp - iat > MAX_LIFETIME_SECONDS:
        raise LaunchRefused(f"lifetime {exp - iat:.0f}s is over {MAX_LIFETIME_SECONDS}s")
    sub, name, shops, jti = claims["sub"], claims["name"], claims["shops"], claims["jti"]
    for claim, value in (("sub", sub), ("name", name), ("jti", jti)):
        _check_text(claim, value)
    if not _is_shop_list(shops):
        raise LaunchRefused('shops is neither ["*"] nor a non-empty list of shop uuids')
    return Launch(
        manager_id=sub.strip(),
        name=name.strip(),
        shops=tuple(shops),
        jti=jti,
        # Rounded up: a fractional exp must not be forgotten before verify() stops accepting it.
        expires_at=math.ceil(exp),
        # Optional, and never a reason to refuse a link: an unknown language falls
        # through to the browser's.
        locale=supported(claims.get("locale")),
    )


def _check_text(claim: str, value) -> None:
    """A claim the portal stores: text, not blank, fits its column, and holds no
    control character (PostgreSQL refuses NUL in text; the others are no name)."""
    if not isinstance(value, str) or not value.strip():
        raise LaunchRefused(f"{claim} is empty or not text")
    if len(value) > MAX_CLAIM_LENGTH:
        raise LaunchRefused(f"{claim} is longer than {MAX_CLAIM_LENGTH} characters")
    if any(unicodedata.category(char) == "Cc" for char in value):
        raise LaunchRefused(f"{claim} contains a control character")


def _is_shop_list(shops) -> bool:
    """``["*"]`` alone, or Leat shop uuids written as Leat writes them. A "*" among
    uuids is a malformed link, not "every shop": an intranet bug must not widen access."""
    if shops == [ALL_SHOPS]:
        return True
    return isinstance(shops, list) and bool(shops) and all(_is_uuid(shop) for shop in shops)


def _is_uuid(value) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return str(uuid.UUID(value)) == value  # canonical: lower case, hyphenated
    except ValueError:
        return False


def mint(
    secret: str,
    *,
    manager_id: str,
    name: str,
    shops: Sequence[str],
    lifetime: int = 300,
    now: float | None = None,
    audience: str | None = None,
    issuer: str | None = None,
    locale: str | None = None,
) -> str:
    """A launch token, as an intranet makes one (the portal's CLI and tests use it)."""
    issued = int(time.time() if now is None else now)
    claims = {
        "sub": manager_id,
        "name": name,
        "shops": list(shops),
        "iat": issued,
        "exp": issued + lifetime,
        "jti": str(uuid.uuid4()),
    }
    if audience:
        claims["aud"] = audience
    if issuer:
        claims["iss"] = issuer
    if locale:
        claims["locale"] = locale
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def launch_url(base_url: str, token: str) -> str:
    """The link an intranet sends a manager to (GET /launch?token=…)."""
    return f"{base_url.rstrip('/')}/launch?token={token}"
