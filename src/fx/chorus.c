/* libmusa — effects: chorus, a delay modulated by one sine LFO shared by all
 * channels (the stereo image is kept), read with cubic (Catmull-Rom)
 * interpolation: delay(t) = delay_ms + depth_ms (1 + sin(2 pi rate t)) / 2,
 * at least 2 frames; out = a x + b wet (equal-power weights). */
#include "fx/fx-private.h"

#define TABLE 4096

typedef struct
{
  float *ring;                  /* size frames x channels, power of two */
  size_t size, mask, w;
  double phase, inc;
  double d0, d1;                /* delay = d0 + d1 (1 + sin) in frames */
  float a, b;
  float sine[TABLE + 1];
} Chorus;

static int
chorus_init (MusaFx * fx, MusaError * err)
{
  Chorus *s = calloc (1, sizeof (Chorus));
  const MusaFxParams *p = &fx->p;
  double maxd;
  int i;

  if (s == NULL)
    return musa_error_set (err, MUSA_ERR_NOMEM, "", "out of memory");
  fx->priv = s;
  s->d0 = p->p.chorus.delay_ms * 1e-3 * fx->rate;
  s->d1 = 0.5 * p->p.chorus.depth_ms * 1e-3 * fx->rate;
  s->inc = p->p.chorus.rate_hz / fx->rate;
  maxd = s->d0 + 2.0 * s->d1;
  s->size = musa_fx_pow2 ((size_t) ceil (maxd) + 4);
  s->mask = s->size - 1;
  s->ring = calloc (s->size * fx->channels, sizeof (float));
  if (!s->ring)
    return musa_error_set (err, MUSA_ERR_NOMEM, "", "out of memory");
  for (i = 0; i <= TABLE; i++)
    s->sine[i] = (float) sin (2.0 * M_PI * i / TABLE);
  musa_fx_equal_power (p->p.chorus.mix, &s->a, &s->b);
  fx->tail = (int64_t) ceil (maxd) + 2;
  return MUSA_OK;
}

static void
chorus_process (MusaFx * fx, float *x, size_t frames)
{
  Chorus *s = fx->priv;
  const int nc = fx->channels;
  const size_t mask = s->mask;
  const float a = s->a, b = s->b;
  size_t f;
  int c;

  for (f = 0; f < frames; f++, x += nc) {
    double ph = s->phase * TABLE, d;
    int k = (int) ph;
    float fr = (float) (ph - k), lfo, t, t2, t3;
    size_t i0;
    long id;

    lfo = s->sine[k] + fr * (s->sine[k + 1] - s->sine[k]);
    d = s->d0 + s->d1 * (1.0 + lfo);
    if (d < 2.0)
      d = 2.0;
    id = (long) d;
    t = (float) (d - id);
    /* read position w - d = (w - id - 1) + (1 - t) */
    t = 1.0f - t;
    t2 = t * t;
    t3 = t2 * t;
    for (c = 0; c < nc; c++)
      s->ring[(s->w & mask) * nc + c] = x[c];
    i0 = s->w - (size_t) id - 1;
    for (c = 0; c < nc; c++) {
      float ym1 = s->ring[((i0 - 1) & mask) * nc + c];
      float y0 = s->ring[(i0 & mask) * nc + c];
      float y1 = s->ring[((i0 + 1) & mask) * nc + c];
      float y2 = s->ring[((i0 + 2) & mask) * nc + c];
      float wet = y0 + 0.5f * t * (y1 - ym1)
          + t2 * (ym1 - 2.5f * y0 + 2.0f * y1 - 0.5f * y2)
          + t3 * (1.5f * (y0 - y1) + 0.5f * (y2 - ym1));
      x[c] = a * x[c] + b * wet;
    }
    s->w++;
    s->phase += s->inc;
    if (s->phase >= 1.0)
      s->phase -= 1.0;
  }
}

static void
chorus_reset (MusaFx * fx)
{
  Chorus *s = fx->priv;

  memset (s->ring, 0, s->size * fx->channels * sizeof (float));
  s->w = 0;
  s->phase = 0.0;
}

static void
chorus_clear (MusaFx * fx)
{
  Chorus *s = fx->priv;

  free (s->ring);
  free (s);
  fx->priv = NULL;
}

const MusaFxClass musa_fx_chorus_class = {
  chorus_init, chorus_process, chorus_reset, chorus_clear
};
