/* Unit tests of src/stretch: lengths, pitch accuracy of sines and of a chord
 * (long FFT + quadratic peak interpolation), click-track tempo, alignment,
 * chunk invariance, identity, stereo coherence, silence, bad input. */
#include "stretch/stretch.h"
#include "core/fft.h"
#include "core/synth.h"
#include "musatest.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SR 44100

static MusaStretchConfig
cfg_make (int sr, int channels, double rate, double semitones)
{
  MusaStretchConfig c;

  c.sample_rate = sr;
  c.channels = channels;
  c.rate = rate;
  c.semitones = semitones;
  return c;
}

/* Runs a whole stream through a fresh stretcher in chunks of @chunk frames;
 * returns the malloc'd output and its frame count in *out_n. Also checks that
 * no call produces more than musa_stretch_max_output promised. */
static float *
run (const MusaStretchConfig * cfg, const float *in, size_t n, size_t chunk,
    size_t *out_n)
{
  MusaError err;
  MusaStretch *st = musa_stretch_new (cfg, &err);
  size_t cap, total = 0, done = 0, got, bound;
  float *out, *tmp;
  int C = cfg->channels;

  *out_n = 0;
  CHECK (st != NULL, "new failed: %s", err.message);
  if (st == NULL)
    return NULL;
  cap = musa_stretch_max_output (st, n) + musa_stretch_max_output (st, 0) * 4;
  out = calloc (cap * C, sizeof (float));
  bound = musa_stretch_max_output (st, chunk);
  if (musa_stretch_max_output (st, 0) > bound)
    bound = musa_stretch_max_output (st, 0);
  tmp = malloc (bound * C * sizeof (float));
  while (done < n) {
    size_t m = n - done < chunk ? n - done : chunk;
    size_t lim = musa_stretch_max_output (st, m);
    int r = musa_stretch_process (st, in + done * C, m, tmp, bound, &got);
    CHECK (r == MUSA_OK, "process returned %d", r);
    CHECK (got <= lim, "produced %zu > max_output %zu", got, lim);
    if (total + got > cap)
      break;
    memcpy (out + total * C, tmp, got * C * sizeof (float));
    total += got;
    done += m;
  }
  for (;;) {
    int r = musa_stretch_finish (st, tmp, bound, &got);
    CHECK (r == MUSA_OK, "finish returned %d", r);
    if (r != MUSA_OK || got == 0 || total + got > cap)
      break;
    CHECK (got <= musa_stretch_max_output (st, 0), "finish produced %zu", got);
    memcpy (out + total * C, tmp, got * C * sizeof (float));
    total += got;
  }
  free (tmp);
  musa_stretch_free (st);
  *out_n = total;
  return out;
}

static float *
music (int sr, size_t n, uint64_t seed, int drums)
{
  MusaSynthConfig sc;
  float *x = malloc (n * sizeof (float));

  musa_synth_config_default (&sc);
  sc.sample_rate = sr;
  sc.seed = seed;
  sc.drums = drums;
  musa_synth_music (&sc, x, n, NULL);
  return x;
}

/* Frequency of the strongest peak of x (stride channels) within
 * [lo, hi] Hz: Hann window, zero padding x4, quadratic interpolation of the
 * log magnitude. */
static double
peak_freq (const float *x, size_t n, int stride, int sr, double lo, double hi,
    double *level)
{
  int nfft = 1, i, bins, b0, b1, best = -1;
  MusaFft *fft;
  float *re, *X;
  double bm = -1.0, a, b, c, d;

  while ((size_t) nfft < 4 * n)
    nfft *= 2;
  fft = musa_fft_new (nfft, NULL);
  re = musa_fft_real (fft);
  X = musa_fft_complex (fft);
  bins = musa_fft_bins (fft);
  memset (re, 0, sizeof (float) * nfft);
  for (i = 0; i < (int) n; i++)
    re[i] = x[(size_t) i * stride] * (float) (0.5 - 0.5 * cos (2.0 * M_PI * i
            / n));
  musa_fft_forward (fft);
  b0 = (int) floor (lo * nfft / sr);
  b1 = (int) ceil (hi * nfft / sr);
  if (b0 < 1)
    b0 = 1;
  if (b1 > bins - 2)
    b1 = bins - 2;
  for (i = b0; i <= b1; i++) {
    double m = (double) X[2 * i] * X[2 * i] + (double) X[2 * i + 1] * X[2 * i
        + 1];
    if (m > bm) {
      bm = m;
      best = i;
    }
  }
  a = 0.5 * log ((double) X[2 * best - 2] * X[2 * best - 2]
      + (double) X[2 * best - 1] * X[2 * best - 1] + 1e-30);
  b = 0.5 * log (bm + 1e-30);
  c = 0.5 * log ((double) X[2 * best + 2] * X[2 * best + 2]
      + (double) X[2 * best + 3] * X[2 * best + 3] + 1e-30);
  d = 0.5 * (a - c) / (a - 2.0 * b + c);
  if (level)
    *level = exp (b - 0.25 * (a - c) * d) * 4.0 / n;    /* sine amplitude */
  musa_fft_free (fft);
  return (best + d) * (double) sr / nfft;
}

static void
test_config (void)
{
  MusaStretchConfig c;
  MusaError err;

  c = cfg_make (SR, 2, 1.1, 0);
  CHECK (musa_stretch_config_check (&c, &err) == MUSA_OK, "valid refused");
  c = cfg_make (4000, 2, 1.1, 0);
  CHECK (musa_stretch_config_check (&c, &err) == MUSA_ERR_INVALID
      && strcmp (err.property, "sample-rate") == 0, "rate 4000: %s",
      err.property);
  c = cfg_make (SR, 9, 1.1, 0);
  CHECK (musa_stretch_new (&c, &err) == NULL
      && strcmp (err.property, "channels") == 0, "9 channels");
  c = cfg_make (SR, 0, 1.1, 0);
  CHECK (musa_stretch_config_check (&c, &err) != MUSA_OK, "0 channels");
  c = cfg_make (SR, 2, 0.4, 0);
  CHECK (musa_stretch_config_check (&c, &err) == MUSA_ERR_INVALID
      && strcmp (err.property, "rate") == 0, "rate 0.4");
  c = cfg_make (SR, 2, NAN, 0);
  CHECK (musa_stretch_config_check (&c, &err) != MUSA_OK, "rate NaN");
  c = cfg_make (SR, 2, 1.0, 12.5);
  CHECK (musa_stretch_config_check (&c, &err) == MUSA_ERR_INVALID
      && strcmp (err.property, "semitones") == 0, "semitones 12.5");
  c = cfg_make (SR, 2, 1.0, INFINITY);
  CHECK (musa_stretch_new (&c, &err) == NULL, "semitones inf");
  CHECK (musa_stretch_config_check (NULL, &err) != MUSA_OK, "NULL cfg");
}

static void
test_length (void)
{
  static const double cases[][2] = {
    {0.5, 0}, {0.8, 0}, {0.93, 0}, {1.25, 0}, {2.0, 0}, {1.0, 2}, {1.0, -2},
    {0.9, 3}, {1.1, -7}, {0.5, 12}, {2.0, -12}, {2.0, 12}, {0.5, -12},
  };
  static const size_t lens[] = { 1, 999, 50001 };
  size_t i, j, on;
  float *x = music (SR, 50001, 3, 1);

  for (i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
    for (j = 0; j < 3; j++) {
      MusaStretchConfig c = cfg_make (SR, 1, cases[i][0], cases[i][1]);
      float *y = run (&c, x, lens[j], 4096, &on);
      long want = lround (lens[j] / cases[i][0]);
      CHECK (labs ((long) on - want) <= 1,
          "rate %g semitones %g n %zu: %zu frames, want %ld", cases[i][0],
          cases[i][1], lens[j], on, want);
      free (y);
    }
  }
  /* other rates and channel counts */
  {
    MusaStretchConfig c = cfg_make (8000, 1, 0.8, 2);
    float *y = run (&c, x, 20000, 333, &on);
    CHECK (on == 25000, "8 kHz: %zu", on);
    free (y);
  }
  {
    size_t n = 30000, k;
    float *x8 = malloc (n * 8 * sizeof (float));
    MusaStretchConfig c = cfg_make (192000, 8, 1.25, -3);
    float *y;
    for (k = 0; k < n * 8; k++)
      x8[k] = x[k / 8] * (float) (1 + k % 8) / 8.0f;
    y = run (&c, x8, n, 4096, &on);
    CHECK (on == 24000, "192 kHz x8: %zu", on);
    free (y);
    free (x8);
  }
  free (x);
}

/* cents between measured and wanted */
static double
cents (double f, double want)
{
  return 1200.0 * log2 (f / want);
}

static void
test_pitch_sines (void)
{
  static const double freqs[] = { 110.0, 440.0, 1234.5, 3520.0, 9000.0 };
  static const double semis[] = { -12, -7, -2, -1, 1, 2, 5, 12 };
  size_t n = (size_t) (2.5 * SR), i, j, k, on;
  float *x = malloc (n * sizeof (float));
  double worst = 0.0;

  for (i = 0; i < sizeof (freqs) / sizeof (freqs[0]); i++) {
    for (k = 0; k < n; k++)
      x[k] = 0.5f * (float) sin (2.0 * M_PI * freqs[i] * k / SR);
    for (j = 0; j < sizeof (semis) / sizeof (semis[0]); j++) {
      MusaStretchConfig c = cfg_make (SR, 1, 1.0, semis[j]);
      double want = freqs[i] * pow (2.0, semis[j] / 12.0), f, lev, e;
      float *y = run (&c, x, n, 4096, &on);
      size_t a = SR / 2, len = on - SR;
      f = peak_freq (y + a, len, 1, SR, want * 0.9, want * 1.1, &lev);
      e = cents (f, want);
      if (fabs (e) > worst)
        worst = fabs (e);
      CHECK (fabs (e) < 1.0, "sine %g Hz %+g st: %.3f Hz, want %.3f (%.3f "
          "cents)", freqs[i], semis[j], f, want, e);
      CHECK (fabs (20 * log10 (lev / 0.5)) < 1.0, "sine %g Hz %+g st: level "
          "%.3f", freqs[i], semis[j], lev);
      free (y);
    }
  }
  /* stretch alone keeps the pitch; stretch + shift */
  for (k = 0; k < n; k++)
    x[k] = 0.5f * (float) sin (2.0 * M_PI * 440.0 * k / SR);
  {
    static const double rs[][2] = { {0.8, 0}, {1.25, 0}, {0.5, 0}, {2, 0},
    {0.8, 2}, {1.25, -2}
    };
    for (j = 0; j < 6; j++) {
      MusaStretchConfig c = cfg_make (SR, 1, rs[j][0], rs[j][1]);
      double want = 440.0 * pow (2.0, rs[j][1] / 12.0), f, e;
      float *y = run (&c, x, n, 4096, &on);
      f = peak_freq (y + SR / 4, on - SR / 2, 1, SR, want * 0.9, want * 1.1,
          NULL);
      e = cents (f, want);
      if (fabs (e) > worst)
        worst = fabs (e);
      CHECK (fabs (e) < 1.0, "rate %g %+g st: %.3f Hz, want %.3f", rs[j][0],
          rs[j][1], f, want);
      free (y);
    }
  }
  printf ("# sines: worst error %.4f cents\n", worst);
  free (x);
}

static void
test_pitch_chord (void)
{
  /* C4, E4, A4 with harmonics 1..3 (partials at least 68 Hz apart) */
  static const double notes[] = { 261.6256, 329.6276, 440.0 };
  static const double semis[] = { -2, -1, 1, 2, 5, -5 };
  double partials[9];
  size_t n = 3 * SR, i, j, k, on;
  float *x = calloc (n * 2, sizeof (float));
  double worst = 0.0;

  for (i = 0; i < 3; i++)
    for (j = 0; j < 3; j++)
      partials[i * 3 + j] = notes[i] * (j + 1);
  for (k = 0; k < n; k++) {
    double s = 0.0;
    for (i = 0; i < 9; i++)
      s += 0.08 / (1 + i % 3) * sin (2.0 * M_PI * partials[i] * k / SR
          + 0.7 * i);
    x[2 * k] = (float) s;
    x[2 * k + 1] = (float) (0.7 * s);
  }
  for (j = 0; j < sizeof (semis) / sizeof (semis[0]); j++) {
    MusaStretchConfig c = cfg_make (SR, 2, 1.0, semis[j]);
    double p = pow (2.0, semis[j] / 12.0);
    float *y = run (&c, x, n, 1000, &on);
    for (i = 0; i < 9; i++) {
      double want = partials[i] * p, lev, f, e;
      double amp = 0.08 / (1 + i % 3);
      f = peak_freq (y + 2 * (SR / 2), on - SR, 2, SR, want - 25.0 * p,
          want + 25.0 * p, &lev);
      e = cents (f, want);
      if (fabs (e) > worst)
        worst = fabs (e);
      CHECK (fabs (e) < 1.0, "chord %+g st partial %.2f Hz: %.3f Hz, want "
          "%.3f (%.3f cents)", semis[j], partials[i], f, want, e);
      CHECK (fabs (20 * log10 (lev / amp)) < 3.0, "chord %+g st partial %.2f:"
          " level %.4f, want %.4f", semis[j], partials[i], lev, amp);
    }
    free (y);
  }
  printf ("# chord: worst error %.4f cents\n", worst);
  free (x);
}

/* Onsets: first sample whose |x| exceeds a quarter of the peak after at least
 * 100 ms below it. Returns the count. */
static int
onsets (const float *y, size_t n, int sr, double *t, int max)
{
  float peak = 0.0f;
  size_t i, quiet = (size_t) sr;
  int count = 0;

  for (i = 0; i < n; i++)
    if (fabsf (y[i]) > peak)
      peak = fabsf (y[i]);
  for (i = 0; i < n; i++) {
    if (fabsf (y[i]) > 0.25f * peak) {
      if (quiet >= (size_t) sr / 10 && count < max)
        t[count++] = (double) i;
      quiet = 0;
    } else {
      quiet++;
    }
  }
  return count;
}

static void
test_click_tempo (void)
{
  static const double cases[][2] = {
    {0.8, 0}, {1.25, 0}, {0.5, 0}, {2.0, 0}, {0.9, 0}, {1.0, 2}, {1.0, -2},
    {0.8, 2}, {1.25, -2},
  };
  size_t n = 12 * SR, off = 5000, on, j;
  float *x = malloc (n * sizeof (float));
  double bpm = 120.0, period = 60.0 / bpm * SR, t[64], worst = 0.0;
  double worst_align = 0.0;

  musa_synth_clicks (x, n, SR, bpm, off);
  for (j = 0; j < sizeof (cases) / sizeof (cases[0]); j++) {
    double r = cases[j][0];
    MusaStretchConfig c = cfg_make (SR, 1, r, cases[j][1]);
    float *y = run (&c, x, n, 4096, &on);
    int cnt = onsets (y, on, SR, t, 64), i, want = 24;
    double sx = 0, sy = 0, sxx = 0, sxy = 0, slope, icpt, err, align;
    CHECK (cnt == want, "rate %g: %d onsets, want %d", r, cnt, want);
    for (i = 0; i < cnt; i++) {
      sx += i;
      sy += t[i];
      sxx += (double) i *i;
      sxy += i * t[i];
    }
    slope = (cnt * sxy - sx * sy) / (cnt * sxx - sx * sx);
    icpt = (sy - slope * sx) / cnt;
    /* tempo x r <=> inter-onset interval / r */
    err = (period / slope) / r - 1.0;
    align = (icpt - off / r) / SR * 1000.0;
    if (fabs (err) > worst)
      worst = fabs (err);
    if (fabs (align) > worst_align)
      worst_align = fabs (align);
    CHECK (fabs (err) < 0.005, "rate %g %+g st: tempo ratio error %.4f %%",
        r, cases[j][1], 100 * err);
    /* aligned: the first click lands at off / rate (within 3 ms at natural
     * rates; slowing down to 0.5 leaves a pre-echo of a few ms) */
    CHECK (fabs (align) < (r >= 0.8 ? 3.0 : 10.0), "rate %g %+g st: onsets "
        "%.2f ms late", r, cases[j][1], align);
    /* attacks stay sharp: nearly all of each click's energy within 5 ms
     * of its onset (a smeared / flanged click spreads over the 46 ms
     * window) */
    if (cnt == want) {
      double near = 0.0, all = 0.0;
      for (i = 0; i < cnt - 1; i++) {
        size_t a = (size_t) t[i], b = (size_t) t[i + 1], s;
        if (a > (size_t) (SR / 200))
          a -= SR / 200;
        for (s = a; s < b - SR / 200; s++) {
          double e = (double) y[s] * y[s];
          all += e;
          if (s < (size_t) t[i] + SR / 200)
            near += e;
        }
      }
      printf ("# rate %g %+g st: %.1f %% of click energy within 5 ms\n", r,
          cases[j][1], 100 * near / all);
      CHECK (near / all > 0.97, "rate %g %+g st: only %.1f %% of click energy "
          "near onsets", r, cases[j][1], 100 * near / all);
    }
    free (y);
  }
  printf ("# clicks: worst tempo error %.4f %%, worst alignment %.2f ms\n",
      100 * worst, worst_align);
  free (x);
}

static void
test_chunks (void)
{
  static const double cases[][2] = {
    {0.8, 0}, {1.25, 0}, {1.0, 2}, {1.0, -2}, {0.9, 3}, {2.0, -12},
  };
  static const size_t chunks[] = { 1, 7, 512, 4096, 65536 };
  size_t n = 2 * SR, k, i, j, on0, on;
  float *a = music (SR, n, 1, 1), *b = music (SR, n, 2, 0);
  float *x = malloc (2 * n * sizeof (float));

  for (k = 0; k < n; k++) {
    x[2 * k] = a[k];
    x[2 * k + 1] = 0.6f * a[k] + 0.4f * b[k];
  }
  for (i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
    MusaStretchConfig c = cfg_make (SR, 2, cases[i][0], cases[i][1]);
    float *y0 = run (&c, x, n, n, &on0);
    for (j = 0; j < sizeof (chunks) / sizeof (chunks[0]); j++) {
      float *y = run (&c, x, n, chunks[j], &on);
      CHECK (on == on0 && memcmp (y, y0, on * 2 * sizeof (float)) == 0,
          "rate %g %+g st chunk %zu differs from one block", cases[i][0],
          cases[i][1], chunks[j]);
      free (y);
    }
    free (y0);
  }
  free (a);
  free (b);
  free (x);
}

static void
test_identity (void)
{
  MusaStretchConfig c = cfg_make (SR, 2, 1.0, 0.0);
  size_t n = SR, on, k;
  float *m = music (SR, n, 5, 1), *x = malloc (2 * n * sizeof (float)), *y;
  MusaStretch *st;

  for (k = 0; k < n; k++) {
    x[2 * k] = m[k];
    x[2 * k + 1] = -0.3f * m[k];
  }
  CHECK (musa_stretch_is_identity (&c), "rate 1, 0 st is identity");
  c.rate = 1.0001;
  CHECK (!musa_stretch_is_identity (&c), "rate 1.0001 is not identity");
  c.rate = 1.0;
  c.semitones = 0.01;
  CHECK (!musa_stretch_is_identity (&c), "0.01 st is not identity");
  c.semitones = 0.0;
  y = run (&c, x, n, 777, &on);
  CHECK (on == n && memcmp (x, y, n * 2 * sizeof (float)) == 0,
      "identity is not bit-exact");
  st = musa_stretch_new (&c, NULL);
  CHECK (musa_stretch_latency (st) == 0, "identity latency");
  musa_stretch_free (st);
  free (y);
  free (x);
  free (m);
}

static void
test_stereo (void)
{
  static const double cases[][2] = { {0.8, 0}, {1.25, 2}, {1.0, -3} };
  size_t n = 2 * SR, k, i, on;
  float *m = music (SR, n, 9, 1), *x = malloc (2 * n * sizeof (float));

  for (i = 0; i < 3; i++) {
    MusaStretchConfig c = cfg_make (SR, 2, cases[i][0], cases[i][1]);
    float *y;
    double e = 0.0, s = 0.0;
    int same = 1;

    for (k = 0; k < n; k++)
      x[2 * k] = x[2 * k + 1] = m[k];
    y = run (&c, x, n, 4096, &on);
    for (k = 0; k < on; k++)
      same = same && y[2 * k] == y[2 * k + 1];
    CHECK (same, "rate %g %+g st: identical channels differ", cases[i][0],
        cases[i][1]);
    free (y);

    /* right = left 20 samples later (a source panned by delay): the output
     * keeps the correlation of the two channels and the lag (scaled by
     * 1 / 2^(st/12) when shifting: the resampler scales every time interval
     * of the vocoder output, as resampling the input would) */
    {
      int lag, best_lag = 0, want_lag;
      double best = -1.0, ll = 0.0, rr = 0.0;
      size_t a0 = SR / 4, len;
      for (k = 0; k < n; k++)
        x[2 * k + 1] = k >= 20 ? m[k - 20] : 0.0f;
      y = run (&c, x, n, 4096, &on);
      len = on - SR / 2;
      for (k = a0; k < a0 + len; k++) {
        ll += (double) y[2 * k] * y[2 * k];
        rr += (double) y[2 * k + 1] * y[2 * k + 1];
      }
      for (lag = 0; lag <= 60; lag++) {
        double xy = 0.0;
        for (k = a0; k < a0 + len; k++)
          xy += (double) y[2 * k] * y[2 * (k + lag) + 1];
        xy /= sqrt (ll * rr);
        if (xy > best) {
          best = xy;
          best_lag = lag;
        }
      }
      want_lag = (int) lround (20.0 / pow (2.0, cases[i][1] / 12.0));
      CHECK (abs (best_lag - want_lag) <= 1 && best > 0.99, "rate %g %+g st:"
          " delayed copy: lag %d, correlation %.3f (want %d, > 0.99)",
          cases[i][0], cases[i][1], best_lag, best, want_lag);
      printf ("# rate %g %+g st: inter-channel lag %d (want %d), "
          "correlation %.4f\n", cases[i][0], cases[i][1], best_lag, want_lag,
          best);
      free (y);
    }

    /* right = left inverted at -6 dB: kept exactly (phase and level) */
    for (k = 0; k < n; k++)
      x[2 * k + 1] = -0.5f * m[k];
    y = run (&c, x, n, 4096, &on);
    for (k = 0; k < on; k++) {
      double d = y[2 * k + 1] + 0.5 * y[2 * k];
      e += d * d;
      s += (double) y[2 * k + 1] * y[2 * k + 1];
    }
    CHECK (10 * log10 (e / s + 1e-30) < -100.0, "rate %g %+g st: inverted "
        "-6 dB copy off by %.1f dB", cases[i][0], cases[i][1],
        10 * log10 (e / s + 1e-30));
    free (y);
  }
  free (m);
  free (x);
}

static void
test_silence_nan (void)
{
  MusaStretchConfig c = cfg_make (SR, 2, 0.8, 2);
  size_t n = 3 * SR, k, on, sub = 0, nonfinite = 0, tailnz = 0;
  float *m = music (SR, SR, 4, 1), *x = calloc (2 * n, sizeof (float)), *y;

  for (k = 0; k < (size_t) SR; k++)
    x[2 * k] = x[2 * k + 1] = m[k];
  x[1000] = NAN;
  x[2001] = INFINITY;
  x[3000] = -INFINITY;
  y = run (&c, x, n, 4096, &on);
  for (k = 0; k < on * 2; k++) {
    if (!isfinite (y[k]))
      nonfinite++;
    else if (y[k] != 0.0f && fabsf (y[k]) < FLT_MIN)
      sub++;
    if (k / 2 > on - (size_t) SR && y[k] != 0.0f)
      tailnz++;
  }
  CHECK (nonfinite == 0, "%zu non-finite output samples", nonfinite);
  CHECK (sub == 0, "%zu denormal output samples", sub);
  CHECK (tailnz == 0, "%zu non-zero samples in the silent tail", tailnz);
  free (y);
  free (x);
  free (m);
}

static void
test_reset_latency (void)
{
  MusaStretchConfig c = cfg_make (SR, 1, 0.8, 1);
  size_t n = SR, cap, got, total = 0, k, on;
  float *x = music (SR, n, 6, 1), *y0, *out, *tmp;
  MusaStretch *st = musa_stretch_new (&c, NULL);
  int64_t lat = musa_stretch_latency (st);
  double worst = 0.0;

  /* feed frame by frame: output m must be out once input reached
   * m * rate + latency, and not much earlier than that bound implies */
  cap = musa_stretch_max_output (st, 1);
  tmp = malloc (cap * sizeof (float));
  out = malloc ((musa_stretch_max_output (st, n) + cap) * sizeof (float));
  for (k = 0; k < n; k++) {
    musa_stretch_process (st, x + k, 1, tmp, cap, &got);
    if (got > 0) {
      double lag = (double) (k + 1) - (double) total * c.rate;
      if (lag > worst)
        worst = lag;
    }
    memcpy (out + total, tmp, got * sizeof (float));
    total += got;
  }
  CHECK (worst <= (double) lat, "output lags input by %.1f > latency %ld",
      worst, (long) lat);
  CHECK (worst > 0.8 * (double) lat, "latency %ld overstated (lag %.1f)",
      (long) lat, worst);
  CHECK (lat > 0 && lat < SR / 5, "latency %ld", (long) lat);
  /* after a reset, the same stream gives the same bytes */
  musa_stretch_reset (st);
  free (out);
  free (tmp);
  musa_stretch_free (st);
  y0 = run (&c, x, n, 4096, &on);
  {
    MusaStretch *s2 = musa_stretch_new (&c, NULL);
    size_t cap2 = musa_stretch_max_output (s2, n);
    float *o1 = malloc (cap2 * sizeof (float));
    float *o2 = malloc (cap2 * sizeof (float));
    size_t g1, g2;
    float junk[5000];
    for (k = 0; k < 5000; k++)
      junk[k] = (float) sin (k * 0.1);
    musa_stretch_process (s2, junk, 5000, o1, cap2, &g1);
    musa_stretch_reset (s2);
    musa_stretch_process (s2, x, n, o1, cap2, &g1);
    musa_stretch_finish (s2, o1 + g1, cap2 - g1, &g2);
    CHECK (g1 + g2 <= on && memcmp (o1, y0, (g1 + g2) * sizeof (float)) == 0,
        "reset does not restart the stream");
    /* finish ends the stream: process now refused */
    while (g2 > 0)
      musa_stretch_finish (s2, o2, cap2, &g2);
    CHECK (musa_stretch_process (s2, x, 10, o2, cap2, &g1) == MUSA_ERR_STATE,
        "process after finish");
    CHECK (musa_stretch_process (s2, x, 10, o2, 1, &g1) != MUSA_OK,
        "out_cap too small accepted");
    free (o1);
    free (o2);
    musa_stretch_free (s2);
  }
  free (y0);
  free (x);
}

/* A huge in_frames: the output bound saturates instead of wrapping to a
 * small number, so process refuses a small out_cap rather than writing (and
 * reading) far beyond the buffers. */
static void
test_huge_in_frames (void)
{
  MusaStretchConfig cfg = { 48000, 8, 0.5, 12.0 };
  MusaStretch *st = musa_stretch_new (&cfg, NULL);
  float in[8 * 64] = { 0 }, out[8 * 64];
  size_t produced = 1;

  CHECK (st != NULL, "new");
  CHECK (musa_stretch_max_output (st, SIZE_MAX / 2) >= SIZE_MAX / 2,
      "bound for SIZE_MAX / 2 input frames at rate 0.5: %zu",
      musa_stretch_max_output (st, SIZE_MAX / 2));
  CHECK (musa_stretch_max_output (st, SIZE_MAX) == SIZE_MAX, "saturates");
  CHECK (musa_stretch_process (st, in, SIZE_MAX / 2, out, 64, &produced)
      == MUSA_ERR_INVALID && produced == 0, "small out_cap refused");
  musa_stretch_free (st);
}

int
main (void)
{
  musa_test_run ("config", test_config);
  musa_test_run ("length", test_length);
  musa_test_run ("pitch_sines", test_pitch_sines);
  musa_test_run ("pitch_chord", test_pitch_chord);
  musa_test_run ("click_tempo", test_click_tempo);
  musa_test_run ("chunks", test_chunks);
  musa_test_run ("identity", test_identity);
  musa_test_run ("stereo", test_stereo);
  musa_test_run ("silence_nan", test_silence_nan);
  musa_test_run ("reset_latency", test_reset_latency);
  musa_test_run ("huge_in_frames", test_huge_in_frames);
  return musa_test_summary ();
}
