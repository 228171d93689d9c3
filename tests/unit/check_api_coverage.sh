#!/usr/bin/env bash
# Every function declared in the installed headers is called by test_api.c
# (which calls each with NULL arguments and checks the documented result):
# a function added to a header without a NULL check in that test fails here.
# Usage: check_api_coverage.sh TEST_API_C HEADER...
set -u
test_c=$1
shift
missing=0 n=0
for fn in $(grep -hvE '^[[:space:]]*(#|/?\*)' "$@" \
    | grep -oE '\bmusa_[a-z0-9_]+ \(' | sed 's/ (//' | sort -u); do
  n=$((n + 1))
  if ! grep -qE "\\b$fn \\(" "$test_c"; then
    echo "not called by $(basename "$test_c"): $fn"
    missing=1
  fi
done
echo "$n public functions"
exit $missing
