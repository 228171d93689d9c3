/* libmusa — effects: reverb, an 8-line feedback delay network.
 *
 * Input: mean of the channels -> pre-delay -> two Schroeder all-passes
 * (diffusion). Tank: 8 delay lines (lengths scaled by the room size), each
 * with a one-pole low-pass (damping) and a gain setting the low-frequency
 * RT60 = 0.2 s * 20^room_size, mixed by an 8x8 Hadamard matrix / sqrt(8)
 * (orthogonal, lossless). Output channel c taps the lines with row c+1 of
 * the Hadamard matrix (orthogonal rows: decorrelated channels, none
 * favoured). Stored values below 1e-20 are flushed to 0 (no denormals). */
#include "fx/fx-private.h"

#define N_LINES 8
#define N_AP 2

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
  float *line[N_LINES];
  size_t len[N_LINES], mask[N_LINES];
  size_t w;                     /* write counter */
  float g[N_LINES];
  float lp[N_LINES];
  float damp;                   /* one-pole coefficient */
  float in_gain;                /* 1/n_channels */
  float out_gain;               /* wet normalisation */
  float a, b;                   /* dry / wet weights */
  float tap[8][N_LINES];        /* output signs per channel */
} Reverb;

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
  double rt60 = 0.2 * pow (20.0, room), fc, g2 = 0.0;
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
    s->mask[i] = musa_fx_pow2 (n + 1) - 1;
    s->line[i] = calloc (s->mask[i] + 1, sizeof (float));
    if (!s->line[i])
      return musa_error_set (err, MUSA_ERR_NOMEM, "", "out of memory");
    s->g[i] = (float) pow (10.0, -3.0 * (double) n / (rt60 * fx->rate));
    g2 += (double) s->g[i] * s->g[i] / N_LINES;
    if (n > maxlen)
      maxlen = n;
  }
  /* damping: loop low-pass corner from 20 kHz (damping 0) down to 625 Hz
   * (damping 1), five octaves */
  fc = 20000.0 * pow (2.0, -5.0 * p->p.reverb.damping);
  if (fc > 0.45 * fx->rate)
    fc = 0.45 * fx->rate;
  s->damp = (float) exp (-2.0 * M_PI * fc / fx->rate);
  s->in_gain = 1.0f / (float) fx->channels;
  /* white input of power P gives about P / (1 - g^2) in the tank; each
   * output tap sums 8 lines / sqrt(8) */
  s->out_gain = (float) sqrt ((1.0 - g2) / N_LINES);
  musa_fx_equal_power (p->p.reverb.wet, &s->a, &s->b);
  for (i = 0; i < 8; i++) {
    int c;
    for (c = 0; c < N_LINES; c++)
      s->tap[i][c] = hsign ((i + 1) & (N_LINES - 1), c);
  }
  fx->tail = (int64_t) s->pre_len + s->ap_len[0] + s->ap_len[1]
      + (int64_t) ceil (rt60 * fx->rate) + (int64_t) maxlen;
  return MUSA_OK;
}

static void
reverb_process (MusaFx * fx, float *x, size_t frames)
{
  Reverb *s = fx->priv;
  const int nc = fx->channels;
  const float damp = s->damp, a = s->a, b = s->b * s->out_gain;
  const float hs = 0.35355339059327373f;        /* 1/sqrt(8) */
  size_t f;
  int c, i;

  for (f = 0; f < frames; f++, x += nc) {
    float in = 0.0f, v[N_LINES], u[N_LINES];

    for (c = 0; c < nc; c++)
      in += x[c];
    in *= s->in_gain;

    if (s->pre_len > 0) {
      float d = s->pre[s->pre_pos];
      s->pre[s->pre_pos] = in;
      if (++s->pre_pos == s->pre_len)
        s->pre_pos = 0;
      in = d;
    }
    for (i = 0; i < N_AP; i++) {
      float d = s->ap[i][s->ap_pos[i]];
      float t = musa_fx_flushf (in + AP_GAIN * d);
      s->ap[i][s->ap_pos[i]] = t;
      if (++s->ap_pos[i] == s->ap_len[i])
        s->ap_pos[i] = 0;
      in = d - AP_GAIN * t;
    }

    for (i = 0; i < N_LINES; i++) {
      float r = s->line[i][(s->w - s->len[i]) & s->mask[i]];
      v[i] = r;
      s->lp[i] = musa_fx_flushf (r + damp * (s->lp[i] - r));
      u[i] = s->lp[i] * s->g[i];
    }
    /* fast Walsh-Hadamard transform, natural (Sylvester) order */
    for (i = 0; i < N_LINES; i += 2) {
      float p0 = u[i], p1 = u[i + 1];
      u[i] = p0 + p1;
      u[i + 1] = p0 - p1;
    }
    for (i = 0; i < N_LINES; i += 4) {
      float p0 = u[i], p1 = u[i + 1], p2 = u[i + 2], p3 = u[i + 3];
      u[i] = p0 + p2;
      u[i + 1] = p1 + p3;
      u[i + 2] = p0 - p2;
      u[i + 3] = p1 - p3;
    }
    for (i = 0; i < 4; i++) {
      float p0 = u[i], p1 = u[i + 4];
      u[i] = p0 + p1;
      u[i + 4] = p0 - p1;
    }
    for (i = 0; i < N_LINES; i++)
      s->line[i][s->w & s->mask[i]] = musa_fx_flushf (u[i] * hs + in * hs);
    s->w++;

    for (c = 0; c < nc; c++) {
      const float *t = s->tap[c];
      float o = 0.0f;
      for (i = 0; i < N_LINES; i++)
        o += t[i] * v[i];
      x[c] = a * x[c] + b * o;
    }
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
  for (i = 0; i < N_LINES; i++) {
    memset (s->line[i], 0, (s->mask[i] + 1) * sizeof (float));
    s->lp[i] = 0.0f;
  }
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
  for (i = 0; i < N_LINES; i++)
    free (s->line[i]);
  free (s);
  fx->priv = NULL;
}

const MusaFxClass musa_fx_reverb_class = {
  reverb_init, reverb_process, reverb_reset_fx, reverb_clear
};
