"""The web dashboard: FastAPI app, server-rendered pages, JSON API, accounts and audit log.

`create_app(settings)` builds everything; nothing is created at import time.
"""
