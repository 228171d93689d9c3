/* libmusa — effects: echo (feedback delay), D frames exactly:
 * e[t] = x[t-D] + feedback e[t-D], out = x + mix e. */
#include "fx/fx-private.h"

typedef struct
{
  size_t D, pos;
  float fb, mix;
  float *ring;                  /* D frames: x + feedback e */
} Echo;

static int
echo_init (MusaFx * fx, MusaError * err)
{
  Echo *s = calloc (1, sizeof (Echo));
  const MusaFxParams *p = &fx->p;
  double fb = p->p.echo.feedback;
  int64_t k = 1;

  if (s == NULL)
    return musa_error_set (err, MUSA_ERR_NOMEM, "", "out of memory");
  fx->priv = s;
  s->D = (size_t) lround (p->p.echo.delay_ms * 1e-3 * fx->rate);
  if (s->D < 1)
    s->D = 1;
  s->fb = (float) fb;
  s->mix = (float) p->p.echo.mix;
  s->ring = calloc (s->D * fx->channels, sizeof (float));
  if (!s->ring)
    return musa_error_set (err, MUSA_ERR_NOMEM, "", "out of memory");
  /* echoes until mix fb^(k-1) < 1e-3 (-60 dB) */
  if (fb > 0.0 && p->p.echo.mix > 1e-3)
    k = 1 + (int64_t) ceil (log (1e-3 / p->p.echo.mix) / log (fb));
  if (k < 1)
    k = 1;
  fx->tail = (int64_t) s->D * k;
  return MUSA_OK;
}

static void
echo_process (MusaFx * fx, float *x, size_t frames)
{
  Echo *s = fx->priv;
  const int nc = fx->channels;
  const float fb = s->fb, mix = s->mix;
  size_t f;
  int c;

  for (f = 0; f < frames; f++, x += nc) {
    float *r = s->ring + s->pos * nc;
    for (c = 0; c < nc; c++) {
      float e = r[c];
      r[c] = musa_fx_flushf (x[c] + fb * e);
      x[c] += mix * e;
    }
    if (++s->pos == s->D)
      s->pos = 0;
  }
}

static void
echo_reset (MusaFx * fx)
{
  Echo *s = fx->priv;

  memset (s->ring, 0, s->D * fx->channels * sizeof (float));
  s->pos = 0;
}

static void
echo_clear (MusaFx * fx)
{
  Echo *s = fx->priv;

  free (s->ring);
  free (s);
  fx->priv = NULL;
}

const MusaFxClass musa_fx_echo_class = {
  echo_init, echo_process, echo_reset, echo_clear
};
