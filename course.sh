#!/usr/bin/env bash
# Set up (the first time) and open the course in JupyterLab, at chapter 1 of your own copy of it.
#
# You work in my-work/ (git ignores it): the chapters and exercises are copied there the first time,
# and later runs bring in course updates without ever overwriting a file you have edited
# (scripts/my_work.py says what it did). DLSCRATCH_MY_WORK=DIR puts your copy somewhere else.
# Extra arguments go to `jupyter lab`, e.g. bash course.sh --no-browser --port 8899
set -euo pipefail
work="${DLSCRATCH_MY_WORK:-$(dirname "$0")/my-work}"
mkdir -p "$work"
work="$(cd "$work" && pwd)"
cd "$(dirname "$0")"
bash scripts/setup.sh course
.venv/bin/python scripts/my_work.py --work "$work"

# The course's environment first on PATH, for JupyterLab and everything it starts. Its terminals run
# bash with scripts/terminal.bashrc, which activates the environment after ~/.bashrc (and bash's
# login files would reset PATH), so `nbgrader validate`, `jupyter` and `python` there are the course's.
export VIRTUAL_ENV="$PWD/.venv"
export PATH="$VIRTUAL_ENV/bin:$PATH"
terminal=()
if command -v bash >/dev/null 2>&1; then
    terminal=("--ServerApp.terminado_settings=shell_command=['$(command -v bash)','--rcfile','$PWD/scripts/terminal.bashrc']")
fi
as_root=()
if [ "$(id -u)" = 0 ]; then
    as_root=(--allow-root)  # JupyterLab refuses root unless told; in a container root is the usual user
fi
# Started in my-work/, so that a terminal opens there (relative paths are resolved from here too), with
# the repository as a Jupyter config folder, so that nbgrader (the Validate button, and `nbgrader validate`
# in a terminal) reads the course's nbgrader_config.py.
export JUPYTER_CONFIG_PATH="$PWD${JUPYTER_CONFIG_PATH:+:$JUPYTER_CONFIG_PATH}"
cd "$work"
exec jupyter lab --ServerApp.root_dir="$work" ${terminal[@]+"${terminal[@]}"} ${as_root[@]+"${as_root[@]}"} "$@" \
    "$work/course/01_computational_graphs.ipynb"
