/* core/src/amp/grad_scaler.c — the gradient scaler of mixed-precision training
 * (torch.amp.GradScaler): scale the loss, unscale and check the gradients, skip steps with
 * infinite or NaN gradients, adapt the scale.
 *
 * The non-finite check costs one host read per optimizer and step: each gradient contributes
 * sum(grad * 0) (0 when every element is finite, NaN otherwise) to a device scalar, which is read
 * once, as PyTorch reads found_inf before deciding to step.
 */
#include <math.h>
#include "../autograd/autograd_internal.h"
#include "ctorch/amp.h"

#define MAX_OPTIMIZERS 16

struct tc_grad_scaler {
  tc_grad_scaler_opts o;
  double scale;
  int64_t growth_tracker;
  /* optimizers unscaled since the last update, and whether each found a non-finite gradient */
  tc_optimizer *opt[MAX_OPTIMIZERS];
  bool found[MAX_OPTIMIZERS];
  int nopt;
};

tc_grad_scaler_opts tc_grad_scaler_defaults(void) {
  return (tc_grad_scaler_opts){.init_scale = 65536.0, .growth_factor = 2.0, .backoff_factor = 0.5,
                               .growth_interval = 2000, .enabled = true};
}

tc_grad_scaler *tc_grad_scaler_create(const tc_grad_scaler_opts *opts) {
  const char *fn = "tc_grad_scaler_create";
  tc_grad_scaler_opts o = opts ? *opts : tc_grad_scaler_defaults();
  if (!(o.init_scale > 0) || !isfinite(o.init_scale)) {
    tc__error(TC_ERR_ARG, "%s: init_scale must be positive and finite, got %g", fn, o.init_scale);
    return NULL;
  }
  if (!(o.growth_factor > 1.0)) {
    tc__error(TC_ERR_ARG, "%s: growth_factor should be > 1, got %g", fn, o.growth_factor);
    return NULL;
  }
  if (!(o.backoff_factor < 1.0 && o.backoff_factor > 0)) {
    tc__error(TC_ERR_ARG, "%s: backoff_factor should be in (0, 1), got %g", fn, o.backoff_factor);
    return NULL;
  }
  if (o.growth_interval <= 0) {
    tc__error(TC_ERR_ARG, "%s: growth_interval should be a positive integer, got %lld", fn,
              (long long)o.growth_interval);
    return NULL;
  }
  tc_grad_scaler *s = tc__calloc(sizeof *s);
  if (!s) return NULL;
  s->o = o;
  s->scale = o.init_scale;
  return s;
}

void tc_grad_scaler_destroy(tc_grad_scaler *s) { tc__free(s); }

double tc_grad_scaler_get_scale(const tc_grad_scaler *s) { return s && s->o.enabled ? s->scale : 1.0; }
int64_t tc_grad_scaler_growth_tracker(const tc_grad_scaler *s) { return s ? s->growth_tracker : 0; }

tc_status tc_grad_scaler_load(tc_grad_scaler *s, double scale, int64_t growth_tracker) {
  TC__NONNULL_S(s, "tc_grad_scaler_load");
  if (!(scale > 0) || !isfinite(scale) || growth_tracker < 0)
    return tc__error(TC_ERR_ARG, "tc_grad_scaler_load: scale %g and growth tracker %lld: expected a positive finite "
                     "scale and a non-negative tracker", scale, (long long)growth_tracker);
  s->scale = scale;
  s->growth_tracker = growth_tracker;
  return TC_OK;
}

tc_tensor *tc_grad_scaler_scale(tc_grad_scaler *s, const tc_tensor *loss) {
  TC__NONNULL_T(s, "tc_grad_scaler_scale");
  TC__NONNULL_T(loss, "tc_grad_scaler_scale");
  if (!s->o.enabled) return tc_mul_scalar(loss, 1.0); /* a new tensor, as the enabled form gives */
  return tc_mul_scalar(loss, s->scale);
}

static int find_opt(const tc_grad_scaler *s, const tc_optimizer *opt) {
  for (int i = 0; i < s->nopt; i++)
    if (s->opt[i] == opt) return i;
  return -1;
}

tc_status tc_grad_scaler_unscale_(tc_grad_scaler *s, tc_optimizer *opt) {
  const char *fn = "tc_grad_scaler_unscale_";
  TC__NONNULL_S(s, fn);
  TC__NONNULL_S(opt, fn);
  if (!s->o.enabled) return TC_OK;
  if (find_opt(s, opt) >= 0)
    return tc__error(TC_ERR_STATE, "%s: unscale_() has already been called on this optimizer since the last update()",
                     fn);
  if (s->nopt == MAX_OPTIMIZERS)
    return tc__error(TC_ERR_STATE, "%s: more than %d optimizers in one step", fn, MAX_OPTIMIZERS);
  const double inv = 1.0 / s->scale;
  tc_status st = TC_OK;
  bool found = false;
  tc_no_grad_push();
  tc_scope_push();
  /* the non-finite sums, one per device (one host read each at the end) */
  enum { MAX_ACC = 16 };
  tc_tensor *acc[MAX_ACC] = {NULL};
  tc_device accdev[MAX_ACC];
  int nacc = 0;
  for (int64_t gi = 0; !st && gi < tc_optim_num_groups(opt); gi++) {
    for (int64_t i = 0; !st && i < tc_optim_group_size(opt, gi); i++) {
      const tc_tensor *p = tc_optim_group_param(opt, gi, i); /* borrowed */
      tc__autograd_meta *m = p ? tc__meta(p) : NULL;
      tc_tensor *g = m ? m->grad : NULL;
      if (!g) continue;
      if ((st = tc_mul_scalar_inplace(g, inv))) break;
      tc_tensor *z = tc_sum(tc_mul_scalar(g, 0.0), NULL, 0, false); /* NaN unless every element is finite */
      tc_tensor *z64 = z ? tc_to_dtype(z, TC_F64) : NULL;
      int d = 0;
      while (d < nacc && !tc_device_equal(accdev[d], g->storage->device)) d++;
      if (!z64) {
        st = tc_last_status();
      } else if (d == MAX_ACC) { /* more devices than slots: read this one now */
        double v = 0;
        if (!(st = tc_item_double(z64, &v)) && !isfinite(v)) found = true;
      } else {
        if (d == nacc) accdev[nacc++] = g->storage->device;
        acc[d] = acc[d] ? tc_add(acc[d], z64, 1.0) : z64;
        if (!acc[d]) st = tc_last_status();
      }
    }
  }
  for (int d = 0; !st && d < nacc; d++) {
    double v = 0;
    if (acc[d] && !(st = tc_item_double(acc[d], &v)) && !isfinite(v)) found = true;
  }
  tc_scope_pop();
  tc_no_grad_pop();
  if (st) return st;
  s->opt[s->nopt] = opt;
  s->found[s->nopt++] = found;
  return TC_OK;
}

tc_status tc_grad_scaler_step(tc_grad_scaler *s, tc_optimizer *opt, bool *stepped) {
  const char *fn = "tc_grad_scaler_step";
  if (stepped) *stepped = false;
  TC__NONNULL_S(s, fn);
  TC__NONNULL_S(opt, fn);
  if (!s->o.enabled) {
    tc_status st = tc_optim_step(opt);
    if (!st && stepped) *stepped = true;
    return st;
  }
  int k = find_opt(s, opt);
  if (k < 0) {
    tc_status st = tc_grad_scaler_unscale_(s, opt);
    if (st) return st;
    k = s->nopt - 1;
  }
  if (s->found[k]) return TC_OK; /* an infinite or NaN gradient: this step is skipped */
  tc_status st = tc_optim_step(opt);
  if (!st && stepped) *stepped = true;
  return st;
}

tc_status tc_grad_scaler_update(tc_grad_scaler *s) {
  TC__NONNULL_S(s, "tc_grad_scaler_update");
  if (!s->o.enabled) return TC_OK;
  if (s->nopt == 0)
    return tc__error(TC_ERR_STATE, "tc_grad_scaler_update: no inf checks were recorded prior to update() "
                     "(call tc_grad_scaler_step or tc_grad_scaler_unscale_ first)");
  bool found = false;
  for (int i = 0; i < s->nopt; i++) found |= s->found[i];
  if (found) {
    s->scale *= s->o.backoff_factor;
    s->growth_tracker = 0;
  } else if (s->growth_tracker + 1 == s->o.growth_interval) {
    double grown = s->scale * s->o.growth_factor;
    if (isfinite(grown)) s->scale = grown;
    s->growth_tracker = 0;
  } else {
    s->growth_tracker++;
  }
  s->nopt = 0;
  return TC_OK;
}
