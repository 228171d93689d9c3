/* Benchmark of chromakey: realtime factor of the libmusa core and of the
 * element, beside baselines run in the same process on the same signal:
 *  - the bare STFT (the same FFT size and hop, a no-op frame callback): the
 *    floor any STFT-based chroma pays;
 *  - a naive chroma: the same STFT, |X| of every bin up to 5 kHz summed into
 *    its pitch class through a lookup table (no peaks, no tuning);
 *  - the element's pipeline without chromakey (appsrc ! fakesink), whose time
 *    is subtracted.
 * Essentia.js's speed is measured by eval-chromakey on the same files (it
 * runs in Node.js, not in this process). Never fails on speed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gst/gst.h>

#include "chroma/chroma.h"
#include "chroma/key.h"
#include "core/audio.h"
#include "core/stft.h"
#include "core/synth.h"

#define RATE 44100
#define SECONDS 120.0
#define REPEATS 5

/* CPU time of the whole process: the pipeline's streaming thread and the
 * pushing thread both count, so "x realtime" is per core */
static double
now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void
noop_frame (void *user, int64_t index, const float *spectrum,
    const float *frame)
{
  (void) index;
  (void) frame;
  *(volatile float *) user += spectrum[2];
}

typedef struct
{
  int n_bins;
  int *pc;                      /* pitch class of each bin, -1 outside */
  float *mag;
  double chroma[12];
} Naive;

static void
naive_frame (void *user, int64_t index, const float *spectrum,
    const float *frame)
{
  Naive *nv = user;
  int k;

  (void) index;
  (void) frame;
  musa_power_spectrum (spectrum, nv->mag, nv->n_bins, 1.0f);
  for (k = 0; k < nv->n_bins; k++)
    if (nv->pc[k] >= 0)
      nv->chroma[nv->pc[k]] += nv->mag[k];
}

/* best of REPEATS runs of fn over the signal, seconds */
typedef void (*RunFunc) (const float *x, size_t n, void *ctx);

static double
best_time (RunFunc fn, const float *x, size_t n, void *ctx)
{
  double best = 1e30;
  int r;

  for (r = 0; r < REPEATS; r++) {
    double t0 = now ();
    fn (x, n, ctx);
    t0 = now () - t0;
    if (t0 < best)
      best = t0;
  }
  return best;
}

static void
run_core (const float *x, size_t n, void *ctx)
{
  MusaChroma *ch = ctx;
  MusaChromaResult res;
  MusaKey key;
  size_t pos;

  musa_chroma_reset (ch);
  for (pos = 0; pos < n; pos += 4096)
    musa_chroma_process (ch, x + pos, n - pos < 4096 ? n - pos : 4096);
  musa_chroma_finish (ch);
  musa_chroma_get_total (ch, &res);
  musa_key_estimate (res.chroma, MUSA_KEY_PROFILE_COMBINED, &key, NULL);
}

static void
run_stft (const float *x, size_t n, void *ctx)
{
  MusaStft *st = ctx;
  float sink = 0.0f;
  size_t pos;

  musa_stft_reset (st);
  for (pos = 0; pos < n; pos += 4096)
    musa_stft_process (st, x + pos, n - pos < 4096 ? n - pos : 4096,
        noop_frame, &sink);
  musa_stft_finish (st, noop_frame, &sink);
}

typedef struct
{
  MusaStft *st;
  Naive nv;
} NaiveCtx;

static void
run_naive (const float *x, size_t n, void *ctx)
{
  NaiveCtx *c = ctx;
  size_t pos;

  musa_stft_reset (c->st);
  memset (c->nv.chroma, 0, sizeof (c->nv.chroma));
  for (pos = 0; pos < n; pos += 4096)
    musa_stft_process (c->st, x + pos, n - pos < 4096 ? n - pos : 4096,
        naive_frame, &c->nv);
  musa_stft_finish (c->st, naive_frame, &c->nv);
}

/* appsrc ! [chromakey !] fakesink, F32 mono buffers of 4096 frames */
static void
run_pipeline (const float *x, size_t n, void *ctx)
{
  const char *elem = ctx;
  gchar *desc = g_strdup_printf ("appsrc name=src format=time caps="
      "audio/x-raw,format=F32LE,rate=%d,channels=1,layout=interleaved ! "
      "%s fakesink sync=false", RATE, elem);
  GstElement *pipe = gst_parse_launch (desc, NULL);
  GstElement *src = gst_bin_get_by_name (GST_BIN (pipe), "src");
  GstMessage *msg;
  size_t pos;

  gst_element_set_state (pipe, GST_STATE_PLAYING);
  for (pos = 0; pos < n; pos += 4096) {
    size_t c = n - pos < 4096 ? n - pos : 4096;
    GstBuffer *buf = gst_buffer_new_wrapped_full (GST_MEMORY_FLAG_READONLY,
        (gpointer) (x + pos), c * sizeof (float), 0, c * sizeof (float),
        NULL, NULL);
    GstFlowReturn ret;
    GST_BUFFER_PTS (buf) = gst_util_uint64_scale_int (pos, GST_SECOND, RATE);
    /* appsrc's action signals (no link to gstreamer-app needed) */
    g_signal_emit_by_name (src, "push-buffer", buf, &ret);
    gst_buffer_unref (buf);
  }
  {
    GstFlowReturn ret;
    g_signal_emit_by_name (src, "end-of-stream", &ret);
  }
  msg = gst_bus_timed_pop_filtered (GST_ELEMENT_BUS (pipe),
      GST_CLOCK_TIME_NONE, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
    fprintf (stderr, "pipeline error\n");
  gst_message_unref (msg);
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (src);
  gst_object_unref (pipe);
  g_free (desc);
}

int
main (int argc, char **argv)
{
  size_t n = (size_t) (SECONDS * RATE);
  float *x = malloc (n * sizeof (float));
  MusaSynthConfig sc;
  MusaChromaConfig cc;
  MusaStftConfig stc;
  MusaChroma *ch;
  NaiveCtx nc;
  MusaStft *st;
  double t_core, t_stft, t_naive, t_elem, t_bare;
  int k;

  gst_init (&argc, &argv);
  musa_synth_config_default (&sc);
  musa_synth_music (&sc, x, n, NULL);

  musa_chroma_config_default (&cc, RATE);
  ch = musa_chroma_new (&cc, NULL);
  stc.n_fft = musa_chroma_n_fft (ch);
  stc.hop = musa_chroma_hop (ch);
  stc.win_length = 0;
  stc.window = MUSA_WINDOW_HANN;
  stc.center = 1;
  st = musa_stft_new (&stc, NULL);
  nc.st = musa_stft_new (&stc, NULL);
  nc.nv.n_bins = stc.n_fft / 2 + 1;
  nc.nv.pc = malloc (sizeof (int) * nc.nv.n_bins);
  nc.nv.mag = malloc (sizeof (float) * nc.nv.n_bins);
  for (k = 0; k < nc.nv.n_bins; k++) {
    double f = (double) k * RATE / stc.n_fft;
    nc.nv.pc[k] = f >= 50.0 && f <= 5000.0 ?
        ((int) lround (12.0 * log2 (f / 440.0) + 9.0) % 12 + 12) % 12 : -1;
  }

  t_core = best_time (run_core, x, n, ch);
  t_stft = best_time (run_stft, x, n, st);
  t_naive = best_time (run_naive, x, n, &nc);
  t_elem = best_time (run_pipeline, x, n, (void *) "chromakey !");
  t_bare = best_time (run_pipeline, x, n, (void *) "");

  printf ("chromakey benchmark: %.0f s of synthetic music, 44.1 kHz mono, "
      "n-fft %d hop %d, best of %d, process CPU time\n", SECONDS, stc.n_fft,
      stc.hop, REPEATS);
  printf ("%-44s %10s %12s\n", "", "seconds", "x realtime");
  printf ("%-44s %10.4f %12.0f\n", "chromakey core (chroma + key)", t_core,
      SECONDS / t_core);
  printf ("%-44s %10.4f %12.0f\n", "baseline: bare STFT, same size and hop",
      t_stft, SECONDS / t_stft);
  printf ("%-44s %10.4f %12.0f\n", "baseline: naive STFT-bin chroma", t_naive,
      SECONDS / t_naive);
  printf ("%-44s %10.4f %12.0f\n", "chromakey element (appsrc ! chromakey ! "
      "fakesink)", t_elem, SECONDS / t_elem);
  printf ("%-44s %10.4f %12.0f\n", "pipeline without chromakey", t_bare,
      SECONDS / t_bare);
  printf ("%-44s %10.4f %12.0f\n", "chromakey element, pipeline subtracted",
      t_elem - t_bare, SECONDS / (t_elem - t_bare));
  printf ("ratios: core / bare STFT time = %.2f, core / naive chroma = %.2f, "
      "element / core = %.2f\n", t_core / t_stft, t_core / t_naive,
      (t_elem - t_bare) / t_core);

  musa_chroma_free (ch);
  musa_stft_free (st);
  musa_stft_free (nc.st);
  free (nc.nv.pc);
  free (nc.nv.mag);
  free (x);
  return 0;
}
