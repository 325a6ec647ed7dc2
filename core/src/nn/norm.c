/* core/src/nn/norm.c — F.batch_norm, F.layer_norm and F.group_norm: fused forward kernels with
 * their own backward nodes (NativeBatchNormBackward0, NativeLayerNormBackward0,
 * NativeGroupNormBackward0), as PyTorch's native_batch_norm / native_layer_norm /
 * native_group_norm.
 *
 * Layouts (all made contiguous in the compute dtype first: f32 or f64; f16/bf16 compute in f32
 * and round the results back, as PyTorch):
 *   batch norm  x (N, C, S) with S the product of the trailing dims; statistics per channel over
 *               M = N*S elements. training: y = (x - mean) * invstd * w + b with the batch's mean
 *               and biased variance, running stats updated in place with the unbiased variance;
 *               eval: the running stats instead.
 *   layer norm  x (M, K): K = the product of the last n_norm dims; statistics per row; w, b (K).
 *   group norm  x (N, C, S), C = G*D: statistics per (n, g) over its D*S contiguous elements;
 *               w, b (C).
 * Backward (xhat = (x - mean) * invstd, g = grad_out):
 *   batch norm  gx = w * invstd * (g - sum(g)/M - xhat * sum(g * xhat)/M)   (training)
 *               gx = w * invstd * g                                          (eval)
 *               gw = sum(g * xhat), gb = sum(g) per channel
 *   layer norm  gx = rstd * (g*w - mean_k(g*w) - xhat * mean_k(g*w*xhat)); gw, gb summed over rows
 *   group norm  the same within each (n, g) group with g*w[c]; gw[c] = sum_n rstd * sum(g*(x-mean)).
 * Statistics use a blocked two-pass scheme merged with Chan's formula in double (norm_kernels.h),
 * which stays accurate when |mean| >> std.
 *
 * Threads: work is cut into units from the shapes only (channels, rows, groups, or fixed chunks
 * of a channel when there are few channels), each reduction is done by one unit in a fixed order
 * and partial results are merged in unit order, so results never depend on the thread count.
 * Batch norm's usual case (many channels) runs one fused task per channel: statistics, then the
 * normalisation (or the gradient sums, then grad_input) while the channel's data is still in L2.
 * Everything a task needs is allocated before the parallel region; nothing inside it can fail.
 */
#include <math.h>
#include "../autograd/autograd_internal.h"
#include "ctorch/nn_functional.h"
#include "../amp/amp_internal.h"

#define NK_T float
#define NK_SUF f32
#include "nn/norm_kernels.h"
#undef NK_T
#undef NK_SUF
#define NK_T double
#define NK_SUF f64
#include "nn/norm_kernels.h"
#undef NK_T
#undef NK_SUF

/* Elements per parallel chunk below which splitting does not pay. */
#define NORM_GRAIN_ELEMS 32768

/* ---- shared helpers ------------------------------------------------------------------------------- */
/* t's elements as contiguous data of dtype dt: t's own memory when it already is, else a converted
 * copy returned in *tmp (the caller releases it). NULL on allocation failure. t must be non-empty. */
static const void *contig_data(const tc_tensor *t, tc_dtype dt, tc_tensor **tmp) {
  *tmp = NULL;
  if (t->dtype == dt && tc__is_contiguous(t)) return tc__ptr(t);
  *tmp = tc__to_dtype_contig(t, dt);
  return *tmp ? tc__ptr(*tmp) : NULL;
}

/* Reads a 1-D tensor of n elements (any dtype, any stride) into doubles. */
static void load_vec(const tc_tensor *t, int64_t n, double *out) {
  const char *p = tc__ptr(t);
  size_t es = tc_dtype_size(t->dtype);
  int64_t st = t->ndim ? t->strides[0] : 0;
  for (int64_t i = 0; i < n; i++) out[i] = tc__load_double(p + (i * st) * (int64_t)es, t->dtype);
}

static void store_vec(tc_tensor *t, int64_t n, const double *in) {
  char *p = tc__ptr(t);
  size_t es = tc_dtype_size(t->dtype);
  int64_t st = t->ndim ? t->strides[0] : 0;
  for (int64_t i = 0; i < n; i++) tc__store_double(p + (i * st) * (int64_t)es, t->dtype, in[i]);
}

/* A new tensor of `sizes` and dtype dt holding the doubles v (contiguous). */
static tc_tensor *from_doubles(const int64_t *sizes, int nd, tc_dtype dt, tc_device dev, const double *v) {
  tc_tensor *t = tc__empty(sizes, nd, dt, dev);
  if (!t) return NULL;
  int64_t n = tc__numel(sizes, nd);
  if (n == 0) return t;
  char *p = tc__ptr(t);
  size_t es = tc_dtype_size(dt);
  if (dt == TC_F64) memcpy(p, v, (size_t)n * sizeof(double));
  else
    for (int64_t i = 0; i < n; i++) tc__store_double(p + (size_t)i * es, dt, v[i]);
  return t;
}

/* A result computed in the compute dtype, converted to dt (consumes r). */
static tc_tensor *finish(tc_tensor *r, tc_dtype dt) {
  if (!r || r->dtype == dt) return r;
  tc_tensor *o = tc__to_dtype_contig(r, dt);
  tc_tensor_release(r);
  return o;
}

/* The end of a norm's device backward: gx, gw, gb (each may be NULL) converted to their dtypes and
 * handed over in gi (slots 1 and 2 only when the node has a weight / a bias), or all released when
 * st (or a conversion) failed. */
static tc_status device_grads_out(tc_status st, tc_tensor *gx, tc_tensor *gw, tc_tensor *gb, tc_dtype x_dtype,
                                  tc_dtype w_dtype, tc_dtype b_dtype, bool has_w, bool has_b, tc_tensor **gi) {
  if (!st && gx && !(gx = finish(gx, x_dtype))) st = tc_last_status();
  if (!st && gw && !(gw = finish(gw, w_dtype))) st = tc_last_status();
  if (!st && gb && !(gb = finish(gb, b_dtype))) st = tc_last_status();
  if (st) {
    tc_tensor_release(gx);
    tc_tensor_release(gw);
    tc_tensor_release(gb);
    return st;
  }
  gi[0] = gx;
  if (has_w) gi[1] = gw;
  if (has_b) gi[2] = gb;
  return TC_OK;
}

static bool low_precision(tc_dtype d) { return d == TC_F16 || d == TC_BF16; }

static tc_status check_float(const char *fn, const tc_tensor *x) {
  if (!tc_dtype_is_floating(x->dtype))
    return tc__error(TC_ERR_DTYPE, "%s: expected a floating-point input, got %s", fn, tc_dtype_name(x->dtype));
  return TC_OK;
}

static tc_status check_input(const char *fn, const tc_tensor *x) {
  if (tc__require_cpu(fn, x)) return tc_last_status();
  if (!tc_dtype_is_floating(x->dtype))
    return tc__error(TC_ERR_DTYPE, "%s: expected a floating-point input, got %s", fn, tc_dtype_name(x->dtype));
  return TC_OK;
}

/* A parameter (weight, bias, running stat) must be on x's device and have x's dtype, or float32
 * for a float16/bfloat16 input (PyTorch's mixed-precision rule). */
static tc_status check_param_dtype(const char *fn, const char *what, const tc_tensor *p, const tc_tensor *x) {
  if (tc__check_same_device(fn, x, p)) return tc_last_status();
  if (p->dtype == x->dtype || (p->dtype == TC_F32 && low_precision(x->dtype))) return TC_OK;
  return tc__error(TC_ERR_DTYPE, "%s: %s has dtype %s but the input is %s (parameters must match the input%s)", fn,
                   what, tc_dtype_name(p->dtype), tc_dtype_name(x->dtype),
                   low_precision(x->dtype) ? " or be float32" : "");
}

/* A per-channel parameter: 1-D with n elements. */
static tc_status check_channel_param(const char *fn, const char *what, const tc_tensor *p, const tc_tensor *x,
                                     int64_t n) {
  if (!p) return TC_OK;
  if (check_param_dtype(fn, what, p, x)) return tc_last_status();
  if (p->ndim != 1 || p->sizes[0] != n)
    return tc__error(TC_ERR_SHAPE, "%s: %s should contain %lld elements (one per channel of input %s), got shape %s", fn,
                     what, (long long)n, tc__tshape(x), tc__tshape(p));
  return TC_OK;
}

/* x (N, C, *): N, C and S = prod(*) */
static void ncs(const tc_tensor *x, int64_t *N, int64_t *C, int64_t *S) {
  *N = x->sizes[0];
  *C = x->sizes[1];
  *S = tc__numel(x->sizes + 2, x->ndim - 2);
}

/* ==== batch norm ======================================================================================== */
/* Units per channel for the statistics and gradient sums: 1 (one fused task per channel) unless
 * there are few channels with many elements each; a function of the shape only. */
static int64_t bn_chunks(int64_t C, int64_t per_channel) {
  if (C >= 16 || per_channel < 2 * NORM_GRAIN_ELEMS) return 1;
  int64_t k = (16 + C - 1) / C, kmax = per_channel / NORM_GRAIN_ELEMS;
  return k < kmax ? k : kmax;
}

typedef struct {
  bool f64;
  int64_t C, S, M, K; /* M = N*S elements per channel, K units per channel */
  const void *x, *gy;
  void *y, *gx;
  double eps;
  bool training;
  /* per channel (C): */
  double *mean, *var, *invstd, *scale, *shift; /* forward */
  const double *w, *b;                          /* NULL = 1, 0 */
  double *sum_gy, *dot;                         /* backward */
  double *ga, *gb, *gc;                         /* backward: gx = ga * gy + gb * (x - mean) + gc */
  bool want_sums, want_gx;
  /* per unit (C*K) partial results when K > 1 */
  double *part;
} bn_run;

/* The unit's element range within its channel. */
static void bn_unit_range(const bn_run *r, int64_t k, int64_t *e0, int64_t *e1) {
  *e0 = k * r->M / r->K;
  *e1 = (k + 1) * r->M / r->K;
}

static void bn_set_affine(bn_run *r, int64_t c) {
  double w = r->w ? r->w[c] : 1.0, b = r->b ? r->b[c] : 0.0;
  r->scale[c] = w * r->invstd[c];
  r->shift[c] = b - r->mean[c] * r->scale[c];
}

static void bn_finish_stats(bn_run *r, int64_t c, double mean, double m2) {
  r->mean[c] = mean;
  r->var[c] = r->M > 0 ? m2 / (double)r->M : NAN;
  r->invstd[c] = 1.0 / sqrt(r->var[c] + r->eps);
}

/* training, K == 1: statistics of channel c, then its normalisation (data still in L2) */
static void bn_fwd_fused_task(int64_t c0, int64_t c1, void *ctx) {
  bn_run *r = ctx;
  for (int64_t c = c0; c < c1; c++) {
    double cnt = 0, mean = 0, m2 = 0;
    if (r->f64) bn_stats_f64(r->x, r->C, r->S, c, 0, r->M, &cnt, &mean, &m2);
    else bn_stats_f32(r->x, r->C, r->S, c, 0, r->M, &cnt, &mean, &m2);
    bn_finish_stats(r, c, mean, m2);
    bn_set_affine(r, c);
    if (r->f64) bn_apply_f64(r->y, r->x, r->C, r->S, c, 0, r->M, r->scale[c], r->shift[c]);
    else bn_apply_f32(r->y, r->x, r->C, r->S, c, 0, r->M, r->scale[c], r->shift[c]);
  }
}

/* training, K > 1: statistics of unit u = c*K + k into part[3u..3u+3) = (count, mean, M2) */
static void bn_fwd_stats_task(int64_t u0, int64_t u1, void *ctx) {
  bn_run *r = ctx;
  for (int64_t u = u0; u < u1; u++) {
    int64_t c = u / r->K, e0, e1;
    bn_unit_range(r, u % r->K, &e0, &e1);
    double *p = r->part + 3 * u;
    p[0] = p[1] = p[2] = 0;
    if (r->f64) bn_stats_f64(r->x, r->C, r->S, c, e0, e1, &p[0], &p[1], &p[2]);
    else bn_stats_f32(r->x, r->C, r->S, c, e0, e1, &p[0], &p[1], &p[2]);
  }
}

/* y = x * scale + shift over units u = c*K + k (any K: elementwise) */
static void bn_fwd_apply_task(int64_t u0, int64_t u1, void *ctx) {
  bn_run *r = ctx;
  for (int64_t u = u0; u < u1; u++) {
    int64_t c = u / r->K, e0, e1;
    bn_unit_range(r, u % r->K, &e0, &e1);
    if (r->f64) bn_apply_f64(r->y, r->x, r->C, r->S, c, e0, e1, r->scale[c], r->shift[c]);
    else bn_apply_f32(r->y, r->x, r->C, r->S, c, e0, e1, r->scale[c], r->shift[c]);
  }
}

static int64_t bn_grain(const bn_run *r) {
  int64_t per = r->M / r->K;
  return per >= NORM_GRAIN_ELEMS ? 1 : NORM_GRAIN_ELEMS / (per > 0 ? per : 1);
}

/* The normalisation: y (N, C, S) from x, writing the per-channel mean/invstd used. The
 * statistics come from the batch (training) or from rm/rv (eval, doubles). */
static void bn_forward_kernel(bn_run *r, const double *rm, const double *rv) {
  int64_t C = r->C;
  if (!r->training) {
    for (int64_t c = 0; c < C; c++) {
      r->mean[c] = rm[c];
      r->var[c] = rv[c];
      r->invstd[c] = 1.0 / sqrt(rv[c] + r->eps);
      bn_set_affine(r, c);
    }
    if (r->M > 0) tc_parallel_for(C * r->K, bn_grain(r), bn_fwd_apply_task, r);
    return;
  }
  if (r->K == 1) {
    tc_parallel_for(C, bn_grain(r), bn_fwd_fused_task, r);
    return;
  }
  tc_parallel_for(C * r->K, bn_grain(r), bn_fwd_stats_task, r);
  for (int64_t c = 0; c < C; c++) { /* merge the units in order (Chan) */
    double cnt = 0, mean = 0, m2 = 0;
    for (int64_t k = 0; k < r->K; k++) {
      const double *p = r->part + 3 * (c * r->K + k);
      if (p[0] == 0) continue;
      double tot = cnt + p[0], delta = p[1] - mean;
      mean += delta * p[0] / tot;
      m2 += p[2] + delta * delta * cnt * p[0] / tot;
      cnt = tot;
    }
    bn_finish_stats(r, c, mean, m2);
    bn_set_affine(r, c);
  }
  tc_parallel_for(C * r->K, bn_grain(r), bn_fwd_apply_task, r);
}

/* ---- backward ---- */
static void bn_set_grad_coeffs(bn_run *r, int64_t c) {
  double w = r->w ? r->w[c] : 1.0, is = r->invstd[c];
  r->ga[c] = w * is;
  if (r->training && r->M > 0) {
    double M = (double)r->M;
    r->gb[c] = -w * is * is * is * r->dot[c] / M;
    r->gc[c] = -w * is * r->sum_gy[c] / M;
  } else {
    r->gb[c] = 0;
    r->gc[c] = 0;
  }
}

static void bn_bwd_sums_unit(bn_run *r, int64_t c, int64_t e0, int64_t e1, double *sg, double *dot) {
  *sg = *dot = 0;
  if (r->f64) bn_grad_sums_f64(r->gy, r->x, r->C, r->S, c, e0, e1, r->mean[c], sg, dot);
  else bn_grad_sums_f32(r->gy, r->x, r->C, r->S, c, e0, e1, r->mean[c], sg, dot);
}

static void bn_bwd_apply_unit(bn_run *r, int64_t c, int64_t e0, int64_t e1) {
  const void *x = r->gb[c] != 0 ? r->x : NULL;
  if (r->f64) bn_grad_apply_f64(r->gx, r->gy, x, r->C, r->S, c, e0, e1, r->ga[c], r->gb[c], r->mean[c], r->gc[c]);
  else bn_grad_apply_f32(r->gx, r->gy, x, r->C, r->S, c, e0, e1, r->ga[c], r->gb[c], r->mean[c], r->gc[c]);
}

/* K == 1: channel c's gradient sums, then its grad_input (data still in L2) */
static void bn_bwd_fused_task(int64_t c0, int64_t c1, void *ctx) {
  bn_run *r = ctx;
  for (int64_t c = c0; c < c1; c++) {
    if (r->want_sums) bn_bwd_sums_unit(r, c, 0, r->M, &r->sum_gy[c], &r->dot[c]);
    if (r->want_gx) {
      bn_set_grad_coeffs(r, c);
      bn_bwd_apply_unit(r, c, 0, r->M);
    }
  }
}

static void bn_bwd_sums_task(int64_t u0, int64_t u1, void *ctx) {
  bn_run *r = ctx;
  for (int64_t u = u0; u < u1; u++) {
    int64_t e0, e1;
    bn_unit_range(r, u % r->K, &e0, &e1);
    bn_bwd_sums_unit(r, u / r->K, e0, e1, &r->part[2 * u], &r->part[2 * u + 1]);
  }
}

static void bn_bwd_apply_task(int64_t u0, int64_t u1, void *ctx) {
  bn_run *r = ctx;
  for (int64_t u = u0; u < u1; u++) {
    int64_t e0, e1;
    bn_unit_range(r, u % r->K, &e0, &e1);
    bn_bwd_apply_unit(r, u / r->K, e0, e1);
  }
}

static void bn_backward_kernel(bn_run *r) {
  int64_t C = r->C;
  if (r->M == 0) {
    for (int64_t c = 0; c < C; c++) r->sum_gy[c] = r->dot[c] = 0;
    return;
  }
  if (r->K == 1) {
    tc_parallel_for(C, bn_grain(r), bn_bwd_fused_task, r);
    return;
  }
  if (r->want_sums) {
    tc_parallel_for(C * r->K, bn_grain(r), bn_bwd_sums_task, r);
    for (int64_t c = 0; c < C; c++) {
      double sg = 0, dot = 0;
      for (int64_t k = 0; k < r->K; k++) {
        sg += r->part[2 * (c * r->K + k)];
        dot += r->part[2 * (c * r->K + k) + 1];
      }
      r->sum_gy[c] = sg;
      r->dot[c] = dot;
    }
  }
  if (r->want_gx) {
    for (int64_t c = 0; c < C; c++) bn_set_grad_coeffs(r, c);
    tc_parallel_for(C * r->K, bn_grain(r), bn_bwd_apply_task, r);
  }
}

typedef struct {
  bool training, has_w, has_b;
  tc_dtype b_dtype;
} bn_ctx;

static tc_status bn_backward(tc__node *n, tc_tensor *const *go, tc_tensor **gi);
static tc_tensor *device_batch_norm(const char *fn, const tc_tensor *x, tc_tensor *running_mean,
                                    tc_tensor *running_var, const tc_tensor *weight, const tc_tensor *bias,
                                    bool training, double momentum, double eps);

tc_tensor *tc_batch_norm(const tc_tensor *x, tc_tensor *running_mean, tc_tensor *running_var, const tc_tensor *weight,
                         const tc_tensor *bias, bool training, double momentum, double eps) {
  const char *fn = "tc_batch_norm";
  TC__NONNULL_T(x, fn);
  if (tc__is_cpu(x) ? check_input(fn, x) : check_float(fn, x)) return NULL;
  if (x->ndim < 2) {
    tc__error(TC_ERR_SHAPE, "%s: expected an input (N, C, *) with at least 2 dims, got %s", fn, tc__tshape(x));
    return NULL;
  }
  int64_t N, C, S;
  ncs(x, &N, &C, &S);
  if ((running_mean == NULL) != (running_var == NULL)) {
    tc__error(TC_ERR_ARG, "%s: running_mean and running_var must be given together (got only %s)", fn,
              running_mean ? "running_mean" : "running_var");
    return NULL;
  }
  if (!training && !running_mean) {
    tc__error(TC_ERR_ARG, "%s: running_mean and running_var must be given in evaluation mode (training=false)", fn);
    return NULL;
  }
  if (check_channel_param(fn, "running_mean", running_mean, x, C) ||
      check_channel_param(fn, "running_var", running_var, x, C) || check_channel_param(fn, "weight", weight, x, C) ||
      check_channel_param(fn, "bias", bias, x, C))
    return NULL;
  int64_t M = N * S;
  if (training && M == 1) {
    tc__error(TC_ERR_SHAPE, "%s: expected more than 1 value per channel when training, got input size %s", fn,
              tc__tshape(x));
    return NULL;
  }
  if (!tc__is_cpu(x))
    return device_batch_norm(fn, x, running_mean, running_var, weight, bias, training, momentum, eps);
  tc_dtype cdt = tc__compute_dtype(x->dtype);
  tc_device dev = x->storage->device;
  int64_t K = bn_chunks(C, M);
  /* doubles: mean var invstd scale shift w b rm rv (C each), partials 3*C*K */
  double *buf = tc__malloc(sizeof(double) * (size_t)(9 * C + 3 * C * K + 1));
  if (!buf) return NULL;
  bn_run r = {.f64 = cdt == TC_F64, .C = C, .S = S, .M = M, .K = K, .eps = eps, .training = training};
  r.mean = buf, r.var = buf + C, r.invstd = buf + 2 * C, r.scale = buf + 3 * C, r.shift = buf + 4 * C;
  double *wv = buf + 5 * C, *bv = buf + 6 * C, *rm = buf + 7 * C, *rv = buf + 8 * C;
  r.part = buf + 9 * C;
  if (weight) load_vec(weight, C, wv), r.w = wv;
  if (bias) load_vec(bias, C, bv), r.b = bv;
  if (!training) load_vec(running_mean, C, rm), load_vec(running_var, C, rv);

  tc_tensor *xt = NULL, *y = NULL, *stats = NULL;
  if (!(y = tc__empty(x->sizes, x->ndim, cdt, dev))) goto fail;
  if (tc__numel(x->sizes, x->ndim) > 0) {
    if (!(r.x = contig_data(x, cdt, &xt))) goto fail;
    r.y = tc__ptr(y);
  } else {
    r.M = 0;
  }
  if (r.M > 0 || !training) bn_forward_kernel(&r, rm, rv);
  else
    for (int64_t c = 0; c < C; c++) r.mean[c] = 0, r.invstd[c] = 0; /* empty batch: nothing normalised */
  tc_tensor_release(xt);
  xt = NULL;
  if (training && running_mean && M > 0) { /* running stats, in place (unbiased variance) */
    load_vec(running_mean, C, rm);
    load_vec(running_var, C, rv);
    double unbias = (double)M / (double)(M - 1);
    for (int64_t c = 0; c < C; c++) {
      rm[c] = (1.0 - momentum) * rm[c] + momentum * r.mean[c];
      rv[c] = (1.0 - momentum) * rv[c] + momentum * r.var[c] * unbias;
    }
    store_vec(running_mean, C, rm);
    store_vec(running_var, C, rv);
    tc__bump_version(running_mean);
    tc__bump_version(running_var);
  }
  if (!(y = finish(y, x->dtype))) goto fail;
  const tc_tensor *in[3] = {x, weight, bias};
  if (tc__grad_needed(3, in)) {
    /* stats (2, C) float64: the mean and invstd the output was normalised with */
    memcpy(r.var, r.invstd, sizeof(double) * (size_t)C); /* mean, invstd adjacent */
    if (!(stats = from_doubles((int64_t[]){2, C}, 2, TC_F64, dev, r.mean))) goto fail;
    bn_ctx bc = {training, weight != NULL, bias != NULL, bias ? bias->dtype : x->dtype};
    const tc_tensor *save[3] = {x, stats, weight};
    y = tc__record(y, "NativeBatchNormBackward0", bn_backward, 3, in, weight ? 3 : 2, save, &bc, sizeof bc);
    tc_tensor_release(stats);
    if (!y) goto fail;
  }
  tc__free(buf);
  return y;
fail:
  tc__free(buf);
  tc_tensor_release(xt);
  tc_tensor_release(y);
  return NULL;
}

static tc_status bn_backward(tc__node *n, tc_tensor *const *go, tc_tensor **gi) {
  const bn_ctx *bc = tc__node_ctx(n);
  const tc_tensor *x = tc__node_saved(n, 0), *stats = tc__node_saved(n, 1);
  const tc_tensor *w = bc->has_w ? tc__node_saved(n, 2) : NULL;
  if (!x || !stats || (bc->has_w && !w)) return tc_last_status();
  bool need_x = n->next[0].node, need_w = bc->has_w && n->next[1].node, need_b = bc->has_b && n->next[2].node;
  const tc_tensor *g = go[0];
  tc_dtype cdt = tc__compute_dtype(x->dtype);
  tc_device dev = x->storage->device;
  int64_t N, C, S;
  ncs(x, &N, &C, &S);
  int64_t M = N * S, K = bn_chunks(C, M);
  bn_run r = {.f64 = cdt == TC_F64, .C = C, .S = S, .M = M, .K = K, .training = bc->training};
  r.want_gx = need_x;
  r.want_sums = need_w || need_b || (need_x && bc->training);
  double *buf = tc__malloc(sizeof(double) * (size_t)(9 * C + 2 * C * K + 1));
  if (!buf) return TC_ERR_NOMEM;
  r.mean = buf, r.invstd = buf + C, r.sum_gy = buf + 2 * C, r.dot = buf + 3 * C;
  r.ga = buf + 4 * C, r.gb = buf + 5 * C, r.gc = buf + 6 * C;
  double *wv = buf + 7 * C, *tmp = buf + 8 * C;
  r.part = buf + 9 * C;
  memcpy(buf, tc__ptr(stats), sizeof(double) * 2 * (size_t)C); /* contiguous (2, C) float64 */
  if (w) load_vec(w, C, wv), r.w = wv;
  tc_tensor *gyt = NULL, *xt = NULL, *gx = NULL, *gw = NULL, *gb = NULL;
  if (need_x && !(gx = tc__empty(x->sizes, x->ndim, cdt, dev))) goto fail;
  if (M > 0 && (r.want_sums || need_x)) {
    if (!(r.gy = contig_data(g, cdt, &gyt))) goto fail;
    bool need_xdata = need_w || (need_x && bc->training);
    if (need_xdata && !(r.x = contig_data(x, cdt, &xt))) goto fail;
    if (gx) r.gx = tc__ptr(gx);
  }
  if (!need_x) r.want_gx = false;
  bn_backward_kernel(&r);
  tc_tensor_release(gyt);
  tc_tensor_release(xt);
  gyt = xt = NULL;
  if (need_x && !(gx = finish(gx, x->dtype))) goto fail;
  if (need_w) {
    for (int64_t c = 0; c < C; c++) tmp[c] = r.dot[c] * r.invstd[c];
    if (!(gw = from_doubles(w->sizes, 1, w->dtype, dev, tmp))) goto fail;
  }
  if (need_b && !(gb = from_doubles(&C, 1, bc->b_dtype, dev, r.sum_gy))) goto fail;
  tc__free(buf);
  gi[0] = gx;
  if (bc->has_w) gi[1] = gw;
  if (bc->has_b) gi[2] = gb;
  return TC_OK;
fail:
  tc__free(buf);
  tc_tensor_release(gyt);
  tc_tensor_release(xt);
  tc_tensor_release(gx);
  tc_tensor_release(gw);
  tc_tensor_release(gb);
  return tc_last_status();
}

/* ---- batch norm on a device: the backend's kernels (cuda/batch_norm.cu) -------------------------- */
typedef struct {
  bool training, has_w, has_b;
  tc_dtype x_dtype, w_dtype, b_dtype, cdt;
} bn_dev_ctx;

/* saved: 0 x (contiguous, compute dtype), 1 stats (2, C): mean, invstd in the compute dtype;
 * 2 weight (contiguous, compute dtype) */
static tc_status bn_device_backward(tc__node *n, tc_tensor *const *go, tc_tensor **gi) {
  const bn_dev_ctx *bc = tc__node_ctx(n);
  const tc_tensor *x = tc__node_saved(n, 0), *stats = tc__node_saved(n, 1);
  const tc_tensor *w = bc->has_w ? tc__node_saved(n, 2) : NULL;
  if (!x || !stats || (bc->has_w && !w)) return tc_last_status();
  bool need_x = n->next[0].node, need_w = bc->has_w && n->next[1].node, need_b = bc->has_b && n->next[2].node;
  int64_t N, C, S;
  ncs(x, &N, &C, &S);
  tc_device dev = x->storage->device;
  tc_tensor *gt = NULL, *gx = NULL, *gw = NULL, *gb = NULL;
  tc_status st = TC_OK;
  const void *g = NULL; /* NULL for an empty gradient (no memory) */
  if (N * C * S > 0 && !(g = contig_data(go[0], bc->cdt, &gt))) st = tc_last_status();
  if (!st && need_x && !(gx = tc__empty(x->sizes, x->ndim, bc->cdt, dev))) st = tc_last_status();
  if (!st && need_w && !(gw = tc__empty(&C, 1, bc->cdt, dev))) st = tc_last_status();
  if (!st && need_b && !(gb = tc__empty(&C, 1, bc->cdt, dev))) st = tc_last_status();
  if (!st) {
    const char *sp = tc__ptr(stats);
    st = tc__backend(x)->batch_norm_bwd(tc__dev_index(x), bc->cdt, tc__ptr(x), g, N, C, S, w ? tc__ptr(w) : NULL, sp,
                                        sp + (size_t)C * tc_dtype_size(bc->cdt), bc->training,
                                        gx ? tc__ptr(gx) : NULL, gw ? tc__ptr(gw) : NULL, gb ? tc__ptr(gb) : NULL);
  }
  tc_tensor_release(gt);
  return device_grads_out(st, gx, gw, gb, bc->x_dtype, bc->w_dtype, bc->b_dtype, bc->has_w, bc->has_b, gi);
}

/* A running statistic as contiguous data of the compute dtype: its own memory, or a converted
 * copy in *tmp that the caller copies back after the update. */
static void *running_data(tc_tensor *t, tc_dtype cdt, tc_tensor **tmp) {
  *tmp = NULL;
  if (t->dtype == cdt && tc__is_contiguous(t)) return tc__ptr(t);
  *tmp = tc__to_dtype_contig(t, cdt);
  return *tmp ? tc__ptr(*tmp) : NULL;
}

/* tc_batch_norm's device path, the arguments checked: the backend normalises contiguous (N, C, S)
 * data of the compute dtype and updates the running stats in place (on copies when they are not
 * contiguous of that dtype, copied back here). */
static tc_tensor *device_batch_norm(const char *fn, const tc_tensor *x, tc_tensor *running_mean,
                                    tc_tensor *running_var, const tc_tensor *weight, const tc_tensor *bias,
                                    bool training, double momentum, double eps) {
  const tc__device_api *api = tc__backend(x);
  if (!api || !api->batch_norm_fwd || !api->batch_norm_bwd) {
    tc__kernel_missing(fn, x);
    return NULL;
  }
  tc_dtype cdt = tc__compute_dtype(x->dtype);
  tc_device dev = x->storage->device;
  int64_t N, C, S;
  ncs(x, &N, &C, &S);
  int64_t M = N * S;
  tc_tensor *xt = NULL, *wt = NULL, *bt = NULL, *rmt = NULL, *rvt = NULL, *y = NULL, *stats = NULL;
  const void *xp = NULL, *wp = NULL, *bp = NULL; /* NULL for empty tensors (no memory) */
  void *rmp = NULL, *rvp = NULL;
  if (N * C * S > 0 && !(xp = contig_data(x, cdt, &xt))) goto fail;
  if (C > 0) {
    if (weight && !(wp = contig_data(weight, cdt, &wt))) goto fail;
    if (bias && !(bp = contig_data(bias, cdt, &bt))) goto fail;
    if (running_mean &&
        (!(rmp = running_data(running_mean, cdt, &rmt)) || !(rvp = running_data(running_var, cdt, &rvt))))
      goto fail;
  }
  if (!(y = tc__empty(x->sizes, x->ndim, cdt, dev)) || !(stats = tc__empty((int64_t[]){2, C}, 2, cdt, dev))) goto fail;
  char *sp = tc__ptr(stats);
  if (api->batch_norm_fwd(tc__dev_index(x), cdt, xp, N, C, S, wp, bp, rmp, rvp, training, momentum, eps, tc__ptr(y),
                          sp, sp + (size_t)C * tc_dtype_size(cdt)))
    goto fail;
  if (training && running_mean && M > 0) { /* updated in place (unbiased variance), as the CPU */
    if ((rmt && tc__copy(running_mean, rmt)) || (rvt && tc__copy(running_var, rvt))) goto fail;
    tc__bump_version(running_mean);
    tc__bump_version(running_var);
  }
  tc_tensor_release(rmt);
  tc_tensor_release(rvt);
  tc_tensor_release(bt);
  rmt = rvt = bt = NULL;
  if (!(y = finish(y, x->dtype))) goto fail;
  const tc_tensor *in[3] = {x, weight, bias};
  if (tc__grad_needed(3, in)) {
    bn_dev_ctx bc = {training, weight != NULL, bias != NULL, x->dtype, weight ? weight->dtype : x->dtype,
                     bias ? bias->dtype : x->dtype, cdt};
    const tc_tensor *save[3] = {xt ? xt : x, stats, wt ? wt : weight};
    y = tc__record(y, "NativeBatchNormBackward0", bn_device_backward, 3, in, weight ? 3 : 2, save, &bc, sizeof bc);
  }
  tc_tensor_release(xt);
  tc_tensor_release(wt);
  tc_tensor_release(stats);
  return y;
fail:
  tc_tensor_release(xt);
  tc_tensor_release(wt);
  tc_tensor_release(bt);
  tc_tensor_release(rmt);
  tc_tensor_release(rvt);
  tc_tensor_release(y);
  tc_tensor_release(stats);
  return NULL;
}

/* ==== layer norm ========================================================================================= */
typedef struct {
  bool f64;
  int64_t M, K, P; /* rows, row length, backward parts */
  const void *x, *gy, *w, *b; /* w, b: (K) in the compute dtype or NULL */
  void *y, *gx;
  double eps, inv_k;   /* inv_k = 1 / K */
  double *mean, *rstd; /* (M) */
  double *pw, *pb;     /* backward partials (P, K) or NULL */
} ln_run;

static void ln_fwd_task(int64_t r0, int64_t r1, void *ctx) {
  ln_run *r = ctx;
  int64_t K = r->K;
  for (int64_t i = r0; i < r1; i++) {
    double cnt = 0, mean = 0, m2 = 0;
    if (r->f64) {
      const double *x = (const double *)r->x + i * K;
      if (K <= NK_SHORT) short_stats_f64(x, K, r->inv_k, &mean, &m2);
      else run_stats_f64(x, K, &cnt, &mean, &m2);
      double rs = 1.0 / sqrt(m2 * r->inv_k + r->eps);
      row_norm_f64((double *)r->y + i * K, x, K, mean, rs, r->w, r->b);
      r->mean[i] = mean, r->rstd[i] = rs;
    } else {
      const float *x = (const float *)r->x + i * K;
      if (K <= NK_SHORT) short_stats_f32(x, K, r->inv_k, &mean, &m2);
      else run_stats_f32(x, K, &cnt, &mean, &m2);
      double rs = 1.0 / sqrt(m2 * r->inv_k + r->eps);
      row_norm_f32((float *)r->y + i * K, x, K, (float)mean, (float)rs, r->w, r->b);
      r->mean[i] = mean, r->rstd[i] = rs;
    }
  }
}

/* part p: rows [p*M/P, (p+1)*M/P): grad_input rows and the part's weight/bias sums */
static void ln_bwd_task(int64_t p0, int64_t p1, void *ctx) {
  ln_run *r = ctx;
  int64_t K = r->K;
  for (int64_t p = p0; p < p1; p++) {
    double *pw = r->pw ? r->pw + p * K : NULL, *pb = r->pb ? r->pb + p * K : NULL;
    if (pw) memset(pw, 0, sizeof(double) * (size_t)K);
    if (pb) memset(pb, 0, sizeof(double) * (size_t)K);
    for (int64_t i = p * r->M / r->P; i < (p + 1) * r->M / r->P; i++) {
      double A, B, mean = r->mean[i], rs = r->rstd[i];
      if (r->f64) {
        const double *g = (const double *)r->gy + i * K, *x = (const double *)r->x + i * K;
        if (r->gx) {
          if (K <= NK_SHORT) short_grad_sums_f64(g, x, K, mean, rs, r->w, &A, &B);
          else row_grad_sums_f64(g, x, K, mean, rs, r->w, &A, &B);
          row_grad_apply_f64((double *)r->gx + i * K, g, x, K, mean, rs, r->w, A * r->inv_k, B * r->inv_k);
        }
        if (pw || pb) row_param_acc_f64(pw, pb, g, x, K, mean, rs);
      } else {
        const float *g = (const float *)r->gy + i * K, *x = (const float *)r->x + i * K;
        if (r->gx) {
          if (K <= NK_SHORT) short_grad_sums_f32(g, x, K, (float)mean, (float)rs, r->w, &A, &B);
          else row_grad_sums_f32(g, x, K, (float)mean, (float)rs, r->w, &A, &B);
          row_grad_apply_f32((float *)r->gx + i * K, g, x, K, (float)mean, (float)rs, r->w, (float)(A * r->inv_k),
                             (float)(B * r->inv_k));
        }
        if (pw || pb) row_param_acc_f32(pw, pb, g, x, K, (float)mean, (float)rs);
      }
    }
  }
}

static int64_t row_grain(int64_t K) { return K >= NORM_GRAIN_ELEMS ? 1 : NORM_GRAIN_ELEMS / (K > 0 ? K : 1); }

/* Backward parts: a function of the shape only (at most 64; about 64K elements each). */
static int64_t ln_parts(int64_t M, int64_t K) {
  int64_t p = M * K / (2 * NORM_GRAIN_ELEMS);
  if (p > 64) p = 64;
  if (p > M) p = M;
  return p < 1 ? 1 : p;
}

typedef struct {
  int64_t n_norm;
  bool has_w, has_b;
  tc_dtype w_dtype, b_dtype;
} ln_ctx;

static tc_status ln_backward(tc__node *n, tc_tensor *const *go, tc_tensor **gi);

/* ---- layer norm on a device: the backend's kernels (cuda/layer_norm.cu) -------------------------- */
typedef struct {
  int64_t n_norm;
  bool has_w, has_b;
  tc_dtype x_dtype, w_dtype, b_dtype, cdt;
} ln_dev_ctx;

/* saved: 0 x (contiguous, compute dtype), 1 stats (2, M): mean, rstd; 2 weight (compute dtype) */
static tc_status ln_device_backward(tc__node *n, tc_tensor *const *go, tc_tensor **gi) {
  const ln_dev_ctx *lc = tc__node_ctx(n);
  const tc_tensor *x = tc__node_saved(n, 0), *stats = tc__node_saved(n, 1);
  const tc_tensor *w = lc->has_w ? tc__node_saved(n, 2) : NULL;
  if (!x || !stats || (lc->has_w && !w)) return tc_last_status();
  bool need_x = n->next[0].node, need_w = lc->has_w && n->next[1].node, need_b = lc->has_b && n->next[2].node;
  int nb = x->ndim - (int)lc->n_norm;
  const int64_t *ns = x->sizes + nb;
  int64_t M = tc__numel(x->sizes, nb), K = tc__numel(ns, (int)lc->n_norm);
  tc_device dev = x->storage->device;
  tc_tensor *g = NULL, *gx = NULL, *gw = NULL, *gb = NULL;
  tc_status st = TC_OK;
  if (!(g = tc__contig_as(go[0], lc->cdt))) st = tc_last_status();
  if (!st && need_x && !(gx = tc__empty(x->sizes, x->ndim, lc->cdt, dev))) st = tc_last_status();
  if (!st && need_w && !(gw = tc__empty(ns, (int)lc->n_norm, lc->cdt, dev))) st = tc_last_status();
  if (!st && need_b && !(gb = tc__empty(ns, (int)lc->n_norm, lc->cdt, dev))) st = tc_last_status();
  if (!st) {
    const char *sp = tc__ptr(stats);
    st = tc__backend(x)->layer_norm_bwd(tc__dev_index(x), lc->cdt, tc__ptr(x), tc__ptr(g), w ? tc__ptr(w) : NULL, sp,
                                        sp + (size_t)M * tc_dtype_size(lc->cdt), M, K, gx ? tc__ptr(gx) : NULL,
                                        gw ? tc__ptr(gw) : NULL, gb ? tc__ptr(gb) : NULL);
  }
  tc_tensor_release(g);
  return device_grads_out(st, gx, gw, gb, lc->x_dtype, lc->w_dtype, lc->b_dtype, lc->has_w, lc->has_b, gi);
}

static tc_tensor *device_layer_norm(const char *fn, const tc_tensor *x, int64_t n_norm, const tc_tensor *weight,
                                    const tc_tensor *bias, double eps) {
  const tc__device_api *api = tc__backend(x);
  if (!api || !api->layer_norm_fwd) {
    tc__kernel_missing(fn, x);
    return NULL;
  }
  tc_dtype cdt = tc__compute_dtype(x->dtype);
  tc_device dev = x->storage->device;
  int nb = x->ndim - (int)n_norm;
  int64_t M = tc__numel(x->sizes, nb), K = tc__numel(x->sizes + nb, (int)n_norm);
  tc_tensor *xs = NULL, *ws = NULL, *bs = NULL, *y = NULL, *stats = NULL;
  if (!(xs = tc__contig_as(x, cdt))) goto fail;
  if (weight && !(ws = tc__contig_as(weight, cdt))) goto fail;
  if (bias && !(bs = tc__contig_as(bias, cdt))) goto fail;
  if (!(y = tc__empty(x->sizes, x->ndim, cdt, dev)) || !(stats = tc__empty((int64_t[]){2, M}, 2, cdt, dev))) goto fail;
  char *sp = tc__ptr(stats);
  if (api->layer_norm_fwd(tc__dev_index(x), cdt, tc__ptr(xs), ws ? tc__ptr(ws) : NULL, bs ? tc__ptr(bs) : NULL, M, K,
                          eps, tc__ptr(y), sp, sp + (size_t)M * tc_dtype_size(cdt)))
    goto fail;
  if (!(y = finish(y, x->dtype))) goto fail;
  const tc_tensor *in[3] = {x, weight, bias};
  if (tc__grad_needed(3, in)) {
    ln_dev_ctx lc = {n_norm, weight != NULL, bias != NULL, x->dtype, weight ? weight->dtype : x->dtype,
                     bias ? bias->dtype : x->dtype, cdt};
    const tc_tensor *save[3] = {xs, stats, ws};
    y = tc__record(y, "NativeLayerNormBackward0", ln_device_backward, 3, in, weight ? 3 : 2, save, &lc, sizeof lc);
  }
  tc_tensor_release(xs);
  tc_tensor_release(ws);
  tc_tensor_release(bs);
  tc_tensor_release(stats);
  return y;
fail:
  tc_tensor_release(xs);
  tc_tensor_release(ws);
  tc_tensor_release(bs);
  tc_tensor_release(stats);
  tc_tensor_release(y);
  return NULL;
}

tc_tensor *tc_layer_norm(const tc_tensor *x, int64_t n_norm, const tc_tensor *weight, const tc_tensor *bias,
                         double eps) {
  const char *fn = "tc_layer_norm";
  TC__NONNULL_T(x, fn);
  tc__amp_call am; /* float32 under CUDA's autocast */
  if (tc__amp_begin(&am, TC__AMP_F32_CUDA, 3, x, weight, bias))
    return tc__amp_end(&am, am.ok ? tc_layer_norm(am.in[0], n_norm, am.in[1], am.in[2], eps) : NULL);
  if (tc__is_cpu(x) ? check_input(fn, x) : check_float(fn, x)) return NULL;
  if (n_norm < 0 || n_norm > x->ndim) {
    tc__error(TC_ERR_ARG, "%s: cannot normalise over the last %lld dims of an input of shape %s", fn,
              (long long)n_norm, tc__tshape(x));
    return NULL;
  }
  int nb = x->ndim - (int)n_norm;
  const int64_t *ns = x->sizes + nb; /* normalized_shape */
  const tc_tensor *ps[2] = {weight, bias};
  const char *pn[2] = {"weight", "bias"};
  for (int i = 0; i < 2; i++) {
    const tc_tensor *p = ps[i];
    if (!p) continue;
    if (check_param_dtype(fn, pn[i], p, x)) return NULL;
    bool same = p->ndim == n_norm;
    for (int d = 0; same && d < n_norm; d++) same = p->sizes[d] == ns[d];
    if (!same) {
      tc__error(TC_ERR_SHAPE, "%s: expected %s of the same shape as normalized_shape, but got %s of shape %s and "
                "normalized_shape = %s (the last %lld dims of input %s)", fn, pn[i], pn[i], tc__tshape(p),
                tc__shape_str(ns, (int)n_norm), (long long)n_norm, tc__tshape(x));
      return NULL;
    }
  }
  if (!tc__is_cpu(x)) return device_layer_norm(fn, x, n_norm, weight, bias, eps);
  tc_dtype cdt = tc__compute_dtype(x->dtype);
  tc_device dev = x->storage->device;
  int64_t M = tc__numel(x->sizes, nb), K = tc__numel(ns, (int)n_norm);
  ln_run r = {.f64 = cdt == TC_F64, .M = M, .K = K, .eps = eps, .inv_k = K > 0 ? 1.0 / (double)K : 0};
  double *buf = tc__malloc(sizeof(double) * (size_t)(2 * M + 1));
  if (!buf) return NULL;
  r.mean = buf, r.rstd = buf + M;
  tc_tensor *xt = NULL, *wt = NULL, *bt = NULL, *y = NULL, *stats = NULL;
  if (!(y = tc__empty(x->sizes, x->ndim, cdt, dev))) goto fail;
  if (M * K > 0) {
    if (!(r.x = contig_data(x, cdt, &xt))) goto fail;
    if (weight && !(r.w = contig_data(weight, cdt, &wt))) goto fail;
    if (bias && !(r.b = contig_data(bias, cdt, &bt))) goto fail;
    r.y = tc__ptr(y);
    tc_parallel_for(M, row_grain(K), ln_fwd_task, &r);
  } else {
    for (int64_t i = 0; i < M; i++) r.mean[i] = 0, r.rstd[i] = 1.0 / sqrt(eps);
  }
  tc_tensor_release(xt);
  tc_tensor_release(wt);
  tc_tensor_release(bt);
  xt = wt = bt = NULL;
  if (!(y = finish(y, x->dtype))) goto fail;
  const tc_tensor *in[3] = {x, weight, bias};
  if (tc__grad_needed(3, in)) {
    if (!(stats = from_doubles((int64_t[]){2, M}, 2, TC_F64, dev, buf))) goto fail; /* mean, rstd */
    ln_ctx lc = {n_norm, weight != NULL, bias != NULL, weight ? weight->dtype : x->dtype,
                 bias ? bias->dtype : x->dtype};
    const tc_tensor *save[3] = {x, stats, weight};
    y = tc__record(y, "NativeLayerNormBackward0", ln_backward, 3, in, weight ? 3 : 2, save, &lc, sizeof lc);
    tc_tensor_release(stats);
    if (!y) goto fail;
  }
  tc__free(buf);
  return y;
fail:
  tc__free(buf);
  tc_tensor_release(xt);
  tc_tensor_release(wt);
  tc_tensor_release(bt);
  tc_tensor_release(y);
  return NULL;
}

static tc_status ln_backward(tc__node *n, tc_tensor *const *go, tc_tensor **gi) {
  const ln_ctx *lc = tc__node_ctx(n);
  const tc_tensor *x = tc__node_saved(n, 0), *stats = tc__node_saved(n, 1);
  const tc_tensor *w = lc->has_w ? tc__node_saved(n, 2) : NULL;
  if (!x || !stats || (lc->has_w && !w)) return tc_last_status();
  bool need_x = n->next[0].node, need_w = lc->has_w && n->next[1].node, need_b = lc->has_b && n->next[2].node;
  tc_dtype cdt = tc__compute_dtype(x->dtype);
  tc_device dev = x->storage->device;
  int nb = x->ndim - (int)lc->n_norm;
  int64_t M = tc__numel(x->sizes, nb), K = tc__numel(x->sizes + nb, (int)lc->n_norm);
  ln_run r = {.f64 = cdt == TC_F64, .M = M, .K = K, .P = ln_parts(M, K), .inv_k = K > 0 ? 1.0 / (double)K : 0};
  r.mean = (double *)(void *)tc__ptr(stats);
  r.rstd = r.mean + M;
  double *part = NULL;
  tc_tensor *gyt = NULL, *xt = NULL, *wt = NULL, *gx = NULL, *gw = NULL, *gb = NULL;
  if (need_x && !(gx = tc__empty(x->sizes, x->ndim, cdt, dev))) goto fail;
  if ((need_w || need_b)) {
    part = tc__calloc(sizeof(double) * (size_t)(2 * r.P * K + 1));
    if (!part) goto fail;
    if (need_w) r.pw = part;
    if (need_b) r.pb = part + r.P * K;
  }
  if (M * K > 0) {
    if (!(r.gy = contig_data(go[0], cdt, &gyt)) || !(r.x = contig_data(x, cdt, &xt))) goto fail;
    if (w && need_x && !(r.w = contig_data(w, cdt, &wt))) goto fail;
    if (gx) r.gx = tc__ptr(gx);
    tc_parallel_for(r.P, 1, ln_bwd_task, &r);
  }
  tc_tensor_release(gyt);
  tc_tensor_release(xt);
  tc_tensor_release(wt);
  gyt = xt = wt = NULL;
  if (need_x && !(gx = finish(gx, x->dtype))) goto fail;
  /* merge the parts in order into part row 0 of each */
  for (int k = 0; k < 2; k++) {
    double *pp = k == 0 ? r.pw : r.pb;
    if (!pp || M * K == 0) continue;
    for (int64_t p = 1; p < r.P; p++)
      for (int64_t j = 0; j < K; j++) pp[j] += pp[p * K + j];
  }
  const int64_t *ns = x->sizes + nb;
  if (need_w && !(gw = from_doubles(ns, (int)lc->n_norm, lc->w_dtype, dev, r.pw))) goto fail;
  if (need_b && !(gb = from_doubles(ns, (int)lc->n_norm, lc->b_dtype, dev, r.pb))) goto fail;
  tc__free(part);
  gi[0] = gx;
  if (lc->has_w) gi[1] = gw;
  if (lc->has_b) gi[2] = gb;
  return TC_OK;
fail:
  tc__free(part);
  tc_tensor_release(gyt);
  tc_tensor_release(xt);
  tc_tensor_release(wt);
  tc_tensor_release(gx);
  tc_tensor_release(gw);
  tc_tensor_release(gb);
  return tc_last_status();
}

/* ==== group norm ========================================================================================= */
typedef struct {
  bool f64;
  int64_t N, C, S, G, D; /* D = C / G channels per group */
  const void *x, *gy;
  void *y, *gx;
  const double *w, *b; /* (C) or NULL */
  double eps;
  double *mean, *rstd; /* (N*G) */
  double *sum_gy, *dot; /* backward (N*C): sum g, sum g*(x - mean) per channel */
} gn_run;

static void gn_fwd_task(int64_t u0, int64_t u1, void *ctx) {
  gn_run *r = ctx;
  int64_t DS = r->D * r->S;
  for (int64_t u = u0; u < u1; u++) { /* u = n*G + g */
    int64_t c0 = (u % r->G) * r->D, base = u * DS;
    double cnt = 0, mean = 0, m2 = 0;
    if (r->f64) run_stats_f64((const double *)r->x + base, DS, &cnt, &mean, &m2);
    else run_stats_f32((const float *)r->x + base, DS, &cnt, &mean, &m2);
    double rs = 1.0 / sqrt(m2 / (double)DS + r->eps);
    r->mean[u] = mean, r->rstd[u] = rs;
    for (int64_t d = 0; d < r->D; d++) {
      int64_t c = c0 + d, off = base + d * r->S;
      double sc = (r->w ? r->w[c] : 1.0) * rs, sh = (r->b ? r->b[c] : 0.0) - mean * sc;
      if (r->f64) run_affine_f64((double *)r->y + off, (const double *)r->x + off, r->S, sc, sh);
      else run_affine_f32((float *)r->y + off, (const float *)r->x + off, r->S, (float)sc, (float)sh);
    }
  }
}

static void gn_bwd_task(int64_t u0, int64_t u1, void *ctx) {
  gn_run *r = ctx;
  int64_t DS = r->D * r->S;
  for (int64_t u = u0; u < u1; u++) {
    int64_t n = u / r->G, c0 = (u % r->G) * r->D, base = u * DS;
    double mean = r->mean[u], rs = r->rstd[u], A = 0, B = 0;
    for (int64_t d = 0; d < r->D; d++) {
      int64_t c = c0 + d, off = base + d * r->S;
      double sg = 0, dot = 0;
      if (r->f64) run_grad_sums_f64((const double *)r->gy + off, (const double *)r->x + off, r->S, mean, &sg, &dot);
      else run_grad_sums_f32((const float *)r->gy + off, (const float *)r->x + off, r->S, (float)mean, &sg, &dot);
      r->sum_gy[n * r->C + c] = sg, r->dot[n * r->C + c] = dot;
      double w = r->w ? r->w[c] : 1.0;
      A += w * dot;
      B += w * sg;
    }
    if (!r->gx) continue;
    double inv = 1.0 / (double)DS;
    for (int64_t d = 0; d < r->D; d++) {
      int64_t c = c0 + d, off = base + d * r->S;
      double a = rs * (r->w ? r->w[c] : 1.0), bb = -rs * rs * rs * A * inv, cc = -rs * B * inv;
      if (r->f64)
        run_grad_apply_f64((double *)r->gx + off, (const double *)r->gy + off, (const double *)r->x + off, r->S, a,
                           bb, mean, cc);
      else
        run_grad_apply_f32((float *)r->gx + off, (const float *)r->gy + off, (const float *)r->x + off, r->S,
                           (float)a, (float)bb, (float)mean, (float)cc);
    }
  }
}

typedef struct {
  int64_t G;
  bool has_w, has_b;
  tc_dtype b_dtype;
} gn_ctx;

static tc_status gn_backward(tc__node *n, tc_tensor *const *go, tc_tensor **gi);

/* On a device: composed of recorded device ops, so autograd follows them: the (N*G, D*S) rows are
 * layer-normalised without affine, then scaled and shifted per channel with weight and bias
 * viewed as (C, 1, ...). */
static tc_tensor *device_group_norm(const tc_tensor *x, int64_t N, int64_t C, int64_t S, int64_t G,
                                    const tc_tensor *weight, const tc_tensor *bias, double eps) {
  int64_t rows[2] = {N * G, C / G * S}, cshape[TC_MAX_DIMS];
  cshape[0] = C;
  for (int d = 2; d < x->ndim; d++) cshape[d - 1] = 1;
  tc_tensor *k[8] = {0}, *y;
  k[0] = tc_reshape(x, rows, 2);
  k[1] = k[0] ? tc_layer_norm(k[0], 1, NULL, NULL, eps) : NULL;
  y = k[2] = k[1] ? tc_reshape(k[1], x->sizes, x->ndim) : NULL;
  if (y && weight) {
    k[3] = tc_reshape(weight, cshape, x->ndim - 1);
    y = k[4] = k[3] ? tc_mul(y, k[3]) : NULL;
  }
  if (y && bias) {
    k[5] = tc_reshape(bias, cshape, x->ndim - 1);
    y = k[6] = k[5] ? tc_add(y, k[5], 1.0) : NULL;
  }
  if (y && y->dtype != x->dtype) y = k[7] = tc_to_dtype(y, x->dtype);
  tc_tensor_retain(y);
  for (int i = 0; i < 8; i++) tc_tensor_release(k[i]);
  return y;
}

tc_tensor *tc_group_norm(const tc_tensor *x, int64_t num_groups, const tc_tensor *weight, const tc_tensor *bias,
                         double eps) {
  const char *fn = "tc_group_norm";
  TC__NONNULL_T(x, fn);
  if (tc__is_cpu(x) ? check_input(fn, x) : check_float(fn, x)) return NULL;
  if (x->ndim < 2) {
    tc__error(TC_ERR_SHAPE, "%s: expected at least 2 dimensions for input tensor (N, C, *) but received %s", fn,
              tc__tshape(x));
    return NULL;
  }
  int64_t N, C, S, G = num_groups;
  ncs(x, &N, &C, &S);
  if (G <= 0 || C % G != 0) {
    tc__error(TC_ERR_SHAPE,
              "%s: expected number of channels in input to be divisible by num_groups, but got input of shape %s and "
              "num_groups=%lld", fn, tc__tshape(x), (long long)G);
    return NULL;
  }
  if (check_channel_param(fn, "weight", weight, x, C) || check_channel_param(fn, "bias", bias, x, C)) return NULL;
  int64_t D = C / G;
  if (N * D * S == 1) { /* PyTorch checks the (N*C/G, G, *) view like a training batch norm */
    int64_t sz[TC_MAX_DIMS];
    sz[0] = N * D, sz[1] = G;
    for (int d = 2; d < x->ndim; d++) sz[d] = x->sizes[d];
    tc__error(TC_ERR_SHAPE, "%s: expected more than 1 value per channel when training, got input size %s", fn,
              tc__shape_str(sz, x->ndim));
    return NULL;
  }
  if (!tc__is_cpu(x)) return device_group_norm(x, N, C, S, G, weight, bias, eps);
  tc_dtype cdt = tc__compute_dtype(x->dtype);
  tc_device dev = x->storage->device;
  gn_run r = {.f64 = cdt == TC_F64, .N = N, .C = C, .S = S, .G = G, .D = D, .eps = eps};
  double *buf = tc__malloc(sizeof(double) * (size_t)(2 * N * G + 2 * C + 1));
  if (!buf) return NULL;
  r.mean = buf, r.rstd = buf + N * G;
  double *wv = buf + 2 * N * G, *bv = wv + C;
  if (weight) load_vec(weight, C, wv), r.w = wv;
  if (bias) load_vec(bias, C, bv), r.b = bv;
  tc_tensor *xt = NULL, *y = NULL, *stats = NULL;
  if (!(y = tc__empty(x->sizes, x->ndim, cdt, dev))) goto fail;
  if (N * C * S > 0) {
    if (!(r.x = contig_data(x, cdt, &xt))) goto fail;
    r.y = tc__ptr(y);
    tc_parallel_for(N * G, row_grain(D * S), gn_fwd_task, &r);
  } else {
    for (int64_t i = 0; i < N * G; i++) r.mean[i] = 0, r.rstd[i] = 1.0 / sqrt(eps);
  }
  tc_tensor_release(xt);
  xt = NULL;
  if (!(y = finish(y, x->dtype))) goto fail;
  const tc_tensor *in[3] = {x, weight, bias};
  if (tc__grad_needed(3, in)) {
    if (!(stats = from_doubles((int64_t[]){2, N * G}, 2, TC_F64, dev, buf))) goto fail; /* mean, rstd */
    gn_ctx gc = {G, weight != NULL, bias != NULL, bias ? bias->dtype : x->dtype};
    const tc_tensor *save[3] = {x, stats, weight};
    y = tc__record(y, "NativeGroupNormBackward0", gn_backward, 3, in, weight ? 3 : 2, save, &gc, sizeof gc);
    tc_tensor_release(stats);
    if (!y) goto fail;
  }
  tc__free(buf);
  return y;
fail:
  tc__free(buf);
  tc_tensor_release(xt);
  tc_tensor_release(y);
  return NULL;
}

static tc_status gn_backward(tc__node *n, tc_tensor *const *go, tc_tensor **gi) {
  const gn_ctx *gc = tc__node_ctx(n);
  const tc_tensor *x = tc__node_saved(n, 0), *stats = tc__node_saved(n, 1);
  const tc_tensor *w = gc->has_w ? tc__node_saved(n, 2) : NULL;
  if (!x || !stats || (gc->has_w && !w)) return tc_last_status();
  bool need_x = n->next[0].node, need_w = gc->has_w && n->next[1].node, need_b = gc->has_b && n->next[2].node;
  tc_dtype cdt = tc__compute_dtype(x->dtype);
  tc_device dev = x->storage->device;
  int64_t N, C, S, G = gc->G;
  ncs(x, &N, &C, &S);
  gn_run r = {.f64 = cdt == TC_F64, .N = N, .C = C, .S = S, .G = G, .D = C / G};
  r.mean = (double *)(void *)tc__ptr(stats);
  r.rstd = r.mean + N * G;
  double *buf = tc__calloc(sizeof(double) * (size_t)(2 * N * C + 2 * C + 1));
  if (!buf) return TC_ERR_NOMEM;
  r.sum_gy = buf, r.dot = buf + N * C;
  double *wv = buf + 2 * N * C, *tmp = wv + C;
  if (w) load_vec(w, C, wv), r.w = wv;
  tc_tensor *gyt = NULL, *xt = NULL, *gx = NULL, *gw = NULL, *gb = NULL;
  if (need_x && !(gx = tc__empty(x->sizes, x->ndim, cdt, dev))) goto fail;
  if (N * C * S > 0) {
    if (!(r.gy = contig_data(go[0], cdt, &gyt)) || !(r.x = contig_data(x, cdt, &xt))) goto fail;
    if (gx) r.gx = tc__ptr(gx);
    tc_parallel_for(N * G, row_grain(r.D * S), gn_bwd_task, &r);
  }
  tc_tensor_release(gyt);
  tc_tensor_release(xt);
  gyt = xt = NULL;
  if (need_x && !(gx = finish(gx, x->dtype))) goto fail;
  if (need_w) {
    for (int64_t c = 0; c < C; c++) {
      double s = 0;
      for (int64_t i = 0; i < N; i++) s += r.dot[i * C + c] * r.rstd[i * G + c / r.D];
      tmp[c] = s;
    }
    if (!(gw = from_doubles(&C, 1, w->dtype, dev, tmp))) goto fail;
  }
  if (need_b) {
    for (int64_t c = 0; c < C; c++) {
      double s = 0;
      for (int64_t i = 0; i < N; i++) s += r.sum_gy[i * C + c];
      tmp[c] = s;
    }
    if (!(gb = from_doubles(&C, 1, gc->b_dtype, dev, tmp))) goto fail;
  }
  tc__free(buf);
  gi[0] = gx;
  if (gc->has_w) gi[1] = gw;
  if (gc->has_b) gi[2] = gb;
  return TC_OK;
fail:
  tc__free(buf);
  tc_tensor_release(gyt);
  tc_tensor_release(xt);
  tc_tensor_release(gx);
  tc_tensor_release(gw);
  tc_tensor_release(gb);
  return tc_last_status();
}
