"""One exception root for saferboard; the CLI and web turn these into messages.

Each subclass also inherits a builtin so callers can catch it generically, and carries
the HTTP status the web layer should answer with.
"""

from __future__ import annotations

from pathlib import Path


class SaferboardError(Exception):
    """Root of every error saferboard raises on purpose."""

    http_status = 500


class InputError(SaferboardError, ValueError):
    """A user-supplied file or parameter is unusable.

    The message names the file, and the line and column where they apply, so that the
    one-line CLI error tells the analyst exactly where to look.
    """

    http_status = 422

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        self.path = str(path) if path is not None else None
        self.line = line
        self.column = column
        self.detail = message
        where = []
        if self.path is not None:
            where.append(self.path)
        if line is not None:
            where.append(f"line {line}")
        if column is not None:
            where.append(f"column {column!r}")
        prefix = ": ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class StoreError(SaferboardError, RuntimeError):
    """The database cannot be opened or is not a saferboard store."""

    http_status = 503


class FetchError(SaferboardError, OSError):
    """A download from the police.uk archive failed."""

    http_status = 502
