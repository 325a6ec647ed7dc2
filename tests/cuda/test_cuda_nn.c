/* CUDA pooling and batch norm against the CPU: max / average / adaptive average pooling (1-d and
 * 2-d; values, indices and gradients) over many geometries (strides, padding, dilation, ceil
 * mode, count_include_pad, divisor_override, non-contiguous and unbatched inputs, NaN and tied
 * inputs), and batch norm (functional and the BatchNorm1d/2d modules) in training and eval for
 * f32, f64 and f16: outputs, running statistics over several steps, gradients of x, weight and
 * bias, affine=False, untracked and strided running stats, large shapes. The GPU results are
 * also checked to be bit-identical from run to run. The CPU result is the reference.
 *
 * Exits 77 (skipped) when no CUDA device is present. Prints every mismatch, then a summary. */
#include "cuda_check.h"

/* Bit-identical GPU results (run-to-run determinism); NaN matches NaN. */
static void identical(const tc_tensor *a, const tc_tensor *b, const char *what) { same(a, b, 0, 0, what); }

/* A CPU float64 tensor of `shape`: normal (scale, shift) draws, or, with ties, integers in [0, 4)
 * (many equal values per window). */
static tc_tensor *data_f64(const int64_t *shape, int nd, uint64_t seed, double scale, double shift, bool ties) {
  tc_generator *g = tc_generator_create(seed);
  tc_tensor *t;
  if (ties) t = tc_floor(tc_mul_scalar(tc_rand(shape, nd, TC_OPTS(.dtype = TC_F64, .generator = g)), 4.0));
  else t = tc_add_scalar(tc_mul_scalar(tc_randn(shape, nd, TC_OPTS(.dtype = TC_F64, .generator = g)), scale), shift);
  tc_generator_destroy(g);
  return tc_contiguous(t);
}

/* Plants NaN (two adjacent ones, so that a window holds both, and a sparse pattern) and -inf. */
static void plant_specials(tc_tensor *t64) {
  double *p = tc_tensor_data(t64);
  int64_t n = tc_tensor_numel(t64);
  if (n > 5) p[3] = NAN, p[4] = NAN, p[5] = -INFINITY;
  for (int64_t i = 41; i < n; i += 97) p[i] = NAN;
  for (int64_t i = 70; i < n; i += 131) p[i] = -INFINITY;
}

/* ==== pooling ============================================================================================ */
typedef enum { P_MAX, P_AVG, P_ADAPT } pool_kind;

typedef struct {
  const char *name;
  pool_kind kind;
  int spatial;
  tc_pool_opts o;
  int64_t oh, ow; /* adaptive output (1-d: ow) */
} pool_case;

static tc_tensor *run_pool(const pool_case *c, const tc_tensor *x, tc_tensor **idx) {
  switch (c->kind) {
    case P_MAX: return c->spatial == 2 ? tc_max_pool2d(x, &c->o, idx) : tc_max_pool1d(x, &c->o, idx);
    case P_AVG: return c->spatial == 2 ? tc_avg_pool2d(x, &c->o) : tc_avg_pool1d(x, &c->o);
    default: return c->spatial == 2 ? tc_adaptive_avg_pool2d(x, c->oh, c->ow) : tc_adaptive_avg_pool1d(x, c->ow);
  }
}

/* One pooling case on x of `shape` (dtype d): forward values (and indices) and the gradient of
 * sum(y * r) for random r, GPU against CPU; then the GPU again, bit for bit. noncontig: x is the
 * transpose of its last two dims of a contiguous leaf; specials: ties, NaN and -inf (max only). */
static void check_pool(const pool_case *c, const int64_t *shape, int nd, tc_dtype d, bool noncontig, bool specials,
                       uint64_t seed) {
  tc_scope_push();
  char what[160], sh[64] = "";
  for (int i = 0, len = 0; i < nd; i++) len += snprintf(sh + len, sizeof sh - (size_t)len, i ? "x%lld" : "%lld",
                                                       (long long)shape[i]);
  int64_t base_shape[8];
  memcpy(base_shape, shape, sizeof(int64_t) * (size_t)nd);
  if (noncontig) base_shape[nd - 1] = shape[nd - 2], base_shape[nd - 2] = shape[nd - 1];
  tc_tensor *b64 = data_f64(base_shape, nd, seed, 2.0, 0.0, specials);
  if (specials) plant_specials(b64);
  tc_tensor *leaf[2] = {tc_to_dtype(b64, d), NULL};
  leaf[1] = on_gpu(leaf[0]);
  tc_tensor *y[2] = {NULL, NULL}, *idx[2] = {NULL, NULL};
  for (int k = 0; k < 2; k++) {
    tc_tensor_requires_grad_(leaf[k], true);
    tc_tensor *x = noncontig ? tc_transpose(leaf[k], nd - 1, nd - 2) : leaf[k];
    y[k] = run_pool(c, x, c->kind == P_MAX ? &idx[k] : NULL);
  }
  snprintf(what, sizeof what, "%s %s %s%s%s", c->name, tc_dtype_name(d), sh, noncontig ? " non-contiguous" : "",
           specials ? " ties/NaN" : "");
  EXPECT(y[0] && y[1], "%s: forward", what);
  if (!y[0] || !y[1]) {
    tc_scope_pop();
    return;
  }
  double rt = c->kind == P_MAX ? 0 : rtol_of(d), at = c->kind == P_MAX ? 0 : d == TC_F64 ? 1e-14 : 1e-6;
  same(y[0], y[1], rt, at, what);
  if (c->kind == P_MAX) {
    char w2[180];
    snprintf(w2, sizeof w2, "%s indices", what);
    same(idx[0], idx[1], 0, 0, w2);
  }
  /* gradients of sum(y * r) */
  tc_tensor *r = tc_to_dtype(data_f64(tc_tensor_shape(y[0]), (int)tc_tensor_ndim(y[0]), seed + 7, 1.0, 0.0, false), d);
  tc_tensor *rg = on_gpu(r);
  for (int k = 0; k < 2; k++) {
    tc_tensor *l = tc_sum(tc_mul(y[k], k ? rg : r), NULL, 0, false);
    EXPECT(l && tc_backward(l) == TC_OK, "%s: backward on %s", what, k ? "gpu" : "cpu");
  }
  char wg[180];
  snprintf(wg, sizeof wg, "%s grad", what);
  same(tc_tensor_grad(leaf[0]), tc_tensor_grad(leaf[1]), rtol_of(d), d == TC_F64 ? 1e-14 : 1e-6, wg);
  /* the GPU again: bit-identical values, indices and gradients */
  tc_tensor *leaf2 = on_gpu(tc_detach(leaf[0])), *idx2 = NULL; /* a new leaf */
  tc_tensor_requires_grad_(leaf2, true);
  tc_tensor *y2 = run_pool(c, noncontig ? tc_transpose(leaf2, nd - 1, nd - 2) : leaf2, c->kind == P_MAX ? &idx2 : NULL);
  tc_tensor *l2 = y2 ? tc_sum(tc_mul(y2, rg), NULL, 0, false) : NULL;
  EXPECT(l2 && tc_backward(l2) == TC_OK, "%s: second gpu run", what);
  snprintf(wg, sizeof wg, "%s gpu rerun", what);
  identical(y[1], y2, wg);
  if (c->kind == P_MAX) identical(idx[1], idx2, wg);
  identical(tc_tensor_grad(leaf[1]), tc_tensor_grad(leaf2), wg);
  tc_scope_pop();
}

static void test_max_pool(void) {
  static const pool_case cases[] = {
      {"max_pool2d k2", P_MAX, 2, {.kernel = {2, 2}}, 0, 0},
      {"max_pool2d k3 s2 p1", P_MAX, 2, {.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}}, 0, 0},
      {"max_pool2d k3 s1 p1 d2", P_MAX, 2, {.kernel = {3, 3}, .stride = {1, 1}, .padding = {1, 1}, .dilation = {2, 2}},
       0, 0},
      {"max_pool2d k3 s2 ceil", P_MAX, 2, {.kernel = {3, 3}, .stride = {2, 2}, .ceil_mode = true}, 0, 0},
      {"max_pool2d k(2,3) s(1,2) p1 d(2,1) ceil", P_MAX, 2,
       {.kernel = {2, 3}, .stride = {1, 2}, .padding = {1, 1}, .dilation = {2, 1}, .ceil_mode = true}, 0, 0},
      {"max_pool2d k2 s3", P_MAX, 2, {.kernel = {2, 2}, .stride = {3, 3}}, 0, 0},
  };
  static const tc_dtype ds[] = {TC_F32, TC_F64, TC_F16};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    for (size_t k = 0; k < 3; k++) {
      check_pool(&cases[i], SHAPE_OF(2, 3, 13, 11), 4, ds[k], false, false, 10 + i);
      check_pool(&cases[i], SHAPE_OF(2, 3, 13, 11), 4, ds[k], false, true, 20 + i);
    }
    check_pool(&cases[i], SHAPE_OF(2, 3, 12, 9), 4, TC_F32, true, true, 30 + i); /* non-contiguous */
    check_pool(&cases[i], SHAPE_OF(4, 10, 9), 3, TC_F32, false, true, 40 + i);   /* unbatched */
  }
  /* ResNet's stem pooling on a realistic plane, and 2x2 on a large batch */
  check_pool(&cases[1], SHAPE_OF(4, 64, 112, 112), 4, TC_F32, false, false, 50);
  check_pool(&cases[0], SHAPE_OF(16, 32, 28, 28), 4, TC_F32, false, true, 51);
  /* 1-d */
  static const pool_case c1[] = {
      {"max_pool1d k3 s2 p1", P_MAX, 1, {.kernel = {3}, .stride = {2}, .padding = {1}}, 0, 0},
      {"max_pool1d k3 d2 ceil", P_MAX, 1, {.kernel = {3}, .stride = {2}, .dilation = {2}, .ceil_mode = true}, 0, 0},
      {"max_pool1d k4", P_MAX, 1, {.kernel = {4}}, 0, 0},
  };
  for (size_t i = 0; i < sizeof c1 / sizeof c1[0]; i++) {
    check_pool(&c1[i], SHAPE_OF(3, 5, 29), 3, TC_F32, false, true, 60 + i);
    check_pool(&c1[i], SHAPE_OF(3, 5, 29), 3, TC_F64, true, false, 70 + i);
    check_pool(&c1[i], SHAPE_OF(5, 30), 2, TC_F32, false, true, 80 + i); /* unbatched */
  }
  /* integers: average pooling is CPU-only (max pooling of integers: test_cuda_ops_extra.c) */
  tc_scope_push();
  tc_tensor *xi = on_gpu(tc_ones(SHAPE_OF(1, 2, 4, 4), 4, TC_OPTS(.dtype = TC_I64)));
  EXPECT(tc_avg_pool2d(xi, TC_POOL(.kernel = {2, 2})) == NULL && tc_last_status() == TC_ERR_UNSUPPORTED &&
             strstr(tc_last_error(), "int64"),
         "integer average pooling on the GPU is refused with a message");
  tc_scope_pop();
}

static void test_avg_pool(void) {
  static const pool_case cases[] = {
      {"avg_pool2d k2", P_AVG, 2, {.kernel = {2, 2}}, 0, 0},
      {"avg_pool2d k3 s2 p1", P_AVG, 2, {.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}}, 0, 0},
      {"avg_pool2d k3 s2 p1 exclude pad", P_AVG, 2,
       {.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}, .count_include_pad_false = true}, 0, 0},
      {"avg_pool2d k3 s2 p1 ceil", P_AVG, 2, {.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}, .ceil_mode = true},
       0, 0},
      {"avg_pool2d k3 s2 p1 ceil exclude pad", P_AVG, 2,
       {.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}, .ceil_mode = true, .count_include_pad_false = true}, 0,
       0},
      {"avg_pool2d k3 s1 p1 divisor 5", P_AVG, 2,
       {.kernel = {3, 3}, .stride = {1, 1}, .padding = {1, 1}, .divisor_override = 5}, 0, 0},
      {"avg_pool2d k(3,2) s(2,1) p(1,0) ceil", P_AVG, 2,
       {.kernel = {3, 2}, .stride = {2, 1}, .padding = {1, 0}, .ceil_mode = true}, 0, 0},
      {"avg_pool2d k2 s3", P_AVG, 2, {.kernel = {2, 2}, .stride = {3, 3}}, 0, 0},
  };
  static const tc_dtype ds[] = {TC_F32, TC_F64, TC_F16};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    for (size_t k = 0; k < 3; k++) check_pool(&cases[i], SHAPE_OF(2, 3, 13, 11), 4, ds[k], false, false, 100 + i);
    check_pool(&cases[i], SHAPE_OF(2, 3, 12, 9), 4, TC_F32, true, false, 110 + i); /* non-contiguous */
    check_pool(&cases[i], SHAPE_OF(4, 10, 9), 3, TC_F64, false, false, 120 + i);  /* unbatched */
  }
  check_pool(&cases[0], SHAPE_OF(8, 64, 56, 56), 4, TC_F32, false, false, 130);
  static const pool_case c1[] = {
      {"avg_pool1d k3 s2 p1 exclude pad", P_AVG, 1,
       {.kernel = {3}, .stride = {2}, .padding = {1}, .count_include_pad_false = true}, 0, 0},
      {"avg_pool1d k4 s2 p2 ceil", P_AVG, 1, {.kernel = {4}, .stride = {2}, .padding = {2}, .ceil_mode = true}, 0, 0},
      {"avg_pool1d k3 divisor 2", P_AVG, 1, {.kernel = {3}, .divisor_override = 2}, 0, 0},
  };
  for (size_t i = 0; i < sizeof c1 / sizeof c1[0]; i++) {
    check_pool(&c1[i], SHAPE_OF(3, 5, 29), 3, TC_F32, false, false, 140 + i);
    check_pool(&c1[i], SHAPE_OF(3, 5, 29), 3, TC_F64, true, false, 150 + i);
    check_pool(&c1[i], SHAPE_OF(5, 30), 2, TC_F16, false, false, 160 + i);
  }
}

static void test_adaptive_pool(void) {
  static const pool_case cases[] = {
      {"adaptive_avg_pool2d 7x7", P_ADAPT, 2, {.ceil_mode = false}, 7, 7},
      {"adaptive_avg_pool2d 1x1", P_ADAPT, 2, {.ceil_mode = false}, 1, 1},
      {"adaptive_avg_pool2d 3x4", P_ADAPT, 2, {.ceil_mode = false}, 3, 4},
      {"adaptive_avg_pool2d 2x3", P_ADAPT, 2, {.ceil_mode = false}, 2, 3},
      {"adaptive_avg_pool2d 16x15 (upsampling)", P_ADAPT, 2, {.ceil_mode = false}, 16, 15},
  };
  static const tc_dtype ds[] = {TC_F32, TC_F64, TC_F16};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    for (size_t k = 0; k < 3; k++) check_pool(&cases[i], SHAPE_OF(2, 3, 13, 13), 4, ds[k], false, false, 200 + i);
    check_pool(&cases[i], SHAPE_OF(2, 3, 10, 7), 4, TC_F32, true, false, 210 + i); /* non-contiguous */
    check_pool(&cases[i], SHAPE_OF(4, 11, 9), 3, TC_F64, false, false, 220 + i);  /* unbatched */
  }
  /* ResNet's head (7x7 -> 1x1 over 512 channels), and large windows (one warp per output: whole
   * rows, and partial rows) */
  check_pool(&cases[1], SHAPE_OF(16, 512, 7, 7), 4, TC_F32, false, false, 230);
  check_pool(&cases[1], SHAPE_OF(2, 8, 56, 56), 4, TC_F32, false, false, 231);
  check_pool(&cases[3], SHAPE_OF(2, 4, 60, 50), 4, TC_F64, false, false, 232);
  check_pool(&cases[3], SHAPE_OF(2, 4, 60, 50), 4, TC_F32, true, false, 233);
  pool_case a1 = {"adaptive_avg_pool1d 5", P_ADAPT, 1, {.ceil_mode = false}, 1, 5};
  check_pool(&a1, SHAPE_OF(3, 4, 13), 3, TC_F32, false, false, 240);
  check_pool(&a1, SHAPE_OF(4, 13), 2, TC_F64, true, false, 241);
  pool_case a0 = {"adaptive_avg_pool2d 0x3 (empty output)", P_ADAPT, 2, {.ceil_mode = false}, 0, 3};
  check_pool(&a0, SHAPE_OF(2, 3, 5, 5), 4, TC_F32, false, false, 242);
}

/* ==== batch norm ========================================================================================== */
static double bn_rtol(tc_dtype d) { return d == TC_F64 ? 1e-10 : d == TC_F32 ? 1e-4 : 4e-3; }
static double bn_atol(tc_dtype d) { return d == TC_F64 ? 1e-10 : d == TC_F32 ? 1e-4 : 4e-3; }

typedef struct {
  const char *name;
  int nd;
  int64_t shape[5];
  tc_dtype d, pd; /* input, parameters and running stats */
  bool affine, track, strided_stats;
  double scale, shift; /* x = scale * N(0, 1) + shift */
} bn_case;

/* A running statistic: contiguous (C), or every other element of a (2C) buffer (strided). The
 * CPU and GPU tensors start equal. */
static void make_stat(const bn_case *c, int64_t C, uint64_t seed, double scale, double shift, tc_tensor **cpu,
                      tc_tensor **dev) {
  tc_tensor *v = tc_to_dtype(data_f64(SHAPE_OF(2 * C), 1, seed, scale, shift, false), c->pd);
  if (c->strided_stats) {
    tc_tensor *vg = on_gpu(v);
    *cpu = tc_slice(v, 0, 0, 2 * C, 2);
    *dev = tc_slice(vg, 0, 0, 2 * C, 2);
  } else {
    *cpu = tc_contiguous(tc_narrow(v, 0, 0, C));
    *dev = on_gpu(*cpu);
  }
}

/* Three training steps (new x each; running stats updated), then eval: outputs, running stats and
 * gradients of x, weight, bias for sum(y * r) with random r; then determinism of the GPU path. */
static void check_bn(const bn_case *c) {
  tc_scope_push();
  const int64_t C = c->shape[1];
  const double rt = bn_rtol(c->d), at = bn_atol(c->d);
  char what[200];
  tc_tensor *w[2] = {NULL, NULL}, *b[2] = {NULL, NULL}, *rm[2] = {NULL, NULL}, *rv[2] = {NULL, NULL};
  if (c->affine) {
    w[0] = tc_to_dtype(tc_abs(data_f64(SHAPE_OF(C), 1, 300, 1.0, 0.5, false)), c->pd);
    b[0] = tc_to_dtype(data_f64(SHAPE_OF(C), 1, 301, 1.0, 0.0, false), c->pd);
    w[1] = on_gpu(w[0]);
    b[1] = on_gpu(b[0]);
    for (int k = 0; k < 2; k++) tc_tensor_requires_grad_(w[k], true), tc_tensor_requires_grad_(b[k], true);
  }
  if (c->track) {
    make_stat(c, C, 302, 0.1, 0.0, &rm[0], &rm[1]);
    make_stat(c, C, 303, 0.1, 1.0, &rv[0], &rv[1]);
  }
  for (int step = 0; step < 4; step++) {
    bool training = step < 3;
    if (!training && !c->track) break;
    tc_tensor *x64 = data_f64(c->shape, c->nd, 310 + step, c->scale, c->shift, false);
    tc_tensor *x[2] = {tc_to_dtype(x64, c->d), NULL}, *y[2];
    x[1] = on_gpu(x[0]);
    tc_tensor *r = tc_to_dtype(data_f64(c->shape, c->nd, 320 + step, 1.0, 0.0, false), c->d), *rg = on_gpu(r);
    for (int k = 0; k < 2; k++) {
      tc_tensor_requires_grad_(x[k], true);
      y[k] = tc_batch_norm(x[k], rm[k], rv[k], w[k], b[k], training, 0.1, 1e-5);
      tc_tensor *l = y[k] ? tc_sum(tc_mul(y[k], k ? rg : r), NULL, 0, false) : NULL;
      EXPECT(l && tc_backward(l) == TC_OK, "%s step %d: forward and backward on %s", c->name, step, k ? "gpu" : "cpu");
    }
    const char *mode = training ? "train" : "eval";
    snprintf(what, sizeof what, "%s %s step %d y", c->name, mode, step);
    same(y[0], y[1], rt, at, what);
    snprintf(what, sizeof what, "%s %s step %d grad x", c->name, mode, step);
    same(tc_tensor_grad(x[0]), tc_tensor_grad(x[1]), rt * 10, at * 10, what);
    if (c->affine) { /* accumulated over the steps on both devices */
      snprintf(what, sizeof what, "%s %s step %d grad weight", c->name, mode, step);
      same(tc_tensor_grad(w[0]), tc_tensor_grad(w[1]), rt * 10, at * 10, what);
      snprintf(what, sizeof what, "%s %s step %d grad bias", c->name, mode, step);
      same(tc_tensor_grad(b[0]), tc_tensor_grad(b[1]), rt * 10, at * 10, what);
    }
    if (c->track) {
      snprintf(what, sizeof what, "%s %s step %d running_mean", c->name, mode, step);
      same(rm[0], rm[1], rt, at, what);
      snprintf(what, sizeof what, "%s %s step %d running_var", c->name, mode, step);
      same(rv[0], rv[1], rt, at, what);
    }
  }
  /* the GPU twice on the same data (batch statistics, no running stats): identical bits */
  tc_tensor *xg = on_gpu(tc_to_dtype(data_f64(c->shape, c->nd, 330, c->scale, c->shift, false), c->d));
  tc_tensor *rg = on_gpu(tc_to_dtype(data_f64(c->shape, c->nd, 331, 1.0, 0.0, false), c->d));
  tc_tensor *yy[2], *gx[2], *gw[2] = {NULL, NULL};
  for (int k = 0; k < 2; k++) {
    tc_tensor *xl = tc_clone(xg), *wl = w[1] ? tc_detach(w[1]) : NULL;
    tc_tensor_requires_grad_(xl, true);
    if (wl) tc_tensor_requires_grad_(wl, true);
    yy[k] = tc_batch_norm(xl, NULL, NULL, wl, b[1], true, 0.1, 1e-5);
    tc_tensor *l = yy[k] ? tc_sum(tc_mul(yy[k], rg), NULL, 0, false) : NULL;
    EXPECT(l && tc_backward(l) == TC_OK, "%s: gpu determinism run %d", c->name, k);
    gx[k] = tc_tensor_grad(xl);
    if (wl) gw[k] = tc_tensor_grad(wl);
  }
  snprintf(what, sizeof what, "%s gpu rerun", c->name);
  identical(yy[0], yy[1], what);
  identical(gx[0], gx[1], what);
  if (gw[0]) identical(gw[0], gw[1], what);
  tc_scope_pop();
}

static void test_batch_norm(void) {
  static const bn_case cases[] = {
      {"bn (4,3,5,6) f32", 4, {4, 3, 5, 6}, TC_F32, TC_F32, true, true, false, 1.0, 0.0},
      {"bn (8,16,7,7) f32", 4, {8, 16, 7, 7}, TC_F32, TC_F32, true, true, false, 2.0, 1.0},
      {"bn (4,8,16) f32", 3, {4, 8, 16}, TC_F32, TC_F32, true, true, false, 1.0, -1.0},
      {"bn1d (16,5) f32", 2, {16, 5}, TC_F32, TC_F32, true, true, false, 1.0, 0.5},
      {"bn1d (1024,64) f32", 2, {1024, 64}, TC_F32, TC_F32, true, true, false, 1.0, 0.0},
      {"bn (32,6,3) f64", 3, {32, 6, 3}, TC_F64, TC_F64, true, true, false, 1.0, 0.0},
      {"bn (4,8,16) f64", 3, {4, 8, 16}, TC_F64, TC_F64, true, true, false, 3.0, 2.0},
      {"bn (6,4,10,10) f16, f32 params", 4, {6, 4, 10, 10}, TC_F16, TC_F32, true, true, false, 1.0, 0.0},
      {"bn (6,4,9) f16, f16 params", 3, {6, 4, 9}, TC_F16, TC_F16, true, true, false, 1.0, 0.0},
      {"bn (4,3,5,6) f32 affine=False untracked", 4, {4, 3, 5, 6}, TC_F32, TC_F32, false, false, false, 1.0, 0.0},
      {"bn (4,3,5,6) f32 affine=False", 4, {4, 3, 5, 6}, TC_F32, TC_F32, false, true, false, 1.0, 0.0},
      {"bn (4,3,5,6) f32 strided running stats", 4, {4, 3, 5, 6}, TC_F32, TC_F32, true, true, true, 1.0, 0.0},
      {"bn (8,6,7) f64 strided running stats", 3, {8, 6, 7}, TC_F64, TC_F64, true, true, true, 1.0, 0.0},
      {"bn (3,4,2000) f32 mean 50 std 0.5", 3, {3, 4, 2000}, TC_F32, TC_F32, true, true, false, 0.5, 50.0},
      {"bn (16,64,56,56) f32", 4, {16, 64, 56, 56}, TC_F32, TC_F32, true, true, false, 1.0, 0.0},
      {"bn (128,512,7,7) f32", 4, {128, 512, 7, 7}, TC_F32, TC_F32, true, true, false, 1.0, 0.0},
      {"bn (0,3,4) f32 empty batch", 3, {0, 3, 4}, TC_F32, TC_F32, true, true, false, 1.0, 0.0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_bn(&cases[i]);
  /* a non-contiguous input */
  tc_scope_push();
  tc_tensor *base = tc_to_dtype(data_f64(SHAPE_OF(4, 7, 5, 3), 4, 340, 1.0, 0.0, false), TC_F32);
  tc_tensor *xc = tc_transpose(base, 1, 3); /* (4, 3, 5, 7) */
  tc_tensor *xg = tc_transpose(on_gpu(base), 1, 3);
  tc_tensor *w = tc_ones(SHAPE_OF(3), 1, NULL);
  same(tc_batch_norm(xc, NULL, NULL, w, NULL, true, 0.1, 1e-5), tc_batch_norm(xg, NULL, NULL, on_gpu(w), NULL, true,
                                                                              0.1, 1e-5),
       1e-4, 1e-4, "bn non-contiguous input");
  tc_scope_pop();
}

/* BatchNorm modules on both devices: forward/backward over training steps, buffers, then eval. */
static void check_bn_module(const char *name, tc_module *(*make)(int64_t, const tc_norm_opts *), int64_t C,
                            const tc_norm_opts *o, const int64_t *shape, int nd) {
  tc_module *m[2] = {make(C, o), make(C, o)};
  EXPECT(m[0] && m[1] && tc_module_to(m[1], gpu) == TC_OK, "%s: modules", name);
  if (!m[0] || !m[1]) return;
  char what[160];
  static const char *bufs[3] = {"running_mean", "running_var", "num_batches_tracked"};
  for (int step = 0; step < 4; step++) {
    bool training = step < 3;
    tc_scope_push();
    for (int k = 0; k < 2; k++) tc_module_train(m[k], training);
    tc_tensor *x[2] = {tc_to_dtype(data_f64(shape, nd, 400 + step, 1.5, 0.3, false), TC_F32), NULL}, *y[2];
    x[1] = on_gpu(x[0]);
    tc_tensor *r = data_f64(shape, nd, 410 + step, 1.0, 0.0, false);
    r = tc_to_dtype(r, TC_F32);
    for (int k = 0; k < 2; k++) {
      tc_tensor_requires_grad_(x[k], true);
      y[k] = tc_module_forward(m[k], x[k]);
      tc_tensor *l = y[k] ? tc_sum(tc_mul(y[k], k ? on_gpu(r) : r), NULL, 0, false) : NULL;
      EXPECT(l && tc_backward(l) == TC_OK, "%s step %d on %s", name, step, k ? "gpu" : "cpu");
    }
    snprintf(what, sizeof what, "%s step %d y", name, step);
    same(y[0], y[1], 1e-4, 1e-4, what);
    snprintf(what, sizeof what, "%s step %d grad x", name, step);
    same(tc_tensor_grad(x[0]), tc_tensor_grad(x[1]), 1e-3, 1e-3, what);
    if (tc_module_parameter(m[0], "weight")) {
      snprintf(what, sizeof what, "%s step %d grad weight", name, step);
      same(tc_tensor_grad(tc_module_parameter(m[0], "weight")), tc_tensor_grad(tc_module_parameter(m[1], "weight")),
           1e-3, 1e-3, what);
      snprintf(what, sizeof what, "%s step %d grad bias", name, step);
      same(tc_tensor_grad(tc_module_parameter(m[0], "bias")), tc_tensor_grad(tc_module_parameter(m[1], "bias")), 1e-3,
           1e-3, what);
    }
    for (int j = 0; j < 3; j++) {
      tc_tensor *bc = tc_module_buffer(m[0], bufs[j]), *bg = tc_module_buffer(m[1], bufs[j]);
      if (!bc && !bg) continue;
      snprintf(what, sizeof what, "%s step %d %s", name, step, bufs[j]);
      same(bc, bg, 1e-4, 1e-5, what);
    }
    tc_scope_pop();
  }
  tc_module_destroy(m[0]);
  tc_module_destroy(m[1]);
}

static void test_bn_modules(void) {
  check_bn_module("BatchNorm2d(8)", tc_batchnorm2d_create, 8, NULL, SHAPE_OF(4, 8, 6, 6), 4);
  check_bn_module("BatchNorm2d(8) momentum=None", tc_batchnorm2d_create, 8, TC_NORM_OPTS(.momentum = -1),
                  SHAPE_OF(4, 8, 6, 6), 4);
  check_bn_module("BatchNorm2d(8) affine=False", tc_batchnorm2d_create, 8, TC_NORM_OPTS(.no_affine = true),
                  SHAPE_OF(4, 8, 6, 6), 4);
  check_bn_module("BatchNorm2d(8) untracked", tc_batchnorm2d_create, 8, TC_NORM_OPTS(.no_track_running_stats = true),
                  SHAPE_OF(4, 8, 6, 6), 4);
  check_bn_module("BatchNorm1d(10) (N, C)", tc_batchnorm1d_create, 10, NULL, SHAPE_OF(16, 10), 2);
  check_bn_module("BatchNorm1d(10) (N, C, L)", tc_batchnorm1d_create, 10, TC_NORM_OPTS(.eps = 1e-3, .momentum = 0.3),
                  SHAPE_OF(8, 10, 5), 3);
  check_bn_module("BatchNorm2d(64) ResNet", tc_batchnorm2d_create, 64, NULL, SHAPE_OF(8, 64, 28, 28), 4);
}

int main(void) {
  if (cuda_check_start()) return 77;
  RUN(test_max_pool);
  RUN(test_avg_pool);
  RUN(test_adaptive_pool);
  RUN(test_batch_norm);
  RUN(test_bn_modules);
  return cuda_check_finish("cuda nn");
}
