/* libmusa — knntag's built-in audio embedding (see embed.h for the vector).
 *
 * The window statistics are kept as a running accumulator (the frame entering
 * is added, the one leaving removed) with compensated (Neumaier) sums, and
 * re-summed from the ring once per window length, so that a vote costs the
 * same whatever the window and rounding cannot drift over long streams.
 * Compiled with MUSA_EMBED_REFERENCE defined, this file gives the plain versions
 * instead (window re-summed at each query, contrast by a full sort), which
 * the unit tests compare against. */
#include "knn/embed.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/audio.h"
#include "core/mel.h"
#include "core/stft.h"

#define N_MELS 24
#define N_MFCC 13
#define N_CHROMA 12
#define N_CONTRAST 7
#define F_ANALYSIS_MAX 11025.0
#define AMIN 1e-10f
#define DB_FLOOR -100.0f
#define MAXLAG 128              /* frames; fps <= 62, so 2 s fits */
#define ONSET_HIST 128          /* must be >= MAXLAG, power of two */
#define ONSET_SPAN 3            /* local maximum over +-3 frames */
#define ONSET_DELTA 1.0f        /* dB above the mean of the last second */
#define N_PATTERN 22

/* per-frame features kept in the window ring */
enum
{
  F_MEL = 0,
  F_MFCC = F_MEL + N_MELS,
  F_CHROMA = F_MFCC + N_MFCC,
  F_CENTROID = F_CHROMA + N_CHROMA,
  F_BANDWIDTH,
  F_FLATNESS,
  F_CONTRAST,
  F_LOUDNESS = F_CONTRAST + N_CONTRAST,
  F_ONSET,
  NF
};

/* output vector layout */
enum
{
  O_MEL_MEAN = 0,
  O_MEL_STD = O_MEL_MEAN + N_MELS,
  O_MFCC_MEAN = O_MEL_STD + N_MELS,
  O_MFCC_STD = O_MFCC_MEAN + N_MFCC,
  O_CHROMA = O_MFCC_STD + N_MFCC,
  O_SPECTRAL = O_CHROMA + N_CHROMA,
  O_CONTRAST = O_SPECTRAL + 6,
  O_LOUDNESS = O_CONTRAST + N_CONTRAST,
  O_ONSET = O_LOUDNESS + 2,
  O_ONSET_RATE = O_ONSET + 2,
  O_TEMPO,
  O_TEMPO_STRENGTH,
  O_PATTERN,
  O_END = O_PATTERN + N_PATTERN
};

typedef char musa_embed_dim_check[(O_END == MUSA_EMBED_DIM) ? 1 : -1];

/* Statistics of a sequence of frames, fed in order. */
typedef struct
{
  int64_t n;
  int64_t onsets;
  double sum[NF], sq[NF];
  double ac[MAXLAG + 1];        /* sum_t o_t o_{t-L} */
  double head[MAXLAG];          /* first MAXLAG onset values */
  float tail[MAXLAG];           /* last MAXLAG onset values (ring) */
} Acc;

struct MusaEmbed
{
  MusaEmbedConfig cfg;
  MusaStft *stft;
  MusaMel *mel;
  int n_fft, hop, n_bins, kmax;
  double fps;
  float gain;                   /* power normalisation */
  float *power;                 /* n_bins */
  float *scratch;               /* n_bins, for contrast */
  float *bin_hz;                /* n_bins */
  signed char *bin_chroma;      /* n_bins, -1 = unused */
  int band_lo[N_CONTRAST], band_hi[N_CONTRAST];
  float dct[N_MFCC][N_MELS];
  float mel_db[N_MELS], prev_mel_db[N_MELS];
  int have_prev;
  /* onset detection history */
  float onset_hist[ONSET_HIST];
  int64_t frames;               /* frames since reset */
  /* window ring */
  int win_frames;
  float *ring;                  /* win_frames * NF */
  unsigned char *ring_flag;     /* win_frames */
  /* running statistics of the window (head and tail unused: from the ring) */
  Acc win;
  double win_c_sum[NF], win_c_sq[NF], win_c_ac[MAXLAG + 1];     /* compensation */
  int win_since_exact;          /* frames since win was last re-summed */
  /* whole stream */
  Acc stream;
  Acc tmp;
};

void
musa_embed_config_default (MusaEmbedConfig * cfg, int sample_rate)
{
  if (cfg == NULL)
    return;
  cfg->sample_rate = sample_rate;
  cfg->window = 10.0;
}

int
musa_embed_config_check (const MusaEmbedConfig * cfg, MusaError * err)
{
  if (cfg == NULL)
    return musa_error_set (err, MUSA_ERR_INVALID, NULL, "no configuration");
  if (cfg->sample_rate < 8000 || cfg->sample_rate > 192000)
    return musa_error_set (err, MUSA_ERR_INVALID, "rate",
        "sample rate must be in 8000..192000 Hz, got %d", cfg->sample_rate);
  if (!(cfg->window >= 0.5 && cfg->window <= 600.0))
    return musa_error_set (err, MUSA_ERR_INVALID, "window",
        "window must be in 0.5..600 s, got %g", cfg->window);
  return MUSA_OK;
}

void
musa_embed_free (MusaEmbed * e)
{
  if (e == NULL)
    return;
  musa_stft_free (e->stft);
  musa_mel_free (e->mel);
  free (e->power);
  free (e->scratch);
  free (e->bin_hz);
  free (e->bin_chroma);
  free (e->ring);
  free (e->ring_flag);
  free (e);
}

static void
acc_reset (Acc * a)
{
  memset (a, 0, sizeof (*a));
}

static void
acc_add_frame (Acc * a, const float *f)
{
  int i;
  float o = f[F_ONSET];
  int64_t t = a->n;
  int lmax = t < MAXLAG ? (int) t : MAXLAG;

  for (i = 0; i < NF; i++) {
    double v = f[i];
    a->sum[i] += v;
    a->sq[i] += v * v;
  }
  /* tail[(t - L) % MAXLAG] holds o_{t-L} for 1 <= L <= lmax */
  a->ac[0] += (double) o *o;
  for (i = 1; i <= lmax; i++)
    a->ac[i] += (double) o *a->tail[(t - i) % MAXLAG];
  if (t < MAXLAG)
    a->head[t] = o;
  a->tail[t % MAXLAG] = o;
  a->n++;
}

/* Normalised autocorrelation of the mean-removed onset strength, r[0..nl) */
static int
acc_autocorr (const Acc * a, double *r)
{
  int64_t n = a->n;
  int L, nl = n - 1 < MAXLAG ? (int) (n - 1) : MAXLAG;
  double s = a->sum[F_ONSET], m = n > 0 ? s / n : 0.0;
  double p = 0.0, q = 0.0, c0;

  if (nl < 1)
    return 0;
  c0 = a->ac[0] - 2.0 * m * s + m * m * n;
  r[0] = 1.0;
  for (L = 1; L <= nl; L++) {
    double c;
    p += a->head[L - 1];        /* sum of the first L values */
    q += a->tail[(n - L) % MAXLAG];     /* sum of the last L values */
    c = a->ac[L] - m * (s - p) - m * (s - q) + m * m * (double) (n - L);
    r[L] = c0 > 1e-9 * (double) n ? c / c0 : 0.0;
  }
  return nl + 1;
}

static double
interp (const double *r, int nr, double lag)
{
  int i = (int) floor (lag);
  double f = lag - i;
  if (i + 1 >= nr)
    return 0.0;
  return r[i] * (1.0 - f) + r[i + 1] * f;
}

static void
acc_finalise (const Acc * a, double fps, float *out)
{
  double mean[NF], sd[NF], r[MAXLAG + 1];
  double ch[N_CHROMA], best = -1.0, dur;
  int i, j, nr, top = 0;
  int64_t n = a->n;

  memset (out, 0, sizeof (float) * MUSA_EMBED_DIM);
  if (n <= 0)
    return;
  for (i = 0; i < NF; i++) {
    double v;
    mean[i] = a->sum[i] / n;
    v = a->sq[i] / n - mean[i] * mean[i];
    sd[i] = v > 0.0 ? sqrt (v) : 0.0;
  }
  for (i = 0; i < N_MELS; i++) {
    out[O_MEL_MEAN + i] = (float) mean[F_MEL + i];
    out[O_MEL_STD + i] = (float) sd[F_MEL + i];
  }
  for (i = 0; i < N_MFCC; i++) {
    out[O_MFCC_MEAN + i] = (float) mean[F_MFCC + i];
    out[O_MFCC_STD + i] = (float) sd[F_MFCC + i];
  }
  for (i = 0; i < N_CHROMA; i++) {
    ch[i] = mean[F_CHROMA + i];
    if (ch[i] > best) {
      best = ch[i];
      top = i;
    }
  }
  for (i = 0; i < N_CHROMA; i++)
    out[O_CHROMA + i] = (float) ch[(top + i) % N_CHROMA];
  for (i = 0; i < 3; i++) {
    out[O_SPECTRAL + 2 * i] = (float) mean[F_CENTROID + i];
    out[O_SPECTRAL + 2 * i + 1] = (float) sd[F_CENTROID + i];
  }
  for (i = 0; i < N_CONTRAST; i++)
    out[O_CONTRAST + i] = (float) mean[F_CONTRAST + i];
  out[O_LOUDNESS] = (float) mean[F_LOUDNESS];
  out[O_LOUDNESS + 1] = (float) sd[F_LOUDNESS];
  out[O_ONSET] = (float) mean[F_ONSET];
  out[O_ONSET + 1] = (float) sd[F_ONSET];
  dur = n / fps;
  out[O_ONSET_RATE] = (float) (a->onsets / dur);

  nr = acc_autocorr (a, r);
  if (nr > 0) {
    /* tempo: 40..240 BPM, log-normal prior (1 octave) around 120 BPM */
    int lo = (int) floor (60.0 * fps / 240.0), hi = (int) ceil (60.0 * fps /
        40.0), bl = -1;
    double bs = -INFINITY;
    if (lo < 1)
      lo = 1;
    if (hi > nr - 2)
      hi = nr - 2;
    for (j = lo; j <= hi; j++) {
      double bpm = 60.0 * fps / j, l2 = log2 (bpm / 120.0);
      double s = r[j] * exp (-0.5 * l2 * l2);
      if (s > bs) {
        bs = s;
        bl = j;
      }
    }
    if (bl > 0 && r[bl] > 0.0) {
      double lag = bl, y0 = r[bl - 1], y1 = r[bl], y2 = r[bl + 1];
      double d = y0 - 2.0 * y1 + y2;
      if (d < 0.0) {
        double off = 0.5 * (y0 - y2) / d;
        if (off > -0.5 && off < 0.5)
          lag += off;
      }
      out[O_TEMPO] = (float) (60.0 * fps / lag / 100.0);
      out[O_TEMPO_STRENGTH] = (float) r[bl];
    }
    for (j = 0; j < N_PATTERN; j++) {
      double sec = 0.1 * pow (20.0, (double) j / (N_PATTERN - 1));
      out[O_PATTERN + j] = (float) interp (r, nr, sec * fps);
    }
  }
}

MusaEmbed *
musa_embed_new (const MusaEmbedConfig * cfg, MusaError * err)
{
  MusaEmbed *e;
  MusaStftConfig sc;
  MusaMelConfig mc;
  double fa, edges[N_CONTRAST + 1] = { 0, 200, 400, 800, 1600, 3200, 6400, 0 };
  int k, m, b;

  if (musa_embed_config_check (cfg, err) != MUSA_OK)
    return NULL;
  e = calloc (1, sizeof (*e));
  if (e == NULL) {
    musa_error_set (err, MUSA_ERR_NOMEM, NULL, "out of memory");
    return NULL;
  }
  e->cfg = *cfg;
  e->n_fft = musa_nearest_pow2 (0.046 * cfg->sample_rate, 1, 1 << 20);
  e->hop = e->n_fft / 2;
  e->fps = (double) cfg->sample_rate / e->hop;
  sc.n_fft = e->n_fft;
  sc.hop = e->hop;
  sc.win_length = 0;
  sc.window = MUSA_WINDOW_HANN;
  sc.center = 1;
  fa = cfg->sample_rate / 2.0 < F_ANALYSIS_MAX ? cfg->sample_rate / 2.0 :
      F_ANALYSIS_MAX;
  mc.sample_rate = cfg->sample_rate;
  mc.n_fft = e->n_fft;
  mc.n_mels = N_MELS;
  mc.fmin = 0.0;
  mc.fmax = fa;
  mc.scale = MUSA_MEL_SCALE_SLANEY;
  mc.norm = MUSA_MEL_NORM_SLANEY;
  e->stft = musa_stft_new (&sc, err);
  e->mel = e->stft ? musa_mel_new (&mc, err) : NULL;
  if (e->mel == NULL) {
    musa_embed_free (e);
    return NULL;
  }
  e->n_bins = musa_stft_n_bins (e->stft);
  e->kmax = (int) floor (fa * e->n_fft / cfg->sample_rate);
  if (e->kmax > e->n_bins - 1)
    e->kmax = e->n_bins - 1;
  /* periodic Hann sums to n_fft / 2 */
  e->gain = 1.0f / ((e->n_fft / 2.0f) * (e->n_fft / 2.0f));
  e->win_frames = (int) ceil (cfg->window * e->fps);
  e->power = malloc (sizeof (float) * e->n_bins);
  e->scratch = malloc (sizeof (float) * e->n_bins);
  e->bin_hz = malloc (sizeof (float) * e->n_bins);
  e->bin_chroma = malloc (e->n_bins);
  e->ring = malloc (sizeof (float) * NF * (size_t) e->win_frames);
  e->ring_flag = malloc ((size_t) e->win_frames);
  if (!e->power || !e->scratch || !e->bin_hz || !e->bin_chroma || !e->ring
      || !e->ring_flag) {
    musa_embed_free (e);
    musa_error_set (err, MUSA_ERR_NOMEM, NULL, "out of memory");
    return NULL;
  }
  for (k = 0; k < e->n_bins; k++) {
    double f = (double) k * cfg->sample_rate / e->n_fft;
    e->bin_hz[k] = (float) f;
    e->bin_chroma[k] = -1;
    if (f >= 55.0 && f <= 5000.0 && k <= e->kmax) {
      int midi = (int) lround (12.0 * log2 (f / 440.0) + 69.0);
      e->bin_chroma[k] = (signed char) (midi % 12);
    }
  }
  edges[N_CONTRAST] = fa;
  for (b = 0; b < N_CONTRAST; b++) {
    int lo = (int) ceil (edges[b] * e->n_fft / cfg->sample_rate);
    int hi = (int) floor (edges[b + 1] * e->n_fft / cfg->sample_rate);
    if (lo < 1)
      lo = 1;
    if (hi > e->kmax)
      hi = e->kmax;
    e->band_lo[b] = lo;
    e->band_hi[b] = hi;         /* inclusive; empty when hi < lo */
  }
  for (k = 0; k < N_MFCC; k++)
    for (m = 0; m < N_MELS; m++) {
      double s = k == 0 ? sqrt (1.0 / N_MELS) : sqrt (2.0 / N_MELS);
      e->dct[k][m] = (float) (s * cos (M_PI * k * (2.0 * m + 1.0)
              / (2.0 * N_MELS)));
    }
  musa_embed_reset (e);
  return e;
}

void
musa_embed_reset (MusaEmbed * e)
{
  if (e == NULL)
    return;
  musa_stft_reset (e->stft);
  e->have_prev = 0;
  e->frames = 0;
  memset (e->onset_hist, 0, sizeof (e->onset_hist));
  memset (e->ring_flag, 0, (size_t) e->win_frames);
  acc_reset (&e->stream);
  acc_reset (&e->win);
  memset (e->win_c_sum, 0, sizeof (e->win_c_sum));
  memset (e->win_c_sq, 0, sizeof (e->win_c_sq));
  memset (e->win_c_ac, 0, sizeof (e->win_c_ac));
  e->win_since_exact = 0;
}

#ifdef MUSA_EMBED_REFERENCE
static int
cmp_float (const void *a, const void *b)
{
  float x = *(const float *) a, y = *(const float *) b;
  return (x > y) - (x < y);
}
#else
static void
swap_float (float *a, int i, int j)
{
  float t = a[i];
  a[i] = a[j];
  a[j] = t;
}

static float
median3 (float a, float b, float c)
{
  if (a < b)
    return b < c ? b : (a < c ? c : a);
  return a < c ? a : (b < c ? c : b);
}

/* Three-way partition of a[lo..hi) around @pivot: a[lo..*lt) < pivot,
 * a[*lt..*gt) neither smaller nor larger (NaN included), a[*gt..hi) larger.
 * Always terminates and stays in bounds. */
static void
partition3 (float *a, int lo, int hi, float pivot, int *lt, int *gt)
{
  int i = lo, l = lo, g = hi;
  while (i < g) {
    if (a[i] < pivot)
      swap_float (a, i++, l++);
    else if (a[i] > pivot)
      swap_float (a, i, --g);
    else
      i++;
  }
  *lt = l;
  *gt = g;
}

/* Rearrange a[lo..hi) so that a[lo..k) <= a[k] <= a(k..hi) (quickselect). */
static void
select_float (float *a, int lo, int hi, int k)
{
  while (hi - lo > 1) {
    int lt, gt;
    partition3 (a, lo, hi, median3 (a[lo], a[lo + (hi - lo) / 2], a[hi - 1]),
        &lt, &gt);
    if (k < lt)
      hi = lt;
    else if (k >= gt)
      lo = gt;
    else
      return;
  }
}

/* Sort a[lo..hi) ascending (quicksort, insertion sort for short runs). */
static void
sort_float (float *a, int lo, int hi)
{
  int i;

  while (hi - lo > 16) {
    int lt, gt;
    partition3 (a, lo, hi, median3 (a[lo], a[lo + (hi - lo) / 2], a[hi - 1]),
        &lt, &gt);
    /* recurse into the smaller side, loop on the larger */
    if (lt - lo < hi - gt) {
      sort_float (a, lo, lt);
      lo = gt;
    } else {
      sort_float (a, gt, hi);
      hi = lt;
    }
  }
  for (i = lo + 1; i < hi; i++) {
    float v = a[i];
    int j = i;
    while (j > lo && a[j - 1] > v) {
      a[j] = a[j - 1];
      j--;
    }
    a[j] = v;
  }
}
#endif

static float
db (float p)
{
  return p > AMIN ? 10.0f * log10f (p) : DB_FLOOR;
}

/* Decide whether frame c = t - ONSET_SPAN is an onset (t = newest frame). */
static int
onset_flag (const MusaEmbed * e, int64_t t)
{
  int64_t c = t - ONSET_SPAN, i, from;
  float oc, mean = 0.0f;
  int n = 0;

  if (c < 1)
    return 0;
  oc = e->onset_hist[c % ONSET_HIST];
  for (i = c - ONSET_SPAN; i <= t; i++) {
    if (i < 0 || i == c)
      continue;
    if (i < c ? e->onset_hist[i % ONSET_HIST] >= oc :
        e->onset_hist[i % ONSET_HIST] > oc)
      return 0;
  }
  from = c - (int64_t) lround (e->fps);
  if (from < 0)
    from = 0;
  for (i = from; i < c; i++, n++)
    mean += e->onset_hist[i % ONSET_HIST];
  if (n > 0)
    mean /= n;
  return oc > mean + ONSET_DELTA;
}

#ifndef MUSA_EMBED_REFERENCE
static float
ring_onset (const MusaEmbed * e, int64_t i)
{
  return e->ring[(size_t) (i % e->win_frames) * NF + F_ONSET];
}

/* s + c += t, compensated (Neumaier): every term is an exact double (a float,
 * or a product of two floats), so additions and removals cancel to within
 * about 1e-32 of the magnitudes involved */
static void
ksum (double *s, double *c, double t)
{
  double a = *s, b = a + t;
  *c += fabs (a) >= fabs (t) ? (a - b) + t : (t - b) + a;
  *s = b;
}

/* Remove the oldest frame of a full window (before its slot is reused). */
static void
win_remove_oldest (MusaEmbed * e)
{
  Acc *a = &e->win;
  int64_t s = e->frames - a->n;
  const float *f = e->ring + (size_t) (s % e->win_frames) * NF;
  double o = f[F_ONSET];
  int i, lmax = a->n - 1 < MAXLAG ? (int) (a->n - 1) : MAXLAG;

  for (i = 0; i < NF; i++) {
    double v = f[i];
    ksum (&a->sum[i], &e->win_c_sum[i], -v);
    ksum (&a->sq[i], &e->win_c_sq[i], -(v * v));
  }
  ksum (&a->ac[0], &e->win_c_ac[0], -(o * o));
  for (i = 1; i <= lmax; i++)
    ksum (&a->ac[i], &e->win_c_ac[i], -(o * ring_onset (e, s + i)));
  a->onsets -= e->ring_flag[s % e->win_frames];
  a->n--;
}

/* Add frame @t, the newest of the window (the frames before it in the
 * window are in the ring). */
static void
win_add (MusaEmbed * e, const float *f, int64_t t)
{
  Acc *a = &e->win;
  float o = f[F_ONSET];
  int i, lmax = a->n < MAXLAG ? (int) a->n : MAXLAG;

  for (i = 0; i < NF; i++) {
    double v = f[i];
    ksum (&a->sum[i], &e->win_c_sum[i], v);
    ksum (&a->sq[i], &e->win_c_sq[i], v * v);
  }
  ksum (&a->ac[0], &e->win_c_ac[0], (double) o * o);
  for (i = 1; i <= lmax; i++)
    ksum (&a->ac[i], &e->win_c_ac[i], (double) o * ring_onset (e, t - i));
  a->n++;
}

/* Re-sum the running window from the ring (the same compensated sums). */
static void
win_resum (MusaEmbed * e)
{
  int64_t n = e->frames < e->win_frames ? e->frames : e->win_frames, t;

  acc_reset (&e->win);
  memset (e->win_c_sum, 0, sizeof (e->win_c_sum));
  memset (e->win_c_sq, 0, sizeof (e->win_c_sq));
  memset (e->win_c_ac, 0, sizeof (e->win_c_ac));
  for (t = e->frames - n; t < e->frames; t++) {
    win_add (e, e->ring + (size_t) (t % e->win_frames) * NF, t);
    e->win.onsets += e->ring_flag[t % e->win_frames];
  }
}
#endif

static void
on_frame (void *user, int64_t index, const float *spectrum, const float *frame)
{
  MusaEmbed *e = user;
  float *f = e->ring + (size_t) (e->frames % e->win_frames) * NF;
  float *p = e->power, sum = 0.0f, fsum = 0.0f, ch_max = 0.0f;
  double logsum = 0.0;
  int k, m, b, nk = e->kmax;
  float flux = 0.0f;

#ifndef MUSA_EMBED_REFERENCE
  if (e->frames >= e->win_frames)
    win_remove_oldest (e);
#endif
  musa_power_spectrum (spectrum, p, e->n_bins, 2.0f);
  for (k = 0; k < e->n_bins; k++)
    p[k] *= e->gain;
  /* mel dB and MFCC */
  musa_mel_apply (e->mel, p, e->mel_db);
  for (m = 0; m < N_MELS; m++) {
    e->mel_db[m] = db (e->mel_db[m]);
    f[F_MEL + m] = e->mel_db[m];
    if (e->have_prev) {
      float d = e->mel_db[m] - e->prev_mel_db[m];
      flux += d > 0.0f ? d : 0.0f;
    }
  }
  flux /= N_MELS;
  memcpy (e->prev_mel_db, e->mel_db, sizeof (e->mel_db));
  e->have_prev = 1;
  for (k = 0; k < N_MFCC; k++) {
    float c = 0.0f;
    for (m = 0; m < N_MELS; m++)
      c += e->dct[k][m] * e->mel_db[m];
    f[F_MFCC + k] = c;
  }
  /* chroma */
  for (m = 0; m < N_CHROMA; m++)
    f[F_CHROMA + m] = 0.0f;
  for (k = 1; k <= nk; k++)
    if (e->bin_chroma[k] >= 0)
      f[F_CHROMA + e->bin_chroma[k]] += p[k];
  for (m = 0; m < N_CHROMA; m++)
    if (f[F_CHROMA + m] > ch_max)
      ch_max = f[F_CHROMA + m];
  for (m = 0; m < N_CHROMA; m++)
    f[F_CHROMA + m] = ch_max > 1e-12f ? f[F_CHROMA + m] / ch_max : 0.0f;
  /* spectral shape over bins 1..kmax */
  for (k = 1; k <= nk; k++) {
    sum += p[k];
    fsum += p[k] * e->bin_hz[k];
    logsum += log (p[k] + AMIN);
  }
  if (sum > 1e-12f) {
    float c = fsum / sum, v = 0.0f;
    for (k = 1; k <= nk; k++) {
      float d = e->bin_hz[k] - c;
      v += p[k] * d * d;
    }
    f[F_CENTROID] = c / 1000.0f;
    f[F_BANDWIDTH] = sqrtf (v / sum) / 1000.0f;
  } else {
    f[F_CENTROID] = 0.0f;
    f[F_BANDWIDTH] = 0.0f;
  }
  f[F_FLATNESS] = (float) (10.0 * (logsum / nk - log (sum / nk + AMIN))
      / M_LN10);
  /* contrast */
  for (b = 0; b < N_CONTRAST; b++) {
    int lo = e->band_lo[b], hi = e->band_hi[b], n = hi - lo + 1, q, i;
    float top = 0.0f, bot = 0.0f;
    if (n < 1) {
      f[F_CONTRAST + b] = 0.0f;
      continue;
    }
    memcpy (e->scratch, p + lo, sizeof (float) * n);
    q = (int) (0.2 * n);
    if (q < 1)
      q = 1;
#ifdef MUSA_EMBED_REFERENCE
    qsort (e->scratch, n, sizeof (float), cmp_float);
#else
    /* only the q smallest and q largest, each in ascending order: the same
     * values summed in the same order as after a full sort */
    if (n - q < q) {
      sort_float (e->scratch, 0, n);
    } else {
      select_float (e->scratch, 0, n, q - 1);
      select_float (e->scratch, q, n, n - q);
      sort_float (e->scratch, 0, q);
      sort_float (e->scratch, n - q, n);
    }
#endif
    for (i = 0; i < q; i++) {
      bot += e->scratch[i];
      top += e->scratch[n - 1 - i];
    }
    f[F_CONTRAST + b] = db (top / q) - db (bot / q);
  }
  f[F_LOUDNESS] = db (sum / nk);
  f[F_ONSET] = flux;

  /* onset detection (decided ONSET_SPAN frames late) */
  e->onset_hist[e->frames % ONSET_HIST] = flux;
  e->ring_flag[e->frames % e->win_frames] = 0;
  if (onset_flag (e, e->frames)) {
    int64_t c = e->frames - ONSET_SPAN;
    e->stream.onsets++;
    if (e->frames - c < e->win_frames) {
      e->ring_flag[c % e->win_frames] = 1;
      e->win.onsets++;
    }
  }
  acc_add_frame (&e->stream, f);
#ifndef MUSA_EMBED_REFERENCE
  win_add (e, f, e->frames);
#endif
  e->frames++;
#ifndef MUSA_EMBED_REFERENCE
  /* a re-sum once per window length: O(1) per frame on average, and the
   * rounding of the additions and removals cannot accumulate */
  if (++e->win_since_exact >= e->win_frames) {
    win_resum (e);
    e->win_since_exact = 0;
  }
#endif
  (void) index;
  (void) frame;
}

int
musa_embed_process (MusaEmbed * e, const float *x, size_t n)
{
  if (e == NULL)
    return MUSA_ERR_INVALID;
  return musa_stft_process (e->stft, x, n, on_frame, e);
}

int
musa_embed_finish (MusaEmbed * e)
{
  if (e == NULL)
    return MUSA_ERR_INVALID;
  return musa_stft_finish (e->stft, on_frame, e);
}

#ifdef MUSA_EMBED_REFERENCE
/* Re-sum the window from the ring, as a fresh accumulator fed with its
 * frames in order (the reference). */
static void
win_exact (const MusaEmbed * e, Acc * a)
{
  int64_t n = e->frames < e->win_frames ? e->frames : e->win_frames, i;

  acc_reset (a);
  for (i = e->frames - n; i < e->frames; i++) {
    acc_add_frame (a, e->ring + (size_t) (i % e->win_frames) * NF);
    a->onsets += e->ring_flag[i % e->win_frames];
  }
}
#endif

int
musa_embed_window (MusaEmbed * e, float *out)
{
  int64_t n;

  if (e == NULL || out == NULL) {
    if (out)
      memset (out, 0, sizeof (float) * MUSA_EMBED_DIM);
    return 0;
  }
  n = e->frames < e->win_frames ? e->frames : e->win_frames;
#ifdef MUSA_EMBED_REFERENCE
  win_exact (e, &e->tmp);
#else
  {
    /* the running sums, with the first and last MAXLAG onset values of the
     * window from the ring: a cost independent of the window length */
    int64_t s = e->frames - n, j;
    int i;
    e->tmp = e->win;
    for (i = 0; i < NF; i++) {
      e->tmp.sum[i] += e->win_c_sum[i];
      e->tmp.sq[i] += e->win_c_sq[i];
    }
    for (i = 0; i <= MAXLAG; i++)
      e->tmp.ac[i] += e->win_c_ac[i];
    for (j = 0; j < n && j < MAXLAG; j++)
      e->tmp.head[j] = ring_onset (e, s + j);
    for (j = n > MAXLAG ? n - MAXLAG : 0; j < n; j++)
      e->tmp.tail[j % MAXLAG] = ring_onset (e, s + j);
  }
#endif
  acc_finalise (&e->tmp, e->fps, out);
  return (int) n;
}

int64_t
musa_embed_stream (MusaEmbed * e, float *out)
{
  if (e == NULL || out == NULL) {
    if (out)
      memset (out, 0, sizeof (float) * MUSA_EMBED_DIM);
    return 0;
  }
  acc_finalise (&e->stream, e->fps, out);
  return e->stream.n;
}

int64_t
musa_embed_frames (const MusaEmbed * e)
{
  return e ? e->frames : 0;
}

double
musa_embed_frame_rate (const MusaEmbed * e)
{
  return e ? e->fps : 0.0;
}

int
musa_embed_window_frames (const MusaEmbed * e)
{
  return e ? e->win_frames : 0;
}

int
musa_embed_feature_name (int i, char *buf, size_t len)
{
  static const char *spectral[6] = { "centroid-mean", "centroid-std",
    "bandwidth-mean", "bandwidth-std", "flatness-mean", "flatness-std"
  };
  static const char *single[7] = { "loudness-mean", "loudness-std",
    "onset-mean", "onset-std", "onset-rate", "tempo", "tempo-strength"
  };

  if (i < 0 || i >= MUSA_EMBED_DIM || buf == NULL || len == 0)
    return MUSA_ERR_INVALID;
  if (i < O_MEL_STD)
    snprintf (buf, len, "mel-mean-%d", i - O_MEL_MEAN);
  else if (i < O_MFCC_MEAN)
    snprintf (buf, len, "mel-std-%d", i - O_MEL_STD);
  else if (i < O_MFCC_STD)
    snprintf (buf, len, "mfcc-mean-%d", i - O_MFCC_MEAN);
  else if (i < O_CHROMA)
    snprintf (buf, len, "mfcc-std-%d", i - O_MFCC_STD);
  else if (i < O_SPECTRAL)
    snprintf (buf, len, "chroma-rot-%d", i - O_CHROMA);
  else if (i < O_CONTRAST)
    snprintf (buf, len, "%s", spectral[i - O_SPECTRAL]);
  else if (i < O_LOUDNESS)
    snprintf (buf, len, "contrast-%d", i - O_CONTRAST);
  else if (i < O_PATTERN)
    snprintf (buf, len, "%s", single[i - O_LOUDNESS]);
  else
    snprintf (buf, len, "rhythm-%d", i - O_PATTERN);
  return MUSA_OK;
}
