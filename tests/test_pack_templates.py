"""The pack's compiled templates kept in the user's cache directory (report.pack
_template_cache): used when present, the same code as compiling, and never a reason for a
build to fail."""

from __future__ import annotations

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
