"""Logs: one JSON line per event, each with the request id, and nothing secret in them."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa
from helpers import LAUNCH_SECRET, csrf_token, launch_path
from sqlalchemy.exc import SQLAlchemyError

from portal.database import db
from portal.leat_sandbox import seed


def lines(capsys) -> list[dict]:
    out = capsys.readouterr().out
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_the_routers_request_id_is_used_and_echoed(anonymous, capsys):
    response = anonymous.get("/healthz", headers={"X-Request-ID": "router-123"})
    assert response.headers["X-Request-ID"] == "router-123"
    (access,) = [line for line in lines(capsys) if line["logger"] == "portal.access"]
    assert access["request_id"] == "router-123"
    assert (access["method"], access["path"], access["status"]) == ("GET", "/healthz", 200)
    assert access["duration_ms"] >= 0


def test_a_request_without_an_id_gets_a_new_one(anonymous):
    first = anonymous.get("/healthz").headers["X-Request-ID"]
    second = anonymous.get("/healthz").headers["X-Request-ID"]
    assert len(first) == 32
    assert first != second


def test_leat_calls_are_logged_by_template_with_the_request_id(client, capsys):
    capsys.readouterr()
    data = {"contact": "anna.devries@example.com", "shop": seed.SHOP_AMSTERDAM}
    page = client.get("/visits", headers={"X-Request-ID": "page-1"})
    assert page.status_code == 200
    token = csrf_token(page)
    client.post(
        "/visits",
        data={**data, "csrf_token": token},
        headers={"HX-Request": "true", "X-Request-ID": "create-1"},
    )
    logged = lines(capsys)
    calls = [line for line in logged if line["logger"] == "portal.leat"]
    assert {(c["method"], c["path"]) for c in calls if c["request_id"] == "create-1"} == {
        ("GET", "/contacts/find-one-by"),
        ("POST", "/visits"),
    }
    assert all(c["status"] in (200, 201) and c["retries"] == 0 for c in calls)
    text = json.dumps(logged)
    assert "anna.devries@example.com" not in text
    assert seed.CONTACT_ANNA not in text


def test_a_launch_link_never_reaches_the_log(app, capsys):
    path = launch_path()
    token = path.split("token=")[1]
    app.test_client().get(path)
    app.test_client().get(path)  # refused the second time, and logged as such
    out = capsys.readouterr().out
    assert token not in out
    assert LAUNCH_SECRET not in out
    assert '"path": "/launch"' in out


@pytest.mark.parametrize(
    "given",
    ["router-1", "b6c6a4e2-3b1f-4c8e-9d3a-0f1e2d3c4b5a", "A" * 64],
    ids=["short token", "uuid", "64 characters"],
)
def test_a_request_id_that_looks_like_one_is_kept(anonymous, capsys, given):
    response = anonymous.get("/healthz", headers={"X-Request-ID": given})
    assert response.headers["X-Request-ID"] == given
    (access,) = [line for line in lines(capsys) if line["logger"] == "portal.access"]
    assert access["request_id"] == given


@pytest.mark.parametrize(
    "given",
    [
        "short",  # under 8 characters
        "A" * 65,  # over 64
        "has spaces in it",
        'x", "level": "critical',  # a forged JSON field
        "<script>alert(1)</script>",
        "under_score_and.dot",
        "caf\u00e9-caf\u00e9-caf\u00e9",
    ],
)
def test_any_other_request_id_is_replaced_by_a_new_one(anonymous, capsys, given):
    response = anonymous.get("/healthz", headers={"X-Request-ID": given})
    new = response.headers["X-Request-ID"]
    assert new != given
    assert re.fullmatch(r"[0-9a-f]{32}", new)
    (access,) = [line for line in lines(capsys) if line["logger"] == "portal.access"]
    assert access["request_id"] == new


def test_a_database_error_never_quotes_the_values_bound_to_it(app):
    # Such an error's text reaches the log (the web's traceback field) and stderr.
    with app.app_context():
        with pytest.raises(SQLAlchemyError) as caught:
            db.session.execute(
                sa.text("SELECT id FROM no_such_table WHERE email = :email"),
                {"email": "anna.devries@example.com"},
            )
        db.session.rollback()
    assert "no_such_table" in str(caught.value)
    assert "anna.devries@example.com" not in str(caught.value)
