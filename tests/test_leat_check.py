"""``flask --app wsgi leat-check`` against the sandbox: every assumption holds under
each reading of Leat's errors, and a broken assumption fails the command."""

from __future__ import annotations

import pytest

from portal.leat_sandbox import Fault, create_sandbox_app


@pytest.fixture(params=["documented", "legacy"])
def sandbox_app(request, sandbox_db):
    return create_sandbox_app(str(sandbox_db), error_style=request.param)


def run_check(app):
    return app.test_cli_runner().invoke(args=["leat-check"])


def test_every_assumption_holds_against_the_sandbox(app):
    result = run_check(app)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert sum(line.startswith("ok") for line in lines) == 5
    assert "expected: code 55031; answered: HTTP" in result.output
    assert "All 5 assumptions hold." in result.output


def test_a_refused_token_fails_the_check(app, sandbox):
    sandbox.faults.inject(Fault(status=401, body='{"message": "Unauthenticated."}'), times=None)
    result = run_check(app)
    assert result.exit_code == 1
    assert "FAIL the token is accepted" in result.output
    assert "answered: HTTP 401, auth" in result.output


def test_a_visit_list_without_laravels_pagination_fails_the_check(app, sandbox):
    other_meta = '{"data": [], "meta": {"page": 1, "limit": "1", "viewing_from": 0}}'
    sandbox.faults.inject(Fault(status=200, body=other_meta), method="GET", path="/visits")
    result = run_check(app)
    assert result.exit_code == 1
    assert "FAIL the visit list pages as Laravel does" in result.output
    assert "meta without current_page, last_page, per_page, total" in result.output
