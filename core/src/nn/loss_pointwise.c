/* core/src/nn/loss_pointwise.c — the elementwise losses of torch.nn.functional:
 * binary_cross_entropy, binary_cross_entropy_with_logits, mse_loss, l1_loss, smooth_l1_loss and
 * huber_loss, each with its own backward node; plus the helpers every loss shares
 * (loss_internal.h).
 *
 * Per element, d = x - y, w = weight (1 when absent), pw = pos_weight (1 when absent):
 *   mse        d^2                                          d/dx = 2 d
 *   l1         |d|                                          d/dx = sign(d)
 *   smooth_l1  |d| < beta ? d^2 / (2 beta) : |d| - beta/2   d/dx = clamp(d / beta, -1, 1) (beta 0: l1)
 *   huber      |d| < delta ? d^2 / 2 : delta (|d| - delta/2) d/dx = clamp(d, -delta, delta)
 *   (d/dy = -d/dx for these four)
 *   bce        w ((y - 1) max(log1p(-x), -100) - y max(log x, -100))
 *              d/dx = w (x - y) / max(x (1 - x), 1e-12)     d/dy = w (log1p(-x) - log x)
 *   bce_logits w ((1 - y) x - (1 + (pw - 1) y) log_sigmoid(x)), log_sigmoid(x) = min(x, 0) - log1p(exp(-|x|))
 *              d/dx = w ((pw y + 1 - y) sigmoid(x) - pw y)  d/dy = w (log_sigmoid(-x) - pw log_sigmoid(x))
 * exactly PyTorch's CPU formulas (so also its clamps and its numerically stable log-sigmoid).
 * Reduction mean divides by the element count (nan for no elements), sum adds; both sum in double
 * over fixed blocks of PB elements combined in block order (thread-count independent).
 *
 * Shapes and dtypes as PyTorch: mse / l1 / smooth_l1 / huber broadcast input and target (the
 * gradient is summed back to each one's shape) and promote their dtypes (huber returns the
 * input's dtype); bce needs target shaped and typed like input, weight broadcastable to it;
 * bce_with_logits needs target shaped like input, weight and pos_weight broadcastable to it, and
 * returns the target's dtype. Weights are not differentiated (PyTorch does not either).
 */
#include <math.h>
#include "loss_internal.h"
#include "../amp/amp_internal.h"

#define PB 2048 /* elements per work unit */

/* ---- shared helpers (loss_internal.h) ---------------------------------------------------------- */
tc_status tc__loss_check_reduction(const char *fn, tc_reduction r) {
  if (r == TC_REDUCTION_MEAN || r == TC_REDUCTION_SUM || r == TC_REDUCTION_NONE) return TC_OK;
  return tc__error(TC_ERR_ARG, "%s: reduction %d is not mean (%d), sum (%d) or none (%d)", fn, (int)r,
                   (int)TC_REDUCTION_MEAN, (int)TC_REDUCTION_SUM, (int)TC_REDUCTION_NONE);
}

tc_tensor *tc__loss_contig(const tc_tensor *t, tc_dtype dtype) {
  if (t->dtype == dtype && tc__is_contiguous(t)) return tc_tensor_retain((tc_tensor *)t);
  return tc__to_dtype_contig(t, dtype);
}

tc_tensor *tc__loss_cast(tc_tensor *r, tc_dtype dtype) {
  if (!r || r->dtype == dtype) return r;
  tc_tensor *c = tc__to_dtype_contig(r, dtype);
  tc_tensor_release(r);
  return c;
}

tc_tensor *tc__loss_scalar(double v, tc_dtype dtype, tc_device device) {
  const int64_t none[1] = {1};
  tc_tensor *t = tc__empty(none, 0, dtype, device);
  if (t) tc__store_double(tc__ptr(t), dtype, v);
  return t;
}

double tc__loss_sum(const double *v, int64_t n) {
  if (n <= 8) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += v[i];
    return s;
  }
  int64_t h = n / 2;
  return tc__loss_sum(v, h) + tc__loss_sum(v + h, n - h);
}

/* ---- kernels --------------------------------------------------------------------------------- */
typedef enum { PW_MSE = 0, PW_L1, PW_SMOOTH_L1, PW_HUBER, PW_BCE, PW_BCE_LOGITS } pw_kind;

typedef struct {
  pw_kind kind;
  double p;                   /* beta (smooth_l1) or delta (huber) */
  int64_t n;                  /* elements */
  const char *x, *y, *w, *pw; /* (n) contiguous, compute dtype; w / pw NULL when absent */
  char *out;                  /* forward: (n) per-element losses (reduction none) or NULL */
  double *part;               /* forward: per-unit sums */
  const char *g;              /* backward: (n) upstream gradient (reduction none) or NULL */
  double gs;                  /* backward: scalar upstream gradient (divided by n for mean) */
  char *gx, *gy;              /* backward: (n) outputs or NULL */
} pw_run;

#define DEF_PW(P, T, LOG, LOG1P, EXP, FABS)                                                            \
  static inline T P##_logsig(T v) { return (v < 0 ? v : (T)0) - LOG1P(EXP(-FABS(v))); }                \
  static inline T P##_sign(T d) { return d > 0 ? (T)1 : d < 0 ? (T)-1 : d; /* 0 and nan stay */ }      \
  static void P##_fwd_unit(const pw_run *c, int64_t u) {                                               \
    const int64_t i0 = u * PB, m = c->n - i0 < PB ? c->n - i0 : PB;                                    \
    const T *restrict x = (const T *)(const void *)c->x + i0, *restrict y = (const T *)(const void *)c->y + i0; \
    const T *restrict w = c->w ? (const T *)(const void *)c->w + i0 : NULL;                            \
    const T *restrict pw = c->pw ? (const T *)(const void *)c->pw + i0 : NULL;                         \
    T buf[PB];                                                                                         \
    T *restrict l = c->out ? (T *)(void *)c->out + i0 : buf;                                           \
    const T p = (T)c->p;                                                                               \
    switch (c->kind) {                                                                                 \
      case PW_MSE:                                                                                     \
        for (int64_t i = 0; i < m; i++) l[i] = (x[i] - y[i]) * (x[i] - y[i]);                          \
        break;                                                                                         \
      case PW_L1:                                                                                      \
        for (int64_t i = 0; i < m; i++) l[i] = FABS(x[i] - y[i]);                                      \
        break;                                                                                         \
      case PW_SMOOTH_L1:                                                                               \
        for (int64_t i = 0; i < m; i++) {                                                              \
          T z = FABS(x[i] - y[i]);                                                                     \
          l[i] = z < p ? (T)0.5 * z * z / p : z - (T)0.5 * p;                                          \
        }                                                                                              \
        break;                                                                                         \
      case PW_HUBER:                                                                                   \
        for (int64_t i = 0; i < m; i++) {                                                              \
          T z = FABS(x[i] - y[i]);                                                                     \
          l[i] = z < p ? (T)0.5 * z * z : p * (z - (T)0.5 * p);                                        \
        }                                                                                              \
        break;                                                                                         \
      case PW_BCE:                                                                                     \
        for (int64_t i = 0; i < m; i++) {                                                              \
          T a = LOG1P(-x[i]), b = LOG(x[i]);                                                           \
          a = a > (T)-100 ? a : (T)-100;                                                               \
          b = b > (T)-100 ? b : (T)-100;                                                               \
          l[i] = (y[i] - (T)1) * a - y[i] * b;                                                         \
        }                                                                                              \
        break;                                                                                         \
      case PW_BCE_LOGITS:                                                                              \
        for (int64_t i = 0; i < m; i++) {                                                              \
          T lw = pw ? (pw[i] - (T)1) * y[i] + (T)1 : (T)1;                                             \
          l[i] = ((T)1 - y[i]) * x[i] - lw * P##_logsig(x[i]);                                         \
        }                                                                                              \
        break;                                                                                         \
    }                                                                                                  \
    if (w)                                                                                             \
      for (int64_t i = 0; i < m; i++) l[i] *= w[i];                                                    \
    double s[8] = {0};                                                                                 \
    int64_t i = 0;                                                                                     \
    for (; i + 8 <= m; i += 8)                                                                         \
      for (int j = 0; j < 8; j++) s[j] += (double)l[i + j];                                            \
    for (; i < m; i++) s[0] += (double)l[i];                                                           \
    c->part[u] = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));                   \
  }                                                                                                    \
  static void P##_fwd_task(int64_t b, int64_t e, void *ctx) {                                          \
    for (int64_t u = b; u < e; u++) P##_fwd_unit(ctx, u);                                              \
  }                                                                                                    \
  /* d loss / d x (into gx) or d loss / d y (into gy), times the upstream gradient */                  \
  static void P##_grad(const pw_run *c, int64_t i0, int64_t m, bool wrt_y, T *restrict o) {            \
    const T *restrict x = (const T *)(const void *)c->x + i0, *restrict y = (const T *)(const void *)c->y + i0; \
    const T *restrict pw = c->pw ? (const T *)(const void *)c->pw + i0 : NULL;                         \
    const T p = (T)c->p, sg = wrt_y ? (T)-1 : (T)1;                                                    \
    switch (c->kind) {                                                                                 \
      case PW_MSE:                                                                                     \
        for (int64_t i = 0; i < m; i++) o[i] = sg * (T)2 * (x[i] - y[i]);                              \
        break;                                                                                         \
      case PW_L1:                                                                                      \
        for (int64_t i = 0; i < m; i++) o[i] = sg * P##_sign(x[i] - y[i]);                             \
        break;                                                                                         \
      case PW_SMOOTH_L1:                                                                               \
        if (p == 0) {                                                                                  \
          for (int64_t i = 0; i < m; i++) o[i] = sg * P##_sign(x[i] - y[i]);                           \
        } else {                                                                                       \
          for (int64_t i = 0; i < m; i++) {                                                            \
            T d = x[i] - y[i];                                                                         \
            o[i] = sg * (d <= -p ? (T)-1 : d >= p ? (T)1 : d / p);                                     \
          }                                                                                            \
        }                                                                                              \
        break;                                                                                         \
      case PW_HUBER:                                                                                   \
        for (int64_t i = 0; i < m; i++) {                                                              \
          T d = x[i] - y[i];                                                                           \
          o[i] = sg * (d <= -p ? -p : d >= p ? p : d);                                                 \
        }                                                                                              \
        break;                                                                                         \
      case PW_BCE:                                                                                     \
        if (wrt_y) {                                                                                   \
          for (int64_t i = 0; i < m; i++) o[i] = LOG1P(-x[i]) - LOG(x[i]);                             \
        } else {                                                                                       \
          for (int64_t i = 0; i < m; i++) {                                                            \
            T q = ((T)1 - x[i]) * x[i];                                                                \
            o[i] = (x[i] - y[i]) / (q > (T)1e-12f ? q : (T)1e-12f); /* a float epsilon, as PyTorch */ \
          }                                                                                            \
        }                                                                                              \
        break;                                                                                         \
      case PW_BCE_LOGITS:                                                                              \
        if (wrt_y) {                                                                                   \
          for (int64_t i = 0; i < m; i++)                                                              \
            o[i] = pw ? P##_logsig(-x[i]) - pw[i] * P##_logsig(x[i]) : -x[i];                          \
        } else {                                                                                       \
          for (int64_t i = 0; i < m; i++) {                                                            \
            T sgm = (T)1 / ((T)1 + EXP(-x[i]));                                                        \
            if (pw) {                                                                                  \
              T t = pw[i] * y[i];                                                                      \
              o[i] = (t + (T)1 - y[i]) * sgm - t;                                                      \
            } else {                                                                                   \
              o[i] = sgm - y[i];                                                                       \
            }                                                                                          \
          }                                                                                            \
        }                                                                                              \
        break;                                                                                         \
    }                                                                                                  \
    const T *restrict w = c->w ? (const T *)(const void *)c->w + i0 : NULL;                            \
    if (w)                                                                                             \
      for (int64_t i = 0; i < m; i++) o[i] *= w[i];                                                    \
    if (c->g) {                                                                                        \
      const T *restrict g = (const T *)(const void *)c->g + i0;                                        \
      for (int64_t i = 0; i < m; i++) o[i] *= g[i];                                                    \
    } else {                                                                                           \
      const T gs = (T)c->gs;                                                                           \
      for (int64_t i = 0; i < m; i++) o[i] *= gs;                                                      \
    }                                                                                                  \
  }                                                                                                    \
  static void P##_bwd_task(int64_t b, int64_t e, void *ctx) {                                          \
    const pw_run *c = ctx;                                                                             \
    for (int64_t u = b; u < e; u++) {                                                                  \
      int64_t i0 = u * PB, m = c->n - i0 < PB ? c->n - i0 : PB;                                        \
      if (c->gx) P##_grad(c, i0, m, false, (T *)(void *)c->gx + i0);                                   \
      if (c->gy) P##_grad(c, i0, m, true, (T *)(void *)c->gy + i0);                                    \
    }                                                                                                  \
  }

DEF_PW(pw_f, float, logf, log1pf, expf, fabsf)
DEF_PW(pw_d, double, log, log1p, exp, fabs)

static int64_t pw_units(int64_t n) { return (n + PB - 1) / PB; }
static int64_t pw_grain(pw_kind k) { /* units per task: logs and exps cost more */
  int64_t per = PB * (k >= PW_BCE ? 8 : 1);
  return TC__GRAIN_ELEMENTWISE / per > 1 ? TC__GRAIN_ELEMENTWISE / per : 1;
}

/* ---- autograd node ------------------------------------------------------------------------------ */
typedef struct {
  pw_kind kind;
  double p;
  tc_reduction red;
  int64_t n;
  int64_t xshape[TC_MAX_DIMS], yshape[TC_MAX_DIMS];
  int xnd, ynd;
  int i_w, i_pw; /* saved-tensor indices, -1 when absent (0: input, 1: target) */
} pw_node;

static tc_status pw_backward(tc__node *nd, tc_tensor *const *go, tc_tensor **gi) {
  const pw_node *k = tc__node_ctx(nd);
  const tc_tensor *xs = tc__node_saved(nd, 0), *ys = tc__node_saved(nd, 1);
  const tc_tensor *ws = k->i_w >= 0 ? tc__node_saved(nd, k->i_w) : NULL;
  const tc_tensor *pws = k->i_pw >= 0 ? tc__node_saved(nd, k->i_pw) : NULL;
  if (!xs || !ys || (k->i_w >= 0 && !ws) || (k->i_pw >= 0 && !pws)) return tc_last_status();
  const tc_dtype cd = xs->dtype;
  const tc_device dev = xs->storage->device;
  const bool need[2] = {nd->next[0].node != NULL, nd->next[1].node != NULL};
  pw_run c = {.kind = k->kind, .p = k->p, .n = k->n, .x = tc__ptr(xs), .y = tc__ptr(ys),
              .w = ws ? tc__ptr(ws) : NULL, .pw = pws ? tc__ptr(pws) : NULL};
  tc_tensor *g = NULL, *full[2] = {NULL, NULL};
  tc_status st = TC_OK;
  if (k->red == TC_REDUCTION_NONE) {
    if (!(g = tc__loss_contig(go[0], cd))) return tc_last_status();
    c.g = tc__ptr(g);
  } else {
    double gv = tc__load_double(tc__ptr(go[0]), go[0]->dtype);
    c.gs = k->red == TC_REDUCTION_MEAN ? gv / (double)k->n : gv;
  }
  for (int i = 0; i < 2 && !st; i++)
    if (need[i] && !(full[i] = tc__empty(xs->sizes, xs->ndim, cd, dev))) st = tc_last_status();
  if (!st) {
    c.gx = full[0] ? tc__ptr(full[0]) : NULL;
    c.gy = full[1] ? tc__ptr(full[1]) : NULL;
    tc_parallel_for(pw_units(k->n), pw_grain(k->kind), cd == TC_F32 ? pw_f_bwd_task : pw_d_bwd_task, &c);
  }
  /* broadcast operands: sum back to their own shapes */
  for (int i = 0; i < 2 && !st; i++) {
    if (!full[i]) continue;
    gi[i] = tc__sum_to(full[i], i ? k->yshape : k->xshape, i ? k->ynd : k->xnd);
    if (!gi[i]) st = tc_last_status();
  }
  if (st) {
    tc_tensor_release(gi[0]);
    gi[0] = NULL;
  }
  tc_tensor_release(full[0]);
  tc_tensor_release(full[1]);
  tc_tensor_release(g);
  return st;
}

/* ---- forward ------------------------------------------------------------------------------------ */
/* t broadcast to shape, as a contiguous tensor of dtype */
static tc_tensor *prepare(const tc_tensor *t, const int64_t *shape, int nd, tc_dtype dtype) {
  if (t->ndim == nd && !memcmp(t->sizes, shape, sizeof(int64_t) * (size_t)nd)) return tc__loss_contig(t, dtype);
  tc_tensor *e = tc__expand_to(t, shape, nd);
  tc_tensor *r = e ? tc__to_dtype_contig(e, dtype) : NULL;
  tc_tensor_release(e);
  return r;
}

/* a weight must broadcast to the input's shape without growing it (PyTorch multiplies in place) */
static tc_status check_weight(const char *fn, const char *what, const tc_tensor *w, const tc_tensor *x) {
  if (tc__check_same_device(fn, x, w)) return tc_last_status();
  if (!tc_dtype_is_floating(w->dtype))
    return tc__error(TC_ERR_DTYPE, "%s: %s must be floating point, got %s", fn, what, tc_dtype_name(w->dtype));
  int64_t b[TC_MAX_DIMS];
  int nb;
  bool ok = w->ndim <= x->ndim && !tc__broadcast_shapes(fn, w->sizes, w->ndim, x->sizes, x->ndim, b, &nb) &&
            nb == x->ndim && !memcmp(b, x->sizes, sizeof(int64_t) * (size_t)nb);
  if (!ok)
    return tc__error(TC_ERR_SHAPE, "%s: %s of shape %s does not broadcast to the input's shape %s", fn, what,
                     tc__tshape(w), tc__tshape(x));
  return TC_OK;
}

/* first element of a contiguous buffer outside [0, 1] (or nan), or -1 */
static int64_t out_of_unit(const tc_tensor *t) {
  int64_t n = tc__numel(t->sizes, t->ndim);
  if (t->dtype == TC_F32) {
    const float *v = (const float *)(const void *)tc__ptr(t);
    for (int64_t i = 0; i < n; i++)
      if (!(v[i] >= 0.0f && v[i] <= 1.0f)) return i;
  } else {
    const double *v = (const double *)(const void *)tc__ptr(t);
    for (int64_t i = 0; i < n; i++)
      if (!(v[i] >= 0.0 && v[i] <= 1.0)) return i;
  }
  return -1;
}

static const char *const node_names[] = {"MseLossBackward0",   "L1LossBackward0",
                                          "SmoothL1LossBackward0", "HuberLossBackward0",
                                          "BinaryCrossEntropyBackward0", "BinaryCrossEntropyWithLogitsBackward0"};

/* On a device: the loss composed of device ops (autograd records the pieces), in cd, returned in rd.
 * binary_cross_entropy does not check that the input is in [0, 1] there (PyTorch's CUDA kernel
 * asserts); its logs are clamped at -100 as PyTorch's. */
static tc_tensor *device_pointwise(pw_kind kind, const tc_tensor *input, const tc_tensor *target,
                                   const tc_tensor *weight, const tc_tensor *pos_weight, tc_reduction red, double p,
                                   tc_dtype rd, tc_dtype cd) {
  tc_scope_push();
  tc_tensor *x = tc_to_dtype(input, cd), *t = x ? tc_to_dtype(target, cd) : NULL, *l = NULL;
  if (t) {
    tc_tensor *d = kind <= PW_HUBER ? tc_sub(x, t, 1.0) : NULL, *a = d ? tc_abs(d) : NULL;
    switch (kind) {
      case PW_MSE: l = tc_mul(d, d); break;
      case PW_L1: l = a; break;
      case PW_SMOOTH_L1: { /* m = min(|d|, beta): 0.5 m^2 / beta + (|d| - m) */
        tc_tensor *m = a ? tc_minimum_scalar(a, p) : NULL;
        l = m ? tc_add(tc_mul_scalar(tc_mul(m, m), 0.5 / p), tc_sub(a, m, 1.0), 1.0) : NULL;
        break;
      }
      case PW_HUBER: { /* m = min(|d|, delta): 0.5 m^2 + delta (|d| - m) */
        tc_tensor *m = a ? tc_minimum_scalar(a, p) : NULL;
        l = m ? tc_add(tc_mul_scalar(tc_mul(m, m), 0.5), tc_sub(a, m, 1.0), p) : NULL;
        break;
      }
      case PW_BCE: { /* -(t log x + (1 - t) log(1 - x)), each log clamped at -100 */
        tc_tensor *lx = tc_maximum_scalar(tc_log(x), -100.0), *l1x = tc_maximum_scalar(tc_log1p(tc_neg(x)), -100.0);
        l = tc_neg(tc_add(tc_mul(t, lx), tc_mul(tc_rsub_scalar(t, 1.0), l1x), 1.0));
        break;
      }
      case PW_BCE_LOGITS: { /* (1 - t) x + lw (log1p(exp(-|x|)) + relu(-x)), lw = 1 + (pw - 1) t */
        tc_tensor *sp = tc_add(tc_log1p(tc_exp(tc_neg(tc_abs(x)))), tc_relu(tc_neg(x)), 1.0);
        if (pos_weight) sp = tc_mul(sp, tc_add_scalar(tc_mul(tc_sub_scalar(tc_to_dtype(pos_weight, cd), 1.0), t), 1.0));
        l = tc_add(tc_mul(tc_rsub_scalar(t, 1.0), x), sp, 1.0);
        break;
      }
    }
  }
  if (l && weight) l = tc_mul(l, tc_to_dtype(weight, cd));
  tc_tensor *r = !l                          ? NULL
                 : red == TC_REDUCTION_NONE ? l
                 : red == TC_REDUCTION_SUM  ? tc_sum(l, NULL, 0, false)
                                            : tc_mean(l, NULL, 0, false);
  return tc_scope_return(r ? tc_to_dtype(r, rd) : NULL);
}

static tc_tensor *pointwise_loss(const char *fn, pw_kind kind, const tc_tensor *input, const tc_tensor *target,
                                 const tc_tensor *weight, const tc_tensor *pos_weight, tc_reduction red, double p) {
  TC__NONNULL_T(input, fn);
  TC__NONNULL_T(target, fn);
  if (tc__loss_check_reduction(fn, red)) return NULL;
  if (tc__check_same_device(fn, input, target)) return NULL;
  tc_dtype rd, cd;
  int64_t oshape[TC_MAX_DIMS];
  int ond;
  if (kind == PW_BCE || kind == PW_BCE_LOGITS) {
    if (input->ndim != target->ndim || memcmp(input->sizes, target->sizes, sizeof(int64_t) * (size_t)input->ndim)) {
      tc__error(TC_ERR_SHAPE, "%s: target shape %s must be the same as input shape %s", fn, tc__tshape(target),
                tc__tshape(input));
      return NULL;
    }
    ond = input->ndim;
    memcpy(oshape, input->sizes, sizeof(int64_t) * (size_t)ond);
    if (!tc_dtype_is_floating(input->dtype) || !tc_dtype_is_floating(target->dtype)) {
      tc__error(TC_ERR_DTYPE, "%s: input and target must be floating point, got %s and %s", fn,
                tc_dtype_name(input->dtype), tc_dtype_name(target->dtype));
      return NULL;
    }
    if (kind == PW_BCE && target->dtype != input->dtype) {
      tc__error(TC_ERR_DTYPE, "%s: target must have the input's dtype %s, got %s", fn, tc_dtype_name(input->dtype),
                tc_dtype_name(target->dtype));
      return NULL;
    }
    if (weight && check_weight(fn, "weight", weight, input)) return NULL;
    if (pos_weight && check_weight(fn, "pos_weight", pos_weight, input)) return NULL;
    rd = kind == PW_BCE ? input->dtype : target->dtype; /* PyTorch: bce_with_logits gives the target's dtype */
    cd = tc__compute_dtype(tc_promote_types(input->dtype, target->dtype));
  } else {
    if (tc__broadcast_shapes(fn, input->sizes, input->ndim, target->sizes, target->ndim, oshape, &ond)) return NULL;
    tc_dtype pd = tc_promote_types(input->dtype, target->dtype);
    if (!tc_dtype_is_floating(pd) || (kind == PW_HUBER && !tc_dtype_is_floating(input->dtype))) {
      tc__error(TC_ERR_DTYPE, "%s: needs floating point operands, got input %s and target %s", fn,
                tc_dtype_name(input->dtype), tc_dtype_name(target->dtype));
      return NULL;
    }
    rd = kind == PW_HUBER ? input->dtype : pd; /* PyTorch: huber_loss keeps the input's dtype */
    cd = tc__compute_dtype(pd);
  }
  if (kind == PW_SMOOTH_L1 && !(p >= 0)) {
    tc__error(TC_ERR_ARG, "%s: beta must be >= 0, got %g", fn, p);
    return NULL;
  }
  if (kind == PW_HUBER && !(p > 0)) {
    tc__error(TC_ERR_ARG, "%s: delta must be > 0, got %g", fn, p);
    return NULL;
  }
  if (kind == PW_SMOOTH_L1 && p == 0) kind = PW_L1; /* PyTorch: beta 0 is l1_loss */
  if (!tc__is_cpu(input)) return device_pointwise(kind, input, target, weight, pos_weight, red, p, rd, cd);

  const tc_device dev = input->storage->device;
  const tc_tensor *ins[2] = {input, target};
  const bool need_grad = tc__grad_needed(2, ins);
  const int64_t n = tc__numel(oshape, ond);
  tc_tensor *xs = NULL, *ys = NULL, *ws = NULL, *pws = NULL, *out = NULL, *res = NULL;
  double *part = NULL;
  if (!(xs = prepare(input, oshape, ond, cd)) || !(ys = prepare(target, oshape, ond, cd))) goto done;
  if (weight && !(ws = prepare(weight, oshape, ond, cd))) goto done;
  if (pos_weight && !(pws = prepare(pos_weight, oshape, ond, cd))) goto done;
  if (kind == PW_BCE) {
    const tc_tensor *chk[2] = {xs, ys};
    for (int i = 0; i < 2; i++) {
      int64_t bad = out_of_unit(chk[i]);
      if (bad >= 0) {
        tc__error(TC_ERR_ARG, "%s: all elements of %s should be between 0 and 1, element %lld is %g", fn,
                  i ? "target" : "input", (long long)bad,
                  tc__load_double(tc__ptr(chk[i]) + (size_t)bad * tc_dtype_size(cd), cd));
        goto done;
      }
    }
  }
  if (red == TC_REDUCTION_NONE && !(out = tc__empty(oshape, ond, cd, dev))) goto done;
  const int64_t units = pw_units(n);
  if (!(part = tc__malloc(sizeof(double) * (size_t)(units + 1)))) goto done;
  pw_run c = {.kind = kind, .p = p, .n = n, .x = tc__ptr(xs), .y = tc__ptr(ys), .w = ws ? tc__ptr(ws) : NULL,
              .pw = pws ? tc__ptr(pws) : NULL, .out = out ? tc__ptr(out) : NULL, .part = part};
  tc_parallel_for(units, pw_grain(kind), cd == TC_F32 ? pw_f_fwd_task : pw_d_fwd_task, &c);
  if (out) {
    res = tc__loss_cast(out, rd);
    out = NULL;
  } else {
    double total = tc__loss_sum(part, units);
    res = tc__loss_scalar(red == TC_REDUCTION_MEAN ? total / (double)n : total, rd, dev);
  }
  if (res && need_grad) {
    pw_node k = {.kind = kind, .p = p, .red = red, .n = n, .xnd = input->ndim, .ynd = target->ndim, .i_w = -1,
                 .i_pw = -1};
    memcpy(k.xshape, input->sizes, sizeof(int64_t) * (size_t)input->ndim);
    memcpy(k.yshape, target->sizes, sizeof(int64_t) * (size_t)target->ndim);
    const tc_tensor *save[4] = {xs, ys};
    int ns = 2;
    if (ws) save[k.i_w = ns++] = ws;
    if (pws) save[k.i_pw = ns++] = pws;
    res = tc__record(res, node_names[kind], pw_backward, 2, ins, ns, save, &k, sizeof k);
  }
done:
  tc__free(part);
  tc_tensor_release(out);
  tc_tensor_release(pws);
  tc_tensor_release(ws);
  tc_tensor_release(ys);
  tc_tensor_release(xs);
  return res;
}

tc_tensor *tc_binary_cross_entropy(const tc_tensor *input, const tc_tensor *target, const tc_tensor *weight,
                                   tc_reduction reduction) {
  return pointwise_loss("tc_binary_cross_entropy", PW_BCE, input, target, weight, NULL, reduction, 0);
}

tc_tensor *tc_binary_cross_entropy_with_logits(const tc_tensor *input, const tc_tensor *target, const tc_tensor *weight,
                                               const tc_tensor *pos_weight, tc_reduction reduction) {
  tc__amp_call am;
  if (tc__amp_begin(&am, TC__AMP_F32, 3, input, target, weight)) {
    tc_tensor *pw = am.ok && pos_weight && pos_weight->dtype != TC_F64 ? tc_to_dtype(pos_weight, TC_F32) : NULL;
    tc_tensor *r = am.ok && (pw || !pos_weight || pos_weight->dtype == TC_F64)
                       ? tc_binary_cross_entropy_with_logits(am.in[0], am.in[1], am.in[2], pw ? pw : pos_weight,
                                                             reduction)
                       : NULL;
    tc_tensor_release(pw);
    return tc__amp_end(&am, r);
  }
  return pointwise_loss("tc_binary_cross_entropy_with_logits", PW_BCE_LOGITS, input, target, weight, pos_weight,
                        reduction, 0);
}

tc_tensor *tc_mse_loss(const tc_tensor *input, const tc_tensor *target, tc_reduction reduction) {
  tc__amp_call am;
  if (tc__amp_begin(&am, TC__AMP_F32, 2, input, target, NULL))
    return tc__amp_end(&am, am.ok ? tc_mse_loss(am.in[0], am.in[1], reduction) : NULL);
  return pointwise_loss("tc_mse_loss", PW_MSE, input, target, NULL, NULL, reduction, 0);
}

tc_tensor *tc_l1_loss(const tc_tensor *input, const tc_tensor *target, tc_reduction reduction) {
  tc__amp_call am;
  if (tc__amp_begin(&am, TC__AMP_F32, 2, input, target, NULL))
    return tc__amp_end(&am, am.ok ? tc_l1_loss(am.in[0], am.in[1], reduction) : NULL);
  return pointwise_loss("tc_l1_loss", PW_L1, input, target, NULL, NULL, reduction, 0);
}

tc_tensor *tc_smooth_l1_loss(const tc_tensor *input, const tc_tensor *target, tc_reduction reduction, double beta) {
  return pointwise_loss("tc_smooth_l1_loss", PW_SMOOTH_L1, input, target, NULL, NULL, reduction, beta);
}

tc_tensor *tc_huber_loss(const tc_tensor *input, const tc_tensor *target, tc_reduction reduction, double delta) {
  return pointwise_loss("tc_huber_loss", PW_HUBER, input, target, NULL, NULL, reduction, delta);
}
