/* Automatic mixed precision on the CPU (torch.autocast("cpu") runs in bfloat16): which ops cast to
 * what, values and gradients against PyTorch (tests/fixtures/amp, gen_amp.py), scopes nesting and
 * turning autocast off, backward outside the casts, and the gradient scaler's scale sequence,
 * skipped steps and errors. */
#include "test_util.h"

static tc_tensor *ld(const char *name) { return fx_load("amp", name); }

/* the fixture's two-layer net under autocast: h, y in bfloat16, the loss in float32 */
START_TEST(test_autocast_net) {
  tc_scope_push();
  tc_tensor *x = ld("x"), *t = ld("t");
  tc_tensor *p[4] = {tc_clone(ld("w1")), tc_clone(ld("b1")), tc_clone(ld("w2")), tc_clone(ld("b2"))};
  for (int i = 0; i < 4; i++) tc_tensor_requires_grad_(p[i], true);
  ck_assert(!tc_autocast_is_enabled(TC_DEVICE_CPU));
  ck_assert_int_eq(tc_autocast_push(TC_DEVICE_CPU, TC_BF16, true), TC_OK);
  ck_assert(tc_autocast_is_enabled(TC_DEVICE_CPU) && !tc_autocast_is_enabled(TC_DEVICE_CUDA));
  ck_assert_int_eq(tc_autocast_get_dtype(TC_DEVICE_CPU), TC_BF16);
  tc_tensor *h = tc_relu(tc_linear(x, p[0], p[1]));
  tc_tensor *y = tc_linear(h, p[2], p[3]);
  tc_tensor *loss = tc_cross_entropy(y, t, NULL);
  tc_autocast_pop();
  ck_assert(!tc_autocast_is_enabled(TC_DEVICE_CPU));
  ck_assert_int_eq(tc_tensor_dtype(h), TC_BF16);
  ck_assert_int_eq(tc_tensor_dtype(y), TC_BF16);
  ck_assert_int_eq(tc_tensor_dtype(loss), TC_F32);
  /* bfloat16 products: PyTorch rounds the float32 accumulation once, as the CPU kernels do */
  assert_close(tc_to_dtype(h, TC_F32), ld("h_bf16"), 8e-3, 1e-6, "h");
  assert_close(tc_to_dtype(y, TC_F32), ld("y_bf16"), 8e-3, 1e-6, "y");
  assert_close(loss, ld("loss"), 1e-3, 1e-6, "loss");
  ck_assert_int_eq(tc_backward(loss), TC_OK);
  const char *gn[4] = {"gw1", "gb1", "gw2", "gb2"};
  for (int i = 0; i < 4; i++) {
    tc_tensor *g = tc_tensor_grad(p[i]);
    ck_assert_msg(g && tc_tensor_dtype(g) == TC_F32, "%s: float32 gradient", gn[i]);
    assert_close(g, ld(gn[i]), 2e-2, 2e-3, gn[i]);
    tc_tensor_release(g);
  }
  tc_scope_pop();
}
END_TEST

START_TEST(test_autocast_policies) {
  tc_scope_push();
  tc_tensor *a = tc_randn(SHAPE(4, 6), 2, NULL), *b = tc_randn(SHAPE(6, 3), 2, NULL);
  tc_tensor *a64 = tc_to_dtype(a, TC_F64), *b64 = tc_to_dtype(b, TC_F64);
  ck_assert_int_eq(tc_autocast_push(TC_DEVICE_CPU, TC_F32 /* the device's default */, true), TC_OK);
  ck_assert_int_eq(tc_autocast_get_dtype(TC_DEVICE_CPU), TC_BF16);
  ck_assert_int_eq(tc_tensor_dtype(tc_mm(a, b)), TC_BF16);
  ck_assert_int_eq(tc_tensor_dtype(tc_matmul(a, b)), TC_BF16);
  ck_assert_int_eq(tc_tensor_dtype(tc_mm(a64, b64)), TC_F64); /* float64 is left alone */
  ck_assert_int_eq(tc_tensor_dtype(tc_add(a, a, 1.0)), TC_F32); /* not an autocast op */
  /* CPU: softmax keeps its input's dtype; the losses run in float32 */
  tc_tensor *si = tc_to_dtype(ld("softmax_in"), TC_BF16);
  tc_tensor *so = tc_softmax(si, -1);
  ck_assert_int_eq(tc_tensor_dtype(so), TC_BF16);
  assert_close(tc_to_dtype(so, TC_F32), ld("softmax_out"), 8e-3, 1e-6, "softmax bf16");
  tc_tensor *mse = tc_mse_loss(tc_to_dtype(ld("mse_a"), TC_BF16), ld("mse_b"), TC_REDUCTION_MEAN);
  ck_assert_int_eq(tc_tensor_dtype(mse), TC_F32);
  assert_close(mse, ld("mse"), 1e-6, 1e-7, "mse_loss");
  /* an inner scope turns autocast off, and back on when it ends */
  ck_assert_int_eq(tc_autocast_push(TC_DEVICE_CPU, TC_BF16, false), TC_OK);
  ck_assert_int_eq(tc_tensor_dtype(tc_mm(a, b)), TC_F32);
  tc_autocast_pop();
  ck_assert_int_eq(tc_tensor_dtype(tc_mm(a, b)), TC_BF16);
  /* float16 scope; conv2d lowers too */
  ck_assert_int_eq(tc_autocast_push(TC_DEVICE_CPU, TC_F16, true), TC_OK);
  ck_assert_int_eq(tc_tensor_dtype(tc_mm(a, b)), TC_F16);
  tc_tensor *x = tc_randn(SHAPE(1, 2, 5, 5), 4, NULL), *w = tc_randn(SHAPE(3, 2, 3, 3), 4, NULL);
  ck_assert_int_eq(tc_tensor_dtype(tc_conv2d(x, w, NULL, NULL)), TC_F16);
  tc_autocast_pop();
  tc_autocast_pop();
  ck_assert(!tc_autocast_is_enabled(TC_DEVICE_CPU));
  /* a CUDA scope does not touch CPU tensors */
  ck_assert_int_eq(tc_autocast_push(TC_DEVICE_CUDA, TC_F16, true), TC_OK);
  ck_assert_int_eq(tc_tensor_dtype(tc_mm(a, b)), TC_F32);
  tc_autocast_pop();
  /* errors */
  ck_assert_int_eq(tc_autocast_push(TC_DEVICE_CPU, TC_I32, true), TC_ERR_DTYPE);
  assert_error(TC_ERR_DTYPE, "float16 or bfloat16");
  ck_assert_int_eq(tc_autocast_push((tc_device_type)7, TC_BF16, true), TC_ERR_ARG);
  tc_autocast_pop(); /* without a scope: nothing */
  tc_scope_pop();
}
END_TEST

/* backward inside a scope runs without autocast: the gradients keep the forward's dtypes */
START_TEST(test_backward_in_scope) {
  tc_scope_push();
  tc_tensor *w = tc_randn(SHAPE(5, 4), 2, NULL), *x = tc_randn(SHAPE(3, 4), 2, NULL);
  tc_tensor_requires_grad_(w, true);
  tc_autocast_push(TC_DEVICE_CPU, TC_BF16, true);
  tc_tensor *loss = tc_sum(tc_to_dtype(tc_linear(x, w, NULL), TC_F32), NULL, 0, false);
  ck_assert_int_eq(tc_backward(loss), TC_OK);
  tc_autocast_pop();
  tc_tensor *g = tc_tensor_grad(w);
  ck_assert_int_eq(tc_tensor_dtype(g), TC_F32);
  /* d sum(x w^T) / dw = column sums of x (bf16-rounded x) */
  tc_tensor *xs = tc_sum(tc_to_dtype(tc_to_dtype(x, TC_BF16), TC_F32), SHAPE(0), 1, true);
  assert_close(g, tc_expand(xs, SHAPE(5, 4), 2), 1e-2, 1e-3, "grad in scope");
  tc_tensor_release(g);
  tc_scope_pop();
}
END_TEST

/* the scaler against torch.amp.GradScaler: scales over 12 steps, infinite gradients on 4 and 9 */
START_TEST(test_grad_scaler) {
  tc_scope_push();
  tc_tensor *p = tc_zeros(SHAPE(3), 1, NULL), *c = T_F32(SHAPE(3), 1, 1, 2, 3);
  tc_tensor_requires_grad_(p, true);
  tc_sgd_opts so = tc_sgd_defaults();
  so.lr = 0.1;
  tc_optimizer *opt = tc_sgd_create(&p, 1, &so);
  tc_grad_scaler_opts o = tc_grad_scaler_defaults();
  ck_assert(o.init_scale == 65536.0 && o.growth_factor == 2.0 && o.backoff_factor == 0.5 && o.growth_interval == 2000);
  o.init_scale = 1024, o.growth_interval = 3;
  tc_grad_scaler *s = tc_grad_scaler_create(&o);
  ck_assert_ptr_nonnull(s);
  tc_tensor *want = ld("scales");
  const double *wv = tc_tensor_data(want);
  for (int step = 0; step < 12; step++) {
    tc_scope_push();
    tc_optim_zero_grad(opt, true);
    tc_tensor *scaled = tc_grad_scaler_scale(s, tc_sum(tc_mul(p, c), NULL, 0, false));
    ck_assert_int_eq(tc_backward(scaled), TC_OK);
    if (step == 4 || step == 9) {
      tc_tensor *g = tc_tensor_grad(p);
      ((float *)tc_tensor_data(g))[1] = INFINITY;
      tc_tensor_release(g);
    }
    bool stepped = true;
    ck_assert_int_eq(tc_grad_scaler_step(s, opt, &stepped), TC_OK);
    ck_assert(stepped == !(step == 4 || step == 9));
    ck_assert_int_eq(tc_grad_scaler_update(s), TC_OK);
    ck_assert_msg(tc_grad_scaler_get_scale(s) == wv[step], "step %d: scale %g, torch %g", step,
                  tc_grad_scaler_get_scale(s), wv[step]);
    tc_scope_pop();
  }
  assert_close(p, ld("scaled_param"), 1e-6, 1e-7, "parameter after the scaled steps");
  /* unscale_ then clip, then step: the gradients are unscaled once */
  tc_optim_zero_grad(opt, true);
  ck_assert_int_eq(tc_backward(tc_grad_scaler_scale(s, tc_sum(tc_mul(p, c), NULL, 0, false))), TC_OK);
  ck_assert_int_eq(tc_grad_scaler_unscale_(s, opt), TC_OK);
  tc_tensor *g = tc_tensor_grad(p);
  assert_close(g, c, 0, 0, "unscaled gradient");
  tc_tensor_release(g);
  ck_assert_int_eq(tc_grad_scaler_unscale_(s, opt), TC_ERR_STATE);
  assert_error(TC_ERR_STATE, "already been called");
  ck_assert_int_eq(tc_grad_scaler_step(s, opt, NULL), TC_OK);
  ck_assert_int_eq(tc_grad_scaler_update(s), TC_OK);
  ck_assert_int_eq(tc_grad_scaler_update(s), TC_ERR_STATE); /* no step since */
  assert_error(TC_ERR_STATE, "no inf checks");
  /* state for checkpoints */
  ck_assert_int_eq(tc_grad_scaler_load(s, 512.0, 2), TC_OK);
  ck_assert(tc_grad_scaler_get_scale(s) == 512.0 && tc_grad_scaler_growth_tracker(s) == 2);
  ck_assert_int_eq(tc_grad_scaler_load(s, -1.0, 0), TC_ERR_ARG);
  tc_grad_scaler_destroy(s);
  /* disabled: scale 1, plain steps */
  o.enabled = false;
  s = tc_grad_scaler_create(&o);
  ck_assert(tc_grad_scaler_get_scale(s) == 1.0);
  tc_optim_zero_grad(opt, true);
  ck_assert_int_eq(tc_backward(tc_grad_scaler_scale(s, tc_sum(tc_mul(p, c), NULL, 0, false))), TC_OK);
  bool stepped = false;
  ck_assert_int_eq(tc_grad_scaler_step(s, opt, &stepped), TC_OK);
  ck_assert(stepped);
  ck_assert_int_eq(tc_grad_scaler_update(s), TC_OK);
  tc_grad_scaler_destroy(s);
  /* bad options */
  o = tc_grad_scaler_defaults();
  o.growth_factor = 1.0;
  ck_assert_ptr_null(tc_grad_scaler_create(&o));
  assert_error(TC_ERR_ARG, "growth_factor");
  o = tc_grad_scaler_defaults();
  o.growth_interval = 0;
  ck_assert_ptr_null(tc_grad_scaler_create(&o));
  tc_optim_destroy(opt);
  tc_tensor_release(p);
  tc_scope_pop();
}
END_TEST

int main(void) {
  Suite *s = suite_create("amp");
  TCase *tc = tcase_create("amp");
  tcase_add_test(tc, test_autocast_net);
  tcase_add_test(tc, test_autocast_policies);
  tcase_add_test(tc, test_backward_in_scope);
  tcase_add_test(tc, test_grad_scaler);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
