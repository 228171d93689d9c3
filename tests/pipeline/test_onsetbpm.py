"""onsetbpm in real pipelines on rendered songs (../shared/data/make_set.py):
filesrc ! decodebin ! audioconvert ! onsetbpm ! fakesink gives, per song, a
final message and a beats-per-minute tag at the sink with the labelled tempo
(or, for the metrically ambiguous, an octave of it: mir_eval's Accuracy2),
beats that match the labelled beats (mir_eval beat F-measure) and onsets
that match the labelled note onsets; gst-launch-1.0 -m shows the messages."""
import csv
import os
import subprocess
import sys
import tempfile

import gi
import numpy as np
import mir_eval

gi.require_version('Gst', '1.0')
from gi.repository import Gst  # noqa: E402

Gst.init(None)
from shared_data import make_set_or_skip  # noqa: E402



def analyse(path):
    p = Gst.parse_launch(f'filesrc location="{path}" ! decodebin ! audioconvert ! '
                         'onsetbpm post-onsets=true ! fakesink name=sink')
    bus = p.get_bus()
    p.set_state(Gst.State.PLAYING)
    final, onsets, tag = None, [], None
    while True:
        msg = bus.timed_pop_filtered(60 * Gst.SECOND, Gst.MessageType.ELEMENT |
                                     Gst.MessageType.TAG | Gst.MessageType.EOS |
                                     Gst.MessageType.ERROR)
        assert msg is not None, 'timed out'
        if msg.type == Gst.MessageType.ERROR:
            raise SystemExit(f'error: {msg.parse_error()}')
        if msg.type == Gst.MessageType.EOS:
            break
        if msg.type == Gst.MessageType.TAG:
            ok, v = msg.parse_tag().get_double('beats-per-minute')
            if ok and msg.src.get_name() == 'sink':
                tag = v
            continue
        s = msg.get_structure()
        if s.get_name() == 'onset':
            onsets.append(s['timestamp'] / 1e9)
        elif s.get_name() == 'onsetbpm' and s['final']:
            final = (s['bpm'], s['confidence'], np.array(list(s.get_value('beats'))))
    p.set_state(Gst.State.NULL)
    return final, np.array(onsets), tag


def main():
    fails = 0
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(['/usr/bin/python3', make_set_or_skip(),
                        '--n', '3', '--seed', '7', '--seconds', '15', '--out', d],
                       check=True, capture_output=True)
        with open(os.path.join(d, 'labels.csv')) as f:
            rows = list(csv.DictReader(f))
        for r in rows:
            path = os.path.join(d, r['file'])
            ref_bpm = float(r['tempo_bpm'])
            (bpm, conf, beats), onsets, tag = analyse(path)
            ref_b = np.loadtxt(path[:-4] + '.beats', ndmin=1)
            ref_on = np.loadtxt(path[:-4] + '.onsets', ndmin=1)
            octave = any(abs(bpm - ref_bpm * m) <= 0.04 * ref_bpm * m for m in (1, 2, 0.5))
            # beats of the level found: every reference beat, or every other one
            step = 60.0 / max(bpm, ref_bpm) if bpm > 0 else 60.0 / ref_bpm
            grid = np.arange(ref_b[0], ref_b[-1] + 1e-6, step)
            bf = mir_eval.beat.f_measure(mir_eval.beat.trim_beats(grid),
                                         mir_eval.beat.trim_beats(beats))
            of = mir_eval.onset.f_measure(ref_on, onsets, 0.05)[0]
            ok = (octave and conf > 0.3 and tag is not None and abs(tag - bpm) < 1e-9
                  and bf >= 0.8 and of >= 0.6)
            print(f'{r["file"]} {r["groove"]:<12} {ref_bpm:5.0f} BPM: found {bpm:6.1f} (confidence '
                  f'{conf:.2f}, tag {tag}), beat F {bf:.2f}, onset F {of:.2f}: '
                  f'{"ok" if ok else "FAIL"}')
            fails += not ok
        # gst-launch-1.0 -m prints the final message
        out = subprocess.run(['gst-launch-1.0', '-m', 'filesrc', f'location={path}', '!',
                              'decodebin', '!', 'audioconvert', '!', 'onsetbpm', '!',
                              'fakesink'], capture_output=True, text=True, timeout=120).stdout
        if 'final=(boolean)true' not in out or 'beats-per-minute' not in out:
            print('gst-launch-1.0 -m: no final onsetbpm message or tag')
            fails += 1
    sys.exit(1 if fails else 0)


if __name__ == '__main__':
    main()
