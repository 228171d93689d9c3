"""The README's PyGObject usage: melspec frames from bus messages and from an
other/tensors appsink agree, have librosa's shape, and peak where the sine is."""
import sys

import gi
import numpy as np

gi.require_version('Gst', '1.0')
from gi.repository import Gst  # noqa: E402

Gst.init(None)
RATE, N = 22050, 22050 * 2
SRC = (f'audiotestsrc num-buffers={N // 1024} samplesperbuffer=1024 freq=1000 ! '
       f'audio/x-raw,format=F32LE,rate={RATE},channels=1')


def from_messages():
    p = Gst.parse_launch(SRC + ' ! melspec log=db ! fakesink')
    bus = p.get_bus()
    frames = []
    p.set_state(Gst.State.PLAYING)
    while True:
        msg = bus.timed_pop_filtered(10 * Gst.SECOND, Gst.MessageType.ELEMENT |
                                     Gst.MessageType.EOS | Gst.MessageType.ERROR)
        assert msg is not None, 'timed out'
        if msg.type == Gst.MessageType.ERROR:
            raise SystemExit(f'error: {msg.parse_error()}')
        if msg.type == Gst.MessageType.EOS:
            break
        s = msg.get_structure()
        if s.get_name() == 'melspec':
            buf = s.get_value('frames')
            ok, info = buf.map(Gst.MapFlags.READ)
            frames.append(np.frombuffer(info.data, np.float32)
                          .reshape(-1, s['n-mels']).copy())
            buf.unmap(info)
    p.set_state(Gst.State.NULL)
    return np.concatenate(frames).T


def from_tensors():
    p = Gst.parse_launch(SRC + ' ! melspec log=db frames-per-buffer=1 ! '
                         'other/tensors ! appsink name=sink sync=false')
    sink = p.get_by_name('sink')
    p.set_state(Gst.State.PLAYING)
    frames = []
    while True:
        sample = sink.emit('try-pull-sample', 10 * Gst.SECOND)
        if sample is None:
            break
        buf = sample.get_buffer()
        ok, info = buf.map(Gst.MapFlags.READ)
        frames.append(np.frombuffer(info.data, np.float32).copy())
        buf.unmap(info)
    caps = sample_caps = sink.get_static_pad('sink').get_current_caps()
    p.set_state(Gst.State.NULL)
    return np.stack(frames).T, sample_caps.to_string()


S_msg = from_messages()
S_ten, caps = from_tensors()
n_samples = (N // 1024) * 1024
assert S_msg.shape == (128, 1 + n_samples // 512), S_msg.shape
assert S_ten.shape == S_msg.shape, (S_ten.shape, S_msg.shape)
assert np.array_equal(S_msg, S_ten), 'messages and tensors differ'
assert 'dimensions=(string)128:1' in caps, caps
assert np.all(np.isfinite(S_msg))
# 1 kHz on the Slaney scale with 128 bands to 11025 Hz: the peak band's centre
# is within a band of 1 kHz
mel_max = 15 + np.log(11025 / 1000) / (np.log(6.4) / 27)
centres = np.linspace(0, mel_max, 130)[1:-1]
expect = int(np.argmin(abs(centres - 15)))
peak = int(np.median(S_msg[:, 5:-5].argmax(axis=0)))
assert abs(peak - expect) <= 1, (peak, expect)
print(f'ok: {S_msg.shape[1]} frames x {S_msg.shape[0]} mels, peak band {peak}')
sys.exit(0)
