/* knntag benchmark: exact search latency vs index size (10^3..10^6 items,
 * dimension 128 and 512) beside a brute-force numpy search of the same index
 * file in the same run, index load time, the bare dot-product kernel, and
 * the element's realtime factor beside an `identity` pipeline and the
 * embedding beside a bare STFT.
 *
 *   meson compile -C build bench-knntag
 *   MUSA_BENCH_MAX=100000 build/tests/bench/bench-knntag-exe   (smaller run)
 *
 * Everything on one core (numpy: OPENBLAS_NUM_THREADS=1). Never fails on
 * speed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gst/gst.h>

#include "core/rng.h"
#include "core/stft.h"
#include "core/synth.h"
#include "knn/embed.h"
#include "knn/index.h"
#include "knn/knn.h"

static double
now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* CPU time of this thread: the cost on one core, without the time the
 * (shared) machine gave to other processes */
static double
cpu_now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* 16 labels, vectors around 16 cluster centres */
static MusaIndex *
make_index (size_t n, int dim, MusaRng * rng)
{
  MusaIndex *idx = musa_index_new ("bench", dim, 1,
      MUSA_INDEX_FLAG_STANDARDISE, NULL);
  float *centres = malloc (sizeof (float) * 16 * dim);
  float *v = malloc (sizeof (float) * dim);
  size_t i;
  int j;

  for (j = 0; j < 16 * dim; j++)
    centres[j] = (float) musa_rng_normal (rng) * 2.0f + 5.0f;
  for (i = 0; i < n; i++) {
    int c = (int) (musa_rng_next (rng) % 16);
    char id[32], lab[8];
    const char *labs[1] = { lab };
    for (j = 0; j < dim; j++)
      v[j] = centres[c * dim + j] + (float) musa_rng_normal (rng);
    snprintf (id, sizeof (id), "item%zu", i);
    snprintf (lab, sizeof (lab), "c%d", c);
    musa_index_add (idx, v, id, labs, 1, NULL);
  }
  free (centres);
  free (v);
  return idx;
}

static const char *numpy_script =
    "import sys, time, numpy as np\n"
    "path, n_q = sys.argv[1], int(sys.argv[2])\n"
    "d = open(path, 'rb').read()\n"
    "dim = int.from_bytes(d[56:60], 'little'); n = int.from_bytes(d[72:80], 'little')\n"
    "moff = int.from_bytes(d[104:112], 'little')\n"
    "mean = np.frombuffer(d, '<f4', dim, 128); std = np.frombuffer(d, '<f4', dim, 128 + 4 * dim)\n"
    "X = np.frombuffer(d, '<f4', n * dim, moff).reshape(n, dim)\n"
    "Xs = (X - mean) / std; Xs /= np.linalg.norm(Xs, axis=1, keepdims=True)\n"
    "rng = np.random.default_rng(1); Q = X[rng.integers(0, n, n_q)] + 0.1\n"
    "ts = []; cs = []\n"
    "for q in Q:\n"
    "    t = time.perf_counter(); c = time.thread_time()\n"
    "    qs = (q - mean) / std; qs /= np.linalg.norm(qs)\n"
    "    dist = 1.0 - Xs @ qs\n"
    "    nn = np.argpartition(dist, 5)[:5]; nn = nn[np.argsort(dist[nn])]\n"
    "    ts.append(time.perf_counter() - t); cs.append(time.thread_time() - c)\n"
    "print('%.6f %.6f %.6f' % (float(np.median(ts)), min(ts), float(np.median(cs))))\n";

/* Median (and best, and median CPU) seconds per query of numpy on the same
 * file; -1 if unavailable. */
static double
numpy_query (const char *path, int n_q, double *best, double *cpu)
{
  char cmd[1024], script[] = "/tmp/musa-bench-knn-XXXXXX.py";
  int fd = mkstemps (script, 3);
  FILE *p;
  double med = -1.0;

  if (fd < 0)
    return -1.0;
  if (write (fd, numpy_script, strlen (numpy_script)) < 0) {
    close (fd);
    return -1.0;
  }
  close (fd);
  /* one core; the machine's OPENBLAS_CORETYPE override slows numpy */
  snprintf (cmd, sizeof (cmd), "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "
      "OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 /usr/bin/python3 %s %s %d",
      script, path, n_q);
  p = popen (cmd, "r");
  if (p) {
    if (fscanf (p, "%lf %lf %lf", &med, best, cpu) != 3)
      med = -1.0;
    pclose (p);
  }
  unlink (script);
  return med;
}

static void
bench_search (size_t max_items)
{
  static const int dims[] = { 128, 512 };
  MusaRng rng;
  size_t n;
  int di;

  musa_rng_init (&rng, 7);
  printf ("## Exact search (k=5, cosine, standardised), one core\n\n");
  printf ("| items | dim | index MB | load ms | musa query ms: median / best "
      "/ median CPU | numpy query ms: median / best / median CPU | numpy / musa "
      "(median CPU) | kernel GB/s |\n|---|---|---|---|---|---|---|---|\n");
  fflush (stdout);
  for (di = 0; di < 2; di++)
    for (n = 1000; n <= max_items; n *= 10) {
      int dim = dims[di], q, n_q = n >= 1000000 ? 20 : 100;
      char path[] = "/tmp/musa-bench-knn-XXXXXX";
      MusaIndex *idx = make_index (n, dim, &rng), *loaded;
      MusaKnnConfig cfg;
      MusaKnn *knn;
      MusaKnnResult res;
      MusaError err;
      double *t = malloc (sizeof (double) * n_q), t0, c0, load, np_q, np_best =
          0;
      double *c = malloc (sizeof (double) * n_q), np_cpu = 0;
      double kern;
      float *qv = malloc (sizeof (float) * dim), *dots;
      int fd = mkstemp (path);

      close (fd);
      if (musa_index_save (idx, path, &err) != MUSA_OK) {
        printf ("save failed: %s\n", err.message);
        return;
      }
      musa_index_free (idx);
      /* load: mmap, validation of every field and value, checksum */
      t0 = now ();
      loaded = musa_index_load (path, &err);
      load = now () - t0;
      if (loaded == NULL) {
        printf ("load failed: %s\n", err.message);
        return;
      }
      musa_knn_config_default (&cfg);
      knn = musa_knn_new (loaded, &cfg, NULL);
      for (q = 0; q < n_q; q++) {
        const float *x = musa_index_vector (loaded,
            musa_rng_next (&rng) % n);
        int j;
        for (j = 0; j < dim; j++)
          qv[j] = x[j] + 0.1f;
        c0 = cpu_now ();
        t0 = now ();
        musa_knn_query (knn, qv, &res);
        t[q] = now () - t0;
        c[q] = cpu_now () - c0;
      }
      qsort (t, n_q, sizeof (double), cmp_double);
      qsort (c, n_q, sizeof (double), cmp_double);
      /* the bare kernel over the whole matrix */
      dots = malloc (sizeof (float) * n);
      kern = 1e9;
      for (q = 0; q < 5; q++) {
        t0 = now ();
        musa_knn_dots (musa_index_matrix (loaded), n, dim, qv, dots);
        t0 = now () - t0;
        if (t0 < kern)
          kern = t0;
      }
      np_q = numpy_query (path, n_q, &np_best, &np_cpu);
      printf ("| %zu | %d | %.1f | %.1f | %.3f / %.3f / %.3f | %s%.3f / %.3f / "
          "%.3f | %.1f | %.1f |\n", n, dim, n * dim * 4.0 / 1e6, load * 1e3,
          t[n_q / 2] * 1e3, t[0] * 1e3, c[n_q / 2] * 1e3,
          np_q < 0 ? "n/a " : "", np_q * 1e3, np_best * 1e3, np_cpu * 1e3,
          np_q > 0 ? np_cpu / c[n_q / 2] : 0.0, n * dim * 4.0 / kern / 1e9);
      fflush (stdout);
      musa_knn_free (knn);
      musa_index_free (loaded);
      unlink (path);
      free (t);
      free (c);
      free (qv);
      free (dots);
    }
  printf ("\n(numpy: the standardised, normalised matrix is precomputed once; "
      "the query is one matrix-vector product and argpartition.)\n\n");
}

static void
no_frame (void *user, int64_t index, const float *spectrum, const float *frame)
{
}

static void
bench_embed (void)
{
  MusaSynthConfig sc;
  MusaEmbedConfig ec;
  MusaStftConfig stc = { 2048, 1024, 0, MUSA_WINDOW_HANN, 1 };
  MusaEmbed *e;
  MusaStft *st;
  size_t n = 60 * 44100;
  float *x = malloc (sizeof (float) * n), v[MUSA_EMBED_DIM];
  double t0, te, ts, tw;
  int i;

  musa_synth_config_default (&sc);
  musa_synth_music (&sc, x, n, NULL);
  musa_embed_config_default (&ec, 44100);
  e = musa_embed_new (&ec, NULL);
  st = musa_stft_new (&stc, NULL);
  t0 = now ();
  for (i = 0; i < 60; i++) {
    musa_embed_process (e, x + (size_t) i * 44100, 44100);
    musa_embed_window (e, v);
  }
  te = now () - t0;
  t0 = now ();
  musa_stft_process (st, x, n, no_frame, NULL);
  ts = now () - t0;
  /* the longest window, a vector every 0.1 s: 660 s (the music looped), so
   * that the window is full for the last minute */
  musa_embed_free (e);
  ec.window = 600.0;
  e = musa_embed_new (&ec, NULL);
  t0 = now ();
  for (i = 0; i < 6600; i++) {
    musa_embed_process (e, x + (size_t) (i % 600) * 4410, 4410);
    musa_embed_window (e, v);
  }
  tw = now () - t0;
  printf ("## Built-in embedding, 60 s of 44.1 kHz music, a window vector "
      "every second\n\n");
  printf ("| | seconds | realtime factor |\n|---|---|---|\n");
  printf ("| musa embedding | %.3f | %.0f |\n| bare STFT (same framing) | %.3f "
      "| %.0f |\n| embedding / STFT | %.2f | |\n", te, 60 / te, ts, 60 / ts,
      te / ts);
  printf ("| musa embedding, window 600 s, a vector every 0.1 s (660 s) | "
      "%.3f | %.0f |\n\n", tw, 660 / tw);
  musa_embed_free (e);
  musa_stft_free (st);
  free (x);
}

static double
run_pipeline (const char *desc)
{
  GError *err = NULL;
  GstElement *p = gst_parse_launch (desc, &err);
  GstMessage *m;
  double t0;

  if (p == NULL) {
    printf ("pipeline failed: %s\n", err ? err->message : "?");
    return -1;
  }
  t0 = now ();
  gst_element_set_state (p, GST_STATE_PLAYING);
  m = gst_bus_timed_pop_filtered (GST_ELEMENT_BUS (p), GST_CLOCK_TIME_NONE,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  t0 = now () - t0;
  if (m && GST_MESSAGE_TYPE (m) == GST_MESSAGE_ERROR)
    t0 = -1;
  if (m)
    gst_message_unref (m);
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (p);
  return t0;
}

static void
bench_element (void)
{
  char path[] = "/tmp/musa-bench-knntag-XXXXXX", desc[1024];
  int fd = mkstemp (path);
  MusaRng rng;
  MusaIndex *idx;
  const char *src = "audiotestsrc wave=pink-noise samplesperbuffer=4096 "
      "num-buffers=1292 ! audio/x-raw,format=F32LE,rate=44100,channels=2 ! ";
  double t_id, t_knn, t_knn_big;

  close (fd);
  musa_rng_init (&rng, 3);
  /* an index of the built-in embedding's id with 10^4 (and 10^5) items */
  idx = make_index (10000, MUSA_EMBED_DIM, &rng);
  {
    MusaIndex *b = musa_index_new (MUSA_EMBED_NAME, MUSA_EMBED_DIM,
        MUSA_EMBED_VERSION, MUSA_INDEX_FLAG_STANDARDISE, NULL);
    size_t i;
    for (i = 0; i < musa_index_n_items (idx); i++) {
      const uint32_t *l;
      const char *lab;
      musa_index_item_labels (idx, i, &l);
      lab = musa_index_label (idx, l[0]);
      musa_index_add (b, musa_index_vector (idx, i), musa_index_item_id (idx,
              i), &lab, 1, NULL);
    }
    musa_index_save (b, path, NULL);
    musa_index_free (b);
  }
  musa_index_free (idx);
  snprintf (desc, sizeof (desc), "%s identity ! fakesink sync=false", src);
  t_id = run_pipeline (desc);
  snprintf (desc, sizeof (desc), "%s knntag location=%s ! fakesink "
      "sync=false", src, path);
  t_knn = run_pipeline (desc);
  snprintf (desc, sizeof (desc), "%s knntag location=%s interval=100000000 ! "
      "fakesink sync=false", src, path);
  t_knn_big = run_pipeline (desc);
  printf ("## Element, 120 s of 44.1 kHz stereo, index of 10^4 items\n\n");
  printf ("| pipeline | seconds | realtime factor |\n|---|---|---|\n");
  printf ("| audiotestsrc ! identity ! fakesink | %.3f | %.0f |\n", t_id,
      120 / t_id);
  printf ("| audiotestsrc ! knntag (vote every 1 s) ! fakesink | %.3f | %.0f "
      "|\n", t_knn, 120 / t_knn);
  printf ("| audiotestsrc ! knntag (vote every 0.1 s) ! fakesink | %.3f | %.0f "
      "|\n\n", t_knn_big, 120 / t_knn_big);
  unlink (path);
}

int
main (int argc, char **argv)
{
  const char *max = getenv ("MUSA_BENCH_MAX");
  size_t max_items = max ? (size_t) atol (max) : 1000000;

  gst_init (&argc, &argv);
  bench_search (max_items);
  bench_embed ();
  if (gst_element_factory_find ("knntag"))
    bench_element ();
  else
    printf ("knntag not found: element benchmark skipped\n");
  return 0;
}
