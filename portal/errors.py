"""Every error answer, in one place: a page for a browser, a message for htmx.

htmx 4 swaps 4xx/5xx answers like any other, into whatever the request aimed at: left
to Werkzeug, a stale Edit put "Not Found — The requested URL was not found on the
server" inside a table row. So an htmx request that fails gets a short message in the
manager's words, aimed with HX-Retarget/HX-Reswap at the page's message area
(``#alerts`` in base.html), and the row or form it came from stays as it was. A
browser without htmx gets a whole page in the portal's layout, with the status and a
way on. The status decides the words; the request decides the shape.

A form that fails validation is not an error in this sense: its view answers 422 with
the form and its errors, and htmx swaps that where the form is. Such answers, like
these, carry ``ERROR_ANSWER_HEADER``, by which static/js/portal.js tells the portal's
own error answers from anybody else's (gunicorn's, the router's, a proxy's).
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass

from flask import Flask, Response, current_app, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from werkzeug.exceptions import HTTPException, InternalServerError

from .auth.routes import demo_link
from .htmx import is_partial
from .i18n import _, _l, current_language

# The element in base.html that every htmx error answer replaces the content of.
MESSAGE_AREA = "#alerts"
# Marks an error answer the portal made on purpose for an htmx request, to be swapped
# as its headers say. portal.js drops any error answer without it.
ERROR_ANSWER_HEADER = "X-Portal-Answer"


@dataclass(frozen=True)
class Explanation:
    """What a shop manager reads: a page's heading, what happened, and what to do.

    ``reload``, when set, is a sentence that starts with "Reload the page" and is
    shown as a link to the visits page.
    """

    # Lazy strings (i18n.lazy_gettext): said in the language of the request.
    title: str
    message: str
    reload: str | None = None


TRY_AGAIN = _l("Reload the page and try again.")

PAGE_EXPIRED = Explanation(
    _l("This page has expired"), _l("This page has expired, so nothing was saved."), TRY_AGAIN
)
# Said where the manager was typing: sending them away would lose what they typed.
SESSION_ENDED = Explanation(
    _l("Your session has ended"),
    _l(
        "Your session has ended, so this was not saved. Open the portal again from your "
        "intranet to continue; what you typed stays on this page until you leave it."
    ),
)
SOMETHING_WENT_WRONG = Explanation(
    _l("Something went wrong"),
    _l("Something went wrong in the portal, so this may not have been done."),
    _l("Reload the page to see what was saved before you try again."),
)

EXPLANATIONS = {
    400: Explanation(
        _l("The request was not understood"),
        _l("The portal could not understand what this page sent, so nothing was saved."),
        TRY_AGAIN,
    ),
    401: SESSION_ENDED,
    403: Explanation(
        _l("Not one of your shops"),
        _l(
            "You may not do this for that shop, so nothing was saved. "
            "If you should be able to, ask your administrator."
        ),
    ),
    404: Explanation(
        _l("Not found"),
        _l(
            "This visit or page does not exist (any more), or it belongs to a shop "
            "that is not yours."
        ),
        _l("Reload the page to see your visits as they are now."),
    ),
    405: Explanation(
        _l("Not possible here"),
        _l("The portal cannot do this here, so nothing was changed."),
        TRY_AGAIN,
    ),
    413: Explanation(
        _l("Too much to send"),
        _l(
            "What was sent is too large for the portal, so nothing was saved. "
            "Shorten the longest text and try again."
        ),
    ),
    422: Explanation(
        _l("Not accepted"),
        _l("The portal could not accept this, so nothing was changed."),
        TRY_AGAIN,
    ),
    429: Explanation(
        _l("Too many requests"),
        _l(
            "Too many requests reached the portal in a short time, so this was not done. "
            "Wait a minute and try again."
        ),
    ),
    500: SOMETHING_WENT_WRONG,
    502: Explanation(
        _l("No answer from a service the portal needs"),
        _l(
            "The portal did not get a proper answer from a service it needs, so this may "
            "not have been done. If it keeps happening, tell your administrator."
        ),
        _l("Reload the page in a few minutes to see what was saved before you try again."),
    ),
    503: Explanation(
        _l("Not available just now"),
        _l(
            "The portal is not available just now (maintenance or heavy use), so this may "
            "not have been done. Try again in a few minutes."
        ),
    ),
}
# Statuses the portal does not produce itself today, by their class.
OTHER_REFUSAL = Explanation(
    _l("This could not be done"),
    _l("The portal could not do this, so nothing was changed."),
    TRY_AGAIN,
)


def explain(error: HTTPException) -> Explanation:
    if isinstance(error, CSRFError):
        # The form's token no longer matches the session: it expired, or the page is old.
        return PAGE_EXPIRED
    code = error.code or 500
    return EXPLANATIONS.get(code) or (SOMETHING_WENT_WRONG if code >= 500 else OTHER_REFUSAL)


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, answer_http_error)
    app.register_error_handler(Exception, answer_unexpected)

    @app.after_request
    def mark_error_answers(response: Response) -> Response:
        if response.status_code >= 400 and is_partial():
            response.headers[ERROR_ANSWER_HEADER] = "1"
        return response


def answer_http_error(error: HTTPException):
    if error.response is not None:
        return error.response  # a view built this answer itself, on purpose
    try:
        return _answer(error)
    except Exception:
        # The answer's own template failed (a broken template, a dead database in a
        # context processor): still no Werkzeug page, and still the same words.
        current_app.logger.exception("the error answer could not be rendered")
        return _bare_answer(error)


def answer_unexpected(error: Exception):
    """A bug or an outage nobody caught: logged in full here, answered as a 500."""
    current_app.logger.error(
        "unexpected error",
        exc_info=error,
        extra={
            "method": request.method,
            "path": request.path,  # no query: a launch link's token stays out
            "traceback": "".join(traceback.format_exception(error)),
        },
    )
    return answer_http_error(InternalServerError(original_exception=error))


def _answer(error: HTTPException) -> Response:
    explanation = explain(error)
    headers = _kept_headers(error)
    if is_partial():
        headers += [("HX-Retarget", MESSAGE_AREA), ("HX-Reswap", "innerHTML")]
        body = render_template("errors/_message.html", explanation=explanation)
    elif error.code == 401:
        body = render_template("auth/sign_in.html", demo_link=demo_link())
    else:
        body = render_template("errors/page.html", explanation=explanation)
    return _response(body, error, headers)


def _bare_answer(error: HTTPException) -> Response:
    explanation = explain(error)
    headers = _kept_headers(error)
    words = escape(str(explanation.message))
    if explanation.reload:
        words += " " + escape(str(explanation.reload))
    if is_partial():
        headers += [("HX-Retarget", MESSAGE_AREA), ("HX-Reswap", "innerHTML")]
        body = f'<p class="alert" tabindex="-1" autofocus>{words}</p>'
    else:
        body = (
            f'<!doctype html><html lang="{escape(_language())}"><head><meta charset="utf-8">'
            f"<title>{escape(str(explanation.title))} · {escape(_('Leat visits portal'))}"
            f"</title></head><body><main><h1>{escape(str(explanation.title))}</h1><p>{words}</p>"
            f'<p><a href="/visits">{escape(_("Go to your visits"))}</a></p></main></body></html>'
        )
    return _response(body, error, headers)


def _language() -> str:
    try:
        return current_language()
    except Exception:  # the bare answer must come whatever failed
        return "en"


def _kept_headers(error: HTTPException) -> list[tuple[str, str]]:
    # Werkzeug's own headers carry meaning (Allow on a 405, Retry-After on a 429 or
    # 503, WWW-Authenticate); only its Content-Type is for its own page.
    return [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]


def _response(body: str, error: HTTPException, headers: list[tuple[str, str]]) -> Response:
    response = make_response(body, error.code or 500, headers)
    # One URL answers a page or a fragment: caches must keep them apart.
    response.vary.add("HX-Request")
    return response
