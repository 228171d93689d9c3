/* Every musa element cycles through NULL, READY, PAUSED and PLAYING and back,
 * repeatedly, with and without data (model: gst-plugins-base's states test). */
#include <gst/check/gstcheck.h>

static const GstState cycle[] = {
  GST_STATE_NULL, GST_STATE_READY, GST_STATE_PAUSED, GST_STATE_PLAYING,
  GST_STATE_PAUSED, GST_STATE_READY, GST_STATE_PLAYING, GST_STATE_NULL,
  GST_STATE_PAUSED, GST_STATE_NULL,
};

static GList *
musa_factories (void)
{
  GstPlugin *plugin = gst_registry_find_plugin (gst_registry_get (), "musa");
  GList *features, *l, *names = NULL;

  fail_unless (plugin != NULL, "plugin musa not found");
  features = gst_registry_get_feature_list_by_plugin (gst_registry_get (),
      "musa");
  for (l = features; l; l = l->next)
    if (GST_IS_ELEMENT_FACTORY (l->data))
      names = g_list_prepend (names,
          g_strdup (GST_OBJECT_NAME (GST_OBJECT (l->data))));
  gst_plugin_feature_list_free (features);
  gst_object_unref (plugin);
  return names;
}

GST_START_TEST (test_state_changes_bare)
{
  GList *names = musa_factories (), *l;

  fail_unless (names != NULL);
  for (l = names; l; l = l->next) {
    GstElement *e = gst_element_factory_make (l->data, NULL);
    guint i;
    fail_unless (e != NULL, "cannot make %s", (gchar *) l->data);
    for (i = 0; i < G_N_ELEMENTS (cycle); i++)
      gst_element_set_state (e, cycle[i]);
    fail_unless_equals_int (gst_element_set_state (e, GST_STATE_NULL),
        GST_STATE_CHANGE_SUCCESS);
    gst_object_unref (e);
  }
  g_list_free_full (names, g_free);
}

GST_END_TEST;

/* in a pipeline with data flowing, changing state at any point */
GST_START_TEST (test_state_changes_pipeline)
{
  GList *names = musa_factories (), *l;

  for (l = names; l; l = l->next) {
    gchar *desc = g_strdup_printf ("audiotestsrc is-live=false wave=pink-noise"
        " ! audio/x-raw,format=F32LE,rate=22050,channels=2 ! %s name=e ! "
        "fakesink sync=false", (gchar *) l->data);
    GstElement *pipeline = gst_parse_launch (desc, NULL);
    guint i, rep;
    fail_unless (pipeline != NULL);
    for (rep = 0; rep < 3; rep++) {
      for (i = 0; i < G_N_ELEMENTS (cycle); i++) {
        gst_element_set_state (pipeline, cycle[i]);
        if (cycle[i] >= GST_STATE_PAUSED)
          gst_element_get_state (pipeline, NULL, NULL, GST_SECOND);
        g_usleep (2000);
      }
    }
    fail_unless_equals_int (gst_element_set_state (pipeline, GST_STATE_NULL),
        GST_STATE_CHANGE_SUCCESS);
    gst_object_unref (pipeline);
    g_free (desc);
  }
  g_list_free_full (names, g_free);
}

GST_END_TEST;

static Suite *
states_suite (void)
{
  Suite *s = suite_create ("states");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 120);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_state_changes_bare);
  tcase_add_test (tc, test_state_changes_pipeline);
  return s;
}

GST_CHECK_MAIN (states);
