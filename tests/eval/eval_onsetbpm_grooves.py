#!/usr/bin/python3
"""Tempo of drum grooves in styles the rendered set does not have, beside aubio and bpmdetect.

    /usr/bin/python3 tests/eval/eval_onsetbpm_grooves.py [--variants 2] [--jobs 2]
    # GST_PLUGIN_PATH must find the plugin (e.g. GST_PLUGIN_PATH=build/gst)

The rendered set (../shared/data/make_set.py) is MMA's accompaniment styles: no hip-hop, no
dance music, no fast jazz played by a drummer. This synthesises 30 s grooves of such
styles with numpy (kick, snare, hi-hat, ride, bass; each hit humanised by up to +-4 ms and
+-15 % in level, a different draw per variant) at tempi where their notated beat is not in
doubt, runs `onsetbpm` (final whole-stream bpm), `aubio tempo` and GStreamer's `bpmdetect`
on each, and prints Accuracy1 / Accuracy2 (within 4 % of the beat; also of x2, x3, x1/2,
x1/3) per style. A check that an octave rule does not only fit the renders: a rule that
doubles fast swing must not double a hip-hop groove's swung sixteenths.

Styles (beat = quarter note):
  hiphop-swung16   boom bap: kick 1 and the "and" of 3, snare 2 and 4, bass on 1 and 3,
                   closed hi-hat sixteenths swung long-short (2:1), 80-100 BPM
  hiphop-straight16  the same with straight sixteenths
  neosoul-swung16  quieter swung-sixteenth hi-hat, kick 1 and the last sixteenth of 2,
                   75-95 BPM
  shuffle          blues shuffle: swung eighths on the hi-hat, snare 2 and 4, walking bass,
                   80-120 BPM
  jazz-swing       ride "ding, ding-a" (swung 2:1), hi-hat pedal on 2 and 4, walking bass on
                   every beat, 160-220 BPM
  house            four on the floor: kick every beat, open hi-hat on the off-beats, clap on
                   2 and 4, 118-130 BPM
"""
import argparse
import os
import tempfile
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from eval_onsetbpm import run_aubio, run_bpmdetect, run_musa
from wavio import write_wav

RATE = 44100
SECONDS = 30.0

TEMPI = {
    "hiphop-swung16": [80, 85, 90, 95, 100],
    "hiphop-straight16": [80, 85, 90, 95, 100],
    "neosoul-swung16": [75, 80, 85, 90, 95],
    "shuffle": [80, 90, 100, 110, 120],
    "jazz-swing": [160, 175, 190, 205, 220],
    "house": [118, 121, 124, 127, 130],
}


def kick(rng, amp):
    t = np.arange(int(0.25 * RATE)) / RATE
    f = 50.0 + 80.0 * np.exp(-30.0 * t)
    return amp * np.sin(2 * np.pi * np.cumsum(f) / RATE) * np.exp(-12.0 * t)


def snare(rng, amp):
    t = np.arange(int(0.2 * RATE)) / RATE
    return amp * (0.6 * rng.standard_normal(t.size) * np.exp(-25.0 * t) +
                  0.5 * np.sin(2 * np.pi * 190.0 * t) * np.exp(-30.0 * t))


def cymbal(rng, amp, seconds, decay):
    """Differentiated white noise (a cymbal's energy above a few kHz)."""
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    return amp * np.diff(rng.standard_normal(n + 1)) * np.exp(-decay * t)


def bass(rng, amp, midi, seconds):
    t = np.arange(int(seconds * RATE)) / RATE
    f = 440.0 * 2 ** ((midi - 69) / 12.0)
    return amp * (np.sin(2 * np.pi * f * t) + 0.3 * np.sin(4 * np.pi * f * t)) * \
        np.exp(-3.0 * t) * np.minimum(1.0, t * 200.0)


def pattern(style):
    """One bar: (beat position, sound, level, extra) tuples."""
    sw16 = [0.0, 1.0 / 3.0, 0.5, 5.0 / 6.0]
    st16 = [0.0, 0.25, 0.5, 0.75]
    walk = [33, 36, 38, 40]
    if style in ("hiphop-swung16", "hiphop-straight16"):
        sub = sw16 if style == "hiphop-swung16" else st16
        p = [(0, "kick", 1.0), (2.5, "kick", 0.9), (1, "snare", 1.0), (3, "snare", 1.0),
             (0, "bass", 0.5, 33), (2.5, "bass", 0.4, 33)]
        return p + [(b + s, "hat", 0.25) for b in range(4) for s in sub]
    if style == "neosoul-swung16":
        p = [(0, "kick", 1.0), (1 + 5.0 / 6.0, "kick", 0.8), (1, "snare", 0.9),
             (3, "snare", 0.9), (0, "bass", 0.5, 36), (2, "bass", 0.4, 31)]
        return p + [(b + s, "hat", 0.12) for b in range(4) for s in sw16]
    if style == "shuffle":
        p = [(0, "kick", 1.0), (2, "kick", 0.9), (1, "snare", 1.0), (3, "snare", 1.0)]
        p += [(b, "bass", 0.4, walk[b]) for b in range(4)]
        return p + [(b + s, "hat", 0.25) for b in range(4) for s in (0.0, 2.0 / 3.0)]
    if style == "jazz-swing":
        p = [(b, "ride", 0.3) for b in range(4)] + [(1 + 2.0 / 3.0, "ride", 0.25),
                                                   (3 + 2.0 / 3.0, "ride", 0.25)]
        p += [(1, "pedal", 0.2), (3, "pedal", 0.2)]
        return p + [(b, "bass", 0.4, walk[b]) for b in range(4)]
    if style == "house":
        p = [(b, "kick", 1.0) for b in range(4)] + [(1, "snare", 0.6), (3, "snare", 0.6)]
        p += [(b + 0.5, "open", 0.3) for b in range(4)]
        return p + [(b, "bass", 0.4, 33) for b in (0.5, 1.5, 2.5, 3.5)]
    raise ValueError(style)


def groove(style, bpm, seed):
    rng = np.random.default_rng(seed)
    y = np.zeros(int(SECONDS * RATE) + RATE)
    beat = 60.0 / bpm
    bar = 0
    while 0.1 + bar * 4 * beat < SECONDS:
        for hit in pattern(style):
            pos, kind, level = hit[0], hit[1], hit[2]
            t = 0.1 + (bar * 4 + pos) * beat + rng.uniform(-0.004, 0.004)
            amp = level * rng.uniform(0.85, 1.15)
            if kind == "kick":
                x = kick(rng, amp)
            elif kind == "snare":
                x = snare(rng, amp)
            elif kind == "hat":
                x = cymbal(rng, amp, 0.06, 70.0)
            elif kind == "ride":
                x = cymbal(rng, amp, 0.4, 8.0)
            elif kind == "pedal":
                x = cymbal(rng, amp, 0.03, 120.0)
            elif kind == "open":
                x = cymbal(rng, amp, 0.2, 15.0)
            else:
                x = bass(rng, amp, hit[3], 0.9 * beat)
            i = int(t * RATE)
            m = min(x.size, y.size - i)
            if m > 0:
                y[i:i + m] += x[:m]
        bar += 1
    y = y[:int(SECONDS * RATE)]
    return (0.5 * y / np.abs(y).max()).astype(np.float32)


def accuracy(est, ref):
    a1 = abs(est - ref) <= 0.04 * ref
    a2 = any(abs(est - ref * m) <= 0.04 * ref * m for m in (1, 2, 3, 0.5, 1.0 / 3.0))
    return a1, a2


def one(args):
    style, bpm, seed, tmp = args
    path = os.path.join(tmp, f"{style}-{bpm}-{seed}.wav")
    write_wav(path, groove(style, bpm, seed)[:, None], RATE)
    musa = run_musa(path)["bpm"]
    aubio = run_aubio(path)["bpm"]
    bd = run_bpmdetect(path)
    os.unlink(path)
    return style, bpm, musa, aubio, bd["bpm"] if bd else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", type=int, default=2)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--verbose", action="store_true", help="every groove's readings")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        jobs = [(s, b, 1000 * v + b, tmp) for s in TEMPI for b in TEMPI[s]
                for v in range(args.variants)]
        with ProcessPoolExecutor(args.jobs) as ex:
            res = list(ex.map(one, jobs))
    names = ["musa", "aubio", "bpmdetect"]
    print(f"{'style':20s} {'n':>3s}  " + "  ".join(f"{n + ' A1/A2':>16s}" for n in names))
    total = {n: [0, 0] for n in names}
    for style in TEMPI:
        rows = [r for r in res if r[0] == style]
        cells = []
        for k, n in enumerate(names):
            ok = [accuracy(r[2 + k], r[1]) for r in rows if r[2 + k] is not None]
            a1 = sum(o[0] for o in ok)
            a2 = sum(o[1] for o in ok)
            total[n][0] += a1
            total[n][1] += a2
            cells.append(f"{a1:>7d}/{a2:<3d}of {len(ok):<3d}" if ok else f"{'-':>16s}")
        print(f"{style:20s} {len(rows):3d}  " + "  ".join(cells))
        if args.verbose:
            for r in rows:
                print(f"    {r[1]:5.0f} BPM: musa {r[2]:6.1f}  aubio {r[3]:6.1f}  "
                      f"bpmdetect {r[4] if r[4] is not None else float('nan'):6.1f}")
    print(f"{'all':20s} {len(res):3d}  " +
          "  ".join(f"{total[n][0]:>7d}/{total[n][1]:<3d}of {len(res):<3d}" for n in names))


if __name__ == "__main__":
    main()
