"""MPS label families (issue 14, item 1): the Home Office-style Title Case classification of
the 2010-2024 releases mapped completely, matching that ignores case, spacing and
punctuation, and the major-group fallback for a minor label the mapping does not know.

The fixture is written here in the Title Case layout (`MajorText,MinorText,
LookUp_BoroughName,YYYYMM...`); no test needs data outside the repository.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saferboard import store
from saferboard.core import categories
from saferboard.core.categories import SQL_NORMALISE, normalise_label
from saferboard.measures.series import load_monthly
from saferboard.measures.windows import months_between
from saferboard.sources.ingest import ingest

# The Title Case family as MPS publishes it (minor names cut at 50 characters), each with
# the category a reader of the Home Office counting rules gives it: written out by hand, not
# read from categories.toml, so the test checks the mapping rather than repeating it.
MISC = "Miscellaneous crimes against society"
TITLE_CASE: dict[tuple[str, str], str] = {
    ("Arson and Criminal Damage", "Arson"): "Criminal damage and arson",
    ("Arson and Criminal Damage", "Criminal Damage"): "Criminal damage and arson",
    ("Burglary", "Domestic Burglary"): "Residential burglary",
    ("Burglary", "Burglary Business and Community"): "Non-residential burglary",
    ("Drug Offences", "Drug Trafficking"): "Drugs",
    ("Drug Offences", "Possession of Drugs"): "Drugs",
    ("Historical Fraud and Forgery", "Historical Fraud and Forgery"): "Fraud and forgery",
    ("Possession of Weapons", "Possession of Article with Blade or Point"):
        "Possession of weapons",
    ("Possession of Weapons", "Possession of Firearm with Intent"): "Possession of weapons",
    ("Possession of Weapons", "Possession of Firearms Offences"): "Possession of weapons",
    ("Possession of Weapons", "Possession of Other Weapon"): "Possession of weapons",
    ("Possession of Weapons", "Other Firearm Offences"): "Possession of weapons",
    ("Possession of Weapons", "Other Knife Offences"): "Possession of weapons",
    ("Public Order Offences", "Other Offences Against the State, or Public Order"):
        "Public order",
    ("Public Order Offences", "Public Fear Alarm or Distress"): "Public order",
    ("Public Order Offences", "Racially or Religiously Aggravated Public Fear, Al"):
        "Public order",
    ("Public Order Offences", "Violent Disorder"): "Public order",
    ("Robbery", "Robbery of Business Property"): "Business robbery",
    ("Robbery", "Robbery of Personal Property"): "Personal robbery",
    ("Sexual Offences", "Other Sexual Offences"): "Sexual offences",
    ("Sexual Offences", "Rape"): "Sexual offences",
    ("Theft", "Bicycle Theft"): "Bicycle theft",
    ("Theft", "Other Theft"): "Other theft",
    ("Theft", "Shoplifting"): "Shoplifting",
    ("Theft", "Theft from Person"): "Theft from the person",
    ("Vehicle Offences", "Aggravated Vehicle Taking"): "Theft of motor vehicle",
    ("Vehicle Offences", "Interfering with a Motor Vehicle"): "Vehicle interference",
    ("Vehicle Offences", "Theft from a Motor Vehicle"): "Theft from motor vehicle",
    ("Vehicle Offences", "Theft or Taking of a Motor Vehicle"): "Theft of motor vehicle",
    ("Violence Against the Person", "Homicide"): "Homicide",
    ("Violence Against the Person", "Violence with Injury"): "Violence with injury",
    ("Violence Against the Person", "Violence without Injury"): "Violence without injury",
    **{("Miscellaneous Crimes Against Society", minor): MISC for minor in (
        "Absconding from Lawful Custody", "Bail Offences", "Bigamy", "Dangerous Driving",
        "Disclosure, Obstruction, False or Misleading State", "Exploitation of Prostitution",
        "Forgery or Use of Drug Prescription",
        "Fraud or Forgery Associated with Driver Records", "Going Equipped for Stealing",
        "Handling Stolen Goods", "Making, Supplying or Possessing Articles for use i",
        "Obscene Publications", "Offender Management Act", "Other Forgery",
        "Other Notifiable Offences", "Perjury", "Perverting Course of Justice",
        "Possession of False Documents", "Profitting From or Concealing Proceeds of Crime",
        "Soliciting for Prostitution", "Threat or Possession With Intent to Commit Crimina",
        "Wildlife Crime")},
}
BOROUGHS = ("Barnet", "Brent", "Camden")


def write_title_case(path: Path, labels: list[tuple[str, str]], months: list[date],
                     seed: int = 14) -> dict[tuple[str, str, str], list[int]]:
    """Write an MPS borough table in the Title Case layout; return its cells."""
    rng = np.random.default_rng(seed)
    cells = {(major, minor, b): [int(v) for v in rng.poisson(20, len(months))]
             for major, minor in labels for b in BOROUGHS}
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["MajorText", "MinorText", "LookUp_BoroughName",
                    *(f"{m:%Y%m}" for m in months)])
        for (major, minor, b), values in cells.items():
            w.writerow([major, minor, b, *values])
    return cells


@pytest.mark.parametrize(("major", "minor"), list(TITLE_CASE))
def test_title_case_label_is_mapped_exactly(cats, major, minor):
    placed = cats.place("mps", f"{major} / {minor}")
    assert placed.exact, f"{major} / {minor} is not in the mapping"
    assert placed.category == TITLE_CASE[(major, minor)]


def test_title_case_release_loses_nothing(tmp_path, cats):
    """Ingest a Title Case release: no label unmapped, and every category's count equals the
    sum of the raw cells its labels should go to (Barnet's residential burglary was 0)."""
    months = months_between(date(2023, 1, 1), date(2024, 12, 1))
    f = tmp_path / "MPS Borough Level Crime (Title Case).csv"
    cells = write_title_case(f, list(TITLE_CASE), months)
    con = store.connect(tmp_path / "t.duckdb")
    try:
        report = ingest(con, [f], cats)
        table = load_monthly(con, cats, "mps")
    finally:
        con.close()
    assert report.files[0].unmapped == {}
    assert table.gap_labels == ()
    for category in ("Residential burglary", "Non-residential burglary", "Burglary",
                     "Theft from motor vehicle", MISC, "Fraud and forgery",
                     "Total notifiable offences"):
        wanted = cats.descendants(category)
        for b in BOROUGHS:
            expected = [sum(v[i] for (major, minor, bb), v in cells.items()
                            if bb == b and TITLE_CASE[(major, minor)] in wanted)
                        for i in range(len(months))]
            assert table.category_series(b, category, cats).tolist() == expected, category
            assert expected[0] > 0


@pytest.mark.parametrize(("label", "category"), [
    ("PUBLIC ORDER OFFENCES / PUBLIC FEAR, ALARM OR DISTRESS", "Public order"),
    ("Public Order Offences / Public Fear Alarm or Distress", "Public order"),
    ("public order offences  /  public  fear -- alarm, or distress.", "Public order"),
    ("Burglary / Burglary - Business and Community", "Non-residential burglary"),
    ("FRAUD OR FORGERY / OTHER FRAUD AND FORGERY", "Fraud and forgery"),  # '&' = 'and'
    ("THEFT AND HANDLING / THEFT/TAKING OF M/V", "Theft of motor vehicle"),
])
def test_punctuation_variants_match(cats, label, category):
    assert cats.category_of("mps", label) == category


def test_major_minor_boundary_is_kept():
    # Punctuation is ignored, but the MPS separator is not: these are different labels.
    assert normalise_label("A B / C") != normalise_label("A / B C")
    assert normalise_label("THEFT/TAKING OF M/V") == "theft taking of m v"


def test_unknown_minor_falls_back_to_its_major_group(cats):
    assert cats.place("mps", "BURGLARY / BURGLARY OF A SHED") == categories.Placement(
        "Burglary", False)
    assert cats.place("mps", "Vehicle Offences / Theft of a Hovercraft").category == \
        "Vehicle offences"
    assert cats.place("mps", "Historical Fraud and Forgery / Counted per Victim").category \
        == "Fraud and forgery"
    # A group that straddles the tree falls back to the common ancestor only.
    assert cats.place("mps", "THEFT AND HANDLING / SOMETHING NEW").category == \
        "Total notifiable offences"
    # An unknown major group: MPS tables hold notifiable offences only.
    assert cats.place("mps", "CYBER OFFENCES / HACKING") == categories.Placement(
        "Total notifiable offences", False)
    assert cats.place("mps", "NEW FRAUD GROUP / X").category == "Fraud and forgery"
    # police.uk has no major group: an unknown type is placed nowhere.
    assert cats.place("policeuk", "Cyber crime") == categories.Placement(None, False)


def test_override_can_add_a_major_group(tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text('[mps_major]\n"CYBER OFFENCES" = "Miscellaneous crimes against society"\n')
    assert categories.load(f).place("mps", "Cyber Offences / Hacking").category == MISC
    f.write_text('[mps_major]\n"CYBER OFFENCES" = "Nothing"\n')
    with pytest.raises(Exception, match="maps to unknown category 'Nothing'"):
        categories.load(f)


_TEXT = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40)


_CON = duckdb.connect()  # one in-memory database for every example (a connection each: 15 s)


@settings(max_examples=300, deadline=None)
@given(major=_TEXT, minor=_TEXT)
def test_sql_normalisation_equals_python(major, minor):
    """Stored labels are matched in SQL (counts, hotspots) and in Python (dashboard): the
    two normalisations must agree on every printable ASCII label."""
    label = f"{major} / {minor}"
    got = _CON.execute("SELECT " + SQL_NORMALISE.format(col="?"), [label]).fetchone()
    assert got is not None and got[0] == normalise_label(label)
