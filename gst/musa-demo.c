/* musa-demo — runs musa's elements over clips that libmusa synthesises (a
 * drum, bass and chord groove at a known tempo and key) and prints what each
 * element found beside the truth:
 *
 *  1. melspec ! chromakey ! onsetbpm on the clip;
 *  2. musaugment (pitch +2 semitones, stretch x1.1) then chromakey ! onsetbpm:
 *     the labels move as the provenance says;
 *  3. knntag: learns "driving" and "calm" from four other synthesised clips,
 *     then tags the clip and an unseen calm one.
 *
 *   musa-demo [--bpm 120] [--key "A minor"] [--seconds 20]
 */
#include <gst/gst.h>
#include <gst/app/gstappsrc.h>
#include <glib/gstdio.h>
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
  gdouble key_shift, tempo_factor;
  gchar *genre;
  gchar *error;
} Found;

static void
found_clear (Found * f)
{
  g_free (f->key);
  g_free (f->tag_key);
  g_free (f->augment);
  g_free (f->genre);
  g_free (f->error);
  memset (f, 0, sizeof (*f));
}

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
  } else if (g_str_equal (name, "musaugment")) {
    const gchar *d = gst_structure_get_string (s, "description");
    g_free (f->augment);
    f->augment = g_strdup (d ? d : "");
    gst_structure_get_double (s, "key-shift", &f->key_shift);
    gst_structure_get_double (s, "tempo-factor", &f->tempo_factor);
  }
}

static void
read_tags (GstMessage * msg, Found * f)
{
  GstTagList *tags = NULL;
  gchar *str = NULL;

  gst_message_parse_tag (msg, &tags);
  if (gst_tag_list_get_string (tags, "musical-key", &str)) {
    g_free (f->tag_key);
    f->tag_key = str;
  }
  if (gst_tag_list_get_string (tags, GST_TAG_GENRE, &str)) {
    g_free (f->genre);
    f->genre = str;
  }
  gst_tag_list_get_double (tags, GST_TAG_BEATS_PER_MINUTE, &f->tag_bpm);
  gst_tag_list_unref (tags);
}

static gboolean
have (const gchar * factory)
{
  GstElementFactory *f = gst_element_factory_find (factory);

  if (f)
    gst_object_unref (f);
  return f != NULL;
}

/* Plays @x (mono float) through "appsrc ! audioconvert ! @chain ! fakesink"
 * and reads the messages and tags into @f. */
static gboolean
run (const gchar * chain, const gfloat * x, gsize n, gint rate, Found * f)
{
  gchar *desc = g_strdup_printf ("appsrc name=src format=time ! audioconvert"
      " ! %s ! fakesink", chain);
  GError *error = NULL;
  GstElement *pipeline = gst_parse_launch (desc, &error);
  GstElement *src;
  GstBus *bus;
  GstBuffer *buf;
  GstCaps *caps;
  gboolean done = FALSE;

  g_free (desc);
  if (pipeline == NULL) {
    f->error = g_strdup (error->message);
    g_error_free (error);
    return FALSE;
  }
  src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  caps = gst_caps_new_simple ("audio/x-raw", "format", G_TYPE_STRING, "F32LE",
      "layout", G_TYPE_STRING, "interleaved", "rate", G_TYPE_INT, rate,
      "channels", G_TYPE_INT, 1, NULL);
  g_object_set (src, "caps", caps, NULL);
  gst_caps_unref (caps);
  buf = gst_buffer_new_memdup (x, n * sizeof (gfloat));
  GST_BUFFER_PTS (buf) = 0;
  GST_BUFFER_DURATION (buf) = gst_util_uint64_scale_int (n, GST_SECOND, rate);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  gst_app_src_push_buffer (GST_APP_SRC (src), buf);
  gst_app_src_end_of_stream (GST_APP_SRC (src));

  bus = gst_element_get_bus (pipeline);
  while (!done) {
    GstMessage *msg = gst_bus_timed_pop (bus, 60 * GST_SECOND);
    if (msg == NULL) {
      f->error = g_strdup ("timed out");
      break;
    }
    switch (GST_MESSAGE_TYPE (msg)) {
      case GST_MESSAGE_ELEMENT:
        read_message (msg, f);
        break;
      case GST_MESSAGE_TAG:
        read_tags (msg, f);
        break;
      case GST_MESSAGE_ERROR:{
        GError *e = NULL;
        gst_message_parse_error (msg, &e, NULL);
        f->error = g_strdup (e->message);
        g_error_free (e);
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
  gst_object_unref (bus);
  gst_object_unref (src);
  gst_object_unref (pipeline);
  return f->error == NULL;
}

static gfloat *
synth (const MusaSynthConfig * cfg, gsize n)
{
  gfloat *x = g_new (gfloat, n);
  MusaError err;

  if (musa_synth_music (cfg, x, n, &err) != MUSA_OK)
    g_error ("%s", err.message);
  return x;
}

static void
print_analysis (const Found * f, const gchar * truth_key, gdouble truth_bpm)
{
  if (f->key || f->tag_key)
    g_print ("  chromakey: %s (strength %.2f), tag musical-key=%s; "
        "expected %s\n", f->key ? f->key : "-", f->key_strength,
        f->tag_key ? f->tag_key : "-", truth_key);
  if (f->bpm > 0 || f->tag_bpm > 0)
    g_print ("  onsetbpm:  %.1f BPM (confidence %.2f), tag "
        "beats-per-minute=%.1f; expected %.1f BPM\n", f->bpm,
        f->bpm_confidence, f->tag_bpm, truth_bpm);
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
  GOptionContext *ctx;
  GError *error = NULL;
  MusaSynthConfig cfg;
  GString *chain;
  Found f = { 0 };
  gchar *truth;
  gfloat *x;
  gsize n;
  gint failures = 0;

  ctx = g_option_context_new ("- musa on synthesised clips");
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
  if (!(seconds >= 5.0 && seconds <= 600.0) || !(bpm >= 40 && bpm <= 240)) {
    g_printerr ("--seconds must be in 5..600 and --bpm in 40..240\n");
    return 2;
  }
  n = (gsize) (seconds * cfg.sample_rate);
  x = synth (&cfg, n);
  truth = g_strdup_printf ("%s %s", pitch_names[cfg.tonic],
      cfg.minor ? "minor" : "major");
  g_print ("Clip: %.0f s synthesised at %d Hz: drums, bass and chords, "
      "%.1f BPM, %s\n\n", seconds, cfg.sample_rate, cfg.bpm, truth);

  /* 1. analysis */
  chain = g_string_new ("");
  if (have ("melspec"))
    g_string_append (chain, "melspec ! ");
  if (have ("chromakey"))
    g_string_append (chain, "chromakey ! ");
  if (have ("onsetbpm"))
    g_string_append (chain, "onsetbpm ! ");
  g_string_append (chain, "identity");
  g_print ("1. %s\n", chain->str);
  if (run (chain->str, x, n, cfg.sample_rate, &f)) {
    if (f.melspec_messages)
      g_print ("  melspec:   %u frames of %d mel bands in %u messages "
          "(librosa gives 1 + %zu / 512 = %zu frames)\n", f.melspec_frames,
          f.n_mels, f.melspec_messages, n, 1 + n / 512);
    print_analysis (&f, truth, cfg.bpm);
  } else {
    g_print ("  error: %s\n", f.error);
    failures++;
  }
  found_clear (&f);

  /* 2. augmentation, and the labels it says to change */
  if (have ("musaugment")) {
    const gchar *aug = "musaugment seed=7 probability=1 "
        "chain=\"pitch:1(semitones=2),stretch:1(rate=1.1)\"";
    gchar *desc = g_strdup_printf ("%s ! %s%sidentity", aug,
        have ("chromakey") ? "chromakey ! " : "",
        have ("onsetbpm") ? "onsetbpm ! " : "");
    g_print ("\n2. %s\n", desc);
    if (run (desc, x, n, cfg.sample_rate, &f)) {
      gint shift = (gint) lround (f.key_shift);
      gchar *moved = g_strdup_printf ("%s %s",
          pitch_names[((cfg.tonic + shift) % 12 + 12) % 12],
          cfg.minor ? "minor" : "major");
      g_print ("  musaugment: %s\n", f.augment ? f.augment : "(no message)");
      print_analysis (&f, moved, cfg.bpm * (f.tempo_factor > 0 ?
              f.tempo_factor : 1.0));
      g_free (moved);
    } else {
      g_print ("  error: %s\n", f.error);
      failures++;
    }
    found_clear (&f);
    g_free (desc);
  }

  /* 3. kNN tagging from a tiny labelled set */
  if (have ("knntag")) {
    struct
    {
      const gchar *label;
      gint tonic, minor, drums;
      gdouble bpm;
    } train[] = {
      {"driving", 4, 1, 1, 132.0}, {"driving", 2, 0, 1, 112.0},
      {"calm", 0, 0, 0, 70.0}, {"calm", 7, 1, 0, 64.0},
    };
    gchar *dir = g_dir_make_tmp ("musa-demo-XXXXXX", NULL);
    gchar *index = g_build_filename (dir, "demo.knn", NULL);
    guint i;

    g_print ("\n3. knntag: learning driving (drums, 112-132 BPM) and calm "
        "(no drums, 64-70 BPM) from four clips into %s\n", index);
    for (i = 0; i < G_N_ELEMENTS (train) && failures == 0; i++) {
      MusaSynthConfig c = cfg;
      gfloat *y;
      gchar *desc;
      c.tonic = train[i].tonic;
      c.minor = train[i].minor;
      c.drums = train[i].drums;
      c.bpm = train[i].bpm;
      c.seed = 100 + i;
      y = synth (&c, n);
      desc = g_strdup_printf ("knntag mode=learn label=%s location=%s",
          train[i].label, index);
      if (!run (desc, y, n, cfg.sample_rate, &f)) {
        g_print ("  error: %s\n", f.error);
        failures++;
      }
      found_clear (&f);
      g_free (desc);
      g_free (y);
    }
    if (failures == 0) {
      gchar *desc = g_strdup_printf ("knntag k=3 location=%s", index);
      MusaSynthConfig c = cfg;
      gfloat *y;
      if (run (desc, x, n, cfg.sample_rate, &f))
        g_print ("  the clip above: genre=%s (expected driving)\n",
            f.genre ? f.genre : "-");
      found_clear (&f);
      c.drums = 0;
      c.bpm = 76.0;
      c.tonic = 5;
      c.seed = 200;
      y = synth (&c, n);
      if (run (desc, y, n, cfg.sample_rate, &f))
        g_print ("  an unseen F minor clip without drums at 76 BPM: genre=%s "
            "(expected calm)\n", f.genre ? f.genre : "-");
      found_clear (&f);
      g_free (y);
      g_free (desc);
    }
    g_unlink (index);
    {
      /* learners take turns through INDEX.lock beside the index */
      gchar *lock = g_strconcat (index, ".lock", NULL);
      g_unlink (lock);
      g_free (lock);
    }
    g_rmdir (dir);
    g_free (index);
    g_free (dir);
  }

  g_string_free (chain, TRUE);
  g_free (truth);
  g_free (x);
  g_free (key);
  return failures ? 1 : 0;
}
