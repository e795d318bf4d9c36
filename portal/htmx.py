"""What the portal needs to know about htmx requests."""

from flask import request


def is_partial() -> bool:
    """True for an htmx request that swaps part of the page.

    A boosted request (``HX-Boosted``) wants a whole page, like a plain browser; so
    does htmx's own request when Back or Forward returns to an address it pushed
    (``HX-History-Restore-Request``): it swaps the answer in as the page's body.
    """
    return (
        request.headers.get("HX-Request") == "true"
        and "HX-Boosted" not in request.headers
        and request.headers.get("HX-History-Restore-Request") != "true"
    )
