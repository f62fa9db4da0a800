"""The web dashboard: FastAPI app, server-rendered pages, JSON API, accounts and audit log.

`create_app(settings)` builds everything; nothing is created at import time. app assembles
the routers (pages, downloads, api) and is imported by none of them: they render through
rendering and reach the AppState (state) through deps.

May import: report (charts, maps, the pack), present, measures, sources (returns and action
updates entered on the site), store and core. The CLI imports it (`saferboard web`).
"""
