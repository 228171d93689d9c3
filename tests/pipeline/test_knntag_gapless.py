#!/usr/bin/env python3
"""knntag learn mode over gapless playback (playbin's about-to-finish).

The first file ends without EOS: the next one starts (STREAM_START). Its
snippets must be stored under its own name, then the second file's under
the second name, and the index must hold both. (Before: the first file's
snippets were dropped at the stream change; once they were stored there,
they went under the name the URI query gave at that moment, the second
file's, and the second file's save replaced them.)
"""
import os
import subprocess
import sys
import tempfile

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

Gst.init(None)


def render(path, wave, buffers):
    subprocess.run(
        ["gst-launch-1.0", "-q", "audiotestsrc", "wave=" + wave,
         "num-buffers=%d" % buffers, "samplesperbuffer=1024", "!",
         "audio/x-raw,format=S16LE,rate=22050,channels=1", "!", "wavenc",
         "!", "filesink", "location=" + path], check=True)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        a = os.path.join(tmp, "first.wav")
        b = os.path.join(tmp, "second.wav")
        index = os.path.join(tmp, "gapless.knn")
        render(a, "ticks", 110)   # 5.1 s: two snippets of 2 s + a half one
        render(b, "pink-noise", 65)   # 3.0 s
        pb = Gst.ElementFactory.make("playbin")
        sink = Gst.ElementFactory.make("fakesink")
        sink.set_property("sync", False)
        pb.set_property("audio-sink", sink)
        pb.set_property("audio-filter", Gst.parse_bin_from_description(
            "audioconvert ! knntag mode=learn label=x window=2 location=%s"
            % index, True))
        pb.set_property("uri", Gst.filename_to_uri(a))
        nexts = [Gst.filename_to_uri(b)]

        def about_to_finish(p):
            if nexts:
                p.set_property("uri", nexts.pop(0))

        pb.connect("about-to-finish", about_to_finish)
        bus = pb.get_bus()
        pb.set_state(Gst.State.PLAYING)
        saved = []
        while True:
            msg = bus.timed_pop_filtered(
                60 * Gst.SECOND, Gst.MessageType.ELEMENT |
                Gst.MessageType.EOS | Gst.MessageType.ERROR)
            if msg is None:
                print("FAIL: timeout")
                sys.exit(1)
            if msg.type == Gst.MessageType.ERROR:
                print("FAIL: error", msg.parse_error())
                sys.exit(1)
            if msg.type == Gst.MessageType.EOS:
                break
            s = msg.get_structure()
            if s.get_name() == "knntag" and s.has_field("added"):
                saved.append((s["source"], s["added"], s["items"]))
        pb.set_state(Gst.State.NULL)
        print("saved:", saved)
        want = [("first.wav", 3, 3), ("second.wav", 2, 5)]
        if saved != want:
            print("FAIL: expected %s" % want)
            sys.exit(1)
        print("ok: both files learnt under their own names")


if __name__ == "__main__":
    main()
