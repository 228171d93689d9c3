/* Benchmark of musaugment beside its peers, in one run on the same audio:
 * 60 s of stereo 44.1 kHz music (core/synth), one core.
 *
 * 1. Each effect alone and whole chains through libmusa's augmentation
 *    processor (src/augment), in 4096-frame blocks, EOS drain included.
 * 2. The element in a GStreamer pipeline (filesrc ! wavparse ! audioconvert
 *    ! musaugment ! fakesink) beside the same pipeline without it and with
 *    GStreamer's pitch, scaletempo (seek rate 1.25), freeverb and audioecho.
 * 3. sox (reverb, compand, pitch, tempo) and rubberband (-p / -t, default and
 *    --fine) on the same WAV file, as child processes.
 * 4. The fx and stretch engineers' own benchmarks (tests/bench/fx_bench.c,
 *    stretch_bench.c) when they are built in.
 *
 * Times are CPU seconds (this thread for libmusa; the whole process for the
 * pipelines, streaming threads included; user + system of the children for
 * the tools), so a loaded machine does not skew the ratios. Realtime factor =
 * 60 s / CPU seconds. Prints, never fails. */
#include <gst/gst.h>

#include "augment/augment.h"
#include "core/synth.h"

#include <math.h>
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#ifdef MUSA_HAVE_FX_BENCH
void musa_bench_fx (double seconds_of_audio);
#endif
#ifdef MUSA_HAVE_STRETCH_BENCH
void musa_bench_stretch (void);
#endif

#define SR 44100
#define SECONDS 60
#define BLOCK 4096

static double
thread_cpu (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double
process_cpu (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void
put_le (FILE * f, uint32_t v, int bytes)
{
  int i;

  for (i = 0; i < bytes; i++)
    fputc ((int) ((v >> (8 * i)) & 255), f);
}

/* 16-bit stereo WAV of x; x is quantised in place so every tool and our
 * in-process runs see the same samples */
static int
write_wav (const char *path, float *x, size_t frames)
{
  FILE *f = fopen (path, "wb");
  size_t i, n = frames * 2;

  if (f == NULL)
    return -1;
  fwrite ("RIFF", 1, 4, f);
  put_le (f, (uint32_t) (36 + n * 2), 4);
  fwrite ("WAVEfmt ", 1, 8, f);
  put_le (f, 16, 4);
  put_le (f, 1, 2);
  put_le (f, 2, 2);
  put_le (f, SR, 4);
  put_le (f, SR * 4, 4);
  put_le (f, 4, 2);
  put_le (f, 16, 2);
  fwrite ("data", 1, 4, f);
  put_le (f, (uint32_t) (n * 2), 4);
  for (i = 0; i < n; i++) {
    long v = lrintf (x[i] * 32767.0f);

    v = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
    x[i] = (float) v / 32768.0f;
    put_le (f, (uint32_t) (uint16_t) (int16_t) v, 2);
  }
  fclose (f);
  return 0;
}

/* CPU seconds of a child process (user + system), pinned to CPU 0 */
static double
spawn_time (char *const argv[])
{
  pid_t pid;
  int status;
  struct rusage ru;
  char *full[32];
  int i;

  full[0] = "taskset";
  full[1] = "-c";
  full[2] = "0";
  for (i = 0; argv[i] && i < 28; i++)
    full[3 + i] = argv[i];
  full[3 + i] = NULL;
  if (posix_spawnp (&pid, "taskset", NULL, NULL, full, environ) != 0)
    return -1.0;
  if (wait4 (pid, &status, 0, &ru) < 0 || !WIFEXITED (status)
      || WEXITSTATUS (status) != 0)
    return -1.0;
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 +
      ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

/* whole signal through a session for (chain, seed); CPU seconds */
static double
run_chain (const char *spec, uint64_t seed, const float *x, size_t frames,
    float *out, char *desc, size_t desc_len, int *applied)
{
  MusaAugmentChain *c = musa_augment_chain_parse (spec, NULL);
  MusaAugmentSessionConfig cfg;
  MusaAugmentSession *s;
  const MusaAugmentDraw *d;
  size_t pos = 0, got, cap;
  double t0, t;

  if (c == NULL)
    return -1.0;
  memset (&cfg, 0, sizeof (cfg));
  cfg.chain = c;
  cfg.probability = 1.0;
  cfg.seed = seed;
  cfg.stream_hash = 1;
  cfg.sample_rate = SR;
  cfg.channels = 2;
  cfg.max_block = BLOCK;
  s = musa_augment_session_new (&cfg, NULL);
  t0 = thread_cpu ();
  d = musa_augment_session_next_draw (s, NULL);
  if (desc)
    musa_augment_draw_describe (d, desc, desc_len);
  if (applied)
    *applied = !musa_augment_draw_is_identity (d);
  cap = musa_augment_session_max_output (s, BLOCK);
  while (pos < frames) {
    size_t n = frames - pos < BLOCK ? frames - pos : BLOCK;

    musa_augment_session_process (s, x + 2 * pos, n, out, cap, &got);
    pos += n;
  }
  do
    musa_augment_session_finish (s, out, cap, &got);
  while (got > 0);
  t = thread_cpu () - t0;
  musa_augment_session_free (s);
  musa_augment_chain_free (c);
  return t;
}

/* CPU seconds of a pipeline run to EOS; @rate != 1: seek with that rate */
static double
run_pipeline (const char *desc, double rate)
{
  GError *err = NULL;
  GstElement *p = gst_parse_launch (desc, &err);
  GstBus *bus;
  GstMessage *m;
  double t0, t;

  if (p == NULL) {
    printf ("  (cannot build '%s': %s)\n", desc, err ? err->message : "?");
    g_clear_error (&err);
    return -1.0;
  }
  bus = gst_element_get_bus (p);
  t0 = process_cpu ();
  gst_element_set_state (p, GST_STATE_PAUSED);
  gst_element_get_state (p, NULL, NULL, GST_CLOCK_TIME_NONE);
  if (rate != 1.0)
    gst_element_seek (p, rate, GST_FORMAT_TIME, GST_SEEK_FLAG_FLUSH,
        GST_SEEK_TYPE_SET, 0, GST_SEEK_TYPE_NONE, GST_CLOCK_TIME_NONE);
  gst_element_set_state (p, GST_STATE_PLAYING);
  m = gst_bus_timed_pop_filtered (bus, GST_CLOCK_TIME_NONE,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  t = process_cpu () - t0;
  if (GST_MESSAGE_TYPE (m) == GST_MESSAGE_ERROR) {
    printf ("  (error in '%s')\n", desc);
    t = -1.0;
  }
  gst_message_unref (m);
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (p);
  return t;
}

static void
row (const char *name, double secs, const char *extra)
{
  if (secs <= 0.0)
    printf ("  %-44s      (failed or not installed)\n", name);
  else
    printf ("  %-44s %9.1fx realtime %s\n", name, SECONDS / secs,
        extra ? extra : "");
}

static const struct
{
  const char *name, *spec;
} effects[] = {
  {"copy (no effect, baseline)", "none"},
  {"gain", "gain:1(db=-3)"},
  {"eq peak", "eq:1(shape=peak,freq=1000,gain=3,q=1)"},
  {"eq high-pass", "eq:1(shape=highpass,freq=80)"},
  {"compressor", "compressor:1(threshold=-20,ratio=4,knee=6,attack=10,"
        "release=100,makeup=3)"},
  {"limiter", "limiter:1(ceiling=-1,lookahead=5,release=50)"},
  {"distortion tanh", "distortion:1(mode=tanh,drive=12,mix=0.3)"},
  {"distortion bitcrush", "distortion:1(mode=bitcrush,drive=0,bits=8,"
        "mix=0.3)"},
  {"reverb", "reverb:1(room=0.5,damping=0.5,wet=0.2,predelay=10)"},
  {"echo", "echo:1(delay=250,feedback=0.3,mix=0.2)"},
  {"chorus", "chorus:1(rate=0.5,depth=3,delay=10,mix=0.3)"},
  {"noise pink", "noise:1(colour=pink,snr=30)"},
  {"noise white", "noise:1(colour=white,snr=30)"},
  {"stretch rate 1.25", "stretch:1(rate=1.25)"},
  {"stretch rate 0.8", "stretch:1(rate=0.8)"},
  {"pitch +2 semitones", "pitch:1(semitones=2)"},
  {"pitch -2 semitones", "pitch:1(semitones=-2)"},
};

#define ALL_FX "eq:1,compressor:1,distortion:1,chorus:1,echo:1,reverb:1," \
  "gain:1,limiter:1,noise:1"
#define DEFAULT_FX "gain,eq,compressor,limiter,distortion,reverb,echo," \
  "chorus,noise"

int
main (int argc, char **argv)
{
  const size_t frames = (size_t) SECONDS * SR;
  float *a = malloc (sizeof (float) * frames);
  float *b = malloc (sizeof (float) * frames);
  float *x = malloc (sizeof (float) * frames * 2);
  float *out = malloc (sizeof (float) * (frames * 3 + (1 << 20)));
  char dir[] = "/tmp/musa-augment-bench-XXXXXX", wav[256], wout[256];
  char desc[2048], line[4096];
  MusaSynthConfig sc;
  cpu_set_t set;
  size_t i;
  double t, sum, base;
  int n, applied;
  uint64_t seed;

  gst_init (&argc, &argv);
  /* wavparse logs harmless typefind errors at the test env's GST_DEBUG */
  gst_debug_set_default_threshold (GST_LEVEL_NONE);
  CPU_ZERO (&set);
  CPU_SET (0, &set);
  sched_setaffinity (0, sizeof (set), &set);    /* one core, all threads */

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
  if (mkdtemp (dir) == NULL)
    return 0;
  snprintf (wav, sizeof (wav), "%s/in.wav", dir);
  snprintf (wout, sizeof (wout), "%s/out.wav", dir);
  write_wav (wav, x, frames);

  printf ("musaugment benchmark: %d s stereo %d Hz music (core/synth), "
      "one core (CPU 0), CPU time\n\n", SECONDS, SR);
  printf ("1. libmusa augmentation processor, one effect, 4096-frame "
      "blocks:\n");
  for (i = 0; i < sizeof (effects) / sizeof (effects[0]); i++) {
    t = run_chain (effects[i].spec, 1, x, frames, out, NULL, 0, NULL);
    row (effects[i].name, t, NULL);
  }

  printf ("\n   chains:\n");
  t = run_chain (ALL_FX, 1, x, frames, out, NULL, 0, NULL);
  row ("all 9 effects at once (no stretch/shift)", t, "(target >= 300x)");
  /* the default chain's effects without stretch/pitch, as drawn: the mean
   * CPU time over 16 seeds (probability 1: every draw applies) */
  sum = 0.0;
  for (seed = 1; seed <= 16; seed++)
    sum += run_chain (DEFAULT_FX, seed, x, frames, out, NULL, 0, NULL);
  row ("default chain without stretch/shift, 16 draws", sum / 16,
      "(mean; target >= 300x)");
  sum = 0.0;
  n = 0;
  for (seed = 1; seed <= 16; seed++) {
    t = run_chain ("default", seed, x, frames, out, desc, sizeof (desc),
        &applied);
    sum += t;
    n++;
  }
  row ("default chain (incl. stretch/shift), 16 draws", sum / n, "(mean)");
  musa_augment_chain_free (NULL);

  printf ("\n2. GStreamer pipelines: filesrc ! wavparse ! audioconvert ! "
      "F32 ! <element> ! fakesink\n   (process CPU; the element's own cost "
      "= pipeline - baseline)\n");
  {
    static const struct
    {
      const char *name, *elem;
      double rate;
    } pl[] = {
      {"baseline (no element)", "identity", 1.0},
      {"musaugment probability=0 (passthrough)",
          "musaugment probability=0", 1.0},
      {"musaugment all 9 effects", "musaugment probability=1 chain=\""
            ALL_FX "\"", 1.0},
      {"musaugment default chain seed=1 segment 5 s",
          "musaugment probability=1 segment-duration=5 seed=1", 1.0},
      {"musaugment reverb", "musaugment probability=1 chain=\"reverb:1("
            "room=0.5,damping=0.5,wet=0.2,predelay=10)\"", 1.0},
      {"GStreamer freeverb", "freeverb", 1.0},
      {"musaugment echo", "musaugment probability=1 chain=\"echo:1("
            "delay=250,feedback=0.3,mix=0.2)\"", 1.0},
      {"GStreamer audioecho", "audioecho delay=250000000 "
            "max-delay=250000000 feedback=0.3 intensity=0.2", 1.0},
      {"musaugment pitch +2", "musaugment probability=1 "
            "chain=\"pitch:1(semitones=2)\"", 1.0},
      {"GStreamer pitch (SoundTouch) +2", "pitch pitch=1.122462", 1.0},
      {"musaugment stretch 1.25", "musaugment probability=1 "
            "chain=\"stretch:1(rate=1.25)\"", 1.0},
      {"GStreamer scaletempo (seek rate 1.25)", "scaletempo", 1.25},
      {"baseline, one 60 s buffer (audiobuffersplit)",
          "audiobuffersplit output-buffer-duration=60/1 ! identity", 1.0},
      {"musaugment gain, one 60 s buffer", "audiobuffersplit "
            "output-buffer-duration=60/1 ! musaugment probability=1 "
            "chain=\"gain:1(db=-3)\"", 1.0},
    };
    base = 0.0;
    for (i = 0; i < sizeof (pl) / sizeof (pl[0]); i++) {
      char extra[64] = "";

      snprintf (line, sizeof (line), "filesrc location=%s ! wavparse ! "
          "audioconvert ! audio/x-raw,format=F32LE ! %s ! fakesink "
          "sync=false", wav, pl[i].elem);
      t = run_pipeline (line, pl[i].rate);
      if (i == 0 || strstr (pl[i].name, "baseline"))
        base = t;
      else if (t > base && base > 0)
        snprintf (extra, sizeof (extra), "element alone %9.1fx",
            SECONDS / (t - base));
      row (pl[i].name, t, extra);
    }
  }

  printf ("\n3. command-line peers on the same WAV (child CPU time, "
      "file I/O included):\n");
  {
    char *sox_reverb[] = { "sox", "-q", wav, wout, "reverb", "50", "50",
      "50", NULL
    };
    char *sox_compand[] = { "sox", "-q", wav, wout, "compand",
      "0.01,0.1", "6:-70,-60,-20", "-3", "-90", "0.01", NULL
    };
    char *sox_pitch[] = { "sox", "-q", wav, wout, "pitch", "200", NULL };
    char *sox_tempo[] = { "sox", "-q", wav, wout, "tempo", "-m", "1.25",
      NULL
    };
    char *sox_copy[] = { "sox", "-q", wav, wout, NULL };
    char *rb_p[] = { "rubberband", "-q", "-p", "2", wav, wout, NULL };
    char *rb_pf[] = { "rubberband", "-q", "--fine", "-p", "2", wav, wout,
      NULL
    };
    char *rb_t[] = { "rubberband", "-q", "-t", "0.8", wav, wout, NULL };
    char *rb_tf[] = { "rubberband", "-q", "--fine", "-t", "0.8", wav, wout,
      NULL
    };

    row ("sox copy (I/O baseline)", spawn_time (sox_copy), NULL);
    row ("sox reverb 50 50 50", spawn_time (sox_reverb), NULL);
    row ("sox compand", spawn_time (sox_compand), NULL);
    row ("sox pitch +200 cents", spawn_time (sox_pitch), NULL);
    row ("sox tempo -m 1.25", spawn_time (sox_tempo), NULL);
    row ("rubberband -p 2 (R2 default)", spawn_time (rb_p), NULL);
    row ("rubberband --fine -p 2 (R3)", spawn_time (rb_pf), NULL);
    row ("rubberband -t 0.8 (= rate 1.25, R2 default)", spawn_time (rb_t),
        NULL);
    row ("rubberband --fine -t 0.8 (R3)", spawn_time (rb_tf), NULL);
  }
  {
    struct rusage ru;

    getrusage (RUSAGE_SELF, &ru);
    printf ("\npeak resident memory of this benchmark: %ld MiB (holds the "
        "60 s signal several times)\n", ru.ru_maxrss / 1024);
  }
  unlink (wav);
  unlink (wout);
  rmdir (dir);

#ifdef MUSA_HAVE_FX_BENCH
  printf ("\n4a. fx engineer's benchmark (tests/bench/fx_bench.c):\n");
  fflush (stdout);
  musa_bench_fx (SECONDS);
#endif
#ifdef MUSA_HAVE_STRETCH_BENCH
  printf ("\n4b. stretch engineer's benchmark (tests/bench/stretch_bench.c):"
      "\n");
  fflush (stdout);
  musa_bench_stretch ();
#endif
  free (a);
  free (b);
  free (x);
  free (out);
  return 0;
}
