/* examples/linear_regression.c — fit a linear model y = X w + b by gradient descent, with the
 * gradients written out by hand (autograd arrives with the nn library).
 *
 *   X: (N, D) standard normal, y = X w* + b* + 0.1 noise, w: (D, 1), b: (1)
 *   loss = mean((X w + b - y)^2);  dL/dw = 2/N X^T (X w + b - y);  dL/db = 2 mean(X w + b - y)
 *
 * Each step runs in a scope, so the temporaries of the expressions are freed at its end.
 * Build and run: scripts/quickstart (or cmake --build build --target linear_regression).
 */
#include <ctorch/ctorch.h>
#include <stdio.h>
#include <stdlib.h>

#define N 4096
#define D 16

static int fail(const char *what) {
  fprintf(stderr, "linear_regression: %s: %s\n", what, tc_last_error());
  return 1;
}

int main(void) {
  tc_manual_seed(0);
  tc_tensor *X = tc_randn((int64_t[]){N, D}, 2, NULL);
  tc_tensor *w_true = tc_randn((int64_t[]){D, 1}, 2, NULL);
  tc_tensor *noise = tc_randn((int64_t[]){N, 1}, 2, NULL);
  if (!X || !w_true || !noise) return fail("data");
  /* y = X w* + 0.5 + 0.1 noise */
  tc_scope_push();
  tc_tensor *y = tc_scope_keep(tc_add(tc_add_scalar(tc_matmul(X, w_true), 0.5), noise, 0.1));
  tc_scope_pop();
  if (!y) return fail("targets");

  tc_tensor *w = tc_zeros((int64_t[]){D, 1}, 2, NULL);
  tc_tensor *b = tc_zeros((int64_t[]){1}, 1, NULL);
  const double lr = 0.1;
  double loss = 0;
  for (int step = 0; step <= 200; step++) {
    tc_scope_push();
    tc_tensor *err = tc_sub(tc_add(tc_matmul(X, w), b, 1.0), y, 1.0); /* (N, 1) */
    tc_tensor *l = tc_mean(tc_mul(err, err), NULL, 0, false);
    tc_tensor *gw = tc_mul_scalar(tc_matmul(tc_t(X), err), 2.0 / N); /* (D, 1) */
    tc_tensor *gb = tc_mul_scalar(tc_mean(err, NULL, 0, false), 2.0);
    tc_status s = tc_item_double(l, &loss);
    if (s == TC_OK) s = tc_sub_inplace(w, gw, lr);
    if (s == TC_OK) s = tc_sub_inplace(b, gb, lr);
    tc_scope_pop();
    if (s != TC_OK) return fail("training step");
    if (step % 40 == 0) printf("step %3d  loss %.6f\n", step, loss);
  }
  tc_scope_push();
  double werr = 0, bias = 0;
  tc_item_double(tc_max(tc_abs(tc_sub(w, w_true, 1.0))), &werr);
  tc_item_double(b, &bias);
  tc_scope_pop();
  printf("max |w - w*| = %.4f, b = %.4f (b* = 0.5), final loss %.5f (noise floor 0.01)\n", werr, bias, loss);
  tc_tensor *all[] = {X, w_true, noise, y, w, b};
  for (int i = 0; i < 6; i++) tc_tensor_release(all[i]);
  return (werr < 0.05 && loss < 0.02) ? 0 : 1;
}
