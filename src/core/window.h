/* libmusa — analysis windows, as scipy.signal.get_window(..., fftbins=True)
 * (periodic) and librosa's pad_center for win_length < n_fft. */
#ifndef MUSA_WINDOW_H
#define MUSA_WINDOW_H

#include "core/musa.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum
{
  MUSA_WINDOW_HANN = 0,
  MUSA_WINDOW_HAMMING,
  MUSA_WINDOW_BLACKMAN,
} MusaWindowType;

/* Fill w[0..n_fft) with a periodic window of win_length samples centred in
 * n_fft (zeros either side, left pad (n_fft - win_length) / 2). */
int musa_window_fill (float *w, int n_fft, int win_length,
    MusaWindowType type, MusaError * err);
/* The same in double precision. */
int musa_window_fill_f64 (double *w, int n_fft, int win_length,
    MusaWindowType type, MusaError * err);

/* The power of two nearest @x on a log scale (a frame length for a
 * duration), clamped to lo..hi (powers of two). */
int musa_nearest_pow2 (double x, int lo, int hi);

#ifdef __cplusplus
}
#endif
#endif /* MUSA_WINDOW_H */
