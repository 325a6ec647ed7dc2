/* core/src/nn/dropout.c — F.dropout and F.dropout2d, drawing the mask as PyTorch's CPU
 * _dropout_impl does, so after tc_manual_seed(s) the mask equals torch's after torch.manual_seed(s):
 *
 *   noise = empty_like(x)            // dropout: x's layout when x is dense, so the draws follow
 *                                    //   x's memory order as PyTorch's TensorIterator does
 *         | empty(N, C, 1, ..., 1)   // dropout2d: one draw per channel (feature noise)
 *   noise.bernoulli_(1 - p)          // one 53-bit uniform per element, u < 1 - p
 *   noise.div_(1 - p)                // kept entries become 1 / (1 - p) rounded to x's dtype
 *   y = x * noise                    // the backward multiplies by the saved noise
 *
 * p = 0, !training or an empty input return x unchanged (an alias); p = 1 returns x * 0 (zeros,
 * NaN where x is NaN or infinite, as PyTorch) without drawing. The node is "MulBackward0", the
 * name PyTorch's CPU dropout records. dropout2d is PyTorch's feature dropout: one draw per
 * (x.size(0), x.size(1)) channel, noise shaped (N, C, 1, ..., 1); as in F.dropout2d today a 3-D
 * input is taken as (N, C, L) (PyTorch warns it may become (C, H, W) one day), and inputs with
 * fewer than 2 dims are an error.
 *
 * On a CUDA device the noise comes from a counter-based Philox draw (cuda/random.cu) keyed by the
 * generator's seed: the same statistics and kept value, not torch's CUDA bits.
 */
#include <math.h>
#include "../autograd/autograd_internal.h"
#include "ctorch/nn_functional.h"
#include "../random_internal.h"

static tc_status dropout_backward(tc__node *n, tc_tensor *const *go, tc_tensor **gi) {
  const tc_tensor *mask = tc__node_saved(n, 0);
  if (!mask) return tc_last_status();
  tc_tensor *r = tc_mul(go[0], mask); /* mask broadcasts (dropout2d, p = 1) */
  if (!r) return tc_last_status();
  gi[0] = r;
  return TC_OK;
}

static tc_status check_p(const char *fn, double p) {
  if (p >= 0.0 && p <= 1.0) return TC_OK;
  return tc__error(TC_ERR_ARG, "%s: dropout probability has to be between 0 and 1, but got %g", fn, p);
}

/* x itself as a new reference (an alias view that keeps x's history). */
static tc_tensor *alias(const tc_tensor *x) { return tc_to_dtype(x, x->dtype); }

/* An uninitialised tensor shaped like x with x's strides when x is dense (its elements fill its
 * storage span without gaps or overlap), else contiguous: PyTorch's empty_like(preserve_format). */
static tc_tensor *empty_like_dense(const tc_tensor *x) {
  int nd = x->ndim;
  int64_t numel = tc__numel(x->sizes, nd);
  int order[TC_MAX_DIMS], m = 0;
  for (int d = 0; d < nd; d++)
    if (x->sizes[d] != 1) order[m++] = d;
  /* sort the non-trivial dims by stride, innermost first */
  for (int i = 1; i < m; i++)
    for (int j = i; j > 0 && x->strides[order[j - 1]] > x->strides[order[j]]; j--) {
      int t = order[j];
      order[j] = order[j - 1];
      order[j - 1] = t;
    }
  bool dense = true;
  int64_t expect = 1;
  for (int i = 0; i < m && dense; i++) {
    dense = x->strides[order[i]] == expect;
    expect *= x->sizes[order[i]];
  }
  if (!dense || tc__is_contiguous(x)) return tc__empty(x->sizes, nd, x->dtype, x->storage->device);
  tc_tensor *flat = tc__empty(&numel, 1, x->dtype, x->storage->device);
  if (!flat) return NULL;
  int64_t st[TC_MAX_DIMS];
  for (int d = 0; d < nd; d++) st[d] = x->sizes[d] == 1 ? 1 : x->strides[d];
  tc_tensor *v = tc__view(flat, x->sizes, st, nd, 0);
  tc_tensor_release(flat);
  return v;
}

/* The kept value 1 / (1 - p) as PyTorch's noise.div_(1 - p) rounds it in the noise's dtype. */
static double keep_value(tc_dtype dt, double p) {
  double q = 1.0 - p;
  switch (dt) {
    case TC_F64:
      return 1.0 / q;
    case TC_F32:
      return (double)(1.0f / (float)q);
    case TC_F16:
      return (double)tc_half_to_float(tc_float_to_half(1.0f / (float)q));
    default:
      return (double)tc_bf16_to_float(tc_float_to_bf16(1.0f / (float)q));
  }
}

/* In place on a dense noise tensor of 0/1 values: 1 -> v (its memory, in any order). */
static void scale_noise(tc_tensor *noise, double v) {
  int64_t n = tc__numel(noise->sizes, noise->ndim);
  char *p = tc__ptr(noise);
  switch (noise->dtype) {
    case TC_F64: {
      double *d = (double *)(void *)p;
      for (int64_t i = 0; i < n; i++) d[i] = d[i] != 0.0 ? v : 0.0;
      break;
    }
    case TC_F32: {
      float *d = (float *)(void *)p, fv = (float)v;
      for (int64_t i = 0; i < n; i++) d[i] = d[i] != 0.0f ? fv : 0.0f;
      break;
    }
    default: { /* f16/bf16: 0 is all-zero bits; v rounds exactly (keep_value rounded it) */
      uint16_t *d = (uint16_t *)(void *)p;
      uint16_t hv = noise->dtype == TC_F16 ? tc_float_to_half((float)v) : tc_float_to_bf16((float)v);
      for (int64_t i = 0; i < n; i++) d[i] = (d[i] & 0x7fffu) ? hv : 0;
      break;
    }
  }
}

/* Shared tail: y = x * noise (noise broadcasting), recorded with the noise saved. */
static tc_tensor *apply_noise(const tc_tensor *x, tc_tensor *noise) {
  tc_no_grad_push();
  tc_tensor *y = tc_mul(x, noise);
  tc_no_grad_pop();
  y = tc__record(y, "MulBackward0", dropout_backward, 1, &x, 1, (const tc_tensor *const *)&noise, NULL, 0);
  tc_tensor_release(noise);
  return y;
}

/* On a device: contiguous noise from the backend's Philox draw, keyed by the generator's seed at
 * its device offset (advanced past this draw's counters). */
static tc_tensor *device_noise(const tc_tensor *x, const int64_t *shape, double p, tc_generator *gen) {
  const tc__device_api *api = tc__backend(x);
  if (!api || !api->bernoulli_scaled) {
    tc__kernel_missing("tc_dropout", x);
    return NULL;
  }
  tc_tensor *noise = tc__empty(shape ? shape : x->sizes, x->ndim, x->dtype, x->storage->device);
  if (!noise) return NULL;
  int64_t n = tc__numel(noise->sizes, noise->ndim);
  tc_generator *g = tc__gen_or_default(gen);
  tc__gen_lock(g);
  uint64_t seed = g->seed, offset = g->philox_offset;
  g->philox_offset += (uint64_t)((n + 3) / 4);
  tc__gen_unlock(g);
  if (api->bernoulli_scaled(tc__dev_index(x), x->dtype, tc__ptr(noise), n, 1.0 - p, keep_value(x->dtype, p), seed,
                            offset)) {
    tc_tensor_release(noise);
    return NULL;
  }
  return noise;
}

/* noise of the given shape (or like x when shape is NULL), 0 or 1/(1-p), drawn from gen. */
static tc_tensor *draw_noise(const tc_tensor *x, const int64_t *shape, double p, tc_generator *gen) {
  if (!tc__is_cpu(x)) return device_noise(x, shape, p, gen);
  tc_tensor *noise = shape ? tc__empty(shape, x->ndim, x->dtype, x->storage->device) : empty_like_dense(x);
  if (!noise) return NULL;
  if (tc_bernoulli_inplace(noise, 1.0 - p, gen)) {
    tc_tensor_release(noise);
    return NULL;
  }
  scale_noise(noise, keep_value(x->dtype, p));
  return noise;
}

static tc_status check_float(const char *fn, const tc_tensor *x) {
  if (tc_dtype_is_floating(x->dtype)) return TC_OK;
  return tc__error(TC_ERR_DTYPE, "%s: expected a floating-point input, got %s", fn, tc_dtype_name(x->dtype));
}

/* x * 0 as PyTorch's p = 1 branch (multiply by a 0-d zero). */
static tc_tensor *drop_all(const tc_tensor *x) {
  tc_tensor *zero = tc__empty(NULL, 0, x->dtype, x->storage->device);
  if (!zero || tc__fill(zero, 0.0)) {
    tc_tensor_release(zero);
    return NULL;
  }
  return apply_noise(x, zero);
}

tc_tensor *tc_dropout(const tc_tensor *x, double p, bool training, tc_generator *gen) {
  const char *fn = "tc_dropout";
  TC__NONNULL_T(x, fn);
  if (check_p(fn, p)) return NULL;
  if (p == 0.0 || !training || tc__numel(x->sizes, x->ndim) == 0) return alias(x);
  if (check_float(fn, x)) return NULL;
  if (p == 1.0) return drop_all(x);
  tc_tensor *noise = draw_noise(x, NULL, p, gen);
  return noise ? apply_noise(x, noise) : NULL;
}

tc_tensor *tc_dropout2d(const tc_tensor *x, double p, bool training, tc_generator *gen) {
  const char *fn = "tc_dropout2d";
  TC__NONNULL_T(x, fn);
  if (check_p(fn, p)) return NULL;
  if (p == 0.0 || !training || tc__numel(x->sizes, x->ndim) == 0) return alias(x);
  if (check_float(fn, x)) return NULL;
  if (p == 1.0) return drop_all(x);
  if (x->ndim < 2) { /* checked where PyTorch makes the noise */
    tc__error(TC_ERR_SHAPE, "%s: feature dropout needs at least 2 dims (N, C, *), got %s", fn, tc__tshape(x));
    return NULL;
  }
  int64_t shape[TC_MAX_DIMS]; /* (N, C, 1, ..., 1) */
  for (int d = 0; d < x->ndim; d++) shape[d] = d < 2 ? x->sizes[d] : 1;
  tc_tensor *noise = draw_noise(x, shape, p, gen);
  return noise ? apply_noise(x, noise) : NULL;
}
