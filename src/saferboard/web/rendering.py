"""Page rendering for the routers: the Jinja environment, `render` and the vendored scripts.

Apart from `app` so that `pages` and `downloads` render without importing the module that
assembles them (no cycle).
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from saferboard.core.text import finalize
from saferboard.web.deps import Principal
from saferboard.web.permissions import ROLE_LABELS, Perm
from saferboard.web.permissions import allowed as perm_allowed


def templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("saferboard.web", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        finalize=finalize)
    env.filters["num"] = _num
    env.filters["pct"] = lambda v: "n/a" if v is None else f"{v:+.1f}%"
    env.filters["month"] = lambda d: f"{d:%b %Y}"
    env.globals["ROLE_LABELS"] = ROLE_LABELS
    env.globals["Perm"] = Perm
    env.globals["allowed"] = perm_allowed
    return env


def _num(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:,.2f}"
    if isinstance(value, int | float):
        return f"{value:,.0f}"
    return str(value)


def render(request: Request, name: str, principal: Principal | None, status: int = 200,
           **context: Any) -> HTMLResponse:
    env = request.app.state.saferboard.templates
    html = env.get_template(name).render(
        user=principal.user if principal else None,
        csrf_token=principal.csrf_token if principal else "",
        path=request.url.path, **context)
    return HTMLResponse(html, status_code=status)


def vendor_files() -> dict[str, bytes]:
    """Leaflet (report/vendor) and the Vega/Vega-Lite/vega-embed bundle of vl-convert."""
    files = {name: (resources.files("saferboard") / "report" / "vendor" / name).read_bytes()
             for name in ("leaflet.js", "leaflet.css")}
    return files


@functools.cache
def vega_bundle() -> bytes:
    import vl_convert as vlc

    # The package's stub marks the optional snippet argument as required.
    return str(vlc.javascript_bundle()).encode("utf-8")  # type: ignore[call-arg]
