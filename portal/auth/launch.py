"""Launch links: the intranet signs who a manager is and which shops they run; the
portal checks the signature and trusts exactly that.

A launch token is a JWT (HS256, shared secret ``PORTAL_LAUNCH_SECRET``) with
``sub`` (the manager, e.g. an e-mail address), ``name``, ``shops`` (Leat shop uuids,
or ``["*"]`` for all), ``iat``, ``exp`` (at most 10 minutes later) and ``jti`` (used once).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import jwt

ALGORITHM = "HS256"
MAX_LIFETIME_SECONDS = 600
# Clocks of the intranet and the portal may disagree a little.
LEEWAY_SECONDS = 30
ALL_SHOPS = "*"
REQUIRED_CLAIMS = ("sub", "name", "shops", "iat", "exp", "jti")


class LaunchRefused(Exception):
    """A launch token the portal will not accept.

    ``reason`` is for the log; ``public`` is what the manager may read: it says what
    to do, never which check failed on a forged token.
    """

    def __init__(self, reason: str, public: str = "This sign-in link is not valid.") -> None:
        super().__init__(reason)
        self.reason = reason
        self.public = public


@dataclass(frozen=True)
class Launch:
    """A verified launch token: who, which shops, and the id that may not come again."""

    manager_id: str
    name: str
    shops: tuple[str, ...]
    jti: str
    expires_at: int


def verify(token: str, secret: str) -> Launch:
    """Check signature, algorithm, times and claims; raise ``LaunchRefused`` otherwise.

    Whether the ``jti`` was used before is the caller's check (it needs the database).
    """
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],  # never "none", never what the token itself names
            options={"require": list(REQUIRED_CLAIMS)},
            leeway=LEEWAY_SECONDS,
        )
    except jwt.ExpiredSignatureError:
        raise LaunchRefused(
            "expired", "This sign-in link has expired. Open the portal again from your intranet."
        ) from None
    except jwt.ImmatureSignatureError:
        raise LaunchRefused("issued in the future") from None
    except jwt.MissingRequiredClaimError as exc:
        raise LaunchRefused(f"missing claim {exc.claim}") from None
    except jwt.InvalidTokenError as exc:
        raise LaunchRefused(f"invalid token: {type(exc).__name__}") from None
    iat, exp = claims["iat"], claims["exp"]
    if not isinstance(iat, int | float) or not isinstance(exp, int | float):
        raise LaunchRefused("iat or exp is not a number")
    if exp - iat > MAX_LIFETIME_SECONDS:
        raise LaunchRefused(f"lifetime {exp - iat:.0f}s is over {MAX_LIFETIME_SECONDS}s")
    sub, name, shops, jti = claims["sub"], claims["name"], claims["shops"], claims["jti"]
    if not all(isinstance(value, str) and value.strip() for value in (sub, name, jti)):
        raise LaunchRefused("sub, name or jti is empty or not text")
    if (
        not isinstance(shops, list)
        or not shops
        or not all(isinstance(shop, str) and shop for shop in shops)
    ):
        raise LaunchRefused("shops is not a non-empty list of shop uuids")
    return Launch(
        manager_id=sub.strip(),
        name=name.strip(),
        shops=tuple(shops),
        jti=jti,
        expires_at=int(exp),
    )


def mint(
    secret: str,
    *,
    manager_id: str,
    name: str,
    shops: Sequence[str],
    lifetime: int = 300,
    now: float | None = None,
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
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def launch_url(base_url: str, token: str) -> str:
    """The link an intranet sends a manager to (GET /launch?token=…)."""
    return f"{base_url.rstrip('/')}/launch?token={token}"
