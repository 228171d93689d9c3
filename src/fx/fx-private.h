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

/* log2 (x) for finite x > 0 (normal doubles): exponent from the bits,
 * mantissa in [sqrt(1/2), sqrt(2)) through atanh's series,
 * log2 (m) = 2/ln2 (t + t^3/3 + ... + t^7/7), t = (m-1)/(m+1), |t| < 0.172;
 * |error| < 5e-8 (3e-7 dB). */
static inline double
musa_fx_log2 (double x)
{
  union
  {
    double d;
    uint64_t u;
  } v;
  int e;
  double m, t, t2;

  v.d = x;
  e = (int) ((v.u >> 52) & 0x7ff) - 1023;
  v.u = (v.u & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL;
  m = v.d;
  if (m > 1.4142135623730951) {
    m *= 0.5;
    e++;
  }
  t = (m - 1.0) / (m + 1.0);
  t2 = t * t;
  return e + t * (2.8853900817779268 + t2 * (0.9617966939259756 +
          t2 * (0.5770780163555854 + t2 * 0.41219858311113244)));
}

/* 2^y for y in [-1000, 1000]: 2^round(y) from the bits times a degree-6
 * Taylor polynomial of e^(f ln2), |f| <= 1/2; relative error < 2e-7 (the
 * result goes to float gains). */
static inline double
musa_fx_exp2 (double y)
{
  union
  {
    double d;
    uint64_t u;
  } v;
  double n = (double) (int64_t) (y + 0.5), f, p;

  if (n > y + 0.5)              /* truncation rounded up: floor */
    n -= 1.0;
  f = (y - n) * 0.6931471805599453;

  p = 1.0 + f * (1.0 + f * (0.5 + f * (1.0 / 6 + f * (1.0 / 24 +
                  f * (1.0 / 120 + f * (1.0 / 720))))));
  v.u = (uint64_t) ((int64_t) n + 1023) << 52;
  return p * v.d;
}

/* Float versions for loops the compiler vectorises (bit tricks on 32-bit
 * lanes, no branches): log2 within 2e-7 for normal x > 0 (0 gives about
 * -127), 2^y for y in [-126, 126] (callers keep it there) within 3e-7
 * relative. */
static inline float
musa_fx_log2f (float x)
{
  uint32_t u;
  int32_t big;
  float e, m, t, t2;

  memcpy (&u, &x, 4);
  e = (float) ((int32_t) ((u >> 23) & 0xff) - 127);
  u = (u & 0x007fffffu) | 0x3f800000u;
  memcpy (&m, &u, 4);
  /* (signed int to float converts in vector lanes, unsigned does not) */
  big = m > 1.41421356f;
  m = m * (1.0f - 0.5f * (float) big);
  e = e + (float) big;
  t = (m - 1.0f) / (m + 1.0f);
  t2 = t * t;
  return e + t * (2.88539008f + t2 * (0.961796694f + t2 * (0.577078016f +
              t2 * 0.412198583f)));
}

static inline float
musa_fx_exp2f (float y)
{
  uint32_t u;
  float n, f, p, r;
  int32_t i;

  i = (int32_t) (y + 126.5f) - 126;     /* round half up, y + 126.5 > 0 */
  n = (float) i;
  f = (y - n) * 0.693147181f;
  p = 1.0f + f * (1.0f + f * (0.5f + f * (0.166666667f + f * (0.0416666667f
                  + f * (0.00833333333f + f * 0.00138888889f)))));
  u = (uint32_t) (i + 127) << 23;
  memcpy (&r, &u, 4);
  return p * r;
}

/* a if c else b, on the bits (vectorises; no float compare-and-branch) */
static inline float
musa_fx_select_f (int32_t c, float a, float b)
{
  uint32_t ua, ub, m = (uint32_t) 0 - (uint32_t) c;

  memcpy (&ua, &a, 4);
  memcpy (&ub, &b, 4);
  ua = (ua & m) | (ub & ~m);
  memcpy (&a, &ua, 4);
  return a;
}

/* max (a, b) of finite floats, vectorisable */
static inline float
musa_fx_maxf (float a, float b)
{
  int32_t c = a > b;

  return musa_fx_select_f (c, a, b);
}

/* ORC takes an int count; split very long runs. */
#define MUSA_FX_ORC_CHUNK (1 << 24)

#endif /* MUSA_FX_PRIVATE_H */
