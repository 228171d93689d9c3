#!/usr/bin/env bash
# musaugment in real pipelines: the same file with the same seed gives the same
# bytes whatever the source's block size or the way its path is written (the
# draw is keyed by the file's canonical URI), another seed gives other bytes, the
# provenance reaches the encoded file as a tag, and a bad chain fails naming
# `chain`.
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
GL="gst-launch-1.0 -q"

$GL audiotestsrc wave=ticks num-buffers=200 samplesperbuffer=1024 ! \
  audio/x-raw,format=S16LE,rate=44100,channels=2 ! wavenc ! filesink location="$tmp/in.wav"

run () {  # seed blocksize out
  $GL filesrc location="$tmp/in.wav" blocksize="$2" ! wavparse ! audioconvert ! \
    audio/x-raw,format=F32LE ! \
    musaugment seed="$1" probability=1 chain="eq:1,reverb:1,pitch:1,stretch:1" ! \
    audioconvert ! audio/x-raw,format=S16LE ! wavenc ! filesink location="$3"
}
run 7 4096 "$tmp/a.wav"
run 7 10000 "$tmp/b.wav"
run 7 4096 "$tmp/c.wav"
run 8 4096 "$tmp/d.wav"
cmp "$tmp/a.wav" "$tmp/b.wav" || { echo "FAIL: block sizes changed the output"; exit 1; }
cmp "$tmp/a.wav" "$tmp/c.wav" || { echo "FAIL: two runs differ"; exit 1; }
if cmp -s "$tmp/a.wav" "$tmp/d.wav"; then echo "FAIL: seeds 7 and 8 gave the same output"; exit 1; fi
echo "ok: reproducible across block sizes and runs, seed-dependent"

# provenance: message on the bus and the extended-comment tag in a FLAC file
out=$(gst-launch-1.0 -m filesrc location="$tmp/in.wav" ! wavparse ! audioconvert ! \
  musaugment seed=3 probability=1 chain="gain:1(db=-3),pitch:1(semitones=1)" ! \
  audioconvert ! flacenc ! filesink location="$tmp/e.flac" 2>&1)
echo "$out" | grep -q 'musaugment, timestamp=' || { echo "FAIL: no musaugment message"; exit 1; }
echo "$out" | grep -q 'key-shift=(double)1' || { echo "FAIL: key-shift missing"; exit 1; }
tags=$(gst-launch-1.0 -t filesrc location="$tmp/e.flac" ! flacparse ! fakesink 2>&1)
echo "$tags" | grep -q 'musaugment=applied=1' || { echo "FAIL: tag not in the FLAC file"; echo "$tags"; exit 1; }
echo "ok: provenance message and FLAC tag"

# a local file's draw is keyed by its canonical path, however the path is
# written ("//", a symlinked folder), through decodebin too; the FLAC tag
# names that key and gives the noise seed as the whole number drawn
mkdir "$tmp/set"
cp "$tmp/in.wav" "$tmp/set/in.wav"
ln -s "$tmp/set" "$tmp/link"
want="file://$(realpath "$tmp/set/in.wav")"
n=0
for loc in "$tmp/set/in.wav" "$tmp/set//in.wav" "$tmp/link/in.wav"; do
  n=$((n + 1))
  gst-launch-1.0 -m filesrc location="$loc" ! decodebin ! audioconvert ! \
    musaugment seed=2 probability=1 chain="noise:1,eq:1" ! audioconvert ! \
    audio/x-raw,format=S16LE ! flacenc ! filesink location="$tmp/k$n.flac" > "$tmp/k$n.log" 2>&1
  grep -q "stream-id=(string)$want," "$tmp/k$n.log" || { echo "FAIL: $loc: key not $want"; grep -o 'stream-id=[^,]*' "$tmp/k$n.log"; exit 1; }
done
for n in 2 3; do
  cmp "$tmp/k1.flac" "$tmp/k$n.flac" || { echo "FAIL: path spelling $n changed the output"; exit 1; }
done
tags=$(gst-launch-1.0 -t filesrc location="$tmp/k1.flac" ! flacparse ! fakesink 2>&1)
echo "$tags" | grep -q "musaugment=applied=1 seed=2 stream-id=$want segment=0 " || { echo "FAIL: key not in the tag"; echo "$tags"; exit 1; }
seed=$(echo "$tags" | grep -o 'noise(colour=[a-z]*,snr=[0-9.]*,seed=[0-9]*)' | head -1 | sed 's/.*seed=\([0-9]*\))/\1/')
[ -n "$seed" ] || { echo "FAIL: noise seed not a whole number in the tag"; echo "$tags"; exit 1; }
# (the message's effects: nested structures, escaped)
grep -qF "seed\\=\\(double\\)$seed\\;" "$tmp/k1.log" || { echo "FAIL: tag's noise seed $seed is not the draw's"; grep -o 'seed.=.(double.)[^,;]*' "$tmp/k1.log"; exit 1; }
echo "ok: one key ($want) and one output for three spellings; noise seed $seed exact"

# a bad chain spec is an error naming the property
if err=$($GL audiotestsrc num-buffers=2 ! musaugment chain="eq:2" ! fakesink 2>&1); then
  echo "FAIL: bad chain accepted"; exit 1
fi
echo "$err" | grep -q 'chain: position 3' || { echo "FAIL: error does not name chain: $err"; exit 1; }
echo "ok: bad chain rejected"

# a stretch scales the duration query by 1 / rate
/usr/bin/python3 - "$tmp/in.wav" <<'PY'
import sys
import gi
gi.require_version("Gst", "1.0")
from gi.repository import Gst
Gst.init(None)
def duration(chain):
    p = Gst.parse_launch('filesrc location="%s" ! wavparse ! audioconvert ! '
                         'musaugment probability=1 chain="%s" name=m ! fakesink'
                         % (sys.argv[1], chain))
    p.set_state(Gst.State.PAUSED)
    p.get_state(Gst.CLOCK_TIME_NONE)
    ok, d = p.get_by_name("m").get_static_pad("src").query_duration(Gst.Format.TIME)
    p.set_state(Gst.State.NULL)
    return d if ok else -1
d0 = duration("none")
d1 = duration("stretch:1(rate=1.25)")
if d0 <= 0 or abs(d1 - d0 / 1.25) > Gst.MSECOND:
    print("FAIL: duration %d -> %d with rate 1.25" % (d0, d1))
    sys.exit(1)
print("ok: duration %.3f s -> %.3f s with rate 1.25" % (d0 / 1e9, d1 / 1e9))
PY
