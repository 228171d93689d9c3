/* libmusa — time stretch and pitch shift for musaugment.
 *
 * A phase vocoder (46 ms Hann windows, 4x overlap) with identity phase
 * locking (Laroche & Dolson 1999) and transient handling: on a detected
 * attack the rising peaks get their analysis phase back (phase reset) and the
 * frames holding the attack are analysed at the synthesis hop, on a grid
 * anchored at the attack, so attacks come out sharp and on time; the stretch
 * is made up between attacks. Channels share the peak picking, the phase
 * rotation of each region and the transient decisions, so the stereo image is
 * kept exactly. Pitch shift = time stretch by 2^(semitones/12) inside the
 * vocoder, then a band-limited (Kaiser-windowed sinc, polyphase) resampler by
 * the inverse ratio.
 *
 * Streaming, deterministic and chunk-invariant: the output bytes do not
 * depend on how the input is cut into process calls. No allocation and no
 * lock in process/finish. */
#ifndef MUSA_STRETCH_H
#define MUSA_STRETCH_H

#include "core/musa.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct
{
  int sample_rate;            /* 8000..192000 */
  int channels;               /* 1..8, processed coherently (same phase
                               * decisions across channels: stereo image kept) */
  double rate;                /* time-stretch factor 0.5..2 (natural 0.8..1.25):
                               * output duration = input / rate, pitch kept */
  double semitones;           /* pitch shift -12..12, duration kept
                               * (combined with rate allowed) */
} MusaStretchConfig;

typedef struct MusaStretch MusaStretch;

/* MUSA_OK, or MUSA_ERR_INVALID with err->property naming the field at fault:
 * "sample-rate", "channels", "rate" or "semitones". */
int musa_stretch_config_check (const MusaStretchConfig * cfg,
    MusaError * err);

MusaStretch *musa_stretch_new (const MusaStretchConfig * cfg,
    MusaError * err);
void musa_stretch_free (MusaStretch * st);
/* Back to the state right after musa_stretch_new (new stream). NULL:
 * nothing. */
void musa_stretch_reset (MusaStretch * st);

/* Upper bound of frames one process call can produce for in_frames input
 * frames (SIZE_MAX when the bound exceeds any buffer; 0 for NULL). */
size_t musa_stretch_max_output (const MusaStretch * st, size_t in_frames);

/* Consume all in_frames interleaved frames; write the output that is ready
 * (at most out_cap frames, out_cap >= musa_stretch_max_output) to out;
 * *produced = frames written. No allocation. MUSA_ERR_INVALID for a NULL
 * object, @produced, @in (in_frames > 0) or @out (out_cap > 0), or out_cap
 * too small; MUSA_ERR_STATE after finish until reset (musa.h, "Streams";
 * also at rate 1 and 0 semitones). */
int musa_stretch_process (MusaStretch * st, const float *in, size_t in_frames,
    float *out, size_t out_cap, size_t *produced);

/* End of stream: write the remaining output (call until *produced == 0).
 * Total output over the stream = round(total_in / rate) frames (+-1), aligned
 * with the input: output frame j corresponds to input time j * rate (the
 * algorithm's own delay is trimmed at the start). out_cap >=
 * musa_stretch_max_output (st, 0). After the last call the object needs
 * musa_stretch_reset before new input; finish called again returns MUSA_OK
 * with *produced = 0. */
int musa_stretch_finish (MusaStretch * st, float *out, size_t out_cap,
    size_t *produced);

/* How many input frames the stretcher must hold before output catches up:
 * the element reports this (converted to time) as its latency. 0 for NULL. */
int64_t musa_stretch_latency (const MusaStretch * st);

/* rate 1 and 0 semitones: the caller bypasses (bit-exact passthrough).
 * 0 for NULL. */
int musa_stretch_is_identity (const MusaStretchConfig * cfg);

#ifdef __cplusplus
}
#endif
#endif /* MUSA_STRETCH_H */
