/* libmusa — effects: distortion (tanh drive, hard clip, bit-crush) with a
 * dry/wet mix, the wet path level-compensated (divided by the drive).
 * Memoryless: processed in blocks through a dry copy. */
#include "fx/fx-private.h"

#include "musa-fx-orc.h"

#define BLOCK 1024              /* samples, a multiple of 4 */

typedef struct
{
  float g, mix, dry, steps, inv_steps;
  float buf[BLOCK], wet[BLOCK];
} Dist;

/* tanh from Lambert's continued fraction (7th order rational), clamped
 * at |x| = 4.97 where it meets 1: within 1e-4 of tanh everywhere. */
static inline float
fast_tanh (float x)
{
  float x2, n, d;
  int32_t hi = x > 4.97f, lo = x < -4.97f;

  x = musa_fx_select_f (hi, 4.97f, x);
  x = musa_fx_select_f (lo, -4.97f, x);
  x2 = x * x;
  n = x * (135135.0f + x2 * (17325.0f + x2 * (378.0f + x2)));
  d = 135135.0f + x2 * (62370.0f + x2 * (3150.0f + x2 * 28.0f));
  x = n / d;
  hi = x > 1.0f;
  lo = x < -1.0f;
  x = musa_fx_select_f (hi, 1.0f, x);
  return musa_fx_select_f (lo, -1.0f, x);
}

static int
dist_init (MusaFx * fx, MusaError * err)
{
  Dist *s = calloc (1, sizeof (Dist));
  const MusaFxParams *p = &fx->p;

  if (s == NULL)
    return musa_error_set (err, MUSA_ERR_NOMEM, "", "out of memory");
  s->g = (float) musa_fx_db_to_lin (p->p.distortion.drive_db);
  /* the wet path at unity gain for small signals (a saturator's output
   * level): the drive saturates the louder parts instead of raising the
   * level (uncompensated, tanh at 17-23 dB of drive and mix 0.2-0.4 raised
   * music 7-8 dB, and clipping below full scale was a plain gain) */
  s->mix = (float) (p->p.distortion.mix / musa_fx_db_to_lin
      (p->p.distortion.drive_db));
  s->dry = (float) (1.0 - p->p.distortion.mix);
  if (p->p.distortion.mode == MUSA_DIST_BITCRUSH) {
    s->steps = (float) ldexp (1.0, p->p.distortion.bits - 1);
    s->inv_steps = 1.0f / s->steps;
  }
  fx->priv = s;
  return MUSA_OK;
}

static void
dist_process (MusaFx * fx, float *x, size_t frames)
{
  Dist *s = fx->priv;
  MusaDistMode mode = fx->p.p.distortion.mode;
  const float g = s->g, steps = s->steps, inv = s->inv_steps;
  float *dry = s->buf, *wet = s->wet;
  size_t n = frames * (size_t) fx->channels, done, i;

  for (done = 0; done < n; done += BLOCK) {
    size_t len = n - done < BLOCK ? n - done : BLOCK;
    /* the wet loops run to a multiple of 4 (vectorised), on copies */
    size_t len4 = (len + 3) & ~(size_t) 3;
    float *y = x + done;
    memcpy (dry, y, len * sizeof (float));
    for (i = len; i < len4; i++)
      dry[i] = 0.0f;
    switch (mode) {
      case MUSA_DIST_TANH:
        for (i = 0; i < len4; i++)
          wet[i] = fast_tanh (g * dry[i]);
        break;
      case MUSA_DIST_CLIP:
        memcpy (wet, dry, len4 * sizeof (float));
        musa_fx_orc_drive_clip_f32 (wet, g, -1.0f, 1.0f, (int) len4);
        break;
      case MUSA_DIST_BITCRUSH:
        memcpy (wet, dry, len4 * sizeof (float));
        musa_fx_orc_drive_clip_f32 (wet, g, -1.0f, 1.0f, (int) len4);
        if (steps <= 2097152.0f) {
          /* |v| <= 2^21: adding and removing 1.5 * 2^23 rounds to the
           * nearest integer (ties to even), like nearbyintf */
          for (i = 0; i < len4; i++) {
            float v = wet[i] * steps + 12582912.0f;
            wet[i] = (v - 12582912.0f) * inv;
          }
        } else {
          for (i = 0; i < len4; i++)
            wet[i] = nearbyintf (wet[i] * steps) * inv;
        }
        break;
    }
    memcpy (y, wet, len * sizeof (float));
    if (s->mix != 1.0f || s->dry != 0.0f)
      musa_fx_orc_mix_f32 (y, dry, s->mix, s->dry, (int) len);
  }
}

static void
dist_reset (MusaFx * fx)
{
}

static void
dist_clear (MusaFx * fx)
{
  free (fx->priv);
  fx->priv = NULL;
}

const MusaFxClass musa_fx_distortion_class = {
  dist_init, dist_process, dist_reset, dist_clear
};
