/* libmusa — effects: what the effect files share with the dispatcher. */
#ifndef MUSA_FX_PRIVATE_H
#define MUSA_FX_PRIVATE_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fx/fx.h"

typedef struct
{
  /* Allocate fx->priv and set fx->latency / fx->tail; MusaStatus. */
  int (*init) (MusaFx * fx, MusaError * err);
  void (*process) (MusaFx * fx, float *x, size_t frames);
  void (*reset) (MusaFx * fx);
  void (*clear) (MusaFx * fx);  /* free fx->priv */
} MusaFxClass;

struct MusaFx
{
  MusaFxParams p;
  int rate;
  int channels;
  int identity;
  int64_t latency;
  int64_t tail;
  const MusaFxClass *klass;
  void *priv;
};

extern const MusaFxClass musa_fx_gain_class;
extern const MusaFxClass musa_fx_eq_class;
extern const MusaFxClass musa_fx_compressor_class;
extern const MusaFxClass musa_fx_limiter_class;
extern const MusaFxClass musa_fx_distortion_class;
extern const MusaFxClass musa_fx_reverb_class;
extern const MusaFxClass musa_fx_echo_class;
extern const MusaFxClass musa_fx_chorus_class;
extern const MusaFxClass musa_fx_noise_class;

/* Values in feedback paths below this magnitude become exactly 0, so that
 * state never decays into denormals after the signal stops. */
#define MUSA_FX_FLUSH_F 1e-20f
#define MUSA_FX_FLUSH_D 1e-30

static inline float
musa_fx_flushf (float v)
{
  return fabsf (v) < MUSA_FX_FLUSH_F ? 0.0f : v;
}

static inline double
musa_fx_flushd (double v)
{
  return fabs (v) < MUSA_FX_FLUSH_D ? 0.0 : v;
}

static inline double
musa_fx_db_to_lin (double db)
{
  return pow (10.0, db / 20.0);
}

/* Smallest power of two >= n (n >= 1). */
static inline size_t
musa_fx_pow2 (size_t n)
{
  size_t p = 1;

  while (p < n)
    p <<= 1;
  return p;
}

/* Equal-power dry/wet weights for a wet signal uncorrelated with the dry
 * one: a = (1 - mix) / n, b = mix / n, n = sqrt ((1 - mix)^2 + mix^2). */
static inline void
musa_fx_equal_power (double mix, float *a, float *b)
{
  double n = sqrt ((1.0 - mix) * (1.0 - mix) + mix * mix);

  *a = (float) ((1.0 - mix) / n);
  *b = (float) (mix / n);
}

/* ORC takes an int count; split very long runs. */
#define MUSA_FX_ORC_CHUNK (1 << 24)

#endif /* MUSA_FX_PRIVATE_H */
