#!/usr/bin/python3
"""Evaluate onsetbpm against aubio and GStreamer's bpmdetect on rendered songs.

    meson compile -C build eval-onsetbpm
    # or directly, with the plugin on GST_PLUGIN_PATH:
    /usr/bin/python3 tests/eval/eval_onsetbpm.py [--n 100] [--seed 1] [--set DIR] [--jobs 2]
        [--family ballad] [--prior-bpm 75]   # only one family; onsetbpm prior-bpm=75
        [--whiten]                           # onsetbpm whiten=true
        [--condition master]                 # the songs as a real recording might come
        [--soundfont /usr/share/sounds/sf3/MuseScore_General_Lite.sf3]  # other instruments

Renders (or reuses) a labelled set with ../shared/data/make_set.py (MMA grooves played by
FluidSynth: exact tempo, note onsets and quarter-note beats), runs on every file

  - musa `onsetbpm post-onsets=true` (final whole-stream message: bpm, beats; onset messages),
  - `aubio tempo` (BPM), `aubiotrack` (beats) and `aubioonset` (onsets), Debian aubio-tools,
  - GStreamer's `bpmdetect` (gst-plugins-bad, SoundTouch; the last beats-per-minute tag),

and prints one table. `--soundfont` renders the same songs with another General MIDI
soundfont (other instrument samples: musescore-general-soundfont-small, timgm6mb-soundfont),
a check that nothing is tuned to FluidR3's sounds. `--condition` first turns the rendered songs into what real recordings
bring and renders do not (the labels follow exactly; cached beside the set, DIR-CONDITION):

  - `48k`, `22k`: resampled to 48 / 22.05 kHz (sox);
  - `master`: a loud master, 6 dB soft-knee compression to -4 dB at full scale and peaks
    normalised to -0.3 dBFS (sox compand, gain -n: about 8 dB louder, crest factor down);
  - `noise20`: pink noise 20 dB below the song's RMS (a noisy transfer, a live room);
  - `room`: a reverberant room (sox reverb: reverberance 50 %, HF damping 50 %, room
    scale 100 %, wet and dry mixed: a live recording, a hall; onset labels unchanged);
  - `drift3`, `drift6`: a played, not sequenced, tempo: the playback rate swings by +-3 % /
    +-6 % over a 20 s period (variable-rate resampling; beat and onset times mapped through
    the same warp, the tempo label becomes the song's mean tempo);
  - `a432`, `sharp40`: tuned off A440 (-31.8 / +40 cents: played at 432/440 or 2^(40/1200)
    of its speed; times and tempo labels scaled by that factor);
  - `mp3`, `mp3low`, `vorbis`, `opus`: through a lossy codec and back (GStreamer's LAME
    at 128 / 64 kbit/s CBR, libvorbis quality 0.3, libopus 64 kbit/s), the codec's delay
    measured by cross-correlation and trimmed (tests/eval/conditions.py).
 Metrics, with mir_eval where it defines them:
  - tempo Accuracy1: estimate within 4 % of the labelled tempo; Accuracy2: within 4 % of the
    tempo or of x2, x3, x1/2, x1/3 of it (Gouyon et al. 2006, as MIREX);
  - onset F-measure: mir_eval.onset.f_measure, 50 ms window; beside it the same of the
    labels merged within 50 ms (every note found, but never two within 50 ms: strummed
    chords and humanised ensembles put labelled notes 30-50 ms apart), and the three
    grooves where musa's is lowest;
  - beat F-measure: mir_eval.beat.f_measure, 70 ms window, after mir_eval.beat.trim_beats
    (beats before 5 s ignored, as mir_eval.beat.evaluate does); for onsetbpm also of the live
    `beat` messages (post-beats=true), the beats a live stream gets as it plays;
  - live tempo (the `onsetbpm` messages every second): songs whose readings after 6 s all lie
    within 2 % of their median, and songs with a reading of no tempo between 6 s and their
    last reading with one (a dropout).
"""
import argparse
import csv
import os
import subprocess
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import mir_eval

from conditions import CONDITIONS, make_condition

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.environ.get("MUSA_SHARED", os.path.join(HERE, "..", "..", "..", "shared"))
# onsetbpm properties added by main()'s options; "" when another evaluation imports run_musa
EXTRA = ""


def render(out, n, seed, soundfont=None):
    labels = os.path.join(out, "labels.csv")
    if os.path.exists(labels):
        with open(labels) as f:
            if sum(1 for _ in f) - 1 >= n:
                return
    if soundfont:  # the same songs played by other instrument samples
        cmd = [os.path.join(HERE, "make_set_soundfont.py"), soundfont]
    else:
        cmd = [os.path.join(SHARED, "data", "make_set.py")]
    subprocess.run(["/usr/bin/python3"] + cmd + ["--n", str(n), "--seed", str(seed), "--out", out],
                   check=True)


def run_musa(path, prior=None):
    import gi
    gi.require_version("Gst", "1.0")
    from gi.repository import Gst
    Gst.init(None)
    pipe = Gst.parse_launch(
        f'filesrc location="{path}" ! wavparse ! audioconvert ! '
        'onsetbpm name=ob post-onsets=true post-beats=true %s%s! fakesink' %
        (f'prior-bpm={prior} ' if prior else '', EXTRA))
    bus = pipe.get_bus()
    t0 = time.process_time()
    pipe.set_state(Gst.State.PLAYING)
    onsets, live, final, readings = [], [], None, []
    while True:
        msg = bus.timed_pop_filtered(60 * Gst.SECOND, Gst.MessageType.ELEMENT |
                                     Gst.MessageType.EOS | Gst.MessageType.ERROR)
        if msg is None or msg.type in (Gst.MessageType.EOS, Gst.MessageType.ERROR):
            break
        s = msg.get_structure()
        if s.get_name() == "onset":
            onsets.append(s.get_value("timestamp") / 1e9)
        elif s.get_name() == "beat":
            live.append(s.get_value("timestamp") / 1e9)
        elif s.get_name() == "onsetbpm" and not s.get_value("final"):
            end = (s.get_value("timestamp") + s.get_value("duration")) / 1e9
            readings.append((end, s.get_value("bpm")))
        elif s.get_name() == "onsetbpm" and s.get_value("final"):
            final = (s.get_value("bpm"), s.get_value("confidence"),
                     list(s.get_value("beats")), list(s.get_value("candidates")),
                     list(s.get_value("strengths")))
    pipe.set_state(Gst.State.NULL)
    cpu = time.process_time() - t0
    bpm, conf, beats, cands, strengths = final if final else (0.0, 0.0, [], [0, 0], [0, 0])
    return {"bpm": bpm, "conf": conf, "beats": np.array(beats), "onsets": np.array(onsets),
            "live": np.array(live), "cpu": cpu, "cands": cands, "strengths": strengths,
            "readings": readings}


def run_aubio(path):
    t0 = time.time()
    out = subprocess.run(["aubio", "tempo", path], capture_output=True, text=True).stdout
    bpm = 0.0
    for line in out.splitlines():
        if line.strip().endswith("bpm"):
            bpm = float(line.split()[0])
    beats = subprocess.run(["aubiotrack", "-i", path], capture_output=True, text=True).stdout
    onsets = subprocess.run(["aubioonset", "-i", path], capture_output=True, text=True).stdout
    parse = lambda s: np.array([float(x.split()[0]) for x in s.splitlines() if x.strip()])
    return {"bpm": bpm, "beats": parse(beats), "onsets": parse(onsets), "cpu": time.time() - t0}


def bpmdetect_pipeline(path):
    """(Gst, `filesrc ! wavparse ! audioconvert ! bpmdetect name=b ! fakesink` over @path),
    or (Gst, None) when GStreamer's bpmdetect is not installed."""
    import gi
    gi.require_version("Gst", "1.0")
    from gi.repository import Gst
    Gst.init(None)
    if Gst.ElementFactory.find("bpmdetect") is None:
        return Gst, None
    return Gst, Gst.parse_launch(f'filesrc location="{path}" ! wavparse ! audioconvert ! '
                                 'bpmdetect name=b ! fakesink')


def run_bpmdetect(path):
    Gst, pipe = bpmdetect_pipeline(path)
    if pipe is None:
        return None
    bus = pipe.get_bus()
    t0 = time.process_time()
    pipe.set_state(Gst.State.PLAYING)
    bpm = 0.0
    while True:
        msg = bus.timed_pop_filtered(60 * Gst.SECOND, Gst.MessageType.TAG |
                                     Gst.MessageType.EOS | Gst.MessageType.ERROR)
        if msg is None or msg.type in (Gst.MessageType.EOS, Gst.MessageType.ERROR):
            break
        ok, v = msg.parse_tag().get_double("beats-per-minute")
        if ok:
            bpm = v
    pipe.set_state(Gst.State.NULL)
    return {"bpm": bpm, "cpu": time.process_time() - t0}


def one(args):
    path, prior = args
    return run_musa(path, prior), run_aubio(path), run_bpmdetect(path)


def merged(times, gap):
    """@times with every onset within @gap s of the previous kept one dropped."""
    out = []
    for x in times:
        if not out or x - out[-1] > gap:
            out.append(x)
    return np.array(out)


def acc(est, ref):
    a1 = abs(est - ref) <= 0.04 * ref
    a2 = any(abs(est - ref * m) <= 0.04 * ref * m for m in (1, 2, 3, 0.5, 1 / 3))
    return a1, a2


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--set", default=None, help="directory of a rendered set (default: render)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--family", default=None, help="only the songs of this family (labels.csv)")
    ap.add_argument("--prior-bpm", type=float, default=None,
                    help="onsetbpm prior-bpm (default: the element's, 120)")
    ap.add_argument("--condition", default="clean", choices=CONDITIONS,
                    help="turn the songs into a resampled, mastered, noisy, tempo-drifting "
                    "or lossy-coded recording first (see above)")
    ap.add_argument("--soundfont", default=None,
                    help="render the songs with this General MIDI soundfont instead of FluidR3 "
                    "(tests/eval/make_set_soundfont.py; ignored with --set)")
    ap.add_argument("--whiten", action="store_true",
                    help="onsetbpm whiten=true (adaptive whitening of the onset picking function)")
    args = ap.parse_args()
    global EXTRA
    EXTRA = "whiten=true " if args.whiten else ""
    sf_name = os.path.splitext(os.path.basename(args.soundfont))[0] if args.soundfont else None
    d = args.set or (f"/tmp/musa-eval-onsetbpm-{args.seed}-{args.n}"
                     + (f"-{sf_name}" if sf_name else ""))
    render(d, args.n, args.seed, args.soundfont)
    with open(os.path.join(d, "labels.csv")) as f:
        rows = list(csv.DictReader(f))[:args.n]
    if args.family:
        rows = [r for r in rows if r["family"] == args.family]
    if args.condition != "clean":
        d, rows = make_condition(d, args.condition, rows)
    paths = [os.path.join(d, r["file"]) for r in rows]
    t0 = time.time()
    with ProcessPoolExecutor(args.jobs) as ex:
        results = list(ex.map(one, [(p, args.prior_bpm) for p in paths]))
    wall = time.time() - t0

    names = ["musa onsetbpm", "aubio (tempo/aubiotrack/aubioonset)", "GStreamer bpmdetect"]
    table = {k: {"a1": [], "a2": [], "onf": [], "beatf": [], "cpu": []} for k in names}
    fam = {}
    misses = []
    live_f = []
    either = 0
    steady = 0
    dropouts = 0
    ceiling = []
    groove_onf = {}
    for r, path, res in zip(rows, paths, results):
        ref = float(r["tempo_bpm"])
        base = path[:-4]
        ref_on = np.loadtxt(base + ".onsets", ndmin=1)
        ceiling.append(mir_eval.onset.f_measure(ref_on, merged(ref_on, 0.05), window=0.05)[0])
        ref_b = mir_eval.beat.trim_beats(np.loadtxt(base + ".beats", ndmin=1))
        for k, x in zip(names, res):
            if x is None:
                continue
            a1, a2 = acc(x["bpm"], ref)
            t = table[k]
            t["a1"].append(a1)
            t["a2"].append(a2)
            t["cpu"].append(x["cpu"])
            if "onsets" in x:
                t["onf"].append(mir_eval.onset.f_measure(ref_on, x["onsets"], window=0.05)[0])
                if k == names[0]:
                    groove_onf.setdefault(r["groove"], []).append(t["onf"][-1])
            if "beats" in x:
                t["beatf"].append(mir_eval.beat.f_measure(
                    ref_b, mir_eval.beat.trim_beats(x["beats"]), f_measure_threshold=0.07))
        m = res[0]
        live_f.append(mir_eval.beat.f_measure(ref_b, mir_eval.beat.trim_beats(m["live"]),
                                              f_measure_threshold=0.07))
        either += any(acc(c, ref)[0] for c in m["cands"][:2])
        # the issue's live point: after the first estimate (6 s) the tempo moves by < 2 %
        late = np.array([b for t, b in m["readings"] if t >= 6.0 and b > 0])
        steady += bool(len(late)) and bool(np.all(np.abs(late / np.median(late) - 1) < 0.02))
        # ... and does not drop out to "no tempo" while the song still has one
        last = max((t for t, b in m["readings"] if b > 0), default=0.0)
        dropouts += any(6.0 <= t < last and b <= 0 for t, b in m["readings"])
        f = fam.setdefault(r["family"], [0, 0])
        f[0] += acc(m["bpm"], ref)[0]
        f[1] += 1
        if not acc(m["bpm"], ref)[0]:
            misses.append(f'{r["file"]} {r["groove"]} {ref:.0f} BPM -> {m["bpm"]:.1f} '
                          f'(confidence {m["conf"]:.2f}; runner-up {m["cands"][1]:.1f}, '
                          f'strengths {m["strengths"][0]:.2f} / {m["strengths"][1]:.2f})')

    mean = lambda v: f"{np.mean(v):.3f}" if v else "  -  "
    print(f"\nonsetbpm evaluation: {len(rows)} songs from {d} (make_set.py seed {args.seed}), "
          f"{wall:.0f} s wall with {args.jobs} jobs"
          + (f", soundfont {sf_name}" if sf_name and not args.set else "")
          + (f", family {args.family}" if args.family else "")
          + (f", condition {args.condition}" if args.condition != "clean" else "")
          + (f", onsetbpm prior-bpm={args.prior_bpm:g}" if args.prior_bpm else "")
          + (", onsetbpm whiten=true" if args.whiten else "") + "\n")
    print(f"| {'method':<37} | Accuracy1 | Accuracy2 | onset F | beat F | CPU s/song |")
    print(f"|{'-' * 39}|-----------|-----------|---------|--------|------------|")
    for k in names:
        t = table[k]
        if not t["a1"]:
            print(f"| {k:<37} | not installed |")
            continue
        print(f"| {k:<37} | {mean(t['a1']):>9} | {mean(t['a2']):>9} | {mean(t['onf']):>7} | "
              f"{mean(t['beatf']):>6} | {np.mean(t['cpu']):>10.3f} |")
    print(f"\nonsetbpm live beats (the `beat` messages a live stream gets, post-beats=true): "
          f"beat F {mean(live_f)}")
    print(f"onsetbpm: the label within 4 % of one of the two candidates in {either}/{len(rows)} "
          "songs (Accuracy1 of the pair)")
    print(f"onsetbpm live tempo (the `onsetbpm` messages every second): after 6 s every reading "
          f"within 2 % of their median in {steady}/{len(rows)} songs; a reading of no tempo "
          f"between 6 s and the last reading with one in {dropouts}/{len(rows)}")
    low = sorted(groove_onf.items(), key=lambda kv: np.mean(kv[1]))[:3]
    print(f"onset F of the labels themselves merged within 50 ms (a detector that finds every "
          f"note but never two within 50 ms): {mean(ceiling)}; musa's lowest by groove: " +
          ", ".join(f"{g} {np.mean(v):.3f} ({len(v)})" for g, v in low))
    print("onsetbpm Accuracy1 by family: " +
          ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in sorted(fam.items())))
    if misses:
        print("onsetbpm tempo misses:\n  " + "\n  ".join(misses))
    print("\n(aubio CPU time is wall time of its command-line tools, Python start-up included; "
          "see bench-onsetbpm for speed.)")
    ours = table[names[0]]
    best_peer = max(np.mean(table[k]["a1"]) for k in names[1:] if table[k]["a1"])
    ok = (np.mean(ours["a1"]) >= 0.95 and np.mean(ours["a2"]) >= 0.99 and
          np.mean(ours["onf"]) >= 0.90 and np.mean(ours["beatf"]) >= 0.90 and
          np.mean(ours["a1"]) > best_peer)
    print("targets (Accuracy1 >= 0.95, Accuracy2 >= 0.99, onset F >= 0.90, beat F >= 0.90, "
          f"Accuracy1 above every peer): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
