/* libmusa — streaming (log-)mel spectrogram with librosa's conventions.
 *
 * Defaults (musa_melspec_config_default) are librosa.feature.melspectrogram's:
 * n_fft 2048, hop 512, periodic Hann, center with zero padding, power 2,
 * 128 Slaney-normalised Slaney-scale mels from 0 Hz to Nyquist.
 *
 * Log compression:
 *  - MUSA_MEL_LOG_DB: librosa.power_to_db(S, ref=1.0, amin=1e-10, top_db):
 *    10*log10(max(amin, S)); with top_db > 0 values are floored at
 *    (frame maximum - top_db). librosa floors at the maximum of the whole
 *    array it is given; a stream has no whole array, so the floor is per frame
 *    (values above librosa's floor are identical; the floor itself may be
 *    lower in quiet frames). It is always 10*log10 of the mel values, as
 *    power_to_db is whatever the power.
 *  - MUSA_MEL_LOG_LOG1P: log(1 + log_mult * S).
 *
 * Precision: with the default power 2 the STFT runs in float (its rounding
 * noise, ~140 dB under the frame's largest bin, is far below what power 2
 * shows); with power < 2, dB output reaching deeper than 60 dB of
 * magnitude, or a mel range narrower than 0..Nyquist (energy outside it
 * sets the float noise floor but not the mel maximum), it runs in double
 * (musa_stft_set_precise), so values down to 1e-6 of the frame maximum stay
 * within 1e-4 of librosa's.
 */
#ifndef MUSA_MELSPEC_H
#define MUSA_MELSPEC_H

#include "core/mel.h"
#include "core/stft.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum
{
  MUSA_MEL_LOG_NONE = 0,
  MUSA_MEL_LOG_DB,
  MUSA_MEL_LOG_LOG1P,
} MusaMelLog;

typedef struct
{
  int sample_rate;
  MusaStftConfig stft;
  int n_mels;
  double fmin, fmax;            /* Hz; fmax 0 = Nyquist */
  MusaMelScale scale;
  MusaMelNorm norm;
  double power;                 /* > 0: |X|^power */
  MusaMelLog log;
  double top_db;                /* dB; <= 0 disables the floor */
  double log_mult;              /* for log1p */
  double amin;                  /* dB floor amplitude, librosa 1e-10 */
} MusaMelspecConfig;

/* Called per frame with n_mels values, valid during the call. */
typedef void (*MusaMelspecFrameFunc) (void *user, int64_t index,
    const float *mels, int n_mels);

typedef struct MusaMelspec MusaMelspec;

void musa_melspec_config_default (MusaMelspecConfig * cfg, int sample_rate);
int musa_melspec_config_check (const MusaMelspecConfig * cfg, MusaError * err);
/* The checks that do not need the sample rate (what an element can check
 * before its caps): everything but the rate itself, fmax against Nyquist
 * and mel filters left without an FFT bin. */
int musa_melspec_config_check_static (const MusaMelspecConfig * cfg,
    MusaError * err);
/* Whether @cfg gets the double-precision STFT (see "Precision" above);
 * 0 for NULL. */
int musa_melspec_needs_precise (const MusaMelspecConfig * cfg);
MusaMelspec *musa_melspec_new (const MusaMelspecConfig * cfg,
    MusaError * err);
void musa_melspec_free (MusaMelspec * ms);
void musa_melspec_reset (MusaMelspec * ms);
/* @func may be NULL: the frames are then counted (musa_stft_frames of
 * musa_melspec_stft) but not computed. process and finish return MUSA_OK,
 * MUSA_ERR_INVALID (NULL object, or NULL @x with n > 0) or MUSA_ERR_STATE
 * (process after finish, until reset); finish again is MUSA_OK and calls
 * nothing (musa.h, "Streams"). */
int musa_melspec_process (MusaMelspec * ms, const float *x, size_t n,
    MusaMelspecFrameFunc func, void *user);
int musa_melspec_finish (MusaMelspec * ms, MusaMelspecFrameFunc func,
    void *user);
/* NULL and 0 for a NULL object. */
const MusaStft *musa_melspec_stft (const MusaMelspec * ms);
int musa_melspec_n_mels (const MusaMelspec * ms);

#ifdef __cplusplus
}
#endif
#endif /* MUSA_MELSPEC_H */
