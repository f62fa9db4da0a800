"""`saferboard fetch`: archive selection, resumable download and import, against a loopback
HTTP server serving fixture archives built from the real example files. No internet."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import os
import socket
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pytest

from saferboard.core.categories import Categories
from saferboard.core.errors import FetchError, InputError
from saferboard.sources.fetch import FetchProgress, archives_for, download, fetch
from tests.conftest import EXAMPLES, run_cli

POLICEUK = EXAMPLES / "policeuk"
LOOPBACK_ENV = {"no_proxy": "127.0.0.1", "NO_PROXY": "127.0.0.1"}


def m(text: str) -> date:
    return date(int(text[:4]), int(text[5:7]), 1)


def example(name: str) -> bytes:
    return gzip.decompress((POLICEUK / f"{name}.csv.gz").read_bytes())


def relabel(data: bytes, old: str, new: str) -> bytes:
    """The same real rows under another month, so a second force sits inside the range."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    for r in rows[1:]:
        assert r[1] == old
        r[1] = new
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode()


def csv_rows(data: bytes) -> int:
    return sum(1 for _ in csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def build_zip(members: dict[str, bytes]) -> bytes:
    """An archive laid out like police.uk's: YYYY-MM/YYYY-MM-force-kind.csv."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(f"{name[:7]}/{name}", data)
    return buf.getvalue()


@dataclass(frozen=True)
class Fixture:
    members: dict[str, dict[str, bytes]]  # archive name -> member base name -> CSV bytes
    archives: dict[str, bytes]  # archive name -> zip bytes


@pytest.fixture(scope="module")
def archives() -> Fixture:
    recent = {
        f"{month}-metropolitan-street.csv": example(f"{month}-metropolitan-street")
        for month in ("2024-11", "2024-12", "2025-01", "2025-02")
    }
    recent["2025-01-metropolitan-outcomes.csv"] = example("2025-01-metropolitan-outcomes")
    recent["2024-12-city-of-london-street.csv"] = relabel(
        example("2020-01-city-of-london-street"), "2020-01", "2024-12")
    recent["2025-01-city-of-london-street.csv"] = relabel(
        example("2020-02-city-of-london-street"), "2020-02", "2025-01")
    older = {f"{month}-city-of-london-street.csv": example(f"{month}-city-of-london-street")
             for month in ("2020-10", "2020-11")}
    members = {"2025-02.zip": recent, "2022-02.zip": older}
    return Fixture(members, {name: build_zip(files) for name, files in members.items()})


@dataclass
class Server:
    """A loopback archive server; tests set what it serves and read what it was asked."""

    url: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Range)
    drop_after: int | None = None  # cut the next body after this many bytes
    ignore_range: bool = False  # answer 200 with the whole file even to a Range request


def _handler(state: Server) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # keep pytest output clean
            pass

        def do_GET(self) -> None:
            name = self.path.lstrip("/")
            rng = self.headers.get("Range")
            state.requests.append((self.path, rng))
            body = state.files.get(name)
            if body is None:
                self.send_error(404)
                return
            start = 0
            if rng and not state.ignore_range:
                assert rng.startswith("bytes=") and rng.endswith("-")
                start = int(rng[len("bytes="):-1])
                if start >= len(body):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(body)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            else:
                self.send_response(200)
            self.send_header("Content-Type", "application/zip")
            self.send_header("Content-Length", str(len(body) - start))
            self.end_headers()
            payload = body[start:]
            if state.drop_after is not None:
                payload = payload[:state.drop_after]
                state.drop_after = None
            self.wfile.write(payload)
            # HTTP/1.0: the connection closes after the response, short or not.

    return Handler


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    for key, value in LOOPBACK_ENV.items():  # a proxy setting must not capture loopback
        monkeypatch.setenv(key, value)
    state = Server()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/"
    # shutdown() waits for the serving loop's next poll: 0.5 s by default, at every test.
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01},
                              daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stored(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str, str], int]:
    """(force, kind, month) -> rows in the store, from the fact tables."""
    rows = con.execute(
        """
        SELECT b.force, b.kind, strftime(b.month, '%Y-%m'), count(f.batch_id)
        FROM batches b
        LEFT JOIN (SELECT batch_id FROM street UNION ALL SELECT batch_id FROM outcomes
                   UNION ALL SELECT batch_id FROM stop_search) f USING (batch_id)
        GROUP BY ALL
        """
    ).fetchall()
    return {(str(f), str(k), str(mo)): int(n) for f, k, mo, n in rows}


def expected(members: dict[str, bytes], force: str, first: str, last: str
             ) -> dict[tuple[str, str, str], int]:
    out = {}
    for name, data in members.items():
        month, rest = name[:7], name[8:-len(".csv")]
        if rest.startswith(force + "-") and first <= month <= last:
            out[(force, rest[len(force) + 1:], month)] = csv_rows(data)
    return out


# --- archives_for -------------------------------------------------------------------------

@pytest.mark.parametrize(("start", "end", "want"), [
    ("2025-02", "2025-02", ["2025-02"]),
    ("2024-12", "2025-02", ["2025-02"]),
    ("2023-11", "2024-01", ["2024-01"]),  # across a year end
    ("2022-03", "2025-02", ["2025-02"]),  # exactly 36 months: one archive
    ("2022-02", "2025-02", ["2025-02", "2022-02"]),  # 37 months: two
    ("2020-10", "2025-02", ["2025-02", "2022-02"]),
    ("2019-03", "2025-02", ["2025-02", "2022-02"]),  # 72 months: still two
    ("2019-02", "2025-02", ["2025-02", "2022-02", "2019-02"]),
])
def test_archives_for(start: str, end: str, want: list[str]) -> None:
    assert archives_for(m(start), m(end)) == [m(w) for w in want]


def test_archives_for_covers_exactly_and_minimally() -> None:
    def index(d: date) -> int:
        return d.year * 12 + d.month - 1

    end = m("2025-02")
    for back in range(0, 150):  # every span from 1 to 150 months
        start = date((index(end) - back) // 12, (index(end) - back) % 12 + 1, 1)
        got = archives_for(start, end)
        covered = {i for a in got for i in range(index(a) - 35, index(a) + 1)}
        assert set(range(index(start), index(end) + 1)) <= covered
        assert len(got) == back // 36 + 1  # ceil(months / 36)
        assert len(covered) == 36 * len(got)  # windows do not overlap


def test_archives_for_rejects_reversed_range() -> None:
    with pytest.raises(InputError, match="after"):
        archives_for(m("2025-02"), m("2025-01"))


# --- fetch -------------------------------------------------------------------------------

def test_fetch_loads_only_the_force_and_months_asked_for(
    con: duckdb.DuckDBPyConnection, cats: Categories, server: Server, archives: Fixture,
    tmp_path: Path,
) -> None:
    server.files.update(archives.archives)
    cache = tmp_path / "cache"
    seen: list[tuple[str, int, int | None]] = []
    report = fetch(con, cats, "metropolitan", m("2024-12"), m("2025-02"), server.url, cache,
                   FetchProgress(download=lambda u, d, t: seen.append((u, d, t))))

    recent = archives.members["2025-02.zip"]
    want = expected(recent, "metropolitan", "2024-12", "2025-02")
    assert len(want) == 4  # 3 street months + 1 outcomes month
    assert stored(con) == want  # row counts equal the csv module's, nothing else loaded
    assert {f.status for f in report.files} == {"loaded"}
    assert report.rows_loaded == sum(want.values())
    # The other force in the same archive and the month before the range stay out.
    assert not [k for k in stored(con) if k[0] == "city-of-london" or k[2] == "2024-11"]
    assert server.requests == [("/2025-02.zip", None)]
    size = len(archives.archives["2025-02.zip"])
    assert seen[-1] == (server.url + "2025-02.zip", size, size)
    assert sha256((cache / "2025-02.zip").read_bytes()) == sha256(archives.archives["2025-02.zip"])
    assert not list(cache.glob("*.part"))

    # Again: the cached archive is reused (no request) and every batch is identical.
    again = fetch(con, cats, "metropolitan", m("2024-12"), m("2025-02"), server.url, cache)
    assert {f.status for f in again.files} == {"skipped (identical)"}
    assert len(again.files) == 4 and again.rows_loaded == 0
    assert server.requests == [("/2025-02.zip", None)]
    assert stored(con) == want


def test_fetch_spans_two_archives(
    con: duckdb.DuckDBPyConnection, cats: Categories, server: Server, archives: Fixture,
    tmp_path: Path,
) -> None:
    server.files.update(archives.archives)
    steps: list[tuple[str, int, int]] = []
    report = fetch(con, cats, "city-of-london", m("2020-10"), m("2025-02"), server.url,
                   tmp_path / "cache",
                   FetchProgress(ingest=lambda f, d, t: steps.append((f.name, d, t))))
    want = {**expected(archives.members["2025-02.zip"], "city-of-london", "2020-10", "2025-02"),
            **expected(archives.members["2022-02.zip"], "city-of-london", "2020-10", "2025-02")}
    assert sorted(k[2] for k in want) == ["2020-10", "2020-11", "2024-12", "2025-01"]
    assert stored(con) == want
    assert [p for p, _ in server.requests] == ["/2025-02.zip", "/2022-02.zip"]
    assert [(d, t) for _, d, t in steps] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert len(report.files) == 4


def test_interrupted_download_resumes_from_the_part_file(
    con: duckdb.DuckDBPyConnection, cats: Categories, server: Server, archives: Fixture,
    tmp_path: Path,
) -> None:
    server.files.update(archives.archives)
    cache = tmp_path / "cache"
    cut = 100_000
    assert len(archives.archives["2025-02.zip"]) > 2 * cut
    server.drop_after = cut
    with pytest.raises(FetchError, match="run again to resume") as e:
        fetch(con, cats, "metropolitan", m("2024-12"), m("2025-02"), server.url, cache)
    assert "\n" not in str(e.value) and server.url + "2025-02.zip" in str(e.value)
    part = cache / "2025-02.zip.part"
    assert part.stat().st_size == cut
    assert not (cache / "2025-02.zip").exists()
    assert stored(con) == {}

    report = fetch(con, cats, "metropolitan", m("2024-12"), m("2025-02"), server.url, cache)
    assert server.requests == [("/2025-02.zip", None), ("/2025-02.zip", f"bytes={cut}-")]
    assert sha256((cache / "2025-02.zip").read_bytes()) == sha256(archives.archives["2025-02.zip"])
    assert not part.exists()
    assert len(report.files) == 4
    assert stored(con) == expected(archives.members["2025-02.zip"], "metropolitan", "2024-12",
                                   "2025-02")


def test_server_that_ignores_range_restarts_from_zero(
    server: Server, archives: Fixture, tmp_path: Path
) -> None:
    data = archives.archives["2025-02.zip"]
    server.files["a.zip"] = data
    server.ignore_range = True
    dest = tmp_path / "a.zip"
    Path(str(dest) + ".part").write_bytes(b"stale bytes from another file")
    download(server.url + "a.zip", dest)
    assert server.requests == [("/a.zip", "bytes=29-")]
    assert sha256(dest.read_bytes()) == sha256(data)


def test_416_on_a_whole_part_file_completes_without_a_body(
    server: Server, archives: Fixture, tmp_path: Path
) -> None:
    data = archives.archives["2022-02.zip"]
    server.files["a.zip"] = data
    dest = tmp_path / "a.zip"
    Path(str(dest) + ".part").write_bytes(data)
    download(server.url + "a.zip", dest)
    assert server.requests == [("/a.zip", f"bytes={len(data)}-")]
    assert sha256(dest.read_bytes()) == sha256(data)


def test_part_longer_than_the_file_starts_again(
    server: Server, archives: Fixture, tmp_path: Path
) -> None:
    data = archives.archives["2022-02.zip"]
    server.files["a.zip"] = data
    dest = tmp_path / "a.zip"
    Path(str(dest) + ".part").write_bytes(data + b"more than the server has")
    download(server.url + "a.zip", dest)
    assert server.requests == [("/a.zip", f"bytes={len(data) + 24}-"), ("/a.zip", None)]
    assert sha256(dest.read_bytes()) == sha256(data)


def test_non_zip_answer_is_a_fetch_error_and_is_not_cached(
    con: duckdb.DuckDBPyConnection, cats: Categories, server: Server, tmp_path: Path
) -> None:
    server.files["2025-02.zip"] = b"<html><body>Down for maintenance</body></html>\n"
    cache = tmp_path / "cache"
    with pytest.raises(FetchError, match="not a zip archive") as e:
        fetch(con, cats, "metropolitan", m("2025-01"), m("2025-02"), server.url, cache)
    assert server.url + "2025-02.zip" in str(e.value)
    assert list(cache.iterdir()) == []  # neither the file nor a .part to resume


def test_missing_archive_is_a_fetch_error(server: Server, tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="HTTP 404"):
        download(server.url + "2099-01.zip", tmp_path / "2099-01.zip")


def test_unknown_force_lists_the_forces_in_the_archive(
    con: duckdb.DuckDBPyConnection, cats: Categories, server: Server, archives: Fixture,
    tmp_path: Path,
) -> None:
    server.files.update(archives.archives)
    with pytest.raises(InputError, match="west-midlands") as e:
        fetch(con, cats, "west-midlands", m("2025-01"), m("2025-02"), server.url,
              tmp_path / "cache")
    assert "city-of-london, metropolitan" in str(e.value)
    assert stored(con) == {}


@pytest.mark.parametrize(("force", "start", "end", "match"), [
    ("Metropolitan", "2025-01", "2025-02", "invalid force"),
    ("../etc", "2025-01", "2025-02", "invalid force"),
    ("metropolitan", "2025-02", "2025-01", "after"),
])
def test_bad_arguments_are_input_errors_before_any_request(
    con: duckdb.DuckDBPyConnection, cats: Categories, server: Server, tmp_path: Path,
    force: str, start: str, end: str, match: str,
) -> None:
    with pytest.raises(InputError, match=match):
        fetch(con, cats, force, m(start), m(end), server.url, tmp_path / "cache")
    assert server.requests == []


# --- CLI -----------------------------------------------------------------------------------

def test_cli_fetch(server: Server, archives: Fixture, tmp_path: Path, db: Path) -> None:
    server.files.update(archives.archives)
    run = run_cli("fetch", "--force", "metropolitan", "--from", "2024-12", "--to", "2025-02",
                  "--base-url", server.url, "--db", db, "--cache", tmp_path / "cache",
                  env={**os.environ, **LOOPBACK_ENV})
    assert run.code == 0, run.stderr
    total = sum(expected(archives.members["2025-02.zip"], "metropolitan", "2024-12",
                         "2025-02").values())
    assert f"{total:,} rows loaded from 4 file(s); 0 identical file(s) skipped." in run.stdout


def test_cli_unreachable_server_is_one_line_and_leaves_no_store(
    tmp_path: Path, db: Path
) -> None:
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens on it
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    run = run_cli("fetch", "--force", "metropolitan", "--from", "2025-01", "--to", "2025-02",
                  "--base-url", url, "--db", db, "--cache", tmp_path / "cache",
                  env={**os.environ, **LOOPBACK_ENV})
    assert run.code != 0
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith(f"error: {url}2025-02.zip: ")
    assert "refused" in lines[0].lower()
    assert not db.exists()


def test_cli_rejects_bad_month(tmp_path: Path, db: Path) -> None:
    run = run_cli("fetch", "--force", "metropolitan", "--from", "2025-13", "--to", "2025-02",
                  "--db", db, "--cache", tmp_path / "cache")
    assert run.code != 0 and "YYYY-MM" in run.stderr
    assert not db.exists()
