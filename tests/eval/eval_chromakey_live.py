#!/usr/bin/python3
"""chromakey as a live tagger: how early and how often are its periodic
results wrong?

    /usr/bin/python3 tests/eval/eval_chromakey_live.py --set /tmp/set1 [--set /tmp/set2 ...]
        [--cache DIR] [--rules]

A live radio tagger reads chromakey's periodic results (window 0: the whole
stream so far; window 10: the last 10 s), every 0.5 s, and takes the first
result that is not `uncertain` (the first `musical-key` tag) as the song's
key. Each song of a set rendered by ../shared/data/make_set.py (one key per
song, labels.csv) runs through

    filesrc ! wavparse ! audioconvert ! tee
        ! queue ! chromakey window=0 interval=0.5 s ! fakesink
        ! queue ! chromakey window=10 interval=0.5 s ! fakesink

collecting every message and every musical-key tag. Per window setting:

  1st-wrong     share of songs whose first certain result is not the song's
                key, split: rel(ative), 5th (a fifth up or down), other;
  1sttag        the same for the first musical-key tag the element pushed
                (the element's own run only: it is the same result);
  none          share of songs with no certain result at all;
  res-wr        share of all certain periodic results that are wrong;
  t-1st         median time (s) of the first certain result;
  t-ok          median time (s) of the first certain result that is right
                (over the songs that get one; never: the share that don't);
  tags, tg-wr   musical-key tags pushed per song before EOS (a certain
                result whose key differs from the last tag), and the share
                of them that are wrong;
  final         exact accuracy of the final whole-stream result.

Key match is exact (tonic and mode), no mir_eval.

`--rules` also replays candidate certainty rules on the recorded messages:
the 24 correlations are recomputed from each message's `chroma` with the
element's profiles (numpy copy of src/chroma/key.c, checked against the
element's `key` and `correlation`), and a result counts as certain when the
element said so AND the rule holds:

  margin>=m      correlation minus the runner-up's >= m;
  margin-nr>=m   correlation minus the best key that is not the relative
                 major/minor >= m;
  stable>=k      the best key the same over the last k results (k x 0.5 s);
  after>=t       only from t s on (the first results are held back);
  notchord>=d    the key's correlation minus the best correlation with a
                 lone major or minor triad (same harmonic expansion) >= d:
                 "more than one chord has sounded";
  A|B, A&B       either, both.

Findings (make_set.py seeds 1-4, 100 songs each, at the build of this
script): from the songs' start the first certain result comes at 2.0 s and
is wrong in 2-6 % of the songs; every rule above that holds results back
makes that worse (after>=4: 10-20 %, notchord>=0: 11-18 %), since these
songs open on their tonic chord. A tagger joining at bar 1 or 2 gets a
first tag that is the first chord's key: wrong in 96-100 % of the songs,
first correct result at 4.5-6 s (median). The margin, stability and
lone-triad rules above and after>=3..6 leave 52-100 %; holding every result
back to 8 s (after>=8, one cycle of the 4-chord progressions) 17-32 %
(first correct at 8 s), at the cost of 10-16 % from the songs' start. A
lone synthetic triad has the largest margin over its runner-up (0.23-0.25),
not the smallest. The element also pushes 2.1-4.0 tags per 30 s song,
32-43 % of them wrong (from the start); margin>=0.08 halves both, first tag
still at 2.0 s. The element then took stable>=4's rule in seconds (a periodic
result is certain only when every periodic result of the last 2 s named its
key): its rows now equal what stable>=4 gave over the earlier build, on
every set and join bar (tags per song 1.6-2.3, 22-32 % wrong, first tag at
2.0 s, wrong in 2-4 %).

`--join-bar N` plays each song from the start of bar N, as heard by a tagger
that tunes in late: make_set.py's progressions change chord every bar and
open on the tonic, so from bar 1 on a song opens on vi, IV, V, ii or iii
(major) or iv, VI, bVII, III (minor), the case of a tag named after the
first chord.

The element's messages are cached (--cache, per set and join bar; delete the
cache after changing the element) so that the rules are replayed without
running the pipelines again.
"""
import argparse
import csv
import json
import os
import statistics
import sys
import tempfile
import wave

import numpy as np

PC = {"C": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "F": 5, "F#": 6,
      "Gb": 6, "G": 7, "G#": 8, "Ab": 8, "A": 9, "A#": 10, "Bb": 10, "B": 11}
WINDOWS = [0, 10]
INTERVAL_NS = 500000000

# src/chroma/key.c: profiles (major, minor), harmonic expansion, combined
PROFILES = [
    ([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88],
     [6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17]),
    ([5.0, 2.0, 3.5, 2.0, 4.5, 4.0, 2.0, 4.5, 2.0, 3.5, 1.5, 4.0],
     [5.0, 2.0, 3.5, 4.5, 2.0, 4.0, 2.0, 4.5, 3.5, 2.0, 1.5, 4.0]),
    ([0.16519551, 0.04749026, 0.08293076, 0.06687112, 0.09994645, 0.09274123,
      0.05294487, 0.13159476, 0.05218986, 0.07443653, 0.06940723, 0.0642515],
     [0.17235348, 0.05336489, 0.0761009, 0.10043649, 0.05621498, 0.08527853,
      0.0497915, 0.13451001, 0.07458916, 0.05003023, 0.09187879, 0.05545106]),
    ([6.6, 2.0, 3.5, 2.3, 4.6, 4.0, 2.5, 5.2, 2.4, 3.7, 2.3, 3.4],
     [6.5, 2.7, 3.5, 5.4, 2.6, 3.5, 2.5, 5.2, 4.0, 2.7, 4.3, 3.2]),
]
HARM_OFFSET = [0, 0, 7, 0, 4, 7, 10]


def _expanded(notes):
    """Pitch-class weights with their harmonics (as src/chroma/key.c expands
    them), centred and of unit norm."""
    h = np.zeros(12)
    g = 1.0
    for off in HARM_OFFSET:
        h += g * np.roll(notes, off)
        g *= 0.75
    h -= h.mean()
    return h / np.linalg.norm(h)


def _templates():
    """(24, 12) centred, unit-norm expected chroma of each key (combined:
    the four profiles kept apart, averaged after correlating)."""
    out = np.zeros((4, 24, 12))
    for p, (maj, mnr) in enumerate(PROFILES):
        for m, prof in enumerate((maj, mnr)):
            h = _expanded(prof)
            for t in range(12):
                out[p, m * 12 + t] = np.roll(h, t)
    return out


TEMPLATES = _templates()


def _triads():
    """(24, 12) centred, unit-norm expected chroma of a lone major or minor
    triad (the same harmonic expansion as the key profiles)."""
    out = np.zeros((24, 12))
    for m, third in enumerate((4, 3)):
        notes = np.zeros(12)
        notes[[0, third, 7]] = 1.0
        h = _expanded(notes)
        for t in range(12):
            out[m * 12 + t] = np.roll(h, t)
    return out


TRIADS = _triads()


def triad_corr(chroma):
    x = np.asarray(chroma, dtype=float)
    x = x - x.mean()
    n = np.linalg.norm(x)
    if n < 1e-20:
        return 0.0
    return float((TRIADS @ (x / n)).max())


def scores(chroma):
    x = np.asarray(chroma, dtype=float)
    x = x - x.mean()
    n = np.linalg.norm(x)
    if n < 1e-20:
        return None
    return (TEMPLATES @ (x / n)).mean(axis=0)


def key_index(name):
    """'A minor' -> 21; None for 'none'."""
    if name in (None, "", "none"):
        return None
    t, m = name.split()
    return PC[t] + (12 if m == "minor" else 0)


def relative(k):
    return (k + 9) % 12 + 12 if k < 12 else (k - 12 + 3) % 12


def category(ref, est):
    if est is None:
        return "none"
    if est == ref:
        return "correct"
    if est == relative(ref):
        return "relative"
    if (ref < 12) == (est < 12):
        d = (est - ref) % 12
        if d in (5, 7):
            return "fifth"
    return "other"


def join_late(set_dir, rows, bar, out):
    """The songs as heard by a tagger that joins at the start of bar @bar
    (make_set.py's songs change chord every bar and open on the tonic: from
    bar 1 on they open on another chord). Cut WAVs go to @out."""
    os.makedirs(out, exist_ok=True)
    for r in rows:
        dst = os.path.join(out, r["file"])
        if os.path.exists(dst):
            continue
        beats_per_bar = int(r["meter"].split("/")[0])
        with open(os.path.join(set_dir, r["file"][:-4] + ".beats")) as f:
            beats = [float(x) for x in f.read().split()]
        t0 = beats[bar * beats_per_bar]
        with wave.open(os.path.join(set_dir, r["file"])) as w:
            params = w.getparams()
            w.setpos(int(round(t0 * w.getframerate())))
            data = w.readframes(w.getnframes())
        with wave.open(dst + ".part", "wb") as w:
            w.setparams(params)
            w.writeframes(data)
        os.replace(dst + ".part", dst)
    return out


def run_set(set_dir, join_bar=0, tmp=None):
    import gi
    gi.require_version("Gst", "1.0")
    from gi.repository import Gst
    Gst.init(None)
    with open(os.path.join(set_dir, "labels.csv")) as f:
        rows = list(csv.DictReader(f))
    wav_dir = set_dir
    if join_bar > 0:
        wav_dir = join_late(set_dir, rows, join_bar, tmp)
    songs = []
    for r in rows:
        branches = "".join(
            f"t. ! queue max-size-time=0 max-size-bytes=0 max-size-buffers=0 ! "
            f"chromakey name=k{w} window={w} interval={INTERVAL_NS} ! "
            f"fakesink name=s{w} sync=false " for w in WINDOWS)
        pipe = Gst.parse_launch(
            f'filesrc location="{os.path.join(wav_dir, r["file"])}" ! wavparse ! '
            f'audioconvert ! tee name=t {branches}')
        got = {w: {"results": [], "tags": [], "final": None} for w in WINDOWS}

        def probe(pad, info, w):
            ev = info.get_event()
            if ev.type == Gst.EventType.TAG:
                ok, v = ev.parse_tag().get_string("musical-key")
                if ok:
                    got[w]["tags"].append(v)
            return Gst.PadProbeReturn.OK

        for w in WINDOWS:
            pipe.get_by_name(f"k{w}").get_static_pad("src").add_probe(
                Gst.PadProbeType.EVENT_DOWNSTREAM, probe, w)
        bus = pipe.get_bus()
        pipe.set_state(Gst.State.PLAYING)
        while True:
            msg = bus.timed_pop_filtered(Gst.CLOCK_TIME_NONE,
                                         Gst.MessageType.ELEMENT | Gst.MessageType.EOS |
                                         Gst.MessageType.ERROR)
            if msg.type == Gst.MessageType.ERROR:
                raise RuntimeError(msg.parse_error()[0].message)
            if msg.type == Gst.MessageType.EOS:
                break
            s = msg.get_structure()
            if s.get_name() != "chromakey":
                continue
            w = int(msg.src.get_name()[1:])
            ts = s.get_value("timestamp") + s.get_value("duration")
            item = {"t": ts / 1e9, "key": s.get_value("key"),
                    "uncertain": bool(s.get_value("uncertain")),
                    "corr": s.get_value("correlation"),
                    "runner": s.get_value("runner-up"),
                    "runner_corr": s.get_value("runner-up-correlation"),
                    "chroma": [float(v) for v in s.get_value("chroma")]}
            if s.get_value("final"):
                got[w]["final"] = item
            else:
                got[w]["results"].append(item)
        pipe.set_state(Gst.State.NULL)
        songs.append({"file": r["file"], "key": r["key"], "runs": got})
    return songs


def load(set_dir, cache, join_bar):
    name = os.path.basename(os.path.normpath(set_dir)) + (f"-bar{join_bar}" if join_bar else "")
    if not cache:
        with tempfile.TemporaryDirectory() as tmp:
            return run_set(set_dir, join_bar, os.path.join(tmp, name))
    os.makedirs(cache, exist_ok=True)
    path = os.path.join(cache, name + ".json")
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    songs = run_set(set_dir, join_bar, os.path.join(cache, name))
    with open(path, "w") as f:
        json.dump(songs, f)
    return songs


def rule_fn(rule):
    """A predicate (history of score vectors, index) -> bool."""
    if rule == "element":
        return None
    if "&" in rule or "|" in rule:
        op = "&" if "&" in rule else "|"
        fs = [rule_fn(r) for r in rule.split(op)]
        if op == "&":
            return lambda hist, i: all(g(hist, i) for g in fs)
        return lambda hist, i: any(g(hist, i) for g in fs)
    name, val = rule.split(">=")
    val = float(val)
    if name == "margin":
        def f(hist, i):
            s = np.sort(hist[i])
            return s[-1] - s[-2] >= val - 1e-9
    elif name == "margin-nr":
        def f(hist, i):
            sc = hist[i]
            b = int(np.argmax(sc))
            rest = [sc[j] for j in range(24) if j not in (b, relative(b))]
            return sc[b] - max(rest) >= val - 1e-9
    elif name == "notchord":
        def f(hist, i):
            return hist[i].max() - hist.triads[i] >= val - 1e-9
    elif name == "after":
        def f(hist, i):
            return (i + 1) * INTERVAL_NS / 1e9 >= val - 1e-9
    elif name == "stable":
        k = int(val)

        def f(hist, i):
            if i + 1 < k:
                return False
            b = [int(np.argmax(hist[j])) for j in range(i - k + 1, i + 1)]
            return len(set(b)) == 1
    else:
        raise ValueError(rule)
    return f


class History(list):
    def __init__(self):
        super().__init__()
        self.triads = []


def evaluate(songs, w, rule, check_tags=False):
    fn = rule_fn(rule)
    n = len(songs)
    first_cat = {}
    tag_wrong = 0
    none = 0
    res_total = res_wrong = 0
    t_first, t_correct, never_correct = [], [], 0
    final_ok = 0
    mism = 0
    tag_mism = pushed = pushed_wrong = 0
    for s in songs:
        ref = key_index(s["key"])
        run = s["runs"][str(w)] if str(w) in s["runs"] else s["runs"][w]
        hist = History()
        for r in run["results"]:
            hist.triads.append(triad_corr(r["chroma"]))
            sc = scores(r["chroma"])
            hist.append(sc if sc is not None else np.zeros(24))
            if sc is not None and r["key"] != "none":
                if int(np.argmax(sc)) != key_index(r["key"]) or abs(sc.max() - r["corr"]) > 1e-4:
                    mism += 1
        first = None
        correct_t = None
        tags = []
        for i, r in enumerate(run["results"]):
            certain = not r["uncertain"]
            if certain and fn is not None:
                certain = fn(hist, i)
            if not certain:
                continue
            est = key_index(r["key"])
            if not tags or tags[-1] != est:
                tags.append(est)
            res_total += 1
            if est != ref:
                res_wrong += 1
            if first is None:
                first = (r["t"], est)
            if correct_t is None and est == ref:
                correct_t = r["t"]
        if first is None:
            none += 1
            first_cat["none"] = first_cat.get("none", 0) + 1
        else:
            c = category(ref, first[1])
            first_cat[c] = first_cat.get(c, 0) + 1
            t_first.append(first[0])
        if correct_t is None:
            never_correct += 1
        else:
            t_correct.append(correct_t)
        if check_tags and run["tags"]:
            if key_index_tag(run["tags"][0]) != ref:
                tag_wrong += 1
        if check_tags:
            # the element's tags: the periodic ones, then the final one
            got = [key_index_tag(t) for t in run["tags"]]
            fin = run["final"]
            if fin and not fin["uncertain"]:
                got = got[:-1]
            if got != tags:
                tag_mism += 1
        pushed += len(tags)
        pushed_wrong += sum(1 for t in tags if t != ref)
        fin = run["final"]
        if fin and not fin["uncertain"] and key_index(fin["key"]) == ref:
            final_ok += 1
    wrong_first = n - none - first_cat.get("correct", 0)
    return {"n": n, "first_wrong": wrong_first / n,
            "first_rel": first_cat.get("relative", 0) / n,
            "first_fifth": first_cat.get("fifth", 0) / n,
            "first_other": first_cat.get("other", 0) / n,
            "tag_wrong": tag_wrong / n if check_tags else None,
            "none": none / n, "res_wrong": res_wrong / max(res_total, 1),
            "t_first": statistics.median(t_first) if t_first else float("nan"),
            "t_correct": statistics.median(t_correct) if t_correct else float("nan"),
            "never_correct": never_correct / n, "final": final_ok / n, "mismatch": mism,
            "tag_mismatch": tag_mism, "tags_per_song": pushed / n,
            "tags_wrong": pushed_wrong / max(pushed, 1)}


def key_index_tag(tag):
    """GStreamer musical-key notation ('Am', 'F#', 'Bbm') -> index."""
    minor = tag.endswith("m")
    t = tag[:-1] if minor else tag
    return PC[t] + (12 if minor else 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--set", action="append", required=True,
                    help="a rendered set (labels.csv + WAVs); repeat for several")
    ap.add_argument("--cache", help="keep the recorded messages here (JSON per set; delete "
                    "it when the element changes)")
    ap.add_argument("--join-bar", type=int, default=0,
                    help="the tagger joins at the start of this bar (0: the song's start; "
                    "from 1 on the songs open on another chord than the tonic)")
    ap.add_argument("--rules", action="store_true", help="replay candidate rules")
    ap.add_argument("--rule", action="append", default=[],
                    help="a rule to replay (margin>=0.05, margin-nr>=0.05, stable>=4)")
    a = ap.parse_args()
    rules = ["element"] + a.rule
    if a.rules:
        rules += [f"margin>={m:.2f}" for m in (0.02, 0.04, 0.06, 0.08, 0.10)]
        rules += [f"margin-nr>={m:.2f}" for m in (0.02, 0.04, 0.06, 0.08, 0.10, 0.12, 0.15)]
        rules += [f"stable>={k}" for k in (2, 4, 6, 8)]
        rules += [f"after>={t}" for t in (3, 4, 6)]
        rules += [f"notchord>={d:.2f}" for d in (-0.10, -0.05, 0.0)]
        rules += ["margin>=0.10|after>=6", "stable>=4|after>=6"]
    hdr = (f"{'set':6} {'win':>3} {'rule':15} {'n':>4} {'1st-wrong':>9} {'rel':>5} {'5th':>5} "
           f"{'other':>5} {'1sttag':>6} {'none':>5} {'res-wr':>6} {'t-1st':>5} {'t-ok':>5} "
           f"{'never':>5} {'tags':>4} {'tg-wr':>5} {'final':>5}")
    print(hdr)
    for d in a.set:
        songs = load(d, a.cache, a.join_bar)
        for w in WINDOWS:
            for rule in rules:
                e = evaluate(songs, w, rule, check_tags=(rule == "element"))
                tw = f"{e['tag_wrong']:.3f}" if e["tag_wrong"] is not None else "-"
                print(f"{os.path.basename(os.path.normpath(d)):6} {w:>3} {rule:15} {e['n']:>4} "
                      f"{e['first_wrong']:>9.3f} {e['first_rel']:>5.3f} {e['first_fifth']:>5.3f} "
                      f"{e['first_other']:>5.3f} {tw:>6} {e['none']:>5.3f} "
                      f"{e['res_wrong']:>6.3f} {e['t_first']:>5.1f} {e['t_correct']:>5.1f} "
                      f"{e['never_correct']:>5.3f} {e['tags_per_song']:>4.2f} "
                      f"{e['tags_wrong']:>5.3f} "
                      f"{e['final']:>5.3f}"
                      + (f"  (score mismatches {e['mismatch']})" if e["mismatch"] else "")
                      + (f"  (tag mismatches {e['tag_mismatch']})" if e["tag_mismatch"] else ""))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
