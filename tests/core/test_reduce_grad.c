/* Autograd of the reductions, scans and softmax: gradcheck in f64 and node names. */
#include "test_util.h"

static tc_tensor *leaf(const int64_t *shape, int64_t nd, double lo, double hi, uint64_t seed) {
  tc_generator *g = tc_generator_create(seed);
  tc_tensor *t = tc_rand(shape, nd, TC_OPTS(.dtype = TC_F64, .generator = g));
  tc_generator_destroy(g);
  tc_mul_scalar_inplace(t, hi - lo);
  tc_add_scalar_inplace(t, lo);
  tc_tensor_requires_grad_(t, true);
  return t;
}

typedef struct {
  const char *name;
  int which;
} red_case;

static tc_tensor *f(const tc_tensor *const *in, int64_t n, void *user) {
  (void)n;
  const tc_tensor *x = in[0]; /* (3, 4) */
  int64_t d1[] = {1}, d0[] = {-2};
  tc_tensor *v = NULL, *i = NULL;
  switch (((const red_case *)user)->which) {
    case 0: return tc_sum(x, d1, 1, false);
    case 1: return tc_sum(x, NULL, 0, false);
    case 2: return tc_mean(x, d0, 1, true);
    case 3: return tc_prod(x, d1, 1, false);
    case 4: return tc_var(x, d1, 1, 1.0, false);
    case 5: return tc_std(x, NULL, 0, 0.0, true);
    case 6: return tc_norm(x, 2, d1, 1, false);
    case 7: return tc_norm(x, 1, NULL, 0, false);
    case 8: return tc_norm(x, 3, d0, 1, false);
    case 9: return tc_norm(x, INFINITY, d1, 1, true);
    case 10: return tc_logsumexp(x, d1, 1, false);
    case 11: return tc_max(x);
    case 12: return tc_min(x);
    case 13: tc_max_dim(x, 1, false, &v, &i); tc_tensor_release(i); return v;
    case 14: tc_min_dim(x, 0, true, &v, &i); tc_tensor_release(i); return v;
    case 15: return tc_softmax(x, -1);
    case 16: return tc_log_softmax(x, 0);
    case 17: return tc_cumsum(x, 1);
    case 18: return tc_cumprod(x, 0);
    case 19: return tc_softmax(tc_t(x), 1); /* non-contiguous */
    default: return NULL;
  }
}

START_TEST(test_gradcheck_reductions) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *x = leaf(SHAPE(3, 4), 2, 0.5, 2.0, 11);
  static const red_case cases[] = {{"sum dim", 0},   {"sum all", 1},    {"mean", 2},     {"prod", 3},
                                   {"var", 4},       {"std", 5},        {"norm2", 6},    {"norm1", 7},
                                   {"norm3", 8},     {"norm inf", 9},   {"logsumexp", 10}, {"max", 11},
                                   {"min", 12},      {"max_dim", 13},   {"min_dim", 14}, {"softmax", 15},
                                   {"log_softmax", 16}, {"cumsum", 17}, {"cumprod", 18}, {"softmax nc", 19}};
  const tc_tensor *in[1] = {x};
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    tc_status s = tc_gradcheck(f, in, 1, (void *)&cases[k], 1e-6, 1e-6, 1e-5);
    ck_assert_msg(s == TC_OK, "gradcheck %s: %s", cases[k].name, tc_last_error());
  }
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_prod_with_zeros) {
  LEAK_BEGIN;
  tc_scope_push();
  /* rows: one zero, two zeros, none: d prod / d x_i = product of the others */
  tc_tensor *x = tc_tensor_from_data((double[]){2, 0, 3, 0, 5, 0, 1, 2, 4}, SHAPE(3, 3), 2, TC_F64);
  tc_tensor_requires_grad_(x, true);
  tc_tensor *p = tc_prod(x, SHAPE(1), 1, false);
  ck_assert_str_eq(tc_tensor_grad_fn_name(p), "ProdBackward1");
  ck_assert_int_eq(tc_backward_ex(p, tc_ones_like(p, NULL), false), TC_OK);
  tc_tensor *want = tc_tensor_from_data((double[]){0, 6, 0, 0, 0, 0, 8, 4, 2}, SHAPE(3, 3), 2, TC_F64);
  assert_close(tc_tensor_grad(x), want, 0, 0, "prod grad with zeros");
  /* names and no recording for integer results */
  tc_tensor *l = tc_sum(tc_mul_scalar(x, 1), NULL, 0, false);
  ck_assert_str_eq(tc_tensor_grad_fn_name(l), "SumBackward1");
  ck_assert_ptr_null(tc_tensor_grad_fn_name(tc_argmax(x, 1, false)));
  ck_assert_int_eq(tc_backward(l), TC_OK);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_cumprod_with_zeros) {
  LEAK_BEGIN;
  tc_scope_push();
  /* rows: a zero inside, two zeros, none; expected values from torch.cumprod's backward */
  tc_tensor *x = tc_tensor_from_data((double[]){2, 0, 3, 4, 0, 5, 0, 1, 1, 2, 3, 4}, SHAPE(3, 4), 2, TC_F64);
  tc_tensor_requires_grad_(x, true);
  tc_tensor *y = tc_cumprod(x, 1);
  ck_assert_str_eq(tc_tensor_grad_fn_name(y), "CumprodBackward0");
  tc_tensor *g = tc_tensor_from_data((double[]){1, 2, 3, 4, .5, 1, 2, 3, 1, 1, 1, 1}, SHAPE(3, 4), 2, TC_F64);
  ck_assert_int_eq(tc_backward_ex(y, g, false), TC_OK);
  tc_tensor *want =
      tc_tensor_from_data((double[]){1, 118, 0, 0, 5.5, 0, 0, 0, 33, 16, 10, 6}, SHAPE(3, 4), 2, TC_F64);
  assert_close(tc_tensor_grad(x), want, 1e-12, 0, "cumprod grad with zeros");
  /* and against finite differences, which are exact enough for a multilinear function */
  const tc_tensor *in[1] = {x};
  static const red_case cp = {"cumprod", 18};
  tc_tensor *xt = tc_contiguous(tc_detach(tc_t(x)));
  tc_tensor_requires_grad_(xt, true);
  const tc_tensor *in_t[1] = {xt};
  ck_assert_msg(tc_gradcheck(f, in, 1, (void *)&cp, 1e-6, 1e-6, 1e-5) == TC_OK, "%s", tc_last_error());
  ck_assert_msg(tc_gradcheck(f, in_t, 1, (void *)&cp, 1e-6, 1e-6, 1e-5) == TC_OK, "%s", tc_last_error());
  tc_scope_pop();
  LEAK_END;
}
END_TEST

int main(void) {
  Suite *s = suite_create("core_reduce_grad");
  TCase *tc = tcase_create("reduce_grad");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_gradcheck_reductions);
  tcase_add_test(tc, test_prod_with_zeros);
  tcase_add_test(tc, test_cumprod_with_zeros);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
