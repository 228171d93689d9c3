/* libmusa — streaming STFT. */
#include "core/stft.h"

#include <stdlib.h>
#include <string.h>

#include "core/audio.h"
#include "core/fft.h"

struct MusaStft
{
  MusaStftConfig cfg;
  MusaFft *fft;
  float *window;                /* n_fft */
  double *window64;             /* n_fft, precise mode only */
  float *buf;                   /* n_fft samples of the frame being filled */
  int fill;                     /* samples in buf */
  int64_t frames;
  int finished;
};

int
musa_stft_config_check (const MusaStftConfig * cfg, MusaError * err)
{
  int win;

  if (cfg == NULL)
    return musa_error_set (err, MUSA_ERR_INVALID, NULL, "no configuration");
  win = cfg->win_length ? cfg->win_length : cfg->n_fft;
  if (cfg->n_fft < 16 || cfg->n_fft > (1 << 20))
    return musa_error_set (err, MUSA_ERR_INVALID, "n-fft",
        "n-fft must be in 16..1048576, got %d", cfg->n_fft);
  if (cfg->hop < 1 || cfg->hop > cfg->n_fft)
    return musa_error_set (err, MUSA_ERR_INVALID, "hop-length",
        "hop-length must be in 1..n-fft (%d), got %d", cfg->n_fft, cfg->hop);
  if (win < 1 || win > cfg->n_fft)
    return musa_error_set (err, MUSA_ERR_INVALID, "win-length",
        "win-length must be in 1..n-fft (%d), got %d", cfg->n_fft,
        cfg->win_length);
  if ((int) cfg->window < 0 || cfg->window > MUSA_WINDOW_BLACKMAN)
    return musa_error_set (err, MUSA_ERR_INVALID, "window",
        "unknown window type %d", (int) cfg->window);
  return MUSA_OK;
}

MusaStft *
musa_stft_new (const MusaStftConfig * cfg, MusaError * err)
{
  MusaStft *st;

  if (musa_stft_config_check (cfg, err) != MUSA_OK)
    return NULL;
  st = calloc (1, sizeof (*st));
  if (st == NULL) {
    musa_error_set (err, MUSA_ERR_NOMEM, NULL, "out of memory");
    return NULL;
  }
  st->cfg = *cfg;
  if (st->cfg.win_length == 0)
    st->cfg.win_length = cfg->n_fft;
  st->window = malloc (sizeof (float) * (size_t) cfg->n_fft);
  st->buf = malloc (sizeof (float) * (size_t) cfg->n_fft);
  st->fft = musa_fft_new (cfg->n_fft, err);
  if (st->window == NULL || st->buf == NULL || st->fft == NULL) {
    if (st->fft != NULL)
      musa_error_set (err, MUSA_ERR_NOMEM, NULL, "out of memory");
    musa_stft_free (st);
    return NULL;
  }
  musa_window_fill (st->window, cfg->n_fft, st->cfg.win_length, cfg->window,
      NULL);
  musa_stft_reset (st);
  return st;
}

void
musa_stft_free (MusaStft * st)
{
  if (st == NULL)
    return;
  musa_fft_free (st->fft);
  free (st->window);
  free (st->window64);
  free (st->buf);
  free (st);
}

void
musa_stft_reset (MusaStft * st)
{
  if (st == NULL)
    return;
  st->frames = 0;
  st->finished = 0;
  st->fill = st->cfg.center ? st->cfg.n_fft / 2 : 0;
  memset (st->buf, 0, sizeof (float) * (size_t) st->cfg.n_fft);
}

static void
emit_frame (MusaStft * st, MusaStftFrameFunc func, void *user)
{
  float *in = musa_fft_real (st->fft);
  int n = st->cfg.n_fft, hop = st->cfg.hop;

  musa_mul (in, st->buf, st->window, (size_t) n);
  if (func && st->window64) {
    double *in64 = musa_fft_real_f64 (st->fft);
    int i;
    for (i = 0; i < n; i++)
      in64[i] = (double) st->buf[i] * st->window64[i];
    musa_fft_forward_f64 (st->fft);
    func (user, st->frames, musa_fft_complex (st->fft), in);
  } else if (func) {
    /* the forward transform preserves its input: the callback sees both */
    musa_fft_forward (st->fft);
    func (user, st->frames, musa_fft_complex (st->fft), in);
  }
  st->frames++;
  memmove (st->buf, st->buf + hop, sizeof (float) * (size_t) (n - hop));
  st->fill = n - hop;
}

int
musa_stft_process (MusaStft * st, const float *x, size_t n,
    MusaStftFrameFunc func, void *user)
{
  int nfft;

  if (st == NULL || (x == NULL && n > 0))
    return MUSA_ERR_INVALID;
  if (st->finished)
    return MUSA_ERR_STATE;
  nfft = st->cfg.n_fft;
  while (n > 0) {
    size_t take = (size_t) (nfft - st->fill);
    if (take > n)
      take = n;
    memcpy (st->buf + st->fill, x, sizeof (float) * take);
    st->fill += (int) take;
    x += take;
    n -= take;
    if (st->fill == nfft)
      emit_frame (st, func, user);
  }
  return MUSA_OK;
}

int
musa_stft_finish (MusaStft * st, MusaStftFrameFunc func, void *user)
{
  int pad, nfft;

  if (st == NULL)
    return MUSA_ERR_INVALID;
  if (st->finished)
    return MUSA_OK;
  nfft = st->cfg.n_fft;
  if (st->cfg.center) {
    /* add at most n_fft/2 zeros; each time the frame fills, emit it */
    pad = nfft / 2;
    while (pad > 0) {
      int take = nfft - st->fill;
      if (take > pad)
        take = pad;
      memset (st->buf + st->fill, 0, sizeof (float) * (size_t) take);
      st->fill += take;
      pad -= take;
      if (st->fill == nfft)
        emit_frame (st, func, user);
    }
  }
  st->finished = 1;
  return MUSA_OK;
}

int
musa_stft_set_precise (MusaStft * st, int precise, MusaError * err)
{
  MusaFft *fft;
  MusaError e;
  double *w64;
  int n;

  if (st == NULL)
    return musa_error_set (err, MUSA_ERR_INVALID, NULL, "no STFT");
  n = st->cfg.n_fft;
  if (!precise) {
    free (st->window64);
    st->window64 = NULL;
    return MUSA_OK;
  }
  if (st->window64 != NULL)
    return MUSA_OK;
  w64 = malloc (sizeof (double) * (size_t) n);
  if (w64 == NULL)
    return musa_error_set (err, MUSA_ERR_NOMEM, NULL, "out of memory");
  musa_error_clear (&e);
  fft = musa_fft_new_f64 (n, &e);
  if (fft == NULL) {
    free (w64);
    if (err)
      *err = e;
    return e.code;
  }
  musa_window_fill_f64 (w64, n, st->cfg.win_length, st->cfg.window, NULL);
  musa_fft_free (st->fft);
  st->fft = fft;
  st->window64 = w64;
  return MUSA_OK;
}

int
musa_stft_n_bins (const MusaStft * st)
{
  return st ? st->cfg.n_fft / 2 + 1 : 0;
}

int64_t
musa_stft_frames (const MusaStft * st)
{
  return st ? st->frames : 0;
}

int64_t
musa_stft_frame_center (const MusaStft * st, int64_t index)
{
  if (st == NULL)
    return 0;
  return index * st->cfg.hop + (st->cfg.center ? 0 : st->cfg.n_fft / 2);
}

const MusaStftConfig *
musa_stft_config (const MusaStft * st)
{
  return st ? &st->cfg : NULL;
}
