#!/usr/bin/python3
"""The evaluations that import eval_onsetbpm's runners work on their own: the synthetic
grooves' generator and eval_onsetbpm.run_musa, as eval_onsetbpm_grooves.py and
eval_onsetbpm_medley.py call them (both failed at once with a NameError in session 14, when
run_musa read a setting only eval_onsetbpm.py's own main() defined). A house groove at
120 BPM reads 120 within 4 %, with beats and onsets."""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import eval_onsetbpm  # noqa: E402
import eval_onsetbpm_grooves as grooves  # noqa: E402
import eval_onsetbpm_medley  # noqa: E402,F401
from wavio import write_wav  # noqa: E402


def main():
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "house-120.wav")
        write_wav(path, grooves.groove("house", 120, 1)[:, None], grooves.RATE)
        r = eval_onsetbpm.run_musa(path)
    ok = abs(r["bpm"] - 120.0) <= 0.04 * 120.0 and len(r["beats"]) > 10 and len(r["onsets"]) > 10
    print(f"house groove at 120 BPM: onsetbpm {r['bpm']:.2f} BPM, {len(r['beats'])} beats, "
          f"{len(r['onsets'])} onsets: {'ok' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
