"""The pack builder's cache folder, `$XDG_CACHE_HOME/saferboard` (default
`~/.cache/saferboard`): the compiled templates and the Vega bundle (pack.py) and the charts'
SVGs (vega.py).

What is kept here runs as code (compiled templates) or goes into packs unescaped (the
bundle is a script, an SVG is markup), so it must be as private as the user's own files: a
folder is used only if it (and the cache folder above it) is the user's own and closed to
others' writes, folders are made 0700 and files 0600 whatever the umask, and files are
written whole then renamed. A file no build has used for CACHE_DAYS is removed. The cache
is an optimisation only: any error costs the work it saves, never a build. The police.uk
archives that sources.fetch keeps in `archives/` below the same folder are not touched.
"""

from __future__ import annotations

import os
import tempfile
import time
from contextlib import suppress
from pathlib import Path

CACHE_DAYS = 30  # a cached file not used for this long is removed (prune)


def folder(name: str = "") -> Path | None:
    """The cache folder, or its subfolder `name`, made if missing; None (no cache) without
    a home directory, or where it or the cache folder above it is not `private`."""
    try:  # Path.home() raises RuntimeError when there is no home directory
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "saferboard"
    except RuntimeError:
        return None
    if private(base) is None:
        return None
    return private(base / name) if name else base


def private(path: Path) -> Path | None:
    """`path`, made 0700 if missing (the folders above it with the umask); None if it cannot
    be made, is not the user's own, or others may write to it."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = path.stat()
    except OSError:
        return None
    return path if st.st_uid == os.geteuid() and not st.st_mode & 0o022 else None


def used(path: Path) -> None:
    """Mark a cached file used now, so prune keeps it (a read-only cache still serves)."""
    with suppress(OSError):
        os.utime(path)


def write_whole(path: Path, text: str) -> None:
    """A cache file written whole then renamed (a reader never sees half a file), 0600
    (mkstemp); an error only leaves it unwritten."""
    try:
        fd, partial = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=".tmp")
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(text.encode("utf-8"))
        os.replace(partial, path)
    except OSError:
        with suppress(OSError):
            os.unlink(partial)


def prune(keep: Path, pattern: str) -> None:
    """Remove, beside `keep`, the entries matching `pattern` that no build has used for
    CACHE_DAYS: such files, the files inside such folders, and those folders once empty;
    `keep` itself (the running version's file or folder) is never removed, only its unused
    files. Reads mark their files `used`, so what goes is what no recent pack drew, and the
    cache stays about the size of a month's packs. Cheap enough for every build: one stat a
    file, a few thousand files at most."""
    cutoff = time.time() - CACHE_DAYS * 86400
    with suppress(OSError):
        for entry in keep.parent.glob(pattern):
            if entry.is_dir():
                with suppress(OSError), os.scandir(entry) as files:
                    for f in files:
                        with suppress(OSError):
                            if f.is_file() and f.stat().st_mtime < cutoff:
                                os.unlink(f.path)
                if entry != keep:
                    with suppress(OSError):  # not empty
                        entry.rmdir()
            elif entry != keep:
                with suppress(OSError):
                    if entry.stat().st_mtime < cutoff:
                        entry.unlink()
