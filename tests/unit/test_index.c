/* Unit tests of knntag's index file: round trip, atomic writes, edits,
 * and a fuzz test (truncations, byte flips, hostile headers). */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/rng.h"
#include "knn/index.h"
#include "knn/knn.h"
#include "musatest.h"

static char dir[256];

static MusaIndex *
make_index (int n, int dim)
{
  MusaIndex *idx = musa_index_new ("musa-test", dim, 3,
      MUSA_INDEX_FLAG_STANDARDISE, NULL);
  static const char *names[] = { "happy", "calm", "sad rock", "jazz" };
  float *v = malloc (sizeof (float) * dim);
  int i, j;

  for (i = 0; i < n; i++) {
    const char *labs[2] = { names[i % 4], names[(i + 1) % 4] };
    char id[64];
    for (j = 0; j < dim; j++)
      v[j] = (float) (i * 0.25 + j - 3.0 * (i % 3));
    snprintf (id, sizeof (id), "song%d.wav#%d", i / 3, i % 3);
    musa_index_add (idx, v, id, labs, 1 + i % 2, NULL);
  }
  free (v);
  return idx;
}

static void
check_same (const MusaIndex * a, const MusaIndex * b)
{
  size_t i;
  int d = musa_index_dim (a), j;

  CHECK (musa_index_n_items (a) == musa_index_n_items (b), "items %zu %zu",
      musa_index_n_items (a), musa_index_n_items (b));
  CHECK (d == musa_index_dim (b), "dim");
  CHECK (strcmp (musa_index_embedding_name (a),
          musa_index_embedding_name (b)) == 0, "name");
  CHECK (musa_index_embedding_version (b) == 3, "version");
  for (i = 0; i < musa_index_n_items (a) && i < musa_index_n_items (b); i++) {
    const uint32_t *la, *lb;
    int na = musa_index_item_labels (a, i, &la);
    int nb = musa_index_item_labels (b, i, &lb);
    CHECK (strcmp (musa_index_item_id (a, i), musa_index_item_id (b, i)) == 0,
        "id %zu", i);
    CHECK (memcmp (musa_index_vector (a, i), musa_index_vector (b, i),
            4 * d) == 0, "vector %zu", i);
    CHECK (na == nb, "label count %zu", i);
    for (j = 0; j < na && j < nb; j++)
      CHECK (strcmp (musa_index_label (a, la[j]), musa_index_label (b,
                  lb[j])) == 0, "label %zu/%d", i, j);
  }
}

static void
test_round_trip (void)
{
  MusaIndex *idx = make_index (50, 16), *back;
  MusaError err;
  char path[300];
  const float *mean, *sd;
  size_t i;

  snprintf (path, sizeof (path), "%s/a.knn", dir);
  CHECK (musa_index_save (idx, path, &err) == MUSA_OK, "%s", err.message);
  back = musa_index_load (path, &err);
  CHECK (back != NULL, "%s", err.message);
  if (back == NULL)
    return;
  check_same (idx, back);
  CHECK (((uintptr_t) musa_index_matrix (back)) % 64 == 0, "not aligned");
  /* the statistics are those of the vectors */
  mean = musa_index_mean (back);
  sd = musa_index_std (back);
  {
    double s = 0, s2 = 0;
    for (i = 0; i < 50; i++)
      s += musa_index_vector (back, i)[5];
    s /= 50;
    for (i = 0; i < 50; i++)
      s2 += pow (musa_index_vector (back, i)[5] - s, 2);
    CHECK (fabs (mean[5] - s) < 1e-4, "mean %g vs %g", mean[5], s);
    CHECK (fabs (sd[5] - sqrt (s2 / 50)) < 1e-4, "std %g", sd[5]);
  }
  CHECK (musa_index_check_embedding (back, "musa-test", 16, 3, &err) ==
      MUSA_OK, "%s", err.message);
  CHECK (musa_index_check_embedding (back, "musa-test", 17, 3, &err) ==
      MUSA_ERR_MISMATCH, "dimension mismatch not seen");
  CHECK (strstr (err.message, "dimension 16") != NULL, "%s", err.message);
  CHECK (musa_index_check_embedding (back, "clap", 16, 3, &err) ==
      MUSA_ERR_MISMATCH, "name mismatch not seen");
  musa_index_free (back);
  musa_index_free (idx);
}

/* An index without items or labels saves and loads (its empty arrays were
 * copied from NULL: undefined behaviour, caught by UBSan when knntag's learn
 * mode saved an index none of whose snippets could be added). */
static void
test_empty (void)
{
  MusaIndex *idx = musa_index_new ("musa-embed", 4, 1, 0, NULL), *back;
  MusaError err;
  char path[300];

  CHECK (idx != NULL, "new");
  if (idx == NULL)
    return;
  snprintf (path, sizeof (path), "%s/empty.knn", dir);
  CHECK (musa_index_save (idx, path, &err) == MUSA_OK, "%s", err.message);
  back = musa_index_load (path, &err);
  CHECK (back != NULL, "%s", err.message);
  if (back) {
    CHECK (musa_index_n_items (back) == 0 && musa_index_n_labels (back) == 0,
        "items %zu labels %d", musa_index_n_items (back),
        musa_index_n_labels (back));
    musa_index_free (back);
  }
  musa_index_free (idx);
}

/* Append to a loaded (mapped) index, remove by source, save over itself. */
static void
test_edit (void)
{
  MusaIndex *idx = make_index (9, 4), *back;
  MusaError err;
  char path[300];
  float v[4] = { 1, 2, 3, 4 };
  const char *labs[] = { "new", "calm" };

  snprintf (path, sizeof (path), "%s/b.knn", dir);
  musa_index_save (idx, path, NULL);
  musa_index_free (idx);
  idx = musa_index_load (path, &err);
  CHECK (idx != NULL, "%s", err.message);
  if (idx == NULL)
    return;
  CHECK (musa_index_add (idx, v, "extra.flac", labs, 2, &err) == MUSA_OK,
      "%s", err.message);
  CHECK (musa_index_n_labels (idx) == 5, "labels %d",
      musa_index_n_labels (idx));
  CHECK (musa_index_remove_source (idx, "song1.wav") == 3, "remove source");
  CHECK (musa_index_remove_source (idx, "song") == 0, "prefix must not match");
  CHECK (musa_index_n_items (idx) == 7, "items %zu", musa_index_n_items (idx));
  CHECK (strcmp (musa_index_item_id (idx, 3), "song2.wav#0") == 0, "%s",
      musa_index_item_id (idx, 3));
  CHECK (musa_index_save (idx, path, &err) == MUSA_OK, "%s", err.message);
  back = musa_index_load (path, &err);
  CHECK (back != NULL, "%s", err.message);
  if (back) {
    check_same (idx, back);
    CHECK (strcmp (musa_index_item_id (back, 6), "extra.flac") == 0, "%s",
        musa_index_item_id (back, 6));
    musa_index_free (back);
  }
  /* bad items are refused */
  v[1] = NAN;
  CHECK (musa_index_add (idx, v, "x", labs, 1, &err) == MUSA_ERR_INVALID,
      "NaN vector accepted");
  v[1] = 0;
  labs[0] = "a,b";
  CHECK (musa_index_add (idx, v, "x", labs, 1, &err) == MUSA_ERR_INVALID,
      "label with a comma accepted");
  CHECK (musa_index_add (idx, v, "", labs, 0, &err) == MUSA_ERR_INVALID,
      "empty id accepted");
  musa_index_free (idx);
}

/* A failed save leaves the old file untouched and no temporary behind. */
static void
test_atomic (void)
{
  MusaIndex *idx = make_index (5, 4), *back;
  MusaError err;
  char path[300], bad[300];
  DIR *dp;
  struct dirent *de;
  int tmp = 0;

  snprintf (path, sizeof (path), "%s/c.knn", dir);
  snprintf (bad, sizeof (bad), "%s/no-such-dir/c.knn", dir);
  musa_index_save (idx, path, NULL);
  CHECK (musa_index_save (idx, bad, &err) == MUSA_ERR_IO, "save to missing "
      "directory");
  CHECK (strstr (err.message, "no-such-dir") != NULL, "%s", err.message);
  chmod (dir, 0500);
  if (geteuid () != 0) {
    /* not writable: the save fails and the old file stays */
    float v[4] = { 0 };
    musa_index_add (idx, v, "more", NULL, 0, NULL);
    CHECK (musa_index_save (idx, path, &err) == MUSA_ERR_IO, "read-only dir");
  }
  chmod (dir, 0700);
  back = musa_index_load (path, &err);
  CHECK (back && musa_index_n_items (back) == 5, "old index damaged");
  musa_index_free (back);
  dp = opendir (dir);
  while (dp && (de = readdir (dp)))
    tmp += strstr (de->d_name, ".tmp-") != NULL;
  if (dp)
    closedir (dp);
  CHECK (tmp == 0, "%d temporary files left", tmp);
  CHECK (musa_index_load ("/nonexistent/x.knn", &err) == NULL
      && err.code == MUSA_ERR_IO, "missing file");
  CHECK (musa_index_load (dir, &err) == NULL, "a directory loads");
  musa_index_free (idx);
}

/* An index in use survives its file being overwritten in place (cp over
 * it truncates, then writes): the loaded index is a copy. It was a mapping
 * of the file, and reading a vector past the truncation killed the tagger
 * with SIGBUS. */
static void
test_overwritten_in_use (void)
{
  MusaIndex *idx = make_index (200, 64), *back, *other;
  MusaError err;
  char path[300], path2[300];
  FILE *f;
  float *want;
  size_t i;

  snprintf (path, sizeof (path), "%s/inuse.knn", dir);
  snprintf (path2, sizeof (path2), "%s/inuse2.knn", dir);
  CHECK (musa_index_save (idx, path, &err) == MUSA_OK, "%s", err.message);
  back = musa_index_load (path, &err);
  CHECK (back != NULL, "%s", err.message);
  if (back == NULL)
    return;
  want = malloc (sizeof (float) * 64 * 200);
  memcpy (want, musa_index_matrix (back), sizeof (float) * 64 * 200);
  /* a smaller index copied over it byte by byte, as cp does */
  other = make_index (3, 64);
  musa_index_save (other, path2, NULL);
  CHECK (truncate (path, 0) == 0, "truncate");
  f = fopen (path, "r+b");
  if (f) {
    FILE *g = fopen (path2, "rb");
    int c;
    while (g && (c = fgetc (g)) != EOF)
      fputc (c, f);
    if (g)
      fclose (g);
    fclose (f);
  }
  CHECK (musa_index_n_items (back) == 200, "items %zu",
      musa_index_n_items (back));
  for (i = 0; i < 200; i++)
    CHECK (memcmp (musa_index_vector (back, i), want + 64 * i,
            sizeof (float) * 64) == 0, "vector %zu changed", i);
  check_same (idx, back);
  free (want);
  musa_index_free (other);
  musa_index_free (back);
  musa_index_free (idx);
}

/* A FIFO or a device where the index should be is refused at once: loading
 * a FIFO waited for a writer forever (a tagger's start, musa-index list
 * hung), and saving or the writability check accepted a FIFO or /dev/null
 * (renamed over it: as root, /dev/null replaced by an index). */
static void
test_not_a_file (void)
{
  MusaIndex *idx = make_index (3, 4);
  MusaError err;
  char fifo[300];
  struct stat st;

  snprintf (fifo, sizeof (fifo), "%s/fifo.knn", dir);
  unlink (fifo);
  CHECK (mkfifo (fifo, 0600) == 0, "mkfifo");
  CHECK (musa_index_load (fifo, &err) == NULL && err.code == MUSA_ERR_IO
      && strstr (err.message, "not a regular file") != NULL, "FIFO loads");
  CHECK (musa_index_check_writable (fifo, &err) == MUSA_ERR_IO,
      "FIFO writable");
  CHECK (musa_index_save (idx, fifo, &err) == MUSA_ERR_IO, "saved over a FIFO");
  CHECK (stat (fifo, &st) == 0 && S_ISFIFO (st.st_mode), "FIFO replaced");
  CHECK (musa_index_check_writable ("/dev/null", &err) == MUSA_ERR_IO
      && strstr (err.message, "not a regular file") != NULL,
      "/dev/null writable");
  CHECK (musa_index_check_writable (dir, &err) == MUSA_ERR_IO,
      "directory writable");
  unlink (fifo);
  musa_index_free (idx);
}

static void
put64 (uint8_t * p, uint64_t v)
{
  int i;
  for (i = 0; i < 8; i++)
    p[i] = (uint8_t) (v >> (8 * i));
}

static void
put32 (uint8_t * p, uint32_t v)
{
  int i;
  for (i = 0; i < 4; i++)
    p[i] = (uint8_t) (v >> (8 * i));
}

static uint64_t
get64 (const void *d, size_t at)
{
  const uint8_t *p = (const uint8_t *) d + at;
  uint64_t v = 0;
  int i;
  for (i = 0; i < 8; i++)
    v |= (uint64_t) p[i] << (8 * i);
  return v;
}

/* where the label references of a valid image start (layout in index.h) */
static uint64_t
refs_offset (const void *d)
{
  uint64_t dim = get64 (d, 56) & 0xffffffffu;
  uint64_t n_labels = get64 (d, 68) & 0xffffffffu, off;
  off = (128 + 8 * dim + 4 * n_labels + 7) / 8 * 8;
  off = (off + get64 (d, 88) + 7) / 8 * 8;
  return (off + 8 * (get64 (d, 72) + 1) + 7) / 8 * 8;
}

static void
fix_checksum (uint8_t * d, size_t n)
{
  if (n >= 120)
    put64 (d + 112, musa_index_checksum (d, n));
}

/* A loaded index must be usable end to end. */
static void
exercise (MusaIndex * idx)
{
  size_t i;
  int d = musa_index_dim (idx), j, t;
  MusaKnnConfig cfg;
  MusaKnn *knn;
  MusaKnnResult res;
  float *q = calloc (d, sizeof (float));

  /* a query with a direction (the cosine metric refuses one of zeros) */
  for (j = 0; j < d; j++)
    q[j] = 0.5f * (float) (j + 1);
  for (i = 0; i < musa_index_n_items (idx); i++) {
    const uint32_t *l;
    int n = musa_index_item_labels (idx, i, &l);
    CHECK (strlen (musa_index_item_id (idx, i)) > 0, "empty id");
    for (j = 0; j < n; j++)
      CHECK (musa_index_label (idx, l[j]) != NULL, "bad label ref");
    for (j = 0; j < d; j++)
      CHECK (isfinite (musa_index_vector (idx, i)[j]), "non-finite");
  }
  /* every metric and weighting, with the nearest item alone and every item
   * voting (k = 256 > items): finite distances (cosine ones in 0..2),
   * scores shares of the votes (uniform: of the neighbours that carry the
   * label) */
  for (t = 0; t < 8; t++) {
    musa_knn_config_default (&cfg);
    cfg.k = t / 4 ? MUSA_KNN_MAX_K : 1;
    cfg.metric = t / 2 % 2 ? MUSA_KNN_EUCLIDEAN : MUSA_KNN_COSINE;
    cfg.weighting = t % 2 ? MUSA_KNN_DISTANCE : MUSA_KNN_UNIFORM;
    knn = musa_knn_new (idx, &cfg, NULL);
    CHECK (knn != NULL, "searcher");
    if (knn == NULL)
      continue;
    CHECK (musa_knn_query (knn, q, &res) == MUSA_OK, "query");
    CHECK (res.n_neighbours == (cfg.k < (int) musa_index_n_items (idx) ?
            cfg.k : (int) musa_index_n_items (idx)), "%d neighbours",
        res.n_neighbours);
    for (j = 0; j < res.n_neighbours; j++) {
      CHECK (isfinite (res.distance[j]) && res.distance[j] >= 0.0f,
          "distance %g", res.distance[j]);
      if (cfg.metric == MUSA_KNN_COSINE)
        CHECK (res.distance[j] <= 2.0f, "cosine distance %g", res.distance[j]);
    }
    CHECK (res.top_score >= 0.0f && res.top_score <= 1.0f, "top score %g",
        res.top_score);
    for (j = 0; j < musa_index_n_labels (idx); j++) {
      int carry = 0, m, l;
      CHECK (res.scores[j] >= 0.0f && res.scores[j] <= 1.0f, "score of %s: "
          "%g (k %d, metric %d, weighting %d)", musa_index_label (idx, j),
          res.scores[j], cfg.k, cfg.metric, cfg.weighting);
      for (m = 0; m < res.n_neighbours; m++) {
        const uint32_t *l_of;
        int n = musa_index_item_labels (idx, res.item[m], &l_of), has = 0;
        for (l = 0; l < n; l++)
          has |= l_of[l] == (uint32_t) j;
        carry += has;
      }
      if (cfg.weighting == MUSA_KNN_UNIFORM && res.n_neighbours > 0)
        CHECK (fabsf (res.scores[j] - (float) carry / res.n_neighbours)
            < 1e-6f, "score of %s: %g, carried by %d of %d neighbours",
            musa_index_label (idx, j), res.scores[j], carry, res.n_neighbours);
    }
    musa_knn_free (knn);
  }
  free (q);
}

static int
try_load (const uint8_t * d, size_t n)
{
  MusaError err;
  MusaIndex *idx;

  musa_error_clear (&err);
  idx = musa_index_load_memory (d, n, &err);
  if (idx == NULL) {
    CHECK (err.code == MUSA_ERR_FORMAT, "code %d (%s)", err.code, err.message);
    CHECK (err.message[0] != '\0', "error without a message");
    return 0;
  }
  exercise (idx);
  musa_index_free (idx);
  return 1;
}

/* Every truncation, random byte flips (with the checksum left stale and
 * with it recomputed, so that the structural checks are reached), and
 * hostile counts: an error or a consistent index, never a crash. */
static void
test_fuzz (void)
{
  MusaIndex *idx = make_index (12, 8);
  void *data;
  size_t size, n;
  uint8_t *buf;
  MusaRng rng;
  int t, ok_stale = 0, errors_fixed = 0;

  musa_rng_init (&rng, 2024);
  musa_index_serialise (idx, &data, &size, NULL);
  musa_index_free (idx);
  buf = malloc (size);
  CHECK (try_load (data, size) == 1, "valid image refused");
  for (n = 0; n < size; n++)
    CHECK (try_load (data, n) == 0, "truncated to %zu loads", n);
  for (t = 0; t < 3000; t++) {
    int flips = 1 + (int) (musa_rng_next (&rng) % 4), f;
    memcpy (buf, data, size);
    for (f = 0; f < flips; f++) {
      size_t at = musa_rng_next (&rng) % size;
      buf[at] ^= (uint8_t) (1 + musa_rng_next (&rng) % 255);
    }
    ok_stale += try_load (buf, size);
    fix_checksum (buf, size);
    errors_fixed += !try_load (buf, size);
  }
  /* every label reference set to every label (checksum recomputed): the
   * ones that repeat a label within an item are refused, the others load
   * and vote with scores in 0..1 */
  {
    uint64_t n_labels = get64 (data, 68) & 0xffffffffu, r, v;
    uint64_t n_refs = get64 (data, 80), off = refs_offset (data);
    int loaded = 0, refused = 0;
    for (r = 0; r < n_refs; r++)
      for (v = 0; v < n_labels; v++) {
        memcpy (buf, data, size);
        put32 (buf + off + 4 * r, (uint32_t) v);
        fix_checksum (buf, size);
        if (try_load (buf, size))
          loaded++;
        else
          refused++;
      }
    CHECK (loaded > 0 && refused > 0, "label mutations: %d loaded, %d "
        "refused", loaded, refused);
  }
  CHECK (ok_stale == 0, "%d damaged images passed the checksum", ok_stale);
  CHECK (errors_fixed > 0, "structural checks never fired");
  /* hostile counts with a valid checksum */
  {
    static const size_t fields[] = { 56, 68, 72, 80, 88, 96, 104 };
    static const uint64_t values[] = { 0, 1, 0xffffffffull, 1ull << 33,
      1ull << 62, ~0ull
    };
    size_t fi, vi;
    for (fi = 0; fi < sizeof (fields) / sizeof (fields[0]); fi++)
      for (vi = 0; vi < sizeof (values) / sizeof (values[0]); vi++) {
        memcpy (buf, data, size);
        if (fields[fi] == 56 || fields[fi] == 68) {
          buf[fields[fi]] = (uint8_t) values[vi];
          buf[fields[fi] + 1] = (uint8_t) (values[vi] >> 8);
          buf[fields[fi] + 2] = (uint8_t) (values[vi] >> 16);
          buf[fields[fi] + 3] = (uint8_t) (values[vi] >> 24);
        } else {
          put64 (buf + fields[fi], values[vi]);
        }
        fix_checksum (buf, size);
        if (memcmp (buf, data, size) != 0)
          CHECK (try_load (buf, size) == 0, "hostile field %zu = %llx loads",
              fields[fi], (unsigned long long) values[vi]);
      }
  }
  CHECK (try_load ((const uint8_t *) "MUSAKNN", 8) == 0, "8 bytes load");
  free (buf);
  free (data);
}

/* An item's labels are a set: a hostile index whose item lists a label
 * twice (valid checksum) is refused with an error naming the item; it used
 * to load and vote that label a score of 2. */
static void
test_duplicate_label (void)
{
  MusaIndex *idx = musa_index_new ("t", 2, 1, 0, NULL);
  const char *ab[] = { "a", "b" }, *aa[] = { "a", "a" };
  float v[2] = { 1, 0 };
  void *data;
  size_t size;
  uint64_t off;
  MusaError err;
  uint8_t *d;

  musa_index_add (idx, v, "other#0", ab + 1, 1, NULL);
  musa_index_add (idx, v, "x#0", ab, 2, NULL);
  /* a repeat given to add is merged */
  musa_index_add (idx, v, "y#0", aa, 2, NULL);
  CHECK (musa_index_item_labels (idx, 2, NULL) == 1, "add kept a repeat");
  musa_index_serialise (idx, &data, &size, NULL);
  musa_index_free (idx);
  d = data;
  CHECK (try_load (d, size) == 1, "valid image refused");
  /* refs: [b] [a b] [a] -> [b] [a a] [a] */
  off = refs_offset (d);
  CHECK (get64 (d, 80) == 4, "%llu refs", (unsigned long long) get64 (d, 80));
  memcpy (d + off + 8, d + off + 4, 4);
  fix_checksum (d, size);
  musa_error_clear (&err);
  idx = musa_index_load_memory (d, size, &err);
  CHECK (idx == NULL && err.code == MUSA_ERR_FORMAT
      && strstr (err.message, "item 1 (\"x#0\")") != NULL
      && strstr (err.message, "twice") != NULL, "loaded %p: %s", (void *) idx,
      err.message);
  musa_index_free (idx);
  free (data);
}

/* NULL pointers from a C caller to index and search functions that return a
 * status give MUSA_ERR_INVALID, not a crash. */
static void
test_null_args (void)
{
  MusaError err;
  MusaIndex *idx = musa_index_new ("t", 4, 1, 0, NULL);
  MusaKnnConfig kc;
  MusaKnn *knn;
  MusaKnnResult res;
  float v[4] = { 1, 2, 3, 4 };
  const char *lab[1] = { "a" };
  void *data;
  size_t size;

  musa_error_clear (&err);
  CHECK (musa_index_add (idx, NULL, "x", lab, 1, &err) == MUSA_ERR_INVALID,
      "no vector: %s", err.message);
  musa_error_clear (&err);
  CHECK (musa_index_add (idx, v, "x", NULL, 1, &err) == MUSA_ERR_INVALID,
      "labels announced, none given: %s", err.message);
  CHECK (musa_index_n_items (idx) == 0, "nothing added");
  CHECK (musa_index_add (idx, v, "x", lab, 1, NULL) == MUSA_OK, "add");
  musa_error_clear (&err);
  CHECK (musa_index_save (idx, NULL, &err) == MUSA_ERR_INVALID,
      "save without a name: %s", err.message);
  musa_error_clear (&err);
  CHECK (musa_index_load (NULL, &err) == NULL
      && err.code == MUSA_ERR_INVALID, "load without a name: %s", err.message);
  musa_error_clear (&err);
  CHECK (musa_index_load_memory (NULL, 4096, &err) == NULL
      && err.code == MUSA_ERR_INVALID, "load from NULL: %s", err.message);
  musa_error_clear (&err);
  CHECK (musa_index_serialise (idx, &data, NULL, &err) == MUSA_ERR_INVALID,
      "serialise without size: %s", err.message);
  musa_error_clear (&err);
  CHECK (musa_index_check_embedding (idx, NULL, 4, 1, &err)
      == MUSA_ERR_INVALID, "no embedding name: %s", err.message);
  musa_knn_config_default (&kc);
  knn = musa_knn_new (idx, &kc, NULL);
  CHECK (musa_knn_query (knn, NULL, &res) == MUSA_ERR_INVALID, "no query");
  CHECK (musa_knn_query (knn, v, NULL) == MUSA_ERR_INVALID, "no result");
  CHECK (musa_knn_query (knn, v, &res) == MUSA_OK, "query");
  CHECK (musa_index_serialise (idx, &data, &size, NULL) == MUSA_OK, "ser");
  free (data);
  musa_knn_free (knn);
  musa_index_free (idx);
}

int
main (void)
{
  int r;
  snprintf (dir, sizeof (dir), "/tmp/musa-test-index-XXXXXX");
  if (mkdtemp (dir) == NULL)
    return 1;
  musa_test_run ("round-trip", test_round_trip);
  musa_test_run ("edit", test_edit);
  musa_test_run ("empty", test_empty);
  musa_test_run ("atomic-write", test_atomic);
  musa_test_run ("overwritten-in-use", test_overwritten_in_use);
  musa_test_run ("not-a-file", test_not_a_file);
  musa_test_run ("fuzz", test_fuzz);
  musa_test_run ("duplicate-label", test_duplicate_label);
  musa_test_run ("null-args", test_null_args);
  r = musa_test_summary ();
  {
    char cmd[300];
    snprintf (cmd, sizeof (cmd), "rm -rf '%s'", dir);
    if (system (cmd) != 0)
      r = 1;
  }
  return r;
}
