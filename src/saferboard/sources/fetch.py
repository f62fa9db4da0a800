"""Download data.police.uk's monthly archives and import one force's months from them.

police.uk publishes one zip per month, BASE/YYYY-MM.zip, holding every force's files for the
36 months up to and including that month (members 'YYYY-MM/YYYY-MM-force-kind.csv'). An
archive is well over a gigabyte, so downloads are resumable: bytes go to 'NAME.zip.part'
and a re-run continues from its size with an HTTP Range request; only a complete, valid
zip is renamed to 'NAME.zip', so a file without '.part' in the cache is always whole and is
reused without asking the server again.
"""

from __future__ import annotations

import http.client
import os
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

import duckdb

from saferboard import __version__
from saferboard.core.categories import Categories
from saferboard.core.dates import from_index, month_index
from saferboard.core.errors import FetchError, InputError
from saferboard.sources import ingest as ingest_mod
from saferboard.sources.files import SourceFile, discover, filter_members
from saferboard.sources.policeuk import FILENAME, KINDS

DEFAULT_BASE_URL = "https://data.police.uk/data/archive/"
ARCHIVE_MONTHS = 36  # an archive for month M holds M-35..M
CHUNK = 1 << 18
TIMEOUT = 60.0  # seconds without a byte before giving up (the .part is kept for a re-run)
FORCE_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")

DownloadProgress = Callable[[int, int | None], None]  # bytes so far, total bytes (None: unknown)


@dataclass(frozen=True)
class FetchProgress:
    """Callbacks a front end can hang progress bars on; either may be None."""

    download: Callable[[str, int, int | None], None] | None = None  # url, bytes, total bytes
    ingest: Callable[[SourceFile, int, int], None] | None = None  # file done, files done, total


def default_cache_dir() -> Path:
    """$SAFERBOARD_CACHE, else ~/.cache/saferboard/archives."""
    env = os.environ.get("SAFERBOARD_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "saferboard" / "archives"


def archives_for(start: date, end: date) -> list[date]:
    """The fewest archive months whose 36-month windows cover start..end, newest first.

    The archive for `end` comes first (it has police.uk's latest revision of those months),
    then every 36 months back, so the windows abut without overlapping.
    """
    first, last = month_index(start), month_index(end)
    if first > last:
        raise InputError(f"the start {start:%Y-%m} is after the end {end:%Y-%m}", param="start")
    archives = [from_index(last)]
    while month_index(archives[-1]) - (ARCHIVE_MONTHS - 1) > first:  # ends: each step goes 36 back
        archives.append(from_index(month_index(archives[-1]) - ARCHIVE_MONTHS))
    return archives


def archive_url(base_url: str, month: date) -> str:
    return base_url.rstrip("/") + f"/{month:%Y-%m}.zip"


def download(url: str, dest: Path, progress: DownloadProgress | None = None) -> Path:
    """Fetch `url` to `dest`, resuming from `dest`.part; an existing `dest` is reused as is.

    Raises FetchError (one line: the URL and why) on network or HTTP failure, keeping the
    .part file so the next call resumes, and when the result is not a zip archive.
    """
    if dest.is_file():  # only ever created by the rename below, so it is complete
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    try:
        # Two rounds at most: the second only after the server refused to resume (a changed
        # file or a Range it did not honour) and the .part was discarded.
        for _ in range(2):
            if _transfer(url, part, progress):
                break
        else:
            raise FetchError(f"{url}: the server keeps refusing to resume the download")
    except HTTPError as e:
        hint = " (not published yet?)" if e.code == 404 else ""
        raise FetchError(f"{url}: HTTP {e.code} {e.reason}{hint}{_resume_hint(part)}") from None
    except URLError as e:
        raise FetchError(f"{url}: {_reason(e.reason)}{_resume_hint(part)}") from None
    except (OSError, http.client.HTTPException) as e:
        if isinstance(e, FetchError):
            raise
        raise FetchError(f"{url}: {_reason(e)}{_resume_hint(part)}") from None
    if not zipfile.is_zipfile(part):
        # A bad file must not sit in the cache to be reused (or resumed) by the next run.
        part.unlink(missing_ok=True)
        raise FetchError(f"{url}: the server's answer is not a zip archive")
    part.replace(dest)
    return dest


def _transfer(url: str, part: Path, progress: DownloadProgress | None) -> bool:
    """One request appending to `part`. False when the .part was discarded to start over."""
    offset = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": f"saferboard/{__version__}"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        resp = urlopen(Request(url, headers=headers), timeout=TIMEOUT)
    except HTTPError as e:
        if e.code != 416 or not offset:
            raise
        # 416: nothing at or after `offset`. The .part is whole if the size the server
        # reports ('bytes */N') matches; otherwise the file changed, so start again.
        size = _total_from(e.headers.get("Content-Range"))
        e.close()
        if size is None or size == offset:
            return True
        part.unlink()
        return False
    with resp:
        if offset and resp.status == 206:
            start, total = _content_range(resp.headers.get("Content-Range"))
            if start != offset:  # resumed from elsewhere: the bytes cannot be appended
                part.unlink()
                return False
        else:  # 200 (also to a Range request some servers ignore): the whole body follows
            offset = 0
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
        done = offset
        with open(part, "ab" if offset else "wb") as f:
            if progress:
                progress(done, total)
            while chunk := resp.read(CHUNK):
                f.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
    if total is not None and done < total:
        # urllib returns a short body, not an error, when the connection drops early.
        raise FetchError(f"{url}: connection closed after {done:,} of {total:,} bytes; "
                         "run again to resume")
    return True


_RANGE = re.compile(r"bytes (\d+)-\d+/(\d+|\*)")


def _content_range(value: str | None) -> tuple[int | None, int | None]:
    m = _RANGE.fullmatch((value or "").strip())
    if not m:
        return None, None
    return int(m[1]), int(m[2]) if m[2].isdigit() else None


def _total_from(value: str | None) -> int | None:
    m = re.fullmatch(r"bytes \*/(\d+)", (value or "").strip())
    return int(m[1]) if m else None


def _reason(reason: object) -> str:
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror  # 'Connection refused', without '[Errno 111]'
    text = str(reason).strip()
    return text.splitlines()[0] if text else type(reason).__name__


def _resume_hint(part: Path) -> str:
    if part.exists() and part.stat().st_size:
        return f" ({part.stat().st_size:,} bytes kept in {part}; run again to resume)"
    return ""


def wanted_names(force: str, start: date, end: date) -> set[str]:
    """Base names of every police.uk file of `force` for the months start..end."""
    return {
        f"{from_index(i):%Y-%m}-{force}-{kind}.csv"
        for i in range(month_index(start), month_index(end) + 1)
        for kind in KINDS
    }


def _per_url(
    callback: Callable[[str, int, int | None], None] | None, url: str
) -> DownloadProgress | None:
    if callback is None:
        return None
    return lambda done, total: callback(url, done, total)


def fetch(
    con: duckdb.DuckDBPyConnection,
    categories: Categories,
    force: str,
    start: date,
    end: date,
    base_url: str = DEFAULT_BASE_URL,
    cache_dir: Path | None = None,
    progress: FetchProgress | None = None,
) -> ingest_mod.IngestReport:
    """Download the archives covering start..end and import `force`'s files for those
    months (every kind present), all in one transaction."""
    if not FORCE_SLUG.fullmatch(force):
        raise InputError(f"invalid force {force!r}: use the police.uk slug, lowercase with "
                         "hyphens (e.g. metropolitan, city-of-london)")
    if urlsplit(base_url).scheme not in ("http", "https"):
        raise InputError(f"must be an http(s) URL, got {base_url!r}", param="base_url")
    start, end = from_index(month_index(start)), from_index(month_index(end))
    archives = archives_for(start, end)
    cache = cache_dir if cache_dir is not None else default_cache_dir()
    progress = progress or FetchProgress()
    keep = wanted_names(force, start, end)
    selected: dict[str, SourceFile] = {}
    forces_seen: set[str] = set()
    for month in archives:  # newest first: a month in two archives takes the newer copy
        url = archive_url(base_url, month)
        path = download(url, cache / f"{month:%Y-%m}.zip", _per_url(progress.download, url))
        members = discover([path]).files
        forces_seen.update(m["force"] for f in members if (m := FILENAME.match(f.name)))
        for f in filter_members(members, keep):
            selected.setdefault(f.name, f)
    if not selected:
        shown = sorted(forces_seen)
        listed = ", ".join(shown[:8]) + (f" and {len(shown) - 8} more" if len(shown) > 8 else "")
        raise InputError(
            f"no files for force {force!r} in {start:%Y-%m}..{end:%Y-%m} in "
            + ", ".join(archive_url(base_url, m) for m in archives)
            + (f"; forces there include {listed}" if shown else "; it holds no police.uk files")
        )
    files = [selected[name] for name in sorted(selected)]
    on_file = progress.ingest
    done = 0

    def imported(f: SourceFile) -> None:
        nonlocal done
        done += 1
        if on_file:
            on_file(f, done, len(files))

    return ingest_mod.ingest(con, None, categories, files=files, progress=imported)
