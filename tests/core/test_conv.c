/* conv1d/conv2d and pad, forward and backward, against PyTorch (fixtures from
 * tests/fixtures/gen/gen_conv.py, gradients from torch autograd with a fixed grad_out), finite
 * differences in f64, thread-count independence, error messages, and allocation failures. */
#include <stdlib.h>
#include <string.h>
#include "nn/conv_internal.h"
#include "test_util.h"

#define FAM "conv"

/* ---- helpers ---------------------------------------------------------------------------------- */
static tc_tensor *load_case(const char *c, const char *what) {
  char name[128];
  snprintf(name, sizeof name, "%s_%s", c, what);
  return fx_try_load(FAM, name);
}

static tc_tensor *load_req(const char *c, const char *what) {
  char name[128];
  snprintf(name, sizeof name, "%s_%s", c, what);
  return fx_load(FAM, name);
}

/* bf16 fixtures are stored as f32: cases named *bf16 get their tensors converted back. */
static tc_tensor *as_case_dtype(const char *c, tc_tensor *t) {
  if (!t || !strstr(c, "bf16")) return t;
  tc_tensor *r = tc_to_dtype(t, TC_BF16);
  tc_tensor_release(t);
  return r;
}

/* The same values as t (contiguous, >= 2-D) in a non-contiguous layout: transpose of a
 * contiguous transpose of the last two dims (1-D and smaller: a strided slice of a wider copy). */
static tc_tensor *noncontig(const tc_tensor *t) {
  int64_t nd = tc_tensor_ndim(t);
  ck_assert(nd >= 2);
  tc_tensor *tt = tc_transpose(t, nd - 2, nd - 1);
  tc_tensor *c = tc_contiguous(tt);
  tc_tensor *r = tc_transpose(c, nd - 2, nd - 1);
  tc_tensor_release(tt);
  tc_tensor_release(c);
  ck_assert(!tc_tensor_is_contiguous(r) || tc_tensor_size(t, -1) == 1 || tc_tensor_size(t, -2) == 1);
  return r;
}

static void tol_for(tc_dtype d, double *rtol, double *atol) {
  switch (d) {
    case TC_F64: *rtol = 1e-10, *atol = 1e-10; break;
    case TC_F16: *rtol = 4e-3, *atol = 8e-3; break;
    case TC_BF16: *rtol = 3e-2, *atol = 6e-2; break;
    default: *rtol = 2e-5, *atol = 2e-5;
  }
}

typedef struct {
  tc_conv_opts opts;
  int spatial;
} case_opts;

static case_opts read_opts(const char *c) {
  tc_tensor *o = load_req(c, "opts");
  const int64_t *v = tc_tensor_data(o);
  case_opts r = {.opts = {.stride = {v[0], v[1]},
                          .padding = {v[2], v[3]},
                          .dilation = {v[4], v[5]},
                          .groups = v[6],
                          .padding_kind = (tc_conv_padding)v[7]},
                 .spatial = (int)v[8]};
  tc_tensor_release(o);
  return r;
}

static tc_tensor *conv_fwd(int spatial, const tc_tensor *x, const tc_tensor *w, const tc_tensor *b,
                           const tc_conv_opts *o) {
  return spatial == 2 ? tc_conv2d(x, w, b, o) : tc_conv1d(x, w, b, o);
}

static tc_status conv_bwd(int spatial, const tc_tensor *gy, const tc_tensor *x, const tc_tensor *w,
                          const tc_conv_opts *o, bool nx, bool nw, bool nb, tc_tensor **gx, tc_tensor **gw,
                          tc_tensor **gb) {
  return spatial == 2 ? tc__conv2d_backward(gy, x, w, o, nx, nw, nb, gx, gw, gb)
                      : tc__conv1d_backward(gy, x, w, o, nx, nw, nb, gx, gw, gb);
}

/* Runs one fixture case: forward, backward (all and each gradient alone), and both again on
 * non-contiguous inputs. */
static void run_conv_case(const char *c) {
  case_opts co = read_opts(c);
  tc_tensor *x = as_case_dtype(c, load_req(c, "x")), *w = as_case_dtype(c, load_req(c, "w"));
  tc_tensor *b = as_case_dtype(c, load_case(c, "b")), *gy = as_case_dtype(c, load_req(c, "gy"));
  tc_tensor *ey = as_case_dtype(c, load_req(c, "y")), *egx = as_case_dtype(c, load_req(c, "gx"));
  tc_tensor *egw = as_case_dtype(c, load_req(c, "gw")), *egb = as_case_dtype(c, load_case(c, "gb"));
  double rtol, atol;
  tol_for(tc_tensor_dtype(x), &rtol, &atol);
  char what[160];

  tc_tensor *y = conv_fwd(co.spatial, x, w, b, &co.opts);
  ck_assert_msg(y != NULL, "%s forward: %s", c, tc_last_error());
  ck_assert_int_eq(tc_tensor_dtype(y), tc_tensor_dtype(x));
  snprintf(what, sizeof what, "%s y", c);
  assert_close(y, ey, rtol, atol, what);

  tc_tensor *gx = NULL, *gw = NULL, *gb = NULL;
  ck_assert_msg(conv_bwd(co.spatial, gy, x, w, &co.opts, true, true, b != NULL, &gx, &gw, &gb) == TC_OK,
                "%s backward: %s", c, tc_last_error());
  snprintf(what, sizeof what, "%s grad_x", c);
  assert_close(gx, egx, rtol, atol, what);
  snprintf(what, sizeof what, "%s grad_w", c);
  assert_close(gw, egw, rtol, atol, what);
  if (b) {
    snprintf(what, sizeof what, "%s grad_b", c);
    assert_close(gb, egb, rtol, atol, what);
  } else {
    ck_assert_ptr_null(gb);
  }
  tc_tensor_release(gx);
  tc_tensor_release(gw);
  tc_tensor_release(gb);

  /* Each gradient alone. */
  for (int k = 0; k < 3; k++) {
    gx = gw = gb = (tc_tensor *)(uintptr_t)1; /* must be overwritten with NULL */
    ck_assert(conv_bwd(co.spatial, gy, x, w, &co.opts, k == 0, k == 1, k == 2, &gx, &gw, &gb) == TC_OK);
    ck_assert((gx != NULL) == (k == 0) && (gw != NULL) == (k == 1) && (gb != NULL) == (k == 2));
    tc_tensor *got = k == 0 ? gx : k == 1 ? gw : gb, *want = k == 0 ? egx : k == 1 ? egw : NULL;
    if (k == 2) {
      tc_tensor *s = tc_sum(gy, (int64_t[]){0, 2, 3}, co.spatial == 2 ? 3 : 2, false);
      if (tc_tensor_ndim(gy) == co.spatial + 1) { /* unbatched */
        tc_tensor_release(s);
        s = co.spatial == 2 ? tc_sum(gy, (int64_t[]){1, 2}, 2, false) : tc_sum(gy, (int64_t[]){1}, 1, false);
      }
      want = s;
    }
    snprintf(what, sizeof what, "%s gradient %d alone", c, k);
    assert_close(got, want, rtol, atol * 4, what);
    if (k == 2) tc_tensor_release(want);
    tc_tensor_release(got);
  }

  /* Non-contiguous input, weight and grad_out. */
  tc_tensor *xn = noncontig(x), *wn = noncontig(w), *gyn = noncontig(gy);
  tc_tensor *y2 = conv_fwd(co.spatial, xn, wn, b, &co.opts);
  ck_assert_msg(y2 != NULL, "%s forward (non-contiguous): %s", c, tc_last_error());
  snprintf(what, sizeof what, "%s y (non-contiguous)", c);
  assert_close(y2, ey, rtol, atol, what);
  ck_assert(conv_bwd(co.spatial, gyn, xn, wn, &co.opts, true, true, b != NULL, &gx, &gw, &gb) == TC_OK);
  snprintf(what, sizeof what, "%s grad_x (non-contiguous)", c);
  assert_close(gx, egx, rtol, atol, what);
  snprintf(what, sizeof what, "%s grad_w (non-contiguous)", c);
  assert_close(gw, egw, rtol, atol, what);
  tc_tensor_release(gx);
  tc_tensor_release(gw);
  tc_tensor_release(gb);
  tc_tensor_release(y2);
  tc_tensor_release(xn);
  tc_tensor_release(wn);
  tc_tensor_release(gyn);

  tc_tensor_release(y);
  tc_tensor_release(x);
  tc_tensor_release(w);
  tc_tensor_release(b);
  tc_tensor_release(gy);
  tc_tensor_release(ey);
  tc_tensor_release(egx);
  tc_tensor_release(egw);
  tc_tensor_release(egb);
}

static const char *const conv2d_cases[] = {
    "c2_basic",        "c2_stride_pad",      "c2_dilation",    "c2_groups",          "c2_groups_strided",
    "c2_depthwise",    "c2_depthwise_mult",  "c2_1x1",         "c2_1x1_stride",      "c2_1x1_groups",
    "c2_1x1_pad",      "c2_same_even",       "c2_same_dilation", "c2_valid",         "c2_unbatched",
    "c2_f64",          "c2_cin1",            "c2_cin1_pad_stride", "c2_small_spatial", "c2_kernel_equals_input",
    "c2_f16",          "c2_bf16",
};
static const char *const conv1d_cases[] = {
    "c1_basic", "c1_stride_dilation_groups", "c1_same_even", "c1_depthwise", "c1_unbatched", "c1_1x1", "c1_f64",
    "c1_small_spatial",
};

START_TEST(test_conv2d_fixtures) {
  LEAK_BEGIN;
  run_conv_case(conv2d_cases[_i]);
  int64_t saved = tc__conv_tile_bytes, saved_wino = tc__conv_winograd_min_channels;
  tc__conv_tile_bytes = 1; /* every output row its own im2col tile */
  run_conv_case(conv2d_cases[_i]);
  tc__conv_tile_bytes = saved;
  tc__conv_winograd_min_channels = 1; /* every eligible 3x3 stride-1 case through Winograd */
  run_conv_case(conv2d_cases[_i]);
  tc__conv_winograd_min_channels = saved_wino;
  LEAK_END;
}
END_TEST

START_TEST(test_conv1d_fixtures) {
  LEAK_BEGIN;
  run_conv_case(conv1d_cases[_i]);
  LEAK_END;
}
END_TEST

START_TEST(test_conv_defaults) {
  LEAK_BEGIN;
  /* NULL options are PyTorch's defaults; the unbatched result matches the batched one. */
  tc_tensor *x = load_req("c2_valid", "x"), *w = load_req("c2_valid", "w"), *b = load_req("c2_valid", "b");
  tc_tensor *ey = load_req("c2_valid", "y");
  tc_tensor *y = tc_conv2d(x, w, b, NULL);
  assert_close(y, ey, 2e-5, 2e-5, "NULL opts");
  tc_tensor *x0 = tc_select(x, 0, 1), *y0 = tc_conv2d(x0, w, b, TC_CONV(.padding_kind = TC_CONV_VALID));
  tc_tensor *e0 = tc_select(ey, 0, 1);
  assert_shape(y0, SHAPE(2, 4, 3), 3);
  assert_close(y0, e0, 2e-5, 2e-5, "unbatched slice");
  tc_tensor *x1 = tc_select(x0, 1, 0), *w1 = tc_select(w, 2, 0);
  tc_tensor *y1 = tc_conv1d(x1, w1, NULL, NULL); /* (3, 5) * (2, 3, 3) -> (2, 3) */
  ck_assert_ptr_nonnull(y1);
  assert_shape(y1, SHAPE(2, 3), 2);
  tc_tensor_release(y1);
  tc_tensor_release(x1);
  tc_tensor_release(w1);
  tc_tensor_release(e0);
  tc_tensor_release(y0);
  tc_tensor_release(x0);
  tc_tensor_release(y);
  tc_tensor_release(x);
  tc_tensor_release(w);
  tc_tensor_release(b);
  tc_tensor_release(ey);
  LEAK_END;
}
END_TEST

/* ---- finite differences in f64 ------------------------------------------------------------------
 * loss = sum(conv(x, w, b) * gy); d loss / d p by central differences for every element of x, w
 * and b, against the backward kernels. */
typedef struct {
  int spatial;
  int64_t xs[4], ws[4];
  bool bias;
  tc_conv_opts o;
} fd_case;

static double fd_loss(const fd_case *k, const tc_tensor *x, const tc_tensor *w, const tc_tensor *b,
                      const tc_tensor *gy) {
  tc_tensor *y = conv_fwd(k->spatial, x, w, b, &k->o);
  ck_assert_msg(y != NULL, "%s", tc_last_error());
  const double *yd = tc_tensor_data(y), *gd = tc_tensor_data(gy);
  double s = 0;
  for (int64_t i = 0; i < tc_tensor_numel(y); i++) s += yd[i] * gd[i];
  tc_tensor_release(y);
  return s;
}

static void fd_check(const fd_case *k, tc_tensor *p, const tc_tensor *grad, const tc_tensor *x, const tc_tensor *w,
                     const tc_tensor *b, const tc_tensor *gy, const char *what) {
  double *pd = tc_tensor_data(p);
  const double *gd = tc_tensor_data(grad);
  const double eps = 1e-6;
  for (int64_t i = 0; i < tc_tensor_numel(p); i++) {
    double save = pd[i];
    pd[i] = save + eps;
    double lp = fd_loss(k, x, w, b, gy);
    pd[i] = save - eps;
    double lm = fd_loss(k, x, w, b, gy);
    pd[i] = save;
    double num = (lp - lm) / (2 * eps);
    ck_assert_msg(fabs(num - gd[i]) <= 1e-6 + 1e-6 * fabs(num), "%s[%lld]: numeric %.10g, backward %.10g", what,
                  (long long)i, num, gd[i]);
  }
}

START_TEST(test_conv_finite_differences) {
  static const fd_case cases[] = {
      /* im2col path: groups, stride, dilation, padding */
      {2, {2, 4, 6, 5}, {4, 2, 3, 2}, true, {.stride = {2, 1}, .padding = {1, 2}, .dilation = {1, 2}, .groups = 2}},
      /* asymmetric 'same' */
      {2, {1, 2, 5, 5}, {3, 2, 2, 4}, false, {.padding_kind = TC_CONV_SAME}},
      /* direct path: depthwise with a multiplier */
      {2, {2, 3, 5, 6}, {6, 1, 3, 3}, true, {.stride = {2, 1}, .padding = {1, 1}, .groups = 3}},
      /* depthwise, stride 1: padding wider than the dilated kernel; 'same' with an even kernel */
      {2, {1, 2, 4, 5}, {2, 1, 3, 2}, true, {.padding = {5, 1}, .dilation = {2, 1}, .groups = 2}},
      {2, {2, 2, 5, 6}, {4, 1, 4, 3}, false, {.dilation = {1, 2}, .groups = 2, .padding_kind = TC_CONV_SAME}},
      /* 1x1 */
      {2, {2, 3, 3, 4}, {2, 3, 1, 1}, true, {.groups = 1}},
      /* small spatial size: several samples per GEMM and several parts */
      {2, {40, 2, 3, 3}, {2, 2, 2, 2}, true, {.padding = {1, 0}}},
      /* conv1d */
      {1, {2, 4, 9, 0}, {2, 2, 3, 0}, true, {.stride = {2}, .padding = {2}, .dilation = {2}, .groups = 2}},
      /* 3x3 stride 1 (Winograd when forced below), asymmetric padding, groups, odd sizes */
      {2, {2, 4, 5, 6}, {4, 2, 3, 3}, true, {.padding = {1, 2}, .groups = 2}},
      {2, {1, 3, 4, 3}, {2, 3, 3, 3}, false, {.padding_kind = TC_CONV_SAME}},
  };
  LEAK_BEGIN;
  tc_generator *gen = tc_generator_create(7);
  int64_t saved_wino = tc__conv_winograd_min_channels;
  for (size_t cj = 0; cj < 2 * (sizeof cases / sizeof *cases); cj++) {
    size_t ci = cj % (sizeof cases / sizeof *cases);
    tc__conv_winograd_min_channels = cj < sizeof cases / sizeof *cases ? saved_wino : 1; /* second round: Winograd */
    const fd_case *k = &cases[ci];
    int nd = k->spatial + 2;
    tc_tensor *x = tc_randn(k->xs, nd, TC_OPTS(.dtype = TC_F64, .generator = gen));
    tc_tensor *w = tc_randn(k->ws, nd, TC_OPTS(.dtype = TC_F64, .generator = gen));
    tc_tensor *b = k->bias ? tc_randn(SHAPE(k->ws[0]), 1, TC_OPTS(.dtype = TC_F64, .generator = gen)) : NULL;
    tc_tensor *y = conv_fwd(k->spatial, x, w, b, &k->o);
    ck_assert_msg(y != NULL, "case %zu: %s", ci, tc_last_error());
    tc_tensor *gy = tc_randn(tc_tensor_shape(y), tc_tensor_ndim(y), TC_OPTS(.dtype = TC_F64, .generator = gen));
    tc_tensor *gx, *gw, *gb;
    ck_assert(conv_bwd(k->spatial, gy, x, w, &k->o, true, true, k->bias, &gx, &gw, &gb) == TC_OK);
    char what[64];
    snprintf(what, sizeof what, "case %zu grad_x", ci);
    fd_check(k, x, gx, x, w, b, gy, what);
    snprintf(what, sizeof what, "case %zu grad_w", ci);
    fd_check(k, w, gw, x, w, b, gy, what);
    if (b) {
      snprintf(what, sizeof what, "case %zu grad_b", ci);
      fd_check(k, b, gb, x, w, b, gy, what);
    }
    tc_tensor_release(gx);
    tc_tensor_release(gw);
    tc_tensor_release(gb);
    tc_tensor_release(gy);
    tc_tensor_release(y);
    tc_tensor_release(x);
    tc_tensor_release(w);
    tc_tensor_release(b);
  }
  tc__conv_winograd_min_channels = saved_wino;
  tc_generator_destroy(gen);
  LEAK_END;
}
END_TEST

/* ---- larger shapes: batch splitting, thread-count independence --------------------------------- */
static bool bit_equal(const tc_tensor *a, const tc_tensor *b) {
  return tc_tensor_numel(a) == tc_tensor_numel(b) &&
         memcmp(tc_tensor_data(a), tc_tensor_data(b), (size_t)tc_tensor_numel(a) * tc_tensor_element_size(a)) == 0;
}

START_TEST(test_conv_threads_and_batch_split) {
  static const struct {
    int64_t xs[4], ws[4];
    tc_conv_opts o;
  } cases[] = {
      {{33, 8, 12, 12}, {16, 8, 3, 3}, {.padding = {1, 1}}},                   /* im2col, one sample per GEMM */
      {{37, 6, 5, 5}, {8, 3, 3, 3}, {.padding = {1, 1}, .groups = 2}},         /* several samples per GEMM */
      {{19, 8, 6, 6}, {8, 1, 3, 3}, {.stride = {2, 2}, .groups = 8}},          /* depthwise */
      {{21, 16, 7, 7}, {12, 16, 1, 1}, {.groups = 1}},                                   /* 1x1 */
      {{3, 64, 20, 20}, {8, 64, 5, 5}, {.padding = {2, 2}}},                   /* row tiles, N < threads */
      {{9, 16, 24, 23}, {16, 16, 3, 3}, {.padding = {1, 1}}},                  /* Winograd, grad_w too */
      {{5, 32, 9, 10}, {32, 16, 3, 3}, {.padding = {0, 2}, .groups = 2}},     /* Winograd, several units */
      {{33, 16, 2, 2}, {24, 16, 3, 3}, {.padding = {1, 1}}},                   /* 2x2 planes, 16 per GEMM */
      {{1, 12, 3, 3}, {9, 4, 3, 3}, {.groups = 3}},                            /* one output per group: gemv */
      {{40, 32, 8, 8}, {32, 32, 3, 3}, {.padding = {1, 1}}},                   /* small-plane Winograd */
  };
  LEAK_BEGIN;
  int nt0 = tc_get_num_threads();
  tc_generator *gen = tc_generator_create(3);
  for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
    tc_tensor *x = tc_randn(cases[ci].xs, 4, TC_OPTS(.generator = gen));
    tc_tensor *w = tc_randn(cases[ci].ws, 4, TC_OPTS(.generator = gen));
    tc_tensor *b = tc_randn(SHAPE(cases[ci].ws[0]), 1, TC_OPTS(.generator = gen));
    const tc_conv_opts *o = &cases[ci].o;
    tc_tensor *y[2], *gx[2], *gw[2], *gb[2], *gy = NULL;
    for (int t = 0; t < 2; t++) {
      tc_set_num_threads(t == 0 ? 1 : 3);
      y[t] = tc_conv2d(x, w, b, o);
      ck_assert_msg(y[t] != NULL, "%s", tc_last_error());
      if (!gy) gy = tc_randn(tc_tensor_shape(y[t]), 4, TC_OPTS(.generator = gen));
      ck_assert(tc__conv2d_backward(gy, x, w, o, true, true, true, &gx[t], &gw[t], &gb[t]) == TC_OK);
    }
    tc_set_num_threads(nt0);
    ck_assert_msg(bit_equal(y[0], y[1]) && bit_equal(gx[0], gx[1]) && bit_equal(gw[0], gw[1]) &&
                      bit_equal(gb[0], gb[1]),
                  "case %zu: results depend on the thread count", ci);
    /* Against per-sample convolutions in f64 (grad_w and grad_b summed over the samples). */
    tc_tensor *wd = tc_to_dtype(w, TC_F64), *bd = tc_to_dtype(b, TC_F64);
    tc_tensor *sw = tc_zeros_like(wd, NULL), *sb = tc_zeros_like(bd, NULL);
    for (int64_t n = 0; n < cases[ci].xs[0]; n++) {
      tc_tensor *xn = tc_select(x, 0, n), *xd = tc_to_dtype(xn, TC_F64);
      tc_tensor *gyn = tc_select(gy, 0, n), *gyd = tc_to_dtype(gyn, TC_F64);
      tc_tensor *yn = tc_conv2d(xd, wd, bd, o);
      tc_tensor *yr = tc_select(y[0], 0, n);
      assert_close(yn, yr, 1e-4, 1e-4, "per-sample forward");
      tc_tensor *gxn, *gwn, *gbn;
      ck_assert(tc__conv2d_backward(gyd, xd, wd, o, true, true, true, &gxn, &gwn, &gbn) == TC_OK);
      tc_tensor *gxr = tc_select(gx[0], 0, n);
      assert_close(gxn, gxr, 1e-4, 1e-4, "per-sample grad_x");
      ck_assert_int_eq(tc_add_inplace(sw, gwn, 1.0), TC_OK);
      ck_assert_int_eq(tc_add_inplace(sb, gbn, 1.0), TC_OK);
      tc_tensor *list[] = {xn, xd, gyn, gyd, yn, yr, gxn, gwn, gbn, gxr};
      for (size_t i = 0; i < sizeof list / sizeof *list; i++) tc_tensor_release(list[i]);
    }
    assert_close(gw[0], sw, 1e-4, 1e-3, "grad_w summed over samples");
    assert_close(gb[0], sb, 1e-4, 1e-3, "grad_b summed over samples");
    tc_tensor *list[] = {wd, bd, sw, sb, x, w, b, gy, y[0], y[1], gx[0], gx[1], gw[0], gw[1], gb[0], gb[1]};
    for (size_t i = 0; i < sizeof list / sizeof *list; i++) tc_tensor_release(list[i]);
  }
  tc_generator_destroy(gen);
  LEAK_END;
}
END_TEST

/* ---- kernel taps that only ever read padding ------------------------------------------------------
 * Small planes whose kernels reach into the padding from every output position are computed with
 * the kernel cropped to its live taps (conv.c): checked, with other small padded planes, against the
 * same convolution of an explicitly zero-padded input with no padding (every tap live, nothing
 * cropped). */
START_TEST(test_conv_dead_taps) {
  static const struct {
    int64_t xs[4], ws[4];
    tc_conv_opts o;
  } cases[] = {
      {{5, 8, 1, 1}, {6, 8, 3, 3}, {.padding = {1, 1}}},                     /* centre tap only: a 1x1 conv */
      {{4, 6, 2, 2}, {5, 6, 3, 3}, {.stride = {2, 2}, .padding = {1, 1}}},   /* 2x2 -> 1x1, four taps */
      {{3, 4, 1, 6}, {5, 4, 3, 3}, {.padding = {1, 1}}},                     /* rows only */
      {{3, 4, 3, 3}, {4, 4, 5, 5}, {.stride = {3, 3}, .padding = {2, 2}}},   /* 5x5 -> 3x3 window */
      {{2, 6, 2, 1}, {4, 3, 3, 5}, {.padding = {1, 2}, .groups = 2}},        /* groups, columns */
      {{2, 4, 1, 1}, {4, 1, 3, 3}, {.padding = {1, 1}, .groups = 4}},        /* depthwise */
      {{2, 3, 2, 2}, {4, 3, 3, 3}, {.padding = {2, 2}, .dilation = {2, 2}}}, /* dilation */
      /* small padded planes (nothing to crop, or only some rows) */
      {{5, 8, 2, 2}, {6, 8, 3, 3}, {.padding = {1, 1}}},
      {{3, 4, 4, 4}, {5, 4, 3, 3}, {.padding = {1, 1}}},
      {{3, 4, 4, 4}, {5, 4, 3, 3}, {.stride = {2, 2}, .padding = {1, 1}}},
      {{2, 3, 3, 2}, {4, 3, 3, 3}, {.padding = {1, 2}}},
      {{2, 3, 3, 3}, {4, 3, 2, 2}, {.padding = {1, 1}, .dilation = {2, 1}}},
  };
  LEAK_BEGIN;
  tc_generator *gen = tc_generator_create(11);
  for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
    const tc_conv_opts *o = &cases[ci].o;
    tc_tensor *x = tc_randn(cases[ci].xs, 4, TC_OPTS(.dtype = TC_F64, .generator = gen));
    tc_tensor *w = tc_randn(cases[ci].ws, 4, TC_OPTS(.dtype = TC_F64, .generator = gen));
    tc_tensor *y = tc_conv2d(x, w, NULL, o);
    ck_assert_msg(y != NULL, "%s", tc_last_error());
    int64_t ph = o->padding[0], pw = o->padding[1];
    tc_tensor *xp = tc_pad(x, (int64_t[]){pw, pw, ph, ph}, 4, TC_PAD_CONSTANT, 0.0);
    tc_conv_opts np = *o;
    np.padding[0] = np.padding[1] = 0;
    tc_tensor *yr = tc_conv2d(xp, w, NULL, &np);
    ck_assert_msg(yr != NULL, "%s", tc_last_error());
    assert_close(y, yr, 1e-12, 1e-12, "forward");
    tc_tensor *gy = tc_randn(tc_tensor_shape(y), 4, TC_OPTS(.dtype = TC_F64, .generator = gen));
    tc_tensor *gx, *gw, *gb, *gxp, *gwr, *gbr;
    ck_assert(tc__conv2d_backward(gy, x, w, o, true, true, true, &gx, &gw, &gb) == TC_OK);
    ck_assert(tc__conv2d_backward(gy, xp, w, &np, true, true, true, &gxp, &gwr, &gbr) == TC_OK);
    tc_tensor *a = tc_narrow(gxp, 2, ph, cases[ci].xs[2]), *gxr = tc_narrow(a, 3, pw, cases[ci].xs[3]);
    assert_close(gx, gxr, 1e-12, 1e-12, "grad_x");
    assert_close(gw, gwr, 1e-12, 1e-12, "grad_w (zero outside the live taps)");
    assert_close(gb, gbr, 1e-12, 1e-12, "grad_b");
    tc_tensor *list[] = {x, w, y, xp, yr, gy, gx, gw, gb, gxp, gwr, gbr, a, gxr};
    for (size_t i = 0; i < sizeof list / sizeof *list; i++) tc_tensor_release(list[i]);
  }
  tc_generator_destroy(gen);
  LEAK_END;
}
END_TEST

/* Planes no larger than the kernel (2x2 under 3x3, 1-D length 3 under 3 taps) run as one dense
 * product (conv_dense.c); through autograd, with a bias and in float32, against the same
 * convolution of an explicitly padded input (a plane too big for that path). */
START_TEST(test_conv_dense_planes) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_generator *gen = tc_generator_create(12);
  for (int k = 0; k < 2; k++) {
    bool one_d = k == 1;
    const int64_t *xs = one_d ? SHAPE(3, 5, 3) : SHAPE(4, 16, 2, 2), *ws = one_d ? SHAPE(4, 5, 3) : SHAPE(8, 16, 3, 3);
    int nd = one_d ? 3 : 4;
    tc_tensor *x = tc_randn(xs, nd, TC_OPTS(.generator = gen)), *w = tc_randn(ws, nd, TC_OPTS(.generator = gen));
    tc_tensor *b = tc_randn(SHAPE(ws[0]), 1, TC_OPTS(.generator = gen));
    tc_tensor *in[2][3];
    tc_tensor *y[2];
    for (int r = 0; r < 2; r++) {
      for (int j = 0; j < 3; j++) {
        in[r][j] = tc_clone(j == 0 ? x : j == 1 ? w : b);
        tc_tensor_requires_grad_(in[r][j], true);
      }
      tc_tensor *xr = r ? tc_pad(in[r][0], one_d ? SHAPE(1, 1) : SHAPE(1, 1, 1, 1), one_d ? 2 : 4, TC_PAD_CONSTANT, 0.0)
                        : in[r][0];
      const tc_conv_opts *o = r ? NULL : one_d ? TC_CONV(.padding = {1}) : TC_CONV(.padding = {1, 1});
      y[r] = one_d ? tc_conv1d(xr, in[r][1], in[r][2], o) : tc_conv2d(xr, in[r][1], in[r][2], o);
      ck_assert_msg(y[r] != NULL, "%s", tc_last_error());
      tc_generator *gg = tc_generator_create(5); /* the same grad_out for both */
      tc_tensor *gy = tc_randn(tc_tensor_shape(y[r]), nd, TC_OPTS(.generator = gg));
      tc_generator_destroy(gg);
      ck_assert_int_eq(tc_backward_ex(y[r], gy, false), TC_OK);
    }
    assert_close(y[0], y[1], 1e-5, 1e-5, one_d ? "dense conv1d" : "dense conv2d");
    for (int j = 0; j < 3; j++) assert_close(tc_tensor_grad(in[0][j]), tc_tensor_grad(in[1][j]), 1e-4, 1e-5, "dense grads");
  }
  tc_generator_destroy(gen);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* Winograd on small planes (whole planes of several samples per unit, channels last) against the
 * im2col path: a batch that leaves a partial last unit, odd outputs (edge tiles), groups, padding
 * 0 and 2, float32 and float64; the outputs and the gradients of x, w and b. */
START_TEST(test_conv_winograd_small_planes) {
  LEAK_BEGIN;
  tc_scope_push();
  struct {
    int64_t N, C, OC, H, W, pad, groups;
    tc_dtype dt;
  } cases[] = {{10, 256, 256, 4, 4, 1, 1, TC_F32}, {7, 6, 4, 5, 5, 1, 2, TC_F64}, {3, 4, 4, 6, 7, 0, 1, TC_F64},
               {3, 4, 6, 6, 7, 2, 1, TC_F64}, {5, 8, 8, 3, 3, 1, 1, TC_F32}};
  int64_t saved_wino = tc__conv_winograd_min_channels;
  tc_generator *gen = tc_generator_create(31);
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    const int64_t G = cases[k].groups;
    tc_options opts = {.dtype = cases[k].dt, .generator = gen};
    tc_tensor *x = tc_randn(SHAPE(cases[k].N, cases[k].C, cases[k].H, cases[k].W), 4, &opts);
    tc_tensor *w = tc_randn(SHAPE(cases[k].OC, cases[k].C / G, 3, 3), 4, &opts);
    tc_tensor *b = tc_randn(SHAPE(cases[k].OC), 1, &opts);
    tc_conv_opts o = {.padding = {cases[k].pad, cases[k].pad}, .groups = G};
    tc_tensor *in[2][3], *y[2];
    for (int r = 0; r < 2; r++) {
      tc__conv_winograd_min_channels = r ? (int64_t)1 << 40 : 1; /* r = 0: Winograd, r = 1: im2col */
      for (int j = 0; j < 3; j++) {
        in[r][j] = tc_clone(j == 0 ? x : j == 1 ? w : b);
        tc_tensor_requires_grad_(in[r][j], true);
      }
      y[r] = tc_conv2d(in[r][0], in[r][1], in[r][2], &o);
      ck_assert_msg(y[r] != NULL, "%s", tc_last_error());
      tc_generator *gg = tc_generator_create(6);
      tc_tensor *gy = tc_randn(tc_tensor_shape(y[r]), 4, TC_OPTS(.dtype = cases[k].dt, .generator = gg));
      tc_generator_destroy(gg);
      ck_assert_int_eq(tc_backward_ex(y[r], gy, false), TC_OK);
    }
    double tol = cases[k].dt == TC_F64 ? 1e-10 : 2e-4;
    char what[64];
    snprintf(what, sizeof what, "small-plane Winograd case %zu", k);
    assert_close(y[0], y[1], tol, tol, what);
    for (int j = 0; j < 3; j++) assert_close(tc_tensor_grad(in[0][j]), tc_tensor_grad(in[1][j]), tol, tol, what);
  }
  tc__conv_winograd_min_channels = saved_wino;
  tc_generator_destroy(gen);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_conv_empty) {
  LEAK_BEGIN;
  /* An empty batch gives an empty output and zero weight/bias gradients. */
  tc_tensor *x = tc_zeros(SHAPE(0, 3, 5, 5), 4, NULL), *w = tc_ones(SHAPE(4, 3, 3, 3), 4, NULL);
  tc_tensor *b = tc_ones(SHAPE(4), 1, NULL);
  tc_tensor *y = tc_conv2d(x, w, b, TC_CONV(.padding = {1, 1}));
  ck_assert_ptr_nonnull(y);
  assert_shape(y, SHAPE(0, 4, 5, 5), 4);
  tc_tensor *gx, *gw, *gb;
  ck_assert(tc__conv2d_backward(y, x, w, TC_CONV(.padding = {1, 1}), true, true, true, &gx, &gw, &gb) == TC_OK);
  assert_shape(gx, SHAPE(0, 3, 5, 5), 4);
  double s;
  tc_tensor *t = tc_sum(gw, NULL, 0, false);
  tc_item_double(t, &s);
  ck_assert(s == 0.0);
  tc_tensor_release(t);
  t = tc_sum(gb, NULL, 0, false);
  tc_item_double(t, &s);
  ck_assert(s == 0.0);
  tc_tensor *list[] = {t, x, w, b, y, gx, gw, gb};
  for (size_t i = 0; i < sizeof list / sizeof *list; i++) tc_tensor_release(list[i]);
  /* No input channels: the output is the bias; grad_b still sums grad_out. */
  tc_tensor *x0 = tc_zeros(SHAPE(2, 0, 5, 5), 4, NULL), *w0 = tc_zeros(SHAPE(3, 0, 3, 3), 4, NULL);
  tc_tensor *b0 = T_F32(SHAPE(3), 1, 1, 2, 3);
  tc_tensor *y0 = tc_conv2d(x0, w0, b0, NULL);
  ck_assert_msg(y0 != NULL, "%s", tc_last_error());
  assert_shape(y0, SHAPE(2, 3, 3, 3), 4);
  const float *yd = tc_tensor_data(y0);
  ck_assert(yd[0] == 1.0f && yd[9] == 2.0f && yd[53] == 3.0f);
  tc_tensor *g0 = tc_ones(SHAPE(2, 3, 3, 3), 4, NULL);
  ck_assert(tc__conv2d_backward(g0, x0, w0, NULL, true, true, true, &gx, &gw, &gb) == TC_OK);
  assert_shape(gx, SHAPE(2, 0, 5, 5), 4);
  assert_shape(gw, SHAPE(3, 0, 3, 3), 4);
  ck_assert(((const float *)tc_tensor_data(gb))[2] == 18.0f);
  tc_tensor *list0[] = {x0, w0, b0, y0, g0, gx, gw, gb};
  for (size_t i = 0; i < sizeof list0 / sizeof *list0; i++) tc_tensor_release(list0[i]);
  LEAK_END;
}
END_TEST

/* ---- pad ---------------------------------------------------------------------------------------- */
static const char *const pad_cases[] = {
    "p_const_last",   "p_const_3d",       "p_const_all_dims", "p_const_crop",      "p_reflect_1d",
    "p_reflect_2d",   "p_reflect_unbatched", "p_reflect_neg", "p_reflect_3d",      "p_replicate_1d",
    "p_replicate_2d", "p_replicate_big",  "p_replicate_neg",  "p_circular_1d",     "p_circular_2d",
    "p_circular_neg", "p_circular_neg_2d", "p_circular_full",
};

START_TEST(test_pad_fixtures) {
  LEAK_BEGIN;
  const char *c = pad_cases[_i];
  tc_tensor *x = load_req(c, "x"), *pt = load_req(c, "pad"), *mt = load_req(c, "mode"), *vt = load_req(c, "value");
  tc_tensor *ey = load_req(c, "y"), *gy = load_req(c, "gy"), *egx = load_req(c, "gx");
  const int64_t *pad = tc_tensor_data(pt);
  int64_t npad = tc_tensor_numel(pt);
  tc_pad_mode mode = (tc_pad_mode)((const int64_t *)tc_tensor_data(mt))[0];
  double value = ((const double *)tc_tensor_data(vt))[0];
  tc_tensor *y = tc_pad(x, pad, npad, mode, value);
  ck_assert_msg(y != NULL, "%s: %s", c, tc_last_error());
  assert_equal(y, ey, c);
  tc_tensor *xn = noncontig(x), *y2 = tc_pad(xn, pad, npad, mode, value);
  assert_equal(y2, ey, c);
  tc_tensor *gyd = tc_to_dtype(gy, tc_tensor_dtype(x));
  tc_tensor *gx = tc__pad_backward(gyd, tc_tensor_shape(x), tc_tensor_ndim(x), pad, npad, mode);
  ck_assert_msg(gx != NULL, "%s backward: %s", c, tc_last_error());
  double rtol, atol;
  tol_for(tc_tensor_dtype(x), &rtol, &atol);
  assert_close(gx, egx, rtol, atol, c);
  tc_tensor *gyn = noncontig(gyd), *gx2 = tc__pad_backward(gyn, tc_tensor_shape(x), tc_tensor_ndim(x), pad, npad, mode);
  assert_close(gx2, egx, rtol, atol, c);
  tc_tensor *list[] = {x, pt, mt, vt, ey, gy, egx, y, xn, y2, gyd, gx, gyn, gx2};
  for (size_t i = 0; i < sizeof list / sizeof *list; i++) tc_tensor_release(list[i]);
  LEAK_END;
}
END_TEST

START_TEST(test_pad_dtypes_and_edges) {
  LEAK_BEGIN;
  /* int64 constant fill truncates the value, as PyTorch */
  tc_tensor *xi = T_I64(SHAPE(3), 1, 0, 1, 2);
  tc_tensor *yi = tc_pad(xi, (int64_t[]){1, 1}, 2, TC_PAD_CONSTANT, 2.7);
  tc_tensor *ei = T_I64(SHAPE(5), 1, 2, 0, 1, 2, 2);
  assert_equal(yi, ei, "int64 constant pad");
  /* reflect on integers */
  tc_tensor *xr = T_I64(SHAPE(2, 3), 2, 0, 1, 2, 3, 4, 5);
  tc_tensor *yr = tc_pad(xr, (int64_t[]){1, 1}, 2, TC_PAD_REFLECT, 0);
  tc_tensor *er = T_I64(SHAPE(2, 5), 2, 1, 0, 1, 2, 1, 4, 3, 4, 5, 4);
  assert_equal(yr, er, "int64 reflect pad");
  /* bool constant */
  tc_tensor *xb = tc_ones(SHAPE(2), 1, TC_OPTS(.dtype = TC_BOOL));
  tc_tensor *yb = tc_pad(xb, (int64_t[]){1, 0}, 2, TC_PAD_CONSTANT, 0);
  ck_assert_ptr_nonnull(yb);
  const bool *bd = tc_tensor_data(yb);
  ck_assert(!bd[0] && bd[1] && bd[2]);
  /* no padding: a copy; cropping to nothing */
  tc_tensor *xf = T_F32(SHAPE(2, 2), 2, 1, 2, 3, 4);
  tc_tensor *c0 = tc_pad(xf, NULL, 0, TC_PAD_CONSTANT, 0);
  assert_equal(c0, xf, "empty pad");
  ck_assert(!tc_tensor_shares_storage(c0, xf));
  tc_tensor *c1 = tc_pad(xf, (int64_t[]){-1, -1}, 2, TC_PAD_CONSTANT, 0);
  assert_shape(c1, SHAPE(2, 0), 2);
  tc_tensor *c2 = tc_pad(xf, (int64_t[]){3, -3}, 2, TC_PAD_CONSTANT, 9); /* all fill */
  tc_tensor *e2 = T_F32(SHAPE(2, 2), 2, 9, 9, 9, 9);
  assert_equal(c2, e2, "crop past the input");
  tc_tensor *c3 = tc_pad(xf, (int64_t[]){-1, -1}, 2, TC_PAD_CIRCULAR, 0); /* circular may empty a dim */
  assert_shape(c3, SHAPE(2, 0), 2);
  /* f16 reflect backward */
  tc_tensor *h = tc_to_dtype(xf, TC_F16);
  tc_tensor *gh = tc_ones(SHAPE(2, 4), 2, TC_OPTS(.dtype = TC_F16));
  tc_tensor *gxh = tc__pad_backward(gh, tc_tensor_shape(h), 2, (int64_t[]){1, 1}, 2, TC_PAD_REFLECT);
  ck_assert_ptr_nonnull(gxh);
  ck_assert_int_eq(tc_tensor_dtype(gxh), TC_F16);
  tc_tensor *gf = tc_to_dtype(gxh, TC_F32), *ef = T_F32(SHAPE(2, 2), 2, 2, 2, 2, 2);
  assert_equal(gf, ef, "f16 reflect backward");
  tc_tensor *list[] = {xi, yi, ei, xr, yr, er, xb, yb, xf, c0, c1, c2, e2, c3, h, gh, gxh, gf, ef};
  for (size_t i = 0; i < sizeof list / sizeof *list; i++) tc_tensor_release(list[i]);
  LEAK_END;
}
END_TEST

START_TEST(test_pad_finite_differences) {
  static const struct {
    int64_t xs[4];
    int nd;
    int64_t pad[6];
    int npad;
    tc_pad_mode mode;
  } cases[] = {
      {{2, 3, 4}, 3, {2, 3}, 2, TC_PAD_REFLECT},
      {{1, 2, 3, 4}, 4, {1, 2, 2, 1}, 4, TC_PAD_REPLICATE},
      {{2, 3, 4}, 3, {-1, 3}, 2, TC_PAD_CIRCULAR},
      {{2, 3, 3}, 3, {1, -1, 2, 0}, 4, TC_PAD_CONSTANT},
  };
  LEAK_BEGIN;
  tc_generator *gen = tc_generator_create(11);
  for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
    tc_tensor *x = tc_randn(cases[ci].xs, cases[ci].nd, TC_OPTS(.dtype = TC_F64, .generator = gen));
    tc_tensor *y = tc_pad(x, cases[ci].pad, cases[ci].npad, cases[ci].mode, 0.5);
    ck_assert_ptr_nonnull(y);
    tc_tensor *gy = tc_randn(tc_tensor_shape(y), tc_tensor_ndim(y), TC_OPTS(.dtype = TC_F64, .generator = gen));
    tc_tensor *gx = tc__pad_backward(gy, cases[ci].xs, cases[ci].nd, cases[ci].pad, cases[ci].npad, cases[ci].mode);
    ck_assert_ptr_nonnull(gx);
    double *xd = tc_tensor_data(x);
    const double *g = tc_tensor_data(gx), *gyd = tc_tensor_data(gy);
    for (int64_t i = 0; i < tc_tensor_numel(x); i++) {
      double l[2];
      for (int s = 0; s < 2; s++) {
        double save = xd[i];
        xd[i] = save + (s ? -1e-6 : 1e-6);
        tc_tensor *yp = tc_pad(x, cases[ci].pad, cases[ci].npad, cases[ci].mode, 0.5);
        const double *yd = tc_tensor_data(yp);
        l[s] = 0;
        for (int64_t j = 0; j < tc_tensor_numel(yp); j++) l[s] += yd[j] * gyd[j];
        tc_tensor_release(yp);
        xd[i] = save;
      }
      double num = (l[0] - l[1]) / 2e-6;
      ck_assert_msg(fabs(num - g[i]) < 1e-6 * (1 + fabs(num)), "pad case %zu [%lld]: numeric %g, backward %g", ci,
                    (long long)i, num, g[i]);
    }
    tc_tensor_release(x);
    tc_tensor_release(y);
    tc_tensor_release(gy);
    tc_tensor_release(gx);
  }
  tc_generator_destroy(gen);
  LEAK_END;
}
END_TEST

/* ---- errors ------------------------------------------------------------------------------------- */
#define EXPECT_FAIL(expr, code, needle)                                                  \
  do {                                                                                   \
    tc_clear_error();                                                                    \
    tc_tensor *r__ = (expr);                                                             \
    ck_assert_msg(r__ == NULL, "expected failure: %s", #expr);                           \
    assert_error(code, needle);                                                          \
  } while (0)

START_TEST(test_conv_errors) {
  LEAK_BEGIN;
  tc_tensor *x = tc_zeros(SHAPE(2, 4, 32, 32), 4, NULL), *w = tc_zeros(SHAPE(8, 3, 3, 3), 4, NULL);
  EXPECT_FAIL(tc_conv2d(x, w, NULL, NULL), TC_ERR_SHAPE,
              "tc_conv2d: weight [8, 3, 3, 3] expects 3 input channels (groups 1) but input [2, 4, 32, 32] has 4");
  tc_tensor *x6 = tc_zeros(SHAPE(1, 6, 5, 5), 4, NULL), *w82 = tc_zeros(SHAPE(8, 2, 3, 3), 4, NULL);
  EXPECT_FAIL(tc_conv2d(x6, w82, NULL, TC_CONV(.groups = 3)), TC_ERR_SHAPE,
              "weight [8, 2, 3, 3] has 8 output channels, not divisible by groups 3");
  tc_tensor *w62 = tc_zeros(SHAPE(6, 2, 3, 3), 4, NULL), *x4 = tc_zeros(SHAPE(1, 4, 5, 5), 4, NULL);
  EXPECT_FAIL(tc_conv2d(x4, w62, NULL, TC_CONV(.groups = 3)), TC_ERR_SHAPE,
              "expects 6 input channels (groups 3) but input [1, 4, 5, 5] has 4");
  tc_tensor *xs = tc_zeros(SHAPE(1, 3, 2, 2), 4, NULL), *w3 = tc_zeros(SHAPE(4, 3, 3, 3), 4, NULL);
  EXPECT_FAIL(tc_conv2d(xs, w3, NULL, NULL), TC_ERR_SHAPE,
              "tc_conv2d: padded input size (2 x 2) is smaller than the dilated kernel size (3 x 3)");
  EXPECT_FAIL(tc_conv2d(xs, w3, NULL, TC_CONV(.padding = {1, 1}, .dilation = {2, 1})), TC_ERR_SHAPE,
              "padded input size (4 x 4) is smaller than the dilated kernel size (5 x 3)");
  EXPECT_FAIL(tc_conv2d(xs, w3, NULL, TC_CONV(.stride = {2, 2}, .padding_kind = TC_CONV_SAME)), TC_ERR_ARG,
              "padding 'same' needs stride 1");
  EXPECT_FAIL(tc_conv2d(xs, w3, NULL, TC_CONV(.stride = {-1, 1})), TC_ERR_ARG, "stride must be positive");
  EXPECT_FAIL(tc_conv2d(xs, w3, NULL, TC_CONV(.padding = {-1, 1})), TC_ERR_ARG, "padding must be non-negative");
  EXPECT_FAIL(tc_conv2d(xs, w3, NULL, TC_CONV(.dilation = {1, -2})), TC_ERR_ARG, "dilation must be positive");
  EXPECT_FAIL(tc_conv2d(xs, w3, NULL, TC_CONV(.groups = -1)), TC_ERR_ARG, "groups must be positive");
  tc_tensor *wk0 = tc_zeros(SHAPE(4, 3, 0, 3), 4, NULL);
  EXPECT_FAIL(tc_conv2d(xs, wk0, NULL, NULL), TC_ERR_SHAPE, "weight [4, 3, 0, 3] has an empty kernel");
  tc_tensor_release(wk0);
  tc_tensor *b5 = tc_zeros(SHAPE(5), 1, NULL);
  EXPECT_FAIL(tc_conv2d(xs, w3, b5, TC_CONV(.padding = {1, 1})), TC_ERR_SHAPE,
              "bias must be 1-D with 4 elements (weight [4, 3, 3, 3]), got bias [5]");
  tc_tensor *xd = tc_zeros(SHAPE(1, 3, 4, 4), 4, TC_OPTS(.dtype = TC_F64));
  EXPECT_FAIL(tc_conv2d(xd, w3, NULL, NULL), TC_ERR_DTYPE, "input is float64 but weight is float32");
  tc_tensor *xi = tc_zeros(SHAPE(1, 3, 4, 4), 4, TC_OPTS(.dtype = TC_I64));
  EXPECT_FAIL(tc_conv2d(xi, w3, NULL, NULL), TC_ERR_DTYPE, "input must be float32, float64, float16 or bfloat16");
  tc_tensor *x2 = tc_zeros(SHAPE(3, 4), 2, NULL);
  EXPECT_FAIL(tc_conv2d(x2, w3, NULL, NULL), TC_ERR_SHAPE, "expected a 3-D (unbatched) or 4-D (batched) input, got input [3, 4]");
  tc_tensor *x1 = tc_zeros(SHAPE(1, 3, 2), 3, NULL), *w1 = tc_zeros(SHAPE(2, 3, 4), 3, NULL);
  EXPECT_FAIL(tc_conv1d(x1, w3, NULL, NULL), TC_ERR_SHAPE,
              "tc_conv1d: weight must be 3-D (C_out, C_in/groups, K), got weight [4, 3, 3, 3]");
  EXPECT_FAIL(tc_conv1d(x1, w1, NULL, NULL), TC_ERR_SHAPE,
              "tc_conv1d: padded input size 2 is smaller than the dilated kernel size 4");
  EXPECT_FAIL(tc_conv2d(NULL, w3, NULL, NULL), TC_ERR_ARG, "tc_conv2d: x is NULL");
  /* a NULL input keeps an earlier message (chained calls) */
  tc_clear_error();
  ck_assert_ptr_null(tc_conv2d(tc_conv2d(xs, w3, NULL, NULL), w3, NULL, NULL));
  assert_error(TC_ERR_SHAPE, "padded input size (2 x 2)");

  /* backward */
  tc_tensor *gx, *gw, *gb;
  tc_tensor *xo = tc_zeros(SHAPE(1, 3, 4, 4), 4, NULL), *gbad = tc_zeros(SHAPE(1, 4, 3, 3), 4, NULL);
  tc_clear_error();
  ck_assert_int_eq(tc__conv2d_backward(gbad, xo, w3, NULL, true, true, true, &gx, &gw, &gb), TC_ERR_SHAPE);
  ck_assert(gx == NULL && gw == NULL && gb == NULL);
  assert_error(TC_ERR_SHAPE, "grad_out is [1, 4, 3, 3] but the output of input [1, 3, 4, 4] and weight [4, 3, 3, 3] is [1, 4, 2, 2]");
  ck_assert_int_eq(tc__conv2d_backward(gbad, x, w, NULL, true, false, false, &gx, &gw, &gb), TC_ERR_SHAPE);
  assert_error(TC_ERR_SHAPE, "tc_conv2d_backward: weight [8, 3, 3, 3] expects 3 input channels");
  ck_assert_int_eq(tc__conv2d_backward(gbad, xo, w3, NULL, true, false, false, NULL, &gw, &gb), TC_ERR_ARG);

  tc_tensor *list[] = {x, w, x6, w82, w62, x4, xs, w3, b5, xd, xi, x2, x1, w1, xo, gbad};
  for (size_t i = 0; i < sizeof list / sizeof *list; i++) tc_tensor_release(list[i]);
  LEAK_END;
}
END_TEST

START_TEST(test_pad_errors) {
  LEAK_BEGIN;
  tc_tensor *x = tc_zeros(SHAPE(1, 3, 4), 3, NULL);
  EXPECT_FAIL(tc_pad(x, (int64_t[]){1, 1, 1}, 3, TC_PAD_CONSTANT, 0), TC_ERR_ARG, "padding length must be divisible by 2");
  EXPECT_FAIL(tc_pad(x, (int64_t[]){1, 1, 1, 1, 1, 1, 1, 1}, 8, TC_PAD_CONSTANT, 0), TC_ERR_ARG,
              "padding length 8 is more than two times the input dimension (input [1, 3, 4] has 3 dims)");
  EXPECT_FAIL(tc_pad(x, (int64_t[]){4, 0}, 2, TC_PAD_REFLECT, 0), TC_ERR_SHAPE,
              "tc_pad: reflect padding (4, 0) of dim 2 must be less than that dim's size in input [1, 3, 4]");
  EXPECT_FAIL(tc_pad(x, (int64_t[]){5, 0}, 2, TC_PAD_CIRCULAR, 0), TC_ERR_SHAPE, "wraps around input [1, 3, 4] more than once");
  EXPECT_FAIL(tc_pad(x, (int64_t[]){3, -2}, 2, TC_PAD_CIRCULAR, 0), TC_ERR_SHAPE, "wraps around the 2 cells left after cropping");
  EXPECT_FAIL(tc_pad(x, (int64_t[]){-3, -2}, 2, TC_PAD_CONSTANT, 0), TC_ERR_SHAPE,
              "padding (-3, -2) of dim 2 makes input [1, 3, 4] too small: output size -1");
  EXPECT_FAIL(tc_pad(x, (int64_t[]){-2, -2}, 2, TC_PAD_REPLICATE, 0), TC_ERR_SHAPE, "output size 0");
  tc_tensor *x1 = tc_zeros(SHAPE(4), 1, NULL);
  EXPECT_FAIL(tc_pad(x1, (int64_t[]){1, 1}, 2, TC_PAD_REFLECT, 0), TC_ERR_UNSUPPORTED,
              "reflect padding of 2 values needs a 2-D or 3-D input (the last 1 dims are padded), but input is [4]");
  EXPECT_FAIL(tc_pad(x1, (int64_t[]){1, 1, 1, 1}, 4, TC_PAD_REPLICATE, 0), TC_ERR_UNSUPPORTED,
              "replicate padding of 4 values needs a 3-D or 4-D input");
  tc_tensor *xe = tc_zeros(SHAPE(1, 0, 4), 3, NULL);
  EXPECT_FAIL(tc_pad(xe, (int64_t[]){1, 1}, 2, TC_PAD_REFLECT, 0), TC_ERR_SHAPE, "needs non-empty dims other than dim 0");
  EXPECT_FAIL(tc_pad(x, NULL, 2, TC_PAD_CONSTANT, 0), TC_ERR_ARG, "pad is NULL");
  EXPECT_FAIL(tc_pad(x, (int64_t[]){1, 1}, 2, (tc_pad_mode)9, 0), TC_ERR_ARG, "unknown pad mode 9");
  EXPECT_FAIL(tc_pad(NULL, (int64_t[]){1, 1}, 2, TC_PAD_CONSTANT, 0), TC_ERR_ARG, "x is NULL");
  EXPECT_FAIL(tc_pad(x, (int64_t[]){1, 1}, 0 - 2, TC_PAD_CONSTANT, 0), TC_ERR_ARG, "divisible by 2, got -2");
  /* backward: grad_out must have the padded shape */
  tc_tensor *g = tc_zeros(SHAPE(1, 3, 5), 3, NULL);
  EXPECT_FAIL(tc__pad_backward(g, tc_tensor_shape(x), 3, (int64_t[]){1, 1}, 2, TC_PAD_REFLECT), TC_ERR_SHAPE,
              "grad_out is [1, 3, 5] but padding input [1, 3, 4] gives [1, 3, 6]");
  tc_tensor *gi = tc_zeros(SHAPE(1, 3, 6), 3, TC_OPTS(.dtype = TC_I64));
  EXPECT_FAIL(tc__pad_backward(gi, tc_tensor_shape(x), 3, (int64_t[]){1, 1}, 2, TC_PAD_REFLECT), TC_ERR_DTYPE,
              "grad_out must be floating point");
  tc_tensor *list[] = {x, x1, xe, g, gi};
  for (size_t i = 0; i < sizeof list / sizeof *list; i++) tc_tensor_release(list[i]);
  LEAK_END;
}
END_TEST

/* ---- allocation failures ------------------------------------------------------------------------ */
typedef struct {
  tc_tensor *x, *w, *b, *gy;
  tc_conv_opts o;
} alloc_ctx;

static int conv_fwd_once(void *vctx) {
  alloc_ctx *c = vctx;
  tc_tensor *y = tc_conv2d(c->x, c->w, c->b, &c->o);
  if (!y) return 1;
  tc_tensor_release(y);
  return 0;
}

static int conv_bwd_once(void *vctx) {
  alloc_ctx *c = vctx;
  tc_tensor *gx, *gw, *gb;
  if (tc__conv2d_backward(c->gy, c->x, c->w, &c->o, true, true, true, &gx, &gw, &gb) != TC_OK) return 1;
  ck_assert(gx && gw && gb);
  tc_tensor_release(gx);
  tc_tensor_release(gw);
  tc_tensor_release(gb);
  return 0;
}

static int pad_once(void *vctx) {
  alloc_ctx *c = vctx;
  tc_tensor *y = tc_pad(c->x, (int64_t[]){1, 2, 2, 1}, 4, TC_PAD_REFLECT, 0);
  if (!y) return 1;
  tc_tensor *g = tc__pad_backward(y, tc_tensor_shape(c->x), 4, (int64_t[]){1, 2, 2, 1}, 4, TC_PAD_REFLECT);
  tc_tensor_release(y);
  if (!g) return 1;
  tc_tensor_release(g);
  return 0;
}

START_TEST(test_conv_alloc_failures) {
  LEAK_BEGIN;
  /* 20 samples of 6x6: several samples per GEMM, several backward parts (partial sums), and a
   * non-contiguous input that must be copied. */
  tc_tensor *x0 = tc_randn(SHAPE(20, 4, 6, 6), 4, NULL);
  alloc_ctx c = {.x = noncontig(x0), .w = tc_randn(SHAPE(4, 2, 3, 3), 4, NULL), .b = tc_randn(SHAPE(4), 1, NULL),
                 .o = {.padding = {1, 1}, .groups = 2}};
  c.gy = tc_randn(SHAPE(20, 4, 6, 6), 4, NULL);
  check_alloc_failures(conv_fwd_once, &c, "tc_conv2d");
  check_alloc_failures(conv_bwd_once, &c, "tc__conv2d_backward");
  int64_t saved_wino = tc__conv_winograd_min_channels;
  tc__conv_winograd_min_channels = 1; /* the same through Winograd (3x3, stride 1) */
  check_alloc_failures(conv_fwd_once, &c, "tc_conv2d (Winograd)");
  check_alloc_failures(conv_bwd_once, &c, "tc__conv2d_backward (Winograd)");
  tc__conv_winograd_min_channels = saved_wino;
  tc_tensor *h = tc_to_dtype(x0, TC_F16), *xs = c.x;
  c.x = h;
  check_alloc_failures(pad_once, &c, "tc_pad");
  c.x = xs;
  tc_tensor *list[] = {x0, c.x, c.w, c.b, c.gy, h};
  for (size_t i = 0; i < sizeof list / sizeof *list; i++) tc_tensor_release(list[i]);
  LEAK_END;
}
END_TEST

static Suite *conv_suite(void) {
  Suite *s = suite_create("conv");
  TCase *tc = tcase_create("conv");
  tcase_add_loop_test(tc, test_conv2d_fixtures, 0, (int)(sizeof conv2d_cases / sizeof *conv2d_cases));
  tcase_add_loop_test(tc, test_conv1d_fixtures, 0, (int)(sizeof conv1d_cases / sizeof *conv1d_cases));
  tcase_add_test(tc, test_conv_defaults);
  tcase_add_test(tc, test_conv_finite_differences);
  tcase_add_test(tc, test_conv_threads_and_batch_split);
  tcase_add_test(tc, test_conv_dead_taps);
  tcase_add_test(tc, test_conv_dense_planes);
  tcase_add_test(tc, test_conv_winograd_small_planes);
  tcase_add_test(tc, test_conv_empty);
  tcase_add_loop_test(tc, test_pad_fixtures, 0, (int)(sizeof pad_cases / sizeof *pad_cases));
  tcase_add_test(tc, test_pad_dtypes_and_edges);
  tcase_add_test(tc, test_pad_finite_differences);
  tcase_add_test(tc, test_conv_errors);
  tcase_add_test(tc, test_pad_errors);
  tcase_add_test(tc, test_conv_alloc_failures);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return run_suite(conv_suite()); }
