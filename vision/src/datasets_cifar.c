/* vision/src/datasets_cifar.c — CIFAR-10 and CIFAR-100 in their binary versions.
 *
 * A file is a sequence of fixed-size records: CIFAR-10 (1 label byte, 3072 pixel bytes), CIFAR-100
 * (coarse label byte, fine label byte, 3072 pixel bytes); the pixels are the R, G and B planes of a
 * 32x32 image, row-major, so a record's pixels are already (3, 32, 32). All files of a split are read
 * into one (N, 3, 32, 32) uint8 tensor.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "ctorch/vision_datasets.h"
#include "datasets_common.h"

#define PIXELS 3072

typedef struct {
  const char *fn;     /* tv_cifar10 / tv_cifar100 */
  const char *folder; /* cifar-10-batches-bin / cifar-100-binary */
  int nlabels;        /* label bytes per record: 1 or 2 */
  int which;          /* the label byte used as target */
} cifar_kind;

/* root/folder/name, or root/name when root is the folder itself */
static tc_status cifar_path(const cifar_kind *k, const char *root, const char *name, char *path, size_t size) {
  struct stat st;
  snprintf(path, size, "%s/%s/%s", root, k->folder, name);
  if (!stat(path, &st)) return TC_OK;
  snprintf(path, size, "%s/%s", root, name);
  if (!stat(path, &st)) return TC_OK;
  return tc_set_error(TC_ERR_IO, "%s: %s/%s/%s not found (nor %s/%s): expected the CIFAR binary version", k->fn, root,
                      k->folder, name, root, name);
}

/* the record count of each file, checked: sizes must be positive multiples of the record size */
static tc_status count_records(const cifar_kind *k, char paths[][4096], int nfiles, int64_t *counts, int64_t *total) {
  int64_t rec = k->nlabels + PIXELS;
  *total = 0;
  for (int f = 0; f < nfiles; f++) {
    struct stat st;
    if (stat(paths[f], &st)) return tc_set_error(TC_ERR_IO, "%s: cannot stat %s", k->fn, paths[f]);
    if (st.st_size <= 0 || st.st_size % rec)
      return tc_set_error(TC_ERR_CORRUPT, "%s: %s: %lld bytes is not a positive multiple of the %lld-byte record (%d "
                          "label byte%s + %d pixels; 10000 records = %lld bytes)", k->fn, paths[f],
                          (long long)st.st_size, (long long)rec, k->nlabels, k->nlabels > 1 ? "s" : "", PIXELS,
                          (long long)rec * 10000);
    counts[f] = st.st_size / rec;
    *total += counts[f];
  }
  return TC_OK;
}

/* reads one file's n records into pix (n * 3072 bytes) and tgt (n labels), checking label ranges */
static tc_status read_records(const cifar_kind *k, const char *path, int64_t n, uint8_t *pix, int64_t *tgt) {
  FILE *f = fopen(path, "rb");
  if (!f) return tc_set_error(TC_ERR_IO, "%s: cannot open %s", k->fn, path);
  uint8_t lab[2];
  tc_status st = TC_OK;
  for (int64_t i = 0; i < n && !st; i++) {
    if (fread(lab, 1, (size_t)k->nlabels, f) != (size_t)k->nlabels || fread(pix + i * PIXELS, 1, PIXELS, f) != PIXELS)
      st = tc_set_error(TC_ERR_CORRUPT, "%s: %s: truncated at record %lld", k->fn, path, (long long)i);
    else if (lab[k->nlabels - 1] >= (k->nlabels == 2 ? 100 : 10) || (k->nlabels == 2 && lab[0] >= 20))
      st = tc_set_error(TC_ERR_CORRUPT, "%s: %s: record %lld has label %d%s%d out of range", k->fn, path, (long long)i,
                        lab[0], k->nlabels == 2 ? "/" : "", k->nlabels == 2 ? lab[1] : 0);
    else tgt[i] = lab[k->which];
  }
  fclose(f);
  return st;
}

static td_dataset *cifar_load(const cifar_kind *k, const char *name, const char *root, const char *const *files,
                              int nfiles) {
  if (!root) {
    tc_set_error(TC_ERR_ARG, "%s: root is NULL", k->fn);
    return NULL;
  }
  char paths[5][4096];
  int64_t counts[5] = {0}, total;
  for (int f = 0; f < nfiles; f++)
    if (cifar_path(k, root, files[f], paths[f], sizeof paths[f])) return NULL;
  if (count_records(k, paths, nfiles, counts, &total)) return NULL;
  tc_tensor *images = tc_empty((const int64_t[]){total, 3, 32, 32}, 4, TC_OPTS(.dtype = TC_U8));
  int64_t *targets = images ? tc_malloc((size_t)total * sizeof *targets) : NULL;
  tc_status st = targets ? TC_OK : TC_ERR_NOMEM;
  int64_t at = 0;
  for (int f = 0; f < nfiles && !st; at += counts[f], f++)
    st = read_records(k, paths[f], counts[f], (uint8_t *)tc_tensor_data(images) + at * PIXELS, targets + at);
  if (st) {
    tc_tensor_release(images);
    tc_free(targets);
    return NULL;
  }
  return tv__labeled_create(name, images, targets, NULL);
}

td_dataset *tv_cifar10(const char *root, bool train) {
  static const cifar_kind k = {"tv_cifar10", "cifar-10-batches-bin", 1, 0};
  static const char *const train_files[] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                            "data_batch_4.bin", "data_batch_5.bin"};
  static const char *const test_files[] = {"test_batch.bin"};
  return train ? cifar_load(&k, "CIFAR10", root, train_files, 5) : cifar_load(&k, "CIFAR10", root, test_files, 1);
}

td_dataset *tv_cifar100(const char *root, bool train, bool coarse) {
  static const cifar_kind fine_k = {"tv_cifar100", "cifar-100-binary", 2, 1};
  static const cifar_kind coarse_k = {"tv_cifar100", "cifar-100-binary", 2, 0};
  const char *file = train ? "train.bin" : "test.bin";
  return cifar_load(coarse ? &coarse_k : &fine_k, "CIFAR100", root, &file, 1);
}
