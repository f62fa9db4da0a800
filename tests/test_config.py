"""The partnership configuration: the shipped default, and bad files rejected with the file
and the key at fault (one message, nothing half-loaded)."""

from __future__ import annotations

from pathlib import Path

import pytest

from saferboard.core.config import default_config_path, load_config
from saferboard.core.errors import InputError


def test_shipped_default() -> None:
    cfg = load_config()
    assert cfg.area == "Barnet" and cfg.region == "London boroughs"
    assert "Burglary" in cfg.dashboard.hotspot_categories
    assert cfg.dashboard.exception_method == "sd"


@pytest.mark.parametrize(("old", "new", "message"), [
    ('hotspot_categories = ["Burglary", "Robbery", "Vehicle offences", '
     '"Violence and sexual offences"]', 'hotspot_categories = "Burglary"',
     r"\[dashboard\]\.hotspot_categories has the wrong type"),
    ('exception_method = "sd"', 'exception_method = "cusum"', "sd, xmr or seasonal-sd"),
    ("alpha = 0.05 ", "alpha = 1.5 ", "alpha must be between 0 and 1"),
    ('region = "London boroughs"', 'region = "Mars"', "region 'Mars'"),
    ("suppress_below = 5 ", "suppress_below = -1 ", "suppress_below"),
])
def test_bad_configuration(tmp_path: Path, old: str, new: str, message: str) -> None:
    text = default_config_path().read_text(encoding="utf-8")
    assert old in text, old  # the test edits a line that exists
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(InputError, match=message) as e:
        load_config(bad)
    assert str(bad) in str(e.value)
