"""The pack's compiled templates kept in the user's cache directory (report.pack
_template_cache): used when present, the same code as compiling, and never a reason for a
build to fail."""

from __future__ import annotations

import os
import time
from pathlib import Path

import jinja2
import pytest

from saferboard.report import pack

NAMES = ("pack.html.j2", "_people.html.j2", "_governance.html.j2", "_cases.html.j2")


def _code(env: jinja2.Environment) -> dict[str, bytes]:
    return {n: env.get_template(n).root_render_func.__code__.co_code for n in NAMES}


def _compiled_without_cache() -> dict[str, bytes]:
    env = pack._environment()
    env.bytecode_cache = None
    return _code(env)


def test_compiled_templates_are_kept_and_read_back(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = _code(pack._environment())  # compiles and writes
    kept = list((tmp_path / "saferboard").glob("pack-templates-*/*.cache"))
    assert len(kept) == len(NAMES)

    def no_compiling(*args: object, **kwargs: object) -> None:
        raise AssertionError("compiled again instead of read from the cache")

    with monkeypatch.context() as m:
        m.setattr(jinja2.Environment, "compile", no_compiling)
        again = _code(pack._environment())
    assert again == first == _compiled_without_cache()


def test_a_damaged_cache_is_compiled_again(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    _code(pack._environment())
    for f in (tmp_path / "saferboard").glob("pack-templates-*/*.cache"):
        f.write_bytes(b"not a compiled template")
    assert _code(pack._environment()) == _compiled_without_cache()


def test_no_usable_cache_directory_compiles_as_before(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    env = pack._environment()
    assert env.bytecode_cache is None
    assert _code(env) == _compiled_without_cache()


def test_a_template_folder_others_may_write_to_is_not_used(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Compiled templates are code the build runs: a folder that is not the user's own and
    closed to others' writes (where anyone could plant one) is not used, as for the charts'
    SVGs (test_chart_specs)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    _code(pack._environment())
    (folder,) = (tmp_path / "saferboard").glob("pack-templates-*")
    assert folder.stat().st_mode & 0o777 == 0o700  # whatever the umask
    folder.chmod(0o777)
    assert pack._environment().bytecode_cache is None
    folder.chmod(0o700)
    (tmp_path / "saferboard").chmod(0o777)  # the folder above it, where it could be swapped
    assert pack._environment().bytecode_cache is None


def test_other_versions_folders_unused_for_30_days_are_removed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each version of pack.py compiles into a folder of its own; a build removes the others'
    once nothing has used them for 30 days, and keeps its own, whose files it uses."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    _code(pack._environment())
    (current,) = (tmp_path / "saferboard").glob("pack-templates-*")
    old, recent = time.time() - 31 * 86400, time.time() - 29 * 86400
    for f in current.iterdir():
        os.utime(f, (recent, recent))
    stale, kept = (tmp_path / "saferboard" / f"pack-templates-{n}" for n in ("0" * 16, "1" * 16))
    for folder, when in ((stale, old), (kept, recent)):
        folder.mkdir()
        (folder / "__jinja2_x.cache").write_bytes(b"compiled")
        os.utime(folder / "__jinja2_x.cache", (when, when))
    archives = tmp_path / "saferboard" / "archives"  # police.uk downloads (fetch): not ours
    archives.mkdir()
    (archives / "2016-01.zip").write_bytes(b"zip")
    os.utime(archives / "2016-01.zip", (old, old))

    def no_compiling(*args: object, **kwargs: object) -> None:
        raise AssertionError("compiled again instead of read from the cache")

    with monkeypatch.context() as m:
        m.setattr(jinja2.Environment, "compile", no_compiling)
        _code(pack._environment())  # reads its own files, and so marks them used
    assert not stale.exists() and (kept / "__jinja2_x.cache").exists()
    assert len(list(current.iterdir())) == len(NAMES)
    assert all(f.stat().st_mtime > recent + 86400 for f in current.iterdir())
    assert (archives / "2016-01.zip").exists()
