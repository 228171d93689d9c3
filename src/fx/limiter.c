/* libmusa — effects: look-ahead peak limiter with a guaranteed ceiling.
 *
 * With D = look-ahead frames and W = D + 1:
 *   r[n]  = min (1, ceiling / max_c |x_c[n]|)         required gain
 *   m[n]  = min (r[n-W+1 .. n])                        sliding minimum
 *   e[n]  = m[n] if m[n] < e[n-1], else e[n-1] + (m[n] - e[n-1]) (1 - a_r)
 *   s[n]  = mean (e[n-W+1 .. n])                       moving average
 *   y[n]  = x[n-D] s[n]
 * e <= m, and every m[j] of the average covers frame n - D, so
 * s[n] <= r[n-D]: the delayed sample never exceeds the ceiling. The moving
 * average is summed exactly in 2^-30 fixed point (no drift), and a final
 * clamp at the ceiling guards the float rounding of the product. */
#include "fx/fx-private.h"

#define FIX_ONE ((int64_t) 1 << 30)

typedef struct
{
  int D, W;
  double ceiling, alpha_r;
  float ceil_f;
  /* audio delay line: D frames */
  float *delay;
  int dpos;
  /* sliding-minimum deque over the last W required gains */
  double *dq_val;
  int64_t *dq_idx;
  int dq_head, dq_len, dq_cap;
  int64_t n;
  /* release envelope and moving average */
  double env;
  int64_t *box;
  int bpos;
  int64_t sum;
} Lim;

static int
lim_init (MusaFx * fx, MusaError * err)
{
  Lim *s = calloc (1, sizeof (Lim));
  const MusaFxParams *p = &fx->p;
  long d;

  if (s == NULL)
    return musa_error_set (err, MUSA_ERR_NOMEM, "", "out of memory");
  fx->priv = s;
  d = lround (p->p.limiter.lookahead_ms * 1e-3 * fx->rate);
  s->D = d < 1 ? 1 : (int) d;
  s->W = s->D + 1;
  s->ceiling = musa_fx_db_to_lin (p->p.limiter.ceiling_db);
  s->ceil_f = (float) s->ceiling;
  if ((double) s->ceil_f > s->ceiling)
    s->ceil_f = nextafterf (s->ceil_f, 0.0f);
  s->alpha_r = exp (-1.0 / (p->p.limiter.release_ms * 1e-3 * fx->rate));
  s->delay = calloc ((size_t) s->D * fx->channels, sizeof (float));
  s->dq_cap = (int) musa_fx_pow2 ((size_t) s->W + 1);
  s->dq_val = calloc (s->dq_cap, sizeof (double));
  s->dq_idx = calloc (s->dq_cap, sizeof (int64_t));
  s->box = calloc (s->W, sizeof (int64_t));
  if (!s->delay || !s->dq_val || !s->dq_idx || !s->box)
    return musa_error_set (err, MUSA_ERR_NOMEM, "", "out of memory");
  fx->latency = s->D;
  fx->tail = s->D;
  return MUSA_OK;
}

static void
lim_process (MusaFx * fx, float *x, size_t frames)
{
  Lim *s = fx->priv;
  const int nc = fx->channels, D = s->D, W = s->W, mask = s->dq_cap - 1;
  const double ceiling = s->ceiling, ar = s->alpha_r;
  const float cf = s->ceil_f;
  size_t f;
  int c;

  for (f = 0; f < frames; f++, x += nc) {
    double peak = 0.0, r, m, gain;
    float *dl = s->delay + (size_t) s->dpos * nc;
    int64_t q;
    float g;

    for (c = 0; c < nc; c++) {
      double a = fabs ((double) x[c]);
      peak = a > peak ? a : peak;
    }
    r = peak > ceiling ? ceiling / peak : 1.0;

    /* sliding minimum over frames n-W+1 .. n */
    while (s->dq_len > 0 && s->dq_val[(s->dq_head + s->dq_len - 1) & mask] >= r)
      s->dq_len--;
    s->dq_val[(s->dq_head + s->dq_len) & mask] = r;
    s->dq_idx[(s->dq_head + s->dq_len) & mask] = s->n;
    s->dq_len++;
    if (s->dq_idx[s->dq_head] <= s->n - W) {
      s->dq_head = (s->dq_head + 1) & mask;
      s->dq_len--;
    }
    m = s->dq_val[s->dq_head];
    s->n++;

    if (m < s->env)
      s->env = m;
    else
      s->env += (m - s->env) * (1.0 - ar);

    q = (int64_t) (s->env * (double) FIX_ONE);  /* env > 0: floor */
    s->sum += q - s->box[s->bpos];
    s->box[s->bpos] = q;
    if (++s->bpos == W)
      s->bpos = 0;
    gain = (double) s->sum / ((double) W * (double) FIX_ONE);
    g = (float) gain;
    if ((double) g > gain)
      g = nextafterf (g, 0.0f);

    for (c = 0; c < nc; c++) {
      float y = dl[c] * g;
      dl[c] = x[c];
      x[c] = y > cf ? cf : (y < -cf ? -cf : y);
    }
    if (++s->dpos == D)
      s->dpos = 0;
  }
}

static void
lim_reset (MusaFx * fx)
{
  Lim *s = fx->priv;
  int i;

  memset (s->delay, 0, (size_t) s->D * fx->channels * sizeof (float));
  s->dpos = 0;
  s->dq_head = 0;
  s->dq_len = 0;
  s->n = 0;
  s->env = 1.0;
  for (i = 0; i < s->W; i++)
    s->box[i] = FIX_ONE;
  s->bpos = 0;
  s->sum = (int64_t) s->W * FIX_ONE;
}

static void
lim_clear (MusaFx * fx)
{
  Lim *s = fx->priv;

  free (s->delay);
  free (s->dq_val);
  free (s->dq_idx);
  free (s->box);
  free (s);
  fx->priv = NULL;
}

const MusaFxClass musa_fx_limiter_class = {
  lim_init, lim_process, lim_reset, lim_clear
};
