/* libmusa — streaming (log-)mel spectrogram. */
#include "core/melspec.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "core/audio.h"

struct MusaMelspec
{
  MusaMelspecConfig cfg;
  MusaStft *stft;
  MusaMel *mel;
  float *spec;                  /* n_bins */
  float *mels;                  /* n_mels */
  /* the callback in flight, for the STFT's frame function */
  MusaMelspecFrameFunc func;
  void *user;
};

void
musa_melspec_config_default (MusaMelspecConfig * cfg, int sample_rate)
{
  if (cfg == NULL)
    return;
  cfg->sample_rate = sample_rate;
  cfg->stft.n_fft = 2048;
  cfg->stft.hop = 512;
  cfg->stft.win_length = 0;
  cfg->stft.window = MUSA_WINDOW_HANN;
  cfg->stft.center = 1;
  cfg->n_mels = 128;
  cfg->fmin = 0.0;
  cfg->fmax = 0.0;
  cfg->scale = MUSA_MEL_SCALE_SLANEY;
  cfg->norm = MUSA_MEL_NORM_SLANEY;
  cfg->power = 2.0;
  cfg->log = MUSA_MEL_LOG_NONE;
  cfg->top_db = 80.0;
  cfg->log_mult = 1.0;
  cfg->amin = 1e-10;
}

static void
mel_config (const MusaMelspecConfig * cfg, MusaMelConfig * mc)
{
  mc->sample_rate = cfg->sample_rate;
  mc->n_fft = cfg->stft.n_fft;
  mc->n_mels = cfg->n_mels;
  mc->fmin = cfg->fmin;
  mc->fmax = cfg->fmax;
  mc->scale = cfg->scale;
  mc->norm = cfg->norm;
}

int
musa_melspec_config_check_static (const MusaMelspecConfig * cfg,
    MusaError * err)
{
  MusaMelConfig mc;
  int status;

  if (cfg == NULL)
    return musa_error_set (err, MUSA_ERR_INVALID, NULL, "no configuration");
  if ((status = musa_stft_config_check (&cfg->stft, err)) != MUSA_OK)
    return status;
  if (!(cfg->power > 0.0 && cfg->power <= 4.0))
    return musa_error_set (err, MUSA_ERR_INVALID, "power",
        "power must be in (0, 4], got %g", cfg->power);
  if ((int) cfg->log < 0 || cfg->log > MUSA_MEL_LOG_LOG1P)
    return musa_error_set (err, MUSA_ERR_INVALID, "log",
        "unknown log mode %d", (int) cfg->log);
  if (!(cfg->log_mult > 0.0) || !isfinite (cfg->log_mult))
    return musa_error_set (err, MUSA_ERR_INVALID, "log-mult",
        "log-mult must be positive, got %g", cfg->log_mult);
  if (!(cfg->amin > 0.0))
    return musa_error_set (err, MUSA_ERR_INVALID, "amin",
        "amin must be positive, got %g", cfg->amin);
  if (isnan (cfg->top_db))
    return musa_error_set (err, MUSA_ERR_INVALID, "top-db",
        "top-db must be a number of dB (<= 0: no floor), got NaN");
  mel_config (cfg, &mc);
  return musa_mel_config_check_static (&mc, err);
}

int
musa_melspec_config_check (const MusaMelspecConfig * cfg, MusaError * err)
{
  MusaMelConfig mc;
  int status;

  if ((status = musa_melspec_config_check_static (cfg, err)) != MUSA_OK)
    return status;
  mel_config (cfg, &mc);
  return musa_mel_config_check (&mc, err);
}

int
musa_melspec_needs_precise (const MusaMelspecConfig * cfg)
{
  /* The float FFT's noise floor is ~140 dB under the frame's largest bin
   * magnitude. With power 2, 1e-6 of the frame maximum is 60 dB down in
   * magnitude and an 80 dB top-db range 40 dB: far above it. Power below 2
   * (|X| down to 1e-6 is 120 dB), or a dB range reaching deeper than 60 dB
   * of magnitude (or no floor at all), need the double-precision path.
   * So does a mel range narrower than 0..Nyquist: energy outside it does
   * not show in the mel maximum but sets the float noise floor. */
  if (cfg == NULL)
    return 0;
  if (cfg->power < 2.0)
    return 1;
  if (cfg->fmin > 0.0 || (cfg->fmax > 0.0
          && cfg->fmax < cfg->sample_rate / 2.0))
    return 1;
  if (cfg->log == MUSA_MEL_LOG_DB
      && (cfg->top_db <= 0.0 || cfg->top_db / cfg->power > 60.0))
    return 1;
  return 0;
}

MusaMelspec *
musa_melspec_new (const MusaMelspecConfig * cfg, MusaError * err)
{
  MusaMelspec *ms;
  MusaMelConfig mc;

  if (musa_melspec_config_check (cfg, err) != MUSA_OK)
    return NULL;
  ms = calloc (1, sizeof (*ms));
  if (ms == NULL) {
    musa_error_set (err, MUSA_ERR_NOMEM, NULL, "out of memory");
    return NULL;
  }
  ms->cfg = *cfg;
  mel_config (cfg, &mc);
  ms->stft = musa_stft_new (&cfg->stft, err);
  ms->mel = ms->stft ? musa_mel_new (&mc, err) : NULL;
  if (ms->mel == NULL) {
    musa_melspec_free (ms);
    return NULL;
  }
  if (musa_melspec_needs_precise (cfg)
      && musa_stft_set_precise (ms->stft, 1, err) != MUSA_OK) {
    musa_melspec_free (ms);
    return NULL;
  }
  ms->spec = malloc (sizeof (float) * (size_t) musa_stft_n_bins (ms->stft));
  ms->mels = malloc (sizeof (float) * (size_t) cfg->n_mels);
  if (ms->spec == NULL || ms->mels == NULL) {
    musa_melspec_free (ms);
    musa_error_set (err, MUSA_ERR_NOMEM, NULL, "out of memory");
    return NULL;
  }
  return ms;
}

void
musa_melspec_free (MusaMelspec * ms)
{
  if (ms == NULL)
    return;
  musa_stft_free (ms->stft);
  musa_mel_free (ms->mel);
  free (ms->spec);
  free (ms->mels);
  free (ms);
}

void
musa_melspec_reset (MusaMelspec * ms)
{
  if (ms == NULL)
    return;
  musa_stft_reset (ms->stft);
}

static void
on_frame (void *user, int64_t index, const float *spectrum, const float *frame)
{
  MusaMelspec *ms = user;
  int m, n = ms->cfg.n_mels;
  float *v = ms->mels;

  musa_power_spectrum (spectrum, ms->spec, musa_stft_n_bins (ms->stft),
      (float) ms->cfg.power);
  musa_mel_apply (ms->mel, ms->spec, v);
  /* finite samples far beyond full scale overflow float in the spectrum
   * (Inf, and NaN where Inf meets Inf): saturate */
  for (m = 0; m < n; m++)
    v[m] = v[m] < FLT_MAX ? v[m] : FLT_MAX;     /* (a vector min) */
  if (ms->cfg.log == MUSA_MEL_LOG_DB) {
    float amin = (float) ms->cfg.amin, top = -INFINITY;
    for (m = 0; m < n; m++) {
      v[m] = 10.0f * log10f (v[m] > amin ? v[m] : amin);
      if (v[m] > top)
        top = v[m];
    }
    if (ms->cfg.top_db > 0) {
      float floor = top - (float) ms->cfg.top_db;
      for (m = 0; m < n; m++)
        if (v[m] < floor)
          v[m] = floor;
    }
  } else if (ms->cfg.log == MUSA_MEL_LOG_LOG1P) {
    float mult = (float) ms->cfg.log_mult;
    for (m = 0; m < n; m++) {
      float y = mult * v[m];
      v[m] = log1pf (y <= FLT_MAX ? y : FLT_MAX);
    }
  }
  ms->func (ms->user, index, v, n);
}

int
musa_melspec_process (MusaMelspec * ms, const float *x, size_t n,
    MusaMelspecFrameFunc func, void *user)
{
  if (ms == NULL)
    return MUSA_ERR_INVALID;
  ms->func = func;
  ms->user = user;
  return musa_stft_process (ms->stft, x, n, func ? on_frame : NULL, ms);
}

int
musa_melspec_finish (MusaMelspec * ms, MusaMelspecFrameFunc func, void *user)
{
  if (ms == NULL)
    return MUSA_ERR_INVALID;
  ms->func = func;
  ms->user = user;
  return musa_stft_finish (ms->stft, func ? on_frame : NULL, ms);
}

const MusaStft *
musa_melspec_stft (const MusaMelspec * ms)
{
  return ms ? ms->stft : NULL;
}

int
musa_melspec_n_mels (const MusaMelspec * ms)
{
  return ms ? ms->cfg.n_mels : 0;
}
