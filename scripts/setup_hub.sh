#!/usr/bin/env bash
# Usage: bash scripts/setup_hub.sh        (as root; idempotent, quick when nothing changed)
# Installs what the local multi-user course (deploy/local/) needs:
#   $DLSCRATCH_HUB_PREFIX/venv   (default /opt/dlscratch-hub/venv) a venv made from Debian's
#       /usr/bin/python3 with the course environment, dlscratch itself and jupyterhub. Every
#       user's single-user server runs from it, as that user, so it lives outside the repository
#       (a clone under /root is unreadable to students) and is readable by all.
#   .hub/node_modules/           configurable-http-proxy from npm (git-ignored; only the hub, as root, runs it)
#   system packages              python3-venv, nodejs/npm if missing, acl (getfacl for the tests)
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
prefix="${DLSCRATCH_HUB_PREFIX:-/opt/dlscratch-hub}"
venv="$prefix/venv"
JUPYTERHUB_PIN="jupyterhub==6.1.1"
CHP_PIN="configurable-http-proxy@5.3.0"

[ "$(id -u)" = 0 ] || { echo "setup_hub: run as root (it creates Linux users' environment under $prefix)" >&2; exit 1; }

missing=""
[ -x /usr/bin/python3 ] || missing="$missing python3"
/usr/bin/python3 -c "import ensurepip, venv" 2>/dev/null || missing="$missing python3-venv"
command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"
if [ -n "$missing" ]; then
    echo "setup_hub: installing system packages:$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi

# The venv: reinstall only when the project (pyproject, the package) or this script changed.
want="$( (cat pyproject.toml scripts/setup_hub.sh; find dlscratch -name '*.py' -print0 | sort -z | xargs -0 cat) | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$venv/.installed" 2>/dev/null)" != "$want" ]; then
    echo "setup_hub: installing the course environment and $JUPYTERHUB_PIN into $venv (a few minutes the first time)"
    mkdir -p "$prefix"
    chmod 755 "$prefix"
    [ -x "$venv/bin/python" ] || /usr/bin/python3 -m venv "$venv"
    pip() { "$venv/bin/python" -m pip "$@" 2>&1 | { grep -v "is ignored: it is neither" || true; }; }
    pip install -q --upgrade pip
    # Not editable: the students' servers must not need to read the repository.
    pip install -q --upgrade --force-reinstall --no-deps "$repo"
    pip install -q "$repo[grading]" "$JUPYTERHUB_PIN"  # grading: the instructor writes feedback (offline MathJax)
    chmod -R a+rX "$venv"
    echo "$want" > "$venv/.installed"
fi

if [ ! -x .hub/node_modules/.bin/configurable-http-proxy ]; then
    echo "setup_hub: installing $CHP_PIN into .hub/ (npm)"
    mkdir -p .hub
    npm install --prefix .hub --no-audit --no-fund --loglevel=error "$CHP_PIN" >/dev/null
fi
