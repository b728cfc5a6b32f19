#!/usr/bin/env bash
# Open JupyterLab for editing the graded exercises, with nbgrader's tools working: the server's
# root is the course folder (where nbgrader_config.py is), the environment's bin is on PATH
# (nbgrader runs alembic and jupyter by name), and root is allowed, as in a container.
# Usage: bash scripts/instructor.sh [NOTEBOOK] [jupyter lab options]
#   NOTEBOOK defaults to solutions/01-backward-passes/backward_passes.ipynb; e.g.
#   bash scripts/instructor.sh solutions/02-backprop/backprop.ipynb --no-browser --port 8899
# Then: Create Assignment in the right sidebar; Nbgrader > Formgrader in the menu.
set -euo pipefail
here="$PWD"
cd "$(dirname "$0")/.."
course="$PWD"
notebook="solutions/01-backward-passes/backward_passes.ipynb"
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
    notebook="$1" given="$1"
    shift
    case "$notebook" in /*) ;; *) [ -e "$here/$notebook" ] && notebook="$here/$notebook" ;; esac
    if [ "${notebook#/}" != "$notebook" ]; then  # absolute: must lie inside the course
        resolved="$(realpath "$notebook")"
        case "$resolved" in
            "$course"/*) notebook="${resolved#"$course"/}" ;;
            *) echo "instructor: $given is not inside the course folder $course" >&2; exit 1 ;;
        esac
    fi
fi
[ -e "$notebook" ] || { echo "instructor: no such notebook: $notebook" >&2; exit 1; }
bash scripts/setup.sh grading
export PATH="$course/.venv/bin:$PATH"
as_root=()
if [ "$(id -u)" = 0 ]; then
    as_root=(--allow-root)  # JupyterLab refuses root unless told; in a container root is the usual user
fi
exec jupyter lab --ServerApp.root_dir="$course" "${as_root[@]}" "$@" "$notebook"
