/* vision/src/mnist.c — IDX files (raw or gzip, read through zlib) and the MNIST-family dataset.
 *
 * IDX: a big-endian magic 0x00 0x00 <type> <ndim> (type 0x08 = unsigned byte), ndim big-endian
 * 32-bit sizes, then the data. MNIST images are idx3 (N, 28, 28), labels idx1 (N).
 */
#include <stdio.h>
#include <string.h>
#include <zlib.h>
#include "ctorch/vision.h"

#define MAX_IDX_BYTES ((int64_t)1 << 32) /* 4 GiB: far beyond any MNIST-family file */

static tc_status read_exact(gzFile f, const char *path, void *buf, int64_t n, const char *what) {
  char *p = buf;
  while (n > 0) {
    unsigned chunk = n > (1 << 30) ? (1u << 30) : (unsigned)n;
    int got = gzread(f, p, chunk);
    if (got <= 0) {
      int err = 0;
      const char *msg = gzerror(f, &err);
      return tc_set_error(TC_ERR_CORRUPT, "tv_read_idx: %s: truncated or corrupt while reading %s%s%s", path, what,
                          err ? ": " : "", err ? msg : "");
    }
    p += got;
    n -= got;
  }
  return TC_OK;
}

tc_tensor *tv_read_idx(const char *path) {
  if (!path) {
    tc_set_error(TC_ERR_ARG, "tv_read_idx: path is NULL");
    return NULL;
  }
  gzFile f = gzopen(path, "rb"); /* reads plain files as they are */
  if (!f) {
    tc_set_error(TC_ERR_IO, "tv_read_idx: cannot open %s", path);
    return NULL;
  }
  unsigned char head[4];
  tc_tensor *t = NULL;
  if (read_exact(f, path, head, 4, "the magic number")) goto done;
  if (head[0] || head[1] || head[2] != 0x08 || head[3] < 1 || head[3] > 4) {
    tc_set_error(TC_ERR_CORRUPT, "tv_read_idx: %s: expected an IDX file of unsigned bytes (magic 00 00 08 0n, n = 1..4), "
                 "got %02x %02x %02x %02x", path, head[0], head[1], head[2], head[3]);
    goto done;
  }
  int nd = head[3];
  int64_t sizes[4], total = 1;
  for (int d = 0; d < nd; d++) {
    unsigned char b[4];
    if (read_exact(f, path, b, 4, "the dimensions")) goto done;
    sizes[d] = ((int64_t)b[0] << 24) | ((int64_t)b[1] << 16) | ((int64_t)b[2] << 8) | b[3];
    total *= sizes[d];
    if (total > MAX_IDX_BYTES) {
      tc_set_error(TC_ERR_CORRUPT, "tv_read_idx: %s: dimensions give more than %lld bytes", path,
                   (long long)MAX_IDX_BYTES);
      goto done;
    }
  }
  t = tc_empty(sizes, nd, TC_OPTS(.dtype = TC_U8));
  if (t && read_exact(f, path, tc_tensor_data(t), total, "the data")) {
    tc_tensor_release(t);
    t = NULL;
  }
done:
  gzclose(f);
  return t;
}

/* root/name or root/name.gz, whichever exists */
static tc_tensor *read_split_file(const char *root, const char *name) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", root, name);
  FILE *probe = fopen(path, "rb");
  if (!probe) snprintf(path, sizeof path, "%s/%s.gz", root, name);
  else fclose(probe);
  probe = fopen(path, "rb");
  if (!probe) {
    tc_set_error(TC_ERR_IO, "tv_mnist: %s/%s (or .gz) not found: expected an MNIST-format directory", root, name);
    return NULL;
  }
  fclose(probe);
  return tv_read_idx(path);
}

typedef struct {
  tc_tensor *images; /* (N, H, W) uint8 */
  tc_tensor *labels; /* (N) uint8 */
} mnist_state;

static int64_t mnist_len(void *s) { return tc_tensor_shape(((mnist_state *)s)->labels)[0]; }

static tc_status mnist_get(void *vs, int64_t i, td_sample *out, tc_generator *gen) {
  (void)gen;
  mnist_state *s = vs;
  const int64_t *sz = tc_tensor_shape(s->images);
  tc_tensor *img = tc_narrow(s->images, 0, i, 1); /* (1, H, W): a view, as ToImage gives */
  if (!img) return tc_last_status();
  tc_status st = td_sample_set(out, "input", tr_tensor_value(img));
  (void)sz;
  if (st) return st;
  return td_sample_set(out, "target", tr_int_value(((const uint8_t *)tc_tensor_data(s->labels))[i]));
}

static void mnist_destroy(void *vs) {
  mnist_state *s = vs;
  if (!s) return;
  tc_tensor_release(s->images);
  tc_tensor_release(s->labels);
  tc_free(s);
}

static const td_dataset_vtable mnist_vt = {"MNIST", mnist_len, mnist_get, mnist_destroy};

td_dataset *tv_mnist(const char *root, bool train) {
  if (!root) {
    tc_set_error(TC_ERR_ARG, "tv_mnist: root is NULL");
    return NULL;
  }
  const char *pre = train ? "train" : "t10k";
  char in[64], ln[64];
  snprintf(in, sizeof in, "%s-images-idx3-ubyte", pre);
  snprintf(ln, sizeof ln, "%s-labels-idx1-ubyte", pre);
  mnist_state *s = tc_calloc(sizeof *s);
  if (!s) return NULL;
  if (!(s->images = read_split_file(root, in)) || !(s->labels = read_split_file(root, ln))) {
    mnist_destroy(s);
    return NULL;
  }
  const char *bad = NULL;
  if (tc_tensor_ndim(s->images) != 3) bad = "the images file is not 3-D (N, H, W)";
  else if (tc_tensor_ndim(s->labels) != 1) bad = "the labels file is not 1-D (N)";
  else if (tc_tensor_shape(s->images)[0] != tc_tensor_shape(s->labels)[0]) bad = "images and labels differ in count";
  if (bad) {
    tc_set_error(TC_ERR_CORRUPT, "tv_mnist: %s/%s: %s (%lld images, %lld labels)", root, in, bad,
                 (long long)tc_tensor_shape(s->images)[0],
                 tc_tensor_ndim(s->labels) ? (long long)tc_tensor_shape(s->labels)[0] : 0LL);
    mnist_destroy(s);
    return NULL;
  }
  return td_dataset_create(&mnist_vt, s);
}
