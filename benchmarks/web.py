"""Web dashboard load test: N concurrent clients (asyncio + httpx) on loopback against the
overview and a category page, with and without the measures cache.

    python benchmarks/web.py [--clients 50] [--seconds 60] [--modes cache,nocache] [--workdir DIR]

Builds the example store (examples/) with one analyst account in --workdir, starts
`saferboard serve` in a child process for each mode (exactly as deployed: uvicorn picks
uvloop and httptools, which the package depends on), signs in once and shares the session
cookie between the clients (one session, as a wall display or a busy board meeting would),
then prints requests per second, p50/p95/p99 latency, errors and the CPU time per request
of the server process and of the load generator for each mode. The load generator runs on
the same machine, so it competes with the server for the cores. The goal in issue 8: p95
under 200 ms on a 2-core machine, no errors.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from machine import machine

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "benchmark password 12345"
SECRET = "benchmark-secret-" + "z" * 40
PAGES = ("/overview", "/category/Burglary")


def build(workdir: Path) -> Path:
    from saferboard import store
    from saferboard.core import categories
    from saferboard.sources.ingest import ingest
    from saferboard.web.auth import add_user

    db = workdir / "web-bench.duckdb"
    if db.exists():
        return db
    con = store.connect(db)
    try:
        ingest(con, [ROOT / "examples" / "mps", ROOT / "examples" / "policeuk"],
               categories.load())
        add_user(con, "bench", PASSWORD, "analyst", agency=None, can_export=False,
                 now=datetime.now(UTC), actor="benchmark")
    finally:
        con.close()
    return db


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(db: Path, port: int, cache: bool) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-c", "from saferboard.cli import main; main()", "serve",
           "--db", str(db), "--port", str(port), *([] if cache else ["--no-cache"])]
    env = {**os.environ, "SAFERBOARD_WEB_SECRET": SECRET}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(300):
        try:
            httpx.get(f"http://127.0.0.1:{port}/login", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the server did not start")


def login(base: str) -> dict[str, str]:
    with httpx.Client(base_url=base) as c:
        page = c.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        r = c.post("/login", data={"username": "bench", "password": PASSWORD,
                                   "csrf_token": token.group(1)})
        assert r.status_code == 303, r.status_code
        return {"sb_session": c.cookies["sb_session"]}


async def client(base: str, cookies: dict[str, str], until: float, i: int,
                 latencies: list[float], errors: list[str]) -> None:
    async with httpx.AsyncClient(base_url=base, cookies=cookies, timeout=30) as c:
        n = i
        while time.perf_counter() < until:
            path = PAGES[n % len(PAGES)]
            n += 1
            start = time.perf_counter()
            try:
                r = await c.get(path)
                if r.status_code != 200:
                    errors.append(f"{path}: {r.status_code}")
            except httpx.HTTPError as e:
                errors.append(f"{path}: {type(e).__name__}")
            latencies.append(time.perf_counter() - start)


async def load(base: str, cookies: dict[str, str], clients: int, seconds: float
               ) -> tuple[list[float], list[str], float]:
    latencies: list[float] = []
    errors: list[str] = []
    start = time.perf_counter()
    until = start + seconds
    await asyncio.gather(*(client(base, cookies, until, i, latencies, errors)
                           for i in range(clients)))
    return latencies, errors, time.perf_counter() - start


def importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--workdir", type=Path, default=Path("bench-work"))
    ap.add_argument("--modes", default="cache,nocache",
                    help="comma-separated: cache, nocache (default both)")
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    db = build(args.workdir)
    print(machine(*[m for m in ("fastapi", "uvicorn", "uvloop", "httptools", "httpx")
                    if importable(m)]))
    print(f"{args.clients} clients, {args.seconds:g} s per mode, pages {', '.join(PAGES)}")
    print(f"{'mode':<10} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'p99 ms':>8} {'errors':>7} {'CPU ms/req: server':>19} {'client':>7}")
    modes = [m.strip() for m in args.modes.split(",")]
    for cache in [m == "cache" for m in modes]:
        copy = args.workdir / ("cache.duckdb" if cache else "nocache.duckdb")
        shutil.copy(db, copy)
        port = free_port()
        proc = start(copy, port, cache)
        try:
            base = f"http://127.0.0.1:{port}"
            cookies = login(base)
            for path in PAGES:  # warm up: the first category view computes its map
                httpx.get(base + path, cookies=cookies, timeout=120)
            cpu_before, client_before = cpu_seconds(proc.pid), time.process_time()
            lat, errors, spent = asyncio.run(load(base, cookies, args.clients, args.seconds))
            cpu = cpu_seconds(proc.pid) - cpu_before
            client_cpu = time.process_time() - client_before
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        mode = "cache" if cache else "no cache"
        print(f"{mode:<10} {len(lat):>9,} {len(lat) / spent:>8.1f} {pct(lat, 50):>8.0f} "
              f"{pct(lat, 95):>8.0f} {pct(lat, 99):>8.0f} {len(errors):>7} "
              f"{cpu / max(len(lat), 1) * 1000:>19.2f} "
              f"{client_cpu / max(len(lat), 1) * 1000:>7.2f}")
        for e in sorted(set(errors))[:5]:
            print(f"  error: {e}")


if __name__ == "__main__":
    main()
