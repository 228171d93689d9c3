#!/usr/bin/python3
"""chromakey in real pipelines on a few rendered songs (make_set.py, seed 7).

- gst-launch-1.0 -m with decodebin: the final `chromakey` message and the
  musical-key tag reach the bus; the key is checked against the label
  (mir_eval weighted score of the three songs >= 0.8).
- the same song through audioresample to 16 kHz and with S16 stereo caps
  gives the same key (the filterbank is built for the actual rate).
Skips (exit 77) when mma/fluidsynth are missing.
"""
import csv
import os
import re
import subprocess
import sys
import tempfile

import mir_eval

from shared_data import make_set_or_skip  # noqa: E402

make_set = make_set_or_skip()

failures = 0


def check(cond, what):
    global failures
    print(("ok - " if cond else "not ok - ") + what)
    if not cond:
        failures += 1


def run(pipeline):
    r = subprocess.run(["gst-launch-1.0", "-m"] + pipeline.split(), capture_output=True,
                       text=True, timeout=120)
    return r.returncode, r.stdout + r.stderr


def final_key(out):
    keys = re.findall(r'chromakey, .*?key=\(string\)"?([A-G][#b]?\\? (?:major|minor)|none)'
                      r'.*?final=\(boolean\)true', out)
    return keys[-1].replace("\\", "") if keys else None


with tempfile.TemporaryDirectory(prefix="musa-chromakey-") as tmp:
    subprocess.run([sys.executable, make_set, "--n", "3", "--seed", "7", "--seconds", "20",
                    "--out", tmp], check=True, capture_output=True)
    with open(os.path.join(tmp, "labels.csv")) as f:
        rows = list(csv.DictReader(f))
    scores = []
    for row in rows:
        path = os.path.join(tmp, row["file"])
        rc, out = run(f"filesrc location={path} ! decodebin ! audioconvert ! "
                      f"chromakey ! fakesink")
        check(rc == 0, f"{row['file']}: pipeline ran")
        key = final_key(out)
        check(key is not None, f"{row['file']}: final message ({key}, label {row['key']})")
        check("musical-key" in out, f"{row['file']}: musical-key tag on the bus")
        scores.append(mir_eval.key.weighted_score(row["key"], key or "X"))
        # another rate and format, same key
        rc, out2 = run(f"filesrc location={path} ! decodebin ! audioconvert ! audioresample ! "
                       f"audio/x-raw,rate=16000,format=S16LE,channels=2 ! chromakey ! fakesink")
        check(rc == 0 and final_key(out2) == key,
              f"{row['file']}: 16 kHz S16 stereo gives {final_key(out2)}")
    mean = sum(scores) / len(scores)
    check(mean >= 0.8, f"weighted score over {len(scores)} songs {mean:.2f} >= 0.8")

sys.exit(1 if failures else 0)
