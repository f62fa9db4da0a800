"""The web app's store connection, shared with other saferboard processes, and the measures
cache.

DuckDB lets one process at a time open a database file. The app keeps one connection open:
requests read on cursors of it side by side (`reader`), writes take turns (`connect`, a
lock), and the app gives the file up whenever another saferboard
process asks for it (store.handoff): an import, `saferboard users ...` or a report run
while people use the site waits at most as long as the requests already running, instead
of failing. While the file is given up, requests get 503 with Retry-After (the page says
so) rather than waiting; when the other process is done the next request opens the file
again and sees the new data (the measures cache is keyed by the imported batches).
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from saferboard import store
from saferboard.core.errors import StoreError
from saferboard.store import handoff

T = TypeVar("T")
log = logging.getLogger("saferboard.web")
RETRY_AFTER_S = 2  # what a 503 tells clients while another process has the file


class StoreBusy(StoreError):
    """Another saferboard process has (or has asked for) the store file: 503."""

    http_status = 503


class Database:
    """One store connection, written by one request at a time (a lock) and read by many
    (cursors), opened on demand and
    kept open until another process asks for the file (checked every `poll_s` seconds by a
    background thread): then new blocks are refused with StoreBusy and the connection is
    closed as soon as the running block ends. When the other process is done, the same
    thread opens the file again and, if a `warm` hook is set, lets it recompute what people
    were reading before requests are let in again (they get StoreBusy until then): the
    first views of new data then do not all wait for the same computations at once."""

    def __init__(self, path: Path, poll_s: float = 0.1) -> None:
        self.path = path
        self.poll_s = poll_s
        self._lock = threading.RLock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._stop = threading.Event()
        self._yielding = threading.Event()  # another process wants the file
        self._watcher: threading.Thread | None = None
        self.opened = 0  # connections opened so far: data can only change between them
        self.changes = 0  # `connect` blocks finished so far: the app's own writes are in them
        self._blocks = itertools.count(1)  # numbers of blocks (connect or reader)
        self._local = threading.local()  # the block the calling thread is in
        self._owner: int | None = None  # the thread inside a `connect` block, if any
        self._depth = 0
        self._readers = 0  # `reader` cursors in use (slow reads outside the lock)
        self._no_readers = threading.Condition(threading.Lock())
        # Called with a cursor on the reopened file and a `stop()` that says whether another
        # process wants the file again (then it should return soon).
        self.warm: Callable[[duckdb.DuckDBPyConnection, Callable[[], bool]], None] | None = None

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The store, for the block; other threads of this process wait for it, and it is
        StoreBusy (503) while another process has asked for the file."""
        if self._yielding.is_set() and self._owner != threading.get_ident():
            raise StoreBusy(f"{self.path}: another saferboard process is using the database")
        outer = getattr(self._local, "block", None)
        with self._lock:
            if self._depth == 0:
                self._owner = threading.get_ident()
                self._local.block = next(self._blocks)
            self._depth += 1
            try:
                if self._con is None:
                    if self._yielding.is_set() or handoff.wanted(self.path):
                        raise StoreBusy(f"{self.path}: another saferboard process is using "
                                        "the database")
                    # Never wait here: a page answers 503 at once rather than hang.
                    con = store.connect(self.path, wait_s=0)
                    # Counted before readers can see it: a result read from the new file
                    # is never cached under the old file's fingerprint.
                    self.opened += 1
                    self._con = con
                    self._start_watcher()
                try:
                    yield self._con
                except BaseException:
                    # Never reuse a connection left in an unknown state, unless slow
                    # readers are still using it (every write is in a transaction that
                    # is rolled back on error, so its state is known anyway).
                    with self._no_readers:
                        if not self._readers:
                            self._close()
                    raise
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._owner = None
                    self._local.block = outer
                    # After the block's commit: what readers cached before it is stale.
                    self.changes += 1

    @contextmanager
    def reader(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor on the store for a request's reads (pages, the API, the snapshot for a
        board pack), used without holding the lock, so requests do not queue behind each
        other: DuckDB runs the queries of several cursors of one connection at once, each
        in its own snapshot, and releases the interpreter lock while it does. Writes stay
        in `connect` blocks. The connection is handed over to another process only once no
        cursor is left; while another process has asked for it, this is StoreBusy (503)."""
        cursor = self._cursor()
        if cursor is None:  # not open yet: open it (under the lock)
            with self.connect() as con, self._no_readers:
                cursor = con.cursor()
                self._readers += 1
        outer = getattr(self._local, "block", None)
        self._local.block = next(self._blocks)
        try:
            yield cursor
        finally:
            self._local.block = outer
            with suppress(duckdb.Error):
                cursor.close()
            with self._no_readers:
                self._readers -= 1
                self._no_readers.notify_all()

    def _cursor(self) -> duckdb.DuckDBPyConnection | None:
        """A cursor of the open connection without taking the lock (None: not open), counted
        as a reader; StoreBusy while another process has asked for the file. Under the
        readers' lock, which every close also needs first, so the connection cannot be
        closed between the check and the count."""
        with self._no_readers:
            if self._yielding.is_set():
                raise StoreBusy(f"{self.path}: another saferboard process is using the database")
            if self._con is None:
                return None
            cursor = self._con.cursor()
            self._readers += 1
            return cursor

    def block(self) -> int | None:
        """The number of the block (`connect` or `reader`) the calling thread is in (None:
        in none). A request does its store work in one block, so this identifies it."""
        value: int | None = getattr(self._local, "block", None)
        return value

    @property
    def generation(self) -> tuple[int, int]:
        """Changes whenever the store may have changed: another process had the file (a new
        connection) or a `connect` block of this one (which may have written) finished."""
        return self.opened, self.changes

    def current(self) -> duckdb.DuckDBPyConnection | None:
        """The open connection, if any, without waiting for the lock: only to look up what
        was cached for it (see auth.cached_session), never to run queries on."""
        return self._con

    @property
    def busy(self) -> bool:
        """Whether another process has the file (requests now get 503)."""
        return self._yielding.is_set()

    def _start_watcher(self) -> None:
        if self._watcher is None or not self._watcher.is_alive():
            self._stop.clear()
            self._watcher = threading.Thread(target=self._watch, name="saferboard-db-handoff",
                                             daemon=True)
            self._watcher.start()

    def _watch(self) -> None:
        """Yield the file while another process asks for it; resume when none does."""
        while not self._stop.wait(self.poll_s):
            if handoff.wanted(self.path):
                self._yielding.set()  # new blocks and readers are refused from now on
                # The running block ends first, then the running readers (a pack snapshot);
                # no new one starts meanwhile.
                with self._lock, self._no_readers:
                    while self._readers:
                        self._no_readers.wait()
                    self._close()
            elif self._yielding.is_set():
                self._reopen()
            elif self._con is None:
                return

    def _reopen(self) -> None:
        """After another process had the file: open it, warm it (`warm`), then let requests
        in. Without a hook the next request opens the file, as at start."""
        if self.warm is None:
            self._yielding.clear()
            return
        try:
            con = store.connect(self.path, wait_s=0)
        except (StoreError, duckdb.Error):
            return  # the other process is still closing it: again at the next poll
        with self._lock:  # no block can start meanwhile (yielding): this orders with close()
            self._con = con
            # Counted before the warm reads: nothing read from the new file is cached under
            # the old file's fingerprint.
            self.opened += 1
        cursor = con.cursor()
        try:
            self.warm(cursor, lambda: handoff.wanted(self.path))
        except Exception:  # a view that fails now fails again on request, and says why there
            log.exception("warming the measures after reopening %s", self.path)
        finally:
            with suppress(duckdb.Error):
                cursor.close()
        if handoff.wanted(self.path):  # asked for again while warming: hand it over
            with self._lock:
                self._close()
            return
        self._yielding.clear()

    def _close(self) -> None:
        if self._con is not None:
            with suppress(duckdb.Error):
                self._con.close()
            self._con = None

    def close(self) -> None:
        """Close now (app shutdown)."""
        self._stop.set()
        with self._lock:
            self._close()


class MeasureCache:
    """Results of the measures, keyed by a fingerprint of the imported data, so that an
    import (which changes the fingerprint) is seen by the next request.

    Disabled (`--no-cache`), nothing is kept from one request to the next: every request
    computes its measures from the store. Within one request (one `Database.connect`
    block, given by `scope`), a result is still computed only once: a page asks for the
    loaded sources several times (area, dashboard, trend, peers)."""

    def __init__(self, enabled: bool, max_entries: int = 256,
                 scope: Callable[[], int | None] | None = None) -> None:
        self.enabled = enabled
        self.max_entries = max_entries
        self._items: dict[tuple[Any, ...], Any] = {}
        self._lock = threading.Lock()
        self._running: dict[tuple[Any, ...], threading.Event] = {}  # keys being computed
        self._scope = scope
        self._local = threading.local()  # per thread: (block, its results)

    def get(self, key: tuple[Any, ...], make: Callable[[], T]) -> T:
        if not self.enabled:
            return self._within_request(key, make)
        while True:
            with self._lock:
                if key in self._items:
                    value: T = self._items[key]
                    return value
                running = self._running.get(key)
                if running is None:
                    running = self._running[key] = threading.Event()
                    break
            # Another request is computing it (say, 50 clients' first views after an
            # import): wait for its result rather than computing it 50 times at once. The
            # keys nest without cycles (a dashboard needs the sources, never the reverse),
            # so a wait never waits on itself. If it failed, try again (and fail alike).
            running.wait()
        try:
            value = make()
            with self._lock:
                if len(self._items) >= self.max_entries:
                    self._items.clear()
                self._items[key] = value
        finally:
            with self._lock:
                del self._running[key]
            running.set()
        return value

    def _within_request(self, key: tuple[Any, ...], make: Callable[[], T]) -> T:
        block = self._scope() if self._scope is not None else None
        if block is None:
            return make()
        # A block is one thread's (requests run side by side on cursors): per thread.
        current: tuple[int, dict[tuple[Any, ...], Any]] | None = getattr(
            self._local, "items", None)
        if current is None or current[0] != block:
            current = self._local.items = (block, {})
        items = current[1]
        if key in items:
            value: T = items[key]
            return value
        items[key] = made = make()
        return made


def fingerprint(con: duckdb.DuckDBPyConnection) -> tuple[Any, ...]:
    """What identifies the state of the imported crime and partner data (what the cached
    measures read; governance pages are not cached). Only an import changes it, and an
    import can only run while the app's connection is closed."""
    row = store.one(con, """
        SELECT (SELECT count(*) FROM batches), (SELECT max(batch_id) FROM batches),
               (SELECT max(imported_at) FROM batches),
               (SELECT count(*) FROM partner_batches), (SELECT max(imported_at) FROM
               partner_batches)""")
    return tuple(row or ())


def governance_state(con: duckdb.DuckDBPyConnection) -> tuple[Any, ...]:
    """What identifies the state of the governance tables (projects, returns, actions,
    updates, confirmed RAG, locks, saved models): every change adds a row or a timestamp."""
    parts = []
    for table, stamp in (("gov_projects", "updated_at"), ("gov_returns", "submitted_at"),
                         ("gov_kpi_values", "NULL"), ("gov_actions", "updated_at"),
                         ("gov_action_updates", "submitted_at"),
                         ("gov_rag_confirmations", "confirmed_at"),
                         ("gov_quarter_locks", "locked_at"), ("gov_models", "saved_at")):
        parts.append(f"(SELECT count(*) FROM {table}), (SELECT max({stamp}) FROM {table})")
    row = store.one(con, "SELECT " + ", ".join(parts))
    return tuple(row or ())
