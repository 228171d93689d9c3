/* Benchmark of src/stretch beside its peers, in one run on the same audio:
 * 60 s of stereo 44.1 kHz music-like audio (core/synth.h), time stretch
 * (rate 0.8, 1.25) and pitch shift (+-2 semitones) by libmusa in process,
 * and by the `rubberband` command line tool (default R2 engine and --fine
 * R3 engine), GStreamer's `pitch` element (SoundTouch, via gst-launch-1.0)
 * and `sox tempo` / `sox pitch` on the same WAV file, timed as whole
 * processes pinned to one core with taskset (their start-up and file I/O
 * included: tens of ms).  GStreamer's scaletempo only follows the segment
 * rate, which gst-launch cannot set: the element bench covers it. Times are CPU times (ours: this thread;
 * theirs: user + system of the child), so a loaded machine does not skew the
 * ratios; realtime factor = 60 s / CPU seconds.
 *
 * Meant to be included from tests/bench/bench_musaugment.c:
 *   #include "stretch_bench.c"   ...   musa_bench_stretch ();
 * or built alone with -DMUSA_STRETCH_BENCH_MAIN. Prints, never fails. */
#include "stretch/stretch.h"
#include "core/synth.h"

#include <math.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define STRETCH_BENCH_SR 44100
#define STRETCH_BENCH_SECONDS 60

/* CPU time of the calling thread: the machine may be shared, wall time is
 * not a fair measure there. */
static double
stretch_bench_now (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void
stretch_bench_put32 (FILE * f, uint32_t v)
{
  unsigned char b[4] = { v & 255, (v >> 8) & 255, (v >> 16) & 255, v >> 24 };
  fwrite (b, 1, 4, f);
}

static void
stretch_bench_put16 (FILE * f, uint16_t v)
{
  unsigned char b[2] = { v & 255, v >> 8 };
  fwrite (b, 1, 2, f);
}

/* 16-bit PCM WAV; x is quantised in place so that every tool sees the same
 * samples. */
static int
stretch_bench_write_wav (const char *path, float *x, size_t frames,
    int channels, int sr)
{
  FILE *f = fopen (path, "wb");
  size_t i, bytes = frames * channels * 2;

  if (f == NULL)
    return -1;
  fwrite ("RIFF", 1, 4, f);
  stretch_bench_put32 (f, (uint32_t) (36 + bytes));
  fwrite ("WAVEfmt ", 1, 8, f);
  stretch_bench_put32 (f, 16);
  stretch_bench_put16 (f, 1);
  stretch_bench_put16 (f, (uint16_t) channels);
  stretch_bench_put32 (f, (uint32_t) sr);
  stretch_bench_put32 (f, (uint32_t) (sr * channels * 2));
  stretch_bench_put16 (f, (uint16_t) (channels * 2));
  stretch_bench_put16 (f, 16);
  fwrite ("data", 1, 4, f);
  stretch_bench_put32 (f, (uint32_t) bytes);
  for (i = 0; i < frames * channels; i++) {
    long v = lrintf (x[i] * 32767.0f);
    if (v > 32767)
      v = 32767;
    if (v < -32768)
      v = -32768;
    x[i] = (float) v / 32767.0f;
    stretch_bench_put16 (f, (uint16_t) (int16_t) v);
  }
  return fclose (f);
}

/* CPU time (user + system, all its threads) of a command (NULL-terminated
 * argv), or -1 if it cannot run or fails. Output goes to /dev/null. */
static double
stretch_bench_spawn1 (char *const argv[])
{
  posix_spawn_file_actions_t fa;
  pid_t pid;
  int status = 0;
  struct rusage ru;

  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_addopen (&fa, 1, "/dev/null", 0x1 /* O_WRONLY */ ,
      0);
  posix_spawn_file_actions_addopen (&fa, 2, "/dev/null", 0x1, 0);
  if (posix_spawnp (&pid, argv[0], &fa, NULL, argv, environ) != 0) {
    posix_spawn_file_actions_destroy (&fa);
    return -1.0;
  }
  posix_spawn_file_actions_destroy (&fa);
  if (wait4 (pid, &status, 0, &ru) < 0 || !WIFEXITED (status)
      || WEXITSTATUS (status) != 0)
    return -1.0;
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6
      + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

/* The command pinned to one core with taskset (the CLIs may start worker
 * threads), or as it is when taskset is missing. */
static double
stretch_bench_spawn (char *const argv[])
{
  char *pinned[16] = { "taskset", "-c", "0" };
  int i;
  double t;

  for (i = 0; argv[i] != NULL && i < 12; i++)
    pinned[3 + i] = argv[i];
  pinned[3 + i] = NULL;
  t = stretch_bench_spawn1 (pinned);
  if (t < 0.0)
    t = stretch_bench_spawn1 (argv);
  return t;
}

/* Seconds libmusa takes for the whole stream (4096-frame buffers). */
static double
stretch_bench_musa (const float *x, size_t frames, double rate, double semis,
    size_t *out_frames)
{
  MusaStretchConfig cfg;
  MusaStretch *st;
  size_t chunk = 4096, done = 0, cap, got, total = 0;
  float *out;
  double t0, t1;

  cfg.sample_rate = STRETCH_BENCH_SR;
  cfg.channels = 2;
  cfg.rate = rate;
  cfg.semitones = semis;
  st = musa_stretch_new (&cfg, NULL);
  if (st == NULL)
    return -1.0;
  cap = musa_stretch_max_output (st, chunk);
  out = malloc (cap * 2 * sizeof (float));
  t0 = stretch_bench_now ();
  while (done < frames) {
    size_t m = frames - done < chunk ? frames - done : chunk;
    musa_stretch_process (st, x + done * 2, m, out, cap, &got);
    total += got;
    done += m;
  }
  do {
    musa_stretch_finish (st, out, cap, &got);
    total += got;
  } while (got > 0);
  t1 = stretch_bench_now ();
  musa_stretch_free (st);
  free (out);
  *out_frames = total;
  return t1 - t0;
}

static void
stretch_bench_row (const char *name, double secs, double musa_secs)
{
  if (secs <= 0.0) {
    printf ("  %-28s  (not available)\n", name);
    return;
  }
  printf ("  %-28s %8.1fx realtime   musa is %5.2fx faster\n", name,
      STRETCH_BENCH_SECONDS / secs, secs / musa_secs);
}

void
musa_bench_stretch (void)
{
  static const struct
  {
    double rate, semis;
  } cases[] = { {0.8, 0.0}, {1.25, 0.0}, {1.0, 2.0}, {1.0, -2.0} };
  size_t frames = (size_t) STRETCH_BENCH_SECONDS * STRETCH_BENCH_SR, i;
  float *a = malloc (frames * sizeof (float));
  float *b = malloc (frames * sizeof (float));
  float *x = malloc (frames * 2 * sizeof (float));
  MusaSynthConfig sc;
  char dir[] = "/tmp/musa-stretch-bench-XXXXXX", in[256], out[256];

  if (a == NULL || b == NULL || x == NULL || mkdtemp (dir) == NULL) {
    printf ("stretch bench: setup failed\n");
    free (a);
    free (b);
    free (x);
    return;
  }
  musa_synth_config_default (&sc);
  musa_synth_music (&sc, a, frames, NULL);
  sc.seed = 99;
  sc.tonic = 7;
  sc.drums = 0;
  musa_synth_music (&sc, b, frames, NULL);
  for (i = 0; i < frames; i++) {
    x[2 * i] = 0.7f * a[i] + 0.3f * b[i];
    x[2 * i + 1] = 0.4f * a[i] + 0.6f * b[i];
  }
  snprintf (in, sizeof (in), "%s/in.wav", dir);
  snprintf (out, sizeof (out), "%s/out.wav", dir);
  stretch_bench_write_wav (in, x, frames, 2, STRETCH_BENCH_SR);

  printf ("stretch/shift: %d s stereo %d Hz music (core/synth), one core\n",
      STRETCH_BENCH_SECONDS, STRETCH_BENCH_SR);
  for (i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
    double rate = cases[i].rate, semis = cases[i].semis, tm, t;
    size_t on = 0;
    char arg[32], cents[32];
    int pitch = semis != 0.0;

    tm = stretch_bench_musa (x, frames, rate, semis, &on);
    if (tm <= 0.0) {
      printf ("  musa: cannot create the stretcher\n");
      continue;
    }
    if (pitch)
      printf ("pitch shift %+g semitones\n", semis);
    else
      printf ("time stretch rate %g (tempo x %g)\n", rate, rate);
    printf ("  %-28s %8.1fx realtime   (%zu frames out)\n", "musa",
        STRETCH_BENCH_SECONDS / tm, on);
    if (pitch)
      snprintf (arg, sizeof (arg), "%g", semis);
    else
      snprintf (arg, sizeof (arg), "%.10g", 1.0 / rate);
    {
      char *rb[] = { "rubberband", "-q",
        pitch ? "-p" : "-t", arg, in, out, NULL
      };
      t = stretch_bench_spawn (rb);
      stretch_bench_row ("rubberband (R2 default)", t, tm);
    }
    {
      char *rb[] = { "rubberband", "-q", "--fine",
        pitch ? "-p" : "-t", arg, in, out, NULL
      };
      t = stretch_bench_spawn (rb);
      stretch_bench_row ("rubberband --fine (R3)", t, tm);
    }
    {
      char prop[64], loc_in[300], loc_out[300];
      if (pitch)
        snprintf (prop, sizeof (prop), "pitch=%.10g", pow (2.0, semis / 12.0));
      else
        snprintf (prop, sizeof (prop), "tempo=%.10g", rate);
      snprintf (loc_in, sizeof (loc_in), "location=%s", in);
      snprintf (loc_out, sizeof (loc_out), "location=%s", out);
      {
        char *gl[] = { "gst-launch-1.0", "-q", "filesrc", loc_in, "!",
          "wavparse", "!", "audioconvert", "!", "pitch", prop, "!",
          "audioconvert", "!", "wavenc", "!", "filesink", loc_out, NULL
        };
        t = stretch_bench_spawn (gl);
        stretch_bench_row ("GStreamer pitch (SoundTouch)", t, tm);
      }
    }
    if (pitch) {
      snprintf (cents, sizeof (cents), "%g", semis * 100.0);
      {
        char *sx[] = { "sox", "-q", in, out, "pitch", cents, NULL };
        t = stretch_bench_spawn (sx);
        stretch_bench_row ("sox pitch", t, tm);
      }
    } else {
      snprintf (cents, sizeof (cents), "%g", rate);
      {
        char *sx[] = { "sox", "-q", in, out, "tempo", "-m", cents, NULL };
        t = stretch_bench_spawn (sx);
        stretch_bench_row ("sox tempo -m", t, tm);
      }
    }
  }
  unlink (in);
  unlink (out);
  rmdir (dir);
  free (a);
  free (b);
  free (x);
}

#ifdef MUSA_STRETCH_BENCH_MAIN
int
main (void)
{
  musa_bench_stretch ();
  return 0;
}
#endif
