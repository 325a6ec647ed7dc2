/* Optimizers and gradient clipping against PyTorch (fixtures from tests/fixtures/gen/gen_optim.py):
 * SGD/Adam/AdamW/RMSprop/Adagrad trajectories over 25 steps for several option sets (f32 and
 * f64, parameter groups, a parameter whose grad is sometimes NULL), zero_grad, clip_grad_norm_ /
 * clip_grad_value_, strided parameters, thread-count invariance, state_dict resume, errors,
 * leaks and allocation failures.
 *
 * SGD trajectories must match PyTorch bit for bit. The other optimizers take a sqrt, which
 * PyTorch's CPU build computes with MKL's vsSqrt (not correctly rounded); they are compared with
 * rtol 1e-6 and the count of bit-identical elements is printed when CTORCH_OPTIM_REPORT is set. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "test_util.h"

#define FAM "optim"
#define STEPS 25
#define NP 3

static bool has_grad(int k, int t) { return !(k == 2 && t % 7 == 3); }

/* fresh leaf parameters from the fixtures (owned by the caller's scope) */
static void make_params(bool f64, tc_tensor **ps) {
  char name[64];
  for (int k = 0; k < NP; k++) {
    snprintf(name, sizeof name, f64 ? "p%d_init_f64" : "p%d_init", k);
    ps[k] = fx_load(FAM, name);
    ck_assert_int_eq(tc_tensor_requires_grad_(ps[k], true), TC_OK);
  }
}

static void load_grads(bool f64, tc_tensor **gs) {
  char name[64];
  for (int k = 0; k < NP; k++) {
    snprintf(name, sizeof name, f64 ? "g%d_f64" : "g%d", k);
    gs[k] = fx_load(FAM, name);
  }
}

static void set_step_grads(tc_tensor **ps, tc_tensor **gs, int t) {
  for (int k = 0; k < NP; k++) {
    if (has_grad(k, t)) {
      tc_tensor *g = tc_select(gs[k], 0, t); /* a view with an offset into the fixture */
      ck_assert_int_eq(tc_tensor_set_grad(ps[k], g), TC_OK);
    } else {
      ck_assert_int_eq(tc_tensor_set_grad(ps[k], NULL), TC_OK);
    }
  }
}

static int64_t n_exact, n_total;

/* Counts bit-identical elements, then checks closeness (or equality when exact). */
static void compare(const tc_tensor *got, const tc_tensor *want, bool exact, const char *what) {
  tc_tensor *a = tc_contiguous(got), *e = tc_contiguous(want);
  int64_t n = tc_tensor_numel(e);
  size_t es = tc_tensor_element_size(e);
  ck_assert_int_eq(tc_tensor_numel(a), n);
  const char *pa = tc_tensor_data(a), *pe = tc_tensor_data(e);
  for (int64_t i = 0; i < n; i++) n_exact += !memcmp(pa + i * es, pe + i * es, es);
  n_total += n;
  if (exact)
    assert_equal(got, want, what);
  else
    assert_close(got, want, 1e-6, 1e-7, what);
}

static void report(const char *name) {
  if (getenv("CTORCH_OPTIM_REPORT"))
    fprintf(stderr, "%-18s %6lld / %6lld elements bit-identical to PyTorch\n", name, (long long)n_exact,
            (long long)n_total);
  n_exact = n_total = 0;
}

/* Runs the 25 steps and compares every step with <name>_traj<k>. */
static void run_traj(const char *name, tc_optimizer *opt, tc_tensor **ps, bool f64, bool exact) {
  ck_assert_msg(opt != NULL, "%s: %s", name, tc_last_error());
  tc_tensor *gs[NP], *traj[NP];
  char key[96];
  load_grads(f64, gs);
  for (int k = 0; k < NP; k++) {
    snprintf(key, sizeof key, "%s_traj%d", name, k);
    traj[k] = fx_load(FAM, key);
  }
  for (int t = 0; t < STEPS; t++) {
    set_step_grads(ps, gs, t);
    ck_assert_msg(tc_optim_step(opt) == TC_OK, "%s step %d: %s", name, t, tc_last_error());
    for (int k = 0; k < NP; k++) {
      snprintf(key, sizeof key, "%s step %d param %d", name, t, k);
      compare(ps[k], tc_select(traj[k], 0, t), exact, key);
    }
  }
  report(name);
}

typedef struct {
  const char *name;
  tc_optim_kind kind;
  bool f64, exact;
  tc_sgd_opts sgd;
  tc_adam_opts adam;
  tc_rmsprop_opts rms;
  tc_adagrad_opts ada;
} ocase;

#define SGD(...) .kind = TC_OPTIM_SGD, .exact = true, .sgd = {__VA_ARGS__}
#define ADAM(...) .kind = TC_OPTIM_ADAM, .adam = {__VA_ARGS__}
#define ADAMW(...) .kind = TC_OPTIM_ADAMW, .adam = {__VA_ARGS__}
#define RMS(...) .kind = TC_OPTIM_RMSPROP, .rms = {__VA_ARGS__}
#define ADA(...) .kind = TC_OPTIM_ADAGRAD, .ada = {__VA_ARGS__}
#define B2 .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8 /* Adam's defaults, where a case keeps them */

/* mirrors the run(...) calls of gen_optim.py */
static const ocase CASES[] = {
    {"sgd_plain", SGD(.lr = 0.1)},
    {"sgd_momentum", SGD(.lr = 0.05, .momentum = 0.9)},
    {"sgd_dampening", SGD(.lr = 0.05, .momentum = 0.9, .dampening = 0.3, .weight_decay = 0.01)},
    {"sgd_nesterov", SGD(.lr = 0.05, .momentum = 0.9, .nesterov = true, .weight_decay = 0.05)},
    {"sgd_maximize", SGD(.lr = 0.05, .momentum = 0.5, .maximize = true)},
    {"sgd_f64", .f64 = true, SGD(.lr = 0.05, .momentum = 0.9, .nesterov = true, .weight_decay = 0.05)},
    {"adam_default", ADAM(.lr = 1e-2, B2)},
    {"adam_l2", ADAM(.lr = 1e-2, .weight_decay = 0.1, B2)},
    {"adam_amsgrad", ADAM(.lr = 1e-2, .beta1 = 0.8, .beta2 = 0.99, .eps = 1e-8, .amsgrad = true)},
    {"adam_maximize", ADAM(.lr = 1e-2, .beta1 = 0.3, .beta2 = 0.9, .maximize = true, .eps = 1e-6)},
    {"adam_f64", .f64 = true, ADAM(.lr = 1e-2, .amsgrad = true, .weight_decay = 0.1, B2)},
    {"adamw_default", ADAMW(.lr = 1e-2, .weight_decay = 1e-2, B2)},
    {"adamw_amsgrad", ADAMW(.lr = 1e-2, .weight_decay = 0.1, .amsgrad = true, B2)},
    {"adamw_f64", .f64 = true, ADAMW(.lr = 1e-2, .weight_decay = 0.1, .beta1 = 0.3, .beta2 = 0.9, .eps = 1e-8)},
    {"rmsprop_default", RMS(.lr = 1e-2, .alpha = 0.99, .eps = 1e-8)},
    {"rmsprop_centered", RMS(.lr = 1e-2, .alpha = 0.99, .eps = 1e-8, .centered = true, .weight_decay = 0.01)},
    {"rmsprop_momentum", RMS(.lr = 1e-2, .alpha = 0.9, .eps = 1e-8, .momentum = 0.9, .centered = true)},
    {"rmsprop_maximize", RMS(.lr = 1e-2, .alpha = 0.3, .eps = 1e-8, .centered = true, .maximize = true)},
    {"rmsprop_f64", .f64 = true,
     RMS(.lr = 1e-2, .alpha = 0.99, .eps = 1e-8, .momentum = 0.5, .centered = true, .weight_decay = 0.01)},
    {"adagrad_default", ADA(.lr = 0.1, .eps = 1e-10)},
    {"adagrad_full",
     ADA(.lr = 0.1, .lr_decay = 0.01, .weight_decay = 0.01, .initial_accumulator_value = 0.1, .eps = 1e-8)},
    {"adagrad_maximize", ADA(.lr = 0.1, .eps = 1e-10, .maximize = true)},
    {"adagrad_f64", .f64 = true, ADA(.lr = 0.1, .lr_decay = 0.01, .weight_decay = 0.01, .eps = 1e-10)},
};
#define NCASES ((int)(sizeof CASES / sizeof CASES[0]))

static tc_optimizer *make_opt(const ocase *c, tc_tensor **ps, int64_t n) {
  switch (c->kind) {
    case TC_OPTIM_SGD:
      return tc_sgd_create(ps, n, &c->sgd);
    case TC_OPTIM_ADAM:
      return tc_adam_create(ps, n, &c->adam);
    case TC_OPTIM_ADAMW:
      return tc_adamw_create(ps, n, &c->adam);
    case TC_OPTIM_RMSPROP:
      return tc_rmsprop_create(ps, n, &c->rms);
    default:
      return tc_adagrad_create(ps, n, &c->ada);
  }
}

START_TEST(test_trajectories) {
  const ocase *c = &CASES[_i];
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *ps[NP];
  make_params(c->f64, ps);
  tc_optimizer *opt = make_opt(c, ps, NP);
  run_traj(c->name, opt, ps, c->f64, c->exact);
  /* the parameter without a grad on some steps took fewer steps */
  if (c->kind != TC_OPTIM_SGD) {
    ck_assert_double_eq(tc_optim_param_step(opt, 0), STEPS);
    ck_assert_double_eq(tc_optim_param_step(opt, 2), STEPS - 4); /* t = 3, 10, 17, 24 skipped */
  }
  tc_optim_destroy(opt);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_defaults) {
  tc_sgd_opts s = tc_sgd_defaults();
  ck_assert(s.lr == 1e-3 && s.momentum == 0 && s.dampening == 0 && s.weight_decay == 0 && !s.nesterov && !s.maximize);
  tc_adam_opts a = tc_adam_defaults();
  ck_assert(a.lr == 1e-3 && a.beta1 == 0.9 && a.beta2 == 0.999 && a.eps == 1e-8 && a.weight_decay == 0 && !a.amsgrad &&
            !a.maximize && !a.decoupled_weight_decay);
  tc_adam_opts w = tc_adamw_defaults();
  ck_assert(w.weight_decay == 1e-2 && w.decoupled_weight_decay && w.lr == 1e-3);
  tc_rmsprop_opts r = tc_rmsprop_defaults();
  ck_assert(r.lr == 1e-2 && r.alpha == 0.99 && r.eps == 1e-8 && r.momentum == 0 && !r.centered);
  tc_adagrad_opts g = tc_adagrad_defaults();
  ck_assert(g.lr == 1e-2 && g.lr_decay == 0 && g.initial_accumulator_value == 0 && g.eps == 1e-10);
  /* NULL options are the defaults; AdamW always decouples */
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *p = T_F32(SHAPE(2), 1, 1, 2);
  tc_optimizer *o = tc_adamw_create(&p, 1, NULL);
  ck_assert_ptr_nonnull(o);
  ck_assert_str_eq(tc_optim_name(o), "AdamW");
  ck_assert_int_eq(tc_optim_get_kind(o), TC_OPTIM_ADAMW);
  tc_adam_opts got;
  ck_assert_int_eq(tc_optim_get_group_opts(o, 0, &got), TC_OK);
  ck_assert(got.weight_decay == 1e-2 && got.decoupled_weight_decay);
  got.decoupled_weight_decay = false;
  ck_assert_int_eq(tc_optim_set_group_opts(o, 0, &got), TC_OK);
  ck_assert_int_eq(tc_optim_get_group_opts(o, 0, &got), TC_OK);
  ck_assert(got.decoupled_weight_decay);
  tc_optim_destroy(o);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* gen_optim.py: SGD([{params: [p0]}, {params: [p1, p2], lr: 0.01, weight_decay: 0.1}], lr=0.1,
 * momentum=0.9) and Adam([{params: [p0, p1]}, {params: [p2], lr: 0.05, amsgrad: True}], lr=1e-2) */
START_TEST(test_param_groups) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *ps[NP];
  make_params(false, ps);
  tc_sgd_opts so = tc_sgd_defaults();
  so.lr = 0.1;
  so.momentum = 0.9;
  tc_optimizer *opt = tc_sgd_create(ps, 1, &so);
  ck_assert_ptr_nonnull(opt);
  tc_sgd_opts g1 = so;
  g1.lr = 0.01;
  g1.weight_decay = 0.1;
  ck_assert_int_eq(tc_optim_add_param_group(opt, ps + 1, 2, &g1), TC_OK);
  ck_assert_int_eq(tc_optim_num_groups(opt), 2);
  ck_assert_int_eq(tc_optim_group_size(opt, 1), 2);
  ck_assert_ptr_eq(tc_optim_group_param(opt, 1, 1), ps[2]);
  ck_assert_double_eq(tc_optim_get_lr(opt, 0), 0.1);
  ck_assert_double_eq(tc_optim_get_lr(opt, 1), 0.01);
  run_traj("sgd_groups", opt, ps, false, true);
  tc_optim_destroy(opt);

  make_params(false, ps);
  tc_adam_opts ao = tc_adam_defaults();
  ao.lr = 1e-2;
  opt = tc_adam_create(ps, 2, &ao);
  ck_assert_ptr_nonnull(opt);
  /* NULL group options are the optimizer's defaults; then change two of them */
  ck_assert_int_eq(tc_optim_add_param_group(opt, ps + 2, 1, NULL), TC_OK);
  tc_adam_opts a1;
  ck_assert_int_eq(tc_optim_get_group_opts(opt, 1, &a1), TC_OK);
  ck_assert_double_eq(a1.lr, 1e-2);
  a1.amsgrad = true;
  ck_assert_int_eq(tc_optim_set_group_opts(opt, 1, &a1), TC_OK);
  ck_assert_int_eq(tc_optim_set_lr(opt, 1, 0.05), TC_OK);
  run_traj("adam_groups", opt, ps, false, false);
  tc_optim_destroy(opt);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_zero_grad) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *a = T_F32(SHAPE(3), 1, 1, 2, 3), *b = T_F32(SHAPE(2), 1, 4, 5), *c = T_F32(SHAPE(1), 1, 6);
  tc_tensor *ps[3] = {a, b, c};
  for (int k = 0; k < 3; k++) tc_tensor_requires_grad_(ps[k], true);
  tc_optimizer *opt = tc_sgd_create(ps, 3, NULL);
  /* grads through backward of a * a and 3 * b (vector-Jacobian products with ones); c gets none */
  ck_assert_int_eq(tc_backward_ex(tc_mul(a, a), tc_ones(SHAPE(3), 1, NULL), false), TC_OK);
  ck_assert_int_eq(tc_backward_ex(tc_mul_scalar(b, 3), tc_ones(SHAPE(2), 1, NULL), false), TC_OK);
  tc_tensor *ga = tc_tensor_grad(a);
  assert_equal(ga, T_F32(SHAPE(3), 1, 2, 4, 6), "grad a");
  ck_assert_ptr_null(tc_tensor_grad(c));
  /* set_to_none = false: zeros in place, the same storage */
  ck_assert_int_eq(tc_optim_zero_grad(opt, false), TC_OK);
  tc_tensor *ga2 = tc_tensor_grad(a);
  ck_assert(tc_tensor_shares_storage(ga, ga2));
  assert_equal(ga2, T_F32(SHAPE(3), 1, 0, 0, 0), "zeroed");
  assert_equal(tc_tensor_grad(b), T_F32(SHAPE(2), 1, 0, 0), "zeroed b");
  ck_assert_ptr_null(tc_tensor_grad(c));
  /* a zero grad still takes a step (weight decay moves the parameter); a NULL grad does not */
  tc_sgd_opts o = tc_sgd_defaults();
  o.weight_decay = 1.0;
  o.lr = 0.5;
  ck_assert_int_eq(tc_optim_set_group_opts(opt, 0, &o), TC_OK);
  ck_assert_int_eq(tc_optim_step(opt), TC_OK);
  assert_equal(a, T_F32(SHAPE(3), 1, 0.5f, 1, 1.5f), "zero grad + weight decay");
  assert_equal(c, T_F32(SHAPE(1), 1, 6), "no grad: unchanged");
  /* set_to_none = true (PyTorch's default) */
  ck_assert_int_eq(tc_optim_zero_grad(opt, true), TC_OK);
  ck_assert_ptr_null(tc_tensor_grad(a));
  ck_assert_ptr_null(tc_tensor_grad(b));
  ck_assert_int_eq(tc_optim_step(opt), TC_OK); /* nothing has a grad: a no-op */
  assert_equal(a, T_F32(SHAPE(3), 1, 0.5f, 1, 1.5f), "no-op step");
  tc_optim_destroy(opt);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* The step writes parameters in place: a graph that saved a parameter notices. */
START_TEST(test_inplace_version) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *w = T_F32(SHAPE(2), 1, 1, 2);
  tc_tensor_requires_grad_(w, true);
  tc_sgd_opts o = tc_sgd_defaults();
  o.lr = 0.1;
  tc_optimizer *opt = tc_sgd_create(&w, 1, &o);
  tc_tensor *y = tc_mul(w, w), *ones = tc_ones(SHAPE(2), 1, NULL);
  ck_assert_int_eq(tc_backward_ex(y, ones, true), TC_OK);
  ck_assert_int_eq(tc_optim_step(opt), TC_OK);
  assert_close(w, T_F32(SHAPE(2), 1, 0.8f, 1.6f), 1e-7, 0, "stepped");
  ck_assert_int_eq(tc_backward_ex(y, ones, false), TC_ERR_STATE); /* w was saved by MulBackward0, then modified */
  tc_optim_destroy(opt);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* A strided parameter (a transposed leaf) and a strided grad give the same result as contiguous ones. */
START_TEST(test_strided) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_manual_seed(3);
  tc_tensor *base = tc_randn(SHAPE(4, 6), 2, NULL);
  tc_tensor *pt = tc_t(base); /* (6, 4), strides (1, 6) */
  tc_tensor *pc = tc_contiguous(pt);
  tc_tensor_requires_grad_(pt, true);
  tc_tensor_requires_grad_(pc, true);
  tc_tensor *gbase = tc_randn(SHAPE(4, 6), 2, NULL);
  tc_tensor *gt = tc_t(gbase), *gcont = tc_contiguous(gt);
  tc_adam_opts o = tc_adam_defaults();
  o.amsgrad = true;
  o.weight_decay = 0.1;
  tc_optimizer *a = tc_adam_create(&pt, 1, &o), *b = tc_adam_create(&pc, 1, &o);
  for (int t = 0; t < 5; t++) {
    ck_assert_int_eq(tc_tensor_set_grad(pt, gt), TC_OK);
    ck_assert_int_eq(tc_tensor_set_grad(pc, gcont), TC_OK);
    ck_assert_int_eq(tc_optim_step(a), TC_OK);
    ck_assert_int_eq(tc_optim_step(b), TC_OK);
  }
  assert_equal(pt, pc, "strided == contiguous");
  ck_assert(tc_tensor_shares_storage(pt, base)); /* written back into the base */
  assert_equal(tc_t(base), pc, "base updated");
  tc_optim_destroy(a);
  tc_optim_destroy(b);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* Large parameters run on the pool: the result does not depend on the thread count. */
START_TEST(test_threads) {
  LEAK_BEGIN;
  tc_scope_push();
  int nt = tc_get_num_threads();
  tc_manual_seed(5);
  tc_tensor *init = tc_randn(SHAPE(300001), 1, NULL), *g = tc_randn(SHAPE(300001), 1, NULL);
  tc_tensor *res[2];
  for (int r = 0; r < 2; r++) {
    tc_set_num_threads(r == 0 ? 1 : 4);
    tc_tensor *p = tc_clone(init);
    tc_tensor_requires_grad_(p, true);
    tc_rmsprop_opts o = tc_rmsprop_defaults();
    o.centered = true;
    o.momentum = 0.9;
    tc_optimizer *opt = tc_rmsprop_create(&p, 1, &o);
    for (int t = 0; t < 3; t++) {
      tc_tensor_set_grad(p, g);
      ck_assert_int_eq(tc_optim_step(opt), TC_OK);
    }
    tc_optim_destroy(opt);
    res[r] = p;
  }
  tc_set_num_threads(nt);
  assert_equal(res[0], res[1], "1 thread == 4 threads");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* A step inside a user's scope: the optimizer's state survives the scope. */
START_TEST(test_scope) {
  LEAK_BEGIN;
  tc_tensor *p = tc_zeros(SHAPE(3), 1, NULL);
  tc_tensor_requires_grad_(p, true);
  tc_adam_opts o = tc_adam_defaults();
  o.lr = 0.1;
  tc_optimizer *opt = tc_adam_create(&p, 1, &o);
  for (int t = 0; t < 3; t++) {
    tc_scope_push();
    tc_tensor *y = tc_mul(p, tc_arange(1, 4, 1, NULL));
    ck_assert_int_eq(tc_backward_ex(y, tc_ones(SHAPE(3), 1, NULL), false), TC_OK);
    ck_assert_int_eq(tc_optim_step(opt), TC_OK);
    ck_assert_int_eq(tc_optim_zero_grad(opt, true), TC_OK);
    tc_scope_pop();
  }
  /* Adam's first steps move each element by about lr against the gradient's sign */
  tc_scope_push();
  assert_close(p, T_F32(SHAPE(3), 1, -0.3f, -0.3f, -0.3f), 1e-4, 0, "three Adam steps");
  tc_scope_pop();
  tc_optim_destroy(opt);
  tc_tensor_release(p);
  LEAK_END;
}
END_TEST

/* Empty and 0-d parameters step, clip and round-trip like any other. */
START_TEST(test_empty_and_scalar) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *e = tc_zeros(SHAPE(0), 1, NULL), *s = tc_scalar_tensor(2.0, NULL);
  tc_tensor *ps[2] = {e, s};
  for (int k = 0; k < 2; k++) tc_tensor_requires_grad_(ps[k], true);
  tc_adam_opts o = tc_adam_defaults();
  o.lr = 0.5;
  o.amsgrad = true;
  tc_optimizer *opt = tc_adam_create(ps, 2, &o);
  ck_assert_ptr_nonnull(opt);
  ck_assert_int_eq(tc_tensor_set_grad(e, tc_zeros(SHAPE(0), 1, NULL)), TC_OK);
  ck_assert_int_eq(tc_tensor_set_grad(s, tc_scalar_tensor(1.0, NULL)), TC_OK);
  ck_assert_int_eq(tc_optim_step(opt), TC_OK);
  double v = 0;
  tc_item_double(s, &v);
  ck_assert_double_eq_tol(v, 1.5, 1e-6); /* Adam's first step: lr * sign(grad) */
  double total = -1;
  ck_assert_int_eq(tc_clip_grad_norm_(ps, 2, 0.5, 2, &total), TC_OK);
  ck_assert_double_eq(total, 1.0);
  ck_assert_int_eq(tc_clip_grad_value_(ps, 2, 0.1), TC_OK);
  tc_state_dict *sd = tc_state_dict_create();
  ck_assert_int_eq(tc_optim_state_dict(opt, sd, NULL), TC_OK);
  ck_assert_int_eq(tc_optim_load_state_dict(opt, sd, NULL), TC_OK);
  ck_assert_int_eq(tc_optim_step(opt), TC_OK);
  ck_assert_double_eq(tc_optim_param_step(opt, 0), 2);
  tc_state_dict_destroy(sd);
  tc_optim_destroy(opt);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* ---- clipping ------------------------------------------------------------------------------------ */
static void clip_case(const char *name, double max_norm, double norm_type, bool f64, bool value) {
  tc_tensor *ps[NP];
  char key[96];
  for (int k = 0; k < NP; k++) {
    snprintf(key, sizeof key, f64 ? "c%d_f64" : "c%d", k);
    tc_tensor *c = fx_load(FAM, key);
    ps[k] = tc_zeros_like(c, NULL);
    tc_tensor_requires_grad_(ps[k], true);
    ck_assert_int_eq(tc_tensor_set_grad(ps[k], tc_clone(c)), TC_OK);
  }
  double total = -1;
  if (value) {
    ck_assert_int_eq(tc_clip_grad_value_(ps, NP, max_norm), TC_OK);
  } else {
    ck_assert_int_eq(tc_clip_grad_norm_(ps, NP, max_norm, norm_type, &total), TC_OK);
    snprintf(key, sizeof key, "%s_total", name);
    tc_tensor *want = fx_load(FAM, key);
    double w = ((const double *)tc_tensor_data(want))[0];
    ck_assert_msg(fabs(total - w) <= 1e-6 * fabs(w), "%s: total norm %.17g, PyTorch %.17g", name, total, w);
  }
  for (int k = 0; k < NP; k++) {
    snprintf(key, sizeof key, "%s_out%d", name, k);
    compare(tc_tensor_grad(ps[k]), fx_load(FAM, key), value, key);
  }
  report(name);
}

START_TEST(test_clip) {
  LEAK_BEGIN;
  tc_scope_push();
  clip_case("clip_norm2", 1.0, 2, false, false);
  clip_case("clip_norm1", 2.5, 1, false, false);
  clip_case("clip_norminf", 0.7, INFINITY, false, false);
  clip_case("clip_norm3", 1.5, 3, false, false);
  clip_case("clip_small", 100.0, 2, false, false);
  clip_case("clip_norm2_f64", 1.0, 2, true, false);
  clip_case("clip_value", 0.5, 0, false, true);
  /* parameters without grads are skipped; none at all gives a zero norm */
  tc_tensor *p = T_F32(SHAPE(2), 1, 1, 2);
  double total = -1;
  ck_assert_int_eq(tc_clip_grad_norm_(&p, 1, 1.0, 2, &total), TC_OK);
  ck_assert_double_eq(total, 0);
  ck_assert_int_eq(tc_clip_grad_value_(&p, 1, 1.0), TC_OK);
  ck_assert_int_eq(tc_clip_grad_norm_(NULL, 0, 1.0, 2, NULL), TC_OK);
  /* a strided grad is scaled in place */
  tc_tensor *g = tc_t(T_F32(SHAPE(2, 2), 2, 3, 0, 4, 0)); /* [[3, 4], [0, 0]] */
  tc_tensor *q = tc_zeros(SHAPE(2, 2), 2, NULL);
  tc_tensor_requires_grad_(q, true);
  ck_assert_int_eq(tc_tensor_set_grad(q, g), TC_OK);
  ck_assert_int_eq(tc_clip_grad_norm_(&q, 1, 1.0, 2, &total), TC_OK);
  ck_assert_double_eq_tol(total, 5.0, 1e-6);
  assert_close(g, T_F32(SHAPE(2, 2), 2, 0.6f, 0.8f, 0, 0), 1e-6, 0, "strided clip");
  ck_assert_int_eq(tc_clip_grad_value_(&q, 1, 0.7), TC_OK);
  assert_close(g, T_F32(SHAPE(2, 2), 2, 0.6f, 0.7f, 0, 0), 1e-6, 0, "strided clip_grad_value_");
  /* the other orders: 0 counts non-zeros (of the per-grad norms too, so PyTorch's total is 1 here), -inf is
   * the smallest magnitude, p = 0.5 */
  tc_tensor *r = tc_zeros(SHAPE(4), 1, NULL);
  tc_tensor_requires_grad_(r, true);
  const double norms[3][2] = {{0, 1}, {-INFINITY, 0}, {0.5, 0}};
  for (int k = 0; k < 3; k++) {
    ck_assert_int_eq(tc_tensor_set_grad(r, T_F32(SHAPE(4), 1, 3, 0, -4, 1)), TC_OK);
    ck_assert_int_eq(tc_clip_grad_norm_(&r, 1, 100.0, norms[k][0], &total), TC_OK);
    double want = k == 2 ? pow(sqrt(3.0) + 2 + 1, 2) : norms[k][1];
    ck_assert_msg(fabs(total - want) <= 1e-5 * want, "order %g: total %g, expected %g", norms[k][0], total, want);
  }
  assert_equal(tc_tensor_grad(r), T_F32(SHAPE(4), 1, 3, 0, -4, 1), "below max_norm: unchanged");
  ck_assert_int_eq(tc_tensor_set_grad(r, T_F32(SHAPE(4), 1, 3, NAN, -4, 1)), TC_OK);
  ck_assert_int_eq(tc_clip_grad_norm_(&r, 1, 1.0, INFINITY, &total), TC_OK);
  ck_assert(isnan(total)); /* as PyTorch: a NaN norm, and the grads scaled by NaN */
  /* errors */
  ck_assert_int_eq(tc_clip_grad_norm_(&q, 1, 1.0, -2, NULL), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "norm_type");
  tc_clear_error();
  ck_assert_int_eq(tc_clip_grad_norm_(NULL, 2, 1.0, 2, NULL), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "params is NULL");
  tc_tensor *withnull[2] = {q, NULL};
  ck_assert_int_eq(tc_clip_grad_value_(withnull, 2, 1.0), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "params[1] is NULL");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* ---- errors -------------------------------------------------------------------------------------- */
START_TEST(test_errors) {
  LEAK_BEGIN;
  tc_clear_error(); /* a NULL argument keeps an earlier message: start clean */
  tc_scope_push();
  tc_tensor *p = T_F32(SHAPE(2), 1, 1, 2), *q = T_F32(SHAPE(3), 1, 1, 2, 3);
  tc_tensor *ps[2] = {p, q};
  ck_assert_ptr_null(tc_sgd_create(NULL, 1, NULL));
  assert_error(TC_ERR_ARG, "params is NULL");
  ck_assert_ptr_null(tc_adam_create(ps, 0, NULL));
  assert_error(TC_ERR_ARG, "empty parameter list");
  tc_tensor *withnull[2] = {p, NULL};
  ck_assert_ptr_null(tc_rmsprop_create(withnull, 2, NULL));
  assert_error(TC_ERR_ARG, "params[1] is NULL");
  tc_tensor *ip = T_I64(SHAPE(2), 1, 1, 2);
  ck_assert_ptr_null(tc_adagrad_create(&ip, 1, NULL));
  assert_error(TC_ERR_DTYPE, "int64");
  tc_tensor *dup[2] = {p, p};
  ck_assert_ptr_null(tc_sgd_create(dup, 2, NULL));
  assert_error(TC_ERR_ARG, "same tensor");
  tc_tensor *leaf = T_F32(SHAPE(2), 1, 1, 2);
  tc_tensor_requires_grad_(leaf, true);
  tc_tensor *nonleaf = tc_mul_scalar(leaf, 2);
  ck_assert_ptr_null(tc_sgd_create(&nonleaf, 1, NULL));
  assert_error(TC_ERR_ARG, "non-leaf");

  tc_sgd_opts s = tc_sgd_defaults();
  s.lr = -0.1;
  ck_assert_ptr_null(tc_sgd_create(ps, 2, &s));
  assert_error(TC_ERR_ARG, "invalid learning rate: -0.1");
  s = tc_sgd_defaults();
  s.nesterov = true;
  ck_assert_ptr_null(tc_sgd_create(ps, 2, &s));
  assert_error(TC_ERR_ARG, "nesterov momentum requires a momentum and zero dampening");
  s.momentum = 0.9;
  s.dampening = 0.1;
  ck_assert_ptr_null(tc_sgd_create(ps, 2, &s));
  assert_error(TC_ERR_ARG, "nesterov");
  s = tc_sgd_defaults();
  s.momentum = -1;
  ck_assert_ptr_null(tc_sgd_create(ps, 2, &s));
  assert_error(TC_ERR_ARG, "invalid momentum value: -1");
  tc_adam_opts a = tc_adam_defaults();
  a.beta1 = 1.0;
  ck_assert_ptr_null(tc_adam_create(ps, 2, &a));
  assert_error(TC_ERR_ARG, "invalid beta parameter at index 0: 1");
  a = tc_adam_defaults();
  a.beta2 = -0.5;
  ck_assert_ptr_null(tc_adamw_create(ps, 2, &a));
  assert_error(TC_ERR_ARG, "invalid beta parameter at index 1: -0.5");
  a = tc_adam_defaults();
  a.eps = -1e-8;
  ck_assert_ptr_null(tc_adam_create(ps, 2, &a));
  assert_error(TC_ERR_ARG, "invalid epsilon value");
  a = tc_adam_defaults();
  a.lr = NAN;
  ck_assert_ptr_null(tc_adam_create(ps, 2, &a));
  assert_error(TC_ERR_ARG, "invalid learning rate: nan");
  tc_rmsprop_opts r = tc_rmsprop_defaults();
  r.alpha = -0.9;
  ck_assert_ptr_null(tc_rmsprop_create(ps, 2, &r));
  assert_error(TC_ERR_ARG, "invalid alpha value");
  tc_adagrad_opts g = tc_adagrad_defaults();
  g.initial_accumulator_value = -1;
  ck_assert_ptr_null(tc_adagrad_create(ps, 2, &g));
  assert_error(TC_ERR_ARG, "initial_accumulator_value");
  g = tc_adagrad_defaults();
  g.lr_decay = -1;
  ck_assert_ptr_null(tc_adagrad_create(ps, 2, &g));
  assert_error(TC_ERR_ARG, "lr_decay");

  /* groups */
  tc_optimizer *opt = tc_sgd_create(&p, 1, NULL);
  ck_assert_ptr_nonnull(opt);
  ck_assert_int_eq(tc_optim_add_param_group(opt, &p, 1, NULL), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "already in parameter group 0");
  s = tc_sgd_defaults();
  s.weight_decay = -1;
  ck_assert_int_eq(tc_optim_add_param_group(opt, &q, 1, &s), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "invalid weight_decay value");
  ck_assert_int_eq(tc_optim_num_groups(opt), 1);
  ck_assert(isnan(tc_optim_get_lr(opt, 1)));
  assert_error(TC_ERR_ARG, "group 1 is out of range");
  ck_assert_int_eq(tc_optim_set_lr(opt, 0, -1), TC_ERR_ARG);
  ck_assert_int_eq(tc_optim_set_lr(opt, -1, 0.1), TC_ERR_ARG);
  ck_assert_int_eq(tc_optim_group_size(opt, 3), -1);
  ck_assert_ptr_null(tc_optim_group_param(opt, 0, 1));
  tc_clear_error(); /* a NULL argument keeps an earlier message and code */
  ck_assert_int_eq(tc_optim_get_group_opts(opt, 0, NULL), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "out is NULL");
  ck_assert_int_eq(tc_optim_step(NULL), TC_ERR_ARG);
  ck_assert_int_eq(tc_optim_zero_grad(NULL, true), TC_ERR_ARG);
  tc_optim_destroy(opt);
  tc_optim_destroy(NULL);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* ---- allocation failures --------------------------------------------------------------------------- */
static int adam_run(void *ctx) {
  (void)ctx;
  int rc = 1;
  tc_tensor *ps[2] = {tc_ones(SHAPE(4, 3), 2, NULL), tc_ones(SHAPE(5), 1, TC_OPTS(.dtype = TC_F64))};
  tc_tensor *gs[2] = {NULL, NULL};
  tc_optimizer *opt = NULL;
  if (!ps[0] || !ps[1]) goto done;
  gs[0] = tc_full(SHAPE(4, 3), 2, 0.5, NULL);
  gs[1] = tc_full(SHAPE(5), 1, -0.5, TC_OPTS(.dtype = TC_F64));
  if (!gs[0] || !gs[1]) goto done;
  if (tc_tensor_requires_grad_(ps[0], true) || tc_tensor_requires_grad_(ps[1], true)) goto done;
  if (tc_tensor_set_grad(ps[0], gs[0]) || tc_tensor_set_grad(ps[1], gs[1])) goto done;
  tc_adam_opts o = tc_adam_defaults();
  o.amsgrad = true;
  opt = tc_adam_create(ps, 2, &o);
  if (!opt) goto done;
  if (tc_optim_step(opt)) {
    /* a failed step changes nothing */
    double v = 0;
    tc_tensor *e = tc_select(ps[0], 0, 0);
    if (e) {
      tc_tensor *e0 = tc_select(e, 0, 0);
      if (e0) {
        tc_item_double(e0, &v);
        ck_assert_double_eq(v, 1.0);
      }
      tc_tensor_release(e0);
    }
    tc_tensor_release(e);
    ck_assert_double_eq(tc_optim_param_step(opt, 0), 0);
    goto done;
  }
  if (tc_optim_step(opt) || tc_optim_zero_grad(opt, false)) goto done;
  rc = 0;
done:
  tc_optim_destroy(opt);
  for (int k = 0; k < 2; k++) {
    tc_tensor_release(ps[k]);
    tc_tensor_release(gs[k]);
  }
  return rc;
}

START_TEST(test_alloc_failures) { check_alloc_failures(adam_run, NULL, "Adam create + 2 steps"); }
END_TEST

/* ---- state_dict: save, new optimizer, load, continue == uninterrupted ----------------------------- */
static void resume_case(const ocase *c, bool via_file) {
  tc_tensor *ref[NP], *ps[NP], *gs[NP];
  make_params(c->f64, ref);
  load_grads(c->f64, gs);
  tc_optimizer *a = make_opt(c, ref, NP);
  ck_assert_ptr_nonnull(a);
  for (int t = 0; t < STEPS; t++) {
    set_step_grads(ref, gs, t);
    ck_assert_int_eq(tc_optim_step(a), TC_OK);
  }
  /* interrupted: 11 steps, save, fresh optimizer on copies of the parameters, load, 14 more */
  tc_tensor *half[NP];
  make_params(c->f64, half);
  tc_optimizer *b = make_opt(c, half, NP);
  for (int t = 0; t < 11; t++) {
    set_step_grads(half, gs, t);
    ck_assert_int_eq(tc_optim_step(b), TC_OK);
  }
  tc_state_dict *sd = tc_state_dict_create();
  ck_assert_int_eq(tc_optim_state_dict(b, sd, "optim."), TC_OK);
  if (via_file) {
    char path[] = "/tmp/ctorch_optim_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(tc_state_dict_save(sd, path), TC_OK);
    tc_state_dict_destroy(sd);
    sd = tc_state_dict_load(path);
    unlink(path);
    ck_assert_msg(sd != NULL, "%s", tc_last_error());
  }
  tc_no_grad_push(); /* copies that are leaves */
  for (int k = 0; k < NP; k++) ps[k] = tc_clone(half[k]);
  tc_no_grad_pop();
  for (int k = 0; k < NP; k++) tc_tensor_requires_grad_(ps[k], true);
  tc_optim_destroy(b);
  tc_optimizer *r = make_opt(c, ps, NP);
  ck_assert_msg(r != NULL, "%s", tc_last_error());
  ck_assert_msg(tc_optim_load_state_dict(r, sd, "optim.") == TC_OK, "%s: %s", c->name, tc_last_error());
  tc_state_dict_destroy(sd);
  for (int t = 11; t < STEPS; t++) {
    set_step_grads(ps, gs, t);
    ck_assert_int_eq(tc_optim_step(r), TC_OK);
  }
  for (int k = 0; k < NP; k++) assert_equal(ps[k], ref[k], c->name);
  tc_optim_destroy(a);
  tc_optim_destroy(r);
}

START_TEST(test_state_dict_resume) {
  LEAK_BEGIN;
  tc_scope_push();
  const ocase *c = &CASES[_i];
  resume_case(c, _i % 3 == 0);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_state_dict_contents) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *ps[NP], *gs[NP];
  make_params(false, ps);
  load_grads(false, gs);
  tc_adam_opts o = tc_adam_defaults();
  o.amsgrad = true;
  tc_optimizer *opt = tc_adam_create(ps, 2, &o);
  o.amsgrad = false;
  o.lr = 0.5;
  ck_assert_int_eq(tc_optim_add_param_group(opt, ps + 2, 1, &o), TC_OK);
  set_step_grads(ps, gs, 3); /* param 2 has no grad at t = 3: no state */
  ck_assert_int_eq(tc_optim_step(opt), TC_OK);
  tc_state_dict *sd = tc_state_dict_create();
  ck_assert_int_eq(tc_optim_state_dict(opt, sd, NULL), TC_OK);
  ck_assert_str_eq(tc_state_dict_get_meta(sd, "optimizer"), "Adam");
  ck_assert_str_eq(tc_state_dict_get_meta(sd, "param_groups"), "2");
  ck_assert_str_eq(tc_state_dict_get_meta(sd, "param_groups.0.params"), "0,1");
  ck_assert_str_eq(tc_state_dict_get_meta(sd, "param_groups.1.params"), "2");
  ck_assert_str_eq(tc_state_dict_get_meta(sd, "param_groups.1.lr"), "0.5");
  ck_assert_str_eq(tc_state_dict_get_meta(sd, "param_groups.0.amsgrad"), "true");
  ck_assert_str_eq(tc_state_dict_get_meta(sd, "state.1.step"), "1");
  ck_assert(tc_state_dict_contains(sd, "state.0.exp_avg") && tc_state_dict_contains(sd, "state.1.max_exp_avg_sq"));
  ck_assert(!tc_state_dict_contains(sd, "state.2.exp_avg"));
  ck_assert_ptr_null(tc_state_dict_get_meta(sd, "state.2.step"));
  ck_assert_int_eq(tc_state_dict_size(sd), 6);
  /* the saved tensors are snapshots */
  tc_tensor *m = tc_state_dict_get(sd, "state.0.exp_avg");
  tc_tensor *m0 = tc_clone(m);
  ck_assert_int_eq(tc_optim_step(opt), TC_OK);
  assert_equal(m, m0, "snapshot unchanged by a later step");
  tc_tensor_release(m);

  /* load errors leave the optimizer unchanged */
  tc_tensor *qs[NP];
  make_params(false, qs);
  tc_optimizer *sgd = tc_sgd_create(qs, NP, NULL);
  ck_assert_int_eq(tc_optim_load_state_dict(sgd, sd, NULL), TC_ERR_STATE);
  assert_error(TC_ERR_STATE, "holds a Adam optimizer, not SGD");
  tc_optimizer *one = tc_adam_create(qs, NP, NULL); /* one group of 3, not 2 + 1 */
  ck_assert_int_eq(tc_optim_load_state_dict(one, sd, NULL), TC_ERR_STATE);
  assert_error(TC_ERR_STATE, "2 parameter groups");
  tc_optim_destroy(one);
  one = tc_adam_create(qs, 1, NULL);
  tc_optim_add_param_group(one, qs + 1, 2, NULL);
  ck_assert_int_eq(tc_optim_load_state_dict(one, sd, NULL), TC_ERR_STATE);
  assert_error(TC_ERR_STATE, "doesn't match the size");
  tc_optim_destroy(one);
  one = tc_adam_create(qs, 2, NULL);
  tc_optim_add_param_group(one, qs + 2, 1, NULL);
  ck_assert_int_eq(tc_optim_load_state_dict(one, sd, "x."), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "no metadata 'x.optimizer'");
  tc_state_dict_set_meta(sd, "param_groups.1.eps", "abc");
  ck_assert_int_eq(tc_optim_load_state_dict(one, sd, NULL), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "not a number");
  tc_state_dict_set_meta(sd, "param_groups.1.eps", "1e-8");
  tc_state_dict_set(sd, "state.0.exp_avg", tc_zeros(SHAPE(3), 1, NULL));
  ck_assert_int_eq(tc_optim_load_state_dict(one, sd, NULL), TC_ERR_SHAPE);
  assert_error(TC_ERR_SHAPE, "state.0.exp_avg");
  ck_assert_double_eq(tc_optim_get_lr(one, 1), 1e-3); /* unchanged */
  ck_assert_double_eq(tc_optim_param_step(one, 0), 0);
  tc_optim_destroy(one);
  tc_optim_destroy(sgd);
  tc_state_dict_destroy(sd);
  tc_optim_destroy(opt);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

static int save_load_run(void *ctx) {
  (void)ctx;
  int rc = 1;
  tc_tensor *p = tc_ones(SHAPE(3), 1, NULL), *g = tc_full(SHAPE(3), 1, 0.25, NULL);
  tc_optimizer *a = NULL, *b = NULL;
  tc_state_dict *sd = NULL;
  if (!p || !g || tc_tensor_requires_grad_(p, true) || tc_tensor_set_grad(p, g)) goto done;
  tc_rmsprop_opts o = tc_rmsprop_defaults();
  o.centered = true;
  o.momentum = 0.5;
  if (!(a = tc_rmsprop_create(&p, 1, &o)) || tc_optim_step(a)) goto done;
  if (!(sd = tc_state_dict_create()) || tc_optim_state_dict(a, sd, "o.")) goto done;
  if (!(b = tc_rmsprop_create(&p, 1, NULL))) goto done;
  if (tc_optim_load_state_dict(b, sd, "o.")) {
    ck_assert_double_eq(tc_optim_get_lr(b, 0), 1e-2); /* unchanged on failure */
    goto done;
  }
  rc = 0;
done:
  tc_optim_destroy(a);
  tc_optim_destroy(b);
  tc_state_dict_destroy(sd);
  tc_tensor_release(p);
  tc_tensor_release(g);
  return rc;
}

START_TEST(test_state_dict_alloc_failures) { check_alloc_failures(save_load_run, NULL, "RMSprop save/load"); }
END_TEST

int main(void) {
  Suite *s = suite_create("optim");
  TCase *tc = tcase_create("optim");
  tcase_set_timeout(tc, 60);
  tcase_add_loop_test(tc, test_trajectories, 0, NCASES);
  tcase_add_test(tc, test_defaults);
  tcase_add_test(tc, test_param_groups);
  tcase_add_test(tc, test_zero_grad);
  tcase_add_test(tc, test_inplace_version);
  tcase_add_test(tc, test_strided);
  tcase_add_test(tc, test_threads);
  tcase_add_test(tc, test_scope);
  tcase_add_test(tc, test_empty_and_scalar);
  tcase_add_test(tc, test_clip);
  tcase_add_test(tc, test_errors);
  tcase_add_test(tc, test_alloc_failures);
  tcase_add_loop_test(tc, test_state_dict_resume, 0, NCASES);
  tcase_add_test(tc, test_state_dict_contents);
  tcase_add_test(tc, test_state_dict_alloc_failures);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
