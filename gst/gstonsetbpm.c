/* musa — onsetbpm: onsets, tempo and beats. */
/**
 * SECTION:element-onsetbpm
 * @title: onsetbpm
 *
 * Finds note onsets, the tempo (the beat a listener taps, in BPM) and the
 * beats of the mono downmix, on files and live streams. Audio passes through
 * untouched (in place, no added latency).
 *
 * The onset strength is spectral flux on a log-magnitude, log-frequency
 * spectrum with a neighbour maximum filter (SuperFlux) by default, 100
 * frames per second from 46 ms windows; `method` selects plain spectral
 * flux, high-frequency content, complex domain or energy instead. Onsets are
 * picked adaptively (`threshold`, `delta`, `combine`) and reported about
 * 45 ms after they happen. The tempo is the periodicity of the onset strength
 * (autocorrelation, with a prior over the metrical level that favours the
 * tempo listeners tap) over the last `window` seconds while the stream plays
 * and over the whole stream at the end; beats come from dynamic programming
 * (Ellis 2007): frame by frame while playing, over the whole stream at EOS.
 * Beats go on the grid, the tracker's beats or the midpoints between them,
 * that explains both the onsets and the chord changes better, so that
 * syncopated accents (a piano montuno, a pushed kick) do not pull them half
 * a beat off; live beats are at least 0.8 period apart, each on an onset
 * at least as strong as the running mean.
 *
 * `whiten` (FALSE by default) adds adaptive whitening (Stowell & Plumbley
 * 2007) to the onset picking function of the superflux method: each band's
 * gain follows its peak over the last seconds (60 dB per 20 s), so a band
 * keeps 40 dB of range under its recent peak and a band that has been
 * quiet for a while (not noise: its floor over the last second counts) is
 * up to 10 dB more sensitive. For material with a wide dynamic range
 * (classical, live recordings): plucks at -60 dBFS after chords at -1 dBFS
 * are found from a few seconds after the loud part on, none without. On
 * the rendered songs it does not raise onset F (within +-0.002 on seeds
 * 1-4, -0.002 on loud masters), hence off by default; tempo and beats do
 * not read the picking function and do not change.
 *
 * Messages (when `post-messages` is TRUE):
 *
 * - `onsetbpm` every `interval` and once at EOS (`final` = TRUE, the
 *   whole-stream result; `timestamp` and `duration` then span the stream):
 *   - `timestamp`, `stream-time`, `running-time`, `duration` (#guint64):
 *     the span the result covers, as the `level` element gives them;
 *   - `bpm` (#gdouble): tempo in beats per minute, 0 when `confidence` is 0;
 *   - `confidence` (#gdouble): 0..1; 0 for silence, noise and less than
 *     2 s of audio, and while playing from 2 s after the music stops (then
 *     no tempo is claimed);
 *   - `candidates`, `strengths` (#GstValueArray of #gdouble): the two best
 *     tempi (BPM) and their relative strengths; when `bpm` is the wrong
 *     metrical level (double or half what a listener taps), the runner-up
 *     is usually the right one, so `confidence` (how periodic the music
 *     is) does not tell the level, the strengths do (a tie, 0.5 / 0.5,
 *     where the answer is the faster of two levels that are both as
 *     regular as a metronome);
 *   - `beat-phase` (#gdouble): where the end of the span falls in the beat
 *     cycle, 0..1 (0 = on a beat), -1 when no beat is known yet;
 *   - `seconds` (#gdouble): the amount of audio the estimate used;
 *   - `final` (#gboolean);
 *   - at EOS only, `beats` (#GstValueArray of #gdouble): the beat times in
 *     seconds from the stream start, i.e. in stream time (also after a
 *     seek, which starts the analysis at its position), the last `history`
 *     seconds.
 * - `onset` (when `post-onsets` is TRUE), one per onset: `timestamp`,
 *   `stream-time`, `running-time` of the onset, `strength` (#gdouble,
 *   normalised onset strength).
 * - `beat` (when `post-beats` is TRUE, live beat tracking): `timestamp`,
 *   `stream-time`, `running-time` of the beat, `index` (#guint64, beats
 *   since the stream start), `bpm` (#gdouble, the tempo it followed). A beat
 *   is posted about a quarter period after it happened, or as it happens
 *   while the midpoint grid is in use.
 *
 * The `beats-per-minute` tag goes downstream when the estimate moves by
 * 0.5 BPM or more and at EOS, never while the confidence is 0.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 -m filesrc location=song.flac ! decodebin ! audioconvert ! onsetbpm ! fakesink
 * gst-launch-1.0 -m pulsesrc ! audioconvert ! onsetbpm post-beats=true window=8 ! fakesink
 * gst-launch-1.0 -m filesrc location=song.wav ! wavparse ! onsetbpm post-onsets=true method=hfc ! fakesink
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "musa-config.h"
#endif

#include <math.h>
#include <string.h>

#include <gst/tag/tag.h>

#include "gstmusaanalysis.h"
#include "gstmusaelements.h"
#include "onset/onsetbpm.h"

GST_DEBUG_CATEGORY_STATIC (onsetbpm_debug);
#define GST_CAT_DEFAULT onsetbpm_debug

#define GST_TYPE_ONSETBPM (gst_onsetbpm_get_type ())
G_DECLARE_FINAL_TYPE (GstOnsetbpm, gst_onsetbpm, GST, ONSETBPM, GstMusaAnalysis)
#define DEFAULT_METHOD MUSA_ONSET_SUPERFLUX
#define DEFAULT_WINDOW 10.0
#define DEFAULT_MIN_BPM 40.0
#define DEFAULT_MAX_BPM 240.0
#define DEFAULT_PRIOR_BPM 120.0
#define DEFAULT_THRESHOLD 1.7
#define DEFAULT_DELTA 0.4
#define DEFAULT_COMBINE 0.02
#define DEFAULT_WHITEN FALSE
#define DEFAULT_POST_ONSETS FALSE
#define DEFAULT_POST_BEATS FALSE
#define DEFAULT_HISTORY 3600.0
/* smallest change of the estimate that sends a new tag (BPM) */
#define TAG_STEP 0.5
     enum
     {
       PROP_0,
       PROP_METHOD,
       PROP_WINDOW,
       PROP_MIN_BPM,
       PROP_MAX_BPM,
       PROP_PRIOR_BPM,
       PROP_THRESHOLD,
       PROP_DELTA,
       PROP_COMBINE,
       PROP_POST_ONSETS,
       PROP_POST_BEATS,
       PROP_HISTORY,
       PROP_WHITEN,
     };

     struct _GstOnsetbpm
     {
       GstMusaAnalysis parent;

       /* properties (object lock) */
       MusaOnsetMethod method;
       gdouble window, min_bpm, max_bpm, prior_bpm, threshold, delta, combine,
           history;
       gboolean post_onsets, post_beats, whiten;

       /* streaming state (streaming thread only) */
       MusaOnsetBpm *ob;
       gint rate;
       guint64 interval_k;      /* intervals posted since the reset */
       gdouble tagged_bpm;      /* last bpm sent as a tag, 0 = none */
       gboolean want_onsets, want_beats;
       MusaTempoResult live;
     };

G_DEFINE_TYPE (GstOnsetbpm, gst_onsetbpm, GST_TYPE_MUSA_ANALYSIS);
GST_ELEMENT_REGISTER_DEFINE (onsetbpm, "onsetbpm", GST_RANK_NONE,
    GST_TYPE_ONSETBPM);

#define GST_TYPE_ONSETBPM_METHOD (gst_onsetbpm_method_get_type ())
     static GType gst_onsetbpm_method_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {MUSA_ONSET_SUPERFLUX, "SuperFlux: log filterbank flux with a "
          "neighbour maximum filter", "superflux"},
    {MUSA_ONSET_FLUX, "Spectral flux of the log magnitude", "flux"},
    {MUSA_ONSET_HFC, "High-frequency content", "hfc"},
    {MUSA_ONSET_COMPLEX, "Complex-domain deviation", "complex"},
    {MUSA_ONSET_ENERGY, "Energy rise", "energy"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstOnsetbpmMethod",
            values));
  return type;
}

static void gst_onsetbpm_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec);
static void gst_onsetbpm_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec);
static void gst_onsetbpm_finalize (GObject * object);
static gboolean gst_onsetbpm_check (GstMusaAnalysis * base, MusaError * err);
static gboolean gst_onsetbpm_configure (GstMusaAnalysis * base, gint rate,
    MusaError * err);
static void gst_onsetbpm_process (GstMusaAnalysis * base,
    const gfloat * mono, gsize n, guint64 pos);
static void gst_onsetbpm_reset (GstMusaAnalysis * base);
static void gst_onsetbpm_finish (GstMusaAnalysis * base, guint64 pos);
static void gst_onsetbpm_release (GstMusaAnalysis * base);

static void
gst_onsetbpm_class_init (GstOnsetbpmClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstMusaAnalysisClass *analysis_class = GST_MUSA_ANALYSIS_CLASS (klass);
  GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
      GST_PARAM_MUTABLE_READY;
  GParamFlags live = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
      GST_PARAM_MUTABLE_PLAYING;

  GST_DEBUG_CATEGORY_INIT (onsetbpm_debug, "onsetbpm", 0,
      "onsets, tempo and beats");

  gobject_class->set_property = gst_onsetbpm_set_property;
  gobject_class->get_property = gst_onsetbpm_get_property;
  gobject_class->finalize = gst_onsetbpm_finalize;

  g_object_class_install_property (gobject_class, PROP_METHOD,
      g_param_spec_enum ("method", "Method",
          "Onset strength (detection) function", GST_TYPE_ONSETBPM_METHOD,
          DEFAULT_METHOD, flags));
  g_object_class_install_property (gobject_class, PROP_WINDOW,
      g_param_spec_double ("window", "Window",
          "Length of the sliding window of the live tempo estimate "
          "(in seconds)", 2.0, 120.0, DEFAULT_WINDOW, flags));
  g_object_class_install_property (gobject_class, PROP_MIN_BPM,
      g_param_spec_double ("min-bpm", "Minimum BPM",
          "Slowest tempo considered (in beats per minute; max-bpm must be "
          "at least 1.5 times this)", 20.0, 400.0, DEFAULT_MIN_BPM, flags));
  g_object_class_install_property (gobject_class, PROP_MAX_BPM,
      g_param_spec_double ("max-bpm", "Maximum BPM",
          "Fastest tempo considered (in beats per minute)", 20.0, 400.0,
          DEFAULT_MAX_BPM, flags));
  g_object_class_install_property (gobject_class, PROP_PRIOR_BPM,
      g_param_spec_double ("prior-bpm", "Prior BPM",
          "Centre of the metrical-level prior (in beats per minute): when "
          "a tempo and its double or half are about equally periodic, the "
          "one nearer this wins (120 = where listeners tap most; e.g. 170 "
          "for drum and bass, 70 for ballads)", 20.0, 400.0,
          DEFAULT_PRIOR_BPM, flags));
  g_object_class_install_property (gobject_class, PROP_THRESHOLD,
      g_param_spec_double ("threshold", "Threshold",
          "Smallest onset strength picked as an onset (relative to the "
          "running mean strength, which is 1; 0 = no floor)", 0.0, 1000.0,
          DEFAULT_THRESHOLD, flags));
  g_object_class_install_property (gobject_class, PROP_DELTA,
      g_param_spec_double ("delta", "Delta",
          "How far an onset must rise above the local mean strength of the "
          "last 200 ms (relative to the running mean strength)", 0.0,
          1000.0, DEFAULT_DELTA, flags));
  g_object_class_install_property (gobject_class, PROP_COMBINE,
      g_param_spec_double ("combine", "Combine",
          "Smallest time between two onsets (in seconds)", 0.0, 1.0,
          DEFAULT_COMBINE, flags));
  g_object_class_install_property (gobject_class, PROP_POST_ONSETS,
      g_param_spec_boolean ("post-onsets", "Post onsets",
          "Post an 'onset' message for every onset", DEFAULT_POST_ONSETS,
          live));
  g_object_class_install_property (gobject_class, PROP_POST_BEATS,
      g_param_spec_boolean ("post-beats", "Post beats",
          "Post a 'beat' message for every beat the live tracker finds",
          DEFAULT_POST_BEATS, live));
  g_object_class_install_property (gobject_class, PROP_HISTORY,
      g_param_spec_double ("history", "History",
          "Audio kept for the whole-stream beat tracking at the end of the "
          "stream (in seconds; about 2.2 kB of memory per second)", 10.0,
          86400.0, DEFAULT_HISTORY, flags));
  g_object_class_install_property (gobject_class, PROP_WHITEN,
      g_param_spec_boolean ("whiten", "Whiten",
          "Adaptive whitening of the onset picking function (superflux): "
          "each band's gain follows its recent peak, so that notes in quiet "
          "passages after loud ones are found (wide dynamic range)",
          DEFAULT_WHITEN, flags));

  gst_element_class_set_static_metadata (element_class,
      "Onsets, tempo and beats", "Filter/Analyzer/Audio",
      "Detects note onsets, the tempo (BPM) and the beats of audio, "
      "posting messages and the beats-per-minute tag", "musa developers");

  analysis_class->configure = GST_DEBUG_FUNCPTR (gst_onsetbpm_configure);
  analysis_class->check = GST_DEBUG_FUNCPTR (gst_onsetbpm_check);
  analysis_class->process = GST_DEBUG_FUNCPTR (gst_onsetbpm_process);
  analysis_class->reset = GST_DEBUG_FUNCPTR (gst_onsetbpm_reset);
  analysis_class->finish = GST_DEBUG_FUNCPTR (gst_onsetbpm_finish);
  analysis_class->release = GST_DEBUG_FUNCPTR (gst_onsetbpm_release);

  gst_type_mark_as_plugin_api (GST_TYPE_ONSETBPM_METHOD, 0);
}

static void
gst_onsetbpm_init (GstOnsetbpm * self)
{
  self->method = DEFAULT_METHOD;
  self->window = DEFAULT_WINDOW;
  self->min_bpm = DEFAULT_MIN_BPM;
  self->max_bpm = DEFAULT_MAX_BPM;
  self->prior_bpm = DEFAULT_PRIOR_BPM;
  self->threshold = DEFAULT_THRESHOLD;
  self->delta = DEFAULT_DELTA;
  self->combine = DEFAULT_COMBINE;
  self->history = DEFAULT_HISTORY;
  self->post_onsets = DEFAULT_POST_ONSETS;
  self->post_beats = DEFAULT_POST_BEATS;
  self->whiten = DEFAULT_WHITEN;
}

static void
gst_onsetbpm_finalize (GObject * object)
{
  GstOnsetbpm *self = GST_ONSETBPM (object);

  musa_onsetbpm_free (self->ob);
  self->ob = NULL;
  G_OBJECT_CLASS (gst_onsetbpm_parent_class)->finalize (object);
}

static void
gst_onsetbpm_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstOnsetbpm *self = GST_ONSETBPM (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_METHOD:
      self->method = g_value_get_enum (value);
      break;
    case PROP_WINDOW:
      self->window = g_value_get_double (value);
      break;
    case PROP_MIN_BPM:
      self->min_bpm = g_value_get_double (value);
      break;
    case PROP_MAX_BPM:
      self->max_bpm = g_value_get_double (value);
      break;
    case PROP_PRIOR_BPM:
      self->prior_bpm = g_value_get_double (value);
      break;
    case PROP_THRESHOLD:
      self->threshold = g_value_get_double (value);
      break;
    case PROP_DELTA:
      self->delta = g_value_get_double (value);
      break;
    case PROP_COMBINE:
      self->combine = g_value_get_double (value);
      break;
    case PROP_POST_ONSETS:
      self->post_onsets = g_value_get_boolean (value);
      break;
    case PROP_POST_BEATS:
      self->post_beats = g_value_get_boolean (value);
      break;
    case PROP_HISTORY:
      self->history = g_value_get_double (value);
      break;
    case PROP_WHITEN:
      self->whiten = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_onsetbpm_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstOnsetbpm *self = GST_ONSETBPM (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_METHOD:
      g_value_set_enum (value, self->method);
      break;
    case PROP_WINDOW:
      g_value_set_double (value, self->window);
      break;
    case PROP_MIN_BPM:
      g_value_set_double (value, self->min_bpm);
      break;
    case PROP_MAX_BPM:
      g_value_set_double (value, self->max_bpm);
      break;
    case PROP_PRIOR_BPM:
      g_value_set_double (value, self->prior_bpm);
      break;
    case PROP_THRESHOLD:
      g_value_set_double (value, self->threshold);
      break;
    case PROP_DELTA:
      g_value_set_double (value, self->delta);
      break;
    case PROP_COMBINE:
      g_value_set_double (value, self->combine);
      break;
    case PROP_POST_ONSETS:
      g_value_set_boolean (value, self->post_onsets);
      break;
    case PROP_POST_BEATS:
      g_value_set_boolean (value, self->post_beats);
      break;
    case PROP_HISTORY:
      g_value_set_double (value, self->history);
      break;
    case PROP_WHITEN:
      g_value_set_boolean (value, self->whiten);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

/* The library's configuration from the properties, for @rate. */
static void
fill_config (GstOnsetbpm * self, MusaOnsetBpmConfig * cfg, gint rate)
{
  musa_onsetbpm_config_default (cfg, rate);
  GST_OBJECT_LOCK (self);
  cfg->onset.method = self->method;
  cfg->onset.threshold = self->threshold;
  cfg->onset.delta = self->delta;
  cfg->onset.combine = self->combine;
  cfg->onset.whiten = self->whiten ? 1 : 0;
  cfg->window = self->window;
  cfg->min_bpm = self->min_bpm;
  cfg->max_bpm = self->max_bpm;
  cfg->prior_bpm = self->prior_bpm;
  cfg->history = self->history;
  GST_OBJECT_UNLOCK (self);
}

/* When the element starts: the settings do not depend on the sample rate
 * (min-bpm against max-bpm, ...), so they are checked at any valid one. */
static gboolean
gst_onsetbpm_check (GstMusaAnalysis * base, MusaError * err)
{
  MusaOnsetBpmConfig cfg;

  fill_config (GST_ONSETBPM (base), &cfg, 44100);
  return musa_onsetbpm_config_check (&cfg, err) == MUSA_OK;
}

static gboolean
gst_onsetbpm_configure (GstMusaAnalysis * base, gint rate, MusaError * err)
{
  GstOnsetbpm *self = GST_ONSETBPM (base);
  MusaOnsetBpmConfig cfg;

  fill_config (self, &cfg, rate);
  musa_onsetbpm_free (self->ob);
  self->ob = musa_onsetbpm_new (&cfg, err);
  if (self->ob == NULL)
    return FALSE;
  self->rate = rate;
  GST_DEBUG_OBJECT (self, "configured for %d Hz, %s, %.1f frames/s", rate,
      musa_onset_method_name (cfg.onset.method), musa_onsetbpm_fps (self->ob));
  return TRUE;
}

static void
gst_onsetbpm_release (GstMusaAnalysis * base)
{
  GstOnsetbpm *self = GST_ONSETBPM (base);

  musa_onsetbpm_free (self->ob);
  self->ob = NULL;
}

static void
gst_onsetbpm_reset (GstMusaAnalysis * base)
{
  GstOnsetbpm *self = GST_ONSETBPM (base);

  if (self->ob)
    musa_onsetbpm_reset (self->ob);
  self->interval_k = 0;
  self->tagged_bpm = 0.0;
  memset (&self->live, 0, sizeof (self->live));
}

static void
set_double_array (GstStructure * s, const gchar * field, const gdouble * v,
    guint n)
{
  GValue arr = G_VALUE_INIT, item = G_VALUE_INIT;
  guint i;

  g_value_init (&arr, GST_TYPE_ARRAY);
  g_value_init (&item, G_TYPE_DOUBLE);
  for (i = 0; i < n; i++) {
    g_value_set_double (&item, v[i]);
    gst_value_array_append_value (&arr, &item);
  }
  gst_structure_take_value (s, field, &arr);
  g_value_unset (&item);
}

/* Where sample @pos falls in the beat cycle (0..1), -1 if unknown. */
static gdouble
beat_phase (GstOnsetbpm * self, const MusaTempoResult * r, guint64 pos,
    gdouble last_beat)
{
  gdouble t = (gdouble) pos / self->rate, period, ph;

  if (r->confidence <= 0.0 || r->bpm <= 0.0 || last_beat < 0.0)
    return -1.0;
  period = 60.0 / r->bpm;
  ph = fmod ((t - last_beat) / period, 1.0);
  if (ph < 0.0)
    ph += 1.0;
  return ph;
}

static GstStructure *
result_message (GstOnsetbpm * self, const MusaTempoResult * r, guint64 start,
    guint64 end, gdouble phase, gboolean final)
{
  GstStructure *s = musa_analysis_new_message (GST_MUSA_ANALYSIS (self),
      start, end - start);

  gst_structure_set (s, "bpm", G_TYPE_DOUBLE, r->bpm,
      "confidence", G_TYPE_DOUBLE, r->confidence,
      "beat-phase", G_TYPE_DOUBLE, phase,
      "seconds", G_TYPE_DOUBLE, r->seconds,
      "final", G_TYPE_BOOLEAN, final, NULL);
  set_double_array (s, "candidates", r->candidates, 2);
  set_double_array (s, "strengths", r->strengths, 2);
  return s;
}

static void
maybe_tag (GstOnsetbpm * self, const MusaTempoResult * r, gboolean force)
{
  GstTagList *tags;

  if (r->confidence <= 0.0 || r->bpm <= 0.0)
    return;
  if (!force && self->tagged_bpm > 0.0 &&
      fabs (r->bpm - self->tagged_bpm) < TAG_STEP)
    return;
  self->tagged_bpm = r->bpm;
  tags = gst_tag_list_new_empty ();
  gst_tag_list_add (tags, GST_TAG_MERGE_REPLACE_ALL,
      GST_TAG_BEATS_PER_MINUTE, r->bpm, NULL);
  GST_DEBUG_OBJECT (self, "tag: %.2f BPM", r->bpm);
  musa_analysis_push_tags (GST_MUSA_ANALYSIS (self), tags);
}

static void
on_event (void *user, const MusaOnsetBpmEvent * ev)
{
  GstOnsetbpm *self = user;
  GstMusaAnalysis *base = GST_MUSA_ANALYSIS (self);
  GstStructure *s;

  if (ev->type == MUSA_ONSETBPM_ONSET) {
    if (!self->want_onsets)
      return;
    s = musa_analysis_new_message (base, (guint64) ev->sample, 0);
    gst_structure_set_name (s, "onset");
    gst_structure_set (s, "strength", G_TYPE_DOUBLE, (gdouble) ev->strength,
        NULL);
    musa_analysis_post (base, s);
  } else {
    if (!self->want_beats)
      return;
    s = musa_analysis_new_message (base, (guint64) ev->sample, 0);
    gst_structure_set_name (s, "beat");
    gst_structure_set (s, "index", G_TYPE_UINT64, (guint64) ev->index,
        "bpm", G_TYPE_DOUBLE, ev->bpm, NULL);
    musa_analysis_post (base, s);
  }
}

static void
gst_onsetbpm_process (GstMusaAnalysis * base, const gfloat * mono, gsize n,
    guint64 pos)
{
  GstOnsetbpm *self = GST_ONSETBPM (base);

  GST_OBJECT_LOCK (self);
  self->want_onsets = self->post_onsets;
  self->want_beats = self->post_beats;
  GST_OBJECT_UNLOCK (self);

  /* split at interval boundaries: each result sees exactly the samples
   * before its boundary, whatever the buffer sizes */
  while (n > 0) {
    guint64 end = musa_analysis_interval_boundary (base, self->interval_k + 1);
    gsize take = n;

    if (end > pos && end - pos < take)
      take = (gsize) (end - pos);
    musa_onsetbpm_process (self->ob, mono, take, on_event, self);
    mono += take;
    n -= take;
    pos += take;
    if (pos >= end) {
      guint64 start = musa_analysis_interval_boundary (base, self->interval_k);
      gdouble phase;

      musa_onsetbpm_tempo (self->ob, &self->live);
      phase = beat_phase (self, &self->live, pos,
          musa_onsetbpm_last_beat (self->ob));
      musa_analysis_post (base, result_message (self, &self->live, start,
              pos, phase, FALSE));
      maybe_tag (self, &self->live, FALSE);
      self->interval_k++;
    }
  }
}

static void
gst_onsetbpm_finish (GstMusaAnalysis * base, guint64 pos)
{
  GstOnsetbpm *self = GST_ONSETBPM (base);
  MusaTempoResult r;
  const double *beats;
  size_t n_beats;
  GstStructure *s;
  gdouble phase;
  guint64 st;

  GST_OBJECT_LOCK (self);
  self->want_onsets = self->post_onsets;
  self->want_beats = self->post_beats;
  GST_OBJECT_UNLOCK (self);

  musa_onsetbpm_finish (self->ob, on_event, self, &r);
  n_beats = musa_onsetbpm_beats (self->ob, &beats);
  phase = beat_phase (self, &r, pos, n_beats ? beats[n_beats - 1] : -1.0);
  s = result_message (self, &r, 0, pos, phase, TRUE);
  /* the beats from the stream start (stream time), like every other time
   * of the messages: the analysis starts at a seek's position, or where a
   * flush or discontinuity reset it */
  if (gst_structure_get_uint64 (s, "stream-time", &st) &&
      GST_CLOCK_TIME_IS_VALID (st) && st > 0 && n_beats > 0) {
    gdouble *shifted = g_new (gdouble, n_beats);
    size_t i;

    for (i = 0; i < n_beats; i++)
      shifted[i] = beats[i] + (gdouble) st / GST_SECOND;
    set_double_array (s, "beats", shifted, (guint) n_beats);
    g_free (shifted);
  } else {
    set_double_array (s, "beats", beats, (guint) n_beats);
  }
  GST_INFO_OBJECT (self, "whole stream: %.2f BPM, confidence %.2f, %"
      G_GSIZE_FORMAT " beats", r.bpm, r.confidence, (gsize) n_beats);
  musa_analysis_post (base, s);
  maybe_tag (self, &r, TRUE);
}
