"""The message catalogues: extracted from the code, updated, compiled, and checked.

    .venv/bin/python -m portal.catalogues update   # python3 dev.py messages does this
    .venv/bin/python -m portal.catalogues check    # what tests/test_catalogues.py asserts

``update`` extracts every marked string (``_``, ``_l``, ``gettext``, ``ngettext`` in
portal/ and templates/, as babel.cfg maps them) into translations/messages.pot,
merges it into each language's messages.po (a new string comes in empty, a string no
longer used is dropped; no fuzzy guesses), and compiles each .po into the .mo the
portal reads. The dates in the headers are fixed, so running it twice changes nothing
and a merge of two branches' catalogues only meets their real differences.

``check`` lists what is wrong: a string in the code missing from a catalogue, one no
longer in the code, a fuzzy entry, an empty translation in any language but English
(whose empty msgstr means "the msgid as it is"), a placeholder that differs from the
msgid's, or a .mo that is not its .po compiled.
"""

from __future__ import annotations

import io
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "translations"
TEMPLATE = FOLDER / "messages.pot"
SOURCES = ("portal", "templates")
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "N_": None}
# English is the language of the msgids: its catalogue may leave every msgstr empty.
SOURCE_LANGUAGE = "en"
# Fixed header dates: the files change only when their messages do.
FIXED_DATE = datetime(2026, 11, 26, tzinfo=UTC)
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]")


def extract() -> Catalog:
    """Every marked string of the portal, as a template catalogue."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config, "babel.cfg")
    template = Catalog(project="leat-visits-portal", creation_date=FIXED_DATE, fuzzy=False)
    for source in SOURCES:
        for filename, lineno, message, comments, context in extract_from_dir(
            ROOT / source, method_map, options_map, keywords=KEYWORDS
        ):
            template.add(
                message,
                None,
                [(f"{source}/{filename}", lineno)],
                auto_comments=comments,
                context=context,
            )
    return template


def languages() -> list[str]:
    return sorted(path.name for path in FOLDER.iterdir() if (path / "LC_MESSAGES").is_dir())


def po_path(language: str) -> Path:
    return FOLDER / language / "LC_MESSAGES" / "messages.po"


def read(language: str) -> Catalog:
    with open(po_path(language), "rb") as file:
        return read_po(file, locale=language)


def _po_bytes(catalog: Catalog) -> bytes:
    catalog.creation_date = FIXED_DATE
    catalog.revision_date = FIXED_DATE
    out = io.BytesIO()
    write_po(out, catalog, width=0, no_location=True, sort_output=True)
    return out.getvalue()


def _mo_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalog)
    return out.getvalue()


def update() -> None:
    template = extract()
    TEMPLATE.write_bytes(_po_bytes(template))
    for language in languages():
        catalog = read(language)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        po_path(language).write_bytes(_po_bytes(catalog))
        po_path(language).with_suffix(".mo").write_bytes(_mo_bytes(read(language)))
        untranslated = [
            message.id for message in read(language) if message.id and not _done(message)
        ]
        if untranslated and language != SOURCE_LANGUAGE:
            print(f"{language}: {len(untranslated)} to translate in {po_path(language)}")


def _done(message) -> bool:
    strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
    return all(strings)


def _placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def problems() -> list[str]:
    """What is wrong with the catalogues; empty when every language is complete."""
    found: list[str] = []
    wanted = {message.id for message in extract() if message.id}
    for language in languages():
        catalog = read(language)
        have = {message.id for message in catalog if message.id}
        for missing in sorted(wanted - have, key=str):
            found.append(f"{language}: not in the catalogue: {missing!r}")
        for stale in sorted(have - wanted, key=str):
            found.append(f"{language}: no longer in the code: {stale!r}")
        for message in catalog:
            if not message.id:
                continue
            if message.fuzzy:
                found.append(f"{language}: fuzzy: {message.id!r}")
            if language == SOURCE_LANGUAGE and not any(_strings(message)):
                continue
            if not _done(message):
                found.append(f"{language}: not translated: {message.id!r}")
                continue
            ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
            expected = set().union(*(_placeholders(text) for text in ids))
            for text in _strings(message):
                # A singular may leave out the count (“1 suggestion”), never add one.
                if not _placeholders(text) <= expected:
                    found.append(f"{language}: placeholders differ: {message.id!r}")
        mo = po_path(language).with_suffix(".mo")
        if not mo.exists():
            found.append(f"{language}: {mo.name} is missing: python3 dev.py messages")
        elif _compiled(mo) != _compiled_of(catalog):
            found.append(f"{language}: {mo.name} is not its .po compiled: python3 dev.py messages")
    return found


def _strings(message) -> tuple:
    return tuple(message.string) if isinstance(message.string, tuple | list) else (message.string,)


def _compiled(mo: Path) -> dict:
    with open(mo, "rb") as file:
        return _as_dict(read_mo(file))


def _compiled_of(catalog: Catalog) -> dict:
    return _as_dict(read_mo(io.BytesIO(_mo_bytes(catalog))))


def _as_dict(compiled: Catalog) -> dict:
    def frozen(value):
        return tuple(value) if isinstance(value, list | tuple) else value

    return {frozen(message.id): frozen(message.string) for message in compiled if message.id}


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    if command == "update":
        update()
        return 0
    if command == "check":
        found = problems()
        print("\n".join(found) or "The catalogues are complete.")
        return 1 if found else 0
    print("\n".join(__doc__.splitlines()[2:4]), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
