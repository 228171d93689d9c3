/* libmusa — sample format conversion, downmix and spectra. */
#include "core/audio.h"

#include <float.h>
#include <math.h>

#include "musa-core-orc.h"

/* ORC takes an int count; split very long runs. */
#define ORC_CHUNK (1 << 24)

size_t
musa_audio_sanitize (float *x, size_t n)
{
  size_t bad = 0, i;

  if (x == NULL)
    return 0;
  for (i = 0; i < n; i++) {
    if (!isfinite (x[i])) {
      x[i] = 0.0f;
      bad++;
    }
  }
  return bad;
}

/* A double as a float: finite values beyond the float range saturate at
 * +-FLT_MAX (they became Inf, and were then analysed as silence with a
 * warning about non-finite input); NaN and Inf stay what they are. */
static float
f64_to_f32 (double d)
{
  if (d > FLT_MAX)
    return isinf (d) ? INFINITY : FLT_MAX;
  if (d < -FLT_MAX)
    return isinf (d) ? -INFINITY : -FLT_MAX;
  return (float) d;
}

size_t
musa_audio_to_f32 (const void *in, MusaSampleFormat format, int channels,
    size_t frames, float *out)
{
  size_t n, done, i;

  if (in == NULL || out == NULL || channels < 1)
    return 0;
  n = frames * (size_t) channels;
  for (done = 0; done < n; done += ORC_CHUNK) {
    int len = (int) (n - done < ORC_CHUNK ? n - done : ORC_CHUNK);
    switch (format) {
      case MUSA_SAMPLE_F32:
        musa_orc_scale_f32 (out + done, (const float *) in + done, 1.0f, len);
        break;
      case MUSA_SAMPLE_S16:
        musa_orc_s16_to_f32 (out + done, (const int16_t *) in + done,
            1.0f / 32768.0f, len);
        break;
      case MUSA_SAMPLE_S32:
        musa_orc_s32_to_f32 (out + done, (const int32_t *) in + done,
            1.0f / 2147483648.0f, len);
        break;
      case MUSA_SAMPLE_F64:
        for (i = 0; i < (size_t) len; i++)
          out[done + i] = f64_to_f32 (((const double *) in)[done + i]);
        break;
    }
  }
  /* Integer input is always finite; float input may carry NaN/Inf. */
  if (format == MUSA_SAMPLE_F32 || format == MUSA_SAMPLE_F64)
    return musa_audio_sanitize (out, n);
  return 0;
}

size_t
musa_audio_to_mono (const void *in, MusaSampleFormat format, int channels,
    size_t frames, float *out)
{
  size_t bad = 0, f;
  int c;

  if (in == NULL || out == NULL || channels < 1)
    return 0;
  if (channels == 1)
    return musa_audio_to_f32 (in, format, 1, frames, out);

  if (format == MUSA_SAMPLE_F32 && channels == 2) {
    const float *x = in;
    /* Check first: NaN in one channel must silence that sample only, and
     * two samples near FLT_MAX would sum to Inf (the plain loop below sums
     * in double) */
    for (f = 0; f < 2 * frames; f++)
      if (!(fabsf (x[f]) <= 1e38f))
        bad++;
    if (bad == 0) {
      size_t done;
      for (done = 0; done < frames; done += ORC_CHUNK) {
        int len = (int) (frames - done < ORC_CHUNK ? frames - done : ORC_CHUNK);
        musa_orc_downmix_stereo_f32 (out + done, x + 2 * done, 0.5f, len);
      }
      return 0;
    }
    bad = 0;
  }

  for (f = 0; f < frames; f++) {
    double acc = 0.0;
    float v = 0.0f;
    for (c = 0; c < channels; c++) {
      size_t i = f * (size_t) channels + (size_t) c;
      switch (format) {
        case MUSA_SAMPLE_F32:
          v = ((const float *) in)[i];
          break;
        case MUSA_SAMPLE_S16:
          v = ((const int16_t *) in)[i] * (1.0f / 32768.0f);
          break;
        case MUSA_SAMPLE_S32:
          v = ((const int32_t *) in)[i] * (1.0f / 2147483648.0f);
          break;
        case MUSA_SAMPLE_F64:
          v = f64_to_f32 (((const double *) in)[i]);
          break;
      }
      if (!isfinite (v)) {
        v = 0.0f;
        bad++;
      }
      acc += v;
    }
    out[f] = (float) (acc / channels);
  }
  return bad;
}

void
musa_power_spectrum (const float *cplx, float *out, int n_bins, float power)
{
  int k;

  if (cplx == NULL || out == NULL)
    return;
  if (power == 2.0f) {
    musa_orc_power_spectrum_f32 (out, cplx, n_bins);
  } else if (power == 1.0f) {
    musa_orc_magnitude_spectrum_f32 (out, cplx, n_bins);
  } else {
    musa_orc_power_spectrum_f32 (out, cplx, n_bins);
    for (k = 0; k < n_bins; k++)
      out[k] = powf (out[k], 0.5f * power);
  }
}

void
musa_mul (float *d, const float *a, const float *b, size_t n)
{
  size_t done;

  if (d == NULL || a == NULL || b == NULL)
    return;
  for (done = 0; done < n; done += ORC_CHUNK) {
    int len = (int) (n - done < ORC_CHUNK ? n - done : ORC_CHUNK);
    musa_orc_mul_f32 (d + done, a + done, b + done, len);
  }
}

void
musa_scale (float *d, const float *a, float g, size_t n)
{
  size_t done;

  if (d == NULL || a == NULL)
    return;
  for (done = 0; done < n; done += ORC_CHUNK) {
    int len = (int) (n - done < ORC_CHUNK ? n - done : ORC_CHUNK);
    musa_orc_scale_f32 (d + done, a + done, g, len);
  }
}
