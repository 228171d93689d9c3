/* libmusa — counter-based random numbers.
 *
 * Every value is a pure function of (key, counter): a stream keyed by
 * musa_rng_key (seed, stream id, segment index) gives the same draws whatever
 * the buffer sizes, threads or the order streams are processed in. The mixer
 * is SplitMix64's finaliser (Steele, Lea, Flood 2014) applied twice. */
#ifndef MUSA_RNG_H
#define MUSA_RNG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct
{
  uint64_t key;
  uint64_t counter;
} MusaRng;

/* Hash of a seed and two integers (e.g. stream-id hash, segment index). */
uint64_t musa_rng_key (uint64_t seed, uint64_t a, uint64_t b);
/* 64-bit FNV-1a of a string (for stream ids); NULL hashes as "". */
uint64_t musa_rng_hash_string (const char *s);

/* With a NULL @rng: init does nothing, next and the draws give 0 (range
 * gives @lo). */
void musa_rng_init (MusaRng * rng, uint64_t key);
uint64_t musa_rng_next (MusaRng * rng);
/* uniform in [0, 1) with 53 bits */
double musa_rng_uniform (MusaRng * rng);
/* uniform in [lo, hi) */
double musa_rng_range (MusaRng * rng, double lo, double hi);
/* standard normal (Box-Muller) */
double musa_rng_normal (MusaRng * rng);

#ifdef __cplusplus
}
#endif
#endif /* MUSA_RNG_H */
