"""The README's set-up commands are the ones CI runs, and every command has help text."""

from __future__ import annotations

import re

import pytest

from saferboard.cli import app
from tests.conftest import ROOT, cli_ok

# Every registered command: a new one without help text or a README line fails here.
COMMANDS = sorted(str(c.name) for c in app.registered_commands)


def test_the_command_list_is_complete():
    assert {"ingest", "dashboard", "pack", "hotspots", "area-rates", "ingest-partner",
            "cohort", "costs"} <= set(COMMANDS)


def test_readme_has_exactly_two_setup_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    setup = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", setup, re.S)
    assert [b.strip() for b in blocks] == ["bash scripts/demo.sh", "bash scripts/test.sh"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "bash scripts/test.sh" in ci
    test_sh = (ROOT / "scripts" / "test.sh").read_text()
    assert "pytest" in test_sh and "pip install" in test_sh
    assert "saferboard demo" in (ROOT / "scripts" / "demo.sh").read_text()


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command):
    doc = cli_ok(command, "--help")
    assert "Usage:" in doc and len(doc.split("Options")[0].strip().splitlines()) >= 2
    readme = (ROOT / "README.md").read_text()
    assert f"saferboard {command}" in readme
