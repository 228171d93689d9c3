"""16-bit PCM WAV in and out as numpy arrays (the evaluations' renders and their variants)."""
import wave

import numpy as np


def read_wav(path):
    """(frames x channels float64 array in [-1, 1), sample rate)."""
    with wave.open(path) as w:
        rate, ch = w.getframerate(), w.getnchannels()
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return x.reshape(-1, ch).astype(np.float64) / 32768.0, rate


def write_wav(path, x, rate):
    """Write a frames x channels array as 16-bit PCM, rounded and clipped."""
    y = np.clip(np.round(x * 32768.0), -32768, 32767).astype("<i2")
    with wave.open(path, "wb") as w:
        w.setnchannels(x.shape[1])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(y.tobytes())
