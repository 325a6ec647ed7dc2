/* LR schedulers against PyTorch (fixtures from tests/fixtures/gen/gen_optim.py): every scheduler's
 * lr sequence over 30 steps on an optimizer with two groups (lr 0.1 and 0.01), compared bit for
 * bit; OneCycleLR's momentum / beta1 cycling; ReduceLROnPlateau with a fixed metric sequence;
 * SequentialLR and two chained schedulers; state save/load resuming identically; errors; leaks and
 * allocation failures. */
#include <string.h>
#include "test_util.h"

#define FAM "optim"
#define N 30

typedef struct {
  tc_tensor *a, *b;
  tc_optimizer *opt;
} rig;

/* gen_optim.py's sched_opt: SGD([{params: [a]}, {params: [b], lr: 0.01}], lr=0.1, momentum=0.9)
 * or the same groups with Adam(lr=0.1). */
static rig make_rig(bool adam) {
  rig r;
  r.a = tc_zeros(SHAPE(2), 1, NULL);
  r.b = tc_zeros(SHAPE(3), 1, NULL);
  tc_tensor_requires_grad_(r.a, true);
  tc_tensor_requires_grad_(r.b, true);
  if (adam) {
    tc_adam_opts o = tc_adam_defaults();
    o.lr = 0.1;
    r.opt = tc_adam_create(&r.a, 1, &o);
    o.lr = 0.01;
    ck_assert_int_eq(tc_optim_add_param_group(r.opt, &r.b, 1, &o), TC_OK);
  } else {
    tc_sgd_opts o = tc_sgd_defaults();
    o.lr = 0.1;
    o.momentum = 0.9;
    r.opt = tc_sgd_create(&r.a, 1, &o);
    o.lr = 0.01;
    ck_assert_int_eq(tc_optim_add_param_group(r.opt, &r.b, 1, &o), TC_OK);
  }
  ck_assert_ptr_nonnull(r.opt);
  return r;
}

static void free_rig(rig *r) {
  tc_optim_destroy(r->opt);
  tc_tensor_release(r->a);
  tc_tensor_release(r->b);
}

static double momentum_of(tc_optimizer *opt, int64_t g) {
  if (tc_optim_get_kind(opt) == TC_OPTIM_SGD) {
    tc_sgd_opts o;
    tc_optim_get_group_opts(opt, g, &o);
    return o.momentum;
  }
  tc_adam_opts o;
  tc_optim_get_group_opts(opt, g, &o);
  return o.beta1;
}

static const double *fixture_rows(const char *name, const char *suffix) {
  char key[96];
  snprintf(key, sizeof key, "%s_%s", name, suffix);
  tc_tensor *t = fx_load(FAM, key); /* (31, 2) f64, owned by the test's scope */
  ck_assert_int_eq(tc_tensor_numel(t), (N + 1) * 2);
  return tc_tensor_data(t);
}

static void check_row(const char *name, const double *want, int t, tc_optimizer *opt, const double *mom) {
  for (int g = 0; g < 2; g++) {
    double got = tc_optim_get_lr(opt, g), w = want[t * 2 + g];
    ck_assert_msg(got == w, "%s: step %d group %d: lr %.17g, PyTorch %.17g", name, t, g, got, w);
    if (mom) {
      double m = momentum_of(opt, g);
      ck_assert_msg(m == mom[t * 2 + g], "%s: step %d group %d: momentum %.17g, PyTorch %.17g", name, t, g, m,
                    mom[t * 2 + g]);
    }
  }
}

static const double *METRICS;
static const double NEG = -1;

/* Steps scheds (one or more on the same optimizer) from step `from` to N, comparing every row. */
static void drive(const char *name, tc_optimizer *opt, tc_lr_scheduler **s, int ns, int from, const double *sign) {
  const double *want = fixture_rows(name, "lr");
  char key[96];
  snprintf(key, sizeof key, "%s_mom", name);
  const double *mom = NULL;
  tc_tensor *mt = fx_try_load(FAM, key);
  if (mt) mom = tc_tensor_data(mt);
  if (from == 0) check_row(name, want, 0, opt, mom);
  for (int t = from; t < N; t++) {
    for (int k = 0; k < ns; k++) {
      tc_status st = sign ? tc_lr_scheduler_step_metric(s[k], *sign * METRICS[t]) : tc_lr_scheduler_step(s[k]);
      ck_assert_msg(st == TC_OK, "%s step %d: %s", name, t, tc_last_error());
    }
    check_row(name, want, t + 1, opt, mom);
    for (int g = 0; ns == 1 && g < 2; g++) ck_assert(tc_lr_scheduler_get_last_lr(s[0], g) == tc_optim_get_lr(opt, g));
  }
}

static double inv_lambda(int64_t e, void *user) {
  (void)user;
  return 1.0 / (1 + 0.1 * (double)e);
}

/* Makes the scheduler(s) of a fixture case on opt; returns how many. */
static int make_case(const char *name, tc_optimizer *opt, tc_lr_scheduler **s) {
  if (!strcmp(name, "step")) s[0] = tc_step_lr_create(opt, 3, 0.5);
  if (!strcmp(name, "multistep")) s[0] = tc_multistep_lr_create(opt, (int64_t[]){9, 2, 5, 5}, 4, 0.3);
  if (!strcmp(name, "constant")) s[0] = tc_constant_lr_create(opt, 0.5, 4);
  if (!strcmp(name, "linear")) s[0] = tc_linear_lr_create(opt, 0.25, 1.0, 6);
  if (!strcmp(name, "exponential")) s[0] = tc_exponential_lr_create(opt, 0.9);
  if (!strcmp(name, "polynomial")) s[0] = tc_polynomial_lr_create(opt, 8, 2.0);
  if (!strcmp(name, "cosine")) s[0] = tc_cosine_annealing_lr_create(opt, 7, 0.001);
  if (!strcmp(name, "lambda")) s[0] = tc_lambda_lr_create(opt, inv_lambda, NULL);
  if (!strcmp(name, "onecycle_cos")) {
    tc_one_cycle_opts o = tc_one_cycle_defaults(1.0, 30);
    s[0] = tc_one_cycle_lr_create(opt, &o);
  }
  if (!strcmp(name, "onecycle_linear3")) {
    tc_one_cycle_opts o = tc_one_cycle_defaults(0, 31);
    o.max_lrs = (const double[]){0.5, 0.05};
    o.pct_start = 0.25;
    o.anneal_strategy = TC_ANNEAL_LINEAR;
    o.three_phase = true;
    o.div_factor = 10.0;
    o.final_div_factor = 100.0;
    o.base_momentum = 0.8;
    o.max_momentum = 0.9;
    s[0] = tc_one_cycle_lr_create(opt, &o);
  }
  if (!strcmp(name, "plateau_min")) {
    tc_plateau_opts o = tc_plateau_defaults();
    o.factor = 0.5;
    o.patience = 2;
    o.cooldown = 1;
    o.min_lr = 0.004;
    s[0] = tc_reduce_lr_on_plateau_create(opt, &o);
  }
  if (!strcmp(name, "plateau_max_abs")) {
    tc_plateau_opts o = tc_plateau_defaults();
    o.mode = TC_PLATEAU_MAX;
    o.factor = 0.3;
    o.patience = 1;
    o.threshold = 0.05;
    o.threshold_mode = TC_THRESHOLD_ABS;
    o.min_lrs = (const double[]){0.01, 0.0};
    o.eps = 1e-3;
    s[0] = tc_reduce_lr_on_plateau_create(opt, &o);
  }
  if (!strcmp(name, "sequential1")) {
    tc_lr_scheduler *c[2] = {tc_linear_lr_create(opt, 0.1, 1.0, 4), tc_exponential_lr_create(opt, 0.9)};
    s[0] = tc_sequential_lr_create(opt, c, 2, (int64_t[]){5});
  }
  if (!strcmp(name, "sequential2")) {
    tc_lr_scheduler *c[4] = {tc_constant_lr_create(opt, 0.5, 2), tc_cosine_annealing_lr_create(opt, 5, 0.0),
                             tc_step_lr_create(opt, 4, 0.5), tc_lambda_lr_create(opt, inv_lambda, NULL)};
    s[0] = tc_sequential_lr_create(opt, c, 4, (int64_t[]){3, 10, 20});
  }
  if (!strcmp(name, "chained")) {
    s[0] = tc_step_lr_create(opt, 4, 0.5);
    s[1] = tc_exponential_lr_create(opt, 0.95);
    ck_assert_ptr_nonnull(s[1]);
    ck_assert_ptr_nonnull(s[0]);
    return 2;
  }
  ck_assert_msg(s[0] != NULL, "%s: %s", name, tc_last_error());
  return 1;
}

static const char *const CASES[] = {"step",        "multistep",       "constant",    "linear",       "exponential",
                                    "polynomial",  "cosine",          "lambda",      "onecycle_cos", "onecycle_linear3",
                                    "plateau_min", "plateau_max_abs", "sequential1", "sequential2",  "chained"};
#define NCASES ((int)(sizeof CASES / sizeof CASES[0]))

static const double *case_sign(const char *name) {
  static const double POS = 1;
  if (!strcmp(name, "plateau_min")) return &POS;
  if (!strcmp(name, "plateau_max_abs")) return &NEG;
  return NULL;
}

static bool case_adam(const char *name) { return !strcmp(name, "onecycle_linear3"); }

START_TEST(test_sequences) {
  const char *name = CASES[_i];
  LEAK_BEGIN;
  tc_scope_push();
  METRICS = tc_tensor_data(fx_load(FAM, "plateau_metrics"));
  rig r = make_rig(case_adam(name));
  tc_lr_scheduler *s[2] = {NULL, NULL};
  int ns = make_case(name, r.opt, s);
  drive(name, r.opt, s, ns, 0, case_sign(name));
  for (int k = 0; k < ns; k++) tc_lr_scheduler_destroy(s[k]);
  free_rig(&r);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* Save after 12 steps (optimizer and scheduler), make a fresh optimizer and scheduler, load both,
 * continue: the lrs equal PyTorch's uninterrupted sequence. */
START_TEST(test_resume) {
  const char *name = CASES[_i];
  LEAK_BEGIN;
  tc_scope_push();
  METRICS = tc_tensor_data(fx_load(FAM, "plateau_metrics"));
  const double *sign = case_sign(name);
  rig r = make_rig(case_adam(name));
  tc_lr_scheduler *s[2] = {NULL, NULL};
  int ns = make_case(name, r.opt, s);
  for (int t = 0; t < 12; t++)
    for (int k = 0; k < ns; k++)
      ck_assert_int_eq(sign ? tc_lr_scheduler_step_metric(s[k], *sign * METRICS[t]) : tc_lr_scheduler_step(s[k]),
                       TC_OK);
  tc_state_dict *sd = tc_state_dict_create();
  ck_assert_int_eq(tc_optim_state_dict(r.opt, sd, "optimizer."), TC_OK);
  ck_assert_int_eq(tc_lr_scheduler_state_dict(s[0], sd, "scheduler."), TC_OK);
  if (ns == 2) ck_assert_int_eq(tc_lr_scheduler_state_dict(s[1], sd, "scheduler2."), TC_OK);
  for (int k = 0; k < ns; k++) tc_lr_scheduler_destroy(s[k]);
  free_rig(&r);

  /* as PyTorch recommends: make the scheduler, then load the optimizer, then the scheduler */
  r = make_rig(case_adam(name));
  ns = make_case(name, r.opt, s);
  ck_assert_int_eq(tc_optim_load_state_dict(r.opt, sd, "optimizer."), TC_OK);
  ck_assert_msg(tc_lr_scheduler_load_state_dict(s[0], sd, "scheduler.") == TC_OK, "%s", tc_last_error());
  if (ns == 2) ck_assert_int_eq(tc_lr_scheduler_load_state_dict(s[1], sd, "scheduler2."), TC_OK);
  ck_assert_int_eq(tc_lr_scheduler_last_epoch(s[0]), 12);
  drive(name, r.opt, s, ns, 12, sign);
  tc_state_dict_destroy(sd);
  for (int k = 0; k < ns; k++) tc_lr_scheduler_destroy(s[k]);
  free_rig(&r);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_queries) {
  LEAK_BEGIN;
  rig r = make_rig(false);
  tc_lr_scheduler *s = tc_cosine_annealing_lr_create(r.opt, 10, 0);
  ck_assert_str_eq(tc_lr_scheduler_name(s), "CosineAnnealingLR");
  ck_assert_int_eq(tc_lr_scheduler_last_epoch(s), 0);
  ck_assert(tc_lr_scheduler_get_last_lr(s, 1) == 0.01);
  ck_assert(isnan(tc_lr_scheduler_get_last_lr(s, 2)));
  assert_error(TC_ERR_ARG, "group 2 is out of range");
  ck_assert_int_eq(tc_lr_scheduler_step(s), TC_OK);
  ck_assert_int_eq(tc_lr_scheduler_last_epoch(s), 1);
  ck_assert_int_eq(tc_lr_scheduler_step_metric(s, 1.0), TC_ERR_STATE);
  assert_error(TC_ERR_STATE, "tc_lr_scheduler_step");
  /* a group added after the scheduler was made */
  tc_tensor *c = tc_zeros(SHAPE(1), 1, NULL);
  tc_tensor_requires_grad_(c, true);
  ck_assert_int_eq(tc_optim_add_param_group(r.opt, &c, 1, NULL), TC_OK);
  ck_assert_int_eq(tc_lr_scheduler_step(s), TC_ERR_STATE);
  assert_error(TC_ERR_STATE, "3 param groups");
  ck_assert_int_eq(tc_lr_scheduler_last_epoch(s), 1);
  tc_lr_scheduler_destroy(s);
  /* ReduceLROnPlateau follows added groups with its default min_lr */
  tc_plateau_opts po = tc_plateau_defaults();
  po.patience = 0;
  tc_lr_scheduler *p = tc_reduce_lr_on_plateau_create(r.opt, &po);
  ck_assert_int_eq(tc_lr_scheduler_step(p), TC_ERR_STATE);
  assert_error(TC_ERR_STATE, "tc_lr_scheduler_step_metric");
  ck_assert_int_eq(tc_lr_scheduler_step_metric(p, 1.0), TC_OK);
  tc_tensor *d = tc_zeros(SHAPE(1), 1, NULL);
  tc_tensor_requires_grad_(d, true);
  ck_assert_int_eq(tc_optim_add_param_group(r.opt, &d, 1, NULL), TC_OK);
  ck_assert_int_eq(tc_lr_scheduler_step_metric(p, 2.0), TC_OK); /* worse: reduce all four groups */
  ck_assert(tc_lr_scheduler_get_last_lr(p, 3) == 0.1 * 0.1);    /* the optimizer's default lr 0.1, reduced */
  tc_lr_scheduler_destroy(p);
  tc_lr_scheduler_destroy(NULL);
  free_rig(&r);
  tc_tensor_release(c);
  tc_tensor_release(d);
  LEAK_END;
}
END_TEST

START_TEST(test_errors) {
  LEAK_BEGIN;
  tc_clear_error(); /* a NULL argument keeps an earlier message: start clean */
  tc_scope_push();
  rig r = make_rig(false);
  ck_assert_ptr_null(tc_step_lr_create(NULL, 3, 0.1));
  assert_error(TC_ERR_ARG, "opt is NULL");
  ck_assert_ptr_null(tc_step_lr_create(r.opt, 0, 0.1));
  assert_error(TC_ERR_ARG, "step_size must be >= 1");
  ck_assert_ptr_null(tc_multistep_lr_create(r.opt, NULL, 2, 0.1));
  assert_error(TC_ERR_ARG, "milestones");
  ck_assert_ptr_null(tc_constant_lr_create(r.opt, 1.5, 4));
  assert_error(TC_ERR_ARG, "factor");
  ck_assert_ptr_null(tc_linear_lr_create(r.opt, 0, 1, 4));
  assert_error(TC_ERR_ARG, "starting multiplicative factor");
  ck_assert_ptr_null(tc_linear_lr_create(r.opt, 0.5, 1.5, 4));
  assert_error(TC_ERR_ARG, "ending multiplicative factor");
  ck_assert_ptr_null(tc_cosine_annealing_lr_create(r.opt, 0, 0));
  assert_error(TC_ERR_ARG, "t_max");
  ck_assert_ptr_null(tc_polynomial_lr_create(r.opt, 0, 1));
  assert_error(TC_ERR_ARG, "total_iters");
  tc_clear_error(); /* a NULL argument keeps an earlier message */
  ck_assert_ptr_null(tc_lambda_lr_create(r.opt, NULL, NULL));
  assert_error(TC_ERR_ARG, "fn is NULL");
  tc_plateau_opts po = tc_plateau_defaults();
  po.factor = 1.0;
  ck_assert_ptr_null(tc_reduce_lr_on_plateau_create(r.opt, &po));
  assert_error(TC_ERR_ARG, "factor should be < 1.0");
  po = tc_plateau_defaults();
  po.mode = 7;
  ck_assert_ptr_null(tc_reduce_lr_on_plateau_create(r.opt, &po));
  assert_error(TC_ERR_ARG, "mode 7 is unknown");
  tc_one_cycle_opts oc = tc_one_cycle_defaults(1.0, 0);
  ck_assert_ptr_null(tc_one_cycle_lr_create(r.opt, &oc));
  assert_error(TC_ERR_ARG, "total_steps");
  oc = tc_one_cycle_defaults(1.0, 10);
  oc.pct_start = 1.5;
  ck_assert_ptr_null(tc_one_cycle_lr_create(r.opt, &oc));
  assert_error(TC_ERR_ARG, "pct_start");
  tc_tensor *w = tc_zeros(SHAPE(1), 1, NULL);
  tc_tensor_requires_grad_(w, true);
  tc_optimizer *ada = tc_adagrad_create(&w, 1, NULL);
  oc = tc_one_cycle_defaults(1.0, 10);
  ck_assert_ptr_null(tc_one_cycle_lr_create(ada, &oc));
  assert_error(TC_ERR_ARG, "must support momentum or beta1");
  oc.cycle_momentum = false;
  tc_lr_scheduler *one = tc_one_cycle_lr_create(ada, &oc);
  ck_assert_ptr_nonnull(one);
  for (int t = 0; t < 10; t++) ck_assert_int_eq(tc_lr_scheduler_step(one), TC_OK);
  ck_assert_int_eq(tc_lr_scheduler_step(one), TC_ERR_STATE); /* step 11 of 10 */
  assert_error(TC_ERR_STATE, "tried to step 11 times");
  ck_assert_int_eq(tc_lr_scheduler_last_epoch(one), 10);

  /* SequentialLR */
  tc_lr_scheduler *a = tc_step_lr_create(r.opt, 2, 0.5), *b = tc_exponential_lr_create(r.opt, 0.9);
  tc_lr_scheduler *pl = tc_reduce_lr_on_plateau_create(r.opt, NULL);
  ck_assert_ptr_null(tc_sequential_lr_create(r.opt, (tc_lr_scheduler *[]){a, pl}, 2, (int64_t[]){3}));
  assert_error(TC_ERR_ARG, "ReduceLROnPlateau");
  ck_assert_ptr_null(tc_sequential_lr_create(r.opt, (tc_lr_scheduler *[]){a, one}, 2, (int64_t[]){3}));
  assert_error(TC_ERR_ARG, "another optimizer");
  ck_assert_ptr_null(tc_sequential_lr_create(r.opt, (tc_lr_scheduler *[]){a, a}, 2, (int64_t[]){3}));
  assert_error(TC_ERR_ARG, "same scheduler");
  ck_assert_ptr_null(tc_sequential_lr_create(r.opt, (tc_lr_scheduler *[]){a, b}, 0, NULL));
  assert_error(TC_ERR_ARG, "at least one scheduler");
  ck_assert_ptr_null(tc_sequential_lr_create(r.opt, (tc_lr_scheduler *[]){a, b, a}, 3, (int64_t[]){5, 2}));
  ck_assert_int_eq(tc_last_status(), TC_ERR_ARG);
  /* failures left a and b untouched and owned by the caller */
  ck_assert_int_eq(tc_lr_scheduler_last_epoch(a), 0);
  tc_lr_scheduler *seq = tc_sequential_lr_create(r.opt, (tc_lr_scheduler *[]){a, b}, 2, (int64_t[]){3});
  ck_assert_ptr_nonnull(seq);
  ck_assert_ptr_null(tc_sequential_lr_create(r.opt, (tc_lr_scheduler *[]){seq}, 1, NULL));
  assert_error(TC_ERR_ARG, "SequentialLR does not take");

  /* state loading errors leave the scheduler unchanged */
  tc_state_dict *sd = tc_state_dict_create();
  ck_assert_int_eq(tc_lr_scheduler_state_dict(pl, sd, "p."), TC_OK);
  ck_assert_int_eq(tc_lr_scheduler_load_state_dict(seq, sd, "p."), TC_ERR_STATE);
  assert_error(TC_ERR_STATE, "holds a ReduceLROnPlateau, not a SequentialLR");
  ck_assert_int_eq(tc_lr_scheduler_state_dict(seq, sd, "s."), TC_OK);
  tc_state_dict_set_meta(sd, "s.schedulers.1.gamma", "x");
  ck_assert_int_eq(tc_lr_scheduler_step(seq), TC_OK);
  ck_assert_int_eq(tc_lr_scheduler_load_state_dict(seq, sd, "s."), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "not a number");
  ck_assert_int_eq(tc_lr_scheduler_last_epoch(seq), 1);
  ck_assert_int_eq(tc_lr_scheduler_load_state_dict(seq, sd, "nothing."), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "no metadata 'nothing.type'");
  tc_state_dict_destroy(sd);

  tc_lr_scheduler_destroy(seq);
  tc_lr_scheduler_destroy(pl);
  tc_lr_scheduler_destroy(one);
  tc_optim_destroy(ada);
  tc_tensor_release(w);
  free_rig(&r);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

static int sched_run(void *ctx) {
  (void)ctx;
  int rc = 1;
  tc_tensor *p = tc_zeros(SHAPE(2), 1, NULL);
  tc_optimizer *opt = NULL;
  tc_lr_scheduler *a = NULL, *b = NULL, *seq = NULL, *oc = NULL;
  tc_state_dict *sd = NULL;
  if (!p || tc_tensor_requires_grad_(p, true)) goto done;
  if (!(opt = tc_sgd_create(&p, 1, NULL))) goto done;
  if (!(a = tc_linear_lr_create(opt, 0.5, 1.0, 3))) goto done;
  if (!(b = tc_multistep_lr_create(opt, (int64_t[]){2, 4}, 2, 0.5))) goto done;
  if (!(seq = tc_sequential_lr_create(opt, (tc_lr_scheduler *[]){a, b}, 2, (int64_t[]){3}))) goto done;
  a = b = NULL; /* owned by seq now */
  for (int t = 0; t < 6; t++)
    if (tc_lr_scheduler_step(seq)) goto done;
  if (!(sd = tc_state_dict_create()) || tc_lr_scheduler_state_dict(seq, sd, "s.")) goto done;
  if (tc_lr_scheduler_load_state_dict(seq, sd, "s.")) goto done;
  tc_one_cycle_opts o = tc_one_cycle_defaults(0.1, 5);
  if (!(oc = tc_one_cycle_lr_create(opt, &o)) || tc_lr_scheduler_step(oc)) goto done;
  rc = 0;
done:
  tc_state_dict_destroy(sd);
  tc_lr_scheduler_destroy(oc);
  tc_lr_scheduler_destroy(seq);
  tc_lr_scheduler_destroy(a);
  tc_lr_scheduler_destroy(b);
  tc_optim_destroy(opt);
  tc_tensor_release(p);
  return rc;
}

START_TEST(test_alloc_failures) { check_alloc_failures(sched_run, NULL, "schedulers"); }
END_TEST

int main(void) {
  Suite *s = suite_create("lr_scheduler");
  TCase *tc = tcase_create("lr_scheduler");
  tcase_set_timeout(tc, 60);
  tcase_add_loop_test(tc, test_sequences, 0, NCASES);
  tcase_add_loop_test(tc, test_resume, 0, NCASES);
  tcase_add_test(tc, test_queries);
  tcase_add_test(tc, test_errors);
  tcase_add_test(tc, test_alloc_failures);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
