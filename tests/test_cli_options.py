"""The CLI's date options: one reader for months and days, one usage-error shape."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
import typer

from saferboard.cli.common import parse_day, parse_month


def test_options_read_months_and_days() -> None:
    assert parse_month(None, "--from") is None and parse_day(None, "--as-of") is None
    assert parse_month("2016-04", "--from") == date(2016, 4, 1)
    assert parse_day("2024-02-29", "--as-of") == date(2024, 2, 29)
    assert parse_day("29/02/2024", "--as-of") == date(2024, 2, 29)


@pytest.mark.parametrize(("parse", "value", "message"), [
    (parse_month, "2016-13", "expected YYYY-MM, got '2016-13'"),
    (parse_month, "2016-04-01", "expected YYYY-MM, got '2016-04-01'"),
    (parse_day, "2023-02-29", "expected YYYY-MM-DD, got '2023-02-29'"),
    (parse_day, "12 Feb 2024", "expected YYYY-MM-DD, got '12 Feb 2024'"),
])
def test_a_bad_date_is_the_options_usage_error(
        parse: Callable[[str, str], date | None], value: str, message: str) -> None:
    with pytest.raises(typer.BadParameter) as e:
        parse(value, "--opt")
    assert str(e.value) == message and e.value.param_hint == "--opt"


@pytest.mark.parametrize("error", [OSError, KeyError])
def test_audit_actor_without_a_login_name_is_marked(monkeypatch: pytest.MonkeyPatch,
                                                    error: type[Exception]) -> None:
    import getpass

    from saferboard.cli import cases, web

    monkeypatch.setattr(getpass, "getuser", lambda: "ann")
    assert (cases._actor(None), cases._actor("bob"), web._actor()) == ("ann", "bob", "cli:ann")

    def no_login() -> str:
        raise error("no login name")
    monkeypatch.setattr(getpass, "getuser", no_login)
    assert (cases._actor(None), cases._actor("bob"), web._actor()) == (
        "unknown", "bob", "cli:unknown")
