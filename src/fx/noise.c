/* libmusa — effects: white or pink noise at a signal-to-noise ratio.
 *
 * The signal's mean square (over all channels) is tracked causally: a
 * running mean over the first second, then an exponential average with a
 * 1 s time constant; the level used is that average held at its peaks and
 * released with a 10 s time constant, so the noise floor stays put through
 * quiet passages and fade-outs (a recording's hiss does not follow the
 * music; a 1 s follower made it breathe like a noise gate, and put no
 * noise after a song's end). Noise of that power / 10^(snr/10) is added to
 * each channel, independently per channel. Draws are SplitMix64 outputs
 * (the mix64 finaliser of key + d * golden ratio; key from core/rng.h's
 * musa_rng_key (seed)), inlined here: sample i = n * channels + c (frame n,
 * channel c) uses half i % 2 of draw number d = i / 2, so the output does
 * not depend on buffer sizes. White: the sum of the four bytes of that 32-bit half, centred and
 * scaled to unit variance (Irwin-Hall of 4: near Gaussian, bounded at
 * +-3.46 sigma). Pink: white through first-order pole/zero pairs (poles
 * 2 octaves apart from 20 Hz, zeros an octave above each pole: -3
 * dB/octave), run as the equivalent parallel sum of one-pole filters
 * (partial fractions: independent recursions, no long serial chain), scaled
 * to unit power from its impulse response. */
#include "fx/fx-private.h"

#include "core/rng.h"

#define MAX_SECTIONS 8          /* written out in noise_process */
#define HOLD_SECONDS 10.0       /* release time constant of the held level */

typedef struct
{
  uint64_t key;
  uint64_t n;                   /* frames done */
  double ms;                    /* tracked mean square */
  double held;                  /* ms held at its peaks, slow release */
  double release;               /* held's factor per frame */
  uint64_t win;                 /* window (frames) */
  double k_amp;                 /* 10^(-snr/20) */
  int pink, n_sec;
  /* pink = direct * w + sum_k b_k, b_k = pole_k b_k + res_k w (unused
   * sections have pole = res = 0); gains include the normalisation */
  float pole[MAX_SECTIONS], res[MAX_SECTIONS], direct;
  float b[8][MAX_SECTIONS];     /* per channel state */
} Noise;

/* 1 / sqrt (4 (256^2 - 1) / 12) */
#define WHITE_NORM 0.0067658739f

static inline float
white_half (uint32_t h)
{
  int32_t v = (int32_t) (h & 0xff) + (int32_t) ((h >> 8) & 0xff)
      + (int32_t) ((h >> 16) & 0xff) + (int32_t) (h >> 24) - 510;

  /* centre 4 * 127.5 = 510 */
  return (float) v *WHITE_NORM;
}

#define GOLDEN 0x9e3779b97f4a7c15ULL

/* draw number d of the stream keyed by key (SplitMix64) */
static inline uint64_t
draw (uint64_t key, uint64_t d)
{
  uint64_t z = key + d * GOLDEN;

  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* w[j] = white value of sample index first + j, j < n */
static void
white_fill (uint64_t key, uint64_t first, float *w, size_t n)
{
  uint64_t d = first >> 1;
  size_t j = 0;

  if (n > 0 && (first & 1)) {
    w[j++] = white_half ((uint32_t) (draw (key, d++) >> 32));
  }
  for (; j + 1 < n; j += 2) {
    uint64_t u = draw (key, d++);
    w[j] = white_half ((uint32_t) u);
    w[j + 1] = white_half ((uint32_t) (u >> 32));
  }
  if (j < n)
    w[j] = white_half ((uint32_t) draw (key, d));
}

static int
noise_init (MusaFx * fx, MusaError * err)
{
  Noise *s = calloc (1, sizeof (Noise));
  const MusaFxParams *p = &fx->p;

  if (s == NULL)
    return musa_error_set (err, MUSA_ERR_NOMEM, "", "out of memory");
  fx->priv = s;
  s->key = musa_rng_key (p->p.noise.seed, 0x6e6f697365ULL, 0);
  s->win = (uint64_t) fx->rate;
  s->release = exp (-1.0 / (HOLD_SECONDS * fx->rate));
  s->k_amp = pow (10.0, -p->p.noise.snr_db / 20.0);
  s->pink = p->p.noise.colour == MUSA_NOISE_PINK;
  if (s->pink) {
    double pole[MAX_SECTIONS], zero[MAX_SECTIONS], res[MAX_SECTIONS],
        b[MAX_SECTIONS] = { 0 }, fp = 20.0, direct = 1.0, energy = 0.0;
    long n, len;
    int k, j, m = 0;
    /* pole/zero pairs up to 0.45 rate (at most 8: 20 Hz * 4^7 = 328 kHz) */
    for (k = 0; k < MAX_SECTIONS && fp < 0.45 * fx->rate; k++, fp *= 4.0) {
      pole[m] = exp (-2.0 * M_PI * fp / fx->rate);
      zero[m] = exp (-2.0 * M_PI * 2.0 * fp / fx->rate);
      m++;
    }
    /* prod (1 - z_j q) / prod (1 - p_j q) = D + sum_k r_k / (1 - p_k q),
     * D = prod z_j / p_j, r_k = prod_j (1 - z_j / p_k) /
     * prod_(j != k) (1 - p_j / p_k) */
    for (k = 0; k < m; k++) {
      double num = 1.0, den = 1.0;
      direct *= zero[k] / pole[k];
      for (j = 0; j < m; j++) {
        num *= 1.0 - zero[j] / pole[k];
        if (j != k)
          den *= 1.0 - pole[j] / pole[k];
      }
      res[k] = num / den;
    }
    /* unit power from the impulse response (in double, until the slowest
     * pole has decayed by 1e-9 in amplitude) */
    len = (long) ceil (log (1e-9) / log (pole[0])) + 16;
    for (n = 0; n < len; n++) {
      double w = n == 0 ? 1.0 : 0.0, y = direct * w;
      for (k = 0; k < m; k++) {
        b[k] = pole[k] * b[k] + res[k] * w;
        y += b[k];
      }
      energy += y * y;
    }
    energy = 1.0 / sqrt (energy);
    s->direct = (float) (direct * energy);
    for (k = 0; k < m; k++) {
      s->pole[k] = (float) pole[k];
      s->res[k] = (float) (res[k] * energy);
    }
    s->n_sec = m;               /* 4 (8 kHz) .. 7 (192 kHz) */
  }
  return MUSA_OK;
}

#define BLOCK 256

/* the level held at its peaks: released by @rel per frame, raised to @ms */
#define HOLD(held, rel, ms) ((held) * (rel) > (ms) ? (held) * (rel) : (ms))

/* Per block: the level (mean square per frame, then the sequential running
 * average), the white draws, the pink filters channel by channel with
 * their state in registers, then the mix. */
static void
noise_process (MusaFx * fx, float *x, size_t frames)
{
  Noise *s = fx->priv;
  const int nc = fx->channels;
  const double alpha = 1.0 / (double) s->win, keep = 1.0 - alpha;
  const float inv_nc = 1.0f / (float) nc, k_amp = (float) s->k_amp;
  float amp[BLOCK], w[BLOCK * 8];
  size_t done;

  for (done = 0; done < frames; done += BLOCK) {
    size_t len = frames - done < BLOCK ? frames - done : BLOCK, f;
    float *y = x + done * nc;
    uint64_t base = s->n * (uint64_t) nc;
    double ms = s->ms, held = s->held;
    const double rel = s->release;
    int c, k;

    /* amp[] holds the frames' mean squares first */
    if (nc == 2) {
      for (f = 0; f < len; f++)
        amp[f] = (y[2 * f] * y[2 * f] + y[2 * f + 1] * y[2 * f + 1]) * 0.5f;
    } else {
      for (f = 0; f < len; f++) {
        float p = 0.0f;
        for (c = 0; c < nc; c++)
          p += y[f * nc + c] * y[f * nc + c];
        amp[f] = p * inv_nc;
      }
    }
    /* running mean during the first window, then the exponential one */
    for (f = 0; f < len && s->n + f < s->win; f++) {
      ms += (amp[f] - ms) / (double) (s->n + f + 1);
      held = ms;                /* an average of all so far: not held */
      amp[f] = (float) held;
    }
    if (nc == 2) {
      /* stereo: draw n + f serves frame n + f; drawn in the loop of the
       * (latency-bound) recursion so that the two overlap */
      const uint64_t key = s->key, n0 = s->n;
      size_t g;
      for (g = 0; g < f; g++) {
        uint64_t u = draw (key, n0 + g);
        w[2 * g] = white_half ((uint32_t) u);
        w[2 * g + 1] = white_half ((uint32_t) (u >> 32));
      }
      for (; f < len; f++) {
        uint64_t u = draw (key, n0 + f);
        w[2 * f] = white_half ((uint32_t) u);
        w[2 * f + 1] = white_half ((uint32_t) (u >> 32));
        ms = ms * keep + alpha * amp[f];
        held = HOLD (held, rel, ms);
        if (((n0 + f) & 63) == 0) {
          ms = ms < MUSA_FX_FLUSH_D ? 0.0 : ms;
          held = held < MUSA_FX_FLUSH_D ? 0.0 : held;
        }
        amp[f] = (float) held;
      }
    } else {
      for (; f < len; f++) {
        /* ms (1 - alpha) + alpha p: a two-operation recursion; flushed
         * every 64 frames of the stream (it cannot reach denormals
         * sooner) */
        ms = ms * keep + alpha * amp[f];
        held = HOLD (held, rel, ms);
        if (((s->n + f) & 63) == 0) {
          ms = ms < MUSA_FX_FLUSH_D ? 0.0 : ms; /* ms >= 0 */
          held = held < MUSA_FX_FLUSH_D ? 0.0 : held;
        }
        amp[f] = (float) held;
      }
      white_fill (s->key, base, w, len * nc);
    }
    s->ms = ms;
    s->held = held;
    s->n += len;
    for (f = 0; f < len; f++)
      amp[f] = sqrtf (amp[f]) * k_amp;

    if (s->pink) {
      const float dg = s->direct;
      const int ns = s->n_sec;
      /* stereo: both channels in one loop (two independent recursions
       * overlap; the same operations per channel as below) */
      for (c = 0; nc == 2 && c < 1; c++) {
        float b0[MAX_SECTIONS], b1[MAX_SECTIONS], pl[MAX_SECTIONS],
            rs[MAX_SECTIONS];
        for (k = 0; k < MAX_SECTIONS; k++) {
          b0[k] = s->b[0][k];
          b1[k] = s->b[1][k];
          pl[k] = s->pole[k];
          rs[k] = s->res[k];
        }
        for (f = 0; f < len; f++) {
          float v0 = w[2 * f], v1 = w[2 * f + 1], o0 = dg * v0, o1 = dg * v1;
#define SECTION(k) do { b0[k] = pl[k] * b0[k] + rs[k] * v0; o0 += b0[k]; \
            b1[k] = pl[k] * b1[k] + rs[k] * v1; o1 += b1[k]; } while (0)
          switch (ns) {
            case 8:
              SECTION (7);
              /* fall through */
            case 7:
              SECTION (6);
              /* fall through */
            case 6:
              SECTION (5);
              /* fall through */
            case 5:
              SECTION (4);
              /* fall through */
            default:
              SECTION (3);
              SECTION (2);
              SECTION (1);
              SECTION (0);
          }
#undef SECTION
          w[2 * f] = o0;
          w[2 * f + 1] = o1;
        }
        for (k = 0; k < MAX_SECTIONS; k++) {
          s->b[0][k] = b0[k];
          s->b[1][k] = b1[k];
        }
      }
      for (c = nc == 2 ? 2 : 0; c < nc; c++) {
        float b[MAX_SECTIONS], pl[MAX_SECTIONS], rs[MAX_SECTIONS];
        for (k = 0; k < MAX_SECTIONS; k++) {
          b[k] = s->b[c][k];
          pl[k] = s->pole[k];
          rs[k] = s->res[k];
        }
        for (f = 0; f < len; f++) {
          float v = w[f * nc + c], o = dg * v;
          /* written out so that the state stays in registers; only the
           * sections in use (4 at 8 kHz, 5 at 44.1 kHz, 7 at 192 kHz) */
#define SECTION(k) do { b[k] = pl[k] * b[k] + rs[k] * v; o += b[k]; } while (0)
          switch (ns) {
            case 8:
              SECTION (7);
              /* fall through */
            case 7:
              SECTION (6);
              /* fall through */
            case 6:
              SECTION (5);
              /* fall through */
            case 5:
              SECTION (4);
              /* fall through */
            default:
              SECTION (3);
              SECTION (2);
              SECTION (1);
              SECTION (0);
          }
#undef SECTION
          w[f * nc + c] = o;
        }
        for (k = 0; k < MAX_SECTIONS; k++)
          s->b[c][k] = b[k];    /* driven by noise: never decays */
      }
    }

    if (nc == 2) {
      for (f = 0; f < len; f++) {
        y[2 * f] += amp[f] * w[2 * f];
        y[2 * f + 1] += amp[f] * w[2 * f + 1];
      }
    } else {
      for (f = 0; f < len; f++)
        for (c = 0; c < nc; c++)
          y[f * nc + c] += amp[f] * w[f * nc + c];
    }
  }
}

static void
noise_reset (MusaFx * fx)
{
  Noise *s = fx->priv;

  s->n = 0;
  s->ms = 0.0;
  s->held = 0.0;
  memset (s->b, 0, sizeof s->b);
}

static void
noise_clear (MusaFx * fx)
{
  free (fx->priv);
  fx->priv = NULL;
}

const MusaFxClass musa_fx_noise_class = {
  noise_init, noise_process, noise_reset, noise_clear
};
