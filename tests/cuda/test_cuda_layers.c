/* CUDA layers against the CPU: convolution (cuDNN) forward and both backwards over many
 * geometries, the deterministic scatter-add family (scatter_add, index_add, and the backward of
 * gather and index_select), embedding and embedding_bag, LeNet-5 and a small ResNet trained for 20
 * steps on both devices, DataParallel, automatic mixed precision (autocast dtypes, LeNet trained
 * in float16 with a gradient scaler), streams, events and non-blocking copies, and the activations
 * and pointwise losses composed of device ops. The CPU result is the reference.
 *
 * Exits 77 (skipped) when no CUDA device is present. Without cuDNN the convolution parts report
 * TC_ERR_UNSUPPORTED; they are skipped with a note unless CTORCH_REQUIRE_CUDNN=1 (scripts/gpu-check
 * sets it). Prints every mismatch, then a summary. */
#include <stdlib.h>
#include "cuda_check.h"

static bool have_cudnn = true;

static tc_tensor *randn(const int64_t *shape, int nd, uint64_t seed, tc_dtype dt) {
  tc_generator *g = tc_generator_create(seed);
  tc_tensor *t = tc_to_dtype(tc_randn(shape, nd, TC_OPTS(.dtype = TC_F64, .generator = g)), dt);
  tc_generator_destroy(g);
  return t;
}

/* ---- convolution ------------------------------------------------------------------------------------------ */
typedef struct {
  const char *name;
  int64_t N, C, H, W, OC, K, KW; /* KW 0: square */
  tc_conv_opts o;
  bool bias;
} conv_case;

static const conv_case conv_cases[] = {
    {"3x3 pad 1", 4, 8, 12, 12, 16, 3, 0, {.padding = {1, 1}}, true},
    {"1x1 stride 2", 4, 16, 9, 9, 8, 1, 0, {.stride = {2, 2}}, false},
    {"7x7 stride 2 pad 3 (ResNet stem)", 2, 3, 32, 32, 8, 7, 0, {.stride = {2, 2}, .padding = {3, 3}}, false},
    {"5x5 LeNet", 8, 1, 28, 28, 6, 5, 0, {.padding = {2, 2}}, true},
    {"grouped 3x3", 2, 8, 10, 10, 12, 3, 0, {.padding = {1, 1}, .groups = 4}, true},
    {"depthwise 3x3 stride 2", 2, 8, 11, 11, 8, 3, 0, {.padding = {1, 1}, .stride = {2, 2}, .groups = 8}, false},
    {"dilated 3x3", 2, 4, 15, 13, 6, 3, 0, {.padding = {2, 2}, .dilation = {2, 2}}, true},
    {"3x5 rectangular", 3, 5, 9, 17, 7, 3, 5, {.padding = {1, 2}, .stride = {1, 2}}, true},
    {"same 3x3", 2, 4, 8, 8, 4, 3, 0, {.padding_kind = TC_CONV_SAME}, true},
};

static void conv_case_run(const conv_case *c, tc_dtype dt, double rtol) {
  tc_scope_push();
  int64_t KW = c->KW ? c->KW : c->K, G = c->o.groups ? c->o.groups : 1;
  tc_tensor *x = randn(SHAPE_OF(c->N, c->C, c->H, c->W), 4, 1, dt);
  tc_tensor *w = randn(SHAPE_OF(c->OC, c->C / G, c->K, KW), 4, 2, dt);
  tc_tensor *b = c->bias ? randn(SHAPE_OF(c->OC), 1, 3, dt) : NULL;
  tc_tensor *in[2][3] = {{tc_clone(x), tc_clone(w), b ? tc_clone(b) : NULL}, {on_gpu(x), on_gpu(w), b ? on_gpu(b) : NULL}};
  tc_tensor *y[2], *loss[2];
  for (int k = 0; k < 2; k++) {
    for (int j = 0; j < 3; j++)
      if (in[k][j]) tc_tensor_requires_grad_(in[k][j], true);
    y[k] = tc_conv2d(in[k][0], in[k][1], in[k][2], &c->o);
    /* a weighted sum, so every output position has its own gradient */
    tc_tensor *r = y[k] ? randn(tc_tensor_shape(y[k]), 4, 9, dt) : NULL;
    loss[k] = r ? tc_sum(tc_mul(y[k], k ? on_gpu(r) : r), NULL, 0, false) : NULL;
    EXPECT(loss[k] && tc_backward(loss[k]) == TC_OK, "%s %s: conv2d forward+backward on %s", c->name,
           tc_dtype_name(dt), k ? "gpu" : "cpu");
  }
  char what[128];
  snprintf(what, sizeof what, "%s %s: output", c->name, tc_dtype_name(dt));
  close_to(y[0], y[1], rtol, 0, what);
  const char *gn[3] = {"grad x", "grad w", "grad b"};
  for (int j = 0; j < 3; j++) {
    if (!in[0][j]) continue;
    snprintf(what, sizeof what, "%s %s: %s", c->name, tc_dtype_name(dt), gn[j]);
    close_to(tc_tensor_grad(in[0][j]), tc_tensor_grad(in[1][j]), rtol, 0, what);
  }
  tc_scope_pop();
}

static void test_conv(void) {
  tc_cudnn_allow_tf32(0); /* full FP32, to compare with the CPU */
  tc_scope_push();
  tc_tensor *probe = tc_conv2d(on_gpu(tc_ones(SHAPE_OF(1, 1, 3, 3), 4, NULL)), on_gpu(tc_ones(SHAPE_OF(1, 1, 1, 1), 4, NULL)),
                               NULL, NULL);
  if (!probe && tc_last_status() == TC_ERR_UNSUPPORTED && strstr(tc_last_error(), "cuDNN")) {
    const char *req = getenv("CTORCH_REQUIRE_CUDNN");
    EXPECT(!(req && *req == '1'), "cuDNN is required but missing");
    fprintf(stderr, "note: %s: convolution checks skipped\n", tc_last_error());
    have_cudnn = false;
    tc_scope_pop();
    return;
  }
  EXPECT(probe != NULL, "a 1x1 convolution on the GPU");
  tc_scope_pop();
  for (size_t i = 0; i < sizeof conv_cases / sizeof conv_cases[0]; i++) {
    conv_case_run(&conv_cases[i], TC_F32, 2e-5);
    conv_case_run(&conv_cases[i], TC_F64, 1e-11);
  }
  /* half types against the float32 result on the CPU */
  tc_scope_push();
  tc_tensor *x = randn(SHAPE_OF(4, 8, 12, 12), 4, 4, TC_F32), *w = randn(SHAPE_OF(16, 8, 3, 3), 4, 5, TC_F32);
  tc_tensor *ref = tc_conv2d(x, w, NULL, TC_CONV(.padding = {1, 1}));
  for (int h = 0; h < 2; h++) {
    tc_dtype dt = h ? TC_BF16 : TC_F16;
    tc_tensor *y = tc_conv2d(on_gpu(tc_to_dtype(x, dt)), on_gpu(tc_to_dtype(w, dt)), NULL, TC_CONV(.padding = {1, 1}));
    close_to(ref, y ? tc_to_dtype(y, TC_F32) : NULL, h ? 2e-2 : 3e-3, 0, h ? "bf16 conv" : "f16 conv");
  }
  /* conv1d and an unbatched input */
  tc_tensor *x1 = randn(SHAPE_OF(3, 4, 20), 3, 6, TC_F32), *w1 = randn(SHAPE_OF(5, 4, 3), 3, 7, TC_F32);
  close_to(tc_conv1d(x1, w1, NULL, TC_CONV(.stride = {2})), tc_conv1d(on_gpu(x1), on_gpu(w1), NULL,
                                                                             TC_CONV(.stride = {2})),
           2e-5, 0, "conv1d");
  tc_tensor *xu = randn(SHAPE_OF(4, 9, 9), 3, 8, TC_F32), *wu = randn(SHAPE_OF(6, 4, 3, 3), 4, 9, TC_F32);
  close_to(tc_conv2d(xu, wu, NULL, NULL), tc_conv2d(on_gpu(xu), on_gpu(wu), NULL, NULL), 2e-5, 0, "unbatched conv2d");
  /* determinism: two backward passes give bit-identical gradients */
  tc_tensor *xg = on_gpu(randn(SHAPE_OF(16, 32, 28, 28), 4, 10, TC_F32)), *wg[2];
  for (int r = 0; r < 2; r++) {
    wg[r] = on_gpu(randn(SHAPE_OF(32, 32, 3, 3), 4, 11, TC_F32));
    tc_tensor_requires_grad_(wg[r], true);
    tc_backward(tc_sum(tc_conv2d(xg, wg[r], NULL, TC_CONV(.padding = {1, 1})), NULL, 0, false));
  }
  EXPECT(bit_identical(tc_tensor_grad(wg[0]), tc_tensor_grad(wg[1])), "conv weight gradients repeat bit for bit");
  /* benchmark mode: the measured fastest deterministic algorithms give the same results */
  bool was = tc_cudnn_benchmark(1);
  for (size_t i = 0; i < 3; i++) conv_case_run(&conv_cases[i], TC_F32, 2e-5);
  tc_cudnn_benchmark(was);
  /* TF32 on: still close at TF32 precision */
  tc_cudnn_allow_tf32(1);
  tc_tensor *yt = tc_conv2d(on_gpu(x), on_gpu(w), NULL, TC_CONV(.padding = {1, 1}));
  close_to(ref, yt, 5e-3, 0, "TF32 conv");
  tc_cudnn_allow_tf32(0);
  /* errors */
  EXPECT(tc_conv2d(on_gpu(x), w, NULL, NULL) == NULL && tc_last_status() == TC_ERR_DEVICE, "conv2d device mismatch");
  EXPECT(tc_conv2d(on_gpu(x), on_gpu(randn(SHAPE_OF(4, 3, 3, 3), 4, 1, TC_F32)), NULL, NULL) == NULL &&
             tc_last_status() == TC_ERR_SHAPE,
         "conv2d channel mismatch on the GPU");
  tc_scope_pop();
}

/* ---- scatter_add, index_add, and the backward of gather / index_select ------------------------------------------ */
static void test_scatter_add(void) {
  tc_scope_push();
  static const tc_dtype ds[] = {TC_F32, TC_F64, TC_F16, TC_I64, TC_I32};
  for (size_t k = 0; k < sizeof ds / sizeof ds[0]; k++) {
    tc_dtype dt = ds[k];
    bool fl = tc_dtype_is_floating(dt);
    tc_tensor *self = fl ? randn(SHAPE_OF(6, 7), 2, 1, dt) : tc_to_dtype(tc_randint(-5, 6, SHAPE_OF(6, 7), 2, NULL), dt);
    tc_tensor *src = fl ? randn(SHAPE_OF(9, 7), 2, 2, dt) : tc_to_dtype(tc_randint(-5, 6, SHAPE_OF(9, 7), 2, NULL), dt);
    tc_tensor *idx = tc_randint(0, 6, SHAPE_OF(9, 7), 2, NULL); /* many repeats */
    double rtol = dt == TC_F16 ? 2e-3 : dt == TC_F32 ? 1e-6 : dt == TC_F64 ? 1e-14 : 0;
    char what[96];
    snprintf(what, sizeof what, "scatter_add dim 0 %s", tc_dtype_name(dt));
    close_to(tc_scatter_add(self, 0, idx, src), tc_scatter_add(on_gpu(self), 0, on_gpu(idx), on_gpu(src)), rtol, 0,
             what);
    tc_tensor *idx1 = tc_randint(0, 7, SHAPE_OF(6, 4), 2, NULL), *src1 = tc_narrow(src, 0, 0, 6);
    tc_tensor *src1c = tc_contiguous(tc_narrow(src1, 1, 0, 4));
    snprintf(what, sizeof what, "scatter_add dim 1 %s", tc_dtype_name(dt));
    close_to(tc_scatter_add(self, 1, idx1, src1c), tc_scatter_add(on_gpu(self), 1, on_gpu(idx1), on_gpu(src1c)), rtol,
             0, what);
    tc_tensor *ii = tc_tensor_from_data((int64_t[]){5, 0, 5, 2, 5, 1, 0, 5, 3}, SHAPE_OF(9), 1, TC_I64);
    snprintf(what, sizeof what, "index_add dim 0 %s", tc_dtype_name(dt));
    close_to(tc_index_add(self, 0, ii, src, fl ? 0.5 : 2.0), tc_index_add(on_gpu(self), 0, on_gpu(ii), on_gpu(src), fl ? 0.5 : 2.0),
             rtol, 0, what);
    tc_tensor *srcT = tc_transpose(tc_contiguous(tc_transpose(src, 0, 1)), 0, 1); /* non-contiguous source */
    tc_tensor *s2 = on_gpu(self);
    EXPECT(tc_index_add_inplace(s2, 0, on_gpu(ii), on_gpu(srcT), 1.0) == TC_OK, "index_add_ on the GPU");
    snprintf(what, sizeof what, "index_add_ strided source %s", tc_dtype_name(dt));
    close_to(tc_index_add(self, 0, ii, src, 1.0), s2, rtol, 0, what);
  }
  /* gradients that scatter: gather and index_select backward */
  tc_tensor *x = randn(SHAPE_OF(50, 16), 2, 3, TC_F32);
  tc_tensor *gi = tc_randint(0, 50, SHAPE_OF(300, 16), 2, NULL), *si = tc_randint(0, 50, SHAPE_OF(400), 1, NULL);
  tc_tensor *xs[2] = {tc_clone(x), on_gpu(x)};
  for (int k = 0; k < 2; k++) {
    tc_tensor_requires_grad_(xs[k], true);
    tc_tensor *a = tc_gather(xs[k], 0, k ? on_gpu(gi) : gi), *b = tc_index_select(xs[k], 0, k ? on_gpu(si) : si);
    EXPECT(a && b && tc_backward(tc_add(tc_sum(tc_mul(a, a), NULL, 0, false), tc_sum(b, NULL, 0, false), 1.0)) == TC_OK,
           "gather/index_select backward on %s", k ? "gpu" : "cpu");
  }
  close_to(tc_tensor_grad(xs[0]), tc_tensor_grad(xs[1]), 1e-6, 0, "gather + index_select gradient");
  /* bit-identical on repeat */
  tc_tensor *big = on_gpu(randn(SHAPE_OF(200000), 1, 4, TC_F32)), *bi = on_gpu(tc_randint(0, 100, SHAPE_OF(200000), 1, NULL));
  tc_tensor *z = on_gpu(tc_zeros(SHAPE_OF(100), 1, NULL));
  EXPECT(bit_identical(tc_scatter_add(z, 0, bi, big), tc_scatter_add(z, 0, bi, big)), "scatter_add repeats bit for bit");
  tc_scope_pop();
}

/* ---- embedding and embedding_bag -------------------------------------------------------------------------------- */
static void test_embedding(void) {
  tc_scope_push();
  tc_tensor *w = randn(SHAPE_OF(30, 8), 2, 1, TC_F32);
  tc_tensor *idx = tc_randint(0, 30, SHAPE_OF(5, 7), 2, NULL);
  tc_tensor *flat = tc_tensor_from_data((int64_t[]){3, 0, 0, 7, 29, 3, 3, 1, 0, 12}, SHAPE_OF(10), 1, TC_I64);
  tc_tensor *offs = tc_tensor_from_data((int64_t[]){0, 3, 3, 6}, SHAPE_OF(4), 1, TC_I64); /* an empty bag */
  tc_tensor *psw = randn(SHAPE_OF(10), 1, 5, TC_F32);
  for (int pad = -1; pad <= 0; pad++) {
    tc_tensor *ws[2] = {tc_clone(w), on_gpu(w)}, *out[2];
    for (int k = 0; k < 2; k++) {
      tc_tensor_requires_grad_(ws[k], true);
      out[k] = tc_embedding(k ? on_gpu(idx) : idx, ws[k], pad);
      tc_tensor *r = randn(SHAPE_OF(5, 7, 8), 3, 6, TC_F32);
      EXPECT(out[k] && tc_backward(tc_sum(tc_mul(out[k], k ? on_gpu(r) : r), NULL, 0, false)) == TC_OK,
             "embedding backward on %s", k ? "gpu" : "cpu");
    }
    close_to(out[0], out[1], 0, 0, pad < 0 ? "embedding" : "embedding padding_idx 0");
    close_to(tc_tensor_grad(ws[0]), tc_tensor_grad(ws[1]), 1e-6, 0, pad < 0 ? "embedding grad" : "embedding grad (padding)");
    for (int mode = 0; mode < 2; mode++) {
      for (int use_psw = 0; use_psw <= (mode == 0); use_psw++) {
        tc_tensor *wb[2] = {tc_clone(w), on_gpu(w)}, *pb[2] = {tc_clone(psw), on_gpu(psw)}, *o[2];
        for (int k = 0; k < 2; k++) {
          tc_tensor_requires_grad_(wb[k], true);
          tc_tensor_requires_grad_(pb[k], true);
          o[k] = tc_embedding_bag(k ? on_gpu(flat) : flat, wb[k], k ? on_gpu(offs) : offs,
                                  mode ? TC_BAG_MEAN : TC_BAG_SUM, use_psw ? pb[k] : NULL, pad);
          tc_tensor *r = randn(SHAPE_OF(4, 8), 2, 7, TC_F32);
          EXPECT(o[k] && tc_backward(tc_sum(tc_mul(o[k], k ? on_gpu(r) : r), NULL, 0, false)) == TC_OK,
                 "embedding_bag backward on %s", k ? "gpu" : "cpu");
        }
        char what[96];
        snprintf(what, sizeof what, "embedding_bag %s%s pad %d", mode ? "mean" : "sum", use_psw ? " psw" : "", pad);
        close_to(o[0], o[1], 1e-6, 0, what);
        close_to(tc_tensor_grad(wb[0]), tc_tensor_grad(wb[1]), 1e-6, 0, "embedding_bag weight grad");
        if (use_psw) close_to(tc_tensor_grad(pb[0]), tc_tensor_grad(pb[1]), 1e-6, 0, "embedding_bag psw grad");
      }
    }
  }
  /* 2-D bags, and errors */
  close_to(tc_embedding_bag(idx, w, NULL, TC_BAG_MEAN, NULL, -1),
           tc_embedding_bag(on_gpu(idx), on_gpu(w), NULL, TC_BAG_MEAN, NULL, -1), 1e-6, 0, "embedding_bag 2-D");
  EXPECT(tc_embedding(on_gpu(tc_full(SHAPE_OF(2), 1, 30, TC_OPTS(.dtype = TC_I64))), on_gpu(w), -1) == NULL,
         "embedding index out of range on the GPU");
  close_to(tc_embedding_bag(flat, w, offs, TC_BAG_MAX, NULL, -1),
           tc_embedding_bag(on_gpu(flat), on_gpu(w), on_gpu(offs), TC_BAG_MAX, NULL, -1), 0, 0,
           "embedding_bag max (its gradient: test_cuda_ops_extra.c)");
  tc_scope_pop();
}

/* ---- LeNet-5: 20 training steps on both devices ------------------------------------------------------------------ */
static tc_module *lenet(void) {
  return tc_sequential_create(
      12, (tc_module *[]){tc_conv2d_create(1, 6, 5, 5, TC_CONV2D_OPTS(.padding = {2, 2})), tc_relu_create(),
                          tc_max_pool2d_create(TC_POOL(.kernel = {2, 2}), false), tc_conv2d_create(6, 16, 5, 5, NULL),
                          tc_relu_create(), tc_max_pool2d_create(TC_POOL(.kernel = {2, 2}), false),
                          tc_flatten_create(1, -1), tc_linear_create(400, 120, true), tc_relu_create(),
                          tc_linear_create(120, 84, true), tc_relu_create(), tc_linear_create(84, 10, true)});
}

/* A small conv net with batch norm, a residual add and average pooling (ResNet's pieces). */
static tc_tensor *resblock_forward(tc_module *m, const tc_tensor *const *in, int64_t n) {
  (void)n;
  tc_tensor *h = tc_module_forward(tc_module_child(m, "body"), in[0]);
  tc_tensor *r = h ? tc_relu(tc_add(h, in[0], 1.0)) : NULL;
  tc_tensor_release(h);
  return r;
}

static tc_module *small_resnet(void) {
  tc_module *block = tc_module_create("Block", resblock_forward, NULL, NULL);
  tc_module_add_child(block, "body", tc_sequential_create(5, (tc_module *[]){
      tc_conv2d_create(8, 8, 3, 3, TC_CONV2D_OPTS(.padding = {1, 1}, .no_bias = true)), tc_batchnorm2d_create(8, NULL),
      tc_relu_create(), tc_conv2d_create(8, 8, 3, 3, TC_CONV2D_OPTS(.padding = {1, 1}, .no_bias = true)),
      tc_batchnorm2d_create(8, NULL)}));
  return tc_sequential_create(
      7, (tc_module *[]){tc_conv2d_create(1, 8, 3, 3, TC_CONV2D_OPTS(.stride = {2, 2}, .padding = {1, 1}, .no_bias = true)),
                         tc_batchnorm2d_create(8, NULL), tc_relu_create(),
                         tc_max_pool2d_create(TC_POOL(.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}), false),
                         block, tc_adaptive_avg_pool2d_create(1, 1), tc_sequential_create(2, (tc_module *[]){
                             tc_flatten_create(1, -1), tc_linear_create(8, 10, true)})});
}

static void train_compare(const char *name, tc_module *(*make)(void), double first_tol, double step_tol) {
  tc_scope_push();
  tc_tensor *x = tc_scope_keep(tc_rand(SHAPE_OF(32, 1, 28, 28), 4, NULL));
  tc_tensor *y = tc_scope_keep(tc_randint(0, 10, SHAPE_OF(32), 1, NULL));
  tc_tensor *xg = tc_scope_keep(on_gpu(x)), *yg = tc_scope_keep(on_gpu(y));
  tc_scope_pop();
  tc_manual_seed(11);
  tc_module *m[2] = {make(), NULL};
  tc_manual_seed(11);
  m[1] = make();
  EXPECT(m[0] && m[1] && tc_module_to(m[1], gpu) == TC_OK, "%s to the GPU", name);
  tc_tensor_list params[2] = {{0}, {0}};
  tc_optimizer *opt[2];
  for (int k = 0; k < 2; k++) {
    tc_module_parameters(m[k], &params[k]);
    tc_sgd_opts o = tc_sgd_defaults();
    o.lr = 0.05, o.momentum = 0.9;
    opt[k] = tc_sgd_create(params[k].data, params[k].n, &o);
  }
  double worst = 0, first = 0;
  for (int step = 0; step < 20; step++) {
    double l[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
      tc_scope_push();
      tc_optim_zero_grad(opt[k], true);
      tc_tensor *loss = tc_cross_entropy(tc_module_forward(m[k], k ? xg : x), k ? yg : y, NULL);
      EXPECT(loss && tc_backward(loss) == TC_OK && tc_optim_step(opt[k]) == TC_OK && tc_item_double(loss, &l[k]) == TC_OK,
             "%s training step %d on %s", name, step, k ? "gpu" : "cpu");
      tc_scope_pop();
    }
    double rel = fabs(l[0] - l[1]) / fabs(l[0]);
    if (step == 0) first = rel;
    if (rel > worst) worst = rel;
  }
  EXPECT(first < first_tol, "%s: the first loss agrees (relative difference %.3g)", name, first);
  EXPECT(worst < step_tol, "%s: per-step losses agree (worst relative difference %.3g)", name, worst);
  for (int64_t i = 0; i < params[0].n; i++) {
    char what[96];
    snprintf(what, sizeof what, "%s: parameter %lld after 20 steps", name, (long long)i);
    close_to(params[0].data[i], params[1].data[i], 2e-3, 1e-5, what);
  }
  tc_named_tensors bufs[2] = {{0}, {0}};
  for (int k = 0; k < 2; k++) tc_module_named_buffers(m[k], &bufs[k]);
  for (int64_t i = 0; i < bufs[0].n; i++) {
    char what[128];
    snprintf(what, sizeof what, "%s: buffer %s after 20 steps", name, bufs[0].names[i]);
    close_to(bufs[0].tensors[i], bufs[1].tensors[i], 2e-3, 1e-5, what);
  }
  for (int k = 0; k < 2; k++) {
    tc_named_tensors_clear(&bufs[k]);
    tc_optim_destroy(opt[k]);
    tc_tensor_list_clear(&params[k]);
    tc_module_destroy(m[k]);
  }
  tc_tensor_release(x);
  tc_tensor_release(y);
  tc_tensor_release(xg);
  tc_tensor_release(yg);
}

static void test_training(void) {
  if (!have_cudnn) return;
  train_compare("LeNet-5", lenet, 1e-6, 1e-4);
  train_compare("small ResNet", small_resnet, 1e-5, 1e-3);
}

/* ---- DataParallel on one GPU: one device, and the same device twice (two chunks) ----------------------------- */
static void test_data_parallel(void) {
  if (!have_cudnn) return;
  tc_scope_push();
  tc_tensor *x = on_gpu(tc_rand(SHAPE_OF(12, 1, 28, 28), 4, NULL)), *r = on_gpu(tc_randn(SHAPE_OF(12, 10), 2, NULL));
  for (int ndev = 1; ndev <= 2; ndev++) {
    tc_manual_seed(5);
    tc_module *ref = lenet();
    tc_manual_seed(5);
    tc_module *m = lenet();
    EXPECT(tc_module_to(ref, gpu) == TC_OK && tc_module_to(m, gpu) == TC_OK, "models to the GPU");
    tc_device devs[2] = {gpu, gpu};
    tc_module *dp = tc_data_parallel_create(m, devs, ndev);
    EXPECT(dp != NULL, "DataParallel over %d device(s)", ndev);
    if (!dp) continue;
    tc_tensor *o[2];
    tc_module *runs[2] = {ref, dp};
    for (int k = 0; k < 2; k++) {
      o[k] = tc_module_forward(runs[k], x);
      EXPECT(o[k] && tc_backward(tc_sum(tc_mul(o[k], r), NULL, 0, false)) == TC_OK, "DataParallel backward");
    }
    close_to(o[0], o[1], 1e-5, 0, "DataParallel output");
    tc_tensor_list p0 = {0}, p1 = {0};
    tc_module_parameters(ref, &p0);
    tc_module_parameters(m, &p1);
    for (int64_t i = 0; i < p0.n; i++)
      /* the chunks' convolutions may take other cuDNN algorithms than the whole batch's */
      close_to(tc_tensor_grad(p0.data[i]), tc_tensor_grad(p1.data[i]), 1e-3, 0, "DataParallel gradient");
    tc_tensor_list_clear(&p0);
    tc_tensor_list_clear(&p1);
    tc_module_destroy(dp);
    tc_module_destroy(ref);
  }
  tc_scope_pop();
}

/* ---- automatic mixed precision on CUDA: dtypes, and LeNet trained with float16 and a scaler ----------------- */
static void test_amp(void) {
  if (!have_cudnn) return;
  tc_scope_push();
  tc_tensor *a = on_gpu(tc_randn(SHAPE_OF(8, 16), 2, NULL)), *w = on_gpu(tc_randn(SHAPE_OF(4, 16), 2, NULL));
  tc_autocast_push(TC_DEVICE_CUDA, TC_F16, true);
  tc_tensor *h = tc_linear(a, w, NULL), *sm = tc_softmax(h, -1), *ln = tc_layer_norm(h, 1, NULL, NULL, 1e-5);
  EXPECT(h && tc_tensor_dtype(h) == TC_F16, "linear under CUDA autocast is float16");
  EXPECT(sm && tc_tensor_dtype(sm) == TC_F32, "softmax under CUDA autocast is float32");
  EXPECT(ln && tc_tensor_dtype(ln) == TC_F32, "layer_norm under CUDA autocast is float32");
  tc_tensor *cx = on_gpu(tc_randn(SHAPE_OF(2, 3, 9, 9), 4, NULL)), *cw = on_gpu(tc_randn(SHAPE_OF(5, 3, 3, 3), 4, NULL));
  tc_tensor *cy = tc_conv2d(cx, cw, NULL, NULL);
  EXPECT(cy && tc_tensor_dtype(cy) == TC_F16, "conv2d under CUDA autocast is float16");
  tc_autocast_pop();
  close_to(tc_linear(a, w, NULL), tc_to_dtype(h, TC_F32), 2e-3, 0, "float16 linear against float32");
  /* LeNet, float16 autocast + GradScaler: finite losses, falling */
  tc_manual_seed(9);
  tc_module *m = lenet();
  tc_module_to(m, gpu);
  tc_tensor_list ps = {0};
  tc_module_parameters(m, &ps);
  tc_sgd_opts so = tc_sgd_defaults();
  so.lr = 0.05, so.momentum = 0.9;
  tc_optimizer *opt = tc_sgd_create(ps.data, ps.n, &so);
  tc_grad_scaler *sc = tc_grad_scaler_create(NULL);
  tc_tensor *x = on_gpu(tc_rand(SHAPE_OF(64, 1, 28, 28), 4, NULL)), *y = on_gpu(tc_randint(0, 10, SHAPE_OF(64), 1, NULL));
  double first = 0, last = 0;
  int stepped = 0;
  for (int step = 0; step < 30; step++) {
    tc_scope_push();
    tc_optim_zero_grad(opt, true);
    tc_autocast_push(TC_DEVICE_CUDA, TC_F16, true);
    tc_tensor *loss = tc_cross_entropy(tc_module_forward(m, x), y, NULL);
    tc_autocast_pop();
    bool ok = loss && tc_tensor_dtype(loss) == TC_F32;
    ok = ok && tc_backward(tc_grad_scaler_scale(sc, loss)) == TC_OK;
    bool did = false;
    ok = ok && tc_grad_scaler_step(sc, opt, &did) == TC_OK && tc_grad_scaler_update(sc) == TC_OK;
    stepped += did;
    double l = NAN;
    ok = ok && tc_item_double(loss, &l) == TC_OK;
    EXPECT(ok, "AMP training step %d", step);
    if (step == 0) first = l;
    last = l;
    tc_scope_pop();
  }
  tc_tensor_list p32 = {0};
  tc_module_parameters(m, &p32);
  EXPECT(p32.n > 0 && tc_tensor_dtype(p32.data[0]) == TC_F32, "parameters stay float32");
  tc_tensor_list_clear(&p32);
  EXPECT(isfinite(last) && last < first, "AMP training lowers the loss (%.4f -> %.4f, %d of 30 steps taken)", first,
         last, stepped);
  tc_grad_scaler_destroy(sc);
  tc_optim_destroy(opt);
  tc_tensor_list_clear(&ps);
  tc_module_destroy(m);
  tc_scope_pop();
}

/* ---- activations and pointwise losses composed of device ops, against the CPU's kernels ------------------ */
typedef tc_tensor *(*act1)(const tc_tensor *);
static tc_tensor *a_relu6(const tc_tensor *x) { return tc_relu6(x); }
static tc_tensor *a_leaky(const tc_tensor *x) { return tc_leaky_relu(x, 0.1); }
static tc_tensor *a_elu(const tc_tensor *x) { return tc_elu(x, 1.5); }
static tc_tensor *a_gelu(const tc_tensor *x) { return tc_gelu(x, false); }
static tc_tensor *a_gelu_tanh(const tc_tensor *x) { return tc_gelu(x, true); }
static tc_tensor *a_silu(const tc_tensor *x) { return tc_silu(x); }
static tc_tensor *a_hardswish(const tc_tensor *x) { return tc_hardswish(x); }
static tc_tensor *a_softplus(const tc_tensor *x) { return tc_softplus(x, 2.0, 20.0); }

static void test_compositions(void) {
  tc_scope_push();
  static const struct {
    const char *name;
    act1 f;
  } acts[] = {{"relu6", a_relu6}, {"leaky_relu", a_leaky}, {"elu", a_elu}, {"gelu", a_gelu},
              {"gelu tanh", a_gelu_tanh}, {"silu", a_silu}, {"hardswish", a_hardswish}, {"softplus", a_softplus}};
  tc_tensor *x = tc_mul_scalar(randn(SHAPE_OF(40, 50), 2, 31, TC_F32), 4.0);
  for (size_t k = 0; k < sizeof acts / sizeof acts[0]; k++) {
    tc_tensor *xs[2] = {tc_clone(x), on_gpu(x)}, *y[2];
    for (int d = 0; d < 2; d++) {
      tc_tensor_requires_grad_(xs[d], true);
      y[d] = acts[k].f(xs[d]);
      EXPECT(y[d] && tc_backward(tc_sum(tc_mul(y[d], y[d]), NULL, 0, false)) == TC_OK, "%s on %s", acts[k].name,
             d ? "gpu" : "cpu");
    }
    close_to(y[0], y[1], 1e-5, 0, acts[k].name);
    close_to(tc_tensor_grad(xs[0]), tc_tensor_grad(xs[1]), 1e-4, 0, acts[k].name);
  }
  tc_tensor *in = randn(SHAPE_OF(16, 10), 2, 32, TC_F32), *tg = randn(SHAPE_OF(16, 10), 2, 33, TC_F32);
  tc_tensor *p = tc_sigmoid(in), *q = tc_rand(SHAPE_OF(16, 10), 2, NULL), *w = tc_rand(SHAPE_OF(10), 1, NULL);
  static const tc_reduction reds[3] = {TC_REDUCTION_MEAN, TC_REDUCTION_SUM, TC_REDUCTION_NONE};
  for (int r = 0; r < 3; r++)
    for (int k = 0; k < 6; k++) {
      tc_tensor *a[2] = {tc_clone(k == 4 ? p : in), on_gpu(k == 4 ? p : in)}, *l[2];
      for (int d = 0; d < 2; d++) {
        tc_tensor_requires_grad_(a[d], true);
        const tc_tensor *t = d ? on_gpu(k >= 4 ? q : tg) : (k >= 4 ? q : tg), *wd = d ? on_gpu(w) : w;
        l[d] = k == 0   ? tc_mse_loss(a[d], t, reds[r])
               : k == 1 ? tc_l1_loss(a[d], t, reds[r])
               : k == 2 ? tc_smooth_l1_loss(a[d], t, reds[r], 0.7)
               : k == 3 ? tc_huber_loss(a[d], t, reds[r], 1.3)
               : k == 4 ? tc_binary_cross_entropy(a[d], t, wd, reds[r])
                        : tc_binary_cross_entropy_with_logits(a[d], t, wd, wd, reds[r]);
        EXPECT(l[d] && tc_backward(tc_sum(l[d], NULL, 0, false)) == TC_OK, "loss %d on %s", k, d ? "gpu" : "cpu");
      }
      char what[64];
      snprintf(what, sizeof what, "pointwise loss %d reduction %d", k, r);
      close_to(l[0], l[1], 1e-5, 0, what);
      close_to(tc_tensor_grad(a[0]), tc_tensor_grad(a[1]), 1e-4, 0, what);
    }
  tc_scope_pop();
}

/* ---- streams, events, non-blocking copies ------------------------------------------------------------------ */
static void test_streams(void) {
  tc_scope_push();
  tc_cuda_stream *side = tc_cuda_stream_create(0);
  tc_cuda_event *ready = tc_cuda_event_create(0, false), *done = tc_cuda_event_create(0, false);
  EXPECT(side && ready && done, "stream and events");
  tc_tensor *a = on_gpu(randn(SHAPE_OF(512, 512), 2, 1, TC_F32)), *b = on_gpu(randn(SHAPE_OF(512, 512), 2, 2, TC_F32));
  tc_tensor *ref = tc_mm(a, b);
  /* the side stream waits for the inputs, computes, and the default stream waits for it */
  EXPECT(tc_cuda_event_record(ready, NULL) == TC_OK && tc_cuda_stream_wait_event(side, ready) == TC_OK, "wait");
  EXPECT(tc_cuda_set_stream(0, side) == TC_OK, "set stream");
  tc_tensor *c = tc_mm(a, b);
  tc_tensor *d = tc_relu(c);
  EXPECT(tc_cuda_event_record(done, NULL) == TC_OK, "record on the current (side) stream");
  EXPECT(tc_cuda_set_stream(0, NULL) == TC_OK, "back to the default stream");
  EXPECT(tc_cuda_stream_wait_event(NULL, done) == TC_OK, "default waits for side");
  close_to(ref, c, 1e-6, 0, "matmul on a side stream");
  close_to(tc_relu(ref), d, 1e-6, 0, "relu on a side stream");
  EXPECT(tc_cuda_stream_synchronize(side) == TC_OK && tc_cuda_event_query(done) == 1, "stream done");
  /* timing */
  tc_cuda_event *t0 = tc_cuda_event_create(0, true), *t1 = tc_cuda_event_create(0, true);
  tc_cuda_event_record(t0, NULL);
  for (int i = 0; i < 10; i++) tc_tensor_release(tc_mm(a, b));
  tc_cuda_event_record(t1, NULL);
  double ms = -1;
  EXPECT(tc_cuda_event_synchronize(t1) == TC_OK && tc_cuda_event_elapsed_ms(t0, t1, &ms) == TC_OK && ms > 0,
         "elapsed time %g ms", ms);
  EXPECT(tc_cuda_event_elapsed_ms(ready, done, &ms) != TC_OK, "no timing on events made without it");
  /* non-blocking copies through pinned memory */
  tc_tensor *h = tc_tensor_pin_memory(randn(SHAPE_OF(100000), 1, 3, TC_F32));
  tc_tensor *dv = h ? tc_tensor_to_nonblocking(h, gpu) : NULL;
  tc_tensor *back = dv ? tc_tensor_to_nonblocking(tc_mul_scalar(dv, 2.0), tc_cpu()) : NULL;
  EXPECT(back && tc_tensor_is_pinned(back), "a non-blocking copy to the host lands in pinned memory");
  EXPECT(tc_cuda_synchronize(0) == TC_OK, "synchronize");
  close_to(tc_mul_scalar(h, 2.0), back, 0, 0, "non-blocking round trip");
  /* errors */
  EXPECT(tc_cuda_set_stream(tc_cuda_device_count(), side) != TC_OK, "a stream on a device that does not exist");
  tc_cuda_event_destroy(t0);
  tc_cuda_event_destroy(t1);
  tc_cuda_event_destroy(ready);
  tc_cuda_event_destroy(done);
  tc_scope_pop(); /* c and d, made on the side stream, are done (synchronized above) */
  tc_cuda_stream_destroy(side);
}

int main(void) {
  if (cuda_check_start()) return 77;
  RUN(test_conv);
  RUN(test_scatter_add);
  RUN(test_embedding);
  RUN(test_training);
  RUN(test_data_parallel);
  RUN(test_amp);
  RUN(test_streams);
  RUN(test_compositions);
  return cuda_check_finish("cuda layers");
}
