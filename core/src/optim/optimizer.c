/* core/src/optim/optimizer.c — the optimizer object: construction and option checks (PyTorch's
 * messages and defaults), parameter groups, step (state made first, then the fused kernels of
 * optim_kernels.c), zero_grad, and state_dict save/load.
 *
 * A step runs in three phases so that a failure leaves nothing half done: (1) for every parameter
 * with a grad, make missing state and contiguous copies where a parameter or grad is strided (all
 * allocation happens here; on failure everything made is released and no parameter has changed),
 * (2) run the kernels, (3) copy strided parameters back and bump versions.
 * Internal tensors are made with scopes paused: a step inside a user's tc_scope_push/pop must not
 * hand the optimizer's state to that scope.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include "../autograd/autograd_internal.h"
#include "optim_internal.h"

static const char *const KIND_NAMES[] = {"SGD", "Adam", "AdamW", "RMSprop", "Adagrad"};

/* ---- defaults ------------------------------------------------------------------------------------ */
tc_sgd_opts tc_sgd_defaults(void) { return (tc_sgd_opts){.lr = 1e-3}; }
tc_adam_opts tc_adam_defaults(void) { return (tc_adam_opts){.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8}; }
tc_adam_opts tc_adamw_defaults(void) {
  return (tc_adam_opts){
      .lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 1e-2, .decoupled_weight_decay = true};
}
tc_rmsprop_opts tc_rmsprop_defaults(void) { return (tc_rmsprop_opts){.lr = 1e-2, .alpha = 0.99, .eps = 1e-8}; }
tc_adagrad_opts tc_adagrad_defaults(void) { return (tc_adagrad_opts){.lr = 1e-2, .eps = 1e-10}; }

static size_t opts_size(tc_optim_kind k) {
  switch (k) {
    case TC_OPTIM_SGD:
      return sizeof(tc_sgd_opts);
    case TC_OPTIM_ADAM:
    case TC_OPTIM_ADAMW:
      return sizeof(tc_adam_opts);
    case TC_OPTIM_RMSPROP:
      return sizeof(tc_rmsprop_opts);
    default:
      return sizeof(tc_adagrad_opts);
  }
}

/* Copies the kind's struct from user memory into a zeroed union. */
static tc__optim_opts opts_from(tc_optim_kind k, const void *src) {
  tc__optim_opts o;
  memset(&o, 0, sizeof o);
  memcpy(&o, src, opts_size(k));
  if (k == TC_OPTIM_ADAMW) o.adam.decoupled_weight_decay = true;
  return o;
}

/* ---- checks (PyTorch's constructor checks; written !(x >= 0) so NaN fails too) ---------------------- */
#define NONNEG(v, what)                                                                                  \
  do {                                                                                                   \
    if (!((v) >= 0.0)) return tc__error(TC_ERR_ARG, "%s: invalid %s: %g (must be >= 0)", fn, what, (v)); \
  } while (0)

static tc_status validate(const char *fn, tc_optim_kind k, const tc__optim_opts *o) {
  NONNEG(o->sgd.lr, "learning rate");
  switch (k) {
    case TC_OPTIM_SGD:
      NONNEG(o->sgd.momentum, "momentum value");
      NONNEG(o->sgd.weight_decay, "weight_decay value");
      if (!isfinite(o->sgd.dampening))
        return tc__error(TC_ERR_ARG, "%s: invalid dampening value: %g", fn, o->sgd.dampening);
      if (o->sgd.nesterov && (o->sgd.momentum <= 0 || o->sgd.dampening != 0))
        return tc__error(TC_ERR_ARG,
                         "%s: nesterov momentum requires a momentum and zero dampening (momentum %g, dampening %g)", fn,
                         o->sgd.momentum, o->sgd.dampening);
      break;
    case TC_OPTIM_ADAM:
    case TC_OPTIM_ADAMW:
      NONNEG(o->adam.eps, "epsilon value");
      if (!(o->adam.beta1 >= 0 && o->adam.beta1 < 1))
        return tc__error(TC_ERR_ARG, "%s: invalid beta parameter at index 0: %g (must be in [0, 1))", fn,
                         o->adam.beta1);
      if (!(o->adam.beta2 >= 0 && o->adam.beta2 < 1))
        return tc__error(TC_ERR_ARG, "%s: invalid beta parameter at index 1: %g (must be in [0, 1))", fn,
                         o->adam.beta2);
      NONNEG(o->adam.weight_decay, "weight_decay value");
      break;
    case TC_OPTIM_RMSPROP:
      NONNEG(o->rmsprop.eps, "epsilon value");
      NONNEG(o->rmsprop.momentum, "momentum value");
      NONNEG(o->rmsprop.weight_decay, "weight_decay value");
      NONNEG(o->rmsprop.alpha, "alpha value");
      break;
    case TC_OPTIM_ADAGRAD:
      NONNEG(o->adagrad.lr_decay, "lr_decay value");
      NONNEG(o->adagrad.weight_decay, "weight_decay value");
      NONNEG(o->adagrad.initial_accumulator_value, "initial_accumulator_value value");
      NONNEG(o->adagrad.eps, "epsilon value");
      break;
  }
  return TC_OK;
}

/* params: n >= 1 distinct f32/f64 leaves (on any device), none already in opt. */
static tc_status check_params(const char *fn, const tc_optimizer *opt, tc_tensor *const *params, int64_t n) {
  if (!params) return tc__null_arg(fn, "params");
  if (n < 1) return tc__error(TC_ERR_ARG, "%s: optimizer got an empty parameter list (n = %lld)", fn, (long long)n);
  for (int64_t i = 0; i < n; i++) {
    const tc_tensor *p = params[i];
    if (!p) return tc__error(TC_ERR_ARG, "%s: params[%lld] is NULL", fn, (long long)i);
    if (p->dtype != TC_F32 && p->dtype != TC_F64)
      return tc__error(TC_ERR_DTYPE, "%s: params[%lld] has dtype %s; optimizers take float32 and float64 parameters",
                       fn, (long long)i, tc_dtype_name(p->dtype));
    if (!tc_tensor_is_leaf(p))
      return tc__error(TC_ERR_ARG, "%s: params[%lld] is not a leaf tensor (can't optimize a non-leaf tensor)", fn,
                       (long long)i);
    for (int64_t j = 0; j < i; j++)
      if (params[j] == p)
        return tc__error(TC_ERR_ARG, "%s: params[%lld] is the same tensor as params[%lld]", fn, (long long)i,
                         (long long)j);
    if (opt)
      for (int64_t g = 0; g < opt->n_groups; g++)
        for (int64_t j = 0; j < opt->groups[g].count; j++)
          if (opt->params[opt->groups[g].first + j].param == p)
            return tc__error(TC_ERR_ARG, "%s: params[%lld] is already in parameter group %lld", fn, (long long)i,
                             (long long)g);
  }
  return TC_OK;
}

/* ---- state tensors ------------------------------------------------------------------------------- */
/* A contiguous tensor shaped as p, filled with v (uninitialised when fill is false). */
static tc_tensor *state_like(const tc_tensor *p, bool fill, double v) {
  int was = tc__scope_pause();
  tc_tensor *t = tc__empty(p->sizes, p->ndim, p->dtype, p->storage->device);
  tc__scope_resume(was);
  if (t && fill && tc__fill(t, v)) {
    tc_tensor_release(t);
    return NULL;
  }
  return t;
}

/* Adagrad's sum is made when a parameter joins the optimizer, as PyTorch's constructor does. */
static tc_status init_eager_state(tc_optimizer *opt, const tc__optim_group *g) {
  if (opt->kind != TC_OPTIM_ADAGRAD) return TC_OK;
  for (int64_t i = g->first; i < g->first + g->count; i++) {
    tc__optim_param *pp = &opt->params[i];
    pp->state[0] = state_like(pp->param, true, g->o.adagrad.initial_accumulator_value);
    if (!pp->state[0]) return TC_ERR_NOMEM;
    pp->has_state = true;
    pp->step = 0;
  }
  return TC_OK;
}

static void release_param(tc__optim_param *pp) {
  for (int s = 0; s < TC__OPTIM_NSTATE; s++) tc_tensor_release(pp->state[s]);
  tc_tensor_release(pp->param);
}

/* Appends a group (options already validated); on failure opt is unchanged. */
static tc_status append_group(tc_optimizer *opt, tc_tensor *const *params, int64_t n, const tc__optim_opts *o) {
  tc__optim_group *groups = tc__realloc(opt->groups, (size_t)(opt->n_groups + 1) * sizeof *groups);
  if (!groups) return TC_ERR_NOMEM;
  opt->groups = groups;
  tc__optim_param *ps = tc__realloc(opt->params, (size_t)(opt->n_params + n) * sizeof *ps);
  if (!ps) return TC_ERR_NOMEM;
  opt->params = ps;
  int64_t first = opt->n_params;
  for (int64_t i = 0; i < n; i++) {
    ps[first + i] = (tc__optim_param){.param = tc_tensor_retain(params[i])};
  }
  groups[opt->n_groups] = (tc__optim_group){.o = *o, .initial_lr = NAN, .first = first, .count = n};
  opt->n_groups++;
  opt->n_params += n;
  tc_status st = init_eager_state(opt, &groups[opt->n_groups - 1]);
  if (st) {
    for (int64_t i = first; i < first + n; i++) release_param(&opt->params[i]);
    opt->n_groups--;
    opt->n_params -= n;
    return st;
  }
  return TC_OK;
}

static tc_optimizer *create(const char *fn, tc_optim_kind kind, tc_tensor *const *params, int64_t n, const void *opts,
                            const void *dflt) {
  tc__optim_opts o = opts_from(kind, opts ? opts : dflt);
  if (validate(fn, kind, &o) || check_params(fn, NULL, params, n)) return NULL;
  tc_optimizer *opt = tc__calloc(sizeof *opt);
  if (!opt) return NULL;
  opt->kind = kind;
  opt->defaults = o;
  if (append_group(opt, params, n, &o)) {
    tc_optim_destroy(opt);
    return NULL;
  }
  return opt;
}

tc_optimizer *tc_sgd_create(tc_tensor *const *params, int64_t n, const tc_sgd_opts *opts) {
  tc_sgd_opts d = tc_sgd_defaults();
  return create("tc_sgd_create", TC_OPTIM_SGD, params, n, opts, &d);
}
tc_optimizer *tc_adam_create(tc_tensor *const *params, int64_t n, const tc_adam_opts *opts) {
  tc_adam_opts d = tc_adam_defaults();
  return create("tc_adam_create", TC_OPTIM_ADAM, params, n, opts, &d);
}
tc_optimizer *tc_adamw_create(tc_tensor *const *params, int64_t n, const tc_adam_opts *opts) {
  tc_adam_opts d = tc_adamw_defaults();
  return create("tc_adamw_create", TC_OPTIM_ADAMW, params, n, opts, &d);
}
tc_optimizer *tc_rmsprop_create(tc_tensor *const *params, int64_t n, const tc_rmsprop_opts *opts) {
  tc_rmsprop_opts d = tc_rmsprop_defaults();
  return create("tc_rmsprop_create", TC_OPTIM_RMSPROP, params, n, opts, &d);
}
tc_optimizer *tc_adagrad_create(tc_tensor *const *params, int64_t n, const tc_adagrad_opts *opts) {
  tc_adagrad_opts d = tc_adagrad_defaults();
  return create("tc_adagrad_create", TC_OPTIM_ADAGRAD, params, n, opts, &d);
}

void tc_optim_destroy(tc_optimizer *opt) {
  if (!opt) return;
  for (int64_t i = 0; i < opt->n_params; i++) release_param(&opt->params[i]);
  tc__free(opt->params);
  tc__free(opt->groups);
  tc__free(opt);
}

tc_optim_kind tc_optim_get_kind(const tc_optimizer *opt) { return opt ? opt->kind : TC_OPTIM_SGD; }
const char *tc_optim_name(const tc_optimizer *opt) { return opt ? KIND_NAMES[opt->kind] : "(null)"; }

/* ---- groups -------------------------------------------------------------------------------------- */
tc_status tc_optim_add_param_group(tc_optimizer *opt, tc_tensor *const *params, int64_t n, const void *group_opts) {
  const char *fn = "tc_optim_add_param_group";
  TC__NONNULL_S(opt, fn);
  tc__optim_opts o = group_opts ? opts_from(opt->kind, group_opts) : opt->defaults;
  tc_status st = validate(fn, opt->kind, &o);
  if (st) return st;
  if ((st = check_params(fn, opt, params, n))) return st;
  return append_group(opt, params, n, &o);
}

int64_t tc_optim_num_groups(const tc_optimizer *opt) { return opt ? opt->n_groups : 0; }

static tc_status check_group(const char *fn, const tc_optimizer *opt, int64_t group) {
  if (!opt) return tc__null_arg(fn, "opt");
  if (group < 0 || group >= opt->n_groups)
    return tc__error(TC_ERR_ARG, "%s: group %lld is out of range (the optimizer has %lld groups)", fn, (long long)group,
                     (long long)opt->n_groups);
  return TC_OK;
}

int64_t tc_optim_group_size(const tc_optimizer *opt, int64_t group) {
  if (check_group("tc_optim_group_size", opt, group)) return -1;
  return opt->groups[group].count;
}

tc_tensor *tc_optim_group_param(const tc_optimizer *opt, int64_t group, int64_t i) {
  const char *fn = "tc_optim_group_param";
  if (check_group(fn, opt, group)) return NULL;
  if (i < 0 || i >= opt->groups[group].count) {
    tc__error(TC_ERR_ARG, "%s: index %lld is out of range (group %lld has %lld parameters)", fn, (long long)i,
              (long long)group, (long long)opt->groups[group].count);
    return NULL;
  }
  return opt->params[opt->groups[group].first + i].param;
}

tc_status tc_optim_get_group_opts(const tc_optimizer *opt, int64_t group, void *out) {
  const char *fn = "tc_optim_get_group_opts";
  tc_status st = check_group(fn, opt, group);
  if (st) return st;
  if (!out) return tc__null_arg(fn, "out");
  memcpy(out, &opt->groups[group].o, opts_size(opt->kind));
  return TC_OK;
}

tc_status tc_optim_set_group_opts(tc_optimizer *opt, int64_t group, const void *opts) {
  const char *fn = "tc_optim_set_group_opts";
  tc_status st = check_group(fn, opt, group);
  if (st) return st;
  if (!opts) return tc__null_arg(fn, "opts");
  tc__optim_opts o = opts_from(opt->kind, opts);
  if ((st = validate(fn, opt->kind, &o))) return st;
  opt->groups[group].o = o;
  return TC_OK;
}

double tc_optim_get_lr(const tc_optimizer *opt, int64_t group) {
  if (check_group("tc_optim_get_lr", opt, group)) return NAN;
  return opt->groups[group].o.sgd.lr;
}

tc_status tc_optim_set_lr(tc_optimizer *opt, int64_t group, double lr) {
  const char *fn = "tc_optim_set_lr";
  tc_status st = check_group(fn, opt, group);
  if (st) return st;
  NONNEG(lr, "learning rate");
  *tc__optim_lr_ptr(&opt->groups[group]) = lr;
  return TC_OK;
}

double tc_optim_param_step(const tc_optimizer *opt, int64_t i) {
  if (!opt || i < 0 || i >= opt->n_params) {
    tc__error(TC_ERR_ARG, "tc_optim_param_step: parameter %lld is out of range", (long long)i);
    return NAN;
  }
  return opt->params[i].step;
}

/* ---- step ---------------------------------------------------------------------------------------- */
static tc_tensor *grad_of(const tc_tensor *p) {
  const tc__autograd_meta *m = p->autograd;
  return m ? m->grad : NULL;
}

typedef struct {
  tc__optim_param *pp;
  const tc__optim_group *g;
  tc_tensor *pc; /* contiguous copy of a strided parameter (written back), or NULL */
  tc_tensor *gc; /* contiguous / converted copy of the grad, or NULL to use the grad */
  unsigned made; /* state slots made in this step */
  bool made_state;
} work;

/* Makes the state tensors this parameter's kind and options need. */
static tc_status ensure_state(const tc_optimizer *opt, work *w) {
  tc__optim_param *pp = w->pp;
  const tc__optim_opts *o = &w->g->o;
  bool need[TC__OPTIM_NSTATE] = {false, false, false};
  bool fill = true;
  double v = 0;
  switch (opt->kind) {
    case TC_OPTIM_SGD:
      need[0] = o->sgd.momentum != 0;
      fill = false; /* the first step copies the gradient in */
      break;
    case TC_OPTIM_ADAM:
    case TC_OPTIM_ADAMW:
      need[0] = need[1] = true;
      need[2] = o->adam.amsgrad;
      break;
    case TC_OPTIM_RMSPROP:
      need[0] = true;
      need[1] = o->rmsprop.momentum > 0;
      need[2] = o->rmsprop.centered;
      break;
    case TC_OPTIM_ADAGRAD:
      need[0] = true;
      v = o->adagrad.initial_accumulator_value;
      break;
  }
  for (int s = 0; s < TC__OPTIM_NSTATE; s++) {
    if (!need[s] || pp->state[s]) continue;
    pp->state[s] = state_like(pp->param, fill, v);
    if (!pp->state[s]) return TC_ERR_NOMEM;
    w->made |= 1u << s;
  }
  if (!pp->has_state && opt->kind != TC_OPTIM_SGD) {
    pp->has_state = true;
    pp->step = 0;
    w->made_state = true;
  }
  if (opt->kind == TC_OPTIM_SGD && (w->made & 1u)) {
    pp->has_state = true;
    w->made_state = true;
  }
  return TC_OK;
}

static void undo_state(work *w) {
  for (int s = 0; s < TC__OPTIM_NSTATE; s++)
    if (w->made & (1u << s)) {
      tc_tensor_release(w->pp->state[s]);
      w->pp->state[s] = NULL;
    }
  if (w->made_state) w->pp->has_state = false;
}

/* Runs the prepared updates (jobs[i] is ws[i]'s): the CPU's in one pass over the thread pool, each
 * CUDA device's in one launch of its backend. */
/* batch and taken: room for n (allocated before any state changes, so a step cannot fail here for
 * memory after its step counts moved). */
static tc_status run_jobs(const work *ws, const tc__optim_job *jobs, int64_t n, tc__optim_job *batch, bool *taken) {
  tc_status st = TC_OK;
  if (n <= 0) return st;
  memset(taken, 0, (size_t)n * sizeof *taken);
  for (int64_t i = 0; i < n && !st; i++) {
    if (taken[i]) continue;
    tc_device d = ws[i].pp->param->storage->device;
    int64_t m = 0;
    for (int64_t k = i; k < n; k++) /* every job on ws[i]'s device */
      if (!taken[k] && tc_device_equal(ws[k].pp->param->storage->device, d)) {
        batch[m++] = jobs[k];
        taken[k] = true;
      }
    if (d.type == TC_DEVICE_CPU) {
      tc__optim_run(batch, m);
    } else {
      const tc__device_api *api = tc__backend(ws[i].pp->param);
      st = api && api->optim_run ? api->optim_run(d.index, batch, m) : tc__kernel_missing("tc_optim_step", ws[i].pp->param);
    }
  }
  return st;
}

tc_status tc_optim_step(tc_optimizer *opt) {
  const char *fn = "tc_optim_step";
  TC__NONNULL_S(opt, fn);
  work *ws = tc__calloc((size_t)opt->n_params * sizeof *ws);
  tc__optim_job *jobs = tc__malloc((size_t)opt->n_params * 2 * sizeof *jobs); /* jobs, then a batch */
  bool *taken = tc__malloc((size_t)opt->n_params * sizeof *taken);
  if (!ws || !jobs || !taken) {
    tc__free(ws);
    tc__free(jobs);
    tc__free(taken);
    return TC_ERR_NOMEM;
  }
  int was = tc__scope_pause();
  tc_no_grad_push();
  tc_status st = TC_OK;
  int64_t nw = 0;
  /* phase 1: state and contiguous operands; nothing changes a parameter yet */
  for (int64_t gi = 0; gi < opt->n_groups && !st; gi++) {
    const tc__optim_group *g = &opt->groups[gi];
    for (int64_t k = 0; k < g->count && !st; k++) {
      tc__optim_param *pp = &opt->params[g->first + k];
      const tc_tensor *p = pp->param, *grad = grad_of(p);
      if (!grad) continue;
      if (grad->ndim != p->ndim || memcmp(grad->sizes, p->sizes, sizeof(int64_t) * (size_t)p->ndim)) {
        st = tc__error(TC_ERR_SHAPE, "%s: parameter %lld has shape %s but its grad has shape %s", fn,
                       (long long)(g->first + k), tc__tshape(p), tc__tshape(grad));
        break;
      }
      if ((st = tc__check_same_device(fn, p, grad))) break;
      work *w = &ws[nw++];
      w->pp = pp;
      w->g = g;
      if ((st = ensure_state(opt, w))) break;
      if (!tc__is_contiguous(p)) {
        if (!(w->pc = tc_contiguous(p))) {
          st = tc_last_status();
          break;
        }
      }
      /* a strided grad, a grad of another dtype, or a grad sharing the parameter's memory is copied */
      if (!tc__is_contiguous(grad) || grad->dtype != p->dtype || grad->storage == p->storage) {
        if (!(w->gc = tc__to_dtype_contig(grad, p->dtype))) { /* always a new tensor */
          st = tc_last_status();
          break;
        }
      }
    }
  }
  if (st) {
    for (int64_t i = nw - 1; i >= 0; i--) {
      undo_state(&ws[i]);
      tc_tensor_release(ws[i].pc);
      tc_tensor_release(ws[i].gc);
    }
  } else {
    /* phase 2: the updates, all parameters in one parallel pass; phase 3: write strided ones back */
    for (int64_t i = 0; i < nw; i++) {
      work *w = &ws[i];
      tc_tensor *p = w->pp->param;
      tc_tensor *pd = w->pc ? w->pc : p;
      const tc_tensor *gd = w->gc ? w->gc : grad_of(p);
      tc__optim_prepare(&jobs[i], opt->kind, &w->g->o, w->pp, tc__ptr(pd), tc__ptr(gd), tc__numel(p->sizes, p->ndim),
                        p->dtype, (w->made & 1u) != 0);
    }
    st = run_jobs(ws, jobs, nw, jobs + opt->n_params, taken);
    for (int64_t i = 0; i < nw; i++) {
      work *w = &ws[i];
      if (w->pc && !st) st = tc__copy(w->pp->param, w->pc);
      tc__bump_version(w->pp->param);
      tc_tensor_release(w->pc);
      tc_tensor_release(w->gc);
    }
  }
  tc_no_grad_pop();
  tc__scope_resume(was);
  tc__free(ws);
  tc__free(jobs);
  tc__free(taken);
  return st;
}

tc_status tc_optim_zero_grad(tc_optimizer *opt, bool set_to_none) {
  TC__NONNULL_S(opt, "tc_optim_zero_grad");
  for (int64_t i = 0; i < opt->n_params; i++) {
    tc_tensor *p = opt->params[i].param;
    tc__autograd_meta *m = p->autograd;
    if (!m || !m->grad) continue;
    if (set_to_none) {
      tc_tensor *g = m->grad;
      m->grad = NULL;
      tc_tensor_release(g);
    } else {
      tc_status st = tc__fill(m->grad, 0.0);
      tc__bump_version(m->grad);
      if (st) return st;
    }
  }
  return TC_OK;
}

/* ---- metadata helpers ---------------------------------------------------------------------------- */
static char *join_key(const char *prefix, const char *key) {
  size_t a = strlen(prefix), b = strlen(key);
  char *s = tc__malloc(a + b + 1);
  if (!s) return NULL;
  memcpy(s, prefix, a);
  memcpy(s + a, key, b + 1);
  return s;
}

tc_status tc__meta_set_str(tc_state_dict *sd, const char *prefix, const char *key, const char *v) {
  char *k = join_key(prefix, key);
  if (!k) return TC_ERR_NOMEM;
  tc_status st = tc_state_dict_set_meta(sd, k, v);
  tc__free(k);
  return st;
}

tc_status tc__meta_set_double(tc_state_dict *sd, const char *prefix, const char *key, double v) {
  char buf[40];
  snprintf(buf, sizeof buf, "%.17g", v);
  return tc__meta_set_str(sd, prefix, key, buf);
}

tc_status tc__meta_set_int(tc_state_dict *sd, const char *prefix, const char *key, int64_t v) {
  char buf[32];
  snprintf(buf, sizeof buf, "%lld", (long long)v);
  return tc__meta_set_str(sd, prefix, key, buf);
}

const char *tc__meta_get_str(const char *fn, const tc_state_dict *sd, const char *prefix, const char *key) {
  char *k = join_key(prefix, key);
  if (!k) return NULL;
  const char *v = tc_state_dict_get_meta(sd, k);
  if (!v) tc__error(TC_ERR_ARG, "%s: the state dict has no metadata '%s'", fn, k);
  tc__free(k);
  return v;
}

static bool parse_double(const char *s, const char **end, double *out) {
  char *e;
  errno = 0;
  double v = strtod(s, &e);
  if (e == s || (errno == ERANGE && fabs(v) > 1)) return false;
  *out = v;
  *end = e;
  return true;
}

tc_status tc__meta_get_double(const char *fn, const tc_state_dict *sd, const char *prefix, const char *key,
                              double *out) {
  const char *s = tc__meta_get_str(fn, sd, prefix, key);
  if (!s) return tc_last_status();
  const char *e;
  if (!parse_double(s, &e, out) || *e)
    return tc__error(TC_ERR_ARG, "%s: metadata '%s%s' is '%s', not a number", fn, prefix, key, s);
  return TC_OK;
}

tc_status tc__meta_get_int(const char *fn, const tc_state_dict *sd, const char *prefix, const char *key, int64_t *out) {
  const char *s = tc__meta_get_str(fn, sd, prefix, key);
  if (!s) return tc_last_status();
  char *e;
  errno = 0;
  long long v = strtoll(s, &e, 10);
  if (e == s || *e || errno == ERANGE)
    return tc__error(TC_ERR_ARG, "%s: metadata '%s%s' is '%s', not an integer", fn, prefix, key, s);
  *out = v;
  return TC_OK;
}

tc_status tc__meta_get_bool(const char *fn, const tc_state_dict *sd, const char *prefix, const char *key, bool *out) {
  const char *s = tc__meta_get_str(fn, sd, prefix, key);
  if (!s) return tc_last_status();
  if (!strcmp(s, "true"))
    *out = true;
  else if (!strcmp(s, "false"))
    *out = false;
  else
    return tc__error(TC_ERR_ARG, "%s: metadata '%s%s' is '%s', not true or false", fn, prefix, key, s);
  return TC_OK;
}

char *tc__format_doubles(const double *v, int64_t n) {
  char *s = tc__malloc((size_t)(n > 0 ? n : 1) * 26 + 1);
  if (!s) return NULL;
  size_t at = 0;
  s[0] = 0;
  for (int64_t i = 0; i < n; i++) at += (size_t)sprintf(s + at, i ? ",%.17g" : "%.17g", v[i]);
  return s;
}

tc_status tc__parse_doubles(const char *fn, const char *key, const char *s, double *out, int64_t n) {
  const char *p = s;
  for (int64_t i = 0; i < n; i++) {
    const char *e;
    if (!parse_double(p, &e, &out[i]) || (i + 1 < n ? *e != ',' : *e != 0))
      return tc__error(TC_ERR_ARG, "%s: metadata '%s' is '%s', not a list of %lld numbers", fn, key, s, (long long)n);
    p = e + 1;
  }
  if (n == 0 && *s) return tc__error(TC_ERR_ARG, "%s: metadata '%s' is '%s', expected an empty list", fn, key, s);
  return TC_OK;
}

tc_status tc__parse_ints(const char *fn, const char *key, const char *s, int64_t **out, int64_t *n) {
  *out = NULL;
  *n = 0;
  if (!*s) return TC_OK;
  int64_t cnt = 1;
  for (const char *c = s; *c; c++) cnt += *c == ',';
  int64_t *v = tc__malloc((size_t)cnt * sizeof *v);
  if (!v) return TC_ERR_NOMEM;
  const char *p = s;
  for (int64_t i = 0; i < cnt; i++) {
    char *e;
    errno = 0;
    long long x = strtoll(p, &e, 10);
    if (e == p || errno == ERANGE || (i + 1 < cnt ? *e != ',' : *e != 0)) {
      tc__free(v);
      return tc__error(TC_ERR_ARG, "%s: metadata '%s' is '%s', not a list of integers", fn, key, s);
    }
    v[i] = x;
    p = e + 1;
  }
  *out = v;
  *n = cnt;
  return TC_OK;
}

/* ---- state_dict ---------------------------------------------------------------------------------- */
typedef struct {
  const char *name;
  size_t off; /* offset of the double/bool in the options union */
  bool is_bool;
} field;

#define FD(T, m) \
  { #m, offsetof(T, m), false }
#define FB(T, m) \
  { #m, offsetof(T, m), true }
static const field SGD_FIELDS[] = {FD(tc_sgd_opts, lr),
                                   FD(tc_sgd_opts, momentum),
                                   FD(tc_sgd_opts, dampening),
                                   FD(tc_sgd_opts, weight_decay),
                                   FB(tc_sgd_opts, nesterov),
                                   FB(tc_sgd_opts, maximize),
                                   {NULL, 0, false}};
static const field ADAM_FIELDS[] = {FD(tc_adam_opts, lr),
                                    FD(tc_adam_opts, beta1),
                                    FD(tc_adam_opts, beta2),
                                    FD(tc_adam_opts, eps),
                                    FD(tc_adam_opts, weight_decay),
                                    FB(tc_adam_opts, amsgrad),
                                    FB(tc_adam_opts, maximize),
                                    FB(tc_adam_opts, decoupled_weight_decay),
                                    {NULL, 0, false}};
static const field RMSPROP_FIELDS[] = {FD(tc_rmsprop_opts, lr),       FD(tc_rmsprop_opts, alpha),
                                       FD(tc_rmsprop_opts, eps),      FD(tc_rmsprop_opts, weight_decay),
                                       FD(tc_rmsprop_opts, momentum), FB(tc_rmsprop_opts, centered),
                                       FB(tc_rmsprop_opts, maximize), {NULL, 0, false}};
static const field ADAGRAD_FIELDS[] = {FD(tc_adagrad_opts, lr),
                                       FD(tc_adagrad_opts, lr_decay),
                                       FD(tc_adagrad_opts, weight_decay),
                                       FD(tc_adagrad_opts, initial_accumulator_value),
                                       FD(tc_adagrad_opts, eps),
                                       FB(tc_adagrad_opts, maximize),
                                       {NULL, 0, false}};

static const field *fields_of(tc_optim_kind k) {
  switch (k) {
    case TC_OPTIM_SGD:
      return SGD_FIELDS;
    case TC_OPTIM_ADAM:
    case TC_OPTIM_ADAMW:
      return ADAM_FIELDS;
    case TC_OPTIM_RMSPROP:
      return RMSPROP_FIELDS;
    default:
      return ADAGRAD_FIELDS;
  }
}

static const char *const STATE_NAMES[][TC__OPTIM_NSTATE] = {
    {"momentum_buffer", NULL, NULL},
    {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"},
    {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"},
    {"square_avg", "momentum_buffer", "grad_avg"},
    {"sum", NULL, NULL},
};

static tc_status save_body(const tc_optimizer *opt, tc_state_dict *sd, const char *pre) {
  char key[160];
  tc_status st;
  if ((st = tc__meta_set_str(sd, pre, "optimizer", KIND_NAMES[opt->kind]))) return st;
  if ((st = tc__meta_set_int(sd, pre, "param_groups", opt->n_groups))) return st;
  for (int64_t gi = 0; gi < opt->n_groups; gi++) {
    const tc__optim_group *g = &opt->groups[gi];
    for (const field *f = fields_of(opt->kind); f->name; f++) {
      snprintf(key, sizeof key, "param_groups.%lld.%s", (long long)gi, f->name);
      const char *base = (const char *)&g->o;
      if (f->is_bool)
        st = tc__meta_set_str(sd, pre, key, *(const bool *)(base + f->off) ? "true" : "false");
      else
        st = tc__meta_set_double(sd, pre, key, *(const double *)(base + f->off));
      if (st) return st;
    }
    if (!isnan(g->initial_lr)) {
      snprintf(key, sizeof key, "param_groups.%lld.initial_lr", (long long)gi);
      if ((st = tc__meta_set_double(sd, pre, key, g->initial_lr))) return st;
    }
    /* the parameters' indices, as PyTorch's "params": [0, 1, ...] */
    char *ids = tc__malloc((size_t)g->count * 21 + 1);
    if (!ids) return TC_ERR_NOMEM;
    size_t at = 0;
    ids[0] = 0;
    for (int64_t k = 0; k < g->count; k++)
      at += (size_t)sprintf(ids + at, k ? ",%lld" : "%lld", (long long)(g->first + k));
    snprintf(key, sizeof key, "param_groups.%lld.params", (long long)gi);
    st = tc__meta_set_str(sd, pre, key, ids);
    tc__free(ids);
    if (st) return st;
  }
  for (int64_t i = 0; i < opt->n_params; i++) {
    const tc__optim_param *pp = &opt->params[i];
    if (!pp->has_state) continue;
    if (opt->kind != TC_OPTIM_SGD) {
      snprintf(key, sizeof key, "state.%lld.step", (long long)i);
      if ((st = tc__meta_set_double(sd, pre, key, pp->step))) return st;
    }
    for (int s = 0; s < TC__OPTIM_NSTATE; s++) {
      if (!pp->state[s]) continue;
      snprintf(key, sizeof key, "%sstate.%lld.%s", pre, (long long)i, STATE_NAMES[opt->kind][s]);
      tc_tensor *c = tc_clone(pp->state[s]);
      if (!c) return tc_last_status();
      st = tc_state_dict_set(sd, key, c);
      tc_tensor_release(c);
      if (st) return st;
    }
  }
  return TC_OK;
}

tc_status tc_optim_state_dict(const tc_optimizer *opt, tc_state_dict *sd, const char *prefix) {
  const char *fn = "tc_optim_state_dict";
  TC__NONNULL_S(opt, fn);
  TC__NONNULL_S(sd, fn);
  if (!prefix) prefix = "";
  if (strlen(prefix) > 100) return tc__error(TC_ERR_ARG, "%s: prefix is longer than 100 bytes", fn);
  int was = tc__scope_pause();
  tc_status st = save_body(opt, sd, prefix);
  tc__scope_resume(was);
  return st;
}

/* The loaded state, staged before anything in the optimizer changes. */
typedef struct {
  tc__optim_opts *o; /* per group */
  double *initial_lr;
  tc_tensor **state; /* n_params * NSTATE */
  double *step;
  bool *has_state;
} staged;

static void staged_free(staged *s, int64_t n_params) {
  if (s->state)
    for (int64_t i = 0; i < n_params * TC__OPTIM_NSTATE; i++) tc_tensor_release(s->state[i]);
  tc__free(s->o);
  tc__free(s->initial_lr);
  tc__free(s->state);
  tc__free(s->step);
  tc__free(s->has_state);
}

static tc_status load_body(tc_optimizer *opt, const tc_state_dict *sd, const char *pre, staged *s) {
  const char *fn = "tc_optim_load_state_dict";
  char key[160];
  tc_status st;
  const char *kind = tc__meta_get_str(fn, sd, pre, "optimizer");
  if (!kind) return tc_last_status();
  if (strcmp(kind, KIND_NAMES[opt->kind]))
    return tc__error(TC_ERR_STATE, "%s: the state dict holds a %s optimizer, not %s", fn, kind, KIND_NAMES[opt->kind]);
  int64_t ng = 0;
  if ((st = tc__meta_get_int(fn, sd, pre, "param_groups", &ng))) return st;
  if (ng != opt->n_groups)
    return tc__error(TC_ERR_STATE, "%s: loaded state dict has %lld parameter groups, the optimizer has %lld", fn,
                     (long long)ng, (long long)opt->n_groups);
  s->o = tc__calloc((size_t)ng * sizeof *s->o);
  s->initial_lr = tc__calloc((size_t)ng * sizeof *s->initial_lr);
  s->state = tc__calloc((size_t)opt->n_params * TC__OPTIM_NSTATE * sizeof *s->state);
  s->step = tc__calloc((size_t)opt->n_params * sizeof *s->step);
  s->has_state = tc__calloc((size_t)opt->n_params * sizeof *s->has_state);
  if (!s->o || !s->initial_lr || !s->state || !s->step || !s->has_state) return TC_ERR_NOMEM;
  for (int64_t gi = 0; gi < ng; gi++) {
    const tc__optim_group *g = &opt->groups[gi];
    snprintf(key, sizeof key, "param_groups.%lld.params", (long long)gi);
    const char *ids = tc__meta_get_str(fn, sd, pre, key);
    if (!ids) return tc_last_status();
    int64_t *v, nv;
    if ((st = tc__parse_ints(fn, key, ids, &v, &nv))) return st;
    bool ok = nv == g->count;
    for (int64_t k = 0; ok && k < nv; k++) ok = v[k] == g->first + k;
    tc__free(v);
    if (!ok)
      return tc__error(TC_ERR_STATE,
                       "%s: loaded state dict contains a parameter group that doesn't match the size of optimizer's "
                       "group %lld (params '%s', the group has %lld)",
                       fn, (long long)gi, ids, (long long)g->count);
    s->o[gi] = g->o;
    for (const field *f = fields_of(opt->kind); f->name; f++) {
      snprintf(key, sizeof key, "param_groups.%lld.%s", (long long)gi, f->name);
      char *base = (char *)&s->o[gi];
      if (f->is_bool)
        st = tc__meta_get_bool(fn, sd, pre, key, (bool *)(base + f->off));
      else
        st = tc__meta_get_double(fn, sd, pre, key, (double *)(base + f->off));
      if (st) return st;
    }
    if (opt->kind == TC_OPTIM_ADAMW) s->o[gi].adam.decoupled_weight_decay = true;
    if ((st = validate(fn, opt->kind, &s->o[gi]))) return st;
    snprintf(key, sizeof key, "%sparam_groups.%lld.initial_lr", pre, (long long)gi);
    s->initial_lr[gi] = NAN;
    if (tc_state_dict_get_meta(sd, key) &&
        (st = tc__meta_get_double(fn, sd, pre, key + strlen(pre), &s->initial_lr[gi])))
      return st;
  }
  for (int64_t i = 0; i < opt->n_params; i++) {
    const tc_tensor *p = opt->params[i].param;
    bool any = false;
    for (int k = 0; k < TC__OPTIM_NSTATE; k++) {
      const char *name = STATE_NAMES[opt->kind][k];
      if (!name) continue;
      snprintf(key, sizeof key, "%sstate.%lld.%s", pre, (long long)i, name);
      if (!tc_state_dict_contains(sd, key)) continue;
      tc_tensor *t = tc_state_dict_get(sd, key);
      if (!t) return tc_last_status();
      if (t->ndim != p->ndim || memcmp(t->sizes, p->sizes, sizeof(int64_t) * (size_t)p->ndim)) {
        st = tc__error(TC_ERR_SHAPE, "%s: '%s' has shape %s but parameter %lld has shape %s", fn, key, tc__tshape(t),
                       (long long)i, tc__tshape(p));
        tc_tensor_release(t);
        return st;
      }
      /* a private contiguous copy in the parameter's dtype */
      tc_tensor *c = state_like(p, false, 0);
      if (!c) {
        tc_tensor_release(t);
        return TC_ERR_NOMEM;
      }
      if (!tc_device_equal(t->storage->device, c->storage->device)) { /* to the parameter's device */
        tc_tensor *moved = tc_tensor_to(t, c->storage->device);
        tc_tensor_release(t);
        t = moved;
      }
      st = t ? tc__copy(c, t) : tc_last_status();
      tc_tensor_release(t);
      s->state[i * TC__OPTIM_NSTATE + k] = c;
      if (st) return st;
      any = true;
    }
    snprintf(key, sizeof key, "%sstate.%lld.step", pre, (long long)i);
    if (tc_state_dict_get_meta(sd, key)) {
      if ((st = tc__meta_get_double(fn, sd, pre, key + strlen(pre), &s->step[i]))) return st;
      any = true;
    }
    s->has_state[i] = any;
  }
  /* the state a kind needs once it has state at all */
  for (int64_t i = 0; i < opt->n_params; i++) {
    if (!s->has_state[i]) continue;
    bool ok = true;
    const char *miss = NULL;
    switch (opt->kind) {
      case TC_OPTIM_ADAM:
      case TC_OPTIM_ADAMW:
        ok = s->state[i * TC__OPTIM_NSTATE] && s->state[i * TC__OPTIM_NSTATE + 1];
        miss = "exp_avg and exp_avg_sq";
        break;
      case TC_OPTIM_RMSPROP:
        ok = s->state[i * TC__OPTIM_NSTATE] != NULL;
        miss = "square_avg";
        break;
      case TC_OPTIM_ADAGRAD:
        ok = s->state[i * TC__OPTIM_NSTATE] != NULL;
        miss = "sum";
        break;
      default:
        break;
    }
    if (!ok) return tc__error(TC_ERR_ARG, "%s: the state of parameter %lld lacks %s", fn, (long long)i, miss);
  }
  return TC_OK;
}

tc_status tc_optim_load_state_dict(tc_optimizer *opt, const tc_state_dict *sd, const char *prefix) {
  const char *fn = "tc_optim_load_state_dict";
  TC__NONNULL_S(opt, fn);
  TC__NONNULL_S(sd, fn);
  if (!prefix) prefix = "";
  if (strlen(prefix) > 100) return tc__error(TC_ERR_ARG, "%s: prefix is longer than 100 bytes", fn);
  staged s = {0};
  int was = tc__scope_pause();
  tc_status st = load_body(opt, sd, prefix, &s);
  if (!st) {
    for (int64_t gi = 0; gi < opt->n_groups; gi++) {
      opt->groups[gi].o = s.o[gi];
      opt->groups[gi].initial_lr = s.initial_lr[gi];
    }
    for (int64_t i = 0; i < opt->n_params; i++) {
      tc__optim_param *pp = &opt->params[i];
      for (int k = 0; k < TC__OPTIM_NSTATE; k++) {
        tc_tensor_release(pp->state[k]);
        pp->state[k] = s.state[i * TC__OPTIM_NSTATE + k];
        s.state[i * TC__OPTIM_NSTATE + k] = NULL;
      }
      pp->step = s.step[i];
      pp->has_state = s.has_state[i];
    }
  }
  staged_free(&s, opt->n_params);
  tc__scope_resume(was);
  return st;
}
