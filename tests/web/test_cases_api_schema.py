"""Schemathesis against the case register's API operations with a register configured (the
general schema test runs without one): no server error for generated requests from a partner
officer, a board member or anonymously, and every answer matches the documented schema."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from saferboard.web.deps import CSRF_HEADER, SESSION_COOKIE
from tests.web.case_fixtures import case_web
from tests.web.conftest import Web


def test_case_api_conforms(make_web: Callable[..., Web], tmp_path: Path) -> None:
    web = case_web(make_web, tmp_path)
    headers: dict[str, dict[str, str]] = {"anonymous": {}}
    for user in ("police", "board"):
        client = web.login(user)
        headers[user] = {"Cookie": f"{SESSION_COOKIE}={client.cookies.get(SESSION_COOKIE)}",
                         CSRF_HEADER: web.csrf(client)}
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", web.app)
    operations = [r.ok() for r in schema.get_all_operations()]
    operations = [o for o in operations if o.path.startswith("/api/cases")]
    assert len(operations) == 14
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=6, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            for user, h in headers.items():
                try:
                    # A generated reference or date may be well-formed and still refused
                    # (no such case, before the opening): 404/422 with the documented shape.
                    case.call_and_validate(headers=h,
                                           excluded_checks=[positive_data_acceptance])
                except Exception as e:
                    e.add_note(f"user: {user}, request: {case.method} {case.path}")
                    raise

        check()
