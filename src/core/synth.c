/* libmusa — test and demo signals. */
#include "core/synth.h"

#include <math.h>
#include <string.h>

#include "core/rng.h"

void
musa_synth_config_default (MusaSynthConfig * cfg)
{
  if (cfg == NULL)
    return;
  memset (cfg, 0, sizeof (*cfg));
  cfg->sample_rate = 44100;
  cfg->bpm = 120.0;
  cfg->tonic = 9;
  cfg->minor = 1;
  cfg->seed = 1;
  cfg->drums = cfg->bass = cfg->chords = 1;
}

static double
midi_hz (double note, double cents)
{
  return 440.0 * pow (2.0, (note - 69.0 + cents / 100.0) / 12.0);
}

/* a decaying harmonic tone added to out[start..start+len) */
static void
add_tone (float *out, size_t n, size_t start, size_t len, int rate,
    double hz, double amp, int partials, double decay_s)
{
  size_t i;
  int k;

  for (i = 0; i < len && start + i < n; i++) {
    double t = (double) i / rate, v = 0.0;
    double env = exp (-t / decay_s) * fmin (1.0, t / 0.005);
    /* 10 ms release at the end so the note does not click */
    double rel = (double) (len - i) / rate;
    if (rel < 0.01)
      env *= rel / 0.01;
    for (k = 1; k <= partials; k++) {
      if (hz * k >= rate / 2.0)
        break;
      v += sin (2.0 * M_PI * hz * k * t) / k;
    }
    out[start + i] += (float) (amp * env * v);
  }
}

int
musa_synth_music (const MusaSynthConfig * cfg, float *out, size_t n,
    MusaError * err)
{
  /* scale degrees of i/I, iv/IV, V, i/I; V is major in both modes */
  static const int roots[4] = { 0, 5, 7, 0 };
  int rate;
  double beat_s, peak = 0.0;
  size_t beat_len, i;
  long beat;
  MusaRng rng;

  if (cfg == NULL || out == NULL)
    return musa_error_set (err, MUSA_ERR_INVALID, NULL,
        "no configuration or no output");
  rate = cfg->sample_rate;
  if (rate < 1000 || !(cfg->bpm >= 20.0 && cfg->bpm <= 400.0)
      || cfg->tonic < 0 || cfg->tonic > 11)
    return musa_error_set (err, MUSA_ERR_INVALID, NULL,
        "synth needs rate >= 1000, bpm in 20..400 and tonic in 0..11");
  memset (out, 0, sizeof (float) * n);
  beat_s = 60.0 / cfg->bpm;
  beat_len = (size_t) llround (beat_s * rate);
  musa_rng_init (&rng, musa_rng_key (cfg->seed, 0x5eed, 0));

  for (beat = 0; (size_t) llround (beat * beat_s * rate) < n; beat++) {
    size_t start = (size_t) llround (beat * beat_s * rate);
    int bar = (int) (beat / 4) % 4, in_bar = (int) (beat % 4);
    int root = cfg->tonic + roots[bar];
    int third = (bar == 2 || !cfg->minor) ? 4 : 3;

    if (cfg->drums) {
      size_t len = (size_t) (0.25 * rate);
      if (in_bar == 0 || in_bar == 2) {
        /* kick: a pitch-swept sine */
        for (i = 0; i < len && start + i < n; i++) {
          double t = (double) i / rate;
          double f = 50.0 + 60.0 * exp (-t / 0.03);
          out[start + i] += (float) (0.6 * exp (-t / 0.08) *
              sin (2.0 * M_PI * f * t));
        }
      } else {
        /* snare: noise and a 180 Hz body */
        for (i = 0; i < len && start + i < n; i++) {
          double t = (double) i / rate;
          out[start + i] += (float) (exp (-t / 0.05) *
              (0.25 * musa_rng_normal (&rng) +
                  0.3 * sin (2.0 * M_PI * 180.0 * t)));
        }
      }
      /* hi-hat on both eighths: differentiated noise */
      for (int h = 0; h < 2; h++) {
        size_t hs = start + h * beat_len / 2;
        double prev = 0.0;
        for (i = 0; i < (size_t) (0.04 * rate) && hs + i < n; i++) {
          double t = (double) i / rate, w = musa_rng_normal (&rng);
          out[hs + i] += (float) (0.12 * exp (-t / 0.01) * (w - prev));
          prev = w;
        }
      }
    }
    if (cfg->bass)
      add_tone (out, n, start, beat_len, rate,
          midi_hz (36 + (root % 12), cfg->tuning_cents), 0.35, 3, 0.4);
    if (cfg->chords && in_bar == 0) {
      int notes[3] = { root, root + third, root + 7 };
      for (int c = 0; c < 3; c++)
        add_tone (out, n, start, 4 * beat_len, rate,
            midi_hz (60 + (notes[c] % 12), cfg->tuning_cents), 0.12, 6, 2.5);
    }
  }
  for (i = 0; i < n; i++)
    peak = fmax (peak, fabs (out[i]));
  if (peak > 0.89)
    for (i = 0; i < n; i++)
      out[i] = (float) (out[i] * 0.89 / peak);
  return MUSA_OK;
}

void
musa_synth_clicks (float *out, size_t n, int sample_rate, double bpm,
    size_t offset)
{
  double period;
  size_t len, i;
  long k;

  if (out == NULL)
    return;
  memset (out, 0, sizeof (float) * n);
  if (sample_rate < 1 || !(bpm > 0.0 && bpm < 1e6))
    return;
  period = 60.0 * sample_rate / bpm;
  len = (size_t) (0.001 * sample_rate) + 1;
  for (k = 0;; k++) {
    size_t start = offset + (size_t) llround (k * period);
    if (start >= n)
      break;
    for (i = 0; i < len && start + i < n; i++)
      out[start + i] = (float) (0.8 * exp (-(double) i / (0.25 * len)) *
          cos (2.0 * M_PI * 1000.0 * i / sample_rate));
  }
}
