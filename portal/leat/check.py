"""``flask --app wsgi leat-check``: what the portal assumes about Leat, asked of the
configured Leat with read-only calls, and what it answered.

The portal was built against Leat's docs and a sandbox; a real account may differ.
Run once on every new deployment (README): each line says what the portal expects
and what came back, and the command fails when an assumption the portal relies on
does not hold.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import click
from flask.cli import with_appcontext

from .binding import leat
from .client import LeatClient
from .errors import ErrorKind, LeatError
from .models import VisitPage


@dataclass(frozen=True)
class Finding:
    assumption: str
    expected: str
    answered: str
    holds: bool


def _answer_of(error: LeatError) -> str:
    parts = [f"HTTP {error.status}" if error.status else "no answer"]
    if error.code is not None:
        parts.append(f"code {error.code}")
    parts.append(error.kind.value)
    return ", ".join(parts)


def _ask(assumption: str, expected: str, call: Callable[[], tuple[bool, str]]) -> Finding:
    try:
        holds, answered = call()
    except LeatError as error:
        return Finding(assumption, expected, _answer_of(error), holds=False)
    return Finding(assumption, expected, answered, holds)


def _refused_as(kind: ErrorKind, call: Callable[[], object]) -> Callable[[], tuple[bool, str]]:
    """A call that must fail with ``kind``."""

    def ask() -> tuple[bool, str]:
        try:
            call()
        except LeatError as error:
            return error.kind is kind, _answer_of(error)
        return False, "it succeeded"

    return ask


def check(client: LeatClient) -> list[Finding]:
    """Every assumption, asked once; none of the calls changes anything at Leat."""

    try:
        listed = client.list_shops()
    except LeatError as error:
        token = Finding("the token is accepted", "GET /shops answers", _answer_of(error), False)
        shops = Finding("shops are listed", "at least one shop", "not asked", False)
    else:
        token = Finding("the token is accepted", "GET /shops answers", "it answered", True)
        named = [shop for shop in listed if shop.name]
        shops = Finding(
            "shops are listed", "at least one shop, each named", f"{len(named)} shops", bool(named)
        )

    def pagination() -> tuple[bool, str]:
        page = client.list_visits(limit=1)
        missing = VisitPage.PAGINATION_KEYS - page.meta_keys
        if missing:
            return False, "meta without " + ", ".join(sorted(missing))
        return True, "meta has " + ", ".join(sorted(VisitPage.PAGINATION_KEYS))

    nobody = f"leat-check-{uuid.uuid4().hex}@example.invalid"
    return [
        token,
        shops,
        _ask(
            "the visit list pages as Laravel does",
            "meta with current_page, last_page, per_page, total",
            pagination,
        ),
        _ask(
            "an unknown e-mail address is 'contact not found'",
            "code 55031",
            _refused_as(ErrorKind.CONTACT_NOT_FOUND, lambda: client.find_contact_by_email(nobody)),
        ),
        _ask(
            "an unknown visit is 'not found'",
            "code 60013 (or HTTP 404)",
            _refused_as(ErrorKind.VISIT_GONE, lambda: client.get_visit(str(uuid.uuid4()))),
        ),
    ]


@click.command("leat-check")
@with_appcontext
def leat_check() -> None:
    """Ask the configured Leat, read-only, whether the portal's assumptions hold."""
    client = leat()
    findings = check(client)
    click.echo(f"leat-check: {client.api_url}")
    for finding in findings:
        mark = "ok  " if finding.holds else "FAIL"
        click.echo(f"{mark} {finding.assumption}")
        click.echo(f"     expected: {finding.expected}; answered: {finding.answered}")
    failed = [finding for finding in findings if not finding.holds]
    if failed:
        click.echo(f"{len(failed)} of {len(findings)} assumptions do not hold.", err=True)
        raise SystemExit(1)
    click.echo(f"All {len(findings)} assumptions hold.")
