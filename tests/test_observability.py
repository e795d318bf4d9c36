"""Logs: one JSON line per event, each with the request id, and nothing secret in them."""

from __future__ import annotations

import json

from helpers import LAUNCH_SECRET, csrf_token, launch_path

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
