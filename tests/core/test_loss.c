/* Losses (nn_functional.h) and their modules (nn_layers.h): forward values and input / target
 * gradients against PyTorch fixtures (tests/fixtures/gen/gen_loss.py) for every loss, reduction and
 * option; gradcheck in float64; modules; errors with their messages; allocation failures; results
 * independent of the thread count. */
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

#define FAM "loss"

enum { K_CE, K_NLL, K_BCE, K_BCEL, K_MSE, K_L1, K_SL1, K_HUB };
static const tc_dtype code_dtype[] = {TC_F32, TC_F64, TC_F16, TC_BF16, TC_I64, TC_U8};

typedef struct {
  int kind;
  tc_reduction red;
  int64_t ignore;
  double ls, p;
  const tc_tensor *w, *pw;
} loss_args;

static tc_tensor *apply(const loss_args *a, const tc_tensor *x, const tc_tensor *t) {
  tc_ce_opts o = {a->w, a->ignore, a->red, a->ls};
  switch (a->kind) {
    case K_CE: return tc_cross_entropy(x, t, &o);
    case K_NLL: return tc_nll_loss(x, t, &o);
    case K_BCE: return tc_binary_cross_entropy(x, t, a->w, a->red);
    case K_BCEL: return tc_binary_cross_entropy_with_logits(x, t, a->w, a->pw, a->red);
    case K_MSE: return tc_mse_loss(x, t, a->red);
    case K_L1: return tc_l1_loss(x, t, a->red);
    case K_SL1: return tc_smooth_l1_loss(x, t, a->red, a->p);
    default: return tc_huber_loss(x, t, a->red, a->p);
  }
}

/* tolerance of a dtype: "relative" means relative to the tensor's largest finite magnitude */
static double rel_tol(tc_dtype d) {
  switch (d) {
    case TC_F64: return 1e-12;
    case TC_F32: return 1e-6;
    case TC_F16: return 2e-3;
    default: return 1e-2; /* bf16 */
  }
}

static void close_scaled(const tc_tensor *got, const tc_tensor *exp, double rtol, const char *what) {
  tc_tensor *e = tc_contiguous(exp);
  const double *v = tc_tensor_data(e);
  double mx = 0;
  for (int64_t i = 0; i < tc_tensor_numel(e); i++)
    if (isfinite(v[i]) && fabs(v[i]) > mx) mx = fabs(v[i]);
  assert_close(got, e, rtol, rtol * (mx > 0 ? mx : 1), what);
}

/* the slice [off, off + n) of a flat float64 vector, shaped like `like` */
static tc_tensor *part(const tc_tensor *v, int64_t *off, const tc_tensor *like) {
  int64_t n = tc_tensor_numel(like);
  tc_tensor *s = tc_narrow(v, 0, *off, n);
  *off += n;
  return tc_reshape(s, tc_tensor_shape(like), tc_tensor_ndim(like));
}

static const char *const red_names[] = {"mean", "sum", "none"};

static void run_case(const char *base, int red) {
  char nm[128], what[192];
#define FX(suffix) (snprintf(nm, sizeof nm, "%s_%s", base, suffix), fx_load(FAM, nm))
#define FXT(suffix) (snprintf(nm, sizeof nm, "%s_%s", base, suffix), fx_try_load(FAM, nm))
  tc_tensor *opts = FX("opts");
  const double *o = tc_tensor_data(opts);
  loss_args a = {(int)o[0], (tc_reduction)red, (int64_t)o[1], o[2], o[3], NULL, NULL};
  tc_dtype rd = code_dtype[(int)o[4]], xd = code_dtype[(int)o[6]], td = code_dtype[(int)o[7]];
  bool tgrad = o[5] != 0;
  tc_tensor *x = tc_to_dtype(FX("x"), xd), *t = tc_to_dtype(FX("t"), td);
  tc_tensor *w = FXT("w"), *pw = FXT("pw");
  a.w = w ? tc_to_dtype(w, xd) : NULL;
  a.pw = pw ? tc_to_dtype(pw, xd) : NULL;
  ck_assert_int_eq(tc_tensor_requires_grad_(x, true), TC_OK);
  if (tgrad) ck_assert_int_eq(tc_tensor_requires_grad_(t, true), TC_OK);

  tc_tensor *y = apply(&a, x, t);
  ck_assert_msg(y != NULL, "%s %s: %s", base, red_names[red], tc_last_error());
  ck_assert_msg(tc_tensor_dtype(y) == rd, "%s %s: result dtype %s, torch gives %s", base, red_names[red],
                tc_dtype_name(tc_tensor_dtype(y)), tc_dtype_name(rd));
  ck_assert_ptr_nonnull(tc_tensor_grad_fn_name(y));

  snprintf(nm, sizeof nm, "%s_%s", base, red_names[red]);
  tc_tensor *ref = fx_load(FAM, nm);
  int64_t off = 0;
  tc_tensor *gy = tc_to_dtype(part(ref, &off, y), rd);
  snprintf(what, sizeof what, "%s %s: loss", base, red_names[red]);
  close_scaled(y, part(ref, &off, y), rel_tol(rd), what);

  ck_assert_msg(tc_backward_ex(y, gy, false) == TC_OK, "%s backward: %s", nm, tc_last_error());
  tc_tensor *gx = tc_tensor_grad(x);
  ck_assert_ptr_nonnull(gx);
  snprintf(what, sizeof what, "%s %s: d/dinput", base, red_names[red]);
  close_scaled(gx, part(ref, &off, x), rel_tol(xd), what);
  tc_tensor_release(gx);
  if (tgrad) {
    tc_tensor *gt = tc_tensor_grad(t);
    ck_assert_ptr_nonnull(gt);
    snprintf(what, sizeof what, "%s %s: d/dtarget", base, red_names[red]);
    close_scaled(gt, part(ref, &off, t), rel_tol(td), what);
    tc_tensor_release(gt);
  }
  ck_assert_int_eq(off, tc_tensor_numel(ref));
#undef FX
#undef FXT
}

START_TEST(test_fixtures) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *list = fx_load(FAM, "cases");
  int64_t n = tc_tensor_numel(list);
  char *text = malloc((size_t)n + 1);
  memcpy(text, tc_tensor_data(list), (size_t)n);
  text[n] = 0;
  int count = 0;
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    char base[96];
    int red;
    ck_assert_int_eq(sscanf(line, "%95s %d", base, &red), 2);
    tc_scope_push();
    run_case(base, red);
    tc_scope_pop();
    count++;
  }
  free(text);
  ck_assert_int_ge(count, 200);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* ---- node names, no_grad, non-contiguous inputs ---------------------------------------------------- */
START_TEST(test_graph_basics) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *x = tc_randn(SHAPE(4, 3), 2, NULL), *t = T_I64(SHAPE(4), 1, 0, 2, 1, 2);
  tc_tensor *y = tc_cross_entropy(x, t, NULL);
  ck_assert_ptr_null(tc_tensor_grad_fn_name(y)); /* nothing requires grad */
  tc_tensor_requires_grad_(x, true);
  ck_assert_str_eq(tc_tensor_grad_fn_name(tc_cross_entropy(x, t, NULL)), "CrossEntropyLossBackward0");
  ck_assert_str_eq(tc_tensor_grad_fn_name(tc_nll_loss(x, t, NULL)), "NllLossBackward0");
  tc_tensor *x4 = tc_randn(SHAPE(2, 3, 2, 2), 4, NULL);
  tc_tensor_requires_grad_(x4, true);
  ck_assert_str_eq(tc_tensor_grad_fn_name(tc_nll_loss(x4, tc_zeros(SHAPE(2, 2, 2), 3, TC_OPTS(.dtype = TC_I64)), NULL)),
                   "NllLoss2DBackward0");
  tc_tensor *p = tc_rand(SHAPE(4, 3), 2, NULL);
  tc_tensor_requires_grad_(p, true);
  ck_assert_str_eq(tc_tensor_grad_fn_name(tc_binary_cross_entropy(p, p, NULL, TC_REDUCTION_MEAN)), "BinaryCrossEntropyBackward0");
  ck_assert_str_eq(tc_tensor_grad_fn_name(tc_binary_cross_entropy_with_logits(x, p, NULL, NULL, TC_REDUCTION_SUM)),
                   "BinaryCrossEntropyWithLogitsBackward0");
  ck_assert_str_eq(tc_tensor_grad_fn_name(tc_mse_loss(x, p, TC_REDUCTION_NONE)), "MseLossBackward0");
  ck_assert_str_eq(tc_tensor_grad_fn_name(tc_l1_loss(x, p, TC_REDUCTION_NONE)), "L1LossBackward0");
  ck_assert_str_eq(tc_tensor_grad_fn_name(tc_smooth_l1_loss(x, p, TC_REDUCTION_MEAN, 1.0)), "SmoothL1LossBackward0");
  ck_assert_str_eq(tc_tensor_grad_fn_name(tc_huber_loss(x, p, TC_REDUCTION_MEAN, 1.0)), "HuberLossBackward0");
  tc_no_grad_push();
  ck_assert_ptr_null(tc_tensor_grad_fn_name(tc_cross_entropy(x, t, NULL)));
  ck_assert_ptr_null(tc_tensor_grad_fn_name(tc_mse_loss(x, p, TC_REDUCTION_MEAN)));
  tc_no_grad_pop();

  /* strided inputs give the same values and gradients as contiguous ones */
  tc_tensor *xt = tc_randn(SHAPE(3, 4), 2, NULL);
  tc_tensor *xs = tc_t(xt), *xc = tc_contiguous(xs);
  tc_tensor *leaf_s = tc_detach(xs), *leaf_c = tc_detach(xc);
  tc_tensor_requires_grad_(leaf_s, true);
  tc_tensor_requires_grad_(leaf_c, true);
  tc_ce_opts o = TC_CE_DEFAULTS;
  o.label_smoothing = 0.2;
  tc_tensor *ys = tc_cross_entropy(leaf_s, t, &o), *yc = tc_cross_entropy(leaf_c, t, &o);
  assert_close(ys, yc, 0, 0, "strided CE");
  ck_assert_int_eq(tc_backward(ys), TC_OK);
  ck_assert_int_eq(tc_backward(yc), TC_OK);
  assert_close(tc_tensor_grad(leaf_s), tc_tensor_grad(leaf_c), 0, 0, "strided CE grad");
  /* (C) input with a (1) target is accepted, as PyTorch (forward only: torch's own backward rejects it) */
  tc_tensor *x1 = tc_randn(SHAPE(5), 1, NULL);
  assert_close(tc_cross_entropy(x1, T_I64(SHAPE(1), 1, 3), NULL), tc_cross_entropy(x1, tc_full(NULL, 0, 3, TC_OPTS(.dtype = TC_I64)), NULL),
               0, 0, "(C) with (1)");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* ---- gradcheck in float64 ---------------------------------------------------------------------------- */
static tc_tensor *leaf64(const int64_t *shape, int64_t nd, double lo, double hi, uint64_t seed, bool grad) {
  tc_generator *g = tc_generator_create(seed);
  tc_tensor *t = tc_rand(shape, nd, TC_OPTS(.dtype = TC_F64, .generator = g));
  tc_generator_destroy(g);
  tc_mul_scalar_inplace(t, hi - lo);
  tc_add_scalar_inplace(t, lo);
  if (grad) tc_tensor_requires_grad_(t, true);
  return t;
}

static tc_tensor *gc_fn(const tc_tensor *const *in, int64_t n, void *user) {
  (void)n;
  return apply(user, in[0], in[1]);
}

static void gradcheck(loss_args a, const tc_tensor *x, const tc_tensor *t, const char *what) {
  static const tc_reduction reds[3] = {TC_REDUCTION_MEAN, TC_REDUCTION_SUM, TC_REDUCTION_NONE};
  for (int r = 0; r < 3; r++) {
    a.red = reds[r];
    const tc_tensor *in[2] = {x, t};
    tc_status s = tc_gradcheck(gc_fn, in, 2, &a, 1e-6, 1e-7, 1e-5);
    ck_assert_msg(s == TC_OK, "gradcheck %s (%s): %s", what, red_names[r], tc_last_error());
  }
}

START_TEST(test_gradcheck) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *x = leaf64(SHAPE(5, 4), 2, -2, 2, 1, true);
  tc_tensor *t = T_I64(SHAPE(5), 1, 0, 3, -100, 2, 3);
  tc_tensor *w = tc_to_dtype(T_F32(SHAPE(4), 1, 0.5f, 1.5f, 2.0f, 0.25f), TC_F64);
  gradcheck((loss_args){K_CE, 0, -100, 0.0, 0, NULL, NULL}, x, t, "cross_entropy");
  gradcheck((loss_args){K_CE, 0, -100, 0.2, 0, w, NULL}, x, t, "cross_entropy weight + smoothing");
  gradcheck((loss_args){K_NLL, 0, 3, 0.0, 0, w, NULL}, x, T_I64(SHAPE(5), 1, 3, 1, 0, 3, 2), "nll_loss weight + ignore 3");
  /* probabilities: gradients for input and target */
  tc_tensor *pt = leaf64(SHAPE(5, 4), 2, 0, 1, 2, true);
  gradcheck((loss_args){K_CE, 0, -100, 0.3, 0, w, NULL}, x, pt, "cross_entropy probabilities");
  /* spatial (N, C, H, W) with more positions than one block */
  tc_tensor *xs = leaf64(SHAPE(2, 3, 5, 14), 4, -2, 2, 3, true);
  tc_tensor *ts = tc_remainder_scalar(tc_arange(0, 140, 1, TC_OPTS(.dtype = TC_I64)), 3);
  ts = tc_reshape(ts, SHAPE(2, 5, 14), 3);
  tc_tensor *w3 = tc_to_dtype(T_F32(SHAPE(3), 1, 0.7f, 1.3f, 2.0f), TC_F64);
  gradcheck((loss_args){K_CE, 0, 1, 0.1, 0, w3, NULL}, xs, ts, "cross_entropy spatial");
  gradcheck((loss_args){K_NLL, 0, -100, 0, 0, w3, NULL}, xs, ts, "nll_loss spatial");
  tc_tensor *ps = leaf64(SHAPE(2, 3, 5, 14), 4, 0, 1, 4, true);
  gradcheck((loss_args){K_CE, 0, -100, 0.1, 0, w3, NULL}, xs, ps, "cross_entropy spatial probabilities");
  /* binary cross entropy: x, y in (0, 1); with logits: pos_weight along the class dim */
  tc_tensor *bx = leaf64(SHAPE(3, 4), 2, 0.1, 0.9, 5, true), *by = leaf64(SHAPE(3, 4), 2, 0.05, 0.95, 6, true);
  gradcheck((loss_args){K_BCE, 0, 0, 0, 0, NULL, NULL}, bx, by, "binary_cross_entropy");
  gradcheck((loss_args){K_BCE, 0, 0, 0, 0, tc_to_dtype(T_F32(SHAPE(4), 1, 1, 2, 0.5f, 3), TC_F64), NULL}, bx, by,
            "binary_cross_entropy weight");
  tc_tensor *lx = leaf64(SHAPE(3, 4), 2, -4, 4, 7, true);
  tc_tensor *pw = tc_to_dtype(T_F32(SHAPE(4), 1, 0.5f, 2.0f, 3.0f, 1.0f), TC_F64);
  gradcheck((loss_args){K_BCEL, 0, 0, 0, 0, NULL, NULL}, lx, by, "bce_with_logits");
  gradcheck((loss_args){K_BCEL, 0, 0, 0, 0, tc_to_dtype(T_F32(SHAPE(3, 1), 2, 1, 0.5f, 2), TC_F64), pw}, lx, by,
            "bce_with_logits weight + pos_weight");
  /* regression losses, broadcasting input (3, 1, 4) against target (5, 4); differences avoid the kinks */
  tc_tensor *rx = leaf64(SHAPE(3, 1, 4), 3, -3, 3, 8, true), *ry = leaf64(SHAPE(5, 4), 2, -3, 3, 9, true);
  gradcheck((loss_args){K_MSE, 0, 0, 0, 0, NULL, NULL}, rx, ry, "mse_loss");
  gradcheck((loss_args){K_L1, 0, 0, 0, 0, NULL, NULL}, rx, ry, "l1_loss");
  gradcheck((loss_args){K_SL1, 0, 0, 0, 1.0, NULL, NULL}, rx, ry, "smooth_l1_loss");
  gradcheck((loss_args){K_SL1, 0, 0, 0, 0.0, NULL, NULL}, rx, ry, "smooth_l1_loss beta 0");
  gradcheck((loss_args){K_HUB, 0, 0, 0, 0.7, NULL, NULL}, rx, ry, "huber_loss");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* ---- modules ----------------------------------------------------------------------------------------- */
START_TEST(test_modules) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *x = tc_randn(SHAPE(6, 4), 2, NULL), *t = T_I64(SHAPE(6), 1, 0, 1, 2, 3, -100, 1);
  tc_tensor *p = tc_rand(SHAPE(6, 4), 2, NULL), *q = tc_rand(SHAPE(6, 4), 2, NULL);
  const tc_tensor *xt[2] = {x, t}, *xq[2] = {x, q}, *pq[2] = {p, q};

  /* CrossEntropyLoss(weight, label_smoothing): the weight is a buffer, the state_dict holds it */
  tc_scope_push();
  tc_tensor *w = T_F32(SHAPE(4), 1, 1, 2, 0.5f, 1);
  tc_ce_opts o = {w, -100, TC_REDUCTION_SUM, 0.1};
  tc_module *ce = tc_cross_entropy_loss_create(&o);
  tc_scope_pop(); /* the module keeps the weight alive */
  ck_assert_ptr_nonnull(ce);
  ck_assert_str_eq(tc_module_type(ce), "CrossEntropyLoss");
  tc_tensor *wb = tc_module_buffer(ce, "weight");
  ck_assert_ptr_nonnull(wb);
  o.weight = wb;
  assert_close(tc_module_forward_n(ce, xt, 2), tc_cross_entropy(x, t, &o), 0, 0, "CrossEntropyLoss");
  tc_state_dict *sd = tc_state_dict_create();
  ck_assert_int_eq(tc_module_state_dict(ce, sd, NULL), TC_OK);
  ck_assert(tc_state_dict_contains(sd, "weight"));
  tc_state_dict_destroy(sd);
  ck_assert_ptr_null(tc_module_forward(ce, x)); /* one input */
  assert_error(TC_ERR_ARG, "CrossEntropyLoss: forward takes (input, target), got 1 input");
  /* to(float64) converts the weight with the module */
  ck_assert_int_eq(tc_module_to_dtype(ce, TC_F64), TC_OK);
  tc_tensor *x64 = tc_to_dtype(x, TC_F64);
  const tc_tensor *xt64[2] = {x64, t};
  tc_tensor *y64 = tc_module_forward_n(ce, xt64, 2);
  ck_assert_msg(y64 != NULL, "%s", tc_last_error());
  ck_assert_int_eq(tc_tensor_dtype(y64), TC_F64);
  tc_module_destroy(ce);

  /* defaults: no weight buffer value, empty state_dict */
  tc_module *ce0 = tc_cross_entropy_loss_create(NULL);
  ck_assert_ptr_null(tc_module_buffer(ce0, "weight"));
  sd = tc_state_dict_create();
  ck_assert_int_eq(tc_module_state_dict(ce0, sd, NULL), TC_OK);
  ck_assert_int_eq(tc_state_dict_size(sd), 0);
  tc_state_dict_destroy(sd);
  assert_close(tc_module_forward_n(ce0, xt, 2), tc_cross_entropy(x, t, NULL), 0, 0, "CrossEntropyLoss()");
  tc_module_destroy(ce0);

  tc_module *nll = tc_nll_loss_create(&(tc_ce_opts){NULL, -100, TC_REDUCTION_NONE, 0});
  ck_assert_str_eq(tc_module_type(nll), "NLLLoss");
  assert_close(tc_module_forward_n(nll, xt, 2), tc_nll_loss(x, t, &(tc_ce_opts){NULL, -100, TC_REDUCTION_NONE, 0}), 0, 0,
               "NLLLoss");
  tc_module_destroy(nll);

  tc_tensor *bw = T_F32(SHAPE(4), 1, 1, 2, 3, 4);
  tc_module *bce = tc_bce_loss_create(bw, TC_REDUCTION_MEAN);
  ck_assert_str_eq(tc_module_type(bce), "BCELoss");
  assert_close(tc_module_forward_n(bce, pq, 2), tc_binary_cross_entropy(p, q, bw, TC_REDUCTION_MEAN), 0, 0, "BCELoss");
  tc_module_destroy(bce);

  tc_tensor *pw = T_F32(SHAPE(4), 1, 2, 1, 0.5f, 3);
  tc_module *bcel = tc_bce_with_logits_loss_create(NULL, pw, TC_REDUCTION_SUM);
  ck_assert_str_eq(tc_module_type(bcel), "BCEWithLogitsLoss");
  ck_assert_ptr_null(tc_module_buffer(bcel, "weight"));
  ck_assert_ptr_nonnull(tc_module_buffer(bcel, "pos_weight"));
  assert_close(tc_module_forward_n(bcel, xq, 2), tc_binary_cross_entropy_with_logits(x, q, NULL, pw, TC_REDUCTION_SUM),
               0, 0, "BCEWithLogitsLoss");
  sd = tc_state_dict_create();
  ck_assert_int_eq(tc_module_state_dict(bcel, sd, NULL), TC_OK);
  ck_assert(tc_state_dict_contains(sd, "pos_weight") && !tc_state_dict_contains(sd, "weight"));
  tc_state_dict_destroy(sd);
  tc_module_destroy(bcel);

  struct {
    tc_module *m;
    const char *type;
    tc_tensor *expect;
  } simple[] = {
      {tc_mse_loss_create(TC_REDUCTION_MEAN), "MSELoss", tc_mse_loss(x, q, TC_REDUCTION_MEAN)},
      {tc_l1_loss_create(TC_REDUCTION_NONE), "L1Loss", tc_l1_loss(x, q, TC_REDUCTION_NONE)},
      {tc_smooth_l1_loss_create(TC_REDUCTION_SUM, 0.5), "SmoothL1Loss", tc_smooth_l1_loss(x, q, TC_REDUCTION_SUM, 0.5)},
      {tc_huber_loss_create(TC_REDUCTION_MEAN, 0.3), "HuberLoss", tc_huber_loss(x, q, TC_REDUCTION_MEAN, 0.3)},
  };
  for (int i = 0; i < 4; i++) {
    ck_assert_ptr_nonnull(simple[i].m);
    ck_assert_str_eq(tc_module_type(simple[i].m), simple[i].type);
    assert_close(tc_module_forward_n(simple[i].m, xq, 2), simple[i].expect, 0, 0, simple[i].type);
    tc_module_destroy(simple[i].m);
  }

  /* gradients flow through a module */
  tc_tensor *xl = tc_detach(x);
  tc_tensor_requires_grad_(xl, true);
  tc_module *m = tc_cross_entropy_loss_create(NULL);
  const tc_tensor *in[2] = {xl, t};
  ck_assert_int_eq(tc_backward(tc_module_forward_n(m, in, 2)), TC_OK);
  ck_assert_ptr_nonnull(tc_tensor_grad(xl));
  tc_module_destroy(m);

  /* constructor errors */
  ck_assert_ptr_null(tc_mse_loss_create((tc_reduction)9));
  assert_error(TC_ERR_ARG, "reduction 9");
  ck_assert_ptr_null(tc_smooth_l1_loss_create(TC_REDUCTION_MEAN, -1));
  assert_error(TC_ERR_ARG, "beta must be >= 0");
  ck_assert_ptr_null(tc_huber_loss_create(TC_REDUCTION_MEAN, 0));
  assert_error(TC_ERR_ARG, "delta must be > 0");
  ck_assert_ptr_null(tc_bce_loss_create(T_I64(SHAPE(2), 1, 1, 2), TC_REDUCTION_MEAN));
  assert_error(TC_ERR_DTYPE, "weight must be floating point");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* ---- errors ------------------------------------------------------------------------------------------ */
START_TEST(test_errors) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *x = tc_randn(SHAPE(2, 3), 2, NULL), *t = T_I64(SHAPE(2), 1, 0, 2);
  tc_ce_opts o = TC_CE_DEFAULTS;
  /* class index out of range: named, never a crash */
  ck_assert_ptr_null(tc_cross_entropy(x, T_I64(SHAPE(2), 1, 0, 5), NULL));
  assert_error(TC_ERR_ARG, "tc_cross_entropy: target 5 is out of bounds: classes are 0..2");
  ck_assert_ptr_null(tc_nll_loss(x, T_I64(SHAPE(2), 1, -1, 0), NULL));
  assert_error(TC_ERR_ARG, "target -1 is out of bounds");
  ck_assert_ptr_null(tc_cross_entropy(tc_randn(SHAPE(2, 3, 2), 3, NULL), T_I64(SHAPE(2, 2), 2, 0, 1, 2, 7), NULL));
  assert_error(TC_ERR_ARG, "target 7 is out of bounds: classes are 0..2 (ignore_index -100), at target[1, 1]");
  o.ignore_index = 5; /* an ignored value outside the classes is fine */
  ck_assert_ptr_nonnull(tc_cross_entropy(x, T_I64(SHAPE(2), 1, 5, 1), &o));
  o.ignore_index = -100;
  /* shapes */
  ck_assert_ptr_null(tc_cross_entropy(x, T_I64(SHAPE(3), 1, 0, 1, 2), NULL));
  assert_error(TC_ERR_SHAPE, "input of shape [2, 3] needs a target of shape [2], got [3]");
  ck_assert_ptr_null(tc_cross_entropy(tc_randn(SHAPE(2, 3, 4), 3, NULL), t, NULL));
  assert_error(TC_ERR_SHAPE, "input of shape [2, 3, 4] needs a target of shape [2, 4], got [2]");
  ck_assert_ptr_null(tc_cross_entropy(tc_randn(SHAPE(3), 1, NULL), T_I64(SHAPE(2), 1, 0, 1), NULL));
  assert_error(TC_ERR_SHAPE, "input of shape [3] needs a target of shape [], got [2]");
  ck_assert_ptr_null(tc_cross_entropy(tc_full(NULL, 0, 1, NULL), tc_full(NULL, 0, 1, NULL), NULL));
  assert_error(TC_ERR_SHAPE, "got a 0-d tensor");
  o.weight = T_F32(SHAPE(4), 1, 1, 1, 1, 1);
  ck_assert_ptr_null(tc_cross_entropy(x, t, &o));
  assert_error(TC_ERR_SHAPE, "weight should have one entry per class (3 classes, input [2, 3]), got shape [4]");
  o.weight = tc_ones(SHAPE(3), 1, TC_OPTS(.dtype = TC_F64));
  ck_assert_ptr_null(tc_nll_loss(x, t, &o));
  assert_error(TC_ERR_DTYPE, "weight must have the input's dtype float32, got float64");
  o.weight = NULL;
  /* dtypes */
  ck_assert_ptr_null(tc_cross_entropy(x, tc_to_dtype(t, TC_I32), NULL));
  assert_error(TC_ERR_DTYPE, "expected target dtype to be int64 or uint8 (class indices), got int32");
  ck_assert_ptr_null(tc_nll_loss(x, tc_to_dtype(t, TC_F32), NULL));
  assert_error(TC_ERR_DTYPE, "got float32");
  ck_assert_ptr_null(tc_cross_entropy(x, tc_zeros(SHAPE(2, 3), 2, TC_OPTS(.dtype = TC_I64)), NULL));
  assert_error(TC_ERR_DTYPE, "holds class probabilities and must be floating point, got int64");
  ck_assert_ptr_null(tc_cross_entropy(tc_zeros(SHAPE(2, 3), 2, TC_OPTS(.dtype = TC_I64)), t, NULL));
  assert_error(TC_ERR_DTYPE, "input must be a floating point tensor of logits, got int64");
  /* options */
  o.label_smoothing = 1.5;
  ck_assert_ptr_null(tc_cross_entropy(x, t, &o));
  assert_error(TC_ERR_ARG, "label_smoothing must be between 0.0 and 1.0, got 1.5");
  o.label_smoothing = 0;
  o.ignore_index = 1;
  ck_assert_ptr_null(tc_cross_entropy(x, tc_rand(SHAPE(2, 3), 2, NULL), &o));
  assert_error(TC_ERR_ARG, "ignore_index (1) is not supported for class-probability targets");
  o.ignore_index = -100;
  o.reduction = (tc_reduction)5;
  ck_assert_ptr_null(tc_cross_entropy(x, t, &o));
  assert_error(TC_ERR_ARG, "tc_cross_entropy: reduction 5 is not mean");
  /* NULL arguments (an earlier error is kept, so clear it first) */
  tc_clear_error();
  ck_assert_ptr_null(tc_cross_entropy(NULL, t, NULL));
  assert_error(TC_ERR_ARG, "tc_cross_entropy: input is NULL");
  tc_clear_error();
  ck_assert_ptr_null(tc_mse_loss(x, NULL, TC_REDUCTION_MEAN));
  assert_error(TC_ERR_ARG, "tc_mse_loss: target is NULL");
  tc_clear_error();

  /* binary cross entropy */
  tc_tensor *p = tc_rand(SHAPE(2, 3), 2, NULL);
  ck_assert_ptr_null(tc_binary_cross_entropy(p, tc_rand(SHAPE(3, 2), 2, NULL), NULL, TC_REDUCTION_MEAN));
  assert_error(TC_ERR_SHAPE, "tc_binary_cross_entropy: target shape [3, 2] must be the same as input shape [2, 3]");
  ck_assert_ptr_null(tc_binary_cross_entropy(T_F32(SHAPE(2), 1, 0.5f, 1.5f), T_F32(SHAPE(2), 1, 0, 1), NULL,
                                             TC_REDUCTION_MEAN));
  assert_error(TC_ERR_ARG, "all elements of input should be between 0 and 1, element 1 is 1.5");
  ck_assert_ptr_null(tc_binary_cross_entropy(T_F32(SHAPE(2), 1, 0.5f, NAN), T_F32(SHAPE(2), 1, 0, 1), NULL,
                                             TC_REDUCTION_MEAN));
  assert_error(TC_ERR_ARG, "element 1 is nan");
  ck_assert_ptr_null(tc_binary_cross_entropy(T_F32(SHAPE(2), 1, 0.5f, 0.5f), T_F32(SHAPE(2), 1, -0.5f, 1), NULL,
                                             TC_REDUCTION_MEAN));
  assert_error(TC_ERR_ARG, "all elements of target should be between 0 and 1, element 0 is -0.5");
  ck_assert_ptr_null(tc_binary_cross_entropy(p, tc_to_dtype(p, TC_F64), NULL, TC_REDUCTION_MEAN));
  assert_error(TC_ERR_DTYPE, "target must have the input's dtype float32, got float64");
  ck_assert_ptr_null(tc_binary_cross_entropy(p, p, tc_ones(SHAPE(2, 2, 3), 3, NULL), TC_REDUCTION_MEAN));
  assert_error(TC_ERR_SHAPE, "weight of shape [2, 2, 3] does not broadcast to the input's shape [2, 3]");
  ck_assert_ptr_null(tc_binary_cross_entropy_with_logits(x, p, NULL, tc_ones(SHAPE(4), 1, NULL), TC_REDUCTION_MEAN));
  assert_error(TC_ERR_SHAPE, "pos_weight of shape [4] does not broadcast to the input's shape [2, 3]");
  ck_assert_ptr_null(tc_binary_cross_entropy_with_logits(x, tc_ones(SHAPE(2, 3), 2, TC_OPTS(.dtype = TC_I64)), NULL, NULL,
                                                         TC_REDUCTION_MEAN));
  assert_error(TC_ERR_DTYPE, "input and target must be floating point, got float32 and int64");
  ck_assert_ptr_null(tc_binary_cross_entropy_with_logits(x, tc_ones(SHAPE(3), 1, NULL), NULL, NULL, TC_REDUCTION_MEAN));
  assert_error(TC_ERR_SHAPE, "target shape [3] must be the same as input shape [2, 3]");

  /* regression losses */
  ck_assert_ptr_null(tc_mse_loss(x, tc_randn(SHAPE(4), 1, NULL), TC_REDUCTION_MEAN));
  assert_error(TC_ERR_SHAPE, "[2, 3]");
  ck_assert_ptr_null(tc_l1_loss(t, t, TC_REDUCTION_SUM));
  assert_error(TC_ERR_DTYPE, "tc_l1_loss: needs floating point operands, got input int64 and target int64");
  ck_assert_ptr_null(tc_huber_loss(t, tc_to_dtype(t, TC_F32), TC_REDUCTION_SUM, 1));
  assert_error(TC_ERR_DTYPE, "needs floating point operands");
  ck_assert_ptr_null(tc_smooth_l1_loss(x, x, TC_REDUCTION_MEAN, -0.5));
  assert_error(TC_ERR_ARG, "tc_smooth_l1_loss: beta must be >= 0, got -0.5");
  ck_assert_ptr_null(tc_huber_loss(x, x, TC_REDUCTION_MEAN, 0));
  assert_error(TC_ERR_ARG, "tc_huber_loss: delta must be > 0, got 0");
  ck_assert_ptr_null(tc_huber_loss(x, x, (tc_reduction)-1, 1));
  assert_error(TC_ERR_ARG, "reduction -1 is not mean (0), sum (1) or none (2)");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* ---- large inputs against a double-precision reference; thread-count independence ---------------- */
static void ce_reference(const float *x, const int64_t *t, int64_t N, int64_t C, double *loss, double *grad) {
  double total = 0;
  for (int64_t n = 0; n < N; n++) {
    double m = -INFINITY, s = 0;
    for (int64_t c = 0; c < C; c++) m = fmax(m, x[n * C + c]);
    for (int64_t c = 0; c < C; c++) s += exp(x[n * C + c] - m);
    double lse = m + log(s);
    total += lse - x[n * C + t[n]];
    for (int64_t c = 0; c < C; c++) grad[n * C + c] = (exp(x[n * C + c] - lse) - (c == t[n])) / (double)N;
  }
  *loss = total / (double)N;
}

static tc_tensor *ce_step(const tc_tensor *x0, const tc_tensor *t, tc_tensor **grad) {
  tc_tensor *x = tc_detach(x0);
  tc_tensor_requires_grad_(x, true);
  tc_tensor *y = tc_cross_entropy(x, t, NULL);
  ck_assert_int_eq(tc_backward(y), TC_OK);
  *grad = tc_tensor_grad(x);
  return y;
}

START_TEST(test_large_and_threads) {
  LEAK_BEGIN;
  tc_scope_push();
  const int64_t N = 256, C = 1000;
  tc_generator *g = tc_generator_create(11);
  tc_tensor *x = tc_mul_scalar(tc_randn(SHAPE(N, C), 2, TC_OPTS(.generator = g)), 3.0);
  tc_tensor *t = tc_randint(0, C, SHAPE(N), 1, TC_OPTS(.generator = g));
  tc_generator_destroy(g);
  double *gref = malloc(sizeof(double) * (size_t)(N * C)), lref;
  ce_reference(tc_tensor_data(x), tc_tensor_data(t), N, C, &lref, gref);
  int nt0 = tc_get_num_threads();
  tc_set_num_threads(1);
  tc_tensor *g1, *y1 = ce_step(x, t, &g1);
  tc_set_num_threads(2);
  tc_tensor *g2, *y2 = ce_step(x, t, &g2);
  tc_set_num_threads(nt0);
  assert_equal(y1, y2, "CE loss with 1 and 2 threads");
  assert_equal(g1, g2, "CE grad with 1 and 2 threads");
  tc_tensor *lr = tc_full(NULL, 0, lref, TC_OPTS(.dtype = TC_F64));
  assert_close(y1, lr, 1e-6, 0, "CE (256, 1000) loss vs double reference");
  tc_tensor *gr = tc_tensor_from_blob(gref, SHAPE(N, C), NULL, 2, TC_F64, NULL, NULL);
  close_scaled(g1, gr, 1e-6, "CE (256, 1000) grad vs double reference");

  /* pointwise losses over several work units: 1 vs 2 threads, and a double reference for mse */
  tc_tensor *a = tc_randn(SHAPE(10007), 1, NULL), *b = tc_rand(SHAPE(10007), 1, NULL);
  tc_tensor *pa = tc_rand(SHAPE(10007), 1, NULL);
  tc_tensor *r1[3], *r2[3];
  for (int k = 0; k < 2; k++) {
    tc_set_num_threads(k ? 2 : 1);
    tc_tensor **r = k ? r2 : r1;
    r[0] = tc_mse_loss(a, b, TC_REDUCTION_MEAN);
    r[1] = tc_binary_cross_entropy(pa, b, NULL, TC_REDUCTION_SUM);
    r[2] = tc_binary_cross_entropy_with_logits(a, b, NULL, NULL, TC_REDUCTION_MEAN);
  }
  tc_set_num_threads(nt0);
  for (int i = 0; i < 3; i++) assert_equal(r1[i], r2[i], "pointwise loss with 1 and 2 threads");
  const float *av = tc_tensor_data(a), *bv = tc_tensor_data(b);
  double s = 0;
  for (int64_t i = 0; i < 10007; i++) s += ((double)av[i] - bv[i]) * ((double)av[i] - bv[i]);
  assert_close(r1[0], tc_full(NULL, 0, s / 10007, TC_OPTS(.dtype = TC_F64)), 1e-6, 0, "mse (10007) vs double");
  tc_tensor_release(gr);
  free(gref);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* ---- allocation failures ----------------------------------------------------------------------------- */
static int ce_train(void *ctx) {
  int spatial = *(int *)ctx;
  int rc = 1;
  tc_tensor *x = spatial ? tc_ones(SHAPE(2, 3, 2, 2), 4, NULL) : tc_ones(SHAPE(4, 3), 2, NULL);
  tc_tensor *t = spatial ? tc_zeros(SHAPE(2, 2, 2), 3, TC_OPTS(.dtype = TC_I64)) : tc_zeros(SHAPE(4), 1, TC_OPTS(.dtype = TC_I64));
  tc_tensor *w = tc_ones(SHAPE(3), 1, NULL), *y = NULL, *g = NULL;
  if (x && t && w && tc_tensor_requires_grad_(x, true) == TC_OK) {
    tc_ce_opts o = {w, -100, TC_REDUCTION_MEAN, 0.1};
    y = tc_cross_entropy(x, t, &o);
    if (y && tc_backward(y) == TC_OK && (g = tc_tensor_grad(x))) rc = 0;
  }
  tc_tensor *all[] = {x, t, w, y, g};
  for (int i = 0; i < 5; i++) tc_tensor_release(all[i]);
  return rc;
}

static int pointwise_train(void *ctx) {
  (void)ctx;
  int rc = 1;
  tc_tensor *x = tc_ones(SHAPE(3, 1), 2, NULL), *t = tc_zeros(SHAPE(4), 1, NULL), *y = NULL, *g = NULL, *o = NULL;
  if (x && t && tc_tensor_requires_grad_(x, true) == TC_OK) {
    y = tc_mse_loss(x, t, TC_REDUCTION_NONE); /* broadcast: the gradient is summed back */
    o = y ? tc_ones_like(y, NULL) : NULL;
    if (o && tc_backward_ex(y, o, false) == TC_OK && (g = tc_tensor_grad(x))) rc = 0;
  }
  tc_tensor *all[] = {x, t, y, g, o};
  for (int i = 0; i < 5; i++) tc_tensor_release(all[i]);
  return rc;
}

static int module_make(void *ctx) {
  (void)ctx;
  tc_tensor *w = tc_ones(SHAPE(3), 1, NULL);
  tc_module *m = w ? tc_bce_with_logits_loss_create(w, w, TC_REDUCTION_MEAN) : NULL;
  tc_tensor_release(w);
  int rc = m ? 0 : 1;
  tc_module_destroy(m);
  return rc;
}

START_TEST(test_alloc_failures) {
  int flat = 0, spatial = 1;
  check_alloc_failures(ce_train, &flat, "cross_entropy forward + backward");
  check_alloc_failures(ce_train, &spatial, "cross_entropy (N, C, H, W) forward + backward");
  check_alloc_failures(pointwise_train, NULL, "mse_loss broadcast forward + backward");
  check_alloc_failures(module_make, NULL, "BCEWithLogitsLoss create");
}
END_TEST

int main(void) {
  Suite *s = suite_create("core_loss");
  TCase *tc = tcase_create("loss");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_fixtures);
  tcase_add_test(tc, test_graph_basics);
  tcase_add_test(tc, test_gradcheck);
  tcase_add_test(tc, test_modules);
  tcase_add_test(tc, test_errors);
  tcase_add_test(tc, test_large_and_threads);
  tcase_add_test(tc, test_alloc_failures);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
