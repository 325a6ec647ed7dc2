/* bench/bench_core.c — the ctorch side of bench/run (bench/bench_torch.py is the PyTorch side).
 *
 * Runs named benchmarks through ctorch's C API and prints raw timings; bench/compare.py pairs them
 * with PyTorch's and prints the ratios. Each benchmark: set up inputs, warm up, pick an inner
 * repeat count so one sample lasts about --target-ms, then time --reps samples. Output lines:
 *   info <key> <value...>
 *   result <name> <inner> <ms per op, sample 1> <sample 2> ...
 *
 * usage: bench_core [--threads N] [--reps R] [--target-ms T] [--only name,name] [--clock]
 *   names: mm256 mm1024 mm2048 (tc_mm), sgemm256 sgemm1024 sgemm2048 (cblas_sgemm called directly
 *   with OpenBLAS's own N threads: run those in a process of their own, since OpenBLAS's threads
 *   spin after each call and would steal the cores from ctorch's pool), add mul bcast_add sum
 *   softmax chain cat stack.
 * --clock measures the core clock (a chain of dependent adds, one per cycle) and prints it.
 */
#include <cblas.h>
#include <ctorch/ctorch.h>
#include <ctorch/vision.h>
#include "bench_images.h"
#include <ctorch/dataloader.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static void check(const void *t, const char *what) { /* t: any result pointer; NULL = failed */
  if (!t) {
    fprintf(stderr, "bench_core: %s failed: %s\n", what, tc_last_error());
    exit(1);
  }
}

/* ---- benchmarks: setup() makes inputs, run() is one operation, teardown() frees ---------------- */
typedef struct bench bench;
struct bench {
  const char *name;
  int64_t n;               /* size parameter */
  void (*setup)(bench *b);
  void (*run)(bench *b);
  void (*teardown)(bench *b);
  tc_tensor *x, *y;        /* inputs */
  tc_tensor *list[64];
  float *c;                /* sgemm output */
};

static tc_tensor *rand_t(const int64_t *shape, int64_t nd) {
  tc_tensor *t = tc_rand(shape, nd, NULL);
  check(t, "tc_rand");
  return t;
}

static void drop(tc_tensor *t, const char *what) {
  check(t, what);
  tc_tensor_release(t);
}

static void teardown_xy(bench *b) {
  tc_tensor_release(b->x);
  tc_tensor_release(b->y);
  free(b->c);
  for (int i = 0; i < 64; i++) tc_tensor_release(b->list[i]);
}

/* matmul: (n, n) @ (n, n) in float32 */
static void setup_mm(bench *b) {
  b->x = rand_t((int64_t[]){b->n, b->n}, 2);
  b->y = rand_t((int64_t[]){b->n, b->n}, 2);
}
static void run_mm(bench *b) { drop(tc_mm(b->x, b->y), "tc_mm"); }

static int sgemm_threads = 1;
static void setup_sgemm(bench *b) {
  setup_mm(b);
  b->c = malloc(sizeof(float) * (size_t)(b->n * b->n));
  if (!b->c) exit(1);
  openblas_set_num_threads(sgemm_threads); /* OpenBLAS with its own threads, as a C user calls it */
}
static void run_sgemm(bench *b) {
  int n = (int)b->n;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, tc_tensor_data(b->x), n,
              tc_tensor_data(b->y), n, 0.0f, b->c, n);
}

/* elementwise on 10^7 floats */
static void setup_vec(bench *b) {
  b->x = rand_t((int64_t[]){b->n}, 1);
  b->y = rand_t((int64_t[]){b->n}, 1);
}
static void run_add(bench *b) { drop(tc_add(b->x, b->y, 1.0), "tc_add"); }
static void run_mul(bench *b) { drop(tc_mul(b->x, b->y), "tc_mul"); }

/* (n, n) + (n,) row vector; sum and softmax over the last dim of (n, n) */
static void setup_sq(bench *b) {
  b->x = rand_t((int64_t[]){b->n, b->n}, 2);
  b->y = rand_t((int64_t[]){b->n}, 1);
}
static void run_bcast_add(bench *b) { drop(tc_add(b->x, b->y, 1.0), "tc_add (broadcast)"); }
static void run_sum(bench *b) { drop(tc_sum(b->x, (int64_t[]){-1}, 1, false), "tc_sum"); }
static void run_softmax(bench *b) { drop(tc_softmax(b->x, -1), "tc_softmax"); }

/* a chain of 10 small ops on (4, 4) tensors: per-op overhead */
static void setup_chain(bench *b) {
  b->x = rand_t((int64_t[]){4, 4}, 2);
  tc_tensor *r = rand_t((int64_t[]){4, 4}, 2);
  b->y = tc_add_scalar(r, 0.5); /* divisor away from 0 */
  check(b->y, "tc_add_scalar");
  tc_tensor_release(r);
}
static tc_tensor *step(tc_tensor *prev, tc_tensor *next) {
  tc_tensor_release(prev);
  return next;
}
static void run_chain(bench *b) {
  tc_tensor *a = b->x, *d = b->y;
  tc_tensor *t = tc_add(a, d, 1.0);
  t = step(t, tc_mul(t, d));
  t = step(t, tc_sub(t, a, 1.0));
  t = step(t, tc_div(t, d));
  t = step(t, tc_neg(t));
  t = step(t, tc_relu(t));
  t = step(t, tc_exp(t));
  t = step(t, tc_tanh(t));
  t = step(t, tc_add_scalar(t, 1.0));
  t = step(t, tc_mul_scalar(t, 0.5));
  drop(t, "chain");
}

/* cat / stack of 64 (n, n) tensors along dim 0 */
static void setup_list(bench *b) {
  for (int i = 0; i < 64; i++) b->list[i] = rand_t((int64_t[]){b->n, b->n}, 2);
}
static void run_cat(bench *b) { drop(tc_cat((const tc_tensor *const *)b->list, 64, 0), "tc_cat"); }
static void run_stack(bench *b) { drop(tc_stack((const tc_tensor *const *)b->list, 64, 0), "tc_stack"); }

/* ---- training steps: forward + backward + SGD step (momentum), and no_grad inference -------------
 * n = 0: MLP 784-512-256-10 on (64, 784); n = 1: LeNet-5 on (64, 1, 28, 28); n = 2: conv block
 * Conv2d(64, 64, 3, padding 1) + BatchNorm2d(64) + ReLU on (32, 64, 32, 32), MSE loss against a
 * random target; n = 3: EmbeddingBag(20000, 64, mean) + Linear(64, 4) on (64, 50) token ids;
 * n = 4: ResNet-18 (libctorch_vision, 10 classes) on (32, 3, 32, 32); n = 5: ResNet-18 (1000
 * classes) on (8, 3, 224, 224).
 * Same models as bench_torch.py; cross-entropy loss (MSE for the conv block), SGD lr 0.01
 * momentum 0.9. */
static tc_module *train_model, *train_loss;
static tc_optimizer *train_opt;
static tc_tensor_list train_params;

static void run_infer(bench *b);
static void setup_train(bench *b) {
  tc_manual_seed(0);
  if (b->n == 0) {
    train_model = tc_sequential_create(5, (tc_module *[]){tc_linear_create(784, 512, true), tc_relu_create(),
                                                         tc_linear_create(512, 256, true), tc_relu_create(),
                                                         tc_linear_create(256, 10, true)});
    b->x = rand_t((int64_t[]){64, 784}, 2);
  } else if (b->n == 2) {
    train_model = tc_sequential_create(3, (tc_module *[]){tc_conv2d_create(64, 64, 3, 3, TC_CONV2D_OPTS(.padding = {1, 1})),
                                                         tc_batchnorm2d_create(64, NULL), tc_relu_create()});
    b->x = rand_t((int64_t[]){32, 64, 32, 32}, 4);
  } else if (b->n == 4 || b->n == 5) {
    train_model = tv_resnet18(b->n == 4 ? 10 : 1000);
    b->x = b->n == 4 ? rand_t((int64_t[]){32, 3, 32, 32}, 4) : rand_t((int64_t[]){8, 3, 224, 224}, 4);
  } else if (b->n == 3) {
    train_model = tc_sequential_create(2, (tc_module *[]){tc_embedding_bag_create(20000, 64, TC_BAG_MEAN, -1),
                                                         tc_linear_create(64, 4, true)});
    b->x = tc_randint(0, 20000, (int64_t[]){64, 50}, 2, NULL);
  } else {
    train_model = tc_sequential_create(
        12, (tc_module *[]){tc_conv2d_create(1, 6, 5, 5, TC_CONV2D_OPTS(.padding = {2, 2})), tc_relu_create(),
                            tc_max_pool2d_create(TC_POOL(.kernel = {2, 2}), false), tc_conv2d_create(6, 16, 5, 5, NULL),
                            tc_relu_create(), tc_max_pool2d_create(TC_POOL(.kernel = {2, 2}), false),
                            tc_flatten_create(1, -1), tc_linear_create(400, 120, true), tc_relu_create(),
                            tc_linear_create(120, 84, true), tc_relu_create(), tc_linear_create(84, 10, true)});
    b->x = rand_t((int64_t[]){64, 1, 28, 28}, 4);
  }
  check(train_model, "model");
  if (b->n == 2) {
    b->y = rand_t((int64_t[]){32, 64, 32, 32}, 4);
    train_loss = tc_mse_loss_create(TC_REDUCTION_MEAN);
  } else {
    int64_t rows = b->n == 4 ? 32 : b->n == 5 ? 8 : 64, classes = b->n == 3 ? 4 : b->n == 5 ? 1000 : 10;
    b->y = tc_randint(0, classes, (int64_t[]){rows}, 1, NULL);
    train_loss = tc_cross_entropy_loss_create(NULL);
  }
  check(tc_module_parameters(train_model, &train_params) == TC_OK ? train_loss : NULL, "parameters");
  tc_sgd_opts o = tc_sgd_defaults();
  o.lr = 0.01;
  o.momentum = 0.9;
  train_opt = tc_sgd_create(train_params.data, train_params.n, &o);
  check(train_opt, "optimizer");
  if (b->run == run_infer) tc_module_train(train_model, false); /* inference in eval mode */
}

static void run_train(bench *b) {
  tc_scope_push();
  tc_optim_zero_grad(train_opt, true);
  tc_tensor *loss = tc_module_forward_n(train_loss, (const tc_tensor *[]){tc_module_forward(train_model, b->x), b->y}, 2);
  check(loss && tc_backward(loss) == TC_OK && tc_optim_step(train_opt) == TC_OK ? loss : NULL, "training step");
  tc_scope_pop();
}

static void run_infer(bench *b) {
  tc_no_grad_push();
  drop(tc_module_forward(train_model, b->x), "inference");
  tc_no_grad_pop();
}

static void teardown_train(bench *b) {
  tc_optim_destroy(train_opt);
  tc_tensor_list_clear(&train_params);
  tc_module_destroy(train_loss);
  tc_module_destroy(train_model);
  teardown_xy(b);
}

/* ---- the DataLoader: one epoch per run -------------------------------------------------------------
 * loader_w<W>: TensorDataset of 60000 x 784 floats (+ labels), batch 64, W workers (pure overhead).
 * xform_w<W>: 4000 samples whose transform busy-waits 50 us (a CPU-bound per-sample transform),
 * batch 64, W workers: samples/s and how 2 workers scale against 1. n = workers, +10 for xform. */
static td_dataset *data_ds;
static td_loader *data_dl;

static tc_status spin_50us(const tr_value *in, tr_value *out, tc_generator *gen, void *user) {
  (void)gen, (void)user;
  double t0 = now_ms();
  while (now_ms() - t0 < 0.05) {
  }
  return tr_value_copy(out, in);
}

static void setup_data(bench *b) {
  bool xform = b->n >= 10;
  int64_t rows = xform ? 4000 : 60000;
  b->x = rand_t((int64_t[]){rows, 784}, 2);
  b->y = tc_randint(0, 10, (int64_t[]){rows}, 1, NULL);
  td_dataset *base = td_tensor_dataset(2, (const tc_tensor *[]){b->x, b->y}, (const char *[]){"input", "target"});
  data_ds = xform ? td_transformed(base, "input", tr_lambda(spin_50us, NULL, "spin"), NULL, NULL) : td_retain(base);
  td_release(base);
  td_loader_opts o = TD_LOADER_DEFAULTS;
  o.batch_size = 64;
  o.num_workers = (int)(b->n % 10);
  data_dl = td_loader_create(data_ds, &o);
  check(data_dl ? b->x : NULL, "loader");
}

static void run_data(bench *b) {
  (void)b;
  td_sample batch;
  bool end = false;
  while (td_loader_next(data_dl, &batch, &end) == TC_OK && !end) td_sample_clear(&batch);
  check(end ? b->x : NULL, "loader epoch");
}

static void teardown_data(bench *b) {
  td_loader_destroy(data_dl);
  td_release(data_ds);
  teardown_xy(b);
}

/* ---- images (bench_images.c): n = kind * 10 + loader workers ------------------------------------------ */
static void setup_images(bench *b) { images_setup((int)(b->n / 10), (int)(b->n % 10)); }
static void run_images(bench *b) { images_run((int)(b->n / 10)); }
static void teardown_images(bench *b) {
  (void)b;
  images_teardown();
}

#define B(nm, size, su, fn) {.name = nm, .n = size, .setup = su, .run = fn, .teardown = teardown_xy}
#define IMG(nm, size) {.name = nm, .n = size, .setup = setup_images, .run = run_images, .teardown = teardown_images}
#define D(nm, size) {.name = nm, .n = size, .setup = setup_data, .run = run_data, .teardown = teardown_data}
#define T(nm, size, fn) {.name = nm, .n = size, .setup = setup_train, .run = fn, .teardown = teardown_train}
static bench benches[] = {
    B("mm256", 256, setup_mm, run_mm),
    B("mm1024", 1024, setup_mm, run_mm),
    B("mm2048", 2048, setup_mm, run_mm),
    B("sgemm256", 256, setup_sgemm, run_sgemm),
    B("sgemm1024", 1024, setup_sgemm, run_sgemm),
    B("sgemm2048", 2048, setup_sgemm, run_sgemm),
    B("add", 10000000, setup_vec, run_add),
    B("mul", 10000000, setup_vec, run_mul),
    B("bcast_add", 4096, setup_sq, run_bcast_add),
    B("sum", 4096, setup_sq, run_sum),
    B("softmax", 4096, setup_sq, run_softmax),
    B("chain", 4, setup_chain, run_chain),
    B("cat", 256, setup_list, run_cat),
    B("stack", 256, setup_list, run_stack),
    T("train_mlp", 0, run_train),
    T("train_lenet", 1, run_train),
    T("train_convbn", 2, run_train),
    T("train_textbag", 3, run_train),
    T("infer_mlp", 0, run_infer),
    T("infer_lenet", 1, run_infer),
    T("infer_convbn", 2, run_infer),
    T("infer_textbag", 3, run_infer),
    T("train_resnet18_c10", 4, run_train),
    T("infer_resnet18_224", 5, run_infer),
    IMG("decode", IMAGES_DECODE * 10), IMG("decode_pil", IMAGES_DECODE * 10), IMG("pipeline", IMAGES_PIPELINE * 10),
    IMG("img_loader_w0", IMAGES_LOADER * 10),
    IMG("img_loader_w2", IMAGES_LOADER * 10 + 2),
    D("loader_w0", 0), D("loader_w2", 2), D("xform_w0", 10), D("xform_w1", 11), D("xform_w2", 12),
};

/* ---- the clock: dependent adds retire one per cycle ------------------------------------------- */
static double measure_ghz(void) {
#if defined(__x86_64__)
  double best = 0;
  for (int r = 0; r < 5; r++) {
    uint64_t n = 10000000, x = 0;
    double t = now_ms();
    __asm__ volatile(
        "1:\n\t"
        "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
        "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
        "dec %1\n\tjnz 1b"
        : "+r"(x), "+r"(n));
    t = now_ms() - t;
    double ghz = 1e8 / (t * 1e-3) / 1e9;
    if (ghz > best) best = ghz;
  }
  return best;
#else
  return 0;
#endif
}

static bool wanted(const char *only, const char *name) {
  if (!only) return strncmp(name, "sgemm", 5) != 0; /* default: everything through ctorch */
  size_t n = strlen(name);
  for (const char *p = only; *p;) {
    const char *e = strchr(p, ',');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if (len == n && strncmp(p, name, n) == 0) return true;
    if (!e) break;
    p = e + 1;
  }
  return false;
}

int main(int argc, char **argv) {
  int threads = 2, reps = 5;
  double target = 25.0;
  const char *only = NULL;
  bool clock = false;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--target-ms") && i + 1 < argc) target = atof(argv[++i]);
    else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
    else if (!strcmp(argv[i], "--clock")) clock = true;
    else {
      fprintf(stderr, "usage: bench_core [--threads N] [--reps R] [--target-ms T] [--only a,b] [--clock]\n");
      return 2;
    }
  }
  if (threads < 1 || reps < 1) return 2;
  if (clock) {
    printf("info clock_ghz %.3f\n", measure_ghz());
    printf("info openblas %s (%s)\n", openblas_get_corename(), openblas_get_config());
    return 0;
  }
  tc_set_num_threads(threads);
  sgemm_threads = threads;
  tc_manual_seed(0);
  printf("info threads %d\n", threads);
  for (size_t k = 0; k < sizeof benches / sizeof *benches; k++) {
    bench *b = &benches[k];
    if (!wanted(only, b->name)) continue;
    b->setup(b);
    b->run(b); /* warm-up: page faults, allocator, pool and OpenBLAS start-up */
    double t0 = now_ms();
    b->run(b);
    double once = now_ms() - t0;
    int64_t inner = once > 0 ? (int64_t)(target / once) : 1000;
    if (inner < 1) inner = 1;
    if (inner > 100000) inner = 100000;
    printf("result %s %lld", b->name, (long long)inner);
    for (int r = 0; r < reps; r++) {
      t0 = now_ms();
      for (int64_t i = 0; i < inner; i++) b->run(b);
      printf(" %.6f", (now_ms() - t0) / (double)inner);
    }
    printf("\n");
    fflush(stdout);
    b->teardown(b);
  }
  return 0;
}
