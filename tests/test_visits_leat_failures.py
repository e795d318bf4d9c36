"""Every class of Leat failure, on create and on save: a message a manager understands,
and nothing they typed lost. Leat's answers come from ``responses`` here, since these
are faults the sandbox does not produce."""

from __future__ import annotations

import re
import shutil

import pytest
import requests
import responses

from portal import create_app
from portal.auth.launch import mint
from portal.extensions import db
from portal.models import VisitRecord

BASE = "https://leat.test"
API = BASE + "/api/v3/oauth/clients"
SHOP = "dc1a363c-e073-44cd-afb2-df64988729bd"
CONTACT = "03a090a3-adb1-4e9b-a56d-2fbb81375793"
VISIT = "bfada889-2b4e-4bd9-9c2e-0c5a1f6b2f10"
HTMX = {"HX-Request": "true"}
LAUNCH_SECRET = "l" * 32

FAILURES = {
    "token": (
        {"status": 401, "json": {"message": "Unauthenticated."}},
        502,
        "token is invalid or expired",
    ),
    "maintenance": (
        {"status": 503, "body": "<html>Be right back</html>"},
        503,
        "down for maintenance",
    ),
    "rate-limited": (
        {"status": 429, "body": "", "headers": {"Retry-After": "30"}},
        429,
        "too many requests. Try again in 30 seconds",
    ),
    "server-error": ({"status": 500, "body": "oops"}, 502, "having trouble (error 500)"),
    "unreachable": ({"body": requests.ConnectionError("refused")}, 502, "could not be reached"),
    "timeout": ({"body": requests.ReadTimeout("slow")}, 502, "could not be reached"),
    "malformed": ({"status": 200, "body": '{"data": {"uuid": "x",},}'}, 502, "could not read"),
    "not-found": ({"status": 404, "json": {"message": "Gone"}}, 404, "does not know this item"),
}


@pytest.fixture
def app(tmp_path, migrated_database):
    database = tmp_path / "portal.sqlite3"
    shutil.copy(migrated_database, database)
    portal = create_app(
        {
            "INSTANCE_PATH": tmp_path / "instance",
            "LEAT_API_TOKEN": "t",
            "LEAT_BASE_URL": BASE,
            "SECRET_KEY": "k",
            "PORTAL_LAUNCH_SECRET": LAUNCH_SECRET,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
        }
    )
    yield portal
    with portal.app_context():
        db.engine.dispose()


@pytest.fixture
def leat():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        shop = {"uuid": SHOP, "name": "Amsterdam Centrum", "type": "physical"}
        mock.get(API + "/shops", json={"data": [shop], "meta": {}})
        yield mock


def signed_in(app):
    client = app.test_client()
    token = mint(LAUNCH_SECRET, manager_id="anna@example.com", name="Anna", shops=["*"])
    assert client.get(f"/launch?token={token}").status_code == 303
    return client


def csrf_token(client) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get("/visits").text).group(1)


@pytest.mark.parametrize("failure", FAILURES)
def test_a_failed_create_explains_and_keeps_every_value(app, leat, failure):
    answer, status, message = FAILURES[failure]
    leat.post(API + "/visits", **answer)
    client = signed_in(app)
    data = {
        "csrf_token": csrf_token(client),
        "contact": CONTACT,
        "shop": SHOP,
        "starts_at": "2026-05-01T10:00",
        "ends_at": "2026-05-01T11:00",
        "source": "Till 3",
        "external_id": "till-77",
    }
    response = client.post("/visits", data=data, headers=HTMX)
    assert response.status_code == status
    page = response.text
    assert message in page
    assert 'role="alert"' in page
    for value in (CONTACT, "2026-05-01T10:00", "2026-05-01T11:00", "Till 3", "till-77"):
        assert f'value="{value}"' in page
    assert f'<option selected value="{SHOP}">' in page
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(VisitRecord.id))) == 0


@pytest.mark.parametrize("failure", FAILURES)
def test_a_failed_save_explains_in_the_row_and_keeps_every_value(app, leat, failure):
    answer, status, message = FAILURES[failure]
    snapshot = {
        "uuid": VISIT,
        "contact": {"uuid": CONTACT, "email": "anna@example.com"},
        "source": "Till",
        "external_id": "till-1",
        "starts_at": "2026-05-01T08:00:00+00:00",
        "ends_at": None,
        "created_at": "2026-05-01T08:00:00+00:00",
    }
    with app.app_context():
        record = VisitRecord(shop_uuid=SHOP, contact_uuid=CONTACT)
        record.leat_uuid, record.snapshot = VISIT, snapshot
        db.session.add(record)
        db.session.commit()
    leat.put(f"{API}/visits/{VISIT}", **answer)
    client = signed_in(app)
    prefix = f"visit-{VISIT}-"
    data = {
        prefix + "csrf_token": csrf_token(client),
        prefix + "starts_at": "2026-05-01T10:00",
        prefix + "ends_at": "2026-05-01T12:00",
        prefix + "source": "Till 6",
        prefix + "external_id": "till-1",
    }
    response = client.put(f"/visits/{VISIT}", data=data, headers=HTMX)
    assert response.status_code == status
    page = response.text
    assert page.lstrip().startswith(f'<tr id="visit-{VISIT}"')
    assert message in page
    for value in ("2026-05-01T12:00", "Till 6"):
        assert f'value="{value}"' in page
    with app.app_context():
        assert db.session.get(VisitRecord, 1).snapshot["source"] == "Till"


def test_shops_that_cannot_be_loaded_are_explained_on_the_page(app):
    with responses.RequestsMock() as mock:
        mock.get(API + "/shops", status=503, body="maintenance")
        page = signed_in(app).get("/visits")
    assert page.status_code == 200
    assert "The list of shops could not be loaded. Leat is down for maintenance" in page.text
