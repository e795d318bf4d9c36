"""Languages: which one the portal speaks (the launch link's ``locale`` claim, else the
browser's Accept-Language, else PORTAL_DEFAULT_LOCALE), and the portal in Dutch:
its words, Leat's refusals in the portal's words, dates, times and counts.
"""

from __future__ import annotations

import pytest
from helpers import (
    HTMX,
    LAUNCH_SECRET,
    cell,
    csrf_token,
    error_under,
    portal_app,
    portal_config,
    post_visit,
    row,
    soup,
    text,
)

from portal.auth.launch import mint
from portal.config import ConfigError, check, from_environ
from portal.leat_sandbox import Fault, seed

DUTCH = {"Accept-Language": "nl-NL,nl;q=0.9,en;q=0.8"}
ENGLISH = {"Accept-Language": "en-GB,en;q=0.9"}
FROZEN = Fault(
    status=400,
    body='{"message": "Visits are frozen for this shop.", "code": 77001, "status_code": 400}',
)
# Leat's (Laravel's) English, with its double full stop: the manager never reads it.
IN_THE_FUTURE = Fault(
    status=422,
    body='{"status_code": 422, "code": 1003, "message": "The starts at must be a date '
    'before or equal to now..", "errors": {"starts_at": "The starts at must be a date '
    'before or equal to now.."}}',
)


def launched(app, locale=None, headers=None):
    """A test client signed in by a launch link that names ``locale`` (or none)."""
    client = app.test_client()
    token = mint(
        LAUNCH_SECRET, manager_id="anna@example.com", name="Anna", shops=["*"], locale=locale
    )
    assert client.get(f"/launch?token={token}", headers=headers or {}).status_code == 303
    return client


def language(page) -> str:
    return soup(page).find("html")["lang"]


# -- which language ----------------------------------------------------------------------


def test_without_accept_language_the_portal_speaks_the_default_english(app):
    page = launched(app).get("/visits")
    assert language(page) == "en"
    assert soup(page).find("h1").get_text() == "Visits"


def test_the_browsers_language_is_used_when_the_link_names_none(app):
    client = launched(app)
    page = client.get("/visits", headers=DUTCH)
    assert language(page) == "nl"
    assert soup(page).find("h1").get_text() == "Bezoeken"
    assert language(client.get("/visits", headers=ENGLISH)) == "en"
    # A language the portal does not have: the next one the browser accepts, else the default.
    assert language(client.get("/visits", headers={"Accept-Language": "fr, nl;q=0.5"})) == "nl"
    assert language(client.get("/visits", headers={"Accept-Language": "fr, de"})) == "en"


def test_the_launch_links_locale_claim_comes_before_the_browsers_language(app):
    client = launched(app, locale="nl")
    assert language(client.get("/visits", headers=ENGLISH)) == "nl"
    assert language(client.get("/visits")) == "nl"
    # A region is taken as its language.
    assert language(launched(app, locale="nl-BE").get("/visits", headers=ENGLISH)) == "nl"


def test_a_locale_claim_the_portal_does_not_have_is_ignored(app):
    client = launched(app, locale="fr")  # not refused: the link is still good
    assert language(client.get("/visits", headers=DUTCH)) == "nl"
    assert language(client.get("/visits")) == "en"


def test_pages_before_a_session_follow_the_browser(app):
    anonymous = app.test_client()
    sign_in = anonymous.get("/visits", headers=DUTCH)
    assert sign_in.status_code == 401
    assert language(sign_in) == "nl"
    assert "U bent niet ingelogd" in text(sign_in)
    refused = anonymous.get("/launch?token=nonsense", headers=DUTCH)
    assert (refused.status_code, language(refused)) == (401, "nl")
    assert "Deze inloglink is niet geldig." in text(refused)


@pytest.fixture
def dutch_by_default(tmp_path, database_url, sandbox):
    config = {**portal_config(tmp_path, database_url, sandbox), "PORTAL_DEFAULT_LOCALE": "nl"}
    with portal_app(config) as app:
        yield app


def test_portal_default_locale_is_the_language_when_nothing_else_names_one(dutch_by_default):
    page = dutch_by_default.test_client().get("/visits")
    assert language(page) == "nl"
    assert language(dutch_by_default.test_client().get("/visits", headers=ENGLISH)) == "en"


def test_a_default_locale_the_portal_does_not_have_stops_start_up(tmp_path):
    settings = from_environ(
        {"PORTAL_DEMO": "1", "PORTAL_DEFAULT_LOCALE": "fr"}, tmp_path / "instance"
    )
    with pytest.raises(ConfigError, match=r"^PORTAL_DEFAULT_LOCALE='fr' is not a language"):
        check(settings)
    assert from_environ({}, tmp_path)["PORTAL_DEFAULT_LOCALE"] == "en"


# -- the portal in Dutch ---------------------------------------------------------------------


@pytest.fixture
def dutch(app):
    return launched(app, locale="nl")


def test_the_visits_page_in_dutch(dutch):
    page = dutch.get("/visits")
    words = text(page)
    for dutch_words in ("Bezoek vastleggen", "Vastgelegde bezoeken", "Uitloggen", "Winkel"):
        assert dutch_words in words
    assert soup(page).find("title").get_text() == "Bezoeken · Leat-bezoekenportaal"
    body = soup(page).find("body")
    assert body["data-msg-unreachable"].startswith("Het portaal was niet bereikbaar")
    assert body["data-msg-suggestions"] == "{count} suggesties: pijl omlaag om te kiezen."


def test_a_visit_in_dutch_words_dates_and_times(dutch):
    answer = post_visit(
        dutch,
        contact=seed.CONTACT_ANNA,
        shop=seed.SHOP_AMSTERDAM,
        date="2026-11-20",
        starts_at="14:05",
        ends_at="1530",
    )
    assert answer.status_code == 200
    record_id = soup(answer).find("tr", class_="visit-row")["id"].removeprefix("visit-")
    shown = row(dutch.get("/visits"), int(record_id))
    assert cell(shown, "Begint om") == "20 nov 2026 14:05"  # 24-hour, Dutch month
    assert cell(shown, "Eindigt om") == "20 nov 2026 15:30"
    assert "Bezoek van anna.devries@example.com bij Amsterdam Centrum vastgelegd." in text(answer)
    assert "1 bezoek" in text(dutch.get("/visits"))
    post_visit(dutch, contact=seed.CONTACT_BRAM, shop=seed.SHOP_AMSTERDAM)
    assert "2 bezoeken" in text(dutch.get("/visits"))


def test_leats_refusal_with_an_unknown_code_is_said_in_dutch_with_leats_words(dutch, sandbox):
    sandbox.faults.inject(FROZEN, method="POST", path="/visits", times=1)
    answer = post_visit(dutch, contact=seed.CONTACT_BRAM, shop=seed.SHOP_ROTTERDAM)
    assert answer.status_code == 422
    assert (
        "Leat heeft dit geweigerd, met de woorden van Leat: “Visits are frozen for this shop” "
        "(code van Leat: 77001)." in text(answer)
    )


def test_leats_known_validation_message_is_rephrased_in_both_languages(app, dutch, sandbox):
    sandbox.faults.inject(IN_THE_FUTURE, method="POST", path="/visits", times=1)
    answer = post_visit(dutch, contact=seed.CONTACT_BRAM, shop=seed.SHOP_ROTTERDAM)
    assert answer.status_code == 422
    assert error_under(answer, "starts_at") == (
        "Leat neemt geen bezoek aan dat later dan nu begint: vul een tijd in die al voorbij is."
    )
    assert "now.." not in answer.text
    sandbox.faults.inject(IN_THE_FUTURE, method="POST", path="/visits", times=1)
    english = post_visit(launched(app), contact=seed.CONTACT_BRAM, shop=seed.SHOP_ROTTERDAM)
    assert error_under(english, "starts_at").startswith("Leat does not take a visit that starts")


def test_a_form_error_and_an_error_message_in_dutch(dutch):
    answer = post_visit(dutch, contact="", shop="", starts_at="25:00")
    assert answer.status_code == 422
    assert "Er is een probleem" in text(answer)
    assert error_under(answer, "starts_at").startswith("Vul de tijd in als uren en minuten")
    missing = dutch.get("/visits/999999/edit", headers=HTMX)
    assert missing.status_code == 404
    assert text(missing).startswith("Dit bezoek of deze pagina bestaat niet (meer)")
    page = dutch.get("/visits/999999/edit")
    assert (language(page), soup(page).find("h1").get_text()) == ("nl", "Niet gevonden")


def test_the_csv_download_speaks_the_managers_language(dutch):
    post_visit(dutch, contact=seed.CONTACT_ANNA, shop=seed.SHOP_AMSTERDAM)
    lines = dutch.get("/visits.csv").text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("E-mailadres van het contact,UUID van het contact,Winkel,")
    assert "Bevestigd door Leat" in lines[1]


def test_a_session_keeps_its_language_for_its_htmx_answers(dutch):
    token = csrf_token(dutch)
    answer = dutch.post(
        "/visits", data={"csrf_token": token, "contact": ""}, headers={**HTMX, **ENGLISH}
    )
    assert "Vul het e-mailadres" in error_under(answer, "contact")


def visible_words(page, selector: str) -> list[str]:
    """The buttons' visible words (after it, a visually hidden part names the visit)."""
    return [b.find(string=True, recursive=False).strip() for b in soup(page).select(selector)]


def test_a_cached_row_is_kept_per_language(app):
    english = launched(app)
    post_visit(english, contact=seed.CONTACT_ANNA, shop=seed.SHOP_AMSTERDAM)
    edit = "#visit-rows button.edit"
    assert visible_words(english.get("/visits"), edit) == ["Edit"]  # now in the row cache
    dutch = launched(app, locale="nl").get("/visits")
    assert visible_words(dutch, edit) == ["Wijzigen"]
    assert "bezoek van anna.devries@example.com" in soup(dutch).select_one(edit).get_text()
    assert visible_words(english.get("/visits"), edit) == ["Edit"]
