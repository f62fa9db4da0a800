"""Case register throughput: import, `cases due` and `cases stats` at scale (issue 17).

Generates `--cases` synthetic cases (default 100,000) and `--incidents` incidents (default
1,000,000) as CSV files, then times, in this process, each step as the CLI runs it:

* import: read and check the cases file, then the incidents file, and load both into a fresh
  register in one transaction (every personal field AES-GCM encrypted, names and addresses
  blind-indexed, one audit row per case per file);
* due: read every case's dates, level and latest review, and list the reviews due;
* stats: read every Case Review application with its case's incident dates, and compute the
  year's four figures.

* with `--web-seconds S` (> 0): the case page under load. `saferboard serve` is started on
  the register just built (with the web benchmark's store, benchmarks/web.py, and a partner
  officer of the "police" agency), and `--clients` concurrent clients (default 50) open
  random police cases' pages (`/cases/REF`: every person, incident, assessment, action,
  review and note decrypted, and an audit row written per view) for S seconds; with
  `--think T` each client reads a case for a random time (exponential, mean T seconds) before
  opening the next, as an officer does (the default 0 keeps every client sending at once).

Goals (issue 17): import under 60 s, each report under 2 s, the case page's p95 under 200 ms
with 50 concurrent users. This is a benchmark, not a timed test: the figures are recorded by
hand in benchmarks/README.md.

    .venv/bin/python benchmarks/cases.py --cases 100000 --incidents 1000000 --web-seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import random
import re
import subprocess
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx

from saferboard.core.casekeys import keys_from_line
from saferboard.measures import cases as mc
from saferboard.sources import cases as src
from saferboard.store import cases as cs

LEVELS = ("standard", "medium", "high")


def generate(folder: Path, n_cases: int, n_incidents: int, seed: int) -> dict[str, Path]:
    rng = random.Random(seed)
    start = date(2020, 4, 1)
    opened = [start + timedelta(days=rng.randrange(1800)) for _ in range(n_cases)]
    paths = {k: folder / f"{k}.csv" for k in ("cases", "incidents", "case_reviews")}
    with paths["cases"].open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["case_ref", "case_type", "agency", "opened", "closed", "victim_name",
                    "victim_address", "victim_dob", "risk_level"])
        for i, o in enumerate(opened):
            closed = o + timedelta(days=rng.randrange(30, 400)) if rng.random() < 0.6 else None
            w.writerow([f"C{i:07d}", "asb", rng.choice(["council", "police", "housing"]),
                        o.isoformat(), closed.isoformat() if closed else "",
                        f"Person {i} Surname{rng.randrange(10_000)}", f"{i} Test Road",
                        (date(1940, 1, 1) + timedelta(days=rng.randrange(25_000))).isoformat(),
                        rng.choice(LEVELS)])
    with paths["incidents"].open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["case_ref", "date", "reported_to", "description"])
        for _ in range(n_incidents):
            i = rng.randrange(n_cases)
            d = opened[i] - timedelta(days=rng.randrange(200))
            w.writerow([f"C{i:07d}", d.isoformat(),
                        rng.choice(["council", "police", "housing provider", "other"]),
                        "noise from the flat above, late at night"])
    with paths["case_reviews"].open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["application_ref", "case_ref", "received", "review_date",
                    "recommendations"])
        for k, i in enumerate(rng.sample(range(n_cases), max(1, n_cases // 200))):
            received = opened[i] + timedelta(days=rng.randrange(60))
            reviewed = rng.random() < 0.8
            w.writerow([f"A{k:06d}", f"C{i:07d}", received.isoformat(),
                        (received + timedelta(days=20)).isoformat() if reviewed else "",
                        rng.choice(["yes", "no"]) if reviewed else ""])
    return paths


KEY_LINE = "benchmark-only-key-" + "b" * 40
PARTNER, PASSWORD = "bench_police", "benchmark password 12345"


async def _case_client(base: str, cookies: dict[str, str], refs: list[str], until: float,
                       seed: int, latencies: list[float], errors: list[str],
                       think: float = 0.0) -> None:
    import web  # benchmarks/web.py: the timed request

    rng = random.Random(seed)
    async with web.load_client(base, 60, cookies) as c:
        while time.perf_counter() < until:
            await web.timed_get(c, f"/cases/{rng.choice(refs)}", latencies, errors)
            if think:  # an officer reads the case before opening the next
                await asyncio.sleep(rng.expovariate(1 / think))


async def _case_load(base: str, cookies: dict[str, str], refs: list[str], clients: int,
                     seconds: float, think: float = 0.0
                     ) -> tuple[list[float], list[str], float]:
    latencies: list[float] = []
    errors: list[str] = []
    start = time.perf_counter()
    await asyncio.gather(*(_case_client(base, cookies, refs, start + seconds, i, latencies,
                                        errors, think) for i in range(clients)))
    return latencies, errors, time.perf_counter() - start


def case_page_load(folder: Path, register: Path, refs: list[str], clients: int,
                   seconds: float, think: float = 0.0) -> None:
    """p50/p95/p99 of the case page with `clients` concurrent clients (the server is a
    subprocess on loopback, sharing the machine with the clients, as benchmarks/web.py)."""
    import web  # benchmarks/web.py: the web store, server start and percentiles
    from saferboard import store
    from saferboard.web.auth import add_user

    db = folder / "web.duckdb"
    db.write_bytes(web.build(folder).read_bytes())
    con = store.connect(db)
    try:
        add_user(con, PARTNER, PASSWORD, "partner", agency="police", can_export=False,
                 now=datetime.now(UTC), actor="benchmark")
    finally:
        con.close()
    key = folder / "cases.key"
    key.write_text(KEY_LINE + "\n")
    os.environ["SAFERBOARD_CASE_KEY_FILE"] = str(key)
    os.environ["SAFERBOARD_CASES_DB"] = str(register)
    port = web.free_port()
    proc = web.start(db, port, True)
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base) as c:
            token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text)
            assert token
            r = c.post("/login", data={"username": PARTNER, "password": PASSWORD,
                                       "csrf_token": token.group(1)})
            assert r.status_code == 303, r.status_code
            cookies = {"sb_session": c.cookies["sb_session"]}
        cpu0 = web.cpu_seconds(proc.pid)
        lat, errors, spent = asyncio.run(
            _case_load(base, cookies, refs, clients, seconds, think))
        cpu = web.cpu_seconds(proc.pid) - cpu0
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    print(f"case page: {clients} clients (mean think time {think:g} s), "
          f"{len(lat):,} requests in {spent:.0f} s "
          f"({len(lat) / spent:.1f}/s), p50 {web.pct(lat, 50):.0f} ms, p95 "
          f"{web.pct(lat, 95):.0f} ms, p99 {web.pct(lat, 99):.0f} ms (goal p95 < 200 ms), "
          f"errors {len(errors)}, server CPU {cpu / max(len(lat), 1) * 1000:.1f} ms/request")
    for e in sorted(set(errors))[:5]:
        print(f"  error: {e}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--incidents", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--web-seconds", type=float, default=0,
                    help="also load the case page for this long (0: skip)")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--think", type=float, default=0.0,
                    help="case page load: mean seconds each client reads a case before the "
                         "next (exponential; default 0, no pause, which saturates the cores)")
    args = ap.parse_args()
    keys = keys_from_line(KEY_LINE)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = generate(folder, args.cases, args.incidents, args.seed)
        t0 = time.perf_counter()
        con = cs.connect(folder / "reg.sqlite", keys)
        with cs.transaction(con):
            for kind in ("cases", "incidents", "case_reviews"):
                t = time.perf_counter()
                parsed = src.read_case_file(kind, paths[kind])
                t_read = time.perf_counter() - t
                src.import_file(con, keys, parsed, "benchmark")
                print(f"import {kind}: {len(parsed.rows):,} rows, read+check {t_read:.1f} s, "
                      f"total {time.perf_counter() - t:.1f} s")
        t_import = time.perf_counter() - t0
        t = time.perf_counter()
        facts = [mc.CaseFacts(*c) for c in cs.case_dates(con, open_on=date(2024, 1, 1))]
        due = mc.due_reviews(facts, date(2024, 1, 1), {"high": 7, "medium": 14,
                                                        "standard": 28})
        t_due = time.perf_counter() - t
        # untimed check: reading only the open cases lists exactly what reading all would
        assert due == mc.due_reviews([mc.CaseFacts(*c) for c in cs.case_dates(con)],
                                     date(2024, 1, 1), {"high": 7, "medium": 14,
                                                        "standard": 28})
        t = time.perf_counter()
        apps = [mc.Application(*a) for a in cs.application_dates(con)]
        year = mc.case_review_year(apps, "2023/24")
        t_stats = time.perf_counter() - t
        police = [r for (r,) in con.execute("SELECT case_ref FROM cases WHERE agency = "
                                             "'police'")]
        con.close()
        size = (folder / "reg.sqlite").stat().st_size
        print(f"import: {t_import:.1f} s (goal < 60 s); database {size / 1e6:.0f} MB")
        print(f"due: {t_due:.2f} s, {len(due):,} cases due (goal < 2 s)")
        print(f"stats: {t_stats:.2f} s, {year.applications} applications in 2023/24 "
              "(goal < 2 s)")
        if args.web_seconds > 0:
            case_page_load(folder, folder / "reg.sqlite", police, args.clients,
                           args.web_seconds, args.think)


if __name__ == "__main__":
    main()
