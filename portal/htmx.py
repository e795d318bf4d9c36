"""What the portal needs to know about htmx requests."""

from flask import request


def is_partial() -> bool:
    """True for an htmx request that swaps part of the page.

    A boosted request (``HX-Boosted``) wants a whole page, like a plain browser.
    """
    return request.headers.get("HX-Request") == "true" and "HX-Boosted" not in request.headers
