#!/usr/bin/env bash
# Usage: bash scripts/setup.sh EXTRA    (EXTRA = course | dev)
# Makes .venv with dlscratch[EXTRA] installed, plus the system packages that help
# where this machine lets us install them (Debian/Ubuntu as root):
#   graphviz, fonts-liberation   faster rendering and text that fits its boxes
#                                (without them the pip-installed graphviz-pure renders)
#   chromium                     the browser tests (dev only; they skip without it)
set -euo pipefail
cd "$(dirname "$0")/.."
extra="${1:?usage: bash scripts/setup.sh course|dev}"

system="graphviz fonts-liberation"
[ "$extra" = dev ] && system="$system chromium"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    missing=""
    for pkg in $system; do dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"; done
    if [ -n "$missing" ]; then
        echo "setup: installing system packages:$missing"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
    fi
else
    echo "setup: not root or no apt-get, so not installing: $system (see the README)"
fi

python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
# Reinstall only when pyproject.toml changed since the last install of this extra.
# dev includes course, so a current dev install serves both.
stamp=".venv/.installed-$extra"
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] && [ "$(cat .venv/.installed-dev 2>/dev/null)" != "$want" ]; then
    echo "setup: installing dlscratch[$extra] into .venv (a minute or two the first time)"
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e ".[$extra]"
    echo "$want" > "$stamp"
fi
