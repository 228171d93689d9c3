#!/usr/bin/env bash
# Installs what is missing, builds musa, and runs its elements over a clip that
# libmusa synthesises (known tempo and key), printing what they found.
set -eu
cd "$(dirname "$0")/.."
bash tests/deps.sh
[ -d build ] || meson setup build -Dbuildtype=release >/dev/null
ninja -C build
exec meson devenv -C build gst/musa-demo "$@"
