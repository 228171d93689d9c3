/* libmusa — knntag's index: labelled embedding vectors, in memory and on disk.
 *
 * An index holds N items of one embedding (identified by name, dimension and
 * version); each item has a vector, an id (its source: "song.wav#2" for the
 * third snippet of song.wav) and a set of labels from the index's label
 * vocabulary (multi-label). It also stores, per dimension, the mean and
 * standard deviation of all its vectors: with the `standardise` flag (the
 * built-in embedding) searches compare (x - mean) / std.
 *
 * File format, version 1. Little-endian, every offset from the file start.
 *
 *   header (128 bytes)
 *     0    char[8]  magic "MUSAKNN\0"
 *     8    u32      format version (1)
 *     12   u32      header size (128)
 *     16   u64      file size
 *     24   char[32] embedding name, NUL-terminated, NUL-padded
 *     56   u32      dimension (1..65536)
 *     60   u32      embedding version
 *     64   u32      flags (bit 0: standardise; other bits 0)
 *     68   u32      number of labels L (<= 2^20)
 *     72   u64      number of items N (<= 2^32)
 *     80   u64      number of item-label references R (<= N * L)
 *     88   u64      label pool size (bytes, <= 2^32)
 *     96   u64      id pool size (bytes, <= 2^40)
 *     104  u64      matrix offset (the next multiple of 64 after the tables)
 *     112  u64      checksum of the whole file with this field read as 0
 *                   (musa_index_checksum)
 *     120  u64      reserved, 0
 *   tables, in this order, each starting on a multiple of 8 (zero padding):
 *     mean     f32[dim], then std f32[dim] (|mean| <= 1e6, 1e-6 <= std
 *              <= 1e6)
 *     labels   u32[L]  offset of each label's name in the label pool
 *     pool     char[label pool size]: NUL-terminated names, non-empty,
 *              printable, no ','; unique
 *     starts   u64[N + 1]: item i's labels are refs[starts[i] .. starts[i+1]),
 *              starts[0] = 0, non-decreasing, starts[N] = R
 *     refs     u32[R]  label numbers (< L); an item's labels are a set,
 *              none twice (it would count twice in a vote)
 *     ids      u64[N]  offset of each item's id in the id pool
 *     pool     char[id pool size]: NUL-terminated ids
 *   matrix (at the matrix offset, 64-byte aligned so it can be used in place
 *           as read): f32[N][dim], |x| <= 1e6; file size = matrix offset +
 *           N * dim * 4 exactly.
 *
 * Loading checks every size, offset, count and value above before anything
 * is used and refuses a file that breaks any of them with MUSA_ERR_FORMAT (or
 * MUSA_ERR_IO) and a message naming the problem; the file is read into
 * memory (not mapped: overwriting an index in use in place would truncate a
 * mapping under its user) and the matrix used there in place. Saving recomputes the statistics and writes a
 * temporary file in the same directory that is renamed over the target, so
 * a crash leaves either the old or the new index, never a broken one.
 */
#ifndef MUSA_KNN_INDEX_H
#define MUSA_KNN_INDEX_H

#include "core/musa.h"

#ifdef __cplusplus
extern "C"
{
#endif

#define MUSA_INDEX_FORMAT_VERSION 1
#define MUSA_INDEX_HEADER_SIZE 128
#define MUSA_INDEX_NAME_LEN 32
#define MUSA_INDEX_MAX_DIM 65536
#define MUSA_INDEX_MAX_LABELS (1u << 20)
#define MUSA_INDEX_FLAG_STANDARDISE 1u

  typedef struct MusaIndex MusaIndex;

/* An empty index for vectors of @dim values of embedding @name (at most 31
 * bytes) version @version. */
  MusaIndex *musa_index_new (const char *name, int dim, int version,
      unsigned flags, MusaError * err);
/* Load (and fully validate) an index file. */
  MusaIndex *musa_index_load (const char *path, MusaError * err);
/* Same from bytes in memory (copied). */
  MusaIndex *musa_index_load_memory (const void *data, size_t size,
      MusaError * err);
  void musa_index_free (MusaIndex * idx);

/* Atomic save (temporary file + fsync + rename). */
  int musa_index_save (MusaIndex * idx, const char *path, MusaError * err);
/* Serialise the writers of the index at @path (load, change, save), across
 * threads and processes: an exclusive flock() on "@path.lock" (created if
 * missing, left in place; unlocked on a file system without locks). Returns
 * a descriptor for musa_index_unlock, or -1 (MUSA_ERR_IO naming
 * "location"; MUSA_ERR_INVALID for a NULL or empty @path). A negative @fd
 * is ignored by unlock. */
  int musa_index_lock (const char *path, MusaError * err);
  void musa_index_unlock (int fd);
/* Whether musa_index_save could write @path: creates (and removes) the
 * temporary file it would write beside it. MUSA_ERR_IO naming "location"
 * when it cannot, or when @path exists and is not a regular file (a FIFO,
 * a device, a directory), which save refuses too. */
  int musa_index_check_writable (const char *path, MusaError * err);
/* The file image musa_index_save writes (malloc'ed, free with free()). */
  int musa_index_serialise (MusaIndex * idx, void **data, size_t *size,
      MusaError * err);
/* The checksum of a file image (with bytes 112..119 read as 0); 0 for NULL
 * @data. */
  uint64_t musa_index_checksum (const void *data, size_t size);

/* Refuse (MUSA_ERR_MISMATCH) an index whose embedding is not (name, dim,
 * version), with a message that says both. */
  int musa_index_check_embedding (const MusaIndex * idx, const char *name,
      int dim, int version, MusaError * err);

/* Append one item: @vec (dim values, |v| <= 1e6), @id (non-empty), and @n_labels
 * labels (non-empty, printable, no ','); new labels join the vocabulary. */
  int musa_index_add (MusaIndex * idx, const float *vec, const char *id,
      const char *const *labels, int n_labels, MusaError * err);
/* Remove item @i. */
  int musa_index_remove (MusaIndex * idx, size_t i, MusaError * err);
/* Remove every item whose id is @source or starts with "@source#"; returns
 * how many were removed (0 when @idx or @source is NULL). */
  size_t musa_index_remove_source (MusaIndex * idx, const char *source);
/* Recompute the per-dimension mean and std from the items (std of a
 * constant dimension, or of an empty index, is 1). NULL: nothing. */
  void musa_index_update_stats (MusaIndex * idx);

/* The getters of a NULL index give 0, NULL, or -1 (find_label); a NULL
 * @labels is allowed (item_labels still counts). Every function above with
 * a status gives MUSA_ERR_INVALID for a NULL index. */
  const char *musa_index_embedding_name (const MusaIndex * idx);
  int musa_index_dim (const MusaIndex * idx);
  int musa_index_embedding_version (const MusaIndex * idx);
  unsigned musa_index_flags (const MusaIndex * idx);
  size_t musa_index_n_items (const MusaIndex * idx);
  int musa_index_n_labels (const MusaIndex * idx);
  const char *musa_index_label (const MusaIndex * idx, int label);
/* -1 when the vocabulary does not have it */
  int musa_index_find_label (const MusaIndex * idx, const char *label);
  const char *musa_index_item_id (const MusaIndex * idx, size_t i);
/* The label numbers of item @i; returns how many. */
  int musa_index_item_labels (const MusaIndex * idx, size_t i,
      const uint32_t ** labels);
  const float *musa_index_vector (const MusaIndex * idx, size_t i);
/* The matrix, row-major [n_items][dim] (64-byte aligned). */
  const float *musa_index_matrix (const MusaIndex * idx);
  const float *musa_index_mean (const MusaIndex * idx);
  const float *musa_index_std (const MusaIndex * idx);

#ifdef __cplusplus
}
#endif
#endif                          /* MUSA_KNN_INDEX_H */
