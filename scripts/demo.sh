#!/usr/bin/env bash
# Install everything and run the main job on the bundled example data.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -e .
.venv/bin/saferboard demo "$@"
