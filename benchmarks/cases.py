"""Case register throughput: import, `cases due` and `cases stats` at scale (issue 17).

Generates `--cases` synthetic cases (default 100,000) and `--incidents` incidents (default
1,000,000) as CSV files, then times, in this process, each step as the CLI runs it:

* import: read and check the cases file, then the incidents file, and load both into a fresh
  register in one transaction (every personal field AES-GCM encrypted, names and addresses
  blind-indexed, one audit row per case per file);
* due: read every case's dates, level and latest review, and list the reviews due;
* stats: read every Case Review application with its case's incident dates, and compute the
  year's four figures.

Goals (issue 17): import under 60 s, each report under 2 s. The case page's p95 under 50
concurrent users belongs to the web pages and is not measured here. This is a benchmark, not
a timed test: the figures are recorded by hand in benchmarks/README.md.

    .venv/bin/python benchmarks/cases.py --cases 100000 --incidents 1000000
"""

from __future__ import annotations

import argparse
import csv
import random
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--incidents", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    keys = keys_from_line("benchmark-only-key-" + "b" * 40)
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
        facts = [mc.CaseFacts(*c) for c in cs.case_dates(con)]
        due = mc.due_reviews(facts, date(2024, 1, 1), {"high": 7, "medium": 14,
                                                        "standard": 28})
        t_due = time.perf_counter() - t
        t = time.perf_counter()
        apps = [mc.Application(*a) for a in cs.application_dates(con)]
        year = mc.case_review_year(apps, "2023/24")
        t_stats = time.perf_counter() - t
        con.close()
        size = (folder / "reg.sqlite").stat().st_size
    print(f"import: {t_import:.1f} s (goal < 60 s); database {size / 1e6:.0f} MB")
    print(f"due: {t_due:.2f} s, {len(due):,} cases due (goal < 2 s)")
    print(f"stats: {t_stats:.2f} s, {year.applications} applications in 2023/24 (goal < 2 s)")


if __name__ == "__main__":
    main()
