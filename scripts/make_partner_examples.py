"""Build the synthetic partner extracts in examples/partner/ (deterministic: fixed seeds).

Nothing here is real: every id, date, address and person is invented. The extracts are built
to give figures of the same shape as the partnership's papers, so the commands print
recognisable numbers:

* domestic abuse incidents (Feb 2015 - Jan 2017): around 100 repeat victims a month, about a
  quarter of each month's victims, about 2.7 previous incidents per repeat victim (seed 001);
* ASB calls in the six 4-week periods to Sunday 31/03/2013: 9-10% repeat callers (seed 003);
* residential burglary by address, 2010/11 and 2012/13: 6.3% and 5.3% repeat burglaries, 27
  fewer repeats (seed 003);
* MARAC referrals 2013/14 Q1 - 2016/17 Q3: cases rising from about 37 to about 75 a quarter,
  5-10 repeat cases a quarter; April-December 2016: 226 referrals of which 23 repeats, 40% from
  DV specialist services, 26% from the police, 98% of victims female, 78% aged 19-50 (seed 001);
* an offender cohort of 100 (60 IOM statutory, 40 IOM non-statutory), each a member for 365
  days, with 291 offences in the 12 months before joining and 165 while a member (2.91 ->
  1.65 a year, 43% lower, seed 002).

Run: python scripts/make_partner_examples.py [OUT_DIR]   (default examples/partner)
"""

from __future__ import annotations

import csv
import random
import sys
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from saferboard.sources.partner import KINDS  # noqa: E402

# Barnet, roughly, in British National Grid metres and in longitude/latitude.
BNG = ((521_000, 530_000), (188_000, 197_000))
LONLAT = ((-0.28, -0.14), (51.58, 51.66))


def month_starts(first: date, last: date) -> list[date]:
    out = []
    d = first
    while d <= last:
        out.append(d)
        d = (d.replace(day=28) + timedelta(days=4)).replace(day=1)
    return out


def domestic_abuse(rng: random.Random) -> list[dict[str, object]]:
    """A mix of one-off victims and victims with a run of incidents (geometric length,
    exponential gaps); simulated from Feb 2014 and kept from Feb 2015 so the first kept
    months already carry repeat victims from earlier."""
    start, keep, end = date(2014, 2, 1), date(2015, 2, 1), date(2017, 1, 31)
    rows: list[dict[str, object]] = []
    pid = 0
    for m in month_starts(start, end):
        for _ in range(310):
            pid += 1
            p = 0.75 if rng.random() < 0.135 else 0.02
            t = m + timedelta(days=rng.randrange(28))
            while t <= end:
                if t >= keep:
                    rows.append({"date": t, "person_id": f"DA-V{pid:06d}",
                                 "incident_type": "Domestic abuse", "flags": ""})
                if rng.random() >= p:
                    break
                t += timedelta(days=1 + int(rng.expovariate(1 / 72)))
    return rows


def asb_calls(rng: random.Random) -> list[dict[str, object]]:
    """Six 4-week periods ending Sunday 31/03/2013 (period 1 = the latest), 300 callers each,
    of whom 27 or 30 (9% or 10%) call 2-3 times in the period; callers differ per period."""
    end = date(2013, 3, 31)
    repeat = {1: 27, 2: 30, 3: 30, 4: 30, 5: 27, 6: 30}
    rows: list[dict[str, object]] = []
    for period, r in repeat.items():
        first = end - timedelta(days=28 * period - 1)
        for c in range(300):
            caller = f"ASB-C{period}{c:04d}"
            calls = (2 + (c % 2)) if c < r else 1
            for _ in range(calls):
                lon = rng.uniform(*LONLAT[0])
                lat = rng.uniform(*LONLAT[1])
                rows.append({"date": first + timedelta(days=rng.randrange(28)),
                             "person_id": caller, "location_id": "",
                             "latitude": f"{lat:.5f}", "longitude": f"{lon:.5f}",
                             "incident_type": "ASB call", "flags": ""})
    return rows


def burglary(rng: random.Random) -> list[dict[str, object]]:
    """2,700 residential burglaries in each of 2010/11 and 2012/13; 170 (6.3%) and 143 (5.3%)
    of them at an address burgled 20-200 days earlier in the same year; every other burglary
    at an address not burgled in the previous 365 days."""
    rows: list[dict[str, object]] = []
    serial = 0
    for fy, repeats in ((2010, 170), (2012, 143)):
        first = date(fy, 4, 1)
        firsts: list[tuple[date, str, int, int]] = []
        for _ in range(2700 - repeats):
            serial += 1
            d = first + timedelta(days=rng.randrange(365))
            x, y = rng.randrange(*BNG[0]), rng.randrange(*BNG[1])
            firsts.append((d, f"ADDR-B{serial:06d}", x, y))
        early = [f for f in firsts if f[0] <= first + timedelta(days=150)]
        for d, addr, x, y in firsts:
            rows.append({"date": d, "person_id": f"BURG-V{addr[-6:]}",
                         "location_id": addr, "x": x, "y": y,
                         "incident_type": "Residential burglary", "flags": ""})
        for i in range(repeats):
            d, addr, x, y = early[i]
            rows.append({"date": d + timedelta(days=20 + rng.randrange(180)),
                         "person_id": "", "location_id": addr, "x": x, "y": y,
                         "incident_type": "Residential burglary", "flags": "repeat"})
    return rows


def incidents() -> list[dict[str, object]]:
    rows = (domestic_abuse(random.Random(2017)) + asb_calls(random.Random(2013))
            + burglary(random.Random(2011)))
    rows.sort(key=lambda r: (str(r["date"]), str(r["incident_type"])))
    for i, r in enumerate(rows, start=1):
        r["incident_id"] = f"INC{i:07d}"
    return rows


SOURCES_2016 = (("DV specialist services", 90), ("Police", 59), ("Children's social care", 25),
                ("Health", 20), ("Housing", 12), ("Probation", 8), ("Self or other", 12))
QUARTERS = ((36, 5), (38, 6), (37, 5), (40, 6), (44, 7), (47, 6), (50, 8), (52, 7),
            (55, 9), (58, 8), (62, 7), (66, 10), (75, 8), (76, 8), (75, 7))  # 2013/14 Q1 on


def _exact(n: int, counts: list[tuple[object, int]], rng: random.Random) -> list[object]:
    values = [v for v, k in counts for _ in range(k)]
    assert len(values) == n, (len(values), n)
    rng.shuffle(values)
    return values


def marac() -> list[dict[str, object]]:
    rng = random.Random(2016)
    cases_so_far: list[tuple[date, str]] = []
    victim = 0
    for q, (cases, repeats) in enumerate(QUARTERS):
        fy, qq = 2013 + q // 4, q % 4
        qfirst = date(fy + (1 if qq == 3 else 0), (4 + 3 * qq - 1) % 12 + 1, 1)
        days = sorted(qfirst + timedelta(days=rng.randrange(10, 90)) for _ in range(cases))
        oldest = cases_so_far[0][0] if cases_so_far else days[0]
        eligible = [i for i in range(cases) if (days[i] - oldest).days >= 20]
        is_repeat = set(rng.sample(eligible, repeats))
        for i, d in enumerate(days):
            if i in is_repeat:  # a victim referred 20-330 days before: a repeat case
                earlier = [v for e, v in cases_so_far if 20 <= (d - e).days <= 330]
                vid = rng.choice(earlier)
            else:  # a victim never referred before: not a repeat
                victim += 1
                vid = f"MV{victim:05d}"
            cases_so_far.append((d, vid))
    rows: list[dict[str, object]] = [{"date": d, "victim_id": v} for d, v in cases_so_far]
    in_2016 = [r for r, (d, _) in zip(rows, cases_so_far, strict=True)
               if date(2016, 4, 1) <= d <= date(2016, 12, 31)]
    assert len(in_2016) == 226
    profile = {
        "referral_source": _exact(226, list(SOURCES_2016), rng),
        "victim_sex": _exact(226, [("F", 221), ("M", 5)], rng),
        "victim_age": _exact(226, [("young", 20), ("19-50", 176), ("old", 30)], rng),
        "victim_disability": _exact(226, [("physical", 14), ("learning", 4), ("none", 160),
                                          ("", 48)], rng),
        "perpetrator_sex": _exact(226, [("M", 218), ("F", 8)], rng),
        "perpetrator_age": _exact(226, [("31-50", 113), ("young", 70), ("old", 43)], rng),
        "perpetrator_mental_health": _exact(226, [("yes", 45), ("no", 150), ("", 31)], rng),
        "perpetrator_substance_misuse": _exact(226, [("yes", 79), ("no", 120), ("", 27)], rng),
    }
    other = [r for r in rows if not any(r is t for t in in_2016)]
    out = []
    for i, r in enumerate(in_2016 + other):
        j = i if i < 226 else None

        def pick(col: str, j: int | None = j) -> object:
            return profile[col][j] if j is not None else rng.choice(profile[col])

        va, pa = pick("victim_age"), pick("perpetrator_age")
        out.append({
            "referral_id": "", "date": r["date"], "victim_id": r["victim_id"],
            "perpetrator_id": f"MP{rng.randrange(100_000):05d}",
            "referral_source": pick("referral_source"), "victim_sex": pick("victim_sex"),
            "victim_age": {"young": rng.randrange(16, 19), "19-50": rng.randrange(19, 51),
                           "old": rng.randrange(51, 80)}[str(va)],
            "victim_disability": {"physical": "Physical disability",
                                  "learning": "Learning disability", "none": "None",
                                  "": ""}[str(pick("victim_disability"))],
            "perpetrator_sex": pick("perpetrator_sex"),
            "perpetrator_age": {"31-50": rng.randrange(31, 51), "young": rng.randrange(18, 31),
                                "old": rng.randrange(51, 75)}[str(pa)],
            "perpetrator_mental_health": pick("perpetrator_mental_health"),
            "perpetrator_substance_misuse": pick("perpetrator_substance_misuse"),
        })
    out.sort(key=lambda r: (str(r["date"]), str(r["victim_id"])))
    for i, r in enumerate(out, start=1):
        r["referral_id"] = f"MARAC{i:05d}"
    return out


def cohort() -> tuple[list[dict[str, object]], list[dict[str, object]],
                      list[dict[str, object]]]:
    """100 offenders joining Jan-Jun 2014 and leaving 364 days later (365 days a member),
    none in custody in the 12 months either side of joining; 291 offences in the 365 days
    before joining (2.91 per offender-year) and 165 while a member (1.65), 1-3 each."""
    rng = random.Random(2015)
    members, custody, offences = [], [], []
    before = [3] * 91 + [2] * 9  # 273 + 18 = 291
    after = [2] * 65 + [1] * 35  # 130 + 35 = 165
    assert sum(before) == 291 and sum(after) == 165
    types = ["Theft from shop", "Burglary dwelling", "Vehicle crime", "Drug possession",
             "Assault", "Breach of order"]
    for i in range(100):
        oid = f"OFF{i + 1:04d}"
        join = date(2014, 1, 1) + timedelta(days=rng.randrange(181))
        members.append({"offender_id": oid,
                        "cohort": "IOM statutory" if i < 60 else "IOM non-statutory",
                        "join_date": join,
                        "leave_date": join + timedelta(days=364)})
        if i % 10 == 0:  # an older custody period, outside both 12-month windows
            s = join - timedelta(days=700)
            custody.append({"offender_id": oid, "start_date": s,
                            "end_date": s + timedelta(days=200)})
        for n, sign in ((before[i], -1), (after[i], 1)):
            for _ in range(n):
                d = join + timedelta(days=sign * rng.randrange(5, 355))
                t = rng.choice(types)
                offences.append({"offender_id": oid, "offence_date": d, "offence_type": t,
                                 "ho_recordable": "no" if t == "Breach of order" else "yes",
                                 "conviction_date": d + timedelta(days=rng.randrange(30, 200))
                                 if rng.random() < 0.7 else ""})
    offences.sort(key=lambda r: (str(r["offence_date"]), str(r["offender_id"])))
    return members, custody, offences


def write(path: Path, header: list[str], rows: list[dict[str, object]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for r in rows:
            w.writerow(["" if r.get(h) is None else r.get(h, "") for h in header])


def template(kind: str) -> list[str]:
    return [f.template for f in KINDS[kind].fields]


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "templates").mkdir(exist_ok=True)
    for kind in KINDS:
        write(out / "templates" / f"{kind}.csv", template(kind), [])
    write(out / "incidents.csv", template("incidents"), incidents())
    write(out / "marac.csv", template("marac"), marac())
    members, custody, offences = cohort()
    write(out / "cohort.csv", template("cohort"), members)
    write(out / "custody.csv", template("custody"), custody)
    write(out / "offences.csv", template("offences"), offences)
    print(f"wrote the synthetic partner extracts and templates to {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "examples" / "partner")
