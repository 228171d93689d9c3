/* The C API's edges, as an embedding program meets them:
 *  - every public function called with NULL for each object or pointer
 *    argument: no crash, and the result its header documents (a function
 *    with an error return gives MUSA_ERR_INVALID; free and reset do nothing;
 *    getters give 0, NULL or the neutral value named in the header);
 *  - process after finish, for every streaming module: MUSA_ERR_STATE, no
 *    output and no callback, until reset; finish again gives MUSA_OK and
 *    nothing more; after reset the module takes a new stream as a new one.
 * check_api_coverage.sh checks that every function of the installed
 * headers is named in this file. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "augment/augment.h"
#include "chroma/chroma.h"
#include "chroma/key.h"
#include "core/audio.h"
#include "core/fft.h"
#include "core/mel.h"
#include "core/melspec.h"
#include "core/musa.h"
#include "core/rng.h"
#include "core/stft.h"
#include "core/synth.h"
#include "core/window.h"
#include "fx/fx.h"
#include "knn/embed.h"
#include "knn/index.h"
#include "knn/knn.h"
#include "onset/chordchange.h"
#include "onset/onset.h"
#include "onset/onsetbpm.h"
#include "onset/tempo.h"
#include "stretch/stretch.h"
#include "musatest.h"

#define RATE 22050

/* an error argument that must come back naming MUSA_ERR_INVALID */
#define CHECK_INVALID(call) do { \
    MusaError e_; \
    int r_; \
    musa_error_clear (&e_); \
    r_ = (call); \
    CHECK (r_ == MUSA_ERR_INVALID, "%s gave %d", #call, r_); \
  } while (0)

/* (fills the caller's MusaError e) */
#define CHECK_NULL_WITH_ERROR(call) do { \
    const void *p_; \
    musa_error_clear (&e); \
    p_ = (call); \
    CHECK (p_ == NULL && e.code == MUSA_ERR_INVALID, "%s: %p, code %d", \
        #call, p_, e.code); \
  } while (0)

/* ------------------------------------------------------------ core */

static void
test_null_core (void)
{
  MusaError e;
  MusaRng rng;
  float f[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
  double d[8];
  char buf[8];

  /* musa.h */
  CHECK (musa_status_name (MUSA_ERR_STATE) != NULL
      && strcmp (musa_status_name (MUSA_ERR_STATE), "invalid state") == 0,
      "state error name");
  CHECK (musa_error_set (NULL, MUSA_ERR_IO, NULL, NULL) == MUSA_ERR_IO,
      "error_set without err");
  musa_error_clear (&e);
  CHECK (musa_error_set (&e, MUSA_ERR_IO, NULL, NULL) == MUSA_ERR_IO
      && e.message[0] == '\0' && e.property[0] == '\0', "NULL format");
  musa_error_clear (NULL);

  /* audio.h */
  CHECK (musa_audio_to_mono (NULL, MUSA_SAMPLE_F32, 2, 4, f) == 0, "mono");
  CHECK (musa_audio_to_mono (f, MUSA_SAMPLE_F32, 2, 4, NULL) == 0, "mono");
  CHECK (musa_audio_to_mono (f, MUSA_SAMPLE_F32, 0, 4, f) == 0, "mono 0 ch");
  CHECK (musa_audio_to_f32 (NULL, MUSA_SAMPLE_S16, 1, 4, f) == 0, "f32");
  CHECK (musa_audio_to_f32 (f, MUSA_SAMPLE_F32, 1, 4, NULL) == 0, "f32");
  CHECK (musa_audio_to_f32 (f, MUSA_SAMPLE_F32, -1, 4, f) == 0, "f32 -1 ch");
  CHECK (musa_audio_sanitize (NULL, 4) == 0, "sanitize");
  musa_power_spectrum (NULL, f, 4, 2.0f);
  musa_power_spectrum (f, NULL, 4, 2.0f);
  musa_mul (NULL, f, f, 4);
  musa_mul (f, NULL, f, 4);
  musa_mul (f, f, NULL, 4);
  musa_scale (NULL, f, 2.0f, 4);
  musa_scale (f, NULL, 2.0f, 4);
  CHECK (f[0] == 1.0f && f[7] == 8.0f, "a NULL argument changed the data");

  /* fft.h */
  musa_fft_free (NULL);
  CHECK (musa_fft_size (NULL) == 0 && musa_fft_bins (NULL) == 0, "fft size");
  CHECK (musa_fft_real (NULL) == NULL && musa_fft_complex (NULL) == NULL
      && musa_fft_real_f64 (NULL) == NULL, "fft buffers");
  musa_fft_forward (NULL);
  musa_fft_inverse (NULL);
  musa_fft_forward_f64 (NULL);
  {
    /* the double transform of an object made without it: no-op */
    MusaFft *fft = musa_fft_new (8, NULL);
    CHECK (fft != NULL, "fft");
    musa_fft_forward_f64 (fft);
    musa_fft_free (fft);
  }
  CHECK (musa_fft_new (1, NULL) == NULL && musa_fft_new_f64 (1, NULL) == NULL,
      "fft size 1");

  /* mel.h */
  CHECK (isfinite (musa_hz_to_mel (440.0, MUSA_MEL_SCALE_SLANEY))
      && isfinite (musa_mel_to_hz (10.0, MUSA_MEL_SCALE_HTK)), "mel scale");
  CHECK_INVALID (musa_mel_config_check (NULL, &e_));
  CHECK_INVALID (musa_mel_config_check_static (NULL, &e_));
  CHECK_NULL_WITH_ERROR (musa_mel_new (NULL, &e));
  musa_mel_free (NULL);
  CHECK (musa_mel_n_mels (NULL) == 0, "n_mels");
  musa_mel_apply (NULL, f, f);
  musa_mel_weights (NULL, f);

  /* melspec.h */
  musa_melspec_config_default (NULL, RATE);
  CHECK_INVALID (musa_melspec_config_check (NULL, &e_));
  CHECK_INVALID (musa_melspec_config_check_static (NULL, &e_));
  CHECK (musa_melspec_needs_precise (NULL) == 0, "needs_precise");
  CHECK_NULL_WITH_ERROR (musa_melspec_new (NULL, &e));
  musa_melspec_free (NULL);
  musa_melspec_reset (NULL);
  CHECK_INVALID (musa_melspec_process (NULL, f, 4, NULL, NULL));
  CHECK_INVALID (musa_melspec_finish (NULL, NULL, NULL));
  CHECK (musa_melspec_stft (NULL) == NULL && musa_melspec_n_mels (NULL) == 0,
      "melspec getters");
  {
    MusaMelspecConfig cfg;
    MusaMelspec *ms;
    MusaMelConfig mc = { RATE, 256, 8, 0.0, 0.0, MUSA_MEL_SCALE_SLANEY,
      MUSA_MEL_NORM_SLANEY
    };
    MusaMel *mel = musa_mel_new (&mc, NULL);

    CHECK (mel != NULL, "mel");
    musa_mel_apply (mel, NULL, f);
    musa_mel_apply (mel, f, NULL);
    musa_mel_weights (mel, NULL);
    musa_mel_free (mel);
    musa_melspec_config_default (&cfg, RATE);
    ms = musa_melspec_new (&cfg, NULL);
    CHECK (ms != NULL, "melspec");
    CHECK_INVALID (musa_melspec_process (ms, NULL, 4, NULL, NULL));
    CHECK (musa_melspec_process (ms, NULL, 0, NULL, NULL) == MUSA_OK,
        "no samples");
    musa_melspec_free (ms);
  }

  /* rng.h */
  CHECK (musa_rng_key (1, 2, 3) != musa_rng_key (1, 2, 4), "rng key");
  CHECK (musa_rng_hash_string (NULL) == musa_rng_hash_string (""),
      "NULL hashes as \"\"");
  musa_rng_init (NULL, 1);
  CHECK (musa_rng_next (NULL) == 0 && musa_rng_uniform (NULL) == 0.0
      && musa_rng_range (NULL, 2.0, 3.0) == 2.0
      && musa_rng_normal (NULL) == 0.0, "rng without state");
  musa_rng_init (&rng, 1);
  CHECK (musa_rng_uniform (&rng) < 1.0, "rng");

  /* stft.h */
  CHECK_INVALID (musa_stft_config_check (NULL, &e_));
  CHECK_NULL_WITH_ERROR (musa_stft_new (NULL, &e));
  musa_stft_free (NULL);
  musa_stft_reset (NULL);
  CHECK_INVALID (musa_stft_process (NULL, f, 4, NULL, NULL));
  CHECK_INVALID (musa_stft_finish (NULL, NULL, NULL));
  CHECK_INVALID (musa_stft_set_precise (NULL, 1, &e_));
  CHECK (musa_stft_n_bins (NULL) == 0 && musa_stft_frames (NULL) == 0
      && musa_stft_frame_center (NULL, 3) == 0
      && musa_stft_config (NULL) == NULL, "stft getters");

  /* synth.h */
  musa_synth_config_default (NULL);
  {
    MusaSynthConfig sc;
    musa_synth_config_default (&sc);
    CHECK_INVALID (musa_synth_music (&sc, NULL, 8, &e_));
    CHECK_INVALID (musa_synth_music (NULL, f, 8, &e_));
  }
  musa_synth_clicks (NULL, 8, RATE, 120.0, 0);
  musa_synth_clicks (f, 8, RATE, 0.0, 0);
  CHECK (f[0] == 0.0f && f[7] == 0.0f, "clicks at 0 BPM: silence");
  musa_synth_clicks (f, 8, 0, 120.0, 0);

  /* window.h */
  CHECK_INVALID (musa_window_fill (NULL, 8, 8, MUSA_WINDOW_HANN, &e_));
  CHECK_INVALID (musa_window_fill_f64 (NULL, 8, 8, MUSA_WINDOW_HANN, &e_));
  CHECK (musa_window_fill_f64 (d, 8, 8, MUSA_WINDOW_HANN, NULL) == MUSA_OK,
      "window");
  CHECK (musa_nearest_pow2 (1000.0, 16, 4096) == 1024, "pow2");
  (void) buf;
}

/* ------------------------------------------------------------ onset */

static void
test_null_onset (void)
{
  MusaError e;
  MusaTempoResult r;
  const double *times = (const double *) &r;
  double out[4];
  float env[4] = { 0 };
  int64_t bf = 77;

  /* chordchange.h */
  CHECK (musa_chord_change_new (1, 10.0, NULL) == NULL, "chord change rate 1");
  musa_chord_change_free (NULL);
  musa_chord_change_reset (NULL);
  CHECK_INVALID (musa_chord_change_process (NULL, env, 4));
  CHECK_INVALID (musa_chord_change_finish (NULL));
  CHECK (musa_chord_change_fps (NULL) == 0.0
      && musa_chord_change_at (NULL, 1.0) == 0.0f, "chord change getters");

  /* onset.h */
  CHECK (strcmp (musa_onset_method_name (MUSA_ONSET_HFC), "hfc") == 0, "name");
  musa_onset_config_default (NULL, RATE);
  CHECK_INVALID (musa_onset_config_check (NULL, &e_));
  CHECK_NULL_WITH_ERROR (musa_onset_new (NULL, &e));
  musa_onset_free (NULL);
  musa_onset_reset (NULL);
  CHECK_INVALID (musa_onset_process (NULL, env, 4, NULL, NULL));
  CHECK_INVALID (musa_onset_finish (NULL, NULL, NULL));
  CHECK (musa_onset_fps (NULL) == 0.0 && musa_onset_hop (NULL) == 0
      && musa_onset_n_fft (NULL) == 0 && musa_onset_delay_frames (NULL) == 0
      && musa_onset_config (NULL) == NULL, "onset getters");

  /* onsetbpm.h */
  musa_onsetbpm_config_default (NULL, RATE);
  CHECK_INVALID (musa_onsetbpm_config_check (NULL, &e_));
  CHECK_NULL_WITH_ERROR (musa_onsetbpm_new (NULL, &e));
  musa_onsetbpm_free (NULL);
  musa_onsetbpm_reset (NULL);
  CHECK_INVALID (musa_onsetbpm_process (NULL, env, 4, NULL, NULL));
  memset (&r, 0xff, sizeof (r));
  musa_onsetbpm_tempo (NULL, &r);
  CHECK (r.bpm == 0.0 && r.confidence == 0.0, "tempo of no object");
  musa_onsetbpm_tempo (NULL, NULL);
  CHECK (musa_onsetbpm_last_beat (NULL) < 0.0, "last beat");
  memset (&r, 0xff, sizeof (r));
  CHECK_INVALID (musa_onsetbpm_finish (NULL, NULL, NULL, &r));
  CHECK (r.bpm == 0.0 && r.confidence == 0.0, "finish of no object");
  CHECK_INVALID (musa_onsetbpm_finish (NULL, NULL, NULL, NULL));
  CHECK (musa_onsetbpm_beats (NULL, &times) == 0 && times == NULL, "beats");
  CHECK (musa_onsetbpm_beats (NULL, NULL) == 0, "beats");
  CHECK (musa_onsetbpm_fps (NULL) == 0.0 && musa_onsetbpm_samples (NULL) == 0,
      "onsetbpm getters");

  /* tempo.h */
  musa_tempo_config_default (NULL, 100.0);
  CHECK_INVALID (musa_tempo_config_check (NULL, &e_));
  CHECK_NULL_WITH_ERROR (musa_tempo_new (NULL, &e));
  musa_tempo_free (NULL);
  musa_tempo_reset (NULL);
  musa_tempo_push (NULL, 1.0f, 1.0f);
  memset (&r, 0xff, sizeof (r));
  musa_tempo_estimate (NULL, 1, &r);
  CHECK (r.bpm == 0.0 && r.confidence == 0.0 && r.period == 0.0, "estimate");
  musa_tempo_estimate (NULL, 1, NULL);
  CHECK (musa_tempo_frames (NULL) == 0, "tempo frames");
  CHECK (musa_tempo_keep (NULL, 120.0, &r) == 0
      && musa_tempo_hold (NULL, 120.0, 0.5, &r) == 0, "keep/hold");
  CHECK (musa_tempo_related (60.0, 120.0) == 1, "related");
  CHECK (musa_tempo_new_music (NULL, 120.0, 5.0) == 0, "new music");
  musa_tempo_cut (NULL, 1.0);
  CHECK (musa_tempo_local_period (NULL, 50.0, 4.0) == 50.0, "local period");
  {
    MusaTempoConfig tc;
    MusaTempo *t;

    musa_tempo_config_default (&tc, 100.0);
    t = musa_tempo_new (&tc, NULL);
    CHECK (t != NULL, "tempo");
    CHECK (musa_tempo_keep (t, 120.0, NULL) == 0
        && musa_tempo_hold (t, 120.0, 0.5, NULL) == 0, "keep/hold to NULL");
    musa_tempo_estimate (t, 0, NULL);
    musa_tempo_free (t);
  }

  musa_beat_config_default (NULL, 100.0);
  CHECK_NULL_WITH_ERROR (musa_beat_new (NULL, &e));
  musa_beat_free (NULL);
  musa_beat_reset (NULL);
  CHECK (musa_beat_push (NULL, 1.0f, 1.0f, 50.0, &bf) == 0 && bf == 77,
      "beat push");
  CHECK (musa_beat_track (NULL, 50.0, out, 4) == 0, "beat track");
  CHECK (musa_beat_value_at (NULL, 0) == 0.0f, "value at");
  CHECK (musa_beat_track_array (NULL, 4, 50.0, 100.0, out, 4) == 0
      && musa_beat_track_array (env, 4, 50.0, 100.0, NULL, 4) == 0,
      "track array");
  {
    MusaBeatConfig bc;
    MusaBeat *b;
    int i, beats = 0;

    musa_beat_config_default (&bc, 100.0);
    b = musa_beat_new (&bc, NULL);
    CHECK (b != NULL, "beat");
    /* a pulse every 50 frames: live beats come, reported to nowhere */
    for (i = 0; i < 1000; i++)
      beats += musa_beat_push (b, i % 50 ? 0.0f : 1.0f, i % 50 ? 0.0f : 1.0f,
          50.0, NULL);
    CHECK (beats > 0, "no live beat");
    CHECK (musa_beat_track (b, 50.0, NULL, 4) == 0, "track to NULL");
    musa_beat_free (b);
  }
}

/* ------------------------------------------------------------ chroma */

static void
test_null_chroma (void)
{
  MusaError e;
  MusaChromaResult res;
  MusaKey key;
  float c[12] = { 1 };
  char buf[16];

  musa_chroma_config_default (NULL, RATE);
  CHECK_INVALID (musa_chroma_config_check (NULL, &e_));
  CHECK_NULL_WITH_ERROR (musa_chroma_new (NULL, &e));
  musa_chroma_free (NULL);
  musa_chroma_reset (NULL);
  CHECK_INVALID (musa_chroma_process (NULL, c, 12));
  CHECK_INVALID (musa_chroma_finish (NULL));
  memset (&res, 0xff, sizeof (res));
  musa_chroma_get_total (NULL, &res);
  CHECK (res.frames == 0 && res.chroma[0] == 0.0f && res.energy == 0.0f,
      "total of no object");
  memset (&res, 0xff, sizeof (res));
  musa_chroma_get_window (NULL, &res);
  CHECK (res.frames == 0 && res.tonalness == 0.0f, "window of no object");
  musa_chroma_get_total (NULL, NULL);
  musa_chroma_get_window (NULL, NULL);
  CHECK (musa_chroma_frames (NULL) == 0 && musa_chroma_n_fft (NULL) == 0
      && musa_chroma_hop (NULL) == 0, "chroma getters");
  {
    MusaChromaConfig cfg;
    MusaChroma *ch;

    musa_chroma_config_default (&cfg, RATE);
    cfg.window = 2.0;
    ch = musa_chroma_new (&cfg, NULL);
    CHECK (ch != NULL, "chroma");
    CHECK_INVALID (musa_chroma_process (ch, NULL, 12));
    musa_chroma_get_total (ch, NULL);
    musa_chroma_get_window (ch, NULL);
    musa_chroma_free (ch);
  }

  CHECK (musa_key_profile_name (99) == NULL
      && musa_key_profile_values (99, 0) == NULL, "profiles");
  CHECK_INVALID (musa_key_estimate (NULL, MUSA_KEY_PROFILE_KRUMHANSL, &key,
          &e_));
  CHECK_INVALID (musa_key_estimate (c, MUSA_KEY_PROFILE_KRUMHANSL, NULL, &e_));
  CHECK (musa_key_name (9, 1, NULL, 16) == NULL
      && musa_key_tag (9, 1, NULL, 16) == NULL
      && musa_key_camelot (9, 1, NULL, 16) == NULL
      && musa_key_open_key (9, 1, NULL, 16) == NULL, "key names to NULL");
  CHECK (strcmp (musa_key_camelot (9, 1, buf, sizeof (buf)), "8A") == 0,
      "camelot");
  CHECK (strcmp (musa_key_tonic_name (-1, 0), "") == 0, "tonic name");
}

/* ------------------------------------------------------------ fx, stretch */

static void
test_null_fx_stretch (void)
{
  MusaError e;
  MusaFxParams p;
  float f[4] = { 0.5f, 0.5f, 0.5f, 0.5f }, out[4];
  size_t produced = 99;
  char buf[8];

  CHECK (musa_fx_type_name (MUSA_FX_N_TYPES) == NULL, "fx type name");
  CHECK_INVALID (musa_fx_params_check (NULL, RATE, &e_));
  CHECK_NULL_WITH_ERROR (musa_fx_new (NULL, RATE, 1, &e));
  musa_fx_process (NULL, f, 4);
  musa_fx_reset (NULL);
  CHECK (musa_fx_latency (NULL) == 0 && musa_fx_tail (NULL) == 0, "fx getters");
  CHECK (musa_fx_describe (NULL, buf, sizeof (buf)) < 0 && buf[0] == '\0',
      "describe");
  CHECK (musa_fx_is_identity (NULL) == 0, "fx identity");
  musa_fx_free (NULL);
  memset (&p, 0, sizeof (p));
  p.type = MUSA_FX_GAIN;
  p.p.gain.db = 0.0;
  CHECK (musa_fx_describe (&p, NULL, 8) > 0, "describe: length needed");

  CHECK_INVALID (musa_stretch_config_check (NULL, &e_));
  CHECK_NULL_WITH_ERROR (musa_stretch_new (NULL, &e));
  musa_stretch_free (NULL);
  musa_stretch_reset (NULL);
  CHECK (musa_stretch_max_output (NULL, 100) == 0, "max output");
  CHECK_INVALID (musa_stretch_process (NULL, f, 4, out, 4, &produced));
  CHECK (produced == 0, "produced %zu", produced);
  CHECK_INVALID (musa_stretch_finish (NULL, out, 4, &produced));
  CHECK (musa_stretch_latency (NULL) == 0, "latency");
  CHECK (musa_stretch_is_identity (NULL) == 0, "stretch identity");
}

/* ------------------------------------------------------------ augment */

static void
test_null_augment (void)
{
  MusaError e;
  MusaAugmentDraw d;
  MusaAugmentChain *chain;
  float f[4] = { 0.5f, -2.0f, 0.0f, 1.0f }, out[4];
  int16_t s16[4];
  int32_t s32[4];
  double f64[4];
  size_t produced = 99;
  char buf[16];

  CHECK (musa_augment_kind_name (-1) == NULL, "kind name");
  chain = musa_augment_chain_parse (NULL, NULL);
  CHECK (chain != NULL && musa_augment_chain_n_items (chain) > 0,
      "NULL spec: default chain");
  musa_augment_chain_free (NULL);
  CHECK (musa_augment_chain_n_items (NULL) == 0, "n items");
  CHECK (musa_augment_chain_min_rate (NULL) == 1.0, "min rate");
  CHECK (musa_augment_chain_to_string (NULL, buf, sizeof (buf)) ==
      MUSA_ERR_INVALID && buf[0] == '\0', "to_string of no chain");
  CHECK (musa_augment_chain_to_string (chain, NULL, 16) > 0, "length needed");
  CHECK (musa_augment_natural_table (NULL, 16) > 0, "table length needed");
  CHECK_INVALID (musa_augment_draw (NULL, 1.0, 1, 2, 0, RATE, &d, &e_));
  CHECK_INVALID (musa_augment_draw (chain, 1.0, 1, 2, 0, RATE, NULL, &e_));
  CHECK (musa_augment_draw_is_identity (NULL) == 0, "draw identity");
  CHECK (musa_augment_draw_describe (NULL, buf, sizeof (buf)) ==
      MUSA_ERR_INVALID && buf[0] == '\0', "describe no draw");
  CHECK (musa_augment_draw (chain, 1.0, 1, 2, 0, RATE, &d, NULL) == MUSA_OK,
      "draw");
  CHECK (musa_augment_draw_describe (&d, NULL, 16) > 0, "length needed");
  CHECK (musa_augment_draw_describe_key (NULL, "k", buf, sizeof (buf)) ==
      MUSA_ERR_INVALID && buf[0] == '\0', "describe_key no draw");
  CHECK (musa_augment_draw_describe_key (&d, "k", NULL, 16) >
      musa_augment_draw_describe (&d, NULL, 16), "key length needed");

  CHECK_NULL_WITH_ERROR (musa_augment_proc_new (NULL, RATE, 1, 64, &e));
  musa_augment_proc_free (NULL);
  musa_augment_proc_reset (NULL);
  CHECK (musa_augment_proc_max_output (NULL, 4) == 0
      && musa_augment_proc_latency (NULL) == 0
      && musa_augment_proc_tail (NULL) == 0, "proc getters");
  CHECK_INVALID (musa_augment_proc_process (NULL, f, 4, out, 4, &produced));
  CHECK (produced == 0, "produced");
  CHECK_INVALID (musa_augment_proc_finish (NULL, out, 4, &produced));
  {
    MusaAugmentProc *p = musa_augment_proc_new (&d, RATE, 1, 64, NULL);

    CHECK (p != NULL, "proc");
    CHECK_INVALID (musa_augment_proc_process (p, f, 4, out, 4, NULL));
    CHECK_INVALID (musa_augment_proc_process (p, NULL, 4, out, 4, &produced));
    CHECK_INVALID (musa_augment_proc_finish (p, NULL, 4, &produced));
    musa_augment_proc_free (p);
  }

  CHECK_NULL_WITH_ERROR (musa_augment_session_new (NULL, &e));
  musa_augment_session_free (NULL);
  CHECK (musa_augment_session_room (NULL) == 0, "room");
  CHECK_NULL_WITH_ERROR (musa_augment_session_next_draw (NULL, &e));
  CHECK (musa_augment_session_draw (NULL) == NULL, "session draw");
  CHECK (musa_augment_session_max_output (NULL, 4) == 0
      && musa_augment_session_latency (NULL) == 0
      && musa_augment_session_join_pending (NULL) == 0, "session getters");
  CHECK_INVALID (musa_augment_session_process (NULL, f, 4, out, 4, &produced));
  CHECK_INVALID (musa_augment_session_finish (NULL, out, 4, &produced));

  musa_augment_f32_to_s16 (NULL, s16, 4);
  musa_augment_f32_to_s16 (f, NULL, 4);
  musa_augment_f32_to_s32 (NULL, s32, 4);
  musa_augment_f32_to_s32 (f, NULL, 4);
  musa_augment_f32_to_f64 (NULL, f64, 4);
  musa_augment_f32_to_f64 (f, NULL, 4);
  musa_augment_f32_to_s16 (f, s16, 4);
  CHECK (s16[1] == -32768 && s16[3] == 32767, "s16");
  musa_augment_chain_free (chain);
}

/* ------------------------------------------------------------ knn */

static void
test_null_knn (void)
{
  MusaError e;
  MusaKnnResult res;
  MusaIndex *idx;
  const uint32_t *labels = (const uint32_t *) &e;
  float v[4] = { 1, 2, 3, 4 }, w[4];
  void *data;
  size_t size;
  char buf[16];
  int fd;

  musa_embed_config_default (NULL, RATE);
  CHECK_INVALID (musa_embed_config_check (NULL, &e_));
  CHECK_NULL_WITH_ERROR (musa_embed_new (NULL, &e));
  musa_embed_free (NULL);
  musa_embed_reset (NULL);
  CHECK_INVALID (musa_embed_process (NULL, v, 4));
  CHECK_INVALID (musa_embed_finish (NULL));
  {
    float vec[MUSA_EMBED_DIM];

    vec[0] = vec[MUSA_EMBED_DIM - 1] = 5.0f;
    CHECK (musa_embed_window (NULL, vec) == 0 && vec[0] == 0.0f
        && vec[MUSA_EMBED_DIM - 1] == 0.0f, "window of no object");
    vec[0] = vec[MUSA_EMBED_DIM - 1] = 5.0f;
    CHECK (musa_embed_stream (NULL, vec) == 0 && vec[0] == 0.0f
        && vec[MUSA_EMBED_DIM - 1] == 0.0f, "stream of no object");
  }
  CHECK (musa_embed_window (NULL, NULL) == 0
      && musa_embed_stream (NULL, NULL) == 0, "embed to NULL");
  CHECK (musa_embed_frames (NULL) == 0 && musa_embed_frame_rate (NULL) == 0.0
      && musa_embed_window_frames (NULL) == 0, "embed getters");
  CHECK_INVALID (musa_embed_feature_name (0, NULL, 16));
  CHECK (musa_embed_feature_name (0, buf, sizeof (buf)) == MUSA_OK, "name");

  CHECK_NULL_WITH_ERROR (musa_index_new (NULL, 4, 1, 0, &e));
  CHECK_NULL_WITH_ERROR (musa_index_load (NULL, &e));
  CHECK_NULL_WITH_ERROR (musa_index_load_memory (NULL, 16, &e));
  musa_index_free (NULL);
  CHECK_INVALID (musa_index_save (NULL, "/nonexistent/x.idx", &e_));
  CHECK (musa_index_lock (NULL, &e) == -1 && e.code == MUSA_ERR_INVALID,
      "lock NULL path");
  musa_index_unlock (-1);
  CHECK_INVALID (musa_index_check_writable (NULL, &e_));
  CHECK_INVALID (musa_index_serialise (NULL, &data, &size, &e_));
  CHECK (musa_index_checksum (NULL, 16) == 0, "checksum");
  CHECK_INVALID (musa_index_check_embedding (NULL, "x", 4, 1, &e_));
  CHECK_INVALID (musa_index_add (NULL, v, "a", NULL, 0, &e_));
  CHECK_INVALID (musa_index_remove (NULL, 0, &e_));
  CHECK (musa_index_remove_source (NULL, "a") == 0, "remove source");
  musa_index_update_stats (NULL);
  CHECK (musa_index_embedding_name (NULL) == NULL && musa_index_dim (NULL) == 0
      && musa_index_embedding_version (NULL) == 0
      && musa_index_flags (NULL) == 0 && musa_index_n_items (NULL) == 0
      && musa_index_n_labels (NULL) == 0 && musa_index_label (NULL, 0) == NULL
      && musa_index_find_label (NULL, "a") == -1
      && musa_index_item_id (NULL, 0) == NULL
      && musa_index_vector (NULL, 0) == NULL && musa_index_matrix (NULL) == NULL
      && musa_index_mean (NULL) == NULL
      && musa_index_std (NULL) == NULL, "index getters");
  CHECK (musa_index_item_labels (NULL, 0, &labels) == 0
      && labels == NULL, "item labels");
  CHECK (musa_index_item_labels (NULL, 0, NULL) == 0, "item labels");

  idx = musa_index_new ("t", 4, 1, MUSA_INDEX_FLAG_STANDARDISE, NULL);
  CHECK (idx != NULL, "index");
  {
    const char *lab[1] = { "x" };
    CHECK (musa_index_add (idx, v, "a", lab, 1, NULL) == MUSA_OK, "add");
  }
  CHECK (musa_index_remove_source (idx, NULL) == 0, "remove NULL source");
  CHECK (musa_index_find_label (idx, NULL) == -1, "find NULL label");
  CHECK (musa_index_item_labels (idx, 0, NULL) == 1, "labels of item 0");
  fd = musa_index_lock ("", &e);
  CHECK (fd == -1 && e.code == MUSA_ERR_INVALID, "lock empty path");

  musa_knn_config_default (NULL);
  CHECK_INVALID (musa_knn_config_check (NULL, &e_));
  CHECK_NULL_WITH_ERROR (musa_knn_new (NULL, NULL, &e));
  musa_knn_free (NULL);
  CHECK_INVALID (musa_knn_query (NULL, v, &res));
  memcpy (w, v, sizeof (w));
  musa_knn_standardise (NULL, w);
  CHECK (w[0] == 1.0f && w[3] == 4.0f, "standardise without searcher");
  musa_knn_dots (NULL, 1, 4, v, w);
  musa_knn_dots (v, 1, 4, NULL, w);
  musa_knn_dots (v, 1, 4, v, NULL);
  {
    MusaKnnConfig kc;
    MusaKnn *knn;

    musa_knn_config_default (&kc);
    knn = musa_knn_new (idx, &kc, NULL);
    CHECK (knn != NULL, "knn");
    musa_knn_standardise (knn, NULL);
    musa_knn_free (knn);
  }
  musa_index_free (idx);
}

/* ---------------------------------------------- process after finish */

static int callbacks;

static void
count_stft (void *user, int64_t index, const float *spectrum,
    const float *frame)
{
  (void) user;
  (void) index;
  (void) spectrum;
  (void) frame;
  callbacks++;
}

static void
count_mel (void *user, int64_t index, const float *mels, int n_mels)
{
  (void) user;
  (void) index;
  (void) mels;
  (void) n_mels;
  callbacks++;
}

static void
count_onset (void *user, const MusaOnsetFrame * frame)
{
  (void) user;
  (void) frame;
  callbacks++;
}

static void
count_onsetbpm (void *user, const MusaOnsetBpmEvent * ev)
{
  (void) user;
  (void) ev;
  callbacks++;
}

/* clicks at 120 BPM, so that the analysers have something to report */
static float *
signal (size_t n)
{
  float *x = malloc (sizeof (float) * n);

  musa_synth_clicks (x, n, RATE, 120.0, 0);
  return x;
}

#define N_SIG (RATE * 3)

static void
test_after_finish_stft (void)
{
  MusaStftConfig cfg = { 512, 256, 0, MUSA_WINDOW_HANN, 1 };
  MusaStft *st = musa_stft_new (&cfg, NULL);
  float *x = signal (N_SIG);
  int64_t frames;

  CHECK (musa_stft_process (st, x, N_SIG, count_stft, NULL) == MUSA_OK, "1");
  CHECK (musa_stft_finish (st, count_stft, NULL) == MUSA_OK, "finish");
  frames = musa_stft_frames (st);
  CHECK (frames == 1 + N_SIG / 256, "%lld frames", (long long) frames);
  callbacks = 0;
  CHECK (musa_stft_process (st, x, N_SIG, count_stft, NULL) ==
      MUSA_ERR_STATE, "process after finish");
  CHECK (musa_stft_process (st, x, 0, count_stft, NULL) == MUSA_ERR_STATE,
      "empty process after finish");
  CHECK (musa_stft_finish (st, count_stft, NULL) == MUSA_OK, "finish again");
  CHECK (callbacks == 0 && musa_stft_frames (st) == frames, "%d callbacks",
      callbacks);
  musa_stft_reset (st);
  CHECK (musa_stft_process (st, x, N_SIG, count_stft, NULL) == MUSA_OK
      && musa_stft_finish (st, count_stft, NULL) == MUSA_OK
      && musa_stft_frames (st) == frames, "after reset");
  musa_stft_free (st);
  free (x);
}

static void
test_after_finish_melspec (void)
{
  MusaMelspecConfig cfg;
  MusaMelspec *ms;
  float *x = signal (N_SIG);
  int n;

  musa_melspec_config_default (&cfg, RATE);
  ms = musa_melspec_new (&cfg, NULL);
  callbacks = 0;
  CHECK (musa_melspec_process (ms, x, N_SIG, count_mel, NULL) == MUSA_OK
      && musa_melspec_finish (ms, count_mel, NULL) == MUSA_OK, "stream");
  n = callbacks;
  CHECK (n > 0, "no frames");
  callbacks = 0;
  CHECK (musa_melspec_process (ms, x, N_SIG, count_mel, NULL) ==
      MUSA_ERR_STATE, "process after finish");
  CHECK (musa_melspec_finish (ms, count_mel, NULL) == MUSA_OK, "finish again");
  CHECK (callbacks == 0, "%d callbacks", callbacks);
  musa_melspec_reset (ms);
  CHECK (musa_melspec_process (ms, x, N_SIG, count_mel, NULL) == MUSA_OK
      && musa_melspec_finish (ms, count_mel, NULL) == MUSA_OK
      && callbacks == n, "after reset: %d frames, not %d", callbacks, n);
  musa_melspec_free (ms);
  free (x);
}

static void
test_after_finish_onset (void)
{
  MusaOnsetConfig cfg;
  MusaOnset *od;
  MusaChordChange *cc;
  float *x = signal (N_SIG);
  int n;

  musa_onset_config_default (&cfg, RATE);
  od = musa_onset_new (&cfg, NULL);
  callbacks = 0;
  CHECK (musa_onset_process (od, x, N_SIG, count_onset, NULL) == MUSA_OK
      && musa_onset_finish (od, count_onset, NULL) == MUSA_OK, "stream");
  n = callbacks;
  CHECK (n > 0, "no frames");
  callbacks = 0;
  CHECK (musa_onset_process (od, x, N_SIG, count_onset, NULL) ==
      MUSA_ERR_STATE, "process after finish");
  /* (finish twice used to report the pending onsets twice) */
  CHECK (musa_onset_finish (od, count_onset, NULL) == MUSA_OK, "finish again");
  CHECK (callbacks == 0, "%d callbacks", callbacks);
  musa_onset_reset (od);
  CHECK (musa_onset_process (od, x, N_SIG, count_onset, NULL) == MUSA_OK
      && musa_onset_finish (od, count_onset, NULL) == MUSA_OK
      && callbacks == n, "after reset: %d frames, not %d", callbacks, n);
  musa_onset_free (od);

  cc = musa_chord_change_new (RATE, 10.0, NULL);
  CHECK (musa_chord_change_process (cc, x, N_SIG) == MUSA_OK
      && musa_chord_change_finish (cc) == MUSA_OK, "chord change");
  CHECK (musa_chord_change_process (cc, x, N_SIG) == MUSA_ERR_STATE,
      "chord change after finish");
  CHECK (musa_chord_change_finish (cc) == MUSA_OK, "finish again");
  musa_chord_change_reset (cc);
  CHECK (musa_chord_change_process (cc, x, N_SIG) == MUSA_OK, "after reset");
  musa_chord_change_free (cc);
  free (x);
}

static void
test_after_finish_onsetbpm (void)
{
  MusaOnsetBpmConfig cfg;
  MusaOnsetBpm *ob;
  MusaTempoResult r1, r2;
  const double *beats;
  size_t n_beats;
  size_t n = (size_t) RATE * 12;
  float *x = signal (n);
  int64_t samples;

  musa_onsetbpm_config_default (&cfg, RATE);
  ob = musa_onsetbpm_new (&cfg, NULL);
  CHECK (musa_onsetbpm_process (ob, x, n, count_onsetbpm, NULL) == MUSA_OK
      && musa_onsetbpm_finish (ob, count_onsetbpm, NULL, &r1) == MUSA_OK,
      "stream");
  CHECK (fabs (r1.bpm - 120.0) < 2.0, "tempo %g", r1.bpm);
  n_beats = musa_onsetbpm_beats (ob, &beats);
  samples = musa_onsetbpm_samples (ob);
  callbacks = 0;
  CHECK (musa_onsetbpm_process (ob, x, n, count_onsetbpm, NULL) ==
      MUSA_ERR_STATE, "process after finish");
  memset (&r2, 0, sizeof (r2));
  CHECK (musa_onsetbpm_finish (ob, count_onsetbpm, NULL, &r2) == MUSA_OK,
      "finish again");
  CHECK (callbacks == 0 && musa_onsetbpm_samples (ob) == samples,
      "%d callbacks", callbacks);
  CHECK (r2.bpm == r1.bpm && r2.confidence == r1.confidence,
      "finish again gives the same result: %g %g", r2.bpm, r1.bpm);
  CHECK (musa_onsetbpm_beats (ob, &beats) == n_beats, "beats kept");
  CHECK (musa_onsetbpm_finish (ob, NULL, NULL, NULL) == MUSA_OK, "no result");
  musa_onsetbpm_reset (ob);
  CHECK (musa_onsetbpm_samples (ob) == 0, "reset");
  CHECK (musa_onsetbpm_process (ob, x, n, NULL, NULL) == MUSA_OK
      && musa_onsetbpm_finish (ob, NULL, NULL, NULL) == MUSA_OK
      && musa_onsetbpm_beats (ob, &beats) == n_beats, "after reset");
  musa_onsetbpm_free (ob);
  free (x);
}

static void
test_after_finish_chroma_embed (void)
{
  MusaChromaConfig cc;
  MusaChroma *ch;
  MusaEmbedConfig ec;
  MusaEmbed *e;
  float *x = signal (N_SIG);
  int64_t frames;

  musa_chroma_config_default (&cc, RATE);
  ch = musa_chroma_new (&cc, NULL);
  CHECK (musa_chroma_process (ch, x, N_SIG) == MUSA_OK
      && musa_chroma_finish (ch) == MUSA_OK, "chroma");
  frames = musa_chroma_frames (ch);
  CHECK (musa_chroma_process (ch, x, N_SIG) == MUSA_ERR_STATE,
      "chroma after finish");
  CHECK (musa_chroma_finish (ch) == MUSA_OK && musa_chroma_frames (ch) ==
      frames, "chroma finish again");
  musa_chroma_reset (ch);
  CHECK (musa_chroma_process (ch, x, N_SIG) == MUSA_OK
      && musa_chroma_finish (ch) == MUSA_OK
      && musa_chroma_frames (ch) == frames, "chroma after reset");
  musa_chroma_free (ch);

  musa_embed_config_default (&ec, RATE);
  e = musa_embed_new (&ec, NULL);
  CHECK (musa_embed_process (e, x, N_SIG) == MUSA_OK
      && musa_embed_finish (e) == MUSA_OK, "embed");
  frames = musa_embed_frames (e);
  CHECK (musa_embed_process (e, x, N_SIG) == MUSA_ERR_STATE,
      "embed after finish");
  CHECK (musa_embed_finish (e) == MUSA_OK && musa_embed_frames (e) == frames,
      "embed finish again");
  musa_embed_reset (e);
  CHECK (musa_embed_process (e, x, N_SIG) == MUSA_OK
      && musa_embed_finish (e) == MUSA_OK
      && musa_embed_frames (e) == frames, "embed after reset");
  musa_embed_free (e);
  free (x);
}

/* drain a stretcher or processor: total output frames */
typedef int (*FinishFunc) (void *obj, float *out, size_t cap, size_t *got);

static size_t
drain (FinishFunc finish, void *obj, float *out, size_t cap)
{
  size_t got, total = 0;

  do {
    CHECK (finish (obj, out, cap, &got) == MUSA_OK, "finish");
    total += got;
  } while (got > 0);
  return total;
}

static int
stretch_finish (void *obj, float *out, size_t cap, size_t *got)
{
  return musa_stretch_finish (obj, out, cap, got);
}

static int
proc_finish (void *obj, float *out, size_t cap, size_t *got)
{
  return musa_augment_proc_finish (obj, out, cap, got);
}

static int
session_finish (void *obj, float *out, size_t cap, size_t *got)
{
  return musa_augment_session_finish (obj, out, cap, got);
}

static void
test_after_finish_stretch (void)
{
  double rates[2] = { 1.0, 1.25 };
  float *x = signal (N_SIG), *out;
  int k;

  for (k = 0; k < 2; k++) {
    MusaStretchConfig cfg = { RATE, 1, rates[k], 0.0 };
    MusaStretch *st = musa_stretch_new (&cfg, NULL);
    size_t cap = musa_stretch_max_output (st, N_SIG), got, total;

    if (cap < musa_stretch_max_output (st, 0))
      cap = musa_stretch_max_output (st, 0);
    out = malloc (sizeof (float) * cap);
    CHECK (musa_stretch_process (st, x, N_SIG, out, cap, &got) == MUSA_OK,
        "stretch");
    total = got + drain (stretch_finish, st, out, cap);
    got = 99;
    CHECK (musa_stretch_process (st, x, N_SIG, out, cap, &got) ==
        MUSA_ERR_STATE && got == 0, "rate %g: process after finish", rates[k]);
    CHECK (musa_stretch_finish (st, out, cap, &got) == MUSA_OK && got == 0,
        "finish again");
    musa_stretch_reset (st);
    CHECK (musa_stretch_process (st, x, N_SIG, out, cap, &got) == MUSA_OK,
        "after reset");
    got += drain (stretch_finish, st, out, cap);
    CHECK (got == total, "rate %g: %zu frames after reset, %zu before",
        rates[k], got, total);
    musa_stretch_free (st);
    free (out);
  }
  free (x);
}

static void
test_after_finish_augment (void)
{
  MusaAugmentChain *chain =
      musa_augment_chain_parse ("echo:1(mix=0.3),stretch:1(rate=1.2)", NULL);
  MusaAugmentDraw d;
  MusaAugmentProc *p;
  MusaAugmentSessionConfig sc;
  MusaAugmentSession *s;
  MusaError e;
  float *x = signal (4096), *out;
  size_t cap, got, total;

  CHECK (chain != NULL, "chain");
  CHECK (musa_augment_draw (chain, 1.0, 1, 2, 0, RATE, &d, NULL) == MUSA_OK
      && d.applied, "draw");
  p = musa_augment_proc_new (&d, RATE, 1, 4096, NULL);
  cap = musa_augment_proc_max_output (p, 4096);
  out = malloc (sizeof (float) * cap);
  CHECK (musa_augment_proc_process (p, x, 4096, out, cap, &got) == MUSA_OK,
      "proc");
  total = got + drain (proc_finish, p, out, cap);
  got = 99;
  CHECK (musa_augment_proc_process (p, x, 4096, out, cap, &got) ==
      MUSA_ERR_STATE && got == 0, "proc after finish");
  CHECK (musa_augment_proc_finish (p, out, cap, &got) == MUSA_OK && got == 0,
      "proc finish again");
  musa_augment_proc_reset (p);
  CHECK (musa_augment_proc_process (p, x, 4096, out, cap, &got) == MUSA_OK,
      "proc after reset");
  got += drain (proc_finish, p, out, cap);
  CHECK (got == total, "%zu frames after reset, %zu before", got, total);
  musa_augment_proc_free (p);
  free (out);

  /* a session has no reset: a new stream is a new session */
  memset (&sc, 0, sizeof (sc));
  sc.chain = chain;
  sc.probability = 1.0;
  sc.seed = 1;
  sc.sample_rate = RATE;
  sc.channels = 1;
  sc.segment_frames = 2048;
  sc.crossfade_frames = 64;
  sc.max_block = 1024;
  s = musa_augment_session_new (&sc, NULL);
  CHECK (s != NULL, "session");
  CHECK (musa_augment_session_next_draw (s, NULL) != NULL, "first draw");
  cap = musa_augment_session_max_output (s, 1024);
  out = malloc (sizeof (float) * cap * 4);
  CHECK (musa_augment_session_process (s, x, 1024, out, cap * 4, &got) ==
      MUSA_OK, "session");
  drain (session_finish, s, out, cap * 4);
  CHECK (musa_augment_session_room (s) == 0, "room after finish");
  musa_error_clear (&e);
  CHECK (musa_augment_session_next_draw (s, &e) == NULL
      && e.code == MUSA_ERR_STATE, "next draw after finish");
  got = 99;
  CHECK (musa_augment_session_process (s, x, 1024, out, cap * 4, &got) ==
      MUSA_ERR_STATE && got == 0, "session after finish");
  CHECK (musa_augment_session_finish (s, out, cap * 4, &got) == MUSA_OK
      && got == 0, "session finish again");
  musa_augment_session_free (s);
  free (out);
  musa_augment_chain_free (chain);
  free (x);
}

/* A process or finish call refused for a too small output buffer changes
 * nothing: repeated with a large enough one, the output is bit-identical
 * to a processor that never saw the refusal (before, the effects had run
 * and the look-ahead or the tail count moved: up to 0.055 off). */
static size_t
run_refused (MusaAugmentProc * p, const float *x, int refuse, float *all,
    size_t cap)
{
  size_t got, total = 0, k, big = musa_augment_proc_max_output (p, 4096);

  for (k = 0; k < 4; k++) {
    if (refuse)
      CHECK (musa_augment_proc_process (p, x + k * 4096, 4096, all + total,
              1, &got) == MUSA_ERR_INVALID && got == 0, "small buffer");
    CHECK (musa_augment_proc_process (p, x + k * 4096, 4096, all + total,
            big, &got) == MUSA_OK, "process");
    total += got;
  }
  do {
    /* (once all is out, finish gives MUSA_OK and nothing at any size) */
    if (refuse) {
      int r = musa_augment_proc_finish (p, all + total, 1, &got);
      CHECK (got == 0 && (r == MUSA_ERR_INVALID || r == MUSA_OK),
          "small buffer at finish: %d", r);
    }
    CHECK (musa_augment_proc_finish (p, all + total, big, &got) == MUSA_OK,
        "finish");
    total += got;
  } while (got > 0 && total + big <= cap);
  return total;
}

static void
test_refused_output_changes_nothing (void)
{
  static const char *const specs[] = { "compressor:1(threshold=-30)",
    "echo:1(mix=0.3),stretch:1(rate=1.2)", "limiter:1,pitch:1(semitones=2)"
  };
  float *x = signal (4 * 4096);
  size_t cap = RATE * 4, i;
  float *a = malloc (sizeof (float) * cap), *b = malloc (sizeof (float) * cap);

  for (i = 0; i < 3; i++) {
    MusaAugmentChain *chain = musa_augment_chain_parse (specs[i], NULL);
    MusaAugmentDraw d;
    MusaAugmentProc *p, *q;
    size_t na, nb;

    CHECK (chain != NULL && musa_augment_draw (chain, 1.0, 1, 2, 0, RATE, &d,
            NULL) == MUSA_OK && d.applied, "%s: draw", specs[i]);
    p = musa_augment_proc_new (&d, RATE, 1, 4096, NULL);
    q = musa_augment_proc_new (&d, RATE, 1, 4096, NULL);
    na = run_refused (p, x, 1, a, cap);
    nb = run_refused (q, x, 0, b, cap);
    CHECK (na == nb && na > 0 && memcmp (a, b, sizeof (float) * na) == 0,
        "%s: %zu frames after refusals, %zu without; not the same", specs[i],
        na, nb);
    musa_augment_proc_free (p);
    musa_augment_proc_free (q);
    musa_augment_chain_free (chain);
  }
  free (a);
  free (b);
  free (x);
}

static void
test_fx_tempo_have_no_finish (void)
{
  /* effects and the tempo/beat trackers have no end of stream: they take
   * input for as long as they are given it (draining an effect is feeding
   * it zeros) */
  MusaFxParams fp;
  MusaFx *fx;
  MusaTempoConfig tc;
  MusaTempo *t;
  MusaTempoResult r;
  float z[64] = { 0 };
  int i;

  memset (&fp, 0, sizeof (fp));
  fp.type = MUSA_FX_ECHO;
  fp.p.echo.delay_ms = 1.0;
  fp.p.echo.feedback = 0.5;
  fp.p.echo.mix = 0.5;
  fx = musa_fx_new (&fp, RATE, 1, NULL);
  CHECK (fx != NULL, "echo");
  z[0] = 1.0f;
  musa_fx_process (fx, z, 64);
  memset (z, 0, sizeof (z));
  musa_fx_process (fx, z, 64);
  musa_fx_free (fx);

  musa_tempo_config_default (&tc, 100.0);
  t = musa_tempo_new (&tc, NULL);
  for (i = 0; i < 1000; i++)
    musa_tempo_push (t, i % 50 ? 0.0f : 1.0f, i % 50 ? 0.0f : 2.0f);
  musa_tempo_estimate (t, 1, &r);
  for (i = 0; i < 100; i++)
    musa_tempo_push (t, 0.0f, 0.0f);
  CHECK (musa_tempo_frames (t) == 1100, "pushes after an estimate count");
  musa_tempo_free (t);
}

int
main (void)
{
  musa_test_run ("null_core", test_null_core);
  musa_test_run ("null_onset", test_null_onset);
  musa_test_run ("null_chroma", test_null_chroma);
  musa_test_run ("null_fx_stretch", test_null_fx_stretch);
  musa_test_run ("null_augment", test_null_augment);
  musa_test_run ("null_knn", test_null_knn);
  musa_test_run ("after_finish_stft", test_after_finish_stft);
  musa_test_run ("after_finish_melspec", test_after_finish_melspec);
  musa_test_run ("after_finish_onset", test_after_finish_onset);
  musa_test_run ("after_finish_onsetbpm", test_after_finish_onsetbpm);
  musa_test_run ("after_finish_chroma_embed", test_after_finish_chroma_embed);
  musa_test_run ("after_finish_stretch", test_after_finish_stretch);
  musa_test_run ("after_finish_augment", test_after_finish_augment);
  musa_test_run ("refused_output_changes_nothing",
      test_refused_output_changes_nothing);
  musa_test_run ("fx_tempo_have_no_finish", test_fx_tempo_have_no_finish);
  return musa_test_summary ();
}
