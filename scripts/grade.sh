#!/usr/bin/env bash
# Grade an assignment end to end and print a summary (solutions/README.md, "Teaching with dlscratch").
# Usage: bash scripts/grade.sh ASSIGNMENT [--jobs N] [--only-new] [--course DIR]
#   e.g. bash scripts/grade.sh 01-backward-passes --jobs 2
# Autogrades submitted/*/ASSIGNMENT/, writes feedback/ and grades.csv. Student code runs
# with your rights: see "Student code runs unsandboxed" in solutions/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/nbgrader ] || bash scripts/setup.sh grading
export PATH="$PWD/.venv/bin:$PATH"  # nbgrader runs jupyter and alembic by name
exec python -m dlscratch.grading.cli "$@"
