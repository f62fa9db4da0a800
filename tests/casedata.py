"""Synthetic case-register files for the case tests: every answer is known by construction."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

KEY_LINE = "test-only-case-key-0123456789-abcdefghijklmnopqrstuvwxyz"
CASES_HEADER = ["case_ref", "case_type", "agency", "opened", "closed", "victim_name",
                "victim_address", "victim_dob", "risk_level"]
PUBLISHED = Path(__file__).resolve().parents[2] / "shared" / "data" / "asb_case_reviews" \
    / "asb_case_review_stats_transcribed.csv"


def key_file(folder: Path) -> Path:
    path = folder / "cases.key"
    path.write_text(KEY_LINE + "\n")
    path.chmod(0o600)
    return path


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def case_row(ref: str, opened: str, *, closed: str = "", name: str = "Ann Example",
             address: str = "1 Test Road", dob: str = "1970-01-01",
             level: str = "standard", agency: str = "council") -> list[object]:
    return [ref, "asb", agency, opened, closed, name, address, dob, level]


def published_year(year: str, applications: int, not_met: int, reviews: int,
                   recommendations: int) -> tuple[list[list[object]], list[list[object]],
                                                  list[list[object]]]:
    """Cases, incidents and applications whose Case Review figures for `year` are the four
    given numbers: application i is received on 1 October of the year; the first `not_met`
    cases have 2 incidents in the six months before (threshold not met), the others 3; the
    first `reviews` applications were reviewed (a review can be held below the threshold,
    as Stafford's 2021/22 note says), the first `recommendations` of those with
    recommendations."""
    start = int(year[:4])
    received = date(start, 10, 1)
    cases, incidents, apps = [], [], []
    for i in range(applications):
        ref = f"C{year.replace('/', '')}-{i:02d}"
        cases.append(case_row(ref, f"{start}-04-01", name=f"Person {ref}"))
        for k in range(2 if i < not_met else 3):
            incidents.append([ref, (received - timedelta(days=10 * k)).isoformat(), "council",
                              "noise"])
        reviewed = i < reviews
        apps.append([f"A{ref}", ref, received.isoformat(),
                     (received + timedelta(days=20)).isoformat() if reviewed else "",
                     ("yes" if i < recommendations else "no") if reviewed else ""])
    return cases, incidents, apps
