/* core/src/softmax.c — softmax and log_softmax along a dim.
 *
 * Numerically stable, as PyTorch: m = max over the dim, s = sum(exp(x - m)); softmax = exp(x - m)
 * * (1 / s), log_softmax = x - m - log(s). A row with NaN or with every value -inf gives NaN.
 * Floating inputs only (PyTorch has no integer kernel); f16/bf16 compute in float32.
 *
 * The input is viewed as (outer, D, inner) (a contiguous copy first when needed). inner == 1: each
 * row takes three passes (max; exp, store and sum; scale) while it sits in L1/L2; blocks of rows
 * are taken in turn by the pool's threads (log_softmax stores x - m in the second pass and
 * subtracts log(s) in the third).
 * inner > 1: blocks of up to 512 adjacent columns run the same three passes, vectorised across the
 * columns. float32 uses the vectorisable tc__expf. Results never depend on the thread count.
 */
#include "reduce_impl.h"

#define LANES 32
#define IBLK 512 /* adjacent columns of a non-last-dim softmax done together */

typedef struct {
  const char *x;
  char *y;
  int64_t outer, d, inner, nblocks;
  bool log;
} sm_ctx;

/* A plain max (a single vector instruction): a NaN anywhere in a row still makes the whole row NaN,
 * because it reaches the sum of exponentials (or the max itself). */
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define DEF_SOFTMAX(NAME, T, EXP, LOG)                                                          \
  static void NAME##_row(const T *restrict x, T *restrict y, int64_t D, bool lg) {              \
    T mx[LANES], sm[LANES];                                                                     \
    int64_t i = 0, full = D - D % LANES;                                                        \
    for (int j = 0; j < LANES; j++) mx[j] = -INFINITY, sm[j] = 0;                               \
    for (; i < full; i += LANES)                                                                \
      for (int j = 0; j < LANES; j++) mx[j] = MAX(mx[j], x[i + j]);                             \
    for (int j = 0; i + j < D; j++) mx[j] = MAX(mx[j], x[i + j]);                               \
    _Pragma("GCC unroll 8") for (int w = LANES / 2; w >= 1; w /= 2)                             \
      for (int j = 0; j < w; j++) mx[j] = MAX(mx[j], mx[j + w]);                                \
    const T m = mx[0];                                                                          \
    if (lg) { /* store x - m now, while the exponentials keep the core busy */                  \
      for (i = 0; i < full; i += LANES)                                                         \
        for (int j = 0; j < LANES; j++) {                                                       \
          T d = x[i + j] - m;                                                                   \
          y[i + j] = d;                                                                         \
          sm[j] += EXP(d);                                                                      \
        }                                                                                       \
    } else {                                                                                    \
      for (i = 0; i < full; i += LANES)                                                         \
        for (int j = 0; j < LANES; j++) {                                                       \
          T v = EXP(x[i + j] - m);                                                              \
          y[i + j] = v;                                                                         \
          sm[j] += v;                                                                           \
        }                                                                                       \
    }                                                                                           \
    for (int j = 0; i + j < D; j++) {                                                           \
      T d = x[i + j] - m, v = EXP(d);                                                           \
      y[i + j] = lg ? d : v;                                                                    \
      sm[j] += v;                                                                               \
    }                                                                                           \
    _Pragma("GCC unroll 8") for (int w = LANES / 2; w >= 1; w /= 2)                             \
      for (int j = 0; j < w; j++) sm[j] += sm[j + w];                                           \
    if (lg) {                                                                                   \
      const T ls = LOG(sm[0]);                                                                  \
      for (i = 0; i < D; i++) y[i] = y[i] - ls;                                                 \
    } else {                                                                                    \
      const T inv = (T)1 / sm[0];                                                               \
      for (i = 0; i < D; i++) y[i] = y[i] * inv;                                                \
    }                                                                                           \
  }                                                                                             \
  /* w <= IBLK adjacent columns (stride 1) over D rows of stride in */                          \
  static void NAME##_cols(const T *x, T *y, int64_t D, int64_t in, int64_t w, bool lg) {        \
    T m[IBLK], s[IBLK];                                                                         \
    for (int64_t j = 0; j < w; j++) m[j] = -INFINITY, s[j] = 0;                                 \
    for (int64_t i = 0; i < D; i++)                                                             \
      for (int64_t j = 0; j < w; j++) m[j] = MAX(m[j], x[i * in + j]);                          \
    for (int64_t i = 0; i < D; i++)                                                             \
      for (int64_t j = 0; j < w; j++) {                                                         \
        T v = EXP(x[i * in + j] - m[j]);                                                        \
        if (!lg) y[i * in + j] = v;                                                             \
        s[j] += v;                                                                              \
      }                                                                                         \
    if (lg) {                                                                                   \
      for (int64_t j = 0; j < w; j++) s[j] = LOG(s[j]);                                         \
      for (int64_t i = 0; i < D; i++)                                                           \
        for (int64_t j = 0; j < w; j++) y[i * in + j] = x[i * in + j] - m[j] - s[j];            \
    } else {                                                                                    \
      for (int64_t j = 0; j < w; j++) s[j] = (T)1 / s[j];                                       \
      for (int64_t i = 0; i < D; i++)                                                           \
        for (int64_t j = 0; j < w; j++) y[i * in + j] = y[i * in + j] * s[j];                   \
    }                                                                                           \
  }                                                                                             \
  static void NAME##_task(int64_t b, int64_t e, void *vctx) {                                   \
    const sm_ctx *c = vctx;                                                                     \
    const T *x = (const T *)(const void *)c->x;                                                 \
    T *y = (T *)(void *)c->y;                                                                   \
    if (c->inner == 1) {                                                                        \
      for (int64_t o = b; o < e; o++) NAME##_row(x + o * c->d, y + o * c->d, c->d, c->log);     \
      return;                                                                                   \
    }                                                                                           \
    for (int64_t t = b; t < e; t++) {                                                           \
      int64_t o = t / c->nblocks, j0 = (t % c->nblocks) * IBLK;                                 \
      int64_t w = c->inner - j0 < IBLK ? c->inner - j0 : IBLK;                                  \
      int64_t off = o * c->d * c->inner + j0;                                                   \
      NAME##_cols(x + off, y + off, c->d, c->inner, w, c->log);                                 \
    }                                                                                           \
  }

DEF_SOFTMAX(sm_f, float, tc__expf, logf)
DEF_SOFTMAX(sm_d, double, exp, log)

/* On a device: the dim moved last (a contiguous copy unless it already is), the backend's row
 * kernel in the input dtype, and the result moved back (a view, made contiguous). */
static tc_tensor *swapped(const tc_tensor *t, int a, int b) { /* a view with dims a and b exchanged, unrecorded */
  int64_t sz[TC_MAX_DIMS], st[TC_MAX_DIMS];
  memcpy(sz, t->sizes, sizeof sz);
  memcpy(st, t->strides, sizeof st);
  sz[a] = t->sizes[b], sz[b] = t->sizes[a], st[a] = t->strides[b], st[b] = t->strides[a];
  return tc__view(t, sz, st, t->ndim, t->offset);
}

static tc_tensor *device_softmax(const char *fn, const tc_tensor *t, int64_t dim, bool lg) {
  const tc__device_api *api = tc__backend(t);
  if (!api || !api->softmax) {
    tc__kernel_missing(fn, t);
    return NULL;
  }
  int nd = t->ndim, last = nd ? nd - 1 : 0;
  tc_tensor *moved = swapped(t, (int)dim, last);
  tc_tensor *src = moved && !tc__is_contiguous(moved) ? tc__to_dtype_contig(moved, moved->dtype) : tc_tensor_retain(moved);
  tc_tensor *out = src ? tc__empty(src->sizes, nd, t->dtype, t->storage->device) : NULL;
  int64_t d = nd ? t->sizes[dim] : 1, n = tc__numel(t->sizes, nd);
  if (out && n > 0 && api->softmax(tc__dev_index(t), t->dtype, tc__ptr(src), tc__ptr(out), n / d, d, lg)) {
    tc_tensor_release(out);
    out = NULL;
  }
  tc_tensor_release(src);
  tc_tensor_release(moved);
  if (!out || !nd || dim == last) return out;
  tc_tensor *back = swapped(out, (int)dim, last);
  tc_tensor *r = back ? tc__to_dtype_contig(back, back->dtype) : NULL;
  tc_tensor_release(back);
  tc_tensor_release(out);
  return r;
}

static tc_tensor *softmax_impl(const char *fn, const tc_tensor *t, int64_t dim, bool lg) {
  TC__NONNULL_T(t, fn);
  if (tc__wrap_dim(fn, &dim, t->ndim)) return NULL;
  if (!tc_dtype_is_floating(t->dtype)) {
    tc__error(TC_ERR_DTYPE, "%s: needs a floating point input, got %s", fn, tc_dtype_name(t->dtype));
    return NULL;
  }
  if (!tc__is_cpu(t)) return device_softmax(fn, t, dim, lg);
  tc_dtype cd = tc__compute_dtype(t->dtype);
  tc_tensor *src = (t->dtype == cd && tc__is_contiguous(t)) ? tc_tensor_retain((tc_tensor *)t)
                                                             : tc__to_dtype_contig(t, cd);
  if (!src) return NULL;
  tc_tensor *out = tc__empty(t->sizes, t->ndim, cd, t->storage->device);
  if (out && tc__numel(t->sizes, t->ndim) > 0) {
    sm_ctx c;
    c.x = tc__ptr(src);
    c.y = tc__ptr(out);
    c.log = lg;
    c.outer = 1;
    c.inner = 1;
    c.d = t->ndim ? t->sizes[dim] : 1;
    for (int i = 0; i < t->ndim; i++) {
      if (i < dim) c.outer *= t->sizes[i];
      if (i > dim) c.inner *= t->sizes[i];
    }
    c.nblocks = (c.inner + IBLK - 1) / IBLK;
    int64_t tasks = c.inner == 1 ? c.outer : c.outer * c.nblocks;
    int64_t per = c.d * (c.inner == 1 ? 1 : IBLK) * 4, grain = TC__GRAIN_ELEMENTWISE / per;
    tc__dyn_for(tasks, grain, cd == TC_F32 ? sm_f_task : sm_d_task, &c);
  }
  tc_tensor_release(src);
  if (!out || t->dtype == cd) return out;
  tc_tensor *r = tc__to_dtype_contig(out, t->dtype);
  tc_tensor_release(out);
  return r;
}

tc_tensor *tc__softmax_fwd(const tc_tensor *t, int64_t dim) { return softmax_impl("tc_softmax", t, dim, false); }
tc_tensor *tc__log_softmax_fwd(const tc_tensor *t, int64_t dim) { return softmax_impl("tc_log_softmax", t, dim, true); }
