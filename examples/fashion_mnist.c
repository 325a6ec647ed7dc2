/* examples/fashion_mnist.c — train an image classifier, the PyTorch tutorial's way, in C.
 *
 *   fashion_mnist [--epochs N (5)] [--workers W (2)] [--batch B (64)] [--save file.safetensors] [DIR]
 *
 * DIR holds the MNIST-format files (train-images-idx3-ubyte[.gz], ...); with no DIR it is
 * Fashion-MNIST from Debian's dataset-fashion-mnist package (/usr/share/datasets/fashion-mnist).
 * The pipeline: the dataset (uint8 (1, 28, 28) images) -> ToDtype(float32, scale) -> a DataLoader
 * (shuffled, batches of 64, worker threads) -> a small CNN (two conv + pool blocks, two linear
 * layers) -> cross-entropy -> Adam. Each epoch shows a progress line (loss, accuracy, images/s) and
 * the test-split accuracy; at the end a confusion matrix, and the weights saved as safetensors
 * (loadable by PyTorch into the same nn.Sequential).
 */
#include <ctorch/ctorch.h>
#include <ctorch/dataloader.h>
#include <ctorch/vision.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const classes[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                        "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int fail(const char *what) {
  fprintf(stderr, "fashion_mnist: %s: %s\n", what, tc_last_error());
  return 1;
}

/* nn.Sequential(Conv2d(1, 32, 3, padding=1), ReLU, MaxPool2d(2), Conv2d(32, 64, 3, padding=1),
 * ReLU, MaxPool2d(2), Flatten, Linear(3136, 128), ReLU, Linear(128, 10)) */
static tc_module *make_model(void) {
  return tc_sequential_create(
      10, (tc_module *[]){tc_conv2d_create(1, 32, 3, 3, TC_CONV2D_OPTS(.padding = {1, 1})), tc_relu_create(),
                          tc_max_pool2d_create(TC_POOL(.kernel = {2, 2}), false),
                          tc_conv2d_create(32, 64, 3, 3, TC_CONV2D_OPTS(.padding = {1, 1})), tc_relu_create(),
                          tc_max_pool2d_create(TC_POOL(.kernel = {2, 2}), false), tc_flatten_create(1, -1),
                          tc_linear_create(3136, 128, true), tc_relu_create(), tc_linear_create(128, 10, true)});
}

/* images -> float in [0, 1] (ToDtype(float32, scale=True)) */
static td_dataset *prepare(td_dataset *raw) {
  td_dataset *t = raw ? td_transformed(raw, "input", tr_to_dtype(TC_F32, true), NULL, NULL) : NULL;
  td_release(raw); /* the wrapper holds its own reference */
  return t;
}

/* Accuracy on a split; fills confusion[true][predicted] when given. */
static double evaluate(tc_module *model, td_loader *dl, int64_t confusion[10][10]) {
  tc_module_train(model, false);
  tc_no_grad_push();
  int64_t right = 0, total = 0;
  td_sample b;
  bool end = false;
  while (td_loader_next(dl, &b, &end) == TC_OK && !end) {
    tc_scope_push();
    const tc_tensor *y = td_sample_field(&b, "target")->tensor;
    tc_tensor *pred = tc_argmax(tc_module_forward(model, td_sample_field(&b, "input")->tensor), 1, false);
    if (pred) {
      const int64_t *p = tc_tensor_data(pred), *t = tc_tensor_data(y);
      for (int64_t i = 0; i < tc_tensor_numel(y); i++) {
        right += p[i] == t[i];
        if (confusion) confusion[t[i]][p[i]]++;
      }
      total += tc_tensor_numel(y);
    }
    tc_scope_pop();
    td_sample_clear(&b);
  }
  tc_no_grad_pop();
  tc_module_train(model, true);
  return total ? (double)right / (double)total : 0;
}

int main(int argc, char **argv) {
  const char *dir = "/usr/share/datasets/fashion-mnist", *save = "fashion_mnist.safetensors";
  int epochs = 5, workers = 2;
  const bool tty = isatty(1); /* a live progress line on a terminal, quarter marks in a log */
  int64_t batch = 64;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--epochs") && i + 1 < argc) epochs = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--workers") && i + 1 < argc) workers = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = atoll(argv[++i]);
    else if (!strcmp(argv[i], "--save") && i + 1 < argc) save = argv[++i];
    else if (argv[i][0] != '-') dir = argv[i];
    else {
      fprintf(stderr, "usage: fashion_mnist [--epochs N] [--workers W] [--batch B] [--save file] [DIR]\n");
      return 2;
    }
  }
  td_dataset *train = prepare(tv_mnist(dir, true)), *test = prepare(tv_mnist(dir, false));
  if (!train || !test) {
    fail("loading the dataset");
    fprintf(stderr, "(Fashion-MNIST: apt install dataset-fashion-mnist, or give an MNIST-format directory)\n");
    return 1;
  }
  printf("%s: %lld training and %lld test images\n", dir, (long long)td_len(train), (long long)td_len(test));

  td_loader_opts o = TD_LOADER_DEFAULTS;
  o.batch_size = batch;
  o.shuffle = true;
  o.num_workers = workers;
  o.seed = 0;
  td_loader *train_dl = td_loader_create(train, &o);
  o.shuffle = false;
  o.batch_size = 1000;
  td_loader *test_dl = td_loader_create(test, &o);
  tc_manual_seed(0);
  tc_module *model = make_model();
  tc_module *loss_fn = tc_cross_entropy_loss_create(NULL);
  tc_tensor_list params = {0};
  if (!train_dl || !test_dl || !model || !loss_fn || tc_module_parameters(model, &params)) return fail("setting up");
  tc_adam_opts ao = tc_adam_defaults();
  tc_optimizer *opt = tc_adam_create(params.data, params.n, &ao);
  if (!opt) return fail("optimizer");

  int64_t steps = td_loader_len(train_dl);
  double t_start = now_s(), acc = 0;
  for (int e = 0; e < epochs; e++) {
    double t0 = now_s(), loss_sum = 0;
    int64_t seen = 0, right = 0, step = 0;
    td_sample b;
    bool end = false;
    while (td_loader_next(train_dl, &b, &end) == TC_OK && !end) {
      tc_scope_push();
      const tc_tensor *x = td_sample_field(&b, "input")->tensor, *y = td_sample_field(&b, "target")->tensor;
      tc_optim_zero_grad(opt, true);
      tc_tensor *logits = tc_module_forward(model, x);
      tc_tensor *loss = tc_module_forward_n(loss_fn, (const tc_tensor *[]){logits, y}, 2);
      if (!loss || tc_backward(loss) || tc_optim_step(opt)) return fail("training step");
      double l = 0;
      tc_item_double(loss, &l);
      tc_tensor *pred = tc_argmax(logits, 1, false);
      const int64_t *p = tc_tensor_data(pred), *t = tc_tensor_data(y);
      int64_t n = tc_tensor_numel(y);
      for (int64_t i = 0; i < n; i++) right += p[i] == t[i];
      loss_sum += l * (double)n;
      seen += n;
      step++;
      tc_scope_pop();
      td_sample_clear(&b);
      bool show = tty ? (step % 20 == 0 || step == steps) : (step * 4 / steps != (step - 1) * 4 / steps);
      if (show) {
        int bar = (int)(30 * step / steps);
        printf("%sepoch %d/%d [%.*s%*s] %3d%%  loss %.4f  acc %.4f  %6.0f img/s%s", tty ? "\r" : "", e + 1, epochs, bar,
               "##############################", 30 - bar, "", (int)(100 * step / steps), loss_sum / (double)seen,
               (double)right / (double)seen, (double)seen / (now_s() - t0), tty ? "" : "\n");
        fflush(stdout);
      }
    }
    acc = evaluate(model, test_dl, NULL);
    printf("%s  test accuracy %.4f (%.1f s so far)\n", tty ? "\n" : "", acc, now_s() - t_start);
  }

  int64_t confusion[10][10] = {{0}};
  acc = evaluate(model, test_dl, confusion);
  printf("\nconfusion matrix (rows: true class, columns: predicted), test accuracy %.4f\n%12s", acc, "");
  for (int c = 0; c < 10; c++) printf("%5d", c);
  printf("\n");
  for (int r = 0; r < 10; r++) {
    printf("%11s ", classes[r]);
    for (int c = 0; c < 10; c++) printf("%5lld", (long long)confusion[r][c]);
    printf("\n");
  }
  if (tc_module_save(model, save)) return fail("saving the weights");
  printf("weights saved to %s\n", save);

  tc_optim_destroy(opt);
  tc_tensor_list_clear(&params);
  tc_module_destroy(loss_fn);
  tc_module_destroy(model);
  td_loader_destroy(train_dl);
  td_loader_destroy(test_dl);
  td_release(train);
  td_release(test);
  return 0;
}
