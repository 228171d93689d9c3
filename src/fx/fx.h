/* libmusa — DAW-style audio effects for musaugment.
 *
 * Each effect is one object built from a MusaFxParams (a tagged union) for a
 * given rate and channel count. musa_fx_process works in place on interleaved
 * float32, allocates nothing, takes no lock, and is chunk-invariant: the same
 * input gives the same output bytes whatever the buffer sizes. Channels are
 * processed coherently (linked detection for the compressor and limiter, one
 * LFO for the chorus, one shared tank for the reverb), so the stereo image is
 * kept. Feedback paths flush values below 1e-20 to zero (no denormals after
 * the signal stops). Settings for which musa_fx_is_identity () is true leave
 * the buffer untouched (bit-exact passthrough).
 *
 * Draining: an effect with musa_fx_tail () > 0 still has output to give when
 * the input ends; feed that many frames of silence (zeros) to collect it
 * (after the tail the output is below -60 dB of the signal: reverb = pre-delay
 * + RT60 + longest line; echo = until mix feedback^k < 1e-3; chorus = its
 * longest delay; limiter = its latency; EQ = until its poles decay by
 * 1e-3).
 * An effect with musa_fx_latency () > 0 (the limiter) outputs its input that
 * many frames later (the first latency frames are the delay line's zeros).
 *
 * Error property names are "<effect>.<param>" (e.g. "compressor.ratio").
 * Input samples must be finite (elements sanitise NaN/Inf before: a NaN
 * would stay in a feedback path).
 *
 * Parameter meanings, valid ranges (musa_fx_params_check) and the natural
 * ranges used for random augmentation (the defaults of musaugment's chain):
 *
 * effect      param         unit   valid              natural
 * ----------  ------------  -----  -----------------  ---------------------
 * gain        db            dB     [-60, 24]          [-6, 6]
 * eq          shape         enum   5 shapes           any of the 5
 *             freq_hz       Hz     (0, 0.49 rate)     low-shelf [60, 300],
 *                                                     high-shelf [3000, 10000],
 *                                                     peak [200, 5000],
 *                                                     high-pass [20, 150],
 *                                                     low-pass [8000, 16000]
 *                                                     (log-uniform; capped at
 *                                                     0.45 rate)
 *             gain_db       dB     [-24, 24]          [-6, 6] (shelf, peak;
 *                                                     ignored by the passes)
 *             q                    [0.1, 20]          peak [0.5, 2],
 *                                                     others 0.707
 * compressor  threshold_db  dBFS   [-80, 0]           [-30, -10]
 *             ratio                [1, 100]           [1.5, 6]
 *             knee_db       dB     [0, 24]            [0, 12]
 *             attack_ms     ms     [0.01, 1000]       [1, 30]
 *             release_ms    ms     [1, 5000]          [50, 300]
 *             makeup_db     dB     [-24, 48]          [0, 2]
 *             auto_makeup          [0, 1]             1
 * limiter     ceiling_db    dBFS   [-60, 0]           [-6, -0.5]
 *             lookahead_ms  ms     [0.1, 100]         [1, 5]
 *             release_ms    ms     [1, 5000]          [20, 200]
 * distortion  mode          enum   tanh, clip, bitcrush  any of the 3
 *             drive_db      dB     [0, 60]            tanh/clip [0, 24],
 *                                                     bitcrush 0
 *             mix                  [0, 1]             [0.1, 0.5]
 *             bits                 [1, 24]            [6, 12] (bitcrush only)
 * reverb      room_size            [0, 1]             [0.2, 0.8]
 *             damping              [0, 1]             [0.2, 0.7]
 *             wet                  [0, 1]             [0.05, 0.35]
 *             predelay_ms   ms     [0, 500]           [0, 40]
 * echo        delay_ms      ms     [1, 5000]          [60, 500]
 *             feedback             [0, 0.95]          [0, 0.5]
 *             mix                  [0, 1]             [0.05, 0.35]
 * chorus      rate_hz       Hz     [0.01, 20]         [0.1, 1]
 *             depth_ms      ms     [0, 50]            [1, 4]
 *             delay_ms      ms     [0, 100]           [5, 20]
 *             mix                  [0, 1]             [0.2, 0.5]
 * noise       colour        enum   white, pink        either
 *             snr_db        dB     [-20, 120] or +inf [20, 50]
 *             seed                 any uint64         from the chain's draw
 *
 * Definitions:
 * - gain: out = x * 10^(db/20).
 * - eq: one RBJ Audio-EQ-Cookbook biquad per channel (shelves use Q, not S).
 * - compressor: feed-forward, log domain (Giannoulis, Massberg, Reiss 2012):
 *   level = 20 log10 max_c |x_c| (linked peak), soft-knee gain computer,
 *   branching attack/release smoothing of the gain in dB with time constants
 *   attack_ms / release_ms (exp(-1/(tau rate))), then makeup, plus
 *   auto_makeup x the gain reduction averaged over 2 s (a one-pole mean of
 *   the smoothed reduction in dB, as a compressor's auto gain: the dynamics
 *   change, the level on average does not). Static curve (auto_makeup 0):
 *   out = in below T - W/2, T + (in - T)/R above T + W/2, quadratic between.
 * - limiter: output delayed by lookahead + 3 frames (latency); level =
 *   true peak (max over channels of |x| and of 4x-oversampled values, as in
 *   ITU-R BS.1770); gain = min over the look-ahead window of
 *   min(1, ceiling / level), released with release_ms, then smoothed by a
 *   moving average over the look-ahead: no output sample exceeds the ceiling
 *   (a final clamp guards float rounding); inter-sample peaks stay within
 *   about 0.05 dB of it (0.052 dB in unit test limiter, which allows 0.1).
 * - distortion: wet = tanh(g x) | clamp(g x, -1, 1) | clamp(g x) quantised to
 *   `bits` bits (round to nearest of 2^(bits-1) steps per unit), g =
 *   10^(drive_db/20); out = mix wet / g + (1 - mix) x (level-compensated:
 *   small signals pass at unity gain, the drive saturates the louder parts
 *   instead of raising the level, as a saturator's output level knob
 *   would). tanh is a rational
 *   approximation within 1e-4. No oversampling (aliasing as in a plain
 *   waveshaper).
 * - reverb: 8-line feedback delay network (Hadamard mixing) on the mean of
 *   the channels after pre-delay and input diffusion; RT60 = 0.2 s * 20^room
 *   (0.2 s .. 4 s) at low frequencies, damping shortens it at high ones;
 *   each channel takes an orthogonal output tap (decorrelated, centred).
 *   r is scaled to the input's power for white noise (damping included);
 *   out = (a x + b r) with a = (1-wet)/n, b = wet/n,
 *   n = sqrt((1-wet)^2 + wet^2) (equal power for uncorrelated dry/wet).
 * - echo: e[t] = x[t-D] + feedback e[t-D], D = round(delay_ms rate / 1000)
 *   frames exactly; out = x + mix e.
 * - chorus: one sine LFO for all channels; delay(t) = delay_ms +
 *   depth_ms (1 + sin(2 pi rate t)) / 2 (at least 2 frames), Catmull-Rom
 *   cubic interpolation;
 *   out = a x + b wet with the reverb's equal-power a, b.
 * - noise: signal mean square over all channels tracked causally (running
 *   mean over the first second, then an exponential average with a 1 s time
 *   constant); noise of that power / 10^(snr_db/10) added, independent per
 *   channel, drawn from core/rng.h keyed by the seed with the counter set by
 *   (frame, channel), so buffer sizes do not matter (white: sum of four
 *   uniform bytes, normalised: near Gaussian; pink: pole/zero pairs from
 *   20 Hz scaled to the rate, -3 dB/octave, normalised to unit power).
 *   snr_db = +inf is the identity. In digital silence no noise is added
 *   (the tracked level decays to 0 with the 1 s time constant).
 */
#ifndef MUSA_FX_FX_H
#define MUSA_FX_FX_H

#include <stddef.h>
#include <stdint.h>

#include "core/musa.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum
{
  MUSA_FX_GAIN,
  MUSA_FX_EQ,
  MUSA_FX_COMPRESSOR,
  MUSA_FX_LIMITER,
  MUSA_FX_DISTORTION,
  MUSA_FX_REVERB,
  MUSA_FX_ECHO,
  MUSA_FX_CHORUS,
  MUSA_FX_NOISE,
  MUSA_FX_N_TYPES
} MusaFxType;

typedef enum
{
  MUSA_EQ_LOW_SHELF,
  MUSA_EQ_HIGH_SHELF,
  MUSA_EQ_PEAK,
  MUSA_EQ_HIGH_PASS,
  MUSA_EQ_LOW_PASS
} MusaEqShape;

typedef enum
{
  MUSA_DIST_TANH,
  MUSA_DIST_CLIP,
  MUSA_DIST_BITCRUSH
} MusaDistMode;

typedef enum
{
  MUSA_NOISE_WHITE,
  MUSA_NOISE_PINK
} MusaNoiseColour;

/* Zero it before filling the fields of one effect (memset): fields added
 * later (as compressor.auto_makeup in 0.1) then keep their neutral value. */
typedef struct
{
  MusaFxType type;
  union
  {
    struct
    {
      double db;
    } gain;
    struct
    {
      MusaEqShape shape;
      double freq_hz, gain_db, q;
    } eq;
    struct
    {
      double threshold_db, ratio, knee_db, attack_ms, release_ms, makeup_db;
      double auto_makeup;       /* [0, 1]: share of the average gain
                                 * reduction given back (0: none) */
    } compressor;
    struct
    {
      double ceiling_db, lookahead_ms, release_ms;
    } limiter;
    struct
    {
      MusaDistMode mode;
      double drive_db, mix;
      int bits;
    } distortion;
    struct
    {
      double room_size, damping, wet, predelay_ms;      /* room_size, damping, wet in [0,1] */
    } reverb;
    struct
    {
      double delay_ms, feedback, mix;
    } echo;
    struct
    {
      double rate_hz, depth_ms, delay_ms, mix;
    } chorus;
    struct
    {
      MusaNoiseColour colour;
      double snr_db;
      uint64_t seed;
    } noise;
  } p;
} MusaFxParams;

typedef struct MusaFx MusaFx;

/* "gain", "eq", "compressor", "limiter", "distortion", "reverb", "echo",
 * "chorus", "noise"; NULL for an unknown type. */
const char *musa_fx_type_name (MusaFxType t);

/* MUSA_OK, or MUSA_ERR_INVALID naming "<effect>.<param>" in @err. @rate in
 * [8000, 192000] (frequencies are checked against it). */
int musa_fx_params_check (const MusaFxParams * p, int rate, MusaError * err);

/* @channels in [1, 8]. NULL on error (with @err filled). */
MusaFx *musa_fx_new (const MusaFxParams * p, int rate, int channels,
    MusaError * err);

/* In place, no allocation. Nothing is done for a NULL object or buffer.
 * An effect has no end of stream (musa.h, "Streams"): to drain it, feed it
 * musa_fx_tail () frames of zeros; it takes input again at once. */
void musa_fx_process (MusaFx * fx, float *interleaved, size_t frames);

/* Back to the state right after musa_fx_new (silence in, time 0). NULL:
 * nothing. */
void musa_fx_reset (MusaFx * fx);

/* Frames of delay it adds (limiter look-ahead), else 0 (also for NULL). */
int64_t musa_fx_latency (const MusaFx * fx);

/* Frames of output still to come after input ends (reverb/echo/chorus/
 * limiter/EQ), for draining: process that many frames of zeros. 0 for
 * NULL. */
int64_t musa_fx_tail (const MusaFx * fx);

/* "compressor(threshold_db=-18.0,ratio=3.0,...)" for provenance; snprintf
 * semantics (returns the length it needed, also with a NULL @buf; < 0 on a
 * bad type or NULL @p). */
int musa_fx_describe (const MusaFxParams * p, char *buf, size_t len);

/* True for settings that leave audio bit-exact (gain 0 dB, shelf/peak EQ at
 * 0 dB, compressor ratio 1 and makeup 0, distortion/echo/chorus mix 0,
 * reverb wet 0, noise snr +inf). The limiter and the passes never are,
 * nor is NULL (0). */
int musa_fx_is_identity (const MusaFxParams * p);

void musa_fx_free (MusaFx * fx);

#ifdef __cplusplus
}
#endif
#endif /* MUSA_FX_FX_H */
