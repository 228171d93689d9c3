/* libmusa — effects: reverb, an 8-line feedback delay network.
 *
 * Input: mean of the channels -> pre-delay -> two Schroeder all-passes
 * (diffusion). Tank: 8 delay lines (lengths scaled by the room size), each
 * with a one-pole low-pass (damping) and a gain setting the low-frequency
 * RT60 = 0.2 s * 20^room_size, mixed by an 8x8 Hadamard matrix / sqrt(8)
 * (orthogonal, lossless). Output channel c taps the lines with row c+1 of
 * the Hadamard matrix (orthogonal rows: decorrelated channels, none
 * favoured). */
#include "fx/fx-private.h"

#define N_LINES 8
#define N_AP 2
#define BLOCK 64                /* a multiple of 4 */

/* ms at room_size 0.5 (scaled by 0.5 + room_size) */
static const double line_ms[N_LINES] = {
  29.71, 37.11, 41.13, 43.67, 53.33, 59.91, 67.93, 73.07
};

static const double ap_ms[N_AP] = { 4.77, 3.59 };

#define AP_GAIN 0.6f

typedef struct
{
  /* pre-delay on the mono input */
  float *pre;
  size_t pre_len, pre_pos;
  /* diffusion all-passes */
  float *ap[N_AP];
  size_t ap_len[N_AP], ap_pos[N_AP];
  /* tank */
  float *lines;                 /* N_LINES rings of size, one block */
  size_t size, mask;
  size_t len[N_LINES];
  size_t w;                     /* write counter */
  float g[N_LINES];
  float lp[N_LINES];
  float damp;                   /* one-pole coefficient */
  float in_gain;                /* 1/n_channels */
  float out_gain;               /* wet normalisation */
  float a, b;                   /* dry / wet weights */
  float tap[8][N_LINES];        /* output signs per channel */
  size_t block;                 /* <= BLOCK, every line and all-pass length */
  /* block work space (finite values beyond the block's end are harmless:
   * loops run to a multiple of 4 so that they vectorise) */
  float in[BLOCK], v[N_LINES][BLOCK], u[N_LINES][BLOCK], o[BLOCK];
} Reverb;

/* All-pass state update, flushed below 1e-20 without a branch. */
static inline float
in_ap (float x, float d)
{
  float v = x + AP_GAIN * d;
  int32_t keep = v >= MUSA_FX_FLUSH_F, keep_neg = v <= -MUSA_FX_FLUSH_F;

  return v * (float) (keep | keep_neg);
}

/* Sign of entry (r, c) of the 8x8 Sylvester-Hadamard matrix. */
static inline float
hsign (int r, int c)
{
  return (__builtin_popcount (r & c) & 1) ? -1.0f : 1.0f;
}

static int
reverb_init (MusaFx * fx, MusaError * err)
{
  Reverb *s = calloc (1, sizeof (Reverb));
  const MusaFxParams *p = &fx->p;
  double room = p->p.reverb.room_size, scale = 0.5 + room;
  double rt60 = 0.2 * pow (20.0, room), fc;
  size_t maxlen = 0;
  int i;

  if (s == NULL)
    return musa_error_set (err, MUSA_ERR_NOMEM, "", "out of memory");
  fx->priv = s;
  s->pre_len = (size_t) lround (p->p.reverb.predelay_ms * 1e-3 * fx->rate);
  if (s->pre_len > 0) {
    s->pre = calloc (s->pre_len, sizeof (float));
    if (!s->pre)
      return musa_error_set (err, MUSA_ERR_NOMEM, "", "out of memory");
  }
  for (i = 0; i < N_AP; i++) {
    s->ap_len[i] = (size_t) lround (ap_ms[i] * 1e-3 * fx->rate);
    if (s->ap_len[i] < 1)
      s->ap_len[i] = 1;
    s->ap[i] = calloc (s->ap_len[i], sizeof (float));
    if (!s->ap[i])
      return musa_error_set (err, MUSA_ERR_NOMEM, "", "out of memory");
  }
  for (i = 0; i < N_LINES; i++) {
    size_t n = (size_t) lround (line_ms[i] * scale * 1e-3 * fx->rate);
    if (n < 2)
      n = 2;
    s->len[i] = n;
    if (n > maxlen)
      maxlen = n;
  }
  s->size = musa_fx_pow2 (maxlen + 1);
  s->mask = s->size - 1;
  s->lines = calloc (s->size * N_LINES, sizeof (float));
  if (!s->lines)
    return musa_error_set (err, MUSA_ERR_NOMEM, "", "out of memory");
  for (i = 0; i < N_LINES; i++) {
    size_t n = s->len[i];
    s->g[i] = (float) pow (10.0, -3.0 * (double) n / (rt60 * fx->rate));
  }
  /* damping: loop low-pass corner from 20 kHz (damping 0) down to 625 Hz
   * (damping 1), five octaves */
  fc = 20000.0 * pow (2.0, -5.0 * p->p.reverb.damping);
  if (fc > 0.45 * fx->rate)
    fc = 0.45 * fx->rate;
  s->damp = (float) exp (-2.0 * M_PI * fc / fx->rate);
  s->in_gain = 1.0f / (float) fx->channels;
  /* wet level: white input of power P puts P/8 into each line; at
   * frequency w a line then carries (P/8) / (1 - g^2 |H(w)|^2) (H the
   * damping low-pass), and a tap sums 8 lines with signs: out_gain makes
   * the wet power equal P for white input */
  {
    double e = 0.0, dd = s->damp;
    int k;
    for (k = 0; k < 256; k++) {
      double w = M_PI * (k + 0.5) / 256.0;
      double h2 =
          (1.0 - dd) * (1.0 - dd) / (1.0 - 2.0 * dd * cos (w) + dd * dd);
      for (i = 0; i < N_LINES; i++)
        e += 1.0 / (1.0 - (double) s->g[i] * s->g[i] * h2);
    }
    e /= 256.0 * N_LINES;
    s->out_gain = (float) (1.0 / sqrt (e));
  }
  musa_fx_equal_power (p->p.reverb.wet, &s->a, &s->b);
  for (i = 0; i < 8; i++) {
    int c;
    for (c = 0; c < N_LINES; c++)
      s->tap[i][c] = hsign ((i + 1) & (N_LINES - 1), c);
  }
  s->block = BLOCK;
  for (i = 0; i < N_LINES; i++)
    s->block = s->len[i] < s->block ? s->len[i] : s->block;
  for (i = 0; i < N_AP; i++)
    s->block = s->ap_len[i] < s->block ? s->ap_len[i] : s->block;
  fx->tail = (int64_t) s->pre_len + s->ap_len[0] + s->ap_len[1]
      + (int64_t) ceil (rt60 * fx->rate) + (int64_t) maxlen;
  return MUSA_OK;
}

/* Processed in blocks no longer than any delay line or all-pass: within a
 * block every value read from a ring was written before the block, so the
 * reads, the Hadamard mixing, the writes and the output taps run across the
 * block (vectorised); only the damping low-passes recur sample by sample.
 * Values stored in the rings are flushed below 1e-20 (the low-pass states
 * then fall to exactly 0 in a few samples of silence). */
static void
reverb_process (MusaFx * fx, float *x, size_t frames)
{
  Reverb *s = fx->priv;
  const int nc = fx->channels;
  const float damp = s->damp, undamp = 1.0f - s->damp;
  const float a = s->a, b = s->b * s->out_gain, in_gain = s->in_gain;
  const float hs = 0.35355339059327373f;        /* 1/sqrt(8) */
  const size_t mask = s->mask, size = s->size;
  float *lines = s->lines;
  float *in = s->in, (*v)[BLOCK] = s->v, (*u)[BLOCK] = s->u, *o = s->o;
  size_t done = 0;

  while (done < frames) {
    /* blocks end at multiples of s->block frames of the stream (the
     * low-pass flush below happens at the same frames whatever the
     * buffer sizes) */
    size_t L = s->block - s->w % s->block, t, L4;
    float *y = x + done * nc;
    int c, i;

    if (L > frames - done)
      L = frames - done;
    L4 = (L + 3) & ~(size_t) 3;
    /* mono input, pre-delay */
    if (nc == 2) {
      for (t = 0; t < L; t++)
        in[t] = (y[2 * t] + y[2 * t + 1]) * in_gain;
    } else {
      for (t = 0; t < L; t++) {
        float m = 0.0f;
        for (c = 0; c < nc; c++)
          m += y[t * nc + c];
        in[t] = m * in_gain;
      }
    }
    if (s->pre_len > 0) {
      /* in two contiguous runs when the block fits in the ring */
      size_t pos = s->pre_pos, n = s->pre_len;
      if (L <= n) {
        size_t n1 = n - pos < L ? n - pos : L;
        float *tmp = s->o;      /* free until the output taps */
        memcpy (tmp, s->pre + pos, n1 * sizeof (float));
        memcpy (tmp + n1, s->pre, (L - n1) * sizeof (float));
        memcpy (s->pre + pos, in, n1 * sizeof (float));
        memcpy (s->pre, in + n1, (L - n1) * sizeof (float));
        memcpy (in, tmp, L * sizeof (float));
        pos = (pos + L) % n;
      } else {
        for (t = 0; t < L; t++) {
          float d = s->pre[pos];
          s->pre[pos] = in[t];
          in[t] = d;
          if (++pos == n)
            pos = 0;
        }
      }
      s->pre_pos = pos;
    }
    /* diffusion all-passes (L <= their lengths: every read precedes the
     * block's writes), in two contiguous runs */
    for (i = 0; i < N_AP; i++) {
      float *ap = s->ap[i];
      size_t pos = s->ap_pos[i], n = s->ap_len[i], r;
      size_t n1 = n - pos < L ? n - pos : L;
      for (r = 0; r < 2; r++) {
        float *seg = r == 0 ? ap + pos : ap;
        float *io = r == 0 ? in : in + n1;
        size_t m = r == 0 ? n1 : L - n1;
        for (t = 0; t < m; t++) {
          float d = seg[t];
          float tv = in_ap (io[t], d);
          seg[t] = tv;
          io[t] = d - AP_GAIN * tv;
        }
      }
      s->ap_pos[i] = (pos + L) % n;
    }

    /* line outputs (written at least L frames ago) */
    for (i = 0; i < N_LINES; i++) {
      const float *ln = lines + i * size;
      size_t r = (s->w - s->len[i]) & mask, n1 = size - r < L ? size - r : L;
      memcpy (v[i], ln + r, n1 * sizeof (float));
      memcpy (v[i] + n1, ln, (L - n1) * sizeof (float));
    }
    /* damping low-passes and decay gains: the only recursion */
    {
      float lp[N_LINES], g[N_LINES];
      for (i = 0; i < N_LINES; i++) {
        lp[i] = s->lp[i];
        g[i] = s->g[i];
      }
      {
        /* eight named states: they stay in registers */
        float l0 = lp[0], l1 = lp[1], l2 = lp[2], l3 = lp[3], l4 = lp[4],
            l5 = lp[5], l6 = lp[6], l7 = lp[7];
        for (t = 0; t < L; t++) {
#define LP(k) do { \
            l##k = undamp * v[k][t] + damp * l##k; \
            u[k][t] = l##k * g[k]; \
          } while (0)
          LP (0);
          LP (1);
          LP (2);
          LP (3);
          LP (4);
          LP (5);
          LP (6);
          LP (7);
#undef LP
        }
        lp[0] = l0;
        lp[1] = l1;
        lp[2] = l2;
        lp[3] = l3;
        lp[4] = l4;
        lp[5] = l5;
        lp[6] = l6;
        lp[7] = l7;
      }
      for (i = 0; i < N_LINES; i++)
        s->lp[i] = (s->w + L) % s->block == 0 ? musa_fx_flushf (lp[i]) : lp[i];
    }
    /* Hadamard mixing (fast Walsh-Hadamard, Sylvester order) / sqrt(8),
     * plus the input, across the block */
    for (t = 0; t < L4; t++) {
      float p0 = u[0][t] + u[1][t], p1 = u[0][t] - u[1][t];
      float p2 = u[2][t] + u[3][t], p3 = u[2][t] - u[3][t];
      float p4 = u[4][t] + u[5][t], p5 = u[4][t] - u[5][t];
      float p6 = u[6][t] + u[7][t], p7 = u[6][t] - u[7][t];
      float q0 = p0 + p2, q1 = p1 + p3, q2 = p0 - p2, q3 = p1 - p3;
      float q4 = p4 + p6, q5 = p5 + p7, q6 = p4 - p6, q7 = p5 - p7;
      float e = in[t] * hs;
      u[0][t] = (q0 + q4) * hs + e;
      u[1][t] = (q1 + q5) * hs + e;
      u[2][t] = (q2 + q6) * hs + e;
      u[3][t] = (q3 + q7) * hs + e;
      u[4][t] = (q0 - q4) * hs + e;
      u[5][t] = (q1 - q5) * hs + e;
      u[6][t] = (q2 - q6) * hs + e;
      u[7][t] = (q3 - q7) * hs + e;
    }
    for (i = 0; i < N_LINES; i++) {
      float *ln = lines + i * size;
      size_t wp = s->w & mask, n1 = size - wp < L ? size - wp : L;
      for (t = 0; t < L4; t++) {
        float z = u[i][t];
        int32_t keep = z >= MUSA_FX_FLUSH_F;
        int32_t keep_neg = z <= -MUSA_FX_FLUSH_F;
        u[i][t] = z * (float) (keep | keep_neg);
      }
      memcpy (ln + wp, u[i], n1 * sizeof (float));
      memcpy (ln, u[i] + n1, (L - n1) * sizeof (float));
    }
    s->w += L;

    /* output taps: orthogonal sign rows per channel */
    for (c = 0; c < nc; c++) {
      const float t0 = s->tap[c][0], t1 = s->tap[c][1], t2 = s->tap[c][2],
          t3 = s->tap[c][3], t4 = s->tap[c][4], t5 = s->tap[c][5],
          t6 = s->tap[c][6], t7 = s->tap[c][7];
      for (t = 0; t < L4; t++)
        o[t] = b * (t0 * v[0][t] + t1 * v[1][t] + t2 * v[2][t]
            + t3 * v[3][t] + t4 * v[4][t] + t5 * v[5][t]
            + t6 * v[6][t] + t7 * v[7][t]);
      for (t = 0; t < L; t++)
        y[t * nc + c] = a * y[t * nc + c] + o[t];
    }
    done += L;
  }
}

static void
reverb_reset_fx (MusaFx * fx)
{
  Reverb *s = fx->priv;
  int i;

  if (s->pre)
    memset (s->pre, 0, s->pre_len * sizeof (float));
  s->pre_pos = 0;
  for (i = 0; i < N_AP; i++) {
    memset (s->ap[i], 0, s->ap_len[i] * sizeof (float));
    s->ap_pos[i] = 0;
  }
  memset (s->lines, 0, s->size * N_LINES * sizeof (float));
  for (i = 0; i < N_LINES; i++)
    s->lp[i] = 0.0f;
  s->w = 0;
}

static void
reverb_clear (MusaFx * fx)
{
  Reverb *s = fx->priv;
  int i;

  free (s->pre);
  for (i = 0; i < N_AP; i++)
    free (s->ap[i]);
  free (s->lines);
  free (s);
  fx->priv = NULL;
}

const MusaFxClass musa_fx_reverb_class = {
  reverb_init, reverb_process, reverb_reset_fx, reverb_clear
};
