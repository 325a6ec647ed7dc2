/* core/src/nn/loss_modules.c — the loss modules of torch.nn (CrossEntropyLoss, NLLLoss, BCELoss,
 * BCEWithLogitsLoss, MSELoss, L1Loss, SmoothL1Loss, HuberLoss) over the functions of loss_ce.c and
 * loss_pointwise.c.
 *
 * Each is a module whose forward takes (input, target) through tc_module_forward_n. Options live in
 * the module's state; class weights and pos_weight are buffers named as PyTorch's ("weight",
 * "pos_weight"), persistent as in PyTorch (so a state_dict matches torch's, which holds them when
 * they are set), registered as NULL when absent. The buffer is a detached alias of the caller's
 * tensor (same storage, as PyTorch keeps the same tensor), so the caller keeps its own reference;
 * tc_module_to / tc_module_to_dtype convert it with the module.
 */
#include "loss_internal.h"
#include "ctorch/nn_layers.h"

typedef struct {
  tc_ce_opts ce; /* weight unused: the "weight" buffer holds it */
  tc_reduction reduction;
  double p; /* beta (SmoothL1Loss) or delta (HuberLoss) */
} loss_state;

static tc_status check_n(const tc_module *m, int64_t n) {
  if (n == 2) return TC_OK;
  return tc__error(TC_ERR_ARG, "%s: forward takes (input, target), got %lld input%s", tc_module_type(m), (long long)n,
                   n == 1 ? "" : "s");
}

static tc_tensor *ce_forward(tc_module *m, const tc_tensor *const *in, int64_t n) {
  if (check_n(m, n)) return NULL;
  tc_ce_opts o = ((const loss_state *)tc_module_state(m))->ce;
  o.weight = tc_module_buffer(m, "weight");
  return tc_cross_entropy(in[0], in[1], &o);
}

static tc_tensor *nll_forward(tc_module *m, const tc_tensor *const *in, int64_t n) {
  if (check_n(m, n)) return NULL;
  tc_ce_opts o = ((const loss_state *)tc_module_state(m))->ce;
  o.weight = tc_module_buffer(m, "weight");
  return tc_nll_loss(in[0], in[1], &o);
}

static tc_tensor *bce_forward(tc_module *m, const tc_tensor *const *in, int64_t n) {
  if (check_n(m, n)) return NULL;
  const loss_state *s = tc_module_state(m);
  return tc_binary_cross_entropy(in[0], in[1], tc_module_buffer(m, "weight"), s->reduction);
}

static tc_tensor *bce_logits_forward(tc_module *m, const tc_tensor *const *in, int64_t n) {
  if (check_n(m, n)) return NULL;
  const loss_state *s = tc_module_state(m);
  return tc_binary_cross_entropy_with_logits(in[0], in[1], tc_module_buffer(m, "weight"),
                                             tc_module_buffer(m, "pos_weight"), s->reduction);
}

static tc_tensor *mse_forward(tc_module *m, const tc_tensor *const *in, int64_t n) {
  if (check_n(m, n)) return NULL;
  return tc_mse_loss(in[0], in[1], ((const loss_state *)tc_module_state(m))->reduction);
}

static tc_tensor *l1_forward(tc_module *m, const tc_tensor *const *in, int64_t n) {
  if (check_n(m, n)) return NULL;
  return tc_l1_loss(in[0], in[1], ((const loss_state *)tc_module_state(m))->reduction);
}

static tc_tensor *smooth_l1_forward(tc_module *m, const tc_tensor *const *in, int64_t n) {
  if (check_n(m, n)) return NULL;
  const loss_state *s = tc_module_state(m);
  return tc_smooth_l1_loss(in[0], in[1], s->reduction, s->p);
}

static tc_tensor *huber_forward(tc_module *m, const tc_tensor *const *in, int64_t n) {
  if (check_n(m, n)) return NULL;
  const loss_state *s = tc_module_state(m);
  return tc_huber_loss(in[0], in[1], s->reduction, s->p);
}

/* A module of `type` with a copy of st and the named buffers (aliases of bufs[i], or NULL). */
static tc_module *make(const char *fn, const char *type, tc_forward_fn fwd, const loss_state *st, int nbuf,
                       const char *const *names, const tc_tensor *const *bufs) {
  if (tc__loss_check_reduction(fn, st->reduction)) return NULL;
  for (int i = 0; i < nbuf; i++)
    if (bufs[i] && !tc_dtype_is_floating(bufs[i]->dtype)) {
      tc__error(TC_ERR_DTYPE, "%s: %s must be floating point, got %s", fn, names[i], tc_dtype_name(bufs[i]->dtype));
      return NULL;
    }
  loss_state *s = tc__malloc(sizeof *s);
  if (!s) return NULL;
  *s = *st;
  s->ce.weight = NULL;
  tc_module *m = tc_module_create(type, fwd, s, tc__free);
  if (!m) {
    tc__free(s);
    return NULL;
  }
  for (int i = 0; i < nbuf; i++) {
    tc_tensor *b = NULL;
    if (bufs[i]) {
      tc_no_grad_push();
      b = tc_detach(bufs[i]);
      tc_no_grad_pop();
      if (!b) goto fail;
    }
    if (tc_module_register_buffer(m, names[i], b, true)) goto fail; /* takes b (released on failure) */
  }
  return m;
fail:
  tc_module_destroy(m);
  return NULL;
}

static const char *const weight_name[1] = {"weight"};

tc_module *tc_cross_entropy_loss_create(const tc_ce_opts *opts) {
  const tc_ce_opts dflt = TC_CE_DEFAULTS;
  loss_state s = {.ce = opts ? *opts : dflt};
  s.reduction = s.ce.reduction;
  const tc_tensor *b[1] = {s.ce.weight};
  return make("tc_cross_entropy_loss_create", "CrossEntropyLoss", ce_forward, &s, 1, weight_name, b);
}

tc_module *tc_nll_loss_create(const tc_ce_opts *opts) {
  const tc_ce_opts dflt = TC_CE_DEFAULTS;
  loss_state s = {.ce = opts ? *opts : dflt};
  s.reduction = s.ce.reduction;
  const tc_tensor *b[1] = {s.ce.weight};
  return make("tc_nll_loss_create", "NLLLoss", nll_forward, &s, 1, weight_name, b);
}

tc_module *tc_bce_loss_create(const tc_tensor *weight, tc_reduction reduction) {
  loss_state s = {.reduction = reduction};
  const tc_tensor *b[1] = {weight};
  return make("tc_bce_loss_create", "BCELoss", bce_forward, &s, 1, weight_name, b);
}

tc_module *tc_bce_with_logits_loss_create(const tc_tensor *weight, const tc_tensor *pos_weight,
                                          tc_reduction reduction) {
  loss_state s = {.reduction = reduction};
  static const char *const names[2] = {"weight", "pos_weight"};
  const tc_tensor *b[2] = {weight, pos_weight};
  return make("tc_bce_with_logits_loss_create", "BCEWithLogitsLoss", bce_logits_forward, &s, 2, names, b);
}

tc_module *tc_mse_loss_create(tc_reduction reduction) {
  loss_state s = {.reduction = reduction};
  return make("tc_mse_loss_create", "MSELoss", mse_forward, &s, 0, NULL, NULL);
}

tc_module *tc_l1_loss_create(tc_reduction reduction) {
  loss_state s = {.reduction = reduction};
  return make("tc_l1_loss_create", "L1Loss", l1_forward, &s, 0, NULL, NULL);
}

tc_module *tc_smooth_l1_loss_create(tc_reduction reduction, double beta) {
  loss_state s = {.reduction = reduction, .p = beta};
  if (!(beta >= 0)) {
    tc__error(TC_ERR_ARG, "tc_smooth_l1_loss_create: beta must be >= 0, got %g", beta);
    return NULL;
  }
  return make("tc_smooth_l1_loss_create", "SmoothL1Loss", smooth_l1_forward, &s, 0, NULL, NULL);
}

tc_module *tc_huber_loss_create(tc_reduction reduction, double delta) {
  loss_state s = {.reduction = reduction, .p = delta};
  if (!(delta > 0)) {
    tc__error(TC_ERR_ARG, "tc_huber_loss_create: delta must be > 0, got %g", delta);
    return NULL;
  }
  return make("tc_huber_loss_create", "HuberLoss", huber_forward, &s, 0, NULL, NULL);
}
