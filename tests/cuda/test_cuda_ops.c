/* CUDA ops against the CPU: every op of the elementwise tables on every dtype (contiguous,
 * transposed, broadcast, scalar and in-place forms), dtype conversions, fills, reductions, matrix
 * products, autograd through a small network, the caching allocator's statistics, and the error
 * paths (device mismatch, out of memory). The CPU result is the reference: relative tolerances
 * by dtype, exact for integers, bool and conversions.
 *
 * Exits 77 (skipped) when no CUDA device is present. Prints every mismatch, then a summary. */
#include "cuda_check.h"

static tc_tensor *input(tc_dtype d, int64_t rows, int64_t cols, uint64_t seed, bool specials, bool nonzero) {
  tc_generator *g = tc_generator_create(seed);
  int64_t shape[2] = {rows, cols};
  tc_tensor *t;
  if (tc_dtype_is_floating(d)) {
    tc_tensor *u = tc_rand(shape, 2, TC_OPTS(.dtype = TC_F64, .generator = g));
    tc_tensor *s = tc_sub_scalar(tc_mul_scalar(u, 6.0), 3.0);
    if (specials && rows * cols >= 8) {
      double *p = tc_tensor_data(s);
      p[1] = NAN, p[3] = INFINITY, p[5] = -INFINITY, p[7] = -0.0;
    }
    t = tc_to_dtype(s, d);
  } else if (d == TC_BOOL) {
    t = tc_to_dtype(tc_randint(0, 2, shape, 2, TC_OPTS(.generator = g)), d);
  } else {
    bool is_unsigned = d == TC_U8 || d == TC_U16;
    tc_tensor *r = tc_randint(is_unsigned ? (nonzero ? 1 : 0) : -5, is_unsigned ? 11 : 6, shape, 2, TC_OPTS(.generator = g));
    if (nonzero && !is_unsigned) r = tc_where(tc_eq_scalar(r, 0), tc_full_like(r, 3, NULL), r);
    t = tc_to_dtype(r, d);
  }
  tc_generator_destroy(g);
  return t;
}

static const tc_dtype all_real[] = {TC_F32, TC_F64, TC_F16, TC_BF16, TC_I64, TC_I32, TC_I16,
                                    TC_I8,  TC_U8,  TC_U16, TC_BOOL};
#define NREAL (int)(sizeof all_real / sizeof all_real[0])

/* ---- unary ---------------------------------------------------------------------------------------- */
typedef tc_tensor *(*unary_fn)(const tc_tensor *);
static const struct {
  const char *name;
  unary_fn f;
} unary_ops[] = {
#define TC_UNARY_FLOAT(name, f32, f64) {#name, tc_##name},
#define TC_UNARY_SAME(name, f32, f64, iexpr, bool_ok) {#name, tc_##name},
#define TC_UNARY_PRED(name, f32, f64, iexpr) {#name, tc_##name},
#include "ops/unary.def"
};

static void test_unary(void) {
  for (size_t o = 0; o < sizeof unary_ops / sizeof unary_ops[0]; o++) {
    for (int di = 0; di < NREAL; di++) {
      tc_dtype d = all_real[di];
      tc_scope_push();
      tc_tensor *x = input(d, 37, 29, 100 + di, true, false);
      tc_tensor *xg = on_gpu(x);
      char what[96];
      tc_clear_error();
      tc_tensor *c = unary_ops[o].f(x);
      tc_status cs = tc_last_status();
      tc_clear_error();
      tc_tensor *g = unary_ops[o].f(xg);
      snprintf(what, sizeof what, "%s %s", unary_ops[o].name, tc_dtype_name(d));
      if (!c) {
        EXPECT(!g && tc_last_status() == cs, "%s: the CPU refuses (%s) but the GPU gave %p", what,
               tc_status_name(cs), (void *)g);
      } else {
        double rt = rtol_of(tc_tensor_dtype(c));
        /* float16/bfloat16 results round an f32 value that may differ by an ulp */
        same(c, g, rt, rt > 0 ? 1e-6 : 0, what);
        /* transposed (non-contiguous) input */
        snprintf(what, sizeof what, "%s %s transposed", unary_ops[o].name, tc_dtype_name(d));
        same(unary_ops[o].f(tc_t(x)), unary_ops[o].f(tc_t(xg)), rt, rt > 0 ? 1e-6 : 0, what);
      }
      tc_scope_pop();
    }
  }
  /* in place */
  tc_scope_push();
  tc_tensor *x = input(TC_F32, 8, 9, 5, false, false), *xg = on_gpu(x);
  EXPECT(tc_relu_inplace(x) == TC_OK && tc_relu_inplace(xg) == TC_OK, "relu_");
  same(x, xg, 0, 0, "relu_ in place");
  EXPECT(tc_exp_inplace(x) == TC_OK && tc_exp_inplace(xg) == TC_OK, "exp_");
  same(x, xg, 2e-6, 0, "exp_ in place");
  same(tc_clamp(x, 0.5, 2.0), tc_clamp(xg, 0.5, 2.0), 2e-6, 0, "clamp f32"); /* x differs by exp ulps */
  tc_tensor *xi = input(TC_I32, 8, 9, 6, false, false);
  same(tc_clamp(xi, -2, 3), tc_clamp(on_gpu(xi), -2, 3), 0, 0, "clamp i32");
  tc_scope_pop();
}

/* ---- binary ---------------------------------------------------------------------------------------- */
static tc_tensor *b_add(const tc_tensor *a, const tc_tensor *b) { return tc_add(a, b, 0.5); }
static tc_tensor *b_sub(const tc_tensor *a, const tc_tensor *b) { return tc_sub(a, b, 2.0); }
static tc_tensor *b_floor(const tc_tensor *a, const tc_tensor *b) { return tc_div_mode(a, b, TC_ROUND_FLOOR); }
static tc_tensor *b_trunc(const tc_tensor *a, const tc_tensor *b) { return tc_div_mode(a, b, TC_ROUND_TRUNC); }
typedef tc_tensor *(*binary_fn)(const tc_tensor *, const tc_tensor *);
static const struct {
  const char *name;
  binary_fn f;
} binary_ops[] = {{"add", b_add},         {"sub", b_sub},         {"mul", tc_mul},         {"div", tc_div},
                  {"div_floor", b_floor}, {"div_trunc", b_trunc}, {"remainder", tc_remainder},
                  {"pow", tc_pow},        {"minimum", tc_minimum}, {"maximum", tc_maximum}, {"eq", tc_eq},
                  {"ne", tc_ne},          {"lt", tc_lt},           {"le", tc_le},           {"gt", tc_gt},
                  {"ge", tc_ge},          {"logical_and", tc_logical_and}};

static void test_binary(void) {
  for (size_t o = 0; o < sizeof binary_ops / sizeof binary_ops[0]; o++) {
    for (int di = 0; di < NREAL; di++) {
      tc_dtype d = all_real[di];
      tc_scope_push();
      bool is_pow = !strcmp(binary_ops[o].name, "pow");
      tc_tensor *a = input(d, 23, 31, 300 + di, !is_pow, false);
      tc_tensor *b = input(d, 23, 31, 400 + di, false, true);
      if (is_pow && !tc_dtype_is_floating(d) && d != TC_BOOL) b = tc_abs(b); /* no negative integer powers */
      tc_tensor *row = tc_contiguous(tc_select(b, 0, 2));                 /* (31,) broadcast over rows */
      tc_tensor *ag = on_gpu(a), *bg = on_gpu(b), *rowg = on_gpu(row);
      char what[96];
      tc_clear_error();
      tc_tensor *c = binary_ops[o].f(a, b);
      tc_status cs = tc_last_status();
      tc_clear_error();
      tc_tensor *g = binary_ops[o].f(ag, bg);
      snprintf(what, sizeof what, "%s %s", binary_ops[o].name, tc_dtype_name(d));
      if (!c) {
        EXPECT(!g && tc_last_status() == cs, "%s: the CPU refuses (%s) but the GPU gave %p", what,
               tc_status_name(cs), (void *)g);
      } else {
        double rt = rtol_of(tc_tensor_dtype(c));
        same(c, g, rt, rt > 0 ? 1e-6 : 0, what);
        snprintf(what, sizeof what, "%s %s broadcast", binary_ops[o].name, tc_dtype_name(d));
        same(binary_ops[o].f(a, row), binary_ops[o].f(ag, rowg), rt, rt > 0 ? 1e-6 : 0, what);
        snprintf(what, sizeof what, "%s %s transposed", binary_ops[o].name, tc_dtype_name(d));
        same(binary_ops[o].f(tc_t(a), tc_t(b)), binary_ops[o].f(tc_t(ag), tc_t(bg)), rt, rt > 0 ? 1e-6 : 0, what);
      }
      tc_scope_pop();
    }
  }
  /* scalars, mixed dtypes and in-place forms */
  tc_scope_push();
  tc_tensor *a = input(TC_F32, 16, 16, 7, false, false), *ag = on_gpu(a);
  tc_tensor *i = input(TC_I64, 16, 16, 8, false, false), *ig = on_gpu(i);
  same(tc_add_scalar(a, 2.5), tc_add_scalar(ag, 2.5), 0, 0, "add scalar");
  same(tc_mul_scalar(i, 3), tc_mul_scalar(ig, 3), 0, 0, "mul scalar int");
  same(tc_div_scalar(i, 4), tc_div_scalar(ig, 4), 1e-6, 0, "int / scalar -> float");
  same(tc_add(a, i, 1.0), tc_add(ag, ig, 1.0), 1e-6, 0, "f32 + i64");
  tc_tensor *h = tc_to_dtype(a, TC_F16);
  same(tc_mul(h, a), tc_mul(on_gpu(h), ag), 1e-6, 0, "f16 * f32");
  EXPECT(tc_add_inplace(a, tc_t(a), 1.0) == TC_OK && tc_add_inplace(ag, tc_t(ag), 1.0) == TC_OK, "add_ aliasing");
  same(a, ag, 0, 0, "a += a^T");
  EXPECT(tc_mul_scalar_inplace(i, -3) == TC_OK && tc_mul_scalar_inplace(ig, -3) == TC_OK, "mul_ scalar int");
  same(i, ig, 0, 0, "i *= -3");
  tc_tensor *z = tc_zeros_like(ig, NULL);
  EXPECT(tc_floor_divide(ig, z) == NULL && tc_last_status() == TC_ERR_ARG, "integer division by zero on the GPU");
  tc_scope_pop();
}

/* ---- conversions, fills, factories ---------------------------------------------------------------------- */
static void test_convert(void) {
  tc_dtype all[NREAL + 1];
  memcpy(all, all_real, sizeof all_real);
  all[NREAL] = TC_C64;
  for (int s = 0; s <= NREAL; s++) {
    tc_scope_push();
    tc_tensor *x = s == NREAL ? tc_to_dtype(input(TC_F32, 9, 13, 20, true, false), TC_C64)
                              : input(all[s], 9, 13, 20 + s, true, false);
    /* values beyond the integer ranges too */
    if (s < 4) x = tc_to_dtype(tc_mul_scalar(tc_to_dtype(x, TC_F64), 70.5), all[s]);
    tc_tensor *xg = on_gpu(x);
    for (int d = 0; d <= NREAL; d++) {
      char what[64];
      snprintf(what, sizeof what, "%s -> %s", tc_dtype_name(all[s]), tc_dtype_name(all[d]));
      tc_tensor *c = tc_to_dtype(x, all[d]), *g = tc_to_dtype(xg, all[d]);
      if (all[d] == TC_C64) { /* compare the real parts (the imaginary ones are 0 or carried) */
        c = tc_to_dtype(c, TC_F32);
        g = tc_to_dtype(g, TC_F32);
      }
      same(c, g, 0, 0, what);
      snprintf(what, sizeof what, "%s -> %s transposed", tc_dtype_name(all[s]), tc_dtype_name(all[d]));
      if (all[d] != TC_C64) same(tc_to_dtype(tc_t(x), all[d]), tc_to_dtype(tc_t(xg), all[d]), 0, 0, what);
    }
    tc_scope_pop();
  }
  tc_scope_push();
  for (int d = 0; d < NREAL; d++) {
    char what[64];
    snprintf(what, sizeof what, "full %s", tc_dtype_name(all_real[d]));
    same(tc_full(SHAPE_OF(3, 5), 2, 7.0, TC_OPTS(.dtype = all_real[d])),
         tc_full(SHAPE_OF(3, 5), 2, 7.0, TC_OPTS(.dtype = all_real[d], .device = gpu)), 0, 0, what);
  }
  same(tc_arange(0, 100, 3, NULL), tc_arange(0, 100, 3, TC_OPTS(.device = gpu)), 0, 0, "arange");
  same(tc_eye(5, 7, NULL), tc_eye(5, 7, TC_OPTS(.device = gpu)), 0, 0, "eye");
  /* copy_ across strides, and a slice assignment through a view */
  tc_tensor *x = input(TC_F32, 10, 12, 30, false, false), *xg = on_gpu(x);
  tc_tensor *y = tc_zeros(SHAPE_OF(12, 10), 2, NULL), *yg = tc_zeros(SHAPE_OF(12, 10), 2, TC_OPTS(.device = gpu));
  EXPECT(tc_copy_inplace(y, tc_t(x)) == TC_OK && tc_copy_inplace(yg, tc_t(xg)) == TC_OK, "copy_");
  same(y, yg, 0, 0, "copy_ transposed");
  EXPECT(tc_fill_inplace(tc_narrow(y, 1, 2, 3), -1) == TC_OK && tc_fill_inplace(tc_narrow(yg, 1, 2, 3), -1) == TC_OK,
         "fill_ view");
  same(y, yg, 0, 0, "fill_ through a view");
  same(tc_contiguous(tc_t(y)), tc_contiguous(tc_t(yg)), 0, 0, "contiguous");
  tc_scope_pop();
}

/* ---- reductions ------------------------------------------------------------------------------------------ */
static void test_reduce(void) {
  static const tc_dtype ds[] = {TC_F32, TC_F64, TC_F16, TC_BF16, TC_I64, TC_I32, TC_U8, TC_BOOL};
  for (size_t k = 0; k < sizeof ds / sizeof ds[0]; k++) {
    tc_scope_push();
    tc_dtype d = ds[k];
    tc_tensor *x = tc_reshape(input(d, 24, 60, 50 + k, false, false), SHAPE_OF(4, 6, 60), 3);
    tc_tensor *xg = on_gpu(x);
    double rt = d == TC_F32 ? 1e-5 : d == TC_F64 ? 1e-12 : d == TC_F16 ? 4e-3 : 2e-2;
    const int64_t d0[] = {0}, d2[] = {2}, d02[] = {0, 2}, dm1[] = {-1};
    const struct {
      const int64_t *dims;
      int n;
      bool keep;
    } cases[] = {{NULL, 0, false}, {d0, 1, false}, {d2, 1, true}, {d02, 2, false}, {dm1, 1, false}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
      char what[64];
      snprintf(what, sizeof what, "sum %s case %zu", tc_dtype_name(d), c);
      same(tc_sum(x, cases[c].dims, cases[c].n, cases[c].keep), tc_sum(xg, cases[c].dims, cases[c].n, cases[c].keep),
           rt, 1e-5, what);
      snprintf(what, sizeof what, "sum %s transposed case %zu", tc_dtype_name(d), c);
      same(tc_sum(tc_transpose(x, 0, 2), cases[c].dims, cases[c].n, cases[c].keep),
           tc_sum(tc_transpose(xg, 0, 2), cases[c].dims, cases[c].n, cases[c].keep), rt, 1e-5, what);
      if (tc_dtype_is_floating(d)) {
        snprintf(what, sizeof what, "mean %s case %zu", tc_dtype_name(d), c);
        same(tc_mean(x, cases[c].dims, cases[c].n, cases[c].keep),
             tc_mean(xg, cases[c].dims, cases[c].n, cases[c].keep), rt, 1e-6, what);
      }
    }
    char what[64];
    if (tc_dtype_is_floating(d)) {
      const double pn[] = {2, 1, 3, INFINITY, -INFINITY, 0};
      for (size_t q = 0; q < sizeof pn / sizeof pn[0]; q++) {
        snprintf(what, sizeof what, "norm %g %s", pn[q], tc_dtype_name(d));
        same(tc_norm(x, pn[q], d2, 1, false), tc_norm(xg, pn[q], d2, 1, false), rt * 4, 1e-6, what);
      }
      snprintf(what, sizeof what, "var %s", tc_dtype_name(d));
      same(tc_var(x, d02, 2, 1.0, true), tc_var(xg, d02, 2, 1.0, true), rt * 4, 1e-6, what);
      snprintf(what, sizeof what, "std %s", tc_dtype_name(d));
      same(tc_std(x, NULL, 0, 0.0, false), tc_std(xg, NULL, 0, 0.0, false), rt * 4, 1e-6, what);
    }
    snprintf(what, sizeof what, "any %s", tc_dtype_name(d));
    same(tc_any(x, d2, 1, false), tc_any(xg, d2, 1, false), 0, 0, what);
    snprintf(what, sizeof what, "all %s", tc_dtype_name(d));
    same(tc_all(x, d0, 1, true), tc_all(xg, d0, 1, true), 0, 0, what);
    if (tc_dtype_is_floating(d)) {
      tc_tensor *small = tc_mul_scalar(x, 0.3);
      same(tc_prod(small, d2, 1, false), tc_prod(on_gpu(small), d2, 1, false), rt * 10, 1e-30, "prod");
    }
    tc_scope_pop();
  }
  /* a long sum takes the two-pass path; the result is bit-identical from run to run */
  tc_scope_push();
  tc_tensor *big = tc_rand(SHAPE_OF(1 << 22), 1, NULL), *bg = on_gpu(big);
  tc_tensor *s1 = tc_sum(bg, NULL, 0, false), *s2 = tc_sum(bg, NULL, 0, false);
  double v1 = 0, v2 = 1, vc = 0;
  EXPECT(tc_item_double(s1, &v1) == TC_OK && tc_item_double(s2, &v2) == TC_OK && v1 == v2,
         "long sum is deterministic: %.9g vs %.9g", v1, v2);
  tc_item_double(tc_sum(tc_to_dtype(big, TC_F64), NULL, 0, false), &vc);
  EXPECT(fabs(v1 - vc) <= 1e-5 * vc, "long sum %.9g vs f64 %.9g", v1, vc);
  tc_tensor *rows = tc_reshape(bg, SHAPE_OF(4, 1 << 20), 2);
  same(tc_sum(tc_reshape(big, SHAPE_OF(4, 1 << 20), 2), SHAPE_OF(1), 1, false), tc_sum(rows, SHAPE_OF(1), 1, false),
       1e-5, 0, "long rows");
  tc_scope_pop();
}

/* ---- max/min/argmax, gather, index_select, scatter ------------------------------------------------------------ */
static void test_extremes_indexing(void) {
  static const tc_dtype ds[] = {TC_F32, TC_F64, TC_F16, TC_I64, TC_I32, TC_U8};
  for (size_t k = 0; k < sizeof ds / sizeof ds[0]; k++) {
    tc_scope_push();
    tc_dtype d = ds[k];
    /* small integers: many ties (the first index wins); floats with NaN planted in some rows */
    tc_tensor *x = input(d, 12, 33, 160 + k, tc_dtype_is_floating(d), false), *xg = on_gpu(x);
    char what[64];
    snprintf(what, sizeof what, "max %s", tc_dtype_name(d));
    same(tc_max(x), tc_max(xg), 0, 0, what);
    snprintf(what, sizeof what, "min %s", tc_dtype_name(d));
    same(tc_min(x), tc_min(xg), 0, 0, what);
    for (int dim = 0; dim < 2; dim++) {
      tc_tensor *vc, *ic, *vg, *ig;
      EXPECT(tc_max_dim(x, dim, dim == 1, &vc, &ic) == TC_OK && tc_max_dim(xg, dim, dim == 1, &vg, &ig) == TC_OK,
             "max_dim %s", tc_dtype_name(d));
      snprintf(what, sizeof what, "max_dim %s dim %d values", tc_dtype_name(d), dim);
      same(vc, vg, 0, 0, what);
      snprintf(what, sizeof what, "max_dim %s dim %d indices", tc_dtype_name(d), dim);
      same(ic, ig, 0, 0, what);
      EXPECT(tc_min_dim(tc_t(x), dim, false, &vc, &ic) == TC_OK && tc_min_dim(tc_t(xg), dim, false, &vg, &ig) == TC_OK,
             "min_dim %s", tc_dtype_name(d));
      snprintf(what, sizeof what, "min_dim %s dim %d transposed indices", tc_dtype_name(d), dim);
      same(ic, ig, 0, 0, what);
      snprintf(what, sizeof what, "argmax %s dim %d", tc_dtype_name(d), dim);
      same(tc_argmax(x, dim, false), tc_argmax(xg, dim, false), 0, 0, what);
    }
    snprintf(what, sizeof what, "argmin %s all", tc_dtype_name(d));
    same(tc_argmin(x, TC_ALL_DIMS, false), tc_argmin(xg, TC_ALL_DIMS, false), 0, 0, what);
    /* gather / index_select / scatter with int64 and int32 indices */
    tc_generator *gen = tc_generator_create(170 + k);
    tc_tensor *gi = tc_randint(0, 33, SHAPE_OF(12, 20), 2, TC_OPTS(.generator = gen));
    tc_tensor *si = tc_randint(0, 12, SHAPE_OF(7), 1, TC_OPTS(.generator = gen));
    tc_generator_destroy(gen);
    tc_tensor *gi32 = tc_to_dtype(gi, TC_I32);
    snprintf(what, sizeof what, "gather %s", tc_dtype_name(d));
    same(tc_gather(x, 1, gi), tc_gather(xg, 1, on_gpu(gi)), 0, 0, what);
    snprintf(what, sizeof what, "gather %s int32 transposed", tc_dtype_name(d));
    same(tc_gather(tc_t(x), 0, tc_t(gi32)), tc_gather(tc_t(xg), 0, tc_t(on_gpu(gi32))), 0, 0, what);
    snprintf(what, sizeof what, "index_select %s dim 0", tc_dtype_name(d));
    same(tc_index_select(x, 0, si), tc_index_select(xg, 0, on_gpu(si)), 0, 0, what);
    snprintf(what, sizeof what, "index_select %s dim 1", tc_dtype_name(d));
    same(tc_index_select(x, 1, si), tc_index_select(xg, 1, on_gpu(si)), 0, 0, what);
    tc_scope_pop();
  }
  tc_scope_push();
  /* scatter with distinct targets per row, and the max_dim backward that uses it */
  tc_tensor *x = input(TC_F32, 6, 9, 180, false, false), *xg = on_gpu(x);
  tc_tensor *idx = tc_tensor_from_data((int64_t[]){8, 0, 3, 1, 7, 2, 5, 4, 6, 0, 1, 2}, SHAPE_OF(6, 2), 2, TC_I64);
  tc_tensor *src = input(TC_F32, 6, 2, 181, false, false);
  same(tc_scatter(x, 1, idx, src), tc_scatter(xg, 1, on_gpu(idx), on_gpu(src)), 0, 0, "scatter");
  same(tc_scatter_value(x, 1, idx, -7), tc_scatter_value(xg, 1, on_gpu(idx), -7), 0, 0, "scatter value");
  same(tc_scatter_add(x, 1, idx, src), tc_scatter_add(xg, 1, on_gpu(idx), on_gpu(src)), 1e-6, 0, "scatter_add");
  tc_tensor *xc = tc_clone(x), *xgg = on_gpu(x);
  tc_tensor_requires_grad_(xc, true);
  tc_tensor_requires_grad_(xgg, true);
  tc_tensor *v[2], *ii[2];
  tc_max_dim(xc, 1, false, &v[0], &ii[0]);
  tc_max_dim(xgg, 1, false, &v[1], &ii[1]);
  EXPECT(tc_backward(tc_sum(v[0], NULL, 0, false)) == TC_OK && tc_backward(tc_sum(v[1], NULL, 0, false)) == TC_OK,
         "max_dim backward");
  same(tc_tensor_grad(xc), tc_tensor_grad(xgg), 0, 0, "max_dim grad");
  tc_scope_pop();
}

/* ---- softmax, log_softmax ------------------------------------------------------------------------------------ */
static void test_softmax(void) {
  static const tc_dtype ds[] = {TC_F32, TC_F64, TC_F16, TC_BF16};
  for (size_t k = 0; k < sizeof ds / sizeof ds[0]; k++) {
    tc_scope_push();
    tc_dtype d = ds[k];
    double rt = rtol_of(d) * 4;
    /* rows of 100 (one with a NaN and one of -inf: NaN rows, as PyTorch) and long rows of 20000
     * (beyond the shared-memory row cache) */
    tc_tensor *x = input(d, 30, 100, 80 + k, false, false);
    tc_tensor *x64 = tc_to_dtype(x, TC_F64);
    double *p = tc_tensor_data(x64);
    p[3 * 100 + 7] = NAN;
    for (int i = 0; i < 100; i++) p[5 * 100 + i] = -INFINITY;
    x = tc_to_dtype(x64, d);
    tc_tensor *xg = on_gpu(x), *lx = input(d, 3, 20000, 90 + k, false, false), *lxg = on_gpu(lx);
    char what[64];
    for (int lg = 0; lg < 2; lg++) {
      tc_tensor *(*f)(const tc_tensor *, int64_t) = lg ? tc_log_softmax : tc_softmax;
      const char *nm = lg ? "log_softmax" : "softmax";
      snprintf(what, sizeof what, "%s %s last dim", nm, tc_dtype_name(d));
      same(f(x, -1), f(xg, -1), rt, 1e-7, what);
      snprintf(what, sizeof what, "%s %s dim 0", nm, tc_dtype_name(d));
      same(f(x, 0), f(xg, 0), rt, 1e-7, what);
      snprintf(what, sizeof what, "%s %s long rows", nm, tc_dtype_name(d));
      same(f(lx, 1), f(lxg, 1), rt, 1e-9, what);
      snprintf(what, sizeof what, "%s %s transposed input", nm, tc_dtype_name(d));
      same(f(tc_t(x), 1), f(tc_t(xg), 1), rt, 1e-7, what);
    }
    tc_scope_pop();
  }
}

/* ---- layer norm, cat/stack ---------------------------------------------------------------------------------- */
static void test_layer_norm_join(void) {
  static const tc_dtype ds[] = {TC_F32, TC_F64, TC_F16};
  for (size_t k = 0; k < 3; k++) {
    for (int big = 0; big < 2; big++) {
      tc_scope_push();
      tc_dtype d = ds[k];
      /* (6, 5, 40) normalised over the last two dims, or rows of 16384 (beyond the row cache) */
      tc_tensor *x = big ? input(d, 3, 16384, 200 + k, false, false)
                         : tc_reshape(input(d, 30, 40, 200 + k, false, false), SHAPE_OF(6, 5, 40), 3);
      x = tc_add_scalar(x, 5.0); /* a mean well away from 0 */
      int64_t n_norm = big ? 1 : 2;
      const int64_t *ns = big ? SHAPE_OF(16384) : SHAPE_OF(5, 40);
      tc_tensor *w = tc_to_dtype(tc_add_scalar(tc_rand(ns, n_norm, NULL), 0.5), d == TC_F16 ? TC_F32 : d);
      tc_tensor *b = tc_to_dtype(tc_rand(ns, n_norm, NULL), d == TC_F16 ? TC_F32 : d);
      tc_tensor *in[2][3] = {{tc_clone(x), tc_clone(w), tc_clone(b)}, {on_gpu(x), on_gpu(w), on_gpu(b)}};
      tc_tensor *y[2];
      for (int dv = 0; dv < 2; dv++) {
        for (int j = 0; j < 3; j++) tc_tensor_requires_grad_(in[dv][j], true);
        y[dv] = tc_layer_norm(in[dv][0], n_norm, in[dv][1], in[dv][2], 1e-5);
        tc_tensor *l = tc_sum(tc_mul(y[dv], tc_sin(in[dv][0])), NULL, 0, false);
        EXPECT(l && tc_backward(l) == TC_OK, "layer norm backward on %s", dv ? "gpu" : "cpu");
      }
      double rt = d == TC_F64 ? 1e-10 : d == TC_F32 ? 1e-4 : 2e-2;
      char what[64];
      snprintf(what, sizeof what, "layer_norm %s%s", tc_dtype_name(d), big ? " long rows" : "");
      same(y[0], y[1], rt, 1e-4, what);
      const char *gn[3] = {"grad x", "grad w", "grad b"};
      for (int j = 0; j < 3; j++) {
        snprintf(what, sizeof what, "layer_norm %s%s %s", tc_dtype_name(d), big ? " long rows" : "", gn[j]);
        same(tc_tensor_grad(in[0][j]), tc_tensor_grad(in[1][j]), rt * 10, 1e-3, what);
      }
      tc_scope_pop();
    }
  }
  tc_scope_push();
  tc_tensor *a = input(TC_F32, 4, 6, 210, false, false), *b = input(TC_F32, 3, 6, 211, false, false);
  tc_tensor *i = input(TC_I32, 4, 6, 212, false, false);
  const tc_tensor *cl[3] = {a, b, tc_t(tc_contiguous(tc_t(a)))};
  const tc_tensor *gl[3] = {on_gpu(a), on_gpu(b), tc_t(tc_contiguous(tc_t(on_gpu(a))))};
  same(tc_cat(cl, 3, 0), tc_cat(gl, 3, 0), 0, 0, "cat dim 0 (a strided part)");
  const tc_tensor *cs[2] = {a, i}, *gs[2] = {on_gpu(a), on_gpu(i)};
  same(tc_stack(cs, 2, 1), tc_stack(gs, 2, 1), 0, 0, "stack dim 1 with promotion");
  same(tc_cat(cs, 2, 1), tc_cat(gs, 2, 1), 0, 0, "cat dim 1");
  tc_scope_pop();
}

/* ---- matrix products ---------------------------------------------------------------------------------------- */
static void test_matmul(void) {
  static const tc_dtype ds[] = {TC_F32, TC_F64, TC_F16, TC_BF16};
  for (size_t k = 0; k < sizeof ds / sizeof ds[0]; k++) {
    tc_scope_push();
    tc_dtype d = ds[k];
    double rt = d == TC_F32 ? 1e-4 : d == TC_F64 ? 1e-10 : d == TC_F16 ? 1e-2 : 4e-2, at = d == TC_F64 ? 1e-10 : 1e-3;
    tc_tensor *a = input(d, 37, 53, 60, false, false), *b = input(d, 53, 41, 61, false, false);
    tc_tensor *ag = on_gpu(a), *bg = on_gpu(b);
    char what[64];
    snprintf(what, sizeof what, "mm %s", tc_dtype_name(d));
    same(tc_mm(a, b), tc_mm(ag, bg), rt, at, what);
    snprintf(what, sizeof what, "mm %s a^T b^T", tc_dtype_name(d));
    tc_tensor *at_ = tc_contiguous(tc_t(a)), *bt = tc_contiguous(tc_t(b));
    same(tc_mm(tc_t(at_), tc_t(bt)), tc_mm(tc_t(on_gpu(at_)), tc_t(on_gpu(bt))), rt, at, what);
    snprintf(what, sizeof what, "matmul %s batched broadcast", tc_dtype_name(d));
    tc_tensor *a3 = tc_reshape(input(d, 3 * 5, 7, 62, false, false), SHAPE_OF(3, 5, 7), 3);
    tc_tensor *b2 = input(d, 7, 4, 63, false, false);
    same(tc_matmul(a3, b2), tc_matmul(on_gpu(a3), on_gpu(b2)), rt, at, what);
    snprintf(what, sizeof what, "mv %s", tc_dtype_name(d));
    tc_tensor *v = tc_contiguous(tc_select(b, 1, 0));
    same(tc_mv(a, v), tc_mv(ag, on_gpu(v)), rt, at, what);
    snprintf(what, sizeof what, "addmm %s", tc_dtype_name(d));
    tc_tensor *c = input(d, 37, 41, 64, false, false);
    same(tc_addmm(c, a, b, 0.5, 2.0), tc_addmm(on_gpu(c), ag, bg, 0.5, 2.0), rt, at, what);
    tc_scope_pop();
  }
  tc_scope_push();
  tc_tensor *i = tc_ones(SHAPE_OF(2, 2), 2, TC_OPTS(.dtype = TC_I64, .device = gpu));
  EXPECT(tc_mm(i, i) == NULL && tc_last_status() == TC_ERR_DTYPE, "integer matmul on CUDA is refused");
  /* TF32 is off by default and switchable */
  EXPECT(!tc_cuda_matmul_allow_tf32(-1), "TF32 off by default");
  tc_cuda_matmul_allow_tf32(1);
  EXPECT(tc_cuda_matmul_allow_tf32(0), "TF32 switched on");
  tc_scope_pop();
}

/* ---- autograd: a small network's gradients on the GPU against the CPU --------------------------------------- */
static void test_autograd(void) {
  tc_scope_push();
  tc_tensor *x = input(TC_F32, 16, 12, 70, false, false);
  tc_tensor *w = input(TC_F32, 8, 12, 71, false, false), *b = input(TC_F32, 1, 8, 72, false, false);
  tc_tensor *b1 = tc_reshape(b, SHAPE_OF(8), 1);
  tc_tensor *params[2][3] = {{tc_clone(x), tc_clone(w), tc_clone(b1)}, {on_gpu(x), on_gpu(w), on_gpu(b1)}};
  tc_tensor *loss[2];
  for (int k = 0; k < 2; k++) {
    for (int j = 0; j < 3; j++) tc_tensor_requires_grad_(params[k][j], true);
    tc_tensor *h = tc_linear(params[k][0], params[k][1], params[k][2]);
    tc_tensor *r = tc_log_softmax(tc_sigmoid(tc_relu(h)), 1);
    loss[k] = tc_mean(tc_mul(r, r), NULL, 0, false);
    EXPECT(loss[k] && tc_backward(loss[k]) == TC_OK, "backward on %s", k ? "gpu" : "cpu");
  }
  same(loss[0], loss[1], 1e-5, 0, "loss");
  const char *names[3] = {"grad x", "grad w", "grad b"};
  for (int j = 0; j < 3; j++) same(tc_tensor_grad(params[0][j]), tc_tensor_grad(params[1][j]), 1e-4, 1e-7, names[j]);
  tc_scope_pop();
}

/* ---- cross entropy and nll with class targets ------------------------------------------------------------------ */
static void test_class_losses(void) {
  static const tc_dtype ds[] = {TC_F32, TC_F64};
  for (size_t k = 0; k < 2; k++) {
    tc_dtype d = ds[k];
    for (int shape = 0; shape < 2; shape++) {
      for (int variant = 0; variant < 6; variant++) {
        tc_scope_push();
        /* (64, 10) or (4, 7, 3, 5) logits; targets with some ignored (-100 or 2) */
        tc_tensor *x = shape == 0 ? input(d, 64, 10, 110 + k, false, false)
                                  : tc_reshape(input(d, 4 * 7, 15, 111 + k, false, false), SHAPE_OF(4, 7, 3, 5), 4);
        int64_t C = shape == 0 ? 10 : 7;
        tc_generator *gen = tc_generator_create(120 + variant);
        tc_tensor *t = shape == 0 ? tc_randint(0, C, SHAPE_OF(64), 1, TC_OPTS(.generator = gen))
                                  : tc_randint(0, C, SHAPE_OF(4, 3, 5), 3, TC_OPTS(.generator = gen));
        tc_generator_destroy(gen);
        tc_tensor *w = tc_add_scalar(tc_rand(SHAPE_OF(C), 1, TC_OPTS(.dtype = d)), 0.5);
        tc_ce_opts o = TC_CE_DEFAULTS;
        o.reduction = variant % 3 == 0 ? TC_REDUCTION_MEAN : variant % 3 == 1 ? TC_REDUCTION_SUM : TC_REDUCTION_NONE;
        if (variant >= 3) {
          o.weight = w;
          o.ignore_index = 2;
          o.label_smoothing = 0.1;
        }
        tc_tensor *xc = tc_clone(x), *xg = on_gpu(x);
        tc_tensor_requires_grad_(xc, true);
        tc_tensor_requires_grad_(xg, true);
        tc_ce_opts og = o;
        if (o.weight) og.weight = on_gpu(w);
        for (int nll = 0; nll < 2; nll++) {
          tc_tensor *(*f)(const tc_tensor *, const tc_tensor *, const tc_ce_opts *) = nll ? tc_nll_loss : tc_cross_entropy;
          tc_tensor *lc = f(xc, t, &o), *lg = f(xg, on_gpu(t), &og);
          char what[96];
          snprintf(what, sizeof what, "%s %s shape %d variant %d", nll ? "nll_loss" : "cross_entropy", tc_dtype_name(d),
                   shape, variant);
          same(lc, lg, d == TC_F32 ? 1e-5 : 1e-12, 1e-7, what);
          tc_tensor *sc = tc_sum(lc, NULL, 0, false), *sg = tc_sum(lg, NULL, 0, false);
          EXPECT(sc && sg && tc_backward(sc) == TC_OK && tc_backward(sg) == TC_OK, "%s backward", what);
          snprintf(what, sizeof what, "%s %s shape %d variant %d grad", nll ? "nll_loss" : "cross_entropy",
                   tc_dtype_name(d), shape, variant);
          same(tc_tensor_grad(xc), tc_tensor_grad(xg), d == TC_F32 ? 1e-5 : 1e-12, 1e-7, what);
        }
        tc_scope_pop();
      }
    }
  }
  tc_scope_push();
  tc_tensor *x = on_gpu(input(TC_F32, 4, 3, 5, false, false));
  tc_tensor *bad = on_gpu(tc_tensor_from_data((int64_t[]){0, 1, 3, 2}, SHAPE_OF(4), 1, TC_I64));
  EXPECT(tc_cross_entropy(x, bad, NULL) == NULL && tc_last_status() == TC_ERR_ARG &&
             strstr(tc_last_error(), "out of bounds"),
         "a target out of range is an error");
  tc_scope_pop();
}

/* ---- optimizers: the same bits as the CPU (one formula, no extra contraction) --------------------------------- */
static tc_optimizer *make_opt(int kind, tc_tensor *const *params, int64_t n) {
  switch (kind) {
    case 0: {
      tc_sgd_opts o = tc_sgd_defaults();
      o.lr = 0.1, o.momentum = 0.9, o.weight_decay = 0.01, o.nesterov = true;
      return tc_sgd_create(params, n, &o);
    }
    case 1: {
      tc_adam_opts o = tc_adam_defaults();
      o.lr = 0.01, o.amsgrad = true, o.weight_decay = 0.1;
      return tc_adam_create(params, n, &o);
    }
    case 2: {
      tc_adam_opts o = tc_adamw_defaults();
      o.lr = 0.01;
      return tc_adamw_create(params, n, &o);
    }
    case 3: {
      tc_rmsprop_opts o = tc_rmsprop_defaults();
      o.momentum = 0.5, o.centered = true, o.weight_decay = 0.01;
      return tc_rmsprop_create(params, n, &o);
    }
    default: {
      tc_adagrad_opts o = tc_adagrad_defaults();
      o.lr_decay = 0.01, o.weight_decay = 0.01;
      return tc_adagrad_create(params, n, &o);
    }
  }
}

static void test_optimizers(void) {
  static const char *names[] = {"SGD nesterov", "Adam amsgrad", "AdamW", "RMSprop centered", "Adagrad"};
  for (int kind = 0; kind < 5; kind++) {
    for (int dt = 0; dt < 2; dt++) {
      tc_scope_push();
      tc_dtype d = dt ? TC_F64 : TC_F32;
      tc_tensor *p[2][2], *grads[3][2];
      for (int j = 0; j < 2; j++) {
        tc_tensor *init = input(d, 17, 5 + j, 140 + j, false, false);
        p[0][j] = tc_clone(init);
        p[1][j] = on_gpu(init);
        tc_tensor_requires_grad_(p[0][j], true);
        tc_tensor_requires_grad_(p[1][j], true);
      }
      for (int s = 0; s < 3; s++)
        for (int j = 0; j < 2; j++) grads[s][j] = input(d, 17, 5 + j, 150 + 2 * s + j, false, false);
      tc_optimizer *opt[2] = {make_opt(kind, p[0], 2), make_opt(kind, p[1], 2)};
      EXPECT(opt[0] && opt[1], "%s created", names[kind]);
      for (int s = 0; s < 3 && opt[0] && opt[1]; s++)
        for (int k = 0; k < 2; k++) {
          for (int j = 0; j < 2; j++) tc_tensor_set_grad(p[k][j], k ? on_gpu(grads[s][j]) : grads[s][j]);
          EXPECT(tc_optim_step(opt[k]) == TC_OK, "%s step on %s", names[kind], k ? "gpu" : "cpu");
        }
      char what[64];
      for (int j = 0; j < 2; j++) {
        snprintf(what, sizeof what, "%s %s param %d after 3 steps", names[kind], tc_dtype_name(d), j);
        same(p[0][j], p[1][j], 0, 0, what);
      }
      tc_optim_destroy(opt[0]);
      tc_optim_destroy(opt[1]);
      tc_scope_pop();
    }
  }
}

/* ---- training: an MLP for 20 steps of SGD with momentum and 20 of Adam, GPU against CPU -------------------- */
static tc_module *mlp(void) {
  return tc_sequential_create(5, (tc_module *[]){tc_linear_create(784, 512, true), tc_relu_create(),
                                                 tc_linear_create(512, 256, true), tc_relu_create(),
                                                 tc_linear_create(256, 10, true)});
}

static void test_training(void) {
  tc_scope_push();
  tc_tensor *x = tc_scope_keep(tc_rand(SHAPE_OF(64, 784), 2, NULL));
  tc_tensor *y = tc_scope_keep(tc_randint(0, 10, SHAPE_OF(64), 1, NULL));
  tc_tensor *xg = tc_scope_keep(on_gpu(x)), *yg = tc_scope_keep(on_gpu(y));
  tc_scope_pop();
  for (int adam = 0; adam < 2; adam++) {
    tc_manual_seed(7);
    tc_module *m[2] = {mlp(), NULL};
    tc_manual_seed(7);
    m[1] = mlp();
    EXPECT(m[0] && m[1] && tc_module_to(m[1], gpu) == TC_OK, "model to the GPU");
    tc_tensor_list params[2] = {{0}, {0}};
    tc_optimizer *opt[2];
    for (int k = 0; k < 2; k++) {
      tc_module_parameters(m[k], &params[k]);
      if (adam) {
        tc_adam_opts o = tc_adam_defaults();
        opt[k] = tc_adam_create(params[k].data, params[k].n, &o);
      } else {
        tc_sgd_opts o = tc_sgd_defaults();
        o.lr = 0.01, o.momentum = 0.9;
        opt[k] = tc_sgd_create(params[k].data, params[k].n, &o);
      }
    }
    /* the first step differs only by summation order (cuBLAS vs OpenBLAS); later ones drift as
     * training amplifies those differences */
    double worst = 0, first = 0;
    for (int step = 0; step < 20; step++) {
      double l[2] = {0, 0};
      for (int k = 0; k < 2; k++) {
        tc_scope_push();
        tc_optim_zero_grad(opt[k], true);
        tc_tensor *loss = tc_cross_entropy(tc_module_forward(m[k], k ? xg : x), k ? yg : y, NULL);
        EXPECT(loss && tc_backward(loss) == TC_OK && tc_optim_step(opt[k]) == TC_OK && tc_item_double(loss, &l[k]) == TC_OK,
               "training step %d on %s", step, k ? "gpu" : "cpu");
        tc_scope_pop();
      }
      double rel = fabs(l[0] - l[1]) / fabs(l[0]);
      if (step == 0) first = rel;
      if (rel > worst) worst = rel;
    }
    EXPECT(first < 1e-6, "%s: the first loss agrees (relative difference %.3g)", adam ? "Adam" : "SGD", first);
    EXPECT(worst < 1e-4, "%s: per-step losses agree (worst relative difference %.3g)", adam ? "Adam" : "SGD", worst);
    for (int64_t i = 0; i < params[0].n; i++) {
      char what[64];
      snprintf(what, sizeof what, "%s: parameter %lld after 20 steps", adam ? "Adam" : "SGD", (long long)i);
      same(params[0].data[i], params[1].data[i], 1e-3, 1e-4, what);
    }
    /* gradient clipping on both devices after one more backward */
    double tn[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
      tc_scope_push();
      tc_optim_zero_grad(opt[k], true);
      tc_tensor *loss = tc_cross_entropy(tc_module_forward(m[k], k ? xg : x), k ? yg : y, NULL);
      EXPECT(loss && tc_backward(loss) == TC_OK, "backward for clipping");
      EXPECT(tc_clip_grad_norm_(params[k].data, params[k].n, 0.5, 2.0, &tn[k]) == TC_OK &&
                 tc_clip_grad_value_(params[k].data, params[k].n, 0.01) == TC_OK,
             "clip_grad on %s", k ? "gpu" : "cpu");
      tc_scope_pop();
    }
    EXPECT(fabs(tn[0] - tn[1]) <= 1e-3 * tn[0], "total grad norms %.9g vs %.9g", tn[0], tn[1]);
    for (int64_t i = 0; i < params[0].n; i++)
      same(tc_tensor_grad(params[0].data[i]), tc_tensor_grad(params[1].data[i]), 1e-2, 1e-5, "clipped grad");
    for (int k = 0; k < 2; k++) {
      tc_optim_destroy(opt[k]);
      tc_tensor_list_clear(&params[k]);
      tc_module_destroy(m[k]);
    }
  }
  tc_tensor_release(x);
  tc_tensor_release(y);
  tc_tensor_release(xg);
  tc_tensor_release(yg);
}

/* ---- dropout: the device generator ---------------------------------------------------------------------------- */
static void test_dropout(void) {
  tc_scope_push();
  const double p = 0.3;
  tc_tensor *x = on_gpu(tc_add_scalar(tc_rand(SHAPE_OF(1000, 1000), 2, NULL), 1.0)); /* no zeros */
  tc_manual_seed(5);
  tc_tensor *y1 = tc_dropout(x, p, true, NULL), *y2 = tc_dropout(x, p, true, NULL);
  tc_manual_seed(5);
  tc_tensor *y3 = tc_dropout(x, p, true, NULL);
  same(y1, y3, 0, 0, "dropout repeats after manual_seed");
  double kept = 0, differ = 0, scaled = 0;
  tc_item_double(tc_mean(tc_to_dtype(tc_ne_scalar(y1, 0), TC_F64), NULL, 0, false), &kept);
  tc_item_double(tc_sum(tc_to_dtype(tc_ne(y1, y2), TC_F64), NULL, 0, false), &differ);
  /* kept entries are x / (1 - p) (x * keep_value): |y - x / 0.7| where kept */
  tc_tensor *dev = tc_abs(tc_sub(y1, tc_mul(tc_mul_scalar(x, 1.0 / 0.7), tc_to_dtype(tc_ne_scalar(y1, 0), TC_F32)), 1));
  tc_item_double(tc_max(dev), &scaled);
  EXPECT(fabs(kept - 0.7) < 0.003, "dropout keeps 0.7 of the entries (kept %.4f)", kept);
  EXPECT(differ > 1e5, "two draws differ (%g entries)", differ);
  EXPECT(scaled < 1e-5, "kept entries are scaled by 1 / (1 - p) (max error %g)", scaled);
  /* backward multiplies by the same mask */
  tc_tensor *xg = tc_clone(x);
  tc_tensor_requires_grad_(xg, true);
  tc_tensor *y = tc_dropout(xg, p, true, NULL);
  EXPECT(y && tc_backward(tc_sum(y, NULL, 0, false)) == TC_OK, "dropout backward");
  same(tc_div(y, xg), tc_tensor_grad(xg), 1e-6, 0, "dropout grad is the mask");
  /* dropout2d: whole channels */
  tc_tensor *x4 = on_gpu(tc_add_scalar(tc_rand(SHAPE_OF(8, 16, 5, 5), 4, NULL), 1.0));
  tc_tensor *z = tc_dropout2d(x4, 0.5, true, NULL);
  tc_tensor *per = tc_sum(tc_to_dtype(tc_ne_scalar(z, 0), TC_F32), SHAPE_OF(2, 3), 2, false); /* 0 or 25 */
  tc_tensor *bad = tc_mul(per, tc_rsub_scalar(per, 25));
  double worst = 1;
  tc_item_double(tc_max(tc_abs(bad)), &worst);
  EXPECT(worst == 0, "dropout2d drops whole channels");
  EXPECT(tc_dropout(tc_ones(SHAPE_OF(3), 1, TC_OPTS(.dtype = TC_I64, .device = gpu)), 0.5, true, NULL) == NULL &&
             tc_last_status() == TC_ERR_DTYPE,
         "dropout of integers is refused");
  tc_scope_pop();
}

/* ---- allocator, errors ------------------------------------------------------------------------------------------ */
static void test_memory(void) {
  EXPECT(tc_cuda_synchronize(0) == TC_OK, "synchronize");
  tc_cuda_memory_stats s0, s1, s2, s3;
  EXPECT(tc_cuda_memory_stats_get(0, &s0) == TC_OK, "stats");
  tc_tensor *t = tc_empty(SHAPE_OF(1 << 20), 1, TC_OPTS(.device = gpu));
  tc_cuda_memory_stats_get(0, &s1);
  EXPECT(s1.allocated >= s0.allocated + (4 << 20), "allocated grows by the tensor (%lld -> %lld)",
         (long long)s0.allocated, (long long)s1.allocated);
  tc_tensor_release(t);
  t = tc_empty(SHAPE_OF(1 << 20), 1, TC_OPTS(.device = gpu)); /* served from the cache */
  tc_cuda_memory_stats_get(0, &s2);
  EXPECT(s2.device_allocs == s1.device_allocs && s2.alloc_calls == s1.alloc_calls + 1,
         "a freed block is reused (%lld driver allocations before, %lld after)", (long long)s1.device_allocs,
         (long long)s2.device_allocs);
  EXPECT(s2.peak_allocated >= s2.allocated && s2.reserved >= s2.allocated, "peak and reserved");
  tc_tensor_release(t);
  EXPECT(tc_cuda_empty_cache(0) == TC_OK, "empty_cache");
  tc_cuda_memory_stats_get(0, &s3);
  EXPECT(s3.reserved <= s2.reserved - (4 << 20), "empty_cache returns cached blocks (%lld -> %lld)",
         (long long)s2.reserved, (long long)s3.reserved);
  tc_tensor *huge = tc_empty(SHAPE_OF((int64_t)1 << 42), 1, TC_OPTS(.device = gpu));
  EXPECT(huge == NULL && tc_last_status() == TC_ERR_NOMEM && strstr(tc_last_error(), "out of memory"),
         "out of memory is TC_ERR_NOMEM");
  tc_scope_push();
  tc_tensor *c = tc_ones(SHAPE_OF(3), 1, NULL), *g = tc_ones(SHAPE_OF(3), 1, TC_OPTS(.device = gpu));
  EXPECT(tc_add(c, g, 1) == NULL && tc_last_status() == TC_ERR_DEVICE, "device mismatch");
  EXPECT(tc_mm(tc_reshape(c, SHAPE_OF(1, 3), 2), tc_reshape(g, SHAPE_OF(3, 1), 2)) == NULL &&
             tc_last_status() == TC_ERR_DEVICE,
         "device mismatch in mm");
  tc_scope_pop();
}

int main(void) {
  if (cuda_check_start()) return 77;
  RUN(test_unary);
  RUN(test_binary);
  RUN(test_convert);
  RUN(test_reduce);
  RUN(test_extremes_indexing);
  RUN(test_softmax);
  RUN(test_layer_norm_join);
  RUN(test_matmul);
  RUN(test_autograd);
  RUN(test_class_losses);
  RUN(test_optimizers);
  RUN(test_training);
  RUN(test_dropout);
  RUN(test_memory);
  return cuda_check_finish("cuda ops");
}
