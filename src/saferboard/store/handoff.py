"""Taking turns at the store file between the web server and other saferboard processes.

DuckDB lets one process at a time open a database file. The web server keeps its connection
open; a command that needs the file (an import, `saferboard users ...`, a report) and finds
it held leaves a *request* beside it, `<store>.want.<pid>`, and retries. The server watches
for requests (`wanted`, polled a few times a second by a background thread): it stops
starting new work on the store (those requests get 503 with Retry-After), closes its
connection as soon as the requests already running finish, and opens it again once no
request is left. The command removes its request when it is done with the file, or it is
ignored as soon as its process has died, so a killed import never blocks the server.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path


def _prefix(db: Path) -> str:
    return db.name + ".want."


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's
        return True
    return True


@contextmanager
def request(db: Path) -> Iterator[None]:
    """Ask whoever holds `db` to release it, for the block."""
    flag = db.with_name(_prefix(db) + str(os.getpid()))
    try:
        flag.touch()
    except OSError:  # a read-only folder: nobody could have asked; just wait
        yield
        return
    try:
        yield
    finally:
        with suppress(OSError):
            flag.unlink()


def wanted(db: Path) -> bool:
    """Whether a live process (other than this one) is asking for `db`. Requests of dead
    processes are removed."""
    prefix = _prefix(db)
    found = False
    try:
        names = [p for p in db.parent.iterdir() if p.name.startswith(prefix)]
    except OSError:
        return False
    for path in names:
        suffix = path.name[len(prefix):]
        if not suffix.isdigit() or int(suffix) == os.getpid():
            continue
        if _alive(int(suffix)):
            found = True
        else:
            with suppress(OSError):
                path.unlink()
    return found
