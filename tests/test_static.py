"""Static files: the exact htmx release, content-hashed URLs, compression and caching."""

import hashlib
import re

from helpers import ROOT, soup

HTMX = ROOT / "static" / "vendor" / "htmx-4.0.1" / "htmx.min.js"
# sha256 of dist/htmx.min.js in the npm package htmx.org@4.0.1.
HTMX_SHA256 = "a0abb04f2f45a1f89d1d4844023245537e5e6014c87b144553e0607b4cc32130"


def test_vendored_htmx_is_the_published_4_0_1():
    assert hashlib.sha256(HTMX.read_bytes()).hexdigest() == HTMX_SHA256


def asset_urls(page) -> list[str]:
    """The page's links to static files, in the order it gives them."""
    tags = soup(page).find_all(True)
    links = [tag[name] for tag in tags for name in ("href", "src") if tag.has_attr(name)]
    return [url for url in links if url.startswith("/static/")]


def test_pages_link_assets_by_content_hash(client):
    urls = asset_urls(client.get("/visits").text)
    assert len(urls) == 5  # icon, stylesheet, htmx, the CSRF script, the suggestions
    digest = hashlib.sha256(HTMX.read_bytes()).hexdigest()[:12]
    assert f"/static/vendor/htmx-4.0.1/htmx.min.{digest}.js" in urls
    assert all(re.search(r"\.[0-9a-f]{12}\.\w+$", url) for url in urls)


def test_hashed_assets_are_compressed_and_cached_for_a_year(client):
    for url in asset_urls(client.get("/visits").text):
        for encoding in ("br", "gzip"):
            with client.get(url, headers={"Accept-Encoding": encoding}) as response:
                assert response.status_code == 200
                assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
                assert response.headers["X-Content-Type-Options"] == "nosniff"
                if not url.endswith(".svg") or encoding == "gzip":
                    assert response.headers.get("Content-Encoding") == encoding, url


def test_plain_names_get_a_short_cache(anonymous):
    with anonymous.get("/static/css/portal.css", headers={"Accept-Encoding": "gzip"}) as response:
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "max-age=300, public"
        assert response.headers["Content-Encoding"] == "gzip"


def test_pages_and_htmx_answers_travel_compressed(client):
    for encoding in ("br", "gzip"):
        response = client.get("/visits", headers={"Accept-Encoding": encoding})
        assert response.headers["Content-Encoding"] == encoding
        assert "Accept-Encoding" in response.headers["Vary"]
        assert "HX-Request" in response.headers["Vary"]
