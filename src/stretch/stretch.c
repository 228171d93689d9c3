/* libmusa — time stretch and pitch shift: phase vocoder with identity phase
 * locking (Laroche & Dolson 1999), multichannel phase coherence and transient
 * phase reset, followed (pitch shift) by a polyphase windowed-sinc resampler.
 *
 * Time bases.  Let p = 2^(semitones/12) and rv = rate / p (the vocoder's own
 * rate).  Synthesis frame k is centred at vocoder-output sample k * hs (hs
 * integer); its analysis frame is centred at input sample a_k, nominally
 * k * hs * rv (see Transients).  Output frame m is read from the vocoder output
 * at time m * p, i.e. input time m * p * rv = m * rate, so the stream stays
 * aligned with its input and the algorithm's delay never shows in the output.
 *
 * Coherence.  Peaks are picked on the power summed over channels; the phase
 * advance of each peak comes from the cross-spectrum summed over channels, and
 * the resulting rotation of the peak's region of influence is applied to every
 * channel.  Inter-channel phase and level differences of each bin therefore
 * pass through untouched: identical channels stay identical, a channel that is
 * a scaled or inverted copy of another stays so.
 *
 * Transients.  A detection function (the share of bins whose power rose by
 * more than 3 dB over about 3/16 of a window) rising through a threshold
 * flags an attack.  Its peaks that rose are reset to their analysis phase
 * (per-peak reset, steady partials go on unaltered), the attack is located to
 * n/64 samples in the time domain, and the next frames are analysed on a grid
 * with hop = synthesis hop anchored so that the attack maps to its exact
 * output time: the frames that hold the attack overlap-add as they were.
 * Between attacks the analysis hop tracks the nominal grid k * hs * rv again,
 * within +-dev_max samples, which bounds the latency.
 *
 * The analysis position of frame k+1 depends only on frames <= k, so the
 * output does not depend on how the input is chunked. */
#include "stretch/stretch.h"

#include "core/fft.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TRANSIENT_THRESHOLD 0.35
#define RISE_FACTOR 2.0f        /* power ratio for "rose by 3 dB" */
#define N_POW_RING 8
#define RS_ZEROS 16             /* resampler half-length in zero crossings */
#define RS_PHASES 256
#define RS_BETA 9.0
#define ACTIVE_FLOOR 1e-12f     /* bins quieter than this (both frames) do
                                 * not vote in transient detection */

struct MusaStretch
{
  MusaStretchConfig cfg;
  int identity;
  int channels;
  int n;                        /* FFT size */
  int nb;                       /* bins */
  int hs;                       /* synthesis hop */
  double p;                     /* pitch ratio */
  double rv;                    /* vocoder rate = rate / p */
  int64_t kmin;                 /* first frame (covers output sample 0) */

  MusaFft *fft;
  float *win;                   /* n */
  float *norm;                  /* hs: 1 / (n * sum of w^2) per phase */

  /* input */
  float *inbuf;                 /* channels * incap, deinterleaved */
  size_t incap;
  int64_t in_start;             /* absolute index of inbuf[0] */
  size_t in_len;
  int64_t n_in;                 /* real frames consumed */

  /* analysis */
  int64_t k_next;               /* next frame to analyse */
  float *spec[3];               /* channels * nb * 2 each, slot k mod 3 */
  int64_t apos[3];              /* a_k of the slot */
  double df[3];                 /* detection function of the slot */
  float *pring[N_POW_RING];     /* summed power, slot k mod N_POW_RING */
  int64_t ppos[N_POW_RING];
  int ref_slot[3];              /* power-ring slot of the reference frame */
  float *theta;                 /* nb: rotation of each bin, last frame */
  float *rot;                   /* nb * 2 */
  int *peaks;                   /* nb */
  int64_t a_next;               /* input position of frame k_next */
  double nom;                   /* nominal analysis hop hs * rv */
  int hop_lo, hop_hi;           /* analysis hop limits outside a lock */
  int locking;                  /* frames follow the lock grid */
  double lock_onset;            /* input position of the locked attack */
  int64_t lock_end;             /* first frame after the lock */
  int64_t dev_max;              /* bound of |a_k - k * nom| */

  /* overlap-add */
  float *acc;                   /* channels * n */

  /* resampler */
  int use_rs;
  int rs_half;                  /* taps each side */
  float *rs_table;              /* (RS_PHASES + 1) * 2 * rs_half */
  float *rs_coef;               /* 2 * rs_half */
  float *rsbuf;                 /* channels * rscap */
  size_t rscap;
  int64_t rs_start;
  size_t rs_len;

  /* output */
  int64_t m_next;               /* next output frame */
  int64_t m_total;              /* set by finish, -1 before */
  int done;
  float *out;
  size_t out_len;
  size_t out_cap;
};

int
musa_stretch_is_identity (const MusaStretchConfig * cfg)
{
  return cfg != NULL && cfg->rate == 1.0 && cfg->semitones == 0.0;
}

int
musa_stretch_config_check (const MusaStretchConfig * cfg, MusaError * err)
{
  if (cfg == NULL)
    return musa_error_set (err, MUSA_ERR_INVALID, NULL, "no configuration");
  if (cfg->sample_rate < 8000 || cfg->sample_rate > 192000)
    return musa_error_set (err, MUSA_ERR_INVALID, "sample-rate",
        "sample rate must be 8000..192000 Hz, got %d", cfg->sample_rate);
  if (cfg->channels < 1 || cfg->channels > 8)
    return musa_error_set (err, MUSA_ERR_INVALID, "channels",
        "channels must be 1..8, got %d", cfg->channels);
  if (!isfinite (cfg->rate) || cfg->rate < 0.5 || cfg->rate > 2.0)
    return musa_error_set (err, MUSA_ERR_INVALID, "rate",
        "rate must be 0.5..2, got %g", cfg->rate);
  if (!isfinite (cfg->semitones) || cfg->semitones < -12.0
      || cfg->semitones > 12.0)
    return musa_error_set (err, MUSA_ERR_INVALID, "semitones",
        "semitones must be -12..12, got %g", cfg->semitones);
  musa_error_clear (err);
  return MUSA_OK;
}

static double
bessel_i0 (double x)
{
  double sum = 1.0, term = 1.0, q = x * x / 4.0;
  int k;

  for (k = 1; k < 64; k++) {
    term *= q / ((double) k * k);
    sum += term;
    if (term < sum * 1e-17)
      break;
  }
  return sum;
}

/* Windowed-sinc table: h(x) = 2 fc sinc (2 fc x) kaiser (x / half), sampled
 * at x = j - half + 1 - ph / RS_PHASES, j = 0..2 half - 1. */
static void
fill_rs_table (MusaStretch * st)
{
  int half = st->rs_half, ph, j;
  double fc = 0.5 * 0.95 / (st->p > 1.0 ? st->p : 1.0);
  double i0b = bessel_i0 (RS_BETA);

  for (ph = 0; ph <= RS_PHASES; ph++) {
    for (j = 0; j < 2 * half; j++) {
      double x = (double) (j - half + 1) - (double) ph / RS_PHASES;
      double r = x / half, h, arg;

      if (fabs (r) >= 1.0) {
        h = 0.0;
      } else {
        arg = 2.0 * M_PI * fc * x;
        h = 2.0 * fc * (fabs (x) < 1e-12 ? 1.0 : sin (arg) / arg);
        h *= bessel_i0 (RS_BETA * sqrt (1.0 - r * r)) / i0b;
      }
      st->rs_table[(size_t) ph * 2 * half + j] = (float) h;
    }
  }
}

/* where frame k would be analysed at a constant hop */
static double
target_pos (const MusaStretch * st, int64_t k)
{
  return (double) k *st->nom;
}

void
musa_stretch_reset (MusaStretch * st)
{
  int c;

  if (st == NULL)
    return;
  st->n_in = 0;
  st->m_next = 0;
  st->m_total = -1;
  st->done = 0;
  if (st->identity)
    return;
  st->k_next = st->kmin;
  st->locking = 0;
  st->a_next = llround (target_pos (st, st->kmin));
  /* the input before sample 0 is silence */
  st->in_start = st->a_next - st->n / 2;
  st->in_len = (size_t) (-st->in_start);
  memset (st->inbuf, 0, sizeof (float) * st->incap * st->channels);
  memset (st->theta, 0, sizeof (float) * st->nb);
  memset (st->acc, 0, sizeof (float) * st->n * st->channels);
  for (c = 0; c < 3; c++) {
    st->df[c] = 0.0;
    st->apos[c] = 0;
  }
  for (c = 0; c < N_POW_RING; c++)
    st->ppos[c] = INT64_MIN;
  if (st->use_rs) {
    memset (st->rsbuf, 0, sizeof (float) * st->rscap * st->channels);
    st->rs_start = -st->rs_half;
    st->rs_len = (size_t) st->rs_half;
  }
}

void
musa_stretch_free (MusaStretch * st)
{
  int i;

  if (st == NULL)
    return;
  musa_fft_free (st->fft);
  free (st->win);
  free (st->norm);
  free (st->inbuf);
  for (i = 0; i < 3; i++)
    free (st->spec[i]);
  for (i = 0; i < N_POW_RING; i++)
    free (st->pring[i]);
  free (st->theta);
  free (st->rot);
  free (st->peaks);
  free (st->acc);
  free (st->rs_table);
  free (st->rs_coef);
  free (st->rsbuf);
  free (st);
}

MusaStretch *
musa_stretch_new (const MusaStretchConfig * cfg, MusaError * err)
{
  MusaStretch *st;
  int n, i, ok = 1;
  double target, hs_d;

  if (musa_stretch_config_check (cfg, err) != MUSA_OK)
    return NULL;
  st = calloc (1, sizeof (*st));
  if (st == NULL) {
    musa_error_set (err, MUSA_ERR_NOMEM, NULL, "out of memory");
    return NULL;
  }
  st->cfg = *cfg;
  st->channels = cfg->channels;
  st->identity = musa_stretch_is_identity (cfg);
  if (st->identity) {
    musa_stretch_reset (st);
    return st;
  }
  st->p = pow (2.0, cfg->semitones / 12.0);
  st->rv = cfg->rate / st->p;
  st->use_rs = cfg->semitones != 0.0;

  /* about 46 ms windows (2048 at 44.1 kHz), a power of two */
  target = cfg->sample_rate * (2048.0 / 44100.0);
  for (n = 256; n < 16384 && n * 1.4142 < target; n *= 2);
  st->n = n;
  st->nb = n / 2 + 1;
  /* the larger of the two hops is a quarter window */
  if (st->rv <= 1.0)
    hs_d = n / 4.0;
  else
    hs_d = floor (n / (4.0 * st->rv) + 0.5);
  st->hs = (int) hs_d;
  st->nom = st->hs * st->rv;
  st->hop_lo = (int) ceil (0.5 * st->nom);
  if (st->hop_lo < 1)
    st->hop_lo = 1;
  st->hop_hi = (int) floor (1.5 * st->nom);
  if (st->hop_hi < st->hop_lo)
    st->hop_hi = st->hop_lo;
  st->dev_max = (int64_t) ceil ((n / 2 + 2 * st->hs) * fabs (1.0 - st->rv))
      + 2;
  st->kmin = -(int64_t) ((n / 2) / st->hs);
  if ((int64_t) st->kmin * st->hs <= -(n / 2))
    st->kmin++;

  st->fft = musa_fft_new (n, err);
  if (st->fft == NULL) {
    musa_stretch_free (st);
    return NULL;
  }
  st->win = malloc (sizeof (float) * n);
  st->norm = malloc (sizeof (float) * st->hs);
  st->incap = (size_t) n + (size_t) st->hop_hi + (size_t) st->hs + 4
      + (size_t) (n / 2) + (size_t) (-st->kmin) * (size_t) ceil (st->nom);
  st->inbuf = malloc (sizeof (float) * st->incap * st->channels);
  for (i = 0; i < 3; i++) {
    st->spec[i] = malloc (sizeof (float) * 2 * st->nb * st->channels);
    ok = ok && st->spec[i];
  }
  for (i = 0; i < N_POW_RING; i++) {
    st->pring[i] = malloc (sizeof (float) * st->nb);
    ok = ok && st->pring[i];
  }
  st->theta = malloc (sizeof (float) * st->nb);
  st->rot = malloc (sizeof (float) * 2 * st->nb);
  st->peaks = malloc (sizeof (int) * st->nb);
  st->acc = malloc (sizeof (float) * n * st->channels);
  ok = ok && st->win && st->norm && st->inbuf && st->theta && st->rot
      && st->peaks && st->acc;
  if (st->use_rs) {
    double scale = st->p > 1.0 ? st->p : 1.0;
    st->rs_half = (int) ceil (RS_ZEROS * scale);
    st->rs_table = malloc (sizeof (float) * (RS_PHASES + 1) * 2 * st->rs_half);
    st->rs_coef = malloc (sizeof (float) * 2 * st->rs_half);
    st->rscap = (size_t) (2 * st->rs_half + st->hs) + (size_t) ceil (st->p)
        + 8;
    st->rsbuf = malloc (sizeof (float) * st->rscap * st->channels);
    ok = ok && st->rs_table && st->rs_coef && st->rsbuf;
  }
  if (!ok) {
    musa_stretch_free (st);
    musa_error_set (err, MUSA_ERR_NOMEM, NULL, "out of memory");
    return NULL;
  }

  /* periodic Hann for analysis and synthesis */
  for (i = 0; i < n; i++)
    st->win[i] = (float) (0.5 - 0.5 * cos (2.0 * M_PI * i / n));
  for (i = 0; i < st->hs; i++) {
    double s = 0.0;
    int j;
    for (j = i; j < n; j += st->hs)
      s += (double) st->win[j] * st->win[j];
    st->norm[i] = (float) (1.0 / (s * n));
  }
  if (st->use_rs)
    fill_rs_table (st);
  musa_stretch_reset (st);
  return st;
}

size_t
musa_stretch_max_output (const MusaStretch * st, size_t in_frames)
{
  double frames;
  int hmin;

  if (st == NULL)
    return 0;
  if (st->identity)
    return in_frames;
  /* frames analysed per call, each finishing hs vocoder samples */
  hmin = st->hs < st->hop_lo ? st->hs : st->hop_lo;
  frames = ((double) in_frames + 2.0 * st->n) / hmin + 4.0;
  frames = ceil (frames * st->hs / st->p) + 16.0;
  /* a bound beyond any buffer saturates (a wrapped cast was UB and gave a
   * tiny value that process would then have accepted as out_cap) */
  return frames < (double) SIZE_MAX ? (size_t) frames : SIZE_MAX;
}

int64_t
musa_stretch_latency (const MusaStretch * st)
{
  double l;

  if (st == NULL || st->identity)
    return 0;
  l = ((st->use_rs ? st->rs_half + 1 : 0) + st->n / 2) * st->rv
      + (double) st->dev_max + st->n / 2 + 2;
  return (int64_t) ceil (l);
}

/* ---- output ---------------------------------------------------------- */

static int
out_room (const MusaStretch * st)
{
  if (st->out_len >= st->out_cap)
    return 0;
  if (st->m_total >= 0 && st->m_next >= st->m_total)
    return 0;
  return 1;
}

static void
resample_run (MusaStretch * st)
{
  int C = st->channels, half = st->rs_half, c, j;
  int64_t end = st->rs_start + (int64_t) st->rs_len;

  while (out_room (st)) {
    double t = (double) st->m_next * st->p;
    double fl = floor (t), fpos;
    int64_t i0 = (int64_t) fl;
    int ph;
    float a;
    const float *h0, *h1;
    size_t off;

    if (i0 + half >= end)
      break;
    fpos = (t - fl) * RS_PHASES;
    ph = (int) fpos;
    if (ph >= RS_PHASES)
      ph = RS_PHASES - 1;
    a = (float) (fpos - ph);
    h0 = st->rs_table + (size_t) ph *2 * half;
    h1 = h0 + 2 * half;
    for (j = 0; j < 2 * half; j++)
      st->rs_coef[j] = h0[j] + a * (h1[j] - h0[j]);
    off = (size_t) (i0 - half + 1 - st->rs_start);
    for (c = 0; c < C; c++) {
      const float *x = st->rsbuf + (size_t) c * st->rscap + off;
      float s = 0.0f;
      for (j = 0; j < 2 * half; j++)
        s += st->rs_coef[j] * x[j];
      st->out[st->out_len * C + c] = s;
    }
    st->out_len++;
    st->m_next++;
  }
}

/* count vocoder output samples (absolute index start) */
static void
vocoder_emit (MusaStretch * st, const float *const *src, int64_t start,
    size_t count)
{
  int C = st->channels, c;
  size_t i;

  if (!st->use_rs) {
    for (i = 0; i < count; i++) {
      if (start + (int64_t) i < st->m_next)
        continue;
      if (!out_room (st))
        break;
      for (c = 0; c < C; c++)
        st->out[st->out_len * C + c] = src[c][i];
      st->out_len++;
      st->m_next++;
    }
    return;
  }
  /* drop what the resampler no longer needs */
  {
    double t = (double) st->m_next * st->p;
    int64_t keep_from = (int64_t) floor (t) - st->rs_half + 1;
    int64_t drop = keep_from - st->rs_start;
    if (drop > (int64_t) st->rs_len)
      drop = (int64_t) st->rs_len;
    if (drop > 0) {
      for (c = 0; c < C; c++) {
        float *b = st->rsbuf + (size_t) c * st->rscap;
        memmove (b, b + drop, sizeof (float) * (st->rs_len - (size_t) drop));
      }
      st->rs_len -= (size_t) drop;
      st->rs_start += drop;
    }
  }
  i = 0;
  if (start < st->rs_start + (int64_t) st->rs_len)
    i = (size_t) (st->rs_start + (int64_t) st->rs_len - start);
  while (i < count) {
    size_t room = st->rscap - st->rs_len, take = count - i;
    if (take > room)
      take = room;
    for (c = 0; c < C; c++)
      memcpy (st->rsbuf + (size_t) c * st->rscap + st->rs_len, src[c] + i,
          sizeof (float) * take);
    st->rs_len += take;
    i += take;
    resample_run (st);
    if (i < count) {
      /* make room again (only happens for tiny buffers) */
      double t = (double) st->m_next * st->p;
      int64_t drop = (int64_t) floor (t) - st->rs_half + 1 - st->rs_start;
      if (drop > (int64_t) st->rs_len)
        drop = (int64_t) st->rs_len;
      if (drop <= 0)
        break;                  /* output full: cannot happen within bounds */
      for (c = 0; c < C; c++) {
        float *b = st->rsbuf + (size_t) c * st->rscap;
        memmove (b, b + drop, sizeof (float) * (st->rs_len - (size_t) drop));
      }
      st->rs_len -= (size_t) drop;
      st->rs_start += drop;
    }
  }
}

/* ---- vocoder --------------------------------------------------------- */

static double
princarg (double x)
{
  return x - 2.0 * M_PI * floor (x / (2.0 * M_PI) + 0.5);
}

/* Analyse frame st->k_next from the input buffer into its slot. */
static void
analyse (MusaStretch * st)
{
  int C = st->channels, nb = st->nb, n = st->n, c, b;
  int64_t k = st->k_next, a = st->a_next;
  int slot = (int) (((k % 3) + 3) % 3);
  int pslot = (int) (((k % N_POW_RING) + N_POW_RING) % N_POW_RING);
  float *pw = st->pring[pslot];
  float *re = musa_fft_real (st->fft);
  const float *X = musa_fft_complex (st->fft);
  size_t off = (size_t) (a - n / 2 - st->in_start);
  int ref = -1, i, active = 0, rose = 0;
  int64_t best = INT64_MIN;
  int64_t dref = (int64_t) (0.75 * n / 4.0);

  for (c = 0; c < C; c++) {
    const float *x = st->inbuf + (size_t) c * st->incap + off;
    float *sp = st->spec[slot] + (size_t) c * 2 * nb;
    for (i = 0; i < n; i++)
      re[i] = x[i] * st->win[i];
    musa_fft_forward (st->fft);
    memcpy (sp, X, sizeof (float) * 2 * nb);
    if (c == 0) {
      for (b = 0; b < nb; b++)
        pw[b] = sp[2 * b] * sp[2 * b] + sp[2 * b + 1] * sp[2 * b + 1];
    } else {
      for (b = 0; b < nb; b++)
        pw[b] += sp[2 * b] * sp[2 * b] + sp[2 * b + 1] * sp[2 * b + 1];
    }
  }
  st->apos[slot] = a;

  /* reference: latest earlier frame at least ~3/16 window before */
  for (i = 0; i < N_POW_RING; i++) {
    if (i == pslot)
      continue;
    if (st->ppos[i] != INT64_MIN && st->ppos[i] <= a - dref
        && st->ppos[i] > best) {
      best = st->ppos[i];
      ref = i;
    }
  }
  st->ppos[pslot] = a;
  st->ref_slot[slot] = ref;
  if (ref >= 0) {
    const float *pr = st->pring[ref];
    float floor_p = ACTIVE_FLOOR * (float) n * (float) n;
    for (b = 1; b < nb; b++) {
      if (pw[b] + pr[b] > floor_p) {
        active++;
        if (pw[b] > RISE_FACTOR * pr[b])
          rose++;
      }
    }
  }
  st->df[slot] = active > 0 ? (double) rose / active : 0.0;
  st->k_next++;
}

/* Input position of the attack in the frame at @a: the block of n / 64
 * samples whose high-passed energy (first difference, summed over channels)
 * rises most over the four blocks before it, searched from a - n / 4 on. */
static int64_t
onset_position (const MusaStretch * st, int64_t a)
{
  int n = st->n, blk = n / 64, nblk = 64, C = st->channels, b, c, i;
  size_t off = (size_t) (a - n / 2 - st->in_start);
  double e[64], best = -1.0, emax = 0.0;
  int bb = nblk / 2;

  for (b = 0; b < nblk; b++) {
    double s = 0.0;
    for (c = 0; c < C; c++) {
      const float *x = st->inbuf + (size_t) c * st->incap + off
          + (size_t) b * blk;
      for (i = (b == 0 ? 1 : 0); i < blk; i++) {
        double dd = (double) x[i] - x[i - 1];
        s += dd * dd;
      }
    }
    e[b] = s;
    if (s > emax)
      emax = s;
  }
  for (b = nblk / 4; b < nblk; b++) {
    double before = (e[b - 1] + e[b - 2] + e[b - 3] + e[b - 4]) / 4.0;
    double score = e[b] / (before + 1e-3 * emax + 1e-30);
    if (e[b] >= 0.1 * emax && score > best) {
      best = score;
      bb = b;
    }
  }
  return a - n / 2 + (int64_t) bb *blk;
}

/* Synthesise the frame just analysed, overlap-add it, emit the hs finished
 * vocoder samples; then place the next analysis frame. */
static void
synthesise (MusaStretch * st)
{
  int C = st->channels, nb = st->nb, n = st->n, hs = st->hs, c, b, i;
  int64_t k = st->k_next - 1;
  int slot = (int) (((k % 3) + 3) % 3);
  int prev = (slot + 2) % 3;
  int pslot = (int) (((k % N_POW_RING) + N_POW_RING) % N_POW_RING);
  const float *P = st->pring[pslot];
  const float *Pref = st->ref_slot[slot] >= 0 ?
      st->pring[st->ref_slot[slot]] : NULL;
  int first = (k == st->kmin);
  int64_t ha = first ? 0 : st->apos[slot] - st->apos[prev];
  double d = st->df[slot];
  int transient = 0, np = 0, q;
  float *re = musa_fft_real (st->fft);
  float *Y = musa_fft_complex (st->fft);
  const float *src[8];

  /* a transient: the detection function crosses the threshold rising,
   * outside a lock */
  if (!first && d >= TRANSIENT_THRESHOLD && d > st->df[prev] && !st->locking)
    transient = 1;

  /* peaks of the summed power (two neighbours each side) */
  for (b = 2; b < nb - 2; b++) {
    float v = P[b];
    if (v > P[b - 1] && v >= P[b + 1] && v > P[b - 2] && v >= P[b + 2]
        && v > 0.0f)
      st->peaks[np++] = b;
  }

  if (np == 0) {
    /* nothing to lock to: every bin keeps its previous rotation */
    for (b = 0; b < nb; b++) {
      st->rot[2 * b] = cosf (st->theta[b]);
      st->rot[2 * b + 1] = sinf (st->theta[b]);
    }
  } else {
    int lo = 0;
    for (q = 0; q < np; q++) {
      int pk = st->peaks[q], hi, bb;
      double th;
      float cr, sr;

      /* region: up to the lowest bin between this peak and the next */
      if (q + 1 < np) {
        int nx = st->peaks[q + 1];
        float mn = P[pk];
        hi = pk;
        for (bb = pk + 1; bb < nx; bb++) {
          if (P[bb] < mn) {
            mn = P[bb];
            hi = bb;
          }
        }
      } else {
        hi = nb - 1;
      }

      if (first || ha <= 0 || (transient && Pref != NULL
              && P[pk] > RISE_FACTOR * Pref[pk])) {
        th = 0.0;
      } else {
        double sre = 0.0, sim = 0.0, dphi, expect, dev, adv;
        int64_t m;
        for (c = 0; c < C; c++) {
          const float *x = st->spec[slot] + (size_t) c * 2 * nb + 2 * pk;
          const float *y = st->spec[prev] + (size_t) c * 2 * nb + 2 * pk;
          /* x * conj (y) */
          sre += (double) x[0] * y[0] + (double) x[1] * y[1];
          sim += (double) x[1] * y[0] - (double) x[0] * y[1];
        }
        dphi = atan2 (sim, sre);
        /* expected advance 2 pi pk ha / n, reduced exactly */
        m = ((int64_t) pk * ha) % n;
        expect = 2.0 * M_PI * (double) m / n;
        dev = princarg (dphi - expect);
        /* theta += (hs - ha) * omega, omega * ha = 2 pi pk ha / n + dev */
        m = ((int64_t) pk * (hs - ha)) % n;
        if (m < 0)
          m += n;
        adv = 2.0 * M_PI * (double) m / n + dev * (double) (hs - ha) / ha;
        th = princarg ((double) st->theta[pk] + adv);
      }
      cr = (float) cos (th);
      sr = (float) sin (th);
      for (bb = lo; bb <= hi; bb++) {
        st->rot[2 * bb] = cr;
        st->rot[2 * bb + 1] = sr;
      }
      /* keep theta per bin for the next frame */
      for (bb = lo; bb <= hi; bb++)
        st->theta[bb] = (float) th;
      lo = hi + 1;
    }
  }

  for (c = 0; c < C; c++) {
    const float *x = st->spec[slot] + (size_t) c * 2 * nb;
    float *acc = st->acc + (size_t) c * n;
    for (b = 0; b < nb; b++) {
      float xr = x[2 * b], xi = x[2 * b + 1];
      float cr = st->rot[2 * b], sr = st->rot[2 * b + 1];
      Y[2 * b] = xr * cr - xi * sr;
      Y[2 * b + 1] = xr * sr + xi * cr;
    }
    musa_fft_inverse (st->fft);
    for (i = 0; i < n; i++)
      acc[i] += re[i] * st->win[i];
    /* finished: acc[0..hs) */
    for (i = 0; i < hs; i++)
      acc[i] *= st->norm[i];
    src[c] = acc;
  }
  vocoder_emit (st, src, k * hs - n / 2, (size_t) hs);
  for (c = 0; c < C; c++) {
    float *acc = st->acc + (size_t) c * n;
    memmove (acc, acc + hs, sizeof (float) * (n - hs));
    memset (acc + n - hs, 0, sizeof (float) * hs);
  }

  /* Next analysis position.  Around an attack at input o the frames
   * follow the lock grid a_i = o - o / rv + i hs: hop = synthesis hop, so
   * the frames holding the attack overlap-add as they were (phase reset +
   * no stretch = the input itself), and o lands at output o / rv, where it
   * belongs.  Elsewhere the hop tracks the nominal grid i * nom, paying back
   * what the lock took.  |a_i - i * nom| <= dev_max always. */
  if (transient) {
    st->lock_onset = (double) onset_position (st, st->apos[slot]);
    st->lock_end = (int64_t) floor ((st->lock_onset / st->rv + n / 2) / hs)
        + 1;
    st->locking = 1;
  }
  if (st->locking && k + 1 >= st->lock_end)
    st->locking = 0;
  {
    int64_t a = st->apos[slot], lo, hi, want;
    double target = target_pos (st, k + 1);
    int hop_hi = st->hop_hi;

    if (st->locking) {
      want = llround (st->lock_onset - st->lock_onset / st->rv
          + (double) (k + 1) * hs);
      if (hop_hi < hs)
        hop_hi = hs;
    } else {
      want = a + llround (0.75 * st->nom + 0.25 * (target - (double) a));
    }
    lo = a + st->hop_lo;
    hi = a + hop_hi;
    if (lo < (int64_t) ceil (target - (double) st->dev_max))
      lo = (int64_t) ceil (target - (double) st->dev_max);
    if (hi > (int64_t) floor (target + (double) st->dev_max))
      hi = (int64_t) floor (target + (double) st->dev_max);
    if (hi < lo)
      hi = lo;
    if (lo <= a)
      lo = a + 1;
    if (want < lo)
      want = lo;
    if (want > hi)
      want = hi;
    if (want <= a)
      want = a + 1;             /* frames never go backwards */
    st->a_next = want;
  }
}

/* Frames ready in the input buffer: analyse and synthesise them. */
static void
run_frames (MusaStretch * st)
{
  int C = st->channels, c;

  for (;;) {
    int64_t a = st->a_next;
    int64_t end = st->in_start + (int64_t) st->in_len;
    int64_t keep, drop;

    if (a + st->n / 2 > end)
      break;
    analyse (st);
    synthesise (st);
    keep = st->a_next - st->n / 2;
    drop = keep - st->in_start;
    if (drop > (int64_t) st->in_len)
      drop = (int64_t) st->in_len;
    if (drop > 0) {
      for (c = 0; c < C; c++) {
        float *b = st->inbuf + (size_t) c * st->incap;
        memmove (b, b + drop, sizeof (float) * (st->in_len - (size_t) drop));
      }
      st->in_len -= (size_t) drop;
      st->in_start += drop;
    }
  }
}

/* Append frames (NULL = silence), running the vocoder as frames fill. */
static void
push_input (MusaStretch * st, const float *in, size_t frames)
{
  int C = st->channels, c;
  size_t done = 0;

  while (done < frames) {
    size_t room = st->incap - st->in_len, take = frames - done, i;
    int64_t end = st->in_start + (int64_t) st->in_len;
    int64_t need = st->a_next + st->n / 2 - end;

    /* never read more than the next frame needs: keeps the buffer small */
    if (need > 0 && (int64_t) take > need)
      take = (size_t) need;
    if (take > room)
      take = room;
    for (c = 0; c < C; c++) {
      float *b = st->inbuf + (size_t) c * st->incap + st->in_len;
      if (in == NULL) {
        memset (b, 0, sizeof (float) * take);
      } else {
        const float *x = in + (done * C) + c;
        for (i = 0; i < take; i++) {
          float v = x[i * C];
          /* NaN/inf would poison the phase state for good; values below
           * -500 dBFS become 0 so that FFTs never see denormals */
          b[i] = (isfinite (v) && fabsf (v) > 1e-25f) ? v : 0.0f;
        }
      }
    }
    st->in_len += take;
    done += take;
    run_frames (st);
  }
}

int
musa_stretch_process (MusaStretch * st, const float *in, size_t in_frames,
    float *out, size_t out_cap, size_t *produced)
{
  if (produced)
    *produced = 0;
  if (st == NULL || produced == NULL || (in == NULL && in_frames > 0)
      || (out == NULL && out_cap > 0))
    return MUSA_ERR_INVALID;
  if (st->done || st->m_total >= 0)
    return MUSA_ERR_STATE;
  if (out_cap < musa_stretch_max_output (st, in_frames))
    return MUSA_ERR_INVALID;
  if (st->identity) {
    size_t i, nsamp = in_frames * (size_t) st->channels;
    for (i = 0; i < nsamp; i++)
      out[i] = in[i];
    st->n_in += (int64_t) in_frames;
    *produced = in_frames;
    return MUSA_OK;
  }
  st->out = out;
  st->out_len = 0;
  st->out_cap = out_cap;
  push_input (st, in, in_frames);
  st->n_in += (int64_t) in_frames;
  *produced = st->out_len;
  st->out = NULL;
  return MUSA_OK;
}

int
musa_stretch_finish (MusaStretch * st, float *out, size_t out_cap,
    size_t *produced)
{
  if (produced)
    *produced = 0;
  if (st == NULL || produced == NULL || (out == NULL && out_cap > 0))
    return MUSA_ERR_INVALID;
  if (st->identity || st->done) {
    /* (identity: nothing held; the stream is over all the same) */
    st->done = 1;
    return MUSA_OK;
  }
  if (out_cap < musa_stretch_max_output (st, 0))
    return MUSA_ERR_INVALID;
  if (st->m_total < 0)
    st->m_total = llround ((double) st->n_in / st->cfg.rate);
  st->out = out;
  st->out_len = 0;
  st->out_cap = out_cap;
  while (st->m_next < st->m_total && st->out_len == 0)
    push_input (st, NULL, (size_t) st->n);
  if (st->m_next >= st->m_total)
    st->done = 1;
  *produced = st->out_len;
  st->out = NULL;
  return MUSA_OK;
}
