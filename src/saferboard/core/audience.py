"""Who an output is for, and so what it may contain: one value, built once from the reader's
rights (web/permissions.py `audience`), that the pack, its XLSX and every table export obey.
The command line, run by the analyst who holds the store, gets `EVERYONE`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Audience:
    people: bool = True  # victims and offenders pages (suppressed aggregates), cohort costs
    governance: bool = True  # funded projects and the action plan
    agency: str | None = None  # None: every agency's projects and actions; else only these

    def describe(self) -> str | None:
        """What this reader's copy leaves out, in a sentence for its cover (None: nothing)."""
        left_out = []
        if not self.people:
            left_out.append("the victims and offenders pages")
        if not self.governance:
            left_out.append("funded projects, the action plan and value for money")
        elif self.agency is not None:
            left_out.append(f"projects and actions of agencies other than {self.agency}, "
                            "and value for money")
        if not left_out:
            return None
        return ("This copy is prepared for your role and leaves out "
                + " and ".join(left_out) + ".")


EVERYONE = Audience()
