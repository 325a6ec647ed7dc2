/* core/src/scan.c — cumsum and cumprod along a dim.
 *
 * As PyTorch's CPU kernel: the running value is kept in the accumulate type (double for float32
 * and float64, float for f16/bf16, int64 for integers and bool — which return int64) and each
 * output is the running value rounded to the result dtype. complex64 cumsum scans the (re, im)
 * pairs in double (PyTorch's complex<double> accumulate type).
 *
 * The input is viewed as (outer, D, inner) after a contiguous copy when needed. inner == 1: each
 * line is scanned by one thread, 8 lines interleaved; inner > 1: blocks of adjacent lines together,
 * vectorised across inner. Every output is a sequential scan, so results do not depend on the
 * thread count. On a device the backend's scan applies the same rules, one line per thread.
 */
#include "reduce_impl.h"

#define IBLK 512 /* inner lines scanned together */

typedef struct {
  const char *x;
  char *y;
  int64_t outer, d, inner, nblocks;
} scan_ctx;

/* NAME##_lines: lines [b, e) of (outer, inner) pairs; x, y contiguous (outer, D, inner). */
#define DEF_SCAN(NAME, T, A, OUT, INIT, OP)                                                      \
  static void NAME(int64_t b, int64_t e, void *vctx) {                                          \
    const scan_ctx *c = vctx;                                                                   \
    const T *x = (const T *)(const void *)c->x;                                                 \
    OUT *y = (OUT *)(void *)c->y;                                                               \
    int64_t D = c->d, in = c->inner;                                                            \
    if (in == 1) {                                                                              \
      int64_t o = b;                                                                            \
      /* 8 lines interleaved: independent dependency chains (each line still in order) */      \
      for (; o + 8 <= e; o += 8) {                                                              \
        const T *xl = x + o * D;                                                                \
        OUT *yl = y + o * D;                                                                    \
        A acc[8];                                                                               \
        for (int r = 0; r < 8; r++) acc[r] = INIT;                                              \
        for (int64_t i = 0; i < D; i++)                                                         \
          for (int r = 0; r < 8; r++) {                                                         \
            acc[r] = OP(acc[r], (A)xl[r * D + i]);                                              \
            yl[r * D + i] = (OUT)acc[r];                                                        \
          }                                                                                     \
      }                                                                                         \
      for (; o < e; o++) {                                                                      \
        const T *xl = x + o * D;                                                                \
        OUT *yl = y + o * D;                                                                    \
        A acc = INIT;                                                                           \
        for (int64_t i = 0; i < D; i++) {                                                       \
          acc = OP(acc, (A)xl[i]);                                                              \
          yl[i] = (OUT)acc;                                                                     \
        }                                                                                       \
      }                                                                                         \
      return;                                                                                   \
    }                                                                                           \
    for (int64_t t = b; t < e; t++) {                                                           \
      int64_t o = t / c->nblocks, j0 = (t % c->nblocks) * IBLK;                                 \
      int64_t w = in - j0 < IBLK ? in - j0 : IBLK;                                              \
      const T *xb = x + o * D * in + j0;                                                        \
      OUT *yb = y + o * D * in + j0;                                                            \
      A acc[IBLK];                                                                              \
      for (int64_t j = 0; j < w; j++) acc[j] = INIT;                                            \
      for (int64_t i = 0; i < D; i++)                                                           \
        for (int64_t j = 0; j < w; j++) {                                                       \
          acc[j] = OP(acc[j], (A)xb[i * in + j]);                                               \
          yb[i * in + j] = (OUT)acc[j];                                                         \
        }                                                                                       \
    }                                                                                           \
  }

#define OP_ADD(a, b) ((a) + (b))
#define OP_MUL(a, b) ((a) * (b))

DEF_SCAN(cumsum_f, float, double, float, 0.0, OP_ADD)
DEF_SCAN(cumsum_h, float, float, float, 0.0f, OP_ADD) /* f16/bf16 data widened to float32 */
DEF_SCAN(cumsum_d, double, double, double, 0.0, OP_ADD)
DEF_SCAN(cumsum_i, int64_t, uint64_t, int64_t, 0, OP_ADD) /* wraps modulo 2^64, as int64 */
DEF_SCAN(cumprod_f, float, double, float, 1.0, OP_MUL)
DEF_SCAN(cumprod_h, float, float, float, 1.0f, OP_MUL)
DEF_SCAN(cumprod_d, double, double, double, 1.0, OP_MUL)
DEF_SCAN(cumprod_i, int64_t, uint64_t, int64_t, 1, OP_MUL)

/* A float32 view of a complex64 tensor with a trailing (re, im) dim of 2. */
static tc_tensor *complex_as_pairs(const tc_tensor *t) {
  int64_t sizes[TC_MAX_DIMS], strides[TC_MAX_DIMS];
  if (t->ndim + 1 > TC_MAX_DIMS) {
    tc__error(TC_ERR_SHAPE, "tc_cumsum: complex input with %d dims is not supported", t->ndim);
    return NULL;
  }
  for (int d = 0; d < t->ndim; d++) sizes[d] = t->sizes[d], strides[d] = 2 * t->strides[d];
  sizes[t->ndim] = 2;
  strides[t->ndim] = 1;
  tc_tensor *v = tc__view(t, sizes, strides, t->ndim + 1, 2 * t->offset);
  if (v) v->dtype = TC_F32;
  return v;
}

/* Scans src (contiguous, compute dtype) along dim into y (contiguous, same shape). */
static void run_scan(tc_range_fn fn, const tc_tensor *src, int64_t dim, char *y) {
  scan_ctx c;
  c.x = tc__ptr(src);
  c.y = y;
  c.outer = 1;
  c.inner = 1;
  c.d = src->ndim ? src->sizes[dim] : 1;
  for (int i = 0; i < src->ndim; i++) {
    if (i < dim) c.outer *= src->sizes[i];
    if (i > dim) c.inner *= src->sizes[i];
  }
  if (c.outer * c.d * c.inner == 0) return;
  c.nblocks = (c.inner + IBLK - 1) / IBLK;
  int64_t tasks = c.inner == 1 ? c.outer : c.outer * c.nblocks;
  int64_t per = c.d * (c.inner == 1 ? 1 : IBLK), grain = TC__GRAIN_ELEMENTWISE / per;
  tc__dyn_for(tasks, grain, fn, &c);
}

/* On a device: the backend's scan over the contiguous (outer, D, inner) form in the compute dtype
 * cd (the same accumulate rules as the CPU's), into a new contiguous tensor of dtype cd. */
static tc_tensor *device_scan(const char *fn, const tc_tensor *t, int64_t dim, bool prod, tc_dtype cd) {
  const tc__device_api *api = tc__backend(t);
  if (!api || !api->scan) {
    tc__kernel_missing(fn, t);
    return NULL;
  }
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < t->ndim; i++) {
    if (i < dim) outer *= t->sizes[i];
    if (i > dim) inner *= t->sizes[i];
  }
  tc_tensor *src = tc__contig_as(t, cd);
  tc_tensor *out = src ? tc__empty(t->sizes, t->ndim, cd, t->storage->device) : NULL;
  if (out && tc__numel(t->sizes, t->ndim) > 0 &&
      api->scan(tc__dev_index(t), prod, cd, t->dtype == TC_F32, tc__ptr(src), tc__ptr(out), outer,
                t->ndim ? t->sizes[dim] : 1, inner)) {
    tc_tensor_release(out);
    out = NULL;
  }
  tc_tensor_release(src);
  return out;
}

static tc_tensor *cum(const char *fn, const tc_tensor *t, int64_t dim, bool prod) {
  TC__NONNULL_T(t, fn);
  if (tc__wrap_dim(fn, &dim, t->ndim)) return NULL;
  if (t->dtype == TC_C64 && !tc__is_cpu(t)) {
    tc__error(TC_ERR_UNSUPPORTED, "%s: complex64 input is not supported on a device", fn);
    return NULL;
  }
  if (t->dtype == TC_C64) {
    if (prod) {
      tc__error(TC_ERR_DTYPE, "%s: complex64 input is not supported", fn);
      return NULL;
    }
    tc_tensor *v = complex_as_pairs(t);
    tc_tensor *c = v ? tc__to_dtype_contig(v, TC_F32) : NULL;
    tc_tensor_release(v);
    tc_tensor *out = c ? tc__empty(t->sizes, t->ndim, TC_C64, t->storage->device) : NULL;
    /* (re, im) summed in double, as PyTorch's complex<double> accumulate type */
    if (out && tc__numel(t->sizes, t->ndim) > 0) run_scan(cumsum_f, c, dim, tc__ptr(out));
    tc_tensor_release(c);
    return out;
  }
  bool fl = tc_dtype_is_floating(t->dtype);
  tc_dtype cd = fl ? tc__compute_dtype(t->dtype) : TC_I64;
  tc_dtype rd = fl ? t->dtype : TC_I64;
  tc_range_fn k;
  if (cd == TC_I64) k = prod ? cumprod_i : cumsum_i;
  else if (cd == TC_F64) k = prod ? cumprod_d : cumsum_d;
  else if (t->dtype == TC_F32) k = prod ? cumprod_f : cumsum_f;
  else k = prod ? cumprod_h : cumsum_h;
  tc_tensor *out;
  if (tc__is_cpu(t)) {
    tc_tensor *src = (t->dtype == cd && tc__is_contiguous(t)) ? tc_tensor_retain((tc_tensor *)t)
                                                               : tc__to_dtype_contig(t, cd);
    if (!src) return NULL;
    out = tc__empty(t->sizes, t->ndim, cd, t->storage->device);
    if (out && tc__numel(t->sizes, t->ndim) > 0) run_scan(k, src, dim, tc__ptr(out));
    tc_tensor_release(src);
  } else {
    out = device_scan(fn, t, dim, prod, cd);
  }
  if (!out || rd == cd) return out;
  tc_tensor *r = tc__to_dtype_contig(out, rd);
  tc_tensor_release(out);
  return r;
}

tc_tensor *tc__cumsum_fwd(const tc_tensor *t, int64_t dim) { return cum("tc_cumsum", t, dim, false); }
tc_tensor *tc__cumprod_fwd(const tc_tensor *t, int64_t dim) { return cum("tc_cumprod", t, dim, true); }
