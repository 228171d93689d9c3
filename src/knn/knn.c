/* libmusa — exact k-nearest-neighbour search over an index. */
#include "knn/knn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 256               /* rows per block of dot products */

struct MusaKnn
{
  const MusaIndex *idx;
  MusaKnnConfig cfg;
  int dim, n_labels, standardise;
  size_t n;
  float *norm2;                 /* |x'|^2 per item */
  /* 1 / |x'| per item for the vectorised cosine; 0 for a zero vector, -1
   * for an item whose cosine the float pass cannot give (see exact_key) */
  float *inv_norm;
  float *inv_std;               /* dim */
  float *qs;                    /* standardised query, dim */
  float *w;                     /* query weights, dim */
  float *dots;                  /* BLOCK */
  float *scores;                /* n_labels */
  int *rank;                    /* label -> position in name order */
};

/* @f in double, a subnormal one too whatever the thread's MXCSR: ORC code
 * (the embedding's) leaves denormals-are-zero on in the thread, which reads
 * 1e-40f as 0 in every float instruction, conversions included. */
static inline double
exact_double (float f)
{
  uint32_t u;
  double m;

  memcpy (&u, &f, sizeof (u));
  if ((u & 0x7f800000u) != 0)
    return (double) f;
  m = (double) (u & 0x7fffffu) * 0x1p-149;
  return (u >> 31) ? -m : m;
}

/* item or query value @x standardised (when @knn standardises) in double */
static inline double
exact_standardised (const MusaKnn * knn, const float *mean, int j, float x)
{
  if (!knn->standardise)
    return exact_double (x);
  return (exact_double (x) - exact_double (mean[j])) * knn->inv_std[j];
}

void
musa_knn_config_default (MusaKnnConfig * cfg)
{
  if (cfg == NULL)
    return;
  cfg->k = 5;
  cfg->metric = MUSA_KNN_COSINE;
  cfg->weighting = MUSA_KNN_UNIFORM;
  cfg->threshold = 0.5;
}

int
musa_knn_config_check (const MusaKnnConfig * cfg, MusaError * err)
{
  if (cfg == NULL)
    return musa_error_set (err, MUSA_ERR_INVALID, NULL, "no configuration");
  if (cfg->k < 1 || cfg->k > MUSA_KNN_MAX_K)
    return musa_error_set (err, MUSA_ERR_INVALID, "k",
        "k must be in 1..%d, got %d", MUSA_KNN_MAX_K, cfg->k);
  if ((int) cfg->metric < 0 || cfg->metric > MUSA_KNN_EUCLIDEAN)
    return musa_error_set (err, MUSA_ERR_INVALID, "metric",
        "unknown metric %d", (int) cfg->metric);
  if ((int) cfg->weighting < 0 || cfg->weighting > MUSA_KNN_DISTANCE)
    return musa_error_set (err, MUSA_ERR_INVALID, "weighting",
        "unknown weighting %d", (int) cfg->weighting);
  if (!(cfg->threshold >= 0.0 && cfg->threshold <= 1.0))
    return musa_error_set (err, MUSA_ERR_INVALID, "threshold",
        "threshold must be in 0..1, got %g", cfg->threshold);
  return MUSA_OK;
}

void
musa_knn_free (MusaKnn * knn)
{
  if (knn == NULL)
    return;
  free (knn->norm2);
  free (knn->inv_norm);
  free (knn->inv_std);
  free (knn->qs);
  free (knn->w);
  free (knn->dots);
  free (knn->scores);
  free (knn->rank);
  free (knn);
}

static int
cmp_label (const void *a, const void *b, void *user)
{
  const MusaIndex *idx = user;
  return strcmp (musa_index_label (idx, *(const int *) a),
      musa_index_label (idx, *(const int *) b));
}

MusaKnn *
musa_knn_new (const MusaIndex * idx, const MusaKnnConfig * cfg, MusaError * err)
{
  MusaKnn *knn;
  const float *mean, *sd;
  size_t i;
  int j, *order = NULL;

  if (idx == NULL) {
    musa_error_set (err, MUSA_ERR_INVALID, "index", "no index");
    return NULL;
  }
  mean = musa_index_mean (idx);
  sd = musa_index_std (idx);
  if (musa_knn_config_check (cfg, err) != MUSA_OK)
    return NULL;
  knn = calloc (1, sizeof (*knn));
  if (knn == NULL) {
    musa_error_set (err, MUSA_ERR_NOMEM, NULL, "out of memory");
    return NULL;
  }
  knn->idx = idx;
  knn->cfg = *cfg;
  knn->dim = musa_index_dim (idx);
  knn->n = musa_index_n_items (idx);
  knn->n_labels = musa_index_n_labels (idx);
  knn->standardise = (musa_index_flags (idx) & MUSA_INDEX_FLAG_STANDARDISE)
      != 0;
  knn->norm2 = malloc (sizeof (float) * (knn->n + 1));
  knn->inv_norm = malloc (sizeof (float) * (knn->n + 1));
  knn->inv_std = malloc (sizeof (float) * knn->dim);
  knn->qs = malloc (sizeof (float) * knn->dim);
  knn->w = malloc (sizeof (float) * knn->dim);
  knn->dots = malloc (sizeof (float) * BLOCK);
  knn->scores = calloc (knn->n_labels + 1, sizeof (float));
  knn->rank = malloc (sizeof (int) * (knn->n_labels + 1));
  order = malloc (sizeof (int) * (knn->n_labels + 1));
  if (!knn->norm2 || !knn->inv_norm || !knn->inv_std || !knn->qs || !knn->w
      || !knn->dots || !knn->scores || !knn->rank || !order) {
    free (order);
    musa_knn_free (knn);
    musa_error_set (err, MUSA_ERR_NOMEM, NULL, "out of memory");
    return NULL;
  }
  for (j = 0; j < knn->dim; j++)
    knn->inv_std[j] = knn->standardise ? 1.0f / sd[j] : 1.0f;
  for (i = 0; i < knn->n; i++) {
    const float *x = musa_index_vector (idx, i);
    double s = 0.0, s_exact = 0.0, s_raw = 0.0;
    for (j = 0; j < knn->dim; j++) {
      double v = knn->standardise ? (x[j] - mean[j]) * knn->inv_std[j] : x[j];
      double e = exact_standardised (knn, mean, j, x[j]);
      double r = exact_double (x[j]) * knn->inv_std[j];
      s += v * v;
      s_exact += e * e;
      s_raw += r * r;
    }
    knn->norm2[i] = (float) s;
    /* The vectorised cosine takes the dot product of the query weights and
     * the raw item in float: fine unless the item is so small that its
     * products underflow (|x'| < 2^-40; 1 / |x'| even overflowed float for
     * |x'|^2 < 1e-77: distances of -inf and NaN), or so close to the mean
     * compared with its size (|x / std| > 2^10 |x'|) that the float sum
     * loses the difference. Those few items get their cosine in double
     * (exact_key); a vector equal to the mean (all zero) has none. */
    if (s_exact == 0.0)
      knn->inv_norm[i] = 0.0f;
    else if (s >= 0x1p-80 && s_raw <= 0x1p20 * s_exact)
      knn->inv_norm[i] = (float) (1.0 / sqrt (s));
    else
      knn->inv_norm[i] = -1.0f;
  }
  for (j = 0; j < knn->n_labels; j++)
    order[j] = j;
  qsort_r (order, knn->n_labels, sizeof (int), cmp_label, (void *) idx);
  for (j = 0; j < knn->n_labels; j++)
    knn->rank[order[j]] = j;
  free (order);
  return knn;
}

void
musa_knn_standardise (const MusaKnn * knn, float *v)
{
  const float *mean;
  int j;

  if (knn == NULL || v == NULL || !knn->standardise)
    return;
  mean = musa_index_mean (knn->idx);
  for (j = 0; j < knn->dim; j++)
    v[j] = (v[j] - mean[j]) * knn->inv_std[j];
}

#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wpsabi"
/* inlined into every target clone (a call would cross ABIs) */
#define ALWAYS_INLINE static inline __attribute__ ((always_inline))
typedef float v8sf __attribute__((vector_size (32)));

ALWAYS_INLINE v8sf
load8 (const float *p)
{
  v8sf v;
  memcpy (&v, p, sizeof (v));
  return v;
}

/* horizontal sum (a macro: a vector argument would cross ABIs) */
#define HSUM8(v) ((((v)[0] + (v)[4]) + ((v)[1] + (v)[5])) + \
    (((v)[2] + (v)[6]) + ((v)[3] + (v)[7])))

/* one clone per instruction set, chosen at load time */
#if defined(__x86_64__) && !defined(__clang__) && defined(__ELF__)
#define TARGET_CLONES __attribute__ ((target_clones ("avx512f", "avx2", \
    "default")))
#else
#define TARGET_CLONES
#endif

/* One row at a time (a single sequential stream for the prefetcher), four
 * independent accumulators over 32-value chunks. */
TARGET_CLONES void
musa_knn_dots (const float *rows, size_t n, int dim, const float *q, float *out)
{
  size_t i;

  if (rows == NULL || q == NULL || out == NULL || dim < 0)
    return;
  for (i = 0; i < n; i++) {
    const float *r = rows + i * dim;
    v8sf a0 = { 0 }, a1 = { 0 }, a2 = { 0 }, a3 = { 0 };
    float s;
    int j = 0;
    for (; j + 32 <= dim; j += 32) {
      a0 += load8 (q + j) * load8 (r + j);
      a1 += load8 (q + j + 8) * load8 (r + j + 8);
      a2 += load8 (q + j + 16) * load8 (r + j + 16);
      a3 += load8 (q + j + 24) * load8 (r + j + 24);
    }
    for (; j + 8 <= dim; j += 8)
      a0 += load8 (q + j) * load8 (r + j);
    a0 = (a0 + a1) + (a2 + a3);
    s = HSUM8 (a0);
    for (; j < dim; j++)
      s += q[j] * r[j];
    out[i] = s;
  }
}
#else
void
musa_knn_dots (const float *rows, size_t n, int dim, const float *q, float *out)
{
  size_t i;
  int j;

  if (rows == NULL || q == NULL || out == NULL || dim < 0)
    return;
  for (i = 0; i < n; i++) {
    float s = 0.0f;
    for (j = 0; j < dim; j++)
      s += q[j] * rows[i * dim + j];
    out[i] = s;
  }
}
#endif

#if defined(__GNUC__)
#define COLD __attribute__ ((noinline, cold))
#else
#define COLD
#endif

/* 1 - cos (q', x') of item @it in double (every finite vector of floats
 * has its direction there: squares down to 1e-102), clamped to 0..2; @qs
 * is the standardised query scaled as the vectorised pass uses it, |qs|^2 =
 * @qn2 >= 1. Out of line: only the rare items marked -1 come here. */
COLD static float
exact_key (const MusaKnn * knn, size_t it, const float *qs, double qn2)
{
  const float *x = musa_index_vector (knn->idx, it);
  const float *mean = musa_index_mean (knn->idx);
  double dot = 0.0, xn2 = 0.0, cs;
  int j;

  for (j = 0; j < knn->dim; j++) {
    double v = exact_standardised (knn, mean, j, x[j]);
    dot += exact_double (qs[j]) * v;
    xn2 += v * v;
  }
  if (!(xn2 > 0.0))
    return 1.0f;
  cs = dot / (sqrt (qn2) * sqrt (xn2));
  cs = cs > 1.0 ? 1.0 : cs < -1.0 ? -1.0 : cs;
  return (float) (1.0 - cs);
}

int
musa_knn_query (MusaKnn * knn, const float *query, MusaKnnResult * res)
{
  const float *mean, *matrix;
  int dim, k, nk = 0, j, cosine;
  double qn2 = 0.0, c = 0.0, total = 0.0;
  float qinv, vmax = 0.0f, worst = INFINITY;
  size_t b, i;

  if (knn == NULL || query == NULL || res == NULL)
    return MUSA_ERR_INVALID;
  mean = musa_index_mean (knn->idx);
  matrix = musa_index_matrix (knn->idx);
  dim = knn->dim;
  k = knn->cfg.k;
  for (j = 0; j < dim; j++)
    if (!(fabsf (query[j]) <= 1e6f))
      return MUSA_ERR_INVALID;
  cosine = knn->cfg.metric == MUSA_KNN_COSINE;
  for (j = 0; j < dim; j++) {
    float v = knn->standardise ? (query[j] - mean[j]) * knn->inv_std[j] :
        query[j];
    knn->qs[j] = v;
    vmax = fmaxf (vmax, fabsf (v));
  }
  if (cosine) {
    /* The cosine does not depend on the query's length: scale it to a
     * largest value in 1..2, by a power of two (exact: the distances are
     * those of the unscaled query), so that a query of tiny values keeps
     * its direction (its 1 / |q'| overflowed float, giving -inf and NaN).
     * One whose standardised values underflowed float is recomputed in
     * double first. */
    if (vmax < 0x1p-100f) {
      double m = 0.0;
      for (j = 0; j < dim; j++)
        m = fmax (m, fabs (exact_standardised (knn, mean, j, query[j])));
      /* a query without direction has the same cosine distance (1) to
       * every item: the "neighbours" would be the first items of the index
       * and their labels a vote presented as an answer */
      if (!(m > 0.0))
        return MUSA_ERR_INVALID;
      for (j = 0; j < dim; j++)
        knn->qs[j] = (float) ldexp (exact_standardised (knn, mean, j,
                query[j]), -ilogb (m));
    } else {
      float scale = ldexpf (1.0f, -ilogbf (vmax));
      for (j = 0; j < dim; j++)
        knn->qs[j] *= scale;
    }
  }
  for (j = 0; j < dim; j++) {
    float v = knn->qs[j];
    knn->w[j] = v * knn->inv_std[j];
    qn2 += (double) v *v;
    if (knn->standardise)
      c += (double) knn->w[j] * mean[j];
  }
  qinv = qn2 > 0.0 ? (float) (1.0 / sqrt (qn2)) : 0.0f;
  if (k > (int) knn->n)
    k = (int) knn->n;
  for (b = 0; b < knn->n; b += BLOCK) {
    size_t nb = knn->n - b < BLOCK ? knn->n - b : BLOCK;
    musa_knn_dots (matrix + b * dim, nb, dim, knn->w, knn->dots);
    for (i = 0; i < nb; i++) {
      size_t it = b + i;
      float dp = (float) (knn->dots[i] - c), key;
      int p;
      if (cosine) {
        float inv = knn->inv_norm[it];
        key = inv > 0.0f ? 1.0f - dp * qinv * inv :
            inv < 0.0f ? exact_key (knn, it, knn->qs, qn2) : 1.0f;
      } else {
        key = (float) qn2 + knn->norm2[it] - 2.0f * dp;
        if (key < 0.0f)
          key = 0.0f;
      }
      if (nk == k && !(key < worst))
        continue;
      /* insert after every entry <= key (ties keep the lower item first) */
      p = nk < k ? nk : k - 1;
      while (p > 0 && res->distance[p - 1] > key) {
        res->distance[p] = res->distance[p - 1];
        res->item[p] = res->item[p - 1];
        p--;
      }
      res->distance[p] = key;
      res->item[p] = it;
      if (nk < k)
        nk++;
      if (nk == k)
        worst = res->distance[k - 1];
    }
  }
  res->n_neighbours = nk;
  /* rounding may take a cosine distance out of 0..2 by a few ulps: clamped
   * (as scikit-learn's cosine_distances) once chosen, not in the loop */
  for (j = 0; j < nk; j++)
    res->distance[j] = cosine ? fminf (fmaxf (res->distance[j], 0.0f), 2.0f)
        : sqrtf (res->distance[j]);
  /* vote */
  for (j = 0; j < knn->n_labels; j++)
    knn->scores[j] = 0.0f;
  {
    int zero = 0;
    if (knn->cfg.weighting == MUSA_KNN_DISTANCE)
      for (j = 0; j < nk; j++)
        zero |= res->distance[j] <= 0.0f;
    for (j = 0; j < nk; j++) {
      const uint32_t *labs;
      int n = musa_index_item_labels (knn->idx, res->item[j], &labs), m;
      double wgt = 1.0;
      if (knn->cfg.weighting == MUSA_KNN_DISTANCE)
        wgt = zero ? (res->distance[j] <= 0.0f ? 1.0 : 0.0) :
            1.0 / res->distance[j];
      total += wgt;
      for (m = 0; m < n; m++)
        knn->scores[labs[m]] += (float) wgt;
    }
  }
  res->top = -1;
  res->top_score = 0.0f;
  for (j = 0; j < knn->n_labels; j++) {
    knn->scores[j] = total > 0.0 ? (float) (knn->scores[j] / total) : 0.0f;
    if (knn->scores[j] > 0.0f && (res->top < 0
            || knn->scores[j] > res->top_score
            || (knn->scores[j] == res->top_score
                && knn->rank[j] < knn->rank[res->top]))) {
      res->top = j;
      res->top_score = knn->scores[j];
    }
  }
  res->scores = knn->scores;
  return MUSA_OK;
}
