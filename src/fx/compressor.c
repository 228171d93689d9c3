/* libmusa — effects: feed-forward compressor in the log domain, after
 * Giannoulis, Massberg and Reiss, "Digital dynamic range compressor design —
 * a tutorial and analysis", JAES 60(6), 2012: linked peak detection, soft
 * knee gain computer, branching (attack/release) smoothing of the gain. */
#include "fx/fx-private.h"

/* 20 log10 (2) and its inverse */
#define DB_PER_LOG2 6.020599913279624
#define LOG2_PER_DB 0.16609640474436813

typedef struct
{
  double T, R, W, makeup;
  double alpha_a, alpha_r;
  double slope, inv_2w;         /* 1/R - 1, 1/(2W) (0 without a knee) */
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
  s->slope = 1.0 / s->R - 1.0;
  s->inv_2w = s->W > 0.0 ? 1.0 / (2.0 * s->W) : 0.0;
  fx->priv = s;
  return MUSA_OK;
}

/* Static gain reduction (dB, <= 0) for an input level xdb, written with
 * selects rather than branches (levels cross the knee all the time). */
static inline double
gain_computer (const Comp * s, double xdb)
{
  double d = xdb - s->T, k = d + 0.5 * s->W;
  double knee = s->slope * k * k * s->inv_2w, above = s->slope * d;
  double y = 2.0 * d <= s->W ? knee : above;

  return 2.0 * d < -s->W ? 0.0 : y;
}

static void
comp_process (MusaFx * fx, float *x, size_t frames)
{
  Comp *s = fx->priv;
  const int nc = fx->channels;
  const double aa = s->alpha_a, ar = s->alpha_r;
  const double makeup = s->makeup;
  double gs = s->gs;
  size_t f;
  int c;

  for (f = 0; f < frames; f++, x += nc) {
    double peak = 0.0, gc, al;
    float g;
    for (c = 0; c < nc; c++) {
      double a = fabs ((double) x[c]);
      peak = a > peak ? a : peak;
    }
    /* log2 (0) comes out as -1023: far below any threshold */
    gc = gain_computer (s, DB_PER_LOG2 * musa_fx_log2 (peak));
    al = gc < gs ? aa : ar;
    gs = al * gs + (1.0 - al) * gc;
    gs = gs > -1e-9 ? 0.0 : gs;
    g = (float) musa_fx_exp2 ((gs + makeup) * LOG2_PER_DB);
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
