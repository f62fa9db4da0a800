"""`AppState`: what `create_app` builds once and every request reads through `deps.state`.

Its own module so that the routers and `deps` can name it without importing `app`, which
imports the routers (no cycle).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jinja2

from saferboard.web.db import Database
from saferboard.web.service import Measures
from saferboard.web.settings import Settings


@dataclass
class AppState:
    settings: Settings
    db: Database
    measures: Measures
    templates: jinja2.Environment
    vendor: dict[str, bytes] = field(default_factory=dict)
