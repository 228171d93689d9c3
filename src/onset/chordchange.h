/* libmusa — chord-change function: how much the pitch-class content of the
 * ~0.19 s after each instant differs from the ~0.19 s before it.
 *
 * Used to choose the phase of a beat grid: harmony changes on beats (most
 * often on downbeats), while syncopated accents (a piano montuno, an
 * anticipated kick) can make the off-beats louder than the beats. Goto &
 * Muraoka's beat tracker used chord changes the same way.
 *
 * The input is first halved in rate while that leaves >= 16 kHz (44.1 kHz
 * -> 22.05 kHz; nothing above 2 kHz is used). Per frame (Hann window of
 * ~93 ms, the power of two nearest, hop half of it): a 12-bin chroma, each pitch class the root of the power of the
 * 55 Hz - 2 kHz bins nearest to it; at frame t the value is the cosine
 * distance between the summed chroma of frames t-W..t-1 and t..t+W-1
 * (W = 4, ~0.19 s each side), 0..1. Frame t is centred on (decimated)
 * sample t * hop.
 * Values are kept for the last `history` seconds (4 bytes per frame, ~21
 * frames a second, allocated as the stream goes). Chunk-invariant. */
#ifndef MUSA_CHORDCHANGE_H
#define MUSA_CHORDCHANGE_H

#include "core/musa.h"

#ifdef __cplusplus
extern "C"
{
#endif

  typedef struct MusaChordChange MusaChordChange;

  MusaChordChange *musa_chord_change_new (int sample_rate, double history,
      MusaError * err);
  void musa_chord_change_free (MusaChordChange * cc);
  void musa_chord_change_reset (MusaChordChange * cc);
/* Analyse @n mono samples. No allocation but the history's: it starts at
 * 1 kB and doubles as the stream goes up to `history` seconds (reset takes
 * it back to 1 kB; out of memory it stays a ring of what it holds). MUSA_OK; MUSA_ERR_INVALID for a
 * NULL object or NULL @x with n > 0; MUSA_ERR_STATE after finish until
 * reset (musa.h, "Streams"). */
  int musa_chord_change_process (MusaChordChange * cc, const float *x,
      size_t n);
/* End of stream: the frames the centre padding completes. MUSA_OK (again:
 * nothing more), MUSA_ERR_INVALID for NULL. */
  int musa_chord_change_finish (MusaChordChange * cc);
/* Frames per second of the function (0 for NULL). */
  double musa_chord_change_fps (const MusaChordChange * cc);
/* The largest value within +-1 frame of @time (s from the stream start);
 * 0 outside the frames kept (and for NULL). */
  float musa_chord_change_at (const MusaChordChange * cc, double time);

#ifdef __cplusplus
}
#endif
#endif                          /* MUSA_CHORDCHANGE_H */
