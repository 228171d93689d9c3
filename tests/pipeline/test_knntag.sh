#!/usr/bin/env bash
# knntag from the command line: musa-index build / list / verify / remove on a CSV of
# synthetic recordings, a damaged index refused, knntag mode=learn through gst-launch, and
# tagging with gst-launch -m (messages and the genre tag).
set -u
build=${MUSA_BUILD_ROOT:-build}
tool="$build/gst/musa-index"
work=$(mktemp -d /tmp/musa-knntag-XXXXXX)
trap 'rm -rf "$work"' EXIT
# musa-index is built unless -Dtools=disabled
[ -x "$tool" ] || { echo "SKIP: $tool was not built (-Dtools)"; exit 77; }
fail () { echo "FAIL: $*"; exit 1; }

# two kinds of sound, three recordings each (8 s, 44.1 kHz stereo WAV)
make () {  # name, audiotestsrc properties
  gst-launch-1.0 -q audiotestsrc $2 num-buffers=345 samplesperbuffer=1024 ! \
    audio/x-raw,rate=44100,channels=2 ! audioconvert ! wavenc ! \
    filesink location="$work/$1.wav" || fail "cannot render $1"
}
make tone1 "wave=sine freq=440 volume=0.5"
make tone2 "wave=sine freq=660 volume=0.4"
make tone3 "wave=sine freq=523 volume=0.3"
make noise1 "wave=pink-noise volume=0.5"
make noise2 "wave=white-noise volume=0.3"
make noise3 "wave=pink-noise volume=0.2"
cat > "$work/list.csv" <<EOF
file,labels
tone1.wav,"tonal,quiet"
tone2.wav,tonal
noise1.wav,"noisy,loud"
noise2.wav,noisy
EOF

out=$("$tool" build "$work/i.knn" "$work/list.csv" --jobs 2 --window 4 2>/dev/null) || fail "build: $out"
echo "$out"
echo "$out" | grep -q "8 items from 4 files" || fail "expected 8 items (two 4 s snippets per 8 s file)"
"$tool" verify "$work/i.knn" | grep -q "OK: embedding musa-builtin (dimension 128, version 1), 8 items, 4 labels" \
  || fail "verify"
[ "$("$tool" list "$work/i.knn" | grep -c 'tone1.wav#')" = 2 ] || fail "list"
"$tool" list "$work/i.knn" | grep -q $'^0\ttone1.wav#0\ttonal,quiet$' || fail "list format"

# an index that cannot be written is refused before any file is decoded (it was
# refused only after decoding them all)
printf 'file,labels\nmissing.wav,a\n' > "$work/missing.csv"
"$tool" build "$work/no-such-dir/x.knn" "$work/missing.csv" 2>"$work/err" \
  && fail "build into a missing directory succeeded"
grep -q "cannot create a temporary file" "$work/err" || fail "build message: $(cat "$work/err")"
grep -q "missing.wav" "$work/err" && fail "build decoded before checking the index: $(cat "$work/err")"
# a list saved as "CSV UTF-8" (a byte order mark, CRLF) reads as the same list (the
# header, behind the mark, was taken for a file)
printf '\xef\xbb\xbffile,labels\r\ntone1.wav,"tonal,quiet"\r\n' > "$work/bom.csv"
out=$("$tool" build "$work/bom.knn" "$work/bom.csv" --window 4 2>"$work/err") \
  || fail "build from a CSV with a byte order mark: $(cat "$work/err")"
echo "$out" | grep -q "2 items from 1 files added (0 failed)" || fail "BOM list: $out"
# when no listed file can be read, no index is written (an empty one was)
"$tool" build "$work/none.knn" "$work/missing.csv" >/dev/null 2>&1 && fail "build of nothing succeeded"
[ -e "$work/none.knn" ] && fail "build wrote an index of nothing"

# a damaged copy is refused by verify and by the element
cp "$work/i.knn" "$work/bad.knn"
printf '\x55' | dd of="$work/bad.knn" bs=1 seek=300 conv=notrunc status=none
"$tool" verify "$work/bad.knn" 2>"$work/err" && fail "verify accepted a damaged index"
grep -q "checksum" "$work/err" || fail "verify message: $(cat "$work/err")"
gst-launch-1.0 filesrc location="$work/tone3.wav" ! decodebin ! audioconvert ! \
  knntag location="$work/bad.knn" ! fakesink >"$work/log" 2>&1 && fail "element accepted a damaged index"
grep -qi "damaged index" "$work/log" || fail "element message: $(cat "$work/log")"

# learn one more file through the element, then remove a source with the tool
gst-launch-1.0 -m filesrc location="$work/noise3.wav" ! decodebin ! audioconvert ! \
  knntag mode=learn label=noisy window=4 location="$work/i.knn" ! fakesink >"$work/log" 2>&1 \
  || fail "learn: $(tail -3 "$work/log")"
grep -q "added=(uint)2, items=(guint64)10" "$work/log" || fail "learn message: $(grep knntag "$work/log")"
"$tool" remove "$work/i.knn" noise2.wav | grep -q "2 items removed, 8 left" || fail "remove"
"$tool" verify "$work/i.knn" >/dev/null || fail "verify after remove"
ls "$work" | grep -q "tmp-" && fail "temporary files left behind"

# tag: periodic votes, the whole-stream vote and the genre tag
for f in tone3:tonal noise3:noisy; do
  file=${f%%:*}; want=${f##*:}
  gst-launch-1.0 -m filesrc location="$work/$file.wav" ! decodebin ! audioconvert ! \
    knntag location="$work/i.knn" k=3 window=4 interval=2000000000 ! fakesink >"$work/log" 2>&1 \
    || fail "tag $file"
  grep -q "knntag, .*label=(string)$want, .*final=(boolean)true" "$work/log" \
    || fail "$file: whole-stream vote is not $want: $(grep 'final=(boolean)true' "$work/log")"
  [ "$(grep -c 'knntag, timestamp' "$work/log")" -ge 4 ] || fail "$file: too few votes"
  # gst-launch prints the tag list escaped: genre\=\(string\)tonal
  grep -qF 'genre\=\(string\)'"$want" "$work/log" || fail "$file: no genre tag $want"
  grep -q "nan\|inf" "$work/log" && fail "$file: NaN or Inf in a message"
done
echo "PASS"
