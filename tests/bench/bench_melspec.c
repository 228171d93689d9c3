/* bench-melspec: speed of the mel spectrogram against its baselines, measured
 * in one run on one core (the process pins itself to the first CPU it may
 * use; children inherit it).
 *
 *   meson compile -C build bench-melspec
 *
 * Prints frames/s and realtime factor (seconds of 44.1 kHz audio analysed per
 * second) of:
 *   - the libmusa melspec core, default (librosa) configuration, float STFT;
 *   - the same core with power 1 (the double-precision STFT path);
 *   - a bare FFTW r2c loop of the same size in float (the limit of the
 *     default path) and in double (the limit of the precise path);
 *   - the core with ORC_CODE=backup (ORC's C fallbacks; the benchmark runs
 *     itself again with that in the environment) against ORC;
 *   - the melspec element in a pipeline, appsrc (the same music as F32LE
 *     44.1 kHz stereo) ! melspec ! fakesink, against appsrc ! fakesink;
 *   - the numpy reference (tests/unit/melspec_ref.py, /usr/bin/python3) on
 *     the same signal;
 * then the ratios the issue sets targets for. Rates are from CPU time (of
 * the thread, or of the whole process for pipelines), which a busy machine
 * disturbs far less than the wall clock (also shown). Speed is never
 * pass/fail. */
#include <gst/gst.h>

#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fftw3.h>

#include "core/melspec.h"
#include "core/synth.h"

#define RATE 44100
#define SECONDS 60              /* of music analysed per core run */
#define MIN_TIME 1.0            /* seconds of timing per measurement */
#define PIPELINE_SECONDS 1800   /* of audio through the element pipeline */

static double
now (void)
{
  struct timespec t;

  clock_gettime (CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

/* CPU time of the calling thread, or of the whole process */
static double
cpu_now (clockid_t clock)
{
  struct timespec t;

  clock_gettime (clock, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static void
pin_one_core (void)
{
  cpu_set_t set, one;
  int c;

  if (sched_getaffinity (0, sizeof (set), &set) != 0)
    return;
  for (c = 0; c < CPU_SETSIZE; c++) {
    if (CPU_ISSET (c, &set)) {
      CPU_ZERO (&one);
      CPU_SET (c, &one);
      if (sched_setaffinity (0, sizeof (one), &one) == 0)
        printf ("pinned to CPU %d\n", c);
      return;
    }
  }
}

/* One thing to time: the melspec core over the whole signal, or a bare
 * FFTW r2c loop (copy each hop's frame in, transform) in float or double. */
typedef enum
{
  RUN_CORE,
  RUN_FFT_F32,
  RUN_FFT_F64,
} RunKind;

typedef struct
{
  RunKind kind;
  MusaMelspec *ms;
  int n_fft, hop;
  float *inf;
  fftwf_complex *outf;
  fftwf_plan pf;
  double *ind;
  fftw_complex *outd;
  fftw_plan pd;
  double best;                  /* frames/s, best pass, CPU time */
  double best_wall;             /* frames/s, best pass, wall clock */
  int64_t frames;               /* per pass */
  double sink;
} Run;

static void
run_init (Run * r, RunKind kind, const MusaMelspecConfig * cfg)
{
  MusaError err;

  memset (r, 0, sizeof (*r));
  r->kind = kind;
  r->n_fft = cfg->stft.n_fft;
  r->hop = cfg->stft.hop;
  switch (kind) {
    case RUN_CORE:
      r->ms = musa_melspec_new (cfg, &err);
      if (r->ms == NULL) {
        fprintf (stderr, "melspec: %s: %s\n", err.property, err.message);
        exit (1);
      }
      break;
    case RUN_FFT_F32:
      r->inf = fftwf_alloc_real ((size_t) r->n_fft);
      r->outf = fftwf_alloc_complex ((size_t) r->n_fft / 2 + 1);
      r->pf = fftwf_plan_dft_r2c_1d (r->n_fft, r->inf, r->outf,
          FFTW_ESTIMATE | FFTW_PRESERVE_INPUT);
      break;
    case RUN_FFT_F64:
      r->ind = fftw_alloc_real ((size_t) r->n_fft);
      r->outd = fftw_alloc_complex ((size_t) r->n_fft / 2 + 1);
      r->pd = fftw_plan_dft_r2c_1d (r->n_fft, r->ind, r->outd,
          FFTW_ESTIMATE | FFTW_PRESERVE_INPUT);
      break;
  }
}

static void
run_clear (Run * r)
{
  musa_melspec_free (r->ms);
  if (r->pf)
    fftwf_destroy_plan (r->pf);
  if (r->pd)
    fftw_destroy_plan (r->pd);
  fftwf_free (r->inf);
  fftwf_free (r->outf);
  fftw_free (r->ind);
  fftw_free (r->outd);
}

static void
count_frame (void *user, int64_t index, const float *mels, int n_mels)
{
  Run *r = user;

  /* keep the values live so nothing is optimised away */
  r->sink += mels[index % n_mels];
}

/* One pass over the signal; returns its duration in seconds. */
static double
run_once (Run * r, const float *x, size_t n)
{
  double t0 = now (), c0 = cpu_now (CLOCK_THREAD_CPUTIME_ID);
  size_t pos;
  int64_t frames = 0;
  int i;

  switch (r->kind) {
    case RUN_CORE:
      musa_melspec_reset (r->ms);
      musa_melspec_process (r->ms, x, n, count_frame, r);
      musa_melspec_finish (r->ms, count_frame, r);
      frames = musa_stft_frames (musa_melspec_stft (r->ms));
      break;
    case RUN_FFT_F32:
      for (pos = 0; pos + (size_t) r->n_fft <= n; pos += (size_t) r->hop) {
        memcpy (r->inf, x + pos, sizeof (float) * (size_t) r->n_fft);
        fftwf_execute_dft_r2c (r->pf, r->inf, r->outf);
        r->sink += r->outf[frames % (r->n_fft / 2)][0];
        frames++;
      }
      break;
    case RUN_FFT_F64:
      for (pos = 0; pos + (size_t) r->n_fft <= n; pos += (size_t) r->hop) {
        for (i = 0; i < r->n_fft; i++)
          r->ind[i] = x[pos + (size_t) i];
        fftw_execute_dft_r2c (r->pd, r->ind, r->outd);
        r->sink += r->outd[frames % (r->n_fft / 2)][0];
        frames++;
      }
      break;
  }
  t0 = now () - t0;
  c0 = cpu_now (CLOCK_THREAD_CPUTIME_ID) - c0;
  r->frames = frames;
  if (frames / c0 > r->best)
    r->best = frames / c0;
  if (frames / t0 > r->best_wall)
    r->best_wall = frames / t0;
  return t0;
}

/* Round robin over the runs (so that all see the same machine load), until
 * @min_time seconds have passed and each has had 5 passes; keeps each run's
 * best pass. */
static void
measure (Run * runs, int n_runs, const float *x, size_t n, double min_time)
{
  double total = 0.0;
  int round, i;

  for (round = 0; round < 5 || total < min_time; round++)
    for (i = 0; i < n_runs; i++)
      total += run_once (&runs[i], x, n);
}

/* The element's input: PIPELINE_SECONDS of the synthesised music as stereo
 * F32LE in 4096-frame buffers, pushed by appsrc from its need-data signal
 * (sub-buffers of one 60 s block, so the source costs next to nothing). */
typedef struct
{
  GstBuffer *block;             /* SECONDS of interleaved stereo */
  guint64 pushed, total;        /* buffers */
} Feed;

#define FEED_FRAMES 4096

static void
on_need_data (GstElement * src, guint length, gpointer user)
{
  Feed *feed = user;
  gsize block_frames = gst_buffer_get_size (feed->block) / 8;
  gsize per_block = block_frames / FEED_FRAMES;
  GstFlowReturn ret;
  GstBuffer *buf;

  if (feed->pushed == feed->total) {
    g_signal_emit_by_name (src, "end-of-stream", &ret);
    return;
  }
  buf = gst_buffer_copy_region (feed->block, GST_BUFFER_COPY_MEMORY,
      (feed->pushed % per_block) * FEED_FRAMES * 8, FEED_FRAMES * 8);
  GST_BUFFER_PTS (buf) = gst_util_uint64_scale (feed->pushed * FEED_FRAMES,
      GST_SECOND, RATE);
  GST_BUFFER_DURATION (buf) = gst_util_uint64_scale (FEED_FRAMES, GST_SECOND,
      RATE);
  GST_BUFFER_OFFSET (buf) = feed->pushed * FEED_FRAMES;
  g_signal_emit_by_name (src, "push-buffer", buf, &ret);
  gst_buffer_unref (buf);
  feed->pushed++;
}

/* Wall-clock seconds from PLAYING to EOS of "appsrc name=src ! <rest>",
 * and in @cpu the CPU time all the process's threads used meanwhile; < 0 on
 * error. */
static double
run_pipeline (const char *rest, Feed * feed, double *cpu)
{
  GError *error = NULL;
  char *desc = g_strdup_printf ("appsrc name=src format=time "
      "caps=audio/x-raw,format=F32LE,rate=%d,channels=2,layout=interleaved "
      "! %s", RATE, rest);
  GstElement *pipeline = gst_parse_launch (desc, &error);
  GstElement *src;
  GstBus *bus;
  GstMessage *msg;
  double t0, dt = -1.0;

  if (pipeline == NULL || error != NULL) {
    printf ("  cannot build '%s': %s\n", desc, error ? error->message : "?");
    g_clear_error (&error);
    if (pipeline)
      gst_object_unref (pipeline);
    g_free (desc);
    return -1.0;
  }
  feed->pushed = 0;
  src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  g_signal_connect (src, "need-data", G_CALLBACK (on_need_data), feed);
  gst_object_unref (src);
  bus = gst_element_get_bus (pipeline);
  t0 = now ();
  *cpu = cpu_now (CLOCK_PROCESS_CPUTIME_ID);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (bus, GST_CLOCK_TIME_NONE,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS) {
    dt = now () - t0;
    *cpu = cpu_now (CLOCK_PROCESS_CPUTIME_ID) - *cpu;
  } else {
    GError *e = NULL;
    gst_message_parse_error (msg, &e, NULL);
    printf ("  error in '%s': %s\n", desc, e ? e->message : "?");
    g_clear_error (&e);
  }
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  g_free (desc);
  return dt;
}

/* Runs this program again with ORC_CODE=backup; returns the child's core
 * frames/s (< 0 if that failed) and its bare FFT loop's in @fft_fps. */
static double
core_with_orc_backup (const char *self, double *fft_fps)
{
  char cmd[4096];
  FILE *p;
  double fps = -1.0;
  char line[256];

  snprintf (cmd, sizeof (cmd), "ORC_CODE=backup '%s' --core-only", self);
  p = popen (cmd, "r");
  if (p == NULL)
    return -1.0;
  while (fgets (line, sizeof (line), p))
    if (sscanf (line, "core-fps %lf fft-fps %lf", &fps, fft_fps) == 2)
      break;
  pclose (p);
  return fps;
}

/* Times melspec_ref.py on the signal; frames/s of its best run, and the
 * wall time of the whole process (interpreter and numpy import included). */
static double
bench_numpy (const float *x, size_t n, double *wall)
{
  const char *root = g_getenv ("MUSA_SOURCE_ROOT");
  char *script, *path, *cmd;
  double fps = -1.0, secs, t0;
  long frames;
  int status;
  FILE *f, *p;
  int fd;

  script = g_build_filename (root ? root : ".", "tests", "unit",
      "melspec_ref.py", NULL);
  path = g_strdup ("/tmp/musa-bench-melspec-XXXXXX");
  fd = g_mkstemp (path);
  f = fd >= 0 ? fdopen (fd, "wb") : NULL;
  if (f == NULL || fwrite (x, sizeof (float), n, f) != n) {
    printf ("  cannot write %s\n", path);
    if (f)
      fclose (f);
    goto out;
  }
  fclose (f);
  cmd = g_strdup_printf ("/usr/bin/python3 '%s' --rate %d --bench 3 '%s'",
      script, RATE, path);
  t0 = now ();
  p = popen (cmd, "r");
  if (p != NULL) {
    /* "frames cpu-seconds wall-seconds" of its best pass */
    if (fscanf (p, "%ld %lf", &frames, &secs) == 2 && secs > 0)
      fps = frames / secs;
    while (fgetc (p) != EOF);   /* drain the rest of its output */
    status = pclose (p);
    if (status != 0) {
      printf ("  %s: exit status %d\n", cmd, status);
      fps = -1.0;
    }
  }
  *wall = now () - t0;
  g_free (cmd);
  unlink (path);
out:
  g_free (script);
  g_free (path);
  return fps;
}

int
main (int argc, char **argv)
{
  MusaMelspecConfig cfg, cfg_p1;
  MusaSynthConfig sc;
  MusaError err;
  float *x;
  size_t n = (size_t) SECONDS * RATE;
  double fps_core, fps_p1, fps_fft, fps_fft64, fps_backup, fps_np, np_wall;
  double frames_per_s_audio, t_el = -1.0, t_base = -1.0, fft_backup = 0.0;
  double c_el = -1.0, c_base = -1.0, audio_s;
  Run runs[4];
  int i;
  int core_only = argc > 1 && strcmp (argv[1], "--core-only") == 0;
  struct rusage ru;
  Feed feed;
  guint64 buffers;

  pin_one_core ();
  x = malloc (sizeof (float) * n);
  musa_synth_config_default (&sc);
  sc.sample_rate = RATE;
  if (x == NULL || musa_synth_music (&sc, x, n, &err) != MUSA_OK) {
    fprintf (stderr, "cannot synthesise the signal\n");
    return 1;
  }
  musa_melspec_config_default (&cfg, RATE);
  frames_per_s_audio = (double) RATE / cfg.stft.hop;
  cfg_p1 = cfg;
  cfg_p1.power = 1.0;

  if (core_only) {
    /* the ORC_CODE=backup child: the core and its FFT limit, side by side */
    run_init (&runs[0], RUN_CORE, &cfg);
    run_init (&runs[1], RUN_FFT_F32, &cfg);
    measure (runs, 2, x, n, MIN_TIME);
    printf ("core-fps %.1f fft-fps %.1f\n", runs[0].best, runs[1].best);
    run_clear (&runs[0]);
    run_clear (&runs[1]);
    free (x);
    return 0;
  }
  gst_init (&argc, &argv);

  run_init (&runs[0], RUN_CORE, &cfg);
  run_init (&runs[1], RUN_CORE, &cfg_p1);
  run_init (&runs[2], RUN_FFT_F32, &cfg);
  run_init (&runs[3], RUN_FFT_F64, &cfg);
  measure (runs, 4, x, n, 4 * MIN_TIME);
  fps_core = runs[0].best;
  fps_p1 = runs[1].best;
  fps_fft = runs[2].best;
  fps_fft64 = runs[3].best;

  printf ("melspec benchmark: %d s of synthesised music at %d Hz, n-fft %d, "
      "hop %d, %d mels (%" G_GINT64_FORMAT " frames), one core, best pass "
      "of interleaved runs\n\n", SECONDS, RATE, cfg.stft.n_fft, cfg.stft.hop,
      cfg.n_mels, runs[0].frames);
  printf ("%-44s %12s %12s %12s\n", "", "frames/s", "realtime x", "realtime x");
  printf ("%-44s %12s %12s %12s\n", "", "(CPU time)", "(CPU time)", "(wall)");
  for (i = 0; i < 4; i++) {
    static const char *const names[] = { "melspec core (default, float STFT)",
      "melspec core (power 1, double STFT)", "bare FFTW r2c loop, float",
      "bare FFTW r2c loop, double"
    };
    printf ("%-44s %12.0f %12.0f %12.0f\n", names[i], runs[i].best,
        runs[i].best / frames_per_s_audio,
        runs[i].best_wall / frames_per_s_audio);
  }
  for (i = 0; i < 4; i++)
    run_clear (&runs[i]);

  fps_backup = core_with_orc_backup (argv[0], &fft_backup);
  if (fps_backup > 0)
    printf ("%-44s %12.0f %12.0f   (its FFT loop: %.0f frames/s)\n",
        "melspec core, ORC_CODE=backup (child run)", fps_backup,
        fps_backup / frames_per_s_audio, fft_backup);
  else
    printf ("melspec core, ORC_CODE=backup: could not run\n");

  /* the element: PIPELINE_SECONDS of stereo F32 */
  {
    float *st = g_malloc (sizeof (float) * 2 * n);
    size_t i;
    for (i = 0; i < n; i++) {
      st[2 * i] = x[i];
      st[2 * i + 1] = 0.5f * x[i];
    }
    feed.block = gst_buffer_new_wrapped (st, sizeof (float) * 2 * n);
  }
  feed.total = (guint64) PIPELINE_SECONDS *RATE / FEED_FRAMES;
  buffers = feed.total;
  /* alternately, best of three each */
  for (i = 0; i < 3; i++) {
    double c, t = run_pipeline ("melspec ! fakesink", &feed, &c);
    if (t > 0 && (t_el < 0 || t < t_el))
      t_el = t;
    if (t > 0 && (c_el < 0 || c < c_el))
      c_el = c;
    t = run_pipeline ("fakesink", &feed, &c);
    if (t > 0 && (t_base < 0 || t < t_base))
      t_base = t;
    if (t > 0 && (c_base < 0 || c < c_base))
      c_base = c;
  }
  audio_s = buffers * (double) FEED_FRAMES / RATE;
  gst_buffer_unref (feed.block);
  if (t_el > 0)
    printf ("%-44s %12.0f %12.0f %12.0f\n",
        "element pipeline (44.1 kHz stereo)",
        audio_s * frames_per_s_audio / c_el, audio_s / c_el, audio_s / t_el);
  else
    printf ("element pipeline: could not run (is melspec built?)\n");
  if (t_base > 0)
    printf ("%-44s %12s %12.0f %12.0f\n", "  same pipeline without melspec",
        "", audio_s / c_base, audio_s / t_base);

  fps_np = bench_numpy (x, n, &np_wall);
  if (fps_np > 0)
    printf ("%-44s %12.0f %12.0f   (process wall %.2f s)\n",
        "numpy reference (melspec_ref.py, CPU time)", fps_np,
        fps_np / frames_per_s_audio, np_wall);
  else
    printf ("numpy reference: could not run\n");

  printf ("\nratios\n");
  printf ("  core / bare FFT (float)        %6.2f   (target >= 0.5)\n",
      fps_core / fps_fft);
  printf ("  core power 1 / bare FFT double %6.2f\n", fps_p1 / fps_fft64);
  printf ("  core power 1 / bare FFT float  %6.2f\n", fps_p1 / fps_fft);
  if (fps_np > 0)
    printf ("  core / numpy reference         %6.1fx  (target >= 10x)\n",
        fps_core / fps_np);
  if (fps_backup > 0 && fft_backup > 0)
    printf ("  core ORC / ORC_CODE=backup     %6.2f   (each run's core / FFT "
        "ratio, so load cancels: %.3f / %.3f)\n", (fps_core / fps_fft) /
        (fps_backup / fft_backup), fps_core / fps_fft, fps_backup / fft_backup);
  if (t_el > 0)
    printf ("  element realtime factor        %6.0fx  (target >= 1000x at "
        "44.1 kHz stereo; CPU time, %.0fx wall clock)\n", audio_s / c_el,
        audio_s / t_el);
  if (getrusage (RUSAGE_SELF, &ru) == 0)
    printf ("  peak RSS of this process       %6ld KiB\n", ru.ru_maxrss);
  free (x);
  return 0;
}
