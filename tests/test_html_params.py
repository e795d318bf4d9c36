"""The portal's html_params draws exactly what WTForms' own does, and is the one used."""

from __future__ import annotations

import pytest
from markupsafe import Markup
from wtforms import widgets
from wtforms.widgets import core

from portal import html_params


@pytest.mark.parametrize(
    "attributes",
    [
        {},
        {"name": "contact", "id": "contact", "value": "anna@example.com"},
        {"class_": "wide", "for_": "x", "data_hx_target": "#row", "aria_describedby": "a b"},
        {"checked": True, "disabled": False, "required": True, "maxlength": 255},
        {"value": "<script>\"quoted\" & 'single'</script>"},
        {"value": Markup('already "safe" <b>')},
        {"hx-post": "/visits?x=1&y=2", "autofocus": True, "value": None},
        {"value": 0, "min": 1.5},
    ],
)
def test_the_same_markup_as_wtforms(attributes):
    mine = html_params.html_params(**attributes)
    theirs = html_params._original(**attributes)
    assert mine == theirs
    assert isinstance(mine, Markup)


def test_installed_where_wtforms_looks(app):
    assert core.html_params is html_params.html_params
    assert widgets.html_params is html_params.html_params
    assert core.Input.html_params is html_params.html_params
