"""The Leat sandbox, spoken to over real loopback HTTP with plain ``requests``.

Each rule of the sandbox's contract (docs: /work/shared/leat-api.md) has a test here
that fails without it. The portal's own Leat client is tested against the sandbox
separately (test_leat_contract.py).
"""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from helpers import ROOT

from portal.leat_sandbox import (
    CONTACT_ANNA,
    CONTACT_BRAM,
    CONTACT_CHLOE,
    CONTACTS,
    DEFAULT_TOKEN,
    IN_PROCESS_BASE_URL,
    MAINTENANCE_PAGE,
    SHOP_AMSTERDAM,
    SHOP_UTRECHT,
    SHOP_WEBSHOP,
    SHOPS,
    AccountState,
    ErrorStyle,
    Fault,
    SandboxAdapter,
    create_sandbox_app,
    serve_in_thread,
)
from portal.leat_sandbox.app import (
    ACCOUNT_CONFIG,
    API_PREFIX,
    CONTACT_LIMIT_CONFIG,
    DROP_OFFSETS_CONFIG,
    ERROR_STYLE_CONFIG,
    EXTENSION,
)
from portal.leat_sandbox.store import DuplicateExternalId, SandboxStore

TIMEOUT = 10  # seconds; every wait in this file is bounded by it
UNKNOWN = "00000000-0000-4000-8000-000000000000"
TOO_LONG = "x" * 256


@pytest.fixture(autouse=True)
def legacy(sandbox_app) -> None:
    """Most tests here were written against the statuses the sandbox answered before
    Leat's error page was known (422 invalid input, 404 not found): the legacy style,
    which stays as a switch. The ``documented`` fixture switches it back."""
    sandbox_app.config[ERROR_STYLE_CONFIG] = ErrorStyle.LEGACY


@pytest.fixture
def http(sandbox_api) -> Iterator[requests.Session]:
    """A plain requests session that sends the sandbox's token."""
    with requests.Session() as session:
        session.headers.update(sandbox_api.headers)
        yield session


@pytest.fixture
def store(sandbox_app) -> SandboxStore:
    return sandbox_app.extensions[EXTENSION]


def create(http, api, *, json: bool = False, **fields: Any) -> requests.Response:
    fields.setdefault("contact_uuid", CONTACT_ANNA)
    fields.setdefault("shop_uuid", SHOP_AMSTERDAM)
    body = {"json": fields} if json else {"data": fields}
    return http.post(api("/visits"), timeout=TIMEOUT, **body)


def new_visit(http, api, **fields: Any) -> dict[str, Any]:
    response = create(http, api, **fields)
    assert response.status_code == 201, response.text
    return response.json()["data"]


def assert_invalid(response: requests.Response, errors: dict[str, list[str]]) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == 1003
    assert body["status_code"] == 422
    assert body["errors"] == errors


def iso(moment: datetime) -> str:
    return moment.isoformat()


def at(hour: int) -> str:
    """That hour of 1 May 2024 in UTC, as the sandbox answers times."""
    return f"2024-05-01T{hour:02d}:00:00+00:00"


# -- authentication and error shapes ----------------------------------------------

ENDPOINTS = [
    ("GET", "/shops"),
    ("GET", f"/shops/{SHOP_AMSTERDAM}"),
    ("GET", "/contacts/find-one-by?email=anna.devries@example.com"),
    ("GET", "/contacts/find-or-create?email=anna.devries@example.com"),
    ("GET", f"/contacts/{CONTACT_ANNA}"),
    ("POST", "/visits"),
    ("GET", "/visits"),
    ("GET", f"/visits/{UNKNOWN}"),
    ("PUT", f"/visits/{UNKNOWN}"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_call_needs_the_token(sandbox_api, method, path):
    response = requests.request(method, sandbox_api(path), timeout=TIMEOUT)
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"status_code": 401, "message": "Unauthenticated."}


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer not-the-token",
        f"Basic {DEFAULT_TOKEN}",
        DEFAULT_TOKEN,
        "Bearer",
        f"Bearer {DEFAULT_TOKEN}x",
    ],
)
def test_a_wrong_token_or_scheme_is_refused(sandbox_api, authorization):
    response = requests.get(
        sandbox_api("/shops"), headers={"Authorization": authorization}, timeout=TIMEOUT
    )
    assert response.status_code == 401
    assert response.json()["message"] == "Unauthenticated."


def test_the_app_accepts_the_token_it_was_made_with(tmp_path):
    app = create_sandbox_app(str(tmp_path / "own-token.sqlite3"), token="s3cret")
    with serve_in_thread(app) as server:
        url = server.base_url + API_PREFIX + "/shops"
        mine = requests.get(url, headers={"Authorization": "Bearer s3cret"}, timeout=TIMEOUT)
        default = requests.get(
            url, headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"}, timeout=TIMEOUT
        )
    assert server.token == "s3cret"
    assert (mine.status_code, default.status_code) == (200, 401)


@pytest.mark.parametrize("path", ["/nothing-here", "/shops/a/b", "/../../elsewhere"])
def test_an_unknown_path_is_a_json_404_even_without_a_token(sandbox, sandbox_api, path):
    for url in (sandbox_api(path), sandbox.base_url + "/"):
        response = requests.get(url, timeout=TIMEOUT)
        assert response.status_code == 404
        assert response.headers["Content-Type"] == "application/json"
        assert response.json() == {"status_code": 404, "message": "Not found."}


def test_a_wrong_method_is_a_json_405(http, sandbox_api):
    response = http.delete(sandbox_api(f"/visits/{UNKNOWN}"), timeout=TIMEOUT)
    assert response.status_code == 405
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"status_code": 405, "message": "Method not allowed."}
    assert "PUT" in response.headers["Allow"]
    assert http.post(sandbox_api("/shops"), timeout=TIMEOUT).status_code == 405


def test_an_unexpected_exception_is_a_json_500(http, sandbox_api, store, monkeypatch):
    def broken() -> None:
        raise RuntimeError("the disk caught fire")

    monkeypatch.setattr(store, "list_shops", broken)
    response = http.get(sandbox_api("/shops"), timeout=TIMEOUT)
    assert response.status_code == 500
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"status_code": 500, "message": "Server Error."}


# -- request bodies and validation messages -----------------------------------------


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "form"])
def test_create_takes_json_and_form_bodies(http, sandbox_api, as_json):
    response = create(http, sandbox_api, json=as_json, external_id="body-1", source="Till")
    assert response.status_code == 201, response.text
    visit = response.json()["data"]
    assert (visit["external_id"], visit["source"]) == ("body-1", "Till")


def test_an_empty_form_value_is_null(http, sandbox_api):
    # Laravel's ConvertEmptyStringsToNull: "" is a missing required field ...
    response = http.post(
        sandbox_api("/visits"),
        data={"contact_uuid": "", "shop_uuid": SHOP_AMSTERDAM},
        timeout=TIMEOUT,
    )
    assert_invalid(response, {"contact_uuid": ["The contact uuid field is required."]})
    # ... and an optional field left empty is simply absent.
    visit = new_visit(http, sandbox_api, source="", external_id="", ends_at="")
    assert (visit["source"], visit["external_id"], visit["ends_at"]) == (None, None, None)


def test_strings_are_trimmed_like_laravel_does(http, sandbox_api):
    visit = new_visit(http, sandbox_api, source="  Till 3 \t", external_id=" trim-1 ")
    assert (visit["source"], visit["external_id"]) == ("Till 3", "trim-1")
    only_spaces = new_visit(http, sandbox_api, source="   ")
    assert only_spaces["source"] is None


def test_a_json_body_that_is_not_an_object_is_no_input(http, sandbox_api):
    for raw in (b"{not json", b"[1, 2]"):
        response = http.post(
            sandbox_api("/visits"),
            data=raw,
            headers={"Content-Type": "application/json"},
            timeout=TIMEOUT,
        )
        assert_invalid(
            response,
            {
                "contact_uuid": ["The contact uuid field is required."],
                "shop_uuid": ["The shop uuid field is required."],
            },
        )


def test_validation_reports_every_field_with_laravels_summary(http, sandbox_api):
    response = http.post(
        sandbox_api("/visits"),
        json={
            "contact_uuid": "anna",
            "shop_uuid": None,
            "external_id": TOO_LONG,
            "source": 42,
            "starts_at": "next tuesday",
            "ends_at": "2024-02-30T10:00:00",
        },
        timeout=TIMEOUT,
    )
    errors = {
        "contact_uuid": ["The contact uuid field must be a valid UUID."],
        "shop_uuid": ["The shop uuid field is required."],
        "external_id": ["The external id field must not be greater than 255 characters."],
        "source": ["The source field must be a string."],
        "starts_at": ["The starts at field must be a valid date."],
        "ends_at": ["The ends at field must be a valid date."],
    }
    assert_invalid(response, errors)
    assert list(response.json()["errors"]) == list(errors)  # in the rules' order
    assert response.json()["message"] == (
        "The contact uuid field must be a valid UUID. (and 5 more errors)"
    )


def test_the_summary_counts_one_more_error_in_the_singular(http, sandbox_api):
    response = http.post(sandbox_api("/visits"), data={}, timeout=TIMEOUT)
    assert response.json()["message"] == "The contact uuid field is required. (and 1 more error)"


def test_the_summary_of_a_single_error_is_that_error(http, sandbox_api):
    response = create(http, sandbox_api, starts_at="soon")
    assert_invalid(response, {"starts_at": ["The starts at field must be a valid date."]})
    assert response.json()["message"] == "The starts at field must be a valid date."


# -- shops ---------------------------------------------------------------------------


def test_list_shops(http, sandbox_api):
    response = http.get(sandbox_api("/shops"), timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert body["meta"] == {}
    assert body["data"] == [
        {"uuid": s.uuid, "name": s.name, "type": s.type, "reference": s.reference} for s in SHOPS
    ]
    assert sorted(shop["type"] for shop in body["data"]) == ["physical"] * 3 + ["web"]


def test_show_a_shop(http, sandbox_api):
    response = http.get(sandbox_api(f"/shops/{SHOP_WEBSHOP}"), timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.json() == {
        "data": {"uuid": SHOP_WEBSHOP, "name": "Webshop", "type": "web", "reference": "WEB-01"},
        "meta": [],
    }


@pytest.mark.parametrize("shop", [UNKNOWN, "not-a-uuid"])
def test_an_unknown_shop_is_1008(http, sandbox_api, shop):
    response = http.get(sandbox_api(f"/shops/{shop}"), timeout=TIMEOUT)
    assert response.status_code == 404
    assert response.json() == {"status_code": 404, "code": 1008, "message": "Shop not found."}


# -- contacts ------------------------------------------------------------------------

CONTACT_NOT_FOUND = {"status_code": 404, "code": 55031, "message": "Contact not found."}


def test_a_contact_has_extra_keys_the_portal_must_ignore(http, sandbox_api):
    response = http.get(sandbox_api(f"/contacts/{CONTACT_ANNA}"), timeout=TIMEOUT)
    assert response.status_code == 200
    body = response.json()
    assert body["meta"] == []
    contact = body["data"]
    assert (contact["uuid"], contact["email"]) == (CONTACT_ANNA, "anna.devries@example.com")
    assert {"subscriptions", "tier", "created_at"} <= set(contact)


def test_an_unknown_contact_is_55031(http, sandbox_api):
    response = http.get(sandbox_api(f"/contacts/{UNKNOWN}"), timeout=TIMEOUT)
    assert response.status_code == 404
    assert response.json() == CONTACT_NOT_FOUND


def test_find_one_by_email(http, sandbox_api):
    url = sandbox_api("/contacts/find-one-by")
    found = http.get(url, params={"email": "anna.devries@example.com"}, timeout=TIMEOUT)
    assert found.status_code == 200
    assert found.json()["data"]["uuid"] == CONTACT_ANNA
    assert found.json()["meta"] == []
    # Leat's database compares e-mails without regard to case.
    shouting = http.get(url, params={"email": "Anna.DeVries@Example.com"}, timeout=TIMEOUT)
    assert shouting.json()["data"]["uuid"] == CONTACT_ANNA

    missing = http.get(url, params={"email": "nobody@example.com"}, timeout=TIMEOUT)
    assert missing.status_code == 404
    assert missing.json() == CONTACT_NOT_FOUND


@pytest.mark.parametrize("path", ["/contacts/find-one-by", "/contacts/find-or-create"])
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "The email field is required."),
        ({"email": ""}, "The email field is required."),
        ({"email": "not-an-email"}, "The email field must be a valid email address."),
        ({"email": "two words@example.com"}, "The email field must be a valid email address."),
    ],
)
def test_a_missing_or_invalid_email_is_422(http, sandbox_api, path, params, message):
    response = http.get(sandbox_api(path), params=params, timeout=TIMEOUT)
    assert_invalid(response, {"email": [message]})


def test_find_or_create_finds_or_creates_once(http, sandbox_api):
    url = sandbox_api("/contacts/find-or-create")
    existing = http.get(url, params={"email": "bram.jansen@example.com"}, timeout=TIMEOUT)
    assert existing.status_code == 200
    assert existing.json()["data"]["uuid"] == CONTACT_BRAM

    email = "new+customer@example.com"  # a "+" survives the query string
    created = http.get(url, params={"email": email}, timeout=TIMEOUT)
    assert created.status_code == 200
    contact = created.json()["data"]
    assert contact["email"] == email
    assert uuid.UUID(contact["uuid"]).version == 4
    again = http.get(url, params={"email": email}, timeout=TIMEOUT)
    assert again.json()["data"]["uuid"] == contact["uuid"]
    shown = http.get(sandbox_api(f"/contacts/{contact['uuid']}"), timeout=TIMEOUT)
    assert shown.json()["data"]["email"] == email


# -- creating visits -------------------------------------------------------------------


def test_create_a_visit(http, sandbox_api):
    before = datetime.now(UTC).replace(microsecond=0)
    response = create(
        http,
        sandbox_api,
        external_id="till-1",
        source="Website",
        starts_at="2024-05-01T20:00:00+00:00",
        ends_at="2024-05-01T22:30:00+00:00",
    )
    after = datetime.now(UTC)
    assert response.status_code == 201
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert body["meta"] == []
    visit = body["data"]
    assert uuid.UUID(visit["uuid"]).version == 4
    assert before <= datetime.fromisoformat(visit["created_at"]) <= after
    # No shop in a visit's JSON, as in Leat.
    assert visit == {
        "uuid": visit["uuid"],
        "contact": {"uuid": CONTACT_ANNA, "email": "anna.devries@example.com"},
        "external_id": "till-1",
        "source": "Website",
        "starts_at": "2024-05-01T20:00:00+00:00",
        "ends_at": "2024-05-01T22:30:00+00:00",
        "created_at": visit["created_at"],
    }


def test_the_store_remembers_each_visits_shop(http, sandbox_api, store):
    visit = new_visit(http, sandbox_api, shop_uuid=SHOP_UTRECHT)
    assert store.get_visit(visit["uuid"])["shop_uuid"] == SHOP_UTRECHT


@pytest.mark.parametrize(
    ("sent", "answered"),
    [
        ("2024-05-01T22:00:00+02:00", "2024-05-01T20:00:00+00:00"),
        ("2024-05-01T20:00:00Z", "2024-05-01T20:00:00+00:00"),
        ("2024-05-01T20:00:00", "2024-05-01T20:00:00+00:00"),  # no offset: UTC
        ("2024-05-01 20:00:00.987654+00:00", "2024-05-01T20:00:00+00:00"),
        ("2024-05-01", "2024-05-01T00:00:00+00:00"),
    ],
)
def test_times_are_answered_in_utc_to_the_second(http, sandbox_api, sent, answered):
    visit = new_visit(http, sandbox_api, starts_at=sent, ends_at=sent)
    assert (visit["starts_at"], visit["ends_at"]) == (answered, answered)


def test_a_time_without_offset_is_utc_whatever_the_local_zone(http, sandbox_api):
    if not hasattr(time, "tzset"):
        pytest.skip("needs time.tzset to change the local zone")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TZ", "America/New_York")
        time.tzset()
        try:
            visit = new_visit(http, sandbox_api, starts_at="2024-05-01T20:00:00")
        finally:
            patch.undo()
            time.tzset()
    assert visit["starts_at"] == "2024-05-01T20:00:00+00:00"


def test_starts_at_defaults_to_the_creation_time(http, sandbox_api):
    visit = new_visit(http, sandbox_api)
    assert visit["starts_at"] == visit["created_at"]
    assert visit["ends_at"] is None


def test_nulls_in_a_json_create_are_absent_fields(http, sandbox_api):
    response = create(
        http, sandbox_api, json=True, external_id=None, source=None, starts_at=None, ends_at=None
    )
    assert response.status_code == 201, response.text
    visit = response.json()["data"]
    assert (visit["external_id"], visit["source"], visit["ends_at"]) == (None, None, None)
    assert visit["starts_at"] == visit["created_at"]


def test_contact_and_shop_are_required_uuids(http, sandbox_api):
    assert_invalid(
        http.post(sandbox_api("/visits"), data={}, timeout=TIMEOUT),
        {
            "contact_uuid": ["The contact uuid field is required."],
            "shop_uuid": ["The shop uuid field is required."],
        },
    )
    assert_invalid(
        create(http, sandbox_api, contact_uuid="anna", shop_uuid=f"{SHOP_AMSTERDAM}0"),
        {
            "contact_uuid": ["The contact uuid field must be a valid UUID."],
            "shop_uuid": ["The shop uuid field must be a valid UUID."],
        },
    )


@pytest.mark.parametrize("value", ["yesterday", "2024-13-01T10:00:00", "01-05-2024", 1714593600])
def test_a_time_must_be_iso_8601(http, sandbox_api, value):
    assert_invalid(
        create(http, sandbox_api, json=True, starts_at=value, ends_at=value),
        {
            "starts_at": ["The starts at field must be a valid date."],
            "ends_at": ["The ends at field must be a valid date."],
        },
    )


def test_a_visit_cannot_end_before_it_starts(http, sandbox_api):
    starts = datetime(2024, 5, 1, 20, 0, tzinfo=UTC)
    response = create(
        http, sandbox_api, starts_at=iso(starts), ends_at=iso(starts - timedelta(seconds=1))
    )
    assert_invalid(
        response, {"ends_at": ["The ends at field must be a date after or equal to starts at."]}
    )
    # Equal is fine; and offsets are compared as instants, not as text.
    assert new_visit(http, sandbox_api, starts_at=iso(starts), ends_at=iso(starts))
    # 21:30+02:00 is 19:30 UTC, half an hour before the start.
    assert_invalid(
        create(
            http,
            sandbox_api,
            starts_at="2024-05-01T20:00:00+00:00",
            ends_at="2024-05-01T21:30+02:00",
        ),
        {"ends_at": ["The ends at field must be a date after or equal to starts at."]},
    )


def test_an_end_without_a_start_is_checked_against_the_creation_time(http, sandbox_api):
    past = datetime.now(UTC) - timedelta(hours=1)
    assert_invalid(
        create(http, sandbox_api, ends_at=iso(past)),
        {"ends_at": ["The ends at field must be a date after or equal to starts at."]},
    )
    future = datetime.now(UTC) + timedelta(hours=1)
    assert new_visit(http, sandbox_api, ends_at=iso(future))["ends_at"] is not None


@pytest.mark.parametrize("field", ["external_id", "source"])
def test_text_fields_are_strings_of_at_most_255(http, sandbox_api, field):
    label = field.replace("_", " ")
    assert_invalid(
        create(http, sandbox_api, **{field: TOO_LONG}),
        {field: [f"The {label} field must not be greater than 255 characters."]},
    )
    assert_invalid(
        create(http, sandbox_api, json=True, **{field: 12}),
        {field: [f"The {label} field must be a string."]},
    )
    assert new_visit(http, sandbox_api, **{field: "é" * 255})[field] == "é" * 255


def test_an_external_id_is_unique(http, sandbox_api):
    new_visit(http, sandbox_api, external_id="till-7")
    assert_invalid(
        create(http, sandbox_api, external_id="till-7", contact_uuid=CONTACT_BRAM),
        {"external_id": ["The external id has already been taken."]},
    )


def test_the_unique_index_still_refuses_a_duplicate_that_passed_validation(
    http, sandbox_api, store, monkeypatch
):
    # As when two requests pass the uniqueness check at the same moment.
    new_visit(http, sandbox_api, external_id="race-1")
    monkeypatch.setattr(store, "external_id_taken", lambda *args, **kwargs: False)
    response = create(http, sandbox_api, external_id="race-1")
    assert_invalid(response, {"external_id": ["The external id has already been taken."]})
    assert response.json()["message"] == "The external id has already been taken."
    other = new_visit(http, sandbox_api, external_id="race-2")
    update = http.put(
        sandbox_api(f"/visits/{other['uuid']}"), data={"external_id": "race-1"}, timeout=TIMEOUT
    )
    assert_invalid(update, {"external_id": ["The external id has already been taken."]})


def test_the_store_itself_refuses_a_duplicate_external_id(store):
    fields = {
        "contact_uuid": CONTACT_ANNA,
        "shop_uuid": SHOP_AMSTERDAM,
        "external_id": "index-1",
        "source": None,
        "starts_at": "2024-05-01T20:00:00+00:00",
        "ends_at": None,
        "created_at": "2024-05-01T20:00:00+00:00",
    }
    store.create_visit(**fields)
    with pytest.raises(DuplicateExternalId):
        store.create_visit(**fields)
    # Visits without an external_id are not duplicates of each other.
    store.create_visit(**{**fields, "external_id": None})
    store.create_visit(**{**fields, "external_id": None})
    assert store.list_visits(offset=0, limit=10)[1] == 3


def test_an_unknown_contact_is_55031_and_comes_before_an_unknown_shop(http, sandbox_api):
    for shop in (SHOP_AMSTERDAM, UNKNOWN):
        response = create(http, sandbox_api, contact_uuid=UNKNOWN, shop_uuid=shop)
        assert response.status_code == 404
        assert response.json() == CONTACT_NOT_FOUND


def test_an_unknown_shop_is_1008_on_create(http, sandbox_api):
    response = create(http, sandbox_api, shop_uuid=UNKNOWN)
    assert response.status_code == 404
    assert response.json() == {"status_code": 404, "code": 1008, "message": "Shop not found."}


def test_invalid_input_comes_before_unknown_contact_or_shop(http, sandbox_api):
    response = create(http, sandbox_api, contact_uuid=UNKNOWN, shop_uuid=UNKNOWN, source=TOO_LONG)
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["source"]


# -- updating visits -------------------------------------------------------------------


def update(http, api, visit_uuid: str, *, json: bool = False, **fields: Any) -> requests.Response:
    body = {"json": fields} if json else {"data": fields}
    return http.put(api(f"/visits/{visit_uuid}"), timeout=TIMEOUT, **body)


def test_update_changes_only_the_fields_sent(http, sandbox_api):
    visit = new_visit(
        http, sandbox_api, external_id="u-1", source="Till", starts_at=at(20), ends_at=at(21)
    )
    response = update(http, sandbox_api, visit["uuid"], source="Portal")
    assert response.status_code == 200
    assert response.json() == {"data": {**visit, "source": "Portal"}, "meta": []}

    changed = update(
        http,
        sandbox_api,
        visit["uuid"],
        json=True,
        external_id="u-1b",
        starts_at="2024-05-01T21:00:00+02:00",
        ends_at="2024-05-01T23:00:00+02:00",
    ).json()["data"]
    assert changed == {
        **visit,
        "external_id": "u-1b",
        "source": "Portal",
        "starts_at": "2024-05-01T19:00:00+00:00",
        "ends_at": "2024-05-01T21:00:00+00:00",
    }
    shown = http.get(sandbox_api(f"/visits/{visit['uuid']}"), timeout=TIMEOUT).json()["data"]
    assert shown == changed


def test_an_empty_update_changes_nothing(http, sandbox_api):
    visit = new_visit(http, sandbox_api, source="Till")
    assert update(http, sandbox_api, visit["uuid"]).json()["data"] == visit


def test_update_ignores_contact_and_shop(http, sandbox_api, store):
    visit = new_visit(http, sandbox_api, shop_uuid=SHOP_UTRECHT)
    for contact, shop in ((CONTACT_CHLOE, SHOP_WEBSHOP), ("nonsense", "")):
        response = update(
            http, sandbox_api, visit["uuid"], contact_uuid=contact, shop_uuid=shop, source="x"
        )
        assert response.status_code == 200, response.text
        assert response.json()["data"]["contact"]["uuid"] == CONTACT_ANNA
    assert store.get_visit(visit["uuid"])["shop_uuid"] == SHOP_UTRECHT


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("external_id", "The external id field must be a string."),
        ("source", "The source field must be a string."),
        ("starts_at", "The starts at field must be a valid date."),
        ("ends_at", "The ends at field must be a valid date."),
    ],
)
@pytest.mark.parametrize("as_json", [True, False], ids=["json-null", "form-empty"])
def test_update_refuses_to_clear_a_field(http, sandbox_api, field, message, as_json):
    visit = new_visit(
        http, sandbox_api, external_id="clear-1", source="Till", ends_at="2999-01-01T00:00:00"
    )
    response = update(
        http, sandbox_api, visit["uuid"], json=as_json, **{field: None if as_json else ""}
    )
    assert_invalid(response, {field: [message]})
    assert (
        http.get(sandbox_api(f"/visits/{visit['uuid']}"), timeout=TIMEOUT).json()["data"] == visit
    )


def test_update_validates_what_it_is_sent(http, sandbox_api):
    visit = new_visit(http, sandbox_api)
    assert_invalid(
        update(http, sandbox_api, visit["uuid"], json=True, source=7, starts_at="later"),
        {
            "source": ["The source field must be a string."],
            "starts_at": ["The starts at field must be a valid date."],
        },
    )


def test_update_checks_the_order_against_the_stored_times(http, sandbox_api):
    visit = new_visit(http, sandbox_api, starts_at=at(20), ends_at=at(22))
    after_or_equal = {"ends_at": ["The ends at field must be a date after or equal to starts at."]}
    # An end before the stored start ...
    assert_invalid(
        update(http, sandbox_api, visit["uuid"], ends_at="2024-05-01T19:00:00+00:00"),
        after_or_equal,
    )
    # ... and a start after the stored end (the error is still the end's).
    assert_invalid(
        update(http, sandbox_api, visit["uuid"], starts_at="2024-05-01T23:00:00+00:00"),
        after_or_equal,
    )
    # Moving both together is fine.
    moved = update(
        http,
        sandbox_api,
        visit["uuid"],
        starts_at="2024-05-02T23:00:00+00:00",
        ends_at="2024-05-03T01:00:00+00:00",
    )
    assert moved.status_code == 200


def test_update_keeps_or_takes_an_external_id(http, sandbox_api):
    new_visit(http, sandbox_api, external_id="mine-1")
    visit = new_visit(http, sandbox_api, external_id="mine-2")
    same = update(http, sandbox_api, visit["uuid"], external_id="mine-2")
    assert same.status_code == 200
    assert_invalid(
        update(http, sandbox_api, visit["uuid"], external_id="mine-1"),
        {"external_id": ["The external id has already been taken."]},
    )
    assert update(http, sandbox_api, visit["uuid"], external_id="mine-3").status_code == 200


def test_update_an_unknown_visit(http, sandbox_api):
    response = update(http, sandbox_api, UNKNOWN, source="x")
    assert response.status_code == 404
    assert response.json()["message"] == "Visit not found."
    # Not found comes first, even with bad input.
    assert update(http, sandbox_api, UNKNOWN, source=TOO_LONG).status_code == 404


# -- showing and listing visits -----------------------------------------------------


def test_show_a_visit(http, sandbox_api):
    visit = new_visit(http, sandbox_api, source="Till")
    response = http.get(sandbox_api(f"/visits/{visit['uuid']}"), timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.json() == {"data": visit, "meta": []}
    missing = http.get(sandbox_api(f"/visits/{UNKNOWN}"), timeout=TIMEOUT)
    assert missing.status_code == 404
    assert missing.json() == {"status_code": 404, "message": "Visit not found."}


def list_visits(http, api, **params: Any) -> dict[str, Any]:
    response = http.get(api("/visits"), params=params, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()


def test_list_visits_newest_first(http, sandbox_api, store):
    made = [new_visit(http, sandbox_api, source=f"n{i}")["uuid"] for i in range(3)]
    common = {"contact_uuid": CONTACT_ANNA, "shop_uuid": SHOP_AMSTERDAM, "external_id": None}
    times = {"starts_at": None, "ends_at": None, "source": None}
    # created_at decides first; insertion order only breaks ties.
    oldest = store.create_visit(**common, **times, created_at="2020-01-01T00:00:00+00:00")
    newest = store.create_visit(**common, **times, created_at="2999-01-01T00:00:00+00:00")
    listed = [v["uuid"] for v in list_visits(http, sandbox_api)["data"]]
    assert listed == [newest["uuid"], *reversed(made), oldest["uuid"]]


def test_list_visits_pages_in_laravels_shape(http, sandbox_api):
    made = [new_visit(http, sandbox_api)["uuid"] for _ in range(5)]
    body = list_visits(http, sandbox_api, limit=2, page=2)
    assert [v["uuid"] for v in body["data"]] == [made[2], made[1]]
    path = sandbox_api("/visits")
    assert body["meta"] == {
        "current_page": 2,
        "from": 3,
        "last_page": 3,
        "path": path,
        "per_page": 2,
        "to": 4,
        "total": 5,
    }
    assert body["links"] == {
        "first": f"{path}?limit=2&page=1",
        "last": f"{path}?limit=2&page=3",
        "prev": f"{path}?limit=2&page=1",
        "next": f"{path}?limit=2&page=3",
    }
    last = list_visits(http, sandbox_api, limit=2, page=3)
    assert (len(last["data"]), last["links"]["next"]) == (1, None)


def test_an_empty_page_has_no_from_or_to(http, sandbox_api):
    empty = list_visits(http, sandbox_api)
    assert empty["data"] == []
    assert empty["meta"] | {"path": None} == {
        "current_page": 1,
        "from": None,
        "last_page": 1,
        "path": None,
        "per_page": 30,
        "to": None,
        "total": 0,
    }
    assert empty["links"]["prev"] is None
    new_visit(http, sandbox_api)
    beyond = list_visits(http, sandbox_api, page=9)
    assert (beyond["data"], beyond["meta"]["from"], beyond["meta"]["to"]) == ([], None, None)
    assert beyond["meta"]["total"] == 1


def test_list_visits_defaults_to_30_and_takes_up_to_500(http, sandbox_api, store):
    for i in range(31):
        store.create_visit(
            contact_uuid=CONTACT_ANNA,
            shop_uuid=SHOP_AMSTERDAM,
            external_id=f"bulk-{i}",
            source=None,
            starts_at=None,
            ends_at=None,
            created_at="2024-05-01T20:00:00+00:00",
        )
    default = list_visits(http, sandbox_api)
    assert (len(default["data"]), default["meta"]["per_page"], default["meta"]["last_page"]) == (
        30,
        30,
        2,
    )
    assert len(list_visits(http, sandbox_api, limit=500)["data"]) == 31
    # limit=0 is allowed: no visits, but the total.
    none = list_visits(http, sandbox_api, limit=0)
    assert (none["data"], none["meta"]["total"], none["meta"]["last_page"]) == ([], 31, 1)


def test_list_visits_filters_by_contact(http, sandbox_api):
    mine = new_visit(http, sandbox_api, contact_uuid=CONTACT_CHLOE)
    new_visit(http, sandbox_api, contact_uuid=CONTACT_BRAM)
    body = list_visits(http, sandbox_api, contact_uuid=CONTACT_CHLOE)
    assert [v["uuid"] for v in body["data"]] == [mine["uuid"]]
    assert body["meta"]["total"] == 1
    assert "contact_uuid=" in body["links"]["first"]
    assert list_visits(http, sandbox_api, contact_uuid=UNKNOWN)["meta"]["total"] == 0


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"limit": 501}, {"limit": ["The limit field must be between 0 and 500."]}),
        ({"limit": -1}, {"limit": ["The limit field must be between 0 and 500."]}),
        ({"limit": "ten"}, {"limit": ["The limit field must be an integer."]}),
        ({"limit": "1.5"}, {"limit": ["The limit field must be an integer."]}),
        ({"page": 0}, {"page": ["The page field must be at least 1."]}),
        ({"page": "9" * 30}, {"page": ["The page field must be an integer."]}),
        (
            {"contact_uuid": "anna"},
            {"contact_uuid": ["The contact uuid field must be a valid UUID."]},
        ),
    ],
)
def test_list_visits_refuses_bad_parameters(http, sandbox_api, params, errors):
    assert_invalid(http.get(sandbox_api("/visits"), params=params, timeout=TIMEOUT), errors)


def test_a_huge_page_is_simply_empty(http, sandbox_api):
    body = list_visits(http, sandbox_api, page=2**62, limit=500)
    assert body["data"] == []


# -- the documented error style ----------------------------------------------------


@pytest.fixture
def documented(sandbox_app) -> None:
    """The served sandbox answers errors as Leat's error-handling page shows them."""
    sandbox_app.config[ERROR_STYLE_CONFIG] = ErrorStyle.DOCUMENTED


def assert_refused(response: requests.Response, code: int, message: str, **extra: Any) -> None:
    assert response.status_code == 400, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"message": message, "code": code, "status_code": 400, **extra}


@pytest.mark.usefixtures("documented")
def test_documented_invalid_input_is_400_with_each_fields_message(http, sandbox_api):
    assert_refused(
        http.post(sandbox_api("/visits"), data={"source": TOO_LONG}, timeout=TIMEOUT),
        1003,
        "The contact uuid field is required. (and 2 more errors)",
        errors={
            "contact_uuid": "The contact uuid field is required.",
            "shop_uuid": "The shop uuid field is required.",
            "source": "The source field must not be greater than 255 characters.",
        },
    )
    for path, params, field, message in (
        ("/visits", {"limit": 501}, "limit", "The limit field must be between 0 and 500."),
        ("/contacts/find-one-by", {}, "email", "The email field is required."),
        (
            "/contacts/find-or-create",
            {"email": "nope"},
            "email",
            "The email field must be a valid email address.",
        ),
    ):
        response = http.get(sandbox_api(path), params=params, timeout=TIMEOUT)
        assert_refused(response, 1003, message, errors={field: message})


@pytest.mark.usefixtures("documented")
def test_documented_taken_external_id_and_bad_update_are_1003(
    http, sandbox_api, store, monkeypatch
):
    visit = new_visit(http, sandbox_api, external_id="doc-1")
    taken = "The external id has already been taken."
    assert_refused(
        create(http, sandbox_api, external_id="doc-1"), 1003, taken, errors={"external_id": taken}
    )
    refused = update(http, sandbox_api, visit["uuid"], starts_at="later")
    message = "The starts at field must be a valid date."
    assert_refused(refused, 1003, message, errors={"starts_at": message})
    # The unique index's refusal, when two creates pass validation at once, too.
    monkeypatch.setattr(store, "external_id_taken", lambda *args, **kwargs: False)
    assert_refused(
        create(http, sandbox_api, external_id="doc-1"), 1003, taken, errors={"external_id": taken}
    )


@pytest.mark.usefixtures("documented")
@pytest.mark.parametrize(
    ("method", "path", "fields", "code", "message"),
    [
        ("POST", "/visits", {"contact_uuid": UNKNOWN}, 55031, "Contact not found."),
        ("POST", "/visits", {"shop_uuid": UNKNOWN}, 1008, "Shop not found."),
        ("GET", f"/shops/{UNKNOWN}", {}, 1008, "Shop not found."),
        ("GET", f"/contacts/{UNKNOWN}", {}, 55031, "Contact not found."),
        ("GET", "/contacts/find-one-by?email=nobody@example.com", {}, 55031, "Contact not found."),
        ("GET", f"/visits/{UNKNOWN}", {}, 60013, "Visit not found."),
        ("PUT", f"/visits/{UNKNOWN}", {"source": "x"}, 60013, "Visit not found."),
    ],
    ids=["create-contact", "create-shop", "shop", "contact", "find-one-by", "visit", "update"],
)
def test_documented_not_found_is_400_with_its_code(
    http, sandbox_api, method, path, fields, code, message
):
    if method == "POST":
        fields = {"contact_uuid": CONTACT_ANNA, "shop_uuid": SHOP_AMSTERDAM, **fields}
    response = http.request(method, sandbox_api(path), data=fields, timeout=TIMEOUT)
    assert_refused(response, code, message)


@pytest.mark.usefixtures("documented")
def test_documented_framework_answers_keep_their_status_and_carry_only_a_message(
    http, sandbox_api, store, monkeypatch
):
    # As Laravel's own handler sends them: no code, and the status is the HTTP one.
    unauthenticated = requests.get(sandbox_api("/shops"), timeout=TIMEOUT)
    assert (unauthenticated.status_code, unauthenticated.json()) == (
        401,
        {"message": "Unauthenticated."},
    )
    missing = http.get(sandbox_api("/nothing-here"), timeout=TIMEOUT)
    assert (missing.status_code, missing.json()) == (404, {"message": "Not found."})
    wrong_method = http.delete(sandbox_api(f"/visits/{UNKNOWN}"), timeout=TIMEOUT)
    assert (wrong_method.status_code, wrong_method.json()) == (
        405,
        {"message": "Method not allowed."},
    )
    assert "PUT" in wrong_method.headers["Allow"]
    monkeypatch.setattr(store, "list_shops", lambda: 1 / 0)
    broken = http.get(sandbox_api("/shops"), timeout=TIMEOUT)
    assert (broken.status_code, broken.json()) == (500, {"message": "Server Error."})


def test_the_documented_style_is_the_default(tmp_path):
    app = create_sandbox_app(str(tmp_path / "default.sqlite3"))
    assert app.config[ERROR_STYLE_CONFIG] == ErrorStyle.DOCUMENTED


def test_the_legacy_style_answers_an_unknown_visit_404(http, sandbox_api):
    response = http.get(sandbox_api(f"/visits/{UNKNOWN}"), timeout=TIMEOUT)
    assert (response.status_code, response.json()) == (
        404,
        {"status_code": 404, "message": "Visit not found."},
    )


# -- the account's state and its contact limit ----------------------------------------

ACCOUNT_REFUSALS = {
    AccountState.INACTIVE: (7002, "Account is inactive."),
    AccountState.NO_ACCESS: (7011, "No access to this account."),
}


@pytest.mark.usefixtures("documented")
@pytest.mark.parametrize("state", list(ACCOUNT_REFUSALS))
def test_an_inactive_or_inaccessible_account_refuses_every_call(
    sandbox_app, http, sandbox_api, state
):
    code, message = ACCOUNT_REFUSALS[state]
    sandbox_app.config[ACCOUNT_CONFIG] = state
    for method, path in ENDPOINTS:
        assert_refused(http.request(method, sandbox_api(path), timeout=TIMEOUT), code, message)
    # A wrong token is still told so first.
    assert requests.get(sandbox_api("/shops"), timeout=TIMEOUT).status_code == 401
    sandbox_app.config[ACCOUNT_CONFIG] = AccountState.ACTIVE
    assert http.get(sandbox_api("/shops"), timeout=TIMEOUT).status_code == 200


def test_the_legacy_style_refuses_an_inactive_account_with_403(sandbox_app, http, sandbox_api):
    sandbox_app.config[ACCOUNT_CONFIG] = AccountState.INACTIVE
    response = http.get(sandbox_api("/shops"), timeout=TIMEOUT)
    assert (response.status_code, response.json()) == (
        403,
        {"status_code": 403, "code": 7002, "message": "Account is inactive."},
    )


def find_or_create(http, api, email: str) -> requests.Response:
    return http.get(api("/contacts/find-or-create"), params={"email": email}, timeout=TIMEOUT)


@pytest.mark.usefixtures("documented")
def test_find_or_create_is_refused_when_the_contact_limit_is_reached(
    sandbox_app, http, sandbox_api
):
    sandbox_app.config[CONTACT_LIMIT_CONFIG] = len(CONTACTS) + 1
    assert find_or_create(http, sandbox_api, "first.new@example.com").status_code == 200
    assert_refused(
        find_or_create(http, sandbox_api, "second.new@example.com"), 60000, "Usage limit reached."
    )
    # Nothing was made, and contacts that exist are still found.
    assert_refused(
        http.get(
            sandbox_api("/contacts/find-one-by"),
            params={"email": "second.new@example.com"},
            timeout=TIMEOUT,
        ),
        55031,
        "Contact not found.",
    )
    for email in ("first.new@example.com", "anna.devries@example.com"):
        assert find_or_create(http, sandbox_api, email).status_code == 200
    sandbox_app.config[CONTACT_LIMIT_CONFIG] = None
    assert find_or_create(http, sandbox_api, "second.new@example.com").status_code == 200


def test_the_legacy_style_refuses_a_contact_over_the_limit_with_403(sandbox_app, http, sandbox_api):
    sandbox_app.config[CONTACT_LIMIT_CONFIG] = len(CONTACTS)
    response = find_or_create(http, sandbox_api, "one.too.many@example.com")
    assert (response.status_code, response.json()) == (
        403,
        {"status_code": 403, "code": 60000, "message": "Usage limit reached."},
    )


# -- times: converted to UTC, or their offsets dropped ---------------------------------


@pytest.mark.parametrize(
    ("drop_offsets", "sent", "kept"),
    [
        (False, "2026-11-20T10:00:00+01:00", "2026-11-20T09:00:00+00:00"),
        (True, "2026-11-20T10:00:00+01:00", "2026-11-20T10:00:00+00:00"),
        (True, "2026-11-20T10:00:00-05:00", "2026-11-20T10:00:00+00:00"),
        (True, "2026-11-20T10:00:00Z", "2026-11-20T10:00:00+00:00"),
        (True, "2026-11-20T10:00:00", "2026-11-20T10:00:00+00:00"),
    ],
)
def test_a_times_offset_is_converted_or_dropped(
    sandbox_app, http, sandbox_api, drop_offsets, sent, kept
):
    sandbox_app.config[DROP_OFFSETS_CONFIG] = drop_offsets
    visit = new_visit(http, sandbox_api, starts_at=sent, ends_at=sent)
    assert (visit["starts_at"], visit["ends_at"]) == (kept, kept)
    moved = update(http, sandbox_api, visit["uuid"], starts_at=sent, ends_at=sent)
    assert (moved.json()["data"]["starts_at"], moved.json()["data"]["ends_at"]) == (kept, kept)
    shown = http.get(sandbox_api(f"/visits/{visit['uuid']}"), timeout=TIMEOUT).json()["data"]
    assert (shown["starts_at"], shown["ends_at"]) == (kept, kept)


def test_with_offsets_dropped_the_order_rule_sees_the_kept_times(sandbox_app, http, sandbox_api):
    # 10:00+01:00 is 09:00 UTC, before 09:30 UTC; its wall clock, 10:00, is after.
    times = {"starts_at": "2026-11-20T10:00:00+01:00", "ends_at": "2026-11-20T09:30:00+00:00"}
    assert create(http, sandbox_api, **times).status_code == 201
    sandbox_app.config[DROP_OFFSETS_CONFIG] = True
    assert_invalid(
        create(http, sandbox_api, **times),
        {"ends_at": ["The ends at field must be a date after or equal to starts at."]},
    )


@pytest.mark.parametrize("drop_offsets", [False, True], ids=["converted", "dropped"])
def test_an_omitted_start_is_the_moment_the_call_arrived(
    sandbox_app, http, sandbox_api, drop_offsets
):
    sandbox_app.config[DROP_OFFSETS_CONFIG] = drop_offsets
    before = datetime.now(UTC).replace(microsecond=0)
    visit = new_visit(http, sandbox_api)
    after = datetime.now(UTC)
    assert before <= datetime.fromisoformat(visit["starts_at"]) <= after
    assert visit["starts_at"] == visit["created_at"]
    assert visit["starts_at"].endswith("+00:00")


def test_the_switches_can_be_given_when_the_app_is_made(tmp_path):
    app = create_sandbox_app(
        str(tmp_path / "switched.sqlite3"), error_style="documented", drop_offsets=True
    )
    with serve_in_thread(app) as server, requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {DEFAULT_TOKEN}"
        api = server.base_url + API_PREFIX
        assert_refused(
            session.get(f"{api}/shops/{UNKNOWN}", timeout=TIMEOUT), 1008, "Shop not found."
        )
        created = session.post(
            f"{api}/visits",
            data={
                "contact_uuid": CONTACT_ANNA,
                "shop_uuid": SHOP_AMSTERDAM,
                "starts_at": "2026-11-20T10:00:00+01:00",
            },
            timeout=TIMEOUT,
        )
    assert created.json()["data"]["starts_at"] == "2026-11-20T10:00:00+00:00"
    with pytest.raises(ValueError, match="verbose"):
        create_sandbox_app(str(tmp_path / "other.sqlite3"), error_style="verbose")


# -- persistence, concurrency, transports -------------------------------------------


def test_data_survives_a_restart(sandbox_db, http, sandbox_api):
    visit = new_visit(http, sandbox_api, external_id="kept-1")
    contact = http.get(
        sandbox_api("/contacts/find-or-create"),
        params={"email": "kept@example.com"},
        timeout=TIMEOUT,
    ).json()["data"]

    restarted = create_sandbox_app(str(sandbox_db))  # seeds again: must change nothing
    with serve_in_thread(restarted) as server, requests.Session() as session:
        session.headers.update(sandbox_api.headers)
        api = server.base_url + API_PREFIX
        shown = session.get(f"{api}/visits/{visit['uuid']}", timeout=TIMEOUT)
        shops = session.get(f"{api}/shops", timeout=TIMEOUT).json()["data"]
        found = session.get(
            f"{api}/contacts/find-one-by", params={"email": "kept@example.com"}, timeout=TIMEOUT
        )
    assert shown.json()["data"] == visit
    assert len(shops) == len(SHOPS)
    assert found.json()["data"]["uuid"] == contact["uuid"]


def test_concurrent_creates_all_succeed(sandbox_api):
    def create_one(number: int) -> int:
        response = requests.post(
            sandbox_api("/visits"),
            headers=sandbox_api.headers,
            data={
                "contact_uuid": CONTACT_ANNA,
                "shop_uuid": SHOP_AMSTERDAM,
                "external_id": f"many-{number}",
            },
            timeout=TIMEOUT,
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=40) as pool:
        statuses = list(pool.map(create_one, range(40)))
    assert statuses == [201] * 40
    listed = requests.get(
        sandbox_api("/visits"), headers=sandbox_api.headers, params={"limit": 500}, timeout=TIMEOUT
    ).json()
    assert sorted(v["external_id"] for v in listed["data"]) == sorted(
        f"many-{n}" for n in range(40)
    )


def test_racing_creates_with_one_external_id_make_one_visit(sandbox_api):
    racers = 6

    def race(external_id: str) -> list[requests.Response]:
        start = threading.Barrier(racers, timeout=TIMEOUT)

        def one() -> requests.Response:
            start.wait()
            return requests.post(
                sandbox_api("/visits"),
                headers=sandbox_api.headers,
                data={
                    "contact_uuid": CONTACT_ANNA,
                    "shop_uuid": SHOP_AMSTERDAM,
                    "external_id": external_id,
                },
                timeout=TIMEOUT,
            )

        with ThreadPoolExecutor(max_workers=racers) as pool:
            return list(pool.map(lambda _: one(), range(racers)))

    for round_ in range(5):
        responses = race(f"same-{round_}")
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [201] + [422] * (racers - 1)
        for response in responses:
            if response.status_code == 422:
                assert response.json()["errors"] == {
                    "external_id": ["The external id has already been taken."]
                }
    listed = requests.get(
        sandbox_api("/visits"), headers=sandbox_api.headers, params={"limit": 500}, timeout=TIMEOUT
    ).json()
    assert listed["meta"]["total"] == 5


def test_a_session_keeps_one_connection(sandbox, sandbox_api, http):
    http.get(sandbox_api("/shops"), timeout=TIMEOUT)
    new_visit(http, sandbox_api)
    # Error answers, and a body the sandbox never reads (refused before reading),
    # must not break the connection either.
    http.get(sandbox_api(f"/shops/{UNKNOWN}"), timeout=TIMEOUT)
    refused = http.post(
        sandbox_api("/visits"),
        data={"source": "x" * 10_000},
        headers={"Authorization": "Bearer wrong"},
        timeout=TIMEOUT,
    )
    assert refused.status_code == 401
    assert http.get(sandbox_api("/shops"), timeout=TIMEOUT).status_code == 200
    assert sandbox.connections_accepted == 1


def test_stopping_does_not_wait_for_idle_or_unfinished_connections(sandbox_app):
    server = serve_in_thread(sandbox_app)
    url = server.base_url + API_PREFIX + "/shops"
    address = (urlsplit(url).hostname, urlsplit(url).port)
    with (
        socket.create_connection(address, timeout=TIMEOUT) as idle,
        socket.create_connection(address, timeout=TIMEOUT) as unfinished,
        requests.Session() as kept_alive,
    ):
        unfinished.sendall(b"GET /api/v3/oauth/clients/shops HTTP/1.1\r\nHost: sandbox\r\n")
        kept_alive.headers["Authorization"] = f"Bearer {DEFAULT_TOKEN}"
        assert kept_alive.get(url, timeout=TIMEOUT).status_code == 200
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 1
        # Each was closed by the server (an empty read), none left waiting.
        assert (idle.recv(1), unfinished.recv(1)) == (b"", b"")
        with pytest.raises(requests.ConnectionError):
            kept_alive.get(url, timeout=TIMEOUT)
    # Only a connection that sent a whole request counts.
    assert server.connections_accepted == 1


def test_a_call_being_answered_when_the_server_stops_gets_its_answer(sandbox, http, sandbox_api):
    sandbox.faults.inject(Fault(delay=0.3), path="/shops")
    with ThreadPoolExecutor(max_workers=1) as pool:
        answer = pool.submit(http.get, sandbox_api("/shops"), timeout=TIMEOUT)
        deadline = time.monotonic() + TIMEOUT
        while not sandbox.faults.faults_served and time.monotonic() < deadline:
            time.sleep(0.01)
        sandbox.stop()
        assert answer.result().status_code == 200


def test_a_committed_fault_makes_the_visit_whatever_the_answer(sandbox, http, sandbox_api):
    sandbox.faults.inject(Fault(commit=True, drop=True), method="POST")
    with pytest.raises(requests.ConnectionError):
        create(http, sandbox_api, external_id="dropped")
    sandbox.faults.inject(replace(MAINTENANCE_PAGE, commit=True), method="POST")
    replaced = create(http, sandbox_api, external_id="replaced")
    assert (replaced.status_code, replaced.headers["Content-Type"]) == (503, "text/html")
    made = {v["external_id"] for v in list_visits(http, sandbox_api)["data"]}
    assert made == {"dropped", "replaced"}


def test_any_wsgi_app_is_served_with_the_headers_it_was_sent():
    # The browser tests serve the portal itself, whose ProxyFix reads these.
    def echo(environ, start_response):
        body = environ.get("HTTP_X_FORWARDED_PROTO", "").encode()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body]

    with serve_in_thread(echo) as server:
        response = requests.get(
            server.base_url + "/", headers={"X-Forwarded-Proto": "https"}, timeout=TIMEOUT
        )
    assert response.text == "https"


# -- the in-process transport --------------------------------------------------------


@pytest.fixture
def in_process(sandbox_app) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.mount(IN_PROCESS_BASE_URL, SandboxAdapter(sandbox_app))
        session.headers.update({"Authorization": f"Bearer {DEFAULT_TOKEN}"})
        yield session


def test_the_in_process_adapter_answers_as_http_does(http, sandbox_api, in_process):
    local = IN_PROCESS_BASE_URL + API_PREFIX

    def both(method: str, path: str, **kwargs: Any) -> tuple[requests.Response, ...]:
        over_http = http.request(method, sandbox_api(path), timeout=TIMEOUT, **kwargs)
        in_proc = in_process.request(method, local + path, timeout=TIMEOUT, **kwargs)
        return over_http, in_proc

    for pair in (
        both("GET", "/shops"),
        both("GET", "/contacts/find-one-by", params={"email": "anna.devries@example.com"}),
        both("POST", "/visits", json={"contact_uuid": "anna", "starts_at": "soon"}),
        both("GET", "/contacts/find-one-by", params={"email": "nobody@example.com"}),
        both("DELETE", "/shops"),
    ):
        over_http, in_proc = pair
        assert in_proc.status_code == over_http.status_code
        assert in_proc.reason == over_http.reason
        assert in_proc.headers["Content-Type"] == over_http.headers["Content-Type"]
        assert in_proc.json() == over_http.json()

    bad_token = in_process.get(local + "/shops", headers={"Authorization": "Bearer no"})
    assert bad_token.status_code == 401

    for session, url in ((http, sandbox_api("/visits")), (in_process, local + "/visits")):
        created = session.post(
            url,
            json={
                "contact_uuid": CONTACT_BRAM,
                "shop_uuid": SHOP_WEBSHOP,
                "source": "Webshop",
                "starts_at": "2024-05-01T22:00:00+02:00",
            },
            timeout=TIMEOUT,
        )
        assert created.status_code == 201
        assert created.json()["data"]["contact"]["email"] == "bram.jansen@example.com"
        assert created.json()["data"]["starts_at"] == "2024-05-01T20:00:00+00:00"
    # Both wrote to the one database.
    assert list_visits(http, sandbox_api)["meta"]["total"] == 2


def test_the_in_process_response_is_a_complete_requests_response(in_process):
    url = f"{IN_PROCESS_BASE_URL}{API_PREFIX}/visits"
    response = in_process.put(f"{url}/{UNKNOWN}", data={"source": "é"})
    assert isinstance(response, requests.Response)
    assert (response.status_code, response.reason) == (404, "NOT FOUND")
    assert response.headers["content-type"] == "application/json"  # case-insensitive
    assert response.encoding is not None
    assert response.url == f"{url}/{UNKNOWN}"
    assert response.request.method == "PUT"
    assert response.elapsed >= timedelta(0)
    assert not response.ok
    with pytest.raises(requests.HTTPError):
        response.raise_for_status()
    # A form body and a query string both arrive.
    listed = in_process.get(url, params={"limit": "1", "contact_uuid": CONTACT_ANNA})
    assert listed.json()["meta"]["per_page"] == 1


# -- the command line ------------------------------------------------------------------


@dataclass
class CommandLineRun:
    process: subprocess.Popen
    base_url: str
    printed: list[str]  # every line of its stdout, complete once the run has ended


@contextmanager
def sandbox_process(db: Path, log: Path, *extra: str) -> Iterator[CommandLineRun]:
    """``python -m portal.leat_sandbox`` on a free port, once it has printed its URL."""
    env = {k: v for k, v in os.environ.items() if k != "LEAT_SANDBOX_TOKEN"}
    command = [sys.executable, "-m", "portal.leat_sandbox", "--port", "0", "--db", str(db)]
    with (
        log.open("w") as stderr,
        subprocess.Popen(
            [*command, *extra], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True
        ) as process,
    ):
        printed: list[str] = []
        fresh: queue.Queue[str] = queue.Queue()

        def read() -> None:
            for line in process.stdout:
                printed.append(line)
                fresh.put(line)

        reader = threading.Thread(target=read)
        reader.start()
        try:
            base_url = None
            while base_url is None:
                try:
                    line = fresh.get(timeout=TIMEOUT)
                except queue.Empty:
                    pytest.fail(f"no LEAT_BASE_URL line in {printed}; stderr: {log.read_text()}")
                if line.startswith("LEAT_BASE_URL="):
                    base_url = line.strip().partition("=")[2]
            yield CommandLineRun(process, base_url, printed)
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=TIMEOUT)
            reader.join(timeout=TIMEOUT)


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_the_command_line_serves_until_a_signal(tmp_path, stop_signal):
    db = tmp_path / "made-by-cli" / "sandbox.sqlite3"
    with sandbox_process(db, tmp_path / "stderr.log", "--token", "cli-token") as run:
        assert run.base_url.startswith("http://127.0.0.1:")
        response = requests.get(
            run.base_url + API_PREFIX + "/shops",
            headers={"Authorization": "Bearer cli-token"},
            timeout=TIMEOUT,
        )
        assert response.status_code == 200
        assert len(response.json()["data"]) == len(SHOPS)
        run.process.send_signal(stop_signal)
        assert run.process.wait(timeout=TIMEOUT) == 0
    assert db.exists()
    assert run.printed[-1] == "Leat sandbox stopped.\n"


def test_the_command_line_prints_lines_to_copy(tmp_path):
    with sandbox_process(tmp_path / "s.sqlite3", tmp_path / "stderr.log") as run:
        run.process.terminate()
        assert run.process.wait(timeout=TIMEOUT) == 0
    url = run.base_url
    assert f"LEAT_BASE_URL={url}\n" in run.printed
    assert f"LEAT_API_TOKEN={DEFAULT_TOKEN}\n" in run.printed
    assert (
        f"curl -H 'Authorization: Bearer {DEFAULT_TOKEN}' {url}{API_PREFIX}/shops\n" in run.printed
    )


def test_two_processes_can_write_one_database_at_once(sandbox_db, sandbox_api, tmp_path):
    # Demo mode runs a sandbox in every gunicorn worker, all on one file.
    with sandbox_process(sandbox_db, tmp_path / "stderr.log") as run:
        urls = [sandbox_api("/visits"), run.base_url + API_PREFIX + "/visits"]

        def create_one(number: int) -> int:
            return requests.post(
                urls[number // 10],
                headers=sandbox_api.headers,
                data={
                    "contact_uuid": CONTACT_ANNA,
                    "shop_uuid": SHOP_AMSTERDAM,
                    "external_id": f"both-{number % 10}",  # each id raced by two processes
                },
                timeout=TIMEOUT,
            ).status_code

        with ThreadPoolExecutor(max_workers=20) as pool:
            statuses = list(pool.map(create_one, range(20)))
        run.process.terminate()
        assert run.process.wait(timeout=TIMEOUT) == 0
    # Each id made once; the loser refused (400 from the documented command line, 422
    # from this test's legacy sandbox).
    assert statuses.count(201) == 10
    assert {status for status in statuses if status != 201} <= {400, 422}
    listed = requests.get(
        urls[0], headers=sandbox_api.headers, params={"limit": 500}, timeout=TIMEOUT
    ).json()
    assert listed["meta"]["total"] == 10


def test_the_command_line_takes_the_switches(tmp_path):
    switches = ("--error-style", "documented", "--drop-offsets")
    with sandbox_process(tmp_path / "s.sqlite3", tmp_path / "stderr.log", *switches) as run:
        with requests.Session() as session:
            session.headers["Authorization"] = f"Bearer {DEFAULT_TOKEN}"
            api = run.base_url + API_PREFIX
            missing = session.get(f"{api}/shops/{UNKNOWN}", timeout=TIMEOUT)
            created = session.post(
                f"{api}/visits",
                data={
                    "contact_uuid": CONTACT_ANNA,
                    "shop_uuid": SHOP_AMSTERDAM,
                    "starts_at": "2026-11-20T10:00:00+01:00",
                },
                timeout=TIMEOUT,
            )
        run.process.terminate()
        assert run.process.wait(timeout=TIMEOUT) == 0
    assert_refused(missing, 1008, "Shop not found.")
    assert created.json()["data"]["starts_at"] == "2026-11-20T10:00:00+00:00"
