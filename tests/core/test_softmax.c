/* softmax and log_softmax: golden cases against PyTorch (dims, layouts, dtypes, NaN/inf rows, empty
 * and 0-d inputs, integer inputs refused), stability for large inputs, the float32 exp's accuracy,
 * bit-identical results for 1 and 2 threads, errors, leaks and allocation failures. */
#include <stdlib.h>
#include "reduce_cases.h"

START_TEST(test_golden_cases) {
  LEAK_BEGIN;
  int ran = run_reduce_cases(OP_SOFTMAX, OP_COUNT);
  ck_assert_int_gt(ran, 60);
  LEAK_END;
}
END_TEST

/* Rows of large and spread-out values: no overflow, rows sum to 1, log_softmax = log(softmax). */
START_TEST(test_stable_and_consistent) {
  LEAK_BEGIN;
  int64_t shape[2] = {5, 1001};
  tc_tensor *x = tc_empty(shape, 2, NULL);
  float *d = tc_tensor_data(x);
  for (int r = 0; r < 5; r++)
    for (int i = 0; i < 1001; i++) d[r * 1001 + i] = (float)((r - 2) * 1000) + (float)((i * 37) % 101) * 0.5f;
  for (int dim = 0; dim < 2; dim++) {
    tc_tensor *s = tc_softmax(x, dim), *l = tc_log_softmax(x, dim);
    ck_assert_ptr_nonnull(s);
    ck_assert_ptr_nonnull(l);
    tc_tensor *tot = tc_sum(s, &(int64_t){dim}, 1, false);
    tc_tensor *one = tc_ones(tc_tensor_shape(tot), 1, NULL);
    assert_close(tot, one, 1e-5, 0, "softmax sums to 1");
    const float *ps = tc_tensor_data(s), *pl = tc_tensor_data(l);
    for (int64_t i = 0; i < 5 * 1001; i++) {
      ck_assert(isfinite(pl[i]));
      if (ps[i] > 1e-30f)
        ck_assert_msg(fabs(log(ps[i]) - pl[i]) <= 1e-4 * fabs(pl[i]) + 1e-5, "%lld: %g vs %g", (long long)i,
                      log(ps[i]), pl[i]);
    }
    tc_tensor *all[] = {s, l, tot, one};
    for (int i = 0; i < 4; i++) tc_tensor_release(all[i]);
  }
  tc_tensor_release(x);
  LEAK_END;
}
END_TEST

/* The vectorised expf behind float32 softmax against double exp, over the whole useful range
 * (including results in the subnormal range) and the special values. */
START_TEST(test_exp_accuracy) {
  LEAK_BEGIN;
  int64_t n = 200001;
  tc_tensor *x = tc_linspace(-104.5, 89.5, n, NULL);
  const float *px = tc_tensor_data(x);
  /* exp through softmax of the pair (x, 0) along dim 1 = 1 / (1 + e^-x): compare with double */
  tc_tensor *pair = tc_empty(SHAPE(n, 2), 2, NULL);
  float *pp = tc_tensor_data(pair);
  for (int64_t i = 0; i < n; i++) pp[2 * i] = px[i], pp[2 * i + 1] = 0.0f;
  tc_tensor *s = tc_softmax(pair, 1);
  const float *ps = tc_tensor_data(s);
  for (int64_t i = 0; i < n; i++) {
    double xv = px[i], m = xv > 0 ? xv : 0;
    double e0 = exp(xv - m), e1 = exp(0 - m), want = e0 / (e0 + e1);
    double err = fabs(ps[2 * i] - want);
    ck_assert_msg(err <= 4e-7 * want || err < 1e-44, "x = %.9g: %.9g vs %.9g", xv, ps[2 * i], want);
  }
  /* special values in one row */
  tc_tensor *sp = T_F32(SHAPE(1, 4), 2, -INFINITY, 0.0f, -200.0f, -87.5f);
  tc_tensor *ss = tc_softmax(sp, -1);
  const float *pss = tc_tensor_data(ss);
  ck_assert(pss[0] == 0.0f && pss[1] == 1.0f && pss[2] == 0.0f);
  ck_assert_msg(fabs(pss[3] - exp(-87.5)) <= 1e-6 * exp(-87.5) + 1e-45, "subnormal-range exp: %g", pss[3]);
  tc_tensor *all[] = {x, pair, s, sp, ss};
  for (int i = 0; i < 5; i++) tc_tensor_release(all[i]);
  LEAK_END;
}
END_TEST

static tc_tensor *lcg_tensor(const int64_t *shape, int64_t ndim, uint64_t seed) {
  tc_tensor *t = tc_empty(shape, ndim, NULL);
  float *d = tc_tensor_data(t);
  for (int64_t i = 0; i < tc_tensor_numel(t); i++) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    d[i] = (float)((double)(seed >> 11) / 9007199254740992.0 * 20.0 - 10.0);
  }
  return t;
}

START_TEST(test_thread_count_bit_identity) {
  LEAK_BEGIN;
  tc_tensor *x = lcg_tensor(SHAPE(300, 517), 2, 11);
  tc_tensor *xt = tc_t(x);
  tc_tensor *ins[] = {x, xt};
  for (int k = 0; k < 2; k++)
    for (int dim = 0; dim < 2; dim++)
      for (int lg = 0; lg < 2; lg++) {
        tc_set_num_threads(1);
        tc_tensor *a = lg ? tc_log_softmax(ins[k], dim) : tc_softmax(ins[k], dim);
        tc_set_num_threads(2);
        tc_tensor *b = lg ? tc_log_softmax(ins[k], dim) : tc_softmax(ins[k], dim);
        ck_assert(a && b);
        ck_assert(memcmp(tc_tensor_data(a), tc_tensor_data(b), 300 * 517 * sizeof(float)) == 0);
        tc_tensor_release(a);
        tc_tensor_release(b);
      }
  tc_tensor_release(xt);
  tc_tensor_release(x);
  LEAK_END;
}
END_TEST

START_TEST(test_errors) {
  LEAK_BEGIN;
  tc_tensor *xi = T_I64(SHAPE(2, 2), 2, 1, 2, 3, 4);
  tc_tensor *x = T_F32(SHAPE(2, 2), 2, 1, 2, 3, 4);
  ck_assert_ptr_null(tc_softmax(xi, 0));
  assert_error(TC_ERR_DTYPE, "tc_softmax: needs a floating point input, got int64");
  ck_assert_ptr_null(tc_log_softmax(xi, -1));
  assert_error(TC_ERR_DTYPE, "tc_log_softmax");
  ck_assert_ptr_null(tc_softmax(x, 2));
  assert_error(TC_ERR_ARG, "tc_softmax: dim 2 out of range");
  ck_assert_ptr_null(tc_log_softmax(x, -3));
  assert_error(TC_ERR_ARG, "tc_log_softmax: dim -3 out of range");
  tc_clear_error();
  ck_assert_ptr_null(tc_softmax(NULL, 0));
  assert_error(TC_ERR_ARG, "tc_softmax: t is NULL");
  tc_tensor_release(x);
  tc_tensor_release(xi);
  LEAK_END;
}
END_TEST

static int run_softmax_half(void *ctx) {
  tc_tensor *s = tc_softmax(ctx, 0);
  tc_tensor *l = tc_log_softmax(ctx, 1);
  int rc = s && l ? 0 : 1;
  tc_tensor_release(s);
  tc_tensor_release(l);
  return rc;
}

START_TEST(test_alloc_failures) {
  tc_tensor *x = lcg_tensor(SHAPE(6, 7), 2, 5);
  tc_tensor *h = tc_to_dtype(x, TC_BF16);
  tc_tensor *ht = tc_t(h);
  check_alloc_failures(run_softmax_half, ht, "softmax of transposed bf16");
  check_alloc_failures(run_softmax_half, x, "softmax of f32");
  tc_tensor_release(ht);
  tc_tensor_release(h);
  tc_tensor_release(x);
}
END_TEST

int main(void) {
  Suite *s = suite_create("core_softmax");
  TCase *tc = tcase_create("softmax");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_golden_cases);
  tcase_add_test(tc, test_stable_and_consistent);
  tcase_add_test(tc, test_exp_accuracy);
  tcase_add_test(tc, test_thread_count_bit_identity);
  tcase_add_test(tc, test_errors);
  tcase_add_test(tc, test_alloc_failures);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
