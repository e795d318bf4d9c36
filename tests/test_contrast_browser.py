"""Contrast the eye needs to find the keyboard and the controls (WCAG 2.2 1.4.11 and
2.4.13), measured in Chromium from the styles it computes: the focus ring against
every background it sits on, and the borders of inputs, selects and buttons against
theirs. axe-core does not check either.

A ring drawn outside the element (a positive ``outline-offset``) sits on the
background of what holds the element, and leaves a gap of that background between
itself and the element: so the ring must stand out from that background, and either
the ring or that gap must stand out from the element's own colour (the blue button).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from portal.leat_sandbox import seed

MINIMUM = 3.0

# What the browser computed for the focused element: its ring and the colours around it.
MEASURE = """element => {
    const style = getComputedStyle(element);
    const behind = node => {
        for (let at = node; at; at = at.parentElement) {
            const colour = getComputedStyle(at).backgroundColor;
            if (!/rgba\\(.*, 0\\)$/.test(colour) && colour !== "transparent") return colour;
        }
        return "rgb(255, 255, 255)";
    };
    return {
        focusVisible: element.matches(":focus-visible"),
        outlineStyle: style.outlineStyle,
        outlineWidth: parseFloat(style.outlineWidth),
        outlineOffset: parseFloat(style.outlineOffset),
        outlineColor: style.outlineColor,
        own: behind(element),
        around: behind(element.parentElement),
        border: style.borderTopColor,
        borderWidth: parseFloat(style.borderTopWidth),
    };
}"""


def rgb(colour: str) -> tuple[float, float, float]:
    numbers = [float(n) for n in re.findall(r"[\d.]+", colour)]
    assert len(numbers) == 3 or numbers[3] == 1, f"a translucent colour: {colour}"
    return tuple(numbers[:3])


def luminance(colour: str) -> float:
    def channel(value: float) -> float:
        value /= 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(one: str, other: str) -> float:
    light, dark = sorted((luminance(one), luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def ring_contrasts(measured: dict) -> tuple[float, float]:
    """The ring against what it sits on; and how the element stands apart from the ring
    (directly, or through the gap the offset leaves)."""
    # No ring the page draws itself (none, or the browser's "auto" ring, whose colours
    # the page does not choose) counts as no contrast at all.
    if (
        not measured["focusVisible"]
        or measured["outlineStyle"] in ("none", "auto")
        or measured["outlineWidth"] < 2
    ):
        return 0.0, 0.0
    sits_on = measured["around"] if measured["outlineOffset"] >= 0 else measured["own"]
    ring = contrast(measured["outlineColor"], sits_on)
    apart = contrast(measured["outlineColor"], measured["own"])
    if measured["outlineOffset"] >= 1:
        apart = max(apart, contrast(measured["around"], measured["own"]))
    return ring, apart


@pytest.fixture
def visits_page(app, page):
    """The visits page with one visit, its row's editor open, and an error message with
    a link in the message area: every background a focused control sits on."""
    page.goto("/visits")
    form = page.locator("#create-visit")
    form.get_by_label("Contact", exact=True).fill("anna.devries@example.com")
    form.get_by_label("Shop").select_option(seed.SHOP_AMSTERDAM)
    form.get_by_label("Date", exact=True).fill("2026-05-01")
    form.get_by_label("Starts at", exact=True).fill("10:00")
    form.get_by_role("button", name="Create visit").click()
    expect(page.locator("#visit-rows > tr")).to_have_count(1)
    # A second row in an editor: its fields sit on the editor's white.
    form.get_by_label("Contact", exact=True).fill("bram.jansen@example.com")
    form.get_by_role("button", name="Create visit").click()
    expect(page.locator("#visit-rows > tr")).to_have_count(2)
    page.locator("#visit-rows > tr").first.get_by_role("button", name="Edit").click()
    expect(page.locator("form.row-editor")).to_be_visible()
    # A message that carries a link, as a 404 answer does.
    page.evaluate("htmx.ajax('GET', '/no-such-page', {target: '#alerts'})")
    expect(page.locator("#alerts a")).to_be_visible()
    page.keyboard.press("Shift+Tab")  # the keyboard was last used: :focus-visible applies
    return page


# Where a ring is looked at: a name for the report, and the element.
FOCUSED = {
    "text input on the panel": "#create-visit #contact",
    "select on the panel": "#create-visit #shop",
    "primary button on the panel": "#create-visit [type=submit]",
    "search input on the panel": "#find-visits #find-q",
    "button on the panel": "#find-visits button[type=submit]",
    "link on the panel": "#find-visits a.clear",
    "contact link in a row": "#visit-rows > tr.visit-row:not(.editing) td a",
    "Edit in a row": "#visit-rows button.edit",
    "text input in the editor (white)": "form.row-editor input[type=text]",
    "primary button in the editor (white)": "form.row-editor .primary",
    "Cancel in the editor (white)": "form.row-editor button:not(.primary)",
    "Sign out in the top bar": ".topbar button",
    "an error message (focused)": "#alerts .alert",
    "a link in an error message": "#alerts .alert a",
}

BORDERED = {
    "text input on the panel": "#create-visit #contact",
    "select on the panel": "#create-visit #shop",
    "search input on the panel": "#find-visits #find-q",
    "date input on the panel": "#find-visits #find-from",
    "button on the panel": "#find-visits button[type=submit]",
    "Edit in a row (panel)": "#visit-rows button.edit",
    "text input in the editor (white)": "form.row-editor input[type=text]",
    "Cancel in the editor (white)": "form.row-editor button:not(.primary)",
    "primary button on the panel": "#create-visit [type=submit]",
}


def test_the_focus_ring_stands_out_on_every_background(visits_page):
    page = visits_page
    measured = {}
    for name, selector in FOCUSED.items():
        element = page.locator(selector).first
        element.focus()
        expect(element).to_be_focused()
        measured[name] = ring_contrasts(element.evaluate(MEASURE))
    report = {name: f"{ring:.2f}:1 / {apart:.2f}:1" for name, (ring, apart) in measured.items()}
    print("focus ring (against what it sits on / element apart from it):", report)
    too_faint = {name: report[name] for name, pair in measured.items() if min(pair) < MINIMUM}
    assert not too_faint, too_faint


def test_control_borders_stand_out_from_their_background(visits_page):
    page = visits_page
    measured = {}
    for name, selector in BORDERED.items():
        found = page.locator(selector).first.evaluate(MEASURE)
        assert found["borderWidth"] >= 1, (name, found)
        # A control whose own colour differs from its surroundings (the blue button)
        # is told by its fill; the others by their border.
        measured[name] = max(
            contrast(found["border"], found["around"]), contrast(found["own"], found["around"])
        )
    print("control borders:", {name: f"{value:.2f}:1" for name, value in measured.items()})
    too_faint = {name: round(value, 2) for name, value in measured.items() if value < MINIMUM}
    assert not too_faint, too_faint
