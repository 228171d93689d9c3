/* libmusa — effects: EQ, one biquad per channel from the RBJ Audio EQ
 * Cookbook (Robert Bristow-Johnson). Transposed direct form II in double
 * precision (low corner frequencies at high rates stay accurate). */
#include "fx/fx-private.h"

typedef struct
{
  double b0, b1, b2, a1, a2;
  double z[8][2];
  uint64_t n;                   /* frames done */
} Eq;

/* Normalised cookbook coefficients (a0 = 1). */
static void
eq_design (const MusaFxParams * p, int rate, Eq * s)
{
  double w0 = 2.0 * M_PI * p->p.eq.freq_hz / rate;
  double cw = cos (w0), sw = sin (w0);
  double alpha = sw / (2.0 * p->p.eq.q);
  double A = pow (10.0, p->p.eq.gain_db / 40.0);
  double sa = 2.0 * sqrt (A) * alpha;
  double b0, b1, b2, a0, a1, a2;

  switch (p->p.eq.shape) {
    case MUSA_EQ_LOW_SHELF:
      b0 = A * ((A + 1) - (A - 1) * cw + sa);
      b1 = 2 * A * ((A - 1) - (A + 1) * cw);
      b2 = A * ((A + 1) - (A - 1) * cw - sa);
      a0 = (A + 1) + (A - 1) * cw + sa;
      a1 = -2 * ((A - 1) + (A + 1) * cw);
      a2 = (A + 1) + (A - 1) * cw - sa;
      break;
    case MUSA_EQ_HIGH_SHELF:
      b0 = A * ((A + 1) + (A - 1) * cw + sa);
      b1 = -2 * A * ((A - 1) + (A + 1) * cw);
      b2 = A * ((A + 1) + (A - 1) * cw - sa);
      a0 = (A + 1) - (A - 1) * cw + sa;
      a1 = 2 * ((A - 1) - (A + 1) * cw);
      a2 = (A + 1) - (A - 1) * cw - sa;
      break;
    case MUSA_EQ_PEAK:
      b0 = 1 + alpha * A;
      b1 = -2 * cw;
      b2 = 1 - alpha * A;
      a0 = 1 + alpha / A;
      a1 = -2 * cw;
      a2 = 1 - alpha / A;
      break;
    case MUSA_EQ_HIGH_PASS:
      b0 = (1 + cw) / 2;
      b1 = -(1 + cw);
      b2 = (1 + cw) / 2;
      a0 = 1 + alpha;
      a1 = -2 * cw;
      a2 = 1 - alpha;
      break;
    case MUSA_EQ_LOW_PASS:
    default:
      b0 = (1 - cw) / 2;
      b1 = 1 - cw;
      b2 = (1 - cw) / 2;
      a0 = 1 + alpha;
      a1 = -2 * cw;
      a2 = 1 - alpha;
      break;
  }
  s->b0 = b0 / a0;
  s->b1 = b1 / a0;
  s->b2 = b2 / a0;
  s->a1 = a1 / a0;
  s->a2 = a2 / a0;
}

static int
eq_init (MusaFx * fx, MusaError * err)
{
  Eq *s = calloc (1, sizeof (Eq));

  if (s == NULL)
    return musa_error_set (err, MUSA_ERR_NOMEM, "", "out of memory");
  eq_design (&fx->p, fx->rate, s);
  fx->priv = s;
  /* tail: until the slowest pole has decayed to 1e-3 (-60 dB) */
  {
    double disc = s->a1 * s->a1 - 4.0 * s->a2, r;
    if (disc < 0.0)
      r = sqrt (s->a2);
    else
      r = fmax (fabs (-s->a1 + sqrt (disc)), fabs (-s->a1 - sqrt (disc))) / 2;
    fx->tail = r > 0.0 && r < 1.0 ? (int64_t) ceil (log (1e-3) / log (r)) : 0;
  }
  return MUSA_OK;
}

/* Flush the states to zero (if tiny) every FLUSH_EVERY frames of the stream
 * (counted from the start, so chunk-invariant): off the per-sample path,
 * and too rarely to matter, but often enough that no state ever decays
 * into denormals. */
#define FLUSH_EVERY 64

static void
eq_process (MusaFx * fx, float *x, size_t frames)
{
  Eq *s = fx->priv;
  const double b0 = s->b0, b1 = s->b1, b2 = s->b2, a1 = s->a1, a2 = s->a2;
  const int nc = fx->channels;
  size_t done = 0;
  int c;

  while (done < frames) {
    size_t len = FLUSH_EVERY - (size_t) (s->n % FLUSH_EVERY), f;
    float *y = x + done * nc;
    if (len > frames - done)
      len = frames - done;
    if (nc == 2) {
      /* both channels in one loop: two independent recursions */
      double l1 = s->z[0][0], l2 = s->z[0][1], r1 = s->z[1][0], r2 = s->z[1][1];
      for (f = 0; f < len; f++) {
        double il = y[2 * f], ir = y[2 * f + 1];
        double yl = b0 * il + l1, yr = b0 * ir + r1;
        l1 = b1 * il - a1 * yl + l2;
        r1 = b1 * ir - a1 * yr + r2;
        l2 = b2 * il - a2 * yl;
        r2 = b2 * ir - a2 * yr;
        y[2 * f] = (float) yl;
        y[2 * f + 1] = (float) yr;
      }
      s->z[0][0] = l1;
      s->z[0][1] = l2;
      s->z[1][0] = r1;
      s->z[1][1] = r2;
    } else {
      for (c = 0; c < nc; c++) {
        double z1 = s->z[c][0], z2 = s->z[c][1];
        float *p = y + c;
        for (f = 0; f < len; f++, p += nc) {
          double in = *p, o = b0 * in + z1;
          z1 = b1 * in - a1 * o + z2;
          z2 = b2 * in - a2 * o;
          *p = (float) o;
        }
        s->z[c][0] = z1;
        s->z[c][1] = z2;
      }
    }
    s->n += len;
    done += len;
    if (s->n % FLUSH_EVERY == 0)
      for (c = 0; c < nc; c++) {
        s->z[c][0] = musa_fx_flushd (s->z[c][0]);
        s->z[c][1] = musa_fx_flushd (s->z[c][1]);
      }
  }
}

static void
eq_reset (MusaFx * fx)
{
  Eq *s = fx->priv;

  memset (s->z, 0, sizeof s->z);
  s->n = 0;
}

static void
eq_clear (MusaFx * fx)
{
  free (fx->priv);
  fx->priv = NULL;
}

const MusaFxClass musa_fx_eq_class = {
  eq_init, eq_process, eq_reset, eq_clear
};
