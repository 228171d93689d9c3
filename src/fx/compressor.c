/* libmusa — effects: feed-forward compressor in the log domain, after
 * Giannoulis, Massberg and Reiss, "Digital dynamic range compressor design —
 * a tutorial and analysis", JAES 60(6), 2012: linked peak detection, soft
 * knee gain computer, branching (attack/release) smoothing of the gain. */
#include "fx/fx-private.h"

typedef struct
{
  double T, R, W, makeup;
  double alpha_a, alpha_r;
  double below;                 /* linear level under which the gain is 0 dB */
  double gs;                    /* smoothed gain reduction in dB (<= 0) */
} Comp;

static int
comp_init (MusaFx * fx, MusaError * err)
{
  Comp *s = calloc (1, sizeof (Comp));
  const MusaFxParams *p = &fx->p;

  if (s == NULL)
    return musa_error_set (err, MUSA_ERR_NOMEM, "", "out of memory");
  s->T = p->p.compressor.threshold_db;
  s->R = p->p.compressor.ratio;
  s->W = p->p.compressor.knee_db;
  s->makeup = p->p.compressor.makeup_db;
  s->alpha_a = exp (-1.0 / (p->p.compressor.attack_ms * 1e-3 * fx->rate));
  s->alpha_r = exp (-1.0 / (p->p.compressor.release_ms * 1e-3 * fx->rate));
  s->below = musa_fx_db_to_lin (s->T - s->W / 2.0);
  fx->priv = s;
  return MUSA_OK;
}

/* Static gain reduction (dB, <= 0) for an input level xdb. */
static inline double
gain_computer (const Comp * s, double xdb)
{
  double d = xdb - s->T;

  if (2.0 * d < -s->W)
    return 0.0;
  if (2.0 * d <= s->W) {
    double k = d + s->W / 2.0;
    return (1.0 / s->R - 1.0) * k * k / (2.0 * s->W);
  }
  return (1.0 / s->R - 1.0) * d;
}

static void
comp_process (MusaFx * fx, float *x, size_t frames)
{
  Comp *s = fx->priv;
  const int nc = fx->channels;
  const double aa = s->alpha_a, ar = s->alpha_r, below = s->below;
  const double makeup = s->makeup;
  const float unity = (float) musa_fx_db_to_lin (makeup);
  double gs = s->gs;
  size_t f;
  int c;

  for (f = 0; f < frames; f++, x += nc) {
    double peak = 0.0, gc;
    float g;
    for (c = 0; c < nc; c++) {
      double a = fabs ((double) x[c]);
      peak = a > peak ? a : peak;
    }
    gc = peak > below ? gain_computer (s, 20.0 * log10 (peak)) : 0.0;
    if (gc < gs)
      gs = aa * gs + (1.0 - aa) * gc;
    else
      gs = ar * gs + (1.0 - ar) * gc;
    if (gs > -1e-9)
      gs = 0.0;
    g = gs == 0.0 ? unity : (float) pow (10.0, (gs + makeup) / 20.0);
    for (c = 0; c < nc; c++)
      x[c] *= g;
  }
  s->gs = gs;
}

static void
comp_reset (MusaFx * fx)
{
  Comp *s = fx->priv;

  s->gs = 0.0;
}

static void
comp_clear (MusaFx * fx)
{
  free (fx->priv);
  fx->priv = NULL;
}

const MusaFxClass musa_fx_compressor_class = {
  comp_init, comp_process, comp_reset, comp_clear
};
