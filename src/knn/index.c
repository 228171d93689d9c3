/* libmusa — knntag's index (file format in index.h). */
#include "knn/index.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static const char MAGIC[8] = { 'M', 'U', 'S', 'A', 'K', 'N', 'N', 0 };

#define MAX_ITEMS (1ull << 32)
#define MAX_LABEL_POOL (1ull << 32)
#define MAX_ID_POOL (1ull << 40)
#define CHECKSUM_AT 112
/* bounds that keep every distance finite in float: |standardised value|
 * <= 2e12, squared and summed over 65536 dimensions < FLT_MAX */
#define MAX_ABS 1e6f
#define MIN_STD 1e-6f

struct MusaIndex
{
  char name[MUSA_INDEX_NAME_LEN];
  uint32_t dim, version, flags;
  /* vectors: owned (aligned, capacity cap) or in place in the file's bytes
   * as read (map, 64-byte aligned, owned too) */
  float *matrix;
  size_t n_items, cap;
  void *map;
  size_t map_size;
  float *mean, *std;
  /* label vocabulary */
  uint32_t n_labels, cap_labels;
  uint32_t *label_off;
  char *label_pool;
  size_t label_pool_size, label_pool_cap;
  /* items */
  uint64_t *starts;             /* n_items + 1 */
  uint32_t *refs;
  size_t n_refs, cap_refs;
  uint64_t *id_off;
  char *id_pool;
  size_t id_pool_size, id_pool_cap;
};

static int
host_is_le (void)
{
  const uint16_t one = 1;
  return *(const uint8_t *) &one == 1;
}

static uint32_t
rd32 (const uint8_t * p)
{
  return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 |
      (uint32_t) p[3] << 24;
}

static uint64_t
rd64 (const uint8_t * p)
{
  return (uint64_t) rd32 (p) | (uint64_t) rd32 (p + 4) << 32;
}

static void
wr32 (uint8_t * p, uint32_t v)
{
  p[0] = v;
  p[1] = v >> 8;
  p[2] = v >> 16;
  p[3] = v >> 24;
}

static void
wr64 (uint8_t * p, uint64_t v)
{
  wr32 (p, (uint32_t) v);
  wr32 (p + 4, (uint32_t) (v >> 32));
}

static uint64_t
rotl64 (uint64_t x, int r)
{
  return (x << r) | (x >> (64 - r));
}

#define P1 0x9E3779B185EBCA87ull
#define P2 0xC2B2AE3D27D4EB4Full

uint64_t
musa_index_checksum (const void *data, size_t size)
{
  const uint8_t *p = data;
  uint64_t h[4] = { P1, P2, P1 ^ P2, 0x165667B19E3779F9ull };
  uint64_t r;
  size_t i = 0;
  int l;

  if (data == NULL)
    return 0;
  /* four independent lanes over 32-byte blocks */
  for (; i + 32 <= size; i += 32)
    for (l = 0; l < 4; l++) {
      size_t at = i + 8 * l;
      uint64_t w = (at == CHECKSUM_AT) ? 0 : rd64 (p + at);
      h[l] = rotl64 (h[l] + w * P2, 31) * P1;
    }
  r = rotl64 (h[0], 1) + rotl64 (h[1], 7) + rotl64 (h[2], 12) +
      rotl64 (h[3], 18) + (uint64_t) size;
  for (; i < size; i++) {
    uint8_t b = (i >= CHECKSUM_AT && i < CHECKSUM_AT + 8) ? 0 : p[i];
    r = rotl64 (r ^ (b * P1), 11) * P2;
  }
  r ^= r >> 33;
  r *= P2;
  r ^= r >> 29;
  return r;
}

static int
oom (MusaError * err)
{
  return musa_error_set (err, MUSA_ERR_NOMEM, NULL, "out of memory");
}

static int
label_ok (const char *s, size_t n)
{
  size_t i;
  if (n == 0 || n > 255)
    return 0;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char) s[i];
    if (c < 0x20 || c == 0x7f || c == ',')
      return 0;
  }
  return 1;
}

MusaIndex *
musa_index_new (const char *name, int dim, int version, unsigned flags,
    MusaError * err)
{
  MusaIndex *idx;
  int i;

  if (name == NULL || name[0] == '\0' || strlen (name) >= MUSA_INDEX_NAME_LEN) {
    musa_error_set (err, MUSA_ERR_INVALID, "embedding",
        "embedding name must have 1..%d bytes", MUSA_INDEX_NAME_LEN - 1);
    return NULL;
  }
  if (dim < 1 || dim > MUSA_INDEX_MAX_DIM) {
    musa_error_set (err, MUSA_ERR_INVALID, "dimension",
        "dimension must be in 1..%d, got %d", MUSA_INDEX_MAX_DIM, dim);
    return NULL;
  }
  if (version < 0 || (flags & ~MUSA_INDEX_FLAG_STANDARDISE)) {
    musa_error_set (err, MUSA_ERR_INVALID, NULL,
        "invalid embedding version or flags");
    return NULL;
  }
  idx = calloc (1, sizeof (*idx));
  if (idx == NULL) {
    oom (err);
    return NULL;
  }
  strcpy (idx->name, name);
  idx->dim = (uint32_t) dim;
  idx->version = (uint32_t) version;
  idx->flags = flags;
  idx->mean = malloc (sizeof (float) * dim);
  idx->std = malloc (sizeof (float) * dim);
  idx->starts = calloc (1, sizeof (uint64_t));
  if (!idx->mean || !idx->std || !idx->starts) {
    musa_index_free (idx);
    oom (err);
    return NULL;
  }
  for (i = 0; i < dim; i++) {
    idx->mean[i] = 0.0f;
    idx->std[i] = 1.0f;
  }
  return idx;
}

void
musa_index_free (MusaIndex * idx)
{
  if (idx == NULL)
    return;
  if (idx->map)
    free (idx->map);
  else
    free (idx->matrix);
  free (idx->mean);
  free (idx->std);
  free (idx->label_off);
  free (idx->label_pool);
  free (idx->starts);
  free (idx->refs);
  free (idx->id_off);
  free (idx->id_pool);
  free (idx);
}

/* ---- validation of a file image ---- */

typedef struct
{
  uint64_t dim, n_labels, n_items, n_refs, lpool, ipool;
  uint64_t off_stats, off_labels, off_lpool, off_starts, off_refs, off_ids,
      off_ipool, end_tables, off_matrix, size;
} Layout;

static uint64_t
align_up (uint64_t x, uint64_t a)
{
  return (x + a - 1) / a * a;
}

/* All counts are bounded first, so none of these sums can overflow. */
static void
layout_compute (Layout * l)
{
  l->off_stats = MUSA_INDEX_HEADER_SIZE;
  l->off_labels = align_up (l->off_stats + 8 * l->dim, 8);
  l->off_lpool = align_up (l->off_labels + 4 * l->n_labels, 8);
  l->off_starts = align_up (l->off_lpool + l->lpool, 8);
  l->off_refs = align_up (l->off_starts + 8 * (l->n_items + 1), 8);
  l->off_ids = align_up (l->off_refs + 4 * l->n_refs, 8);
  l->off_ipool = align_up (l->off_ids + 8 * l->n_items, 8);
  l->end_tables = l->off_ipool + l->ipool;
  l->off_matrix = align_up (l->end_tables, 64);
  l->size = l->off_matrix + 4 * l->dim * l->n_items;
}

static int
ferr (MusaError * err, const char *fmt, const char *what, uint64_t a,
    uint64_t b)
{
  musa_error_set (err, MUSA_ERR_FORMAT, "location", fmt, what,
      (unsigned long long) a, (unsigned long long) b);
  return MUSA_ERR_FORMAT;
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Check a string table: n offsets into pool, each a NUL-terminated string
 * inside the pool. */
static int
check_strings (const uint8_t * offs, int width, uint64_t n,
    const char *pool, uint64_t pool_size, const char *what, int labels,
    MusaError * err)
{
  uint64_t i;
  for (i = 0; i < n; i++) {
    uint64_t o = width == 4 ? rd32 (offs + 4 * i) : rd64 (offs + 8 * i);
    const char *s;
    size_t len;
    if (o >= pool_size)
      return ferr (err, "%s %llu: name offset %llu is outside its pool",
          what, i, o);
    s = pool + o;
    len = strnlen (s, pool_size - o);
    if (len == pool_size - o)
      return ferr (err, "%s %llu: name at %llu is not NUL-terminated",
          what, i, o);
    if (len == 0)
      return ferr (err, "%s %llu: empty name at %llu", what, i, o);
    if (labels && !label_ok (s, len))
      return ferr (err, "%s %llu: invalid label name at %llu", what, i, o);
  }
  return MUSA_OK;
}

/* @s for an error message when it is short printable ASCII (it is read
 * from a file that may be hostile, and a message is cut at 255 bytes),
 * else "?". */
static const char *
short_ascii (const char *s)
{
  size_t i;
  for (i = 0; s[i] != '\0'; i++)
    if (i >= 64 || s[i] < 0x20 || s[i] > 0x7e)
      return "?";
  return s;
}

/* Validates the @size bytes of an index file at @buf (64-byte aligned,
 * malloc'ed) into *@out, whose matrix is used in place: on success the index
 * owns @buf, on failure the caller still does. */
static int
parse (MusaIndex ** out, void *buf, size_t size, MusaError * err)
{
  const uint8_t *d = buf;
  Layout l;
  MusaIndex *idx = NULL;
  uint32_t version, hsize, flags, ev;
  uint64_t i, fsize, stored, sum;
  char name[MUSA_INDEX_NAME_LEN];
  const char **sorted = NULL;

  *out = NULL;
  if (!host_is_le ())
    return musa_error_set (err, MUSA_ERR_FORMAT, "location",
        "index files can only be used on little-endian hosts");
  if (size < MUSA_INDEX_HEADER_SIZE)
    return ferr (err, "%s: file of %llu bytes is shorter than the %llu-byte "
        "header", "truncated index", size, MUSA_INDEX_HEADER_SIZE);
  if (memcmp (d, MAGIC, 8) != 0)
    return musa_error_set (err, MUSA_ERR_FORMAT, "location",
        "not a musa index (bad magic)");
  version = rd32 (d + 8);
  hsize = rd32 (d + 12);
  if (version != MUSA_INDEX_FORMAT_VERSION)
    return ferr (err, "%s %llu is not supported (this build reads %llu)",
        "index format version", version, MUSA_INDEX_FORMAT_VERSION);
  if (hsize != MUSA_INDEX_HEADER_SIZE)
    return ferr (err, "%s %llu, expected %llu", "bad header size", hsize,
        MUSA_INDEX_HEADER_SIZE);
  fsize = rd64 (d + 16);
  if (fsize != size)
    return ferr (err, "%s: header says %llu bytes, file has %llu",
        "truncated or extended index", fsize, size);
  memcpy (name, d + 24, MUSA_INDEX_NAME_LEN);
  if (name[MUSA_INDEX_NAME_LEN - 1] != '\0' || name[0] == '\0')
    return musa_error_set (err, MUSA_ERR_FORMAT, "location",
        "embedding name is empty or not NUL-terminated");
  l.dim = rd32 (d + 56);
  ev = rd32 (d + 60);
  flags = rd32 (d + 64);
  l.n_labels = rd32 (d + 68);
  l.n_items = rd64 (d + 72);
  l.n_refs = rd64 (d + 80);
  l.lpool = rd64 (d + 88);
  l.ipool = rd64 (d + 96);
  if (l.dim < 1 || l.dim > MUSA_INDEX_MAX_DIM)
    return ferr (err, "%s %llu is outside 1..%llu", "dimension", l.dim,
        MUSA_INDEX_MAX_DIM);
  if (flags & ~MUSA_INDEX_FLAG_STANDARDISE)
    return ferr (err, "%s 0x%llx (known: 0x%llx)", "unknown flags", flags,
        MUSA_INDEX_FLAG_STANDARDISE);
  if (l.n_labels > MUSA_INDEX_MAX_LABELS)
    return ferr (err, "%s %llu is above %llu", "label count", l.n_labels,
        MUSA_INDEX_MAX_LABELS);
  if (l.n_items > MAX_ITEMS)
    return ferr (err, "%s %llu is above %llu", "item count", l.n_items,
        MAX_ITEMS);
  if (l.n_refs > l.n_items * l.n_labels)
    return ferr (err, "%s %llu is above items x labels = %llu",
        "label reference count", l.n_refs, l.n_items * l.n_labels);
  if (l.lpool > MAX_LABEL_POOL || l.ipool > MAX_ID_POOL)
    return ferr (err, "%s (%llu, %llu bytes) too large", "string pools",
        l.lpool, l.ipool);
  layout_compute (&l);
  if (rd64 (d + 104) != l.off_matrix)
    return ferr (err, "%s %llu, the tables say %llu", "bad matrix offset",
        rd64 (d + 104), l.off_matrix);
  if (l.size != size)
    return ferr (err, "%s: the counts need %llu bytes, file has %llu",
        "inconsistent index", l.size, size);
  stored = rd64 (d + CHECKSUM_AT);
  sum = musa_index_checksum (d, size);
  if (stored != sum)
    return ferr (err, "%s: stored %016llx, computed %016llx",
        "checksum mismatch (damaged index)", stored, sum);
  if (rd64 (d + 120) != 0)
    return ferr (err, "%s %llu%llu", "reserved header field is not 0", 0, 0);

  /* statistics */
  for (i = 0; i < 2 * l.dim; i++) {
    float v;
    memcpy (&v, d + l.off_stats + 4 * i, 4);
    if (!(fabsf (v) <= MAX_ABS) || (i >= l.dim && !(v >= MIN_STD)))
      return ferr (err, "%s %llu (of %llu) is out of range",
          "statistic", i, 2 * l.dim);
  }
  if (check_strings (d + l.off_labels, 4, l.n_labels,
          (const char *) d + l.off_lpool, l.lpool, "label", 1, err) != MUSA_OK)
    return err ? err->code : MUSA_ERR_FORMAT;
  /* unique labels */
  if (l.n_labels > 1) {
    sorted = malloc (sizeof (char *) * l.n_labels);
    if (sorted == NULL)
      return oom (err);
    for (i = 0; i < l.n_labels; i++)
      sorted[i] = (const char *) d + l.off_lpool + rd32 (d + l.off_labels +
          4 * i);
    qsort (sorted, l.n_labels, sizeof (char *), cmp_str);
    for (i = 1; i < l.n_labels; i++)
      if (strcmp (sorted[i - 1], sorted[i]) == 0) {
        free (sorted);
        return ferr (err, "%s (%llu labels, at sorted position %llu)",
            "duplicate label", l.n_labels, i);
      }
    free (sorted);
  }
  if (rd64 (d + l.off_starts) != 0)
    return ferr (err, "%s %llu%llu", "first label start is not 0", 0, 0);
  for (i = 0; i < l.n_items; i++) {
    uint64_t a = rd64 (d + l.off_starts + 8 * i);
    uint64_t b = rd64 (d + l.off_starts + 8 * (i + 1));
    if (b < a || b > l.n_refs)
      return ferr (err, "%s of item %llu: end %llu", "bad label range", i, b);
  }
  if (rd64 (d + l.off_starts + 8 * l.n_items) != l.n_refs)
    return ferr (err, "%s: %llu, expected %llu", "last label start",
        rd64 (d + l.off_starts + 8 * l.n_items), l.n_refs);
  for (i = 0; i < l.n_refs; i++)
    if (rd32 (d + l.off_refs + 4 * i) >= l.n_labels)
      return ferr (err, "%s %llu names label %llu", "label reference", i,
          rd32 (d + l.off_refs + 4 * i));
  if (check_strings (d + l.off_ids, 8, l.n_items,
          (const char *) d + l.off_ipool, l.ipool, "item", 0, err) != MUSA_OK)
    return err ? err->code : MUSA_ERR_FORMAT;
  /* an item's labels are a set (musa_index_add merges repeats): a label
   * listed twice would count twice in a vote, a score above 1 */
  if (l.n_refs > 0) {
    uint64_t *seen = malloc (sizeof (uint64_t) * l.n_labels);
    if (seen == NULL)
      return oom (err);
    for (i = 0; i < l.n_labels; i++)
      seen[i] = UINT64_MAX;
    for (i = 0; i < l.n_items; i++) {
      uint64_t a = rd64 (d + l.off_starts + 8 * i);
      uint64_t b = rd64 (d + l.off_starts + 8 * (i + 1)), r;
      for (r = a; r < b; r++) {
        uint32_t lab = rd32 (d + l.off_refs + 4 * r);
        if (seen[lab] == i) {
          musa_error_set (err, MUSA_ERR_FORMAT, "location",
              "duplicate label reference: item %llu (\"%s\") lists label "
              "%u (\"%s\") twice", (unsigned long long) i,
              short_ascii ((const char *) d + l.off_ipool + rd64 (d +
                      l.off_ids + 8 * i)), lab, short_ascii ((const char *) d
                  + l.off_lpool + rd32 (d + l.off_labels + 4 * lab)));
          free (seen);
          return MUSA_ERR_FORMAT;
        }
        seen[lab] = i;
      }
    }
    free (seen);
  }
  {
    const float *m = (const float *) (d + l.off_matrix);
    uint64_t n = l.n_items * l.dim;
    for (i = 0; i < n; i++)
      if (!(fabsf (m[i]) <= MAX_ABS))
        return ferr (err, "%s: value %llu of item %llu is not finite or "
            "beyond 1e6", "bad vector", i % l.dim, i / l.dim);
  }

  /* all good: build the object */
  idx = musa_index_new (name, (int) l.dim, 0, flags, err);
  if (idx == NULL)
    return err ? err->code : MUSA_ERR_NOMEM;
  idx->version = ev;
  memcpy (idx->mean, d + l.off_stats, 4 * l.dim);
  memcpy (idx->std, d + l.off_stats + 4 * l.dim, 4 * l.dim);
  idx->n_labels = idx->cap_labels = (uint32_t) l.n_labels;
  idx->label_off = malloc (4 * (l.n_labels + 1));
  idx->label_pool = malloc (l.lpool + 1);
  idx->label_pool_size = idx->label_pool_cap = l.lpool;
  free (idx->starts);
  idx->starts = malloc (8 * (l.n_items + 1));
  idx->refs = malloc (4 * (l.n_refs + 1));
  idx->n_refs = idx->cap_refs = l.n_refs;
  idx->id_off = malloc (8 * (l.n_items + 1));
  idx->id_pool = malloc (l.ipool + 1);
  idx->id_pool_size = idx->id_pool_cap = l.ipool;
  if (!idx->label_off || !idx->label_pool || !idx->starts || !idx->refs
      || !idx->id_off || !idx->id_pool) {
    musa_index_free (idx);
    return oom (err);
  }
  memcpy (idx->label_off, d + l.off_labels, 4 * l.n_labels);
  memcpy (idx->label_pool, d + l.off_lpool, l.lpool);
  memcpy (idx->starts, d + l.off_starts, 8 * (l.n_items + 1));
  memcpy (idx->refs, d + l.off_refs, 4 * l.n_refs);
  memcpy (idx->id_off, d + l.off_ids, 8 * l.n_items);
  memcpy (idx->id_pool, d + l.off_ipool, l.ipool);
  idx->n_items = idx->cap = l.n_items;
  idx->matrix = (float *) (d + l.off_matrix);
  idx->map = buf;
  idx->map_size = size;
  *out = idx;
  return MUSA_OK;
}

MusaIndex *
musa_index_load_memory (const void *data, size_t size, MusaError * err)
{
  MusaIndex *idx;
  void *copy = NULL;

  if (data == NULL && size > 0)
    return musa_error_set (err, MUSA_ERR_INVALID, NULL,
        "no data for an index of %zu bytes", size), NULL;
  /* the tables are read with aligned float loads: work on an aligned copy */
  if (posix_memalign (&copy, 64, size ? size : 1) != 0) {
    oom (err);
    return NULL;
  }
  if (size)
    memcpy (copy, data, size);
  if (parse (&idx, copy, size, err) != MUSA_OK) {
    free (copy);
    return NULL;
  }
  return idx;
}

/* The @size bytes of @fd in a 64-byte aligned buffer (the matrix is used
 * in place with aligned loads); NULL and @err if it cannot be read whole. */
static void *
read_whole (int fd, size_t size, const char *path, MusaError * err)
{
  void *buf = NULL;
  size_t got = 0;

  if (posix_memalign (&buf, 64, size ? size : 1) != 0) {
    musa_error_set (err, MUSA_ERR_NOMEM, "location",
        "no memory for the %zu bytes of %s", size, path);
    return NULL;
  }
  while (got < size) {
    ssize_t r = read (fd, (uint8_t *) buf + got, size - got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0) {
      musa_error_set (err, MUSA_ERR_IO, "location",
          "cannot read %s: %s", path, r < 0 ? strerror (errno) :
          "it became shorter while it was read (written at the same time?)");
      free (buf);
      return NULL;
    }
    got += (size_t) r;
  }
  return buf;
}

MusaIndex *
musa_index_load (const char *path, MusaError * err)
{
  int fd;
  struct stat st;
  void *map;
  MusaIndex *idx;

  if (path == NULL || path[0] == '\0')
    return musa_error_set (err, MUSA_ERR_INVALID, "location",
        "no index file name"), NULL;
  /* non-blocking: opening a FIFO for reading waits for a writer (a
   * tagger's start hung there); it is refused below as not a file */
  fd = open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    musa_error_set (err, MUSA_ERR_IO, "location", "cannot open %s: %s",
        path, strerror (errno));
    return NULL;
  }
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode)) {
    musa_error_set (err, MUSA_ERR_IO, "location", "%s is not a regular file",
        path);
    close (fd);
    return NULL;
  }
  if ((uint64_t) st.st_size < MUSA_INDEX_HEADER_SIZE) {
    close (fd);
    musa_error_set (err, MUSA_ERR_FORMAT, "location",
        "truncated index %s: %lld bytes, shorter than the header", path,
        (long long) st.st_size);
    return NULL;
  }
  /* read into memory rather than map: a file overwritten in place (cp
   * over an index in use) would truncate a mapping under the tagger
   * (SIGBUS) or change vectors after they were validated */
  map = read_whole (fd, (size_t) st.st_size, path, err);
  close (fd);
  if (map == NULL)
    return NULL;
  if (parse (&idx, map, (size_t) st.st_size, err) != MUSA_OK) {
    free (map);
    if (err) {
      char msg[MUSA_ERROR_MESSAGE_LEN + 4096];
      snprintf (msg, sizeof (msg), "%s: %s", path, err->message);
      memcpy (err->message, msg, MUSA_ERROR_MESSAGE_LEN - 1);
      err->message[MUSA_ERROR_MESSAGE_LEN - 1] = '\0';
    }
    return NULL;
  }
  return idx;
}

/* ---- modification ---- */

static int
own_matrix (MusaIndex * idx, size_t need)
{
  void *m;
  size_t cap;

  if (idx->map == NULL && need <= idx->cap && idx->matrix)
    return MUSA_OK;
  cap = idx->cap > 16 ? idx->cap : 16;
  while (cap < need)
    cap *= 2;
  if (posix_memalign (&m, 64, sizeof (float) * idx->dim * cap) != 0)
    return MUSA_ERR_NOMEM;
  if (idx->n_items)
    memcpy (m, idx->matrix, sizeof (float) * idx->dim * idx->n_items);
  if (idx->map) {
    free (idx->map);
    idx->map = NULL;
  } else {
    free (idx->matrix);
  }
  idx->matrix = m;
  idx->cap = cap;
  return MUSA_OK;
}

static int
grow (void **p, size_t elem, size_t need, size_t *cap)
{
  size_t c = *cap ? *cap : 16;
  void *n;
  if (need <= *cap && *p)
    return MUSA_OK;
  while (c < need)
    c *= 2;
  n = realloc (*p, elem * c);
  if (n == NULL)
    return MUSA_ERR_NOMEM;
  *p = n;
  *cap = c;
  return MUSA_OK;
}

static int
pool_add (char **pool, size_t *size, size_t *cap, const char *s, uint64_t * off)
{
  size_t n = strlen (s) + 1;
  if (grow ((void **) pool, 1, *size + n, cap) != MUSA_OK)
    return MUSA_ERR_NOMEM;
  memcpy (*pool + *size, s, n);
  *off = *size;
  *size += n;
  return MUSA_OK;
}

int
musa_index_find_label (const MusaIndex * idx, const char *label)
{
  uint32_t i;

  if (idx == NULL || label == NULL)
    return -1;
  for (i = 0; i < idx->n_labels; i++)
    if (strcmp (idx->label_pool + idx->label_off[i], label) == 0)
      return (int) i;
  return -1;
}

int
musa_index_add (MusaIndex * idx, const float *vec, const char *id,
    const char *const *labels, int n_labels, MusaError * err)
{
  uint32_t lab[256];
  size_t cap_items, i;
  uint64_t off;
  int j, n = 0;

  if (idx == NULL)
    return musa_error_set (err, MUSA_ERR_INVALID, NULL, "no index");
  if (vec == NULL)
    return musa_error_set (err, MUSA_ERR_INVALID, NULL, "no vector");
  if (id == NULL || id[0] == '\0')
    return musa_error_set (err, MUSA_ERR_INVALID, NULL, "empty item id");
  if (labels == NULL && n_labels != 0)
    return musa_error_set (err, MUSA_ERR_INVALID, "label",
        "%d labels announced but no label array", n_labels);
  if (n_labels < 0 || n_labels > 256)
    return musa_error_set (err, MUSA_ERR_INVALID, "label",
        "an item has 0..256 labels, got %d", n_labels);
  for (i = 0; i < idx->dim; i++)
    if (!(fabsf (vec[i]) <= MAX_ABS))
      return musa_error_set (err, MUSA_ERR_INVALID, NULL,
          "vector value %zu is not finite or beyond 1e6", i);
  for (j = 0; j < n_labels; j++)
    if (labels[j] == NULL || !label_ok (labels[j], strlen (labels[j])))
      return musa_error_set (err, MUSA_ERR_INVALID, "label",
          "invalid label \"%s\" (1..255 printable bytes, no comma)",
          labels[j] ? labels[j] : "(null)");
  if (idx->n_items >= MAX_ITEMS)
    return musa_error_set (err, MUSA_ERR_INVALID, NULL, "index is full");
  /* vocabulary */
  for (j = 0; j < n_labels; j++) {
    int k = musa_index_find_label (idx, labels[j]), dup = 0, m;
    if (k < 0) {
      size_t c = idx->cap_labels;
      if (idx->n_labels >= MUSA_INDEX_MAX_LABELS)
        return musa_error_set (err, MUSA_ERR_INVALID, "label",
            "too many labels");
      if (grow ((void **) &idx->label_off, 4, idx->n_labels + 1, &c) ||
          pool_add (&idx->label_pool, &idx->label_pool_size,
              &idx->label_pool_cap, labels[j], &off))
        return oom (err);
      idx->cap_labels = (uint32_t) c;
      idx->label_off[idx->n_labels] = (uint32_t) off;
      k = (int) idx->n_labels++;
    }
    for (m = 0; m < n; m++)
      dup |= lab[m] == (uint32_t) k;
    if (!dup)
      lab[n++] = (uint32_t) k;
  }
  cap_items = idx->n_items + 1;
  {
    size_t c1 = idx->n_items + 1, c2 = idx->n_items + 1;
    /* starts and id_off are kept exactly sized + 1 via realloc growth */
    if (own_matrix (idx, cap_items) ||
        grow ((void **) &idx->refs, 4, idx->n_refs + n + 1, &idx->cap_refs))
      return oom (err);
    {
      uint64_t *s = realloc (idx->starts, 8 * (c1 + 1));
      if (s == NULL)
        return oom (err);
      idx->starts = s;
    }
    {
      uint64_t *o = realloc (idx->id_off, 8 * (c2 + 1));
      if (o == NULL)
        return oom (err);
      idx->id_off = o;
    }
  }
  if (pool_add (&idx->id_pool, &idx->id_pool_size, &idx->id_pool_cap, id, &off))
    return oom (err);
  memcpy (idx->matrix + (size_t) idx->dim * idx->n_items, vec,
      sizeof (float) * idx->dim);
  idx->id_off[idx->n_items] = off;
  for (j = 0; j < n; j++)
    idx->refs[idx->n_refs + j] = lab[j];
  idx->n_refs += n;
  idx->n_items++;
  idx->starts[idx->n_items] = idx->n_refs;
  return MUSA_OK;
}

int
musa_index_remove (MusaIndex * idx, size_t i, MusaError * err)
{
  size_t k;
  uint64_t a, b;

  if (idx == NULL)
    return musa_error_set (err, MUSA_ERR_INVALID, NULL, "no index");
  if (i >= idx->n_items)
    return musa_error_set (err, MUSA_ERR_INVALID, NULL,
        "no item %zu (index has %zu)", i, idx->n_items);
  if (own_matrix (idx, idx->n_items))
    return oom (err);
  a = idx->starts[i];
  b = idx->starts[i + 1];
  memmove (idx->refs + a, idx->refs + b, 4 * (idx->n_refs - b));
  idx->n_refs -= b - a;
  for (k = i; k < idx->n_items; k++)
    idx->starts[k] = idx->starts[k + 1] - (b - a);
  memmove (idx->id_off + i, idx->id_off + i + 1, 8 * (idx->n_items - i - 1));
  memmove (idx->matrix + (size_t) idx->dim * i,
      idx->matrix + (size_t) idx->dim * (i + 1),
      sizeof (float) * idx->dim * (idx->n_items - i - 1));
  idx->n_items--;
  /* the id stays in the pool until the next save compacts it */
  return MUSA_OK;
}

size_t
musa_index_remove_source (MusaIndex * idx, const char *source)
{
  size_t i = 0, removed = 0, n;

  if (idx == NULL || source == NULL)
    return 0;
  n = strlen (source);
  while (i < idx->n_items) {
    const char *id = musa_index_item_id (idx, i);
    if (strcmp (id, source) == 0 || (strncmp (id, source, n) == 0
            && id[n] == '#')) {
      musa_index_remove (idx, i, NULL);
      removed++;
    } else {
      i++;
    }
  }
  return removed;
}

void
musa_index_update_stats (MusaIndex * idx)
{
  size_t i, j, d;
  double *s;

  if (idx == NULL)
    return;
  d = idx->dim;
  s = calloc (2 * d, sizeof (double));
  if (s == NULL)
    return;
  for (i = 0; i < idx->n_items; i++) {
    const float *v = idx->matrix + i * d;
    for (j = 0; j < d; j++)
      s[j] += v[j];
  }
  for (j = 0; j < d; j++)
    s[j] = idx->n_items ? s[j] / idx->n_items : 0.0;
  for (i = 0; i < idx->n_items; i++) {
    const float *v = idx->matrix + i * d;
    for (j = 0; j < d; j++) {
      double x = v[j] - s[j];
      s[d + j] += x * x;
    }
  }
  for (j = 0; j < d; j++) {
    double sd = idx->n_items > 1 ? sqrt (s[d + j] / idx->n_items) : 0.0;
    idx->mean[j] = (float) s[j];
    idx->std[j] = (sd > 1e-6 * (fabs (s[j]) + 1.0) && sd >= MIN_STD
        && isfinite (sd)) ? (float) sd : 1.0f;
  }
  free (s);
}

/* ---- saving ---- */

/* memcpy for arrays that may be empty (and then NULL) */
static void
copy (void *d, const void *s, size_t n)
{
  if (n > 0)
    memcpy (d, s, n);
}

int
musa_index_serialise (MusaIndex * idx, void **data, size_t *size,
    MusaError * err)
{
  Layout l;
  uint8_t *d;
  uint64_t i, ipool = 0;

  if (data == NULL || size == NULL)
    return musa_error_set (err, MUSA_ERR_INVALID, NULL,
        "no place for the serialised index");
  if (idx == NULL)
    return musa_error_set (err, MUSA_ERR_INVALID, NULL, "no index");
  musa_index_update_stats (idx);
  l.dim = idx->dim;
  l.n_labels = idx->n_labels;
  l.n_items = idx->n_items;
  l.n_refs = idx->n_refs;
  l.lpool = idx->label_pool_size;
  for (i = 0; i < idx->n_items; i++)
    ipool += strlen (idx->id_pool + idx->id_off[i]) + 1;
  l.ipool = ipool;
  layout_compute (&l);
  d = calloc (1, l.size);
  if (d == NULL)
    return oom (err);
  memcpy (d, MAGIC, 8);
  wr32 (d + 8, MUSA_INDEX_FORMAT_VERSION);
  wr32 (d + 12, MUSA_INDEX_HEADER_SIZE);
  wr64 (d + 16, l.size);
  memcpy (d + 24, idx->name, MUSA_INDEX_NAME_LEN);
  wr32 (d + 56, idx->dim);
  wr32 (d + 60, idx->version);
  wr32 (d + 64, idx->flags);
  wr32 (d + 68, idx->n_labels);
  wr64 (d + 72, l.n_items);
  wr64 (d + 80, l.n_refs);
  wr64 (d + 88, l.lpool);
  wr64 (d + 96, l.ipool);
  wr64 (d + 104, l.off_matrix);
  copy (d + l.off_stats, idx->mean, 4 * l.dim);
  copy (d + l.off_stats + 4 * l.dim, idx->std, 4 * l.dim);
  copy (d + l.off_labels, idx->label_off, 4 * l.n_labels);
  copy (d + l.off_lpool, idx->label_pool, l.lpool);
  copy (d + l.off_starts, idx->starts, 8 * (l.n_items + 1));
  copy (d + l.off_refs, idx->refs, 4 * l.n_refs);
  ipool = 0;
  for (i = 0; i < idx->n_items; i++) {
    const char *s = idx->id_pool + idx->id_off[i];
    size_t n = strlen (s) + 1;
    wr64 (d + l.off_ids + 8 * i, ipool);
    memcpy (d + l.off_ipool + ipool, s, n);
    ipool += n;
  }
  copy (d + l.off_matrix, idx->matrix, 4 * l.dim * l.n_items);
  wr64 (d + CHECKSUM_AT, musa_index_checksum (d, l.size));
  *data = d;
  *size = l.size;
  return MUSA_OK;
}

/* A new temporary file beside @path (same directory, so that rename()
 * replaces @path atomically): its descriptor in *@fd and its name in *@tmp
 * (free()), or an error status. */
static int
temp_beside (const char *path, char **tmp, int *fd, MusaError * err)
{
  struct stat st;
  int status;

  *fd = -1;
  *tmp = NULL;
  /* the index replaces what is at @path: only a regular file (renaming
   * over a FIFO or a device, e.g. /dev/null as root, replaced it) */
  if (stat (path, &st) == 0 && !S_ISREG (st.st_mode))
    return musa_error_set (err, MUSA_ERR_IO, "location",
        "%s is not a regular file", path);
  *tmp = malloc (strlen (path) + 16);
  if (*tmp == NULL)
    return oom (err);
  sprintf (*tmp, "%s.tmp-XXXXXX", path);
  *fd = mkstemp (*tmp);
  if (*fd >= 0)
    return MUSA_OK;
  status = musa_error_set (err, MUSA_ERR_IO, "location",
      "cannot create a temporary file beside %s: %s", path, strerror (errno));
  free (*tmp);
  *tmp = NULL;
  return status;
}

int
musa_index_save (MusaIndex * idx, const char *path, MusaError * err)
{
  void *data;
  size_t size, done = 0;
  char *tmp;
  int fd = -1, status;

  if (path == NULL || path[0] == '\0')
    return musa_error_set (err, MUSA_ERR_INVALID, "location",
        "no index file name");
  if ((status = musa_index_serialise (idx, &data, &size, err)) != MUSA_OK)
    return status;
  if ((status = temp_beside (path, &tmp, &fd, err)) != MUSA_OK) {
    free (data);
    return status;
  }
  while (done < size) {
    ssize_t w = write (fd, (const char *) data + done, size - done);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      break;
    done += (size_t) w;
  }
  free (data);
  if (done != size || fsync (fd) != 0 || fchmod (fd, 0644) != 0) {
    status = musa_error_set (err, MUSA_ERR_IO, "location",
        "cannot write %s: %s", tmp, strerror (errno));
    close (fd);
    unlink (tmp);
    free (tmp);
    return status;
  }
  if (close (fd) != 0 || rename (tmp, path) != 0) {
    status = musa_error_set (err, MUSA_ERR_IO, "location",
        "cannot replace %s: %s", path, strerror (errno));
    unlink (tmp);
    free (tmp);
    return status;
  }
  free (tmp);
  return MUSA_OK;
}

int
musa_index_lock (const char *path, MusaError * err)
{
  char *lock;
  int fd, r;

  if (path == NULL || path[0] == '\0') {
    musa_error_set (err, MUSA_ERR_INVALID, "location", "no index file name");
    return -1;
  }
  lock = malloc (strlen (path) + 8);
  if (lock == NULL) {
    oom (err);
    return -1;
  }
  sprintf (lock, "%s.lock", path);
  fd = open (lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    musa_error_set (err, MUSA_ERR_IO, "location", "cannot open %s: %s",
        lock, strerror (errno));
    free (lock);
    return -1;
  }
  do
    r = flock (fd, LOCK_EX);
  while (r != 0 && errno == EINTR);
  /* a file system without locks (some FUSE ones): go on unlocked, as
   * before there was a lock */
  if (r != 0 && errno != ENOLCK && errno != EOPNOTSUPP && errno != ENOSYS) {
    musa_error_set (err, MUSA_ERR_IO, "location", "cannot lock %s: %s",
        lock, strerror (errno));
    close (fd);
    fd = -1;
  }
  free (lock);
  return fd;
}

void
musa_index_unlock (int fd)
{
  if (fd >= 0)
    close (fd);
}

int
musa_index_check_writable (const char *path, MusaError * err)
{
  char *tmp;
  int fd = -1, status;

  if (path == NULL || path[0] == '\0')
    return musa_error_set (err, MUSA_ERR_INVALID, "location",
        "no index file name");
  if ((status = temp_beside (path, &tmp, &fd, err)) != MUSA_OK)
    return status;
  close (fd);
  unlink (tmp);
  free (tmp);
  return MUSA_OK;
}

/* ---- accessors ---- */

int
musa_index_check_embedding (const MusaIndex * idx, const char *name,
    int dim, int version, MusaError * err)
{
  if (idx == NULL)
    return musa_error_set (err, MUSA_ERR_INVALID, NULL, "no index");
  if (name == NULL)
    return musa_error_set (err, MUSA_ERR_INVALID, NULL, "no embedding name");
  if (strcmp (idx->name, name) != 0 || (int) idx->dim != dim
      || (int) idx->version != version)
    return musa_error_set (err, MUSA_ERR_MISMATCH, "location",
        "the index holds embedding \"%s\" (dimension %u, version %u) but "
        "the input is \"%s\" (dimension %d, version %d)", idx->name,
        idx->dim, idx->version, name, dim, version);
  return MUSA_OK;
}

const char *
musa_index_embedding_name (const MusaIndex * idx)
{
  return idx ? idx->name : NULL;
}

int
musa_index_dim (const MusaIndex * idx)
{
  return idx ? (int) idx->dim : 0;
}

int
musa_index_embedding_version (const MusaIndex * idx)
{
  return idx ? (int) idx->version : 0;
}

unsigned
musa_index_flags (const MusaIndex * idx)
{
  return idx ? idx->flags : 0;
}

size_t
musa_index_n_items (const MusaIndex * idx)
{
  return idx ? idx->n_items : 0;
}

int
musa_index_n_labels (const MusaIndex * idx)
{
  return idx ? (int) idx->n_labels : 0;
}

const char *
musa_index_label (const MusaIndex * idx, int label)
{
  if (idx == NULL || label < 0 || (uint32_t) label >= idx->n_labels)
    return NULL;
  return idx->label_pool + idx->label_off[label];
}

const char *
musa_index_item_id (const MusaIndex * idx, size_t i)
{
  return idx && i < idx->n_items ? idx->id_pool + idx->id_off[i] : NULL;
}

int
musa_index_item_labels (const MusaIndex * idx, size_t i,
    const uint32_t ** labels)
{
  if (idx == NULL || i >= idx->n_items) {
    if (labels)
      *labels = NULL;
    return 0;
  }
  if (labels)
    *labels = idx->refs + idx->starts[i];
  return (int) (idx->starts[i + 1] - idx->starts[i]);
}

const float *
musa_index_vector (const MusaIndex * idx, size_t i)
{
  return idx && i < idx->n_items ? idx->matrix + (size_t) idx->dim * i : NULL;
}

const float *
musa_index_matrix (const MusaIndex * idx)
{
  return idx ? idx->matrix : NULL;
}

const float *
musa_index_mean (const MusaIndex * idx)
{
  return idx ? idx->mean : NULL;
}

const float *
musa_index_std (const MusaIndex * idx)
{
  return idx ? idx->std : NULL;
}
