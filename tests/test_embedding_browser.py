"""The portal inside an intranet's iframe, on another site, in a real Chromium.

The intranet page is served from 127.0.0.1 and frames the portal served from
localhost: two sites, so the session cookie is a third-party cookie there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from html import escape

import pytest
from helpers import launch_path, playwright_pause, portal_app, portal_config, wait_until
from playwright.sync_api import expect

from portal.leat_sandbox import serve_in_thread


class Intranet:
    """A company intranet page whose iframe shows whatever ``frame_src`` says."""

    def __init__(self, frame_width: int = 1100):
        self.frame_src = "about:blank"
        self.frame_width = frame_width

    def __call__(self, environ, start_response):
        body = (
            '<!doctype html><html lang="en"><head><title>Intranet</title></head><body>'
            "<h1>Company intranet</h1>"
            f'<iframe src="{escape(self.frame_src)}" title="Visits portal" '
            f'width="{self.frame_width}" height="900"></iframe></body></html>'
        ).encode()
        start_response(
            "200 OK",
            [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))],
        )
        return [body]


@pytest.fixture
def intranet():
    page = Intranet()
    with serve_in_thread(page) as server:
        page.url = server.base_url
        yield page


@contextmanager
def framed_portal(tmp_path, sandbox, database_url, ancestors) -> Iterator[str]:
    """The portal allowing ``ancestors`` to frame it, served on localhost (another site
    than the intranet's 127.0.0.1); yields its base URL."""
    config = portal_config(tmp_path, database_url, sandbox)
    config["PORTAL_FRAME_ANCESTORS"] = ancestors
    with portal_app(config) as app, serve_in_thread(app) as server:
        yield server.base_url.replace("127.0.0.1", "localhost")


@pytest.fixture
def open_intranet(browser):
    contexts = []

    def open_page(intranet, portal_url):
        intranet.frame_src = portal_url + launch_path(name="Ingrid")
        context = browser.new_context(viewport={"width": 1200, "height": 1000})
        contexts.append(context)
        page = context.new_page()
        page.console_lines = []
        page.on("console", lambda message: page.console_lines.append(message.text))
        # What the framed portal loaded, and what the browser refused to load.
        page.static_answers = []
        page.on(
            "response",
            lambda response: "/static/" in response.url and page.static_answers.append(response),
        )
        page.failed_requests = []
        page.on(
            "requestfailed",
            lambda request: page.failed_requests.append(f"{request.url}: {request.failure}"),
        )
        page.goto(intranet.url)
        return page

    yield open_page
    for context in contexts:
        context.close()


def test_sign_in_create_and_edit_inside_a_cross_site_frame(
    tmp_path, sandbox, database_url, intranet, open_intranet, sandbox_leat
):
    with framed_portal(tmp_path, sandbox, database_url, (intranet.url,)) as portal_url:
        page = open_intranet(intranet, portal_url)
        frame = page.frame_locator("iframe")
        expect(frame.get_by_role("heading", name="Visits", exact=True)).to_be_visible()
        expect(frame.get_by_text("Signed in as")).to_contain_text("Ingrid")

        form = frame.locator("#create-visit")
        form.get_by_label("Contact", exact=True).fill("anna.devries@example.com")
        form.get_by_label("Shop").select_option(label="Rotterdam Markthal")
        form.get_by_label("Source").fill("Framed till")
        form.get_by_role("button", name="Create visit").click()
        row = frame.locator("#visit-rows > tr").first
        expect(row).to_contain_text("Rotterdam Markthal")
        expect(row).to_contain_text("by Ingrid")

        row.get_by_role("button", name="Edit").click()
        editor = frame.locator("form.row-editor")
        editor.get_by_label("Source").fill("Framed and edited")
        editor.get_by_role("button", name="Save").click()
        expect(frame.locator("#visit-rows > tr").first).to_contain_text("Framed and edited")
        assert sandbox_leat.list_visits().visits[0].source == "Framed and edited"

        # Cross-Origin-Resource-Policy: same-origin does not keep the portal's own
        # stylesheet and scripts from its framed pages (they ask its own origin), and
        # every feature the Permissions-Policy names is one Chromium knows.
        assert page.failed_requests == []
        urls = [answer.url for answer in page.static_answers]
        assert any("/css/portal." in url for url in urls), urls
        assert any("/vendor/htmx-" in url for url in urls), urls
        for answer in page.static_answers:
            assert answer.status in (200, 304), answer.url
            assert answer.headers["cross-origin-resource-policy"] == "same-origin"
        assert frame.locator("body").evaluate("b => getComputedStyle(b).fontFamily") != (
            page.locator("body").evaluate("b => getComputedStyle(b).fontFamily")
        )
        troubles = ("Permissions-Policy", "Cross-Origin", "blocked", "Refused")
        assert not [line for line in page.console_lines if any(t in line for t in troubles)]

        # A reload of the intranet page renders the same launch link, used by now, in
        # its frame: the manager is still signed in there, so it goes on to the visits.
        launches = []
        page.on("response", lambda answer: "/launch?" in answer.url and launches.append(answer))
        page.reload()
        signed_in_still(page.frame_locator("iframe"), "Framed and edited")
        # Back to the intranet page from another page of the intranet: the same.
        page.goto(intranet.url + "/elsewhere")
        page.go_back()
        signed_in_still(page.frame_locator("iframe"), "Framed and edited")
        assert launches, "the reload did not open the launch link again"
        assert [answer.status for answer in launches] == [303] * len(launches)


def signed_in_still(frame, source: str) -> None:
    """The visits page in the frame, as the manager left it (not "not signed in")."""
    expect(frame.get_by_role("heading", name="Visits", exact=True)).to_be_visible()
    expect(frame.get_by_text("Signed in as")).to_contain_text("Ingrid")
    expect(frame.locator("#visit-rows > tr").first).to_contain_text(source)


def test_without_frame_ancestors_the_frame_is_refused(
    tmp_path, sandbox, database_url, intranet, open_intranet
):
    with framed_portal(tmp_path, sandbox, database_url, ()) as portal_url:
        page = open_intranet(intranet, portal_url)
        expect(page.get_by_role("heading", name="Company intranet")).to_be_visible()
        frame = page.frame_locator("iframe")

        def refused() -> bool:
            return any("frame-ancestors" in line for line in page.console_lines)

        wait_until(refused, pause=playwright_pause(page), message=lambda: str(page.console_lines))
        expect(frame.get_by_role("heading", name="Visits", exact=True)).to_have_count(0)
        assert refused(), page.console_lines
