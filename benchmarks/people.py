"""People measures' speed: repeat victimisation over 1,000,000 incidents and the offender
cohort over 100,000 offences, saferboard against a straightforward pandas implementation of
the same figures, in the same run.

Data (generated deterministically with numpy, seed 20261124; generation is not timed):

* incidents: 1,000,000 incidents of one type over 2023-01-01..2025-12-31, drawn among 250,000
  people with heavy-tailed (Pareto) weights, so that about half of 2025's victims are repeat
  victims (more repeats than seed 001's quarter: a harder case for the look-back);
* cohort: 2,000 members (4 cohort values) joining over 2023-2024, 30% with 1-3 custody
  periods (some open), a few later memberships; offences: 100,000 by 20,000 offenders (the
  members commit about a third), 8 offence types, 70% Home Office recordable.

Methods (each run in this process; imports not timed; runs interleaved, median of --repeat):

* saferboard: `repeat_victimisation(Incidents(key, day), month)` and
  `cohort_measures(CohortData(...), as_of=...)` from numpy columns;
* pandas: the same figures from DataFrames: a per-person groupby-rolling 365-day count for
  each incident's previous incidents, groupbys for the window and the monthly series; for the
  cohort, first memberships by groupby, custody whole days merged per offender with a cumulative
  max, overlaps by merge, offences in custody by merge + filter, counts by groupby.

Every figure both compute is compared (exactly for counts, 1e-12 relative for rates); the
script fails if any differs. This is a benchmark, not a timed test: the figures are recorded
by hand in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from machine import machine, peak_rss_kib

from saferboard.measures.cohort import (
    BEFORE_DAYS,
    OPEN,
    YEAR_DAYS,
    CohortData,
    cohort_measures,
    day_number,
)
from saferboard.measures.repeats import Incidents, repeat_victimisation

SEED = 20261124
FIRST = day_number(date(2023, 1, 1))
LAST = day_number(date(2025, 12, 31))
MONTH = date(2025, 12, 1)
AS_OF = date(2025, 12, 31)
LOOKBACK = 365
MIN_DAYS = 90
TOP_N = 200
TYPES = np.array(["Burglary dwelling", "Robbery", "Theft from motor vehicle",
                  "Theft of motor vehicle", "Violence with injury", "Violence without injury",
                  "Criminal damage", "Drug possession"], dtype=object)
COHORTS = np.array(["Statutory", "Non-statutory", "Gangs", "Women"], dtype=object)


# --------------------------------------------------------------------------- data


def make_incidents(n: int, people: int, rng: np.random.Generator) -> tuple[np.ndarray,
                                                                           np.ndarray]:
    weights = rng.pareto(1.6, people) + 0.05
    key = rng.choice(people, size=n, p=weights / weights.sum()).astype(np.int64)
    day = rng.integers(FIRST, LAST + 1, size=n).astype(np.int64)
    return key, day


def make_cohort(n_offences: int, offenders: int, members: int, rng: np.random.Generator
                ) -> CohortData:
    ids = np.array([f"o{i:06d}" for i in range(offenders)], dtype=object)
    m_idx = rng.choice(offenders, size=members, replace=False)
    join = rng.integers(day_number(date(2023, 1, 1)), day_number(date(2024, 12, 31)) + 1,
                        size=members)
    stay = rng.integers(30, 900, size=members)
    leave = np.where(rng.random(members) < 0.4, join + stay, OPEN)
    again = rng.choice(members, size=members // 50, replace=False)  # later memberships
    m_off = np.concatenate([ids[m_idx], ids[m_idx[again]]])
    m_coh = np.concatenate([COHORTS[rng.integers(0, 4, members)],
                            COHORTS[rng.integers(0, 4, len(again))]])
    m_join = np.concatenate([join, join[again] + 400]).astype(np.int64)
    m_leave = np.concatenate([leave, np.full(len(again), OPEN)]).astype(np.int64)
    in_custody = rng.choice(members, size=int(members * 0.3), replace=False)
    c_rows = []
    for i in in_custody:
        for _ in range(int(rng.integers(1, 4))):
            s = int(join[i] + rng.integers(-400, 700))
            end = OPEN if rng.random() < 0.05 else s + int(rng.integers(1, 200))
            c_rows.append((ids[m_idx[i]], s, end))
    # Offenders: members commit about a third of the offences.
    w = np.ones(offenders)
    w[m_idx] = (n_offences / 3) / members / ((n_offences * 2 / 3) / (offenders - members))
    w *= rng.pareto(2.0, offenders) + 0.2
    who = rng.choice(offenders, size=n_offences, p=w / w.sum())
    days = rng.integers(day_number(date(2021, 6, 1)), LAST + 1, size=n_offences)
    return CohortData(
        m_off, m_coh, m_join, m_leave,
        np.array([r[0] for r in c_rows], dtype=object),
        np.array([r[1] for r in c_rows], dtype=np.int64),
        np.array([r[2] for r in c_rows], dtype=np.int64),
        ids[who], days.astype(np.int64), TYPES[rng.integers(0, len(TYPES), n_offences)],
        rng.random(n_offences) < 0.7,
        np.full(n_offences, np.iinfo(np.int64).min // 4, dtype=np.int64),
    )


# --------------------------------------------------------------------------- saferboard


def sb_repeats(key: np.ndarray, day: np.ndarray) -> dict[str, Any]:
    r = repeat_victimisation(Incidents(key, day), MONTH, lookback_days=LOOKBACK)
    return {"incidents": r.incidents, "victims": r.victims, "repeat_victims": r.repeat_victims,
            "repeat_incidents": r.repeat_incidents,
            "avg_previous": r.avg_previous,
            "monthly": [(m.month.isoformat(), m.incidents, m.victims, m.repeat_victims,
                         m.repeat_incidents) for m in r.series]}


def sb_cohort(data: CohortData) -> dict[str, Any]:
    r = cohort_measures(data, as_of=AS_OF, min_days=MIN_DAYS, top_n=TOP_N)

    def g(x: Any) -> tuple[Any, ...]:
        return (x.members, x.offences_before, x.offences_after, x.years_before, x.years_after)

    return {"overall": g(r.overall), "ho": g(r.ho_recordable),
            "by_cohort": {k: g(v) for k, v in r.by_cohort.items()},
            "by_type": {t.offence_type: (t.offences_before, t.offences_after)
                        for t in r.by_type},
            "in_custody": r.offences_in_custody,
            "top": (r.concentration.offenders, r.concentration.offences,
                    r.concentration.top_offences)}


# --------------------------------------------------------------------------- pandas


def pd_repeats(key: np.ndarray, day: np.ndarray) -> dict[str, Any]:
    last = day_number(date(2025, 12, 31))
    first_window = day_number(date(2025, 1, 1))
    df = pd.DataFrame({"key": key, "day": day})
    df = df[df["day"] <= last]
    df = df.sort_values(["key", "day"], kind="stable").reset_index(drop=True)
    df["t"] = pd.to_datetime(df["day"], unit="D")
    # Previous incidents: same key, day - 365 .. day, earlier in (key, day) order.
    counts = (df.groupby("key", sort=False).rolling(f"{LOOKBACK}D", on="t",
                                                    closed="both")["day"].count())
    # Groups come in key order (df is sorted by key), rows in df order within each group.
    df["previous"] = counts.to_numpy().astype(np.int64) - 1
    w = df[df["day"] >= first_window]
    per = w.groupby("key").size()
    df["month"] = df["t"].dt.to_period("M")
    last_in_month = df.groupby(["key", "month"], sort=False).tail(1)
    months = pd.period_range("2025-01", "2025-12", freq="M")
    series = []
    for m in months:
        inc = df[df["month"] == m]
        lm = last_in_month[last_in_month["month"] == m]
        series.append((m.start_time.date().isoformat(), len(inc), len(lm),
                       int((lm["previous"] >= 1).sum()), int((inc["previous"] >= 1).sum())))
    return {"incidents": len(w), "victims": len(per), "repeat_victims": int((per > 1).sum()),
            "repeat_incidents": int((w["previous"] >= 1).sum()),
            "avg_previous": (round(float((per[per > 1] - 1).sum() / (per > 1).sum()), 2)
                             if (per > 1).any() else None),
            "monthly": series}


def pd_cohort(data: CohortData) -> dict[str, Any]:
    today = day_number(AS_OF)
    m = pd.DataFrame({"offender": data.member_offender, "cohort": data.member_cohort,
                      "join": data.member_join, "leave": data.member_leave})
    m = m[m["join"] <= today].sort_values(["offender", "join"], kind="stable")
    m = m.drop_duplicates("offender").reset_index(drop=True)
    m["b_a"], m["b_b"] = m["join"] - BEFORE_DAYS, m["join"] - 1
    m["a_a"], m["a_b"] = m["join"], np.minimum(m["leave"], today)
    # Custody: whole days start+1..end-1 (open: to as_of), merged per offender.
    c = pd.DataFrame({"offender": data.custody_offender, "a": data.custody_start + 1,
                      "b": np.where(data.custody_end >= OPEN, today, data.custody_end - 1)})
    c = c[(c["b"] >= c["a"]) & c["offender"].isin(m["offender"])]
    c = c.sort_values(["offender", "a"], kind="stable").reset_index(drop=True)
    run_max = c.groupby("offender")["b"].cummax()
    prev_max = run_max.groupby(c["offender"]).shift(1)
    c["grp"] = ((prev_max.isna()) | (c["a"] > prev_max + 1)).cumsum()
    merged = c.groupby("grp").agg(offender=("offender", "first"), a=("a", "min"),
                                  b=("b", "max")).reset_index(drop=True)
    j = merged.merge(m[["offender", "b_a", "b_b", "a_a", "a_b"]], on="offender")
    j["in_b"] = (np.minimum(j["b"], j["b_b"]) - np.maximum(j["a"], j["b_a"]) + 1).clip(lower=0)
    j["in_a"] = (np.minimum(j["b"], j["a_b"]) - np.maximum(j["a"], j["a_a"]) + 1).clip(lower=0)
    jail = j.groupby("offender")[["in_b", "in_a"]].sum()
    m = m.merge(jail, left_on="offender", right_index=True, how="left").fillna(
        {"in_b": 0, "in_a": 0})
    m["days_b"] = BEFORE_DAYS - m["in_b"]
    m["days_a"] = m["a_b"] - m["a_a"] + 1 - m["in_a"]
    m["included"] = (m["days_b"] >= MIN_DAYS) & (m["days_a"] >= MIN_DAYS)
    o = pd.DataFrame({"offender": data.offence_offender, "day": data.offence_day,
                      "type": data.offence_type, "ho": data.offence_ho})
    o = o.reset_index().merge(m[["offender", "cohort", "b_a", "b_b", "a_a", "a_b", "included"]],
                              on="offender")
    oc = o[["index", "offender", "day"]].merge(merged, on="offender")
    custody_idx = set(oc.loc[(oc["day"] >= oc["a"]) & (oc["day"] <= oc["b"]), "index"])
    o["custody"] = o["index"].isin(custody_idx)
    o["before"] = (o["day"] >= o["b_a"]) & (o["day"] <= o["b_b"])
    o["after"] = (o["day"] >= o["a_a"]) & (o["day"] <= o["a_b"])
    in_custody = int((o["custody"] & (o["before"] | o["after"])).sum())
    o = o[~o["custody"] & o["included"]]
    mi = m[m["included"]]

    def grp(members: pd.DataFrame, offs: pd.DataFrame) -> tuple[Any, ...]:
        return (len(members), int(offs["before"].sum()), int(offs["after"].sum()),
                float(members["days_b"].sum() / YEAR_DAYS),
                float(members["days_a"].sum() / YEAR_DAYS))

    by_cohort = {k: grp(mi[mi["cohort"] == k], o[o["cohort"] == k])
                 for k in sorted(m["cohort"].unique())}
    types = o.groupby("type")[["before", "after"]].sum()
    by_type = {str(t): (int(r["before"]), int(r["after"])) for t, r in types.iterrows()
               if r["before"] or r["after"]}
    win = pd.Series(data.offence_offender[(data.offence_day > today - 365)
                                          & (data.offence_day <= today)])
    per = win.value_counts()
    return {"overall": grp(mi, o), "ho": grp(mi, o[o["ho"]]), "by_cohort": by_cohort,
            "by_type": by_type, "in_custody": in_custody,
            "top": (len(per), int(per.sum()), int(per.nlargest(TOP_N).sum()))}


# --------------------------------------------------------------------------- run


def same(a: Any, b: Any, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return [f"{path}: keys differ {sorted(set(a) ^ set(b))}"]
        return [e for k in a for e in same(a[k], b[k], f"{path}.{k}")]
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) != len(b):
            return [f"{path}: lengths {len(a)} != {len(b)}"]
        return [e for i, (x, y) in enumerate(zip(a, b, strict=True))
                for e in same(x, y, f"{path}[{i}]")]
    if isinstance(a, float) or isinstance(b, float):
        return [] if np.isclose(a, b, rtol=1e-12, atol=0) else [f"{path}: {a} != {b}"]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def timed(fn: Callable[[], dict[str, Any]]) -> tuple[float, dict[str, Any]]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--incidents", type=int, default=1_000_000)
    p.add_argument("--people", type=int, default=250_000)
    p.add_argument("--offences", type=int, default=100_000)
    p.add_argument("--offenders", type=int, default=20_000)
    p.add_argument("--members", type=int, default=2_000)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    print(machine("numpy", "pandas"))
    rng = np.random.default_rng(SEED)
    key, day = make_incidents(args.incidents, args.people, rng)
    data = make_cohort(args.offences, args.offenders, args.members, rng)
    print(f"data: {len(key):,} incidents by {len(np.unique(key)):,} people; "
          f"{len(data.offence_day):,} offences by {len(np.unique(data.offence_offender)):,} "
          f"offenders; {len(data.member_join):,} membership rows; "
          f"{len(data.custody_start):,} custody periods")
    jobs: dict[str, tuple[Callable[[], dict[str, Any]], Callable[[], dict[str, Any]]]] = {
        "repeat victimisation": (lambda: sb_repeats(key, day), lambda: pd_repeats(key, day)),
        "offender cohort": (lambda: sb_cohort(data), lambda: pd_cohort(data)),
    }
    failures = []
    rows = []
    for name, (sb, pdf) in jobs.items():
        sb_t, pd_t = [], []
        for i in range(args.repeat):
            order = [("sb", sb), ("pd", pdf)] if i % 2 == 0 else [("pd", pdf), ("sb", sb)]
            results = {}
            for who, fn in order:
                t, out = timed(fn)
                (sb_t if who == "sb" else pd_t).append(t)
                results[who] = out
            diffs = same(results["sb"], results["pd"])
            if diffs:
                failures.append(f"{name}: " + "; ".join(diffs[:5]))
        rows.append((name, statistics.median(sb_t), statistics.median(pd_t), sb_t, pd_t))
        if name == "repeat victimisation":
            r = results["sb"]
            print(f"{name}: {r['incidents']:,} incidents in 2025, {r['victims']:,} victims, "
                  f"{r['repeat_victims']:,} repeat victims "
                  f"({100 * r['repeat_victims'] / r['victims']:.1f}%)")
        else:
            r = results["sb"]
            o = r["overall"]
            print(f"{name}: {o[0]:,} members, {o[1]:,} offences before / {o[2]:,} after "
                  f"({o[1] / o[3]:.2f} -> {o[2] / o[4]:.2f} per offender-year); "
                  f"{r['in_custody']:,} offences in custody set aside")
    print("\n| measure | saferboard s (median) | pandas s (median) | ratio (pandas / "
          "saferboard) | runs saferboard | runs pandas |")
    print("|---|---:|---:|---:|---|---|")
    for name, sb_m, pd_m, sb_t, pd_t in rows:
        print(f"| {name} | {sb_m:.3f} | {pd_m:.3f} | {pd_m / sb_m:.1f}x | "
              f"{', '.join(f'{t:.3f}' for t in sb_t)} | {', '.join(f'{t:.3f}' for t in pd_t)} |")
    print(f"\npeak memory (whole run): {peak_rss_kib() / 1024:.0f} MiB; "
          f"results identical in every run: {'yes' if not failures else 'NO'}")
    if failures:
        raise SystemExit("results differ:\n" + "\n".join(failures))


if __name__ == "__main__":
    main()
