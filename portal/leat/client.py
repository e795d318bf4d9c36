"""The Leat client: the one module that knows Leat's paths, headers and shapes.

Everything above it sees typed values (``models``) and typed failures (``errors``).
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Final

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError
from urllib3.util.retry import Retry

from . import errors
from .models import Contact, Shop, Visit, VisitPage
from .throttle import Throttle

log = logging.getLogger("portal.leat")

API_PREFIX: Final = "/api/v3/oauth/clients"

# Path templates, by name. Leat is renaming Shops to "Business Profiles": when that
# API arrives, these two lines are the place to follow it.
SHOPS: Final = "/shops"
SHOP: Final = "/shops/{uuid}"
CONTACT_FIND_ONE: Final = "/contacts/find-one-by"
CONTACT_FIND_OR_CREATE: Final = "/contacts/find-or-create"
CONTACT: Final = "/contacts/{uuid}"
VISITS: Final = "/visits"
VISIT: Final = "/visits/{uuid}"

DEFAULT_CONNECT_TIMEOUT: Final = 3.05
DEFAULT_READ_TIMEOUT: Final = 8.0

# Retries of idempotent calls (GET, PUT): few and short, so a manager waits seconds,
# not minutes; everything slower becomes a pending item for the worker.
RETRIES: Final = 2
RETRY_AFTER_MAX: Final = 5
RETRY_STATUSES: Final = frozenset({429, 502, 503, 504})


def retry_policy() -> Retry:
    """Exponential backoff with jitter on connection errors and 429/502/503/504.

    A create (POST) is never re-sent by the adapter: Leat may have made the visit
    already, and only a look-up by external_id can tell.
    """
    return Retry(
        total=RETRIES,
        connect=RETRIES,
        read=1,  # a GET or PUT whose answer was lost is safe to ask once more
        status=RETRIES,
        other=0,
        allowed_methods=frozenset({"GET", "PUT"}),
        status_forcelist=RETRY_STATUSES,
        backoff_factor=0.25,
        backoff_jitter=0.25,
        backoff_max=2,
        respect_retry_after_header=True,
        retry_after_max=RETRY_AFTER_MAX,
        raise_on_status=False,  # the last answer is returned and typed like any other
    )


def worst_case_call_seconds(connect_timeout: float, read_timeout: float) -> float:
    """The longest one client call can take, every attempt timing out and waiting."""
    return (1 + RETRIES) * (connect_timeout + read_timeout) + RETRIES * RETRY_AFTER_MAX


MAX_VISITS_PER_PAGE: Final = 500
WIRE_TIME_FORMAT: Final = "%Y-%m-%dT%H:%M:%S+00:00"
# What an update may change: a visit's shop and contact are fixed once it exists.
EDITABLE_VISIT_FIELDS: Final = ("starts_at", "ends_at", "source", "external_id")


class _Unset:
    """Marks an argument the caller did not give, so it is not sent at all."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()


def _settle_environment(session: requests.Session, url: str) -> None:
    """Read the proxy and CA-bundle variables once, for Leat's URL, not per call.

    With ``trust_env`` on, requests looks at the proxy variables, the CA-bundle
    variables and ``~/.netrc`` on every call: a measurable part of each Leat call
    (bench/), for an environment that doesn't change while the process runs. And a
    ``~/.netrc`` entry for Leat's host would silently replace the bearer token.
    """
    # requests' own reading of the environment, done once, then switched off.
    settled = session.merge_environment_settings(url, {}, None, None, None)
    session.proxies.update(settled["proxies"])
    session.verify = settled["verify"]
    session.trust_env = False


class LeatClient:
    """Calls Leat's REST API v3 over one pooled ``requests.Session``.

    Safe to share between threads: ``requests`` sessions are, for plain requests
    through a shared connection pool, and this class keeps no other state.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        pool_size: int = 10,
        session: requests.Session | None = None,
        max_calls_per_second: float | None = None,
    ) -> None:
        self.api_url = base_url.rstrip("/") + API_PREFIX
        self.timeout = (connect_timeout, read_timeout)
        self._throttle = Throttle(max_calls_per_second) if max_calls_per_second else None
        self._session = session or requests.Session()
        if session is None:
            # One pool per host, as large as the threads that may call at once, so no
            # thread waits for (or throws away) a connection.
            adapter = HTTPAdapter(
                pool_connections=1, pool_maxsize=pool_size, max_retries=retry_policy()
            )
            self._session.mount("https://", adapter)
            self._session.mount("http://", adapter)
        self._session.headers.update(
            {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        )
        _settle_environment(self._session, self.api_url)

    def close(self) -> None:
        self._session.close()

    # -- shops -------------------------------------------------------------------

    def list_shops(self) -> list[Shop]:
        body = self._call("GET", SHOPS)
        return [Shop.from_json(item) for item in _list_data(body)]

    def get_shop(self, uuid: str) -> Shop:
        return Shop.from_json(_data(self._call("GET", SHOP, uuid=uuid)))

    # -- contacts ----------------------------------------------------------------

    def find_contact_by_email(self, email: str) -> Contact:
        body = self._call("GET", CONTACT_FIND_ONE, params={"email": email})
        return Contact.from_json(_data(body))

    def find_or_create_contact(self, email: str) -> Contact:
        body = self._call("GET", CONTACT_FIND_OR_CREATE, params={"email": email})
        return Contact.from_json(_data(body))

    def get_contact(self, uuid: str) -> Contact:
        return Contact.from_json(_data(self._call("GET", CONTACT, uuid=uuid)))

    # -- visits ------------------------------------------------------------------

    def create_visit(
        self,
        *,
        contact_uuid: str,
        shop_uuid: str,
        external_id: str | None = None,
        source: str | None = None,
        starts_at: datetime | None = None,
        ends_at: datetime | None = None,
    ) -> Visit:
        fields = {"contact_uuid": contact_uuid, "shop_uuid": shop_uuid}
        optional = {
            "external_id": external_id,
            "source": source,
            "starts_at": starts_at,
            "ends_at": ends_at,
        }
        fields.update({k: v for k, v in optional.items() if v is not None})
        return Visit.from_json(_data(self._call("POST", VISITS, form=fields)))

    def update_visit(
        self,
        uuid: str,
        *,
        external_id: str | _Unset | None = UNSET,
        source: str | _Unset | None = UNSET,
        starts_at: datetime | _Unset | None = UNSET,
        ends_at: datetime | _Unset | None = UNSET,
    ) -> Visit:
        """Change only the fields given. ``None`` asks Leat to clear a field (sent as
        an empty value, which Laravel reads as null); whether Leat accepts that is
        not confirmed, and a refusal comes back as ``LeatValidationError``."""
        given = {
            "external_id": external_id,
            "source": source,
            "starts_at": starts_at,
            "ends_at": ends_at,
        }
        fields = {k: v for k, v in given.items() if v is not UNSET}
        return Visit.from_json(_data(self._call("PUT", VISIT, uuid=uuid, form=fields)))

    def get_visit(self, uuid: str) -> Visit:
        return Visit.from_json(_data(self._call("GET", VISIT, uuid=uuid)))

    def list_visits(
        self, *, page: int = 1, limit: int = 30, contact_uuid: str | None = None
    ) -> VisitPage:
        params: dict[str, Any] = {"page": page, "limit": limit}
        if contact_uuid is not None:
            params["contact_uuid"] = contact_uuid
        return VisitPage.from_json(self._call("GET", VISITS, params=params))

    def contact_visits(self, contact_uuid: str) -> Iterator[Visit]:
        """Every visit of a contact, page after page (as many per page as Leat allows)."""
        page = 1
        while True:
            listed = self.list_visits(
                contact_uuid=contact_uuid, page=page, limit=MAX_VISITS_PER_PAGE
            )
            yield from listed.visits
            if not listed.has_next or not listed.visits:
                return
            page += 1

    def find_visit_by_external_id(self, contact_uuid: str, external_id: str) -> Visit | None:
        """The contact's visit carrying ``external_id``, or None. Leat's list cannot
        be filtered by it, so every page of the contact's visits is read."""
        for visit in self.contact_visits(contact_uuid):
            if visit.external_id == external_id:
                return visit
        return None

    # -- transport ---------------------------------------------------------------

    def _call(
        self,
        method: str,
        template: str,
        *,
        params: Mapping[str, Any] | None = None,
        form: Mapping[str, Any] | None = None,
        **path: str,
    ) -> Mapping[str, Any]:
        url = self.api_url + template.format(**{k: _path_segment(v) for k, v in path.items()})
        # Bodies go form-encoded, as Leat's own SDK sends them: that is the encoding
        # known to work (JSON is expected to, but is not confirmed).
        data = {k: _form_value(v) for k, v in form.items()} if form is not None else None
        if self._throttle is not None:
            self._throttle.wait()
        started = time.perf_counter()
        status: int | str = "failed"
        retries = 0
        try:
            response = self._session.request(
                method, url, params=params, data=data, timeout=self.timeout
            )
            status = response.status_code
            retries = len(getattr(getattr(response.raw, "retries", None), "history", ()) or ())
        except requests.RequestException as exc:
            raise _transport_error(exc) from exc
        finally:
            # The path template, never the uuids, e-mail addresses or the token.
            log.info(
                "leat call",
                extra={
                    "method": method,
                    "path": template,
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "retries": retries,
                },
            )
        if not 200 <= response.status_code < 300:
            error = _status_error(response)
            if template == VISIT and error.kind is errors.ErrorKind.NOT_FOUND:
                # A bare 404 for a visit's own URL: the visit is gone, as 60013 says.
                error.kind = errors.ErrorKind.VISIT_GONE
            raise error
        return _json_object(response)


def _path_segment(value: str) -> str:
    # Uuids never need quoting; refusing anything else keeps a stray "/" or "?" from
    # turning one call into another.
    if not value or not all(c.isalnum() or c == "-" for c in value):
        raise errors.LeatNotFound(f"{value!r} is not an identifier Leat could know", status=None)
    return value


def _form_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("Leat needs aware datetimes; got a naive one")
        # UTC, in PHP's ATOM form, without fractions: a Laravel backend that keeps a
        # time's wall-clock part and drops its offset still stores the right instant.
        return value.astimezone(UTC).strftime(WIRE_TIME_FORMAT)
    return str(value)


def _json_object(response: requests.Response) -> Mapping[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise errors.LeatMalformedResponse(
            f"Leat answered {response.status_code} with a body that is not JSON",
            status=response.status_code,
        ) from None
    if not isinstance(body, Mapping) or "data" not in body:
        raise errors.LeatMalformedResponse(
            "Leat's answer has no 'data'", status=response.status_code
        )
    return body


def _data(body: Mapping[str, Any]) -> Any:
    return body["data"]


def _list_data(body: Mapping[str, Any]) -> list[Any]:
    items = body["data"]
    if not isinstance(items, list):
        raise errors.LeatMalformedResponse("Leat's list has no list under 'data'")
    return items


def _transport_error(exc: requests.RequestException) -> errors.LeatUnavailable:
    if isinstance(exc, requests.ConnectTimeout) or _never_connected(exc):
        return errors.LeatUnavailable(
            f"Leat could not be reached: {type(exc).__name__}", may_have_happened=False
        )
    if isinstance(exc, requests.Timeout):
        return errors.LeatUnavailable("Leat did not answer in time", may_have_happened=True)
    return errors.LeatUnavailable(
        f"The connection to Leat failed: {type(exc).__name__}", may_have_happened=True
    )


def _never_connected(exc: requests.RequestException) -> bool:
    """True when the connection itself failed (refused, unknown host), so nothing was sent."""
    # requests wraps urllib3's MaxRetryError, whose ``reason`` is the last failure.
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError)


def _status_error(response: requests.Response) -> errors.LeatError:
    """The typed failure for an error answer: by Leat's ``code`` first, as its docs
    say every error comes as HTTP 400 with one, and by the status when there is none
    (framework answers such as 401, 429 and 503 carry no code)."""
    status = response.status_code
    code, message, field_errors = _error_body(response)
    details = {"status": status, "code": code, "leat_message": message}
    text = message or f"Leat answered {status}"
    kind = errors.KIND_OF_CODE.get(code) if code is not None else None
    if kind is errors.ErrorKind.INVALID_INPUT or (kind is None and status == 422):
        return errors.LeatValidationError(text, field_errors=field_errors, **details)
    if kind in (
        errors.ErrorKind.CONTACT_NOT_FOUND,
        errors.ErrorKind.SHOP_NOT_FOUND,
        errors.ErrorKind.VISIT_GONE,
    ):
        return errors.LeatNotFound(text, kind=kind, **details)
    if kind in (errors.ErrorKind.ACCOUNT_INACTIVE, errors.ErrorKind.NO_ACCESS):
        return errors.LeatAuthError(text, kind=kind, **details)
    if kind is not None:
        return errors.LeatRequestError(text, kind=kind, **details)
    if status in (401, 403):
        return errors.LeatAuthError(text, **details)
    if status == 503:
        # Maintenance pages are often HTML; only the status tells.
        return errors.LeatMaintenance(text, may_have_happened=False, **details)
    if status == 429:
        retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
        return errors.LeatRateLimited(text, retry_after=retry_after, **details)
    if status >= 500:
        return errors.LeatUnavailable(text, may_have_happened=True, **details)
    if status == 404:
        return errors.LeatNotFound(text, **details)
    return errors.LeatRequestError(text, **details)


def _error_body(response: requests.Response) -> tuple[int | None, str | None, dict[str, list[str]]]:
    """Leat's ``code``, ``message`` and ``errors``, as far as the body has them."""
    try:
        body = response.json()
    except ValueError:
        return None, None, {}
    if not isinstance(body, Mapping):
        return None, None, {}
    code = body.get("code")
    code = code if isinstance(code, int) and not isinstance(code, bool) else None
    message = body.get("message")
    message = message if isinstance(message, str) and message else None
    field_errors: dict[str, list[str]] = {}
    raw = body.get("errors")
    if isinstance(raw, Mapping):
        for name, value in raw.items():
            # A field's errors come as one string or a list of strings.
            if isinstance(value, str):
                field_errors[str(name)] = [value]
            elif isinstance(value, list):
                field_errors[str(name)] = [str(v) for v in value if v]
    return code, message, field_errors


def _retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: either a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - time.time())
