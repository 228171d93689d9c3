/* bench-onsetbpm: speed of onsetbpm against aubio on the same audio, in one
 * run on one core (the process pins itself to the first CPU it may use;
 * children inherit it).
 *
 *   meson compile -C build bench-onsetbpm
 *
 * Prints the realtime factor (seconds of 44.1 kHz audio analysed per CPU
 * second) of:
 *   - the libmusa core (onsets + live tempo + live beats + final beats,
 *     musa_onsetbpm_process/finish) on 60 s of synthesised music, and the
 *     bare FFTW r2c loop of its STFT (n_fft 2048, hop 441) as its limit;
 *   - the element in a pipeline from memory (appsrc, F32LE stereo) and from
 *     a 16-bit WAV file (filesrc ! wavparse ! audioconvert ! onsetbpm ! fakesink),
 *     each beside the same pipeline without onsetbpm;
 *   - `aubiotrack` (aubio's C beat tracker) and `aubio tempo` (its Python
 *     command line, start-up included) on that same WAV file, CPU time of
 *     the child process;
 * then the ratios. Speed is never pass/fail. */
#include <gst/gst.h>

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fftw3.h>

#include "core/synth.h"
#include "onset/onsetbpm.h"

#define RATE 44100
#define SECONDS 60              /* of music per core pass */
#define FILE_REPEAT 10          /* the WAV file holds SECONDS * FILE_REPEAT */
#define MIN_TIME 2.0

static double
now (void)
{
  struct timespec t;
  clock_gettime (CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static double
cpu_now (clockid_t clock)
{
  struct timespec t;
  clock_gettime (clock, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static double
children_cpu (void)
{
  struct rusage ru;
  getrusage (RUSAGE_CHILDREN, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 +
      ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
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

static void
count_event (void *user, const MusaOnsetBpmEvent * ev)
{
  (*(long *) user)++;
}

/* best realtime factor (CPU time) of the core over @x */
static double
bench_core (const float *x, size_t n, long *events, double *bpm)
{
  MusaOnsetBpmConfig cfg;
  MusaError err;
  MusaOnsetBpm *ob;
  double best = 0.0, total = 0.0;
  int pass;

  musa_onsetbpm_config_default (&cfg, RATE);
  ob = musa_onsetbpm_new (&cfg, &err);
  if (ob == NULL) {
    fprintf (stderr, "onsetbpm: %s\n", err.message);
    exit (1);
  }
  for (pass = 0; pass < 5 || total < MIN_TIME; pass++) {
    double c0 = cpu_now (CLOCK_THREAD_CPUTIME_ID), t0 = now (), dt;
    MusaTempoResult r;
    size_t i;
    *events = 0;
    musa_onsetbpm_reset (ob);
    for (i = 0; i < n; i += 4096)
      musa_onsetbpm_process (ob, x + i, n - i < 4096 ? n - i : 4096,
          count_event, events);
    musa_onsetbpm_finish (ob, count_event, events, &r);
    *bpm = r.bpm;
    dt = cpu_now (CLOCK_THREAD_CPUTIME_ID) - c0;
    total += now () - t0;
    if ((double) n / RATE / dt > best)
      best = (double) n / RATE / dt;
  }
  musa_onsetbpm_free (ob);
  return best;
}

/* the STFT's limit: copy each hop's 2048 samples in, transform */
static double
bench_fft (const float *x, size_t n)
{
  float *in = fftwf_alloc_real (2048);
  fftwf_complex *out = fftwf_alloc_complex (1025);
  fftwf_plan p = fftwf_plan_dft_r2c_1d (2048, in, out, FFTW_ESTIMATE);
  double best = 0.0, total = 0.0, sink = 0.0;
  int pass;

  for (pass = 0; pass < 5 || total < MIN_TIME; pass++) {
    double c0 = cpu_now (CLOCK_THREAD_CPUTIME_ID), t0 = now (), dt;
    size_t pos;
    for (pos = 0; pos + 2048 <= n; pos += 441) {
      memcpy (in, x + pos, sizeof (float) * 2048);
      fftwf_execute_dft_r2c (p, in, out);
      sink += out[pos % 1000][0];
    }
    dt = cpu_now (CLOCK_THREAD_CPUTIME_ID) - c0;
    total += now () - t0;
    if ((double) n / RATE / dt > best)
      best = (double) n / RATE / dt;
  }
  fftwf_destroy_plan (p);
  fftwf_free (in);
  fftwf_free (out);
  return sink == 12345.0 ? 0.0 : best;
}

typedef struct
{
  GstBuffer *block;
  guint64 pushed, total;
} Feed;

#define FEED_FRAMES 4096

static void
on_need_data (GstElement * src, guint length, gpointer user)
{
  Feed *feed = user;
  gsize per_block = gst_buffer_get_size (feed->block) / 8 / FEED_FRAMES;
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
  g_signal_emit_by_name (src, "push-buffer", buf, &ret);
  gst_buffer_unref (buf);
  feed->pushed++;
}

/* process CPU seconds from PLAYING to EOS, < 0 on error */
static double
run_pipeline (const char *desc, Feed * feed)
{
  GError *error = NULL;
  GstElement *pipeline = gst_parse_launch (desc, &error), *src;
  GstBus *bus;
  GstMessage *msg;
  double c0, dt = -1.0;

  if (pipeline == NULL || error != NULL) {
    printf ("  cannot build '%s': %s\n", desc, error ? error->message : "?");
    g_clear_error (&error);
    return -1.0;
  }
  src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  if (src != NULL && feed != NULL) {
    feed->pushed = 0;
    g_signal_connect (src, "need-data", G_CALLBACK (on_need_data), feed);
  }
  if (src)
    gst_object_unref (src);
  bus = gst_element_get_bus (pipeline);
  c0 = cpu_now (CLOCK_PROCESS_CPUTIME_ID);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (bus, GST_CLOCK_TIME_NONE,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS)
    dt = cpu_now (CLOCK_PROCESS_CPUTIME_ID) - c0;
  else
    printf ("  error in '%s'\n", desc);
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  return dt;
}

static double
best_pipeline (const char *desc, Feed * feed)
{
  double best = -1.0;
  int i;
  for (i = 0; i < 3; i++) {
    double c = run_pipeline (desc, feed);
    if (c > 0 && (best < 0 || c < best))
      best = c;
  }
  return best;
}

static int
write_wav (const char *path, const float *x, size_t n, int repeat)
{
  FILE *f = fopen (path, "wb");
  uint32_t data = (uint32_t) (n * repeat * 2), v32;
  uint16_t v16;
  size_t i;
  int r;

  if (f == NULL)
    return -1;
#define W32(v) (v32 = (v), fwrite (&v32, 4, 1, f))
#define W16(v) (v16 = (v), fwrite (&v16, 2, 1, f))
  fwrite ("RIFF", 1, 4, f);
  W32 (36 + data);
  fwrite ("WAVEfmt ", 1, 8, f);
  W32 (16);
  W16 (1);
  W16 (1);
  W32 (RATE);
  W32 (RATE * 2);
  W16 (2);
  W16 (16);
  fwrite ("data", 1, 4, f);
  W32 (data);
  for (r = 0; r < repeat; r++)
    for (i = 0; i < n; i++) {
      float s = x[i] * 32767.0f;
      int16_t q = (int16_t) (s > 32767.0f ? 32767 : s < -32768.0f ? -32768 :
          (int) s);
      fwrite (&q, 2, 1, f);
    }
  return fclose (f);
}

/* CPU seconds of a child command (its output discarded), < 0 on failure */
static double
run_child (const char *cmd)
{
  double c0 = children_cpu ();
  char *full = g_strdup_printf ("%s > /dev/null 2>&1", cmd);
  int st = system (full);
  g_free (full);
  if (st != 0)
    return -1.0;
  return children_cpu () - c0;
}

int
main (int argc, char **argv)
{
  MusaSynthConfig sc;
  MusaError err;
  size_t n = (size_t) SECONDS * RATE, i;
  float *x = malloc (sizeof (float) * n);
  double rt_core, rt_fft, bpm, c_el, c_base, c_file, c_file_base, c_track,
      c_tempo, c_tempo0, file_s = (double) SECONDS * FILE_REPEAT;
  long events;
  Feed feed;
  char wav[] = "/tmp/musa-bench-onsetbpm-XXXXXX.wav", *cmd, *desc;
  char tiny[] = "/tmp/musa-bench-onsetbpm-tiny-XXXXXX.wav";
  struct rusage ru;
  int fd;

  pin_one_core ();
  gst_init (&argc, &argv);
  musa_synth_config_default (&sc);
  sc.bpm = 123;
  if (x == NULL || musa_synth_music (&sc, x, n, &err) != MUSA_OK) {
    fprintf (stderr, "cannot synthesise\n");
    return 1;
  }

  rt_core = bench_core (x, n, &events, &bpm);
  rt_fft = bench_fft (x, n);
  printf ("onsetbpm benchmark: synthesised music at %d Hz (%.0f BPM), one "
      "core, CPU time, best of repeated passes\n\n", RATE, sc.bpm);
  printf ("%-58s %10s\n", "", "realtime x");
  printf ("%-58s %10.0f   (%ld onsets+beats, %.2f BPM)\n",
      "onsetbpm core (60 s, onsets, tempo, live + final beats)", rt_core,
      events, bpm);
  printf ("%-58s %10.0f\n", "  bare FFTW r2c loop, 2048 / hop 441 (its limit)",
      rt_fft);

  /* element from memory: 600 s of stereo F32 */
  {
    float *st = g_malloc (sizeof (float) * 2 * n);
    for (i = 0; i < n; i++) {
      st[2 * i] = x[i];
      st[2 * i + 1] = 0.5f * x[i];
    }
    feed.block = gst_buffer_new_wrapped (st, sizeof (float) * 2 * n);
    feed.total = (guint64) file_s *RATE / FEED_FRAMES;
  }
  desc = g_strdup_printf ("appsrc name=src format=time caps=audio/x-raw,"
      "format=F32LE,rate=%d,channels=2,layout=interleaved ! onsetbpm ! "
      "fakesink", RATE);
  c_el = best_pipeline (desc, &feed);
  g_free (desc);
  desc = g_strdup_printf ("appsrc name=src format=time caps=audio/x-raw,"
      "format=F32LE,rate=%d,channels=2,layout=interleaved ! fakesink", RATE);
  c_base = best_pipeline (desc, &feed);
  g_free (desc);
  gst_buffer_unref (feed.block);
  if (c_el > 0)
    printf ("%-58s %10.0f   (without onsetbpm: %.0f)\n",
        "element: appsrc (F32LE stereo) ! onsetbpm ! fakesink",
        feed.total * (double) FEED_FRAMES / RATE / c_el,
        feed.total * (double) FEED_FRAMES / RATE / c_base);

  /* the same audio as a WAV file, for the element and aubio alike */
  fd = g_mkstemp_full (wav, O_RDWR, 0600);
  if (fd >= 0)
    close (fd);
  fd = g_mkstemp_full (tiny, O_RDWR, 0600);
  if (fd >= 0)
    close (fd);
  if (write_wav (wav, x, n, FILE_REPEAT) != 0 || write_wav (tiny, x, RATE / 10,
          1) != 0) {
    printf ("cannot write %s\n", wav);
    return 1;
  }
  desc = g_strdup_printf ("filesrc location=%s ! wavparse ! audioconvert ! "
      "onsetbpm ! fakesink", wav);
  c_file = best_pipeline (desc, NULL);
  g_free (desc);
  desc = g_strdup_printf ("filesrc location=%s ! wavparse ! audioconvert ! "
      "fakesink", wav);
  c_file_base = best_pipeline (desc, NULL);
  g_free (desc);
  printf ("%-58s %10.0f   (without onsetbpm: %.0f)\n",
      "element: filesrc ! wavparse ! audioconvert ! onsetbpm (WAV)",
      file_s / c_file, file_s / c_file_base);

  cmd = g_strdup_printf ("aubiotrack -i %s", wav);
  c_track = run_child (cmd);
  g_free (cmd);
  cmd = g_strdup_printf ("aubio tempo %s", wav);
  c_tempo = run_child (cmd);
  g_free (cmd);
  cmd = g_strdup_printf ("aubio tempo %s", tiny);
  c_tempo0 = run_child (cmd);
  g_free (cmd);
  if (c_track > 0)
    printf ("%-58s %10.0f\n", "aubiotrack (aubio C beat tracker, same WAV)",
        file_s / c_track);
  else
    printf ("aubiotrack: not available (apt-get install aubio-tools)\n");
  if (c_tempo > 0)
    printf ("%-58s %10.0f   (%.0f without its %.2f s start-up)\n",
        "aubio tempo (same WAV, CPU of the whole command)", file_s / c_tempo,
        file_s / (c_tempo - c_tempo0), c_tempo0);
  unlink (wav);
  unlink (tiny);

  printf ("\nratios\n");
  printf ("  core / bare FFT loop                 %6.2f\n", rt_core / rt_fft);
  if (c_track > 0)
    printf ("  element (WAV) / aubiotrack           %6.2fx\n",
        c_track / c_file);
  if (c_tempo > 0)
    printf ("  element (WAV) / aubio tempo          %6.2fx  (%.2fx without "
        "its start-up)\n", c_tempo / c_file, (c_tempo - c_tempo0) / c_file);
  printf ("  core realtime factor                 %6.0fx  (target >= 1000x "
      "at 44.1 kHz on one core)\n", rt_core);
  if (getrusage (RUSAGE_SELF, &ru) == 0)
    printf ("  peak memory of this process          %6.1f MB\n",
        ru.ru_maxrss / 1024.0);
  free (x);
  return 0;
}
