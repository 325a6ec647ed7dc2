/* core/src/index_kernels.c — the checks and kernels shared by the indexing ops (see
 * index_kernels.h): index dtype/range checks, scalar overflow and write-overlap checks, the
 * elementwise gather (index_select, gather, tc_index) and the elementwise scatter (index_put).
 */
#include <float.h>
#include <math.h>
#include "index_kernels.h"

/* ---- checks ------------------------------------------------------------------------------------- */

tc_status tc__check_index_dtype(const char *fn, const char *what, const tc_tensor *idx) {
  if (idx->dtype == TC_I64 || idx->dtype == TC_I32) return TC_OK;
  return tc__error(TC_ERR_DTYPE, "%s: %s must be int64 or int32, got %s", fn, what, tc_dtype_name(idx->dtype));
}

typedef struct {
  int64_t lo, hi;
  tc_dtype dt;
  bool bad;
  int64_t value;
} range_ctx;

#define DEF_RANGE_SCAN(NAME, IT)                                                              \
  static void NAME(const char *q, int64_t st, int64_t n, range_ctx *c) {                      \
    if (st == (int64_t)sizeof(IT)) { /* contiguous: a branch-free pass first (vectorises) */  \
      const IT *v = (const IT *)q;                                                            \
      int ok = 1;                                                                             \
      for (int64_t i = 0; i < n; i++) ok &= (v[i] >= c->lo) & (v[i] < c->hi);                 \
      if (ok) return;                                                                         \
    }                                                                                         \
    for (int64_t i = 0; i < n; i++, q += st) {                                                \
      int64_t v = *(const IT *)q;                                                             \
      if (v < c->lo || v >= c->hi) {                                                          \
        c->bad = true;                                                                        \
        c->value = v;                                                                         \
        return;                                                                               \
      }                                                                                       \
    }                                                                                         \
  }
DEF_RANGE_SCAN(range_scan_i64, int64_t)
DEF_RANGE_SCAN(range_scan_i32, int32_t)

static void range_loop(char **p, const int64_t *st, int64_t n, void *vctx) {
  range_ctx *c = vctx;
  if (c->bad) return;
  if (c->dt == TC_I64) range_scan_i64(p[0], st[0], n, c);
  else range_scan_i32(p[0], st[0], n, c);
}

tc_status tc__check_index_range(const char *fn, const tc_tensor *idx, int64_t size, int64_t dim, bool allow_neg) {
  if (!tc__is_cpu(idx)) { /* device indices are checked on the host: a device assert would abort */
    tc_tensor *h = tc_tensor_to(idx, tc_cpu());
    tc_status s = h ? tc__check_index_range(fn, h, size, dim, allow_neg) : tc_last_status();
    tc_tensor_release(h);
    return s;
  }
  range_ctx c = {allow_neg ? -size : 0, size, idx->dtype, false, 0};
  const tc_tensor *ops[1] = {idx};
  tc__foreach(1, ops, range_loop, &c, 0); /* serial: the first bad value in row-major order */
  if (!c.bad) return TC_OK;
  return tc__error(TC_ERR_ARG, "%s: index %lld is out of range for dim %lld with size %lld", fn, (long long)c.value,
                   (long long)dim, (long long)size);
}

static bool is_int_scalar(double v) { return v == trunc(v) && fabs(v) < 9.2e18; }

tc_status tc__check_value_fits(const char *fn, const char *what, double v, tc_dtype d) {
  /* Mirrors c10::overflows: an integral value is an int scalar, any other a float scalar. */
  if (d == TC_BOOL || d == TC_C64) return TC_OK;
  bool overflow = false;
  if (tc_dtype_is_floating(d)) {
    double max = d == TC_F16 ? 65504.0 : d == TC_BF16 ? 3.3895313892515355e38 : d == TC_F32 ? (double)FLT_MAX : DBL_MAX;
    overflow = !isnan(v) && !isinf(v) && (v < -max || v > max);
    if (isinf(v) && is_int_scalar(v)) overflow = false;
  } else {
    double lo = 0, hi = 0;
    bool is_unsigned = false;
    switch (d) {
      case TC_I64: lo = -9223372036854775808.0, hi = 9223372036854775807.0; break;
      case TC_I32: lo = INT32_MIN, hi = INT32_MAX; break;
      case TC_I16: lo = INT16_MIN, hi = INT16_MAX; break;
      case TC_I8: lo = INT8_MIN, hi = INT8_MAX; break;
      case TC_U8: hi = UINT8_MAX, is_unsigned = true; break;
      case TC_U16: hi = UINT16_MAX, is_unsigned = true; break;
      default: break;
    }
    if (isnan(v)) overflow = true;
    else if (is_unsigned && is_int_scalar(v)) overflow = v > hi || (v < 0 && -v > hi); /* negatives wrap */
    else overflow = v < lo || v > hi;
  }
  if (!overflow) return TC_OK;
  return tc__error(TC_ERR_ARG, "%s: %s %g cannot be converted to %s without overflow", fn, what, v, tc_dtype_name(d));
}

tc_status tc__check_no_overlap(const char *fn, const tc_tensor *self) {
  for (int d = 0; d < self->ndim; d++)
    if (self->strides[d] == 0 && self->sizes[d] > 1)
      return tc__error(TC_ERR_ARG,
                       "%s: self (shape %s, strides %s) is a broadcast view: more than one element refers to a single "
                       "memory location; clone it before writing in place",
                       fn, tc__tshape(self), tc__shape_str(self->strides, self->ndim));
  return TC_OK;
}

/* ---- gather, elementwise form -------------------------------------------------------------------- */
/* ptrs: out, src, idx. out = *(src + idx * mul). */
#define DEF_GATHER(ES, T, IS, IT)                                                                      \
  static void gather_##ES##_##IS(char **p, const int64_t *st, int64_t n, void *vctx) {                 \
    int64_t mul = *(const int64_t *)vctx;                                                              \
    char *o = p[0];                                                                                    \
    const char *s = p[1], *ix = p[2];                                                                  \
    if (st[2] == 0) { /* one index for the whole run: a block copy */                                  \
      s += (int64_t) * (const IT *)ix * mul;                                                           \
      if (st[0] == ES && st[1] == ES) {                                                                \
        memcpy(o, s, (size_t)n * ES);                                                                  \
        return;                                                                                        \
      }                                                                                                \
      for (int64_t i = 0; i < n; i++, o += st[0], s += st[1]) memcpy(o, s, ES);                       \
      return;                                                                                          \
    }                                                                                                  \
    if (st[0] == ES && st[1] == 0 && st[2] == (int64_t)sizeof(IT)) {                                   \
      T *restrict oo = (T *)(void *)o;                                                                 \
      const IT *restrict ii = (const IT *)(const void *)ix;                                            \
      for (int64_t i = 0; i < n; i++) oo[i] = *(const T *)(const void *)(s + (int64_t)ii[i] * mul);     \
      return;                                                                                          \
    }                                                                                                  \
    for (int64_t i = 0; i < n; i++, o += st[0], s += st[1], ix += st[2])                               \
      memcpy(o, s + (int64_t) * (const IT *)ix * mul, ES);                                             \
  }
#define DEF_GATHER_BOTH(ES, T) DEF_GATHER(ES, T, i64, int64_t) DEF_GATHER(ES, T, i32, int32_t)
COPY_SIZES(DEF_GATHER_BOTH)

static const tc__loop_fn gather_fns[4][2] = {
    {gather_1_i64, gather_1_i32}, {gather_2_i64, gather_2_i32}, {gather_4_i64, gather_4_i32}, {gather_8_i64, gather_8_i32}};

tc_status tc__index_gather(const tc_tensor *out, const tc_tensor *src, const tc_tensor *idx, int64_t mul) {
  const tc_tensor *ops[3] = {out, src, idx};
  if (!tc__is_cpu(out)) {
    const tc__device_api *api = tc__backend(out);
    if (!api || !api->index_gather) return tc__kernel_missing("gather", out);
    tc__kplan kp;
    tc__kplan_make(3, ops, &kp);
    return api->index_gather(tc__dev_index(out), &kp, mul / (int64_t)tc_dtype_size(out->dtype));
  }
  tc__loop_fn fn = gather_fns[tc__size_slot(tc_dtype_size(out->dtype))][idx->dtype == TC_I32];
  tc__foreach(3, ops, fn, &mul, TC__GRAIN_ELEMENTWISE);
  return TC_OK;
}

tc_status tc__device_select(const tc_tensor *out, const tc_tensor *cond, const tc_tensor *a, const tc_tensor *b) {
  const tc__device_api *api = tc__backend(out);
  if (!api || !api->select) return tc__kernel_missing("select", out);
  const tc_tensor *ops[4] = {out, cond, a, b};
  tc__kplan kp;
  tc__kplan_make(4, ops, &kp);
  return api->select(tc__dev_index(out), &kp, (int)tc_dtype_size(out->dtype));
}

tc_status tc__device_index_scatter(const tc_tensor *dst, const tc_tensor *src, const tc_tensor *idx, int64_t mul) {
  const tc__device_api *api = tc__backend(dst);
  if (!api || !api->index_scatter) return tc__kernel_missing("scatter", dst);
  const tc_tensor *ops[3] = {dst, src, idx};
  tc__kplan kp;
  tc__kplan_make(3, ops, &kp);
  return api->index_scatter(tc__dev_index(dst), &kp, mul);
}

tc_status tc__device_index_scatter_add(const tc_tensor *dst, const tc_tensor *src, const tc_tensor *idx, int64_t mul,
                                       double alpha, int64_t extent) {
  const tc__device_api *api = tc__backend(dst);
  if (!api || !api->index_scatter_add) return tc__kernel_missing("scatter_add", dst);
  const tc_tensor *ops[3] = {dst, src, idx};
  tc__kplan kp;
  tc__kplan_make(3, ops, &kp);
  return api->index_scatter_add(tc__dev_index(dst), &kp, mul, alpha, extent);
}

/* ---- scatter, elementwise form (int64 offsets; used by index_put) -------------------------------- */
typedef struct {
  int64_t mul;
  add_alpha a;
} escat_ctx;

#define DEF_ESCAT_COPY(ES, T)                                                                        \
  static void escat_copy_##ES(char **p, const int64_t *st, int64_t n, void *vctx) {                  \
    int64_t mul = ((const escat_ctx *)vctx)->mul;                                                    \
    char *d = p[0];                                                                                  \
    const char *s = p[1], *ix = p[2];                                                                \
    for (int64_t i = 0; i < n; i++, d += st[0], s += st[1], ix += st[2])                             \
      memcpy(d + *(const int64_t *)ix * mul, s, ES);                                                 \
  }
COPY_SIZES(DEF_ESCAT_COPY)
static const tc__loop_fn escat_copy_fns[4] = {escat_copy_1, escat_copy_2, escat_copy_4, escat_copy_8};

#define DEF_ESCAT_ADD(TAG, SUF, T, KIND)                                                             \
  static void escat_add_##SUF(char **p, const int64_t *st, int64_t n, void *vctx) {                  \
    const escat_ctx *c = vctx;                                                                       \
    add_alpha a = c->a;                                                                              \
    char *d = p[0];                                                                                  \
    const char *s = p[1], *ix = p[2];                                                                \
    for (int64_t i = 0; i < n; i++, d += st[0], s += st[1], ix += st[2]) {                           \
      char *q = d + *(const int64_t *)ix * c->mul;                                                   \
      T dv, sv;                                                                                      \
      memcpy(&dv, q, sizeof(T));                                                                     \
      memcpy(&sv, s, sizeof(T));                                                                     \
      dv = ADD_##KIND(T, dv, sv, a);                                                                 \
      memcpy(q, &dv, sizeof(T));                                                                     \
    }                                                                                                \
  }
ADD_TYPES(DEF_ESCAT_ADD)
#define ESCAT_ADD_ROW(TAG, SUF, T, KIND) [TAG] = escat_add_##SUF,
static const tc__loop_fn escat_add_fns[TC_NUM_DTYPES] = {ADD_TYPES(ESCAT_ADD_ROW)};

void tc__index_scatter(const tc_tensor *dst, const tc_tensor *src, const tc_tensor *idx, int64_t mul, bool accumulate,
                       bool unique) {
  TC_ASSERT(idx->dtype == TC_I64);
  const tc_tensor *ops[3] = {dst, src, idx};
  escat_ctx c = {mul, tc__make_alpha(1.0)};
  tc__loop_fn fn = accumulate ? escat_add_fns[dst->dtype] : escat_copy_fns[tc__size_slot(tc_dtype_size(dst->dtype))];
  tc__foreach(3, ops, fn, &c, unique ? TC__GRAIN_ELEMENTWISE : 0);
}

/* ---- masks -> offsets ------------------------------------------------------------------------------ */

/* Visits mask elements [b, e) in row-major order and returns how many are nonzero; when out is
 * given, writes for each of them sum_j coord_j * strides[j]. Branch-free: candidates go to a small
 * buffer, advancing only on nonzero, then to out. */
static int64_t mask_walk(const tc_tensor *m, const int64_t *strides, int64_t b, int64_t e, int64_t *out) {
  int k = m->ndim;
  const uint8_t *base = (const uint8_t *)tc__ptr(m);
  if (b >= e) return 0;
  if (k == 0) {
    if (*base && out) out[0] = 0;
    return *base != 0;
  }
  int64_t idx[TC_MAX_DIMS], rem = b;
  for (int d = k - 1; d >= 0; d--) {
    idx[d] = rem % m->sizes[d];
    rem /= m->sizes[d];
  }
  int64_t inner = m->sizes[k - 1], ms = m->strides[k - 1], ws = strides[k - 1], c = 0;
  for (int64_t pos = b; pos < e;) {
    const uint8_t *mp = base;
    int64_t so = 0;
    for (int j = 0; j < k - 1; j++) {
      mp += idx[j] * m->strides[j];
      so += idx[j] * strides[j];
    }
    int64_t i0 = idx[k - 1], n = inner - i0 < e - pos ? inner - i0 : e - pos;
    if (!out) {
      int64_t cnt = 0;
      if (ms == 1)
        for (int64_t i = i0; i < i0 + n; i++) cnt += mp[i] != 0;
      else
        for (int64_t i = i0; i < i0 + n; i++) cnt += mp[i * ms] != 0;
      c += cnt;
    } else {
      int64_t buf[256];
      for (int64_t j0 = i0; j0 < i0 + n; j0 += 255) {
        int64_t j1 = j0 + 255 < i0 + n ? j0 + 255 : i0 + n, nb = 0;
        for (int64_t i = j0; i < j1; i++) {
          buf[nb] = so + i * ws;
          nb += mp[i * ms] != 0;
        }
        memcpy(out + c, buf, sizeof(int64_t) * (size_t)nb);
        c += nb;
      }
    }
    pos += n;
    idx[k - 1] += n;
    for (int d = k - 1; d > 0 && idx[d] >= m->sizes[d]; d--) {
      idx[d] = 0;
      idx[d - 1]++;
    }
  }
  return c;
}

/* Fixed chunks (independent of the thread count): count per chunk, prefix sums, fill per chunk. */
#define MASK_CHUNK 65536

typedef struct {
  const tc_tensor *m;
  const int64_t *strides;
  int64_t n;
  int64_t *starts; /* per chunk: count, then start offset */
  int64_t *out;
} mwalk_ctx;

static void mask_count_task(int64_t b, int64_t e, void *vctx) {
  mwalk_ctx *c = vctx;
  for (int64_t k = b; k < e; k++) {
    int64_t hi = (k + 1) * MASK_CHUNK < c->n ? (k + 1) * MASK_CHUNK : c->n;
    c->starts[k] = mask_walk(c->m, c->strides, k * MASK_CHUNK, hi, NULL);
  }
}

static void mask_fill_task(int64_t b, int64_t e, void *vctx) {
  mwalk_ctx *c = vctx;
  for (int64_t k = b; k < e; k++) {
    int64_t hi = (k + 1) * MASK_CHUNK < c->n ? (k + 1) * MASK_CHUNK : c->n;
    mask_walk(c->m, c->strides, k * MASK_CHUNK, hi, c->out + c->starts[k]);
  }
}

tc_tensor *tc__mask_offsets(const tc_tensor *m, const int64_t *strides) {
  if (!tc__is_cpu(m)) { /* the count decides the result's size: read on the host, as PyTorch syncs */
    tc_tensor *h = tc_tensor_to(m, tc_cpu());
    tc_tensor *off = h ? tc__mask_offsets(h, strides) : NULL;
    tc_tensor *d = off ? tc_tensor_to(off, m->storage->device) : NULL;
    tc_tensor_release(h);
    tc_tensor_release(off);
    return d;
  }
  int64_t n = tc__numel(m->sizes, m->ndim);
  int64_t nch = n ? (n + MASK_CHUNK - 1) / MASK_CHUNK : 1, local[64];
  int64_t *starts = nch <= 64 ? local : tc__malloc(sizeof(int64_t) * (size_t)nch);
  if (!starts) return NULL;
  mwalk_ctx c = {m, strides, n, starts, NULL};
  tc_parallel_for(nch, 1, mask_count_task, &c);
  int64_t total = 0;
  for (int64_t k = 0; k < nch; k++) {
    int64_t cnt = starts[k];
    starts[k] = total;
    total += cnt;
  }
  tc_tensor *off = tc__empty(&total, 1, TC_I64, m->storage->device);
  if (off && total > 0) {
    c.out = (int64_t *)(void *)tc__ptr(off);
    tc_parallel_for(nch, 1, mask_fill_task, &c);
  }
  if (starts != local) tc__free(starts);
  return off;
}
