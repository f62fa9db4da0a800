"""Outcome rates and the sanction detection rate, pinned to an independent computation over
the raw police.uk files with the csv module."""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest

from saferboard.core.errors import InputError
from saferboard.core.outcome_map import load_outcome_map
from saferboard.measures.outcomes import OutcomeRates, outcome_rates
from saferboard.sources.ingest import ingest
from tests.conftest import EXAMPLES, SHARED, needs_shared, run_cli
from tests.csvcount import la_of, rows, street_tally

MET = SHARED / "policeuk_met_burglary"
COL = SHARED / "policeuk_city_of_london"
EX = EXAMPLES / "policeuk"

# The groups written out again here (not read from outcomes.toml), highest precedence first,
# so that a wrong edit of the shipped mapping fails these tests.
GROUPS: dict[str, tuple[str, ...]] = {
    "Charged or summonsed": (
        "Suspect charged", "Suspect charged as part of another case", "Awaiting court outcome",
        "Court result unavailable", "Court case unable to proceed", "Defendant found not guilty",
        "Defendant sent to Crown Court", "Offender sent to prison", "Offender fined",
        "Offender given suspended prison sentence", "Offender given community sentence",
        "Offender given conditional discharge", "Offender given absolute discharge",
        "Offender otherwise dealt with", "Offender deprived of property",
        "Offender ordered to pay compensation"),
    "Caution or out-of-court disposal": (
        "Offender given a caution", "Offender given penalty notice",
        "Offender given a drugs possession warning"),
    "Community resolution": ("Local resolution",),
    "No further action": (
        "Investigation complete; no suspect identified", "Unable to prosecute suspect",
        "Formal action is not in the public interest",
        "Further investigation is not in the public interest",
        "Further action is not in the public interest",
        "Action to be taken by another organisation"),
    "Not yet known": ("Under investigation", "Status update unavailable"),
}
GROUP_OF = {label: g for g, labels in GROUPS.items() for label in labels}
RANK = {g: i for i, g in enumerate(GROUPS)}
SD = {"Charged or summonsed", "Caution or out-of-court disposal"}


@dataclass
class Expected:
    crimes: int = 0
    sd: int = 0
    from_outcomes: int = 0
    without_id: int = 0
    duplicate_rows: int = 0
    groups: Counter[str] = field(default_factory=Counter)
    unmapped: Counter[str] = field(default_factory=Counter)
    sd_by_month: dict[str, tuple[int, int]] = field(default_factory=dict)


def expected(street: Iterable[Path], outcomes: Iterable[Path], area: str | None,
             start: str, end: str) -> Expected:
    """The brief's rules, computed directly: crimes are distinct Crime IDs of street rows in
    start..end and the area; a crime's outcome labels are those of its latest outcomes month,
    else its street rows' last outcomes; it is a sanction detection if ANY of those labels is
    one, and otherwise its group is the best-ranked of them."""
    exp = Expected()
    street_labels: dict[str, list[str]] = defaultdict(list)
    month_of: dict[str, str] = {}
    for p in street:
        for r in rows(p):
            if not start <= r["Month"] <= end:
                continue
            if area is not None and la_of(r["LSOA name"]) != area:
                continue
            if not r["Crime ID"]:
                exp.without_id += 1
                continue
            if r["Crime ID"] in street_labels:
                exp.duplicate_rows += 1
            street_labels[r["Crime ID"]].append(r["Last outcome category"])
            month_of[r["Crime ID"]] = min(r["Month"], month_of.get(r["Crime ID"], "9999"))
    latest: dict[str, tuple[str, list[str]]] = {}
    for p in outcomes:
        for r in rows(p):
            cid, month = r["Crime ID"], r["Month"]
            if cid not in street_labels:
                continue
            if cid not in latest or month > latest[cid][0]:
                latest[cid] = (month, [])
            if month == latest[cid][0]:
                latest[cid][1].append(r["Outcome type"])
    per_month: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for cid, labels in street_labels.items():
        if cid in latest:
            exp.from_outcomes += 1
            labels = latest[cid][1]
        exp.crimes += 1
        per_month[month_of[cid]][0] += 1
        mapped = [GROUP_OF[x] for x in labels if x in GROUP_OF]
        if any(g in SD for g in mapped):
            exp.sd += 1
            per_month[month_of[cid]][1] += 1
        if mapped:
            exp.groups[min(mapped, key=RANK.__getitem__)] += 1
        else:
            exp.unmapped[sorted(labels)[0] or "(blank)"] += 1
    exp.sd_by_month = {m: (n, s) for m, (n, s) in sorted(per_month.items())}
    return exp


def month_files(folder: Path, kind: str, first: str, last: str) -> list[Path]:
    return [p for p in sorted(folder.glob(f"*-{kind}.csv.gz")) if first <= p.name[:7] <= last]


def check(result: OutcomeRates, exp: Expected) -> None:
    assert result.crimes == exp.crimes
    assert result.sanction_detections == exp.sd
    assert result.sanction_detection_rate == pytest.approx(100 * exp.sd / exp.crimes)
    assert result.from_outcomes_files == exp.from_outcomes
    assert result.from_street_files == exp.crimes - exp.from_outcomes
    assert result.rows_without_crime_id == exp.without_id
    assert result.duplicate_crime_rows == exp.duplicate_rows
    assert {g.group: g.crimes for g in result.groups} == {g: exp.groups[g] for g in GROUPS}
    assert result.unmapped == dict(exp.unmapped)
    assert sum(g.crimes for g in result.groups) + result.unmapped_crimes == result.crimes


@needs_shared
def test_barnet_burglary_sanction_detection_rate(con, cats):
    street = month_files(MET, "street", "2024-06", "2025-02")
    outcomes = month_files(MET, "outcomes", "2024-06", "2025-02")
    assert len(street) == len(outcomes) == 9
    ingest(con, street + outcomes, cats)
    r = outcome_rates(con, cats, area="Barnet", start=date(2024, 6, 1), end=date(2024, 8, 1),
                      by_month=True)
    exp = expected(street, outcomes, "Barnet", "2024-06", "2024-08")
    check(r, exp)
    # PROVENANCE.md's Barnet rows: 159 + 171 + 163 (no duplicate IDs in these months).
    assert r.crimes == 493
    assert r.sanction_detections == 18
    assert round(r.sanction_detection_rate, 2) == 3.65
    assert {g.group: g.crimes for g in r.groups} == {
        "Charged or summonsed": 18, "Caution or out-of-court disposal": 0,
        "Community resolution": 0, "No further action": 461, "Not yet known": 14}
    # This slice's outcomes files hold only outcomes recorded in the crime's own month, so
    # 293 crimes take the street file's last outcome. (Street outcomes alone would give 20.)
    assert r.from_outcomes_files == 200
    assert [(f"{m.month:%Y-%m}", m.crimes, m.sanction_detections) for m in r.months] == [
        ("2024-06", 159, 5), ("2024-07", 171, 5), ("2024-08", 163, 8)]
    assert [(f"{m.month:%Y-%m}", m.crimes, m.sanction_detections) for m in r.months] == [
        (m, n, s) for m, (n, s) in exp.sd_by_month.items()]
    assert r.lag_warning is None  # 2024-08 is 6 months before the latest data (2025-02)
    # Burglary as a category gives the same crimes (the slice is burglary only).
    again = outcome_rates(con, cats, area="barnet", start=date(2024, 6, 1),
                          end=date(2024, 8, 1), categories=["Burglary"])
    assert (again.crimes, again.sanction_detections) == (r.crimes, r.sanction_detections)
    assert outcome_rates(con, cats, area="Barnet", start=date(2024, 6, 1), end=date(2024, 8, 1),
                         categories=["Robbery"]).crimes == 0


@needs_shared
def test_london_burglary_matches_raw_files(con, cats):
    """Every area at once, over a window with duplicate street Crime IDs (2024-01..02) and
    crimes with several outcomes in one month."""
    street = month_files(MET, "street", "2023-12", "2024-05")
    outcomes = month_files(MET, "outcomes", "2023-12", "2024-05")
    ingest(con, street + outcomes, cats)
    r = outcome_rates(con, cats, area=None, start=date(2024, 1, 1), end=date(2024, 2, 1))
    exp = expected(street, outcomes, None, "2024-01", "2024-02")
    check(r, exp)
    assert exp.duplicate_rows == 124  # PROVENANCE.md dup_ids: 77 + 47
    assert r.crimes == 5_082 + 4_388 - 124
    assert (r.sanction_detections, r.from_outcomes_files) == (425, 4_385)
    assert r.lag_warning is not None  # 2024-02 is 3 months before 2024-05


def test_example_barnet_burglary(con, cats):
    """The bundled examples: Met burglary with outcomes files for 2024-12..2025-02."""
    street = month_files(EX, "street", "2024-12", "2025-02")
    outcomes = month_files(EX, "outcomes", "2024-12", "2025-02")
    assert len(outcomes) == 3
    ingest(con, [EX], cats)
    r = outcome_rates(con, cats, area="Barnet", start=date(2024, 12, 1), end=date(2025, 2, 1),
                      by_month=True, lag_months=0)
    exp = expected(street, outcomes, "Barnet", "2024-12", "2025-02")
    check(r, exp)
    assert (r.crimes, r.sanction_detections, r.from_outcomes_files) == (680, 18, 359)
    assert round(r.sanction_detection_rate, 2) == 2.65
    assert [(f"{m.month:%Y-%m}", m.crimes, m.sanction_detections) for m in r.months] == [
        ("2024-12", 244, 6), ("2025-01", 244, 11), ("2025-02", 192, 1)]
    assert [(f"{m.month:%Y-%m}", m.crimes, m.sanction_detections) for m in r.months] == [
        (m, n, s) for m, (n, s) in exp.sd_by_month.items()]
    assert r.lag_warning is None  # lag_months=0: no warning even at the latest month


@needs_shared
def test_city_of_london_street_outcomes_only(con, cats):
    """No outcomes files: each crime's outcome is its street row's; ASB rows are excluded
    and counted; repeated Crime IDs count once."""
    street = month_files(COL, "street", "2019-01", "2019-12")
    ingest(con, street, cats)
    r = outcome_rates(con, cats, area="City of London", start=date(2019, 1, 1),
                      end=date(2019, 12, 1))
    exp = expected(street, [], "City of London", "2019-01", "2019-12")
    check(r, exp)
    assert r.from_outcomes_files == 0
    assert r.rows_without_crime_id == exp.without_id == 1_100
    assert r.duplicate_crime_rows == 65
    assert (r.crimes, r.sanction_detections) == (7_690, 1_042)
    assert round(r.sanction_detection_rate, 2) == 13.55
    assert r.groups[2].group == "Community resolution" and r.groups[2].crimes == 85
    # No outcomes in the store: the latest street month (2019-12) is the reference.
    assert r.latest_data == date(2019, 12, 1) and r.lag_warning is not None


def test_lag_warning(con, cats):
    ingest(con, month_files(EX, "street", "2024-06", "2025-02")
           + month_files(EX, "outcomes", "2024-12", "2025-02"), cats)
    message = "outcomes for crimes in the last 6 months are incomplete and will rise as cases"

    def warning(end: date, lag_months: int = 6, latest_data: date | None = None) -> str | None:
        return outcome_rates(con, cats, area="Barnet", start=date(2024, 6, 1), end=end,
                             lag_months=lag_months, latest_data=latest_data).lag_warning

    assert warning(date(2024, 8, 1)) is None  # 6 months before 2025-02: complete enough
    near = warning(date(2024, 9, 1))
    assert near is not None and near.startswith(message) and "latest data: 2025-02" in near
    assert warning(date(2025, 2, 1)) is not None
    assert warning(date(2024, 9, 1), lag_months=5) is None
    assert warning(date(2024, 8, 1), latest_data=date(2024, 12, 1)) is not None
    # With no outcomes in the store, the latest street month is the reference.
    con.execute("DELETE FROM outcomes")
    assert "latest data: 2025-02" in (warning(date(2025, 1, 1)) or "")


def test_street_only_store_uses_street_month_for_lag(con, cats):
    ingest(con, month_files(EX, "street", "2019-12", "2020-11"), cats)
    r = outcome_rates(con, cats, area="City of London", start=date(2020, 1, 1),
                      end=date(2020, 6, 1))
    assert r.latest_data == date(2020, 11, 1)
    assert r.lag_warning is not None and "last 6 months" in r.lag_warning
    far = outcome_rates(con, cats, area="City of London", start=date(2020, 1, 1),
                        end=date(2020, 5, 1))
    assert far.lag_warning is None


def test_lag_is_measured_against_the_areas_own_force(con, cats):
    """A store with the Met to 2025-02 (street and outcomes) and the City of London's street
    files to 2020-11: City of London crimes of 2020-06 are 5 months before the City's latest
    data, so they get the warning, although the store as a whole runs to 2025 (the old code
    compared every area with the store's latest month and said nothing)."""
    city = sorted(EX.glob("*-city-of-london-street.csv.gz"))
    met = (sorted(EX.glob("2025-0[12]-metropolitan-street.csv.gz"))
           + sorted(EX.glob("2025-0[12]-metropolitan-outcomes.csv.gz")))
    ingest(con, city + met, cats)
    # Each force's latest month, read from the file names (police.uk's YYYY-MM-force-kind).
    city_last = date.fromisoformat(city[-1].name[:7] + "-01")
    assert city_last == date(2020, 11, 1)
    r = outcome_rates(con, cats, area="City of London", start=date(2020, 1, 1),
                      end=date(2020, 6, 1))
    assert r.latest_by_force == {"city-of-london": city_last}
    assert r.latest_data == city_last
    assert r.lag_warning is not None
    assert "latest data: 2020-11, city-of-london; this period ends 2020-06" in r.lag_warning
    assert outcome_rates(con, cats, area="City of London", start=date(2020, 1, 1),
                         end=date(2020, 5, 1)).lag_warning is None  # 6 months: complete
    # Barnet is the Met's: its outcomes month 2025-02 is the reference, not the City's.
    b = outcome_rates(con, cats, area="Barnet", start=date(2025, 1, 1), end=date(2025, 1, 1))
    assert b.latest_by_force == {"metropolitan": date(2025, 2, 1)}
    assert b.lag_warning is not None and "2025-02, metropolitan" in b.lag_warning
    assert "city-of-london" not in b.lag_warning
    # Every area: both forces; the warning names only the force(s) within the lag.
    every = outcome_rates(con, cats, area=None, start=date(2020, 1, 1), end=date(2020, 6, 1))
    assert every.latest_by_force == {"city-of-london": city_last,
                                     "metropolitan": date(2025, 2, 1)}
    assert every.lag_warning is not None and "metropolitan" not in every.lag_warning
    assert "2020-11, city-of-london" in every.lag_warning


def test_cli_lag_warning_per_force(tmp_path):
    db = tmp_path / "two.duckdb"
    files = (sorted(EX.glob("*-city-of-london-street.csv.gz"))
             + sorted(EX.glob("2025-02-metropolitan-*.csv.gz")))
    assert run_cli("ingest", *files, "--db", db).code == 0
    res = run_cli("outcomes", "--db", db, "--area", "City of London", "--from", "2020-01",
                  "--to", "2020-06", "--format", "json")
    assert res.code == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["latest_by_force"] == {"city-of-london": "2020-11"}
    assert data["latest_data"] == "2020-11"
    assert "warning: outcomes for crimes in the last 6 months are incomplete" in res.stderr
    assert "2020-11, city-of-london" in res.stderr


def write_csv(path: Path, records: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(records[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(records)
    return path


def barnet_sample() -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Real Barnet rows of the 2025-01 example files whose crime has an outcomes row."""
    out_rows = list(rows(EX / "2025-01-metropolitan-outcomes.csv.gz"))
    street_rows = [r for r in rows(EX / "2025-01-metropolitan-street.csv.gz")
                   if la_of(r["LSOA name"]) == "Barnet"]
    with_outcome = {r["Crime ID"] for r in out_rows}
    picked = [r for r in street_rows if r["Crime ID"] in with_outcome][:4]
    ids = {r["Crime ID"] for r in picked}
    return picked, [r for r in out_rows if r["Crime ID"] in ids]


def test_unmapped_label_is_counted_and_listed(con, cats, tmp_path):
    street, outcomes = barnet_sample()
    assert len(street) == 4 and len(outcomes) >= 4
    # Edit one real row: an outcome label police.uk does not use (not in the mapping).
    outcomes = [dict(r) for r in outcomes]
    edited = street[0]["Crime ID"]
    for r in outcomes:
        if r["Crime ID"] == edited:
            r["Outcome type"] = "Offender given conditional caution"
    ingest(con, [write_csv(tmp_path / "2025-01-metropolitan-street.csv", street),
                 write_csv(tmp_path / "2025-01-metropolitan-outcomes.csv", outcomes)], cats)
    r = outcome_rates(con, cats, area="Barnet", start=date(2025, 1, 1), end=date(2025, 1, 1),
                      by_month=True)
    assert r.crimes == 4
    assert r.unmapped == {"Offender given conditional caution": 1}
    assert sum(g.crimes for g in r.groups) == 3
    assert r.groups[0].percent is not None
    assert r.months[0].groups["Unmapped"] == 1
    # A partnership file can map it; then nothing is unmapped and it is a caution.
    extra = tmp_path / "mine.toml"
    extra.write_text('[outcomes]\n"Offender given conditional caution" = '
                     '"Caution or out-of-court disposal"\n', encoding="utf-8")
    mapped = outcome_rates(con, cats, area="Barnet", start=date(2025, 1, 1),
                           end=date(2025, 1, 1), mapping=load_outcome_map(extra))
    assert mapped.unmapped == {}
    assert mapped.sanction_detections == r.sanction_detections + 1


def test_later_outcomes_file_revises_earlier_one(con, cats, tmp_path):
    street, outcomes = barnet_sample()
    base = [write_csv(tmp_path / "2025-01-metropolitan-street.csv", street),
            write_csv(tmp_path / "2025-01-metropolitan-outcomes.csv", outcomes)]
    ingest(con, base, cats)
    before = outcome_rates(con, cats, area="Barnet", start=date(2025, 1, 1),
                           end=date(2025, 1, 1))
    target = next(r for r in outcomes if r["Outcome type"] not in GROUPS["Charged or summonsed"])
    revised = dict(target, **{"Month": "2025-02", "Outcome type": "Suspect charged"})
    # Two outcome rows in the same latest month (one per suspect): the charge wins.
    other = dict(revised, **{"Outcome type": "Investigation complete; no suspect identified"})
    ingest(con, [write_csv(tmp_path / "2025-02-metropolitan-outcomes.csv", [other, revised])],
           cats)
    after = outcome_rates(con, cats, area="Barnet", start=date(2025, 1, 1),
                          end=date(2025, 1, 1))
    assert after.crimes == before.crimes == 4
    assert after.sanction_detections == before.sanction_detections + 1


def test_sanction_detection_groups_come_from_the_mapping(con, cats, tmp_path):
    ingest(con, month_files(EX, "street", "2019-12", "2020-11"), cats)
    shipped = load_outcome_map()
    assert shipped.sanction_detection == ("Charged or summonsed",
                                          "Caution or out-of-court disposal")
    wider = tmp_path / "wider.toml"
    wider.write_text('sanction_detection = ["Charged or summonsed", '
                     '"Caution or out-of-court disposal", "Community resolution"]\n',
                     encoding="utf-8")

    def rates(mapping: Path | None) -> OutcomeRates:
        return outcome_rates(con, cats, area=None, start=date(2019, 12, 1),
                             end=date(2020, 11, 1), mapping=load_outcome_map(mapping))

    a, b = rates(None), rates(wider)
    community = a.groups[2].crimes
    assert community > 0
    assert b.sanction_detections == a.sanction_detections + community
    bad = tmp_path / "bad.toml"
    bad.write_text('sanction_detection = ["Arrested"]\n', encoding="utf-8")
    with pytest.raises(InputError, match="unknown group 'Arrested'"):
        rates(bad)


def test_every_label_in_the_data_is_mapped():
    mapping = load_outcome_map()
    seen: set[str] = set()
    folders = [EX] + ([MET, COL] if SHARED.exists() else [])
    for folder in folders:
        for p in sorted(folder.glob("*-street.csv.gz")):
            seen |= {k.last_outcome for k in street_tally(p) if k.has_id}
        for p in sorted(folder.glob("*-outcomes.csv.gz")):
            seen |= {r["Outcome type"] for r in rows(p)}
    assert seen
    assert {x for x in seen if mapping.group_of(x) is None} == set()
    assert {x: mapping.group_of(x) for x in seen} == {x: GROUP_OF[x] for x in seen}
    assert {label: mapping.group_of(label) for label in GROUP_OF} == GROUP_OF


def test_bad_arguments(con, cats):
    with pytest.raises(InputError, match="after"):
        outcome_rates(con, cats, area=None, start=date(2025, 2, 1), end=date(2025, 1, 1))
    with pytest.raises(InputError, match="unknown category"):
        outcome_rates(con, cats, area=None, start=date(2025, 1, 1), end=date(2025, 1, 1),
                      categories=["Nope"])
    empty = outcome_rates(con, cats, area=None, start=date(2025, 1, 1), end=date(2025, 1, 1))
    assert (empty.crimes, empty.sanction_detection_rate, empty.lag_warning) == (0, None, None)


def test_cli_outcomes(tmp_path):
    db = tmp_path / "ex.duckdb"
    files = month_files(EX, "street", "2024-12", "2025-02") + month_files(
        EX, "outcomes", "2024-12", "2025-02")
    assert run_cli("ingest", *files, "--db", db).code == 0
    res = run_cli("outcomes", "--db", db, "--area", "Barnet", "--from", "2024-12",
                  "--to", "2025-02", "--format", "csv")
    assert res.code == 0, res.stderr
    table = {r["outcome"]: r for r in csv.DictReader(res.stdout.splitlines())}
    assert table["All crimes"]["crimes"] == "680"
    assert table["Charged or summonsed"]["crimes"] == "18"
    sd_row = next(v for k, v in table.items() if k.startswith("Sanction detections"))
    assert (sd_row["crimes"], sd_row["percent"]) == ("18", "2.6")
    assert "warning: outcomes for crimes in the last 6 months are incomplete" in res.stderr
    assert "incomplete" not in res.stdout
    monthly = run_cli("outcomes", "--db", db, "--area", "Barnet", "--from", "2024-12",
                      "--to", "2025-02", "--by-month", "--format", "json")
    data = json.loads(monthly.stdout)
    assert [(m["month"], m["crimes"], m["sanction_detections"]) for m in data["months"]] == [
        ("2024-12", 244, 6), ("2025-01", 244, 11), ("2025-02", 192, 1)]
    assert data["lag_warning"].startswith("outcomes for crimes in the last 6 months")
    # One model per table (present.outcomes): the CSV and the JSON carry the same columns
    # and values, the percentages rounded once (the old JSON had 2.647... beside 2.6).
    def as_text(records: list[dict[str, object]]) -> list[dict[str, str]]:
        return [{k: "" if v is None else str(v) for k, v in r.items()} for r in records]

    args = ("outcomes", "--db", db, "--area", "Barnet", "--from", "2024-12", "--to", "2025-02")
    doc = json.loads(run_cli(*args, "--format", "json").stdout)
    csv_rows = list(csv.DictReader(res.stdout.splitlines()))
    assert as_text(doc["rows"]) == csv_rows and list(doc["rows"][0]) == list(csv_rows[0])
    assert doc["sanction_detection_rate"] == 2.6 == round(100 * 18 / 680, 1)
    by_month = run_cli(*args, "--by-month", "--format", "csv")
    month_rows = list(csv.DictReader(by_month.stdout.splitlines()))
    assert as_text(data["months"]) == month_rows
    assert list(month_rows[0])[:4] == ["month", "crimes", "sanction_detections", "sd_rate_pct"]
    assert [r["sd_rate_pct"] for r in month_rows] == [
        str(round(100 * sd / n, 1)) for n, sd in ((244, 6), (244, 11), (192, 1))]
    # Each month's group columns add up to its crimes (unmapped labels included).
    for r in data["months"]:
        assert sum(v for k, v in r.items() if k not in (
            "month", "crimes", "sanction_detections", "sd_rate_pct")) == r["crimes"]
    bad = run_cli("outcomes", "--db", db, "--from", "2025-02", "--to", "2024-12")
    assert bad.code == 1 and "after" in bad.stderr
