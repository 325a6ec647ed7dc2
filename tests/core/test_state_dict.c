/* tc_state_dict and safetensors files: the container (order, replace, remove, metadata, argument
 * errors); files written by PyTorch's safetensors package (safetensors.torch and .numpy, written by
 * gen_state_dict.py) load with the right values; ctorch writes byte-identical files for the same
 * dicts; round trips of every dtype, 0-d, empty and non-contiguous tensors; a ctorch-written
 * fixture that the generator checks in Python; corrupt and hostile inputs (clear error naming the
 * key or offset, no leak); file and save errors with the target left intact (atomic saves);
 * allocation failures; a deterministic mutation fuzz (run under ASan/UBSan).
 *
 * CTORCH_WRITE_FIXTURES=1 makes test_ctorch_written (re)write
 * tests/fixtures/state_dict/ctorch_written.safetensors for gen_state_dict.py to verify.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include "test_util.h"

/* ---- helpers ------------------------------------------------------------------------------- */

static void fixture_path(char *buf, size_t n, const char *name) {
  snprintf(buf, n, "%s/state_dict/%s.safetensors", CTORCH_FIXTURES_DIR, name);
}

/* A whole file in memory (malloc'd); NULL when it cannot be opened. */
static unsigned char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *b = malloc((size_t)n + 1);
  ck_assert_ptr_nonnull(b);
  ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  *len = (size_t)n;
  return b;
}

static unsigned char *read_fixture(const char *name, size_t *len) {
  char path[1024];
  fixture_path(path, sizeof path, name);
  unsigned char *b = read_file(path, len);
  ck_assert_msg(b != NULL, "cannot open %s", path);
  return b;
}

static tc_state_dict *load_fixture(const char *name) {
  char path[1024];
  fixture_path(path, sizeof path, name);
  tc_state_dict *sd = tc_state_dict_load(path);
  ck_assert_msg(sd != NULL, "%s: %s", name, tc_last_error());
  return sd;
}

static void write_file(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(data, 1, n, f), n);
  ck_assert_int_eq(fclose(f), 0);
}

/* The two files hold the same bytes. */
static void assert_same_file_msg(const char *got_path, const char *want_path, int line) {
  size_t ng, nw;
  unsigned char *g = read_file(got_path, &ng), *w = read_file(want_path, &nw);
  ck_assert_msg(g && w, "line %d: cannot read %s or %s", line, got_path, want_path);
  size_t i = 0;
  while (i < ng && i < nw && g[i] == w[i]) i++;
  ck_assert_msg(ng == nw && i == ng, "line %d: %s differs from %s at byte %zu (sizes %zu, %zu)", line, got_path,
                want_path, i, ng, nw);
  free(g);
  free(w);
}
#define assert_same_file(g, w) assert_same_file_msg((g), (w), __LINE__)

/* t has this dtype and shape and exactly these bytes (row-major): bitwise, so NaNs and -0 count. */
static void assert_bytes_msg(const tc_tensor *t, tc_dtype dtype, const int64_t *shape, int ndim, const void *data,
                             const char *what, int line) {
  ck_assert_msg(t != NULL, "line %d: %s: NULL: %s", line, what, tc_last_error());
  ck_assert_msg(tc_tensor_dtype(t) == dtype, "line %d: %s: dtype %s, expected %s", line, what,
                tc_dtype_name(tc_tensor_dtype(t)), tc_dtype_name(dtype));
  assert_shape_msg(t, shape, ndim, __FILE__, line);
  size_t nb = (size_t)tc_tensor_numel(t) * tc_dtype_size(dtype);
  unsigned char *buf = malloc(nb + 1);
  ck_assert_int_eq(tc_tensor_copy_to_buffer(t, buf, nb), TC_OK);
  ck_assert_msg(nb == 0 || memcmp(buf, data, nb) == 0, "line %d: %s: values differ", line, what);
  free(buf);
}
#define assert_bytes(t, dt, shape, ndim, data, what) assert_bytes_msg((t), (dt), (shape), (ndim), (data), (what), __LINE__)

/* a and b: same dtype, shape and bytes. */
static void assert_same_msg(const tc_tensor *a, const tc_tensor *b, const char *what, int line) {
  ck_assert_msg(a && b, "line %d: %s: NULL: %s", line, what, tc_last_error());
  size_t nb = (size_t)tc_tensor_numel(b) * tc_tensor_element_size(b);
  unsigned char *buf = malloc(nb + 1);
  ck_assert_int_eq(tc_tensor_copy_to_buffer(b, buf, nb), TC_OK);
  assert_bytes_msg(a, tc_tensor_dtype(b), tc_tensor_shape(b), (int)tc_tensor_ndim(b), buf, what, line);
  free(buf);
}
#define assert_same(a, b, what) assert_same_msg((a), (b), (what), __LINE__)

/* The tensor under `name` has these bytes. */
static void assert_entry_msg(const tc_state_dict *sd, const char *name, tc_dtype dtype, const int64_t *shape, int ndim,
                             const void *data, int line) {
  tc_tensor *t = tc_state_dict_get(sd, name);
  ck_assert_msg(t != NULL, "line %d: no '%s': %s", line, name, tc_last_error());
  assert_bytes_msg(t, dtype, shape, ndim, data, name, line);
  ck_assert_msg(tc_tensor_is_contiguous(t), "line %d: %s: not contiguous", line, name);
  tc_tensor_release(t);
}
#define assert_entry(sd, name, dt, shape, ndim, data) assert_entry_msg((sd), (name), (dt), (shape), (ndim), (data), __LINE__)

static void assert_keys_msg(const tc_state_dict *sd, const char *const *keys, int n, int line) {
  ck_assert_msg(tc_state_dict_size(sd) == n, "line %d: %lld keys, expected %d", line, (long long)tc_state_dict_size(sd), n);
  for (int i = 0; i < n; i++)
    ck_assert_msg(strcmp(tc_state_dict_key(sd, i), keys[i]) == 0, "line %d: key %d is '%s', expected '%s'", line, i,
                  tc_state_dict_key(sd, i), keys[i]);
}
#define assert_keys(sd, keys) assert_keys_msg((sd), (keys), (int)(sizeof(keys) / sizeof(keys[0])), __LINE__)

/* Inserts a new tensor built from data (the dict keeps the only reference). */
static void put(tc_state_dict *sd, const char *name, tc_dtype dtype, const int64_t *shape, int ndim, const void *data) {
  tc_tensor *t = tc_tensor_from_data(data, shape, ndim, dtype);
  ck_assert_msg(t != NULL, "%s: %s", name, tc_last_error());
  ck_assert_int_eq(tc_state_dict_set(sd, name, t), TC_OK);
  tc_tensor_release(t);
}

/* name -> arange(numel).reshape(shape) */
static void put_arange(tc_state_dict *sd, const char *name, tc_dtype dtype, const int64_t *shape, int ndim) {
  int64_t numel = 1;
  for (int d = 0; d < ndim; d++) numel *= shape[d];
  tc_tensor *a = tc_arange(0, (double)numel, 1, TC_OPTS(.dtype = dtype));
  tc_tensor *t = tc_reshape(a, shape, ndim);
  ck_assert_ptr_nonnull(t);
  ck_assert_int_eq(tc_state_dict_set(sd, name, t), TC_OK);
  tc_tensor_release(t);
  tc_tensor_release(a);
}

/* ---- expected values (gen_state_dict.py's BASE) ------------------------------------------------ */

static const float f32_vals[6] = {0.0f, -1.5f, 3.25f, INFINITY, -INFINITY, NAN};
static const double f64_vals[6] = {1e-300, -2.5, 1e300, NAN, 0.1, -0.0};
static const uint16_t f16_bits[6] = {0x3800, 0xc000, 0x7bff, 0x03ef, 0x7c00, 0x7e00};
static const uint16_t bf16_bits[6] = {0x3f80, 0xbc00, 0x4780, 0x7f80, 0xff80, 0x7fc0};
static const int64_t i64_vals[6] = {INT64_MIN, INT64_MAX, 0, 1, -1, 123456789012LL};
static const int32_t i32_vals[6] = {INT32_MIN, INT32_MAX, 0, 7, -7, 100000};
static const int16_t i16_vals[6] = {-32768, 32767, 0, 1, -1, 1234};
static const int8_t i8_vals[6] = {-128, 127, 0, 1, -1, 42};
static const uint8_t u8_vals[6] = {0, 255, 1, 128, 7, 200};
static const uint16_t u16_vals[6] = {0, 65535, 1, 32768, 7, 60000};
static const uint8_t bool_vals[6] = {1, 0, 1, 0, 0, 1};
static const float c64_vals[12] = {1, 2, -3.5f, -0.25f, 0, 0, 1e30f, -1e-30f, 0, 1, 0, 7};

static const struct {
  const char *name;    /* torch_dtypes / ctorch_written key suffix */
  const char *np_name; /* numpy fixture key */
  tc_dtype dtype;
  const void *vals;
} dtypes[] = {
    {"f32", "f4", TC_F32, f32_vals},   {"f64", "f8_big", TC_F64, f64_vals}, {"f16", "f2", TC_F16, f16_bits},
    {"bf16", NULL, TC_BF16, bf16_bits}, {"i64", "i8", TC_I64, i64_vals},     {"i32", "i4_big", TC_I32, i32_vals},
    {"i16", "i2", TC_I16, i16_vals},   {"i8", "i1", TC_I8, i8_vals},         {"u8", "u1", TC_U8, u8_vals},
    {"u16", "u2", TC_U16, u16_vals},   {"bool", "b1", TC_BOOL, bool_vals},   {"c64", "c8", TC_C64, c64_vals},
};
#define NDTYPES ((int)(sizeof dtypes / sizeof dtypes[0]))

static const char ESC_NAME[] = "esc\"ape\\d\t\n\x01/\x7f";
static const char CAFE_NAME[] = "caf\xc3\xa9.\xce\xb8\xf0\x9f\x98\x80";
static const char NOTE_KEY[] = "note\x1f";
static const char NOTE_VAL[] = "tab\there \xc3\xa9 \"q\"";

/* ---- temporary directory ----------------------------------------------------------------- */

static char tmpdir[64];

static void make_tmpdir(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/ctorch_sd_XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void remove_tmpdir(void) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "chmod -R u+w '%s'; rm -rf '%s'", tmpdir, tmpdir);
  ck_assert_int_eq(system(cmd), 0);
}

static void tmp_path(char *buf, size_t n, const char *name) { snprintf(buf, n, "%s/%s", tmpdir, name); }

/* Number of entries in dir (no temporary file may be left behind by a failed save). */
static int count_entries(const char *dir) {
  DIR *d = opendir(dir);
  ck_assert_ptr_nonnull(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
  closedir(d);
  return n;
}

/* ---- the container ---------------------------------------------------------------------------- */

START_TEST(test_container) {
  LEAK_BEGIN;
  tc_state_dict *sd = tc_state_dict_create();
  ck_assert_ptr_nonnull(sd);
  ck_assert_int_eq(tc_state_dict_size(sd), 0);
  tc_tensor *a = T_F32(SHAPE(2), 1, 1, 2), *b = T_I64(SHAPE(1), 1, 7), *c = T_F32(SHAPE(0), 1, 0);
  ck_assert_int_eq(tc_state_dict_set(sd, "fc.weight", a), TC_OK);
  ck_assert_int_eq(tc_state_dict_set(sd, "fc.bias", b), TC_OK);
  ck_assert_int_eq(tc_state_dict_set(sd, "alpha", c), TC_OK);
  const char *k3[] = {"fc.weight", "fc.bias", "alpha"};
  assert_keys(sd, k3);
  /* get: a new tensor sharing the stored tensor's storage */
  tc_tensor *g = tc_state_dict_get(sd, "fc.bias");
  ck_assert(g != b && tc_tensor_shares_storage(g, b));
  tc_tensor_release(g);
  ck_assert(tc_state_dict_contains(sd, "alpha"));
  ck_assert(!tc_state_dict_contains(sd, "beta"));
  ck_assert(!tc_state_dict_contains(sd, NULL));
  ck_assert(!tc_state_dict_contains(NULL, "alpha"));
  /* replacing keeps the position and releases the old tensor */
  ck_assert_int_eq(tc_state_dict_set(sd, "fc.weight", b), TC_OK);
  ck_assert_int_eq(tc_state_dict_set(sd, "fc.weight", b), TC_OK); /* same tensor again */
  assert_keys(sd, k3);
  g = tc_state_dict_get(sd, "fc.weight");
  ck_assert(tc_tensor_shares_storage(g, b));
  tc_tensor_release(g);
  /* the dict keeps its references after the caller's are gone */
  tc_tensor_release(a);
  tc_tensor_release(c);
  ck_assert_int_eq(tc_state_dict_remove(sd, "fc.bias"), TC_OK);
  const char *k2[] = {"fc.weight", "alpha"};
  assert_keys(sd, k2);
  g = tc_state_dict_get(sd, "alpha");
  assert_bytes(g, TC_F32, SHAPE(0), 1, NULL, "alpha");
  tc_tensor_release(g);
  /* errors */
  tc_clear_error();
  ck_assert_ptr_null(tc_state_dict_get(sd, "fc.bias"));
  assert_error(TC_ERR_ARG, "no key 'fc.bias'");
  assert_error(TC_ERR_ARG, "tc_state_dict_get");
  ck_assert_int_eq(tc_state_dict_remove(sd, "nope"), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "no key 'nope'");
  ck_assert_int_eq(tc_state_dict_set(sd, "", b), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "name is empty");
  ck_assert_int_eq(tc_state_dict_set(sd, NULL, b), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "name is NULL");
  ck_assert_int_eq(tc_state_dict_set(sd, "__metadata__", b), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "reserved");
  ck_assert_int_eq(tc_state_dict_set(sd, "bad\xff", b), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "not valid UTF-8");
  ck_assert_int_eq(tc_state_dict_set(sd, "over\xc0\x80long", b), TC_ERR_ARG);
  ck_assert_int_eq(tc_state_dict_set(sd, "surrogate\xed\xa0\x80", b), TC_ERR_ARG);
  ck_assert_int_eq(tc_state_dict_set(sd, "cut\xe2\x82", b), TC_ERR_ARG);
  ck_assert_int_eq(tc_state_dict_set(sd, "ok\xf4\x8f\xbf\xbf", b), TC_OK); /* U+10FFFF is fine */
  ck_assert_int_eq(tc_state_dict_set(sd, "big\xf4\x90\x80\x80", b), TC_ERR_ARG);
  /* a NULL tensor keeps the error that produced it */
  tc_clear_error();
  tc_tensor *bad = tc_reshape(b, SHAPE(5), 1);
  ck_assert_ptr_null(bad);
  ck_assert_int_eq(tc_state_dict_set(sd, "x", bad), TC_ERR_SHAPE);
  assert_error(TC_ERR_SHAPE, "tc_reshape");
  tc_clear_error();
  ck_assert_int_eq(tc_state_dict_set(NULL, "x", b), TC_ERR_ARG);
  ck_assert_ptr_null(tc_state_dict_get(NULL, "x"));
  ck_assert_ptr_null(tc_state_dict_get(sd, NULL));
  ck_assert_int_eq(tc_state_dict_remove(NULL, "x"), TC_ERR_ARG);
  ck_assert_int_eq(tc_state_dict_size(NULL), -1);
  ck_assert_ptr_null(tc_state_dict_key(sd, 3));
  assert_error(TC_ERR_ARG, "index 3 out of range");
  ck_assert_ptr_null(tc_state_dict_key(sd, -1));
  ck_assert_ptr_null(tc_state_dict_key(NULL, 0));
  tc_state_dict_destroy(NULL);
  tc_tensor_release(b);
  tc_state_dict_destroy(sd);
  LEAK_END;
}
END_TEST

START_TEST(test_metadata) {
  LEAK_BEGIN;
  tc_state_dict *sd = tc_state_dict_create();
  ck_assert_ptr_null(tc_state_dict_get_meta(sd, "epoch"));
  ck_assert_int_eq(tc_state_dict_set_meta(sd, "epoch", "3"), TC_OK);
  ck_assert_int_eq(tc_state_dict_set_meta(sd, "format", "pt"), TC_OK);
  ck_assert_int_eq(tc_state_dict_set_meta(sd, "empty", ""), TC_OK);
  ck_assert_str_eq(tc_state_dict_get_meta(sd, "epoch"), "3");
  ck_assert_str_eq(tc_state_dict_get_meta(sd, "empty"), "");
  ck_assert_int_eq(tc_state_dict_set_meta(sd, "epoch", "4"), TC_OK);
  ck_assert_str_eq(tc_state_dict_get_meta(sd, "epoch"), "4");
  ck_assert_int_eq(tc_state_dict_set_meta(sd, "format", NULL), TC_OK); /* NULL removes */
  ck_assert_ptr_null(tc_state_dict_get_meta(sd, "format"));
  ck_assert_int_eq(tc_state_dict_set_meta(sd, "absent", NULL), TC_OK);
  ck_assert_int_eq(tc_state_dict_set_meta(sd, NULL, "x"), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "key is NULL");
  ck_assert_int_eq(tc_state_dict_set_meta(sd, "", "x"), TC_ERR_ARG);
  ck_assert_int_eq(tc_state_dict_set_meta(sd, "k", "\xfe"), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "value");
  ck_assert_int_eq(tc_state_dict_set_meta(NULL, "k", "v"), TC_ERR_ARG);
  ck_assert_ptr_null(tc_state_dict_get_meta(NULL, "k"));
  ck_assert_ptr_null(tc_state_dict_get_meta(sd, NULL));
  ck_assert_int_eq(tc_state_dict_size(sd), 0); /* metadata is not an entry */
  tc_state_dict_destroy(sd);
  LEAK_END;
}
END_TEST

START_TEST(test_many_entries) {
  /* enough entries to grow the hash index several times, with removals in between */
  LEAK_BEGIN;
  tc_state_dict *sd = tc_state_dict_create();
  tc_tensor *t = T_F32(SHAPE(1), 1, 1);
  char name[32];
  for (int i = 0; i < 3000; i++) {
    snprintf(name, sizeof name, "layer%d.w", i);
    ck_assert_int_eq(tc_state_dict_set(sd, name, t), TC_OK);
  }
  for (int i = 0; i < 3000; i += 3) {
    snprintf(name, sizeof name, "layer%d.w", i);
    ck_assert_int_eq(tc_state_dict_remove(sd, name), TC_OK);
  }
  ck_assert_int_eq(tc_state_dict_size(sd), 2000);
  for (int i = 0; i < 3000; i++) {
    snprintf(name, sizeof name, "layer%d.w", i);
    ck_assert_int_eq(tc_state_dict_contains(sd, name), i % 3 != 0);
  }
  int64_t k = 0;
  for (int i = 0; i < 3000; i++) {
    if (i % 3 == 0) continue;
    snprintf(name, sizeof name, "layer%d.w", i);
    ck_assert_str_eq(tc_state_dict_key(sd, k++), name);
  }
  tc_tensor_release(t);
  tc_state_dict_destroy(sd);
  LEAK_END;
}
END_TEST

/* ---- files written by the safetensors package ------------------------------------------------ */

/* The keys of torch_dtypes in file order (offsets ascending: the package's save order). */
static const char *const torch_dtypes_order[] = {"w.i64", "w.f64", "w.c64", "w.f32", "w.i32", "w.bf16",
                                                 "w.f16", "w.u16", "w.i16", "w.i8",  "w.u8",  "w.bool"};

static void check_torch_dtypes(const tc_state_dict *sd) {
  assert_keys(sd, torch_dtypes_order);
  for (int i = 0; i < NDTYPES; i++) {
    char name[32];
    snprintf(name, sizeof name, "w.%s", dtypes[i].name);
    assert_entry(sd, name, dtypes[i].dtype, SHAPE(2, 3), 2, dtypes[i].vals);
  }
  ck_assert_str_eq(tc_state_dict_get_meta(sd, "format"), "pt");
}

START_TEST(test_torch_dtypes) {
  LEAK_BEGIN;
  tc_state_dict *sd = load_fixture("torch_dtypes");
  check_torch_dtypes(sd);
  tc_state_dict_destroy(sd);
  size_t len;
  unsigned char *b = read_fixture("torch_dtypes", &len);
  sd = tc_state_dict_load_buffer(b, len);
  ck_assert_msg(sd != NULL, "%s", tc_last_error());
  check_torch_dtypes(sd);
  tc_state_dict_destroy(sd);
  free(b);
  LEAK_END;
}
END_TEST

static float ar_f32[24];
static int64_t ar_i64[24];
static int16_t ar_i16[24];
static void fill_aranges(void) {
  for (int i = 0; i < 24; i++) ar_f32[i] = (float)i, ar_i64[i] = i, ar_i16[i] = (int16_t)i;
}

START_TEST(test_torch_shapes) {
  LEAK_BEGIN;
  fill_aranges();
  tc_state_dict *sd = load_fixture("torch_shapes");
  const char *order[] = {"empty_1d", "scalar_i64", "cube", "empty", ESC_NAME, "scalar", "vec", CAFE_NAME,
                         "cube_i16", "empty_mid"};
  assert_keys(sd, order);
  float half = 2.5f, v12[2] = {1, 2};
  int64_t m7 = -7;
  int32_t v34[2] = {3, 4};
  assert_entry(sd, "scalar", TC_F32, NULL, 0, &half);
  assert_entry(sd, "scalar_i64", TC_I64, NULL, 0, &m7);
  assert_entry(sd, "empty", TC_F32, SHAPE(0, 3), 2, NULL);
  assert_entry(sd, "empty_1d", TC_I64, SHAPE(0), 1, NULL);
  assert_entry(sd, "empty_mid", TC_U8, SHAPE(1, 0, 2), 3, NULL);
  assert_entry(sd, "vec", TC_F32, SHAPE(5), 1, ar_f32);
  assert_entry(sd, "cube", TC_F32, SHAPE(2, 3, 4), 3, ar_f32);
  assert_entry(sd, "cube_i16", TC_I16, SHAPE(4, 3, 2), 3, ar_i16);
  assert_entry(sd, ESC_NAME, TC_F32, SHAPE(2), 1, v12);
  assert_entry(sd, CAFE_NAME, TC_I32, SHAPE(2), 1, v34);
  ck_assert_str_eq(tc_state_dict_get_meta(sd, NOTE_KEY), NOTE_VAL);
  tc_state_dict_destroy(sd);
  LEAK_END;
}
END_TEST

START_TEST(test_numpy_written) {
  LEAK_BEGIN;
  tc_state_dict *sd = load_fixture("numpy");
  for (int i = 0; i < NDTYPES; i++) {
    if (!dtypes[i].np_name) continue; /* NumPy has no bfloat16 */
    assert_entry(sd, dtypes[i].np_name, dtypes[i].dtype, SHAPE(2, 3), 2, dtypes[i].vals);
  }
  float half = 2.5f;
  assert_entry(sd, "zero_d", TC_F32, NULL, 0, &half);
  assert_entry(sd, "empty", TC_F32, SHAPE(0, 3), 2, NULL);
  ck_assert_str_eq(tc_state_dict_get_meta(sd, "source"), "numpy");
  ck_assert_int_eq(tc_state_dict_size(sd), 13);
  tc_state_dict_destroy(sd);
  LEAK_END;
}
END_TEST

START_TEST(test_no_meta_and_empty) {
  LEAK_BEGIN;
  tc_state_dict *sd = load_fixture("torch_no_meta");
  const char *order[] = {"b", "a"};
  assert_keys(sd, order);
  double ones[3] = {1, 1, 1};
  float zeros[4] = {0};
  assert_entry(sd, "b", TC_F64, SHAPE(3), 1, ones);
  assert_entry(sd, "a", TC_F32, SHAPE(2, 2), 2, zeros);
  ck_assert_ptr_null(tc_state_dict_get_meta(sd, "format"));
  tc_state_dict_destroy(sd);
  sd = load_fixture("torch_empty");
  ck_assert_int_eq(tc_state_dict_size(sd), 0);
  tc_state_dict_destroy(sd);
  LEAK_END;
}
END_TEST

/* ---- byte equality with the package's files ------------------------------------------------- */

/* The dicts gen_state_dict.py saves, built here in an insertion order unlike the file order. */
static tc_state_dict *make_torch_dtypes(void) {
  tc_state_dict *sd = tc_state_dict_create();
  for (int i = NDTYPES - 1; i >= 0; i--) {
    char name[32];
    snprintf(name, sizeof name, "w.%s", dtypes[i].name);
    put(sd, name, dtypes[i].dtype, SHAPE(2, 3), 2, dtypes[i].vals);
  }
  ck_assert_int_eq(tc_state_dict_set_meta(sd, "format", "pt"), TC_OK);
  return sd;
}

static tc_state_dict *make_torch_shapes(void) {
  tc_state_dict *sd = tc_state_dict_create();
  float v12[2] = {1, 2}, half = 2.5f;
  int32_t v34[2] = {3, 4};
  int64_t m7 = -7;
  ck_assert_int_eq(tc_state_dict_set_meta(sd, NOTE_KEY, NOTE_VAL), TC_OK);
  put(sd, CAFE_NAME, TC_I32, SHAPE(2), 1, v34);
  put(sd, ESC_NAME, TC_F32, SHAPE(2), 1, v12);
  put_arange(sd, "cube_i16", TC_I16, SHAPE(4, 3, 2), 3);
  put_arange(sd, "cube", TC_F32, SHAPE(2, 3, 4), 3);
  put_arange(sd, "vec", TC_F32, SHAPE(5), 1);
  put(sd, "empty_mid", TC_U8, SHAPE(1, 0, 2), 3, NULL);
  put(sd, "empty_1d", TC_I64, SHAPE(0), 1, NULL);
  put(sd, "empty", TC_F32, SHAPE(0, 3), 2, NULL);
  put(sd, "scalar_i64", TC_I64, NULL, 0, &m7);
  put(sd, "scalar", TC_F32, NULL, 0, &half);
  return sd;
}

static tc_state_dict *make_numpy(void) {
  tc_state_dict *sd = tc_state_dict_create();
  float half = 2.5f;
  put(sd, "zero_d", TC_F32, NULL, 0, &half);
  put(sd, "empty", TC_F32, SHAPE(0, 3), 2, NULL);
  for (int i = 0; i < NDTYPES; i++)
    if (dtypes[i].np_name) put(sd, dtypes[i].np_name, dtypes[i].dtype, SHAPE(2, 3), 2, dtypes[i].vals);
  ck_assert_int_eq(tc_state_dict_set_meta(sd, "source", "numpy"), TC_OK);
  return sd;
}

static tc_state_dict *make_no_meta(void) {
  tc_state_dict *sd = tc_state_dict_create();
  double ones[3] = {1, 1, 1};
  float zeros[4] = {0};
  put(sd, "a", TC_F32, SHAPE(2, 2), 2, zeros);
  put(sd, "b", TC_F64, SHAPE(3), 1, ones);
  return sd;
}

START_TEST(test_same_bytes_as_package) {
  make_tmpdir();
  LEAK_BEGIN;
  struct {
    const char *fixture;
    tc_state_dict *(*make)(void);
  } cases[] = {{"torch_dtypes", make_torch_dtypes}, {"torch_shapes", make_torch_shapes}, {"numpy", make_numpy},
               {"torch_no_meta", make_no_meta},     {"torch_empty", tc_state_dict_create}};
  char got[512], want[1024];
  tmp_path(got, sizeof got, "out.safetensors");
  for (int i = 0; i < 5; i++) {
    fixture_path(want, sizeof want, cases[i].fixture);
    /* built from scratch */
    tc_state_dict *sd = cases[i].make();
    ck_assert_int_eq(tc_state_dict_save(sd, got), TC_OK);
    assert_same_file(got, want);
    tc_state_dict_destroy(sd);
    /* loaded and saved again: the same file */
    sd = tc_state_dict_load(want);
    ck_assert_ptr_nonnull(sd);
    ck_assert_int_eq(tc_state_dict_save(sd, got), TC_OK);
    assert_same_file(got, want);
    tc_state_dict_destroy(sd);
  }
  ck_assert_int_eq(count_entries(tmpdir), 1); /* no temporary left behind */
  LEAK_END;
  remove_tmpdir();
}
END_TEST

/* ---- round trips ---------------------------------------------------------------------------- */

START_TEST(test_round_trip_every_dtype) {
  /* per dtype: 2x3 values, a 0-d element, an empty tensor, a transposed view, an expanded view
   * (stride 0), a strided slice; all come back contiguous with the same values */
  make_tmpdir();
  LEAK_BEGIN;
  char path[512];
  tmp_path(path, sizeof path, "rt.safetensors");
  int i = _i;
  tc_tensor *base = tc_tensor_from_data(dtypes[i].vals, SHAPE(2, 3), 2, dtypes[i].dtype);
  tc_tensor *row = tc_select(base, 0, 1);
  tc_tensor *zero_d = tc_select(row, 0, 2);
  tc_tensor *empty = tc_empty(SHAPE(0, 2), 2, TC_OPTS(.dtype = dtypes[i].dtype));
  tc_tensor *tr = tc_t(base);
  tc_tensor *row1 = tc_unsqueeze(row, 0);
  tc_tensor *ex = tc_expand(row1, SHAPE(4, 3), 2);
  tc_tensor *sl = tc_slice(base, 1, 0, TC_END, 2);
  ck_assert(!tc_tensor_is_contiguous(tr) && !tc_tensor_is_contiguous(ex) && !tc_tensor_is_contiguous(sl));
  tc_tensor *ts[] = {base, zero_d, empty, tr, ex, sl};
  const char *names[] = {"base", "zero_d", "empty", "transposed", "expanded", "sliced"};
  tc_state_dict *sd = tc_state_dict_create();
  for (int k = 0; k < 6; k++) ck_assert_int_eq(tc_state_dict_set(sd, names[k], ts[k]), TC_OK);
  ck_assert_int_eq(tc_state_dict_set_meta(sd, "dtype", dtypes[i].name), TC_OK);
  ck_assert_int_eq(tc_state_dict_save(sd, path), TC_OK);
  tc_state_dict *back = tc_state_dict_load(path);
  ck_assert_msg(back != NULL, "%s", tc_last_error());
  ck_assert_int_eq(tc_state_dict_size(back), 6);
  for (int k = 0; k < 6; k++) {
    tc_tensor *g = tc_state_dict_get(back, names[k]);
    assert_same(g, ts[k], names[k]);
    ck_assert(tc_tensor_is_contiguous(g));
    tc_tensor_release(g);
  }
  ck_assert_str_eq(tc_state_dict_get_meta(back, "dtype"), dtypes[i].name);
  /* saving over an existing file replaces it */
  ck_assert_int_eq(tc_state_dict_remove(back, "base"), TC_OK);
  ck_assert_int_eq(tc_state_dict_save(back, path), TC_OK);
  tc_state_dict *again = tc_state_dict_load(path);
  ck_assert_int_eq(tc_state_dict_size(again), 5);
  ck_assert(!tc_state_dict_contains(again, "base"));
  tc_state_dict_destroy(again);
  tc_state_dict_destroy(back);
  tc_state_dict_destroy(sd);
  for (int k = 0; k < 6; k++) tc_tensor_release(ts[k]);
  tc_tensor_release(row);
  tc_tensor_release(row1);
  ck_assert_int_eq(count_entries(tmpdir), 1);
  LEAK_END;
  remove_tmpdir();
}
END_TEST

START_TEST(test_scope_and_sharing) {
  /* loading inside a scope: the dict owns its tensors, the pop frees none of them; two keys
   * sharing one storage are written as two tensors */
  make_tmpdir();
  LEAK_BEGIN;
  char path[512];
  tmp_path(path, sizeof path, "s.safetensors");
  tc_tensor *w = T_F32(SHAPE(2, 2), 2, 1, 2, 3, 4);
  tc_tensor *wt = tc_t(w);
  tc_state_dict *sd = tc_state_dict_create();
  tc_state_dict_set(sd, "w", w);
  tc_state_dict_set(sd, "w_t", wt);
  ck_assert_int_eq(tc_state_dict_save(sd, path), TC_OK);
  tc_scope_push();
  tc_state_dict *back = tc_state_dict_load(path);
  tc_tensor *tmp = tc_mul(w, w); /* an unrelated temporary, freed by the pop */
  (void)tmp;
  tc_scope_pop();
  ck_assert_ptr_nonnull(back);
  tc_tensor *g = tc_state_dict_get(back, "w_t");
  assert_same(g, wt, "w_t");
  tc_tensor_release(g);
  g = tc_state_dict_get(back, "w");
  assert_same(g, w, "w");
  tc_tensor_release(g);
  /* saving inside a scope leaves nothing for the scope (the host copies are released) */
  tc_scope_push();
  ck_assert_int_eq(tc_state_dict_save(sd, path), TC_OK);
  tc_scope_pop();
  tc_state_dict_destroy(back);
  tc_state_dict_destroy(sd);
  tc_tensor_release(wt);
  tc_tensor_release(w);
  LEAK_END;
  remove_tmpdir();
}
END_TEST

START_TEST(test_bool_bytes_and_lenient_headers) {
  /* bool bytes other than 0/1 load as 1; what the package accepts loads here too: null metadata,
   * unknown fields, whitespace around the JSON, unpadded headers, zero-size tensors at any
   * offset (sorted as the package sorts: by offsets, then header order) */
  LEAK_BEGIN;
  const char *hdrs[] = {
      "{\"b\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[0,3]},\"__metadata__\":null}",
      "  {\"b\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[0,3],\"extra\":[1,{}]}}\n\t ",
      "{\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[3,3]},\"b\":{\"dtype\":\"BOOL\",\"shape\":[3],"
      "\"data_offsets\":[0,3]},\"a\":{\"dtype\":\"I64\",\"shape\":[0,5],\"data_offsets\":[0,0]}}",
  };
  unsigned char raw[3] = {0, 2, 255}, want[3] = {0, 1, 1};
  for (int i = 0; i < 3; i++) {
    size_t hl = strlen(hdrs[i]), len = 8 + hl + 3;
    unsigned char *b = malloc(len);
    for (int k = 0; k < 8; k++) b[k] = (unsigned char)((uint64_t)hl >> (8 * k));
    memcpy(b + 8, hdrs[i], hl);
    memcpy(b + 8 + hl, raw, 3);
    tc_state_dict *sd = tc_state_dict_load_buffer(b, len);
    ck_assert_msg(sd != NULL, "%s: %s", hdrs[i], tc_last_error());
    assert_entry(sd, "b", TC_BOOL, SHAPE(3), 1, want);
    if (i == 2) {
      const char *order[] = {"a", "b", "z"};
      assert_keys(sd, order);
      assert_entry(sd, "a", TC_I64, SHAPE(0, 5), 2, NULL);
    }
    tc_state_dict_destroy(sd);
    free(b);
  }
  LEAK_END;
}
END_TEST

/* ---- a ctorch-written fixture, checked in Python by gen_state_dict.py ------------------------ */

static tc_state_dict *make_ctorch_written(void) {
  fill_aranges();
  tc_state_dict *sd = tc_state_dict_create();
  ck_assert_int_eq(tc_state_dict_set_meta(sd, "zeta", "last key first"), TC_OK);
  ck_assert_int_eq(tc_state_dict_set_meta(sd, "epoch", "3"), TC_OK);
  ck_assert_int_eq(tc_state_dict_set_meta(sd, NOTE_KEY, NOTE_VAL), TC_OK);
  for (int i = 0; i < NDTYPES; i++) {
    char name[32];
    snprintf(name, sizeof name, "w.%s", dtypes[i].name);
    put(sd, name, dtypes[i].dtype, SHAPE(2, 3), 2, dtypes[i].vals);
  }
  tc_tensor *cube = tc_tensor_from_data(ar_f32, SHAPE(2, 3, 4), 3, TC_F32);
  tc_tensor *p = tc_permute(cube, SHAPE(2, 0, 1), 3);
  tc_tensor *v = tc_slice(p, 0, 1, TC_END, 2); /* cube.permute(2, 0, 1)[1::2]: (2, 2, 3) */
  ck_assert(!tc_tensor_is_contiguous(v));
  ck_assert_int_eq(tc_state_dict_set(sd, "view", v), TC_OK);
  tc_tensor_release(v);
  tc_tensor_release(p);
  tc_tensor_release(cube);
  float half = 2.5f, v12[2] = {1, 2};
  int32_t v34[2] = {3, 4};
  put(sd, "scalar", TC_F32, NULL, 0, &half);
  put(sd, "empty", TC_F32, SHAPE(0, 3), 2, NULL);
  put(sd, ESC_NAME, TC_F32, SHAPE(2), 1, v12);
  put(sd, CAFE_NAME, TC_I32, SHAPE(2), 1, v34);
  return sd;
}

START_TEST(test_ctorch_written) {
  make_tmpdir();
  LEAK_BEGIN;
  char got[512], want[1024];
  tmp_path(got, sizeof got, "c.safetensors");
  fixture_path(want, sizeof want, "ctorch_written");
  tc_state_dict *sd = make_ctorch_written();
  const char *w = getenv("CTORCH_WRITE_FIXTURES");
  if (w && *w && strcmp(w, "0") != 0) ck_assert_int_eq(tc_state_dict_save(sd, want), TC_OK);
  ck_assert_int_eq(tc_state_dict_save(sd, got), TC_OK);
  assert_same_file(got, want); /* the committed file is what this code writes */
  tc_state_dict_destroy(sd);
  /* it loads back with the metadata order kept */
  sd = tc_state_dict_load(want);
  ck_assert_ptr_nonnull(sd);
  ck_assert_str_eq(tc_state_dict_get_meta(sd, "zeta"), "last key first");
  ck_assert_str_eq(tc_state_dict_get_meta(sd, NOTE_KEY), NOTE_VAL);
  float vview[12] = {1, 5, 9, 13, 17, 21, 3, 7, 11, 15, 19, 23};
  assert_entry(sd, "view", TC_F32, SHAPE(2, 2, 3), 3, vview);
  ck_assert_int_eq(tc_state_dict_save(sd, got), TC_OK);
  assert_same_file(got, want);
  tc_state_dict_destroy(sd);
  LEAK_END;
  remove_tmpdir();
}
END_TEST

START_TEST(test_cuda_tensors) {
  /* CUDA tensors (contiguous and transposed) are copied to the host when saved. Runs where a
   * device is present; CTORCH_REQUIRE_CUDA=1 makes a missing device a failure. */
  if (!tc_cuda_is_available()) {
    ck_assert_msg(!getenv("CTORCH_REQUIRE_CUDA"), "no CUDA device: %s", tc_last_error());
    return;
  }
  make_tmpdir();
  char path[512];
  tmp_path(path, sizeof path, "cuda.safetensors");
  tc_tensor *a = tc_tensor_from_data(f64_vals, SHAPE(2, 3), 2, TC_F64);
  tc_tensor *g = tc_tensor_to(a, tc_cuda(0));
  ck_assert_msg(g != NULL, "%s", tc_last_error());
  tc_tensor *gt = tc_t(g);
  tc_state_dict *sd = tc_state_dict_create();
  ck_assert_int_eq(tc_state_dict_set(sd, "g", g), TC_OK);
  ck_assert_int_eq(tc_state_dict_set(sd, "gt", gt), TC_OK);
  tc_tensor *sl = tc_slice(g, 1, 1, TC_END, 2); /* a view that does not start the storage: (2, 1) */
  ck_assert_int_eq(tc_state_dict_set(sd, "sl", sl), TC_OK);
  tc_tensor *e = tc_empty(SHAPE(0, 3), 2, TC_OPTS(.dtype = TC_F64, .device = tc_cuda(0)));
  ck_assert_int_eq(tc_state_dict_set(sd, "empty", e), TC_OK);
  LEAK_BEGIN;
  ck_assert_msg(tc_state_dict_save(sd, path) == TC_OK, "%s", tc_last_error());
  LEAK_END;
  tc_state_dict *back = tc_state_dict_load(path);
  ck_assert_ptr_nonnull(back);
  tc_tensor *x = tc_state_dict_get(back, "g");
  assert_same(x, a, "g");
  tc_tensor_release(x);
  tc_tensor *at = tc_t(a);
  x = tc_state_dict_get(back, "gt");
  assert_same(x, at, "gt");
  tc_tensor_release(x);
  tc_tensor_release(at);
  double want_sl[2] = {f64_vals[1], f64_vals[4]};
  assert_entry(back, "sl", TC_F64, SHAPE(2, 1), 2, want_sl);
  assert_entry(back, "empty", TC_F64, SHAPE(0, 3), 2, NULL);
  tc_tensor_release(e);
  tc_tensor_release(sl);
  tc_state_dict_destroy(back);
  tc_state_dict_destroy(sd);
  tc_tensor_release(gt);
  tc_tensor_release(g);
  tc_tensor_release(a);
  remove_tmpdir();
}
END_TEST

/* ---- corrupt and hostile input --------------------------------------------------------------- */

/* A safetensors image: 8-byte length, the header text, then dlen bytes of data (i % 251). */
static unsigned char *make_st(const char *hdr, size_t hl, size_t dlen, size_t *len) {
  *len = 8 + hl + dlen;
  unsigned char *b = malloc(*len + 1);
  ck_assert_ptr_nonnull(b);
  for (int k = 0; k < 8; k++) b[k] = (unsigned char)((uint64_t)hl >> (8 * k));
  memcpy(b + 8, hdr, hl);
  for (size_t i = 0; i < dlen; i++) b[8 + hl + i] = (unsigned char)(i % 251);
  return b;
}

static void expect_buffer_error_msg(const unsigned char *b, size_t len, tc_status code, const char *needle,
                                    const char *needle2, const char *what, int line) {
  LEAK_BEGIN;
  tc_clear_error();
  tc_state_dict *sd = tc_state_dict_load_buffer(b, len);
  ck_assert_msg(sd == NULL, "line %d: %s: loaded", line, what);
  const char *m = tc_last_error();
  ck_assert_msg(tc_last_status() == code, "line %d: %s: status %s (%s)", line, what, tc_status_name(tc_last_status()), m);
  ck_assert_msg(strstr(m, needle) != NULL, "line %d: %s: message '%s' lacks '%s'", line, what, m, needle);
  ck_assert_msg(!needle2 || strstr(m, needle2) != NULL, "line %d: %s: message '%s' lacks '%s'", line, what, m, needle2);
  ck_assert_msg(strstr(m, "tc_state_dict_load_buffer") != NULL, "line %d: %s: message '%s'", line, what, m);
  LEAK_END;
}

static void expect_header_error_msg(const char *hdr, size_t dlen, tc_status code, const char *needle,
                                    const char *needle2, int line) {
  size_t len;
  unsigned char *b = make_st(hdr, strlen(hdr), dlen, &len);
  expect_buffer_error_msg(b, len, code, needle, needle2, hdr, line);
  free(b);
}
#define expect_header_error(hdr, dlen, code, needle, needle2) \
  expect_header_error_msg((hdr), (dlen), (code), (needle), (needle2), __LINE__)
#define expect_buffer_error(b, len, code, needle, what) expect_buffer_error_msg((b), (len), (code), (needle), NULL, (what), __LINE__)

/* {"x": {<entry>}} */
#define X(entry) "{\"x\":{" entry "}}"
#define F32_2 "\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]"

START_TEST(test_corrupt_prefix) {
  size_t len;
  unsigned char *good = read_fixture("torch_dtypes", &len);
  expect_buffer_error(good, 0, TC_ERR_CORRUPT, "too short", "empty");
  expect_buffer_error(good, 7, TC_ERR_CORRUPT, "too short", "7 bytes");
  expect_buffer_error(good, 8, TC_ERR_CORRUPT, "runs past the end", "length only");
  expect_buffer_error(good, 100, TC_ERR_CORRUPT, "runs past the end", "header cut");
  expect_buffer_error(good, len - 1, TC_ERR_CORRUPT, "out of range", "data cut by one byte");
  unsigned char *b = malloc(len);
  memcpy(b, good, len);
  b[7] = 0x80; /* 2^63 + n */
  expect_buffer_error(b, len, TC_ERR_CORRUPT, "runs past the end", "huge length");
  memset(b, 0xff, 8);
  expect_buffer_error(b, len, TC_ERR_CORRUPT, "runs past the end", "all-ones length");
  memcpy(b, good, len);
  b[0] -= 8; /* a shorter header: the JSON is cut */
  expect_buffer_error(b, len, TC_ERR_CORRUPT, "invalid JSON header", "short length");
  memcpy(b, good, len);
  b[0] += 8; /* a longer header: data bytes read as JSON */
  expect_buffer_error(b, len, TC_ERR_CORRUPT, "invalid JSON header", "long length");
  ck_assert_ptr_null(tc_state_dict_load_buffer(NULL, 10));
  assert_error(TC_ERR_ARG, "data is NULL");
  free(b);
  free(good);
}
END_TEST

START_TEST(test_corrupt_headers) {
  /* a valid baseline */
  {
    LEAK_BEGIN;
    size_t len;
    unsigned char *b = make_st(X(F32_2), strlen(X(F32_2)), 8, &len);
    tc_state_dict *sd = tc_state_dict_load_buffer(b, len);
    ck_assert_msg(sd != NULL, "%s", tc_last_error());
    tc_state_dict_destroy(sd);
    free(b);
    LEAK_END;
  }
  /* JSON */
  expect_header_error("{\"x\":", 0, TC_ERR_CORRUPT, "invalid JSON header at byte", NULL);
  expect_header_error("", 0, TC_ERR_CORRUPT, "invalid JSON header", NULL);
  expect_header_error("{} x", 0, TC_ERR_CORRUPT, "invalid JSON header at byte", NULL);
  expect_header_error("{\"x\":{" F32_2 "},}", 8, TC_ERR_CORRUPT, "invalid JSON header", NULL);
  expect_header_error("[1, 2]", 0, TC_ERR_CORRUPT, "not a JSON object", NULL);
  expect_header_error("\"x\"", 0, TC_ERR_CORRUPT, "invalid JSON header", NULL);
  expect_header_error("{\"x\":{" F32_2 "},\"x\":{" F32_2 "}}", 8, TC_ERR_CORRUPT, "duplicate", "x");
  expect_header_error("{\"x\\u0000y\":{" F32_2 "}}", 8, TC_ERR_CORRUPT, "invalid JSON header", NULL);
  expect_header_error("{\"x\xff\":{" F32_2 "}}", 8, TC_ERR_CORRUPT, "invalid JSON header", NULL);
  expect_header_error("{\"x\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,8]}}", 8,
                      TC_ERR_CORRUPT, "invalid JSON header", NULL);
  {
    size_t len;
    const char hdr[] = "{\"x\":{" F32_2 "}}\0\0\0\0\0";
    unsigned char *b = make_st(hdr, sizeof hdr - 1, 8, &len);
    expect_buffer_error(b, len, TC_ERR_CORRUPT, "invalid JSON header", "NUL padding");
    free(b);
    /* nested arrays 100000 deep: the parser's depth limit, not the stack */
    size_t depth = 100000;
    char *deep = malloc(2 * depth + 16);
    size_t n = 0;
    deep[n++] = '{';
    memcpy(deep + n, "\"x\":", 4);
    n += 4;
    for (size_t i = 0; i < depth; i++) deep[n++] = '[';
    for (size_t i = 0; i < depth; i++) deep[n++] = ']';
    deep[n++] = '}';
    b = make_st(deep, n, 0, &len);
    expect_buffer_error(b, len, TC_ERR_CORRUPT, "invalid JSON header", "deep nesting");
    free(b);
    free(deep);
  }
  /* entries */
  expect_header_error("{\"x\":3}", 0, TC_ERR_CORRUPT, "tensor 'x': entry is not a JSON object", NULL);
  expect_header_error(X("\"shape\":[2],\"data_offsets\":[0,8]"), 8, TC_ERR_CORRUPT, "'x': no 'dtype'", NULL);
  expect_header_error(X("\"dtype\":4,\"shape\":[2],\"data_offsets\":[0,8]"), 8, TC_ERR_CORRUPT, "'dtype' is not a string",
                      "'x'");
  expect_header_error(X("\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]"), 8, TC_ERR_CORRUPT,
                      "unknown dtype 'F33'", "'x'");
  expect_header_error(X("\"dtype\":\"f32\",\"shape\":[2],\"data_offsets\":[0,8]"), 8, TC_ERR_CORRUPT, "unknown dtype", NULL);
  expect_header_error(X("\"dtype\":\"U32\",\"shape\":[2],\"data_offsets\":[0,8]"), 8, TC_ERR_UNSUPPORTED,
                      "dtype U32 is not supported", "'x'");
  expect_header_error(X("\"dtype\":\"F8_E4M3\",\"shape\":[8],\"data_offsets\":[0,8]"), 8, TC_ERR_UNSUPPORTED,
                      "dtype F8_E4M3", NULL);
  expect_header_error(X("\"dtype\":\"U64\",\"shape\":[1],\"data_offsets\":[0,8]"), 8, TC_ERR_UNSUPPORTED, "U64", NULL);
  /* shapes */
  expect_header_error(X("\"dtype\":\"F32\",\"data_offsets\":[0,8]"), 8, TC_ERR_CORRUPT, "no 'shape' array", "'x'");
  expect_header_error(X("\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]"), 8, TC_ERR_CORRUPT, "no 'shape' array", NULL);
  expect_header_error(X("\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]"), 8, TC_ERR_CORRUPT,
                      "shape[0] is not a non-negative integer", "'x'");
  expect_header_error(X("\"dtype\":\"F32\",\"shape\":[1,2.0],\"data_offsets\":[0,8]"), 8, TC_ERR_CORRUPT,
                      "shape[1] is not", NULL);
  expect_header_error(X("\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]"), 8, TC_ERR_CORRUPT, "shape[0]", NULL);
  expect_header_error(X("\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,2],\"data_offsets\":[0,8]"), 8,
                      TC_ERR_UNSUPPORTED, "has 17 dims", "'x'");
  /* huge shapes: overflowing products (even beside a zero), more elements than bytes */
  expect_header_error(X("\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,8]"), 8,
                      TC_ERR_CORRUPT, "too large", "'x'");
  expect_header_error(X("\"dtype\":\"F64\",\"shape\":[0,4294967296,4294967296],\"data_offsets\":[0,0]"), 0,
                      TC_ERR_CORRUPT, "too large", NULL);
  expect_header_error(X("\"dtype\":\"F32\",\"shape\":[9223372036854775807],\"data_offsets\":[0,8]"), 8,
                      TC_ERR_CORRUPT, "too large", NULL);
  expect_header_error(X("\"dtype\":\"F32\",\"shape\":[1000000000,1000000000],\"data_offsets\":[0,8]"), 8,
                      TC_ERR_CORRUPT, "needs 4000000000000000000", "'x'");
  /* offsets */
  expect_header_error(X("\"dtype\":\"F32\",\"shape\":[2]"), 8, TC_ERR_CORRUPT, "'data_offsets' is not a pair", "'x'");
  expect_header_error(X("\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]"), 8, TC_ERR_CORRUPT, "not a pair", NULL);
  expect_header_error(X("\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,8]"), 8, TC_ERR_CORRUPT, "not a pair", NULL);
  expect_header_error(X("\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]"), 8, TC_ERR_CORRUPT, "not a pair", NULL);
  expect_header_error(X("\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":{\"a\":0}"), 8, TC_ERR_CORRUPT, "not a pair", NULL);
  expect_header_error(X("\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]"), 8, TC_ERR_CORRUPT,
                      "[8, 0] end before they begin", "'x'");
  expect_header_error(X("\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]"), 4, TC_ERR_CORRUPT,
                      "[0, 8] out of range for a 4-byte data buffer", "'x'");
  expect_header_error(X("\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[18446744073709551608,0]"), 8, TC_ERR_CORRUPT,
                      "invalid JSON header", NULL);
  expect_header_error(X("\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]"), 8, TC_ERR_CORRUPT,
                      "hold 8 bytes, but shape [3] of F32 needs 12", "'x'");
  expect_header_error(X("\"dtype\":\"C64\",\"shape\":[2],\"data_offsets\":[0,8]"), 8, TC_ERR_CORRUPT,
                      "shape [2] of C64 needs 16", NULL);
  /* coverage of the data buffer: overlap, gaps (leading, inner), trailing bytes */
  expect_header_error("{\"x\":{" F32_2 "},\"y\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12,
                      TC_ERR_CORRUPT, "tensor 'y': data_offsets [4, 12] overlap tensor 'x'", NULL);
  expect_header_error("{\"x\":{" F32_2 "},\"y\":{" F32_2 "}}", 8, TC_ERR_CORRUPT, "overlap", NULL);
  expect_header_error("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                      "\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
                      12, TC_ERR_CORRUPT, "gap in the data buffer: bytes [4, 8)", "'y'");
  expect_header_error(X("\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]"), 8, TC_ERR_CORRUPT,
                      "bytes [0, 4) (file offset", "'x'");
  expect_header_error(X(F32_2), 12, TC_ERR_CORRUPT, "cover 8 of the 12 data bytes", "file offset");
  expect_header_error("{}", 3, TC_ERR_CORRUPT, "cover 0 of the 3 data bytes", NULL);
  /* metadata */
  expect_header_error("{\"__metadata__\":[1]}", 0, TC_ERR_CORRUPT, "'__metadata__' is not a JSON object", NULL);
  expect_header_error("{\"__metadata__\":{\"a\":\"1\",\"b\":2}}", 0, TC_ERR_CORRUPT, "metadata 'b' is not a string", NULL);
  expect_header_error("{\"__metadata__\":{\"a\":\"1\",\"a\":\"2\"}}", 0, TC_ERR_CORRUPT, "duplicate", NULL);
  expect_header_error("{\"__metadata__\":{\"a\":\"1\\u0000\"}}", 0, TC_ERR_CORRUPT, "invalid JSON", NULL);
}
END_TEST

START_TEST(test_file_errors) {
  {
    LEAK_BEGIN;
    tc_clear_error();
    ck_assert_ptr_null(tc_state_dict_load("/nonexistent/dir/missing.safetensors"));
    assert_error(TC_ERR_IO, "/nonexistent/dir/missing.safetensors");
    ck_assert_ptr_null(tc_state_dict_load("/tmp"));
    assert_error(TC_ERR_IO, "not a regular file");
    ck_assert_ptr_null(tc_state_dict_load(NULL));
    assert_error(TC_ERR_ARG, "path is NULL");
    LEAK_END;
  }
  make_tmpdir();
  LEAK_BEGIN;
  size_t len;
  unsigned char *good = read_fixture("torch_shapes", &len);
  char path[512];
  tmp_path(path, sizeof path, "cut.safetensors");
  /* cut in the data, in the header, empty: each names the file */
  write_file(path, good, len - 1);
  ck_assert_ptr_null(tc_state_dict_load(path));
  assert_error(TC_ERR_CORRUPT, "tensor 'cube_i16': data_offsets [144, 192] out of range");
  assert_error(TC_ERR_CORRUPT, "cut.safetensors");
  write_file(path, good, 40);
  ck_assert_ptr_null(tc_state_dict_load(path));
  assert_error(TC_ERR_CORRUPT, "runs past the end");
  write_file(path, good, 0);
  ck_assert_ptr_null(tc_state_dict_load(path));
  assert_error(TC_ERR_CORRUPT, "too short");
  /* a header length past the format's 100 MB limit in a (sparse) file big enough to hold it */
  FILE *f = fopen(path, "wb");
  unsigned char pre[8] = {0x08, 0xe1, 0xf5, 0x05, 0, 0, 0, 0}; /* 100000008 */
  fwrite(pre, 1, 8, f);
  fclose(f);
  ck_assert_int_eq(truncate(path, 100000100), 0);
  ck_assert_ptr_null(tc_state_dict_load(path));
  assert_error(TC_ERR_CORRUPT, "exceeds the format's limit");
  /* a corrupt entry in a file names the key and the file */
  unsigned char *b = malloc(len);
  memcpy(b, good, len);
  size_t at = 0;
  while (at + 5 <= len && memcmp(b + at, "\"F32\"", 5) != 0) at++;
  ck_assert_uint_lt(at + 5, len);
  memcpy(b + at, "\"F99\"", 5);
  write_file(path, b, len);
  ck_assert_ptr_null(tc_state_dict_load(path));
  assert_error(TC_ERR_CORRUPT, "unknown dtype 'F99'");
  assert_error(TC_ERR_CORRUPT, "cut.safetensors");
  free(b);
  free(good);
  LEAK_END;
  remove_tmpdir();
}
END_TEST

/* ---- saving: errors, atomicity ----------------------------------------------------------------- */

/* The target holds `old` and the directory holds only `nfiles` entries (no temporary left). */
static void assert_untouched(const char *path, const unsigned char *old, size_t oldlen, int nfiles) {
  size_t n;
  unsigned char *b = read_file(path, &n);
  ck_assert_msg(b && n == oldlen && memcmp(b, old, n) == 0, "%s was changed by a failed save", path);
  free(b);
  ck_assert_int_eq(count_entries(tmpdir), nfiles);
}

static tc_state_dict *make_big(void) {
  tc_state_dict *sd = tc_state_dict_create();
  tc_tensor *t = tc_ones(SHAPE(128, 128), 2, NULL); /* 64 KiB */
  tc_tensor *tt = tc_t(t);
  tc_state_dict_set(sd, "big", t);
  tc_state_dict_set(sd, "big_t", tt);
  tc_state_dict_set_meta(sd, "k", "v");
  tc_tensor_release(tt);
  tc_tensor_release(t);
  return sd;
}

START_TEST(test_save_errors) {
  make_tmpdir();
  LEAK_BEGIN;
  char path[512], dir[512];
  tc_state_dict *sd = make_big();
  /* arguments */
  tc_clear_error();
  ck_assert_int_eq(tc_state_dict_save(NULL, "x"), TC_ERR_ARG);
  ck_assert_int_eq(tc_state_dict_save(sd, NULL), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "path is NULL");
  /* a directory that does not exist */
  tmp_path(path, sizeof path, "no/such/dir/x.safetensors");
  ck_assert_int_eq(tc_state_dict_save(sd, path), TC_ERR_IO);
  assert_error(TC_ERR_IO, "no/such/dir/x.safetensors");
  /* the old file, kept through every failure below */
  tmp_path(path, sizeof path, "model.safetensors");
  const char old[] = "old contents";
  write_file(path, old, sizeof old);
  /* the target is a directory: the rename fails, the temporary is removed */
  tmp_path(dir, sizeof dir, "adir");
  ck_assert_int_eq(mkdir(dir, 0755), 0);
  ck_assert_int_eq(tc_state_dict_save(sd, dir), TC_ERR_IO);
  assert_error(TC_ERR_IO, "cannot rename");
  assert_untouched(path, (const unsigned char *)old, sizeof old, 2);
  ck_assert_int_eq(rmdir(dir), 0);
  /* no file descriptor left: the temporary cannot be created */
  struct rlimit rl0, rl;
  ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl0), 0);
  int lowest = dup(0);
  ck_assert_int_ge(lowest, 0);
  close(lowest);
  rl = rl0;
  rl.rlim_cur = (rlim_t)lowest;
  ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
  tc_status st = tc_state_dict_save(sd, path);
  ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl0), 0);
  ck_assert_int_eq(st, TC_ERR_IO);
  assert_error(TC_ERR_IO, "cannot create a temporary file");
  assert_untouched(path, (const unsigned char *)old, sizeof old, 1);
  /* a write fails part way (file size limit): the old file stays, the temporary goes */
  ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &rl0), 0);
  signal(SIGXFSZ, SIG_IGN);
  rl = rl0;
  rl.rlim_cur = 4096;
  ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
  st = tc_state_dict_save(sd, path);
  ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl0), 0);
  ck_assert_int_eq(st, TC_ERR_IO);
  assert_error(TC_ERR_IO, "writing");
  assert_untouched(path, (const unsigned char *)old, sizeof old, 1);
  /* an unwritable directory (root writes anyway: only checked for other users) */
  if (geteuid() != 0) {
    ck_assert_int_eq(chmod(tmpdir, 0555), 0);
    st = tc_state_dict_save(sd, path);
    ck_assert_int_eq(chmod(tmpdir, 0755), 0);
    ck_assert_int_eq(st, TC_ERR_IO);
    assert_error(TC_ERR_IO, "cannot create a temporary file");
    assert_untouched(path, (const unsigned char *)old, sizeof old, 1);
  }
  /* and a good save replaces it, with the umask's permissions */
  ck_assert_int_eq(tc_state_dict_save(sd, path), TC_OK);
  tc_state_dict *back = tc_state_dict_load(path);
  ck_assert_int_eq(tc_state_dict_size(back), 2);
  tc_state_dict_destroy(back);
  mode_t um = umask(022);
  umask(um);
  struct stat sb;
  ck_assert_int_eq(stat(path, &sb), 0);
  ck_assert_int_eq(sb.st_mode & 0777, 0666 & ~um);
  ck_assert_int_eq(count_entries(tmpdir), 1);
  tc_state_dict_destroy(sd);
  LEAK_END;
  remove_tmpdir();
}
END_TEST

/* ---- allocation failures -------------------------------------------------------------------- */

static int load_path_ctx(void *ctx) {
  tc_state_dict *sd = tc_state_dict_load(ctx);
  if (!sd) return 1;
  tc_state_dict_destroy(sd);
  return 0;
}

typedef struct {
  const unsigned char *b;
  size_t len;
} buf_ctx;

static int load_buffer_ctx(void *ctx) {
  buf_ctx *c = ctx;
  tc_state_dict *sd = tc_state_dict_load_buffer(c->b, c->len);
  if (!sd) return 1;
  tc_state_dict_destroy(sd);
  return 0;
}

static char save_path[512];
static unsigned char *save_old;
static size_t save_old_len;

/* A failed save leaves the previous file as it was. */
static int save_ctx(void *ctx) {
  if (tc_state_dict_save(ctx, save_path) == TC_OK) return 0;
  tc_status st = tc_last_status();
  assert_untouched(save_path, save_old, save_old_len, 1);
  tc_set_error(st, "%s", "save failed"); /* keep the status for check_alloc_failures */
  return 1;
}

static int build_ctx(void *ctx) {
  /* set / set_meta / remove under allocation failure: the dict is unchanged on failure */
  tc_state_dict *sd = tc_state_dict_create();
  if (!sd) return 1;
  tc_tensor *t = ctx;
  char name[16];
  int rc = 0;
  for (int i = 0; i < 40 && !rc; i++) {
    snprintf(name, sizeof name, "p%d", i);
    int64_t n0 = tc_state_dict_size(sd);
    if (tc_state_dict_set(sd, name, t)) {
      ck_assert_int_eq(tc_state_dict_size(sd), n0);
      ck_assert(!tc_state_dict_contains(sd, name));
      rc = 1;
    }
  }
  if (!rc && tc_state_dict_set_meta(sd, "a", "1")) rc = 1;
  if (!rc && tc_state_dict_set_meta(sd, "a", "2")) {
    ck_assert_str_eq(tc_state_dict_get_meta(sd, "a"), "1");
    rc = 1;
  }
  if (!rc) ck_assert_int_eq(tc_state_dict_remove(sd, "p3"), TC_OK);
  tc_state_dict_destroy(sd);
  return rc;
}

START_TEST(test_alloc_failures) {
  const char *names[] = {"torch_dtypes", "torch_shapes", "numpy", "torch_empty"};
  for (int i = 0; i < 4; i++) {
    char path[1024];
    fixture_path(path, sizeof path, names[i]);
    check_alloc_failures(load_path_ctx, path, names[i]);
    size_t len;
    unsigned char *b = read_fixture(names[i], &len);
    buf_ctx c = {b, len};
    check_alloc_failures(load_buffer_ctx, &c, names[i]);
    free(b);
  }
  make_tmpdir();
  tmp_path(save_path, sizeof save_path, "s.safetensors");
  tc_state_dict *sd = make_ctorch_written(); /* non-contiguous view, metadata, every dtype */
  tc_state_dict *big = make_big();
  ck_assert_int_eq(tc_state_dict_save(big, save_path), TC_OK);
  save_old = read_file(save_path, &save_old_len);
  check_alloc_failures(save_ctx, sd, "save");
  free(save_old);
  tc_state_dict_destroy(big);
  tc_state_dict_destroy(sd);
  tc_tensor *t = T_F32(SHAPE(1), 1, 1);
  check_alloc_failures(build_ctx, t, "set");
  tc_tensor_release(t);
  remove_tmpdir();
}
END_TEST

/* ---- fuzz ---------------------------------------------------------------------------------------- */

static uint64_t lcg_state;
static uint32_t lcg(void) {
  lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (uint32_t)(lcg_state >> 33);
}

START_TEST(test_fuzz_mutations) {
  /* 2000 mutated copies of valid files (mostly in the JSON header, sometimes the length prefix or
   * the data, sometimes cut short, sometimes with a header byte deleted and the length fixed up):
   * loading must give a dict or an error, never a crash or a leak (run under ASan/UBSan) */
  const char *seeds[] = {"torch_dtypes", "torch_shapes", "numpy", "torch_no_meta"};
  const int nseeds = 4;
  size_t lens[4];
  unsigned char *bufs[4];
  for (int i = 0; i < nseeds; i++) bufs[i] = read_fixture(seeds[i], &lens[i]);
  static const char tokens[] = "0123456789[]{},:\"\\ -.eEFIUBCLOdtypeshaoffs_\x00\xff";
  lcg_state = 20240611;
  LEAK_BEGIN;
  int loaded = 0, corrupt = 0, unsupported = 0;
  for (int iter = 0; iter < 2000; iter++) {
    int s = (int)(lcg() % (uint32_t)nseeds);
    size_t len = lens[s];
    unsigned char *b = malloc(len);
    memcpy(b, bufs[s], len);
    size_t hl = 0;
    for (int k = 7; k >= 0; k--) hl = (hl << 8) | b[k];
    int nmut = 1 + (int)(lcg() % 3);
    for (int m = 0; m < nmut; m++) {
      uint32_t kind = lcg() % 16;
      size_t pos;
      if (kind == 0) pos = lcg() % 8;                     /* the length prefix */
      else if (kind == 1) pos = 8 + hl + lcg() % (len - 8 - hl + 1); /* the data */
      else pos = 8 + lcg() % hl;                          /* the header */
      if (pos >= len) continue;
      b[pos] = (lcg() % 3) ? (unsigned char)tokens[lcg() % (sizeof tokens - 1)] : (unsigned char)lcg();
    }
    if (lcg() % 8 == 0) { /* delete a header byte and fix the length: the parser goes deeper */
      size_t pos = 8 + lcg() % hl;
      memmove(b + pos, b + pos + 1, len - pos - 1);
      len--;
      hl--;
      for (int k = 0; k < 8; k++) b[k] = (unsigned char)((uint64_t)hl >> (8 * k));
    }
    if (lcg() % 10 == 0) len = lcg() % (len + 1);
    tc_clear_error();
    tc_state_dict *sd = tc_state_dict_load_buffer(b, len);
    if (sd) {
      loaded++;
      int64_t total = 0;
      for (int64_t k = 0; k < tc_state_dict_size(sd); k++) {
        tc_tensor *t = tc_state_dict_get(sd, tc_state_dict_key(sd, k));
        ck_assert_ptr_nonnull(t);
        total += tc_tensor_numel(t) * (int64_t)tc_tensor_element_size(t);
        tc_tensor_release(t);
      }
      ck_assert_int_le(total, (int64_t)len);
      tc_state_dict_destroy(sd);
    } else {
      tc_status st = tc_last_status();
      ck_assert_msg(st == TC_ERR_CORRUPT || st == TC_ERR_UNSUPPORTED, "iteration %d: status %s (%s)", iter,
                    tc_status_name(st), tc_last_error());
      ck_assert(strlen(tc_last_error()) > 0);
      if (st == TC_ERR_CORRUPT) corrupt++;
      else unsupported++;
    }
    free(b);
  }
  LEAK_END;
  /* the mutations reach every outcome */
  ck_assert_int_gt(loaded, 0);
  ck_assert_int_gt(corrupt, 0);
  for (int i = 0; i < nseeds; i++) free(bufs[i]);
}
END_TEST

int main(void) {
  Suite *s = suite_create("core_state_dict");
  TCase *tc = tcase_create("state_dict");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_container);
  tcase_add_test(tc, test_metadata);
  tcase_add_test(tc, test_many_entries);
  tcase_add_test(tc, test_torch_dtypes);
  tcase_add_test(tc, test_torch_shapes);
  tcase_add_test(tc, test_numpy_written);
  tcase_add_test(tc, test_no_meta_and_empty);
  tcase_add_test(tc, test_same_bytes_as_package);
  tcase_add_loop_test(tc, test_round_trip_every_dtype, 0, NDTYPES);
  tcase_add_test(tc, test_scope_and_sharing);
  tcase_add_test(tc, test_bool_bytes_and_lenient_headers);
  tcase_add_test(tc, test_ctorch_written);
  tcase_add_test(tc, test_corrupt_prefix);
  tcase_add_test(tc, test_corrupt_headers);
  tcase_add_test(tc, test_file_errors);
  tcase_add_test(tc, test_save_errors);
  tcase_add_test(tc, test_alloc_failures);
  tcase_add_test(tc, test_fuzz_mutations);
  suite_add_tcase(s, tc);
  TCase *cuda = tcase_create("cuda"); /* CK_RUN_CASE=cuda runs it alone */
  tcase_add_test(cuda, test_cuda_tensors);
  suite_add_tcase(s, cuda);
  return run_suite(s);
}
