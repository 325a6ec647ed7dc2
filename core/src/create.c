/* core/src/create.c — constant factories: empty, zeros, ones, full, scalar_tensor, arange,
 * linspace, logspace, eye, and the *_like forms. Random factories are in random_ops.c. */
#include <math.h>
#include "internal.h"

static tc_tensor *make(const char *fn, const int64_t *shape, int64_t ndim, const tc_options *opt, tc_dtype dflt) {
  if (ndim < 0 || ndim > TC_MAX_DIMS) {
    tc__error(TC_ERR_ARG, "%s: ndim %lld out of range [0, %d]", fn, (long long)ndim, TC_MAX_DIMS);
    return NULL;
  }
  if (ndim && !shape) {
    tc__error(TC_ERR_ARG, "%s: shape is NULL with ndim %lld", fn, (long long)ndim);
    return NULL;
  }
  for (int64_t i = 0; i < ndim; i++)
    if (shape[i] < 0) {
      tc__error(TC_ERR_SHAPE, "%s: negative size %lld in shape %s", fn, (long long)shape[i],
                tc__shape_str(shape, (int)ndim));
      return NULL;
    }
  return tc__empty(shape, (int)ndim, tc__opt_dtype(opt, dflt), tc__opt_device(opt));
}

static tc_tensor *filled(const char *fn, const int64_t *shape, int64_t ndim, const tc_options *opt, double v) {
  tc_tensor *t = make(fn, shape, ndim, opt, TC_F32);
  if (t && tc_fill_inplace(t, v)) {
    tc_tensor_release(t);
    return NULL;
  }
  return t;
}

tc_tensor *tc_empty(const int64_t *shape, int64_t ndim, const tc_options *opt) {
  return make("tc_empty", shape, ndim, opt, TC_F32);
}
tc_tensor *tc_zeros(const int64_t *shape, int64_t ndim, const tc_options *opt) {
  return filled("tc_zeros", shape, ndim, opt, 0.0);
}
tc_tensor *tc_ones(const int64_t *shape, int64_t ndim, const tc_options *opt) {
  return filled("tc_ones", shape, ndim, opt, 1.0);
}
tc_tensor *tc_full(const int64_t *shape, int64_t ndim, double value, const tc_options *opt) {
  return filled("tc_full", shape, ndim, opt, value);
}
tc_tensor *tc_scalar_tensor(double v, const tc_options *opt) { return filled("tc_scalar_tensor", NULL, 0, opt, v); }

/* *_like: keep t's dtype and device unless opt says otherwise */
tc_options tc__like_opts(const tc_tensor *t, const tc_options *opt) {
  tc_options o = {t->dtype, t->storage->device, NULL};
  if (opt) {
    if (opt->dtype != TC_DTYPE_DEFAULT) o.dtype = opt->dtype;
    o.device = opt->device;
    o.generator = opt->generator;
  }
  return o;
}

tc_tensor *tc_empty_like(const tc_tensor *t, const tc_options *opt) {
  TC__NONNULL_T(t, "tc_empty_like");
  tc_options o = tc__like_opts(t, opt);
  return tc_empty(t->sizes, t->ndim, &o);
}
tc_tensor *tc_zeros_like(const tc_tensor *t, const tc_options *opt) {
  TC__NONNULL_T(t, "tc_zeros_like");
  tc_options o = tc__like_opts(t, opt);
  return tc_zeros(t->sizes, t->ndim, &o);
}
tc_tensor *tc_ones_like(const tc_tensor *t, const tc_options *opt) {
  TC__NONNULL_T(t, "tc_ones_like");
  tc_options o = tc__like_opts(t, opt);
  return tc_ones(t->sizes, t->ndim, &o);
}
tc_tensor *tc_full_like(const tc_tensor *t, double value, const tc_options *opt) {
  TC__NONNULL_T(t, "tc_full_like");
  tc_options o = tc__like_opts(t, opt);
  return tc_full(t->sizes, t->ndim, value, &o);
}
/* Fills a fresh contiguous CPU tensor of numel n with v[i] = f(i), then moves it to the device. */
typedef double (*index_fn)(int64_t i, const double *p);

static tc_tensor *sequence(const char *fn, int64_t n, tc_dtype dtype, tc_device dev, index_fn f, const double *p) {
  if (tc__check_device(fn, dev)) return NULL;
  tc_tensor *t = tc__empty(&n, 1, dtype, tc_cpu());
  if (!t) return NULL;
  char *d = tc__ptr(t);
  size_t es = tc_dtype_size(dtype);
  if (dtype == TC_I64) {
    for (int64_t i = 0; i < n; i++) ((int64_t *)(void *)d)[i] = (int64_t)llround(f(i, p));
  } else {
    for (int64_t i = 0; i < n; i++) tc__store_double(d + (size_t)i * es, dtype, f(i, p));
  }
  if (dev.type == TC_DEVICE_CPU) return t;
  tc_tensor *moved = tc_tensor_to(t, dev);
  tc_tensor_release(t);
  return moved;
}

static double arange_at(int64_t i, const double *p) { return p[0] + (double)i * p[1]; }

tc_tensor *tc_arange(double start, double end, double step, const tc_options *opt) {
  const char *fn = "tc_arange";
  if (step == 0 || !isfinite(start) || !isfinite(end) || !isfinite(step)) {
    tc__error(TC_ERR_ARG, "%s: start %g, end %g and step %g must be finite and step nonzero", fn, start, end, step);
    return NULL;
  }
  if ((step > 0 && end < start) || (step < 0 && end > start)) {
    tc__error(TC_ERR_ARG, "%s: upper bound and larger bound inconsistent with step sign (start %g, end %g, step %g)",
              fn, start, end, step);
    return NULL;
  }
  bool integral = start == floor(start) && end == floor(end) && step == floor(step);
  tc_dtype dtype = tc__opt_dtype(opt, integral ? TC_I64 : TC_F32);
  double n = ceil((end - start) / step);
  if (n > (double)INT64_MAX / 16) {
    tc__error(TC_ERR_ARG, "%s: too many elements (%g)", fn, n);
    return NULL;
  }
  double p[2] = {start, step};
  if (dtype == TC_I64) {
    /* integer arange computes in integers, as PyTorch: exact for large values */
    int64_t cnt = (int64_t)n;
    tc_tensor *t = tc__empty(&cnt, 1, TC_I64, tc_cpu());
    if (!t) return NULL;
    int64_t s0 = (int64_t)start, st = (int64_t)step;
    int64_t *d = (int64_t *)(void *)tc__ptr(t);
    if (integral)
      for (int64_t i = 0; i < cnt; i++) d[i] = s0 + i * st;
    else
      for (int64_t i = 0; i < cnt; i++) d[i] = tc__double_to_i64(start + (double)i * step);
    tc_device dev = tc__opt_device(opt);
    if (dev.type == TC_DEVICE_CPU) return t;
    tc_tensor *moved = tc_tensor_to(t, dev);
    tc_tensor_release(t);
    return moved;
  }
  return sequence(fn, (int64_t)n, dtype, tc__opt_device(opt), arange_at, p);
}

/* linspace as PyTorch: the first half steps up from start, the second half steps down from end,
 * so both endpoints are exact. */
static double linspace_at(int64_t i, const double *p) {
  double start = p[0], end = p[1], step = p[2];
  int64_t steps = (int64_t)p[3], half = steps / 2;
  return i < half ? start + step * (double)i : end - step * (double)(steps - i - 1);
}

tc_tensor *tc_linspace(double start, double end, int64_t steps, const tc_options *opt) {
  if (steps < 0) {
    tc__error(TC_ERR_ARG, "tc_linspace: number of steps must be non-negative, got %lld", (long long)steps);
    return NULL;
  }
  tc_dtype dtype = tc__opt_dtype(opt, TC_F32);
  if (tc_dtype_is_integral(dtype, true)) {
    /* integer linspace: computed in double, truncated (as PyTorch for integral dtypes) */
    tc_options o = {TC_F64, tc_cpu(), NULL};
    tc_tensor *f = tc_linspace(start, end, steps, &o);
    if (!f) return NULL;
    tc_tensor *r = tc__to_dtype_contig(f, dtype);
    tc_tensor_release(f);
    if (!r || tc__opt_device(opt).type == TC_DEVICE_CPU) return r;
    tc_tensor *moved = tc_tensor_to(r, tc__opt_device(opt));
    tc_tensor_release(r);
    return moved;
  }
  double p[4] = {start, end, steps > 1 ? (end - start) / (double)(steps - 1) : 0, (double)steps};
  if (dtype == TC_F32) {
    /* compute in float as PyTorch does for float32, so the bits match */
    tc_tensor *t = tc__empty(&steps, 1, TC_F32, tc_cpu());
    if (!t) return NULL;
    float *d = (float *)(void *)tc__ptr(t);
    float fs = (float)start, fe = (float)end, st = steps > 1 ? (fe - fs) / (float)(steps - 1) : 0.f;
    int64_t half = steps / 2;
    for (int64_t i = 0; i < steps; i++) d[i] = i < half ? fs + st * (float)i : fe - st * (float)(steps - i - 1);
    tc_device dev = tc__opt_device(opt);
    if (dev.type == TC_DEVICE_CPU) return t;
    tc_tensor *moved = tc_tensor_to(t, dev);
    tc_tensor_release(t);
    return moved;
  }
  return sequence("tc_linspace", steps, dtype, tc__opt_device(opt), linspace_at, p);
}

tc_tensor *tc_logspace(double start, double end, int64_t steps, double base, const tc_options *opt) {
  tc_dtype dtype = tc__opt_dtype(opt, TC_F32);
  tc_options o = {dtype == TC_F64 ? TC_F64 : TC_F32, tc_cpu(), NULL};
  tc_tensor *lin = tc_linspace(start, end, steps, &o);
  if (!lin) return NULL;
  tc_tensor *t = tc__empty(&steps, 1, o.dtype, tc_cpu());
  if (!t) {
    tc_tensor_release(lin);
    return NULL;
  }
  if (o.dtype == TC_F64) {
    const double *a = (const double *)(void *)tc__ptr(lin);
    double *d = (double *)(void *)tc__ptr(t);
    for (int64_t i = 0; i < steps; i++) d[i] = pow(base, a[i]);
  } else {
    const float *a = (const float *)(void *)tc__ptr(lin);
    float *d = (float *)(void *)tc__ptr(t);
    for (int64_t i = 0; i < steps; i++) d[i] = powf((float)base, a[i]);
  }
  tc_tensor_release(lin);
  tc_tensor *r = t;
  if (dtype != o.dtype) {
    r = tc__to_dtype_contig(t, dtype);
    tc_tensor_release(t);
    if (!r) return NULL;
  }
  tc_device dev = tc__opt_device(opt);
  if (dev.type == TC_DEVICE_CPU) return r;
  tc_tensor *moved = tc_tensor_to(r, dev);
  tc_tensor_release(r);
  return moved;
}

tc_tensor *tc_eye(int64_t n, int64_t m, const tc_options *opt) {
  if (m < 0) m = n;
  if (n < 0) {
    tc__error(TC_ERR_ARG, "tc_eye: n must be non-negative, got %lld", (long long)n);
    return NULL;
  }
  tc_options o = {tc__opt_dtype(opt, TC_F32), tc_cpu(), NULL};
  int64_t shape[2] = {n, m};
  tc_tensor *t = tc_zeros(shape, 2, &o);
  if (!t) return NULL;
  size_t es = tc_dtype_size(o.dtype);
  char *d = tc__ptr(t);
  for (int64_t i = 0; i < n && i < m; i++) tc__store_double(d + (size_t)(i * m + i) * es, o.dtype, 1.0);
  tc_device dev = tc__opt_device(opt);
  if (dev.type == TC_DEVICE_CPU) return t;
  tc_tensor *moved = tc_tensor_to(t, dev);
  tc_tensor_release(t);
  return moved;
}
