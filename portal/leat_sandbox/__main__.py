"""``python -m portal.leat_sandbox`` (or ``leat-sandbox``): the sandbox as a local server.

For exploring Leat's API with curl, or pointing a non-demo portal at something
that behaves like Leat without touching the real one.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from .app import API_PREFIX, DEFAULT_TOKEN, ErrorStyle, create_sandbox_app
from .faults import FaultInjector
from .server import SandboxServer, serve_forever

DEFAULT_PORT = 8100
DEFAULT_DB = "instance/leat-sandbox.sqlite3"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    db = Path(args.db)
    db.parent.mkdir(parents=True, exist_ok=True)
    # Wrapped for --latency and for the benchmark's count of calls and connections.
    sandbox = create_sandbox_app(
        str(db), token=args.token, error_style=args.error_style, drop_offsets=args.drop_offsets
    )
    app = FaultInjector(sandbox)
    app.latency = args.latency_ms / 1000

    def announce(server: SandboxServer) -> None:
        app.connections = lambda: server.connections_accepted
        # Lines to copy as they are: the portal reads LEAT_BASE_URL and LEAT_API_TOKEN.
        header = shlex.quote(f"Authorization: Bearer {args.token}")
        print(f"Leat sandbox serving, data in {db}. For the portal:", flush=True)
        print(f"LEAT_BASE_URL={server.base_url}", flush=True)
        print(f"LEAT_API_TOKEN={args.token}", flush=True)
        print("Try it:", flush=True)
        print(f"curl -H {header} {server.base_url}{API_PREFIX}/shops", flush=True)
        print("Ctrl+C stops it.", flush=True)

    try:
        serve_forever(app, args.host, args.port, on_ready=announce)
    except OSError as exc:  # typically: the port is taken
        print(f"leat-sandbox: cannot serve on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    print("Leat sandbox stopped.", flush=True)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leat-sandbox",
        description="A local stand-in for the part of Leat's REST API v3 the portal uses.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (0 picks a free one)")
    parser.add_argument(
        "--db", default=DEFAULT_DB, help="SQLite file for the sandbox's data (created if missing)"
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("LEAT_SANDBOX_TOKEN") or DEFAULT_TOKEN,
        help="the bearer token to accept (default: $LEAT_SANDBOX_TOKEN, else %(default)s)",
    )
    parser.add_argument(
        "--error-style",
        choices=[style.value for style in ErrorStyle],
        default=ErrorStyle.DOCUMENTED.value,
        help="legacy: 422 invalid input, 404 not found; documented: every error 400 with a"
        " code, as Leat's error page shows (default: %(default)s)",
    )
    parser.add_argument(
        "--drop-offsets",
        action="store_true",
        help="keep a sent time's wall clock and ignore its offset, as stock Laravel does"
        " (default: convert to UTC)",
    )
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0.0,
        help="add this much latency to every answer, as a distant Leat would (benchmark)",
    )
    return parser


if __name__ == "__main__":
    sys.exit(main())
