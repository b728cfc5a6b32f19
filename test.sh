#!/usr/bin/env bash
# Set up (the first time) and run every test: the library, the renderer and widgets,
# the grading pipeline, the chapter notebooks (nbval) and the browser tests.
# Extra arguments go to pytest, e.g. bash test.sh tests/core -x
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh dev
export PATH="$PWD/.venv/bin:$PATH"  # nbgrader runs jupyter and alembic by name
exec python -m pytest "$@"
