/* Element tests of musaugment (GstHarness). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gst/gst.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/audio/audio.h>
#include <gst/tag/tag.h>

#include "augment/augment.h"
#include "core/rng.h"
#include "core/synth.h"

#define RATE 44100

/* stereo F32 music, n frames */
static gfloat *
make_music (gsize n)
{
  MusaSynthConfig sc;
  gfloat *mono = g_new (gfloat, n), *x = g_new (gfloat, 2 * n);
  gsize i;

  musa_synth_config_default (&sc);
  musa_synth_music (&sc, mono, n, NULL);
  for (i = 0; i < n; i++) {
    x[2 * i] = mono[i];
    x[2 * i + 1] = 0.6f * mono[i];
  }
  g_free (mono);
  return x;
}

static GstHarness *
new_harness (const gchar * chain, gdouble prob, guint64 seed,
    const gchar * format, const gchar * stream_id, GstBus ** bus)
{
  GstElement *e = gst_element_factory_make ("musaugment", NULL);
  GstHarness *h;
  gchar *caps;

  /* properties before the harness starts the element */
  g_object_set (e, "chain", chain, "probability", prob, "seed", seed, NULL);
  h = gst_harness_new_with_element (e, "sink", "src");
  gst_object_unref (e);
  if (bus) {
    *bus = gst_bus_new ();
    gst_element_set_bus (h->element, *bus);
  }
  caps = g_strdup_printf ("audio/x-raw,format=%s,rate=%d,channels=2,"
      "layout=interleaved", format, RATE);
  gst_harness_set_src_caps_str (h, caps);
  g_free (caps);
  /* our own stream id (after the harness's), as a demuxer would give */
  fail_unless (gst_harness_push_event (h,
          gst_event_new_stream_start (stream_id)));
  {
    GstSegment seg;

    gst_segment_init (&seg, GST_FORMAT_TIME);
    fail_unless (gst_harness_push_event (h, gst_event_new_segment (&seg)));
  }
  return h;
}

static GstBuffer *
f32_buffer (const gfloat * x, gsize frames, guint64 offset)
{
  GstBuffer *b = gst_buffer_new_memdup (x, frames * 2 * sizeof (gfloat));

  GST_BUFFER_PTS (b) = gst_util_uint64_scale (offset, GST_SECOND, RATE);
  GST_BUFFER_DURATION (b) = gst_util_uint64_scale (offset + frames,
      GST_SECOND, RATE) - GST_BUFFER_PTS (b);
  return b;
}

typedef struct
{
  GByteArray *bytes;
  gint n_buffers;
  gboolean continuous;          /* PTS[i+1] == PTS[i] + DUR[i] */
  GstClockTime first_pts, end_time;
} Output;

static void
collect (GstHarness * h, Output * o)
{
  GstBuffer *b;

  while ((b = gst_harness_try_pull (h)) != NULL) {
    GstMapInfo map;

    if (o->n_buffers == 0) {
      o->first_pts = GST_BUFFER_PTS (b);
      o->continuous = TRUE;
    } else if (GST_BUFFER_PTS (b) != o->end_time) {
      o->continuous = FALSE;
    }
    o->end_time = GST_BUFFER_PTS (b) + GST_BUFFER_DURATION (b);
    gst_buffer_map (b, &map, GST_MAP_READ);
    g_byte_array_append (o->bytes, map.data, map.size);
    gst_buffer_unmap (b, &map);
    gst_buffer_unref (b);
    o->n_buffers++;
  }
}

/* Pushes x (n frames) in blocks of @block (0 = varying), EOS, collects. */
static Output
run (const gchar * chain, gdouble prob, guint64 seed, gdouble segdur,
    const gfloat * x, gsize n, gsize block)
{
  GstHarness *h = new_harness (chain, prob, seed, "F32LE", "song-0001", NULL);
  Output o = { g_byte_array_new (), 0, TRUE, 0, 0 };
  gsize pos = 0, k = 0;

  g_object_set (h->element, "segment-duration", segdur, NULL);
  while (pos < n) {
    gsize len = block ? block : 1 + (k++ * 7919) % 3000;

    len = MIN (len, n - pos);
    fail_unless_equals_int (gst_harness_push (h, f32_buffer (x + 2 * pos,
                len, pos)), GST_FLOW_OK);
    pos += len;
    collect (h, &o);
  }
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  collect (h, &o);
  gst_harness_teardown (h);
  return o;
}

static void
output_free (Output * o)
{
  g_byte_array_unref (o->bytes);
}

/* Pushes @in, then EOS, and returns all the output (an applied draw's
 * output limiter delays it by a few frames, drained at EOS). */
static GByteArray *
push_all (GstHarness * h, GstBuffer * in)
{
  Output o = { g_byte_array_new (), 0, TRUE, 0, 0 };

  fail_unless_equals_int (gst_harness_push (h, in), GST_FLOW_OK);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  collect (h, &o);
  return o.bytes;
}

#define FULL_CHAIN "eq:1,compressor:1,limiter:1,chorus:1,reverb:1," \
  "pitch:1(semitones=2),stretch:1(rate=0.9)"

GST_START_TEST (test_reproducible)
{
  const gsize n = 2 * RATE;
  gfloat *x = make_music (n);
  Output a, b, c, d, e;

  a = run (FULL_CHAIN, 1.0, 7, 0.0, x, n, 4096);
  b = run (FULL_CHAIN, 1.0, 7, 0.0, x, n, 0);
  c = run (FULL_CHAIN, 1.0, 7, 0.0, x, n, 4096);
  d = run (FULL_CHAIN, 1.0, 8, 0.0, x, n, 4096);
  fail_unless (a.bytes->len > 0);
  fail_unless_equals_int (a.bytes->len, b.bytes->len);
  fail_unless (memcmp (a.bytes->data, b.bytes->data, a.bytes->len) == 0,
      "different buffer sizes gave different bytes");
  fail_unless_equals_int (a.bytes->len, c.bytes->len);
  fail_unless (memcmp (a.bytes->data, c.bytes->data, a.bytes->len) == 0,
      "two runs gave different bytes");
  fail_if (a.bytes->len == d.bytes->len
      && memcmp (a.bytes->data, d.bytes->data, a.bytes->len) == 0,
      "seeds 7 and 8 gave the same bytes");
  output_free (&a);
  output_free (&b);
  output_free (&c);
  output_free (&d);

  /* segment mode, default chain */
  a = run ("default", 1.0, 3, 0.25, x, n, 1024);
  e = run ("default", 1.0, 3, 0.25, x, n, 0);
  fail_unless_equals_int (a.bytes->len, e.bytes->len);
  fail_unless (memcmp (a.bytes->data, e.bytes->data, a.bytes->len) == 0,
      "segment mode: different buffer sizes gave different bytes");
  output_free (&a);
  output_free (&e);
  g_free (x);
}

GST_END_TEST;

GST_START_TEST (test_identity_bit_exact)
{
  const gsize n = RATE / 2;
  gfloat *x = make_music (n);
  const gchar *chains[] = { "gain:1(db=0)", "default", "none" };
  gdouble probs[] = { 1.0, 0.0, 1.0 };
  int i;

  for (i = 0; i < 3; i++) {
    Output o = run (chains[i], probs[i], 1, 0.0, x, n, 1000);

    fail_unless_equals_int (o.bytes->len, n * 2 * sizeof (gfloat));
    fail_unless (memcmp (o.bytes->data, x, o.bytes->len) == 0,
        "%s not bit-exact", chains[i]);
    output_free (&o);
  }
  /* S16 too */
  {
    GstHarness *h = new_harness ("gain:1(db=0)", 1.0, 1, "S16LE", "s", NULL);
    gint16 s[2000];
    GstBuffer *in, *out;

    for (i = 0; i < 2000; i++)
      s[i] = (gint16) (i * 37 - 30000);
    in = gst_buffer_new_memdup (s, sizeof (s));
    out = gst_harness_push_and_pull (h, in);
    fail_unless (gst_buffer_memcmp (out, 0, s, sizeof (s)) == 0);
    gst_buffer_unref (out);
    gst_harness_teardown (h);
  }
  g_free (x);
}

GST_END_TEST;

GST_START_TEST (test_s16_gain)
{
  GstHarness *h = new_harness ("gain:1(db=-6)", 1.0, 1, "S16LE", "s", NULL);
  gint16 s[4000], *y;
  GByteArray *out;
  gdouble g = pow (10.0, -6.0 / 20.0);
  int i;

  for (i = 0; i < 4000; i++)
    s[i] = (gint16) (20000 * sin (i * 0.01));
  out = push_all (h, gst_buffer_new_memdup (s, sizeof (s)));
  fail_unless_equals_int (out->len, sizeof (s));
  y = (gint16 *) out->data;
  for (i = 0; i < 4000; i++)
    fail_unless (fabs (y[i] - s[i] * g) <= 1.0, "%d: %d vs %g", i, y[i],
        s[i] * g);
  g_byte_array_unref (out);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* S32 and F64 go through float and back */
GST_START_TEST (test_formats)
{
  GstHarness *h = new_harness ("gain:1(db=-6)", 1.0, 1, "S32LE", "s", NULL);
  gint32 s[4000], *y;
  gdouble f[4000], *z;
  GByteArray *out;
  gdouble g = pow (10.0, -6.0 / 20.0);
  int i;

  for (i = 0; i < 4000; i++) {
    s[i] = (gint32) (1.5e9 * sin (i * 0.01));
    f[i] = 0.7 * sin (i * 0.013);
  }
  out = push_all (h, gst_buffer_new_memdup (s, sizeof (s)));
  fail_unless_equals_int (out->len, sizeof (s));
  y = (gint32 *) out->data;
  for (i = 0; i < 4000; i++)
    fail_unless (fabs (y[i] - s[i] * g) <= 256.0, "%d: %d vs %g", i, y[i],
        s[i] * g);
  g_byte_array_unref (out);
  gst_harness_teardown (h);

  h = new_harness ("gain:1(db=-6)", 1.0, 1, "F64LE", "s", NULL);
  out = push_all (h, gst_buffer_new_memdup (f, sizeof (f)));
  fail_unless_equals_int (out->len, sizeof (f));
  z = (gdouble *) out->data;
  for (i = 0; i < 4000; i++)
    fail_unless (fabs (z[i] - f[i] * g) <= 1e-6, "%d: %g vs %g", i, z[i],
        f[i] * g);
  g_byte_array_unref (out);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_latency)
{
  GstBus *bus;
  GstHarness *h = new_harness ("limiter:1(lookahead=5),pitch:1(semitones=-1)",
      1.0, 1, "F32LE", "lat", &bus);
  const gsize n = 8192;
  gfloat *x = make_music (n);
  MusaAugmentChain *c;
  MusaAugmentDraw d;
  MusaAugmentProc *p;
  GstClockTime lat, want;
  GstMessage *m;

  gst_harness_push (h, f32_buffer (x, n, 0));
  /* the element posts a latency message when it knows its latency */
  m = gst_bus_pop_filtered (bus, GST_MESSAGE_LATENCY);
  fail_unless (m != NULL);
  gst_message_unref (m);
  lat = gst_harness_query_latency (h);

  c = musa_augment_chain_parse ("limiter:1(lookahead=5),pitch:1(semitones=-1)",
      NULL);
  musa_augment_draw (c, 1.0, 1, musa_rng_hash_string ("lat"), 0, RATE, &d,
      NULL);
  p = musa_augment_proc_new (&d, RATE, 2, 4096, NULL);
  want = gst_util_uint64_scale_round (musa_augment_proc_latency (p),
      GST_SECOND, RATE);
  fail_unless (musa_augment_proc_latency (p) > 220, "latency %d frames",
      (int) musa_augment_proc_latency (p));
  fail_unless_equals_uint64 (lat, want);
  musa_augment_proc_free (p);
  musa_augment_chain_free (c);
  gst_harness_teardown (h);
  gst_object_unref (bus);
  g_free (x);
}

GST_END_TEST;

GST_START_TEST (test_stretch_timestamps)
{
  const gsize n = 2 * RATE;
  gfloat *x = make_music (n);
  Output o = run ("stretch:1(rate=1.25)", 1.0, 1, 0.0, x, n, 0);
  gsize frames = o.bytes->len / (2 * sizeof (gfloat));
  GstClockTime want_end;

  fail_unless (ABS ((gint64) frames - (gint64) llround (n / 1.25)) <= 1,
      "%" G_GSIZE_FORMAT " frames for %" G_GSIZE_FORMAT, frames, n);
  fail_unless (o.continuous, "timestamps not continuous");
  fail_unless_equals_uint64 (o.first_pts, 0);
  want_end = gst_util_uint64_scale_round (frames, GST_SECOND, RATE);
  fail_unless_equals_uint64 (o.end_time, want_end);
  output_free (&o);

  /* the outgoing segment's stop is scaled by 1 / rate */
  {
    GstHarness *h = gst_harness_new_parse ("musaugment "
        "chain=stretch:1(rate=1.25) probability=1");
    GstSegment seg;
    GstEvent *ev;
    const GstSegment *out;

    gst_harness_set_src_caps_str (h, "audio/x-raw,format=F32LE,rate=44100,"
        "channels=2,layout=interleaved");
    gst_segment_init (&seg, GST_FORMAT_TIME);
    seg.stop = 10 * GST_SECOND;
    /* an offset (a negative pad offset upstream): input time t has running
     * time t - 1 s, its output (at t / 1.25) (t - 1 s) / 1.25; the offset was
     * not scaled, so the output of input 1.0-1.25 s had a negative running
     * time and was clipped */
    seg.offset = GST_SECOND;
    gst_harness_push_event (h, gst_event_new_segment (&seg));
    while ((ev = gst_harness_try_pull_event (h)) != NULL) {
      if (GST_EVENT_TYPE (ev) == GST_EVENT_SEGMENT) {
        gst_event_parse_segment (ev, &out);
        if (out->stop != GST_CLOCK_TIME_NONE) {
          fail_unless_equals_uint64 (out->stop, 8 * GST_SECOND);
          fail_unless_equals_uint64 (gst_segment_to_running_time (out,
                  GST_FORMAT_TIME, 4 * GST_SECOND), 3200 * GST_MSECOND);
          fail_unless_equals_uint64 (gst_segment_to_running_time (out,
                  GST_FORMAT_TIME, 800 * GST_MSECOND), 0);
        }
      }
      gst_event_unref (ev);
    }
    gst_harness_teardown (h);
  }
  g_free (x);
}

GST_END_TEST;

/* upstream of the harness: a 10 s seekable file */
static gboolean
file_query (GstPad * pad, GstObject * parent, GstQuery * query)
{
  if (GST_QUERY_TYPE (query) == GST_QUERY_SEEKING) {
    gst_query_set_seeking (query, GST_FORMAT_TIME, TRUE, 0, 10 * GST_SECOND);
    return TRUE;
  }
  if (GST_QUERY_TYPE (query) == GST_QUERY_DURATION) {
    gst_query_set_duration (query, GST_FORMAT_TIME, 10 * GST_SECOND);
    return TRUE;
  }
  return gst_pad_query_default (pad, parent, query);
}

/* A stretch answers the SEEKING query on the stretched timeline, as it
 * answers DURATION and scales SEEK events: a seek bar sized by the seeking
 * range ended at the input's 10 s while the stream lasted 8 s. */
GST_START_TEST (test_stretch_seeking_query)
{
  GstHarness *h = gst_harness_new_parse ("musaugment "
      "chain=stretch:1(rate=1.25) probability=1 stream-key=k");
  GstSegment seg;
  GstQuery *q;
  gint64 dur = -1, start = -1, end = -1;
  gboolean seekable = FALSE;
  GstPad *src;

  gst_pad_set_query_function (h->srcpad, file_query);
  gst_harness_set_src_caps_str (h, "audio/x-raw,format=F32LE,rate=44100,"
      "channels=2,layout=interleaved");
  gst_segment_init (&seg, GST_FORMAT_TIME);
  gst_harness_push_event (h, gst_event_new_segment (&seg));
  src = gst_element_get_static_pad (h->element, "src");
  fail_unless (gst_pad_query_duration (src, GST_FORMAT_TIME, &dur));
  fail_unless_equals_int64 (dur, 8 * GST_SECOND);
  q = gst_query_new_seeking (GST_FORMAT_TIME);
  fail_unless (gst_pad_query (src, q));
  gst_query_parse_seeking (q, NULL, &seekable, &start, &end);
  fail_unless (seekable);
  fail_unless_equals_int64 (start, 0);
  fail_unless_equals_int64 (end, 8 * GST_SECOND);
  gst_query_unref (q);
  gst_object_unref (src);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* a timestamp jump: the first part is drained, output restarts on the new
 * (stretched) timeline */
/* a DISCONT far ahead (more than 10 s: not a dropout) restarts the
 * processing on the new timeline */
GST_START_TEST (test_discont)
{
  GstHarness *h = new_harness ("stretch:1(rate=1.25)", 1.0, 1, "F32LE", "d",
      NULL);
  const gsize n = 8192;
  gfloat *x = make_music (n);
  GstBuffer *b;
  Output o = { g_byte_array_new (), 0, TRUE, 0, 0 };
  gboolean seen = FALSE;

  gst_harness_push (h, f32_buffer (x, n, 0));
  b = f32_buffer (x, n, 20 * RATE);
  GST_BUFFER_FLAG_SET (b, GST_BUFFER_FLAG_DISCONT);
  gst_harness_push (h, b);
  gst_harness_push (h, f32_buffer (x, n, 20 * RATE + n));
  while ((b = gst_harness_try_pull (h)) != NULL) {
    if (GST_BUFFER_IS_DISCONT (b) && GST_BUFFER_PTS (b) > 0) {
      fail_unless_equals_uint64 (GST_BUFFER_PTS (b), 16 * GST_SECOND);
      seen = TRUE;
    } else if (!seen) {
      /* the first part, drained in full before the jump */
      o.n_buffers++;
      g_byte_array_set_size (o.bytes, o.bytes->len + gst_buffer_get_size (b));
    }
    gst_buffer_unref (b);
  }
  fail_unless (seen, "no output restarted at 16 s");
  fail_unless (ABS ((gint64) (o.bytes->len / 8) - (gint64) llround (n /
              1.25)) <= 1, "%u frames before the jump", o.bytes->len / 8);
  output_free (&o);
  gst_harness_teardown (h);
  g_free (x);
}

GST_END_TEST;


/* A DISCONT buffer a little ahead (a dropout: a lost packet, a leaky queue
 * that dropped buffers) is a jump as without DISCONT: the missing time is
 * silence through the chain, the output goes on continuously (no DISCONT),
 * the reverb rings on into the gap. The whole tail was drained at the
 * DISCONT, then the next audio restarted at its own PTS: 2 s + 20 ms + 2 s
 * with a reverb gave output to 4.33 s, then back to 2.02 s; on a live source
 * with a leaky queue the stream collapsed. */
GST_START_TEST (test_discont_dropout)
{
  GstHarness *h = new_harness ("reverb:1(room=0.8,wet=0.3)", 1.0, 1,
      "F32LE", "drop", NULL);
  const gsize n = RATE / 2, block = RATE / 10;
  const GstClockTime skip = 20 * GST_MSECOND;
  gfloat *x = make_music (n);
  Output o = { g_byte_array_new (), 0, TRUE, 0, 0 };
  GstBuffer *b;
  GstClockTime last_end = 0;
  gint disconts = 0;
  gsize pos, frames, i, part;
  const gfloat *y;
  gdouble e = 0.0;

  for (part = 0; part < 2; part++) {
    for (pos = 0; pos < n; pos += block) {
      b = f32_buffer (x + 2 * pos, block, pos + part * n);
      if (part == 1) {
        GST_BUFFER_PTS (b) += skip;
        if (pos == 0)
          GST_BUFFER_FLAG_SET (b, GST_BUFFER_FLAG_DISCONT);
      }
      fail_unless_equals_int (gst_harness_push (h, b), GST_FLOW_OK);
    }
  }
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  while ((b = gst_harness_try_pull (h)) != NULL) {
    GstMapInfo map;

    fail_unless (GST_BUFFER_PTS (b) + 1 >= last_end, "output at %"
        GST_TIME_FORMAT " after output up to %" GST_TIME_FORMAT,
        GST_TIME_ARGS (GST_BUFFER_PTS (b)), GST_TIME_ARGS (last_end));
    if (o.n_buffers == 0)
      o.first_pts = GST_BUFFER_PTS (b);
    else if (GST_BUFFER_PTS (b) != last_end)
      o.continuous = FALSE;
    if (GST_BUFFER_IS_DISCONT (b))
      disconts++;
    last_end = GST_BUFFER_PTS (b) + GST_BUFFER_DURATION (b);
    gst_buffer_map (b, &map, GST_MAP_READ);
    g_byte_array_append (o.bytes, map.data, map.size);
    gst_buffer_unmap (b, &map);
    gst_buffer_unref (b);
    o.n_buffers++;
  }
  fail_unless (o.continuous);
  fail_unless_equals_uint64 (o.first_pts, 0);
  /* the first buffer only */
  fail_unless_equals_int (disconts, 1);
  frames = o.bytes->len / (2 * sizeof (gfloat));
  /* 1 s + 20 ms of input time, then the reverb's tail */
  fail_unless (frames > 2 * n + RATE / 50, "%" G_GSIZE_FORMAT " frames",
      frames);
  /* the reverb rang on in the 20 ms of silence */
  y = (const gfloat *) o.bytes->data;
  for (i = n + RATE / 200; i < n + RATE / 50; i++)
    e += y[2 * i] * y[2 * i];
  fail_unless (e > 1e-6, "no reverb tail in the gap");
  output_free (&o);
  gst_harness_teardown (h);
  g_free (x);
}

GST_END_TEST;

/* A DISCONT far ahead (more than 10 s) or behind restarts the processing;
 * the tail goes out only as far as it fits before the next audio (an echo
 * that rings for a minute was drained in full: its output ran on over the
 * next audio's time), and not at all when the timestamps go back. */
GST_START_TEST (test_discont_far_no_overlap)
{
  const gsize n = RATE / 2;
  gfloat *x = make_music (n);
  gint back;

  for (back = 0; back < 2; back++) {
    GstHarness *h = new_harness ("echo:1(delay=1000,feedback=0.9,mix=0.5)",
        1.0, 1, "F32LE", "far", NULL);
    /* 0.5 s at 0, then at 12 s (or back at 0.25 s) */
    const guint64 next = back ? RATE / 4 : 12 * RATE;
    const GstClockTime next_pts = gst_util_uint64_scale (next, GST_SECOND,
        RATE);
    GstBuffer *b;
    GstClockTime old_end = 0;
    gboolean restarted = FALSE;

    fail_unless_equals_int (gst_harness_push (h, f32_buffer (x, n, 0)),
        GST_FLOW_OK);
    b = f32_buffer (x, n, next);
    GST_BUFFER_FLAG_SET (b, GST_BUFFER_FLAG_DISCONT);
    fail_unless_equals_int (gst_harness_push (h, b), GST_FLOW_OK);
    while ((b = gst_harness_try_pull (h)) != NULL) {
      if (GST_BUFFER_IS_DISCONT (b) && GST_BUFFER_PTS (b) == next_pts) {
        restarted = TRUE;
      } else if (!restarted) {
        old_end = GST_BUFFER_PTS (b) + GST_BUFFER_DURATION (b);
        fail_unless (back || old_end <= next_pts, "the old output runs to %"
            GST_TIME_FORMAT ", past the next audio at %" GST_TIME_FORMAT,
            GST_TIME_ARGS (old_end), GST_TIME_ARGS (next_pts));
      }
      gst_buffer_unref (b);
    }
    fail_unless (restarted, "no output restarted at the new timestamp");
    if (back) {
      /* the audio the input owed, no tail */
      fail_unless (old_end <= GST_SECOND / 2 + GST_SECOND / RATE,
          "the old output runs to %" GST_TIME_FORMAT, GST_TIME_ARGS (old_end));
    } else {
      /* the echo rang on up to the next audio */
      fail_unless (old_end + GST_SECOND / RATE >= next_pts, "the old output "
          "ends at %" GST_TIME_FORMAT, GST_TIME_ARGS (old_end));
    }
    gst_harness_teardown (h);
  }
  g_free (x);
}

GST_END_TEST;

/* Segment mode with a stretch: after a format change (or a DISCONT back)
 * within the segment the output goes on where it ended, on the stretched
 * timeline. It restarted at the input's PTS: with rate 0.8, S16 output at
 * 2 s after F32 output up to 2.5 s. */
GST_START_TEST (test_segment_mode_restart_continuous)
{
  const gsize n = 2 * RATE;
  gfloat *x = make_music (n);
  gint16 *s16 = g_new (gint16, 2 * n);
  gint k;
  gsize i;

  for (i = 0; i < 2 * n; i++)
    s16[i] = (gint16) lrintf (x[i] * 16384.0f);
  for (k = 0; k < 2; k++) {
    GstHarness *h = new_harness ("stretch:1(rate=0.8)", 1.0, 1, "F32LE",
        "segcaps", NULL);
    GstBuffer *b;
    GstClockTime end = 0;
    gint buffers = 0;

    g_object_set (h->element, "segment-duration", 1.0, NULL);
    fail_unless_equals_int (gst_harness_push (h, f32_buffer (x, n, 0)),
        GST_FLOW_OK);
    if (k == 0) {
      gst_harness_set_src_caps_str (h, "audio/x-raw,format=S16LE,"
          "rate=44100,channels=2,layout=interleaved");
      b = gst_buffer_new_memdup (s16, 2 * n * sizeof (gint16));
      GST_BUFFER_PTS (b) = 2 * GST_SECOND;
      GST_BUFFER_DURATION (b) = 2 * GST_SECOND;
    } else {
      /* the audio again from 0 (a loop without a new segment) */
      b = f32_buffer (x, n, 0);
      GST_BUFFER_FLAG_SET (b, GST_BUFFER_FLAG_DISCONT);
    }
    fail_unless_equals_int (gst_harness_push (h, b), GST_FLOW_OK);
    fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
    while ((b = gst_harness_try_pull (h)) != NULL) {
      buffers++;
      fail_unless (GST_BUFFER_PTS (b) + 1 >= end, "case %d: buffer %d at %"
          GST_TIME_FORMAT " starts before the one before ended (%"
          GST_TIME_FORMAT ")", k, buffers, GST_TIME_ARGS (GST_BUFFER_PTS (b)),
          GST_TIME_ARGS (end));
      end = GST_BUFFER_PTS (b) + GST_BUFFER_DURATION (b);
      gst_buffer_unref (b);
    }
    /* 4 s of input at rate 0.8: 5 s of output */
    fail_unless (end + GST_SECOND / 100 >= 5 * GST_SECOND
        && end <= 5 * GST_SECOND + GST_SECOND / 100, "case %d: the output "
        "ends at %" GST_TIME_FORMAT, k, GST_TIME_ARGS (end));
    gst_harness_teardown (h);
  }
  g_free (s16);
  g_free (x);
}

GST_END_TEST;

/* A first buffer that starts a little before the segment's start (one
 * straddling it after a seek, an appsrc) is at the segment's stream time
 * minus the difference: the draws go on at that position's segment index.
 * Its stream time was unknown, and the draws restarted at index 0. */
GST_START_TEST (test_segment_index_before_start)
{
  GstBus *bus;
  GstHarness *h = new_harness ("gain:1", 1.0, 2, "F32LE", "straddle", &bus);
  const gsize n = RATE / 2;
  gfloat *x = make_music (n);
  GstSegment seg;
  GstBuffer *b;
  GstMessage *m;
  guint64 idx = G_MAXUINT64, st = 0;

  g_object_set (h->element, "segment-duration", 3.0, NULL);
  gst_segment_init (&seg, GST_FORMAT_TIME);
  seg.start = seg.time = seg.position = 10200 * GST_MSECOND;
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&seg)));
  b = f32_buffer (x, n, 0);
  GST_BUFFER_PTS (b) = 10190 * GST_MSECOND;
  fail_unless_equals_int (gst_harness_push (h, b), GST_FLOW_OK);
  while ((m = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT)) != NULL) {
    const GstStructure *s = gst_message_get_structure (m);

    if (gst_structure_has_name (s, "musaugment") && idx == G_MAXUINT64) {
      fail_unless (gst_structure_get_uint64 (s, "segment-index", &idx));
      fail_unless (gst_structure_get_uint64 (s, "stream-time", &st));
    }
    gst_message_unref (m);
  }
  /* 10.19 s: the fourth 3 s segment */
  fail_unless_equals_uint64 (idx, 3);
  fail_unless_equals_uint64 (st, 10190 * GST_MSECOND);
  gst_harness_teardown (h);
  gst_object_unref (bus);
  g_free (x);
}

GST_END_TEST;

/* Finite but absurd float samples (uninitialised memory: 1e37, 3e38; F64
 * 1e300) are processed as silence, as NaN/Inf, with the warning: the
 * output is finite. Pitch and stretch made 1201 NaN/Inf samples of five
 * samples of 1e37, a gain of +3 dB Inf of 3e38. */
GST_START_TEST (test_huge_finite)
{
  const gchar *chains[] = { "pitch:1(semitones=2)", "stretch:1(rate=1.1)",
    "gain:1(db=3)", "gain:1(db=3)"
  };
  const gsize n = 8192;
  gint c;

  for (c = 0; c < 4; c++) {
    GstBus *bus;
    const gboolean f64 = c == 3;
    GstHarness *h = new_harness (chains[c], 1.0, 1, f64 ? "F64LE" : "F32LE",
        "huge", &bus);
    gfloat *x = make_music (n);
    GByteArray *out;
    GstBuffer *b;
    GstMessage *m;
    gsize i, len;

    if (c == 0 || c == 1) {
      for (i = 0; i < 5; i++)
        x[1000 + 7 * i] = 1e37f;
    } else {
      x[500] = 3e38f;
      x[501] = -3e38f;
    }
    if (f64) {
      gdouble *d = g_new (gdouble, 2 * n);

      for (i = 0; i < 2 * n; i++)
        d[i] = x[i];
      d[500] = 1e300;
      d[600] = -1e300;
      b = gst_buffer_new_memdup (d, 2 * n * sizeof (gdouble));
      g_free (d);
    } else {
      b = f32_buffer (x, n, 0);
    }
    out = push_all (h, b);
    len = out->len / (f64 ? sizeof (gdouble) : sizeof (gfloat));
    fail_unless (len > n, "chain %d: %" G_GSIZE_FORMAT " samples", c, len);
    for (i = 0; i < len; i++) {
      gdouble v = f64 ? ((gdouble *) out->data)[i] : ((gfloat *) out->data)[i];

      fail_unless (isfinite (v) && fabs (v) <= 1.0, "chain %d: sample %"
          G_GSIZE_FORMAT " is %g", c, i, v);
    }
    m = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
    fail_unless (m != NULL, "chain %d: no warning", c);
    gst_message_unref (m);
    g_byte_array_unref (out);
    gst_harness_teardown (h);
    gst_object_unref (bus);
    g_free (x);
  }
}

GST_END_TEST;

/* Reverse playback (a seek with rate -1): the buffers come last first, each
 * one's samples forwards, only the first with DISCONT. The chain ran on them
 * as one forward stream: audio stitched out of order (a reverb carried from
 * each buffer into the one before it) on timestamps running on past the
 * segment's stop, which a sink drops. The audio now passes untouched, on
 * the input's timeline, with one warning; a forward segment is augmented
 * again. */
GST_START_TEST (test_reverse_playback)
{
  GstBus *bus;
  GstHarness *h = new_harness ("reverb:1,stretch:1(rate=1.25)", 1.0, 1,
      "F32LE", "rev", &bus);
  const gsize n = 8192;
  gfloat *x = make_music (8 * n);
  GstSegment seg;
  const GstSegment *out;
  GstEvent *ev;
  GstMessage *m;
  GError *err = NULL;
  Output o = { g_byte_array_new (), 0, TRUE, 0, 0 };
  gint i = 0;

  gst_segment_init (&seg, GST_FORMAT_TIME);
  seg.rate = -1.0;
  seg.stop = gst_util_uint64_scale (8 * n, GST_SECOND, RATE);
  seg.position = seg.stop;
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&seg)));
  /* the segment goes on unscaled */
  while ((ev = gst_harness_try_pull_event (h)) != NULL) {
    if (GST_EVENT_TYPE (ev) == GST_EVENT_SEGMENT) {
      gst_event_parse_segment (ev, &out);
      if (out->rate < 0.0) {
        fail_unless_equals_uint64 (out->stop, seg.stop);
        i = 1;
      }
    }
    gst_event_unref (ev);
  }
  fail_unless_equals_int (i, 1);
  for (i = 7; i >= 0; i--) {
    GstBuffer *in = f32_buffer (x + 2 * i * n, n, i * n), *b;
    GstMapInfo a, c;

    if (i == 7)
      GST_BUFFER_FLAG_SET (in, GST_BUFFER_FLAG_DISCONT);
    fail_unless_equals_int (gst_harness_push (h, gst_buffer_ref (in)),
        GST_FLOW_OK);
    b = gst_harness_pull (h);
    fail_unless_equals_uint64 (GST_BUFFER_PTS (b), GST_BUFFER_PTS (in));
    gst_buffer_map (in, &a, GST_MAP_READ);
    gst_buffer_map (b, &c, GST_MAP_READ);
    fail_unless (a.size == c.size && memcmp (a.data, c.data, a.size) == 0,
        "buffer %d changed", i);
    gst_buffer_unmap (in, &a);
    gst_buffer_unmap (b, &c);
    gst_buffer_unref (in);
    gst_buffer_unref (b);
  }
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  /* nothing after the audio (no tail past the segment) */
  fail_unless (gst_harness_try_pull (h) == NULL);
  m = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  fail_unless (m != NULL);
  gst_message_parse_warning (m, &err, NULL);
  fail_unless (strstr (err->message, "Reverse playback") != NULL, "%s",
      err->message);
  g_error_free (err);
  gst_message_unref (m);

  /* forwards again: augmented, stretched */
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_start ()));
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_stop (TRUE)));
  gst_segment_init (&seg, GST_FORMAT_TIME);
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&seg)));
  for (i = 0; i < 8; i++)
    fail_unless_equals_int (gst_harness_push (h, f32_buffer (x + 2 * i * n,
                n, i * n)), GST_FLOW_OK);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  collect (h, &o);
  fail_unless (o.continuous);
  fail_unless_equals_uint64 (o.first_pts, 0);
  /* the reverb's tail after round (8 n / 1.25) frames */
  fail_unless (o.bytes->len / 8 > llround (8 * n / 1.25));
  output_free (&o);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
  g_free (x);
}

GST_END_TEST;

/* 2 s of music through an echo; with @resend the segment comes again (a
 * new event, same values) after 1 s. */
static Output
run_segment_again (const gfloat * x, gboolean resend)
{
  GstHarness *h = new_harness ("echo:1(delay=200,feedback=0.5)", 1.0, 1,
      "F32LE", "again", NULL);
  Output o = { g_byte_array_new (), 0, TRUE, 0, 0 };
  gint i;

  for (i = 0; i < 20; i++) {
    if (resend && i == 10) {
      GstEvent *ev = gst_pad_get_sticky_event (h->srcpad, GST_EVENT_SEGMENT,
          0);
      const GstSegment *seg;

      gst_event_parse_segment (ev, &seg);
      fail_unless (gst_harness_push_event (h, gst_event_new_segment (seg)));
      gst_event_unref (ev);
    }
    fail_unless_equals_int (gst_harness_push (h, f32_buffer (x + 2 * i *
                (RATE / 10), RATE / 10, i * (RATE / 10))), GST_FLOW_OK);
    collect (h, &o);
  }
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  collect (h, &o);
  gst_harness_teardown (h);
  return o;
}

/* The same segment again mid-stream (sticky events re-sent after a relink
 * through a blocking probe, an element passing an unchanged segment on) is
 * no new segment: musaugment drained there, pushing the echo's 1.8 s tail
 * at 1.0-2.8 s, then the audio went on at 1.0 s again (a synchronised sink
 * dropped or garbled the overlap) and the draw was announced again. The
 * output is that of the run without it. */
GST_START_TEST (test_segment_again)
{
  gfloat *x = make_music (2 * RATE);
  Output want = run_segment_again (x, FALSE);
  Output got = run_segment_again (x, TRUE);

  fail_unless (got.continuous, "timestamps not continuous");
  fail_unless_equals_int (got.bytes->len, want.bytes->len);
  fail_unless (memcmp (got.bytes->data, want.bytes->data,
          want.bytes->len) == 0);
  output_free (&want);
  output_free (&got);
  g_free (x);
}

GST_END_TEST;

/* timestamps that jump ahead without the DISCONT flag (a live source's
 * dropout, a do-timestamp appsrc that got nothing for a while) are a gap:
 * silence through the chain, the output on the input's (stretched)
 * timeline (the output went on from the old timeline: after a 1 s dropout
 * every buffer was 1 s late for a synchronised sink); jitter within 40 ms
 * and timestamps behind the frames counted (a do-timestamp appsrc fed in
 * bursts) change nothing */
GST_START_TEST (test_timestamp_jump)
{
  GstHarness *h = new_harness ("reverb:1(room=0.8,wet=0.3),"
      "stretch:1(rate=1.25)", 1.0, 1, "F32LE", "j", NULL);
  const gsize n = 8192;
  gfloat *x = make_music (n);
  Output o = { g_byte_array_new (), 0, TRUE, 0, 0 };
  GstBuffer *b;
  gsize frames, i;
  const gfloat *y;
  gdouble e = 0.0;

  gst_harness_push (h, f32_buffer (x, n, 0));
  b = f32_buffer (x, n, n);
  GST_BUFFER_PTS (b) += 20 * GST_MSECOND;
  gst_harness_push (h, b);
  b = f32_buffer (x, n, 2 * n);
  GST_BUFFER_PTS (b) -= 100 * GST_MSECOND;
  gst_harness_push (h, b);
  /* 3n frames in, then a jump to 2 s */
  gst_harness_push (h, f32_buffer (x, n, 2 * RATE));
  collect (h, &o);
  fail_unless (o.continuous);
  fail_unless_equals_uint64 (o.first_pts, 0);
  frames = o.bytes->len / (2 * sizeof (gfloat));
  /* 2 s + n in at rate 1.25, minus what the stretcher still holds */
  fail_unless (frames > (gsize) ((2 * RATE + n) / 1.25) - RATE / 10 &&
      frames <= (gsize) ((2 * RATE + n) / 1.25) + 1, "%" G_GSIZE_FORMAT
      " frames", frames);
  /* the reverb rang on into the gap */
  y = (const gfloat *) o.bytes->data;
  for (i = (gsize) (3 * n / 1.25) + RATE / 20; i < (gsize) (3 * n / 1.25) +
      RATE / 10; i++)
    e += y[2 * i] * y[2 * i];
  fail_unless (e > 1e-6, "the reverb tail stopped in the gap");
  output_free (&o);
  gst_harness_teardown (h);
  g_free (x);
}

GST_END_TEST;

/* a GAP event is silence through the chain: stretched, tails ring on */
GST_START_TEST (test_gap_event)
{
  GstHarness *h = new_harness ("reverb:1(room=0.8,wet=0.3),"
      "stretch:1(rate=1.25)", 1.0, 1, "F32LE", "gap", NULL);
  const gsize n = RATE / 2;
  gfloat *x = make_music (n);
  Output o = { g_byte_array_new (), 0, TRUE, 0, 0 };
  GstEvent *ev;
  gsize frames, i;
  const gfloat *y;
  gdouble e = 0.0;

  gst_harness_push (h, f32_buffer (x, n, 0));
  fail_unless (gst_harness_push_event (h, gst_event_new_gap (GST_SECOND / 2,
              GST_SECOND / 2)));
  collect (h, &o);
  /* no GAP event goes out: it became audio */
  while ((ev = gst_harness_try_pull_event (h)) != NULL) {
    fail_if (GST_EVENT_TYPE (ev) == GST_EVENT_GAP);
    gst_event_unref (ev);
  }
  fail_unless (o.continuous);
  frames = o.bytes->len / (2 * sizeof (gfloat));
  /* 1 s in at rate 1.25 = 0.8 s out, minus what the stretcher still holds */
  fail_unless (frames > (gsize) (0.7 * RATE) && frames <= (gsize) (0.8 *
          RATE) + 1, "%" G_GSIZE_FORMAT " frames", frames);
  y = (const gfloat *) o.bytes->data;
  for (i = (gsize) (0.45 * RATE); i < (gsize) (0.6 * RATE) && i < frames; i++)
    e += y[2 * i] * y[2 * i];
  fail_unless (e > 1e-6, "the reverb tail stopped in the gap");
  output_free (&o);
  gst_harness_teardown (h);
  g_free (x);
}

GST_END_TEST;

/* A GAP event that overlaps audio already received adds only what lies
 * beyond it: 0.5 s of audio, a gap at 0.25 s for 0.5 s, audio from 0.75 s
 * for 0.5 s: 1.25 s out, continuous (the whole gap was silence: 1.5 s out,
 * everything after it late) */
GST_START_TEST (test_gap_overlap)
{
  GstHarness *h = new_harness ("gain:1(db=-3)", 1.0, 1, "F32LE", "gapov",
      NULL);
  const gsize n = RATE / 2;
  gfloat *x = make_music (n);
  Output o = { g_byte_array_new (), 0, TRUE, 0, 0 };

  gst_harness_push (h, f32_buffer (x, n, 0));
  fail_unless (gst_harness_push_event (h, gst_event_new_gap (GST_SECOND / 4,
              GST_SECOND / 2)));
  gst_harness_push (h, f32_buffer (x, n, n * 3 / 2));
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  collect (h, &o);
  fail_unless (o.continuous);
  fail_unless_equals_int (o.bytes->len / (2 * sizeof (gfloat)), n * 5 / 2);
  output_free (&o);
  gst_harness_teardown (h);
  g_free (x);
}

GST_END_TEST;

GST_START_TEST (test_tail)
{
  const gsize n = RATE;
  gfloat *x = make_music (n);
  Output o = run ("reverb:1(room=0.8,wet=0.3),echo:1(delay=200,feedback=0.5)",
      1.0, 1, 0.0, x, n, 0);
  gsize frames = o.bytes->len / (2 * sizeof (gfloat)), i;
  const gfloat *y = (const gfloat *) o.bytes->data;
  gdouble e = 0.0;

  fail_unless (frames > n + RATE / 10, "no tail: %" G_GSIZE_FORMAT, frames);
  for (i = n; i < n + RATE / 10; i++)
    e += y[2 * i] * y[2 * i];
  fail_unless (e > 1e-6, "tail is silent");
  fail_unless (o.continuous);
  output_free (&o);
  g_free (x);
}

GST_END_TEST;

GST_START_TEST (test_flush)
{
  const gsize n = RATE;
  gfloat *x = make_music (n), *noise = g_new (gfloat, 2 * n);
  const gchar *chain = "reverb:1,stretch:1(rate=0.8)";
  Output a = run (chain, 1.0, 5, 0.0, x, n, 2048);
  Output b = { g_byte_array_new (), 0, TRUE, 0, 0 };
  GstHarness *h = new_harness (chain, 1.0, 5, "F32LE", "song-0001", NULL);
  GstSegment seg;
  gsize i, pos;

  for (i = 0; i < 2 * n; i++)
    noise[i] = (gfloat) sin (i * 0.37) * 0.5f;
  /* other audio, then a flush: it must leave no trace */
  gst_harness_push (h, f32_buffer (noise, n / 2, 0));
  gst_harness_push_event (h, gst_event_new_flush_start ());
  gst_harness_push_event (h, gst_event_new_flush_stop (TRUE));
  gst_segment_init (&seg, GST_FORMAT_TIME);
  gst_harness_push_event (h, gst_event_new_segment (&seg));
  while ((gst_buffer_unref (gst_harness_try_pull (h) ? : gst_buffer_new ()),
          gst_harness_buffers_in_queue (h) > 0));
  for (pos = 0; pos < n; pos += 2048)
    gst_harness_push (h, f32_buffer (x + 2 * pos, MIN (2048, n - pos), pos));
  gst_harness_push_event (h, gst_event_new_eos ());
  collect (h, &b);
  fail_unless_equals_int (a.bytes->len, b.bytes->len);
  fail_unless (memcmp (a.bytes->data, b.bytes->data, a.bytes->len) == 0,
      "output after a flush differs from a fresh run");
  gst_harness_teardown (h);
  output_free (&a);
  output_free (&b);
  g_free (x);
  g_free (noise);
}

GST_END_TEST;

GST_START_TEST (test_provenance)
{
  GstBus *bus;
  GstHarness *h = new_harness ("gain:1(db=-3),pitch:1(semitones=2)", 1.0, 9,
      "F32LE", "prov", &bus);
  gfloat *x = make_music (4096);
  GstMessage *m;
  const GstStructure *s;
  const GValue *effects;
  const GstStructure *e;
  gboolean applied, found_tag = FALSE;
  gdouble v;
  GstEvent *ev;

  gst_harness_push (h, f32_buffer (x, 4096, 0));
  m = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT);
  fail_unless (m != NULL);
  s = gst_message_get_structure (m);
  fail_unless (gst_structure_has_name (s, "musaugment"));
  fail_unless (gst_structure_get_boolean (s, "applied", &applied) && applied);
  fail_unless (gst_structure_get_double (s, "key-shift", &v) && v == 2.0);
  fail_unless (gst_structure_get_double (s, "tempo-factor", &v) && v == 1.0);
  fail_unless (gst_structure_get_double (s, "weight", &v) && v > 0 && v < 1);
  fail_unless_equals_string (gst_structure_get_string (s, "stream-id"), "prov");
  effects = gst_structure_get_value (s, "effects");
  fail_unless_equals_int (gst_value_array_get_size (effects), 2);
  e = gst_value_get_structure (gst_value_array_get_value (effects, 0));
  fail_unless (gst_structure_has_name (e, "gain"));
  fail_unless (gst_structure_get_double (e, "db", &v) && v == -3.0);
  gst_message_unref (m);

  while ((ev = gst_harness_try_pull_event (h)) != NULL) {
    if (GST_EVENT_TYPE (ev) == GST_EVENT_TAG) {
      GstTagList *tl;
      gchar *str = NULL;

      gst_event_parse_tag (ev, &tl);
      if (gst_tag_list_get_string (tl, "musaugment-provenance", &str)) {
        found_tag = TRUE;
        fail_unless (strstr (str, "key+=2 ") != NULL, "%s", str);
        g_free (str);
      }
    }
    gst_event_unref (ev);
  }
  fail_unless (found_tag, "no musaugment-provenance tag");
  gst_harness_teardown (h);
  gst_object_unref (bus);
  g_free (x);
}

GST_END_TEST;

/* Plays filesrc location=@loc ! wavparse ! musaugment seed=7 probability=1
 * to its end; returns the output and the first draw's stream-id and
 * description. */
static GByteArray *
run_file (const gchar * loc, gchar ** key, gchar ** desc)
{
  gchar *launch = g_strdup_printf ("filesrc location=\"%s\" ! wavparse ! "
      "musaugment seed=7 probability=1 ! appsink name=out sync=false", loc);
  GstElement *pipe = gst_parse_launch (launch, NULL);
  GstElement *sink;
  GstBus *bus;
  GByteArray *out = g_byte_array_new ();
  GstSample *sample = NULL;
  GstMessage *m;

  fail_unless (pipe != NULL, "%s", launch);
  g_free (launch);
  sink = gst_bin_get_by_name (GST_BIN (pipe), "out");
  bus = gst_element_get_bus (pipe);
  *key = *desc = NULL;
  fail_unless (gst_element_set_state (pipe, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  /* (appsink's action signal: NULL at EOS) */
  for (;;) {
    GstBuffer *b;
    GstMapInfo map;

    g_signal_emit_by_name (sink, "pull-sample", &sample);
    if (sample == NULL)
      break;
    b = gst_sample_get_buffer (sample);
    gst_buffer_map (b, &map, GST_MAP_READ);
    g_byte_array_append (out, map.data, map.size);
    gst_buffer_unmap (b, &map);
    gst_sample_unref (sample);
  }
  while ((m = gst_bus_pop (bus)) != NULL) {
    const GstStructure *s = gst_message_get_structure (m);

    fail_if (GST_MESSAGE_TYPE (m) == GST_MESSAGE_ERROR, "error for %s", loc);
    if (GST_MESSAGE_TYPE (m) == GST_MESSAGE_ELEMENT && *key == NULL
        && gst_structure_has_name (s, "musaugment")) {
      *key = g_strdup (gst_structure_get_string (s, "stream-id"));
      *desc = g_strdup (gst_structure_get_string (s, "description"));
    }
    gst_message_unref (m);
  }
  fail_unless (*key != NULL && *desc != NULL, "no draw for %s", loc);
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (sink);
  gst_object_unref (bus);
  gst_object_unref (pipe);
  return out;
}

/* A local file's draw is keyed by its canonical path: the same file gives
 * the same draw and bytes however its path is written ("//", "/./", a
 * symlinked folder), and the provenance names that path as the key (the key
 * was the stream id, GStreamer's hash of the URI as written: three
 * spellings of one file, three different draws). Another file, the same
 * audio under another name, is another key. */
GST_START_TEST (test_file_key_canonical)
{
  gchar *dir = g_dir_make_tmp ("musa-augkey-XXXXXX", NULL);
  gchar *link = g_strconcat (dir, "-link", NULL);
  gchar *file = g_build_filename (dir, "a.wav", NULL);
  gchar *copy = g_build_filename (dir, "b.wav", NULL);
  gchar *real_dir = realpath (dir, NULL);
  gchar *real_file = g_build_filename (real_dir, "a.wav", NULL);
  gchar *want = g_filename_to_uri (real_file, NULL, NULL);
  const gsize n = RATE;
  gfloat *x = make_music (n);
  guint8 *wav = g_malloc0 (44 + 4 * n);
  gchar *locs[4];
  GByteArray *first = NULL;
  gchar *first_desc = NULL, *key, *desc;
  gsize i;

  /* 1 s of S16LE stereo in a WAV file */
  memcpy (wav, "RIFF", 4);
  GST_WRITE_UINT32_LE (wav + 4, 36 + 4 * n);
  memcpy (wav + 8, "WAVEfmt ", 8);
  GST_WRITE_UINT32_LE (wav + 16, 16);
  GST_WRITE_UINT16_LE (wav + 20, 1);
  GST_WRITE_UINT16_LE (wav + 22, 2);
  GST_WRITE_UINT32_LE (wav + 24, RATE);
  GST_WRITE_UINT32_LE (wav + 28, RATE * 4);
  GST_WRITE_UINT16_LE (wav + 32, 4);
  GST_WRITE_UINT16_LE (wav + 34, 16);
  memcpy (wav + 36, "data", 4);
  GST_WRITE_UINT32_LE (wav + 40, 4 * n);
  for (i = 0; i < 2 * n; i++)
    GST_WRITE_UINT16_LE (wav + 44 + 2 * i,
        (guint16) (gint16) lrintf (CLAMP (x[i], -1.0f, 1.0f) * 32767.0f));
  fail_unless (g_file_set_contents (file, (const gchar *) wav, 44 + 4 * n,
          NULL));
  fail_unless (g_file_set_contents (copy, (const gchar *) wav, 44 + 4 * n,
          NULL));
  fail_unless (symlink (dir, link) == 0);

  locs[0] = g_strdup (file);
  locs[1] = g_strconcat (dir, "//a.wav", NULL);
  locs[2] = g_strconcat (dir, "/./a.wav", NULL);
  locs[3] = g_build_filename (link, "a.wav", NULL);
  for (i = 0; i < G_N_ELEMENTS (locs); i++) {
    GByteArray *out = run_file (locs[i], &key, &desc);

    fail_unless_equals_string (key, want);
    fail_unless (strstr (desc, want) != NULL, "%s", desc);
    fail_unless (out->len > 0);
    if (first == NULL) {
      first = out;
      first_desc = g_strdup (desc);
    } else {
      fail_unless_equals_string (desc, first_desc);
      fail_unless (out->len == first->len
          && memcmp (out->data, first->data, out->len) == 0,
          "%s: other bytes than %s", locs[i], locs[0]);
      g_byte_array_unref (out);
    }
    g_free (key);
    g_free (desc);
  }
  for (i = 0; i < G_N_ELEMENTS (locs); i++)
    g_free (locs[i]);
  /* the same audio in another file: its own key */
  g_byte_array_unref (run_file (copy, &key, &desc));
  fail_unless (g_str_has_suffix (key, "/b.wav"), "%s", key);
  g_free (key);
  g_free (desc);

  g_byte_array_unref (first);
  g_free (first_desc);
  fail_unless (unlink (link) == 0 && unlink (file) == 0
      && unlink (copy) == 0 && rmdir (dir) == 0);
  free (real_dir);
  g_free (real_file);
  g_free (want);
  g_free (link);
  g_free (file);
  g_free (copy);
  g_free (dir);
  g_free (wav);
  g_free (x);
}

GST_END_TEST;

/* The provenance tags are added to the stream's tags from upstream: the
 * title stays, the musaugment= comment goes beside the file's comments, and
 * upstream's next tags keep the provenance (musaugment's tag event held its
 * two tags alone and replaced the file's; the next upstream tags replaced
 * them). */
GST_START_TEST (test_provenance_keeps_upstream_tags)
{
  GstHarness *h = new_harness ("gain:1(db=-3)", 1.0, 9, "F32LE", "prov",
      NULL);
  gfloat *x = make_music (4096);
  GstEvent *ev;
  GstTagList *tl;
  gchar *str = NULL;
  guint i, n_comments;
  gboolean ours = FALSE, theirs = FALSE;

  gst_harness_push_event (h, gst_event_new_tag (gst_tag_list_new
          (GST_TAG_TITLE, "My Song", GST_TAG_EXTENDED_COMMENT, "foo=bar",
              NULL)));
  fail_unless_equals_int (gst_harness_push (h, f32_buffer (x, 2048, 0)),
      GST_FLOW_OK);
  gst_harness_push_event (h, gst_event_new_tag (gst_tag_list_new
          (GST_TAG_TITLE, "My Song", GST_TAG_EXTENDED_COMMENT, "foo=bar",
              GST_TAG_BITRATE, 128000, NULL)));
  fail_unless_equals_int (gst_harness_push (h, f32_buffer (x + 2 * 2048,
              2048, 2048)), GST_FLOW_OK);

  ev = gst_pad_get_sticky_event (h->sinkpad, GST_EVENT_TAG, 0);
  fail_unless (ev != NULL);
  gst_event_parse_tag (ev, &tl);
  fail_unless (gst_tag_list_get_string (tl, "musaugment-provenance", &str),
      "upstream's tags dropped the provenance");
  g_clear_pointer (&str, g_free);
  fail_unless (gst_tag_list_get_string (tl, GST_TAG_TITLE, &str),
      "the title is gone");
  fail_unless_equals_string (str, "My Song");
  g_clear_pointer (&str, g_free);
  n_comments = gst_tag_list_get_tag_size (tl, GST_TAG_EXTENDED_COMMENT);
  for (i = 0; i < n_comments; i++) {
    const gchar *c = NULL;

    fail_unless (gst_tag_list_peek_string_index (tl,
            GST_TAG_EXTENDED_COMMENT, i, &c));
    if (g_str_has_prefix (c, "musaugment=applied=1"))
      ours = TRUE;
    if (strcmp (c, "foo=bar") == 0)
      theirs = TRUE;
  }
  fail_unless (ours && theirs, "comments");
  gst_event_unref (ev);
  gst_harness_teardown (h);
  g_free (x);
}

GST_END_TEST;

/* The provenance names the key of the draw: with stream-key set, that key
 * (the STREAM_START id, random for appsrc, was reported instead, and the
 * draw could not be made again from seed, stream-id and segment-index). */
GST_START_TEST (test_provenance_stream_key)
{
  GstBus *bus;
  GstHarness *h;
  gfloat *x = make_music (4096);
  GstMessage *m;
  const GstStructure *s;
  const gchar *id, *desc;
  guint64 seed, seg;
  MusaAugmentChain *c;
  MusaAugmentDraw d;
  gchar again[2048];

  h = new_harness ("default", 1.0, 5, "F32LE", "appsrc-random-3f9a", &bus);
  g_object_set (h->element, "stream-key", "song-0042", NULL);
  fail_unless_equals_int (gst_harness_push (h, f32_buffer (x, 4096, 0)),
      GST_FLOW_OK);
  m = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT);
  fail_unless (m != NULL);
  s = gst_message_get_structure (m);
  id = gst_structure_get_string (s, "stream-id");
  desc = gst_structure_get_string (s, "description");
  fail_unless (gst_structure_get_uint64 (s, "seed", &seed));
  fail_unless (gst_structure_get_uint64 (s, "segment-index", &seg));
  fail_unless_equals_string (id, "song-0042");
  /* the same draw again from the provenance */
  c = musa_augment_chain_parse ("default", NULL);
  fail_unless (musa_augment_draw (c, 1.0, seed, musa_rng_hash_string (id),
          seg, RATE, &d, NULL) == MUSA_OK);
  musa_augment_draw_describe_key (&d, id, again, sizeof (again));
  fail_unless_equals_string (again, desc);
  musa_augment_chain_free (c);
  gst_message_unref (m);
  gst_harness_teardown (h);
  gst_object_unref (bus);
  g_free (x);
}

GST_END_TEST;

GST_START_TEST (test_segments_messages)
{
  GstBus *bus;
  GstHarness *h = new_harness ("gain:1", 1.0, 2, "F32LE", "seg", &bus);
  const gsize n = RATE;
  gfloat *x = make_music (n);
  GstMessage *m;
  gint count = 0;
  guint64 idx, last = G_MAXUINT64;

  g_object_set (h->element, "segment-duration", 0.25, NULL);
  gst_harness_push (h, f32_buffer (x, n, 0));
  gst_harness_push_event (h, gst_event_new_eos ());
  while ((m = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT)) != NULL) {
    const GstStructure *s = gst_message_get_structure (m);

    if (gst_structure_has_name (s, "musaugment")) {
      fail_unless (gst_structure_get_uint64 (s, "segment-index", &idx));
      fail_unless (last == G_MAXUINT64 || idx == last + 1);
      last = idx;
      count++;
    }
    gst_message_unref (m);
  }
  fail_unless_equals_int (count, 4);
  gst_harness_teardown (h);
  gst_object_unref (bus);
  g_free (x);
}

GST_END_TEST;

/* output frames pushed before each provenance tag, by segment index */
typedef struct
{
  guint64 frames;               /* output frames so far */
  guint64 before[8];            /* frames before the tag of segment i */
  gint tags;
} TagOrder;

static GstPadProbeReturn
tag_order_probe (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  TagOrder *o = user_data;
  GstEvent *ev;

  if (GST_PAD_PROBE_INFO_TYPE (info) & GST_PAD_PROBE_TYPE_BUFFER) {
    o->frames += gst_buffer_get_size (GST_PAD_PROBE_INFO_BUFFER (info)) /
        (2 * sizeof (gfloat));
    return GST_PAD_PROBE_OK;
  }
  ev = GST_PAD_PROBE_INFO_EVENT (info);
  if (GST_EVENT_TYPE (ev) == GST_EVENT_TAG) {
    GstTagList *tl;
    gchar *desc = NULL;
    const gchar *seg;

    gst_event_parse_tag (ev, &tl);
    if (gst_tag_list_get_string (tl, "musaugment-provenance", &desc)) {
      seg = strstr (desc, "segment=");
      fail_unless (seg != NULL, "%s", desc);
      o->before[MIN (g_ascii_strtoull (seg + 8, NULL, 10), 7)] = o->frames;
      o->tags++;
      g_free (desc);
    }
  }
  return GST_PAD_PROBE_OK;
}

/* In segment mode each draw's tag goes downstream after the audio of the
 * draws before it and before its own (a chain without delay: exactly at
 * the join). With a buffer longer than a segment, the tags of every draw
 * in it came before the whole buffer's output, so a downstream element or
 * application labelled the first draw's audio with the last draw's tag. */
GST_START_TEST (test_segment_tags_before_their_audio)
{
  GstHarness *h = new_harness ("gain:1", 1.0, 2, "F32LE", "seg", NULL);
  const gsize n = RATE * 5 / 2;
  gfloat *x = make_music (n);
  GstPad *src = gst_element_get_static_pad (h->element, "src");
  TagOrder o;

  memset (&o, 0, sizeof (o));
  gst_pad_add_probe (src, GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, tag_order_probe, &o, NULL);
  g_object_set (h->element, "segment-duration", 1.0, NULL);
  fail_unless_equals_int (gst_harness_push (h, f32_buffer (x, n, 0)),
      GST_FLOW_OK);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  fail_unless_equals_int (o.tags, 3);
  fail_unless_equals_uint64 (o.before[0], 0);
  fail_unless_equals_uint64 (o.before[1], RATE);
  fail_unless_equals_uint64 (o.before[2], 2 * RATE);
  fail_unless_equals_uint64 (o.frames, n);
  gst_object_unref (src);
  gst_harness_teardown (h);
  g_free (x);
}

GST_END_TEST;

/* Where a draw holds audio back (a limiter's look-ahead, the stretcher's
 * delay), each segment's tag still goes out exactly where its audio starts:
 * after the previous draws' nominal output (round (input / rate) each). It
 * went out when the input reached the join, the previous draw's last
 * look-ahead or delay still to come: 22050 - 66 frames with the limiter. */
GST_START_TEST (test_segment_tags_at_their_audio)
{
  const gchar *chains[] = { "limiter:1(ceiling=-1)", "stretch:1(rate=1.25)" };
  const gdouble rates[] = { 1.0, 1.25 };
  const gsize n = RATE * 2;
  gfloat *x = make_music (n);
  gint c, k;

  for (c = 0; c < 2; c++) {
    GstHarness *h = new_harness (chains[c], 1.0, 2, "F32LE", "segat", NULL);
    GstPad *src = gst_element_get_static_pad (h->element, "src");
    guint64 seg = RATE / 2, nominal = (guint64) llround (seg / rates[c]);
    TagOrder o;

    memset (&o, 0, sizeof (o));
    gst_pad_add_probe (src, GST_PAD_PROBE_TYPE_BUFFER |
        GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, tag_order_probe, &o, NULL);
    g_object_set (h->element, "segment-duration", 0.5, NULL);
    /* in buffers of 1000 frames: joins fall inside buffers */
    for (k = 0; k < (gint) (n / 1000); k++)
      fail_unless_equals_int (gst_harness_push (h, f32_buffer (x + k * 2000,
                  1000, k * 1000)), GST_FLOW_OK);
    fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
    fail_unless_equals_int (o.tags, 4);
    for (k = 0; k < 4; k++)
      fail_unless (o.before[k] == k * nominal, "%s: tag %d after %"
          G_GUINT64_FORMAT " frames, its audio starts at %" G_GUINT64_FORMAT,
          chains[c], k, o.before[k], k * nominal);
    gst_object_unref (src);
    gst_harness_teardown (h);
  }
  g_free (x);
}

GST_END_TEST;

/* The `duration` of a draw in segment mode is the input it covers: the
 * draws' messages are contiguous (timestamp + duration = the next
 * timestamp) when segment-duration is not a whole number of frames, and
 * the first draw after a seek into a segment covers the rest of that
 * segment. It was segment-duration, whatever the draw covered (here
 * 0.3333 s for 0.2666 s after the seek, and 14699 frames = 0.33331 s
 * apart). */
GST_START_TEST (test_segment_durations)
{
  GstBus *bus;
  GstHarness *h = new_harness ("gain:1", 1.0, 2, "F32LE", "segdur", &bus);
  const gsize n = RATE;
  const guint64 seg = 14699;    /* llround (0.3333 x 44100) */
  gfloat *x = make_music (n);
  GstSegment segment;
  GstMessage *m;
  GstClockTime next = GST_CLOCK_TIME_NONE;
  gint count = 0;

  g_object_set (h->element, "segment-duration", 0.3333, NULL);
  gst_segment_init (&segment, GST_FORMAT_TIME);
  segment.start = segment.time = 400 * GST_MSECOND;
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&segment)));
  /* 17640 .. 61740 frames: draws 17640 | 29398 | 44097 | 58796 */
  fail_unless_equals_int (gst_harness_push (h, f32_buffer (x, n,
              RATE * 2 / 5)), GST_FLOW_OK);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  while ((m = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT)) != NULL) {
    const GstStructure *s = gst_message_get_structure (m);
    guint64 ts, dur;

    if (gst_structure_has_name (s, "musaugment")) {
      fail_unless (gst_structure_get_uint64 (s, "timestamp", &ts));
      fail_unless (gst_structure_get_uint64 (s, "duration", &dur));
      if (count == 0) {
        fail_unless_equals_uint64 (ts, 400 * GST_MSECOND);
        fail_unless_equals_uint64 (ts + dur,
            gst_util_uint64_scale_round (2 * seg, GST_SECOND, RATE));
      } else {
        fail_unless_equals_uint64 (ts, next);
        fail_unless_equals_uint64 (ts + dur,
            gst_util_uint64_scale_round ((count + 2) * seg, GST_SECOND, RATE));
      }
      next = ts + dur;
      count++;
    }
    gst_message_unref (m);
  }
  fail_unless_equals_int (count, 4);
  gst_harness_teardown (h);
  gst_object_unref (bus);
  g_free (x);
}

GST_END_TEST;

/* A segment-duration under half a frame is still segment mode (a draw per
 * frame), as the outgoing segment says (no stop, unscaled); it rounded to
 * 0 frames and ran one stretched draw for the whole stream inside that
 * unscaled segment (buffers at half their time). */
GST_START_TEST (test_segment_duration_under_a_frame)
{
  GstBus *bus;
  GstHarness *h = new_harness ("stretch:1(rate=2)", 1.0, 2, "F32LE", "tiny",
      &bus);
  gfloat x[2 * 8] = { 0 };
  GstSegment segment;
  GstMessage *m;
  GstBuffer *b;
  gint count = 0;

  g_object_set (h->element, "segment-duration", 1e-6, NULL);
  gst_segment_init (&segment, GST_FORMAT_TIME);
  segment.start = segment.time = GST_SECOND;
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&segment)));
  fail_unless_equals_int (gst_harness_push (h, f32_buffer (x, 8, RATE)),
      GST_FLOW_OK);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  while ((m = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT)) != NULL) {
    if (gst_structure_has_name (gst_message_get_structure (m), "musaugment"))
      count++;
    gst_message_unref (m);
  }
  fail_unless_equals_int (count, 8);
  while ((b = gst_harness_try_pull (h)) != NULL) {
    fail_unless (GST_BUFFER_PTS (b) >= GST_SECOND, "buffer at %"
        GST_TIME_FORMAT, GST_TIME_ARGS (GST_BUFFER_PTS (b)));
    gst_buffer_unref (b);
  }
  gst_harness_teardown (h);
  gst_object_unref (bus);
}

GST_END_TEST;

GST_START_TEST (test_nan)
{
  GstBus *bus;
  GstHarness *h = new_harness ("gain:1(db=-6),reverb:1", 1.0, 1, "F32LE",
      "nan", &bus);
  gfloat *x = make_music (4096);
  GstBuffer *out;
  GstMessage *m;
  Output o = { g_byte_array_new (), 0, TRUE, 0, 0 };
  gsize i;

  for (i = 100; i < 200; i++)
    x[i] = NAN;
  x[300] = INFINITY;
  gst_harness_push (h, f32_buffer (x, 4096, 0));
  gst_harness_push_event (h, gst_event_new_eos ());
  collect (h, &o);
  for (i = 0; i < o.bytes->len / sizeof (gfloat); i++)
    fail_unless (isfinite (((gfloat *) o.bytes->data)[i]));
  fail_unless (o.bytes->len >= 4096 * 2 * sizeof (gfloat));
  m = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  fail_unless (m != NULL, "no warning about non-finite samples");
  gst_message_unref (m);
  (void) out;
  output_free (&o);
  gst_harness_teardown (h);
  gst_object_unref (bus);
  g_free (x);
}

GST_END_TEST;

/* NaN/Inf input: one warning when they first appear and one count at EOS
 * (it posted a warning for every buffer that held any: a stream of NaN
 * flooded the bus with dozens of warnings a second). */
GST_START_TEST (test_nan_warns_once)
{
  GstBus *bus;
  GstHarness *h = new_harness ("gain:1(db=-6)", 1.0, 1, "F32LE", "nan",
      &bus);
  gfloat *x = g_new (gfloat, 2 * 1024); /* stereo */
  GstMessage *m;
  guint i, warnings = 0;
  GError *err = NULL;
  gchar *count = NULL;

  for (i = 0; i < 2 * 1024; i++)
    x[i] = i % 2 ? NAN : INFINITY;
  for (i = 0; i < 20; i++) {
    gst_harness_push (h, f32_buffer (x, 1024, (guint64) i * 1024));
    while ((m = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING))) {
      warnings++;
      gst_message_unref (m);
    }
  }
  fail_unless_equals_int (warnings, 1);
  gst_harness_push_event (h, gst_event_new_eos ());
  m = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  fail_unless (m != NULL, "no count at EOS");
  gst_message_parse_warning (m, &err, NULL);
  count = g_strdup_printf ("%u NaN, infinite or absurdly large", 20 * 2 * 1024);
  fail_unless (strstr (err->message, count) != NULL, "%s", err->message);
  g_free (count);
  g_error_free (err);
  gst_message_unref (m);
  fail_unless (gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING) == NULL);
  gst_harness_teardown (h);
  gst_object_unref (bus);
  g_free (x);
}

GST_END_TEST;

/* The tail drained at EOS goes out in buffers of bounded size. It was
 * collected into one buffer grown block by block (quadratic copying): an echo
 * of 5 s with feedback 0.95 (680 s to fall by 60 dB) at 48 kHz stereo took
 * more than 5 minutes and 600 MB at EOS. Here: a 1 s echo with feedback 0.5
 * rings for 11 s. */
GST_START_TEST (test_long_tail_in_chunks)
{
  GstHarness *h = new_harness ("echo:1(delay=1000,feedback=0.5,mix=1)", 1.0,
      1, "F32LE", "tail", NULL);
  gsize n = RATE / 2;
  gfloat *x = make_music (n);
  Output o = { g_byte_array_new (), 0, TRUE, 0, 0 };
  GstBuffer *b;
  gint count = 0;

  fail_unless_equals_int (gst_harness_push (h, f32_buffer (x, n, 0)),
      GST_FLOW_OK);
  collect (h, &o);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  while ((b = gst_harness_try_pull (h)) != NULL) {
    fail_unless (gst_buffer_get_size (b) <= RATE * 2 * sizeof (gfloat),
        "a tail buffer of %" G_GSIZE_FORMAT " frames",
        gst_buffer_get_size (b) / (2 * sizeof (gfloat)));
    fail_unless_equals_uint64 (GST_BUFFER_PTS (b), o.end_time);
    o.end_time = GST_BUFFER_PTS (b) + GST_BUFFER_DURATION (b);
    o.bytes = g_byte_array_set_size (o.bytes, o.bytes->len +
        gst_buffer_get_size (b));
    gst_buffer_unref (b);
    count++;
  }
  /* 0.5 s of input and 11 echoes of 1 s */
  fail_unless (count > 1);
  fail_unless_equals_int (o.bytes->len, (n + 11 * RATE) * 2 * sizeof (gfloat));
  fail_unless_equals_uint64 (o.end_time, 11500 * GST_MSECOND);
  output_free (&o);
  gst_harness_teardown (h);
  g_free (x);
}

GST_END_TEST;

/* A long GAP event is processed as silence in pieces: it was made into one
 * silent buffer of its whole length (up to an hour: at 192 kHz, 8 channels,
 * 22 GB) and processed at once; a 600 s gap at 48 kHz stereo did not finish
 * within 300 s. */
GST_START_TEST (test_long_gap_event)
{
  GstHarness *h = new_harness ("gain:1(db=-3)", 1.0, 1, "F32LE", "gap",
      NULL);
  gsize n = RATE / 10;
  gfloat *x = make_music (n);
  GstClockTime expect = 0;
  GstBuffer *b;
  guint64 frames = 0;

  fail_unless_equals_int (gst_harness_push (h, f32_buffer (x, n, 0)),
      GST_FLOW_OK);
  fail_unless (gst_harness_push_event (h,
          gst_event_new_gap (GST_SECOND / 10, 30 * GST_SECOND)));
  fail_unless_equals_int (gst_harness_push (h, f32_buffer (x, n,
              n + 30 * RATE)), GST_FLOW_OK);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  while ((b = gst_harness_try_pull (h)) != NULL) {
    gsize f = gst_buffer_get_size (b) / (2 * sizeof (gfloat));

    fail_unless (f <= RATE, "a buffer of %" G_GSIZE_FORMAT " frames", f);
    fail_unless_equals_uint64 (GST_BUFFER_PTS (b), expect);
    expect = GST_BUFFER_PTS (b) + GST_BUFFER_DURATION (b);
    frames += f;
    gst_buffer_unref (b);
  }
  fail_unless_equals_uint64 (frames, 2 * n + 30 * RATE);
  fail_unless_equals_uint64 (expect, 30200 * GST_MSECOND);
  gst_harness_teardown (h);
  g_free (x);
}

GST_END_TEST;

/* One big buffer (60 s) comes out whole (but for the output limiter's 91
 * frames, drained at EOS) and right: the conversion arrays
 * grow while it is processed block by block (their growth is geometric,
 * or one buffer costs copying quadratic in its size: the benchmark's
 * "one 60 s buffer" row measures that speed). */
GST_START_TEST (test_big_buffer_linear)
{
  GstHarness *h = new_harness ("gain:1(db=-6)", 1.0, 1, "F32LE", "big",
      NULL);
  gsize n = 60 * RATE, i, bad = 0;
  gfloat *x = g_new (gfloat, 2 * n);
  const gfloat g = powf (10.0f, -6.0f / 20.0f);
  GByteArray *out;

  for (i = 0; i < 2 * n; i++)
    x[i] = 0.5f * sinf (0.001f * (gfloat) i);
  out = push_all (h, f32_buffer (x, n, 0));
  fail_unless_equals_int (out->len, n * 2 * sizeof (gfloat));
  for (i = 0; i < 2 * n; i++)
    if (fabsf (((const gfloat *) out->data)[i] - g * x[i]) > 1e-5f)
      bad++;
  fail_unless (bad == 0, "%" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT
      " samples are not the input at -6 dB", bad, 2 * n);
  g_byte_array_unref (out);
  gst_harness_teardown (h);
  g_free (x);
}

GST_END_TEST;

/* A format change mid-stream (caps 44.1 kHz stereo -> mono, audio going on
 * right after): what the old format still held comes out (the stretcher's
 * residue, as audio of the old input), but not the reverb's ring-out, which
 * would overlap the new format's first buffers in time. Every output
 * buffer starts where the one before ended or later, and the old format's
 * output ends where its input (stretched) does. */
GST_START_TEST (test_caps_change_no_overlap)
{
  GstHarness *h = new_harness ("reverb:1(room=0.9,wet=0.5),"
      "stretch:1(rate=1.25)", 1.0, 1, "F32LE", "cc", NULL);
  const gsize n = RATE;
  gfloat *x = make_music (n);
  GstBuffer *b;
  GstClockTime end = 0, old_end;
  gint buffers = 0, pass;

  fail_unless_equals_int (gst_harness_push (h, f32_buffer (x, n, 0)),
      GST_FLOW_OK);
  for (pass = 0; pass < 2; pass++) {
    if (pass == 1) {
      /* the old format's output is out once the new caps are in */
      old_end = end;
      fail_unless (buffers > 0);
      /* 1 s of input at rate 1.25: 0.8 s of output, within a frame */
      fail_unless (old_end + GST_SECOND / RATE >= 800 * GST_MSECOND
          && old_end <= 800 * GST_MSECOND + GST_SECOND / RATE,
          "the old format's output ends at %" GST_TIME_FORMAT,
          GST_TIME_ARGS (old_end));
      b = gst_buffer_new_memdup (x, n * sizeof (gfloat));
      GST_BUFFER_PTS (b) = GST_SECOND;
      GST_BUFFER_DURATION (b) = GST_SECOND;
      fail_unless_equals_int (gst_harness_push (h, b), GST_FLOW_OK);
      fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
    } else {
      gst_harness_set_src_caps_str (h, "audio/x-raw,format=F32LE,"
          "rate=44100,channels=1,layout=interleaved");
    }
    while ((b = gst_harness_try_pull (h)) != NULL) {
      buffers++;
      fail_unless (GST_BUFFER_PTS (b) + 1 >= end, "buffer %d at %"
          GST_TIME_FORMAT " starts before the one before ended (%"
          GST_TIME_FORMAT ")", buffers, GST_TIME_ARGS (GST_BUFFER_PTS (b)),
          GST_TIME_ARGS (end));
      end = GST_BUFFER_PTS (b) + GST_BUFFER_DURATION (b);
      gst_buffer_unref (b);
    }
  }
  /* the new format's second of input, stretched and with its reverb tail,
   * after the old format's */
  fail_unless (end > 1600 * GST_MSECOND);
  gst_harness_teardown (h);
  g_free (x);
}

GST_END_TEST;

GST_START_TEST (test_bad_chain)
{
  GstElement *e = gst_element_factory_make ("musaugment", NULL);
  GstBus *bus = gst_bus_new ();
  GstMessage *m;
  GError *err = NULL;
  gchar *dbg = NULL;

  gst_element_set_bus (e, bus);
  g_object_set (e, "chain", "eq:0.5,reverb(wet=2)", NULL);
  fail_unless_equals_int (gst_element_set_state (e, GST_STATE_PAUSED),
      GST_STATE_CHANGE_FAILURE);
  m = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (m != NULL);
  gst_message_parse_error (m, &err, &dbg);
  fail_unless (strstr (err->message, "chain") != NULL, "%s", err->message);
  fail_unless (strstr (dbg, "chain: position 18") != NULL, "%s", dbg);
  g_error_free (err);
  g_free (dbg);
  gst_message_unref (m);
  gst_element_set_state (e, GST_STATE_NULL);
  gst_object_unref (e);
  gst_object_unref (bus);
}

GST_END_TEST;

/* The settings the README lets a playing element take (applied from the
 * next draw session) say so to applications (they were flagged
 * READY-only); a bad chain set while playing gives one error, not one at
 * the segment and another at the first buffer. */
GST_START_TEST (test_chain_set_while_playing_bad)
{
  static const gchar *live[] = { "seed", "probability", "chain",
    "segment-duration", "stream-key"
  };
  GstBus *bus;
  GstHarness *h = new_harness ("gain:1", 1.0, 3, "F32LE", "bad", &bus);
  gfloat *x = make_music (RATE / 10);
  GstSegment seg;
  GstMessage *m;
  GstFlowReturn ret;
  gint errors = 0;
  guint i;

  for (i = 0; i < G_N_ELEMENTS (live); i++) {
    GParamSpec *ps = g_object_class_find_property (G_OBJECT_GET_CLASS
        (h->element), live[i]);

    fail_unless (ps->flags & GST_PARAM_MUTABLE_PLAYING, "%s", live[i]);
  }
  fail_unless_equals_int (gst_harness_push (h, f32_buffer (x, RATE / 10, 0)),
      GST_FLOW_OK);
  g_object_set (h->element, "chain", "foo:1", NULL);
  gst_segment_init (&seg, GST_FORMAT_TIME);
  seg.start = seg.time = GST_SECOND;
  gst_harness_push_event (h, gst_event_new_segment (&seg));
  ret = gst_harness_push (h, f32_buffer (x, RATE / 10, RATE));
  fail_unless (ret != GST_FLOW_OK);
  while ((m = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR)) != NULL) {
    errors++;
    gst_message_unref (m);
  }
  fail_unless_equals_int (errors, 1);
  gst_harness_teardown (h);
  gst_object_unref (bus);
  g_free (x);
}

GST_END_TEST;

/* In segment mode a draw never lowers the latency the element reports:
 * the previous draw's held output still goes out with its delay, and a live
 * sink told the lower figure dropped it as late (a pitch draw followed by
 * one without). */
GST_START_TEST (test_segment_latency_never_lowered)
{
  GstBus *bus;
  GstHarness *h = new_harness ("gain:0.5(db=-1),pitch:0.5(semitones=2)",
      1.0, 4, "F32LE",
      "lat", &bus);
  const gsize n = RATE / 4;
  gfloat *x = make_music (n);
  GstClockTime lat, prev = 0;
  GstMessage *m;
  gint i, with = 0, after_without = 0;
  gboolean seen_pitch = FALSE;

  g_object_set (h->element, "segment-duration", 0.25, NULL);
  for (i = 0; i < 16; i++) {
    fail_unless_equals_int (gst_harness_push (h, f32_buffer (x, n, i * n)),
        GST_FLOW_OK);
    lat = gst_harness_query_latency (h);
    fail_unless (lat >= prev, "segment %d: latency %" GST_TIME_FORMAT
        " after %" GST_TIME_FORMAT, i, GST_TIME_ARGS (lat),
        GST_TIME_ARGS (prev));
    prev = lat;
  }
  /* the draws did go from a pitch shift to none */
  while ((m = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT)) != NULL) {
    const GstStructure *st = gst_message_get_structure (m);
    gdouble shift;

    if (gst_structure_has_name (st, "musaugment")
        && gst_structure_get_double (st, "key-shift", &shift)) {
      if (shift != 0.0) {
        with++;
        seen_pitch = TRUE;
      } else if (seen_pitch) {
        after_without++;
      }
    }
    gst_message_unref (m);
  }
  fail_unless (with > 0 && after_without > 0, "%d pitch draws, %d without "
      "after one", with, after_without);
  gst_harness_teardown (h);
  gst_object_unref (bus);
  g_free (x);
}

GST_END_TEST;

GST_START_TEST (test_states)
{
  GstElement *e = gst_element_factory_make ("musaugment", NULL);
  int i;

  for (i = 0; i < 3; i++) {
    fail_unless (gst_element_set_state (e, GST_STATE_PLAYING) !=
        GST_STATE_CHANGE_FAILURE);
    fail_unless (gst_element_set_state (e, GST_STATE_NULL) ==
        GST_STATE_CHANGE_SUCCESS);
  }
  gst_object_unref (e);
}

GST_END_TEST;

/* A segment seek's segment ends with SEGMENT_DONE, not EOS: the
 * stretcher's residue and the tails belong to it and must come out before
 * the event (they came only with the next segment, or never when the
 * application stopped there: downstream saw 0.77 of 0.8 s). */
GST_START_TEST (test_segment_done_drains)
{
  const gsize n = RATE;
  gfloat *x = make_music (n);
  GstHarness *h = new_harness ("stretch:1(rate=1.25),reverb:1(wet=0.2)", 1.0,
      1, "F32LE", "segdone", NULL);
  Output o = { g_byte_array_new (), 0, FALSE, 0, 0 };
  GstEvent *ev;
  gboolean seen = FALSE;

  fail_unless_equals_int (gst_harness_push (h, f32_buffer (x, n, 0)),
      GST_FLOW_OK);
  fail_unless (gst_harness_push_event (h,
          gst_event_new_segment_done (GST_FORMAT_TIME, GST_SECOND)));
  collect (h, &o);
  while ((ev = gst_harness_try_pull_event (h)) != NULL) {
    if (GST_EVENT_TYPE (ev) == GST_EVENT_SEGMENT_DONE) {
      GstFormat fmt;
      gint64 position;

      /* its position on the outgoing (stretched) timeline, as the segment
       * it ends (it was the input's: 1 s, past the segment's 0.8 s) */
      gst_event_parse_segment_done (ev, &fmt, &position);
      fail_unless_equals_int64 (position, 800 * GST_MSECOND);
      seen = TRUE;
    }
    gst_event_unref (ev);
  }
  fail_unless (seen, "SEGMENT_DONE not forwarded");
  /* the whole stretched second and the reverb's tail after it */
  fail_unless (o.end_time > 800 * GST_MSECOND, "output ends at %"
      GST_TIME_FORMAT, GST_TIME_ARGS (o.end_time));
  fail_unless (o.continuous);
  output_free (&o);
  gst_harness_teardown (h);
  g_free (x);
}

GST_END_TEST;

/* A segment seek's loop over a stretched segment: each loop's segment comes
 * with the running time the loops before took (its base), on the input's
 * timeline. The outgoing base was the input's: with stretch 0.8 each 1 s
 * loop lasts 1.25 s, and the second loop started at running time 1 s, 0.25 s
 * before the first had ended (a synchronised sink dropped the overlap). */
GST_START_TEST (test_segment_loop_base)
{
  GstHarness *h = new_harness ("stretch:1(rate=0.8)", 1.0, 1, "F32LE",
      "loop", NULL);
  gfloat *x = make_music (RATE);
  GstSegment seg;
  const GstSegment *out;
  GstEvent *ev;
  guint64 bases[3];
  gint loop, n = 0;

  for (loop = 0; loop < 3; loop++) {
    gst_segment_init (&seg, GST_FORMAT_TIME);
    seg.flags = GST_SEGMENT_FLAG_SEGMENT;
    seg.stop = GST_SECOND;
    seg.base = loop * GST_SECOND;
    fail_unless (gst_harness_push_event (h, gst_event_new_segment (&seg)));
    fail_unless_equals_int (gst_harness_push (h, f32_buffer (x, RATE, 0)),
        GST_FLOW_OK);
    fail_unless (gst_harness_push_event (h,
            gst_event_new_segment_done (GST_FORMAT_TIME, GST_SECOND)));
  }
  while ((ev = gst_harness_try_pull_event (h)) != NULL) {
    if (GST_EVENT_TYPE (ev) == GST_EVENT_SEGMENT) {
      gst_event_parse_segment (ev, &out);
      if (out->flags & GST_SEGMENT_FLAG_SEGMENT) {
        fail_unless_equals_uint64 (out->stop, 1250 * GST_MSECOND);
        bases[n++] = out->base;
      }
    }
    gst_event_unref (ev);
  }
  fail_unless_equals_int (n, 3);
  fail_unless_equals_uint64 (bases[0], 0);
  fail_unless_equals_uint64 (bases[1], 1250 * GST_MSECOND);
  fail_unless_equals_uint64 (bases[2], 2500 * GST_MSECOND);

  /* segment mode, draws of their own rates: each loop starts where the
   * output of the one before ended in running time (it started 1 s after
   * the last one, before its 1.25 s of output had ended) */
  gst_harness_teardown (h);
  h = new_harness ("stretch:1(rate=0.8)", 1.0, 1, "F32LE", "loop", NULL);
  g_object_set (h->element, "segment-duration", 0.5, NULL);
  n = 0;
  for (loop = 0; loop < 2; loop++) {
    GstBuffer *b;

    gst_segment_init (&seg, GST_FORMAT_TIME);
    seg.flags = GST_SEGMENT_FLAG_SEGMENT;
    seg.stop = GST_SECOND;
    seg.base = loop * GST_SECOND;
    fail_unless (gst_harness_push_event (h, gst_event_new_segment (&seg)));
    fail_unless_equals_int (gst_harness_push (h, f32_buffer (x, RATE, 0)),
        GST_FLOW_OK);
    fail_unless (gst_harness_push_event (h,
            gst_event_new_segment_done (GST_FORMAT_TIME, GST_SECOND)));
    while ((ev = gst_harness_try_pull_event (h)) != NULL) {
      if (GST_EVENT_TYPE (ev) == GST_EVENT_SEGMENT) {
        gst_event_parse_segment (ev, &out);
        if (out->flags & GST_SEGMENT_FLAG_SEGMENT)
          bases[n++] = out->base;
      }
      gst_event_unref (ev);
    }
    while ((b = gst_harness_try_pull (h)) != NULL) {
      if (loop == 0)
        bases[2] = GST_BUFFER_PTS (b) + GST_BUFFER_DURATION (b);
      gst_buffer_unref (b);
    }
  }
  fail_unless_equals_int (n, 2);
  fail_unless_equals_uint64 (bases[0], 0);
  /* the first loop's output ends at 1.25 s (start 0, base 0) */
  fail_unless (bases[2] >= 1249 * GST_MSECOND
      && bases[2] <= 1251 * GST_MSECOND, "output ends at %" GST_TIME_FORMAT,
      GST_TIME_ARGS (bases[2]));
  fail_unless_equals_uint64 (bases[1], bases[2]);

  /* a flushing seek resets running time: the base is the input's again */
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_start ()));
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_stop (TRUE)));
  gst_segment_init (&seg, GST_FORMAT_TIME);
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&seg)));
  while ((ev = gst_harness_try_pull_event (h)) != NULL) {
    if (GST_EVENT_TYPE (ev) == GST_EVENT_SEGMENT) {
      gst_event_parse_segment (ev, &out);
      fail_unless_equals_uint64 (out->base, 0);
    }
    gst_event_unref (ev);
  }
  gst_harness_teardown (h);
  g_free (x);
}

GST_END_TEST;

/* what a sink sees of a segment seek's loops: each buffer against the
 * segment in force */
typedef struct
{
  GstSegment seg;
  gint loop;                    /* SEGMENT events with the SEGMENT flag */
  gint clipped;                 /* buffers (partly) outside the segment */
  GstClockTime end_rt[4];       /* running time of each loop's output end */
  GstClockTime start_rt[4];     /* and of its first buffer */
} LoopView;

static GstPadProbeReturn
loop_view_probe (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  LoopView *v = user_data;

  if (GST_PAD_PROBE_INFO_TYPE (info) & GST_PAD_PROBE_TYPE_BUFFER) {
    GstBuffer *b = GST_PAD_PROBE_INFO_BUFFER (info);
    guint64 t0 = GST_BUFFER_PTS (b), t1 = t0 + GST_BUFFER_DURATION (b), c0, c1;
    gint i = MIN (v->loop, 3);

    if (!gst_segment_clip (&v->seg, GST_FORMAT_TIME, t0, t1, &c0, &c1)
        || c0 != t0 || c1 != t1)
      v->clipped++;
    if (!GST_CLOCK_TIME_IS_VALID (v->start_rt[i]))
      v->start_rt[i] = gst_segment_to_running_time (&v->seg, GST_FORMAT_TIME,
          t0);
    v->end_rt[i] = gst_segment_to_running_time (&v->seg, GST_FORMAT_TIME, t1);
  } else {
    GstEvent *ev = GST_PAD_PROBE_INFO_EVENT (info);

    if (GST_EVENT_TYPE (ev) == GST_EVENT_SEGMENT) {
      const GstSegment *seg;

      gst_event_parse_segment (ev, &seg);
      /* a new loop, not the same one again */
      if ((seg->flags & GST_SEGMENT_FLAG_SEGMENT) && (v->loop == 0
              || seg->base != v->seg.base))
        v->loop++;
      gst_segment_copy_into (seg, &v->seg);
    }
  }
  return GST_PAD_PROBE_OK;
}

/* The echo's tail drained at the end of a segment seek's segment
 * (SEGMENT_DONE) runs past the segment's stop: the segment is opened for
 * it, and the next loop starts after it in running time. It went out past
 * the stop, where a sink clipped it, and the next loop's base ignored it
 * (20 s of output for 3 loops of 4 s, 14 s rendered). */
GST_START_TEST (test_segment_loop_tail)
{
  GstHarness *h = new_harness ("echo:1(delay=300,feedback=0.5,mix=0.5)", 1.0,
      1, "F32LE", "looptail", NULL);
  const gsize n = RATE / 2;
  gfloat *x = make_music (n);
  GstPad *src = gst_element_get_static_pad (h->element, "src");
  GstSegment seg;
  LoopView v;
  gint loop, i;

  memset (&v, 0, sizeof (v));
  gst_segment_init (&v.seg, GST_FORMAT_TIME);
  for (i = 0; i < 4; i++)
    v.start_rt[i] = v.end_rt[i] = GST_CLOCK_TIME_NONE;
  gst_pad_add_probe (src, GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, loop_view_probe, &v, NULL);
  for (loop = 0; loop < 2; loop++) {
    gst_segment_init (&seg, GST_FORMAT_TIME);
    seg.flags = GST_SEGMENT_FLAG_SEGMENT;
    seg.stop = GST_SECOND / 2;
    seg.base = loop * GST_SECOND / 2;
    fail_unless (gst_harness_push_event (h, gst_event_new_segment (&seg)));
    fail_unless_equals_int (gst_harness_push (h, f32_buffer (x, n, 0)),
        GST_FLOW_OK);
    fail_unless (gst_harness_push_event (h,
            gst_event_new_segment_done (GST_FORMAT_TIME, GST_SECOND / 2)));
  }
  fail_unless_equals_int (v.loop, 2);
  fail_unless_equals_int (v.clipped, 0);
  /* the first loop's tail rang on past its 0.5 s */
  fail_unless (v.end_rt[1] > GST_SECOND, "first loop ends at %"
      GST_TIME_FORMAT, GST_TIME_ARGS (v.end_rt[1]));
  /* the second starts after it */
  fail_unless (v.start_rt[2] >= v.end_rt[1], "second loop at %"
      GST_TIME_FORMAT ", the first ends at %" GST_TIME_FORMAT,
      GST_TIME_ARGS (v.start_rt[2]), GST_TIME_ARGS (v.end_rt[1]));
  gst_object_unref (src);
  gst_harness_teardown (h);
  g_free (x);
}

GST_END_TEST;

/* A playlist that sets the next file's chain between streams (gapless,
 * without a state change): the next stream's outgoing segment is scaled by
 * the rate of the chain its audio is processed with. The segment was
 * scaled with the previous chain (rate 1: segment 2..10 s, buffers from
 * 1 s, outside it), the audio stretched with the new one. */
GST_START_TEST (test_chain_change_between_streams)
{
  const gsize n = RATE / 2;
  gfloat *x = make_music (n);
  GstHarness *h = new_harness ("none", 1.0, 1, "F32LE", "file-1", NULL);
  GstSegment seg;
  GstEvent *ev;
  GstBuffer *b;
  gboolean seen = FALSE;

  fail_unless_equals_int (gst_harness_push (h, f32_buffer (x, n, 0)),
      GST_FLOW_OK);
  g_object_set (h->element, "chain", "stretch:1(rate=2)", NULL);
  fail_unless (gst_harness_push_event (h,
          gst_event_new_stream_start ("file-2")));
  gst_segment_init (&seg, GST_FORMAT_TIME);
  seg.start = seg.time = 2 * GST_SECOND;
  seg.stop = 10 * GST_SECOND;
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&seg)));
  fail_unless_equals_int (gst_harness_push (h, f32_buffer (x, n, 2 * RATE)),
      GST_FLOW_OK);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  while ((ev = gst_harness_try_pull_event (h)) != NULL) {
    if (GST_EVENT_TYPE (ev) == GST_EVENT_SEGMENT) {
      const GstSegment *out;

      gst_event_parse_segment (ev, &out);
      if (out->start > 0) {
        seen = TRUE;
        fail_unless_equals_uint64 (out->start, GST_SECOND);
        fail_unless_equals_uint64 (out->stop, 5 * GST_SECOND);
      }
    }
    gst_event_unref (ev);
  }
  fail_unless (seen, "no segment for the second stream");
  /* the first stream's half second, then the second's from 1 s */
  while ((b = gst_harness_try_pull (h)) != NULL) {
    if (GST_BUFFER_PTS (b) >= GST_SECOND / 2)
      fail_unless (GST_BUFFER_PTS (b) >= GST_SECOND
          && GST_BUFFER_PTS (b) < 5 * GST_SECOND / 4, "buffer at %"
          GST_TIME_FORMAT, GST_TIME_ARGS (GST_BUFFER_PTS (b)));
    gst_buffer_unref (b);
  }
  gst_harness_teardown (h);
  g_free (x);
}

GST_END_TEST;

/* A chain set while playing applies from the next draw session: in
 * segment mode the session under way goes on drawing from the chain it
 * started with. The element freed that chain when the same segment came
 * again (sticky events re-sent after a relink) and the next segment's draw
 * read freed memory (a crash in 3 of 3 PyGObject runs). */
GST_START_TEST (test_chain_set_while_segments)
{
  GstBus *bus;
  GstHarness *h = new_harness ("gain:1,eq:1", 1.0, 3, "F32LE", "seg", &bus);
  const gsize n = RATE / 10;
  gfloat *x = make_music (20 * n);
  GstSegment seg;
  GstMessage *m;
  GstBuffer *b;
  gint i, draws = 0;
  gsize frames = 0;

  g_object_set (h->element, "segment-duration", 0.2, NULL);
  gst_segment_init (&seg, GST_FORMAT_TIME);
  for (i = 0; i < 20; i++) {
    if (i % 5 == 2) {
      g_object_set (h->element, "chain", i % 10 == 2 ? "reverb:1,echo:1" :
          "gain:1,eq:1,chorus:1", NULL);
      fail_unless (gst_harness_push_event (h, gst_event_new_segment (&seg)));
    }
    fail_unless_equals_int (gst_harness_push (h, f32_buffer (x + 2 * i * n,
                n, i * n)), GST_FLOW_OK);
  }
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  while ((b = gst_harness_try_pull (h)) != NULL) {
    GstMapInfo map;
    gsize k;

    gst_buffer_map (b, &map, GST_MAP_READ);
    for (k = 0; k < map.size / sizeof (gfloat); k++)
      fail_unless (isfinite (((gfloat *) map.data)[k]));
    frames += map.size / (2 * sizeof (gfloat));
    gst_buffer_unmap (b, &map);
    gst_buffer_unref (b);
  }
  fail_unless_equals_int (frames, 20 * n);
  /* every draw of the session comes from the chain it started with */
  while ((m = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT)) != NULL) {
    const GstStructure *s = gst_message_get_structure (m);
    const gchar *desc;

    if (gst_structure_has_name (s, "musaugment")) {
      desc = gst_structure_get_string (s, "description");
      fail_unless (strstr (desc, "reverb") == NULL
          && strstr (desc, "chorus") == NULL, "%s", desc);
      draws++;
    }
    gst_message_unref (m);
  }
  fail_unless_equals_int (draws, 10);
  gst_harness_teardown (h);
  gst_object_unref (bus);
  g_free (x);
}

GST_END_TEST;

/* A BYTES segment (appsrc's default format, filesrc straight into raw
 * caps): processed, the draw's times NONE, without the GStreamer-CRITICALs
 * of converting TIME on it (gst_segment_to_stream_time / _running_time:
 * assertion 'segment->format == format' failed, fatal here). */
GST_START_TEST (test_bytes_segment)
{
  GstHarness *h;
  GstBus *bus = gst_bus_new ();
  GstSegment seg;
  GstMessage *m;
  GstBuffer *b;
  gfloat x[2 * 441] = { 0 };
  gint draws = 0;
  gsize out = 0;

  h = gst_harness_new_parse ("musaugment probability=1 "
      "chain=gain:1(db=-6) segment-duration=0.005");
  gst_element_set_bus (h->element, bus);
  gst_harness_set_src_caps_str (h, "audio/x-raw,format=F32LE,rate=44100,"
      "channels=2,layout=interleaved");
  gst_segment_init (&seg, GST_FORMAT_BYTES);
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&seg)));
  b = gst_buffer_new_memdup (x, sizeof (x));
  fail_unless_equals_int (gst_harness_push (h, b), GST_FLOW_OK);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  while ((b = gst_harness_try_pull (h)) != NULL) {
    out += gst_buffer_get_size (b);
    gst_buffer_unref (b);
  }
  fail_unless_equals_int (out, sizeof (x));
  while ((m = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT)) != NULL) {
    const GstStructure *s = gst_message_get_structure (m);
    guint64 st;

    if (gst_structure_has_name (s, "musaugment")) {
      fail_unless (gst_structure_get_uint64 (s, "stream-time", &st));
      fail_unless_equals_uint64 (st, GST_CLOCK_TIME_NONE);
      draws++;
    }
    gst_message_unref (m);
  }
  fail_unless (draws >= 2, "%d draws", draws);
  gst_harness_teardown (h);
  gst_object_unref (bus);
}

GST_END_TEST;

static Suite *
musaugment_suite (void)
{
  Suite *s = suite_create ("musaugment");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 120);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_reproducible);
  tcase_add_test (tc, test_identity_bit_exact);
  tcase_add_test (tc, test_s16_gain);
  tcase_add_test (tc, test_formats);
  tcase_add_test (tc, test_latency);
  tcase_add_test (tc, test_stretch_timestamps);
  tcase_add_test (tc, test_stretch_seeking_query);
  tcase_add_test (tc, test_discont);
  tcase_add_test (tc, test_discont_dropout);
  tcase_add_test (tc, test_discont_far_no_overlap);
  tcase_add_test (tc, test_segment_mode_restart_continuous);
  tcase_add_test (tc, test_segment_index_before_start);
  tcase_add_test (tc, test_huge_finite);
  tcase_add_test (tc, test_reverse_playback);
  tcase_add_test (tc, test_segment_again);
  tcase_add_test (tc, test_timestamp_jump);
  tcase_add_test (tc, test_gap_event);
  tcase_add_test (tc, test_gap_overlap);
  tcase_add_test (tc, test_tail);
  tcase_add_test (tc, test_flush);
  tcase_add_test (tc, test_provenance);
  tcase_add_test (tc, test_provenance_stream_key);
  tcase_add_test (tc, test_file_key_canonical);
  tcase_add_test (tc, test_provenance_keeps_upstream_tags);
  tcase_add_test (tc, test_segments_messages);
  tcase_add_test (tc, test_segment_tags_before_their_audio);
  tcase_add_test (tc, test_segment_tags_at_their_audio);
  tcase_add_test (tc, test_segment_durations);
  tcase_add_test (tc, test_segment_duration_under_a_frame);
  tcase_add_test (tc, test_nan);
  tcase_add_test (tc, test_nan_warns_once);
  tcase_add_test (tc, test_long_tail_in_chunks);
  tcase_add_test (tc, test_long_gap_event);
  tcase_add_test (tc, test_big_buffer_linear);
  tcase_add_test (tc, test_caps_change_no_overlap);
  tcase_add_test (tc, test_bad_chain);
  tcase_add_test (tc, test_states);
  tcase_add_test (tc, test_segment_done_drains);
  tcase_add_test (tc, test_segment_loop_base);
  tcase_add_test (tc, test_segment_loop_tail);
  tcase_add_test (tc, test_chain_change_between_streams);
  tcase_add_test (tc, test_chain_set_while_segments);
  tcase_add_test (tc, test_chain_set_while_playing_bad);
  tcase_add_test (tc, test_segment_latency_never_lowered);
  tcase_add_test (tc, test_bytes_segment);
  return s;
}

GST_CHECK_MAIN (musaugment);
