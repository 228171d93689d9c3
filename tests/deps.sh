#!/usr/bin/env bash
# Installs the Debian 12 packages musa needs, only those missing.
#   bash tests/deps.sh          build + run (the demo)
#   bash tests/deps.sh --test   also what the test suite, evaluations and benchmarks use
set -eu
build_pkgs="meson ninja-build pkg-config gcc libc6-dev libgstreamer1.0-dev
  libgstreamer-plugins-base1.0-dev libfftw3-dev liborc-0.4-dev liborc-0.4-dev-bin
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good"
test_pkgs="python3 python3-numpy python3-gi python3-gst-1.0 gir1.2-gstreamer-1.0
  gir1.2-gst-plugins-base-1.0 indent valgrind gstreamer1.0-plugins-bad
  mma fluidsynth fluid-soundfont-gm python3-mido python3-mir-eval python3-sklearn
  aubio-tools sox rubberband-cli icecast2 libshout3 gstreamer1.0-libav"
pkgs=$build_pkgs
[ "${1:-}" = "--test" ] && pkgs="$build_pkgs $test_pkgs"

missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "Need root (or sudo) to install:$missing" >&2; exit 1; }
  sudo=sudo
fi
echo "Installing:$missing"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends $missing
