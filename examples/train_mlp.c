/* examples/train_mlp.c — the PyTorch training loop in C: a model of modules, a loss, an
 * optimizer and a scheduler; zero_grad, forward, loss, backward, step; then save the weights
 * (safetensors, loadable by PyTorch) and load them back into a fresh model.
 *
 * The model includes a module written in C (Residual: a child module and a parameter).
 * The data is a synthetic 10-class problem (Gaussian clusters in 64 dimensions) so the example
 * runs anywhere; the vision library brings the Fashion-MNIST classifier.
 *   usage: train_mlp [weights.safetensors]
 */
#include <ctorch/ctorch.h>
#include <stdio.h>

#define N 2048
#define D 64
#define C 10
#define BATCH 128

static int fail(const char *what) {
  fprintf(stderr, "train_mlp: %s: %s\n", what, tc_last_error());
  return 1;
}

/* A module written in C: y = x + scale * relu(fc(x)), with a child ("fc") and a parameter
 * ("scale"), as a subclass of nn.Module would be in Python. */
static tc_tensor *residual_forward(tc_module *self, const tc_tensor *const *in, int64_t n) {
  if (n != 1) {
    tc_set_error(TC_ERR_ARG, "Residual: one input expected, got %lld", (long long)n);
    return NULL;
  }
  tc_tensor *h = tc_relu(tc_module_forward(tc_module_child(self, "fc"), in[0]));
  tc_tensor *s = tc_mul(h, tc_module_parameter(self, "scale"));
  tc_tensor *y = tc_add(in[0], s, 1.0);
  tc_tensor_release(h); /* (NULL-safe: an earlier failure passes through to y) */
  tc_tensor_release(s);
  return y;
}

static tc_module *residual_create(int64_t width) {
  tc_module *m = tc_module_create("Residual", residual_forward, NULL, NULL);
  if (!m || tc_module_add_child(m, "fc", tc_linear_create(width, width, true)) ||
      tc_module_register_parameter(m, "scale", tc_full((int64_t[]){1}, 1, 0.5, NULL))) {
    tc_module_destroy(m);
    return NULL;
  }
  return m;
}

static tc_module *make_model(void) {
  return tc_sequential_create(5, (tc_module *[]){tc_linear_create(D, 128, true), tc_relu_create(), tc_dropout_create(0.1),
                                                residual_create(128), tc_linear_create(128, C, true)});
}

/* accuracy of model on (x, y), in eval mode */
static double accuracy(tc_module *model, const tc_tensor *x, const tc_tensor *y) {
  double acc = -1;
  tc_module_train(model, false);
  tc_no_grad_push();
  tc_scope_push();
  tc_tensor *pred = tc_argmax(tc_module_forward(model, x), 1, false);
  tc_item_double(tc_mean(tc_to_dtype(tc_eq(pred, y), TC_F32), NULL, 0, false), &acc);
  tc_scope_pop();
  tc_no_grad_pop();
  tc_module_train(model, true);
  return acc;
}

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "train_mlp.safetensors";
  tc_manual_seed(0);
  /* data: class centres c_k, samples x = c_{y} + noise */
  tc_tensor *centres = tc_randn((int64_t[]){C, D}, 2, NULL);
  tc_tensor *y = tc_randint(0, C, (int64_t[]){N}, 1, NULL);
  tc_tensor *noise = tc_randn((int64_t[]){N, D}, 2, NULL);
  tc_scope_push();
  tc_tensor *x = tc_scope_keep(tc_add(tc_index_select(centres, 0, y), noise, 2.5));
  tc_scope_pop();
  if (!x) return fail("data");

  tc_module *model = make_model();
  tc_module *loss_fn = tc_cross_entropy_loss_create(NULL);
  tc_tensor_list params;
  if (!model || !loss_fn || tc_module_parameters(model, &params)) return fail("model");
  tc_sgd_opts o = tc_sgd_defaults();
  o.lr = 0.1;
  o.momentum = 0.9;
  tc_optimizer *opt = tc_sgd_create(params.data, params.n, &o);
  tc_lr_scheduler *sched = opt ? tc_step_lr_create(opt, 5, 0.5) : NULL;
  if (!sched) return fail("optimizer");
  printf("model: %lld parameters, accuracy before training %.3f\n", (long long)tc_module_num_parameter_elements(model),
         accuracy(model, x, y));

  for (int epoch = 0; epoch < 10; epoch++) {
    tc_tensor *perm = tc_randperm(N, NULL);
    double total = 0;
    for (int64_t b = 0; b < N / BATCH; b++) {
      tc_scope_push(); /* one training step: every temporary dies at the pop */
      tc_tensor *idx = tc_slice(perm, 0, b * BATCH, (b + 1) * BATCH, 1);
      tc_tensor *xb = tc_index_select(x, 0, idx), *yb = tc_index_select(y, 0, idx);
      tc_status s = tc_optim_zero_grad(opt, true);
      tc_tensor *loss = tc_module_forward_n(loss_fn, (const tc_tensor *[]){tc_module_forward(model, xb), yb}, 2);
      if (!s && !loss) s = tc_last_status();
      if (!s) s = tc_backward(loss);
      if (!s) s = tc_optim_step(opt);
      double l = 0;
      if (!s) s = tc_item_double(loss, &l);
      tc_scope_pop();
      if (s) return fail("training step");
      total += l;
    }
    tc_tensor_release(perm);
    tc_lr_scheduler_step(sched);
    printf("epoch %d  loss %.4f  lr %.4f\n", epoch, total / (N / BATCH), tc_optim_get_lr(opt, 0));
  }
  double acc = accuracy(model, x, y);
  if (tc_module_save(model, path)) return fail("save");

  /* a fresh model (other random weights) takes the saved state and gives the same predictions */
  tc_manual_seed(123);
  tc_module *again = make_model();
  if (!again || tc_module_load(again, path, true)) return fail("load");
  double acc2 = accuracy(again, x, y);
  printf("accuracy %.3f; reloaded from %s: %.3f\n", acc, path, acc2);

  tc_module_destroy(again);
  tc_lr_scheduler_destroy(sched);
  tc_optim_destroy(opt);
  tc_tensor_list_clear(&params);
  tc_module_destroy(loss_fn);
  tc_module_destroy(model);
  tc_tensor *all[] = {centres, y, noise, x};
  for (int i = 0; i < 4; i++) tc_tensor_release(all[i]);
  return (acc > 0.8 && acc == acc2) ? 0 : 1;
}
