"""The permission matrix (permissions.csv): every route the app registers, for every role,
gets exactly the expected status. A route missing from the file fails the test."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Mount, Route

from saferboard.web.app import app_routes
from tests.web.conftest import PASSWORD, ROLE_USER, Web, csrf_from

MATRIX = Path(__file__).with_name("permissions.csv")
ROLES = ("anonymous", *ROLE_USER)


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
    rows = [r for r in matrix() if r["role"] == role]
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
        if response.status_code != int(r["status"]):
            failures.append(f"{r['method']} {r['path']}: expected {r['status']}, got "
                            f"{response.status_code}")
    assert not failures, f"{role}:\n" + "\n".join(failures)
