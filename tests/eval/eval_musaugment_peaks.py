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
Also the level change of each augmented song (output RMS over input RMS, dB): its spread and
the draws beyond 10 dB (a natural chain changes the level by its gain effect, -6 to +6 dB,
and little else: before session 15 the compressor had no auto makeup and the distortion's
drive raised the level, and songs came out 11-16 dB quieter or 7-11 dB louder).
"""
import argparse
import csv
import os

import numpy as np

from wavio import read_wav


def peak_of(Gst, path, seed, chain):
    pipe = Gst.parse_launch(
        f'filesrc location="{path}" ! wavparse ! audioconvert ! audio/x-raw,format=F32LE ! '
        f'musaugment probability=1 seed={seed} chain="{chain}" ! appsink name=s sync=false')
    sink = pipe.get_by_name("s")
    pipe.set_state(Gst.State.PLAYING)
    peak, desc, hot, total, energy = 0.0, "", 0, 0, 0.0
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
                energy += float(np.sum(x.astype(np.float64) ** 2))
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
    xin, _ = read_wav(path)
    e_in = float(np.mean(xin.astype(np.float64) ** 2))
    level = 10 * np.log10(max(energy / max(total, 1), 1e-20) / max(e_in, 1e-20))
    return peak, desc, hot / max(total, 1), level


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
    over = sorted((p, d) for p, d, _, _ in res if p > 1.0)[::-1]
    hot = [h for _, _, h, _ in res if h > 0]
    lv = np.array([v for _, _, _, v in res])
    print(f"chain {args.chain!r}: {len(over)} of {len(res)} augmented songs peak above full "
          f"scale; highest peak {max(p for p, _, _, _ in res):.3f}")
    print(f"{len(hot)} of {len(res)} have samples above 0.97 (-0.26 dBFS), up to "
          f"{100 * max(hot, default=0):.2f} % of a song's samples")
    print(f"level change (output over input RMS): median {np.median(lv):+.1f} dB, 5th / 95th "
          f"percentile {np.percentile(lv, 5):+.1f} / {np.percentile(lv, 95):+.1f} dB, range "
          f"{lv.min():+.1f} .. {lv.max():+.1f} dB; {int(np.sum(np.abs(lv) > 10))} of {len(lv)} "
          f"beyond 10 dB")
    for v, d in sorted(((v, d) for _, d, _, v in res if abs(v) > 10), key=lambda t: t[0])[:8]:
        print(f"  {v:+.1f} dB  {d[:160]}")
    for p, d in over[:8]:
        print(f"  {p:.2f}  {d[:160]}")


if __name__ == "__main__":
    main()
