/* tv_mnist / tv_read_idx on small IDX files written here (raw and gzip): samples, and the errors for
 * missing, corrupt, truncated and mismatched files. */
#include <ctorch/vision.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include "test_util.h"

static char dir[256];

/* an IDX file of unsigned bytes: magic, dims, then `n` data bytes (n may be short: truncated) */
static void write_idx(const char *name, bool gz, const int *dims, int nd, const unsigned char *data, long n,
                      unsigned char type) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s%s", dir, name, gz ? ".gz" : "");
  unsigned char head[4 + 16] = {0, 0, type, (unsigned char)nd};
  for (int d = 0; d < nd; d++) {
    head[4 + 4 * d] = (unsigned char)(dims[d] >> 24);
    head[5 + 4 * d] = (unsigned char)(dims[d] >> 16);
    head[6 + 4 * d] = (unsigned char)(dims[d] >> 8);
    head[7 + 4 * d] = (unsigned char)dims[d];
  }
  if (gz) {
    gzFile f = gzopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    gzwrite(f, head, (unsigned)(4 + 4 * nd));
    if (n) gzwrite(f, data, (unsigned)n);
    gzclose(f);
  } else {
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fwrite(head, 1, (size_t)(4 + 4 * nd), f);
    if (n) fwrite(data, 1, (size_t)n, f);
    fclose(f);
  }
}

static void clean(void) {
  const char *names[] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                         "t10k-labels-idx1-ubyte"};
  char path[512];
  for (int i = 0; i < 4; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    unlink(path);
    snprintf(path, sizeof path, "%s/%s.gz", dir, names[i]);
    unlink(path);
  }
}

static const unsigned char pixels[3 * 2 * 2] = {0, 1, 2, 3, 10, 11, 12, 13, 200, 201, 202, 255};
static const unsigned char labels[3] = {7, 0, 9};

START_TEST(test_read_split) {
  LEAK_BEGIN;
  for (int gz = 0; gz < 2; gz++) {
    clean();
    write_idx("train-images-idx3-ubyte", gz, (const int[]){3, 2, 2}, 3, pixels, 12, 8);
    write_idx("train-labels-idx1-ubyte", !gz, (const int[]){3}, 1, labels, 3, 8); /* one raw, one gzip */
    td_dataset *ds = tv_mnist(dir, true);
    ck_assert_msg(ds != NULL, "%s", tc_last_error());
    ck_assert_int_eq(td_len(ds), 3);
    td_sample s;
    ck_assert_int_eq(td_get(ds, 2, &s, NULL), TC_OK);
    const tc_tensor *img = td_sample_field(&s, "input")->tensor;
    ck_assert_int_eq(tc_tensor_dtype(img), TC_U8);
    ck_assert_int_eq(tc_tensor_ndim(img), 3);
    ck_assert_int_eq(tc_tensor_shape(img)[0], 1);
    tc_tensor *c = tc_contiguous(img);
    ck_assert_int_eq(memcmp(tc_tensor_data(c), pixels + 8, 4), 0);
    tc_tensor_release(c);
    ck_assert_int_eq(td_sample_field(&s, "target")->i, 9);
    td_sample_clear(&s);
    td_release(ds);
  }
  LEAK_END;
}
END_TEST

START_TEST(test_errors) {
  LEAK_BEGIN;
  clean();
  ck_assert_ptr_null(tv_mnist(dir, false));
  ck_assert_int_eq(tc_last_status(), TC_ERR_IO);
  ck_assert_ptr_nonnull(strstr(tc_last_error(), "t10k-images-idx3-ubyte"));
  /* wrong magic (a float IDX) */
  write_idx("t10k-images-idx3-ubyte", false, (const int[]){3, 2, 2}, 3, pixels, 12, 0x0d);
  write_idx("t10k-labels-idx1-ubyte", false, (const int[]){3}, 1, labels, 3, 8);
  ck_assert_ptr_null(tv_mnist(dir, false));
  ck_assert_int_eq(tc_last_status(), TC_ERR_CORRUPT);
  ck_assert_ptr_nonnull(strstr(tc_last_error(), "expected an IDX file of unsigned bytes"));
  /* truncated data, raw and gzip */
  for (int gz = 0; gz < 2; gz++) {
    clean();
    write_idx("t10k-images-idx3-ubyte", gz, (const int[]){3, 2, 2}, 3, pixels, 7, 8);
    write_idx("t10k-labels-idx1-ubyte", false, (const int[]){3}, 1, labels, 3, 8);
    ck_assert_ptr_null(tv_mnist(dir, false));
    ck_assert_int_eq(tc_last_status(), TC_ERR_CORRUPT);
    ck_assert_ptr_nonnull(strstr(tc_last_error(), "truncated"));
  }
  /* counts that differ */
  clean();
  write_idx("t10k-images-idx3-ubyte", false, (const int[]){3, 2, 2}, 3, pixels, 12, 8);
  write_idx("t10k-labels-idx1-ubyte", false, (const int[]){2}, 1, labels, 2, 8);
  ck_assert_ptr_null(tv_mnist(dir, false));
  ck_assert_ptr_nonnull(strstr(tc_last_error(), "differ in count"));
  /* a gzip stream cut short */
  clean();
  write_idx("t10k-images-idx3-ubyte", true, (const int[]){3, 2, 2}, 3, pixels, 12, 8);
  char path[512];
  snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte.gz", dir);
  ck_assert_int_eq(truncate(path, 20), 0);
  ck_assert_ptr_null(tv_read_idx(path));
  ck_assert_int_eq(tc_last_status(), TC_ERR_CORRUPT);
  clean();
  LEAK_END;
}
END_TEST

int main(void) {
  snprintf(dir, sizeof dir, "%s/ctorch-mnist-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  if (!mkdtemp(dir)) return 1;
  Suite *s = suite_create("vision_mnist");
  TCase *tc = tcase_create("mnist");
  tcase_add_test(tc, test_read_split);
  tcase_add_test(tc, test_errors);
  suite_add_tcase(s, tc);
  int rc = run_suite(s);
  clean();
  rmdir(dir);
  return rc;
}
