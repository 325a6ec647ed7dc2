/* Autograd of the matrix products: gradcheck in f64 over every product and broadcasting matmul. */
#include "test_util.h"

static tc_tensor *leaf(const int64_t *shape, int64_t nd, uint64_t seed) {
  tc_generator *g = tc_generator_create(seed);
  tc_tensor *t = tc_randn(shape, nd, TC_OPTS(.dtype = TC_F64, .generator = g));
  tc_generator_destroy(g);
  tc_tensor_requires_grad_(t, true);
  return t;
}

static tc_tensor *f(const tc_tensor *const *in, int64_t n, void *user) {
  int which = *(const int *)user;
  switch (which) {
    case 0: return tc_mm(in[0], in[1]);
    case 1: return tc_bmm(in[0], in[1]);
    case 2: return tc_mv(in[0], in[1]);
    case 3: return tc_dot(in[0], in[1]);
    case 4: return tc_outer(in[0], in[1]);
    case 5: return tc_addmm(in[2], in[0], in[1], 0.5, 2.0);
    default: return tc_matmul(in[0], in[1]);
  }
  (void)n;
}

static void check(int which, const tc_tensor *a, const tc_tensor *b, const tc_tensor *c, const char *what) {
  const tc_tensor *in[3] = {a, b, c};
  tc_status s = tc_gradcheck(f, in, c ? 3 : 2, &which, 1e-6, 1e-6, 1e-5);
  ck_assert_msg(s == TC_OK, "gradcheck %s: %s", what, tc_last_error());
}

START_TEST(test_gradcheck_products) {
  LEAK_BEGIN;
  tc_scope_push();
  check(0, leaf(SHAPE(3, 4), 2, 1), leaf(SHAPE(4, 2), 2, 2), NULL, "mm");
  check(0, tc_t(leaf(SHAPE(4, 3), 2, 3)), leaf(SHAPE(4, 2), 2, 4), NULL, "mm transposed");
  check(1, leaf(SHAPE(2, 3, 4), 3, 5), leaf(SHAPE(2, 4, 2), 3, 6), NULL, "bmm");
  check(2, leaf(SHAPE(3, 4), 2, 7), leaf(SHAPE(4), 1, 8), NULL, "mv");
  check(3, leaf(SHAPE(5), 1, 9), leaf(SHAPE(5), 1, 10), NULL, "dot");
  check(4, leaf(SHAPE(3), 1, 11), leaf(SHAPE(4), 1, 12), NULL, "outer");
  check(5, leaf(SHAPE(3, 4), 2, 13), leaf(SHAPE(4, 2), 2, 14), leaf(SHAPE(2), 1, 15), "addmm broadcast input");
  check(6, leaf(SHAPE(4), 1, 16), leaf(SHAPE(4), 1, 17), NULL, "matmul 1-D 1-D");
  check(6, leaf(SHAPE(4), 1, 18), leaf(SHAPE(2, 4, 3), 3, 19), NULL, "matmul 1-D batched");
  check(6, leaf(SHAPE(2, 1, 3, 4), 4, 20), leaf(SHAPE(3, 4, 2), 3, 21), NULL, "matmul broadcast batch");
  check(6, leaf(SHAPE(2, 3, 4), 3, 22), leaf(SHAPE(4), 1, 23), NULL, "matmul batched 1-D");
  tc_tensor *a = leaf(SHAPE(2, 2), 2, 24);
  ck_assert_str_eq(tc_tensor_grad_fn_name(tc_mm(a, a)), "MmBackward0");
  ck_assert_str_eq(tc_tensor_grad_fn_name(tc_matmul(tc_unsqueeze(a, 0), a)), "MatmulBackward0");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

int main(void) {
  Suite *s = suite_create("core_linalg_grad");
  TCase *tc = tcase_create("linalg_grad");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_gradcheck_products);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
