#!/usr/bin/python3
"""Song changes, as on the radio: how fast onsetbpm's live tempo follows the next song.

    /usr/bin/python3 tests/eval/eval_onsetbpm_medley.py --set DIR [--pairs 40] [--seed 7]

Takes pairs of songs of a rendered set (../shared/data/make_set.py, tempi more than 8 %
apart), joins the first 25 s of one to the next with a 1 s crossfade, plays each join
through `onsetbpm` (per-second `onsetbpm` messages, GST_PLUGIN_PATH must find the plugin)
and counts, over the 12 s after the start of the crossfade: seconds still reading the
first song's tempo, with no tempo, with a third tempo (neither song's: a mixture of both in
the window), and with the next song's (its label, or the level the element settles on for
it by the end); and per join the seconds until the readings stay on the next song. The same
for GStreamer's `bpmdetect` in the same run: its reading at each second is the last
`beats-per-minute` tag it sent downstream by then.
"""
import argparse
import csv
import os
import random

import numpy as np

from eval_onsetbpm import bpmdetect_pipeline, run_musa
from wavio import read_wav, write_wav


def run_bpmdetect(path):
    """(end of the audio sent so far in s, BPM) of each tag bpmdetect pushes downstream."""
    Gst, pipe = bpmdetect_pipeline(path)
    if pipe is None:
        return None
    state = {"end": 0.0, "tags": []}

    def probe(pad, info):
        if info.type & Gst.PadProbeType.BUFFER:
            buf = info.get_buffer()
            state["end"] = (buf.pts + buf.duration) / 1e9
        elif info.get_event().type == Gst.EventType.TAG:
            ok, v = info.get_event().parse_tag().get_double("beats-per-minute")
            if ok:
                state["tags"].append((state["end"], v))
        return Gst.PadProbeReturn.OK

    pipe.get_by_name("b").get_static_pad("src").add_probe(
        Gst.PadProbeType.BUFFER | Gst.PadProbeType.EVENT_DOWNSTREAM, probe)
    pipe.set_state(Gst.State.PLAYING)
    pipe.get_bus().timed_pop_filtered(120 * Gst.SECOND,
                                      Gst.MessageType.EOS | Gst.MessageType.ERROR)
    pipe.set_state(Gst.State.NULL)
    return state["tags"]


def per_second(tags, seconds):
    """The last tag's value at the end of each second (0 before the first)."""
    out, v, k = [], 0.0, 0
    for t in range(1, seconds + 1):
        while k < len(tags) and tags[k][0] <= t + 1e-6:
            v = tags[k][1]
            k += 1
        out.append((float(t), v))
    return out


class Tally:
    def __init__(self):
        self.old = self.none = self.third = self.new = 0
        self.switch = []

    def add(self, readings, ta, tb):
        settled = readings[-2][1] if len(readings) > 1 else 0.0
        is_new = lambda v: v > 0 and (abs(v / tb - 1) <= 0.04 or abs(v / settled - 1) <= 0.04)
        after = [(t, v) for t, v in readings if 24.0 < t <= 36.0]
        for t, v in after:
            if v == 0:
                self.none += 1
            elif abs(v / ta - 1) <= 0.04:
                self.old += 1
            elif is_new(v):
                self.new += 1
            else:
                self.third += 1
        late = [t for t, v in readings if t > 24.0 and not is_new(v)]
        self.switch.append((max(late) if late else 24.0) - 24.0)
        return after

    def report(self, name):
        n = self.old + self.none + self.third + self.new
        print(f"{name}: {n} readings in the 12 s after each join: first song's tempo "
              f"{self.old}, none {self.none}, a third tempo {self.third}, next song's "
              f"{self.new}; seconds until the readings stay on the next song: median "
              f"{np.median(self.switch):.0f}, 90th percentile "
              f"{np.percentile(self.switch, 90):.0f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--set", required=True, help="directory of a rendered set")
    ap.add_argument("--pairs", type=int, default=40)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", default="/tmp/musa-eval-medley")
    args = ap.parse_args()
    with open(os.path.join(args.set, "labels.csv")) as f:
        rows = list(csv.DictReader(f))
    rng = random.Random(args.seed)
    pairs = []
    while len(pairs) < args.pairs:
        a, b = rng.sample(rows, 2)
        if abs(float(a["tempo_bpm"]) / float(b["tempo_bpm"]) - 1) > 0.08:
            pairs.append((a, b))
    os.makedirs(args.out, exist_ok=True)
    musa, peer = Tally(), Tally()
    for i, (a, b) in enumerate(pairs):
        xa, rate = read_wav(os.path.join(args.set, a["file"]))
        xb, _ = read_wav(os.path.join(args.set, b["file"]))
        xa, xb = xa[:25 * rate], xb[:25 * rate]
        ramp = np.linspace(0.0, 1.0, rate)[:, None]
        y = np.concatenate([xa[:-rate], xa[-rate:] * (1 - ramp) + xb[:rate] * ramp, xb[rate:]])
        path = os.path.join(args.out, f"{i:03d}.wav")
        write_wav(path, y, rate)
        ta, tb = float(a["tempo_bpm"]), float(b["tempo_bpm"])
        after = musa.add(run_musa(path)["readings"], ta, tb)
        tags = run_bpmdetect(path)
        if tags is not None:
            peer.add(per_second(tags, len(y) // rate), ta, tb)
        print(f'{a["groove"]} {ta:g} -> {b["groove"]} {tb:g}: on the next song from '
              f'{musa.switch[-1]:.0f} s;', " ".join(f"{v:.0f}" for t, v in after))
    print(f"\n{len(pairs)} joins")
    musa.report("musa onsetbpm")
    if peer.switch:
        peer.report("GStreamer bpmdetect")


if __name__ == "__main__":
    main()
