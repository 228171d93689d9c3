/* libmusa — status codes and error reporting. */
#include "core/musa.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *
musa_status_name (int status)
{
  switch (status) {
    case MUSA_OK:
      return "ok";
    case MUSA_ERR_INVALID:
      return "invalid argument";
    case MUSA_ERR_NOMEM:
      return "out of memory";
    case MUSA_ERR_FFT:
      return "FFT planning failed";
    case MUSA_ERR_IO:
      return "input/output error";
    case MUSA_ERR_FORMAT:
      return "bad file format";
    case MUSA_ERR_MISMATCH:
      return "mismatch";
    case MUSA_ERR_STATE:
      return "invalid state";
    default:
      return "unknown error";
  }
}

int
musa_error_set (MusaError * err, int code, const char *property,
    const char *fmt, ...)
{
  va_list ap;

  if (err == NULL)
    return code;
  err->code = code;
  snprintf (err->property, sizeof (err->property), "%s",
      property ? property : "");
  if (fmt == NULL) {
    err->message[0] = '\0';
    return code;
  }
  va_start (ap, fmt);
  vsnprintf (err->message, sizeof (err->message), fmt, ap);
  va_end (ap);
  return code;
}

void
musa_error_clear (MusaError * err)
{
  if (err == NULL)
    return;
  memset (err, 0, sizeof (*err));
}
