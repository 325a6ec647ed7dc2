/* core/src/reduce_backward.c — the public reductions, scans and softmax: each calls its forward
 * kernel (reduce.c, reduce_minmax.c, scan.c, softmax.c) and records its autograd node, with
 * PyTorch's derivatives (tools/autograd/derivatives.yaml). Backward functions compose public ops.
 *
 * Reduced dims are saved as a bit mask over the input's dims; a gradient of the reduced shape is
 * brought back by unsqueezing the reduced dims (when !keepdim) and expanding to the input shape.
 */
#include <math.h>
#include "autograd/autograd_internal.h"
#include "reduce_backward.h"
#include "amp/amp_internal.h"

typedef enum {
  RED_SUM,
  RED_MEAN,
  RED_PROD,
  RED_VAR,
  RED_STD,
  RED_NORM,
  RED_LSE,
  RED_EXTREME, /* max/min over all dims: ties share the gradient evenly */
  RED_EXTREME_DIM,
  RED_SOFTMAX,
  RED_LOG_SOFTMAX,
  RED_CUMSUM,
  RED_CUMPROD
} red_kind;

typedef struct {
  red_kind kind;
  uint32_t mask; /* reduced dims of the input */
  bool keepdim;
  double p;      /* norm order / correction */
  int64_t dim;   /* softmax, cumulative and *_dim ops */
  int64_t count; /* elements per reduction */
  int64_t in_shape[TC_MAX_DIMS];
  int in_nd;
} red_ctx;

static void drop(tc_tensor **ts, int n) {
  for (int i = 0; i < n; i++) tc_tensor_release(ts[i]);
}

/* g (reduced shape) -> input shape (a broadcast view, new reference) */
static tc_tensor *expand_back(const red_ctx *c, const tc_tensor *g) {
  tc_tensor *x = tc_tensor_retain((tc_tensor *)g);
  if (!c->keepdim) {
    for (int d = 0; d < c->in_nd && x; d++) {
      if (!(c->mask >> d & 1)) continue;
      tc_tensor *u = tc_unsqueeze(x, d);
      tc_tensor_release(x);
      x = u;
    }
  }
  if (!x) return NULL;
  tc_tensor *e = tc_expand(x, c->in_shape, c->in_nd);
  tc_tensor_release(x);
  return e;
}

/* sum(v) - cumsum(v) + v along dim: the sum over positions at or after each one (new reference) */
static tc_tensor *rev_cumsum(const tc_tensor *v, int64_t dim) {
  tc_tensor *tot = tc_sum(v, &dim, 1, true), *cs = tc_cumsum(v, dim);
  tc_tensor *d = tc_sub(tot, cs, 1.0);
  tc_tensor *r = tc_add(d, v, 1.0);
  tc_tensor_release(tot);
  tc_tensor_release(cs);
  tc_tensor_release(d);
  return r;
}

static tc_status reduce_backward(tc__node *n, tc_tensor *const *go, tc_tensor **gi) {
  const red_ctx *c = tc__node_ctx(n);
  const tc_tensor *x = NULL, *y = NULL;
  /* slot 0 (x) may be empty by design (softmax needs only its output) */
  if (n->n_saved >= 1 && (n->saved[0].t || n->released) && !(x = tc__node_saved(n, 0))) return tc_last_status();
  if (n->n_saved >= 2 && !(y = tc__node_saved(n, 1))) return tc_last_status();
  const tc_tensor *g = go[0];
  tc_tensor *t[12] = {0}, *r = NULL;
  switch (c->kind) {
    case RED_SUM: r = expand_back(c, g); break;
    case RED_MEAN: r = tc_div_scalar(t[0] = expand_back(c, g), (double)c->count); break;
    case RED_PROD: {
      /* grad_i = g * prod_{j != i} x_j: out / x where x != 0; with one zero in the group the
       * zero's gradient is the product of the others; with two or more, zero */
      t[0] = expand_back(c, g);
      t[1] = expand_back(c, y);
      t[2] = tc_eq_scalar(x, 0);
      t[3] = tc_where(t[2], t[11] = tc_ones_like(x, NULL), x); /* zeros replaced by 1 */
      int64_t dims[TC_MAX_DIMS], nd = 0;
      for (int d = 0; d < c->in_nd; d++)
        if (c->mask >> d & 1) dims[nd++] = d;
      t[4] = tc_prod(t[3], dims, nd, true);                 /* product of the non-zeros */
      t[5] = tc_sum(t[2], dims, nd, true);                  /* zeros per group (int64) */
      t[6] = tc_eq_scalar(t[5], 1);
      t[7] = tc_where(t[6], t[4], t[10] = tc_zeros_like(t[4], NULL)); /* others' product at a lone zero */
      t[8] = tc_div(t[1], t[3]);                            /* out / x (x != 0) */
      t[9] = tc_where(t[2], t[7], t[8]);
      r = tc_mul(t[0], t[9]);
      break;
    }
    case RED_VAR:
    case RED_STD: {
      /* var: g * 2 (x - mean) / (N - c); std: the same over 2 std */
      int64_t dims[TC_MAX_DIMS], nd = 0;
      for (int d = 0; d < c->in_nd; d++)
        if (c->mask >> d & 1) dims[nd++] = d;
      double div = (double)c->count - c->p;
      t[0] = tc_mean(x, dims, nd, true);
      t[1] = tc_sub(x, t[0], 1.0);
      t[2] = expand_back(c, g);
      t[3] = tc_mul(t[1], t[2]);
      if (c->kind == RED_VAR) {
        r = tc_mul_scalar(t[3], 2.0 / (div > 0 ? div : 0.0));
      } else {
        t[4] = expand_back(c, y);
        t[5] = tc_mul_scalar(t[4], div > 0 ? div : 0.0);
        r = tc_div(t[3], t[5]);
      }
      break;
    }
    case RED_NORM: {
      double p = c->p;
      t[0] = expand_back(c, g);
      t[1] = expand_back(c, y);
      if (p == 0) {
        r = tc_zeros_like(x, NULL);
      } else if (p == 1) {
        r = tc_mul(t[0], t[2] = tc_sign(x));
      } else if (isinf(p)) { /* the extreme |x| share the gradient evenly */
        t[2] = tc_abs(x);
        t[3] = tc_to_dtype(t[4] = tc_eq(t[2], t[1]), x->dtype);
        int64_t dims[TC_MAX_DIMS], nd = 0;
        for (int d = 0; d < c->in_nd; d++)
          if (c->mask >> d & 1) dims[nd++] = d;
        t[5] = tc_sum(t[3], dims, nd, true);
        t[6] = tc_div(t[3], t[5]);
        t[7] = tc_mul(t[6], t[8] = tc_sign(x));
        r = tc_mul(t[0], t[7]);
      } else { /* g * x |x|^(p-2) / norm^(p-1), zero where the norm is zero */
        t[2] = tc_abs(x);
        t[3] = tc_pow_scalar(t[2], p - 2);
        t[4] = tc_mul(x, t[3]);
        t[5] = tc_pow_scalar(t[1], p - 1);
        t[6] = tc_div(t[0], t[5]);
        t[7] = tc_mul(t[4], t[6]);
        t[8] = tc_eq_scalar(t[1], 0);
        r = tc_masked_fill(t[7], t[8], 0.0);
      }
      break;
    }
    case RED_LSE: /* g * exp(x - out) */
      t[0] = expand_back(c, g);
      t[1] = expand_back(c, y);
      r = tc_mul(t[0], t[3] = tc_exp(t[2] = tc_sub(x, t[1], 1.0)));
      break;
    case RED_EXTREME: { /* evenly distributed among the elements equal to the result */
      t[0] = tc_eq(x, y);
      t[1] = tc_to_dtype(t[0], g->dtype);
      t[2] = tc_sum(t[1], NULL, 0, false);
      t[3] = tc_div(g, t[2]);
      r = tc_mul(t[1], t[3]);
      break;
    }
    case RED_EXTREME_DIM: { /* scatter into the argmax positions (saved 1 = indices) */
      t[0] = c->keepdim ? tc_tensor_retain((tc_tensor *)g) : tc_unsqueeze(g, c->dim);
      t[1] = c->keepdim ? tc_tensor_retain((tc_tensor *)y) : tc_unsqueeze(y, c->dim);
      t[2] = tc_zeros(c->in_shape, c->in_nd, TC_OPTS(.dtype = g->dtype, .device = g->storage->device));
      r = tc_scatter(t[2], c->dim, t[1], t[0]);
      break;
    }
    case RED_SOFTMAX: { /* y (g - sum(g y)) */
      t[0] = tc_mul(g, y);
      t[1] = tc_sum(t[0], &c->dim, 1, true);
      t[2] = tc_sub(g, t[1], 1.0);
      r = tc_mul(y, t[2]);
      break;
    }
    case RED_LOG_SOFTMAX: { /* g - exp(y) sum(g) */
      t[0] = tc_sum(g, &c->dim, 1, true);
      t[1] = tc_exp(y);
      t[2] = tc_mul(t[1], t[0]);
      r = tc_sub(g, t[2], 1.0);
      break;
    }
    case RED_CUMSUM: r = rev_cumsum(g, c->dim); break; /* reversed cumulative sum */
    case RED_CUMPROD: {
      /* Along dim, with z = (x == 0), cz = cumsum(z), x' = x with zeros replaced by 1:
       *   before the first zero (cz == 0): revcumsum(g * out) / x   (out is 0 from the first zero on)
       *   at the first zero (z, cz == 1):  revcumsum(g * cumprod(x') * (cz == 1))
       *   after it:                        0
       * where revcumsum(v) = sum(v) - cumsum(v) + v. Composed of recorded ops, so it is itself
       * differentiable; the zero branch is only built when x has a zero. */
      t[0] = tc_mul(g, y);
      t[1] = rev_cumsum(t[0], c->dim);
      t[2] = tc_eq_scalar(x, 0);
      t[3] = tc_any(t[2], NULL, 0, false);
      int64_t has_zero = 0;
      if (!t[3] || tc_item_int64(t[3], &has_zero) != TC_OK) break;
      if (!has_zero) {
        r = tc_div(t[1], x);
        break;
      }
      t[4] = tc_where(t[2], t[11] = tc_ones_like(x, NULL), x); /* x' */
      t[5] = tc_cumsum(t[2], c->dim);                          /* cz (int64) */
      t[6] = tc_eq_scalar(t[5], 0);
      t[7] = tc_div(t[1], t[4]);                               /* branch before the first zero */
      t[8] = tc_eq_scalar(t[5], 1);
      t[9] = tc_mul(g, t[10] = tc_cumprod(t[4], c->dim));
      tc_tensor *b = tc_mul(t[9], t[8]);
      tc_tensor *at_zero = rev_cumsum(b, c->dim);
      tc_tensor_release(b);
      tc_tensor *first = tc_logical_and(t[2], t[8]);
      tc_tensor *zero = tc_zeros_like(t[7], NULL);
      tc_tensor *z_branch = tc_where(first, at_zero, zero);
      r = tc_where(t[6], t[7], z_branch);
      tc_tensor_release(at_zero);
      tc_tensor_release(first);
      tc_tensor_release(zero);
      tc_tensor_release(z_branch);
      break;
    }
  }
  drop(t, 12);
  if (!r) return tc_last_status();
  /* gradients come back in the input's dtype */
  if (x && r->dtype != x->dtype) {
    tc_tensor *cv = tc_to_dtype(r, x->dtype);
    tc_tensor_release(r);
    if (!cv) return tc_last_status();
    r = cv;
  }
  gi[0] = r;
  return TC_OK;
}

static const char *const names[] = {
    [RED_SUM] = "SumBackward1",     [RED_MEAN] = "MeanBackward1",       [RED_PROD] = "ProdBackward1",
    [RED_VAR] = "VarBackward0",     [RED_STD] = "StdBackward0",         [RED_NORM] = "LinalgVectorNormBackward0",
    [RED_LSE] = "LogsumexpBackward0", [RED_EXTREME] = "MaxBackward1",   [RED_EXTREME_DIM] = "MaxBackward0",
    [RED_SOFTMAX] = "SoftmaxBackward0", [RED_LOG_SOFTMAX] = "LogSoftmaxBackward0",
    [RED_CUMSUM] = "CumsumBackward0", [RED_CUMPROD] = "CumprodBackward0"};

/* Records out = reduction of t; saves t (and out when `save_out`). */
static tc_tensor *record(red_kind kind, const tc_tensor *t, tc_tensor *out, const int64_t *dims, int64_t ndims,
                         bool keepdim, double p, int64_t dim, bool save_x, bool save_out, const char *name) {
  if (!out || !tc__grad_needed(1, &t) || !tc_dtype_is_floating(out->dtype)) return out;
  red_ctx c = {.kind = kind, .keepdim = keepdim, .p = p, .dim = dim, .in_nd = t->ndim, .count = 1};
  memcpy(c.in_shape, t->sizes, sizeof(int64_t) * (size_t)t->ndim);
  if (!dims || ndims == 0) {
    c.mask = t->ndim ? (uint32_t)((1u << t->ndim) - 1) : 0;
  } else {
    for (int64_t i = 0; i < ndims; i++) {
      int64_t d = dims[i];
      if (tc__wrap_dim("record", &d, t->ndim)) {
        tc_tensor_release(out);
        return NULL;
      }
      c.mask |= 1u << d;
    }
  }
  for (int d = 0; d < t->ndim; d++)
    if (c.mask >> d & 1) c.count *= t->sizes[d];
  const tc_tensor *save[2];
  int ns = 0;
  if (save_x || save_out) save[ns++] = t;
  if (save_out) save[ns++] = out;
  return tc__record(out, name ? name : names[kind], reduce_backward, 1, &t, ns, save, &c, sizeof c);
}

tc_tensor *tc_sum(const tc_tensor *t, const int64_t *dims, int64_t ndims, bool keepdim) {
  tc_tensor *r = tc__sum_fwd(t, dims, ndims, keepdim);
  return record(RED_SUM, t, r, dims, ndims, keepdim, 0, 0, false, false, NULL);
}
tc_tensor *tc_mean(const tc_tensor *t, const int64_t *dims, int64_t ndims, bool keepdim) {
  tc_tensor *r = tc__mean_fwd(t, dims, ndims, keepdim);
  return record(RED_MEAN, t, r, dims, ndims, keepdim, 0, 0, false, false, NULL);
}
tc_tensor *tc_prod(const tc_tensor *t, const int64_t *dims, int64_t ndims, bool keepdim) {
  tc_tensor *r = tc__prod_fwd(t, dims, ndims, keepdim);
  return record(RED_PROD, t, r, dims, ndims, keepdim, 0, 0, true, true, NULL);
}
tc_tensor *tc_var(const tc_tensor *t, const int64_t *dims, int64_t ndims, double correction, bool keepdim) {
  tc_tensor *r = tc__var_fwd(t, dims, ndims, correction, keepdim);
  return record(RED_VAR, t, r, dims, ndims, keepdim, correction, 0, true, false, NULL);
}
tc_tensor *tc_std(const tc_tensor *t, const int64_t *dims, int64_t ndims, double correction, bool keepdim) {
  tc_tensor *r = tc__std_fwd(t, dims, ndims, correction, keepdim);
  return record(RED_STD, t, r, dims, ndims, keepdim, correction, 0, true, true, NULL);
}
tc_tensor *tc_norm(const tc_tensor *t, double p, const int64_t *dims, int64_t ndims, bool keepdim) {
  tc_tensor *r = tc__norm_fwd(t, p, dims, ndims, keepdim);
  return record(RED_NORM, t, r, dims, ndims, keepdim, p, 0, true, true, NULL);
}
tc_tensor *tc_logsumexp(const tc_tensor *t, const int64_t *dims, int64_t ndims, bool keepdim) {
  tc_tensor *r = tc__logsumexp_fwd(t, dims, ndims, keepdim);
  return record(RED_LSE, t, r, dims, ndims, keepdim, 0, 0, true, true, NULL);
}
tc_tensor *tc_max(const tc_tensor *t) {
  return record(RED_EXTREME, t, tc__max_fwd(t), NULL, 0, false, 0, 0, true, true, "MaxBackward1");
}
tc_tensor *tc_min(const tc_tensor *t) {
  return record(RED_EXTREME, t, tc__min_fwd(t), NULL, 0, false, 0, 0, true, true, "MinBackward1");
}

/* values get a node that scatters into the saved indices */
static tc_status extreme_dim(bool mx, const tc_tensor *t, int64_t dim, bool keepdim, tc_tensor **values,
                             tc_tensor **indices) {
  tc_tensor *v = NULL, *idx = NULL;
  if (values) *values = NULL;
  if (indices) *indices = NULL;
  tc_status s = mx ? tc__max_dim_fwd(t, dim, keepdim, &v, &idx) : tc__min_dim_fwd(t, dim, keepdim, &v, &idx);
  if (s) return s;
  if (tc__grad_needed(1, &t) && tc_dtype_is_floating(v->dtype)) {
    red_ctx c = {.kind = RED_EXTREME_DIM, .keepdim = keepdim, .dim = dim, .in_nd = t->ndim};
    tc__wrap_dim("tc_max_dim", &c.dim, t->ndim);
    memcpy(c.in_shape, t->sizes, sizeof(int64_t) * (size_t)t->ndim);
    /* saved: x (for the dtype) and the indices */
    const tc_tensor *save[2] = {t, idx};
    v = tc__record(v, mx ? "MaxBackward0" : "MinBackward0", reduce_backward, 1, &t, 2, save, &c, sizeof c);
    if (!v) {
      tc_tensor_release(idx);
      return tc_last_status();
    }
  }
  if (values) *values = v;
  else tc_tensor_release(v);
  if (indices) *indices = idx;
  else tc_tensor_release(idx);
  return TC_OK;
}

tc_status tc_max_dim(const tc_tensor *t, int64_t dim, bool keepdim, tc_tensor **values, tc_tensor **indices) {
  return extreme_dim(true, t, dim, keepdim, values, indices);
}
tc_status tc_min_dim(const tc_tensor *t, int64_t dim, bool keepdim, tc_tensor **values, tc_tensor **indices) {
  return extreme_dim(false, t, dim, keepdim, values, indices);
}

static tc_tensor *along(red_kind kind, const tc_tensor *t, tc_tensor *out, int64_t dim, bool save_x) {
  if (!out || !tc__grad_needed(1, &t)) return out;
  if (tc__wrap_dim(names[kind], &dim, t->ndim)) {
    tc_tensor_release(out);
    return NULL;
  }
  red_ctx c = {.kind = kind, .dim = dim, .in_nd = t->ndim};
  memcpy(c.in_shape, t->sizes, sizeof(int64_t) * (size_t)t->ndim);
  const tc_tensor *save[2] = {t, out};
  /* softmax/log_softmax save only the output (slot 1): slot 0 holds x when the formula needs it */
  return tc__record(out, names[kind], reduce_backward, 1, &t, 2, save_x ? save : (const tc_tensor *[2]){NULL, out},
                    &c, sizeof c);
}

tc_tensor *tc_softmax(const tc_tensor *t, int64_t dim) {
  tc__amp_call am;
  if (tc__amp_begin(&am, TC__AMP_F32_CUDA, 1, t, NULL, NULL)) return tc__amp_end(&am, am.ok ? tc_softmax(am.in[0], dim) : NULL);
  return along(RED_SOFTMAX, t, tc__softmax_fwd(t, dim), dim, false);
}
tc_tensor *tc_log_softmax(const tc_tensor *t, int64_t dim) {
  tc__amp_call am;
  if (tc__amp_begin(&am, TC__AMP_F32_CUDA, 1, t, NULL, NULL))
    return tc__amp_end(&am, am.ok ? tc_log_softmax(am.in[0], dim) : NULL);
  return along(RED_LOG_SOFTMAX, t, tc__log_softmax_fwd(t, dim), dim, false);
}
tc_tensor *tc_cumsum(const tc_tensor *t, int64_t dim) { return along(RED_CUMSUM, t, tc__cumsum_fwd(t, dim), dim, true); }
tc_tensor *tc_cumprod(const tc_tensor *t, int64_t dim) {
  return along(RED_CUMPROD, t, tc__cumprod_fwd(t, dim), dim, true);
}
