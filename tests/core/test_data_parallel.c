/* DataParallel (torch.nn.DataParallel) on CPU "devices": splitting the batch into chunks, running
 * the module once per chunk, gathering the outputs, gradients summed into the module's own
 * parameters, state_dict names ("module." prefix), several inputs, and errors. The CUDA suite
 * (tests/cuda/test_cuda_layers.c) repeats the comparison on a GPU. */
#include "test_util.h"

static tc_module *mlp(void) {
  tc_manual_seed(3);
  return tc_sequential_create(3, (tc_module *[]){tc_linear_create(6, 8, true), tc_tanh_create(),
                                                 tc_linear_create(8, 3, true)});
}

/* out = x @ ... : the same loss through the plain module and through DataParallel */
static void grads_of(tc_module *m, tc_module *run, const tc_tensor *x, const tc_tensor *r, tc_tensor **out,
                     tc_named_tensors *grads) {
  tc_module_zero_grad(m, true);
  *out = tc_module_forward(run, x);
  ck_assert_ptr_nonnull(*out);
  ck_assert_int_eq(tc_backward(tc_sum(tc_mul(*out, r), NULL, 0, false)), TC_OK);
  tc_named_tensors ps = {0};
  tc_module_named_parameters(m, &ps);
  grads->n = ps.n;
  grads->names = NULL;
  grads->tensors = tc_malloc(sizeof(tc_tensor *) * (size_t)ps.n);
  for (int64_t i = 0; i < ps.n; i++) grads->tensors[i] = tc_tensor_grad(ps.tensors[i]);
  tc_named_tensors_clear(&ps);
}

START_TEST(test_chunks_and_grads) {
  tc_scope_push();
  tc_module *ref = mlp(), *m = mlp();
  tc_device cpus[3] = {tc_cpu(), tc_cpu(), tc_cpu()};
  tc_module *dp = tc_data_parallel_create(m, cpus, 3);
  ck_assert_ptr_nonnull(dp);
  ck_assert_str_eq(tc_module_type(dp), "DataParallel");
  for (int64_t batch = 1; batch <= 10; batch += 3) { /* 1 row: one chunk; 10 rows: 4 + 4 + 2 */
    tc_tensor *x = tc_randn(SHAPE(batch, 6), 2, NULL), *r = tc_randn(SHAPE(batch, 3), 2, NULL);
    tc_tensor *o1, *o2;
    tc_named_tensors g1, g2;
    grads_of(ref, ref, x, r, &o1, &g1);
    grads_of(m, dp, x, r, &o2, &g2);
    assert_close(o2, o1, 1e-6, 1e-6, "DataParallel output");
    ck_assert_int_eq(g1.n, g2.n);
    for (int64_t i = 0; i < g1.n; i++) {
      assert_close(g2.tensors[i], g1.tensors[i], 1e-5, 1e-6, "gradient summed over the chunks");
      tc_tensor_release(g1.tensors[i]);
      tc_tensor_release(g2.tensors[i]);
    }
    tc_free(g1.tensors);
    tc_free(g2.tensors);
  }
  /* state_dict names as PyTorch's DataParallel: module.<name> */
  tc_named_tensors ps = {0};
  ck_assert_int_eq(tc_module_named_parameters(dp, &ps), TC_OK);
  ck_assert_int_eq(ps.n, 4);
  ck_assert_str_eq(ps.names[0], "module.0.weight");
  ck_assert_str_eq(ps.names[3], "module.2.bias");
  tc_named_tensors_clear(&ps);
  tc_module_destroy(dp);
  tc_module_destroy(ref);
  tc_scope_pop();
}
END_TEST

static tc_tensor *add2_forward(tc_module *m, const tc_tensor *const *in, int64_t n) {
  (void)m;
  return n == 2 ? tc_add(in[0], in[1], 1.0) : NULL;
}

START_TEST(test_inputs_and_errors) {
  tc_scope_push();
  tc_device cpus[2] = {tc_cpu(), tc_cpu()};
  tc_module *dp = tc_data_parallel_create(tc_module_create("Add2", add2_forward, NULL, NULL), cpus, 2);
  tc_tensor *a = tc_randn(SHAPE(5, 2), 2, NULL), *b = tc_randn(SHAPE(5, 2), 2, NULL);
  assert_close(tc_module_forward_n(dp, (const tc_tensor *[]){a, b}, 2), tc_add(a, b, 1.0), 0, 0, "two inputs");
  ck_assert_ptr_null(tc_module_forward_n(dp, (const tc_tensor *[]){a, tc_randn(SHAPE(4, 2), 2, NULL)}, 2));
  assert_error(TC_ERR_SHAPE, "batch size");
  ck_assert_ptr_null(tc_module_forward(dp, tc_scalar_tensor(1.0, NULL)));
  assert_error(TC_ERR_ARG, "batch dim");
  tc_module_destroy(dp);
  /* no devices on a machine without GPUs: the module is called as it is */
  if (tc_cuda_device_count() == 0) {
    tc_module *m = mlp();
    tc_module *pass = tc_data_parallel_create(m, NULL, 0);
    tc_tensor *x = tc_randn(SHAPE(3, 6), 2, NULL);
    assert_close(tc_module_forward(pass, x), tc_module_forward(m, x), 0, 0, "no GPU: pass-through");
    tc_module_destroy(pass);
    /* a module that is not on devices[0] */
    tc_module *m2 = mlp();
    ck_assert_ptr_null(tc_data_parallel_create(m2, (tc_device[]){tc_cuda(0)}, 1));
    tc_module_destroy(m2); /* still the caller's */
  }
  ck_assert_ptr_null(tc_data_parallel_create(NULL, cpus, 2));
  assert_error(TC_ERR_ARG, "module is NULL");
  tc_module *m3 = mlp();
  ck_assert_ptr_null(tc_data_parallel_create(m3, cpus, -1));
  tc_module_destroy(m3);
  tc_scope_pop();
}
END_TEST

int main(void) {
  Suite *s = suite_create("data_parallel");
  TCase *tc = tcase_create("data_parallel");
  tcase_add_test(tc, test_chunks_and_grads);
  tcase_add_test(tc, test_inputs_and_errors);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
