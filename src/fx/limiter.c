/* libmusa — effects: look-ahead peak limiter with a guaranteed ceiling.
 *
 * Detection is on true peaks: p[n] = max over channels of |x_c[n]| and of
 * the signal interpolated (8-tap Hann-windowed sinc, 4x oversampling as in
 * ITU-R BS.1770 true-peak meters) at n - 3/4, n - 1/2, n - 1/4; those need
 * 4 later samples, so the detection runs TP_DELAY = 3 frames behind the
 * input and the audio is delayed D + TP_DELAY frames.
 * With D = look-ahead frames and W = D + 1:
 *   r[n]  = min (1, ceiling / p[n])                    required gain
 *   m[n]  = min (r[n-W+1 .. n])                        sliding minimum
 *   e[n]  = m[n] if m[n] < e[n-1], else e[n-1] + (m[n] - e[n-1]) (1 - a_r)
 *   s[n]  = mean (e[n-W+1 .. n])                       moving average
 *   y[n]  = x[n-D] s[n]
 * e <= m, and every m[j] of the average covers frame n - D, so
 * s[n] <= r[n-D]: the delayed sample never exceeds the ceiling. The moving
 * average is summed exactly in 2^-30 fixed point (no drift), and a final
 * clamp at the ceiling guards the float rounding of the product. */
#include "fx/fx-private.h"

#define FIX_ONE ((int64_t) 1 << 30)
#define TP_TAPS 8
#define TP_DELAY 3              /* TP_TAPS / 2 - 1 */
#define BLOCK 64                /* a multiple of 4 */

typedef struct
{
  int D, W, DL;                 /* look-ahead, window, audio delay */
  double ceiling, alpha_r;
  float ceil_f;
  /* audio delay line: DL = D + TP_DELAY frames */
  float *delay;
  int dpos;
  /* true-peak detection: per channel the last TP_TAPS - 1 input samples
   * then a block; interpolation kernels at 1/4, 1/2, 3/4 */
  float hist[8][TP_TAPS - 1 + BLOCK + 3];
  float kern[3][TP_TAPS];
  double tp_bound;              /* largest kernel absolute sum, with margin */
  /* sliding minimum over the last W required gains (van Herk / Gil-Werman:
   * frames in blocks of W; min = min (suffix minimum of the previous block
   * from the same offset + 1, prefix minimum of the current block)) */
  double *cur;                  /* this block's r values (W) */
  double *suf;                  /* previous block's suffix minima (W + 1) */
  double pre;                   /* this block's prefix minimum */
  int j;                        /* offset in the block */
  /* release envelope and moving average */
  double env;
  int64_t *box;
  int bpos;
  int64_t sum;
} Lim;

static int
lim_init (MusaFx * fx, MusaError * err)
{
  Lim *s = calloc (1, sizeof (Lim));
  const MusaFxParams *p = &fx->p;
  long d;

  if (s == NULL)
    return musa_error_set (err, MUSA_ERR_NOMEM, "", "out of memory");
  fx->priv = s;
  d = lround (p->p.limiter.lookahead_ms * 1e-3 * fx->rate);
  s->D = d < 1 ? 1 : (int) d;
  s->W = s->D + 1;
  s->DL = s->D + TP_DELAY;
  {
    int ph, k;
    for (ph = 0; ph < 3; ph++) {
      double frac = (ph + 1) / 4.0, sum = 0.0, h[TP_TAPS];
      for (k = 0; k < TP_TAPS; k++) {
        /* tap k sits at k - (TP_TAPS / 2 - 1) - frac from the point */
        double u = k - (TP_TAPS / 2 - 1) - frac;
        double sinc = sin (M_PI * u) / (M_PI * u);
        double win = 0.5 + 0.5 * cos (M_PI * u / (TP_TAPS / 2 + 0.5));
        h[k] = sinc * win;
        sum += h[k];
      }
      for (k = 0; k < TP_TAPS; k++)
        s->kern[ph][k] = (float) (h[k] / sum);
    }
    /* no interpolated point exceeds the largest of its samples times its
     * kernel's absolute sum (the margin covers float rounding) */
    s->tp_bound = 1.0;
    for (ph = 0; ph < 3; ph++) {
      double a = 0.0;
      for (k = 0; k < TP_TAPS; k++)
        a += fabs ((double) s->kern[ph][k]);
      if (a * (1.0 + 1e-5) > s->tp_bound)
        s->tp_bound = a * (1.0 + 1e-5);
    }

  }
  s->ceiling = musa_fx_db_to_lin (p->p.limiter.ceiling_db);
  s->ceil_f = (float) s->ceiling;
  if ((double) s->ceil_f > s->ceiling)
    s->ceil_f = nextafterf (s->ceil_f, 0.0f);
  s->alpha_r = exp (-1.0 / (p->p.limiter.release_ms * 1e-3 * fx->rate));
  s->delay = calloc ((size_t) s->DL * fx->channels, sizeof (float));
  s->cur = calloc (s->W, sizeof (double));
  s->suf = calloc (s->W + 1, sizeof (double));
  s->box = calloc (s->W, sizeof (int64_t));
  if (!s->delay || !s->cur || !s->suf || !s->box)
    return musa_error_set (err, MUSA_ERR_NOMEM, "", "out of memory");
  fx->latency = s->DL;
  fx->tail = s->DL;
  return MUSA_OK;
}

static void
lim_process (MusaFx * fx, float *x, size_t frames)
{
  Lim *s = fx->priv;
  const int nc = fx->channels, DL = s->DL, W = s->W;
  const double ceiling = s->ceiling, rel = 1.0 - s->alpha_r;
  const double inv_sum = 1.0 / ((double) W * (double) FIX_ONE);
  const int64_t full = (int64_t) W * FIX_ONE;
  const float cf = s->ceil_f;
  double *cur = s->cur, *suf = s->suf;
  double pre = s->pre, env = s->env;
  int64_t sum = s->sum, *box = s->box;
  int j = s->j, bpos = s->bpos, dpos = s->dpos;
  float det[BLOCK], a0[BLOCK], a1[BLOCK], a2[BLOCK];
  size_t done = 0;
  int c;

  while (done < frames) {
    size_t L = frames - done < BLOCK ? frames - done : BLOCK, t, f, L4;
    const size_t H = TP_TAPS - 1;
    int quiet;

    /* at gain 1 (a full window), samples so far below the ceiling that
     * no interpolated point can reach it need no detection */
    quiet = 0;
    if (sum == full) {
      const float *xb = x + done * nc;
      float amax = 0.0f, m4[4] = { 0.0f, 0.0f, 0.0f, 0.0f };
      const size_t n = L * nc;
      /* four running maxima (independent chains); a NaN is skipped here,
       * as the detection's ratio skips it */
      for (t = 0; t + 4 <= n; t += 4) {
        int k;
        for (k = 0; k < 4; k++) {
          float a = fabsf (xb[t + k]);
          m4[k] = a > m4[k] ? a : m4[k];
        }
      }
      for (; t < n; t++) {
        float a = fabsf (xb[t]);
        m4[0] = a > m4[0] ? a : m4[0];
      }
      for (t = 0; t < 4; t++)
        amax = m4[t] > amax ? m4[t] : amax;
      for (c = 0; c < nc; c++)
        for (t = 0; t < H; t++) {
          float a = fabsf (s->hist[c][t]);
          amax = a > amax ? a : amax;
        }
      quiet = (double) amax *s->tp_bound <= ceiling;
    }
    if (quiet) {
      for (c = 0; c < nc; c++) {
        float *h = s->hist[c];
        for (t = 0; t < L; t++)
          h[H + t] = x[(done + t) * nc + c];
        memmove (h, h + L, H * sizeof (float));
      }
    }

    /* true-peak detection of the frames TP_DELAY back; loops run to a
     * multiple of 4 frames (vectorised; the history buffer has room) */
    L4 = (L + 3) & ~(size_t) 3;
    for (t = 0; t < L4 && !quiet; t++)
      det[t] = 0.0f;
    for (c = 0; c < nc && !quiet; c++) {
      float *h = s->hist[c];
      int k;
      for (t = 0; t < L; t++)
        h[H + t] = x[(done + t) * nc + c];
      /* the first tap initialises the sums (0 + p == p; a sign of zero
       * does not survive the fabsf below) */
      {
        const float c0 = s->kern[0][0], c1 = s->kern[1][0], c2 = s->kern[2][0];
        for (t = 0; t < L4; t++) {
          a0[t] = c0 * h[t];
          a1[t] = c1 * h[t];
          a2[t] = c2 * h[t];
        }
      }
      for (k = 1; k < TP_TAPS; k++) {
        const float c0 = s->kern[0][k], c1 = s->kern[1][k], c2 = s->kern[2][k];
        for (t = 0; t < L4; t++) {
          a0[t] += c0 * h[t + k];
          a1[t] += c1 * h[t + k];
          a2[t] += c2 * h[t + k];
        }
      }
      for (t = 0; t < L4; t++) {
        float a = fabsf (h[t + TP_DELAY + 1]);
        a = musa_fx_maxf (fabsf (a0[t]), a);
        a = musa_fx_maxf (fabsf (a1[t]), a);
        a = musa_fx_maxf (fabsf (a2[t]), a);
        det[t] = musa_fx_maxf (a, det[t]);
      }
      memmove (h, h + L, H * sizeof (float));
    }

    /* idle: a full window (every frame of it at gain 1, so every
     * required gain of the last W frames is 1) and no peak over the
     * ceiling in this block: the frames below would leave the gain at 1
     * and the state as it is, so only the delay line and the sliding
     * minimum's position move (the output is the same, bit for bit) */
    if (sum == full && !quiet) {
      float mx = 0.0f;
      for (t = 0; t < L; t++)
        mx = det[t] > mx ? det[t] : mx;
      quiet = (double) mx <= ceiling;
    }
    if (quiet) {
      /* the delay line, in runs up to its wrap */
      for (f = 0; f < L;) {
        size_t k = L - f < (size_t) (DL - dpos) ? L - f : (size_t) (DL - dpos);
        float *xf = x + (done + f) * nc;
        float *dl = s->delay + (size_t) dpos * nc;
        for (t = 0; t < k * nc; t++) {
          float y = dl[t];
          dl[t] = xf[t];
          xf[t] = y;
        }
        f += k;
        dpos += (int) k;
        if (dpos == DL)
          dpos = 0;
      }
      /* the sliding minimum's block: gains of 1 */
      for (f = 0; f < L;) {
        size_t k = L - f < (size_t) (W - j) ? L - f : (size_t) (W - j);
        for (t = 0; t < k; t++)
          cur[j + t] = 1.0;
        f += k;
        j += (int) k;
        if (j == W) {
          for (t = 0; t <= (size_t) W; t++)
            suf[t] = 1.0;
          j = 0;
        }
      }
      bpos = (int) ((bpos + L) % (size_t) W);
      done += L;
      continue;
    }

    for (f = 0; f < L; f++) {
      float *xf = x + (done + f) * nc;
      double peak = det[f], r, m, gain, up;
      float *dl = s->delay + (size_t) dpos * nc;
      int64_t q;
      float g;

      /* min (1, ceiling / peak) without a branch */
      r = ceiling / (peak > ceiling ? peak : ceiling);

      /* sliding minimum over frames n-W+1 .. n */
      pre = r < pre ? r : pre;
      cur[j] = r;
      m = suf[j + 1] < pre ? suf[j + 1] : pre;
      if (++j == W) {
        int k;
        /* block complete: its suffix minima serve the next block */
        suf[W] = 1.0;
        for (k = W - 1; k >= 0; k--)
          suf[k] = cur[k] < suf[k + 1] ? cur[k] : suf[k + 1];
        j = 0;
        pre = 1.0;
      }

      /* instant attack, exponential release; env <= m always. The release
       * ends at m once within the fixed point's step of it (in double it
       * would stop one ulp short of 1, and the gain stay 1 - 2^-24 for
       * the rest of the stream) */
      up = env + (m - env) * rel;
      up = m - up < 1.0 / (double) FIX_ONE ? m : up;
      env = m < env ? m : up;

      q = (int64_t) (env * (double) FIX_ONE);   /* env > 0: floor */
      sum += q - box[bpos];
      box[bpos] = q;
      if (++bpos == W)
        bpos = 0;
      /* a full window is gain 1 exactly (sum x (1 / sum) can round to
       * 1 - 2^-53, and the rounding below would take that to 1 - 2^-24) */
      gain = sum < full ? (double) sum *inv_sum : 1.0;
      g = (float) gain;
      {
        /* rounded up: take the next float toward 0 (g > 0), no branch */
        uint32_t u, up = (double) g > gain;
        memcpy (&u, &g, 4);
        u -= up;
        memcpy (&g, &u, 4);
      }

      if (nc == 2) {
        float y0 = dl[0] * g, y1 = dl[1] * g;
        dl[0] = xf[0];
        dl[1] = xf[1];
        xf[0] = y0 > cf ? cf : (y0 < -cf ? -cf : y0);
        xf[1] = y1 > cf ? cf : (y1 < -cf ? -cf : y1);
      } else {
        for (c = 0; c < nc; c++) {
          float y = dl[c] * g;
          dl[c] = xf[c];
          xf[c] = y > cf ? cf : (y < -cf ? -cf : y);
        }
      }
      if (++dpos == DL)
        dpos = 0;
    }
    done += L;
  }
  s->pre = pre;
  s->env = env;
  s->sum = sum;
  s->j = j;
  s->bpos = bpos;
  s->dpos = dpos;
}

static void
lim_reset (MusaFx * fx)
{
  Lim *s = fx->priv;
  int i;

  memset (s->delay, 0, (size_t) s->DL * fx->channels * sizeof (float));
  memset (s->hist, 0, sizeof s->hist);
  s->dpos = 0;
  for (i = 0; i <= s->W; i++)
    s->suf[i] = 1.0;
  for (i = 0; i < s->W; i++) {
    s->cur[i] = 1.0;
    s->box[i] = FIX_ONE;
  }
  s->pre = 1.0;
  s->j = 0;
  s->env = 1.0;
  s->bpos = 0;
  s->sum = (int64_t) s->W * FIX_ONE;
}

static void
lim_clear (MusaFx * fx)
{
  Lim *s = fx->priv;

  free (s->delay);
  free (s->cur);
  free (s->suf);
  free (s->box);
  free (s);
  fx->priv = NULL;
}

const MusaFxClass musa_fx_limiter_class = {
  lim_init, lim_process, lim_reset, lim_clear
};
