"""No English slips past the catalogues: every page state, rendered with a pseudo
catalogue in which each translation is its msgid wrapped in ⟦…⟧, must show no text
outside those marks but the data itself (e-mail addresses, names, shops, uuids,
external IDs, sources, dates, times, numbers).

The pseudo catalogue is made from what ``portal.catalogues.extract`` finds in the code
(so a string only needs to be marked to pass here; tests/test_catalogues.py checks it
is translated), compiled into a folder of this test's own and given to the portal as
its English catalogue. A string that is not marked (``"Save"`` instead of
``_("Save")``) stays unmarked on the page and fails the test, with the words and the
state they were found in.

Run it alone after adding words: ``python3 dev.py test tests/test_pseudo_locale.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from bs4 import BeautifulSoup
from error_triggers import with_failing_routes
from helpers import (
    HTMX,
    LAUNCH_SECRET,
    all_records,
    browser_at,
    csrf_token,
    deliver_waiting,
    demo_portal,
    input_value,
    launch_path,
    post_visit,
    save_visit,
    signed_in,
    soup,
)

from portal.auth.launch import mint
from portal.catalogues import extract
from portal.database import db
from portal.leat_sandbox import MAINTENANCE_PAGE, Fault, seed
from portal.models import DeliveryPause

OPEN, CLOSE = "⟦", "⟧"
MARKED = re.compile(f"{OPEN}[^{OPEN}{CLOSE}]*{CLOSE}")
GONE = Fault(status=400, body='{"message": "Model not found.", "code": 60013, "status_code": 400}')
FROZEN = Fault(
    status=400,
    body='{"message": "Visits are frozen for this shop.", "code": 77001, "status_code": 400}',
)
# Attributes a manager reads (or hears): the cards show data-label as a column's name.
READ_ATTRIBUTES = ("title", "aria-label", "placeholder", "alt", "data-label", "data-suggestions")
# The data itself: what is left of a page once the marked words are taken out.
DATA = [
    re.compile(r"portal-[0-9a-f-]{32,36}"),  # external IDs the portal makes
    re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"),  # e-mail addresses
    re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),  # uuids
    re.compile(r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b"),  # Babel's months
    re.compile(r"[0-9]"),
]


def pseudo_catalogue(folder: Path) -> Path:
    """Every string the code marks, translated as ⟦itself⟧, as the English .mo."""
    catalog = Catalog(locale="en")
    for message in extract():
        if not message.id:
            continue
        if isinstance(message.id, tuple | list):
            string = tuple(f"{OPEN}{text}{CLOSE}" for text in message.id)
        else:
            string = f"{OPEN}{message.id}{CLOSE}"
        catalog.add(message.id, string)
    target = folder / "en" / "LC_MESSAGES"
    target.mkdir(parents=True)
    with open(target / "messages.mo", "wb") as file:
        write_mo(file, catalog)
    return folder


@pytest.fixture
def portal_overrides(tmp_path_factory) -> dict:
    folder = pseudo_catalogue(tmp_path_factory.mktemp("pseudo"))
    return {
        "BABEL_TRANSLATION_DIRECTORIES": str(folder),
        "PORTAL_RATE_LIMIT_WRITES": "100000/minute",
    }


def unmarked(page: str, data: list[str]) -> list[str]:
    """The words of ``page`` (HTML) that are neither inside ⟦…⟧ nor data."""
    doc = BeautifulSoup(page, "html.parser")
    for element in doc(["script", "style"]):
        element.decompose()
    texts = [doc.get_text(" ")]
    for element in doc.find_all(True):
        texts += [element[name] for name in READ_ATTRIBUTES if element.has_attr(name)]
        if element.name.startswith("hx-") or element.name == "body":
            texts += [value for name, value in element.attrs.items() if name.startswith("data-msg")]
        if element.name == "input" and element.get("type") in ("submit", "button"):
            texts.append(element.get("value", ""))
    left = []
    for text in texts:
        while MARKED.search(text):
            text = MARKED.sub(" ", text)
        for value in sorted(data, key=len, reverse=True):
            text = text.replace(value, " ")
        for pattern in DATA:
            text = pattern.sub(" ", text)
        left += re.findall(r"[^\W\d_]{2,}", text)
    return left


@pytest.fixture
def data(app) -> list[str]:
    """What the pages show as it is: the sandbox's shops and contacts, the manager's
    name, the sources and external IDs these tests type, Leat's own words."""
    return [
        *(shop.name for shop in seed.SHOPS),
        *(contact.email for contact in seed.CONTACTS),
        "Anna",
        "Counter",
        "Portal",  # the source a visit gets when none is typed: data, not a word
        "TILL-7",
        "Europe/Amsterdam",
    ]


def record_id(answer) -> str:
    return soup(answer).find("tr", class_="visit-row")["id"].removeprefix("visit-")


def lose_at_leat(client, sandbox, key: str) -> None:
    editor = client.get(f"/visits/{key}/edit", headers=HTMX)
    shown = {name: input_value(editor, f"visit-{key}-{name}") for name in ("date", "starts_at")}
    sandbox.faults.inject(GONE, method="PUT", times=1)
    assert save_visit(client, key, **shown, source="Counter").status_code == 200


def test_every_page_state_shows_only_marked_words_and_data(app, sandbox, data):
    with_failing_routes(app)
    states: dict[str, str] = {}
    anonymous = app.test_client()
    states["sign-in page"] = anonymous.get("/visits").text
    states["refused sign-in"] = anonymous.get("/launch?token=not-a-token").text
    link = launch_path()
    assert anonymous.get(link).status_code == 303
    states["sign-in link used twice"] = app.test_client().get(link).text
    states["expired sign-in link"] = anonymous.get(
        "/launch?token=" + mint(LAUNCH_SECRET, manager_id="a", name="A", shops=["*"], now=1)
    ).text
    states["session ended (htmx)"] = anonymous.get("/visits", headers=HTMX).text

    client = signed_in(app)
    states["empty visits page"] = client.get("/visits").text
    states["create: field errors"] = post_visit(client, contact="", shop="").text
    states["create: field errors, no JavaScript"] = post_visit(
        client, htmx=False, contact="anna@", date="2026-13-40", starts_at="25:00"
    ).text
    states["create: contact unknown to Leat"] = post_visit(
        client, contact="nobody@example.com", shop=seed.SHOP_AMSTERDAM
    ).text
    sandbox.faults.inject(FROZEN, method="POST", path="/visits", times=1)
    states["create: Leat's unknown code"] = post_visit(
        client, contact=seed.CONTACT_BRAM, shop=seed.SHOP_ROTTERDAM
    ).text
    confirmed = post_visit(
        client, contact=seed.CONTACT_ANNA, shop=seed.SHOP_AMSTERDAM, external_id="TILL-7"
    )
    states["create answer"] = confirmed.text
    key = record_id(confirmed)
    states["editor"] = client.get(f"/visits/{key}/edit", headers=HTMX).text
    states["editor, no JavaScript"] = client.get(f"/visits/{key}/edit").text
    editor = client.get(f"/visits/{key}/edit", headers=HTMX)
    shown = {name: input_value(editor, f"visit-{key}-{name}") for name in ("date", "starts_at")}
    states["save: nothing changed"] = save_visit(client, key, **shown).text
    states["save answer"] = save_visit(client, key, **shown, source="Counter").text
    states["save: field errors"] = save_visit(client, key, date="", starts_at="x").text
    states["save: cannot clear"] = save_visit(client, key, **shown, source="").text
    flashed = client.post(
        "/visits",
        data={"csrf_token": csrf_token(client), "contact": seed.CONTACT_DAAN, "shop": ""},
    )
    states["create refused, no JavaScript"] = flashed.text
    client.post(
        "/visits",
        data={
            "csrf_token": csrf_token(client),
            "contact": seed.CONTACT_DAAN,
            "shop": seed.SHOP_UTRECHT,
        },
    )
    states["flash after a create, no JavaScript"] = client.get("/visits").text

    aside = record_id(post_visit(client, contact=seed.CONTACT_CHLOE, shop=seed.SHOP_UTRECHT))
    lose_at_leat(client, sandbox, aside)
    states["visit gone at Leat"] = client.get("/visits").text
    token = csrf_token(client)
    states["set aside"] = client.post(
        f"/visits/{aside}/set-aside", data={"csrf_token": token}, headers=HTMX
    ).text
    lost = record_id(post_visit(client, contact=seed.CONTACT_EMMA, shop=seed.SHOP_ROTTERDAM))
    lose_at_leat(client, sandbox, lost)
    sandbox.faults.inject(MAINTENANCE_PAGE, method="POST", path="/visits", times=1)
    states["create: pending, queue paused"] = post_visit(
        client, contact=seed.CONTACT_ANNA, shop=seed.SHOP_WEBSHOP
    ).text
    sandbox.faults.inject(FROZEN, method="POST", path="/visits", times=1)
    deliver_waiting(app)  # the later attempt is refused: it needs attention
    sandbox.faults.inject(MAINTENANCE_PAGE, method="POST", path="/visits", times=1)
    pending = record_id(post_visit(client, contact=seed.CONTACT_BRAM, shop=seed.SHOP_WEBSHOP))
    states["visits page, every row state, queue paused"] = client.get("/visits").text
    sandbox.faults.inject(MAINTENANCE_PAGE, method="POST", path="/visits", times=1)
    states["retry: still pending"] = client.post(
        f"/visits/{pending}/retry", data={"csrf_token": csrf_token(client)}, headers=HTMX
    ).text
    with app.app_context():
        db.session.execute(db.update(DeliveryPause).values(kind="auth"))
        db.session.commit()
    states["visits page, token refused banner"] = client.get("/visits").text
    assert {record.status.value for record in all_records(app)} >= {
        "confirmed",
        "pending",
        "attention",
        "set_aside",
    }

    states["search: none match"] = client.get("/visits?q=zzzz").text
    states["search: none match (htmx)"] = client.get("/visits?q=zzzz", headers=HTMX).text
    states["search: to correct"] = client.get("/visits?from=2026-13-01&to=x").text
    states["search: to correct (htmx)"] = client.get(
        "/visits?from=2026-05-02&to=2026-05-01", headers=HTMX
    ).text
    states["search: one shop"] = client.get(f"/visits?shop={seed.SHOP_AMSTERDAM}").text
    states["history"] = client.get(f"/contacts/{seed.CONTACT_ANNA}/visits").text
    states["history, unknown contact"] = client.get(
        "/contacts/00000000-0000-4000-8000-000000000000/visits"
    ).text
    states["recent contacts"] = client.get(
        f"/visits/recent-contacts?shop={seed.SHOP_AMSTERDAM}", headers=HTMX
    ).text
    csv_header = client.get("/visits.csv").text.splitlines()[0]
    states["CSV header"] = f"<p>{csv_header.lstrip(chr(0xFEFF))}</p>"

    for code in (404, 413, 429, 500, 503):
        states[f"{code} page"] = client.get(f"/test-failing/{code}").text
        states[f"{code} message (htmx)"] = client.get(f"/test-failing/{code}", headers=HTMX).text
    states["exception page"] = client.get("/test-failing/exception").text
    states["expired page (htmx)"] = client.put(
        f"/visits/{key}", data={"csrf_token": "stale"}, headers=HTMX
    ).text
    states["another manager's visit"] = (
        signed_in(app, seed.SHOP_WEBSHOP, name="Anna").get(f"/visits/{key}/edit", headers=HTMX).text
    )

    states["refused sign-in, another manager signed in"] = client.get(
        "/launch?token=not-a-token"
    ).text
    signed_out = client.post("/sign-out", data={"csrf_token": csrf_token(client)})
    states["signed out"] = client.get(signed_out.headers["Location"]).text
    assert app.test_client().get(launch_path()).status_code == 303  # the link still works

    found = {state: words for state, page in states.items() if (words := unmarked(page, data))}
    assert not found, "words outside the catalogues (mark them with _()):\n" + "\n".join(
        f"  {state}: {' '.join(words)}" for state, words in found.items()
    )


def test_the_check_finds_an_unmarked_word(app):
    """The check itself: a word left unmarked is found, data is not."""
    page = f"<p>{OPEN}Visits of %s{CLOSE} Recorded anna.devries@example.com 20 Nov 2026</p>"
    assert unmarked(page, []) == ["Recorded"]


def test_the_demo_banner_shows_only_marked_words(tmp_path, portal_overrides, data):
    """Demo mode's banner, before and during a simulated outage, and its fresh link."""
    app = demo_portal(tmp_path, **portal_overrides)
    browser = browser_at(app, "127.0.0.1")
    states = {"demo sign-in page": browser.get("/visits").text}
    [link] = [a["href"] for a in soup(states["demo sign-in page"]).select('a[href*="/launch?"]')]
    link = link.removeprefix("http://localhost")
    assert browser.get(link).status_code == 303
    states["demo link used twice"] = app.test_client().get(link, base_url="http://127.0.0.1").text
    states["demo banner"] = browser.get("/visits").text
    browser.post("/demo/outage", data={"csrf_token": csrf_token(browser)})
    states["demo banner, outage"] = browser.get("/visits").text
    found = {state: words for state, page in states.items() if (words := unmarked(page, data))}
    assert not found, "words outside the catalogues (mark them with _()):\n" + "\n".join(
        f"  {state}: {' '.join(words)}" for state, words in found.items()
    )
