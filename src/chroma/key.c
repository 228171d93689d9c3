/* libmusa — key profiles, correlation and key naming (see key.h). */
#include "chroma/key.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Key profiles, tonic first (I, bII, II, bIII, III, IV, #IV, V, bVI, VI,
 * bVII, VII), major then minor:
 *
 * - Krumhansl & Kessler: C. L. Krumhansl, E. J. Kessler, "Tracing the
 *   dynamic changes in perceived tonal organization in a spatial
 *   representation of musical keys", Psychological Review 89(4), 334-368,
 *   1982 (probe-tone ratings; also Krumhansl, "Cognitive Foundations of
 *   Musical Pitch", 1990, table 2.1).
 * - Temperley: D. Temperley, "What's key for key? The Krumhansl-Schmuckler
 *   key-finding algorithm reconsidered", Music Perception 17(1), 65-100,
 *   1999 (the revised profiles, fig. 3).
 * - EDMA: A. Faraldo, E. Gomez, S. Jorda, P. Herrera, "Key estimation in
 *   electronic dance music", ECIR 2016, LNCS 9626, 335-347 (profiles
 *   derived automatically from a corpus of EDM, "edma").
 * - Sha'ath: I. Sha'ath, "Estimation of key in digital music recordings",
 *   MSc thesis, Birkbeck College, University of London, 2011 (the profiles
 *   of KeyFinder, tuned on popular music). */
static const double profiles[4][2][12] = {
  {{6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88},
      {6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34,
          3.17}},
  {{5.0, 2.0, 3.5, 2.0, 4.5, 4.0, 2.0, 4.5, 2.0, 3.5, 1.5, 4.0},
      {5.0, 2.0, 3.5, 4.5, 2.0, 4.0, 2.0, 4.5, 3.5, 2.0, 1.5, 4.0}},
  {{0.16519551, 0.04749026, 0.08293076, 0.06687112, 0.09994645, 0.09274123,
              0.05294487, 0.13159476, 0.05218986, 0.07443653, 0.06940723,
          0.0642515},
      {0.17235348, 0.05336489, 0.0761009, 0.10043649, 0.05621498, 0.08527853,
            0.0497915, 0.13451001, 0.07458916, 0.05003023, 0.09187879,
          0.05545106}},
  {{6.6, 2.0, 3.5, 2.3, 4.6, 4.0, 2.5, 5.2, 2.4, 3.7, 2.3, 3.4},
      {6.5, 2.7, 3.5, 5.4, 2.6, 3.5, 2.5, 5.2, 4.0, 2.7, 4.3, 3.2}},
};

static const char *profile_names[MUSA_KEY_PROFILE_N] = {
  "krumhansl", "temperley", "edma", "shaath", "combined"
};

const char *
musa_key_profile_name (int profile)
{
  if (profile < 0 || profile >= MUSA_KEY_PROFILE_N)
    return NULL;
  return profile_names[profile];
}

const double *
musa_key_profile_values (int profile, int minor)
{
  if (profile < 0 || profile >= MUSA_KEY_PROFILE_COMBINED)
    return NULL;
  return profiles[profile][minor ? 1 : 0];
}

/* The profiles give the weight of each pitch class as a note; a chroma
 * measured from audio also holds the harmonics of every note (the 3rd
 * harmonic lands a fifth up, the 5th a major third up, the 7th a minor
 * seventh up). As in E. Gomez, "Tonal description of music audio signals",
 * PhD thesis, UPF Barcelona, 2006 (sec. 4.2), the profiles are turned into
 * the expected chroma of harmonic tones: harmonic h of a note adds
 * slope^(h-1) times the note's weight to the pitch class h lands on. */
#define HARMONICS 7
#define HARMONIC_SLOPE 0.75

/* pitch-class offset of harmonics 1..HARMONICS (round (12 log2 h) mod 12) */
static const int harmonic_offset[HARMONICS] = { 0, 0, 7, 0, 4, 7, 10 };

static void
harmonic_profile (const double *p0, double *p)
{
  double g = 1.0;
  int h, i;

  memset (p, 0, 12 * sizeof (double));
  for (h = 0; h < HARMONICS; h++) {
    for (i = 0; i < 12; i++)
      p[(i + harmonic_offset[h]) % 12] += g * p0[i];
    g *= HARMONIC_SLOPE;
  }
}

/* Profile p0 (as notes) with its harmonics, centred (@d) and its norm
 * (*@nd): made once per estimate, not once per tonic. */
static void
centred_profile (const double *p0, double *d, double *nd)
{
  double mp = 0.0, spp = 0.0, p[12];
  int i;

  harmonic_profile (p0, p);
  for (i = 0; i < 12; i++)
    mp += p[i];
  mp /= 12.0;
  for (i = 0; i < 12; i++) {
    d[i] = p[i] - mp;
    spp += d[i] * d[i];
  }
  *nd = sqrt (spp);
}

/* Pearson correlation of x (centred, norm nx) with the centred profile d
 * (norm nd) rotated to tonic t. */
static double
correlate (const double *x, double nx, const double *d, double nd, int t)
{
  double sxy = 0.0;
  int i;

  for (i = 0; i < 12; i++)
    sxy += x[(i + t) % 12] * d[i];
  return sxy / (nx * nd);
}

int
musa_key_estimate (const float *chroma, int profile, MusaKey * key,
    MusaError * err)
{
  double x[12], mean = 0.0, nx = 0.0;
  int i, t, m, best = -1, second = -1;

  if (chroma == NULL || key == NULL)
    return musa_error_set (err, MUSA_ERR_INVALID, NULL,
        "no chroma or no result");
  memset (key, 0, sizeof (*key));
  key->tonic = -1;
  key->runner_tonic = -1;
  if (profile < 0 || profile >= MUSA_KEY_PROFILE_N)
    return musa_error_set (err, MUSA_ERR_INVALID, "profile",
        "unknown key profile %d", profile);

  for (i = 0; i < 12; i++) {
    x[i] = isfinite (chroma[i]) ? chroma[i] : 0.0;
    mean += x[i];
  }
  mean /= 12.0;
  for (i = 0; i < 12; i++) {
    x[i] -= mean;
    nx += x[i] * x[i];
  }
  nx = sqrt (nx);
  if (!(nx > 1e-9 * (fabs (mean) + 1e-30)) || !(nx > 1e-20))
    return MUSA_OK;

  for (m = 0; m < 2; m++) {
    double d[MUSA_KEY_PROFILE_COMBINED][12], nd[MUSA_KEY_PROFILE_COMBINED];
    int p;
    for (p = 0; p < MUSA_KEY_PROFILE_COMBINED; p++)
      if (profile == MUSA_KEY_PROFILE_COMBINED || p == profile)
        centred_profile (profiles[p][m], d[p], &nd[p]);
    for (t = 0; t < 12; t++) {
      double r = 0.0;
      if (profile == MUSA_KEY_PROFILE_COMBINED) {
        for (p = 0; p < MUSA_KEY_PROFILE_COMBINED; p++)
          r += correlate (x, nx, d[p], nd[p], t);
        r /= MUSA_KEY_PROFILE_COMBINED;
      } else {
        r = correlate (x, nx, d[profile], nd[profile], t);
      }
      key->scores[m * 12 + t] = (float) r;
    }
  }
  for (i = 0; i < 24; i++) {
    if (best < 0 || key->scores[i] > key->scores[best]) {
      second = best;
      best = i;
    } else if (second < 0 || key->scores[i] > key->scores[second]) {
      second = i;
    }
  }
  key->tonic = best % 12;
  key->minor = best / 12;
  key->correlation = key->scores[best];
  key->runner_tonic = second % 12;
  key->runner_minor = second / 12;
  key->runner_correlation = key->scores[second];
  return MUSA_OK;
}

static const char *major_names[12] = {
  "C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"
};

static const char *minor_names[12] = {
  "C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B"
};

const char *
musa_key_tonic_name (int tonic, int minor)
{
  if (tonic < 0 || tonic > 11)
    return "";
  return minor ? minor_names[tonic] : major_names[tonic];
}

const char *
musa_key_name (int tonic, int minor, char *buf, size_t n)
{
  if (buf == NULL)
    return NULL;
  if (tonic < 0 || tonic > 11)
    snprintf (buf, n, "none");
  else
    snprintf (buf, n, "%s %s", musa_key_tonic_name (tonic, minor),
        minor ? "minor" : "major");
  return buf;
}

const char *
musa_key_tag (int tonic, int minor, char *buf, size_t n)
{
  if (buf == NULL)
    return NULL;
  if (tonic < 0 || tonic > 11)
    snprintf (buf, n, "none");
  else
    snprintf (buf, n, "%s%s", musa_key_tonic_name (tonic, minor),
        minor ? "m" : "");
  return buf;
}

/* Position of the key's relative major on the circle of fifths, C = 0. */
static int
fifths (int tonic, int minor)
{
  int major = minor ? (tonic + 3) % 12 : tonic;
  return (7 * major) % 12;
}

const char *
musa_key_camelot (int tonic, int minor, char *buf, size_t n)
{
  if (buf == NULL)
    return NULL;
  if (tonic < 0 || tonic > 11)
    snprintf (buf, n, "none");
  else
    snprintf (buf, n, "%d%c", (fifths (tonic, minor) + 7) % 12 + 1,
        minor ? 'A' : 'B');
  return buf;
}

const char *
musa_key_open_key (int tonic, int minor, char *buf, size_t n)
{
  if (buf == NULL)
    return NULL;
  if (tonic < 0 || tonic > 11)
    snprintf (buf, n, "none");
  else
    snprintf (buf, n, "%d%c", fifths (tonic, minor) + 1, minor ? 'm' : 'd');
  return buf;
}
