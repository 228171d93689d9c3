/* libmusa — effects: feed-forward compressor in the log domain, after
 * Giannoulis, Massberg and Reiss, "Digital dynamic range compressor design —
 * a tutorial and analysis", JAES 60(6), 2012: linked peak detection, soft
 * knee gain computer, branching (attack/release) smoothing of the gain. */
#include "fx/fx-private.h"

/* 20 log10 (2) and its inverse */
#define DB_PER_LOG2 6.020599913279624
#define LOG2_PER_DB 0.16609640474436813
/* the time constant of auto makeup's mean gain reduction */
#define AUTO_SECONDS 2.0

typedef struct
{
  double T, R, W, makeup, auto_share;
  double alpha_a, alpha_r, alpha_auto;
  double slope, inv_2w;         /* 1/R - 1, 1/(2W) (0 without a knee) */
  double gs;                    /* smoothed gain reduction in dB (<= 0) */
  double ga_num, ga_den;        /* its 2 s mean weighted by the detected
                                 * power (sum of p gs, sum of p), for auto
                                 * makeup: the louder parts, which carry
                                 * the level, weigh more */
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
  s->auto_share = p->p.compressor.auto_makeup;
  s->alpha_auto = exp (-1.0 / (AUTO_SECONDS * fx->rate));
  s->alpha_a = exp (-1.0 / (p->p.compressor.attack_ms * 1e-3 * fx->rate));
  s->alpha_r = exp (-1.0 / (p->p.compressor.release_ms * 1e-3 * fx->rate));
  s->slope = 1.0 / s->R - 1.0;
  s->inv_2w = s->W > 0.0 ? 1.0 / (2.0 * s->W) : 0.0;
  fx->priv = s;
  return MUSA_OK;
}

#define BLOCK 256

/* Three passes per block of frames: level and static gain (vectorised, no
 * state), the attack/release recursion (the only loop-carried part), then
 * the linear gain (vectorised). The gain computer is written with selects:
 * levels cross the knee all the time. */
static void
comp_process (MusaFx * fx, float *x, size_t frames)
{
  Comp *s = fx->priv;
  const int nc = fx->channels;
  const double aa = s->alpha_a, ar = s->alpha_r;
  const double ba = 1.0 - aa, br = 1.0 - ar;
  const float T = (float) s->T, W = (float) s->W, hw = 0.5f * (float) s->W;
  const float slope = (float) s->slope, inv_2w = (float) s->inv_2w;
  const float makeup = (float) s->makeup;
  float gc[BLOCK], gl[BLOCK], pw[BLOCK], gn[BLOCK], gd[BLOCK];
  double gs = s->gs, ga_num = s->ga_num, ga_den = s->ga_den;
  const double au = s->alpha_auto, bu = 1.0 - s->alpha_auto;
  const double share = s->auto_share;
  const float sh = (float) s->auto_share;
  size_t done;

  for (done = 0; done < frames; done += BLOCK) {
    size_t len = frames - done < BLOCK ? frames - done : BLOCK, f, n8;
    float *y = x + done * nc;
    int c;

    /* trip counts in multiples of 8 (padded with silence) let the
     * compiler vectorise at -O2 */
    n8 = (len + 7) & ~(size_t) 7;
    if (nc == 2) {
      for (f = 0; f < len; f++) {
        float a = fabsf (y[2 * f]), b = fabsf (y[2 * f + 1]);
        gc[f] = a > b ? a : b;
      }
    } else {
      for (f = 0; f < len; f++) {
        float peak = fabsf (y[f * nc]);
        for (c = 1; c < nc; c++) {
          float a = fabsf (y[f * nc + c]);
          peak = a > peak ? a : peak;
        }
        gc[f] = peak;
      }
    }
    for (f = len; f < n8; f++)
      gc[f] = 0.0f;
    /* (levels clamped at 1e6, +120 dBFS: the squares stay finite; one
     * sample of 1e20 made them infinite, and every later gain NaN) */
    if (share > 0.0)
      for (f = 0; f < len; f++) {
        float g = gc[f] < 1e6f ? gc[f] : 1e6f;
        pw[f] = g * g;
      }
    for (f = 0; f < n8; f++) {
      /* log2 (0) comes out near -127: far below any threshold */
      float d = (float) DB_PER_LOG2 * musa_fx_log2f (gc[f]) - T, k, knee,
          above, r;
      int32_t in_knee, active;
      k = d + hw;
      knee = slope * k * k * inv_2w;
      above = slope * d;
      /* selects as arithmetic on 0/1 ints (vectorises without
       * -ffast-math, unlike ?: on floats) */
      in_knee = 2.0f * d <= W;
      active = 2.0f * d >= -W;
      r = above + (float) in_knee *(knee - above);
      gc[f] = r * (float) active;
    }
    for (f = 0; f < len; f++) {
      /* 1 - al selected alongside al (precomputed: same values, off
       * the loop-carried path) */
      int att = gc[f] < gs;
      double al = att ? aa : ar, bl = att ? ba : br;
      gs = al * gs + bl * gc[f];
      gs = gs > -1e-9 ? 0.0 : gs;
      /* >= -700 dB keeps exp2f's argument in range even for absurd input
       * levels (float audio peaks at 770 dBFS) */
      gs = gs < -700.0 ? -700.0 : gs;
      gl[f] = (float) gs;
    }
    if (share > 0.0) {
      /* auto makeup gives back a share of the mean reduction: the
       * means frame by frame (loop-carried), the ratio vectorised */
      for (f = 0; f < len; f++) {
        ga_num = au * ga_num + bu * (double) pw[f] * (double) gl[f];
        ga_den = au * ga_den + bu * (double) pw[f];
        /* (denominators below 1e-30: silence for a long while, nothing
         * to give back; both go to 0 rather than subnormal) */
        if (ga_den < 1e-30)
          ga_num = ga_den = 0.0;
        ga_num = ga_num > -1e-200 ? 0.0 : ga_num;       /* long at gs 0 */
        gn[f] = (float) ga_num;
        gd[f] = (float) ga_den;
      }
      for (f = 0; f < len; f++) {
        int32_t live = gd[f] > 0.0f;
        float d = musa_fx_select_f (live, gd[f], 1.0f);
        gl[f] -= sh * (gn[f] / d);
      }
    }
    for (f = len; f < n8; f++)
      gl[f] = 0.0f;
    for (f = 0; f < n8; f++)
      gl[f] = musa_fx_exp2f ((gl[f] + makeup) * (float) LOG2_PER_DB);
    if (nc == 2) {
      for (f = 0; f < len; f++) {
        y[2 * f] *= gl[f];
        y[2 * f + 1] *= gl[f];
      }
    } else {
      for (f = 0; f < len; f++)
        for (c = 0; c < nc; c++)
          y[f * nc + c] *= gl[f];
    }
  }
  s->gs = gs;
  s->ga_num = ga_num;
  s->ga_den = ga_den;
}

static void
comp_reset (MusaFx * fx)
{
  Comp *s = fx->priv;

  s->gs = 0.0;
  s->ga_num = 0.0;
  s->ga_den = 0.0;
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
