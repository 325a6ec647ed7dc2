/* Pooling against PyTorch: max/avg/adaptive-avg pooling in 1-d and 2-d, forward, indices and
 * autograd gradients from fixtures (tests/fixtures/gen/gen_pool_norm.py), float16/bfloat16 and
 * non-contiguous inputs, integer inputs, gradcheck in f64, thread-count independence, the pooling
 * modules, error messages, and allocation failures. */
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

#define FAM "pool_norm"

static tc_tensor *load(const char *c, const char *what) {
  char name[128];
  snprintf(name, sizeof name, "%s_%s", c, what);
  return fx_load(FAM, name);
}
static tc_tensor *try_load(const char *c, const char *what) {
  char name[128];
  snprintf(name, sizeof name, "%s_%s", c, what);
  return fx_try_load(FAM, name);
}

/* The same values as t in a non-contiguous layout (the last two dims transposed in memory). */
static tc_tensor *noncontig(const tc_tensor *t) {
  int64_t nd = tc_tensor_ndim(t);
  tc_tensor *tt = tc_transpose(t, nd - 2, nd - 1);
  tc_tensor *c = tc_contiguous(tt);
  tc_tensor *r = tc_transpose(c, nd - 2, nd - 1);
  tc_tensor_release(tt);
  tc_tensor_release(c);
  return r;
}

static tc_tensor *leaf(const tc_tensor *t) {
  tc_tensor *l = tc_detach(t);
  ck_assert_int_eq(tc_tensor_requires_grad_(l, true), TC_OK);
  return l;
}

typedef struct {
  int spatial, kind; /* kind 0 max, 1 avg, 2 adaptive */
  tc_pool_opts o;
  int64_t out[2];
} pcase;

static pcase read_case(const char *c) {
  tc_tensor *t = load(c, "opts");
  const int64_t *v = tc_tensor_data(t);
  pcase p = {.spatial = (int)v[0], .kind = (int)v[1],
             .o = {.kernel = {v[2], v[3]}, .stride = {v[4], v[5]}, .padding = {v[6], v[7]},
                   .dilation = {v[8], v[9]}, .ceil_mode = v[10] != 0, .count_include_pad_false = v[11] != 0,
                   .divisor_override = v[12]},
             .out = {v[13], v[14]}};
  tc_tensor_release(t);
  return p;
}

static tc_tensor *run_pool(const pcase *p, const tc_tensor *x, tc_tensor **idx) {
  if (idx) *idx = NULL;
  if (p->kind == 0)
    return p->spatial == 2 ? tc_max_pool2d(x, &p->o, idx) : tc_max_pool1d(x, &p->o, idx);
  if (p->kind == 1) return p->spatial == 2 ? tc_avg_pool2d(x, &p->o) : tc_avg_pool1d(x, &p->o);
  return p->spatial == 2 ? tc_adaptive_avg_pool2d(x, p->out[0], p->out[1]) : tc_adaptive_avg_pool1d(x, p->out[0]);
}

static const char *node_name(const pcase *p) {
  if (p->spatial == 1) return "SqueezeBackward1";
  if (p->kind == 0) return "MaxPool2DWithIndicesBackward0";
  if (p->kind == 1) return "AvgPool2DBackward0";
  return p->out[0] == 1 && p->out[1] == 1 ? "MeanBackward1" : "AdaptiveAvgPool2DBackward0";
}

/* forward, indices and gradient of one case for input x (dtype dt) against the fixtures */
static void check_case(const char *c, const pcase *p, const tc_tensor *x, const tc_tensor *gy, const tc_tensor *ey,
                       const tc_tensor *egx, const tc_tensor *eidx, double tol, const char *variant) {
  char what[160];
  tc_tensor *xl = leaf(x);
  tc_tensor *idx = NULL;
  tc_tensor *y = run_pool(p, xl, p->kind == 0 ? &idx : NULL);
  ck_assert_msg(y != NULL, "%s %s: %s", c, variant, tc_last_error());
  ck_assert_int_eq(tc_tensor_dtype(y), tc_tensor_dtype(x));
  snprintf(what, sizeof what, "%s %s y", c, variant);
  assert_close(y, ey, tol, tol, what);
  ck_assert_str_eq(tc_tensor_grad_fn_name(y), node_name(p));
  if (eidx) {
    snprintf(what, sizeof what, "%s %s indices", c, variant);
    assert_equal(idx, eidx, what);
    ck_assert(!tc_tensor_requires_grad(idx));
  }
  ck_assert_int_eq(tc_backward_ex(y, gy, false), TC_OK);
  tc_tensor *gx = tc_tensor_grad(xl);
  snprintf(what, sizeof what, "%s %s grad", c, variant);
  assert_close(gx, egx, tol, tol, what);
  tc_tensor_release(gx);
  tc_tensor_release(y);
  tc_tensor_release(idx);
  tc_tensor_release(xl);
}

static const char *const pool_cases[] = {
    "mp2_basic",     "mp2_k3s2p1",        "mp2_ceil",           "mp2_ceil_pad",  "mp2_ceil_drop",
    "mp2_dilation",  "mp2_dilation_ceil", "mp2_nonsquare",      "mp2_unbatched", "mp2_stride_gt_kernel",
    "mp2_nan_ties",  "mp2_nan_ties_k3",   "mp2_f64",            "mp1_basic",     "mp1_dil_ceil",
    "mp1_unbatched", "ap2_basic",         "ap2_pad_ceil",       "ap2_pad_ceil_nocount",
    "ap2_ceil_clip", "ap2_ceil_clip_nocount", "ap2_divisor",    "ap2_divisor_ceil", "ap2_nonsquare",
    "ap2_unbatched", "ap2_f64",           "ap1_basic",          "ap1_pad_nocount_ceil", "ap1_unbatched",
    "aap2_divide",   "aap2_nondivide",    "aap2_upsample",      "aap2_1x1",      "aap2_unbatched",
    "aap2_f64",      "aap1_nondivide",    "aap1_one",           "aap1_unbatched",
};

START_TEST(test_pool_fixtures) {
  const char *c = pool_cases[_i];
  LEAK_BEGIN;
  tc_scope_push();
  pcase p = read_case(c);
  tc_tensor *x = load(c, "x"), *gy = load(c, "gy"), *ey = load(c, "y"), *egx = load(c, "gx");
  tc_tensor *eidx = try_load(c, "idx");
  bool f64 = tc_tensor_dtype(x) == TC_F64;
  double tol = f64 ? 1e-12 : 2e-6;
  check_case(c, &p, x, gy, ey, egx, eidx, tol, "contiguous");
  check_case(c, &p, noncontig(x), noncontig(gy), ey, egx, eidx, tol, "non-contiguous");
  if (!f64) { /* float16/bfloat16: inputs are float16 values; compute in float32, round once */
    tc_tensor *xh = tc_to_dtype(x, TC_F16), *gyh = tc_to_dtype(gy, TC_F16);
    check_case(c, &p, xh, gyh, ey, egx, eidx, p.kind == 0 ? 1e-3 : 2e-3, "float16");
    tc_tensor *xb = tc_to_dtype(x, TC_BF16);
    if (p.kind == 0) { /* bf16 rounds the inputs: compare against the float32 op on the rounded values */
      tc_tensor *xr = tc_to_dtype(xb, TC_F32), *idx;
      tc_tensor *yr = run_pool(&p, xr, &idx), *yb = run_pool(&p, xb, NULL);
      assert_close(yb, yr, 0, 0, "bfloat16 max");
    } else {
      tc_tensor *yb = run_pool(&p, xb, NULL);
      assert_close(yb, ey, 2e-2, 5e-2, "bfloat16 avg");
    }
  }
  /* no indices requested / no grad: the same values */
  tc_tensor *y = run_pool(&p, x, NULL);
  assert_close(y, ey, tol, tol, "no-grad forward");
  ck_assert_ptr_null(tc_tensor_grad_fn_name(y));
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* ---- integer inputs ---------------------------------------------------------------------------------- */
START_TEST(test_pool_integers) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *x = T_I64(SHAPE(1, 1, 2, 4), 4, -3, -2, 7, 7, -5, -4, 1, 9);
  tc_tensor *idx;
  tc_tensor *y = tc_max_pool2d(x, TC_POOL(.kernel = {2, 2}), &idx);
  assert_equal(y, T_I64(SHAPE(1, 1, 1, 2), 4, -2, 9), "int64 max");
  assert_equal(idx, T_I64(SHAPE(1, 1, 1, 2), 4, 1, 7), "int64 indices");
  tc_tensor *u = tc_to_dtype(x, TC_U8); /* wraps: 253, 254, 7, 7, 251, 252, 1, 9 */
  tc_tensor *yu = tc_max_pool2d(u, TC_POOL(.kernel = {2, 2}), NULL);
  ck_assert_int_eq(tc_tensor_dtype(yu), TC_U8);
  ck_assert_int_eq(((uint8_t *)tc_tensor_data(yu))[0], 254);
  ck_assert_int_eq(((uint8_t *)tc_tensor_data(yu))[1], 9);
  tc_tensor *y1 = tc_max_pool1d(tc_to_dtype(tc_reshape(x, SHAPE(2, 4), 2), TC_I32), TC_POOL(.kernel = {3}, .stride = {1}),
                                NULL);
  assert_equal(y1, tc_to_dtype(T_I64(SHAPE(2, 2), 2, 7, 7, 1, 9), TC_I32), "int32 max1d");
  /* int64 average: truncating division, as PyTorch (-5 / 4 = -1) */
  tc_tensor *a = tc_avg_pool2d(T_I64(SHAPE(1, 1, 2, 2), 4, -3, -2, 0, 0), TC_POOL(.kernel = {2, 2}));
  assert_equal(a, T_I64(SHAPE(1, 1, 1, 1), 4, -1), "int64 avg");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* ---- empty batch --------------------------------------------------------------------------------------- */
START_TEST(test_pool_empty_batch) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *x = leaf(tc_zeros(SHAPE(0, 3, 4, 4), 4, NULL));
  tc_tensor *idx;
  tc_tensor *y = tc_max_pool2d(x, TC_POOL(.kernel = {2, 2}), &idx);
  assert_shape(y, SHAPE(0, 3, 2, 2), 4);
  assert_shape(idx, SHAPE(0, 3, 2, 2), 4);
  ck_assert_int_eq(tc_backward_ex(y, tc_zeros_like(y, NULL), false), TC_OK);
  assert_shape(tc_tensor_grad(x), SHAPE(0, 3, 4, 4), 4);
  assert_shape(tc_avg_pool2d(x, TC_POOL(.kernel = {3, 3}, .padding = {1, 1})), SHAPE(0, 3, 2, 2), 4);
  assert_shape(tc_adaptive_avg_pool2d(x, 3, 2), SHAPE(0, 3, 3, 2), 4);
  /* an empty adaptive output: zero gradient */
  tc_tensor *x2 = leaf(tc_ones(SHAPE(2, 3, 4), 3, NULL));
  tc_tensor *y2 = tc_adaptive_avg_pool2d(x2, 0, 2);
  assert_shape(y2, SHAPE(2, 0, 2), 3);
  ck_assert_int_eq(tc_backward_ex(y2, tc_zeros_like(y2, NULL), false), TC_OK);
  assert_equal(tc_tensor_grad(x2), tc_zeros(SHAPE(2, 3, 4), 3, NULL), "empty output grad");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* ---- gradcheck in f64 ---------------------------------------------------------------------------------- */
typedef struct {
  pcase p;
} gc_user;

static tc_tensor *gc_fn(const tc_tensor *const *in, int64_t n, void *user) {
  (void)n;
  return run_pool(&((gc_user *)user)->p, in[0], NULL);
}

START_TEST(test_pool_gradcheck) {
  static const pcase cases[] = {
      {2, 0, {.kernel = {3, 2}, .stride = {2, 1}, .padding = {1, 1}, .dilation = {1, 2}}, {0, 0}},
      {2, 0, {.kernel = {2, 2}, .stride = {2, 2}, .ceil_mode = true}, {0, 0}},
      {2, 0, {.kernel = {2, 2}}, {0, 0}},
      {1, 0, {.kernel = {3}, .stride = {2}, .padding = {1}, .dilation = {2}, .ceil_mode = true}, {0, 0}},
      {2, 1, {.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}, .ceil_mode = true}, {0, 0}},
      {2, 1, {.kernel = {3, 2}, .stride = {2, 2}, .padding = {1, 1}, .count_include_pad_false = true}, {0, 0}},
      {2, 1, {.kernel = {2, 3}, .stride = {1, 2}, .padding = {1, 1}, .divisor_override = 4}, {0, 0}},
      {1, 1, {.kernel = {4}, .stride = {3}, .padding = {2}, .ceil_mode = true, .count_include_pad_false = true},
       {0, 0}},
      {2, 2, {.kernel = {0, 0}}, {3, 4}},
      {2, 2, {.kernel = {0, 0}}, {1, 1}},
      {1, 2, {.kernel = {0, 0}}, {4, 0}},
  };
  LEAK_BEGIN;
  tc_scope_push();
  tc_generator *gen = tc_generator_create(11);
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    gc_user u = {cases[i]};
    tc_tensor *x = cases[i].spatial == 2 ? tc_randn(SHAPE(2, 2, 5, 6), 4, TC_OPTS(.dtype = TC_F64, .generator = gen))
                                         : tc_randn(SHAPE(2, 3, 9), 3, TC_OPTS(.dtype = TC_F64, .generator = gen));
    tc_tensor *xl = leaf(x);
    const tc_tensor *in[1] = {xl};
    tc_status s = tc_gradcheck(gc_fn, in, 1, &u, 1e-6, 1e-7, 1e-5);
    ck_assert_msg(s == TC_OK, "gradcheck case %zu: %s", i, tc_last_error());
    tc_tensor *ul = leaf(tc_select(x, 0, 1)); /* unbatched */
    in[0] = ul;
    s = tc_gradcheck(gc_fn, in, 1, &u, 1e-6, 1e-7, 1e-5);
    ck_assert_msg(s == TC_OK, "gradcheck case %zu (unbatched): %s", i, tc_last_error());
  }
  tc_generator_destroy(gen);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* ---- thread-count independence ------------------------------------------------------------------------- */
static bool bit_equal(const tc_tensor *a, const tc_tensor *b) {
  tc_tensor *ca = tc_contiguous(a), *cb = tc_contiguous(b);
  bool eq = tc_tensor_numel(a) == tc_tensor_numel(b) &&
            memcmp(tc_tensor_data(ca), tc_tensor_data(cb), (size_t)tc_tensor_numel(a) * tc_tensor_element_size(a)) == 0;
  tc_tensor_release(ca);
  tc_tensor_release(cb);
  return eq;
}

START_TEST(test_pool_threads) {
  static const pcase cases[] = {
      {2, 0, {.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}}, {0, 0}},
      {2, 0, {.kernel = {2, 2}}, {0, 0}},
      {2, 1, {.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}, .ceil_mode = true}, {0, 0}},
      {2, 2, {.kernel = {0, 0}}, {5, 3}},
  };
  LEAK_BEGIN;
  tc_scope_push();
  int nt0 = tc_get_num_threads();
  tc_generator *gen = tc_generator_create(5);
  tc_tensor *x = tc_randn(SHAPE(8, 16, 33, 34), 4, TC_OPTS(.generator = gen));
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    tc_tensor *y[2], *g[2], *gy = NULL;
    for (int t = 0; t < 2; t++) {
      tc_set_num_threads(t == 0 ? 1 : 3);
      tc_tensor *xl = leaf(x);
      y[t] = run_pool(&cases[i], xl, NULL);
      ck_assert_ptr_nonnull(y[t]);
      if (!gy) gy = tc_randn(tc_tensor_shape(y[t]), 4, TC_OPTS(.generator = gen));
      ck_assert_int_eq(tc_backward_ex(y[t], gy, false), TC_OK);
      g[t] = tc_tensor_grad(xl);
    }
    tc_set_num_threads(nt0);
    ck_assert_msg(bit_equal(y[0], y[1]) && bit_equal(g[0], g[1]), "case %zu depends on the thread count", i);
  }
  tc_generator_destroy(gen);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* ---- modules -------------------------------------------------------------------------------------------- */
START_TEST(test_pool_modules) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *x = load("mp2_k3s2p1", "x"), *ey = load("mp2_k3s2p1", "y"), *eidx = load("mp2_k3s2p1", "idx");
  tc_module *mp = tc_max_pool2d_create(TC_POOL(.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}), true);
  ck_assert_ptr_nonnull(mp);
  ck_assert_str_eq(tc_module_type(mp), "MaxPool2d");
  ck_assert_ptr_null(tc_max_pool_last_indices(mp));
  assert_error(TC_ERR_STATE, "has not run a forward yet");
  tc_tensor *y = tc_module_forward(mp, x);
  assert_close(y, ey, 0, 0, "MaxPool2d forward");
  tc_tensor *idx = tc_max_pool_last_indices(mp);
  assert_equal(idx, eidx, "MaxPool2d indices");
  tc_tensor_release(idx);
  tc_tensor_release(tc_module_forward(mp, x)); /* replaces the kept indices */
  /* no parameters or buffers: an empty state_dict */
  tc_state_dict *sd = tc_state_dict_create();
  ck_assert_int_eq(tc_module_state_dict(mp, sd, NULL), TC_OK);
  ck_assert_int_eq(tc_state_dict_size(sd), 0);
  tc_state_dict_destroy(sd);
  tc_module_destroy(mp);

  tc_module *mp1 = tc_max_pool1d_create(TC_POOL(.kernel = {2}), false);
  ck_assert_str_eq(tc_module_type(mp1), "MaxPool1d");
  tc_tensor *x1 = load("mp1_unbatched", "x");
  assert_close(tc_module_forward(mp1, x1), load("mp1_unbatched", "y"), 0, 0, "MaxPool1d");
  ck_assert_ptr_null(tc_max_pool_last_indices(mp1));
  assert_error(TC_ERR_STATE, "without return_indices");
  tc_module_destroy(mp1);

  tc_module *ap = tc_avg_pool2d_create(
      TC_POOL(.kernel = {3, 2}, .stride = {2, 2}, .padding = {1, 1}, .divisor_override = 5));
  ck_assert_str_eq(tc_module_type(ap), "AvgPool2d");
  assert_close(tc_module_forward(ap, load("ap2_divisor", "x")), load("ap2_divisor", "y"), 1e-6, 1e-6, "AvgPool2d");
  ck_assert_ptr_null(tc_max_pool_last_indices(ap));
  assert_error(TC_ERR_ARG, "expected a MaxPool1d or MaxPool2d module");
  tc_module_destroy(ap);

  tc_module *ap1 = tc_avg_pool1d_create(TC_POOL(.kernel = {3}, .stride = {1}));
  assert_close(tc_module_forward(ap1, load("ap1_unbatched", "x")), load("ap1_unbatched", "y"), 1e-6, 1e-6,
               "AvgPool1d");
  tc_module_destroy(ap1);

  tc_module *aa = tc_adaptive_avg_pool2d_create(3, 4);
  ck_assert_str_eq(tc_module_type(aa), "AdaptiveAvgPool2d");
  assert_close(tc_module_forward(aa, load("aap2_nondivide", "x")), load("aap2_nondivide", "y"), 1e-6, 1e-6,
               "AdaptiveAvgPool2d");
  tc_module_destroy(aa);
  tc_module *aa1 = tc_adaptive_avg_pool1d_create(4);
  ck_assert_str_eq(tc_module_type(aa1), "AdaptiveAvgPool1d");
  assert_close(tc_module_forward(aa1, load("aap1_nondivide", "x")), load("aap1_nondivide", "y"), 1e-6, 1e-6,
               "AdaptiveAvgPool1d");
  ck_assert_ptr_null(tc_module_forward_n(aa1, (const tc_tensor *[]){x1, x1}, 2));
  assert_error(TC_ERR_ARG, "expects one input");
  tc_module_destroy(aa1);

  ck_assert_ptr_null(tc_max_pool2d_create(NULL, false));
  assert_error(TC_ERR_ARG, "options are NULL");
  ck_assert_ptr_null(tc_avg_pool2d_create(TC_POOL(.kernel = {0, 2})));
  assert_error(TC_ERR_ARG, "kernel size should be greater than zero");
  ck_assert_ptr_null(tc_adaptive_avg_pool2d_create(-1, 2));
  assert_error(TC_ERR_ARG, "non-negative");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* ---- errors ---------------------------------------------------------------------------------------------- */
START_TEST(test_pool_errors) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *x = tc_randn(SHAPE(2, 3, 6, 6), 4, NULL);
  tc_tensor *idx = (tc_tensor *)(uintptr_t)1;
  ck_assert_ptr_null(tc_max_pool2d(x, TC_POOL(.kernel = {2, 2}, .padding = {2, 2}), &idx));
  ck_assert_ptr_null(idx);
  assert_error(TC_ERR_ARG, "pad should be at most half of effective kernel size, but got pad=2, kernel_size=2");
  ck_assert_ptr_null(tc_avg_pool2d(x, TC_POOL(.kernel = {2, 2}, .padding = {0, 2})));
  assert_error(TC_ERR_ARG, "pad should be at most half");
  ck_assert_ptr_null(tc_max_pool2d(x, TC_POOL(.kernel = {7, 7}), NULL));
  assert_error(TC_ERR_SHAPE, "given input size: (3x6x6). Calculated output size: (3x0x0). Output size is too small");
  ck_assert_ptr_null(tc_max_pool1d(tc_randn(SHAPE(2, 3, 5), 3, NULL), TC_POOL(.kernel = {7}), NULL));
  assert_error(TC_ERR_SHAPE, "given input size: (3x5). Calculated output size: (3x0)");
  ck_assert_ptr_null(tc_max_pool2d(x, TC_POOL(.kernel = {0, 2}), NULL));
  assert_error(TC_ERR_ARG, "kernel size should be greater than zero");
  ck_assert_ptr_null(tc_max_pool2d(x, TC_POOL(.kernel = {2, 2}, .stride = {-1, 1}), NULL));
  assert_error(TC_ERR_ARG, "stride should be greater than zero");
  ck_assert_ptr_null(tc_max_pool2d(x, TC_POOL(.kernel = {2, 2}, .dilation = {-1, 1}), NULL));
  assert_error(TC_ERR_ARG, "dilation should be greater than zero");
  ck_assert_ptr_null(tc_max_pool2d(x, TC_POOL(.kernel = {2, 2}, .padding = {-1, 0}), NULL));
  assert_error(TC_ERR_ARG, "pad must be non-negative");
  ck_assert_ptr_null(tc_avg_pool2d(x, TC_POOL(.kernel = {2, 2}, .dilation = {2, 1})));
  assert_error(TC_ERR_ARG, "dilation is for max pooling only");
  ck_assert_ptr_null(tc_max_pool2d(x, NULL, NULL));
  assert_error(TC_ERR_ARG, "options are NULL");
  tc_clear_error(); /* a NULL argument keeps an earlier message */
  ck_assert_ptr_null(tc_max_pool2d(NULL, TC_POOL(.kernel = {2, 2}), NULL));
  assert_error(TC_ERR_ARG, "x is NULL");
  ck_assert_ptr_null(tc_max_pool2d(tc_randn(SHAPE(6, 6), 2, NULL), TC_POOL(.kernel = {2, 2}), NULL));
  assert_error(TC_ERR_SHAPE, "expected a 3D or 4D (batch mode) tensor");
  ck_assert_ptr_null(tc_max_pool2d(tc_randn(SHAPE(1, 0, 6, 6), 4, NULL), TC_POOL(.kernel = {2, 2}), NULL));
  assert_error(TC_ERR_SHAPE, "but got [1, 0, 6, 6]");
  ck_assert_ptr_null(tc_max_pool1d(x, TC_POOL(.kernel = {2}), NULL));
  assert_error(TC_ERR_SHAPE, "expected a 2D or 3D (batch mode) tensor");
  ck_assert_ptr_null(tc_avg_pool1d(tc_randn(SHAPE(5), 1, NULL), TC_POOL(.kernel = {2})));
  assert_error(TC_ERR_SHAPE, "but got [5]");
  ck_assert_ptr_null(tc_max_pool2d(tc_ones(SHAPE(1, 1, 2, 2), 4, TC_OPTS(.dtype = TC_BOOL)), TC_POOL(.kernel = {2, 2}),
                                   NULL));
  assert_error(TC_ERR_DTYPE, "unsupported dtype bool (expects floating-point or integer inputs)");
  ck_assert_ptr_null(tc_avg_pool2d(tc_ones(SHAPE(1, 1, 2, 2), 4, TC_OPTS(.dtype = TC_I32)), TC_POOL(.kernel = {2, 2})));
  assert_error(TC_ERR_DTYPE, "unsupported dtype int32 (expects floating-point or int64 inputs)");
  ck_assert_ptr_null(tc_adaptive_avg_pool2d(tc_ones(SHAPE(1, 1, 2, 2), 4, TC_OPTS(.dtype = TC_I64)), 1, 1));
  assert_error(TC_ERR_DTYPE, "unsupported dtype int64 (expects floating-point inputs)");
  ck_assert_ptr_null(tc_adaptive_avg_pool2d(x, -1, 2));
  assert_error(TC_ERR_ARG, "elements of output_size must be greater than or equal to 0 but received {-1, 2}");
  ck_assert_ptr_null(tc_adaptive_avg_pool2d(tc_randn(SHAPE(6, 6), 2, NULL), 2, 2));
  assert_error(TC_ERR_SHAPE, "expected a 3D or 4D tensor, but got [6, 6]");
  ck_assert_ptr_null(tc_adaptive_avg_pool2d(tc_randn(SHAPE(1, 2, 0, 5), 4, NULL), 2, 2));
  assert_error(TC_ERR_SHAPE, "with dimension 2 being empty");
  ck_assert_ptr_null(tc_adaptive_avg_pool1d(tc_randn(SHAPE(5), 1, NULL), 2));
  assert_error(TC_ERR_SHAPE, "expected a 2D or 3D tensor");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* ---- allocation failures -------------------------------------------------------------------------------- */
static int pool_step(void *ctx) {
  int kind = *(int *)ctx;
  int rc = 1;
  tc_tensor *x = tc_ones(SHAPE(2, 3, 6, 5), 4, NULL), *y = NULL, *idx = NULL, *g = NULL, *gy = NULL;
  if (x && tc_tensor_requires_grad_(x, true) == TC_OK) {
    if (kind == 0) y = tc_max_pool2d(x, TC_POOL(.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}), &idx);
    else if (kind == 1) y = tc_avg_pool2d(x, TC_POOL(.kernel = {2, 3}, .padding = {1, 1}));
    else y = tc_adaptive_avg_pool2d(x, 4, 3);
    gy = y ? tc_ones_like(y, NULL) : NULL;
    if (gy && tc_backward_ex(y, gy, false) == TC_OK && (g = tc_tensor_grad(x))) rc = 0;
  }
  tc_tensor *all[] = {x, y, idx, g, gy};
  for (int i = 0; i < 5; i++) tc_tensor_release(all[i]);
  return rc;
}

static int pool1d_step(void *ctx) {
  (void)ctx;
  int rc = 1;
  tc_tensor *x = tc_ones(SHAPE(3, 2, 9), 3, TC_OPTS(.dtype = TC_F16)), *y = NULL, *idx = NULL, *g = NULL, *gy = NULL;
  if (x && tc_tensor_requires_grad_(x, true) == TC_OK) {
    y = tc_max_pool1d(x, TC_POOL(.kernel = {3}, .stride = {2}, .padding = {1}), &idx);
    gy = y ? tc_ones_like(y, NULL) : NULL;
    if (gy && tc_backward_ex(y, gy, false) == TC_OK && (g = tc_tensor_grad(x))) rc = 0;
  }
  tc_tensor *all[] = {x, y, idx, g, gy};
  for (int i = 0; i < 5; i++) tc_tensor_release(all[i]);
  return rc;
}

START_TEST(test_pool_alloc_failures) {
  int kinds[] = {0, 1, 2};
  for (int i = 0; i < 3; i++) check_alloc_failures(pool_step, &kinds[i], "pool forward + backward");
  check_alloc_failures(pool1d_step, NULL, "max_pool1d f16 forward + backward");
}
END_TEST

int main(void) {
  Suite *s = suite_create("core_pool");
  TCase *tc = tcase_create("pool");
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, test_pool_fixtures, 0, (int)(sizeof pool_cases / sizeof *pool_cases));
  tcase_add_test(tc, test_pool_integers);
  tcase_add_test(tc, test_pool_empty_batch);
  tcase_add_test(tc, test_pool_gradcheck);
  tcase_add_test(tc, test_pool_threads);
  tcase_add_test(tc, test_pool_modules);
  tcase_add_test(tc, test_pool_errors);
  tcase_add_test(tc, test_pool_alloc_failures);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
