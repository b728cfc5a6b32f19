#!/usr/bin/env bash
# Grade assignments (or a whole class: --all) end to end and print a summary (solutions/README.md, "Teaching with dlscratch").
# Usage: bash scripts/grade.sh ASSIGNMENT... | --all  [--jobs N] [--only-new] [--no-feedback] [--report FILE] [--course DIR]
#   e.g. bash scripts/grade.sh 01-backward-passes;  bash scripts/grade.sh --all --report class-report.html
# Autogrades submitted/*/ASSIGNMENT/ in parallel, writes feedback/ and grades.csv. Student code runs
# in a sandbox where bubblewrap is installed: see "Where student code runs" in solutions/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
python=python3
if [ -x .venv/bin/nbgrader ] || ! command -v nbgrader >/dev/null 2>&1; then
    bash scripts/setup.sh grading  # quick when .venv is current
    export PATH="$PWD/.venv/bin:$PATH"  # nbgrader runs jupyter and alembic by name
    python=.venv/bin/python
fi  # else: an environment without .venv that has nbgrader, e.g. the grading container (solutions/README.md)
exec "$python" -m dlscratch.grading.cli "$@"
