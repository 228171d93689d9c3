#!/usr/bin/python3
"""knntag evaluation: 5-fold cross-validated accuracy of the `family` label (7 classes) with
the built-in embedding, on songs rendered by ../shared/data/make_set.py, and proof that
scikit-learn's KNeighborsClassifier with the same k / metric / weighting, on the exported
embeddings, makes the same predictions as the element.

    meson compile -C build eval-knntag
    # or: MUSA_BUILD_ROOT=build /usr/bin/python3 tests/eval/eval_knntag.py [--n 210] [--set DIR]

Steps (all through the installed pieces):
 1. render N songs (default 210, seed 1) unless --set / MUSA_KNN_SET names a rendered set;
 2. `musa-index build` two indices from labels.csv (--label-column family): 10 s snippets
    (what knntag mode=learn stores) and whole songs (--window 600);
 3. folds: StratifiedKFold(5, shuffle, seed 0) over songs (all snippets of a song are in the
    same fold); per fold, the training index = the snippet index with the test songs removed
    by `musa-index remove`;
 4. every test song goes through `filesrc ! decodebin ! audioconvert ! knntag location=fold.knn
    interval=10 s window=10` : its periodic votes are 10 s snippet queries, its EOS vote the
    whole-song answer (mean of the votes of its snippets);
 5. the same queries with scikit-learn (embeddings read from the index files, standardised with
    the fold index's statistics): predictions compared one by one.
Exit status 1 if the element and scikit-learn disagree or the snippet accuracy is below 0.90.
Embeddings are exported to BUILD/knntag-eval-embeddings.npz.
"""
import argparse
import csv
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

# wavparse logs a harmless typefind ERROR line for every WAV at the test suite's level 1
os.environ["GST_DEBUG"] = "*:0"

import gi  # noqa: E402
gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

TARGET = 0.90
HEADER = struct.Struct("<8sII Q 32s II II QQQQQQ Q")


def align(x, a):
    return (x + a - 1) // a * a


def read_index(path):
    """Parse a knntag index file (format version 1, see src/knn/index.h)."""
    d = open(path, "rb").read()
    (magic, version, hsize, fsize, name, dim, ever, flags, n_labels, n_items, n_refs,
     lpool, ipool, moff, _csum, _res) = HEADER.unpack_from(d, 0)
    assert magic == b"MUSAKNN\0" and version == 1 and hsize == 128 and fsize == len(d)
    off = 128
    mean = np.frombuffer(d, "<f4", dim, off)
    std = np.frombuffer(d, "<f4", dim, off + 4 * dim)
    off = align(off + 8 * dim, 8)
    loffs = np.frombuffer(d, "<u4", n_labels, off)
    off = align(off + 4 * n_labels, 8)
    pool = d[off:off + lpool]
    labels = [pool[o:pool.index(b"\0", o)].decode() for o in loffs]
    off = align(off + lpool, 8)
    starts = np.frombuffer(d, "<u8", n_items + 1, off)
    off = align(off + 8 * (n_items + 1), 8)
    refs = np.frombuffer(d, "<u4", n_refs, off)
    off = align(off + 4 * n_refs, 8)
    ioffs = np.frombuffer(d, "<u8", n_items, off)
    off = align(off + 8 * n_items, 8)
    pool = d[off:off + ipool]
    ids = [pool[o:pool.index(b"\0", o)].decode() for o in ioffs]
    X = np.frombuffer(d, "<f4", n_items * dim, moff).reshape(n_items, dim).copy()
    item_labels = [[labels[r] for r in refs[starts[i]:starts[i + 1]]] for i in range(n_items)]
    return dict(name=name.rstrip(b"\0").decode(), dim=dim, version=ever, flags=flags,
                mean=mean.copy(), std=std.copy(), ids=ids, labels=item_labels, X=X)


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stdout}{r.stderr}")
    return r.stdout


def tag_song(path, index, k, metric, weighting):
    """Run knntag on one file; returns (periodic top labels, final top label)."""
    pipe = Gst.parse_launch(
        f'filesrc name=src ! decodebin ! audioconvert ! knntag location="{index}" '
        f"k={k} metric={metric} weighting={weighting} window=10 interval=10000000000 "
        "! fakesink sync=false")
    pipe.get_by_name("src").set_property("location", path)
    bus = pipe.get_bus()
    pipe.set_state(Gst.State.PLAYING)
    periodic, final = [], None
    while True:
        msg = bus.timed_pop_filtered(
            60 * Gst.SECOND, Gst.MessageType.ELEMENT | Gst.MessageType.EOS | Gst.MessageType.ERROR)
        if msg is None:
            sys.exit(f"timeout on {path}")
        if msg.type == Gst.MessageType.ERROR:
            sys.exit(f"{path}: {msg.parse_error()[0].message}")
        if msg.type == Gst.MessageType.EOS:
            break
        s = msg.get_structure()
        if s.get_name() != "knntag":
            continue
        if s.get_value("final"):
            final = s.get_value("label")
        else:
            periodic.append(s.get_value("label"))
    pipe.set_state(Gst.State.NULL)
    return periodic, final


def sk_fit(train_X, train_y, mean, std, k, metric, weighting):
    """KNeighborsClassifier on the vectors standardised as knntag does."""
    from sklearn.neighbors import KNeighborsClassifier
    clf = KNeighborsClassifier(n_neighbors=k, metric=metric, weights=weighting,
                               algorithm="brute")
    clf.fit(standardise(train_X, mean, std), train_y)
    return clf


def standardise(X, mean, std):
    return ((X - mean) * (np.float32(1.0) / std)).astype(np.float32)


def sk_predict(train_X, train_y, test_X, mean, std, k, metric, weighting):
    clf = sk_fit(train_X, train_y, mean, std, k, metric, weighting)
    return clf.predict(standardise(test_X, mean, std))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=210)
    ap.add_argument("--set", default=os.environ.get("MUSA_KNN_SET"))
    ap.add_argument("--k", type=int, default=5)
    args = ap.parse_args()
    build = os.environ.get("MUSA_BUILD_ROOT", "build")
    shared = os.environ.get("MUSA_SHARED",
                            os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))
    tool = os.path.join(build, "gst", "musa-index")
    Gst.init(None)
    if Gst.ElementFactory.find("knntag") is None:
        sys.exit("knntag not found (GST_PLUGIN_PATH)")

    setdir = args.set or os.path.join(tempfile.gettempdir(), f"musa-eval-knntag-{args.n}")
    labels_csv = os.path.join(setdir, "labels.csv")
    if not os.path.exists(labels_csv):
        t = time.time()
        print(f"rendering {args.n} songs into {setdir} ...", flush=True)
        run(["/usr/bin/python3", os.path.join(shared, "data", "make_set.py"), "--n",
             str(args.n), "--seed", "1", "--out", setdir])
        print(f"  {time.time() - t:.0f} s")
    rows = list(csv.DictReader(open(labels_csv)))
    songs = [r["file"] for r in rows]
    family = {r["file"]: r["family"] for r in rows}
    print(f"{len(songs)} songs, families: "
          + ", ".join(f"{f} {sum(1 for s in songs if family[s] == f)}"
                      for f in sorted(set(family.values()))))

    work = tempfile.mkdtemp(prefix="musa-eval-knntag-")
    snip_idx = os.path.join(work, "snippets.knn")
    whole_idx = os.path.join(work, "whole.knn")
    t = time.time()
    run([tool, "build", snip_idx, labels_csv, "--label-column", "family", "--window", "10"])
    t_build = time.time() - t
    run([tool, "build", whole_idx, labels_csv, "--label-column", "family", "--window", "600"])
    run([tool, "verify", snip_idx])
    S = read_index(snip_idx)
    W = read_index(whole_idx)
    song_of = [i.rsplit("#", 1)[0] for i in S["ids"]]
    snip_no = [int(i.rsplit("#", 1)[1]) for i in S["ids"]]
    y_snip = np.array([family[s] for s in song_of])
    whole_row = {i.rsplit("#", 1)[0]: n for n, i in enumerate(W["ids"])}
    print(f"index: {len(S['ids'])} snippets of 10 s from {len(set(song_of))} songs "
          f"(musa-index build, {t_build:.1f} s), embedding {S['name']} dim {S['dim']}")
    np.savez(os.path.join(build, "knntag-eval-embeddings.npz"), snippets=S["X"],
             snippet_ids=np.array(S["ids"]), snippet_family=y_snip, whole=W["X"],
             whole_ids=np.array(W["ids"]))

    from sklearn.model_selection import StratifiedKFold
    skf = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    y_song = np.array([family[s] for s in songs])
    configs = [(args.k, "cosine", "uniform"), (args.k, "euclidean", "distance")]
    results = {}
    for k, metric, weighting in configs:
        tot_snip = ok_snip = tot_whole = ok_whole = agree = compared = 0
        ok_sk_whole_whole = 0
        t0 = time.time()
        for fold, (tr, te) in enumerate(skf.split(songs, y_song)):
            test = [songs[i] for i in te]
            fold_idx = os.path.join(work, f"fold{fold}.knn")
            shutil.copy(snip_idx, fold_idx)
            run([tool, "remove", fold_idx] + test)
            F = read_index(fold_idx)
            test_set = set(test)
            tr_rows = [i for i, s in enumerate(song_of) if s not in test_set]
            assert len(tr_rows) == len(F["ids"])
            clf = sk_fit(F["X"], y_snip[tr_rows], F["mean"], F["std"], k, metric, weighting)
            classes = list(clf.classes_)
            for song in test:
                periodic, final = tag_song(os.path.join(setdir, song), fold_idx, k, metric,
                                           weighting)
                truth = family[song]
                rows_all = sorted((i for i, s in enumerate(song_of) if s == song),
                                  key=lambda i: snip_no[i])
                rows_q = rows_all[:len(periodic)]
                # periodic votes = queries of the 10 s snippets at 10, 20, 30 s
                pred = clf.predict(standardise(S["X"][rows_q], F["mean"], F["std"]))
                compared += len(rows_q)
                agree += sum(1 for a, b in zip(periodic, pred) if a == b)
                # EOS vote = mean of the votes of all the song's snippets (the last,
                # shorter one included, as in learn mode); equal scores are a tie
                # that the label sorting first wins (scikit-learn: classes_ order)
                proba = clf.predict_proba(standardise(S["X"][rows_all], F["mean"],
                                                      F["std"])).mean(0)
                compared += 1
                if final in classes:
                    agree += proba[classes.index(final)] >= proba.max() - 1e-6
                for lab in periodic:
                    tot_snip += 1
                    ok_snip += lab == truth
                tot_whole += 1
                ok_whole += final == truth
            # scikit-learn only: whole songs as both index and queries
            tr_songs = [songs[i] for i in tr]
            Xw = W["X"][[whole_row[s] for s in tr_songs]]
            mean, std = Xw.mean(0), Xw.std(0)
            std[std < 1e-6] = 1
            p = sk_predict(Xw, y_song[tr], W["X"][[whole_row[s] for s in test]], mean, std, k,
                           metric, weighting)
            ok_sk_whole_whole += int((p == y_song[te]).sum())
        key = f"k={k} {metric} {weighting}"
        results[key] = dict(snippet_accuracy=ok_snip / tot_snip, n_snippet_queries=tot_snip,
                            whole_song_accuracy=ok_whole / tot_whole, n_songs=tot_whole,
                            whole_vs_whole_index_accuracy=ok_sk_whole_whole / len(songs),
                            sklearn_agreement=agree / compared, n_compared=compared,
                            seconds=time.time() - t0)
        print(f"{key}: 10 s snippets {ok_snip}/{tot_snip} = {ok_snip / tot_snip:.3f}, "
              f"whole songs {ok_whole}/{tot_whole} = {ok_whole / tot_whole:.3f} "
              f"(vs an index of whole songs: {ok_sk_whole_whole / len(songs):.3f}), "
              f"identical to scikit-learn: {agree}/{compared} ({time.time() - t0:.0f} s)",
              flush=True)

    out = os.path.join(build, "knntag-eval.json")
    json.dump(results, open(out, "w"), indent=1)
    print("\n| k / metric / weighting | 10 s snippets | whole songs | whole vs whole-song index |"
          " same as scikit-learn |")
    print("|---|---|---|---|---|")
    for key, r in results.items():
        print(f"| {key} | {r['snippet_accuracy']:.3f} ({r['n_snippet_queries']}) | "
              f"{r['whole_song_accuracy']:.3f} ({r['n_songs']}) | "
              f"{r['whole_vs_whole_index_accuracy']:.3f} | "
              f"{r['n_compared'] * r['sklearn_agreement']:.0f}/{r['n_compared']} |")
    shutil.rmtree(work, ignore_errors=True)
    first = results[f"k={args.k} cosine uniform"]
    ok = all(r["sklearn_agreement"] == 1.0 for r in results.values()) and \
        first["snippet_accuracy"] >= TARGET
    print(f"\ntarget: snippet accuracy >= {TARGET} and identical predictions: "
          f"{'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
