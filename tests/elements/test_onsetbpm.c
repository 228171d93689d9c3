/* Element tests of onsetbpm (GstHarness). */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/audio/audio.h>
#include <gst/tag/tag.h>
#include <math.h>
#include <string.h>

#include "core/rng.h"
#include "core/synth.h"
#include "elementtest.h"

typedef struct
{
  /* onsetbpm messages */
  guint n_results;
  GArray *bpm, *conf, *ts, *dur;        /* per interval message (gdouble/guint64) */
  gboolean contiguous, finite;
  GstClockTime next_ts;
  /* the final message */
  gboolean have_final;
  gint finals;                  /* final messages (a discontinuity gives one) */
  gdouble first_final_bpm;
  gdouble final_bpm, final_conf;
  GArray *beats;
  /* onsets and beats: time (ns) and when they arrived (samples pushed) */
  GArray *onsets, *onset_seen, *live_beats, *beat_bpm;
  guint64 last_index;
  gboolean index_ok;
  /* tags */
  GArray *tag_bpm;
  /* warnings and errors */
  guint warnings, errors;
  gchar *error_text;
} Run;

static void
run_init (Run * r)
{
  memset (r, 0, sizeof (*r));
  r->bpm = g_array_new (FALSE, FALSE, sizeof (gdouble));
  r->conf = g_array_new (FALSE, FALSE, sizeof (gdouble));
  r->ts = g_array_new (FALSE, FALSE, sizeof (guint64));
  r->dur = g_array_new (FALSE, FALSE, sizeof (guint64));
  r->beats = g_array_new (FALSE, FALSE, sizeof (gdouble));
  r->onsets = g_array_new (FALSE, FALSE, sizeof (guint64));
  r->onset_seen = g_array_new (FALSE, FALSE, sizeof (guint64));
  r->live_beats = g_array_new (FALSE, FALSE, sizeof (guint64));
  r->beat_bpm = g_array_new (FALSE, FALSE, sizeof (gdouble));
  r->tag_bpm = g_array_new (FALSE, FALSE, sizeof (gdouble));
  r->contiguous = TRUE;
  r->finite = TRUE;
  r->index_ok = TRUE;
  r->last_index = G_MAXUINT64;
}

static void
run_clear (Run * r)
{
  g_array_unref (r->bpm);
  g_array_unref (r->conf);
  g_array_unref (r->ts);
  g_array_unref (r->dur);
  g_array_unref (r->beats);
  g_array_unref (r->onsets);
  g_array_unref (r->onset_seen);
  g_array_unref (r->live_beats);
  g_array_unref (r->beat_bpm);
  g_array_unref (r->tag_bpm);
  g_free (r->error_text);
}

static gdouble
array_double (const GstStructure * s, const gchar * field, guint i)
{
  const GValue *arr = gst_structure_get_value (s, field);
  fail_unless (arr != NULL && GST_VALUE_HOLDS_ARRAY (arr), "%s", field);
  fail_unless (i < gst_value_array_get_size (arr));
  return g_value_get_double (gst_value_array_get_value (arr, i));
}

static void
drain_bus (GstBus * bus, Run * r, guint64 pushed)
{
  GstMessage *msg;

  while ((msg = gst_bus_pop (bus))) {
    const GstStructure *s = gst_message_get_structure (msg);
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_WARNING) {
      r->warnings++;
    } else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
      GError *err = NULL;
      gst_message_parse_error (msg, &err, NULL);
      r->errors++;
      g_free (r->error_text);
      r->error_text = g_strdup (err->message);
      g_error_free (err);
    } else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT) {
      guint64 ts, dur;
      fail_unless (gst_structure_get_uint64 (s, "timestamp", &ts));
      fail_unless (gst_structure_has_field (s, "stream-time"));
      fail_unless (gst_structure_has_field (s, "running-time"));
      if (gst_structure_has_name (s, "onsetbpm")) {
        gdouble bpm, conf, phase, c0, c1;
        gboolean final;
        fail_unless (gst_structure_get (s, "bpm", G_TYPE_DOUBLE, &bpm,
                "confidence", G_TYPE_DOUBLE, &conf, "beat-phase",
                G_TYPE_DOUBLE, &phase, "final", G_TYPE_BOOLEAN, &final,
                "duration", G_TYPE_UINT64, &dur, NULL));
        c0 = array_double (s, "candidates", 0);
        c1 = array_double (s, "candidates", 1);
        if (!isfinite (bpm) || !isfinite (conf) || !isfinite (phase) ||
            !isfinite (c0) || !isfinite (c1) || conf < 0.0 || conf > 1.0 ||
            phase >= 1.0 || (phase < 0.0 && phase != -1.0))
          r->finite = FALSE;
        if (conf == 0.0 && bpm != 0.0)
          r->finite = FALSE;    /* a tempo claimed without confidence */
        if (final) {
          const GValue *arr = gst_structure_get_value (s, "beats");
          guint i;
          fail_unless (arr != NULL);
          if (r->finals++ == 0)
            r->first_final_bpm = bpm;
          g_array_set_size (r->beats, 0);       /* the last final's beats */
          r->have_final = TRUE;
          r->final_bpm = bpm;
          r->final_conf = conf;
          for (i = 0; i < gst_value_array_get_size (arr); i++) {
            gdouble b = g_value_get_double (gst_value_array_get_value (arr,
                    i));
            g_array_append_val (r->beats, b);
          }
        } else {
          if (ts != r->next_ts)
            r->contiguous = FALSE;
          r->next_ts = ts + dur;
          g_array_append_val (r->bpm, bpm);
          g_array_append_val (r->conf, conf);
          g_array_append_val (r->ts, ts);
          g_array_append_val (r->dur, dur);
          r->n_results++;
        }
      } else if (gst_structure_has_name (s, "onset")) {
        gdouble strength;
        fail_unless (gst_structure_get_double (s, "strength", &strength));
        if (!isfinite (strength) || strength <= 0.0)
          r->finite = FALSE;
        g_array_append_val (r->onsets, ts);
        g_array_append_val (r->onset_seen, pushed);
      } else if (gst_structure_has_name (s, "beat")) {
        guint64 index;
        gdouble bpm;
        fail_unless (gst_structure_get_uint64 (s, "index", &index));
        fail_unless (gst_structure_get_double (s, "bpm", &bpm));
        g_array_append_val (r->beat_bpm, bpm);
        if (index != r->last_index + 1)
          r->index_ok = FALSE;
        r->last_index = index;
        g_array_append_val (r->live_beats, ts);
      } else {
        fail ("unexpected message %s", gst_structure_get_name (s));
      }
    }
    gst_message_unref (msg);
  }
}

static void
drain_events (GstHarness * h, Run * r)
{
  GstEvent *ev;

  while ((ev = gst_harness_try_pull_event (h))) {
    if (GST_EVENT_TYPE (ev) == GST_EVENT_TAG) {
      GstTagList *tags;
      gdouble bpm;
      gst_event_parse_tag (ev, &tags);
      if (gst_tag_list_get_double (tags, GST_TAG_BEATS_PER_MINUTE, &bpm))
        g_array_append_val (r->tag_bpm, bpm);
    }
    gst_event_unref (ev);
  }
}

typedef struct
{
  const gchar *format;          /* F32LE or S16LE */
  gint rate, channels;
  gsize chunk;                  /* frames per buffer */
  gsize flush_at;               /* > 0: flush before this frame */
  gsize discont_at;             /* > 0: DISCONT buffer at this frame */
  gboolean eos;
} Feed;

/* Push mono @x (duplicated to every channel) through onsetbpm @props. */
static void
run_element (const gchar * props, const gfloat * x, gsize n, const Feed * f,
    Run * r)
{
  gchar *desc = g_strdup_printf ("onsetbpm %s", props);
  gchar *caps = g_strdup_printf ("audio/x-raw, format=%s, layout=interleaved,"
      " rate=%d, channels=%d%s", f->format, f->rate, f->channels,
      f->channels > 2 ? ", channel-mask=(bitmask)0x0" : "");
  GstHarness *h = gst_harness_new_parse (desc);
  GstBus *bus = gst_bus_new ();
  gboolean s16 = g_str_equal (f->format, "S16LE");
  gsize done = 0, bps = s16 ? 2 : 4;

  run_init (r);
  gst_element_set_bus (h->element, bus);
  gst_harness_set_caps_str (h, caps, caps);
  gst_harness_play (h);
  drain_bus (bus, r, 0);
  while (done < n && r->errors == 0) {
    gsize len = MIN (f->chunk, n - done), i;
    gint c;
    GstBuffer *in, *out;
    GstMapInfo map;

    if (f->flush_at && done <= f->flush_at && done + len > f->flush_at
        && done < f->flush_at)
      len = f->flush_at - done;
    if (f->discont_at && done < f->discont_at && done + len > f->discont_at)
      len = f->discont_at - done;
    if (f->flush_at && done == f->flush_at) {
      GstSegment seg;
      fail_unless (gst_harness_push_event (h, gst_event_new_flush_start ()));
      fail_unless (gst_harness_push_event (h, gst_event_new_flush_stop (TRUE)));
      gst_segment_init (&seg, GST_FORMAT_TIME);
      seg.start = gst_util_uint64_scale_int (done, GST_SECOND, f->rate);
      seg.time = seg.start;
      seg.position = seg.start;
      fail_unless (gst_harness_push_event (h, gst_event_new_segment (&seg)));
    }
    in = gst_buffer_new_allocate (NULL, len * f->channels * bps, NULL);
    gst_buffer_map (in, &map, GST_MAP_WRITE);
    for (i = 0; i < len; i++)
      for (c = 0; c < f->channels; c++) {
        if (s16) {
          gdouble v = x[done + i] * 32767.0;
          ((gint16 *) map.data)[i * f->channels + c] =
              (gint16) CLAMP (v, -32768.0, 32767.0);
        } else {
          ((gfloat *) map.data)[i * f->channels + c] = x[done + i];
        }
      }
    gst_buffer_unmap (in, &map);
    GST_BUFFER_PTS (in) = gst_util_uint64_scale_int (done, GST_SECOND, f->rate);
    GST_BUFFER_DURATION (in) = gst_util_uint64_scale_int (len, GST_SECOND,
        f->rate);
    if (f->discont_at && done == f->discont_at)
      GST_BUFFER_FLAG_SET (in, GST_BUFFER_FLAG_DISCONT);
    {
      GstBuffer *copy = gst_buffer_copy_deep (in);
      GstFlowReturn ret = gst_harness_push (h, in);
      if (ret != GST_FLOW_OK) {
        gst_buffer_unref (copy);
        drain_bus (bus, r, done + len);
        break;
      }
      out = gst_harness_pull (h);
      /* passthrough: the very same bytes come out */
      fail_unless (gst_buffer_get_size (out) == gst_buffer_get_size (copy));
      gst_buffer_map (copy, &map, GST_MAP_READ);
      fail_unless (gst_buffer_memcmp (out, 0, map.data, map.size) == 0);
      gst_buffer_unmap (copy, &map);
      gst_buffer_unref (copy);
      gst_buffer_unref (out);
    }
    done += len;
    drain_bus (bus, r, done);
    drain_events (h, r);
  }
  if (f->eos && r->errors == 0) {
    fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
    drain_bus (bus, r, done);
    drain_events (h, r);
  }
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
  g_free (desc);
  g_free (caps);
}

static gfloat *
clicks (gint rate, gdouble bpm, gdouble seconds, gsize offset, gsize * n)
{
  gfloat *x;
  *n = (gsize) (seconds * rate);
  x = g_new (gfloat, *n);
  musa_synth_clicks (x, *n, rate, bpm, offset);
  return x;
}

static const Feed plain = { "F32LE", 44100, 1, 4096, 0, 0, TRUE };

GST_START_TEST (test_click_tag)
{
  gsize n;
  gfloat *x = clicks (44100, 120.0, 20.0, 0, &n);
  Run r;
  guint i;

  run_element ("", x, n, &plain, &r);
  fail_unless (r.finite);
  fail_unless (r.have_final);
  fail_unless (fabs (r.final_bpm / 120.0 - 1.0) < 0.01, "final %f",
      r.final_bpm);
  fail_unless (r.final_conf > 0.5);
  fail_unless (r.tag_bpm->len >= 1);
  /* the last tag is the final answer; every tag is a real estimate */
  fail_unless (fabs (g_array_index (r.tag_bpm, gdouble,
              r.tag_bpm->len - 1) - r.final_bpm) < 1e-9);
  for (i = 0; i < r.tag_bpm->len; i++)
    fail_unless (fabs (g_array_index (r.tag_bpm, gdouble, i) / 120.0 - 1.0)
        < 0.02, "tag %f", g_array_index (r.tag_bpm, gdouble, i));
  /* beats at EOS on the clicks */
  fail_unless (r.beats->len >= 35, "%u beats", r.beats->len);
  for (i = 0; i < r.beats->len; i++) {
    gdouble b = g_array_index (r.beats, gdouble, i);
    fail_unless (fabs (b - 0.5 * round (b / 0.5)) < 0.02, "beat %f", b);
  }
  run_clear (&r);
  g_free (x);
}

GST_END_TEST;

/* interval messages: one per second, contiguous, drift-free; the first
 * estimate within 6 s, then steady within 2 %; tags only when moving. */
GST_START_TEST (test_interval_messages)
{
  gsize n;
  gfloat *x = clicks (44100, 132.0, 20.0, 1234, &n);
  Feed f = plain;
  Run r;
  guint i;
  gint first = -1;

  f.chunk = 1000;
  run_element ("interval=1000000000", x, n, &f, &r);
  fail_unless_equals_int (r.n_results, 20);
  fail_unless (r.contiguous);
  fail_unless (r.finite);
  for (i = 0; i < r.n_results; i++) {
    fail_unless_equals_uint64 (g_array_index (r.ts, guint64, i),
        i * GST_SECOND);
    fail_unless_equals_uint64 (g_array_index (r.dur, guint64, i), GST_SECOND);
    if (first < 0 && g_array_index (r.conf, gdouble, i) > 0.0)
      first = i;
  }
  fail_unless (first >= 0 && first + 1 <= 6, "first estimate after %d s",
      first + 1);
  for (i = first; i < r.n_results; i++)
    fail_unless (fabs (g_array_index (r.bpm, gdouble, i) / 132.0 - 1.0) <
        0.02, "%u: %f", i, g_array_index (r.bpm, gdouble, i));
  /* steady: one tag while playing (maybe two), one at EOS */
  fail_unless (r.tag_bpm->len >= 2 && r.tag_bpm->len <= 4, "%u tags",
      r.tag_bpm->len);
  run_clear (&r);
  g_free (x);
}

GST_END_TEST;

/* onset messages: one per click, on time, posted at most 50 ms of audio
 * after the onset; live beats on clicks with consecutive indices */
/* A live beat carries the live tempo the tracker follows, whatever the
 * interval of the result messages: it carried the bpm of the last message,
 * 0 for every beat before the first one (here the first 30 s). */
GST_START_TEST (test_beat_bpm_long_interval)
{
  gsize n;
  gfloat *x = clicks (44100, 120.0, 12.0, 0, &n);
  Run r;
  guint i;

  run_element ("post-beats=true interval=30000000000", x, n, &plain, &r);
  fail_unless (r.errors == 0);
  fail_unless (r.live_beats->len >= 8, "%u live beats", r.live_beats->len);
  for (i = 0; i < r.beat_bpm->len; i++)
    fail_unless (fabs (g_array_index (r.beat_bpm, gdouble, i) / 120.0 - 1.0)
        < 0.02, "beat %u: %f BPM", i, g_array_index (r.beat_bpm, gdouble, i));
  run_clear (&r);
  g_free (x);
}

GST_END_TEST;

GST_START_TEST (test_onsets_and_live_beats)
{
  gsize n;
  const gdouble off = 0.3, period = 60.0 / 100.0;
  gfloat *x = clicks (44100, 100.0, 12.0, (gsize) (off * 44100), &n);
  Feed f = plain;
  Run r;
  guint i;

  f.chunk = 441;                /* 10 ms buffers */
  /* whitening gives the same onsets on these even clicks */
  run_element ("post-onsets=true whiten=true", x, n, &f, &r);
  fail_unless (r.finite);
  fail_unless_equals_int (r.onsets->len, 20);
  for (i = 0; i < r.onsets->len; i++) {
    gdouble t = g_array_index (r.onsets, guint64, i) / 1e9;
    fail_unless (fabs (t - (off + i * period)) < 0.015, "whiten: onset %f", t);
  }
  run_clear (&r);
  run_element ("post-onsets=true post-beats=true", x, n, &f, &r);
  fail_unless (r.finite);
  fail_unless_equals_int (r.onsets->len, 20);
  for (i = 0; i < r.onsets->len; i++) {
    gdouble t = g_array_index (r.onsets, guint64, i) / 1e9;
    gdouble seen = g_array_index (r.onset_seen, guint64, i) / 44100.0;
    fail_unless (fabs (t - (off + i * period)) < 0.015, "onset %f", t);
    fail_unless (seen - t <= 0.050 + 0.0101, "onset %f posted at %f", t, seen);
  }
  fail_unless (r.live_beats->len >= 8, "%u live beats", r.live_beats->len);
  fail_unless (r.index_ok);
  for (i = 0; i < r.live_beats->len; i++) {
    gdouble t = g_array_index (r.live_beats, guint64, i) / 1e9;
    fail_unless (fabs (t - (off + period * round ((t - off) / period))) <
        0.02, "live beat %f", t);
  }
  run_clear (&r);
  g_free (x);
}

GST_END_TEST;

/* The final beats are in stream time: after a reset at @start s (a seek, a
 * flush, a discontinuity) on the clicks of period @period from there (they
 * were counted from the reset, 10 s early here). */
static void
check_beats_after (const Run * r, gdouble start, gdouble period)
{
  guint i;

  fail_unless (r->beats->len >= 20, "%u beats", r->beats->len);
  for (i = 0; i < r->beats->len; i++) {
    gdouble b = g_array_index (r->beats, gdouble, i) - start;
    fail_unless (b > -0.02, "beat at %f before the reset at %f", b + start,
        start);
    fail_unless (fabs (b - period * round (b / period)) < 0.02, "beat %f",
        b + start);
  }
}

/* a flush or a DISCONT starts afresh: the final result is the tempo after */
GST_START_TEST (test_reset)
{
  gsize n1, n2;
  gfloat *a = clicks (44100, 90.0, 10.0, 0, &n1);
  gfloat *b = clicks (44100, 150.0, 12.0, 0, &n2);
  gfloat *x = g_new (gfloat, n1 + n2);
  Feed f = plain;
  Run r;

  memcpy (x, a, n1 * sizeof (gfloat));
  memcpy (x + n1, b, n2 * sizeof (gfloat));
  f.flush_at = n1;
  run_element ("", x, n1 + n2, &f, &r);
  fail_unless (fabs (r.final_bpm / 150.0 - 1.0) < 0.01, "flush: %f",
      r.final_bpm);
  fail_unless (r.final_conf > 0.5);
  check_beats_after (&r, 10.0, 0.4);
  run_clear (&r);

  f.flush_at = 0;
  f.discont_at = n1;
  run_element ("", x, n1 + n2, &f, &r);
  fail_unless (fabs (r.final_bpm / 150.0 - 1.0) < 0.01, "discont: %f",
      r.final_bpm);
  check_beats_after (&r, 10.0, 0.4);
  /* the audio before the discontinuity got its final result first (it was
   * dropped) */
  fail_unless_equals_int (r.finals, 2);
  fail_unless (fabs (r.first_final_bpm / 90.0 - 1.0) < 0.01, "before: %f",
      r.first_final_bpm);
  run_clear (&r);

  /* without a reset the whole stream mixes both: not 150 within 1 % */
  f.discont_at = 0;
  run_element ("", x, n1 + n2, &f, &r);
  fail_if (fabs (r.final_bpm / 150.0 - 1.0) < 0.01 && r.beats->len > 0 &&
      g_array_index (r.beats, gdouble, 0) > 9.9, "no reset, yet fresh");
  run_clear (&r);
  g_free (a);
  g_free (b);
  g_free (x);
}

GST_END_TEST;

/* same messages whatever the buffer sizes */
GST_START_TEST (test_chunk_invariance)
{
  static const gsize chunks[] = { 4096, 1, 333, 44100 };
  MusaSynthConfig sc;
  gsize n = 44100 * 8, k, i;
  gfloat *x = g_new (gfloat, n);
  Run ref, r;
  Feed f = plain;

  musa_synth_config_default (&sc);
  sc.bpm = 111;
  musa_synth_music (&sc, x, n, NULL);
  run_element ("post-onsets=true post-beats=true interval=500000000", x, n,
      &f, &ref);
  fail_unless (ref.onsets->len > 10);
  for (k = 1; k < G_N_ELEMENTS (chunks); k++) {
    f.chunk = chunks[k];
    run_element ("post-onsets=true post-beats=true interval=500000000", x,
        n, &f, &r);
    fail_unless_equals_int (r.n_results, ref.n_results);
    for (i = 0; i < ref.n_results; i++)
      fail_unless (g_array_index (r.bpm, gdouble, i) ==
          g_array_index (ref.bpm, gdouble, i));
    fail_unless_equals_int (r.onsets->len, ref.onsets->len);
    fail_unless (memcmp (r.onsets->data, ref.onsets->data,
            ref.onsets->len * sizeof (guint64)) == 0);
    fail_unless_equals_int (r.live_beats->len, ref.live_beats->len);
    fail_unless (r.final_bpm == ref.final_bpm);
    fail_unless_equals_int (r.beats->len, ref.beats->len);
    run_clear (&r);
  }
  run_clear (&ref);
  g_free (x);
}

GST_END_TEST;

/* silence, noise, NaN, 0.5 s: no tempo claimed, no tag, no NaN */
GST_START_TEST (test_bad_input)
{
  gsize n = 44100 * 12, i;
  gfloat *x = g_new0 (gfloat, n);
  Run r;
  MusaRng rng;

  run_element ("", x, n, &plain, &r);
  fail_unless (r.finite && r.have_final);
  fail_unless (r.final_conf == 0.0 && r.final_bpm == 0.0);
  fail_unless_equals_int (r.tag_bpm->len, 0);
  fail_unless_equals_int (r.beats->len, 0);
  run_clear (&r);

  musa_rng_init (&rng, musa_rng_key (11, 0, 0));
  for (i = 0; i < n; i++)
    x[i] = (gfloat) (0.2 * musa_rng_normal (&rng));
  run_element ("", x, n, &plain, &r);
  fail_unless (r.finite && r.have_final);
  fail_unless (r.final_conf == 0.0, "noise: confidence %f", r.final_conf);
  fail_unless_equals_int (r.tag_bpm->len, 0);
  run_clear (&r);

  /* clicks with NaN and Inf sprinkled in: a warning, still the tempo */
  musa_synth_clicks (x, n, 44100, 120.0, 0);
  for (i = 1000; i < n; i += 7919)
    x[i] = (i % 2) ? NAN : INFINITY;
  run_element ("", x, n, &plain, &r);
  fail_unless (r.finite);
  fail_unless (r.warnings >= 1);
  fail_unless (fabs (r.final_bpm / 120.0 - 1.0) < 0.01, "%f", r.final_bpm);
  run_clear (&r);

  /* half a second: too short to claim a tempo */
  musa_synth_clicks (x, 22050, 44100, 120.0, 0);
  run_element ("", x, 22050, &plain, &r);
  fail_unless (r.finite && r.have_final);
  fail_unless (r.final_conf == 0.0 && r.final_bpm == 0.0);
  fail_unless_equals_int (r.tag_bpm->len, 0);
  run_clear (&r);
  g_free (x);
}

GST_END_TEST;

/* odd formats: 8 kHz mono S16, 192 kHz 8 channels */
GST_START_TEST (test_formats)
{
  Feed f = plain;
  gsize n;
  gfloat *x;
  Run r;

  f.format = "S16LE";
  f.rate = 8000;
  x = clicks (8000, 104.0, 15.0, 0, &n);
  run_element ("", x, n, &f, &r);
  fail_unless (fabs (r.final_bpm / 104.0 - 1.0) < 0.01, "8 kHz: %f",
      r.final_bpm);
  run_clear (&r);
  g_free (x);

  f.format = "F32LE";
  f.rate = 192000;
  f.channels = 8;
  f.chunk = 8192;
  x = clicks (192000, 143.0, 10.0, 0, &n);
  run_element ("", x, n, &f, &r);
  fail_unless_equals_int (r.errors, 0);
  fail_unless (fabs (r.final_bpm / 143.0 - 1.0) < 0.01, "192 kHz: %f",
      r.final_bpm);
  run_clear (&r);
  g_free (x);
}

GST_END_TEST;

/* invalid settings fail at negotiation, naming the property */
/* Settings refused whatever the sample rate fail the READY -> PAUSED
 * state change itself, with an error naming the property (an error from the
 * streaming thread at the caps could leave gst-launch 1.22.0 hanging). */
GST_START_TEST (test_bad_properties)
{
  gchar *text = start_error ("onsetbpm min-bpm=150 max-bpm=160");

  fail_unless (text != NULL, "the state change did not fail");
  fail_unless (strstr (text, "'max-bpm'") != NULL,
      "error does not name the property: %s", text);
  g_free (text);
}

GST_END_TEST;

/* prior-bpm: the synthetic 190 BPM groove (two levels about equally
 * periodic) is tagged at the level nearest the prior */
GST_START_TEST (test_prior_bpm)
{
  static const gdouble prior[] = { 180.0, 90.0 }, want[] = { 190.0, 95.0 };
  MusaSynthConfig sc;
  gsize n = 44100 * 20, k;
  gfloat *x = g_new (gfloat, n);
  Run r;

  musa_synth_config_default (&sc);
  sc.bpm = 190;
  sc.seed = 11;
  musa_synth_music (&sc, x, n, NULL);
  for (k = 0; k < G_N_ELEMENTS (prior); k++) {
    gchar *props = g_strdup_printf ("prior-bpm=%g", prior[k]);
    gdouble tag;

    run_element (props, x, n, &plain, &r);
    fail_unless (r.have_final && r.tag_bpm->len >= 1);
    tag = g_array_index (r.tag_bpm, gdouble, r.tag_bpm->len - 1);
    fail_unless (fabs (tag / want[k] - 1.0) < 0.02, "%s: tag %f", props, tag);
    run_clear (&r);
    g_free (props);
  }
  g_free (x);
}

GST_END_TEST;

GST_START_TEST (test_properties)
{
  GstElement *e = gst_element_factory_make ("onsetbpm", NULL);
  gdouble w, lo, hi, prior;
  gint method;
  gboolean whiten;

  fail_unless (e != NULL);
  g_object_get (e, "window", &w, "min-bpm", &lo, "max-bpm", &hi,
      "prior-bpm", &prior, NULL);
  fail_unless (w == 10.0 && lo == 40.0 && hi == 240.0 && prior == 120.0);
  gst_util_set_object_arg (G_OBJECT (e), "method", "hfc");
  g_object_get (e, "method", &method, NULL);
  fail_unless_equals_int (method, 2);
  g_object_get (e, "whiten", &whiten, NULL);
  fail_unless (!whiten);
  g_object_set (e, "whiten", TRUE, NULL);
  g_object_get (e, "whiten", &whiten, NULL);
  fail_unless (whiten);
  gst_object_unref (e);
}

GST_END_TEST;

static Suite *
onsetbpm_suite (void)
{
  Suite *s = suite_create ("onsetbpm");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 120);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_properties);
  tcase_add_test (tc, test_click_tag);
  tcase_add_test (tc, test_interval_messages);
  tcase_add_test (tc, test_onsets_and_live_beats);
  tcase_add_test (tc, test_beat_bpm_long_interval);
  tcase_add_test (tc, test_reset);
  tcase_add_test (tc, test_chunk_invariance);
  tcase_add_test (tc, test_bad_input);
  tcase_add_test (tc, test_formats);
  tcase_add_test (tc, test_bad_properties);
  tcase_add_test (tc, test_prior_bpm);
  return s;
}

GST_CHECK_MAIN (onsetbpm);
