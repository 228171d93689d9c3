/* libmusa — tempo estimation and beat tracking from onset strength. */
#include "onset/tempo.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "onset/history.h"

#define PRIOR_OCTAVES 1.0
#define GRID_STEP 0.25          /* frames */
#define MIN_SECONDS 2.0
#define FULL_SECONDS 4.0
/* periods whose periodicity is within this share of the most periodic one
 * may anchor the metrical family (see family_anchor) */
#define ANCHOR_SHARE 0.85
/* the most periodic lag keeps the anchor when another's lattice (see
 * family_anchor) is below this share of its own: where the two are about
 * equal (an even pulse, every multiple of it alike) the lag that happens
 * to be most periodic is no better a beat than the family sum's choice
 * (without the margin even triplet streams read five triplet eighths, e.g.
 * 40.8 for 68 BPM: unit test even_pulse, whose streams have ratios of 0.95
 * and more; the 12/8 ballads the lattice test is for, 0.90-0.93) */
#define LATTICE_MARGIN 0.93

/* the metrical family of a period: its duple and triple relatives */
static const double family[] = { 1.0, 2.0, 4.0, 0.5, 0.25, 3.0, 1.0 / 3.0 };

#define N_FAMILY ((int) (sizeof (family) / sizeof (family[0])))

struct MusaTempo
{
  MusaTempoConfig cfg;
  int lags;                     /* correlation computed for 0..lags */
  int lags2;                    /* two periods of the slowest tempo */
  int win;                      /* window in frames */
  int ring_len;
  float *ring;                  /* 2 ring_len: each value stored twice, so
                                 * that any run of ring_len past values is
                                 * contiguous (no modulo in the loops) */
  double *acc_w, *acc_all;      /* sum of x[m] x[m - l] */
  double sum_w, sum_all, sq_w;
  int64_t last_active;          /* last frame at or above the running level */
  double xs[4];                 /* previous inputs (smoothing) */
  float *hp;                    /* last hp_len smoothed inputs */
  int hp_len;
  double hp_sum;
  int64_t n;
  int64_t start;                /* the window begins at this frame or later
                                 * (musa_tempo_cut) */
  /* scratch for estimates */
  double *r;
  int n_grid;
  double *raw, *score;
};

void
musa_tempo_config_default (MusaTempoConfig * cfg, double fps)
{
  if (cfg == NULL)
    return;
  cfg->fps = fps;
  cfg->window = 10.0;
  cfg->min_bpm = 40.0;
  cfg->max_bpm = 240.0;
  cfg->prior_bpm = 120.0;
}

int
musa_tempo_config_check (const MusaTempoConfig * cfg, MusaError * err)
{
  if (cfg == NULL)
    return musa_error_set (err, MUSA_ERR_INVALID, NULL, "no configuration");
  if (!(cfg->fps >= 10.0 && cfg->fps <= 1000.0))
    return musa_error_set (err, MUSA_ERR_INVALID, "fps",
        "frame rate must be in 10..1000, got %g", cfg->fps);
  if (!(cfg->window >= 2.0 && cfg->window <= 120.0))
    return musa_error_set (err, MUSA_ERR_INVALID, "window",
        "window must be in 2..120 s, got %g", cfg->window);
  if (!(cfg->min_bpm >= 20.0 && cfg->min_bpm <= 400.0))
    return musa_error_set (err, MUSA_ERR_INVALID, "min-bpm",
        "min-bpm must be in 20..400, got %g", cfg->min_bpm);
  if (!(cfg->max_bpm >= 20.0 && cfg->max_bpm <= 400.0))
    return musa_error_set (err, MUSA_ERR_INVALID, "max-bpm",
        "max-bpm must be in 20..400, got %g", cfg->max_bpm);
  if (!(cfg->prior_bpm >= 20.0 && cfg->prior_bpm <= 400.0))
    return musa_error_set (err, MUSA_ERR_INVALID, "prior-bpm",
        "prior-bpm must be in 20..400, got %g", cfg->prior_bpm);
  if (cfg->max_bpm < 1.5 * cfg->min_bpm)
    return musa_error_set (err, MUSA_ERR_INVALID, "max-bpm",
        "max-bpm (%g) must be at least 1.5 times min-bpm (%g)",
        cfg->max_bpm, cfg->min_bpm);
  return MUSA_OK;
}

MusaTempo *
musa_tempo_new (const MusaTempoConfig * cfg, MusaError * err)
{
  MusaTempo *t;

  if (musa_tempo_config_check (cfg, err) != MUSA_OK)
    return NULL;
  t = calloc (1, sizeof (*t));
  if (t == NULL) {
    musa_error_set (err, MUSA_ERR_NOMEM, NULL, "out of memory");
    return NULL;
  }
  t->cfg = *cfg;
  /* four periods of the slowest tempo (a bar of four beats), plus room
   * for interpolation */
  t->lags2 = (int) ceil (2.0 * 60.0 * cfg->fps / cfg->min_bpm) + 3;
  t->lags = (int) ceil (4.0 * 60.0 * cfg->fps / cfg->min_bpm) + 3;
  t->win = (int) lround (cfg->window * cfg->fps);
  t->ring_len = t->win + t->lags + 1;
  t->n_grid = (int) ((60.0 * cfg->fps / cfg->min_bpm -
          60.0 * cfg->fps / cfg->max_bpm) / GRID_STEP) + 1;
  t->ring = calloc ((size_t) t->ring_len * 2, sizeof (float));
  /* moving mean over two periods of the slowest tempo, subtracted */
  t->hp_len = (int) ceil (2.0 * 60.0 * cfg->fps / cfg->min_bpm);
  t->hp = calloc ((size_t) t->hp_len, sizeof (float));
  t->acc_w = calloc ((size_t) t->lags + 1, sizeof (double));
  t->acc_all = calloc ((size_t) t->lags + 1, sizeof (double));
  t->r = calloc ((size_t) t->lags + 1, sizeof (double));
  t->score = calloc ((size_t) t->n_grid, sizeof (double));
  t->raw = calloc ((size_t) t->n_grid, sizeof (double));
  if (!t->ring || !t->hp || !t->acc_w || !t->acc_all || !t->r || !t->score
      || !t->raw) {
    musa_tempo_free (t);
    musa_error_set (err, MUSA_ERR_NOMEM, NULL, "out of memory");
    return NULL;
  }
  musa_tempo_reset (t);
  return t;
}

void
musa_tempo_free (MusaTempo * t)
{
  if (t == NULL)
    return;
  free (t->ring);
  free (t->hp);
  free (t->acc_w);
  free (t->acc_all);
  free (t->r);
  free (t->score);
  free (t->raw);
  free (t);
}

void
musa_tempo_reset (MusaTempo * t)
{
  if (t == NULL)
    return;
  memset (t->ring, 0, sizeof (float) * (size_t) t->ring_len * 2);
  memset (t->acc_w, 0, sizeof (double) * (size_t) (t->lags + 1));
  memset (t->acc_all, 0, sizeof (double) * (size_t) (t->lags + 1));
  t->sum_w = t->sum_all = t->sq_w = 0.0;
  memset (t->xs, 0, sizeof (t->xs));
  memset (t->hp, 0, sizeof (float) * (size_t) t->hp_len);
  t->hp_sum = 0.0;
  t->last_active = INT64_MIN / 2;
  t->n = 0;
  t->start = 0;
}

int64_t
musa_tempo_frames (const MusaTempo * t)
{
  return t ? t->n : 0;
}

/* Pointer to frame m (m > n - ring_len) in the doubled ring: p[-l] is
 * frame m - l for l < ring_len (0 before the stream start). */
static inline const float *
ring_at (const MusaTempo * t, int64_t m)
{
  return t->ring + (m % t->ring_len) + t->ring_len;
}

/* Frames in the sliding window. */
static int64_t
window_frames (const MusaTempo * t)
{
  return t->n - t->start < t->win ? t->n - t->start : t->win;
}

/* The largest lag whose product with frame @k the window holds. */
static int
window_lags (const MusaTempo * t, int64_t k)
{
  return k - t->start < t->lags ? (int) (k - t->start) : t->lags;
}

/* The window's sums computed afresh. */
static void
window_sums (MusaTempo * t)
{
  int64_t k = t->n - t->win;
  int l;

  if (k < t->start)
    k = t->start;
  memset (t->acc_w, 0, sizeof (double) * (size_t) (t->lags + 1));
  t->sum_w = 0.0;
  for (; k < t->n; k++) {
    const float *x = ring_at (t, k);
    double xk = x[0];
    int lw = window_lags (t, k);
    t->sum_w += xk;
    for (l = 0; l <= lw; l++)
      t->acc_w[l] += xk * x[-l];
  }
}

void
musa_tempo_push (MusaTempo * t, float value, float activity)
{
  int64_t n, m;
  int l, lmax;
  double v = value;

  if (t == NULL)
    return;
  n = t->n;
  lmax = t->lags;

  /* square root: a pulse that alternates strong and weak hits (bass and
   * snare, boom-chick) still reads as one pulse; above 10 times the
   * running level only logarithmic growth, so that the huge flux of a
   * stream starting from silence does not dominate the correlation */
  if (activity >= 1.0f && isfinite (activity))
    t->last_active = n;
  if (!(value >= 0.0f) || !isfinite (value))
    v = 0.0;
  else if (value > 10.0f)
    v = sqrt (10.0 * (1.0 + log (value / 10.0)));
  else
    v = sqrt (value);
  /* [1 2 3 2 1] / 9 smoothing: a pulse whose period falls between two frames
   * correlates at both neighbouring lags */
  {
    double s = (v + 2.0 * t->xs[0] + 3.0 * t->xs[1] + 2.0 * t->xs[2] +
        t->xs[3]) / 9.0;
    t->xs[3] = t->xs[2];
    t->xs[2] = t->xs[1];
    t->xs[1] = t->xs[0];
    t->xs[0] = v;
    v = s;
  }
  /* minus the moving mean of the last hp_len frames: slow swells of
   * loudness are no periodicity (exact sum recomputed once per turn) */
  {
    int slot = (int) (n % t->hp_len), i;
    float f = (float) v;
    t->hp_sum += f - t->hp[slot];
    t->hp[slot] = f;
    if (slot == t->hp_len - 1) {
      t->hp_sum = 0.0;
      for (i = 0; i < t->hp_len; i++)
        t->hp_sum += t->hp[i];
    }
    v = f - t->hp_sum / (n + 1 < t->hp_len ? n + 1 : t->hp_len);
  }
  {
    int slot = (int) (n % t->ring_len);
    t->ring[slot] = t->ring[slot + t->ring_len] = (float) v;
  }
  /* products with every lag: frames before the stream start, and frames
   * not written yet, read as 0; the window's only with frames from its
   * start on */
  {
    const float *x = ring_at (t, n);
    int lw = window_lags (t, n);
    for (l = 0; l <= lw; l++) {
      double p = v * x[-l];
      t->acc_all[l] += p;
      t->acc_w[l] += p;
    }
    for (; l <= lmax; l++)
      t->acc_all[l] += v * x[-l];
  }
  t->sum_all += v;
  t->sum_w += v;
  m = n - t->win;               /* leaves the window */
  if (m >= t->start) {
    const float *x = ring_at (t, m);
    double old = x[0];
    int lw = window_lags (t, m);
    for (l = 0; l <= lw; l++)
      t->acc_w[l] -= old * x[-l];
    t->sum_w -= old;
  }
  t->n = n + 1;
  /* exact recomputation of the window sums now and then: no drift */
  if (t->n % t->win == 0)
    window_sums (t);
}

void
musa_tempo_cut (MusaTempo * t, double seconds)
{
  int64_t s;

  /* a cut within what was pushed (not negative, NaN or beyond the start) */
  if (t == NULL || !(seconds >= 0.0 && seconds * t->cfg.fps < (double) t->n))
    return;
  s = t->n - (int64_t) lround (seconds * t->cfg.fps);
  if (s > t->start) {
    t->start = s;
    window_sums (t);
  }
}

/* (longest lag musa_tempo_local_period() looks at) */
#define LOCAL_MAX_LAG 512

double
musa_tempo_local_period (const MusaTempo * t, double period, double seconds)
{
  int64_t n, span, k;
  int lo, hi, l, best;
  double c[LOCAL_MAX_LAG], y0, y1, y2, d;

  if (t == NULL)
    return period;
  n = t->n;
  /* (before any conversion: NaN, infinite or huge arguments) */
  if (!(period > 0.0 && period < LOCAL_MAX_LAG) || !(seconds > 0.0
          && seconds * t->cfg.fps < 1e15))
    return period;
  span = (int64_t) lround (seconds * t->cfg.fps);
  lo = (int) floor (period * 0.9) - 1;
  hi = (int) ceil (period * 1.1) + 1;
  if (lo < 1 || hi >= LOCAL_MAX_LAG || hi > t->lags)
    return period;
  if (span > n - hi)
    span = n - hi;
  if ((double) span < 2.0 * period || span + hi > t->ring_len)
    return period;
  for (l = lo; l <= hi; l++) {
    double acc = 0.0;
    for (k = n - span; k < n; k++) {
      const float *x = ring_at (t, k);
      acc += (double) x[0] * x[-l];
    }
    c[l] = acc;
  }
  /* a peak inside the range, refined by a parabola through its neighbours */
  best = lo + 1;
  for (l = lo + 2; l < hi; l++)
    if (c[l] > c[best])
      best = l;
  y0 = c[best - 1];
  y1 = c[best];
  y2 = c[best + 1];
  if (!(y1 > 0.0) || y1 < y0 || y1 < y2)
    return period;
  d = y0 - 2.0 * y1 + y2;
  return best + (d < 0.0 ? 0.5 * (y0 - y2) / d : 0.0);
}

/* Correlation of the last @span frames with themselves @period +- @tol
 * (share of the period) earlier, over their energy: the largest over the
 * integer lags in that range; 0 where the ring does not reach. */
static double
recent_corr (const MusaTempo * t, double period, double tol, int64_t span)
{
  int64_t n = t->n, k;
  int lo = (int) floor (period * (1.0 - tol)), hi =
      (int) ceil (period * (1.0 + tol)), l;
  double best = 0.0, e0 = 0.0;

  if (!(period > 0.0) || lo < 1 || hi > t->lags || span + hi > t->ring_len
      || span + hi > n)
    return 0.0;
  for (k = n - span; k < n; k++) {
    const float *x = ring_at (t, k);
    e0 += (double) x[0] * x[0];
  }
  if (!(e0 > 0.0))
    return 0.0;
  for (l = lo; l <= hi; l++) {
    double acc = 0.0;
    for (k = n - span; k < n; k++) {
      const float *x = ring_at (t, k);
      acc += (double) x[0] * x[-l];
    }
    if (acc / e0 > best)
      best = acc / e0;
  }
  return best;
}

/* musa_tempo_new_music(): the old tempo no longer repeats in the recent
 * seconds below this correlation (at its period or twice it, within
 * NEW_MUSIC_TOL: a played tempo moves), and another period repeats there
 * at least this well */
#define NEW_MUSIC_OLD 0.5
#define NEW_MUSIC_NEW 0.5
#define NEW_MUSIC_TOL 0.08
/* cross-rhythms of a groove, which a few seconds of it can show more than
 * its beat (in syncopated funk the 2:3 level, within 1 %; once 2:5):
 * never a sign of new music (within 3 %) */
static const double cross[] = { 1.5, 2.0 / 3.0, 0.75, 4.0 / 3.0, 2.5, 0.4 };

#define N_CROSS ((int) (sizeof (cross) / sizeof (cross[0])))

int
musa_tempo_new_music (const MusaTempo * t, double bpm, double seconds)
{
  double fps, old, best = 0.0, at = 0.0, x, lo, hi;
  int64_t span;
  int m;

  if (t == NULL)
    return 0;
  fps = t->cfg.fps;
  old = 60.0 * fps / bpm;
  lo = 60.0 * fps / t->cfg.max_bpm;
  hi = 60.0 * fps / t->cfg.min_bpm;

  /* a tempo whose period the correlation can hold, over seconds the ring
   * can (NaN, infinite or huge arguments: no answer) */
  if (!(bpm > 0.0 && old >= 1.0 && old <= t->lags) || !(seconds > 0.0
          && seconds * fps <= (double) t->ring_len))
    return 0;
  span = (int64_t) lround (seconds * fps);
  if (span < 1)
    return 0;
  if (recent_corr (t, old, NEW_MUSIC_TOL, span) >= NEW_MUSIC_OLD
      || recent_corr (t, 2.0 * old, NEW_MUSIC_TOL, span) >= NEW_MUSIC_OLD)
    return 0;
  for (x = ceil (lo); x <= hi; x += 1.0) {
    double c = recent_corr (t, x, 0.0, span);
    if (c > best) {
      best = c;
      at = x;
    }
  }
  if (best < NEW_MUSIC_NEW)
    return 0;
  for (m = 0; m < N_FAMILY; m++)
    if (fabs (at / (old * family[m]) - 1.0) <= NEW_MUSIC_TOL)
      return 0;
  for (m = 0; m < N_CROSS; m++)
    if (fabs (at / (old * cross[m]) - 1.0) <= 0.03)
      return 0;
  return 1;
}

/* Normalised correlation around fractional lag x: the maximum of the
 * linear interpolation over [x - tol, x + tol]. */
static double
corr_at (const MusaTempo * t, double x, double tol)
{
  int lo = (int) floor (x - tol), hi = (int) ceil (x + tol), j;
  double best = -2.0;

  if (lo < 1)
    lo = 1;
  if (hi > t->lags)
    hi = t->lags;
  for (j = lo; j <= hi; j++)
    if (t->r[j] > best)
      best = t->r[j];
  if (best < -1.0)
    best = 0.0;
  return best;
}

/* The correlation's local maximum reached by climbing from lag @x
 * (interpolated): where the peak whose slope a period's score read lies. */
static double
local_peak (const MusaTempo * t, double x)
{
  int j = (int) lround (x), step;
  double y0, y1, y2, d;

  if (j < 2)
    j = 2;
  if (j > t->lags - 2)
    j = t->lags - 2;
  step = t->r[j + 1] > t->r[j] ? 1 : t->r[j - 1] > t->r[j] ? -1 : 0;
  while (step != 0 && j + step >= 2 && j + step <= t->lags - 2
      && t->r[j + step] > t->r[j])
    j += step;
  y0 = t->r[j - 1];
  y1 = t->r[j];
  y2 = t->r[j + 1];
  d = y0 - 2.0 * y1 + y2;
  return j + (d < 0.0 ? 0.5 * (y0 - y2) / d : 0.0);
}

int
musa_tempo_related (double a, double b)
{
  int m;

  for (m = 0; m < N_FAMILY; m++)
    if (fabs (a / (b * family[m]) - 1.0) <= 0.03)
      return 1;
  return 0;
}

/* The grid point that anchors the metrical family: the most periodic one
 * @raw_best, unless another period about as periodic (a local maximum
 * within ANCHOR_SHARE of it) has a family that repeats more (the sum of
 * the correlation at each relative's lag; subdivisions faster than max-bpm
 * count too) and does not contain it. In a tresillo groove (3+3+2 eighths)
 * the dotted quarter, or five eighths, can be the single most periodic
 * lag: anchored there, the family held only the cross-rhythm (2:3 of the
 * tempo, kept by the live hold) or nothing periodic at the beat (a steady
 * groove read no tempo at all); the beat's family is the one whose levels
 * (the eighths, half bar and bar) all repeat.
 *
 * The other period must also repeat at its own multiples (2, 3 and 4 of
 * its periods, lattice()) about as well as the most periodic lag does at
 * its own (LATTICE_MARGIN): a cross-rhythm is a one-off within the bar
 * (the tresillo's dotted quarter at 6, 9, 12 eighths against the bar at
 * 8, 16, 24), while
 * a 12/8 beat (the dotted quarter again) repeats at 6, 9, 12 triplet
 * eighths. Without this, over an even stream of triplet eighths (arpeggios,
 * flattened further by a loud master) the family of four eighths, with
 * more members among their multiples, won the sum and held the 3:2
 * "quarter" but not the beat (two 12/8 ballads under a loud master read
 * 111 for 74 and 102 for 68 BPM at EOS; their live tempo, anchored at the
 * triplet eighth, can still take the 3:2 level). */
static double refine (const MusaTempo * t, double tau);

/* Mean correlation at 2, 3 and 4 periods @tau (those within the lags), or
 * -2 when none is. */
static double
lattice (const MusaTempo * t, double tau)
{
  double sum = 0.0;
  int k, n = 0;

  for (k = 2; k <= 4; k++) {
    double tol = 0.5 + 0.01 * k * tau;
    if (k * tau + tol + 1.0 < t->lags) {
      sum += corr_at (t, k * tau, tol);
      n++;
    }
  }
  return n > 0 ? sum / n : -2.0;
}

static int
family_anchor (const MusaTempo * t, double tau_lo, int raw_best)
{
  double best_sum = -1.0;
  int g, m, anchor = raw_best;

  for (g = 0; g < t->n_grid; g++) {
    double tau = tau_lo + g * GRID_STEP, sum = 0.0;
    if (t->raw[g] < ANCHOR_SHARE * t->raw[raw_best]
        || (g > 0 && t->raw[g] < t->raw[g - 1])
        || (g + 1 < t->n_grid && t->raw[g] < t->raw[g + 1]))
      continue;
    for (m = 0; m < N_FAMILY; m++) {
      double x = tau / family[m], tol = 0.5 + 0.01 * x, c;
      if (x < 2.0 || x + tol > t->lags)
        continue;
      c = corr_at (t, x, tol);
      if (c > 0.0)
        sum += c;
    }
    if (sum > best_sum) {
      best_sum = sum;
      anchor = g;
    }
  }
  /* the most periodic lag stays the anchor when it belongs to that family
   * anyway: a fast subdivision's family can hold more (in 12/8 the
   * triplet eighths relate to the dotted-quarter beat and to the 3:2
   * quarter alike), and a different anchor there only changes which levels
   * the prior may choose from */
  if (musa_tempo_related (tau_lo + raw_best * GRID_STEP,
          tau_lo + anchor * GRID_STEP))
    return raw_best;
  if (lattice (t, refine (t, tau_lo + anchor * GRID_STEP)) <
      LATTICE_MARGIN * lattice (t, refine (t, tau_lo + raw_best * GRID_STEP)))
    return raw_best;
  return anchor;
}

static double
prior (double bpm, double centre)
{
  double o = log2 (bpm / centre) / PRIOR_OCTAVES;
  return exp (-0.5 * o * o);
}

/* Refine period @tau from the correlation peaks at its multiples. */
static double
refine (const MusaTempo * t, double tau)
{
  double num = 0.0, den = 0.0;
  int k;

  for (k = 1; k <= 8; k++) {
    double c = k * tau, tol = 1.0 + 0.02 * c, p;
    int lo = (int) floor (c - tol), hi = (int) ceil (c + tol), j, best = -1;
    double y0, y1, y2, d, w;

    if (lo < 1)
      lo = 1;
    if (hi > t->lags - 1)
      hi = t->lags - 1;
    if (lo > hi)
      break;
    for (j = lo; j <= hi; j++)
      if (best < 0 || t->r[j] > t->r[best])
        best = j;
    y0 = t->r[best - 1];
    y1 = t->r[best];
    y2 = t->r[best + 1];
    if (y1 <= 0.0 || y1 < y0 || y1 < y2)
      continue;                 /* no peak here (edge of the range) */
    d = y0 - 2.0 * y1 + y2;
    p = best + (d < 0.0 ? 0.5 * (y0 - y2) / d : 0.0);
    w = k * y1;
    num += w * p / k;
    den += w;
  }
  return den > 0.0 ? num / den : tau;
}

/* refine, kept within min-bpm..max-bpm: a peak refined past the range's
 * edge stays at the edge (a 172 BPM song with max-bpm=168 read 172) */
static double
refine_in (const MusaTempo * t, double tau)
{
  double lo = 60.0 * t->cfg.fps / t->cfg.max_bpm;
  double hi = 60.0 * t->cfg.fps / t->cfg.min_bpm, r = refine (t, tau);

  return r < lo ? lo : r > hi ? hi : r;
}

/* The correlation at the period's noise bound: what @used frames of
 * noise reach at most, @sigmas standard deviations of their correlation
 * (frames overlap: about 6 per independent value) */
#define NOISE_SIGMAS 4.0

/* Confidence of a period whose correlation is @c0 over @used frames
 * (@seconds): its excess over the noise bound, full at 0.3 above it, and a
 * ramp over the first seconds; <= 0 means no tempo. */
static double
confidence (double c0, double sigmas, int64_t used, double seconds)
{
  double c = (c0 - sigmas * sqrt (6.0 / (double) used)) / 0.3;

  if (c > 1.0)
    c = 1.0;
  if (seconds < FULL_SECONDS)
    c *= (seconds - MIN_SECONDS) / (FULL_SECONDS - MIN_SECONDS);
  return c;
}

void
musa_tempo_estimate (MusaTempo * t, int whole, MusaTempoResult * out)
{
  int64_t n, used;
  const double *acc;
  double mean, var, fps, c0, tau0, tau_lo, tau_hi;
  int l, g, best = -1, second = -1, top, raw_best = -1;

  if (out == NULL)
    return;
  memset (out, 0, sizeof (*out));
  if (t == NULL)
    return;
  n = t->n;
  acc = whole ? t->acc_all : t->acc_w;
  fps = t->cfg.fps;
  used = whole ? n : window_frames (t);
  out->seconds = used / fps;
  if (used < 2 * t->lags2 / 3 || used < MIN_SECONDS * fps)
    return;
  /* live: no onset as strong as the running level for MIN_SECONDS means
   * the music has stopped; the window's correlation is then mostly the
   * high-pass's decay after the last notes, a made-up tempo (on the rendered
   * songs' release tails: 150-250 BPM with confidence 1) */
  if (!whole && n - t->last_active > (int64_t) lround (MIN_SECONDS * fps))
    return;
  mean = (whole ? t->sum_all : t->sum_w) / (double) used;
  for (l = 0; l <= t->lags; l++) {
    /* products summed for this lag within the span */
    int64_t cnt = used, first = (whole ? 0 : t->start) + l;
    if (n - used < first)
      cnt -= first - (n - used);
    t->r[l] = cnt > 0 ? acc[l] / (double) cnt - mean * mean : 0.0;
  }
  var = t->r[0];
  if (!(var > 1e-9 * (mean * mean + 1e-6)) || var < 1e-12)
    return;                     /* silence or a constant */
  for (l = 0; l <= t->lags; l++)
    t->r[l] /= var;

  tau_lo = 60.0 * fps / t->cfg.max_bpm;
  tau_hi = 60.0 * fps / t->cfg.min_bpm;
  for (g = 0; g < t->n_grid; g++) {
    double tau = tau_lo + g * GRID_STEP, s, wsum, tol = 0.5 + 0.01 * tau;
    if (tau > tau_hi)
      tau = tau_hi;
    /* the period and its multiples up to four beats (comb weights 1,
     * 1/2, 1/4): a level whose pulse also repeats at two and four of its
     * periods (the bar) is the beat rather than a subdivision of it */
    s = corr_at (t, tau, tol);
    wsum = 1.0;
    if (2.0 * tau + 2.0 * tol < t->lags) {
      s += 0.5 * corr_at (t, 2.0 * tau, 2.0 * tol);
      wsum += 0.5;
    }
    if (4.0 * tau + 4.0 * tol < t->lags && 8.0 * tau <= (double) used) {
      s += 0.25 * corr_at (t, 4.0 * tau, 4.0 * tol);
      wsum += 0.25;
    }
    s /= wsum;
    if (s < 0.0)
      s = 0.0;
    /* near the range's edges, a score read off the slope of a peak that
     * lies more than 1 % beyond it is no candidate (a 172 BPM song with
     * max-bpm=168 read 172, or 168 at the edge; a level within the range,
     * 86 with min-bpm=80, is the answer) */
    if ((tau < 1.1 * tau_lo || tau > tau_hi / 1.1) && s > 0.0) {
      double pk = local_peak (t, tau);
      if (pk < tau_lo / 1.01 || pk > 1.01 * tau_hi)
        s = 0.0;
    }
    t->raw[g] = s;
    t->score[g] = s * prior (60.0 * fps / tau, t->cfg.prior_bpm);
  }
  /* the metrical family: the most periodic period of all (no prior; or
   * family_anchor's choice where that is a cross-rhythm) and its duple and
   * triple relatives (x 1/4, 1/3, 1/2, 2, 3, 4); the prior
   * only chooses the level within it, so that it never trades the beat for
   * a period in a 3:2 relation to it (three eighths in 4/4) */
  for (g = 0; g < t->n_grid; g++)
    if (raw_best < 0 || t->raw[g] > t->raw[raw_best])
      raw_best = g;
  raw_best = family_anchor (t, tau_lo, raw_best);
  for (g = 0; g < t->n_grid; g++) {
    double tau = tau_lo + g * GRID_STEP, tr = tau_lo + raw_best * GRID_STEP;
    if (musa_tempo_related (tau, tr) && (best < 0
            || t->score[g] > t->score[best]))
      best = g;
  }
  if (t->score[best] <= 0.0)
    return;
  top = best;
  tau0 = tau_lo + best * GRID_STEP;
  /* parsimony: a pulse twice as fast that is just as periodic is the beat
   * (a click track at 200 BPM is at 200, not at 100); it takes the
   * salience of the level it displaces, which becomes the runner-up, so
   * the two are reported as a tie (strengths 0.5 / 0.5) */
  while (tau0 / 2.0 >= tau_lo - 0.5) {
    double half = corr_at (t, tau0 / 2.0, 0.5 + 0.005 * tau0);
    if (half < 0.92 || half < 0.9 * corr_at (t, tau0, 0.5 + 0.01 * tau0))
      break;
    tau0 /= 2.0;
  }
  /* runner-up: the best local maximum more than 4 % away */
  for (g = 0; g < t->n_grid; g++) {
    double tau = tau_lo + g * GRID_STEP;
    int is_peak = (g == 0 || t->score[g] >= t->score[g - 1]) &&
        (g == t->n_grid - 1 || t->score[g] >= t->score[g + 1]);
    /* (a period outside the family that the prior favours is no
     * runner-up: the family rule rejected it) */
    if (!is_peak || fabs (tau / tau0 - 1.0) <= 0.04
        || t->score[g] > t->score[top])
      continue;
    if (second < 0 || t->score[g] > t->score[second])
      second = g;
  }

  tau0 = refine_in (t, tau0);
  out->period = tau0;
  out->candidates[0] = 60.0 * fps / tau0;
  out->strengths[0] = 1.0;
  if (second >= 0 && t->score[second] > 0.0) {
    double s0 = t->score[top], s1 = t->score[second];
    out->candidates[1] =
        60.0 * fps / refine_in (t, tau_lo + second * GRID_STEP);
    out->strengths[0] = s0 / (s0 + s1);
    out->strengths[1] = s1 / (s0 + s1);
  }

  c0 = corr_at (t, tau0, 1.0);
  out->confidence = confidence (c0, NOISE_SIGMAS, used, out->seconds);
  if (!(out->confidence > 0.0)) {
    out->confidence = 0.0;
    out->bpm = 0.0;
  } else {
    out->bpm = out->candidates[0];
  }
}

/* The largest salience of the last estimate within 2 % of period @tau. */
static double
salience_near (const MusaTempo * t, double tau)
{
  double tau_lo = 60.0 * t->cfg.fps / t->cfg.max_bpm, best = 0.0;
  int g;

  for (g = 0; g < t->n_grid; g++) {
    double x = tau_lo + g * GRID_STEP;
    if (fabs (x / tau - 1.0) <= 0.02 && t->score[g] > best)
      best = t->score[g];
  }
  return best;
}

/* Live: the largest number of standard deviations of a noise correlation
 * that the kept tempo's correlation must still exceed (musa_tempo_keep) */
#define KEEP_SIGMAS 3.0

int
musa_tempo_keep (MusaTempo * t, double bpm, MusaTempoResult * out)
{
  double fps, tau, c0, conf, c1;
  int64_t used;

  if (t == NULL || out == NULL)
    return 0;
  fps = t->cfg.fps;
  used = window_frames (t);

  /* only where the estimate got as far as a period (not silence, not a
   * stopped stream), found it no more periodic than noise, and @bpm is in
   * its metrical family (a cross-rhythm read early in a tresillo groove is
   * not kept against the beat that replaced it) */
  if (out->confidence > 0.0 || !(out->period > 0.0)
      || !(bpm >= t->cfg.min_bpm) || !(bpm <= t->cfg.max_bpm)
      || !musa_tempo_related (bpm, out->candidates[0]))
    return 0;
  tau = refine_in (t, 60.0 * fps / bpm);
  c0 = corr_at (t, tau, 1.0);
  conf = confidence (c0, KEEP_SIGMAS, used, out->seconds);
  if (!(conf > 0.0))
    return 0;
  c1 = out->candidates[0];
  out->period = tau;
  out->bpm = 60.0 * fps / tau;
  out->candidates[0] = out->bpm;
  out->confidence = conf;
  if (fabs (c1 / out->bpm - 1.0) > 0.04) {
    double s_old = salience_near (t, tau), s_new = salience_near (t,
        60.0 * fps / c1);
    out->candidates[1] = c1;
    if (s_old + s_new > 0.0) {
      out->strengths[0] = s_old / (s_old + s_new);
      out->strengths[1] = s_new / (s_old + s_new);
    }
  }
  return 1;
}

int
musa_tempo_hold (MusaTempo * t, double bpm, double ratio, MusaTempoResult * out)
{
  double fps, tau, s_new, s_old, c0;

  if (t == NULL || out == NULL)
    return 0;
  fps = t->cfg.fps;
  if (!(out->confidence > 0.0) || !(bpm >= t->cfg.min_bpm)
      || !(bpm <= t->cfg.max_bpm) || fabs (out->bpm / bpm - 1.0) <= 0.04)
    return 0;
  tau = 60.0 * fps / bpm;
  s_new = salience_near (t, out->period);
  s_old = salience_near (t, tau);
  if (!(s_new > 0.0) || s_old < ratio * s_new)
    return 0;
  c0 = out->candidates[0];
  out->period = refine_in (t, tau);
  out->bpm = 60.0 * fps / out->period;
  out->candidates[0] = out->bpm;
  out->candidates[1] = c0;
  out->strengths[0] = s_old / (s_old + s_new);
  out->strengths[1] = s_new / (s_old + s_new);
  return 1;
}

/* ------------------------------------------------------------------ */
/* beats */

#define LIVE_RING 2048
/* the live programme's input on the final programme's scale: the final one
 * scores the function smoothed by a Gaussian of period/32 over its standard
 * deviation, which puts its onset peaks at 0.48 (0.24..0.97) times the
 * values the live one gets (median over the 100 songs of seed 1); at the
 * full scale the onsets weigh twice as much against the tempo penalty and
 * the live beats follow off-beat accents (live beat F on seeds 1-4 0.891 /
 * 0.871 / 0.863 / 0.895 -> 0.906 / 0.873 / 0.869 / 0.900; with 0.3 about
 * the same) */
#define LIVE_SCALE 0.5

struct MusaBeat
{
  MusaBeatConfig cfg;
  /* live */
  float live_o[LIVE_RING];
  double live_c[LIVE_RING];
  double pen_period;            /* period the penalty table was built for */
  int pen_lo, pen_hi;
  double penalty[LIVE_RING];
  int64_t n, last_beat;
  /* offline: the function of frame m at hist[m % hist_len]. hist holds
   * hist_cap frames; it starts small and doubles as the stream goes until
   * it holds hist_len (frames before hist_len sit at their own index, so
   * the ring is the same at every size) */
  size_t hist_len, hist_cap;
  float *hist;
};

/* frames the history starts with (4 kB) */
#define HIST_START 1024

void
musa_beat_config_default (MusaBeatConfig * cfg, double fps)
{
  if (cfg == NULL)
    return;
  cfg->fps = fps;
  cfg->tightness = 100.0;
  cfg->history = 3600.0;
}

MusaBeat *
musa_beat_new (const MusaBeatConfig * cfg, MusaError * err)
{
  MusaBeat *b;
  size_t h;

  if (cfg == NULL)
    return musa_error_set (err, MUSA_ERR_INVALID, NULL,
        "no configuration"), NULL;
  if (!(cfg->fps >= 10.0 && cfg->fps <= 1000.0))
    return musa_error_set (err, MUSA_ERR_INVALID, "fps",
        "frame rate must be in 10..1000, got %g", cfg->fps), NULL;
  if (!(cfg->tightness > 0.0 && cfg->tightness <= 10000.0))
    return musa_error_set (err, MUSA_ERR_INVALID, "tightness",
        "tightness must be in (0, 10000], got %g", cfg->tightness), NULL;
  if (!(cfg->history >= 1.0 && cfg->history <= 86400.0))
    return musa_error_set (err, MUSA_ERR_INVALID, "history",
        "history must be in 1..86400 s, got %g", cfg->history), NULL;
  b = calloc (1, sizeof (*b));
  if (b == NULL)
    return musa_error_set (err, MUSA_ERR_NOMEM, NULL, "out of memory"), NULL;
  b->cfg = *cfg;
  h = (size_t) ceil (cfg->history * cfg->fps);
  b->hist_len = h;
  b->hist_cap = h < HIST_START ? h : HIST_START;
  b->hist = calloc (b->hist_cap, sizeof (float));
  if (!b->hist) {
    musa_beat_free (b);
    musa_error_set (err, MUSA_ERR_NOMEM, NULL, "out of memory");
    return NULL;
  }
  musa_beat_reset (b);
  return b;
}

void
musa_beat_free (MusaBeat * b)
{
  if (b == NULL)
    return;
  free (b->hist);
  free (b);
}

/* Room for frame b->n in the history: double it (up to hist_len). Out of
 * memory, the history stays at what it holds (a ring of hist_cap). */
static void
beat_grow (MusaBeat * b)
{
  if (!musa_history_grow (&b->hist, &b->hist_cap, b->hist_len))
    b->hist_len = b->hist_cap;
}

void
musa_beat_reset (MusaBeat * b)
{
  if (b == NULL)
    return;
  memset (b->live_o, 0, sizeof (b->live_o));
  memset (b->live_c, 0, sizeof (b->live_c));
  b->pen_period = 0.0;
  b->n = 0;
  b->last_beat = INT64_MIN / 2;
  /* back to the starting size (a long stream before a short one does not
   * keep its history) */
  b->hist_len = (size_t) ceil (b->cfg.history * b->cfg.fps);
  if (b->hist_cap > HIST_START) {
    float *p = realloc (b->hist, sizeof (float) * HIST_START);
    if (p != NULL) {
      b->hist = p;
      b->hist_cap = HIST_START;
    }
  }
}

int
musa_beat_push (MusaBeat * b, float value, float live_value, double period,
    int64_t * beat_frame)
{
  int64_t n, c, m;
  double best = 0.0;
  int d, la, found = 0;
  float v = live_value >= 0.0f && isfinite (live_value) ? live_value : 0.0f;

  if (b == NULL)
    return 0;
  n = b->n;
  if ((size_t) n >= b->hist_cap && b->hist_cap < b->hist_len)
    beat_grow (b);
  b->hist[n % b->hist_len] = value >= 0.0f && isfinite (value) ? value : 0.0f;
  b->live_o[n % LIVE_RING] = v;
  b->n = n + 1;
  if (!(period >= 2.0) || period * 2.0 + period / 4.0 + 2.0 >= LIVE_RING) {
    b->live_c[n % LIVE_RING] = v;
    return 0;
  }
  if (fabs (period - b->pen_period) > 1e-9) {
    b->pen_lo = (int) floor (period / 2.0);
    if (b->pen_lo < 1)
      b->pen_lo = 1;
    b->pen_hi = (int) ceil (2.0 * period);
    for (d = b->pen_lo; d <= b->pen_hi; d++) {
      double q = log (d / period);
      b->penalty[d] = b->cfg.tightness * q * q;
    }
    b->pen_period = period;
  }
  for (d = b->pen_lo; d <= b->pen_hi && d <= n; d++) {
    double s = b->live_c[(n - d) % LIVE_RING] - b->penalty[d];
    if (!found || s > best) {
      best = s;
      found = 1;
    }
  }
  b->live_c[n % LIVE_RING] = LIVE_SCALE * v
      + (found && best > 0.0 ? best : 0.0);

  /* decide about frame c = n - la */
  la = (int) lround (period / 4.0);
  if (la < 1)
    la = 1;
  c = n - la;
  /* consecutive live beats at least 0.8 period apart: a strong off-beat
   * (a swung eighth, a pushed chord) right after a beat is not taken for
   * the next one; tempo and phase move over several beats instead (with
   * half a period, 15 % of the live intervals on the rendered songs were
   * more than 20 % off the period; live beat F 0.85 -> 0.88) */
  if (c < 0 || c - b->last_beat < (int64_t) lround (0.8 * period))
    return 0;
  /* a live beat sits on an onset at least as strong as the function's
   * running level (its values are normalised by it, so 1): a weak frame
   * taken for a beat holds the right one off by the gap above (with 0.2,
   * live beat F on the 400 rendered songs was 0.006-0.010 lower in every
   * family; 0.8..2.5 all lie within 0.004 of each other) */
  if (!(b->live_o[c % LIVE_RING] >= 1.0f))
    return 0;
  for (m = c - (int64_t) lround (period / 2.0); m <= n; m++) {
    if (m < 0 || m == c)
      continue;
    if (b->live_c[m % LIVE_RING] > b->live_c[c % LIVE_RING])
      return 0;
  }
  b->last_beat = c;
  if (beat_frame)
    *beat_frame = c;
  return 1;
}

/* longest gap between two beats the programme considers (frames) */
#define MAX_GAP (LIVE_RING / 2)

/* The first beats of a traced path. The programme starts a chain for
 * free, so where the audio begins mid-bar a strong onset just before the
 * first regular beat is squeezed in 0.55-0.8 periods before it (7 of 80
 * songs analysed from 13 s into them, 1 of 80 from their start). The
 * beats before an interval more than 15 % off the period among the first
 * four are dropped when
 * the next two are regular, and the grid is carried back from the first
 * regular beat to the start, each beat on the best local score within a
 * twentieth of a period of its place. */
static size_t
regular_start (const float *local, double period, double *out, size_t n,
    size_t max)
{
  size_t drop = 0, add = 0, i;
  double x, fill[64];

  /* the last irregular interval among the first four, followed by two
   * regular ones */
  for (i = 1; i <= 4 && i + 2 < n; i++)
    if (fabs ((out[i] - out[i - 1]) / period - 1.0) > 0.15
        && fabs ((out[i + 1] - out[i]) / period - 1.0) <= 0.15
        && fabs ((out[i + 2] - out[i + 1]) / period - 1.0) <= 0.15)
      drop = i;
  if (drop == 0)
    return n;
  for (x = out[drop] - period; x >= 0.0 && add < 64; x -= period) {
    int64_t c = (int64_t) lround (x), w = (int64_t) (period / 20.0), j;
    int64_t best = c < 0 ? 0 : c;
    for (j = c - w; j <= c + w; j++)
      if (j >= 0 && local[j] > local[best])
        best = j;
    fill[add++] = (double) best;
    x = (double) best;
  }
  /* fill holds the new beats last first */
  if (n - drop + add > max)
    add = max - (n - drop);
  memmove (out + add, out + drop, sizeof (double) * (n - drop));
  for (i = 0; i < add; i++)
    out[i] = fill[add - 1 - i];
  return n - drop + add;
}

/* The dynamic programme on env[0..n) into the given work arrays. */
static size_t
track (const float *env, size_t n, double period, double tightness,
    float *local, double *cum, int32_t * back, double *out, size_t max)
{
  double sd = 0.0, mean = 0.0, sigma = period / 32.0, rms = 0.0, thr;
  double med_sum = 0.0, gauss[65], penalty[MAX_GAP + 1];
  int half, lo, hi, j, n_max = 0;
  size_t i, k, n_out = 0;
  int64_t t, last = -1;

  if (n < 4 || !(period >= 2.0) || period * 2.0 >= (double) n * 4.0)
    return 0;
  for (i = 0; i < n; i++)
    mean += env[i];
  mean /= (double) n;
  for (i = 0; i < n; i++)
    sd += (env[i] - mean) * (env[i] - mean);
  sd = sqrt (sd / (double) n);
  if (!(sd > 1e-9))
    return 0;
  /* local score: the function smoothed by a Gaussian of period/32 */
  if (sigma < 0.5)
    sigma = 0.5;
  half = (int) ceil (3.0 * sigma);
  if (half > 64)
    half = 64;
  for (j = 0; j <= half; j++)
    gauss[j] = exp (-0.5 * (j / sigma) * (j / sigma));
  for (i = 0; i < n; i++) {
    double s = 0.0;
    for (j = -half; j <= half; j++) {
      int64_t m = (int64_t) i + j;
      if (m >= 0 && m < (int64_t) n)
        s += env[m] * gauss[j < 0 ? -j : j];
    }
    local[i] = (float) (s / sd);
  }
  lo = (int) floor (period / 2.0);
  hi = (int) ceil (2.0 * period);
  if (lo < 1)
    lo = 1;
  if (hi > MAX_GAP)
    hi = MAX_GAP;
  for (j = lo; j <= hi; j++) {
    double q = log (j / period);
    penalty[j] = tightness * q * q;
  }
  for (i = 0; i < n; i++) {
    double best = 0.0;
    int found = 0, arg = -1, d;
    for (d = lo; d <= hi && (size_t) d <= i; d++) {
      double s = cum[i - d] - penalty[d];
      if (!found || s > best) {
        best = s;
        arg = (int) (i - d);
        found = 1;
      }
    }
    if (found && best > 0.0) {
      cum[i] = local[i] + best;
      back[i] = arg;
    } else {
      cum[i] = local[i];
      back[i] = -1;
    }
  }
  /* last beat: the last local maximum of the cumulative score above half
   * the mean of the local maxima */
  for (i = 1; i + 1 < n; i++)
    if (cum[i] > cum[i - 1] && cum[i] >= cum[i + 1]) {
      med_sum += cum[i];
      n_max++;
    }
  if (n_max == 0)
    return 0;
  thr = 0.5 * med_sum / n_max;
  for (i = n - 2; i >= 1; i--) {
    if (cum[i] > cum[i - 1] && cum[i] >= cum[i + 1] && cum[i] >= thr) {
      last = (int64_t) i;
      break;
    }
  }
  if (last < 0)
    return 0;
  /* trace back (into out, reversed) */
  for (t = last; t >= 0 && n_out < max; t = back[t])
    out[n_out++] = (double) t;
  for (k = 0; k < n_out / 2; k++) {
    double tmp = out[k];
    out[k] = out[n_out - 1 - k];
    out[n_out - 1 - k] = tmp;
  }
  /* trim weak beats at both ends */
  for (k = 0; k < n_out; k++)
    rms += (double) local[(size_t) out[k]] * local[(size_t) out[k]];
  thr = n_out ? 0.5 * sqrt (rms / n_out) : 0.0;
  while (n_out > 0 && local[(size_t) out[n_out - 1]] <= thr)
    n_out--;
  k = 0;
  while (k < n_out && local[(size_t) out[k]] <= thr)
    k++;
  if (k > 0) {
    memmove (out, out + k, sizeof (double) * (n_out - k));
    n_out -= k;
  }
  return regular_start (local, period, out, n_out, max);
}

size_t
musa_beat_track (MusaBeat * b, double period, double *out, size_t max)
{
  size_t n, i, k = 0;
  int64_t start, m;
  float *lin, *local;
  double *cum;
  int32_t *back;

  if (b == NULL || out == NULL)
    return 0;
  n = b->n < (int64_t) b->hist_len ? (size_t) b->n : b->hist_len;
  start = b->n - (int64_t) n;

  /* work arrays for the stream there is, not the whole history */
  lin = malloc (sizeof (float) * (n ? n : 1));
  local = malloc (sizeof (float) * (n ? n : 1));
  cum = malloc (sizeof (double) * (n ? n : 1));
  back = malloc (sizeof (int32_t) * (n ? n : 1));
  if (lin && local && cum && back) {
    for (m = start, i = 0; m < b->n; m++, i++)
      lin[i] = b->hist[m % b->hist_len];
    k = track (lin, n, period, b->cfg.tightness, local, cum, back, out, max);
  }
  free (lin);
  free (local);
  free (cum);
  free (back);
  for (i = 0; i < k; i++)
    out[i] += (double) start;
  return k;
}

float
musa_beat_value_at (const MusaBeat * b, int64_t frame)
{
  if (b == NULL || frame < 0 || frame >= b->n
      || frame < b->n - (int64_t) b->hist_len)
    return 0.0f;
  return b->hist[frame % (int64_t) b->hist_len];
}

size_t
musa_beat_track_array (const float *env, size_t n, double period,
    double tightness, double *out, size_t max)
{
  float *local;
  double *cum;
  int32_t *back;
  size_t k = 0;

  if (env == NULL || out == NULL)
    return 0;
  local = malloc (sizeof (float) * (n ? n : 1));
  cum = malloc (sizeof (double) * (n ? n : 1));
  back = malloc (sizeof (int32_t) * (n ? n : 1));

  if (local && cum && back)
    k = track (env, n, period, tightness, local, cum, back, out, max);
  free (local);
  free (cum);
  free (back);
  return k;
}
