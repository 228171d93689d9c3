/* musa — GStreamer plugin: music analysis and natural augmentation. */
#ifdef HAVE_CONFIG_H
#include "musa-config.h"
#endif

#include <gst/gst.h>

#include "gstmusaelements.h"

static gboolean
plugin_init (GstPlugin * plugin)
{
  gboolean ret = FALSE;

#ifdef MUSA_HAVE_MELSPEC
  ret |= GST_ELEMENT_REGISTER (melspec, plugin);
#endif
#ifdef MUSA_HAVE_CHROMAKEY
  ret |= GST_ELEMENT_REGISTER (chromakey, plugin);
#endif
#ifdef MUSA_HAVE_ONSETBPM
  ret |= GST_ELEMENT_REGISTER (onsetbpm, plugin);
#endif
#ifdef MUSA_HAVE_MUSAUGMENT
  ret |= GST_ELEMENT_REGISTER (musaugment, plugin);
#endif
#ifdef MUSA_HAVE_KNNTAG
  ret |= GST_ELEMENT_REGISTER (knntag, plugin);
#endif
  return ret;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, musa,
    "Real-time music analysis (mel spectrogram, key, tempo, kNN tags) and "
    "natural data augmentation", plugin_init, VERSION, "LGPL",
    GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)
