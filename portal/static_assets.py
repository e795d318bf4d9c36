"""Static files as a PaaS should serve them: content-hashed names, gzip and brotli,
served by WhiteNoise with a one-year immutable cache (a short one for plain names).

At start-up every file under ``static/`` is copied once into ``instance/`` under its
plain name and a name carrying its content hash, and compressed beside it. The build
goes to a folder named after the whole tree's hash and is moved into place in one
rename, so workers starting together never serve a half-written file.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path

from flask import Flask
from whitenoise import WhiteNoise
from whitenoise.compress import Compressor

HASHED = re.compile(r"\.[0-9a-f]{12}\.[A-Za-z0-9]+$")
ONE_YEAR = 365 * 24 * 3600
SHORT = 300  # plain names may change with the next release
# Trees already built by this process (apps made again, as tests do, reuse them).
_built: dict[str, Path] = {}


def hashed_name(relative: str, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()[:12]
    stem, dot, extension = relative.rpartition(".")
    return (
        f"{stem}.{digest}.{extension}" if dot and "/" not in extension else f"{relative}.{digest}"
    )


def build(source: Path, instance: Path) -> tuple[Path, dict[str, str]]:
    """Build (once per content) the served tree; return it and {plain: hashed} names."""
    files = sorted(p for p in source.rglob("*") if p.is_file())
    contents = {p.relative_to(source).as_posix(): p.read_bytes() for p in files}
    manifest = {name: hashed_name(name, data) for name, data in contents.items()}
    tree = hashlib.sha256("\n".join(f"{k} {v}" for k, v in manifest.items()).encode()).hexdigest()
    target = _built.get(tree) or instance / f"static-{tree[:16]}"
    if not target.exists():
        instance.mkdir(parents=True, exist_ok=True)
        draft = Path(tempfile.mkdtemp(prefix="static-build-", dir=instance))
        compressor = Compressor(quiet=True)
        for plain, data in contents.items():
            for name in (plain, manifest[plain]):
                path = draft / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
                if compressor.should_compress(str(path)):
                    list(compressor.compress(str(path)))
        try:
            os.rename(draft, target)
        except OSError:  # another worker finished first: its tree is the same
            shutil.rmtree(draft, ignore_errors=True)
    _built[tree] = target
    return target, manifest


def init_app(app: Flask) -> None:
    built, manifest = build(Path(app.static_folder), Path(app.instance_path))

    def headers(headers, path, url):
        if HASHED.search(url):
            headers["Cache-Control"] = f"public, max-age={ONE_YEAR}, immutable"

    # nosniff and the other security headers are added around WhiteNoise, for every
    # answer alike (portal/security.py's wrap).
    app.wsgi_app = WhiteNoise(
        app.wsgi_app,
        root=str(built),
        prefix="static/",
        max_age=SHORT,
        add_headers_function=headers,
        # WhiteNoise's default "Access-Control-Allow-Origin: *" would let any site's
        # scripts read the portal's files; only the portal's own pages use them.
        allow_all_origins=False,
    )

    def asset(filename: str) -> str:
        """The URL of a static file, with its content hash: cached for a year."""
        return f"{app.static_url_path}/{manifest.get(filename, filename)}"

    app.add_template_global(asset, "asset")
