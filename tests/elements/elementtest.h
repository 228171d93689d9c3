/* Helpers shared by the element tests. */
#ifndef MUSA_ELEMENTTEST_H
#define MUSA_ELEMENTTEST_H

#include <gst/gst.h>

/* The text of the next error message on @bus (g_free), or NULL. */
static inline gchar *
bus_error_text (GstBus * bus)
{
  GstMessage *m = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  GError *err = NULL;
  gchar *text;

  if (m == NULL)
    return NULL;
  gst_message_parse_error (m, &err, NULL);
  text = g_strdup (err->message);
  g_error_free (err);
  gst_message_unref (m);
  return text;
}

/* Takes @desc (gst_parse_launch: one element with its properties) from
 * NULL to PAUSED. Returns the text of the error it posted when that state
 * change failed (g_free), or NULL when it started. */
static inline gchar *
start_error (const gchar * desc)
{
  GstElement *e = gst_parse_launch (desc, NULL);
  GstBus *bus = gst_bus_new ();
  gchar *text = NULL;

  g_assert (e != NULL);
  gst_element_set_bus (e, bus);
  if (gst_element_set_state (e, GST_STATE_PAUSED) ==
      GST_STATE_CHANGE_FAILURE) {
    text = bus_error_text (bus);
    g_assert (text != NULL);
  }
  gst_element_set_state (e, GST_STATE_NULL);
  gst_element_set_bus (e, NULL);
  gst_object_unref (bus);
  gst_object_unref (e);
  return text;
}

#endif /* MUSA_ELEMENTTEST_H */
