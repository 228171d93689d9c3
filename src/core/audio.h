/* libmusa — sample format conversion, downmix, spectra and input hygiene.
 * The element-wise loops run through ORC kernels (musa-core-orc.orc). */
#ifndef MUSA_AUDIO_H
#define MUSA_AUDIO_H

#include "core/musa.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum
{
  MUSA_SAMPLE_F32 = 0,
  MUSA_SAMPLE_S16,
  MUSA_SAMPLE_S32,
  MUSA_SAMPLE_F64,
} MusaSampleFormat;

/* Interleaved samples of @format with @channels channels, @frames frames, to
 * their mono mean as float (S16 scaled by 1/32768, S32 by 1/2^31).
 * Non-finite input samples are taken as silence; the return value is how
 * many there were (for the element's warning). NULL @in or @out, or
 * @channels < 1: nothing written, 0. */
size_t musa_audio_to_mono (const void *in, MusaSampleFormat format,
    int channels, size_t frames, float *out);

/* Interleaved input to interleaved float (same channel count), non-finite
 * samples to 0; returns how many were replaced. NULL @in or @out, or
 * @channels < 1: nothing written, 0. */
size_t musa_audio_to_f32 (const void *in, MusaSampleFormat format,
    int channels, size_t frames, float *out);

/* Replace non-finite values by 0 in place; returns how many (0 for NULL). */
size_t musa_audio_sanitize (float *x, size_t n);

/* out[k] = |X[k]|^power for interleaved complex X of n_bins bins.
 * power 2 and 1 take the ORC fast paths. A NULL pointer: nothing done. */
void musa_power_spectrum (const float *cplx, float *out, int n_bins,
    float power);

/* d[i] = a[i] * b[i]. These two do nothing when a pointer is NULL. */
void musa_mul (float *d, const float *a, const float *b, size_t n);
/* d[i] = a[i] * g */
void musa_scale (float *d, const float *a, float g, size_t n);

#ifdef __cplusplus
}
#endif
#endif /* MUSA_AUDIO_H */
