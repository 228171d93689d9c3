/* libmusa — onset: histories that grow with the stream (private, not
 * installed). */
#ifndef MUSA_ONSET_HISTORY_H
#define MUSA_ONSET_HISTORY_H

#include <stdlib.h>
#include <string.h>

/* Doubles the float array *@p of *@cap values, up to @max, the new part
 * zeroed. 0 when it could not (out of memory): *@p and *@cap are left as
 * they were. */
static inline int
musa_history_grow (float **p, size_t * cap, size_t max)
{
  size_t n = *cap * 2;
  float *q;

  if (n > max)
    n = max;
  q = realloc (*p, sizeof (float) * n);
  if (q == NULL)
    return 0;
  memset (q + *cap, 0, sizeof (float) * (n - *cap));
  *p = q;
  *cap = n;
  return 1;
}

#endif
