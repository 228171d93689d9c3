/* Unit tests of libmusa's core: windows, FFT, STFT framing, mel filterbank,
 * configuration errors, sample conversion, ORC kernels against plain C, the
 * counter-based RNG and the test-signal synthesiser. */
#include <limits.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/audio.h"
#include "core/fft.h"
#include "core/mel.h"
#include "core/melspec.h"
#include "core/rng.h"
#include "core/stft.h"
#include "core/synth.h"
#include "core/window.h"
#include "musatest.h"

/* ---------------------------------------------------------------- windows */

static double
closed_form_window (MusaWindowType type, int i, int n)
{
  /* periodic: the symmetric window of n + 1 points without its last */
  double x = 2.0 * M_PI * i / n;

  switch (type) {
    case MUSA_WINDOW_HAMMING:
      return 0.54 - 0.46 * cos (x);
    case MUSA_WINDOW_BLACKMAN:
      return 0.42 - 0.5 * cos (x) + 0.08 * cos (2.0 * x);
    default:
      return 0.5 - 0.5 * cos (x);
  }
}

static void
test_window_values (void)
{
  static const MusaWindowType types[] = { MUSA_WINDOW_HANN,
    MUSA_WINDOW_HAMMING, MUSA_WINDOW_BLACKMAN
  };
  float w[2048];
  double w64[2048];
  int t, i;

  for (t = 0; t < 3; t++) {
    CHECK (musa_window_fill (w, 2048, 2048, types[t], NULL) == MUSA_OK, "fill");
    CHECK (musa_window_fill_f64 (w64, 2048, 2048, types[t], NULL) == MUSA_OK,
        "fill f64");
    for (i = 0; i < 2048; i++) {
      double v = closed_form_window (types[t], i, 2048);
      CHECK (fabs (w[i] - v) <= 1e-7, "type %d w[%d] = %.9g, expected %.9g",
          t, i, w[i], v);
      CHECK (fabs (w64[i] - v) <= 1e-15, "type %d f64 w[%d]", t, i);
    }
  }
  /* Hann's landmarks: 0 at the start, 1 at the centre, 0.5 a quarter in;
   * periodic, so the last sample is not 0 */
  musa_window_fill (w, 2048, 2048, MUSA_WINDOW_HANN, NULL);
  CHECK (w[0] == 0.0f && w[1024] == 1.0f, "hann ends/centre %g %g", w[0],
      w[1024]);
  CHECK (fabs (w[512] - 0.5) < 1e-7, "hann quarter %g", w[512]);
  CHECK (w[2047] > 0.0f, "hann is periodic, last %g", w[2047]);
  /* symmetric around n/2: w[n/2 - k] == w[n/2 + k] */
  for (i = 1; i < 1024; i++)
    CHECK (fabs (w[1024 - i] - w[1024 + i]) < 1e-7, "symmetry at %d", i);
}

static void
test_window_pad_center (void)
{
  float w[2048];
  int i, lpad = (2048 - 1001) / 2;

  CHECK (musa_window_fill (w, 2048, 1001, MUSA_WINDOW_HAMMING, NULL) ==
      MUSA_OK, "fill");
  for (i = 0; i < 2048; i++) {
    double v = (i >= lpad && i < lpad + 1001) ?
        closed_form_window (MUSA_WINDOW_HAMMING, i - lpad, 1001) : 0.0;
    CHECK (fabs (w[i] - v) <= 1e-7, "w[%d] = %g, expected %g", i, w[i], v);
  }
  /* one point: [1], as scipy's get_window (every type; centred) */
  {
    static const MusaWindowType types[3] = { MUSA_WINDOW_HANN,
      MUSA_WINDOW_HAMMING, MUSA_WINDOW_BLACKMAN
    };
    double w64[16];
    int t;
    for (t = 0; t < 3; t++) {
      CHECK (musa_window_fill (w, 16, 1, types[t], NULL) == MUSA_OK
          && musa_window_fill_f64 (w64, 16, 1, types[t], NULL) == MUSA_OK,
          "fill");
      for (i = 0; i < 16; i++)
        CHECK (w[i] == (i == 7 ? 1.0f : 0.0f) && w64[i] == (i == 7 ? 1.0 :
                0.0), "type %d, one point: w[%d] = %g / %g", t, i, w[i],
            w64[i]);
    }
  }
  {
    MusaError err;
    musa_error_clear (&err);
    CHECK (musa_window_fill (w, 512, 1000, MUSA_WINDOW_HANN, &err) ==
        MUSA_ERR_INVALID && strcmp (err.property, "win-length") == 0,
        "longer than n-fft must be refused (%s)", err.property);
  }
}

/* -------------------------------------------------------------------- FFT */

static void
naive_dft (const double *x, int n, double *re, double *im)
{
  int k, j;

  for (k = 0; k <= n / 2; k++) {
    double sr = 0.0, si = 0.0;
    for (j = 0; j < n; j++) {
      double a = -2.0 * M_PI * (double) ((int64_t) k * j % n) / n;
      sr += x[j] * cos (a);
      si += x[j] * sin (a);
    }
    re[k] = sr;
    im[k] = si;
  }
}

static void
test_fft_vs_dft (void)
{
  static const int sizes[] = { 16, 30, 64, 243, 1000, 2048 };
  MusaRng rng;
  int s;

  musa_rng_init (&rng, musa_rng_key (1, 2, 3));
  for (s = 0; s < 6; s++) {
    int n = sizes[s], k, j;
    MusaFft *fft = musa_fft_new (n, NULL);
    MusaFft *f64 = musa_fft_new_f64 (n, NULL);
    double *x = malloc (sizeof (double) * n);
    double *re = malloc (sizeof (double) * (n / 2 + 1));
    double *im = malloc (sizeof (double) * (n / 2 + 1));
    double norm = 0.0, err = 0.0, err64 = 0.0, back = 0.0;
    float *in, *out;

    CHECK (fft != NULL && f64 != NULL, "n %d", n);
    if (fft == NULL || f64 == NULL)
      return;
    CHECK (musa_fft_size (fft) == n && musa_fft_bins (fft) == n / 2 + 1,
        "size/bins");
    CHECK (musa_fft_real_f64 (fft) == NULL, "no f64 buffer on a float FFT");
    in = musa_fft_real (fft);
    for (j = 0; j < n; j++) {
      x[j] = (float) musa_rng_range (&rng, -1.0, 1.0);
      in[j] = (float) x[j];
      musa_fft_real_f64 (f64)[j] = x[j];
    }
    naive_dft (x, n, re, im);
    musa_fft_forward (fft);
    musa_fft_forward_f64 (f64);
    out = musa_fft_complex (fft);
    for (j = 0; j < n; j++)
      CHECK (in[j] == (float) x[j], "forward must preserve its input");
    for (k = 0; k <= n / 2; k++) {
      const float *o64 = musa_fft_complex (f64);
      norm = fmax (norm, hypot (re[k], im[k]));
      err = fmax (err, hypot (out[2 * k] - re[k], out[2 * k + 1] - im[k]));
      /* the double transform is exact to float rounding of each bin */
      err64 = fmax (err64, hypot (o64[2 * k] - re[k], o64[2 * k + 1] - im[k])
          / fmax (hypot (re[k], im[k]), 1e-12));
    }
    CHECK (err <= 1e-5 * norm, "n %d: float FFT error %g of max %g", n, err,
        norm);
    CHECK (err64 <= 2e-7, "n %d: double FFT bin relative error %g", n, err64);
    /* inverse: n times the input */
    musa_fft_inverse (fft);
    for (j = 0; j < n; j++)
      back = fmax (back, fabs (in[j] / n - x[j]));
    CHECK (back <= 1e-5, "n %d: inverse(forward(x)) / n differs by %g", n,
        back);
    musa_fft_free (fft);
    musa_fft_free (f64);
    free (x);
    free (re);
    free (im);
  }
  CHECK (musa_fft_new (1, NULL) == NULL, "size 1 refused");
  {
    /* a size beyond the limit is an error, not hours of FFTW planning */
    MusaError err = { 0 };

    CHECK (musa_fft_new (INT_MAX, &err) == NULL && err.code != MUSA_OK,
        "size INT_MAX refused with an error");
    CHECK (musa_fft_new_f64 (MUSA_FFT_MAX_SIZE + 1, NULL) == NULL,
        "size MUSA_FFT_MAX_SIZE + 1 refused");
  }
}

/* ------------------------------------------------------------------- STFT */

typedef struct
{
  int64_t frames;
  int64_t bad_index;
  int n_bins;
  float *spec;                  /* all frames' spectra, if room */
  size_t cap;
} Collect;

static void
collect_frame (void *user, int64_t index, const float *spectrum,
    const float *frame)
{
  Collect *c = user;
  size_t per = (size_t) 2 * c->n_bins;

  if (index != c->frames)
    c->bad_index++;
  if (c->spec != NULL && (size_t) (index + 1) * per <= c->cap)
    memcpy (c->spec + (size_t) index * per, spectrum, sizeof (float) * per);
  c->frames++;
}

static Collect
run_stft (const MusaStftConfig * cfg, int precise, const float *x, size_t n,
    size_t chunk, size_t cap)
{
  Collect c;
  MusaStft *st = musa_stft_new (cfg, NULL);
  size_t pos;

  memset (&c, 0, sizeof (c));
  if (st == NULL) {
    CHECK (st != NULL, "stft_new");
    return c;
  }
  if (precise)
    CHECK (musa_stft_set_precise (st, 1, NULL) == MUSA_OK, "precise");
  c.n_bins = musa_stft_n_bins (st);
  c.cap = cap;
  c.spec = cap ? calloc (cap, sizeof (float)) : NULL;
  for (pos = 0; pos < n; pos += chunk)
    musa_stft_process (st, x + pos, n - pos < chunk ? n - pos : chunk,
        collect_frame, &c);
  musa_stft_finish (st, collect_frame, &c);
  /* finish is final until reset */
  musa_stft_finish (st, collect_frame, &c);
  musa_stft_process (st, x, n, collect_frame, &c);
  CHECK (musa_stft_frames (st) == c.frames, "frame counter %lld vs %lld",
      (long long) musa_stft_frames (st), (long long) c.frames);
  musa_stft_free (st);
  return c;
}

static void
test_stft_frame_count (void)
{
  static const size_t lengths[] = { 0, 1, 511, 512, 513, 2047, 2048, 10000 };
  static const int hops[] = { 1, 160, 512, 2048 };
  float *x = calloc (10000, sizeof (float));
  MusaStftConfig cfg = { 2048, 512, 0, MUSA_WINDOW_HANN, 1 };
  int l, h;

  for (h = 0; h < 4; h++) {
    cfg.hop = hops[h];
    for (l = 0; l < 8; l++) {
      size_t n = lengths[l];
      Collect c;
      if (hops[h] == 1 && n > 3000)
        continue;
      cfg.center = 1;
      c = run_stft (&cfg, 0, x, n, 4096, 0);
      CHECK (c.frames == (int64_t) (1 + n / (size_t) hops[h]),
          "center: n %zu hop %d: %lld frames, expected %zu", n, hops[h],
          (long long) c.frames, 1 + n / (size_t) hops[h]);
      CHECK (c.bad_index == 0, "frame indices in order");
      cfg.center = 0;
      c = run_stft (&cfg, 0, x, n, 4096, 0);
      CHECK (c.frames == (n >= 2048 ? (int64_t) (1 + (n - 2048) /
                  (size_t) hops[h]) : 0),
          "no center: n %zu hop %d: %lld frames", n, hops[h],
          (long long) c.frames);
    }
  }
  free (x);
}

static void
test_stft_centring (void)
{
  /* an impulse at sample 5*hop: frame i sees it at offset n_fft/2 + (5-i)*hop
   * of its window, so |X[k]| = w[that offset] for every bin k */
  MusaStftConfig cfg = { 1024, 256, 0, MUSA_WINDOW_HANN, 1 };
  size_t n = 20 * 256 + 17, per = 2 * 513;
  float *x = calloc (n, sizeof (float));
  float w[1024];
  Collect c;
  int64_t i;
  MusaStft *st = musa_stft_new (&cfg, NULL);

  x[5 * 256] = 1.0f;
  musa_window_fill (w, 1024, 1024, MUSA_WINDOW_HANN, NULL);
  c = run_stft (&cfg, 0, x, n, 100, per * 64);
  CHECK (c.frames == (int64_t) (1 + n / 256), "frames %lld",
      (long long) c.frames);
  for (i = 0; i < c.frames; i++) {
    int64_t d = 512 + (5 - i) * 256;
    double g = (d >= 0 && d < 1024) ? w[d] : 0.0;
    int k;
    for (k = 0; k < 513; k += 37) {
      const float *b = c.spec + (size_t) i * per + 2 * (size_t) k;
      CHECK (fabs (hypot (b[0], b[1]) - g) < 1e-6,
          "frame %lld bin %d: |X| %g, expected %g", (long long) i, k,
          hypot (b[0], b[1]), g);
    }
  }
  CHECK (musa_stft_frame_center (st, 5) == 5 * 256, "frame 5 centre %lld",
      (long long) musa_stft_frame_center (st, 5));
  musa_stft_free (st);
  cfg.center = 0;
  st = musa_stft_new (&cfg, NULL);
  CHECK (musa_stft_frame_center (st, 5) == 5 * 256 + 512,
      "uncentred frame 5 centre");
  musa_stft_free (st);
  free (c.spec);
  free (x);
}

static void
test_stft_chunk_invariance (void)
{
  static const size_t chunks[] = { 1, 7, 512, 4096, 65536 };
  MusaStftConfig cfg = { 1000, 300, 800, MUSA_WINDOW_HAMMING, 1 };
  size_t n = 30000, per = 2 * 501, cap = per * 200, i;
  float *x = malloc (sizeof (float) * n);
  MusaRng rng;
  int c, precise;

  musa_rng_init (&rng, 42);
  for (i = 0; i < n; i++)
    x[i] = (float) musa_rng_normal (&rng) * 0.3f;
  for (precise = 0; precise < 2; precise++) {
    Collect ref = run_stft (&cfg, precise, x, n, n, cap);
    CHECK (ref.frames == (int64_t) (1 + n / 300), "frames");
    for (c = 0; c < 5; c++) {
      Collect got = run_stft (&cfg, precise, x, n, chunks[c], cap);
      CHECK (got.frames == ref.frames, "chunk %zu: frames", chunks[c]);
      CHECK (memcmp (got.spec, ref.spec, sizeof (float) * per *
              (size_t) ref.frames) == 0, "precise %d chunk %zu: spectra differ",
          precise, chunks[c]);
      free (got.spec);
    }
    free (ref.spec);
  }
  free (x);
}

static void
test_stft_reset (void)
{
  MusaStftConfig cfg = { 512, 128, 0, MUSA_WINDOW_HANN, 1 };
  MusaStft *st = musa_stft_new (&cfg, NULL);
  float x[3000];
  Collect a, b;
  size_t per = 2 * 257, i;

  for (i = 0; i < 3000; i++)
    x[i] = (float) sin (0.05 * i);
  memset (&a, 0, sizeof (a));
  memset (&b, 0, sizeof (b));
  a.n_bins = b.n_bins = 257;
  a.cap = b.cap = per * 40;
  a.spec = calloc (a.cap, sizeof (float));
  b.spec = calloc (b.cap, sizeof (float));
  musa_stft_process (st, x, 3000, collect_frame, &a);
  musa_stft_finish (st, collect_frame, &a);
  musa_stft_reset (st);
  CHECK (musa_stft_frames (st) == 0, "reset counter");
  musa_stft_process (st, x, 1234, collect_frame, &b);
  musa_stft_process (st, x + 1234, 3000 - 1234, collect_frame, &b);
  musa_stft_finish (st, collect_frame, &b);
  CHECK (a.frames == b.frames && memcmp (a.spec, b.spec,
          sizeof (float) * per * (size_t) a.frames) == 0,
      "a reset stream restarts exactly");
  free (a.spec);
  free (b.spec);
  musa_stft_free (st);
}

/* -------------------------------------------------------------------- mel */

static void
test_mel_scale (void)
{
  /* Slaney: linear 200/3 Hz per mel below 1 kHz (= mel 15), log above with
   * 27 mels per factor 6.4; HTK: 2595 log10(1 + f / 700) */
  CHECK (fabs (musa_hz_to_mel (1000.0, MUSA_MEL_SCALE_SLANEY) - 15.0) < 1e-12,
      "slaney 1 kHz");
  CHECK (fabs (musa_hz_to_mel (200.0, MUSA_MEL_SCALE_SLANEY) - 3.0) < 1e-12,
      "slaney 200 Hz");
  CHECK (fabs (musa_hz_to_mel (6400.0, MUSA_MEL_SCALE_SLANEY) - 42.0) < 1e-9,
      "slaney 6.4 kHz = 15 + 27");
  CHECK (fabs (musa_hz_to_mel (700.0, MUSA_MEL_SCALE_HTK) - 2595.0 *
          log10 (2.0)) < 1e-9, "htk 700 Hz");
  for (double f = 0.0; f < 24000.0; f += 123.4) {
    CHECK (fabs (musa_mel_to_hz (musa_hz_to_mel (f, MUSA_MEL_SCALE_SLANEY),
                MUSA_MEL_SCALE_SLANEY) - f) < 1e-8, "slaney round trip %g", f);
    CHECK (fabs (musa_mel_to_hz (musa_hz_to_mel (f, MUSA_MEL_SCALE_HTK),
                MUSA_MEL_SCALE_HTK) - f) < 1e-8, "htk round trip %g", f);
  }
}

static void
test_mel_weights (void)
{
  MusaMelConfig cfg = { 44100, 2048, 128, 0.0, 0.0, MUSA_MEL_SCALE_SLANEY,
    MUSA_MEL_NORM_NONE
  };
  int n_bins = 1025, m, k, scale;

  for (scale = 0; scale < 2; scale++) {
    double mel_f[130], lo, hi, df = 44100.0 / 2048;
    float *w = malloc (sizeof (float) * 128 * n_bins);
    float *wn = malloc (sizeof (float) * 128 * n_bins);
    MusaMel *mel, *meln;

    cfg.scale = (MusaMelScale) scale;
    cfg.norm = MUSA_MEL_NORM_NONE;
    mel = musa_mel_new (&cfg, NULL);
    cfg.norm = MUSA_MEL_NORM_SLANEY;
    meln = musa_mel_new (&cfg, NULL);
    CHECK (mel != NULL && meln != NULL, "mel_new");
    if (mel == NULL || meln == NULL)
      return;
    CHECK (musa_mel_n_mels (mel) == 128, "n_mels");
    musa_mel_weights (mel, w);
    musa_mel_weights (meln, wn);
    lo = musa_hz_to_mel (0.0, cfg.scale);
    hi = musa_hz_to_mel (22050.0, cfg.scale);
    for (m = 0; m < 130; m++)
      mel_f[m] = musa_mel_to_hz (lo + (hi - lo) * m / 129.0, cfg.scale);

    for (m = 0; m < 128; m++) {
      double area = 0.0, peak = 0.0;
      for (k = 0; k < n_bins; k++) {
        double f = k * df;
        /* closed form of the triangle */
        double tri = fmax (0.0, fmin ((f - mel_f[m]) / (mel_f[m + 1] -
                    mel_f[m]), (mel_f[m + 2] - f) / (mel_f[m + 2] -
                    mel_f[m + 1])));
        double v = w[m * n_bins + k], vn = wn[m * n_bins + k];
        CHECK (fabs (v - tri) < 1e-6, "scale %d filter %d bin %d: %g vs %g",
            scale, m, k, v, tri);
        CHECK (fabs (vn - tri * 2.0 / (mel_f[m + 2] - mel_f[m])) <=
            1e-6 * (2.0 / (mel_f[m + 2] - mel_f[m])),
            "scale %d norm filter %d bin %d", scale, m, k);
        area += vn * df;
        peak = fmax (peak, v);
      }
      CHECK (peak <= 1.0 + 1e-6 && peak > 0.0, "filter %d peak %g", m, peak);
      /* Slaney norm: unit area in Hz, up to the sampling of the triangle
       * on the bin grid (good when it spans many bins) */
      if (mel_f[m + 2] - mel_f[m] > 20 * df)
        CHECK (fabs (area - 1.0) < 0.02, "scale %d filter %d area %g", scale,
            m, area);
    }
    /* without norm, neighbouring triangles add up to 1 between the first
     * and the last centre */
    for (k = 0; k < n_bins; k++) {
      double f = k * df, sum = 0.0;
      if (f < mel_f[1] || f > mel_f[128])
        continue;
      for (m = 0; m < 128; m++)
        sum += w[m * n_bins + k];
      CHECK (fabs (sum - 1.0) < 1e-5, "scale %d bin %d: sum %g", scale, k, sum);
    }
    /* apply = dense matrix product */
    {
      float spec[1025], out[128];
      for (k = 0; k < n_bins; k++)
        spec[k] = (float) (1.0 + sin (k * 0.1));
      musa_mel_apply (meln, spec, out);
      for (m = 0; m < 128; m++) {
        double acc = 0.0;
        for (k = 0; k < n_bins; k++)
          acc += (double) wn[m * n_bins + k] * spec[k];
        CHECK (fabs (out[m] - acc) <= 1e-6 * fabs (acc) + 1e-12,
            "apply filter %d: %g vs %g", m, out[m], acc);
      }
    }
    musa_mel_free (mel);
    musa_mel_free (meln);
    free (w);
    free (wn);
  }
}

/* ------------------------------------------------------------ config errors */

static void
expect_refusal (const MusaMelspecConfig * cfg, const char *prop,
    const char *what)
{
  MusaError err;
  MusaMelspec *ms;

  musa_error_clear (&err);
  CHECK (musa_melspec_config_check (cfg, &err) == MUSA_ERR_INVALID,
      "%s: config_check accepted it", what);
  CHECK (strcmp (err.property, prop) == 0, "%s: property '%s', expected '%s'",
      what, err.property, prop);
  CHECK (err.message[0] != '\0', "%s: empty message", what);
  musa_error_clear (&err);
  ms = musa_melspec_new (cfg, &err);
  CHECK (ms == NULL && err.code == MUSA_ERR_INVALID
      && strcmp (err.property, prop) == 0, "%s: melspec_new", what);
  musa_melspec_free (ms);
}

static void
test_config_errors (void)
{
  MusaMelspecConfig cfg;
  MusaError err;
  MusaMelspec *ms;

  musa_melspec_config_default (&cfg, 44100);
  ms = musa_melspec_new (&cfg, &err);
  CHECK (ms != NULL, "defaults accepted");
  musa_melspec_free (ms);

  cfg.fmin = 5000;
  cfg.fmax = 4000;
  expect_refusal (&cfg, "fmin", "fmin > fmax");
  cfg.fmin = 4000;
  expect_refusal (&cfg, "fmin", "fmin == fmax");
  musa_melspec_config_default (&cfg, 44100);
  cfg.fmax = 30000;
  expect_refusal (&cfg, "fmax", "fmax above Nyquist");
  musa_melspec_config_default (&cfg, 44100);
  cfg.fmin = -1;
  expect_refusal (&cfg, "fmin", "negative fmin");
  musa_melspec_config_default (&cfg, 44100);
  cfg.stft.n_fft = 512;
  cfg.n_mels = 1000;
  expect_refusal (&cfg, "n-mels", "too many mels");
  musa_melspec_config_default (&cfg, 44100);
  cfg.n_mels = 0;
  expect_refusal (&cfg, "n-mels", "no mels");
  musa_melspec_config_default (&cfg, 44100);
  cfg.stft.hop = 4096;
  expect_refusal (&cfg, "hop-length", "hop > n-fft");
  cfg.stft.hop = 0;
  expect_refusal (&cfg, "hop-length", "hop 0");
  musa_melspec_config_default (&cfg, 44100);
  cfg.stft.win_length = 4096;
  expect_refusal (&cfg, "win-length", "win-length > n-fft");
  musa_melspec_config_default (&cfg, 44100);
  cfg.stft.n_fft = 8;
  cfg.stft.hop = 4;
  expect_refusal (&cfg, "n-fft", "n-fft too small");
  musa_melspec_config_default (&cfg, 44100);
  cfg.power = 0.0;
  expect_refusal (&cfg, "power", "power 0");
  musa_melspec_config_default (&cfg, 44100);
  cfg.log_mult = -1.0;
  expect_refusal (&cfg, "log-mult", "negative log-mult");
  musa_melspec_config_default (&cfg, 0);
  expect_refusal (&cfg, "rate", "rate 0");
  /* not numbers, not enum values: the field at fault, not another */
  musa_melspec_config_default (&cfg, 44100);
  cfg.fmin = NAN;
  expect_refusal (&cfg, "fmin", "fmin NaN");
  musa_melspec_config_default (&cfg, 44100);
  cfg.top_db = NAN;
  expect_refusal (&cfg, "top-db", "top-db NaN");
  musa_melspec_config_default (&cfg, 44100);
  cfg.scale = (MusaMelScale) 7;
  expect_refusal (&cfg, "mel-scale", "mel scale 7");
  musa_melspec_config_default (&cfg, 44100);
  cfg.norm = (MusaMelNorm) - 1;
  expect_refusal (&cfg, "norm", "norm -1");
  /* without the rate: what needs none is refused, the rest left for later */
  musa_melspec_config_default (&cfg, 0);
  CHECK (musa_melspec_config_check_static (&cfg, NULL) == MUSA_OK,
      "static: defaults without a rate");
  cfg.fmax = 30000;
  CHECK (musa_melspec_config_check_static (&cfg, NULL) == MUSA_OK,
      "static: fmax needs the rate to be checked");
  cfg.fmin = 40000;
  CHECK (musa_melspec_config_check_static (&cfg, &err) == MUSA_ERR_INVALID
      && strcmp (err.property, "fmin") == 0, "static: fmin above fmax");
  musa_melspec_config_default (&cfg, 0);
  cfg.stft.hop = cfg.stft.n_fft + 1;
  CHECK (musa_melspec_config_check_static (&cfg, &err) == MUSA_ERR_INVALID
      && strcmp (err.property, "hop-length") == 0, "static: hop above n-fft");
  CHECK (strcmp (musa_status_name (MUSA_ERR_INVALID), "invalid argument") ==
      0, "status name");
  CHECK (musa_status_name (12345) != NULL, "unknown status name");
}

/* ------------------------------------------------------- audio conversion */

static void
test_audio_conversion (void)
{
  int16_t s16[6] = { -32768, -16384, 0, 1, 16384, 32767 };
  int32_t s32[4] = { INT32_MIN, -1073741824, 0, 1073741824 };
  double f64[5] = { 0.25, -1.5, 1e300, NAN, -0.0 };
  float f32[4] = { 0.5f, INFINITY, -0.25f, NAN };
  float out[8];
  size_t bad;
  int i;

  bad = musa_audio_to_f32 (s16, MUSA_SAMPLE_S16, 1, 6, out);
  CHECK (bad == 0, "s16 bad %zu", bad);
  for (i = 0; i < 6; i++)
    CHECK (out[i] == s16[i] / 32768.0f, "s16[%d] -> %g", i, out[i]);
  CHECK (out[0] == -1.0f && out[4] == 0.5f, "s16 scale");

  bad = musa_audio_to_f32 (s32, MUSA_SAMPLE_S32, 2, 2, out);
  CHECK (bad == 0, "s32 bad");
  CHECK (out[0] == -1.0f && out[1] == -0.5f && out[2] == 0.0f
      && out[3] == 0.5f, "s32 -> %g %g %g %g", out[0], out[1], out[2], out[3]);

  /* a finite double beyond the float range saturates (it became Inf, then
   * silence, counted as non-finite input); NaN is silenced and counted */
  bad = musa_audio_to_f32 (f64, MUSA_SAMPLE_F64, 1, 5, out);
  CHECK (bad == 1, "f64: only NaN counted, got %zu", bad);
  CHECK (out[0] == 0.25f && out[1] == -1.5f && out[2] == FLT_MAX
      && out[3] == 0.0f && out[4] == 0.0f, "f64 values");
  {
    double f64st[4] = { -1e300, 0.5, INFINITY, 0.5 };
    float big[4] = { 3e38f, 3e38f, -3e38f, FLT_MAX };

    /* two channels near FLT_MAX: their mean, not Inf */
    bad = musa_audio_to_mono (big, MUSA_SAMPLE_F32, 2, 2, out);
    CHECK (bad == 0 && out[0] == 3e38f && isfinite (out[1]),
        "f32 stereo near FLT_MAX: bad %zu, %g %g", bad, out[0], out[1]);

    bad = musa_audio_to_mono (f64st, MUSA_SAMPLE_F64, 2, 2, out);
    CHECK (bad == 1 && out[0] == -FLT_MAX / 2 && out[1] == 0.25f,
        "f64 stereo: bad %zu, %g %g", bad, out[0], out[1]);
  }

  bad = musa_audio_to_f32 (f32, MUSA_SAMPLE_F32, 1, 4, out);
  CHECK (bad == 2 && out[0] == 0.5f && out[1] == 0.0f && out[2] == -0.25f
      && out[3] == 0.0f, "f32 sanitised, bad %zu", bad);
}

static void
test_downmix (void)
{
  float st[8] = { 0.5f, 0.25f, -1.0f, 1.0f, 0.2f, 0.4f, 0.0f, -0.5f };
  float st_nan[6] = { NAN, 0.5f, 0.25f, 0.25f, INFINITY, -INFINITY };
  int16_t s16x3[6] = { 3000, 6000, -3000, 32767, 32767, 32767 };
  float mono[4];
  size_t bad;
  int i;

  bad = musa_audio_to_mono (st, MUSA_SAMPLE_F32, 2, 4, mono);
  CHECK (bad == 0, "stereo bad");
  for (i = 0; i < 4; i++)
    CHECK (fabsf (mono[i] - 0.5f * (st[2 * i] + st[2 * i + 1])) <= 1e-7f,
        "stereo mean %d: %g", i, mono[i]);

  /* NaN in one channel silences that sample only */
  bad = musa_audio_to_mono (st_nan, MUSA_SAMPLE_F32, 2, 3, mono);
  CHECK (bad == 3, "NaN/Inf counted: %zu", bad);
  CHECK (mono[0] == 0.25f && mono[1] == 0.25f && mono[2] == 0.0f,
      "NaN downmix %g %g %g", mono[0], mono[1], mono[2]);

  bad = musa_audio_to_mono (s16x3, MUSA_SAMPLE_S16, 3, 2, mono);
  CHECK (bad == 0, "s16 bad");
  CHECK (fabsf (mono[0] - 6000.0f / 3 / 32768.0f) < 1e-7f, "3ch mean %g",
      mono[0]);
  CHECK (fabsf (mono[1] - 32767.0f / 32768.0f) < 1e-6f, "3ch mean %g", mono[1]);
}

/* --------------------------------------------------- ORC kernels vs plain C */

static void
test_orc_vs_c (void)
{
  enum
  { N = 1031 };
  float *cplx = malloc (sizeof (float) * 2 * N), *a = malloc (sizeof (float)
      * N), *b = malloc (sizeof (float) * N), *out = malloc (sizeof (float)
      * N), *st = malloc (sizeof (float) * 2 * N);
  int16_t *s16 = malloc (sizeof (int16_t) * N);
  MusaRng rng;
  int i;
  static const float powers[] = { 2.0f, 1.0f, 1.5f, 0.5f, 3.0f };
  int p;

  musa_rng_init (&rng, 7);
  for (i = 0; i < 2 * N; i++) {
    cplx[i] = (float) musa_rng_range (&rng, -100.0, 100.0);
    st[i] = (float) musa_rng_range (&rng, -1.0, 1.0);
  }
  for (i = 0; i < N; i++) {
    a[i] = (float) musa_rng_normal (&rng);
    b[i] = (float) musa_rng_normal (&rng);
    s16[i] = (int16_t) (musa_rng_next (&rng) & 0xffff);
  }
  for (p = 0; p < 5; p++) {
    musa_power_spectrum (cplx, out, N, powers[p]);
    for (i = 0; i < N; i++) {
      double re = cplx[2 * i], im = cplx[2 * i + 1];
      double ref = pow (re * re + im * im, powers[p] / 2.0);
      CHECK (fabs (out[i] - ref) <= 1e-6 * ref, "power %g bin %d: %g vs %g",
          powers[p], i, out[i], ref);
    }
  }
  musa_mul (out, a, b, N);
  for (i = 0; i < N; i++)
    CHECK (out[i] == a[i] * b[i], "mul %d", i);
  musa_scale (out, a, 0.37f, N);
  for (i = 0; i < N; i++)
    CHECK (out[i] == a[i] * 0.37f, "scale %d", i);
  musa_audio_to_mono (st, MUSA_SAMPLE_F32, 2, N, out);
  for (i = 0; i < N; i++)
    CHECK (out[i] == (st[2 * i] + st[2 * i + 1]) * 0.5f, "downmix %d", i);
  musa_audio_to_f32 (s16, MUSA_SAMPLE_S16, 1, N, out);
  for (i = 0; i < N; i++)
    CHECK (out[i] == (float) s16[i] / 32768.0f, "s16 %d", i);
  free (cplx);
  free (a);
  free (b);
  free (out);
  free (st);
  free (s16);
}

/* -------------------------------------------------------------------- rng */

static void
test_rng (void)
{
  MusaRng a, b;
  uint64_t k1 = musa_rng_key (1, 2, 3), k2 = musa_rng_key (1, 2, 4);
  double sum = 0.0, sq = 0.0, nsum = 0.0, nsq = 0.0;
  int i, same = 0, n = 200000;

  CHECK (k1 == musa_rng_key (1, 2, 3), "key is a function");
  CHECK (k1 != k2 && k1 != musa_rng_key (2, 2, 3)
      && k1 != musa_rng_key (1, 3, 2), "keys differ");
  musa_rng_init (&a, k1);
  musa_rng_init (&b, k1);
  for (i = 0; i < 1000; i++)
    CHECK (musa_rng_next (&a) == musa_rng_next (&b), "reproducible at %d", i);
  musa_rng_init (&a, k1);
  musa_rng_init (&b, k2);
  for (i = 0; i < 1000; i++)
    same += musa_rng_next (&a) == musa_rng_next (&b);
  CHECK (same == 0, "streams of different keys coincide %d times", same);
  /* counter-based: draw i depends only on (key, i) */
  musa_rng_init (&a, k1);
  for (i = 0; i < 10; i++)
    musa_rng_next (&a);
  b.key = k1;
  b.counter = 10;
  CHECK (musa_rng_next (&a) == musa_rng_next (&b), "draw 10 by counter");

  musa_rng_init (&a, 99);
  for (i = 0; i < n; i++) {
    double u = musa_rng_uniform (&a), g = musa_rng_normal (&a);
    CHECK (u >= 0.0 && u < 1.0, "uniform %g", u);
    sum += u;
    sq += u * u;
    nsum += g;
    nsq += g * g;
  }
  CHECK (fabs (sum / n - 0.5) < 0.005, "uniform mean %g", sum / n);
  CHECK (fabs (sq / n - sum * sum / n / n - 1.0 / 12) < 0.002,
      "uniform variance");
  CHECK (fabs (nsum / n) < 0.01, "normal mean %g", nsum / n);
  CHECK (fabs (nsq / n - 1.0) < 0.02, "normal variance %g", nsq / n);
  for (i = 0; i < 1000; i++) {
    double r = musa_rng_range (&a, -3.0, 5.0);
    CHECK (r >= -3.0 && r < 5.0, "range %g", r);
  }
  /* FNV-1a 64 reference values */
  CHECK (musa_rng_hash_string ("") == 0xcbf29ce484222325ULL, "fnv empty");
  CHECK (musa_rng_hash_string ("a") == 0xaf63dc4c8601ec8cULL, "fnv a");
  CHECK (musa_rng_hash_string ("foobar") == 0x85944171f73967e8ULL,
      "fnv foobar");
}

/* ------------------------------------------------------------------ synth */

static void
test_synth_clicks (void)
{
  size_t n = 44100 * 3, i;
  float *x = malloc (sizeof (float) * n);
  size_t expect[6];
  int k, found = 0;

  musa_synth_clicks (x, n, 44100, 120.0, 100);
  for (k = 0; k < 6; k++)
    expect[k] = 100 + (size_t) k *22050;
  for (i = 0; i < 100; i++)
    CHECK (x[i] == 0.0f, "silence before the offset at %zu", i);
  for (k = 0; k < 6; k++) {
    CHECK (fabsf (x[expect[k]] - 0.8f) < 1e-6f, "click %d starts at %zu "
        "with 0.8, got %g", k, expect[k], x[expect[k]]);
    /* silence just before each click; the burst lasts 1 ms + 1 sample
     * (45 samples at 44.1 kHz), then silence */
    CHECK (x[expect[k] - 1] == 0.0f, "silence before click %d", k);
    CHECK (x[expect[k] + 44] != 0.0f, "click %d lasts 45 samples", k);
    CHECK (x[expect[k] + 45] == 0.0f, "silence after click %d", k);
  }
  for (i = 0; i < n; i++)
    if (x[i] != 0.0f && (i - 100) % 22050 == 0)
      found++;
  CHECK (found == 6, "six click starts, got %d", found);
  free (x);
}

static void
test_synth_music (void)
{
  MusaSynthConfig cfg;
  MusaError err;
  size_t n = 44100 * 4, i;
  float *x = malloc (sizeof (float) * n), *y = malloc (sizeof (float) * n);
  double peak = 0.0, energy = 0.0;

  musa_synth_config_default (&cfg);
  CHECK (cfg.sample_rate == 44100 && cfg.bpm == 120.0 && cfg.tonic == 9
      && cfg.minor, "defaults: 44.1 kHz, 120 BPM, A minor");
  CHECK (musa_synth_music (&cfg, x, n, &err) == MUSA_OK, "synth");
  CHECK (musa_synth_music (&cfg, y, n, &err) == MUSA_OK, "synth again");
  CHECK (memcmp (x, y, sizeof (float) * n) == 0, "deterministic");
  for (i = 0; i < n; i++) {
    CHECK (isfinite (x[i]), "finite at %zu", i);
    peak = fmax (peak, fabs (x[i]));
    energy += (double) x[i] * x[i];
  }
  CHECK (peak < 0.9 && peak > 0.3, "peak %g", peak);
  CHECK (energy / n > 1e-4, "not silent");
  /* the kick lands on beat 0: the first 10 ms are louder than the 10 ms
   * before beat 1 ends */
  {
    double e0 = 0.0, e1 = 0.0;
    for (i = 0; i < 441; i++) {
      e0 += (double) x[i] * x[i];
      e1 += (double) x[22050 - 441 + i] * x[22050 - 441 + i];
    }
    CHECK (e0 > 2.0 * e1, "onset at beat 0: %g vs %g", e0, e1);
  }
  cfg.bpm = 1000.0;
  CHECK (musa_synth_music (&cfg, x, n, &err) == MUSA_ERR_INVALID,
      "bpm 1000 refused");
  free (x);
  free (y);
}

/* ---------------------------------------------------------------- melspec */

typedef struct
{
  int64_t frames;
  float min, max;
  int bad_index;
  int nonfinite;
} MelStats;

static void
mel_stats (void *user, int64_t index, const float *mels, int n_mels)
{
  MelStats *s = user;
  int m;

  if (index != s->frames)
    s->bad_index++;
  for (m = 0; m < n_mels; m++) {
    if (!isfinite (mels[m]))
      s->nonfinite++;
    s->min = fminf (s->min, mels[m]);
    s->max = fmaxf (s->max, mels[m]);
  }
  s->frames++;
}

static void
test_melspec_silence (void)
{
  MusaMelspecConfig cfg;
  MusaMelspec *ms;
  float *x = calloc (22050, sizeof (float));
  MelStats s;
  int log;

  for (log = 0; log < 3; log++) {
    musa_melspec_config_default (&cfg, 22050);
    cfg.log = (MusaMelLog) log;
    ms = musa_melspec_new (&cfg, NULL);
    CHECK (ms != NULL, "new");
    CHECK (musa_melspec_n_mels (ms) == 128, "n_mels");
    memset (&s, 0, sizeof (s));
    s.min = INFINITY;
    s.max = -INFINITY;
    musa_melspec_process (ms, x, 22050, mel_stats, &s);
    musa_melspec_finish (ms, mel_stats, &s);
    CHECK (s.frames == 1 + 22050 / 512 && s.bad_index == 0, "frames");
    if (log == MUSA_MEL_LOG_DB)
      CHECK (s.min == -100.0f && s.max == -100.0f,
          "silence in dB is 10 log10(amin) = -100, got %g..%g", s.min, s.max);
    else
      CHECK (s.min == 0.0f && s.max == 0.0f, "silence is 0, got %g..%g",
          s.min, s.max);
    musa_melspec_free (ms);
  }
  free (x);
}

/* Finite samples far beyond full scale (garbage F32 input, which the NaN/Inf
 * check lets through) overflow float in the power spectrum: the mel values
 * must saturate, not become Inf/NaN (they reached melspec's messages and
 * tensors as inf from an amplitude of about 1e17). */
static void
test_melspec_huge_input (void)
{
  static const float amps[] = { 1e20f, 3e38f };
  static const double mults[] = { 1.0, 1e12 };
  MusaMelspecConfig cfg;
  MusaMelspec *ms;
  float *x = malloc (8192 * sizeof (float));
  MelStats s;
  int a, log, power, mult, i;

  for (a = 0; a < 2; a++) {
    for (i = 0; i < 8192; i++)
      x[i] = amps[a] * (float) sin (2 * M_PI * 440.0 * i / 22050.0);
    for (log = 0; log < 3; log++)
      for (power = 1; power <= 2; power++)
        for (mult = 0; mult < 2; mult++) {
          musa_melspec_config_default (&cfg, 22050);
          cfg.log = (MusaMelLog) log;
          cfg.power = power;
          cfg.log_mult = mults[mult];
          ms = musa_melspec_new (&cfg, NULL);
          CHECK (ms != NULL, "new");
          memset (&s, 0, sizeof (s));
          musa_melspec_process (ms, x, 8192, mel_stats, &s);
          musa_melspec_finish (ms, mel_stats, &s);
          CHECK (s.frames > 0 && s.nonfinite == 0, "amplitude %g, log %d, "
              "power %d, log-mult %g: %d non-finite values", amps[a], log,
              power, mults[mult], s.nonfinite);
          musa_melspec_free (ms);
        }
  }
  free (x);
}

static void
test_melspec_precision_rule (void)
{
  MusaMelspecConfig cfg;

  musa_melspec_config_default (&cfg, 44100);
  CHECK (!musa_melspec_needs_precise (&cfg), "defaults use the float STFT");
  cfg.log = MUSA_MEL_LOG_DB;
  CHECK (!musa_melspec_needs_precise (&cfg), "dB, top-db 80, power 2: float");
  cfg.top_db = 0.0;
  CHECK (musa_melspec_needs_precise (&cfg), "dB without floor: double");
  musa_melspec_config_default (&cfg, 44100);
  cfg.power = 1.0;
  CHECK (musa_melspec_needs_precise (&cfg), "power 1: double");
  musa_melspec_config_default (&cfg, 44100);
  cfg.fmax = 8000.0;
  CHECK (musa_melspec_needs_precise (&cfg), "band-limited: double");
  cfg.fmax = 22050.0;
  CHECK (!musa_melspec_needs_precise (&cfg), "fmax = Nyquist: float");
}

/* A NULL configuration (a C caller's mistake) is refused with
 * MUSA_ERR_INVALID, not dereferenced. */
static void
test_null_config (void)
{
  MusaError err;
  float x[16];

  musa_error_clear (&err);
  CHECK (musa_stft_config_check (NULL, &err) == MUSA_ERR_INVALID
      && err.code == MUSA_ERR_INVALID, "stft check: %s", err.message);
  musa_error_clear (&err);
  CHECK (musa_stft_new (NULL, &err) == NULL && err.code == MUSA_ERR_INVALID,
      "stft: %s", err.message);
  musa_error_clear (&err);
  CHECK (musa_mel_config_check (NULL, &err) == MUSA_ERR_INVALID
      && err.code == MUSA_ERR_INVALID, "mel check: %s", err.message);
  musa_error_clear (&err);
  CHECK (musa_mel_config_check_static (NULL, &err) == MUSA_ERR_INVALID
      && err.code == MUSA_ERR_INVALID, "mel static check: %s", err.message);
  musa_error_clear (&err);
  CHECK (musa_mel_new (NULL, &err) == NULL && err.code == MUSA_ERR_INVALID,
      "mel: %s", err.message);
  musa_error_clear (&err);
  CHECK (musa_melspec_config_check (NULL, &err) == MUSA_ERR_INVALID
      && err.code == MUSA_ERR_INVALID, "melspec check: %s", err.message);
  musa_error_clear (&err);
  CHECK (musa_melspec_new (NULL, &err) == NULL && err.code == MUSA_ERR_INVALID,
      "melspec: %s", err.message);
  musa_error_clear (&err);
  CHECK (musa_synth_music (NULL, x, 16, &err) == MUSA_ERR_INVALID
      && err.code == MUSA_ERR_INVALID, "synth: %s", err.message);
}

/* musa_melspec_process/_finish without a callback (as musa_stft_* allow):
 * the frames are counted, nothing is called, and a later call with a
 * callback goes on from there. */
static void
test_melspec_null_func (void)
{
  MusaMelspecConfig cfg;
  MusaMelspec *ms;
  float *x = calloc (22050, sizeof (float));
  MelStats s;

  musa_melspec_config_default (&cfg, 22050);
  ms = musa_melspec_new (&cfg, NULL);
  CHECK (ms != NULL, "new");
  musa_melspec_process (ms, x, 11025, NULL, NULL);
  CHECK (musa_stft_frames (musa_melspec_stft (ms)) ==
      (11025 - 2048 / 2) / 512 + 1, "frames counted without a callback: %lld",
      (long long) musa_stft_frames (musa_melspec_stft (ms)));
  memset (&s, 0, sizeof (s));
  s.min = INFINITY;
  s.max = -INFINITY;
  musa_melspec_process (ms, x + 11025, 11025, mel_stats, &s);
  musa_melspec_finish (ms, NULL, NULL);
  CHECK (musa_stft_frames (musa_melspec_stft (ms)) == 1 + 22050 / 512,
      "all frames: %lld",
      (long long) musa_stft_frames (musa_melspec_stft (ms)));
  CHECK (s.frames > 0 && s.min == 0.0f && s.max == 0.0f, "callback frames");
  musa_melspec_free (ms);
  free (x);
}

/* musa_window_fill with an unknown type (it silently gave a Hann window) or
 * without an output: MUSA_ERR_INVALID. */
static void
test_window_bad_args (void)
{
  MusaError err;
  float w[16];
  double w64[16];

  musa_error_clear (&err);
  CHECK (musa_window_fill (w, 16, 8, (MusaWindowType) 99, &err)
      == MUSA_ERR_INVALID && strcmp (err.property, "window") == 0,
      "unknown type: %s", err.message);
  musa_error_clear (&err);
  CHECK (musa_window_fill_f64 (w64, 16, 8, (MusaWindowType) - 1, &err)
      == MUSA_ERR_INVALID && strcmp (err.property, "window") == 0,
      "unknown type (f64): %s", err.message);
  CHECK (musa_window_fill (NULL, 16, 8, MUSA_WINDOW_HANN, NULL)
      == MUSA_ERR_INVALID, "no output");
  CHECK (musa_window_fill (w, 16, 8, MUSA_WINDOW_BLACKMAN, NULL) == MUSA_OK,
      "valid");
}

int
main (void)
{
  musa_test_run ("window values", test_window_values);
  musa_test_run ("window pad_center", test_window_pad_center);
  musa_test_run ("fft vs dft", test_fft_vs_dft);
  musa_test_run ("stft frame count", test_stft_frame_count);
  musa_test_run ("stft centring", test_stft_centring);
  musa_test_run ("stft chunk invariance", test_stft_chunk_invariance);
  musa_test_run ("stft reset", test_stft_reset);
  musa_test_run ("mel scale", test_mel_scale);
  musa_test_run ("mel weights", test_mel_weights);
  musa_test_run ("config errors", test_config_errors);
  musa_test_run ("audio conversion", test_audio_conversion);
  musa_test_run ("downmix", test_downmix);
  musa_test_run ("orc vs c", test_orc_vs_c);
  musa_test_run ("rng", test_rng);
  musa_test_run ("synth clicks", test_synth_clicks);
  musa_test_run ("synth music", test_synth_music);
  musa_test_run ("melspec silence", test_melspec_silence);
  musa_test_run ("melspec precision rule", test_melspec_precision_rule);
  musa_test_run ("melspec huge input", test_melspec_huge_input);
  musa_test_run ("null config", test_null_config);
  musa_test_run ("melspec null func", test_melspec_null_func);
  musa_test_run ("window bad args", test_window_bad_args);
  return musa_test_summary ();
}
