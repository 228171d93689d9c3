/* libmusa — FFTW3f wrapper: plans under a global mutex, per-object buffers. */
#include "core/fft.h"

#include <fftw3.h>
#include <pthread.h>
#include <stdlib.h>

struct MusaFft
{
  int n;
  float *real;
  fftwf_complex *cplx;
  fftwf_plan forward;
  fftwf_plan inverse;
  /* musa_fft_new_f64 only */
  double *real64;
  fftw_complex *cplx64;
  fftw_plan forward64;
};

static pthread_mutex_t plan_lock = PTHREAD_MUTEX_INITIALIZER;

static MusaFft *fft_new (int n, int f64, MusaError * err);

MusaFft *
musa_fft_new (int n, MusaError * err)
{
  return fft_new (n, 0, err);
}

MusaFft *
musa_fft_new_f64 (int n, MusaError * err)
{
  return fft_new (n, 1, err);
}

static MusaFft *
fft_new (int n, int f64, MusaError * err)
{
  MusaFft *fft;

  if (n < 2) {
    musa_error_set (err, MUSA_ERR_INVALID, "n-fft",
        "FFT size must be at least 2, got %d", n);
    return NULL;
  }
  /* far beyond any analysis frame; FFTW would plan a huge prime size for
   * hours */
  if (n > MUSA_FFT_MAX_SIZE) {
    musa_error_set (err, MUSA_ERR_INVALID, "n-fft",
        "FFT size must be at most %d, got %d", MUSA_FFT_MAX_SIZE, n);
    return NULL;
  }
  fft = calloc (1, sizeof (*fft));
  if (fft == NULL) {
    musa_error_set (err, MUSA_ERR_NOMEM, NULL, "out of memory");
    return NULL;
  }
  fft->n = n;
  fft->real = fftwf_alloc_real ((size_t) n);
  fft->cplx = fftwf_alloc_complex ((size_t) n / 2 + 1);
  if (f64) {
    fft->real64 = fftw_alloc_real ((size_t) n);
    fft->cplx64 = fftw_alloc_complex ((size_t) n / 2 + 1);
  }
  if (fft->real == NULL || fft->cplx == NULL
      || (f64 && (fft->real64 == NULL || fft->cplx64 == NULL))) {
    musa_fft_free (fft);
    musa_error_set (err, MUSA_ERR_NOMEM, NULL, "out of memory");
    return NULL;
  }
  pthread_mutex_lock (&plan_lock);
  fft->forward = fftwf_plan_dft_r2c_1d (n, fft->real, fft->cplx,
      FFTW_ESTIMATE | FFTW_PRESERVE_INPUT);
  fft->inverse = fftwf_plan_dft_c2r_1d (n, fft->cplx, fft->real,
      FFTW_ESTIMATE | FFTW_DESTROY_INPUT);
  if (f64)
    fft->forward64 = fftw_plan_dft_r2c_1d (n, fft->real64, fft->cplx64,
        FFTW_ESTIMATE | FFTW_PRESERVE_INPUT);
  pthread_mutex_unlock (&plan_lock);
  if (fft->forward == NULL || fft->inverse == NULL
      || (f64 && fft->forward64 == NULL)) {
    musa_fft_free (fft);
    musa_error_set (err, MUSA_ERR_FFT, "n-fft",
        "FFTW could not plan a transform of size %d", n);
    return NULL;
  }
  return fft;
}

void
musa_fft_free (MusaFft * fft)
{
  if (fft == NULL)
    return;
  pthread_mutex_lock (&plan_lock);
  if (fft->forward)
    fftwf_destroy_plan (fft->forward);
  if (fft->inverse)
    fftwf_destroy_plan (fft->inverse);
  if (fft->forward64)
    fftw_destroy_plan (fft->forward64);
  pthread_mutex_unlock (&plan_lock);
  fftwf_free (fft->real);
  fftwf_free (fft->cplx);
  fftw_free (fft->real64);
  fftw_free (fft->cplx64);
  free (fft);
}

int
musa_fft_size (const MusaFft * fft)
{
  return fft ? fft->n : 0;
}

int
musa_fft_bins (const MusaFft * fft)
{
  return fft ? fft->n / 2 + 1 : 0;
}

float *
musa_fft_real (MusaFft * fft)
{
  return fft ? fft->real : NULL;
}

float *
musa_fft_complex (MusaFft * fft)
{
  return fft ? (float *) fft->cplx : NULL;
}

void
musa_fft_forward (MusaFft * fft)
{
  if (fft == NULL)
    return;
  fftwf_execute_dft_r2c (fft->forward, fft->real, fft->cplx);
}

void
musa_fft_inverse (MusaFft * fft)
{
  if (fft == NULL)
    return;
  fftwf_execute_dft_c2r (fft->inverse, fft->cplx, fft->real);
}

double *
musa_fft_real_f64 (MusaFft * fft)
{
  return fft ? fft->real64 : NULL;
}

void
musa_fft_forward_f64 (MusaFft * fft)
{
  const double *c;
  float *out;
  int k, n;

  if (fft == NULL || fft->forward64 == NULL)
    return;
  c = (const double *) fft->cplx64;
  out = (float *) fft->cplx;
  n = 2 * (fft->n / 2 + 1);
  fftw_execute_dft_r2c (fft->forward64, fft->real64, fft->cplx64);
  for (k = 0; k < n; k++)
    out[k] = (float) c[k];
}
