"""Options appraisal: the seed's Table 4 ranked by hand, weight sensitivity, bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from saferboard.core.errors import InputError
from saferboard.measures.appraisal import Appraisal, Criterion, Option, appraise, rank
from saferboard.sources.appraisal_model import load_appraisal
from tests.conftest import EXAMPLES, run_cli

TABLE4 = EXAMPLES / "appraisal" / "obc_table4.toml"


def test_table4_ranking_by_hand() -> None:
    a = load_appraisal(TABLE4)
    assert len(a.criteria) == 10 and len(a.options) == 10
    r = appraise(a)
    got = {o.name: (o.rank, round(o.score, 6)) for o in r.ranked}
    # NJPs: H on 8 criteria, M on 2 -> (8 x 3 + 2 x 2) / 10 = 2.8.
    assert got["Neighbourhood Justice Panels (NJPs)"] == (1, 2.8)
    # Community Coaches: 7 H, 1 M, 1 M, 1 L -> (21 + 4 + 1) / 10 = 2.6.
    assert got["Community Coaches"] == (2, 2.6)
    assert got["Enhanced IOM"] == (3, 2.5)
    # Conditional Cautions and Personalisation tie at 2.3: both rank 4.
    assert got["Conditional Cautions"] == (4, 2.3)
    assert got["Personalisation"] == (4, 2.3)
    assert got["Wet Houses"] == (10, 1.3)


def test_weight_sensitivity_by_hand() -> None:
    r = appraise(load_appraisal(TABLE4))
    assert len(r.changes) == 20
    ch = {(c.criterion, c.factor): c for c in r.changes}
    # Halving "Early intervention / prevention" (CCs H, IOM L, Coaches H): total weight 9.5;
    # Coaches (26 - 1.5) / 9.5 = IOM (25 - 0.5) / 9.5 = 2.5789 -> IOM joins Coaches at rank 2,
    # CCs (23 - 1.5) / 9.5 = 2.263 drops below Personalisation (23 - 1) / 9.5 = 2.316.
    moved = dict((n, (b, a)) for n, b, a in ch[("Early intervention / prevention", 0.5)].moved)
    assert moved == {"Conditional Cautions": (4, 5), "Enhanced IOM": (3, 2)}
    assert not any(c.top_changes for c in r.changes)  # NJPs stay first under every change
    assert not r.robust
    assert ch[("Safer Barnet", 1.5)].moved == ()


def test_rank_ties_and_top_change() -> None:
    assert rank({"a": 2.0, "b": 2.0, "c": 1.0}) == {"a": 1, "b": 1, "c": 3}
    a = Appraisal("t", (Criterion("x", 1.0), Criterion("y", 1.0)),
                  (Option("A", (3.0, 1.0), ("H", "L")), Option("B", (1.0, 2.9), ("L", "2.9"))))
    r = appraise(a)
    assert [o.name for o in r.ranked] == ["A", "B"]
    top = {(c.criterion, c.factor): c.top_changes for c in r.changes}
    # x halved: A = (1.5 + 1) / 1.5 = 1.667, B = (0.5 + 2.9) / 1.5 = 2.267 -> B first.
    assert top == {("x", 0.5): True, ("x", 1.5): False, ("y", 0.5): False, ("y", 1.5): True}


@pytest.mark.parametrize(("body", "message"), [
    ('[[criteria]]\nname = "x"\n[[options]]\nname = "A"\nscores = ["Q"]\n'
     '[[options]]\nname = "B"\nscores = ["H"]\n',
     "key 'options[0].scores[0]': 'Q' is not a score; allowed: H, M, L or a number"),
    ('[[criteria]]\nname = "x"\nweight = -1\n', "key 'criteria[0].weight'"),
    ('[[criteria]]\nname = "x"\n[[options]]\nname = "A"\nscores = ["H", "M"]\n'
     '[[options]]\nname = "B"\nscores = ["H"]\n',
     "key 'options[0].scores': needs one score per criterion (1), got 2"),
])
def test_bad_appraisal_files(tmp_path: Path, body: str, message: str) -> None:
    p = tmp_path / "a.toml"
    p.write_text(body, encoding="utf-8")
    with pytest.raises(InputError) as e:
        load_appraisal(p)
    assert str(e.value).startswith(f"{p}: {message}")


def test_cli_appraise() -> None:
    r = run_cli("appraise", TABLE4)
    assert r.code == 0, r.stderr
    assert "Neighbourhood Justice Panels" in r.stdout and "2.80" in r.stdout
    r = run_cli("appraise", TABLE4, "--format", "json")
    assert r.code == 0, r.stderr
    import json

    doc = json.loads(r.stdout)
    assert doc["ranked"][0]["name"] == "Neighbourhood Justice Panels (NJPs)"
