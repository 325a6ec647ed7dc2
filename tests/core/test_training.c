/* Whole training runs against PyTorch (tests/fixtures/gen/gen_training.py): the model and data
 * are rebuilt from the same seeds (ctorch's init and RNG equal PyTorch's), trained 20 steps with
 * SGD (momentum 0.9) and with Adam; per-step losses and final weights must agree to 1e-5
 * relative. */
#include "test_util.h"

#define FAM "training"

static tc_module *mlp(void) {
  return tc_sequential_create(5, (tc_module *[]){tc_linear_create(784, 512, true), tc_relu_create(),
                                                tc_linear_create(512, 256, true), tc_relu_create(),
                                                tc_linear_create(256, 10, true)});
}

static tc_module *lenet(void) {
  return tc_sequential_create(
      12, (tc_module *[]){tc_conv2d_create(1, 6, 5, 5, TC_CONV2D_OPTS(.padding = {2, 2})), tc_relu_create(),
                          tc_max_pool2d_create(TC_POOL(.kernel = {2, 2}), false), tc_conv2d_create(6, 16, 5, 5, NULL),
                          tc_relu_create(), tc_max_pool2d_create(TC_POOL(.kernel = {2, 2}), false),
                          tc_flatten_create(1, -1), tc_linear_create(400, 120, true), tc_relu_create(),
                          tc_linear_create(120, 84, true), tc_relu_create(), tc_linear_create(84, 10, true)});
}

static void run(const char *name, tc_module *(*make)(void), const int64_t *xshape, int xnd, bool adam) {
  char key[128];
  const char *on = adam ? "adam" : "sgd";
  tc_manual_seed(0);
  tc_module *model = make();
  ck_assert_msg(model != NULL, "%s: %s", name, tc_last_error());
  tc_manual_seed(1);
  tc_tensor *x = tc_randn(xshape, xnd, NULL);
  tc_tensor *y = tc_randint(0, 10, xshape, 1, NULL);
  tc_tensor_list params;
  ck_assert_int_eq(tc_module_parameters(model, &params), TC_OK);
  tc_optimizer *opt;
  if (adam) {
    tc_adam_opts o = tc_adam_defaults();
    o.lr = 1e-3;
    opt = tc_adam_create(params.data, params.n, &o);
  } else {
    tc_sgd_opts o = tc_sgd_defaults();
    o.lr = 0.05;
    o.momentum = 0.9;
    opt = tc_sgd_create(params.data, params.n, &o);
  }
  ck_assert_ptr_nonnull(opt);
  tc_module *loss_fn = tc_cross_entropy_loss_create(NULL);
  snprintf(key, sizeof key, "%s_%s_losses", name, on);
  tc_tensor *want = fx_load(FAM, key);
  const double *wl = tc_tensor_data(want);
  for (int step = 0; step < 20; step++) {
    tc_scope_push();
    ck_assert_int_eq(tc_optim_zero_grad(opt, true), TC_OK);
    tc_tensor *logits = tc_module_forward(model, x);
    tc_tensor *loss = tc_module_forward_n(loss_fn, (const tc_tensor *[]){logits, y}, 2);
    ck_assert_msg(loss != NULL, "%s step %d: %s", name, step, tc_last_error());
    ck_assert_int_eq(tc_backward(loss), TC_OK);
    ck_assert_int_eq(tc_optim_step(opt), TC_OK);
    double l;
    tc_item_double(loss, &l);
    ck_assert_msg(fabs(l - wl[step]) <= 1e-5 * fabs(wl[step]) + 1e-6, "%s/%s step %d: loss %.9g, PyTorch %.9g", name,
                  on, step, l, wl[step]);
    tc_scope_pop();
  }
  /* final parameters: the last layer in full, samples of the others. Adam divides by sqrt(v):
   * an element whose gradients are all near zero moves by about lr whatever their last bits, so
   * gradient sums in another order (PyTorch's conv kernels) shift it by up to ~1e-5 absolute. */
  double atol = adam ? 1e-5 : 1e-6;
  tc_named_tensors np;
  ck_assert_int_eq(tc_module_named_parameters(model, &np), TC_OK);
  for (int64_t i = 0; i < np.n; i++) {
    tc_scope_push();
    if (i >= np.n - 2) {
      snprintf(key, sizeof key, "%s_%s_final_%lld", name, on, (long long)i);
      assert_close(np.tensors[i], fx_load(FAM, key), 1e-5, atol, np.names[i]);
    } else {
      snprintf(key, sizeof key, "%s_%s_sample_%lld", name, on, (long long)i);
      tc_tensor *flat = tc_flatten(np.tensors[i], 0, -1);
      int64_t n = tc_tensor_numel(flat);
      tc_tensor *idx = tc_to_dtype(tc_linspace(0, (double)(n - 1), 64, NULL) /* float32, as torch */, TC_I64);
      assert_close(tc_index_select(flat, 0, idx), fx_load(FAM, key), 1e-5, atol, np.names[i]);
    }
    tc_scope_pop();
  }
  tc_named_tensors_clear(&np);
  tc_tensor_release(want);
  tc_module_destroy(loss_fn);
  tc_optim_destroy(opt);
  tc_tensor_list_clear(&params);
  tc_tensor_release(x);
  tc_tensor_release(y);
  tc_module_destroy(model);
}

START_TEST(test_mlp_sgd) { run("mlp", mlp, SHAPE(64, 784), 2, false); }
END_TEST
START_TEST(test_mlp_adam) { run("mlp", mlp, SHAPE(64, 784), 2, true); }
END_TEST
START_TEST(test_lenet_sgd) { run("lenet", lenet, SHAPE(64, 1, 28, 28), 4, false); }
END_TEST
START_TEST(test_lenet_adam) { run("lenet", lenet, SHAPE(64, 1, 28, 28), 4, true); }
END_TEST

int main(void) {
  Suite *s = suite_create("core_training");
  TCase *tc = tcase_create("training");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, test_mlp_sgd);
  tcase_add_test(tc, test_mlp_adam);
  tcase_add_test(tc, test_lenet_sgd);
  tcase_add_test(tc, test_lenet_adam);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
