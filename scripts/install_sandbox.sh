#!/usr/bin/env bash
# Install bubblewrap, the sandbox the isolated grader runs student code in
# (docs/grading-isolation.md). Idempotent: does nothing when bwrap is already there.
# Needs root and apt-get; elsewhere it says so and exits 0 (grading then falls back
# to a plain subprocess with resource limits, and says so loudly).
set -euo pipefail
command -v bwrap >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "install_sandbox: installing bubblewrap"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null
else
    echo "install_sandbox: not root or no apt-get: install bubblewrap yourself (apt-get install bubblewrap)" >&2
fi
