/* libmusa — onset detection function and peak picking. */
#include "onset/onset.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/audio.h"
#include "core/stft.h"

#define BANDS_PER_OCTAVE 24
#define FB_FMIN 30.0
#define FB_FMAX 17000.0
#define LEVEL_SECONDS 4.0
/* SUPERFLUX log compression of the picking function: log10 (1 + SF_GAIN *
 * magnitude), see onset.h */
#define SF_GAIN 3.0f
/* ring of detection function values kept for the picker (frames) */
#define PICK_RING 256
/* background of the picking function: its minimum over the last second,
 * in blocks of BG_BLOCK frames (BG_BLOCKS of them plus the current one) */
#define BG_BLOCK 25
#define BG_BLOCKS 4
/* the picker's level never falls below BG_FACTOR times that minimum. For
 * stationary noise (white or pink, any level) the function's mean is 2.3-2.5
 * times its 1 s minimum and its highest frames 8-10 times: the floor sits at
 * 1.6-1.8 times the noise's mean, so noise alone (a noisy transfer, a room
 * after the song) fires an onset every 4-5 s instead of 1.5 a second; in
 * music the function falls near 0 between notes and the floor stays below
 * the level. Onset F on seeds 1-4 within 0.0005 of before; with pink noise
 * 20 dB below the music +0.031 / +0.033 on seeds 1-2, 10 dB below +0.035
 * on seed 1. A factor of 5 cost the clean songs 0.001, 3 left half the
 * noise onsets. */
#define BG_FACTOR 4.0
/* the same for the function handed out, in live_value only: what the live
 * beat tracker reads (the tempo and the final beats keep `value`). Its
 * noise statistics are the picking function's (mean 2.3-2.5, highest frame
 * of 30 s 8-10 times the 1 s minimum), and a live beat needs a frame at the
 * level or above: with 8, noise alone hardly ever gives one. Pink noise
 * 20 dB below the music: live beat F 0.867 -> 0.911 and 0.838 -> 0.897 on
 * seeds 1-2 (6: 0.899 / 0.880), clean songs unchanged (0.915 / 0.891) */
#define LIVE_BG_FACTOR 8.0
/* adaptive whitening (Stowell & Plumbley 2007) of the picking function,
 * see onset.h: each band's peak memory falls by 60 dB in WHITEN_RELAX
 * seconds; the band keeps WHITEN_RANGE_DB of range under the largest
 * memory within WHITEN_SMOOTH bands either side; its gain is at most
 * WHITEN_MAX_GAIN_DB over the unwhitened one, and never above the
 * unwhitened one where that would put the log knee less than
 * WHITEN_NOISE_DB over the band's minimum over the last second (the
 * highest frames of stationary noise are 8-10 times, 18-20 dB, over that
 * minimum: noise is not lifted). Onset F on seeds 1-4 +0.0001 / +0.0004 /
 * +0.0005 / -0.0021, seed 1 mastered -0.0021, in a room -0.0004, with
 * pink noise 20 dB under the music -0.0003 (-0.013 without the noise
 * rule): off by default (the element's `whiten`) */
#define WHITEN_RELAX 20.0
#define WHITEN_RANGE_DB 40.0
#define WHITEN_MAX_GAIN_DB 10.0
#define WHITEN_SMOOTH 4
#define WHITEN_NOISE_DB 20.0

/* A function's minimum over the last second: the minima of BG_BLOCKS
 * complete blocks of BG_BLOCK frames and of the current block. */
typedef struct
{
  double min[BG_BLOCKS];
  double cur;
} Background;

struct MusaOnset
{
  MusaOnsetConfig cfg;
  MusaStft *stft;
  int n_fft, hop, n_bins;
  double fps;
  float mag_scale;              /* |X| -> magnitude of a 2048-point frame */
  float sf_scale;               /* |X| -> SF_GAIN * that magnitude */

  /* filterbank: band b covers bins [fb_start[b], fb_start[b] + fb_len[b])
   * with weights fb_w[fb_off[b] ...] */
  int n_bands;
  int *fb_start, *fb_len, *fb_off;
  float *fb_w;

  float *mag;                   /* n_bins */
  float *cur, *prev;            /* n_bands or n_bins log magnitudes */
  float *pcur, *pprev;          /* SUPERFLUX: the same for the picker */
  float *wcur, *wprev;          /* whitening: linear picker magnitudes */
  float *wpeak;                 /* whitening: each band's peak memory */
  float *wgain;                 /* whitening: each band's gain */
  float *wmin;                  /* whitening: each band's minimum over the
                                 * complete blocks of the last second */
  float *wblk;                  /* BG_BLOCKS block minima per band */
  float *wbmin;                 /* whitening: the current block's minima */
  float *wcmin;                 /* whitening: the minimum over the second */
  float *wtmp;                  /* whitening: 3 n_bands scratch values */
  float wdecay;                 /* per frame */
  float wrange, wfloor, wmaxg, wnoise;  /* linear */
  double pick_raw;              /* raw picking function of the last frame */
  float *cplx1, *cplx2;         /* previous two complex spectra (COMPLEX) */
  double prev_scalar;           /* previous energy / HFC */
  int64_t n_frames;             /* frames analysed */
  int64_t full_frames;          /* at finish: frames whose window is audio */
  double level;                 /* running level of the raw function */
  float floor;
  double plevel;                /* the same for the picking function */
  float pfloor;
  Background pbg;               /* of the picking function */
  Background vbg;               /* of the function handed out */

  /* peak picker */
  int pre_max, post_max, pre_avg, post_avg, combine, delay;
  float ring[PICK_RING];
  int64_t last_onset;
  int finished;                 /* finish called since the last reset */
};

/* log10 (1 + x) for x >= 0 from the float's exponent and a degree-5
 * polynomial of log2 over the mantissa (error < 4e-5 in log2, 1e-5 in
 * log10): no libm call per band, and the same bits on every machine. */
static inline float
log10_1p (float x)
{
  union
  {
    float f;
    uint32_t i;
  } u;
  float t, p;
  int e;

  u.f = 1.0f + x;
  e = (int) ((u.i >> 23) & 255) - 127;
  u.i = (u.i & 0x7fffffu) | 0x3f800000u;
  t = u.f - 1.0f;
  p = ((((0.0434283633f * t - 0.187720493f) * t + 0.408718944f) * t -
          0.705702621f) * t + 1.44126707f) * t + 3.19308577e-05f;
  return ((float) e + p) * 0.301029996f;
}

const char *
musa_onset_method_name (MusaOnsetMethod method)
{
  switch (method) {
    case MUSA_ONSET_SUPERFLUX:
      return "superflux";
    case MUSA_ONSET_FLUX:
      return "flux";
    case MUSA_ONSET_HFC:
      return "hfc";
    case MUSA_ONSET_COMPLEX:
      return "complex";
    case MUSA_ONSET_ENERGY:
      return "energy";
  }
  return "unknown";
}

void
musa_onset_config_default (MusaOnsetConfig * cfg, int sample_rate)
{
  if (cfg == NULL)
    return;
  memset (cfg, 0, sizeof (*cfg));
  cfg->sample_rate = sample_rate;
  cfg->method = MUSA_ONSET_SUPERFLUX;
  cfg->threshold = 1.7;
  cfg->delta = 0.4;
  /* a local maximum over +-10 ms and 20 ms between onsets: notes 20-50 ms
   * apart (flams, rolled chords, ornaments, a bass under a chord) stay
   * two onsets */
  cfg->pre_max = 0.01;
  cfg->post_max = 0.01;
  /* the local mean over the last 200 ms: a note soon after a loud one
   * (a fill, a comping chord after the downbeat) is not held under the
   * loud one's peak (with 100 ms it counts twice as much) */
  cfg->pre_avg = 0.20;
  cfg->post_avg = 0.02;
  cfg->combine = 0.02;
}

int
musa_onset_config_check (const MusaOnsetConfig * cfg, MusaError * err)
{
  if (cfg == NULL)
    return musa_error_set (err, MUSA_ERR_INVALID, NULL, "no configuration");
  if (cfg->sample_rate < 8000 || cfg->sample_rate > 192000)
    return musa_error_set (err, MUSA_ERR_INVALID, "rate",
        "sample rate must be in 8000..192000 Hz, got %d", cfg->sample_rate);
  if ((int) cfg->method < 0 || cfg->method > MUSA_ONSET_ENERGY)
    return musa_error_set (err, MUSA_ERR_INVALID, "method",
        "unknown onset method %d", (int) cfg->method);
  if (!(cfg->threshold >= 0.0 && cfg->threshold <= 1000.0))
    return musa_error_set (err, MUSA_ERR_INVALID, "threshold",
        "threshold must be in 0..1000, got %g", cfg->threshold);
  if (!(cfg->delta >= 0.0 && cfg->delta <= 1000.0))
    return musa_error_set (err, MUSA_ERR_INVALID, "delta",
        "delta must be in 0..1000, got %g", cfg->delta);
  if (!(cfg->pre_max >= 0.0 && cfg->pre_max <= 1.0))
    return musa_error_set (err, MUSA_ERR_INVALID, "pre-max",
        "pre-max must be in 0..1 s, got %g", cfg->pre_max);
  if (!(cfg->post_max >= 0.0 && cfg->post_max <= 0.1))
    return musa_error_set (err, MUSA_ERR_INVALID, "post-max",
        "post-max must be in 0..0.1 s, got %g", cfg->post_max);
  if (!(cfg->pre_avg >= 0.0 && cfg->pre_avg <= 2.0))
    return musa_error_set (err, MUSA_ERR_INVALID, "pre-avg",
        "pre-avg must be in 0..2 s, got %g", cfg->pre_avg);
  if (!(cfg->post_avg >= 0.0 && cfg->post_avg <= 0.1))
    return musa_error_set (err, MUSA_ERR_INVALID, "post-avg",
        "post-avg must be in 0..0.1 s, got %g", cfg->post_avg);
  if (!(cfg->combine >= 0.0 && cfg->combine <= 1.0))
    return musa_error_set (err, MUSA_ERR_INVALID, "combine",
        "combine must be in 0..1 s, got %g", cfg->combine);
  if (cfg->whiten != 0 && cfg->whiten != 1)
    return musa_error_set (err, MUSA_ERR_INVALID, "whiten",
        "whiten must be 0 or 1, got %d", cfg->whiten);
  return MUSA_OK;
}

/* Power of two nearest (in log scale) to @x. */
static int
build_filterbank (MusaOnset * od)
{
  int nb = od->n_bins, n_centres = 0, i, b, total = 0;
  double df = (double) od->cfg.sample_rate / od->n_fft;
  double fmax = FB_FMAX < 0.45 * od->cfg.sample_rate ?
      FB_FMAX : 0.45 * od->cfg.sample_rate;
  int *bins;
  int max_centres = (int) (BANDS_PER_OCTAVE * log2 (fmax / FB_FMIN)) + 3;

  bins = malloc (sizeof (int) * (size_t) max_centres);
  if (bins == NULL)
    return -1;
  /* centre frequencies on a 24-per-octave grid through 440 Hz, rounded to
   * bins; duplicates dropped (low bands are one bin wide) */
  for (i = (int) floor (BANDS_PER_OCTAVE * log2 (FB_FMIN / 440.0));; i++) {
    double f = 440.0 * pow (2.0, (double) i / BANDS_PER_OCTAVE);
    int k;
    if (f < FB_FMIN)
      continue;
    if (f > fmax || n_centres >= max_centres)
      break;
    k = (int) lround (f / df);
    if (k < 1)
      k = 1;
    if (k >= nb)
      k = nb - 1;
    if (n_centres == 0 || bins[n_centres - 1] < k)
      bins[n_centres++] = k;
  }
  if (n_centres < 3) {
    free (bins);
    return -1;
  }
  /* a triangular filter between the neighbouring centres */
  od->n_bands = n_centres - 2;
  od->fb_start = malloc (sizeof (int) * (size_t) od->n_bands);
  od->fb_len = malloc (sizeof (int) * (size_t) od->n_bands);
  od->fb_off = malloc (sizeof (int) * (size_t) od->n_bands);
  for (b = 0; b < od->n_bands; b++)
    total += bins[b + 2] - bins[b];
  od->fb_w = malloc (sizeof (float) * (size_t) (total + od->n_bands));
  if (!od->fb_start || !od->fb_len || !od->fb_off || !od->fb_w) {
    free (bins);
    return -1;
  }
  total = 0;
  for (b = 0; b < od->n_bands; b++) {
    int lo = bins[b], c = bins[b + 1], hi = bins[b + 2], k;
    double sum = 0.0;
    od->fb_off[b] = total;
    od->fb_start[b] = lo;
    od->fb_len[b] = hi - lo;
    for (k = lo; k < hi; k++) {
      double w = k < c ? (double) (k - lo) / (c - lo) :
          1.0 - (double) (k - c) / (hi - c);
      if (k == lo && c == lo)
        w = 1.0;
      od->fb_w[total + k - lo] = (float) w;
      sum += w;
    }
    if (sum <= 0.0) {
      od->fb_w[total] = 1.0f;
      sum = 1.0;
    }
    for (k = lo; k < hi; k++)
      od->fb_w[total + k - lo] = (float) (od->fb_w[total + k - lo] / sum);
    total += hi - lo;
  }
  free (bins);
  return 0;
}

static int
secs_to_frames (double s, double fps)
{
  return (int) floor (s * fps + 0.5);
}

MusaOnset *
musa_onset_new (const MusaOnsetConfig * cfg, MusaError * err)
{
  MusaOnset *od;
  MusaStftConfig sc;
  int n;

  if (musa_onset_config_check (cfg, err) != MUSA_OK)
    return NULL;
  od = calloc (1, sizeof (*od));
  if (od == NULL) {
    musa_error_set (err, MUSA_ERR_NOMEM, NULL, "out of memory");
    return NULL;
  }
  od->cfg = *cfg;
  od->n_fft = musa_nearest_pow2 (0.046 * cfg->sample_rate, 16, 1 << 20);
  od->hop = (int) lround (cfg->sample_rate / 100.0);
  od->n_bins = od->n_fft / 2 + 1;
  od->fps = (double) cfg->sample_rate / od->hop;
  od->mag_scale = 2048.0f / (float) od->n_fft;
  od->sf_scale = od->mag_scale * SF_GAIN;

  memset (&sc, 0, sizeof (sc));
  sc.n_fft = od->n_fft;
  sc.hop = od->hop;
  sc.window = MUSA_WINDOW_HANN;
  sc.center = 1;
  od->stft = musa_stft_new (&sc, err);
  if (od->stft == NULL) {
    free (od);
    return NULL;
  }
  n = od->n_bins;
  od->mag = malloc (sizeof (float) * (size_t) n);
  od->cur = calloc ((size_t) n, sizeof (float));
  od->prev = calloc ((size_t) n, sizeof (float));
  od->pcur = calloc ((size_t) n, sizeof (float));
  od->pprev = calloc ((size_t) n, sizeof (float));
  od->cplx1 = calloc ((size_t) n * 2, sizeof (float));
  od->cplx2 = calloc ((size_t) n * 2, sizeof (float));
  od->wcur = calloc ((size_t) n, sizeof (float));
  od->wprev = calloc ((size_t) n, sizeof (float));
  od->wpeak = calloc ((size_t) n, sizeof (float));
  od->wgain = calloc ((size_t) n, sizeof (float));
  od->wmin = calloc ((size_t) n, sizeof (float));
  od->wblk = calloc ((size_t) n * BG_BLOCKS, sizeof (float));
  od->wbmin = calloc ((size_t) n, sizeof (float));
  od->wcmin = calloc ((size_t) n, sizeof (float));
  od->wtmp = calloc ((size_t) n * 3, sizeof (float));
  if (!od->mag || !od->cur || !od->prev || !od->pcur
      || !od->pprev || !od->cplx1 || !od->cplx2 || !od->wcur || !od->wprev
      || !od->wpeak || !od->wgain || !od->wmin || !od->wblk || !od->wbmin
      || !od->wcmin || !od->wtmp || build_filterbank (od) != 0) {
    musa_onset_free (od);
    musa_error_set (err, MUSA_ERR_NOMEM, NULL, "out of memory");
    return NULL;
  }

  /* floors of the running level: a little above what white noise at
   * -60 dBFS gives (music at full scale is 10..10^4 times more), so that
   * quiet noise and silence are not amplified into onsets */
  switch (cfg->method) {
    case MUSA_ONSET_SUPERFLUX:
      od->floor = 0.1f;
      break;
    case MUSA_ONSET_FLUX:
      od->floor = 3.0f;
      break;
    case MUSA_ONSET_HFC:
      od->floor = 2e-8f;
      break;
    case MUSA_ONSET_COMPLEX:
      od->floor = 0.02f;
      break;
    case MUSA_ONSET_ENERGY:
      od->floor = 4e-8f;
      break;
  }

  /* SUPERFLUX picking function: 1.5 times what white noise at -50 dBFS
   * gives with its gain of 3 (0.53 on average, 1.1 at most), about the
   * running level of sparse music (1..2): the frame-to-frame ripple of a
   * steady or vibrato tone is not normalised up to onsets (with a gain of
   * 10 and this floor, a tone with 5.5 Hz vibrato fires a few onsets) */
  od->pfloor = cfg->method == MUSA_ONSET_SUPERFLUX ? 0.8f : od->floor;

  od->wdecay = (float) pow (10.0, -3.0 / (WHITEN_RELAX * od->fps));
  od->wrange = (float) pow (10.0, WHITEN_RANGE_DB / 20.0);
  od->wfloor = (float) pow (10.0, (WHITEN_RANGE_DB - WHITEN_MAX_GAIN_DB)
      / 20.0);
  od->wmaxg = (float) pow (10.0, WHITEN_MAX_GAIN_DB / 20.0);
  od->wnoise = (float) pow (10.0, WHITEN_NOISE_DB / 20.0);

  od->pre_max = secs_to_frames (cfg->pre_max, od->fps);
  od->post_max = secs_to_frames (cfg->post_max, od->fps);
  od->pre_avg = secs_to_frames (cfg->pre_avg, od->fps);
  od->post_avg = secs_to_frames (cfg->post_avg, od->fps);
  od->combine = secs_to_frames (cfg->combine, od->fps);
  od->delay = od->post_max > od->post_avg ? od->post_max : od->post_avg;
  musa_onset_reset (od);
  return od;
}

void
musa_onset_free (MusaOnset * od)
{
  if (od == NULL)
    return;
  musa_stft_free (od->stft);
  free (od->mag);
  free (od->cur);
  free (od->prev);
  free (od->pcur);
  free (od->pprev);
  free (od->cplx1);
  free (od->cplx2);
  free (od->wcur);
  free (od->wprev);
  free (od->wpeak);
  free (od->wgain);
  free (od->wmin);
  free (od->wblk);
  free (od->wbmin);
  free (od->wcmin);
  free (od->wtmp);
  free (od->fb_start);
  free (od->fb_len);
  free (od->fb_off);
  free (od->fb_w);
  free (od);
}

void
musa_onset_reset (MusaOnset * od)
{
  size_t i;

  if (od == NULL)
    return;
  musa_stft_reset (od->stft);
  memset (od->prev, 0, sizeof (float) * (size_t) od->n_bins);
  memset (od->pprev, 0, sizeof (float) * (size_t) od->n_bins);
  memset (od->wprev, 0, sizeof (float) * (size_t) od->n_bins);
  memset (od->wpeak, 0, sizeof (float) * (size_t) od->n_bins);
  for (i = 0; i < (size_t) od->n_bins; i++)
    od->wmin[i] = 1e30f;
  for (i = 0; i < (size_t) od->n_bins * BG_BLOCKS; i++)
    od->wblk[i] = 1e30f;
  for (i = 0; i < (size_t) od->n_bins; i++)
    od->wbmin[i] = 1e30f;
  memset (od->cplx1, 0, sizeof (float) * (size_t) od->n_bins * 2);
  memset (od->cplx2, 0, sizeof (float) * (size_t) od->n_bins * 2);
  memset (od->ring, 0, sizeof (od->ring));
  od->prev_scalar = 0.0;
  od->n_frames = 0;
  od->level = 0.0;
  od->plevel = 0.0;
  memset (&od->pbg, 0, sizeof (od->pbg));
  memset (&od->vbg, 0, sizeof (od->vbg));
  od->last_onset = INT64_MIN / 2;
  od->finished = 0;
}

/* The largest of @x[b - 1], @x[b], @x[b + 1] within 0..n-1 (SuperFlux's
 * maximum filter over 3 neighbouring bands). */
static inline float
neighbour_max (const float *x, int b, int n)
{
  float m = x[b];

  if (b > 0 && x[b - 1] > m)
    m = x[b - 1];
  if (b + 1 < n && x[b + 1] > m)
    m = x[b + 1];
  return m;
}

/* Sum over bands of the rise of @cur over @prev after a maximum filter over
 * 3 neighbouring bands of @prev, half-wave rectified. */
static double
superflux_diff (const float *cur, const float *prev, int n)
{
  double v = 0.0;
  int b;

  for (b = 0; b < n; b++) {
    float m = neighbour_max (prev, b, n), d;
    d = cur[b] - m;
    if (d > 0.0f)
      v += d;
  }
  return v;
}

/* Whitening, once a frame before the bands are added: when a block of
 * BG_BLOCK frames starts, each band's current block minimum (od->wbmin)
 * joins its last BG_BLOCKS complete ones (od->wblk) and od->wmin becomes
 * their minimum; the new block starts empty. The band's minimum over the
 * last second is then the smaller of od->wmin and od->wbmin. */
static void
block_start (MusaOnset * od)
{
  int n = od->n_bands, b, i;

  if (od->n_frames % BG_BLOCK != 0)
    return;
  if (od->n_frames > 0) {
    for (b = 0; b < n; b++) {
      float *blk = od->wblk + (size_t) b * BG_BLOCKS, m;
      memmove (blk, blk + 1, sizeof (float) * (BG_BLOCKS - 1));
      blk[BG_BLOCKS - 1] = od->wbmin[b];
      m = blk[0];
      for (i = 1; i < BG_BLOCKS; i++)
        m = blk[i] < m ? blk[i] : m;
      od->wmin[b] = m;
    }
  }
  for (b = 0; b < n; b++)
    od->wbmin[b] = 1e30f;
}

/* @out[b] = maximum of @x over [b - WHITEN_SMOOTH, b + WHITEN_SMOOTH]
 * (clipped to 0..n-1), by doubling windows (WHITEN_SMOOTH a power of 2);
 * @tmp holds n values. */
static void
window_max (const float *x, float *out, float *tmp, int n)
{
  int b, w;

  /* tmp[b] = maximum over [b, b + 2 WHITEN_SMOOTH) */
  memcpy (tmp, x, sizeof (float) * (size_t) n);
  for (w = 1; w < 2 * WHITEN_SMOOTH; w *= 2)
    for (b = 0; b + w < n; b++)
      if (tmp[b + w] > tmp[b])
        tmp[b] = tmp[b + w];
  for (b = 0; b < n; b++) {
    float m;
    if (b < WHITEN_SMOOTH) {
      int j, hi = b + WHITEN_SMOOTH < n - 1 ? b + WHITEN_SMOOTH : n - 1;
      m = x[0];
      for (j = 1; j <= hi; j++)
        if (x[j] > m)
          m = x[j];
    } else {
      m = tmp[b - WHITEN_SMOOTH];
      if (b + WHITEN_SMOOTH < n && x[b + WHITEN_SMOOTH] > m)
        m = x[b + WHITEN_SMOOTH];
    }
    out[b] = m;
  }
}

/* Whitening: each band's gain (od->wgain) from the peak memories and the
 * minima over the last second of the bands within WHITEN_SMOOTH either
 * side (see the defines). */
static void
whiten_gains (MusaOnset * od)
{
  int n = od->n_bands, b;
  float *pk = od->wtmp, *nf = od->wtmp + n, *tmp = od->wtmp + 2 * n;

  for (b = 0; b < n; b++)
    od->wcmin[b] = od->wbmin[b] < od->wmin[b] ? od->wbmin[b] : od->wmin[b];
  window_max (od->wpeak, pk, tmp, n);
  window_max (od->wcmin, nf, tmp, n);
  for (b = 0; b < n; b++) {
    float g = od->wrange / pk[b], cap = od->wmaxg, f = nf[b] * od->wnoise;
    /* the knee (1 / gain) stays WHITEN_NOISE_DB over the floor, unless
     * that is under the unwhitened knee (1) */
    if (f * cap > 1.0f)
      cap = f > 1.0f ? 1.0f : 1.0f / f;
    od->wgain[b] = g < cap ? g : cap;
  }
}

/* Whitened rise: each band's magnitude in @cur and the maximum of its 3
 * neighbours in @prev, both scaled by the band's own gain @g before the
 * log, so that the maximum filter compares like with like. */
static double
whitened_diff (const float *cur, const float *prev, const float *g, int n)
{
  double v = 0.0;
  int b;

  for (b = 0; b < n; b++) {
    float m = neighbour_max (prev, b, n), d;
    if (cur[b] <= m)
      continue;
    d = log10_1p (g[b] * cur[b]) - log10_1p (g[b] * m);
    v += d;
  }
  return v;
}

/* Raw detection function of the frame whose spectrum is @spec; the raw
 * picking function goes to od->pick_raw. */
static double
detect (MusaOnset * od, const float *spec)
{
  int k, b, nb = od->n_bins;
  float *tmp;
  double v = 0.0;

  switch (od->cfg.method) {
    case MUSA_ONSET_SUPERFLUX:
      /* each band's RMS magnitude (filterbank on |X|^2: one square root
       * per band instead of one per bin), log-compressed twice: gain 1 for
       * the function handed out (tempo and beats), SF_GAIN for the picker */
      musa_power_spectrum (spec, od->mag, nb, 2.0f);
      if (od->cfg.whiten)
        block_start (od);
      for (b = 0; b < od->n_bands; b++) {
        const float *w = od->fb_w + od->fb_off[b];
        const float *m = od->mag + od->fb_start[b];
        float s = 0.0f;
        for (k = 0; k < od->fb_len[b]; k++)
          s += w[k] * m[k];
        s = sqrtf (s);
        od->cur[b] = log10_1p (s * od->mag_scale);
        if (od->cfg.whiten) {
          float p = s * od->sf_scale, pk = od->wpeak[b] * od->wdecay;
          od->wcur[b] = p;
          if (pk < p)
            pk = p;
          if (pk < od->wfloor)
            pk = od->wfloor;
          od->wpeak[b] = pk;
          if (p < od->wbmin[b])
            od->wbmin[b] = p;
        } else {
          od->pcur[b] = log10_1p (s * od->sf_scale);
        }
      }
      v = superflux_diff (od->cur, od->prev, od->n_bands);
      tmp = od->prev;
      od->prev = od->cur;
      od->cur = tmp;
      if (od->cfg.whiten) {
        int nbd = od->n_bands;
        whiten_gains (od);
        od->pick_raw = whitened_diff (od->wcur, od->wprev, od->wgain, nbd);
        tmp = od->wprev;
        od->wprev = od->wcur;
        od->wcur = tmp;
      } else {
        od->pick_raw = superflux_diff (od->pcur, od->pprev, od->n_bands);
        tmp = od->pprev;
        od->pprev = od->pcur;
        od->pcur = tmp;
      }
      return v;
    case MUSA_ONSET_FLUX:
      musa_power_spectrum (spec, od->mag, nb, 1.0f);
      for (k = 0; k < nb; k++) {
        float c = log10_1p (od->mag[k] * od->mag_scale);
        float d = c - od->prev[k];
        if (d > 0.0f)
          v += d;
        od->prev[k] = c;
      }
      break;
    case MUSA_ONSET_HFC:{
      musa_power_spectrum (spec, od->mag, nb, 1.0f);
      double h = 0.0, g = od->mag_scale / 1024.0;
      for (k = 0; k < nb; k++) {
        double m = od->mag[k] * g;
        h += (double) k / nb * m * m;
      }
      v = h - od->prev_scalar;
      od->prev_scalar = h;
      if (v < 0.0)
        v = 0.0;
      break;
    }
    case MUSA_ONSET_ENERGY:{
      musa_power_spectrum (spec, od->mag, nb, 1.0f);
      double e = 0.0, g = od->mag_scale / 1024.0;
      for (k = 0; k < nb; k++) {
        double m = od->mag[k] * g;
        e += m * m;
      }
      v = e - od->prev_scalar;
      od->prev_scalar = e;
      if (v < 0.0)
        v = 0.0;
      break;
    }
    case MUSA_ONSET_COMPLEX:{
      musa_power_spectrum (spec, od->mag, nb, 1.0f);
      /* prediction: |X1| with phase 2 phi1 - phi2, i.e.
       * |X1| * u1 * u1 * conj (u2) with u = X / |X| */
      float g = od->mag_scale / 1024.0f;
      for (k = 0; k < nb; k++) {
        float xr = spec[2 * k] * g, xi = spec[2 * k + 1] * g;
        float ar = od->cplx1[2 * k], ai = od->cplx1[2 * k + 1];
        float br = od->cplx2[2 * k], bi = od->cplx2[2 * k + 1];
        float ma = sqrtf (ar * ar + ai * ai), mb = sqrtf (br * br + bi * bi);
        float mx = od->mag[k] * g;
        if (mx >= ma) {
          float pr, pi;
          if (ma > 1e-12f && mb > 1e-12f) {
            /* u1^2 conj(u2) * |X1| = a^2 conj(b) / (|a| |b|) */
            float sr = ar * ar - ai * ai, si = 2.0f * ar * ai;
            pr = (sr * br + si * bi) / (ma * mb);
            pi = (si * br - sr * bi) / (ma * mb);
          } else {
            pr = ar;
            pi = ai;
          }
          pr -= xr;
          pi -= xi;
          v += sqrtf (pr * pr + pi * pi);
        }
        od->cplx2[2 * k] = ar;
        od->cplx2[2 * k + 1] = ai;
        od->cplx1[2 * k] = xr;
        od->cplx1[2 * k + 1] = xi;
      }
      break;
    }
  }
  od->pick_raw = v;
  return v;
}

static inline float
ring_at (const MusaOnset * od, int64_t i)
{
  if (i < 0 || i >= od->n_frames)
    return 0.0f;
  return od->ring[i % PICK_RING];
}

/* Decide about frame c (all frames up to c + delay are in the ring, or the
 * stream ended: frames past the end count as 0). */
static int
pick (MusaOnset * od, int64_t c, float *strength)
{
  float v = ring_at (od, c), mean = 0.0f;
  int64_t i;

  *strength = v;
  if (c < 0 || v <= 0.0f || v < od->cfg.threshold)
    return 0;
  for (i = c - od->pre_max; i <= c + od->post_max; i++)
    if (ring_at (od, i) > v)
      return 0;
  for (i = c - od->pre_avg; i <= c + od->post_avg; i++)
    mean += ring_at (od, i);
  mean /= (float) (od->pre_avg + od->post_avg + 1);
  if (v < mean + od->cfg.delta)
    return 0;
  if (c - od->last_onset <= od->combine)
    return 0;
  od->last_onset = c;
  return 1;
}

static void
emit (MusaOnset * od, float value, float live_value, float pick_value,
    MusaOnsetFunc func, void *user)
{
  MusaOnsetFrame f;
  int64_t c;

  f.frame = od->n_frames;
  f.time = (double) f.frame * od->hop / od->cfg.sample_rate;
  f.value = value;
  f.live_value = live_value;
  od->ring[od->n_frames % PICK_RING] = pick_value;
  od->n_frames++;
  c = f.frame - od->delay;
  f.onset = pick (od, c, &f.onset_strength);
  /* (frames whose window reaches into the padding after the stream's end
   * see it stop: no onset there) */
  if (od->finished && c >= od->full_frames)
    f.onset = 0;
  f.onset_frame = c;
  f.onset_time = (double) c *od->hop / od->cfg.sample_rate;
  if (func)
    func (user, &f);
}

typedef struct
{
  MusaOnset *od;
  MusaOnsetFunc func;
  void *user;
} FrameCtx;

/* Update the running level @level (floor @floor) with the raw value @v
 * and return @v normalised by it (the level used in @used, if not NULL):
 * plain mean over the first LEVEL_SECONDS, then an exponential average
 * with that time constant, of values clipped at 3 times the level (robust:
 * the big flux of an abrupt stream start or of a few loud hits does not
 * hold the level up for seconds). */
static double
normalise (const MusaOnset * od, double *level, float floor, double v,
    double *used)
{
  double a = 1.0 / (double) (od->n_frames + 1), lvl;

  if (a < 1.0 / (LEVEL_SECONDS * od->fps))
    a = 1.0 / (LEVEL_SECONDS * od->fps);
  lvl = *level > floor ? *level : floor;
  *level += a * ((v < 3.0 * lvl ? v : 3.0 * lvl) - *level);
  if (*level < 1e-30)
    *level = 0.0;               /* no denormals after long silence */
  lvl = *level > floor ? *level : floor;
  if (used)
    *used = lvl;
  return v / lvl;
}

/* Add @raw, the raw value of the frame about to be counted (od->n_frames),
 * to the background @bg and return @factor times the function's minimum
 * over the last second, or @floor when that is higher or no second has
 * been seen yet. */
static float
background_floor (const MusaOnset * od, Background * bg, double raw,
    double factor, float floor)
{
  int64_t i = od->n_frames;
  double m;
  int b;

  if (i % BG_BLOCK == 0) {
    if (i > 0) {
      memmove (bg->min, bg->min + 1, sizeof (double) * (BG_BLOCKS - 1));
      bg->min[BG_BLOCKS - 1] = bg->cur;
    }
    bg->cur = raw;
  } else if (raw < bg->cur) {
    bg->cur = raw;
  }
  if (i < (int64_t) BG_BLOCK * BG_BLOCKS)
    return floor;
  m = bg->cur;
  for (b = 0; b < BG_BLOCKS; b++)
    if (bg->min[b] < m)
      m = bg->min[b];
  return factor * m > floor ? (float) (factor * m) : floor;
}

static void
on_frame (void *user, int64_t index, const float *spectrum, const float *frame)
{
  FrameCtx *ctx = user;
  MusaOnset *od = ctx->od;
  double v = detect (od, spectrum);
  double value, live, pick, lvl;
  float vfloor = background_floor (od, &od->vbg, v, LIVE_BG_FACTOR,
      od->floor);

  (void) index;
  (void) frame;
  value = normalise (od, &od->level, od->floor, v, &lvl);
  live = v / (lvl > vfloor ? lvl : vfloor);
  pick = normalise (od, &od->plevel, background_floor (od, &od->pbg,
          od->pick_raw, BG_FACTOR, od->pfloor), od->pick_raw, NULL);
  emit (od, (float) value, (float) live, (float) pick, ctx->func, ctx->user);
}

int
musa_onset_process (MusaOnset * od, const float *x, size_t n,
    MusaOnsetFunc func, void *user)
{
  FrameCtx ctx = { od, func, user };

  if (od == NULL || (x == NULL && n > 0))
    return MUSA_ERR_INVALID;
  if (od->finished)
    return MUSA_ERR_STATE;
  return musa_stft_process (od->stft, x, n, on_frame, &ctx);
}

int
musa_onset_finish (MusaOnset * od, MusaOnsetFunc func, void *user)
{
  FrameCtx ctx = { od, func, user };
  int i;

  if (od == NULL)
    return MUSA_ERR_INVALID;
  if (od->finished)
    return MUSA_OK;
  od->finished = 1;
  /* the frames so far have whole windows of audio; those the padding
   * completes see the audio stop abruptly, and its spread spectrum rose
   * like an onset: a steady tone or a click track got one at its last
   * frame */
  od->full_frames = od->n_frames;
  musa_stft_finish (od->stft, on_frame, &ctx);
  /* the picker's pending decisions: frames past the end count as 0 */
  for (i = 0; i < od->delay; i++) {
    MusaOnsetFrame f;
    int64_t c = od->n_frames - od->delay + i;
    memset (&f, 0, sizeof (f));
    f.frame = -1;
    f.onset = c < od->full_frames ? pick (od, c, &f.onset_strength) : 0;
    f.onset_frame = c;
    f.onset_time = (double) c *od->hop / od->cfg.sample_rate;
    if (f.onset && func)
      func (user, &f);
  }
  return MUSA_OK;
}

double
musa_onset_fps (const MusaOnset * od)
{
  return od ? od->fps : 0.0;
}

int
musa_onset_hop (const MusaOnset * od)
{
  return od ? od->hop : 0;
}

int
musa_onset_n_fft (const MusaOnset * od)
{
  return od ? od->n_fft : 0;
}

int
musa_onset_delay_frames (const MusaOnset * od)
{
  return od ? od->delay : 0;
}

const MusaOnsetConfig *
musa_onset_config (const MusaOnset * od)
{
  return od ? &od->cfg : NULL;
}
