"""The sandbox's HTTP face: the part of Leat's REST API v3 that the portal uses.

Leat is a Laravel app, so where its docs are silent the sandbox answers as a stock
Laravel app would: its validation messages and their summary, its handling of
request input, its paginated resource shape. The contract is /work/shared/leat-api.md.
"""

from __future__ import annotations

import hmac
import math
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final
from urllib.parse import urlencode

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from .store import DuplicateExternalId, SandboxStore

DEFAULT_TOKEN: Final = "leat-sandbox-token"  # noqa: S105  (a public, documented sandbox value)
API_PREFIX: Final = "/api/v3/oauth/clients"
# Where the app keeps its store (``app.extensions[EXTENSION]``), for tests that need
# to reach behind the HTTP interface.
EXTENSION: Final = "leat_sandbox"
TOKEN_CONFIG: Final = "LEAT_SANDBOX_TOKEN"  # noqa: S105  (a config key)
# The switches below are read on every request from the app's config, so a test can
# flip them on a sandbox that is already being served.
ERROR_STYLE_CONFIG: Final = "LEAT_SANDBOX_ERROR_STYLE"
DROP_OFFSETS_CONFIG: Final = "LEAT_SANDBOX_DROP_OFFSETS"
ACCOUNT_CONFIG: Final = "LEAT_SANDBOX_ACCOUNT"
# How many contacts the account's plan allows (None: no limit).
CONTACT_LIMIT_CONFIG: Final = "LEAT_SANDBOX_CONTACT_LIMIT"

# Leat's documented error codes (/work/shared/leat-api.md, "Errors").
INVALID_INPUT: Final = 1003
SHOP_NOT_FOUND: Final = 1008
ACCOUNT_INACTIVE: Final = 7002
NO_ACCESS_TO_ACCOUNT: Final = 7011
CONTACT_NOT_FOUND: Final = 55031
USAGE_LIMIT_REACHED: Final = 60000
# Leat's answer to making a contact that exists. No sandbox call can give it
# (find-or-create finds the contact instead); listed so this is Leat's whole list.
CONTACT_ALREADY_EXISTS: Final = 60005
MODEL_NOT_FOUND: Final = 60013


class ErrorStyle(StrEnum):
    """How errors are answered."""

    # Each error with its own status (422 invalid input, 404 not found, ...) and
    # {"status_code", "code", "message", "errors"}: what the portal's client was
    # written against.
    LEGACY = "legacy"
    # What Leat's error-handling page documents: HTTP 400 and {"message", "code",
    # "status_code": 400, "errors"}, each field's errors a string (one message) or a
    # list (several). Framework-level answers (401, unknown path or method, 500)
    # keep their status and carry only {"message"}, as Laravel sends them.
    DOCUMENTED = "documented"


class AccountState(StrEnum):
    """The Leat account the token belongs to; other than active, every call is refused."""

    ACTIVE = "active"
    INACTIVE = "inactive"  # 7002
    NO_ACCESS = "no-access"  # 7011


MAX_TEXT_LENGTH: Final = 255
DEFAULT_LIMIT: Final = 30
VISIT_LIMITS: Final = (0, 500)

# Laravel's messages; "{field}" is the field name with spaces, as Laravel shows it.
REQUIRED: Final = "The {field} field is required."
MUST_BE_UUID: Final = "The {field} field must be a valid UUID."
MUST_BE_STRING: Final = "The {field} field must be a string."
TOO_LONG: Final = "The {field} field must not be greater than {max} characters."
MUST_BE_DATE: Final = "The {field} field must be a valid date."
ENDS_BEFORE_STARTS: Final = "The {field} field must be a date after or equal to starts at."
TAKEN: Final = "The {field} has already been taken."
MUST_BE_EMAIL: Final = "The {field} field must be a valid email address."
MUST_BE_INTEGER: Final = "The {field} field must be an integer."
TOO_SMALL: Final = "The {field} field must be at least {min}."
OUT_OF_RANGE: Final = "The {field} field must be between {min} and {max}."

_UUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
# Laravel's default "email" rule is RFC-based and lenient (user@localhost passes);
# this only refuses what is plainly not an address.
_EMAIL: Final = re.compile(r"[^@\s]+@[^@\s]+")
_INTEGER: Final = re.compile(r"[+-]?[0-9]+")
_PHP_INT_MAX: Final = 2**63 - 1
_PHP_TRIM: Final = " \t\n\r\0\x0b"

bp = Blueprint("leat_sandbox", __name__)


def create_sandbox_app(
    db_path: str | os.PathLike[str],
    token: str = DEFAULT_TOKEN,
    *,
    error_style: ErrorStyle | str = ErrorStyle.DOCUMENTED,
    drop_offsets: bool = False,
) -> Flask:
    """A sandbox whose data lives in the SQLite file ``db_path`` (created and seeded).

    ``error_style``: see ``ErrorStyle``. ``drop_offsets``: keep the wall-clock part of
    a time sent with an offset and ignore the offset, as a stock Laravel app does
    (10:00+01:00 is kept as 10:00 UTC); by default times are converted to UTC.
    The account starts active, with no contact limit (``ACCOUNT_CONFIG``,
    ``CONTACT_LIMIT_CONFIG``).

    Safe to serve from many threads, and to run in several processes on one file:
    the app keeps no data of its own (only its switches, each process its own), and
    the store gives each thread its own connection.
    """
    app = Flask(__name__, static_folder=None)
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep Leat's key order
    app.config[TOKEN_CONFIG] = token
    app.config[ERROR_STYLE_CONFIG] = ErrorStyle(error_style)
    app.config[DROP_OFFSETS_CONFIG] = drop_offsets
    app.config[ACCOUNT_CONFIG] = AccountState.ACTIVE
    app.config[CONTACT_LIMIT_CONFIG] = None
    app.extensions[EXTENSION] = SandboxStore(db_path)
    app.register_blueprint(bp, url_prefix=API_PREFIX)
    app.register_error_handler(ApiError, lambda error: error.response())
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    return app


# -- errors ----------------------------------------------------------------------


class ApiError(Exception):
    """A failure answered in Leat's error shape.

    ``status`` is the legacy style's status. A refused token has no ``code``: it is a
    framework-level answer, whose status stays in every style.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: int | None = None,
        errors: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.errors = errors

    def response(self) -> tuple[Response, int]:
        return error_response(self.status, self.message, code=self.code, errors=self.errors)


def error_response(
    status: int,
    message: str,
    *,
    code: int | None = None,
    errors: dict[str, list[str]] | None = None,
) -> tuple[Response, int]:
    """Every error the sandbox answers, in the style it was told to use."""
    if current_app.config[ERROR_STYLE_CONFIG] == ErrorStyle.DOCUMENTED:
        if code is None:
            return jsonify({"message": message}), status
        body: dict[str, Any] = {"message": message, "code": code, "status_code": 400}
        if errors is not None:
            body["errors"] = {
                field: messages[0] if len(messages) == 1 else messages
                for field, messages in errors.items()
            }
        return jsonify(body), 400
    body = {"status_code": status}
    if code is not None:
        body["code"] = code
    body["message"] = message
    if errors is not None:
        body["errors"] = errors
    return jsonify(body), status


class ValidationFailed(ApiError):
    def __init__(self, errors: dict[str, list[str]]) -> None:
        # Laravel's summary: the first message, and how many more there are.
        messages = [message for field in errors.values() for message in field]
        summary = messages[0]
        if more := len(messages) - 1:
            summary += f" (and {more} more error{'s' if more > 1 else ''})"
        super().__init__(422, summary, code=INVALID_INPUT, errors=errors)


def shop_not_found() -> ApiError:
    return ApiError(404, "Shop not found.", code=SHOP_NOT_FOUND)


def contact_not_found() -> ApiError:
    return ApiError(404, "Contact not found.", code=CONTACT_NOT_FOUND)


def visit_not_found() -> ApiError:
    # The legacy style gives no code here: it was written before Leat's error page
    # named one, and the portal's client still reads it that way.
    documented = current_app.config[ERROR_STYLE_CONFIG] == ErrorStyle.DOCUMENTED
    return ApiError(404, "Visit not found.", code=MODEL_NOT_FOUND if documented else None)


# The legacy style's status for refusals by the account's state or plan, for which
# Leat documents no status of their own (its error page says 400 for every error).
FORBIDDEN: Final = 403


def usage_limit_reached() -> ApiError:
    return ApiError(FORBIDDEN, "Usage limit reached.", code=USAGE_LIMIT_REACHED)


_ACCOUNT_REFUSALS: Final = {
    AccountState.INACTIVE: (ACCOUNT_INACTIVE, "Account is inactive."),
    AccountState.NO_ACCESS: (NO_ACCESS_TO_ACCOUNT, "No access to this account."),
}


_HTTP_MESSAGES: Final = {404: "Not found.", 405: "Method not allowed."}


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    response, answered = error_response(status, _HTTP_MESSAGES.get(status, f"{error.name}."))
    response.status_code = answered
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def _unexpected_error(error: Exception) -> tuple[Response, int]:
    current_app.logger.exception("Leat sandbox: unexpected error", exc_info=error)
    return error_response(500, "Server Error.")


class FieldErrors:
    """Every failing field of one request, in rule order: Laravel reports them all."""

    def __init__(self) -> None:
        self.by_field: dict[str, list[str]] = {}

    def add(self, field: str, template: str, **params: object) -> None:
        message = template.format(field=field.replace("_", " "), **params)
        self.by_field.setdefault(field, []).append(message)

    def __contains__(self, field: str) -> bool:
        return field in self.by_field

    def raise_if_any(self) -> None:
        if self.by_field:
            raise ValidationFailed(self.by_field)


# -- input -------------------------------------------------------------------------


def request_input() -> dict[str, Any]:
    """The request's fields as Laravel's ``$request->all()`` sees them.

    Query string and body together (the body wins), the body either JSON or a form,
    then Laravel's default middleware: strings trimmed, and "" turned into null.
    """
    values: dict[str, Any] = {key: request.args.getlist(key)[-1] for key in request.args}
    if request.is_json:
        # A body that is not a JSON object reaches Laravel as no input at all, so
        # it fails as missing fields (422), not as a malformed request (400).
        body = request.get_json(silent=True)
        if isinstance(body, dict):
            values.update(body)
    else:
        # PHP keeps the last of repeated form keys.
        values.update({key: request.form.getlist(key)[-1] for key in request.form})
    return {key: _laravel_clean(value) for key, value in values.items()}


def _laravel_clean(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip(_PHP_TRIM)
        return value or None
    return value


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def parse_time(value: object, *, drop_offset: bool = False) -> datetime:
    """An ISO 8601 time as a UTC datetime in whole seconds; no offset means UTC.

    ``drop_offset``: the wall-clock part read as UTC, whatever the offset says.
    """
    if not isinstance(value, str):
        raise TypeError("not a string")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None or drop_offset:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def required_uuid(values: Mapping[str, Any], field: str, errors: FieldErrors) -> str | None:
    value = values.get(field)
    if value is None:
        errors.add(field, REQUIRED)
    elif not (isinstance(value, str) and _UUID.fullmatch(value)):
        errors.add(field, MUST_BE_UUID)
    else:
        return value.lower()
    return None


def optional_uuid(values: Mapping[str, Any], field: str, errors: FieldErrors) -> str | None:
    return required_uuid(values, field, errors) if values.get(field) is not None else None


def required_email(values: Mapping[str, Any]) -> str:
    errors = FieldErrors()
    value = values.get("email")
    if value is None:
        errors.add("email", REQUIRED)
    elif not (isinstance(value, str) and _EMAIL.fullmatch(value)):
        errors.add("email", MUST_BE_EMAIL)
    errors.raise_if_any()
    return value


def _text(value: object, field: str, errors: FieldErrors) -> str | None:
    if not isinstance(value, str):
        errors.add(field, MUST_BE_STRING)
    elif len(value) > MAX_TEXT_LENGTH:
        errors.add(field, TOO_LONG, max=MAX_TEXT_LENGTH)
    else:
        return value
    return None


def _time(value: object, field: str, errors: FieldErrors) -> datetime | None:
    # With offsets dropped, the order rule compares the times as they will be kept,
    # so no stored visit ends before it starts.
    try:
        return parse_time(value, drop_offset=current_app.config[DROP_OFFSETS_CONFIG])
    except (TypeError, ValueError, OverflowError):
        errors.add(field, MUST_BE_DATE)
        return None


_VISIT_FIELDS: Final = {"external_id": _text, "source": _text, "starts_at": _time, "ends_at": _time}


def visit_fields(
    values: Mapping[str, Any],
    errors: FieldErrors,
    *,
    null_is_absent: bool,
    visit_uuid: str | None = None,
) -> dict[str, Any]:
    """The optional visit fields that were sent and are valid (times as datetimes).

    On create a null means "not given" (Laravel's ``nullable``). On update a null is
    refused like any other wrong value: it would ask Leat to clear the field, and
    whether Leat allows that is unconfirmed, so the sandbox does not pretend it does.
    ``visit_uuid`` is the visit being updated, whose own external_id is not "taken".
    """
    given: dict[str, Any] = {}
    for field, check in _VISIT_FIELDS.items():
        if field not in values or (values[field] is None and null_is_absent):
            continue
        value = check(values[field], field, errors)
        if value is None:
            continue
        given[field] = value
        # Checked here, in the field's turn, so errors keep Laravel's rule order.
        if field == "external_id" and store().external_id_taken(value, except_uuid=visit_uuid):
            errors.add(field, TAKEN)
    return given


def check_time_order(
    starts_at: datetime | None, ends_at: datetime | None, errors: FieldErrors
) -> None:
    # Only two valid times can be compared; a bad one already has its own error.
    if "starts_at" in errors or "ends_at" in errors or starts_at is None or ends_at is None:
        return
    if ends_at < starts_at:
        errors.add("ends_at", ENDS_BEFORE_STARTS)


def validated_new_visit(values: Mapping[str, Any]) -> dict[str, Any]:
    """The columns of a new visit, or ``ValidationFailed`` with every error."""
    errors, created_at = FieldErrors(), now()
    contact_uuid = required_uuid(values, "contact_uuid", errors)
    shop_uuid = required_uuid(values, "shop_uuid", errors)
    given = visit_fields(values, errors, null_is_absent=True)
    # A visit without a start began when it was recorded; the order rule holds
    # against that default too, so no stored visit ends before it starts.
    starts_at = given.get("starts_at", created_at)
    check_time_order(starts_at, given.get("ends_at"), errors)
    errors.raise_if_any()
    return {
        "contact_uuid": contact_uuid,
        "shop_uuid": shop_uuid,
        "external_id": given.get("external_id"),
        "source": given.get("source"),
        "starts_at": format_time(starts_at),
        "ends_at": format_time(given["ends_at"]) if "ends_at" in given else None,
        "created_at": format_time(created_at),
    }


def validated_visit_changes(values: Mapping[str, Any], visit: Mapping[str, Any]) -> dict[str, Any]:
    """The columns an update sets, or ``ValidationFailed`` with every error.

    Only the fields sent change; contact_uuid and shop_uuid are ignored, since a
    visit's contact and shop can't change. The order rule applies to the visit as
    it will be: sent values where given, stored ones elsewhere.
    """
    errors = FieldErrors()
    given = visit_fields(values, errors, null_is_absent=False, visit_uuid=visit["uuid"])
    stored_ends = parse_time(visit["ends_at"]) if visit["ends_at"] else None
    check_time_order(
        given.get("starts_at", parse_time(visit["starts_at"])),
        given.get("ends_at", stored_ends),
        errors,
    )
    errors.raise_if_any()
    return {
        field: format_time(value) if isinstance(value, datetime) else value
        for field, value in given.items()
    }


@contextmanager
def external_id_race() -> Iterator[None]:
    # The validator already refused a taken external_id; this is the race it can't
    # see (another request took the id meanwhile), caught by the unique index.
    try:
        yield
    except DuplicateExternalId:
        raise ValidationFailed({"external_id": [TAKEN.format(field="external id")]}) from None


def _integer(
    values: Mapping[str, Any], field: str, errors: FieldErrors, default: int
) -> int | None:
    # An empty parameter (?page=) counts as not given.
    value = values.get(field)
    if value is None:
        return default
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _INTEGER.fullmatch(value):
        number = int(value)
    else:
        number = None
    if number is None or abs(number) > _PHP_INT_MAX:
        errors.add(field, MUST_BE_INTEGER)
        return None
    return number


def page_and_limit(
    values: Mapping[str, Any], limits: tuple[int, int], errors: FieldErrors
) -> tuple[int, int]:
    """``page`` and ``limit``, to be used only once ``errors`` is known to be empty."""
    page = _integer(values, "page", errors, default=1)
    if page is not None and page < 1:
        errors.add("page", TOO_SMALL, min=1)
    limit = _integer(values, "limit", errors, default=DEFAULT_LIMIT)
    low, high = limits
    if limit is not None and not low <= limit <= high:
        errors.add("limit", OUT_OF_RANGE, min=low, max=high)
    return page or 1, limit or 0


# -- output --------------------------------------------------------------------------


def one(data: Mapping[str, Any], status: int = 200) -> tuple[Response, int]:
    # Leat's single-object answers carry an empty *list* as meta.
    return jsonify({"data": data, "meta": []}), status


def paginated(items: list[dict[str, Any]], total: int, page: int, limit: int) -> dict[str, Any]:
    """Laravel's paginated resource collection."""
    # limit=0 is allowed by Leat's docs but has no Laravel meaning (it would divide by
    # zero); here it is an empty page that still tells the total.
    last_page = max(1, math.ceil(total / limit)) if limit else 1
    before = (page - 1) * limit
    return {
        "data": items,
        "links": {
            "first": _page_url(1),
            "last": _page_url(last_page),
            "prev": _page_url(page - 1) if page > 1 else None,
            "next": _page_url(page + 1) if page < last_page else None,
        },
        "meta": {
            "current_page": page,
            "from": before + 1 if items else None,
            "last_page": last_page,
            "path": request.base_url,
            "per_page": limit,
            "to": before + len(items) if items else None,
            "total": total,
        },
    }


def _page_url(page: int) -> str:
    # The other parameters (limit, filters) are kept, so a link shows the same list.
    query = [(key, value) for key, value in request.args.items(multi=True) if key != "page"]
    return f"{request.base_url}?{urlencode([*query, ('page', page)])}"


def shop_json(shop: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "uuid": shop["uuid"],
        "name": shop["name"],
        "type": shop["type"],
        "reference": shop["reference"],
    }


def contact_json(contact: Mapping[str, Any]) -> dict[str, Any]:
    # The extra keys are there because real contacts have them and the portal must
    # ignore them; their values are what a fresh Leat contact shows.
    return {
        "uuid": contact["uuid"],
        "email": contact["email"],
        "subscriptions": [],
        "tier": None,
        "credit_balance": {"balance": 0},
        "created_at": contact["created_at"],
    }


def visit_json(visit: Mapping[str, Any]) -> dict[str, Any]:
    # No shop here, as in Leat: the store keeps it, the API does not show it.
    return {
        "uuid": visit["uuid"],
        "contact": {"uuid": visit["contact_uuid"], "email": visit["contact_email"]},
        "external_id": visit["external_id"],
        "source": visit["source"],
        "starts_at": visit["starts_at"],
        "ends_at": visit["ends_at"],
        "created_at": visit["created_at"],
    }


def store() -> SandboxStore:
    return current_app.extensions[EXTENSION]


# -- routes ------------------------------------------------------------------------


@bp.before_request
def authenticate() -> None:
    # On the blueprint, so an unknown path or method answers 404/405 before any token
    # check, as Laravel's router does.
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    expected = current_app.config[TOKEN_CONFIG]
    if scheme != "Bearer" or not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise ApiError(401, "Unauthenticated.")
    refusal = _ACCOUNT_REFUSALS.get(current_app.config[ACCOUNT_CONFIG])
    if refusal is not None:
        code, message = refusal
        raise ApiError(FORBIDDEN, message, code=code)


@bp.get("/shops")
def list_shops() -> dict[str, Any]:
    return {"data": [shop_json(shop) for shop in store().list_shops()], "meta": {}}


@bp.get("/shops/<uuid>")
def show_shop(uuid: str) -> tuple[Response, int]:
    shop = store().get_shop(uuid)
    if shop is None:
        raise shop_not_found()
    return one(shop_json(shop))


@bp.get("/contacts/find-one-by")
def find_contact() -> tuple[Response, int]:
    contact = store().find_contact(required_email(request_input()))
    if contact is None:
        raise contact_not_found()
    return one(contact_json(contact))


@bp.get("/contacts/find-or-create")
def find_or_create_contact() -> tuple[Response, int]:
    email = required_email(request_input())
    contact = store().find_or_create_contact(
        email, created_at=format_time(now()), limit=current_app.config[CONTACT_LIMIT_CONFIG]
    )
    if contact is None:
        raise usage_limit_reached()
    return one(contact_json(contact))


@bp.get("/contacts/<uuid>")
def show_contact(uuid: str) -> tuple[Response, int]:
    contact = store().get_contact(uuid)
    if contact is None:
        raise contact_not_found()
    return one(contact_json(contact))


@bp.post("/visits")
def create_visit() -> tuple[Response, int]:
    fields = validated_new_visit(request_input())
    # Leat's documented order: invalid input, then the contact, then the shop.
    if store().get_contact(fields["contact_uuid"]) is None:
        raise contact_not_found()
    if store().get_shop(fields["shop_uuid"]) is None:
        raise shop_not_found()
    with external_id_race():
        visit = store().create_visit(**fields)
    return one(visit_json(visit), 201)


@bp.put("/visits/<uuid>")
def update_visit(uuid: str) -> tuple[Response, int]:
    # An unknown visit is 404 before its input is looked at, as with Laravel's
    # route-model binding.
    visit = store().get_visit(uuid)
    if visit is None:
        raise visit_not_found()
    changes = validated_visit_changes(request_input(), visit)
    with external_id_race():
        updated = store().update_visit(visit["uuid"], changes)
    if updated is None:
        raise visit_not_found()
    return one(visit_json(updated))


@bp.get("/visits/<uuid>")
def show_visit(uuid: str) -> tuple[Response, int]:
    visit = store().get_visit(uuid)
    if visit is None:
        raise visit_not_found()
    return one(visit_json(visit))


@bp.get("/visits")
def list_visits() -> dict[str, Any]:
    values, errors = request_input(), FieldErrors()
    page, limit = page_and_limit(values, VISIT_LIMITS, errors)
    contact_uuid = optional_uuid(values, "contact_uuid", errors)
    errors.raise_if_any()
    visits, total = store().list_visits(
        offset=(page - 1) * limit, limit=limit, contact_uuid=contact_uuid
    )
    return paginated([visit_json(v) for v in visits], total, page, limit)
