/* libmusa — effects: chorus, a delay modulated by one sine LFO shared by all
 * channels (the stereo image is kept), read with cubic (Catmull-Rom)
 * interpolation: delay(t) = delay_ms + depth_ms (1 + sin(2 pi rate t)) / 2,
 * at least 2 frames; out = a x + b wet (equal-power weights). */
#include "fx/fx-private.h"

#define TABLE 4096
#define BLOCK 64

typedef struct
{
  float *ring;                  /* size frames x channels, power of two */
  size_t size, mask, w;
  uint64_t phase, inc;          /* LFO phase in 2^-64 cycles */
  float d0, d1;                 /* delay = d0 + d1 (1 + sin) in frames */
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
  s->d0 = (float) (p->p.chorus.delay_ms * 1e-3 * fx->rate);
  s->d1 = (float) (0.5 * p->p.chorus.depth_ms * 1e-3 * fx->rate);
  s->inc =
      (uint64_t) llround (p->p.chorus.rate_hz / fx->rate *
      18446744073709551616.0);
  maxd = (double) s->d0 + 2.0 * s->d1 + 1.0;
  s->size = musa_fx_pow2 ((size_t) ceil (maxd) + 4 + BLOCK);
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

/* Per block: the input goes into the ring first (every tap read lies at
 * least 2 frames back, and the ring holds maxd + 4 + BLOCK frames), then
 * the LFO gives each frame its read position and four Catmull-Rom weights,
 * then each channel is read through them. */
static void
chorus_process (MusaFx * fx, float *x, size_t frames)
{
  Chorus *s = fx->priv;
  const int nc = fx->channels;
  const size_t mask = s->mask;
  const float a = s->a, b = s->b;
  float wt[4][BLOCK];
  size_t pos[BLOCK], done = 0;
  const uint64_t inc = s->inc;
  uint64_t phase;

  while (done < frames) {
    size_t L = frames - done < BLOCK ? frames - done : BLOCK, t;
    float *y = x + done * nc;
    int c;

    if (nc == 2) {
      for (t = 0; t < L; t++) {
        float *r = s->ring + ((s->w + t) & mask) * 2;
        r[0] = y[2 * t];
        r[1] = y[2 * t + 1];
      }
    } else {
      for (t = 0; t < L; t++) {
        float *r = s->ring + ((s->w + t) & mask) * nc;
        for (c = 0; c < nc; c++)
          r[c] = y[t * nc + c];
      }
    }
    phase = s->phase;
    for (t = 0; t < L; t++) {
      /* 12 bits of table index, 24 of fraction */
      int k = (int) (phase >> 52);
      float fr = (float) ((phase >> 28) & 0xffffff) * (1.0f / 16777216.0f);
      float lfo, d, u, u2, u3;
      int32_t id;
      lfo = s->sine[k] + fr * (s->sine[k + 1] - s->sine[k]);
      d = s->d0 + s->d1 * (1.0f + lfo);
      d = d < 2.0f ? 2.0f : d;
      id = (int32_t) d;
      /* read position w - d = (w - id - 1) + u, u = 1 - frac(d) */
      u = 1.0f - (d - (float) id);
      u2 = u * u;
      u3 = u2 * u;
      wt[0][t] = -0.5f * u + u2 - 0.5f * u3;
      wt[1][t] = 1.0f - 2.5f * u2 + 1.5f * u3;
      wt[2][t] = 0.5f * u + 2.0f * u2 - 1.5f * u3;
      wt[3][t] = -0.5f * u2 + 0.5f * u3;
      pos[t] = s->w + t - (size_t) id - 2;      /* the first of 4 taps */
      phase += inc;             /* wraps modulo 2^64: one cycle */
    }
    s->phase = phase;
    if (nc == 2) {
      /* stereo written out: the same operations as the general loop */
      for (t = 0; t < L; t++) {
        const float *r0 = s->ring + (pos[t] & mask) * 2;
        const float *r1 = s->ring + ((pos[t] + 1) & mask) * 2;
        const float *r2 = s->ring + ((pos[t] + 2) & mask) * 2;
        const float *r3 = s->ring + ((pos[t] + 3) & mask) * 2;
        const float w0 = wt[0][t], w1 = wt[1][t], w2 = wt[2][t], w3 = wt[3][t];
        float wl = w0 * r0[0] + w1 * r1[0] + w2 * r2[0] + w3 * r3[0];
        float wr = w0 * r0[1] + w1 * r1[1] + w2 * r2[1] + w3 * r3[1];
        y[2 * t] = a * y[2 * t] + b * wl;
        y[2 * t + 1] = a * y[2 * t + 1] + b * wr;
      }
      s->w += L;
      done += L;
      continue;
    }
    for (t = 0; t < L; t++) {
      const float *r0 = s->ring + (pos[t] & mask) * nc;
      const float *r1 = s->ring + ((pos[t] + 1) & mask) * nc;
      const float *r2 = s->ring + ((pos[t] + 2) & mask) * nc;
      const float *r3 = s->ring + ((pos[t] + 3) & mask) * nc;
      const float w0 = wt[0][t], w1 = wt[1][t], w2 = wt[2][t], w3 = wt[3][t];
      for (c = 0; c < nc; c++) {
        float wet = w0 * r0[c] + w1 * r1[c] + w2 * r2[c] + w3 * r3[c];
        y[t * nc + c] = a * y[t * nc + c] + b * wet;
      }
    }
    s->w += L;
    done += L;
  }
}

static void
chorus_reset (MusaFx * fx)
{
  Chorus *s = fx->priv;

  memset (s->ring, 0, s->size * fx->channels * sizeof (float));
  s->w = 0;
  s->phase = 0;
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
