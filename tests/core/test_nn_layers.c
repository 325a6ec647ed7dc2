/* nn functions and basic layers against PyTorch: F.linear, the fused activations, dropout /
 * dropout2d (masks equal to torch's after manual_seed), embedding and embedding_bag — forward
 * values and input/parameter gradients with a fixed grad_out (fixtures from
 * tests/fixtures/gen/gen_nn_layers.py), gradcheck in float64, strided inputs, errors with their
 * messages and no leaks, allocation failures, and the modules of layers_basic.c (construction
 * after tc_manual_seed equal to torch.nn's after torch.manual_seed). */
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

#define FAM "nn_layers"

static tc_tensor *leaf(const char *name) {
  tc_tensor *t = fx_load(FAM, name);
  ck_assert_int_eq(tc_tensor_requires_grad_(t, true), TC_OK);
  return t;
}

/* backward of sum(y): the vector-Jacobian product with ones */
static tc_status backward_ones(const tc_tensor *y) { return tc_backward_ex(y, tc_ones_like(y, NULL), false); }

static tc_tensor *fx(const char *prefix, const char *suffix) {
  char name[96];
  snprintf(name, sizeof name, "%s_%s", prefix, suffix);
  return fx_load(FAM, name);
}

/* random float64 leaf with its own generator */
static tc_tensor *rand64(const int64_t *shape, int64_t nd, uint64_t seed, double scale) {
  tc_generator *g = tc_generator_create(seed);
  tc_tensor *t = tc_randn(shape, nd, TC_OPTS(.dtype = TC_F64, .generator = g));
  tc_generator_destroy(g);
  ck_assert_int_eq(tc_mul_scalar_inplace(t, scale), TC_OK);
  ck_assert_int_eq(tc_tensor_requires_grad_(t, true), TC_OK);
  return t;
}

/* ==== linear ============================================================================================ */
static const char *const linear_cases[] = {"2d", "3d", "1d", "nobias"};

START_TEST(test_linear_fixtures) {
  LEAK_BEGIN;
  tc_scope_push();
  char p[32];
  snprintf(p, sizeof p, "linear_%s", linear_cases[_i]);
  bool bias = strcmp(linear_cases[_i], "nobias") != 0;
  char nx[48], nw[48], nb[48];
  snprintf(nx, sizeof nx, "%s_x", p);
  snprintf(nw, sizeof nw, "%s_w", p);
  snprintf(nb, sizeof nb, "%s_b", p);
  tc_tensor *x = leaf(nx), *w = leaf(nw), *b = bias ? leaf(nb) : NULL;
  tc_tensor *y = tc_linear(x, w, b);
  ck_assert_ptr_nonnull(y);
  ck_assert_str_eq(tc_tensor_grad_fn_name(y), bias ? "AddmmBackward0" : "MmBackward0");
  assert_close(y, fx(p, "y"), 1e-5, 1e-5, "y");
  ck_assert_int_eq(tc_backward_ex(y, fx(p, "gout"), false), TC_OK);
  assert_close(tc_tensor_grad(x), fx(p, "gx"), 1e-5, 1e-5, "gx");
  assert_close(tc_tensor_grad(w), fx(p, "gw"), 1e-5, 1e-5, "gw");
  if (bias) assert_close(tc_tensor_grad(b), fx(p, "gb"), 1e-5, 1e-5, "gb");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_linear_f16_and_strided) {
  LEAK_BEGIN;
  tc_scope_push();
  /* float16 computes in float32 and rounds once, as torch */
  tc_tensor *y = tc_linear(fx_load(FAM, "linear_f16_x"), fx_load(FAM, "linear_f16_w"), fx_load(FAM, "linear_f16_b"));
  ck_assert_int_eq(tc_tensor_dtype(y), TC_F16);
  assert_close(y, fx_load(FAM, "linear_f16_y"), 2e-3, 2e-3, "f16");
  /* bfloat16 forward and backward */
  tc_tensor *xb = tc_to_dtype(fx_load(FAM, "linear_2d_x"), TC_BF16),
            *wb = tc_to_dtype(fx_load(FAM, "linear_2d_w"), TC_BF16);
  tc_tensor_requires_grad_(xb, true);
  tc_tensor_requires_grad_(wb, true);
  y = tc_linear(xb, wb, NULL);
  ck_assert_int_eq(tc_tensor_dtype(y), TC_BF16);
  ck_assert_int_eq(tc_backward_ex(y, tc_ones_like(y, NULL), false), TC_OK);
  ck_assert_int_eq(tc_tensor_dtype(tc_tensor_grad(wb)), TC_BF16);
  assert_close(tc_tensor_grad(xb), tc_expand(tc_sum(wb, SHAPE(0), 1, true), SHAPE(6, 5), 2), 0, 0.05, "bf16 gx");

  /* strided operands give the contiguous results: x (6, 5) from a transpose, W^T view, a 4-D x
   * whose batch dims do not merge, and an expanded gradient (the sum's backward) */
  tc_tensor *x = fx_load(FAM, "linear_3d_x"), *w = fx_load(FAM, "linear_3d_w"), *b = fx_load(FAM, "linear_3d_b");
  tc_tensor *ref = tc_linear(x, w, b);
  tc_tensor *xt = tc_contiguous(tc_transpose(x, 0, 2)); /* (5, 3, 4) */
  tc_tensor *xs = tc_transpose(xt, 0, 2);               /* (4, 3, 5), last stride 12 */
  tc_tensor *wt = tc_transpose(tc_contiguous(tc_t(w)), 0, 1);
  assert_close(tc_linear(xs, wt, b), ref, 1e-6, 1e-6, "strided x and W");
  tc_tensor *xp =
      tc_permute(tc_contiguous(tc_permute(x, SHAPE(1, 0, 2), 3)), SHAPE(1, 0, 2), 3); /* batch dims swapped */
  assert_close(tc_linear(xp, w, b), ref, 1e-6, 1e-6, "unmergeable batch dims");
  tc_tensor *xg = tc_clone(xp), *wg = tc_clone(wt), *bg = tc_clone(b);
  tc_tensor_requires_grad_(xg, true);
  tc_tensor_requires_grad_(wg, true);
  tc_tensor_requires_grad_(bg, true);
  tc_tensor *one = tc_ones(SHAPE(1, 1, 1), 3, NULL);
  ck_assert_int_eq(tc_backward_ex(tc_linear(xg, wg, bg), tc_expand(one, SHAPE(4, 3, 7), 3), false), TC_OK);
  assert_close(tc_tensor_grad(bg), tc_full(SHAPE(7), 1, 12, NULL), 0, 1e-6, "gb = M");
  tc_tensor *colsum = tc_sum(w, SHAPE(0), 1, false); /* dx = ones @ W */
  assert_close(tc_tensor_grad(xg), tc_expand(colsum, SHAPE(4, 3, 5), 3), 1e-6, 1e-6, "gx");
  tc_tensor *xsum = tc_sum(tc_reshape(x, SHAPE(12, 5), 2), SHAPE(0), 1, false);
  assert_close(tc_tensor_grad(wg), tc_expand(xsum, SHAPE(7, 5), 2), 1e-5, 1e-5, "gW");

  /* empty batch and zero features */
  y = tc_linear(tc_zeros(SHAPE(0, 5), 2, NULL), w, b);
  assert_shape(y, SHAPE(0, 7), 2);
  tc_tensor *w0 = tc_zeros(SHAPE(3, 0), 2, NULL);
  y = tc_linear(tc_zeros(SHAPE(2, 0), 2, NULL), w0, T_F32(SHAPE(3), 1, 1, 2, 3));
  assert_equal(y, T_F32(SHAPE(2, 3), 2, 1, 2, 3, 1, 2, 3), "bias only");
  /* no history under no_grad */
  tc_tensor_requires_grad_(w0, true);
  tc_no_grad_push();
  ck_assert_ptr_null(tc_tensor_grad_fn_name(tc_linear(tc_zeros(SHAPE(2, 0), 2, NULL), w0, NULL)));
  tc_no_grad_pop();
  tc_scope_pop();
  LEAK_END;
}
END_TEST

static tc_tensor *linear_fn(const tc_tensor *const *in, int64_t n, void *u) {
  return tc_linear(in[0], in[1], n > 2 ? in[2] : NULL);
}

START_TEST(test_linear_gradcheck) {
  LEAK_BEGIN;
  tc_scope_push();
  const tc_tensor *in[3] = {rand64(SHAPE(3, 2, 4), 3, 1, 1), rand64(SHAPE(5, 4), 2, 2, 1), rand64(SHAPE(5), 1, 3, 1)};
  ck_assert_msg(tc_gradcheck(linear_fn, in, 3, NULL, 1e-6, 1e-7, 1e-5) == TC_OK, "%s", tc_last_error());
  ck_assert_msg(tc_gradcheck(linear_fn, in, 2, NULL, 1e-6, 1e-7, 1e-5) == TC_OK, "%s", tc_last_error());
  const tc_tensor *in1[2] = {rand64(SHAPE(4), 1, 4, 1), in[1]};
  ck_assert_msg(tc_gradcheck(linear_fn, in1, 2, NULL, 1e-6, 1e-7, 1e-5) == TC_OK, "%s", tc_last_error());
  /* products large enough to be tiled over the pool (f64 by rows, f32 by columns here) give the
   * same bits for 1 and 4 threads, forward and backward */
  int64_t shapes[2][3] = {{400, 100, 300}, {64, 784, 512}}; /* M, in, out */
  tc_dtype dts[2] = {TC_F64, TC_F32};
  int nt = tc_get_num_threads();
  for (int k = 0; k < 2; k++) {
    tc_generator *g = tc_generator_create(50 + (uint64_t)k);
    int64_t *sh = shapes[k];
    tc_tensor *x = tc_randn(SHAPE(sh[0], sh[1]), 2, TC_OPTS(.dtype = dts[k], .generator = g));
    tc_tensor *w = tc_randn(SHAPE(sh[2], sh[1]), 2, TC_OPTS(.dtype = dts[k], .generator = g));
    tc_tensor *b = tc_randn(SHAPE(sh[2]), 1, TC_OPTS(.dtype = dts[k], .generator = g));
    tc_tensor *go = tc_randn(SHAPE(sh[0], sh[2]), 2, TC_OPTS(.dtype = dts[k], .generator = g));
    tc_generator_destroy(g);
    tc_tensor_requires_grad_(x, true);
    tc_tensor_requires_grad_(w, true);
    tc_tensor_requires_grad_(b, true);
    tc_tensor *r[2][4];
    for (int t = 0; t < 2; t++) {
      tc_set_num_threads(t ? 4 : 1);
      r[t][0] = tc_linear(x, w, b);
      const tc_tensor *out = r[t][0], *gout = go, *ins[3] = {x, w, b};
      ck_assert_int_eq(tc_autograd_grad(&out, 1, &gout, ins, 3, &r[t][1], false, false), TC_OK);
    }
    tc_set_num_threads(nt);
    for (int i = 0; i < 4; i++) {
      assert_equal(r[0][i], r[1][i], "same bits for 1 and 4 threads");
      if (i) tc_tensor_release(r[0][i]), tc_tensor_release(r[1][i]);
    }
  }
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_linear_errors) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *x = tc_zeros(SHAPE(4, 3), 2, NULL), *w = tc_zeros(SHAPE(5, 4), 2, NULL);
  ck_assert_ptr_null(tc_linear(x, w, NULL));
  assert_error(TC_ERR_SHAPE, "tc_linear: input [4, 3] has 3 features but weight [5, 4] expects 4");
  ck_assert_ptr_null(tc_linear(tc_zeros(SHAPE(4, 4), 2, NULL), w, tc_zeros(SHAPE(4), 1, NULL)));
  assert_error(TC_ERR_SHAPE, "tc_linear: bias [4] does not match weight [5, 4]: expected [5]");
  ck_assert_ptr_null(tc_linear(tc_zeros(SHAPE(4), 1, NULL), tc_zeros(SHAPE(4), 1, NULL), NULL));
  assert_error(TC_ERR_SHAPE, "weight must be 2-D");
  ck_assert_ptr_null(tc_linear(tc_zeros(NULL, 0, NULL), w, NULL));
  assert_error(TC_ERR_SHAPE, "at least 1 dim");
  ck_assert_ptr_null(tc_linear(tc_zeros(SHAPE(2, 4), 2, TC_OPTS(.dtype = TC_F64)), w, NULL));
  assert_error(TC_ERR_DTYPE, "same dtype, got float64, float32");
  ck_assert_ptr_null(tc_linear(tc_zeros(SHAPE(2, 4), 2, TC_OPTS(.dtype = TC_I64)), w, NULL));
  assert_error(TC_ERR_DTYPE, "floating-point");
  tc_clear_error();
  ck_assert_ptr_null(tc_linear(NULL, w, NULL));
  assert_error(TC_ERR_ARG, "tc_linear: x is NULL");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

typedef struct {
  tc_tensor *x, *w, *b, *g;
} lin_alloc;

static int linear_once(void *vc) {
  lin_alloc *c = vc;
  tc_tensor *y = tc_linear(c->x, c->w, c->b);
  if (!y) return 1;
  const tc_tensor *in[3] = {c->x, c->w, c->b}, *out = y, *go = c->g;
  tc_tensor *grads[3] = {0};
  tc_status s = tc_autograd_grad(&out, 1, &go, in, 3, grads, false, false);
  tc_tensor_release(y);
  for (int i = 0; i < 3; i++) tc_tensor_release(grads[i]);
  return s != TC_OK;
}

START_TEST(test_linear_alloc_failures) {
  LEAK_BEGIN;
  /* a strided x (copied for BLAS) and f16 (converted) exercise every allocation path */
  tc_tensor *x0 = tc_randn(SHAPE(5, 6, 8), 3, NULL);
  lin_alloc c = {tc_permute(x0, SHAPE(1, 0, 2), 3), tc_randn(SHAPE(4, 8), 2, NULL), tc_randn(SHAPE(4), 1, NULL),
                 tc_randn(SHAPE(6, 5, 4), 3, NULL)};
  tc_tensor_requires_grad_(c.x, true); /* a non-contiguous leaf */
  tc_tensor_requires_grad_(c.w, true);
  tc_tensor_requires_grad_(c.b, true);
  check_alloc_failures(linear_once, &c, "tc_linear forward + backward");
  tc_no_grad_push();
  lin_alloc h = {tc_to_dtype(x0, TC_F16), tc_to_dtype(c.w, TC_F16), tc_to_dtype(c.b, TC_F16), NULL};
  tc_no_grad_pop();
  h.g = tc_randn(SHAPE(5, 6, 4), 3, TC_OPTS(.dtype = TC_F16));
  tc_tensor_requires_grad_(h.x, true);
  tc_tensor_requires_grad_(h.w, true);
  tc_tensor_requires_grad_(h.b, true);
  check_alloc_failures(linear_once, &h, "tc_linear f16");
  tc_tensor *all[] = {x0, c.x, c.w, c.b, c.g, h.x, h.w, h.b, h.g};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) tc_tensor_release(all[i]);
  LEAK_END;
}
END_TEST

/* ==== activations ========================================================================================= */
typedef struct {
  const char *name;
  tc_tensor *(*fn)(const tc_tensor *x, const void *p);
  const char *node;
} act_case;

static tc_tensor *a_relu6(const tc_tensor *x, const void *p) { return tc_relu6(x); }
static tc_tensor *a_leaky(const tc_tensor *x, const void *p) { return tc_leaky_relu(x, 0.1); }
static tc_tensor *a_elu(const tc_tensor *x, const void *p) { return tc_elu(x, 1.3); }
static tc_tensor *a_gelu(const tc_tensor *x, const void *p) { return tc_gelu(x, false); }
static tc_tensor *a_gelu_tanh(const tc_tensor *x, const void *p) { return tc_gelu(x, true); }
static tc_tensor *a_silu(const tc_tensor *x, const void *p) { return tc_silu(x); }
static tc_tensor *a_hardswish(const tc_tensor *x, const void *p) { return tc_hardswish(x); }
static tc_tensor *a_softplus(const tc_tensor *x, const void *p) { return tc_softplus(x, 1.0, 20.0); }
static tc_tensor *a_softplus_b2(const tc_tensor *x, const void *p) { return tc_softplus(x, 2.0, 5.0); }

static const act_case acts[] = {
    {"relu6", a_relu6, "HardtanhBackward0"},
    {"leaky_relu", a_leaky, "LeakyReluBackward0"},
    {"elu", a_elu, "EluBackward0"},
    {"gelu", a_gelu, "GeluBackward0"},
    {"gelu_tanh", a_gelu_tanh, "GeluBackward0"},
    {"silu", a_silu, "SiluBackward0"},
    {"hardswish", a_hardswish, "HardswishBackward0"},
    {"softplus", a_softplus, "SoftplusBackward0"},
    {"softplus_b2", a_softplus_b2, "SoftplusBackward0"},
};

START_TEST(test_activation_fixtures) {
  LEAK_BEGIN;
  tc_scope_push();
  const act_case *a = &acts[_i];
  char p[48], q[64];
  snprintf(p, sizeof p, "act_%s", a->name);
  tc_tensor *x64 = fx_load(FAM, "act_x"), *g64 = fx_load(FAM, "act_gout");
  /* float64: tight */
  tc_tensor *x = tc_clone(x64);
  tc_tensor_requires_grad_(x, true);
  tc_tensor *y = a->fn(x, NULL);
  ck_assert_str_eq(tc_tensor_grad_fn_name(y), a->node);
  snprintf(q, sizeof q, "%s_f64", p);
  assert_close(y, fx(q, "y"), 1e-13, 1e-15, a->name);
  ck_assert_int_eq(tc_backward_ex(y, g64, false), TC_OK);
  assert_close(tc_tensor_grad(x), fx(q, "gx"), 1e-12, 1e-14, a->name);
  /* float32: the vectorised kernels, within a few ulp */
  x = tc_to_dtype(x64, TC_F32);
  tc_tensor_requires_grad_(x, true);
  y = a->fn(x, NULL);
  snprintf(q, sizeof q, "%s_f32", p);
  ck_assert_int_eq(tc_tensor_dtype(y), TC_F32);
  assert_close(y, fx(q, "y"), 2e-6, 1e-6, a->name); /* torch's float gelu uses a 1e-7-absolute erf */
  snprintf(q, sizeof q, "%s_f64", p);
  assert_close(y, fx(q, "y"), 5e-6, 1e-30, a->name); /* a few ulp, also where torch's float loses digits */
  ck_assert_int_eq(tc_backward_ex(y, tc_to_dtype(g64, TC_F32), false), TC_OK);
  assert_close(tc_tensor_grad(x), fx(q, "gx"), 4e-6, 1e-6, a->name);
  snprintf(q, sizeof q, "%s_f32", p);
  assert_close(tc_tensor_grad(x), fx(q, "gx"), 4e-6, 1e-6, a->name);
  /* float16 / bfloat16: computed in float32, rounded once (at most one rounding step apart) */
  y = a->fn(tc_to_dtype(x64, TC_F16), NULL);
  ck_assert_int_eq(tc_tensor_dtype(y), TC_F16);
  snprintf(q, sizeof q, "%s_f16", p);
  assert_close(y, fx(q, "y"), 1e-3, 1e-4, a->name);
  y = a->fn(tc_to_dtype(x64, TC_BF16), NULL);
  ck_assert_int_eq(tc_tensor_dtype(y), TC_BF16);
  snprintf(q, sizeof q, "%s_bf16", p);
  assert_close(y, fx(q, "y"), 8e-3, 1e-3, a->name);
  /* float32 over [-30, 30] against float64 torch: relative accuracy of exp/log1p/erfc */
  tc_tensor *wide = tc_to_dtype(fx_load(FAM, "act_wide_x"), TC_F32);
  snprintf(q, sizeof q, "act_wide_%s", a->name);
  assert_close(a->fn(wide, NULL), fx(q, "y64"), 1e-6, 1e-37, a->name);
  /* a strided input matches the contiguous one bit for bit */
  tc_tensor *xt = tc_transpose(tc_contiguous(tc_t(tc_to_dtype(x64, TC_F32))), 0, 1);
  assert_equal(a->fn(xt, NULL), a->fn(tc_to_dtype(x64, TC_F32), NULL), a->name);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

static tc_tensor *act_fn(const tc_tensor *const *in, int64_t n, void *u) {
  return ((const act_case *)u)->fn(in[0], NULL);
}

START_TEST(test_activation_gradcheck) {
  LEAK_BEGIN;
  tc_scope_push();
  /* away from the kinks (0, 6, +-3, the softplus thresholds) */
  double v[] = {-25.0, -7.3, -4.1, -2.7, -1.3, -0.4, -1e-3, 0.35, 1.7, 2.9, 3.6, 5.2, 6.8, 8.1, 12.0, 21.0};
  tc_tensor *x = tc_tensor_from_data(v, SHAPE(4, 4), 2, TC_F64);
  tc_tensor_requires_grad_(x, true);
  const tc_tensor *in[1] = {x};
  for (size_t i = 0; i < sizeof acts / sizeof *acts; i++)
    ck_assert_msg(tc_gradcheck(act_fn, in, 1, (void *)&acts[i], 1e-6, 1e-7, 1e-5) == TC_OK, "%s: %s", acts[i].name,
                  tc_last_error());
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_activation_edges_and_errors) {
  LEAK_BEGIN;
  tc_scope_push();
  float sp[] = {NAN, INFINITY, -INFINITY, -100.0f, 100.0f, 0.0f};
  tc_tensor *x = tc_tensor_from_data(sp, SHAPE(6), 1, TC_F32);
  /* NaN propagates; infinities behave as the formulas */
  tc_tensor *y = tc_silu(x);
  const float *d = tc_tensor_data(y);
  ck_assert(isnan(d[0]) && d[1] == INFINITY && d[3] > -1e-30f && d[3] <= 0 && d[4] == 100.0f && d[5] == 0.0f);
  y = tc_gelu(x, false);
  d = tc_tensor_data(y);
  ck_assert(isnan(d[0]) && d[1] == INFINITY && isnan(d[2]) && d[4] == 100.0f); /* torch's float gelu(inf) is NaN */
  y = tc_relu6(x);
  d = tc_tensor_data(y);
  ck_assert(isnan(d[0]) && d[1] == 6.0f && d[2] == 0.0f);
  y = tc_softplus(x, 1.0, 20.0);
  d = tc_tensor_data(y);
  ck_assert(isnan(d[0]) && d[1] == INFINITY && d[2] == 0.0f && d[4] == 100.0f);
  y = tc_elu(x, 1.0);
  d = tc_tensor_data(y);
  ck_assert(isnan(d[0]) && d[2] == -1.0f && d[3] == -1.0f);
  /* backward at the extremes stays finite */
  tc_tensor *xg = tc_tensor_from_data((float[]){-100.0f, 100.0f, -30.0f}, SHAPE(3), 1, TC_F32);
  tc_tensor_requires_grad_(xg, true);
  ck_assert_int_eq(backward_ones(tc_silu(xg)), TC_OK);
  ck_assert_int_eq(backward_ones(tc_gelu(xg, true)), TC_OK);
  d = tc_tensor_data(tc_tensor_grad(xg));
  ck_assert(isfinite(d[0]) && isfinite(d[1]) && isfinite(d[2]) && fabsf(d[1] - 2.0f) < 1e-6f);
  /* empty input */
  assert_shape(tc_gelu(tc_zeros(SHAPE(0, 3), 2, NULL), true), SHAPE(0, 3), 2);
  /* errors */
  ck_assert_ptr_null(tc_gelu(tc_zeros(SHAPE(2), 1, TC_OPTS(.dtype = TC_I64)), false));
  assert_error(TC_ERR_DTYPE, "tc_gelu: expected a floating-point input, got int64");
  tc_clear_error();
  ck_assert_ptr_null(tc_softplus(NULL, 1, 20));
  assert_error(TC_ERR_ARG, "tc_softplus: x is NULL");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* ==== dropout ================================================================================================ */
START_TEST(test_dropout_matches_torch) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *x = leaf("dropout_x");
  tc_manual_seed(5);
  tc_tensor *y = tc_dropout(x, 0.3, true, NULL);
  ck_assert_str_eq(tc_tensor_grad_fn_name(y), "MulBackward0");
  assert_equal(y, fx_load(FAM, "dropout_y"), "dropout mask and values");
  ck_assert_int_eq(tc_backward_ex(y, fx_load(FAM, "dropout_gout"), false), TC_OK);
  assert_equal(tc_tensor_grad(x), fx_load(FAM, "dropout_gx"), "dropout grad");
  /* a transposed input draws in memory order */
  /* stored as the logical (8, 10); rebuild torch's layout, the transpose of a contiguous (10, 8) */
  tc_tensor *xt = tc_t(tc_contiguous(tc_t(fx_load(FAM, "dropout_t_x"))));
  tc_manual_seed(6);
  assert_equal(tc_dropout(xt, 0.5, true, NULL), fx_load(FAM, "dropout_t_y"), "transposed");
  tc_manual_seed(7);
  assert_equal(tc_dropout(tc_to_dtype(fx_load(FAM, "dropout_x"), TC_F64), 0.25, true, NULL),
               fx_load(FAM, "dropout_f64_y"), "f64");
  tc_manual_seed(8);
  assert_equal(tc_dropout(tc_to_dtype(fx_load(FAM, "dropout_x"), TC_F16), 0.3, true, NULL),
               fx_load(FAM, "dropout_f16_y"), "f16");
  /* dropout2d: one draw per (N, C) */
  tc_tensor *x4 = leaf("dropout2d_x");
  tc_manual_seed(9);
  y = tc_dropout2d(x4, 0.4, true, NULL);
  assert_equal(y, fx_load(FAM, "dropout2d_y"), "dropout2d");
  ck_assert_int_eq(tc_backward_ex(y, fx_load(FAM, "dropout2d_gout"), false), TC_OK);
  assert_equal(tc_tensor_grad(x4), fx_load(FAM, "dropout2d_gx"), "dropout2d grad");
  tc_manual_seed(10);
  assert_equal(tc_dropout2d(fx_load(FAM, "dropout2d_3d_x"), 0.5, true, NULL), fx_load(FAM, "dropout2d_3d_y"),
               "dropout2d 3-D as (N, C, L)");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_dropout_statistics_and_modes) {
  LEAK_BEGIN;
  tc_scope_push();
  int64_t n = 200000;
  tc_tensor *x = tc_ones(&n, 1, NULL);
  tc_generator *g1 = tc_generator_create(11), *g2 = tc_generator_create(11);
  tc_tensor *y1 = tc_dropout(x, 0.2, true, g1), *y2 = tc_dropout(x, 0.2, true, g2);
  assert_equal(y1, y2, "same seed, same mask");
  const float *d = tc_tensor_data(y1);
  int64_t kept = 0;
  for (int64_t i = 0; i < n; i++) {
    ck_assert(d[i] == 0.0f || d[i] == 1.0f / 0.8f);
    kept += d[i] != 0.0f;
  }
  /* binomial(n, 0.8): sd = 179 */
  ck_assert_msg(llabs(kept - 160000) < 1000, "kept %lld of %lld", (long long)kept, (long long)n);
  double mean;
  tc_item_double(tc_mean(y1, NULL, 0, false), &mean);
  ck_assert(fabs(mean - 1.0) < 0.01);
  /* the next draw differs */
  ck_assert_int_ne(memcmp(tc_tensor_data(y1), tc_tensor_data(tc_dropout(x, 0.2, true, g1)), 64), 0);
  tc_generator_destroy(g1);
  tc_generator_destroy(g2);
  /* dropout2d: channels all kept or all dropped */
  tc_generator *g = tc_generator_create(3);
  tc_tensor *y4 = tc_dropout2d(tc_ones(SHAPE(8, 16, 5, 5), 4, NULL), 0.5, true, g);
  const float *e = tc_tensor_data(y4);
  for (int64_t c = 0; c < 8 * 16; c++)
    for (int k = 1; k < 25; k++) ck_assert(e[c * 25 + k] == e[c * 25]);
  tc_generator_destroy(g);
  /* p = 0 and eval return the input itself (an alias); p = 1 zeros, with zero gradient */
  tc_tensor *xl = tc_randn(SHAPE(3, 4), 2, NULL);
  tc_tensor_requires_grad_(xl, true);
  y1 = tc_dropout(xl, 0.0, true, NULL);
  ck_assert(tc_tensor_shares_storage(y1, xl));
  y1 = tc_dropout(xl, 0.7, false, NULL);
  ck_assert(tc_tensor_shares_storage(y1, xl) && tc_tensor_requires_grad(y1));
  y1 = tc_dropout2d(xl, 0.7, false, NULL);
  ck_assert(tc_tensor_shares_storage(y1, xl));
  y1 = tc_dropout(xl, 1.0, true, NULL);
  assert_equal(y1, tc_zeros(SHAPE(3, 4), 2, NULL), "p = 1");
  ck_assert_int_eq(backward_ones(y1), TC_OK);
  assert_equal(tc_tensor_grad(xl), tc_zeros(SHAPE(3, 4), 2, NULL), "p = 1 grad");
  /* errors: bad p (also when not training, as PyTorch), integer input, dropout2d of 1-D */
  ck_assert_ptr_null(tc_dropout(xl, 1.5, false, NULL));
  assert_error(TC_ERR_ARG, "tc_dropout: dropout probability has to be between 0 and 1, but got 1.5");
  ck_assert_ptr_null(tc_dropout2d(xl, -0.1, true, NULL));
  assert_error(TC_ERR_ARG, "tc_dropout2d: dropout probability has to be between 0 and 1, but got -0.1");
  ck_assert_ptr_null(tc_dropout(xl, NAN, true, NULL));
  ck_assert_ptr_null(tc_dropout(tc_ones(SHAPE(3), 1, TC_OPTS(.dtype = TC_I64)), 0.5, true, NULL));
  assert_error(TC_ERR_DTYPE, "floating-point");
  ck_assert_ptr_null(tc_dropout2d(tc_ones(SHAPE(3), 1, NULL), 0.5, true, NULL));
  assert_error(TC_ERR_SHAPE, "at least 2 dims");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

static tc_tensor *dropout_fn(const tc_tensor *const *in, int64_t n, void *u) {
  tc_generator *g = tc_generator_create(21); /* the same mask on every call */
  tc_tensor *y = *(bool *)u ? tc_dropout2d(in[0], 0.4, true, g) : tc_dropout(in[0], 0.4, true, g);
  tc_generator_destroy(g);
  return y;
}

START_TEST(test_dropout_gradcheck) {
  LEAK_BEGIN;
  tc_scope_push();
  const tc_tensor *in[1] = {rand64(SHAPE(3, 4, 2, 2), 4, 31, 1)};
  bool two = false;
  ck_assert_msg(tc_gradcheck(dropout_fn, in, 1, &two, 1e-6, 1e-7, 1e-5) == TC_OK, "%s", tc_last_error());
  two = true;
  ck_assert_msg(tc_gradcheck(dropout_fn, in, 1, &two, 1e-6, 1e-7, 1e-5) == TC_OK, "%s", tc_last_error());
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* ==== embedding ============================================================================================== */
START_TEST(test_embedding_fixtures) {
  LEAK_BEGIN;
  tc_scope_push();
  const char *names[2] = {"nopad", "pad"};
  int64_t pads[2] = {-1, 1};
  for (int k = 0; k < 2; k++) {
    tc_tensor *w = leaf("emb_w");
    tc_tensor *y = tc_embedding(fx_load(FAM, "emb_idx"), w, pads[k]);
    ck_assert_str_eq(tc_tensor_grad_fn_name(y), "EmbeddingBackward0");
    char p[32];
    snprintf(p, sizeof p, "emb_%s", names[k]);
    assert_equal(y, fx(p, "y"), names[k]);
    ck_assert_int_eq(tc_backward_ex(y, fx_load(FAM, "emb_gout"), false), TC_OK);
    assert_close(tc_tensor_grad(w), fx(p, "gw"), 1e-6, 1e-7, names[k]);
    /* int32 indices and a strided weight give the same */
    tc_tensor *wt = tc_t(tc_contiguous(tc_t(fx_load(FAM, "emb_w"))));
    assert_equal(tc_embedding(tc_to_dtype(fx_load(FAM, "emb_idx"), TC_I32), wt, pads[k]), fx(p, "y"), "int32");
  }
  tc_scope_pop();
  LEAK_END;
}
END_TEST

typedef struct {
  const tc_tensor *idx, *off;
  tc_bag_mode mode;
  int64_t pad;
} bag_args;

static tc_tensor *emb_fn(const tc_tensor *const *in, int64_t n, void *u) {
  const bag_args *a = u;
  return tc_embedding(a->idx, in[0], a->pad);
}

static tc_tensor *bag_fn(const tc_tensor *const *in, int64_t n, void *u) {
  const bag_args *a = u;
  return tc_embedding_bag(a->idx, in[0], a->off, a->mode, n > 1 ? in[1] : NULL, a->pad);
}

START_TEST(test_embedding_bag_fixtures) {
  LEAK_BEGIN;
  tc_scope_push();
  const char *modes[3] = {"sum", "mean", "max"};
  tc_bag_mode m[3] = {TC_BAG_SUM, TC_BAG_MEAN, TC_BAG_MAX};
  tc_tensor *idx = fx_load(FAM, "bag_idx"), *off = fx_load(FAM, "bag_off");
  for (int i = 0; i < 3; i++)
    for (int k = 0; k < 2; k++) {
      char p[48];
      snprintf(p, sizeof p, "bag_%s_%s", modes[i], k ? "pad" : "nopad");
      tc_tensor *w = leaf("bag_w");
      tc_tensor *y = tc_embedding_bag(idx, w, off, m[i], NULL, k ? 4 : -1);
      ck_assert_str_eq(tc_tensor_grad_fn_name(y), "EmbeddingBagBackward0");
      assert_close(y, fx(p, "y"), 1e-6, 1e-7, p);
      ck_assert_int_eq(tc_backward_ex(y, fx_load(FAM, "bag_gout"), false), TC_OK);
      assert_close(tc_tensor_grad(w), fx(p, "gw"), 1e-6, 1e-7, p);
    }
  /* per_sample_weights (sum), with padding */
  tc_tensor *w = leaf("bag_w"), *psw = leaf("bag_psw");
  tc_tensor *y = tc_embedding_bag(idx, w, off, TC_BAG_SUM, psw, 4);
  assert_close(y, fx_load(FAM, "bag_psw_y"), 1e-6, 1e-7, "psw y");
  ck_assert_int_eq(tc_backward_ex(y, fx_load(FAM, "bag_gout"), false), TC_OK);
  assert_close(tc_tensor_grad(w), fx_load(FAM, "bag_psw_gw"), 1e-6, 1e-7, "psw gw");
  assert_close(tc_tensor_grad(psw), fx_load(FAM, "bag_psw_gp"), 1e-6, 1e-7, "psw grad");
  /* 2-D input, one bag per row (row 1 all padding) */
  for (int i = 0; i < 3; i++) {
    char p[48];
    snprintf(p, sizeof p, "bag2d_%s", modes[i]);
    w = leaf("bag_w");
    y = tc_embedding_bag(fx_load(FAM, "bag2d_idx"), w, NULL, m[i], NULL, 5);
    assert_close(y, fx(p, "y"), 1e-6, 1e-7, p);
    ck_assert_int_eq(tc_backward_ex(y, fx_load(FAM, "bag2d_gout"), false), TC_OK);
    assert_close(tc_tensor_grad(w), fx(p, "gw"), 1e-6, 1e-7, p);
  }
  /* float64 gradcheck: every mode, per_sample_weights included */
  tc_tensor *w64 = rand64(SHAPE(10, 3), 2, 41, 1), *p64 = rand64(SHAPE(10), 1, 42, 1);
  for (int i = 0; i < 3; i++)
    for (int k = 0; k < 2; k++) {
      bag_args a = {idx, off, m[i], k ? 4 : -1};
      const tc_tensor *in[2] = {w64, p64};
      ck_assert_msg(tc_gradcheck(bag_fn, in, m[i] == TC_BAG_SUM ? 2 : 1, &a, 1e-6, 1e-7, 1e-5) == TC_OK, "%s: %s",
                    modes[i], tc_last_error());
    }
  bag_args a = {fx_load(FAM, "emb_idx"), NULL, TC_BAG_SUM, -1}; /* a padding row would get no gradient */
  const tc_tensor *in[1] = {w64};
  ck_assert_msg(tc_gradcheck(emb_fn, in, 1, &a, 1e-6, 1e-7, 1e-5) == TC_OK, "embedding: %s", tc_last_error());
  /* f16 weight: computed in f32 */
  y = tc_embedding_bag(idx, tc_to_dtype(fx_load(FAM, "bag_w"), TC_F16), off, TC_BAG_MEAN, NULL, 4);
  ck_assert_int_eq(tc_tensor_dtype(y), TC_F16);
  assert_close(y, fx_load(FAM, "bag_mean_pad_y"), 2e-3, 2e-3, "f16 mean");
  /* no bags */
  y = tc_embedding_bag(tc_zeros(SHAPE(0), 1, TC_OPTS(.dtype = TC_I64)), fx_load(FAM, "bag_w"),
                       tc_zeros(SHAPE(0), 1, TC_OPTS(.dtype = TC_I64)), TC_BAG_SUM, NULL, -1);
  assert_shape(y, SHAPE(0, 3), 2);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_embedding_errors) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *w = tc_randn(SHAPE(10, 3), 2, NULL);
  ck_assert_ptr_null(tc_embedding(T_I64(SHAPE(2, 2), 2, 1, 2, 10, 3), w, -1));
  assert_error(TC_ERR_ARG,
               "tc_embedding: index 10 at flat position 2 is out of range for weight [10, 3] (0 <= index < 10)");
  ck_assert_ptr_null(tc_embedding(T_I64(SHAPE(1), 1, -1), w, -1));
  assert_error(TC_ERR_ARG, "index -1");
  ck_assert_ptr_null(tc_embedding(T_F32(SHAPE(1), 1, 1), w, -1));
  assert_error(TC_ERR_DTYPE, "int64 or int32");
  ck_assert_ptr_null(tc_embedding(T_I64(SHAPE(1), 1, 1), tc_randn(SHAPE(10), 1, NULL), -1));
  assert_error(TC_ERR_SHAPE, "weight must be 2-D");
  ck_assert_ptr_null(tc_embedding(T_I64(SHAPE(1), 1, 1), w, 10));
  assert_error(TC_ERR_ARG, "padding_idx 10 must be within num_embeddings 10");
  /* embedding_bag */
  tc_tensor *idx = T_I64(SHAPE(4), 1, 1, 2, 3, 4), *off = T_I64(SHAPE(2), 1, 0, 2);
  ck_assert_ptr_null(tc_embedding_bag(idx, w, off, TC_BAG_MEAN, tc_ones(SHAPE(4), 1, NULL), -1));
  assert_error(TC_ERR_ARG, "per_sample_weights is only supported for mode sum (got mode mean)");
  ck_assert_ptr_null(tc_embedding_bag(idx, w, off, TC_BAG_SUM, tc_ones(SHAPE(3), 1, NULL), -1));
  assert_error(TC_ERR_SHAPE, "per_sample_weights [3] must have the input's shape [4]");
  ck_assert_ptr_null(tc_embedding_bag(idx, w, T_I64(SHAPE(2), 1, 1, 2), TC_BAG_SUM, NULL, -1));
  assert_error(TC_ERR_ARG, "offsets[0] has to be 0");
  ck_assert_ptr_null(tc_embedding_bag(idx, w, T_I64(SHAPE(3), 1, 0, 3, 1), TC_BAG_SUM, NULL, -1));
  assert_error(TC_ERR_ARG, "non-decreasing");
  ck_assert_ptr_null(tc_embedding_bag(idx, w, T_I64(SHAPE(2), 1, 0, 5), TC_BAG_SUM, NULL, -1));
  assert_error(TC_ERR_ARG, "offsets[-1] = 5 can not be greater than the input's length 4");
  ck_assert_ptr_null(tc_embedding_bag(idx, w, NULL, TC_BAG_SUM, NULL, -1));
  assert_error(TC_ERR_ARG, "needs offsets");
  ck_assert_ptr_null(tc_embedding_bag(tc_reshape(idx, SHAPE(2, 2), 2), w, off, TC_BAG_SUM, NULL, -1));
  assert_error(TC_ERR_ARG, "offsets must be NULL when input is 2-D");
  ck_assert_ptr_null(tc_embedding_bag(T_I64(SHAPE(1), 1, 12), w, T_I64(SHAPE(1), 1, 0), TC_BAG_MAX, NULL, -1));
  assert_error(TC_ERR_ARG, "tc_embedding_bag: index 12");
  ck_assert_ptr_null(tc_embedding_bag(idx, w, off, (tc_bag_mode)5, NULL, -1));
  assert_error(TC_ERR_ARG, "unknown mode");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

typedef struct {
  tc_tensor *idx, *w, *off, *psw;
} emb_alloc;

static int embedding_once(void *vc) {
  emb_alloc *c = vc;
  tc_tensor *y = tc_embedding_bag(c->idx, c->w, c->off, TC_BAG_MAX, NULL, 4);
  tc_tensor *z = y ? tc_embedding_bag(c->idx, c->w, c->off, TC_BAG_SUM, c->psw, 4) : NULL;
  tc_tensor *e = z ? tc_embedding(c->idx, c->w, 2) : NULL;
  tc_tensor *gy = e ? tc_ones_like(y, NULL) : NULL, *gz = gy ? tc_ones_like(z, NULL) : NULL;
  tc_tensor *ge = gz ? tc_ones_like(e, NULL) : NULL;
  tc_status st = ge ? TC_OK : tc_last_status();
  if (!st) {
    const tc_tensor *out[3] = {y, z, e}, *go[3] = {gy, gz, ge}, *in[2] = {c->w, c->psw};
    tc_tensor *grads[2] = {0};
    st = tc_autograd_grad(out, 3, go, in, 2, grads, false, false);
    tc_tensor_release(grads[0]);
    tc_tensor_release(grads[1]);
  }
  tc_tensor *all[] = {y, z, e, gy, gz, ge};
  for (int i = 0; i < 6; i++) tc_tensor_release(all[i]);
  return st != TC_OK;
}

START_TEST(test_embedding_alloc_failures) {
  LEAK_BEGIN;
  tc_scope_push();
  emb_alloc c = {fx_load(FAM, "bag_idx"), leaf("bag_w"), fx_load(FAM, "bag_off"), leaf("bag_psw")};
  tc_scope_keep(c.idx), tc_scope_keep(c.w), tc_scope_keep(c.off), tc_scope_keep(c.psw);
  tc_scope_pop();
  check_alloc_failures(embedding_once, &c, "embedding / embedding_bag forward + backward");
  tc_tensor_release(c.idx), tc_tensor_release(c.w), tc_tensor_release(c.off), tc_tensor_release(c.psw);
  LEAK_END;
}
END_TEST

/* ==== modules ================================================================================================= */
START_TEST(test_module_construction) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_manual_seed(3);
  tc_module *lin = tc_linear_create(20, 7, true);
  ck_assert_str_eq(tc_module_type(lin), "Linear");
  assert_equal(tc_module_parameter(lin, "weight"), fx_load(FAM, "linear_init_w"), "Linear weight");
  assert_equal(tc_module_parameter(lin, "bias"), fx_load(FAM, "linear_init_b"), "Linear bias");
  ck_assert(tc_tensor_requires_grad(tc_module_parameter(lin, "weight")));
  tc_manual_seed(4);
  tc_module *nb = tc_linear_create(5, 4, false);
  assert_equal(tc_module_parameter(nb, "weight"), fx_load(FAM, "linear_nobias_init_w"), "Linear(bias=False)");
  ck_assert_ptr_null(tc_module_parameter(nb, "bias"));
  tc_named_tensors names;
  ck_assert_int_eq(tc_module_named_parameters(nb, &names), TC_OK);
  ck_assert_int_eq(names.n, 1);
  tc_named_tensors_clear(&names);
  tc_manual_seed(5);
  tc_module *emb = tc_embedding_create(10, 6, 2);
  assert_equal(tc_module_parameter(emb, "weight"), fx_load(FAM, "embedding_init_w"), "Embedding weight");
  tc_manual_seed(6);
  tc_module *bag = tc_embedding_bag_create(7, 5, TC_BAG_MAX, 0);
  assert_equal(tc_module_parameter(bag, "weight"), fx_load(FAM, "embedding_bag_init_w"), "EmbeddingBag weight");
  /* forwards */
  tc_tensor *x = fx_load(FAM, "linear_2d_x");
  assert_shape(tc_module_forward(lin, tc_randn(SHAPE(3, 20), 2, NULL)), SHAPE(3, 7), 2);
  assert_equal(tc_module_forward(nb, x), tc_linear(x, tc_module_parameter(nb, "weight"), NULL), "Linear forward");
  tc_tensor *ix = T_I64(SHAPE(2, 2), 2, 0, 2, 6, 2);
  tc_tensor *ey = tc_module_forward(emb, ix);
  assert_equal(tc_select(tc_select(ey, 0, 0), 0, 1), tc_zeros(SHAPE(6), 1, NULL), "padding row is zero");
  tc_tensor *by =
      tc_module_forward_n(bag, (const tc_tensor *[]){T_I64(SHAPE(4), 1, 1, 2, 0, 3), T_I64(SHAPE(2), 1, 0, 2)}, 2);
  assert_shape(by, SHAPE(2, 5), 2);
  assert_shape(tc_module_forward(bag, T_I64(SHAPE(3, 2), 2, 1, 2, 3, 4, 5, 6)), SHAPE(3, 5), 2);
  ck_assert_ptr_null(tc_module_forward_n(lin, (const tc_tensor *[]){x, x}, 2));
  assert_error(TC_ERR_ARG, "Linear takes 1 input, got 2");
  /* the weights train: backward reaches the module's parameters */
  ck_assert_int_eq(backward_ones(tc_module_forward(nb, x)), TC_OK);
  ck_assert_ptr_nonnull(tc_tensor_grad(tc_module_parameter(nb, "weight")));
  tc_module_destroy(lin);
  tc_module_destroy(nb);
  tc_module_destroy(emb);
  tc_module_destroy(bag);
  /* bad arguments */
  ck_assert_ptr_null(tc_linear_create(-1, 3, true));
  assert_error(TC_ERR_ARG, "in_features (-1)");
  ck_assert_ptr_null(tc_embedding_create(5, 3, 5));
  assert_error(TC_ERR_ARG, "padding_idx 5 must be within num_embeddings 5");
  ck_assert_ptr_null(tc_dropout_create(1.2));
  assert_error(TC_ERR_ARG, "tc_dropout_create: dropout probability has to be between 0 and 1, but got 1.2");
  ck_assert_ptr_null(tc_unflatten_create(1, SHAPE(2), 0));
  ck_assert_ptr_null(tc_embedding_bag_create(3, 2, (tc_bag_mode)9, -1));
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_module_activations_and_shapes) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *x = tc_to_dtype(fx_load(FAM, "act_x"), TC_F32);
  struct {
    tc_module *m;
    const char *type;
    tc_tensor *want;
  } cases[] = {
      {tc_relu_create(), "ReLU", tc_relu(x)},
      {tc_relu6_create(), "ReLU6", tc_relu6(x)},
      {tc_leaky_relu_create(0.2), "LeakyReLU", tc_leaky_relu(x, 0.2)},
      {tc_elu_create(0.5), "ELU", tc_elu(x, 0.5)},
      {tc_gelu_create(true), "GELU", tc_gelu(x, true)},
      {tc_silu_create(), "SiLU", tc_silu(x)},
      {tc_hardswish_create(), "Hardswish", tc_hardswish(x)},
      {tc_tanh_create(), "Tanh", tc_tanh(x)},
      {tc_sigmoid_create(), "Sigmoid", tc_sigmoid(x)},
      {tc_softplus_create(2.0, 10.0), "Softplus", tc_softplus(x, 2.0, 10.0)},
      {tc_softmax_create(-1), "Softmax", tc_softmax(x, -1)},
      {tc_log_softmax_create(0), "LogSoftmax", tc_log_softmax(x, 0)},
      {tc_identity_create(), "Identity", x},
      {tc_flatten_create(0, -1), "Flatten", tc_flatten(x, 0, -1)},
      {tc_unflatten_create(1, SHAPE(3, -1), 2), "Unflatten", tc_unflatten(x, 1, SHAPE(3, 4), 2)},
      {tc_dropout_create(0.5), "Dropout", NULL},
      {tc_dropout2d_create(0.5), "Dropout2d", NULL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    ck_assert_str_eq(tc_module_type(cases[i].m), cases[i].type);
    if (cases[i].want) assert_equal(tc_module_forward(cases[i].m, x), cases[i].want, cases[i].type);
    tc_module_destroy(cases[i].m);
  }
  /* Identity returns an alias; Flatten defaults (1, -1) */
  tc_module *id = tc_identity_create(), *fl = tc_flatten_create(1, -1);
  ck_assert(tc_tensor_shares_storage(tc_module_forward(id, x), x));
  assert_shape(tc_module_forward(fl, tc_zeros(SHAPE(2, 3, 4), 3, NULL)), SHAPE(2, 12), 2);
  tc_module_destroy(id);
  tc_module_destroy(fl);
  /* Dropout follows train/eval */
  tc_module *d = tc_dropout_create(0.5);
  tc_module_train(d, false);
  ck_assert(tc_tensor_shares_storage(tc_module_forward(d, x), x));
  tc_module_train(d, true);
  tc_manual_seed(5);
  tc_tensor *y = tc_module_forward(d, x);
  tc_manual_seed(5);
  assert_equal(y, tc_dropout(x, 0.5, true, NULL), "Dropout module draws as F.dropout");
  tc_module_destroy(d);
  tc_module *d2 = tc_dropout2d_create(0.5);
  tc_module_train(d2, false);
  tc_tensor *x4 = fx_load(FAM, "dropout2d_x");
  ck_assert(tc_tensor_shares_storage(tc_module_forward(d2, x4), x4));
  tc_module_destroy(d2);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

static int module_once(void *vc) {
  (void)vc;
  tc_module *m = tc_linear_create(6, 4, true);
  tc_module *e = m ? tc_embedding_bag_create(5, 3, TC_BAG_SUM, 1) : NULL;
  tc_module *u = e ? tc_unflatten_create(1, SHAPE(2, 2), 2) : NULL;
  tc_module *r = u ? tc_gelu_create(false) : NULL;
  tc_module_destroy(m);
  tc_module_destroy(e);
  tc_module_destroy(u);
  tc_module_destroy(r);
  return r == NULL;
}

START_TEST(test_module_alloc_failures) {
  LEAK_BEGIN;
  check_alloc_failures(module_once, NULL, "module construction");
  LEAK_END;
}
END_TEST

static Suite *layers_suite(void) {
  Suite *s = suite_create("nn_layers");
  TCase *tc = tcase_create("layers");
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, test_linear_fixtures, 0, (int)(sizeof linear_cases / sizeof *linear_cases));
  tcase_add_test(tc, test_linear_f16_and_strided);
  tcase_add_test(tc, test_linear_gradcheck);
  tcase_add_test(tc, test_linear_errors);
  tcase_add_test(tc, test_linear_alloc_failures);
  tcase_add_loop_test(tc, test_activation_fixtures, 0, (int)(sizeof acts / sizeof *acts));
  tcase_add_test(tc, test_activation_gradcheck);
  tcase_add_test(tc, test_activation_edges_and_errors);
  tcase_add_test(tc, test_dropout_matches_torch);
  tcase_add_test(tc, test_dropout_statistics_and_modes);
  tcase_add_test(tc, test_dropout_gradcheck);
  tcase_add_test(tc, test_embedding_fixtures);
  tcase_add_test(tc, test_embedding_bag_fixtures);
  tcase_add_test(tc, test_embedding_errors);
  tcase_add_test(tc, test_embedding_alloc_failures);
  tcase_add_test(tc, test_module_construction);
  tcase_add_test(tc, test_module_activations_and_shapes);
  tcase_add_test(tc, test_module_alloc_failures);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return run_suite(layers_suite()); }
