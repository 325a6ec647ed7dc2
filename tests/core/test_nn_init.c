/* torch.nn.init: values after tc_manual_seed against torch.nn.init after torch.manual_seed
 * (fixtures from tests/fixtures/gen/gen_nn_layers.py), gains, fans, both trunc_normal_ samplers,
 * a generator of its own, parameters that require grad, and errors without leaks. */
#include <string.h>
#include "test_util.h"

#define FAM "nn_layers"

typedef enum { K_UNIFORM, K_NORMAL, K_XU, K_XN, K_KU, K_KN, K_TN } kind;
typedef struct {
  const char *name;
  int64_t shape[4];
  int nd;
  kind k;
  double a, b, c, d;
  tc_fan_mode mode;
  tc_nonlinearity nl;
} init_case;

/* the order and seeds (100 + i) of gen_nn_layers.py's init_fixtures */
static const init_case cases[] = {
    {"uniform", {5, 7}, 2, K_UNIFORM, -0.5, 2.0, 0, 0, 0, 0},
    {"normal_small", {3, 4}, 2, K_NORMAL, 0.3, 2.0, 0, 0, 0, 0},
    {"normal", {6, 5}, 2, K_NORMAL, 0.3, 2.0, 0, 0, 0, 0},
    {"xavier_uniform", {8, 6, 3}, 3, K_XU, 1.5, 0, 0, 0, 0, 0},
    {"xavier_normal", {20, 10}, 2, K_XN, 0.7, 0, 0, 0, 0, 0},
    {"kaiming_uniform_relu", {16, 9, 3, 3}, 4, K_KU, 0, 0, 0, 0, TC_FAN_IN, TC_NONLIN_RELU},
    {"kaiming_uniform_leaky_out", {10, 12}, 2, K_KU, 0.2, 0, 0, 0, TC_FAN_OUT, TC_NONLIN_LEAKY_RELU},
    {"kaiming_normal_relu_out", {12, 20}, 2, K_KN, 0, 0, 0, 0, TC_FAN_OUT, TC_NONLIN_RELU},
    {"kaiming_normal_default", {7, 5, 2}, 3, K_KN, 0, 0, 0, 0, TC_FAN_IN, TC_NONLIN_LEAKY_RELU},
    {"trunc_normal", {50, 40}, 2, K_TN, 0.5, 2.0, -1.0, 3.0, 0, 0},
    {"trunc_normal_default", {9, 11}, 2, K_TN, 0.0, 1.0, -2.0, 2.0, 0, 0},
    {"trunc_normal_tail", {13, 7}, 2, K_TN, 0.0, 1.0, 1.0, 1.5, 0, 0}, /* uniform proposals */
    {"trunc_normal_far", {20}, 1, K_TN, -1.0, 0.5, 0.5, 4.0, 0, 0},    /* mean outside [a, b] */
};

static tc_status run_init(const init_case *c, tc_tensor *t, tc_generator *g) {
  switch (c->k) {
    case K_UNIFORM:
      return tc_init_uniform_(t, c->a, c->b, g);
    case K_NORMAL:
      return tc_init_normal_(t, c->a, c->b, g);
    case K_XU:
      return tc_init_xavier_uniform_(t, c->a, g);
    case K_XN:
      return tc_init_xavier_normal_(t, c->a, g);
    case K_KU:
      return tc_init_kaiming_uniform_(t, c->a, c->mode, c->nl, g);
    case K_KN:
      return tc_init_kaiming_normal_(t, c->a, c->mode, c->nl, g);
    case K_TN:
      return tc_init_trunc_normal_(t, c->a, c->b, c->c, c->d, g);
  }
  return TC_ERR_ARG;
}

START_TEST(test_init_fixtures) {
  LEAK_BEGIN;
  tc_scope_push();
  const init_case *c = &cases[_i];
  tc_manual_seed(100 + (uint64_t)_i);
  tc_tensor *t = tc_empty(c->shape, c->nd, NULL);
  ck_assert_int_eq(run_init(c, t, NULL), TC_OK);
  char name[64];
  snprintf(name, sizeof name, "init_%s", c->name);
  tc_tensor *e = fx_load(FAM, name);
  assert_equal(t, e, c->name);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_init_dtypes_and_generator) {
  LEAK_BEGIN;
  tc_scope_push();
  /* float64, float16 (every step rounds to half, as PyTorch's in-place ops), a transposed tensor */
  tc_manual_seed(120);
  tc_tensor *t = tc_empty(SHAPE(30, 20), 2, TC_OPTS(.dtype = TC_F64));
  ck_assert_int_eq(tc_init_trunc_normal_(t, 0.0, 1.5, -2.0, 1.0, NULL), TC_OK);
  assert_equal(t, fx_load(FAM, "init_trunc_normal_f64"), "trunc_normal f64");
  tc_manual_seed(121);
  t = tc_empty(SHAPE(6, 8), 2, TC_OPTS(.dtype = TC_F64));
  ck_assert_int_eq(tc_init_kaiming_uniform_(t, sqrt(5.0), TC_FAN_IN, TC_NONLIN_LEAKY_RELU, NULL), TC_OK);
  assert_equal(t, fx_load(FAM, "init_kaiming_uniform_f64"), "kaiming_uniform f64");
  tc_manual_seed(122);
  t = tc_empty(SHAPE(10, 10), 2, TC_OPTS(.dtype = TC_F16));
  ck_assert_int_eq(tc_init_trunc_normal_(t, 0.0, 1.0, -2.0, 2.0, NULL), TC_OK);
  assert_equal(t, fx_load(FAM, "init_trunc_normal_f16"), "trunc_normal f16");
  tc_manual_seed(123);
  t = tc_empty(SHAPE(12, 5), 2, TC_OPTS(.dtype = TC_F16));
  ck_assert_int_eq(tc_init_trunc_normal_(t, 0.2, 0.7, 1.0, 1.4, NULL), TC_OK);
  assert_equal(t, fx_load(FAM, "init_trunc_normal_tail_f16"), "trunc_normal tail f16");
  tc_manual_seed(124);
  t = tc_empty(SHAPE(8, 9), 2, TC_OPTS(.dtype = TC_F64));
  ck_assert_int_eq(tc_init_trunc_normal_(t, 0.0, 1.0, -3.0, -2.0, NULL), TC_OK);
  assert_equal(t, fx_load(FAM, "init_trunc_normal_tail_f64"), "trunc_normal tail f64");
  tc_manual_seed(125);
  t = tc_transpose(tc_empty(SHAPE(9, 6), 2, NULL), 0, 1);
  ck_assert_int_eq(tc_init_trunc_normal_(t, 0.0, 1.0, -0.5, 0.5, NULL), TC_OK);
  assert_equal(t, fx_load(FAM, "init_trunc_normal_t"), "trunc_normal transposed");
  /* a generator of its own leaves the default stream alone */
  tc_generator *g = tc_generator_create(7);
  tc_manual_seed(1);
  tc_tensor *before = tc_rand(SHAPE(3), 1, NULL);
  tc_manual_seed(1);
  t = tc_empty(SHAPE(4, 9), 2, NULL);
  ck_assert_int_eq(tc_init_xavier_uniform_(t, 1.0, g), TC_OK);
  assert_equal(t, fx_load(FAM, "init_xavier_uniform_gen"), "xavier_uniform generator");
  assert_equal(tc_rand(SHAPE(3), 1, NULL), before, "default stream untouched");
  tc_generator_destroy(g);
  /* constant, zeros, ones (any dtype) */
  tc_tensor *c = tc_empty(SHAPE(2, 3), 2, TC_OPTS(.dtype = TC_I64));
  ck_assert_int_eq(tc_init_constant_(c, 4), TC_OK);
  assert_equal(c, tc_full(SHAPE(2, 3), 2, 4, TC_OPTS(.dtype = TC_I64)), "constant");
  ck_assert_int_eq(tc_init_ones_(c), TC_OK);
  assert_equal(c, tc_ones(SHAPE(2, 3), 2, TC_OPTS(.dtype = TC_I64)), "ones");
  ck_assert_int_eq(tc_init_zeros_(c), TC_OK);
  assert_equal(c, tc_zeros(SHAPE(2, 3), 2, TC_OPTS(.dtype = TC_I64)), "zeros");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_gain_and_fans) {
  ck_assert(tc_init_calculate_gain(TC_NONLIN_LINEAR, 0) == 1.0);
  ck_assert(tc_init_calculate_gain(TC_NONLIN_SIGMOID, 0) == 1.0);
  ck_assert(tc_init_calculate_gain(TC_NONLIN_TANH, 0) == 5.0 / 3);
  ck_assert(tc_init_calculate_gain(TC_NONLIN_RELU, 0) == sqrt(2.0));
  ck_assert(tc_init_calculate_gain(TC_NONLIN_SELU, 0) == 0.75);
  ck_assert(tc_init_calculate_gain(TC_NONLIN_LEAKY_RELU, 0.01) == sqrt(2.0 / (1 + 0.01 * 0.01)));
  ck_assert(tc_init_calculate_gain(TC_NONLIN_LEAKY_RELU, sqrt(5.0)) == sqrt(2.0 / (1 + sqrt(5.0) * sqrt(5.0))));
  ck_assert(isnan(tc_init_calculate_gain((tc_nonlinearity)42, 0)));
  assert_error(TC_ERR_ARG, "unsupported nonlinearity");
  /* fans: a (3, 4, 5) tensor has fan_in 20, fan_out 15: xavier bound sqrt(6 / 35) */
  tc_scope_push();
  tc_tensor *t = tc_empty(SHAPE(3, 4, 5), 3, TC_OPTS(.dtype = TC_F64));
  ck_assert_int_eq(tc_init_xavier_uniform_(t, 1.0, NULL), TC_OK);
  double mx, mn, bound = sqrt(6.0 / 35.0);
  tc_item_double(tc_max(t), &mx);
  tc_item_double(tc_min(t), &mn);
  ck_assert(mx < bound && mn >= -bound && mx > 0.5 * bound);
  /* kaiming fan_out of a (300, 4, 50): std sqrt(2) / sqrt(300 * 50) */
  t = tc_empty(SHAPE(300, 4, 50), 3, TC_OPTS(.dtype = TC_F64));
  ck_assert_int_eq(tc_init_kaiming_normal_(t, 0, TC_FAN_OUT, TC_NONLIN_RELU, NULL), TC_OK);
  double sd;
  tc_item_double(tc_std(t, NULL, 0, 1, false), &sd);
  ck_assert_msg(fabs(sd - sqrt(2.0) / sqrt(300.0 * 50)) < 0.01 * sqrt(2.0 / 15000), "std %g", sd);
  tc_scope_pop();
}
END_TEST

START_TEST(test_init_parameters_and_versions) {
  LEAK_BEGIN;
  tc_scope_push();
  /* a leaf requiring grad is written under no_grad; no history, version bumped */
  tc_tensor *p = tc_zeros(SHAPE(4, 3), 2, NULL);
  tc_tensor_requires_grad_(p, true);
  ck_assert_int_eq(tc_init_kaiming_uniform_(p, sqrt(5.0), TC_FAN_IN, TC_NONLIN_LEAKY_RELU, NULL), TC_OK);
  ck_assert_int_eq(tc_init_trunc_normal_(p, 0, 1, -2, 2, NULL), TC_OK);
  ck_assert_int_eq(tc_init_constant_(p, 1.5), TC_OK);
  ck_assert(tc_tensor_is_leaf(p) && tc_tensor_requires_grad(p));
  /* a strided view is written in place */
  tc_tensor *base = tc_zeros(SHAPE(6, 8), 2, NULL);
  tc_tensor *v = tc_slice(tc_transpose(base, 0, 1), 0, 1, 7, 2); /* (3, 6) */
  ck_assert_int_eq(tc_init_uniform_(v, 1.0, 2.0, NULL), TC_OK);
  double mn;
  tc_item_double(tc_min(v), &mn);
  ck_assert(mn >= 1.0);
  tc_item_double(tc_sum(base, NULL, 0, false), &mn);
  ck_assert(mn >= 18.0 && mn < 36.0);
  /* zero-element tensors: kaiming is a no-op (PyTorch warns), even for 1-D */
  ck_assert_int_eq(tc_init_kaiming_uniform_(tc_empty(SHAPE(0), 1, NULL), 0, TC_FAN_IN, TC_NONLIN_RELU, NULL), TC_OK);
  ck_assert_int_eq(tc_init_kaiming_normal_(tc_empty(SHAPE(0, 5), 2, NULL), 0, TC_FAN_IN, TC_NONLIN_RELU, NULL), TC_OK);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_init_errors) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *v = tc_empty(SHAPE(5), 1, NULL), *m = tc_empty(SHAPE(3, 4), 2, NULL);
  ck_assert_int_eq(tc_init_xavier_uniform_(v, 1.0, NULL), TC_ERR_SHAPE);
  assert_error(TC_ERR_SHAPE,
               "tc_init_xavier_uniform_: fan in and fan out can not be computed for a tensor with fewer "
               "than 2 dimensions (got [5])");
  ck_assert_int_eq(tc_init_xavier_normal_(v, 1.0, NULL), TC_ERR_SHAPE);
  ck_assert_int_eq(tc_init_kaiming_uniform_(v, 0, TC_FAN_IN, TC_NONLIN_RELU, NULL), TC_ERR_SHAPE);
  assert_error(TC_ERR_SHAPE, "tc_init_kaiming_uniform_");
  ck_assert_int_eq(tc_init_kaiming_normal_(m, 0, (tc_fan_mode)7, TC_NONLIN_RELU, NULL), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "mode 7");
  ck_assert_int_eq(tc_init_kaiming_normal_(m, 0, TC_FAN_IN, (tc_nonlinearity)9, NULL), TC_ERR_ARG);
  tc_clear_error(); /* a NULL argument keeps an earlier message */
  ck_assert_int_eq(tc_init_uniform_(NULL, 0, 1, NULL), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "tc_init_uniform_: t is NULL");
  ck_assert_int_eq(tc_init_zeros_(NULL), TC_ERR_ARG);
  ck_assert_int_eq(tc_init_normal_(tc_empty(SHAPE(3), 1, TC_OPTS(.dtype = TC_I64)), 0, 1, NULL), TC_ERR_DTYPE);
  assert_error(TC_ERR_DTYPE, "floating-point");
  ck_assert_int_eq(tc_init_normal_(m, 0, -1, NULL), TC_ERR_ARG);
  ck_assert_int_eq(tc_init_uniform_(m, 2, 1, NULL), TC_ERR_ARG);
  ck_assert_int_eq(tc_init_trunc_normal_(m, 0, 1, 2, -2, NULL), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "[a, b] = [2, -2] is empty");
  tc_tensor *ex = tc_expand(tc_empty(SHAPE(1, 4), 2, NULL), SHAPE(3, 4), 2);
  ck_assert_int_eq(tc_init_normal_(ex, 0, 1, NULL), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "overlapping");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

static Suite *init_suite(void) {
  Suite *s = suite_create("nn_init");
  TCase *tc = tcase_create("init");
  tcase_add_loop_test(tc, test_init_fixtures, 0, (int)(sizeof cases / sizeof *cases));
  tcase_add_test(tc, test_init_dtypes_and_generator);
  tcase_add_test(tc, test_gain_and_fans);
  tcase_add_test(tc, test_init_parameters_and_versions);
  tcase_add_test(tc, test_init_errors);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return run_suite(init_suite()); }
