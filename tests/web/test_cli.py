"""`saferboard users add|disable|list` and `saferboard serve`'s refusals."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from saferboard import store
from saferboard.web import audit, auth
from tests.conftest import run_cli, run_cli_process
from tests.web.conftest import PASSWORD, SECRET


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFERBOARD_")}
    env.update(extra)
    return env


def test_users_add_list_disable(base_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "cli.duckdb"
    shutil.copy(base_db, db)
    pw = tmp_path / "pw.txt"
    pw.write_text(PASSWORD + "\n", encoding="utf-8")
    r = run_cli("users", "add", "Fire.Officer", "--role", "partner", "--agency", "Fire",
                "--export", "--password-file", pw, "--db", db, env=_env())
    assert r.code == 0, r.stderr
    assert "added fire.officer (partner, Fire, may export)" in r.stdout
    r = run_cli("users", "add", "x", "--role", "partner", "--password-file", pw, "--db", db,
                env=_env())
    assert r.code == 1 and "needs an agency" in r.stderr
    short = tmp_path / "short.txt"
    short.write_text("tooshort\n", encoding="utf-8")
    r = run_cli("users", "add", "y", "--role", "board", "--password-file", short, "--db", db,
                env=_env())
    assert r.code == 1 and "at least 12 characters" in r.stderr
    r = run_cli("users", "add", "z", "--role", "superuser", "--password-file", pw, "--db", db,
                env=_env())
    assert r.code == 1 and "role should be one of board, partner" in r.stderr
    r = run_cli("users", "list", "--format", "csv", "--db", db, env=_env())
    assert "fire.officer,partner,Fire,True,False" in r.stdout
    assert PASSWORD not in r.stdout and "argon2" not in r.stdout
    r = run_cli("users", "disable", "fire.officer", "--db", db, env=_env())
    assert r.code == 0 and "disabled fire.officer" in r.stdout
    with store.connect(db) as con:
        user = auth.get_user(con, "fire.officer")
        assert user is not None and user.disabled
        row = con.execute("SELECT password_hash FROM web_users WHERE username = "
                          "'fire.officer'").fetchall()[0]
        assert str(row[0]).startswith("$argon2id$")
        actions = [(e.action, e.object, e.actor.startswith("cli:"))
                   for e in audit.entries(con, limit=5)]
    assert actions[:2] == [("user.disable", "user:fire.officer", True),
                           ("user.add", "user:fire.officer", True)]


def test_serve_refuses_unsafe_settings(base_db: Path, tmp_path: Path) -> None:
    r = run_cli("serve", "--db", base_db, env=_env())
    assert r.code == 1 and "placeholder or shorter" in r.stderr
    r = run_cli("serve", "--db", base_db, env=_env(SAFERBOARD_WEB_SECRET="changeme"))
    assert r.code == 1 and "placeholder or shorter" in r.stderr
    r = run_cli("serve", "--db", base_db, "--host", "0.0.0.0",
                env=_env(SAFERBOARD_WEB_SECRET=SECRET))
    assert r.code == 1 and "without TLS" in r.stderr
    secret = tmp_path / "secret"
    secret.write_text("password\n", encoding="utf-8")
    r = run_cli("serve", "--db", base_db, "--secret-file", secret, env=_env())
    assert r.code == 1 and "placeholder" in r.stderr
    assert "Traceback" not in r.stderr


def test_passwords_are_hashed_with_the_production_argon2_parameters(tmp_path: Path) -> None:
    # In a process of its own, as deployed (this test process uses cheap hashes, see
    # tests/conftest.py): argon2id, RFC 9106 low-memory profile (64 MiB, 3 passes, 4 lanes).
    db = tmp_path / "s.duckdb"
    pw = tmp_path / "pw.txt"
    pw.write_text(PASSWORD + "\n", encoding="utf-8")
    r = run_cli_process("users", "add", "fire.officer", "--role", "board", "--password-file",
                        pw, "--db", db, env=_env())
    assert r.code == 0, r.stderr
    with store.connect(db) as con:
        row = con.execute("SELECT password_hash FROM web_users").fetchall()[0]
    assert str(row[0]).startswith("$argon2id$v=19$m=65536,t=3,p=4$")
