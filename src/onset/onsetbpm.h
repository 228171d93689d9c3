/* libmusa — onsets, tempo and beats of a stream in one object: the onset
 * detector (onset.h) feeds the tempo estimator and the beat tracker
 * (tempo.h), as the onsetbpm element needs them.
 *
 * Live: onsets as they are picked; the sliding-window tempo any time
 * (musa_onsetbpm_tempo); live beats from the frame-by-frame beat tracker,
 * whose period follows the sliding estimate (updated every second of
 * audio, so results do not depend on how the input is chunked).
 * End of stream (musa_onsetbpm_finish): the whole-stream tempo and the beat
 * times of the offline dynamic programme over the stream (its last
 * `history` seconds); when those beats are steady and within 10 % of the
 * correlation's period, the final tempo is their mean rate (a played tempo
 * that swings reads its mean). */
#ifndef MUSA_ONSETBPM_H
#define MUSA_ONSETBPM_H

#include "core/musa.h"
#include "onset/onset.h"
#include "onset/tempo.h"

#ifdef __cplusplus
extern "C"
{
#endif

  typedef struct
  {
    MusaOnsetConfig onset;      /* sample rate, method, peak picking */
    double window;              /* s, sliding tempo window */
    double min_bpm, max_bpm;
    double prior_bpm;           /* centre of the metrical-level prior (120) */
    double history;             /* s kept for the final beat tracking */
  } MusaOnsetBpmConfig;

  void musa_onsetbpm_config_default (MusaOnsetBpmConfig * cfg, int sample_rate);
  /* The checks musa_onsetbpm_new makes of @cfg (onset function and tempo
   * ranges), without building anything. */
  int musa_onsetbpm_config_check (const MusaOnsetBpmConfig * cfg,
      MusaError * err);

  typedef enum
  {
    MUSA_ONSETBPM_ONSET = 0,
    MUSA_ONSETBPM_BEAT,
  } MusaOnsetBpmEventType;

  typedef struct
  {
    MusaOnsetBpmEventType type;
    double time;                /* s from the stream start */
    int64_t sample;             /* the same in samples */
    float strength;             /* onsets: normalised onset strength */
    int64_t index;              /* beats: count since the stream start */
    double bpm;                 /* beats: the live tempo the tracker follows */
  } MusaOnsetBpmEvent;

  typedef void (*MusaOnsetBpmFunc) (void *user, const MusaOnsetBpmEvent * ev);

  typedef struct MusaOnsetBpm MusaOnsetBpm;

  MusaOnsetBpm *musa_onsetbpm_new (const MusaOnsetBpmConfig * cfg,
      MusaError * err);
  void musa_onsetbpm_free (MusaOnsetBpm * ob);
  void musa_onsetbpm_reset (MusaOnsetBpm * ob);
/* Analyse @n mono samples; @func (may be NULL) gets onsets and live beats.
 * No allocation but the growing history (musa_beat_push). MUSA_OK; MUSA_ERR_INVALID for a NULL object or NULL @x
 * with n > 0; MUSA_ERR_STATE after finish until reset (musa.h, "Streams"). */
  int musa_onsetbpm_process (MusaOnsetBpm * ob, const float *x, size_t n,
      MusaOnsetBpmFunc func, void *user);
/* Current sliding-window tempo (all 0 for a NULL object; nothing for a
 * NULL @out). */
  void musa_onsetbpm_tempo (MusaOnsetBpm * ob, MusaTempoResult * out);
/* Time (s) of the last live beat, < 0 when none yet (or NULL). */
  double musa_onsetbpm_last_beat (const MusaOnsetBpm * ob);
/* End of stream: the last onsets through @func, then the whole-stream
 * tempo in @out (may be NULL) and the final beats (musa_onsetbpm_beats).
 * MUSA_OK (out of memory for the beats: none); called again, MUSA_OK, the
 * same tempo in @out and no callback;
 * MUSA_ERR_INVALID (and @out all 0) for a NULL object. */
  int musa_onsetbpm_finish (MusaOnsetBpm * ob, MusaOnsetBpmFunc func,
      void *user, MusaTempoResult * out);
/* Final beat times (s) after finish; returns their number (0 and NULL
 * for a NULL object; @times may be NULL). Frames per second and samples
 * analysed since the last reset: 0 for NULL. */
  size_t musa_onsetbpm_beats (const MusaOnsetBpm * ob, const double **times);
  double musa_onsetbpm_fps (const MusaOnsetBpm * ob);
  int64_t musa_onsetbpm_samples (const MusaOnsetBpm * ob);

#ifdef __cplusplus
}
#endif
#endif                          /* MUSA_ONSETBPM_H */
