/* libmusa — mel filterbank. */
#include "core/mel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct MusaMel
{
  int n_mels, n_bins;
  int *start;                   /* first non-zero bin of each filter */
  int *len;                     /* number of bins from start */
  float *w;                     /* the filters' non-zero weights, packed */
  int *offset;                  /* where each filter's weights begin in w */
};

/* Slaney's Auditory Toolbox scale: linear below 1 kHz, log above. */
#define SLANEY_F_SP (200.0 / 3.0)
#define SLANEY_MIN_LOG_HZ 1000.0
#define SLANEY_MIN_LOG_MEL (SLANEY_MIN_LOG_HZ / SLANEY_F_SP)
#define SLANEY_LOGSTEP (log (6.4) / 27.0)

double
musa_hz_to_mel (double hz, MusaMelScale scale)
{
  if (scale == MUSA_MEL_SCALE_HTK)
    return 2595.0 * log10 (1.0 + hz / 700.0);
  if (hz >= SLANEY_MIN_LOG_HZ)
    return SLANEY_MIN_LOG_MEL + log (hz / SLANEY_MIN_LOG_HZ) / SLANEY_LOGSTEP;
  return hz / SLANEY_F_SP;
}

double
musa_mel_to_hz (double mel, MusaMelScale scale)
{
  if (scale == MUSA_MEL_SCALE_HTK)
    return 700.0 * (pow (10.0, mel / 2595.0) - 1.0);
  if (mel >= SLANEY_MIN_LOG_MEL)
    return SLANEY_MIN_LOG_HZ * exp (SLANEY_LOGSTEP * (mel -
            SLANEY_MIN_LOG_MEL));
  return SLANEY_F_SP * mel;
}

/* Weight of filter m at FFT bin k, as librosa computes it. */
static double
mel_weight (const double *mel_f, int m, double freq, MusaMelNorm norm)
{
  double lower = (freq - mel_f[m]) / (mel_f[m + 1] - mel_f[m]);
  double upper = (mel_f[m + 2] - freq) / (mel_f[m + 2] - mel_f[m + 1]);
  double w = fmax (0.0, fmin (lower, upper));

  if (norm == MUSA_MEL_NORM_SLANEY)
    w *= 2.0 / (mel_f[m + 2] - mel_f[m]);
  return w;
}

/* The FFT bins [*lo, *hi] that can hold filter m's non-zero weights: those
 * strictly between mel_f[m] and mel_f[m + 2], with a bin to spare on each
 * side for rounding (scanning every bin for every filter took 22 s at
 * n-fft 2^20 with 4096 mels). */
static void
bin_range (const MusaMelConfig * cfg, const double *mel_f, int m, int n_bins,
    int *lo, int *hi)
{
  double per_bin = (double) cfg->sample_rate / cfg->n_fft;
  double a = floor (mel_f[m] / per_bin) - 1.0;
  double b = ceil (mel_f[m + 2] / per_bin) + 1.0;

  *lo = a < 0.0 ? 0 : (a > n_bins - 1 ? n_bins - 1 : (int) a);
  *hi = b < 0.0 ? 0 : (b > n_bins - 1 ? n_bins - 1 : (int) b);
}

static double *
mel_frequencies (const MusaMelConfig * cfg, double fmax)
{
  double *f = malloc (sizeof (double) * (size_t) (cfg->n_mels + 2));
  double lo = musa_hz_to_mel (cfg->fmin, cfg->scale);
  double hi = musa_hz_to_mel (fmax, cfg->scale);
  int i;

  if (f == NULL)
    return NULL;
  for (i = 0; i < cfg->n_mels + 2; i++)
    f[i] = musa_mel_to_hz (lo + (hi - lo) * i / (cfg->n_mels + 1), cfg->scale);
  return f;
}

int
musa_mel_config_check_static (const MusaMelConfig * cfg, MusaError * err)
{
  if (cfg == NULL)
    return musa_error_set (err, MUSA_ERR_INVALID, NULL, "no configuration");
  if (cfg->n_mels < 1 || cfg->n_mels > 4096)
    return musa_error_set (err, MUSA_ERR_INVALID, "n-mels",
        "n-mels must be in 1..4096, got %d", cfg->n_mels);
  if (!(cfg->fmin >= 0))
    return musa_error_set (err, MUSA_ERR_INVALID, "fmin",
        "fmin must not be negative, got %g Hz", cfg->fmin);
  if ((int) cfg->scale < 0 || cfg->scale > MUSA_MEL_SCALE_HTK)
    return musa_error_set (err, MUSA_ERR_INVALID, "mel-scale",
        "unknown mel scale %d", (int) cfg->scale);
  if ((int) cfg->norm < 0 || cfg->norm > MUSA_MEL_NORM_NONE)
    return musa_error_set (err, MUSA_ERR_INVALID, "norm",
        "unknown mel normalisation %d", (int) cfg->norm);
  if (cfg->fmax > 0 && cfg->fmin >= cfg->fmax)
    return musa_error_set (err, MUSA_ERR_INVALID, "fmin",
        "fmin (%g Hz) must be below fmax (%g Hz)", cfg->fmin, cfg->fmax);
  return MUSA_OK;
}

int
musa_mel_config_check (const MusaMelConfig * cfg, MusaError * err)
{
  double nyq, fmax;
  double *mel_f;
  int m, k, n_bins, status;

  if (cfg == NULL)
    return musa_error_set (err, MUSA_ERR_INVALID, NULL, "no configuration");
  nyq = cfg->sample_rate / 2.0;
  fmax = cfg->fmax > 0 ? cfg->fmax : nyq;
  n_bins = cfg->n_fft / 2 + 1;
  if (cfg->sample_rate < 1000 || cfg->sample_rate > 768000)
    return musa_error_set (err, MUSA_ERR_INVALID, "rate",
        "sample rate %d Hz is outside 1000..768000", cfg->sample_rate);
  if ((status = musa_mel_config_check_static (cfg, err)) != MUSA_OK)
    return status;
  if (fmax > nyq * (1.0 + 1e-9))
    return musa_error_set (err, MUSA_ERR_INVALID, "fmax",
        "fmax %g Hz is above the Nyquist frequency %g Hz", fmax, nyq);
  if (cfg->fmin >= fmax)
    return musa_error_set (err, MUSA_ERR_INVALID, "fmin",
        "fmin (%g Hz) must be below fmax (%g Hz)", cfg->fmin, fmax);

  mel_f = mel_frequencies (cfg, fmax);
  if (mel_f == NULL)
    return musa_error_set (err, MUSA_ERR_NOMEM, NULL, "out of memory");
  /* librosa warns when a filter has no non-zero weight; we refuse. */
  for (m = 0; m < cfg->n_mels && status == MUSA_OK; m++) {
    int nonzero = 0, lo, hi;
    bin_range (cfg, mel_f, m, n_bins, &lo, &hi);
    for (k = lo; k <= hi && !nonzero; k++) {
      double freq = (double) k * cfg->sample_rate / cfg->n_fft;
      if (mel_weight (mel_f, m, freq, MUSA_MEL_NORM_NONE) > 0)
        nonzero = 1;
    }
    if (!nonzero)
      status = musa_error_set (err, MUSA_ERR_INVALID, "n-mels",
          "n-mels %d is too many for n-fft %d between %g and %g Hz: "
          "mel filter %d covers no FFT bin (raise n-fft or lower n-mels)",
          cfg->n_mels, cfg->n_fft, cfg->fmin, fmax, m);
  }
  free (mel_f);
  return status;
}

MusaMel *
musa_mel_new (const MusaMelConfig * cfg, MusaError * err)
{
  MusaMel *mel;
  double *mel_f, fmax;
  int m, k, total = 0;

  if (musa_mel_config_check (cfg, err) != MUSA_OK)
    return NULL;
  fmax = cfg->fmax > 0 ? cfg->fmax : cfg->sample_rate / 2.0;
  mel = calloc (1, sizeof (*mel));
  mel_f = mel_frequencies (cfg, fmax);
  if (mel == NULL || mel_f == NULL)
    goto nomem;
  mel->n_mels = cfg->n_mels;
  mel->n_bins = cfg->n_fft / 2 + 1;
  mel->start = calloc ((size_t) cfg->n_mels, sizeof (int));
  mel->len = calloc ((size_t) cfg->n_mels, sizeof (int));
  mel->offset = calloc ((size_t) cfg->n_mels, sizeof (int));
  if (!mel->start || !mel->len || !mel->offset)
    goto nomem;
  for (m = 0; m < cfg->n_mels; m++) {
    int first = -1, last = -1, lo, hi;
    bin_range (cfg, mel_f, m, mel->n_bins, &lo, &hi);
    for (k = lo; k <= hi; k++) {
      double freq = (double) k * cfg->sample_rate / cfg->n_fft;
      if (mel_weight (mel_f, m, freq, cfg->norm) > 0) {
        if (first < 0)
          first = k;
        last = k;
      }
    }
    mel->start[m] = first;
    mel->len[m] = last - first + 1;
    mel->offset[m] = total;
    total += mel->len[m];
  }
  mel->w = malloc (sizeof (float) * (size_t) total);
  if (mel->w == NULL)
    goto nomem;
  for (m = 0; m < cfg->n_mels; m++)
    for (k = 0; k < mel->len[m]; k++) {
      double freq = (double) (mel->start[m] + k) * cfg->sample_rate /
          cfg->n_fft;
      mel->w[mel->offset[m] + k] = (float) mel_weight (mel_f, m, freq,
          cfg->norm);
    }
  free (mel_f);
  return mel;

nomem:
  free (mel_f);
  musa_mel_free (mel);
  musa_error_set (err, MUSA_ERR_NOMEM, NULL, "out of memory");
  return NULL;
}

void
musa_mel_free (MusaMel * mel)
{
  if (mel == NULL)
    return;
  free (mel->start);
  free (mel->len);
  free (mel->offset);
  free (mel->w);
  free (mel);
}

int
musa_mel_n_mels (const MusaMel * mel)
{
  return mel ? mel->n_mels : 0;
}

void
musa_mel_apply (const MusaMel * mel, const float *spec, float *out)
{
  int m, k;

  if (mel == NULL || spec == NULL || out == NULL)
    return;
  for (m = 0; m < mel->n_mels; m++) {
    const float *w = mel->w + mel->offset[m];
    const float *s = spec + mel->start[m];
    int len = mel->len[m];
    /* four independent partial sums: no float add waits for the one
     * before (the order is fixed, so results do not depend on anything
     * but the spectrum) */
    float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
    for (k = 0; k + 4 <= len; k += 4) {
      a0 += w[k] * s[k];
      a1 += w[k + 1] * s[k + 1];
      a2 += w[k + 2] * s[k + 2];
      a3 += w[k + 3] * s[k + 3];
    }
    for (; k < len; k++)
      a0 += w[k] * s[k];
    out[m] = (a0 + a1) + (a2 + a3);
  }
}

void
musa_mel_weights (const MusaMel * mel, float *dense)
{
  int m, k;

  if (mel == NULL || dense == NULL)
    return;
  memset (dense, 0, sizeof (float) * (size_t) mel->n_mels * mel->n_bins);
  for (m = 0; m < mel->n_mels; m++)
    for (k = 0; k < mel->len[m]; k++)
      dense[(size_t) m * mel->n_bins + mel->start[m] + k] =
          mel->w[mel->offset[m] + k];
}
