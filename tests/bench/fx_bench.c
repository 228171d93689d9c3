/* Benchmark of the effects (src/fx): realtime factor of each effect and of
 * the chain of all of them on stereo 44.1 kHz music, on one core, beside a
 * bare memcpy and a plain C gain loop in the same run.
 *
 * Meant to be #included by tests/bench/bench_musaugment.c, which calls
 * musa_bench_fx (60.0). Standalone:
 *   cc -O2 -DMUSA_FX_BENCH_MAIN -I src -I build/src tests/bench/fx_bench.c \
 *     -L build/src -lmusa-1.0 -lm -o /tmp/fx-bench && \
 *     LD_LIBRARY_PATH=build/src /tmp/fx-bench [seconds]
 * (ORC_CODE=backup in the environment times the C backups of the ORC
 * kernels.) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#endif

#include "core/rng.h"
#include "core/synth.h"
#include "fx/fx.h"

#define FXB_RATE 44100
#define FXB_CHANNELS 2
#define FXB_CHUNK 4096
#define FXB_REPS 5              /* best of: other processes on the machine */

static double
fxb_cpu_now (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The natural-range middle of each effect (the chain's typical draw). */
static void
fxb_params (MusaFxType t, MusaFxParams * p)
{
  memset (p, 0, sizeof *p);
  p->type = t;
  switch (t) {
    case MUSA_FX_GAIN:
      p->p.gain.db = -3.0;
      break;
    case MUSA_FX_EQ:
      p->p.eq.shape = MUSA_EQ_PEAK;
      p->p.eq.freq_hz = 1000.0;
      p->p.eq.gain_db = 4.0;
      p->p.eq.q = 1.0;
      break;
    case MUSA_FX_COMPRESSOR:
      p->p.compressor.threshold_db = -20.0;
      p->p.compressor.ratio = 3.0;
      p->p.compressor.knee_db = 6.0;
      p->p.compressor.attack_ms = 10.0;
      p->p.compressor.release_ms = 150.0;
      p->p.compressor.makeup_db = 3.0;
      break;
    case MUSA_FX_LIMITER:
      p->p.limiter.ceiling_db = -1.0;
      p->p.limiter.lookahead_ms = 3.0;
      p->p.limiter.release_ms = 100.0;
      break;
    case MUSA_FX_DISTORTION:
      p->p.distortion.mode = MUSA_DIST_TANH;
      p->p.distortion.drive_db = 12.0;
      p->p.distortion.mix = 0.3;
      p->p.distortion.bits = 8;
      break;
    case MUSA_FX_REVERB:
      p->p.reverb.room_size = 0.5;
      p->p.reverb.damping = 0.45;
      p->p.reverb.wet = 0.2;
      p->p.reverb.predelay_ms = 20.0;
      break;
    case MUSA_FX_ECHO:
      p->p.echo.delay_ms = 250.0;
      p->p.echo.feedback = 0.3;
      p->p.echo.mix = 0.2;
      break;
    case MUSA_FX_CHORUS:
      p->p.chorus.rate_hz = 1.0;
      p->p.chorus.depth_ms = 3.0;
      p->p.chorus.delay_ms = 12.0;
      p->p.chorus.mix = 0.35;
      break;
    case MUSA_FX_NOISE:
      p->p.noise.colour = MUSA_NOISE_PINK;
      p->p.noise.snr_db = 35.0;
      p->p.noise.seed = 1;
      break;
    default:
      break;
  }
}

/* CPU seconds to run @n_fx effects in series over @x (copied from @src),
 * chunk by chunk. */
static double
fxb_time (MusaFx ** fx, int n_fx, const float *src, float *x, size_t frames)
{
  double t0;
  size_t done;
  int k;

  memcpy (x, src, frames * FXB_CHANNELS * sizeof (float));
  t0 = fxb_cpu_now ();
  for (done = 0; done < frames; done += FXB_CHUNK) {
    size_t len = frames - done < FXB_CHUNK ? frames - done : FXB_CHUNK;
    for (k = 0; k < n_fx; k++)
      musa_fx_process (fx[k], x + done * FXB_CHANNELS, len);
  }
  return fxb_cpu_now () - t0;
}

/* ORC kernels leave flush-to-zero / denormals-are-zero set in the thread
 * (x86 MXCSR); clear them to time the effects' own denormal handling. */
static void
fxb_hardware_denormals_on (void)
{
#if defined(__SSE__) || defined(__x86_64__)
  _mm_setcsr (_mm_getcsr () & ~0x8040u);
#endif
}

static void
fxb_row (const char *name, double audio_s, double cpu_s)
{
  printf ("  %-26s %9.1fx realtime  %8.2f ns/frame\n", name, audio_s / cpu_s,
      cpu_s * 1e9 / (audio_s * FXB_RATE));
}

void
musa_bench_fx (double seconds_of_audio)
{
  size_t frames = (size_t) (seconds_of_audio * FXB_RATE), i;
  float *mono = malloc (frames * sizeof (float));
  float *src = malloc (frames * FXB_CHANNELS * sizeof (float));
  float *x = malloc (frames * FXB_CHANNELS * sizeof (float));
  MusaFx *fx[MUSA_FX_N_TYPES + 2];
  MusaSynthConfig cfg;
  MusaRng rng;
  double t0, t, best;
  int k, rep;
  /* the chain in a mastering-like order, limiter last */
  static const MusaFxType order[MUSA_FX_N_TYPES] = {
    MUSA_FX_GAIN, MUSA_FX_EQ, MUSA_FX_COMPRESSOR, MUSA_FX_DISTORTION,
    MUSA_FX_CHORUS, MUSA_FX_ECHO, MUSA_FX_REVERB, MUSA_FX_NOISE,
    MUSA_FX_LIMITER
  };

  if (!mono || !src || !x || frames == 0) {
    fprintf (stderr, "fx bench: out of memory\n");
    goto done;
  }
  musa_synth_config_default (&cfg);
  musa_synth_music (&cfg, mono, frames, NULL);
  musa_rng_init (&rng, 7);
  for (i = 0; i < frames; i++) {
    double n = 0.01 * musa_rng_normal (&rng);
    src[2 * i] = (float) (mono[i] + n);
    src[2 * i + 1] = (float) (0.8 * mono[i] - n);
  }

  printf ("musa fx: %.0f s of stereo %d Hz music, %d-frame chunks, one "
      "core (CPU time; best of %d)\n", seconds_of_audio, FXB_RATE, FXB_CHUNK,
      FXB_REPS);

  /* baselines */
  best = 1e30;
  for (rep = 0; rep < FXB_REPS; rep++) {
    t0 = fxb_cpu_now ();
    memcpy (x, src, frames * FXB_CHANNELS * sizeof (float));
    t = fxb_cpu_now () - t0;
    best = t < best ? t : best;
  }
  fxb_row ("baseline: memcpy", seconds_of_audio, best);
  best = 1e30;
  for (rep = 0; rep < FXB_REPS; rep++) {
    volatile float g = 0.7f;
    float gg = g;
    memcpy (x, src, frames * FXB_CHANNELS * sizeof (float));
    t0 = fxb_cpu_now ();
    for (i = 0; i < frames * FXB_CHANNELS; i++)
      x[i] *= gg;
    t = fxb_cpu_now () - t0;
    best = t < best ? t : best;
  }
  fxb_row ("baseline: C gain loop", seconds_of_audio, best);

  for (k = 0; k < MUSA_FX_N_TYPES; k++) {
    MusaFxParams p;
    MusaError err;
    char label[64];
    int variant, n_var = k == MUSA_FX_DISTORTION ? 3 : k == MUSA_FX_NOISE
        || k == MUSA_FX_EQ ? 2 : 1;
    for (variant = 0; variant < n_var; variant++) {
      fxb_params (k, &p);
      if (k == MUSA_FX_DISTORTION)
        p.p.distortion.mode = variant;
      if (k == MUSA_FX_NOISE)
        p.p.noise.colour = variant;
      if (k == MUSA_FX_EQ && variant == 1) {
        p.p.eq.shape = MUSA_EQ_HIGH_PASS;
        p.p.eq.freq_hz = 80.0;
        p.p.eq.q = 0.707;
      }
      fx[0] = musa_fx_new (&p, FXB_RATE, FXB_CHANNELS, &err);
      if (!fx[0]) {
        fprintf (stderr, "fx bench: %s\n", err.message);
        continue;
      }
      best = 1e30;
      for (rep = 0; rep < FXB_REPS; rep++) {
        musa_fx_reset (fx[0]);
        t = fxb_time (fx, 1, src, x, frames);
        best = t < best ? t : best;
      }
      if (n_var > 1)
        snprintf (label, sizeof label, "%s (%s)", musa_fx_type_name (k),
            k == MUSA_FX_DISTORTION ? (variant == 0 ? "tanh" : variant == 1 ?
                "clip" : "bitcrush") : k == MUSA_FX_NOISE ? (variant ?
                "pink" : "white") : (variant ? "high-pass" : "peak"));
      else
        snprintf (label, sizeof label, "%s", musa_fx_type_name (k));
      fxb_row (label, seconds_of_audio, best);
      musa_fx_free (fx[0]);
    }
  }

  for (k = 0; k < MUSA_FX_N_TYPES; k++) {
    MusaFxParams p;
    fxb_params (order[k], &p);
    fx[k] = musa_fx_new (&p, FXB_RATE, FXB_CHANNELS, NULL);
    if (!fx[k]) {
      fprintf (stderr, "fx bench: cannot create %s\n",
          musa_fx_type_name (order[k]));
      while (k-- > 0)
        musa_fx_free (fx[k]);
      goto done;
    }
  }
  best = 1e30;
  for (rep = 0; rep < FXB_REPS; rep++) {
    for (k = 0; k < MUSA_FX_N_TYPES; k++)
      musa_fx_reset (fx[k]);
    t = fxb_time (fx, MUSA_FX_N_TYPES, src, x, frames);
    best = t < best ? t : best;
  }
  fxb_row ("chain of all 9 effects", seconds_of_audio, best);
  printf ("  (target: chain >= 300x realtime)\n");
  /* denormal check: the effects with state (no ORC inside, so the
   * hardware flush stays off) on silence right after the signal, against
   * the same effects on the signal */
  {
    static const MusaFxType st[] = { MUSA_FX_EQ, MUSA_FX_COMPRESSOR,
      MUSA_FX_LIMITER, MUSA_FX_REVERB, MUSA_FX_ECHO, MUSA_FX_CHORUS,
      MUSA_FX_NOISE
    };
    const int n_st = (int) (sizeof st / sizeof st[0]);
    float *sil = calloc (frames * FXB_CHANNELS, sizeof (float));
    MusaFx *sfx[8];
    double best_sig = 1e30, best_sil = 1e30;
    int ok = sil != NULL;
    for (k = 0; k < n_st; k++) {
      MusaFxParams p;
      fxb_params (st[k], &p);
      sfx[k] = ok ? musa_fx_new (&p, FXB_RATE, FXB_CHANNELS, NULL) : NULL;
      ok = ok && sfx[k] != NULL;
    }
    for (rep = 0; ok && rep < FXB_REPS; rep++) {
      for (k = 0; k < n_st; k++)
        musa_fx_reset (sfx[k]);
      fxb_hardware_denormals_on ();
      t = fxb_time (sfx, n_st, src, x, frames);
      best_sig = t < best_sig ? t : best_sig;
      fxb_hardware_denormals_on ();
      t = fxb_time (sfx, n_st, sil, x, frames);
      best_sil = t < best_sil ? t : best_sil;
    }
    if (ok) {
      fxb_row ("stateful 7, signal (no FTZ)", seconds_of_audio, best_sig);
      fxb_row ("stateful 7, silence after", seconds_of_audio, best_sil);
    }
    for (k = 0; k < n_st; k++)
      if (sfx[k])
        musa_fx_free (sfx[k]);
    free (sil);
  }
  for (k = 0; k < MUSA_FX_N_TYPES; k++)
    musa_fx_free (fx[k]);

done:
  free (mono);
  free (src);
  free (x);
}

#ifdef MUSA_FX_BENCH_MAIN
int
main (int argc, char **argv)
{
  musa_bench_fx (argc > 1 ? atof (argv[1]) : 60.0);
  return 0;
}
#endif
