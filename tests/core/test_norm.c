/* Normalisation against PyTorch: BatchNorm1d/2d modules over several training and eval steps
 * (outputs, autograd gradients, running stats, num_batches_tracked, momentum and momentum=None,
 * affine and track_running_stats off), layer_norm and group_norm with and without affine (fixtures
 * from tests/fixtures/gen/gen_pool_norm.py), float16 inputs, gradcheck in f64, the chunked
 * statistics path, thread-count independence, state_dict keys, error messages, allocation
 * failures. */
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

#define FAM "pool_norm"

static tc_tensor *load(const char *c, const char *what) {
  char name[128];
  snprintf(name, sizeof name, "%s_%s", c, what);
  return fx_load(FAM, name);
}
static tc_tensor *load_i(const char *c, const char *what, int i) {
  char name[128];
  snprintf(name, sizeof name, "%s_%s%d", c, what, i);
  return fx_load(FAM, name);
}

static tc_tensor *leaf(const tc_tensor *t) {
  tc_tensor *l = tc_detach(t);
  ck_assert_int_eq(tc_tensor_requires_grad_(l, true), TC_OK);
  return l;
}

static tc_tensor *noncontig(const tc_tensor *t) {
  int64_t nd = tc_tensor_ndim(t);
  tc_tensor *tt = tc_transpose(t, 0, nd - 1);
  tc_tensor *c = tc_contiguous(tt);
  tc_tensor *r = tc_transpose(c, 0, nd - 1);
  tc_tensor_release(tt);
  tc_tensor_release(c);
  return r;
}

static bool bit_equal(const tc_tensor *a, const tc_tensor *b) {
  tc_tensor *ca = tc_contiguous(a), *cb = tc_contiguous(b);
  bool eq = tc_tensor_numel(a) == tc_tensor_numel(b) &&
            memcmp(tc_tensor_data(ca), tc_tensor_data(cb), (size_t)tc_tensor_numel(a) * tc_tensor_element_size(a)) == 0;
  tc_tensor_release(ca);
  tc_tensor_release(cb);
  return eq;
}

static void assert_grad(const tc_tensor *t, const tc_tensor *expected, double tol, const char *what) {
  tc_tensor *g = tc_tensor_grad(t);
  ck_assert_msg(g != NULL, "%s: no gradient", what);
  assert_close(g, expected, tol, tol, what);
  tc_tensor_release(g);
}

/* ---- BatchNorm modules over several steps ------------------------------------------------------------- */
static const char *const bn_cases[] = {
    "bn1d_ncl",     "bn1d_nc",        "bn2d",     "bn2d_momentum_none", "bn2d_no_affine",
    "bn2d_no_track", "bn1d_no_affine_no_track", "bn2d_f64", "bn2d_big_mean",
};

START_TEST(test_bn_module_fixtures) {
  const char *c = bn_cases[_i];
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *cfgt = load(c, "cfg");
  const double *cfg = tc_tensor_data(cfgt);
  int spatial = (int)cfg[0], T = (int)cfg[5], E = (int)cfg[6];
  bool affine = cfg[3] != 0, track = cfg[4] != 0;
  tc_norm_opts o = {.eps = cfg[2], .momentum = cfg[1], .no_affine = !affine, .no_track_running_stats = !track};
  tc_tensor *x0 = load_i(c, "x", 0);
  int64_t C = tc_tensor_shape(x0)[1];
  bool f64 = tc_tensor_dtype(x0) == TC_F64;
  double tol = f64 ? 1e-10 : strstr(c, "big_mean") ? 1e-4 : 2e-5;
  tc_module *m = spatial == 1 ? tc_batchnorm1d_create(C, &o) : tc_batchnorm2d_create(C, &o);
  ck_assert_ptr_nonnull(m);
  ck_assert_str_eq(tc_module_type(m), spatial == 1 ? "BatchNorm1d" : "BatchNorm2d");
  if (f64) ck_assert_int_eq(tc_module_to_dtype(m, TC_F64), TC_OK);
  if (affine) {
    ck_assert_int_eq(tc_module_set_parameter(m, "weight", tc_clone(load(c, "w"))), TC_OK);
    ck_assert_int_eq(tc_module_set_parameter(m, "bias", tc_clone(load(c, "b"))), TC_OK);
  } else {
    ck_assert_ptr_null(tc_module_parameter(m, "weight"));
    ck_assert_ptr_null(tc_module_parameter(m, "bias"));
  }
  if (!track) ck_assert_ptr_null(tc_module_buffer(m, "running_mean"));
  for (int i = 0; i < T + E; i++) {
    char what[160];
    tc_module_train(m, i < T);
    tc_tensor *xl = leaf(load_i(c, "x", i));
    tc_module_zero_grad(m, true);
    tc_tensor *y = tc_module_forward(m, xl);
    ck_assert_msg(y != NULL, "%s step %d: %s", c, i, tc_last_error());
    snprintf(what, sizeof what, "%s step %d y", c, i);
    assert_close(y, load_i(c, "y", i), tol, tol, what);
    ck_assert_str_eq(tc_tensor_grad_fn_name(y), "NativeBatchNormBackward0");
    ck_assert_int_eq(tc_backward_ex(y, load_i(c, "gy", i), false), TC_OK);
    snprintf(what, sizeof what, "%s step %d grad x", c, i);
    assert_grad(xl, load_i(c, "gx", i), tol, what);
    if (affine) {
      snprintf(what, sizeof what, "%s step %d grad weight", c, i);
      assert_grad(tc_module_parameter(m, "weight"), load_i(c, "gw", i), tol * 4, what);
      snprintf(what, sizeof what, "%s step %d grad bias", c, i);
      assert_grad(tc_module_parameter(m, "bias"), load_i(c, "gb", i), tol * 4, what);
    }
    if (track) {
      snprintf(what, sizeof what, "%s step %d running_mean", c, i);
      assert_close(tc_module_buffer(m, "running_mean"), load_i(c, "rm", i), tol, tol, what);
      snprintf(what, sizeof what, "%s step %d running_var", c, i);
      assert_close(tc_module_buffer(m, "running_var"), load_i(c, "rv", i), tol, tol, what);
      snprintf(what, sizeof what, "%s step %d num_batches_tracked", c, i);
      assert_equal(tc_module_buffer(m, "num_batches_tracked"), load_i(c, "nbt", i), what);
    }
  }
  tc_module_destroy(m);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* ---- layer norm / group norm fixtures ------------------------------------------------------------------- */
static const char *const ln_cases[] = {"ln_last", "ln_last2", "ln_no_affine", "ln_all_dims",
                                       "ln_f64",  "ln_shifted", "ln_long_rows"};
static const char *const gn_cases[] = {"gn_basic",       "gn_spatial",    "gn_one_group",
                                       "gn_per_channel", "gn_no_spatial", "gn_f64"};

/* group: 0 = layer norm (cfg[0] = n_norm), else group norm (cfg[0] = groups) */
static void run_ln_gn_case(const char *c, bool group, const tc_tensor *x, const tc_tensor *gy, double tol,
                           const char *variant) {
  tc_tensor *cfgt = load(c, "cfg");
  const double *cfg = tc_tensor_data(cfgt);
  bool affine = cfg[2] != 0;
  tc_tensor *xl = leaf(x), *wl = affine ? leaf(load(c, "w")) : NULL, *bl = affine ? leaf(load(c, "b")) : NULL;
  tc_tensor *y = group ? tc_group_norm(xl, (int64_t)cfg[0], wl, bl, cfg[1]) : tc_layer_norm(xl, (int64_t)cfg[0], wl, bl, cfg[1]);
  char what[160];
  ck_assert_msg(y != NULL, "%s %s: %s", c, variant, tc_last_error());
  ck_assert_int_eq(tc_tensor_dtype(y), tc_tensor_dtype(x));
  snprintf(what, sizeof what, "%s %s y", c, variant);
  assert_close(y, load(c, "y"), tol, tol, what);
  ck_assert_str_eq(tc_tensor_grad_fn_name(y), group ? "NativeGroupNormBackward0" : "NativeLayerNormBackward0");
  ck_assert_int_eq(tc_backward_ex(y, gy, false), TC_OK);
  snprintf(what, sizeof what, "%s %s grad x", c, variant);
  assert_grad(xl, load(c, "gx"), tol, what);
  if (affine) {
    snprintf(what, sizeof what, "%s %s grad weight", c, variant);
    assert_grad(wl, load(c, "gw"), tol * 4, what);
    snprintf(what, sizeof what, "%s %s grad bias", c, variant);
    assert_grad(bl, load(c, "gb"), tol * 4, what);
  }
}

static void ln_gn_fixture(const char *c, bool group) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *x = load(c, "x"), *gy = load(c, "gy");
  bool f64 = tc_tensor_dtype(x) == TC_F64;
  double tol = f64 ? 1e-10 : strstr(c, "shifted") ? 2e-3 : 2e-5;
  run_ln_gn_case(c, group, x, gy, tol, "contiguous");
  run_ln_gn_case(c, group, noncontig(x), noncontig(gy), tol, "non-contiguous");
  if (!f64 && !strstr(c, "shifted")) /* float16 input and gradient (float32 weights: mixed precision) */
    run_ln_gn_case(c, group, tc_to_dtype(x, TC_F16), tc_to_dtype(gy, TC_F16), 2e-2, "float16");
  tc_scope_pop();
  LEAK_END;
}

START_TEST(test_ln_fixtures) { ln_gn_fixture(ln_cases[_i], false); }
END_TEST
START_TEST(test_gn_fixtures) { ln_gn_fixture(gn_cases[_i], true); }
END_TEST

/* ---- functional batch norm: float16, eval, chunked statistics -------------------------------------------- */
START_TEST(test_bn_float16_mixed) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *x = load("bn1d_ncl", "x0"), *w = load("bn1d_ncl", "w"), *b = load("bn1d_ncl", "b");
  tc_tensor *rm32 = tc_zeros(SHAPE(3), 1, NULL), *rv32 = tc_ones(SHAPE(3), 1, NULL);
  tc_tensor *rm16 = tc_zeros(SHAPE(3), 1, NULL), *rv16 = tc_ones(SHAPE(3), 1, NULL);
  tc_tensor *y32 = tc_batch_norm(x, rm32, rv32, w, b, true, 0.1, 1e-5);
  tc_tensor *xh = tc_to_dtype(x, TC_F16); /* the fixtures are float16 values */
  tc_tensor *yh = tc_batch_norm(xh, rm16, rv16, w, b, true, 0.1, 1e-5);
  ck_assert_msg(yh != NULL, "%s", tc_last_error());
  ck_assert_int_eq(tc_tensor_dtype(yh), TC_F16);
  assert_close(yh, y32, 4e-3, 4e-3, "float16 batch norm");
  assert_close(rm16, rm32, 1e-6, 1e-6, "float32 running_mean of a float16 input");
  assert_close(rv16, rv32, 1e-6, 1e-6, "float32 running_var of a float16 input");
  /* bfloat16 in eval mode with bfloat16 parameters */
  tc_tensor *xb = tc_to_dtype(x, TC_BF16);
  tc_tensor *yb = tc_batch_norm(xb, tc_to_dtype(rm32, TC_BF16), tc_to_dtype(rv32, TC_BF16), tc_to_dtype(w, TC_BF16),
                                tc_to_dtype(b, TC_BF16), false, 0.1, 1e-5);
  tc_tensor *ye = tc_batch_norm(x, rm32, rv32, w, b, false, 0.1, 1e-5);
  assert_close(yb, ye, 3e-2, 3e-2, "bfloat16 eval");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* Few channels with many elements each: the statistics are cut into chunks per channel. The same
 * channels inside a 16-channel batch take the one-task-per-channel path: results agree. */
START_TEST(test_bn_chunked_statistics) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_generator *gen = tc_generator_create(9);
  tc_tensor *x3 = tc_add_scalar(tc_randn(SHAPE(16, 3, 64, 80), 4, TC_OPTS(.generator = gen)), 3.0);
  tc_tensor *rest = tc_randn(SHAPE(16, 13, 64, 80), 4, TC_OPTS(.generator = gen));
  tc_tensor *x16 = tc_cat((const tc_tensor *[]){x3, rest}, 2, 1);
  tc_tensor *gy16 = tc_randn(SHAPE(16, 16, 64, 80), 4, TC_OPTS(.generator = gen));
  tc_tensor *gy3 = tc_contiguous(tc_narrow(gy16, 1, 0, 3));
  tc_tensor *w = tc_randn(SHAPE(16), 1, TC_OPTS(.generator = gen)), *b = tc_randn(SHAPE(16), 1, TC_OPTS(.generator = gen));
  tc_tensor *w3 = tc_contiguous(tc_narrow(w, 0, 0, 3)), *b3 = tc_contiguous(tc_narrow(b, 0, 0, 3));
  tc_tensor *rm3 = tc_zeros(SHAPE(3), 1, NULL), *rv3 = tc_ones(SHAPE(3), 1, NULL);
  tc_tensor *rm16 = tc_zeros(SHAPE(16), 1, NULL), *rv16 = tc_ones(SHAPE(16), 1, NULL);
  tc_tensor *xl3 = leaf(x3), *xl16 = leaf(x16), *wl3 = leaf(w3), *wl16 = leaf(w), *bl3 = leaf(b3), *bl16 = leaf(b);
  tc_tensor *y3 = tc_batch_norm(xl3, rm3, rv3, wl3, bl3, true, 0.1, 1e-5);
  tc_tensor *y16 = tc_batch_norm(xl16, rm16, rv16, wl16, bl16, true, 0.1, 1e-5);
  assert_close(y3, tc_narrow(y16, 1, 0, 3), 1e-5, 1e-5, "chunked forward");
  assert_close(rm3, tc_narrow(rm16, 0, 0, 3), 1e-6, 1e-6, "chunked running_mean");
  assert_close(rv3, tc_narrow(rv16, 0, 0, 3), 1e-6, 1e-6, "chunked running_var");
  ck_assert_int_eq(tc_backward_ex(y3, gy3, false), TC_OK);
  ck_assert_int_eq(tc_backward_ex(y16, gy16, false), TC_OK);
  assert_close(tc_tensor_grad(xl3), tc_narrow(tc_tensor_grad(xl16), 1, 0, 3), 1e-4, 1e-5, "chunked grad x");
  assert_close(tc_tensor_grad(wl3), tc_narrow(tc_tensor_grad(wl16), 0, 0, 3), 1e-4, 1e-3, "chunked grad weight");
  assert_close(tc_tensor_grad(bl3), tc_narrow(tc_tensor_grad(bl16), 0, 0, 3), 1e-4, 1e-3, "chunked grad bias");
  /* against float64 */
  tc_tensor *y64 = tc_batch_norm(tc_to_dtype(x3, TC_F64), NULL, NULL, tc_to_dtype(w3, TC_F64), tc_to_dtype(b3, TC_F64),
                                 true, 0.1, 1e-5);
  assert_close(y3, y64, 1e-5, 1e-5, "chunked forward vs float64");
  tc_generator_destroy(gen);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* ---- gradcheck in f64 ------------------------------------------------------------------------------------ */
typedef struct {
  int op; /* 0 bn train, 1 bn eval, 2 layer norm, 3 group norm */
  int64_t arg;
  const tc_tensor *rm, *rv;
} gc_user;

static tc_tensor *gc_fn(const tc_tensor *const *in, int64_t n, void *user) {
  const gc_user *u = user;
  const tc_tensor *w = n > 1 ? in[1] : NULL, *b = n > 2 ? in[2] : NULL;
  switch (u->op) {
    case 0: return tc_batch_norm(in[0], NULL, NULL, w, b, true, 0.1, 1e-5);
    case 1: return tc_batch_norm(in[0], (tc_tensor *)u->rm, (tc_tensor *)u->rv, w, b, false, 0.1, 1e-5);
    case 2: return tc_layer_norm(in[0], u->arg, w, b, 1e-5);
    default: return tc_group_norm(in[0], u->arg, w, b, 1e-5);
  }
}

START_TEST(test_norm_gradcheck) {
  static const struct {
    int op;
    int64_t arg;
    int64_t xs[4];
    int nd;
    int64_t ps[3];
    int pnd;
    int nparams;
  } cases[] = {
      {0, 0, {4, 3, 5}, 3, {3}, 1, 3},       /* batch norm (N, C, L), affine */
      {0, 0, {5, 3}, 2, {3}, 1, 1},          /* (N, C), no affine */
      {0, 0, {2, 2, 3, 2}, 4, {2}, 1, 2},    /* (N, C, H, W), weight only */
      {1, 0, {4, 3, 5}, 3, {3}, 1, 3},       /* eval mode */
      {2, 1, {3, 6}, 2, {6}, 1, 3},          /* layer norm, last dim */
      {2, 2, {2, 3, 4}, 3, {3, 4}, 2, 3},    /* last two dims */
      {2, 1, {4, 5}, 2, {5}, 1, 1},          /* no affine */
      {3, 3, {2, 6, 3}, 3, {6}, 1, 3},       /* group norm */
      {3, 2, {2, 4, 2, 2}, 4, {4}, 1, 1},    /* no affine */
      {3, 1, {3, 2, 4}, 3, {2}, 1, 3},       /* one group */
  };
  LEAK_BEGIN;
  tc_scope_push();
  tc_generator *gen = tc_generator_create(17);
  const tc_options *o64 = TC_OPTS(.dtype = TC_F64, .generator = gen);
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    gc_user u = {cases[i].op, cases[i].arg, NULL, NULL};
    tc_tensor *x = leaf(tc_randn(cases[i].xs, cases[i].nd, o64));
    tc_tensor *w = leaf(tc_add_scalar(tc_randn(cases[i].ps, cases[i].pnd, o64), 1.0));
    tc_tensor *b = leaf(tc_randn(cases[i].ps, cases[i].pnd, o64));
    if (u.op == 1) {
      u.rm = tc_randn(SHAPE(cases[i].xs[1]), 1, o64);
      u.rv = tc_add_scalar(tc_rand(SHAPE(cases[i].xs[1]), 1, o64), 0.5);
    }
    const tc_tensor *in[3] = {x, w, b};
    tc_status s = tc_gradcheck(gc_fn, in, cases[i].nparams, &u, 1e-6, 1e-6, 1e-5);
    ck_assert_msg(s == TC_OK, "gradcheck case %zu: %s", i, tc_last_error());
  }
  tc_generator_destroy(gen);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* ---- thread-count independence ------------------------------------------------------------------------- */
START_TEST(test_norm_threads) {
  LEAK_BEGIN;
  tc_scope_push();
  int nt0 = tc_get_num_threads();
  tc_generator *gen = tc_generator_create(23);
  const tc_options *og = TC_OPTS(.generator = gen);
  struct {
    int op;
    int64_t xs[4];
    int64_t C;
  } cases[] = {
      {0, {8, 64, 12, 12}, 64}, /* one task per channel */
      {0, {16, 3, 64, 80}, 3},  /* chunked statistics */
      {2, {300, 257, 1, 1}, 257},
      {3, {6, 32, 20, 20}, 32},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    tc_tensor *x = cases[i].op == 2 ? tc_randn(cases[i].xs, 2, og) : tc_randn(cases[i].xs, 4, og);
    tc_tensor *w = tc_randn(SHAPE(cases[i].C), 1, og), *b = tc_randn(SHAPE(cases[i].C), 1, og);
    tc_tensor *gy = tc_randn(tc_tensor_shape(x), tc_tensor_ndim(x), og);
    tc_tensor *y[2], *gx[2], *gw[2], *gb[2];
    for (int t = 0; t < 2; t++) {
      tc_set_num_threads(t == 0 ? 1 : 3);
      tc_tensor *xl = leaf(x), *wl = leaf(w), *bl = leaf(b);
      y[t] = cases[i].op == 0   ? tc_batch_norm(xl, NULL, NULL, wl, bl, true, 0.1, 1e-5)
             : cases[i].op == 2 ? tc_layer_norm(xl, 1, wl, bl, 1e-5)
                                : tc_group_norm(xl, 8, wl, bl, 1e-5);
      ck_assert_ptr_nonnull(y[t]);
      ck_assert_int_eq(tc_backward_ex(y[t], gy, false), TC_OK);
      gx[t] = tc_tensor_grad(xl), gw[t] = tc_tensor_grad(wl), gb[t] = tc_tensor_grad(bl);
    }
    tc_set_num_threads(nt0);
    ck_assert_msg(bit_equal(y[0], y[1]) && bit_equal(gx[0], gx[1]) && bit_equal(gw[0], gw[1]) &&
                      bit_equal(gb[0], gb[1]),
                  "case %zu depends on the thread count", i);
  }
  tc_generator_destroy(gen);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* ---- modules: parameters, buffers, state_dict ------------------------------------------------------------- */
static void assert_keys(const tc_module *m, const char *const *keys, int n) {
  tc_state_dict *sd = tc_state_dict_create();
  ck_assert_int_eq(tc_module_state_dict(m, sd, NULL), TC_OK);
  ck_assert_int_eq(tc_state_dict_size(sd), n);
  for (int i = 0; i < n; i++) ck_assert_str_eq(tc_state_dict_key(sd, i), keys[i]);
  tc_state_dict_destroy(sd);
}

START_TEST(test_norm_modules) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_module *bn = tc_batchnorm2d_create(4, NULL);
  static const char *const bn_keys[] = {"weight", "bias", "running_mean", "running_var", "num_batches_tracked"};
  assert_keys(bn, bn_keys, 5);
  assert_equal(tc_module_parameter(bn, "weight"), tc_ones(SHAPE(4), 1, NULL), "weight ones");
  assert_equal(tc_module_parameter(bn, "bias"), tc_zeros(SHAPE(4), 1, NULL), "bias zeros");
  assert_equal(tc_module_buffer(bn, "running_mean"), tc_zeros(SHAPE(4), 1, NULL), "running_mean zeros");
  assert_equal(tc_module_buffer(bn, "running_var"), tc_ones(SHAPE(4), 1, NULL), "running_var ones");
  tc_tensor *nbt = tc_module_buffer(bn, "num_batches_tracked");
  ck_assert_int_eq(tc_tensor_ndim(nbt), 0);
  ck_assert_int_eq(tc_tensor_dtype(nbt), TC_I64);
  ck_assert(tc_tensor_requires_grad(tc_module_parameter(bn, "weight")));
  ck_assert(!tc_tensor_requires_grad(tc_module_buffer(bn, "running_mean")));
  ck_assert_int_eq(tc_module_num_parameter_elements(bn), 8);
  /* a 3-D input is an error and changes nothing */
  ck_assert_ptr_null(tc_module_forward(bn, tc_randn(SHAPE(2, 4, 3), 3, NULL)));
  assert_error(TC_ERR_SHAPE, "BatchNorm2d: expected 4D input (got 3D input");
  int64_t v;
  ck_assert_int_eq(tc_item_int64(nbt, &v), TC_OK);
  ck_assert_int_eq(v, 0);
  /* the state_dict round-trips into a fresh module */
  tc_tensor_release(tc_module_forward(bn, tc_randn(SHAPE(2, 4, 3, 3), 4, NULL)));
  tc_state_dict *sd = tc_state_dict_create();
  ck_assert_int_eq(tc_module_state_dict(bn, sd, NULL), TC_OK);
  tc_module *bn2 = tc_batchnorm2d_create(4, NULL);
  ck_assert_int_eq(tc_module_load_state_dict(bn2, sd, NULL, true, NULL, NULL), TC_OK);
  assert_equal(tc_module_buffer(bn2, "running_var"), tc_module_buffer(bn, "running_var"), "loaded running_var");
  assert_equal(tc_module_buffer(bn2, "num_batches_tracked"), T_I64(NULL, 0, 1), "loaded num_batches_tracked");
  tc_state_dict_destroy(sd);
  tc_module_destroy(bn2);
  tc_module_destroy(bn);

  tc_module *na = tc_batchnorm1d_create(3, TC_NORM_OPTS(.no_affine = true));
  static const char *const na_keys[] = {"running_mean", "running_var", "num_batches_tracked"};
  assert_keys(na, na_keys, 3);
  ck_assert_int_eq(tc_module_num_parameter_elements(na), 0);
  ck_assert_ptr_null(tc_module_forward(na, tc_randn(SHAPE(2, 3, 4, 5), 4, NULL)));
  assert_error(TC_ERR_SHAPE, "BatchNorm1d: expected 2D or 3D input (got 4D input");
  /* batch size 1 in training: PyTorch's error; num_batches_tracked unchanged */
  ck_assert_ptr_null(tc_module_forward(na, tc_randn(SHAPE(1, 3), 2, NULL)));
  assert_error(TC_ERR_SHAPE, "expected more than 1 value per channel when training, got input size [1, 3]");
  ck_assert_int_eq(tc_item_int64(tc_module_buffer(na, "num_batches_tracked"), &v), TC_OK);
  ck_assert_int_eq(v, 0);
  tc_module_train(na, false); /* eval: fine with one value */
  ck_assert_ptr_nonnull(tc_module_forward(na, tc_randn(SHAPE(1, 3), 2, NULL)));
  tc_module_destroy(na);

  tc_module *nt = tc_batchnorm2d_create(3, TC_NORM_OPTS(.no_track_running_stats = true));
  static const char *const nt_keys[] = {"weight", "bias"};
  assert_keys(nt, nt_keys, 2);
  tc_module_destroy(nt);
  tc_module *none = tc_batchnorm2d_create(3, TC_NORM_OPTS(.no_affine = true, .no_track_running_stats = true));
  assert_keys(none, NULL, 0);
  tc_named_tensors nb;
  ck_assert_int_eq(tc_module_named_buffers(none, &nb), TC_OK);
  ck_assert_int_eq(nb.n, 0);
  tc_named_tensors_clear(&nb);
  tc_module_destroy(none);

  tc_module *ln = tc_layernorm_create(SHAPE(3, 4), 2, NULL);
  ck_assert_str_eq(tc_module_type(ln), "LayerNorm");
  static const char *const wb[] = {"weight", "bias"};
  assert_keys(ln, wb, 2);
  assert_equal(tc_module_parameter(ln, "weight"), tc_ones(SHAPE(3, 4), 2, NULL), "LayerNorm weight");
  tc_tensor *x = tc_randn(SHAPE(2, 3, 4), 3, NULL);
  assert_close(tc_module_forward(ln, x), tc_layer_norm(x, 2, NULL, NULL, 1e-5), 1e-6, 1e-6, "LayerNorm forward");
  ck_assert_ptr_null(tc_module_forward(ln, tc_randn(SHAPE(2, 4, 3), 3, NULL)));
  assert_error(TC_ERR_SHAPE, "LayerNorm: given normalized_shape=[3, 4], expected input with shape [*, 3, 4], but got "
                             "input of size [2, 4, 3]");
  tc_module_destroy(ln);
  tc_module *ln0 = tc_layernorm_create(SHAPE(5), 1, TC_NORM_OPTS(.no_affine = true, .eps = 1e-3));
  assert_keys(ln0, NULL, 0);
  tc_tensor *x5 = tc_randn(SHAPE(3, 5), 2, NULL);
  assert_close(tc_module_forward(ln0, x5), tc_layer_norm(x5, 1, NULL, NULL, 1e-3), 0, 0, "LayerNorm eps");
  tc_module_destroy(ln0);

  tc_module *gn = tc_groupnorm_create(2, 6, NULL);
  ck_assert_str_eq(tc_module_type(gn), "GroupNorm");
  assert_keys(gn, wb, 2);
  tc_tensor *xg = tc_randn(SHAPE(2, 6, 5), 3, NULL);
  assert_close(tc_module_forward(gn, xg), tc_group_norm(xg, 2, NULL, NULL, 1e-5), 1e-6, 1e-6, "GroupNorm forward");
  tc_module_destroy(gn);
  ck_assert_ptr_null(tc_groupnorm_create(4, 6, NULL));
  assert_error(TC_ERR_ARG, "num_channels (6) must be divisible by num_groups (4)");
  ck_assert_ptr_null(tc_batchnorm2d_create(0, NULL));
  assert_error(TC_ERR_ARG, "num_features must be positive");
  ck_assert_ptr_null(tc_layernorm_create(NULL, 2, NULL));
  assert_error(TC_ERR_ARG, "normalized_shape");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* ---- errors --------------------------------------------------------------------------------------------- */
START_TEST(test_norm_errors) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *x = tc_randn(SHAPE(4, 3), 2, NULL), *rm = tc_zeros(SHAPE(3), 1, NULL), *rv = tc_ones(SHAPE(3), 1, NULL);
  ck_assert_ptr_null(tc_batch_norm(tc_randn(SHAPE(1, 3), 2, NULL), rm, rv, NULL, NULL, true, 0.1, 1e-5));
  assert_error(TC_ERR_SHAPE, "tc_batch_norm: expected more than 1 value per channel when training, got input size [1, 3]");
  assert_equal(rm, tc_zeros(SHAPE(3), 1, NULL), "running_mean untouched by a failed call");
  ck_assert_ptr_null(tc_batch_norm(x, tc_zeros(SHAPE(4), 1, NULL), rv, NULL, NULL, true, 0.1, 1e-5));
  assert_error(TC_ERR_SHAPE, "running_mean should contain 3 elements");
  ck_assert_ptr_null(tc_batch_norm(x, rm, rv, tc_ones(SHAPE(4), 1, NULL), NULL, true, 0.1, 1e-5));
  assert_error(TC_ERR_SHAPE, "weight should contain 3 elements");
  ck_assert_ptr_null(tc_batch_norm(x, rm, rv, tc_ones(SHAPE(3), 1, TC_OPTS(.dtype = TC_F64)), NULL, true, 0.1, 1e-5));
  assert_error(TC_ERR_DTYPE, "weight has dtype float64 but the input is float32");
  ck_assert_ptr_null(tc_batch_norm(x, NULL, NULL, NULL, NULL, false, 0.1, 1e-5));
  assert_error(TC_ERR_ARG, "must be given in evaluation mode");
  ck_assert_ptr_null(tc_batch_norm(x, rm, NULL, NULL, NULL, true, 0.1, 1e-5));
  assert_error(TC_ERR_ARG, "must be given together");
  ck_assert_ptr_null(tc_batch_norm(tc_ones(SHAPE(4, 3), 2, TC_OPTS(.dtype = TC_I64)), rm, rv, NULL, NULL, true, 0.1, 1e-5));
  assert_error(TC_ERR_DTYPE, "expected a floating-point input");
  ck_assert_ptr_null(tc_batch_norm(tc_randn(SHAPE(4), 1, NULL), NULL, NULL, NULL, NULL, true, 0.1, 1e-5));
  assert_error(TC_ERR_SHAPE, "at least 2 dims");
  tc_clear_error();
  ck_assert_ptr_null(tc_batch_norm(NULL, rm, rv, NULL, NULL, true, 0.1, 1e-5));
  assert_error(TC_ERR_ARG, "x is NULL");

  ck_assert_ptr_null(tc_layer_norm(x, 3, NULL, NULL, 1e-5));
  assert_error(TC_ERR_ARG, "cannot normalise over the last 3 dims");
  ck_assert_ptr_null(tc_layer_norm(x, 1, tc_ones(SHAPE(4), 1, NULL), NULL, 1e-5));
  assert_error(TC_ERR_SHAPE, "got weight of shape [4] and normalized_shape = [3]");
  ck_assert_ptr_null(tc_layer_norm(x, 1, NULL, tc_ones(SHAPE(3), 1, TC_OPTS(.dtype = TC_F64)), 1e-5));
  assert_error(TC_ERR_DTYPE, "bias has dtype float64");

  ck_assert_ptr_null(tc_group_norm(tc_randn(SHAPE(4, 6, 3), 3, NULL), 4, NULL, NULL, 1e-5));
  assert_error(TC_ERR_SHAPE, "divisible by num_groups, but got input of shape [4, 6, 3] and num_groups=4");
  ck_assert_ptr_null(tc_group_norm(tc_randn(SHAPE(1, 3), 2, NULL), 3, NULL, NULL, 1e-5));
  assert_error(TC_ERR_SHAPE, "expected more than 1 value per channel when training, got input size [1, 3]");
  ck_assert_ptr_null(tc_group_norm(tc_randn(SHAPE(3), 1, NULL), 3, NULL, NULL, 1e-5));
  assert_error(TC_ERR_SHAPE, "expected at least 2 dimensions");
  ck_assert_ptr_null(tc_group_norm(x, 3, tc_ones(SHAPE(2), 1, NULL), NULL, 1e-5));
  assert_error(TC_ERR_SHAPE, "weight should contain 3 elements");

  /* empty inputs */
  tc_tensor *e = leaf(tc_zeros(SHAPE(0, 3), 2, NULL)), *w = leaf(tc_ones(SHAPE(3), 1, NULL));
  tc_tensor *ye = tc_batch_norm(e, rm, rv, w, NULL, true, 0.1, 1e-5);
  assert_shape(ye, SHAPE(0, 3), 2);
  assert_equal(rm, tc_zeros(SHAPE(3), 1, NULL), "empty batch leaves running_mean");
  ck_assert_int_eq(tc_backward_ex(ye, ye, false), TC_OK);
  assert_equal(tc_tensor_grad(w), tc_zeros(SHAPE(3), 1, NULL), "empty batch weight grad");
  assert_shape(tc_layer_norm(e, 1, NULL, NULL, 1e-5), SHAPE(0, 3), 2);
  assert_shape(tc_group_norm(tc_zeros(SHAPE(0, 4, 3), 3, NULL), 2, NULL, NULL, 1e-5), SHAPE(0, 4, 3), 3);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* ---- allocation failures ---------------------------------------------------------------------------------- */
static int norm_step(void *ctx) {
  int op = *(int *)ctx, rc = 1;
  tc_tensor *x = tc_ones(SHAPE(4, 6, 5), 3, NULL), *w = tc_ones(SHAPE(6), 1, NULL), *b = tc_zeros(SHAPE(6), 1, NULL);
  tc_tensor *rm = tc_zeros(SHAPE(6), 1, NULL), *rv = tc_ones(SHAPE(6), 1, NULL), *wl = tc_ones(SHAPE(5), 1, NULL);
  tc_tensor *y = NULL, *gy = NULL, *gx = NULL, *gw = NULL;
  if (x && w && b && rm && rv && wl && !tc_tensor_requires_grad_(x, true) && !tc_tensor_requires_grad_(w, true) &&
      !tc_tensor_requires_grad_(b, true) && !tc_tensor_requires_grad_(wl, true)) {
    if (op == 0) y = tc_batch_norm(x, rm, rv, w, b, true, 0.1, 1e-5);
    else if (op == 1) y = tc_batch_norm(x, rm, rv, w, b, false, 0.1, 1e-5);
    else if (op == 2) y = tc_layer_norm(x, 1, wl, NULL, 1e-5);
    else y = tc_group_norm(x, 3, w, b, 1e-5);
    gy = y ? tc_ones_like(y, NULL) : NULL;
    if (gy && tc_backward_ex(y, gy, false) == TC_OK && (gx = tc_tensor_grad(x)) &&
        (gw = tc_tensor_grad(op == 2 ? wl : w)))
      rc = 0;
  }
  tc_tensor *all[] = {x, w, b, rm, rv, wl, y, gy, gx, gw};
  for (int i = 0; i < 10; i++) tc_tensor_release(all[i]);
  return rc;
}

static int bn_module_step(void *ctx) {
  (void)ctx;
  int rc = 1;
  tc_module *m = tc_batchnorm2d_create(3, TC_NORM_OPTS(.momentum = -1));
  tc_tensor *x = tc_ones(SHAPE(2, 3, 2, 2), 4, TC_OPTS(.dtype = TC_F16)), *y = NULL;
  if (m && x) {
    y = tc_module_forward(m, x);
    if (y) rc = 0;
  }
  tc_tensor_release(x);
  tc_tensor_release(y);
  tc_module_destroy(m);
  return rc;
}

START_TEST(test_norm_alloc_failures) {
  int ops[] = {0, 1, 2, 3};
  const char *names[] = {"batch_norm train", "batch_norm eval", "layer_norm", "group_norm"};
  for (int i = 0; i < 4; i++) check_alloc_failures(norm_step, &ops[i], names[i]);
  check_alloc_failures(bn_module_step, NULL, "BatchNorm2d module (float16)");
}
END_TEST

int main(void) {
  Suite *s = suite_create("core_norm");
  TCase *tc = tcase_create("norm");
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, test_bn_module_fixtures, 0, (int)(sizeof bn_cases / sizeof *bn_cases));
  tcase_add_loop_test(tc, test_ln_fixtures, 0, (int)(sizeof ln_cases / sizeof *ln_cases));
  tcase_add_loop_test(tc, test_gn_fixtures, 0, (int)(sizeof gn_cases / sizeof *gn_cases));
  tcase_add_test(tc, test_bn_float16_mixed);
  tcase_add_test(tc, test_bn_chunked_statistics);
  tcase_add_test(tc, test_norm_gradcheck);
  tcase_add_test(tc, test_norm_threads);
  tcase_add_test(tc, test_norm_modules);
  tcase_add_test(tc, test_norm_errors);
  tcase_add_test(tc, test_norm_alloc_failures);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
