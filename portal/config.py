"""Settings from environment variables, checked once at start-up.

Every setting has one name, the environment variable's, which is also its key in
``app.config``. Outside demo mode a missing secret stops start-up with one line that
names it: a portal that half-works against the wrong Leat is worse than none.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from limits import parse_many

from .i18n import DEFAULT_LOCALE, SUPPORTED
from .leat.client import DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT, worst_case_call_seconds

DEFAULT_LEAT_BASE_URL = "https://api.piggy.eu"
DEFAULT_TIMEZONE = "Europe/Amsterdam"
DEFAULT_THREADS = 48
DEFAULT_WORKER_CLASS = "gthread"
DEFAULT_SESSION_HOURS = 8
# A session ends after this long without a request (a shared till computer).
DEFAULT_IDLE_MINUTES = 60
# HS256 keys shorter than the hash are weak (RFC 7518 §3.2); the key that signs
# sessions and CSRF tokens is held to the same length.
MIN_SECRET_LENGTH = 32
SECRETS = ("SECRET_KEY", "PORTAL_LAUNCH_SECRET")
# Demo mode's in-process Leat (IN_PROCESS_BASE_URL in portal/leat_sandbox/transport.py,
# not imported here: production never loads the sandbox). Plain http, but its
# reserved ".invalid" host never resolves, so nothing it carries can reach a network.
DEMO_LEAT_BASE_URL = "http://leat-sandbox.invalid"
# Plain http to Leat is accepted only on this machine (the tests' and the sandbox's
# http://127.0.0.1:port): anywhere else the API token would cross a network in clear.
LOOPBACK_NAMES = ("localhost",)
# Far above what an honest manager does (a visit every two seconds, a sign-in every
# three seconds from one address), far below what a script needs to hurt Leat or guess.
DEFAULT_RATE_LIMIT_WRITES = "30/minute"
DEFAULT_RATE_LIMIT_LAUNCH = "20/minute"
RATE_LIMIT_SETTINGS = ("PORTAL_RATE_LIMIT_WRITES", "PORTAL_RATE_LIMIT_LAUNCH")

# The most Leat calls one request makes in a row (shops on a cold cache, the
# contact look-up, the visit itself); gunicorn's worker timeout is derived from it.
MAX_LEAT_CALLS_PER_REQUEST = 3


class ConfigError(Exception):
    """A setting is missing or wrong; the message is one line naming the variable."""


def preflight(environ: Mapping[str, str]) -> None:
    """Check the environment before anything starts: one line and exit on a problem.

    Called from gunicorn.conf.py, in gunicorn's master: a worker that fails to boot
    would otherwise be restarted for ever, printing the same error each time.
    """
    try:
        check(from_environ(environ, "instance"))
    except ConfigError as exc:
        raise SystemExit(f"portal: configuration error: {exc}") from None


def from_environ(environ: Mapping[str, str], instance_path: str | os.PathLike) -> dict[str, Any]:
    """Read every setting the portal knows from ``environ`` (no checks of presence)."""
    instance = Path(instance_path)
    demo = _demo_flag(environ.get("PORTAL_DEMO", ""))
    return {
        "PORTAL_DEMO": demo,
        "LEAT_API_TOKEN": environ.get("LEAT_API_TOKEN", ""),
        "LEAT_BASE_URL": environ.get("LEAT_BASE_URL", "") or DEFAULT_LEAT_BASE_URL,
        "LEAT_CONNECT_TIMEOUT": _positive_number(
            environ, "LEAT_CONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT
        ),
        "LEAT_READ_TIMEOUT": _positive_number(environ, "LEAT_READ_TIMEOUT", DEFAULT_READ_TIMEOUT),
        "SECRET_KEY": environ.get("SECRET_KEY", ""),
        "SQLALCHEMY_DATABASE_URI": database_url(environ.get("DATABASE_URL", ""), instance),
        "PORTAL_TIMEZONE": environ.get("PORTAL_TIMEZONE", "") or DEFAULT_TIMEZONE,
        # The language when neither the launch link nor the browser names a supported one.
        "PORTAL_DEFAULT_LOCALE": environ.get("PORTAL_DEFAULT_LOCALE", "") or DEFAULT_LOCALE,
        "LEAT_SANDBOX_DATABASE": str(instance / "leat-sandbox.sqlite3"),
        # As many pooled Leat connections as a worker has threads (gunicorn.conf.py).
        "LEAT_POOL_SIZE": _positive_int(environ, "GUNICORN_THREADS", DEFAULT_THREADS),
        "PORTAL_LAUNCH_SECRET": environ.get("PORTAL_LAUNCH_SECRET", ""),
        # Unset: not required (a token naming an audience is still refused, see launch.py).
        "PORTAL_LAUNCH_AUDIENCE": environ.get("PORTAL_LAUNCH_AUDIENCE", "") or None,
        "PORTAL_LAUNCH_ISSUER": environ.get("PORTAL_LAUNCH_ISSUER", "") or None,
        "PORTAL_RATE_LIMIT_WRITES": (
            environ.get("PORTAL_RATE_LIMIT_WRITES", "") or DEFAULT_RATE_LIMIT_WRITES
        ),
        "PORTAL_RATE_LIMIT_LAUNCH": (
            environ.get("PORTAL_RATE_LIMIT_LAUNCH", "") or DEFAULT_RATE_LIMIT_LAUNCH
        ),
        "PORTAL_FRAME_ANCESTORS": tuple(environ.get("PORTAL_FRAME_ANCESTORS", "").split()),
        "PORTAL_SESSION_HOURS": _positive_number(
            environ, "PORTAL_SESSION_HOURS", DEFAULT_SESSION_HOURS, most=24 * 30
        ),
        "PORTAL_PROXY_HOPS": _positive_int(environ, "PORTAL_PROXY_HOPS", 1, least=0),
        "PORTAL_IDLE_MINUTES": _positive_number(
            environ, "PORTAL_IDLE_MINUTES", DEFAULT_IDLE_MINUTES, most=24 * 60
        ),
        # Unset: no cap (Leat documents none). Per process: divide by the processes.
        "LEAT_MAX_CALLS_PER_SECOND": (
            _positive_number(environ, "LEAT_MAX_CALLS_PER_SECOND", 0, most=1000) or None
        ),
    }


def check(config: Mapping[str, Any]) -> None:
    """Refuse to start with settings that cannot work (no side effects: gunicorn's
    master calls it too, before any worker starts)."""
    if config["PORTAL_DEMO"]:
        if config.get("LEAT_API_TOKEN"):
            # A production environment with a stray PORTAL_DEMO=1 would otherwise
            # record managers' visits in a local sandbox that nobody ever sees.
            raise ConfigError(
                "PORTAL_DEMO=1 and LEAT_API_TOKEN are both set: demo mode never uses "
                "a real Leat token; unset one of them"
            )
    else:
        for name in ("LEAT_API_TOKEN", "SECRET_KEY", "PORTAL_LAUNCH_SECRET"):
            if not config.get(name):
                raise ConfigError(
                    f"{name} is not set: the portal needs it outside demo mode "
                    "(set PORTAL_DEMO=1 to try the portal against its built-in Leat sandbox)"
                )
    _check_secrets(config)
    _check_leat_base_url(config.get("LEAT_BASE_URL") or DEFAULT_LEAT_BASE_URL)
    for origin in config.get("PORTAL_FRAME_ANCESTORS", ()):
        if _any_site(origin):
            raise ConfigError(
                f"PORTAL_FRAME_ANCESTORS: {origin!r} would let any site frame the portal "
                "(and click through it); name the intranet's origin, e.g. "
                "https://intranet.example.com (a host wildcard such as "
                "https://*.example.com is allowed)"
            )
        if not (origin == "'self'" or origin.startswith(("https://", "http://"))):
            raise ConfigError(
                f"PORTAL_FRAME_ANCESTORS: {origin!r} is not an origin such as "
                "https://intranet.example.com"
            )
    for name in RATE_LIMIT_SETTINGS:
        if not _is_rate(config.get(name, "")):
            raise ConfigError(
                f"{name}={config.get(name)!r} is not a rate such as 30/minute "
                "(a number, then /second, /minute, /hour or /day)"
            )
    try:
        ZoneInfo(config["PORTAL_TIMEZONE"])
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"PORTAL_TIMEZONE={config['PORTAL_TIMEZONE']!r} is not a time zone name "
            "such as Europe/Amsterdam"
        ) from None
    if config.get("PORTAL_DEFAULT_LOCALE", DEFAULT_LOCALE) not in SUPPORTED:
        raise ConfigError(
            f"PORTAL_DEFAULT_LOCALE={config['PORTAL_DEFAULT_LOCALE']!r} is not a language "
            f"the portal has: use one of {', '.join(SUPPORTED)}"
        )


def _check_secrets(config: Mapping[str, Any]) -> None:
    # Checked whenever set: in demo mode too, where a given one is used as it is (the
    # demo's own are made long enough, and one for each).
    for name in SECRETS:
        value = config.get(name)
        if value and len(value) < MIN_SECRET_LENGTH:
            raise ConfigError(
                f"{name} is too short: use at least {MIN_SECRET_LENGTH} random characters "
                "(e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
    if config.get("SECRET_KEY") and config.get("SECRET_KEY") == config.get("PORTAL_LAUNCH_SECRET"):
        # The intranet holds the launch secret: with it, it could also forge sessions
        # and CSRF tokens directly, for any manager and any shop.
        raise ConfigError(
            "SECRET_KEY and PORTAL_LAUNCH_SECRET are the same: the intranet holds the "
            "launch secret, so SECRET_KEY must be another random value"
        )


def _check_leat_base_url(url: str) -> None:
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        raise ConfigError(
            f"LEAT_BASE_URL={url!r} is not a URL such as {DEFAULT_LEAT_BASE_URL}"
        ) from None
    if not host or parts.scheme not in ("https", "http"):
        raise ConfigError(f"LEAT_BASE_URL={url!r} is not a URL such as {DEFAULT_LEAT_BASE_URL}")
    if parts.scheme == "https" or _loopback(host) or url.rstrip("/") == DEMO_LEAT_BASE_URL:
        return
    raise ConfigError(
        f"LEAT_BASE_URL={url!r} is not https: the Leat API token would cross the network "
        "in clear text (plain http only to this machine, e.g. http://127.0.0.1:8000)"
    )


def _loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _any_site(source: str) -> bool:
    """Whether a frame-ancestors source allows every site (or a whole top-level domain):
    ``*``, a bare scheme (``https:``), or a host that is only a wildcard
    (``https://*``, ``https://*:443``, ``https://*.com``)."""
    if source == "*" or (source.endswith(":") and "/" not in source):
        return True
    _scheme, separator, rest = source.partition("://")
    if not separator:
        return False
    host = rest.split("/", 1)[0].rsplit(":", 1)[0]
    return host == "*" or (host.startswith("*.") and "." not in host[2:])


def database_url(value: str, instance_path: Path) -> str:
    """``DATABASE_URL`` as SQLAlchemy takes it.

    PaaS hosts hand out ``postgres://`` URLs, which SQLAlchemy no longer accepts, and
    a bare ``postgresql://`` would pick psycopg2, which the portal does not install.
    """
    if not value:
        return f"sqlite:///{instance_path / 'portal.sqlite3'}"
    for prefix in ("postgres://", "postgresql://"):
        if value.startswith(prefix):
            return "postgresql+psycopg://" + value[len(prefix) :]
    return value


def worst_case_request_seconds(config: Mapping[str, Any]) -> float:
    """How long one request can wait on Leat before every call has timed out."""
    per_call = worst_case_call_seconds(
        float(config["LEAT_CONNECT_TIMEOUT"]), float(config["LEAT_READ_TIMEOUT"])
    )
    return MAX_LEAT_CALLS_PER_REQUEST * per_call


def _is_rate(value: str) -> bool:
    """Flask-Limiter's notation ("30/minute", "30 per minute", "100/hour;1000/day")."""
    try:
        rates = parse_many(value) if value else []
    except ValueError:
        return False
    # "0/minute" would refuse every request: a way to switch the portal off by mistake.
    return bool(rates) and all(rate.amount >= 1 for rate in rates)


def _demo_flag(value: str) -> bool:
    # Only an explicit "1" enters demo mode: "true", "yes" or a typo must not
    # quietly route a manager's visits to the sandbox.
    if value in ("", "0"):
        return False
    if value == "1":
        return True
    raise ConfigError(f"PORTAL_DEMO={value!r} is not understood: use 1 for demo mode, or unset it")


def _positive_number(
    environ: Mapping[str, str], name: str, default: float, most: float = 300
) -> float:
    raw = environ.get(name, "")
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= most:
        raise ConfigError(f"{name}={raw!r} must be a number between 0 and {most:g}")
    return value


def _positive_int(environ: Mapping[str, str], name: str, default: int, least: int = 1) -> int:
    raw = environ.get(name, "")
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < least:
        raise ConfigError(f"{name}={raw!r} must be a whole number of at least {least}")
    return int(raw)


def demo_secret(instance_path: Path, name: str) -> str:
    """A secret kept under instance/, so sessions survive restarts and every worker agrees."""
    path = instance_path / name
    instance_path.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # Written aside, then linked into place: a worker starting at the same moment
        # sees either no file or a whole one, and the first link wins.
        draft = path.with_name(f"{path.name}.{os.getpid()}")
        draft.write_text(secrets.token_urlsafe(32))
        draft.chmod(0o600)
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()
