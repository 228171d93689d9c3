"""Recording conditions for the evaluations: rendered songs turned into what real recordings
bring and renders do not, with the labels following exactly (eval_onsetbpm.py and
eval_chromakey.py, `--condition`). See make_condition() for the list.

The lossy codecs (`mp3`, `mp3low`, `vorbis`, `opus`) go through GStreamer's encoders and
decoders (gst-launch-1.0, gst-plugins-good / -base) and back to 16-bit WAV at the song's own
rate. An MP3 decoded without its encoder's gapless information starts late by the encoder
and decoder delay (1105 samples at 44.1 kHz for LAME + mpg123; `lamemp3enc` writes no LAME
header, which GStreamer's mpegaudioparse would trim it by, as it does for files from the
`lame` command line), so every decoded song is
cross-correlated with its original and the lag trimmed (or zero-padded) away: the labels
stay those of the original, and a residual lag of 1 ms or more is an error, never a skewed
evaluation (onset F counts a hit within 50 ms, beat F within 70 ms).
"""
import csv
import os
import subprocess
import tempfile

import numpy as np

from wavio import read_wav, write_wav

CONDITIONS = ("clean", "48k", "22k", "master", "noise20", "room", "drift3", "drift6",
              "a432", "sharp40",
              "mp3", "mp3low", "vorbis", "opus", "aac")

# condition -> (encoder chain after `audioconvert`, decoder chain before `audioconvert`)
CODECS = {
    # LAME at 128 kbit/s CBR: joint stereo, 44.1 kHz, low-pass at about 17 kHz
    "mp3": ("lamemp3enc target=bitrate bitrate=128 cbr=true",
            "mpegaudioparse ! mpg123audiodec"),
    # LAME at 64 kbit/s CBR, as web radio: LAME resamples to 24 kHz (MPEG-2 layer III),
    # joint stereo, low-pass at about 10 kHz
    "mp3low": ("lamemp3enc target=bitrate bitrate=64 cbr=true",
               "mpegaudioparse ! mpg123audiodec"),
    # libvorbis quality 0.3 (nominal 112 kbit/s stereo), in Ogg
    "vorbis": ("vorbisenc quality=0.3 ! oggmux", "oggdemux ! vorbisdec"),
    # libopus 64 kbit/s (48 kHz inside), in Ogg: a streaming service's or a video's audio
    "opus": ("audioresample ! opusenc bitrate=64000 ! oggmux", "oggdemux ! opusdec"),
    # AAC-LC at 128 kbit/s (FFmpeg's native encoder, gstreamer1.0-libav) in MP4, as a
    # shop's or a phone's files
    "aac": ("avenc_aac bitrate=128000 ! aacparse ! mp4mux",
            "qtdemux ! aacparse ! avdec_aac"),
}

MAX_CODEC_LAG = 0.25  # s, the lag searched for (codec delays are tens of ms)
LAG_SPAN = 1 << 19  # samples of the songs correlated (12 s at 44.1 kHz: a codec's lag is fixed)
MAX_RESIDUAL_LAG = 0.001  # s


def pink_noise(n, rng):
    """Pink (1/f power) noise of unit RMS, shaped in the frequency domain."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    y = np.fft.irfft(spec / np.sqrt(f), n)
    return y / np.sqrt(np.mean(y * y))


def drift_map(seconds_out, amount, period=20.0):
    """Output time -> input time for a playback rate 1 + amount sin(2 pi t / period)."""
    t = np.linspace(0.0, seconds_out, int(seconds_out * 1000) + 2)
    return t, t + amount * period / (2 * np.pi) * (1 - np.cos(2 * np.pi * t / period))


def lag_of(y, x, rate, max_lag=MAX_CODEC_LAG):
    """(lag in samples, correlation) of @y behind @x (frames x channels, same rate): the
    peak of their mono mixes' cross-correlation within +-@max_lag s, to a fraction of a
    sample (parabola through the peak and its neighbours), over the first LAG_SPAN samples
    of @x; correlation is the peak's, normalised (1: @y is @x delayed)."""
    m = int(max_lag * rate)
    a, b = x[:LAG_SPAN].mean(axis=1), y[:LAG_SPAN + m].mean(axis=1)
    n = 1 << int(np.ceil(np.log2(len(a) + len(b))))
    c = np.fft.irfft(np.fft.rfft(b, n) * np.conj(np.fft.rfft(a, n)), n)
    c = np.concatenate([c[n - m:], c[:m + 1]])  # lags -m .. m
    k = int(np.argmax(c))
    frac = 0.0
    if 0 < k < len(c) - 1:
        den = c[k - 1] - 2 * c[k] + c[k + 1]
        if den < 0:
            frac = 0.5 * (c[k - 1] - c[k + 1]) / den
    norm = np.sqrt(np.sum(a * a) * np.sum(b[:len(a)] ** 2))
    return k - m + frac, (c[k] / norm if norm > 0 else 0.0)


def align(y, x, rate, what="decoded"):
    """@y (a decoded @x, the same rate, delayed by a codec) moved onto @x: its lag trimmed
    from the start (or zeros put before it), cut or zero-padded to @x's length. Raises
    RuntimeError when @y does not resemble @x or a lag of MAX_RESIDUAL_LAG or more is left.
    Returns (aligned y, lag trimmed in samples)."""
    lag, corr = lag_of(y, x, rate)
    if corr < 0.5:
        raise RuntimeError(f"{what}: no match with the original (correlation {corr:.2f})")
    shift = int(round(lag))
    if shift >= 0:
        y = y[shift:]
    else:
        y = np.concatenate([np.zeros((-shift, y.shape[1])), y])
    y = y[:len(x)]
    if len(y) < len(x):
        y = np.concatenate([y, np.zeros((len(x) - len(y), y.shape[1]))])
    residual, _ = lag_of(y, x, rate)
    if abs(residual) >= MAX_RESIDUAL_LAG * rate:
        raise RuntimeError(f"{what}: {residual / rate * 1000:.2f} ms lag left after trimming "
                           f"{shift} samples")
    return y, shift


def codec(src, dst, cond):
    """@src (16-bit WAV) through the lossy codec @cond and back, aligned with @src, into
    @dst. Returns (codec lag trimmed in samples, encoded kbit/s)."""
    enc, dec = CODECS[cond]
    x, rate = read_wav(src)
    with tempfile.TemporaryDirectory(prefix="musa-codec-") as tmp:
        coded, decoded = os.path.join(tmp, "coded"), os.path.join(tmp, "decoded.wav")
        subprocess.run(["gst-launch-1.0", "-q", "filesrc", f"location={src}", "!", "wavparse",
                        "!", "audioconvert", "!"] + enc.split() +
                       ["!", "filesink", f"location={coded}"], check=True)
        kbps = os.path.getsize(coded) * 8 / (len(x) / rate) / 1000
        subprocess.run(["gst-launch-1.0", "-q", "filesrc", f"location={coded}", "!"] +
                       dec.split() + ["!", "audioconvert", "!", "audioresample", "!",
                                      f"audio/x-raw,format=S16LE,rate={rate},"
                                      f"channels={x.shape[1]}", "!", "wavenc", "!",
                                      "filesink", f"location={decoded}"], check=True)
        y, rate_y = read_wav(decoded)
    if rate_y != rate or y.shape[1] != x.shape[1]:
        raise RuntimeError(f"{src} through {cond}: decoded {rate_y} Hz x {y.shape[1]}, "
                           f"not {rate} Hz x {x.shape[1]}")
    y, lag = align(y, x, rate, f"{src} through {cond}")
    write_wav(dst + ".part", y, rate)
    os.replace(dst + ".part", dst)  # a song there is a whole one (reused by make_condition)
    return lag, kbps


def make_condition(src, cond, rows):
    """The songs of @rows (dicts; "file" relative to @src, labels.csv's fields) under
    recording condition @cond, in @src-@cond (made once; songs added there by another
    evaluation are kept). Onset and beat labels (FILE.onsets, FILE.beats) go along when the
    song has them. Returns (that directory, the rows as they are there):

      - `48k`, `22k`: resampled to 48 / 22.05 kHz (sox);
      - `master`: a loud master, 6 dB soft-knee compression to -4 dB at full scale and peaks
        normalised to -0.3 dBFS (sox compand, gain -n);
      - `noise20`: pink noise 20 dB below the song's RMS;
      - `room`: sox reverb (reverberance 50 %, HF damping 50 %, room scale 100 %);
      - `drift3`, `drift6`: the playback rate swings by +-3 % / +-6 % over a 20 s period
        (beat and onset times warped the same way, the tempo label becomes the mean tempo);
      - `a432`, `sharp40`: tuned off A440, as records often are (a "432 Hz" version: -31.8
        cents; a tape or vinyl played fast: +40 cents): played at 432/440 or 2^(40/1200) of
        its speed (sox speed: pitch and tempo together; times divided, tempo multiplied by
        that factor; the key label stays, being within half a semitone);
      - `mp3`: LAME 128 kbit/s CBR; `mp3low`: LAME 64 kbit/s CBR (24 kHz joint stereo, as
        web radio); `vorbis`: libvorbis quality 0.3 (about 112 kbit/s); `opus`: libopus
        64 kbit/s; each decoded back to the song's rate and aligned (see codec()).
    """
    if cond not in CONDITIONS or cond == "clean":
        raise SystemExit(f"unknown condition {cond!r} (one of {', '.join(CONDITIONS[1:])})")
    dst = f"{src.rstrip('/')}-{cond}"
    labels = os.path.join(dst, "labels.csv")
    done = {}
    if os.path.exists(labels):
        with open(labels) as f:
            done = {r["file"]: r for r in csv.DictReader(f)}
        if all(r["file"] in done for r in rows):
            return dst, [done[r["file"]] for r in rows]
    os.makedirs(dst, exist_ok=True)
    out_rows = []
    lags = []
    for i, r in enumerate(rows):
        if r["file"] in done:
            out_rows.append(done[r["file"]])
            continue
        a, b = os.path.join(src, r["file"]), os.path.join(dst, r["file"])
        os.makedirs(os.path.dirname(b), exist_ok=True)
        onsets = np.loadtxt(a[:-4] + ".onsets", ndmin=1) if os.path.exists(a[:-4] + ".onsets") \
            else None
        beats = np.loadtxt(a[:-4] + ".beats", ndmin=1) if os.path.exists(a[:-4] + ".beats") \
            else None
        r = dict(r)
        if cond in ("48k", "22k"):
            subprocess.run(["sox", "-G", a, "-r", "48000" if cond == "48k" else "22050", b], check=True)
        elif cond == "master":
            subprocess.run(["sox", a, b, "compand", "0.005,0.1", "6:-60,-60,-30,-12,0,-4", "0",
                            "-90", "gain", "-n", "-0.3"], check=True, stderr=subprocess.DEVNULL)
        elif cond == "room":
            subprocess.run(["sox", "-G", a, b, "reverb", "50", "50", "100"], check=True)
        elif cond == "noise20":
            x, rate = read_wav(a)
            rng = np.random.default_rng(1000 + i)
            rms = np.sqrt(np.mean(x * x))
            noise = pink_noise(len(x), rng)[:, None] * rms * 10 ** (-20 / 20)
            write_wav(b, x + noise, rate)
        elif cond in ("a432", "sharp40"):
            f = 432.0 / 440.0 if cond == "a432" else 2.0 ** (40.0 / 1200.0)
            subprocess.run(["sox", "-G", a, b, "speed", f"{f:.9f}"], check=True)
            if onsets is not None:
                onsets = onsets / f
            if beats is not None:
                beats = beats / f
            if "tempo_bpm" in r:
                r["tempo_bpm"] = f"{float(r['tempo_bpm']) * f:.3f}"
            if "seconds" in r:
                r["seconds"] = f"{float(r['seconds']) / f:.2f}"
        elif cond in ("drift3", "drift6"):
            x, rate = read_wav(a)
            amount = 0.03 if cond == "drift3" else 0.06
            t_out, t_in = drift_map(len(x) / rate, amount)
            n_out = int(np.searchsorted(t_in, (len(x) - 1) / rate) / 1000 * rate)
            pos = np.interp(np.arange(n_out) / rate, t_out, t_in) * rate
            y = np.stack([np.interp(pos, np.arange(len(x)), x[:, c])
                          for c in range(x.shape[1])], axis=1)
            write_wav(b, y, rate)
            if onsets is not None:
                onsets = np.interp(onsets, t_in, t_out)
            if beats is not None:
                beats = np.interp(beats, t_in, t_out)
            # the tempo a listener hears on average: beats per second of output
            if "tempo_bpm" in r:
                r["tempo_bpm"] = f"{float(r['tempo_bpm']) * (len(x) / rate) / (n_out / rate):.3f}"
        elif not os.path.exists(b):  # a codec's song made by an interrupted run is kept
            lags.append(codec(a, b, cond))
        if onsets is not None:
            np.savetxt(b[:-4] + ".onsets", onsets, fmt="%.6f")
        if beats is not None:
            np.savetxt(b[:-4] + ".beats", beats, fmt="%.6f")
        out_rows.append(r)
    if lags:
        lag = np.array([v[0] for v in lags])
        print(f"{cond}: {len(lags)} songs encoded at {np.mean([v[1] for v in lags]):.0f} kbit/s "
              f"on average; codec lag trimmed {lag.min()}-{lag.max()} samples "
              f"(median {np.median(lag):.0f}), residual below {MAX_RESIDUAL_LAG * 1000:g} ms")
    keep = list(done.values()) + [r for r in out_rows if r["file"] not in done]
    fields = list(dict.fromkeys(k for r in keep for k in r))
    with open(labels, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, restval="")
        w.writeheader()
        w.writerows(keep)
    return dst, out_rows
