/* Stretch / shift a 16-bit PCM WAV file with libmusa (for stretch_eval.py).
 * usage: stretch_wav IN.wav OUT.wav RATE SEMITONES */
#include "stretch/stretch.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t
le32 (const unsigned char *b)
{
  return b[0] | b[1] << 8 | b[2] << 16 | (uint32_t) b[3] << 24;
}

static void
put32 (FILE * f, uint32_t v)
{
  unsigned char b[4] = { v & 255, (v >> 8) & 255, (v >> 16) & 255, v >> 24 };
  fwrite (b, 1, 4, f);
}

static void
put16 (FILE * f, uint16_t v)
{
  unsigned char b[2] = { v & 255, v >> 8 };
  fwrite (b, 1, 2, f);
}

int
main (int argc, char **argv)
{
  FILE *f, *g;
  unsigned char h[12], c[8], fmt[64];
  int ch = 0, sr = 0, bits = 0;
  uint32_t dlen = 0, len;
  size_t n, i, cap, got, total;
  int16_t *s;
  float *x, *o;
  MusaStretchConfig cfg;
  MusaStretch *st;
  MusaError err;

  if (argc != 5 || (f = fopen (argv[1], "rb")) == NULL) {
    fprintf (stderr, "usage: %s IN.wav OUT.wav RATE SEMITONES\n", argv[0]);
    return 2;
  }
  if (fread (h, 1, 12, f) != 12 || memcmp (h, "RIFF", 4) != 0)
    return 2;
  for (;;) {
    if (fread (c, 1, 8, f) != 8)
      return 2;
    len = le32 (c + 4);
    if (memcmp (c, "fmt ", 4) == 0 && len <= sizeof (fmt)) {
      if (fread (fmt, 1, len, f) != len)
        return 2;
      ch = fmt[2] | fmt[3] << 8;
      sr = (int) le32 (fmt + 4);
      bits = fmt[14] | fmt[15] << 8;
    } else if (memcmp (c, "data", 4) == 0) {
      dlen = len;
      break;
    } else {
      fseek (f, (long) len, SEEK_CUR);
    }
  }
  if (bits != 16 || ch < 1) {
    fprintf (stderr, "16-bit PCM only\n");
    return 2;
  }
  n = dlen / 2 / ch;
  s = malloc (dlen);
  x = malloc (n * ch * sizeof (float));
  n = fread (s, 2 * ch, n, f);
  fclose (f);
  for (i = 0; i < n * ch; i++)
    x[i] = s[i] / 32768.0f;
  cfg.sample_rate = sr;
  cfg.channels = ch;
  cfg.rate = atof (argv[3]);
  cfg.semitones = atof (argv[4]);
  st = musa_stretch_new (&cfg, &err);
  if (st == NULL) {
    fprintf (stderr, "%s: %s\n", err.property, err.message);
    return 1;
  }
  cap = musa_stretch_max_output (st, n) + musa_stretch_max_output (st, 0) * 8;
  o = malloc (cap * ch * sizeof (float));
  musa_stretch_process (st, x, n, o, cap, &got);
  total = got;
  do {
    musa_stretch_finish (st, o + total * ch, cap - total, &got);
    total += got;
  } while (got > 0);
  musa_stretch_free (st);
  g = fopen (argv[2], "wb");
  if (g == NULL)
    return 1;
  fwrite ("RIFF", 1, 4, g);
  put32 (g, (uint32_t) (36 + total * ch * 2));
  fwrite ("WAVEfmt ", 1, 8, g);
  put32 (g, 16);
  put16 (g, 1);
  put16 (g, (uint16_t) ch);
  put32 (g, (uint32_t) sr);
  put32 (g, (uint32_t) (sr * ch * 2));
  put16 (g, (uint16_t) (ch * 2));
  put16 (g, 16);
  fwrite ("data", 1, 4, g);
  put32 (g, (uint32_t) (total * ch * 2));
  for (i = 0; i < total * ch; i++) {
    long v = lrintf (o[i] * 32768.0f);
    if (v > 32767)
      v = 32767;
    if (v < -32768)
      v = -32768;
    put16 (g, (uint16_t) (int16_t) v);
  }
  fclose (g);
  free (s);
  free (x);
  free (o);
  return 0;
}
