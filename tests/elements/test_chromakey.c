/* GstHarness tests of the chromakey element. */
#include <math.h>
#include <string.h>

#include <gst/gst.h>
#include <gst/audio/audio.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/tag/tag.h>

#include "core/rng.h"
#include "core/synth.h"
#include "elementtest.h"

#define CAPS_FMT "audio/x-raw, format=(string)%s, rate=(int)%d, " \
  "channels=(int)%d, layout=(string)interleaved"

typedef struct
{
  GList *messages;              /* GstStructure copies, in order */
  GPtrArray *tags;              /* musical-key values pushed, in order */
  gint warnings, errors;
  gchar *error_text;
  gboolean passthrough_ok;      /* output bytes equal input bytes */
} Run;

static void
set_caps (GstHarness * h, const gchar * format, gint rate, gint channels)
{
  gchar *caps = g_strdup_printf (CAPS_FMT "%s", format, rate, channels,
      channels > 2 ? ", channel-mask=(bitmask)0x0" : "");
  /* more than two channels need a mask: unpositioned */
  gst_harness_set_src_caps_str (h, caps);
  g_free (caps);
}

static void
run_clear (Run * r)
{
  g_list_free_full (r->messages, (GDestroyNotify) gst_structure_free);
  g_ptr_array_unref (r->tags);
  g_free (r->error_text);
}

/* chunk sizes in frames: fixed (> 0) or random 1..9000 (0) */
static gsize
next_chunk (gsize fixed, MusaRng * rng)
{
  if (fixed > 0)
    return fixed;
  return 1 + (gsize) (musa_rng_uniform (rng) * 9000);
}

static void
drain (GstHarness * h, GstBus * bus, Run * r)
{
  GstMessage *msg;
  GstEvent *ev;
  GstBuffer *buf;

  while ((msg = gst_bus_pop (bus)) != NULL) {
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT) {
      const GstStructure *s = gst_message_get_structure (msg);
      if (gst_structure_has_name (s, "chromakey"))
        r->messages = g_list_append (r->messages, gst_structure_copy (s));
    } else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_WARNING) {
      r->warnings++;
    } else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
      GError *err = NULL;
      gst_message_parse_error (msg, &err, NULL);
      r->errors++;
      if (r->error_text == NULL)
        r->error_text = g_strdup (err->message);
      g_error_free (err);
    }
    gst_message_unref (msg);
  }
  while ((ev = gst_harness_try_pull_event (h)) != NULL) {
    if (GST_EVENT_TYPE (ev) == GST_EVENT_TAG) {
      GstTagList *tl;
      gchar *key = NULL;
      gst_event_parse_tag (ev, &tl);
      if (gst_tag_list_get_string (tl, GST_TAG_MUSICAL_KEY, &key))
        g_ptr_array_add (r->tags, key);
    }
    gst_event_unref (ev);
  }
  while ((buf = gst_harness_try_pull (h)) != NULL)
    gst_buffer_unref (buf);
}

/* Push @frames frames of interleaved @data (format F32LE or S16LE) through
 * "chromakey @props" and collect messages and tags. Buffers flagged DISCONT
 * at frame @discont_at (0 = none). */
static void
run_element (const gchar * props, const gchar * format, gint rate,
    gint channels, gconstpointer data, gsize frames, gsize chunk,
    gsize discont_at, Run * r)
{
  gchar *desc = g_strdup_printf ("chromakey %s", props ? props : "");
  GstHarness *h = gst_harness_new_parse (desc);
  GstBus *bus = gst_bus_new ();
  gint bpf = channels * (strcmp (format, "S16LE") == 0 ? 2 : 4);
  gsize pos = 0;
  MusaRng rng;

  memset (r, 0, sizeof (*r));
  r->tags = g_ptr_array_new_with_free_func (g_free);
  r->passthrough_ok = TRUE;
  musa_rng_init (&rng, 99);
  gst_element_set_bus (h->element, bus);
  set_caps (h, format, rate, channels);
  while (pos < frames) {
    gsize n = MIN (next_chunk (chunk, &rng), frames - pos);
    GstBuffer *in, *out;
    GstFlowReturn ret;
    if (discont_at > 0 && pos < discont_at && pos + n > discont_at)
      n = discont_at - pos;
    in = gst_buffer_new_memdup ((const guint8 *) data + pos * bpf, n * bpf);
    GST_BUFFER_PTS (in) = gst_util_uint64_scale_int (pos, GST_SECOND, rate);
    GST_BUFFER_DURATION (in) = gst_util_uint64_scale_int (n, GST_SECOND, rate);
    if (discont_at > 0 && pos == discont_at)
      GST_BUFFER_FLAG_SET (in, GST_BUFFER_FLAG_DISCONT);
    ret = gst_harness_push (h, in);
    if (ret != GST_FLOW_OK)
      break;
    out = gst_harness_pull (h);
    if (out == NULL || gst_buffer_get_size (out) != n * bpf
        || gst_buffer_memcmp (out, 0, (const guint8 *) data + pos * bpf,
            n * bpf) != 0)
      r->passthrough_ok = FALSE;
    if (out)
      gst_buffer_unref (out);
    pos += n;
    drain (h, bus, r);
  }
  gst_harness_push_event (h, gst_event_new_eos ());
  drain (h, bus, r);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
  g_free (desc);
}

static float *
synth (gint rate, gdouble seconds, gint tonic, gboolean minor,
    gboolean tonal, gsize * frames)
{
  MusaSynthConfig cfg;
  gsize n = (gsize) (seconds * rate);
  float *x = g_new0 (float, n);

  musa_synth_config_default (&cfg);
  cfg.sample_rate = rate;
  cfg.tonic = tonic;
  cfg.minor = minor;
  cfg.bass = tonal;
  cfg.chords = tonal;
  fail_unless (musa_synth_music (&cfg, x, n, NULL) == MUSA_OK);
  *frames = n;
  return x;
}

static const GstStructure *
final_message (Run * r)
{
  GList *last = g_list_last (r->messages);
  gboolean final = FALSE;

  fail_unless (last != NULL, "no chromakey message");
  fail_unless (gst_structure_get_boolean (last->data, "final", &final));
  fail_unless (final, "the last message is not the final one");
  return last->data;
}

static void
check_fields (const GstStructure * s)
{
  static const gchar *strings[] = { "key", "tonic", "mode", "camelot",
    "open-key", "runner-up"
  };
  static const gchar *doubles[] = { "strength", "correlation",
    "runner-up-correlation", "tuning-cents", "tonalness"
  };
  const GValue *chroma;
  guint64 ts, dur, st, rt;
  gdouble v;
  guint i;

  for (i = 0; i < G_N_ELEMENTS (strings); i++)
    fail_unless (gst_structure_get_string (s, strings[i]) != NULL,
        "no string field %s", strings[i]);
  for (i = 0; i < G_N_ELEMENTS (doubles); i++) {
    fail_unless (gst_structure_get_double (s, doubles[i], &v),
        "no double field %s", doubles[i]);
    fail_unless (isfinite (v), "%s is %f", doubles[i], v);
  }
  gst_structure_get_double (s, "strength", &v);
  fail_unless (v >= 0.0 && v <= 1.0, "strength %f", v);
  gst_structure_get_double (s, "tuning-cents", &v);
  fail_unless (v >= -50.0 && v <= 50.0, "tuning %f", v);
  fail_unless (gst_structure_get_uint64 (s, "timestamp", &ts));
  fail_unless (gst_structure_get_uint64 (s, "duration", &dur));
  fail_unless (gst_structure_get_uint64 (s, "stream-time", &st));
  fail_unless (gst_structure_get_uint64 (s, "running-time", &rt));
  fail_unless (GST_CLOCK_TIME_IS_VALID (ts) && GST_CLOCK_TIME_IS_VALID (dur));
  chroma = gst_structure_get_value (s, "chroma");
  fail_unless (chroma != NULL && GST_VALUE_HOLDS_ARRAY (chroma));
  fail_unless_equals_int (gst_value_array_get_size (chroma), 12);
  for (i = 0; i < 12; i++) {
    gfloat c = g_value_get_float (gst_value_array_get_value (chroma, i));
    fail_unless (isfinite (c) && c >= 0.0f && c <= 1.0f, "chroma %f", c);
  }
}

static const gchar *
sget (const GstStructure * s, const gchar * f)
{
  return gst_structure_get_string (s, f);
}

static gdouble
dget (const GstStructure * s, const gchar * f)
{
  gdouble v = NAN;
  gst_structure_get_double (s, f, &v);
  return v;
}

GST_START_TEST (test_messages_and_tags)
{
  gsize n;
  float *x = synth (44100, 8.0, 9, TRUE, TRUE, &n);
  Run r;
  GList *l;
  const GstStructure *f;
  guint64 prev_dur = 0, dur;
  gboolean uncertain = TRUE;

  run_element ("interval=1000000000", "F32LE", 44100, 1, x, n, 4096, 0, &r);
  fail_unless (r.passthrough_ok, "audio changed");
  /* 8 periodic messages (whole stream so far) and the final one */
  fail_unless_equals_int (g_list_length (r.messages), 9);
  for (l = r.messages; l; l = l->next) {
    check_fields (l->data);
    gst_structure_get_uint64 (l->data, "duration", &dur);
    fail_unless (dur >= prev_dur, "durations do not grow");
    prev_dur = dur;
  }
  fail_unless_equals_uint64 (dur, 8 * GST_SECOND);
  f = final_message (&r);
  fail_unless_equals_string (sget (f, "key"), "A minor");
  fail_unless_equals_string (sget (f, "tonic"), "A");
  fail_unless_equals_string (sget (f, "mode"), "minor");
  fail_unless_equals_string (sget (f, "camelot"), "8A");
  fail_unless_equals_string (sget (f, "open-key"), "1m");
  fail_unless (strcmp (sget (f, "runner-up"), "A minor") != 0);
  fail_unless (dget (f, "strength") > 0.5, "strength %f", dget (f, "strength"));
  fail_unless (fabs (dget (f, "tuning-cents")) < 5.0);
  gst_structure_get_boolean (f, "uncertain", &uncertain);
  fail_unless (!uncertain);
  /* the tag: "Am", last at EOS */
  fail_unless (r.tags->len >= 1);
  fail_unless_equals_string (g_ptr_array_index (r.tags, r.tags->len - 1), "Am");
  fail_unless_equals_int (r.errors, 0);
  run_clear (&r);
  g_free (x);
}

GST_END_TEST;

/* The stream tags downstream after the last TAG event (a copy), or NULL. */
static GstTagList *
downstream_tags (GstHarness * h)
{
  GstEvent *ev = gst_pad_get_sticky_event (h->sinkpad, GST_EVENT_TAG, 0);
  GstTagList *tl, *copy;

  if (ev == NULL)
    return NULL;
  gst_event_parse_tag (ev, &tl);
  copy = gst_tag_list_copy (tl);
  gst_event_unref (ev);
  return copy;
}

static void
push_f32 (GstHarness * h, const float *x, gsize from, gsize to, gint rate)
{
  gsize pos;

  for (pos = from; pos < to; pos += 4096) {
    gsize n = MIN (4096, to - pos);
    GstBuffer *b = gst_buffer_new_memdup (x + pos, n * sizeof (float));

    GST_BUFFER_PTS (b) = gst_util_uint64_scale_int (pos, GST_SECOND, rate);
    fail_unless_equals_int (gst_harness_push (h, b), GST_FLOW_OK);
    gst_buffer_unref (gst_harness_pull (h));
  }
}

/* The musical-key tag is added to the stream's tags from upstream: a file's
 * title and artist stay downstream (chromakey's tag events held the key
 * alone and replaced them), and upstream's next tags (a decoder's bitrate)
 * keep the key (they replaced it). */
GST_START_TEST (test_upstream_tags_kept)
{
  gsize n;
  float *x = synth (44100, 8.0, 9, TRUE, TRUE, &n);
  GstHarness *h = gst_harness_new_parse ("chromakey");
  GstTagList *tl;
  gchar *str = NULL;
  guint bitrate = 0;

  set_caps (h, "F32LE", 44100, 1);
  gst_harness_push_event (h, gst_event_new_tag (gst_tag_list_new
          (GST_TAG_TITLE, "My Song", GST_TAG_ARTIST, "Someone", NULL)));
  push_f32 (h, x, 0, n / 2, 44100);
  gst_harness_push_event (h, gst_event_new_tag (gst_tag_list_new
          (GST_TAG_TITLE, "My Song", GST_TAG_ARTIST, "Someone",
              GST_TAG_BITRATE, 128000, NULL)));
  tl = downstream_tags (h);
  fail_unless (tl != NULL);
  fail_unless (gst_tag_list_get_string (tl, GST_TAG_MUSICAL_KEY, &str),
      "upstream's tags dropped the key");
  g_clear_pointer (&str, g_free);
  fail_unless (gst_tag_list_get_uint (tl, GST_TAG_BITRATE, &bitrate));
  fail_unless_equals_int (bitrate, 128000);
  gst_tag_list_unref (tl);

  push_f32 (h, x, n / 2, n, 44100);
  gst_harness_push_event (h, gst_event_new_eos ());
  tl = downstream_tags (h);
  fail_unless (tl != NULL);
  fail_unless (gst_tag_list_get_string (tl, GST_TAG_TITLE, &str),
      "the title is gone");
  fail_unless_equals_string (str, "My Song");
  g_clear_pointer (&str, g_free);
  fail_unless (gst_tag_list_get_string (tl, GST_TAG_ARTIST, &str));
  fail_unless_equals_string (str, "Someone");
  g_clear_pointer (&str, g_free);
  fail_unless (gst_tag_list_get_string (tl, GST_TAG_MUSICAL_KEY, &str));
  fail_unless_equals_string (str, "Am");
  g_clear_pointer (&str, g_free);
  fail_unless_equals_int (gst_tag_list_get_scope (tl), GST_TAG_SCOPE_STREAM);
  gst_tag_list_unref (tl);
  gst_harness_teardown (h);
  g_free (x);
}

GST_END_TEST;

GST_START_TEST (test_chunk_invariance)
{
  gsize n;
  float *x = synth (22050, 6.0, 2, FALSE, TRUE, &n);
  Run a, b;
  GList *la, *lb;

  run_element ("interval=700000000 window=3", "F32LE", 22050, 1, x, n, 1024,
      0, &a);
  run_element ("interval=700000000 window=3", "F32LE", 22050, 1, x, n, 0, 0,
      &b);
  fail_unless_equals_int (g_list_length (a.messages),
      g_list_length (b.messages));
  for (la = a.messages, lb = b.messages; la; la = la->next, lb = lb->next) {
    gchar *sa = gst_structure_to_string (la->data);
    gchar *sb = gst_structure_to_string (lb->data);
    fail_unless_equals_string (sa, sb);
    g_free (sa);
    g_free (sb);
  }
  fail_unless_equals_int (a.tags->len, b.tags->len);
  fail_unless (a.passthrough_ok && b.passthrough_ok);
  run_clear (&a);
  run_clear (&b);
  g_free (x);
}

GST_END_TEST;

/* A sliding window that is mostly silence is uncertain: G major for 8 s,
 * then silence; window=5. A window holding less than 2 s of the music is
 * uncertain (the share of its span with signal counts, not the span: the
 * window 7.75-12.75 s, 0.25 s of music, said G major, certain): none
 * from 6.5 s on, with less than 1.5 s; one holding 3 s or more is. */
GST_START_TEST (test_window_mostly_silence)
{
  gsize n1;
  gint rate = 22050;
  float *a = synth (rate, 8.0, 7, FALSE, TRUE, &n1);
  gsize n = n1 + 5 * rate;
  float *x = g_new0 (float, n);
  Run r;
  GList *l;
  gint certain_late = 0, certain_early = 0;

  memcpy (x, a, n1 * sizeof (float));
  run_element ("window=5 interval=250000000", "F32LE", rate, 1, x, n, 4096,
      0, &r);
  for (l = r.messages; l; l = l->next) {
    guint64 ts, dur;
    gboolean final = FALSE, uncertain = TRUE;

    gst_structure_get_uint64 (l->data, "timestamp", &ts);
    gst_structure_get_uint64 (l->data, "duration", &dur);
    gst_structure_get_boolean (l->data, "final", &final);
    gst_structure_get_boolean (l->data, "uncertain", &uncertain);
    if (final)
      continue;
    /* a whole window from @ts holds 8 s - ts of the music */
    if (dur == 5 * GST_SECOND && ts > 6500 * GST_MSECOND && !uncertain)
      certain_late++;
    if (ts + dur >= 5 * GST_SECOND && ts <= 5 * GST_SECOND && !uncertain
        && strcmp (sget (l->data, "key"), "G major") == 0)
      certain_early++;
  }
  fail_unless_equals_int (certain_late, 0);
  fail_unless (certain_early > 0);
  run_clear (&r);
  g_free (a);
  g_free (x);
}

GST_END_TEST;

/* A minor for 16 s then Db major for 16 s: the 8 s window follows. */
GST_START_TEST (test_sliding_window)
{
  gsize n1, n2;
  gint rate = 22050;
  float *a = synth (rate, 16.0, 9, TRUE, TRUE, &n1);
  float *b = synth (rate, 16.0, 1, FALSE, TRUE, &n2);
  float *x = g_new (float, n1 + n2);
  Run r;
  GList *l;
  gboolean saw_a = FALSE, saw_db = FALSE;
  guint i;

  memcpy (x, a, n1 * sizeof (float));
  memcpy (x + n1, b, n2 * sizeof (float));
  run_element ("window=8 interval=2000000000", "F32LE", rate, 1, x, n1 + n2,
      4096, 0, &r);
  for (l = r.messages; l; l = l->next) {
    guint64 ts, dur;
    gboolean final;
    gst_structure_get_uint64 (l->data, "timestamp", &ts);
    gst_structure_get_uint64 (l->data, "duration", &dur);
    gst_structure_get_boolean (l->data, "final", &final);
    check_fields (l->data);
    if (final)
      continue;
    fail_unless (dur <= 8 * GST_SECOND, "window message spans %"
        GST_TIME_FORMAT, GST_TIME_ARGS (dur));
    if (ts + dur >= 8 * GST_SECOND && ts + dur <= 16 * GST_SECOND) {
      fail_unless_equals_string (sget (l->data, "key"), "A minor");
      saw_a = TRUE;
    }
    if (ts >= 16 * GST_SECOND) {
      fail_unless_equals_string (sget (l->data, "key"), "Db major");
      saw_db = TRUE;
    }
  }
  fail_unless (saw_a && saw_db);
  /* the tag followed: Am came before Db */
  for (i = 0; i < r.tags->len; i++)
    if (strcmp (g_ptr_array_index (r.tags, i), "Db") == 0)
      break;
  fail_unless (i < r.tags->len, "no Db tag");
  fail_unless (i > 0 && strcmp (g_ptr_array_index (r.tags, 0), "Am") == 0,
      "first tag %s", (gchar *) g_ptr_array_index (r.tags, 0));
  run_clear (&r);
  g_free (a);
  g_free (b);
  g_free (x);
}

GST_END_TEST;

/* A steady major key without chord changes: the seven scale degrees held
 * at once, the tonic triad loudest (Krumhansl-like weights), each a tone
 * with three harmonics, added into @x from sample @from to @to. */
static void
add_scale (float *x, gsize from, gsize to, gint rate, gint tonic)
{
  static const gint degree[7] = { 0, 2, 4, 5, 7, 9, 11 };
  static const gdouble weight[7] = { 1.0, 0.4, 0.7, 0.5, 0.8, 0.4, 0.3 };
  gsize i;
  gint d, h;

  for (d = 0; d < 7; d++) {
    gdouble f = 261.63 * pow (2.0, ((tonic + degree[d]) % 12) / 12.0);
    for (h = 1; h <= 3; h++)
      for (i = from; i < to; i++)
        x[i] += (gfloat) (0.03 * weight[d] / h *
            sin (2.0 * G_PI * f * h * (gdouble) i / rate));
  }
}

/* A key that has just taken over is not tagged until it holds for 2 s: 4 s
 * of C major, then F# major and C major alternating every second for 8 s,
 * then 6 s of F# major, through a 1 s sliding window every 0.5 s. Each
 * alternating second fills the window with one key; before, the tag flipped
 * C, F#, C, F#, ...; now C, then F# once it holds. */
GST_START_TEST (test_tag_waits_for_a_steady_key)
{
  gint rate = 22050;
  gsize n = 18 * (gsize) rate, sec;
  float *x = g_new0 (float, n);
  Run r;
  guint k;

  for (sec = 0; sec < 18; sec++)
    add_scale (x, sec * rate, (sec + 1) * rate, rate,
        sec < 4 || (sec < 12 && sec % 2 == 1) ? 0 : 6);
  run_element ("window=1 interval=500000000", "F32LE", rate, 1, x, n, 4096,
      0, &r);
  fail_unless (r.tags->len >= 2);
  fail_unless_equals_string (g_ptr_array_index (r.tags, 0), "C");
  /* the tags before the final one: C, then F# once it held */
  for (k = 1; k + 1 < r.tags->len; k++)
    fail_unless_equals_string (g_ptr_array_index (r.tags, k), "F#");
  fail_unless (r.tags->len <= 3, "%u tags for two keys", r.tags->len);
  run_clear (&r);
  g_free (x);
}

GST_END_TEST;

/* A DISCONT buffer starts the analysis afresh. */
GST_START_TEST (test_discont_reset)
{
  gsize n1, n2;
  gint rate = 22050;
  float *a = synth (rate, 8.0, 9, TRUE, TRUE, &n1);
  float *b = synth (rate, 8.0, 0, FALSE, TRUE, &n2);
  float *x = g_new (float, n1 + n2);
  Run r;
  const GstStructure *f;
  guint64 dur;

  memcpy (x, a, n1 * sizeof (float));
  memcpy (x + n1, b, n2 * sizeof (float));
  run_element ("interval=100000000000", "F32LE", rate, 1, x, n1 + n2, 2048,
      n1, &r);
  f = final_message (&r);
  fail_unless_equals_string (sget (f, "key"), "C major");
  gst_structure_get_uint64 (f, "duration", &dur);
  fail_unless_equals_uint64 (dur, 8 * GST_SECOND);
  run_clear (&r);
  g_free (a);
  g_free (b);
  g_free (x);
}

GST_END_TEST;

/* FLUSH_START/STOP and a new segment also reset. */
GST_START_TEST (test_flush_reset)
{
  gsize n1, n2, pos;
  gint rate = 22050;
  float *a = synth (rate, 8.0, 9, TRUE, TRUE, &n1);
  float *b = synth (rate, 8.0, 7, FALSE, TRUE, &n2);
  GstHarness *h = gst_harness_new_parse ("chromakey interval=100000000000");
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  GstSegment seg;
  const gchar *key = NULL;
  gchar *keycopy = NULL;

  gst_element_set_bus (h->element, bus);
  set_caps (h, "F32LE", rate, 1);
  for (pos = 0; pos < n1; pos += 4096) {
    gsize c = MIN (4096, n1 - pos);
    GstBuffer *buf = gst_buffer_new_memdup (a + pos, c * sizeof (float));
    GST_BUFFER_PTS (buf) = gst_util_uint64_scale_int (pos, GST_SECOND, rate);
    fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
    gst_buffer_unref (gst_harness_pull (h));
  }
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_start ()));
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_stop (TRUE)));
  gst_segment_init (&seg, GST_FORMAT_TIME);
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&seg)));
  for (pos = 0; pos < n2; pos += 4096) {
    gsize c = MIN (4096, n2 - pos);
    GstBuffer *buf = gst_buffer_new_memdup (b + pos, c * sizeof (float));
    GST_BUFFER_PTS (buf) = gst_util_uint64_scale_int (pos, GST_SECOND, rate);
    fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
    gst_buffer_unref (gst_harness_pull (h));
  }
  gst_harness_push_event (h, gst_event_new_eos ());
  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT)) != NULL) {
    const GstStructure *s = gst_message_get_structure (msg);
    gboolean final = FALSE;
    gst_structure_get_boolean (s, "final", &final);
    if (final) {
      key = gst_structure_get_string (s, "key");
      g_free (keycopy);
      keycopy = g_strdup (key);
    }
    gst_message_unref (msg);
  }
  fail_unless_equals_string (keycopy, "G major");
  g_free (keycopy);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
  g_free (a);
  g_free (b);
}

GST_END_TEST;

static void
check_no_key (Run * r, const gchar * what)
{
  const GstStructure *f = final_message (r);
  gboolean uncertain = FALSE;
  GList *l;

  for (l = r->messages; l; l = l->next)
    check_fields (l->data);
  fail_unless_equals_string (sget (f, "key"), "none");
  fail_unless_equals_string (sget (f, "mode"), "none");
  fail_unless (dget (f, "strength") < 0.1, "%s: strength %f", what,
      dget (f, "strength"));
  gst_structure_get_boolean (f, "uncertain", &uncertain);
  fail_unless (uncertain, "%s: not uncertain", what);
  fail_unless_equals_int (r->tags->len, 0);
}

GST_START_TEST (test_silence)
{
  gsize n = 44100 * 5;
  float *x = g_new0 (float, n);
  Run r;

  run_element (NULL, "F32LE", 44100, 1, x, n, 4096, 0, &r);
  check_no_key (&r, "silence");
  fail_unless_equals_float (dget (final_message (&r), "strength"), 0.0);
  run_clear (&r);
  g_free (x);
}

GST_END_TEST;

GST_START_TEST (test_noise_and_drums)
{
  gsize n = 44100 * 6, i;
  float *x = g_new0 (float, n);
  MusaRng rng;
  Run r;

  musa_rng_init (&rng, 5);
  for (i = 0; i < n; i++)
    x[i] = (float) (0.2 * musa_rng_normal (&rng));
  run_element (NULL, "F32LE", 44100, 1, x, n, 4096, 0, &r);
  check_no_key (&r, "white noise");
  run_clear (&r);
  g_free (x);

  x = synth (44100, 8.0, 0, FALSE, FALSE, &n);
  run_element (NULL, "F32LE", 44100, 1, x, n, 4096, 0, &r);
  check_no_key (&r, "drums");
  run_clear (&r);
  g_free (x);
}

GST_END_TEST;

GST_START_TEST (test_nan)
{
  gsize n, i;
  float *x = synth (22050, 6.0, 4, TRUE, TRUE, &n);
  Run r;
  const GstStructure *f;

  for (i = 0; i < n; i += 97)
    x[i] = (i / 97) % 2 ? NAN : INFINITY;
  run_element (NULL, "F32LE", 22050, 1, x, n, 4096, 0, &r);
  fail_unless (r.warnings >= 1, "no warning about NaN");
  fail_unless_equals_int (r.errors, 0);
  f = final_message (&r);
  check_fields (f);
  fail_unless_equals_string (sget (f, "key"), "E minor");
  run_clear (&r);
  g_free (x);
}

GST_END_TEST;

GST_START_TEST (test_rates_and_channels)
{
  gsize n, i;
  float *x;
  gint16 *s16;
  float *multi;
  Run r;
  const GstStructure *f;
  gint c;

  /* 8 kHz mono S16 */
  x = synth (8000, 8.0, 7, TRUE, TRUE, &n);
  s16 = g_new (gint16, n);
  for (i = 0; i < n; i++)
    s16[i] = (gint16) lrintf (x[i] * 32767.0f);
  run_element (NULL, "S16LE", 8000, 1, s16, n, 1000, 0, &r);
  fail_unless (r.passthrough_ok);
  f = final_message (&r);
  check_fields (f);
  fail_unless_equals_string (sget (f, "key"), "G minor");
  run_clear (&r);
  g_free (x);
  g_free (s16);

  /* 192 kHz, 8 channels (8 s: the whole I-IV-V-I progression) */
  x = synth (192000, 8.0, 5, FALSE, TRUE, &n);
  multi = g_new (float, n * 8);
  for (i = 0; i < n; i++)
    for (c = 0; c < 8; c++)
      multi[i * 8 + c] = c % 2 ? x[i] : 0.5f * x[i];
  run_element (NULL, "F32LE", 192000, 8, multi, n, 8192, 0, &r);
  fail_unless (r.passthrough_ok);
  f = final_message (&r);
  check_fields (f);
  fail_unless_equals_string (sget (f, "key"), "F major");
  run_clear (&r);
  g_free (x);
  g_free (multi);
}

GST_END_TEST;

/* Half a second: a result, marked uncertain, and no tag. */
GST_START_TEST (test_short_stream)
{
  gsize n;
  float *x = synth (44100, 0.5, 9, TRUE, TRUE, &n);
  Run r;
  const GstStructure *f;
  gboolean uncertain = FALSE;

  run_element (NULL, "F32LE", 44100, 1, x, n, 4096, 0, &r);
  f = final_message (&r);
  check_fields (f);
  gst_structure_get_boolean (f, "uncertain", &uncertain);
  fail_unless (uncertain);
  fail_unless_equals_int (r.tags->len, 0);
  run_clear (&r);
  g_free (x);
}

GST_END_TEST;

/* A single note or an interval is no key: a 1 kHz line-up tone was "B
 * minor" (strength 0.55, certain) and tagged "Bm"; a 110 Hz note with its
 * harmonics "A major", a fifth "A minor". Marked uncertain, no tag. */
GST_START_TEST (test_single_note)
{
  const gsize n = 44100 * 5;
  float *x = g_new (float, n);
  guint kind;

  for (kind = 0; kind < 3; kind++) {
    const GstStructure *f;
    gboolean uncertain = FALSE;
    Run r;
    gsize i;
    gint k;

    for (i = 0; i < n; i++) {
      gdouble t = (gdouble) i / 44100;
      if (kind == 0)
        x[i] = (float) (0.3 * sin (2 * G_PI * 1000.0 * t));
      else if (kind == 1)
        for (x[i] = 0.0f, k = 1; k <= 8; k++)
          x[i] += (float) (0.3 / k * sin (2 * G_PI * 110.0 * k * t));
      else
        x[i] = (float) (0.3 * sin (2 * G_PI * 440.0 * t)
            + 0.3 * sin (2 * G_PI * 660.0 * t));
    }
    run_element (NULL, "F32LE", 44100, 1, x, n, 4096, 0, &r);
    f = final_message (&r);
    check_fields (f);
    gst_structure_get_boolean (f, "uncertain", &uncertain);
    fail_unless (uncertain, "signal %u: %s, not uncertain", kind,
        sget (f, "key"));
    fail_unless_equals_int (r.tags->len, 0);
    run_clear (&r);
  }
  g_free (x);
}

GST_END_TEST;

/* Pitch-class sets that fit many keys alike are no key: a chromatic
 * cluster of sines read "F# major", with harmonics "F minor", a whole-tone
 * scale "C major" and a diminished seventh "C minor", all certain and
 * tagged. A C major scale stays certain. */
GST_START_TEST (test_symmetric_sets)
{
  /* semitones above C4 (-1 ends), partials per note, a key expected */
  static const struct
  {
    gint notes[13];
    gint partials;
    gboolean key;
  } cases[] = {
    {{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, -1}, 1, FALSE},
    {{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, -1}, 5, FALSE},
    {{0, 2, 4, 6, 8, 10, -1}, 5, FALSE},
    {{0, 3, 6, 9, -1}, 5, FALSE},
    {{0, 2, 4, 5, 7, 9, 11, -1}, 5, TRUE},
  };
  const gsize n = 44100 * 5;
  float *x = g_new (float, n);
  guint c;

  for (c = 0; c < G_N_ELEMENTS (cases); c++) {
    const GstStructure *f;
    gboolean uncertain = FALSE;
    Run r;
    gsize i;
    gint j, k;

    for (i = 0; i < n; i++) {
      gdouble t = (gdouble) i / 44100;
      x[i] = 0.0f;
      for (j = 0; cases[c].notes[j] >= 0; j++)
        for (k = 1; k <= cases[c].partials; k++)
          x[i] += (float) (0.05 / k * sin (2 * G_PI * k * 261.63 *
                  pow (2.0, cases[c].notes[j] / 12.0) * t));
    }
    run_element (NULL, "F32LE", 44100, 1, x, n, 4096, 0, &r);
    f = final_message (&r);
    check_fields (f);
    gst_structure_get_boolean (f, "uncertain", &uncertain);
    if (cases[c].key) {
      fail_if (uncertain, "C major scale uncertain");
      fail_unless_equals_string (sget (f, "key"), "C major");
      fail_unless (r.tags->len > 0);
    } else {
      fail_unless (uncertain, "case %u: %s, not uncertain", c, sget (f, "key"));
      fail_unless_equals_int (r.tags->len, 0);
    }
    run_clear (&r);
  }
  g_free (x);
}

GST_END_TEST;

/* Settings refused whatever the sample rate fail the READY -> PAUSED
 * state change itself, with an error naming the property (an error from the
 * streaming thread at the caps could leave gst-launch 1.22.0 hanging). */
GST_START_TEST (test_bad_properties)
{
  gchar *text = start_error ("chromakey fmin=2000 fmax=2500");

  fail_unless (text != NULL, "the state change did not fail");
  fail_unless (strstr (text, "'fmax'") != NULL,
      "error does not name the property: %s", text);
  g_free (text);
}

GST_END_TEST;

static Suite *
chromakey_suite (void)
{
  Suite *s = suite_create ("chromakey");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 120);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_messages_and_tags);
  tcase_add_test (tc, test_upstream_tags_kept);
  tcase_add_test (tc, test_chunk_invariance);
  tcase_add_test (tc, test_sliding_window);
  tcase_add_test (tc, test_tag_waits_for_a_steady_key);
  tcase_add_test (tc, test_window_mostly_silence);
  tcase_add_test (tc, test_discont_reset);
  tcase_add_test (tc, test_flush_reset);
  tcase_add_test (tc, test_silence);
  tcase_add_test (tc, test_noise_and_drums);
  tcase_add_test (tc, test_nan);
  tcase_add_test (tc, test_rates_and_channels);
  tcase_add_test (tc, test_short_stream);
  tcase_add_test (tc, test_single_note);
  tcase_add_test (tc, test_symmetric_sets);
  tcase_add_test (tc, test_bad_properties);
  return s;
}

GST_CHECK_MAIN (chromakey);
