/* libmusa — onset detection: onset strength (detection function) and
 * adaptive peak picking, streaming.
 *
 * Framing: a centred STFT (core/stft.h) with a periodic Hann window of
 * about 46 ms (the power of two nearest 0.046 * rate: 2048 at 44.1/48 kHz)
 * and a hop of rate/100 samples rounded (441 at 44.1 kHz): 100 detection
 * function frames per second, frame i centred on sample i * hop. 10 ms is
 * the resolution onset evaluation works at (50 ms windows) and enough for
 * the tempo and beat trackers that read the same function.
 *
 * Methods (the detection function of one frame):
 *  - SUPERFLUX (default, Böck & Widmer 2013): log10 (1 + m), m the band
 *    magnitude of a logarithmic filterbank (24 bands per octave,
 *    30 Hz .. 17 kHz, triangular filters of unit area, applied to |X|^2,
 *    the square root taken per band; m is about 1 for a sinusoid 54 dB
 *    under full scale), minus the previous frame after a maximum filter
 *    over 3 neighbouring bands, half-wave rectified and summed: vibrato and
 *    slow glides do not fire, new notes do. The peak picker reads the same
 *    function computed with log10 (1 + 3 m): the knee of the log (where it
 *    turns linear) 64 dB under full scale, so that a quiet note entering
 *    under loud ones (a comping chord under a strum, a ghost note) still
 *    counts as a relative rise. The frames handed out (for the tempo and
 *    beat trackers) keep log10 (1 + m), which weighs quiet hi-hats less;
 *  - FLUX: the same without the filterbank and the maximum filter
 *    (rectified difference of log10 (1 + |X|) over linear bins);
 *  - HFC: high-frequency content, sum of k |X_k|^2, rectified difference;
 *  - COMPLEX: rectified complex-domain deviation (Duxbury / Dixon): distance
 *    between X_k and its prediction from the two previous frames, counted
 *    where the magnitude grows;
 *  - ENERGY: rectified difference of the frame energy.
 *
 * Adaptive whitening (SUPERFLUX, whiten = 1; after Stowell & Plumbley
 * 2007) changes the picking function only. Each band keeps a peak memory:
 * the larger of its magnitude and the previous frame's memory lowered by
 * 60 dB per 20 s (3 dB a second, a memory of several seconds; the short
 * end of the 22-446 s aubio allows for its relaxation). The band's gain is
 * 40 dB over the inverse of the largest memory within 4 bands either side
 * (1/6 octave; 86 Hz under 750 Hz, where bands are one bin wide at
 * 44.1 kHz), so that it is smooth across frequency, and at most 10 dB over
 * the unwhitened gain: a band keeps 40 dB of range under its recent peak,
 * and a band that has been quiet for a while has its log knee 10 dB lower
 * (74 dB under full scale). The band's gain scales both its magnitude and
 * the maximum of the previous frame's 3 neighbours before the log, so the
 * maximum filter compares like with like (vibrato does not fire). Plucks
 * at -60 dBFS after chords at -1 dBFS are found once the memories have
 * fallen (after 3.5 s: 23 of 23; unwhitened none, at -55 dBFS 13 of 23).
 *
 * The value handed out is normalised by a slow running level of the
 * function itself (time constant 4 s, with a floor, a little above what
 * white noise at -60 dBFS gives, so that silence stays at 0), so
 * thresholds mean the same thing for every method and loudness. The
 * SUPERFLUX picking function is normalised the same way, with a floor of
 * 1.5 times what white noise at -50 dBFS gives, so that the frame-to-frame
 * ripple of a steady or vibrato tone is not blown up into onsets.
 *
 * Peak picking (madmom's rules): frame n is an onset when its (picking
 * function) value is the maximum over [n - pre_max, n + post_max], at least
 * the mean over [n - pre_avg, n + post_avg] plus delta, at least threshold,
 * and at least combine seconds after the previous onset. Defaults:
 * threshold 1.7, delta 0.4, pre_max = post_max = 10 ms, pre_avg 200 ms,
 * post_avg 20 ms, combine 20 ms. The decision for frame n is taken when
 * frame n + max (post_max, post_avg) arrives: with the defaults
 * an onset is reported when 20 ms of audio after it (plus half a window,
 * 23 ms at 44.1 kHz) have been analysed. */
#ifndef MUSA_ONSET_H
#define MUSA_ONSET_H

#include "core/musa.h"

#ifdef __cplusplus
extern "C"
{
#endif

  typedef enum
  {
    MUSA_ONSET_SUPERFLUX = 0,
    MUSA_ONSET_FLUX,
    MUSA_ONSET_HFC,
    MUSA_ONSET_COMPLEX,
    MUSA_ONSET_ENERGY,
  } MusaOnsetMethod;

/* Short name ("superflux", "flux", "hfc", "complex", "energy"). */
  const char *musa_onset_method_name (MusaOnsetMethod method);

  typedef struct
  {
    int sample_rate;            /* 8000..192000 */
    MusaOnsetMethod method;
    double threshold;           /* minimum normalised strength, >= 0 */
    double delta;               /* above the local mean, >= 0 */
    double pre_max, post_max;   /* s, maximum filter span (0..1, 0..0.1) */
    double pre_avg, post_avg;   /* s, moving mean span (0..2, 0..0.1) */
    double combine;             /* s, minimum gap between onsets (0..1) */
    int whiten;                 /* SUPERFLUX: adaptive whitening of the
                                 * picking function (0 or 1) */
  } MusaOnsetConfig;

  void musa_onset_config_default (MusaOnsetConfig * cfg, int sample_rate);
  int musa_onset_config_check (const MusaOnsetConfig * cfg, MusaError * err);

/* One detection function frame, handed to the callback as soon as its
 * samples are in. @onset tells whether an onset was picked; it concerns an
 * earlier frame (@onset_frame, @onset_time), the one the picker has just
 * decided about. Times in seconds from the stream start. */
  typedef struct
  {
    int64_t frame;
    double time;
    float value;                /* normalised detection function, >= 0 */
    float live_value;           /* the same with its level held at least
                                 * at a multiple of the function's 1 s
                                 * minimum (a stationary background such
                                 * as noise): what live beats read */
    int onset;
    int64_t onset_frame;
    double onset_time;
    float onset_strength;       /* normalised picking function value at
                                 * the onset */
  } MusaOnsetFrame;

  typedef void (*MusaOnsetFunc) (void *user, const MusaOnsetFrame * frame);

  typedef struct MusaOnset MusaOnset;

  MusaOnset *musa_onset_new (const MusaOnsetConfig * cfg, MusaError * err);
  void musa_onset_free (MusaOnset * od);
  void musa_onset_reset (MusaOnset * od);
/* Analyse @n mono samples; calls @func for every frame completed. No
 * allocation. Non-finite samples must have been replaced before. MUSA_OK;
 * MUSA_ERR_INVALID for a NULL object or NULL @x with n > 0; MUSA_ERR_STATE
 * after finish until reset (musa.h, "Streams"). */
  int musa_onset_process (MusaOnset * od, const float *x, size_t n,
      MusaOnsetFunc func, void *user);
/* End of stream: the last frames (centre padding) and the pending peak
 * decisions; these last come as frames with frame = -1 (no new value, only
 * an onset). Reset before feeding samples again. MUSA_OK; called again,
 * MUSA_OK and nothing more (the pending onsets are not reported twice);
 * MUSA_ERR_INVALID for NULL. */
  int musa_onset_finish (MusaOnset * od, MusaOnsetFunc func, void *user);

/* Frames per second of the detection function (rate / hop). These getters
 * give 0 (config: NULL) for a NULL object. */
  double musa_onset_fps (const MusaOnset * od);
  int musa_onset_hop (const MusaOnset * od);
  int musa_onset_n_fft (const MusaOnset * od);
/* Frames the peak picker waits for before deciding (post window). */
  int musa_onset_delay_frames (const MusaOnset * od);
  const MusaOnsetConfig *musa_onset_config (const MusaOnset * od);

#ifdef __cplusplus
}
#endif
#endif                          /* MUSA_ONSET_H */
