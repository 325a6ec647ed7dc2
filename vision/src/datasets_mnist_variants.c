/* vision/src/datasets_mnist_variants.c — KMNIST, EMNIST and QMNIST: MNIST-style IDX files with other
 * names, orientations and label layouts. */
#include <stdio.h>
#include <string.h>
#include "ctorch/vision.h"
#include "datasets_common.h"

td_dataset *tv_kmnist(const char *root, bool train) { return tv_mnist(root, train); }

/* ---- EMNIST ------------------------------------------------------------------------------------------- */

static const char *const digits[] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
static const char *const letters[] = {"N/A", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m",
                                      "n",   "o", "p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z"};
/* sorted(digits + ascii letters): digits, upper case, lower case */
static const char *const byclass[] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "A", "B", "C", "D", "E", "F",
                                      "G", "H", "I", "J", "K", "L", "M", "N", "O", "P", "Q", "R", "S", "T", "U", "V",
                                      "W", "X", "Y", "Z", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l",
                                      "m", "n", "o", "p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z"};
/* byclass without the lower-case letters that merge with their capitals (c i j k l m o p s u v w x y z) */
static const char *const merged[] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "A", "B", "C",
                                     "D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "N", "O", "P",
                                     "Q", "R", "S", "T", "U", "V", "W", "X", "Y", "Z", "a", "b", "d",
                                     "e", "f", "g", "h", "n", "q", "r", "t"};

static const struct {
  const char *split;
  const char *const *classes;
  int64_t n;
} emnist_splits[] = {
    {"byclass", byclass, 62}, {"bymerge", merged, 47}, {"balanced", merged, 47},
    {"letters", letters, 27}, {"digits", digits, 10},  {"mnist", digits, 10},
};

const char *const *tv_emnist_classes(const char *split, int64_t *n) {
  for (size_t k = 0; split && k < sizeof emnist_splits / sizeof emnist_splits[0]; k++)
    if (!strcmp(split, emnist_splits[k].split)) {
      if (n) *n = emnist_splits[k].n;
      return emnist_splits[k].classes;
    }
  if (n) *n = 0;
  tc_set_error(TC_ERR_ARG, "tv_emnist_classes: unknown split %s (byclass, bymerge, balanced, letters, digits, mnist)",
               split ? split : "NULL");
  return NULL;
}

/* labels (N) uint8 or int32 -> a tc_malloc'd int64 array */
static int64_t *labels_to_i64(const tc_tensor *labels, int64_t col, int64_t ncols) {
  int64_t n = tc_tensor_shape(labels)[0];
  int64_t *out = tc_malloc((size_t)(n ? n : 1) * sizeof *out);
  if (!out) return NULL;
  if (tc_tensor_dtype(labels) == TC_U8) {
    const uint8_t *p = tc_tensor_data(labels);
    for (int64_t i = 0; i < n; i++) out[i] = p[i * ncols + col];
  } else {
    const int32_t *p = tc_tensor_data(labels);
    for (int64_t i = 0; i < n; i++) out[i] = p[i * ncols + col];
  }
  return out;
}

/* images (N, H, W) uint8 -> (N, 1, H, W), transposed to (N, 1, W, H) and made contiguous when asked */
static tc_tensor *as_nchw(tc_tensor *images, bool transpose) {
  const int64_t *s = tc_tensor_shape(images);
  tc_tensor *v = tc_view(images, (const int64_t[]){s[0], 1, s[1], s[2]}, 4);
  if (!v || !transpose) return v;
  tc_tensor *t = tc_transpose(v, 2, 3);
  tc_tensor_release(v);
  tc_tensor *c = t ? tc_contiguous(t) : NULL;
  tc_tensor_release(t);
  return c;
}

/* images file (N, H, W) and labels file (N) or (N, R): checked, or NULL with an error */
static tc_status load_pair(const char *fn, const char *root, const char *img_name, const char *lbl_name, int lbl_nd,
                           tc_tensor **images, tc_tensor **labels) {
  char ip[4096], lp[4096];
  *images = *labels = NULL;
  tc_status st = tv__find_file(fn, root, img_name, ip, sizeof ip);
  if (!st) st = tv__find_file(fn, root, lbl_name, lp, sizeof lp);
  if (st) return st;
  if (!(*images = tv__read_idx_typed(fn, ip)) || !(*labels = tv__read_idx_typed(fn, lp))) goto fail;
  const char *bad = NULL;
  if (tc_tensor_ndim(*images) != 3 || tc_tensor_dtype(*images) != TC_U8) bad = "images must be uint8 (N, H, W)";
  else if (tc_tensor_ndim(*labels) != lbl_nd) bad = lbl_nd == 1 ? "labels must be 1-D (N)" : "labels must be (N, R)";
  else if (tc_tensor_shape(*images)[0] != tc_tensor_shape(*labels)[0]) bad = "images and labels differ in count";
  else if (lbl_nd == 2 && tc_tensor_shape(*labels)[1] < 1) bad = "labels have no column";
  if (bad) {
    tc_set_error(TC_ERR_CORRUPT, "%s: %s / %s: %s (%lld images, %lld labels)", fn, ip, lp, bad,
                 (long long)tc_tensor_shape(*images)[0],
                 tc_tensor_ndim(*labels) ? (long long)tc_tensor_shape(*labels)[0] : 0LL);
    goto fail;
  }
  return TC_OK;
fail:
  tc_tensor_release(*images), tc_tensor_release(*labels);
  *images = *labels = NULL;
  return tc_last_status();
}

td_dataset *tv_emnist(const char *root, const char *split, bool train, bool transpose) {
  if (!root) {
    tc_set_error(TC_ERR_ARG, "tv_emnist: root is NULL");
    return NULL;
  }
  if (!tv_emnist_classes(split, NULL)) {
    tc_set_error(TC_ERR_ARG, "tv_emnist: unknown split %s (byclass, bymerge, balanced, letters, digits, mnist)",
                 split ? split : "NULL");
    return NULL;
  }
  char in[128], ln[128];
  snprintf(in, sizeof in, "emnist-%s-%s-images-idx3-ubyte", split, train ? "train" : "test");
  snprintf(ln, sizeof ln, "emnist-%s-%s-labels-idx1-ubyte", split, train ? "train" : "test");
  tc_tensor *images, *labels;
  if (load_pair("tv_emnist", root, in, ln, 1, &images, &labels)) return NULL;
  int64_t *targets = tc_tensor_dtype(labels) == TC_U8 ? labels_to_i64(labels, 0, 1) : NULL;
  if (!targets && tc_tensor_dtype(labels) != TC_U8)
    tc_set_error(TC_ERR_CORRUPT, "tv_emnist: %s/%s: labels must be unsigned bytes", root, ln);
  tc_tensor *nchw = targets ? as_nchw(images, transpose) : NULL;
  tc_tensor_release(images), tc_tensor_release(labels);
  if (!nchw) {
    tc_free(targets);
    return NULL;
  }
  return tv__labeled_create("EMNIST", nchw, targets, NULL);
}

/* ---- QMNIST ------------------------------------------------------------------------------------------- */

td_dataset *tv_qmnist(const char *root, const char *what, bool compat) {
  if (!root || !what) {
    tc_set_error(TC_ERR_ARG, "tv_qmnist: root or what is NULL");
    return NULL;
  }
  const char *img, *lbl;
  int64_t first = 0, count = -1; /* test10k / test50k slice the test files */
  if (!strcmp(what, "train")) img = "qmnist-train-images-idx3-ubyte", lbl = "qmnist-train-labels-idx2-int";
  else if (!strcmp(what, "test") || !strcmp(what, "test10k") || !strcmp(what, "test50k"))
    img = "qmnist-test-images-idx3-ubyte", lbl = "qmnist-test-labels-idx2-int";
  else if (!strcmp(what, "nist")) img = "xnist-images-idx3-ubyte", lbl = "xnist-labels-idx2-int";
  else {
    tc_set_error(TC_ERR_ARG, "tv_qmnist: unknown subset %s (train, test, test10k, test50k, nist)", what);
    return NULL;
  }
  if (!strcmp(what, "test10k")) count = 10000;
  if (!strcmp(what, "test50k")) first = 10000;
  tc_tensor *images, *labels;
  if (load_pair("tv_qmnist", root, img, lbl, 2, &images, &labels)) return NULL;
  int64_t n = tc_tensor_shape(images)[0];
  first = first < n ? first : n;
  count = count < 0 || first + count > n ? n - first : count; /* as Python slicing clamps */
  tc_tensor *si = tc_narrow(images, 0, first, count), *sl = si ? tc_narrow(labels, 0, first, count) : NULL;
  tc_tensor *lc = sl ? tc_contiguous(sl) : NULL, *ic = si ? tc_contiguous(si) : NULL;
  tc_tensor_release(images), tc_tensor_release(labels), tc_tensor_release(si), tc_tensor_release(sl);
  int64_t *targets = lc ? labels_to_i64(lc, 0, tc_tensor_shape(lc)[1]) : NULL;
  tc_tensor *rows = targets && !compat ? tc_to_dtype(lc, TC_I64) : NULL;
  tc_tensor *nchw = targets && (compat || rows) ? as_nchw(ic, false) : NULL;
  tc_tensor_release(lc), tc_tensor_release(ic);
  if (!nchw) {
    tc_free(targets), tc_tensor_release(rows);
    return NULL;
  }
  return tv__labeled_create("QMNIST", nchw, targets, rows);
}
