#!/usr/bin/env bash
# Set up (the first time) and open the course in JupyterLab, at chapter 1.
# Extra arguments go to `jupyter lab`, e.g. bash course.sh --no-browser --port 8899
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh course
as_root=()
if [ "$(id -u)" = 0 ]; then
    as_root=(--allow-root)  # JupyterLab refuses root unless told; in a container root is the usual user
fi
exec .venv/bin/jupyter lab --ServerApp.root_dir="$PWD" "${as_root[@]}" "$@" course/01_computational_graphs.ipynb
