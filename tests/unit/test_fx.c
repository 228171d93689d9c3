/* Unit tests of the effects (src/fx): measured against theory. */
#include <complex.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#endif

#include "musatest.h"
#include "core/rng.h"
#include "core/synth.h"
#include "fx/fx.h"

#define RATE 44100

/* Stereo test material: demo music with noise, different per channel,
 * normalised to a peak of @peak. */
static float *
make_music (size_t frames, int channels, double peak, uint64_t seed)
{
  MusaSynthConfig cfg;
  float *mono = malloc (frames * sizeof (float));
  float *x = malloc (frames * channels * sizeof (float));
  MusaRng rng;
  double m = 0.0;
  size_t i;
  int c;

  musa_synth_config_default (&cfg);
  cfg.seed = seed;
  musa_synth_music (&cfg, mono, frames, NULL);
  musa_rng_init (&rng, musa_rng_key (seed, 1, 2));
  for (i = 0; i < frames; i++)
    for (c = 0; c < channels; c++) {
      double v = mono[i] * (1.0 - 0.2 * c) + 0.02 * musa_rng_normal (&rng);
      x[i * channels + c] = (float) v;
      if (fabs (v) > m)
        m = fabs (v);
    }
  for (i = 0; i < frames * channels; i++)
    x[i] = (float) (x[i] * peak / m);
  free (mono);
  return x;
}

static double
rms_db (const float *x, size_t n)
{
  double e = 0.0;
  size_t i;

  for (i = 0; i < n; i++)
    e += (double) x[i] * x[i];
  return 10.0 * log10 (e / n + 1e-300);
}

static MusaFx *
new_fx (const MusaFxParams * p, int rate, int channels)
{
  MusaError err;
  MusaFx *fx = musa_fx_new (p, rate, channels, &err);

  CHECK (fx != NULL, "musa_fx_new: %s (%s)", err.message, err.property);
  return fx;
}

/* One non-identity setting per effect, inside the natural ranges. */
static void
natural_params (MusaFxType t, MusaFxParams * p)
{
  memset (p, 0, sizeof *p);
  p->type = t;
  switch (t) {
    case MUSA_FX_GAIN:
      p->p.gain.db = -3.5;
      break;
    case MUSA_FX_EQ:
      p->p.eq.shape = MUSA_EQ_PEAK;
      p->p.eq.freq_hz = 1000.0;
      p->p.eq.gain_db = 4.0;
      p->p.eq.q = 1.0;
      break;
    case MUSA_FX_COMPRESSOR:
      p->p.compressor.threshold_db = -20.0;
      p->p.compressor.ratio = 4.0;
      p->p.compressor.knee_db = 6.0;
      p->p.compressor.attack_ms = 5.0;
      p->p.compressor.release_ms = 100.0;
      p->p.compressor.makeup_db = 3.0;
      break;
    case MUSA_FX_LIMITER:
      p->p.limiter.ceiling_db = -3.0;
      p->p.limiter.lookahead_ms = 3.0;
      p->p.limiter.release_ms = 80.0;
      break;
    case MUSA_FX_DISTORTION:
      p->p.distortion.mode = MUSA_DIST_TANH;
      p->p.distortion.drive_db = 12.0;
      p->p.distortion.mix = 0.4;
      p->p.distortion.bits = 8;
      break;
    case MUSA_FX_REVERB:
      p->p.reverb.room_size = 0.6;
      p->p.reverb.damping = 0.4;
      p->p.reverb.wet = 0.3;
      p->p.reverb.predelay_ms = 20.0;
      break;
    case MUSA_FX_ECHO:
      p->p.echo.delay_ms = 250.0;
      p->p.echo.feedback = 0.4;
      p->p.echo.mix = 0.3;
      break;
    case MUSA_FX_CHORUS:
      p->p.chorus.rate_hz = 0.8;
      p->p.chorus.depth_ms = 3.0;
      p->p.chorus.delay_ms = 10.0;
      p->p.chorus.mix = 0.4;
      break;
    case MUSA_FX_NOISE:
      p->p.noise.colour = MUSA_NOISE_PINK;
      p->p.noise.snr_db = 30.0;
      p->p.noise.seed = 42;
      break;
    default:
      break;
  }
}

static void
test_names_describe_check (void)
{
  MusaFxParams p;
  MusaError err;
  char buf[256];
  int t, n;

  for (t = 0; t < MUSA_FX_N_TYPES; t++) {
    const char *name = musa_fx_type_name (t);
    CHECK (name != NULL, "type %d has no name", t);
    natural_params (t, &p);
    CHECK (musa_fx_params_check (&p, RATE, &err) == MUSA_OK, "%s: %s", name,
        err.message);
    n = musa_fx_describe (&p, buf, sizeof buf);
    CHECK (n > 0 && (size_t) n < sizeof buf, "describe %s: %d", name, n);
    CHECK (strncmp (buf, name, strlen (name)) == 0 && buf[strlen (name)] == '('
        && buf[n - 1] == ')', "describe %s: '%s'", name, buf);
    CHECK (!musa_fx_is_identity (&p), "%s natural setting is not identity",
        name);
  }
  CHECK (musa_fx_type_name (MUSA_FX_N_TYPES) == NULL, "past the end");

  natural_params (MUSA_FX_COMPRESSOR, &p);
  musa_fx_describe (&p, buf, sizeof buf);
  CHECK (strcmp (buf, "compressor(threshold_db=-20,ratio=4,knee_db=6,"
          "attack_ms=5,release_ms=100,makeup_db=3)") == 0, "'%s'", buf);
  natural_params (MUSA_FX_NOISE, &p);
  musa_fx_describe (&p, buf, sizeof buf);
  CHECK (strcmp (buf, "noise(colour=pink,snr_db=30,seed=42)") == 0, "'%s'",
      buf);
  /* truncation follows snprintf */
  n = musa_fx_describe (&p, buf, 8);
  CHECK (n > 8 && strlen (buf) == 7, "truncated: %d '%s'", n, buf);

  /* bad values name the parameter */
  natural_params (MUSA_FX_COMPRESSOR, &p);
  p.p.compressor.ratio = 0.5;
  CHECK (musa_fx_params_check (&p, RATE, &err) == MUSA_ERR_INVALID
      && strcmp (err.property, "compressor.ratio") == 0, "ratio: '%s'",
      err.property);
  CHECK (musa_fx_new (&p, RATE, 2, &err) == NULL, "new with a bad ratio");
  natural_params (MUSA_FX_EQ, &p);
  p.p.eq.freq_hz = 30000.0;
  CHECK (musa_fx_params_check (&p, RATE, &err) == MUSA_ERR_INVALID
      && strcmp (err.property, "eq.freq_hz") == 0, "freq: '%s'", err.property);
  p.p.eq.freq_hz = NAN;
  CHECK (musa_fx_params_check (&p, RATE, &err) == MUSA_ERR_INVALID, "NaN");
  natural_params (MUSA_FX_ECHO, &p);
  p.p.echo.feedback = 1.0;
  CHECK (musa_fx_params_check (&p, RATE, &err) == MUSA_ERR_INVALID
      && strcmp (err.property, "echo.feedback") == 0, "feedback 1");
  natural_params (MUSA_FX_REVERB, &p);
  p.p.reverb.wet = -0.1;
  CHECK (musa_fx_params_check (&p, RATE, &err) == MUSA_ERR_INVALID
      && strcmp (err.property, "reverb.wet") == 0, "wet");
  natural_params (MUSA_FX_DISTORTION, &p);
  p.p.distortion.mode = MUSA_DIST_BITCRUSH;
  p.p.distortion.bits = 0;
  CHECK (musa_fx_params_check (&p, RATE, &err) == MUSA_ERR_INVALID
      && strcmp (err.property, "distortion.bits") == 0, "bits");
  p.p.distortion.mode = 7;
  CHECK (musa_fx_params_check (&p, RATE, &err) == MUSA_ERR_INVALID
      && strcmp (err.property, "distortion.mode") == 0, "mode");
  p.type = MUSA_FX_N_TYPES;
  CHECK (musa_fx_params_check (&p, RATE, &err) == MUSA_ERR_INVALID, "type");
  CHECK (musa_fx_describe (&p, buf, sizeof buf) < 0, "describe bad type");
  natural_params (MUSA_FX_GAIN, &p);
  CHECK (musa_fx_new (&p, RATE, 9, &err) == NULL
      && strcmp (err.property, "channels") == 0, "9 channels");
  CHECK (musa_fx_new (&p, 4000, 2, &err) == NULL
      && strcmp (err.property, "rate") == 0, "rate 4000");
  CHECK (musa_fx_params_check (NULL, RATE, &err) == MUSA_ERR_INVALID, "NULL");
  natural_params (MUSA_FX_NOISE, &p);
  p.p.noise.snr_db = INFINITY;
  CHECK (musa_fx_params_check (&p, RATE, &err) == MUSA_OK
      && musa_fx_is_identity (&p), "snr +inf is the identity");
  p.p.noise.snr_db = -INFINITY;
  CHECK (musa_fx_params_check (&p, RATE, &err) == MUSA_ERR_INVALID, "-inf");
}

/* Identity settings leave the bytes untouched. */
static void
test_identity (void)
{
  const size_t n = RATE;
  float *x = make_music (n, 2, 0.9, 3), *y = malloc (n * 2 * sizeof (float));
  MusaFxParams ps[9];
  int i;

  for (i = 0; i < 9; i++)
    natural_params (i, &ps[i]);
  ps[0].p.gain.db = 0.0;
  ps[1].p.eq.gain_db = 0.0;
  ps[2].p.compressor.ratio = 1.0;
  ps[2].p.compressor.makeup_db = 0.0;
  ps[3].type = MUSA_FX_EQ;      /* the limiter has no identity setting */
  ps[3].p.eq.shape = MUSA_EQ_LOW_SHELF;
  ps[3].p.eq.freq_hz = 200.0;
  ps[3].p.eq.gain_db = 0.0;
  ps[3].p.eq.q = 0.707;
  ps[4].p.distortion.mix = 0.0;
  ps[5].p.reverb.wet = 0.0;
  ps[6].p.echo.mix = 0.0;
  ps[7].p.chorus.mix = 0.0;
  ps[8].p.noise.snr_db = INFINITY;
  for (i = 0; i < 9; i++) {
    MusaFx *fx;
    CHECK (musa_fx_is_identity (&ps[i]), "%d is identity", i);
    fx = new_fx (&ps[i], RATE, 2);
    if (!fx)
      continue;
    CHECK (musa_fx_latency (fx) == 0 && musa_fx_tail (fx) == 0, "%d", i);
    memcpy (y, x, n * 2 * sizeof (float));
    musa_fx_process (fx, y, n);
    CHECK (memcmp (x, y, n * 2 * sizeof (float)) == 0, "%s not bit-exact",
        musa_fx_type_name (ps[i].type));
    musa_fx_free (fx);
  }
  free (x);
  free (y);
}

/* 1, 7, 512, 4096-frame chunks (and reset + rerun) give identical bytes. */
/* 1, 7, 512, 4096-frame chunks and random ones (and reset + rerun) give
 * identical bytes, on music followed by silence (the flush paths), for
 * stereo, mono and 6 channels at three rates. */
static void
test_chunk_invariance (void)
{
  static const struct
  {
    int nc, rate;
  } cfg[] = { {2, 44100}, {1, 48000}, {6, 22050} };
  static const size_t chunks[] = { 1, 7, 512, 4096, 0 /* random */  };
  int ci, t, k, mode;

  for (ci = 0; ci < 3; ci++) {
    const int nc = cfg[ci].nc, rate = cfg[ci].rate;
    const size_t n = 3 * (size_t) rate, half = n / 2;
    float *x = make_music (n, nc, 1.2, 5);
    float *ref = malloc (n * nc * sizeof (float));
    float *y = malloc (n * nc * sizeof (float));
    memset (x + half * nc, 0, (n - half) * nc * sizeof (float));
    for (t = 0; t < MUSA_FX_N_TYPES; t++) {
      for (mode = 0; mode < (t == MUSA_FX_DISTORTION ? 3 : 1); mode++) {
        MusaFxParams p;
        MusaFx *fx;
        natural_params (t, &p);
        if (t == MUSA_FX_DISTORTION)
          p.p.distortion.mode = mode;
        fx = new_fx (&p, rate, nc);
        if (!fx)
          continue;
        memcpy (ref, x, n * nc * sizeof (float));
        musa_fx_process (fx, ref, n);
        CHECK (memcmp (ref, x, n * nc * sizeof (float)) != 0,
            "%s did nothing", musa_fx_type_name (t));
        for (k = 0; k < 5; k++) {
          size_t done = 0;
          MusaRng rng;
          musa_rng_init (&rng, 99 + k);
          musa_fx_reset (fx);
          memcpy (y, x, n * nc * sizeof (float));
          while (done < n) {
            size_t want = chunks[k] ? chunks[k] :
                1 + (size_t) (musa_rng_uniform (&rng) * 3000);
            size_t len = n - done < want ? n - done : want;
            musa_fx_process (fx, y + done * nc, len);
            done += len;
          }
          CHECK (memcmp (ref, y, n * nc * sizeof (float)) == 0,
              "%s (mode %d, %d ch, %d Hz) differs with %zu-frame chunks",
              musa_fx_type_name (t), mode, nc, rate, chunks[k]);
        }
        musa_fx_free (fx);
      }
    }
    free (x);
    free (ref);
    free (y);
  }
}

static void
test_gain (void)
{
  MusaFxParams p;
  MusaFx *fx;
  float x[6] = { 0.5f, -0.25f, 1.0f, 0.0f, -1.0f, 0.125f };
  int i;

  natural_params (MUSA_FX_GAIN, &p);
  p.p.gain.db = -6.0;
  fx = new_fx (&p, RATE, 3);
  if (!fx)
    return;
  musa_fx_process (fx, x, 2);
  for (i = 0; i < 6; i++) {
    static const float in[6] = { 0.5f, -0.25f, 1.0f, 0.0f, -1.0f, 0.125f };
    CHECK (fabsf (x[i] - in[i] * (float) pow (10.0, -0.3)) < 1e-7f, "%d", i);
  }
  musa_fx_free (fx);
}

/* ---- EQ: magnitude from the impulse response against the cookbook ---- */

/* The RBJ cookbook coefficients, written out again independently of
 * src/fx/eq.c, evaluated on the unit circle. */
static double
cookbook_db (MusaEqShape shape, double f0, double gain_db, double q,
    double fs, double f)
{
  double A = pow (10.0, gain_db / 40.0), w0 = 2 * M_PI * f0 / fs;
  double c = cos (w0), al = sin (w0) / (2 * q), b[3], a[3];
  double complex z1 = cexp (-I * 2 * M_PI * f / fs), z2 = z1 * z1, h;

  switch (shape) {
    case MUSA_EQ_LOW_PASS:
      b[0] = (1 - c) / 2, b[1] = 1 - c, b[2] = (1 - c) / 2;
      a[0] = 1 + al, a[1] = -2 * c, a[2] = 1 - al;
      break;
    case MUSA_EQ_HIGH_PASS:
      b[0] = (1 + c) / 2, b[1] = -(1 + c), b[2] = (1 + c) / 2;
      a[0] = 1 + al, a[1] = -2 * c, a[2] = 1 - al;
      break;
    case MUSA_EQ_PEAK:
      b[0] = 1 + al * A, b[1] = -2 * c, b[2] = 1 - al * A;
      a[0] = 1 + al / A, a[1] = -2 * c, a[2] = 1 - al / A;
      break;
    case MUSA_EQ_LOW_SHELF:
      b[0] = A * ((A + 1) - (A - 1) * c + 2 * sqrt (A) * al);
      b[1] = 2 * A * ((A - 1) - (A + 1) * c);
      b[2] = A * ((A + 1) - (A - 1) * c - 2 * sqrt (A) * al);
      a[0] = (A + 1) + (A - 1) * c + 2 * sqrt (A) * al;
      a[1] = -2 * ((A - 1) + (A + 1) * c);
      a[2] = (A + 1) + (A - 1) * c - 2 * sqrt (A) * al;
      break;
    case MUSA_EQ_HIGH_SHELF:
    default:
      b[0] = A * ((A + 1) + (A - 1) * c + 2 * sqrt (A) * al);
      b[1] = -2 * A * ((A - 1) + (A + 1) * c);
      b[2] = A * ((A + 1) + (A - 1) * c - 2 * sqrt (A) * al);
      a[0] = (A + 1) - (A - 1) * c + 2 * sqrt (A) * al;
      a[1] = 2 * ((A - 1) - (A + 1) * c);
      a[2] = (A + 1) - (A - 1) * c - 2 * sqrt (A) * al;
      break;
  }
  h = (b[0] + b[1] * z1 + b[2] * z2) / (a[0] + a[1] * z1 + a[2] * z2);
  return 20.0 * log10 (cabs (h));
}

/* |H(f)| in dB of an impulse response (direct DFT at f). */
static double
ir_db (const float *h, size_t n, double f, double fs)
{
  double complex acc = 0.0, w = cexp (-I * 2 * M_PI * f / fs), z = 1.0;
  size_t i;

  for (i = 0; i < n; i++) {
    acc += h[i] * z;
    z *= w;
    if ((i & 1023) == 1023)
      z = cexp (-I * 2 * M_PI * f / fs * (double) (i + 1));
  }
  return 20.0 * log10 (cabs (acc));
}

static void
test_eq (void)
{
  static const struct
  {
    MusaEqShape shape;
    double f0, gain, q;
    int rate;
  } cases[] = {
    {MUSA_EQ_LOW_SHELF, 150.0, 6.0, 0.707, 44100},
    {MUSA_EQ_LOW_SHELF, 80.0, -9.0, 1.0, 48000},
    {MUSA_EQ_HIGH_SHELF, 6000.0, 5.0, 0.707, 44100},
    {MUSA_EQ_HIGH_SHELF, 3000.0, -12.0, 0.5, 96000},
    {MUSA_EQ_PEAK, 1000.0, 6.0, 1.0, 44100},
    {MUSA_EQ_PEAK, 300.0, -10.0, 2.0, 44100},
    {MUSA_EQ_PEAK, 4000.0, 3.0, 0.5, 22050},
    {MUSA_EQ_HIGH_PASS, 40.0, 0.0, 0.707, 44100},
    {MUSA_EQ_HIGH_PASS, 120.0, 0.0, 1.5, 192000},
    {MUSA_EQ_LOW_PASS, 8000.0, 0.0, 0.707, 44100},
    {MUSA_EQ_LOW_PASS, 12000.0, 0.0, 0.9, 48000},
  };
  const size_t n = 1 << 17;
  float *h = malloc (n * sizeof (float));
  double worst = 0.0;
  size_t k;

  for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    MusaFxParams p = { 0 };
    MusaFx *fx;
    double fs = cases[k].rate, f, d;
    p.type = MUSA_FX_EQ;
    p.p.eq.shape = cases[k].shape;
    p.p.eq.freq_hz = cases[k].f0;
    p.p.eq.gain_db = cases[k].gain;
    p.p.eq.q = cases[k].q;
    fx = new_fx (&p, cases[k].rate, 1);
    if (!fx)
      continue;
    memset (h, 0, n * sizeof (float));
    h[0] = 1.0f;
    musa_fx_process (fx, h, n);
    /* log-spaced from 20 Hz to 0.45 fs */
    for (f = 20.0; f < 0.45 * fs; f *= 1.12) {
      double ref = cookbook_db (cases[k].shape, cases[k].f0, cases[k].gain,
          cases[k].q, fs, f);
      if (ref < -60.0)
        continue;
      d = fabs (ir_db (h, n, f, fs) - ref);
      if (d > worst)
        worst = d;
      CHECK (d < 0.1, "case %zu at %.1f Hz: %.4f dB off the cookbook", k, f, d);
    }
    /* defining properties, from theory rather than the same formulas */
    d = ir_db (h, n, cases[k].f0, fs);
    switch (cases[k].shape) {
      case MUSA_EQ_PEAK:
        CHECK (fabs (d - cases[k].gain) < 0.1, "peak gain %.3f", d);
        break;
      case MUSA_EQ_LOW_SHELF:
      case MUSA_EQ_HIGH_SHELF:
        /* half the shelf gain at f0 */
        CHECK (fabs (d - cases[k].gain / 2) < 0.1, "shelf mid %.3f", d);
        break;
      default:
        /* |H(f0)| = Q for the second-order passes */
        CHECK (fabs (d - 20 * log10 (cases[k].q)) < 0.1, "pass at f0 %.3f", d);
        break;
    }
    if (cases[k].shape == MUSA_EQ_LOW_SHELF) {
      CHECK (fabs (ir_db (h, n, 1.0, fs) - cases[k].gain) < 0.1, "DC");
      CHECK (fabs (ir_db (h, n, 0.45 * fs, fs)) < 0.1, "top");
    }
    musa_fx_free (fx);
  }
  printf ("# EQ: worst deviation from the RBJ cookbook %.5f dB\n", worst);
  free (h);
}

/* ---- dynamics ---- */

static double
comp_theory (double x, double T, double R, double W)
{
  if (2 * (x - T) < -W)
    return x;
  if (2 * fabs (x - T) <= W)
    return x + (1 / R - 1) * (x - T + W / 2) * (x - T + W / 2) / (2 * W);
  return T + (x - T) / R;
}

static void
test_compressor_static_curve (void)
{
  const size_t n = RATE / 2;
  float *x = malloc (n * 2 * sizeof (float));
  MusaFxParams p;
  double L, worst_sq = 0.0, worst_sine = 0.0;
  size_t i;

  natural_params (MUSA_FX_COMPRESSOR, &p);
  p.p.compressor.threshold_db = -24.0;
  p.p.compressor.ratio = 4.0;
  p.p.compressor.knee_db = 8.0;
  p.p.compressor.attack_ms = 2.0;
  p.p.compressor.release_ms = 400.0;
  p.p.compressor.makeup_db = 2.0;
  for (L = -50.0; L <= 0.0; L += 1.0) {
    double A = pow (10.0, L / 20.0), theory, out;
    int sine;
    theory = comp_theory (L, -24.0, 4.0, 8.0) + 2.0;
    for (sine = 0; sine < 2; sine++) {
      MusaFx *fx = new_fx (&p, RATE, 2);
      double pk = 0.0;
      if (!fx)
        return;
      /* a square wave (constant |x|) and a 1 kHz sine, both stereo */
      for (i = 0; i < n; i++) {
        double v = sine ? A * sin (2 * M_PI * 1000.0 * i / RATE) :
            ((i / 50) & 1 ? A : -A);
        x[2 * i] = x[2 * i + 1] = (float) v;
      }
      musa_fx_process (fx, x, n);
      for (i = n - RATE / 10; i < n; i++)
        pk = fmax (pk, fabs (x[2 * i]));
      out = 20.0 * log10 (pk);
      if (sine) {
        worst_sine = fmax (worst_sine, fabs (out - theory));
        CHECK (fabs (out - theory) < 0.5, "sine at %.0f dB: %.3f vs %.3f", L,
            out, theory);
      } else {
        worst_sq = fmax (worst_sq, fabs (out - theory));
        CHECK (fabs (out - theory) < 0.05, "square at %.0f dB: %.3f vs %.3f",
            L, out, theory);
      }
      musa_fx_free (fx);
    }
  }
  printf ("# compressor static curve: worst %.4f dB (square), %.4f dB "
      "(1 kHz sine peak)\n", worst_sq, worst_sine);
  free (x);
}

/* Auto makeup gives the average gain reduction back: music at -12 dBFS RMS
 * through a -28 dB threshold at 4:1 keeps its level over the last 4 s
 * (within 1 dB) with auto_makeup 1, while without it the level drops by
 * more than 6 dB (the default chain's compressor took songs 11-16 dB down
 * before it had auto makeup); and its dynamics are still compressed (the
 * level's spread over 50 ms windows narrows). */
static void
test_compressor_auto_makeup (void)
{
  const size_t n = 6 * RATE, from = 2 * RATE;
  float *x = make_music (n, 2, 0.5, 7), *y = malloc (n * 2 * sizeof (float));
  double e = 0.0, k, lvl[2], spread[3];
  int a;
  size_t i;

  for (i = 0; i < 2 * n; i++)
    e += (double) x[i] * x[i];
  k = pow (10.0, -12.0 / 20.0) / sqrt (e / (2 * n));
  for (i = 0; i < 2 * n; i++)
    x[i] = (float) (x[i] * k);
  for (a = 0; a < 3; a++) {
    MusaFxParams p;
    MusaFx *fx;
    double ein = 0.0, eout = 0.0, s1 = 0.0, s2 = 0.0;
    size_t w, nw = 0;
    const float *z = a == 2 ? x : y;

    natural_params (MUSA_FX_COMPRESSOR, &p);
    p.p.compressor.threshold_db = -28.0;
    p.p.compressor.ratio = 4.0;
    p.p.compressor.makeup_db = 0.0;
    p.p.compressor.auto_makeup = a == 1 ? 1.0 : 0.0;
    memcpy (y, x, n * 2 * sizeof (float));
    if (a < 2) {
      fx = new_fx (&p, RATE, 2);
      if (!fx)
        break;
      musa_fx_process (fx, y, n);
      musa_fx_free (fx);
    }
    for (i = 2 * from; i < 2 * n; i++) {
      ein += (double) x[i] * x[i];
      eout += (double) z[i] * z[i];
    }
    if (a < 2)
      lvl[a] = 10.0 * log10 (eout / ein);
    /* spread (standard deviation, dB) of the 50 ms levels */
    for (w = from; w + RATE / 20 <= n; w += RATE / 20) {
      double ew = 0.0, d;
      for (i = 2 * w; i < 2 * (w + RATE / 20); i++)
        ew += (double) z[i] * z[i];
      d = 10.0 * log10 (ew + 1e-20);
      s1 += d;
      s2 += d * d;
      nw++;
    }
    spread[a] = sqrt (s2 / nw - (s1 / nw) * (s1 / nw));
  }
  printf ("# compressor -28 dB 4:1 on music at -12 dBFS: level %+.2f dB, with "
      "auto makeup %+.2f dB; 50 ms level spread %.2f dB (input %.2f)\n",
      lvl[0], lvl[1], spread[1], spread[2]);
  CHECK (lvl[0] < -6.0, "without auto makeup %.2f dB", lvl[0]);
  CHECK (fabs (lvl[1]) < 1.0, "with auto makeup %.2f dB", lvl[1]);
  CHECK (spread[1] < spread[2] - 0.5, "spread %.2f dB vs input %.2f dB",
      spread[1], spread[2]);
  /* one absurd sample (1e20) leaves every later output finite (its
   * square overflowed the weights: NaN to the end of the stream) */
  {
    MusaFxParams p;
    MusaFx *fx;
    size_t bad = 0;

    natural_params (MUSA_FX_COMPRESSOR, &p);
    p.p.compressor.auto_makeup = 1.0;
    for (i = 0; i < 2 * n; i++)
      y[i] = (float) (0.3 * sin (0.05 * (double) (i / 2)));
    y[2000] = 1e20f;
    fx = new_fx (&p, RATE, 2);
    if (fx) {
      musa_fx_process (fx, y, n);
      for (i = 0; i < 2 * n; i++)
        bad += !isfinite (y[i]);
      CHECK (bad == 0, "%zu of %zu outputs not finite after a 1e20 sample",
          bad, 2 * n);
      musa_fx_free (fx);
    }
  }
  free (x);
  free (y);
}

static void
test_compressor_timing_and_link (void)
{
  const size_t n = RATE;
  float *x = malloc (n * 2 * sizeof (float));
  MusaFxParams p;
  MusaFx *fx;
  size_t i, t63 = 0;
  double final_g, g;

  natural_params (MUSA_FX_COMPRESSOR, &p);
  p.p.compressor.threshold_db = -20.0;
  p.p.compressor.ratio = 10.0;
  p.p.compressor.knee_db = 0.0;
  p.p.compressor.attack_ms = 10.0;
  p.p.compressor.makeup_db = 0.0;
  fx = new_fx (&p, RATE, 2);
  if (!fx)
    return;
  /* left steps from silence-level to 0 dBFS (DC), right stays quiet */
  for (i = 0; i < n; i++) {
    x[2 * i] = i < 1000 ? 0.001f : 1.0f;
    x[2 * i + 1] = 0.01f;
  }
  musa_fx_process (fx, x, n);
  final_g = 20 * log10 (x[2 * (n - 1)]);
  CHECK (fabs (final_g - comp_theory (0.0, -20, 10, 0)) < 0.01, "%.3f",
      final_g);
  for (i = 1000; i < n; i++) {
    g = 20 * log10 (x[2 * i]);
    if (g <= final_g * (1 - exp (-1.0)) && !t63)
      t63 = i - 1000 + 1;
  }
  CHECK (fabs ((double) t63 - 0.010 * RATE) <= 2, "attack 63%% after %zu "
      "frames, expected %.0f", t63, 0.010 * RATE);
  /* linked: the quiet right channel gets the same gain */
  for (i = 0; i < n; i++)
    CHECK (x[2 * i + 1] / 0.01f == (i < 1000 ? x[2 * i] / 0.001f :
            x[2 * i] / 1.0f)
        || fabsf (x[2 * i + 1] / 0.01f - x[2 * i] / (i < 1000 ? 0.001f :
                1.0f)) < 1e-5f, "frame %zu not linked", i);
  musa_fx_free (fx);
  free (x);
}

/* Inter-sample (true) peak by 8x band-limited interpolation (windowed sinc,
 * 32 taps each side); informational. */
static double
true_peak (const float *x, size_t frames, int nc, int c)
{
  double pk = 0.0;
  size_t i;
  int k, j;

  for (i = 32; i + 32 < frames; i++)
    for (k = 0; k < 8; k++) {
      double t = k / 8.0, acc = 0.0;
      for (j = -31; j <= 32; j++) {
        double u = t - j, s = u == 0 ? 1.0 : sin (M_PI * u) / (M_PI * u);
        double w = 0.5 + 0.5 * cos (M_PI * u / 33.0);
        acc += x[(i + j) * nc + c] * s * w;
      }
      pk = fmax (pk, fabs (acc));
    }
  return pk;
}

/* The largest difference between the limiter's output @y (stereo, @n
 * frames, latency @D, release 50 ms) and a brute-force model of the
 * documented algorithm (true-peak detection with an 8-tap Hann-windowed sinc
 * at 1/4, 1/2, 3/4, window minimum by search, release, moving average). */
static double
limiter_model_error (const float *x, const float *y, size_t n, int64_t D,
    double ceiling)
{
  size_t i;
  double worst = 0.0;

  {
    const int LA = (int) D - 3, W = LA + 1;
    const double rel = 1.0 - exp (-1.0 / (0.050 * RATE));
    double env = 1.0, *r = malloc (n * sizeof (double));
    double *e = malloc (n * sizeof (double)), kern[3][8];
    int ph, k;
    for (ph = 0; ph < 3; ph++) {
      double sum = 0.0;
      for (k = 0; k < 8; k++) {
        double u = k - 3 - (ph + 1) / 4.0;
        kern[ph][k] = sin (M_PI * u) / (M_PI * u) * (0.5 + 0.5 *
            cos (M_PI * u / 4.5));
        sum += kern[ph][k];
      }
      for (k = 0; k < 8; k++)
        kern[ph][k] /= sum;
    }
    for (i = 0; i < n; i++) {
      double pk2 = 0.0, m = 1.0, avg;
      size_t k2;
      int c;
      for (c = 0; c < 2; c++) {
        pk2 = fmax (pk2, fabs (x[2 * i + c]));
        for (ph = 0; ph < 3; ph++) {
          /* between frames i - 1 and i: taps i - 4 .. i + 3 */
          double v = 0.0;
          for (k = 0; k < 8; k++) {
            long j = (long) i - 4 + k;
            v += kern[ph][k] * (j >= 0 && j < (long) n ? x[2 * j + c] : 0.0);
          }
          pk2 = fmax (pk2, fabs (v));
        }
      }
      r[i] = pk2 > ceiling ? ceiling / pk2 : 1.0;
      for (k2 = 0; k2 < (size_t) W; k2++)
        if (i >= k2)
          m = fmin (m, r[i - k2]);
      env = m < env ? m : env + (m - env) * rel;
      e[i] = env;
      avg = 0.0;
      for (k2 = 0; k2 < (size_t) W; k2++)
        avg += i >= k2 ? e[i - k2] : 1.0;
      avg /= W;
      /* output at frame i + 3: input frame i - LA times avg */
      for (c = 0; c < 2; c++)
        if (i + 3 < n) {
          double ref = i >= (size_t) LA ? x[2 * (i - LA) + c] * avg : 0.0;
          worst = fmax (worst, fabs (y[2 * (i + 3) + c] - ref));
        }
    }
    free (r);
    free (e);
  }
  return worst;
}

static void
test_limiter (void)
{
  const size_t n = 4 * RATE;
  float *x = make_music (n, 2, 0.5, 9), *y = malloc (n * 2 * sizeof (float));
  MusaFxParams p;
  MusaFx *fx;
  double ceiling, pk = 0.0, tp;
  size_t i;
  int64_t D;

  /* loud transients every 100 ms, on one channel at a time: 2 kHz bursts
   * with an instant attack, up to +12 dB over the ceiling */
  for (i = 0; i < n; i += 4410) {
    size_t k;
    double amp = 1.0 + 0.1 * (i / 4410 % 30);
    for (k = 0; k < 441 && i + k < n; k++)
      x[2 * (i + k) + (i / 4410) % 2] +=
          (float) (amp * exp (-(double) k / 100.0) * sin (2 * M_PI * 2000.0 *
              k / RATE + 0.3));
  }
  natural_params (MUSA_FX_LIMITER, &p);
  p.p.limiter.ceiling_db = -1.0;
  p.p.limiter.lookahead_ms = 2.0;
  p.p.limiter.release_ms = 50.0;
  ceiling = pow (10.0, -1.0 / 20.0);
  fx = new_fx (&p, RATE, 2);
  if (!fx)
    return;
  D = musa_fx_latency (fx);
  /* look-ahead 2 ms = 88 frames, plus 3 for the true-peak detection */
  CHECK (D == 91, "latency %lld", (long long) D);
  CHECK (musa_fx_tail (fx) == D, "tail");
  memcpy (y, x, n * 2 * sizeof (float));
  musa_fx_process (fx, y, n);
  for (i = 0; i < 2 * n; i++)
    pk = fmax (pk, fabs (y[i]));
  CHECK (pk <= ceiling, "sample peak %.9f above the ceiling %.9f", pk, ceiling);
  CHECK (pk > ceiling * 0.98, "peak %.4f: the limiter should reach the "
      "ceiling", pk);
  /* linked: both channels get the same gain; output = delayed input * g */
  for (i = D; i < n; i++) {
    double gl = fabs (x[2 * (i - D)]) > 1e-3 ? y[2 * i] / x[2 * (i - D)] : -1;
    double gr = fabs (x[2 * (i - D) + 1]) > 1e-3 ?
        y[2 * i + 1] / x[2 * (i - D) + 1] : -1;
    if (gl > 0 && gr > 0 && fabs (y[2 * i]) < ceiling * 0.999
        && fabs (y[2 * i + 1]) < ceiling * 0.999)
      CHECK (fabs (gl - gr) < 1e-5, "frame %zu gains %f %f", i, gl, gr);
    CHECK (gl <= 1.0 + 1e-6 && gr <= 1.0 + 1e-6, "gain above 1");
  }
  /* the same output as a brute-force model of the documented algorithm */
  CHECK (limiter_model_error (x, y, n, D, ceiling) < 1e-5,
      "limiter differs from its model by %g", limiter_model_error (x, y, n,
          D, ceiling));
  /* also where the gain returns to 1 between loud passages (the idle
   * blocks take a shorter path): bursts 1.5 s apart over quiet music */
  {
    float *x2 = make_music (n, 2, 0.3, 4), *y2 =
        malloc (n * 2 * sizeof (float));
    size_t k;

    for (i = RATE / 2; i < n; i += 3 * RATE / 2)
      for (k = 0; k < 2000 && i + k < n; k++)
        x2[2 * (i + k)] += (float) (1.5 * exp (-(double) k / 300.0) *
            sin (2 * M_PI * 150.0 * k / RATE));
    musa_fx_reset (fx);
    memcpy (y2, x2, n * 2 * sizeof (float));
    musa_fx_process (fx, y2, n);
    CHECK (limiter_model_error (x2, y2, n, D, ceiling) < 1e-5,
        "with quiet gaps, the limiter differs from its model by %g",
        limiter_model_error (x2, y2, n, D, ceiling));
    free (x2);
    free (y2);
  }
  tp = fmax (true_peak (y, n / 4, 2, 0), true_peak (y, n / 4, 2, 1));
  printf ("# limiter: sample peak %.4f dBFS, true peak %.3f dBFS (ceiling "
      "-1 dBFS)\n", 20 * log10 (pk), 20 * log10 (tp));
  CHECK (20 * log10 (tp) < -1.0 + 0.1, "true peak %.3f dBFS", 20 * log10 (tp));
  /* a quiet signal passes unchanged, delayed by exactly the latency */
  musa_fx_reset (fx);
  for (i = 0; i < n; i++)
    x[2 * i] = x[2 * i + 1] = (float) (0.5 * sin (i * 0.05));
  memcpy (y, x, n * 2 * sizeof (float));
  musa_fx_process (fx, y, n);
  for (i = 0; i < (size_t) D; i++)
    CHECK (y[2 * i] == 0.0f, "pre-roll %zu", i);
  CHECK (memcmp (y + 2 * D, x, (n - D) * 2 * sizeof (float)) == 0,
      "quiet signal not exact");
  musa_fx_free (fx);
  free (x);
  free (y);
}

/* Below its ceiling the limiter's gain is exactly 1 for every look-ahead:
 * its moving average's sum over the window size rounded to 1 - 2^-53 for
 * some sizes (49 frames: 1 ms at 48 kHz; 161: 5 ms at 32 kHz), and the
 * gain, rounded towards 0, scaled the audio by 1 - 2^-24. */
static void
test_limiter_quiet_exact (void)
{
  static const struct
  {
    int rate;
    double lookahead_ms;
  } cases[] = { {48000, 1.0}, {32000, 5.0}, {44100, 2.0}, {8000, 3.0},
  {192000, 0.5}
  };
  const size_t n = 20000;
  float *x = malloc (n * 2 * sizeof (float)), *y = malloc (n * 2 *
      sizeof (float));
  size_t k, i;

  for (i = 0; i < n; i++) {
    x[2 * i] = (float) (0.5 * sin (i * 0.05));
    x[2 * i + 1] = (float) (0.3 * sin (i * 0.031));
  }
  for (k = 0; k < sizeof (cases) / sizeof (cases[0]); k++) {
    MusaFxParams p;
    MusaError err;
    MusaFx *fx;
    size_t D, diff = 0;

    memset (&p, 0, sizeof (p));
    p.type = MUSA_FX_LIMITER;
    p.p.limiter.ceiling_db = -1.0;
    p.p.limiter.lookahead_ms = cases[k].lookahead_ms;
    p.p.limiter.release_ms = 50.0;
    fx = musa_fx_new (&p, cases[k].rate, 2, &err);
    CHECK (fx != NULL, "new: %s", err.message);
    if (fx == NULL)
      continue;
    D = (size_t) musa_fx_latency (fx);
    memcpy (y, x, n * 2 * sizeof (float));
    musa_fx_process (fx, y, n);
    for (i = 0; i < 2 * (n - D); i++)
      diff += y[2 * D + i] != x[i];
    CHECK (diff == 0, "%d Hz, look-ahead %g ms: %zu samples changed",
        cases[k].rate, cases[k].lookahead_ms, diff);
    /* and again once the release after a loud passage has ended */
    for (i = 0; i < 2 * n; i++)
      y[i] = 4.0f * x[i];
    musa_fx_process (fx, y, n);
    for (i = 0; i < (size_t) cases[k].rate * 3; i += n) {
      size_t len = n < (size_t) cases[k].rate * 3 - i ? n :
          (size_t) cases[k].rate * 3 - i;
      memcpy (y, x, len * 2 * sizeof (float));
      musa_fx_process (fx, y, len);
    }
    memcpy (y, x, n * 2 * sizeof (float));
    musa_fx_process (fx, y, n);
    diff = 0;
    for (i = 0; i < 2 * (n - D); i++)
      diff += y[2 * D + i] != x[i];
    CHECK (diff == 0, "%d Hz, look-ahead %g ms, 3 s after a loud passage: "
        "%zu samples changed", cases[k].rate, cases[k].lookahead_ms, diff);
    musa_fx_free (fx);
  }
  free (x);
  free (y);
}

/* ---- reverb ---- */

/* RT60 from the Schroeder backward integral of a response, fitted between
 * -5 and -35 dB (T30 x 2). */
static double
rt60 (const float *h, size_t n, int nc, int rate)
{
  double *e = malloc (n * sizeof (double)), acc = 0.0, sx = 0, sy = 0,
      sxx = 0, sxy = 0, cnt = 0;
  size_t i;

  for (i = n; i-- > 0;) {
    int c;
    for (c = 0; c < nc; c++)
      acc += (double) h[i * nc + c] * h[i * nc + c];
    e[i] = acc;
  }
  for (i = 0; i < n; i++) {
    double db = 10 * log10 (e[i] / e[0] + 1e-300);
    if (db <= -5 && db >= -35) {
      double t = (double) i / rate;
      sx += t, sy += db, sxx += t * t, sxy += t * db, cnt++;
    }
  }
  free (e);
  if (cnt < 10)
    return 0.0;
  return -60.0 / ((cnt * sxy - sx * sy) / (cnt * sxx - sx * sx));
}

static void
test_reverb (void)
{
  static const double rooms[] = { 0.1, 0.3, 0.5, 0.7, 0.9 };
  const size_t n = 8 * RATE;
  float *h = malloc (n * 2 * sizeof (float));
  double prev = 0.0;
  int k, damp;

  for (damp = 0; damp < 2; damp++) {
    prev = 0.0;
    for (k = 0; k < 5; k++) {
      MusaFxParams p;
      MusaFx *fx;
      double t, design = 0.2 * pow (20.0, rooms[k]), el = 0, er = 0;
      size_t i;
      natural_params (MUSA_FX_REVERB, &p);
      p.p.reverb.room_size = rooms[k];
      p.p.reverb.damping = damp ? 0.5 : 0.0;
      p.p.reverb.wet = 1.0;
      p.p.reverb.predelay_ms = 0.0;
      fx = new_fx (&p, RATE, 2);
      if (!fx)
        return;
      CHECK (musa_fx_tail (fx) > design * RATE, "tail %lld",
          (long long) musa_fx_tail (fx));
      memset (h, 0, n * 2 * sizeof (float));
      h[0] = h[1] = 1.0f;
      musa_fx_process (fx, h, n);
      t = rt60 (h, n, 2, RATE);
      printf ("# reverb room %.1f damping %.1f: RT60 %.3f s (design at low "
          "frequencies %.3f s)\n", rooms[k], p.p.reverb.damping, t, design);
      CHECK (t > prev * 1.3, "RT60 %.3f s does not grow (previous %.3f s)", t,
          prev);
      if (!damp)
        CHECK (fabs (t / design - 1) < 0.2, "undamped RT60 %.3f vs design "
            "%.3f", t, design);
      else
        CHECK (t < design, "damping shortens");
      prev = t;
      /* centred: both channels carry the same energy within 1 dB */
      for (i = 0; i < n; i++)
        el += (double) h[2 * i] * h[2 * i], er += (double) h[2 * i + 1] *
            h[2 * i + 1];
      CHECK (fabs (10 * log10 (el / er)) < 1.0, "L/R %.2f dB",
          10 * log10 (el / er));
      musa_fx_free (fx);
    }
  }
  free (h);

  /* the wet signal is about as loud as the dry one (music, within 3 dB) */
  {
    const size_t m = 6 * RATE;
    float *x = make_music (m, 2, 0.8, 23), *y = malloc (m * 2 * sizeof (float));
    double wets[] = { 0.3, 1.0 };
    for (k = 0; k < 5; k += 2) {
      int wi;
      for (wi = 0; wi < 2; wi++) {
        MusaFxParams p;
        MusaFx *fx;
        double d;
        natural_params (MUSA_FX_REVERB, &p);
        p.p.reverb.room_size = rooms[k];
        p.p.reverb.wet = wets[wi];
        fx = new_fx (&p, RATE, 2);
        if (!fx)
          continue;
        memcpy (y, x, m * 2 * sizeof (float));
        musa_fx_process (fx, y, m);
        d = rms_db (y, 2 * m) - rms_db (x, 2 * m);
        printf ("# reverb room %.1f wet %.1f on music: level %+.2f dB\n",
            rooms[k], wets[wi], d);
        CHECK (fabs (d) < 3.0, "reverb level change %.2f dB", d);
        musa_fx_free (fx);
      }
    }
    free (x);
    free (y);
  }
}

/* ---- echo, chorus, distortion ---- */

static void
test_echo (void)
{
  const size_t n = RATE;
  float *x = calloc (n * 2, sizeof (float));
  MusaFxParams p;
  MusaFx *fx;
  size_t i, D;

  natural_params (MUSA_FX_ECHO, &p);
  p.p.echo.delay_ms = 123.4;
  p.p.echo.feedback = 0.5;
  p.p.echo.mix = 0.25;
  D = (size_t) lround (123.4e-3 * RATE);
  fx = new_fx (&p, RATE, 2);
  if (!fx)
    return;
  CHECK (musa_fx_tail (fx) >= (int64_t) (3 * D), "tail %lld",
      (long long) musa_fx_tail (fx));
  x[2 * 100] = 1.0f;
  x[2 * 100 + 1] = -0.5f;
  musa_fx_process (fx, x, n);
  for (i = 0; i < n; i++) {
    float l = 0.0f, r = 0.0f;
    if (i == 100)
      l = 1.0f, r = -0.5f;
    else if (i > 100 && (i - 100) % D == 0) {
      int k = (int) ((i - 100) / D);
      l = 0.25f * powf (0.5f, k - 1);
      r = -0.5f * l;
    }
    CHECK (x[2 * i] == l && x[2 * i + 1] == r, "frame %zu: %g %g, expected "
        "%g %g", i, x[2 * i], x[2 * i + 1], l, r);
  }
  musa_fx_free (fx);
  free (x);
}

static void
test_chorus (void)
{
  const size_t n = 5 * RATE;
  float *x = make_music (n, 2, 0.8, 11), *y = malloc (n * 2 * sizeof (float));
  MusaRng rng;
  double mix;
  size_t i;
  int sig;

  musa_rng_init (&rng, 77);
  for (sig = 0; sig < 2; sig++) {
    if (sig == 1)               /* white noise */
      for (i = 0; i < 2 * n; i++)
        x[i] = (float) (0.2 * musa_rng_normal (&rng));
    for (mix = 0.2; mix <= 0.81; mix += 0.3) {
      MusaFxParams p;
      MusaFx *fx;
      double d;
      natural_params (MUSA_FX_CHORUS, &p);
      p.p.chorus.mix = mix;
      fx = new_fx (&p, RATE, 2);
      if (!fx)
        return;
      memcpy (y, x, n * 2 * sizeof (float));
      musa_fx_process (fx, y, n);
      d = rms_db (y, 2 * n) - rms_db (x, 2 * n);
      printf ("# chorus mix %.1f on %s: level change %+.3f dB\n", mix,
          sig ? "white noise" : "music", d);
      CHECK (fabs (d) < 1.0, "chorus changes the level by %.2f dB", d);
      musa_fx_free (fx);
    }
  }
  /* identical channels stay identical (one LFO) */
  {
    MusaFxParams p;
    MusaFx *fx;
    natural_params (MUSA_FX_CHORUS, &p);
    fx = new_fx (&p, RATE, 2);
    for (i = 0; i < n; i++)
      y[2 * i] = y[2 * i + 1] = x[2 * i];
    musa_fx_process (fx, y, n);
    for (i = 0; i < n; i++)
      if (y[2 * i] != y[2 * i + 1])
        break;
    CHECK (i == n, "channels diverge at %zu", i);
    musa_fx_free (fx);
  }
  free (x);
  free (y);
}

static void
test_distortion (void)
{
  const size_t n = 20001;
  float *x = malloc (n * sizeof (float));
  MusaFxParams p;
  MusaFx *fx;
  double worst = 0.0;
  size_t i;

  natural_params (MUSA_FX_DISTORTION, &p);
  p.p.distortion.drive_db = 20.0 * log10 (6.0);
  p.p.distortion.mix = 1.0;
  fx = new_fx (&p, RATE, 1);
  for (i = 0; i < n; i++)
    x[i] = (float) (i / 10000.0 - 1.0);
  musa_fx_process (fx, x, n);
  for (i = 0; i < n; i++)
    worst = fmax (worst, fabs (x[i] - tanh (6.0 * (i / 10000.0 - 1.0)) / 6.0));
  CHECK (worst < 1e-4 / 6.0, "tanh off by %g", worst);
  musa_fx_free (fx);

  p.p.distortion.mode = MUSA_DIST_CLIP;
  p.p.distortion.drive_db = 6.0;
  p.p.distortion.mix = 0.5;
  fx = new_fx (&p, RATE, 1);
  for (i = 0; i < n; i++)
    x[i] = (float) (i / 10000.0 - 1.0);
  musa_fx_process (fx, x, n);
  for (i = 0; i < n; i++) {
    double in = i / 10000.0 - 1.0, g = pow (10.0, 0.3);
    double w = fmax (-1.0, fmin (1.0, g * in)) / g;
    CHECK (fabs (x[i] - (0.5 * w + 0.5 * in)) < 1e-6, "clip at %zu", i);
  }
  musa_fx_free (fx);

  /* the level stays: music at -18 dBFS RMS through tanh at 20 dB of drive
   * (mix 0.3) comes out within 1.5 dB of its level, and below it (the
   * wet path saturates; uncompensated it was 7-8 dB louder) */
  {
    const size_t m = 4 * RATE;
    float *y = make_music (m, 1, 0.5, 3);
    double e0 = 0.0, e1 = 0.0, k;
    MusaFxParams q = p;

    for (i = 0; i < m; i++)
      e0 += (double) y[i] * y[i];
    k = pow (10.0, -18.0 / 20.0) / sqrt (e0 / m);
    e0 = 0.0;
    for (i = 0; i < m; i++) {
      y[i] = (float) (y[i] * k);
      e0 += (double) y[i] * y[i];
    }
    q.p.distortion.mode = MUSA_DIST_TANH;
    q.p.distortion.drive_db = 20.0;
    q.p.distortion.mix = 0.3;
    fx = new_fx (&q, RATE, 1);
    musa_fx_process (fx, y, m);
    for (i = 0; i < m; i++)
      e1 += (double) y[i] * y[i];
    CHECK (10.0 * log10 (e1 / e0) > -1.5 && e1 <= e0,
        "level change %.2f dB", 10.0 * log10 (e1 / e0));
    musa_fx_free (fx);
    free (y);
  }

  p.p.distortion.mode = MUSA_DIST_BITCRUSH;
  p.p.distortion.drive_db = 0.0;
  p.p.distortion.mix = 1.0;
  p.p.distortion.bits = 4;
  fx = new_fx (&p, RATE, 1);
  for (i = 0; i < n; i++)
    x[i] = (float) (i / 10000.0 - 1.0);
  musa_fx_process (fx, x, n);
  for (i = 0; i < n; i++) {
    double in = i / 10000.0 - 1.0;
    CHECK (x[i] * 8.0f == rintf (x[i] * 8.0f)
        && fabs (x[i] - in) <= 1.0 / 16 + 1e-6, "bitcrush %zu: %g", i, x[i]);
  }
  musa_fx_free (fx);
  free (x);
}

/* ---- noise ---- */

static void
test_noise_snr (void)
{
  const size_t n = 20 * RATE;
  float *x = malloc (n * 2 * sizeof (float)), *y =
      malloc (n * 2 * sizeof (float));
  static const double snrs[] = { 0.0, 10.0, 20.0, 35.0 };
  double worst = 0.0;
  size_t i;
  int sig, colour, k;

  for (sig = 0; sig < 2; sig++) {
    MusaRng rng;
    musa_rng_init (&rng, 5);
    for (i = 0; i < n; i++) {
      if (sig == 0) {           /* steady sines, different per channel */
        x[2 * i] = (float) (0.5 * sin (2 * M_PI * 440.0 * i / RATE));
        x[2 * i + 1] = (float) (0.25 * sin (2 * M_PI * 660.0 * i / RATE));
      } else {                  /* steady brown-ish noise */
        x[2 * i] = (float) (0.1 * musa_rng_normal (&rng));
        x[2 * i + 1] = x[2 * i] * 0.5f;
      }
    }
    for (colour = 0; colour < 2; colour++)
      for (k = 0; k < 4; k++) {
        MusaFxParams p;
        MusaFx *fx;
        double es = 0.0, en = 0.0, snr;
        natural_params (MUSA_FX_NOISE, &p);
        p.p.noise.colour = colour;
        p.p.noise.snr_db = snrs[k];
        p.p.noise.seed = 1000 + k;
        fx = new_fx (&p, RATE, 2);
        if (!fx)
          return;
        memcpy (y, x, n * 2 * sizeof (float));
        musa_fx_process (fx, y, n);
        for (i = 0; i < 2 * n; i++) {
          double d = (double) y[i] - x[i];
          es += (double) x[i] * x[i];
          en += d * d;
        }
        snr = 10 * log10 (es / en);
        worst = fmax (worst, fabs (snr - snrs[k]));
        CHECK (fabs (snr - snrs[k]) < 0.2, "%s noise on %s: SNR %.3f dB, "
            "asked %.1f", colour ? "pink" : "white", sig ? "noise" : "sines",
            snr, snrs[k]);
        musa_fx_free (fx);
      }
  }
  printf ("# noise: worst SNR error %.3f dB (20 s stereo)\n", worst);
  /* on music the level follows the signal 1 s behind, held at its peaks:
   * over 20 s the SNR lands within 0.5 dB (19.6 dB; the quieter passages
   * get the louder ones' noise floor) */
  {
    float *m = make_music (n, 2, 0.8, 29);
    MusaFxParams p;
    MusaFx *fx;
    double es = 0.0, en = 0.0, snr;
    natural_params (MUSA_FX_NOISE, &p);
    p.p.noise.snr_db = 20.0;
    fx = new_fx (&p, RATE, 2);
    if (fx) {
      memcpy (y, m, n * 2 * sizeof (float));
      musa_fx_process (fx, y, n);
      for (i = 0; i < 2 * n; i++) {
        double d = (double) y[i] - m[i];
        es += (double) m[i] * m[i];
        en += d * d;
      }
      snr = 10 * log10 (es / en);
      printf ("# noise on music: SNR %.3f dB, asked 20 dB\n", snr);
      CHECK (fabs (snr - 20.0) < 0.5, "SNR on music %.3f dB", snr);
      musa_fx_free (fx);
    }
    free (m);
  }
  free (x);
  free (y);
}

/* The noise floor stays put when the music stops: 5 s of a tone, a 1 s
 * fade-out, 4 s of silence; the noise's level in the last 2 s is within
 * 3 dB of its level under the tone (1.7 dB; a 1 s level follower left it
 * 15 dB lower: the noise breathed with the music like a gate). */
static void
test_noise_floor_held (void)
{
  const size_t n = 10 * RATE;
  float *x = malloc (n * 2 * sizeof (float)), *y =
      malloc (n * 2 * sizeof (float));
  MusaFxParams p;
  MusaFx *fx;
  double under = 0.0, after = 0.0, drop;
  size_t i;

  for (i = 0; i < n; i++) {
    double t = (double) i / RATE, g = t < 5.0 ? 1.0 : t < 6.0 ? 6.0 - t : 0.0;
    x[2 * i] = x[2 * i + 1] = (float) (0.5 * g * sin (2 * M_PI * 330.0 * t));
  }
  natural_params (MUSA_FX_NOISE, &p);
  p.p.noise.snr_db = 20.0;
  fx = new_fx (&p, RATE, 2);
  if (fx) {
    memcpy (y, x, n * 2 * sizeof (float));
    musa_fx_process (fx, y, n);
    for (i = 2 * RATE; i < 5 * RATE; i++)
      under += pow ((double) y[2 * i] - x[2 * i], 2.0) / (3.0 * RATE);
    for (i = 8 * RATE; i < n; i++)
      after += pow ((double) y[2 * i] - x[2 * i], 2.0) / (2.0 * RATE);
    drop = 10.0 * log10 (under / fmax (after, 1e-30));
    printf ("# noise after the music stops: %.2f dB below its level under "
        "the tone\n", drop);
    CHECK (drop >= 0.0 && drop < 3.0, "noise %.2f dB lower after the music",
        drop);
    musa_fx_free (fx);
  }
  free (x);
  free (y);
}

/* Slope of a noise's spectrum in dB per octave: Hann-windowed DFT power at
 * octave-spaced frequencies (100 Hz .. 12.8 kHz) averaged over 4096-sample
 * segments, least-squares line through the dB values. */
static double
slope_db_per_octave (const float *x, size_t n)
{
  const size_t seg = 4096;
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  int k, cnt = 0;

  for (k = 0; k < 8; k++) {
    double f = 100.0 * pow (2.0, k), pw = 0.0, db;
    size_t s0, i;
    for (s0 = 0; s0 + seg <= n; s0 += seg) {
      double complex acc = 0.0;
      for (i = 0; i < seg; i++) {
        double w = 0.5 - 0.5 * cos (2 * M_PI * i / seg);
        acc += x[s0 + i] * w * cexp (-I * 2 * M_PI * f * i / RATE);
      }
      pw += creal (acc) * creal (acc) + cimag (acc) * cimag (acc);
    }
    db = 10 * log10 (pw);
    sx += k, sy += db, sxx += k * k, sxy += k * db, cnt++;
  }
  return (cnt * sxy - sx * sy) / (cnt * sxx - sx * sx);
}

static void
test_noise_seed_and_spectrum (void)
{
  const size_t n = 1 << 17;
  float *a = calloc (n, sizeof (float)), *b = calloc (n, sizeof (float));
  MusaFxParams p;
  MusaFx *fx;
  size_t i;
  double sw, sp;
  int same = 1;

  natural_params (MUSA_FX_NOISE, &p);
  p.p.noise.snr_db = 0.0;
  p.p.noise.colour = MUSA_NOISE_WHITE;
  for (i = 0; i < n; i++)
    a[i] = b[i] = 0.5f;         /* DC signal: noise rms 0.5 */
  fx = new_fx (&p, RATE, 1);
  musa_fx_process (fx, a, n);
  musa_fx_free (fx);
  p.p.noise.seed = 43;
  fx = new_fx (&p, RATE, 1);
  musa_fx_process (fx, b, n);
  musa_fx_free (fx);
  for (i = 0; i < n; i++)
    same &= a[i] == b[i];
  CHECK (!same, "different seeds give the same noise");
  /* white: zero mean, unit shape close to Gaussian (Irwin-Hall of 4 has
   * kurtosis 2.7, a Gaussian 3) */
  {
    double m1 = 0, m2 = 0, m4 = 0, kurt;
    for (i = 0; i < n; i++)
      m1 += a[i] - 0.5;
    m1 /= n;
    for (i = 0; i < n; i++) {
      double d = a[i] - 0.5 - m1;
      m2 += d * d;
      m4 += d * d * d * d;
    }
    m2 /= n;
    m4 /= n;
    kurt = m4 / (m2 * m2);
    CHECK (fabs (m1) < 0.01 && fabs (kurt - 2.7) < 0.1, "white noise mean "
        "%.4f kurtosis %.3f", m1, kurt);
  }

  p.p.noise.colour = MUSA_NOISE_PINK;
  for (i = 0; i < n; i++)
    b[i] = 0.5f;
  fx = new_fx (&p, RATE, 1);
  musa_fx_process (fx, b, n);
  musa_fx_free (fx);
  sw = slope_db_per_octave (a, n);
  sp = slope_db_per_octave (b, n);
  printf ("# noise spectrum slope: white %+.2f dB/octave, pink %+.2f "
      "dB/octave\n", sw, sp);
  CHECK (fabs (sw) < 0.5, "white slope %.2f dB/octave", sw);
  CHECK (fabs (sp + 3.0) < 0.5, "pink slope %.2f dB/octave", sp);
  free (a);
  free (b);
}

/* ---- denormals: silence after signal ---- */

/* ORC's compiled kernels leave flush-to-zero / denormals-are-zero set in
 * the thread's MXCSR (x86): clear them so that the effects' own flushing is
 * what the tests see. */
static void
hardware_denormals_on (void)
{
#if defined(__SSE__) || defined(__x86_64__)
  _mm_setcsr (_mm_getcsr () & ~0x8040u);
#endif
}

static void
test_denormals (void)
{
  const size_t sig = RATE, sil = 40 * RATE;
  float *x = make_music (sig + sil, 2, 0.9, 13);
  float *y = malloc ((sig + sil) * 2 * sizeof (float));
  int t, input;

  /* music (stereo), then a lone impulse (mono: the cleanest decay) */
  for (input = 0; input < 2; input++)
    for (t = 0; t < MUSA_FX_N_TYPES; t++) {
      MusaFxParams p;
      MusaFx *fx;
      const int nc = input == 0 ? 2 : 1;
      size_t i, sub = 0, nonzero = 0;
      natural_params (t, &p);
      if (t == MUSA_FX_REVERB)
        p.p.reverb.room_size = 1.0;     /* the longest tail: 4 s */
      if (t == MUSA_FX_ECHO)
        p.p.echo.feedback = 0.7;        /* 0.7^160 after 40 s: flushed */
      fx = new_fx (&p, RATE, nc);
      if (!fx)
        continue;
      memset (y, 0, (sig + sil) * nc * sizeof (float));
      if (input == 0)
        memcpy (y, x, sig * 2 * sizeof (float));
      else
        y[sig - 1] = 0.9f;
      hardware_denormals_on ();
      musa_fx_process (fx, y, sig + sil);
      for (i = 0; i < (sig + sil) * nc; i++) {
        if (fpclassify (y[i]) == FP_SUBNORMAL)
          sub++;
        if (i >= (sig + sil - RATE) * nc && y[i] != 0.0f)
          nonzero++;
      }
      CHECK (sub == 0, "%s (%s): %zu subnormal output samples",
          musa_fx_type_name (t), input ? "impulse" : "music", sub);
      /* every effect but the noise (which follows the signal's level down
       * with a 1 s time constant) is exactly silent 39 s later */
      if (t != MUSA_FX_NOISE)
        CHECK (nonzero == 0, "%s: %zu non-zero samples in the last second",
            musa_fx_type_name (t), nonzero);
      musa_fx_free (fx);
    }
  free (x);
  free (y);
}

/* After a long silence the state is exactly zero (not denormal, not
 * lingering): a probe then gives the same bytes as on a fresh object. */
static void
test_state_zero_after_silence (void)
{
  static const MusaFxType types[] = { MUSA_FX_EQ, MUSA_FX_COMPRESSOR,
    MUSA_FX_LIMITER, MUSA_FX_REVERB, MUSA_FX_ECHO
  };
  const size_t sig = RATE, sil = 40 * RATE, pn = RATE / 2;
  float *x = make_music (sig + sil, 2, 0.9, 31), *probe =
      make_music (pn, 2, 0.9, 37);
  float *a = malloc (pn * 2 * sizeof (float)), *b =
      malloc (pn * 2 * sizeof (float));
  int k;

  memset (x + sig * 2, 0, sil * 2 * sizeof (float));
  /* the probe starts with 0.1 s of silence: any state left shows there */
  memset (probe, 0, RATE / 10 * 2 * sizeof (float));
  for (k = 0; k < 5; k++) {
    MusaFxParams p;
    MusaFx *used, *fresh;
    natural_params (types[k], &p);
    if (types[k] == MUSA_FX_ECHO)
      p.p.echo.feedback = 0.7;
    if (types[k] == MUSA_FX_EQ) {
      /* slow poles: without flushing, the state would still be ~1e-70
       * after 40 s */
      p.p.eq.shape = MUSA_EQ_HIGH_PASS;
      p.p.eq.freq_hz = 20.0;
      p.p.eq.q = 0.707;
    }
    used = new_fx (&p, RATE, 2);
    fresh = new_fx (&p, RATE, 2);
    if (!used || !fresh)
      continue;
    hardware_denormals_on ();
    musa_fx_process (used, x, sig + sil);
    memcpy (a, probe, pn * 2 * sizeof (float));
    memcpy (b, probe, pn * 2 * sizeof (float));
    musa_fx_process (used, a, pn);
    musa_fx_process (fresh, b, pn);
    CHECK (memcmp (a, b, pn * 2 * sizeof (float)) == 0,
        "%s: state not back to zero after 40 s of silence",
        musa_fx_type_name (types[k]));
    musa_fx_free (used);
    musa_fx_free (fresh);
  }
  free (x);
  free (probe);
  free (a);
  free (b);
}

/* ---- draining: the tail covers the audible output ---- */

static void
test_tail (void)
{
  static const MusaFxType types[] = { MUSA_FX_REVERB, MUSA_FX_ECHO,
    MUSA_FX_CHORUS, MUSA_FX_LIMITER, MUSA_FX_EQ
  };
  int k;

  for (k = 0; k < 5; k++) {
    MusaFxParams p;
    MusaFx *fx;
    size_t n = RATE / 2, tail, i, total;
    float *x;
    double e_in = 0.0, e_after = 0.0;
    natural_params (types[k], &p);
    fx = new_fx (&p, RATE, 2);
    if (!fx)
      continue;
    tail = (size_t) musa_fx_tail (fx);
    CHECK (tail > 0, "%s has a tail", musa_fx_type_name (types[k]));
    total = n + tail + RATE;
    x = make_music (total, 2, 0.9, 17);
    memset (x + n * 2, 0, (total - n) * 2 * sizeof (float));
    musa_fx_process (fx, x, total);
    for (i = 0; i < n * 2; i++)
      e_in += (double) x[i] * x[i];
    for (i = (n + tail) * 2; i < total * 2; i++)
      e_after += (double) x[i] * x[i];
    /* less than -60 dB of the signal's energy after the tail */
    CHECK (e_after < 1e-6 * e_in, "%s: %.1f dB after the tail",
        musa_fx_type_name (types[k]), 10 * log10 (e_after / e_in + 1e-300));
    free (x);
    musa_fx_free (fx);
  }
}

/* Many channels and odd rates work (and the noise stays finite). */
static void
test_rates_channels (void)
{
  static const int rates[] = { 8000, 22050, 192000 };
  int r, t, ch;

  for (r = 0; r < 3; r++)
    for (ch = 1; ch <= 8; ch += 7)
      for (t = 0; t < MUSA_FX_N_TYPES; t++) {
        MusaFxParams p;
        MusaFx *fx;
        size_t n = rates[r] / 4, i, bad = 0;
        float *x = make_music (n, ch, 0.9, 19);
        natural_params (t, &p);
        if (t == MUSA_FX_EQ)
          p.p.eq.freq_hz = 0.4 * rates[r];
        fx = new_fx (&p, rates[r], ch);
        if (!fx) {
          free (x);
          continue;
        }
        musa_fx_process (fx, x, n);
        for (i = 0; i < n * ch; i++)
          bad += !isfinite (x[i]) || fabsf (x[i]) > 10.0f;
        CHECK (bad == 0, "%s at %d Hz, %d ch: %zu bad samples",
            musa_fx_type_name (t), rates[r], ch, bad);
        musa_fx_free (fx);
        free (x);
      }
}

int
main (void)
{
  musa_test_run ("names, describe, check", test_names_describe_check);
  musa_test_run ("identity is bit-exact", test_identity);
  musa_test_run ("chunk invariance", test_chunk_invariance);
  musa_test_run ("gain", test_gain);
  musa_test_run ("eq vs RBJ cookbook", test_eq);
  musa_test_run ("compressor static curve", test_compressor_static_curve);
  musa_test_run ("compressor attack, linked", test_compressor_timing_and_link);
  musa_test_run ("compressor auto makeup", test_compressor_auto_makeup);
  musa_test_run ("limiter ceiling, latency", test_limiter);
  musa_test_run ("limiter quiet exact", test_limiter_quiet_exact);
  musa_test_run ("reverb RT60", test_reverb);
  musa_test_run ("echo delay exact", test_echo);
  musa_test_run ("chorus keeps level", test_chorus);
  musa_test_run ("distortion", test_distortion);
  musa_test_run ("noise SNR", test_noise_snr);
  musa_test_run ("noise floor held", test_noise_floor_held);
  musa_test_run ("noise seed, colour", test_noise_seed_and_spectrum);
  musa_test_run ("denormals after silence", test_denormals);
  musa_test_run ("state zero after silence", test_state_zero_after_silence);
  musa_test_run ("tail drains", test_tail);
  musa_test_run ("rates and channels", test_rates_channels);
  return musa_test_summary ();
}
