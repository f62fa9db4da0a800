"""Victims' incidents from the case register, for the repeat-victimisation measures
(measures.repeats): who (a keyed pseudonym) and when, nothing else.

The person key is the victim's `person_index`: the register's keyed blind index of name and
date of birth (HMAC-SHA256 under the key file's index key, core/casekeys.py), so the same
person is recognised across cases without their name leaving the register, and it is
meaningless without the key. A victim recorded without a date of birth (or purged) has no
such index: their incidents are left out and counted, never guessed from the name alone.
"""

from __future__ import annotations

import sqlite3
from datetime import date

from saferboard.core.errors import InputError


def victim_incidents(con: sqlite3.Connection,
                     case_type: str) -> tuple[list[str | None], list[date]]:
    """(person key or None, incident date) for each incident of each victim of the cases of
    `case_type` (any case): an incident of a case with two victims counts for each; an
    incident of a case with no victim, or with a victim without a key, has None."""
    wanted = " ".join(case_type.split()).casefold()
    types = sorted({t for (t,) in con.execute("SELECT DISTINCT case_type FROM cases")})
    if wanted not in {t.casefold() for t in types}:
        held = ", ".join(repr(t) for t in types) or "none"
        raise InputError(f"no cases of type {case_type!r} in the register; types held: {held}",
                         param="case_type")
    rows = con.execute("""
        SELECT p.person_index, i.date FROM incidents i JOIN cases c ON c.id = i.case_id
        LEFT JOIN people p ON p.case_id = c.id AND p.role = 'victim'
        WHERE lower(c.case_type) = ? ORDER BY i.date, i.id, p.id""", (wanted,)).fetchall()
    return [k for k, _ in rows], [date.fromisoformat(d) for _, d in rows]
