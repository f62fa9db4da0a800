"""The board pack's "ASB cases" page: the case register's aggregates, as measures.cases
.board_cases suppressed them (a suppressed value is shown as the disclosure mark). The page is
in the pack only when the register was opened for it (the pack command needs its key);
without it the about page says the page is left out."""

from __future__ import annotations

from typing import Any

from saferboard.measures import disclosure as dc
from saferboard.measures.cases import BoardCases

LEVEL_WORDS = {"standard": "Standard", "medium": "Medium", "high": "High"}
CASE_REVIEW_WORDS = {
    "applications": "Applications received",
    "threshold_not_met": "Applications that did not meet the threshold",
    "reviews_carried_out": "Case Reviews carried out",
    "reviews_with_recommendations": "Case Reviews that made recommendations",
}
OMITTED_WORDS = ("The ASB cases page is not included: the case register was not opened for "
                 "this pack (it needs the register's key).")
OMITTED_NOTE = ("ASB cases: no page - the case register's key was not given (pack "
                "--case-key-file, or $SAFERBOARD_CASE_KEY_FILE; --cases-db names the "
                "register).")


def _shown(value: int | None) -> object:
    return dc.MARK if value is None else value


def cases_section(board: BoardCases) -> dict[str, Any]:
    """Rows and words for the template (_cases.html.j2)."""
    from saferboard.core.riskmatrix import LEVELS

    totals_open = board.open_by_level.col_totals or (None,)
    totals_overdue = board.overdue_by_level.col_totals or (None,)
    levels = [{"Risk level": LEVEL_WORDS.get(lvl, lvl),
               "Open cases": _shown(board.open_by_level.cells[i][0]),
               "Reviews overdue": _shown(board.overdue_by_level.cells[i][0])}
              for i, lvl in enumerate(LEVELS)]
    levels.append({"Risk level": "All", "Open cases": _shown(totals_open[0]),
                   "Reviews overdue": _shown(totals_overdue[0])})
    suppressed = (board.open_by_level.suppressed + board.overdue_by_level.suppressed
                  + board.case_review_suppressed)
    return {
        "as_of": board.as_of, "year": board.year, "threshold": board.threshold,
        "levels": levels,
        "case_review": [{"Figure": CASE_REVIEW_WORDS[k], "Number": _shown(v)}
                        for k, v in board.case_review],
        # every stage, in SARA order (measures.problem_assessment.by_stage)
        "problems": [{"Stage": s.capitalize(), "Problems": n}
                     for s, n in board.problems_by_stage.items()],
        "suppressed": suppressed,
        "rule": (f"Counts of cases and applications below {board.threshold} are suppressed "
                 f"(shown as {dc.MARK}), with any other count that would let one be worked "
                 "out from a total; "
                 + (f"{suppressed} value(s) are suppressed here." if suppressed
                    else "nothing needed suppressing here.")
                 + " Problems are places or issues, not people: their counts are shown."),
    }
