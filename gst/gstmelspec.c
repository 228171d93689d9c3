/* musa — melspec: (log-)mel spectrogram with librosa's conventions. */
/**
 * SECTION:element-melspec
 * @title: melspec
 *
 * Computes a mel spectrogram of the mono downmix, numerically matching
 * librosa.feature.melspectrogram (and librosa.power_to_db) by default:
 * periodic Hann window, n-fft 2048, hop-length 512, centred frames with zero
 * padding, power 2, 128 Slaney-scale Slaney-normalised mel bands from 0 Hz to
 * Nyquist. Frame i is centred on input sample i * hop-length (center=true) or
 * on i * hop-length + n-fft / 2 (center=false); a stream of N samples gives
 * 1 + N / hop-length frames with center=true.
 *
 * Two modes, chosen by what downstream accepts:
 *
 * - Passthrough (src caps = sink caps): audio passes untouched and the element
 *   posts a `melspec` element message every #GstMusaAnalysis:interval with the
 *   frames centred in that interval (the partial last interval at EOS):
 *   - `timestamp`, `stream-time`, `running-time`, `duration` (#guint64): the
 *     interval, as the `level` element gives them;
 *   - `frames` (#GstBuffer): float32 values, native endianness,
 *     `[n-frames][n-mels]` row-major;
 *   - `n-frames`, `n-mels` (#gint): its shape;
 *   - `first-frame` (#guint64): index of the first frame since the stream start;
 *   - `first-frame-time` (#guint64): timestamp of its centre, on the
 *     timeline of `timestamp` (buffer time, not running time);
 *   - `hop-time` (#guint64): time between frames (ns).
 *
 *   The frames of an interval are held until it ends (a long interval on a
 *   file gives the whole spectrogram in one message at EOS): when they
 *   reach 1 GiB (6.2 h at 48 kHz with the defaults) the element stops with
 *   an error naming `interval`, instead of growing for as long as the
 *   interval lasts. With post-messages=false nothing is held (an interval
 *   that began with messages off gives no message).
 *
 * - Tensor mode (downstream asks for `other/tensors`, NNStreamer's static
 *   format): buffers of `frames-per-buffer` frames, or fixed-length snippets of
 *   `snippet-duration` seconds every `snippet-hop` seconds, as float32
 *   `dimensions=n_mels:n_frames` tensors with PTS = time of the first frame's
 *   centre and duration = n_frames * hop. Each snippet has
 *   round (snippet-duration / hop) frames; snippet i starts at the frame
 *   nearest i * snippet-hop (within half a hop of it, however long the
 *   stream), and the framerate is 1 / snippet-hop. `last-snippet` chooses
 *   whether the incomplete last one is dropped or padded with silence (0 for
 *   linear and log1p values, 10*log10(amin) = -100 dB on the dB scale). A
 *   tensor is out when its last frame is complete: the LATENCY answer adds
 *   (n_frames - 1) hops + n_fft / 2 (passthrough adds nothing).
 *   Snippet settings in passthrough mode (no `other/tensors` downstream),
 *   or snippet-hop without snippet-duration, are ignored with a warning
 *   (once per stream). When downstream asks for `dimensions` the settings
 *   do not give at the input rate, melspec posts an error naming both (and
 *   what would give the ones asked for) before negotiation fails.
 *
 * The dB scale floors each frame at its maximum minus `top-db` (librosa floors
 * at the maximum of the whole array; values above librosa's floor are equal).
 * Presets `librosa` (the defaults) and `torchaudio` (n-fft 400, hop 200, HTK
 * scale, no norm; note torchaudio pads the edges by reflection, melspec with
 * zeros, so the first and last frame or two differ) load through #GstPreset.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 -m filesrc location=song.flac ! decodebin ! audioconvert ! melspec log=db ! fakesink
 * gst-launch-1.0 filesrc location=song.flac ! decodebin ! audioconvert ! audioresample ! \
 *   audio/x-raw,rate=22050 ! melspec log=db snippet-duration=10 snippet-hop=10 ! \
 *   other/tensors ! filesink location=snippets.f32
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "musa-config.h"
#endif

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gstmusaanalysis.h"
#include "gstmusaelements.h"
#include "core/melspec.h"

GST_DEBUG_CATEGORY_STATIC (melspec_debug);
#define GST_CAT_DEFAULT melspec_debug

#define GST_TYPE_MELSPEC (gst_melspec_get_type ())
G_DECLARE_FINAL_TYPE (GstMelspec, gst_melspec, GST, MELSPEC, GstMusaAnalysis)
     typedef enum
     {
       GST_MELSPEC_LAST_DROP = 0,
       GST_MELSPEC_LAST_PAD,
     } GstMelspecLast;

#define DEFAULT_N_FFT 2048
#define DEFAULT_HOP_LENGTH 512
#define DEFAULT_WIN_LENGTH 0
#define DEFAULT_WINDOW MUSA_WINDOW_HANN
#define DEFAULT_CENTER TRUE
#define DEFAULT_N_MELS 128
#define DEFAULT_FMIN 0.0
#define DEFAULT_FMAX 0.0
#define DEFAULT_MEL_SCALE MUSA_MEL_SCALE_SLANEY
#define DEFAULT_NORM MUSA_MEL_NORM_SLANEY
#define DEFAULT_POWER 2.0
#define DEFAULT_LOG MUSA_MEL_LOG_NONE
#define DEFAULT_TOP_DB 80.0
#define DEFAULT_LOG_MULT 1.0
#define DEFAULT_FRAMES_PER_BUFFER 64
#define DEFAULT_SNIPPET_DURATION 0.0
#define DEFAULT_SNIPPET_HOP 0.0
#define DEFAULT_LAST_SNIPPET GST_MELSPEC_LAST_PAD

     enum
     {
       PROP_0,
       PROP_N_FFT,
       PROP_HOP_LENGTH,
       PROP_WIN_LENGTH,
       PROP_WINDOW,
       PROP_CENTER,
       PROP_N_MELS,
       PROP_FMIN,
       PROP_FMAX,
       PROP_MEL_SCALE,
       PROP_NORM,
       PROP_POWER,
       PROP_LOG,
       PROP_TOP_DB,
       PROP_LOG_MULT,
       PROP_FRAMES_PER_BUFFER,
       PROP_SNIPPET_DURATION,
       PROP_SNIPPET_HOP,
       PROP_LAST_SNIPPET,
     };

     struct _GstMelspec
     {
       GstMusaAnalysis parent;

       /* properties (object lock) */
       MusaMelspecConfig props;
       guint frames_per_buffer;
       gdouble snippet_duration, snippet_hop;
       GstMelspecLast last_snippet;

       /* streaming state (streaming thread only) */
       MusaMelspecConfig cfg;   /* snapshot used by the running analysis */
       MusaMelspec *ms;
       gboolean tensor_mode;
       gint n_mels;

       /* passthrough: frames of the current interval */
       GByteArray *block;
       guint64 block_first;     /* frame index of the block's first frame */
       guint64 interval_k;      /* intervals posted so far */
       guint64 interval_end;    /* end of interval k (samples), 0 = not known */
       gboolean keep_frames;    /* interval k's frames are kept for a message
                                 * (decided with interval_end) */

       /* tensor mode: frames waiting to go out, and snippet geometry */
       GByteArray *pending;     /* frames [pending_first, ...) */
       guint64 pending_first;
       guint64 snippet_index;
       guint snippet_frames;
       gdouble snippet_step;    /* frames between snippet starts (snippet
                                 * j starts at frame round (j * step)) */
       GQueue out_queue;
       GstClockTime hop_time;
       gboolean checked_ignored;        /* snippet settings the mode ignores
                                         * were looked for in this stream */
       gboolean posted_dimensions;      /* and the error that downstream
                                         * asks for other dimensions */

       /* own latency (object lock): tensor mode holds a tensor's frames
        * until its last one is complete */
       GstClockTime latency;
     };

G_DEFINE_TYPE_WITH_CODE (GstMelspec, gst_melspec, GST_TYPE_MUSA_ANALYSIS,
    G_IMPLEMENT_INTERFACE (GST_TYPE_PRESET, NULL));
GST_ELEMENT_REGISTER_DEFINE (melspec, "melspec", GST_RANK_NONE,
    GST_TYPE_MELSPEC);

#define GST_TYPE_MELSPEC_WINDOW (gst_melspec_window_get_type ())
     static GType gst_melspec_window_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {MUSA_WINDOW_HANN, "Hann (periodic)", "hann"},
    {MUSA_WINDOW_HAMMING, "Hamming (periodic)", "hamming"},
    {MUSA_WINDOW_BLACKMAN, "Blackman (periodic)", "blackman"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstMelspecWindow",
            values));
  return type;
}

#define GST_TYPE_MELSPEC_SCALE (gst_melspec_scale_get_type ())
static GType
gst_melspec_scale_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {MUSA_MEL_SCALE_SLANEY, "Slaney (Auditory Toolbox, librosa default)",
        "slaney"},
    {MUSA_MEL_SCALE_HTK, "HTK (2595 log10 (1 + f / 700), torchaudio default)",
        "htk"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstMelspecScale",
            values));
  return type;
}

#define GST_TYPE_MELSPEC_NORM (gst_melspec_norm_get_type ())
static GType
gst_melspec_norm_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {MUSA_MEL_NORM_SLANEY, "Slaney area normalisation (librosa default)",
        "slaney"},
    {MUSA_MEL_NORM_NONE, "No normalisation (torchaudio default)", "none"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstMelspecNorm",
            values));
  return type;
}

#define GST_TYPE_MELSPEC_LOG (gst_melspec_log_get_type ())
static GType
gst_melspec_log_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {MUSA_MEL_LOG_NONE, "Linear values", "none"},
    {MUSA_MEL_LOG_DB, "Decibels, librosa.power_to_db (ref 1, amin 1e-10)",
        "db"},
    {MUSA_MEL_LOG_LOG1P, "log (1 + log-mult * value)", "log1p"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstMelspecLog", values));
  return type;
}

#define GST_TYPE_MELSPEC_LAST (gst_melspec_last_get_type ())
static GType
gst_melspec_last_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_MELSPEC_LAST_DROP, "Drop the incomplete last snippet", "drop"},
    {GST_MELSPEC_LAST_PAD, "Pad the incomplete last snippet with silence",
        "pad"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstMelspecLastSnippet",
            values));
  return type;
}

#define TENSOR_CAPS "other/tensors, format = (string) static, " \
    "num_tensors = (int) 1, types = (string) float32"

static void gst_melspec_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec);
static void gst_melspec_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec);
static void gst_melspec_finalize (GObject * object);
static gboolean gst_melspec_configure (GstMusaAnalysis * base, gint rate,
    MusaError * err);
static void gst_melspec_process (GstMusaAnalysis * base, const gfloat * mono,
    gsize n, guint64 pos);
static void gst_melspec_reset (GstMusaAnalysis * base);
static void gst_melspec_finish (GstMusaAnalysis * base, guint64 pos);
static void gst_melspec_release (GstMusaAnalysis * base);
static gboolean gst_melspec_check (GstMusaAnalysis * base, MusaError * err);
static GstCaps *gst_melspec_transform_caps (GstBaseTransform * trans,
    GstPadDirection direction, GstCaps * caps, GstCaps * filter);
static GstCaps *gst_melspec_fixate_caps (GstBaseTransform * trans,
    GstPadDirection direction, GstCaps * caps, GstCaps * othercaps);
static gboolean gst_melspec_set_caps (GstBaseTransform * trans,
    GstCaps * incaps, GstCaps * outcaps);
static GstFlowReturn gst_melspec_generate_output (GstBaseTransform * trans,
    GstBuffer ** outbuf);
static gboolean gst_melspec_sink_event (GstBaseTransform * trans,
    GstEvent * event);
static gboolean gst_melspec_query (GstBaseTransform * trans,
    GstPadDirection direction, GstQuery * query);

static void
gst_melspec_class_init (GstMelspecClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  GstMusaAnalysisClass *analysis_class = GST_MUSA_ANALYSIS_CLASS (klass);
  GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
      GST_PARAM_MUTABLE_READY;
  GstCaps *caps;

  GST_DEBUG_CATEGORY_INIT (melspec_debug, "melspec", 0, "mel spectrogram");

  gobject_class->set_property = gst_melspec_set_property;
  gobject_class->get_property = gst_melspec_get_property;
  gobject_class->finalize = gst_melspec_finalize;

  g_object_class_install_property (gobject_class, PROP_N_FFT,
      g_param_spec_int ("n-fft", "FFT size",
          "FFT size of each frame (in samples)", 16, 1 << 20, DEFAULT_N_FFT,
          flags));
  g_object_class_install_property (gobject_class, PROP_HOP_LENGTH,
      g_param_spec_int ("hop-length", "Hop length",
          "Distance between frame centres (in samples, at most n-fft)", 1,
          1 << 20, DEFAULT_HOP_LENGTH, flags));
  g_object_class_install_property (gobject_class, PROP_WIN_LENGTH,
      g_param_spec_int ("win-length", "Window length",
          "Length of the window centred in each frame (in samples, 0 = n-fft)",
          0, 1 << 20, DEFAULT_WIN_LENGTH, flags));
  g_object_class_install_property (gobject_class, PROP_WINDOW,
      g_param_spec_enum ("window", "Window", "Analysis window function",
          GST_TYPE_MELSPEC_WINDOW, DEFAULT_WINDOW, flags));
  g_object_class_install_property (gobject_class, PROP_CENTER,
      g_param_spec_boolean ("center", "Center",
          "Centre frame i on sample i * hop-length, padding the stream "
          "edges with n-fft / 2 zeros", DEFAULT_CENTER, flags));
  g_object_class_install_property (gobject_class, PROP_N_MELS,
      g_param_spec_int ("n-mels", "Mel bands", "Number of mel bands", 1,
          4096, DEFAULT_N_MELS, flags));
  g_object_class_install_property (gobject_class, PROP_FMIN,
      g_param_spec_double ("fmin", "Minimum frequency",
          "Lower edge of the lowest mel band (in Hz)", 0.0, 384000.0,
          DEFAULT_FMIN, flags));
  g_object_class_install_property (gobject_class, PROP_FMAX,
      g_param_spec_double ("fmax", "Maximum frequency",
          "Upper edge of the highest mel band (in Hz, 0 = rate / 2)", 0.0,
          384000.0, DEFAULT_FMAX, flags));
  g_object_class_install_property (gobject_class, PROP_MEL_SCALE,
      g_param_spec_enum ("mel-scale", "Mel scale", "Mel frequency scale",
          GST_TYPE_MELSPEC_SCALE, DEFAULT_MEL_SCALE, flags));
  g_object_class_install_property (gobject_class, PROP_NORM,
      g_param_spec_enum ("norm", "Normalisation",
          "Normalisation of the mel filters", GST_TYPE_MELSPEC_NORM,
          DEFAULT_NORM, flags));
  g_object_class_install_property (gobject_class, PROP_POWER,
      g_param_spec_double ("power", "Power",
          "Exponent of the magnitude spectrum (1 = magnitude, 2 = power)",
          0.01, 4.0, DEFAULT_POWER, flags));
  g_object_class_install_property (gobject_class, PROP_LOG,
      g_param_spec_enum ("log", "Log compression",
          "Compression of the mel values", GST_TYPE_MELSPEC_LOG, DEFAULT_LOG,
          flags));
  g_object_class_install_property (gobject_class, PROP_TOP_DB,
      g_param_spec_double ("top-db", "Top dB",
          "With log=db, floor each frame at its maximum minus this (in dB, "
          "0 = no floor)", 0.0, 1000.0, DEFAULT_TOP_DB, flags));
  g_object_class_install_property (gobject_class, PROP_LOG_MULT,
      g_param_spec_double ("log-mult", "Log multiplier",
          "With log=log1p, the multiplier inside log (1 + log-mult * value)",
          1e-6, 1e12, DEFAULT_LOG_MULT, flags));
  g_object_class_install_property (gobject_class, PROP_FRAMES_PER_BUFFER,
      g_param_spec_uint ("frames-per-buffer", "Frames per buffer",
          "Tensor mode without snippets: frames in each output buffer", 1,
          1 << 16, DEFAULT_FRAMES_PER_BUFFER, flags));
  g_object_class_install_property (gobject_class, PROP_SNIPPET_DURATION,
      g_param_spec_double ("snippet-duration", "Snippet duration",
          "Tensor mode: length of each fixed-length snippet (in seconds, "
          "0 = use frames-per-buffer)", 0.0, 3600.0, DEFAULT_SNIPPET_DURATION,
          flags));
  g_object_class_install_property (gobject_class, PROP_SNIPPET_HOP,
      g_param_spec_double ("snippet-hop", "Snippet hop",
          "Tensor mode: time between snippet starts (in seconds, "
          "0 = snippet-duration)", 0.0, 3600.0, DEFAULT_SNIPPET_HOP, flags));
  g_object_class_install_property (gobject_class, PROP_LAST_SNIPPET,
      g_param_spec_enum ("last-snippet", "Last snippet",
          "Tensor mode: what to do with the incomplete last buffer at EOS",
          GST_TYPE_MELSPEC_LAST, DEFAULT_LAST_SNIPPET, flags));

  gst_element_class_set_static_metadata (element_class,
      "Mel spectrogram", "Filter/Analyzer/Audio",
      "Computes (log-)mel spectrograms matching librosa, as messages or "
      "as an other/tensors stream", "musa developers");

  /* the src pad also offers other/tensors */
  caps = gst_caps_from_string (MUSA_ANALYSIS_CAPS "; " TENSOR_CAPS);
  gst_element_class_add_pad_template (element_class,
      gst_pad_template_new ("src", GST_PAD_SRC, GST_PAD_ALWAYS, caps));
  gst_caps_unref (caps);

  trans_class->transform_caps = GST_DEBUG_FUNCPTR (gst_melspec_transform_caps);
  trans_class->fixate_caps = GST_DEBUG_FUNCPTR (gst_melspec_fixate_caps);
  trans_class->set_caps = GST_DEBUG_FUNCPTR (gst_melspec_set_caps);
  trans_class->generate_output =
      GST_DEBUG_FUNCPTR (gst_melspec_generate_output);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_melspec_sink_event);
  trans_class->query = GST_DEBUG_FUNCPTR (gst_melspec_query);

  analysis_class->configure = GST_DEBUG_FUNCPTR (gst_melspec_configure);
  analysis_class->process = GST_DEBUG_FUNCPTR (gst_melspec_process);
  analysis_class->reset = GST_DEBUG_FUNCPTR (gst_melspec_reset);
  analysis_class->finish = GST_DEBUG_FUNCPTR (gst_melspec_finish);
  analysis_class->release = GST_DEBUG_FUNCPTR (gst_melspec_release);
  analysis_class->check = GST_DEBUG_FUNCPTR (gst_melspec_check);

  gst_type_mark_as_plugin_api (GST_TYPE_MELSPEC_WINDOW, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_MELSPEC_SCALE, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_MELSPEC_NORM, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_MELSPEC_LOG, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_MELSPEC_LAST, 0);
}

static void
gst_melspec_init (GstMelspec * self)
{
  musa_melspec_config_default (&self->props, 0);
  self->frames_per_buffer = DEFAULT_FRAMES_PER_BUFFER;
  self->snippet_duration = DEFAULT_SNIPPET_DURATION;
  self->snippet_hop = DEFAULT_SNIPPET_HOP;
  self->last_snippet = DEFAULT_LAST_SNIPPET;
  self->block = g_byte_array_new ();
  self->pending = g_byte_array_new ();
  g_queue_init (&self->out_queue);
}

static void
gst_melspec_finalize (GObject * object)
{
  GstMelspec *self = GST_MELSPEC (object);

  musa_melspec_free (self->ms);
  g_byte_array_unref (self->block);
  g_byte_array_unref (self->pending);
  g_queue_clear_full (&self->out_queue, (GDestroyNotify) gst_buffer_unref);
  G_OBJECT_CLASS (gst_melspec_parent_class)->finalize (object);
}

static void
gst_melspec_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstMelspec *self = GST_MELSPEC (object);
  MusaMelspecConfig *p = &self->props;

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_N_FFT:
      p->stft.n_fft = g_value_get_int (value);
      break;
    case PROP_HOP_LENGTH:
      p->stft.hop = g_value_get_int (value);
      break;
    case PROP_WIN_LENGTH:
      p->stft.win_length = g_value_get_int (value);
      break;
    case PROP_WINDOW:
      p->stft.window = g_value_get_enum (value);
      break;
    case PROP_CENTER:
      p->stft.center = g_value_get_boolean (value);
      break;
    case PROP_N_MELS:
      p->n_mels = g_value_get_int (value);
      break;
    case PROP_FMIN:
      p->fmin = g_value_get_double (value);
      break;
    case PROP_FMAX:
      p->fmax = g_value_get_double (value);
      break;
    case PROP_MEL_SCALE:
      p->scale = g_value_get_enum (value);
      break;
    case PROP_NORM:
      p->norm = g_value_get_enum (value);
      break;
    case PROP_POWER:
      p->power = g_value_get_double (value);
      break;
    case PROP_LOG:
      p->log = g_value_get_enum (value);
      break;
    case PROP_TOP_DB:
      p->top_db = g_value_get_double (value);
      break;
    case PROP_LOG_MULT:
      p->log_mult = g_value_get_double (value);
      break;
    case PROP_FRAMES_PER_BUFFER:
      self->frames_per_buffer = g_value_get_uint (value);
      break;
    case PROP_SNIPPET_DURATION:
      self->snippet_duration = g_value_get_double (value);
      break;
    case PROP_SNIPPET_HOP:
      self->snippet_hop = g_value_get_double (value);
      break;
    case PROP_LAST_SNIPPET:
      self->last_snippet = g_value_get_enum (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_melspec_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstMelspec *self = GST_MELSPEC (object);
  MusaMelspecConfig *p = &self->props;

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_N_FFT:
      g_value_set_int (value, p->stft.n_fft);
      break;
    case PROP_HOP_LENGTH:
      g_value_set_int (value, p->stft.hop);
      break;
    case PROP_WIN_LENGTH:
      g_value_set_int (value, p->stft.win_length);
      break;
    case PROP_WINDOW:
      g_value_set_enum (value, p->stft.window);
      break;
    case PROP_CENTER:
      g_value_set_boolean (value, p->stft.center);
      break;
    case PROP_N_MELS:
      g_value_set_int (value, p->n_mels);
      break;
    case PROP_FMIN:
      g_value_set_double (value, p->fmin);
      break;
    case PROP_FMAX:
      g_value_set_double (value, p->fmax);
      break;
    case PROP_MEL_SCALE:
      g_value_set_enum (value, p->scale);
      break;
    case PROP_NORM:
      g_value_set_enum (value, p->norm);
      break;
    case PROP_POWER:
      g_value_set_double (value, p->power);
      break;
    case PROP_LOG:
      g_value_set_enum (value, p->log);
      break;
    case PROP_TOP_DB:
      g_value_set_double (value, p->top_db);
      break;
    case PROP_LOG_MULT:
      g_value_set_double (value, p->log_mult);
      break;
    case PROP_FRAMES_PER_BUFFER:
      g_value_set_uint (value, self->frames_per_buffer);
      break;
    case PROP_SNIPPET_DURATION:
      g_value_set_double (value, self->snippet_duration);
      break;
    case PROP_SNIPPET_HOP:
      g_value_set_double (value, self->snippet_hop);
      break;
    case PROP_LAST_SNIPPET:
      g_value_set_enum (value, self->last_snippet);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

/* largest tensor buffer, and largest block of frames in one message
 * (bytes) */
#define MAX_TENSOR_BYTES (G_GUINT64_CONSTANT (1) << 30)
#define MAX_BLOCK_BYTES MAX_TENSOR_BYTES

/* Snippet geometry in frames, from the properties (object lock held): the
 * length of a tensor (a whole number of frames, the same for all), and the
 * step between tensor starts, in frames but not rounded: snippet j starts
 * at the frame nearest j x snippet-hop seconds, so that the starts keep to
 * the nominal grid (within half a frame) however long the stream. */
static gboolean
snippet_geometry (GstMelspec * self, gint rate, gint hop, guint * frames,
    gdouble * step, MusaError * err)
{
  guint64 bytes;

  if (self->snippet_duration > 0.0) {
    gdouble hop_s = self->snippet_hop > 0.0 ? self->snippet_hop :
        self->snippet_duration;
    gdouble f = round (self->snippet_duration * rate / hop);
    gdouble s = hop_s * rate / hop;
    if (f < 1.0 || f > (1 << 20)) {
      musa_error_set (err, MUSA_ERR_INVALID, "snippet-duration",
          "snippet-duration %g s gives %g frames of %d samples; it must "
          "give 1..1048576", self->snippet_duration, f, hop);
      return FALSE;
    }
    if (round (s) < 1.0 || s > (1 << 24)) {
      musa_error_set (err, MUSA_ERR_INVALID, "snippet-hop",
          "snippet-hop %g s must be at least one hop (%d samples)", hop_s, hop);
      return FALSE;
    }
    *frames = (guint) f;
    /* a hop that rounds to one frame (as it did when starts were rounded
     * steps) starts one snippet per frame, never two at the same frame;
     * a whole number of frames (up to float error) is taken as exact */
    *step = fabs (s - round (s)) < 1e-9 ? round (s) : MAX (s, 1.0);
  } else {
    *frames = self->frames_per_buffer;
    *step = self->frames_per_buffer;
  }
  /* each tensor buffer is allocated whole (and its frames kept until it is
   * complete): a size no training set needs would exhaust the memory hours
   * into the stream instead of failing now */
  bytes = (guint64) self->props.n_mels * sizeof (gfloat);
  bytes *= *frames;
  if (bytes > MAX_TENSOR_BYTES) {
    musa_error_set (err, MUSA_ERR_INVALID, self->snippet_duration > 0.0 ?
        "snippet-duration" : "frames-per-buffer", "a tensor of %u frames x "
        "%d mel bands is %.1f GiB; at most %.0f GiB", *frames,
        self->props.n_mels, (gdouble) bytes / (1 << 30),
        (gdouble) MAX_TENSOR_BYTES / (1 << 30));
    return FALSE;
  }
  return TRUE;
}

static GstCaps *
gst_melspec_transform_caps (GstBaseTransform * trans,
    GstPadDirection direction, GstCaps * caps, GstCaps * filter)
{
  GstCaps *res = gst_caps_new_empty ();
  guint i;

  for (i = 0; i < gst_caps_get_size (caps); i++) {
    GstStructure *s = gst_caps_get_structure (caps, i);
    if (gst_structure_has_name (s, "audio/x-raw")) {
      res = gst_caps_merge_structure (res, gst_structure_copy (s));
      if (direction == GST_PAD_SINK)
        res = gst_caps_merge (res, gst_caps_from_string (TENSOR_CAPS));
    } else if (direction == GST_PAD_SRC &&
        gst_structure_has_name (s, "other/tensors")) {
      res = gst_caps_merge (res, gst_caps_from_string (MUSA_ANALYSIS_CAPS));
    }
  }
  if (filter) {
    GstCaps *tmp = gst_caps_intersect_full (filter, res,
        GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref (res);
    res = tmp;
  }
  return res;
}

/* The tensor dimensions downstream asks for (@asked: the caps it takes,
 * from which the fixated caps were made) are not the n_mels:frames the
 * properties give at @rate: post an error that says both and what would
 * give the ones asked for, instead of a bare not-negotiated upstream. */
static void
post_dimensions_error (GstMelspec * self, GstCaps * asked, gint rate, gint hop,
    gint n_mels, guint frames, gdouble duration)
{
  static const gint rates[] = { 8000, 11025, 16000, 22050, 24000, 32000,
    44100, 48000, 88200, 96000, 176400, 192000
  };
  GString *hint = g_string_new (NULL);
  gchar *want = NULL, *ours;
  guint i, want_mels = 0, want_frames = 0;

  for (i = 0; i < gst_caps_get_size (asked) && want == NULL; i++) {
    GstStructure *s = gst_caps_get_structure (asked, i);
    const GValue *v = gst_structure_get_value (s, "dimensions");

    if (gst_structure_has_name (s, "other/tensors") && v != NULL)
      want = G_VALUE_HOLDS_STRING (v) ? g_value_dup_string (v) :
          gst_value_serialize (v);
  }
  if (want == NULL)             /* not the dimensions (nothing else is set) */
    want = g_strdup ("other caps");
  if (sscanf (want, "%u:%u", &want_mels, &want_frames) == 2) {
    if (want_mels != (guint) n_mels)
      g_string_append_printf (hint, "; set n-mels=%u", want_mels);
    if (want_frames > 0 && want_frames != frames && duration > 0.0) {
      GString *r = g_string_new (NULL);
      gint first = 0;

      /* rates that give that many frames for this snippet-duration */
      for (i = 0; i < G_N_ELEMENTS (rates); i++)
        if (round (duration * rates[i] / hop) == want_frames) {
          if (r->len == 0)
            first = rates[i];
          g_string_append_printf (r, "%s%d", r->len ? " or " : "", rates[i]);
        }
      if (r->len)
        g_string_append_printf (hint, "; %u frames of %g s come at %s Hz: "
            "resample before melspec (audioresample ! audio/x-raw,rate=%d ! "
            "melspec)", want_frames, duration, r->str, first);
      g_string_append_printf (hint, "; at %d Hz set snippet-duration=%g",
          rate, (gdouble) want_frames * hop / rate);
      g_string_free (r, TRUE);
    } else if (want_frames > 0 && want_frames != frames) {
      g_string_append_printf (hint, "; set frames-per-buffer=%u "
          "(or snippet-duration=%g for snippets)", want_frames,
          (gdouble) want_frames * hop / rate);
    }
  }
  if (duration > 0.0)
    ours = g_strdup_printf ("snippet-duration %g s at %d Hz with hop-length "
        "%d", duration, rate, hop);
  else
    ours = g_strdup_printf ("frames-per-buffer %u", frames);
  GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
      ("melspec gives tensors of dimensions %d:%u (n-mels %d x %u frames: "
          "%s) but downstream asks for dimensions %s%s", n_mels, frames,
          n_mels, frames, ours, want, hint->str),
      ("downstream takes %" GST_PTR_FORMAT, asked));
  g_free (ours);
  g_free (want);
  g_string_free (hint, TRUE);
}

static GstCaps *
gst_melspec_fixate_caps (GstBaseTransform * trans, GstPadDirection direction,
    GstCaps * caps, GstCaps * othercaps)
{
  GstMelspec *self = GST_MELSPEC (trans);
  GstStructure *in, *out;
  GstCaps *asked;
  gint rate = 0, hop, n_mels;
  guint frames = 1;
  gdouble step = 1.0, duration;
  gboolean ok;

  /* what downstream asked for, to tell whether it takes what the
   * properties give */
  asked = gst_caps_ref (othercaps);
  othercaps = gst_caps_truncate (othercaps);
  othercaps = gst_caps_make_writable (othercaps);
  out = gst_caps_get_structure (othercaps, 0);
  if (direction != GST_PAD_SINK || !gst_structure_has_name (out,
          "other/tensors")) {
    gst_caps_unref (asked);
    return gst_caps_fixate (othercaps);
  }

  in = gst_caps_get_structure (caps, 0);
  gst_structure_get_int (in, "rate", &rate);
  GST_OBJECT_LOCK (self);
  hop = self->props.stft.hop;
  n_mels = self->props.n_mels;
  duration = self->snippet_duration;
  ok = rate > 0 && snippet_geometry (self, rate, hop, &frames, &step, NULL);
  GST_OBJECT_UNLOCK (self);
  if (ok) {
    gchar *dims = g_strdup_printf ("%d:%u", n_mels, frames);
    /* buffers per second = rate / (hop * step); the product may not fit a
     * gint (hop-length 65536, frames-per-buffer 32768): reduce it. A step
     * that is not a whole number of frames gives 1 / snippet-hop. */
    guint64 num = (guint64) rate, den = (guint64) hop, a, b;
    gint n, d;

    if (step == floor (step)) {
      den *= (guint64) step;
      a = num;
      b = den;

      while (b != 0) {
        guint64 t = a % b;
        a = b;
        b = t;
      }
      num /= a;
      den /= a;
    }
    if (step == floor (step) && den <= G_MAXINT) {
      n = (gint) num;
      d = (gint) den;
    } else {
      gst_util_double_to_fraction ((gdouble) rate / (hop * step), &n, &d);
    }
    gst_structure_set (out, "dimensions", G_TYPE_STRING, dims, NULL);
    if (gst_structure_has_field (out, "framerate"))
      gst_structure_fixate_field_nearest_fraction (out, "framerate", n, d);
    else
      gst_structure_set (out, "framerate", GST_TYPE_FRACTION, n, d, NULL);
    g_free (dims);
  }
  othercaps = gst_caps_fixate (othercaps);
  /* downstream will refuse these caps and upstream only sees
   * not-negotiated: say why, and what would give what it asks for */
  if (ok && !self->posted_dimensions && !gst_caps_can_intersect (othercaps,
          asked)) {
    post_dimensions_error (self, asked, rate, hop, n_mels, frames, duration);
    self->posted_dimensions = TRUE;
  }
  gst_caps_unref (asked);
  return othercaps;
}

/* A tensor (PTS = its first frame's centre) is complete when the second
 * half of its last frame has come: (frames - 1) hops and n_fft - n_fft / 2
 * samples after its PTS. Passthrough holds nothing. Posts a latency message
 * when it changes. */
static void
update_latency (GstMelspec * self)
{
  GstClockTime l = 0;
  gboolean changed;

  if (self->tensor_mode && self->ms && self->cfg.sample_rate > 0)
    l = gst_util_uint64_scale_int_ceil ((guint64) (self->snippet_frames - 1) *
        self->cfg.stft.hop + (self->cfg.stft.n_fft - self->cfg.stft.n_fft / 2),
        GST_SECOND, self->cfg.sample_rate);
  GST_OBJECT_LOCK (self);
  changed = l != self->latency;
  self->latency = l;
  GST_OBJECT_UNLOCK (self);
  if (changed) {
    GST_DEBUG_OBJECT (self, "latency now %" GST_TIME_FORMAT, GST_TIME_ARGS (l));
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_latency (GST_OBJECT (self)));
  }
}

static gboolean
gst_melspec_query (GstBaseTransform * trans, GstPadDirection direction,
    GstQuery * query)
{
  GstMelspec *self = GST_MELSPEC (trans);

  if (direction == GST_PAD_SRC && GST_QUERY_TYPE (query) == GST_QUERY_LATENCY) {
    GstClockTime own;

    GST_OBJECT_LOCK (self);
    own = self->latency;
    GST_OBJECT_UNLOCK (self);
    return musa_gst_answer_latency (trans, query, own);
  }
  return GST_BASE_TRANSFORM_CLASS (gst_melspec_parent_class)->query (trans,
      direction, query);
}

/* Snippet settings the negotiated mode ignores: without other/tensors
 * downstream the audio passes through (a filesink gets PCM, not snippets),
 * and snippet-hop does nothing without snippet-duration. Checked once per
 * stream, at its first audio; what flows is not changed. */
static void
check_ignored_settings (GstMelspec * self)
{
  gdouble duration, hop;
  guint fpb;

  self->checked_ignored = TRUE;
  GST_OBJECT_LOCK (self);
  duration = self->snippet_duration;
  hop = self->snippet_hop;
  fpb = self->frames_per_buffer;
  GST_OBJECT_UNLOCK (self);
  if (!self->tensor_mode && duration > 0.0) {
    GST_ELEMENT_WARNING (self, LIBRARY, SETTINGS,
        ("snippet-duration %g s is ignored: downstream negotiated audio/x-raw, "
            "so melspec passes the audio through (and posts messages); "
            "snippets need other/tensors caps downstream (e.g. melspec "
            "snippet-duration=%g ! other/tensors ! filesink)", duration,
            duration), (NULL));
  } else if (!self->tensor_mode && hop > 0.0) {
    GST_ELEMENT_WARNING (self, LIBRARY, SETTINGS,
        ("snippet-hop %g s is ignored: it needs snippet-duration, and "
            "snippets need other/tensors caps downstream (downstream "
            "negotiated audio/x-raw, so melspec passes the audio through)",
            hop), (NULL));
  } else if (self->tensor_mode && duration <= 0.0 && hop > 0.0) {
    GST_ELEMENT_WARNING (self, LIBRARY, SETTINGS,
        ("snippet-hop %g s is ignored: it needs snippet-duration (the "
            "tensors have frames-per-buffer %u frames, one after the other)",
            hop, fpb), (NULL));
  }
}

static gboolean
gst_melspec_set_caps (GstBaseTransform * trans, GstCaps * incaps,
    GstCaps * outcaps)
{
  GstMelspec *self = GST_MELSPEC (trans);
  GstStructure *out = gst_caps_get_structure (outcaps, 0);
  gboolean tensor_mode = gst_structure_has_name (out, "other/tensors");

  /* new caps at the same rate keep the analysis going, but not across a
   * change of mode (the frames would go where the other mode keeps them) */
  if (tensor_mode != self->tensor_mode)
    musa_analysis_reset (GST_MUSA_ANALYSIS (self));
  /* nor when the tensor caps (fixated from the properties) no longer
   * describe what the running analysis gives: build it again */
  if (tensor_mode && self->ms) {
    gchar *dims = g_strdup_printf ("%d:%u", self->n_mels,
        self->snippet_frames);
    if (g_strcmp0 (dims, gst_structure_get_string (out, "dimensions")) != 0)
      musa_analysis_release (GST_MUSA_ANALYSIS (self));
    g_free (dims);
  }
  self->tensor_mode = tensor_mode;
  gst_base_transform_set_passthrough (trans, !self->tensor_mode);
  gst_base_transform_set_in_place (trans, !self->tensor_mode);
  /* GstAudioFilter parses the input caps and calls configure() */
  if (!GST_BASE_TRANSFORM_CLASS (gst_melspec_parent_class)->set_caps (trans,
          incaps, outcaps))
    return FALSE;
  update_latency (self);
  return TRUE;
}

/* What needs no sample rate is refused when the element starts (fmin above
 * fmax, hop-length above n-fft, ...); the rest at the caps. */
static gboolean
gst_melspec_check (GstMusaAnalysis * base, MusaError * err)
{
  GstMelspec *self = GST_MELSPEC (base);
  MusaMelspecConfig cfg;

  GST_OBJECT_LOCK (self);
  cfg = self->props;
  GST_OBJECT_UNLOCK (self);
  return musa_melspec_config_check_static (&cfg, err) == MUSA_OK;
}

static gboolean
gst_melspec_configure (GstMusaAnalysis * base, gint rate, MusaError * err)
{
  GstMelspec *self = GST_MELSPEC (base);
  gboolean ok;

  GST_OBJECT_LOCK (self);
  self->cfg = self->props;
  self->cfg.sample_rate = rate;
  /* snippet settings count in tensor mode only (passing audio through they
   * are ignored with a warning: a snippet-duration of 0.1 ms stopped a
   * pipeline that only posted messages) */
  if (self->tensor_mode) {
    ok = snippet_geometry (self, rate, self->cfg.stft.hop,
        &self->snippet_frames, &self->snippet_step, err);
  } else {
    self->snippet_frames = self->frames_per_buffer;
    self->snippet_step = self->frames_per_buffer;
    ok = TRUE;
  }
  GST_OBJECT_UNLOCK (self);
  if (!ok)
    return FALSE;
  self->ms = musa_melspec_new (&self->cfg, err);
  if (self->ms == NULL)
    return FALSE;
  self->n_mels = self->cfg.n_mels;
  self->hop_time = gst_util_uint64_scale_int_round (self->cfg.stft.hop,
      GST_SECOND, rate);
  return TRUE;
}

static void
gst_melspec_release (GstMusaAnalysis * base)
{
  GstMelspec *self = GST_MELSPEC (base);

  musa_melspec_free (self->ms);
  self->ms = NULL;
  /* tensors a failed push left behind belong to the stream (and caps) that
   * ended: a restart must not send them first */
  g_queue_clear_full (&self->out_queue, (GDestroyNotify) gst_buffer_unref);
}

static void
gst_melspec_reset (GstMusaAnalysis * base)
{
  GstMelspec *self = GST_MELSPEC (base);

  musa_melspec_reset (self->ms);
  g_byte_array_set_size (self->block, 0);
  g_byte_array_set_size (self->pending, 0);
  self->block_first = 0;
  self->interval_k = 0;
  self->interval_end = 0;
  self->keep_frames = FALSE;
  self->pending_first = 0;
  self->snippet_index = 0;
}

static guint64
frame_center (GstMelspec * self, guint64 index)
{
  return (guint64) musa_stft_frame_center (musa_melspec_stft (self->ms),
      (int64_t) index);
}

/* Post the block of frames collected for interval k (covering samples
 * [start, end)). */
static void
post_block (GstMelspec * self, guint64 start, guint64 end)
{
  GstMusaAnalysis *base = GST_MUSA_ANALYSIS (self);
  guint n_frames = self->block->len / (sizeof (gfloat) * self->n_mels);
  GstStructure *s;
  GstBuffer *frames;

  /* an interval shorter than the hop may hold no frame: it is posted all the
   * same, so that messages stay contiguous in time; one whose frames were
   * not kept (messages off, or too long, when it began) is not */
  if (self->interval_end != 0 && !self->keep_frames) {
    g_byte_array_set_size (self->block, 0);
    return;
  }
  if (!musa_analysis_get_post_messages (base)) {
    g_byte_array_set_size (self->block, 0);
    return;
  }
  if (n_frames == 0)
    self->block_first = (guint64) musa_stft_frames (musa_melspec_stft
        (self->ms));
  frames = n_frames ? gst_buffer_new_memdup (self->block->data,
      self->block->len) : gst_buffer_new ();
  s = musa_analysis_new_message (base, start, end - start);
  gst_structure_set (s, "frames", GST_TYPE_BUFFER, frames,
      "n-frames", G_TYPE_INT, (gint) n_frames,
      "n-mels", G_TYPE_INT, self->n_mels,
      "first-frame", G_TYPE_UINT64, self->block_first,
      "first-frame-time", G_TYPE_UINT64, musa_analysis_sample_time (base,
          frame_center (self, self->block_first)),
      "hop-time", G_TYPE_UINT64, self->hop_time, NULL);
  gst_buffer_unref (frames);
  g_byte_array_set_size (self->block, 0);
  musa_analysis_post (base, s);
}

/* Queue a tensor buffer of snippet_frames frames starting at frame @first,
 * taken from @data (may be shorter: @have frames, rest padded). */
static void
queue_tensor (GstMelspec * self, guint64 first, const guint8 * data, guint have)
{
  GstMusaAnalysis *base = GST_MUSA_ANALYSIS (self);
  gsize frame_bytes = sizeof (gfloat) * self->n_mels;
  GstBuffer *buf = gst_buffer_new_allocate (NULL,
      frame_bytes * self->snippet_frames, NULL);
  GstMapInfo map;
  gfloat pad = self->cfg.log == MUSA_MEL_LOG_DB ?
      (gfloat) (10.0 * log10 (self->cfg.amin)) : 0.0f;
  gsize i;

  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  memcpy (map.data, data, frame_bytes * have);
  for (i = (gsize) have * self->n_mels;
      i < (gsize) self->snippet_frames * self->n_mels; i++)
    ((gfloat *) map.data)[i] = pad;
  gst_buffer_unmap (buf, &map);
  GST_BUFFER_PTS (buf) = musa_analysis_sample_time (base,
      frame_center (self, first));
  GST_BUFFER_DURATION (buf) = gst_util_uint64_scale_int_round
      ((guint64) self->snippet_frames * self->cfg.stft.hop, GST_SECOND,
      self->cfg.sample_rate);
  GST_BUFFER_OFFSET (buf) = self->snippet_index;
  g_queue_push_tail (&self->out_queue, buf);
}

/* First frame of snippet @j: the frame nearest j x snippet-hop, not j
 * rounded steps (their error would grow with j). */
static guint64
snippet_first (GstMelspec * self, guint64 j)
{
  return (guint64) llround ((gdouble) j * self->snippet_step);
}

/* Tensor mode: keep frames until snippet j = [first (j), first (j) +
 * frames) is complete, then queue it. Frames come one by one, in order. */
static void
tensor_frame (GstMelspec * self, guint64 index, const gfloat * mels)
{
  gsize frame_bytes = sizeof (gfloat) * self->n_mels;

  for (;;) {
    guint64 first = snippet_first (self, self->snippet_index);
    guint64 have;
    if (index < first) {
      /* in a gap between snippets: what is held comes before the next
       * one (kept, it would no longer be contiguous with its frames) */
      g_byte_array_set_size (self->pending, 0);
      return;
    }
    if (self->pending->len == 0)
      self->pending_first = index;
    if (index >= self->pending_first + self->pending->len / frame_bytes)
      g_byte_array_append (self->pending, (const guint8 *) mels,
          (guint) frame_bytes);
    /* drop frames before this snippet */
    if (self->pending_first < first) {
      guint64 drop = MIN (first - self->pending_first,
          self->pending->len / frame_bytes);
      g_byte_array_remove_range (self->pending, 0, (guint) (drop *
              frame_bytes));
      self->pending_first += drop;
    }
    have = self->pending->len / frame_bytes;
    if (self->pending_first != first || have < self->snippet_frames)
      return;
    queue_tensor (self, first, self->pending->data, self->snippet_frames);
    self->snippet_index++;
    /* overlapping snippets may already be complete from what is held */
  }
}

/* Interval k begins: its end, and whether its frames are kept for its
 * message (with messages off they are not: the block would grow over a
 * long interval for nothing). */
static void
begin_interval (GstMelspec * self)
{
  GstMusaAnalysis *base = GST_MUSA_ANALYSIS (self);

  self->interval_end = musa_analysis_interval_boundary (base,
      self->interval_k + 1);
  self->keep_frames = musa_analysis_get_post_messages (base);
}

static void
on_frame (void *user, int64_t index, const float *mels, int n_mels)
{
  GstMelspec *self = user;
  GstMusaAnalysis *base = GST_MUSA_ANALYSIS (self);
  guint64 center = frame_center (self, (guint64) index);

  if (self->tensor_mode) {
    tensor_frame (self, (guint64) index, mels);
    return;
  }
  /* post every interval that ends at or before this frame's centre; the
   * boundary (read under the object lock) is fetched once per interval */
  for (;;) {
    if (self->interval_end == 0)
      begin_interval (self);
    if (center < self->interval_end)
      break;
    post_block (self, musa_analysis_interval_boundary (base,
            self->interval_k), self->interval_end);
    self->interval_k++;
    self->interval_end = 0;
  }
  if (!self->keep_frames)
    return;
  /* a message holds one interval's frames: past MAX_BLOCK_BYTES the
   * interval is too long for one (a day's on a live stream; GLib's byte
   * array aborts at 4 GiB) */
  if ((guint64) self->block->len + sizeof (gfloat) * n_mels > MAX_BLOCK_BYTES) {
    guint64 start = musa_analysis_interval_boundary (base, self->interval_k);
    self->keep_frames = FALSE;
    g_byte_array_set_size (self->block, 0);
    GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS,
        ("Invalid setting of property 'interval': the interval starting at "
            "%.0f s has held %" G_GUINT64_FORMAT " frames x %d mel bands, "
            "1 GiB, for one message (shorten the interval, or use tensor "
            "mode)", (gdouble) start / self->cfg.sample_rate,
            (guint64) MAX_BLOCK_BYTES / (sizeof (gfloat) * n_mels), n_mels),
        (NULL));
    return;
  }
  if (self->block->len == 0)
    self->block_first = (guint64) index;
  g_byte_array_append (self->block, (const guint8 *) mels,
      (guint) (sizeof (gfloat) * n_mels));
}

static void
gst_melspec_process (GstMusaAnalysis * base, const gfloat * mono, gsize n,
    guint64 pos)
{
  GstMelspec *self = GST_MELSPEC (base);

  /* at the first audio, in the mode it flows in (not at caps that a
   * renegotiation replaces before any audio) */
  if (G_UNLIKELY (!self->checked_ignored))
    check_ignored_settings (self);
  musa_melspec_process (self->ms, mono, n, on_frame, self);
}

static GstFlowReturn
push_queued (GstMelspec * self)
{
  GstFlowReturn ret = GST_FLOW_OK;
  GstBuffer *buf;

  while (ret == GST_FLOW_OK &&
      (buf = g_queue_pop_head (&self->out_queue)) != NULL)
    ret = gst_pad_push (GST_BASE_TRANSFORM_SRC_PAD (self), buf);
  return ret;
}

static void
gst_melspec_finish (GstMusaAnalysis * base, guint64 pos)
{
  GstMelspec *self = GST_MELSPEC (base);
  gsize frame_bytes = sizeof (gfloat) * self->n_mels;

  if (self->tensor_mode && pos == 0) {
    /* no audio (EOS before any buffer, maybe before any segment): the
     * frame of padding the STFT gives would be a tensor of nothing, with no
     * timestamp */
    g_byte_array_set_size (self->pending, 0);
    return;
  }
  musa_melspec_finish (self->ms, on_frame, self);
  if (self->tensor_mode) {
    guint64 first = snippet_first (self, self->snippet_index);
    guint have = self->pending->len / frame_bytes;
    if (self->last_snippet == GST_MELSPEC_LAST_PAD && have > 0 &&
        self->pending_first == first)
      queue_tensor (self, first, self->pending->data, have);
    g_byte_array_set_size (self->pending, 0);
    /* called before EOS goes downstream: send what is left first */
    push_queued (self);
  } else {
    /* the intervals that ended with the stream, then the partial last one */
    guint64 start = musa_analysis_interval_boundary (base, self->interval_k);
    guint64 end = musa_analysis_interval_boundary (base, self->interval_k + 1);
    while (end <= pos) {
      post_block (self, start, end);
      self->interval_k++;
      self->interval_end = 0;
      start = end;
      end = musa_analysis_interval_boundary (base, self->interval_k + 1);
    }
    if (pos > start || self->block->len > 0)
      post_block (self, start, MAX (pos, start));
  }
}

static GstFlowReturn
gst_melspec_generate_output (GstBaseTransform * trans, GstBuffer ** outbuf)
{
  GstMelspec *self = GST_MELSPEC (trans);
  GstBuffer *in;

  if (!self->tensor_mode)
    return GST_BASE_TRANSFORM_CLASS (gst_melspec_parent_class)->generate_output
        (trans, outbuf);

  *outbuf = NULL;
  in = trans->queued_buf;
  trans->queued_buf = NULL;
  if (in != NULL) {
    musa_analysis_analyse_buffer (GST_MUSA_ANALYSIS (self), in);
    gst_buffer_unref (in);
  }
  *outbuf = g_queue_pop_head (&self->out_queue);
  return GST_FLOW_OK;
}

static gboolean
gst_melspec_sink_event (GstBaseTransform * trans, GstEvent * event)
{
  GstMelspec *self = GST_MELSPEC (trans);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_FLUSH_STOP:
      g_queue_clear_full (&self->out_queue, (GDestroyNotify) gst_buffer_unref);
      break;
    case GST_EVENT_STREAM_START:
      self->checked_ignored = FALSE;
      self->posted_dimensions = FALSE;
      break;
    default:
      break;
  }
  return GST_BASE_TRANSFORM_CLASS (gst_melspec_parent_class)->sink_event
      (trans, event);
}
