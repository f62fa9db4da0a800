"""Data flows one way: sources -> store -> measures -> report / web / cli."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "saferboard"
FORBIDDEN = {
    "measures": {"typer", "rich", "fastapi", "jinja2", "saferboard.cli", "saferboard.web",
                 "saferboard.report"},
    "sources": {"typer", "rich", "fastapi", "jinja2", "saferboard.cli", "saferboard.measures",
                "saferboard.web", "saferboard.report"},
}


def imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_upstream_imports(package):
    files = sorted((SRC / package).glob("*.py"))
    assert files
    for f in files:
        for name in imports(f):
            for bad in FORBIDDEN[package]:
                assert name != bad and not name.startswith(bad + "."), f"{f.name} imports {name}"
