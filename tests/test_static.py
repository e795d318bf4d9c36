"""Vendored static files: the exact htmx release, served by the portal."""

import hashlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HTMX = ROOT / "static" / "vendor" / "htmx-4.0.1" / "htmx.min.js"
# sha256 of dist/htmx.min.js in the npm package htmx.org@4.0.1.
HTMX_SHA256 = "a0abb04f2f45a1f89d1d4844023245537e5e6014c87b144553e0607b4cc32130"


def test_vendored_htmx_is_the_published_4_0_1():
    assert hashlib.sha256(HTMX.read_bytes()).hexdigest() == HTMX_SHA256
