"""Build the small real example dataset in examples/ from ../shared/data.

Run from the project root: python scripts/build_examples.py. The outputs are committed, so the
demo and the tests that must run anywhere never need ../shared. See examples/README.md.
"""

from __future__ import annotations

import csv
import gzip
import io
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT / ".." / "shared" / "data"
OUT = ROOT / "examples"

PEERS = ("Barnet", "Wandsworth", "Bromley", "Harrow", "Croydon", "Ealing", "Sutton", "Brent",
         "Enfield", "Waltham Forest")
MET_MONTHS = [f"{y}-{m:02d}" for y in (2023, 2024, 2025) for m in range(1, 13)
              if "2023-03" <= f"{y}-{m:02d}" <= "2025-02"]
# The second worked example (issue 15): a partnership outside London from police.uk alone.
# Brighton and Hove with two small same-force neighbours (so that "same force" ranks have
# members), from the full Sussex street files; rows matched by LSOA code through the raw ONS
# lookup, plus the force's rows with no location (they count for the force only).
BRIGHTON_LAS = ("Brighton and Hove", "Lewes", "Adur")
COL_MONTHS = [f"{y}-{m:02d}" for y in (2019, 2020) for m in range(1, 13)
              if "2019-12" <= f"{y}-{m:02d}" <= "2020-11"]


def write_gz(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0,
                                                filename="") as gz:
        gz.write(text.encode("utf-8"))


def filter_rows(src: Path, keep) -> tuple[str, set[str]]:  # type: ignore[no-untyped-def]
    with gzip.open(src, "rt", encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(header)
        ids = set()
        for row in reader:
            rec = dict(zip(header, row, strict=True))
            if keep(rec):
                w.writerow(row)
                ids.add(rec.get("Crime ID", ""))
    return buf.getvalue(), ids


def build_brighton() -> None:
    lookup = SHARED / "ons_geography_ew" / "lookup_lsoa21_ward24_ltla24.csv"
    with open(lookup, newline="", encoding="utf-8-sig") as f:
        codes = {r["lsoa21_code"] for r in csv.DictReader(f) if r["ltla24_name"] in BRIGHTON_LAS}
    for src in sorted((SHARED / "policeuk_forces").glob("*-sussex-street.csv.gz")):
        text, _ = filter_rows(src, lambda r: r["LSOA code"] in codes or r["LSOA code"] == "")
        write_gz(OUT / "brighton" / src.name, text)


def main() -> None:
    if OUT.exists():
        for sub in ("policeuk", "mps", "brighton"):
            shutil.rmtree(OUT / sub, ignore_errors=True)
    met = SHARED / "policeuk_met_burglary"
    ids: set[str] = set()
    for month in MET_MONTHS:
        # Rows in Barnet and its London peers, plus rows with no LSOA (the force's own).
        text, got = filter_rows(
            met / f"{month}-metropolitan-street.csv.gz",
            lambda r: r["LSOA name"] == "" or r["LSOA name"].rsplit(" ", 1)[0] in PEERS,
        )
        ids |= got
        write_gz(OUT / "policeuk" / f"{month}-metropolitan-street.csv.gz", text)
    for month in MET_MONTHS[-3:]:
        text, _ = filter_rows(met / f"{month}-metropolitan-outcomes.csv.gz",
                              lambda r: r["Crime ID"] in ids)
        write_gz(OUT / "policeuk" / f"{month}-metropolitan-outcomes.csv.gz", text)
    shutil.copy(met / "2024-08-metropolitan-stop-and-search.csv.gz",
                OUT / "policeuk" / "2024-08-metropolitan-stop-and-search.csv.gz")
    col = SHARED / "policeuk_city_of_london"
    for month in COL_MONTHS:
        shutil.copy(col / f"{month}-city-of-london-street.csv.gz",
                    OUT / "policeuk" / f"{month}-city-of-london-street.csv.gz")
    mps = SHARED / "mps_borough_crime"
    for release in ("release_2025-02", "release_2025-12"):
        for f in sorted((mps / release).glob("*.csv")):
            dest = OUT / "mps" / release / (f.name + ".gz")
            write_gz(dest, f.read_text(encoding="utf-8"))
    ward = SHARED / "mps_ward_crime" / "release_2025-12"
    for f in ward.glob("*.csv.gz"):
        (OUT / "mps" / "release_2025-12").mkdir(parents=True, exist_ok=True)
        shutil.copy(f, OUT / "mps" / "release_2025-12" / f.name)
    build_brighton()


if __name__ == "__main__":
    main()
