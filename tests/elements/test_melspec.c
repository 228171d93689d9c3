/* Element tests of melspec (GstHarness). */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/audio/audio.h>
#include <malloc.h>
#include <math.h>
#include <string.h>

#include "elementtest.h"

#define AUDIO_CAPS(fmt, rate, ch) \
  "audio/x-raw, format=" fmt ", layout=interleaved, rate=" #rate \
  ", channels=" #ch

/* a deterministic test signal: a chirp plus a chord, mono */
static void
make_signal (gfloat * x, gsize n, gint rate)
{
  gsize i;

  for (i = 0; i < n; i++) {
    gdouble t = (gdouble) i / rate;
    x[i] = (gfloat) (0.3 * sin (2 * G_PI * (100.0 * t + 400.0 * t * t)) +
        0.1 * sin (2 * G_PI * 440.0 * t) + 0.1 * sin (2 * G_PI * 554.37 * t));
  }
}

typedef struct
{
  GArray *values;               /* every frame's values, in order */
  guint64 next_frame;
  guint messages;
  GstClockTime next_ts;
  gboolean contiguous;
  gint n_mels;
  gboolean finite;
} Collected;

static void
collected_init (Collected * c)
{
  c->values = g_array_new (FALSE, FALSE, sizeof (gfloat));
  c->next_frame = 0;
  c->messages = 0;
  c->next_ts = 0;
  c->contiguous = TRUE;
  c->n_mels = 0;
  c->finite = TRUE;
}

static void
collect_messages (GstBus * bus, Collected * c)
{
  GstMessage *msg;

  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    const GstStructure *s = gst_message_get_structure (msg);
    GstClockTime ts, dur;
    guint64 first;
    gint n_frames, n_mels;
    GstBuffer *frames = NULL;
    GstMapInfo map;
    gsize i;

    fail_unless (gst_structure_has_name (s, "melspec"));
    fail_unless (gst_structure_get (s, "timestamp", G_TYPE_UINT64, &ts,
            "duration", G_TYPE_UINT64, &dur, "first-frame", G_TYPE_UINT64,
            &first, "n-frames", G_TYPE_INT, &n_frames, "n-mels", G_TYPE_INT,
            &n_mels, "frames", GST_TYPE_BUFFER, &frames, NULL));
    fail_unless (gst_structure_has_field (s, "stream-time"));
    fail_unless (gst_structure_has_field (s, "running-time"));
    fail_unless (gst_structure_has_field (s, "first-frame-time"));
    if (ts != c->next_ts || first != c->next_frame)
      c->contiguous = FALSE;
    c->next_ts = ts + dur;
    c->next_frame = first + n_frames;
    c->n_mels = n_mels;
    c->messages++;
    fail_unless (gst_buffer_map (frames, &map, GST_MAP_READ));
    fail_unless_equals_int (map.size, (gsize) n_frames * n_mels * 4);
    for (i = 0; i < map.size / 4; i++)
      if (!isfinite (((gfloat *) map.data)[i]))
        c->finite = FALSE;
    g_array_append_vals (c->values, map.data, map.size / 4);
    gst_buffer_unmap (frames, &map);
    gst_buffer_unref (frames);
    gst_message_unref (msg);
  }
}

/* Runs @x (mono F32, @n samples) through melspec in chunks of @chunk samples
 * and collects the messages. */
static void
run_passthrough (const gchar * props, const gfloat * x, gsize n, gint rate,
    gsize chunk, Collected * c)
{
  gchar *desc = g_strdup_printf ("melspec %s", props);
  gchar *caps = g_strdup_printf (AUDIO_CAPS ("F32LE", %d, 1), rate);
  GstHarness *h = gst_harness_new_parse (desc);
  GstBus *bus = gst_bus_new ();
  gsize done;

  gst_element_set_bus (h->element, bus);
  gst_harness_set_caps_str (h, caps, caps);
  gst_harness_play (h);
  for (done = 0; done < n; done += chunk) {
    gsize len = MIN (chunk, n - done);
    GstBuffer *in = gst_buffer_new_memdup (x + done, len * sizeof (gfloat));
    GstBuffer *out;
    GST_BUFFER_PTS (in) = gst_util_uint64_scale_int (done, GST_SECOND, rate);
    GST_BUFFER_DURATION (in) = gst_util_uint64_scale_int (len, GST_SECOND,
        rate);
    fail_unless_equals_int (gst_harness_push (h, in), GST_FLOW_OK);
    out = gst_harness_pull (h);
    /* passthrough: the same samples come out */
    fail_unless (gst_buffer_memcmp (out, 0, x + done,
            len * sizeof (gfloat)) == 0);
    gst_buffer_unref (out);
  }
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  collected_init (c);
  collect_messages (bus, c);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
  g_free (desc);
  g_free (caps);
}

GST_START_TEST (test_passthrough_frames_and_timing)
{
  const gint rate = 22050;
  const gsize n = rate * 2 + 123;
  gfloat *x = g_new (gfloat, n);
  Collected c;

  make_signal (x, n, rate);
  run_passthrough ("interval=250000000", x, n, rate, 1000, &c);
  /* librosa: 1 + n // hop frames with center=True */
  fail_unless_equals_int (c.next_frame, 1 + n / 512);
  fail_unless_equals_int (c.values->len, (1 + n / 512) * 128);
  fail_unless (c.contiguous, "intervals must be contiguous");
  /* 2.0056 s in 250 ms intervals: 8 full + the partial one at EOS */
  fail_unless_equals_int (c.messages, 9);
  fail_unless_equals_uint64 (c.next_ts, gst_util_uint64_scale_int_round (n,
          GST_SECOND, rate));
  fail_unless (c.finite);
  g_array_unref (c.values);
  g_free (x);
}

GST_END_TEST;

/* first-frame-time is on the timeline of `timestamp` (buffer time), also
 * where running time differs from it (a segment starting at 10 s, as after
 * a seek): frame f's centre, sample f x hop after the segment's start. */
GST_START_TEST (test_first_frame_time_timeline)
{
  const gint rate = 22050;
  const gsize n = rate * 3 / 2;
  gfloat *x = g_new (gfloat, n);
  GstHarness *h = gst_harness_new_parse ("melspec");
  GstBus *bus = gst_bus_new ();
  GstSegment seg;
  GstMessage *msg;
  gsize done;
  guint messages = 0;

  make_signal (x, n, rate);
  gst_element_set_bus (h->element, bus);
  gst_harness_set_caps_str (h, AUDIO_CAPS ("F32LE", 22050, 1),
      AUDIO_CAPS ("F32LE", 22050, 1));
  gst_segment_init (&seg, GST_FORMAT_TIME);
  seg.start = seg.time = seg.position = 10 * GST_SECOND;
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&seg)));
  for (done = 0; done < n; done += 4096) {
    gsize len = MIN (4096, n - done);
    GstBuffer *in = gst_buffer_new_memdup (x + done, len * sizeof (gfloat));

    GST_BUFFER_PTS (in) = 10 * GST_SECOND +
        gst_util_uint64_scale_int (done, GST_SECOND, rate);
    fail_unless_equals_int (gst_harness_push (h, in), GST_FLOW_OK);
    gst_buffer_unref (gst_harness_pull (h));
  }
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    const GstStructure *st = gst_message_get_structure (msg);
    guint64 ts, rt, frame, fft;

    fail_unless (gst_structure_get (st, "timestamp", G_TYPE_UINT64, &ts,
            "running-time", G_TYPE_UINT64, &rt, "first-frame", G_TYPE_UINT64,
            &frame, "first-frame-time", G_TYPE_UINT64, &fft, NULL));
    fail_unless_equals_uint64 (rt, ts - 10 * GST_SECOND);
    fail_unless_equals_uint64 (fft, 10 * GST_SECOND +
        gst_util_uint64_scale_int_round (frame * 512, GST_SECOND, rate));
    messages++;
    gst_message_unref (msg);
  }
  fail_unless_equals_int (messages, 2);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
  g_free (x);
}

GST_END_TEST;

GST_START_TEST (test_chunk_invariance)
{
  const gint rate = 16000;
  const gsize n = rate;
  const gsize chunks[] = { 1, 7, 512, 4096, 65536 };
  gfloat *x = g_new (gfloat, n);
  Collected ref, c;
  guint i;

  make_signal (x, n, rate);
  run_passthrough ("log=db n-mels=40", x, n, rate, chunks[2], &ref);
  for (i = 0; i < G_N_ELEMENTS (chunks); i++) {
    run_passthrough ("log=db n-mels=40", x, n, rate, chunks[i], &c);
    fail_unless_equals_int (c.values->len, ref.values->len);
    fail_unless (memcmp (c.values->data, ref.values->data,
            ref.values->len * sizeof (gfloat)) == 0,
        "frames differ with %zu-sample buffers", chunks[i]);
    g_array_unref (c.values);
  }
  g_array_unref (ref.values);
  g_free (x);
}

GST_END_TEST;

/* the value of a 1 kHz sine of amplitude 1 in a known closed form: with a
 * periodic Hann window, |X(k)| at the sine's bin is n_fft / 4 */
GST_START_TEST (test_sine_peak_band)
{
  const gint rate = 16000;
  const gsize n = rate;
  gfloat *x = g_new (gfloat, n);
  Collected c;
  gsize i;
  gint best = 0, m;
  const gfloat *frame;

  for (i = 0; i < n; i++)
    x[i] = (gfloat) sin (2 * G_PI * 1000.0 * i / rate);
  run_passthrough ("n-fft=512 hop-length=128 n-mels=64 norm=none power=1", x,
      n, rate, 4096, &c);
  /* a frame in the middle */
  frame = &g_array_index (c.values, gfloat, (gsize) 40 * 64);
  for (m = 1; m < 64; m++)
    if (frame[m] > frame[best])
      best = m;
  /* the band whose centre is nearest to 1 kHz on the Slaney scale */
  {
    gdouble lo = 0.0, hi = 8000.0 / (200.0 / 3.0);      /* fmax in mels */
    gdouble hi_mel = 15.0 + log (8000.0 / 1000.0) / (log (6.4) / 27.0);
    gdouble step = hi_mel / 65.0;
    gint expect = (gint) round (15.0 / step) - 1;
    (void) lo;
    (void) hi;
    fail_unless (abs (best - expect) <= 1, "peak band %d, expected %d", best,
        expect);
  }
  /* unnormalised triangle of height 1 at the bin: the band sums
   * weight * |X| over the bins of the sine's main lobe */
  fail_unless (frame[best] > 0.5 * 512 / 4 && frame[best] < 2.0 * 512 / 4,
      "peak band value %g", frame[best]);
  g_array_unref (c.values);
  g_free (x);
}

GST_END_TEST;

/* The error melspec posts for @props at @rate: when it starts (settings
 * that need no rate) or at the caps. *@at_start says which. */
static gchar *
error_for (const gchar * props, gint rate, gboolean * at_start)
{
  gchar *desc = g_strdup_printf ("melspec %s", props);
  gchar *caps;
  GstHarness *h;
  GstBus *bus;
  gchar *text = start_error (desc);
  gfloat zeros[256] = { 0 };

  *at_start = text != NULL;
  if (*at_start) {
    g_free (desc);
    return text;
  }
  caps = g_strdup_printf (AUDIO_CAPS ("F32LE", %d, 1), rate);
  bus = gst_bus_new ();
  h = gst_harness_new_parse (desc);
  gst_element_set_bus (h->element, bus);
  /* (snippet settings count in tensor mode only) */
  gst_harness_set_caps_str (h, caps, strstr (props, "snippet") ?
      "other/tensors" : caps);
  gst_harness_play (h);
  gst_harness_push (h, gst_buffer_new_memdup (zeros, sizeof (zeros)));
  text = bus_error_text (bus);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
  g_free (desc);
  g_free (caps);
  return text;
}

GST_START_TEST (test_invalid_settings)
{
  /* settings that need no sample rate are refused when the element starts
   * (the state change fails in the application's thread), the others at
   * the caps */
  struct
  {
    const gchar *props;
    gint rate;
    const gchar *property;
    gboolean at_start;
  } cases[] = {
    {"fmin=5000 fmax=4000", 22050, "'fmin'", TRUE},
    {"fmax=12000", 22050, "'fmax'", FALSE},
    {"n-mels=512 n-fft=256 hop-length=64", 8000, "'n-mels'", FALSE},
    {"", 192000, "'n-mels'", FALSE},
    {"hop-length=4096 n-fft=2048", 22050, "'hop-length'", TRUE},
    {"win-length=4096 n-fft=2048", 22050, "'win-length'", TRUE},
    {"snippet-duration=0.001 hop-length=2048", 8000, "'snippet-duration'",
        FALSE},
    /* a 4 GiB tensor (1024 bands x 1048576 frames) */
    {"n-mels=1024 n-fft=65536 hop-length=16 snippet-duration=380", 44100,
        "'snippet-duration'", FALSE},
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++) {
    gboolean at_start;
    gchar *text = error_for (cases[i].props, cases[i].rate, &at_start);
    fail_unless (text != NULL, "no error for %s", cases[i].props);
    fail_unless (at_start == cases[i].at_start, "%s: refused %s",
        cases[i].props, at_start ? "at the start" : "at the caps");
    fail_unless (strstr (text, cases[i].property) != NULL,
        "error for %s does not name %s: %s", cases[i].props,
        cases[i].property, text);
    g_free (text);
  }
}

GST_END_TEST;

GST_START_TEST (test_bad_input)
{
  const gint rate = 8000;
  gsize n = rate, i;
  gfloat *x = g_new (gfloat, n);
  Collected c;

  /* NaN and Inf inside a sine: analysed as silence, never in the output */
  for (i = 0; i < n; i++)
    x[i] = (gfloat) sin (2 * G_PI * 300.0 * i / rate);
  for (i = 1000; i < 1100; i++)
    x[i] = (i % 2) ? NAN : INFINITY;
  run_passthrough ("log=db n-fft=256 hop-length=64 n-mels=32", x, n, rate, 333,
      &c);
  fail_unless (c.finite);
  fail_unless_equals_int (c.next_frame, 1 + n / 64);
  g_array_unref (c.values);

  /* silence in dB: the amin floor (-100 dB), finite */
  memset (x, 0, n * sizeof (gfloat));
  run_passthrough ("log=db n-fft=256 hop-length=64 n-mels=32", x, n, rate, 512,
      &c);
  fail_unless (c.finite);
  for (i = 0; i < c.values->len; i++)
    fail_unless (fabsf (g_array_index (c.values, gfloat, i) + 100.0f) < 1e-3);
  g_array_unref (c.values);

  /* a 10-sample stream still gives its one centred frame at EOS */
  run_passthrough ("", x, 10, rate, 10, &c);
  fail_unless_equals_int (c.next_frame, 1);
  g_array_unref (c.values);
  g_free (x);
}

GST_END_TEST;

/* stereo S16 at 48 kHz equals the mono F32 mean within quantisation, and
 * 8-channel 192 kHz works */
GST_START_TEST (test_formats_and_channels)
{
  const gchar *cases[] = {
    AUDIO_CAPS ("S16LE", 48000, 2),
    AUDIO_CAPS ("F32LE", 192000, 8) ", channel-mask=(bitmask)0xc3f",
    AUDIO_CAPS ("S32LE", 44100, 1),
    AUDIO_CAPS ("F64LE", 8000, 3) ", channel-mask=(bitmask)0x0",
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++) {
    /* at 192 kHz, 128 mels need a longer FFT than 2048 (refused, as
     * test_invalid_settings checks): use 8192 there */
    GstHarness *h = gst_harness_new_parse (i == 1 ? "melspec n-fft=8192"
        : "melspec");
    GstBus *bus = gst_bus_new ();
    GstAudioInfo info;
    GstCaps *caps = gst_caps_from_string (cases[i]);
    GstBuffer *buf;
    Collected c;
    gsize frames;

    gst_audio_info_from_caps (&info, caps);
    gst_caps_unref (caps);
    frames = GST_AUDIO_INFO_RATE (&info) / 2;
    gst_element_set_bus (h->element, bus);
    gst_harness_set_caps_str (h, cases[i], cases[i]);
    gst_harness_play (h);
    buf = gst_harness_create_buffer (h, frames * GST_AUDIO_INFO_BPF (&info));
    gst_buffer_memset (buf, 0, 0x11, gst_buffer_get_size (buf));
    GST_BUFFER_PTS (buf) = 0;
    fail_unless (gst_harness_push (h, buf) == GST_FLOW_OK, "%s", cases[i]);
    gst_buffer_unref (gst_harness_pull (h));
    gst_harness_push_event (h, gst_event_new_eos ());
    collected_init (&c);
    collect_messages (bus, &c);
    fail_unless (c.next_frame == 1 + frames / 512, "%s: %" G_GUINT64_FORMAT
        " frames", cases[i], c.next_frame);
    fail_unless (c.finite, "%s", cases[i]);
    g_array_unref (c.values);
    gst_element_set_bus (h->element, NULL);
    gst_object_unref (bus);
    gst_harness_teardown (h);
  }
}

GST_END_TEST;

GST_START_TEST (test_discont_resets)
{
  const gint rate = 8000;
  GstHarness *h = gst_harness_new_parse ("melspec n-fft=256 hop-length=64");
  GstBus *bus = gst_bus_new ();
  gfloat x[800] = { 0 };
  GstBuffer *buf;
  Collected c;

  gst_element_set_bus (h->element, bus);
  gst_harness_set_caps_str (h, AUDIO_CAPS ("F32LE", 8000, 1),
      AUDIO_CAPS ("F32LE", 8000, 1));
  gst_harness_play (h);
  buf = gst_buffer_new_memdup (x, sizeof (x));
  GST_BUFFER_PTS (buf) = 0;
  gst_harness_push (h, buf);
  buf = gst_buffer_new_memdup (x, sizeof (x));
  GST_BUFFER_PTS (buf) = 10 * GST_SECOND;
  GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
  gst_harness_push (h, buf);
  gst_harness_push_event (h, gst_event_new_eos ());
  (void) rate;
  /* the frames after the discontinuity count from 0 again, timed from it */
  collected_init (&c);
  {
    GstMessage *msg;
    guint64 first, last_first = 0;
    GstClockTime ts = 0;
    while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
      const GstStructure *s = gst_message_get_structure (msg);
      gst_structure_get_uint64 (s, "first-frame", &first);
      gst_structure_get_uint64 (s, "timestamp", &ts);
      last_first = first;
      gst_message_unref (msg);
    }
    fail_unless_equals_uint64 (last_first, 0);
    fail_unless_equals_uint64 (ts, 10 * GST_SECOND);
  }
  g_array_unref (c.values);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Bytes allocated with malloc (mmapped blocks included). */
static gsize
heap_in_use (void)
{
  struct mallinfo2 mi = mallinfo2 ();

  return mi.uordblks + mi.hblkhd;
}

/* With post-messages=false nothing is posted, so nothing is kept: a long
 * interval used to collect its frames anyway (1.4 MB/s of audio here, until
 * the interval ended), and a live stream with a long interval grew until
 * a 4 GiB abort. */
GST_START_TEST (test_messages_off_keep_nothing)
{
  const gint rate = 22050;
  GstHarness *h = gst_harness_new_parse ("melspec n-mels=1024 n-fft=8192 "
      "hop-length=64 interval=600000000000 post-messages=false");
  GstBus *bus = gst_bus_new ();
  gfloat *x = g_new (gfloat, rate);
  gsize before = 0, after = 0;
  gint i;

  make_signal (x, rate, rate);
  gst_element_set_bus (h->element, bus);
  gst_harness_set_caps_str (h, AUDIO_CAPS ("F32LE", 22050, 1),
      AUDIO_CAPS ("F32LE", 22050, 1));
  gst_harness_play (h);
  /* 20 s of audio: 6891 frames of 1024 bands, 28 MB if they were kept */
  for (i = 0; i < 20; i++) {
    GstBuffer *in = gst_buffer_new_memdup (x, rate * sizeof (gfloat));
    GST_BUFFER_PTS (in) = i * GST_SECOND;
    fail_unless_equals_int (gst_harness_push (h, in), GST_FLOW_OK);
    gst_buffer_unref (gst_harness_pull (h));
    if (i == 0)
      before = heap_in_use ();
  }
  after = heap_in_use ();
  fail_unless (after < before + 4 * 1024 * 1024,
      "the heap grew by %" G_GSIZE_FORMAT " bytes over 19 s of audio",
      after - before);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  fail_unless (gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT |
          GST_MESSAGE_ERROR) == NULL);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
  g_free (x);
}

GST_END_TEST;

/* A long interval on a file is its whole spectrogram in one message at
 * EOS (an interval of a day, 1.8 GiB of frames if it ran its course, was
 * refused at the caps for a 3 s clip while a memory limit was checked
 * against the interval, not the frames held). */
GST_START_TEST (test_interval_longer_than_stream)
{
  const gint rate = 22050;
  GstHarness *h = gst_harness_new_parse ("melspec interval=86400000000000");
  GstBus *bus = gst_bus_new ();
  gfloat *x = g_new (gfloat, rate);
  GstMessage *msg;
  gint i, messages = 0, frames = 0, errors = 0;

  make_signal (x, rate, rate);
  gst_element_set_bus (h->element, bus);
  gst_harness_set_caps_str (h, AUDIO_CAPS ("F32LE", 22050, 1),
      AUDIO_CAPS ("F32LE", 22050, 1));
  gst_harness_play (h);
  for (i = 0; i < 3; i++) {
    GstBuffer *in = gst_buffer_new_memdup (x, rate * sizeof (gfloat));
    GST_BUFFER_PTS (in) = i * GST_SECOND;
    fail_unless_equals_int (gst_harness_push (h, in), GST_FLOW_OK);
    gst_buffer_unref (gst_harness_pull (h));
  }
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT |
              GST_MESSAGE_ERROR))) {
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
      errors++;
    } else {
      const GstStructure *s = gst_message_get_structure (msg);
      gint n = 0;
      if (gst_structure_get_int (s, "n-frames", &n)) {
        messages++;
        frames += n;
      }
    }
    gst_message_unref (msg);
  }
  fail_unless_equals_int (errors, 0);
  fail_unless_equals_int (messages, 1);
  /* centred frames: 1 + 66150 / 512 */
  fail_unless_equals_int (frames, 1 + 3 * rate / 512);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
  g_free (x);
}

GST_END_TEST;

static GstHarness *
tensor_harness (const gchar * props, gint rate)
{
  gchar *desc = g_strdup_printf ("melspec %s", props);
  gchar *caps = g_strdup_printf (AUDIO_CAPS ("F32LE", %d, 1), rate);
  GstHarness *h = gst_harness_new_parse (desc);

  gst_harness_set_src_caps_str (h, caps);
  gst_harness_set_sink_caps_str (h, "other/tensors");
  gst_harness_play (h);
  g_free (desc);
  g_free (caps);
  return h;
}

GST_START_TEST (test_tensor_frames_per_buffer)
{
  const gint rate = 8000;
  const gsize n = 8000;
  GstHarness *h = tensor_harness ("n-fft=256 hop-length=100 n-mels=20 "
      "frames-per-buffer=10", rate);
  gfloat *x = g_new0 (gfloat, n);
  GstBuffer *buf;
  GstCaps *caps;
  GstStructure *s;
  guint count = 0;
  GstClockTime expect = 0;

  buf = gst_buffer_new_memdup (x, n * sizeof (gfloat));
  GST_BUFFER_PTS (buf) = 0;
  fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
  gst_harness_push_event (h, gst_event_new_eos ());
  caps = gst_pad_get_current_caps (h->sinkpad);
  s = gst_caps_get_structure (caps, 0);
  fail_unless (gst_structure_has_name (s, "other/tensors"));
  fail_unless_equals_string (gst_structure_get_string (s, "dimensions"),
      "20:10");
  fail_unless_equals_string (gst_structure_get_string (s, "types"), "float32");
  gst_caps_unref (caps);
  /* 81 frames: 8 full buffers and the last one padded */
  while ((buf = gst_harness_try_pull (h))) {
    fail_unless_equals_int (gst_buffer_get_size (buf), 20 * 10 * 4);
    fail_unless_equals_uint64 (GST_BUFFER_PTS (buf), expect);
    fail_unless_equals_uint64 (GST_BUFFER_DURATION (buf), 125 * GST_MSECOND);
    expect += 125 * GST_MSECOND;
    count++;
    gst_buffer_unref (buf);
  }
  fail_unless_equals_int (count, 9);
  gst_harness_teardown (h);
  g_free (x);
}

GST_END_TEST;

/* A tensor goes out when its last frame is complete: (frames - 1) hops and
 * the frame's second half after its PTS (the first frame's centre). A live
 * pipeline must wait that long (LATENCY query, a latency message when it is
 * known); passthrough adds nothing. */
GST_START_TEST (test_tensor_latency)
{
  const gint rate = 8000;
  GstHarness *h = tensor_harness ("n-fft=256 hop-length=100 n-mels=20 "
      "frames-per-buffer=10", rate);
  GstBus *bus = gst_bus_new ();
  gfloat *x = g_new0 (gfloat, 800);
  GstBuffer *buf;
  GstMessage *m;

  gst_element_set_bus (h->element, bus);
  gst_harness_set_upstream_latency (h, 10 * GST_MSECOND);
  buf = gst_buffer_new_memdup (x, 800 * sizeof (gfloat));
  GST_BUFFER_PTS (buf) = 0;
  fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
  m = gst_bus_pop_filtered (bus, GST_MESSAGE_LATENCY);
  fail_unless (m != NULL, "no latency message");
  gst_message_unref (m);
  /* 9 hops + 128 samples = 1028 samples at 8 kHz = 128.5 ms */
  fail_unless_equals_uint64 (gst_harness_query_latency (h),
      10 * GST_MSECOND + 128500 * GST_USECOND);
  gst_element_set_bus (h->element, NULL);
  gst_harness_teardown (h);

  h = gst_harness_new_parse ("melspec n-fft=256 hop-length=100 n-mels=20");
  gst_harness_set_caps_str (h, AUDIO_CAPS ("F32LE", 8000, 1),
      AUDIO_CAPS ("F32LE", 8000, 1));
  gst_harness_set_upstream_latency (h, 10 * GST_MSECOND);
  buf = gst_buffer_new_memdup (x, 800 * sizeof (gfloat));
  GST_BUFFER_PTS (buf) = 0;
  fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
  gst_buffer_unref (gst_harness_pull (h));
  fail_unless_equals_uint64 (gst_harness_query_latency (h), 10 * GST_MSECOND);
  gst_harness_teardown (h);
  gst_object_unref (bus);
  g_free (x);
}

GST_END_TEST;

GST_START_TEST (test_tensor_snippets)
{
  const gint rate = 8000;
  const gsize n = 8000 * 5 + 100;
  gfloat *x = g_new0 (gfloat, n);
  const gchar *modes[] = { "drop", "pad" };
  guint m;

  for (m = 0; m < 2; m++) {
    gchar *props = g_strdup_printf ("n-fft=256 hop-length=80 n-mels=16 "
        "log=db snippet-duration=2 snippet-hop=1 last-snippet=%s", modes[m]);
    GstHarness *h = tensor_harness (props, rate);
    GstBuffer *buf = gst_buffer_new_memdup (x, n * sizeof (gfloat));
    guint count = 0;

    GST_BUFFER_PTS (buf) = 0;
    gst_harness_push (h, buf);
    gst_harness_push_event (h, gst_event_new_eos ());
    /* 501 frames of 10 ms; 2 s snippets (200 frames) every 1 s: complete
     * ones start at 0, 1, 2, 3 s; the one at 4 s is incomplete */
    while ((buf = gst_harness_try_pull (h))) {
      GstMapInfo map;
      fail_unless_equals_int (gst_buffer_get_size (buf), 16 * 200 * 4);
      fail_unless_equals_uint64 (GST_BUFFER_PTS (buf), count * GST_SECOND);
      gst_buffer_map (buf, &map, GST_MAP_READ);
      /* silence (and padding) is the -100 dB floor */
      fail_unless (fabsf (((gfloat *) map.data)[16 * 199] + 100.0f) < 1e-3);
      gst_buffer_unmap (buf, &map);
      count++;
      gst_buffer_unref (buf);
    }
    fail_unless (count == (m == 0 ? 4u : 5u), "last-snippet=%s: %u snippets",
        modes[m], count);
    gst_harness_teardown (h);
    g_free (props);
  }
  g_free (x);
}

GST_END_TEST;

/* Snippet i starts at the frame nearest i x snippet-hop seconds, whatever
 * snippet-hop is in frames: with 1.5 s = 23.4375 hops of 64 ms, starts
 * rounded to whole hops (23) put snippet 100 at 147.2 s instead of 150 s.
 * Snippets overlap (2 s = 31 frames), or leave gaps (1 s = 16 frames); each
 * holds the frames the messages give from its start, PTS = that frame's
 * centre; with pad, the incomplete last one is padded with silence. */
GST_START_TEST (test_tensor_snippet_grid)
{
  const gint rate = 8000;
  const gsize n = 160 * 8000;   /* 2501 frames of 64 ms */
  const gchar *props = "n-fft=1024 hop-length=512 n-mels=16";
  const GstClockTime frame_time = 64 * GST_MSECOND;
  struct
  {
    const gchar *duration, *last;
    guint frames, count;
  } cases[] = {
    /* complete while start + 31 <= 2501: starts up to 105 x 23.4375 */
    {"2", "drop", 31, 106},
    /* and one more from 2484 (106 x 23.4375), padded after 17 frames */
    {"2", "pad", 31, 107},
    /* gaps: complete while start + 16 <= 2501, i <= 106 */
    {"1", "drop", 16, 107},
    /* the next (2508) would start after the last frame */
    {"1", "pad", 16, 107},
  };
  gfloat *x = g_new (gfloat, n);
  Collected c;
  guint k;

  make_signal (x, n, rate);
  run_passthrough (props, x, n, rate, 8000, &c);
  fail_unless_equals_int (c.next_frame, 2501);
  for (k = 0; k < G_N_ELEMENTS (cases); k++) {
    gchar *p = g_strdup_printf ("%s snippet-duration=%s snippet-hop=1.5 "
        "last-snippet=%s", props, cases[k].duration, cases[k].last);
    GstHarness *h = tensor_harness (p, rate);
    GstBuffer *buf;
    GstCaps *caps;
    gint num = 0, den = 0;
    gsize done;
    guint i = 0;

    for (done = 0; done < n; done += 8000) {
      buf = gst_buffer_new_memdup (x + done, 8000 * sizeof (gfloat));
      GST_BUFFER_PTS (buf) = gst_util_uint64_scale_int (done, GST_SECOND, rate);
      fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
    }
    fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
    caps = gst_pad_get_current_caps (h->sinkpad);
    fail_unless (gst_structure_get_fraction (gst_caps_get_structure (caps,
                0), "framerate", &num, &den));
    /* one snippet every 1.5 s */
    fail_unless (num == 2 && den == 3, "%s: framerate %d/%d", p, num, den);
    gst_caps_unref (caps);
    while ((buf = gst_harness_try_pull (h))) {
      GstClockTime pts = GST_BUFFER_PTS (buf);
      GstClockTime nominal = i * 1500 * GST_MSECOND;
      GstClockTimeDiff err = GST_CLOCK_DIFF (nominal, pts);
      guint64 start = pts / frame_time;
      guint have;
      GstMapInfo map;

      fail_unless_equals_uint64 (GST_BUFFER_OFFSET (buf), i);
      fail_unless_equals_uint64 (pts % frame_time, 0);
      /* within half a frame of i x 1.5 s, at any i */
      fail_unless (ABS (err) <= (GstClockTimeDiff) frame_time / 2,
          "%s: snippet %u at %" GST_TIME_FORMAT ", not %" GST_TIME_FORMAT,
          p, i, GST_TIME_ARGS (pts), GST_TIME_ARGS (nominal));
      if (i == 100)
        fail_unless (pts >= 150 * GST_SECOND - frame_time / 2 &&
            pts <= 150 * GST_SECOND + frame_time / 2);
      fail_unless (start < 2501);
      have = MIN (cases[k].frames, 2501 - start);
      fail_unless_equals_int (gst_buffer_get_size (buf),
          cases[k].frames * 16 * 4);
      gst_buffer_map (buf, &map, GST_MAP_READ);
      /* the frames the messages give, then silence */
      fail_unless (memcmp (map.data, &g_array_index (c.values, gfloat,
                  start * 16), have * 16 * 4) == 0,
          "%s: snippet %u differs from frames %" G_GUINT64_FORMAT "..", p, i,
          start);
      for (; have < cases[k].frames; have++)
        fail_unless (((gfloat *) map.data)[have * 16] == 0.0f);
      gst_buffer_unmap (buf, &map);
      gst_buffer_unref (buf);
      i++;
    }
    fail_unless (i == cases[k].count, "%s: %u snippets, not %u", p, i,
        cases[k].count);
    gst_harness_teardown (h);
    g_free (p);
  }
  g_array_unref (c.values);
  g_free (x);
}

GST_END_TEST;

static GstPadProbeReturn
refuse_buffers (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  gint *refuse = user_data;

  /* 1: the next buffer passes, the ones after it fail as in a flush */
  if (*refuse == 0)
    return GST_PAD_PROBE_OK;
  if (*refuse == 1) {
    *refuse = 2;
    return GST_PAD_PROBE_OK;
  }
  *refuse = 3;
  GST_PAD_PROBE_INFO_FLOW_RETURN (info) = GST_FLOW_FLUSHING;
  gst_buffer_unref (GST_PAD_PROBE_INFO_BUFFER (info));
  GST_PAD_PROBE_INFO_DATA (info) = NULL;
  return GST_PAD_PROBE_HANDLED;
}

/* Tensor mode queues the tensors an input buffer completes and pushes them
 * one by one; when a push fails (downstream flushing on a state change) the
 * rest stayed queued, and after PLAYING -> READY -> PLAYING the new stream
 * began with the old stream's tensors (old timestamps). */
GST_START_TEST (test_tensor_restart_drops_old)
{
  const gint rate = 8000;
  GstHarness *h = tensor_harness ("n-fft=256 hop-length=80 n-mels=16 "
      "snippet-duration=0.1 snippet-hop=0.01", rate);
  gchar *caps = g_strdup_printf (AUDIO_CAPS ("F32LE", %d, 1), rate);
  gfloat *x = g_new0 (gfloat, rate);
  gint refuse = 0;
  GstBuffer *buf;
  guint i;

  for (i = 0; i < (guint) rate; i++)
    x[i] = (gfloat) (0.5 * sin (2 * G_PI * 440.0 * i / rate));
  gst_pad_add_probe (h->sinkpad, GST_PAD_PROBE_TYPE_BUFFER, refuse_buffers,
      &refuse, NULL);
  /* 1 s in one buffer: ~90 snippets of 0.1 s every 10 ms; the second push
   * fails */
  buf = gst_buffer_new_memdup (x, rate * sizeof (gfloat));
  GST_BUFFER_PTS (buf) = 0;
  refuse = 1;
  fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_FLUSHING);
  fail_unless_equals_int (refuse, 3);
  while ((buf = gst_harness_try_pull (h)))
    gst_buffer_unref (buf);

  /* restart: a new stream from 0 */
  refuse = 0;
  fail_unless_equals_int (gst_element_set_state (h->element,
          GST_STATE_READY), GST_STATE_CHANGE_SUCCESS);
  gst_harness_play (h);
  gst_harness_set_src_caps_str (h, caps);
  buf = gst_buffer_new_memdup (x, rate / 5 * sizeof (gfloat));
  GST_BUFFER_PTS (buf) = 0;
  fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
  /* 0.2 s: the snippets at 0, 10, ... 100 ms of the new stream, nothing
   * else */
  i = 0;
  while ((buf = gst_harness_try_pull (h))) {
    fail_unless_equals_uint64 (GST_BUFFER_PTS (buf), i * 10 * GST_MSECOND);
    fail_unless_equals_uint64 (GST_BUFFER_OFFSET (buf), i);
    gst_buffer_unref (buf);
    i++;
  }
  fail_unless (i >= 10 && i <= 11, "%u snippets", i);
  gst_harness_teardown (h);
  g_free (caps);
  g_free (x);
}

GST_END_TEST;

/* Tensor mode, EOS before any audio (an empty file, a source with
 * num-buffers=0): no tensor. One padded tensor was pushed with no timestamp,
 * and without a segment event downstream when none had come (GStreamer
 * warned "Got data flow before segment event"). */
GST_START_TEST (test_tensor_empty_stream)
{
  gchar *str = g_strdup_printf (AUDIO_CAPS ("F32LE", %d, 1), 8000);
  GstCaps *caps = gst_caps_from_string (str);
  guint with_segment;

  for (with_segment = 0; with_segment < 2; with_segment++) {
    GstHarness *h = gst_harness_new_parse ("melspec n-fft=256 hop-length=80 "
        "n-mels=16 frames-per-buffer=4");
    GstBuffer *buf;

    gst_harness_set_sink_caps_str (h, "other/tensors");
    gst_harness_play (h);
    fail_unless (gst_harness_push_event (h,
            gst_event_new_stream_start ("empty")));
    fail_unless (gst_harness_push_event (h, gst_event_new_caps (caps)));
    if (with_segment) {
      GstSegment seg;
      gst_segment_init (&seg, GST_FORMAT_TIME);
      fail_unless (gst_harness_push_event (h, gst_event_new_segment (&seg)));
    }
    fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
    buf = gst_harness_try_pull (h);
    fail_unless (buf == NULL, "a tensor (PTS %" GST_TIME_FORMAT ") from an "
        "empty stream", GST_TIME_ARGS (GST_BUFFER_PTS (buf)));
    gst_harness_teardown (h);
  }
  gst_caps_unref (caps);
  g_free (str);
}

GST_END_TEST;

/* Tensor mode, new caps at the same rate (mono -> stereo) after n-mels was
 * changed while playing: the analysis goes on through a channel change, but
 * the tensor caps are fixated from the properties, so it must be rebuilt
 * with them: the buffers must have the size the caps give. */
GST_START_TEST (test_tensor_caps_follow_properties)
{
  GstHarness *h = tensor_harness ("n-fft=256 hop-length=80 n-mels=16 "
      "frames-per-buffer=4", 8000);
  gchar *str = g_strdup_printf (AUDIO_CAPS ("F32LE", %d, 2), 8000);
  GstCaps *caps = gst_caps_from_string (str);
  gfloat *x = g_new0 (gfloat, 2 * 4000);
  GstBuffer *buf;
  const gchar *dims;
  GstElement *e;
  guint n = 0;

  buf = gst_buffer_new_memdup (x, 4000 * sizeof (gfloat));
  GST_BUFFER_PTS (buf) = 0;
  fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
  while ((buf = gst_harness_try_pull (h)))
    gst_buffer_unref (buf);
  e = gst_harness_find_element (h, "melspec");
  g_object_set (e, "n-mels", 8, NULL);
  gst_object_unref (e);
  fail_unless (gst_harness_push_event (h, gst_event_new_caps (caps)));
  buf = gst_buffer_new_memdup (x, 2 * 4000 * sizeof (gfloat));
  GST_BUFFER_PTS (buf) = GST_SECOND / 2;
  fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
  gst_caps_unref (caps);
  caps = gst_pad_get_current_caps (h->sinkpad);
  dims = gst_structure_get_string (gst_caps_get_structure (caps, 0),
      "dimensions");
  fail_unless_equals_string (dims, "8:4");
  /* the audio before the change ends with a padded tensor of the old
   * shape, then the new shape */
  buf = gst_harness_try_pull (h);
  fail_unless (buf != NULL);
  fail_unless_equals_int (gst_buffer_get_size (buf), 16 * 4 * 4);
  gst_buffer_unref (buf);
  while ((buf = gst_harness_try_pull (h))) {
    fail_unless_equals_int (gst_buffer_get_size (buf), 8 * 4 * 4);
    gst_buffer_unref (buf);
    n++;
  }
  fail_unless (n > 0);
  gst_caps_unref (caps);
  gst_harness_teardown (h);
  g_free (str);
  g_free (x);
}

GST_END_TEST;

/* The tensor framerate is rate / (hop-length * frames per buffer): with
 * both large the product overflowed a gint (GStreamer-CRITICAL "passed
 * value smaller than -G_MAXINT as denominator", no framerate in the caps). */
GST_START_TEST (test_tensor_framerate_large)
{
  GstHarness *h = tensor_harness ("n-fft=65536 hop-length=65536 n-mels=1 "
      "frames-per-buffer=32768", 8000);
  gfloat *x = g_new0 (gfloat, 800);
  GstBuffer *buf;
  GstCaps *caps;
  gint num = 0, den = 0;

  buf = gst_buffer_new_memdup (x, 800 * sizeof (gfloat));
  GST_BUFFER_PTS (buf) = 0;
  fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
  caps = gst_pad_get_current_caps (h->sinkpad);
  fail_unless (gst_structure_get_fraction (gst_caps_get_structure (caps, 0),
          "framerate", &num, &den));
  /* 8000 / 2^31 */
  fail_unless_equals_int (num, 125);
  fail_unless_equals_int (den, 1 << 25);
  gst_caps_unref (caps);
  gst_harness_teardown (h);
  g_free (x);
}

GST_END_TEST;

/* Tensor snippets across a rate change: the snippet length in frames
 * changes with the rate, so the analysis is rebuilt, but the audio before
 * the change still gets its last, padded snippet, in the old shape (it was
 * dropped). */
GST_START_TEST (test_tensor_rate_change)
{
  GstHarness *h = tensor_harness ("n-fft=256 hop-length=80 n-mels=16 "
      "snippet-duration=0.5", 8000);
  gchar *str = g_strdup_printf (AUDIO_CAPS ("F32LE", %d, 1), 16000);
  GstCaps *caps = gst_caps_from_string (str);
  gfloat *x = g_new0 (gfloat, 16000);
  GstBuffer *buf;
  guint n_old = 0, n_new = 0;

  /* 0.75 s at 8 kHz: 76 frames, one snippet of 50 and 26 frames more */
  buf = gst_buffer_new_memdup (x, 6000 * sizeof (gfloat));
  GST_BUFFER_PTS (buf) = 0;
  fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
  fail_unless (gst_harness_push_event (h, gst_event_new_caps (caps)));
  /* 1 s at 16 kHz: snippets of 100 frames, one complete before EOS */
  buf = gst_buffer_new_memdup (x, 16000 * sizeof (gfloat));
  GST_BUFFER_PTS (buf) = 750 * GST_MSECOND;
  fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
  while ((buf = gst_harness_try_pull (h))) {
    gsize size = gst_buffer_get_size (buf);
    if (size == 16 * 50 * 4) {
      fail_unless_equals_int (n_new, 0);
      n_old++;
    } else {
      fail_unless_equals_int (size, 16 * 100 * 4);
      n_new++;
    }
    gst_buffer_unref (buf);
  }
  fail_unless_equals_int (n_old, 2);
  fail_unless_equals_int (n_new, 1);
  gst_caps_unref (caps);
  gst_harness_teardown (h);
  g_free (str);
  g_free (x);
}

GST_END_TEST;

GST_START_TEST (test_presets)
{
  GstElement *e = gst_element_factory_make ("melspec", NULL);
  gint n_fft, hop;
  gint scale;

  fail_unless (gst_preset_load_preset (GST_PRESET (e), "torchaudio"),
      "preset torchaudio not found (GST_PRESET_PATH)");
  g_object_get (e, "n-fft", &n_fft, "hop-length", &hop, "mel-scale", &scale,
      NULL);
  fail_unless_equals_int (n_fft, 400);
  fail_unless_equals_int (hop, 200);
  fail_unless_equals_int (scale, 1);
  fail_unless (gst_preset_load_preset (GST_PRESET (e), "librosa"));
  g_object_get (e, "n-fft", &n_fft, "hop-length", &hop, NULL);
  fail_unless_equals_int (n_fft, 2048);
  fail_unless_equals_int (hop, 512);
  gst_object_unref (e);
}

GST_END_TEST;

/* The texts of the warnings on @bus (a NULL-terminated array, g_strfreev). */
static gchar **
bus_warning_texts (GstBus * bus)
{
  GPtrArray *a = g_ptr_array_new ();
  GstMessage *m;

  while ((m = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING))) {
    GError *err = NULL;

    gst_message_parse_warning (m, &err, NULL);
    g_ptr_array_add (a, g_strdup (err->message));
    g_error_free (err);
    gst_message_unref (m);
  }
  g_ptr_array_add (a, NULL);
  return (gchar **) g_ptr_array_free (a, FALSE);
}

/* Snippet settings do nothing when downstream takes audio (melspec passes
 * it through: a filesink gets PCM, not snippets) or when snippet-hop comes
 * without snippet-duration: one warning per stream names the property and
 * says what is missing; the audio still passes untouched. */
GST_START_TEST (test_ignored_snippet_settings_warn)
{
  struct
  {
    const gchar *props;
    gboolean tensors;
    const gchar *says[2];       /* NULL: no warning */
  } cases[] = {
    {"snippet-duration=3", FALSE, {"snippet-duration 3 s is ignored",
            "other/tensors"}},
    {"snippet-duration=3 snippet-hop=1", FALSE, {"snippet-duration",
            "other/tensors"}},
    {"snippet-hop=2", FALSE, {"snippet-hop 2 s is ignored",
            "needs snippet-duration"}},
    {"snippet-hop=2", TRUE, {"snippet-hop 2 s is ignored",
            "needs snippet-duration"}},
    {"", FALSE, {NULL, NULL}},
    {"snippet-duration=1 snippet-hop=0.5", TRUE, {NULL, NULL}},
    /* settings no tensor could have are ignored too, not an error */
    {"snippet-duration=0.0001", FALSE, {"snippet-duration 0.0001 s is "
                "ignored", "other/tensors"}},
  };
  const gchar *audio = AUDIO_CAPS ("F32LE", 8000, 1);
  gfloat x[800];
  guint i, j, k;

  for (j = 0; j < G_N_ELEMENTS (x); j++)
    x[j] = 0.5f * sinf (0.3f * j);
  for (i = 0; i < G_N_ELEMENTS (cases); i++) {
    gchar *desc = g_strdup_printf ("melspec n-fft=256 hop-length=100 "
        "n-mels=20 %s", cases[i].props);
    GstHarness *h = gst_harness_new_parse (desc);
    GstBus *bus = gst_bus_new ();
    gchar **warnings;

    gst_element_set_bus (h->element, bus);
    gst_harness_set_src_caps_str (h, audio);
    gst_harness_set_sink_caps_str (h, cases[i].tensors ? "other/tensors" :
        audio);
    gst_harness_play (h);
    for (k = 0; k < 3; k++) {
      GstBuffer *in = gst_buffer_new_memdup (x, sizeof (x));

      fail_unless_equals_int (gst_harness_push (h, in), GST_FLOW_OK);
      if (!cases[i].tensors) {
        GstBuffer *out = gst_harness_pull (h);

        /* what flows is unchanged: the audio, bit for bit */
        fail_unless (gst_buffer_memcmp (out, 0, x, sizeof (x)) == 0,
            "%s: audio changed", desc);
        gst_buffer_unref (out);
      }
    }
    warnings = bus_warning_texts (bus);
    if (cases[i].says[0] == NULL) {
      fail_unless (warnings[0] == NULL, "%s: unexpected warning '%s'", desc,
          warnings[0]);
    } else {
      fail_unless (warnings[0] != NULL, "%s: no warning", desc);
      for (k = 0; k < 2; k++)
        fail_unless (strstr (warnings[0], cases[i].says[k]) != NULL,
            "%s: warning '%s' does not say '%s'", desc, warnings[0],
            cases[i].says[k]);
      /* once per stream, not per buffer or caps */
      fail_unless (warnings[1] == NULL, "%s: warned again: '%s'", desc,
          warnings[1]);
    }
    g_strfreev (warnings);
    gst_element_set_bus (h->element, NULL);
    gst_object_unref (bus);
    gst_harness_teardown (h);
    g_free (desc);
  }
}

GST_END_TEST;

/* Downstream asks for tensor dimensions the settings do not give at this
 * rate: melspec itself posts the error, with the dimensions it gives, the
 * ones asked for and how to get them (instead of only not-negotiated from
 * upstream). Dimensions it does give negotiate without an error. */
GST_START_TEST (test_tensor_dimensions_refused)
{
  struct
  {
    const gchar *props;
    const gchar *dims;
    const gchar *says[3];       /* NULL: negotiates */
  } cases[] = {
    /* 0.5 s at 16 kHz in hops of 100 = 80 frames; 40 come at 8 kHz */
    {"snippet-duration=0.5", "20:40", {"dimensions 20:80",
            "asks for dimensions 20:40", "rate=8000"}},
    {"snippet-duration=0.5", "20:40", {"snippet-duration 0.5 s at 16000 Hz",
            "set snippet-duration=0.25", NULL}},
    {"snippet-duration=0.5", "40:80", {"dimensions 20:80",
            "asks for dimensions 40:80", "set n-mels=40"}},
    {"frames-per-buffer=10", "20:16", {"dimensions 20:10",
            "asks for dimensions 20:16", "set frames-per-buffer=16"}},
    {"snippet-duration=0.5", "20:80", {NULL, NULL, NULL}},
    {"frames-per-buffer=10", "20:10", {NULL, NULL, NULL}},
  };
  gfloat zeros[1600] = { 0 };
  guint i, k;

  for (i = 0; i < G_N_ELEMENTS (cases); i++) {
    gchar *desc = g_strdup_printf ("melspec n-fft=256 hop-length=100 "
        "n-mels=20 %s", cases[i].props);
    gchar *want = g_strdup_printf ("other/tensors, dimensions=(string)%s",
        cases[i].dims);
    GstHarness *h = gst_harness_new_parse (desc);
    GstBus *bus = gst_bus_new ();
    GstFlowReturn ret;
    gchar *text;

    gst_element_set_bus (h->element, bus);
    gst_harness_set_src_caps_str (h, AUDIO_CAPS ("F32LE", 16000, 1));
    gst_harness_set_sink_caps_str (h, want);
    gst_harness_play (h);
    ret = gst_harness_push (h, gst_buffer_new_memdup (zeros, sizeof (zeros)));
    text = bus_error_text (bus);
    if (cases[i].says[0] == NULL) {
      fail_unless_equals_int (ret, GST_FLOW_OK);
      fail_unless (text == NULL, "%s ! %s: unexpected error '%s'", desc,
          want, text);
    } else {
      fail_unless_equals_int (ret, GST_FLOW_NOT_NEGOTIATED);
      fail_unless (text != NULL, "%s ! %s: no error from melspec", desc, want);
      for (k = 0; k < 3 && cases[i].says[k]; k++)
        fail_unless (strstr (text, cases[i].says[k]) != NULL,
            "%s ! %s: error '%s' does not say '%s'", desc, want, text,
            cases[i].says[k]);
    }
    g_free (text);
    gst_element_set_bus (h->element, NULL);
    gst_object_unref (bus);
    gst_harness_teardown (h);
    g_free (want);
    g_free (desc);
  }
}

GST_END_TEST;

static Suite *
melspec_suite (void)
{
  Suite *s = suite_create ("melspec");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 120);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_passthrough_frames_and_timing);
  tcase_add_test (tc, test_chunk_invariance);
  tcase_add_test (tc, test_first_frame_time_timeline);
  tcase_add_test (tc, test_sine_peak_band);
  tcase_add_test (tc, test_invalid_settings);
  tcase_add_test (tc, test_bad_input);
  tcase_add_test (tc, test_formats_and_channels);
  tcase_add_test (tc, test_discont_resets);
  tcase_add_test (tc, test_messages_off_keep_nothing);
  tcase_add_test (tc, test_interval_longer_than_stream);
  tcase_add_test (tc, test_tensor_frames_per_buffer);
  tcase_add_test (tc, test_tensor_latency);
  tcase_add_test (tc, test_tensor_snippets);
  tcase_add_test (tc, test_tensor_snippet_grid);
  tcase_add_test (tc, test_tensor_restart_drops_old);
  tcase_add_test (tc, test_tensor_empty_stream);
  tcase_add_test (tc, test_tensor_caps_follow_properties);
  tcase_add_test (tc, test_tensor_framerate_large);
  tcase_add_test (tc, test_tensor_rate_change);
  tcase_add_test (tc, test_presets);
  tcase_add_test (tc, test_ignored_snippet_settings_warn);
  tcase_add_test (tc, test_tensor_dimensions_refused);
  return s;
}

GST_CHECK_MAIN (melspec);
