/* .npy reading and writing: files written by NumPy (gen_npy.py) in every shared dtype, C and
 * Fortran order, big-endian, 0-d, empty, 3-D, format 2.0/3.0; C save -> load round trips; corrupt and
 * unsupported inputs (clear error, no leak); allocation failures; a deterministic mutation fuzz. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "test_util.h"

/* ---- helpers ------------------------------------------------------------------------------- */

static void fixture_path(char *buf, size_t n, const char *name) {
  snprintf(buf, n, "%s/npy/%s.npy", CTORCH_FIXTURES_DIR, name);
}

/* A whole fixture file in memory (malloc'd). */
static unsigned char *read_fixture(const char *name, size_t *len) {
  char path[1024];
  fixture_path(path, sizeof path, name);
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot open %s", path);
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

/* Same dtype, shape and bytes. */
static void assert_same(const tc_tensor *a, const tc_tensor *b, const char *what, int line) {
  ck_assert_msg(a && b, "line %d: %s: NULL: %s", line, what, tc_last_error());
  size_t nb = (size_t)tc_tensor_numel(b) * tc_tensor_element_size(b);
  unsigned char *buf = malloc(nb + 1);
  ck_assert_int_eq(tc_tensor_copy_to_buffer(b, buf, nb), TC_OK);
  assert_bytes_msg(a, tc_tensor_dtype(b), tc_tensor_shape(b), (int)tc_tensor_ndim(b), buf, what, line);
  free(buf);
}

/* A .npy image: magic, version major.0, header dict text (padded with spaces and a newline to a
 * multiple of 64), then `data`. */
static unsigned char *make_npy(int major, const char *dict, const void *data, size_t dlen, size_t *len) {
  size_t pre = major == 1 ? 10 : 12, dl = strlen(dict);
  size_t hlen = dl + 1;
  hlen += (64 - (pre + hlen) % 64) % 64;
  *len = pre + hlen + dlen;
  unsigned char *b = malloc(*len + 1);
  ck_assert_ptr_nonnull(b);
  memcpy(b, "\x93NUMPY", 6);
  b[6] = (unsigned char)major;
  b[7] = 0;
  for (size_t i = 0; i < pre - 8; i++) b[8 + i] = (unsigned char)(hlen >> (8 * i));
  memcpy(b + pre, dict, dl);
  memset(b + pre + dl, ' ', hlen - dl - 1);
  b[pre + hlen - 1] = '\n';
  if (dlen) memcpy(b + pre + hlen, data, dlen);
  return b;
}

/* ---- expected values (gen_npy.py's BASE) ---------------------------------------------------- */

static const float f4_vals[6] = {0.0f, -1.5f, 3.25f, INFINITY, -INFINITY, NAN};
static const double f8_vals[6] = {1e-300, -2.5, 1e300, NAN, 0.1, -0.0};
static const uint16_t f2_bits[6] = {0x3800, 0xc000, 0x7bff, 0x03ef, 0x7c00, 0x7e00};
static const int64_t i8_vals[6] = {INT64_MIN, INT64_MAX, 0, 1, -1, 123456789012LL};
static const int32_t i4_vals[6] = {INT32_MIN, INT32_MAX, 0, 7, -7, 100000};
static const int16_t i2_vals[6] = {-32768, 32767, 0, 1, -1, 1234};
static const int8_t i1_vals[6] = {-128, 127, 0, 1, -1, 42};
static const uint8_t u1_vals[6] = {0, 255, 1, 128, 7, 200};
static const uint16_t u2_vals[6] = {0, 65535, 1, 32768, 7, 60000};
static const uint8_t b1_vals[6] = {1, 0, 1, 0, 0, 1};
static const float c8_vals[12] = {1, 2, -3.5f, -0.25f, 0, 0, 1e30f, -1e-30f, 0, 1, 0, 7};

static const struct {
  const char *code;
  tc_dtype dtype;
  const void *vals;
  bool multibyte;
} dtypes[] = {
    {"f4", TC_F32, f4_vals, true}, {"f8", TC_F64, f8_vals, true}, {"f2", TC_F16, f2_bits, true},
    {"i8", TC_I64, i8_vals, true}, {"i4", TC_I32, i4_vals, true}, {"i2", TC_I16, i2_vals, true},
    {"i1", TC_I8, i1_vals, false}, {"u1", TC_U8, u1_vals, false}, {"u2", TC_U16, u2_vals, true},
    {"b1", TC_BOOL, b1_vals, false}, {"c8", TC_C64, c8_vals, true},
};
#define NDTYPES ((int)(sizeof dtypes / sizeof dtypes[0]))

static tc_tensor *load_fixture(const char *name) {
  char path[1024];
  fixture_path(path, sizeof path, name);
  return tc_npy_load(path);
}

/* ---- NumPy-written files -------------------------------------------------------------------- */

START_TEST(test_dtypes_and_layouts) {
  /* each dtype: C order, Fortran order and (multi-byte) big-endian, by path and from memory */
  int i = _i;
  LEAK_BEGIN;
  const char *variants[] = {"", "_fortran", "_big"};
  for (int v = 0; v < 3; v++) {
    if (v == 2 && !dtypes[i].multibyte) continue;
    char name[64];
    snprintf(name, sizeof name, "%s%s", dtypes[i].code, variants[v]);
    tc_tensor *t = load_fixture(name);
    assert_bytes(t, dtypes[i].dtype, SHAPE(2, 3), 2, dtypes[i].vals, name);
    ck_assert(tc_tensor_is_contiguous(t));
    tc_tensor_release(t);
    size_t len;
    unsigned char *b = read_fixture(name, &len);
    t = tc_npy_load_buffer(b, len);
    assert_bytes(t, dtypes[i].dtype, SHAPE(2, 3), 2, dtypes[i].vals, name);
    tc_tensor_release(t);
    free(b);
  }
  LEAK_END;
}
END_TEST

START_TEST(test_shapes_and_versions) {
  LEAK_BEGIN;
  float ar[24];
  int64_t ai[24];
  for (int i = 0; i < 24; i++) ar[i] = (float)i, ai[i] = i;
  tc_tensor *t = load_fixture("f4_3d");
  assert_bytes(t, TC_F32, SHAPE(2, 3, 4), 3, ar, "f4_3d");
  tc_tensor_release(t);
  t = load_fixture("f4_3d_fortran");
  assert_bytes(t, TC_F32, SHAPE(2, 3, 4), 3, ar, "f4_3d_fortran");
  tc_tensor_release(t);
  t = load_fixture("i8_3d_big_fortran");
  assert_bytes(t, TC_I64, SHAPE(2, 3, 4), 3, ai, "i8_3d_big_fortran");
  tc_tensor_release(t);
  t = load_fixture("f4_1d");
  assert_bytes(t, TC_F32, SHAPE(5), 1, ar, "f4_1d");
  tc_tensor_release(t);

  float half = 2.5f;
  int64_t m7 = -7;
  t = load_fixture("f4_0d");
  assert_bytes(t, TC_F32, NULL, 0, &half, "f4_0d");
  tc_tensor_release(t);
  t = load_fixture("i8_0d");
  assert_bytes(t, TC_I64, NULL, 0, &m7, "i8_0d");
  tc_tensor_release(t);

  t = load_fixture("f4_empty");
  assert_bytes(t, TC_F32, SHAPE(0, 3), 2, NULL, "f4_empty");
  tc_tensor_release(t);
  t = load_fixture("i8_empty_1d");
  assert_bytes(t, TC_I64, SHAPE(0), 1, NULL, "i8_empty_1d");
  tc_tensor_release(t);

  t = load_fixture("f4_v2");
  assert_bytes(t, TC_F32, SHAPE(2, 3), 2, f4_vals, "f4_v2");
  tc_tensor_release(t);
  t = load_fixture("f4_v3");
  assert_bytes(t, TC_F32, SHAPE(2, 3), 2, f4_vals, "f4_v3");
  tc_tensor_release(t);
  t = load_fixture("c8_v2_fortran");
  assert_bytes(t, TC_C64, SHAPE(2, 3), 2, c8_vals, "c8_v2_fortran");
  tc_tensor_release(t);
  t = load_fixture("f4_big_fortran");
  assert_bytes(t, TC_F32, SHAPE(2, 3), 2, f4_vals, "f4_big_fortran");
  tc_tensor_release(t);
  t = load_fixture("c8_big_fortran");
  assert_bytes(t, TC_C64, SHAPE(2, 3), 2, c8_vals, "c8_big_fortran");
  tc_tensor_release(t);
  LEAK_END;
}
END_TEST

START_TEST(test_unsupported_numpy_dtypes) {
  LEAK_BEGIN;
  const char *names[] = {"unsupported_u3", "unsupported_c16", "unsupported_u4", "unsupported_struct",
                         "unsupported_datetime"};
  const char *needles[] = {"'<U3'", "'<c16'", "'<u4'", "structured", "'<M8[D]'"};
  for (int i = 0; i < 5; i++) {
    tc_clear_error();
    ck_assert_ptr_null(load_fixture(names[i]));
    assert_error(TC_ERR_UNSUPPORTED, needles[i]);
    ck_assert_msg(strstr(tc_last_error(), names[i]) != NULL, "message does not name the file: %s", tc_last_error());
    size_t len;
    unsigned char *b = read_fixture(names[i], &len);
    ck_assert_ptr_null(tc_npy_load_buffer(b, len));
    assert_error(TC_ERR_UNSUPPORTED, needles[i]);
    free(b);
  }
  LEAK_END;
}
END_TEST

/* ---- saving ------------------------------------------------------------------------------- */

static char tmpdir[256];

static void make_tmpdir(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/ctorch_npy_XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void remove_tmpdir(void) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_save_load_round_trip) {
  make_tmpdir();
  LEAK_BEGIN;
  char path[512];
  snprintf(path, sizeof path, "%s/x.npy", tmpdir);
  for (int i = 0; i < NDTYPES; i++) {
    tc_tensor *a = load_fixture(dtypes[i].code);
    ck_assert_int_eq(tc_npy_save(path, a), TC_OK);
    tc_tensor *b = tc_npy_load(path);
    assert_same(b, a, dtypes[i].code, __LINE__);
    tc_tensor_release(b);
    tc_tensor_release(a);
  }
  /* 0-d, empty, 1-d, 3-d keep their shapes */
  const char *shaped[] = {"f4_0d", "i8_0d", "f4_empty", "i8_empty_1d", "f4_1d", "f4_3d"};
  for (int i = 0; i < 6; i++) {
    tc_tensor *a = load_fixture(shaped[i]);
    ck_assert_int_eq(tc_npy_save(path, a), TC_OK);
    tc_tensor *b = tc_npy_load(path);
    assert_same(b, a, shaped[i], __LINE__);
    tc_tensor_release(b);
    tc_tensor_release(a);
  }
  /* the file is what NumPy writes: v1.0, header padded to 64, then data */
  tc_tensor *a = load_fixture("f4");
  ck_assert_int_eq(tc_npy_save(path, a), TC_OK);
  FILE *f = fopen(path, "rb");
  unsigned char head[128];
  ck_assert_uint_eq(fread(head, 1, 128, f), 128);
  fseek(f, 0, SEEK_END);
  ck_assert_int_eq(ftell(f), 128 + 24);
  fclose(f);
  const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  ck_assert(memcmp(head, "\x93NUMPY\x01\x00\x76\x00", 10) == 0); /* v1.0, header length 118 */
  ck_assert(memcmp(head + 10, dict, strlen(dict)) == 0);
  for (size_t k = 10 + strlen(dict); k < 127; k++) ck_assert_int_eq(head[k], ' ');
  ck_assert_int_eq(head[127], '\n');
  /* permissions follow the umask like any new file (not mkstemp's 0600) */
  mode_t um = umask(022); /* reads the umask the file was created under */
  umask(um);
  struct stat sb;
  ck_assert_int_eq(stat(path, &sb), 0);
  ck_assert_int_eq(sb.st_mode & 0777, 0666 & ~um);
  tc_tensor_release(a);
  LEAK_END;
  remove_tmpdir();
}
END_TEST

START_TEST(test_save_non_contiguous) {
  make_tmpdir();
  LEAK_BEGIN;
  char path[512];
  snprintf(path, sizeof path, "%s/t.npy", tmpdir);
  tc_tensor *a = load_fixture("f4_3d");
  tc_tensor *p = tc_permute(a, SHAPE(2, 0, 1), 3);  /* (4, 2, 3) */
  tc_tensor *s = tc_slice(p, 0, 1, TC_END, 2);        /* (2, 2, 3) strided */
  ck_assert(!tc_tensor_is_contiguous(s));
  ck_assert_int_eq(tc_npy_save(path, s), TC_OK);
  tc_tensor *b = tc_npy_load(path);
  tc_tensor *c = tc_contiguous(s);
  assert_same(b, c, "saved view", __LINE__);
  ck_assert(tc_tensor_is_contiguous(b));
  tc_tensor_release(c);
  tc_tensor_release(b);
  tc_tensor_release(s);
  tc_tensor_release(p);
  tc_tensor_release(a);
  LEAK_END;
  remove_tmpdir();
}
END_TEST

START_TEST(test_save_errors) {
  make_tmpdir();
  LEAK_BEGIN;
  char path[512];
  tc_tensor *a = T_F32(SHAPE(2), 1, 1, 2);
  snprintf(path, sizeof path, "%s/no/such/dir/x.npy", tmpdir);
  ck_assert_int_eq(tc_npy_save(path, a), TC_ERR_IO);
  assert_error(TC_ERR_IO, "no/such/dir/x.npy");
  tc_tensor *h = tc_to_dtype(a, TC_BF16);
  snprintf(path, sizeof path, "%s/h.npy", tmpdir);
  ck_assert_int_eq(tc_npy_save(path, h), TC_ERR_UNSUPPORTED);
  assert_error(TC_ERR_UNSUPPORTED, "bfloat16");
  ck_assert_int_eq(access(path, F_OK), -1); /* nothing written */
  ck_assert_int_eq(tc_npy_save(NULL, a), TC_ERR_ARG);
  ck_assert_int_eq(tc_npy_save(path, NULL), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "tc_npy_save");
  tc_tensor_release(h);
  tc_tensor_release(a);
  LEAK_END;
  remove_tmpdir();
}
END_TEST

/* ---- corrupt input -------------------------------------------------------------------------- */

static void expect_buffer_error(const unsigned char *b, size_t len, tc_status code, const char *needle,
                                const char *what) {
  LEAK_BEGIN;
  tc_clear_error();
  tc_tensor *t = tc_npy_load_buffer(b, len);
  ck_assert_msg(t == NULL, "%s: loaded", what);
  ck_assert_msg(tc_last_status() == code, "%s: status %s (%s)", what, tc_status_name(tc_last_status()), tc_last_error());
  ck_assert_msg(strstr(tc_last_error(), needle) != NULL, "%s: message '%s' lacks '%s'", what, tc_last_error(), needle);
  ck_assert_msg(strstr(tc_last_error(), "tc_npy_load_buffer") != NULL, "%s: message '%s'", what, tc_last_error());
  LEAK_END;
}

static void expect_dict_error(int major, const char *dict, size_t dlen, tc_status code, const char *needle) {
  unsigned char data[64] = {0};
  size_t len;
  unsigned char *b = make_npy(major, dict, data, dlen, &len);
  expect_buffer_error(b, len, code, needle, dict);
  free(b);
}

START_TEST(test_corrupt_buffers) {
  size_t len;
  unsigned char *good = read_fixture("f4", &len);
  unsigned char *b = malloc(len);
  /* bad magic, bad version */
  memcpy(b, good, len);
  b[1] = 'X';
  expect_buffer_error(b, len, TC_ERR_CORRUPT, "bad magic", "magic");
  expect_buffer_error(good, 5, TC_ERR_CORRUPT, "bad magic", "5 bytes");
  memcpy(b, good, len);
  b[6] = 4;
  expect_buffer_error(b, len, TC_ERR_UNSUPPORTED, "version 4", "version");
  /* truncated header, truncated data */
  expect_buffer_error(good, 30, TC_ERR_CORRUPT, "truncated header", "header cut");
  expect_buffer_error(good, len - 4, TC_ERR_CORRUPT, "data truncated", "data cut");
  unsigned char v2[11];
  memcpy(v2, "\x93NUMPY\x02\x00\x10\x00\x00", 11);
  expect_buffer_error(v2, 11, TC_ERR_CORRUPT, "truncated header", "v2 prefix cut");
  memcpy(b, good, len);
  b[8] = 0xff, b[9] = 0xff; /* header length past the end */
  expect_buffer_error(b, len, TC_ERR_CORRUPT, "truncated header", "header length");
  ck_assert_ptr_null(tc_npy_load_buffer(NULL, 10));
  assert_error(TC_ERR_ARG, "data is NULL");

  /* missing or malformed keys */
  expect_dict_error(1, "{'fortran_order': False, 'shape': (2,), }", 8, TC_ERR_CORRUPT, "no 'descr'");
  expect_dict_error(1, "{'descr': '<f4', 'shape': (2,), }", 8, TC_ERR_CORRUPT, "no 'fortran_order'");
  expect_dict_error(1, "{'descr': '<f4', 'fortran_order': False, }", 8, TC_ERR_CORRUPT, "no 'shape'");
  expect_dict_error(1, "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }", 8, TC_ERR_CORRUPT,
                    "malformed 'fortran_order'");
  expect_dict_error(1, "{'descr': <f4, 'fortran_order': False, 'shape': (2,), }", 8, TC_ERR_CORRUPT,
                    "malformed 'descr'");
  expect_dict_error(1, "{'descr': 'f4', 'fortran_order': False, 'shape': (2,), }", 8, TC_ERR_CORRUPT,
                    "malformed descr");
  expect_dict_error(1, "{'descr': '<f4, 'fortran_order': False, 'shape': (2,) }", 8, TC_ERR_CORRUPT,
                    "malformed descr");
  expect_dict_error(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -1), }", 8, TC_ERR_CORRUPT,
                    "malformed 'shape'");
  expect_dict_error(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3", 8, TC_ERR_CORRUPT,
                    "unterminated 'shape'");
  /* unsupported dtypes */
  expect_dict_error(1, "{'descr': '<U3', 'fortran_order': False, 'shape': (2,), }", 24, TC_ERR_UNSUPPORTED, "'<U3'");
  expect_dict_error(1, "{'descr': '<c16', 'fortran_order': False, 'shape': (2,), }", 32, TC_ERR_UNSUPPORTED,
                    "'<c16'");
  expect_dict_error(1, "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", 16, TC_ERR_UNSUPPORTED, "'|O'");
  /* huge shapes: more elements than bytes, overflowing products, more dims than ctorch has */
  expect_dict_error(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000, 1000000000), }", 8,
                    TC_ERR_CORRUPT, "data truncated");
  expect_dict_error(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 2), }", 8,
                    TC_ERR_CORRUPT, "too large");
  expect_dict_error(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4611686018427387904, 4), }", 0,
                    TC_ERR_CORRUPT, "too large");
  expect_dict_error(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", 8,
                    TC_ERR_CORRUPT, "too large");
  expect_dict_error(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1), }",
                    8, TC_ERR_UNSUPPORTED, "more than 16 dims");
  free(b);
  free(good);
}
END_TEST

START_TEST(test_lenient_but_exact) {
  /* valid variations NumPy accepts: double quotes, Python 2 longs, no trailing comma, '=' order;
   * bool bytes other than 0/1 become 1 */
  LEAK_BEGIN;
  float v[2] = {1.5f, -2};
  size_t len;
  unsigned char *b = make_npy(1, "{\"descr\": \"=f4\", \"fortran_order\": False, \"shape\": (2L,)}", v, 8, &len);
  tc_tensor *t = tc_npy_load_buffer(b, len);
  assert_bytes(t, TC_F32, SHAPE(2), 1, v, "variant header");
  tc_tensor_release(t);
  free(b);
  unsigned char raw[3] = {0, 7, 255}, want[3] = {0, 1, 1};
  b = make_npy(1, "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", raw, 3, &len);
  t = tc_npy_load_buffer(b, len);
  assert_bytes(t, TC_BOOL, SHAPE(3), 1, want, "bool bytes");
  tc_tensor_release(t);
  free(b);
  LEAK_END;
}
END_TEST

START_TEST(test_file_errors) {
  {
  LEAK_BEGIN;
  tc_clear_error();
  ck_assert_ptr_null(tc_npy_load("/nonexistent/dir/missing.npy"));
  assert_error(TC_ERR_IO, "/nonexistent/dir/missing.npy");
  ck_assert_ptr_null(tc_npy_load("/tmp"));
  assert_error(TC_ERR_IO, "not a regular file");
  ck_assert_ptr_null(tc_npy_load(NULL));
  assert_error(TC_ERR_ARG, "path is NULL");
  LEAK_END;
  }
  /* a truncated file names itself */
  make_tmpdir();
  LEAK_BEGIN;
  size_t len;
  unsigned char *good = read_fixture("f8", &len);
  char path[512];
  snprintf(path, sizeof path, "%s/cut.npy", tmpdir);
  FILE *f = fopen(path, "wb");
  fwrite(good, 1, len - 1, f);
  fclose(f);
  ck_assert_ptr_null(tc_npy_load(path));
  assert_error(TC_ERR_CORRUPT, "data truncated");
  assert_error(TC_ERR_CORRUPT, "cut.npy");
  f = fopen(path, "wb");
  fwrite(good, 1, 40, f);
  fclose(f);
  ck_assert_ptr_null(tc_npy_load(path));
  assert_error(TC_ERR_CORRUPT, "truncated header");
  f = fopen(path, "wb");
  fclose(f);
  ck_assert_ptr_null(tc_npy_load(path));
  assert_error(TC_ERR_CORRUPT, "bad magic");
  free(good);
  LEAK_END;
  remove_tmpdir();
}
END_TEST

/* ---- allocation failures ------------------------------------------------------------------ */

static int load_path_ctx(void *ctx) {
  tc_tensor *t = tc_npy_load(ctx);
  if (!t) return 1;
  tc_tensor_release(t);
  return 0;
}

typedef struct {
  const unsigned char *b;
  size_t len;
} buf_ctx;

static int load_buffer_ctx(void *ctx) {
  buf_ctx *c = ctx;
  tc_tensor *t = tc_npy_load_buffer(c->b, c->len);
  if (!t) return 1;
  tc_tensor_release(t);
  return 0;
}

static char save_path[512];
static int save_ctx(void *ctx) { return tc_npy_save(save_path, ctx) != TC_OK; }

START_TEST(test_alloc_failures) {
  const char *names[] = {"f4", "c8_big_fortran", "i8_3d_big_fortran", "f4_0d", "f4_empty"};
  for (int i = 0; i < 5; i++) {
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
  snprintf(save_path, sizeof save_path, "%s/s.npy", tmpdir);
  tc_tensor *a = load_fixture("f4_3d");
  tc_tensor *p = tc_permute(a, SHAPE(2, 1, 0), 3);
  check_alloc_failures(save_ctx, p, "save view");
  tc_tensor_release(p);
  tc_tensor_release(a);
  remove_tmpdir();
}
END_TEST

/* ---- fuzz ------------------------------------------------------------------------------------ */

static uint64_t lcg_state;
static uint32_t lcg(void) {
  lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (uint32_t)(lcg_state >> 33);
}

START_TEST(test_fuzz_mutations) {
  /* 2000 mutated copies of valid files (mostly in the header, sometimes cut short): loading must
   * give a tensor or an error, never a crash or a leak (run under ASan/UBSan) */
  const char *seeds[] = {"f4", "c8_big_fortran", "f4_v2", "i8_3d_big_fortran", "b1_fortran", "f4_0d"};
  const int nseeds = 6;
  size_t lens[6];
  unsigned char *bufs[6];
  for (int i = 0; i < nseeds; i++) bufs[i] = read_fixture(seeds[i], &lens[i]);
  static const char tokens[] = "0123456789(),:'\" {}<>|=fiucbTrueFalsL\n\x00\xff";
  lcg_state = 20240601;
  LEAK_BEGIN;
  int loaded = 0;
  for (int iter = 0; iter < 2000; iter++) {
    int s = (int)(lcg() % (uint32_t)nseeds);
    size_t len = lens[s];
    unsigned char *b = malloc(len);
    memcpy(b, bufs[s], len);
    int nmut = 1 + (int)(lcg() % 4);
    for (int m = 0; m < nmut; m++) {
      size_t span = (lcg() % 8) ? (len < 128 ? len : 128) : len; /* mostly the header */
      size_t pos = lcg() % span;
      b[pos] = (lcg() % 2) ? (unsigned char)tokens[lcg() % (sizeof tokens - 1)] : (unsigned char)lcg();
    }
    if (lcg() % 8 == 0) len = lcg() % (len + 1);
    tc_clear_error();
    tc_tensor *t = tc_npy_load_buffer(b, len);
    if (t) {
      loaded++;
      ck_assert_int_le(tc_tensor_numel(t) * (int64_t)tc_tensor_element_size(t), (int64_t)len);
      tc_tensor_release(t);
    } else {
      ck_assert_msg(tc_last_status() == TC_ERR_CORRUPT || tc_last_status() == TC_ERR_UNSUPPORTED,
                    "iteration %d: status %s (%s)", iter, tc_status_name(tc_last_status()), tc_last_error());
      ck_assert(strlen(tc_last_error()) > 0);
    }
    free(b);
  }
  LEAK_END;
  ck_assert_int_gt(loaded, 0); /* some mutations (in the data) still load */
  for (int i = 0; i < nseeds; i++) free(bufs[i]);
}
END_TEST

int main(void) {
  Suite *s = suite_create("core_npy");
  TCase *tc = tcase_create("npy");
  tcase_add_loop_test(tc, test_dtypes_and_layouts, 0, NDTYPES);
  tcase_add_test(tc, test_shapes_and_versions);
  tcase_add_test(tc, test_unsupported_numpy_dtypes);
  tcase_add_test(tc, test_save_load_round_trip);
  tcase_add_test(tc, test_save_non_contiguous);
  tcase_add_test(tc, test_save_errors);
  tcase_add_test(tc, test_corrupt_buffers);
  tcase_add_test(tc, test_lenient_but_exact);
  tcase_add_test(tc, test_file_errors);
  tcase_add_test(tc, test_alloc_failures);
  tcase_add_test(tc, test_fuzz_mutations);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
