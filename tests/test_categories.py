"""The category tree and label mapping."""

from __future__ import annotations

import pytest

from saferboard.core import categories
from saferboard.core.errors import InputError

REQUIRED = {
    "Total notifiable offences": None,
    "Burglary": "Total notifiable offences",
    "Residential burglary": "Burglary",
    "Non-residential burglary": "Burglary",
    "Robbery": "Total notifiable offences",
    "Personal robbery": "Robbery",
    "Business robbery": "Robbery",
    "Violence against the person": "Total notifiable offences",
    "Violence with injury": "Violence against the person",
    "Violence without injury": "Violence against the person",
    "Sexual offences": "Total notifiable offences",
    "Theft": "Total notifiable offences",
    "Theft from the person": "Theft",
    "Shoplifting": "Theft",
    "Bicycle theft": "Theft",
    "Vehicle offences": "Total notifiable offences",
    "Theft of motor vehicle": "Vehicle offences",
    "Theft from motor vehicle": "Vehicle offences",
    "Criminal damage and arson": "Total notifiable offences",
    "Drugs": "Total notifiable offences",
    "Possession of weapons": "Total notifiable offences",
    "Public order": "Total notifiable offences",
    "Anti-social behaviour": None,
}


def test_required_names_and_parents(cats):
    for name, parent in REQUIRED.items():
        assert cats.parents[name] == parent, name


def test_policeuk_coarse_types_map_to_parent_or_own(cats):
    assert cats.category_of("policeuk", "Burglary") == "Burglary"
    assert cats.category_of("policeuk", "Robbery") == "Robbery"
    assert cats.category_of("policeuk", "Vehicle crime") == "Vehicle offences"
    for own in ("Violence and sexual offences", "Other theft", "Other crime"):
        assert cats.category_of("policeuk", own) == own


def test_labels_match_case_and_space_insensitively(cats):
    assert cats.category_of("mps", "BURGLARY /  BURGLARY IN A DWELLING") == "Residential burglary"
    assert cats.category_of("mps", "Burglary / Burglary in a Dwelling") == "Residential burglary"
    assert cats.category_of("mps", "THEFT / NOT A LABEL") is None


def test_descendants(cats):
    assert cats.descendants("Burglary") == {"Burglary", "Residential burglary",
                                            "Non-residential burglary"}
    assert "Anti-social behaviour" not in cats.descendants("Total notifiable offences")
    assert "Fraud and forgery" not in cats.descendants("Total notifiable offences")
    with pytest.raises(InputError, match="unknown category 'Burglery'"):
        cats.descendants("Burglery")


def test_within_several_categories_is_the_sorted_union(cats):
    assert cats.within(["Burglary", "Residential burglary"]) == [
        "Burglary", "Non-residential burglary", "Residential burglary"]
    assert cats.within([]) == []
    with pytest.raises(InputError, match="unknown category 'Burglery'"):
        cats.within(["Burglary", "Burglery"])


def test_override_adds_and_replaces(tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text('[categories]\n"Arson" = "Criminal damage and arson"\n'
                 '[mps]\n"ARSON AND CRIMINAL DAMAGE / ARSON" = "Arson"\n')
    cats = categories.load(f)
    assert cats.category_of("mps", "ARSON AND CRIMINAL DAMAGE / ARSON") == "Arson"
    assert "Arson" in cats.descendants("Total notifiable offences")


@pytest.mark.parametrize(("text", "message"), [
    ('[categories]\n"X" = "Nowhere"\n', "unknown parent 'Nowhere'"),
    ('[mps]\n"A / B" = "Nothing"\n', "maps to unknown category 'Nothing'"),
    ('[categories]\n"A" = "B"\n"B" = "A"\n', "cycle"),
    ("[oops]\n", "unknown table"),
    ("not toml [", "not a valid TOML"),
])
def test_bad_override_names_the_file(tmp_path, text, message):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(InputError, match=message) as e:
        categories.load(f)
    assert str(f) in str(e.value)
