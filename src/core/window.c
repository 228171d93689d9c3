/* libmusa — analysis windows. */
#include "core/window.h"

#include <math.h>
#include <string.h>

int
musa_window_fill (float *w, int n_fft, int win_length, MusaWindowType type,
    MusaError * err)
{
  int i, lpad;

  if (win_length < 1 || win_length > n_fft)
    return musa_error_set (err, MUSA_ERR_INVALID, "win-length",
        "window length %d must be in 1..n-fft (%d)", win_length, n_fft);
  memset (w, 0, sizeof (float) * (size_t) n_fft);
  lpad = (n_fft - win_length) / 2;
  for (i = 0; i < win_length; i++) {
    /* periodic: the symmetric window of win_length + 1 points, last dropped */
    double x = 2.0 * M_PI * i / win_length, v;
    switch (type) {
      case MUSA_WINDOW_HAMMING:
        v = 0.54 - 0.46 * cos (x);
        break;
      case MUSA_WINDOW_BLACKMAN:
        v = 0.42 - 0.5 * cos (x) + 0.08 * cos (2.0 * x);
        break;
      case MUSA_WINDOW_HANN:
      default:
        v = 0.5 - 0.5 * cos (x);
        break;
    }
    w[lpad + i] = (float) v;
  }
  return MUSA_OK;
}
