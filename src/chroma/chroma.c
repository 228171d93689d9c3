/* libmusa — streaming chromagram with tuning estimation (see chroma.h). */
#include "chroma/chroma.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/audio.h"
#include "core/stft.h"

#define FINE MUSA_CHROMA_FINE_BINS
#define FINE_PER_SEMI (FINE / 12)
/* peaks above this frequency weigh TILT_HZ / f (Hz) */
#define TILT_HZ 500.0
/* per-frame record: the fine histogram */
#define REC FINE

struct MusaChroma
{
  MusaChromaConfig cfg;
  MusaStft *stft;
  int n_fft, hop, n_bins;
  int k0, k1;                   /* peak search bins */
  int klo, khi;                 /* bins whose magnitude is computed */
  float *mag;                   /* n_bins */
  double *csum;                 /* n_bins + 1 prefix sums of mag */
  int *env_lo, *env_hi;         /* whitening neighbourhood per bin */
  float abs_floor;              /* magnitude floor of a peak */
  float frame[REC];             /* the frame being built */

  /* whole stream */
  double total[REC];
  int64_t total_frames;

  /* sliding window */
  float *ring;                  /* cap * REC */
  float *ring_w;                /* cap: each record's total weight */
  int cap, ring_pos, ring_fill;
  double win[REC];              /* sum of the ring's records: updated per
                                 * frame, summed afresh at each wrap (so that
                                 * rounding never accumulates) */
};

void
musa_chroma_config_default (MusaChromaConfig * cfg, int sample_rate)
{
  if (cfg == NULL)
    return;
  memset (cfg, 0, sizeof (*cfg));
  cfg->sample_rate = sample_rate;
  cfg->n_fft = 0;
  cfg->hop = 0;
  cfg->fmin = 50.0;
  cfg->fmax = 5000.0;
  cfg->estimate_tuning = 1;
  cfg->tuning_cents = 0.0;
  cfg->window = 0.0;
}

int
musa_chroma_config_check (const MusaChromaConfig * cfg, MusaError * err)
{
  int n_fft;

  if (cfg == NULL)
    return musa_error_set (err, MUSA_ERR_INVALID, NULL, "no configuration");
  if (cfg->sample_rate < 8000 || cfg->sample_rate > 192000)
    return musa_error_set (err, MUSA_ERR_INVALID, "rate",
        "sample rate must be in 8000..192000 Hz, got %d", cfg->sample_rate);
  if (cfg->n_fft != 0 && (cfg->n_fft < 256 || cfg->n_fft > 65536))
    return musa_error_set (err, MUSA_ERR_INVALID, "n-fft",
        "n-fft must be 0 (auto) or in 256..65536, got %d", cfg->n_fft);
  n_fft = cfg->n_fft ? cfg->n_fft :
      musa_nearest_pow2 (0.186 * cfg->sample_rate, 256, 65536);
  if (cfg->hop < 0 || cfg->hop > n_fft)
    return musa_error_set (err, MUSA_ERR_INVALID, "hop",
        "hop must be 0 (auto) or in 1..n-fft (%d), got %d", n_fft, cfg->hop);
  if (!(cfg->fmin >= 20.0) || !(cfg->fmin < 0.45 * cfg->sample_rate))
    return musa_error_set (err, MUSA_ERR_INVALID, "fmin",
        "fmin must be in 20 Hz..0.45 * rate, got %g", cfg->fmin);
  /* fmax is limited to 0.45 * rate (musa_chroma_new): check what is left */
  if (cfg->fmax > 0.45 * cfg->sample_rate
      && !(0.45 * cfg->sample_rate > cfg->fmin * 1.5))
    return musa_error_set (err, MUSA_ERR_INVALID, "fmin",
        "fmin (%g Hz) must be below 0.45 * rate / 1.5 (%g Hz at %d Hz)",
        cfg->fmin, 0.3 * cfg->sample_rate, cfg->sample_rate);
  if (!(cfg->fmax > cfg->fmin * 1.5))
    return musa_error_set (err, MUSA_ERR_INVALID, "fmax",
        "fmax (%g Hz) must exceed 1.5 * fmin (%g Hz)", cfg->fmax, cfg->fmin);
  if (!(fabs (cfg->tuning_cents) <= 50.0))
    return musa_error_set (err, MUSA_ERR_INVALID, "tuning-cents",
        "tuning-cents must be in -50..50, got %g", cfg->tuning_cents);
  if (!(cfg->window >= 0.0) || cfg->window > 3600.0)
    return musa_error_set (err, MUSA_ERR_INVALID, "window",
        "window must be in 0..3600 s, got %g", cfg->window);
  return MUSA_OK;
}

MusaChroma *
musa_chroma_new (const MusaChromaConfig * cfg, MusaError * err)
{
  MusaChroma *ch;
  MusaStftConfig sc;
  double fmax, bin_hz;
  int k;

  if (musa_chroma_config_check (cfg, err) != MUSA_OK)
    return NULL;
  ch = calloc (1, sizeof (*ch));
  if (ch == NULL) {
    musa_error_set (err, MUSA_ERR_NOMEM, NULL, "out of memory");
    return NULL;
  }
  ch->cfg = *cfg;
  ch->n_fft = cfg->n_fft ? cfg->n_fft :
      musa_nearest_pow2 (0.186 * cfg->sample_rate, 256, 65536);
  ch->hop = cfg->hop ? cfg->hop : ch->n_fft / 2;
  ch->n_bins = ch->n_fft / 2 + 1;

  sc.n_fft = ch->n_fft;
  sc.hop = ch->hop;
  sc.win_length = 0;
  sc.window = MUSA_WINDOW_HANN;
  sc.center = 1;
  ch->stft = musa_stft_new (&sc, err);
  if (ch->stft == NULL) {
    free (ch);
    return NULL;
  }

  bin_hz = (double) cfg->sample_rate / ch->n_fft;
  fmax = cfg->fmax;
  if (fmax > 0.45 * cfg->sample_rate)
    fmax = 0.45 * cfg->sample_rate;
  ch->k0 = (int) floor (cfg->fmin / bin_hz);
  if (ch->k0 < 2)
    ch->k0 = 2;
  ch->k1 = (int) ceil (fmax / bin_hz);
  if (ch->k1 > ch->n_bins - 3)
    ch->k1 = ch->n_bins - 3;

  ch->mag = calloc ((size_t) ch->n_bins, sizeof (float));
  ch->csum = calloc ((size_t) ch->n_bins + 1, sizeof (double));
  ch->env_lo = calloc ((size_t) ch->n_bins, sizeof (int));
  ch->env_hi = calloc ((size_t) ch->n_bins, sizeof (int));
  if (ch->mag == NULL || ch->csum == NULL || ch->env_lo == NULL
      || ch->env_hi == NULL)
    goto nomem;

  /* whitening neighbourhood: +-1/6 octave, at least +-4 bins */
  ch->klo = ch->n_bins;
  ch->khi = 0;
  for (k = ch->k0 - 1; k <= ch->k1 + 1; k++) {
    int h = (int) lround (k * (pow (2.0, 1.0 / 6.0) - 1.0));
    int lo, hi;
    if (h < 4)
      h = 4;
    lo = k - h;
    hi = k + h;
    if (lo < 1)
      lo = 1;
    if (hi > ch->n_bins - 1)
      hi = ch->n_bins - 1;
    ch->env_lo[k] = lo;
    ch->env_hi[k] = hi;
    if (lo < ch->klo)
      ch->klo = lo;
    if (hi > ch->khi)
      ch->khi = hi;
  }
  /* a full-scale sinusoid peaks at n_fft / 4 under a Hann window; the floor
   * is -100 dB below that */
  ch->abs_floor = (float) (ch->n_fft / 4.0 * 1e-5);

  if (cfg->window > 0.0) {
    ch->cap = (int) ceil (cfg->window * cfg->sample_rate / ch->hop);
    if (ch->cap < 1)
      ch->cap = 1;
    ch->ring = calloc ((size_t) ch->cap * REC, sizeof (float));
    ch->ring_w = calloc ((size_t) ch->cap, sizeof (float));
    if (ch->ring == NULL || ch->ring_w == NULL)
      goto nomem;
  }
  musa_chroma_reset (ch);
  return ch;

nomem:
  musa_error_set (err, MUSA_ERR_NOMEM, NULL, "out of memory");
  musa_chroma_free (ch);
  return NULL;
}

void
musa_chroma_free (MusaChroma * ch)
{
  if (ch == NULL)
    return;
  musa_stft_free (ch->stft);
  free (ch->mag);
  free (ch->csum);
  free (ch->env_lo);
  free (ch->env_hi);
  free (ch->ring);
  free (ch->ring_w);
  free (ch);
}

void
musa_chroma_reset (MusaChroma * ch)
{
  if (ch == NULL)
    return;
  musa_stft_reset (ch->stft);
  memset (ch->total, 0, sizeof (ch->total));
  ch->total_frames = 0;
  ch->ring_pos = 0;
  ch->ring_fill = 0;
  memset (ch->win, 0, sizeof (ch->win));
}

/* One STFT frame: whitening, peaks, fine histogram and tuning phasor. */
static void
chroma_frame (void *user, int64_t index, const float *spectrum,
    const float *frame)
{
  MusaChroma *ch = user;
  float *m = ch->mag;
  double *cs = ch->csum;
  float *rec = ch->frame;
  float fmax = 0.0f, thr;
  double bin_hz = (double) ch->cfg.sample_rate / ch->n_fft;
  int k, i;

  (void) index;
  (void) frame;

  musa_power_spectrum (spectrum + 2 * ch->klo, m + ch->klo,
      ch->khi - ch->klo + 1, 1.0f);
  cs[ch->klo] = 0.0;
  for (k = ch->klo; k <= ch->khi; k++)
    cs[k + 1] = cs[k] + m[k];
  for (k = ch->k0; k <= ch->k1; k++)
    if (m[k] > fmax)
      fmax = m[k];

  memset (rec, 0, sizeof (float) * REC);
  thr = fmax * 1e-3f;
  if (thr < ch->abs_floor)
    thr = ch->abs_floor;

  for (k = ch->k0; k <= ch->k1; k++) {
    float a, b, c, d, amp, env, w;
    double freq;
    float pos, frac;
    int lo, hi, i0;

    if (!(m[k] > thr && m[k] > m[k - 1] && m[k] >= m[k + 1]))
      continue;
    /* a peak must stand out of its neighbourhood (whitening gate: the
     * noise floor of drums and reverb does not count) */
    lo = ch->env_lo[k];
    hi = ch->env_hi[k];
    env = (float) ((cs[hi + 1] - cs[lo]) / (hi - lo + 1));
    if (!(m[k] > env))
      continue;
    a = logf (m[k - 1] + 1e-30f);
    b = logf (m[k]);
    c = logf (m[k + 1] + 1e-30f);
    d = a - 2.0f * b + c;
    d = d < 0.0f ? 0.5f * (a - c) / d : 0.0f;
    amp = expf (b - 0.25f * (a - c) * d);
    freq = (k + d) * bin_hz;
    if (freq < ch->cfg.fmin || freq > ch->cfg.fmax)
      continue;

    /* weight: the compressed magnitude, so that a loud bass does not
     * outweigh the chords, tilted down by 1/f above TILT_HZ: the partials
     * up there are mostly upper harmonics of lower notes, which land on
     * other pitch classes (the 7th, 9th, 11th...) */
    w = sqrtf (amp);
    if (freq > TILT_HZ)
      w *= (float) (TILT_HZ / freq);

    /* pitch class, C = 0, in fine bins */
    pos = (float) ((12.0 / M_LN2) * log (freq / 440.0) + 9.0);
    pos = (pos - 12.0f * floorf (pos / 12.0f)) * FINE_PER_SEMI;
    i0 = (int) pos;
    frac = pos - (float) i0;
    if (i0 >= FINE) {
      i0 = 0;
      frac = 0.0f;
    }
    rec[i0] += w * (1.0f - frac);
    rec[i0 == FINE - 1 ? 0 : i0 + 1] += w * frac;
  }

  for (i = 0; i < REC; i++)
    ch->total[i] += rec[i];
  ch->total_frames++;
  if (ch->ring != NULL) {
    float *slot = ch->ring + (size_t) ch->ring_pos * REC;
    /* the window's sum follows the ring: the oldest record out, the new
     * one in (each message summed the whole ring: a 3600 s window at a
     * 10 ms interval ran 12x slower than at the start) */
    for (i = 0; i < REC; i++)
      ch->win[i] += (double) rec[i] - (ch->ring_fill == ch->cap ? slot[i] :
          0.0);
    memcpy (slot, rec, sizeof (float) * REC);
    {
      float w = 0.0f;
      for (i = 0; i < REC; i++)
        w += rec[i];
      ch->ring_w[ch->ring_pos] = w;
    }
    ch->ring_pos = (ch->ring_pos + 1) % ch->cap;
    if (ch->ring_fill < ch->cap)
      ch->ring_fill++;
    if (ch->ring_pos == 0) {
      int f;
      memset (ch->win, 0, sizeof (ch->win));
      for (f = 0; f < ch->ring_fill; f++)
        for (i = 0; i < REC; i++)
          ch->win[i] += ch->ring[(size_t) f * REC + i];
    }
  }
}

int
musa_chroma_process (MusaChroma * ch, const float *x, size_t n)
{
  if (ch == NULL)
    return MUSA_ERR_INVALID;
  return musa_stft_process (ch->stft, x, n, chroma_frame, ch);
}

int
musa_chroma_finish (MusaChroma * ch)
{
  if (ch == NULL)
    return MUSA_ERR_INVALID;
  return musa_stft_finish (ch->stft, chroma_frame, ch);
}

/* Fold a fine histogram (double sums) into a result. */
static void
fold (const MusaChroma * ch, const double *acc, int64_t frames,
    MusaChromaResult * res)
{
  double t, norm, best = 0.0, re = 0.0, im = 0.0, sum = 0.0;
  double chroma[12] = { 0 };
  int b, c;

  memset (res, 0, sizeof (*res));
  res->frames = frames;
  /* the tuning phasor: each fine bin at its angle within the semitone. The
   * linear interpolation between bins 10 cents apart moves the angle of a
   * single peak by less than 0.1 cent. */
  for (b = 0; b < FINE; b++) {
    double ang = 2.0 * M_PI * (double) (b % FINE_PER_SEMI) / FINE_PER_SEMI;
    re += acc[b] * cos (ang);
    im += acc[b] * sin (ang);
    sum += acc[b];
  }
  norm = hypot (re, im);
  if (ch->cfg.estimate_tuning)
    t = norm > 0.0 ? atan2 (im, re) / (2.0 * M_PI) : 0.0;
  else
    t = ch->cfg.tuning_cents / 100.0;
  /* t in semitones, -0.5..0.5 */
  res->tuning_cents = (float) (100.0 * t);
  res->tonalness = sum > 0.0 ? (float) (norm / sum) : 0.0f;
  if (res->tonalness > 1.0f)
    res->tonalness = 1.0f;
  res->energy = frames > 0 ? (float) (sum / frames) : 0.0f;

  for (b = 0; b < FINE; b++) {
    double pos = (double) b / FINE_PER_SEMI - t;
    double r = floor (pos + 0.5);
    double d = pos - r;
    double g = cos (M_PI * d);
    c = ((int) r % 12 + 12) % 12;
    chroma[c] += acc[b] * g * g;
  }
  for (c = 0; c < 12; c++)
    if (chroma[c] > best)
      best = chroma[c];
  for (c = 0; c < 12; c++)
    res->chroma[c] = best > 0.0 ? (float) (chroma[c] / best) : 0.0f;
}

void
musa_chroma_get_total (const MusaChroma * ch, MusaChromaResult * res)
{
  if (res == NULL)
    return;
  if (ch == NULL) {
    memset (res, 0, sizeof (*res));
    return;
  }
  fold (ch, ch->total, ch->total_frames, res);
  res->active_frames = ch->total_frames;
}

/* Frames of @w[0..n) with at least ACTIVE_SHARE of the strongest one's
 * weight (silence weighs 0: no peak clears the floor). */
#define ACTIVE_SHARE 0.01f
static int64_t
active_frames (const float *w, int n)
{
  float top = 0.0f;
  int64_t count = 0;
  int f;

  for (f = 0; f < n; f++)
    if (w[f] > top)
      top = w[f];
  if (!(top > 0.0f))
    return 0;
  for (f = 0; f < n; f++)
    if (w[f] >= ACTIVE_SHARE * top)
      count++;
  return count;
}

void
musa_chroma_get_window (const MusaChroma * ch, MusaChromaResult * res)
{
  double acc[REC];
  int i;

  if (ch == NULL || res == NULL || ch->ring == NULL) {
    musa_chroma_get_total (ch, res);
    return;
  }
  /* (a sum that rounding took below 0 is 0) */
  for (i = 0; i < REC; i++)
    acc[i] = ch->win[i] > 0.0 ? ch->win[i] : 0.0;
  fold (ch, acc, ch->ring_fill, res);
  res->active_frames = active_frames (ch->ring_w, ch->ring_fill);
}

int64_t
musa_chroma_frames (const MusaChroma * ch)
{
  return ch ? ch->total_frames : 0;
}

int
musa_chroma_n_fft (const MusaChroma * ch)
{
  return ch ? ch->n_fft : 0;
}

int
musa_chroma_hop (const MusaChroma * ch)
{
  return ch ? ch->hop : 0;
}
