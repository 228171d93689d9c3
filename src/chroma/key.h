/* libmusa — musical key from a 12-bin chroma vector by profile correlation
 * (Krumhansl & Schmuckler's algorithm) and key naming (Camelot, Open Key,
 * GStreamer's musical-key tag).
 *
 * The chroma is correlated (Pearson) with each of the 24 rotations of a
 * major and a minor key profile; the best is the key, the second best the
 * runner-up. Profile values are from the literature, cited in key.c. */
#ifndef MUSA_KEY_H
#define MUSA_KEY_H

#include "core/musa.h"

#ifdef __cplusplus
extern "C"
{
#endif

  typedef enum
  {
    MUSA_KEY_PROFILE_KRUMHANSL = 0,     /* Krumhansl & Kessler 1982 */
    MUSA_KEY_PROFILE_TEMPERLEY, /* Temperley 1999 */
    MUSA_KEY_PROFILE_EDMA,      /* Faraldo et al. 2016, EDM (automatic) */
    MUSA_KEY_PROFILE_SHAATH,    /* Sha'ath 2011 (KeyFinder) */
    MUSA_KEY_PROFILE_COMBINED,  /* mean correlation of the four above */
    MUSA_KEY_PROFILE_N
  } MusaKeyProfile;

  typedef struct
  {
    int tonic;                  /* pitch class 0 = C .. 11 = B; -1 = no key */
    int minor;                  /* boolean */
    float correlation;          /* best correlation, -1..1 */
    int runner_tonic, runner_minor;
    float runner_correlation;
    float scores[24];           /* correlations: 0..11 major C..B, 12..23 minor */
  } MusaKey;

/* Short name of a profile ("krumhansl", ...), NULL when out of range. */
  const char *musa_key_profile_name (int profile);
/* The 12 major (minor = 0) or minor values of a profile, tonic first.
 * NULL for the combined profile or out of range. */
  const double *musa_key_profile_values (int profile, int minor);

/* Correlate @chroma with the profile. A flat or all-zero chroma gives
 * tonic -1 and correlation 0. */
  int musa_key_estimate (const float *chroma, int profile, MusaKey * key,
      MusaError * err);

/* "A minor", "F# major"; tonic spelled as usual for the mode (Db major,
 * C# minor). Writes at most n bytes; returns @buf (so NULL, with nothing
 * written, for a NULL @buf; the same for the three below). */
  const char *musa_key_name (int tonic, int minor, char *buf, size_t n);
/* Tonic alone ("F#", "Db"). */
  const char *musa_key_tonic_name (int tonic, int minor);
/* GStreamer's musical-key notation: "C", "Am", "F#m", "Bb". */
  const char *musa_key_tag (int tonic, int minor, char *buf, size_t n);
/* Camelot wheel: "8A" (A minor), "8B" (C major). */
  const char *musa_key_camelot (int tonic, int minor, char *buf, size_t n);
/* Open Key notation: "1m" (A minor), "1d" (C major). */
  const char *musa_key_open_key (int tonic, int minor, char *buf, size_t n);

#ifdef __cplusplus
}
#endif
#endif                          /* MUSA_KEY_H */
