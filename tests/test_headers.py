"""The security headers on every kind of answer, static files included, and which
answers no cache may keep."""

from __future__ import annotations

import pytest
from helpers import (
    HTMX,
    assert_security_headers,
    csrf_token,
    editor_fields,
    launch_path,
    only_record,
    portal_app,
    portal_config,
    post_visit,
    signed_in,
    soup,
)

from portal.leat_sandbox import seed
from portal.security import DENIED_FEATURES

HTTPS = {"X-Forwarded-Proto": "https"}  # as the PaaS router says it


def hashed_asset(client) -> str:
    """The content-hashed URL of the stylesheet, as the visits page links it."""
    link = soup(client.get("/visits")).find("link", rel="stylesheet")
    return link["href"]


def visit_fields() -> dict[str, str]:
    return {"contact": "anna.devries@example.com", "shop": seed.SHOP_AMSTERDAM}


# Each answer below: (the signed-in client, the app, extra request headers) -> answer.


def visits_page(client, app, headers):
    return client.get("/visits", headers=headers)


def created_fragment(client, app, headers):
    data = {"csrf_token": csrf_token(client), **visit_fields()}
    return client.post("/visits", data=data, headers={**HTMX, **headers})


def editor_fragment(client, app, headers):
    post_visit(client, **visit_fields())
    return client.get(f"/visits/{only_record(app).id}/edit", headers={**HTMX, **headers})


def saved_fragment(client, app, headers):
    post_visit(client, **visit_fields(), source="Till")
    key = only_record(app).id
    data = editor_fields(key, csrf_token=csrf_token(client), source="Till 2")
    return client.put(f"/visits/{key}", data=data, headers={**HTMX, **headers})


def cancelled_fragment(client, app, headers):
    post_visit(client, **visit_fields())
    return client.get(f"/visits/{only_record(app).id}", headers={**HTMX, **headers})


def htmx_error(client, app, headers):
    return client.get("/visits/999999/edit", headers={**HTMX, **headers})


def error_page(client, app, headers):
    return client.get("/no-such-page", headers=headers)


def sign_in_page(client, app, headers):
    return app.test_client().get("/visits", headers=headers)  # no session: 401


def refused_launch(client, app, headers):
    return app.test_client().get("/launch?token=not-a-token", headers=headers)


def launch_redirect(client, app, headers):
    return app.test_client().get(launch_path(), headers=headers)


def healthz(client, app, headers):
    return client.get("/healthz", headers=headers)


def readyz(client, app, headers):
    return client.get("/readyz", headers=headers)


def hashed_static_file(client, app, headers):
    return client.get(hashed_asset(client), headers=headers)


def plain_static_file(client, app, headers):
    return client.get("/static/js/portal.js", headers=headers)


def static_not_modified(client, app, headers):
    url = hashed_asset(client)
    with client.get(url) as first:
        etag = first.headers["ETag"]
    answer = client.get(url, headers={"If-None-Match": etag, **headers})
    assert answer.status_code == 304
    return answer


CUSTOMER_ANSWERS = {
    "visits page": visits_page,
    "created fragment": created_fragment,
    "editor fragment": editor_fragment,
    "saved fragment": saved_fragment,
    "cancelled fragment": cancelled_fragment,
    "htmx error": htmx_error,
    "error page": error_page,
    "401 sign-in page": sign_in_page,
    "refused launch link": refused_launch,
}
OTHER_ANSWERS = {
    "launch redirect": launch_redirect,
    "healthz": healthz,
    "readyz": readyz,
}
STATIC_ANSWERS = {
    "hashed static file": hashed_static_file,
    "plain static file": plain_static_file,
    "static 304": static_not_modified,
}
EVERY_ANSWER = {**CUSTOMER_ANSWERS, **OTHER_ANSWERS, **STATIC_ANSWERS}


@pytest.mark.parametrize("https", [False, True], ids=["http", "https"])
@pytest.mark.parametrize("answer", EVERY_ANSWER)
def test_every_answer_carries_the_security_headers(client, app, answer, https):
    with EVERY_ANSWER[answer](client, app, HTTPS if https else {}) as response:
        assert response.status_code < 500
        assert_security_headers(response, https=https)
        assert response.headers["X-Frame-Options"] == "SAMEORIGIN"


@pytest.mark.parametrize("answer", CUSTOMER_ANSWERS)
def test_answers_that_show_customers_are_never_stored(client, app, answer):
    response = CUSTOMER_ANSWERS[answer](client, app, {})
    assert response.headers["Cache-Control"] == "no-store"


def test_static_files_keep_their_long_cache_and_allow_no_other_origin(client):
    url = hashed_asset(client)
    with client.get(url, headers={"Origin": "https://elsewhere.example"}) as response:
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert "Access-Control-Allow-Origin" not in response.headers
        assert response.headers["Cross-Origin-Resource-Policy"] == "same-origin"


def test_the_permissions_policy_denies_each_feature_once():
    from portal.security import PERMISSIONS_POLICY

    assert PERMISSIONS_POLICY.split(", ") == [f"{feature}=()" for feature in DENIED_FEATURES]
    assert len(set(DENIED_FEATURES)) == len(DENIED_FEATURES)


def test_static_files_inside_the_intranets_frame_name_its_origin(tmp_path, sandbox, database_url):
    config = portal_config(tmp_path, database_url, sandbox)
    config["PORTAL_FRAME_ANCESTORS"] = ("https://intranet.example",)
    with portal_app(config) as app:
        client = signed_in(app)
        for url in ("/visits", hashed_asset(client)):
            with client.get(url) as response:
                policy = response.headers["Content-Security-Policy"]
                assert "frame-ancestors 'self' https://intranet.example" in policy
                assert "X-Frame-Options" not in response.headers
                assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"


def test_a_view_keeps_a_header_it_set_itself(app):
    @app.get("/test-own-headers")
    def own():
        return "own", {"Cache-Control": "private, max-age=5", "Referrer-Policy": "no-referrer"}

    response = signed_in(app).get("/test-own-headers")
    assert response.headers["Cache-Control"] == "private, max-age=5"
    assert response.headers.getlist("Referrer-Policy") == ["no-referrer"]
