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
import contextlib
import gzip
import http.client
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
from urllib.parse import urlencode

import brotli
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from portal.auth.launch import mint  # noqa: E402
from portal.leat_sandbox import API_PREFIX, DEFAULT_TOKEN, seed  # noqa: E402

SECRET = "benchmark-launch-secret-0123456789abcdef"
COOKIE = "__Host-portal-session"
HTMX = {"HX-Request": "true"}
TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
ROW = re.compile(r'<tr id="visit-(\d+)"')
ASSET = re.compile(r'(?:href|src)="(/static/[^"]+)"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] if ordered else 0.0


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far."""
    with contextlib.suppress(OSError):
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
    return 0.0


def cpu_now(workers: list[int], sandbox: int) -> dict:
    """CPU seconds so far: each gunicorn worker's, the sandbox's, this generator's."""
    own = os.times()
    return {
        "workers": [cpu_seconds(pid) for pid in workers],
        "sandbox": cpu_seconds(sandbox),
        "load_generator": own.user + own.system,
    }


class Answer:
    """What a simulated browser needs of an answer: status, headers, text, wire size."""

    def __init__(self, status: int, headers: dict[str, str], raw: bytes) -> None:
        self.status_code = status
        self.headers = headers
        self.wire_bytes = len(raw)  # as it travelled, compressed when it was
        encoding = headers.get("content-encoding", "")
        body = brotli.decompress(raw) if encoding == "br" else raw
        body = gzip.decompress(body) if encoding == "gzip" else body
        self.text = body.decode()


class Manager:
    """One shop manager's browser: one kept-alive connection and a session cookie.

    Plain http.client rather than requests: the load generator shares the machine's
    two cores with the portal, and requests costs several times more per call.
    """

    def __init__(self, base: str, number: int) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=60)
        self.cookie = ""
        self.csrf = ""
        token = mint(SECRET, manager_id=f"m{number}@example.com", name=f"M{number}", shops=["*"])
        self.request("GET", f"/launch?token={token}")

    def request(self, method: str, path: str, data=None, headers=None) -> Answer:
        sent = {"Accept-Encoding": "br, gzip", **(headers or {})}
        if self.cookie:
            sent["Cookie"] = self.cookie
        body = None
        if data is not None:
            body = urlencode(data)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.connection.request(method, path, body=body, headers=sent)
            response = self.connection.getresponse()
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            # The server closed the idle kept-alive connection (gunicorn's keepalive)
            # before this request reached it: send it again on a new one, as browsers do.
            self.connection.close()
            self.connection.request(method, path, body=body, headers=sent)
            response = self.connection.getresponse()
        raw = response.read()
        answer = Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, raw)
        for value in response.headers.get_all("Set-Cookie") or []:
            if value.startswith(COOKIE + "="):
                self.cookie = value.split(";", 1)[0]
        return answer

    def timed(self, method: str, path: str, **kwargs) -> tuple[Answer, float]:
        started = time.perf_counter()
        response = self.request(method, path, **kwargs)
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
            SECRET_KEY="benchmark-session-secret-0123456789abcdef",
            PORTAL_LAUNCH_SECRET=SECRET,
            PORTAL_PROXY_HOPS="0",
            # Every simulated manager signs in from this one address and writes at a
            # script's pace: the default rate limits would be all the benchmark measured.
            PORTAL_RATE_LIMIT_LAUNCH="100000/minute",
            PORTAL_RATE_LIMIT_WRITES="100000/minute",
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
        workers = [
            int(pid)
            for pid in subprocess.run(
                ["pgrep", "-P", str(gunicorn.pid)], capture_output=True, text=True
            ).stdout.split()
        ]
        cpu_before = cpu_now(workers, sandbox.pid)

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
                    row_id = found.group(1)
                    prefix = f"visit-{row_id}-"
                    edit = {prefix + "csrf_token": m.csrf, prefix + "source": f"edited {n}.{r}"}
                    row = m.request("GET", f"/visits/{row_id}/edit", headers=HTMX)
                    # The start sent back as the editor shows it (its day and time).
                    for name in ("date", "starts_at"):
                        value = re.search(rf'id="{prefix}{name}"[^>]*value="([^"]*)"', row.text)
                        edit[prefix + name] = value.group(1) if value else ""
                    edited, t_edit = m.timed("PUT", f"/visits/{row_id}", data=edit, headers=HTMX)
                with lock:
                    timings["page"].append(t_page)
                    timings["create"].append(t_create)
                    if edited is not None:
                        timings["edit"].append(t_edit)
                        sizes.setdefault("edit", edited.wire_bytes)
                    sizes.setdefault("create", created.wire_bytes)
                    for name, response in (("page", page), ("create", created), ("edit", edited)):
                        if response is not None and response.status_code != 200:
                            errors.append(f"{name} {response.status_code}")
                    if not found:
                        errors.append(f"create without a row ({created.status_code})")

        began = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            list(pool.map(simulate, range(args.concurrency)))
        wall = time.perf_counter() - began
        cpu_after = cpu_now(workers, sandbox.pid)
        worker_cpu = [
            a - b for a, b in zip(cpu_after["workers"], cpu_before["workers"], strict=True)
        ]
        cpu_used = {
            "portal": sum(worker_cpu),
            "sandbox": cpu_after["sandbox"] - cpu_before["sandbox"],
            "load_generator": cpu_after["load_generator"] - cpu_before["load_generator"],
        }
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
        page = fresh.request("GET", "/visits")
        page_bytes = page.wire_bytes
        asset_bytes = sum(fresh.request("GET", a).wire_bytes for a in ASSET.findall(page.text))

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
            # Where the machine's time went: CPU ms per round (page + create + edit)
            # for each process group, and how busy that kept the machine's cores.
            "cpu_ms_per_round": {
                name: round(1000 * used / (args.concurrency * args.rounds), 1)
                for name, used in cpu_used.items()
            },
            "cores_busy": round(sum(cpu_used.values()) / wall, 2),
            # One process runs Python on one core at a time: a worker near 1.0 is the
            # bottleneck whatever the other cores do.
            "cores_busy_per_worker": [round(used / wall, 2) for used in worker_cpu],
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
