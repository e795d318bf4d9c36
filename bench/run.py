"""The portal's benchmark: C simulated managers against the portal under gunicorn
(started exactly as the Procfile starts it) and a Leat sandbox with added latency L.

    .venv/bin/python bench/run.py --latency-ms 200 --concurrency 64 --rounds 5

Each manager signs in, then per round loads the page, creates a visit and edits it.
Printed from one run: throughput, p50/p95/p99 per action, errors, peak memory per
worker, the ratio of Leat calls per second to the bound C/L, the portal's create
time against the same create sent straight to the sandbox, new upstream connections
per 100 requests, and the bytes of a first page load and of each answer.
Not part of the test suite: it measures, it does not judge.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from portal.auth.launch import mint  # noqa: E402
from portal.leat_sandbox import API_PREFIX, DEFAULT_TOKEN, seed  # noqa: E402

SECRET = "benchmark-launch-secret-0123456789abcdef"
COOKIE = "__Host-portal-session"
HTMX = {"HX-Request": "true"}
TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
ROW = re.compile(r'<tr id="visit-([0-9a-f-]{36})"')
ASSET = re.compile(r'(?:href|src)="(/static/[^"]+)"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] if ordered else 0.0


def wire_bytes(http: requests.Session, url: str, **kwargs) -> int:
    """Bytes as they travel (compressed when the server compresses)."""
    with http.get(url, stream=True, headers={"Accept-Encoding": "br, gzip"}, **kwargs) as response:
        return len(response.raw.read(decode_content=False))


def wire(response: requests.Response) -> int:
    """An answer's size as it travelled (compressed when it was)."""
    return int(response.headers.get("Content-Length") or len(response.content))


class Manager:
    """One shop manager's browser: a session cookie carried by hand (plain http)."""

    def __init__(self, base: str, number: int) -> None:
        self.base = base
        self.http = requests.Session()
        self.http.headers["Accept-Encoding"] = "br, gzip"
        self.http.hooks["response"].append(self._keep_cookie)
        token = mint(SECRET, manager_id=f"m{number}@example.com", name=f"M{number}", shops=["*"])
        self.http.get(f"{base}/launch?token={token}", allow_redirects=False, timeout=30)
        self.csrf = ""

    def _keep_cookie(self, response, *args, **kwargs):
        if COOKIE in response.cookies:
            self.http.headers["Cookie"] = f"{COOKIE}={response.cookies[COOKIE]}"

    def timed(self, method: str, path: str, **kwargs) -> tuple[requests.Response, float]:
        started = time.perf_counter()
        response = self.http.request(method, self.base + path, timeout=60, **kwargs)
        return response, time.perf_counter() - started


def run(args) -> dict:
    work = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEAT_", "PORTAL_"))}
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    processes: list[subprocess.Popen] = []
    try:
        sandbox = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "portal.leat_sandbox",
                "--port",
                "0",
                "--db",
                str(work / "sandbox.sqlite3"),
                "--latency-ms",
                str(args.latency_ms),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=(work / "sandbox.log").open("w"),
            text=True,
            env=env,
        )
        processes.append(sandbox)
        leat_url = ""
        while not leat_url:
            line = sandbox.stdout.readline()
            if not line:
                raise SystemExit("the sandbox did not start")
            if line.startswith("LEAT_BASE_URL="):
                leat_url = line.strip().split("=", 1)[1]
        port = free_port()
        env.update(
            PORT=str(port),
            WEB_CONCURRENCY=str(args.workers),
            GUNICORN_THREADS=str(args.threads),
            LEAT_BASE_URL=leat_url,
            LEAT_API_TOKEN=DEFAULT_TOKEN,
            SECRET_KEY="benchmark",
            PORTAL_LAUNCH_SECRET=SECRET,
            PORTAL_PROXY_HOPS="0",
            DATABASE_URL=args.database_url or f"sqlite:///{work / 'portal.sqlite3'}",
        )
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        web = next(
            line.split(":", 1)[1]
            for line in (ROOT / "Procfile").read_text().splitlines()
            if line.startswith("web:")
        )
        gunicorn = subprocess.Popen(
            shlex.split(web),
            cwd=ROOT,
            env=env,
            stdout=(work / "web.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        processes.append(gunicorn)
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                requests.get(base + "/healthz", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)

        contacts = [c.uuid for c in seed.CONTACTS]
        shops = [s.uuid for s in seed.SHOPS]
        managers = [Manager(base, n) for n in range(args.concurrency)]
        for m in managers:  # warm: sessions, shop cache, connection pools
            page, _ = m.timed("GET", "/visits")
            m.csrf = TOKEN.search(page.text).group(1)
        before = requests.get(leat_url + "/_sandbox/stats", timeout=10).json()

        timings: dict[str, list[float]] = {"page": [], "create": [], "edit": []}
        sizes: dict[str, int] = {}
        errors: list[str] = []
        lock = threading.Lock()
        start = threading.Barrier(args.concurrency)

        def simulate(n: int) -> None:
            m = managers[n]
            start.wait()
            for r in range(args.rounds):
                page, t_page = m.timed("GET", "/visits")
                data = {
                    "csrf_token": m.csrf,
                    "contact": contacts[(n + r) % len(contacts)],
                    "shop": shops[n % len(shops)],
                    "source": f"bench {n}.{r}",
                }
                created, t_create = m.timed("POST", "/visits", data=data, headers=HTMX)
                found = ROW.search(created.text)
                t_edit, edited = 0.0, None
                if found:
                    uuid_ = found.group(1)
                    prefix = f"visit-{uuid_}-"
                    edit = {prefix + "csrf_token": m.csrf, prefix + "source": f"edited {n}.{r}"}
                    row = m.http.get(f"{m.base}/visits/{uuid_}/edit", headers=HTMX, timeout=60)
                    value = re.search(rf'id="{prefix}starts_at"[^>]*value="([^"]*)"', row.text)
                    edit[prefix + "starts_at"] = value.group(1) if value else ""
                    edited, t_edit = m.timed("PUT", f"/visits/{uuid_}", data=edit, headers=HTMX)
                with lock:
                    timings["page"].append(t_page)
                    timings["create"].append(t_create)
                    if edited is not None:
                        timings["edit"].append(t_edit)
                        sizes.setdefault("edit", wire(edited))
                    sizes.setdefault("create", wire(created))
                    for name, response in (("page", page), ("create", created), ("edit", edited)):
                        if response is not None and response.status_code != 200:
                            errors.append(f"{name} {response.status_code}")
                    if not found:
                        errors.append(f"create without a row ({created.status_code})")

        began = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            list(pool.map(simulate, range(args.concurrency)))
        wall = time.perf_counter() - began
        after = requests.get(leat_url + "/_sandbox/stats", timeout=10).json()

        # The same create, sent straight to the sandbox, in the same run.
        direct: list[float] = []
        with requests.Session() as leat:
            leat.headers["Authorization"] = f"Bearer {DEFAULT_TOKEN}"
            for i in range(args.direct):
                started = time.perf_counter()
                leat.post(
                    leat_url + API_PREFIX + "/visits",
                    timeout=60,
                    data={
                        "contact_uuid": contacts[i % len(contacts)],
                        "shop_uuid": shops[0],
                        "external_id": f"direct-{uuid.uuid4()}",
                        "source": "direct",
                    },
                )
                direct.append(time.perf_counter() - started)
        portal_create: list[float] = []
        m = managers[0]
        for i in range(args.direct):
            data = {"csrf_token": m.csrf, "contact": contacts[i % len(contacts)], "shop": shops[0]}
            portal_create.append(m.timed("POST", "/visits", data=data, headers=HTMX)[1])

        # A first page load: the page and every asset it links, as they travel.
        fresh = Manager(base, 10_000)
        page_bytes = wire_bytes(fresh.http, base + "/visits")
        html = fresh.http.get(base + "/visits").text
        asset_bytes = sum(wire_bytes(fresh.http, base + a) for a in ASSET.findall(html))

        workers = subprocess.run(
            ["pgrep", "-P", str(gunicorn.pid)], capture_output=True, text=True
        ).stdout.split()
        peak = {}
        for pid in workers:
            status = Path(f"/proc/{pid}/status").read_text()
            peak[pid] = int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024

        calls = sum(after["calls"].values()) - sum(before["calls"].values())
        connections = after["connections"] - before["connections"]
        requests_made = (
            sum(len(v) for v in timings.values()) + args.concurrency * args.rounds
        )  # + editor GETs
        latency = args.latency_ms / 1000
        bound = args.concurrency / latency if latency else None
        return {
            "latency_ms": args.latency_ms,
            "concurrency": args.concurrency,
            "workers_x_threads": f"{args.workers}x{args.threads}",
            "wall_s": round(wall, 2),
            "actions_per_s": round(sum(len(v) for v in timings.values()) / wall, 1),
            "creates_per_s": round(len(timings["create"]) / wall, 1),
            "leat_calls_per_s": round(calls / wall, 1),
            "leat_calls_per_round": round(calls / (args.concurrency * args.rounds), 2),
            "bound_C_over_L": bound,
            "leat_calls_vs_bound": round(calls / wall / bound, 3) if bound else None,
            **{
                f"{name}_ms": {
                    "p50": round(percentile(v, 0.5) * 1000, 1),
                    "p95": round(percentile(v, 0.95) * 1000, 1),
                    "p99": round(percentile(v, 0.99) * 1000, 1),
                }
                for name, v in timings.items()
            },
            "errors": len(errors),
            "error_kinds": sorted(set(errors))[:5],
            "peak_rss_mb_per_worker": {pid: round(mb, 1) for pid, mb in peak.items()},
            "direct_create_p50_ms": round(statistics.median(direct) * 1000, 2),
            "portal_create_p50_ms": round(statistics.median(portal_create) * 1000, 2),
            "portal_over_direct": round(
                statistics.median(portal_create) / statistics.median(direct), 2
            ),
            "new_upstream_connections_per_100_requests": round(
                100 * connections / requests_made, 2
            ),
            "first_load_bytes": {
                "page": page_bytes,
                "assets": asset_bytes,
                "total": page_bytes + asset_bytes,
            },
            "answer_bytes": sizes,
        }
    finally:
        for process in reversed(processes):
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=200)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--direct", type=int, default=50, help="creates for the overhead ratio")
    parser.add_argument("--database-url", default="")
    print(json.dumps(run(parser.parse_args()), indent=2))


if __name__ == "__main__":
    main()
