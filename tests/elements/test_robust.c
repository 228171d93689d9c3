/* Robustness of the analysis elements (melspec, chromakey, onsetbpm, knntag)
 * against unusual but legal streams: EOS right after the caps, interval
 * changes while playing, GAP events. GstCheck fails a test on any CRITICAL
 * or WARNING logged by GLib. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/tag/tag.h>

#include "knn/index.h"

#define RATE 22050
#define AUDIO_CAPS "audio/x-raw, format = (string) F32LE, rate = (int) 22050, " \
    "channels = (int) 1, layout = (string) interleaved"

static gchar *tmpdir;
static gchar *index_path;

static const gchar *analysis_elements[] = {
  "melspec", "chromakey", "onsetbpm", "knntag",
};

/* A deterministic signal: a 440 Hz tone with clicks every 0.5 s. */
static GstBuffer *
tone_buffer (guint64 first, gsize n)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, n * sizeof (gfloat), NULL);
  GstMapInfo map;
  gsize i;

  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  for (i = 0; i < n; i++) {
    guint64 k = first + i;
    gfloat v = (gfloat) (0.3 * sin (2 * G_PI * 440.0 * k / RATE));
    if (k % (RATE / 2) < 64)
      v += 0.5f;
    ((gfloat *) map.data)[i] = v;
  }
  gst_buffer_unmap (buf, &map);
  GST_BUFFER_PTS (buf) = gst_util_uint64_scale_int (first, GST_SECOND, RATE);
  GST_BUFFER_DURATION (buf) = gst_util_uint64_scale_int (first + n,
      GST_SECOND, RATE) - GST_BUFFER_PTS (buf);
  return buf;
}

/* A harness around @factory (knntag tags with the index of the fixture),
 * with its own bus. */
static GstHarness *
new_harness (const gchar * factory, GstBus ** bus)
{
  GstHarness *h = gst_harness_new (factory);

  if (g_str_equal (factory, "knntag"))
    g_object_set (h->element, "location", index_path, "window", 2.0, NULL);
  *bus = gst_bus_new ();
  gst_element_set_bus (h->element, *bus);
  return h;
}

static void
free_harness (GstHarness * h, GstBus * bus)
{
  gst_element_set_bus (h->element, NULL);
  gst_harness_teardown (h);
  gst_object_unref (bus);
}

/* The element messages named @name on @bus, in order (structure copies). */
static GList *
messages (GstBus * bus, const gchar * name)
{
  GList *l = NULL;
  GstMessage *m;

  while ((m =
          gst_bus_pop_filtered (bus,
              GST_MESSAGE_ELEMENT | GST_MESSAGE_ERROR))) {
    const GstStructure *s = gst_message_get_structure (m);
    fail_if (GST_MESSAGE_TYPE (m) == GST_MESSAGE_ERROR, "error from %s", name);
    if (gst_structure_has_name (s, name))
      l = g_list_append (l, gst_structure_copy (s));
    gst_message_unref (m);
  }
  return l;
}

static void
push_audio (GstHarness * h, guint64 * pos, gsize n, gsize chunk)
{
  gsize done;

  for (done = 0; done < n; done += chunk) {
    gsize len = MIN (chunk, n - done);
    fail_unless_equals_int (gst_harness_push (h, tone_buffer (*pos, len)),
        GST_FLOW_OK);
    *pos += len;
    gst_buffer_unref (gst_harness_pull (h));
  }
}

/* EOS right after STREAM_START and CAPS, before any segment: the final
 * results of an empty stream must not convert times with an undefined
 * segment (that logged CRITICALs in melspec and onsetbpm), and they come
 * (chromakey and knntag posted nothing for an empty stream). */
/* Settings the analysis refuses at the caps give one element error per
 * run: basetransform offers the same caps again after a refusal, and each
 * offer posted it again (5-8 errors per run in gst-launch). */
GST_START_TEST (test_setup_error_once)
{
  const gchar *bad[] = {
    "melspec fmin=3000 fmax=2000",
    "chromakey fmin=3000 fmax=3500",
    "onsetbpm min-bpm=200 max-bpm=100",
    "knntag location=/nonexistent-dir/none.knn",
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (bad); i++) {
    gchar *desc = g_strdup_printf ("audiotestsrc num-buffers=20 ! %s name=e "
        "! fakesink", bad[i]);
    GstElement *pipe = gst_parse_launch (desc, NULL);
    GstBus *bus = gst_element_get_bus (pipe);
    GstElement *e = gst_bin_get_by_name (GST_BIN (pipe), "e");
    GstMessage *m;
    guint errors = 0;

    fail_unless (pipe != NULL, "%s", desc);
    /* as gst-launch: PAUSED (preroll), the first error, then whatever the
     * run posts until it stops */
    gst_element_set_state (pipe, GST_STATE_PAUSED);
    m = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND, GST_MESSAGE_ERROR);
    fail_unless (m != NULL, "%s: no error", bad[i]);
    fail_unless (GST_MESSAGE_SRC (m) == GST_OBJECT (e), "%s: error from %s",
        bad[i], GST_MESSAGE_SRC_NAME (m));
    gst_message_unref (m);
    errors = 1;
    g_usleep (G_USEC_PER_SEC / 5);
    /* (READY: at NULL the bus flushes what the shutdown posted) */
    gst_element_set_state (pipe, GST_STATE_READY);
    while ((m = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR))) {
      errors += GST_MESSAGE_SRC (m) == GST_OBJECT (e);
      gst_message_unref (m);
    }
    gst_element_set_state (pipe, GST_STATE_NULL);
    fail_unless_equals_int (errors, 1);
    gst_object_unref (e);
    gst_object_unref (bus);
    gst_object_unref (pipe);
    g_free (desc);
  }
}

GST_END_TEST;

GST_START_TEST (test_eos_without_segment)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (analysis_elements); i++) {
    GstBus *bus;
    GstHarness *h = new_harness (analysis_elements[i], &bus);
    GstCaps *caps = gst_caps_from_string (AUDIO_CAPS);
    GList *msgs, *l;

    gst_harness_play (h);
    fail_unless (gst_harness_push_event (h,
            gst_event_new_stream_start ("robust")));
    fail_unless (gst_harness_push_event (h, gst_event_new_caps (caps)));
    fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
    msgs = messages (bus, analysis_elements[i]);
    /* a final message all the same (chromakey and knntag posted none) */
    fail_unless (msgs != NULL, "%s: no message", analysis_elements[i]);
    for (l = msgs; l; l = l->next) {
      GstClockTime st = 0, rt = 0;
      gboolean final = FALSE;
      fail_unless (gst_structure_get (l->data, "stream-time", G_TYPE_UINT64,
              &st, "running-time", G_TYPE_UINT64, &rt, NULL));
      fail_if (GST_CLOCK_TIME_IS_VALID (st));
      fail_if (GST_CLOCK_TIME_IS_VALID (rt));
      if (!g_str_equal (analysis_elements[i], "melspec"))
        fail_unless (gst_structure_get_boolean (l->data, "final", &final)
            && final, "%s: not a final message", analysis_elements[i]);
    }
    g_list_free_full (msgs, (GDestroyNotify) gst_structure_free);
    gst_caps_unref (caps);
    free_harness (h, bus);
  }
}

GST_END_TEST;

/* `interval` is mutable while playing: changing it mid-stream must keep the
 * periodic messages contiguous and in order (it computed the boundaries
 * after the change from the stream start with the new interval: melspec and
 * onsetbpm posted messages going back in time, knntag a message every
 * sample, chromakey one per buffer). */
/* A property marked changeable only in NULL or READY, set once the
 * analysis is built, is not used until it is built again: a warning names
 * it (melspec's n-mels set while playing was read back as 40 while the
 * messages kept 128 bands, without a word). Set before the caps (a harness
 * starts the element first), or a property changeable while playing
 * (`interval`): no warning. */
GST_START_TEST (test_setting_while_streaming)
{
  static const gchar *props[] = { "n-mels", "fmin", "min-bpm", "k" };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (analysis_elements); i++) {
    const gchar *name = analysis_elements[i];
    GstBus *bus;
    GstHarness *h = new_harness (name, &bus);
    GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS
        (h->element), props[i]);
    GValue v = G_VALUE_INIT;
    guint64 pos = 0;
    GstMessage *m;
    GError *err = NULL;

    fail_unless (pspec != NULL && (pspec->flags & GST_PARAM_MUTABLE_READY));
    g_value_init (&v, pspec->value_type);
    g_object_get_property (G_OBJECT (h->element), props[i], &v);
    /* before the caps: used, no warning */
    g_object_set_property (G_OBJECT (h->element), props[i], &v);
    gst_harness_set_src_caps_str (h, AUDIO_CAPS);
    push_audio (h, &pos, RATE, 1024);
    fail_unless (gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING) == NULL,
        "%s: a warning before the analysis was built", name);
    g_object_set (h->element, "interval", 200 * GST_MSECOND, NULL);
    fail_unless (gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING) == NULL,
        "%s: a warning for interval", name);
    g_object_set_property (G_OBJECT (h->element), props[i], &v);
    m = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
    fail_unless (m != NULL, "%s: no warning for %s", name, props[i]);
    gst_message_parse_warning (m, &err, NULL);
    fail_unless (strstr (err->message, props[i]) != NULL, "%s: %s", name,
        err->message);
    g_error_free (err);
    gst_message_unref (m);
    g_value_unset (&v);
    free_harness (h, bus);
  }
}

GST_END_TEST;

GST_START_TEST (test_interval_change_while_playing)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (analysis_elements); i++) {
    const gchar *name = analysis_elements[i];
    GstBus *bus;
    GstHarness *h = new_harness (name, &bus);
    guint64 pos = 0;
    GstClockTime total, prev_end = 0, next_ts = 0;
    GList *msgs, *l;
    guint periodic = 0;

    gst_harness_set_src_caps_str (h, AUDIO_CAPS);
    push_audio (h, &pos, RATE * 7 / 2, 1024);
    g_object_set (h->element, "interval", 100 * GST_MSECOND, NULL);
    push_audio (h, &pos, RATE * 2, 1024);
    fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
    total = gst_util_uint64_scale_int (pos, GST_SECOND, RATE);

    msgs = messages (bus, name);
    for (l = msgs; l; l = l->next) {
      GstClockTime ts, dur;
      gboolean final = FALSE;

      fail_unless (gst_structure_get (l->data, "timestamp", G_TYPE_UINT64,
              &ts, "duration", G_TYPE_UINT64, &dur, NULL));
      gst_structure_get_boolean (l->data, "final", &final);
      if (final)
        continue;
      periodic++;
      /* every periodic message ends later than the one before, within the
       * audio pushed */
      fail_unless (ts + dur > prev_end, "%s: message %u ends at %"
          GST_TIME_FORMAT " after one ending at %" GST_TIME_FORMAT, name,
          periodic, GST_TIME_ARGS (ts + dur), GST_TIME_ARGS (prev_end));
      fail_unless (ts + dur <= total + GST_MSECOND, "%s: ends after the "
          "audio", name);
      /* chromakey's periodic messages describe the stream so far (window
       * 0); the others are contiguous spans */
      if (!g_str_equal (name, "chromakey")) {
        fail_unless_equals_uint64 (ts, next_ts);
        next_ts = ts + dur;
      }
      prev_end = ts + dur;
    }
    /* 1 s intervals up to 4 s, then 100 ms ones up to 5.5 s (melspec: the
     * partial last one at EOS) */
    fail_unless (periodic >= 4 + 14 && periodic <= 4 + 16,
        "%s: %u periodic messages", name, periodic);
    g_list_free_full (msgs, (GDestroyNotify) gst_structure_free);
    free_harness (h, bus);
  }
}

GST_END_TEST;

/* What an element posted since the last look: the end of its latest
 * periodic message (melspec's, onsetbpm's and knntag's must follow one
 * another from 0 without a gap; chromakey's describe the stream so far), the end
 * of its final message and how many final ones there were. */
typedef struct
{
  GstClockTime end, final_ts, final_end;
  guint finals, n;
} Results;

/* ... with periodic messages from @start */
static Results
results_from (GstBus * bus, const gchar * name, GstClockTime start)
{
  Results r = { 0, 0, 0, 0, 0 };
  GstClockTime next_ts = start;
  GList *msgs = messages (bus, name), *l;

  for (l = msgs; l; l = l->next) {
    GstClockTime ts, dur;
    gboolean final = FALSE;

    r.n++;
    fail_unless (gst_structure_get (l->data, "timestamp", G_TYPE_UINT64,
            &ts, "duration", G_TYPE_UINT64, &dur, NULL));
    gst_structure_get_boolean (l->data, "final", &final);
    if (final) {
      r.finals++;
      r.final_ts = ts;
      r.final_end = ts + dur;
      continue;
    }
    if (!g_str_equal (name, "chromakey")) {
      fail_unless_equals_uint64 (ts, next_ts);
      next_ts = ts + dur;
    }
    r.end = MAX (r.end, ts + dur);
  }
  g_list_free_full (msgs, (GDestroyNotify) gst_structure_free);
  return r;
}

static Results
results (GstBus * bus, const gchar * name)
{
  return results_from (bus, name, 0);
}

/* A GAP event is silence for its duration, like a GAP buffer: the results
 * after it keep the timeline of the buffers (the analysis elements ignored
 * the event, so every result after a gap was early by its duration and the
 * stream's results ended before the stream did). */
GST_START_TEST (test_gap_event)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (analysis_elements); i++) {
    const gchar *name = analysis_elements[i];
    GstBus *bus;
    GstHarness *h = new_harness (name, &bus);
    guint64 pos = 0;
    Results r;

    gst_harness_set_src_caps_str (h, AUDIO_CAPS);
    push_audio (h, &pos, RATE, 1024);
    fail_unless (gst_harness_push_event (h, gst_event_new_gap (GST_SECOND,
                GST_SECOND)));
    pos += RATE;
    push_audio (h, &pos, RATE * 3 / 2, 1024);
    fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));

    r = results (bus, name);
    fail_unless (r.n > 0);
    /* the results cover the 3.5 s of the stream, gap included */
    fail_unless_equals_uint64 (MAX (r.end, r.final_end), 3500 * GST_MSECOND);
    if (!g_str_equal (name, "melspec"))
      fail_unless_equals_uint64 (r.final_end, 3500 * GST_MSECOND);
    free_harness (h, bus);
  }
}

GST_END_TEST;

/* Timestamps that jump ahead without a DISCONT flag or a GAP event (a live
 * source's dropout, a do-timestamp appsrc that got nothing for a while): the
 * missing time is silence, as for a GAP, and the results keep the buffers'
 * timeline (the analysis went on as if the audio were contiguous: every
 * result after a 1 s dropout was 1 s early, and on a radio they drifted
 * further with each dropout). Jitter within 40 ms is not a jump, nor are
 * timestamps behind the samples counted. */
GST_START_TEST (test_timestamp_jump)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (analysis_elements); i++) {
    const gchar *name = analysis_elements[i];
    GstBus *bus;
    GstHarness *h = new_harness (name, &bus);
    guint64 pos = 0;
    GstBuffer *buf;
    Results r;

    gst_harness_set_src_caps_str (h, AUDIO_CAPS);
    push_audio (h, &pos, RATE, 1024);
    /* 1 s missing */
    pos += RATE;
    push_audio (h, &pos, RATE, 1024);
    /* 20 ms late, then 100 ms early (a burst from a do-timestamp appsrc),
     * then back on time: no gap */
    buf = tone_buffer (pos, RATE / 4);
    GST_BUFFER_PTS (buf) += 20 * GST_MSECOND;
    fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
    gst_buffer_unref (gst_harness_pull (h));
    pos += RATE / 4;
    buf = tone_buffer (pos, 1024);
    GST_BUFFER_PTS (buf) -= 100 * GST_MSECOND;
    fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
    gst_buffer_unref (gst_harness_pull (h));
    pos += 1024;
    push_audio (h, &pos, RATE / 2 - RATE / 4 - 1024, 1024);
    fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));

    r = results (bus, name);
    fail_unless (r.n > 0);
    /* the results cover the 3.5 s of the stream, dropout included */
    fail_unless_equals_uint64 (MAX (r.end, r.final_end), 3500 * GST_MSECOND);
    if (!g_str_equal (name, "melspec"))
      fail_unless_equals_uint64 (r.final_end, 3500 * GST_MSECOND);
    free_harness (h, bus);
  }
}

GST_END_TEST;

/* A dropout flagged DISCONT (a leaky queue or a live source's overrun drops
 * buffers and flags the next one; its timestamp is ahead by what was lost)
 * is silence, and the analysis goes on: the results follow one another over
 * it and one final result covers the whole stream. Each such buffer started
 * the analysis afresh and threw away the results since the last interval
 * (under a leaky queue an element posted 1 message for 20 s instead of 20).
 * A DISCONT with no time missing still starts afresh, after the final
 * results of the audio before it. */
GST_START_TEST (test_discont_dropout)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (analysis_elements); i++) {
    const gchar *name = analysis_elements[i];
    GstBus *bus;
    GstHarness *h = new_harness (name, &bus);
    guint64 pos = 0;
    GstBuffer *buf;
    Results r;
    gint k;

    gst_harness_set_src_caps_str (h, AUDIO_CAPS);
    for (k = 0; k < 8; k++) {
      push_audio (h, &pos, RATE / 4, 1024);
      /* 1024 frames lost, the next buffer flagged */
      pos += 1024;
      buf = tone_buffer (pos, 1024);
      GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
      fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
      gst_buffer_unref (gst_harness_pull (h));
      pos += 1024;
    }
    push_audio (h, &pos, RATE * 4 - pos, 1024);
    fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
    r = results (bus, name);
    fail_unless (r.n >= 4, "%s: %u messages", name, r.n);
    fail_unless_equals_uint64 (MAX (r.end, r.final_end), 4 * GST_SECOND);
    if (!g_str_equal (name, "melspec")) {
      fail_unless_equals_int (r.finals, 1);
      fail_unless_equals_uint64 (r.final_ts, 0);
    }
    free_harness (h, bus);

    /* no time missing: final results, then afresh from there */
    h = new_harness (name, &bus);
    gst_harness_set_src_caps_str (h, AUDIO_CAPS);
    pos = 0;
    push_audio (h, &pos, RATE * 2, 1024);
    buf = tone_buffer (pos, 1024);
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
    fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
    gst_buffer_unref (gst_harness_pull (h));
    pos += 1024;
    push_audio (h, &pos, RATE * 4 - pos, 1024);
    fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
    if (!g_str_equal (name, "melspec")) {
      GList *msgs = messages (bus, name), *l;
      guint finals = 0;
      GstClockTime ts = GST_CLOCK_TIME_NONE;

      for (l = msgs; l; l = l->next) {
        gboolean final = FALSE;

        gst_structure_get_boolean (l->data, "final", &final);
        if (final) {
          finals++;
          fail_unless (gst_structure_get_uint64 (l->data, "timestamp", &ts));
        }
      }
      g_list_free_full (msgs, (GDestroyNotify) gst_structure_free);
      fail_unless_equals_int (finals, 2);
      fail_unless_equals_uint64 (ts, 2 * GST_SECOND);
    }
    free_harness (h, bus);
  }
}

GST_END_TEST;

/* Buffers without timestamps (appsrc fed from numpy without PTS, as most
 * such feeders do): the results are timed by the samples counted from the
 * segment's start (every timestamp was NONE, in tensors too). */
GST_START_TEST (test_no_timestamps)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (analysis_elements); i++) {
    const gchar *name = analysis_elements[i];
    GstBus *bus;
    GstHarness *h = new_harness (name, &bus);
    guint64 pos = 0;
    Results r;

    gst_harness_set_src_caps_str (h, AUDIO_CAPS);
    while (pos < 3 * RATE) {
      gsize n = MIN (1000, 3 * RATE - pos);
      GstBuffer *buf = tone_buffer (pos, n);

      GST_BUFFER_PTS (buf) = GST_BUFFER_DURATION (buf) = GST_CLOCK_TIME_NONE;
      fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
      gst_buffer_unref (gst_harness_pull (h));
      pos += n;
    }
    fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
    r = results (bus, name);
    fail_unless (r.n > 0);
    fail_unless_equals_uint64 (MAX (r.end, r.final_end), 3 * GST_SECOND);
    if (!g_str_equal (name, "melspec"))
      fail_unless_equals_uint64 (r.final_ts, 0);
    free_harness (h, bus);
  }
}

GST_END_TEST;

/* A GAP event that overlaps audio already received adds only what lies
 * beyond it: audio to 3 s, a gap at 2.5 s for 1 s, audio from 3.5 s to 5 s
 * (the whole second was added as silence: every later result 0.5 s late,
 * the results ran to 5.5 s). */
GST_START_TEST (test_gap_overlap)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (analysis_elements); i++) {
    const gchar *name = analysis_elements[i];
    GstBus *bus;
    GstHarness *h = new_harness (name, &bus);
    guint64 pos = 0;
    Results r;

    gst_harness_set_src_caps_str (h, AUDIO_CAPS);
    push_audio (h, &pos, RATE * 3, 1050);
    fail_unless (gst_harness_push_event (h,
            gst_event_new_gap (2500 * GST_MSECOND, GST_SECOND)));
    pos = RATE * 7 / 2;
    push_audio (h, &pos, RATE * 3 / 2, 1050);
    fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
    r = results (bus, name);
    fail_unless (r.n > 0);
    fail_unless_equals_uint64 (MAX (r.end, r.final_end), 5 * GST_SECOND);
    free_harness (h, bus);
  }
}

GST_END_TEST;

/* A segment seek ends with SEGMENT_DONE, not EOS: the segment's results
 * must be complete then (they were lost: the partial last interval and the
 * final results never came, and the next segment reset the analysis), and
 * an EOS after it must not repeat the final results. */
GST_START_TEST (test_segment_done)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (analysis_elements); i++) {
    const gchar *name = analysis_elements[i];
    GstBus *bus;
    GstHarness *h = new_harness (name, &bus);
    guint64 pos = 0;
    Results r;

    gst_harness_set_src_caps_str (h, AUDIO_CAPS);
    push_audio (h, &pos, RATE * 7 / 2, 1024);
    fail_unless (gst_harness_push_event (h,
            gst_event_new_segment_done (GST_FORMAT_TIME, 3500 * GST_MSECOND)));

    r = results (bus, name);
    fail_unless (r.n > 0);
    /* the results cover the segment's 3.5 s */
    fail_unless_equals_uint64 (MAX (r.end, r.final_end), 3500 * GST_MSECOND);
    if (!g_str_equal (name, "melspec")) {
      fail_unless_equals_int (r.finals, 1);
      fail_unless_equals_uint64 (r.final_end, 3500 * GST_MSECOND);
    }

    /* EOS next: nothing more to say */
    fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
    r = results (bus, name);
    fail_unless (r.n == 0, "%s: %u messages at EOS after SEGMENT_DONE",
        name, r.n);
    free_harness (h, bus);
  }
}

GST_END_TEST;

/* All the element messages of a run of 3.5 s of audio, as text; with
 * @resend, the segment comes again (a new event, same values) after 2 s. */
static gchar *
run_with_segment_again (const gchar * name, gboolean resend)
{
  GstBus *bus;
  GstHarness *h = new_harness (name, &bus);
  GString *text = g_string_new (NULL);
  guint64 pos = 0;
  GList *msgs, *l;

  gst_harness_set_src_caps_str (h, AUDIO_CAPS);
  push_audio (h, &pos, 2 * RATE, 1024);
  if (resend) {
    GstEvent *seg = gst_pad_get_sticky_event (h->srcpad, GST_EVENT_SEGMENT, 0);
    const GstSegment *s;

    fail_unless (seg != NULL);
    gst_event_parse_segment (seg, &s);
    fail_unless (gst_harness_push_event (h, gst_event_new_segment (s)));
    gst_event_unref (seg);
  }
  push_audio (h, &pos, RATE * 3 / 2, 1024);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  msgs = messages (bus, name);
  for (l = msgs; l; l = l->next) {
    gchar *m = gst_structure_to_string (l->data);
    g_string_append_printf (text, "%s\n", m);
    g_free (m);
  }
  g_list_free_full (msgs, (GDestroyNotify) gst_structure_free);
  free_harness (h, bus);
  return g_string_free (text, FALSE);
}

/* The same segment again mid-stream (sticky events re-sent after a relink
 * through a blocking probe, an element passing an unchanged segment on) is
 * no new segment: the analysis reset there, so the results lost the audio
 * before it (onsetbpm's final tempo and chromakey's final key covered the
 * last 1.5 s only). The results are those of the run without it. */
GST_START_TEST (test_segment_again)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (analysis_elements); i++) {
    gchar *want = run_with_segment_again (analysis_elements[i], FALSE);
    gchar *got = run_with_segment_again (analysis_elements[i], TRUE);

    fail_unless (strlen (want) > 0);
    fail_unless (g_str_equal (got, want), "%s: other results with the "
        "segment again (%" G_GSIZE_FORMAT " bytes of messages, not %"
        G_GSIZE_FORMAT ")", analysis_elements[i], strlen (got), strlen (want));
    g_free (want);
    g_free (got);
  }
}

GST_END_TEST;

/* A new segment without a flush (a non-flushing seek while playing): the
 * audio before it has played and gets its final results there, on its own
 * timeline, as at SEGMENT_DONE (they were dropped: the analysis reset, the
 * partial interval and the final results of the first 3.5 s never came). */
GST_START_TEST (test_segment_without_flush)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (analysis_elements); i++) {
    const gchar *name = analysis_elements[i];
    GstBus *bus;
    GstHarness *h = new_harness (name, &bus);
    GstSegment seg;
    guint64 pos = 0;
    Results r;

    gst_harness_set_src_caps_str (h, AUDIO_CAPS);
    push_audio (h, &pos, RATE * 7 / 2, 1024);
    /* a seek to 10 s without flush: running time goes on from 3.5 s */
    gst_segment_init (&seg, GST_FORMAT_TIME);
    seg.start = seg.time = seg.position = 10 * GST_SECOND;
    seg.base = 3500 * GST_MSECOND;
    fail_unless (gst_harness_push_event (h, gst_event_new_segment (&seg)));
    r = results (bus, name);
    fail_unless (r.n > 0);
    fail_unless_equals_uint64 (MAX (r.end, r.final_end), 3500 * GST_MSECOND);
    if (!g_str_equal (name, "melspec")) {
      fail_unless_equals_int (r.finals, 1);
      fail_unless_equals_uint64 (r.final_ts, 0);
      fail_unless_equals_uint64 (r.final_end, 3500 * GST_MSECOND);
    }

    pos = 10 * RATE;
    push_audio (h, &pos, 2 * RATE, 1024);
    fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
    r = results_from (bus, name, 10 * GST_SECOND);
    fail_unless_equals_uint64 (MAX (r.end, r.final_end), 12 * GST_SECOND);
    if (!g_str_equal (name, "melspec")) {
      fail_unless_equals_int (r.finals, 1);
      fail_unless_equals_uint64 (r.final_ts, 10 * GST_SECOND);
    }
    free_harness (h, bus);
  }
}

GST_END_TEST;

/* Reverse playback (a seek with rate -1): the buffers come last first, each
 * one's samples forwards. The analysis took them as one forward stream:
 * results for audio that never played, their timestamps running on past the
 * segment's stop (stream and running time NONE), a tempo that was not the
 * music's. Now the audio passes untouched and unanalysed, with one warning,
 * and the analysis resumes with the next forward segment. */
GST_START_TEST (test_reverse_playback)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (analysis_elements); i++) {
    const gchar *name = analysis_elements[i];
    GstBus *bus;
    GstHarness *h = new_harness (name, &bus);
    GstSegment seg;
    GstMessage *m;
    gint64 first;
    guint64 pos;
    guint warnings = 0;
    Results r;

    gst_harness_set_src_caps_str (h, AUDIO_CAPS);
    gst_segment_init (&seg, GST_FORMAT_TIME);
    seg.rate = -1.0;
    seg.start = 0;
    seg.stop = 3 * GST_SECOND;
    seg.position = seg.stop;
    fail_unless (gst_harness_push_event (h, gst_event_new_segment (&seg)));
    for (first = 3 * RATE - 1024; first > -1024; first -= 1024) {
      guint64 start = (guint64) MAX (first, 0);
      gsize n = (gsize) (first + 1024 - (gint64) start);
      GstBuffer *in = tone_buffer (start, n), *out;
      GstMapInfo a, b;

      if (first == 3 * RATE - 1024)
        GST_BUFFER_FLAG_SET (in, GST_BUFFER_FLAG_DISCONT);
      fail_unless_equals_int (gst_harness_push (h, gst_buffer_ref (in)),
          GST_FLOW_OK);
      out = gst_harness_pull (h);
      /* the audio passes untouched (melspec in its default mode) */
      gst_buffer_map (in, &a, GST_MAP_READ);
      gst_buffer_map (out, &b, GST_MAP_READ);
      fail_unless (a.size == b.size && memcmp (a.data, b.data, a.size) == 0);
      gst_buffer_unmap (in, &a);
      gst_buffer_unmap (out, &b);
      fail_unless_equals_uint64 (GST_BUFFER_PTS (out), GST_BUFFER_PTS (in));
      gst_buffer_unref (in);
      gst_buffer_unref (out);
    }
    fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));

    /* no result of audio that played backwards, none past the segment;
     * one warning */
    while ((m = gst_bus_pop (bus))) {
      const GstStructure *s = gst_message_get_structure (m);
      GError *err = NULL;
      GstClockTime ts;

      fail_if (GST_MESSAGE_TYPE (m) == GST_MESSAGE_ERROR, "error from %s",
          name);
      if (GST_MESSAGE_TYPE (m) == GST_MESSAGE_WARNING) {
        gst_message_parse_warning (m, &err, NULL);
        fail_unless (strstr (err->message, "Reverse playback") != NULL,
            "%s: %s", name, err->message);
        warnings++;
        g_error_free (err);
      } else if (GST_MESSAGE_TYPE (m) == GST_MESSAGE_ELEMENT
          && gst_structure_has_name (s, name)) {
        fail_unless (gst_structure_get (s, "timestamp", G_TYPE_UINT64, &ts,
                NULL));
        fail_if (GST_CLOCK_TIME_IS_VALID (ts), "%s: a result at %"
            GST_TIME_FORMAT " of audio played backwards", name,
            GST_TIME_ARGS (ts));
      }
      gst_message_unref (m);
    }
    fail_unless_equals_int (warnings, 1);

    /* forwards again (a flushing seek): analysed from the segment's start */
    fail_unless (gst_harness_push_event (h, gst_event_new_flush_start ()));
    fail_unless (gst_harness_push_event (h, gst_event_new_flush_stop (TRUE)));
    gst_segment_init (&seg, GST_FORMAT_TIME);
    seg.start = seg.time = seg.position = GST_SECOND;
    fail_unless (gst_harness_push_event (h, gst_event_new_segment (&seg)));
    pos = RATE;
    push_audio (h, &pos, 2 * RATE, 1024);
    fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
    r = results_from (bus, name, GST_SECOND);
    fail_unless (r.n > 0);
    fail_unless_equals_uint64 (MAX (r.end, r.final_end), 3 * GST_SECOND);
    fail_if (gst_bus_have_pending (bus));
    free_harness (h, bus);
  }
}

GST_END_TEST;

/* Two streams one after the other without EOS between them (concat, gapless
 * playback): the first stream's final results come when the second starts
 * (they were dropped: STREAM_START only reset the analysis), on the first
 * stream's timeline, and the second stream's at EOS. */
GST_START_TEST (test_stream_start_without_eos)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (analysis_elements); i++) {
    const gchar *name = analysis_elements[i];
    GstBus *bus;
    GstHarness *h = new_harness (name, &bus);
    GstCaps *caps = gst_caps_from_string (AUDIO_CAPS);
    GstSegment seg;
    guint64 pos = 0;
    Results r;

    gst_harness_set_src_caps_str (h, AUDIO_CAPS);
    push_audio (h, &pos, RATE * 7 / 2, 1024);
    fail_unless (gst_harness_push_event (h,
            gst_event_new_stream_start ("second")));
    r = results (bus, name);
    /* the first stream's results cover its 3.5 s, one final message */
    fail_unless_equals_uint64 (MAX (r.end, r.final_end), 3500 * GST_MSECOND);
    if (!g_str_equal (name, "melspec")) {
      fail_unless_equals_int (r.finals, 1);
      fail_unless_equals_uint64 (r.final_end, 3500 * GST_MSECOND);
    }

    /* the second stream: its own results, its final one at EOS */
    fail_unless (gst_harness_push_event (h, gst_event_new_caps (caps)));
    gst_segment_init (&seg, GST_FORMAT_TIME);
    fail_unless (gst_harness_push_event (h, gst_event_new_segment (&seg)));
    pos = 0;
    push_audio (h, &pos, RATE * 5 / 2, 1024);
    fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
    r = results (bus, name);
    fail_unless_equals_uint64 (MAX (r.end, r.final_end), 2500 * GST_MSECOND);
    if (!g_str_equal (name, "melspec"))
      fail_unless_equals_int (r.finals, 1);
    gst_caps_unref (caps);
    free_harness (h, bus);
  }
}

GST_END_TEST;

/* The mono test signal on both channels of a stereo buffer. */
static GstBuffer *
stereo_tone_buffer (guint64 first, gsize n)
{
  GstBuffer *mono = tone_buffer (first, n);
  GstBuffer *buf = gst_buffer_new_allocate (NULL, 2 * n * sizeof (gfloat),
      NULL);
  GstMapInfo in, out;
  gsize i;

  gst_buffer_map (mono, &in, GST_MAP_READ);
  gst_buffer_map (buf, &out, GST_MAP_WRITE);
  for (i = 0; i < n; i++) {
    const gfloat *x = (const gfloat *) in.data;
    gfloat *y = (gfloat *) out.data;
    y[2 * i] = y[2 * i + 1] = x[i];
  }
  gst_buffer_unmap (buf, &out);
  gst_buffer_unmap (mono, &in);
  gst_buffer_copy_into (buf, mono, GST_BUFFER_COPY_METADATA, 0, -1);
  gst_buffer_unref (mono);
  return buf;
}

/* New caps mid-stream at the same rate (mono -> stereo, same signal on both
 * channels; no new segment): the mono downmix is the same, so the analysis
 * goes on (it was rebuilt and reset: melspec lost the interval before the
 * change, chromakey's and knntag's whole-stream results covered only the
 * audio after it, knntag's learn mode dropped the snippets before it). */
GST_START_TEST (test_channels_change)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (analysis_elements); i++) {
    const gchar *name = analysis_elements[i];
    GstBus *bus;
    GstHarness *h = new_harness (name, &bus);
    GstCaps *caps = gst_caps_from_string (AUDIO_CAPS);
    guint64 pos = 0;
    Results r;

    gst_harness_set_src_caps_str (h, AUDIO_CAPS);
    push_audio (h, &pos, RATE * 2, 1024);
    gst_caps_set_simple (caps, "channels", G_TYPE_INT, 2, NULL);
    /* the caps alone: the harness would add a new segment */
    fail_unless (gst_harness_push_event (h, gst_event_new_caps (caps)));
    for (; pos < RATE * 7 / 2; pos += 1024) {
      gsize len = MIN (1024, RATE * 7 / 2 - pos);
      fail_unless_equals_int (gst_harness_push (h, stereo_tone_buffer (pos,
                  len)), GST_FLOW_OK);
      gst_buffer_unref (gst_harness_pull (h));
    }
    fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));

    /* contiguous from 0 (checked by results ()) up to 3.5 s */
    r = results (bus, name);
    fail_unless_equals_uint64 (MAX (r.end, r.final_end), 3500 * GST_MSECOND);
    if (!g_str_equal (name, "melspec")) {
      fail_unless_equals_int (r.finals, 1);
      fail_unless_equals_uint64 (r.final_ts, 0);
      fail_unless_equals_uint64 (r.final_end, 3500 * GST_MSECOND);
    }
    gst_caps_unref (caps);
    free_harness (h, bus);
  }
}

GST_END_TEST;

/* @n samples of a 440 Hz tone at @rate from sample @first, timestamped from
 * @start. */
static GstBuffer *
tone_buffer_at (gint rate, GstClockTime start, guint64 first, gsize n)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, n * sizeof (gfloat), NULL);
  GstMapInfo map;
  gsize i;

  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  for (i = 0; i < n; i++)
    ((gfloat *) map.data)[i] =
        (gfloat) (0.3 * sin (2 * G_PI * 440.0 * (first + i) / rate));
  gst_buffer_unmap (buf, &map);
  GST_BUFFER_PTS (buf) = start + gst_util_uint64_scale_int (first,
      GST_SECOND, rate);
  GST_BUFFER_DURATION (buf) = start + gst_util_uint64_scale_int (first + n,
      GST_SECOND, rate) - GST_BUFFER_PTS (buf);
  return buf;
}

static void
push_tone_at (GstHarness * h, gint rate, GstClockTime start, gsize n)
{
  guint64 pos;

  for (pos = 0; pos < n; pos += 1024) {
    fail_unless_equals_int (gst_harness_push (h, tone_buffer_at (rate, start,
                pos, MIN (1024, n - pos))), GST_FLOW_OK);
    gst_buffer_unref (gst_harness_pull (h));
  }
}

/* New caps at another rate mid-stream (no new segment): the analysis is
 * rebuilt for the new rate, so the audio before the change gets its final
 * results then, and the audio after it its own at EOS, on the stream's
 * timeline (the audio before the change was dropped: melspec lost its last
 * interval, chromakey's and knntag's final results covered only the audio
 * after the change, knntag's learn mode stored only its snippets). */
GST_START_TEST (test_rate_change)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (analysis_elements); i++) {
    const gchar *name = analysis_elements[i];
    GstBus *bus;
    GstHarness *h = new_harness (name, &bus);
    GstCaps *caps = gst_caps_from_string (AUDIO_CAPS);
    Results r;

    gst_harness_set_src_caps_str (h, AUDIO_CAPS);
    push_tone_at (h, RATE, 0, RATE * 2);
    gst_caps_set_simple (caps, "rate", G_TYPE_INT, 2 * RATE, NULL);
    /* the caps alone: the harness would add a new segment */
    fail_unless (gst_harness_push_event (h, gst_event_new_caps (caps)));
    r = results (bus, name);
    fail_unless_equals_uint64 (MAX (r.end, r.final_end), 2 * GST_SECOND);
    if (!g_str_equal (name, "melspec")) {
      fail_unless_equals_int (r.finals, 1);
      fail_unless_equals_uint64 (r.final_ts, 0);
    }

    push_tone_at (h, 2 * RATE, 2 * GST_SECOND, RATE * 3);
    fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
    r = results_from (bus, name, 2 * GST_SECOND);
    fail_unless_equals_uint64 (MAX (r.end, r.final_end), 3500 * GST_MSECOND);
    if (!g_str_equal (name, "melspec")) {
      fail_unless_equals_int (r.finals, 1);
      fail_unless_equals_uint64 (r.final_ts, 2 * GST_SECOND);
    }
    gst_caps_unref (caps);
    free_harness (h, bus);
  }
}

GST_END_TEST;

/* knntag mode=learn across a rate change: the snippets of both parts are
 * stored, under the stream's one name (the second part replaced the
 * first's, or the first's were dropped). */
GST_START_TEST (test_rate_change_learn)
{
  gchar *path = g_build_filename (tmpdir, "rate-change.knn", NULL);
  GstHarness *h = gst_harness_new ("knntag");
  GstBus *bus = gst_bus_new ();
  GstCaps *caps = gst_caps_from_string (AUDIO_CAPS);
  GstTagList *tags = gst_tag_list_new (GST_TAG_TITLE, "song", NULL);
  MusaIndex *idx;
  gsize j, song_items = 0;

  gst_element_set_bus (h->element, bus);
  g_object_set (h->element, "mode", 1, "label", "tone", "location", path,
      "window", 1.0, NULL);
  gst_harness_set_src_caps_str (h, AUDIO_CAPS);
  fail_unless (gst_harness_push_event (h, gst_event_new_tag (tags)));
  push_tone_at (h, RATE, 0, RATE * 2);
  gst_caps_set_simple (caps, "rate", G_TYPE_INT, 2 * RATE, NULL);
  fail_unless (gst_harness_push_event (h, gst_event_new_caps (caps)));
  push_tone_at (h, 2 * RATE, 2 * GST_SECOND, RATE * 4);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  free_harness (h, bus);

  /* 2 s + 2 s in 1 s snippets, song#0..3 */
  idx = musa_index_load (path, NULL);
  fail_unless (idx != NULL);
  for (j = 0; j < musa_index_n_items (idx); j++)
    if (g_str_has_prefix (musa_index_item_id (idx, j), "song#"))
      song_items++;
  fail_unless_equals_int (musa_index_n_items (idx), 4);
  fail_unless_equals_int (song_items, 4);
  fail_unless_equals_string (musa_index_item_id (idx, 3), "song#3");
  musa_index_free (idx);
  gst_caps_unref (caps);
  g_free (path);
}

GST_END_TEST;

static Suite *
robust_suite (void)
{
  Suite *s = suite_create ("robust");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 120);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_setup_error_once);
  tcase_add_test (tc, test_eos_without_segment);
  tcase_add_test (tc, test_interval_change_while_playing);
  tcase_add_test (tc, test_setting_while_streaming);
  tcase_add_test (tc, test_gap_event);
  tcase_add_test (tc, test_timestamp_jump);
  tcase_add_test (tc, test_discont_dropout);
  tcase_add_test (tc, test_no_timestamps);
  tcase_add_test (tc, test_gap_overlap);
  tcase_add_test (tc, test_segment_done);
  tcase_add_test (tc, test_reverse_playback);
  tcase_add_test (tc, test_segment_again);
  tcase_add_test (tc, test_segment_without_flush);
  tcase_add_test (tc, test_stream_start_without_eos);
  tcase_add_test (tc, test_channels_change);
  tcase_add_test (tc, test_rate_change);
  tcase_add_test (tc, test_rate_change_learn);
  return s;
}

/* The index knntag tags with: 4 s of the test signal, learnt as "tone". */
static void
make_index (void)
{
  GstBus *bus;
  GstHarness *h = gst_harness_new ("knntag");
  guint64 pos;

  index_path = g_build_filename (tmpdir, "robust.knn", NULL);
  bus = gst_bus_new ();
  gst_element_set_bus (h->element, bus);
  g_object_set (h->element, "mode", 1, "label", "tone", "location",
      index_path, "window", 2.0, NULL);
  gst_harness_set_src_caps_str (h, AUDIO_CAPS);
  /* outside a test: no check macros */
  for (pos = 0; pos < 4 * RATE; pos += 4096) {
    if (gst_harness_push (h, tone_buffer (pos, 4096)) != GST_FLOW_OK)
      g_error ("cannot learn the index");
    gst_buffer_unref (gst_harness_pull (h));
  }
  gst_harness_push_event (h, gst_event_new_eos ());
  free_harness (h, bus);
  if (!g_file_test (index_path, G_FILE_TEST_IS_REGULAR))
    g_error ("no index at %s", index_path);
}

int
main (int argc, char **argv)
{
  Suite *s;
  int ret;
  gchar *cmd;

  gst_check_init (&argc, &argv);
  tmpdir = g_dir_make_tmp ("musa-robust-XXXXXX", NULL);
  make_index ();
  s = robust_suite ();
  ret = gst_check_run_suite (s, "robust", __FILE__);
  cmd = g_strdup_printf ("rm -rf '%s'", tmpdir);
  if (system (cmd) != 0)
    ret = 1;
  g_free (cmd);
  g_free (index_path);
  g_free (tmpdir);
  return ret;
}
