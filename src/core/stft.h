/* libmusa — streaming short-time Fourier transform, librosa's framing.
 *
 * Feed mono samples in any chunking; a callback receives each frame's
 * spectrum as soon as the frame is complete. Results are identical whatever
 * the chunk sizes.
 *
 * Framing (center = 1, librosa's default with pad_mode="constant"): the
 * stream is padded with n_fft/2 zeros at the start and, at musa_stft_finish,
 * n_fft/2 zeros at the end; frame i starts at padded sample i*hop, so it is
 * centred on input sample i*hop, and a stream of N samples gives
 * 1 + N / hop frames. With center = 0 frame i covers samples
 * [i*hop, i*hop + n_fft) and only whole frames are produced. */
#ifndef MUSA_STFT_H
#define MUSA_STFT_H

#include "core/musa.h"
#include "core/window.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct
{
  int n_fft;                    /* >= 2 */
  int hop;                      /* 1..n_fft */
  int win_length;               /* 0 = n_fft */
  MusaWindowType window;
  int center;                   /* boolean */
} MusaStftConfig;

/* Called once per frame. @index counts frames from the stream start;
 * @spectrum holds n_fft/2+1 complex bins as interleaved (re, im) floats;
 * @frame the windowed time-domain frame (n_fft samples). Both are valid only
 * during the call. */
typedef void (*MusaStftFrameFunc) (void *user, int64_t index,
    const float *spectrum, const float *frame);

typedef struct MusaStft MusaStft;

int musa_stft_config_check (const MusaStftConfig * cfg, MusaError * err);
MusaStft *musa_stft_new (const MusaStftConfig * cfg, MusaError * err);
void musa_stft_free (MusaStft * st);
/* Back to the start of a stream (padding and frame counter included). */
void musa_stft_reset (MusaStft * st);

/* Analyse n samples; calls @func for every frame completed. No allocation.
 * MUSA_OK; MUSA_ERR_INVALID for a NULL object or NULL @x with n > 0;
 * MUSA_ERR_STATE after musa_stft_finish until musa_stft_reset (nothing is
 * consumed, @func is not called). */
int musa_stft_process (MusaStft * st, const float *x, size_t n,
    MusaStftFrameFunc func, void *user);
/* End of stream: the trailing centre padding and the frames it completes.
 * The object must be reset before it takes samples again. MUSA_OK (also
 * when called again: nothing more is produced), MUSA_ERR_INVALID for NULL. */
int musa_stft_finish (MusaStft * st, MusaStftFrameFunc func, void *user);

/* Precise mode (off by default): window and transform in double precision,
 * the spectrum rounded to float bin by bin: librosa's precision (float
 * input, float64 window and FFT, complex64 result). Costs about 1.6 times
 * the float FFT; needed when bins far below the frame's largest matter (a
 * float FFT's rounding noise sits about 140 dB under the largest bin).
 * Call before the first sample. MUSA_OK, or MUSA_ERR_NOMEM / MUSA_ERR_FFT
 * (MUSA_ERR_INVALID for a NULL object). */
int musa_stft_set_precise (MusaStft * st, int precise, MusaError * err);

/* The getters of a NULL object give 0 (config: NULL). */
int musa_stft_n_bins (const MusaStft * st);
/* Frames produced so far (the index the next frame will have). */
int64_t musa_stft_frames (const MusaStft * st);
/* Sample position (in input samples from the stream start) of the centre of
 * frame @index. */
int64_t musa_stft_frame_center (const MusaStft * st, int64_t index);
const MusaStftConfig *musa_stft_config (const MusaStft * st);

#ifdef __cplusplus
}
#endif
#endif /* MUSA_STFT_H */
