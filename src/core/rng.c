/* libmusa — counter-based random numbers. */
#include "core/rng.h"

#include <math.h>
#include <stddef.h>

static uint64_t
mix64 (uint64_t z)
{
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t
musa_rng_key (uint64_t seed, uint64_t a, uint64_t b)
{
  return mix64 (mix64 (mix64 (seed) ^ a) ^ mix64 (b + 0x632be59bd9b4e019ULL));
}

uint64_t
musa_rng_hash_string (const char *s)
{
  uint64_t h = 0xcbf29ce484222325ULL;

  while (s && *s) {
    h ^= (unsigned char) *s++;
    h *= 0x100000001b3ULL;
  }
  return h;
}

void
musa_rng_init (MusaRng * rng, uint64_t key)
{
  if (rng == NULL)
    return;
  rng->key = key;
  rng->counter = 0;
}

uint64_t
musa_rng_next (MusaRng * rng)
{
  if (rng == NULL)
    return 0;
  return mix64 (mix64 (rng->key ^ mix64 (rng->counter++)));
}

double
musa_rng_uniform (MusaRng * rng)
{
  return (double) (musa_rng_next (rng) >> 11) * (1.0 / 9007199254740992.0);
}

double
musa_rng_range (MusaRng * rng, double lo, double hi)
{
  if (rng == NULL)
    return lo;
  return lo + (hi - lo) * musa_rng_uniform (rng);
}

double
musa_rng_normal (MusaRng * rng)
{
  double u1, u2;

  if (rng == NULL)
    return 0.0;
  u1 = musa_rng_uniform (rng);
  u2 = musa_rng_uniform (rng);
  if (u1 < 1e-300)
    u1 = 1e-300;
  return sqrt (-2.0 * log (u1)) * cos (2.0 * M_PI * u2);
}
