#!/usr/bin/env bash
# Long-stream soak: a song looped LOOPS times (1024 x a 35 s song = 10 h of audio) through
# the elements in one gst-launch-1.0 pipeline, faster than realtime; prints the process's
# resident memory (VmRSS) at 10 %, 50 % and the end of the run, and its CPU time. Flat memory
# means nothing grows with the stream's length.
#   GST_PLUGIN_PATH=build/gst bash tests/bench/soak.sh SONG.wav [LOOPS] [ELEMENTS]
# ELEMENTS defaults to "melspec ! chromakey ! onsetbpm ! musaugment segment-duration=5";
# add knntag with an index, e.g. "... ! knntag location=INDEX".
set -eu
song=$1
loops=${2:-1024}
elements=${3:-"melspec ! chromakey ! onsetbpm ! musaugment segment-duration=5"}
tmp=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
pid=""

# the song as raw S16 stereo 44.1 kHz, one loop per buffer of multifilesrc
gst-launch-1.0 -q filesrc location="$song" ! decodebin ! audioconvert ! audioresample ! \
  audio/x-raw,format=S16LE,rate=44100,channels=2 ! filesink location="$tmp/song.raw"
size=$(stat -c %s "$tmp/song.raw")
seconds=$(awk -v b="$size" 'BEGIN { printf "%.1f", b / 4 / 44100 }')
echo "soak: $loops x $seconds s of $song through: $elements"

gst-launch-1.0 -q multifilesrc location="$tmp/song.raw" loop=true num-buffers="$loops" \
  blocksize="$size" ! rawaudioparse use-sink-caps=false format=pcm pcm-format=s16le \
  sample-rate=44100 num-channels=2 ! audiobuffersplit output-buffer-duration=2048/44100 ! \
  $elements ! fakesink sync=false > "$tmp/out.log" 2>&1 &
pid=$!
: > "$tmp/rss"
while kill -0 "$pid" 2>/dev/null; do
  awk '/VmRSS/ { print $2 }' "/proc/$pid/status" 2>/dev/null >> "$tmp/rss" || true
  cpu=$(awk '{ print ($14 + $15) / 100 }' "/proc/$pid/stat" 2>/dev/null || echo "$cpu")
  sleep 1
done
rc=0
wait "$pid" || rc=$?
pid=""
if [ "$rc" -ne 0 ]; then
  echo "soak: the pipeline failed ($rc):"
  cat "$tmp/out.log"
  exit 1
fi
n=$(grep -c . "$tmp/rss" || true)
if [ "$n" -lt 3 ]; then
  echo "soak: too short to sample ($n s); give more loops"
  exit 1
fi
awk -v n="$n" -v cpu="${cpu:-?}" -v h="$(awk -v l="$loops" -v s="$seconds" 'BEGIN { printf "%.2f", l * s / 3600 }')" '
  { r[NR] = $1 }
  END {
    a = r[int(n * 0.1) > 0 ? int(n * 0.1) : 1]; b = r[int(n * 0.5)]; c = r[n]
    printf "soak: %s h of audio in %d s wall, CPU %s s; RSS %.1f / %.1f / %.1f MB at 10 %% / 50 %% / the end\n",
      h, n, cpu, a / 1024, b / 1024, c / 1024
  }' "$tmp/rss"
