#!/usr/bin/python3
"""Label preservation of musaugment on rendered songs (../shared/data/make_set.py).

For each song, one pipeline per condition:
    filesrc ! wavparse ! audioconvert ! musaugment probability=1 chain=<c> !
      chromakey ! onsetbpm ! fakesink
conditions: original (chain "none"), pitch -2, -1, +1, +2 semitones, stretch rate
0.8, 0.9, 1.1, 1.25. The final (EOS) `chromakey` and `onsetbpm` messages give
the key and the tempo.

Key: among songs where chromakey found the labelled key on the original, the
share where it reports the label's key shifted by n semitones after pitch n
(target >= 95 %). Tempo: among songs where onsetbpm found the labelled tempo on
the original (within 4 %, mir_eval's Accuracy1 tolerance), the share where the
tempo after stretch r equals r x the original estimate within 2 % (target
>= 95 %).

Diagnostics: the misses by name; the chroma of the shifted audio against the
original's rotated by n (cosine) and the change of the tuning estimate (what the
shift did to the pitch content, whatever chromakey decides); the same key test
on `sox pitch` output as a peer (MUSA_EVAL_PEERS=0 skips the peers); for tempo,
the share that scales by r at some metrical level (x 1/2, 2, 2/3, 3/2), and the
same tempo test on `rubberband` stretches of the same songs as a peer (whether
a miss is the stretch's or onsetbpm's octave choice).

Environment: MUSA_EVAL_N (songs, default 40), MUSA_EVAL_SEED (1), MUSA_EVAL_JOBS
(parallel pipelines, default the number of CPUs), MUSA_SHARED (../shared).
Needs the chromakey and onsetbpm elements in the plugin; says so and exits 0 if
they are missing. Exits 1 when a target is missed.
"""
import csv
import multiprocessing
import os
import shutil
import subprocess
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

PITCH_SHIFTS = [-2, -1, 1, 2]
RATES = [0.8, 0.9, 1.1, 1.25]
NAMES = {"C": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "F": 5,
         "F#": 6, "Gb": 6, "G": 7, "G#": 8, "Ab": 8, "A": 9, "A#": 10, "Bb": 10,
         "B": 11, "Cb": 11, "E#": 5, "B#": 0, "Fb": 4}


def parse_key(s):
    """'F# major' -> (6, 'major'); None for 'none' or unparsable."""
    parts = (s or "").split()
    if len(parts) != 2 or parts[0] not in NAMES or parts[1] not in ("major", "minor"):
        return None
    return NAMES[parts[0]], parts[1]


def chain_of(cond):
    kind, v = cond
    if kind == "orig":
        return "none"
    if kind == "pitch":
        return "pitch:1(semitones=%d)" % v
    return "stretch:1(rate=%g)" % v


def analyse(args):
    """(file, cond) -> (file, cond, (key tuple or None, bpm or 0, chroma,
    tuning cents), error)."""
    path, cond = args
    Gst.init(None)
    src = path
    if cond[0] == "sox":
        # the peer: sox's pitch shift of the same file, analysed the same way
        src = "/tmp/musa-eval-augment-sox-%d.wav" % os.getpid()
        subprocess.run(["sox", "-q", "-V1", "-G", path, src, "pitch",
                        str(100 * cond[1])],
                       check=True)
        cond_chain = "none"
    elif cond[0] == "rubberband":
        # the stretch peer: rubberband's default engine at the same rate (its
        # -t is the duration factor, 1 / rate)
        src = "/tmp/musa-eval-augment-rb-%d.wav" % os.getpid()
        subprocess.run(["rubberband", "-q", "-t", repr(1.0 / cond[1]), path, src],
                       check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        cond_chain = "none"
    else:
        cond_chain = chain_of(cond)
    desc = ('filesrc location="%s" ! wavparse ! audioconvert ! '
            'musaugment probability=1 chain="%s" ! chromakey ! onsetbpm ! '
            'fakesink sync=false' % (src, cond_chain))
    pipe = Gst.parse_launch(desc)
    bus = pipe.get_bus()
    pipe.set_state(Gst.State.PLAYING)
    key, bpm, err, chroma, tuning = None, 0.0, None, None, None
    while True:
        msg = bus.timed_pop_filtered(
            600 * Gst.SECOND,
            Gst.MessageType.EOS | Gst.MessageType.ERROR | Gst.MessageType.ELEMENT)
        if msg is None:
            err = "timeout"
            break
        if msg.type == Gst.MessageType.ERROR:
            err = msg.parse_error()[0].message
            break
        if msg.type == Gst.MessageType.EOS:
            break
        s = msg.get_structure()
        ok, final = s.get_boolean("final")
        if not (ok and final):
            continue
        if s.get_name() == "chromakey":
            key = parse_key(s.get_string("key"))
            chroma = [float(v) for v in s.get_value("chroma")]
            tuning = s.get_double("tuning-cents")[1]
        elif s.get_name() == "onsetbpm":
            ok, c = s.get_double("confidence")
            ok2, b = s.get_double("bpm")
            bpm = b if ok2 and (not ok or c > 0) else 0.0
    pipe.set_state(Gst.State.NULL)
    if src != path:
        os.unlink(src)
    return path, cond, (key, bpm, chroma, tuning), err


def main():
    # wavparse's typefinding logs harmless errors at GST_DEBUG=*:1
    os.environ["GST_DEBUG"] = "0"
    Gst.init(None)
    missing = [e for e in ("musaugment", "chromakey", "onsetbpm")
               if Gst.ElementFactory.find(e) is None]
    if missing:
        print("eval-musaugment: element(s) %s not in the plugin yet; "
              "nothing evaluated" % ", ".join(missing))
        return 0
    n = int(os.environ.get("MUSA_EVAL_N", "40"))
    seed = int(os.environ.get("MUSA_EVAL_SEED", "1"))
    jobs = int(os.environ.get("MUSA_EVAL_JOBS", str(os.cpu_count() or 1)))
    shared = os.environ.get("MUSA_SHARED", os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared"))
    out = "/tmp/musa-set-augment-eval-n%d-s%d" % (n, seed)
    labels_path = os.path.join(out, "labels.csv")
    if not os.path.exists(labels_path):
        subprocess.run(["/usr/bin/python3", os.path.join(shared, "data", "make_set.py"),
                        "--n", str(n), "--seed", str(seed), "--out", out], check=True)
    with open(labels_path) as f:
        labels = list(csv.DictReader(f))

    conds = [("orig", 0)] + [("pitch", s) for s in PITCH_SHIFTS] + \
        [("stretch", r) for r in RATES]
    peers = os.environ.get("MUSA_EVAL_PEERS", "1") != "0" and \
        shutil.which("sox") is not None
    if peers:
        conds += [("sox", s) for s in PITCH_SHIFTS]
    rb_peer = os.environ.get("MUSA_EVAL_PEERS", "1") != "0" and \
        shutil.which("rubberband") is not None
    if rb_peer:
        conds += [("rubberband", r) for r in RATES]
    work = [(os.path.join(out, row["file"]), c) for row in labels for c in conds]
    res = {}
    errors = 0
    with multiprocessing.Pool(jobs) as pool:
        for path, cond, r, err in pool.imap_unordered(analyse, work):
            if err:
                errors += 1
                print("error on %s %s: %s" % (os.path.basename(path), cond, err))
            res[(os.path.basename(path), cond)] = r

    # keys
    print("musaugment label preservation on %d rendered songs (make_set.py "
          "--n %d --seed %d)\n" % (len(labels), n, seed))
    key_found = [r for r in labels
                 if res[(r["file"], ("orig", 0))][0] == parse_key(r["key"])]
    print("key: chromakey finds the labelled key on the original in %d/%d songs"
          % (len(key_found), len(labels)))
    fail = False
    total_ok = total_n = 0
    print("  %-16s %10s %8s" % ("pitch shift", "shifted ok", "share"))
    key_misses = []
    pcname = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]
    for s in PITCH_SHIFTS:
        ok = 0
        for r in key_found:
            pc, mode = parse_key(r["key"])
            got = res[(r["file"], ("pitch", s))][0]
            ok += got == ((pc + s) % 12, mode)
            if got != ((pc + s) % 12, mode):
                key_misses.append("%s %s pitch %+d: %s -> %s (want %s %s)" % (
                    r["file"], r["groove"], s, r["key"],
                    "%s %s" % (pcname[got[0]], got[1]) if got else "none",
                    pcname[(pc + s) % 12], mode))
        total_ok += ok
        total_n += len(key_found)
        share = ok / len(key_found) if key_found else 0.0
        print("  %+16d %6d/%-3d %7.1f %%" % (s, ok, len(key_found), 100 * share))
    share = total_ok / total_n if total_n else 0.0
    print("  %-16s %6d/%-3d %7.1f %%   target >= 95 %%: %s" % (
        "all", total_ok, total_n, 100 * share, "PASS" if share >= 0.95 else "FAIL"))
    fail |= share < 0.95
    if peers:
        print("  peer, same songs: sox pitch (WSOLA)")
        pok = pn = 0
        for s in PITCH_SHIFTS:
            ok = 0
            for r in key_found:
                pc, mode = parse_key(r["key"])
                ok += res[(r["file"], ("sox", s))][0] == ((pc + s) % 12, mode)
            pok += ok
            pn += len(key_found)
            print("  %+16d %6d/%-3d %7.1f %%" % (
                s, ok, len(key_found), 100 * ok / max(1, len(key_found))))
        print("  %-16s %6d/%-3d %7.1f %%" % ("all (sox)", pok, pn,
                                             100 * pok / max(1, pn)))

    # what the shift did to the pitch content, whatever the key decision:
    # chroma of the shifted audio vs the original's rotated by n (cosine),
    # and the change of the tuning estimate (cents)
    print("  %-16s %22s %24s" % ("pitch shift", "chroma cosine (median,min)",
                                  "|tuning change| (mean,max)"))
    for kind, s in [("pitch", s) for s in PITCH_SHIFTS] + \
            ([("sox", s) for s in PITCH_SHIFTS] if peers else []):
        cos, dt = [], []
        for r in labels:
            o = res[(r["file"], ("orig", 0))]
            p = res[(r["file"], (kind, s))]
            if not o[2] or not p[2] or o[3] is None or p[3] is None:
                continue
            rot = [o[2][(k - s) % 12] for k in range(12)]
            num = sum(a * b for a, b in zip(rot, p[2]))
            den = (sum(a * a for a in rot) * sum(b * b for b in p[2])) ** 0.5
            if den > 0:
                cos.append(num / den)
            d = abs(p[3] - o[3])
            dt.append(min(d, 100 - d))
        if cos:
            cos.sort()
            print("  %+16d %14.4f %7.4f %16.2f %7.2f%s" % (
                s, cos[len(cos) // 2], cos[0], sum(dt) / len(dt), max(dt),
                "   (sox)" if kind == "sox" else ""))

    # tempo
    tempo_found = []
    for r in labels:
        b = res[(r["file"], ("orig", 0))][1]
        t = float(r["tempo_bpm"])
        if b > 0 and abs(b - t) <= 0.04 * t:
            tempo_found.append(r)
    print("\ntempo: onsetbpm finds the labelled tempo (4 %%) on the original in "
          "%d/%d songs" % (len(tempo_found), len(labels)))
    print("  %-16s %10s %8s %14s %14s" % ("stretch rate", "scaled ok", "share",
                                           "vs label x r", "any octave"))
    total_ok = total_n = 0
    misses = []
    for rate in RATES:
        ok = ok_label = ok_oct = 0
        for r in tempo_found:
            b0 = res[(r["file"], ("orig", 0))][1]
            b = res[(r["file"], ("stretch", rate))][1]
            good = b > 0 and abs(b / b0 - rate) <= 0.02 * rate
            ok += good
            lab = float(r["tempo_bpm"]) * rate
            ok_label += b > 0 and abs(b - lab) <= 0.02 * lab
            # the same pulse at another metrical level (x 1/2, 2, 2/3, 3/2)
            ok_oct += b > 0 and any(abs(b / b0 - rate * m) <= 0.02 * rate * m
                                    for m in (1, 0.5, 2, 2 / 3, 1.5))
            if not good:
                misses.append("%s %s rate %g: %.2f -> %.2f BPM (want %.2f)" % (
                    r["file"], r["groove"], rate, b0, b, b0 * rate))
        total_ok += ok
        total_n += len(tempo_found)
        share = ok / len(tempo_found) if tempo_found else 0.0
        print("  %16g %6d/%-3d %7.1f %%   %6d/%-3d     %6d/%-3d" % (
            rate, ok, len(tempo_found), 100 * share, ok_label, len(tempo_found),
            ok_oct, len(tempo_found)))
    share = total_ok / total_n if total_n else 0.0
    print("  %-16s %6d/%-3d %7.1f %%   target >= 95 %%: %s" % (
        "all", total_ok, total_n, 100 * share, "PASS" if share >= 0.95 else "FAIL"))
    fail |= share < 0.95
    if rb_peer:
        # the same test on rubberband's stretch of the same songs: where
        # onsetbpm reads another metrical level after either stretcher, the
        # miss is the tempo estimator's octave choice, not the stretch
        print("  peer, same songs: rubberband (default engine)")
        pok = pn = both = 0
        for rate in RATES:
            ok = 0
            for r in tempo_found:
                b0 = res[(r["file"], ("orig", 0))][1]
                b = res[(r["file"], ("rubberband", rate))][1]
                good = b > 0 and abs(b / b0 - rate) <= 0.02 * rate
                ok += good
                bm = res[(r["file"], ("stretch", rate))][1]
                both += good == (bm > 0 and abs(bm / b0 - rate) <= 0.02 * rate)
            pok += ok
            pn += len(tempo_found)
            print("  %16g %6d/%-3d %7.1f %%" % (
                rate, ok, len(tempo_found), 100 * ok / max(1, len(tempo_found))))
        print("  %-16s %6d/%-3d %7.1f %%   same verdict as after musaugment: "
              "%d/%d" % ("all (rubberband)", pok, pn, 100 * pok / max(1, pn),
                         both, pn))
    if key_misses:
        print("\nkey misses:\n  " + "\n  ".join(key_misses))
    if misses:
        print("\ntempo misses:\n  " + "\n  ".join(misses))
    if errors:
        print("\n%d pipeline errors" % errors)
    return 1 if fail or errors else 0


if __name__ == "__main__":
    sys.exit(main())
