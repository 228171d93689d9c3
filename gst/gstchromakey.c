/* musa — chromakey: chromagram, tuning and musical key. */
/**
 * SECTION:element-chromakey
 * @title: chromakey
 *
 * Estimates the musical key of the audio passing through (bit-identical
 * passthrough, no latency), over the whole stream and, with `window` > 0,
 * over a sliding window for live streams and key changes.
 *
 * The mono downmix goes through a short-time Fourier transform (Hann window
 * of about 186 ms, hop 93 ms); spectral peaks between `fmin` and `fmax` that
 * stand out of their neighbourhood (a whitening gate against drums and
 * reverb) are weighted by the square root of their magnitude and collected
 * in a 10-cent pitch-class histogram. The tuning (deviation from A440 in
 * cents) is the weighted circular mean of the peaks' deviations from the
 * tempered grid; the histogram is folded to 12 pitch classes around the
 * tuned semitones. The time-averaged chroma is correlated with the 24
 * rotations of the major and minor key profiles of `profile` (expanded by
 * the harmonic series of real tones); the best is the key, the second best
 * the runner-up.
 *
 * `strength` (0..1) is the correlation of the key times a tonal-coherence
 * factor (how much of the peak energy sits on one tuning grid: near 0 for
 * drums, noise and silence). Below `min-strength` there is no key (`key` is
 * "none" and no tag is sent).
 *
 * Every #GstMusaAnalysis:interval the element posts a `chromakey` element
 * message on the bus with the result for the whole stream so far (`window`
 * 0) or for the last `window` seconds, and at EOS one for the whole stream
 * with `final` TRUE. Fields:
 *
 * - `timestamp`, `stream-time`, `running-time`, `duration` (#guint64): the
 *   span of audio the result describes;
 * - `key` (#gchararray): "A minor", "F# major", or "none";
 * - `tonic` (#gchararray): "A", "F#" ("" without a key);
 * - `mode` (#gchararray): "major", "minor" or "none";
 * - `camelot` (#gchararray): Camelot wheel code, "8A" for A minor;
 * - `open-key` (#gchararray): Open Key code, "1m" for A minor;
 * - `strength` (#gdouble): 0..1;
 * - `correlation` (#gdouble): correlation with the key's profile, -1..1;
 * - `runner-up` (#gchararray): second most likely key, "C major";
 * - `runner-up-correlation` (#gdouble);
 * - `tuning-cents` (#gdouble): deviation from A440, -50..50;
 * - `tonalness` (#gdouble): tonal coherence of the spectrum, 0..1;
 * - `chroma` (#GstValueArray of #gfloat): 12 values, C to B, maximum 1;
 * - `uncertain` (#gboolean): TRUE when less than 2 s were analysed, the
 *   strength is below `min-strength`, fewer than 3 pitch classes reach
 *   0.2 of the strongest (a single note or an interval), the correlation is
 *   below 0.5 or every pitch class reaches half the strongest (a chromatic
 *   cluster, a whole-tone scale, a diminished seventh: sets that fit many
 *   keys alike): the key is then a guess; a periodic result is also
 *   uncertain until every periodic result of the last 2 s named its key
 *   (a key that has just taken over, often a chord's, waits until it holds);
 * - `final` (#gboolean): TRUE for the whole-stream message at EOS.
 *
 * A `musical-key` tag (GStreamer's notation: "Am", "F#", "Bbm") goes
 * downstream when the key changes and at EOS, only for results that are not
 * uncertain.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 -m filesrc location=song.flac ! decodebin ! audioconvert ! chromakey ! fakesink
 * gst-launch-1.0 -m souphttpsrc location=http://radio/stream ! decodebin ! audioconvert ! \
 *   chromakey window=20 interval=5000000000 ! autoaudiosink
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
#include "chroma/chroma.h"
#include "chroma/key.h"

GST_DEBUG_CATEGORY_STATIC (chromakey_debug);
#define GST_CAT_DEFAULT chromakey_debug

#define GST_TYPE_CHROMAKEY (gst_chromakey_get_type ())
G_DECLARE_FINAL_TYPE (GstChromakey, gst_chromakey, GST, CHROMAKEY,
    GstMusaAnalysis)
#define DEFAULT_PROFILE MUSA_KEY_PROFILE_COMBINED
#define DEFAULT_WINDOW 0.0
#define DEFAULT_ESTIMATE_TUNING TRUE
#define DEFAULT_TUNING_CENTS 0.0
#define DEFAULT_MIN_STRENGTH 0.1
#define DEFAULT_FMIN 50.0
#define DEFAULT_FMAX 5000.0
/* less audio than this gives an uncertain result (s) */
#define MIN_CERTAIN_SECONDS 2.0
/* a periodic result is certain only when every periodic result of the last
 * STABLE_SECONDS named the same key: a key that has just taken over (a
 * chord change tipping the balance) waits until it holds. Rendered songs
 * (tests/eval/eval_chromakey_live.py, seeds 1-4, interval 0.5 s): tags per
 * 30 s song 2.1-4.0 -> 1.6-2.3, wrong among them 32-43 % -> 22-32 %, the
 * first tag still at 2.0 s and wrong in 2-6 % -> 2-4 % of songs */
#define STABLE_SECONDS 2.0
/* tonal coherence below TONAL_LO counts as atonal, above TONAL_HI fully
 * tonal: white, pink and brown noise measure below 0.01, synthetic drums
 * with pitched kick and snare bodies 0.05-0.14, rendered songs 0.32-0.77
 * (5th percentile 0.50) */
#define TONAL_LO 0.15
#define TONAL_HI 0.35
/* a key needs at least MIN_CLASSES pitch classes at CLASS_LEVEL of the
 * strongest or more: a single note (with its harmonics) or an interval is
 * no key (rendered songs: 6-11 such classes over the whole song, at least 3
 * in any certain 10 s window; a note with 1/k harmonics: 2) */
#define MIN_CLASSES 3
#define CLASS_LEVEL 0.2
/* a key is a hierarchy of pitch classes: where the chroma correlates with
 * no key's profile above MIN_CORRELATION, or its weakest class reaches
 * FLAT_LEVEL of the strongest, the best key is a guess. Rendered songs:
 * every certain 10 s window correlates 0.66-0.93 with each profile and the
 * weakest class of a whole song is at most 0.24; the symmetric sets that fit
 * every key alike measure 0.15-0.49 (a chromatic cluster, a whole-tone
 * scale, a diminished seventh) */
#define MIN_CORRELATION 0.5
#define FLAT_LEVEL 0.5
     enum
     {
       PROP_0,
       PROP_PROFILE,
       PROP_WINDOW,
       PROP_ESTIMATE_TUNING,
       PROP_TUNING_CENTS,
       PROP_MIN_STRENGTH,
       PROP_FMIN,
       PROP_FMAX,
     };

     struct _GstChromakey
     {
       GstMusaAnalysis parent;

       /* properties (object lock) */
       gint profile;
       gdouble window;
       gboolean estimate_tuning;
       gdouble tuning_cents;
       gdouble min_strength;
       gdouble fmin, fmax;

       /* streaming state */
       MusaChroma *chroma;
       gint rate;
       gdouble window_used;     /* snapshot of window at configure */
       guint64 interval_k;      /* intervals posted since the reset */
       gchar last_tag[16];      /* last musical-key pushed ("" none) */
       gint run_key;            /* key of the last periodic result (2 tonic +
                                 * minor, -1 none, -2 before the first) */
       guint64 run_from;        /* end of the last periodic result that
                                 * named another key (0: the start) */
       guint64 prev_end;        /* end of the last periodic result */
     };

G_DEFINE_TYPE (GstChromakey, gst_chromakey, GST_TYPE_MUSA_ANALYSIS);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (chromakey, "chromakey", GST_RANK_NONE,
    GST_TYPE_CHROMAKEY, gst_tag_register_musicbrainz_tags ());

#define GST_TYPE_CHROMAKEY_PROFILE (gst_chromakey_profile_get_type ())
     static GType gst_chromakey_profile_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {MUSA_KEY_PROFILE_KRUMHANSL, "Krumhansl & Kessler 1982 probe-tone ratings",
        "krumhansl"},
    {MUSA_KEY_PROFILE_TEMPERLEY, "Temperley 1999 revised profiles",
        "temperley"},
    {MUSA_KEY_PROFILE_EDMA,
        "Faraldo et al. 2016, derived from electronic dance music", "edma"},
    {MUSA_KEY_PROFILE_SHAATH, "Sha'ath 2011 (KeyFinder), popular music",
        "shaath"},
    {MUSA_KEY_PROFILE_COMBINED,
          "Mean correlation over the four profiles above (best measured)",
        "combined"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstChromakeyProfile",
            values));
  return type;
}

static void gst_chromakey_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec);
static void gst_chromakey_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec);
static gboolean gst_chromakey_check (GstMusaAnalysis * base, MusaError * err);
static gboolean gst_chromakey_configure (GstMusaAnalysis * base, gint rate,
    MusaError * err);
static void gst_chromakey_process (GstMusaAnalysis * base,
    const gfloat * mono, gsize n, guint64 pos);
static void gst_chromakey_reset (GstMusaAnalysis * base);
static void gst_chromakey_finish (GstMusaAnalysis * base, guint64 pos);
static void gst_chromakey_release (GstMusaAnalysis * base);

static void
gst_chromakey_class_init (GstChromakeyClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstMusaAnalysisClass *analysis_class = GST_MUSA_ANALYSIS_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (chromakey_debug, "chromakey", 0,
      "chromagram and musical key");
  gst_tag_register_musicbrainz_tags ();

  gobject_class->set_property = gst_chromakey_set_property;
  gobject_class->get_property = gst_chromakey_get_property;

  g_object_class_install_property (gobject_class, PROP_PROFILE,
      g_param_spec_enum ("profile", "Profile",
          "Key profiles the chroma is correlated with",
          GST_TYPE_CHROMAKEY_PROFILE, DEFAULT_PROFILE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_WINDOW,
      g_param_spec_double ("window", "Window",
          "Length of the sliding window of the periodic results (in seconds; "
          "0 = the whole stream so far)", 0.0, 3600.0, DEFAULT_WINDOW,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_ESTIMATE_TUNING,
      g_param_spec_boolean ("estimate-tuning", "Estimate tuning",
          "Estimate the tuning from the audio (else use tuning-cents)",
          DEFAULT_ESTIMATE_TUNING,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_TUNING_CENTS,
      g_param_spec_double ("tuning-cents", "Tuning",
          "Tuning of the audio when estimate-tuning is off (in cents from "
          "A440, -50..50)", -50.0, 50.0, DEFAULT_TUNING_CENTS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_MIN_STRENGTH,
      g_param_spec_double ("min-strength", "Minimum strength",
          "Strength (0..1) below which no key is reported", 0.0, 1.0,
          DEFAULT_MIN_STRENGTH,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_FMIN,
      g_param_spec_double ("fmin", "Minimum frequency",
          "Lowest frequency analysed (in Hz)", 20.0, 20000.0, DEFAULT_FMIN,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_FMAX,
      g_param_spec_double ("fmax", "Maximum frequency",
          "Highest frequency analysed (in Hz; limited to 0.45 * rate)", 30.0,
          96000.0, DEFAULT_FMAX,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  gst_element_class_set_static_metadata (element_class,
      "Chromagram and musical key", "Filter/Analyzer/Audio",
      "Estimates chroma, tuning and musical key (whole stream and sliding "
      "window); posts messages and musical-key tags",
      "musa developers <musa@example.invalid>");

  analysis_class->configure = GST_DEBUG_FUNCPTR (gst_chromakey_configure);
  analysis_class->check = GST_DEBUG_FUNCPTR (gst_chromakey_check);
  analysis_class->process = GST_DEBUG_FUNCPTR (gst_chromakey_process);
  analysis_class->reset = GST_DEBUG_FUNCPTR (gst_chromakey_reset);
  analysis_class->finish = GST_DEBUG_FUNCPTR (gst_chromakey_finish);
  analysis_class->release = GST_DEBUG_FUNCPTR (gst_chromakey_release);

  gst_type_mark_as_plugin_api (GST_TYPE_CHROMAKEY_PROFILE, 0);
}

static void
gst_chromakey_init (GstChromakey * self)
{
  self->profile = DEFAULT_PROFILE;
  self->window = DEFAULT_WINDOW;
  self->estimate_tuning = DEFAULT_ESTIMATE_TUNING;
  self->tuning_cents = DEFAULT_TUNING_CENTS;
  self->min_strength = DEFAULT_MIN_STRENGTH;
  self->fmin = DEFAULT_FMIN;
  self->fmax = DEFAULT_FMAX;
  self->run_key = -2;
}

static void
gst_chromakey_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstChromakey *self = GST_CHROMAKEY (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_PROFILE:
      self->profile = g_value_get_enum (value);
      break;
    case PROP_WINDOW:
      self->window = g_value_get_double (value);
      break;
    case PROP_ESTIMATE_TUNING:
      self->estimate_tuning = g_value_get_boolean (value);
      break;
    case PROP_TUNING_CENTS:
      self->tuning_cents = g_value_get_double (value);
      break;
    case PROP_MIN_STRENGTH:
      self->min_strength = g_value_get_double (value);
      break;
    case PROP_FMIN:
      self->fmin = g_value_get_double (value);
      break;
    case PROP_FMAX:
      self->fmax = g_value_get_double (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_chromakey_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstChromakey *self = GST_CHROMAKEY (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_PROFILE:
      g_value_set_enum (value, self->profile);
      break;
    case PROP_WINDOW:
      g_value_set_double (value, self->window);
      break;
    case PROP_ESTIMATE_TUNING:
      g_value_set_boolean (value, self->estimate_tuning);
      break;
    case PROP_TUNING_CENTS:
      g_value_set_double (value, self->tuning_cents);
      break;
    case PROP_MIN_STRENGTH:
      g_value_set_double (value, self->min_strength);
      break;
    case PROP_FMIN:
      g_value_set_double (value, self->fmin);
      break;
    case PROP_FMAX:
      g_value_set_double (value, self->fmax);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

/* The library's configuration from the properties, for @rate. */
static void
fill_config (GstChromakey * self, MusaChromaConfig * cfg, gint rate)
{
  musa_chroma_config_default (cfg, rate);
  GST_OBJECT_LOCK (self);
  cfg->window = self->window;
  cfg->estimate_tuning = self->estimate_tuning;
  cfg->tuning_cents = self->tuning_cents;
  cfg->fmin = self->fmin;
  cfg->fmax = self->fmax;
  GST_OBJECT_UNLOCK (self);
  /* a sensible fmax above Nyquist is clipped, not refused */
  if (cfg->fmax > 0.45 * rate && cfg->fmin * 1.5 < 0.45 * rate)
    cfg->fmax = 0.45 * rate;
}

/* When the element starts: every check that depends on the sample rate is
 * loosest at the highest (fmin and the automatic n-fft grow with it), so
 * settings refused at 192 kHz are refused at every rate (fmax <= 1.5 fmin,
 * tuning-cents, ...); the rest waits for the caps. */
static gboolean
gst_chromakey_check (GstMusaAnalysis * base, MusaError * err)
{
  MusaChromaConfig cfg;

  fill_config (GST_CHROMAKEY (base), &cfg, 192000);
  return musa_chroma_config_check (&cfg, err) == MUSA_OK;
}

static gboolean
gst_chromakey_configure (GstMusaAnalysis * base, gint rate, MusaError * err)
{
  GstChromakey *self = GST_CHROMAKEY (base);
  MusaChromaConfig cfg;

  fill_config (self, &cfg, rate);
  self->chroma = musa_chroma_new (&cfg, err);
  if (self->chroma == NULL)
    return FALSE;
  self->rate = rate;
  self->window_used = cfg.window;
  return TRUE;
}

static void
gst_chromakey_release (GstMusaAnalysis * base)
{
  GstChromakey *self = GST_CHROMAKEY (base);

  musa_chroma_free (self->chroma);
  self->chroma = NULL;
}

static void
gst_chromakey_reset (GstMusaAnalysis * base)
{
  GstChromakey *self = GST_CHROMAKEY (base);

  if (self->chroma)
    musa_chroma_reset (self->chroma);
  self->interval_k = 0;
  self->last_tag[0] = '\0';
  self->run_key = -2;
  self->run_from = 0;
  self->prev_end = 0;
}

/* Post a message for a chroma result covering samples [start, end), and
 * push a musical-key tag when it is certain and new (or @final). */
static void
report (GstChromakey * self, const MusaChromaResult * res, guint64 start,
    guint64 end, gboolean final)
{
  GstMusaAnalysis *base = GST_MUSA_ANALYSIS (self);
  MusaKey key;
  gint profile;
  gdouble min_strength, strength, tonal, min_span;
  gboolean has_key, uncertain;
  gint i, classes = 0, code;
  gfloat weakest = 1.0f;
  gchar name[32], runner[32], camelot[8], open_key[8], tag[16];
  GstStructure *s;

  GST_OBJECT_LOCK (self);
  profile = self->profile;
  min_strength = self->min_strength;
  GST_OBJECT_UNLOCK (self);

  musa_key_estimate (res->chroma, profile, &key, NULL);
  tonal = (res->tonalness - TONAL_LO) / (TONAL_HI - TONAL_LO);
  tonal = CLAMP (tonal, 0.0, 1.0);
  strength = key.tonic >= 0 ? CLAMP (key.correlation, 0.0, 1.0) * tonal : 0.0;
  has_key = key.tonic >= 0 && strength >= min_strength && strength > 0.0;
  min_span = MIN_CERTAIN_SECONDS;
  if (self->window_used > 0.0 && self->window_used < min_span)
    min_span = self->window_used;
  for (i = 0; i < 12; i++) {
    if (res->chroma[i] >= CLASS_LEVEL)
      classes++;
    weakest = MIN (weakest, res->chroma[i]);
  }
  /* (the span's share with signal in it counts, not the span: a sliding
   * window over 0.25 s of music and then silence said G major, certain) */
  uncertain = !has_key || (gdouble) (end - start) < min_span * self->rate
      || (res->frames > 0 && (gdouble) (end - start) * res->active_frames /
      res->frames < min_span * self->rate) || classes < MIN_CLASSES
      || key.correlation < MIN_CORRELATION || weakest >= FLAT_LEVEL;

  /* periodic results: how long the best key has held */
  if (!final) {
    code = key.tonic >= 0 ? 2 * key.tonic + (key.minor ? 1 : 0) : -1;
    if (code != self->run_key) {
      self->run_key = code;
      self->run_from = self->prev_end;
    }
    self->prev_end = end;
    if ((gdouble) (end - self->run_from) < STABLE_SECONDS * self->rate - 0.5)
      uncertain = TRUE;
  }

  if (!has_key) {
    key.tonic = -1;
    key.runner_tonic = -1;
  }
  musa_key_name (key.tonic, key.minor, name, sizeof name);
  musa_key_name (key.runner_tonic, key.runner_minor, runner, sizeof runner);
  musa_key_camelot (key.tonic, key.minor, camelot, sizeof camelot);
  musa_key_open_key (key.tonic, key.minor, open_key, sizeof open_key);
  musa_key_tag (key.tonic, key.minor, tag, sizeof tag);

  s = musa_analysis_new_message (base, start, end - start);
  gst_structure_set (s,
      "key", G_TYPE_STRING, name,
      "tonic", G_TYPE_STRING, musa_key_tonic_name (key.tonic, key.minor),
      "mode", G_TYPE_STRING, has_key ? (key.minor ? "minor" : "major") :
      "none",
      "camelot", G_TYPE_STRING, camelot,
      "open-key", G_TYPE_STRING, open_key,
      "strength", G_TYPE_DOUBLE, strength,
      "correlation", G_TYPE_DOUBLE, (gdouble) key.correlation,
      "runner-up", G_TYPE_STRING, runner,
      "runner-up-correlation", G_TYPE_DOUBLE,
      (gdouble) key.runner_correlation,
      "tuning-cents", G_TYPE_DOUBLE, (gdouble) res->tuning_cents,
      "tonalness", G_TYPE_DOUBLE, (gdouble) res->tonalness,
      "uncertain", G_TYPE_BOOLEAN, uncertain,
      "final", G_TYPE_BOOLEAN, final, NULL);
  musa_gst_structure_set_float_array (s, "chroma", res->chroma, 12);
  musa_analysis_post (base, s);

  if (!uncertain && (final || strcmp (tag, self->last_tag) != 0)) {
    GstTagList *tags = gst_tag_list_new_empty ();
    gst_tag_list_add (tags, GST_TAG_MERGE_REPLACE_ALL, GST_TAG_MUSICAL_KEY,
        tag, NULL);
    g_strlcpy (self->last_tag, tag, sizeof self->last_tag);
    GST_DEBUG_OBJECT (self, "musical-key %s", tag);
    musa_analysis_push_tags (base, tags);
  }
}

/* Periodic result at sample position @end. */
static void
report_interval (GstChromakey * self, guint64 end)
{
  MusaChromaResult res;
  guint64 start = 0;

  musa_chroma_get_window (self->chroma, &res);
  if (res.frames == 0)
    return;
  if (self->window_used > 0.0) {
    guint64 w = (guint64) llround (self->window_used * self->rate);
    start = end > w ? end - w : 0;
  }
  report (self, &res, start, end, FALSE);
}

static void
gst_chromakey_process (GstMusaAnalysis * base, const gfloat * mono, gsize n,
    guint64 pos)
{
  GstChromakey *self = GST_CHROMAKEY (base);

  /* split at interval boundaries so that each periodic result covers
   * exactly the samples before its boundary, whatever the buffer sizes */
  while (n > 0) {
    guint64 end = musa_analysis_interval_boundary (base, self->interval_k + 1);
    gsize take = n;
    if (end > pos && end - pos < n)
      take = (gsize) (end - pos);
    musa_chroma_process (self->chroma, mono, take);
    mono += take;
    pos += take;
    n -= take;
    if (pos >= end) {
      self->interval_k++;
      report_interval (self, pos);
    }
  }
}

static void
gst_chromakey_finish (GstMusaAnalysis * base, guint64 pos)
{
  GstChromakey *self = GST_CHROMAKEY (base);
  MusaChromaResult res;

  /* an empty stream too: "none", uncertain */
  musa_chroma_finish (self->chroma);
  musa_chroma_get_total (self->chroma, &res);
  report (self, &res, 0, pos, TRUE);
}
