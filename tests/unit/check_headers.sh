#!/usr/bin/env bash
# The installed headers as another program sees them: each public header,
# included first and alone, compiles as C11 (-Wall -Wextra -pedantic, no
# warnings) and as C++; only installed headers are reachable (they are copied
# into a fresh tree laid out as <prefix>/include/musa-1.0); and a C++ program
# that uses one function of every header links against libmusa (extern "C").
# Usage: check_headers.sh CC CXX LIBMUSA SRCDIR HEADER...   (CXX may be "")
set -u
cc=$1 cxx=$2 lib=$3 srcdir=$4
shift 4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
inc=$tmp/include/musa-1.0
bad=0
for h in "$@"; do
  rel=$(realpath --relative-to="$srcdir" "$h")
  mkdir -p "$inc/$(dirname "$rel")"
  cp "$h" "$inc/$rel"
done
uses=""
for h in "$@"; do
  rel=$(realpath --relative-to="$srcdir" "$h")
  printf '#include <%s>\nint musa_header_check_dummy;\n' "$rel" > "$tmp/t.c"
  if ! $cc -std=c11 -Wall -Wextra -pedantic -Werror -I"$inc" -c "$tmp/t.c" \
      -o "$tmp/t.o" 2> "$tmp/err"; then
    echo "FAIL: <$rel> alone does not compile as C11:"; cat "$tmp/err"; bad=1
  fi
  fn=$(grep -vE '^[[:space:]]*(#|/?\*)' "$h" | grep -oE '\bmusa_[a-z0-9_]+ \(' | head -1 \
      | sed 's/ (//')
  if [ -n "$cxx" ]; then
    cp "$tmp/t.c" "$tmp/t.cpp"
    if ! $cxx -Wall -Wextra -pedantic -Werror -I"$inc" -c "$tmp/t.cpp" \
        -o "$tmp/t.o" 2> "$tmp/err"; then
      echo "FAIL: <$rel> alone does not compile as C++:"; cat "$tmp/err"
      bad=1
    fi
  fi
  [ -n "$fn" ] && uses="$uses$rel $fn
"
done
if [ -n "$cxx" ]; then
  {
    echo "$uses" | while read -r rel fn; do
      [ -n "$rel" ] && echo "#include <$rel>"
    done
    echo "int main () {"
    echo "  void (*volatile p) (void);"
    echo "$uses" | while read -r rel fn; do
      [ -n "$fn" ] && echo "  p = reinterpret_cast<void (*) (void)> (&$fn); (void) p;"
    done
    echo "  return 0;"
    echo "}"
  } > "$tmp/link.cpp"
  if ! $cxx -I"$inc" "$tmp/link.cpp" "$lib" \
      -Wl,--unresolved-symbols=ignore-in-shared-libs -o "$tmp/link" \
      2> "$tmp/err"; then
    echo "FAIL: a C++ program using every public header does not link" \
        "(a header without extern \"C\"):"
    grep -v '^collect2' "$tmp/err"; bad=1
  fi
fi
echo "$# headers checked"
exit $bad
