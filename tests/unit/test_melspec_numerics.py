#!/usr/bin/python3
"""libmusa's mel spectrogram against librosa's algorithm (melspec_ref.py).

Runs the C core through the melspec-dump tool ($MELSPEC_DUMP) on chirps,
white noise and chords at 22050, 44100 and 48000 Hz, for the Slaney and HTK
scales, Slaney norm on and off, power 1 and 2, linear / dB / log1p output,
plus other windows, window lengths, FFT sizes and frequency ranges, and
checks:

  linear   max relative error <= 1e-4 on values above 1e-6 of the frame max
  dB       max error <= 0.01 dB on values above librosa's (global) top-db
           floor; and everywhere against the per-frame floor the streaming
           core documents (max(frame) - top_db)
  log1p    max relative error <= 1e-4 where the linear value is checked
  framing  1 + n // hop frames for center=True, frame i centred on sample
           i * hop (an impulse gives the window's value as gain)
  chunks   identical bytes for input chunks of 1, 7, 512, 4096, 65536

With --element it checks the GStreamer element instead (suite 'pipeline'):
stereo F32 and mono S16 streams pushed through appsrc ! melspec ! fakesink
in uneven buffers, the frames read back from the `melspec` bus messages and
compared with the reference on the downmix, with the same tolerances.
"""

import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import melspec_ref as ref  # noqa: E402

DUMP = os.environ.get("MELSPEC_DUMP")
RATES = (22050, 44100, 48000)
LIN_TOL = 1e-4
LIN_FLOOR = 1e-6
DB_TOL = 0.01
TOP_DB = 80.0
LOG_MULT = 10.0
CHUNKS = (1, 7, 512, 4096, 65536)

POOL = ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 2)))
failures = []
worst = {"lin": (0.0, ""), "db": (0.0, ""), "db_frame": (0.0, ""),
         "log1p": (0.0, "")}


def fail(msg):
    failures.append(msg)
    print("FAIL " + msg, flush=True)


def note_worst(kind, err, label):
    if err > worst[kind][0]:
        worst[kind] = (err, label)


# --- signals (float32, as an element would receive them) --------------------

def chirp(sr, seconds=1.0):
    """Exponential sweep 40 Hz -> 0.45 sr, amplitude 0.5."""
    n = int(seconds * sr) + 123  # not a multiple of any hop
    t = np.arange(n) / sr
    f0, f1, T = 40.0, 0.45 * sr, n / sr
    k = np.log(f1 / f0)
    phase = 2 * np.pi * f0 * T / k * (np.exp(t * k / T) - 1.0)
    return (0.5 * np.sin(phase)).astype(np.float32)


def noise(sr, seconds=1.0):
    n = int(seconds * sr) + 77
    rng = np.random.default_rng(sr)
    return (0.2 * rng.standard_normal(n)).astype(np.float32)


def chord(sr, seconds=1.0):
    """C major seventh over a C2 bass, 8 harmonics each (1/k), fixed phases,
    with a 20 ms attack, peak 0.8."""
    n = int(seconds * sr) + 211
    t = np.arange(n) / sr
    rng = np.random.default_rng(7)
    y = np.zeros(n)
    for midi in (36, 60, 64, 67, 71):
        f = 440.0 * 2 ** ((midi - 69) / 12)
        for k in range(1, 9):
            if f * k < sr / 2:
                y += np.sin(2 * np.pi * f * k * t + rng.uniform(0, 2 * np.pi)) / k
    y *= np.minimum(1.0, t / 0.02)
    return (0.8 * y / np.max(np.abs(y))).astype(np.float32)


SIGNALS = {"chirp": chirp, "noise": noise, "chord": chord}


# --- running the C core -------------------------------------------------------

def job_args(path, cfg, chunk, out=None):
    args = ["--%s=%s" % (k, v) for k, v in cfg.items()]
    args += ["--chunk=%d" % chunk]
    if out:
        args += ["--out=" + out]
    return args + [path]


def run_dump(path, cfg, chunk=4096):
    args = [DUMP] + job_args(path, cfg, chunk)
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise RuntimeError("melspec-dump %s failed (%d): %s" % (
            " ".join(args[1:]), p.returncode, p.stderr.decode()))
    return p.stdout


class Batch:
    """Dump jobs run together: a few melspec-dump processes (jobs separated
    by --next) instead of one per job, in parallel."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.jobs = []
        self.results = {}

    def add(self, path, cfg, chunk=4096):
        i = len(self.jobs)
        out = os.path.join(self.tmp, "job-%d.f32" % i)
        self.jobs.append(job_args(path, cfg, chunk, out))
        return i

    def _run(self, jobs):
        args = [DUMP]
        for k, j in enumerate(jobs):
            if k:
                args.append("--next")
            args += j
        p = subprocess.run(args, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        if p.returncode != 0:
            raise RuntimeError("melspec-dump failed (%d): %s" % (
                p.returncode, p.stderr.decode()))

    def run(self, parts=4):
        idx = list(range(len(self.jobs)))
        groups = [idx[k::parts] for k in range(parts) if idx[k::parts]]
        futs = [POOL.submit(self._run, [self.jobs[i] for i in g])
                for g in groups]
        for f in futs:
            f.result()

    def get(self, i):
        path = os.path.join(self.tmp, "job-%d.f32" % i)
        with open(path, "rb") as f:
            data = f.read()
        os.unlink(path)
        return data


def frames_of(raw, n_mels):
    a = np.frombuffer(raw, dtype=np.float32)
    if a.size % n_mels:
        raise RuntimeError("output of %d floats is not whole frames of %d"
                           % (a.size, n_mels))
    return a.reshape(-1, n_mels).astype(np.float64)


def ref_kwargs(cfg):
    return dict(n_fft=cfg.get("n-fft", 2048), hop=cfg.get("hop", 512),
                win_length=cfg.get("win-length", 0) or None,
                window=cfg.get("window", "hann"),
                center=bool(cfg.get("center", 1)),
                power=float(cfg.get("power", 2.0)),
                n_mels=cfg.get("n-mels", 128),
                fmin=float(cfg.get("fmin", 0.0)),
                fmax=float(cfg.get("fmax", 0.0)) or None,
                htk=cfg.get("scale", "slaney") == "htk",
                norm=cfg.get("norm", "slaney"))


def plan_compare(batch, pending, label, path, y, sr, cfg):
    """Queue the three log modes of one configuration; checked by
    compare() once the batch has run."""
    base = dict(cfg, rate=sr)
    jobs = [batch.add(path, dict(base, log="none")),
            batch.add(path, dict(base, log="db", **{"top-db": TOP_DB})),
            batch.add(path, dict(base, log="log1p",
                                 **{"log-mult": LOG_MULT}))]
    pending.append((label, y, sr, cfg, jobs))


def compare(batch, label, y, sr, cfg, jobs):
    """All three log modes of one configuration against the reference."""
    kw = ref_kwargs(cfg)
    n_mels = kw["n_mels"]
    S = ref.melspectrogram(y.astype(np.float64), sr, **kw)
    expect_frames = ref.n_frames(len(y), kw["n_fft"], kw["hop"], kw["center"])
    if S.shape[0] != expect_frames:
        fail("%s: reference has %d frames, expected %d" % (label, S.shape[0],
                                                           expect_frames))
    if kw["center"] and kw["n_fft"] % 2 == 0 and \
            expect_frames != 1 + len(y) // kw["hop"]:
        fail("%s: frame count formula" % label)

    outs = [batch.get(j) for j in jobs]
    # linear
    C = frames_of(outs[0], n_mels)
    if C.shape != S.shape:
        fail("%s: %d frames from the core, %d from the reference"
             % (label, C.shape[0], S.shape[0]))
        return
    fmax = S.max(axis=1, keepdims=True)
    mask = S > LIN_FLOOR * fmax
    rel = np.abs(C - S)[mask] / S[mask]
    err = float(rel.max()) if rel.size else 0.0
    note_worst("lin", err, label)
    if os.environ.get("MELSPEC_VERBOSE"):
        print("%-70s linear %.3g" % (label, err))
    if not mask.any():
        fail("%s: nothing to compare" % label)
    if err > LIN_TOL:
        i = np.argmax(np.where(mask, np.abs(C - S) / np.where(mask, S, 1), 0))
        fr, m = divmod(int(i), n_mels)
        fail("%s linear: max relative error %.3g > %g (frame %d mel %d: "
             "core %.9g ref %.9g, frame max %.3g)" % (
                 label, err, LIN_TOL, fr, m, C[fr, m], S[fr, m],
                 fmax[fr, 0]))
    # values below the compared range must still be sane: non-negative and
    # no larger than the compared range allows
    if not np.all(np.isfinite(C)) or C.min() < 0:
        fail("%s linear: non-finite or negative output" % label)
    small = ~mask
    if small.any() and np.any(C[small] > 2 * LIN_FLOOR * np.broadcast_to(
            fmax, S.shape)[small] + 1e-30):
        fail("%s linear: a value below 1e-6 of its frame max came out above "
             "2e-6 of it" % label)

    # dB: librosa's global floor, and the core's documented per-frame floor
    D = frames_of(outs[1], n_mels)
    R = ref.power_to_db(S, top_db=TOP_DB)
    above = R > R.max() - TOP_DB
    err = float(np.abs(D - R)[above].max())
    note_worst("db", err, label)
    if err > DB_TOL:
        fail("%s dB: max error %.4g dB > %g above librosa's floor"
             % (label, err, DB_TOL))
    Rf = ref.power_to_db(S, top_db=None)
    Rf = np.maximum(Rf, Rf.max(axis=1, keepdims=True) - TOP_DB)
    err = float(np.abs(D - Rf).max())
    note_worst("db_frame", err, label)
    if err > DB_TOL:
        fail("%s dB: max error %.4g dB > %g against the per-frame floor"
             % (label, err, DB_TOL))

    # log1p
    L = frames_of(outs[2], n_mels)
    RL = ref.log1p(S, LOG_MULT)
    rel = np.abs(L - RL)[mask] / RL[mask]
    err = float(rel.max())
    note_worst("log1p", err, label)
    if err > LIN_TOL:
        fail("%s log1p: max relative error %.3g > %g" % (label, err, LIN_TOL))


def test_grid(tmp, batch, pending):
    """The issue's grid: signals x rates x scale x norm x power."""
    count = 0
    for sr in RATES:
        for sname, gen in SIGNALS.items():
            y = gen(sr)
            path = os.path.join(tmp, "%s-%d.f32" % (sname, sr))
            y.tofile(path)
            for scale in ("slaney", "htk"):
                for norm in ("slaney", "none"):
                    for power in (1, 2):
                        cfg = {"scale": scale, "norm": norm, "power": power}
                        label = "%s %d Hz %s/%s power %d" % (
                            sname, sr, scale, norm, power)
                        plan_compare(batch, pending, label, path, y, sr,
                                     cfg)
                        count += 1
    return count


# other parameters users set (torchaudio-like, speech-like, odd sizes)
EXTRA = [
    {"window": "hamming"},
    {"window": "blackman", "power": 1},
    {"win-length": 1200},
    {"win-length": 1501, "window": "hamming", "hop": 300},
    {"n-fft": 1024, "hop": 256, "n-mels": 64, "fmin": 30, "fmax": 8000},
    {"n-fft": 512, "hop": 160, "n-mels": 40, "scale": "htk", "norm": "none",
     "fmin": 20, "fmax": 7600},
    {"n-fft": 2047, "hop": 441, "n-mels": 96},
    {"n-fft": 4096, "hop": 1024, "n-mels": 256, "fmin": 27.5},
    {"center": 0},
    {"power": 1.5},
    {"hop": 2048},
]


def test_extra(tmp, batch, pending):
    count = 0
    for sr in (22050, 48000):
        for sname in ("chirp", "chord"):
            y = SIGNALS[sname](sr)
            path = os.path.join(tmp, "%s-%d.f32" % (sname, sr))
            y.tofile(path)
            for cfg in EXTRA:
                label = "%s %d Hz %s" % (sname, sr, " ".join(
                    "%s=%s" % kv for kv in cfg.items()))
                plan_compare(batch, pending, label, path, y, sr, cfg)
                count += 1
    return count


def test_impulse_centre(tmp):
    """Frame i is centred on sample i*hop: an impulse at sample 5*hop has a
    flat spectrum scaled by the window's value at the impulse, w[n_fft/2]
    = 1 in frame 5 and w[n_fft/2 -+ hop] = 0.5 (periodic Hann, hop = n_fft/4)
    in frames 4 and 6; its power is 0.25 of frame 5's in every mel band."""
    sr, n_fft, hop = 44100, 2048, 512
    y = np.zeros(20 * hop + 100, dtype=np.float32)
    y[5 * hop] = 1.0
    path = os.path.join(tmp, "impulse.f32")
    y.tofile(path)
    C = frames_of(run_dump(path, {"rate": sr, "log": "none"}), 128)
    if C.shape[0] != 1 + len(y) // hop:
        fail("impulse: %d frames, expected %d" % (C.shape[0],
                                                  1 + len(y) // hop))
        return
    W = ref.mel_filterbank(sr, n_fft)
    flat = W.sum(axis=1)  # |X[k]|^2 = 1 for every bin
    for i in range(C.shape[0]):
        d = n_fft // 2 + 5 * hop - i * hop  # the impulse's place in frame i
        g = ref.stft_window(n_fft)[d] ** 2 if 0 <= d < n_fft else 0.0
        err = np.max(np.abs(C[i] - g * flat)) / flat.max()
        if err > 1e-5:
            fail("impulse: frame %d is not the window's value %.4g times a "
                 "flat spectrum (error %.3g)" % (i, g, err))
    if not (np.argmax(C.sum(axis=1)) == 5):
        fail("impulse: the loudest frame is not frame 5")


def test_chunks(tmp):
    """Identical bytes whatever the input chunking."""
    cases = [(22050, "noise", {}),
             (44100, "chirp", {"log": "db"}),
             (48000, "chord", {"n-fft": 1000, "hop": 300, "win-length": 800,
                               "window": "hamming", "log": "log1p",
                               "n-mels": 64, "power": 1, "scale": "htk"}),
             (44100, "noise", {"center": 0, "hop": 441})]
    batch = Batch(tmp)
    jobs = []
    for sr, sname, cfg in cases:
        y = SIGNALS[sname](sr)
        path = os.path.join(tmp, "chunk-%s-%d.f32" % (sname, sr))
        y.tofile(path)
        jobs.append({c: batch.add(path, dict(cfg, rate=sr), chunk=c)
                     for c in CHUNKS})
    batch.run()
    for (sr, sname, cfg), js in zip(cases, jobs):
        outs = {c: batch.get(j) for c, j in js.items()}
        first = outs[CHUNKS[0]]
        if len(first) == 0:
            fail("chunks %s %d: no output" % (sname, sr))
        for c, o in outs.items():
            if o != first:
                fail("chunks %s %d Hz %s: chunk %d differs from chunk %d"
                     % (sname, sr, cfg, c, CHUNKS[0]))
    return len(cases)


def test_refusals(tmp):
    """The dump tool relays the core's refusals, naming the property."""
    path = os.path.join(tmp, "refuse.f32")
    np.zeros(1000, dtype=np.float32).tofile(path)
    cases = [({"fmin": 5000, "fmax": 4000}, "fmin"),
             ({"fmax": 30000}, "fmax"),
             ({"n-mels": 1000, "n-fft": 512}, "n-mels"),
             ({"hop": 4096}, "hop-length")]
    for cfg, prop in cases:
        args = [DUMP, "--rate=44100"] + ["--%s=%s" % kv for kv in cfg.items()]
        p = subprocess.run(args + [path], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        msg = p.stderr.decode()
        if p.returncode != 2 or ("error: %s:" % prop) not in msg or p.stdout:
            fail("refusal of %s: exit %d, stderr %r" % (cfg, p.returncode,
                                                       msg))


# --- the element --------------------------------------------------------------

def element_frames(data, caps, props, bytes_per_frame, rate):
    """Push raw interleaved @data through appsrc ! melspec @props ! fakesink in
    uneven buffers; the frames of all `melspec` messages, in order."""
    from gi.repository import Gst
    p = Gst.parse_launch(
        "appsrc name=src format=time caps=%s ! melspec %s ! fakesink" %
        (caps, props))
    src = p.get_by_name("src")
    bus = p.get_bus()
    p.set_state(Gst.State.PLAYING)
    sizes = [1, 7, 333, 4096, 1000, 65536]
    pos, k, n = 0, 0, len(data) // bytes_per_frame
    while pos < n:
        m = min(sizes[k % len(sizes)], n - pos)
        buf = Gst.Buffer.new_wrapped(
            data[pos * bytes_per_frame:(pos + m) * bytes_per_frame])
        buf.pts = Gst.util_uint64_scale(pos, Gst.SECOND, rate)
        buf.duration = Gst.util_uint64_scale(m, Gst.SECOND, rate)
        if src.emit("push-buffer", buf) != Gst.FlowReturn.OK:
            break
        pos += m
        k += 1
    src.emit("end-of-stream")
    frames, next_index = [], 0
    while True:
        msg = bus.timed_pop_filtered(
            60 * Gst.SECOND, Gst.MessageType.ELEMENT | Gst.MessageType.EOS |
            Gst.MessageType.ERROR)
        if msg is None:
            fail("element %s: timed out" % props)
            break
        if msg.type == Gst.MessageType.ERROR:
            fail("element %s: %s" % (props, msg.parse_error()))
            break
        if msg.type == Gst.MessageType.EOS:
            break
        st = msg.get_structure()
        if st.get_name() != "melspec":
            continue
        if st.get_value("first-frame") != next_index:
            fail("element %s: message starts at frame %d, expected %d" % (
                props, st.get_value("first-frame"), next_index))
        buf = st.get_value("frames")
        a = np.frombuffer(buf.extract_dup(0, buf.get_size()), np.float32)
        a = a.reshape(st.get_value("n-frames"), st.get_value("n-mels"))
        next_index += a.shape[0]
        frames.append(a.astype(np.float64))
    p.set_state(Gst.State.NULL)
    return np.concatenate(frames) if frames else np.zeros((0, 1))


def check_frames(label, C, S, log, top_db=TOP_DB, log_mult=LOG_MULT):
    if C.shape != S.shape:
        fail("%s: shape %s, reference %s" % (label, C.shape, S.shape))
        return
    mask = S > LIN_FLOOR * S.max(axis=1, keepdims=True)
    if log == "none":
        err = float((np.abs(C - S)[mask] / S[mask]).max())
        kind, tol = "lin", LIN_TOL
    elif log == "log1p":
        R = ref.log1p(S, log_mult)
        err = float((np.abs(C - R)[mask] / R[mask]).max())
        kind, tol = "log1p", LIN_TOL
    else:
        R = ref.power_to_db(S, top_db=top_db)
        err = float(np.abs(C - R)[R > R.max() - top_db].max())
        kind, tol = "db", DB_TOL
    note_worst(kind, err, label)
    print("%-60s %s error %.3g" % (label, kind, err))
    if err > tol:
        fail("%s: %s error %.3g > %g" % (label, kind, err, tol))


def test_element():
    import gi
    gi.require_version("Gst", "1.0")
    from gi.repository import Gst
    Gst.init(None)
    if Gst.ElementFactory.find("melspec") is None:
        fail("the melspec element is not available")
        return
    # stereo F32: the element analyses the mean of the channels (in float)
    sr = 44100
    right = chirp(sr)
    left = chord(sr)[:len(right)]
    mono = ((left + right) * np.float32(0.5)).astype(np.float32)
    inter = np.empty(2 * len(left), np.float32)
    inter[0::2], inter[1::2] = left, right
    caps = ("audio/x-raw,format=F32LE,rate=%d,channels=2,layout=interleaved"
            % sr)
    for log, props in (("none", ""), ("db", "log=db"),
                       ("log1p", "log=log1p log-mult=%g" % LOG_MULT)):
        C = element_frames(inter.tobytes(), caps, props, 8, sr)
        S = ref.melspectrogram(mono.astype(np.float64), sr)
        check_frames("element F32 stereo 44100 %s" % log, C, S, log)
    # mono S16, torchaudio-like magnitude mels in dB
    sr = 22050
    y16 = np.round(noise(sr) * 32767 * 2).clip(-32768, 32767).astype("<i2")
    y = y16.astype(np.float64) / 32768.0
    caps = ("audio/x-raw,format=S16LE,rate=%d,channels=1,layout=interleaved"
            % sr)
    props = ("n-fft=1024 hop-length=256 mel-scale=htk norm=none power=1 "
             "n-mels=80 fmin=20 fmax=8000")
    C = element_frames(y16.tobytes(), caps, props + " log=db", 2, sr)
    S = ref.melspectrogram(y, sr, n_fft=1024, hop=256, htk=True, norm="none",
                           power=1.0, n_mels=80, fmin=20.0, fmax=8000.0)
    check_frames("element S16 mono 22050 htk/none power 1 db", C, S, "db")
    C = element_frames(y16.tobytes(), caps, props, 2, sr)
    check_frames("element S16 mono 22050 htk/none power 1", C, S, "none")


def main():
    if "--element" in sys.argv[1:]:
        t0 = time.monotonic()
        test_element()
        print("%.1f s, %d failures" % (time.monotonic() - t0, len(failures)))
        return 1 if failures else 0
    if not DUMP or not os.path.exists(DUMP):
        print("MELSPEC_DUMP must name the melspec-dump executable")
        return 1
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="musa-melspec-") as tmp:
        batch, pending = Batch(tmp), []
        n_grid = test_grid(tmp, batch, pending)
        n_extra = test_extra(tmp, batch, pending)
        batch.run()
        for label, y, sr, cfg, jobs in pending:
            compare(batch, label, y, sr, cfg, jobs)
        print("grid: %d configurations x 3 log modes" % n_grid)
        print("extra: %d configurations x 3 log modes" % n_extra, flush=True)
        test_impulse_centre(tmp)
        n = test_chunks(tmp)
        print("chunks: %d cases x %d chunk sizes" % (n, len(CHUNKS)))
        test_refusals(tmp)
    print("worst linear relative error  %.3g  (%s)" % worst["lin"])
    print("worst dB error above floor   %.3g dB (%s)" % worst["db"])
    print("worst dB error, frame floor  %.3g dB (%s)" % worst["db_frame"])
    print("worst log1p relative error   %.3g  (%s)" % worst["log1p"])
    print("%.1f s, %d failures" % (time.monotonic() - t0, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
