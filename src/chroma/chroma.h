/* libmusa — streaming chromagram with tuning estimation.
 *
 * Pipeline per STFT frame (Hann window, about 186 ms, hop half of that):
 *  1. magnitude spectrum over fmin..fmax (default 50 Hz - 5 kHz);
 *  2. spectral peak picking: local maxima above -60 dB of the frame maximum,
 *     above an absolute floor (-100 dBFS for a sinusoid) and above the mean
 *     magnitude of their neighbourhood (a third of an octave wide, at least
 *     9 bins: a whitening gate, so that the broadband floor of drums and
 *     reverb gives no peaks); frequency and amplitude refined by parabolic
 *     interpolation on the log magnitude;
 *  3. each peak adds sqrt(magnitude) (compression, so that a loud bass does
 *     not outweigh the chords), times 500 Hz / f above 500 Hz (upper
 *     partials are mostly harmonics of lower notes) to a pitch-class
 *     histogram of
 *     MUSA_CHROMA_FINE_BINS bins per octave (10 cents a bin, linear
 *     interpolation between bins).
 *
 * The tuning (cents from A440, in -50..+50) is the weighted circular mean
 * of the histogram's deviation from the equal-tempered grid (each fine bin
 * a phasor at its angle within the semitone). The fine histogram is folded to 12 pitch classes
 * only when a result is asked for, with a raised-cosine kernel centred on
 * the tuned semitones, so the tuning is applied before folding. The length
 * of the mean phasor (0..1), `tonalness`, says how much of the peak energy
 * sits on one tuning grid: near 1 for tonal music, near 0 for noise,
 * drums or silence.
 *
 * Results: over the whole stream, and (window > 0) over the last `window`
 * seconds, from a ring of per-frame histograms. Chunk-invariant: the same
 * samples give bit-identical results whatever the chunking. No allocation in
 * process. */
#ifndef MUSA_CHROMA_H
#define MUSA_CHROMA_H

#include "core/musa.h"

#ifdef __cplusplus
extern "C"
{
#endif

#define MUSA_CHROMA_FINE_BINS 120

  typedef struct
  {
    int sample_rate;            /* 8000..192000 */
    int n_fft;                  /* 0 = auto: power of two nearest 0.186 s */
    int hop;                    /* 0 = n_fft / 2 */
    double fmin;                /* Hz, >= 20 */
    double fmax;                /* Hz, > fmin; clipped to 0.45 * rate */
    int estimate_tuning;        /* boolean */
    double tuning_cents;        /* used when estimate_tuning is 0 */
    double window;              /* s, 0 = whole stream only */
  } MusaChromaConfig;

  typedef struct
  {
    float chroma[12];           /* C..B, maximum 1 (all 0 when silent) */
    float tuning_cents;         /* -50..+50 */
    float tonalness;            /* 0..1 */
    float energy;               /* mean peak weight per frame (0 = silent) */
    int64_t frames;             /* frames averaged */
    int64_t active_frames;      /* window: frames with at least a tenth of
                                 * the strongest one's weight (the music in
                                 * a window that is mostly silence); whole
                                 * stream: = frames */
  } MusaChromaResult;

  typedef struct MusaChroma MusaChroma;

  void musa_chroma_config_default (MusaChromaConfig * cfg, int sample_rate);
  int musa_chroma_config_check (const MusaChromaConfig * cfg, MusaError * err);
  MusaChroma *musa_chroma_new (const MusaChromaConfig * cfg, MusaError * err);
  void musa_chroma_free (MusaChroma * ch);
  void musa_chroma_reset (MusaChroma * ch);
/* Analyse n mono samples. No allocation. MUSA_OK; MUSA_ERR_INVALID for a
 * NULL object or NULL @x with n > 0; MUSA_ERR_STATE after finish until
 * reset (musa.h, "Streams"). */
  int musa_chroma_process (MusaChroma * ch, const float *x, size_t n);
/* End of stream: the trailing frames (centre padding). Reset before more
 * samples. MUSA_OK (again: nothing more); MUSA_ERR_INVALID for NULL. */
  int musa_chroma_finish (MusaChroma * ch);

/* Whole stream since the last reset. A NULL object gives a result of
 * zeros (frames 0); a NULL @res is left alone. */
  void musa_chroma_get_total (const MusaChroma * ch, MusaChromaResult * res);
/* The last `window` seconds (the whole stream when window is 0). */
  void musa_chroma_get_window (const MusaChroma * ch, MusaChromaResult * res);

/* Frames analysed since the last reset, and the sample position of the
 * centre of the last one (-1 before the first frame). 0 for a NULL object
 * (as n_fft and hop). */
  int64_t musa_chroma_frames (const MusaChroma * ch);
  int musa_chroma_n_fft (const MusaChroma * ch);
  int musa_chroma_hop (const MusaChroma * ch);

#ifdef __cplusplus
}
#endif
#endif                          /* MUSA_CHROMA_H */
