#!/usr/bin/env bash
# Take a headless Chromium screenshot of a page, e.g. a console page of a running `kura demo`:
#
#   scripts/screenshot.sh http://127.0.0.1:8080/admin/ /tmp/admin.png
#
# Options through the environment: WINDOW_SIZE (default 1280,900), CHROMIUM (the browser binary).
# Needs Debian's chromium (`apt-get install chromium`); Japanese text needs fonts-noto-cjk.
set -euo pipefail

usage() {
    echo "usage: $0 URL OUTPUT.png" >&2
    exit 2
}
[[ $# -eq 2 ]] || usage
url=$1
out=$2
[[ -n "$url" && -n "$out" ]] || usage

chromium=${CHROMIUM:-}
if [[ -z "$chromium" ]]; then
    for candidate in /usr/bin/chromium chromium chromium-browser google-chrome; do
        if command -v "$candidate" >/dev/null 2>&1; then
            chromium=$(command -v "$candidate")
            break
        fi
    done
fi
[[ -n "$chromium" ]] || {
    echo "screenshot: chromium not found; install it with: apt-get install chromium" >&2
    exit 1
}

# Chromium resolves --screenshot against its own working directory: pass an absolute path.
mkdir -p "$(dirname "$out")"
out=$(realpath -m "$out")
profile=$(mktemp -d "${TMPDIR:-/tmp}/kura-screenshot.XXXXXX")
log="$profile.log"
trap 'rm -rf "$profile" "$log"' EXIT
rm -f "$out"

if ! timeout 60 "$chromium" --headless=new --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-dev-shm-usage --no-first-run --disable-sync --hide-scrollbars \
    --window-size="${WINDOW_SIZE:-1280,900}" --user-data-dir="$profile" \
    --screenshot="$out" "$url" >"$log" 2>&1 || [[ ! -s "$out" ]]; then
    echo "screenshot: chromium failed to capture $url; the end of its output (D-Bus noise left out):" >&2
    grep -v -e 'dbus/' -e 'unexpected operator' "$log" | tail -n 20 >&2 || true
    exit 1
fi
if command -v fc-list >/dev/null 2>&1 && [[ -z "$(fc-list :lang=ja 2>/dev/null)" ]]; then
    echo "screenshot: note: no Japanese fonts installed (apt-get install fonts-noto-cjk); CJK text shows as boxes" >&2
fi
echo "$out"
