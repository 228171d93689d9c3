#!/usr/bin/python3
"""Peaks of musaugment's output: how many augmented songs go past full scale.

    /usr/bin/python3 tests/eval/eval_musaugment_peaks.py --set DIR [--n 30] [--seeds 3]
        [--chain default]
    # GST_PLUGIN_PATH must find the plugin; DIR is a rendered set (../shared/data/make_set.py)

Plays the first N songs of the set through `musaugment probability=1 seed=S chain=...` for
seeds 0..SEEDS-1 (F32 in and out) and counts the outputs whose peak passes 1.0 (what S16
output, or an S16 file written from float, would clip), with the draws of the highest; and
the outputs with samples above 0.97 (-0.26 dBFS), with the largest share of such samples in
a song: what the soft clip of session 11-14's builds bent (since session 15 an output limiter
holds every applied draw at -0.1 dBFS and below; a loud master such as `--condition master`
of eval_onsetbpm.py, e.g. --set /tmp/set1-master --n 20 --seeds 2, shows the difference).
"""
import argparse
import csv
import os

import numpy as np


def peak_of(Gst, path, seed, chain):
    pipe = Gst.parse_launch(
        f'filesrc location="{path}" ! wavparse ! audioconvert ! audio/x-raw,format=F32LE ! '
        f'musaugment probability=1 seed={seed} chain="{chain}" ! appsink name=s sync=false')
    sink = pipe.get_by_name("s")
    pipe.set_state(Gst.State.PLAYING)
    peak, desc, hot, total = 0.0, "", 0, 0
    while True:
        sample = sink.emit("try-pull-sample", 10 * Gst.SECOND)
        if sample is None:
            break
        buf = sample.get_buffer()
        ok, info = buf.map(Gst.MapFlags.READ)
        if ok:
            x = np.frombuffer(info.data, dtype=np.float32)
            if x.size:
                peak = max(peak, float(np.abs(x).max()))
                hot += int((np.abs(x) > 0.97).sum())
                total += x.size
            buf.unmap(info)
    bus = pipe.get_bus()
    while True:
        msg = bus.pop_filtered(Gst.MessageType.ELEMENT)
        if msg is None:
            break
        s = msg.get_structure()
        if s.get_name() == "musaugment":
            desc = s.get_value("description")
    pipe.set_state(Gst.State.NULL)
    return peak, desc, hot / max(total, 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", required=True)
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--chain", default="default")
    args = ap.parse_args()
    import gi
    gi.require_version("Gst", "1.0")
    gi.require_version("GstApp", "1.0")
    from gi.repository import Gst
    Gst.init(None)
    rows = list(csv.DictReader(open(os.path.join(args.set, "labels.csv"))))[:args.n]
    res = [peak_of(Gst, os.path.join(args.set, r["file"]), seed, args.chain)
           for seed in range(args.seeds) for r in rows]
    over = sorted((p, d) for p, d, _ in res if p > 1.0)[::-1]
    hot = [h for _, _, h in res if h > 0]
    print(f"chain {args.chain!r}: {len(over)} of {len(res)} augmented songs peak above full "
          f"scale; highest peak {max(p for p, _, _ in res):.3f}")
    print(f"{len(hot)} of {len(res)} have samples above 0.97 (-0.26 dBFS), up to "
          f"{100 * max(hot, default=0):.2f} % of a song's samples")
    for p, d in over[:8]:
        print(f"  {p:.2f}  {d[:160]}")


if __name__ == "__main__":
    main()
