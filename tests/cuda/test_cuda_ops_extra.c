/* CUDA against the CPU for the ops whose device forms are built from the select and scan kernels,
 * from host-made plans or from other device ops: where / masked_fill / masked_select, advanced
 * indexing (tc_index, index_put with and without accumulate), cumsum / cumprod, F.pad in every
 * mode, group norm, logsumexp, outer, integer max pooling; the random factories, in-place fills and
 * nn.init on a device (drawn on the host: bit-identical to the CPU for one seed); and a DataLoader
 * with pin_memory feeding the GPU through non-blocking copies; in-place ops under autograd, 0-d
 * CPU tensors mixed with device tensors, copies across devices (a CPU state dict into a CUDA
 * model), cross entropy with class probabilities, embedding_bag max, 'same' convolutions with an
 * even kernel, gradcheck on device inputs. Gradients are compared too.
 *
 * Exits 77 (skipped) when no CUDA device is present. Prints every mismatch, then a summary. */
#include <ctorch/dataloader.h>
#include "cuda_check.h"

/* uniform values in [lo, hi) of dtype d, from seed */
static tc_tensor *values(tc_dtype d, const int64_t *shape, int nd, double lo, double hi, uint64_t seed) {
  tc_generator *g = tc_generator_create(seed);
  tc_tensor *u = tc_rand(shape, nd, TC_OPTS(.dtype = TC_F64, .generator = g));
  tc_generator_destroy(g);
  return tc_to_dtype(tc_add_scalar(tc_mul_scalar(u, hi - lo), lo), d);
}

static bool is_gpu(const tc_tensor *t) { return tc_device_equal(tc_tensor_device(t), gpu); }

static tc_tensor *leaf(const tc_tensor *t) {
  tc_tensor *c = tc_clone(t);
  tc_tensor_requires_grad_(c, true);
  return c;
}

/* the gradient of sum(f(x) * w) for x on the CPU and on the GPU, compared */
typedef tc_tensor *(*unary_op)(const tc_tensor *x, const void *ctx);
static void grad_check(const tc_tensor *x, unary_op f, const void *ctx, double rtol, const char *what) {
  tc_tensor *xs[2] = {leaf(x), on_gpu(x)};
  tc_tensor_requires_grad_(xs[1], true);
  tc_tensor *y[2], *g[2];
  for (int k = 0; k < 2; k++) {
    y[k] = f(xs[k], ctx);
    if (!y[k]) {
      EXPECT(false, "%s forward on %s", what, k ? "gpu" : "cpu");
      return;
    }
    tc_tensor *w = values(tc_tensor_dtype(y[k]), tc_tensor_shape(y[k]), (int)tc_tensor_ndim(y[k]), -1, 1, 4242);
    if (k) w = on_gpu(w);
    EXPECT(tc_backward(tc_sum(tc_mul(y[k], w), NULL, 0, false)) == TC_OK, "%s backward on %s", what,
           k ? "gpu" : "cpu");
    g[k] = tc_tensor_grad(xs[k]);
  }
  char buf[96];
  snprintf(buf, sizeof buf, "%s value", what);
  same(y[0], y[1], rtol, 1e-6, buf);
  snprintf(buf, sizeof buf, "%s grad", what);
  EXPECT(g[0] && g[1], "%s: gradients exist", what);
  if (g[0] && g[1]) same(g[0], g[1], rtol, 1e-6, buf);
}

/* ---- where, masked_fill, masked_select -------------------------------------------------------- */
static tc_tensor *op_where(const tc_tensor *x, const void *c) {
  const tc_tensor *m = c;
  return tc_where(is_gpu(x) ? on_gpu(m) : m, x, tc_mul_scalar(x, -2.0));
}
static tc_tensor *op_masked_fill(const tc_tensor *x, const void *c) {
  const tc_tensor *m = c;
  return tc_masked_fill(x, is_gpu(x) ? on_gpu(m) : m, 3.5);
}
static tc_tensor *op_masked_select(const tc_tensor *x, const void *c) {
  const tc_tensor *m = c;
  return tc_masked_select(x, is_gpu(x) ? on_gpu(m) : m);
}

static void test_select(void) {
  static const tc_dtype ds[] = {TC_F32, TC_F64, TC_F16, TC_I64, TC_I32, TC_U8, TC_BOOL};
  for (size_t k = 0; k < sizeof ds / sizeof ds[0]; k++) {
    tc_scope_push();
    tc_dtype d = ds[k];
    char what[64];
    tc_tensor *a = values(d, SHAPE_OF(5, 7), 2, -4, 4, 10 + k), *b = values(d, SHAPE_OF(7), 1, -4, 4, 20 + k);
    tc_tensor *m = tc_gt_scalar(values(TC_F32, SHAPE_OF(5, 1), 2, 0, 1, 30 + k), 0.5);
    tc_tensor *m2 = tc_gt_scalar(values(TC_F32, SHAPE_OF(5, 7), 2, 0, 1, 40 + k), 0.3);
    snprintf(what, sizeof what, "where %s broadcast", tc_dtype_name(d));
    same(tc_where(m, a, b), tc_where(on_gpu(m), on_gpu(a), on_gpu(b)), 0, 0, what);
    snprintf(what, sizeof what, "where %s transposed", tc_dtype_name(d));
    same(tc_where(tc_t(m2), tc_t(a), tc_scalar_tensor(2, TC_OPTS(.dtype = d))),
         tc_where(tc_t(on_gpu(m2)), tc_t(on_gpu(a)), tc_scalar_tensor(2, TC_OPTS(.dtype = d, .device = gpu))), 0, 0,
         what);
    snprintf(what, sizeof what, "masked_fill %s", tc_dtype_name(d));
    same(tc_masked_fill(a, m, 1), tc_masked_fill(on_gpu(a), on_gpu(m), 1), 0, 0, what);
    tc_tensor *ac = tc_clone(a), *ag = on_gpu(a);
    EXPECT(tc_masked_fill_inplace(ac, m2, 0) == TC_OK && tc_masked_fill_inplace(ag, on_gpu(m2), 0) == TC_OK,
           "masked_fill_ %s", tc_dtype_name(d));
    snprintf(what, sizeof what, "masked_fill_ %s", tc_dtype_name(d));
    same(ac, ag, 0, 0, what);
    snprintf(what, sizeof what, "masked_select %s", tc_dtype_name(d));
    same(tc_masked_select(a, m), tc_masked_select(on_gpu(a), on_gpu(m)), 0, 0, what);
    snprintf(what, sizeof what, "masked_select %s transposed", tc_dtype_name(d));
    same(tc_masked_select(tc_t(a), tc_t(m2)), tc_masked_select(tc_t(on_gpu(a)), tc_t(on_gpu(m2))), 0, 0, what);
    tc_scope_pop();
  }
  tc_scope_push();
  tc_tensor *x = values(TC_F32, SHAPE_OF(6, 9), 2, -2, 2, 50);
  tc_tensor *m = tc_gt_scalar(values(TC_F32, SHAPE_OF(6, 9), 2, 0, 1, 51), 0.4);
  grad_check(x, op_where, m, 1e-6, "where");
  grad_check(x, op_masked_fill, m, 1e-6, "masked_fill");
  grad_check(x, op_masked_select, m, 1e-6, "masked_select");
  tc_scope_pop();
}

/* ---- advanced indexing ------------------------------------------------------------------------ */
typedef struct {
  const tc_tensor *i0, *i1;
} idx_pair;
static tc_tensor *op_index(const tc_tensor *x, const void *c) {
  const idx_pair *p = c;
  bool g = is_gpu(x);
  const tc_tensor *ix[3] = {g ? on_gpu(p->i0) : p->i0, NULL, g ? on_gpu(p->i1) : p->i1};
  return tc_index(x, ix, 3);
}

static void test_advanced_index(void) {
  static const tc_dtype ds[] = {TC_F32, TC_F64, TC_I64, TC_U8};
  for (size_t k = 0; k < sizeof ds / sizeof ds[0]; k++) {
    tc_scope_push();
    tc_dtype d = ds[k];
    char what[64];
    tc_tensor *x = values(d, SHAPE_OF(6, 5, 8), 3, -9, 9, 60 + k), *xg = on_gpu(x);
    tc_tensor *i0 = tc_tensor_from_data((int64_t[]){0, -1, 3, 3}, SHAPE_OF(4, 1), 2, TC_I64);
    tc_tensor *i1 = tc_tensor_from_data((int32_t[]){7, 0, -8}, SHAPE_OF(3), 1, TC_I32);
    /* x[i0, :, i1]: separated indices, broadcast (4, 3) first */
    const tc_tensor *ic[3] = {i0, NULL, i1}, *ig[3] = {on_gpu(i0), NULL, on_gpu(i1)};
    snprintf(what, sizeof what, "index %s separated", tc_dtype_name(d));
    same(tc_index(x, ic, 3), tc_index(xg, ig, 3), 0, 0, what);
    /* x[mask] with a 2-D mask, and x[:, i] on a transposed view */
    tc_tensor *m = tc_gt_scalar(values(TC_F32, SHAPE_OF(6, 5), 2, 0, 1, 70 + k), 0.5);
    snprintf(what, sizeof what, "index %s mask", tc_dtype_name(d));
    same(tc_index(x, (const tc_tensor *[]){m}, 1), tc_index(xg, (const tc_tensor *[]){on_gpu(m)}, 1), 0, 0, what);
    snprintf(what, sizeof what, "index %s transposed", tc_dtype_name(d));
    same(tc_index(tc_transpose(x, 0, 2), (const tc_tensor *[]){i1, NULL, i0}, 3),
         tc_index(tc_transpose(xg, 0, 2), (const tc_tensor *[]){on_gpu(i1), NULL, on_gpu(i0)}, 3), 0, 0, what);
    /* out-of-range indices on the device are reported, not faulted */
    tc_tensor *bad = tc_tensor_from_data((int64_t[]){0, 6}, SHAPE_OF(2), 1, TC_I64);
    tc_clear_error();
    EXPECT(!tc_index(xg, (const tc_tensor *[]){on_gpu(bad)}, 1) && tc_last_status() == TC_ERR_ARG,
           "index %s out of range is an error", tc_dtype_name(d));
    /* index_put: distinct targets, then accumulate with repeats */
    tc_tensor *v = values(d, SHAPE_OF(4, 3), 2, -3, 3, 80 + k);
    tc_tensor *pc = tc_clone(x), *pg = on_gpu(x);
    const tc_tensor *dc[2] = {tc_tensor_from_data((int64_t[]){1, 2, 4, 5}, SHAPE_OF(4, 1), 2, TC_I64),
                              tc_tensor_from_data((int64_t[]){0, 2, 4}, SHAPE_OF(3), 1, TC_I64)};
    const tc_tensor *dg[2] = {on_gpu(dc[0]), on_gpu(dc[1])};
    tc_tensor *v5 = tc_unsqueeze(v, 2); /* (4, 3, 1) against (4, 3, 8): broadcast */
    EXPECT(tc_index_put_inplace(pc, dc, 2, v5, false) == TC_OK && tc_index_put_inplace(pg, dg, 2, on_gpu(v5), false) == TC_OK,
           "index_put %s", tc_dtype_name(d));
    snprintf(what, sizeof what, "index_put %s", tc_dtype_name(d));
    same(pc, pg, 0, 0, what);
    if (d != TC_U8) {
      const tc_tensor *rc[1] = {tc_tensor_from_data((int64_t[]){2, 0, 2, 2, -1}, SHAPE_OF(5), 1, TC_I64)};
      const tc_tensor *rg[1] = {on_gpu(rc[0])};
      tc_tensor *w = values(d, SHAPE_OF(5, 5, 8), 3, -3, 3, 90 + k);
      EXPECT(tc_index_put_inplace(pc, rc, 1, w, true) == TC_OK && tc_index_put_inplace(pg, rg, 1, on_gpu(w), true) == TC_OK,
             "index_put accumulate %s", tc_dtype_name(d));
      snprintf(what, sizeof what, "index_put accumulate %s", tc_dtype_name(d));
      same(pc, pg, d == TC_F32 ? 1e-6 : 1e-12, 0, what);
    }
    tc_scope_pop();
  }
  tc_scope_push();
  idx_pair p = {tc_tensor_from_data((int64_t[]){0, 2, 2, 1}, SHAPE_OF(4), 1, TC_I64),
                tc_tensor_from_data((int64_t[]){3, 3, 3, 0}, SHAPE_OF(4), 1, TC_I64)};
  grad_check(values(TC_F32, SHAPE_OF(3, 4, 5), 3, -1, 1, 99), op_index, &p, 1e-6, "index (repeated targets)");
  tc_scope_pop();
}

/* ---- cumsum / cumprod ------------------------------------------------------------------------- */
static tc_tensor *op_cumsum(const tc_tensor *x, const void *c) { return tc_cumsum(x, *(const int64_t *)c); }
static tc_tensor *op_cumprod(const tc_tensor *x, const void *c) { return tc_cumprod(x, *(const int64_t *)c); }

static void test_scan(void) {
  static const tc_dtype ds[] = {TC_F32, TC_F64, TC_F16, TC_BF16, TC_I64, TC_I32, TC_U8, TC_BOOL};
  for (size_t k = 0; k < sizeof ds / sizeof ds[0]; k++) {
    tc_scope_push();
    tc_dtype d = ds[k];
    bool fl = tc_dtype_is_floating(d);
    tc_tensor *x = values(d, SHAPE_OF(3, 17, 5), 3, fl ? 0.5 : 0, fl ? 1.5 : 3, 100 + k), *xg = on_gpu(x);
    double rt = d == TC_F16 || d == TC_BF16 ? rtol_of(d) * 4 : rtol_of(d);
    for (int64_t dim = -1; dim < 3; dim++) {
      char what[64];
      snprintf(what, sizeof what, "cumsum %s dim %lld", tc_dtype_name(d), (long long)dim);
      same(tc_cumsum(x, dim), tc_cumsum(xg, dim), fl ? rt : 0, 0, what);
      snprintf(what, sizeof what, "cumprod %s dim %lld", tc_dtype_name(d), (long long)dim);
      same(tc_cumprod(x, dim), tc_cumprod(xg, dim), fl ? rt : 0, 0, what);
      snprintf(what, sizeof what, "cumsum %s dim %lld transposed", tc_dtype_name(d), (long long)dim);
      same(tc_cumsum(tc_transpose(x, 0, 2), dim), tc_cumsum(tc_transpose(xg, 0, 2), dim), fl ? rt : 0, 0, what);
    }
    tc_scope_pop();
  }
  tc_scope_push();
  int64_t dim = 1;
  grad_check(values(TC_F64, SHAPE_OF(4, 9), 2, -1, 1, 120), op_cumsum, &dim, 1e-12, "cumsum");
  tc_tensor *z = values(TC_F64, SHAPE_OF(4, 9), 2, 0.5, 1.5, 121);
  double *zp = tc_tensor_data(z);
  zp[3] = 0, zp[12] = 0, zp[14] = 0; /* rows with one and two zeros */
  grad_check(z, op_cumprod, &dim, 1e-10, "cumprod with zeros");
  tc_scope_pop();
}

/* ---- pad --------------------------------------------------------------------------------------- */
typedef struct {
  const int64_t *pad;
  int64_t npad;
  tc_pad_mode mode;
} pad_case;
static tc_tensor *op_pad(const tc_tensor *x, const void *c) {
  const pad_case *p = c;
  return tc_pad(x, p->pad, p->npad, p->mode, 0.25);
}

static void test_pad(void) {
  static const int64_t p1[] = {2, 3}, p1n[] = {-1, 2}, p2[] = {1, 2, 2, 1}, p2n[] = {-1, 3, 2, -2},
                       p3[] = {1, 1, 2, 0, 1, 2};
  const pad_case cases[] = {
      {p1, 2, TC_PAD_CONSTANT},  {p1n, 2, TC_PAD_CONSTANT},  {p2, 4, TC_PAD_CONSTANT},  {p2n, 4, TC_PAD_CONSTANT},
      {p3, 6, TC_PAD_CONSTANT},  {p1, 2, TC_PAD_REFLECT},    {p2, 4, TC_PAD_REFLECT},   {p3, 6, TC_PAD_REFLECT},
      {p1, 2, TC_PAD_REPLICATE}, {p2, 4, TC_PAD_REPLICATE},  {p3, 6, TC_PAD_REPLICATE}, {p1n, 2, TC_PAD_CIRCULAR},
      {p2, 4, TC_PAD_CIRCULAR},  {p2n, 4, TC_PAD_CIRCULAR},  {p3, 6, TC_PAD_CIRCULAR}};
  static const char *modes[] = {"constant", "reflect", "replicate", "circular"};
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    tc_scope_push();
    const pad_case *c = &cases[k];
    int nd = (int)c->npad / 2 + 2;
    int64_t shape[5] = {2, 3, 5, 6, 7};
    tc_tensor *x = values(TC_F32, shape + (5 - nd), nd, -1, 1, 130 + k);
    char what[64];
    snprintf(what, sizeof what, "pad %s %lld values (case %zu)", modes[c->mode], (long long)c->npad, k);
    grad_check(x, op_pad, c, 1e-6, what);
    if (k == 2) { /* integers and the half types too */
      tc_tensor *xi = values(TC_I64, shape + 2, 3, -50, 50, 140);
      same(tc_pad(xi, c->pad, c->npad, c->mode, 7), tc_pad(on_gpu(xi), c->pad, c->npad, c->mode, 7), 0, 0,
           "pad int64 constant");
      tc_tensor *xh = tc_to_dtype(x, TC_BF16);
      same(tc_pad(xh, p2, 4, TC_PAD_REFLECT, 0), tc_pad(on_gpu(xh), p2, 4, TC_PAD_REFLECT, 0), 0, 0, "pad bf16 reflect");
    }
    tc_scope_pop();
  }
}

/* ---- group norm, logsumexp, outer --------------------------------------------------------------- */
typedef struct {
  const tc_tensor *w, *b;
  int64_t groups;
} gn_case;
static tc_tensor *op_group_norm(const tc_tensor *x, const void *c) {
  const gn_case *g = c;
  bool dev = is_gpu(x);
  return tc_group_norm(x, g->groups, g->w && dev ? on_gpu(g->w) : g->w, g->b && dev ? on_gpu(g->b) : g->b, 1e-5);
}
static tc_tensor *op_logsumexp(const tc_tensor *x, const void *c) {
  (void)c;
  return tc_logsumexp(x, (const int64_t[]){1}, 1, false);
}

static void test_norm_reduce(void) {
  tc_scope_push();
  tc_tensor *x = values(TC_F32, SHAPE_OF(4, 6, 5, 3), 4, -2, 3, 150);
  tc_tensor *w = values(TC_F32, SHAPE_OF(6), 1, 0.5, 1.5, 151), *b = values(TC_F32, SHAPE_OF(6), 1, -1, 1, 152);
  gn_case g1 = {w, b, 3}, g2 = {NULL, NULL, 2}, g3 = {tc_to_dtype(w, TC_F64), tc_to_dtype(b, TC_F64), 6};
  grad_check(x, op_group_norm, &g1, 1e-4, "group_norm 3 groups affine");
  grad_check(x, op_group_norm, &g2, 1e-4, "group_norm 2 groups");
  grad_check(values(TC_F64, SHAPE_OF(3, 6, 10), 3, -2, 3, 153), op_group_norm, &g3, 1e-4, "group_norm f64 instance-like");
  /* the weight and bias gradients */
  tc_tensor *wl[2] = {leaf(w), on_gpu(w)}, *bl[2] = {leaf(b), on_gpu(b)};
  tc_tensor_requires_grad_(wl[1], true);
  tc_tensor_requires_grad_(bl[1], true);
  for (int k = 0; k < 2; k++) {
    tc_tensor *y = tc_group_norm(k ? on_gpu(x) : x, 3, wl[k], bl[k], 1e-5);
    tc_tensor *s = y ? tc_sum(tc_mul(y, y), NULL, 0, false) : NULL;
    EXPECT(s && tc_backward(s) == TC_OK, "group_norm weight backward on %s", k ? "gpu" : "cpu");
  }
  same(tc_tensor_grad(wl[0]), tc_tensor_grad(wl[1]), 1e-4, 1e-5, "group_norm grad weight");
  same(tc_tensor_grad(bl[0]), tc_tensor_grad(bl[1]), 1e-4, 1e-5, "group_norm grad bias");

  tc_tensor *l = values(TC_F32, SHAPE_OF(5, 8), 2, -30, 30, 160);
  float *lp = tc_tensor_data(l);
  for (int j = 0; j < 8; j++) lp[8 + j] = -INFINITY; /* a row of -inf: logsumexp is -inf */
  lp[16] = INFINITY;
  same(tc_logsumexp(l, (const int64_t[]){1}, 1, false), tc_logsumexp(on_gpu(l), (const int64_t[]){1}, 1, false),
       1e-6, 0, "logsumexp rows");
  same(tc_logsumexp(l, (const int64_t[]){0}, 1, true), tc_logsumexp(on_gpu(l), (const int64_t[]){0}, 1, true), 1e-6,
       0, "logsumexp keepdim");
  tc_tensor *li = values(TC_I32, SHAPE_OF(4, 6), 2, -5, 5, 161);
  same(tc_logsumexp(li, NULL, 0, false), tc_logsumexp(on_gpu(li), NULL, 0, false), 1e-6, 0, "logsumexp int32 all");
  grad_check(values(TC_F64, SHAPE_OF(5, 7), 2, -3, 3, 162), op_logsumexp, NULL, 1e-10, "logsumexp");

  tc_tensor *a = values(TC_F32, SHAPE_OF(7), 1, -2, 2, 170), *c = values(TC_F16, SHAPE_OF(5), 1, -2, 2, 171);
  same(tc_outer(a, c), tc_outer(on_gpu(a), on_gpu(c)), 1e-6, 0, "outer f32 x f16");
  tc_tensor *ai = values(TC_I64, SHAPE_OF(4), 1, -9, 9, 172);
  same(tc_outer(ai, ai), tc_outer(on_gpu(ai), on_gpu(ai)), 0, 0, "outer int64");
  tc_scope_pop();
}

/* ---- integer max pooling ----------------------------------------------------------------------- */
static void test_int_max_pool(void) {
  static const tc_dtype ds[] = {TC_U8, TC_I8, TC_I16, TC_U16, TC_I32, TC_I64};
  for (size_t k = 0; k < sizeof ds / sizeof ds[0]; k++) {
    tc_scope_push();
    tc_dtype d = ds[k];
    tc_tensor *x = values(d, SHAPE_OF(2, 3, 11, 9), 4, d == TC_U8 || d == TC_U16 ? 0 : -100, 100, 180 + k);
    if (d == TC_I64) { /* the extremes of the type, where a float detour would lose digits */
      int64_t *p = tc_tensor_data(x);
      p[0] = INT64_MIN, p[1] = INT64_MAX - 1, p[2] = INT64_MAX, p[12] = (int64_t)1 << 60, p[13] = ((int64_t)1 << 60) + 1;
    }
    const tc_pool_opts *o = TC_POOL(.kernel = {3, 2}, .stride = {2, 2}, .padding = {1, 0}, .ceil_mode = true);
    tc_tensor *ic = NULL, *ig = NULL;
    tc_tensor *yc = tc_max_pool2d(x, o, &ic), *yg = tc_max_pool2d(on_gpu(x), o, &ig);
    char what[64];
    snprintf(what, sizeof what, "max_pool2d %s", tc_dtype_name(d));
    EXPECT(yc && yg, "%s", what);
    if (yc && yg) {
      same(yc, yg, 0, 0, what);
      snprintf(what, sizeof what, "max_pool2d %s indices", tc_dtype_name(d));
      same(ic, ig, 0, 0, what);
    }
    tc_tensor *yd = tc_max_pool2d(on_gpu(x), TC_POOL(.kernel = {2, 2}, .dilation = {2, 3}), NULL);
    snprintf(what, sizeof what, "max_pool2d %s dilated", tc_dtype_name(d));
    EXPECT(yd != NULL, "%s", what);
    if (yd) same(tc_max_pool2d(x, TC_POOL(.kernel = {2, 2}, .dilation = {2, 3}), NULL), yd, 0, 0, what);
    tc_scope_pop();
  }
  tc_scope_push();
  tc_tensor *xi = values(TC_I64, SHAPE_OF(1, 2, 6, 6), 4, -9, 9, 190);
  tc_clear_error();
  EXPECT(!tc_avg_pool2d(on_gpu(xi), TC_POOL(.kernel = {2, 2})) && tc_last_status() == TC_ERR_UNSUPPORTED,
         "avg_pool2d int64 on the device is a clear error");
  tc_scope_pop();
}

/* ---- random numbers and init on the device -------------------------------------------------------- */
static void test_random(void) {
  tc_scope_push();
  tc_tensor *c[8], *g[8];
  for (int k = 0; k < 2; k++) {
    tc_tensor **r = k ? g : c;
    tc_options o = {.dtype = TC_F32, .device = k ? gpu : tc_cpu()};
    tc_manual_seed(77);
    r[0] = tc_rand(SHAPE_OF(33, 5), 2, &o);
    r[1] = tc_randn(SHAPE_OF(37), 1, &o);
    o.dtype = TC_I64;
    r[2] = tc_randint(-5, 9, SHAPE_OF(4, 6), 2, &o);
    r[3] = tc_randperm(50, &o);
    o.dtype = TC_F64;
    r[4] = tc_zeros(SHAPE_OF(6, 8), 2, &o);
    tc_tensor *tv = tc_t(r[4]); /* a transposed view: drawn in its memory order, as the CPU */
    EXPECT(tc_normal_inplace(tv, 1, 2, NULL) == TC_OK, "normal_ on %s", k ? "gpu" : "cpu");
    r[5] = tc_zeros(SHAPE_OF(40), 1, &o);
    EXPECT(tc_uniform_inplace(r[5], -3, 3, NULL) == TC_OK && tc_bernoulli_inplace(tc_narrow(r[5], 0, 5, 20), 0.3, NULL) == TC_OK,
           "uniform_/bernoulli_ on %s", k ? "gpu" : "cpu");
    tc_tensor *p = tc_rand(SHAPE_OF(30), 1, &o);
    r[6] = tc_bernoulli(p, NULL);
    o.dtype = TC_F32;
    r[7] = tc_zeros(SHAPE_OF(16, 9, 3, 3), 4, &o);
    EXPECT(tc_init_kaiming_uniform_(r[7], sqrt(5.0), TC_FAN_IN, TC_NONLIN_LEAKY_RELU, NULL) == TC_OK,
           "kaiming_uniform_ on %s", k ? "gpu" : "cpu");
  }
  static const char *names[8] = {"rand", "randn", "randint", "randperm", "normal_ transposed", "uniform_ + bernoulli_",
                                 "bernoulli(p)", "kaiming_uniform_"};
  for (int i = 0; i < 8; i++) {
    EXPECT(c[i] && g[i] && is_gpu(g[i]), "%s made on the gpu", names[i]);
    if (c[i] && g[i]) same(c[i], g[i], 0, 0, names[i]);
  }
  /* trunc_normal_ in both of its samplers, and the default-generator state after each */
  for (int s = 0; s < 2; s++) {
    tc_tensor *t[2];
    for (int k = 0; k < 2; k++) {
      tc_manual_seed(5 + s);
      t[k] = tc_zeros(SHAPE_OF(64, 3), 2, TC_OPTS(.device = k ? gpu : tc_cpu()));
      EXPECT(tc_init_trunc_normal_(t[k], 0, 1, s ? 2.5 : -2, s ? 4 : 2, NULL) == TC_OK, "trunc_normal_ %d", s);
      tc_tensor *after = tc_rand(SHAPE_OF(3), 1, NULL);
      if (k == 0) t[0] = tc_cat((const tc_tensor *[]){tc_flatten(t[0], 0, -1), after}, 2, 0);
      else t[1] = tc_cat((const tc_tensor *[]){tc_flatten(tc_tensor_to(t[1], tc_cpu()), 0, -1), after}, 2, 0);
    }
    same(t[0], t[1], 0, 0, s ? "trunc_normal_ (uniform proposals) and the stream after" : "trunc_normal_ and the stream after");
  }
  tc_scope_pop();
}

/* ---- the DataLoader's pinned batches feeding the GPU ------------------------------------------------ */
static void test_pinned_loader(void) {
  tc_scope_push();
  tc_tensor *x = values(TC_F32, SHAPE_OF(100, 3, 8, 8), 4, -1, 1, 200);
  tc_tensor *y = tc_to_dtype(values(TC_F32, SHAPE_OF(100), 1, 0, 10, 201), TC_I64);
  td_dataset *ds = td_tensor_dataset(2, (const tc_tensor *[]){x, y}, (const char *[]){"input", "target"});
  td_loader_opts o = TD_LOADER_DEFAULTS;
  o.batch_size = 16, o.num_workers = 2, o.pin_memory = true, o.shuffle = true, o.seed = 3;
  td_loader *dl = ds ? td_loader_create(ds, &o) : NULL;
  EXPECT(dl != NULL, "loader with pin_memory");
  int batches = 0;
  double total_cpu = 0, total_gpu = 0;
  td_sample b;
  bool end = false;
  while (dl && td_loader_next(dl, &b, &end) == TC_OK && !end) {
    const tr_value *xi = td_sample_field(&b, "input"), *ti = td_sample_field(&b, "target");
    bool pinned = gpu.type == TC_DEVICE_CPU || (tc_tensor_is_pinned(xi->tensor) && tc_tensor_is_pinned(ti->tensor));
    EXPECT(xi && ti && pinned, "batch %d pinned", batches);
    tc_tensor *xg = tc_tensor_to_nonblocking(xi->tensor, gpu), *tg = tc_tensor_to_nonblocking(ti->tensor, gpu);
    EXPECT(xg && tg && is_gpu(xg), "batch %d copied to the gpu", batches);
    /* a small step on the device: the sum of inputs weighted by their labels */
    tc_tensor *s = tc_sum(tc_mul(tc_flatten(xg, 1, -1), tc_unsqueeze(tc_to_dtype(tg, TC_F32), 1)), NULL, 0, false);
    double v = 0, vc = 0;
    EXPECT(tc_item_double(s, &v) == TC_OK, "batch %d result", batches);
    tc_item_double(tc_sum(tc_mul(tc_flatten(xi->tensor, 1, -1), tc_unsqueeze(tc_to_dtype(ti->tensor, TC_F32), 1)), NULL, 0,
                          false),
                   &vc);
    total_gpu += v, total_cpu += vc;
    td_sample_clear(&b);
    batches++;
  }
  EXPECT(end && batches == 7, "7 batches, got %d", batches);
  EXPECT(fabs(total_cpu - total_gpu) <= 1e-3 * (1 + fabs(total_cpu)), "pinned batches: gpu %g vs cpu %g", total_gpu,
         total_cpu);
  td_loader_destroy(dl);
  td_release(ds);
  tc_scope_pop();
}

/* ---- in place under autograd, CPU scalars, copies across devices ------------------------------------ */
static tc_tensor *op_inplace_chain(const tc_tensor *x, const void *c) {
  (void)c;
  tc_tensor *h = tc_mul_scalar(x, 1.5); /* a non-leaf: in-place ops may write it */
  if (!h || tc_relu_inplace(h) || tc_add_inplace(h, x, 2.0) || tc_mul_scalar_inplace(h, -0.5) ||
      tc_clamp_inplace(h, -1.0, 1.0))
    return NULL;
  return h;
}

static void test_mixed_devices(void) {
  tc_scope_push();
  tc_tensor *x = values(TC_F32, SHAPE_OF(5, 6), 2, -2, 2, 300);
  grad_check(x, op_inplace_chain, NULL, 1e-6, "in-place chain under autograd");
  /* a 0-d CPU tensor with device tensors acts as a scalar; its gradient comes back to the CPU */
  tc_tensor *s[2] = {leaf(tc_scalar_tensor(0.75, NULL)), leaf(tc_scalar_tensor(0.75, NULL))};
  tc_tensor *xs[2] = {x, on_gpu(x)};
  tc_tensor *y[2];
  for (int k = 0; k < 2; k++) {
    tc_tensor *m = tc_gt_scalar(xs[k], 0.0);
    y[k] = tc_where(m, tc_mul(xs[k], s[k]), tc_sub(s[k], xs[k], 1.0));
    y[k] = y[k] ? tc_clamp_tensor(y[k], tc_scalar_tensor(-1.0, NULL), NULL) : NULL;
    EXPECT(y[k] && tc_backward(tc_sum(y[k], NULL, 0, false)) == TC_OK, "0-d CPU operands on %s", k ? "gpu" : "cpu");
  }
  same(y[0], y[1], 1e-6, 0, "0-d CPU operands: values");
  EXPECT(tc_tensor_grad(s[1]) && tc_device_equal(tc_tensor_device(tc_tensor_grad(s[1])), tc_cpu()),
         "the CPU scalar's gradient stays on the CPU");
  same(tc_tensor_grad(s[0]), tc_tensor_grad(s[1]), 1e-5, 0, "0-d CPU operands: scalar gradient");
  /* copy_ across devices, both ways, with the gradient back to the source's device */
  tc_tensor *src = leaf(values(TC_F32, SHAPE_OF(6), 1, -1, 1, 301));
  tc_tensor *dst = tc_zeros(SHAPE_OF(5, 6), 2, TC_OPTS(.device = gpu));
  tc_tensor *dh = tc_mul_scalar(dst, 1.0);
  EXPECT(tc_copy_inplace(dh, src) == TC_OK, "copy_ CPU -> GPU (broadcast)");
  EXPECT(tc_backward(tc_sum(tc_mul(dh, on_gpu(x)), NULL, 0, false)) == TC_OK, "copy_ backward");
  same(tc_sum(x, (const int64_t[]){0}, 1, false), tc_tensor_grad(src), 1e-5, 1e-6, "copy_ gradient to the CPU source");
  tc_tensor *back = tc_zeros(SHAPE_OF(5, 6), 2, NULL);
  EXPECT(tc_copy_inplace(back, on_gpu(x)) == TC_OK, "copy_ GPU -> CPU");
  same(x, back, 0, 0, "copy_ GPU -> CPU values");
  /* a CPU state dict into a model on the GPU */
  tc_manual_seed(9);
  tc_module *a = tc_linear_create(6, 3, true), *b = tc_linear_create(6, 3, true);
  tc_state_dict *sd = tc_state_dict_create();
  EXPECT(tc_module_to(b, gpu) == TC_OK && tc_module_state_dict(a, sd, NULL) == TC_OK &&
             tc_module_load_state_dict(b, sd, NULL, true, NULL, NULL) == TC_OK,
         "load a CPU state dict into a GPU model");
  same(tc_module_forward(a, x), tc_module_forward(b, on_gpu(x)), 1e-5, 1e-6, "GPU model after loading CPU weights");
  tc_state_dict_destroy(sd);
  tc_module_destroy(a);
  tc_module_destroy(b);
  /* CPU index tensors on a GPU tensor */
  tc_tensor *ix = tc_tensor_from_data((int64_t[]){4, 0, 4}, SHAPE_OF(3), 1, TC_I64);
  same(tc_index(x, (const tc_tensor *[]){ix}, 1), tc_index(on_gpu(x), (const tc_tensor *[]){ix}, 1), 0, 0,
       "index a GPU tensor with CPU indices");
  tc_clear_error();
  EXPECT(tc_tensor_set_grad(leaf(on_gpu(x)), x) != TC_OK && tc_last_status() == TC_ERR_DEVICE,
         "set_grad with a gradient on another device is refused");
  tc_scope_pop();
}

/* ---- cross entropy with probabilities, embedding_bag max, 'same' with an even kernel ------------- */
typedef struct {
  const tc_tensor *target, *weight;
  tc_reduction red;
  double eps;
} ce_case;
static tc_tensor *op_ce_prob(const tc_tensor *x, const void *c) {
  const ce_case *k = c;
  bool dev = is_gpu(x);
  tc_ce_opts o = TC_CE_DEFAULTS;
  o.weight = k->weight && dev ? on_gpu(k->weight) : k->weight;
  o.reduction = k->red;
  o.label_smoothing = k->eps;
  return tc_cross_entropy(x, dev ? on_gpu(k->target) : k->target, &o);
}
typedef struct {
  const tc_tensor *idx, *offsets;
} bag_case;
static tc_tensor *op_bag_max(const tc_tensor *w, const void *c) {
  const bag_case *k = c;
  bool dev = is_gpu(w);
  return tc_embedding_bag(dev ? on_gpu(k->idx) : k->idx, w, dev ? on_gpu(k->offsets) : k->offsets, TC_BAG_MAX, NULL, 2);
}
static tc_tensor *op_conv_same_even(const tc_tensor *x, const void *c) {
  const tc_tensor *w = c;
  return tc_conv2d(x, is_gpu(x) ? on_gpu(w) : w, NULL,
                   TC_CONV(.padding_kind = TC_CONV_SAME, .dilation = {1, 3}));
}
static tc_tensor *op_tanh_prod(const tc_tensor *const *in, int64_t n, void *user) {
  (void)n, (void)user;
  return tc_sum(tc_mul(tc_tanh(in[0]), in[1]), (const int64_t[]){1}, 1, false);
}

static void test_more_losses_layers(void) {
  tc_scope_push();
  tc_tensor *x = values(TC_F32, SHAPE_OF(6, 5, 3), 3, -3, 3, 400);
  tc_tensor *t = tc_softmax(values(TC_F32, SHAPE_OF(6, 5, 3), 3, -2, 2, 401), 1);
  tc_tensor *w = values(TC_F32, SHAPE_OF(5), 1, 0.5, 2, 402);
  ce_case cases[] = {{t, NULL, TC_REDUCTION_MEAN, 0}, {t, w, TC_REDUCTION_SUM, 0.1}, {t, w, TC_REDUCTION_NONE, 0.2}};
  for (int i = 0; i < 3; i++) {
    char what[64];
    snprintf(what, sizeof what, "cross_entropy probabilities case %d", i);
    grad_check(x, op_ce_prob, &cases[i], 1e-5, what);
  }
  tc_tensor *emb = values(TC_F32, SHAPE_OF(10, 4), 2, -1, 1, 410);
  bag_case bc = {tc_tensor_from_data((int64_t[]){1, 3, 2, 2, 7, 7, 0, 9, 4}, SHAPE_OF(9), 1, TC_I64),
                 tc_tensor_from_data((int64_t[]){0, 3, 4, 4, 6}, SHAPE_OF(5), 1, TC_I64)}; /* an empty bag, a bag of padding */
  grad_check(emb, op_bag_max, &bc, 1e-6, "embedding_bag max");
  tc_tensor *cw = values(TC_F32, SHAPE_OF(4, 3, 2, 4), 4, -0.5, 0.5, 420);
  tc_tensor *cx = values(TC_F32, SHAPE_OF(2, 3, 7, 9), 4, -1, 1, 421);
  tc_cudnn_allow_tf32(0);
  tc_tensor *probe = tc_conv2d(on_gpu(cx), on_gpu(cw), NULL, NULL);
  if (probe) grad_check(cx, op_conv_same_even, cw, 1e-4, "conv2d 'same' with an even dilated kernel");
  else printf("(cuDNN unavailable: the 'same' convolution check is skipped)\n");
  tc_cudnn_allow_tf32(1);
  /* gradcheck on device inputs */
  tc_tensor *ga = on_gpu(values(TC_F64, SHAPE_OF(3, 4), 2, -1, 1, 430)), *gb = on_gpu(values(TC_F64, SHAPE_OF(3, 4), 2, -1, 1, 431));
  tc_tensor_requires_grad_(ga, true);
  tc_tensor_requires_grad_(gb, true);
  EXPECT(tc_gradcheck(op_tanh_prod, (const tc_tensor *[]){ga, gb}, 2, NULL, 1e-6, 1e-5, 1e-4) == TC_OK,
         "gradcheck on device inputs");
  tc_scope_pop();
}

/* ---- the device ops a convolution without cuDNN is composed of (nn/conv_composed.c) ---------------
 * each step on its own, then the chain: pad, a column gather along the last dim with more indices
 * than the dim holds, and a product broadcasting a (G, OCg, K) kernel over (N, G, K, L) columns */
static tc_tensor *op_gather_cols(const tc_tensor *x, const void *c) {
  const tc_tensor *map = c;
  tc_tensor *flat = tc_reshape(x, SHAPE_OF(2, 3, 81), 3);
  return tc_index_select(flat, 2, is_gpu(x) ? on_gpu(map) : map);
}
static tc_tensor *op_grouped_product(const tc_tensor *w, const void *c) {
  const tc_tensor *cols = c; /* (2, 3, 4, 5): N 2, G 3 */
  return tc_matmul(w, is_gpu(w) ? on_gpu(cols) : cols);
}

static tc_tensor *op_product_rhs(const tc_tensor *w, const void *c) {
  const tc_tensor *rows = c; /* (2, 3, 5, 6) @ w (3, 6, 4): the right operand has fewer dims */
  return tc_matmul(is_gpu(w) ? on_gpu(rows) : rows, w);
}

static void test_conv_composition_steps(void) {
  static const tc_dtype ds[] = {TC_F32, TC_F64};
  for (size_t k = 0; k < sizeof ds / sizeof ds[0]; k++) {
    tc_scope_push();
    tc_dtype d = ds[k];
    char what[96];
    tc_tensor *x = values(d, SHAPE_OF(2, 3, 9, 9), 4, -1, 1, 500 + k);
    int64_t map[200];
    for (int i = 0; i < 200; i++) map[i] = (i * 37 + i / 7) % 81;
    tc_tensor *mh = tc_tensor_from_data(map, SHAPE_OF(200), 1, TC_I64);
    snprintf(what, sizeof what, "column gather %s", tc_dtype_name(d));
    grad_check(x, op_gather_cols, mh, 1e-6, what);
    /* (G, OCg, K) @ (N, G, K, L) and (OCg, K) @ (N, G, K, L) */
    tc_tensor *cols = values(d, SHAPE_OF(2, 3, 4, 5), 4, -1, 1, 510 + k);
    snprintf(what, sizeof what, "grouped broadcast product %s", tc_dtype_name(d));
    grad_check(values(d, SHAPE_OF(3, 6, 4), 3, -1, 1, 520 + k), op_grouped_product, cols, 1e-5, what);
    snprintf(what, sizeof what, "4-D by 3-D product %s", tc_dtype_name(d));
    grad_check(values(d, SHAPE_OF(3, 6, 4), 3, -1, 1, 525 + k), op_product_rhs,
               values(d, SHAPE_OF(2, 3, 5, 6), 4, -1, 1, 526 + k), 1e-5, what);
    snprintf(what, sizeof what, "2-D by 4-D product %s", tc_dtype_name(d));
    grad_check(values(d, SHAPE_OF(6, 4), 2, -1, 1, 530 + k), op_grouped_product, cols, 1e-5, what);
    snprintf(what, sizeof what, "4-D by 4-D product %s", tc_dtype_name(d));
    grad_check(values(d, SHAPE_OF(2, 3, 6, 4), 4, -1, 1, 540 + k), op_grouped_product, cols, 1e-5, what);
    /* the chain for a 3x3 pad-1 convolution, written out */
    tc_tensor *w = values(d, SHAPE_OF(4, 3, 3, 3), 4, -0.5, 0.5, 550 + k);
    tc_tensor *y[2];
    for (int g = 0; g < 2; g++) {
      tc_tensor *xi = g ? on_gpu(x) : x, *wi = g ? on_gpu(w) : w;
      tc_tensor *xp = tc_pad(xi, SHAPE_OF(1, 1, 1, 1), 4, TC_PAD_CONSTANT, 0.0);
      int64_t cmap[9 * 81];
      for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
          for (int oh = 0; oh < 9; oh++)
            for (int ow = 0; ow < 9; ow++) cmap[((i * 3 + j) * 9 + oh) * 9 + ow] = (oh + i) * 11 + ow + j;
      tc_tensor *cm = tc_tensor_from_data(cmap, SHAPE_OF(9 * 81), 1, TC_I64);
      tc_tensor *c = tc_index_select(tc_reshape(xp, SHAPE_OF(2, 3, 121), 3), 2, g ? on_gpu(cm) : cm);
      tc_tensor *prod = tc_matmul(tc_reshape(wi, SHAPE_OF(1, 4, 27), 3), tc_reshape(c, SHAPE_OF(2, 1, 27, 81), 4));
      y[g] = tc_reshape(prod, SHAPE_OF(2, 4, 9, 9), 4);
    }
    snprintf(what, sizeof what, "composed 3x3 convolution %s", tc_dtype_name(d));
    same(y[0], y[1], 1e-5, 1e-6, what);
    snprintf(what, sizeof what, "composed chain against conv2d %s", tc_dtype_name(d));
    same(tc_conv2d(x, w, NULL, TC_CONV(.padding = {1, 1})), y[1], 1e-5, 1e-6, what);
    snprintf(what, sizeof what, "device conv2d (cuDNN or composed) against the chain %s", tc_dtype_name(d));
    same(y[1], tc_conv2d(on_gpu(x), on_gpu(w), NULL, TC_CONV(.padding = {1, 1})), 1e-5, 1e-6, what);
    tc_scope_pop();
  }
}

int main(void) {
  if (cuda_check_start()) return 77;
  RUN(test_select);
  RUN(test_advanced_index);
  RUN(test_scan);
  RUN(test_pad);
  RUN(test_norm_reduce);
  RUN(test_int_max_pool);
  RUN(test_random);
  RUN(test_pinned_loader);
  RUN(test_mixed_devices);
  RUN(test_more_losses_layers);
  RUN(test_conv_composition_steps);
  return cuda_check_finish("cuda ops extra");
}
