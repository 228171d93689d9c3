/* Unit tests of knntag's built-in embedding and exact search. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/synth.h"
#include "knn/embed.h"
#include "knn/knn.h"
#include "musatest.h"

/* The plain reference versions of the embedding (window re-summed from
 * scratch at every query, spectral contrast by a full sort of each band), as
 * embed.c compiles with MUSA_EMBED_REFERENCE, under other names. */
#define musa_embed_config_default ref_embed_config_default
#define musa_embed_config_check ref_embed_config_check
#define musa_embed_new ref_embed_new
#define musa_embed_free ref_embed_free
#define musa_embed_reset ref_embed_reset
#define musa_embed_process ref_embed_process
#define musa_embed_finish ref_embed_finish
#define musa_embed_window ref_embed_window
#define musa_embed_stream ref_embed_stream
#define musa_embed_frames ref_embed_frames
#define musa_embed_frame_rate ref_embed_frame_rate
#define musa_embed_window_frames ref_embed_window_frames
#define musa_embed_feature_name ref_embed_feature_name
#define MUSA_EMBED_REFERENCE 1
void musa_embed_reset (MusaEmbed * e);
#include "knn/embed.c"
#undef musa_embed_config_default
#undef musa_embed_config_check
#undef musa_embed_new
#undef musa_embed_free
#undef musa_embed_reset
#undef musa_embed_process
#undef musa_embed_finish
#undef musa_embed_window
#undef musa_embed_stream
#undef musa_embed_frames
#undef musa_embed_frame_rate
#undef musa_embed_window_frames
#undef musa_embed_feature_name

#if defined(__SSE__)
#include <xmmintrin.h>
#endif

#define RATE 22050
#define DIM MUSA_EMBED_DIM

static float *
music (double seconds, double bpm, int tonic, int drums, uint64_t seed)
{
  MusaSynthConfig sc;
  size_t n = (size_t) (seconds * RATE);
  float *x = malloc (sizeof (float) * n);

  musa_synth_config_default (&sc);
  sc.sample_rate = RATE;
  sc.bpm = bpm;
  sc.tonic = tonic;
  sc.drums = drums;
  sc.seed = seed;
  musa_synth_music (&sc, x, n, NULL);
  return x;
}

static int
all_finite (const float *v, int n)
{
  int i;
  for (i = 0; i < n; i++)
    if (!isfinite (v[i]))
      return 0;
  return 1;
}

static void
test_config (void)
{
  MusaEmbedConfig c;
  MusaError err;

  musa_embed_config_default (&c, 44100);
  CHECK (c.window == 10.0, "default window %g", c.window);
  CHECK (musa_embed_config_check (&c, &err) == MUSA_OK, "%s", err.message);
  c.window = 0.1;
  CHECK (musa_embed_new (&c, &err) == NULL, "tiny window accepted");
  CHECK (strcmp (err.property, "window") == 0, "property %s", err.property);
  c.window = 10.0;
  c.sample_rate = 4000;
  CHECK (musa_embed_new (&c, &err) == NULL, "4 kHz accepted");
  CHECK (strcmp (err.property, "rate") == 0, "property %s", err.property);
}

/* The same samples in different chunkings give bit-identical vectors, at
 * query points every 2 s and for the whole stream. */
static void
test_chunk_invariance (void)
{
  MusaEmbedConfig c;
  MusaEmbed *a, *b;
  size_t n = 14 * RATE, pos, step = 2 * RATE;
  float *x = music (14.0, 100.0, 3, 1, 7);
  float va[DIM], vb[DIM];
  MusaRng rng;

  musa_rng_init (&rng, 5);
  musa_embed_config_default (&c, RATE);
  c.window = 5.0;
  a = musa_embed_new (&c, NULL);
  b = musa_embed_new (&c, NULL);
  for (pos = 0; pos < n; pos += step) {
    size_t end = pos + step < n ? pos + step : n, p = pos;
    musa_embed_process (a, x + pos, end - pos);
    while (p < end) {
      size_t len = 1 + musa_rng_next (&rng) % 3000;
      if (len > end - p)
        len = end - p;
      musa_embed_process (b, x + p, len);
      p += len;
    }
    CHECK (musa_embed_window (a, va) == musa_embed_window (b, vb),
        "frame counts differ at %zu", end);
    CHECK (memcmp (va, vb, sizeof (va)) == 0, "window vectors differ at %zu",
        end);
  }
  musa_embed_finish (a);
  musa_embed_finish (b);
  CHECK (musa_embed_stream (a, va) == musa_embed_stream (b, vb),
      "stream frame counts differ");
  CHECK (memcmp (va, vb, sizeof (va)) == 0, "stream vectors differ");
  CHECK (all_finite (va, DIM), "non-finite values");
  /* reset gives the same result again */
  musa_embed_reset (b);
  musa_embed_process (b, x, n);
  musa_embed_finish (b);
  musa_embed_stream (b, vb);
  CHECK (memcmp (va, vb, sizeof (va)) == 0, "reset does not start afresh");
  musa_embed_free (a);
  musa_embed_free (b);
  free (x);
}

static int
feature (const char *name)
{
  char buf[32];
  int i;
  for (i = 0; i < DIM; i++) {
    musa_embed_feature_name (i, buf, sizeof (buf));
    if (strcmp (buf, name) == 0)
      return i;
  }
  return -1;
}

/* Closed-form answers: a 1 kHz sine has its centroid at 1 kHz and the
 * loudness of a -6 dBFS-peak sine; clicks at 120 BPM give tempo 1.2 and two
 * onsets per second. */
static void
test_known_values (void)
{
  MusaEmbedConfig c;
  MusaEmbed *e;
  size_t n = 10 * RATE, i;
  float *x = malloc (sizeof (float) * n), v[DIM];
  int f;

  musa_embed_config_default (&c, RATE);
  e = musa_embed_new (&c, NULL);
  for (i = 0; i < n; i++)
    x[i] = 0.5f * sinf (2.0f * (float) M_PI * 1000.0f * i / RATE);
  musa_embed_process (e, x, n);
  musa_embed_window (e, v);
  f = feature ("centroid-mean");
  CHECK (fabsf (v[f] - 1.0f) < 0.02f, "centroid %g kHz", v[f]);
  f = feature ("chroma-rot-0");
  CHECK (v[f] > 0.99f, "strongest chroma %g", v[f]);
  f = feature ("flatness-mean");
  CHECK (v[f] < -30.0f, "a sine is not flat: %g dB", v[f]);

  musa_embed_reset (e);
  memset (x, 0, sizeof (float) * n);
  musa_synth_clicks (x, n, RATE, 120.0, 0);
  musa_embed_process (e, x, n);
  musa_embed_window (e, v);
  f = feature ("tempo");
  CHECK (fabsf (v[f] - 1.2f) < 0.05f, "tempo %g x 100 BPM", v[f]);
  f = feature ("onset-rate");
  CHECK (fabsf (v[f] - 2.0f) < 0.25f, "onset rate %g /s", v[f]);
  CHECK (all_finite (v, DIM), "non-finite values");
  musa_embed_free (e);
  free (x);
}

/* Silence, silence after signal and tiny streams stay finite. */
static void
test_silence (void)
{
  MusaEmbedConfig c;
  MusaEmbed *e;
  float *x = music (4.0, 120.0, 0, 1, 1), z[RATE] = { 0 }, v[DIM];
  int i;

  musa_embed_config_default (&c, RATE);
  e = musa_embed_new (&c, NULL);
  CHECK (musa_embed_window (e, v) == 0, "frames before any input");
  for (i = 0; i < DIM; i++)
    CHECK (v[i] == 0.0f, "empty embedding not zero at %d", i);
  musa_embed_process (e, z, 100);
  musa_embed_window (e, v);
  CHECK (all_finite (v, DIM), "tiny stream not finite");
  musa_embed_reset (e);
  for (i = 0; i < 20; i++)
    musa_embed_process (e, z, RATE);
  musa_embed_window (e, v);
  CHECK (all_finite (v, DIM), "silence not finite");
  musa_embed_reset (e);
  musa_embed_process (e, x, 4 * RATE);
  for (i = 0; i < 12; i++)
    musa_embed_process (e, z, RATE);
  musa_embed_finish (e);
  musa_embed_window (e, v);
  CHECK (all_finite (v, DIM), "silence after music not finite");
  musa_embed_stream (e, v);
  CHECK (all_finite (v, DIM), "stream not finite");
  musa_embed_free (e);
  free (x);
}

/* Two grooves at different tempi are further apart than two snippets of
 * the same groove. */
static void
test_discriminates (void)
{
  MusaEmbedConfig c;
  MusaEmbed *e;
  float *a = music (20.0, 90.0, 0, 1, 3), *b = music (10.0, 150.0, 0, 0, 3);
  float va1[DIM], va2[DIM], vb[DIM];
  double d_same = 0, d_diff = 0;
  int i;

  musa_embed_config_default (&c, RATE);
  c.window = 10.0;
  e = musa_embed_new (&c, NULL);
  musa_embed_process (e, a, 10 * RATE);
  musa_embed_window (e, va1);
  musa_embed_process (e, a + 10 * RATE, 10 * RATE);
  musa_embed_window (e, va2);
  musa_embed_reset (e);
  musa_embed_process (e, b, 10 * RATE);
  musa_embed_window (e, vb);
  for (i = 0; i < DIM; i++) {
    d_same += (va1[i] - va2[i]) * (va1[i] - va2[i]);
    d_diff += (va1[i] - vb[i]) * (va1[i] - vb[i]);
  }
  CHECK (d_same * 4 < d_diff, "same %g, different %g", d_same, d_diff);
  musa_embed_free (e);
  free (a);
  free (b);
}

/* A test signal at @rate: music (0), white noise (1), silence with a few
 * clicks (2), or 10 s sections of the three in turn with random levels. */
static float *
signal_at (int rate, size_t n, int kind, uint64_t seed)
{
  float *x = calloc (n, sizeof (float));
  MusaSynthConfig sc;
  MusaRng rng;
  size_t i, sec = 10 * (size_t) rate;

  musa_rng_init (&rng, seed);
  musa_synth_config_default (&sc);
  sc.sample_rate = rate;
  sc.seed = seed;
  if (kind == 0) {
    musa_synth_music (&sc, x, n, NULL);
  } else if (kind == 1) {
    for (i = 0; i < n; i++)
      x[i] = (float) (0.3 * musa_rng_normal (&rng));
  } else if (kind == 2) {
    musa_synth_clicks (x, n, rate, 97.0, 1000);
  } else {
    for (i = 0; i < n; i += sec) {
      size_t len = n - i < sec ? n - i : sec, k;
      int what = (int) ((i / sec) % 3);
      double gain = pow (10.0, musa_rng_range (&rng, -4.0, 0.0));
      sc.bpm = musa_rng_range (&rng, 60.0, 180.0);
      sc.tonic = (int) (musa_rng_next (&rng) % 12);
      if (what == 0)
        musa_synth_music (&sc, x + i, len, NULL);
      else if (what == 1)
        for (k = 0; k < len; k++)
          x[i + k] = (float) (0.3 * musa_rng_normal (&rng));
      for (k = 0; k < len; k++)
        x[i + k] *= (float) gain;
    }
  }
  return x;
}

/* The spectral contrast found by selection gives bit-identical vectors to
 * the full sort of every band (the reference), on music, noise and near
 * silence at several rates: the whole-stream vector every second. */
static void
test_contrast_selection (void)
{
  static const int rates[] = { 8000, 16000, 22050, 44100, 48000, 96000 };
  size_t r;
  int kind;

  for (r = 0; r < sizeof (rates) / sizeof (rates[0]); r++)
    for (kind = 0; kind < 3; kind++) {
      int rate = rates[r];
      size_t n = 6 * (size_t) rate, pos;
      float *x = signal_at (rate, n, kind, 11 + kind);
      float va[DIM], vb[DIM];
      MusaEmbedConfig c;
      MusaEmbed *a, *b;

      musa_embed_config_default (&c, rate);
      a = musa_embed_new (&c, NULL);
      b = ref_embed_new (&c, NULL);
      for (pos = 0; pos < n; pos += rate) {
        musa_embed_process (a, x + pos, rate);
        ref_embed_process (b, x + pos, rate);
        CHECK (musa_embed_stream (a, va) == ref_embed_stream (b, vb),
            "frame counts differ");
        CHECK (memcmp (va, vb, sizeof (va)) == 0,
            "%d Hz, signal %d: stream vector not bit-identical at %zu s",
            rate, kind, pos / rate + 1);
      }
      musa_embed_free (a);
      ref_embed_free (b);
      free (x);
    }
}

/* The running window statistics against a re-sum of the window at each
 * query (the reference), over 30 min of changing material in random chunks,
 * queried at random points: the same frame counts and vectors equal to
 * float rounding: max |difference| <= 1e-6 of max (1, |value|) (measured:
 * 6.4e-8, one float ulp, at 7 s; 0 at 600 s). Compensated sums: a constant
 * feature whose window once held louder frames still has a zero std. */
static void
test_window_running (void)
{
  static const double windows[] = { 0.5, 7.0, 600.0 };
  size_t n = 30 * 60 * (size_t) RATE, w;
  float *x = signal_at (RATE, n, 3, 21);

  for (w = 0; w < sizeof (windows) / sizeof (windows[0]); w++) {
    MusaEmbedConfig c;
    MusaEmbed *a, *b;
    MusaRng rng;
    size_t pos = 0;
    double worst = 0.0;
    int queries = 0, worst_i = -1;

    musa_rng_init (&rng, 8 + w);
    musa_embed_config_default (&c, RATE);
    c.window = windows[w];
    a = musa_embed_new (&c, NULL);
    b = ref_embed_new (&c, NULL);
    while (pos < n) {
      size_t len = 1 + musa_rng_next (&rng) % (3 * RATE);
      float va[DIM], vb[DIM];
      int i;
      if (len > n - pos)
        len = n - pos;
      musa_embed_process (a, x + pos, len);
      ref_embed_process (b, x + pos, len);
      pos += len;
      CHECK (musa_embed_window (a, va) == ref_embed_window (b, vb),
          "frame counts differ at %zu", pos);
      for (i = 0; i < DIM; i++) {
        double d = fabs ((double) va[i] - vb[i]) / fmax (1.0, fabs (vb[i]));
        if (d > worst) {
          worst = d;
          worst_i = i;
          if (getenv ("DBG"))
            printf ("# pos %zu el %d run %.9g ref %.9g mean %.9g\n", pos, i,
                va[i], vb[i], i >= 24 ? va[i - 13] : 0.0);
        }
      }
      queries++;
    }
    musa_embed_finish (a);
    ref_embed_finish (b);
    {
      float va[DIM], vb[DIM];
      CHECK (musa_embed_stream (a, va) == ref_embed_stream (b, vb)
          && memcmp (va, vb, sizeof (va)) == 0, "stream vector changed");
    }
    printf ("# window %g s: %d queries, max scaled difference %.3g (element "
        "%d)\n", windows[w], queries, worst, worst_i);
    CHECK (worst <= 1e-6, "window %g s: running window differs by %g at "
        "element %d", windows[w], worst, worst_i);
    musa_embed_free (a);
    ref_embed_free (b);
  }
  free (x);
}

/* ---- search ---- */

static MusaIndex *
random_index (int n, int dim, unsigned flags, uint64_t seed)
{
  MusaIndex *idx = musa_index_new ("test", dim, 1, flags, NULL);
  static const char *names[] = { "rock", "jazz", "pop", "calm" };
  float *v = malloc (sizeof (float) * dim);
  int i, j;
  MusaRng rng;

  musa_rng_init (&rng, seed);

  for (i = 0; i < n; i++) {
    const char *labs[2];
    char id[32];
    int cls = (int) (musa_rng_next (&rng) % 3);
    for (j = 0; j < dim; j++)
      v[j] = (float) (musa_rng_uniform (&rng) * 4.0 - 2.0 + cls * 0.5
          + j * 0.1);
    labs[0] = names[cls];
    labs[1] = names[3];
    snprintf (id, sizeof (id), "item%d", i);
    musa_index_add (idx, v, id, labs, (i % 4 == 0) ? 2 : 1, NULL);
  }
  musa_index_update_stats (idx);
  free (v);
  return idx;
}

/* The neighbours and distances match a plain double-precision brute force. */
static void
check_brute (MusaKnnMetric metric, unsigned flags, int dim)
{
  MusaIndex *idx = random_index (1000, dim, flags, 11);
  MusaKnnConfig cfg;
  MusaKnn *knn;
  MusaKnnResult res;
  const float *mean = musa_index_mean (idx), *sd = musa_index_std (idx);
  float *q = malloc (sizeof (float) * dim);
  double *dist = malloc (sizeof (double) * 1000);
  int t, i, j;
  MusaRng rng;

  musa_rng_init (&rng, 99);

  musa_knn_config_default (&cfg);
  cfg.k = 7;
  cfg.metric = metric;
  knn = musa_knn_new (idx, &cfg, NULL);
  for (t = 0; t < 20; t++) {
    double qn = 0;
    for (j = 0; j < dim; j++)
      q[j] = (float) (musa_rng_uniform (&rng) * 4.0 - 2.0 + j * 0.1);
    CHECK (musa_knn_query (knn, q, &res) == MUSA_OK, "query failed");
    for (j = 0; j < dim; j++) {
      double a = flags ? (q[j] - mean[j]) / sd[j] : q[j];
      qn += a * a;
    }
    for (i = 0; i < 1000; i++) {
      const float *x = musa_index_vector (idx, i);
      double dot = 0, xn = 0, d2 = 0;
      for (j = 0; j < dim; j++) {
        double a = flags ? (q[j] - mean[j]) / sd[j] : q[j];
        double b = flags ? (x[j] - mean[j]) / sd[j] : x[j];
        dot += a * b;
        xn += b * b;
        d2 += (a - b) * (a - b);
      }
      dist[i] = metric == MUSA_KNN_COSINE ? 1.0 - dot / sqrt (qn * xn) :
          sqrt (d2);
    }
    CHECK (res.n_neighbours == 7, "%d neighbours", res.n_neighbours);
    for (i = 0; i < res.n_neighbours; i++) {
      int better = 0;
      CHECK (fabs (res.distance[i] - dist[res.item[i]]) < 1e-3 *
          (1.0 + dist[res.item[i]]), "distance %g vs %g", res.distance[i],
          dist[res.item[i]]);
      for (j = 0; j < 1000; j++)
        better += dist[j] < dist[res.item[i]] - 1e-4 * (1 + dist[j]);
      CHECK (better <= i, "neighbour %d has %d nearer items", i, better);
      if (i > 0)
        CHECK (res.distance[i] >= res.distance[i - 1], "not sorted");
    }
  }
  musa_knn_free (knn);
  musa_index_free (idx);
  free (q);
  free (dist);
}

static void
test_search_brute (void)
{
  check_brute (MUSA_KNN_COSINE, MUSA_INDEX_FLAG_STANDARDISE, 128);
  check_brute (MUSA_KNN_EUCLIDEAN, MUSA_INDEX_FLAG_STANDARDISE, 128);
  check_brute (MUSA_KNN_COSINE, 0, 37);
  check_brute (MUSA_KNN_EUCLIDEAN, 0, 5);
}

/* Votes in closed form on a tiny index. */
static void
test_votes (void)
{
  MusaIndex *idx = musa_index_new ("t", 1, 1, 0, NULL);
  MusaKnnConfig cfg;
  MusaKnn *knn;
  MusaKnnResult res;
  const char *a[] = { "a" }, *b[] = { "b" }, *ab[] = { "a", "b" };
  float v, q = 0.0f;
  int la, lb;

  v = 1.0f;
  musa_index_add (idx, &v, "x1", a, 1, NULL);
  v = 2.0f;
  musa_index_add (idx, &v, "x2", b, 1, NULL);
  v = 4.0f;
  musa_index_add (idx, &v, "x3", b, 1, NULL);
  v = 10.0f;
  musa_index_add (idx, &v, "x4", ab, 2, NULL);
  la = musa_index_find_label (idx, "a");
  lb = musa_index_find_label (idx, "b");
  musa_knn_config_default (&cfg);
  cfg.metric = MUSA_KNN_EUCLIDEAN;
  cfg.k = 3;
  knn = musa_knn_new (idx, &cfg, NULL);
  musa_knn_query (knn, &q, &res);
  CHECK (res.item[0] == 0 && res.item[1] == 1 && res.item[2] == 2,
      "order %zu %zu %zu", res.item[0], res.item[1], res.item[2]);
  CHECK (res.top == lb, "uniform top %d", res.top);
  CHECK (fabsf (res.scores[lb] - 2.0f / 3) < 1e-6, "b %g", res.scores[lb]);
  musa_knn_free (knn);
  cfg.weighting = MUSA_KNN_DISTANCE;
  knn = musa_knn_new (idx, &cfg, NULL);
  musa_knn_query (knn, &q, &res);
  /* weights 1, 1/2, 1/4: a = 1 / 1.75 */
  CHECK (res.top == la, "distance top %d", res.top);
  CHECK (fabsf (res.scores[la] - 1.0f / 1.75f) < 1e-6, "a %g", res.scores[la]);
  /* a query on an item: it takes all the weight */
  q = 2.0f;
  musa_knn_query (knn, &q, &res);
  CHECK (res.top == lb && res.scores[lb] == 1.0f, "exact hit %d %g", res.top,
      res.scores[lb]);
  musa_knn_free (knn);
  /* multi-label: k = 4 uniform; a on 2 of 4, b on 3 of 4 */
  cfg.k = 4;
  cfg.weighting = MUSA_KNN_UNIFORM;
  knn = musa_knn_new (idx, &cfg, NULL);
  q = 0.0f;
  musa_knn_query (knn, &q, &res);
  CHECK (res.scores[la] == 0.5f && res.scores[lb] == 0.75f, "%g %g",
      res.scores[la], res.scores[lb]);
  /* a tie goes to the name that sorts first */
  cfg.k = 2;
  musa_knn_free (knn);
  knn = musa_knn_new (idx, &cfg, NULL);
  musa_knn_query (knn, &q, &res);
  CHECK (res.top == la, "tie to \"a\": %d", res.top);
  q = NAN;
  CHECK (musa_knn_query (knn, &q, &res) == MUSA_ERR_INVALID, "NaN query");
  musa_knn_free (knn);
  cfg.k = 0;
  CHECK (musa_knn_new (idx, &cfg, NULL) == NULL, "k = 0 accepted");
  cfg.k = 3;
  cfg.threshold = 1.5;
  CHECK (musa_knn_new (idx, &cfg, NULL) == NULL, "threshold 1.5 accepted");
  musa_index_free (idx);
}

/* A query without direction (all zero) has the same cosine distance to every
 * item: refused (the first items of the index answered, with a full score);
 * euclidean distances from 0 are fine. */
static void
test_cosine_zero_query (void)
{
  MusaIndex *idx = musa_index_new ("t", 2, 1, 0, NULL);
  MusaKnnConfig cfg;
  MusaKnn *knn;
  MusaKnnResult res;
  const char *a[] = { "a" }, *b[] = { "b" };
  float v[2] = { 1.0f, 0.0f }, q[2] = { 0.0f, 0.0f };

  musa_index_add (idx, v, "x1", a, 1, NULL);
  v[0] = 0.0f;
  v[1] = 1.0f;
  musa_index_add (idx, v, "x2", b, 1, NULL);
  musa_knn_config_default (&cfg);
  cfg.k = 1;
  knn = musa_knn_new (idx, &cfg, NULL);
  CHECK (musa_knn_query (knn, q, &res) == MUSA_ERR_INVALID,
      "zero query accepted with cosine");
  q[1] = 1e-30f;
  CHECK (musa_knn_query (knn, q, &res) == MUSA_OK && res.item[0] == 1,
      "tiny query");
  musa_knn_free (knn);
  cfg.metric = MUSA_KNN_EUCLIDEAN;
  knn = musa_knn_new (idx, &cfg, NULL);
  q[1] = 0.0f;
  CHECK (musa_knn_query (knn, q, &res) == MUSA_OK, "euclidean zero query");
  musa_knn_free (knn);
  musa_index_free (idx);
}

/* @f in double, subnormals too, whatever the MXCSR (ORC code, as the
 * embedding's, leaves denormals-are-zero on in the thread) */
static double
exact (float f)
{
  uint32_t u;
  double m;
  memcpy (&u, &f, sizeof (u));
  if ((u & 0x7f800000u) != 0)
    return (double) f;
  m = (double) (u & 0x7fffffu) * 0x1p-149;
  return (u >> 31) ? -m : m;
}

/* Every search of @idx for @q with every metric and weighting (k = all
 * items): finite distances, cosine ones in 0..2 and as a double-precision
 * brute force gives them (1 for a zero item), scores in 0..1. */
static void
check_finite (const MusaIndex * idx, const float *q, const char *what)
{
  int dim = musa_index_dim (idx), n = (int) musa_index_n_items (idx), m, w;
  int st = (musa_index_flags (idx) & MUSA_INDEX_FLAG_STANDARDISE) != 0;
  const float *mean = musa_index_mean (idx), *sd = musa_index_std (idx);

  for (m = MUSA_KNN_COSINE; m <= MUSA_KNN_EUCLIDEAN; m++)
    for (w = MUSA_KNN_UNIFORM; w <= MUSA_KNN_DISTANCE; w++) {
      MusaKnnConfig cfg;
      MusaKnn *knn;
      MusaKnnResult res;
      int i, j;
      musa_knn_config_default (&cfg);
      cfg.k = n;
      cfg.metric = m;
      cfg.weighting = w;
      knn = musa_knn_new (idx, &cfg, NULL);
      CHECK (musa_knn_query (knn, q, &res) == MUSA_OK, "%s: query", what);
      CHECK (res.n_neighbours == n, "%s: %d neighbours", what,
          res.n_neighbours);
      for (i = 0; i < res.n_neighbours; i++) {
        const float *x = musa_index_vector (idx, res.item[i]);
        double dot = 0, qn = 0, xn = 0, d2 = 0, want;
        for (j = 0; j < dim; j++) {
          double a = st ? (exact (q[j]) - exact (mean[j])) / sd[j] :
              exact (q[j]);
          double b = st ? (exact (x[j]) - exact (mean[j])) / sd[j] :
              exact (x[j]);
          /* scaled up (exact): squares of 1e-40 underflow in double too */
          a = ldexp (a, 200);
          b = ldexp (b, 200);
          dot += a * b;
          qn += a * a;
          xn += b * b;
          d2 += (a - b) * (a - b);
        }
        want = m == MUSA_KNN_COSINE ? (xn > 0 ? 1.0 - dot / sqrt (qn * xn) :
            1.0) : ldexp (sqrt (d2), -200);
        CHECK (isfinite (res.distance[i]), "%s, metric %d: distance %g",
            what, m, res.distance[i]);
        if (m == MUSA_KNN_COSINE) {
          CHECK (res.distance[i] >= 0.0f && res.distance[i] <= 2.0f,
              "%s: cosine distance %g", what, res.distance[i]);
          CHECK (fabs (res.distance[i] - want) < 1e-4, "%s: item %zu at %g, "
              "brute force %g", what, res.item[i], res.distance[i], want);
        }
      }
      CHECK (res.top >= 0 && res.top_score > 0.0f && res.top_score <= 1.0f,
          "%s, metric %d, weighting %d: top %d score %g", what, m, w, res.top,
          res.top_score);
      for (j = 0; j < musa_index_n_labels (idx); j++)
        CHECK (isfinite (res.scores[j]) && res.scores[j] >= 0.0f
            && res.scores[j] <= 1.0f, "%s: score %g", what, res.scores[j]);
      musa_knn_free (knn);
    }
}

/* Tiny but legal vectors (finite, |v| <= 1e6) keep their direction: an item
 * [1e-40, 0, 0, 0] had a cosine distance of -inf (1 / |x| overflowed float)
 * and won every vote, a query of tiny values gave -inf and NaN; items
 * standardised to almost nothing (a hair from the index mean) lost their
 * direction in the float dot product. */
static void
test_tiny_vectors (void)
{
  static const float plain[][4] = {
    {1, 2, 3, 4}, {1, 2, 3, 4}, {1, 2, 3, 4}, {1e-40f, 0, 0, 0},
    {0, 0, 0, 0}, {0, 1e-45f, 0, 0}, {3e-39f, -1e-38f, 0, 0},
  };
  static const float near[][4] = {
    {1, 2, 3, 4}, {3, 2, 1, 0}, {2, 2, 2, 2}, {2, 2, 2, 2 + 0x1p-20f},
    {2, 2, 2, 2 - 0x1p-20f},
  };
  static const float queries[][4] = {
    {1, 2, 3, 4.1f}, {1e-40f, 0, 0, 0}, {0, 0, 1e-45f, 0},
    {1e-30f, 1e-38f, 0, -1e-39f}, {2, 2, 2, 2 + 0x1p-22f},
    {2, 2, 2 - 0x1p-22f, 2}, {1e6f, -1e6f, 1e-45f, 0},
  };
  const char *normal[] = { "normal" }, *tiny[] = { "tiny" };
  MusaIndex *idx = musa_index_new ("t", 4, 1, 0, NULL), *sidx;
  MusaKnnConfig cfg;
  MusaKnn *knn;
  MusaKnnResult res;
  size_t i;
  int daz;
  char what[64];

  for (i = 0; i < 3; i++)
    musa_index_add (idx, plain[i], "a", normal, 1, NULL);
  musa_index_add (idx, plain[3], "tiny", tiny, 1, NULL);
  /* the auditor's case: [1, 2, 3, 4.1] with k = 1 is "normal" */
  musa_knn_config_default (&cfg);
  cfg.k = 1;
  knn = musa_knn_new (idx, &cfg, NULL);
  CHECK (musa_knn_query (knn, queries[0], &res) == MUSA_OK, "query");
  CHECK (res.top == musa_index_find_label (idx, "normal")
      && res.item[0] < 3 && res.distance[0] >= 0.0f
      && res.distance[0] < 1e-3f, "item %zu (label %d) at %g", res.item[0],
      res.top, res.distance[0]);
  musa_knn_free (knn);
  for (i = 4; i < sizeof (plain) / sizeof (plain[0]); i++)
    musa_index_add (idx, plain[i], "more", tiny, 1, NULL);
  sidx = musa_index_new ("t", 4, 1, MUSA_INDEX_FLAG_STANDARDISE, NULL);
  for (i = 0; i < sizeof (near) / sizeof (near[0]); i++)
    musa_index_add (sidx, near[i], "near", i < 2 ? normal : tiny, 1, NULL);
  musa_index_update_stats (sidx);
  CHECK (musa_index_mean (sidx)[3] == 2.0f, "mean %g",
      musa_index_mean (sidx)[3]);
  for (daz = 0; daz < 2; daz++) {
#if defined(__SSE__)
    /* the same answers with denormals read as zero and without */
    unsigned csr = _mm_getcsr ();
    _mm_setcsr (daz ? csr | 0x8040u : csr & ~0x8040u);
#endif
    for (i = 0; i < sizeof (queries) / sizeof (queries[0]); i++) {
      snprintf (what, sizeof (what), "plain, query %zu, daz %d", i, daz);
      check_finite (idx, queries[i], what);
      snprintf (what, sizeof (what), "standardised, query %zu, daz %d", i, daz);
      check_finite (sidx, queries[i], what);
    }
#if defined(__SSE__)
    _mm_setcsr (csr);
#endif
  }
  musa_index_free (sidx);
  musa_index_free (idx);
}

/* An empty index answers with no neighbours. */
static void
test_empty (void)
{
  MusaIndex *idx = musa_index_new ("t", 3, 1, MUSA_INDEX_FLAG_STANDARDISE,
      NULL);
  MusaKnnConfig cfg;
  MusaKnn *knn;
  MusaKnnResult res;
  float q[3] = { 1, 2, 3 };

  musa_knn_config_default (&cfg);
  knn = musa_knn_new (idx, &cfg, NULL);
  CHECK (musa_knn_query (knn, q, &res) == MUSA_OK, "query");
  CHECK (res.n_neighbours == 0 && res.top == -1, "%d %d", res.n_neighbours,
      res.top);
  musa_knn_free (knn);
  musa_index_free (idx);
}

/* A NULL configuration (a C caller's mistake) is refused with
 * MUSA_ERR_INVALID, not dereferenced. */
static void
test_null_config (void)
{
  MusaError err;
  MusaKnnConfig kc;

  musa_error_clear (&err);
  CHECK (musa_embed_config_check (NULL, &err) == MUSA_ERR_INVALID
      && err.code == MUSA_ERR_INVALID, "embed check: %s", err.message);
  musa_error_clear (&err);
  CHECK (musa_embed_new (NULL, &err) == NULL && err.code == MUSA_ERR_INVALID,
      "embed: %s", err.message);
  musa_error_clear (&err);
  CHECK (musa_knn_config_check (NULL, &err) == MUSA_ERR_INVALID
      && err.code == MUSA_ERR_INVALID, "knn check: %s", err.message);
  musa_knn_config_default (&kc);
  musa_error_clear (&err);
  CHECK (musa_knn_new (NULL, &kc, &err) == NULL && err.code == MUSA_ERR_INVALID,
      "knn without index: %s", err.message);
}

int
main (void)
{
  musa_test_run ("embed-config", test_config);
  musa_test_run ("embed-chunk-invariance", test_chunk_invariance);
  musa_test_run ("embed-known-values", test_known_values);
  musa_test_run ("embed-silence", test_silence);
  musa_test_run ("embed-discriminates", test_discriminates);
  musa_test_run ("embed-contrast-selection", test_contrast_selection);
  musa_test_run ("embed-window-running", test_window_running);
  musa_test_run ("search-brute-force", test_search_brute);
  musa_test_run ("search-votes", test_votes);
  musa_test_run ("search-empty", test_empty);
  musa_test_run ("search-cosine-zero-query", test_cosine_zero_query);
  musa_test_run ("search-tiny-vectors", test_tiny_vectors);
  musa_test_run ("null-config", test_null_config);
  return musa_test_summary ();
}
