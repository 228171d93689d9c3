/* libmusa — test and demo signals with answers known by construction. */
#ifndef MUSA_SYNTH_H
#define MUSA_SYNTH_H

#include "core/musa.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct
{
  int sample_rate;
  double bpm;                   /* quarter notes per minute */
  int tonic;                    /* pitch class, 0 = C .. 11 = B */
  int minor;                    /* boolean */
  double tuning_cents;          /* offset from A440 */
  uint64_t seed;                /* for the noise of drums */
  int drums, bass, chords;      /* booleans: which parts play */
} MusaSynthConfig;

/* Defaults: 44100 Hz, 120 BPM, A minor, all parts. (NULL: nothing.) */
void musa_synth_config_default (MusaSynthConfig * cfg);

/* A 4/4 groove: kick on 1 and 3, snare on 2 and 4, hi-hat on eighths, a bass
 * on every beat and held chords, one per bar, i-iv-V-i (harmonic minor) or
 * I-IV-V-I. Onsets land exactly on the beat grid, beat 0 at t = 0.
 * Writes n mono samples to out, peak below 0.9. */
int musa_synth_music (const MusaSynthConfig * cfg, float *out, size_t n,
    MusaError * err);

/* Clicks (1 ms decaying 1 kHz bursts, amplitude 0.8) every 60/bpm seconds,
 * the first at sample @offset. NULL @out: nothing; a rate < 1 or a tempo
 * not above 0: silence. */
void musa_synth_clicks (float *out, size_t n, int sample_rate, double bpm,
    size_t offset);

#ifdef __cplusplus
}
#endif
#endif /* MUSA_SYNTH_H */
