#!/usr/bin/python3
"""The evaluations' conditions keep the labels aligned: a song through each lossy codec
(conditions.codec: GStreamer encoder, decoder, the codec's delay trimmed) has its tone bursts
where they were, to within 1 ms, at the original's length; a decoded file that is not the
original is refused, not aligned somewhere. The detuned conditions (a432, sharp40) move the
tones by their factor, and the onset times and the tempo label with them."""
import os
import shutil
import sys
import tempfile

import gi
import numpy as np

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conditions import CODECS, align, codec, make_condition  # noqa: E402
from wavio import read_wav, write_wav  # noqa: E402

RATE = 44100
TIMES = [0.5, 1.25, 2.0, 2.6, 3.4, 4.1, 4.9]
FREQS = [220.0, 440.0, 1000.0, 330.0, 2500.0, 660.0, 1500.0]
BURST = 0.08  # s, Hann-shaped tone bursts


def song():
    t = np.arange(int(5.5 * RATE)) / RATE
    x = np.zeros((len(t), 2))
    for i, (t0, f) in enumerate(zip(TIMES, FREQS)):
        n = int(BURST * RATE)
        k = int(t0 * RATE)
        b = 0.4 * np.hanning(n) * np.sin(2 * np.pi * f * t[:n])
        x[k:k + n, 0] += b
        x[k:k + n, 1] += b * (0.5 if i % 2 else 1.0)
    return x


def centroids(x):
    """Energy centroid (s) of each burst, within 50 ms of its place."""
    e = np.sum(x * x, axis=1)
    out = []
    for t0 in TIMES:
        a, b = int((t0 - 0.05) * RATE), int((t0 + BURST + 0.05) * RATE)
        out.append(np.sum(np.arange(a, b) * e[a:b]) / np.sum(e[a:b]) / RATE)
    return np.array(out)


def centroids_at(x, times, factor):
    """Energy centroid (s) of each burst of a song played at @factor of its speed, the bursts
    expected at @times."""
    e = np.sum(x * x, axis=1)
    out = []
    for t0 in times:
        a, b = int((t0 - 0.05) * RATE), int((t0 + BURST / factor + 0.05) * RATE)
        out.append(np.sum(np.arange(a, b) * e[a:b]) / np.sum(e[a:b]) / RATE)
    return np.array(out) - BURST / factor / 2


def main():
    Gst.init(None)
    failures = 0
    tested = 0
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "song.wav")
        x = song()
        write_wav(src, x, RATE)
        ref = centroids(x)
        for cond, (enc, dec) in CODECS.items():
            missing = [e.split()[0] for e in (enc + " ! " + dec).split("!")
                       if Gst.ElementFactory.find(e.split()[0]) is None]
            if missing:
                print(f"{cond}: skipped, no {', '.join(missing)}")
                continue
            tested += 1
            dst = os.path.join(tmp, cond + ".wav")
            lag, kbps = codec(src, dst, cond)
            y, rate = read_wav(dst)
            err = (centroids(y) - ref) * 1000
            ok = rate == RATE and len(y) == len(x) and np.all(np.abs(err) < 1.0)
            print(f"{cond}: {kbps:.0f} kbit/s, codec lag {lag} samples trimmed; bursts "
                  f"{' '.join(f'{e:+.2f}' for e in err)} ms from their places, "
                  f"{len(y)} frames of {len(x)}: {'ok' if ok else 'FAIL'}")
            failures += not ok
        # detuned: tones, onset labels and tempo label move together
        with open(os.path.join(tmp, "labels.csv"), "w") as f:
            f.write("file,key,tempo_bpm,seconds\nsong.wav,C major,120,5.50\n")
        np.savetxt(os.path.join(tmp, "song.onsets"), np.array(TIMES), fmt="%.6f")
        for cond, factor in (("a432", 432.0 / 440.0), ("sharp40", 2.0 ** (40.0 / 1200.0))):
            d, rows = make_condition(tmp, cond, [{"file": "song.wav", "key": "C major",
                                                   "tempo_bpm": "120", "seconds": "5.50"}])
            y, rate = read_wav(os.path.join(d, "song.wav"))
            on = np.loadtxt(os.path.join(d, "song.onsets"), ndmin=1)
            # the 440 Hz burst (the second): its frequency by the spectrum's peak
            k = int(on[1] * rate)
            seg = y[k:k + int(BURST / factor * rate), 0]
            spec = np.abs(np.fft.rfft(seg * np.hanning(len(seg)), 1 << 20))
            f0 = np.argmax(spec) * rate / (1 << 20)
            err = (centroids_at(y, on, factor) - on) * 1000
            ok = (abs(f0 - 440.0 * factor) < 0.5 and np.all(np.abs(err) < 2.0)
                  and abs(float(rows[0]["tempo_bpm"]) - 120 * factor) < 1e-3
                  and rows[0]["key"] == "C major")
            print(f"{cond}: the 440 Hz tone at {f0:.2f} Hz (want {440 * factor:.2f}), onset labels "
                  f"{np.max(np.abs(err)):.2f} ms from the bursts at most, tempo label "
                  f"{rows[0]['tempo_bpm']}: {'ok' if ok else 'FAIL'}")
            failures += not ok
            shutil.rmtree(d)  # beside the temporary folder, not in it
        # a decoded file that is not the song (noise) is refused
        rng = np.random.default_rng(1)
        try:
            align(0.1 * rng.standard_normal(x.shape), x, RATE, "noise")
            print("noise aligned with the song: FAIL")
            failures += 1
        except RuntimeError as e:
            print(f"noise refused: {e}")
    if not tested:
        print("no codec to test")
        return 77
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
