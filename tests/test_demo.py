"""Demo mode: the portal runs against the in-process sandbox, with nothing to set up."""

from __future__ import annotations

from flask_migrate import upgrade
from helpers import make_portal, soup

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
