#!/usr/bin/env bash
# Install everything (system packages too, where needed) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
# pdftotext/pdftoppm check the rendered board pack (Debian's poppler-utils).
if ! command -v pdftotext >/dev/null || ! command -v pdftoppm >/dev/null; then
    apt-get update -qq && apt-get install -y -qq poppler-utils >/dev/null
fi
# The web dashboard's browser tests drive Debian's chromium through Playwright.
if [ ! -x /usr/bin/chromium ]; then
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
python3 -m venv .venv
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -e '.[dev]'
.venv/bin/ruff check src tests benchmarks scripts
.venv/bin/mypy
.venv/bin/lint-imports
# Bytecode is cached even where the environment says not to (PYTHONDONTWRITEBYTECODE, as on
# this machine): each of the suite's ~50 Python processes (workers, pack builders, CLI runs)
# would otherwise compile saferboard and rewrite the test modules from source again.
unset PYTHONDONTWRITEBYTECODE
# Every test, slow and browser ones included (`-m "not slow and not browser"` is the quick
# loop), on every core; the demo pack's tests share one worker so the pack is built once.
.venv/bin/pytest -q -n auto --dist loadgroup "$@"
