"""Build the governance example data in examples/projects and examples/actions (XLSX, so the
police.uk importer that walks examples/ leaves them alone) and the header-only templates.

Run from the project root: python scripts/build_governance_examples.py. The outputs are
committed. Sources:
- projects: seeds 000 (annual update on the 2015/16 MOPAC projects, April 2016) and 001 (the
  2016/17 update, April 2017): only the figures and judgements those papers state; no budget or
  spend is given there (their Appendix 1 is not in the papers), so those cells are empty;
- action plan: seed 003 (board pack of 19 April 2013), the Q4 2012/13 action plan update per
  priority and the implementation plan of the four OBC initiatives (Appendix 5), read from
  ../shared/seeds when present (the transcription rules are in the functions below).
"""

from __future__ import annotations

import calendar
import re
import sys
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / ".." / "shared" / "seeds"
sys.path.insert(0, str(ROOT / "src"))

from saferboard.sources.governance import ACTION_COLUMNS, RETURN_COLUMNS  # noqa: E402

MOPAC = "MOPAC London Crime Prevention Fund"
COUNCIL = "Barnet Council"
LEAD = "Community Safety Manager"
PERIOD = ("2013-04-01", "2017-03-31")  # seed 000: funding 1 April 2013 to 31 March 2017
# The ASB project is not among the four projects funded in 2016/17 (seed 001).
ENDS = {"ASBRJ": "2016-03-31"}
PROJECTS = {
    "YPSM": "Young People's Substance Misuse Interventions",
    "RSMO": "Reducing Substance Misuse Offending",
    "EIOM": "Enhanced Integrated Offender Management",
    "ASBRJ": "ASB Project and Neighbourhood Restorative Justice Panels",
    "SAFERHOMES": "Safer Homes Scheme",
}
# (project, quarter, kpi, unit, baseline, target, direction, measure, actual, reported, comment)
KPI_ROWS: list[tuple[str, str, str, str, str, str, str, str, str, str, str]] = [
    # 2014/15 (seed 001: "75 completed interventions for the year 2014/15"; no target stated)
    ("SAFERHOMES", "2014-Q4", "Homes receiving Safer Homes interventions", "homes", "", "",
     "up", "cumulative", "75", "", "Seed 001: 75 completed interventions in 2014/15"),
    # 2015/16 Q3 (seed 000: "building on the 90% satisfaction achieved in Q3")
    ("ASBRJ", "2015-Q3", "Service user satisfaction", "%", "", "", "up", "level", "90", "",
     "Seed 000: 90% satisfaction in Q3"),
    # 2015/16 Q4 (seed 000; Safer Homes count from seed 001)
    ("YPSM", "2015-Q4", "Rate of first time entrants (substance-related)", "", "", "", "down",
     "level", "", "G", "Seed 000: results in line with the target to reduce the rate of First "
     "Time Entrants (2015/16 Q4 review)"),
    ("RSMO", "2015-Q4", "Reduction in offending rate of treatment cohort", "%", "", "", "up",
     "level", "38", "G", "Seed 000: 2015/16 targets achieved; 38% average reduction (Q1-Q4) "
     "against offending before treatment"),
    ("EIOM", "2015-Q4", "Reduction in offending rate of IOM cohort", "%", "", "", "up", "level",
     "42", "G", "Seed 000: on line to achieve or exceed all targets; 42% lower than in the 12 "
     "months before joining"),
    ("ASBRJ", "2015-Q4", "Victims and witnesses of ASB supported", "people", "", "60", "up",
     "cumulative", "135", "", "Seed 000: 135 victims supported against an annual target of 60"),
    ("ASBRJ", "2015-Q4", "Service user satisfaction", "%", "", "", "up", "level", "100", "",
     "Seed 000: 100% in Q4"),
    ("SAFERHOMES", "2015-Q4", "Homes receiving Safer Homes interventions", "homes", "75", "80",
     "up", "cumulative", "84", "", "Seed 001: 84 interventions in 2015/16 against a target of "
     "80 (seed 000: 'over 80')"),
    # 2016/17 Q4 (seed 001)
    ("YPSM", "2016-Q4", "Rate of first time entrants (substance-related)", "", "", "", "down",
     "level", "", "", "Seed 001: first time entrants about 10% below the average of the "
     "previous four years; no target stated"),
    ("RSMO", "2016-Q4", "Offenders engaging in treatment", "", "", "", "up", "level", "", "",
     "Seed 001: engagement increased, but engagement after prison release lower than "
     "expected; prison referral pathways under review"),
    ("EIOM", "2016-Q4", "Reduction in offending rate of IOM cohort", "%", "", "", "up", "level",
     "40", "G", "Seed 001: on line to achieve its LCPF targets; about 40% reduction"),
    ("SAFERHOMES", "2016-Q4", "Homes receiving Safer Homes interventions", "homes", "84", "80",
     "up", "cumulative", "126", "", "Seed 001: 126 homes against a target of 80; over 45 "
     "memo-cams installed"),
]


def _write(path: Path, sheet: str, columns: tuple[str, ...], rows: list[list[str]]) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = sheet
    ws.append(list(columns))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r in rows:
        ws.append([_cell(v) for v in r])
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)


def _cell(value: str) -> str | float | None:
    if value == "":
        return None
    return float(value) if re.fullmatch(r"-?\d+(\.\d+)?", value) else value


def projects() -> None:
    by_year: dict[str, list[list[str]]] = {}
    for pid, q, kpi, unit, base, target, direction, measure, actual, rag, comment in KPI_ROWS:
        row = {"project_id": pid, "project": PROJECTS[pid], "funder": MOPAC, "agency": COUNCIL,
               "lead": LEAD, "start": PERIOD[0], "end": ENDS.get(pid, PERIOD[1]), "budget": "",
               "quarter": q,
               "spend": "", "kpi": kpi, "unit": unit, "baseline": base, "target": target,
               "direction": direction, "measure": measure, "actual": actual,
               "reported_rag": rag, "comment": comment}
        fy = f"{q[:4]}-{(int(q[:4]) + 1) % 100:02d}"
        by_year.setdefault(fy, []).append([row[c] for c in RETURN_COLUMNS])
    out = ROOT / "examples" / "projects"
    for fy, rows in by_year.items():
        _write(out / f"mopac_returns_{fy}.xlsx", "return", RETURN_COLUMNS, rows)
    _write(out / "templates" / "quarterly_return_template.xlsx", "return", RETURN_COLUMNS, [])


def _agency(lead: str) -> tuple[str, str]:
    """(agency, named lead) from the action plan's 'Lead on update' cell."""
    for prefix, agency in (("LBB and Police", "Barnet Council and Police"),
                           ("LBB", COUNCIL), ("Police", "Police"),
                           ("Barnetborough Watch", "Barnet Borough Watch")):
        if lead.startswith(prefix):
            return agency, lead[len(prefix):].strip()
    return ("Not stated", lead)


def action_plan(text: list[str]) -> list[list[str]]:
    """Seed 003's Q4 2012/13 action plan update. A row holds what we said we would do, the
    lead, the Q4 plan and the Q4 update; rows without their own action continue the previous
    one (their plan and update are appended); the Q4 RAG column is empty in the paper."""
    start = next(i for i, line in enumerate(text) if line.startswith("1\tProperty crime"))
    end = next(i for i, line in enumerate(text) if "Appendix 5: DRAFT Safer Communities" in line)
    priority = ""
    actions: list[dict[str, str]] = []
    numbers: dict[str, int] = {}
    for line in text[start:end]:
        cells = [c.strip() for c in line.split("\t")]
        if not any(cells) or "What we said we would do" in cells:
            continue
        m = re.match(r"^(\d)\s*$", cells[0]) or re.match(r"^(\d)\s+(.+)$", cells[0])
        if m and (len(cells) == 1 or not any(cells[2:])):
            name = cells[1] if m.lastindex == 1 else m[2]
            priority = f"{m[1]}. {name.strip()}"
            continue
        filled = [c for c in cells if c]
        lead_at = next((i for i, c in enumerate(filled)
                        if re.match(r"^(LBB|Police|Barnetborough Watch)\b", c)), None)
        if lead_at is not None:
            what, rest = " ".join(filled[:lead_at]), filled[lead_at + 1:]
            lead = filled[lead_at]
        elif len(filled) >= 3:
            what, lead, rest = filled[0], "", filled[1:]
        else:
            what, lead, rest = "", "", filled
        plan = rest[0] if rest else ""
        update = rest[1] if len(rest) > 1 else ""
        continuation = not what or what[0].islower()
        if continuation and actions:
            prev = actions[-1]
            if what:
                prev["action"] += " " + what
            prev["plan"] = "\n".join(t for t in (prev["plan"], plan) if t)
            prev["update"] = "\n".join(t for t in (prev["update"], update) if t)
            continue
        number = numbers[priority] = numbers.get(priority, 0) + 1
        agency, person = _agency(lead)
        actions.append({"action_id": f"AP{priority[0]}.{number:02d}", "priority": priority,
                        "action": what, "agency": agency, "lead": person, "due": "",
                        "quarter": "2012-Q4", "plan": _plain(plan), "update": _plain(update),
                        "rag": ""})
    return [[a[c] for c in ACTION_COLUMNS] for a in actions]


def _plain(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text)).strip()


MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
MONTHS.update({m.lower(): i for i, m in enumerate(calendar.month_abbr) if m})
STRANDS = {"A": ("NJP", "Police"), "B": ("CC", COUNCIL), "C": ("CCS", "Police"),
           "D": ("IOM", "Probation")}


def _due(text: str) -> str:
    """'April/ May 2013' -> 2013-05-31: the last day of the last month named (2013 if no year)."""
    words = re.findall(r"[A-Za-z]+|\d{4}", text)
    months = [MONTHS[w.lower()] for w in words if w.lower() in MONTHS]
    years = [int(w) for w in words if w.isdigit()]
    if not months:
        return ""
    year = years[-1] if years else 2013
    month = months[-1]
    return f"{year}-{month:02d}-{calendar.monthrange(year, month)[1]:02d}"


def implementation_plan(text: list[str]) -> list[list[str]]:
    """Seed 003 Appendix 5, section 5: the implementation plan of the four OBC initiatives
    (action, lead, by when); the agency is the strand's strategic lead's (section 4)."""
    start = next(i for i, line in enumerate(text) if line.strip() == "5. Implementation Plans")
    end = next(i for i, line in enumerate(text) if line.startswith("6. Project Budgets"))
    rows: list[list[str]] = []
    strand = ""
    count = 0
    for line in text[start:end]:
        cells = [c.strip() for c in line.split("\t")]
        m = re.match(r"^\(([A-D])\)\s+(.+)$", cells[0])
        if m:
            strand, count = m[1], 0
            priority = f"OBC ({m[1]}) {m[2].strip()}"
            continue
        if not strand or not re.match(r"^\d+\.?$", cells[0]) or len(cells) < 2:
            if strand and len(cells) > 1 and not cells[0] and cells[1] and rows:
                rows[-1][2] += " " + cells[1]  # a wrapped action ("financial benefits)")
            continue
        count += 1
        code, agency = STRANDS[strand]
        lead = cells[2] if len(cells) > 2 else ""
        due = _due(cells[3]) if len(cells) > 3 else ""
        row = {"action_id": f"{code}.{count:02d}", "priority": priority, "action": cells[1],
               "agency": agency, "lead": lead, "due": due, "quarter": "", "plan": "",
               "update": "", "rag": ""}
        rows.append([row[c] for c in ACTION_COLUMNS])
    return rows


def actions() -> None:
    seed = next(SEEDS.glob("003_*.txt"), None)
    out = ROOT / "examples" / "actions"
    _write(out / "templates" / "action_plan_template.xlsx", "actions", ACTION_COLUMNS, [])
    if seed is None:
        print("../shared/seeds is absent: action plan examples not rebuilt", file=sys.stderr)
        return
    text = seed.read_text(encoding="utf-8").split("\n")
    _write(out / "action_plan_2012-13_q4.xlsx", "actions", ACTION_COLUMNS, action_plan(text))
    _write(out / "obc_implementation_plan_2013.xlsx", "actions", ACTION_COLUMNS,
           implementation_plan(text))


if __name__ == "__main__":
    projects()
    actions()
