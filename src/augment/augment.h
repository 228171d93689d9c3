/* libmusa — randomised, reproducible augmentation chains (musaugment).
 *
 * Three pieces:
 *
 * 1. A chain spec: a compact text naming which effects may apply, each with
 *    its own probability and parameter ranges, e.g.
 *
 *      eq:0.5,compressor:0.4(ratio=2..4),reverb:0.3(wet=0.05..0.3),
 *      stretch:0.2,pitch:0.2(semitones=-2..2)
 *
 *    Grammar (whitespace allowed between tokens):
 *
 *      chain  := "" | "default" | "none" | item ("," item)*
 *      item   := effect [":" prob] ["(" param (("," | ";") param)* ")"]
 *      effect := gain | eq | compressor | limiter | distortion | reverb
 *              | echo | chorus | noise | stretch | pitch
 *      prob   := number in [0, 1]          (default: the effect's default)
 *      param  := name "=" value                   fixed value
 *              | name "=" number ".." number      uniform range
 *              | name "=" word ("|" word)*        choice (uniform)
 *
 *    "" and "default" give the default chain (every effect, the default
 *    probabilities and the natural ranges of musa_augment_natural_table);
 *    "none" gives an empty chain. Parameters not named keep their natural
 *    range. Effects are applied in the order written (stretch and pitch
 *    always last, after the other effects). An effect may appear once.
 *    Errors give the 0-based character position and what was expected.
 *
 * 2. A draw: a pure function of (chain, probability, seed, stream-id hash,
 *    segment index) through the counter-based RNG of core/rng.h: applied or
 *    not (probability), then each effect independently with its own
 *    probability (if none comes up while the draw is applied, the effect
 *    whose uniform variate was smallest relative to its probability is
 *    taken), then the parameters. The draw carries its provenance: the label
 *    changes (key + n semitones, tempo x r, duration x 1/r) and a suggested
 *    sample weight.
 *
 * 3. A processor that runs a drawn chain (effects, then time stretch / pitch
 *    shift) on interleaved float with N:M output, and a session that switches
 *    draws every segment with a short crossfade at the joins. */
#ifndef MUSA_AUGMENT_H
#define MUSA_AUGMENT_H

#include "core/musa.h"
#include "fx/fx.h"
#include "stretch/stretch.h"

#ifdef __cplusplus
extern "C"
{
#endif

/* Effect kinds of a chain: the fx types, then stretch and pitch. */
#define MUSA_AUG_STRETCH ((int) MUSA_FX_N_TYPES)
#define MUSA_AUG_PITCH ((int) MUSA_FX_N_TYPES + 1)
#define MUSA_AUG_N_KINDS ((int) MUSA_FX_N_TYPES + 2)

#define MUSA_AUG_MAX_PARAMS 8
#define MUSA_AUG_MAX_CHOICES 8
#define MUSA_AUG_DEFAULT_PROBABILITY 0.25

/* Name of an effect kind as used in chain specs ("eq", "stretch"), or NULL. */
  const char *musa_augment_kind_name (int kind);

/* ---- chain spec ---------------------------------------------------------- */

  typedef struct MusaAugmentChain MusaAugmentChain;

/* Parse @spec (NULL = default). On error returns NULL and fills @err with
 * property "chain" and a message "position N: ..." */
  MusaAugmentChain *musa_augment_chain_parse (const char *spec,
      MusaError * err);
  void musa_augment_chain_free (MusaAugmentChain * chain);
/* Number of effects that may apply (0 for NULL). */
  int musa_augment_chain_n_items (const MusaAugmentChain * chain);
/* Smallest time-stretch rate the chain can draw (1 if no stretch, or
 * NULL). */
  double musa_augment_chain_min_rate (const MusaAugmentChain * chain);
/* Canonical spec with every range spelt out, except the natural ranges that
 * depend on a choice (EQ freq/gain/q on the shape, distortion drive/bits on
 * the mode); re-parses to a chain that makes the same draws. Returns the
 * length of the whole spec (snprintf semantics; a NULL @buf writes nothing),
 * MUSA_ERR_INVALID for a NULL chain. */
  int musa_augment_chain_to_string (const MusaAugmentChain * chain, char *buf,
      size_t len);

/* The natural-ranges table (README): one line per parameter,
 * "effect param lo..hi (default probability p)". Returns its length
 * (snprintf semantics; NULL @buf: nothing written). */
  int musa_augment_natural_table (char *buf, size_t len);

/* ---- draw ---------------------------------------------------------------- */

#define MUSA_AUG_MAX_EFFECTS 16

  typedef struct
  {
    const char *name;           /* parameter name as in the spec */
    double value;               /* drawn value (index for choices) */
    const char *choice;         /* choice name, or NULL for numbers */
  } MusaAugmentParam;

  typedef struct
  {
    int kind;                   /* fx type, MUSA_AUG_STRETCH or MUSA_AUG_PITCH */
    const char *name;           /* "eq", ... */
    int n_params;
    MusaAugmentParam params[MUSA_AUG_MAX_PARAMS];
  } MusaAugmentEffect;

  typedef struct
  {
    /* key */
    uint64_t seed;
    uint64_t stream_hash;
    uint64_t segment;
    /* outcome */
    int applied;                /* 0: untouched (passthrough) */
    int n_effects;              /* in processing order, stretch/pitch last */
    MusaAugmentEffect effects[MUSA_AUG_MAX_EFFECTS];
    int n_fx;                   /* the DSP effects among them */
    MusaFxParams fx[MUSA_AUG_MAX_EFFECTS];
    double rate;                /* time stretch (1 = none) */
    double semitones;           /* pitch shift (0 = none) */
    /* labels a user must change */
    double key_shift;           /* key + key_shift semitones */
    double tempo_factor;        /* tempo x tempo_factor (= rate) */
    double duration_factor;     /* duration x duration_factor (= 1 / rate) */
    double weight;              /* suggested sample weight in (0, 1] */
  } MusaAugmentDraw;

/* The draw for (seed, stream_hash, segment) at @sample_rate (frequencies
 * are kept below 0.45 x rate). Pure function of its arguments. */
  int musa_augment_draw (const MusaAugmentChain * chain, double probability,
      uint64_t seed, uint64_t stream_hash, uint64_t segment, int sample_rate,
      MusaAugmentDraw * draw, MusaError * err);

/* Every effect of the draw leaves the audio untouched (or not applied); 0
 * for NULL. */
  int musa_augment_draw_is_identity (const MusaAugmentDraw * draw);

/* One-line provenance:
 * "applied=1 seed=7 segment=0 weight=0.8 key+=2 tempo*=1 duration*=1
 *  effects=eq(shape=peak,freq=1000,gain=3,q=1);pitch(semitones=2)"
 * Returns its length (snprintf semantics; NULL @buf: nothing written),
 * MUSA_ERR_INVALID for a NULL draw. */
  int musa_augment_draw_describe (const MusaAugmentDraw * draw, char *buf,
      size_t len);
/* The same line with the key the draw's stream hash was made from
 * (musa_rng_hash_string (@key)) after the seed:
 * "applied=1 seed=7 stream-id=file:///music/song.flac segment=0 ..."; a key
 * that is empty or has spaces, control characters, quotes or backslashes is
 * written in double quotes, with \" and \\ for its quotes and backslashes.
 * Whole numbers (seeds, semitones, bits) are written in full, the other
 * numbers to 6 significant digits. @key NULL: musa_augment_draw_describe. */
  int musa_augment_draw_describe_key (const MusaAugmentDraw * draw,
      const char *key, char *buf, size_t len);

/* ---- processor ----------------------------------------------------------- */

  typedef struct MusaAugmentProc MusaAugmentProc;

/* A processor running @draw at @sample_rate with @channels on blocks of at
 * most @max_block frames per process call. */
  MusaAugmentProc *musa_augment_proc_new (const MusaAugmentDraw * draw,
      int sample_rate, int channels, size_t max_block, MusaError * err);
  void musa_augment_proc_free (MusaAugmentProc * p);
/* (free and reset: NULL does nothing) */
  void musa_augment_proc_reset (MusaAugmentProc * p);
/* Upper bound of the output of one process call of @in_frames (<= max_block)
 * and of each finish call (in_frames = 0). 0 for NULL, as latency and tail
 * below. */
  size_t musa_augment_proc_max_output (const MusaAugmentProc * p,
      size_t in_frames);
/* Consume @in_frames (<= max_block) frames, write what is ready. Output
 * frame j corresponds to input time j x rate: the effects' look-ahead and
 * the stretcher's delay are trimmed. An applied draw's output ends in a
 * look-ahead peak limiter (true peak, -0.1 dBFS, 2 ms, release 50 ms),
 * so it never passes full scale; where it does not act it is exact (gain
 * 1). No allocation. MUSA_ERR_INVALID for a
 * NULL object, @produced, @in (in_frames > 0) or @out (out_cap > 0), and
 * for an out_cap below musa_augment_proc_max_output (p, in_frames) where
 * the call would need it (nothing changes then: repeat it with a larger
 * buffer; the same for finish);
 * MUSA_ERR_STATE for in_frames > max_block and after finish until reset
 * (musa.h, "Streams"). */
  int musa_augment_proc_process (MusaAugmentProc * p, const float *in,
      size_t in_frames, float *out, size_t out_cap, size_t *produced);
/* End of stream: the held frames and the effects' tails (reverb, echo);
 * call until *produced == 0 (calls after that give MUSA_OK and nothing). */
  int musa_augment_proc_finish (MusaAugmentProc * p, float *out, size_t out_cap,
      size_t *produced);
/* Input frames held before output catches up (look-ahead, the output
 * limiter's included, + stretch delay). */
  int64_t musa_augment_proc_latency (const MusaAugmentProc * p);
/* Frames of tail the effects ring for after the input ends (input frames). */
  int64_t musa_augment_proc_tail (const MusaAugmentProc * p);

/* ---- session: draws per stream or per segment ---------------------------- */

  typedef struct
  {
    const MusaAugmentChain *chain;      /* copied by session_new */
    double probability;
    uint64_t seed;
    uint64_t stream_hash;
    int sample_rate;
    int channels;
    uint64_t segment_frames;    /* 0: one draw for the whole stream */
    uint64_t first_frame;       /* input position of the first frame
                                 * (after a seek): sets the segment index */
    size_t crossfade_frames;    /* output frames faded at joins */
    size_t max_block;           /* largest process call */
  } MusaAugmentSessionConfig;

  typedef struct MusaAugmentSession MusaAugmentSession;

  MusaAugmentSession *musa_augment_session_new (const MusaAugmentSessionConfig
      * cfg, MusaError * err);
  void musa_augment_session_free (MusaAugmentSession * s);
/* Input frames the next process call may take before a new draw is needed;
 * 0 means call musa_augment_session_next_draw first (0 also for NULL and
 * after finish). */
  size_t musa_augment_session_room (const MusaAugmentSession * s);
/* Make the next draw (allocates its processor) and return it (owned by the
 * session, valid until the next call). NULL with MUSA_ERR_STATE after
 * finish, MUSA_ERR_INVALID for a NULL session. */
  const MusaAugmentDraw *musa_augment_session_next_draw (MusaAugmentSession * s,
      MusaError * err);
/* The current draw, or NULL before the first (or for NULL). */
  const MusaAugmentDraw *musa_augment_session_draw (const MusaAugmentSession *
      s);
/* Bound for out_cap of a process call of @in_frames or of finish (0);
 * 0 for NULL and before the first draw. It depends on the draw (and on a
 * join in progress): ask again after each musa_augment_session_next_draw.
 * process: MUSA_ERR_INVALID for a NULL session, @produced, @in
 * (in_frames > 0) or @out (out_cap > 0), and for an out_cap too small
 * for the call's output (nothing is consumed then; the bound always
 * suffices); MUSA_ERR_STATE for more than the room
 * and after finish (a session has no reset: a new stream is a new session;
 * musa.h, "Streams"). */
  size_t musa_augment_session_max_output (const MusaAugmentSession * s,
      size_t in_frames);
  int musa_augment_session_process (MusaAugmentSession * s, const float *in,
      size_t in_frames, float *out, size_t out_cap, size_t *produced);
/* End of stream; call until *produced == 0 (calls after that give MUSA_OK
 * and nothing). */
  int musa_augment_session_finish (MusaAugmentSession * s, float *out,
      size_t out_cap, size_t *produced);
/* Latency of the current draw in input frames (plus the join hold-back in
 * segment mode); 0 for NULL. */
  int64_t musa_augment_session_latency (const MusaAugmentSession * s);
/* Output frames the previous draw still has to give before the current
 * draw's audio starts (its nominal length, round (input / rate), not yet
 * produced), while a join is in progress; 0 otherwise and for NULL. Where
 * a draw's provenance belongs in the output: that many frames on. */
  size_t musa_augment_session_join_pending (const MusaAugmentSession * s);

/* Float to S16 with rounding and clipping (the element's output edge).
 * These three do nothing when @in or @out is NULL. */
  void musa_augment_f32_to_s16 (const float *in, int16_t * out, size_t n);
/* Float to S32 (x 2^31, rounded, clipped) and to F64 (exact). */
void musa_augment_f32_to_s32 (const float *in, int32_t * out, size_t n);
void musa_augment_f32_to_f64 (const float *in, double *out, size_t n);

#ifdef __cplusplus
}
#endif
#endif                          /* MUSA_AUGMENT_H */
