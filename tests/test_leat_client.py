"""The Leat client's handling of answers a real sandbox cannot easily give.

Faults with a status and a body come from ``responses``; a silent server and a
closed port are real sockets on loopback, so timeouts are real timeouts.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from urllib.parse import parse_qs

import pytest
import responses
from helpers import closed_port

from portal.config import ConfigError, from_environ
from portal.leat import (
    UNSET,
    ErrorKind,
    LeatAuthError,
    LeatClient,
    LeatMaintenance,
    LeatMalformedResponse,
    LeatNotFound,
    LeatRateLimited,
    LeatRequestError,
    LeatUnavailable,
    LeatValidationError,
)
from portal.leat.throttle import Throttle

BASE = "https://leat.test"
API = BASE + "/api/v3/oauth/clients"
VISIT_UUID = "bfada889-2b4e-4bd9-9c2e-0c5a1f6b2f10"
CONTACT = {"uuid": "15ead936-7f1d-4a43-8a6c-3c2a9b0e6d21", "email": "spongebob@bikinibottom.sea"}
VISIT = {
    "uuid": VISIT_UUID,
    "contact": CONTACT,
    "external_id": "ee33d7e5-1",
    "source": "Website",
    "starts_at": "2024-05-01T20:00:00+00:00",
    "ends_at": "2024-05-01T22:30:00+00:00",
    "created_at": "2024-04-25T13:35:09+00:00",
}


@pytest.fixture
def client():
    leat = LeatClient(BASE, "secret-token", connect_timeout=0.5, read_timeout=0.5)
    yield leat
    leat.close()


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


# -- what every call sends ----------------------------------------------------------


def test_every_call_sends_the_token_accept_header_and_both_timeouts(client, mocked):
    mocked.get(API + "/visits/" + VISIT_UUID, json={"data": VISIT, "meta": []})
    client.get_visit(VISIT_UUID)
    sent = mocked.calls[0].request
    assert sent.headers["Authorization"] == "Bearer secret-token"
    assert sent.headers["Accept"] == "application/json"
    assert sent.req_kwargs["timeout"] == (0.5, 0.5)


def test_proxy_settings_are_read_once_and_netrc_never_replaces_the_token(
    monkeypatch, tmp_path, mocked
):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    (tmp_path / ".netrc").write_text("machine leat.test login someone password other\n")
    (tmp_path / ".netrc").chmod(0o600)
    monkeypatch.setenv("HOME", str(tmp_path))
    leat = LeatClient(BASE, "secret-token")
    # Read at start: a later change of the environment is not looked up per call.
    monkeypatch.setenv("HTTPS_PROXY", "http://elsewhere.example:3128")
    mocked.get(API + "/visits/" + VISIT_UUID, json={"data": VISIT, "meta": []})
    leat.get_visit(VISIT_UUID)
    sent = mocked.calls[0]
    assert sent.request.req_kwargs["proxies"].get("https") == "http://proxy.example:3128"
    assert sent.request.headers["Authorization"] == "Bearer secret-token"
    leat.close()


def test_create_sends_only_the_fields_the_caller_set(client, mocked):
    mocked.post(API + "/visits", json={"data": VISIT, "meta": []}, status=201)
    client.create_visit(contact_uuid=CONTACT["uuid"], shop_uuid="s-1", source="Portal")
    body = parse_qs(mocked.calls[0].request.body)
    assert body == {"contact_uuid": [CONTACT["uuid"]], "shop_uuid": ["s-1"], "source": ["Portal"]}


def test_times_go_to_leat_in_utc_without_fractions(client, mocked):
    """A Laravel backend may keep the wall-clock part of a time and drop its offset:
    only UTC is right under every reading (shared/leat-api.md, Times)."""
    mocked.post(API + "/visits", json={"data": VISIT, "meta": []})
    mocked.put(API + "/visits/v-1", json={"data": VISIT, "meta": []})
    amsterdam = timezone(timedelta(hours=2))
    client.create_visit(
        contact_uuid=CONTACT["uuid"],
        shop_uuid="s-1",
        starts_at=datetime(2024, 5, 1, 22, 0, 5, 123456, tzinfo=amsterdam),
        ends_at=datetime(2024, 5, 2, 0, 30, tzinfo=amsterdam),
    )
    client.update_visit("v-1", starts_at=datetime(2024, 11, 20, 10, 0, tzinfo=amsterdam))
    created = parse_qs(mocked.calls[0].request.body)
    assert created["starts_at"] == ["2024-05-01T20:00:05+00:00"]
    assert created["ends_at"] == ["2024-05-01T22:30:00+00:00"]
    assert parse_qs(mocked.calls[1].request.body)["starts_at"] == ["2024-11-20T08:00:00+00:00"]


def test_create_refuses_a_naive_datetime_rather_than_guess_its_zone(client):
    with pytest.raises(ValueError, match="aware"):
        client.create_visit(contact_uuid="c", shop_uuid="s", starts_at=datetime(2024, 5, 1))


def test_update_sends_only_given_fields_and_none_as_a_clear(client, mocked):
    mocked.put(API + "/visits/" + VISIT_UUID, json={"data": VISIT, "meta": []})
    client.update_visit(VISIT_UUID, source=None, external_id=UNSET, ends_at=UNSET)
    assert parse_qs(mocked.calls[0].request.body, keep_blank_values=True) == {"source": [""]}


def test_an_identifier_with_a_slash_never_reaches_leat(client, mocked):
    with pytest.raises(LeatNotFound):
        client.get_visit("../shops")
    assert len(mocked.calls) == 0


# -- parsing answers -----------------------------------------------------------------


def test_a_visit_parses_into_aware_datetimes_and_ignores_unknown_keys(client, mocked):
    answer = {"data": {**VISIT, "brand_new_key": {"x": 1}}, "meta": [], "extra": True}
    mocked.get(API + "/visits/" + VISIT_UUID, json=answer)
    visit = client.get_visit(VISIT_UUID)
    assert visit.starts_at == datetime(2024, 5, 1, 20, 0, tzinfo=UTC)
    assert visit.starts_at.utcoffset() == timedelta(0)
    assert visit.contact.email == "spongebob@bikinibottom.sea"
    assert visit.raw["brand_new_key"] == {"x": 1}


@pytest.mark.parametrize("status", [200, 201, 202])
def test_any_2xx_is_success(client, mocked, status):
    mocked.post(API + "/visits", json={"data": VISIT, "meta": []}, status=status)
    assert client.create_visit(contact_uuid="c", shop_uuid="s").uuid == VISIT_UUID


@pytest.mark.parametrize("meta", [[], {}, {"current_page": 1}])
def test_meta_may_be_a_list_or_an_object(client, mocked, meta):
    mocked.get(API + "/shops", json={"data": [{"uuid": "s-1", "name": "A"}], "meta": meta})
    assert [shop.name for shop in client.list_shops()] == ["A"]


def test_a_visit_list_reads_laravel_pagination(client, mocked):
    meta = {"current_page": 2, "last_page": 3, "per_page": 1, "total": 3, "from": 2, "to": 2}
    mocked.get(API + "/visits", json={"data": [VISIT], "meta": meta, "links": {}})
    page = client.list_visits(page=2, limit=1, contact_uuid=CONTACT["uuid"])
    assert (page.current_page, page.last_page, page.total, page.has_next) == (2, 3, 3, True)
    query = parse_qs(mocked.calls[0].request.url.split("?", 1)[1])
    assert query == {"page": ["2"], "limit": ["1"], "contact_uuid": [CONTACT["uuid"]]}


@pytest.mark.parametrize(
    "body",
    [
        "<html>Bad gateway</html>",
        '{"data": {"uuid": "x",}, "meta": [],}',  # the docs' own trailing commas
        json.dumps({"meta": []}),
        json.dumps(["not", "an", "object"]),
        json.dumps({"data": {**VISIT, "starts_at": "next tuesday"}}),
        json.dumps({"data": {**VISIT, "starts_at": "2024-05-01T20:00:00"}}),
        json.dumps({"data": {**VISIT, "uuid": None}}),
    ],
    ids=["html", "trailing-commas", "no-data", "list", "bad-date", "no-offset", "no-uuid"],
)
def test_an_answer_that_cannot_be_read_is_a_malformed_response(client, mocked, body):
    mocked.get(API + "/visits/" + VISIT_UUID, body=body, status=200)
    with pytest.raises(LeatMalformedResponse):
        client.get_visit(VISIT_UUID)


# -- typed errors from status and body -------------------------------------------------


def error_body(status, code, message, errors=None):
    body = {"status_code": status, "code": code, "message": message}
    if errors is not None:
        body["errors"] = errors
    return body


def test_validation_errors_carry_field_messages_whether_string_or_list(client, mocked):
    errors = {
        "starts_at": "The starts at field must be a valid date.",
        "source": ["Too long.", "Bad."],
    }
    mocked.post(API + "/visits", json=error_body(422, 1003, "Invalid input", errors), status=422)
    with pytest.raises(LeatValidationError) as caught:
        client.create_visit(contact_uuid="c", shop_uuid="s")
    assert caught.value.field_errors == {
        "starts_at": ["The starts at field must be a valid date."],
        "source": ["Too long.", "Bad."],
    }
    assert (caught.value.status, caught.value.code) == (422, 1003)
    assert caught.value.leat_message == "Invalid input"


def test_a_validation_error_without_errors_still_has_leats_message(client, mocked):
    mocked.put(API + "/visits/" + VISIT_UUID, json=error_body(422, 1003, "Nope"), status=422)
    with pytest.raises(LeatValidationError) as caught:
        client.update_visit(VISIT_UUID, source="x")
    assert caught.value.field_errors == {}
    assert caught.value.leat_message == "Nope"


@pytest.mark.parametrize("status", [400, 422])
@pytest.mark.parametrize("code", [55031, 1008])
def test_unknown_contact_or_shop_is_not_found_whatever_the_status(client, mocked, status, code):
    mocked.post(API + "/visits", json=error_body(status, code, "Not found"), status=status)
    with pytest.raises(LeatNotFound) as caught:
        client.create_visit(contact_uuid="c", shop_uuid="s")
    assert caught.value.code == code


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_token_is_an_auth_error(client, mocked, status):
    mocked.get(API + "/shops", json={"message": "Unauthenticated."}, status=status)
    with pytest.raises(LeatAuthError) as caught:
        client.list_shops()
    assert caught.value.leat_message == "Unauthenticated."


def test_rate_limited_reads_retry_after_in_seconds(client, mocked):
    mocked.get(
        API + "/shops",
        json=error_body(429, None, "Too Many Attempts."),
        status=429,
        headers={"Retry-After": "7"},
    )
    with pytest.raises(LeatRateLimited) as caught:
        client.list_shops()
    assert caught.value.retry_after == 7


def test_rate_limited_reads_retry_after_as_an_http_date(client, mocked):
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    mocked.get(API + "/shops", body="slow down", status=429, headers={"Retry-After": later})
    with pytest.raises(LeatRateLimited) as caught:
        client.list_shops()
    assert 25 <= caught.value.retry_after <= 31


def test_rate_limited_without_retry_after(client, mocked):
    mocked.get(API + "/shops", body="", status=429)
    with pytest.raises(LeatRateLimited) as caught:
        client.list_shops()
    assert caught.value.retry_after is None


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("<html><h1>Be right back.</h1></html>", "text/html"),
        (json.dumps(error_body(503, None, "Service Unavailable")), "application/json"),
        ("", "text/plain"),
    ],
)
def test_503_is_maintenance_whatever_its_body(client, mocked, body, content_type):
    mocked.get(API + "/shops", body=body, status=503, content_type=content_type)
    with pytest.raises(LeatMaintenance) as caught:
        client.list_shops()
    assert isinstance(caught.value, LeatUnavailable)
    assert caught.value.status == 503


@pytest.mark.parametrize("status", [500, 502, 504])
def test_other_5xx_are_unavailable_and_a_create_may_have_happened(client, mocked, status):
    mocked.post(API + "/visits", body="<html>oops</html>", status=status)
    with pytest.raises(LeatUnavailable) as caught:
        client.create_visit(contact_uuid="c", shop_uuid="s")
    assert not isinstance(caught.value, LeatMaintenance)
    assert caught.value.may_have_happened is True
    assert caught.value.status == status


def test_a_404_is_not_found_with_leats_code_and_message(client, mocked):
    mocked.get(
        API + "/visits/" + VISIT_UUID, json=error_body(404, 4040, "Visit not found."), status=404
    )
    with pytest.raises(LeatNotFound) as caught:
        client.get_visit(VISIT_UUID)
    assert (caught.value.code, caught.value.leat_message) == (4040, "Visit not found.")


def test_another_4xx_is_a_request_error(client, mocked):
    mocked.post(API + "/visits", json=error_body(409, 77, "Conflict"), status=409)
    with pytest.raises(LeatRequestError) as caught:
        client.create_visit(contact_uuid="c", shop_uuid="s")
    assert (caught.value.status, caught.value.code) == (409, 77)


# -- real sockets: a closed port and a server that never answers --------------------------


def unavailable_create(base_url: str, read_timeout: float) -> LeatUnavailable:
    """What a create raises when Leat at ``base_url`` gives no answer."""
    leat = LeatClient(base_url, "t", connect_timeout=1, read_timeout=read_timeout)
    with closing(leat), pytest.raises(LeatUnavailable) as caught:
        leat.create_visit(contact_uuid="c", shop_uuid="s")
    return caught.value


def test_connection_refused_is_unavailable_and_surely_did_not_happen():
    error = unavailable_create(f"http://127.0.0.1:{closed_port()}", read_timeout=1)
    assert error.may_have_happened is False


@pytest.fixture
def silent_server():
    """Accepts connections, reads the request, and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def serve():
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            accepted.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(timeout=2)
    for conn in accepted:
        conn.close()
    listener.close()


def test_a_read_timeout_is_unavailable_and_a_create_may_have_happened(silent_server):
    started = time.monotonic()
    error = unavailable_create(silent_server, read_timeout=0.3)
    assert error.may_have_happened is True
    assert time.monotonic() - started < 3, "the read timeout was not applied"


# -- the optional cap on calls per second --------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def test_the_throttle_spaces_call_starts_evenly():
    clock = FakeClock()
    throttle = Throttle(5, clock=clock, sleep=clock.sleep)
    for _ in range(6):
        throttle.wait()
    assert clock.slept == [0.2] * 5  # the first goes at once; then one every 1/5 s
    clock.now += 10  # idle: no debt carried over
    throttle.wait()
    assert len(clock.slept) == 5


def test_a_capped_client_waits_its_turn_before_each_call(mocked, monkeypatch):
    mocked.get(API + "/shops", json={"data": [], "meta": {}})
    waited = []
    monkeypatch.setattr(Throttle, "wait", lambda self: waited.append(self._interval))
    capped = LeatClient(BASE, "t", max_calls_per_second=5)
    capped.list_shops()
    capped.list_shops()
    assert waited == [0.2, 0.2]


def test_the_cap_is_read_from_the_environment():
    assert from_environ({}, "instance")["LEAT_MAX_CALLS_PER_SECOND"] is None
    assert (
        from_environ({"LEAT_MAX_CALLS_PER_SECOND": "5"}, "instance")["LEAT_MAX_CALLS_PER_SECOND"]
        == 5.0
    )
    with pytest.raises(ConfigError, match="LEAT_MAX_CALLS_PER_SECOND"):
        from_environ({"LEAT_MAX_CALLS_PER_SECOND": "-1"}, "instance")


@pytest.mark.parametrize(
    ("code", "kind", "error_class", "transient"),
    [
        (1003, ErrorKind.INVALID_INPUT, LeatValidationError, False),
        (55031, ErrorKind.CONTACT_NOT_FOUND, LeatNotFound, False),
        (1008, ErrorKind.SHOP_NOT_FOUND, LeatNotFound, False),
        (60013, ErrorKind.VISIT_GONE, LeatNotFound, False),
        (60000, ErrorKind.CONTACT_LIMIT, LeatRequestError, False),
        (60005, ErrorKind.CONTACT_EXISTS, LeatRequestError, False),
        (7002, ErrorKind.ACCOUNT_INACTIVE, LeatAuthError, True),
        (7011, ErrorKind.NO_ACCESS, LeatAuthError, True),
        (77001, ErrorKind.UNKNOWN, LeatRequestError, False),
    ],
)
def test_leats_documented_400_is_classified_by_its_code(
    client, mocked, code, kind, error_class, transient
):
    """Leat's error page: every error is HTTP 400 with a code; the code decides."""
    mocked.post(API + "/visits", json=error_body(400, code, "Something."), status=400)
    with pytest.raises(error_class) as caught:
        client.create_visit(contact_uuid="c", shop_uuid="s")
    assert (caught.value.kind, caught.value.transient) == (kind, transient)
    assert (caught.value.code, caught.value.leat_message) == (code, "Something.")
