/* Autograd of convolution and padding: gradcheck in f64, node names, modules. */
#include "test_util.h"

static tc_tensor *leaf(const int64_t *shape, int64_t nd, uint64_t seed) {
  tc_generator *g = tc_generator_create(seed);
  tc_tensor *t = tc_randn(shape, nd, TC_OPTS(.dtype = TC_F64, .generator = g));
  tc_generator_destroy(g);
  tc_tensor_requires_grad_(t, true);
  return t;
}

static tc_tensor *f(const tc_tensor *const *in, int64_t n, void *user) {
  switch (*(const int *)user) {
    case 0: return tc_conv2d(in[0], in[1], in[2], TC_CONV(.stride = {2, 1}, .padding = {1, 2}, .dilation = {1, 2}));
    case 1: return tc_conv2d(in[0], in[1], NULL, TC_CONV(.groups = 2, .padding_kind = TC_CONV_SAME));
    case 2: return tc_conv1d(in[0], in[1], in[2], TC_CONV(.stride = {2}, .padding = {1}));
    case 3: return tc_pad(in[0], (int64_t[]){1, 2, 2, 1}, 4, TC_PAD_REFLECT, 0);
    case 4: return tc_pad(in[0], (int64_t[]){2, 1}, 2, TC_PAD_CIRCULAR, 0);
    default: return tc_pad(in[0], (int64_t[]){1, -1, 0, 2}, 4, TC_PAD_CONSTANT, 3.0);
  }
  (void)n;
}

START_TEST(test_gradcheck_conv) {
  LEAK_BEGIN;
  tc_scope_push();
  struct {
    int which, n;
    const tc_tensor *in[3];
    const char *what;
  } cases[] = {
      {0, 3, {leaf(SHAPE(2, 2, 5, 6), 4, 1), leaf(SHAPE(3, 2, 3, 2), 4, 2), leaf(SHAPE(3), 1, 3)}, "conv2d"},
      {1, 2, {leaf(SHAPE(1, 4, 5, 5), 4, 4), leaf(SHAPE(4, 2, 2, 3), 4, 5), NULL}, "conv2d groups same"},
      {2, 3, {leaf(SHAPE(2, 3, 7), 3, 6), leaf(SHAPE(2, 3, 3), 3, 7), leaf(SHAPE(2), 1, 8)}, "conv1d"},
      {3, 1, {leaf(SHAPE(1, 2, 4, 5), 4, 9)}, "pad reflect"},
      {4, 1, {leaf(SHAPE(2, 3, 4), 3, 10)}, "pad circular"},
      {5, 1, {leaf(SHAPE(2, 3, 4), 3, 11)}, "pad constant with crop"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    tc_status s = tc_gradcheck(f, cases[i].in, cases[i].n, &cases[i].which, 1e-6, 1e-6, 1e-5);
    ck_assert_msg(s == TC_OK, "gradcheck %s: %s", cases[i].what, tc_last_error());
  }
  ck_assert_str_eq(tc_tensor_grad_fn_name(f(cases[0].in, 3, &cases[0].which)), "ConvolutionBackward0");
  ck_assert_str_eq(tc_tensor_grad_fn_name(f(cases[3].in, 1, &cases[3].which)), "ReflectionPad2DBackward0");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_conv_modules) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_module *c = tc_conv2d_create(3, 8, 3, 3, TC_CONV2D_OPTS(.padding = {1, 1}, .padding_mode = TC_PAD_REFLECT));
  ck_assert_ptr_nonnull(c);
  tc_tensor *w = tc_module_parameter(c, "weight");
  assert_shape(w, SHAPE(8, 3, 3, 3), 4);
  assert_shape(tc_module_parameter(c, "bias"), SHAPE(8), 1);
  tc_tensor *y = tc_module_forward(c, tc_randn(SHAPE(2, 3, 6, 6), 4, NULL));
  assert_shape(y, SHAPE(2, 8, 6, 6), 4);
  ck_assert_int_eq(tc_backward(tc_sum(y, NULL, 0, false)), TC_OK);
  assert_shape(tc_tensor_grad(w), SHAPE(8, 3, 3, 3), 4);
  tc_module *c1 = tc_conv1d_create(4, 2, 3, TC_CONV2D_OPTS(.no_bias = true, .padding_kind = TC_CONV_SAME));
  ck_assert_ptr_null(tc_module_parameter(c1, "bias"));
  assert_shape(tc_module_forward(c1, tc_randn(SHAPE(1, 4, 9), 3, NULL)), SHAPE(1, 2, 9), 3);
  ck_assert_ptr_null(tc_conv2d_create(3, 8, 3, 3, TC_CONV2D_OPTS(.groups = 2)));
  assert_error(TC_ERR_ARG, "divisible by groups");
  tc_module_destroy(c);
  tc_module_destroy(c1);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

int main(void) {
  Suite *s = suite_create("core_conv_grad");
  TCase *tc = tcase_create("conv_grad");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_gradcheck_conv);
  tcase_add_test(tc, test_conv_modules);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
