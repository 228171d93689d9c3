#!/usr/bin/python3
"""Key accuracy of chromakey on rendered songs, beside Essentia's KeyExtractor.

    meson compile -C build eval-chromakey            # or:
    /usr/bin/python3 tests/eval/eval_chromakey.py [--n 260 --seed 1 --per-key 5]
        [--soundfont /usr/share/sounds/sf3/MuseScore_General_Lite.sf3]  # other instruments
        [--condition mp3]    # the songs as a real recording might come (eval_onsetbpm.py's)

Songs come from ../shared/data/make_set.py (rendered once into a cache
directory, never committed). From them a set balanced over the 24 keys is
taken: the first --per-key songs of every key, in file order (5 x 24 = 120
songs by default).

Every profile of chromakey runs on each song in one GStreamer pipeline
(filesrc ! wavparse ! audioconvert ! chromakey ! chromakey ! ... ! fakesink),
reading the final whole-stream `chromakey` message of each. The peer is
Essentia's KeyExtractor (HPCP + key profiles) compiled to WebAssembly, the
`essentia.js` npm package, run by the machine's Node.js with its default
(bgate), edma, temperley and krumhansl profiles on the same files; it is
installed with npm into a temporary directory for this run only. A numpy
reimplementation of the textbook baseline (STFT chroma + Krumhansl-Kessler)
runs too.

Metrics (mir_eval.key): weighted score (1 correct, 0.5 est a perfect fifth
above ref, 0.3 relative, 0.2 parallel), exact accuracy, the split
correct / fifth above (mir_eval's "fifth") / fifth below / relative /
parallel / other, and `w2`: the weighted score with the fifth credited in
both directions (0.5 for a fifth below too).

`--condition` runs everything on the chosen songs turned into a resampled,
mastered, noisy, reverberant, tempo-drifting, detuned (a432: -31.8 cents; sharp40:
+40 cents) or lossy-coded recording first
(tests/eval/conditions.py, the same as eval_onsetbpm.py's; cached beside the
set, DIR-CONDITION).
"""
import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import wave

import numpy as np
import mir_eval
from conditions import CONDITIONS, make_condition
from wavio import read_wav

import gi
gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

PROFILES = ["combined", "krumhansl", "temperley", "edma", "shaath"]
ESSENTIA_PROFILES = ["bgate", "edma", "temperley", "krumhansl"]
ESSENTIA_VERSION = "0.1.3"
PC = {"C": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "F": 5, "F#": 6,
      "Gb": 6, "G": 7, "G#": 8, "Ab": 8, "A": 9, "A#": 10, "Bb": 10, "B": 11}

NODE_SCRIPT = r"""
const fs = require('fs');
const esslib = require('essentia.js');
const essentia = new esslib.Essentia(esslib.EssentiaWASM);
function readWav(p) {
  const b = fs.readFileSync(p);
  let off = 12, ch = 2, rate = 44100;
  while (off + 8 <= b.length) {
    const id = b.toString('ascii', off, off + 4), sz = b.readUInt32LE(off + 4);
    if (id === 'fmt ') { ch = b.readUInt16LE(off + 10); rate = b.readUInt32LE(off + 12); }
    else if (id === 'data') {
      const n = Math.floor(Math.min(sz, b.length - off - 8) / (2 * ch));
      const x = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        let a = 0;
        for (let c = 0; c < ch; c++) a += b.readInt16LE(off + 8 + 2 * (i * ch + c));
        x[i] = a / (32768 * ch);
      }
      return { x, rate };
    }
    off += 8 + sz + (sz & 1);
  }
  throw new Error('no data chunk in ' + p);
}
const files = fs.readFileSync(process.argv[2], 'utf8').split('\n').filter(Boolean);
const profiles = process.argv[3].split(',');
for (const f of files) {
  const { x, rate } = readWav(f);
  const v = essentia.arrayToVector(x);
  const out = { file: f, seconds: x.length / rate, keys: {}, ms: {} };
  for (const p of profiles) {
    const t0 = process.cpuUsage();
    // KeyExtractor's documented defaults, profile type varied
    const r = essentia.KeyExtractor(v, true, 4096, 4096, 12, 3500, 60, 25, 0.2, p, rate);
    const dt = process.cpuUsage(t0);
    out.ms[p] = (dt.user + dt.system) / 1000;  // CPU time of the call
    out.keys[p] = r.key + ' ' + r.scale;
  }
  v.delete();
  console.log(JSON.stringify(out));
}
"""


def parse_key(k):
    t, m = k.split()
    return PC[t], m


def category(ref, est):
    if est in (None, "", "none", "N"):
        return "other"
    rt, rm = parse_key(ref)
    et, em = parse_key(est)
    d = (et - rt) % 12
    if rm == em:
        return {0: "correct", 7: "fifth", 5: "fifth-below"}.get(d, "other")
    if rt == et:
        return "parallel"
    if (rm == "major" and d == 9) or (rm == "minor" and d == 3):
        return "relative"
    return "other"


def mir_key(k):
    """mir_eval spelling (it knows sharps and flats alike)."""
    if k in (None, "", "none"):
        return "X"
    t, m = k.split()
    return f"{t} {m}"


def score(refs, ests):
    cats = {c: 0 for c in ["correct", "fifth", "fifth-below", "relative", "parallel", "other"]}
    w = []
    for r, e in zip(refs, ests):
        cats[category(r, e)] += 1
        w.append(mir_eval.key.weighted_score(mir_key(r), mir_key(e)))
    n = len(refs)
    weighted = float(np.mean(w))
    w2 = weighted + 0.5 * cats["fifth-below"] / n
    return {"weighted": weighted, "w2": w2, "exact": cats["correct"] / n,
            **{k: v / n for k, v in cats.items()}}


def render(args):
    sf_name = os.path.splitext(os.path.basename(args.soundfont))[0] if args.soundfont else None
    out = args.set or os.path.join(tempfile.gettempdir(),
                                   f"musa-eval-chromakey-{args.seed}-{args.n}"
                                   + (f"-{sf_name}" if sf_name else ""))
    if not os.path.exists(os.path.join(out, "labels.csv")):
        here = os.path.dirname(os.path.abspath(__file__))
        shared = os.environ.get("MUSA_SHARED", os.path.join(here, "..", "..", "..", "shared"))
        if args.soundfont:  # the same songs played by other instrument samples
            cmd = [os.path.join(here, "make_set_soundfont.py"), args.soundfont]
        else:
            cmd = [os.path.join(shared, "data", "make_set.py")]
        print(f"rendering {args.n} songs (seed {args.seed}) into {out} ...", file=sys.stderr)
        subprocess.run([sys.executable] + cmd + ["--n", str(args.n), "--seed", str(args.seed),
                                                  "--out", out], check=True,
                       stderr=subprocess.DEVNULL)
    with open(os.path.join(out, "labels.csv")) as f:
        rows = list(csv.DictReader(f))
    per = {}
    chosen = []
    for r in rows:
        t, m = parse_key(r["key"])
        k = (t, m)
        if per.get(k, 0) < args.per_key:
            per[k] = per.get(k, 0) + 1
            chosen.append((os.path.join(out, r["file"]), r["key"], float(r["seconds"])))
    # make_set.py cannot render some keys (MMA refuses "KeySig Db minor"):
    # complete them with unused songs of the same mode a semitone away,
    # resampled by sox (`speed`: pitch and tempo move together, no artefacts
    # of a pitch shifter) and relabelled.
    used = {c[0] for c in chosen}
    spare = [r for r in rows if os.path.join(out, r["file"]) not in used]
    derived_dir = os.path.join(out, "derived")
    for t in range(12):
        for m in ("major", "minor"):
            while per.get((t, m), 0) < args.per_key:
                src = None
                for shift in (-1, 1, -2, 2):
                    for r in spare:
                        rt, rm = parse_key(r["key"])
                        if rm == m and (rt + shift) % 12 == t:
                            src = (r, shift)
                            break
                    if src:
                        break
                if src is None:
                    print(f"warning: no song to derive {NAMES[t]} {m} from", file=sys.stderr)
                    break
                r, shift = src
                spare.remove(r)
                os.makedirs(derived_dir, exist_ok=True)
                dst = os.path.join(derived_dir, f"{r['file'][:-4]}{shift:+d}.wav")
                if not os.path.exists(dst):
                    subprocess.run(["sox", os.path.join(out, r["file"]), dst, "speed",
                                    f"{2 ** (shift / 12):.9f}"], check=True)
                per[(t, m)] = per.get((t, m), 0) + 1
                chosen.append((dst, f"{NAMES[t]} {m}", float(r["seconds"]) / 2 ** (shift / 12)))
    derived = sum(1 for c in chosen if c[0].startswith(derived_dir))
    if derived:
        print(f"{derived} songs resampled by sox to complete keys make_set.py does not render",
              file=sys.stderr)
    if args.condition != "clean":
        rows = [{"file": os.path.relpath(p, out), "key": k} for p, k, _ in chosen]
        dst, _ = make_condition(out, args.condition, rows)
        chosen = []
        for r in rows:
            path = os.path.join(dst, r["file"])
            with wave.open(path) as w:
                chosen.append((path, r["key"], w.getnframes() / w.getframerate()))
    return chosen


def run_chromakey(files):
    Gst.init(None)
    chain = " ! ".join(f"chromakey name=k_{p} profile={p} interval=3600000000000"
                       for p in PROFILES)
    results = {p: [] for p in PROFILES}
    for path, _, _ in files:
        pipe = Gst.parse_launch(f'filesrc location="{path}" ! wavparse ! audioconvert ! '
                                f'{chain} ! fakesink')
        bus = pipe.get_bus()
        pipe.set_state(Gst.State.PLAYING)
        got = {}
        while True:
            msg = bus.timed_pop_filtered(Gst.CLOCK_TIME_NONE,
                                         Gst.MessageType.ELEMENT | Gst.MessageType.EOS |
                                         Gst.MessageType.ERROR)
            if msg.type == Gst.MessageType.ERROR:
                raise RuntimeError(msg.parse_error()[0].message)
            if msg.type == Gst.MessageType.EOS:
                break
            s = msg.get_structure()
            if s.get_name() == "chromakey" and s.get_value("final"):
                got[msg.src.get_name()[2:]] = s.get_value("key")
        pipe.set_state(Gst.State.NULL)
        for p in PROFILES:
            results[p].append(got.get(p))
    return results


def time_chromakey(files):
    """CPU time (all threads of this process) of the default chromakey over
    all files (wav parsing and pipeline set-up included), and of the same
    pipelines without it."""
    times = {}
    for label, elem in (("chromakey", "chromakey ! "), ("decode only", "")):
        t0 = time.process_time()
        for path, _, _ in files:
            pipe = Gst.parse_launch(f'filesrc location="{path}" ! wavparse ! audioconvert ! '
                                    f'{elem}fakesink')
            pipe.set_state(Gst.State.PLAYING)
            pipe.get_bus().timed_pop_filtered(Gst.CLOCK_TIME_NONE,
                                              Gst.MessageType.EOS | Gst.MessageType.ERROR)
            pipe.set_state(Gst.State.NULL)
        times[label] = time.process_time() - t0
    return times


def run_essentia(files):
    node = shutil.which("node")
    npm = shutil.which("npm")
    if not node or not npm:
        return None, "node/npm not installed"
    tmp = tempfile.mkdtemp(prefix="musa-essentia-")
    try:
        r = subprocess.run([npm, "install", "--silent", "--no-audit", "--no-fund", "--prefix", tmp,
                            f"essentia.js@{ESSENTIA_VERSION}"], capture_output=True, text=True)
        if r.returncode != 0:
            return None, "npm install essentia.js failed: " + (r.stderr.strip().splitlines() or
                                                                 ["?"])[-1]
        with open(os.path.join(tmp, "key.js"), "w") as f:
            f.write(NODE_SCRIPT)
        with open(os.path.join(tmp, "files.txt"), "w") as f:
            f.write("\n".join(p for p, _, _ in files) + "\n")
        r = subprocess.run([node, os.path.join(tmp, "key.js"), os.path.join(tmp, "files.txt"),
                            ",".join(ESSENTIA_PROFILES)], capture_output=True, text=True,
                           cwd=tmp, env={**os.environ, "NODE_PATH": os.path.join(tmp, "node_modules")})
        if r.returncode != 0:
            return None, "essentia.js failed: " + r.stderr.strip()[-300:]
        rows = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
        out = {p: [row["keys"][p] for row in rows] for p in ESSENTIA_PROFILES}
        ms = {p: sum(row["ms"][p] for row in rows) / 1000.0 for p in ESSENTIA_PROFILES}
        return (out, ms), None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


KK = (np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88]),
      np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17]))
NAMES = ["C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]


def baseline_key(path):
    """Textbook baseline: |STFT| (4096, hop 2048) summed into pitch classes
    (50 Hz - 5 kHz, nearest semitone, A440), time-averaged, Krumhansl-Kessler
    correlation."""
    x, rate = read_wav(path)
    x = x.mean(axis=1).astype(np.float32)
    n, hop = 4096, 2048
    frames = np.lib.stride_tricks.sliding_window_view(x, n)[::hop] * np.hanning(n)
    mag = np.abs(np.fft.rfft(frames, axis=1)).mean(axis=0)
    f = np.arange(mag.size) * rate / n
    sel = (f >= 50) & (f <= 5000)
    pc = np.round(12 * np.log2(f[sel] / 440.0) + 9).astype(int) % 12
    chroma = np.bincount(pc, weights=mag[sel], minlength=12)
    best, name = -2, None
    for m, prof in enumerate(KK):
        for t in range(12):
            r = np.corrcoef(chroma, np.roll(prof, t))[0, 1]
            if r > best:
                best, name = r, f"{NAMES[t]} {'minor' if m else 'major'}"
    return name


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--set", help="directory of a rendered set (labels.csv); default: render")
    ap.add_argument("--n", type=int, default=260, help="songs to render (enough for --per-key)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--per-key", type=int, default=5)
    ap.add_argument("--no-peer", action="store_true")
    ap.add_argument("--soundfont", default=None,
                    help="render with this General MIDI soundfont instead of FluidR3 "
                    "(tests/eval/make_set_soundfont.py; ignored with --set)")
    ap.add_argument("--condition", default="clean", choices=CONDITIONS,
                    help="turn the songs into a resampled, mastered, noisy, tempo-drifting "
                    "or lossy-coded recording first (tests/eval/conditions.py)")
    ap.add_argument("--json", help="write the results here too")
    args = ap.parse_args()

    files = render(args)
    refs = [k for _, k, _ in files]
    seconds = sum(s for _, _, s in files)
    print(f"{len(files)} songs, {seconds / 60:.1f} min, {len(set(refs))} distinct keys "
          f"({args.set or f'seed {args.seed}'}"
          f"{', soundfont ' + args.soundfont if args.soundfont and not args.set else ''}"
          f"{', condition ' + args.condition if args.condition != 'clean' else ''})\n")

    rows = []
    ck = run_chromakey(files)
    for p in PROFILES:
        rows.append((f"chromakey profile={p}", score(refs, ck[p])))
    speed = time_chromakey(files)

    peer_note = None
    ess_ms = None
    if not args.no_peer:
        res, peer_note = run_essentia(files)
        if res:
            ess, ess_ms = res
            for p in ESSENTIA_PROFILES:
                rows.append((f"Essentia KeyExtractor {p}", score(refs, ess[p])))
    base = [baseline_key(p) for p, _, _ in files]
    rows.append(("numpy STFT chroma + Krumhansl", score(refs, base)))

    cols = ["weighted", "w2", "exact", "fifth", "fifth-below", "relative", "parallel", "other"]
    print("| method | " + " | ".join(cols) + " |")
    print("|---|" + "---|" * len(cols))
    for name, s in rows:
        print(f"| {name} | " + " | ".join(f"{s[c]:.3f}" for c in cols) + " |")
    if peer_note:
        print(f"\nEssentia not run: {peer_note}")

    print("\nSpeed (CPU time, same run):")
    ck_rt = seconds / max(speed["chromakey"] - speed["decode only"], 1e-9)
    print(f"  chromakey element: {speed['chromakey']:.2f} s for the set incl. wav parsing "
          f"({speed['decode only']:.2f} s without chromakey) -> {ck_rt:.0f}x realtime")
    if ess_ms:
        for p in ESSENTIA_PROFILES:
            print(f"  Essentia.js KeyExtractor {p}: {ess_ms[p]:.2f} s -> "
                  f"{seconds / ess_ms[p]:.0f}x realtime")

    # first of the best on ties (the default profile comes first)
    best_ck = max(((s["weighted"], n) for n, s in rows if n.startswith("chromakey")),
                  key=lambda t: t[0])
    best_es = max(((s["weighted"], n) for n, s in rows if n.startswith("Essentia")),
                  key=lambda t: t[0], default=None)
    default = rows[0][1]
    print(f"\ndefault chromakey: weighted {default['weighted']:.3f} exact {default['exact']:.3f} "
          f"(targets 0.90 / 0.85)")
    print(f"best chromakey: {best_ck[1]} {best_ck[0]:.3f}")
    if best_es:
        print(f"best Essentia: {best_es[1]} {best_es[0]:.3f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "speed": speed, "essentia_seconds": ess_ms,
                       "audio_seconds": seconds}, f, indent=1)


if __name__ == "__main__":
    main()
