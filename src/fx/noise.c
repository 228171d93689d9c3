/* libmusa — effects: white or pink noise at a signal-to-noise ratio.
 *
 * The signal's mean square (over all channels) is tracked causally: a
 * running mean over the first second, then an exponential average with a
 * 1 s time constant. Noise of that power / 10^(snr/10) is added to each
 * channel, independently per channel. Draws come from core/rng.h keyed by
 * (seed): sample (frame n, channel c) uses counter n * channels + c, so the
 * output does not depend on buffer sizes. White: the sum of the four 16-bit
 * fields of one 64-bit draw, centred and scaled to unit variance (Irwin-Hall,
 * near Gaussian). Pink: white through a cascade of first-order pole/zero
 * sections (poles 2 octaves apart from 20 Hz, zeros an octave above each
 * pole: -3 dB/octave), scaled to unit power from its impulse response. */
#include "fx/fx-private.h"

#include "core/rng.h"

#define MAX_SECTIONS 8

typedef struct
{
  uint64_t key;
  uint64_t n;                   /* frames done */
  double ms;                    /* tracked mean square */
  uint64_t win;                 /* window (frames) */
  double k_amp;                 /* 10^(-snr/20) */
  int pink, n_sec;
  float pole[MAX_SECTIONS], zero[MAX_SECTIONS], pink_gain;
  float st[8][MAX_SECTIONS];    /* per channel, per section: input-1 state */
  float so[8][MAX_SECTIONS];    /* output-1 state */
} Noise;

/* 1 / sqrt (4 (65536^2 - 1) / 12) */
#define WHITE_NORM 2.6429618e-05f

static inline float
white (uint64_t key, uint64_t counter)
{
  MusaRng r;
  uint64_t u;
  int32_t s;

  r.key = key;
  r.counter = counter;
  u = musa_rng_next (&r);
  s = (int32_t) (u & 0xffff) + (int32_t) ((u >> 16) & 0xffff)
      + (int32_t) ((u >> 32) & 0xffff) + (int32_t) (u >> 48) - 131070;
  /* centre is 4 * 32767.5 = 131070 */
  return (float) s *WHITE_NORM;
}

static inline float
pink_step (Noise * s, int c, float v)
{
  int k;

  for (k = 0; k < s->n_sec; k++) {
    /* y = x - z x[-1] + p y[-1] */
    float y = v - s->zero[k] * s->st[c][k] + s->pole[k] * s->so[c][k];
    s->st[c][k] = v;
    s->so[c][k] = y;
    v = y;
  }
  return v * s->pink_gain;
}

static int
noise_init (MusaFx * fx, MusaError * err)
{
  Noise *s = calloc (1, sizeof (Noise));
  const MusaFxParams *p = &fx->p;

  if (s == NULL)
    return musa_error_set (err, MUSA_ERR_NOMEM, "", "out of memory");
  fx->priv = s;
  s->key = musa_rng_key (p->p.noise.seed, 0x6e6f697365ULL, 0);
  s->win = (uint64_t) fx->rate;
  s->k_amp = pow (10.0, -p->p.noise.snr_db / 20.0);
  s->pink = p->p.noise.colour == MUSA_NOISE_PINK;
  if (s->pink) {
    double fp = 20.0, energy = 0.0, y[MAX_SECTIONS] = { 0 },
        xprev[MAX_SECTIONS] = { 0 };
    long n, len;
    int k;
    while (s->n_sec < MAX_SECTIONS && fp < 0.45 * fx->rate) {
      double fz = 2.0 * fp;
      s->pole[s->n_sec] = (float) exp (-2.0 * M_PI * fp / fx->rate);
      s->zero[s->n_sec] = (float) exp (-2.0 * M_PI * fz / fx->rate);
      s->n_sec++;
      fp *= 4.0;
    }
    /* unit-power normalisation from the impulse response (in double,
     * until the slowest pole has decayed by 1e-9 in amplitude) */
    len = (long) ceil (log (1e-9) / log (s->pole[0])) + 16;
    for (n = 0; n < len; n++) {
      double v = n == 0 ? 1.0 : 0.0;
      for (k = 0; k < s->n_sec; k++) {
        double o = v - s->zero[k] * xprev[k] + s->pole[k] * y[k];
        xprev[k] = v;
        y[k] = o;
        v = o;
      }
      energy += v * v;
    }
    s->pink_gain = (float) (1.0 / sqrt (energy));
  }
  return MUSA_OK;
}

static void
noise_process (MusaFx * fx, float *x, size_t frames)
{
  Noise *s = fx->priv;
  const int nc = fx->channels;
  const double inv_nc = 1.0 / nc, alpha = 1.0 / (double) s->win;
  const double k_amp = s->k_amp;
  size_t f;
  int c;

  for (f = 0; f < frames; f++, x += nc) {
    double p = 0.0;
    uint64_t base = s->n * (uint64_t) nc;
    float amp;

    for (c = 0; c < nc; c++)
      p += (double) x[c] * x[c];
    p *= inv_nc;
    if (s->n < s->win)
      s->ms += (p - s->ms) / (double) (s->n + 1);
    else
      s->ms += (p - s->ms) * alpha;
    s->ms = musa_fx_flushd (s->ms);
    s->n++;
    amp = (float) (sqrt (s->ms) * k_amp);
    for (c = 0; c < nc; c++) {
      float w = white (s->key, base + c);
      if (s->pink)
        w = pink_step (s, c, w);
      x[c] += amp * w;
    }
  }
}

static void
noise_reset (MusaFx * fx)
{
  Noise *s = fx->priv;

  s->n = 0;
  s->ms = 0.0;
  memset (s->st, 0, sizeof s->st);
  memset (s->so, 0, sizeof s->so);
}

static void
noise_clear (MusaFx * fx)
{
  free (fx->priv);
  fx->priv = NULL;
}

const MusaFxClass musa_fx_noise_class = {
  noise_init, noise_process, noise_reset, noise_clear
};
