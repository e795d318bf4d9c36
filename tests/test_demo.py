"""Demo mode: the portal runs against the in-process sandbox, with nothing to set up."""

from __future__ import annotations

from flask_migrate import upgrade
from helpers import browser_at, make_portal, soup

from portal.database import enable_migrations
from portal.leat.binding import leat
from portal.leat_sandbox import seed


def demo_app(instance):
    return make_portal({"INSTANCE_PATH": instance, "PORTAL_DEMO": True})


def test_demo_mode_answers_leat_calls_from_the_in_process_sandbox(tmp_path):
    app = demo_app(tmp_path)
    with app.app_context():
        shops = leat().list_shops()
    assert seed.SHOP_AMSTERDAM in {shop.uuid for shop in shops}
    assert (tmp_path / "leat-sandbox.sqlite3").exists()


def test_demo_data_survives_a_restart(tmp_path):
    with demo_app(tmp_path).app_context():
        visit = leat().create_visit(contact_uuid=seed.CONTACT_ANNA, shop_uuid=seed.SHOP_UTRECHT)
    with demo_app(tmp_path).app_context():
        assert leat().get_visit(visit.uuid) == visit


def test_the_visits_page_shows_demo_mode_and_the_sandbox_shops(tmp_path):
    app = demo_app(tmp_path)
    enable_migrations(app)
    with app.app_context():
        upgrade()
    browser = app.test_client()
    refused = browser.get("/visits")
    assert refused.status_code == 401
    demo_link = soup(refused).select_one('a[href^="http://localhost/launch?token="]')
    link = demo_link["href"].removeprefix("http://localhost")
    assert browser.get(link).status_code == 303
    response = browser.get("/visits")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Demo mode" in page
    assert "Amsterdam Centrum" in page


def demo_links(page) -> list[str]:
    return [a["href"] for a in soup(page).select('a[href*="/launch?token="]')]


def test_the_all_shops_link_is_offered_on_the_demos_own_machine_only(tmp_path):
    app = demo_app(tmp_path)
    for address in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
        here = browser_at(app, address)
        assert demo_links(here.get("/visits")), address
        assert demo_links(here.get("/signed-out")), address
    for address in ("203.0.113.7", "10.0.0.5", "2001:db8::1"):
        elsewhere = browser_at(app, address)
        refused = elsewhere.get("/visits")
        assert refused.status_code == 401
        assert "Open the visits portal from your company intranet" in refused.text
        assert demo_links(refused) == [], address
        assert demo_links(elsewhere.get("/signed-out")) == [], address


def test_behind_a_proxy_the_client_it_names_decides(tmp_path):
    # PORTAL_PROXY_HOPS=1 (the default): the router connects from loopback, and its
    # X-Forwarded-For names the client: a visitor from elsewhere gets no link.
    app = demo_app(tmp_path)
    router = browser_at(app, "127.0.0.1")
    forwarded = {"X-Forwarded-For": "203.0.113.7"}
    assert demo_links(router.get("/visits", headers=forwarded)) == []
    assert demo_links(router.get("/signed-out", headers=forwarded)) == []
    assert demo_links(router.get("/visits", headers={"X-Forwarded-For": "127.0.0.1"}))
