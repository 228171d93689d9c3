#!/usr/bin/env bash
# gst-inspect-1.0 musa must read as a manual: every element with its long
# description, every property with a blurb, nothing unnamed.
set -u
out=$(gst-inspect-1.0 musa) || { echo "gst-inspect-1.0 musa failed"; exit 1; }
echo "$out"
fail=0
for e in $(echo "$out" | sed -n 's/^  \([a-z]*\): .*/\1/p'); do
  doc=$(gst-inspect-1.0 "$e") || { echo "cannot inspect $e"; fail=1; continue; }
  echo "$doc" | grep -q "Long-name" || { echo "$e: no long name"; fail=1; }
  echo "$doc" | grep -q "Description" || { echo "$e: no description"; fail=1; }
  if echo "$doc" | grep -E '^  [a-z-]+ +: *$' ; then
    echo "$e: a property without a blurb"; fail=1
  fi
  if echo "$doc" | grep -q "(null)"; then
    echo "$e: (null) in its documentation"; fail=1
  fi
done
exit $fail
