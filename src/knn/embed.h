/* libmusa — knntag's built-in audio embedding.
 *
 * A compact, hand-crafted description of a stretch of music as one float32
 * vector of MUSA_EMBED_DIM (128) values, computed in a streaming way over the
 * last `window` seconds (default 10) or over the whole stream.
 *
 * Front end (adapted to the sample rate so that the features are in physical
 * units): STFT with a periodic Hann window of n_fft = the power of two
 * nearest 46 ms (2048 at 44.1/48 kHz), hop n_fft/2, centred frames; the power
 * spectrum is normalised by the window gain (a full-scale sine peaks at
 * 0.25) and only bins up to fa = min (Nyquist, 11025 Hz) are used, so that
 * rates >= 22.05 kHz give comparable vectors.
 *
 * Per frame: 24 Slaney mel bands (0..fa) in dB (floor -100 dB); 13 MFCCs =
 * DCT-II (orthonormal, as librosa / scipy) of those dB values; 12-bin chroma
 * (power of the bins from 55 Hz to 5 kHz, each bin to its nearest equal-
 * tempered pitch class, C = 0, A4 = 440 Hz, normalised by the frame maximum
 * as librosa's chroma_stft); spectral centroid and bandwidth (kHz), flatness
 * (dB, geometric over arithmetic mean), contrast in 7 octave bands (edges 0,
 * 200, 400, 800, 1600, 3200, 6400 Hz, fa; dB difference between the means of
 * the top and bottom 20 % of each band); loudness (dB of the mean band
 * power); onset strength (mean positive difference of the mel dB values to
 * the previous frame, i.e. spectral flux) and an onset flag (local maximum of
 * the onset strength over +-3 frames that exceeds the mean of the previous
 * 1 s by 1 dB).
 *
 * The vector (index: content):
 *   0..23    mean of the 24 mel bands (dB)
 *   24..47   standard deviation of the mel bands (dB)
 *   48..60   mean of MFCC 0..12
 *   61..73   standard deviation of MFCC 0..12
 *   74..85   mean chroma rotated so that the strongest class comes first
 *            (key-invariant: the shape of the pitch-class profile)
 *   86..91   mean and std of centroid (kHz), bandwidth (kHz), flatness (dB)
 *   92..98   mean spectral contrast of the 7 bands (dB)
 *   99..100  mean and std of loudness (dB)
 *   101..102 mean and std of onset strength (dB)
 *   103      onset rate (onsets per second)
 *   104      tempo / 100 (BPM from the autocorrelation of the onset
 *            strength, 40..240 BPM, log-normal prior centred on 120 BPM)
 *   105      tempo strength (normalised autocorrelation at that lag)
 *   106..127 normalised autocorrelation of the (mean-removed) onset strength
 *            at 22 log-spaced lags from 0.1 s to 2 s (rhythm pattern, metre)
 *
 * Raw values are returned; knntag standardises them with the mean and
 * standard deviation stored in the index. The embedding id of this vector is
 * (MUSA_EMBED_NAME, MUSA_EMBED_DIM, MUSA_EMBED_VERSION): an index made with
 * another version is refused.
 *
 * Streaming and chunk-invariant: the same samples give bit-identical vectors
 * whatever the chunk sizes, as long as the queries happen at the same sample
 * positions. No allocation in process or in the compute functions. */
#ifndef MUSA_KNN_EMBED_H
#define MUSA_KNN_EMBED_H

#include "core/musa.h"

#ifdef __cplusplus
extern "C"
{
#endif

#define MUSA_EMBED_NAME "musa-builtin"
#define MUSA_EMBED_DIM 128
#define MUSA_EMBED_VERSION 1

  typedef struct
  {
    int sample_rate;            /* 8000..192000 */
    double window;              /* seconds, 0.5..600 */
  } MusaEmbedConfig;

  typedef struct MusaEmbed MusaEmbed;

  void musa_embed_config_default (MusaEmbedConfig * cfg, int sample_rate);
  int musa_embed_config_check (const MusaEmbedConfig * cfg, MusaError * err);
  MusaEmbed *musa_embed_new (const MusaEmbedConfig * cfg, MusaError * err);
  void musa_embed_free (MusaEmbed * e);
/* Back to the start of a stream: window and whole-stream statistics. NULL:
 * nothing. */
  void musa_embed_reset (MusaEmbed * e);
/* Analyse n mono samples. No allocation. MUSA_OK; MUSA_ERR_INVALID for a
 * NULL object or NULL @x with n > 0; MUSA_ERR_STATE after finish until
 * reset (musa.h, "Streams"). */
  int musa_embed_process (MusaEmbed * e, const float *x, size_t n);
/* End of stream: trailing frames of the centred STFT. Reset before reuse.
 * MUSA_OK (again: nothing more); MUSA_ERR_INVALID for NULL. */
  int musa_embed_finish (MusaEmbed * e);

/* The embedding of the last `window` seconds of frames (or fewer, at the
 * start of a stream) into out[MUSA_EMBED_DIM]; returns the number of frames
 * it summarises (0: nothing yet, out is all zeros; also for a NULL object;
 * a NULL @out: 0, nothing computed). Its cost does not depend on the window
 * length (running sums); the values equal a re-sum of the window's frames to
 * float rounding. */
  int musa_embed_window (MusaEmbed * e, float *out);
/* The embedding of every frame since the last reset; returns the number of
 * frames (NULL as for musa_embed_window). */
  int64_t musa_embed_stream (MusaEmbed * e, float *out);

/* Frames since the last reset, frames per second, and the number of frames
 * one window holds; 0 for NULL. */
  int64_t musa_embed_frames (const MusaEmbed * e);
  double musa_embed_frame_rate (const MusaEmbed * e);
  int musa_embed_window_frames (const MusaEmbed * e);

/* Short name of vector element @i ("mel-mean-3", "tempo", ...) into @buf;
 * MUSA_ERR_INVALID when @i is out of range or @buf NULL. */
  int musa_embed_feature_name (int i, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif                          /* MUSA_KNN_EMBED_H */
