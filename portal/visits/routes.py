"""The visits page: create a visit, list them, edit one in place.

Every answer comes in two shapes from the same templates: a fragment for htmx, a
whole page (or a 303 back to it) for a browser without JavaScript.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from ..auth import current_manager
from ..htmx import is_partial
from ..leat import CONTACT_NOT_FOUND, SHOP_NOT_FOUND, LeatError, LeatNotFound, LeatValidationError
from ..leat_messages import manager_message, status_for
from . import service
from .delivery import Refused
from .forms import DEFAULT_SOURCE, CreateVisitForm, EditVisitForm
from .service import RepeatedSubmission

bp = Blueprint("visits", __name__)

# Leat's field names, as its validation errors name them, onto the forms' fields.
LEAT_FIELDS = {
    "contact_uuid": "contact",
    "email": "contact",
    "shop_uuid": "shop",
    "starts_at": "starts_at",
    "ends_at": "ends_at",
    "source": "source",
    "external_id": "external_id",
}


@bp.after_request
def vary_on_htmx(response):
    # One URL answers a page or a fragment: caches must keep them apart.
    response.vary.add("HX-Request")
    return response


@bp.get("/")
def root():
    return redirect(url_for("visits.index"))


@bp.get("/visits")
def index():
    return render_page(blank_create_form())


@bp.post("/visits")
def create():
    shops, problem = load_shops()
    form = CreateVisitForm(shops=shops)
    if form.shop.data and not current_manager().may_use(form.shop.data):
        abort(403)  # the intranet did not give this manager that shop
    if problem:
        form.form_errors.append(problem)
        return create_failed(form, 502)
    if not form.validate_on_submit():
        return create_failed(form, 422)
    try:
        record, failure = service.create_visit(
            contact_kind=form.contact_kind,
            contact=form.contact.data,
            create_contact=form.create_contact.data,
            shop_uuid=form.shop.data,
            starts_at=form.starts_at.data,
            ends_at=form.ends_at.data,
            source=form.source.data or DEFAULT_SOURCE,
            external_id=form.external_id.data or None,
            manager=current_manager(),
            submission_key=form.submission_key.data or None,
        )
    except Refused as refused:
        return create_failed(form, explain(form, refused.error))
    except RepeatedSubmission as repeat:
        # A double click, a browser's retry, back-and-resubmit: the first result.
        record, failure = repeat.record, None

    row = service.row_for(record, shop_names())
    message = outcome_message(
        row, failure, f"Visit of {row.contact_label} at {row.shop_name} recorded."
    )
    if not is_partial():
        flash(message)
        return redirect(url_for("visits.index"), code=303)
    fresh = blank_create_form(shop=form.shop.data)
    return render_template(
        "visits/_create_answer.html",
        form=fresh,
        row=row,
        message=message,
        queue=service.waiting(current_manager()),
    )


def outcome_message(row, failure, done: str) -> str:
    if failure is None and row.state == "confirmed":
        return done
    reason = manager_message(failure) if failure is not None else "Leat has not confirmed it yet."
    return (
        f"The visit of {row.contact_label} is saved in the portal but not yet in Leat: "
        f"{reason} The portal sends it again by itself; nothing needs to be typed again."
    )


@bp.get("/visits/<uuid>/edit")
def edit(uuid):
    row = _row_or_404(uuid)
    form = _editor(row, formdata=None)
    if is_partial():
        return render_template("visits/_row_editor.html", row=row, form=form)
    return render_page(blank_create_form(), editors={uuid: form})


@bp.route("/visits/<uuid>", methods=["PUT", "POST"])
def save(uuid):
    row = _row_or_404(uuid)
    form = _editor(row)
    if not form.validate_on_submit():
        return save_failed(row, form, 422)
    try:
        record, failure = service.update_visit(row.record, form.changes(), current_manager())
    except Refused as refused:
        return save_failed(row, form, explain(form, refused.error))
    row = service.row_for(record, shop_names())
    if row.state == "attention":
        form.form_errors.append(row.record.last_error)
        return save_failed(row, form, 422)
    message = outcome_message(row, failure, f"Visit of {row.contact_label} saved.")
    if not is_partial():
        flash(message)
        return redirect(url_for("visits.index"), code=303)
    return render_template(
        "visits/_save_answer.html",
        row=row,
        message=message,
        queue=service.waiting(current_manager()),
    )


@bp.post("/visits/<uuid>/retry")
def retry(uuid):
    """Retry now: deliver this pending (or corrected) record at once."""
    row = _row_or_404(uuid)
    record, failure = service.retry_now(row.record)
    row = service.row_for(record, shop_names())
    message = outcome_message(row, failure, f"Visit of {row.contact_label} is now in Leat.")
    if row.state == "attention":
        message = f"Leat did not accept the visit of {row.contact_label}: {row.record.last_error}"
    if not is_partial():
        flash(message)
        return redirect(url_for("visits.index"), code=303)
    return render_template(
        "visits/_save_answer.html",
        row=row,
        message=message,
        queue=service.waiting(current_manager()),
    )


@bp.get("/visits/<uuid>")
def show(uuid):
    """Cancel: the row as it was, without asking Leat."""
    row = _row_or_404(uuid)
    if not is_partial():
        return redirect(url_for("visits.index"), code=303)
    return render_template("visits/_row.html", row=row, focus_edit=True)


# -- answers ---------------------------------------------------------------------------


def render_page(create_form, *, status=200, editors=None):
    manager = current_manager()
    page = service.page_of_records(request.args.get("page", 1, type=int), manager)
    names = shop_names()
    rows = [service.row_for(record, names) for record in page.items]
    body = render_template(
        "visits/index.html",
        form=create_form,
        rows=rows,
        page=page,
        editors=editors or {},
        queue=service.waiting(manager),
    )
    return body, status


def create_failed(form, status):
    if is_partial():
        return render_template("visits/_create_form.html", form=form), status
    return render_page(form, status=status)


def save_failed(row, form, status):
    if is_partial():
        return render_template("visits/_row_editor.html", row=row, form=form), status
    return render_page(blank_create_form(), status=status, editors={row.uuid: form})


def explain(form, exc: LeatError) -> int:
    """Put Leat's refusal where the manager will look, under a field or on the form,
    and give the answer's status: 422 when the manager can correct a field."""
    if isinstance(exc, LeatNotFound) and exc.code in (CONTACT_NOT_FOUND, SHOP_NOT_FOUND):
        if exc.code == CONTACT_NOT_FOUND and "contact" in form:
            form.contact.errors.append(
                "Leat has no contact with this e-mail address. "
                "Tick “Create the contact if new” to add them."
                if form.contact_kind == "email"
                else "Leat has no contact with this UUID."
            )
            return 422
        if exc.code == SHOP_NOT_FOUND and "shop" in form:
            form.shop.errors.append("Leat does not know this shop (any more). Choose another.")
            return 422
    if isinstance(exc, LeatValidationError):
        placed = False
        for leat_name, messages in exc.field_errors.items():
            name = LEAT_FIELDS.get(leat_name)
            if name and name in form:
                form[name].errors.extend(messages)
                placed = True
        if placed:
            return 422
    form.form_errors.append(manager_message(exc))
    return status_for(exc)


# -- helpers ---------------------------------------------------------------------------


def load_shops():
    """The manager's shops and None, or ([], a message) when Leat fails; once a request."""
    if "shops" not in g:
        try:
            g.shops, g.shops_problem = current_manager().visible(service.shops()), None
        except LeatError as exc:
            g.shops = []
            g.shops_problem = "The list of shops could not be loaded. " + manager_message(exc)
    return g.shops, g.shops_problem


def shop_names():
    return {shop.uuid: shop.name for shop in load_shops()[0]}


def blank_create_form(**data):
    shops, problem = load_shops()
    form = CreateVisitForm(formdata=None, shops=shops, **data)
    if problem:
        form.form_errors.append(problem)
    return form


def _editor(row, **kwargs):
    return EditVisitForm(obj=row.visit, visit=row.visit, prefix=f"visit-{row.uuid}", **kwargs)


def _row_or_404(uuid):
    record = service.find_record(uuid)
    # Another shop's visit is answered as if it did not exist: its uuid reveals nothing.
    if record is None or not current_manager().may_use(record.shop_uuid):
        abort(404)
    return service.row_for(record, shop_names())
