/* libmusa — analysis windows. */
#include "core/window.h"

#include <math.h>
#include <string.h>

/* Periodic window of @win_length points at index @i: the symmetric window
 * of win_length + 1 points with its last point dropped; a window of one
 * point is [1] (scipy.signal.get_window, so librosa: the formula gave 0 for
 * Hann and Blackman, an all-zero spectrogram). */
static double
window_value (MusaWindowType type, int i, int win_length)
{
  double x = 2.0 * M_PI * i / win_length;

  if (win_length == 1)
    return 1.0;

  switch (type) {
    case MUSA_WINDOW_HAMMING:
      return 0.54 - 0.46 * cos (x);
    case MUSA_WINDOW_BLACKMAN:
      return 0.42 - 0.5 * cos (x) + 0.08 * cos (2.0 * x);
    case MUSA_WINDOW_HANN:
    default:
      return 0.5 - 0.5 * cos (x);
  }
}

int
musa_window_fill (float *w, int n_fft, int win_length, MusaWindowType type,
    MusaError * err)
{
  int i, lpad;

  if (win_length < 1 || win_length > n_fft)
    return musa_error_set (err, MUSA_ERR_INVALID, "win-length",
        "window length %d must be in 1..n-fft (%d)", win_length, n_fft);
  if ((int) type < 0 || type > MUSA_WINDOW_BLACKMAN)
    return musa_error_set (err, MUSA_ERR_INVALID, "window",
        "unknown window type %d", (int) type);
  if (w == NULL)
    return musa_error_set (err, MUSA_ERR_INVALID, NULL, "no output");
  memset (w, 0, sizeof (float) * (size_t) n_fft);
  lpad = (n_fft - win_length) / 2;
  for (i = 0; i < win_length; i++)
    w[lpad + i] = (float) window_value (type, i, win_length);
  return MUSA_OK;
}

int
musa_window_fill_f64 (double *w, int n_fft, int win_length,
    MusaWindowType type, MusaError * err)
{
  int i, lpad;

  if (win_length < 1 || win_length > n_fft)
    return musa_error_set (err, MUSA_ERR_INVALID, "win-length",
        "window length %d must be in 1..n-fft (%d)", win_length, n_fft);
  if ((int) type < 0 || type > MUSA_WINDOW_BLACKMAN)
    return musa_error_set (err, MUSA_ERR_INVALID, "window",
        "unknown window type %d", (int) type);
  if (w == NULL)
    return musa_error_set (err, MUSA_ERR_INVALID, NULL, "no output");
  memset (w, 0, sizeof (double) * (size_t) n_fft);
  lpad = (n_fft - win_length) / 2;
  for (i = 0; i < win_length; i++)
    w[lpad + i] = window_value (type, i, win_length);
  return MUSA_OK;
}

int
musa_nearest_pow2 (double x, int lo, int hi)
{
  int n = lo;

  while (n < hi && (double) n * 1.4142135623730951 < x)
    n *= 2;
  return n;
}
