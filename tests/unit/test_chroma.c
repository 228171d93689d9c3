/* Unit tests of libmusa's chroma, tuning and key modules. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "chroma/chroma.h"
#include "chroma/key.h"
#include "core/rng.h"
#include "core/synth.h"
#include "musatest.h"

#define RATE 22050

static const int major_triad[3] = { 0, 4, 7 };
static const int minor_triad[3] = { 0, 3, 7 };

/* Add a harmonic tone (6 harmonics, amplitude 1/h, 10 ms fades) of MIDI
 * pitch @midi detuned by @cents over samples [start, start + len). */
static void
add_tone (float *x, size_t start, size_t len, double midi, double cents,
    double amp)
{
  double f0 = 440.0 * pow (2.0, (midi - 69.0 + cents / 100.0) / 12.0);
  size_t i, fade = RATE / 100;
  int h;

  for (i = 0; i < len; i++) {
    double t = (double) i / RATE, g = amp, v = 0.0;
    if (i < fade)
      g *= (double) i / fade;
    if (len - i < fade)
      g *= (double) (len - i) / fade;
    for (h = 1; h <= 6; h++)
      if (f0 * h < 0.45 * RATE)
        v += sin (2.0 * M_PI * f0 * h * t) / h;
    x[start + i] += (float) (g * v);
  }
}

/* A triad (three notes around middle C) plus its root in the bass. */
static void
add_chord (float *x, size_t start, size_t len, int root, const int *tri,
    double cents)
{
  int i;
  for (i = 0; i < 3; i++)
    add_tone (x, start, len, 60 + (root + tri[i]) % 12, cents, 0.1);
  add_tone (x, start, len, 36 + root % 12, cents, 0.12);
}

/* I-IV-V7-I (major) or i-iv-V7-i (harmonic minor), 0.6 s a chord. */
static size_t
make_cadence (float *x, int tonic, int minor, double cents)
{
  size_t len = (size_t) (0.6 * RATE);
  const int *tri = minor ? minor_triad : major_triad;

  add_chord (x, 0, len, tonic, tri, cents);
  add_chord (x, len, len, tonic + 5, tri, cents);
  add_chord (x, 2 * len, len, tonic + 7, major_triad, cents);
  add_tone (x, 2 * len, len, 60 + (tonic + 7 + 10) % 12, cents, 0.08);
  add_chord (x, 3 * len, len, tonic, tri, cents);
  return 4 * len;
}

static MusaChroma *
new_chroma (double window)
{
  MusaChromaConfig cfg;
  MusaError err;
  MusaChroma *ch;

  musa_chroma_config_default (&cfg, RATE);
  cfg.window = window;
  ch = musa_chroma_new (&cfg, &err);
  CHECK (ch != NULL, "musa_chroma_new: %s", err.message);
  return ch;
}

static void
analyse (const float *x, size_t n, MusaChromaResult * res)
{
  MusaChroma *ch = new_chroma (0.0);
  musa_chroma_process (ch, x, n);
  musa_chroma_finish (ch);
  musa_chroma_get_total (ch, res);
  musa_chroma_free (ch);
}

static void
test_names (void)
{
  char a[16], b[16], c[16];
  int t, m, seen_camelot[24] = { 0 }, seen_open[24] = { 0 };

  musa_key_name (9, 1, a, sizeof a);
  CHECK (strcmp (a, "A minor") == 0, "%s", a);
  musa_key_camelot (9, 1, a, sizeof a);
  CHECK (strcmp (a, "8A") == 0, "A minor camelot %s", a);
  musa_key_open_key (9, 1, a, sizeof a);
  CHECK (strcmp (a, "1m") == 0, "A minor open key %s", a);
  musa_key_camelot (0, 0, a, sizeof a);
  CHECK (strcmp (a, "8B") == 0, "C major camelot %s", a);
  musa_key_open_key (0, 0, a, sizeof a);
  CHECK (strcmp (a, "1d") == 0, "C major open key %s", a);
  musa_key_camelot (6, 0, a, sizeof a);
  CHECK (strcmp (a, "2B") == 0, "F# major camelot %s", a);
  musa_key_camelot (5, 1, a, sizeof a);
  CHECK (strcmp (a, "4A") == 0, "F minor camelot %s", a);
  musa_key_open_key (4, 1, a, sizeof a);
  CHECK (strcmp (a, "2m") == 0, "E minor open key %s", a);
  musa_key_tag (6, 0, a, sizeof a);
  CHECK (strcmp (a, "F#") == 0, "tag %s", a);
  musa_key_tag (9, 1, a, sizeof a);
  CHECK (strcmp (a, "Am") == 0, "tag %s", a);
  musa_key_tag (1, 1, a, sizeof a);
  CHECK (strcmp (a, "C#m") == 0, "tag %s", a);
  musa_key_tag (-1, 0, a, sizeof a);
  CHECK (strcmp (a, "none") == 0, "tag %s", a);

  /* each notation names 24 different keys; relative keys share a number */
  for (m = 0; m < 2; m++)
    for (t = 0; t < 12; t++) {
      int num;
      char l;
      musa_key_camelot (t, m, a, sizeof a);
      musa_key_open_key (t, m, b, sizeof b);
      CHECK (sscanf (a, "%d%c", &num, &l) == 2 && num >= 1 && num <= 12
          && l == (m ? 'A' : 'B'), "camelot %s", a);
      seen_camelot[(num - 1) * 2 + m]++;
      CHECK (sscanf (b, "%d%c", &num, &l) == 2 && num >= 1 && num <= 12
          && l == (m ? 'm' : 'd'), "open key %s", b);
      seen_open[(num - 1) * 2 + m]++;
      if (m == 1) {
        musa_key_camelot ((t + 3) % 12, 0, c, sizeof c);
        CHECK (atoi (a) == atoi (c), "relative of %d: %s vs %s", t, a, c);
      }
    }
  for (t = 0; t < 24; t++) {
    CHECK (seen_camelot[t] == 1, "camelot slot %d used %d times", t,
        seen_camelot[t]);
    CHECK (seen_open[t] == 1, "open key slot %d used %d times", t,
        seen_open[t]);
  }
  for (t = 0; t < MUSA_KEY_PROFILE_N; t++)
    CHECK (musa_key_profile_name (t) != NULL, "profile %d has no name", t);
  CHECK (musa_key_profile_name (MUSA_KEY_PROFILE_N) == NULL, "name past end");
}

static void
test_key_from_profiles (void)
{
  int p, t, m, i;

  /* a chroma equal to a rotated note profile gives that key */
  for (p = 0; p < MUSA_KEY_PROFILE_COMBINED; p++)
    for (m = 0; m < 2; m++)
      for (t = 0; t < 12; t++) {
        const double *v = musa_key_profile_values (p, m);
        float c[12];
        MusaKey k;
        for (i = 0; i < 12; i++)
          c[(i + t) % 12] = (float) v[i];
        CHECK (musa_key_estimate (c, p, &k, NULL) == MUSA_OK, "estimate");
        CHECK (k.tonic == t && k.minor == m, "%s profile %d/%d gave %d/%d",
            musa_key_profile_name (p), t, m, k.tonic, k.minor);
        CHECK (k.correlation > k.runner_correlation
            && k.correlation <= 1.0f, "correlations %f %f", k.correlation,
            k.runner_correlation);
        CHECK (k.runner_tonic != k.tonic || k.runner_minor != k.minor,
            "runner-up is the key");
      }
  {
    float flat[12], zero[12] = { 0 };
    MusaKey k;
    MusaError err;
    for (i = 0; i < 12; i++)
      flat[i] = 0.5f;
    musa_key_estimate (flat, 0, &k, NULL);
    CHECK (k.tonic == -1 && k.correlation == 0.0f, "flat chroma has a key");
    musa_key_estimate (zero, MUSA_KEY_PROFILE_COMBINED, &k, NULL);
    CHECK (k.tonic == -1, "zero chroma has a key");
    CHECK (musa_key_estimate (zero, 99, &k, &err) == MUSA_ERR_INVALID
        && strcmp (err.property, "profile") == 0, "bad profile accepted");
  }
}

static void
test_triads (void)
{
  size_t n = RATE;
  float *x = malloc (sizeof (float) * n);
  int root, m, i;

  for (m = 0; m < 2; m++)
    for (root = 0; root < 12; root++) {
      MusaChromaResult r;
      const int *tri = m ? minor_triad : major_triad;
      memset (x, 0, sizeof (float) * n);
      for (i = 0; i < 3; i++)
        add_tone (x, 0, n, 60 + root + tri[i], 0.0, 0.2);
      analyse (x, n, &r);
      /* the three chord tones are the three strongest pitch classes */
      for (i = 0; i < 12; i++) {
        int in = (i - root + 12) % 12 == tri[0] || (i - root + 12) % 12 ==
            tri[1] || (i - root + 12) % 12 == tri[2];
        if (!in)
          CHECK (r.chroma[i] < r.chroma[(root + tri[0]) % 12]
              && r.chroma[i] < r.chroma[(root + tri[1]) % 12]
              && r.chroma[i] < r.chroma[(root + tri[2]) % 12],
              "triad %d/%d: class %d = %f", root, m, i, r.chroma[i]);
      }
      CHECK (fabsf (r.tuning_cents) < 3.0f, "tuning %f", r.tuning_cents);
      CHECK (r.tonalness > 0.5f, "tonalness of a triad %f", r.tonalness);
    }
  free (x);
}

/* A scale up and down an octave from the tonic (0.2 s a note, the tonic
 * held three times as long at the start and the end). */
static void
test_scales (void)
{
  static const int major_scale[8] = { 0, 2, 4, 5, 7, 9, 11, 12 };
  static const int minor_scale[8] = { 0, 2, 3, 5, 7, 8, 11, 12 };
  size_t note = (size_t) (0.2 * RATE), n = 20 * note;
  float *x = malloc (sizeof (float) * n);
  int t, m, i, p;

  for (m = 0; m < 2; m++)
    for (t = 0; t < 12; t++) {
      const int *sc = m ? minor_scale : major_scale;
      MusaChromaResult r;
      size_t pos = 0;
      memset (x, 0, sizeof (float) * n);
      for (i = 0; i < 8; i++) {
        size_t len = i == 0 ? 3 * note : note;
        add_tone (x, pos, len, 60 + t + sc[i], 0.0, 0.2);
        pos += len;
      }
      for (i = 7; i >= 0; i--) {
        size_t len = i == 0 ? 3 * note : note;
        add_tone (x, pos, len, 60 + t + sc[i], 0.0, 0.2);
        pos += len;
      }
      analyse (x, n, &r);
      for (p = 0; p < MUSA_KEY_PROFILE_N; p++) {
        MusaKey k;
        musa_key_estimate (r.chroma, p, &k, NULL);
        CHECK (k.tonic == t && k.minor == m, "%s scale %d/%d gave %d/%d",
            musa_key_profile_name (p), t, m, k.tonic, k.minor);
      }
    }
  free (x);
}

static void
check_cadences (double cents)
{
  size_t n = (size_t) (2.5 * RATE);
  float *x = malloc (sizeof (float) * n);
  int t, m, p;

  for (m = 0; m < 2; m++)
    for (t = 0; t < 12; t++) {
      MusaChromaResult r;
      size_t len;
      memset (x, 0, sizeof (float) * n);
      len = make_cadence (x, t, m, cents);
      analyse (x, len, &r);
      CHECK (fabs (r.tuning_cents - cents) <= 5.0,
          "cadence %d/%d detuned %g cents: tuning %f", t, m, cents,
          r.tuning_cents);
      for (p = 0; p < MUSA_KEY_PROFILE_N; p++) {
        MusaKey k;
        musa_key_estimate (r.chroma, p, &k, NULL);
        CHECK (k.tonic == t && k.minor == m,
            "%s cadence %d/%d (%g cents) gave %d/%d",
            musa_key_profile_name (p), t, m, cents, k.tonic, k.minor);
      }
    }
  free (x);
}

static void
test_cadences (void)
{
  check_cadences (0.0);
}

static void
test_detuned (void)
{
  check_cadences (30.0);
  check_cadences (-30.0);
  check_cadences (45.0);
}

static void
test_fixed_tuning (void)
{
  MusaChromaConfig cfg;
  MusaChroma *ch;
  MusaChromaResult r;
  MusaKey k;
  size_t n = (size_t) (2.5 * RATE), len;
  float *x = calloc (n, sizeof (float));

  len = make_cadence (x, 2, 0, -30.0);
  musa_chroma_config_default (&cfg, RATE);
  cfg.estimate_tuning = 0;
  cfg.tuning_cents = -30.0;
  ch = musa_chroma_new (&cfg, NULL);
  musa_chroma_process (ch, x, len);
  musa_chroma_finish (ch);
  musa_chroma_get_total (ch, &r);
  CHECK (fabsf (r.tuning_cents + 30.0f) < 1e-4f, "fixed tuning %f",
      r.tuning_cents);
  musa_key_estimate (r.chroma, MUSA_KEY_PROFILE_COMBINED, &k, NULL);
  CHECK (k.tonic == 2 && k.minor == 0, "D major gave %d/%d", k.tonic, k.minor);
  musa_chroma_free (ch);
  free (x);
}

static void
test_silence_noise_drums (void)
{
  size_t n = 8 * RATE, i;
  float *x = calloc (n, sizeof (float));
  MusaChromaResult r;
  MusaRng rng;
  MusaSynthConfig sc;
  MusaKey k;

  analyse (x, n, &r);
  for (i = 0; i < 12; i++)
    CHECK (r.chroma[i] == 0.0f, "silence chroma[%zu] = %f", i, r.chroma[i]);
  CHECK (r.tonalness == 0.0f && r.tuning_cents == 0.0f && r.energy == 0.0f,
      "silence: tonalness %f tuning %f", r.tonalness, r.tuning_cents);
  musa_key_estimate (r.chroma, MUSA_KEY_PROFILE_COMBINED, &k, NULL);
  CHECK (k.tonic == -1, "silence has key %d", k.tonic);

  musa_rng_init (&rng, musa_rng_key (7, 1, 2));
  for (i = 0; i < n; i++)
    x[i] = (float) (0.3 * musa_rng_normal (&rng));
  analyse (x, n, &r);
  CHECK (r.tonalness < 0.1f, "white noise tonalness %f", r.tonalness);
  for (i = 0; i < 12; i++)
    CHECK (isfinite (r.chroma[i]), "noise chroma not finite");

  musa_synth_config_default (&sc);
  sc.sample_rate = RATE;
  sc.bass = 0;
  sc.chords = 0;
  CHECK (musa_synth_music (&sc, x, n, NULL) == MUSA_OK, "synth");
  analyse (x, n, &r);
  CHECK (r.tonalness < 0.2f, "drums tonalness %f", r.tonalness);

  /* the same drums with bass and chords are tonal */
  sc.bass = 1;
  sc.chords = 1;
  musa_synth_music (&sc, x, n, NULL);
  analyse (x, n, &r);
  CHECK (r.tonalness > 0.3f, "music tonalness %f", r.tonalness);
  musa_key_estimate (r.chroma, MUSA_KEY_PROFILE_COMBINED, &k, NULL);
  CHECK (k.tonic == 9 && k.minor == 1, "synth A minor gave %d/%d", k.tonic,
      k.minor);

  /* silence after signal stays finite and adds nothing */
  {
    MusaChroma *ch = new_chroma (1.0);
    float *z = calloc (n, sizeof (float));
    musa_chroma_process (ch, x, n);
    musa_chroma_process (ch, z, n);
    musa_chroma_get_window (ch, &r);
    for (i = 0; i < 12; i++)
      CHECK (r.chroma[i] == 0.0f, "window of silence chroma[%zu] = %g", i,
          r.chroma[i]);
    musa_chroma_get_total (ch, &r);
    for (i = 0; i < 12; i++)
      CHECK (isfinite (r.chroma[i]), "total not finite");
    musa_chroma_free (ch);
    free (z);
  }
  free (x);
}

static void
test_chunk_invariance (void)
{
  size_t n = (size_t) (2.5 * RATE), len, pos;
  float *x = calloc (n, sizeof (float));
  MusaChroma *a = new_chroma (1.5), *b = new_chroma (1.5);
  MusaChromaResult ra, rb, wa, wb;
  MusaRng rng;

  len = make_cadence (x, 4, 1, 12.0);
  musa_chroma_process (a, x, len);
  musa_rng_init (&rng, 42);
  for (pos = 0; pos < len;) {
    size_t c = 1 + (size_t) (musa_rng_uniform (&rng) * 3000);
    if (c > len - pos)
      c = len - pos;
    musa_chroma_process (b, x + pos, c);
    pos += c;
  }
  musa_chroma_finish (a);
  musa_chroma_finish (b);
  musa_chroma_get_total (a, &ra);
  musa_chroma_get_total (b, &rb);
  musa_chroma_get_window (a, &wa);
  musa_chroma_get_window (b, &wb);
  CHECK (memcmp (&ra, &rb, sizeof ra) == 0, "total differs with chunking");
  CHECK (memcmp (&wa, &wb, sizeof wa) == 0, "window differs with chunking");
  CHECK (musa_chroma_frames (a) == musa_chroma_frames (b), "frames");

  /* reset gives the same result again */
  musa_chroma_reset (a);
  musa_chroma_process (a, x, len);
  musa_chroma_finish (a);
  musa_chroma_get_total (a, &wa);
  CHECK (memcmp (&ra, &wa, sizeof ra) == 0, "reset is not a fresh start");
  musa_chroma_free (a);
  musa_chroma_free (b);
  free (x);
}

/* Window: a cadence in C major then one in F# major; the window follows. */
static void
test_window (void)
{
  size_t n = (size_t) (5.0 * RATE), len;
  float *x = calloc (n, sizeof (float));
  MusaChroma *ch = new_chroma (2.0);
  MusaChromaResult r;
  MusaKey k;

  len = make_cadence (x, 0, 0, 0.0);
  musa_chroma_process (ch, x, len);
  musa_chroma_get_window (ch, &r);
  musa_key_estimate (r.chroma, MUSA_KEY_PROFILE_COMBINED, &k, NULL);
  CHECK (k.tonic == 0 && k.minor == 0, "first key %d/%d", k.tonic, k.minor);
  memset (x, 0, sizeof (float) * n);
  len = make_cadence (x, 6, 0, 0.0);
  musa_chroma_process (ch, x, len);
  musa_chroma_get_window (ch, &r);
  musa_key_estimate (r.chroma, MUSA_KEY_PROFILE_COMBINED, &k, NULL);
  CHECK (k.tonic == 6 && k.minor == 0, "second key %d/%d", k.tonic, k.minor);
  CHECK (r.frames <= (int64_t) ceil (2.0 * RATE / musa_chroma_hop (ch)),
      "window holds %lld frames", (long long) r.frames);
  musa_chroma_free (ch);
  free (x);
}

static void
test_config_errors (void)
{
  MusaChromaConfig cfg;
  MusaError err;

  musa_chroma_config_default (&cfg, 4000);
  CHECK (musa_chroma_new (&cfg, &err) == NULL
      && strcmp (err.property, "rate") == 0, "rate 4000 accepted");
  musa_chroma_config_default (&cfg, 44100);
  cfg.window = -1.0;
  CHECK (musa_chroma_new (&cfg, &err) == NULL
      && strcmp (err.property, "window") == 0, "window -1 accepted");
  musa_chroma_config_default (&cfg, 44100);
  cfg.window = NAN;
  CHECK (musa_chroma_new (&cfg, &err) == NULL
      && strcmp (err.property, "window") == 0, "window NaN accepted");
  musa_chroma_config_default (&cfg, 44100);
  cfg.tuning_cents = 60.0;
  CHECK (musa_chroma_new (&cfg, &err) == NULL
      && strcmp (err.property, "tuning-cents") == 0, "tuning 60 accepted");
  musa_chroma_config_default (&cfg, 44100);
  cfg.fmax = 60.0;
  CHECK (musa_chroma_new (&cfg, &err) == NULL
      && strcmp (err.property, "fmax") == 0, "fmax 60 accepted");
  /* fmax is limited to 0.45 * rate (3600 Hz at 8 kHz): fmin 3590 left
   * 10 Hz, which noise filled as one pitch class ("A minor", certain) */
  musa_chroma_config_default (&cfg, 8000);
  cfg.fmin = 3590.0;
  cfg.fmax = 96000.0;
  CHECK (musa_chroma_new (&cfg, &err) == NULL
      && strcmp (err.property, "fmin") == 0, "fmin 3590 at 8 kHz accepted");
  /* extreme but valid rates work */
  musa_chroma_config_default (&cfg, 8000);
  {
    MusaChroma *ch = musa_chroma_new (&cfg, &err);
    CHECK (ch != NULL, "8 kHz: %s", err.message);
    musa_chroma_free (ch);
  }
  musa_chroma_config_default (&cfg, 192000);
  {
    MusaChroma *ch = musa_chroma_new (&cfg, &err);
    CHECK (ch != NULL, "192 kHz: %s", err.message);
    musa_chroma_free (ch);
  }
}

/* A NULL configuration (a C caller's mistake) is refused with
 * MUSA_ERR_INVALID, not dereferenced. */
static void
test_null_config (void)
{
  MusaError err;

  musa_error_clear (&err);
  CHECK (musa_chroma_config_check (NULL, &err) == MUSA_ERR_INVALID
      && err.code == MUSA_ERR_INVALID, "chroma check: %s", err.message);
  musa_error_clear (&err);
  CHECK (musa_chroma_new (NULL, &err) == NULL && err.code == MUSA_ERR_INVALID,
      "chroma: %s", err.message);
}

/* musa_key_estimate without a chroma or a result: MUSA_ERR_INVALID. */
static void
test_key_null_args (void)
{
  MusaError err;
  MusaKey key;
  float chroma[12] = { 1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1 };

  musa_error_clear (&err);
  CHECK (musa_key_estimate (NULL, 0, &key, &err) == MUSA_ERR_INVALID,
      "no chroma: %s", err.message);
  musa_error_clear (&err);
  CHECK (musa_key_estimate (chroma, 0, NULL, &err) == MUSA_ERR_INVALID,
      "no result: %s", err.message);
  CHECK (musa_key_estimate (chroma, 0, &key, NULL) == MUSA_OK, "estimate");
}

int
main (void)
{
  musa_test_run ("names", test_names);
  musa_test_run ("key_from_profiles", test_key_from_profiles);
  musa_test_run ("triads", test_triads);
  musa_test_run ("scales", test_scales);
  musa_test_run ("cadences", test_cadences);
  musa_test_run ("detuned", test_detuned);
  musa_test_run ("fixed_tuning", test_fixed_tuning);
  musa_test_run ("silence_noise_drums", test_silence_noise_drums);
  musa_test_run ("chunk_invariance", test_chunk_invariance);
  musa_test_run ("window", test_window);
  musa_test_run ("config_errors", test_config_errors);
  musa_test_run ("null_config", test_null_config);
  musa_test_run ("key_null_args", test_key_null_args);
  return musa_test_summary ();
}
