/* The vision datasets on small files written here (IDX for EMNIST/QMNIST/KMNIST, CIFAR binary
 * batches, ImageFolder trees of tiny JPEGs from tests/fixtures/vision_data) and FakeData against
 * torchvision (tests/fixtures/gen/gen_vision_data.py): samples, order, errors for missing, truncated
 * and malformed files and empty folders, the DataLoader over them, no leaks. */
#include <ctorch/dataloader.h>
#include <ctorch/vision.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "test_util.h"

#define FAM "vision_data"

static char dir[256];

/* ---- helpers ---------------------------------------------------------------------------------------- */

static void path_of(char *out, size_t n, const char *rel) { snprintf(out, n, "%s/%s", dir, rel); }

static void write_bytes(const char *rel, const void *data, size_t n) {
  char p[512];
  path_of(p, sizeof p, rel);
  FILE *f = fopen(p, "wb");
  ck_assert_ptr_nonnull(f);
  if (n) ck_assert_int_eq(fwrite(data, 1, n, f), n);
  fclose(f);
}

static void make_dir(const char *rel) {
  char p[512];
  path_of(p, sizeof p, rel);
  mkdir(p, 0755);
}

/* removes everything under dir (the test's own temporary folder) */
static void clean(void) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'/*", dir);
  ck_assert_int_eq(system(cmd), 0);
}

/* an IDX file: magic 00 00 type nd, big-endian dims, then data (n bytes, may be short) */
static void write_idx(const char *rel, unsigned char type, const int *dims, int nd, const void *data, size_t n) {
  unsigned char buf[4096] = {0, 0, type, (unsigned char)nd};
  for (int d = 0; d < nd; d++)
    for (int k = 0; k < 4; k++) buf[4 + 4 * d + k] = (unsigned char)(dims[d] >> (24 - 8 * k));
  size_t h = 4 + 4 * (size_t)nd;
  memcpy(buf + h, data, n);
  write_bytes(rel, buf, h + n);
}

static tc_tensor *sample_input(td_dataset *ds, int64_t i, int64_t *target) {
  td_sample s;
  ck_assert_msg(td_get(ds, i, &s, NULL) == TC_OK, "%s", tc_last_error());
  tc_tensor *x = tc_contiguous(td_sample_field(&s, "input")->tensor);
  if (target) *target = td_sample_field(&s, "target")->i;
  td_sample_clear(&s);
  return x;
}

/* ---- MNIST variants --------------------------------------------------------------------------------- */

static const unsigned char px[2 * 2 * 3] = {1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60}; /* (2, 2, 3) */

START_TEST(test_emnist) {
  LEAK_BEGIN;
  clean();
  write_idx("emnist-letters-train-images-idx3-ubyte", 8, (const int[]){2, 2, 3}, 3, px, 12);
  write_idx("emnist-letters-train-labels-idx1-ubyte", 8, (const int[]){2}, 1, (const unsigned char[]){1, 26}, 2);
  td_dataset *ds = tv_emnist(dir, "letters", true, false);
  ck_assert_msg(ds != NULL, "%s", tc_last_error());
  ck_assert_int_eq(td_len(ds), 2);
  int64_t t;
  tc_tensor *x = sample_input(ds, 1, &t);
  assert_shape(x, SHAPE(1, 2, 3), 3); /* as stored, as torchvision */
  ck_assert_int_eq(memcmp(tc_tensor_data(x), px + 6, 6), 0);
  ck_assert_int_eq(t, 26);
  tc_tensor_release(x);
  td_release(ds);
  /* transposed back: (1, 3, 2) with x[0][w][h] = raw[h][w] */
  ds = tv_emnist(dir, "letters", true, true);
  x = sample_input(ds, 1, NULL);
  assert_shape(x, SHAPE(1, 3, 2), 3);
  const uint8_t *p = tc_tensor_data(x);
  ck_assert_int_eq(p[0 * 2 + 1], 40); /* [w=0][h=1] = raw[1][0] */
  ck_assert_int_eq(p[2 * 2 + 0], 30); /* [w=2][h=0] = raw[0][2] */
  tc_tensor_release(x);
  tc_tensor *tg = tv_dataset_targets(ds);
  ck_assert_int_eq(((int64_t *)tc_tensor_data(tg))[0], 1);
  tc_tensor_release(tg);
  td_release(ds);
  int64_t n;
  const char *const *cls = tv_emnist_classes("bymerge", &n);
  ck_assert_int_eq(n, 47);
  ck_assert_str_eq(cls[36], "a");
  ck_assert_str_eq(cls[46], "t");
  ck_assert_int_eq(tv_emnist_classes("byclass", &n) != NULL && n == 62, 1);
  ck_assert_str_eq(tv_emnist_classes("letters", &n)[0], "N/A");
  /* errors: unknown split, missing test files */
  ck_assert_ptr_null(tv_emnist(dir, "greek", true, false));
  assert_error(TC_ERR_ARG, "unknown split greek");
  ck_assert_ptr_null(tv_emnist(dir, "letters", false, false));
  assert_error(TC_ERR_IO, "emnist-letters-test-images-idx3-ubyte");
  LEAK_END;
}
END_TEST

/* QMNIST labels: (N, 8) big-endian int32 */
static void write_qmnist_labels(const char *rel, int n, int cols, int corrupt_type) {
  unsigned char data[3 * 8 * 4];
  for (int i = 0; i < n; i++)
    for (int c = 0; c < cols; c++) {
      int32_t v = c == 0 ? 7 - i : (i + 1) * 1000 + c * (c == 5 ? -1 : 1);
      for (int k = 0; k < 4; k++) data[(i * cols + c) * 4 + k] = (unsigned char)((uint32_t)v >> (24 - 8 * k));
    }
  write_idx(rel, corrupt_type ? 0x0D : 0x0C, (const int[]){n, cols}, 2, data, (size_t)n * cols * 4);
}

START_TEST(test_qmnist) {
  LEAK_BEGIN;
  clean();
  write_idx("qmnist-test-images-idx3-ubyte", 8, (const int[]){2, 2, 3}, 3, px, 12);
  write_qmnist_labels("qmnist-test-labels-idx2-int", 2, 8, 0);
  td_dataset *ds = tv_qmnist(dir, "test", true);
  ck_assert_msg(ds != NULL, "%s", tc_last_error());
  int64_t t;
  tc_tensor *x = sample_input(ds, 1, &t);
  ck_assert_int_eq(t, 6);
  assert_shape(x, SHAPE(1, 2, 3), 3);
  tc_tensor_release(x);
  td_release(ds);
  /* compat = false: the whole row, int64 */
  ds = tv_qmnist(dir, "test10k", false);
  ck_assert_int_eq(td_len(ds), 2);
  td_sample s;
  ck_assert_int_eq(td_get(ds, 1, &s, NULL), TC_OK);
  const tc_tensor *row = td_sample_field(&s, "target")->tensor;
  ck_assert_int_eq(tc_tensor_dtype(row), TC_I64);
  assert_shape(row, SHAPE(8), 1);
  const int64_t *r = tc_tensor_data(row);
  ck_assert_int_eq(r[0], 6);
  ck_assert_int_eq(r[5], 2000 - 5);
  td_sample_clear(&s);
  td_release(ds);
  ds = tv_qmnist(dir, "test50k", true); /* beyond 10000 test images: empty, as the Python slice */
  ck_assert_int_eq(td_len(ds), 0);
  td_release(ds);
  /* errors: float labels (type 0x0D), unknown subset, missing nist files */
  write_qmnist_labels("qmnist-test-labels-idx2-int", 2, 8, 1);
  ck_assert_ptr_null(tv_qmnist(dir, "test", true));
  assert_error(TC_ERR_CORRUPT, "qmnist-test-labels-idx2-int");
  ck_assert_ptr_null(tv_qmnist(dir, "val", true));
  assert_error(TC_ERR_ARG, "unknown subset");
  ck_assert_ptr_null(tv_qmnist(dir, "nist", true));
  assert_error(TC_ERR_IO, "xnist-images-idx3-ubyte");
  /* truncated images, labels of another count */
  write_qmnist_labels("qmnist-test-labels-idx2-int", 2, 8, 0);
  write_idx("qmnist-test-images-idx3-ubyte", 8, (const int[]){2, 2, 3}, 3, px, 11);
  ck_assert_ptr_null(tv_qmnist(dir, "test", true));
  assert_error(TC_ERR_CORRUPT, "truncated");
  write_idx("qmnist-test-images-idx3-ubyte", 8, (const int[]){1, 2, 3}, 3, px, 6);
  ck_assert_ptr_null(tv_qmnist(dir, "test", true));
  assert_error(TC_ERR_CORRUPT, "differ in count");
  LEAK_END;
}
END_TEST

START_TEST(test_kmnist) {
  LEAK_BEGIN;
  clean();
  write_idx("train-images-idx3-ubyte", 8, (const int[]){2, 2, 3}, 3, px, 12);
  write_idx("train-labels-idx1-ubyte", 8, (const int[]){2}, 1, (const unsigned char[]){3, 4}, 2);
  td_dataset *ds = tv_kmnist(dir, true);
  ck_assert_msg(ds != NULL, "%s", tc_last_error());
  ck_assert_int_eq(td_len(ds), 2);
  td_release(ds);
  LEAK_END;
}
END_TEST

/* ---- CIFAR -------------------------------------------------------------------------------------------- */

/* n records starting at label `first`, pixel bytes (record index + byte index) mod 256 */
static void write_cifar(const char *rel, int n, int nlabels, int first, size_t cut) {
  size_t rec = (size_t)nlabels + 3072;
  unsigned char *buf = malloc(rec * (size_t)n);
  for (int i = 0; i < n; i++) {
    unsigned char *r = buf + rec * (size_t)i;
    r[0] = (unsigned char)((first + i) % (nlabels == 2 ? 20 : 10));
    if (nlabels == 2) r[1] = (unsigned char)((first + i) * 7 % 100);
    for (int k = 0; k < 3072; k++) r[nlabels + k] = (unsigned char)(i * 11 + k);
  }
  write_bytes(rel, buf, rec * (size_t)n - cut);
  free(buf);
}

START_TEST(test_cifar10) {
  LEAK_BEGIN;
  clean();
  make_dir("cifar-10-batches-bin");
  for (int b = 1; b <= 5; b++) {
    char n[64];
    snprintf(n, sizeof n, "cifar-10-batches-bin/data_batch_%d.bin", b);
    write_cifar(n, 2, 1, 2 * (b - 1), 0);
  }
  write_cifar("cifar-10-batches-bin/test_batch.bin", 3, 1, 5, 0);
  td_dataset *ds = tv_cifar10(dir, true);
  ck_assert_msg(ds != NULL, "%s", tc_last_error());
  ck_assert_int_eq(td_len(ds), 10);
  int64_t t;
  tc_tensor *x = sample_input(ds, 7, &t); /* batch 4, record 1 */
  ck_assert_int_eq(t, 7);
  assert_shape(x, SHAPE(3, 32, 32), 3);
  const uint8_t *p = tc_tensor_data(x);
  ck_assert_int_eq(p[0], 11);
  ck_assert_int_eq(p[1024 + 5], (11 + 1024 + 5) % 256); /* green plane */
  tc_tensor_release(x);
  /* through td_transformed and the DataLoader: float batches (4, 3, 32, 32) */
  td_dataset *fl = td_transformed(ds, "input", tr_to_dtype(TC_F32, true), NULL, NULL);
  td_release(ds);
  td_loader_opts o = TD_LOADER_DEFAULTS;
  o.batch_size = 4, o.num_workers = 2;
  td_loader *dl = td_loader_create(fl, &o);
  td_sample batch;
  bool end;
  ck_assert_int_eq(td_loader_next(dl, &batch, &end), TC_OK);
  assert_shape(td_sample_field(&batch, "input")->tensor, SHAPE(4, 3, 32, 32), 4);
  ck_assert_int_eq(tc_tensor_dtype(td_sample_field(&batch, "input")->tensor), TC_F32);
  td_sample_clear(&batch);
  td_loader_destroy(dl);
  td_release(fl);
  /* test split, root being the batches folder itself */
  char inner[512];
  path_of(inner, sizeof inner, "cifar-10-batches-bin");
  ds = tv_cifar10(inner, false);
  ck_assert_int_eq(td_len(ds), 3);
  tc_tensor *tg = tv_dataset_targets(ds);
  ck_assert_int_eq(((int64_t *)tc_tensor_data(tg))[2], 7);
  tc_tensor_release(tg);
  td_release(ds);
  /* truncated batch: named with the record size */
  write_cifar("cifar-10-batches-bin/data_batch_3.bin", 2, 1, 0, 100);
  ck_assert_ptr_null(tv_cifar10(dir, true));
  assert_error(TC_ERR_CORRUPT, "data_batch_3.bin: 6046 bytes is not a positive multiple of the 3073-byte record");
  /* empty file */
  write_bytes("cifar-10-batches-bin/data_batch_3.bin", NULL, 0);
  ck_assert_ptr_null(tv_cifar10(dir, true));
  assert_error(TC_ERR_CORRUPT, "0 bytes");
  /* a label out of range */
  unsigned char rec[3073] = {10};
  write_bytes("cifar-10-batches-bin/test_batch.bin", rec, sizeof rec);
  ck_assert_ptr_null(tv_cifar10(dir, false));
  assert_error(TC_ERR_CORRUPT, "out of range");
  /* missing */
  clean();
  ck_assert_ptr_null(tv_cifar10(dir, false));
  assert_error(TC_ERR_IO, "test_batch.bin not found");
  ck_assert_ptr_null(tv_dataset_targets(NULL));
  LEAK_END;
}
END_TEST

START_TEST(test_cifar100) {
  LEAK_BEGIN;
  clean();
  make_dir("cifar-100-binary");
  write_cifar("cifar-100-binary/train.bin", 3, 2, 4, 0);
  td_dataset *fine = tv_cifar100(dir, true, false), *coarse = tv_cifar100(dir, true, true);
  ck_assert_msg(fine && coarse, "%s", tc_last_error());
  int64_t t;
  tc_tensor *x = sample_input(fine, 2, &t);
  ck_assert_int_eq(t, 6 * 7 % 100);
  ck_assert_int_eq(((const uint8_t *)tc_tensor_data(x))[0], 22);
  tc_tensor_release(x);
  x = sample_input(coarse, 2, &t);
  ck_assert_int_eq(t, 6);
  tc_tensor_release(x);
  td_release(fine);
  td_release(coarse);
  write_cifar("cifar-100-binary/train.bin", 3, 2, 4, 1);
  ck_assert_ptr_null(tv_cifar100(dir, true, false));
  assert_error(TC_ERR_CORRUPT, "3074-byte record");
  ck_assert_ptr_null(tv_cifar100(dir, false, false));
  assert_error(TC_ERR_IO, "test.bin");
  LEAK_END;
}
END_TEST

/* ---- ImageFolder ------------------------------------------------------------------------------------- */

static void write_fixture_jpeg(const char *rel, const char *which) {
  tc_scope_push();
  char n[64];
  snprintf(n, sizeof n, "jpeg_%s_bytes", which);
  tc_tensor *b = fx_load(FAM, n);
  write_bytes(rel, tc_tensor_data(b), (size_t)tc_tensor_numel(b));
  tc_scope_pop();
}

/* the tree of gen_vision_data's order check: classes cat, dog; nested folders, case, non-images */
static void make_tree(void) {
  clean();
  const char *dirs[] = {"root", "root/cat", "root/cat/sub", "root/cat/sub/inner", "root/cat/sub x", "root/cat/sub.x",
                        "root/dog"};
  for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) make_dir(dirs[i]);
  write_fixture_jpeg("root/cat/b.jpg", "rgb");
  write_fixture_jpeg("root/cat/A.JPG", "gray");
  write_bytes("root/cat/notes.txt", "x", 1);
  write_fixture_jpeg("root/cat/sub/z.jpeg", "rgb");
  write_fixture_jpeg("root/cat/sub.x/c.jpg", "rgb");
  write_fixture_jpeg("root/cat/sub x/d.jpg", "rgb");
  write_fixture_jpeg("root/cat/sub/inner/e.jpg", "rgb");
  write_bytes("root/cat/bad.png", "\x89PNG\r\n\x1a\n", 8);
  write_fixture_jpeg("root/dog/1.jpg", "rgb");
  write_bytes("root/.hidden", "x", 1);
  write_bytes("root/zfile.txt", "x", 1);
}

/* what torchvision's make_dataset lists for that tree (checked with torchvision) */
static const char *const expected_order[] = {"cat/A.JPG",       "cat/b.jpg",       "cat/bad.png",
                                             "cat/sub/z.jpeg",  "cat/sub x/d.jpg", "cat/sub.x/c.jpg",
                                             "cat/sub/inner/e.jpg", "dog/1.jpg"};

START_TEST(test_image_folder) {
  LEAK_BEGIN;
  make_tree();
  char root[512];
  path_of(root, sizeof root, "root");
  td_dataset *ds = tv_image_folder(root, NULL);
  ck_assert_msg(ds != NULL, "%s", tc_last_error());
  ck_assert_int_eq(td_len(ds), 8);
  ck_assert_int_eq(tv_folder_num_classes(ds), 2);
  ck_assert_str_eq(tv_folder_class_name(ds, 1), "dog");
  ck_assert_int_eq(tv_folder_class_index(ds, "cat"), 0);
  ck_assert_int_eq(tv_folder_class_index(ds, "cow"), -1);
  for (int i = 0; i < 8; i++) {
    char want[600];
    snprintf(want, sizeof want, "%s/%s", root, expected_order[i]);
    ck_assert_str_eq(tv_folder_sample_path(ds, i), want);
    ck_assert_int_eq(tv_folder_sample_target(ds, i), i == 7);
  }
  ck_assert_str_eq(tv_folder_sample_path(ds, -1), tv_folder_sample_path(ds, 7));
  ck_assert_ptr_null(tv_folder_sample_path(ds, 8));
  assert_error(TC_ERR_ARG, "out of range");
  tc_scope_push();
  /* pixels as torchvision's default_loader gives them (PIL, RGB); the gray file becomes RGB */
  int64_t t;
  tc_tensor *x = sample_input(ds, 1, &t);
  assert_close(x, fx_load(FAM, "jpeg_rgb_pixels"), 0, 1, "rgb jpeg");
  tc_tensor_release(x);
  x = sample_input(ds, 0, &t);
  assert_close(x, fx_load(FAM, "jpeg_gray_pixels"), 0, 1, "gray jpeg as rgb");
  tc_tensor_release(x);
  tc_scope_pop();
  /* a PNG cut after its signature: corrupt, and the error names the file */
  td_sample s;
  ck_assert_int_eq(td_get(ds, 2, &s, NULL), TC_ERR_CORRUPT);
  assert_error(TC_ERR_CORRUPT, "bad.png");
  td_release(ds);
  LEAK_END;
}
END_TEST

static bool only_e(const char *path, void *user) {
  (*(int *)user)++;
  size_t n = strlen(path);
  return n >= 5 && !strcmp(path + n - 5, "e.jpg");
}

static tc_tensor *size_loader(const char *path, void *user) {
  (void)user;
  struct stat st;
  if (stat(path, &st)) return NULL;
  return tc_full(SHAPE(1), 1, (double)st.st_size, TC_OPTS(.dtype = TC_I64));
}

START_TEST(test_dataset_folder) {
  LEAK_BEGIN;
  make_tree();
  char root[512];
  path_of(root, sizeof root, "root");
  /* extensions of our own, a loader of our own */
  tv_folder_options o = {.extensions = (const char *const[]){".txt", ".png"}, .n_extensions = 2,
                         .loader = size_loader};
  ck_assert_ptr_null(tv_dataset_folder(root, &o)); /* dog has neither */
  assert_error(TC_ERR_IO, "found no valid file for the classes dog. Supported extensions are: .txt, .png");
  o.allow_empty = true;
  td_dataset *ds = tv_dataset_folder(root, &o);
  ck_assert_msg(ds != NULL, "%s", tc_last_error());
  ck_assert_int_eq(td_len(ds), 2);
  ck_assert_str_eq(td_dataset_name(ds), "DatasetFolder");
  td_sample s;
  ck_assert_int_eq(td_get(ds, 1, &s, NULL), TC_OK);
  int64_t v;
  tc_item_int64(td_sample_field(&s, "input")->tensor, &v);
  ck_assert_int_eq(v, 1); /* notes.txt */
  td_sample_clear(&s);
  td_release(ds);
  /* is_valid_file: called with full paths */
  int calls = 0;
  tv_folder_options ov = {.is_valid_file = only_e, .valid_user = &calls, .allow_empty = true};
  ds = tv_dataset_folder(root, &ov);
  ck_assert_int_eq(td_len(ds), 1);
  ck_assert_int_eq(calls, 9);
  td_release(ds);
  /* argument errors */
  ov.extensions = o.extensions, ov.n_extensions = 2;
  ck_assert_ptr_null(tv_dataset_folder(root, &ov));
  assert_error(TC_ERR_ARG, "both extensions and is_valid_file cannot be given");
  ck_assert_ptr_null(tv_dataset_folder(root, &(tv_folder_options){0}));
  assert_error(TC_ERR_ARG, "cannot be missing");
  ck_assert_int_eq(tv_folder_num_classes(NULL), -1);
  /* empty class folder, no class folder, missing root */
  make_dir("root/emu");
  ck_assert_ptr_null(tv_image_folder(root, NULL));
  assert_error(TC_ERR_IO, "classes emu.");
  ds = tv_image_folder(root, &(tv_folder_options){.allow_empty = true});
  ck_assert_int_eq(tv_folder_num_classes(ds), 3);
  ck_assert_int_eq(td_len(ds), 8);
  td_release(ds);
  char sub[600];
  path_of(sub, sizeof sub, "root/cat/sub/inner");
  ck_assert_ptr_null(tv_image_folder(sub, NULL));
  assert_error(TC_ERR_IO, "couldn't find any class folder");
  path_of(sub, sizeof sub, "nowhere");
  ck_assert_ptr_null(tv_image_folder(sub, NULL));
  assert_error(TC_ERR_IO, "cannot open folder");
  LEAK_END;
}
END_TEST

static int fail_folder(void *ctx) {
  td_dataset *ds = tv_image_folder(ctx, NULL);
  if (!ds) return 1;
  td_release(ds);
  return 0;
}

START_TEST(test_folder_alloc_failures) {
  make_tree();
  char root[512];
  path_of(root, sizeof root, "root");
  check_alloc_failures(fail_folder, root, "tv_image_folder");
}
END_TEST

/* ---- FakeData --------------------------------------------------------------------------------------- */

START_TEST(test_fake_data) {
  LEAK_BEGIN;
  struct {
    const char *name;
    int64_t n, c, h, w, classes, offset;
  } cfg[] = {{"rgb", 4, 3, 5, 6, 10, 0}, {"gray", 3, 1, 4, 4, 3, 7}, {"big", 2, 3, 8, 9, 1000, 2},
           {"tiny", 3, 1, 3, 3, 5, 11}}; /* tiny: fewer than 16 values, randn's scalar path */
  for (int k = 0; k < 4; k++) {
    tc_scope_push();
    td_dataset *ds = tv_fake_data(cfg[k].n, (const int64_t[]){cfg[k].c, cfg[k].h, cfg[k].w}, cfg[k].classes,
                                  cfg[k].offset);
    ck_assert_msg(ds != NULL, "%s", tc_last_error());
    char n[64];
    snprintf(n, sizeof n, "fake_%s_images", cfg[k].name);
    tc_tensor *imgs = fx_load(FAM, n);
    snprintf(n, sizeof n, "fake_%s_targets", cfg[k].name);
    const int64_t *tg = tc_tensor_data(fx_load(FAM, n));
    for (int64_t i = 0; i < cfg[k].n; i++) {
      int64_t t;
      tc_tensor *x = sample_input(ds, i, &t);
      assert_equal(x, tc_select(imgs, 0, i), cfg[k].name);
      ck_assert_int_eq(t, tg[i]);
      tc_tensor_release(x);
    }
    td_release(ds);
    tc_scope_pop();
  }
  ck_assert_ptr_null(tv_fake_data(3, (const int64_t[]){2, 4, 4}, 10, 0));
  assert_error(TC_ERR_ARG, "C in {1, 3, 4}");
  LEAK_END;
}
END_TEST

int main(void) {
  snprintf(dir, sizeof dir, "%s/ctorch-vdata-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  if (!mkdtemp(dir)) return 1;
  Suite *s = suite_create("vision_datasets_vision");
  TCase *tc = tcase_create("datasets");
  tcase_add_test(tc, test_emnist);
  tcase_add_test(tc, test_qmnist);
  tcase_add_test(tc, test_kmnist);
  tcase_add_test(tc, test_cifar10);
  tcase_add_test(tc, test_cifar100);
  tcase_add_test(tc, test_image_folder);
  tcase_add_test(tc, test_dataset_folder);
  tcase_add_test(tc, test_folder_alloc_failures);
  tcase_add_test(tc, test_fake_data);
  suite_add_tcase(s, tc);
  int rc = run_suite(s);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) rc = 1;
  return rc;
}
