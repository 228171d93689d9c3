#!/usr/bin/python3
"""Onset preservation of time stretch on rendered songs, beside peers.

For each song of ../shared/data/make_set.py, stretch by r with libmusa
(tests/eval/stretch_wav.c, compiled here against the build tree), rubberband
(R2 default, R3 --fine) and sox tempo; detect onsets of the result with
`aubio onset` and score them (mir_eval F-measure, 50 ms) against the song's
MIDI onsets scaled by 1 / r (the original songs are scored the same way), and
against the onsets aubio finds in the original, scaled by 1 / r (preservation:
1.0 = the stretched song has the same detectable onsets, moved by 1 / r).

usage: /usr/bin/python3 tests/eval/stretch_eval.py [--n 24] [--seed 5]
       [--set DIR] [--build BUILD_DIR]
Also importable: eval_stretch(set_dir, build_dir, rates) -> rows.
"""
import argparse
import csv
import os
import subprocess
import sys
import tempfile

import mir_eval
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get('MUSA_SOURCE_ROOT', os.path.dirname(os.path.dirname(HERE)))


def build_driver(build_dir, out_dir):
    exe = os.path.join(out_dir, 'stretch_wav')
    subprocess.run(['cc', '-O2', '-std=c11', '-D_GNU_SOURCE',
                    '-I', os.path.join(ROOT, 'src'), '-I', os.path.join(build_dir, 'src'),
                    os.path.join(HERE, 'stretch_wav.c'), '-o', exe,
                    '-L', os.path.join(build_dir, 'src'), '-lmusa-1.0',
                    '-Wl,-rpath,' + os.path.join(build_dir, 'src'), '-lm'], check=True)
    return exe


def aubio_onsets(wav):
    out = subprocess.run(['aubio', 'onset', '-i', wav], capture_output=True,
                         text=True, check=True).stdout.split()
    return np.array([float(v) for v in out])


def eval_stretch(set_dir, build_dir, rates=(0.8, 1.25)):
    tmp = tempfile.mkdtemp(prefix='musa-stretch-eval-')
    exe = build_driver(build_dir, tmp)
    tools = {
        'musa': lambda i, o, r: [exe, i, o, repr(r), '0'],
        'rubberband': lambda i, o, r: ['rubberband', '-q', '-t', repr(1 / r), i, o],
        'rubberband --fine': lambda i, o, r: ['rubberband', '-q', '--fine', '-t', repr(1 / r), i, o],
        'sox tempo -m': lambda i, o, r: ['sox', i, o, 'tempo', '-m', repr(r)],
    }
    songs = list(csv.DictReader(open(os.path.join(set_dir, 'labels.csv'))))
    scores = {}
    out = os.path.join(tmp, 'out.wav')
    for song in songs:
        wav = os.path.join(set_dir, song['file'])
        truth = np.loadtxt(wav[:-4] + '.onsets', ndmin=1)
        orig = aubio_onsets(wav)
        f = mir_eval.onset.f_measure(truth, orig, window=0.05)[0]
        scores.setdefault(('original', 1.0), []).append((f, 1.0))
        for r in rates:
            for name, cmd in tools.items():
                try:
                    subprocess.run(cmd(wav, out, r), check=True, capture_output=True)
                except (OSError, subprocess.CalledProcessError):
                    continue
                est = aubio_onsets(out)
                f = mir_eval.onset.f_measure(truth / r, est, window=0.05)[0]
                k = mir_eval.onset.f_measure(orig / r, est, window=0.05)[0]
                scores.setdefault((name, r), []).append((f, k))
    for p in os.listdir(tmp):
        os.unlink(os.path.join(tmp, p))
    os.rmdir(tmp)
    return [(name, r, float(np.mean(v, axis=0)[0]), float(np.mean(v, axis=0)[1]), len(v))
            for (name, r), v in scores.items()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--n', type=int, default=24)
    ap.add_argument('--seed', type=int, default=5)
    ap.add_argument('--set')
    ap.add_argument('--build', default=os.environ.get('MUSA_BUILD_ROOT', os.path.join(ROOT, 'build')))
    a = ap.parse_args()
    set_dir = a.set
    if set_dir is None:
        set_dir = tempfile.mkdtemp(prefix='musa-stretch-set-')
        shared = os.environ.get('MUSA_SHARED', os.path.join(ROOT, '..', 'shared'))
        subprocess.run([sys.executable, os.path.join(shared, 'data', 'make_set.py'), '--n', str(a.n),
                        '--seed', str(a.seed), '--out', set_dir], check=True, capture_output=True)
    print('| tool | rate | onset F vs MIDI onsets / r | onset F vs original\'s onsets / r | songs |')
    print('|---|---|---|---|---|')
    for name, r, f, k, n in eval_stretch(set_dir, a.build):
        print('| %s | %g | %.3f | %.3f | %d |' % (name, r, f, k, n))


if __name__ == '__main__':
    main()
