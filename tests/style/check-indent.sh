#!/usr/bin/env bash
# Checks that the .c sources are formatted as GStreamer 1.22's scripts/gst-indent
# formats them (GNU indent 2.2.12, run twice). Prints the diff of any file that
# is not; exit 1 then. Headers are not checked (as GStreamer's pre-commit hook). Format a file with: tests/style/check-indent.sh --fix FILE...
set -u
root=${MUSA_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
flags="--braces-on-if-line --case-brace-indentation0 --case-indentation2
  --braces-after-struct-decl-line --line-length80 --no-tabs --cuddle-else
  --dont-line-up-parentheses --continuation-indentation4 --honour-newlines
  --tab-size8 --indent-level2 --leave-preprocessor-space"
command -v indent >/dev/null || { echo "indent is not installed (apt-get install indent)"; exit 1; }
fmt () {  # in, out
  indent $flags "$1" -o "$2.1" 2>/dev/null && indent $flags "$2.1" -o "$2" 2>/dev/null
  rm -f "$2.1"
}
if [ "${1:-}" = "--fix" ]; then
  shift
  for f in "$@"; do t=$(mktemp); fmt "$f" "$t" && cat "$t" > "$f"; rm -f "$t"; done
  exit 0
fi
bad=0; n=0
tmp=$(mktemp -d)
cd "$root"
for f in $(git ls-files 'src/*.c' 'gst/*.c' 'tests/*.c' 2>/dev/null \
    || find src gst tests -name '*.c'); do
  case "$f" in *-dist.c|*-dist.h) continue;; esac
  n=$((n + 1))
  fmt "$f" "$tmp/out"
  if ! cmp -s "$f" "$tmp/out"; then
    echo "not formatted: $f"; diff -u "$f" "$tmp/out" | head -20; bad=1
  fi
done
rm -rf "$tmp"
echo "$n files checked"
exit $bad
