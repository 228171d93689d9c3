#!/usr/bin/python3
"""Reference mel spectrogram: librosa's algorithm re-written in numpy (float64).

librosa is not packaged for Debian, so the numerics test of musa's melspec
compares against this file. It follows librosa (>= 0.10) step by step:

  window     scipy.signal.get_window(window, win_length, fftbins=True), i.e.
             the periodic window, then librosa.util.pad_center to n_fft
             (left pad (n_fft - win_length) // 2)
  stft       center=True pads n_fft // 2 zeros on both sides (pad_mode
             "constant", librosa's default since 0.10); frame t covers padded
             samples [t*hop, t*hop + n_fft); numpy.fft.rfft, no scaling
  spectrum   |X| ** power
  mel        librosa.filters.mel: n_mels + 2 points equally spaced on the mel
             scale (Slaney or HTK) between fmin and fmax, triangles evaluated
             at the FFT bin frequencies k * sr / n_fft, optional Slaney area
             normalisation 2 / (f[m+2] - f[m])
  db         librosa.power_to_db(S, ref=1.0, amin=1e-10, top_db): floor at
             max(S_dB) - top_db over the whole array given
  log1p      log(1 + mult * S)

Everything is computed in float64 (librosa stores its filterbank as float32
by default; the reference is the exact value the float32 code approximates).

As a program it reads raw float32 mono samples and writes the frames as raw
float32 ([n_frames][n_mels]), or with --bench prints how long the analysis
took (for tests/bench/bench_melspec.c):

  melspec_ref.py --rate 44100 [--n-fft 2048 ...] IN.f32 > OUT.f32
"""

import argparse
import sys
import time

import numpy as np


# --- windows ---------------------------------------------------------------

def get_window(name, win_length):
    """Periodic window as scipy.signal.get_window(name, N, fftbins=True):
    the symmetric window of N + 1 points without its last point."""
    n = np.arange(win_length, dtype=np.float64)
    x = 2.0 * np.pi * n / win_length
    if name == "hann":
        return 0.5 - 0.5 * np.cos(x)
    if name == "hamming":
        return 0.54 - 0.46 * np.cos(x)
    if name == "blackman":
        return 0.42 - 0.5 * np.cos(x) + 0.08 * np.cos(2.0 * x)
    raise ValueError("unknown window %r" % name)


def pad_center(w, size):
    """librosa.util.pad_center: zero-pad w to size, centred."""
    n = len(w)
    if n > size:
        raise ValueError("window longer than n_fft")
    lpad = (size - n) // 2
    out = np.zeros(size, dtype=np.float64)
    out[lpad:lpad + n] = w
    return out


def stft_window(n_fft, win_length=None, window="hann"):
    if not win_length:
        win_length = n_fft
    return pad_center(get_window(window, win_length), n_fft)


# --- STFT ------------------------------------------------------------------

def n_frames(n_samples, n_fft, hop, center=True):
    if center:
        padded = n_samples + 2 * (n_fft // 2)
    else:
        padded = n_samples
    if padded < n_fft:
        return 0
    return 1 + (padded - n_fft) // hop


def stft(y, n_fft=2048, hop=512, win_length=None, window="hann",
         center=True):
    """Complex STFT, shape [n_frames][n_fft // 2 + 1] (time first)."""
    y = np.asarray(y, dtype=np.float64)
    if center:
        y = np.pad(y, (n_fft // 2, n_fft // 2), mode="constant")
    nf = n_frames(len(y), n_fft, hop, center=False)
    w = stft_window(n_fft, win_length, window)
    if nf == 0:
        return np.zeros((0, n_fft // 2 + 1), dtype=np.complex128)
    frames = np.lib.stride_tricks.as_strided(
        y, shape=(nf, n_fft), strides=(y.strides[0] * hop, y.strides[0]),
        writeable=False)
    return np.fft.rfft(frames * w, axis=1)


# --- mel scale and filterbank ----------------------------------------------

_F_SP = 200.0 / 3.0
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = np.log(6.4) / 27.0


def hz_to_mel(f, htk=False):
    f = np.asarray(f, dtype=np.float64)
    if htk:
        return 2595.0 * np.log10(1.0 + f / 700.0)
    lin = f / _F_SP
    with np.errstate(divide="ignore", invalid="ignore"):
        log = _MIN_LOG_MEL + np.log(f / _MIN_LOG_HZ) / _LOGSTEP
    return np.where(f >= _MIN_LOG_HZ, log, lin)


def mel_to_hz(m, htk=False):
    m = np.asarray(m, dtype=np.float64)
    if htk:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    lin = _F_SP * m
    log = _MIN_LOG_HZ * np.exp(_LOGSTEP * (m - _MIN_LOG_MEL))
    return np.where(m >= _MIN_LOG_MEL, log, lin)


def mel_frequencies(n, fmin, fmax, htk=False):
    lo = hz_to_mel(fmin, htk)
    hi = hz_to_mel(fmax, htk)
    return mel_to_hz(np.linspace(lo, hi, n), htk)


def mel_filterbank(sr, n_fft, n_mels=128, fmin=0.0, fmax=None, htk=False,
                   norm="slaney"):
    """Weights [n_mels][n_fft // 2 + 1] as librosa.filters.mel."""
    if not fmax:
        fmax = sr / 2.0
    fftfreqs = np.arange(n_fft // 2 + 1, dtype=np.float64) * sr / n_fft
    mel_f = mel_frequencies(n_mels + 2, fmin, fmax, htk)
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fftfreqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    if norm == "slaney":
        weights *= (2.0 / (mel_f[2:] - mel_f[:-2]))[:, None]
    elif norm not in (None, "none"):
        raise ValueError("unknown norm %r" % norm)
    return weights


# --- the mel spectrogram and its compressions --------------------------------

def melspectrogram(y, sr, n_fft=2048, hop=512, win_length=None,
                   window="hann", center=True, power=2.0, n_mels=128,
                   fmin=0.0, fmax=None, htk=False, norm="slaney"):
    """Linear mel spectrogram, shape [n_frames][n_mels] (time first, as
    musa's frames)."""
    S = np.abs(stft(y, n_fft, hop, win_length, window, center)) ** power
    M = mel_filterbank(sr, n_fft, n_mels, fmin, fmax, htk, norm)
    return S @ M.T


def power_to_db(S, ref=1.0, amin=1e-10, top_db=80.0):
    """librosa.power_to_db with a scalar ref: the floor is global."""
    log_spec = 10.0 * np.log10(np.maximum(amin, S))
    log_spec -= 10.0 * np.log10(max(amin, ref))
    if top_db is not None and top_db > 0 and log_spec.size:
        log_spec = np.maximum(log_spec, log_spec.max() - top_db)
    return log_spec


def log1p(S, mult=1.0):
    return np.log1p(mult * S)


def compute(y, sr, log="none", top_db=80.0, log_mult=1.0, **kw):
    S = melspectrogram(y, sr, **kw)
    if log == "db":
        return power_to_db(S, top_db=top_db)
    if log == "log1p":
        return log1p(S, log_mult)
    return S


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("input", help="raw float32 mono samples ('-' = stdin)")
    ap.add_argument("--rate", type=int, required=True)
    ap.add_argument("--n-fft", type=int, default=2048)
    ap.add_argument("--hop", type=int, default=512)
    ap.add_argument("--win-length", type=int, default=0)
    ap.add_argument("--window", default="hann")
    ap.add_argument("--center", type=int, default=1)
    ap.add_argument("--n-mels", type=int, default=128)
    ap.add_argument("--fmin", type=float, default=0.0)
    ap.add_argument("--fmax", type=float, default=0.0)
    ap.add_argument("--scale", choices=["slaney", "htk"], default="slaney")
    ap.add_argument("--norm", choices=["slaney", "none"], default="slaney")
    ap.add_argument("--power", type=float, default=2.0)
    ap.add_argument("--log", choices=["none", "db", "log1p"], default="none")
    ap.add_argument("--top-db", type=float, default=80.0)
    ap.add_argument("--log-mult", type=float, default=1.0)
    ap.add_argument("--bench", type=int, default=0, metavar="REPEATS",
                    help="time REPEATS analyses, print 'frames "
                    "cpu-seconds wall-seconds' of the fastest")
    a = ap.parse_args(argv)

    if a.input == "-":
        raw = sys.stdin.buffer.read()
    else:
        with open(a.input, "rb") as f:
            raw = f.read()
    y = np.frombuffer(raw, dtype="<f4").astype(np.float64)
    kw = dict(n_fft=a.n_fft, hop=a.hop, win_length=a.win_length or None,
              window=a.window, center=bool(a.center), power=a.power,
              n_mels=a.n_mels, fmin=a.fmin, fmax=a.fmax or None,
              htk=(a.scale == "htk"), norm=a.norm)
    if a.bench > 0:
        # best of the repeats, the filterbank construction included (as
        # librosa.feature.melspectrogram rebuilds it on every call)
        best = best_wall = None
        for _ in range(a.bench):
            t0, c0 = time.perf_counter(), time.process_time()
            out = compute(y, a.rate, a.log, a.top_db, a.log_mult, **kw)
            dt, dc = time.perf_counter() - t0, time.process_time() - c0
            best = dc if best is None else min(best, dc)
            best_wall = dt if best_wall is None else min(best_wall, dt)
        print("%d %.9f %.9f" % (out.shape[0], best, best_wall))
        return 0
    out = compute(y, a.rate, a.log, a.top_db, a.log_mult, **kw)
    sys.stdout.buffer.write(np.ascontiguousarray(out, dtype="<f4").tobytes())
    return 0


if __name__ == "__main__":
    sys.exit(main())
