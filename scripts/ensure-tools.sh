#!/usr/bin/env bash
# Installs the system tools the test suite drives for real, when they are missing.
set -euo pipefail

need=()
command -v git >/dev/null 2>&1 || need+=(git)
# The dashboard browser test drives Debian's chromium through Playwright (never
# `playwright install`), so it must be at exactly this path.
[ -x /usr/bin/chromium ] || need+=(chromium)
# The hub suite runs against a throwaway PostgreSQL cluster started from Debian's server binaries.
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)

if ((${#need[@]})); then
    if command -v apt-get >/dev/null 2>&1; then
        sudo_cmd=""
        [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
        echo "installing: ${need[*]}"
        $sudo_cmd apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need[@]}"
    else
        echo "missing tools: ${need[*]} (no apt-get to install them)" >&2
        exit 1
    fi
fi
