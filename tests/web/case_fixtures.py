"""A case register for the web tests: three agencies' cases with one action each, and the
accounts that see them (the shared web fixtures have no manager with an agency)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from saferboard.core.casekeys import load_case_key
from saferboard.store import cases as cs
from saferboard.web.auth import add_user
from tests.web.conftest import PASSWORD, Web

KEY = "k3y-" + "a1B2c3D4e5" * 5
VICTIM = "Winifred Quartermaine"  # in P-1 (Police)
OTHER = "Bartholomew Ashcombe"  # in BC-1 (Barnet Council)
# case -> (owner, shared with, victim); each gets one action, ids 1, 2, 3 in this order.
SEED = {"P-1": ("Police", (), VICTIM), "PR-1": ("Probation", ("police",), "Cedric Pym"),
        "BC-1": ("Barnet Council", (), OTHER)}


def seed_register(folder: Path) -> tuple[Path, Path]:
    key = folder / "cases.key"
    key.write_text(KEY + "\n", encoding="utf-8")
    db = folder / "cases.sqlite"
    keys = load_case_key(key)
    con = cs.connect(db, keys)
    try:
        with cs.transaction(con):
            for ref, (owner, shared, victim) in SEED.items():
                cs.open_case(con, keys, case_ref=ref, case_type="ASB", agency=owner,
                             opened=date(2025, 1, 6), lead_officer="Lead",
                             shared_with=shared, actor="seed",
                             people=(cs.PersonIn("victim", victim, "1 Any Street",
                                                 date(1960, 5, 1)),))
                cs.add_action(con, keys, ref, "Housing", date(2025, 2, 1), "Visit", "seed")
    finally:
        con.close()
    return key, db


def case_web(make_web: Callable[..., Web], folder: Path) -> Web:
    key, db = seed_register(folder)
    web = make_web(case_key_file=key, cases_db=db)
    with web.app.state.saferboard.db.connect() as con:
        add_user(con, "manager_bc", PASSWORD, "manager", agency="Barnet Council",
                 can_export=True, now=datetime(2026, 1, 5, 9, 0, tzinfo=UTC), actor="test")
    return web
