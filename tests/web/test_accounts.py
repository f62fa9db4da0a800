"""Accounts (issue 16, item 4): `saferboard users passwd|enable|role`, the signed-in password
change page, the password policy, the ASCII username set and a clear error for an empty
password file."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from saferboard import store
from saferboard.core.errors import InputError
from saferboard.web import audit, auth
from tests.conftest import run_cli
from tests.web.conftest import PASSWORD, Web, csrf_from

NEW_PASSWORD = "granite lantern orchard velvet"


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("SAFERBOARD_")}


# --------------------------------------------------------------------------- the policy


@pytest.mark.parametrize("password", [" " * 12, "a" * 20, "abcabcabcabc", "password1234",
                                      "qwertyuiop12", "123456789012", "analyst12345"])
def test_common_and_repeated_passwords_are_refused(password: str) -> None:
    with pytest.raises(InputError, match="too easy to guess"):
        auth.check_password(password, "analyst")


def test_short_passwords_are_refused() -> None:
    with pytest.raises(InputError, match="at least 12 characters"):
        auth.check_password("Xq7#vR!2", "someone")


def test_a_long_unrelated_phrase_is_accepted() -> None:
    auth.check_password(NEW_PASSWORD, "someone")
    auth.check_password(PASSWORD, "someone")


@pytest.mark.parametrize("name", ["\u0430nalyst", "ana lyst", "analyst\u200b", "\u212aevin",
                                  "", "-lead", "x" * 65, "\uff41dmin"])
def test_usernames_outside_the_ascii_set_are_refused(name: str) -> None:
    with pytest.raises(InputError, match="lower-case ASCII"):
        auth.check_username(name)


def test_usernames_in_the_set() -> None:
    assert auth.check_username(" Fire.Officer@barnet-council_1 ") == \
        "fire.officer@barnet-council_1"


# ------------------------------------------------------------------------------ the CLI


def _db(base_db: Path, tmp_path: Path) -> Path:
    db = tmp_path / "cli.duckdb"
    shutil.copy(base_db, db)
    return db


def test_empty_password_file_is_a_clear_error(base_db: Path, tmp_path: Path) -> None:
    db = _db(base_db, tmp_path)
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    for args in (("users", "add", "newbie", "--role", "board"), ("users", "passwd", "board")):
        r = run_cli(*args, "--password-file", empty, "--db", db, env=_env())
        assert r.code == 1
        assert "password file is empty" in r.stderr and "index" not in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1


def test_cli_passwd_role_enable(base_db: Path, tmp_path: Path) -> None:
    db = _db(base_db, tmp_path)
    pw = tmp_path / "pw.txt"
    pw.write_text(NEW_PASSWORD + "\n", encoding="utf-8")
    weak = tmp_path / "weak.txt"
    weak.write_text("password1234\n", encoding="utf-8")
    r = run_cli("users", "passwd", "board", "--password-file", weak, "--db", db, env=_env())
    assert r.code == 1 and "too easy to guess" in r.stderr
    r = run_cli("users", "passwd", "board", "--password-file", pw, "--db", db, env=_env())
    assert r.code == 0, r.stderr
    r = run_cli("users", "role", "probation", "--role", "partner", "--agency", "Fire",
                "--export", "--db", db, env=_env())
    assert r.code == 0, r.stderr
    assert "probation is now partner (Fire), may export" in r.stdout
    r = run_cli("users", "role", "probation", "--role", "partner", "--db", db, env=_env())
    assert r.code == 1 and "needs an agency" in r.stderr
    assert run_cli("users", "disable", "council", "--db", db, env=_env()).code == 0
    r = run_cli("users", "enable", "council", "--db", db, env=_env())
    assert r.code == 0 and "enabled council" in r.stdout
    r = run_cli("users", "list", "--format", "json", "--db", db, env=_env())
    users = {u["username"]: u for u in json.loads(r.stdout)}
    assert users["probation"]["agency"] == "Fire" and users["probation"]["export"] is True
    assert users["council"]["disabled"] is False
    with store.connect(db) as con:
        row = store.one(con, "SELECT password_hash FROM web_users WHERE username = 'board'")
        assert row is not None and auth.verify_password(str(row[0]), NEW_PASSWORD)
        actions = [(e.action, e.object) for e in audit.entries(con, limit=10)]
        assert audit.verify(con) is None
    assert ("user.password", "user:board") in actions
    assert ("user.role", "user:probation") in actions
    assert ("user.enable", "user:council") in actions
    assert all(NEW_PASSWORD not in str(e) for e in actions)


# ------------------------------------------------------------------------------- the web


def _change(web: Web, c: TestClient, current: str, new: str, confirm: str | None = None
            ) -> int:
    r = c.post("/account/password", data={"csrf_token": web.csrf(c, "/account/password"),
                                          "current": current, "new": new,
                                          "confirm": new if confirm is None else confirm})
    return r.status_code


def test_password_change_page(web: Web) -> None:
    c = web.login("analyst")
    other = web.login("analyst")
    assert c.get("/account/password").status_code == 200
    assert _change(web, c, "wrong password!", NEW_PASSWORD) == 400
    assert _change(web, c, PASSWORD, NEW_PASSWORD, "something else entirely") == 400
    assert _change(web, c, PASSWORD, "password1234") == 400
    assert _change(web, c, PASSWORD, NEW_PASSWORD) == 200
    assert c.get("/api/me").status_code == 200  # this session goes on
    assert other.get("/api/me").status_code == 401  # the others end
    web.login("analyst", NEW_PASSWORD)
    fresh = web.client()
    page = fresh.get("/login")
    r = fresh.post("/login", data={"username": "analyst", "password": PASSWORD,
                                   "csrf_token": csrf_from(page.text)})
    assert r.status_code == 401


def test_wrong_current_passwords_are_throttled_like_logins(web: Web) -> None:
    c = web.login("board")
    for _ in range(5):
        assert _change(web, c, "wrong password!", NEW_PASSWORD) == 400
    # Throttled now: even the right one is refused, unchecked.
    assert _change(web, c, PASSWORD, NEW_PASSWORD) == 400
