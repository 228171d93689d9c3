/* libmusa — chord-change function (see chordchange.h). */
#include "onset/chordchange.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/audio.h"
#include "core/stft.h"

#define CC_W 4                  /* frames summed on each side */
#define CC_FMIN 55.0
#define CC_FMAX 2000.0

struct MusaChordChange
{
  MusaStft *stft;
  int n_bins, k_lo, k_hi;
  double fps;
  signed char *pc;              /* pitch class of bins k_lo..k_hi */
  float *power;
  float ring[2 * CC_W][12];     /* chroma of the last 2W frames */
  int64_t n_frames;             /* chroma frames seen */
  size_t hist_len;
  float *hist;                  /* value of frame t at hist[t % hist_len] */
};

MusaChordChange *
musa_chord_change_new (int sample_rate, double history, MusaError * err)
{
  MusaChordChange *cc;
  MusaStftConfig sc;
  int n_fft, k;
  double df, fmax;

  if (sample_rate < 8000 || sample_rate > 192000)
    return musa_error_set (err, MUSA_ERR_INVALID, "rate",
        "sample rate must be in 8000..192000 Hz, got %d", sample_rate), NULL;
  if (!(history >= 1.0 && history <= 86400.0))
    return musa_error_set (err, MUSA_ERR_INVALID, "history",
        "history must be in 1..86400 s, got %g", history), NULL;
  cc = calloc (1, sizeof (*cc));
  if (cc == NULL)
    return musa_error_set (err, MUSA_ERR_NOMEM, NULL, "out of memory"), NULL;
  n_fft = musa_nearest_pow2 (0.093 * sample_rate, 16, 1 << 20);
  memset (&sc, 0, sizeof (sc));
  sc.n_fft = n_fft;
  sc.hop = n_fft / 2;
  sc.window = MUSA_WINDOW_HANN;
  sc.center = 1;
  cc->stft = musa_stft_new (&sc, err);
  if (cc->stft == NULL) {
    free (cc);
    return NULL;
  }
  cc->n_bins = n_fft / 2 + 1;
  cc->fps = (double) sample_rate / sc.hop;
  df = (double) sample_rate / n_fft;
  fmax = CC_FMAX < 0.45 * sample_rate ? CC_FMAX : 0.45 * sample_rate;
  cc->k_lo = (int) ceil (CC_FMIN / df);
  cc->k_hi = (int) floor (fmax / df);
  cc->pc = malloc ((size_t) (cc->k_hi - cc->k_lo + 1));
  cc->power = malloc (sizeof (float) * (size_t) cc->n_bins);
  cc->hist_len = (size_t) ceil (history * cc->fps) + 1;
  cc->hist = calloc (cc->hist_len, sizeof (float));
  if (!cc->pc || !cc->power || !cc->hist) {
    musa_chord_change_free (cc);
    return musa_error_set (err, MUSA_ERR_NOMEM, NULL, "out of memory"), NULL;
  }
  for (k = cc->k_lo; k <= cc->k_hi; k++) {
    /* semitones above A440, rounded, folded to 0..11 with C = 0 */
    long s = lround (12.0 * log2 (k * df / 440.0)) + 9;
    cc->pc[k - cc->k_lo] = (signed char) (((s % 12) + 12) % 12);
  }
  musa_chord_change_reset (cc);
  return cc;
}

void
musa_chord_change_free (MusaChordChange * cc)
{
  if (cc == NULL)
    return;
  musa_stft_free (cc->stft);
  free (cc->pc);
  free (cc->power);
  free (cc->hist);
  free (cc);
}

void
musa_chord_change_reset (MusaChordChange * cc)
{
  musa_stft_reset (cc->stft);
  memset (cc->ring, 0, sizeof (cc->ring));
  cc->n_frames = 0;
}

/* cosine distance of the summed chroma of frames t-W..t-1 and t..t+W-1,
 * t = n_frames - W (the last 2W frames are in the ring) */
static float
distance (const MusaChordChange * cc)
{
  double a[12] = { 0 }, b[12] = { 0 }, ab = 0.0, aa = 0.0, bb = 0.0;
  int64_t t = cc->n_frames - CC_W, m;
  int p;

  for (m = t - CC_W; m < t + CC_W; m++) {
    const float *c = cc->ring[m % (2 * CC_W)];
    double *s = m < t ? a : b;
    for (p = 0; p < 12; p++)
      s[p] += c[p];
  }
  for (p = 0; p < 12; p++) {
    ab += a[p] * b[p];
    aa += a[p] * a[p];
    bb += b[p] * b[p];
  }
  if (!(aa > 1e-20 && bb > 1e-20))
    return 0.0f;                /* silence on a side: no chord to change */
  ab = 1.0 - ab / sqrt (aa * bb);
  return (float) (ab > 0.0 ? ab : 0.0);
}

static void
on_frame (void *user, int64_t index, const float *spectrum, const float *frame)
{
  MusaChordChange *cc = user;
  float *c = cc->ring[cc->n_frames % (2 * CC_W)];
  int k, p;

  (void) index;
  (void) frame;
  musa_power_spectrum (spectrum, cc->power, cc->n_bins, 2.0f);
  memset (c, 0, sizeof (float) * 12);
  for (k = cc->k_lo; k <= cc->k_hi; k++)
    c[(int) cc->pc[k - cc->k_lo]] += cc->power[k];
  for (p = 0; p < 12; p++)
    c[p] = sqrtf (c[p]);
  cc->n_frames++;
  if (cc->n_frames >= 2 * CC_W) {
    int64_t t = cc->n_frames - CC_W;
    cc->hist[(size_t) (t % (int64_t) cc->hist_len)] = distance (cc);
  } else if (cc->n_frames > CC_W) {
    cc->hist[(size_t) (cc->n_frames - CC_W)] = 0.0f;
  }
  if (cc->n_frames <= CC_W)
    cc->hist[(size_t) (cc->n_frames - 1)] = 0.0f;
}

void
musa_chord_change_process (MusaChordChange * cc, const float *x, size_t n)
{
  musa_stft_process (cc->stft, x, n, on_frame, cc);
}

void
musa_chord_change_finish (MusaChordChange * cc)
{
  int64_t t;

  musa_stft_finish (cc->stft, on_frame, cc);
  /* the last W-1 frames have no full window after them */
  for (t = cc->n_frames - CC_W + 1; t < cc->n_frames; t++)
    if (t >= 0)
      cc->hist[(size_t) (t % (int64_t) cc->hist_len)] = 0.0f;
}

double
musa_chord_change_fps (const MusaChordChange * cc)
{
  return cc->fps;
}

float
musa_chord_change_at (const MusaChordChange * cc, double time)
{
  int64_t c = (int64_t) floor (time * cc->fps + 0.5), m;
  int64_t first = cc->n_frames - (int64_t) cc->hist_len + 1;
  float v = 0.0f;

  if (first < 0)
    first = 0;
  for (m = c - 1; m <= c + 1; m++) {
    if (m < first || m > cc->n_frames - CC_W)
      continue;
    if (cc->hist[(size_t) (m % (int64_t) cc->hist_len)] > v)
      v = cc->hist[(size_t) (m % (int64_t) cc->hist_len)];
  }
  return v;
}
