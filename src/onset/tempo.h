/* libmusa — tempo from the periodicity of an onset strength function, and
 * beat tracking.
 *
 * MusaTempo takes one detection function value per frame (onset.h) and
 * keeps two autocorrelations up to date, frame by frame, without
 * allocation: over the last `window` seconds (live) and over the whole
 * stream. An estimate (any time, cheap) turns either into a tempo:
 *
 *  - the input is compressed (square root, logarithmic above 10 times the
 *    running level), smoothed ([1 2 3 2 1] / 9) and high-passed (minus its
 *    moving mean over two periods of min-bpm);
 *  - the autocorrelation is normalised (covariance over variance, so 1 at
 *    lag 0, about 0 for noise);
 *  - every period tau in min-bpm..max-bpm (0.25-frame steps) gets a
 *    salience: the correlation at tau, 2 tau and 4 tau with weights 1,
 *    1/2, 1/4 (a comb: the pulse must also repeat one period and one bar
 *    of four periods later; 4 tau only while it spans at most half of the
 *    frames analysed), weighted by a metrical-level prior
 *    (log-normal over the beat rate, centred on prior_bpm — 120 BPM by
 *    default — one octave wide:
 *    the range where listeners tap, as librosa's default prior);
 *  - metrical family: the period with the highest salience before the
 *    prior, and its relatives x 1/4, 1/3, 1/2, 2, 3, 4, are the only
 *    candidates the prior chooses among (periodicity decides the grid,
 *    the prior only the level: no 3:2 answers such as three eighths in
 *    4/4 at tempos where the prior favours them);
 *  - parsimony: while the pulse twice as fast is as regular as a metronome
 *    (correlation >= 0.92 and >= 0.9 times that at tau), it is the beat;
 *  - the best period is refined to a fraction of a frame from the peaks of
 *    the correlation at tau, 2 tau, ... (parabolic interpolation);
 *  - the runner-up is the best candidate more than 4 % away;
 *  - confidence in [0, 1]: how far the correlation at the period rises
 *    above what noise of the same length gives, and 0 for less than 2 s of
 *    signal, silence or noise.
 *
 * MusaBeat tracks beats by dynamic programming (Ellis 2007): the score of a
 * beat at frame t is the onset strength there plus the best score of a
 * previous beat at t - d minus tightness * log (d / period)^2. Live, the
 * recursion runs frame by frame and a beat is reported once a quarter of a
 * period has passed without a better candidate; offline (end of stream) the
 * best path through the stored function is traced back. */
#ifndef MUSA_TEMPO_H
#define MUSA_TEMPO_H

#include "core/musa.h"

#ifdef __cplusplus
extern "C"
{
#endif

  typedef struct
  {
    double fps;                 /* detection function frames per second */
    double window;              /* s, sliding window (2..120) */
    double min_bpm, max_bpm;    /* 20 <= min < max <= 400, max >= 1.5 min */
    double prior_bpm;           /* centre of the metrical-level prior, 20..400
                                 * (120: where listeners tap most) */
  } MusaTempoConfig;

  void musa_tempo_config_default (MusaTempoConfig * cfg, double fps);
  int musa_tempo_config_check (const MusaTempoConfig * cfg, MusaError * err);

  typedef struct
  {
    double bpm;                 /* best tempo, 0 when confidence is 0 */
    double candidates[2];       /* best and runner-up tempi (BPM) */
    double strengths[2];        /* their relative strengths, sum 1 */
    double confidence;          /* 0..1 */
    double period;              /* frames per beat (0 when unknown) */
    double seconds;             /* signal length the estimate used */
  } MusaTempoResult;

  typedef struct MusaTempo MusaTempo;

/* No end of stream: push takes frames for as long as it is given them, and
 * the estimates can be asked for any time (musa.h, "Streams"). With a NULL
 * object push, cut and reset do nothing, estimate fills @out with zeros
 * (confidence 0), frames, keep, hold and new_music give 0 and
 * local_period gives @period; a NULL @out: nothing, 0. */
  MusaTempo *musa_tempo_new (const MusaTempoConfig * cfg, MusaError * err);
  void musa_tempo_free (MusaTempo * t);
  void musa_tempo_reset (MusaTempo * t);
/* One frame of the onset strength function (@value, >= 0), and the same
 * frame held against the background (@activity: >= 1 where an onset at
 * least as strong as the running level sounds above it, e.g.
 * MusaOnsetFrame.live_value); the sliding estimate stops 2 s after the last
 * active frame. No allocation. */
  void musa_tempo_push (MusaTempo * t, float value, float activity);
/* Estimate over the sliding window (@whole = 0) or the whole stream since
 * the last reset (@whole = 1). No allocation. */
  void musa_tempo_estimate (MusaTempo * t, int whole, MusaTempoResult * out);
  int64_t musa_tempo_frames (const MusaTempo * t);
/* After musa_tempo_estimate() gave @out: if the tempo @bpm is not @out's
 * answer but its salience (periodicity times prior) is at least @ratio
 * times the answer's, make @bpm the answer (refined on the same
 * correlation) and the previous answer the runner-up; returns 1 then, 0
 * when @out is left as it was. */
/* Live hysteresis: after musa_tempo_estimate() over the sliding window
 * gave @out no tempo (confidence 0) while the music goes on, keep @bpm, the
 * live answer of the moment before, if its period's correlation still
 * exceeds 3 standard deviations of a noise correlation (a new answer needs
 * 4): @out gets @bpm with the confidence measured from that lower bound
 * and the estimate's own choice as runner-up; returns 1 then, 0 when @out
 * is left as it was (also after silence or when the music has stopped). */
  int musa_tempo_keep (MusaTempo * t, double bpm, MusaTempoResult * out);
  int musa_tempo_hold (MusaTempo * t, double bpm, double ratio,
      MusaTempoResult * out);
/* Whether period (or tempo) @a is @b or a duple or triple relative of it
 * (x 2, 3, 4, 1/2, 1/3, 1/4, within 3 %): one metrical family. */
  int musa_tempo_related (double a, double b);
/* Live: whether the last @seconds of the function are other music than
 * the one tempo @bpm was read from (a new song on the radio): they no
 * longer repeat at its period (or twice it, within 8 %) and clearly repeat
 * at a period that is neither in its metrical family nor a cross-rhythm of
 * it (3:2, 4:3, 5:2 and their inverses). */
  int musa_tempo_new_music (const MusaTempo * t, double bpm, double seconds);
/* Live: the sliding window starts afresh @seconds ago (it grows back to
 * `window` from there); the whole-stream estimate is not affected. */
  void musa_tempo_cut (MusaTempo * t, double seconds);
/* The beat period (frames) now: the correlation peak of the last @seconds
 * of the function within 10 % of @period (a period from
 * musa_tempo_estimate()), or @period when there is no such peak or not two
 * periods of signal. */
  double musa_tempo_local_period (const MusaTempo * t, double period,
      double seconds);

/* ---- beats ---- */
  typedef struct
  {
    double fps;
    double tightness;           /* penalty weight of off-period gaps (100) */
    double history;             /* s of function kept for the offline pass */
  } MusaBeatConfig;

  void musa_beat_config_default (MusaBeatConfig * cfg, double fps);

  typedef struct MusaBeat MusaBeat;

/* No end of stream either: the offline pass (musa_beat_track) reads what
 * was pushed so far and may be repeated. With a NULL object push, track and
 * value_at give 0 and reset does nothing; a NULL @beat_frame is allowed
 * (the beat is still counted); a NULL @out gives 0 beats. */
  MusaBeat *musa_beat_new (const MusaBeatConfig * cfg, MusaError * err);
  void musa_beat_free (MusaBeat * b);
  void musa_beat_reset (MusaBeat * b);
/* One frame of onset strength (@value, stored for the offline pass; the
 * live tracker reads @live_value, which may be normalised differently) and
 * the current period (frames per beat, 0 when unknown: no live beats
 * then). Returns 1 and sets *@beat_frame when a live beat is decided (it
 * lies in the past: the decision waits a quarter period). No allocation
 * but the stored function's: it starts at 4 kB and doubles as the stream
 * goes up to `history` seconds (reset takes it back to 4 kB; out of memory
 * it stays a ring of what it holds). */
  int musa_beat_push (MusaBeat * b, float value, float live_value,
      double period, int64_t * beat_frame);
/* Offline pass over the stored function (the last `history` seconds) with
 * a fixed period: writes up to @max beat frames (ascending, fractional
 * frames from the stream start) to @out and returns how many. Allocates
 * its work buffers for the frames kept (20 bytes a frame) and frees them;
 * 0 beats when out of memory. */
  size_t musa_beat_track (MusaBeat * b, double period, double *out, size_t max);
/* The onset function the tracker was given at @frame (from the stream
 * start); 0 for frames not kept or not yet seen. */
  float musa_beat_value_at (const MusaBeat * b, int64_t frame);

/* The same dynamic programme on a caller's array (allocates; for tests and
 * tools): beat frames of @env (n frames) for @period; 0 for a NULL @env or
 * @out. */
  size_t musa_beat_track_array (const float *env, size_t n, double period,
      double tightness, double *out, size_t max);

#ifdef __cplusplus
}
#endif
#endif                          /* MUSA_TEMPO_H */
