"""The board pack rendered from the real example data, read back as a reader would: PDF to
text (pdftotext) and to images (pdftoppm), HTML parsed, XLSX opened. The pack is the
session's `demo` (tests/conftest.py), built once; `saferboard pack` builds it once more, to
show that the same data gives the same pack."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

from openpyxl import load_workbook

from saferboard.core.casekeys import ENV as KEY_ENV
from tests.conftest import EXAMPLES, run_cli

HEADINGS = ["Contents", "About this pack", "Overview dashboard", "Burglary",
            "Residential burglary", "Non-residential burglary", "Robbery",
            "Violence with injury", "Theft of motor vehicle", "Theft from motor vehicle",
            "Criminal damage and arson", "Total notifiable offences",
            "Places: Burglary", "Victims and offenders: repeat victimisation",
            "Victims and offenders: MARAC", "Victims and offenders: offender cohort (IOM)",
            "Cost of crime", "Targets and trajectories", "Glossary"]


def pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout


def test_pdf_has_every_section_and_the_measured_figures(demo):
    text = pdf_text(demo.pack.pdf)
    for heading in HEADINGS:
        assert re.search(rf"^\s*{re.escape(heading)}\s*$", text, re.M), heading
    rows = {r.category: r for r in demo.dashboard.rows}
    res = rows["Residential burglary"]
    # The category page states the rolling-12 figure, as the measure computed it.
    page = text.split("Residential burglary\n")[-1]
    assert f"Rolling 12 months: {res.rolling12_volume:,}" in " ".join(page.split())
    assert f"{res.rolling12_volume:,}" in text and f"{res.quarter_volume:,}" in text
    assert f"{res.rate_per_1000}" in text
    for bad in ("nan", "None", "NaN", "undefined"):
        assert not re.search(rf"\b{bad}\b", text), bad
    # Page numbers and contents entries with their page.
    assert re.search(r"Page 1 of \d+", text)
    assert re.search(r"Glossary \.+ \d+", text)


def test_page_count_and_images(demo, tmp_path):
    assert 10 <= demo.pack.pages <= 40
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(demo.pack.pdf), str(tmp_path / "p")],
                   check=True)
    images = sorted(tmp_path.glob("p-*.png"))
    assert len(images) == demo.pack.pages
    # Every page has content: a blank A4 page at 30 dpi compresses to well under 1 KB.
    assert min(p.stat().st_size for p in images) > 1500


class Cells(HTMLParser):
    """Collects the text of every table cell and every src/href/link reference."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[str] = []
        self.refs: list[str] = []
        self._depth = 0
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.refs += [v or "" for k, v in attrs if k in ("src", "href")]
        if tag in ("td", "th"):
            self._depth += 1
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._depth:
            self._depth -= 1
            self.cells.append("".join(self._text).strip())

    def handle_data(self, data: str) -> None:
        if self._depth:
            self._text.append(data)


def test_html_is_self_contained_with_no_empty_cells(demo):
    html = demo.pack.html.read_text(encoding="utf-8")
    parser = Cells()
    parser.feed(html)
    assert len(parser.cells) > 100
    assert all(parser.cells), "an empty table cell"
    assert not any(c in ("None", "nan") for c in parser.cells)
    # Nothing is fetched from outside: links are in-page anchors only.
    assert parser.refs and all(r.startswith("#") for r in parser.refs)
    assert "<link" not in html and "vegaEmbed" in html
    assert html.count("<svg") >= 2 * 9  # a trend and a peer chart per category page
    assert html.count('role="img"') == html.count("<figcaption>")


def test_xlsx_dashboard_numbers(demo):
    wb = load_workbook(demo.pack.xlsx)
    assert wb.sheetnames[:8] == ["Dashboard", "Peer comparison", "Targets",
                                 "Places (LSOA rates)", "Repeat victimisation", "MARAC",
                                 "Offender cohort", "Cost of crime"]
    ws = wb["Dashboard"]
    header = [c.value for c in ws[1]]
    rows = [dict(zip(header, (c.value for c in r), strict=True)) for r in ws.iter_rows(min_row=2)]
    by_cat = {r["category"]: r for r in rows}
    res = next(r for r in demo.dashboard.rows if r.category == "Residential burglary")
    assert by_cat["Residential burglary"]["rolling12_volume"] == res.rolling12_volume
    assert by_cat["Residential burglary"]["rolling12_change_pct"] == res.rolling12_change_pct
    peers = list(wb["Peer comparison"].iter_rows(min_row=2, values_only=True))
    assert len(peers) == 9 * 32  # nine category pages x 32 London boroughs


def test_pack_command_builds_the_same_pack_again(demo, tmp_path, monkeypatch):
    """`saferboard pack` on the demo's store: the same data gives the same pack (the HTML
    byte for byte, the PDF's text) as the demo's own build. The command's build is the
    second build of that pack, so it is the one the comparison needs (one full WeasyPrint
    build, not two)."""
    monkeypatch.delenv(KEY_ENV, raising=False)  # no ASB cases page: the demo has none
    out = tmp_path / "out"
    r = run_cli("pack", "--db", demo.db, "--out", out, "--xlsx")
    assert r.code == 0, r.stderr
    assert (out / "pack.pdf").stat().st_size > 10_000
    assert "pack.html" in r.stdout and "pack.xlsx" in r.stdout
    assert (out / "pack.html").read_bytes() == demo.pack.html.read_bytes()
    assert pdf_text(out / "pack.pdf") == pdf_text(demo.pack.pdf)
    bad = run_cli("pack", "--db", demo.db, "--out", tmp_path / "x", "--area", "Barnt")
    assert bad.code != 0 and "did you mean 'Barnet'" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_pdftotext_is_installed():
    # The test command installs poppler-utils; without it the tests above could not run.
    assert shutil.which("pdftotext") and shutil.which("pdftoppm")


def test_places_page_counts_the_raw_rows(demo):
    """The hotspot page covers the 12 months of police.uk data to the pack's month (the
    example street files end in Feb 2025) and counts what the raw files hold."""
    from tests.csvcount import rows

    located = 0
    for path in sorted((EXAMPLES / "policeuk").glob("202[45]-*-metropolitan-street.csv.gz")):
        for r in rows(path):
            if ("2024-03" <= r["Month"] <= "2025-02" and r["LSOA name"].startswith("Barnet ")
                    and r["Crime type"] == "Burglary" and r["Longitude"]
                    and r["Reported by"] == "Metropolitan Police Service"):
                located += 1
    text = " ".join(pdf_text(demo.pack.pdf).split())
    assert (f"{located:,} police.uk street crimes with a location, Mar 2024 to Feb 2025"
            in text)
    assert "Burglary hotspots, Barnet, Mar 2024 to Feb 2025" in text
    assert "police.uk street data for Barnet ends Feb 2025" in text
    sheet = list(load_workbook(demo.pack.xlsx)["Places (LSOA rates)"].iter_rows(
        values_only=True))
    header, first = sheet[0], dict(zip(sheet[0], sheet[1], strict=True))
    assert "rate_per_1000" in header and first["rank"] == 1 and first["category"] == "Burglary"
    assert first["rate_per_1000"] == max(r[header.index("rate_per_1000")] for r in sheet[1:])


def test_people_pages_agree_with_the_extracts_and_leak_no_identifier(demo):
    """The victims and offenders pages from the synthetic partner extracts: the cohort's
    rate before joining counted straight from the CSVs (offences in the 365 days before each
    member's join date; no example member was in custody then), and no raw id of any extract
    anywhere in the pack (HTML, PDF text, XLSX cells)."""
    import csv
    from datetime import date

    from tests.csvcount import rows

    partner = EXAMPLES / "partner"
    members = {r["offender_id"]: date.fromisoformat(r["join_date"])
               for r in rows(partner / "cohort.csv")}
    before = sum(1 for r in rows(partner / "offences.csv")
                 if r["offender_id"] in members
                 and 0 < (members[r["offender_id"]] - date.fromisoformat(r["offence_date"])).days
                 <= 365)
    text = " ".join(pdf_text(demo.pack.pdf).split())
    assert f"{before / len(members):.2f} -> " in text
    assert f"{len(members)} members" in text
    ids: set[str] = set()
    for name, columns in (("incidents.csv", ("incident_id", "person_id", "location_id")),
                          ("marac.csv", ("referral_id", "victim_id", "perpetrator_id")),
                          ("cohort.csv", ("offender_id",)), ("offences.csv", ("offender_id",)),
                          ("custody.csv", ("offender_id",))):
        with open(partner / name, newline="", encoding="utf-8") as f:
            for r in csv.DictReader(f):
                ids.update(r[c] for c in columns if r.get(c))
    assert len(ids) > 1000
    html = demo.pack.html.read_text(encoding="utf-8")
    cells = " ".join(str(c.value) for ws in load_workbook(demo.pack.xlsx).worksheets
                     for row in ws.iter_rows() for c in row if c.value is not None)
    for where, content in (("html", html), ("pdf", text), ("xlsx", cells)):
        # Identifiers are letters, digits, '-' and '_': compare whole tokens, once (a
        # substring search per identifier took minutes over the HTML's bundled JavaScript).
        found = sorted(ids & set(re.findall(r"[A-Za-z0-9_-]+", content)))
        assert not found, (where, found[:5])
