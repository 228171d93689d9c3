/* musa — element registration declarations. */
#ifndef __GST_MUSA_ELEMENTS_H__
#define __GST_MUSA_ELEMENTS_H__

#include <gst/gst.h>

G_BEGIN_DECLS

GST_ELEMENT_REGISTER_DECLARE (melspec);
GST_ELEMENT_REGISTER_DECLARE (chromakey);
GST_ELEMENT_REGISTER_DECLARE (onsetbpm);
GST_ELEMENT_REGISTER_DECLARE (musaugment);
GST_ELEMENT_REGISTER_DECLARE (knntag);

/* Registers GStreamer's MusicBrainz tags (musical-key) once. */
void musa_element_init (GstPlugin * plugin);

G_END_DECLS
#endif /* __GST_MUSA_ELEMENTS_H__ */
