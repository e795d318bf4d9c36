"""The catalogues are complete: every string the code marks is in every language's
catalogue, translated (English may leave a msgstr empty: the msgid is English), not
fuzzy, with the msgid's placeholders, and each .mo is its .po compiled.

When this fails after adding or changing words: ``python3 dev.py messages``, then
translate what it lists in translations/<lang>/LC_MESSAGES/messages.po, and run it
again (README, "Languages").
"""

from __future__ import annotations

import pytest

from portal import catalogues


def test_every_marked_string_is_translated_in_every_catalogue():
    found = catalogues.problems()
    assert not found, "\n".join(
        ["python3 dev.py messages, then translate (README, Languages):", *found]
    )


def test_extraction_finds_python_templates_plurals_and_deferred_words():
    found = {message.id for message in catalogues.extract() if message.id}
    assert "Create visit" in found  # a form's label (lazy_gettext, forms.py)
    assert "Record a visit" in found  # a template
    assert ("%(count)s visit", "%(count)s visits") in found  # ngettext in a template
    assert "Pending — not yet confirmed by Leat" in found  # N_ (row_cache.ROW_WORDS)
    assert "Leat's visits of this contact could not be loaded." in found


@pytest.fixture
def one_more_string(monkeypatch):
    """The code as if someone had marked a new string and not run `dev.py messages`."""
    real = catalogues.extract

    def extract():
        template = real()
        template.add("A sentence nobody translated yet.")
        return template

    monkeypatch.setattr(catalogues, "extract", extract)


@pytest.mark.usefixtures("one_more_string")
def test_a_string_missing_from_a_catalogue_is_found():
    found = catalogues.problems()
    assert "nl: not in the catalogue: 'A sentence nobody translated yet.'" in found
    assert "en: not in the catalogue: 'A sentence nobody translated yet.'" in found


def test_languages_with_a_catalogue_are_the_supported_ones():
    from portal.i18n import SUPPORTED

    assert sorted(SUPPORTED) == catalogues.languages()
