/* libmusa — real FFT of one size, FFTW3f underneath.
 *
 * Planning (the only part of FFTW that is not thread-safe) happens in
 * musa_fft_new / musa_fft_free under one process-wide mutex; executing uses
 * FFTW's new-array interface on this object's own aligned buffers, so any
 * number of objects can run in parallel threads. */
#ifndef MUSA_FFT_H
#define MUSA_FFT_H

#include "core/musa.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct MusaFft MusaFft;

/* 2 <= n <= MUSA_FFT_MAX_SIZE (any size in that range; powers of two and
 * small primes are fastest); other sizes: NULL and an error. */
#define MUSA_FFT_MAX_SIZE (1 << 24)
MusaFft *musa_fft_new (int n, MusaError * err);
void musa_fft_free (MusaFft * fft);

/* Of a NULL object: 0, 0, NULL, NULL; the transforms do nothing. */
int musa_fft_size (const MusaFft * fft);
int musa_fft_bins (const MusaFft * fft);        /* n / 2 + 1 */

/* The object's aligned buffers: n real samples, and n/2+1 complex bins
 * stored as interleaved (re, im) floats. */
float *musa_fft_real (MusaFft * fft);
float *musa_fft_complex (MusaFft * fft);

/* real -> complex (forward, unnormalised, as numpy.fft.rfft); the real
 * buffer is preserved. */
void musa_fft_forward (MusaFft * fft);
/* complex -> real (inverse, unnormalised: the result is n times numpy's irfft).
 * Overwrites the complex buffer. */
void musa_fft_inverse (MusaFft * fft);

/* Double-precision forward transform, for spectra that must stay accurate far
 * below the frame maximum (a float FFT's rounding noise sits about 140 dB
 * under the largest bin). An object made by musa_fft_new_f64 has everything
 * above plus a buffer of n doubles; musa_fft_forward_f64 transforms it in
 * double precision and stores the bins rounded to float in
 * musa_fft_complex (each bin then carries float precision relative to
 * itself, as numpy's rfft assigned to complex64). */
MusaFft *musa_fft_new_f64 (int n, MusaError * err);
/* NULL for an object made by musa_fft_new (or NULL). */
double *musa_fft_real_f64 (MusaFft * fft);
/* Does nothing for such an object (or NULL). */
void musa_fft_forward_f64 (MusaFft * fft);

#ifdef __cplusplus
}
#endif
#endif /* MUSA_FFT_H */
