/* libmusa — mel filterbank, librosa.filters.mel's construction.
 *
 * Slaney (Auditory Toolbox) or HTK mel scale; Slaney area normalisation
 * (2 / (f[i+2] - f[i])) or none. Weights are computed in double precision
 * and stored sparse (first bin and length per filter). */
#ifndef MUSA_MEL_H
#define MUSA_MEL_H

#include "core/musa.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum
{
  MUSA_MEL_SCALE_SLANEY = 0,
  MUSA_MEL_SCALE_HTK,
} MusaMelScale;

typedef enum
{
  MUSA_MEL_NORM_SLANEY = 0,
  MUSA_MEL_NORM_NONE,
} MusaMelNorm;

typedef struct
{
  int sample_rate;
  int n_fft;
  int n_mels;
  double fmin;                  /* Hz */
  double fmax;                  /* Hz, 0 = sample_rate / 2 */
  MusaMelScale scale;
  MusaMelNorm norm;
} MusaMelConfig;

typedef struct MusaMel MusaMel;

double musa_hz_to_mel (double hz, MusaMelScale scale);
double musa_mel_to_hz (double mel, MusaMelScale scale);

/* Refuses fmin >= fmax, fmax above Nyquist, and filters that would cover no
 * FFT bin (n-mels too large for n-fft), naming the property at fault. */
int musa_mel_config_check (const MusaMelConfig * cfg, MusaError * err);
/* The part of the checks that does not depend on the sample rate (nor on
 * n-fft): for callers that do not know the rate yet. */
int musa_mel_config_check_static (const MusaMelConfig * cfg,
    MusaError * err);
MusaMel *musa_mel_new (const MusaMelConfig * cfg, MusaError * err);
void musa_mel_free (MusaMel * mel);

/* 0 for NULL. */
int musa_mel_n_mels (const MusaMel * mel);
/* out[m] = sum_k W[m][k] * spec[k], spec of n_fft/2+1 bins. Nothing is done
 * when an argument is NULL (here and in musa_mel_weights). */
void musa_mel_apply (const MusaMel * mel, const float *spec, float *out);
/* Dense copy of the weights, row-major [n_mels][n_fft/2+1] (for tests). */
void musa_mel_weights (const MusaMel * mel, float *dense);

#ifdef __cplusplus
}
#endif
#endif /* MUSA_MEL_H */
