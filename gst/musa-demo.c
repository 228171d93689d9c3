/* musa-demo — runs musa's analysis elements over a clip that libmusa
 * synthesises (a drum, bass and chord groove at a known tempo and key) and
 * prints what each element found beside the truth.
 *
 *   musa-demo [--bpm 120] [--key "A minor"] [--seconds 20]
 */
#include <gst/gst.h>
#include <gst/app/gstappsrc.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/synth.h"

static const gchar *pitch_names[12] = { "C", "C#", "D", "Eb", "E", "F",
  "F#", "G", "Ab", "A", "Bb", "B"
};

typedef struct
{
  guint melspec_messages, melspec_frames;
  gint n_mels;
  gchar *key;
  gdouble key_strength;
  gdouble bpm, bpm_confidence;
  gchar *tag_key;
  gdouble tag_bpm;
  gchar *augment;
  gchar *knn;
} Found;

static gboolean
parse_key (const gchar * s, gint * tonic, gint * minor)
{
  gint i;

  for (i = 0; i < 12; i++) {
    gsize len = strlen (pitch_names[i]);
    if (g_ascii_strncasecmp (s, pitch_names[i], len) == 0 &&
        (s[len] == ' ' || s[len] == '\0')) {
      *tonic = i;
      *minor = strstr (s + len, "min") != NULL;
      return TRUE;
    }
  }
  return FALSE;
}

static void
read_message (GstMessage * msg, Found * f)
{
  const GstStructure *s = gst_message_get_structure (msg);
  const gchar *name = gst_structure_get_name (s);

  if (g_str_equal (name, "melspec")) {
    gint n = 0;
    f->melspec_messages++;
    if (gst_structure_get_int (s, "n-frames", &n))
      f->melspec_frames += n;
    gst_structure_get_int (s, "n-mels", &f->n_mels);
  } else if (g_str_equal (name, "chromakey")) {
    const gchar *key = gst_structure_get_string (s, "key");
    if (key) {
      g_free (f->key);
      f->key = g_strdup (key);
    }
    gst_structure_get_double (s, "strength", &f->key_strength);
  } else if (g_str_equal (name, "onsetbpm")) {
    gst_structure_get_double (s, "bpm", &f->bpm);
    gst_structure_get_double (s, "confidence", &f->bpm_confidence);
  } else if (g_str_equal (name, "knntag")) {
    g_free (f->knn);
    f->knn = gst_structure_to_string (s);
  }
}

static void
read_tags (GstMessage * msg, Found * f)
{
  GstTagList *tags = NULL;
  gchar *key = NULL;

  gst_message_parse_tag (msg, &tags);
  if (gst_tag_list_get_string (tags, "musical-key", &key)) {
    g_free (f->tag_key);
    f->tag_key = key;
  }
  gst_tag_list_get_double (tags, GST_TAG_BEATS_PER_MINUTE, &f->tag_bpm);
  gst_tag_list_unref (tags);
}

int
main (int argc, char **argv)
{
  gdouble bpm = 120.0, seconds = 20.0;
  gchar *key = NULL;
  GOptionEntry entries[] = {
    {"bpm", 0, 0, G_OPTION_ARG_DOUBLE, &bpm, "Tempo of the clip (BPM)", "BPM"},
    {"key", 0, 0, G_OPTION_ARG_STRING, &key,
        "Key of the clip, e.g. \"A minor\", \"Eb major\"", "KEY"},
    {"seconds", 0, 0, G_OPTION_ARG_DOUBLE, &seconds,
        "Length of the clip (s)", "S"},
    {NULL}
  };
  const gchar *chain[] = { "melspec", "chromakey", "onsetbpm" };
  GOptionContext *ctx;
  GError *error = NULL;
  MusaSynthConfig cfg;
  MusaError err;
  GString *desc;
  GstElement *pipeline, *src;
  GstBus *bus;
  GstBuffer *buf;
  GstMapInfo map;
  Found found = { 0 };
  gboolean done = FALSE, failed = FALSE;
  gsize n;
  guint i;

  ctx = g_option_context_new ("- musa on a synthesised clip");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    g_printerr ("%s\n", error->message);
    return 2;
  }
  g_option_context_free (ctx);

  musa_synth_config_default (&cfg);
  cfg.bpm = bpm;
  if (key && !parse_key (key, &cfg.tonic, &cfg.minor)) {
    g_printerr ("Unknown key \"%s\" (try \"A minor\" or \"Eb major\")\n", key);
    return 2;
  }
  if (!(seconds >= 1.0 && seconds <= 600.0)) {
    g_printerr ("--seconds must be in 1..600\n");
    return 2;
  }
  n = (gsize) (seconds * cfg.sample_rate);
  buf = gst_buffer_new_allocate (NULL, n * sizeof (gfloat), NULL);
  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  if (musa_synth_music (&cfg, (float *) map.data, n, &err) != MUSA_OK) {
    g_printerr ("%s\n", err.message);
    return 2;
  }
  gst_buffer_unmap (buf, &map);

  desc = g_string_new ("appsrc name=src format=time ! audioconvert");
  for (i = 0; i < G_N_ELEMENTS (chain); i++) {
    GstElementFactory *f = gst_element_factory_find (chain[i]);
    if (f == NULL) {
      g_print ("(%s is not available in this build)\n", chain[i]);
      continue;
    }
    gst_object_unref (f);
    g_string_append_printf (desc, " ! %s", chain[i]);
  }
  g_string_append (desc, " ! fakesink");
  pipeline = gst_parse_launch (desc->str, &error);
  if (pipeline == NULL) {
    g_printerr ("Could not build the pipeline: %s\n", error->message);
    return 1;
  }
  src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  {
    GstCaps *caps = gst_caps_new_simple ("audio/x-raw",
        "format", G_TYPE_STRING, "F32LE", "layout", G_TYPE_STRING,
        "interleaved", "rate", G_TYPE_INT, cfg.sample_rate,
        "channels", G_TYPE_INT, 1, NULL);
    g_object_set (src, "caps", caps, NULL);
    gst_caps_unref (caps);
  }
  GST_BUFFER_PTS (buf) = 0;
  GST_BUFFER_DURATION (buf) = (GstClockTime) (seconds * GST_SECOND);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  gst_app_src_push_buffer (GST_APP_SRC (src), buf);
  gst_app_src_end_of_stream (GST_APP_SRC (src));

  g_print ("Clip: %.0f s synthesised at %d Hz, %.1f BPM, %s %s\n", seconds,
      cfg.sample_rate, cfg.bpm, pitch_names[cfg.tonic],
      cfg.minor ? "minor" : "major");
  g_print ("Pipeline: %s\n\n", desc->str);

  bus = gst_element_get_bus (pipeline);
  while (!done) {
    GstMessage *msg = gst_bus_timed_pop (bus, 60 * GST_SECOND);
    if (msg == NULL) {
      g_printerr ("Timed out\n");
      failed = TRUE;
      break;
    }
    switch (GST_MESSAGE_TYPE (msg)) {
      case GST_MESSAGE_ELEMENT:
        read_message (msg, &found);
        break;
      case GST_MESSAGE_TAG:
        read_tags (msg, &found);
        break;
      case GST_MESSAGE_ERROR:{
        GError *e = NULL;
        gst_message_parse_error (msg, &e, NULL);
        g_printerr ("Error: %s\n", e->message);
        g_error_free (e);
        failed = TRUE;
        done = TRUE;
        break;
      }
      case GST_MESSAGE_EOS:
        done = TRUE;
        break;
      default:
        break;
    }
    gst_message_unref (msg);
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);

  if (found.melspec_messages)
    g_print ("melspec:   %u frames of %d mel bands in %u messages "
        "(expected 1 + %zu / 512 = %zu frames)\n", found.melspec_frames,
        found.n_mels, found.melspec_messages, n, 1 + n / 512);
  if (found.key || found.tag_key)
    g_print ("chromakey: %s (strength %.2f), tag musical-key=%s; truth %s %s\n",
        found.key ? found.key : "-", found.key_strength,
        found.tag_key ? found.tag_key : "-", pitch_names[cfg.tonic],
        cfg.minor ? "minor" : "major");
  if (found.bpm > 0 || found.tag_bpm > 0)
    g_print ("onsetbpm:  %.1f BPM (confidence %.2f), tag beats-per-minute=%.1f;"
        " truth %.1f BPM\n", found.bpm, found.bpm_confidence, found.tag_bpm,
        cfg.bpm);

  gst_object_unref (bus);
  gst_object_unref (src);
  gst_object_unref (pipeline);
  g_string_free (desc, TRUE);
  g_free (found.key);
  g_free (found.tag_key);
  g_free (found.knn);
  g_free (found.augment);
  g_free (key);
  return failed ? 1 : 0;
}
