/* musa-index — build and maintain knntag index files.
 *
 *   musa-index build INDEX LIST.csv [--label-column NAME] [--jobs N]
 *                    [--window SECONDS]
 *   musa-index list INDEX
 *   musa-index verify INDEX
 *   musa-index remove INDEX SOURCE...
 *
 * `build` decodes every file of the CSV with GStreamer (uridecodebin !
 * audioconvert ! appsink, several files in parallel, with a progress line on
 * stderr), cuts each into snippets of --window seconds (default 10: one item
 * per window, the last shorter one kept when it has half a window or is the
 * only one, exactly as `knntag mode=learn`), computes the built-in embedding
 * of each snippet and appends them to INDEX (created if missing) with the
 * file's labels; items are named FILE#N after the file's base name, and a
 * file already in the index is replaced. The CSV has a header line or not;
 * the first column is the file (relative to the CSV's folder), the labels are
 * the second column (comma-separated inside quotes: `a.wav,"happy,calm"`) or
 * the column named by --label-column (e.g. `family` for make_set.py's
 * labels.csv). The index is written once, atomically, at the end.
 *
 * `list` prints one line per item: number, id, labels. `verify` loads the
 * index with every check (sizes, offsets, checksum, values) and prints a
 * summary; exit status 1 when it is damaged. `remove` drops every item of
 * each SOURCE (its id, or its FILE#N snippets) and rewrites the index. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gst/gst.h>
#include <gst/app/gstappsink.h>
#include <gst/audio/audio.h>

#include "core/audio.h"
#include "knn/embed.h"
#include "knn/index.h"

typedef struct
{
  gchar *path;                  /* as found */
  gchar *name;                  /* base name: the item id prefix */
  gchar **labels;
  /* results */
  GArray *vectors;              /* float, MUSA_EMBED_DIM per snippet */
  guint n;
  gchar *error;
  gdouble seconds;
} Job;

typedef struct
{
  Job *jobs;
  guint n_jobs;
  gint next;                    /* atomic */
  gint done;                    /* atomic */
  gint failed;                  /* atomic */
  gdouble window;
  GMutex lock;                  /* progress output */
  gint64 start;
} Work;

/* ---- CSV ---- */

static gchar **
csv_split (const gchar * line)
{
  GPtrArray *f = g_ptr_array_new ();
  GString *cur = g_string_new (NULL);
  gboolean quoted = FALSE;
  const gchar *p;

  for (p = line; *p; p++) {
    if (quoted) {
      if (*p == '"' && p[1] == '"') {
        g_string_append_c (cur, '"');
        p++;
      } else if (*p == '"') {
        quoted = FALSE;
      } else {
        g_string_append_c (cur, *p);
      }
    } else if (*p == '"') {
      quoted = TRUE;
    } else if (*p == ',') {
      g_ptr_array_add (f, g_string_free (cur, FALSE));
      cur = g_string_new (NULL);
    } else if (*p != '\r' && *p != '\n') {
      g_string_append_c (cur, *p);
    }
  }
  g_ptr_array_add (f, g_string_free (cur, FALSE));
  g_ptr_array_add (f, NULL);
  return (gchar **) g_ptr_array_free (f, FALSE);
}

static gboolean
read_csv (const gchar * csv, const gchar * column, Job ** jobs, guint * n,
    GError ** error)
{
  gchar *text, **lines, *dir;
  GArray *arr = g_array_new (FALSE, TRUE, sizeof (Job));
  gint col = 1, first = 0;
  guint i;

  if (!g_file_get_contents (csv, &text, NULL, error))
    return FALSE;
  dir = g_path_get_dirname (csv);
  /* skip a UTF-8 byte order mark ("CSV UTF-8" from a spreadsheet) */
  lines = g_strsplit (g_str_has_prefix (text, "\xef\xbb\xbf") ? text + 3 :
      text, "\n", -1);
  g_free (text);
  if (lines[0]) {
    gchar **h = csv_split (lines[0]);
    gboolean header = g_strv_length (h) > 0 && (strcmp (h[0], "file") == 0
        || strcmp (h[0], "path") == 0 || column != NULL);
    if (column) {
      col = -1;
      for (i = 0; h[i]; i++)
        if (strcmp (g_strstrip (h[i]), column) == 0)
          col = (gint) i;
      if (col < 0) {
        g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
            "%s: no column named \"%s\" in the header", csv, column);
        g_strfreev (h);
        goto fail;
      }
    }
    first = header ? 1 : 0;
    g_strfreev (h);
  }
  for (i = first; lines[i]; i++) {
    gchar **f;
    Job j = { 0 };
    if (g_strstrip (lines[i])[0] == '\0' || lines[i][0] == '#')
      continue;
    f = csv_split (lines[i]);
    if ((gint) g_strv_length (f) <= col || f[0][0] == '\0') {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
          "%s:%u: need a file and labels (column %d)", csv, i + 1, col + 1);
      g_strfreev (f);
      goto fail;
    }
    j.path = g_path_is_absolute (f[0]) ? g_strdup (f[0]) :
        g_build_filename (dir, f[0], NULL);
    j.name = g_path_get_basename (f[0]);
    g_strdelimit (j.name, "#", '_');
    j.labels = g_strsplit (f[col], ",", -1);
    {
      guint k, m = 0;
      for (k = 0; j.labels[k]; k++) {
        g_strstrip (j.labels[k]);
        if (j.labels[k][0])
          j.labels[m++] = j.labels[k];
        else
          g_free (j.labels[k]);
      }
      j.labels[m] = NULL;
    }
    j.vectors = g_array_new (FALSE, FALSE, sizeof (gfloat));
    g_array_append_val (arr, j);
    g_strfreev (f);
  }
  g_strfreev (lines);
  g_free (dir);
  *n = arr->len;
  *jobs = (Job *) g_array_free (arr, FALSE);
  return TRUE;
fail:
  g_strfreev (lines);
  g_free (dir);
  g_array_free (arr, TRUE);
  return FALSE;
}

/* ---- decoding ---- */

static void
on_pad_added (GstElement * dec, GstPad * pad, gpointer user)
{
  GstElement *conv = user;
  GstPad *sink = gst_element_get_static_pad (conv, "sink");
  GstCaps *caps = gst_pad_get_current_caps (pad);

  if (caps == NULL)
    caps = gst_pad_query_caps (pad, NULL);
  if (!gst_pad_is_linked (sink) && caps
      && g_str_has_prefix (gst_structure_get_name (gst_caps_get_structure
              (caps, 0)), "audio/"))
    gst_pad_link (pad, sink);
  if (caps)
    gst_caps_unref (caps);
  gst_object_unref (sink);
}

static void
decode (Job * job, gdouble window)
{
  GstElement *pipe, *dec, *conv, *sink;
  GstBus *bus;
  GstCaps *caps;
  GError *err = NULL;
  gchar *uri;
  MusaEmbed *embed = NULL;
  MusaEmbedConfig ec;
  MusaError merr;
  gfloat *mono = NULL, vec[MUSA_EMBED_DIM];
  gsize mono_cap = 0;
  guint64 pos = 0, snippet = 0, next = 0;
  gint rate = 0, channels = 0;
  gboolean eos = FALSE;

  uri = gst_filename_to_uri (job->path, &err);
  if (uri == NULL) {
    job->error = g_strdup (err->message);
    g_error_free (err);
    return;
  }
  pipe = gst_pipeline_new (NULL);
  dec = gst_element_factory_make ("uridecodebin", NULL);
  conv = gst_element_factory_make ("audioconvert", NULL);
  sink = gst_element_factory_make ("appsink", NULL);
  if (!dec || !conv || !sink) {
    job->error = g_strdup ("missing GStreamer elements (uridecodebin, "
        "audioconvert, appsink)");
    gst_object_unref (pipe);
    g_free (uri);
    return;
  }
  g_object_set (dec, "uri", uri, NULL);
  caps = gst_caps_from_string ("audio/x-raw, format = (string) F32LE, "
      "layout = (string) interleaved");
  g_object_set (sink, "caps", caps, "sync", FALSE, "max-buffers", 64, NULL);
  gst_caps_unref (caps);
  gst_bin_add_many (GST_BIN (pipe), dec, conv, sink, NULL);
  gst_element_link (conv, sink);
  g_signal_connect (dec, "pad-added", G_CALLBACK (on_pad_added), conv);
  bus = gst_element_get_bus (pipe);
  if (gst_element_set_state (pipe, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE)
    job->error = g_strdup ("could not start decoding");

  while (!job->error && !eos) {
    GstSample *s = gst_app_sink_try_pull_sample (GST_APP_SINK (sink),
        100 * GST_MSECOND);
    GstMessage *msg;
    if (s) {
      GstBuffer *buf = gst_sample_get_buffer (s);
      GstAudioInfo info;
      GstMapInfo map;
      if (rate == 0) {
        if (!gst_audio_info_from_caps (&info, gst_sample_get_caps (s))) {
          job->error = g_strdup ("unreadable audio caps");
          gst_sample_unref (s);
          break;
        }
        rate = GST_AUDIO_INFO_RATE (&info);
        channels = GST_AUDIO_INFO_CHANNELS (&info);
        musa_embed_config_default (&ec, rate);
        ec.window = window;
        embed = musa_embed_new (&ec, &merr);
        if (embed == NULL) {
          job->error = g_strdup (merr.message);
          gst_sample_unref (s);
          break;
        }
        snippet = (guint64) llround (window * rate);
        next = snippet;
      }
      if (gst_buffer_map (buf, &map, GST_MAP_READ)) {
        gsize frames = map.size / (sizeof (gfloat) * channels), off = 0;
        if (frames > mono_cap) {
          mono_cap = frames;
          mono = g_renew (gfloat, mono, mono_cap);
        }
        musa_audio_to_mono (map.data, MUSA_SAMPLE_F32, channels, frames, mono);
        while (off < frames) {
          gsize take = (gsize) MIN ((guint64) (frames - off), next - pos);
          musa_embed_process (embed, mono + off, take);
          off += take;
          pos += take;
          if (pos == next) {
            musa_embed_window (embed, vec);
            g_array_append_vals (job->vectors, vec, MUSA_EMBED_DIM);
            job->n++;
            next += snippet;
          }
        }
        gst_buffer_unmap (buf, &map);
      }
      gst_sample_unref (s);
      continue;
    }
    while ((msg = gst_bus_pop_filtered (bus,
                GST_MESSAGE_ERROR | GST_MESSAGE_EOS))) {
      if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
        GError *e = NULL;
        gst_message_parse_error (msg, &e, NULL);
        job->error = g_strdup (e->message);
        g_error_free (e);
      } else {
        eos = TRUE;
      }
      gst_message_unref (msg);
    }
    if (gst_app_sink_is_eos (GST_APP_SINK (sink)))
      eos = TRUE;
  }
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipe);
  g_free (uri);
  g_free (mono);
  if (!job->error && embed == NULL)
    job->error = g_strdup ("no audio");
  if (!job->error) {
    guint64 last = next - snippet;
    musa_embed_finish (embed);
    if (pos > last && (job->n == 0 || (pos - last) * 2 >= snippet)) {
      musa_embed_window (embed, vec);
      g_array_append_vals (job->vectors, vec, MUSA_EMBED_DIM);
      job->n++;
    }
    job->seconds = (gdouble) pos / rate;
  }
  musa_embed_free (embed);
}

/* One line rewritten in place on a terminal, a line per file otherwise. */
static void
progress (Work * w, const Job * job)
{
  gint done = g_atomic_int_get (&w->done);
  gdouble el = (g_get_monotonic_time () - w->start) / 1e6;
  gboolean tty = isatty (fileno (stderr));

  g_mutex_lock (&w->lock);
  if (job->error)
    fprintf (stderr, "%smusa-index: %s: %s\n", tty ? "\r\033[K" : "",
        job->path, job->error);
  fprintf (stderr, "%s[%d/%u] %5.1f s  %s (%u snippets)%s",
      tty ? "\r\033[K" : "", done, w->n_jobs, el, job->name, job->n,
      tty ? "" : "\n");
  if (tty && (guint) done == w->n_jobs)
    fprintf (stderr, "\n");
  fflush (stderr);
  g_mutex_unlock (&w->lock);
}

static gpointer
worker (gpointer user)
{
  Work *w = user;
  gint i;

  while ((i = g_atomic_int_add (&w->next, 1)) < (gint) w->n_jobs) {
    Job *job = &w->jobs[i];
    decode (job, w->window);
    if (job->error)
      g_atomic_int_inc (&w->failed);
    g_atomic_int_inc (&w->done);
    progress (w, job);
  }
  return NULL;
}

static int
cmd_build (const gchar * path, const gchar * csv, const gchar * column,
    gint jobs, gdouble window)
{
  Work w = { 0 };
  GError *error = NULL;
  GThread **threads;
  MusaIndex *idx;
  MusaError err;
  guint i, k, added = 0;
  gint t, lock, status;

  if (!read_csv (csv, column, &w.jobs, &w.n_jobs, &error)) {
    fprintf (stderr, "musa-index: %s\n", error->message);
    g_error_free (error);
    return 2;
  }
  if (w.n_jobs == 0) {
    fprintf (stderr, "musa-index: %s lists no file\n", csv);
    return 2;
  }
  for (i = 0; i < w.n_jobs; i++)
    if (w.jobs[i].labels[0] == NULL) {
      fprintf (stderr, "musa-index: %s has no label\n", w.jobs[i].path);
      return 2;
    }
  if (g_file_test (path, G_FILE_TEST_EXISTS)) {
    idx = musa_index_load (path, &err);
    if (idx && musa_index_check_embedding (idx, MUSA_EMBED_NAME,
            MUSA_EMBED_DIM, MUSA_EMBED_VERSION, &err) != MUSA_OK) {
      musa_index_free (idx);
      idx = NULL;
    }
  } else {
    idx = musa_index_new (MUSA_EMBED_NAME, MUSA_EMBED_DIM,
        MUSA_EMBED_VERSION, MUSA_INDEX_FLAG_STANDARDISE, &err);
  }
  /* the index is written at the end: fail now, not after decoding */
  if (idx && musa_index_check_writable (path, &err) != MUSA_OK) {
    musa_index_free (idx);
    idx = NULL;
  }
  if (idx == NULL) {
    fprintf (stderr, "musa-index: %s\n", err.message);
    return 1;
  }
  w.window = window;
  w.start = g_get_monotonic_time ();
  g_mutex_init (&w.lock);
  if (jobs < 1)
    jobs = (gint) g_get_num_processors ();
  jobs = MIN (jobs, (gint) w.n_jobs);
  threads = g_new (GThread *, jobs);
  for (t = 0; t < jobs; t++)
    threads[t] = g_thread_new ("decode", worker, &w);
  for (t = 0; t < jobs; t++)
    g_thread_join (threads[t]);
  g_free (threads);

  if (w.failed == (gint) w.n_jobs) {
    /* an index of nothing (or the same one again) helps no one */
    fprintf (stderr, "musa-index: no file could be read; %s not written\n",
        path);
    musa_index_free (idx);
    return 1;
  }
  /* reload under the lock: a pipeline may have learnt while we decoded,
   * and no other writer may save between this load and our save */
  lock = musa_index_lock (path, &err);
  if (lock >= 0 && g_file_test (path, G_FILE_TEST_EXISTS)) {
    MusaIndex *now = musa_index_load (path, &err);
    if (now && musa_index_check_embedding (now, MUSA_EMBED_NAME,
            MUSA_EMBED_DIM, MUSA_EMBED_VERSION, &err) != MUSA_OK) {
      musa_index_free (now);
      now = NULL;
    }
    musa_index_free (idx);
    idx = now;
  }
  if (lock < 0 || idx == NULL) {
    musa_index_unlock (lock);
    musa_index_free (idx);
    fprintf (stderr, "musa-index: %s\n", err.message);
    return 1;
  }
  for (i = 0; i < w.n_jobs; i++) {
    Job *job = &w.jobs[i];
    if (job->error)
      continue;
    musa_index_remove_source (idx, job->name);
    for (k = 0; k < job->n; k++) {
      gchar *id = g_strdup_printf ("%s#%u", job->name, k);
      if (musa_index_add (idx, &g_array_index (job->vectors, gfloat,
                  (gsize) k * MUSA_EMBED_DIM), id,
              (const char *const *) job->labels,
              (int) g_strv_length (job->labels), &err) != MUSA_OK)
        fprintf (stderr, "musa-index: %s: %s\n", id, err.message);
      else
        added++;
      g_free (id);
    }
  }
  status = musa_index_save (idx, path, &err);
  musa_index_unlock (lock);
  if (status != MUSA_OK) {
    fprintf (stderr, "musa-index: %s\n", err.message);
    musa_index_free (idx);
    return 1;
  }
  printf ("%s: %u items from %u files added (%d failed), %zu items, "
      "%d labels, %.1f s\n", path, added, w.n_jobs - w.failed, w.failed,
      musa_index_n_items (idx), musa_index_n_labels (idx),
      (g_get_monotonic_time () - w.start) / 1e6);
  musa_index_free (idx);
  for (i = 0; i < w.n_jobs; i++) {
    g_free (w.jobs[i].path);
    g_free (w.jobs[i].name);
    g_free (w.jobs[i].error);
    g_strfreev (w.jobs[i].labels);
    g_array_free (w.jobs[i].vectors, TRUE);
  }
  g_free (w.jobs);
  g_mutex_clear (&w.lock);
  return w.failed ? 1 : 0;
}

static int
cmd_list (const gchar * path, gboolean verify)
{
  MusaError err;
  MusaIndex *idx = musa_index_load (path, &err);
  size_t i;

  if (idx == NULL) {
    fprintf (stderr, "musa-index: %s\n", err.message);
    return 1;
  }
  if (verify) {
    printf ("%s: OK: embedding %s (dimension %d, version %d), %zu items, "
        "%d labels%s\n", path, musa_index_embedding_name (idx),
        musa_index_dim (idx), musa_index_embedding_version (idx),
        musa_index_n_items (idx), musa_index_n_labels (idx),
        (musa_index_flags (idx) & MUSA_INDEX_FLAG_STANDARDISE) ?
        ", standardised" : "");
  } else {
    for (i = 0; i < musa_index_n_items (idx); i++) {
      const uint32_t *l;
      int n = musa_index_item_labels (idx, i, &l), j;
      printf ("%zu\t%s\t", i, musa_index_item_id (idx, i));
      for (j = 0; j < n; j++)
        printf ("%s%s", j ? "," : "", musa_index_label (idx, l[j]));
      printf ("\n");
    }
  }
  musa_index_free (idx);
  return 0;
}

static int
cmd_remove (const gchar * path, gchar ** sources)
{
  MusaError err;
  MusaIndex *idx = NULL;
  size_t removed = 0;
  guint i;
  gint lock, status;

  /* no other writer between our load and our save */
  lock = musa_index_lock (path, &err);
  if (lock >= 0)
    idx = musa_index_load (path, &err);
  if (idx == NULL) {
    musa_index_unlock (lock);
    fprintf (stderr, "musa-index: %s\n", err.message);
    return 1;
  }
  for (i = 0; sources[i]; i++) {
    size_t r = musa_index_remove_source (idx, sources[i]);
    if (r == 0)
      fprintf (stderr, "musa-index: no item of %s\n", sources[i]);
    removed += r;
  }
  status = musa_index_save (idx, path, &err);
  musa_index_unlock (lock);
  if (status != MUSA_OK) {
    fprintf (stderr, "musa-index: %s\n", err.message);
    musa_index_free (idx);
    return 1;
  }
  printf ("%s: %zu items removed, %zu left\n", path, removed,
      musa_index_n_items (idx));
  musa_index_free (idx);
  return 0;
}

int
main (int argc, char **argv)
{
  gchar *column = NULL;
  gint jobs = 0;
  gdouble window = 10.0;
  GOptionEntry entries[] = {
    {"label-column", 'l', 0, G_OPTION_ARG_STRING, &column,
        "build: CSV column with the labels (default: the second)", "NAME"},
    {"jobs", 'j', 0, G_OPTION_ARG_INT, &jobs,
        "build: files decoded in parallel (default: the number of CPUs)", "N"},
    {"window", 'w', 0, G_OPTION_ARG_DOUBLE, &window,
        "build: snippet length in seconds (default 10)", "SECONDS"},
    {NULL}
  };
  GOptionContext *ctx;
  GError *error = NULL;
  int ret;

  ctx = g_option_context_new ("build INDEX LIST.csv | list INDEX | "
      "verify INDEX | remove INDEX SOURCE...");
  g_option_context_set_summary (ctx, "Build and maintain knntag index files "
      "(built-in embedding).");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    fprintf (stderr, "musa-index: %s\n", error->message);
    g_error_free (error);
    g_option_context_free (ctx);
    return 2;
  }
  g_option_context_free (ctx);
  gst_init (NULL, NULL);
  if (!(window >= 0.5 && window <= 600.0)) {
    fprintf (stderr, "musa-index: --window must be in 0.5..600 s\n");
    return 2;
  }
  if (argc == 4 && strcmp (argv[1], "build") == 0)
    ret = cmd_build (argv[2], argv[3], column, jobs, window);
  else if (argc == 3 && strcmp (argv[1], "list") == 0)
    ret = cmd_list (argv[2], FALSE);
  else if (argc == 3 && strcmp (argv[1], "verify") == 0)
    ret = cmd_list (argv[2], TRUE);
  else if (argc >= 4 && strcmp (argv[1], "remove") == 0)
    ret = cmd_remove (argv[2], argv + 3);
  else {
    fprintf (stderr, "usage: musa-index build INDEX LIST.csv [--label-column "
        "NAME] [--jobs N] [--window S]\n       musa-index list|verify INDEX\n"
        "       musa-index remove INDEX SOURCE...\n");
    ret = 2;
  }
  g_free (column);
  return ret;
}
