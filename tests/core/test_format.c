/* Tensor printing against PyTorch's repr: each case loads tests/fixtures/format/<case>.npy, prints
 * it with tc_tensor_format and compares with <case>.txt, written by torch (gen_format.py). Case-name
 * prefixes rebuild inputs .npy cannot hold (bf16_, t_, step_, expand_; see gen_format.py). */
#include <stdlib.h>
#include <string.h>
#include "test_util.h"
#include "internal.h"

/* The whole file as a NUL-terminated string (malloc'd), or NULL when it cannot be read. */
static char *read_text(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *s = NULL;
  size_t len = 0, cap = 0, n;
  char chunk[4096];
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
    if (len + n + 1 > cap) {
      cap = (len + n + 1) * 2;
      char *p = realloc(s, cap);
      ck_assert_ptr_nonnull(p);
      s = p;
    }
    memcpy(s + len, chunk, n);
    len += n;
  }
  fclose(f);
  if (!s) s = calloc(1, 1);
  else s[len] = '\0';
  return s;
}

static const char *const cases[] = {
    "int64_small",        "int64_neg",          "int32",           "int16_neg",        "int8",
    "uint8",              "u16_values",         "bool",            "bool_all_true",    "float_decimals",
    "float_integral",     "float_neg_zero",     "float_zeros",     "float_sci",        "float_sci_large",
    "float_sci_small",    "float_sci_int",      "float_nan_inf",   "float_nan_int",    "float_nonfinite_only",
    "float_nan_sci",      "float_randn",        "float64",         "float64_suffix_wrap", "float16",
    "float16_2d",         "bf16_values",        "complex",         "complex_mixed",    "complex_scalar",
    "scalar",             "scalar_integral",    "scalar_nan",      "scalar_int32",     "scalar_bool",
    "empty_1d",           "empty_2d",           "empty_int64",     "empty_1d_int32",   "three_d",
    "four_d",             "row_wrap_float",     "row_wrap_int",    "row_wrap_2d",      "row_wrap_complex",
    "row_wrap_int8_suffix", "sum_2d",           "sum_1d_int",      "sum_1d_float",     "sum_3d",
    "sum_narrow",         "sum_hidden_outlier", "t_float",         "step_int",         "expand_float",
};
#define NCASES ((int)(sizeof cases / sizeof cases[0]))

static bool has_prefix(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

/* The tensor the case prints, built from its saved input. */
static tc_tensor *case_input(const char *name) {
  tc_tensor *x = fx_load("format", name), *y;
  if (has_prefix(name, "bf16_")) y = tc_to_dtype(x, TC_BF16);
  else if (has_prefix(name, "t_")) y = tc_t(x);
  else if (has_prefix(name, "step_")) y = tc_slice(x, -1, 0, TC_END, 2);
  else if (has_prefix(name, "expand_")) y = tc_expand(x, SHAPE(4, tc_tensor_size(x, 0)), 2);
  else return x;
  ck_assert_msg(y != NULL, "%s: %s", name, tc_last_error());
  tc_tensor_release(x);
  return y;
}

START_TEST(test_matches_torch) {
  const char *name = cases[_i];
  LEAK_BEGIN;
  tc_tensor *x = case_input(name);
  char path[1024];
  snprintf(path, sizeof path, "%s/format/%s.txt", CTORCH_FIXTURES_DIR, name);
  char *expected = read_text(path);
  ck_assert_msg(expected != NULL, "fixture %s missing", path);
  char *got = tc_tensor_format(x);
  ck_assert_msg(got != NULL, "%s: %s", name, tc_last_error());
  ck_assert_msg(strcmp(got, expected) == 0, "%s:\n--- got\n%s\n--- expected\n%s", name, got, expected);
  tc_free(got);
  free(expected);
  tc_tensor_release(x);
  LEAK_END;
}
END_TEST

START_TEST(test_non_contiguous_views) {
  /* the same values printed through different strides give the same text */
  LEAK_BEGIN;
  tc_tensor *a = tc_arange(0, 24, 1, TC_OPTS(.dtype = TC_F32));
  tc_tensor *v = tc_view(a, SHAPE(2, 3, 4), 3);
  tc_tensor *p = tc_permute(v, SHAPE(2, 0, 1), 3); /* (4, 2, 3) */
  tc_tensor *c = tc_contiguous(p);
  char *s1 = tc_tensor_format(p), *s2 = tc_tensor_format(c);
  ck_assert_ptr_nonnull(s1);
  ck_assert_ptr_nonnull(s2);
  ck_assert_str_eq(s1, s2);
  tc_tensor *sel = tc_select(p, 1, 1); /* (4, 3) with strides (1, 4), offset 12 */
  char *s3 = tc_tensor_format(sel);
  ck_assert_str_eq(s3, "tensor([[12., 16., 20.],\n"
                       "        [13., 17., 21.],\n"
                       "        [14., 18., 22.],\n"
                       "        [15., 19., 23.]])");
  tc_free(s1);
  tc_free(s2);
  tc_free(s3);
  tc_tensor_release(sel);
  tc_tensor_release(c);
  tc_tensor_release(p);
  tc_tensor_release(v);
  tc_tensor_release(a);
  LEAK_END;
}
END_TEST

START_TEST(test_print) {
  LEAK_BEGIN;
  tc_tensor *x = T_I64(SHAPE(2), 1, 4, -5);
  FILE *f = tmpfile();
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(tc_tensor_print(x, f), TC_OK);
  rewind(f);
  char buf[64] = {0};
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  ck_assert_uint_eq(n, strlen("tensor([ 4, -5])\n"));
  ck_assert_str_eq(buf, "tensor([ 4, -5])\n");
  ck_assert_int_eq(tc_tensor_print(x, NULL), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "tc_tensor_print");
  tc_tensor_release(x);
  LEAK_END;
}
END_TEST

START_TEST(test_null_argument) {
  tc_clear_error();
  ck_assert_ptr_null(tc_tensor_format(NULL));
  assert_error(TC_ERR_ARG, "tc_tensor_format");
  ck_assert_int_eq(tc_tensor_print(NULL, stdout), TC_ERR_ARG);
  /* a chain keeps the first message */
  tc_clear_error();
  tc_tensor *bad = tc_reshape(NULL, SHAPE(2), 1);
  ck_assert_ptr_null(tc_tensor_format(bad));
  ck_assert(strstr(tc_last_error(), "tc_tensor_format") == NULL);
}
END_TEST

static int format_ctx(void *ctx) {
  char *s = tc_tensor_format(ctx);
  if (!s) return 1;
  tc_free(s);
  return 0;
}

START_TEST(test_alloc_failures) {
  tc_tensor *a = fx_load("format", "sum_3d"); /* long output: the buffer grows several times */
  check_alloc_failures(format_ctx, a, "format sum_3d");
  tc_tensor *b = fx_load("format", "row_wrap_complex");
  check_alloc_failures(format_ctx, b, "format complex");
  tc_tensor_release(a);
  tc_tensor_release(b);
}
END_TEST

START_TEST(test_unavailable_device) {
  /* white box: a tensor whose storage claims a CUDA device with no CUDA present fails cleanly */
  if (tc_cuda_is_available()) return;
  LEAK_BEGIN;
  tc_tensor *x = T_F32(SHAPE(2), 1, 1, 2);
  tc_device saved = x->storage->device;
  x->storage->device = tc_cuda(0);
  char *s = tc_tensor_format(x);
  tc_status st = tc_last_status();
  x->storage->device = saved;
  ck_assert_ptr_null(s);
  ck_assert_int_eq(st, TC_ERR_DEVICE);
  tc_tensor_release(x);
  LEAK_END;
}
END_TEST

START_TEST(test_cuda_device_suffix) {
  if (!tc_cuda_is_available()) return;
  tc_tensor *x = T_F32(SHAPE(2, 3), 2, 1, 2, 3, 4, 5, 6.5);
  tc_tensor *d = tc_tensor_to(x, tc_cuda(0));
  ck_assert_msg(d != NULL, "%s", tc_last_error());
  char *s = tc_tensor_format(d);
  ck_assert_str_eq(s, "tensor([[1.0000, 2.0000, 3.0000],\n        [4.0000, 5.0000, 6.5000]], device='cuda:0')");
  tc_free(s);
  tc_tensor *tr = tc_t(d); /* a strided device view */
  s = tc_tensor_format(tr);
  ck_assert_str_eq(s, "tensor([[1.0000, 4.0000],\n        [2.0000, 5.0000],\n        [3.0000, 6.5000]], "
                      "device='cuda:0')");
  tc_free(s);
  tc_tensor *i = T_I64(SHAPE(1), 1, 7);
  tc_tensor *i32 = tc_to_dtype(i, TC_I32);
  tc_tensor *di = tc_tensor_to(i32, tc_cuda(0));
  s = tc_tensor_format(di);
  ck_assert_str_eq(s, "tensor([7], device='cuda:0', dtype=torch.int32)");
  tc_free(s);
  tc_tensor_release(di);
  tc_tensor_release(i32);
  tc_tensor_release(i);
  tc_tensor_release(tr);
  tc_tensor_release(d);
  tc_tensor_release(x);
}
END_TEST

int main(void) {
  Suite *s = suite_create("core_format");
  TCase *tc = tcase_create("format");
  tcase_add_loop_test(tc, test_matches_torch, 0, NCASES);
  tcase_add_test(tc, test_non_contiguous_views);
  tcase_add_test(tc, test_print);
  tcase_add_test(tc, test_null_argument);
  tcase_add_test(tc, test_alloc_failures);
  tcase_add_test(tc, test_unavailable_device);
  tcase_add_test(tc, test_cuda_device_suffix);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
