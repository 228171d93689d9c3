/* libmusa — exact k-nearest-neighbour search and label vote over an index.
 *
 * The searcher precomputes, once, what a query needs besides one pass over
 * the matrix: for a standardising index the per-item norms of the
 * standardised vectors (so the matrix is used raw, in place: the query is
 * turned into weights w = q' / std and the dot product of the standardised
 * vectors is w . x - w . mean), for others the plain norms. A query is then
 * one blocked, vectorised pass of dot products over the matrix and a
 * running top-k selection: no allocation.
 *
 * Distances, as scikit-learn's: cosine = 1 - cos(q', x') (1 when either
 * vector is zero), euclidean = |q' - x'|. Ties in distance keep the lower
 * item number first. Every distance is finite, a cosine one in 0..2
 * (rounding clamped, as scikit-learn's cosine_distances), and every finite
 * vector that is not all zero has its direction, however small its values
 * (1e-40, subnormal; also with denormals-are-zero on in the thread): the
 * query is scaled by a power of two for the cosine (exact), and the rare
 * items whose cosine the float pass would lose (|x'| < 2^-40, or
 * |x / std| > 2^10 |x'|: a hair from the index mean) get it in double. A
 * zero vector is one equal to the mean (standardised) or all 0.
 *
 * Votes: uniform (every neighbour weighs 1) or distance (1 / distance;
 * neighbours at distance 0, if any, take all the weight, as scikit-learn's
 * KNeighborsClassifier(weights="distance")). The score of a label is the
 * weight of the neighbours that carry it over the total weight (0..1). The
 * top label is the highest score; ties go to the label whose name sorts
 * first (strcmp), so a single-label index predicts what scikit-learn
 * predicts. Labels scoring >= threshold are the multi-label answer. */
#ifndef MUSA_KNN_KNN_H
#define MUSA_KNN_KNN_H

#include "knn/index.h"

#ifdef __cplusplus
extern "C"
{
#endif

#define MUSA_KNN_MAX_K 256

  typedef enum
  {
    MUSA_KNN_COSINE = 0,
    MUSA_KNN_EUCLIDEAN,
  } MusaKnnMetric;

  typedef enum
  {
    MUSA_KNN_UNIFORM = 0,
    MUSA_KNN_DISTANCE,
  } MusaKnnWeighting;

  typedef struct
  {
    int k;                      /* 1..MUSA_KNN_MAX_K */
    MusaKnnMetric metric;
    MusaKnnWeighting weighting;
    double threshold;           /* 0..1 */
  } MusaKnnConfig;

  typedef struct
  {
    int n_neighbours;           /* min (k, items) */
    size_t item[MUSA_KNN_MAX_K];        /* nearest first */
    float distance[MUSA_KNN_MAX_K];
    int top;                    /* label number, -1 without neighbours */
    float top_score;
    /* score of each label of the index (musa_index_n_labels values); valid
     * until the next query */
    const float *scores;
  } MusaKnnResult;

  typedef struct MusaKnn MusaKnn;

  void musa_knn_config_default (MusaKnnConfig * cfg);
  int musa_knn_config_check (const MusaKnnConfig * cfg, MusaError * err);
/* The searcher keeps a pointer to @idx, which must outlive it and not change
 * (rebuild the searcher after adding items). */
  MusaKnn *musa_knn_new (const MusaIndex * idx, const MusaKnnConfig * cfg,
      MusaError * err);
  void musa_knn_free (MusaKnn * knn);
/* Search @query (dim values, raw: standardised here if the index says so).
 * Non-finite values or values beyond 1e6 are refused (MUSA_ERR_INVALID), and
 * so is, with the cosine metric, a query without direction (all zero, after
 * standardisation where the index standardises: every value exactly 0, or
 * equal to the mean; tiny values have a direction), and a NULL searcher,
 * @query or @res. */
  int musa_knn_query (MusaKnn * knn, const float *query, MusaKnnResult * res);
/* Standardise @v in place as the searcher does (identity without the
 * standardise flag, or with a NULL searcher); for exporting comparable
 * vectors. */
  void musa_knn_standardise (const MusaKnn * knn, float *v);
/* Bare kernel, for benchmarks: out[i] = dot (q, rows[i]) for n rows of dim
 * (nothing for a NULL pointer or dim < 0). */
  void musa_knn_dots (const float *rows, size_t n, int dim, const float *q,
      float *out);

#ifdef __cplusplus
}
#endif
#endif                          /* MUSA_KNN_KNN_H */
