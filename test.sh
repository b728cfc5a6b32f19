#!/usr/bin/env bash
# Set up (the first time) and run every test: the library, the renderer and widgets,
# the grading pipeline, the chapter notebooks (nbval) and the browser tests.
# Extra arguments go to pytest, e.g. bash test.sh tests/core -x
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh dev
export PATH="$PWD/.venv/bin:$PATH"  # nbgrader runs jupyter and alembic by name
# One BLAS thread: on 2 cores, test processes and notebook kernels would otherwise fight over them.
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}" OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
# The chapters run under nbval: every stored output must come out the same again.
exec python -m pytest --nbval --nbval-current-env --nbval-sanitize-with course/sanitize.cfg "$@"
