#!/usr/bin/env python3
"""Seeking through a stretching musaugment.

The outgoing timeline is the input's scaled by 1 / rate, and so is the
DURATION answer; a seek from downstream is on that timeline. A flushing seek
to the middle of the stretched duration must restart output there, and the
stream must then end at the stretched duration (before the fix, upstream got
the seek on its own timeline and the output started at the right time but
ended at start + (duration_in - start) / rate: 10.9 s of a 12.5 s stream with
rate 0.8, 8.8 s of 8.0 s with rate 1.25), and a position query must agree.
"""
import os
import subprocess
import sys
import tempfile

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

Gst.init(None)
TOL = 30 * Gst.MSECOND


def check(wav, rate):
    p = Gst.parse_launch(
        'filesrc location="%s" ! wavparse ! audioconvert ! musaugment '
        'probability=1 chain="stretch:1(rate=%s)" ! fakesink name=s sync=false'
        % (wav, rate))
    seen = {"armed": False, "first": None, "end": None}

    def probe(pad, info):
        b = info.get_buffer()
        if seen["armed"] and seen["first"] is None:
            seen["first"] = b.pts
        seen["end"] = b.pts + b.duration
        return Gst.PadProbeReturn.OK

    p.get_by_name("s").get_static_pad("sink").add_probe(
        Gst.PadProbeType.BUFFER, probe)
    p.set_state(Gst.State.PAUSED)
    p.get_state(Gst.CLOCK_TIME_NONE)
    ok, dur = p.query_duration(Gst.Format.TIME)
    assert ok and dur > 0, "no duration"
    target = dur // 2
    seen["armed"] = True
    assert p.seek_simple(Gst.Format.TIME,
                         Gst.SeekFlags.FLUSH | Gst.SeekFlags.ACCURATE, target)
    p.get_state(Gst.CLOCK_TIME_NONE)
    p.set_state(Gst.State.PLAYING)
    msg = p.get_bus().timed_pop_filtered(
        60 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    assert msg is not None and msg.type == Gst.MessageType.EOS, "no EOS"
    ok, pos = p.query_position(Gst.Format.TIME)
    p.set_state(Gst.State.NULL)
    fails = []
    if seen["first"] is None or abs(seen["first"] - target) > TOL:
        fails.append("first buffer after the seek to %d at %s" %
                     (target, seen["first"]))
    if seen["end"] is None or abs(seen["end"] - dur) > TOL:
        fails.append("stream ends at %s, duration %d" % (seen["end"], dur))
    if not ok or abs(pos - dur) > TOL:
        fails.append("position at EOS %d, duration %d" % (pos, dur))
    return fails, dur


def main():
    with tempfile.TemporaryDirectory() as tmp:
        wav = os.path.join(tmp, "in.wav")
        subprocess.run(
            ["gst-launch-1.0", "-q", "audiotestsrc", "wave=ticks",
             "num-buffers=215", "samplesperbuffer=1024", "!",
             "audio/x-raw,format=S16LE,rate=44100,channels=2", "!", "wavenc",
             "!", "filesink", "location=" + wav], check=True)
        failed = False
        for rate in ("0.8", "1.25"):
            fails, dur = check(wav, rate)
            for f in fails:
                print("FAIL: rate %s: %s" % (rate, f))
                failed = True
            if not fails:
                print("ok: rate %s: seek to the middle of %.3f s, output from "
                      "there to the end, position = duration" %
                      (rate, dur / 1e9))
        sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
