"""The permission matrix (permissions.csv): every route the app registers, for every role,
gets exactly the expected status. A route missing from the file fails the test. The rows of
the board pack's route are checked in test_download_scope.py, on that module's one app:
there each audience's pack is built once, not once here and again there."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from openpyxl import load_workbook
from starlette.routing import Mount, Route

from saferboard.web.app import app_routes
from tests.web.conftest import PASSWORD, ROLE_USER, Web, csrf_from

MATRIX = Path(__file__).with_name("permissions.csv")
ROLES = ("anonymous", *ROLE_USER)
PACK_ROUTE = "/downloads/pack.{kind}"  # its rows: test_download_scope.py


def matrix() -> list[dict[str, str]]:
    with MATRIX.open(encoding="utf-8") as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


def registered(web: Web) -> set[tuple[str, str]]:
    out = set()
    for route in app_routes(web.app):
        if isinstance(route, APIRoute | Route):
            for method in route.methods or ():
                if method != "HEAD":
                    out.add((method, route.path))
        elif isinstance(route, Mount):
            out.add(("GET", route.path + "/{path}"))
        else:
            raise AssertionError(f"unexpected route type {type(route).__name__}")
    return out


def test_every_route_is_in_the_matrix_for_every_role(web: Web) -> None:
    rows = matrix()
    routes = registered(web)
    assert routes, "no routes found"
    for role in ROLES:
        covered = {(r["method"], r["route"]) for r in rows if r["role"] == role}
        missing = routes - covered
        assert not missing, f"routes missing from permissions.csv for {role}: {missing}"
        unknown = covered - routes
        assert not unknown, f"permissions.csv lists routes the app lacks: {unknown}"


def _form(route: str, role: str) -> dict[str, str]:
    return {
        "/login": {"username": ROLE_USER.get(role, "nobody"), "password": "wrong password!"},
        "/actions/{action_id}/update": {"quarter": "2012-Q4", "plan": "Plan",
                                         "update": f"Update by {role}", "rag": "A"},
        "/projects/{project_id}/return": {"quarter": "2016-Q4", "spend": "1000",
                                           "actual_0": "3"},
        "/actions/{action_id}/confirm": {"quarter": "2012-Q4", "rag": "G"},
        "/projects/{project_id}/confirm": {"quarter": "2016-Q4", "rag": "A"},
        "/quarters/{quarter}/lock": {"back": "projects"},
        "/admin/users": {"username": f"new_{role}", "password": PASSWORD, "role": "board"},
        "/account/password": {"current": "wrong password!", "new": "granite lantern orchard",
                              "confirm": "granite lantern orchard"},
    }.get(route, {})


@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix(make_web: Callable[..., Web], role: str) -> None:
    web = make_web()
    if role == "anonymous":
        client = web.client()
        token = csrf_from(client.get("/login").text)  # the login form's token
    else:
        client = web.login(ROLE_USER[role])
        token = web.csrf(client)
    rows = [r for r in matrix() if r["role"] == role and r["route"] != PACK_ROUTE]
    # Sign out last: it ends the session the other requests use.
    rows.sort(key=lambda r: r["route"] == "/logout")
    failures = []
    for r in rows:
        if r["method"] == "GET":
            response = client.get(r["path"])
        else:
            if role == "anonymous" and r["route"] == "/login":
                token = csrf_from(client.get("/login").text)  # each form has a fresh token
            response = client.post(r["path"], data={"csrf_token": token,
                                                    **_form(r["route"], role)})
        failures += wrong_answer(r, response.status_code, response.content)
    assert not failures, f"{role}:\n" + "\n".join(failures)


def wrong_answer(row: dict[str, str], status: int, body: bytes) -> list[str]:
    """How an answer differs from its row of the matrix: its status, else its contents."""
    if status != int(row["status"]):
        return [f"{row['method']} {row['path']}: expected {row['status']}, got {status}"]
    if row.get("contains"):
        return [f"{row['path']}: {f}" for f in _wrong_contents(body, row["path"],
                                                                 row["contains"])]
    return []


PEOPLE_SHEETS = {"Repeat victimisation", "MARAC", "Offender cohort"}
EVERY_AGENCY = {"Police", "Probation", "Barnet Council"}  # at least these, in the examples


def _tables(body: bytes, path: str) -> tuple[set[str], set[str] | None]:
    """(people tables present, agencies of the projects and actions, None without any)."""
    if path.endswith(".xlsx"):
        wb = load_workbook(io.BytesIO(body), read_only=True)
        agencies: set[str] | None = None
        for title in ("Action plan", "Funded projects"):
            if title in wb.sheetnames:
                values = list(wb[title].iter_rows(values_only=True))
                if "agency" in values[0]:
                    i = values[0].index("agency")
                    agencies = (agencies or set()) | {str(v[i]) for v in values[1:]}
        return set(wb.sheetnames) & PEOPLE_SHEETS, agencies
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8"), newline="")))
    people = {"people"} if rows and "section" in rows[0] else set()
    if rows and "agency" in rows[0]:
        return people, {r["agency"] for r in rows}
    return people, None


def _wrong_contents(body: bytes, path: str, contains: str) -> list[str]:
    """What the download holds that its 'contains' cell says it must not (or lacks)."""
    people, agencies = _tables(body, path)
    wrong = []
    for rule in contains.split(";"):
        if rule == "people" and not people:
            wrong.append("no people tables")
        elif rule == "no-people" and people:
            wrong.append(f"people tables {sorted(people)}")
        elif rule == "agencies=all" and not (agencies and agencies >= EVERY_AGENCY):
            wrong.append(f"agencies {agencies}, expected every agency")
        elif rule.startswith("agencies=") and rule != "agencies=all" and \
                agencies != {rule.removeprefix("agencies=")}:
            wrong.append(f"agencies {agencies}, expected only {rule.removeprefix('agencies=')}")
    return wrong


def test_a_route_without_a_permission_is_refused_however_it_is_added(web: Web) -> None:
    """Deny by default (create_app's _check_routes): a route that declares no Need stops
    the app, whether its router's routes are given to FastAPI as they are (as create_app
    does) or through include_router, which FastAPI keeps as one nested entry."""
    from fastapi import APIRouter

    from saferboard.web.app import _check_routes

    stray = APIRouter(prefix="/stray")

    @stray.get("/page")
    def page() -> str:
        return "no permission declared"

    _check_routes(web.app)  # the app as built passes
    for add in (lambda: web.app.router.routes.extend(stray.routes),
                lambda: web.app.include_router(stray)):
        routes = list(web.app.router.routes)
        add()
        with pytest.raises(RuntimeError, match=r"route /stray/page declares no permission"):
            _check_routes(web.app)
        web.app.router.routes[:] = routes
