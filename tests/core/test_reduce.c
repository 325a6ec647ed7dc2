/* Reductions and scans: golden cases against PyTorch (every op, layouts, dtypes, NaN/inf, empty and
 * 0-d inputs, error cases), summation accuracy, bit-identical results for 1 and 2 threads, error
 * messages, leaks and allocation failures. */
#include <stdlib.h>
#include "reduce_cases.h"

START_TEST(test_golden_cases) {
  LEAK_BEGIN;
  int ran = run_reduce_cases(OP_SUM, OP_SOFTMAX);
  ck_assert_int_gt(ran, 800);
  LEAK_END;
}
END_TEST

/* ---- helpers ------------------------------------------------------------------------------------ */

/* Deterministic pseudo-random floats in [-1, 1) (a small LCG, no dependence on tc_rand). */
static tc_tensor *lcg_tensor(const int64_t *shape, int64_t ndim, tc_dtype dt, uint64_t seed) {
  tc_tensor *t = tc_empty(shape, ndim, TC_OPTS(.dtype = TC_F64));
  double *d = tc_tensor_data(t);
  for (int64_t i = 0; i < tc_tensor_numel(t); i++) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    d[i] = (double)(seed >> 11) / 9007199254740992.0 * 2.0 - 1.0;
  }
  tc_tensor *r = tc_to_dtype(t, dt);
  tc_tensor_release(t);
  return r;
}

static void assert_same_bits(const tc_tensor *a, const tc_tensor *b, const char *what) {
  ck_assert_msg(a && b, "%s: NULL result: %s", what, tc_last_error());
  ck_assert_int_eq(tc_tensor_numel(a), tc_tensor_numel(b));
  ck_assert_int_eq(tc_tensor_dtype(a), tc_tensor_dtype(b));
  size_t n = (size_t)tc_tensor_numel(a) * tc_tensor_element_size(a);
  ck_assert_msg(n == 0 || memcmp(tc_tensor_data(a), tc_tensor_data(b), n) == 0,
                "%s: bits differ between 1 and 2 threads", what);
}

/* ---- accuracy ----------------------------------------------------------------------------------- */

START_TEST(test_sum_accuracy) {
  LEAK_BEGIN;
  /* 10^7 values of 0.1f: a naive float running sum is off by ~1e-2 relative; pairwise is ~1e-7 */
  int64_t n = 10000000;
  tc_tensor *x = tc_full(&n, 1, 0.1, NULL);
  double want = (double)n * (double)0.1f;
  for (int threads = 1; threads <= 2; threads++) {
    tc_set_num_threads(threads);
    tc_tensor *s = tc_sum(x, NULL, 0, false);
    double got;
    ck_assert_int_eq(tc_item_double(s, &got), TC_OK);
    ck_assert_msg(fabs(got - want) <= 1e-6 * want, "sum %.9g vs %.9g (rel %.3g)", got, want, fabs(got - want) / want);
    tc_tensor_release(s);
    tc_tensor *m = tc_mean(x, NULL, 0, false);
    ck_assert_int_eq(tc_item_double(m, &got), TC_OK);
    ck_assert_msg(fabs(got - 0.1f) <= 1e-6 * 0.1, "mean %.9g", got);
    tc_tensor_release(m);
  }
  /* the same along columns: (10^5, 70) reduced over dim 0 (the columns kernel) and its transpose */
  tc_tensor *y = tc_full(SHAPE(100000, 70), 2, 0.1, NULL);
  tc_tensor *cs = tc_sum(y, SHAPE(0), 1, false);
  tc_tensor *yt = tc_t(y);
  tc_tensor *rs = tc_sum(yt, SHAPE(1), 1, false);
  const float *pc = tc_tensor_data(cs), *pr = tc_tensor_data(rs);
  double w2 = 100000.0 * (double)0.1f;
  for (int j = 0; j < 70; j++) {
    ck_assert_msg(fabs(pc[j] - w2) <= 1e-6 * w2, "column %d: %.9g vs %.9g", j, pc[j], w2);
    ck_assert_msg(fabs(pr[j] - w2) <= 1e-6 * w2, "row %d: %.9g vs %.9g", j, pr[j], w2);
  }
  tc_tensor_release(rs);
  tc_tensor_release(yt);
  tc_tensor_release(cs);
  tc_tensor_release(y);
  tc_tensor_release(x);
  tc_set_num_threads(2);
  LEAK_END;
}
END_TEST

/* Long rows (several chunks), many rows, columns and the copy path against double sums. */
START_TEST(test_sum_matches_double) {
  LEAK_BEGIN;
  struct {
    int64_t shape[3];
    int ndim;
    int64_t dims[2];
    int nd;
  } cases[] = {
      {{3, 100003}, 2, {-1}, 1},     /* rows of several chunks */
      {{1, 250001}, 2, {1}, 1},      /* one long row: split across threads */
      {{2000, 33}, 2, {0}, 1},       /* columns, pairwise over 2000 rows */
      {{40, 50, 60}, 3, {0, 2}, 2},  /* dims that do not merge: copy path */
      {{7, 9, 11}, 3, {1}, 1},       /* columns with an outer dim */
      {{50000, 5}, 2, {0}, 1},       /* narrow columns of contiguous rows */
      {{3000, 7, 3}, 3, {1}, 1},     /* narrow columns with an outer dim */
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    tc_tensor *x = lcg_tensor(cases[c].shape, cases[c].ndim, TC_F32, 100 + c);
    tc_tensor *xd = tc_to_dtype(x, TC_F64);
    tc_tensor *s = tc_sum(x, cases[c].dims, cases[c].nd, false);
    tc_tensor *sd = tc_sum(xd, cases[c].dims, cases[c].nd, false);
    tc_tensor *m = tc_mean(x, cases[c].dims, cases[c].nd, true);
    tc_tensor *md = tc_mean(xd, cases[c].dims, cases[c].nd, true);
    /* |error| of a pairwise float sum of n values in [-1, 1) is far below 1e-6 * n */
    int64_t n = tc_tensor_numel(x) / tc_tensor_numel(s);
    assert_close(s, sd, 0, 1e-6 + 2e-7 * sqrt((double)n), "sum vs double");
    assert_close(m, md, 0, 1e-6, "mean vs double");
    tc_tensor *v = tc_var(x, cases[c].dims, cases[c].nd, 1, false);
    tc_tensor *vd = tc_var(xd, cases[c].dims, cases[c].nd, 1, false);
    assert_close(v, vd, 1e-6, 1e-7, "var vs double");
    tc_tensor *all[] = {x, xd, s, sd, m, md, v, vd};
    for (int i = 0; i < 8; i++) tc_tensor_release(all[i]);
  }
  LEAK_END;
}
END_TEST

/* ---- determinism -------------------------------------------------------------------------------- */

typedef tc_tensor *(*red_fn)(const tc_tensor *x);
static tc_tensor *f_sum_all(const tc_tensor *x) { return tc_sum(x, NULL, 0, false); }
static tc_tensor *f_sum_last(const tc_tensor *x) { return tc_sum(x, SHAPE(-1), 1, false); }
static tc_tensor *f_sum_first(const tc_tensor *x) { return tc_sum(x, SHAPE(0), 1, false); }
static tc_tensor *f_sum_02(const tc_tensor *x) { return tc_sum(x, SHAPE(0, 2), 2, false); }
static tc_tensor *f_mean_all(const tc_tensor *x) { return tc_mean(x, NULL, 0, false); }
static tc_tensor *f_var_last(const tc_tensor *x) { return tc_var(x, SHAPE(-1), 1, 1, false); }
static tc_tensor *f_std_all(const tc_tensor *x) { return tc_std(x, NULL, 0, 0, false); }
static tc_tensor *f_norm_first(const tc_tensor *x) { return tc_norm(x, 2, SHAPE(0), 1, false); }
static tc_tensor *f_norm3_all(const tc_tensor *x) { return tc_norm(x, 3, NULL, 0, false); }
static tc_tensor *f_lse_last(const tc_tensor *x) { return tc_logsumexp(x, SHAPE(-1), 1, false); }
static tc_tensor *f_prod_last(const tc_tensor *x) { return tc_prod(x, SHAPE(-1), 1, false); }
static tc_tensor *f_max_all(const tc_tensor *x) { return tc_max(x); }
static tc_tensor *f_argmax_first(const tc_tensor *x) { return tc_argmax(x, 0, false); }
static tc_tensor *f_argmin_all(const tc_tensor *x) { return tc_argmin(x, TC_ALL_DIMS, false); }
static tc_tensor *f_cumsum_last(const tc_tensor *x) { return tc_cumsum(x, -1); }
static tc_tensor *f_cumsum_first(const tc_tensor *x) { return tc_cumsum(x, 0); }
static tc_tensor *f_any_last(const tc_tensor *x) { return tc_any(x, SHAPE(-1), 1, false); }

START_TEST(test_thread_count_bit_identity) {
  LEAK_BEGIN;
  const int64_t shapes[][2] = {{4, 300007}, {1, 1000003}, {3000, 257}, {64, 4096}, {20000, 3}};
  red_fn fns[] = {f_sum_all, f_sum_last, f_sum_first, f_mean_all, f_var_last, f_std_all, f_norm_first, f_norm3_all,
                  f_lse_last, f_prod_last, f_max_all, f_argmax_first, f_argmin_all, f_cumsum_last, f_cumsum_first,
                  f_any_last};
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    tc_tensor *x = lcg_tensor(shapes[s], 2, TC_F32, 7 + s);
    tc_tensor *xt = tc_t(x);
    for (size_t f = 0; f < sizeof fns / sizeof fns[0]; f++) {
      for (int tr = 0; tr < 2; tr++) {
        const tc_tensor *in = tr ? xt : x;
        tc_set_num_threads(1);
        tc_tensor *a = fns[f](in);
        tc_set_num_threads(2);
        tc_tensor *b = fns[f](in);
        char what[96];
        snprintf(what, sizeof what, "fn %zu shape %zu transposed %d", f, s, tr);
        assert_same_bits(a, b, what);
        tc_tensor_release(a);
        tc_tensor_release(b);
      }
    }
    tc_tensor *y = tc_reshape(x, SHAPE(shapes[s][0], -1, 1), 3);
    tc_tensor *z = tc_expand(y, SHAPE(shapes[s][0], shapes[s][1], 3), 3);
    tc_set_num_threads(1);
    tc_tensor *a = f_sum_02(z);
    tc_set_num_threads(2);
    tc_tensor *b = f_sum_02(z);
    assert_same_bits(a, b, "sum over dims (0, 2) of an expanded view");
    tc_tensor *all[] = {a, b, z, y, xt, x};
    for (int i = 0; i < 6; i++) tc_tensor_release(all[i]);
  }
  LEAK_END;
}
END_TEST

/* ---- semantics not covered by the table ---------------------------------------------------------- */

START_TEST(test_shapes_and_outputs) {
  LEAK_BEGIN;
  tc_tensor *x = T_F32(SHAPE(2, 3), 2, 1, 5, 2, 7, 0, 7);
  /* keepdim shapes, negative dims, an empty dim list means every dim */
  tc_tensor *a = tc_sum(x, SHAPE(-1), 1, true);
  assert_shape(a, SHAPE(2, 1), 2);
  tc_tensor *b = tc_sum(x, SHAPE(0), 0, false); /* ndims 0: all dims */
  assert_shape(b, NULL, 0);
  double v;
  tc_item_double(b, &v);
  ck_assert(v == 22.0);
  /* max_dim: either output may be NULL; ties give the first index */
  tc_tensor *vals = NULL, *idx = NULL;
  ck_assert_int_eq(tc_max_dim(x, 1, false, &vals, NULL), TC_OK);
  ck_assert_int_eq(tc_max_dim(x, 1, true, NULL, &idx), TC_OK);
  assert_shape(vals, SHAPE(2), 1);
  assert_shape(idx, SHAPE(2, 1), 2);
  const int64_t *ip = tc_tensor_data(idx);
  ck_assert_int_eq(ip[0], 1);
  ck_assert_int_eq(ip[1], 0);
  ck_assert_int_eq(tc_max_dim(x, 0, false, NULL, NULL), TC_OK);
  /* argmax over everything with keepdim keeps every dim as 1 */
  tc_tensor *am = tc_argmax(x, TC_ALL_DIMS, true);
  assert_shape(am, SHAPE(1, 1), 2);
  ck_assert_int_eq(*(const int64_t *)tc_tensor_data(am), 3);
  /* results are new tensors, not views of the input */
  tc_tensor *s0 = tc_sum(x, SHAPE(0), 1, false);
  ck_assert(!tc_tensor_shares_storage(s0, x));
  tc_tensor *all[] = {x, a, b, vals, idx, am, s0};
  for (int i = 0; i < 7; i++) tc_tensor_release(all[i]);
  LEAK_END;
}
END_TEST

START_TEST(test_errors) {
  LEAK_BEGIN;
  tc_tensor *x = T_F32(SHAPE(2, 3), 2, 1, 2, 3, 4, 5, 6);
  tc_tensor *xi = T_I64(SHAPE(2, 3), 2, 1, 2, 3, 4, 5, 6);
  tc_tensor *e = tc_zeros(SHAPE(0, 3), 2, NULL);
  tc_tensor *vals = (tc_tensor *)1, *idx = (tc_tensor *)1;

  ck_assert_ptr_null(tc_sum(x, SHAPE(2), 1, false));
  assert_error(TC_ERR_ARG, "tc_sum: dim 2 out of range");
  ck_assert_ptr_null(tc_mean(x, SHAPE(-3), 1, false));
  assert_error(TC_ERR_ARG, "tc_mean: dim -3 out of range");
  ck_assert_ptr_null(tc_sum(x, SHAPE(0, -2), 2, false));
  assert_error(TC_ERR_ARG, "tc_sum: dim 0 appears multiple times in the list of dims [0, -2]");
  ck_assert_ptr_null(tc_var(x, SHAPE(1, 1), 2, 1, false));
  assert_error(TC_ERR_ARG, "appears multiple times");
  ck_assert_ptr_null(tc_sum(x, SHAPE(0), -1, false));
  assert_error(TC_ERR_ARG, "ndims");

  ck_assert_ptr_null(tc_mean(xi, NULL, 0, false));
  assert_error(TC_ERR_DTYPE, "tc_mean: needs a floating point input, got int64");
  ck_assert_ptr_null(tc_var(xi, NULL, 0, 1, false));
  assert_error(TC_ERR_DTYPE, "tc_var");
  ck_assert_ptr_null(tc_std(xi, NULL, 0, 1, false));
  assert_error(TC_ERR_DTYPE, "tc_std");
  ck_assert_ptr_null(tc_norm(xi, 2, NULL, 0, false));
  assert_error(TC_ERR_DTYPE, "tc_norm");
  ck_assert_ptr_null(tc_norm(x, NAN, NULL, 0, false));
  assert_error(TC_ERR_ARG, "p is NaN");
  ck_assert_ptr_null(tc_norm(e, INFINITY, SHAPE(0), 1, false));
  assert_error(TC_ERR_ARG, "tc_norm: cannot compute the inf norm");

  ck_assert_ptr_null(tc_max(e));
  assert_error(TC_ERR_ARG, "tc_max: expected a non-empty input (shape [0, 3])");
  ck_assert_ptr_null(tc_min(e));
  assert_error(TC_ERR_ARG, "tc_min");
  ck_assert_int_eq(tc_max_dim(e, 0, false, &vals, &idx), TC_ERR_ARG);
  ck_assert_ptr_null(vals);
  ck_assert_ptr_null(idx);
  assert_error(TC_ERR_ARG, "tc_max_dim: cannot reduce dim 0 of size 0");
  ck_assert_int_eq(tc_min_dim(x, TC_ALL_DIMS, false, &vals, &idx), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "use tc_min");
  ck_assert_ptr_null(tc_argmax(e, TC_ALL_DIMS, false));
  assert_error(TC_ERR_ARG, "tc_argmax: expected a non-empty input");
  ck_assert_ptr_null(tc_argmin(x, 5, false));
  assert_error(TC_ERR_ARG, "tc_argmin: dim 5 out of range");
  ck_assert_ptr_null(tc_cumsum(x, 2));
  assert_error(TC_ERR_ARG, "tc_cumsum: dim 2");

  /* NULL inputs keep the first message */
  tc_clear_error();
  ck_assert_ptr_null(tc_sum(NULL, NULL, 0, false));
  assert_error(TC_ERR_ARG, "tc_sum: t is NULL");
  ck_assert_ptr_null(tc_mean(tc_sum(x, SHAPE(7), 1, false), NULL, 0, false));
  assert_error(TC_ERR_ARG, "tc_sum: dim 7");
  ck_assert_int_eq(tc_max_dim(NULL, 0, false, &vals, &idx), TC_ERR_ARG);
  ck_assert_ptr_null(tc_cumprod(NULL, 0));
  ck_assert_ptr_null(tc_argmax(NULL, 0, false));

  tc_tensor_release(e);
  tc_tensor_release(xi);
  tc_tensor_release(x);
  LEAK_END;
}
END_TEST

/* ---- allocation failures -------------------------------------------------------------------------- */

static int run_var_half(void *ctx) {
  const tc_tensor *x = ctx;
  tc_tensor *v = tc_var(x, SHAPE(0, 2), 2, 1, true); /* f16 -> f32 copy, two passes, a copy path */
  tc_tensor_release(v);
  return v ? 0 : 1;
}

static int run_misc(void *ctx) {
  const tc_tensor *x = ctx;
  tc_tensor *vals = NULL, *idx = NULL;
  tc_status st = tc_min_dim(x, 1, false, &vals, &idx);
  tc_tensor *a = tc_argmax(x, TC_ALL_DIMS, false);
  tc_tensor *l = tc_logsumexp(x, SHAPE(1), 1, false);
  tc_tensor *c = tc_cumsum(x, 1);
  tc_tensor *n = tc_norm(x, 3, NULL, 0, false);
  tc_tensor *y = tc_any(x, SHAPE(0), 1, false);
  int rc = (st == TC_OK && a && l && c && n && y) ? 0 : 1;
  tc_tensor *all[] = {vals, idx, a, l, c, n, y};
  for (int i = 0; i < 7; i++) tc_tensor_release(all[i]);
  return rc;
}

START_TEST(test_alloc_failures) {
  tc_tensor *x = lcg_tensor(SHAPE(4, 5, 6), 3, TC_F16, 3);
  tc_tensor *xt = tc_transpose(x, 0, 2);
  check_alloc_failures(run_var_half, xt, "var of f16");
  check_alloc_failures(run_misc, xt, "min_dim, argmax, logsumexp, cumsum, norm, any");
  tc_tensor_release(xt);
  tc_tensor_release(x);
}
END_TEST

int main(void) {
  Suite *s = suite_create("core_reduce");
  TCase *tc = tcase_create("reduce");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_golden_cases);
  tcase_add_test(tc, test_sum_accuracy);
  tcase_add_test(tc, test_sum_matches_double);
  tcase_add_test(tc, test_thread_count_bit_identity);
  tcase_add_test(tc, test_shapes_and_outputs);
  tcase_add_test(tc, test_errors);
  tcase_add_test(tc, test_alloc_failures);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
