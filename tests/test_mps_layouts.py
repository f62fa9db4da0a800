"""MPS tables in every header layout, including renamed headers of the same shape."""

from __future__ import annotations

import gzip

import pytest

from saferboard.core.errors import InputError
from saferboard.measures.counts import counts
from saferboard.sources.ingest import ingest
from tests.conftest import EXAMPLES
from tests.csvcount import mps_month_columns, mps_wide

RECENT = (EXAMPLES / "mps" / "release_2025-12"
          / "MPS Borough Level Crime (most recent 24 months).csv.gz")


def raw_total(area: str) -> int:
    return sum(int(r[m] or 0) for r in mps_wide(RECENT) if r["BoroughName"] == area
               for m in mps_month_columns(r))


def rewrite(tmp_path, header_map, reorder=None):
    with gzip.open(RECENT, "rt", encoding="utf-8") as f:
        text = f.read().splitlines()
    head = text[0].split(",")
    head = [header_map.get(h, h) for h in head]
    lines = [",".join(head), *text[1:]]
    if reorder:
        lines = [reorder(line) for line in lines]
    path = tmp_path / "renamed.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("header_map", [
    {"BoroughName": "LookUp_BoroughName"},
    {"MajorText": "Major group", "MinorText": "Minor group", "BoroughName": "Area"},
    {"MajorText": "Offence group", "MinorText": "Offence", "BoroughName": "Place"},
])
def test_renamed_headers_same_shape(con, cats, tmp_path, header_map):
    path = rewrite(tmp_path, header_map)
    report = ingest(con, [path], cats)
    assert report.files[0].unmapped == {}
    got = dict(counts(con, cats, source="mps", by=["area"]).rows)
    assert got["Barnet"] == raw_total("Barnet")
    assert got["Westminster"] == raw_total("Westminster")


def test_borough_first_layout(con, cats, tmp_path):
    def move_area_first(line: str) -> str:
        # Labels here hold no commas, so a plain split is safe for this fixture.
        cells = line.split(",")
        return ",".join([cells[2], cells[0], cells[1], *cells[3:]])

    path = rewrite(tmp_path, {"BoroughName": "Borough", "MajorText": "Major Category",
                              "MinorText": "Minor Category"}, move_area_first)
    ingest(con, [path], cats)
    assert dict(counts(con, cats, source="mps", by=["area"]).rows)["Barnet"] == raw_total(
        "Barnet")


def test_unknown_label_is_reported_not_dropped(con, cats, tmp_path):
    path = rewrite(tmp_path, {}, lambda line: line.replace("ROBBERY OF BUSINESS PROPERTY",
                                                           "ROBBERY OF A SPACESHIP"))
    report = ingest(con, [path], cats)
    n_rows = sum(1 for r in mps_wide(RECENT) if r["MinorText"] == "ROBBERY OF BUSINESS PROPERTY")
    assert report.files[0].unmapped == {"ROBBERY / ROBBERY OF A SPACESHIP": n_rows}
    # Kept in the store: every cell is still counted in the all-categories total.
    assert counts(con, cats, source="mps").total == sum(raw_total(a) for a in {
        r["BoroughName"] for r in mps_wide(RECENT)})
    by_cat = dict(counts(con, cats, source="mps", by=["category"]).rows)
    assert None in by_cat and by_cat[None] > 0


def test_four_label_columns_unknown_names_is_an_error(con, cats, tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("a,b,c,d,202401\nx,y,z,w,1\n")
    with pytest.raises(InputError, match="unknown MPS layout") as e:
        ingest(con, [path], cats)
    assert e.value.line == 1
