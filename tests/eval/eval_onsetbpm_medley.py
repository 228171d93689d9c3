#!/usr/bin/python3
"""Song changes, as on the radio: how fast onsetbpm's live tempo follows the next song.

    /usr/bin/python3 tests/eval/eval_onsetbpm_medley.py --set DIR [--pairs 40] [--seed 7]

Takes pairs of songs of a rendered set (../shared/data/make_set.py, tempi more than 8 %
apart), joins the first 25 s of one to the next with a 1 s crossfade, plays each join
through `onsetbpm` (per-second `onsetbpm` messages, GST_PLUGIN_PATH must find the plugin)
and counts, over the 12 s after the start of the crossfade: seconds still reading the
first song's tempo, with no tempo, with a third tempo (neither song's: a mixture of both in
the window), and with the next song's (its label, or the level the element settles on for
it by the end); and per join the seconds until the readings stay on the next song.
"""
import argparse
import csv
import os
import random

import numpy as np

from eval_onsetbpm import run_musa
from wavio import read_wav, write_wav


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
    old = none = third = new = 0
    switch = []
    for i, (a, b) in enumerate(pairs):
        xa, rate = read_wav(os.path.join(args.set, a["file"]))
        xb, _ = read_wav(os.path.join(args.set, b["file"]))
        xa, xb = xa[:25 * rate], xb[:25 * rate]
        ramp = np.linspace(0.0, 1.0, rate)[:, None]
        y = np.concatenate([xa[:-rate], xa[-rate:] * (1 - ramp) + xb[:rate] * ramp, xb[rate:]])
        path = os.path.join(args.out, f"{i:03d}.wav")
        write_wav(path, y, rate)
        readings = run_musa(path)["readings"]
        ta, tb = float(a["tempo_bpm"]), float(b["tempo_bpm"])
        settled = readings[-2][1] if len(readings) > 1 else 0.0
        is_new = lambda v: v > 0 and (abs(v / tb - 1) <= 0.04 or abs(v / settled - 1) <= 0.04)
        after = [(t, v) for t, v in readings if 24.0 < t <= 36.0]
        for t, v in after:
            if v == 0:
                none += 1
            elif abs(v / ta - 1) <= 0.04:
                old += 1
            elif is_new(v):
                new += 1
            else:
                third += 1
        late = [t for t, v in readings if t > 24.0 and not is_new(v)]
        switch.append((max(late) if late else 24.0) - 24.0)
        print(f'{a["groove"]} {ta:g} -> {b["groove"]} {tb:g}: on the next song from '
              f'{switch[-1]:.0f} s;', " ".join(f"{v:.0f}" for t, v in after))
    n = old + none + third + new
    print(f"\n{len(pairs)} joins, {n} readings in the 12 s after each: first song's tempo {old}, "
          f"none {none}, a third tempo {third}, next song's {new}")
    print(f"seconds until the readings stay on the next song: median {np.median(switch):.0f}, "
          f"90th percentile {np.percentile(switch, 90):.0f}")


if __name__ == "__main__":
    main()
