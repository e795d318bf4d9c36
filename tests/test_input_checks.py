"""Every value a request carries is checked before it reaches the database: what does
not fit is a 4xx with the portal's words, never a 500 (PostgreSQL refuses NUL in text,
text longer than its column, and integers beyond its own; SQLite refuses none of it, so
CI runs this file on both)."""

from __future__ import annotations

import re

import pytest
from helpers import (
    A_VISIT,
    HTMX,
    csrf_token,
    error_under,
    only_record,
    post_visit,
    save_visit,
    soup,
    text,
)

from portal.database import db
from portal.leat_sandbox import seed
from portal.models import VisitRecord

VISIT = {**A_VISIT, "source": "Portal"}
NUL = "\x00"


def record_count(app) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count(VisitRecord.id)))


def assert_message(response, status: int, words: str) -> None:
    """An error answer in the portal's words: in the message area for htmx, a page
    with the status and a way back otherwise."""
    assert response.status_code == status
    assert words in text(response)
    if response.request.headers.get("HX-Request"):
        assert response.headers["HX-Retarget"] == "#alerts"
        assert soup(response).find("html") is None
    else:
        assert soup(response).find("h1") is not None


# -- the create form ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("contact", f"anna{NUL}@example.com", "control characters"),
        ("contact", f"{NUL}{seed.CONTACT_ANNA}", "control characters"),
        ("source", f"Till{NUL}5", "control characters"),
        ("external_id", f"till{NUL}", "control characters"),
        ("source", "Till\x1b[31m", "control characters"),
        ("contact", f"{'a' * 244}@example.com", "255"),
        ("source", "x" * 256, "255"),
        ("external_id", "x" * 256, "255"),
    ],
)
def test_the_create_form_refuses_text_the_database_cannot_hold(client, app, name, value, words):
    response = post_visit(client, **{**VISIT, name: value})
    assert response.status_code == 422
    assert words in error_under(response, name)
    assert record_count(app) == 0


@pytest.mark.parametrize("name", ["shop", "date", "starts_at", "ends_at"])
def test_a_nul_in_the_shop_or_a_time_is_refused(client, app, name):
    response = post_visit(client, **{**VISIT, name: f"{VISIT.get(name, '2026')}{NUL}"})
    assert response.status_code == 422
    assert error_under(response, name)
    assert record_count(app) == 0


@pytest.mark.parametrize(
    "key",
    [
        "x" * 100,  # longer than the column (64)
        "a" * 64,  # fits the column, but no key the portal makes
        NUL * 32,
        "0123456789ABCDEF0123456789ABCDEF",
        "not-a-key",
        "g" * 32,
    ],
)
def test_a_submission_key_the_portal_did_not_make_is_ignored(client, app, key):
    response = post_visit(client, **VISIT, submission_key=key)
    assert response.status_code == 200
    stored = only_record(app).submission_key
    assert re.fullmatch(r"[0-9a-f]{32}", stored)
    assert stored != key


def test_a_good_submission_key_still_makes_one_visit_of_two_sends(client, app):
    key = "0123456789abcdef0123456789abcdef"
    assert post_visit(client, **VISIT, submission_key=key).status_code == 200
    assert post_visit(client, **VISIT, submission_key=key).status_code == 200
    assert only_record(app).submission_key == key


# -- the row editor -------------------------------------------------------------------------


@pytest.fixture
def recorded(client, app) -> int:
    assert post_visit(client, **VISIT, external_id="till-1").status_code == 200
    return only_record(app).id


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("source", f"Till{NUL}", "control characters"),
        ("external_id", f"{NUL}till-2", "control characters"),
        ("source", "x" * 256, "255"),
        ("external_id", "x" * 256, "255"),
    ],
)
@pytest.mark.parametrize("htmx", [True, False])
def test_the_row_editor_refuses_text_the_database_cannot_hold(
    client, app, recorded, name, value, words, htmx
):
    fields = {"date": "2026-05-01", "starts_at": "10:00", "source": "Portal"}
    fields["external_id"] = "till-1"
    response = save_visit(client, recorded, htmx=htmx, **{**fields, name: value})
    assert response.status_code == 422
    assert words in error_under(response, f"visit-{recorded}-{name}")
    record = only_record(app)
    assert (record.external_id, record.pending) == ("till-1", None)


# -- numbers in the address --------------------------------------------------------------------

NOT_A_PAGE = ["99999999999999999999", "1000000001", "-1", "0", "abc", "1e3", "\uff11", " 1"]


@pytest.mark.parametrize("page", NOT_A_PAGE)
@pytest.mark.parametrize("htmx", [True, False])
def test_a_page_number_that_is_no_page_is_not_found(client, page, htmx):
    response = client.get("/visits", query_string={"page": page}, headers=HTMX if htmx else {})
    assert_message(response, 404, "This visit or page does not exist")


def test_real_page_numbers_still_work(client, recorded):
    for page in ("1", "", "2", "1000000000"):  # past the last page: an empty page, as before
        assert client.get("/visits", query_string={"page": page}).status_code == 200


@pytest.mark.parametrize("record_id", ["99999999999999999999", "2147483648"])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/visits/{}/edit"),
        ("GET", "/visits/{}"),
        ("PUT", "/visits/{}"),
        ("POST", "/visits/{}"),
        ("POST", "/visits/{}/retry"),
        ("POST", "/visits/{}/record-again"),
        ("POST", "/visits/{}/set-aside"),
    ],
)
@pytest.mark.parametrize("htmx", [True, False])
def test_a_record_id_beyond_the_database_is_not_found(client, record_id, method, path, htmx):
    response = client.open(
        path.format(record_id),
        method=method,
        data={"csrf_token": csrf_token(client)} if method != "GET" else None,
        headers=HTMX if htmx else {},
    )
    assert_message(response, 404, "This visit or page does not exist")


def test_the_largest_record_id_the_database_holds_is_simply_unknown(client):
    response = client.get("/visits/2147483647/edit", headers=HTMX)
    assert_message(response, 404, "This visit or page does not exist")
