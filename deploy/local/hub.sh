#!/usr/bin/env bash
# The local multi-user dlscratch course, in one command (as root, on Debian/Ubuntu):
#     sudo bash deploy/local/hub.sh [--students N] [--port 8000] [--password PW] [--prefix dls]
# Installs what is missing (scripts/setup_hub.sh), creates the instructor and N students as
# Linux users, and runs JupyterHub on http://127.0.0.1:PORT until Ctrl-C, which removes the
# users, their homes and the exchange again. See docs/jupyterhub.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/setup_hub.sh
exec "${DLSCRATCH_HUB_PREFIX:-/opt/dlscratch-hub}/venv/bin/python" deploy/local/course_hub.py start "$@"
