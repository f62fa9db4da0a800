"""One exception root for saferboard; the CLI and web turn these into messages.

Each subclass also inherits a builtin so callers can catch it generically, and carries
the HTTP status the web layer should answer with.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


class SaferboardError(Exception):
    """Root of every error saferboard raises on purpose."""

    http_status = 500


class InputError(SaferboardError, ValueError):
    """A user-supplied file or parameter is unusable.

    The message names the file, and the line and column where they apply, so that the
    one-line CLI error tells the analyst exactly where to look. A bad argument is named by
    the library's parameter (`param="cell_size"`), never by a CLI flag or a web field: the
    CLI and the web render it in their own words through `message`. A hint that names
    other parameters writes each as `{name}` in the message and lists it in `mentions`
    ("add {replace} to replace it", mentions=("replace",)): the CLI shows its flag, the
    web its field.
    """

    http_status = 422

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        column: str | None = None,
        param: str | None = None,
        mentions: tuple[str, ...] = (),
    ) -> None:
        self.path = str(path) if path is not None else None
        self.line = line
        self.column = column
        self.param = param
        self.mentions = mentions
        self.template = message
        self.detail = self._detail(None)  # the what, with mentions in the library's words
        super().__init__(self.message())

    def _detail(self, name: Callable[[str], str] | None) -> str:
        detail = self.template
        for m in self.mentions:
            detail = detail.replace("{" + m + "}", name(m) if name else repr(m))
        return detail

    def message(self, name: Callable[[str], str] | None = None, *,
                word: str = "parameter") -> str:
        """The one-line message: where, then what. `name` turns the parameter into the
        caller's word for it and `word` says what that is (the CLI: its flag, as a
        'column' like a file's; the web: its query or form field); by default the
        library's own parameter name."""
        where = []
        if self.path is not None:
            where.append(self.path)
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        if self.param is not None:
            where.append(f"{word} {(name or str)(self.param)!r}")
        detail = self._detail(name)
        prefix = ": ".join(where)
        return f"{prefix}: {detail}" if prefix else detail


class StoreError(SaferboardError, RuntimeError):
    """The database cannot be opened or is not a saferboard store."""

    http_status = 503


class FetchError(SaferboardError, OSError):
    """A download from the police.uk archive failed."""

    http_status = 502
