"""Answers ``requests`` calls from the sandbox app in-process, with no socket at all.

Demo mode mounts ``SandboxAdapter`` on the Leat client's session for
``IN_PROCESS_BASE_URL``, so the portal's real client code (URLs, headers, form
bodies, status handling) runs unchanged without a second process to start.
"""

from __future__ import annotations

import io
import time
from datetime import timedelta
from typing import Any, Final
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from werkzeug.test import EnvironBuilder, run_wsgi_app

# ".invalid" is reserved (RFC 2606): if the adapter were ever not mounted, the
# call fails to resolve instead of reaching some real host.
IN_PROCESS_BASE_URL: Final = "http://leat-sandbox.invalid"


class SandboxAdapter(BaseAdapter):
    """A transport adapter that hands each request to a WSGI app (the sandbox)."""

    def __init__(self, app: Any) -> None:
        super().__init__()
        self.app = app

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        started = time.perf_counter()
        url = urlsplit(request.url or "")
        builder = EnvironBuilder(
            path=url.path or "/",
            base_url=f"{url.scheme}://{url.netloc}",
            query_string=url.query,
            method=request.method,
            headers=list(request.headers.items()),
            data=_body_bytes(request.body),
        )
        try:
            environ = builder.get_environ()
        finally:
            builder.close()
        # buffered=True: the app's iterable is read and closed here, so nothing is
        # left open when the Response is handed back.
        app_iter, status, headers = run_wsgi_app(self.app, environ, buffered=True)
        content = b"".join(app_iter)

        code, _, reason = status.partition(" ")
        response = requests.Response()
        response.status_code = int(code)
        response.reason = reason
        # Repeated headers are joined, as urllib3 does for a real response.
        names = dict.fromkeys(name for name, _ in headers.items())
        response.headers = CaseInsensitiveDict(
            {name: ", ".join(headers.getlist(name)) for name in names}
        )
        response._content = content
        response._content_consumed = True
        response.raw = io.BytesIO(content)
        response.encoding = get_encoding_from_headers(response.headers)
        response.url = request.url or ""
        response.request = request
        response.connection = self
        response.elapsed = timedelta(seconds=time.perf_counter() - started)
        return response

    def close(self) -> None:
        """Nothing to release: there are no connections."""


def _body_bytes(body: str | bytes | None) -> bytes | None:
    # requests gives str for a form, bytes for JSON; the Leat client never streams a
    # body (a file or an iterator), so those are not handled.
    if isinstance(body, str):
        return body.encode("utf-8")
    if body is None or isinstance(body, bytes):
        return body
    raise TypeError(f"the in-process sandbox takes no streamed body ({type(body).__name__})")
