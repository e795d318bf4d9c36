"""Languages: which one a request is answered in, and dates, times and numbers in it.

The language is, in this order: the launch link's ``locale`` claim (kept with the
server-side session), else the browser's ``Accept-Language``, else
``PORTAL_DEFAULT_LOCALE``. Only a language in ``SUPPORTED`` (one with a catalogue in
``translations/``) is ever chosen; anything else falls through to the next source.

Strings are marked with Flask-Babel's ``gettext`` (``_``) where they are used, or
``lazy_gettext`` (``_l``) where they are defined at import time (form labels, the
error pages' words). Catalogues: ``translations/<lang>/LC_MESSAGES/messages.po``, with
the compiled ``.mo`` committed beside each (``python3 dev.py messages`` makes both,
``tests/test_catalogues.py`` checks them).

Dates and times: a page shows 50 rows, each with up to four times, so each format's
Babel pattern is parsed once per language and kept (``_pattern``), and applied to a
wall-clock time already in ``PORTAL_TIMEZONE``: no per-call locale or pattern parsing.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from weakref import WeakKeyDictionary

from babel import Locale
from babel.dates import DateTimePattern, match_skeleton, parse_pattern
from babel.support import NullTranslations
from flask import Flask, current_app, g, has_app_context, has_request_context, request, session
from flask_babel import Babel, get_locale, get_translations
from flask_babel.speaklater import LazyString

# The languages with a complete catalogue. Adding one: README, "Languages".
SUPPORTED = ("en", "nl")
DEFAULT_LOCALE = "en"
TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
# Where the manager's language is kept in the session (with the manager, see auth).
SESSION_KEY = "locale"

# Every date and time a manager reads, per language: 24-hour everywhere (the forms
# take 24-hour input). A language without its own line takes CLDR's medium and long
# date patterns, with HH:mm.
PATTERNS = {
    "en": {
        "datetime": "d MMM y, HH:mm",  # 20 Nov 2026, 10:00
        "day_clock": "d MMM, HH:mm",  # 20 Nov, 10:00
        "clock": "HH:mm",
        "long_day": "d MMMM y",  # 1 January 2000
    },
    "nl": {
        "datetime": "d MMM y HH:mm",  # 20 nov 2026 10:00
        "day_clock": "d MMM HH:mm",  # 20 nov 10:00
        "clock": "HH:mm",
        "long_day": "d MMMM y",  # 1 januari 2000
    },
}


def supported(value: object) -> str | None:
    """``value`` as a supported language ("nl", "nl-NL", "nl_BE" → "nl"), or None."""
    if not isinstance(value, str):
        return None
    language = value.strip().replace("_", "-").split("-")[0].lower()
    return language if language in SUPPORTED else None


def select_locale() -> str:
    """The language of this request (Flask-Babel asks once per request)."""
    if not has_request_context():
        return current_app.config.get("PORTAL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    chosen = supported(session.get(SESSION_KEY))
    if chosen:
        return chosen
    best = request.accept_languages.best_match(SUPPORTED)
    if best:
        return best
    return current_app.config.get("PORTAL_DEFAULT_LOCALE", DEFAULT_LOCALE)


def current_language() -> str:
    """The request's language as ``<html lang>`` takes it ("en", "nl"); asked by every
    row (its cache key), so kept for the request once known."""
    try:
        return g._portal_language
    except AttributeError:
        pass
    except RuntimeError:  # no app context
        return DEFAULT_LOCALE
    language = str(get_locale() or DEFAULT_LOCALE)
    g._portal_language = language
    return language


@lru_cache(maxsize=64)
def _locale(language: str) -> Locale:
    return Locale.parse(language)


@lru_cache(maxsize=64)
def _pattern(language: str, kind: str) -> DateTimePattern:
    own = PATTERNS.get(language)
    if own is not None:
        return parse_pattern(own[kind])
    locale = _locale(language)
    medium, long = locale.date_formats["medium"].pattern, locale.date_formats["long"].pattern
    skeletons = locale.datetime_skeletons
    short_day = match_skeleton("MMMd", skeletons)
    fallback = {
        "datetime": f"{medium} HH:mm",
        "day_clock": f"{skeletons[short_day].pattern if short_day else medium} HH:mm",
        "clock": "HH:mm",
        "long_day": long,
    }
    return parse_pattern(fallback[kind])


def format_wall(wall: datetime | date, kind: str) -> str:
    """A wall-clock time (already in the portal's zone) or a day, as the request's
    language writes it: ``kind`` is one of PATTERNS' keys."""
    return _formatted(current_language(), kind, wall)


@lru_cache(maxsize=4096)
def _formatted(language: str, kind: str, wall: datetime | date) -> str:
    # A page shows the same few hundred times again and again (each row's start, end
    # and creation): each is formatted once.
    return _pattern(language, kind).apply(wall, _locale(language))


def format_count(number: int) -> str:
    """A whole number with the language's grouping (1,234 or 1.234)."""
    return f"{number:,}".replace(",", _group_separator(current_language()))


@lru_cache(maxsize=64)
def _group_separator(language: str) -> str:
    # Babel's format_decimal takes 15 µs (it quantizes a Decimal); a count is an int.
    return _locale(language).number_symbols["latn"]["group"]


def translations():
    """The request's catalogue, looked up once per request: a page of 50 rows asks for
    about a thousand strings, and Flask-Babel's own lookup (several context look-ups
    a string) made the page twice as dear (bench/page_cost.py, README "Languages")."""
    try:
        return g._portal_translations
    except AttributeError:
        pass
    except RuntimeError:  # no app context (a script, a test without one)
        return NullTranslations()
    found = get_translations() if has_app_context() else NullTranslations()
    g._portal_translations = found
    return found


def N_(string: str) -> str:  # gettext's name for "mark now, translate later"
    """Marks a string for extraction (babel.cfg's keywords); ``Words`` translates it."""
    return string


class Words:
    """A template's fixed words, translated once per catalogue rather than once per use:
    a row of the page is rendered 50 times a page, each with about ten words. Mark the
    strings with ``N_``; calling the table gives ``{name: translated}``."""

    def __init__(self, **strings: str) -> None:
        self._strings = strings
        self._translated: WeakKeyDictionary = WeakKeyDictionary()

    def __call__(self) -> dict[str, str]:
        catalogue = translations()
        done = self._translated.get(catalogue)
        if done is None:
            done = {name: catalogue.ugettext(text) for name, text in self._strings.items()}
            self._translated[catalogue] = done
        return done


def gettext(string: str, **variables) -> str:
    """The string in the request's language (``_`` in the portal's modules), with its
    ``%(name)s`` placeholders filled. As Flask-Babel's, through ``translations``."""
    translated = translations().ugettext(string)
    return translated % variables if variables else translated


def ngettext(singular: str, plural: str, num: int, **variables) -> str:
    """The form for ``num`` in the request's language; ``%(num)d`` is the number."""
    variables.setdefault("num", num)
    return translations().ungettext(singular, plural, num) % variables


def lazy_gettext(string: str, **variables) -> LazyString:
    """``gettext`` when the string is used, not when it is defined (``_l``: form labels,
    the error pages' words, anything made at import time)."""
    return LazyString(gettext, string, **variables)


_ = gettext
_l = lazy_gettext


def _template_gettext(string: str) -> str:
    return translations().ugettext(string)


def _template_ngettext(singular: str, plural: str, number: int) -> str:
    return translations().ungettext(singular, plural, number)


def init_app(app: Flask) -> None:
    Babel(
        app,
        locale_selector=select_locale,
        default_locale=app.config.get("PORTAL_DEFAULT_LOCALE", DEFAULT_LOCALE),
        default_translation_directories=str(TRANSLATIONS),
    )
    # {% trans %} blocks lose their line breaks and indentation, as extraction does
    # (babel.cfg: trimmed).
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    # WTForms' own catalogue is loaded from disk once per request by Flask-WTF when
    # Flask-Babel is present; the portal gives every message of its own (forms.py,
    # search.py), in its catalogues, so WTForms' are not needed.
    app.config.setdefault("WTF_I18N_ENABLED", False)
    # The templates' _(), gettext() and ngettext(): as Flask-Babel's, with one look-up
    # of the catalogue a request (``translations``).
    app.jinja_env.install_gettext_callables(
        gettext=_template_gettext, ngettext=_template_ngettext, newstyle=True
    )
    app.add_template_global(current_language, "current_language")
    app.add_template_filter(format_count, "count")
