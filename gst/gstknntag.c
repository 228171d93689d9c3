/* musa — knntag: k-nearest-neighbour tagging over an embedding index. */
/**
 * SECTION:element-knntag
 * @title: knntag
 *
 * Tags music (files or live radio) by the labels of its nearest neighbours
 * in an index of labelled examples, and builds such an index.
 *
 * Input, passed through untouched (in place, no added latency):
 *
 * - audio (`audio/x-raw`, F32LE/S16LE/S32LE/F64LE, 8..192 kHz, 1..8
 *   channels): the built-in embedding (128 values: statistics of log-mel
 *   bands, MFCCs, chroma, spectral shape, loudness and rhythm; see
 *   src/knn/embed.h) is computed on the mono downmix over the last `window`
 *   seconds; the index must hold embedding `musa-builtin` (dimension 128,
 *   version 1) and the vectors are standardised with its statistics;
 * - `other/tensors` (NNStreamer's static format, one float32 tensor per
 *   buffer, e.g. a CLAP embedding computed by another element): each buffer is
 *   one vector; the index must hold the embedding named by the `embedding`
 *   property with the dimension of the caps (version 1). Vectors are compared
 *   as they are (no standardisation).
 *
 * A mismatch between the input and the index's embedding is an element error
 * (naming both), at caps negotiation.
 *
 * Mode `tag` (default): a vote every `interval` over the last `window`
 * seconds (audio) or for every buffer (tensors), and a whole-stream vote at
 * EOS: the mean of the label scores of the stream's consecutive `window`-long
 * snippets (the snippets learn mode stores; the last, shorter one counts if
 * it has half a window or is the only one), or of every tensor's vote, with
 * the k nearest neighbours over all of them. Each vote posts a `knntag`
 * element message:
 *
 * - `timestamp`, `stream-time`, `running-time`, `duration` (#guint64): the
 *   span voted on, as the `level` element gives them;
 * - `label` (#gchararray): the top label ("" when the index is empty);
 * - `score` (#gdouble): its share of the (weighted) votes, 0..1;
 * - `labels` (#GstValueArray of #gchararray), `scores` (#GstValueArray of
 *   #gfloat): every label that got votes, best first;
 * - `above-threshold` (#GstValueArray of #gchararray): the labels whose score
 *   is >= `threshold` (the multi-label answer);
 * - `neighbours` (#GstValueArray of #gchararray): ids of the k nearest items,
 *   nearest first; `distances` (#GstValueArray of #gfloat): their distances;
 * - `final` (#gboolean): TRUE for the whole-stream vote at EOS;
 * - `uncertain` (#gboolean): TRUE when the vote rests on less than half a
 *   window of audio or on fewer than k items.
 *
 * and pushes a TAG event downstream when the answer changes and at EOS:
 * `genre` (GST_TAG_GENRE) = the top label, `musa-labels` = the labels above
 * threshold, comma-separated, best first; not for answers resting on less
 * than half a window of audio (an index with fewer than k items still tags).
 *
 * Every `reload-interval` seconds a tagger looks at the index file; when it
 * was replaced, the new index is read in a background thread and used from
 * the next vote, with a `knntag-index` element message (`location`,
 * `items` #guint64, `labels` #gint). The whole-stream vote keeps the sums of
 * the labels the new index has and restarts its nearest neighbours. An
 * unusable replacement gives one warning; the index in use stays.
 *
 * Mode `learn`: the stream is cut into snippets of `window` seconds (one per
 * window; the last, shorter one is kept if it has at least half a window or
 * if it is the only one) or, for tensors, one item per buffer; at EOS they are
 * appended to the index at `location` (created if missing) with the labels of
 * `label` (comma-separated) and ids `SOURCE#N`, SOURCE being the file name of
 * the upstream URI (or of the `title` tag); the file is replaced atomically.
 * The name is taken when the stream's audio starts (in gapless playback the
 * URI answers for the next file by the time a stream ends).
 * A stream without a URI or title gets the first free `stream-N`; a named
 * source replaces its earlier items. A `knntag` message then reports `added`
 * (#guint), `items` (#guint64, the index size), `location` and `source`
 * (#gchararray).
 *
 * Live streams: when the server goes away, souphttpsrc ends the stream (EOS,
 * or an ERROR when it cannot reconnect) and knntag posts its whole-stream vote
 * at that EOS; the application restarts the pipeline to resume.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 filesrc location=waltz1.flac ! decodebin ! audioconvert ! \
 *   knntag mode=learn label=waltz,calm location=moods.knn ! fakesink
 * gst-launch-1.0 -m filesrc location=song.flac ! decodebin ! audioconvert ! \
 *   knntag location=moods.knn k=5 ! fakesink
 * gst-launch-1.0 -m souphttpsrc location=http://127.0.0.1:8000/radio is-live=true ! \
 *   decodebin ! audioconvert ! knntag location=moods.knn interval=5000000000 ! \
 *   autoaudiosink
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "musa-config.h"
#endif

#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include <gst/tag/tag.h>

#include "gstmusaanalysis.h"
#include "gstmusaelements.h"
#include "knn/embed.h"
#include "knn/index.h"
#include "knn/knn.h"

GST_DEBUG_CATEGORY_STATIC (knntag_debug);
#define GST_CAT_DEFAULT knntag_debug

#define GST_TYPE_KNNTAG (gst_knntag_get_type ())
G_DECLARE_FINAL_TYPE (GstKnntag, gst_knntag, GST, KNNTAG, GstMusaAnalysis);
/* The tag with every label above threshold. */
#define MUSA_TAG_LABELS "musa-labels"
typedef enum
{
  GST_KNNTAG_MODE_TAG = 0,
  GST_KNNTAG_MODE_LEARN,
} GstKnntagMode;

#define DEFAULT_MODE GST_KNNTAG_MODE_TAG
#define DEFAULT_LOCATION NULL
#define DEFAULT_LABEL NULL
#define DEFAULT_K 5
#define DEFAULT_METRIC MUSA_KNN_COSINE
#define DEFAULT_WEIGHTING MUSA_KNN_UNIFORM
#define DEFAULT_THRESHOLD 0.5
#define DEFAULT_WINDOW 10.0
#define DEFAULT_EMBEDDING "external"
#define DEFAULT_RELOAD_INTERVAL 5.0

#define TENSOR_CAPS "other/tensors, format = (string) static, " \
    "num_tensors = (int) 1, types = (string) float32"

enum
{
  PROP_0,
  PROP_MODE,
  PROP_LOCATION,
  PROP_LABEL,
  PROP_K,
  PROP_METRIC,
  PROP_WEIGHTING,
  PROP_THRESHOLD,
  PROP_WINDOW,
  PROP_EMBEDDING,
  PROP_RELOAD_INTERVAL,
};

typedef struct
{
  GstKnntagMode mode;
  gchar *location;
  gchar *label;
  MusaKnnConfig knn;
  gdouble window;
  gchar *embedding;
  gdouble reload_interval;
} GstKnntagProps;

struct _GstKnntag
{
  GstMusaAnalysis parent;

  GstKnntagProps props;         /* under the object lock */
  GstKnntagProps cfg;           /* snapshot of the running configuration */

  /* input */
  gboolean tensor_mode;
  gboolean warned_values;       /* tensors: bad values reported */
  gboolean warned_refused;      /* audio: a refused embedding reported */
  gint dim;
  gint rate;

  /* tag mode */
  MusaIndex *index;
  MusaKnn *knn;
  MusaKnnResult result;
  gchar *last_answer;           /* to push tags on change */

  /* audio */
  MusaEmbed *embed;
  guint64 interval_k;           /* intervals completed */
  guint64 next_boundary;        /* sample position of the next vote */
  guint64 last_vote;            /* position of the previous vote */
  guint64 snippet_len;          /* learn: window in samples */
  guint64 next_snippet;

  /* whole-stream vote: mean of the snippet (or tensor) votes */
  gdouble *acc_scores;          /* n_labels */
  guint n_snippet_votes;
  gsize nb_item[MUSA_KNN_MAX_K];
  gfloat nb_dist[MUSA_KNN_MAX_K];
  gint n_nb;

  /* tensors */
  guint64 n_vectors;
  GstClockTime first_pts, last_pts_end;

  /* learn mode: pending items */
  GArray *pending;              /* floats, dim per item */
  guint n_pending;
  gchar **labels;
  gchar *source;                /* the stream's title tag */
  gchar *stream_source;         /* the stream's name, from its first audio
                                 * (the URI may answer for the next stream
                                 * by the time it ends: concat, gapless) */
  gboolean source_queried;
  guint n_saved;                /* items of this stream stored already (its
                                 * audio before a rate change) */
  gchar *saved_name;            /* the name they were stored under */
  gboolean rebuilt;             /* configured mid-stream: the next reset
                                 * continues the stream */

  gfloat *vec;                  /* dim scratch */

  /* tag mode: a rebuilt index replacing the file is loaded in a thread and
   * used from the next query */
  gchar *emb_name;              /* the embedding the index must hold */
  gint emb_version;
  struct stat index_st;         /* the file the index in use came from */
  gint64 next_check;            /* monotonic time of the next look */
  GThread *loader;
  GMutex loader_lock;
  gboolean loader_done;         /* under loader_lock, with the results */
  struct stat loader_st;
  MusaIndex *loaded_index;
  MusaKnn *loaded_knn;
  MusaError loaded_err;
  struct stat refused_st;       /* a file version that failed to load */
  gboolean have_refused;

  /* tag mode: an index read and not in use, with the file it came from: the
   * one read when the element started, or the one in use when new caps
   * rebuild the analysis; the caps take it while `location` is the same, so
   * the index is read once per start */
  MusaIndex *spare;
  gchar *spare_location;
  struct stat spare_st;
  gchar *learn_checked;         /* learn mode: the index file (location,
                                 * embedding) the caps checked */
  gchar *caps_error;            /* the last index error posted at the caps */
};

G_DEFINE_TYPE (GstKnntag, gst_knntag, GST_TYPE_MUSA_ANALYSIS);

static gboolean knntag_element_init (GstPlugin * plugin);

GST_ELEMENT_REGISTER_DEFINE_CUSTOM (knntag, knntag_element_init);

#define GST_TYPE_KNNTAG_MODE (gst_knntag_mode_get_type ())
static GType
gst_knntag_mode_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_KNNTAG_MODE_TAG, "Tag the stream from the index", "tag"},
    {GST_KNNTAG_MODE_LEARN, "Add the stream's snippets to the index",
        "learn"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstKnntagMode", values));
  return type;
}

#define GST_TYPE_KNNTAG_METRIC (gst_knntag_metric_get_type ())
static GType
gst_knntag_metric_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {MUSA_KNN_COSINE, "Cosine distance (1 - cos)", "cosine"},
    {MUSA_KNN_EUCLIDEAN, "Euclidean distance", "euclidean"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstKnntagMetric",
            values));
  return type;
}

#define GST_TYPE_KNNTAG_WEIGHTING (gst_knntag_weighting_get_type ())
static GType
gst_knntag_weighting_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {MUSA_KNN_UNIFORM, "Every neighbour has one vote", "uniform"},
    {MUSA_KNN_DISTANCE, "Votes weighted by 1 / distance", "distance"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstKnntagWeighting",
            values));
  return type;
}

static void gst_knntag_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec);
static void gst_knntag_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec);
static void gst_knntag_finalize (GObject * object);
static gboolean gst_knntag_configure (GstMusaAnalysis * base, gint rate,
    MusaError * err);
static void gst_knntag_process (GstMusaAnalysis * base, const gfloat * mono,
    gsize n, guint64 pos);
static void gst_knntag_reset (GstMusaAnalysis * base);
static void gst_knntag_finish (GstMusaAnalysis * base, guint64 pos);
static gchar *source_name (GstKnntag * self);
static void gst_knntag_release (GstMusaAnalysis * base);
static gboolean gst_knntag_set_caps (GstBaseTransform * trans,
    GstCaps * incaps, GstCaps * outcaps);
static GstCaps *gst_knntag_transform_caps (GstBaseTransform * trans,
    GstPadDirection direction, GstCaps * caps, GstCaps * filter);
static GstFlowReturn gst_knntag_transform_ip (GstBaseTransform * trans,
    GstBuffer * buf);
static gboolean gst_knntag_sink_event (GstBaseTransform * trans,
    GstEvent * event);
static gboolean gst_knntag_start (GstBaseTransform * trans);
static gboolean gst_knntag_stop (GstBaseTransform * trans);
static GstFlowReturn gst_knntag_submit_input_buffer (GstBaseTransform * trans,
    gboolean is_discont, GstBuffer * input);
static void clear_accumulator (GstKnntag * self);

static gboolean
knntag_element_init (GstPlugin * plugin)
{
  static gsize done = 0;

  if (g_once_init_enter (&done)) {
    gst_tag_register (MUSA_TAG_LABELS, GST_TAG_FLAG_META, G_TYPE_STRING,
        "musa labels", "labels above the knntag threshold, comma-separated, "
        "best first", gst_tag_merge_strings_with_comma);
    g_once_init_leave (&done, 1);
  }
  return gst_element_register (plugin, "knntag", GST_RANK_NONE,
      GST_TYPE_KNNTAG);
}

static void
gst_knntag_class_init (GstKnntagClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  GstMusaAnalysisClass *analysis_class = GST_MUSA_ANALYSIS_CLASS (klass);
  GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
      GST_PARAM_MUTABLE_READY;
  GstCaps *caps;

  GST_DEBUG_CATEGORY_INIT (knntag_debug, "knntag", 0,
      "k-nearest-neighbour tagging");

  gobject_class->set_property = gst_knntag_set_property;
  gobject_class->get_property = gst_knntag_get_property;
  gobject_class->finalize = gst_knntag_finalize;

  g_object_class_install_property (gobject_class, PROP_MODE,
      g_param_spec_enum ("mode", "Mode",
          "tag: vote with the index; learn: add the stream to the index at EOS",
          GST_TYPE_KNNTAG_MODE, DEFAULT_MODE, flags));
  g_object_class_install_property (gobject_class, PROP_LOCATION,
      g_param_spec_string ("location", "Location",
          "Index file (learn mode creates it if missing)", DEFAULT_LOCATION,
          flags));
  g_object_class_install_property (gobject_class, PROP_LABEL,
      g_param_spec_string ("label", "Label",
          "Learn mode: the stream's labels, comma-separated (e.g. "
          "\"waltz,calm\")", DEFAULT_LABEL, flags));
  g_object_class_install_property (gobject_class, PROP_K,
      g_param_spec_uint ("k", "k", "Number of neighbours that vote (1..256)",
          1, MUSA_KNN_MAX_K, DEFAULT_K, flags));
  g_object_class_install_property (gobject_class, PROP_METRIC,
      g_param_spec_enum ("metric", "Metric", "Distance between embeddings",
          GST_TYPE_KNNTAG_METRIC, DEFAULT_METRIC, flags));
  g_object_class_install_property (gobject_class, PROP_WEIGHTING,
      g_param_spec_enum ("weighting", "Weighting", "Weight of each vote",
          GST_TYPE_KNNTAG_WEIGHTING, DEFAULT_WEIGHTING, flags));
  g_object_class_install_property (gobject_class, PROP_THRESHOLD,
      g_param_spec_double ("threshold", "Threshold",
          "Score (share of the votes, 0..1) a label needs to be in the "
          "multi-label answer", 0.0, 1.0, DEFAULT_THRESHOLD, flags));
  g_object_class_install_property (gobject_class, PROP_WINDOW,
      g_param_spec_double ("window", "Window",
          "Audio summarised by one embedding: the last window for the "
          "periodic votes, the snippet length in learn mode (in seconds)",
          0.5, 600.0, DEFAULT_WINDOW, flags));
  g_object_class_install_property (gobject_class, PROP_EMBEDDING,
      g_param_spec_string ("embedding", "Embedding",
          "Name of the embedding arriving as other/tensors, recorded in and "
          "checked against the index (1..31 bytes)", DEFAULT_EMBEDDING, flags));
  g_object_class_install_property (gobject_class, PROP_RELOAD_INTERVAL,
      g_param_spec_double ("reload-interval", "Reload interval",
          "Tag mode: look this often (seconds) whether the index file was "
          "replaced (musa-index and learn mode move a new file into place) "
          "and use the new one from the next vote, loaded in the background; "
          "0 = never", 0.0, 3600.0, DEFAULT_RELOAD_INTERVAL, flags));

  gst_element_class_set_static_metadata (element_class,
      "k-NN tagger", "Filter/Analyzer/Audio",
      "Tags music by the labels of its nearest neighbours in an index of "
      "labelled examples (built-in audio embedding or other/tensors), "
      "and builds the index", "musa developers");

  /* both pads also take other/tensors (an external embedding) */
  caps = gst_caps_from_string (MUSA_ANALYSIS_CAPS "; " TENSOR_CAPS);
  gst_element_class_add_pad_template (element_class,
      gst_pad_template_new ("sink", GST_PAD_SINK, GST_PAD_ALWAYS, caps));
  gst_element_class_add_pad_template (element_class,
      gst_pad_template_new ("src", GST_PAD_SRC, GST_PAD_ALWAYS, caps));
  gst_caps_unref (caps);

  trans_class->set_caps = GST_DEBUG_FUNCPTR (gst_knntag_set_caps);
  trans_class->transform_caps = GST_DEBUG_FUNCPTR (gst_knntag_transform_caps);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR (gst_knntag_transform_ip);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_knntag_sink_event);
  trans_class->start = GST_DEBUG_FUNCPTR (gst_knntag_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_knntag_stop);
  trans_class->submit_input_buffer =
      GST_DEBUG_FUNCPTR (gst_knntag_submit_input_buffer);

  analysis_class->configure = GST_DEBUG_FUNCPTR (gst_knntag_configure);
  analysis_class->process = GST_DEBUG_FUNCPTR (gst_knntag_process);
  analysis_class->reset = GST_DEBUG_FUNCPTR (gst_knntag_reset);
  analysis_class->finish = GST_DEBUG_FUNCPTR (gst_knntag_finish);
  analysis_class->release = GST_DEBUG_FUNCPTR (gst_knntag_release);

  gst_type_mark_as_plugin_api (GST_TYPE_KNNTAG_MODE, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_KNNTAG_METRIC, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_KNNTAG_WEIGHTING, 0);
}

static void
gst_knntag_init (GstKnntag * self)
{
  self->props.mode = DEFAULT_MODE;
  self->props.location = NULL;
  self->props.label = NULL;
  musa_knn_config_default (&self->props.knn);
  self->props.knn.k = DEFAULT_K;
  self->props.knn.metric = DEFAULT_METRIC;
  self->props.knn.weighting = DEFAULT_WEIGHTING;
  self->props.knn.threshold = DEFAULT_THRESHOLD;
  self->props.window = DEFAULT_WINDOW;
  self->props.embedding = g_strdup (DEFAULT_EMBEDDING);
  self->props.reload_interval = DEFAULT_RELOAD_INTERVAL;
  self->pending = g_array_new (FALSE, FALSE, sizeof (gfloat));
  g_mutex_init (&self->loader_lock);
  self->first_pts = GST_CLOCK_TIME_NONE;
}

static void
props_clear (GstKnntagProps * p)
{
  g_clear_pointer (&p->location, g_free);
  g_clear_pointer (&p->label, g_free);
  g_clear_pointer (&p->embedding, g_free);
}

/* ---- reloading a replaced index (tag mode) ---- */

static gboolean
same_file (const struct stat *a, const struct stat *b)
{
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino
      && a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec
      && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Reads the index at @location; @st = the file as it was just before (a file
 * replaced during the read is seen as replaced at the next look, and read
 * again, rather than taken for the one read). */
static MusaIndex *
read_index (const gchar * location, struct stat *st, MusaError * err)
{
  if (stat (location, st) != 0)
    memset (st, 0, sizeof (*st));
  return musa_index_load (location, err);
}

static void
drop_spare (GstKnntag * self)
{
  g_clear_pointer (&self->spare, musa_index_free);
  g_clear_pointer (&self->spare_location, g_free);
}

/* The loader thread: reads the index and builds its searcher; the element's
 * configuration it reads does not change while the thread runs (it is
 * joined before the configuration is released). */
static gpointer
loader_run (gpointer data)
{
  GstKnntag *self = data;
  MusaError err;
  MusaIndex *idx;
  MusaKnn *knn = NULL;

  memset (&err, 0, sizeof (err));
  idx = musa_index_load (self->cfg.location, &err);
  if (idx != NULL && musa_index_check_embedding (idx, self->emb_name,
          self->dim, self->emb_version, &err) != MUSA_OK)
    g_clear_pointer (&idx, musa_index_free);
  if (idx != NULL && (knn = musa_knn_new (idx, &self->cfg.knn, &err)) == NULL)
    g_clear_pointer (&idx, musa_index_free);
  g_mutex_lock (&self->loader_lock);
  self->loaded_index = idx;
  self->loaded_knn = knn;
  self->loaded_err = err;
  self->loader_done = TRUE;
  g_mutex_unlock (&self->loader_lock);
  return NULL;
}

static void
stop_loader (GstKnntag * self)
{
  if (self->loader == NULL)
    return;
  g_thread_join (self->loader);
  self->loader = NULL;
  g_clear_pointer (&self->loaded_knn, musa_knn_free);
  g_clear_pointer (&self->loaded_index, musa_index_free);
}

/* Use the loaded index: the whole-stream label sums follow their labels by
 * name (labels the new index lacks drop out of the whole-stream vote), the
 * whole-stream nearest neighbours start again (items are numbered anew). */
static void
swap_index (GstKnntag * self)
{
  gint n_old = musa_index_n_labels (self->index);
  gint n_new = musa_index_n_labels (self->loaded_index), i, j;
  gdouble *acc = g_new0 (gdouble, n_new + 1);
  GstStructure *s;

  for (i = 0; i < n_old; i++)
    for (j = 0; j < n_new; j++)
      if (strcmp (musa_index_label (self->index, i),
              musa_index_label (self->loaded_index, j)) == 0) {
        acc[j] = self->acc_scores[i];
        break;
      }
  g_free (self->acc_scores);
  self->acc_scores = acc;
  self->n_nb = 0;
  musa_knn_free (self->knn);
  musa_index_free (self->index);
  self->knn = self->loaded_knn;
  self->index = self->loaded_index;
  self->loaded_knn = NULL;
  self->loaded_index = NULL;
  self->index_st = self->loader_st;
  s = gst_structure_new ("knntag-index", "location", G_TYPE_STRING,
      self->cfg.location, "items", G_TYPE_UINT64,
      (guint64) musa_index_n_items (self->index), "labels", G_TYPE_INT,
      n_new, NULL);
  musa_analysis_post (GST_MUSA_ANALYSIS (self), s);
}

/* Tag mode, before each query: finish a load that is done, or, every
 * reload-interval seconds, start one when the file was replaced. */
static void
maybe_reload (GstKnntag * self)
{
  struct stat st;
  gint64 now;

  if (self->cfg.mode != GST_KNNTAG_MODE_TAG || !(self->cfg.reload_interval
          > 0.0) || self->index == NULL)
    return;
  if (self->loader) {
    gboolean done;

    g_mutex_lock (&self->loader_lock);
    done = self->loader_done;
    g_mutex_unlock (&self->loader_lock);
    if (!done)
      return;
    g_thread_join (self->loader);
    self->loader = NULL;
    if (self->loaded_index) {
      swap_index (self);
    } else {
      /* a damaged or mismatched file: said once, the index in use kept */
      self->refused_st = self->loader_st;
      self->have_refused = TRUE;
      GST_ELEMENT_WARNING (self, RESOURCE, READ,
          ("The index %s was replaced by one that cannot be used (%s); "
              "still tagging with the one loaded before", self->cfg.location,
              self->loaded_err.message), (NULL));
    }
    return;
  }
  now = g_get_monotonic_time ();
  if (now < self->next_check)
    return;
  self->next_check = now + (gint64) (self->cfg.reload_interval * 1e6);
  /* (a file missing for a moment, as while it is moved, is looked at
   * again next time) */
  if (stat (self->cfg.location, &st) != 0 || same_file (&st, &self->index_st)
      || (self->have_refused && same_file (&st, &self->refused_st)))
    return;
  self->loader_st = st;
  self->loader_done = FALSE;
  self->loader = g_thread_try_new ("knntag-reload", loader_run, self, NULL);
}

static void
release_all (GstKnntag * self)
{
  stop_loader (self);
  g_clear_pointer (&self->emb_name, g_free);
  self->have_refused = FALSE;
  musa_knn_free (self->knn);
  self->knn = NULL;
  /* the index in use stays read for the next caps (a new rate, tensors
   * after audio); stop drops it */
  if (self->index != NULL) {
    drop_spare (self);
    self->spare = self->index;
    self->spare_location = g_strdup (self->cfg.location);
    self->spare_st = self->index_st;
    self->index = NULL;
  }
  musa_embed_free (self->embed);
  self->embed = NULL;
  g_clear_pointer (&self->acc_scores, g_free);
  self->n_snippet_votes = 0;
  self->n_nb = 0;
  g_clear_pointer (&self->vec, g_free);
  g_clear_pointer (&self->labels, g_strfreev);
  g_clear_pointer (&self->last_answer, g_free);
  g_array_set_size (self->pending, 0);
  self->n_pending = 0;
  props_clear (&self->cfg);
}

/* The stream's name (kept when the analysis is rebuilt for a new rate
 * mid-stream: both parts are stored under it). */
static void
forget_source (GstKnntag * self)
{
  g_clear_pointer (&self->source, g_free);
  g_clear_pointer (&self->stream_source, g_free);
  self->source_queried = FALSE;
  self->n_saved = 0;
  g_clear_pointer (&self->saved_name, g_free);
}

static void
gst_knntag_finalize (GObject * object)
{
  GstKnntag *self = GST_KNNTAG (object);

  release_all (self);
  drop_spare (self);
  g_free (self->learn_checked);
  g_free (self->caps_error);
  forget_source (self);
  props_clear (&self->props);
  g_array_free (self->pending, TRUE);
  g_mutex_clear (&self->loader_lock);
  G_OBJECT_CLASS (gst_knntag_parent_class)->finalize (object);
}

static void
gst_knntag_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstKnntag *self = GST_KNNTAG (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODE:
      self->props.mode = g_value_get_enum (value);
      break;
    case PROP_LOCATION:
      g_free (self->props.location);
      self->props.location = g_value_dup_string (value);
      break;
    case PROP_LABEL:
      g_free (self->props.label);
      self->props.label = g_value_dup_string (value);
      break;
    case PROP_K:
      self->props.knn.k = (int) g_value_get_uint (value);
      break;
    case PROP_METRIC:
      self->props.knn.metric = g_value_get_enum (value);
      break;
    case PROP_WEIGHTING:
      self->props.knn.weighting = g_value_get_enum (value);
      break;
    case PROP_THRESHOLD:
      self->props.knn.threshold = g_value_get_double (value);
      break;
    case PROP_WINDOW:
      self->props.window = g_value_get_double (value);
      break;
    case PROP_EMBEDDING:
      g_free (self->props.embedding);
      self->props.embedding = g_value_dup_string (value);
      break;
    case PROP_RELOAD_INTERVAL:
      self->props.reload_interval = g_value_get_double (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_knntag_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstKnntag *self = GST_KNNTAG (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODE:
      g_value_set_enum (value, self->props.mode);
      break;
    case PROP_LOCATION:
      g_value_set_string (value, self->props.location);
      break;
    case PROP_LABEL:
      g_value_set_string (value, self->props.label);
      break;
    case PROP_K:
      g_value_set_uint (value, (guint) self->props.knn.k);
      break;
    case PROP_METRIC:
      g_value_set_enum (value, self->props.knn.metric);
      break;
    case PROP_WEIGHTING:
      g_value_set_enum (value, self->props.knn.weighting);
      break;
    case PROP_THRESHOLD:
      g_value_set_double (value, self->props.knn.threshold);
      break;
    case PROP_WINDOW:
      g_value_set_double (value, self->props.window);
      break;
    case PROP_EMBEDDING:
      g_value_set_string (value, self->props.embedding);
      break;
    case PROP_RELOAD_INTERVAL:
      g_value_set_double (value, self->props.reload_interval);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

/* A location is given. */
static gboolean
check_location (const gchar * location, MusaError * err)
{
  if (location != NULL && location[0] != '\0')
    return TRUE;
  musa_error_set (err, MUSA_ERR_INVALID, "location",
      "no index file given (set location)");
  return FALSE;
}

/* Learn mode's labels, split and checked (g_strfreev), NULL with @err. */
static gchar **
parse_labels (const gchar * label, MusaError * err)
{
  gchar **labs;
  guint i;

  if (label == NULL || label[0] == '\0') {
    musa_error_set (err, MUSA_ERR_INVALID, "label",
        "learn mode needs the stream's labels (label=a,b)");
    return NULL;
  }
  labs = g_strsplit (label, ",", -1);
  for (i = 0; labs[i]; i++) {
    g_strstrip (labs[i]);
    const gchar *c;
    gboolean ok = labs[i][0] != '\0' && strlen (labs[i]) <= 255;
    for (c = labs[i]; *c && ok; c++)
      ok = !g_ascii_iscntrl (*c);
    if (!ok) {
      musa_error_set (err, MUSA_ERR_INVALID, "label",
          "empty, too long (> 255 bytes) or unprintable label in \"%s\"",
          label);
      g_strfreev (labs);
      return NULL;
    }
  }
  return labs;
}

/* Learn mode: the index at @location can be written, and an existing one
 * holds the embedding (name, dim, version) or a new one can be made. */
static gboolean
check_learn_index (const gchar * location, const gchar * name, gint dim,
    gint version, unsigned flags, MusaError * err)
{
  MusaIndex *idx;
  gboolean ok;

  /* the index is written at EOS: fail now, not after the whole stream */
  if (musa_index_check_writable (location, err) != MUSA_OK)
    return FALSE;
  if (g_file_test (location, G_FILE_TEST_EXISTS)) {
    idx = musa_index_load (location, err);
    if (idx == NULL)
      return FALSE;
    ok = musa_index_check_embedding (idx, name, dim, version, err) == MUSA_OK;
  } else {
    idx = musa_index_new (name, dim, version, flags, err);
    ok = idx != NULL;
  }
  musa_index_free (idx);
  return ok;
}

static gchar *
learn_key (const gchar * location, const gchar * name, gint dim, gint version)
{
  return g_strdup_printf ("%s\n%s\n%d\n%d", location, name, dim, version);
}

/* Snapshot the properties and open the index for an embedding (name, dim,
 * version): in tag mode the index read already (prepare_index, or when the
 * element started) when it comes from `location`. Fills @err naming the
 * property at fault. */
static gboolean
open_index (GstKnntag * self, const gchar * name, gint dim, gint version,
    unsigned flags, MusaError * err)
{
  release_all (self);
  GST_OBJECT_LOCK (self);
  self->cfg = self->props;
  self->cfg.location = g_strdup (self->props.location);
  self->cfg.label = g_strdup (self->props.label);
  self->cfg.embedding = g_strdup (self->props.embedding);
  GST_OBJECT_UNLOCK (self);

  self->dim = dim;
  if (musa_knn_config_check (&self->cfg.knn, err) != MUSA_OK)
    return FALSE;
  if (!check_location (self->cfg.location, err))
    return FALSE;
  if (self->cfg.mode == GST_KNNTAG_MODE_LEARN) {
    gchar *key;

    drop_spare (self);
    self->labels = parse_labels (self->cfg.label, err);
    if (self->labels == NULL)
      return FALSE;
    /* the file, unless prepare_index checked it for these caps */
    key = learn_key (self->cfg.location, name, dim, version);
    if (g_strcmp0 (key, self->learn_checked) != 0
        && !check_learn_index (self->cfg.location, name, dim, version, flags,
            err)) {
      g_free (key);
      return FALSE;
    }
    g_free (self->learn_checked);
    self->learn_checked = key;
  } else {
    if (self->spare != NULL
        && g_strcmp0 (self->spare_location, self->cfg.location) == 0) {
      GST_DEBUG_OBJECT (self, "using the index read before from %s",
          self->cfg.location);
      self->index = g_steal_pointer (&self->spare);
      self->index_st = self->spare_st;
      g_clear_pointer (&self->spare_location, g_free);
    } else {
      drop_spare (self);
      GST_DEBUG_OBJECT (self, "reading the index %s", self->cfg.location);
      self->index = read_index (self->cfg.location, &self->index_st, err);
      if (self->index == NULL)
        return FALSE;
    }
    if (musa_index_check_embedding (self->index, name, dim, version, err))
      return FALSE;
    self->knn = musa_knn_new (self->index, &self->cfg.knn, err);
    if (self->knn == NULL)
      return FALSE;
    /* what a replacement must hold (the file this index came from is in
     * index_st) */
    self->emb_name = g_strdup (name);
    self->emb_version = version;
    self->next_check = g_get_monotonic_time () +
        (gint64) (self->cfg.reload_interval * 1e6);
    if (musa_index_n_items (self->index) == 0)
      GST_ELEMENT_WARNING (self, RESOURCE, READ,
          ("The index %s is empty: every answer will be empty",
              self->cfg.location), (NULL));
  }
  self->vec = g_new0 (gfloat, dim);
  if (self->index)
    self->acc_scores = g_new0 (gdouble, musa_index_n_labels (self->index) + 1);
  return TRUE;
}

static void
post_error (GstKnntag * self, const MusaError * err)
{
  if (err->code == MUSA_ERR_IO)
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
        ("Could not use the index (property '%s'): %s", err->property,
            err->message), (NULL));
  else if (err->code == MUSA_ERR_FORMAT)
    GST_ELEMENT_ERROR (self, RESOURCE, READ,
        ("Damaged index (property '%s'): %s", err->property, err->message),
        (NULL));
  else if (err->code == MUSA_ERR_MISMATCH)
    GST_ELEMENT_ERROR (self, STREAM, WRONG_TYPE,
        ("Embedding mismatch (property '%s'): %s", err->property,
            err->message), (NULL));
  else
    GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS,
        ("Invalid setting of property '%s': %s", err->property,
            err->message), (NULL));
}

/* An index error at the caps, posted once per run (basetransform offers
 * refused caps again). */
static void
post_caps_error (GstKnntag * self, const MusaError * err)
{
  gchar *text = g_strdup_printf ("%d %s: %s", err->code, err->property,
      err->message);

  if (g_strcmp0 (text, self->caps_error) == 0) {
    g_free (text);
    return;
  }
  g_free (self->caps_error);
  self->caps_error = text;
  post_error (self, err);
}

/* Caps are about to configure the analysis for an embedding (name, dim,
 * version): the index file is read here, where a damaged, unreadable or
 * mismatched index gets its own error (configure's failures are all worded
 * as an invalid setting by the base class). Tag mode: the index in use or
 * the spare (read when the element started) serves while `location` is the
 * same; else the file is read, as the spare that configure takes. Learn
 * mode: the file is checked once per location and embedding. */
static gboolean
prepare_index (GstKnntag * self, const gchar * name, gint dim, gint version,
    unsigned flags, MusaError * err)
{
  gchar *location, *key;
  gboolean learn, ok = TRUE;
  const MusaIndex *idx;

  GST_OBJECT_LOCK (self);
  location = g_strdup (self->props.location);
  learn = self->props.mode == GST_KNNTAG_MODE_LEARN;
  GST_OBJECT_UNLOCK (self);
  /* (no location: open_index says so) */
  if (location == NULL || location[0] == '\0') {
    g_free (location);
    return TRUE;
  }
  if (learn) {
    key = learn_key (location, name, dim, version);
    if (g_strcmp0 (key, self->learn_checked) != 0) {
      ok = check_learn_index (location, name, dim, version, flags, err);
      g_free (self->learn_checked);
      self->learn_checked = ok ? g_strdup (key) : NULL;
    }
    g_free (key);
    g_free (location);
    return ok;
  }
  if (self->index != NULL && g_strcmp0 (self->cfg.location, location) == 0) {
    idx = self->index;
  } else if (self->spare != NULL
      && g_strcmp0 (self->spare_location, location) == 0) {
    idx = self->spare;
  } else {
    drop_spare (self);
    GST_DEBUG_OBJECT (self, "reading the index %s", location);
    self->spare = read_index (location, &self->spare_st, err);
    if (self->spare == NULL) {
      g_free (location);
      return FALSE;
    }
    self->spare_location = g_strdup (location);
    idx = self->spare;
  }
  g_free (location);
  return musa_index_check_embedding (idx, name, dim, version, err) == MUSA_OK;
}

/* ---- audio ---- */

static gboolean
gst_knntag_configure (GstMusaAnalysis * base, gint rate, MusaError * err)
{
  GstKnntag *self = GST_KNNTAG (base);
  MusaEmbedConfig ec;

  self->tensor_mode = FALSE;
  self->rate = rate;
  if (!open_index (self, MUSA_EMBED_NAME, MUSA_EMBED_DIM, MUSA_EMBED_VERSION,
          MUSA_INDEX_FLAG_STANDARDISE, err))
    return FALSE;
  musa_embed_config_default (&ec, rate);
  ec.window = self->cfg.window;
  self->embed = musa_embed_new (&ec, err);
  if (self->embed == NULL)
    return FALSE;
  self->snippet_len = (guint64) llround (self->cfg.window * rate);
  self->rebuilt = TRUE;
  return TRUE;
}

static void
gst_knntag_release (GstMusaAnalysis * base)
{
  release_all (GST_KNNTAG (base));
}

static void
gst_knntag_reset (GstMusaAnalysis * base)
{
  GstKnntag *self = GST_KNNTAG (base);

  if (self->embed)
    musa_embed_reset (self->embed);
  self->interval_k = 0;
  self->last_vote = 0;
  self->next_boundary = musa_analysis_interval_boundary (base, 1);
  self->next_snippet = self->snippet_len;
  self->n_vectors = 0;
  self->first_pts = GST_CLOCK_TIME_NONE;
  clear_accumulator (self);
  /* after a rate change the stream goes on (learn mode adds to the items
   * stored at the change); any other reset (the next segment of a segment
   * seek, a flush) stores its snippets afresh, replacing the earlier ones */
  if (!self->rebuilt)
    self->n_saved = 0;
  self->rebuilt = FALSE;
}

static void
set_string_array (GstStructure * s, const gchar * field,
    const gchar * const *v, guint n)
{
  GValue arr = G_VALUE_INIT, item = G_VALUE_INIT;
  guint i;

  g_value_init (&arr, GST_TYPE_ARRAY);
  g_value_init (&item, G_TYPE_STRING);
  for (i = 0; i < n; i++) {
    g_value_set_string (&item, v[i]);
    gst_value_array_append_value (&arr, &item);
  }
  gst_structure_take_value (s, field, &arr);
  g_value_unset (&item);
}

typedef struct
{
  int label;
  float score;
} LabelScore;

/* Best score first; scores within 1e-6 are a tie, won by the label whose
 * name sorts first. */
static gint
cmp_score (gconstpointer a, gconstpointer b, gpointer user)
{
  const LabelScore *x = a, *y = b;
  const MusaIndex *idx = user;

  if (fabsf (x->score - y->score) > 1e-6f)
    return x->score > y->score ? -1 : 1;
  return strcmp (musa_index_label (idx, x->label), musa_index_label (idx,
          y->label));
}

/* A snippet's embedding refused, reported once per stream: out of range
 * (audio far beyond full scale: F32 samples of 1e20 overflow its power
 * features) or, for the cosine metric, without direction (all zero). Such
 * snippets get no vote (and are not learnt); a stream of them only an
 * empty, uncertain answer. */
static void
warn_refused (GstKnntag * self, const gchar * what)
{
  if (self->warned_refused)
    return;
  self->warned_refused = TRUE;
  GST_ELEMENT_WARNING (self, STREAM, FORMAT, ("%s", what), (NULL));
}

/* Search @vec; FALSE (and a warning) when the vector is refused. */
static gboolean
query (GstKnntag * self, const gfloat * vec)
{
  maybe_reload (self);
  if (musa_knn_query (self->knn, vec, &self->result) != MUSA_OK) {
    warn_refused (self, "Snippet embedding refused (out of range: audio far "
        "beyond full scale; or all zero, no direction for the cosine "
        "metric): snippets without a vote");
    return FALSE;
  }
  return TRUE;
}

/* Add the last query to the whole-stream vote: the mean of the snippet
 * scores, and the k nearest neighbours over all snippets. */
static void
accumulate (GstKnntag * self)
{
  MusaKnnResult *r = &self->result;
  gint i, j, n_labels = musa_index_n_labels (self->index);

  for (i = 0; i < n_labels; i++)
    self->acc_scores[i] += r->scores[i];
  self->n_snippet_votes++;
  for (i = 0; i < r->n_neighbours; i++) {
    gint p;
    gboolean skip = FALSE;
    for (j = 0; j < self->n_nb; j++)
      if (self->nb_item[j] == r->item[i]) {
        if (r->distance[i] < self->nb_dist[j]) {
          /* nearer this time: take it out, insert it again below */
          memmove (self->nb_item + j, self->nb_item + j + 1,
              sizeof (gsize) * (self->n_nb - j - 1));
          memmove (self->nb_dist + j, self->nb_dist + j + 1,
              sizeof (gfloat) * (self->n_nb - j - 1));
          self->n_nb--;
        } else {
          skip = TRUE;
        }
        break;
      }
    if (skip || (self->n_nb == self->cfg.knn.k
            && !(r->distance[i] < self->nb_dist[self->n_nb - 1])))
      continue;
    p = self->n_nb < self->cfg.knn.k ? self->n_nb++ : self->n_nb - 1;
    while (p > 0 && self->nb_dist[p - 1] > r->distance[i]) {
      self->nb_dist[p] = self->nb_dist[p - 1];
      self->nb_item[p] = self->nb_item[p - 1];
      p--;
    }
    self->nb_dist[p] = r->distance[i];
    self->nb_item[p] = r->item[i];
  }
}

static void
clear_accumulator (GstKnntag * self)
{
  if (self->acc_scores && self->index)
    memset (self->acc_scores, 0,
        sizeof (gdouble) * (musa_index_n_labels (self->index) + 1));
  self->n_snippet_votes = 0;
  self->n_nb = 0;
}

/* Fill @s (its time fields set) with an answer, post it and push tags when
 * the answer changed (always for the final one). */
static void
emit (GstKnntag * self, GstStructure * s, const gfloat * scores,
    const gsize * items, const gfloat * distances, gint n_nb,
    gboolean final, gboolean uncertain)
{
  const gchar *names[MUSA_KNN_MAX_K];
  LabelScore *ls;
  const gchar **labs, **above;
  gfloat *sc;
  guint n_ls = 0, n_above = 0, i;
  gint n_labels = musa_index_n_labels (self->index);
  const gchar *top;
  GString *answer;
  gboolean changed = FALSE;

  ls = g_new (LabelScore, n_labels + 1);
  for (i = 0; i < (guint) n_labels; i++)
    if (scores[i] > 0.0f) {
      ls[n_ls].label = (int) i;
      ls[n_ls++].score = scores[i];
    }
  g_qsort_with_data (ls, n_ls, sizeof (LabelScore), cmp_score, self->index);
  labs = g_new (const gchar *, n_ls + 1);
  above = g_new (const gchar *, n_ls + 1);
  sc = g_new (gfloat, n_ls + 1);
  answer = g_string_new (NULL);
  for (i = 0; i < n_ls; i++) {
    labs[i] = musa_index_label (self->index, ls[i].label);
    sc[i] = ls[i].score;
    if (ls[i].score >= self->cfg.knn.threshold - 1e-6) {
      above[n_above++] = labs[i];
      if (answer->len)
        g_string_append_c (answer, ',');
      g_string_append (answer, labs[i]);
    }
  }
  top = n_ls ? labs[0] : "";
  for (i = 0; i < (guint) n_nb; i++)
    names[i] = musa_index_item_id (self->index, items[i]);
  gst_structure_set (s, "label", G_TYPE_STRING, top, "score", G_TYPE_DOUBLE,
      n_ls ? (gdouble) sc[0] : 0.0, NULL);
  set_string_array (s, "labels", labs, n_ls);
  musa_gst_structure_set_float_array (s, "scores", sc, n_ls);
  set_string_array (s, "above-threshold", above, n_above);
  set_string_array (s, "neighbours", names, (guint) n_nb);
  musa_gst_structure_set_float_array (s, "distances", distances, (guint) n_nb);
  gst_structure_set (s, "final", G_TYPE_BOOLEAN, final, "uncertain",
      G_TYPE_BOOLEAN, uncertain || n_nb < self->cfg.knn.k, NULL);
  musa_analysis_post (GST_MUSA_ANALYSIS (self), s);

  /* tags only for answers that rest on enough audio (as chromakey's): the
   * first seconds of a stream, or a stream shorter than half a window, would
   * tag from a fragment */
  if (n_ls && !uncertain) {
    gchar *key = g_strdup_printf ("%s|%s", top, answer->str);
    changed = g_strcmp0 (key, self->last_answer) != 0;
    g_free (self->last_answer);
    self->last_answer = key;
  }
  if (n_ls && !uncertain && (changed || final)) {
    GstTagList *tags = gst_tag_list_new_empty ();
    gst_tag_list_add (tags, GST_TAG_MERGE_REPLACE, GST_TAG_GENRE, top, NULL);
    if (answer->len)
      gst_tag_list_add (tags, GST_TAG_MERGE_REPLACE, MUSA_TAG_LABELS,
          answer->str, NULL);
    musa_analysis_push_tags (GST_MUSA_ANALYSIS (self), tags);
  }
  g_string_free (answer, TRUE);
  g_free (ls);
  g_free (labs);
  g_free (above);
  g_free (sc);
}

/* Post the answer of the last query. */
static void
emit_result (GstKnntag * self, GstStructure * s, gboolean uncertain)
{
  MusaKnnResult *r = &self->result;

  emit (self, s, r->scores, r->item, r->distance, r->n_neighbours, FALSE,
      uncertain);
}

/* Post the whole-stream answer (mean of the snippet votes). */
static void
emit_final (GstKnntag * self, GstStructure * s, gboolean uncertain)
{
  gint i, n_labels = musa_index_n_labels (self->index);
  gfloat *mean = g_new0 (gfloat, n_labels + 1);

  for (i = 0; i < n_labels && self->n_snippet_votes > 0; i++)
    mean[i] = (gfloat) (self->acc_scores[i] / self->n_snippet_votes);
  emit (self, s, mean, self->nb_item, self->nb_dist, self->n_nb, TRUE,
      uncertain);
  g_free (mean);
}

static void
keep_snippet (GstKnntag * self, const gfloat * vec)
{
  g_array_append_vals (self->pending, vec, self->dim);
  self->n_pending++;
}

static void
gst_knntag_process (GstMusaAnalysis * base, const gfloat * mono, gsize n,
    guint64 pos)
{
  GstKnntag *self = GST_KNNTAG (base);
  gboolean learn = self->cfg.mode == GST_KNNTAG_MODE_LEARN;

  if (learn && !self->source_queried) {
    self->stream_source = source_name (self);
    self->source_queried = TRUE;
  }
  while (n > 0) {
    guint64 boundary = learn ? self->next_snippet :
        MIN (self->next_snippet, self->next_boundary);
    gsize take = boundary > pos ? (gsize) MIN ((guint64) n, boundary - pos) : 0;
    gboolean queried = FALSE, ok = FALSE;
    gint frames = 0;

    musa_embed_process (self->embed, mono, take);
    mono += take;
    n -= take;
    pos += take;
    if (pos < boundary)
      break;
    if (pos == self->next_snippet) {
      frames = musa_embed_window (self->embed, self->vec);
      if (learn) {
        keep_snippet (self, self->vec);
      } else {
        queried = TRUE;
        ok = query (self, self->vec);
        if (ok)
          accumulate (self);
      }
      self->next_snippet += self->snippet_len;
    }
    if (!learn && pos == self->next_boundary) {
      GstStructure *s;
      if (!queried) {
        frames = musa_embed_window (self->embed, self->vec);
        ok = query (self, self->vec);
      }
      if (ok) {
        s = musa_analysis_new_message (base, self->last_vote,
            pos - self->last_vote);
        emit_result (self, s,
            frames * 2 < musa_embed_window_frames (self->embed));
      }
      self->last_vote = pos;
      self->interval_k++;
      self->next_boundary = musa_analysis_interval_boundary (base,
          self->interval_k + 1);
      if (self->next_boundary <= pos)
        self->next_boundary = pos + 1;
    }
  }
}

/* The file name of the upstream URI, or the title tag; NULL when the
 * stream has neither. */
static gchar *
source_name (GstKnntag * self)
{
  GstQuery *q = gst_query_new_uri ();
  gchar *uri = NULL, *name = NULL;

  if (gst_pad_peer_query (GST_BASE_TRANSFORM_SINK_PAD (self), q))
    gst_query_parse_uri (q, &uri);
  gst_query_unref (q);
  if (uri) {
    gchar *path = gst_uri_get_location (uri);
    if (path) {
      name = g_path_get_basename (path);
      g_free (path);
    }
    g_free (uri);
  }
  if (name == NULL && self->source)
    name = g_strdup (self->source);
  if (name && (name[0] == '\0' || strcmp (name, "/") == 0
          || strcmp (name, ".") == 0))
    g_clear_pointer (&name, g_free);
  /* '#' separates the snippet number */
  if (name)
    g_strdelimit (name, "#", '_');
  return name;
}

/* "stream-N", the first N the index does not use. */
static gchar *
anonymous_name (const MusaIndex * idx)
{
  guint n;

  for (n = 1;; n++) {
    gchar *name = g_strdup_printf ("stream-%u", n), *first;
    gboolean used = FALSE;
    gsize i;
    first = g_strdup_printf ("%s#", name);
    for (i = 0; i < musa_index_n_items (idx) && !used; i++)
      used = g_str_has_prefix (musa_index_item_id (idx, i), first);
    g_free (first);
    if (!used)
      return name;
    g_free (name);
  }
}

static void
save_learned (GstKnntag * self)
{
  MusaError err;
  MusaIndex *idx;
  gchar *src = self->n_saved > 0 ? g_strdup (self->saved_name) :
      self->stream_source ? g_strdup (self->stream_source) : source_name (self);
  guint i, n_labels = g_strv_length (self->labels);
  guint added = 0;
  gsize removed = 0;
  gint lock, status = MUSA_OK;
  GstStructure *s;
  const gchar *name = self->tensor_mode ? self->cfg.embedding : MUSA_EMBED_NAME;
  gint version = self->tensor_mode ? 1 : MUSA_EMBED_VERSION;

  musa_error_clear (&err);
  if (self->n_pending == 0) {
    GST_ELEMENT_WARNING (self, STREAM, DECODE,
        ("Nothing to learn: the stream was empty"), (NULL));
    g_free (src);
    return;
  }
  /* reload: another pipeline may have added items since we started; and
   * none may save between this load and our save */
  lock = musa_index_lock (self->cfg.location, &err);
  if (lock < 0) {
    post_error (self, &err);
    g_free (src);
    return;
  }
  if (g_file_test (self->cfg.location, G_FILE_TEST_EXISTS))
    idx = musa_index_load (self->cfg.location, &err);
  else
    idx = musa_index_new (name, self->dim, version, self->tensor_mode ? 0 :
        MUSA_INDEX_FLAG_STANDARDISE, &err);
  if (idx && musa_index_check_embedding (idx, name, self->dim, version,
          &err) != MUSA_OK) {
    musa_index_free (idx);
    idx = NULL;
  }
  if (idx == NULL) {
    musa_index_unlock (lock);
    post_error (self, &err);
    g_free (src);
    return;
  }
  /* a named source replaces its earlier items; an anonymous one is new;
   * the audio after a rate change adds to the stream's items */
  if (self->n_saved == 0 && src)
    removed = musa_index_remove_source (idx, src);
  else if (src == NULL)
    src = anonymous_name (idx);
  for (i = 0; i < self->n_pending; i++) {
    gchar *id = g_strdup_printf ("%s#%u", src, self->n_saved + i);
    if (musa_index_add (idx, &g_array_index (self->pending, gfloat,
                (gsize) i * self->dim), id, (const char *const *) self->labels,
            (int) n_labels, &err) == MUSA_OK)
      added++;
    else
      GST_WARNING_OBJECT (self, "item %s not added: %s", id, err.message);
    g_free (id);
  }
  if (added < self->n_pending) {
    gchar *what = g_strdup_printf ("Audio too loud for the embedding "
        "(samples far beyond full scale): %u of %u snippets not added to the "
        "index", self->n_pending - added, self->n_pending);
    warn_refused (self, what);
    g_free (what);
  }
  /* (nothing added and nothing replaced: the index stays as it was, a new
   * one is not written) */
  if (added > 0 || removed > 0)
    status = musa_index_save (idx, self->cfg.location, &err);
  musa_index_unlock (lock);
  if (status != MUSA_OK) {
    GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
        ("Could not write the index: %s", err.message), (NULL));
  } else {
    self->n_saved += self->n_pending;
    g_free (self->saved_name);
    self->saved_name = g_strdup (src);
    s = gst_structure_new ("knntag", "added", G_TYPE_UINT, added, "items",
        G_TYPE_UINT64, (guint64) musa_index_n_items (idx), "location",
        G_TYPE_STRING, self->cfg.location, "source", G_TYPE_STRING, src, NULL);
    musa_analysis_post (GST_MUSA_ANALYSIS (self), s);
  }
  musa_index_free (idx);
  g_free (src);
  g_array_set_size (self->pending, 0);
  self->n_pending = 0;
}

static void
gst_knntag_finish (GstMusaAnalysis * base, guint64 pos)
{
  GstKnntag *self = GST_KNNTAG (base);
  gboolean learn = self->cfg.mode == GST_KNNTAG_MODE_LEARN;
  guint64 last;
  guint done;

  if (self->embed == NULL)
    return;
  musa_embed_finish (self->embed);
  /* the last, shorter snippet counts if it has half a window or is the
   * only one */
  last = self->next_snippet - self->snippet_len;
  done = learn ? self->n_pending : self->n_snippet_votes;
  if (pos > last && (done == 0 || (pos - last) * 2 >= self->snippet_len)) {
    musa_embed_window (self->embed, self->vec);
    if (learn)
      keep_snippet (self, self->vec);
    else if (query (self, self->vec))
      accumulate (self);
  }
  if (learn) {
    save_learned (self);
    return;
  }
  /* nothing to vote on (an empty stream): an empty, uncertain answer */
  emit_final (self, musa_analysis_new_message (base, 0, pos),
      pos * 2 < self->snippet_len || self->n_snippet_votes == 0);
}

/* ---- tensors ---- */

static gboolean
is_tensor_caps (GstCaps * caps)
{
  return caps && gst_caps_get_size (caps) > 0 &&
      gst_structure_has_name (gst_caps_get_structure (caps, 0),
      "other/tensors");
}

static GstCaps *
gst_knntag_transform_caps (GstBaseTransform * trans,
    GstPadDirection direction, GstCaps * caps, GstCaps * filter)
{
  /* passthrough: the other pad has the same caps */
  GstCaps *res = gst_caps_copy (caps);

  if (filter) {
    GstCaps *tmp = gst_caps_intersect_full (filter, res,
        GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref (res);
    res = tmp;
  }
  return res;
}

/* "128" or "128:1:1:1" (or the int 128) -> 128 */
static gint
tensor_dim (const GstStructure * s)
{
  const gchar *dims = gst_structure_get_string (s, "dimensions");
  gchar **parts;
  gint64 dim = 1;
  guint i;
  gint one;

  /* "dimensions=4" in a caps string is an int */
  if (dims == NULL && gst_structure_get_int (s, "dimensions", &one))
    return one >= 1 && one <= MUSA_INDEX_MAX_DIM ? one : -1;
  if (dims == NULL || strchr (dims, ','))
    return -1;
  parts = g_strsplit (dims, ":", -1);
  for (i = 0; parts[i]; i++) {
    gchar *end;
    gint64 v = g_ascii_strtoll (parts[i], &end, 10);
    if (end == parts[i] || *end != '\0' || v < 1 || v > MUSA_INDEX_MAX_DIM) {
      dim = -1;
      break;
    }
    dim *= v;
    if (dim > MUSA_INDEX_MAX_DIM) {
      dim = -1;
      break;
    }
  }
  if (i == 0)
    dim = -1;
  g_strfreev (parts);
  return (gint) dim;
}

static gboolean
gst_knntag_set_caps (GstBaseTransform * trans, GstCaps * incaps,
    GstCaps * outcaps)
{
  GstKnntag *self = GST_KNNTAG (trans);
  GstStructure *s;
  MusaError err;
  gint dim;
  gchar *name;

  musa_error_clear (&err);
  if (!is_tensor_caps (incaps)) {
    self->tensor_mode = FALSE;
    if (!prepare_index (self, MUSA_EMBED_NAME, MUSA_EMBED_DIM,
            MUSA_EMBED_VERSION, MUSA_INDEX_FLAG_STANDARDISE, &err)) {
      post_caps_error (self, &err);
      return FALSE;
    }
    return GST_BASE_TRANSFORM_CLASS (gst_knntag_parent_class)->set_caps
        (trans, incaps, outcaps);
  }
  /* an external embedding: GstAudioFilter has nothing to parse */
  s = gst_caps_get_structure (incaps, 0);
  dim = tensor_dim (s);
  if (dim < 1) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("Unsupported other/tensors caps: need one float32 tensor with "
            "dimensions of at most %d values in all", MUSA_INDEX_MAX_DIM),
        ("caps %" GST_PTR_FORMAT, incaps));
    return FALSE;
  }
  GST_OBJECT_LOCK (self);
  name = g_strdup (self->props.embedding);
  GST_OBJECT_UNLOCK (self);
  if (name == NULL || name[0] == '\0' || strlen (name) >= MUSA_INDEX_NAME_LEN) {
    musa_error_set (&err, MUSA_ERR_INVALID, "embedding",
        "embedding name must have 1..%d bytes", MUSA_INDEX_NAME_LEN - 1);
    post_error (self, &err);
    g_free (name);
    return FALSE;
  }
  /* new caps for the same tensor (another framerate): the stream goes on */
  if (self->tensor_mode && self->vec != NULL && dim == self->dim
      && g_strcmp0 (name, self->cfg.embedding) == 0) {
    g_free (name);
    return TRUE;
  }
  if (!prepare_index (self, name, dim, 1, 0, &err)) {
    post_caps_error (self, &err);
    g_free (name);
    return FALSE;
  }
  /* the audio analysis, if any, is over: audio caps after the tensors
   * configure it afresh */
  musa_analysis_release (GST_MUSA_ANALYSIS (self));
  if (!open_index (self, name, dim, 1, 0, &err)) {
    post_caps_error (self, &err);
    g_free (name);
    return FALSE;
  }
  g_free (name);
  self->tensor_mode = TRUE;
  self->n_vectors = 0;
  self->first_pts = GST_CLOCK_TIME_NONE;
  return TRUE;
}

static GstStructure *
tensor_message (GstKnntag * self, GstClockTime ts, GstClockTime duration)
{
  GstBaseTransform *trans = GST_BASE_TRANSFORM (self);
  GstElementFactory *f = gst_element_get_factory (GST_ELEMENT (self));
  GstClockTime stream_time = GST_CLOCK_TIME_NONE, running_time =
      GST_CLOCK_TIME_NONE;

  /* tensors may come in another segment format (appsrc's default is bytes):
   * the conversions would assert */
  if (trans->segment.format == GST_FORMAT_TIME) {
    stream_time = gst_segment_to_stream_time (&trans->segment,
        GST_FORMAT_TIME, ts);
    running_time = gst_segment_to_running_time (&trans->segment,
        GST_FORMAT_TIME, ts);
  }
  return gst_structure_new (f ? GST_OBJECT_NAME (f) : "knntag",
      "timestamp", G_TYPE_UINT64, ts,
      "stream-time", G_TYPE_UINT64, stream_time,
      "running-time", G_TYPE_UINT64, running_time,
      "duration", G_TYPE_UINT64, duration, NULL);
}

static GstFlowReturn
tensor_buffer (GstKnntag * self, GstBuffer * buf)
{
  GstMapInfo map;
  const gfloat *v;
  gint i, n_bad = 0, n_big = 0;
  GstClockTime pts, end;

  if (self->vec == NULL)
    return GST_FLOW_NOT_NEGOTIATED;
  if (!gst_buffer_map (buf, &map, GST_MAP_READ))
    return GST_FLOW_ERROR;
  if (map.size != (gsize) self->dim * sizeof (gfloat)) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("Tensor buffer of %" G_GSIZE_FORMAT " bytes, expected %d float32 "
            "values (%d bytes)", map.size, self->dim, self->dim * 4), (NULL));
    gst_buffer_unmap (buf, &map);
    return GST_FLOW_ERROR;
  }
  v = (const gfloat *) map.data;
  for (i = 0; i < self->dim; i++) {
    gfloat x;
    memcpy (&x, v + i, sizeof (x));
    if (!isfinite (x))
      n_bad++;
    else if (fabsf (x) > 1e6f)
      n_big++;
    self->vec[i] = isfinite (x) ? x : 0.0f;
  }
  gst_buffer_unmap (buf, &map);
  if ((n_bad || n_big) && !self->warned_values) {
    self->warned_values = TRUE;
    GST_ELEMENT_WARNING (self, STREAM, FORMAT,
        ("Tensor input with %d NaN/infinite values (taken as 0) and %d values "
            "beyond 1e6 (such vectors are skipped)", n_bad, n_big),
        ("at %" GST_TIME_FORMAT, GST_TIME_ARGS (GST_BUFFER_PTS (buf))));
  }
  if (n_big)
    return GST_FLOW_OK;
  if (self->n_vectors == 0)
    self->first_pts = self->last_pts_end = GST_CLOCK_TIME_NONE;
  self->n_vectors++;
  if (self->cfg.mode == GST_KNNTAG_MODE_LEARN) {
    keep_snippet (self, self->vec);
  } else if (query (self, self->vec)) {
    accumulate (self);
    emit_result (self, tensor_message (self, GST_BUFFER_PTS (buf),
            GST_BUFFER_DURATION (buf)), FALSE);
  }
  /* (a refused vector, e.g. all zero under the cosine metric: query warned
   * once per stream) */
  /* the span the vectors cover, in whatever order they come (reverse
   * playback sends them last first: the final message had no duration) */
  pts = GST_BUFFER_PTS (buf);
  end = pts;
  if (GST_CLOCK_TIME_IS_VALID (pts) && GST_BUFFER_DURATION_IS_VALID (buf))
    end += GST_BUFFER_DURATION (buf);
  if (GST_CLOCK_TIME_IS_VALID (pts) && (!GST_CLOCK_TIME_IS_VALID
          (self->first_pts) || pts < self->first_pts))
    self->first_pts = pts;
  if (GST_CLOCK_TIME_IS_VALID (end) && (!GST_CLOCK_TIME_IS_VALID
          (self->last_pts_end) || end > self->last_pts_end))
    self->last_pts_end = end;
  return GST_FLOW_OK;
}

static void
tensor_finish (GstKnntag * self)
{
  GstClockTime dur = GST_CLOCK_TIME_NONE;

  if (self->cfg.mode == GST_KNNTAG_MODE_LEARN) {
    save_learned (self);
    return;
  }
  if (self->n_snippet_votes == 0 || self->knn == NULL)
    return;
  if (GST_CLOCK_TIME_IS_VALID (self->first_pts)
      && GST_CLOCK_TIME_IS_VALID (self->last_pts_end)
      && self->last_pts_end >= self->first_pts)
    dur = self->last_pts_end - self->first_pts;
  emit_final (self, tensor_message (self, self->first_pts, dur), FALSE);
}

static GstFlowReturn
gst_knntag_transform_ip (GstBaseTransform * trans, GstBuffer * buf)
{
  GstKnntag *self = GST_KNNTAG (trans);

  if (self->tensor_mode)
    return tensor_buffer (self, buf);
  return GST_BASE_TRANSFORM_CLASS (gst_knntag_parent_class)->transform_ip
      (trans, buf);
}

static gboolean
gst_knntag_sink_event (GstBaseTransform * trans, GstEvent * event)
{
  GstKnntag *self = GST_KNNTAG (trans);
  GstEventType type;
  gboolean ret;

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_TAG:
      if (!self->source) {
        GstTagList *tl;
        gchar *title = NULL;
        gst_event_parse_tag (event, &tl);
        if (gst_tag_list_get_string (tl, GST_TAG_TITLE, &title))
          self->source = title;
      }
      break;
    case GST_EVENT_EOS:
      if (self->tensor_mode)
        tensor_finish (self);
      /* finished: a STREAM_START after it does not repeat the vote */
      self->n_vectors = 0;
      break;
    case GST_EVENT_STREAM_START:
    case GST_EVENT_FLUSH_STOP:
      if (self->tensor_mode) {
        /* a stream that ended without EOS (concat, gapless): its
         * whole-stream vote (or, learning, its vectors) first */
        if (GST_EVENT_TYPE (event) == GST_EVENT_STREAM_START
            && self->n_vectors > 0)
          tensor_finish (self);
        self->n_vectors = 0;
        clear_accumulator (self);
        if (GST_EVENT_TYPE (event) == GST_EVENT_STREAM_START)
          self->warned_values = FALSE;
      }
      if (GST_EVENT_TYPE (event) == GST_EVENT_STREAM_START)
        self->warned_refused = FALSE;
      break;
    default:
      break;
  }
  type = GST_EVENT_TYPE (event);
  ret = GST_BASE_TRANSFORM_CLASS (gst_knntag_parent_class)->sink_event
      (trans, event);
  if (type == GST_EVENT_STREAM_START) {
    /* the stream before has been finished (learn mode: stored under its
     * own name); the next one has its own name and title */
    forget_source (self);
  }
  return ret;
}

/* GstAudioFilter refuses buffers without audio caps: tensors go straight
 * to GstBaseTransform's default. */
static GstFlowReturn
gst_knntag_submit_input_buffer (GstBaseTransform * trans,
    gboolean is_discont, GstBuffer * input)
{
  GstBaseTransformClass *klass;

  if (GST_KNNTAG (trans)->tensor_mode)
    klass = g_type_class_peek (GST_TYPE_BASE_TRANSFORM);
  else
    klass = GST_BASE_TRANSFORM_CLASS (gst_knntag_parent_class);
  return klass->submit_input_buffer (trans, is_discont, input);
}

/* The settings that need no caps are checked when the element starts (the
 * READY -> PAUSED state change fails there, in the application's thread,
 * instead of an error from the streaming thread at the first caps): in tag
 * mode the index is read (missing, damaged: refused) and kept for the caps
 * (read once: a big index costs its load time once, and a file overwritten
 * after the start, cp over it, does not matter; a replacement is taken up by
 * the reload), in learn mode that it can be written, and the labels. An
 * element in a bin (a pipeline) has its properties by now, so a missing
 * location or learn label fails too; a lone element (GstHarness starts it
 * before the test sets its properties) may get them later: everything is
 * checked again, with the embedding, at the caps. */
static gboolean
gst_knntag_start (GstBaseTransform * trans)
{
  GstKnntag *self = GST_KNNTAG (trans);
  gchar *location, *label;
  gboolean learn, in_bin;
  MusaError err;

  if (!GST_BASE_TRANSFORM_CLASS (gst_knntag_parent_class)->start (trans))
    return FALSE;
  drop_spare (self);
  g_clear_pointer (&self->learn_checked, g_free);
  g_clear_pointer (&self->caps_error, g_free);
  GST_OBJECT_LOCK (self);
  location = g_strdup (self->props.location);
  label = g_strdup (self->props.label);
  learn = self->props.mode == GST_KNNTAG_MODE_LEARN;
  in_bin = GST_OBJECT_PARENT (self) != NULL;
  GST_OBJECT_UNLOCK (self);

  musa_error_clear (&err);
  if (location == NULL || location[0] == '\0') {
    if (in_bin)
      check_location (location, &err);
  } else if (learn) {
    musa_index_check_writable (location, &err);
  } else {
    GST_DEBUG_OBJECT (self, "reading the index %s", location);
    self->spare = read_index (location, &self->spare_st, &err);
    if (self->spare != NULL)
      self->spare_location = g_strdup (location);
  }
  if (err.code == MUSA_OK && learn && (in_bin || (label && label[0])))
    g_strfreev (parse_labels (label, &err));
  g_free (location);
  g_free (label);
  if (err.code != MUSA_OK) {
    post_error (self, &err);
    return FALSE;
  }
  return TRUE;
}

static gboolean
gst_knntag_stop (GstBaseTransform * trans)
{
  GstKnntag *self = GST_KNNTAG (trans);
  gboolean ret;

  ret = GST_BASE_TRANSFORM_CLASS (gst_knntag_parent_class)->stop (trans);
  release_all (self);
  drop_spare (self);
  g_clear_pointer (&self->learn_checked, g_free);
  forget_source (self);
  self->tensor_mode = FALSE;
  self->warned_values = FALSE;
  self->warned_refused = FALSE;
  return ret;
}
