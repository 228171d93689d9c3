/* musa — musaugment: natural, reproducible, recorded audio augmentation. */
/**
 * SECTION:element-musaugment
 * @title: musaugment
 *
 * Applies a random chain of natural effects — the ones a musician knows from
 * a DAW: gain, EQ, compressor, limiter, distortion, reverb, echo, chorus,
 * noise at an SNR, time stretch and pitch shift — to a chosen share of the
 * streams (or segments) that pass, and says what it did.
 *
 * Every draw is a pure function of (#GstMusaugment:seed, a hash of the key,
 * segment index), where the key is #GstMusaugment:stream-key when set, else
 * for a local file (the URI upstream answers, from which the stream id was
 * made) its canonical URI (symlinks, "//", "." and ".." resolved, plus a
 * demuxer's track suffix), else the stream id from STREAM_START: the same
 * file with the same seed gives the same output bit for bit whatever the
 * buffer sizes, the threads, the order files are processed in or the way
 * its path is written. With
 * #GstMusaugment:probability (default 0.25) the draw decides whether the
 * stream is augmented at all; then each effect of #GstMusaugment:chain comes
 * up with its own probability and draws its parameters in its ranges.
 *
 * #GstMusaugment:chain is a compact spec, e.g.
 * `eq:0.5,compressor:0.4(ratio=2..4),reverb:0.3(wet=0.05..0.3),stretch:0.2,pitch:0.2(semitones=-2..2)`:
 * `effect[:probability][(param=value|lo..hi|choice|choice..., ...)]`, empty or
 * `default` = every effect with its default probability and natural ranges,
 * `none` = nothing. Fixed values and probability 1 (with
 * #GstMusaugment:probability 1) give deterministic processing; identity
 * settings (e.g. `gain:1(db=0)`) and streams the draw leaves alone pass
 * through bit-exact.
 *
 * Caps: F32LE, S16LE, S32LE or F64LE interleaved, 8-192 kHz, 1-8 channels,
 * the same caps out. Processing is in float32 (integer and F64 input are
 * converted at the edges); channels are processed coherently.
 *
 * #GstMusaugment:segment-duration 0 makes one draw per stream; > 0 a new draw
 * every that many seconds of input, with a 10 ms raised-cosine crossfade at
 * the joins (the previous draw's output, reverb tail included, fades out
 * while the new one fades in).
 *
 * Effects run first, then time stretch / pitch shift, then, for an applied
 * draw, an output limiter (true peak, ceiling -0.1 dBFS, look-ahead 2 ms,
 * release 50 ms: the output never passes full scale, and is exact where it
 * does not act). Output frame j corresponds to input time j x rate: the
 * limiters' look-ahead and the stretcher's delay are trimmed and reported
 * as latency (LATENCY query = upstream + own). Output timestamps follow the stretched timeline: in
 * stream mode the outgoing segment (start, stop, time, position, duration)
 * and the timestamps are the input's scaled by 1 / rate (running time is
 * unchanged), then PTS advances by the output frames; so is the answer to a
 * DURATION query, and a SEEK in time from downstream is passed upstream
 * with its times scaled by rate, so that the position after it is on the
 * same timeline. In segment mode, when the chain can stretch, the outgoing
 * segment keeps its start and has no stop (-1), and the duration is
 * unknown.
 * At EOS the effects' tails (reverb, echo) and the stretcher's residue are
 * drained before EOS goes on, and so they are before SEGMENT_DONE (the end
 * of a segment seek's segment); when they run past the outgoing segment's
 * stop, the segment is pushed again without a stop before them, and the
 * next segment's running time starts after them. FLUSH_STOP and a new segment restart the draw's
 * processing (same draw for the same stream); so does a DISCONT buffer whose
 * timestamp goes back or jumps ahead by more than 10 s, after the audio the
 * processing held went out with no more tail than fits before the new
 * timestamp (none when it goes back). GAP buffers and GAP events are
 * processed as silence (tails ring on, the stretched timeline stays
 * consistent), except in passthrough, and so is the time timestamps jump
 * ahead by more than 40 ms without DISCONT, or by up to 10 s with DISCONT
 * (a live source's dropout, a leaky queue: the output stays continuous).
 * Float samples that are NaN, infinite or beyond 1e4 (+80 dBFS) are
 * processed as silence, with one warning per stream and a count at its end.
 *
 * Each draw posts a `musaugment` element message (when
 * #GstMusaugment:post-messages is TRUE) and pushes a tag event downstream:
 *
 * - `timestamp`, `stream-time`, `running-time` (#guint64): input time where
 *   the draw starts; `duration` (#guint64): its length (segment mode) or
 *   GST_CLOCK_TIME_NONE (whole stream);
 * - `applied` (#gboolean): whether anything was done;
 * - `seed` (#guint64), `stream-id` (#gchararray), `segment-index` (#guint64):
 *   the key of the draw (`stream-id` is the key string: #GstMusaugment:stream-key
 *   when set, else a local file's canonical URI, e.g.
 *   `file:///data/set1/001.wav`, else the stream id; set as
 *   #GstMusaugment:stream-key it makes the same draws);
 * - `effects` (#GstValueArray of #GstStructure): one structure per effect in
 *   processing order, named after the effect (`eq`, `reverb`, ...) with its
 *   parameters as #gdouble fields (units as in the chain spec: dB, Hz, ms) or
 *   #gchararray for choices (`shape`, `mode`, `colour`);
 * - `key-shift` (#gdouble): semitones to add to a key label;
 * - `tempo-factor` (#gdouble): factor for a tempo label (= stretch rate);
 * - `duration-factor` (#gdouble): factor for durations and time labels
 *   (= 1 / rate);
 * - `weight` (#gdouble): suggested sample weight in (0, 1] (1 = untouched;
 *   the product over effects of 1 - 0.3 x severity);
 * - `description` (#gchararray): the draw on one line, as in the tag:
 *   `applied`, `seed`, `stream-id` (quoted when empty or with spaces),
 *   `segment`, `weight`, `key+`, `tempo*`, `duration*`, `effects` (whole
 *   numbers such as the noise seed in full, the others to 6 digits); not
 *   the times.
 *
 * Tags: `musaugment-provenance` (string, the one-line description, registered
 * by this plugin) and #GST_TAG_EXTENDED_COMMENT `musaugment=<description>`
 * (which e.g. flacenc/vorbisenc write into the file).
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 -m filesrc location=song.flac ! decodebin ! audioconvert ! \
 *   musaugment seed=7 ! audioconvert ! flacenc ! filesink location=song-aug.flac
 * gst-launch-1.0 filesrc location=song.flac ! decodebin ! audioconvert ! \
 *   musaugment probability=1 chain="pitch:1(semitones=2)" ! audioconvert ! \
 *   wavenc ! filesink location=song+2.wav
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "musa-config.h"
#endif

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gst/gst.h>
#include <gst/audio/audio.h>
#include <gst/base/gstbasetransform.h>
#include <gst/tag/tag.h>

#include "gstmusaanalysis.h"
#include "gstmusaelements.h"
#include "augment/augment.h"
#include "core/audio.h"
#include "core/rng.h"

GST_DEBUG_CATEGORY_STATIC (musaugment_debug);
#define GST_CAT_DEFAULT musaugment_debug

#define GST_TYPE_MUSAUGMENT (gst_musaugment_get_type ())
G_DECLARE_FINAL_TYPE (GstMusaugment, gst_musaugment, GST, MUSAUGMENT,
    GstBaseTransform)
#define MUSAUGMENT_TAG "musaugment-provenance"
#define DEFAULT_SEED 0
#define DEFAULT_PROBABILITY MUSA_AUG_DEFAULT_PROBABILITY
#define DEFAULT_CHAIN "default"
#define DEFAULT_SEGMENT_DURATION 0.0
#define DEFAULT_POST_MESSAGES TRUE
#define DEFAULT_STREAM_KEY NULL
#define MAX_BLOCK 4096
#define DRAIN_BLOCKS 8
#define CROSSFADE_SECONDS 0.01
/* input timestamps further ahead than this of the frames counted jumped
 * (also without DISCONT); GstAudioBaseSink's default alignment-threshold */
#define ALIGNMENT_THRESHOLD (40 * GST_MSECOND)
/* a DISCONT buffer whose timestamp jumps ahead by at most this much is a
 * dropout (a leaky queue, a lost packet): the time missing is silence, as
 * without DISCONT; further (a new position) restarts the processing. The
 * jump without DISCONT has no limit of its own (only a GAP's hour), too
 * long for a DISCONT, which may also mean upstream moved. */
#define DISCONT_MAX_FILL (10 * GST_SECOND)
/* float samples beyond this (+80 dBFS) are no audio (uninitialised memory,
 * a wrong format): processed as silence, as NaN/Inf. Float audio may pass
 * full scale by a wide margin (a mix bus' headroom), never by 80 dB; and
 * values near FLT_MAX overflowed the stretcher's and the gain's arithmetic
 * to Inf/NaN. */
#define MAX_SAMPLE_MAGNITUDE 1e4f
/* A draw's tag event, to go out when the output reaches frame @at. */
     typedef struct
     {
       guint64 at;
       GstEvent *event;
     } PendingTag;

     enum
     {
       PROP_0,
       PROP_SEED,
       PROP_PROBABILITY,
       PROP_CHAIN,
       PROP_SEGMENT_DURATION,
       PROP_POST_MESSAGES,
       PROP_STREAM_KEY,
     };

     struct _GstMusaugment
     {
       GstBaseTransform parent;

       /* properties (object lock) */
       guint64 seed;
       gdouble probability;
       gchar *chain_spec;
       gdouble segment_duration;
       gboolean post_messages;
       gchar *stream_key;

       /* streaming thread */
       GstAudioInfo info;
       gboolean have_info;
       MusaAugmentChain *chain;
       gchar *parsed_spec;      /* the spec self->chain was parsed from */
       gchar *failed_spec;      /* the last spec that failed (posted once) */
       gchar *stream_id;
       gchar *file_key;         /* a local file's stream: its canonical URI
                                 * (see file_key_for) */
       gchar *draw_key;         /* the key of the session's draws: the
                                 * stream-key, else the file key, else the
                                 * stream id */
       MusaAugmentSession *session;
       gboolean bypass;         /* stream mode, identity draw: passthrough */
       gboolean segment_mode;
       gdouble stream_rate;     /* stream mode: the draw's stretch rate */
       gdouble seg_rate;        /* rate applied to the outgoing segment (0:
                                 * unknown: segment mode with stretch) */
       GstSegment in_segment;   /* the incoming segment (trans->segment is
                                 * the outgoing, scaled one) */
       GstClockTime base_pts;   /* output PTS of out_frames = 0 */
       GstClockTime draw_pts;   /* input time of the current draw's start */
       GstPadChainFunction base_chain;  /* the base class' */
       gboolean dropout;        /* the next buffer is a DISCONT one whose
                                 * jump ahead is filled with silence (the
                                 * flag taken off it) */
       GstClockTime resume_pts; /* segment mode with stretch: the output PTS
                                 * the next session starts at (after a
                                 * format change or a DISCONT restart within
                                 * the segment), else NONE */
       guint64 in_frames, out_frames;
       guint64 first_frame;     /* session: input position of in_frames 0 */
       guint64 segment_frames;  /* session: frames per draw (0: stream) */
       gboolean discont;
       gboolean reverse;        /* the segment plays backwards: the audio
                                 * passes untouched */
       /* the base (running time) of the last incoming segment, of the
        * outgoing one made of it, and the rate that segment was scaled by */
       gboolean have_base;
       guint64 in_base, out_base;
       gdouble base_rate;       /* 0: unknown (segment mode with stretch) */
       GstClockTime out_end_rt; /* running time of the end of the last
                                 * output buffer */
       gint64 latency_frames;
       gfloat *in_f32, *out_f32;
       gsize in_cap, out_cap;   /* floats */
       guint64 nan_count;
       MusaGstTags tags;        /* upstream's stream tags and ours */
       GQueue pending_tags;     /* PendingTag: draws' tags whose audio is
                                 * still to come (segment joins) */
     };


G_DEFINE_TYPE (GstMusaugment, gst_musaugment, GST_TYPE_BASE_TRANSFORM);

#define CAPS \
  "audio/x-raw, format = (string) { F32LE, S16LE, S32LE, F64LE }, " \
  "rate = (int) [ 8000, 192000 ], channels = (int) [ 1, 8 ], " \
  "layout = (string) interleaved"

     static GstStaticPadTemplate sink_template =
         GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS (CAPS));
     static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (CAPS));

     static void
         gst_musaugment_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstMusaugment *self = GST_MUSAUGMENT (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_SEED:
      self->seed = g_value_get_uint64 (value);
      break;
    case PROP_PROBABILITY:
      self->probability = g_value_get_double (value);
      break;
    case PROP_CHAIN:
      g_free (self->chain_spec);
      self->chain_spec = g_value_dup_string (value);
      break;
    case PROP_SEGMENT_DURATION:
      self->segment_duration = g_value_get_double (value);
      break;
    case PROP_POST_MESSAGES:
      self->post_messages = g_value_get_boolean (value);
      break;
    case PROP_STREAM_KEY:
      g_free (self->stream_key);
      self->stream_key = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_musaugment_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstMusaugment *self = GST_MUSAUGMENT (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_SEED:
      g_value_set_uint64 (value, self->seed);
      break;
    case PROP_PROBABILITY:
      g_value_set_double (value, self->probability);
      break;
    case PROP_CHAIN:
      g_value_set_string (value, self->chain_spec);
      break;
    case PROP_SEGMENT_DURATION:
      g_value_set_double (value, self->segment_duration);
      break;
    case PROP_POST_MESSAGES:
      g_value_set_boolean (value, self->post_messages);
      break;
    case PROP_STREAM_KEY:
      g_value_set_string (value, self->stream_key);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_musaugment_finalize (GObject * object)
{
  GstMusaugment *self = GST_MUSAUGMENT (object);

  g_free (self->chain_spec);
  g_free (self->parsed_spec);
  g_free (self->failed_spec);
  g_free (self->stream_key);
  g_free (self->stream_id);
  g_free (self->file_key);
  g_free (self->draw_key);
  musa_augment_session_free (self->session);
  musa_augment_chain_free (self->chain);
  g_free (self->in_f32);
  g_free (self->out_f32);
  musa_gst_tags_clear (&self->tags);
  G_OBJECT_CLASS (gst_musaugment_parent_class)->finalize (object);
}

/* ---- helpers ------------------------------------------------------------- */

static gboolean update_chain (GstMusaugment * self);

/* Grows geometrically: callers grow their output block by block, and exact
 * growth made that quadratic in the buffer size. */
static void
ensure_floats (gfloat ** buf, gsize * cap, gsize need)
{
  if (need > *cap) {
    gsize n = MAX (need, 2 * *cap);

    *buf = g_renew (gfloat, *buf, n);
    *cap = n;
  }
}

static GstClockTime
frames_to_time (GstMusaugment * self, guint64 frames)
{
  return gst_util_uint64_scale_round (frames, GST_SECOND,
      GST_AUDIO_INFO_RATE (&self->info));
}

/* @t on a timeline scaled by 1 / @rate (NONE stays NONE) */
static GstClockTime
scale_time (GstClockTime t, gdouble rate)
{
  if (!GST_CLOCK_TIME_IS_VALID (t) || rate == 1.0)
    return t;
  return (GstClockTime) (t / rate + 0.5);
}

/* The stream time of input time @pts (NONE without a TIME segment). A
 * buffer may start before the segment's start (one straddling it after a
 * seek, an appsrc): its stream time is the start's minus the difference,
 * not NONE (the draws restarted at segment index 0), clamped at 0. */
static GstClockTime
stream_time_of (GstMusaugment * self, GstClockTime pts)
{
  GstSegment *seg = &self->in_segment;
  guint64 st = 0;

  if (seg->format != GST_FORMAT_TIME || !GST_CLOCK_TIME_IS_VALID (pts))
    return GST_CLOCK_TIME_NONE;
  switch (gst_segment_to_stream_time_full (seg, GST_FORMAT_TIME, pts, &st)) {
    case 1:
      return st;
    case -1:                   /* before 0 */
      return 0;
    default:
      return GST_CLOCK_TIME_NONE;
  }
}

static gint64
current_latency (GstMusaugment * self)
{
  if (self->bypass || self->session == NULL)
    return 0;
  return musa_augment_session_latency (self->session);
}

/* @only_up: a draw within a session (segment mode) never lowers the
 * latency: the previous draw's held output still goes out with its delay,
 * and a sink told the lower figure dropped it as late (a pitch draw's 77 ms
 * followed by a 25 ms one lost a buffer at the join, live) */
static void
update_latency (GstMusaugment * self, gboolean only_up)
{
  gint64 l = current_latency (self);

  if (only_up && l < self->latency_frames)
    return;
  if (l != self->latency_frames) {
    /* the LATENCY query reads it from another thread */
    GST_OBJECT_LOCK (self);
    self->latency_frames = l;
    GST_OBJECT_UNLOCK (self);
    GST_DEBUG_OBJECT (self, "latency now %" G_GINT64_FORMAT " frames", l);
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_latency (GST_OBJECT (self)));
  }
}

/* The key of the draws (object lock held): the stream-key, else a local
 * file's canonical URI, else the stream id; "" when there is none. */
static const gchar *
draw_key_locked (GstMusaugment * self)
{
  if (self->stream_key)
    return self->stream_key;
  if (self->file_key)
    return self->file_key;
  return self->stream_id ? self->stream_id : "";
}

/* The key of a local file's stream (at STREAM_START): the file's canonical
 * URI (g_filename_to_uri of its realpath: no "//", ".", ".." or symlinks),
 * followed by what a demuxer added to the source's stream id (e.g. "/0001"
 * for a track), so that the same file gives the same draws however its path
 * is written. The stream id GStreamer gives a file is the SHA-256 of the URI
 * as written (gst_pad_create_stream_id): /tmp/set1/a.wav, /tmp/set1//a.wav
 * and a symlinked folder made three different draws of one file. NULL (the
 * stream id stays the key) when upstream answers no file:// URI, the file is
 * not there, or the stream id was not made from that URI (a source or an
 * element upstream that names streams its own way). */
static gchar *
file_key_for (GstMusaugment * self, const gchar * stream_id)
{
  GstQuery *q;
  gchar *uri = NULL, *hash = NULL, *path = NULL, *real = NULL;
  gchar *canon = NULL, *key = NULL;

  if (stream_id == NULL)
    return NULL;
  q = gst_query_new_uri ();
  if (gst_pad_peer_query (GST_BASE_TRANSFORM_SINK_PAD (self), q))
    gst_query_parse_uri (q, &uri);
  gst_query_unref (q);
  if (uri == NULL || !gst_uri_has_protocol (uri, "file"))
    goto done;
  hash = g_compute_checksum_for_string (G_CHECKSUM_SHA256, uri, -1);
  if (!g_str_has_prefix (stream_id, hash)) {
    GST_DEBUG_OBJECT (self, "stream id %s not from the URI %s", stream_id, uri);
    goto done;
  }
  path = g_filename_from_uri (uri, NULL, NULL);
  if (path == NULL)
    goto done;
#ifdef G_OS_UNIX
  {
    char *r = realpath (path, NULL);

    real = r ? g_strdup (r) : NULL;
    free (r);
  }
#else
  real = g_canonicalize_filename (path, NULL);
#endif
  if (real == NULL) {
    GST_DEBUG_OBJECT (self, "no real path for %s", path);
    goto done;
  }
  canon = g_filename_to_uri (real, NULL, NULL);
  if (canon)
    key = g_strconcat (canon, stream_id + strlen (hash), NULL);
  GST_DEBUG_OBJECT (self, "URI %s: key %s", uri, GST_STR_NULL (key));
done:
  g_free (uri);
  g_free (hash);
  g_free (path);
  g_free (real);
  g_free (canon);
  return key;
}

/* Message and tags for @d, which starts at input time @pts. */
static void
announce_draw (GstMusaugment * self, const MusaAugmentDraw * d,
    GstClockTime pts, GstClockTime duration)
{
  GstSegment *seg = &self->in_segment;
  GstClockTime st = GST_CLOCK_TIME_NONE, rt = GST_CLOCK_TIME_NONE;
  const gchar *key = self->draw_key ? self->draw_key : "";
  gchar *desc;
  gint len;
  GstTagList *tags;
  GstEvent *event;
  gchar *comment;
  gboolean post;
  gsize pending;
  int i, j;

  /* the key (a file's path) may be long */
  len = musa_augment_draw_describe_key (d, key, NULL, 0);
  desc = g_malloc (MAX (len, 0) + 1);
  musa_augment_draw_describe_key (d, key, desc, MAX (len, 0) + 1);
  GST_INFO_OBJECT (self, "draw: %s", desc);

  GST_OBJECT_LOCK (self);
  post = self->post_messages;
  GST_OBJECT_UNLOCK (self);

  /* times only on a TIME segment (appsrc's default is BYTES) */
  if (seg->format == GST_FORMAT_TIME) {
    st = stream_time_of (self, pts);
    rt = gst_segment_to_running_time (seg, GST_FORMAT_TIME, pts);
  }
  if (post) {
    GstStructure *s;
    GValue effects = G_VALUE_INIT;

    g_value_init (&effects, GST_TYPE_ARRAY);
    for (i = 0; i < d->n_effects; i++) {
      const MusaAugmentEffect *e = &d->effects[i];
      GstStructure *es = gst_structure_new_empty (e->name);
      GValue v = G_VALUE_INIT;

      for (j = 0; j < e->n_params; j++) {
        if (e->params[j].choice)
          gst_structure_set (es, e->params[j].name, G_TYPE_STRING,
              e->params[j].choice, NULL);
        else
          gst_structure_set (es, e->params[j].name, G_TYPE_DOUBLE,
              e->params[j].value, NULL);
      }
      g_value_init (&v, GST_TYPE_STRUCTURE);
      gst_value_set_structure (&v, es);
      gst_structure_free (es);
      gst_value_array_append_and_take_value (&effects, &v);
    }
    s = gst_structure_new ("musaugment",
        "timestamp", G_TYPE_UINT64, pts,
        "stream-time", G_TYPE_UINT64, st, "running-time", G_TYPE_UINT64, rt,
        "duration", G_TYPE_UINT64, duration,
        "applied", G_TYPE_BOOLEAN, d->applied != 0,
        "seed", G_TYPE_UINT64, d->seed,
        "stream-id", G_TYPE_STRING, key,
        "segment-index", G_TYPE_UINT64, d->segment,
        "key-shift", G_TYPE_DOUBLE, d->key_shift,
        "tempo-factor", G_TYPE_DOUBLE, d->tempo_factor,
        "duration-factor", G_TYPE_DOUBLE, d->duration_factor,
        "weight", G_TYPE_DOUBLE, d->weight,
        "description", G_TYPE_STRING, desc, NULL);
    gst_structure_take_value (s, "effects", &effects);
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_element (GST_OBJECT (self), s));
  }

  tags = gst_tag_list_new_empty ();
  comment = g_strdup_printf ("musaugment=%s", desc);
  gst_tag_list_add (tags, GST_TAG_MERGE_REPLACE_ALL, MUSAUGMENT_TAG, desc,
      GST_TAG_EXTENDED_COMMENT, comment, NULL);
  g_free (comment);
  g_free (desc);
  event = musa_gst_tags_own_event (&self->tags, tags);
  /* at a join the previous draw's last frames (its look-ahead, the
   * stretcher's delay) are still to come: the tag waits for them */
  pending = musa_augment_session_join_pending (self->session);
  if (pending == 0 && g_queue_is_empty (&self->pending_tags)) {
    gst_pad_push_event (GST_BASE_TRANSFORM_SRC_PAD (self), event);
  } else {
    PendingTag *t = g_new (PendingTag, 1);

    t->at = self->out_frames + pending;
    t->event = event;
    g_queue_push_tail (&self->pending_tags, t);
  }
}

/* Drops the tags still waiting (@push FALSE: a flush discards their audio)
 * or sends them (TRUE: the stream ends before their place). */
static void
flush_pending_tags (GstMusaugment * self, gboolean push)
{
  PendingTag *t;

  while ((t = g_queue_pop_head (&self->pending_tags)) != NULL) {
    if (push)
      gst_pad_push_event (GST_BASE_TRANSFORM_SRC_PAD (self), t->event);
    else
      gst_event_unref (t->event);
    g_free (t);
  }
}

/* Output frames @from .. @from + @frames of out_f32 to the outgoing buffer
 * format. */
static GstBuffer *
make_output (GstMusaugment * self, gsize from, gsize frames)
{
  const gint ch = GST_AUDIO_INFO_CHANNELS (&self->info);
  const gfloat *src = self->out_f32 + from * (gsize) ch;
  GstBuffer *out;
  GstMapInfo map;
  GstClockTime t0, t1;

  out = gst_buffer_new_allocate (NULL, frames * GST_AUDIO_INFO_BPF
      (&self->info), NULL);
  gst_buffer_map (out, &map, GST_MAP_WRITE);
  switch (GST_AUDIO_INFO_FORMAT (&self->info)) {
    case GST_AUDIO_FORMAT_S16LE:
      musa_augment_f32_to_s16 (src, (gint16 *) map.data, frames * (gsize) ch);
      break;
    case GST_AUDIO_FORMAT_S32LE:
      musa_augment_f32_to_s32 (src, (gint32 *) map.data, frames * (gsize) ch);
      break;
    case GST_AUDIO_FORMAT_F64LE:
      musa_augment_f32_to_f64 (src, (gdouble *) map.data, frames * (gsize) ch);
      break;
    default:
      memcpy (map.data, src, frames * (gsize) ch * sizeof (gfloat));
      break;
  }
  gst_buffer_unmap (out, &map);

  if (GST_CLOCK_TIME_IS_VALID (self->base_pts)) {
    t0 = self->base_pts + frames_to_time (self, self->out_frames);
    t1 = self->base_pts + frames_to_time (self, self->out_frames + frames);
    GST_BUFFER_PTS (out) = t0;
    GST_BUFFER_DURATION (out) = t1 - t0;
    if (GST_BASE_TRANSFORM (self)->segment.format == GST_FORMAT_TIME)
      self->out_end_rt = gst_segment_to_running_time (&GST_BASE_TRANSFORM
          (self)->segment, GST_FORMAT_TIME, t1);
  }
  GST_BUFFER_OFFSET (out) = self->out_frames;
  GST_BUFFER_OFFSET_END (out) = self->out_frames + frames;
  if (self->discont) {
    GST_BUFFER_FLAG_SET (out, GST_BUFFER_FLAG_DISCONT);
    self->discont = FALSE;
  }
  self->out_frames += frames;
  return out;
}

/* Sends the first @frames frames of out_f32 downstream, each waiting tag
 * where its audio starts; with @last, the part after the last tag is
 * returned there for the caller to send (tags due at its end wait). */
static GstFlowReturn
push_output (GstMusaugment * self, gsize frames, GstBuffer ** last)
{
  GstPad *srcpad = GST_BASE_TRANSFORM_SRC_PAD (self);
  GstFlowReturn ret = GST_FLOW_OK;
  PendingTag *t;
  gsize from = 0;

  while (ret == GST_FLOW_OK
      && (t = g_queue_peek_head (&self->pending_tags)) != NULL) {
    guint64 end = self->out_frames + (frames - from);
    gsize k;

    if (t->at > end || (last != NULL && t->at == end && from < frames))
      break;
    k = t->at > self->out_frames ? (gsize) (t->at - self->out_frames) : 0;
    if (k > 0) {
      ret = gst_pad_push (srcpad, make_output (self, from, k));
      from += k;
    }
    g_queue_pop_head (&self->pending_tags);
    gst_pad_push_event (srcpad, t->event);
    g_free (t);
  }
  if (ret != GST_FLOW_OK || from == frames)
    return ret;
  if (last != NULL) {
    *last = make_output (self, from, frames - from);
    return GST_FLOW_OK;
  }
  return gst_pad_push (srcpad, make_output (self, from, frames - from));
}

static void
drop_session (GstMusaugment * self)
{
  flush_pending_tags (self, FALSE);
  musa_augment_session_free (self->session);
  self->session = NULL;
  self->bypass = FALSE;
}

static gboolean
draw_error (GstMusaugment * self, const MusaError * err)
{
  GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS,
      ("Invalid augmentation settings (%s)", err->property[0] ?
          err->property : "chain"), ("%s: %s", err->property[0] ?
          err->property : "chain", err->message));
  return FALSE;
}

/* Makes the next draw of the session, announces it. */
static gboolean
next_draw (GstMusaugment * self)
{
  const MusaAugmentDraw *d;
  MusaError err;
  GstClockTime pts = GST_CLOCK_TIME_NONE, dur = GST_CLOCK_TIME_NONE;

  musa_error_clear (&err);
  d = musa_augment_session_next_draw (self->session, &err);
  if (d == NULL)
    return draw_error (self, &err);
  if (GST_CLOCK_TIME_IS_VALID (self->draw_pts))
    pts = self->draw_pts + frames_to_time (self, self->in_frames);
  if (self->segment_mode) {
    /* the input the draw covers: to the end of the segment it starts in
     * (the rest of one after a seek), in whole frames as the session
     * counts them, so that the draws' messages are contiguous */
    guint64 pos = self->first_frame + self->in_frames;
    guint64 end = (pos / self->segment_frames + 1) * self->segment_frames;

    dur = frames_to_time (self, end - self->first_frame) -
        frames_to_time (self, self->in_frames);
  }
  announce_draw (self, d, pts, dur);
  update_latency (self, TRUE);
  return TRUE;
}

/* The session for the stream starting with @buf (first buffer after a
 * stream start, segment, flush or caps). */
static gboolean
start_session (GstMusaugment * self, GstBuffer * buf)
{
  MusaAugmentSessionConfig cfg;
  const MusaAugmentDraw *d;
  MusaError err;
  const gchar *key;
  gint rate = GST_AUDIO_INFO_RATE (&self->info);
  GstClockTime pts = GST_BUFFER_PTS (buf), st;

  if (!update_chain (self))
    return FALSE;
  musa_error_clear (&err);
  memset (&cfg, 0, sizeof (cfg));
  GST_OBJECT_LOCK (self);
  cfg.probability = self->probability;
  cfg.seed = self->seed;
  key = draw_key_locked (self);
  cfg.stream_hash = musa_rng_hash_string (key);
  g_free (self->draw_key);
  self->draw_key = g_strdup (key);
  /* at least a frame: any segment-duration > 0 is segment mode, as the
   * outgoing segment was made (SEGMENT event) */
  cfg.segment_frames = self->segment_duration > 0.0 ?
      MAX (1, (guint64) llround (self->segment_duration * rate)) : 0;
  GST_OBJECT_UNLOCK (self);
  cfg.chain = self->chain;
  cfg.sample_rate = rate;
  cfg.channels = GST_AUDIO_INFO_CHANNELS (&self->info);
  cfg.crossfade_frames = (size_t) llround (CROSSFADE_SECONDS * rate);
  cfg.max_block = MAX_BLOCK;
  self->segment_mode = cfg.segment_frames > 0;
  /* position in the stream (after a seek): the segment index */
  st = stream_time_of (self, pts);
  cfg.first_frame = GST_CLOCK_TIME_IS_VALID (st) ?
      gst_util_uint64_scale_round (st, rate, GST_SECOND) : 0;

  self->session = musa_augment_session_new (&cfg, &err);
  if (self->session == NULL)
    return draw_error (self, &err);
  self->first_frame = cfg.first_frame;
  self->segment_frames = cfg.segment_frames;
  self->draw_pts = pts;
  self->in_frames = 0;
  self->out_frames = 0;
  self->discont = TRUE;
  if (!next_draw (self))
    return FALSE;
  d = musa_augment_session_draw (self->session);
  self->bypass = !self->segment_mode && musa_augment_draw_is_identity (d);
  self->stream_rate = self->segment_mode ? 1.0 : d->rate;
  /* output timeline: the input timeline scaled by 1 / rate, as the
   * outgoing segment is (see the SEGMENT event) */
  if (GST_CLOCK_TIME_IS_VALID (pts) && self->stream_rate != 1.0)
    self->base_pts = scale_time (pts, self->stream_rate);
  else
    self->base_pts = pts;
  /* segment mode with stretch: the outgoing timeline is the draws' output
   * end to end, not the input's; after a format change or a DISCONT within
   * the segment it goes on where the output ended (it restarted at the
   * input's PTS, inside the time the stretched output had covered) */
  if (self->segment_mode && musa_augment_chain_min_rate (self->chain) != 1.0
      && GST_CLOCK_TIME_IS_VALID (pts)
      && GST_CLOCK_TIME_IS_VALID (self->resume_pts))
    self->base_pts = self->resume_pts;
  self->resume_pts = GST_CLOCK_TIME_NONE;
  update_latency (self, FALSE);
  return TRUE;
}

/* Before the next @frames of a drain go out: when they end past the
 * outgoing segment's stop (the tails of a segment seek's segment, of a
 * stream whose segment has a stop), where a sink clipped them, the segment
 * is opened (stop NONE, pushed again); the next segment's base then starts
 * after them (see the SEGMENT event). */
static void
open_segment_stop (GstMusaugment * self, gsize frames)
{
  GstBaseTransform *trans = GST_BASE_TRANSFORM (self);
  GstSegment seg;
  GstClockTime end;
  GstEvent *event;

  if (trans->segment.format != GST_FORMAT_TIME || trans->segment.rate < 0.0
      || !GST_CLOCK_TIME_IS_VALID (trans->segment.stop)
      || !GST_CLOCK_TIME_IS_VALID (self->base_pts))
    return;
  end = self->base_pts + frames_to_time (self, self->out_frames + frames);
  if (end <= trans->segment.stop + frames_to_time (self, 1))
    return;
  GST_DEBUG_OBJECT (self, "tail to %" GST_TIME_FORMAT ", past the segment's "
      "stop %" GST_TIME_FORMAT ": segment opened", GST_TIME_ARGS (end),
      GST_TIME_ARGS (trans->segment.stop));
  GST_OBJECT_LOCK (self);
  trans->segment.stop = GST_CLOCK_TIME_NONE;
  seg = trans->segment;
  GST_OBJECT_UNLOCK (self);
  event = gst_event_new_segment (&seg);
  gst_pad_push_event (GST_BASE_TRANSFORM_SRC_PAD (self), event);
}

/* Drains the session (end of stream or of the current segment) and pushes
 * what comes out; with @ring_out FALSE only the output the input so far
 * owes (the frames held back by look-ahead and the stretcher: audio of the
 * input), and of the effects' tails after it at most @gap (output time):
 * the time until the next audio starts (a format change mid-stream: 0, the
 * next audio follows at once; a DISCONT far ahead: the jump), so that no
 * tail overlaps the next audio in time. */
static GstFlowReturn
drain_full (GstMusaugment * self, gboolean ring_out, GstClockTime gap)
{
  const gint ch = GST_AUDIO_INFO_CHANNELS (&self->info);
  gsize w = 0, got, owed = G_MAXSIZE;
  GstFlowReturn ret = GST_FLOW_OK;
  GstClockTime resume = GST_CLOCK_TIME_NONE;

  self->resume_pts = GST_CLOCK_TIME_NONE;
  if (self->session == NULL || self->bypass) {
    drop_session (self);
    return GST_FLOW_OK;
  }
  if (!ring_out) {
    const MusaAugmentDraw *d = musa_augment_session_draw (self->session);
    gdouble rate = d && d->rate > 0.0 ? d->rate : 1.0;

    gint64 held = llround (musa_augment_session_latency (self->session) /
        rate), left = llround (self->in_frames / rate) - (gint64)
        self->out_frames;

    /* one draw: output frame j is input time j x rate, so the input so far
     * owes round (in_frames / rate) frames in all; with draws per segment
     * (rates change at the joins) at most what the current draw holds */
    owed = (gsize) MAX (0, MIN (held, left));
    /* where the next audio goes on the output timeline (segment mode with
     * stretch: see start_session) */
    if (GST_CLOCK_TIME_IS_VALID (self->base_pts))
      resume = self->base_pts + frames_to_time (self, self->out_frames +
          owed) + gap;
    owed += (gsize) gst_util_uint64_scale (gap, GST_AUDIO_INFO_RATE
        (&self->info), GST_SECOND);
  }
  /* the tail goes out in buffers of about DRAIN_BLOCKS blocks: an echo
   * with a long delay and strong feedback rings for minutes, too much to
   * collect in one buffer */
  while (ret == GST_FLOW_OK) {
    gsize need = w + musa_augment_session_max_output (self->session, 0);

    ensure_floats (&self->out_f32, &self->out_cap, need * (gsize) ch);
    if (musa_augment_session_finish (self->session,
            self->out_f32 + w * (gsize) ch, self->out_cap / (gsize) ch - w,
            &got) != MUSA_OK) {
      GST_ELEMENT_ERROR (self, STREAM, FAILED, (NULL),
          ("augmentation failed while draining"));
      drop_session (self);
      return GST_FLOW_ERROR;
    }
    if (got > owed)
      got = owed;
    owed -= got;
    w += got;
    if (w > 0 && (got == 0 || owed == 0 || w >= DRAIN_BLOCKS * MAX_BLOCK)) {
      GST_DEBUG_OBJECT (self, "drained %" G_GSIZE_FORMAT " frames", w);
      if (ring_out)
        open_segment_stop (self, w);
      ret = push_output (self, w, NULL);
      w = 0;
    }
    if (got == 0 || owed == 0)
      break;
  }
  /* tags whose place the output did not reach (a draw in the last
   * frames, its audio cut at the stream's end) still go out */
  if (ret == GST_FLOW_OK)
    flush_pending_tags (self, TRUE);
  drop_session (self);
  self->resume_pts = resume;
  return ret;
}

static GstFlowReturn
drain (GstMusaugment * self)
{
  return drain_full (self, TRUE, 0);
}

/* (Re)parses the chain property when it changed; FALSE (element error
 * naming `chain`) when it does not parse. */
static gboolean
update_chain (GstMusaugment * self)
{
  MusaAugmentChain *c;
  MusaError err;
  gchar *spec;

  GST_OBJECT_LOCK (self);
  spec = g_strdup (self->chain_spec);
  GST_OBJECT_UNLOCK (self);
  if (self->chain && g_strcmp0 (spec, self->parsed_spec) == 0) {
    g_free (spec);
    return TRUE;
  }
  musa_error_clear (&err);
  c = musa_augment_chain_parse (spec, &err);
  if (c == NULL) {
    /* once per run and spec: the segment and the first buffer both ask */
    if (g_strcmp0 (spec, self->failed_spec) != 0)
      GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS,
          ("Invalid chain spec (chain)"), ("chain: %s", err.message));
    g_free (self->failed_spec);
    self->failed_spec = spec;
    return FALSE;
  }
  g_clear_pointer (&self->failed_spec, g_free);
  musa_augment_chain_free (self->chain);
  self->chain = c;
  g_free (self->parsed_spec);
  self->parsed_spec = spec;
  return TRUE;
}

/* ---- GstBaseTransform ---------------------------------------------------- */

static gboolean
gst_musaugment_start (GstBaseTransform * trans)
{
  GstMusaugment *self = GST_MUSAUGMENT (trans);
  gdouble prob, segdur;

  GST_OBJECT_LOCK (self);
  prob = self->probability;
  segdur = self->segment_duration;
  GST_OBJECT_UNLOCK (self);
  if (!update_chain (self))
    return FALSE;
  if (!(prob >= 0.0 && prob <= 1.0) || !(segdur >= 0.0)) {
    GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS, ("Invalid settings"),
        ("%s out of range", prob >= 0.0 && prob <= 1.0 ?
            "segment-duration" : "probability"));
    return FALSE;
  }
  GST_OBJECT_LOCK (self);
  self->have_info = FALSE;
  self->latency_frames = 0;
  GST_OBJECT_UNLOCK (self);
  self->seg_rate = 1.0;
  self->reverse = FALSE;
  self->have_base = FALSE;
  self->out_end_rt = GST_CLOCK_TIME_NONE;
  self->resume_pts = GST_CLOCK_TIME_NONE;
  gst_segment_init (&self->in_segment, GST_FORMAT_TIME);
  self->nan_count = 0;
  return TRUE;
}

static gboolean
gst_musaugment_stop (GstBaseTransform * trans)
{
  GstMusaugment *self = GST_MUSAUGMENT (trans);

  drop_session (self);
  musa_augment_chain_free (self->chain);
  self->chain = NULL;
  g_clear_pointer (&self->parsed_spec, g_free);
  g_clear_pointer (&self->failed_spec, g_free);
  g_clear_pointer (&self->stream_id, g_free);
  g_clear_pointer (&self->file_key, g_free);
  g_clear_pointer (&self->draw_key, g_free);
  musa_gst_tags_clear (&self->tags);
  return TRUE;
}

static gboolean
gst_musaugment_set_caps (GstBaseTransform * trans, GstCaps * incaps,
    GstCaps * outcaps)
{
  GstMusaugment *self = GST_MUSAUGMENT (trans);
  GstAudioInfo info;

  if (!gst_audio_info_from_caps (&info, incaps))
    return FALSE;
  if (self->have_info && gst_audio_info_is_equal (&info, &self->info))
    return TRUE;
  /* a format change: end what was running in the old format (its held
   * audio, not the tails: the new format's audio follows at once) */
  if (self->session)
    drain_full (self, FALSE, 0);
  GST_OBJECT_LOCK (self);
  self->info = info;
  self->have_info = TRUE;
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static MusaSampleFormat
sample_format (const GstAudioInfo * info)
{
  switch (GST_AUDIO_INFO_FORMAT (info)) {
    case GST_AUDIO_FORMAT_S16LE:
      return MUSA_SAMPLE_S16;
    case GST_AUDIO_FORMAT_S32LE:
      return MUSA_SAMPLE_S32;
    case GST_AUDIO_FORMAT_F64LE:
      return MUSA_SAMPLE_F64;
    default:
      return MUSA_SAMPLE_F32;
  }
}

static gboolean process_gap (GstMusaugment * self, GstEvent * event);

/* Sets the finite samples of @x beyond MAX_SAMPLE_MAGNITUDE to 0 (NaN/Inf
 * are already); returns how many. */
static gsize
silence_absurd (gfloat * x, gsize n)
{
  gsize i, bad = 0;

  for (i = 0; i < n; i++) {
    if (G_UNLIKELY (fabsf (x[i]) > MAX_SAMPLE_MAGNITUDE)) {
      x[i] = 0.0f;
      bad++;
    }
  }
  return bad;
}

/* Runs @in (owned) through the session; *outbuf = what is ready (or NULL). */
static GstFlowReturn
process_buffer (GstMusaugment * self, GstBuffer * in, GstBuffer ** outbuf)
{
  const gint ch = GST_AUDIO_INFO_CHANNELS (&self->info);
  GstMapInfo map;
  gsize frames, pos = 0, w = 0, nan;
  gboolean dropout = self->dropout;

  *outbuf = NULL;
  self->dropout = FALSE;
  if (!self->have_info) {
    gst_buffer_unref (in);
    return GST_FLOW_NOT_NEGOTIATED;
  }
  if (self->reverse) {
    *outbuf = in;
    return GST_FLOW_OK;
  }
  /* timestamps that jump ahead without the DISCONT flag (a live source's
   * dropout, a do-timestamp appsrc that got nothing for a while, a live
   * source resumed after PAUSED): the time missing is silence, as for a
   * GAP event (tails ring on, the output timeline stays the input's);
   * behind (a do-timestamp appsrc fed in bursts) is not a jump. A DISCONT
   * buffer a little ahead (see dropout_jump) comes here too, without the
   * flag: any jump of it is filled. */
  if (self->session && !self->bypass && self->in_frames > 0
      && !GST_BUFFER_IS_DISCONT (in) && GST_BUFFER_PTS_IS_VALID (in)
      && GST_CLOCK_TIME_IS_VALID (self->draw_pts)) {
    GstClockTime expect = self->draw_pts + frames_to_time (self,
        self->in_frames);

    if (GST_BUFFER_PTS (in) > expect + (dropout ? frames_to_time (self, 1) :
            ALIGNMENT_THRESHOLD)) {
      GstEvent *gap = gst_event_new_gap (expect, GST_BUFFER_PTS (in) - expect);

      GST_DEBUG_OBJECT (self, "timestamps jumped ahead by %" GST_TIME_FORMAT
          ": silence", GST_TIME_ARGS (GST_BUFFER_PTS (in) - expect));
      if (!process_gap (self, gap))
        GST_BUFFER_FLAG_SET (in, GST_BUFFER_FLAG_DISCONT);
      gst_event_unref (gap);
    }
  }
  /* a discontinuity (timestamp jump without flush) behind, or further
   * ahead than a dropout (DISCONT_MAX_FILL, see dropout_jump): end what ran
   * with the audio it held and no more tail than fits before the next
   * audio, restart the draw's processing on the new timeline (the whole
   * tail went out, then the next audio restarted inside the time it had
   * covered) */
  if (self->session && GST_BUFFER_IS_DISCONT (in) && self->in_frames > 0
      && GST_BUFFER_PTS_IS_VALID (in)
      && GST_CLOCK_TIME_IS_VALID (self->draw_pts)) {
    GstClockTime expect = self->draw_pts + frames_to_time (self,
        self->in_frames);
    GstClockTimeDiff jump = GST_CLOCK_DIFF (expect, GST_BUFFER_PTS (in));

    if (ABS (jump) > (GstClockTimeDiff) frames_to_time (self, 1)) {
      GstFlowReturn ret;
      GstClockTime gap = 0;

      GST_DEBUG_OBJECT (self, "discontinuity of %" GST_STIME_FORMAT,
          GST_STIME_ARGS (jump));
      /* the time up to the next audio on the output timeline: scaled by
       * the draw's rate in stream mode, as the timestamps are */
      if (jump > 0)
        gap = self->segment_mode ? (GstClockTime) jump :
            scale_time ((GstClockTime) jump, self->stream_rate);
      ret = drain_full (self, FALSE, gap);
      if (ret != GST_FLOW_OK) {
        gst_buffer_unref (in);
        return ret;
      }
    }
  }
  if (self->session == NULL && !start_session (self, in)) {
    gst_buffer_unref (in);
    return GST_FLOW_ERROR;
  }
  if (self->bypass) {
    *outbuf = in;
    return GST_FLOW_OK;
  }

  gst_buffer_map (in, &map, GST_MAP_READ);
  frames = map.size / GST_AUDIO_INFO_BPF (&self->info);
  ensure_floats (&self->in_f32, &self->in_cap, frames * (gsize) ch);
  if (GST_BUFFER_FLAG_IS_SET (in, GST_BUFFER_FLAG_GAP)) {
    memset (self->in_f32, 0, frames * (gsize) ch * sizeof (gfloat));
  } else {
    nan = musa_audio_to_f32 (map.data, sample_format (&self->info), ch,
        frames, self->in_f32);
    if (sample_format (&self->info) == MUSA_SAMPLE_F32
        || sample_format (&self->info) == MUSA_SAMPLE_F64)
      nan += silence_absurd (self->in_f32, frames * (gsize) ch);
    if (nan > 0) {
      /* one warning per stream, the count at its end (not one per buffer:
       * a stream of NaN would flood the bus) */
      if (self->nan_count == 0)
        GST_ELEMENT_WARNING (self, STREAM, FORMAT,
            ("NaN, infinite or absurdly large (beyond +80 dBFS) samples in "
                "the input are processed as silence (a count follows at the "
                "end of the stream)"),
            ("%" G_GSIZE_FORMAT " such samples in this buffer", nan));
      self->nan_count += nan;
    }
  }
  gst_buffer_unmap (in, &map);

  while (pos < frames) {
    gsize room = musa_augment_session_room (self->session), n, got;

    if (room == 0) {
      /* the output so far goes out before the next draw's tags, which
       * describe the audio after it */
      if (w > 0) {
        GstFlowReturn ret = push_output (self, w, NULL);

        w = 0;
        if (ret != GST_FLOW_OK) {
          gst_buffer_unref (in);
          return ret;
        }
      }
      if (!next_draw (self)) {
        gst_buffer_unref (in);
        return GST_FLOW_ERROR;
      }
      continue;
    }
    n = MIN (room, frames - pos);
    ensure_floats (&self->out_f32, &self->out_cap, (w +
            musa_augment_session_max_output (self->session, n)) * (gsize) ch);
    if (musa_augment_session_process (self->session,
            self->in_f32 + pos * (gsize) ch, n,
            self->out_f32 + w * (gsize) ch, self->out_cap / (gsize) ch - w,
            &got) != MUSA_OK) {
      GST_ELEMENT_ERROR (self, STREAM, FAILED, (NULL), ("augmentation failed"));
      gst_buffer_unref (in);
      return GST_FLOW_ERROR;
    }
    w += got;
    pos += n;
    self->in_frames += n;
  }
  gst_buffer_unref (in);
  if (w > 0)
    return push_output (self, w, outbuf);
  return GST_FLOW_OK;
}

/* How far ahead of the input so far a DISCONT buffer @in starts, when that
 * is a dropout (a leaky queue, a lost packet: more than a frame, at most
 * DISCONT_MAX_FILL) to fill with silence; else 0. */
static GstClockTime
dropout_jump (GstMusaugment * self, GstBuffer * in)
{
  GstClockTime expect;

  if (!self->have_info || self->reverse || self->session == NULL
      || self->bypass || self->in_frames == 0 || !GST_BUFFER_PTS_IS_VALID (in)
      || !GST_CLOCK_TIME_IS_VALID (self->draw_pts))
    return 0;
  expect = self->draw_pts + frames_to_time (self, self->in_frames);
  if (GST_BUFFER_PTS (in) > expect + frames_to_time (self, 1)
      && GST_BUFFER_PTS (in) - expect <= DISCONT_MAX_FILL)
    return GST_BUFFER_PTS (in) - expect;
  return 0;
}

/* The sink pad's chain function, before the base class': a DISCONT buffer
 * after a dropout loses its flag, so that its output, which goes on
 * continuously after the silence, is not marked DISCONT (the base class
 * marks the next output of a DISCONT input so before the subclass sees
 * it). */
static GstFlowReturn
gst_musaugment_chain (GstPad * pad, GstObject * parent, GstBuffer * buf)
{
  GstMusaugment *self = GST_MUSAUGMENT (parent);

  self->dropout = FALSE;
  if (GST_BUFFER_IS_DISCONT (buf) && dropout_jump (self, buf) > 0) {
    GST_DEBUG_OBJECT (self, "DISCONT %" GST_TIME_FORMAT " ahead: a dropout, "
        "filled with silence", GST_TIME_ARGS (dropout_jump (self, buf)));
    buf = gst_buffer_make_writable (buf);
    GST_BUFFER_FLAG_UNSET (buf, GST_BUFFER_FLAG_DISCONT);
    self->dropout = TRUE;
  }
  return self->base_chain (pad, parent, buf);
}

static GstFlowReturn
gst_musaugment_generate_output (GstBaseTransform * trans, GstBuffer ** outbuf)
{
  GstMusaugment *self = GST_MUSAUGMENT (trans);
  GstBuffer *in = trans->queued_buf;

  *outbuf = NULL;
  if (in == NULL)
    return GST_FLOW_OK;
  trans->queued_buf = NULL;
  return process_buffer (self, in, outbuf);
}

/* A GAP event while a draw is processing: silence through the chain (the
 * tails go on, the stretched timeline stays consistent), in pieces of at
 * most a second (a gap may last up to an hour). FALSE when the event should
 * just pass on. */
static gboolean
process_gap (GstMusaugment * self, GstEvent * event)
{
  const gint rate = GST_AUDIO_INFO_RATE (&self->info);
  GstClockTime ts, dur;
  guint64 frames, done;

  if (!self->have_info || self->reverse || (self->session && self->bypass))
    return FALSE;
  gst_event_parse_gap (event, &ts, &dur);
  if (!GST_CLOCK_TIME_IS_VALID (ts) || !GST_CLOCK_TIME_IS_VALID (dur))
    return FALSE;
  /* a gap that overlaps the audio already taken adds only what lies beyond
   * it (a gap at 2.5 s for 1 s after audio up to 3 s made the output 0.5 s
   * longer than the input, and everything after it late) */
  if (self->session && self->in_frames > 0
      && GST_CLOCK_TIME_IS_VALID (self->draw_pts)) {
    GstClockTime expect = self->draw_pts + frames_to_time (self,
        self->in_frames);

    if (ts + frames_to_time (self, 1) / 2 < expect) {
      if (ts + dur <= expect)
        return TRUE;            /* all of it was audio: nothing to add */
      dur = ts + dur - expect;
      ts = expect;
    }
  }
  frames = gst_util_uint64_scale_round (dur, rate, GST_SECOND);
  if (frames == 0 || frames > (guint64) rate * 3600)
    return FALSE;
  for (done = 0; done < frames;) {
    guint64 n = MIN (frames - done, (guint64) rate);
    GstBuffer *b, *out = NULL;
    GstClockTime t0 = ts + gst_util_uint64_scale_round (done, GST_SECOND,
        rate);

    b = gst_buffer_new_allocate (NULL, n * GST_AUDIO_INFO_BPF (&self->info),
        NULL);
    gst_buffer_memset (b, 0, 0, gst_buffer_get_size (b));
    GST_BUFFER_PTS (b) = t0;
    GST_BUFFER_DURATION (b) = ts + gst_util_uint64_scale_round (done + n,
        GST_SECOND, rate) - t0;
    GST_BUFFER_FLAG_SET (b, GST_BUFFER_FLAG_GAP);
    if (process_buffer (self, b, &out) != GST_FLOW_OK)
      return TRUE;
    if (self->bypass) {
      /* the draw (made on this gap) leaves the audio alone */
      gst_buffer_unref (out);
      return FALSE;
    }
    if (out && gst_pad_push (GST_BASE_TRANSFORM_SRC_PAD (self), out) !=
        GST_FLOW_OK)
      return TRUE;
    done += n;
  }
  return TRUE;
}

static gboolean
gst_musaugment_sink_event (GstBaseTransform * trans, GstEvent * event)
{
  GstMusaugment *self = GST_MUSAUGMENT (trans);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_STREAM_START:{
      const gchar *id = NULL;

      drain (self);
      self->nan_count = 0;
      gst_event_parse_stream_start (event, &id);
      g_free (self->stream_id);
      self->stream_id = g_strdup (id);
      g_free (self->file_key);
      self->file_key = file_key_for (self, id);
      GST_DEBUG_OBJECT (self, "stream id %s", GST_STR_NULL (id));
      /* the next stream has tags of its own */
      musa_gst_tags_clear (&self->tags);
      break;
    }
    case GST_EVENT_TAG:
      event = musa_gst_tags_upstream_event (&self->tags, event);
      break;
    case GST_EVENT_FLUSH_STOP:{
      gboolean reset_time;
      drop_session (self);
      self->resume_pts = GST_CLOCK_TIME_NONE;
      self->dropout = FALSE;
      gst_event_parse_flush_stop (event, &reset_time);
      if (reset_time)
        self->have_base = FALSE;
      break;
    }
    case GST_EVENT_SEGMENT:{
      GstSegment seg;
      gdouble rate = 1.0;
      gboolean scaled = FALSE, rebased = FALSE;

      gst_event_copy_segment (event, &seg);
      /* a new segment without flush (e.g. gapless): finish the old one;
       * the same segment again (sticky events re-sent after a relink, an
       * element passing an unchanged segment on) is no new segment: the
       * processing goes on (draining there pushed the tails, then the audio
       * went on at the time the tails had covered; nor does it end a
       * format change's restart, see resume_pts) */
      if (!musa_gst_segment_same (&seg, &self->in_segment))
        drain (self);
      self->in_segment = seg;
      /* reverse playback: the buffers come last first (each one's samples
       * forwards); effects with memory (reverb, echo, the stretcher) run on
       * them as one forward stream gave audio stitched out of order, on
       * timestamps past the segment. The audio passes untouched on the
       * input's timeline until a segment plays forwards again. */
      if (seg.rate < 0.0 && !self->reverse)
        GST_ELEMENT_WARNING (self, STREAM, NOT_IMPLEMENTED,
            ("Reverse playback is not augmented: the audio passes untouched "
                "until the playback goes forwards again"),
            ("segment rate %g", seg.rate));
      self->reverse = seg.rate < 0.0;
      if (self->reverse)
        self->seg_rate = 1.0;
      /* the chain the stream's audio will be processed with (it may have
       * been set between streams): its rate scales the segment */
      if (seg.format == GST_FORMAT_TIME && self->have_info && !self->reverse
          && update_chain (self)) {
        gdouble segdur, prob;
        guint64 seed;
        const gchar *key;
        MusaAugmentDraw draw;

        GST_OBJECT_LOCK (self);
        segdur = self->segment_duration;
        prob = self->probability;
        seed = self->seed;
        key = draw_key_locked (self);
        if (segdur > 0.0) {
          scaled = musa_augment_chain_min_rate (self->chain) != 1.0;
        } else if (musa_augment_draw (self->chain, prob, seed,
                musa_rng_hash_string (key), 0,
                GST_AUDIO_INFO_RATE (&self->info), &draw, NULL) == MUSA_OK) {
          rate = draw.rate;
        }
        GST_OBJECT_UNLOCK (self);
        self->seg_rate = scaled ? 0.0 : rate;
        if (scaled) {
          seg.stop = GST_CLOCK_TIME_NONE;
          seg.duration = GST_CLOCK_TIME_NONE;
        } else if (rate != 1.0) {
          /* the whole timeline scaled by 1 / rate (running time unchanged):
           * stream time and position stay consistent with the scaled
           * duration, also after a seek (see the SEEK event) */
          seg.start = scale_time (seg.start, rate);
          seg.stop = scale_time (seg.stop, rate);
          seg.time = scale_time (seg.time, rate);
          seg.position = scale_time (seg.position, rate);
          seg.duration = scale_time (seg.duration, rate);
          /* the offset is on the same timeline (a negative pad offset
           * upstream puts running time there): unscaled, the output's
           * running time was off by offset x (1 - 1 / rate), and the audio
           * it made negative was clipped */
          seg.offset = scale_time (seg.offset, rate);
        }
      }
      if (seg.format == GST_FORMAT_TIME) {
        guint64 base = seg.base;

        /* running time: what the segments before this one took on the
         * outgoing timeline, which their rate stretched (a segment seek's
         * loop, a non-flushing seek, the next stream of a gapless
         * playlist): unscaled, each loop of a stretched segment started
         * before the last one had ended in running time, and a sink dropped
         * the overlap */
        if (self->have_base && base >= self->in_base) {
          if (self->base_rate > 0.0) {
            seg.base = self->out_base + scale_time (base - self->in_base,
                self->base_rate);
            /* and after the tails drained at the end of the segment before
             * (they ran on past its stop, the next loop started over them;
             * a frame of rounding is no tail) */
            if (GST_CLOCK_TIME_IS_VALID (self->out_end_rt)
                && self->out_end_rt > seg.base + frames_to_time (self, 1))
              seg.base = self->out_end_rt;
          } else {
            /* draws of their own rates (segment mode): at least where the
             * output of the segment before ended */
            seg.base = self->out_base + (base - self->in_base);
            if (GST_CLOCK_TIME_IS_VALID (self->out_end_rt))
              seg.base = MAX (seg.base, self->out_end_rt);
          }
        }
        self->have_base = TRUE;
        self->in_base = base;
        self->out_base = seg.base;
        self->base_rate = self->seg_rate;
        self->out_end_rt = GST_CLOCK_TIME_NONE;
        rebased = seg.base != base;
      }
      if (scaled || rate != 1.0 || rebased) {
        GstEvent *e = gst_event_new_segment (&seg);

        gst_event_set_seqnum (e, gst_event_get_seqnum (event));
        gst_event_unref (event);
        event = e;
      }
      break;
    }
    case GST_EVENT_SEGMENT_DONE:{
      GstFormat format;
      gint64 position;

      /* the end of a segment seek's segment: its tails and the stretcher's
       * residue belong to it (the next segment starts a new session) */
      drain (self);
      /* its position on the outgoing timeline, as the segment it ends */
      gst_event_parse_segment_done (event, &format, &position);
      if (format == GST_FORMAT_TIME && position >= 0 && self->seg_rate != 1.0
          && self->seg_rate != 0.0) {
        GstEvent *e = gst_event_new_segment_done (format,
            (gint64) scale_time ((GstClockTime) position, self->seg_rate));

        gst_event_set_seqnum (e, gst_event_get_seqnum (event));
        gst_event_unref (event);
        event = e;
      }
      break;
    }
    case GST_EVENT_EOS:
      drain (self);
      if (self->nan_count > 0) {
        GST_ELEMENT_WARNING (self, STREAM, FORMAT,
            ("%" G_GUINT64_FORMAT " NaN, infinite or absurdly large samples "
                "in this stream were processed as silence", self->nan_count),
            (NULL));
        self->nan_count = 0;
      }
      break;
    case GST_EVENT_GAP:
      if (process_gap (self, event)) {
        gst_event_unref (event);
        return TRUE;
      }
      break;
    default:
      break;
  }
  return GST_BASE_TRANSFORM_CLASS (gst_musaugment_parent_class)->sink_event
      (trans, event);
}

/* A seek in time from downstream is on the stretched timeline: upstream
 * gets it on the input timeline (times × rate), so that the position after
 * the seek is where the application asked for, on the scale of the DURATION
 * answer. */
static gboolean
gst_musaugment_src_event (GstBaseTransform * trans, GstEvent * event)
{
  GstMusaugment *self = GST_MUSAUGMENT (trans);
  gdouble r = self->seg_rate;

  if (GST_EVENT_TYPE (event) == GST_EVENT_SEEK && r != 1.0 && r != 0.0) {
    gdouble rate;
    GstFormat format;
    GstSeekFlags flags;
    GstSeekType start_type, stop_type;
    gint64 start, stop;

    gst_event_parse_seek (event, &rate, &format, &flags, &start_type, &start,
        &stop_type, &stop);
    if (format == GST_FORMAT_TIME) {
      GstEvent *e;

      if (start_type != GST_SEEK_TYPE_NONE && start != -1)
        start = (gint64) (start * r + (start < 0 ? -0.5 : 0.5));
      if (stop_type != GST_SEEK_TYPE_NONE && stop != -1)
        stop = (gint64) (stop * r + (stop < 0 ? -0.5 : 0.5));
      GST_DEBUG_OBJECT (self, "seek to %" G_GINT64_FORMAT " .. %"
          G_GINT64_FORMAT " on the input timeline", start, stop);
      e = gst_event_new_seek (rate, format, flags, start_type, start,
          stop_type, stop);
      gst_event_set_seqnum (e, gst_event_get_seqnum (event));
      gst_event_unref (event);
      event = e;
    }
  }
  return GST_BASE_TRANSFORM_CLASS (gst_musaugment_parent_class)->src_event
      (trans, event);
}

static gboolean
gst_musaugment_query (GstBaseTransform * trans, GstPadDirection direction,
    GstQuery * query)
{
  GstMusaugment *self = GST_MUSAUGMENT (trans);

  if (direction == GST_PAD_SRC && GST_QUERY_TYPE (query) == GST_QUERY_LATENCY) {
    GstClockTime own = 0;

    GST_OBJECT_LOCK (self);
    if (self->have_info && self->latency_frames > 0)
      own = frames_to_time (self, (guint64) self->latency_frames);
    GST_OBJECT_UNLOCK (self);
    return musa_gst_answer_latency (trans, query, own);
  }
  if (direction == GST_PAD_SRC && GST_QUERY_TYPE (query) ==
      GST_QUERY_DURATION && self->seg_rate != 1.0) {
    GstFormat fmt;
    gint64 dur = -1;

    gst_query_parse_duration (query, &fmt, NULL);
    if (fmt != GST_FORMAT_TIME)
      return FALSE;
    if (self->seg_rate == 0.0)  /* segment mode with stretch: unknown */
      return FALSE;
    if (!gst_pad_peer_query_duration (GST_BASE_TRANSFORM_SINK_PAD (trans),
            GST_FORMAT_TIME, &dur) || dur < 0)
      return FALSE;
    gst_query_set_duration (query, GST_FORMAT_TIME,
        (gint64) (dur / self->seg_rate));
    return TRUE;
  }
  if (direction == GST_PAD_SRC && GST_QUERY_TYPE (query) ==
      GST_QUERY_SEEKING && self->seg_rate != 1.0) {
    GstFormat fmt;
    gboolean seekable;
    gint64 start, end;

    /* the seekable range on the stretched timeline, as the DURATION answer
     * and the SEEK event's scaling */
    gst_query_parse_seeking (query, &fmt, NULL, NULL, NULL);
    if (fmt != GST_FORMAT_TIME
        || !gst_pad_peer_query (GST_BASE_TRANSFORM_SINK_PAD (trans), query))
      return FALSE;
    gst_query_parse_seeking (query, &fmt, &seekable, &start, &end);
    if (self->seg_rate == 0.0) {        /* segment mode with stretch */
      end = -1;
    } else {
      if (start > 0)
        start = (gint64) scale_time ((GstClockTime) start, self->seg_rate);
      if (end > 0)
        end = (gint64) scale_time ((GstClockTime) end, self->seg_rate);
    }
    gst_query_set_seeking (query, fmt, seekable, start, end);
    return TRUE;
  }
  return GST_BASE_TRANSFORM_CLASS (gst_musaugment_parent_class)->query (trans,
      direction, query);
}

static void
gst_musaugment_class_init (GstMusaugmentClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);

  gobject_class->set_property = gst_musaugment_set_property;
  gobject_class->get_property = gst_musaugment_get_property;
  gobject_class->finalize = gst_musaugment_finalize;

  g_object_class_install_property (gobject_class, PROP_SEED,
      g_param_spec_uint64 ("seed", "Seed",
          "Seed of the draws; with the stream id (and segment index) it fixes "
          "every random choice", 0, G_MAXUINT64, DEFAULT_SEED,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_PROBABILITY,
      g_param_spec_double ("probability", "Probability",
          "Share of streams (or segments) augmented at all (0..1)", 0.0, 1.0,
          DEFAULT_PROBABILITY,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_CHAIN,
      g_param_spec_string ("chain", "Chain",
          "Effects that may apply: effect[:probability][(param=value|lo..hi|"
          "a|b, ...)], comma-separated; effects gain, eq, compressor, "
          "limiter, distortion, reverb, echo, chorus, noise, stretch, pitch; "
          "'default' = all with natural ranges, 'none' = nothing",
          DEFAULT_CHAIN,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_SEGMENT_DURATION,
      g_param_spec_double ("segment-duration", "Segment duration",
          "0 = one draw per stream; > 0 = a new draw every that many seconds "
          "of input, crossfaded over 10 ms at the joins (seconds)", 0.0,
          86400.0, DEFAULT_SEGMENT_DURATION,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_POST_MESSAGES,
      g_param_spec_boolean ("post-messages", "Post messages",
          "Post a musaugment element message for each draw",
          DEFAULT_POST_MESSAGES,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_STREAM_KEY,
      g_param_spec_string ("stream-key", "Stream key",
          "Key of the draws instead of a local file's canonical URI or the "
          "stream id of STREAM_START (for sources whose stream ids are "
          "random, e.g. appsrc); NULL = use those", DEFAULT_STREAM_KEY,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "Natural audio augmentation", "Filter/Effect/Audio",
      "Reproducible random chains of DAW effects, time stretch and pitch "
      "shift, with provenance messages and tags",
      "musa developers <musa@example.invalid>");

  trans_class->start = GST_DEBUG_FUNCPTR (gst_musaugment_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_musaugment_stop);
  trans_class->set_caps = GST_DEBUG_FUNCPTR (gst_musaugment_set_caps);
  trans_class->generate_output =
      GST_DEBUG_FUNCPTR (gst_musaugment_generate_output);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_musaugment_sink_event);
  trans_class->query = GST_DEBUG_FUNCPTR (gst_musaugment_query);
  trans_class->src_event = GST_DEBUG_FUNCPTR (gst_musaugment_src_event);
  trans_class->passthrough_on_same_caps = FALSE;
}

static void
gst_musaugment_init (GstMusaugment * self)
{
  self->seed = DEFAULT_SEED;
  self->probability = DEFAULT_PROBABILITY;
  self->chain_spec = g_strdup (DEFAULT_CHAIN);
  self->segment_duration = DEFAULT_SEGMENT_DURATION;
  self->post_messages = DEFAULT_POST_MESSAGES;
  self->stream_key = NULL;
  self->base_pts = GST_CLOCK_TIME_NONE;
  self->draw_pts = GST_CLOCK_TIME_NONE;
  self->resume_pts = GST_CLOCK_TIME_NONE;
  self->stream_rate = 1.0;
  /* see gst_musaugment_chain */
  self->base_chain = GST_PAD_CHAINFUNC (GST_BASE_TRANSFORM_SINK_PAD (self));
  gst_pad_set_chain_function (GST_BASE_TRANSFORM_SINK_PAD (self),
      GST_DEBUG_FUNCPTR (gst_musaugment_chain));
  self->seg_rate = 1.0;
  gst_segment_init (&self->in_segment, GST_FORMAT_TIME);
}

static void
musaugment_register_tag (void)
{
  static gsize once = 0;

  if (g_once_init_enter (&once)) {
    gst_tag_register (MUSAUGMENT_TAG, GST_TAG_FLAG_META, G_TYPE_STRING,
        "musaugment provenance",
        "What musaugment did: applied or not, each effect with its "
        "parameters, label changes (key, tempo, duration) and sample weight",
        NULL);
    g_once_init_leave (&once, 1);
  }
}

GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (musaugment, "musaugment",
    GST_RANK_NONE, GST_TYPE_MUSAUGMENT,
    GST_DEBUG_CATEGORY_INIT (musaugment_debug, "musaugment", 0,
        "musa natural augmentation");
    musaugment_register_tag ());
