/* core/src/optim/lr_scheduler.c — learning-rate schedulers, as torch.optim.lr_scheduler.
 *
 * The structure follows PyTorch's LRScheduler exactly, because the lr sequences depend on it:
 *   - making a scheduler sets each group's initial_lr if unset (setdefault), takes base_lrs from
 *     it, sets last_epoch = -1 and runs the initial step (_step_count = 0, then step() with
 *     _is_initial set);
 *   - step(): _step_count += 1, last_epoch += 1, lrs = get_lr() (the chainable form, computed from
 *     each group's current lr), written to the groups, last_lr = the groups' lrs;
 *   - _update_lr(epoch) (SequentialLR at a milestone): last_epoch = epoch, the closed form when the
 *     scheduler has one, else get_lr().
 * Every formula is PyTorch's Python expression with the same operation order in double (Python
 * floats are doubles; math.cos and ** are the C library's cos and pow), so the sequences match
 * PyTorch's bit for bit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include "optim_internal.h"

typedef enum {
  S_STEP,
  S_MULTISTEP,
  S_CONSTANT,
  S_LINEAR,
  S_EXPONENTIAL,
  S_POLYNOMIAL,
  S_COSINE,
  S_LAMBDA,
  S_ONECYCLE,
  S_PLATEAU,
  S_SEQUENTIAL
} skind;

static const char *const NAMES[] = {"StepLR",        "MultiStepLR",       "ConstantLR",        "LinearLR",
                                    "ExponentialLR", "PolynomialLR",      "CosineAnnealingLR", "LambdaLR",
                                    "OneCycleLR",    "ReduceLROnPlateau", "SequentialLR"};

/* per-group arrays, in one block of NARR * n doubles */
enum { A_BASE, A_LAST, A_MAXLR, A_MINLR, A_MAXMOM, A_BASEMOM, NARR };

typedef struct {
  double end_step;
  int start_lr, end_lr, start_mom, end_mom; /* A_* indices; -1 = the group's initial_lr */
} phase;

struct tc_lr_scheduler {
  skind kind;
  tc_optimizer *opt;
  int64_t n; /* groups the arrays hold */
  double *arr;
  int64_t last_epoch, step_count;
  bool is_initial;
  /* hyperparameters */
  int64_t step_size, total_iters, t_max;
  double gamma, factor, start_factor, end_factor, power, eta_min;
  int64_t *milestones; /* MultiStepLR (sorted), SequentialLR */
  int64_t n_milestones;
  tc_lr_lambda fn;
  void *user;
  /* OneCycleLR */
  int64_t total_steps;
  double pct_start;
  bool three_phase, anneal_cos, cycle_momentum;
  phase phases[3];
  int n_phases;
  /* ReduceLROnPlateau */
  bool mode_max, thr_abs, has_default_min_lr;
  double threshold, eps, best, default_min_lr;
  int64_t patience, cooldown, cooldown_counter, num_bad_epochs;
  /* SequentialLR: owned children */
  tc_lr_scheduler **children;
  int64_t n_children;
};

static inline double *A(const tc_lr_scheduler *s, int which) { return s->arr + which * s->n; }
static inline double *group_lr(const tc_lr_scheduler *s, int64_t g) { return tc__optim_lr_ptr(&s->opt->groups[g]); }

/* ---- lifetime ------------------------------------------------------------------------------------ */
void tc_lr_scheduler_destroy(tc_lr_scheduler *s) {
  if (!s) return;
  for (int64_t k = 0; k < s->n_children; k++) tc_lr_scheduler_destroy(s->children[k]);
  tc__free(s->children);
  tc__free(s->milestones);
  tc__free(s->arr);
  tc__free(s);
}

static tc_lr_scheduler *alloc_sched(const char *fn, skind kind, tc_optimizer *opt) {
  if (!opt) {
    tc__null_arg(fn, "opt");
    return NULL;
  }
  tc_lr_scheduler *s = tc__calloc(sizeof *s);
  if (!s) return NULL;
  s->kind = kind;
  s->opt = opt;
  s->n = opt->n_groups;
  s->arr = tc__calloc((size_t)(NARR * s->n) * sizeof(double));
  if (!s->arr) {
    tc__free(s);
    return NULL;
  }
  s->last_epoch = -1;
  return s;
}

static tc_status check_groups(const char *fn, const tc_lr_scheduler *s) {
  if (s->opt->n_groups != s->n)
    return tc__error(TC_ERR_STATE, "%s: the optimizer has %lld param groups but %s was made with %lld", fn,
                     (long long)s->opt->n_groups, NAMES[s->kind], (long long)s->n);
  return TC_OK;
}

/* ---- get_lr / closed forms ------------------------------------------------------------------------ */
static int64_t bisect_right(const int64_t *a, int64_t n, int64_t x) {
  int64_t lo = 0, hi = n;
  while (lo < hi) {
    int64_t mid = (lo + hi) / 2;
    if (x < a[mid])
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

static double anneal(const tc_lr_scheduler *s, double start, double end, double pct) {
  if (s->anneal_cos) {
    double cos_out = cos(M_PI * pct) + 1;
    return end + (start - end) / 2.0 * cos_out;
  }
  return (end - start) * pct + start;
}

static double onecycle_value(const tc_lr_scheduler *s, int64_t g, int which) {
  return which < 0 ? s->opt->groups[g].initial_lr : A(s, which)[g];
}

/* The chainable get_lr() of every group into out (the current last_epoch). */
static tc_status get_lr(const char *fn, tc_lr_scheduler *s, double *out) {
  const int64_t e = s->last_epoch;
  const double *base = A(s, A_BASE);
  if (s->kind == S_ONECYCLE && e > s->total_steps)
    return tc__error(TC_ERR_STATE, "%s: tried to step %lld times; the specified number of total steps is %lld", fn,
                     (long long)e, (long long)s->total_steps);
  for (int64_t g = 0; g < s->n; g++) {
    const double lr = *group_lr(s, g);
    double v = lr;
    switch (s->kind) {
      case S_STEP:
        if (!(e == 0 || e % s->step_size != 0)) v = lr * s->gamma;
        break;
      case S_MULTISTEP: {
        int64_t cnt = 0;
        for (int64_t k = 0; k < s->n_milestones; k++) cnt += s->milestones[k] == e;
        if (cnt) v = lr * pow(s->gamma, (double)cnt);
        break;
      }
      case S_CONSTANT:
        if (e == 0)
          v = lr * s->factor;
        else if (e == s->total_iters)
          v = lr * (1.0 / s->factor);
        break;
      case S_LINEAR:
        if (e == 0)
          v = lr * s->start_factor;
        else if (!(s->is_initial || e > s->total_iters))
          v = lr * (1.0 + (s->end_factor - s->start_factor) / ((double)s->total_iters * s->start_factor +
                                                               (double)(e - 1) * (s->end_factor - s->start_factor)));
        break;
      case S_EXPONENTIAL:
        if (!s->is_initial) v = lr * s->gamma;
        break;
      case S_POLYNOMIAL:
        if (!(s->is_initial || e > s->total_iters)) {
          double decay = pow(
              (1.0 - (double)e / (double)s->total_iters) / (1.0 - (double)(e - 1) / (double)s->total_iters), s->power);
          v = lr * decay;
        }
        break;
      case S_COSINE: {
        const double T = (double)s->t_max, eta = s->eta_min;
        if (s->is_initial)
          v = lr;
        else if (s->step_count == 1 && e > 0)
          v = eta + (base[g] - eta) * (1 + cos((double)e * M_PI / T)) / 2;
        else if ((e - 1 - s->t_max) % (2 * s->t_max) == 0)
          v = lr + (base[g] - eta) * (1 - cos(M_PI / T)) / 2;
        else
          v = (1 + cos(M_PI * (double)e / T)) / (1 + cos(M_PI * (double)(e - 1) / T)) * (lr - eta) + eta;
        break;
      }
      case S_LAMBDA:
        v = base[g] * s->fn(e, s->user);
        break;
      case S_ONECYCLE: {
        double start_step = 0.0, mom = 0;
        for (int i = 0; i < s->n_phases; i++) {
          const phase *ph = &s->phases[i];
          if ((double)e <= ph->end_step || i == s->n_phases - 1) {
            double pct = ((double)e - start_step) / (ph->end_step - start_step);
            v = anneal(s, onecycle_value(s, g, ph->start_lr), onecycle_value(s, g, ph->end_lr), pct);
            if (s->cycle_momentum)
              mom = anneal(s, onecycle_value(s, g, ph->start_mom), onecycle_value(s, g, ph->end_mom), pct);
            break;
          }
          start_step = ph->end_step;
        }
        if (s->cycle_momentum) *tc__optim_momentum_ptr(s->opt, &s->opt->groups[g]) = mom;
        break;
      }
      default:
        break;
    }
    out[g] = v;
  }
  return TC_OK;
}

/* _get_closed_form_lr(); false when the scheduler has none. */
static bool closed_form(const tc_lr_scheduler *s, double *out) {
  const int64_t e = s->last_epoch;
  const double *base = A(s, A_BASE);
  for (int64_t g = 0; g < s->n; g++) {
    switch (s->kind) {
      case S_STEP:
        out[g] = base[g] * pow(s->gamma, (double)(e / s->step_size - ((e % s->step_size) < 0)));
        break;
      case S_MULTISTEP:
        out[g] = base[g] * pow(s->gamma, (double)bisect_right(s->milestones, s->n_milestones, e));
        break;
      case S_CONSTANT:
        out[g] = base[g] * (s->factor + (e >= s->total_iters ? 1.0 : 0.0) * (1 - s->factor));
        break;
      case S_LINEAR:
        out[g] = base[g] *
                 (s->start_factor + (s->end_factor - s->start_factor) *
                                        (double)(s->total_iters < e ? s->total_iters : e) / (double)s->total_iters);
        break;
      case S_EXPONENTIAL:
        out[g] = base[g] * pow(s->gamma, (double)e);
        break;
      case S_POLYNOMIAL:
        out[g] =
            base[g] * pow(1.0 - (double)(s->total_iters < e ? s->total_iters : e) / (double)s->total_iters, s->power);
        break;
      case S_COSINE:
        out[g] = s->eta_min + (base[g] - s->eta_min) * (1 + cos(M_PI * (double)e / (double)s->t_max)) / 2;
        break;
      default:
        return false;
    }
  }
  return true;
}

/* _update_lr(epoch): epoch < 0 means None. On failure nothing changes. */
static tc_status update_lr(const char *fn, tc_lr_scheduler *s, int64_t epoch) {
  tc_status st = check_groups(fn, s);
  if (st) return st;
  double small[16], *vals = s->n <= 16 ? small : tc__malloc((size_t)s->n * sizeof *vals);
  if (!vals) return TC_ERR_NOMEM;
  int64_t saved = s->last_epoch;
  if (epoch < 0) {
    s->last_epoch++;
    st = get_lr(fn, s, vals);
  } else {
    s->last_epoch = epoch;
    if (!closed_form(s, vals)) st = get_lr(fn, s, vals);
  }
  if (st) {
    s->last_epoch = saved;
  } else {
    for (int64_t g = 0; g < s->n; g++) *group_lr(s, g) = vals[g];
    for (int64_t g = 0; g < s->n; g++) A(s, A_LAST)[g] = *group_lr(s, g);
  }
  if (vals != small) tc__free(vals);
  return st;
}

static tc_status seq_step(const char *fn, tc_lr_scheduler *s);

/* LRScheduler.step() */
static tc_status base_step(const char *fn, tc_lr_scheduler *s) {
  if (s->kind == S_SEQUENTIAL) return seq_step(fn, s);
  s->step_count++;
  tc_status st = update_lr(fn, s, -1);
  if (st) s->step_count--;
  return st;
}

/* LRScheduler._initial_step() */
static tc_status initial_step(const char *fn, tc_lr_scheduler *s) {
  s->step_count = 0;
  s->is_initial = true;
  tc_status st = base_step(fn, s);
  s->is_initial = false;
  return st;
}

/* LRScheduler.__init__ with last_epoch = -1: initial_lr (setdefault), base_lrs, initial step.
 * Destroys s on failure. */
static tc_lr_scheduler *finish_create(const char *fn, tc_lr_scheduler *s) {
  for (int64_t g = 0; g < s->n; g++) {
    tc__optim_group *gr = &s->opt->groups[g];
    if (isnan(gr->initial_lr)) gr->initial_lr = *tc__optim_lr_ptr(gr);
    A(s, A_BASE)[g] = gr->initial_lr;
  }
  if (initial_step(fn, s)) {
    tc_lr_scheduler_destroy(s);
    return NULL;
  }
  return s;
}

/* ---- constructors -------------------------------------------------------------------------------- */
tc_lr_scheduler *tc_step_lr_create(tc_optimizer *opt, int64_t step_size, double gamma) {
  const char *fn = "tc_step_lr_create";
  if (opt && step_size < 1) {
    tc__error(TC_ERR_ARG, "%s: step_size must be >= 1 (got %lld)", fn, (long long)step_size);
    return NULL;
  }
  tc_lr_scheduler *s = alloc_sched(fn, S_STEP, opt);
  if (!s) return NULL;
  s->step_size = step_size;
  s->gamma = gamma;
  return finish_create(fn, s);
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

tc_lr_scheduler *tc_multistep_lr_create(tc_optimizer *opt, const int64_t *milestones, int64_t n, double gamma) {
  const char *fn = "tc_multistep_lr_create";
  if (opt && (n < 0 || (n > 0 && !milestones))) {
    tc__error(TC_ERR_ARG, "%s: milestones is NULL or n < 0 (n = %lld)", fn, (long long)n);
    return NULL;
  }
  tc_lr_scheduler *s = alloc_sched(fn, S_MULTISTEP, opt);
  if (!s) return NULL;
  if (n > 0) {
    s->milestones = tc__malloc((size_t)n * sizeof(int64_t));
    if (!s->milestones) {
      tc_lr_scheduler_destroy(s);
      return NULL;
    }
    memcpy(s->milestones, milestones, (size_t)n * sizeof(int64_t));
    qsort(s->milestones, (size_t)n, sizeof(int64_t), cmp_i64); /* Counter + sorted(elements()) */
  }
  s->n_milestones = n;
  s->gamma = gamma;
  return finish_create(fn, s);
}

tc_lr_scheduler *tc_constant_lr_create(tc_optimizer *opt, double factor, int64_t total_iters) {
  const char *fn = "tc_constant_lr_create";
  if (opt && !(factor > 0 && factor <= 1)) {
    tc__error(TC_ERR_ARG, "%s: constant multiplicative factor expected to be in (0, 1] (got %g)", fn, factor);
    return NULL;
  }
  tc_lr_scheduler *s = alloc_sched(fn, S_CONSTANT, opt);
  if (!s) return NULL;
  s->factor = factor;
  s->total_iters = total_iters;
  return finish_create(fn, s);
}

tc_lr_scheduler *tc_linear_lr_create(tc_optimizer *opt, double start_factor, double end_factor, int64_t total_iters) {
  const char *fn = "tc_linear_lr_create";
  if (opt) {
    const char *bad = NULL;
    if (!(start_factor > 0 && start_factor <= 1))
      bad = "starting multiplicative factor expected to be greater than 0 and less or equal to 1";
    else if (!(end_factor >= 0 && end_factor <= 1))
      bad = "ending multiplicative factor expected to be between 0 and 1";
    else if (total_iters < 1)
      bad = "total_iters must be >= 1";
    if (bad) {
      tc__error(TC_ERR_ARG, "%s: %s (start_factor %g, end_factor %g, total_iters %lld)", fn, bad, start_factor,
                end_factor, (long long)total_iters);
      return NULL;
    }
  }
  tc_lr_scheduler *s = alloc_sched(fn, S_LINEAR, opt);
  if (!s) return NULL;
  s->start_factor = start_factor;
  s->end_factor = end_factor;
  s->total_iters = total_iters;
  return finish_create(fn, s);
}

tc_lr_scheduler *tc_exponential_lr_create(tc_optimizer *opt, double gamma) {
  tc_lr_scheduler *s = alloc_sched("tc_exponential_lr_create", S_EXPONENTIAL, opt);
  if (!s) return NULL;
  s->gamma = gamma;
  return finish_create("tc_exponential_lr_create", s);
}

tc_lr_scheduler *tc_polynomial_lr_create(tc_optimizer *opt, int64_t total_iters, double power) {
  const char *fn = "tc_polynomial_lr_create";
  if (opt && total_iters < 1) {
    tc__error(TC_ERR_ARG, "%s: total_iters must be >= 1 (got %lld)", fn, (long long)total_iters);
    return NULL;
  }
  tc_lr_scheduler *s = alloc_sched(fn, S_POLYNOMIAL, opt);
  if (!s) return NULL;
  s->total_iters = total_iters;
  s->power = power;
  return finish_create(fn, s);
}

tc_lr_scheduler *tc_cosine_annealing_lr_create(tc_optimizer *opt, int64_t t_max, double eta_min) {
  const char *fn = "tc_cosine_annealing_lr_create";
  if (opt && t_max < 1) {
    tc__error(TC_ERR_ARG, "%s: t_max must be >= 1 (got %lld)", fn, (long long)t_max);
    return NULL;
  }
  tc_lr_scheduler *s = alloc_sched(fn, S_COSINE, opt);
  if (!s) return NULL;
  s->t_max = t_max;
  s->eta_min = eta_min;
  return finish_create(fn, s);
}

tc_lr_scheduler *tc_lambda_lr_create(tc_optimizer *opt, tc_lr_lambda lambda, void *user) {
  const char *fn = "tc_lambda_lr_create";
  if (opt && !lambda) {
    tc__null_arg(fn, "fn");
    return NULL;
  }
  tc_lr_scheduler *s = alloc_sched(fn, S_LAMBDA, opt);
  if (!s) return NULL;
  s->fn = lambda;
  s->user = user;
  return finish_create(fn, s);
}

/* ---- OneCycleLR ---------------------------------------------------------------------------------- */
tc_one_cycle_opts tc_one_cycle_defaults(double max_lr, int64_t total_steps) {
  return (tc_one_cycle_opts){.max_lr = max_lr,
                             .total_steps = total_steps,
                             .pct_start = 0.3,
                             .anneal_strategy = TC_ANNEAL_COS,
                             .cycle_momentum = true,
                             .base_momentum = 0.85,
                             .max_momentum = 0.95,
                             .div_factor = 25.0,
                             .final_div_factor = 1e4};
}

static void onecycle_phases(tc_lr_scheduler *s) {
  const double total = (double)s->total_steps;
  if (s->three_phase) {
    s->n_phases = 3;
    s->phases[0] = (phase){s->pct_start * total - 1, -1, A_MAXLR, A_MAXMOM, A_BASEMOM};
    s->phases[1] = (phase){2 * s->pct_start * total - 2, A_MAXLR, -1, A_BASEMOM, A_MAXMOM};
    s->phases[2] = (phase){(double)(s->total_steps - 1), -1, A_MINLR, A_MAXMOM, A_MAXMOM};
  } else {
    s->n_phases = 2;
    s->phases[0] = (phase){s->pct_start * total - 1, -1, A_MAXLR, A_MAXMOM, A_BASEMOM};
    s->phases[1] = (phase){(double)(s->total_steps - 1), A_MAXLR, A_MINLR, A_BASEMOM, A_MAXMOM};
  }
}

tc_lr_scheduler *tc_one_cycle_lr_create(tc_optimizer *opt, const tc_one_cycle_opts *o) {
  const char *fn = "tc_one_cycle_lr_create";
  TC__NONNULL_T(opt, fn);
  TC__NONNULL_T(o, fn);
  if (o->total_steps <= 0) {
    tc__error(TC_ERR_ARG, "%s: expected positive integer total_steps, but got %lld", fn, (long long)o->total_steps);
    return NULL;
  }
  if (!(o->pct_start >= 0 && o->pct_start <= 1)) {
    tc__error(TC_ERR_ARG, "%s: expected float between 0 and 1 pct_start, but got %g", fn, o->pct_start);
    return NULL;
  }
  if (o->anneal_strategy != TC_ANNEAL_COS && o->anneal_strategy != TC_ANNEAL_LINEAR) {
    tc__error(TC_ERR_ARG, "%s: anneal_strategy must be TC_ANNEAL_COS or TC_ANNEAL_LINEAR (got %d)", fn,
              (int)o->anneal_strategy);
    return NULL;
  }
  if (!(o->div_factor > 0) || !(o->final_div_factor > 0)) {
    tc__error(TC_ERR_ARG, "%s: div_factor and final_div_factor must be > 0 (got %g, %g)", fn, o->div_factor,
              o->final_div_factor);
    return NULL;
  }
  if (o->cycle_momentum && opt->n_groups > 0 && !tc__optim_momentum_ptr(opt, &opt->groups[0])) {
    tc__error(TC_ERR_ARG, "%s: optimizer must support momentum or beta1 with cycle_momentum (%s has neither)", fn,
              tc_optim_name(opt));
    return NULL;
  }
  tc_lr_scheduler *s = alloc_sched(fn, S_ONECYCLE, opt);
  if (!s) return NULL;
  s->total_steps = o->total_steps;
  s->pct_start = o->pct_start;
  s->three_phase = o->three_phase;
  s->anneal_cos = o->anneal_strategy == TC_ANNEAL_COS;
  s->cycle_momentum = o->cycle_momentum;
  onecycle_phases(s);
  for (int64_t g = 0; g < s->n; g++) {
    tc__optim_group *gr = &opt->groups[g];
    double max_lr = o->max_lrs ? o->max_lrs[g] : o->max_lr;
    gr->initial_lr = max_lr / o->div_factor;
    A(s, A_MAXLR)[g] = max_lr;
    A(s, A_MINLR)[g] = gr->initial_lr / o->final_div_factor;
    if (s->cycle_momentum) {
      *tc__optim_momentum_ptr(opt, gr) = o->max_momentum;
      A(s, A_MAXMOM)[g] = o->max_momentum;
      A(s, A_BASEMOM)[g] = o->base_momentum;
    }
  }
  return finish_create(fn, s);
}

/* ---- ReduceLROnPlateau --------------------------------------------------------------------------- */
tc_plateau_opts tc_plateau_defaults(void) {
  return (tc_plateau_opts){.mode = TC_PLATEAU_MIN,
                           .factor = 0.1,
                           .patience = 10,
                           .threshold = 1e-4,
                           .threshold_mode = TC_THRESHOLD_REL,
                           .cooldown = 0,
                           .min_lr = 0,
                           .eps = 1e-8};
}

tc_lr_scheduler *tc_reduce_lr_on_plateau_create(tc_optimizer *opt, const tc_plateau_opts *o) {
  const char *fn = "tc_reduce_lr_on_plateau_create";
  TC__NONNULL_T(opt, fn);
  tc_plateau_opts d = tc_plateau_defaults();
  if (!o) o = &d;
  if (!(o->factor < 1.0)) {
    tc__error(TC_ERR_ARG, "%s: factor should be < 1.0 (got %g)", fn, o->factor);
    return NULL;
  }
  if (o->mode != TC_PLATEAU_MIN && o->mode != TC_PLATEAU_MAX) {
    tc__error(TC_ERR_ARG, "%s: mode %d is unknown (TC_PLATEAU_MIN or TC_PLATEAU_MAX)", fn, (int)o->mode);
    return NULL;
  }
  if (o->threshold_mode != TC_THRESHOLD_REL && o->threshold_mode != TC_THRESHOLD_ABS) {
    tc__error(TC_ERR_ARG, "%s: threshold mode %d is unknown (TC_THRESHOLD_REL or TC_THRESHOLD_ABS)", fn,
              (int)o->threshold_mode);
    return NULL;
  }
  tc_lr_scheduler *s = alloc_sched(fn, S_PLATEAU, opt);
  if (!s) return NULL;
  s->factor = o->factor;
  s->patience = o->patience;
  s->cooldown = o->cooldown;
  s->threshold = o->threshold;
  s->eps = o->eps;
  s->mode_max = o->mode == TC_PLATEAU_MAX;
  s->thr_abs = o->threshold_mode == TC_THRESHOLD_ABS;
  s->has_default_min_lr = !o->min_lrs;
  s->default_min_lr = o->min_lr;
  for (int64_t g = 0; g < s->n; g++) {
    A(s, A_MINLR)[g] = o->min_lrs ? o->min_lrs[g] : o->min_lr;
    A(s, A_LAST)[g] = *group_lr(s, g);
  }
  s->last_epoch = 0;
  s->best = s->mode_max ? -INFINITY : INFINITY;
  s->cooldown_counter = 0;
  s->num_bad_epochs = 0;
  return s;
}

static bool is_better(const tc_lr_scheduler *s, double a, double best) {
  if (!s->mode_max && !s->thr_abs) return a < best * (1.0 - s->threshold);
  if (!s->mode_max) return a < best - s->threshold;
  if (!s->thr_abs) return a > best * (s->threshold + 1.0);
  return a > best + s->threshold;
}

/* Resizes the per-group arrays to the optimizer's current group count (PyTorch refills min_lrs
 * from the default when groups were added). */
static tc_status plateau_resize(const char *fn, tc_lr_scheduler *s) {
  int64_t n = s->opt->n_groups;
  if (n == s->n) return TC_OK;
  if (!s->has_default_min_lr)
    return tc__error(TC_ERR_STATE,
                     "%s: the number of param groups in the optimizer (%lld) differs from when ReduceLROnPlateau was "
                     "made (%lld) and min_lrs was given per group",
                     fn, (long long)n, (long long)s->n);
  double *arr = tc__calloc((size_t)(NARR * n) * sizeof(double));
  if (!arr) return TC_ERR_NOMEM;
  tc__free(s->arr);
  s->arr = arr;
  s->n = n;
  for (int64_t g = 0; g < n; g++) A(s, A_MINLR)[g] = s->default_min_lr;
  return TC_OK;
}

static tc_status plateau_step(const char *fn, tc_lr_scheduler *s, double current) {
  int64_t epoch = s->last_epoch + 1;
  bool better = is_better(s, current, s->best);
  bool reduce = false;
  int64_t bad = better ? 0 : s->num_bad_epochs + 1, cool = s->cooldown_counter;
  if (cool > 0) {
    cool--;
    bad = 0;
  }
  if (bad > s->patience) reduce = true;
  /* the only fallible part comes first */
  if (reduce || s->opt->n_groups != s->n) {
    tc_status st = plateau_resize(fn, s);
    if (st) return st;
  }
  s->last_epoch = epoch;
  if (better) s->best = current;
  s->num_bad_epochs = bad;
  s->cooldown_counter = cool;
  if (reduce) {
    for (int64_t g = 0; g < s->n; g++) {
      double old_lr = *group_lr(s, g);
      double new_lr = old_lr * s->factor;
      if (A(s, A_MINLR)[g] > new_lr) new_lr = A(s, A_MINLR)[g]; /* Python's max(new_lr, min_lr) */
      if (old_lr - new_lr > s->eps) *group_lr(s, g) = new_lr;
    }
    s->cooldown_counter = s->cooldown;
    s->num_bad_epochs = 0;
  }
  for (int64_t g = 0; g < s->n; g++) A(s, A_LAST)[g] = *group_lr(s, g);
  return TC_OK;
}

/* ---- SequentialLR -------------------------------------------------------------------------------- */
tc_lr_scheduler *tc_sequential_lr_create(tc_optimizer *opt, tc_lr_scheduler *const *schedulers, int64_t n,
                                         const int64_t *milestones) {
  const char *fn = "tc_sequential_lr_create";
  TC__NONNULL_T(opt, fn);
  TC__NONNULL_T(schedulers, fn);
  if (n < 1) {
    tc__error(TC_ERR_ARG, "%s: expects at least one scheduler, but got %lld", fn, (long long)n);
    return NULL;
  }
  if (n > 1 && !milestones) {
    tc__null_arg(fn, "milestones");
    return NULL;
  }
  for (int64_t k = 0; k < n; k++) {
    const tc_lr_scheduler *c = schedulers[k];
    if (!c) {
      tc__error(TC_ERR_ARG, "%s: schedulers[%lld] is NULL", fn, (long long)k);
      return NULL;
    }
    if (c->kind == S_PLATEAU || c->kind == S_SEQUENTIAL) {
      tc__error(TC_ERR_ARG, "%s: schedulers[%lld] is a %s, which SequentialLR does not take", fn, (long long)k,
                NAMES[c->kind]);
      return NULL;
    }
    if (c->opt != opt) {
      tc__error(TC_ERR_ARG, "%s: schedulers[%lld] (%s) drives another optimizer", fn, (long long)k, NAMES[c->kind]);
      return NULL;
    }
    for (int64_t j = 0; j < k; j++)
      if (schedulers[j] == c) {
        tc__error(TC_ERR_ARG, "%s: schedulers[%lld] is the same scheduler as schedulers[%lld]", fn, (long long)k,
                  (long long)j);
        return NULL;
      }
    if (c->n != opt->n_groups) {
      tc__error(TC_ERR_STATE, "%s: schedulers[%lld] was made for %lld param groups, the optimizer has %lld", fn,
                (long long)k, (long long)c->n, (long long)opt->n_groups);
      return NULL;
    }
  }
  for (int64_t k = 1; k + 1 < n; k++)
    if (milestones[k] < milestones[k - 1]) {
      tc__error(TC_ERR_ARG, "%s: milestones must be in ascending order (milestones[%lld] = %lld < %lld)", fn,
                (long long)k, (long long)milestones[k], (long long)milestones[k - 1]);
      return NULL;
    }
  for (int64_t g = 0; g < opt->n_groups; g++)
    if (isnan(opt->groups[g].initial_lr)) {
      tc__error(TC_ERR_STATE, "%s: param group %lld has no initial_lr", fn, (long long)g);
      return NULL;
    }
  tc_lr_scheduler *s = alloc_sched(fn, S_SEQUENTIAL, opt);
  if (!s) return NULL;
  s->children = tc__malloc((size_t)n * sizeof *s->children);
  s->milestones = tc__malloc((size_t)(n > 1 ? n - 1 : 1) * sizeof(int64_t));
  if (!s->children || !s->milestones) {
    tc_lr_scheduler_destroy(s);
    return NULL;
  }
  if (n > 1) memcpy(s->milestones, milestones, (size_t)(n - 1) * sizeof(int64_t));
  s->n_milestones = n - 1;
  /* the children's last_epoch and the groups' lr change only after the last failure point */
  int64_t idx = bisect_right(s->milestones, s->n_milestones, 0);
  tc_lr_scheduler *first = schedulers[idx];
  int64_t saved_epoch[1] = {first->last_epoch}, saved_count = first->step_count;
  double *saved_lr = tc__malloc((size_t)(opt->n_groups ? opt->n_groups : 1) * sizeof(double));
  double *saved_last = tc__malloc((size_t)(first->n ? first->n : 1) * sizeof(double));
  if (!saved_lr || !saved_last) {
    tc__free(saved_lr);
    tc__free(saved_last);
    tc_lr_scheduler_destroy(s);
    return NULL;
  }
  for (int64_t g = 0; g < opt->n_groups; g++) saved_lr[g] = *tc__optim_lr_ptr(&opt->groups[g]);
  memcpy(saved_last, A(first, A_LAST), (size_t)first->n * sizeof(double));
  s->last_epoch = 0; /* last_epoch + 1 */
  for (int64_t g = 0; g < opt->n_groups; g++) *tc__optim_lr_ptr(&opt->groups[g]) = opt->groups[g].initial_lr;
  for (int64_t k = 0; k < n; k++) schedulers[k]->last_epoch--; /* recursive_undo */
  tc_status st = initial_step(fn, first);
  if (st) {
    for (int64_t k = 0; k < n; k++) schedulers[k]->last_epoch++;
    first->last_epoch = saved_epoch[0];
    first->step_count = saved_count;
    for (int64_t g = 0; g < opt->n_groups; g++) *tc__optim_lr_ptr(&opt->groups[g]) = saved_lr[g];
    memcpy(A(first, A_LAST), saved_last, (size_t)first->n * sizeof(double));
    tc__free(saved_lr);
    tc__free(saved_last);
    tc_lr_scheduler_destroy(s);
    return NULL;
  }
  tc__free(saved_lr);
  tc__free(saved_last);
  memcpy(s->children, schedulers, (size_t)n * sizeof *s->children);
  s->n_children = n;
  memcpy(A(s, A_LAST), A(first, A_LAST), (size_t)s->n * sizeof(double));
  return s;
}

static tc_status seq_step(const char *fn, tc_lr_scheduler *s) {
  int64_t e = s->last_epoch + 1;
  int64_t idx = bisect_right(s->milestones, s->n_milestones, e);
  tc_lr_scheduler *c = s->children[idx];
  tc_status st;
  if (idx > 0 && s->milestones[idx - 1] == e)
    st = update_lr(fn, c, 0);
  else
    st = base_step(fn, c);
  if (st) return st;
  s->last_epoch = e;
  memcpy(A(s, A_LAST), A(c, A_LAST), (size_t)s->n * sizeof(double));
  return TC_OK;
}

/* ---- stepping and queries ------------------------------------------------------------------------ */
tc_status tc_lr_scheduler_step(tc_lr_scheduler *s) {
  const char *fn = "tc_lr_scheduler_step";
  TC__NONNULL_S(s, fn);
  if (s->kind == S_PLATEAU)
    return tc__error(TC_ERR_STATE, "%s: ReduceLROnPlateau steps with a metric: use tc_lr_scheduler_step_metric", fn);
  tc_status st = check_groups(fn, s);
  if (st) return st;
  return base_step(fn, s);
}

tc_status tc_lr_scheduler_step_metric(tc_lr_scheduler *s, double metric) {
  const char *fn = "tc_lr_scheduler_step_metric";
  TC__NONNULL_S(s, fn);
  if (s->kind != S_PLATEAU)
    return tc__error(TC_ERR_STATE, "%s: %s steps without a metric: use tc_lr_scheduler_step", fn, NAMES[s->kind]);
  return plateau_step(fn, s, metric);
}

double tc_lr_scheduler_get_last_lr(const tc_lr_scheduler *s, int64_t group) {
  const char *fn = "tc_lr_scheduler_get_last_lr";
  if (!s) {
    tc__null_arg(fn, "s");
    return NAN;
  }
  if (group < 0 || group >= s->n) {
    tc__error(TC_ERR_ARG, "%s: group %lld is out of range (%lld groups)", fn, (long long)group, (long long)s->n);
    return NAN;
  }
  return A(s, A_LAST)[group];
}

int64_t tc_lr_scheduler_last_epoch(const tc_lr_scheduler *s) { return s ? s->last_epoch : -1; }
const char *tc_lr_scheduler_name(const tc_lr_scheduler *s) { return s ? NAMES[s->kind] : "(null)"; }

/* ---- state_dict ---------------------------------------------------------------------------------- */
#define TRY(x)                 \
  do {                         \
    if ((st = (x))) return st; \
  } while (0)

static tc_status set_doubles(tc_state_dict *sd, const char *pre, const char *key, const double *v, int64_t n) {
  char *s = tc__format_doubles(v, n);
  if (!s) return TC_ERR_NOMEM;
  tc_status st = tc__meta_set_str(sd, pre, key, s);
  tc__free(s);
  return st;
}

static tc_status set_ints(tc_state_dict *sd, const char *pre, const char *key, const int64_t *v, int64_t n) {
  char *s = tc__malloc((size_t)(n > 0 ? n : 1) * 21 + 1);
  if (!s) return TC_ERR_NOMEM;
  size_t at = 0;
  s[0] = 0;
  for (int64_t i = 0; i < n; i++) at += (size_t)sprintf(s + at, i ? ",%lld" : "%lld", (long long)v[i]);
  tc_status st = tc__meta_set_str(sd, pre, key, s);
  tc__free(s);
  return st;
}

static tc_status save_sched(const tc_lr_scheduler *s, tc_state_dict *sd, const char *pre) {
  tc_status st;
  TRY(tc__meta_set_str(sd, pre, "type", NAMES[s->kind]));
  TRY(tc__meta_set_int(sd, pre, "last_epoch", s->last_epoch));
  TRY(tc__meta_set_int(sd, pre, "step_count", s->step_count));
  TRY(tc__meta_set_int(sd, pre, "num_groups", s->n));
  TRY(set_doubles(sd, pre, "base_lrs", A(s, A_BASE), s->n));
  TRY(set_doubles(sd, pre, "last_lr", A(s, A_LAST), s->n));
  switch (s->kind) {
    case S_STEP:
      TRY(tc__meta_set_int(sd, pre, "step_size", s->step_size));
      TRY(tc__meta_set_double(sd, pre, "gamma", s->gamma));
      break;
    case S_MULTISTEP:
      TRY(set_ints(sd, pre, "milestones", s->milestones, s->n_milestones));
      TRY(tc__meta_set_double(sd, pre, "gamma", s->gamma));
      break;
    case S_CONSTANT:
      TRY(tc__meta_set_double(sd, pre, "factor", s->factor));
      TRY(tc__meta_set_int(sd, pre, "total_iters", s->total_iters));
      break;
    case S_LINEAR:
      TRY(tc__meta_set_double(sd, pre, "start_factor", s->start_factor));
      TRY(tc__meta_set_double(sd, pre, "end_factor", s->end_factor));
      TRY(tc__meta_set_int(sd, pre, "total_iters", s->total_iters));
      break;
    case S_EXPONENTIAL:
      TRY(tc__meta_set_double(sd, pre, "gamma", s->gamma));
      break;
    case S_POLYNOMIAL:
      TRY(tc__meta_set_int(sd, pre, "total_iters", s->total_iters));
      TRY(tc__meta_set_double(sd, pre, "power", s->power));
      break;
    case S_COSINE:
      TRY(tc__meta_set_int(sd, pre, "T_max", s->t_max));
      TRY(tc__meta_set_double(sd, pre, "eta_min", s->eta_min));
      break;
    case S_LAMBDA:
      break;
    case S_ONECYCLE:
      TRY(tc__meta_set_int(sd, pre, "total_steps", s->total_steps));
      TRY(tc__meta_set_double(sd, pre, "pct_start", s->pct_start));
      TRY(tc__meta_set_str(sd, pre, "three_phase", s->three_phase ? "true" : "false"));
      TRY(tc__meta_set_str(sd, pre, "anneal_strategy", s->anneal_cos ? "cos" : "linear"));
      TRY(tc__meta_set_str(sd, pre, "cycle_momentum", s->cycle_momentum ? "true" : "false"));
      TRY(set_doubles(sd, pre, "max_lr", A(s, A_MAXLR), s->n));
      TRY(set_doubles(sd, pre, "min_lr", A(s, A_MINLR), s->n));
      TRY(set_doubles(sd, pre, "max_momentum", A(s, A_MAXMOM), s->n));
      TRY(set_doubles(sd, pre, "base_momentum", A(s, A_BASEMOM), s->n));
      break;
    case S_PLATEAU:
      TRY(tc__meta_set_str(sd, pre, "mode", s->mode_max ? "max" : "min"));
      TRY(tc__meta_set_str(sd, pre, "threshold_mode", s->thr_abs ? "abs" : "rel"));
      TRY(tc__meta_set_double(sd, pre, "factor", s->factor));
      TRY(tc__meta_set_double(sd, pre, "threshold", s->threshold));
      TRY(tc__meta_set_double(sd, pre, "eps", s->eps));
      TRY(tc__meta_set_double(sd, pre, "best", s->best));
      TRY(tc__meta_set_int(sd, pre, "patience", s->patience));
      TRY(tc__meta_set_int(sd, pre, "cooldown", s->cooldown));
      TRY(tc__meta_set_int(sd, pre, "cooldown_counter", s->cooldown_counter));
      TRY(tc__meta_set_int(sd, pre, "num_bad_epochs", s->num_bad_epochs));
      TRY(set_doubles(sd, pre, "min_lrs", A(s, A_MINLR), s->n));
      if (s->has_default_min_lr) TRY(tc__meta_set_double(sd, pre, "default_min_lr", s->default_min_lr));
      break;
    case S_SEQUENTIAL: {
      TRY(set_ints(sd, pre, "milestones", s->milestones, s->n_milestones));
      TRY(tc__meta_set_int(sd, pre, "num_schedulers", s->n_children));
      for (int64_t k = 0; k < s->n_children; k++) {
        char sub[200];
        snprintf(sub, sizeof sub, "%sschedulers.%lld.", pre, (long long)k);
        TRY(save_sched(s->children[k], sd, sub));
      }
      break;
    }
  }
  return TC_OK;
}

tc_status tc_lr_scheduler_state_dict(const tc_lr_scheduler *s, tc_state_dict *sd, const char *prefix) {
  const char *fn = "tc_lr_scheduler_state_dict";
  TC__NONNULL_S(s, fn);
  TC__NONNULL_S(sd, fn);
  if (!prefix) prefix = "";
  if (strlen(prefix) > 100) return tc__error(TC_ERR_ARG, "%s: prefix is longer than 100 bytes", fn);
  return save_sched(s, sd, prefix);
}

/* A deep copy (children included) to load into, so a failed load changes nothing. */
static tc_lr_scheduler *clone_sched(const tc_lr_scheduler *s) {
  tc_lr_scheduler *c = tc__malloc(sizeof *c);
  if (!c) return NULL;
  *c = *s;
  c->arr = NULL;
  c->milestones = NULL;
  c->children = NULL;
  c->n_children = 0;
  c->arr = tc__malloc((size_t)(NARR * (s->n ? s->n : 1)) * sizeof(double));
  if (!c->arr) goto fail;
  memcpy(c->arr, s->arr, (size_t)(NARR * s->n) * sizeof(double));
  if (s->milestones) {
    size_t nb = (size_t)(s->n_milestones ? s->n_milestones : 1) * sizeof(int64_t);
    if (!(c->milestones = tc__malloc(nb))) goto fail;
    memcpy(c->milestones, s->milestones, nb);
  }
  if (s->n_children) {
    if (!(c->children = tc__calloc((size_t)s->n_children * sizeof *c->children))) goto fail;
    for (int64_t k = 0; k < s->n_children; k++) {
      if (!(c->children[k] = clone_sched(s->children[k]))) goto fail;
      c->n_children = k + 1;
    }
    c->n_children = s->n_children;
  }
  return c;
fail:
  tc_lr_scheduler_destroy(c);
  return NULL;
}

static tc_status get_doubles(const char *fn, const tc_state_dict *sd, const char *pre, const char *key, double *out,
                             int64_t n) {
  const char *v = tc__meta_get_str(fn, sd, pre, key);
  if (!v) return tc_last_status();
  return tc__parse_doubles(fn, key, v, out, n);
}

static tc_status get_flag(const char *fn, const tc_state_dict *sd, const char *pre, const char *key, const char *yes,
                          const char *no, bool *out) {
  const char *v = tc__meta_get_str(fn, sd, pre, key);
  if (!v) return tc_last_status();
  if (!strcmp(v, yes))
    *out = true;
  else if (!strcmp(v, no))
    *out = false;
  else
    return tc__error(TC_ERR_ARG, "%s: metadata '%s%s' is '%s', not '%s' or '%s'", fn, pre, key, v, yes, no);
  return TC_OK;
}

static tc_status load_into(const char *fn, tc_lr_scheduler *s, const tc_state_dict *sd, const char *pre) {
  tc_status st;
  const char *type = tc__meta_get_str(fn, sd, pre, "type");
  if (!type) return tc_last_status();
  if (strcmp(type, NAMES[s->kind]))
    return tc__error(TC_ERR_STATE, "%s: the state dict holds a %s, not a %s", fn, type, NAMES[s->kind]);
  int64_t n = 0;
  TRY(tc__meta_get_int(fn, sd, pre, "num_groups", &n));
  if (n != s->n)
    return tc__error(TC_ERR_STATE, "%s: the state dict's %s has %lld param groups, this one %lld", fn, type,
                     (long long)n, (long long)s->n);
  TRY(tc__meta_get_int(fn, sd, pre, "last_epoch", &s->last_epoch));
  TRY(tc__meta_get_int(fn, sd, pre, "step_count", &s->step_count));
  TRY(get_doubles(fn, sd, pre, "base_lrs", A(s, A_BASE), n));
  TRY(get_doubles(fn, sd, pre, "last_lr", A(s, A_LAST), n));
  switch (s->kind) {
    case S_STEP:
      TRY(tc__meta_get_int(fn, sd, pre, "step_size", &s->step_size));
      TRY(tc__meta_get_double(fn, sd, pre, "gamma", &s->gamma));
      if (s->step_size < 1) return tc__error(TC_ERR_ARG, "%s: step_size %lld < 1", fn, (long long)s->step_size);
      break;
    case S_MULTISTEP: {
      const char *v = tc__meta_get_str(fn, sd, pre, "milestones");
      if (!v) return tc_last_status();
      int64_t *ms, nm;
      TRY(tc__parse_ints(fn, "milestones", v, &ms, &nm));
      if (nm) qsort(ms, (size_t)nm, sizeof(int64_t), cmp_i64);
      tc__free(s->milestones);
      s->milestones = ms;
      s->n_milestones = nm;
      TRY(tc__meta_get_double(fn, sd, pre, "gamma", &s->gamma));
      break;
    }
    case S_CONSTANT:
      TRY(tc__meta_get_double(fn, sd, pre, "factor", &s->factor));
      TRY(tc__meta_get_int(fn, sd, pre, "total_iters", &s->total_iters));
      break;
    case S_LINEAR:
      TRY(tc__meta_get_double(fn, sd, pre, "start_factor", &s->start_factor));
      TRY(tc__meta_get_double(fn, sd, pre, "end_factor", &s->end_factor));
      TRY(tc__meta_get_int(fn, sd, pre, "total_iters", &s->total_iters));
      if (s->total_iters < 1) return tc__error(TC_ERR_ARG, "%s: total_iters %lld < 1", fn, (long long)s->total_iters);
      break;
    case S_EXPONENTIAL:
      TRY(tc__meta_get_double(fn, sd, pre, "gamma", &s->gamma));
      break;
    case S_POLYNOMIAL:
      TRY(tc__meta_get_int(fn, sd, pre, "total_iters", &s->total_iters));
      TRY(tc__meta_get_double(fn, sd, pre, "power", &s->power));
      if (s->total_iters < 1) return tc__error(TC_ERR_ARG, "%s: total_iters %lld < 1", fn, (long long)s->total_iters);
      break;
    case S_COSINE:
      TRY(tc__meta_get_int(fn, sd, pre, "T_max", &s->t_max));
      TRY(tc__meta_get_double(fn, sd, pre, "eta_min", &s->eta_min));
      if (s->t_max < 1) return tc__error(TC_ERR_ARG, "%s: T_max %lld < 1", fn, (long long)s->t_max);
      break;
    case S_LAMBDA:
      break;
    case S_ONECYCLE:
      TRY(tc__meta_get_int(fn, sd, pre, "total_steps", &s->total_steps));
      TRY(tc__meta_get_double(fn, sd, pre, "pct_start", &s->pct_start));
      TRY(tc__meta_get_bool(fn, sd, pre, "three_phase", &s->three_phase));
      TRY(get_flag(fn, sd, pre, "anneal_strategy", "cos", "linear", &s->anneal_cos));
      TRY(tc__meta_get_bool(fn, sd, pre, "cycle_momentum", &s->cycle_momentum));
      TRY(get_doubles(fn, sd, pre, "max_lr", A(s, A_MAXLR), n));
      TRY(get_doubles(fn, sd, pre, "min_lr", A(s, A_MINLR), n));
      TRY(get_doubles(fn, sd, pre, "max_momentum", A(s, A_MAXMOM), n));
      TRY(get_doubles(fn, sd, pre, "base_momentum", A(s, A_BASEMOM), n));
      if (s->total_steps < 1) return tc__error(TC_ERR_ARG, "%s: total_steps %lld < 1", fn, (long long)s->total_steps);
      if (s->cycle_momentum && n > 0 && !tc__optim_momentum_ptr(s->opt, &s->opt->groups[0]))
        return tc__error(TC_ERR_ARG, "%s: cycle_momentum is set but %s has no momentum", fn, tc_optim_name(s->opt));
      onecycle_phases(s);
      break;
    case S_PLATEAU: {
      TRY(get_flag(fn, sd, pre, "mode", "max", "min", &s->mode_max));
      TRY(get_flag(fn, sd, pre, "threshold_mode", "abs", "rel", &s->thr_abs));
      TRY(tc__meta_get_double(fn, sd, pre, "factor", &s->factor));
      TRY(tc__meta_get_double(fn, sd, pre, "threshold", &s->threshold));
      TRY(tc__meta_get_double(fn, sd, pre, "eps", &s->eps));
      TRY(tc__meta_get_double(fn, sd, pre, "best", &s->best));
      TRY(tc__meta_get_int(fn, sd, pre, "patience", &s->patience));
      TRY(tc__meta_get_int(fn, sd, pre, "cooldown", &s->cooldown));
      TRY(tc__meta_get_int(fn, sd, pre, "cooldown_counter", &s->cooldown_counter));
      TRY(tc__meta_get_int(fn, sd, pre, "num_bad_epochs", &s->num_bad_epochs));
      TRY(get_doubles(fn, sd, pre, "min_lrs", A(s, A_MINLR), n));
      char key[200];
      snprintf(key, sizeof key, "%sdefault_min_lr", pre);
      s->has_default_min_lr = tc_state_dict_get_meta(sd, key) != NULL;
      if (s->has_default_min_lr) TRY(tc__meta_get_double(fn, sd, pre, "default_min_lr", &s->default_min_lr));
      if (!(s->factor < 1.0)) return tc__error(TC_ERR_ARG, "%s: factor %g is not < 1", fn, s->factor);
      break;
    }
    case S_SEQUENTIAL: {
      int64_t nc = 0;
      TRY(tc__meta_get_int(fn, sd, pre, "num_schedulers", &nc));
      if (nc != s->n_children)
        return tc__error(TC_ERR_STATE, "%s: the state dict's SequentialLR has %lld schedulers, this one %lld", fn,
                         (long long)nc, (long long)s->n_children);
      const char *v = tc__meta_get_str(fn, sd, pre, "milestones");
      if (!v) return tc_last_status();
      int64_t *ms, nm;
      TRY(tc__parse_ints(fn, "milestones", v, &ms, &nm));
      if (nm != s->n_milestones) {
        tc__free(ms);
        return tc__error(TC_ERR_STATE, "%s: '%smilestones' has %lld entries, expected %lld", fn, pre, (long long)nm,
                         (long long)s->n_milestones);
      }
      if (nm) memcpy(s->milestones, ms, (size_t)nm * sizeof(int64_t));
      tc__free(ms);
      for (int64_t k = 0; k < nc; k++) {
        char sub[200];
        snprintf(sub, sizeof sub, "%sschedulers.%lld.", pre, (long long)k);
        TRY(load_into(fn, s->children[k], sd, sub));
      }
      break;
    }
  }
  return TC_OK;
}

/* Swaps dst's contents with the loaded src (children keep their identity). */
static void commit(tc_lr_scheduler *dst, tc_lr_scheduler *src) {
  tc_lr_scheduler tmp = *dst;
  *dst = *src;
  *src = tmp;
  if (dst->kind == S_SEQUENTIAL) {
    tc_lr_scheduler **loaded = dst->children;
    dst->children = src->children;
    src->children = loaded;
    for (int64_t k = 0; k < dst->n_children; k++) commit(dst->children[k], src->children[k]);
  }
}

tc_status tc_lr_scheduler_load_state_dict(tc_lr_scheduler *s, const tc_state_dict *sd, const char *prefix) {
  const char *fn = "tc_lr_scheduler_load_state_dict";
  TC__NONNULL_S(s, fn);
  TC__NONNULL_S(sd, fn);
  if (!prefix) prefix = "";
  if (strlen(prefix) > 100) return tc__error(TC_ERR_ARG, "%s: prefix is longer than 100 bytes", fn);
  tc_lr_scheduler *c = clone_sched(s);
  if (!c) return TC_ERR_NOMEM;
  tc_status st = load_into(fn, c, sd, prefix);
  if (!st) commit(s, c);
  tc_lr_scheduler_destroy(c);
  return st;
}
