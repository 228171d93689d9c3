/* libmusa — chord-change function (see chordchange.h). */
#include "onset/chordchange.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/audio.h"
#include "core/stft.h"
#include "onset/history.h"

#define CC_W 4                  /* frames summed on each side */
#define CC_FMIN 55.0
#define CC_FMAX 2000.0
#define CC_STAGES 4             /* halvings of the rate at most (192 kHz) */
#define CC_BLOCK 1024           /* decimated samples per STFT call */
#define CC_HIST_START 256       /* frames the history starts with */

struct MusaChordChange
{
  /* the chroma needs nothing above 2 kHz: the input is halved in rate
   * (filter 1/4, 1/2, 1/4: -34 dB at 0.9 of the Nyquist frequency, whose
   * alias lands in 55 Hz - 2 kHz) while the rate stays >= 16 kHz */
  int stages;
  float z1[CC_STAGES], z2[CC_STAGES];
  int odd[CC_STAGES];
  float block[CC_BLOCK];        /* decimated samples */
  MusaStft *stft;
  int n_bins, k_lo, k_hi;
  double fps;
  signed char *pc;              /* pitch class of bins k_lo..k_hi */
  float *power;
  float ring[2 * CC_W][12];     /* chroma of the last 2W frames */
  int64_t n_frames;             /* chroma frames seen */
  size_t hist_len, hist_cap;
  float *hist;                  /* value of frame t at hist[t % hist_len];
                                 * hist_cap frames, doubled as the stream
                                 * goes up to hist_len */
  double history;
  int finished;                 /* finish called since the last reset */
};

MusaChordChange *
musa_chord_change_new (int sample_rate, double history, MusaError * err)
{
  MusaChordChange *cc;
  MusaStftConfig sc;
  int n_fft, k;
  double df, fmax, rate;

  if (sample_rate < 8000 || sample_rate > 192000)
    return musa_error_set (err, MUSA_ERR_INVALID, "rate",
        "sample rate must be in 8000..192000 Hz, got %d", sample_rate), NULL;
  if (!(history >= 1.0 && history <= 86400.0))
    return musa_error_set (err, MUSA_ERR_INVALID, "history",
        "history must be in 1..86400 s, got %g", history), NULL;
  cc = calloc (1, sizeof (*cc));
  if (cc == NULL)
    return musa_error_set (err, MUSA_ERR_NOMEM, NULL, "out of memory"), NULL;
  rate = sample_rate;
  while (cc->stages < CC_STAGES && rate / 2.0 >= 16000.0) {
    rate /= 2.0;
    cc->stages++;
  }
  n_fft = musa_nearest_pow2 (0.093 * rate, 16, 1 << 20);
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
  cc->fps = rate / sc.hop;
  df = rate / n_fft;
  fmax = CC_FMAX < 0.45 * rate ? CC_FMAX : 0.45 * rate;
  cc->k_lo = (int) ceil (CC_FMIN / df);
  cc->k_hi = (int) floor (fmax / df);
  cc->pc = malloc ((size_t) (cc->k_hi - cc->k_lo + 1));
  cc->power = malloc (sizeof (float) * (size_t) cc->n_bins);
  cc->history = history;
  cc->hist_len = (size_t) ceil (history * cc->fps) + 1;
  cc->hist_cap = cc->hist_len < CC_HIST_START ? cc->hist_len : CC_HIST_START;
  cc->hist = calloc (cc->hist_cap, sizeof (float));
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
  if (cc == NULL)
    return;
  musa_stft_reset (cc->stft);
  memset (cc->z1, 0, sizeof (cc->z1));
  memset (cc->z2, 0, sizeof (cc->z2));
  memset (cc->odd, 0, sizeof (cc->odd));
  memset (cc->ring, 0, sizeof (cc->ring));
  cc->n_frames = 0;
  cc->finished = 0;
  /* back to the starting size */
  cc->hist_len = (size_t) ceil (cc->history * cc->fps) + 1;
  if (cc->hist_cap > CC_HIST_START) {
    float *p = realloc (cc->hist, sizeof (float) * CC_HIST_START);
    if (p != NULL) {
      cc->hist = p;
      cc->hist_cap = CC_HIST_START;
    }
  }
}

/* The history slot of frame @t (t < n_frames, taken in order): the
 * history doubles (up to hist_len) to hold it. Out of memory, it stays at
 * what it holds (a ring of hist_cap frames). */
static float *
hist_slot (MusaChordChange * cc, int64_t t)
{
  while ((size_t) t >= cc->hist_cap && cc->hist_cap < cc->hist_len)
    if (!musa_history_grow (&cc->hist, &cc->hist_cap, cc->hist_len)) {
      cc->hist_len = cc->hist_cap;
      break;
    }
  return &cc->hist[(size_t) (t % (int64_t) cc->hist_len)];
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
chord_frame (void *user, int64_t index, const float *spectrum,
    const float *frame)
{
  MusaChordChange *cc = user;
  float *c = cc->ring[cc->n_frames % (2 * CC_W)];
  int64_t t;
  int k, p;

  (void) index;
  (void) frame;
  musa_power_spectrum (spectrum + 2 * cc->k_lo, cc->power,
      cc->k_hi - cc->k_lo + 1, 2.0f);
  memset (c, 0, sizeof (float) * 12);
  for (k = 0; k <= cc->k_hi - cc->k_lo; k++)
    c[(int) cc->pc[k]] += cc->power[k];
  for (p = 0; p < 12; p++)
    c[p] = sqrtf (c[p]);
  cc->n_frames++;
  /* frame t now has its W frames after it; the first W frames have no W
   * before them */
  t = cc->n_frames - CC_W;
  if (t >= 0)
    *hist_slot (cc, t) = t >= CC_W ? distance (cc) : 0.0f;
}

/* Halve the rate of @x[0..n) into @out (may be @x) with the state of
 * stage @s; returns the number of samples written. */
static size_t
halve (MusaChordChange * cc, int s, const float *x, size_t n, float *out)
{
  float z1 = cc->z1[s], z2 = cc->z2[s];
  size_t i = 0, m = 0;

  /* y = x[2j-1]/4 + x[2j]/2 + x[2j+1]/4 at every odd input sample; z1, z2
   * the last two inputs. Reads run ahead of writes, so @out may be @x. */
  if (cc->odd[s] && n > 0) {
    out[m++] = 0.25f * (z2 + x[0]) + 0.5f * z1;
    z2 = z1;
    z1 = x[0];
    i = 1;
  }
  for (; i + 1 < n; i += 2) {
    float a = x[i], b = x[i + 1];
    out[m++] = 0.25f * (z1 + b) + 0.5f * a;
    z2 = a;
    z1 = b;
  }
  cc->odd[s] = i < n;
  if (i < n) {
    z2 = z1;
    z1 = x[i];
  }
  cc->z1[s] = z1;
  cc->z2[s] = z2;
  return m;
}

int
musa_chord_change_process (MusaChordChange * cc, const float *x, size_t n)
{
  if (cc == NULL || (x == NULL && n > 0))
    return MUSA_ERR_INVALID;
  if (cc->finished)
    return MUSA_ERR_STATE;
  while (n > 0) {
    size_t k = n < 2 * CC_BLOCK ? n : 2 * CC_BLOCK, m;
    int s;

    if (cc->stages == 0)
      return musa_stft_process (cc->stft, x, n, chord_frame, cc);
    m = halve (cc, 0, x, k, cc->block);
    for (s = 1; s < cc->stages; s++)
      m = halve (cc, s, cc->block, m, cc->block);
    musa_stft_process (cc->stft, cc->block, m, chord_frame, cc);
    x += k;
    n -= k;
  }
  return MUSA_OK;
}

int
musa_chord_change_finish (MusaChordChange * cc)
{
  int64_t t;

  if (cc == NULL)
    return MUSA_ERR_INVALID;
  if (cc->finished)
    return MUSA_OK;
  cc->finished = 1;
  musa_stft_finish (cc->stft, chord_frame, cc);
  /* the last W-1 frames have no full window after them */
  for (t = cc->n_frames - CC_W + 1; t < cc->n_frames; t++)
    if (t >= 0)
      *hist_slot (cc, t) = 0.0f;
  return MUSA_OK;
}

double
musa_chord_change_fps (const MusaChordChange * cc)
{
  return cc ? cc->fps : 0.0;
}

float
musa_chord_change_at (const MusaChordChange * cc, double time)
{
  int64_t c, m, first;
  float v = 0.0f;

  if (cc == NULL)
    return 0.0f;
  first = cc->n_frames - (int64_t) cc->hist_len + 1;

  /* outside the frames (also NaN and infinite times) before converting */
  if (!(time * cc->fps > -2.0 && time * cc->fps < (double) cc->n_frames + 2.0))
    return 0.0f;
  c = (int64_t) floor (time * cc->fps + 0.5);
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
