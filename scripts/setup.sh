#!/usr/bin/env bash
# Usage: bash scripts/setup.sh EXTRA    (EXTRA = course | grading | dev)
# Makes .venv with dlscratch[EXTRA] installed (both include the CPU builds of PyTorch and TensorFlow),
# plus the system packages that help where this machine lets us install them (Debian/Ubuntu as root):
#   graphviz, fonts-liberation   faster rendering and text that fits its boxes
#                                (without them the pip-installed graphviz-pure renders)
#   chromium                     the browser tests (dev only; they skip without it)
#   bubblewrap                   the sandbox that isolated grading runs student code in (grading, dev)
# and turns off JupyterLab's news announcements for this environment's JupyterLab.
set -euo pipefail
cd "$(dirname "$0")/.."
extra="${1:?usage: bash scripts/setup.sh course|grading|dev}"
start=$SECONDS

system="graphviz fonts-liberation"
[ "$extra" = dev ] && system="$system chromium"
[ "$extra" != course ] && system="$system bubblewrap"
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
# Install only when pyproject.toml or this script changed since the last install of this extra.
# dev includes course, so a current dev install serves both.
stamp=".venv/.installed-$extra"
want="$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] || [ "$(cat .venv/.installed-dev 2>/dev/null)" = "$want" ]; then
    exit 0
fi

# One pip run resolves and installs everything. Its full output goes to a log; here it shows only
# its progress: each large download, then how many packages it installs.
log=.venv/setup.log
echo "setup: installing dlscratch[$extra] into .venv: about 3 GB, a minute or two the first time (log: $log)"
if ! .venv/bin/python -m pip install --progress-bar off -e ".[$extra]" < /dev/null 2>&1 | tee "$log" | awk '
    /^ *Downloading .* MB\)$/ { size = $(NF - 1); sub(/^\(/, "", size)
                                 if (size + 0 >= 20) { name = $2; sub(/-[0-9].*/, "", name)
                                                       printf "setup:   downloading %s (%s MB)\n", name, size; fflush() } }
    /^Installing collected packages:/ { sub(/^Installing collected packages: /, ""); n = split($0, names, ", ")
                                        printf "setup:   installing %d package%s\n", n, (n == 1 ? "" : "s"); fflush() }'; then
    echo "setup: pip failed; the end of $log:" >&2
    tail -n 30 "$log" >&2
    exit 1
fi

# No news toast: JupyterLab's announcements (news fetched from the internet, and "check for
# updates") are off for every JupyterLab this environment runs (the sys-prefix labconfig).
.venv/bin/python - <<'EOF'
import json, sys
from pathlib import Path
path = Path(sys.prefix) / "etc" / "jupyter" / "labconfig" / "page_config.json"
config = json.loads(path.read_text()) if path.exists() else {}
config.setdefault("disabledExtensions", {})["@jupyterlab/apputils-extension:announcements"] = True
config.setdefault("lockedExtensions", {})  # so JupyterLab doesn't lock it: a student may turn the news on
path.parent.mkdir(parents=True, exist_ok=True)
path.write_text(json.dumps(config, indent=2) + "\n")
EOF

echo "$want" > "$stamp"
echo "setup: done in $((SECONDS - start)) s"
