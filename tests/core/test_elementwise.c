/* Elementwise ops against PyTorch fixtures (tests/fixtures/gen/gen_elementwise.py).
 * The unary and binary loops iterate over the same op tables (core/src/ops/unary.def, binary.def) that generate the
 * library's functions, so an op added there is tested here or the suite fails on its fixture. */
#include <string.h>
#include "test_util.h"

#define FAM "elementwise"

static double tol_for(tc_dtype d) {
  switch (d) {
    case TC_F16: return 1e-3;
    case TC_BF16: return 1e-2;
    case TC_F32: return 2e-6;
    default: return 1e-12;
  }
}

/* ---- unary: every op of unary.def over every input dtype --------------------------------------- */
typedef tc_tensor *(*unary_fn)(const tc_tensor *);
static const struct {
  const char *name;
  unary_fn fn;
} unary_ops[] = {
#define TC_UNARY_FLOAT(name, f32, f64) {#name, tc_##name},
#define TC_UNARY_SAME(name, f32, f64, iexpr, bool_ok) {#name, tc_##name},
#define TC_UNARY_PRED(name, f32, f64, iexpr) {#name, tc_##name},
#include "ops/unary.def"
};
static const char *const unary_dtypes[] = {"f32", "f64", "f16", "i64", "i32", "i8", "u8", "bool"};

START_TEST(test_unary_table) {
  LEAK_BEGIN;
  for (size_t d = 0; d < sizeof unary_dtypes / sizeof *unary_dtypes; d++) {
    char name[128];
    snprintf(name, sizeof name, "unary_x_%s", unary_dtypes[d]);
    tc_tensor *x = fx_load(FAM, name);
    tc_tensor *xt = tc_t(x); /* also run on a transposed (non-contiguous) view */
    for (size_t i = 0; i < sizeof unary_ops / sizeof *unary_ops; i++) {
      char what[160];
      snprintf(what, sizeof what, "%s(%s)", unary_ops[i].name, unary_dtypes[d]);
      snprintf(name, sizeof name, "un_%s_%s_error", unary_ops[i].name, unary_dtypes[d]);
      tc_tensor *err = fx_try_load(FAM, name);
      if (err) {
        tc_tensor_release(err);
        tc_clear_error();
        tc_tensor *r = unary_ops[i].fn(x);
        ck_assert_msg(r == NULL, "%s: PyTorch refuses this dtype but ctorch returned a tensor", what);
        ck_assert_msg(tc_last_status() == TC_ERR_DTYPE, "%s: expected TC_ERR_DTYPE, got %s", what,
                      tc_status_name(tc_last_status()));
        continue;
      }
      snprintf(name, sizeof name, "un_%s_%s", unary_ops[i].name, unary_dtypes[d]);
      tc_tensor *want = fx_load(FAM, name);
      tc_tensor *got = unary_ops[i].fn(x);
      ck_assert_msg(got != NULL, "%s failed: %s", what, tc_last_error());
      ck_assert_msg(tc_tensor_dtype(got) == tc_tensor_dtype(want), "%s: dtype %s, PyTorch %s", what,
                    tc_dtype_name(tc_tensor_dtype(got)), tc_dtype_name(tc_tensor_dtype(want)));
      double tol = tol_for(tc_tensor_dtype(want));
      assert_close(got, want, tol, tol * 1e-3, what);
      tc_tensor *got_t = unary_ops[i].fn(xt);
      tc_tensor *want_t = tc_t(want);
      assert_close(got_t, want_t, tol, tol * 1e-3, what);
      tc_tensor_release(want_t);
      tc_tensor_release(got_t);
      tc_tensor_release(got);
      tc_tensor_release(want);
    }
    tc_tensor_release(xt);
    tc_tensor_release(x);
  }
  LEAK_END;
}
END_TEST

/* ---- binary --------------------------------------------------------------------------------------- */
typedef tc_tensor *(*binary_fn)(const tc_tensor *, const tc_tensor *);
static tc_tensor *add2(const tc_tensor *a, const tc_tensor *b) {
  return tc_add(a, b, (tc_tensor_dtype(a) == TC_BOOL || tc_tensor_dtype(b) == TC_BOOL) ? 1.0 : 2.0);
}
static tc_tensor *sub1(const tc_tensor *a, const tc_tensor *b) { return tc_sub(a, b, 1.0); }
static tc_tensor *divf(const tc_tensor *a, const tc_tensor *b) { return tc_div_mode(a, b, TC_ROUND_FLOOR); }
static tc_tensor *divt(const tc_tensor *a, const tc_tensor *b) { return tc_div_mode(a, b, TC_ROUND_TRUNC); }
static const struct {
  const char *name;
  binary_fn fn;
} binary_ops[] = {
    {"add", add2},        {"sub", sub1},         {"mul", tc_mul},         {"div", tc_div},
    {"div_floor", divf},  {"div_trunc", divt},   {"remainder", tc_remainder}, {"pow", tc_pow},
    {"minimum", tc_minimum}, {"maximum", tc_maximum}, {"eq", tc_eq},      {"ne", tc_ne},
    {"lt", tc_lt},        {"le", tc_le},         {"gt", tc_gt},           {"ge", tc_ge},
    {"logical_and", tc_logical_and}, {"logical_or", tc_logical_or}, {"logical_xor", tc_logical_xor},
};
static const char *const binary_cases[] = {"f32", "f64", "f16", "i64", "i32", "u8", "bool", "i32_f32", "u8_i8",
                                           "f16_f32", "bool_i64", "i32_0d_i64", "f32_0d_f64", "i32_0d_f64", "nc"};

START_TEST(test_binary_table) {
  LEAK_BEGIN;
  for (size_t c = 0; c < sizeof binary_cases / sizeof *binary_cases; c++) {
    char name[128];
    snprintf(name, sizeof name, "bin_a_%s", binary_cases[c]);
    tc_tensor *a = fx_load(FAM, name);
    snprintf(name, sizeof name, "bin_b_%s", binary_cases[c]);
    tc_tensor *b = fx_load(FAM, name);
    tc_tensor *ua = a, *ub = b;
    if (!strcmp(binary_cases[c], "nc")) { /* rebuild the non-contiguous layouts of the fixture */
      tc_scope_push();
      ua = tc_scope_keep(tc_t(tc_contiguous(tc_t(a))));         /* column-major (4, 5) */
      ub = tc_scope_keep(tc_expand(tc_slice(b, 1, 0, 1, 1), SHAPE(4, 5), 2)); /* stride 0 */
      tc_scope_pop();
      ck_assert(!tc_tensor_is_contiguous(ua) && !tc_tensor_is_contiguous(ub));
    }
    for (size_t i = 0; i < sizeof binary_ops / sizeof *binary_ops; i++) {
      char what[160];
      snprintf(what, sizeof what, "%s(%s)", binary_ops[i].name, binary_cases[c]);
      snprintf(name, sizeof name, "bin_%s_%s_error", binary_ops[i].name, binary_cases[c]);
      tc_tensor *err = fx_try_load(FAM, name);
      tc_clear_error();
      tc_tensor *got = binary_ops[i].fn(ua, ub);
      if (err) {
        tc_tensor_release(err);
        ck_assert_msg(got == NULL, "%s: PyTorch raises but ctorch returned a tensor", what);
        ck_assert_msg(tc_last_status() == TC_ERR_DTYPE || tc_last_status() == TC_ERR_ARG, "%s: got %s (%s)", what,
                      tc_status_name(tc_last_status()), tc_last_error());
        continue;
      }
      snprintf(name, sizeof name, "bin_%s_%s", binary_ops[i].name, binary_cases[c]);
      tc_tensor *want = fx_load(FAM, name);
      ck_assert_msg(got != NULL, "%s failed: %s", what, tc_last_error());
      ck_assert_msg(tc_tensor_dtype(got) == tc_tensor_dtype(want), "%s: dtype %s, PyTorch %s", what,
                    tc_dtype_name(tc_tensor_dtype(got)), tc_dtype_name(tc_tensor_dtype(want)));
      double tol = tol_for(tc_tensor_dtype(want));
      assert_close(got, want, tol, tol * 1e-3, what);
      tc_tensor_release(got);
      tc_tensor_release(want);
    }
    if (ua != a) {
      tc_tensor_release(ua);
      tc_tensor_release(ub);
    }
    tc_tensor_release(a);
    tc_tensor_release(b);
  }
  LEAK_END;
}
END_TEST

/* ---- scalar forms ----------------------------------------------------------------------------------- */
typedef tc_tensor *(*scalar_fn)(const tc_tensor *, double);
static const double scalars[] = {2, -3, 2.5, 0.5, -1, -0.5, 3, -2, 0};
static const struct {
  const char *name;
  scalar_fn fn;
} scalar_ops[] = {{"add", tc_add_scalar},   {"sub", tc_sub_scalar},     {"mul", tc_mul_scalar},
                  {"div", tc_div_scalar},   {"remainder", tc_remainder_scalar}, {"pow", tc_pow_scalar},
                  {"rsub", tc_rsub_scalar}, {"minimum", tc_minimum_scalar}, {"gt", tc_gt_scalar},
                  {"eq", tc_eq_scalar}};

START_TEST(test_scalar_ops) {
  LEAK_BEGIN;
  const char *dts[] = {"f32", "i64", "i32", "bool"};
  for (size_t d = 0; d < 4; d++) {
    char name[128];
    snprintf(name, sizeof name, "sc_a_%s", dts[d]);
    tc_tensor *a = fx_load(FAM, name);
    for (size_t si = 0; si < sizeof scalars / sizeof *scalars; si++) {
      for (size_t i = 0; i < sizeof scalar_ops / sizeof *scalar_ops; i++) {
        char what[160];
        snprintf(what, sizeof what, "%s(%s, %g)", scalar_ops[i].name, dts[d], scalars[si]);
        snprintf(name, sizeof name, "sc_%s_%s_%zu_error", scalar_ops[i].name, dts[d], si);
        tc_tensor *err = fx_try_load(FAM, name);
        tc_clear_error();
        tc_tensor *got = scalar_ops[i].fn(a, scalars[si]);
        if (err) {
          tc_tensor_release(err);
          ck_assert_msg(got == NULL, "%s: PyTorch raises but ctorch returned a tensor", what);
          continue;
        }
        snprintf(name, sizeof name, "sc_%s_%s_%zu", scalar_ops[i].name, dts[d], si);
        tc_tensor *want = fx_load(FAM, name);
        ck_assert_msg(got != NULL, "%s failed: %s", what, tc_last_error());
        ck_assert_msg(tc_tensor_dtype(got) == tc_tensor_dtype(want), "%s: dtype %s, PyTorch %s", what,
                      tc_dtype_name(tc_tensor_dtype(got)), tc_dtype_name(tc_tensor_dtype(want)));
        double tol = tol_for(tc_tensor_dtype(want));
        assert_close(got, want, tol, tol * 1e-3, what);
        tc_tensor_release(got);
        tc_tensor_release(want);
      }
    }
    tc_tensor_release(a);
  }
  LEAK_END;
}
END_TEST

START_TEST(test_clamp) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *fa = fx_load(FAM, "bin_a_f32"), *ia = fx_load(FAM, "bin_a_i64");
  assert_close(tc_clamp(fa, -1, 2), fx_load(FAM, "clamp_f32"), 0, 0, "clamp f32");
  assert_close(tc_clamp(fa, 0.5, INFINITY), fx_load(FAM, "clamp_f32_min"), 0, 0, "clamp min");
  assert_equal(tc_clamp(ia, -2, 6), fx_load(FAM, "clamp_i64"), "clamp i64");
  assert_equal(tc_clamp(ia, 0.5, 6.5), fx_load(FAM, "clamp_i64_float"), "clamp i64 float bounds");
  assert_close(tc_clamp(fa, 2, -1), fx_load(FAM, "clamp_f32_inverted"), 0, 0, "clamp inverted");
  assert_close(tc_clamp_tensor(fa, fx_load(FAM, "clamp_lo"), fx_load(FAM, "clamp_hi")), fx_load(FAM, "clamp_tensor"),
               0, 0, "clamp tensor");
  tc_tensor *c = tc_clone(fa);
  ck_assert_int_eq(tc_clamp_inplace(c, -1, 2), TC_OK);
  assert_close(c, fx_load(FAM, "clamp_f32"), 0, 0, "clamp_");
  tc_tensor *ic = tc_clone(ia);
  ck_assert_int_eq(tc_clamp_inplace(ic, 0.5, 6.5), TC_ERR_DTYPE); /* float result into int64 */
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* complex64 values compared as (re, im) pairs of float32 */
static void assert_complex_close(const tc_tensor *got, const tc_tensor *want, const char *what) {
  ck_assert_msg(got != NULL, "%s failed: %s", what, tc_last_error());
  ck_assert_int_eq(tc_tensor_dtype(got), TC_C64);
  ck_assert_int_eq(tc_tensor_numel(got), tc_tensor_numel(want));
  tc_tensor *g = tc_contiguous(got), *w = tc_contiguous(want);
  const float *pg = tc_tensor_data(g), *pw = tc_tensor_data(w);
  for (int64_t i = 0; i < 2 * tc_tensor_numel(g); i++)
    ck_assert_msg(fabsf(pg[i] - pw[i]) <= 1e-5f * (1 + fabsf(pw[i])), "%s: component %lld: %g vs %g", what,
                  (long long)i, pg[i], pw[i]);
  tc_tensor_release(g);
  tc_tensor_release(w);
}

START_TEST(test_complex) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *a = fx_load(FAM, "cx_a"), *b = fx_load(FAM, "cx_b");
  ck_assert_int_eq(tc_tensor_dtype(a), TC_C64);
  assert_complex_close(tc_add(a, b, 2.0), fx_load(FAM, "cx_add"), "complex add");
  assert_complex_close(tc_sub(a, b, 1.0), fx_load(FAM, "cx_sub"), "complex sub");
  assert_complex_close(tc_mul(a, b), fx_load(FAM, "cx_mul"), "complex mul");
  assert_complex_close(tc_div(a, b), fx_load(FAM, "cx_div"), "complex div");
  assert_complex_close(tc_neg(a), fx_load(FAM, "cx_neg"), "complex neg");
  assert_close(tc_abs(a), fx_load(FAM, "cx_abs"), 1e-6, 1e-6, "complex abs");
  assert_complex_close(tc_add(a, fx_load(FAM, "bin_b_f32"), 1.0), fx_load(FAM, "cx_add_f32"), "complex + float");
  ck_assert_ptr_null(tc_exp(a));
  assert_error(TC_ERR_UNSUPPORTED, "complex64");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_inplace) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *x = tc_arange(0, 6, 1, TC_OPTS(.dtype = TC_F32));
  tc_tensor *m = tc_reshape(x, SHAPE(2, 3), 2);
  tc_tensor *row = T_F32(SHAPE(3), 1, 10, 20, 30);
  ck_assert_int_eq(tc_add_inplace(m, row, 1.0), TC_OK); /* broadcasts other */
  const float *d = tc_tensor_data(x);
  ck_assert(d[0] == 10 && d[5] == 35);
  /* self is never broadcast */
  ck_assert_int_eq(tc_add_inplace(row, m, 1.0), TC_ERR_SHAPE);
  assert_error(TC_ERR_SHAPE, "doesn't match the broadcast shape");
  /* float result cannot go into an int tensor */
  tc_tensor *ix = tc_arange(0, 4, 1, NULL);
  ck_assert_int_eq(tc_div_scalar_inplace(ix, 2), TC_ERR_DTYPE);
  assert_error(TC_ERR_DTYPE, "can't be cast");
  ck_assert_int_eq(tc_mul_scalar_inplace(ix, 3), TC_OK);
  ck_assert_int_eq(((int64_t *)tc_tensor_data(ix))[3], 9);
  /* int tensor += float tensor is refused; float tensor += int tensor works */
  tc_tensor *f4 = tc_ones(SHAPE(4), 1, NULL);
  ck_assert_int_eq(tc_add_inplace(ix, f4, 1.0), TC_ERR_DTYPE);
  tc_tensor *f = tc_zeros(SHAPE(4), 1, NULL);
  ck_assert_int_eq(tc_add_inplace(f, ix, 0.5), TC_OK);
  ck_assert(((float *)tc_tensor_data(f))[3] == 4.5f);
  /* x += x.T-like overlap is computed as if from a copy */
  tc_tensor *sq = tc_reshape(tc_arange(0, 4, 1, TC_OPTS(.dtype = TC_F32)), SHAPE(2, 2), 2);
  ck_assert_int_eq(tc_add_inplace(sq, tc_t(sq), 1.0), TC_OK);
  const float *s = tc_tensor_data(sq);
  ck_assert(s[0] == 0 && s[1] == 3 && s[2] == 3 && s[3] == 6);
  /* in-place on a strided view writes through to the base */
  tc_tensor *col = tc_select(m, 1, 1);
  ck_assert_int_eq(tc_neg_inplace(col), TC_OK);
  ck_assert(d[1] == -21 && d[4] == -24);
  ck_assert_int_eq(tc_relu_inplace(col), TC_OK);
  ck_assert(d[1] == 0 && d[4] == 0);
  ck_assert_int_eq(tc_sqrt_inplace(ix), TC_ERR_DTYPE);
  ck_assert_int_eq(tc_exp_inplace(f), TC_OK);
  ck_assert_int_eq(tc_sigmoid_inplace(f), TC_OK);
  ck_assert_int_eq(tc_pow_scalar_inplace(f, 2), TC_OK);
  ck_assert_int_eq(tc_sub_inplace(f, f, 1.0), TC_OK);
  ck_assert(((float *)tc_tensor_data(f))[0] == 0.0f);
  tc_tensor *t2 = tc_ones(SHAPE(3), 1, NULL);
  ck_assert_int_eq(tc_mul_inplace(t2, row), TC_OK);
  ck_assert_int_eq(tc_div_inplace(t2, row), TC_OK);
  ck_assert_int_eq(tc_sub_scalar_inplace(t2, 1), TC_OK);
  ck_assert_int_eq(tc_add_scalar_inplace(t2, 1), TC_OK);
  ck_assert(((float *)tc_tensor_data(t2))[2] == 1.0f);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_errors) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *a = tc_zeros(SHAPE(2, 3), 2, NULL), *b = tc_zeros(SHAPE(4, 5), 2, NULL);
  ck_assert_ptr_null(tc_add(a, b, 1));
  assert_error(TC_ERR_SHAPE, "tc_add: shapes [2, 3] and [4, 5] cannot broadcast");
  tc_clear_error();
  ck_assert_ptr_null(tc_mul(a, NULL));
  assert_error(TC_ERR_ARG, "tc_mul: b is NULL");
  tc_tensor *i = tc_arange(0, 3, 1, NULL);
  ck_assert_ptr_null(tc_add(i, i, 0.5));
  assert_error(TC_ERR_ARG, "alpha");
  ck_assert_ptr_null(tc_floor_divide(i, i)); /* 0 // 0 */
  assert_error(TC_ERR_ARG, "division by zero");
  ck_assert_ptr_null(tc_pow_scalar(i, -1));
  assert_error(TC_ERR_ARG, "negative integer powers");
  tc_tensor *bo = tc_gt_scalar(i, 0);
  ck_assert_ptr_null(tc_sub(bo, bo, 1));
  assert_error(TC_ERR_DTYPE, "bool");
  ck_assert_ptr_null(tc_neg(bo));
  assert_error(TC_ERR_DTYPE, "tc_neg");
  /* complex128 does not exist */
  tc_tensor *c = tc_zeros(SHAPE(2), 1, TC_OPTS(.dtype = TC_C64)), *f64 = tc_zeros(SHAPE(2), 1, TC_OPTS(.dtype = TC_F64));
  ck_assert_ptr_null(tc_add(c, f64, 1));
  assert_error(TC_ERR_DTYPE, "complex128");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

static int add_chain(void *ctx) {
  (void)ctx;
  tc_tensor *a = tc_ones(SHAPE(3, 4), 2, NULL);
  tc_tensor *b = tc_arange(0, 4, 1, NULL);          /* int64: promotes */
  tc_tensor *h = a ? tc_to_dtype(a, TC_F16) : NULL; /* f16 path computes in f32 */
  tc_tensor *c = tc_add(h, b, 2.0);
  tc_tensor *d = tc_exp(c);
  tc_tensor *e = tc_gt(d, a);
  int rc = e ? 0 : 1;
  tc_tensor *all[] = {a, b, h, c, d, e};
  for (int i = 0; i < 6; i++) tc_tensor_release(all[i]);
  return rc;
}

START_TEST(test_alloc_failures) { check_alloc_failures(add_chain, NULL, "elementwise chain"); }
END_TEST

START_TEST(test_large_parallel_matches_serial) {
  /* a result must not depend on the thread count */
  LEAK_BEGIN;
  tc_scope_push();
  int64_t n = 1 << 20;
  tc_tensor *x = tc_linspace(-5, 5, n, NULL);
  tc_set_num_threads(1);
  tc_tensor *a = tc_tanh(tc_mul(x, x));
  tc_set_num_threads(2);
  tc_tensor *b = tc_tanh(tc_mul(x, x));
  assert_equal(a, b, "threads 1 vs 2");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

int main(void) {
  Suite *s = suite_create("core_elementwise");
  TCase *tc = tcase_create("elementwise");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_unary_table);
  tcase_add_test(tc, test_binary_table);
  tcase_add_test(tc, test_scalar_ops);
  tcase_add_test(tc, test_clamp);
  tcase_add_test(tc, test_complex);
  tcase_add_test(tc, test_inplace);
  tcase_add_test(tc, test_errors);
  tcase_add_test(tc, test_alloc_failures);
  tcase_add_test(tc, test_large_parallel_matches_serial);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
