"""Every case register route for every role and agency (case_access.csv): another agency's
case is 404 exactly like a missing one, board members and analysts get aggregates only, the
admin and the DPO nothing. Each account runs the pages and the API on a fresh register, with
valid bodies, so a success really changes the case and a refusal is not a validation error."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute

from saferboard.web.app import app_routes
from tests.web.case_fixtures import case_web
from tests.web.conftest import Web, csrf_from

TABLE = Path(__file__).with_name("case_access.csv")


def table() -> tuple[list[str], list[dict[str, str]]]:
    with TABLE.open(encoding="utf-8") as f:
        reader = csv.DictReader(line for line in f if not line.startswith("#"))
        rows = list(reader)
        users = [u for u in reader.fieldnames or () if u not in ("method", "route", "path")]
    return users, rows


USERS, ROWS = table()
BODIES: dict[str, dict[str, Any]] = {
    "people": {"role": "witness", "name": "Ida Witness"},
    "incidents": {"date": "2025-02-01", "reported_to": "council", "description": "Shouting"},
    "actions": {"owner": "ASB team", "due": "2025-03-01", "description": "Letter"},
    "reviews": {"date": "2025-02-02", "outcome": "Continue"},
    "notes": {"date": "2025-02-03", "text": "Called back"},
    "assessments": {"date": "2025-02-04", "yes": ["repeat"]},
    "close": {"date": "2025-02-05"},
    "done": {"done": True},
}


def _body(route: str, user: str, api: bool) -> dict[str, Any]:
    kind = route.rstrip("/").rsplit("/", 1)[-1]
    if route.endswith("/cases"):
        return {"case_ref": f"N-{user}", "opened": "2025-02-01"}
    body = BODIES[kind]
    if not api and kind == "done":
        return {"done": "yes"}
    return body


def test_every_case_route_is_in_the_table(web: Web) -> None:
    registered = {(m, r.path) for r in app_routes(web.app) if isinstance(r, APIRoute)
                  and r.path.startswith(("/cases", "/api/cases")) for m in r.methods}
    listed = {(r["method"], r["route"]) for r in ROWS}
    assert registered == listed


@pytest.mark.parametrize("surface", ["pages", "api"])
@pytest.mark.parametrize("user", USERS)
def test_case_access(make_web: Callable[..., Web], tmp_path: Path, user: str,
                     surface: str) -> None:
    web = case_web(make_web, tmp_path)
    api = surface == "api"
    client = web.client() if user == "anonymous" else web.login(user)
    token = csrf_from(client.get("/login").text) if user == "anonymous" else web.csrf(client)
    rows = [r for r in ROWS if r["route"].startswith("/api/") == api]
    rows.sort(key=lambda r: r["route"].endswith("/close"))  # a closed case takes no change
    failures = []
    for r in rows:
        if r["method"] == "GET":
            response = client.get(r["path"])
        elif api:
            response = client.post(r["path"], headers={"X-CSRF-Token": token},
                                   json=_body(r["route"], user, api))
        else:
            response = client.post(r["path"], data={"csrf_token": token,
                                                    **_body(r["route"], user, api)})
        if response.status_code != int(r[user]):
            failures.append(f"{r['method']} {r['path']}: expected {r[user]}, got "
                            f"{response.status_code} {response.text[:120]}")
    assert not failures, f"{user} ({surface}):\n" + "\n".join(failures)
