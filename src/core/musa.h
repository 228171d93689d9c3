/* libmusa — status codes and error reporting shared by every module.
 *
 * Every constructor takes an optional MusaError * that, on failure, names the
 * offending configuration field (as the GStreamer property a user would set,
 * e.g. "n-mels") and says what is wrong, so that elements can forward it
 * verbatim in a GST_ELEMENT_ERROR. A NULL configuration pointer gives
 * MUSA_ERR_INVALID ("no configuration").
 *
 * NULL arguments, in every header: a function that returns a status gives
 * MUSA_ERR_INVALID for a NULL object or a NULL pointer it needs; a
 * constructor returns NULL and fills @err. Functions without a status
 * accept NULL too: every _free and _reset (and _config_default) does
 * nothing, as free (NULL); a function that fills a caller's array or
 * result leaves it untouched when the array is NULL; getters of a NULL
 * object return 0 (counts, sizes, rates, flags), NULL (pointers) or the
 * neutral value their header names (e.g. -1 for "no beat yet").
 *
 * Streams: the streaming modules (stft, melspec, chordchange, onset,
 * onsetbpm, chroma, embed, stretch, the augment processor and session)
 * share one contract. process feeds a stream; finish ends it. After finish,
 * process returns MUSA_ERR_STATE ("invalid state") and changes nothing (no
 * output, no callback) until _reset starts a new stream (a session has no
 * reset: make a new one); finish again returns MUSA_OK and gives nothing
 * more, so that a drain loop calling finish until it produces nothing ends
 * cleanly; the getters keep answering about the finished stream. Effects
 * (fx.h) and the tempo and beat trackers (tempo.h) have no end of stream:
 * they take input for as long as they are given it. */
#ifndef MUSA_MUSA_H
#define MUSA_MUSA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum
{
  MUSA_OK = 0,
  MUSA_ERR_INVALID = -1,        /* invalid argument or configuration */
  MUSA_ERR_NOMEM = -2,          /* allocation failed */
  MUSA_ERR_FFT = -3,            /* FFTW could not plan */
  MUSA_ERR_IO = -4,             /* file could not be read or written */
  MUSA_ERR_FORMAT = -5,         /* file is damaged, truncated or not ours */
  MUSA_ERR_MISMATCH = -6,       /* data does not match (dimension, embedding id) */
  MUSA_ERR_STATE = -7,          /* call not valid in the object's current state */
} MusaStatus;

#define MUSA_ERROR_PROPERTY_LEN 32
#define MUSA_ERROR_MESSAGE_LEN 256

typedef struct
{
  int code;                     /* a MusaStatus */
  char property[MUSA_ERROR_PROPERTY_LEN];       /* "" when no single field is at fault */
  char message[MUSA_ERROR_MESSAGE_LEN];
} MusaError;

/* Short name of a status code ("invalid argument", ...). Never NULL. */
const char *musa_status_name (int status);

/* Fill @err (may be NULL) and return @code. printf-style message. */
int musa_error_set (MusaError * err, int code, const char *property,
    const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__ ((format (printf, 4, 5)))
#endif
    ;

/* Clear @err to MUSA_OK. */
void musa_error_clear (MusaError * err);

#ifdef __cplusplus
}
#endif
#endif /* MUSA_MUSA_H */
