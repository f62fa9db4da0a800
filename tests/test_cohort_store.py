"""The cohort and costs commands over a store loaded with partner extracts through the
partner ingestion (pseudonymised): JSON keys and figures known by construction, the caveat,
the comparison group, suppression, and errors as one line."""

from __future__ import annotations

import csv
import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from saferboard import store
from saferboard.core import categories
from saferboard.core.crime_costs import load_unit_costs
from saferboard.core.pseudonym import Key
from saferboard.measures.cohort import cohort_measures, load_cohort, suppress_small_cohorts
from saferboard.sources.ingest import ingest
from saferboard.sources.partner import ingest_partner
from tests.conftest import EXAMPLES, run_cli

JOIN = date(2023, 1, 1)
AS_OF = JOIN + timedelta(days=729)  # two offender-years after joining
DAY = timedelta(days=1)
RELEASE = (EXAMPLES / "mps" / "release_2025-12"
           / "MPS Borough Level Crime (most recent 24 months).csv.gz")
SECRET = b"0123456789abcdef0123456789abcdef"


def write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def extracts(folder: Path) -> tuple[Path, Path, Path]:
    """100 IOM members (60 statutory, 40 non-statutory) built to give 2.91 -> 1.65 offences
    per offender-year; 10 'Comparison' members 3.0 -> 3.0; 3 'Pilot' members (a small cell).
    Member m007 is in custody from 2023-03-01 to 2023-04-01 (30 whole days) and offends inside
    it once (set aside); identifiers look like real ones (police national computer style)."""
    cohort, custody, offences = [], [], []
    for i in range(100):
        pid = f"PNC{i:05d}X"
        cohort.append([pid, "Statutory" if i < 60 else "Non-statutory", f"{JOIN:%d/%m/%Y}", ""])
        nb = 3 if i < 91 else 2  # 273 + 18 = 291
        for k in range(nb):
            d = JOIN - (k * 120 + 1) * DAY
            offences.append([pid, d.isoformat(), "Burglary dwelling", "yes", ""])
        na = 3 if i < 70 else 4  # 210 + 120 = 330 in 730 days
        for k in range(na):
            d = JOIN + (k * 180 + 40) * DAY
            offences.append([pid, d.isoformat(), "Theft from motor vehicle", "no", ""])
    custody.append(["PNC00007X", "2023-03-01", "2023-04-01"])
    offences.append(["PNC00007X", "2023-03-15", "Criminal damage", "yes", ""])
    for i in range(10):
        pid = f"CMP{i:05d}Z"
        cohort.append([pid, "Comparison", JOIN.isoformat(), ""])
        for k in range(3):
            offences.append([pid, (JOIN - (k * 100 + 5) * DAY).isoformat(), "Burglary dwelling",
                             "yes", ""])
        for k in range(6):
            offences.append([pid, (JOIN + (k * 100 + 5) * DAY).isoformat(),
                             "Burglary dwelling", "yes", ""])
    for i in range(3):
        pid = f"PIL{i:05d}Q"
        cohort.append([pid, "Pilot", JOIN.isoformat(), ""])
        offences.append([pid, (JOIN - 10 * DAY).isoformat(), "Robbery", "yes", ""])
    return (
        write(folder / "cohort.csv", ["offender_id", "cohort", "join_date", "leave_date"],
              cohort),
        write(folder / "custody.csv", ["offender_id", "start_date", "end_date"], custody),
        write(folder / "offences.csv", ["offender_id", "offence_date", "offence_type",
                                        "ho_recordable", "conviction_date"], offences),
    )


def build_partner_db(folder: Path) -> Path:
    """The synthetic cohort, custody and offences extracts (`extracts`) and the MPS release,
    in `folder`: the session's `partner_db` (tests/conftest.py: one definition for every
    module that reads it, so it is built once per worker)."""
    db = folder / "p.duckdb"
    key = Key(SECRET, "test")
    con = store.connect(db)
    try:
        c, cu, o = extracts(folder)
        ingest_partner(con, "cohort", c, key)
        ingest_partner(con, "custody", cu, key)
        ingest_partner(con, "offences", o, key)
        ingest(con, [RELEASE], categories.load())
    finally:
        con.close()
    return db


def cohort_json(db: Path, *args: str) -> dict[str, object]:
    r = run_cli("cohort", "--db", db, "--as-of", AS_OF.isoformat(), "--format", "json", *args)
    assert r.code == 0, r.stderr
    body: dict[str, object] = json.loads(r.stdout)
    return body


def test_cohort_json_by_construction(partner_db: Path) -> None:
    body = cohort_json(partner_db)
    by = body["by_cohort"]
    assert isinstance(by, dict)
    iom_before = by["Statutory"]["offences_before"] + by["Non-statutory"]["offences_before"]
    iom_after = by["Statutory"]["offences_after"] + by["Non-statutory"]["offences_after"]
    assert (iom_before, iom_after) == (291, 330)
    assert by["Statutory"]["members"] == 60 and by["Non-statutory"]["members"] == 40
    # Statutory: 3 before each = 180 over 60 offender-years; 3 after each over 2 years,
    # less m007's 30 whole custody days (2023-03-02..2023-03-31), which are after joining.
    assert by["Statutory"]["rate_before"] == 3.0
    assert by["Statutory"]["rate_after"] == round(180 / (120 - 30 / 365), 3)
    assert by["Non-statutory"]["rate_before"] == round(111 / 40, 3)
    assert by["Non-statutory"]["rate_after"] == round(150 / 80, 3)
    for key in ("members", "offences_before", "offences_after", "rate_before", "rate_after",
                "reduction_pct"):
        assert key in body
        assert all(key in v for v in by.values())
    # The 3 'Pilot' members are a small cell: suppressed, and so is the next smallest
    # (Comparison, 10) so that the total minus the rest cannot reveal them.
    assert body["suppressed"] == ["Comparison", "Pilot"]
    assert by["Pilot"]["suppressed"] is True and by["Pilot"]["members"] is None
    assert by["Comparison"]["suppressed"] is True
    assert body["members"] == 113
    assert body["offences_before"] == 291 + 30 + 3
    assert body["offences_after"] == 330 + 60
    assert body["rate_before"] == round(324 / 113, 3)
    assert body["rate_after"] == round(390 / (226 - 30 / 365), 3)
    assert body["offences_in_custody"] == 1
    assert "Regression to the mean" in str(body["regression_to_the_mean"])


def test_cohort_comparison_and_thresholds(partner_db: Path) -> None:
    body = cohort_json(partner_db, "--comparison-cohort", "comparison", "--suppress-below", "3")
    comp = body["comparison"]
    assert isinstance(comp, dict)
    assert comp["comparison"]["rate_before"] == 3.0 and comp["comparison"]["rate_after"] == 3.0
    treated = comp["treated"]
    assert treated["members"] == 103
    # DiD = (after - before) of the treated minus 0 for the comparison.
    assert comp["difference_in_differences"] == pytest.approx(
        treated["rate_after"] - treated["rate_before"], abs=2e-3)
    lo, hi = comp["difference_in_differences_95ci"]
    assert lo <= comp["difference_in_differences"] <= hi
    assert body["suppressed"] == []
    # At the default threshold 5 the comparison group (10) is published whole, so the Pilot
    # (3) is protected by hiding the smallest other value (Non-statutory, 40) instead of the
    # Comparison group, which would otherwise give the Pilot away.
    default = cohort_json(partner_db, "--comparison-cohort", "Comparison")
    assert default["comparison"] is not None
    assert default["suppressed"] == ["Non-statutory", "Pilot"]
    by = default["by_cohort"]
    assert isinstance(by, dict) and by["Comparison"]["members"] == 10


def test_cohort_table_names_the_caveat(partner_db: Path) -> None:
    r = run_cli("cohort", "--db", partner_db, "--as-of", AS_OF.isoformat())
    assert r.code == 0, r.stderr
    assert "Regression to the mean" in r.stdout
    assert "predicted for 12 months" in r.stdout
    assert "Offender concentration" in r.stdout
    csv_out = run_cli("cohort", "--db", partner_db, "--as-of", AS_OF.isoformat(), "--format",
                      "csv")
    assert csv_out.code == 0
    header = csv_out.stdout.splitlines()[0].split(",")
    assert header[:3] == ["group", "members", "offences_before"]


def test_suppressed_groups_are_never_shown_as_zero(partner_db: Path) -> None:
    """Pilot (3 members) and Comparison (10, hidden to protect the Pilot) are suppressed:
    every output shows them as suppressed, none as 0 members (the measure used to turn them
    into 0-member groups and the web page showed "0")."""
    from saferboard.measures.disclosure import MARK
    from saferboard.report.cohort import section_from
    from saferboard.web.people import sections

    con = store.connect(partner_db, read_only=True)
    try:
        data = load_cohort(con)
        web = {s.key: s for s in sections(con, 5)}["cohort"]
    finally:
        con.close()
    shown = suppress_small_cohorts(cohort_measures(data, as_of=AS_OF, resamples=0), 5)
    assert shown.suppressed == ("Comparison", "Pilot")
    assert shown.by_cohort["Pilot"] is None and shown.by_cohort["Comparison"] is None
    assert shown.by_cohort["Statutory"] is not None
    assert shown.by_cohort["Statutory"].members == 60
    # The pack.
    rows = {r["group"]: r for r in section_from(shown).rows}
    for g in ("Pilot", "Comparison", "Pilot: Home Office recordable"):
        assert set(rows[g].values()) == {g, MARK, "yes"} and rows[g]["suppressed"] == "yes"
    # The web page and API: SUPPRESSED cells (shown as the mark, null in JSON), never 0.
    from saferboard.present.values import SUPPRESSED

    rates = web.tables[0]
    assert rates.columns[1] == "members" and rates.columns[-1] == "suppressed"
    by_group = {row[0]: row for row in rates.rows}
    assert by_group["Pilot"][1:] == (SUPPRESSED,) * 6 + (True,)
    assert by_group["Comparison"][1:] == (SUPPRESSED,) * 6 + (True,)
    assert by_group["Statutory"][1] == 60 and by_group["Statutory"][-1] is False
    assert any("Pilot" in n and MARK in n for n in web.notes)
    # The CLI table and CSV: the mark in every figure and suppressed = yes.
    table = run_cli("cohort", "--db", partner_db, "--as-of", AS_OF.isoformat())
    assert table.code == 0, table.stderr
    checked = 0
    for line in table.stdout.splitlines():
        if ("Pilot" in line or "Comparison" in line) and "│" in line:
            cells = [c.strip() for c in line.strip("│┃| ").split("│")]
            assert cells[1:7] == [MARK] * 6 and cells[7] == "yes", line
            checked += 1
    assert checked == 4, table.stdout  # each group and its Home Office recordable row
    out = run_cli("cohort", "--db", partner_db, "--as-of", AS_OF.isoformat(), "--format",
                  "csv")
    csv_rows = {r["group"]: r for r in csv.DictReader(out.stdout.splitlines())}
    assert csv_rows["Pilot"]["members"] == MARK and csv_rows["Pilot"]["suppressed"] == "yes"
    assert csv_rows["Comparison"]["rate_before"] == MARK
    assert csv_rows["Statutory"]["members"] == "60" and csv_rows["Statutory"]["suppressed"] == "no"


def test_no_raw_identifier_in_outputs(partner_db: Path) -> None:
    outs = [run_cli("cohort", "--db", partner_db, "--as-of", AS_OF.isoformat(), *fmt)
            for fmt in ((), ("--format", "json"), ("--format", "csv"))]
    outs.append(run_cli("costs", "--db", partner_db, "--area", "Barnet", "--month", "2025-12",
                        "--cohort-as-of", AS_OF.isoformat(), "--format", "json"))
    for r in outs:
        assert r.code == 0, r.stderr
        for raw in ("PNC00007X", "CMP00001Z", "PIL00000Q", "PNC"):
            assert raw not in r.stdout and raw not in r.stderr


def test_costs_include_cohort_cost_avoided(partner_db: Path) -> None:
    r = run_cli("costs", "--db", partner_db, "--area", "Barnet", "--month", "2025-12",
                "--cohort-as-of", AS_OF.isoformat(), "--format", "json",
                "--include-unverified")
    assert r.code == 0, r.stderr
    body = json.loads(r.stdout)
    cohort = body["cohort"]
    assert cohort["members"] == 113
    units = load_unit_costs().units
    years_before, years_after = 113.0, 226 - 30 / 365
    burglary = (321 / years_before - 60 / years_after) * 113 * units["Domestic burglary"].cost
    theft = (0 - 330 / years_after) * 113 * units["Theft from vehicle"].cost
    robbery = (3 / years_before) * 113 * units["Robbery"].cost  # 3 robberies: a small cell
    types = {t["offence_type"]: t for t in cohort["by_offence_type"]}
    assert set(types) == {"Burglary dwelling", "Theft from motor vehicle",
                          "Other offence types (small counts)"}
    assert types["Burglary dwelling"]["heeks"] == "Domestic burglary"
    assert types["Burglary dwelling"]["cost_avoided_per_year"] == round(burglary)
    assert types["Theft from motor vehicle"]["cost_avoided_per_year"] == round(theft)
    assert types["Other offence types (small counts)"]["cost_avoided_per_year"] == round(
        robbery)
    assert cohort["cost_avoided_per_year"] == round(burglary + theft + robbery)
    assert "regression to the mean" in cohort["caveat"]
    # By default the unverified domestic burglary cost is not used: burglary is left out of
    # the cohort's cost avoided and named.
    d = run_cli("costs", "--db", partner_db, "--area", "Barnet", "--month", "2025-12",
                "--cohort-as-of", AS_OF.isoformat(), "--format", "json")
    assert d.code == 0, d.stderr
    dc = json.loads(d.stdout)["cohort"]
    assert dc["unverified_types"] == ["Burglary dwelling"]
    assert dc["unverified_small_types"] == 0
    dtypes = {t["offence_type"]: t for t in dc["by_offence_type"]}
    assert dtypes["Burglary dwelling"]["cost_avoided_per_year"] is None
    assert dc["cost_avoided_per_year"] == round(theft + robbery)
    table = run_cli("costs", "--db", partner_db, "--area", "Barnet", "--month", "2025-12",
                    "--cohort-as-of", AS_OF.isoformat())
    assert "Left out of the cohort's cost avoided (unit cost not yet verified" in " ".join(
        table.stdout.split())


def test_costs_cohort_filter(partner_db: Path) -> None:
    args = ("costs", "--db", partner_db, "--area", "Barnet", "--month", "2025-12",
            "--cohort-as-of", AS_OF.isoformat(), "--format", "json")
    r = run_cli(*args, "--cohort", "Statutory", "--cohort", "non-statutory",
                "--include-unverified")
    assert r.code == 0, r.stderr
    cohort = json.loads(r.stdout)["cohort"]
    assert cohort["members"] == 100
    units = load_unit_costs().units
    years_after = 200 - 30 / 365
    burglary = (291 / 100 - 0 / years_after) * 100 * units["Domestic burglary"].cost
    theft = (0 - 330 / years_after) * 100 * units["Theft from vehicle"].cost
    assert cohort["cost_avoided_per_year"] == round(burglary + theft)
    bad = run_cli(*args, "--cohort", "Nope")
    assert bad.code == 1 and "is not a cohort value" in bad.stderr


@pytest.mark.parametrize(("args", "needle"), [
    (("--as-of", "2023-02-30"), "YYYY-MM-DD"),
    (("--as-of", "2000-01-01"), "no cohort member joined"),
    (("--as-of", "2024-12-31", "--comparison-cohort", "Nobody"), "Non-statutory"),
    (("--as-of", "2024-12-31", "--basis", "arrest"), "offence or conviction"),
    (("--as-of", "2024-12-31", "--min-days", "0"), "min_days"),
    (("--as-of", "2024-12-31", "--suppress-below", "0"), "threshold"),
])
def test_cohort_bad_input(partner_db: Path, args: tuple[str, ...], needle: str) -> None:
    r = run_cli("cohort", "--db", partner_db, *args)
    assert r.code != 0
    assert needle in r.stderr and "Traceback" not in r.stderr


def test_cohort_without_partner_data(tmp_path: Path) -> None:
    db = tmp_path / "empty.duckdb"
    store.connect(db).close()
    r = run_cli("cohort", "--db", db, "--as-of", "2024-01-01")
    assert r.code == 1
    assert "partner_cohort table is empty" in r.stderr and "ingest-partner" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_pack_sections(partner_db: Path) -> None:
    from saferboard.measures.costs import cohort_costs
    from saferboard.measures.dashboard import load_sources
    from saferboard.measures.disclosure import MARK
    from saferboard.report.cohort import cohort_section, cost_section

    con = store.connect(partner_db, read_only=True)
    try:
        section, notes = cohort_section(con, AS_OF)
        sources = load_sources(con, categories.load())
        cohort = cohort_measures(load_cohort(con), as_of=AS_OF, resamples=0)
    finally:
        con.close()
    assert section is not None and notes == []
    assert section.headline.startswith(f"{324 / 113:.2f} -> {390 / (226 - 30 / 365):.2f}")
    rows = {r["group"]: r for r in section.rows}
    assert rows["Pilot"]["members"] == MARK and rows["Comparison"]["rate_before"] == MARK
    assert rows["Statutory"]["members"] == 60 and rows["Statutory"]["offences_before"] == 180
    assert {p["group"] for p in section.projection} >= {"Statutory", "All members"}
    assert section.caveats[0].startswith("Regression to the mean")
    # In 2024 (the 365 days to AS_OF): every IOM member's third offence after joining, 30
    # fourth ones and two of each comparison member's: 150 offences by 110 offenders.
    assert section.concentration is not None
    assert section.concentration.startswith("The top 110 of 110 offenders committed 100%")
    costs = load_unit_costs()
    cs, cnotes = cost_section(sources, categories.load(), costs, "Barnet", date(2025, 12, 1),
                              cohort=cohort, include_unverified=True)
    assert cs is not None and cnotes == []
    total = sum(int(str(r["cost"])) for r in cs.rows)
    assert abs(total - 89_073_580) <= len(cs.rows)
    assert cs.total.startswith("£89.1M at 2015/16 prices")
    saved = cohort_costs(cohort, costs, include_unverified=True).cost_avoided_per_year
    assert cs.cohort is not None and f"£{abs(saved):,.0f}" in cs.cohort
    assert any(n.startswith("Unit costs still to verify") for n in cs.notes)
    # The pack's default: verified unit costs only, and the notes say what is left out.
    vs, _ = cost_section(sources, categories.load(), costs, "Barnet", date(2025, 12, 1),
                         cohort=cohort)
    assert vs is not None and vs.total.startswith("£52.7M at 2015/16 prices")
    assert "4 categories are not included" in vs.total
    assert {str(r["category"]) for r in vs.rows}.isdisjoint(
        {"Residential burglary", "Violence without injury", "Theft from the person",
         "Homicide"})
    assert ("Not included because their unit costs are not yet verified against the report: "
            "Violence without injury (3,710 crimes), Residential burglary (1,636 crimes), "
            "Theft from the person (1,047 crimes), Homicide (1 crime).") in vs.notes
    assert any("leaves out 1 offence type(s)" in n for n in vs.notes)
    assert not any(n.startswith("Unit costs still to verify") for n in vs.notes)
    vsaved = cohort_costs(cohort, costs).cost_avoided_per_year
    assert vs.cohort is not None and f"£{abs(vsaved):,.0f}" in vs.cohort
    alone, _ = cost_section(sources, categories.load(), costs, "Barnet", date(2024, 12, 1))
    assert alone is not None and "no comparison" in alone.total
    missing, why = cost_section(sources, categories.load(), costs, "Barnet",
                                date(2023, 6, 1))
    assert missing is None and "24 months" in why[0]


def test_pack_section_without_partner_data(tmp_path: Path) -> None:
    from saferboard.report.cohort import cohort_section

    con = store.connect(tmp_path / "e.duckdb")
    try:
        section, notes = cohort_section(con, AS_OF)
    finally:
        con.close()
    assert section is None and "partner_cohort" in notes[0]


@pytest.mark.parametrize("command", ["cohort", "costs"])
def test_help(command: str) -> None:
    r = run_cli(command, "--help")
    assert r.code == 0 and "Usage:" in r.stdout
    assert {"cohort": "12 months before joining", "costs": "Heeks"}[command] in " ".join(
        r.stdout.split())


def test_end_to_end_through_ingest_partner(tmp_path: Path) -> None:
    """Extracts -> `saferboard ingest-partner` (CLI, with a secret file) -> `saferboard
    cohort`: the figures by construction, and no raw id in the database file or outputs."""
    secret = tmp_path / "saferboard.secret"
    secret.write_bytes(SECRET)
    db = tmp_path / "e2e.duckdb"
    for kind, path in zip(("cohort", "custody", "offences"), extracts(tmp_path), strict=True):
        r = run_cli("ingest-partner", kind, path, "--secret-file", secret, "--db", db)
        assert r.code == 0, r.stderr
        assert "PNC" not in r.stdout + r.stderr
    body = cohort_json(db)
    assert (body["members"], body["offences_before"], body["offences_after"]) == (
        113, 324, 390)
    by = body["by_cohort"]
    assert isinstance(by, dict)
    assert by["Statutory"]["offences_before"] + by["Non-statutory"]["offences_before"] == 291
    assert by["Statutory"]["offences_after"] + by["Non-statutory"]["offences_after"] == 330
    assert body["offences_in_custody"] == 1
    raw = db.read_bytes()
    for wal in db.parent.glob(db.name + ".wal"):
        raw += wal.read_bytes()
    for ident in ("PNC00007X", "CMP00001Z", "PIL00000Q"):
        assert ident.encode() not in raw


PARTNER = EXAMPLES / "partner"


def test_shipped_example_extracts(tmp_path: Path) -> None:
    """The shipped synthetic extracts (examples/partner, built by another script to show seed
    002's 2.91 -> 1.65) through `ingest-partner` and `cohort`, pinned to a csv-module count
    of the same files: per member, offences in the 365 days before joining and from joining
    to leaving."""
    secret = tmp_path / "s.secret"
    secret.write_text("example-secret-" * 4)
    db = tmp_path / "ex.duckdb"
    for kind in ("cohort", "custody", "offences"):
        r = run_cli("ingest-partner", kind, PARTNER / f"{kind}.csv", "--secret-file", secret,
                    "--db", db)
        assert r.code == 0, r.stderr
    body = cohort_json_at(db, "2015-12-31")
    assert (body["rate_before"], body["rate_after"]) == (2.91, 1.65)
    assert round(float(str(body["reduction_pct"]))) == 43

    with (PARTNER / "cohort.csv").open(encoding="utf-8") as f:
        members = {r["offender_id"]: r for r in csv.DictReader(f)}
    with (PARTNER / "offences.csv").open(encoding="utf-8") as f:
        offences = list(csv.DictReader(f))
    expected: dict[str, list[int]] = {}
    for oid, m in members.items():
        join = date.fromisoformat(m["join_date"])
        leave = min(date.fromisoformat(m["leave_date"]), date(2015, 12, 31))
        tot = expected.setdefault(m["cohort"], [0, 0, 0, 0])
        for o in offences:
            if o["offender_id"] != oid:
                continue
            d = date.fromisoformat(o["offence_date"])
            ho = o["ho_recordable"] == "yes"
            if join - timedelta(days=365) <= d < join:
                tot[0] += 1
                tot[2] += ho
            elif join <= d <= leave:
                tot[1] += 1
                tot[3] += ho
    by = body["by_cohort"]
    assert isinstance(by, dict) and set(by) == set(expected)
    for cohort, (before, after, ho_before, ho_after) in expected.items():
        got = by[cohort]
        assert (got["offences_before"], got["offences_after"]) == (before, after)
        assert (got["ho_recordable"]["offences_before"],
                got["ho_recordable"]["offences_after"]) == (ho_before, ho_after)


def cohort_json_at(db: Path, as_of: str) -> dict[str, object]:
    r = run_cli("cohort", "--db", db, "--as-of", as_of, "--format", "json")
    assert r.code == 0, r.stderr
    body: dict[str, object] = json.loads(r.stdout)
    return body
