/* core/src/nn/init.c — torch.nn.init: parameter initialisation in place, under no_grad.
 *
 * Each function draws exactly what torch.nn.init draws, from the same generator stream, so after
 * tc_manual_seed(s) a tensor holds the values torch.nn.init gives after torch.manual_seed(s):
 *   uniform_/normal_        -> tc_uniform_inplace / tc_normal_inplace (torch's uniform_/normal_)
 *   xavier_*, kaiming_*     -> the bound or std computed in double as the Python code does, then
 *                              uniform_(-bound, bound) / normal_(0, std)
 *   trunc_normal_           -> PyTorch's sampler (torch/nn/init.py, _no_grad_trunc_normal_):
 *     when the mass p of N(mean, std) inside [a, b] exceeds 0.3: normal_(mean, std), then while any
 *     value lies outside [a, b] (the bounds rounded to the dtype), a fresh full-size normal_ draw
 *     replaces the values outside; otherwise uniform proposals: uniform_(a, b), accepted where
 *     log(u) <= log_pdf(x) - log_pdf(mode) for a second full-size uniform_ draw u, redrawn (both
 *     draws full-size) until every element is accepted. The log-density arithmetic runs in the
 *     tensor's dtype step by step, as PyTorch's in-place ops (sub_, div_, pow_, mul_, sub_).
 * Fans follow torch.nn.init._calculate_fan_in_and_fan_out: fan_in = size(1) * receptive field,
 * fan_out = size(0) * receptive field, receptive field = product of sizes(2:).
 * On a device the draws are made on the host (random_ops.c), so a seed initialises a model the
 * same on every device; trunc_normal_ runs its sampler on a host tensor of the same layout and
 * copies the result over.
 */
#include <math.h>
#include "../autograd/autograd_internal.h"
#include "ctorch/nn_layers.h"

/* ---- helpers -------------------------------------------------------------------------------------- */
/* The tensor may be written in place: floating, no overlapping (stride-0) elements. */
static tc_status check_target(const char *fn, const tc_tensor *t) {
  TC__NONNULL_S(t, fn);
  if (!tc_dtype_is_floating(t->dtype))
    return tc__error(TC_ERR_DTYPE, "%s: expected a floating-point tensor, got %s", fn, tc_dtype_name(t->dtype));
  for (int i = 0; i < t->ndim; i++)
    if (t->strides[i] == 0 && t->sizes[i] > 1)
      return tc__error(TC_ERR_ARG, "%s: tensor of shape %s has overlapping elements (stride 0 in dim %d)", fn,
                       tc__tshape(t), i);
  return TC_OK;
}

/* torch.nn.init._calculate_fan_in_and_fan_out */
static tc_status fans(const char *fn, const tc_tensor *t, double *fan_in, double *fan_out) {
  if (t->ndim < 2)
    return tc__error(TC_ERR_SHAPE,
                     "%s: fan in and fan out can not be computed for a tensor with fewer than 2 dimensions (got %s)",
                     fn, tc__tshape(t));
  int64_t rf = 1;
  for (int i = 2; i < t->ndim; i++) rf *= t->sizes[i];
  *fan_in = (double)(t->sizes[1] * rf);
  *fan_out = (double)(t->sizes[0] * rf);
  return TC_OK;
}

static bool is_empty(const tc_tensor *t) { return tc__numel(t->sizes, t->ndim) == 0; }

/* ---- public ---------------------------------------------------------------------------------------- */
double tc_init_calculate_gain(tc_nonlinearity nonlinearity, double param) {
  switch (nonlinearity) {
    case TC_NONLIN_LINEAR:
    case TC_NONLIN_SIGMOID:
      return 1.0;
    case TC_NONLIN_TANH:
      return 5.0 / 3;
    case TC_NONLIN_RELU:
      return sqrt(2.0);
    case TC_NONLIN_LEAKY_RELU:
      return sqrt(2.0 / (1 + param * param)); /* param: negative_slope */
    case TC_NONLIN_SELU:
      return 3.0 / 4;
  }
  tc__error(TC_ERR_ARG, "tc_init_calculate_gain: unsupported nonlinearity %d", (int)nonlinearity);
  return NAN;
}

tc_status tc_init_uniform_(tc_tensor *t, double a, double b, tc_generator *gen) {
  const char *fn = "tc_init_uniform_";
  if (check_target(fn, t)) return tc_last_status();
  tc_no_grad_push();
  tc_status s = tc_uniform_inplace(t, a, b, gen);
  tc_no_grad_pop();
  return s;
}

tc_status tc_init_normal_(tc_tensor *t, double mean, double std, tc_generator *gen) {
  const char *fn = "tc_init_normal_";
  if (check_target(fn, t)) return tc_last_status();
  tc_no_grad_push();
  tc_status s = tc_normal_inplace(t, mean, std, gen);
  tc_no_grad_pop();
  return s;
}

tc_status tc_init_constant_(tc_tensor *t, double value) {
  const char *fn = "tc_init_constant_";
  TC__NONNULL_S(t, fn);
  tc_no_grad_push();
  tc_status s = tc_fill_inplace(t, value);
  tc_no_grad_pop();
  return s;
}

tc_status tc_init_zeros_(tc_tensor *t) {
  TC__NONNULL_S(t, "tc_init_zeros_");
  return tc_init_constant_(t, 0.0);
}

tc_status tc_init_ones_(tc_tensor *t) {
  TC__NONNULL_S(t, "tc_init_ones_");
  return tc_init_constant_(t, 1.0);
}

tc_status tc_init_xavier_uniform_(tc_tensor *t, double gain, tc_generator *gen) {
  const char *fn = "tc_init_xavier_uniform_";
  double fi = 0, fo = 0;
  if (check_target(fn, t) || fans(fn, t, &fi, &fo)) return tc_last_status();
  double std = gain * sqrt(2.0 / (fi + fo));
  double a = sqrt(3.0) * std;
  tc_no_grad_push();
  tc_status s = tc_uniform_inplace(t, -a, a, gen);
  tc_no_grad_pop();
  return s;
}

tc_status tc_init_xavier_normal_(tc_tensor *t, double gain, tc_generator *gen) {
  const char *fn = "tc_init_xavier_normal_";
  double fi = 0, fo = 0;
  if (check_target(fn, t) || fans(fn, t, &fi, &fo)) return tc_last_status();
  double std = gain * sqrt(2.0 / (fi + fo));
  tc_no_grad_push();
  tc_status s = tc_normal_inplace(t, 0.0, std, gen);
  tc_no_grad_pop();
  return s;
}

/* std = gain / sqrt(fan), as torch.nn.init.kaiming_*; zero-element tensors are left alone. */
static tc_status kaiming_std(const char *fn, const tc_tensor *t, double a, tc_fan_mode mode, tc_nonlinearity nl,
                             double *std) {
  if (mode != TC_FAN_IN && mode != TC_FAN_OUT)
    return tc__error(TC_ERR_ARG, "%s: mode %d is neither TC_FAN_IN nor TC_FAN_OUT", fn, (int)mode);
  double fi = 0, fo = 0;
  if (fans(fn, t, &fi, &fo)) return tc_last_status();
  double gain = tc_init_calculate_gain(nl, a);
  if (isnan(gain)) return tc__error(TC_ERR_ARG, "%s: unsupported nonlinearity %d", fn, (int)nl);
  *std = gain / sqrt(mode == TC_FAN_IN ? fi : fo);
  return TC_OK;
}

tc_status tc_init_kaiming_uniform_(tc_tensor *t, double a, tc_fan_mode mode, tc_nonlinearity nonlinearity,
                                   tc_generator *gen) {
  const char *fn = "tc_init_kaiming_uniform_";
  if (check_target(fn, t)) return tc_last_status();
  if (is_empty(t)) return TC_OK; /* PyTorch: "Initializing zero-element tensors is a no-op" */
  double std = 0;
  if (kaiming_std(fn, t, a, mode, nonlinearity, &std)) return tc_last_status();
  double bound = sqrt(3.0) * std;
  tc_no_grad_push();
  tc_status s = tc_uniform_inplace(t, -bound, bound, gen);
  tc_no_grad_pop();
  return s;
}

tc_status tc_init_kaiming_normal_(tc_tensor *t, double a, tc_fan_mode mode, tc_nonlinearity nonlinearity,
                                  tc_generator *gen) {
  const char *fn = "tc_init_kaiming_normal_";
  if (check_target(fn, t)) return tc_last_status();
  if (is_empty(t)) return TC_OK;
  double std = 0;
  if (kaiming_std(fn, t, a, mode, nonlinearity, &std)) return tc_last_status();
  tc_no_grad_push();
  tc_status s = tc_normal_inplace(t, 0.0, std, gen);
  tc_no_grad_pop();
  return s;
}

static double norm_cdf(double x) { return (1.0 + erf(x / sqrt(2.0))) / 2.0; }

/* An uninitialised tensor like t on dev: t's strides when t is dense, else contiguous (empty_like). */
static tc_tensor *empty_like_dense_on(const tc_tensor *t, tc_device dev) {
  int nd = t->ndim, order[TC_MAX_DIMS], m = 0;
  for (int d = 0; d < nd; d++)
    if (t->sizes[d] != 1) order[m++] = d;
  for (int i = 1; i < m; i++) /* non-trivial dims by stride, innermost first */
    for (int j = i; j > 0 && t->strides[order[j - 1]] > t->strides[order[j]]; j--) {
      int k = order[j];
      order[j] = order[j - 1];
      order[j - 1] = k;
    }
  bool dense = true;
  int64_t expect = 1;
  for (int i = 0; i < m && dense; i++) {
    dense = t->strides[order[i]] == expect;
    expect *= t->sizes[order[i]];
  }
  if (!dense || tc__is_contiguous(t)) return tc__empty(t->sizes, nd, t->dtype, dev);
  int64_t numel = tc__numel(t->sizes, nd), st[TC_MAX_DIMS];
  tc_tensor *flat = tc__empty(&numel, 1, t->dtype, dev);
  if (!flat) return NULL;
  for (int d = 0; d < nd; d++) st[d] = t->sizes[d] == 1 ? 1 : t->strides[d];
  tc_tensor *v = tc__view(flat, t->sizes, st, nd, 0);
  tc_tensor_release(flat);
  return v;
}
static tc_tensor *empty_like_dense(const tc_tensor *t) { return empty_like_dense_on(t, t->storage->device); }

/* Values of the floating dtypes as double, and back with the dtype's rounding. */
static inline double ld(const char *p, tc_dtype dt) {
  switch (dt) {
    case TC_F64:
      return *(const double *)(const void *)p;
    case TC_F32:
      return *(const float *)(const void *)p;
    case TC_F16:
      return tc_half_to_float(*(const uint16_t *)(const void *)p);
    default:
      return tc_bf16_to_float(*(const uint16_t *)(const void *)p);
  }
}
static inline void st(char *p, tc_dtype dt, double v) {
  switch (dt) {
    case TC_F64:
      *(double *)(void *)p = v;
      break;
    case TC_F32:
      *(float *)(void *)p = (float)v;
      break;
    case TC_F16:
      *(uint16_t *)(void *)p = tc_float_to_half((float)v);
      break;
    default:
      *(uint16_t *)(void *)p = tc_float_to_bf16((float)v);
      break;
  }
}
/* v rounded to dt (a float32 computation for the narrow types, as PyTorch's kernels) */
static inline double rnd(double v, tc_dtype dt) {
  switch (dt) {
    case TC_F64:
      return v;
    case TC_F32:
      return (float)v;
    case TC_F16:
      return tc_half_to_float(tc_float_to_half((float)v));
    default:
      return tc_bf16_to_float(tc_float_to_bf16((float)v));
  }
}

typedef struct {
  tc_dtype dt;
  double lo, hi;              /* normal path: bounds in the dtype */
  double mean, std, log_peak; /* uniform path: scalars rounded to the dtype */
  bool any;
} tn_ctx;

/* normal path: any value outside [lo, hi]? (ops: t) */
static void tn_any_out(char **p, const int64_t *s, int64_t n, void *vc) {
  tn_ctx *c = vc;
  for (int64_t i = 0; i < n && !c->any; i++) {
    double v = ld(p[0] + i * s[0], c->dt);
    c->any = v < c->lo || v > c->hi;
  }
}
/* normal path: t = where(t outside, cand, t) (ops: t, cand) */
static void tn_replace(char **p, const int64_t *s, int64_t n, void *vc) {
  tn_ctx *c = vc;
  size_t es = tc_dtype_size(c->dt);
  for (int64_t i = 0; i < n; i++) {
    char *q = p[0] + i * s[0];
    double v = ld(q, c->dt);
    if (v < c->lo || v > c->hi) memcpy(q, p[1] + i * s[1], es);
  }
}
/* uniform path: x = ((x - mean) / std)^2 * -0.5 - log_peak, each step rounded (ops: x) */
static void tn_logpdf(char **p, const int64_t *s, int64_t n, void *vc) {
  tn_ctx *c = vc;
  for (int64_t i = 0; i < n; i++) {
    char *q = p[0] + i * s[0];
    double v = rnd(ld(q, c->dt) - c->mean, c->dt);
    v = rnd(v / c->std, c->dt);
    v = rnd(v * v, c->dt);
    v = rnd(v * -0.5, c->dt);
    st(q, c->dt, v - c->log_peak);
  }
}
/* uniform path: pending = where(pending, log(u) > logpdf, pending) (ops: pending, u, logpdf) */
static void tn_accept(char **p, const int64_t *s, int64_t n, void *vc) {
  tn_ctx *c = vc;
  for (int64_t i = 0; i < n; i++) {
    bool *pend = (bool *)(void *)(p[0] + i * s[0]);
    if (!*pend) continue;
    double u = ld(p[1] + i * s[1], c->dt), lp = ld(p[2] + i * s[2], c->dt);
    double lu = c->dt == TC_F64 ? log(u) : rnd(logf((float)u), c->dt);
    *pend = lu > lp;
    c->any |= *pend;
  }
}
/* uniform path: t = where(pending, cand, t) (ops: t, cand, pending) */
static void tn_take(char **p, const int64_t *s, int64_t n, void *vc) {
  tn_ctx *c = vc;
  size_t es = tc_dtype_size(c->dt);
  for (int64_t i = 0; i < n; i++)
    if (*(const bool *)(const void *)(p[2] + i * s[2])) memcpy(p[0] + i * s[0], p[1] + i * s[1], es);
}

static tc_status trunc_normal_reject(tc_tensor *t, tn_ctx *c, double mean, double std, tc_generator *gen) {
  tc_status s = tc_normal_inplace(t, mean, std, gen);
  for (;;) {
    c->any = false;
    if (!s) tc__foreach(1, (const tc_tensor *const *)&t, tn_any_out, c, 0);
    if (s || !c->any) return s;
    tc_tensor *cand = empty_like_dense(t);
    if (!cand) return tc_last_status();
    s = tc_normal_inplace(cand, mean, std, gen);
    if (!s) {
      const tc_tensor *ops[2] = {t, cand};
      tc__foreach(2, ops, tn_replace, c, 0);
    }
    tc_tensor_release(cand);
  }
}

static tc_status trunc_normal_uniform(tc_tensor *t, tn_ctx *c, double a, double b, tc_generator *gen) {
  tc_tensor *cand = empty_like_dense(t), *acc = cand ? empty_like_dense(t) : NULL;
  tc_tensor *pend = acc ? tc__empty(t->sizes, t->ndim, TC_BOOL, t->storage->device) : NULL;
  tc_status s = pend ? tc_uniform_inplace(t, a, b, gen) : tc_last_status();
  if (!s) {
    tc__cpu_fill(pend, 1.0);
    tc__cpu_copy(cand, t);
    tc__foreach(1, (const tc_tensor *const *)&cand, tn_logpdf, c, 0);
    s = tc_uniform_inplace(acc, 0.0, 1.0, gen);
  }
  c->any = false;
  if (!s) {
    const tc_tensor *ops[3] = {pend, acc, cand};
    tc__foreach(3, ops, tn_accept, c, 0);
  }
  while (!s && c->any) {
    s = tc_uniform_inplace(cand, a, b, gen);
    if (s) break;
    const tc_tensor *take[3] = {t, cand, pend};
    tc__foreach(3, take, tn_take, c, 0);
    tc__foreach(1, (const tc_tensor *const *)&cand, tn_logpdf, c, 0);
    s = tc_uniform_inplace(acc, 0.0, 1.0, gen);
    c->any = false;
    if (!s) {
      const tc_tensor *ops[3] = {pend, acc, cand};
      tc__foreach(3, ops, tn_accept, c, 0);
    }
  }
  tc_tensor_release(cand);
  tc_tensor_release(acc);
  tc_tensor_release(pend);
  return s;
}

tc_status tc_init_trunc_normal_(tc_tensor *t, double mean, double std, double a, double b, tc_generator *gen) {
  const char *fn = "tc_init_trunc_normal_";
  if (check_target(fn, t)) return tc_last_status();
  if (!(a <= b)) return tc__error(TC_ERR_ARG, "%s: the interval [a, b] = [%g, %g] is empty", fn, a, b);
  if (!(std >= 0.0)) return tc__error(TC_ERR_ARG, "%s: expects std >= 0, got %g", fn, std);
  if (is_empty(t)) return TC_OK;
  if (!tc__is_cpu(t)) { /* the sampler on a host tensor of t's layout, then one copy */
    tc_tensor *h = empty_like_dense_on(t, tc_cpu());
    tc_status s = h ? tc_init_trunc_normal_(h, mean, std, a, b, gen) : tc_last_status();
    tc_tensor *d = s ? NULL : tc_tensor_to(h, t->storage->device);
    if (!s) s = d ? tc__copy(t, d) : tc_last_status();
    tc_tensor_release(h);
    tc_tensor_release(d);
    if (!s) tc__bump_version(t);
    return s;
  }
  tc_dtype dt = t->dtype;
  double p = norm_cdf((b - mean) / std) - norm_cdf((a - mean) / std);
  tc_status s;
  tc_no_grad_push();
  if (p > 0.3) {
    tn_ctx c = {.dt = dt, .lo = rnd(a, dt), .hi = rnd(b, dt)};
    s = trunc_normal_reject(t, &c, mean, std, gen);
  } else {
    double mode = fmax(a, fmin(mean, b)), z = (mode - mean) / std;
    double log_peak = -0.5 * (z * z);
    /* the Python scalars enter PyTorch's kernels as float (opmath) for every dtype but float64 */
    tn_ctx c = {.dt = dt, .mean = rnd(mean, TC_F32), .std = rnd(std, TC_F32), .log_peak = rnd(log_peak, TC_F32)};
    if (dt == TC_F64) c.mean = mean, c.std = std, c.log_peak = log_peak;
    s = trunc_normal_uniform(t, &c, a, b, gen);
  }
  tc_no_grad_pop();
  if (!s) tc__bump_version(t);
  return s;
}
