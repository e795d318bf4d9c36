"""Who gets in, and what they may touch: every check is on the server."""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import itsdangerous.timed
import jwt
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

import portal.auth.tokens
from portal.auth.launch import mint
from portal.database import db
from portal.leat_sandbox import seed
from portal.models import VisitRecord

VISIT = {
    "contact": "anna.devries@example.com",
    "date": "2026-05-01",
    "starts_at": "10:00",
    "source": "Portal",
}


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
    assert soup(response).find("html") is None
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


def clock_ahead(monkeypatch, seconds: float) -> None:
    """The clocks of launch-token checks (PyJWT's) and of used ids (tokens.py)
    ``seconds`` ahead: time passing without waiting for it."""

    class Ahead(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.now(tz) + timedelta(seconds=seconds)

        @classmethod
        def fromtimestamp(cls, timestamp, tz=None):
            return datetime.fromtimestamp(timestamp, tz)

    monkeypatch.setattr(jwt.api_jwt, "datetime", Ahead)
    monkeypatch.setattr(portal.auth.tokens, "datetime", Ahead)


def test_a_used_link_stays_used_for_as_long_as_it_could_be_accepted(app, monkeypatch):
    # Issued 295 s ago with a 300 s lifetime: exp is 5 s from now.
    path = launch_path_at(time.time() - 295)
    assert app.test_client().get(path).status_code == 303  # used before exp
    clock_ahead(monkeypatch, 5 + 25)  # exp + 25 s: within the 30 s leeway
    replay = app.test_client().get(path)
    assert replay.status_code == 401
    assert "already been used" in replay.text
    clock_ahead(monkeypatch, 5 + 31)  # past the leeway: refused for what it is now
    assert "expired" in app.test_client().get(path).text


def launch_path_at(issued: float) -> str:
    """A launch link issued at ``issued`` (seconds since 1970), valid 300 s from then."""
    token = mint(LAUNCH_SECRET, manager_id="anna@example.com", name="Anna", shops=["*"], now=issued)
    return f"/launch?token={token}"


def signed_token(**overrides) -> str:
    """A launch token with the portal's secret and the given claims in place of a
    good one's (None leaves a claim out)."""
    now = int(time.time())
    claims = {
        "sub": "anna@example.com",
        "name": "Anna",
        "shops": ["*"],
        "iat": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
        **overrides,
    }
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, LAUNCH_SECRET)


def assert_refused(response) -> None:
    """The sign-in refused page: 401, and what to do."""
    assert response.status_code == 401
    assert "This sign-in link is not valid." in text(response)
    assert soup(response).h1.get_text() == "You are not signed in"


@pytest.mark.parametrize("claim", ["sub", "name", "jti"])
def test_a_claim_too_long_to_store_is_refused_at_sign_in(app, claim):
    browser = app.test_client()
    assert_refused(browser.get(f"/launch?token={signed_token(**{claim: 'x' * 256})}"))
    assert browser.get("/visits").status_code == 401
    with app.app_context():
        assert db.session.scalar(db.text("select count(*) from used_launch_tokens")) == 0


def test_the_longest_claims_that_fit_sign_in_and_record_a_visit(app):
    # What the columns hold (255) must work end to end on every database.
    longest = {"sub": f"{'a' * 243}@example.com", "name": "N" * 255, "jti": "j" * 255}
    browser = app.test_client()
    assert browser.get(f"/launch?token={signed_token(**longest)}").status_code == 303
    assert create(browser, seed.SHOP_UTRECHT).status_code == 200
    with app.app_context():
        record = db.session.scalar(db.select(VisitRecord))
        assert (record.created_by, record.created_by_name) == (longest["sub"], longest["name"])


@pytest.mark.parametrize("claim", ["sub", "name", "jti"])
def test_a_claim_with_a_nul_is_refused_at_sign_in(app, claim):
    # PostgreSQL refuses NUL in text: it must never reach the database.
    token = signed_token(**{claim: "an\x00na"})
    assert_refused(app.test_client().get(f"/launch?token={token}"))


@pytest.mark.parametrize(
    "shops",
    [["*", seed.SHOP_UTRECHT], [seed.SHOP_UTRECHT, "*"], [seed.SHOP_UTRECHT.upper()], ["Utrecht"]],
)
def test_shops_other_than_every_shop_or_uuids_are_a_malformed_link(app, shops):
    browser = app.test_client()
    assert_refused(browser.get(f"/launch?token={signed_token(shops=shops)}"))
    assert browser.get("/visits").status_code == 401


# -- audience and issuer ------------------------------------------------------------------

PORTAL_AUDIENCE = "https://visits.example.com"
INTRANET_ISSUER = "https://intranet.example.com"


@pytest.fixture
def expecting_app(tmp_path, sandbox, database_url):
    """A portal configured to expect an audience and an issuer."""
    config = portal_config(tmp_path, database_url, sandbox)
    config["PORTAL_LAUNCH_AUDIENCE"] = PORTAL_AUDIENCE
    config["PORTAL_LAUNCH_ISSUER"] = INTRANET_ISSUER
    with portal_app(config) as portal:
        yield portal


def test_a_configured_audience_and_issuer_let_the_right_link_in(expecting_app):
    token = signed_token(aud=PORTAL_AUDIENCE, iss=INTRANET_ISSUER)
    browser = expecting_app.test_client()
    assert browser.get(f"/launch?token={token}").status_code == 303
    assert browser.get("/visits").status_code == 200


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": None, "iss": INTRANET_ISSUER},
        {"aud": "https://other.example.com", "iss": INTRANET_ISSUER},
        {"aud": PORTAL_AUDIENCE, "iss": None},
        {"aud": PORTAL_AUDIENCE, "iss": "https://other.example.com"},
    ],
)
def test_a_configured_audience_and_issuer_keep_other_links_out(expecting_app, claims):
    assert_refused(expecting_app.test_client().get(f"/launch?token={signed_token(**claims)}"))


def test_unconfigured_neither_audience_nor_issuer_is_needed(app):
    assert app.test_client().get(f"/launch?token={signed_token()}").status_code == 303
    assert app.test_client().get(f"/launch?token={signed_token(iss='x')}").status_code == 303


def test_the_cli_link_carries_the_configured_audience_and_issuer(expecting_app):
    result = expecting_app.test_cli_runner().invoke(
        args=["launch-link", "--manager", "m", "--all-shops"]
    )
    link = result.output.strip().removeprefix("http://127.0.0.1:8000")
    assert expecting_app.test_client().get(link).status_code == 303


# -- sign-in by POST (a manager of many shops) ------------------------------------------------


def test_the_intranet_may_post_the_token_without_a_csrf_token(app):
    token = mint(LAUNCH_SECRET, manager_id="anna@example.com", name="Anna", shops=["*"])
    browser = app.test_client()
    response = browser.post("/launch", data={"token": token})
    assert response.status_code == 303
    assert response.headers["Location"] == "/visits"
    assert browser.get("/visits").status_code == 200
    # The same token, used once, whichever way it comes.
    assert "already been used" in app.test_client().get(f"/launch?token={token}").text


def test_a_posted_token_is_checked_as_a_link_is(app, caplog):
    forged = mint("another-secret-of-enough-length-000000", manager_id="x", name="X", shops=["*"])
    browser = app.test_client()
    assert_refused(browser.post("/launch", data={"token": forged}))
    assert_refused(browser.post("/launch", data={}))
    assert_refused(
        browser.post("/launch", data={"token": signed_token(shops=["*", seed.SHOP_UTRECHT])})
    )
    assert browser.get("/visits").status_code == 401
    assert forged not in caplog.text


def test_a_manager_of_500_shops_signs_in_by_post_and_records_a_visit(app):
    # 500 uuids make a token of ~27 KB: far over a request line (gunicorn: 4094 bytes).
    shops = [seed.SHOP_UTRECHT, *(str(uuid.uuid4()) for _ in range(499))]
    token = mint(LAUNCH_SECRET, manager_id="regional@example.com", name="Regina", shops=shops)
    assert len(f"GET /launch?token={token} HTTP/1.1") > 4094
    everyone = signed_in(app, name="Bob", manager_id="bob@example.com")
    assert create(everyone, seed.SHOP_AMSTERDAM, source="Amsterdam till").status_code == 200

    regional = app.test_client()
    assert regional.post("/launch", data={"token": token}).status_code == 303
    page = regional.get("/visits")
    options = [
        o["value"]
        for o in soup(page).select("#create-visit select[name=shop] option")
        if o.get("value")
    ]
    assert options == [seed.SHOP_UTRECHT]  # of Leat's shops, only the manager's own
    assert create(regional, seed.SHOP_UTRECHT, source="Utrecht till").status_code == 200
    assert create(regional, seed.SHOP_AMSTERDAM).status_code == 403
    listed = text(regional.get("/visits"))
    assert "Utrecht till" in listed
    assert "Amsterdam till" not in listed
    with app.app_context():
        mine = db.session.scalar(
            db.select(VisitRecord).where(VisitRecord.created_by == "regional@example.com")
        )
        assert mine.shop_uuid == seed.SHOP_UTRECHT


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
    assert soup(page).find(id=f"visit-{utrecht_visit}") is None
    everything = signed_in(app).get("/visits").text
    assert "Utrecht till" in everything
    assert "Amsterdam till" in everything


def test_every_create_and_edit_records_who_did_it(app, utrecht_visit):
    boss = signed_in(app, name="Bob", manager_id="bob@example.com")
    response = save_visit(
        boss, utrecht_visit, date="2026-05-01", starts_at="10:00", source="Corrected"
    )
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
