/* Element tests of knntag (GstHarness): learn then tag, external tensors,
 * embedding mismatch, damaged index, chunk invariance, states, bad input. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/tag/tag.h>

#include "core/synth.h"
#include "knn/index.h"
#include "elementtest.h"

#define RATE 22050
#define AUDIO_CAPS "audio/x-raw, format = (string) F32LE, rate = (int) 22050, " \
    "channels = (int) 1, layout = (string) interleaved"
#define TENSOR_CAPS4 "other/tensors, num_tensors = (int) 1, format = (string) " \
    "static, types = (string) float32, dimensions = (string) 4, " \
    "framerate = (fraction) 0/1"

static gchar *tmpdir;

static gchar *
tmp_path (const gchar * name)
{
  return g_build_filename (tmpdir, name, NULL);
}

/* A groove of @seconds: style A = 90 BPM with drums, style B = 150 BPM chords
 * only. */
static gfloat *
music (gdouble seconds, gboolean style_b, guint64 seed, gsize * n)
{
  MusaSynthConfig sc;
  gfloat *x;

  *n = (gsize) (seconds * RATE);
  x = g_new (gfloat, *n);
  musa_synth_config_default (&sc);
  sc.sample_rate = RATE;
  sc.seed = seed;
  sc.tonic = (int) (seed % 12);
  if (style_b) {
    sc.bpm = 150;
    sc.drums = 0;
    sc.bass = 0;
  } else {
    sc.bpm = 90;
  }
  musa_synth_music (&sc, x, *n, NULL);
  return x;
}

static GstHarness *
new_harness (GstBus ** bus)
{
  GstHarness *h = gst_harness_new ("knntag");

  *bus = gst_bus_new ();
  gst_element_set_bus (h->element, *bus);
  return h;
}

/* Push @x in chunks of @chunk samples (0 = random 1..5000), then EOS.
 * Returns the last flow return. */
static GstFlowReturn
push_audio (GstHarness * h, const gfloat * x, gsize n, gsize chunk,
    gboolean eos)
{
  GRand *r = g_rand_new_with_seed (42);
  GstFlowReturn ret = GST_FLOW_OK;
  gsize pos = 0;

  while (pos < n && ret == GST_FLOW_OK) {
    gsize len = chunk ? chunk : (gsize) g_rand_int_range (r, 1, 5000);
    GstBuffer *buf;
    len = MIN (len, n - pos);
    buf = gst_buffer_new_memdup (x + pos, len * sizeof (gfloat));
    GST_BUFFER_PTS (buf) = gst_util_uint64_scale_int (pos, GST_SECOND, RATE);
    GST_BUFFER_DURATION (buf) = gst_util_uint64_scale_int (len, GST_SECOND,
        RATE);
    ret = gst_harness_push (h, buf);
    pos += len;
  }
  g_rand_free (r);
  if (eos)
    gst_harness_push_event (h, gst_event_new_eos ());
  return ret;
}

/* All knntag element messages on @bus, in order (free with g_list_free_full
 * (l, gst_structure_free)). */
static GList *
knntag_messages (GstBus * bus)
{
  GList *l = NULL;
  GstMessage *m;

  while ((m = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    const GstStructure *s = gst_message_get_structure (m);
    if (gst_structure_has_name (s, "knntag"))
      l = g_list_append (l, gst_structure_copy (s));
    gst_message_unref (m);
  }
  return l;
}

static gboolean
pop_warning (GstBus * bus)
{
  GstMessage *m = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);

  if (m == NULL)
    return FALSE;
  gst_message_unref (m);
  return TRUE;
}

static void
learn_audio (const gchar * index, const gchar * label, gboolean style_b,
    guint64 seed)
{
  GstBus *bus;
  GstHarness *h = new_harness (&bus);
  gsize n;
  gfloat *x = music (12.0, style_b, seed, &n);
  GList *msgs;
  const GstStructure *s;
  guint added = 0;

  g_object_set (h->element, "mode", 1, "label", label, "location", index,
      "window", 5.0, NULL);
  gst_harness_set_src_caps_str (h, AUDIO_CAPS);
  fail_unless_equals_int (push_audio (h, x, n, 4096, TRUE), GST_FLOW_OK);
  msgs = knntag_messages (bus);
  fail_unless_equals_int (g_list_length (msgs), 1);
  s = msgs->data;
  fail_unless (gst_structure_get_uint (s, "added", &added));
  /* 12 s = two 5 s snippets and a 2 s rest, dropped (less than half) */
  fail_unless_equals_int (added, 2);
  g_list_free_full (msgs, (GDestroyNotify) gst_structure_free);
  g_free (x);
  gst_harness_teardown (h);
  gst_object_unref (bus);
}

static const gchar *
final_label (GList * msgs, gboolean * uncertain)
{
  GList *l;
  for (l = msgs; l; l = l->next) {
    gboolean final = FALSE;
    gst_structure_get_boolean (l->data, "final", &final);
    if (final) {
      if (uncertain)
        gst_structure_get_boolean (l->data, "uncertain", uncertain);
      return gst_structure_get_string (l->data, "label");
    }
  }
  return NULL;
}

GST_START_TEST (test_learn_then_tag)
{
  gchar *index = tmp_path ("learn.knn");
  GstBus *bus;
  GstHarness *h;
  gsize n;
  gfloat *x;
  GList *msgs, *l;
  GstEvent *ev;
  gboolean saw_genre = FALSE;
  MusaIndex *idx;
  gint style;

  g_unlink (index);
  learn_audio (index, "groove,loud", FALSE, 1);
  learn_audio (index, "chords", TRUE, 2);
  learn_audio (index, "groove,loud", FALSE, 3);
  learn_audio (index, "chords", TRUE, 4);
  idx = musa_index_load (index, NULL);
  fail_unless (idx != NULL);
  fail_unless_equals_int (musa_index_n_items (idx), 8);
  fail_unless_equals_int (musa_index_n_labels (idx), 3);
  musa_index_free (idx);

  for (style = 0; style < 2; style++) {
    h = new_harness (&bus);
    g_object_set (h->element, "location", index, "k", 3, "window", 5.0,
        "interval", 5 * GST_SECOND, NULL);
    gst_harness_set_src_caps_str (h, AUDIO_CAPS);
    x = music (10.0, style, 10 + style, &n);
    fail_unless_equals_int (push_audio (h, x, n, 2048, TRUE), GST_FLOW_OK);
    msgs = knntag_messages (bus);
    /* votes at 5 s and 10 s, then the whole-stream one */
    fail_unless_equals_int (g_list_length (msgs), 3);
    for (l = msgs; l; l = l->next) {
      const gchar *lab = gst_structure_get_string (l->data, "label");
      const GValue *nb = gst_structure_get_value (l->data, "neighbours");
      const GValue *d = gst_structure_get_value (l->data, "distances");
      guint i;
      fail_unless_equals_string (lab, style ? "chords" : "groove");
      fail_unless_equals_int (gst_value_array_get_size (nb), 3);
      for (i = 0; i < 3; i++) {
        gfloat dist = g_value_get_float (gst_value_array_get_value (d, i));
        fail_unless (isfinite (dist) && dist >= 0.0f);
        if (i > 0)
          fail_unless (dist >= g_value_get_float (gst_value_array_get_value
                  (d, i - 1)));
      }
    }
    if (style == 0) {
      const GValue *above = gst_structure_get_value (g_list_last (msgs)->data,
          "above-threshold");
      fail_unless_equals_int (gst_value_array_get_size (above), 2);
    }
    fail_unless_equals_string (final_label (msgs, NULL),
        style ? "chords" : "groove");
    /* tags: genre = the top label */
    while ((ev = gst_harness_try_pull_event (h))) {
      if (GST_EVENT_TYPE (ev) == GST_EVENT_TAG) {
        GstTagList *tl;
        gchar *genre = NULL;
        gst_event_parse_tag (ev, &tl);
        if (gst_tag_list_get_string (tl, GST_TAG_GENRE, &genre)) {
          fail_unless_equals_string (genre, style ? "chords" : "groove");
          saw_genre = TRUE;
          g_free (genre);
        }
      }
      gst_event_unref (ev);
    }
    fail_unless (saw_genre);
    g_list_free_full (msgs, (GDestroyNotify) gst_structure_free);
    g_free (x);
    gst_harness_teardown (h);
    gst_object_unref (bus);
  }
  g_free (index);
}

GST_END_TEST;

/* A damaged or missing index (tag mode) or an unwritable one (learn mode)
 * fails the READY -> PAUSED state change itself, in the application's
 * thread, before any caps: gst-launch and applications get a synchronous
 * failure instead of an error from the streaming thread at the first caps
 * (gst-launch 1.22.0 could hang on that one). */
GST_START_TEST (test_start_checks_index)
{
  gchar *bad = tmp_path ("damaged.knn"), *missing = tmp_path ("missing.knn");
  const gchar *cases[][3] = {
    {"0", NULL, "Damaged index"},
    {"0", "m", "Could not use the index"},
    {"1", "/nonexistent-dir/x.knn", "location"},
  };
  guint i;

  g_file_set_contents (bad, "junkjunkjunk", -1, NULL);
  g_unlink (missing);
  for (i = 0; i < G_N_ELEMENTS (cases); i++) {
    gchar *desc = g_strdup_printf ("knntag mode=%s label=x location=\"%s\"",
        cases[i][0], cases[i][1] == NULL ? bad : (cases[i][1][0] == 'm' ?
            missing : cases[i][1]));
    gchar *text = start_error (desc);

    fail_unless (text != NULL, "case %u: the state change did not fail", i);
    fail_unless (strstr (text, cases[i][2]) != NULL,
        "case %u: '%s' does not say '%s'", i, text, cases[i][2]);
    g_free (text);
    g_free (desc);
  }
  g_unlink (bad);
  g_free (bad);
  g_free (missing);
}

GST_END_TEST;

/* Count the genre tags the harness received (and drop the other events). */
static guint
genre_tags (GstHarness * h, gchar ** last)
{
  GstEvent *ev;
  guint n = 0;

  while ((ev = gst_harness_try_pull_event (h))) {
    if (GST_EVENT_TYPE (ev) == GST_EVENT_TAG) {
      GstTagList *tl;
      gchar *genre = NULL;
      gst_event_parse_tag (ev, &tl);
      if (gst_tag_list_get_string (tl, GST_TAG_GENRE, &genre)) {
        n++;
        if (last) {
          g_free (*last);
          *last = genre;
        } else {
          g_free (genre);
        }
      }
    }
    gst_event_unref (ev);
  }
  return n;
}

/* In a pipeline, a tagger without `location` and a learner without `label`
 * fail the READY -> PAUSED state change too, naming the property (they
 * started and failed at the first caps, in the streaming thread). A lone
 * element, as GstHarness starts it before the test sets its properties, may
 * still get them later: they are checked at the caps (test_bad_input). */
GST_START_TEST (test_start_needs_location_and_label)
{
  gchar *index = tmp_path ("start-needs.knn");
  const gchar *cases[][2] = {
    {"knntag", "'location'"},
    {"knntag location=\"\"", "'location'"},
    {"knntag mode=learn label=x", "'location'"},
    {"knntag mode=learn location=\"%s\"", "'label'"},
    {"knntag mode=learn label=\",,\" location=\"%s\"", "'label'"},
  };
  guint i;

  g_unlink (index);
  for (i = 0; i < G_N_ELEMENTS (cases); i++) {
    gchar *knntag = g_strdup_printf (cases[i][0], index);
    gchar *desc = g_strdup_printf ("audiotestsrc ! %s ! fakesink", knntag);
    gchar *text = start_error (desc);

    fail_unless (text != NULL, "%s: the state change did not fail", knntag);
    fail_unless (strstr (text, cases[i][1]) != NULL,
        "%s: '%s' does not say %s", knntag, text, cases[i][1]);
    g_free (text);
    g_free (desc);
    g_free (knntag);
  }
  /* (a learner's index is written at EOS only) */
  fail_if (g_file_test (index, G_FILE_TEST_EXISTS));
  g_free (index);
}

GST_END_TEST;

/* The index is read once, when the element starts, and the caps use that
 * copy: an index overwritten after the start (cp over it, which an index in
 * use allows) does not stop the tagger, which tags with the index it read
 * (the caps read the file a second time, and the pipeline failed there with
 * "Invalid setting of property 'location': ... truncated"). */
GST_START_TEST (test_index_read_at_start)
{
  gchar *index = tmp_path ("read-once.knn");
  GstElement *e;
  GstBus *bus;
  GstHarness *h;
  gsize n;
  gfloat *x;
  GList *msgs = NULL;
  GstMessage *m;
  GstBuffer *buf;
  gchar *genre = NULL;
  FILE *f;

  g_unlink (index);
  learn_audio (index, "groove", FALSE, 1);
  learn_audio (index, "chords", TRUE, 2);
  e = gst_element_factory_make ("knntag", NULL);
  g_object_set (e, "location", index, "k", 3, "window", 5.0, "interval",
      5 * GST_SECOND, NULL);
  /* started here (PLAYING), with its location: the index is read */
  h = gst_harness_new_with_element (e, "sink", "src");
  gst_object_unref (e);
  bus = gst_bus_new ();
  gst_element_set_bus (h->element, bus);
  /* overwritten in place, as `cp junk index.knn` does */
  f = fopen (index, "wb");
  fail_unless (f != NULL);
  fail_unless (fputs ("not an index any more", f) >= 0);
  fail_unless (fclose (f) == 0);

  gst_harness_set_src_caps_str (h, AUDIO_CAPS);
  x = music (10.0, FALSE, 10, &n);
  fail_unless_equals_int (push_audio (h, x, n, 2048, TRUE), GST_FLOW_OK);
  /* no error, and the votes of the index read at the start */
  while ((m = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR |
              GST_MESSAGE_ELEMENT))) {
    const GstStructure *st = gst_message_get_structure (m);
    fail_if (GST_MESSAGE_TYPE (m) == GST_MESSAGE_ERROR, "error from %s",
        GST_MESSAGE_SRC_NAME (m));
    if (gst_structure_has_name (st, "knntag"))
      msgs = g_list_append (msgs, gst_structure_copy (st));
    gst_message_unref (m);
  }
  fail_unless_equals_string (final_label (msgs, NULL), "groove");
  fail_unless (genre_tags (h, &genre) > 0);
  fail_unless_equals_string (genre, "groove");
  g_free (genre);
  /* a next stream at another rate rebuilds the analysis, with the same
   * index (the file is not read again) */
  fail_unless (gst_harness_push_event (h,
          gst_event_new_stream_start ("second")));
  gst_harness_set_src_caps_str (h, "audio/x-raw, format = (string) F32LE, "
      "rate = (int) 16000, channels = (int) 1, layout = (string) interleaved");
  buf = gst_buffer_new_and_alloc (16000 * sizeof (gfloat));
  gst_buffer_memset (buf, 0, 0, 16000 * sizeof (gfloat));
  fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
  fail_unless (bus_error_text (bus) == NULL);
  g_list_free_full (msgs, (GDestroyNotify) gst_structure_free);
  g_free (x);
  gst_harness_teardown (h);
  gst_object_unref (bus);
  g_unlink (index);
  g_free (index);
}

GST_END_TEST;

/* An answer from less than half a window of audio is uncertain and tags
 * nothing (the first seconds of a radio stream, a short clip); the first
 * certain answer tags, even when the uncertain ones had the same label. */
GST_START_TEST (test_no_tags_when_uncertain)
{
  gchar *index = tmp_path ("uncertain.knn"), *genre = NULL;
  GstBus *bus;
  GstHarness *h;
  gsize n;
  gfloat *x;
  GList *msgs, *l;
  guint certain = 0;

  g_unlink (index);
  learn_audio (index, "groove", FALSE, 1);
  learn_audio (index, "chords", TRUE, 2);

  /* a 2 s clip, window 5 s: every answer uncertain, no tag */
  h = new_harness (&bus);
  g_object_set (h->element, "location", index, "k", 3, "window", 5.0,
      "interval", GST_SECOND, NULL);
  gst_harness_set_src_caps_str (h, AUDIO_CAPS);
  x = music (2.0, FALSE, 20, &n);
  fail_unless_equals_int (push_audio (h, x, n, 2048, TRUE), GST_FLOW_OK);
  msgs = knntag_messages (bus);
  fail_unless (g_list_length (msgs) >= 2);
  for (l = msgs; l; l = l->next) {
    gboolean unc = FALSE;
    fail_unless (gst_structure_get_boolean (l->data, "uncertain", &unc));
    fail_unless (unc);
  }
  fail_unless_equals_int (genre_tags (h, NULL), 0);
  g_list_free_full (msgs, (GDestroyNotify) gst_structure_free);
  g_free (x);
  gst_harness_teardown (h);
  gst_object_unref (bus);

  /* 8 s: uncertain at 1 and 2 s, certain from 3 s: tags only then */
  h = new_harness (&bus);
  g_object_set (h->element, "location", index, "k", 3, "window", 5.0,
      "interval", GST_SECOND, NULL);
  gst_harness_set_src_caps_str (h, AUDIO_CAPS);
  x = music (8.0, FALSE, 21, &n);
  fail_unless_equals_int (push_audio (h, x, n, 2048, TRUE), GST_FLOW_OK);
  msgs = knntag_messages (bus);
  for (l = msgs; l; l = l->next) {
    gboolean unc = TRUE;
    gst_structure_get_boolean (l->data, "uncertain", &unc);
    certain += !unc;
  }
  fail_unless (certain >= 1);
  fail_unless (genre_tags (h, &genre) >= 1);
  fail_unless_equals_string (genre, final_label (msgs, NULL));
  g_free (genre);
  g_list_free_full (msgs, (GDestroyNotify) gst_structure_free);
  g_free (x);
  gst_harness_teardown (h);
  gst_object_unref (bus);
  g_unlink (index);
  g_free (index);
}

GST_END_TEST;

/* Output audio is the input, bit for bit. */
GST_START_TEST (test_passthrough)
{
  gchar *index = tmp_path ("pass.knn");
  GstBus *bus;
  GstHarness *h;
  gsize n;
  gfloat *x;
  GstBuffer *in, *out;

  g_unlink (index);
  learn_audio (index, "a", FALSE, 1);
  h = new_harness (&bus);
  g_object_set (h->element, "location", index, NULL);
  gst_harness_set_src_caps_str (h, AUDIO_CAPS);
  x = music (1.0, FALSE, 5, &n);
  in = gst_buffer_new_memdup (x, n * sizeof (gfloat));
  out = gst_harness_push_and_pull (h, gst_buffer_ref (in));
  fail_unless (out != NULL);
  fail_unless (gst_buffer_memcmp (out, 0, x, n * sizeof (gfloat)) == 0);
  gst_buffer_unref (in);
  gst_buffer_unref (out);
  g_free (x);
  gst_harness_teardown (h);
  gst_object_unref (bus);
  g_free (index);
}

GST_END_TEST;

static GstFlowReturn
push_vector (GstHarness * h, gfloat a, gfloat b, gfloat c, gfloat d,
    GstClockTime pts)
{
  gfloat v[4] = { a, b, c, d };
  GstBuffer *buf = gst_buffer_new_memdup (v, sizeof (v));
  GST_BUFFER_PTS (buf) = pts;
  GST_BUFFER_DURATION (buf) = GST_SECOND;
  return gst_harness_push (h, buf);
}

/* A tagger of 4-value "clap-test" tensors over @index, k = 3. */
static GstHarness *
tensor_tagger (const gchar * index, GstBus ** bus)
{
  GstHarness *h = new_harness (bus);

  g_object_set (h->element, "location", index, "embedding", "clap-test",
      "k", 3, NULL);
  gst_harness_set_src_caps_str (h, TENSOR_CAPS4);
  return h;
}

static void
learn_vectors (const gchar * index, const gchar * label, gint axis)
{
  GstBus *bus;
  GstHarness *h = new_harness (&bus);
  gint i;

  g_object_set (h->element, "mode", 1, "label", label, "location", index,
      "embedding", "clap-test", NULL);
  gst_harness_set_src_caps_str (h, TENSOR_CAPS4);
  for (i = 0; i < 3; i++)
    fail_unless_equals_int (push_vector (h, axis == 0 ? 1.0f : 0.1f * i,
            axis == 1 ? 1.0f : 0.05f * i, 0.2f, 0.0f, i * GST_SECOND),
        GST_FLOW_OK);
  gst_harness_push_event (h, gst_event_new_eos ());
  fail_unless (bus_error_text (bus) == NULL);
  gst_harness_teardown (h);
  gst_object_unref (bus);
}

GST_START_TEST (test_tensor_input)
{
  gchar *index = tmp_path ("tensor.knn");
  GstBus *bus;
  GstHarness *h;
  GList *msgs, *l;
  MusaIndex *idx;
  gchar *err;
  gint i, finals = 0;

  g_unlink (index);
  learn_vectors (index, "x", 0);
  learn_vectors (index, "y", 1);
  idx = musa_index_load (index, NULL);
  fail_unless (idx != NULL);
  fail_unless_equals_int (musa_index_n_items (idx), 6);
  fail_unless_equals_int (musa_index_dim (idx), 4);
  fail_unless_equals_string (musa_index_embedding_name (idx), "clap-test");
  musa_index_free (idx);

  h = tensor_tagger (index, &bus);
  fail_unless_equals_int (push_vector (h, 0.9f, 0.1f, 0.2f, 0.0f, 0),
      GST_FLOW_OK);
  fail_unless_equals_int (push_vector (h, 0.1f, 0.95f, 0.2f, 0.0f,
          GST_SECOND), GST_FLOW_OK);
  fail_unless_equals_int (push_vector (h, 0.8f, 0.0f, 0.2f, 0.0f,
          2 * GST_SECOND), GST_FLOW_OK);
  gst_harness_push_event (h, gst_event_new_eos ());
  msgs = knntag_messages (bus);
  fail_unless_equals_int (g_list_length (msgs), 4);
  fail_unless_equals_string (gst_structure_get_string (g_list_nth_data (msgs,
              0), "label"), "x");
  fail_unless_equals_string (gst_structure_get_string (g_list_nth_data (msgs,
              1), "label"), "y");
  fail_unless_equals_string (final_label (msgs, NULL), "x");
  g_list_free_full (msgs, (GDestroyNotify) gst_structure_free);
  gst_harness_teardown (h);
  gst_object_unref (bus);

  /* vectors last first (reverse playback): the final answer covers their
   * span, 0-3 s (its duration was NONE: the first PTS was the latest) */
  h = tensor_tagger (index, &bus);
  for (i = 3; i > 0; i--)
    fail_unless_equals_int (push_vector (h, 0.9f, 0.1f, 0.2f, 0.0f,
            (i - 1) * GST_SECOND), GST_FLOW_OK);
  gst_harness_push_event (h, gst_event_new_eos ());
  msgs = knntag_messages (bus);
  for (l = msgs; l; l = l->next) {
    gboolean final = FALSE;
    guint64 ts = 0, dur = 0;
    gst_structure_get_boolean (l->data, "final", &final);
    if (!final)
      continue;
    finals++;
    fail_unless (gst_structure_get (l->data, "timestamp", G_TYPE_UINT64, &ts,
            "duration", G_TYPE_UINT64, &dur, NULL));
    fail_unless_equals_uint64 (ts, 0);
    fail_unless_equals_uint64 (dur, 3 * GST_SECOND);
  }
  fail_unless_equals_int (finals, 1);
  g_list_free_full (msgs, (GDestroyNotify) gst_structure_free);
  gst_harness_teardown (h);
  gst_object_unref (bus);

  /* NaN is taken as 0 (a warning), a value beyond 1e6 skips the vector */
  h = tensor_tagger (index, &bus);
  fail_unless_equals_int (push_vector (h, NAN, 1.0f, 0.2f, 0.0f, 0),
      GST_FLOW_OK);
  fail_unless_equals_int (push_vector (h, 1e9f, 0.0f, 0.2f, 0.0f,
          GST_SECOND), GST_FLOW_OK);
  fail_unless (pop_warning (bus));
  msgs = knntag_messages (bus);
  fail_unless_equals_int (g_list_length (msgs), 1);
  fail_unless_equals_string (gst_structure_get_string (msgs->data, "label"),
      "y");
  g_list_free_full (msgs, (GDestroyNotify) gst_structure_free);
  gst_harness_teardown (h);
  gst_object_unref (bus);

  /* a vector of zeros has no direction for the cosine metric: a warning
   * and no vote (every item was at distance 1 and the first items of the
   * index answered "x", score 1, not uncertain, tagged) */
  h = tensor_tagger (index, &bus);
  fail_unless_equals_int (push_vector (h, 0.0f, 0.0f, 0.0f, 0.0f, 0),
      GST_FLOW_OK);
  fail_unless_equals_int (push_vector (h, NAN, 0.0f, 0.0f, 0.0f,
          GST_SECOND), GST_FLOW_OK);
  gst_harness_push_event (h, gst_event_new_eos ());
  fail_unless (pop_warning (bus));
  msgs = knntag_messages (bus);
  fail_unless_equals_int (g_list_length (msgs), 0);
  g_list_free_full (msgs, (GDestroyNotify) gst_structure_free);
  fail_unless_equals_int (genre_tags (h, NULL), 0);
  gst_harness_teardown (h);
  gst_object_unref (bus);

  /* a tensor buffer of the wrong size is an error, not a crash */
  h = new_harness (&bus);
  g_object_set (h->element, "location", index, "embedding", "clap-test", NULL);
  gst_harness_set_src_caps_str (h, TENSOR_CAPS4);
  fail_unless_equals_int (gst_harness_push (h, gst_buffer_new_and_alloc (12)),
      GST_FLOW_ERROR);
  err = bus_error_text (bus);
  fail_unless (err && strstr (err, "expected 4 float32") != NULL);
  g_free (err);
  gst_harness_teardown (h);
  gst_object_unref (bus);
  g_free (index);
}

GST_END_TEST;

/* Learn @n 4-value vectors @v under @label (clap-test tensors). */
static void
learn_these (const gchar * index, const gchar * label, const gfloat (*v)[4],
    gint n)
{
  GstBus *bus;
  GstHarness *h = new_harness (&bus);
  gint i;

  g_object_set (h->element, "mode", 1, "label", label, "location", index,
      "embedding", "clap-test", NULL);
  gst_harness_set_src_caps_str (h, TENSOR_CAPS4);
  for (i = 0; i < n; i++)
    fail_unless_equals_int (push_vector (h, v[i][0], v[i][1], v[i][2],
            v[i][3], i * GST_SECOND), GST_FLOW_OK);
  gst_harness_push_event (h, gst_event_new_eos ());
  fail_unless (bus_error_text (bus) == NULL);
  gst_harness_teardown (h);
  gst_object_unref (bus);
}

/* The one vote of a k = 1 tensor tagger over @index for @v: its label and
 * nearest distance. */
static gchar *
tag_one (const gchar * index, const gfloat * v, gfloat * distance)
{
  GstBus *bus;
  GstHarness *h = new_harness (&bus);
  GList *msgs;
  const GValue *d;
  gchar *label;

  g_object_set (h->element, "location", index, "embedding", "clap-test",
      "k", 1, NULL);
  gst_harness_set_src_caps_str (h, TENSOR_CAPS4);
  fail_unless_equals_int (push_vector (h, v[0], v[1], v[2], v[3], 0),
      GST_FLOW_OK);
  msgs = knntag_messages (bus);
  fail_unless_equals_int (g_list_length (msgs), 1);
  label = g_strdup (gst_structure_get_string (msgs->data, "label"));
  d = gst_structure_get_value (msgs->data, "distances");
  fail_unless (d != NULL && gst_value_array_get_size (d) == 1);
  *distance = g_value_get_float (gst_value_array_get_value (d, 0));
  g_list_free_full (msgs, (GDestroyNotify) gst_structure_free);
  gst_harness_teardown (h);
  gst_object_unref (bus);
  return label;
}

/* Tiny but legal tensor values keep their direction: a learnt [1e-40, 0,
 * 0, 0] was at cosine distance -inf from everything and answered every
 * vote; a query of tiny values had distances -inf and NaN. */
GST_START_TEST (test_tensor_tiny_values)
{
  static const gfloat normal[3][4] = {
    {1, 2, 3, 4}, {1, 2, 3, 4}, {1, 2, 3, 4}
  };
  static const gfloat tiny[1][4] = { {1e-40f, 0, 0, 0} };
  static const gfloat near_normal[4] = { 1, 2, 3, 4.1f };
  static const gfloat tiny_query[4] = { 3e-39f, 1e-45f, 0, 0 };
  gchar *index = tmp_path ("tiny.knn"), *label;
  gfloat dist = -1.0f;

  g_unlink (index);
  learn_these (index, "normal", normal, 3);
  learn_these (index, "tiny", tiny, 1);
  label = tag_one (index, near_normal, &dist);
  fail_unless_equals_string (label, "normal");
  fail_unless (dist >= 0.0f && dist < 1e-3f, "distance %g", dist);
  g_free (label);
  label = tag_one (index, tiny_query, &dist);
  fail_unless_equals_string (label, "tiny");
  fail_unless (dist >= 0.0f && dist < 1e-3f, "distance %g", dist);
  g_free (label);
  g_free (index);
}

GST_END_TEST;

/* Tensor input, two streams without EOS between them (concat, gapless): the
 * first stream's whole-stream vote comes when the second starts (it was
 * dropped with the accumulator), the second's at EOS, once each. */
GST_START_TEST (test_tensor_stream_change)
{
  gchar *index = tmp_path ("tensor-streams.knn");
  GstBus *bus;
  GstHarness *h;
  GList *msgs, *l;
  guint finals = 0;
  GstCaps *caps = gst_caps_from_string (TENSOR_CAPS4);
  GstSegment seg;

  g_unlink (index);
  learn_vectors (index, "x", 0);
  learn_vectors (index, "y", 1);
  h = tensor_tagger (index, &bus);
  fail_unless_equals_int (push_vector (h, 0.9f, 0.1f, 0.2f, 0.0f, 0),
      GST_FLOW_OK);
  fail_unless_equals_int (push_vector (h, 0.8f, 0.0f, 0.2f, 0.0f,
          GST_SECOND), GST_FLOW_OK);
  fail_unless (gst_harness_push_event (h,
          gst_event_new_stream_start ("second")));
  msgs = knntag_messages (bus);
  fail_unless_equals_string (final_label (msgs, NULL), "x");
  g_list_free_full (msgs, (GDestroyNotify) gst_structure_free);

  fail_unless (gst_harness_push_event (h, gst_event_new_caps (caps)));
  gst_segment_init (&seg, GST_FORMAT_TIME);
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&seg)));
  fail_unless_equals_int (push_vector (h, 0.1f, 0.95f, 0.2f, 0.0f, 0),
      GST_FLOW_OK);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  fail_unless (gst_harness_push_event (h,
          gst_event_new_stream_start ("third")));
  msgs = knntag_messages (bus);
  for (l = msgs; l; l = l->next) {
    gboolean final = FALSE;
    gst_structure_get_boolean (l->data, "final", &final);
    finals += final;
  }
  /* the second stream's vote at its EOS, nothing more at the next start */
  fail_unless_equals_int (finals, 1);
  fail_unless_equals_string (final_label (msgs, NULL), "y");
  g_list_free_full (msgs, (GDestroyNotify) gst_structure_free);
  gst_caps_unref (caps);
  gst_harness_teardown (h);
  gst_object_unref (bus);
  g_free (index);
}

GST_END_TEST;

GST_START_TEST (test_mismatch)
{
  gchar *index = tmp_path ("mismatch.knn");
  GstBus *bus;
  GstHarness *h;
  gchar *err;

  g_unlink (index);
  learn_vectors (index, "x", 0);
  /* dimension 5 against an index of dimension 4 */
  h = new_harness (&bus);
  g_object_set (h->element, "location", index, "embedding", "clap-test", NULL);
  gst_harness_set_src_caps_str (h, "other/tensors, num_tensors = (int) 1, "
      "format = (string) static, types = (string) float32, "
      "dimensions = (string) 5:1, framerate = (fraction) 0/1");
  fail_if (gst_harness_push (h, gst_buffer_new_and_alloc (20)) == GST_FLOW_OK);
  err = bus_error_text (bus);
  fail_unless (err != NULL);
  fail_unless (strstr (err, "dimension 4") && strstr (err, "dimension 5"),
      "%s", err);
  g_free (err);
  gst_harness_teardown (h);
  gst_object_unref (bus);

  /* another embedding name */
  h = new_harness (&bus);
  g_object_set (h->element, "location", index, "embedding", "other", NULL);
  gst_harness_set_src_caps_str (h, TENSOR_CAPS4);
  fail_if (gst_harness_push (h, gst_buffer_new_and_alloc (16)) == GST_FLOW_OK);
  err = bus_error_text (bus);
  fail_unless (err && strstr (err, "clap-test") && strstr (err, "other"));
  g_free (err);
  gst_harness_teardown (h);
  gst_object_unref (bus);

  /* audio (built-in embedding) against the tensor index */
  h = new_harness (&bus);
  g_object_set (h->element, "location", index, NULL);
  gst_harness_set_src_caps_str (h, AUDIO_CAPS);
  fail_if (gst_harness_push (h, gst_buffer_new_and_alloc (400)) == GST_FLOW_OK);
  err = bus_error_text (bus);
  fail_unless (err && strstr (err, "musa-builtin"), "%s", err);
  g_free (err);
  gst_harness_teardown (h);
  gst_object_unref (bus);
  g_free (index);
}

GST_END_TEST;

static gchar *
tag_error_with_index (const gchar * path)
{
  GstBus *bus;
  GstHarness *h = new_harness (&bus);
  gchar *err;

  g_object_set (h->element, "location", path, NULL);
  gst_harness_set_src_caps_str (h, AUDIO_CAPS);
  fail_if (gst_harness_push (h, gst_buffer_new_and_alloc (400)) == GST_FLOW_OK);
  err = bus_error_text (bus);
  gst_harness_teardown (h);
  gst_object_unref (bus);
  return err;
}

/* A damaged or missing index read at the caps (its location set after the
 * start, as in a GstHarness) is named as such, as at the start (the caps
 * said "Invalid setting of property 'location'" for it). */
GST_START_TEST (test_corrupt_index)
{
  gchar *index = tmp_path ("good.knn"), *bad = tmp_path ("bad.knn");
  gchar *data, *err;
  gsize len;

  g_unlink (index);
  learn_audio (index, "a", FALSE, 1);
  fail_unless (g_file_get_contents (index, &data, &len, NULL));
  /* truncated */
  fail_unless (g_file_set_contents (bad, data, len - 7, NULL));
  err = tag_error_with_index (bad);
  fail_unless (err && strstr (err, "Damaged index") && strstr (err,
          "truncated"), "%s", err);
  g_free (err);
  /* one byte changed */
  data[len / 2] ^= 0x40;
  fail_unless (g_file_set_contents (bad, data, len, NULL));
  err = tag_error_with_index (bad);
  fail_unless (err && strstr (err, "Damaged index") && strstr (err,
          "checksum"), "%s", err);
  g_free (err);
  /* not an index at all */
  fail_unless (g_file_set_contents (bad, "hello, world, this is text"
          "................................................................"
          "................................................................",
          -1, NULL));
  err = tag_error_with_index (bad);
  fail_unless (err && strstr (err, "Damaged index") && strstr (err,
          "not a musa index"), "%s", err);
  g_free (err);
  /* the same in learn mode (an existing index must hold the embedding) */
  {
    GstBus *bus;
    GstHarness *h = new_harness (&bus);
    g_object_set (h->element, "mode", 1, "label", "a", "location", bad, NULL);
    gst_harness_set_src_caps_str (h, AUDIO_CAPS);
    fail_if (gst_harness_push (h, gst_buffer_new_and_alloc (400)) ==
        GST_FLOW_OK);
    err = bus_error_text (bus);
    fail_unless (err && strstr (err, "Damaged index") && strstr (err,
            "not a musa index"), "%s", err);
    g_free (err);
    gst_harness_teardown (h);
    gst_object_unref (bus);
  }
  /* missing */
  err = tag_error_with_index ("/nonexistent/dir/x.knn");
  fail_unless (err && strstr (err, "Could not use the index")
      && strstr (err, "cannot open"), "%s", err);
  g_free (err);
  g_free (data);
  g_free (index);
  g_free (bad);
}

GST_END_TEST;

/* Learn mode with an index that cannot be written (its directory does not
 * exist): the error must come at negotiation, naming the property, not at
 * EOS after the whole stream was analysed (it did: "Could not write the
 * index" only when the stream ended). */
GST_START_TEST (test_learn_unwritable)
{
  gchar *dir = tmp_path ("no-such-dir");
  gchar *index = tmp_path ("no-such-dir/x.knn");
  GstBus *bus;
  GstHarness *h = new_harness (&bus);
  gchar *err;

  g_object_set (h->element, "mode", 1, "label", "a", "location", index, NULL);
  gst_harness_set_src_caps_str (h, AUDIO_CAPS);
  fail_if (gst_harness_push (h, gst_buffer_new_and_alloc (400)) == GST_FLOW_OK);
  err = bus_error_text (bus);
  fail_unless (err && strstr (err, "'location'") && strstr (err, index),
      "%s", err);
  fail_if (g_file_test (dir, G_FILE_TEST_EXISTS));
  g_free (err);
  gst_harness_teardown (h);
  gst_object_unref (bus);
  g_free (index);
  g_free (dir);
}

GST_END_TEST;

/* Tensors in a BYTES segment (appsrc's default format): the votes' times
 * were converted with a TIME segment function (GStreamer CRITICALs
 * "gst_segment_to_stream_time: assertion 'segment->format == format'" at
 * every vote); their stream and running times are now NONE. */
GST_START_TEST (test_tensor_bytes_segment)
{
  gchar *index = tmp_path ("bytes.knn");
  GstBus *bus;
  GstHarness *h;
  GstSegment seg;
  GList *msgs, *l;

  g_unlink (index);
  learn_vectors (index, "x", 0);
  h = new_harness (&bus);
  g_object_set (h->element, "location", index, "embedding", "clap-test", NULL);
  gst_harness_set_src_caps_str (h, TENSOR_CAPS4);
  gst_segment_init (&seg, GST_FORMAT_BYTES);
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&seg)));
  fail_unless_equals_int (push_vector (h, 0.9f, 0.1f, 0.2f, 0.0f, 0),
      GST_FLOW_OK);
  fail_unless_equals_int (push_vector (h, 0.8f, 0.0f, 0.2f, 0.0f,
          GST_SECOND), GST_FLOW_OK);
  gst_harness_push_event (h, gst_event_new_eos ());
  msgs = knntag_messages (bus);
  fail_unless_equals_int (g_list_length (msgs), 3);
  for (l = msgs; l; l = l->next) {
    GstClockTime st = 0, rt = 0;
    fail_unless (gst_structure_get (l->data, "stream-time", G_TYPE_UINT64,
            &st, "running-time", G_TYPE_UINT64, &rt, NULL));
    fail_if (GST_CLOCK_TIME_IS_VALID (st));
    fail_if (GST_CLOCK_TIME_IS_VALID (rt));
  }
  g_list_free_full (msgs, (GDestroyNotify) gst_structure_free);
  gst_harness_teardown (h);
  gst_object_unref (bus);
  g_free (index);
}

GST_END_TEST;

/* "dimensions=4" in a caps string (gst-launch, appsrc caps) is an int, not
 * the string NNStreamer writes: it was refused as "Unsupported
 * other/tensors caps". */
GST_START_TEST (test_tensor_int_dimensions)
{
  gchar *index = tmp_path ("intdims.knn");
  GstBus *bus;
  GstHarness *h;
  GList *msgs;

  g_unlink (index);
  learn_vectors (index, "x", 0);
  h = new_harness (&bus);
  g_object_set (h->element, "location", index, "embedding", "clap-test", NULL);
  gst_harness_set_src_caps_str (h, "other/tensors, num_tensors = (int) 1, "
      "format = (string) static, types = (string) float32, "
      "dimensions = (int) 4, framerate = (fraction) 0/1");
  fail_unless_equals_int (push_vector (h, 0.9f, 0.1f, 0.2f, 0.0f, 0),
      GST_FLOW_OK);
  gst_harness_push_event (h, gst_event_new_eos ());
  msgs = knntag_messages (bus);
  fail_unless_equals_string (final_label (msgs, NULL), "x");
  g_list_free_full (msgs, (GDestroyNotify) gst_structure_free);
  gst_harness_teardown (h);
  gst_object_unref (bus);
  g_free (index);
}

GST_END_TEST;

/* Tensor input whose caps change mid-stream but not the tensor (another
 * framerate): the stream goes on (the index was reopened and the vectors
 * learnt so far dropped: 2 of 5 items stored). */
GST_START_TEST (test_tensor_caps_change)
{
  gchar *index = tmp_path ("tensorcaps.knn");
  GstBus *bus;
  GstHarness *h;
  GstCaps *caps;
  MusaIndex *idx;
  gint i;

  g_unlink (index);
  h = new_harness (&bus);
  g_object_set (h->element, "mode", 1, "label", "x", "location", index,
      "embedding", "clap-test", NULL);
  gst_harness_set_src_caps_str (h, TENSOR_CAPS4);
  for (i = 0; i < 3; i++)
    fail_unless_equals_int (push_vector (h, 1.0f, 0.1f * i, 0.2f, 0.0f,
            i * GST_SECOND), GST_FLOW_OK);
  caps = gst_caps_from_string ("other/tensors, num_tensors = (int) 1, "
      "format = (string) static, types = (string) float32, "
      "dimensions = (string) 4, framerate = (fraction) 1/1");
  fail_unless (gst_harness_push_event (h, gst_event_new_caps (caps)));
  gst_caps_unref (caps);
  for (i = 3; i < 5; i++)
    fail_unless_equals_int (push_vector (h, 1.0f, 0.1f * i, 0.2f, 0.0f,
            i * GST_SECOND), GST_FLOW_OK);
  gst_harness_push_event (h, gst_event_new_eos ());
  gst_harness_teardown (h);
  gst_object_unref (bus);
  idx = musa_index_load (index, NULL);
  fail_unless (idx != NULL);
  fail_unless_equals_int (musa_index_n_items (idx), 5);
  musa_index_free (idx);
  g_free (index);
}

GST_END_TEST;

#define LEARNERS 4
#define LEARNER_RUNS 10

typedef struct
{
  const gchar *index;
  gint id;
  gint failures;
} Learner;

/* LEARNER_RUNS streams of 3 vectors, each with its own title, learnt one
 * after another into the shared index (no check macros outside the test's
 * thread: failures are counted). */
static gpointer
learner (gpointer data)
{
  Learner *l = data;
  gint run, i;

  for (run = 0; run < LEARNER_RUNS; run++) {
    GstBus *bus;
    GstHarness *h = new_harness (&bus);
    gchar *title = g_strdup_printf ("t%d-%d", l->id, run);
    gchar *err;

    g_object_set (h->element, "mode", 1, "label", "x", "location", l->index,
        "embedding", "clap-test", NULL);
    gst_harness_set_src_caps_str (h, TENSOR_CAPS4);
    gst_harness_push_event (h, gst_event_new_tag (gst_tag_list_new
            (GST_TAG_TITLE, title, NULL)));
    for (i = 0; i < 3; i++)
      if (push_vector (h, 0.1f * l->id, 0.01f * run, 0.2f, 1.0f + i,
              i * GST_SECOND) != GST_FLOW_OK)
        g_atomic_int_inc (&l->failures);
    gst_harness_push_event (h, gst_event_new_eos ());
    if ((err = bus_error_text (bus)) != NULL) {
      g_printerr ("%s: %s\n", title, err);
      g_atomic_int_inc (&l->failures);
      g_free (err);
    }
    gst_harness_teardown (h);
    gst_object_unref (bus);
    g_free (title);
  }
  return NULL;
}

/* Pipelines learning into one index at the same time: each stores its items
 * after reloading the index, but another one could save between its load
 * and its save, and those items were lost (6 gst-launch learners at once
 * left 25 of 30 items). Writers now hold a lock from load to save. */
GST_START_TEST (test_concurrent_learn)
{
  gchar *index = tmp_path ("concurrent.knn");
  GThread *threads[LEARNERS];
  Learner learners[LEARNERS];
  MusaIndex *idx;
  gint t;

  g_unlink (index);
  learn_vectors (index, "x", 0);
  for (t = 0; t < LEARNERS; t++) {
    learners[t].index = index;
    learners[t].id = t;
    learners[t].failures = 0;
    threads[t] = g_thread_new ("learner", learner, &learners[t]);
  }
  for (t = 0; t < LEARNERS; t++) {
    g_thread_join (threads[t]);
    fail_unless_equals_int (learners[t].failures, 0);
  }
  idx = musa_index_load (index, NULL);
  fail_unless (idx != NULL);
  fail_unless_equals_int (musa_index_n_items (idx),
      3 + LEARNERS * LEARNER_RUNS * 3);
  musa_index_free (idx);
  g_free (index);
}

GST_END_TEST;

static GList *
tag_run (const gchar * index, const gfloat * x, gsize n, gsize chunk)
{
  GstBus *bus;
  GstHarness *h = new_harness (&bus);
  GList *msgs;

  g_object_set (h->element, "location", index, "window", 3.0, "interval",
      700 * GST_MSECOND, "weighting", 1, NULL);
  gst_harness_set_src_caps_str (h, AUDIO_CAPS);
  fail_unless_equals_int (push_audio (h, x, n, chunk, TRUE), GST_FLOW_OK);
  msgs = knntag_messages (bus);
  gst_harness_teardown (h);
  gst_object_unref (bus);
  return msgs;
}

GST_START_TEST (test_chunk_invariance)
{
  gchar *index = tmp_path ("chunks.knn");
  gsize n;
  gfloat *x;
  GList *a, *b, *la, *lb;

  g_unlink (index);
  learn_audio (index, "a", FALSE, 1);
  learn_audio (index, "b", TRUE, 2);
  x = music (8.0, FALSE, 9, &n);
  a = tag_run (index, x, n, 4096);
  b = tag_run (index, x, n, 0);
  fail_unless (g_list_length (a) >= 12);
  fail_unless_equals_int (g_list_length (a), g_list_length (b));
  for (la = a, lb = b; la && lb; la = la->next, lb = lb->next) {
    gchar *sa = gst_structure_to_string (la->data);
    gchar *sb = gst_structure_to_string (lb->data);
    fail_unless_equals_string (sa, sb);
    g_free (sa);
    g_free (sb);
  }
  g_list_free_full (a, (GDestroyNotify) gst_structure_free);
  g_list_free_full (b, (GDestroyNotify) gst_structure_free);
  g_free (x);
  g_free (index);
}

GST_END_TEST;

GST_START_TEST (test_states)
{
  gchar *index = tmp_path ("states.knn");
  GstElement *e;
  GstState states[] = { GST_STATE_READY, GST_STATE_PAUSED, GST_STATE_PLAYING,
    GST_STATE_PAUSED, GST_STATE_READY, GST_STATE_NULL, GST_STATE_PLAYING,
    GST_STATE_NULL
  };
  guint i;

  g_unlink (index);
  learn_audio (index, "a", FALSE, 1);
  e = gst_element_factory_make ("knntag", NULL);
  g_object_set (e, "location", index, NULL);
  for (i = 0; i < G_N_ELEMENTS (states); i++)
    fail_unless (gst_element_set_state (e, states[i]) !=
        GST_STATE_CHANGE_FAILURE);
  gst_object_unref (e);
  g_free (index);
}

GST_END_TEST;

GST_START_TEST (test_bad_input)
{
  gchar *index = tmp_path ("badinput.knn"), *err;
  GstBus *bus;
  GstHarness *h;
  GList *msgs, *l;
  gfloat x[2000];
  gboolean uncertain = FALSE;
  guint i;

  g_unlink (index);
  learn_audio (index, "a", FALSE, 1);
  learn_audio (index, "b", TRUE, 2);

  /* no location */
  h = new_harness (&bus);
  gst_harness_set_src_caps_str (h, AUDIO_CAPS);
  fail_if (gst_harness_push (h, gst_buffer_new_and_alloc (400)) == GST_FLOW_OK);
  err = bus_error_text (bus);
  fail_unless (err && strstr (err, "'location'"), "%s", err);
  g_free (err);
  gst_harness_teardown (h);
  gst_object_unref (bus);

  /* learn without labels */
  h = new_harness (&bus);
  g_object_set (h->element, "mode", 1, "location", index, NULL);
  gst_harness_set_src_caps_str (h, AUDIO_CAPS);
  fail_if (gst_harness_push (h, gst_buffer_new_and_alloc (400)) == GST_FLOW_OK);
  err = bus_error_text (bus);
  fail_unless (err && strstr (err, "'label'"), "%s", err);
  g_free (err);
  gst_harness_teardown (h);
  gst_object_unref (bus);

  /* NaN, Inf and a tiny stream: a warning, finite values, uncertain */
  for (i = 0; i < G_N_ELEMENTS (x); i++)
    x[i] = (i % 7 == 0) ? NAN : (i % 11 == 0 ? INFINITY : 0.1f);
  h = new_harness (&bus);
  g_object_set (h->element, "location", index, NULL);
  gst_harness_set_src_caps_str (h, AUDIO_CAPS);
  fail_unless_equals_int (push_audio (h, x, G_N_ELEMENTS (x), 500, TRUE),
      GST_FLOW_OK);
  fail_unless (pop_warning (bus));
  msgs = knntag_messages (bus);
  fail_unless (final_label (msgs, &uncertain) != NULL);
  fail_unless (uncertain);
  for (l = msgs; l; l = l->next) {
    gdouble score;
    fail_unless (gst_structure_get_double (l->data, "score", &score));
    fail_unless (isfinite (score));
  }
  g_list_free_full (msgs, (GDestroyNotify) gst_structure_free);
  gst_harness_teardown (h);
  gst_object_unref (bus);

  /* audio far beyond full scale (F32 samples of 1e20 overflow the
   * embedding): a warning, not silence, when tagging and learning (the
   * snippets got no vote and were not added, with a debug line only) */
  for (i = 0; i < 2; i++) {
    gsize n;
    gfloat *y = music (6.0, FALSE, 3, &n);
    gchar *learned = tmp_path ("loud.knn");
    guint j;
    for (j = 0; j < n; j++)
      y[j] *= 1e20f;
    h = new_harness (&bus);
    g_object_set (h->element, "location", i ? learned : index, "window", 5.0,
        NULL);
    if (i)
      g_object_set (h->element, "mode", 1, "label", "loud", NULL);
    gst_harness_set_src_caps_str (h, AUDIO_CAPS);
    fail_unless_equals_int (push_audio (h, y, n, 4096, TRUE), GST_FLOW_OK);
    fail_unless (pop_warning (bus), "no warning (%s)", i ? "learn" : "tag");
    fail_unless (bus_error_text (bus) == NULL);
    /* nothing learnt: no index written */
    fail_if (i && g_file_test (learned, G_FILE_TEST_EXISTS));
    gst_harness_teardown (h);
    gst_object_unref (bus);
    g_unlink (learned);
    g_free (learned);
    g_free (y);
  }

  /* odd formats: 8 kHz, 8 channels S16; 192 kHz stereo; silence */
  {
    const gchar *caps[] = {
      "audio/x-raw, format = (string) S16LE, rate = (int) 8000, "
          "channels = (int) 8, channel-mask = (bitmask) 0x0, "
          "layout = (string) interleaved",
      "audio/x-raw, format = (string) F64LE, rate = (int) 192000, "
          "channels = (int) 2, layout = (string) interleaved"
    };
    for (i = 0; i < G_N_ELEMENTS (caps); i++) {
      GstBuffer *buf = gst_buffer_new_and_alloc (64000);
      gst_buffer_memset (buf, 0, 0, 64000);
      h = new_harness (&bus);
      g_object_set (h->element, "location", index, NULL);
      gst_harness_set_src_caps_str (h, caps[i]);
      fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
      gst_harness_push_event (h, gst_event_new_eos ());
      msgs = knntag_messages (bus);
      fail_unless (final_label (msgs, NULL) != NULL);
      fail_unless (bus_error_text (bus) == NULL);
      g_list_free_full (msgs, (GDestroyNotify) gst_structure_free);
      gst_harness_teardown (h);
      gst_object_unref (bus);
    }
  }
  g_free (index);
}

GST_END_TEST;

/* A rebuilt index moved over the one a tagger uses (as musa-index and learn
 * mode write it) is used from a following vote, loaded in the background,
 * with a knntag-index message; the whole-stream vote keeps the labels both
 * indexes have and drops the others. A damaged file moved over it later
 * gives one warning, and tagging goes on with the index in use. With
 * reload-interval=0 the index in use stays. */
GST_START_TEST (test_reload_replaced_index)
{
  gchar *index = tmp_path ("reload.knn"), *other = tmp_path ("reload2.knn");
  gint pass;

  for (pass = 0; pass < 2; pass++) {
    GstBus *bus;
    GstHarness *h;
    GstMessage *m;
    gboolean reloaded = FALSE, warned = FALSE;
    const gchar *last = NULL;
    gchar *last_copy = NULL, *final = NULL;
    gint64 until;
    gint i = 0;

    g_unlink (index);
    g_unlink (other);
    learn_vectors (index, "alpha", 0);
    learn_vectors (other, "beta", 0);
    h = new_harness (&bus);
    g_object_set (h->element, "location", index, "embedding", "clap-test",
        "k", 3, "reload-interval", pass ? 0.0 : 0.02, NULL);
    gst_harness_set_src_caps_str (h, TENSOR_CAPS4);
    fail_unless_equals_int (push_vector (h, 0.9f, 0.1f, 0.2f, 0.0f, 0),
        GST_FLOW_OK);
    fail_unless (g_rename (other, index) == 0);
    /* votes until the new index answers (at most 5 s) */
    until = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
    while (g_get_monotonic_time () < until
        && g_strcmp0 (last_copy, "beta") != 0) {
      g_usleep (20000);
      i++;
      fail_unless_equals_int (push_vector (h, 0.9f, 0.1f, 0.2f, 0.0f,
              i * GST_SECOND), GST_FLOW_OK);
      while ((m = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
        const GstStructure *st = gst_message_get_structure (m);
        if (gst_structure_has_name (st, "knntag-index"))
          reloaded = TRUE;
        else if (gst_structure_has_name (st, "knntag")) {
          last = gst_structure_get_string (st, "label");
          g_free (last_copy);
          last_copy = g_strdup (last);
        }
        gst_message_unref (m);
      }
      if (pass && i >= 20)
        break;
    }
    if (pass == 0) {
      gchar *junk = tmp_path ("reload-junk.knn");

      fail_unless (reloaded, "no knntag-index message");
      fail_unless_equals_string (last_copy, "beta");
      /* a damaged file: one warning, still tagging with "beta" */
      fail_unless (g_file_set_contents (junk, "not an index", -1, NULL));
      fail_unless (g_rename (junk, index) == 0);
      until = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
      while (g_get_monotonic_time () < until && !warned) {
        g_usleep (20000);
        i++;
        fail_unless_equals_int (push_vector (h, 0.9f, 0.1f, 0.2f, 0.0f,
                i * GST_SECOND), GST_FLOW_OK);
        warned = pop_warning (bus);
      }
      fail_unless (warned, "no warning for a damaged replacement");
      g_free (junk);
    } else {
      fail_if (reloaded, "reloaded with reload-interval=0");
      fail_unless_equals_string (last_copy, "alpha");
    }
    gst_harness_push_event (h, gst_event_new_eos ());
    {
      GList *msgs = knntag_messages (bus);
      final = g_strdup (final_label (msgs, NULL));
      g_list_free_full (msgs, (GDestroyNotify) gst_structure_free);
    }
    /* the whole-stream vote: alpha's votes are dropped with the index that
     * had it (pass 0), kept without reloading (pass 1) */
    fail_unless_equals_string (final, pass ? "alpha" : "beta");
    fail_unless (bus_error_text (bus) == NULL);
    g_free (final);
    g_free (last_copy);
    gst_harness_teardown (h);
    gst_object_unref (bus);
  }
  g_unlink (index);
  g_free (index);
  g_free (other);
}

GST_END_TEST;

static Suite *
knntag_suite (void)
{
  Suite *s = suite_create ("knntag");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 120);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_learn_then_tag);
  tcase_add_test (tc, test_no_tags_when_uncertain);
  tcase_add_test (tc, test_start_checks_index);
  tcase_add_test (tc, test_start_needs_location_and_label);
  tcase_add_test (tc, test_index_read_at_start);
  tcase_add_test (tc, test_passthrough);
  tcase_add_test (tc, test_tensor_input);
  tcase_add_test (tc, test_tensor_stream_change);
  tcase_add_test (tc, test_tensor_tiny_values);
  tcase_add_test (tc, test_mismatch);
  tcase_add_test (tc, test_corrupt_index);
  tcase_add_test (tc, test_learn_unwritable);
  tcase_add_test (tc, test_concurrent_learn);
  tcase_add_test (tc, test_tensor_bytes_segment);
  tcase_add_test (tc, test_tensor_int_dimensions);
  tcase_add_test (tc, test_tensor_caps_change);
  tcase_add_test (tc, test_chunk_invariance);
  tcase_add_test (tc, test_states);
  tcase_add_test (tc, test_bad_input);
  tcase_add_test (tc, test_reload_replaced_index);
  return s;
}

int
main (int argc, char **argv)
{
  Suite *s;
  int ret;
  gchar *cmd;

  gst_check_init (&argc, &argv);
  tmpdir = g_dir_make_tmp ("musa-knntag-XXXXXX", NULL);
  s = knntag_suite ();
  ret = gst_check_run_suite (s, "knntag", __FILE__);
  cmd = g_strdup_printf ("rm -rf '%s'", tmpdir);
  if (system (cmd) != 0)
    ret = 1;
  g_free (cmd);
  g_free (tmpdir);
  return ret;
}
