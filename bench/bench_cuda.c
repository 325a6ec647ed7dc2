/* bench/bench_cuda.c — the ctorch side of the GPU benchmarks (bench/bench_cuda_torch.py is the
 * PyTorch side, bench/gpu_compare.py prints the table; scripts/gpu-check runs all three).
 *
 * Each benchmark sets up device tensors, warms up, then times `--reps` samples of `inner`
 * back-to-back operations ended by tc_cuda_synchronize (kernels are asynchronous; the inner count
 * makes one sample last about --target-ms). Output: `result <name> <inner> <ms per op>...`.
 * Names: mm_f32_4096 mm_f32_8192 mm_bf16_4096 mm_bf16_8192 add_2p28 softmax_8192 layer_norm_8192
 * (weight, no bias) train_mlp_1024 train_lenet_256 train_resnet18_128: training steps (forward,
 * cross-entropy, backward, SGD with momentum) of the MLP 784-512-256-10 at batch 1024, LeNet-5 on
 * (256, 1, 28, 28) and ResNet-18 (1000 classes, libctorch_vision's tv_resnet18) on
 * (128, 3, 224, 224). Convolutions run with PyTorch's cuDNN defaults (TF32 allowed, no benchmark
 * mode).
 */
#include <ctorch/ctorch.h>
#include <ctorch/vision.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static void check(const void *p, const char *what) {
  if (!p) {
    fprintf(stderr, "bench_cuda: %s failed: %s\n", what, tc_last_error());
    exit(1);
  }
}

typedef struct bench {
  const char *name;
  tc_dtype dtype;
  int64_t n;
  int kind; /* 0 mm, 1 add, 2 softmax, 3 training step (model by name), 4 layer norm */
  tc_tensor *x, *y;
} bench;

static tc_module *model;
static tc_optimizer *opt;
static tc_tensor_list params;

static tc_tensor *rand_dev(const int64_t *shape, int nd, tc_dtype d) {
  tc_tensor *h = tc_rand(shape, nd, NULL);
  check(h, "tc_rand");
  tc_tensor *c = tc_to_dtype(h, d);
  check(c, "tc_to_dtype");
  tc_tensor *g = tc_tensor_to(c, tc_cuda(0));
  check(g, "tc_tensor_to");
  tc_tensor_release(h);
  tc_tensor_release(c);
  return g;
}

static void setup(bench *b) {
  if (b->kind == 0) {
    b->x = rand_dev((int64_t[]){b->n, b->n}, 2, b->dtype);
    b->y = rand_dev((int64_t[]){b->n, b->n}, 2, b->dtype);
  } else if (b->kind == 1) {
    b->x = rand_dev((int64_t[]){b->n}, 1, b->dtype);
    b->y = rand_dev((int64_t[]){b->n}, 1, b->dtype);
  } else if (b->kind == 2 || b->kind == 4) {
    b->x = rand_dev((int64_t[]){b->n, b->n}, 2, b->dtype);
    if (b->kind == 4) b->y = rand_dev((int64_t[]){b->n}, 1, b->dtype); /* the weight; no bias */
  } else {
    int64_t xshape[4] = {b->n, 784}, classes = 10;
    int xnd = 2;
    if (strstr(b->name, "lenet")) {
      model = tv_lenet5(10);
      xshape[1] = 1, xshape[2] = xshape[3] = 28, xnd = 4;
    } else if (strstr(b->name, "resnet18")) {
      model = tv_resnet18(1000);
      xshape[1] = 3, xshape[2] = xshape[3] = 224, xnd = 4, classes = 1000;
    } else {
      model = tc_sequential_create(5, (tc_module *[]){tc_linear_create(784, 512, true), tc_relu_create(),
                                                     tc_linear_create(512, 256, true), tc_relu_create(),
                                                     tc_linear_create(256, 10, true)});
    }
    check(model, "model");
    if (tc_module_to(model, tc_cuda(0)) || tc_module_parameters(model, &params)) check(NULL, "model to the GPU");
    tc_sgd_opts o = tc_sgd_defaults();
    o.lr = 0.01;
    o.momentum = 0.9;
    opt = tc_sgd_create(params.data, params.n, &o);
    check(opt, "optimizer");
    b->x = rand_dev(xshape, xnd, TC_F32);
    tc_tensor *t = tc_randint(0, classes, (int64_t[]){b->n}, 1, NULL);
    b->y = tc_tensor_to(t, tc_cuda(0));
    check(b->y, "targets");
    tc_tensor_release(t);
  }
}

static void train_step(bench *b) {
  tc_scope_push();
  tc_optim_zero_grad(opt, true);
  tc_tensor *loss = tc_cross_entropy(tc_module_forward(model, b->x), b->y, NULL);
  if (!loss || tc_backward(loss) || tc_optim_step(opt)) check(NULL, "training step");
  tc_scope_pop();
}

static void run(bench *b) {
  if (b->kind == 3) {
    train_step(b);
    return;
  }
  tc_tensor *r = b->kind == 0   ? tc_mm(b->x, b->y)
                 : b->kind == 1 ? tc_add(b->x, b->y, 1.0)
                 : b->kind == 4 ? tc_layer_norm(b->x, 1, b->y, NULL, 1e-5)
                                : tc_softmax(b->x, -1);
  check(r, b->name);
  tc_tensor_release(r); /* back to the caching allocator */
}

#define B(nm, dt, size, k) {.name = nm, .dtype = dt, .n = size, .kind = k}
static bench benches[] = {
    B("mm_f32_4096", TC_F32, 4096, 0),   B("mm_f32_8192", TC_F32, 8192, 0), B("mm_bf16_4096", TC_BF16, 4096, 0),
    B("mm_bf16_8192", TC_BF16, 8192, 0), B("add_2p28", TC_F32, (int64_t)1 << 28, 1),
    B("softmax_8192", TC_F32, 8192, 2),  B("layer_norm_8192", TC_F32, 8192, 4), B("train_mlp_1024", TC_F32, 1024, 3),
    B("train_lenet_256", TC_F32, 256, 3), B("train_resnet18_128", TC_F32, 128, 3),
};

int main(int argc, char **argv) {
  int reps = 5;
  double target = 50.0;
  const char *only = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--target-ms") && i + 1 < argc) target = atof(argv[++i]);
    else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
    else {
      fprintf(stderr, "usage: bench_cuda [--reps R] [--target-ms T] [--only a,b]\n");
      return 2;
    }
  }
  if (tc_cuda_device_count() <= 0) {
    fprintf(stderr, "bench_cuda: no CUDA device\n");
    return 77;
  }
  tc_manual_seed(0);
  for (size_t k = 0; k < sizeof benches / sizeof *benches; k++) {
    bench *b = &benches[k];
    if (only && !strstr(only, b->name)) continue;
    setup(b);
    for (int w = 0; w < 3; w++) run(b);
    tc_cuda_synchronize(0);
    double t0 = now_ms();
    run(b);
    tc_cuda_synchronize(0);
    double once = now_ms() - t0;
    int64_t inner = once > 0 ? (int64_t)(target / once) : 100;
    if (inner < 1) inner = 1;
    if (inner > 10000) inner = 10000;
    printf("result %s %lld", b->name, (long long)inner);
    for (int r = 0; r < reps; r++) {
      t0 = now_ms();
      for (int64_t i = 0; i < inner; i++) run(b);
      if (tc_cuda_synchronize(0) != TC_OK) check(NULL, "synchronize");
      printf(" %.6f", (now_ms() - t0) / (double)inner);
    }
    printf("\n");
    fflush(stdout);
    tc_tensor_release(b->x);
    tc_tensor_release(b->y);
    if (b->kind == 3) {
      tc_optim_destroy(opt);
      tc_tensor_list_clear(&params);
      tc_module_destroy(model);
    }
  }
  return 0;
}
