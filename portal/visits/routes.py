"""The visits page: create a visit, list them, edit one in place, retry one.

Each view is form → service → ``render_outcome``. Every answer comes in two shapes
from the same templates: a fragment for htmx, a whole page (or a 303 back to it) for
a browser without JavaScript. Rows are addressed by the local record's id, which a
visit keeps for life, before and after Leat confirms it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)

from ..auth import current_manager, sessions
from ..htmx import is_partial
from ..i18n import _
from ..leat import LeatError
from ..models import Delivery
from . import export, queries, row_cache, service
from .forms import CreateVisitForm, EditVisitForm, portal_zone
from .outcome import Outcome, Reason, Result
from .search import FindVisitsForm
from .wording import delivered_message, field_text, outcome_message, reason_text

bp = Blueprint("visits", __name__)


@bp.after_request
def vary_on_htmx(response):
    # One URL answers a page or a fragment: caches must keep them apart.
    response.vary.add("HX-Request")
    response.vary.add("HX-History-Restore-Request")  # htmx's Back wants the page
    return response


@bp.context_processor
def contact_suggestions():
    # The create form is drawn by the page, by its own answers and by a create's:
    # each lists the recent contacts of the shop it shows, asked only when drawn.
    def recent_contacts(shop_uuid=None):
        return queries.recent_contacts(current_manager(), known_shop(shop_uuid))

    return {"recent_contacts": recent_contacts}


@bp.get("/")
def root():
    return redirect(url_for("visits.index"))


@bp.get("/visits")
def index():
    """The page; for the search form and the page links (htmx), the results alone."""
    find = find_form()
    if is_partial():
        return search_answer(find)
    return render_page(blank_create_form(), find=find)


@bp.get("/visits.csv")
def download():
    """Every visit the search selects (every page of it) as a CSV file, streamed."""
    find = find_form()
    if find.errors:
        abort(400)  # the page with the same address says what to correct
    names, zone = shop_names(), portal_zone()
    records = queries.each_matching(current_manager(), find.visit_filter())
    response = Response(
        stream_with_context(export.csv_chunks(records, names, zone)), mimetype="text/csv"
    )
    today = datetime.now(UTC).astimezone(zone).date()
    response.headers["Content-Disposition"] = f'attachment; filename="visits-{today}.csv"'
    # Customers' e-mail addresses: no copy stays in a browser's or a proxy's cache.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/visits")
def create():
    shops, problem = load_shops()
    form = CreateVisitForm(shops=shops)
    if form.shop.data and not current_manager().may_use(form.shop.data):
        abort(403)  # the intranet did not give this manager that shop
    if problem:
        form.form_errors.append(problem)
        return form_answer("create", form, 503)
    if not form.validate_on_submit():
        return form_answer("create", form, 422)
    outcome = service.create(form.new_visit(), current_manager())
    return render_outcome("create", outcome, form)


@bp.get("/visits/recent-contacts")
def recent_contacts():
    """The Contact field's suggestions, following the Shop chosen (htmx swaps them in)."""
    shop_uuid = request.args.get("shop") or None
    if shop_uuid and not current_manager().may_use(shop_uuid):
        abort(403)
    if not is_partial():
        return redirect(url_for("visits.index"), code=303)
    return render_template("visits/_recent_contacts.html", shop_uuid=known_shop(shop_uuid))


def known_shop(shop_uuid: str | None) -> str | None:
    """A shop the manager may use and Leat knows, or None (all their shops): what a
    form sent back is never put in a query unchecked (PostgreSQL refuses a NUL)."""
    if shop_uuid and any(shop.uuid == shop_uuid for shop in load_shops()[0]):
        return shop_uuid
    return None


@bp.get("/visits/<int:record_id>/edit")
def edit(record_id: int):
    row = row_or_404(record_id)
    form = editor_form(row, formdata=None)
    if is_partial():
        return render_template("visits/_row_editor.html", row=row, form=form)
    return render_page(blank_create_form(), editors={row.id: form})


@bp.route("/visits/<int:record_id>", methods=["PUT", "POST"])
def save(record_id: int):
    row = row_or_404(record_id)
    form = editor_form(row)
    if not form.validate_on_submit():
        return form_answer("save", form, 422, row=row)
    outcome = service.update(row.record, form.changes(), current_manager())
    return render_outcome("save", outcome, form)


@bp.post("/visits/<int:record_id>/retry")
def retry(record_id: int):
    """Retry now: deliver this pending (or corrected) record at once."""
    row = row_or_404(record_id)
    return render_outcome("retry", service.retry(row.record))


@bp.post("/visits/<int:record_id>/record-again")
def record_again(record_id: int):
    """A visit deleted at Leat: record it there anew from what the portal knows."""
    row = row_or_404(record_id)
    return render_outcome("record_again", service.record_again(row.record))


@bp.post("/visits/<int:record_id>/set-aside")
def set_aside(record_id: int):
    """Leave a refused visit out of Leat; it stays in the list, marked."""
    row = row_or_404(record_id)
    return render_outcome("set_aside", service.set_aside(row.record))


@bp.get("/visits/<int:record_id>")
def show(record_id: int):
    """Cancel: the row as it is now, without asking Leat."""
    row = row_or_404(record_id)
    if not is_partial():
        return redirect(url_for("visits.index"), code=303)
    return render_template("visits/_row.html", row=row, focus_edit=True)


@bp.get("/visits/<int:record_id>/row")
def watch(record_id: int):
    """A pending row asks every few seconds (templates/visits/_row.html) whether Leat
    has it yet: nothing to swap (204) while it still waits, else the row as it is now,
    so a manager watching sees the worker deliver it without reloading. A poll is not
    the manager at work: it does not keep an idle session alive."""
    sessions.not_activity()
    row = row_or_404(record_id)
    if not is_partial():
        return redirect(url_for("visits.index"), code=303)
    if row.state is Delivery.PENDING:
        return "", 204
    message, tone = delivered_message(row) if row.state is Delivery.CONFIRMED else (None, None)
    return render_template(
        "visits/_watch_answer.html",
        row=row,
        message=message,
        tone=tone,
        queue=queries.waiting(current_manager()),
    )


# -- answers ---------------------------------------------------------------------------


def render_outcome(action: str, outcome: Outcome, form=None):
    """The one answer to a create, a save or a retry, in either shape."""
    needs_attention = outcome.record is not None and outcome.record.status is Delivery.ATTENTION
    if (
        outcome.result is Result.REFUSED
        and form is not None
        and (outcome.field_reasons or not needs_attention)
    ):
        # The manager can correct it: the form again, with what they typed and why.
        # (A refusal about no field, such as a visit deleted at Leat, is told on its row.)
        row = service.row_for(outcome.record, shop_names()) if outcome.record else None
        place_reasons(form, outcome)
        return form_answer(action, form, 422, row=row)
    row = service.row_for(outcome.record, shop_names())
    queue = queries.waiting(current_manager())
    message, tone = outcome_message(action, outcome, row, retry_at(outcome.record, queue))
    if not is_partial():
        flash(message, tone.value)
        return redirect(url_for("visits.index"), code=303)
    answer = "visits/_create_answer.html" if action == "create" else "visits/_save_answer.html"
    fresh = None
    if action == "create":
        # The next visit is most likely at the same shop on the same day.
        fresh = blank_create_form(shop=form.shop.data, date=form.date.data)
    return render_template(
        answer,
        form=fresh,
        row=row,
        message=message,
        tone=tone,
        queue=queue,
    )


def retry_at(record, queue) -> datetime | None:
    """When the portal next sends a waiting record: its own next attempt, or the end of
    the queue's pause if that is later (None when it is not waiting)."""
    if record is None or record.status is not Delivery.PENDING:
        return None
    moments = [record.next_attempt_at, queue.paused.until if queue.paused else None]
    moments = [m if m is None or m.tzinfo else m.replace(tzinfo=UTC) for m in moments]
    return max((m for m in moments if m is not None), default=None)


def place_reasons(form, outcome: Outcome) -> None:
    """Each reason under its field when the form has that field, else on the form."""
    by_email = getattr(form, "contact_kind", "email") == "email"
    for name, reasons in outcome.field_reasons.items():
        texts = [field_text(reason, by_email=by_email) for reason in reasons]
        if name in form:
            form[name].errors = [*form[name].errors, *texts]
        else:
            form.form_errors.extend(texts)
    if outcome.reason is not None:
        form.form_errors.append(reason_text(outcome.reason, by_email=by_email))


def form_answer(action: str, form, status: int, row=None):
    """A form with its errors: in place for htmx (with the queue's state, which a
    refusal from Leat changes), in the whole page otherwise."""
    if is_partial():
        queue = render_template(
            "visits/_queue_answer.html", queue=queries.waiting(current_manager())
        )
        if action == "create":
            return render_template("visits/_create_form.html", form=form) + queue, status
        return render_template("visits/_row_editor.html", row=row, form=form) + queue, status
    if action == "create":
        return render_page(form, status=status)
    return render_page(blank_create_form(), status=status, editors={row.id: form})


def render_page(create_form, *, status=200, editors=None, find=None):
    manager = current_manager()
    find = find if find is not None else find_form()
    page, rows = found(find)
    body = render_template(
        "visits/index.html",
        form=create_form,
        find=find,
        rows=rows,
        page=page,
        editors=editors or {},
        queue=queries.waiting(manager),
        has_errors=bool(create_form.errors or find.errors)
        or any(form.errors for form in (editors or {}).values()),
    )
    return body, 400 if find.errors else status


def search_answer(find):
    """The results region alone (table, pages, count, download link) for htmx."""
    page, rows = found(find)
    # A page link is gone once the answer is in: the keyboard's place becomes the new
    # table, not the top of the document. A search leaves the focus where the manager
    # types. (htmx 4 names the element that sent the request as tag#id.)
    from_link = request.headers.get("HX-Source", "").partition("#")[0] == "a"
    body = render_template(
        "visits/_search_answer.html",
        find=find,
        rows=rows,
        page=page,
        editors={},
        focus_table=from_link,
    )
    response = make_response(body, 400 if find.errors else 200)
    if page is not None:
        # The address of what is shown, without the empty fields the form sends: what
        # Back returns to and a bookmark keeps.
        response.headers["HX-Push-Url"] = url_for("visits.index", **find.args(page.page))
    return response


# -- finding visits ----------------------------------------------------------------------


def find_form() -> FindVisitsForm:
    """The search form as the URL fills it, checked. Another shop's visits do not exist
    for this manager, so naming that shop is answered as not found."""
    form = FindVisitsForm(request.args, shops=load_shops()[0])
    if form.shop.data and not current_manager().may_use(form.shop.data):
        abort(404)
    form.validate()
    return form


def found(find: FindVisitsForm):
    """The page of records the search selects and its rows; none for a search that
    cannot be used (the page says what to correct)."""
    if find.errors:
        return None, []
    page = queries.page_of_records(page_number(), current_manager(), find.visit_filter())
    names = shop_names()
    rows = [service.row_for(record, names) for record in page.items]
    # A row the cache has is drawn from its record's id and version alone.
    queries.load_details([row.record for row in rows if not row_cache.drawn(row)])
    return page, rows


# -- helpers ---------------------------------------------------------------------------


def load_shops():
    """The manager's shops and None, or ([], a message) when Leat fails; once a request."""
    if "shops" not in g:
        try:
            g.shops, g.shops_problem = current_manager().visible(service.shops()), None
        except LeatError as exc:
            g.shops = []
            g.shops_problem = _(
                "The list of shops could not be loaded. %(reason)s",
                reason=reason_text(Reason.of(exc)),
            )
    return g.shops, g.shops_problem


def page_number() -> int:
    """``?page=``: absent is the first page; a number that is no page (negative, zero,
    not a number, too large for the database's offset) is a page that does not exist."""
    raw = request.args.get("page", "")
    if not raw:
        return 1
    # Digits only, and few enough of them to convert cheaply before comparing.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= len(str(queries.MAX_PAGE))):
        abort(404)
    number = int(raw)
    if not 1 <= number <= queries.MAX_PAGE:
        abort(404)
    return number


def shop_names():
    return {shop.uuid: shop.name for shop in load_shops()[0]}


def blank_create_form(**data):
    shops, problem = load_shops()
    form = CreateVisitForm(formdata=None, shops=shops, **data)
    if problem:
        form.form_errors.append(problem)
    return form


def editor_form(row, **kwargs):
    return EditVisitForm(obj=row.visit, visit=row.visit, prefix=f"visit-{row.id}", **kwargs)


def row_or_404(record_id: int):
    """The manager's record as a row; another shop's is answered as if it did not exist."""
    record = queries.record_of(current_manager(), record_id)
    if record is None:
        abort(404)
    return service.row_for(record, shop_names())
