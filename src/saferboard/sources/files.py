"""Finding input files: plain or gzip CSVs, folders (recursively) and zip archives.

A zip member is streamed to a temporary file one at a time, so an archive of every force's
files is never unpacked whole to disk or memory.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import os
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from saferboard.core.errors import InputError

CHUNK = 1 << 20
DATA_SUFFIXES = (".csv", ".csv.gz")


@dataclass(frozen=True)
class SourceFile:
    """One CSV to import: a file on disk, or a member of a zip archive."""

    display: str  # what messages call it: the path, or 'archive.zip!member'
    name: str  # base file name, e.g. 2023-01-metropolitan-street.csv
    path: Path  # the file on disk, or the archive
    member: str | None = None
    size: int = 0  # bytes to read (uncompressed size for a zip member)

    @property
    def gzipped(self) -> bool:
        return self.name.endswith(".gz")


@dataclass(frozen=True)
class Discovery:
    files: list[SourceFile]
    ignored: list[str]  # paths inside folders that are not data files


def is_data_name(name: str) -> bool:
    return name.lower().endswith(DATA_SUFFIXES)


def discover(paths: list[str | Path]) -> Discovery:
    """Expand files, folders and zips into the CSVs to import, in a stable order."""
    files: list[SourceFile] = []
    ignored: list[str] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise InputError("no such file or folder", path=path)
        if path.is_dir():
            for sub in sorted(p for p in path.rglob("*") if p.is_file()):
                if sub.name.lower().endswith(".zip"):
                    files.extend(_zip_members(sub))
                elif is_data_name(sub.name):
                    files.append(SourceFile(str(sub), sub.name, sub, size=sub.stat().st_size))
                else:
                    ignored.append(str(sub))
        elif path.name.lower().endswith(".zip"):
            files.extend(_zip_members(path))
        elif is_data_name(path.name):
            files.append(SourceFile(str(path), path.name, path, size=path.stat().st_size))
        else:
            raise InputError("not a .csv, .csv.gz or .zip file", path=path)
    return Discovery(files, ignored)


def _zip_members(path: Path) -> list[SourceFile]:
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except zipfile.BadZipFile:
        raise InputError("not a zip archive (or a damaged one)", path=path) from None
    return [
        SourceFile(f"{path}!{info.filename}", Path(info.filename).name, path, info.filename,
                   info.file_size)
        for info in sorted(infos, key=lambda i: i.filename)
        if not info.is_dir() and is_data_name(info.filename)
    ]


def filter_members(files: list[SourceFile], keep: set[str]) -> list[SourceFile]:
    """Only the files whose base name is in `keep` (used by fetch)."""
    return [f for f in files if f.name in keep]


@dataclass(frozen=True)
class Local:
    """A source made readable by DuckDB: a path on disk and the sha256 of its bytes."""

    path: Path
    sha256: str
    ends_with_newline: bool | None  # None when unknown (gzip)
    lines: int | None = None  # line endings counted while hashing (None when unknown)
    size: int = 0
    temporary: bool = False  # a copy of a zip member, to delete once loaded


def materialise(source: SourceFile, directory: Path) -> Local:
    """The source as a file DuckDB can read, with its hash and line count.

    A file on disk is used in place. A zip member is streamed into `directory` (the caller
    removes it once loaded) and hashed on the way, so only the members being loaded are ever
    on disk, never the whole archive.
    """
    if source.member is None:
        if source.size == 0:
            raise InputError("empty file", path=source.display)
        with open(source.path, "rb") as f:
            return _hashed(f, source, source.path, None)
    suffix = ".csv.gz" if source.gzipped else ".csv"
    fd, tmp = tempfile.mkstemp(prefix="member-", suffix=suffix, dir=directory)
    try:
        with zipfile.ZipFile(source.path) as zf, zf.open(source.member) as src, \
                os.fdopen(fd, "wb") as dst:
            local = _hashed(src, source, Path(tmp), dst)
    except (zipfile.BadZipFile, zlib.error, EOFError) as e:
        Path(tmp).unlink(missing_ok=True)
        raise InputError(f"damaged zip member: {e}", path=source.display) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if local.size == 0:
        Path(tmp).unlink(missing_ok=True)
        raise InputError("empty file", path=source.display)
    return local


def _hashed(src: IO[bytes], source: SourceFile, path: Path, copy_to: IO[bytes] | None) -> Local:
    h = hashlib.sha256()
    last = b""
    newlines = size = 0
    while chunk := src.read(CHUNK):
        h.update(chunk)
        if copy_to is not None:
            copy_to.write(chunk)
        newlines += chunk.count(b"\n")
        size += len(chunk)
        last = chunk[-1:]
    if source.gzipped:  # line endings of the compressed bytes mean nothing
        return Local(path, h.hexdigest(), None, None, size, source.member is not None)
    return Local(path, h.hexdigest(), last == b"\n", newlines, size, source.member is not None)


def read_header(local: Local, display: str) -> list[str]:
    """The first line, split on commas, BOM removed; errors name the file."""
    opener = gzip.open if str(local.path).endswith(".gz") else open
    try:
        with opener(local.path, "rb") as f:
            first = f.readline()
    except (gzip.BadGzipFile, OSError, EOFError, zlib.error) as e:
        raise InputError(f"not a readable gzip file: {e}", path=display) from None
    if not first.strip():
        raise InputError("empty file (no header line)", path=display, line=1)
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", path=display, line=1) from None
    return next(csv.reader([text.rstrip("\r\n")]))
