/* vision/src/datasets_common.c — the labeled-image-array dataset shared by EMNIST, QMNIST and CIFAR,
 * file lookup, and an IDX reader for the element types QMNIST needs (uint8 and int32). */
#include <stdio.h>
#include <string.h>
#include <zlib.h>
#include "ctorch/vision_datasets.h"
#include "datasets_common.h"

/* ---- the labeled dataset ------------------------------------------------------------------------------ */

static int64_t labeled_len(void *vs) { return tc_tensor_shape(((tv__labeled *)vs)->images)[0]; }

static tc_status labeled_get(void *vs, int64_t i, td_sample *out, tc_generator *gen) {
  (void)gen;
  tv__labeled *s = vs;
  tc_tensor *img = tc_select(s->images, 0, i); /* (C, H, W) view */
  if (!img) return tc_last_status();
  tc_status st = td_sample_set(out, "input", tr_tensor_value(img));
  if (st) return st;
  if (!s->rows) return td_sample_set(out, "target", tr_int_value(s->targets[i]));
  tc_tensor *row = tc_select(s->rows, 0, i);
  return row ? td_sample_set(out, "target", tr_tensor_value(row)) : tc_last_status();
}

static void labeled_destroy(void *vs) {
  tv__labeled *s = vs;
  if (!s) return;
  tc_tensor_release(s->images);
  tc_tensor_release(s->rows);
  tc_free(s->targets);
  tc_free(s);
}

/* one vtable per dataset name (a vtable must outlive its datasets) */
static const td_dataset_vtable labeled_vts[] = {
    {"EMNIST", labeled_len, labeled_get, labeled_destroy},
    {"QMNIST", labeled_len, labeled_get, labeled_destroy},
    {"CIFAR10", labeled_len, labeled_get, labeled_destroy},
    {"CIFAR100", labeled_len, labeled_get, labeled_destroy},
};
#define N_LABELED_VTS ((int)(sizeof labeled_vts / sizeof labeled_vts[0]))

td_dataset *tv__labeled_create(const char *name, tc_tensor *images, int64_t *targets, tc_tensor *rows) {
  const td_dataset_vtable *vt = NULL;
  for (int k = 0; k < N_LABELED_VTS; k++)
    if (!strcmp(labeled_vts[k].name, name)) vt = &labeled_vts[k];
  tv__labeled *s = tc_calloc(sizeof *s);
  if (!s || !vt) {
    tc_tensor_release(images), tc_tensor_release(rows), tc_free(targets), tc_free(s);
    if (s) tc_set_error(TC_ERR_ARG, "tv__labeled_create: unknown dataset name %s", name);
    return NULL;
  }
  *s = (tv__labeled){TV__LABELED_MAGIC, images, targets, rows};
  return td_dataset_create(vt, s);
}

tc_tensor *tv_dataset_targets(td_dataset *ds) {
  const char *name = ds ? td_dataset_name(ds) : NULL;
  bool known = false;
  for (int k = 0; name && k < N_LABELED_VTS; k++) known |= !strcmp(labeled_vts[k].name, name);
  tv__labeled *s = known ? td_dataset_state(ds) : NULL;
  if (!s || s->magic != TV__LABELED_MAGIC) {
    tc_set_error(TC_ERR_ARG, "tv_dataset_targets: %s is not an EMNIST, QMNIST or CIFAR dataset of this library",
                 name ? name : "NULL");
    return NULL;
  }
  return tc_tensor_from_data(s->targets, (const int64_t[]){tc_tensor_shape(s->images)[0]}, 1, TC_I64);
}

/* ---- files -------------------------------------------------------------------------------------------- */

static bool exists(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f) fclose(f);
  return f != NULL;
}

tc_status tv__find_file(const char *fn, const char *root, const char *name, char *path, size_t size) {
  if ((size_t)snprintf(path, size, "%s/%s", root, name) >= size)
    return tc_set_error(TC_ERR_ARG, "%s: path %s/%s is too long", fn, root, name);
  if (exists(path)) return TC_OK;
  snprintf(path, size, "%s/%s.gz", root, name);
  if (exists(path)) return TC_OK;
  return tc_set_error(TC_ERR_IO, "%s: %s/%s (or .gz) not found", fn, root, name);
}

static tc_status gz_read_all(gzFile f, const char *fn, const char *path, void *buf, int64_t n, const char *what) {
  char *p = buf;
  while (n > 0) {
    unsigned chunk = n > (1 << 30) ? (1u << 30) : (unsigned)n;
    int got = gzread(f, p, chunk);
    if (got <= 0)
      return tc_set_error(TC_ERR_CORRUPT, "%s: %s: truncated or corrupt while reading %s", fn, path, what);
    p += got;
    n -= got;
  }
  return TC_OK;
}

/* big-endian int32 words to host order, in place */
static void swap_be32(int32_t *p, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    const uint8_t *b = (const uint8_t *)&p[i];
    p[i] = (int32_t)(((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3]);
  }
}

tc_tensor *tv__read_idx_typed(const char *fn, const char *path) {
  gzFile f = gzopen(path, "rb");
  if (!f) {
    tc_set_error(TC_ERR_IO, "%s: cannot open %s", fn, path);
    return NULL;
  }
  uint8_t head[4];
  tc_tensor *t = NULL;
  if (gz_read_all(f, fn, path, head, 4, "the magic number")) goto done;
  if (head[0] || head[1] || (head[2] != 0x08 && head[2] != 0x0C) || head[3] < 1 || head[3] > 4) {
    tc_set_error(TC_ERR_CORRUPT, "%s: %s: expected an IDX file of unsigned bytes or int32 (magic 00 00 08|0c 0n), "
                 "got %02x %02x %02x %02x", fn, path, head[0], head[1], head[2], head[3]);
    goto done;
  }
  int nd = head[3];
  int64_t esz = head[2] == 0x08 ? 1 : 4, sizes[4], total = esz;
  for (int d = 0; d < nd; d++) {
    uint8_t b[4];
    if (gz_read_all(f, fn, path, b, 4, "the dimensions")) goto done;
    sizes[d] = ((int64_t)b[0] << 24) | ((int64_t)b[1] << 16) | ((int64_t)b[2] << 8) | b[3];
    total *= sizes[d];
    if (total > ((int64_t)1 << 32)) {
      tc_set_error(TC_ERR_CORRUPT, "%s: %s: dimensions give more than 4 GiB", fn, path);
      goto done;
    }
  }
  t = tc_empty(sizes, nd, TC_OPTS(.dtype = esz == 1 ? TC_U8 : TC_I32));
  if (t && gz_read_all(f, fn, path, tc_tensor_data(t), total, "the data")) {
    tc_tensor_release(t);
    t = NULL;
  }
  if (t && esz == 4) swap_be32(tc_tensor_data(t), total / 4);
done:
  gzclose(f);
  return t;
}
