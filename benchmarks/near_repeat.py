"""Near-repeat Knox test speed: `saferboard near-repeat` as a whole command against a
straightforward KD-tree + bincount implementation and a brute-force baseline, in the same run.

Workloads (--workload, default both), from
../shared/data/nearrepeat-davies/chicago_burglary_2014_2017.csv (day-level dates), each with
999 permutations, space edges 0,1,100,200,300,400 m (Manhattan) and time edges
0,7,14,21,28 days:

* 2014: the 12,334 burglaries of 2014;
* city: all 45,319 burglaries of 2014-2017 (goal: faster than the baseline, under 15 s and
  under 1.5 GB peak memory on this machine).

Methods, each a fresh child process timed from start to exit (imports, reading the CSV,
computing, printing JSON):

* saferboard: `saferboard near-repeat FILE ... --format json`;
* straightforward (b): a script that reads the same CSV with the csv module, finds the pairs
  within 400 m with scipy's cKDTree.query_pairs, and per permutation bins the pairs' day gaps
  with searchsorted and one np.bincount over (space band, time band); the open-ended row from
  the all-pairs total, as saferboard (it would not be a fair baseline otherwise);
* brute force (a): every pair and every permutation, numpy-vectorised per event, on a random
  subsample of 2014 with a few permutations, extrapolated by pairs x permutations.

Runs are interleaved and the medians reported; the observed tables of saferboard and (b)
must be equal, and the brute force's must equal saferboard's on its subsample. Peak memory is
the child's maximum resident set size (wait4). The figures are recorded by hand in
benchmarks/README.md. Run: `.venv/bin/python benchmarks/near_repeat.py [--repeat 3]
[--workload 2014|city|both]`.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "nearrepeat-davies" / "chicago_burglary_2014_2017.csv"
SPACE = "0,1,100,200,300,400"
TIME = "0,7,14,21,28"
PERMUTATIONS = 999

STRAIGHTFORWARD = r'''
import csv, json, sys
from datetime import date
import numpy as np
from scipy.spatial import cKDTree

path, space, time_, perms = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
se = np.array([float(v) for v in space.split(",")])
te = np.array([int(v) for v in time_.split(",")])
xs, ys, ds = [], [], []
with open(path, newline="") as f:
    for row in csv.DictReader(f):
        xs.append(float(row["x"])); ys.append(float(row["y"]))
        d, m, y = map(int, row["date_single"].split("/"))
        ds.append(date(y, m, d).toordinal())
x, y, days = np.array(xs), np.array(ys), np.array(ds)
n = len(days)
pairs = cKDTree(np.column_stack([x, y])).query_pairs(se[-1], p=1, output_type="ndarray")
i, j = pairs[:, 0], pairs[:, 1]
dist = np.abs(x[i] - x[j]) + np.abs(y[i] - y[j])
keep = dist < se[-1]
i, j, dist = i[keep], j[keep], dist[keep]
s_band = np.searchsorted(se, dist, side="right") - 1
S, T = len(se) - 1, len(te)
# all pairs per time band, for the open-ended space row
def all_by_time(d):
    c = np.bincount(d - d.min())
    h = np.correlate(c, c, "full")[len(c) - 1:].astype(np.int64)
    h[0] = (c * (c - 1) // 2).sum()
    b = np.searchsorted(te, np.arange(len(h)), side="right") - 1
    return np.bincount(b, weights=h, minlength=T).astype(np.int64)
all_t = all_by_time(days)
def table(d):
    t_band = np.searchsorted(te, np.abs(d[i] - d[j]), side="right") - 1
    near = np.bincount(s_band * T + t_band, minlength=S * T).reshape(S, T)
    return np.vstack([near, all_t - near.sum(axis=0)])
observed = table(days)
rng = np.random.default_rng(1)
total = np.zeros_like(observed); at_least = np.zeros_like(observed)
for _ in range(perms):
    sim = table(days[rng.permutation(n)])
    total += sim; at_least += sim >= observed
expected = total / perms
print(json.dumps({"observed": observed.tolist(), "expected": expected.tolist(),
                  "p_value": ((at_least + 1) / (perms + 1)).tolist()}))
'''


def write_2014(folder: Path) -> Path:
    out = folder / "chicago_burglary_2014.csv"
    with open(DATA, newline="") as f, open(out, "w", newline="") as g:
        reader, writer = csv.reader(f), csv.writer(g)
        writer.writerow(next(reader))
        writer.writerows(r for r in reader if r[2].endswith("/2014"))
    return out


def timed(cmd: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MB, stdout of one child process."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            detail = proc.stderr.read().decode() if proc.stderr else ""
            raise SystemExit(f"{cmd[:4]} failed: {detail}")
        out.seek(0)
        return seconds, usage.ru_maxrss / 1024, out.read().decode()


def brute_force(path: Path, sample: int, perms: int) -> tuple[float, int, np.ndarray, np.ndarray]:
    """Seconds for `perms` + 1 all-pairs tables on `sample` events; the events used; the
    observed table; and the day ordinals (to check against saferboard)."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    rng = np.random.default_rng(0)
    pick = np.sort(rng.choice(len(rows), sample, replace=False))
    x = np.array([float(rows[k]["x"]) for k in pick])
    y = np.array([float(rows[k]["y"]) for k in pick])
    days = np.array([date(*map(int, reversed(rows[k]["date_single"].split("/")))).toordinal()
                     for k in pick])
    se = np.array([float(v) for v in SPACE.split(",")])
    te = np.array([float(v) for v in TIME.split(",")])

    def table(d: np.ndarray) -> np.ndarray:
        out = np.zeros((len(se), len(te)), dtype=np.int64)
        for a in range(len(x) - 1):
            dist = np.abs(x[a + 1:] - x[a]) + np.abs(y[a + 1:] - y[a])
            s = np.searchsorted(se, dist, side="right") - 1
            t = np.searchsorted(te, np.abs(d[a + 1:] - d[a]), side="right") - 1
            out += np.bincount(s * len(te) + t, minlength=out.size).reshape(out.shape)
        return out

    start = time.perf_counter()
    observed = table(days)
    for _ in range(perms):
        table(days[rng.permutation(len(days))])
    return time.perf_counter() - start, sample, observed, np.column_stack([x, y, days])


def compare(path: Path, repeat: int, script: Path) -> dict[str, Any]:
    """Interleaved runs of saferboard and (b) on one CSV: times, peak RSS, outputs checked."""
    ours_cmd = [sys.executable, "-c", "from saferboard.cli import main; main()",
                "near-repeat", str(path), "--x-col", "x", "--y-col", "y", "--date-col",
                "date_single", "--space-bands", SPACE, "--time-bands", TIME,
                "--permutations", str(PERMUTATIONS), "--seed", "1", "--format", "json"]
    base_cmd = [sys.executable, str(script), str(path), SPACE, TIME, str(PERMUTATIONS)]
    times: dict[str, list[float]] = {"saferboard": [], "straightforward": []}
    rss: dict[str, float] = {"saferboard": 0.0, "straightforward": 0.0}
    outputs: dict[str, str] = {}
    for k in range(repeat):
        order = ["straightforward", "saferboard"] if k % 2 == 0 else [
            "saferboard", "straightforward"]
        for name in order:
            s, mb, out = timed(ours_cmd if name == "saferboard" else base_cmd)
            times[name].append(s)
            rss[name] = max(rss[name], mb)
            outputs[name] = out
    ours = json.loads(outputs["saferboard"])
    base = json.loads(outputs["straightforward"])
    assert ours["observed"] == base["observed"], "observed tables differ"
    worst = max(abs(a - b) / max(b, 1) for ra, rb in zip(ours["expected"], base["expected"],
                                                           strict=True)
                for a, b in zip(ra, rb, strict=True))
    return {"n": ours["n_events"], "times": times, "rss": rss, "worst": worst,
            "med": {k: statistics.median(v) for k, v in times.items()}}


def report(label: str, r: dict[str, Any], brute_s: float, m: int, brute_perms: int) -> None:
    n = r["n"]
    med, times, rss = r["med"], r["times"], r["rss"]
    scale = (n * (n - 1)) / (m * (m - 1)) * (PERMUTATIONS + 1) / (brute_perms + 1)
    brute_full = brute_s * scale
    print(f"[{label}] events {n:,}, permutations {PERMUTATIONS}, space {SPACE} m "
          f"(Manhattan), time {TIME} days; {len(times['saferboard'])} interleaved runs, "
          "medians")
    print(f"saferboard near-repeat (whole command): {med['saferboard']:.2f} s "
          f"(runs {', '.join(f'{t:.2f}' for t in times['saferboard'])}), "
          f"peak RSS {rss['saferboard']:.0f} MB")
    print(f"(b) straightforward KD-tree + bincount: {med['straightforward']:.2f} s "
          f"(runs {', '.join(f'{t:.2f}' for t in times['straightforward'])}), "
          f"peak RSS {rss['straightforward']:.0f} MB")
    print(f"(a) brute force: {brute_s:.2f} s for {m:,} events x {brute_perms + 1} tables "
          f"-> extrapolated {brute_full:,.0f} s ({brute_full / 3600:.1f} h) for the full run")
    print(f"speed-up vs (b): {med['straightforward'] / med['saferboard']:.2f}x; "
          f"vs (a): {brute_full / med['saferboard']:,.0f}x")
    print(f"observed tables equal; expected counts (different random streams) differ by at "
          f"most {r['worst']:.1%}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workload", choices=["2014", "city", "both"], default="both")
    parser.add_argument("--sample", type=int, default=2000)
    parser.add_argument("--brute-perms", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = write_2014(folder)
        script = folder / "straightforward.py"
        script.write_text(STRAIGHTFORWARD)
        # The city run first: the parent is smallest then (its size can show in a child's
        # ru_maxrss).
        results = {}
        if args.workload in ("city", "both"):
            results["city"] = compare(DATA, args.repeat, script)
        if args.workload in ("2014", "both"):
            results["2014"] = compare(path, args.repeat, script)

        brute_s, m, brute_obs, sample = brute_force(path, args.sample, args.brute_perms)
        from saferboard.measures.near_repeat import pair_counts

        check = pair_counts(sample[:, 0], sample[:, 1], sample[:, 2].astype(np.int64),
                            [float(v) for v in SPACE.split(",")],
                            [int(v) for v in TIME.split(",")])
        assert np.array_equal(check, brute_obs), "brute force disagrees on the subsample"

    for label, r in results.items():
        report(label, r, brute_s, m, args.brute_perms)


if __name__ == "__main__":
    main()
