/* core/src/reduce_minmax.c — max/min over everything, max/min along a dim with indices, argmax,
 * argmin.
 *
 * PyTorch's rules: values keep the input dtype; indices are int64 and point at the first
 * occurrence of the extreme; NaN wins (the value is NaN and the index that of the first NaN);
 * reducing an empty dim is an error (there is no identity), a 0-d input reduces over dim 0 / -1.
 * f16/bf16 compute in float32 and integer/bool dtypes in int64 (exact both ways).
 *
 * Along a dim, each output element is scanned in order by one thread (so ties and NaNs resolve to
 * the first index whatever the thread count): contiguous runs find the extreme with the vectorised
 * max/min kernel and then its first position; when the output's inner dim is the contiguous one,
 * blocks of 256 adjacent outputs are scanned together, vectorised across the columns.
 */
#include "reduce_impl.h"

static int kidx(tc_dtype d) { return d == TC_F32 ? 0 : d == TC_F64 ? 1 : 2; }

static tc_dtype compute_dtype(tc_dtype d) { return tc_dtype_is_floating(d) ? tc__compute_dtype(d) : TC_I64; }

static tc_tensor *as_dtype(const tc_tensor *t, tc_dtype d) {
  if (t->dtype == d) return tc_tensor_retain((tc_tensor *)t);
  return tc__to_dtype_contig(t, d);
}

static tc_tensor *finish(tc_tensor *r, tc_dtype d) {
  if (!r || r->dtype == d) return r;
  tc_tensor *c = tc__to_dtype_contig(r, d);
  tc_tensor_release(r);
  return c;
}

static tc_status check_input(const char *fn, const tc_tensor *t) {
  if (t->dtype == TC_C64) return tc__error(TC_ERR_DTYPE, "%s: complex64 input is not supported", fn);
  return TC_OK;
}

/* ---- max / min over everything ---------------------------------------------------------------- */

static tc_tensor *extreme_all(const char *fn, const tc_tensor *t, bool is_max) {
  TC__NONNULL_T(t, fn);
  if (check_input(fn, t)) return NULL;
  if (tc__numel(t->sizes, t->ndim) == 0) {
    tc__error(TC_ERR_ARG,
              "%s: expected a non-empty input (shape %s) when no dim is given: there is no identity; "
              "reduce along a dim instead",
              fn, tc__tshape(t));
    return NULL;
  }
  tc__rshape rs;
  if (tc__reduce_dims(fn, t, NULL, 0, false, &rs)) return NULL;
  if (!tc__is_cpu(t)) return tc__device_reduce(fn, t, &rs, is_max ? TC__RED_MAX : TC__RED_MIN, t->dtype);
  tc_dtype cd = compute_dtype(t->dtype);
  tc_tensor *src = as_dtype(t, cd);
  if (!src) return NULL;
  tc_tensor *out = tc__empty(NULL, 0, cd, t->storage->device);
  const tc__rkern *k = is_max ? &tc__rk_max[kidx(cd)] : &tc__rk_min[kidx(cd)];
  if (out && tc__reduce_run(k, src, rs.mask, NULL, 0, tc__ptr(out)) != TC_OK) {
    tc_tensor_release(out);
    out = NULL;
  }
  tc_tensor_release(src);
  return finish(out, t->dtype);
}

tc_tensor *tc__max_fwd(const tc_tensor *t) { return extreme_all("tc_max", t, true); }
tc_tensor *tc__min_fwd(const tc_tensor *t) { return extreme_all("tc_min", t, false); }

/* ---- value and first index along one run -------------------------------------------------------
 * BETTER(v, b): v replaces the current best b. Once the best is NaN nothing replaces it. */
#define B_MAXF(v, b) ((v) > (b) || ((v) != (v) && (b) == (b)))
#define B_MINF(v, b) ((v) < (b) || ((v) != (v) && (b) == (b)))
#define B_MAXI(v, b) ((v) > (b))
#define B_MINI(v, b) ((v) < (b))
#define COLW 256 /* adjacent outputs scanned together (1-2 KB of each row) */

#define DEF_SCAN(NAME, T, BETTER, KI, KERN)                                                                \
  static void NAME##_row(const T *x, int64_t n, int64_t s, T *val, int64_t *idx) {                         \
    T best = x[0];                                                                                         \
    int64_t bi = 0;                                                                                        \
    if (s == 1 && n >= 64) {                                                                               \
      /* the extreme with the vectorised kernel, then its first position */                               \
      for (int64_t c = 0; c < n; c += TC__RED_CHUNK) {                                                     \
        T part;                                                                                            \
        int64_t len = n - c < TC__RED_CHUNK ? n - c : TC__RED_CHUNK;                                       \
        KERN[KI].chunk((const char *)(x + c), len, 1, NULL, 0, &part);                                     \
        if (c == 0) best = part;                                                                           \
        else KERN[KI].combine(&best, &part);                                                               \
      }                                                                                                    \
      if (best != best) {                                                                                  \
        while (x[bi] == x[bi]) bi++;                                                                       \
      } else {                                                                                             \
        while (x[bi] != best) bi++;                                                                        \
      }                                                                                                    \
      best = x[bi];                                                                                        \
    } else if (best == best) {                                                                             \
      for (int64_t i = 1; i < n; i++) {                                                                    \
        T v = x[i * s];                                                                                    \
        if (BETTER(v, best)) {                                                                             \
          best = v;                                                                                        \
          bi = i;                                                                                          \
          if (v != v) break;                                                                               \
        }                                                                                                  \
      }                                                                                                    \
    }                                                                                                      \
    *val = best;                                                                                           \
    *idx = bi;                                                                                             \
  }                                                                                                        \
  static void NAME##_cols(const T *x, int64_t n, int64_t rs, int64_t w, T *val, int64_t *idx) {            \
    T best[COLW];                                                                                          \
    int64_t bi[COLW];                                                                                      \
    for (int64_t j = 0; j < w; j++) best[j] = x[j], bi[j] = 0;                                             \
    for (int64_t r = 1; r < n; r++) {                                                                      \
      const T *xr = x + r * rs;                                                                            \
      for (int64_t j = 0; j < w; j++) {                                                                    \
        T v = xr[j];                                                                                       \
        bool u = BETTER(v, best[j]);                                                                       \
        best[j] = u ? v : best[j];                                                                         \
        bi[j] = u ? r : bi[j];                                                                             \
      }                                                                                                    \
    }                                                                                                      \
    for (int64_t j = 0; j < w; j++) val[j] = best[j], idx[j] = bi[j];                                      \
  }

DEF_SCAN(max_f, float, B_MAXF, 0, tc__rk_max)
DEF_SCAN(max_d, double, B_MAXF, 1, tc__rk_max)
DEF_SCAN(max_i, int64_t, B_MAXI, 2, tc__rk_max)
DEF_SCAN(min_f, float, B_MINF, 0, tc__rk_min)
DEF_SCAN(min_d, double, B_MINF, 1, tc__rk_min)
DEF_SCAN(min_i, int64_t, B_MINI, 2, tc__rk_min)

static void scan_row(bool is_max, int ki, const void *x, int64_t n, int64_t s, void *val, int64_t *idx) {
  switch (ki + 3 * is_max) {
    case 0: min_f_row(x, n, s, val, idx); break;
    case 1: min_d_row(x, n, s, val, idx); break;
    case 2: min_i_row(x, n, s, val, idx); break;
    case 3: max_f_row(x, n, s, val, idx); break;
    case 4: max_d_row(x, n, s, val, idx); break;
    default: max_i_row(x, n, s, val, idx); break;
  }
}

static void scan_cols(bool is_max, int ki, const void *x, int64_t n, int64_t rs, int64_t w, void *val, int64_t *idx) {
  switch (ki + 3 * is_max) {
    case 0: min_f_cols(x, n, rs, w, val, idx); break;
    case 1: min_d_cols(x, n, rs, w, val, idx); break;
    case 2: min_i_cols(x, n, rs, w, val, idx); break;
    case 3: max_f_cols(x, n, rs, w, val, idx); break;
    case 4: max_d_cols(x, n, rs, w, val, idx); break;
    default: max_i_cols(x, n, rs, w, val, idx); break;
  }
}

/* ---- driver along one dim ----------------------------------------------------------------------- */

typedef struct {
  bool is_max;
  int ki;
  size_t es;
  const char *base;
  int no; /* output dims, coalesced */
  int64_t osize[TC_MAX_DIMS], ostride[TC_MAX_DIMS];
  int64_t n, s;             /* the reduced run */
  int64_t ncols, nblocks;   /* columns layout */
  char *val;                /* onumel values (compute dtype) */
  int64_t *idx;             /* onumel indices */
} dim_plan;

static void dim_rows_task(int64_t b, int64_t e, void *ctx) {
  const dim_plan *p = ctx;
  int64_t idx[TC_MAX_DIMS], off = 0, rem = b;
  for (int d = p->no - 1; d >= 0; d--) {
    idx[d] = rem % p->osize[d];
    rem /= p->osize[d];
    off += idx[d] * p->ostride[d];
  }
  for (int64_t o = b; o < e; o++) {
    scan_row(p->is_max, p->ki, p->base + off * (int64_t)p->es, p->n, p->s, p->val + o * (int64_t)p->es, p->idx + o);
    for (int d = p->no - 1; d >= 0; d--) {
      off += p->ostride[d];
      if (++idx[d] < p->osize[d]) break;
      off -= p->osize[d] * p->ostride[d];
      idx[d] = 0;
    }
  }
}

static void dim_cols_task(int64_t b, int64_t e, void *ctx) {
  const dim_plan *p = ctx;
  for (int64_t t = b; t < e; t++) {
    int64_t outer = t / p->nblocks, c0 = (t % p->nblocks) * COLW;
    int64_t w = p->ncols - c0 < COLW ? p->ncols - c0 : COLW;
    int64_t off = c0, rem = outer;
    for (int d = p->no - 2; d >= 0; d--) {
      off += (rem % p->osize[d]) * p->ostride[d];
      rem /= p->osize[d];
    }
    int64_t o = outer * p->ncols + c0;
    scan_cols(p->is_max, p->ki, p->base + off * (int64_t)p->es, p->n, p->s, w, p->val + o * (int64_t)p->es,
              p->idx + o);
  }
}

/* values (compute dtype) and indices of src reduced over the single dim in mask (none: 0-d). */
static void run_dim(const tc_tensor *src, const bool *mask, bool is_max, void *val, int64_t *idx) {
  dim_plan p;
  p.is_max = is_max;
  p.ki = kidx(src->dtype);
  p.es = tc_dtype_size(src->dtype);
  p.base = tc__ptr(src);
  p.val = val;
  p.idx = idx;
  p.no = 0;
  p.n = 1;
  p.s = 1;
  int64_t onumel = 1;
  for (int d = 0; d < src->ndim; d++) {
    int64_t sz = src->sizes[d], st = src->strides[d];
    if (mask[d]) {
      p.n = sz;
      p.s = st;
      continue;
    }
    onumel *= sz;
    if (sz == 1) continue;
    if (p.no > 0 && p.ostride[p.no - 1] == st * sz) {
      p.osize[p.no - 1] *= sz;
      p.ostride[p.no - 1] = st;
    } else {
      p.osize[p.no] = sz;
      p.ostride[p.no++] = st;
    }
  }
  if (p.n == 1) p.s = 1;
  if (p.no >= 1 && p.ostride[p.no - 1] == 1 && p.s != 1) {
    p.ncols = p.osize[p.no - 1];
    p.nblocks = (p.ncols + COLW - 1) / COLW;
    int64_t tasks = (onumel / p.ncols) * p.nblocks, grain = TC__RED_GRAIN / (p.n * COLW);
    tc__dyn_for(tasks, grain, dim_cols_task, &p);
  } else {
    int64_t grain = TC__RED_GRAIN / p.n;
    tc__dyn_for(onumel, grain, dim_rows_task, &p);
  }
}

/* tc__reduce_dim1, refusing a dim of size 0 (max/min have no identity). */
static tc_status reduce_dim1_nonempty(const char *fn, const tc_tensor *t, int64_t dim, bool keepdim, tc__rshape *rs) {
  if (tc__reduce_dim1(fn, t, dim, keepdim, rs)) return tc_last_status();
  if (rs->rnumel > 0) return TC_OK;
  int64_t d = dim < 0 ? dim + t->ndim : dim;
  return tc__error(TC_ERR_ARG, "%s: cannot reduce dim %lld of size 0 (input shape %s): there is no identity", fn,
                   (long long)d, tc__tshape(t));
}

/* On a device: the reduced dim last and contiguous, then the backend's (value, first index) rows. */
static tc_status device_extreme_dim(const char *fn, const tc_tensor *t, int64_t dim, bool keepdim, bool is_max,
                                    tc_tensor **values, tc_tensor **indices) {
  const tc__device_api *api = tc__backend(t);
  if (!api || !api->arg_reduce_rows) return tc__kernel_missing(fn, t);
  tc__rshape rs;
  if (dim == TC_ALL_DIMS) {
    if (tc__numel(t->sizes, t->ndim) == 0)
      return tc__error(TC_ERR_ARG, "%s: expected a non-empty input (shape %s) when no dim is given", fn,
                       tc__tshape(t));
    if (tc__reduce_dims(fn, t, NULL, 0, keepdim, &rs)) return tc_last_status();
  } else {
    if (reduce_dim1_nonempty(fn, t, dim, keepdim, &rs)) return tc_last_status();
  }
  tc_tensor *c = tc__reduced_last(t, &rs);
  tc_tensor *val = c && values ? tc__empty(rs.out_shape, rs.out_ndim, t->dtype, t->storage->device) : NULL;
  tc_tensor *idx = c && (val || !values) ? tc__empty(rs.out_shape, rs.out_ndim, TC_I64, t->storage->device) : NULL;
  tc_status st = idx ? TC_OK : tc_last_status();
  if (!st && rs.onumel > 0)
    st = api->arg_reduce_rows(tc__dev_index(t), is_max, t->dtype, tc__ptr(c), rs.onumel, rs.rnumel,
                              val ? tc__ptr(val) : NULL, (int64_t *)(void *)tc__ptr(idx));
  tc_tensor_release(c);
  if (st) {
    tc_tensor_release(val);
    tc_tensor_release(idx);
    return st;
  }
  if (values) *values = val;
  if (indices) *indices = idx;
  else tc_tensor_release(idx);
  return TC_OK;
}

/* Shared by max_dim/min_dim/argmax/argmin. dim == TC_ALL_DIMS (argmax only) flattens first. */
static tc_status extreme_dim(const char *fn, const tc_tensor *t, int64_t dim, bool keepdim, bool is_max,
                             tc_tensor **values, tc_tensor **indices) {
  if (values) *values = NULL;
  if (indices) *indices = NULL;
  TC__NONNULL_S(t, fn);
  if (check_input(fn, t)) return tc_last_status();
  if (!tc__is_cpu(t)) return device_extreme_dim(fn, t, dim, keepdim, is_max, values, indices);
  tc_dtype cd = compute_dtype(t->dtype);
  tc__rshape rs;
  tc_tensor *src;
  if (dim == TC_ALL_DIMS) {
    int64_t numel = tc__numel(t->sizes, t->ndim);
    if (numel == 0)
      return tc__error(TC_ERR_ARG, "%s: expected a non-empty input (shape %s) when no dim is given", fn,
                       tc__tshape(t));
    tc_tensor *c = tc__is_contiguous(t) ? as_dtype(t, cd) : tc__to_dtype_contig(t, cd);
    if (!c) return tc_last_status();
    int64_t st = 1;
    src = tc__view(c, &numel, &st, 1, c->offset);
    tc_tensor_release(c);
    if (!src) return tc_last_status();
    memset(&rs, 0, sizeof rs);
    rs.mask[0] = true;
    rs.onumel = 1;
    rs.rnumel = numel;
    rs.out_ndim = keepdim ? t->ndim : 0;
    for (int d = 0; d < rs.out_ndim; d++) rs.out_shape[d] = 1;
  } else {
    if (reduce_dim1_nonempty(fn, t, dim, keepdim, &rs)) return tc_last_status();
    src = as_dtype(t, cd);
    if (!src) return tc_last_status();
  }
  tc_tensor *val = tc__empty(rs.out_shape, rs.out_ndim, cd, t->storage->device);
  tc_tensor *idx = val ? tc__empty(rs.out_shape, rs.out_ndim, TC_I64, t->storage->device) : NULL;
  if (idx && rs.onumel > 0) run_dim(src, rs.mask, is_max, tc__ptr(val), (int64_t *)(void *)tc__ptr(idx));
  tc_tensor_release(src);
  if (!idx) {
    tc_tensor_release(val);
    return tc_last_status();
  }
  if (values) {
    val = finish(val, t->dtype);
    if (!val) {
      tc_tensor_release(idx);
      return tc_last_status();
    }
    *values = val;
  } else {
    tc_tensor_release(val);
  }
  if (indices) *indices = idx;
  else tc_tensor_release(idx);
  return TC_OK;
}

/* TC_ALL_DIMS is for argmax/argmin only (max/min over everything is tc_max/tc_min). */
static tc_status no_all_dims(const char *fn, tc_tensor **values, tc_tensor **indices) {
  if (values) *values = NULL;
  if (indices) *indices = NULL;
  return tc__error(TC_ERR_ARG, "%s: dim TC_ALL_DIMS is not accepted here (use %s)", fn,
                   strcmp(fn, "tc_max_dim") == 0 ? "tc_max" : "tc_min");
}

tc_status tc__max_dim_fwd(const tc_tensor *t, int64_t dim, bool keepdim, tc_tensor **values, tc_tensor **indices) {
  if (dim == TC_ALL_DIMS) return no_all_dims("tc_max_dim", values, indices);
  return extreme_dim("tc_max_dim", t, dim, keepdim, true, values, indices);
}

tc_status tc__min_dim_fwd(const tc_tensor *t, int64_t dim, bool keepdim, tc_tensor **values, tc_tensor **indices) {
  if (dim == TC_ALL_DIMS) return no_all_dims("tc_min_dim", values, indices);
  return extreme_dim("tc_min_dim", t, dim, keepdim, false, values, indices);
}

/* PyTorch has no argmax/argmin for bool (max/min along a dim accept it). */
static tc_status no_bool(const char *fn, const tc_tensor *t) {
  if (t && t->dtype == TC_BOOL) return tc__error(TC_ERR_DTYPE, "%s: does not support bool input", fn);
  return TC_OK;
}

tc_tensor *tc_argmax(const tc_tensor *t, int64_t dim, bool keepdim) {
  tc_tensor *idx = NULL;
  if (no_bool("tc_argmax", t)) return NULL;
  if (extreme_dim("tc_argmax", t, dim, keepdim, true, NULL, &idx)) return NULL;
  return idx;
}

tc_tensor *tc_argmin(const tc_tensor *t, int64_t dim, bool keepdim) {
  tc_tensor *idx = NULL;
  if (no_bool("tc_argmin", t)) return NULL;
  if (extreme_dim("tc_argmin", t, dim, keepdim, false, NULL, &idx)) return NULL;
  return idx;
}
