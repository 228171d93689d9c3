/* GstMusaAnalysis — the base class of musa's analysis elements.
 *
 * A GstAudioFilter in passthrough (in-place, bit-identical audio, no latency)
 * that does everything an analysis element shares, so that the elements
 * themselves only configure libmusa and turn its results into messages/tags:
 *
 *  - caps: F32LE/S16LE/S32LE/F64LE, interleaved, 8000..192000 Hz, 1..8 channels;
 *  - conversion at the edge: each buffer is downmixed to mono float in blocks
 *    of at most MUSA_ANALYSIS_BLOCK frames into a scratch buffer allocated once,
 *    NaN/Inf samples become silence and are counted (a warning on the bus the
 *    first time in a stream and a summary at EOS); GAP buffers are silence,
 *    and so is the duration of a GAP event, and the time timestamps jump
 *    ahead (by more than 40 ms, without DISCONT; timestamps behind the
 *    samples counted change nothing);
 *  - stream state: DISCONT buffers, FLUSH_STOP, a new SEGMENT and STREAM_START
 *    call reset(); EOS calls finish() before EOS goes downstream, and so
 *    does SEGMENT_DONE (the end of a segment seek), followed by reset(), and
 *    STREAM_START after a stream that ended without EOS (concat, gapless),
 *    and new caps at another rate mid-stream (before the analysis is
 *    rebuilt for it and starts afresh; new caps at the same rate keep it
 *    going); finish() is called once per stream (or segment) analysed;
 *  - time: the position (in samples since the last reset) of every block, and
 *    the timestamp of any sample position, drift-free (base PTS + samples/rate);
 *  - messages: musa_analysis_new_message() fills `timestamp`, `stream-time`,
 *    `running-time` and `duration` as the `level` element does;
 *    musa_analysis_post() posts without holding any lock;
 *  - tags: musa_analysis_push_tags() pushes a TAG event downstream from the
 *    streaming thread;
 *  - properties: `post-messages` and `interval` (read them with
 *    musa_analysis_get_post_messages / _get_interval under the object lock).
 */
#ifndef __GST_MUSA_ANALYSIS_H__
#define __GST_MUSA_ANALYSIS_H__

#include <gst/gst.h>
#include <gst/audio/audio.h>
#include <gst/audio/gstaudiofilter.h>

#include "core/audio.h"
#include "core/musa.h"

G_BEGIN_DECLS

#define MUSA_ANALYSIS_BLOCK 4096

#define MUSA_ANALYSIS_CAPS \
  "audio/x-raw, format = (string) { F32LE, S16LE, S32LE, F64LE }, " \
  "rate = (int) [ 8000, 192000 ], channels = (int) [ 1, 8 ], " \
  "layout = (string) interleaved"

#define GST_TYPE_MUSA_ANALYSIS (gst_musa_analysis_get_type ())
G_DECLARE_DERIVABLE_TYPE (GstMusaAnalysis, gst_musa_analysis, GST,
    MUSA_ANALYSIS, GstAudioFilter)

struct _GstMusaAnalysisClass
{
  GstAudioFilterClass parent_class;

  /* Build the libmusa objects for this rate (the mono downmix is analysed).
   * Called from setup() and whenever caps change. On failure fill @err
   * (naming the property) and return FALSE: the base class posts a
   * GST_ELEMENT_ERROR with that message and refuses the caps. */
  gboolean (*configure) (GstMusaAnalysis * self, gint rate, MusaError * err);
  /* Analyse @n mono samples that start @pos samples after the last reset. */
  void (*process) (GstMusaAnalysis * self, const gfloat * mono, gsize n,
      guint64 pos);
  /* Start of a new stream / after a discontinuity: drop running state. */
  void (*reset) (GstMusaAnalysis * self);
  /* End of stream: post final results (and tags). @pos = samples seen. */
  void (*finish) (GstMusaAnalysis * self, guint64 pos);
  /* Free the libmusa objects (stop / before a reconfigure). */
  void (*release) (GstMusaAnalysis * self);
  /* Optional: check the settings that need no caps when the element starts
   * (READY -> PAUSED). On failure fill @err and return FALSE: the base class
   * posts the error as for configure and the state change fails, in the
   * application's thread rather than the streaming thread's. */
  gboolean (*check) (GstMusaAnalysis * self, MusaError * err);
};

/* Sample rate of the current caps (0 before caps). */
gint musa_analysis_get_rate (GstMusaAnalysis * self);
/* Running timestamp of sample @pos since the last reset (PTS of the first
 * buffer after it + pos / rate), GST_CLOCK_TIME_NONE when the stream has no
 * timestamps yet. */
GstClockTime musa_analysis_sample_time (GstMusaAnalysis * self, guint64 pos);
/* A structure named after the element with timestamp, stream-time,
 * running-time and duration of the span of samples [pos, pos + n). */
GstStructure *musa_analysis_new_message (GstMusaAnalysis * self, guint64 pos,
    guint64 n);
/* Post an element message with @s (takes ownership). No-op when
 * post-messages is FALSE (then frees @s). */
void musa_analysis_post (GstMusaAnalysis * self, GstStructure * s);
/* Push a TAG event downstream (takes ownership of @tags). */
void musa_analysis_push_tags (GstMusaAnalysis * self, GstTagList * tags);
gboolean musa_analysis_get_post_messages (GstMusaAnalysis * self);
GstClockTime musa_analysis_get_interval (GstMusaAnalysis * self);
/* Sample position of the end of the @k-th interval (k >= 1) since the last
 * reset: round (k * interval * rate / GST_SECOND), so intervals never drift.
 * When `interval` changes while playing, the boundaries up to the first one
 * asked for after the change stay where they were and the following ones are
 * the new interval apart (messages stay contiguous). */
guint64 musa_analysis_interval_boundary (GstMusaAnalysis * self, guint64 k);
/* What transform_ip does with a buffer (DISCONT reset, GAP as silence,
 * conversion, process()); for subclasses that override transform_ip or run
 * N:M (melspec's tensor mode). */
void musa_analysis_analyse_buffer (GstMusaAnalysis * self, GstBuffer * buf);
/* Drop running state and start positions from 0 (calls reset()). */
void musa_analysis_reset (GstMusaAnalysis * self);
/* Free the analysis (calls release(), after finish() for the audio analysed
 * so far): the next audio caps configure it afresh, even at the same rate
 * (new caps at the same rate otherwise keep the analysis going). For
 * subclasses whose configuration changes with other caps (melspec's tensor
 * shape, knntag's tensor input). */
void musa_analysis_release (GstMusaAnalysis * self);

/* Helpers shared by every musa element (also musaugment). */
MusaSampleFormat musa_gst_sample_format (GstAudioFormat format);

/* Tags: an element's own tags go downstream merged into the stream's tags
 * from upstream (a stream-scope TAG event replaces the one before it
 * downstream, so a list with only musa's tags would drop a file's title and
 * artist, and upstream's next TAG event would drop musa's). Used from the
 * streaming thread; cleared when the element stops and at STREAM_START. */
typedef struct
{
  GstTagList *upstream;         /* upstream's stream-scope tags, or NULL */
  GstTagList *own;              /* the element's latest tags, or NULL */
} MusaGstTags;

void musa_gst_tags_clear (MusaGstTags * tags);
/* An upstream TAG event: remembers its stream tags and returns the event to
 * forward (takes @event): the same, or their merge with the element's tags. */
GstEvent *musa_gst_tags_upstream_event (MusaGstTags * tags, GstEvent * event);
/* The element's new tags (takes @own, which replaces its tags before): the
 * TAG event to push, upstream's stream tags with @own merged in (@own's
 * values replace upstream's of the same tag, extended comments are added). */
GstEvent *musa_gst_tags_own_event (MusaGstTags * tags, GstTagList * own);
/* A GstValueArray of doubles/floats for message fields. */
void musa_gst_structure_set_float_array (GstStructure * s,
    const gchar * field, const gfloat * v, guint n);
/* @a and @b are the same segment, whatever their position (basetransform
 * moves its segment's position with the buffers): a SEGMENT event sent
 * again (sticky events after a relink) is no new segment. */
gboolean musa_gst_segment_same (const GstSegment * a, const GstSegment * b);
/* Answers a LATENCY query on @trans's source pad: upstream's answer with
 * @own added to its minimum and maximum. FALSE when upstream gives none. */
gboolean musa_gst_answer_latency (GstBaseTransform * trans, GstQuery * query,
    GstClockTime own);

G_END_DECLS
#endif /* __GST_MUSA_ANALYSIS_H__ */
