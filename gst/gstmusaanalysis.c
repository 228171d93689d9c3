/* GstMusaAnalysis — base class of musa's analysis elements. See the header. */
#ifdef HAVE_CONFIG_H
#include "musa-config.h"
#endif

#include "gstmusaanalysis.h"

#include <math.h>

GST_DEBUG_CATEGORY_STATIC (musa_analysis_debug);
#define GST_CAT_DEFAULT musa_analysis_debug

#define DEFAULT_POST_MESSAGES TRUE
#define DEFAULT_INTERVAL GST_SECOND
/* timestamps further than this from the samples counted are a jump, not
 * jitter (GstAudioBaseSink's default alignment-threshold) */
#define ALIGNMENT_THRESHOLD (40 * GST_MSECOND)
/* a gap longer than this is a discontinuity, not silence */
#define MAX_SILENCE (3600 * GST_SECOND)
/* a forward jump with DISCONT up to this long is a dropout (silence) */
#define MAX_DROPOUT (2 * GST_SECOND)

enum
{
  PROP_0,
  PROP_POST_MESSAGES,
  PROP_INTERVAL,
};

typedef struct
{
  gint rate;
  gint channels;
  gint bpf;
  MusaSampleFormat format;
  gboolean configured;

  gfloat *scratch;              /* MUSA_ANALYSIS_BLOCK mono samples */
  guint64 pos;                  /* samples analysed since the last reset */
  GstClockTime base_ts;         /* PTS of the first buffer after the reset */
  guint64 nonfinite;            /* NaN/Inf samples in this stream */
  gboolean warned;
  gboolean finished;            /* the final results are out (SEGMENT_DONE,
                                 * EOS) and nothing was analysed since */
  gchar *setup_error;           /* the configuration error posted since the
                                 * start (caps offered again give the same) */
  MusaGstTags tags;             /* upstream's and our tags (streaming thread) */
  gboolean reverse;             /* the segment plays backwards (rate < 0):
                                 * the audio passes, unanalysed */

  /* interval boundaries since the last reset: boundary k >= iv_k is
   * iv_pos + (k - iv_k) intervals of iv_len; before iv_k, the same from
   * (prev_k, prev_pos, prev_len). The interval property may change while
   * playing: the boundaries handed out so far (up to hi_k; subclasses keep
   * them) must not move. */
  guint64 iv_k, iv_pos, prev_k, prev_pos, hi_k;
  GstClockTime iv_len, prev_len;

  /* properties, under the object lock */
  gboolean post_messages;
  GstClockTime interval;
} GstMusaAnalysisPrivate;

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE (GstMusaAnalysis, gst_musa_analysis,
    GST_TYPE_AUDIO_FILTER);

#define PRIV(self) \
  ((GstMusaAnalysisPrivate *) gst_musa_analysis_get_instance_private (self))

static void gst_musa_analysis_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec);
static void gst_musa_analysis_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec);
static void gst_musa_analysis_finalize (GObject * object);
static gboolean gst_musa_analysis_setup (GstAudioFilter * filter,
    const GstAudioInfo * info);
static GstFlowReturn gst_musa_analysis_transform_ip (GstBaseTransform * trans,
    GstBuffer * buf);
static gboolean gst_musa_analysis_sink_event (GstBaseTransform * trans,
    GstEvent * event);
static gboolean gst_musa_analysis_start (GstBaseTransform * trans);
static gboolean gst_musa_analysis_stop (GstBaseTransform * trans);
static void warn_nonfinite (GstMusaAnalysis * self, gboolean final);

static void
gst_musa_analysis_class_init (GstMusaAnalysisClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  GstAudioFilterClass *filter_class = GST_AUDIO_FILTER_CLASS (klass);
  GstCaps *caps;

  GST_DEBUG_CATEGORY_INIT (musa_analysis_debug, "musaanalysis", 0,
      "musa analysis base class");

  gobject_class->set_property = gst_musa_analysis_set_property;
  gobject_class->get_property = gst_musa_analysis_get_property;
  gobject_class->finalize = gst_musa_analysis_finalize;

  g_object_class_install_property (gobject_class, PROP_POST_MESSAGES,
      g_param_spec_boolean ("post-messages", "Post messages",
          "Post element messages with the results on the bus",
          DEFAULT_POST_MESSAGES,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_INTERVAL,
      g_param_spec_uint64 ("interval", "Interval",
          "Interval of time between periodic result messages (in nanoseconds)",
          GST_MSECOND, G_MAXUINT64 / 2, DEFAULT_INTERVAL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  caps = gst_caps_from_string (MUSA_ANALYSIS_CAPS);
  gst_audio_filter_class_add_pad_templates (filter_class, caps);
  gst_caps_unref (caps);

  trans_class->transform_ip =
      GST_DEBUG_FUNCPTR (gst_musa_analysis_transform_ip);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_musa_analysis_sink_event);
  trans_class->start = GST_DEBUG_FUNCPTR (gst_musa_analysis_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_musa_analysis_stop);
  trans_class->passthrough_on_same_caps = TRUE;
  filter_class->setup = GST_DEBUG_FUNCPTR (gst_musa_analysis_setup);

  gst_type_mark_as_plugin_api (GST_TYPE_MUSA_ANALYSIS, 0);
}

/* A property gst-inspect marks "changeable only in NULL or READY state" is
 * read when the analysis is built (the first caps, a new sample rate, a
 * restart): set once it is built, it was stored and read back but not used
 * (melspec's n-mels set while playing kept 128-band messages, a flushing
 * seek too), without a word. Now a warning says so. (Before the analysis is
 * built, e.g. in a GstHarness that starts the element before setting its
 * properties, nothing is said: the value is used.) */
static void
warn_unused_setting (GObject * object, GParamSpec * pspec, gpointer user)
{
  GstMusaAnalysis *self = GST_MUSA_ANALYSIS (object);

  /* (configured is the streaming thread's; a stale read only moves the
   * warning by one buffer) */
  if (!(pspec->flags & GST_PARAM_MUTABLE_READY) || !PRIV (self)->configured)
    return;
  GST_ELEMENT_WARNING (self, LIBRARY, SETTINGS,
      ("Property '%s' changed while streaming: it takes effect when the "
          "element is restarted (set to READY and back) or the sample rate "
          "changes", pspec->name), (NULL));
}

static void
gst_musa_analysis_init (GstMusaAnalysis * self)
{
  GstMusaAnalysisPrivate *priv = PRIV (self);

  priv->post_messages = DEFAULT_POST_MESSAGES;
  priv->interval = DEFAULT_INTERVAL;
  priv->base_ts = GST_CLOCK_TIME_NONE;
  priv->scratch = g_new0 (gfloat, MUSA_ANALYSIS_BLOCK);
  gst_base_transform_set_gap_aware (GST_BASE_TRANSFORM (self), TRUE);
  gst_base_transform_set_in_place (GST_BASE_TRANSFORM (self), TRUE);
  g_signal_connect (self, "notify", G_CALLBACK (warn_unused_setting), NULL);
}

static void
gst_musa_analysis_finalize (GObject * object)
{
  GstMusaAnalysisPrivate *priv = PRIV (GST_MUSA_ANALYSIS (object));

  g_free (priv->scratch);
  g_free (priv->setup_error);
  musa_gst_tags_clear (&priv->tags);
  G_OBJECT_CLASS (gst_musa_analysis_parent_class)->finalize (object);
}

static void
gst_musa_analysis_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstMusaAnalysisPrivate *priv = PRIV (GST_MUSA_ANALYSIS (object));

  GST_OBJECT_LOCK (object);
  switch (prop_id) {
    case PROP_POST_MESSAGES:
      priv->post_messages = g_value_get_boolean (value);
      break;
    case PROP_INTERVAL:
      priv->interval = g_value_get_uint64 (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (object);
}

static void
gst_musa_analysis_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstMusaAnalysisPrivate *priv = PRIV (GST_MUSA_ANALYSIS (object));

  GST_OBJECT_LOCK (object);
  switch (prop_id) {
    case PROP_POST_MESSAGES:
      g_value_set_boolean (value, priv->post_messages);
      break;
    case PROP_INTERVAL:
      g_value_set_uint64 (value, priv->interval);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (object);
}

MusaSampleFormat
musa_gst_sample_format (GstAudioFormat format)
{
  switch (format) {
    case GST_AUDIO_FORMAT_S16LE:
      return MUSA_SAMPLE_S16;
    case GST_AUDIO_FORMAT_S32LE:
      return MUSA_SAMPLE_S32;
    case GST_AUDIO_FORMAT_F64LE:
      return MUSA_SAMPLE_F64;
    case GST_AUDIO_FORMAT_F32LE:
    default:
      return MUSA_SAMPLE_F32;
  }
}

static void
release (GstMusaAnalysis * self)
{
  GstMusaAnalysisClass *klass = GST_MUSA_ANALYSIS_GET_CLASS (self);
  GstMusaAnalysisPrivate *priv = PRIV (self);

  if (priv->configured && klass->release)
    klass->release (self);
  priv->configured = FALSE;
}

/* The analysis is about to be rebuilt (a new rate, other input) and start
 * afresh: the audio analysed so far gets its final results first, on its own
 * timeline, as at EOS. */
static void
finish_before_rebuild (GstMusaAnalysis * self)
{
  GstMusaAnalysisClass *klass = GST_MUSA_ANALYSIS_GET_CLASS (self);
  GstMusaAnalysisPrivate *priv = PRIV (self);

  if (priv->configured && klass->finish && !priv->finished && priv->pos > 0) {
    GST_DEBUG_OBJECT (self, "rebuilding mid-stream: finishing");
    klass->finish (self, priv->pos);
    if (priv->nonfinite > 0)
      warn_nonfinite (self, TRUE);
    priv->finished = TRUE;
  }
}

void
musa_analysis_release (GstMusaAnalysis * self)
{
  finish_before_rebuild (self);
  release (self);
}

void
musa_analysis_reset (GstMusaAnalysis * self)
{
  GstMusaAnalysisClass *klass = GST_MUSA_ANALYSIS_GET_CLASS (self);
  GstMusaAnalysisPrivate *priv = PRIV (self);

  priv->pos = 0;
  priv->base_ts = GST_CLOCK_TIME_NONE;
  priv->iv_k = priv->prev_k = priv->hi_k = 0;
  priv->iv_pos = priv->prev_pos = 0;
  priv->iv_len = priv->prev_len = musa_analysis_get_interval (self);
  if (priv->configured && klass->reset)
    klass->reset (self);
}

static void
new_stream (GstMusaAnalysis * self)
{
  GstMusaAnalysisPrivate *priv = PRIV (self);

  musa_analysis_reset (self);
  priv->nonfinite = 0;
  priv->warned = FALSE;
  priv->finished = FALSE;
}

/* The analysis refused its settings: one element error per run
 * (basetransform offers the refused caps again, with the same error). */
static void
post_setup_error (GstMusaAnalysis * self, const MusaError * err,
    const gchar * when)
{
  GstMusaAnalysisPrivate *priv = PRIV (self);
  gchar *text = g_strdup_printf ("%s: %s", err->property, err->message);

  if (g_strcmp0 (text, priv->setup_error) == 0) {
    g_free (text);
    return;
  }
  g_free (priv->setup_error);
  priv->setup_error = text;
  if (err->property[0])
    GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS,
        ("Invalid setting of property '%s': %s", err->property,
            err->message), ("%s", when));
  else
    GST_ELEMENT_ERROR (self, LIBRARY, INIT,
        ("Could not configure the analysis: %s", err->message), ("%s", when));
}

static gboolean
gst_musa_analysis_setup (GstAudioFilter * filter, const GstAudioInfo * info)
{
  GstMusaAnalysis *self = GST_MUSA_ANALYSIS (filter);
  GstMusaAnalysisClass *klass = GST_MUSA_ANALYSIS_GET_CLASS (self);
  GstMusaAnalysisPrivate *priv = PRIV (self);
  MusaError err;

  if (priv->configured && priv->rate == GST_AUDIO_INFO_RATE (info)) {
    /* a new format or channel count at the same rate: the mono downmix
     * goes on, and so does the analysis (rebuilding it lost the stream so
     * far) */
    GST_DEBUG_OBJECT (self, "new format at the same rate: continuing");
    priv->channels = GST_AUDIO_INFO_CHANNELS (info);
    priv->bpf = GST_AUDIO_INFO_BPF (info);
    priv->format = musa_gst_sample_format (GST_AUDIO_INFO_FORMAT (info));
    return TRUE;
  }
  /* a new rate mid-stream: the analysis is rebuilt for it */
  finish_before_rebuild (self);
  release (self);
  priv->rate = GST_AUDIO_INFO_RATE (info);
  priv->channels = GST_AUDIO_INFO_CHANNELS (info);
  priv->bpf = GST_AUDIO_INFO_BPF (info);
  priv->format = musa_gst_sample_format (GST_AUDIO_INFO_FORMAT (info));

  musa_error_clear (&err);
  if (klass->configure && !klass->configure (self, priv->rate, &err)) {
    gchar *when = g_strdup_printf ("rate %d Hz, %d channels", priv->rate,
        priv->channels);
    post_setup_error (self, &err, when);
    g_free (when);
    return FALSE;
  }
  priv->configured = TRUE;
  new_stream (self);
  return TRUE;
}

static gboolean
gst_musa_analysis_start (GstBaseTransform * trans)
{
  GstMusaAnalysis *self = GST_MUSA_ANALYSIS (trans);
  GstMusaAnalysisClass *klass = GST_MUSA_ANALYSIS_GET_CLASS (self);
  GstMusaAnalysisPrivate *priv = PRIV (self);
  MusaError err;

  g_clear_pointer (&priv->setup_error, g_free);
  priv->reverse = FALSE;
  musa_error_clear (&err);
  if (klass->check && !klass->check (self, &err)) {
    post_setup_error (self, &err, "when the element starts, before any caps");
    return FALSE;
  }
  new_stream (self);
  return TRUE;
}

static gboolean
gst_musa_analysis_stop (GstBaseTransform * trans)
{
  release (GST_MUSA_ANALYSIS (trans));
  musa_gst_tags_clear (&PRIV (GST_MUSA_ANALYSIS (trans))->tags);
  return TRUE;
}

static void
warn_nonfinite (GstMusaAnalysis * self, gboolean final)
{
  GstMusaAnalysisPrivate *priv = PRIV (self);

  if (final)
    GST_ELEMENT_WARNING (self, STREAM, FORMAT,
        ("%" G_GUINT64_FORMAT " NaN or infinite samples in this stream "
            "were analysed as silence", priv->nonfinite), (NULL));
  else
    GST_ELEMENT_WARNING (self, STREAM, FORMAT,
        ("NaN or infinite samples in the input are analysed as silence "
            "(a count follows at the end of the stream)"), (NULL));
}

/* The audio analysed so far gets its final results (unless it had them),
 * then the analysis starts afresh: a discontinuity, like a new segment
 * without a flush. */
static void
finish_and_reset (GstMusaAnalysis * self)
{
  GstMusaAnalysisClass *klass = GST_MUSA_ANALYSIS_GET_CLASS (self);
  GstMusaAnalysisPrivate *priv = PRIV (self);

  if (priv->configured && klass->finish && !priv->finished && priv->pos > 0) {
    klass->finish (self, priv->pos);
    priv->finished = TRUE;
  }
  musa_analysis_reset (self);
}

/* @frames samples of silence (a gap) go through the analysis */
static void
analyse_silence (GstMusaAnalysis * self, guint64 frames)
{
  GstMusaAnalysisClass *klass = GST_MUSA_ANALYSIS_GET_CLASS (self);
  GstMusaAnalysisPrivate *priv = PRIV (self);

  if (frames > 0)
    priv->finished = FALSE;
  memset (priv->scratch, 0, MUSA_ANALYSIS_BLOCK * sizeof (gfloat));
  while (frames > 0) {
    gsize n = (gsize) MIN (frames, MUSA_ANALYSIS_BLOCK);
    if (klass->process)
      klass->process (self, priv->scratch, n, priv->pos);
    priv->pos += n;
    frames -= n;
  }
}

void
musa_analysis_analyse_buffer (GstMusaAnalysis * self, GstBuffer * buf)
{
  GstMusaAnalysisClass *klass = GST_MUSA_ANALYSIS_GET_CLASS (self);
  GstMusaAnalysisPrivate *priv = PRIV (self);
  GstMapInfo map;
  gsize frames, done;
  gboolean gap;

  if (!priv->configured || priv->bpf == 0 || priv->reverse)
    return;
  if (GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DISCONT) && priv->pos > 0) {
    GstClockTime pts = GST_BUFFER_PTS (buf);
    GstClockTime expect = musa_analysis_sample_time (self, priv->pos);
    GstClockTime half = GST_SECOND / (2 * (GstClockTime) priv->rate);

    /* a dropout (a leaky queue, a live source's overrun: timestamps ahead by
     * what was lost, at most MAX_DROPOUT) is silence, as below, and the
     * analysis goes on (it started afresh at every dropped buffer, and
     * under a leaky queue gave no results at all); any other discontinuity
     * (no time missing, a jump back or far ahead) gives the audio before it
     * its final results, then starts afresh */
    if (GST_CLOCK_TIME_IS_VALID (pts) && GST_CLOCK_TIME_IS_VALID (expect)
        && pts > expect + half && pts - expect <= MAX_DROPOUT) {
      GST_DEBUG_OBJECT (self, "dropout of %" GST_TIME_FORMAT
          ": analysed as silence", GST_TIME_ARGS (pts - expect));
      analyse_silence (self, gst_util_uint64_scale_int_round (pts - expect,
              priv->rate, GST_SECOND));
    } else {
      GST_DEBUG_OBJECT (self, "discontinuity: final results, then afresh");
      finish_and_reset (self);
    }
  }
  /* timestamps that jump ahead without a DISCONT flag (a live source's
   * dropout, a do-timestamp appsrc that got nothing for a while): the time
   * missing is silence, as for a GAP, so that the results keep the times of
   * the audio; more than an hour is a discontinuity. Timestamps behind the
   * samples counted (a do-timestamp appsrc fed in bursts) are not a gap:
   * the analysis goes on. */
  if (priv->pos > 0 && GST_BUFFER_PTS_IS_VALID (buf)
      && GST_CLOCK_TIME_IS_VALID (priv->base_ts)) {
    GstClockTime pts = GST_BUFFER_PTS (buf);
    GstClockTime expect = musa_analysis_sample_time (self, priv->pos);

    if (pts > expect + ALIGNMENT_THRESHOLD && pts - expect <= MAX_SILENCE) {
      GST_DEBUG_OBJECT (self, "timestamps jumped ahead by %" GST_TIME_FORMAT
          ": analysed as silence", GST_TIME_ARGS (pts - expect));
      analyse_silence (self, gst_util_uint64_scale_int_round (pts - expect,
              priv->rate, GST_SECOND));
    } else if (pts > expect + ALIGNMENT_THRESHOLD) {
      GST_DEBUG_OBJECT (self, "timestamps jumped to %" GST_TIME_FORMAT
          " (expected %" GST_TIME_FORMAT "): final results, then afresh",
          GST_TIME_ARGS (pts), GST_TIME_ARGS (expect));
      finish_and_reset (self);
    }
  }
  /* (buffers without timestamps, as appsrc fed from numpy gives them: the
   * samples counted from the segment's start time the results) */
  if (priv->pos == 0 && !GST_CLOCK_TIME_IS_VALID (priv->base_ts))
    priv->base_ts = GST_BUFFER_PTS_IS_VALID (buf) ? GST_BUFFER_PTS (buf) :
        GST_BASE_TRANSFORM (self)->segment.format == GST_FORMAT_TIME ?
        GST_BASE_TRANSFORM (self)->segment.start : 0;

  if (!gst_buffer_map (buf, &map, GST_MAP_READ))
    return;
  frames = map.size / priv->bpf;
  if (frames > 0)
    priv->finished = FALSE;
  gap = GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_GAP);
  for (done = 0; done < frames;) {
    gsize n = MIN (frames - done, MUSA_ANALYSIS_BLOCK);
    if (gap) {
      memset (priv->scratch, 0, n * sizeof (gfloat));
    } else {
      size_t bad = musa_audio_to_mono (map.data + done * priv->bpf,
          priv->format, priv->channels, n, priv->scratch);
      if (bad) {
        priv->nonfinite += bad;
        if (!priv->warned) {
          priv->warned = TRUE;
          warn_nonfinite (self, FALSE);
        }
      }
    }
    if (klass->process)
      klass->process (self, priv->scratch, n, priv->pos);
    priv->pos += n;
    done += n;
  }
  gst_buffer_unmap (buf, &map);
}

/* A GAP event: its duration is analysed as silence, as a GAP buffer would
 * be, so that the positions (and the timestamps of the results) after it stay
 * right. A gap without a duration, or longer than an hour, is a
 * discontinuity instead. */
static void
analyse_gap (GstMusaAnalysis * self, GstEvent * event)
{
  GstMusaAnalysisPrivate *priv = PRIV (self);
  GstClockTime ts, dur;

  if (!priv->configured || priv->rate <= 0 || priv->reverse)
    return;
  gst_event_parse_gap (event, &ts, &dur);
  if (!GST_CLOCK_TIME_IS_VALID (ts) || !GST_CLOCK_TIME_IS_VALID (dur)
      || dur > MAX_SILENCE) {
    if (priv->pos > 0) {
      GST_DEBUG_OBJECT (self, "gap without a usable duration: final results, "
          "then afresh");
      finish_and_reset (self);
    }
    return;
  }
  /* a gap that overlaps the audio already analysed adds only what lies
   * beyond it (a gap at 2.5 s for 1 s after audio up to 3 s made every
   * later result 0.5 s late), one that starts later also covers the time
   * up to it, as timestamps that jump ahead do */
  if (priv->pos > 0 && GST_CLOCK_TIME_IS_VALID (priv->base_ts)) {
    GstClockTime expect = musa_analysis_sample_time (self, priv->pos);

    if (ts + ALIGNMENT_THRESHOLD < expect || ts > expect + ALIGNMENT_THRESHOLD)
      dur = ts + dur > expect ? ts + dur - expect : 0;
    if (dur > MAX_SILENCE) {
      finish_and_reset (self);
      return;
    }
  }
  if (priv->pos == 0 && !GST_CLOCK_TIME_IS_VALID (priv->base_ts))
    priv->base_ts = ts;
  analyse_silence (self, gst_util_uint64_scale_int_round (dur, priv->rate,
          GST_SECOND));
}

static GstFlowReturn
gst_musa_analysis_transform_ip (GstBaseTransform * trans, GstBuffer * buf)
{
  GstMusaAnalysis *self = GST_MUSA_ANALYSIS (trans);

  if (!PRIV (self)->configured)
    return GST_FLOW_NOT_NEGOTIATED;
  musa_analysis_analyse_buffer (self, buf);
  return GST_FLOW_OK;
}

static gboolean
gst_musa_analysis_sink_event (GstBaseTransform * trans, GstEvent * event)
{
  GstMusaAnalysis *self = GST_MUSA_ANALYSIS (trans);
  GstMusaAnalysisClass *klass = GST_MUSA_ANALYSIS_GET_CLASS (self);
  GstMusaAnalysisPrivate *priv = PRIV (self);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_FLUSH_STOP:
      priv->finished = FALSE;
      musa_analysis_reset (self);
      break;
    case GST_EVENT_SEGMENT:{
      const GstSegment *seg;

      gst_event_parse_segment (event, &seg);
      /* the same segment again (sticky events re-sent after a relink, an
       * element passing an unchanged segment on) is no new segment: the
       * analysis goes on */
      if (musa_gst_segment_same (seg, &trans->segment)) {
        GST_DEBUG_OBJECT (self, "the same segment again: continuing");
        break;
      }
      /* a new segment without a flush (a non-flushing seek, the next
       * segment of a seamless loop): the audio before it has played, and
       * gets its final results, on its own segment, as at SEGMENT_DONE */
      if (priv->configured && klass->finish && !priv->finished && priv->pos > 0) {
        GST_DEBUG_OBJECT (self, "new segment without flush: finishing");
        klass->finish (self, priv->pos);
        priv->finished = TRUE;
      }
      musa_analysis_reset (self);
      /* reverse playback: the buffers come last first, each one's samples
       * forwards; analysed in that order they would give results for audio
       * that never played, at times past the segment. The audio passes
       * unanalysed until a segment plays forwards again (knntag's tensor
       * input is not audio: each tensor is voted on as it comes). */
      if (seg->rate < 0.0 && !priv->reverse && priv->configured)
        GST_ELEMENT_WARNING (self, STREAM, NOT_IMPLEMENTED,
            ("Reverse playback is not analysed: no results until the "
                "playback goes forwards again"), ("segment rate %g",
                seg->rate));
      priv->reverse = seg->rate < 0.0;
      break;
    }
    case GST_EVENT_STREAM_START:
      /* a stream that ended without EOS (concat, gapless playback): its
       * final results first, on its own segment */
      if (priv->configured && klass->finish && !priv->finished && priv->pos > 0) {
        klass->finish (self, priv->pos);
        if (priv->nonfinite > 0)
          warn_nonfinite (self, TRUE);
      }
      new_stream (self);
      /* the next stream has tags of its own */
      musa_gst_tags_clear (&priv->tags);
      break;
    case GST_EVENT_TAG:
      event = musa_gst_tags_upstream_event (&priv->tags, event);
      break;
    case GST_EVENT_GAP:
      analyse_gap (self, event);
      break;
    case GST_EVENT_SEGMENT_DONE:
      /* the end of a segment seek's segment: its final results (the next
       * segment, if any, starts afresh) */
      if (priv->configured && klass->finish && !priv->finished) {
        klass->finish (self, priv->pos);
        musa_analysis_reset (self);
        priv->finished = TRUE;
      }
      break;
    case GST_EVENT_EOS:
      if (priv->configured && klass->finish && !priv->finished)
        klass->finish (self, priv->pos);
      priv->finished = TRUE;
      if (priv->nonfinite > 0)
        warn_nonfinite (self, TRUE);
      break;
    default:
      break;
  }
  return GST_BASE_TRANSFORM_CLASS (gst_musa_analysis_parent_class)->sink_event
      (trans, event);
}

gint
musa_analysis_get_rate (GstMusaAnalysis * self)
{
  return PRIV (self)->rate;
}

GstClockTime
musa_analysis_sample_time (GstMusaAnalysis * self, guint64 pos)
{
  GstMusaAnalysisPrivate *priv = PRIV (self);

  if (!GST_CLOCK_TIME_IS_VALID (priv->base_ts) || priv->rate <= 0)
    return GST_CLOCK_TIME_NONE;
  return priv->base_ts + gst_util_uint64_scale_int_round (pos, GST_SECOND,
      priv->rate);
}

/* The factory name ("melspec"), which names the element's messages. */
static const gchar *
musa_analysis_element_name (GstMusaAnalysis * self)
{
  GstElementFactory *factory = gst_element_get_factory (GST_ELEMENT (self));

  return factory ? GST_OBJECT_NAME (factory) : "musa";
}

GstStructure *
musa_analysis_new_message (GstMusaAnalysis * self, guint64 pos, guint64 n)
{
  GstBaseTransform *trans = GST_BASE_TRANSFORM (self);
  GstClockTime ts = musa_analysis_sample_time (self, pos);
  GstClockTime end = musa_analysis_sample_time (self, pos + n);
  GstClockTime duration = GST_CLOCK_TIME_NONE, stream_time, running_time;

  if (GST_CLOCK_TIME_IS_VALID (ts) && GST_CLOCK_TIME_IS_VALID (end))
    duration = end - ts;
  else if (PRIV (self)->rate > 0)
    duration = gst_util_uint64_scale_int_round (n, GST_SECOND,
        PRIV (self)->rate);
  /* EOS right after the caps (no buffer, so no segment yet) leaves the
   * segment undefined, and the conversions would assert on its format */
  if (trans->segment.format == GST_FORMAT_TIME) {
    stream_time = gst_segment_to_stream_time (&trans->segment,
        GST_FORMAT_TIME, ts);
    running_time = gst_segment_to_running_time (&trans->segment,
        GST_FORMAT_TIME, ts);
  } else {
    stream_time = running_time = GST_CLOCK_TIME_NONE;
  }
  return gst_structure_new (musa_analysis_element_name (self), "timestamp",
      G_TYPE_UINT64, ts, "stream-time", G_TYPE_UINT64, stream_time,
      "running-time", G_TYPE_UINT64, running_time, "duration", G_TYPE_UINT64,
      duration, NULL);
}

void
musa_analysis_post (GstMusaAnalysis * self, GstStructure * s)
{
  if (!musa_analysis_get_post_messages (self)) {
    gst_structure_free (s);
    return;
  }
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self), s));
}

void
musa_analysis_push_tags (GstMusaAnalysis * self, GstTagList * tags)
{
  gst_pad_push_event (GST_BASE_TRANSFORM_SRC_PAD (self),
      musa_gst_tags_own_event (&PRIV (self)->tags, tags));
}

gboolean
musa_analysis_get_post_messages (GstMusaAnalysis * self)
{
  gboolean ret;

  GST_OBJECT_LOCK (self);
  ret = PRIV (self)->post_messages;
  GST_OBJECT_UNLOCK (self);
  return ret;
}

GstClockTime
musa_analysis_get_interval (GstMusaAnalysis * self)
{
  GstClockTime ret;

  GST_OBJECT_LOCK (self);
  ret = PRIV (self)->interval;
  GST_OBJECT_UNLOCK (self);
  return ret;
}

static guint64
boundary_from (GstMusaAnalysis * self, guint64 k0, guint64 pos0,
    GstClockTime len, guint64 k)
{
  return pos0 + gst_util_uint64_scale_round ((k - k0) * len,
      (guint64) PRIV (self)->rate, GST_SECOND);
}

guint64
musa_analysis_interval_boundary (GstMusaAnalysis * self, guint64 k)
{
  GstMusaAnalysisPrivate *priv = PRIV (self);
  GstClockTime interval = musa_analysis_get_interval (self);

  if (interval != priv->iv_len) {
    /* the interval changed: the boundaries handed out stay where they
     * were, the following ones are the new interval apart */
    guint64 k0 = MAX (priv->hi_k, priv->iv_k);
    guint64 pos = boundary_from (self, priv->iv_k, priv->iv_pos,
        priv->iv_len, k0);

    if (k0 > priv->iv_k) {
      priv->prev_k = priv->iv_k;
      priv->prev_pos = priv->iv_pos;
      priv->prev_len = priv->iv_len;
    }
    priv->iv_k = k0;
    priv->iv_pos = pos;
    priv->iv_len = interval;
  }
  priv->hi_k = MAX (priv->hi_k, k);
  if (k < priv->iv_k)
    return boundary_from (self, priv->prev_k, priv->prev_pos, priv->prev_len,
        MAX (k, priv->prev_k));
  return boundary_from (self, priv->iv_k, priv->iv_pos, priv->iv_len, k);
}

gboolean
musa_gst_segment_same (const GstSegment * a, const GstSegment * b)
{
  return a->format == b->format && a->flags == b->flags && a->rate == b->rate
      && a->applied_rate == b->applied_rate && a->base == b->base
      && a->offset == b->offset && a->start == b->start && a->stop == b->stop
      && a->time == b->time;
}

gboolean
musa_gst_answer_latency (GstBaseTransform * trans, GstQuery * query,
    GstClockTime own)
{
  GstPad *peer = gst_pad_get_peer (GST_BASE_TRANSFORM_SINK_PAD (trans));
  gboolean live = FALSE, ok = FALSE;
  GstClockTime min = 0, max = GST_CLOCK_TIME_NONE;

  if (peer) {
    ok = gst_pad_query (peer, query);
    gst_object_unref (peer);
  }
  if (!ok)
    return FALSE;
  gst_query_parse_latency (query, &live, &min, &max);
  GST_DEBUG_OBJECT (trans, "own latency %" GST_TIME_FORMAT,
      GST_TIME_ARGS (own));
  min += own;
  if (GST_CLOCK_TIME_IS_VALID (max))
    max += own;
  gst_query_set_latency (query, live, min, max);
  return TRUE;
}

void
musa_gst_structure_set_float_array (GstStructure * s, const gchar * field,
    const gfloat * v, guint n)
{
  GValue arr = G_VALUE_INIT, item = G_VALUE_INIT;
  guint i;

  g_value_init (&arr, GST_TYPE_ARRAY);
  g_value_init (&item, G_TYPE_FLOAT);
  for (i = 0; i < n; i++) {
    g_value_set_float (&item, v[i]);
    gst_value_array_append_value (&arr, &item);
  }
  gst_structure_take_value (s, field, &arr);
  g_value_unset (&item);
}

void
musa_gst_tags_clear (MusaGstTags * tags)
{
  g_clear_pointer (&tags->upstream, gst_tag_list_unref);
  g_clear_pointer (&tags->own, gst_tag_list_unref);
}

static void
merge_own_tag (const GstTagList * own, const gchar * tag, gpointer user_data)
{
  GstTagList *out = user_data;
  /* our value replaces upstream's (a file's genre, an earlier estimate);
   * comments are a list: ours goes beside the file's */
  GstTagMergeMode mode = g_strcmp0 (tag, GST_TAG_EXTENDED_COMMENT) == 0 ?
      GST_TAG_MERGE_APPEND : GST_TAG_MERGE_REPLACE;
  guint i, n = gst_tag_list_get_tag_size (own, tag);

  for (i = 0; i < n; i++)
    gst_tag_list_add_value (out, i == 0 ? mode : GST_TAG_MERGE_APPEND, tag,
        gst_tag_list_get_value_index (own, tag, i));
}

static GstTagList *
merged_tags (MusaGstTags * tags)
{
  GstTagList *out = tags->upstream ? gst_tag_list_copy (tags->upstream) :
      gst_tag_list_new_empty ();

  gst_tag_list_set_scope (out, GST_TAG_SCOPE_STREAM);
  if (tags->own)
    gst_tag_list_foreach (tags->own, merge_own_tag, out);
  return out;
}

GstEvent *
musa_gst_tags_upstream_event (MusaGstTags * tags, GstEvent * event)
{
  GstTagList *list;
  GstEvent *merged;

  gst_event_parse_tag (event, &list);
  if (gst_tag_list_get_scope (list) != GST_TAG_SCOPE_STREAM)
    return event;
  gst_tag_list_ref (list);
  if (tags->upstream)
    gst_tag_list_unref (tags->upstream);
  tags->upstream = list;
  if (!tags->own)
    return event;
  merged = gst_event_new_tag (merged_tags (tags));
  gst_event_set_seqnum (merged, gst_event_get_seqnum (event));
  gst_event_unref (event);
  return merged;
}

GstEvent *
musa_gst_tags_own_event (MusaGstTags * tags, GstTagList * own)
{
  if (tags->own)
    gst_tag_list_unref (tags->own);
  tags->own = own;
  return gst_event_new_tag (merged_tags (tags));
}
