"""Visits of one contact: every visit Leat has of them, and a way to record one more.

The contact is addressed by Leat's contact uuid, never by e-mail address, so no
customer's address travels in a URL (or lands in an access log or a browser's
history); the route takes only a well-formed uuid, so anything else is the portal's
404. Who may see what on this page is written in ``contact_history``.
"""

from __future__ import annotations

from uuid import UUID

from flask import Blueprint, abort, render_template

from ..auth import current_manager
from .contact_history import history_of
from .forms import CreateVisitForm
from .routes import load_shops, shop_names

bp = Blueprint("history", __name__)


@bp.get("/contacts/<uuid:contact_uuid>/visits")
def contact_visits(contact_uuid: UUID):
    contact = str(contact_uuid)  # canonical: lower case, as Leat writes uuids
    history = history_of(contact, current_manager(), shop_names())
    if history is None:
        abort(404)
    shops, shops_problem = load_shops()
    # "Record a visit now" is a plain form sent to the visits page's own create view
    # (visits.create): one click, the same with or without JavaScript, and the one path
    # every visit takes (the form's checks, its one-time key, the shop check, whatever
    # guards that view), so no second way in to keep in step. A link that prefilled
    # the create form instead would need a second click. It answers as a create always
    # does: back on the visits page, the new row on top with what became of it.
    form = CreateVisitForm(formdata=None, shops=shops, contact=contact)
    return render_template(
        "visits/history.html",
        history=history,
        form=form,
        shops=shops,
        shops_problem=shops_problem,
    )
