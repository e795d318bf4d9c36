"""Who gets in, and what they may touch: every check is on the server."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from types import SimpleNamespace

import itsdangerous.timed
import pytest
from helpers import (
    HTMX,
    LAUNCH_SECRET,
    csrf_token,
    editor_fields,
    launch_path,
    portal_app,
    portal_config,
    post_visit,
    save_visit,
    signed_in,
    soup,
    text,
)

from portal.auth.launch import mint
from portal.database import db
from portal.leat_sandbox import seed
from portal.models import VisitRecord

VISIT = {"contact": "anna.devries@example.com", "starts_at": "2026-05-01T10:00", "source": "Portal"}


def create(client, shop, **extra):
    return post_visit(client, **{**VISIT, "shop": shop, **extra})


# -- no session ------------------------------------------------------------------------


def test_without_a_session_a_page_says_how_to_sign_in(anonymous):
    response = anonymous.get("/visits")
    assert response.status_code == 401
    assert "Open the visits portal from your company intranet" in response.text
    assert "Location" not in response.headers


def test_without_a_session_an_htmx_request_gets_a_fragment(anonymous):
    response = anonymous.post("/visits", data={"contact": "x"}, headers=HTMX)
    assert response.status_code == 401
    assert "<html" not in response.text
    assert "session has ended" in response.text
    assert response.headers["HX-Retarget"] == "#alerts"


@pytest.mark.parametrize(
    "path", ["/visits", "/", "/visits/3f0c6a42-9d1b-4c1e-8f7e-2a4b5c6d7e8f/edit"]
)
def test_no_page_without_a_session(anonymous, path):
    assert anonymous.get(path).status_code == 401


def test_health_and_static_files_need_no_session(anonymous):
    assert anonymous.get("/healthz").status_code == 200
    with anonymous.get("/static/css/portal.css") as response:
        assert response.status_code == 200


# -- launch ------------------------------------------------------------------------------


def test_a_launch_link_works_once(app):
    path = launch_path()
    first, second = app.test_client(), app.test_client()
    assert first.get(path).status_code == 303
    replay = second.get(path)
    assert replay.status_code == 401
    assert "already been used" in replay.text
    assert second.get("/visits").status_code == 401


def test_a_refused_link_leaks_nothing(app, caplog):
    forged = mint("another-secret-of-enough-length-000000", manager_id="x", name="X", shops=["*"])
    response = app.test_client().get(f"/launch?token={forged}")
    assert response.status_code == 401
    assert "This sign-in link is not valid." in response.text
    assert forged not in response.text
    assert LAUNCH_SECRET not in response.text
    assert "Signature" not in response.text
    assert forged not in caplog.text
    assert "launch link refused: invalid token" in caplog.text


def test_used_ids_are_forgotten_once_expired(app):
    assert app.test_client().get(launch_path()).status_code == 303
    with app.app_context():
        db.session.execute(
            db.update(db.metadata.tables["used_launch_tokens"]).values(
                expires_at=datetime(2000, 1, 1, tzinfo=UTC)
            )
        )
        db.session.commit()
    assert app.test_client().get(launch_path()).status_code == 303
    with app.app_context():
        count = db.session.scalar(db.text("select count(*) from used_launch_tokens"))
    assert count == 1


def test_sign_out_ends_the_session(client):
    response = client.post("/sign-out", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 303
    assert client.get(response.headers["Location"]).status_code == 200
    assert client.get("/visits").status_code == 401


def test_sign_out_needs_the_csrf_token(client):
    assert client.post("/sign-out").status_code == 400
    assert client.get("/visits").status_code == 200


def test_the_cli_prints_a_working_link(app):
    result = app.test_cli_runner().invoke(
        args=["launch-link", "--manager", "bob@example.com", "--shop", seed.SHOP_UTRECHT]
    )
    assert result.exit_code == 0, result.output
    link = result.output.strip()
    assert link.startswith("http://127.0.0.1:8000/launch?token=")
    client = app.test_client()
    assert client.get(link.removeprefix("http://127.0.0.1:8000")).status_code == 303
    page = client.get("/visits").text
    assert "Utrecht Oudegracht" in page
    assert "Amsterdam Centrum" not in page


def test_the_cli_wants_shops_or_all_shops(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["launch-link", "--manager", "m"]).exit_code != 0
    both = ["launch-link", "--manager", "m", "--all-shops", "--shop", seed.SHOP_UTRECHT]
    assert runner.invoke(args=both).exit_code != 0
    result = runner.invoke(
        args=["launch-link", "--manager", "m", "--all-shops", "--base-url", "https://p.example"]
    )
    assert result.output.startswith("https://p.example/launch?token=")


# -- per-shop access ----------------------------------------------------------------------


@pytest.fixture
def utrecht_visit(app):
    """A visit recorded at Utrecht by a manager of that shop: its record's id."""
    utrecht = signed_in(app, seed.SHOP_UTRECHT, name="Ursula", manager_id="ursula@example.com")
    assert create(utrecht, seed.SHOP_UTRECHT, source="Utrecht till").status_code == 200
    with app.app_context():
        return db.session.scalar(db.select(VisitRecord.id))


def test_the_shop_select_offers_only_the_managers_shops(app):
    page = soup(signed_in(app, seed.SHOP_AMSTERDAM, seed.SHOP_WEBSHOP).get("/visits"))
    for form in ("#create-visit", "#find-visits"):  # recording, and finding
        select = page.select_one(f"{form} select[name=shop]")
        options = [option["value"] for option in select.select("option") if option.get("value")]
        assert options == [seed.SHOP_AMSTERDAM, seed.SHOP_WEBSHOP]


def test_creating_for_another_shop_is_forbidden(app, sandbox_leat):
    amsterdam = signed_in(app, seed.SHOP_AMSTERDAM)
    response = create(amsterdam, seed.SHOP_UTRECHT)
    assert response.status_code == 403
    assert sandbox_leat.list_visits().total == 0


def test_another_shops_visit_does_not_exist_for_this_manager(app, utrecht_visit):
    amsterdam = signed_in(app, seed.SHOP_AMSTERDAM)
    assert amsterdam.get(f"/visits/{utrecht_visit}/edit", headers=HTMX).status_code == 404
    assert amsterdam.get(f"/visits/{utrecht_visit}/edit").status_code == 404
    assert amsterdam.get(f"/visits/{utrecht_visit}", headers=HTMX).status_code == 404
    data = editor_fields(utrecht_visit, csrf_token=csrf_token(amsterdam), source="hijacked")
    assert amsterdam.put(f"/visits/{utrecht_visit}", data=data, headers=HTMX).status_code == 404
    assert amsterdam.post(f"/visits/{utrecht_visit}", data=data).status_code == 404


def test_the_list_never_shows_another_shops_visit(app, utrecht_visit):
    amsterdam = signed_in(app, seed.SHOP_AMSTERDAM)
    assert create(amsterdam, seed.SHOP_AMSTERDAM, source="Amsterdam till").status_code == 200
    page = amsterdam.get("/visits").text
    assert "Amsterdam till" in page
    assert "Utrecht till" not in page
    assert f'id="visit-{utrecht_visit}"' not in page
    everything = signed_in(app).get("/visits").text
    assert "Utrecht till" in everything
    assert "Amsterdam till" in everything


def test_every_create_and_edit_records_who_did_it(app, utrecht_visit):
    boss = signed_in(app, name="Bob", manager_id="bob@example.com")
    response = save_visit(boss, utrecht_visit, starts_at="2026-05-01T10:00", source="Corrected")
    assert response.status_code == 200
    assert "by Ursula" in text(response)
    assert re.search(r"edited by Bob, \d\d:\d\d", text(response))
    with app.app_context():
        record = db.session.scalar(db.select(VisitRecord))
        assert (record.created_by, record.created_by_name) == ("ursula@example.com", "Ursula")
        assert (record.updated_by, record.updated_by_name) == ("bob@example.com", "Bob")
        assert record.edited_at is not None


# -- cookies and headers --------------------------------------------------------------------


def session_cookie(response, *attributes: str) -> str:
    """The session cookie an answer sets, checked to carry each of ``attributes``."""
    (cookie,) = [c for c in response.headers.getlist("Set-Cookie") if "portal-session" in c]
    assert cookie.startswith("__Host-portal-session=")
    for attribute in attributes:
        assert attribute in cookie
    return cookie


def test_the_session_cookie_on_its_own_site(app):
    signed = app.test_client().get(launch_path())
    cookie = session_cookie(signed, "Secure", "HttpOnly", "Path=/", "SameSite=Lax")
    assert "Partitioned" not in cookie
    assert "Domain" not in cookie
    expires = re.search(r"Expires=([^;]+)", cookie).group(1)
    lifetime = datetime.strptime(expires, "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=UTC)
    assert 7.9 * 3600 < (lifetime - datetime.now(UTC)).total_seconds() <= 8 * 3600


@pytest.fixture
def embedded_app(tmp_path, sandbox, database_url):
    config = portal_config(tmp_path, database_url, sandbox)
    config["PORTAL_FRAME_ANCESTORS"] = ("https://intranet.example",)
    config["PORTAL_SESSION_HOURS"] = 2
    with portal_app(config) as portal:
        yield portal


def test_the_session_cookie_inside_a_cross_site_frame(embedded_app):
    signed = embedded_app.test_client().get(launch_path())
    session_cookie(signed, "Secure", "HttpOnly", "SameSite=None", "Partitioned")


def test_frame_ancestors_when_embedding_is_configured(embedded_app):
    response = embedded_app.test_client().get("/healthz")
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self' https://intranet.example" in policy
    assert "X-Frame-Options" not in response.headers


def test_only_self_may_frame_the_portal_by_default(anonymous):
    response = anonymous.get("/healthz")
    assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_https_behind_the_router_is_seen_as_https(anonymous):
    plain = anonymous.get("/healthz")
    assert "Strict-Transport-Security" not in plain.headers
    routed = anonymous.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert routed.headers["Strict-Transport-Security"].startswith("max-age=")


def test_csrf_keeps_working_for_the_whole_session(client, app, monkeypatch):
    token = csrf_token(client)
    later = time.time() + 7 * 3600  # an hour is flask-wtf's default limit
    monkeypatch.setattr(itsdangerous.timed, "time", SimpleNamespace(time=lambda: later))
    data = {"csrf_token": token, "contact": "anna.devries@example.com", "shop": seed.SHOP_WEBSHOP}
    assert client.post("/visits", data=data, headers=HTMX).status_code == 200
    assert app.config["WTF_CSRF_TIME_LIMIT"] == 8 * 3600
