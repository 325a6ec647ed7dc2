/* core/src/reduce.c — sum, mean, prod, var, std, norm, logsumexp, all, any: the reduction kernels
 * and the ops built on them (max/min/argmax live in reduce_minmax.c, the driver in
 * reduce_engine.c).
 *
 * Result dtypes follow PyTorch: sum/prod of integer or bool -> int64; mean/var/std/norm need a
 * floating input; logsumexp of integers -> float32 (as PyTorch 2.x); all/any -> bool (uint8 for
 * uint8 input, as PyTorch). f16/bf16 inputs compute in float32 and round the result back, as
 * PyTorch's accumulate type; var/std accumulate in double (as PyTorch's CPU kernel).
 * complex64 is accepted by sum, mean, all and any (viewed as float pairs).
 */
#include "reduce_impl.h"

/* Streaming reductions are bound by memory bandwidth: 256-bit vectors lose nothing there, and keep
 * the kernels off 512-bit code on AVX-512 machines that only split it in halves (AMD Zen 4). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#pragma GCC target("prefer-vector-width=256")
#endif

/* ---- kernels ----------------------------------------------------------------------------------
 * DEF_RKERN(NAME, T, A, LANES, CW, INIT, MAP, COMB) defines a kernel reducing T elements mapped to
 * A accumulators: a leaf reduces up to LANES*LEAF_ITERS elements into LANES independent
 * accumulators (vectorised by the compiler), leaves are combined pairwise lane by lane, and the
 * lanes are folded pairwise at the end of a chunk; the last n % LANES elements are reduced as a
 * short run (8 lanes) and combined last. The column kernel reduces CW adjacent columns at
 * once, rows combined pairwise in blocks of CROWS (narrow columns of contiguous rows: blocks of
 * CROWS * LANES / w rows, LANES / w rows at a time in the lanes).
 * MAP(v, p, g): v an element, p the per-output parameter, g the global parameter. */
#define LEAF_ITERS 16
#define CROWS 16
/* columns reduced together: 2 KB of each row, so that a block streams whole cache lines and few
 * pages per row (a block down a (4096, 4096) float32 tensor reads 2 KB per row) */
#define CWOF(A) ((int)(2048 / sizeof(A)))

#define DEF_RKERN(NAME, T, A, LANES, CW, INIT, MAP, COMB)                                                      \
  /* acc[j] (op)= elements j, j + LANES, ... of x[0, n), n a multiple of LANES */                              \
  static inline __attribute__((always_inline)) void NAME##_lanes(const T *restrict x, int64_t n, int64_t s, A p, \
                                                                double g, A *restrict acc) {                   \
    if (s == 1) {                                                                                              \
      for (int64_t i = 0; i < n; i += LANES)                                                                   \
        for (int j = 0; j < LANES; j++) acc[j] = COMB(acc[j], MAP(x[i + j], p, g));                            \
    } else {                                                                                                   \
      for (int64_t i = 0; i < n; i += LANES)                                                                   \
        for (int j = 0; j < LANES; j++) acc[j] = COMB(acc[j], MAP(x[(i + j) * s], p, g));                      \
    }                                                                                                          \
  }                                                                                                            \
  /* leaves of LANES * LEAF_ITERS elements combined pairwise, lane by lane (n a multiple of LANES) */          \
  static void NAME##_pw(const T *x, int64_t n, int64_t s, A p, double g, A *out) {                             \
    const int64_t leaf = (int64_t)(LANES)*LEAF_ITERS;                                                          \
    if (n <= leaf) {                                                                                           \
      A acc[LANES];                                                                                            \
      for (int j = 0; j < LANES; j++) acc[j] = INIT;                                                           \
      NAME##_lanes(x, n, s, p, g, acc);                                                                        \
      for (int j = 0; j < LANES; j++) out[j] = acc[j];                                                         \
      return;                                                                                                  \
    }                                                                                                          \
    int64_t m = ((n + leaf - 1) / leaf / 2) * leaf;                                                            \
    A tmp[LANES];                                                                                              \
    NAME##_pw(x, m, s, p, g, out);                                                                             \
    NAME##_pw(x + m * s, n - m, s, p, g, tmp);                                                                 \
    for (int j = 0; j < LANES; j++) out[j] = COMB(out[j], tmp[j]);                                             \
  }                                                                                                            \
  /* The reduction of one run of n <= TC__RED_CHUNK elements; its tree depends on n only. Runs of              \
   * LANES or more: the first n - n % LANES elements in LANES lanes (pairwise over leaves, lanes folded        \
   * pairwise), the rest reduced as a short run and combined last. Short runs: 8 lanes folded pairwise         \
   * then the last n % 8 in order; under 8 elements, in order. */                                              \
  static inline A NAME##_short(const T *restrict x, int64_t n, int64_t s, A p, double g) {                     \
    if (n < 8) {                                                                                               \
      A a = INIT;                                                                                              \
      for (int64_t i = 0; i < n; i++) a = COMB(a, MAP(x[i * s], p, g));                                        \
      return a;                                                                                                \
    }                                                                                                          \
    A a[8];                                                                                                    \
    for (int j = 0; j < 8; j++) a[j] = INIT;                                                                   \
    int64_t i = 0;                                                                                             \
    if (s == 1) {                                                                                              \
      for (; i + 8 <= n; i += 8)                                                                               \
        for (int j = 0; j < 8; j++) a[j] = COMB(a[j], MAP(x[i + j], p, g));                                    \
    } else {                                                                                                   \
      for (; i + 8 <= n; i += 8)                                                                               \
        for (int j = 0; j < 8; j++) a[j] = COMB(a[j], MAP(x[(i + j) * s], p, g));                              \
    }                                                                                                          \
    _Pragma("GCC unroll 8") for (int w = 4; w >= 1; w /= 2)                                                    \
      for (int j = 0; j < w; j++) a[j] = COMB(a[j], a[j + w]);                                                 \
    A r = a[0];                                                                                                \
    for (; i < n; i++) r = COMB(r, MAP(x[i * s], p, g));                                                       \
    return r;                                                                                                  \
  }                                                                                                            \
  static inline __attribute__((always_inline)) A NAME##_run(const T *restrict x, int64_t n, int64_t s, A p,    \
                                                            double g) {                                        \
    if (n < LANES) return NAME##_short(x, n, s, p, g);                                                         \
    int64_t full = n - n % (LANES);                                                                            \
    A acc[LANES];                                                                                              \
    if (full <= (int64_t)(LANES)*LEAF_ITERS) {                                                                 \
      for (int j = 0; j < LANES; j++) acc[j] = INIT;                                                           \
      NAME##_lanes(x, full, s, p, g, acc);                                                                     \
    } else {                                                                                                   \
      NAME##_pw(x, full, s, p, g, acc);                                                                        \
    }                                                                                                          \
    _Pragma("GCC unroll 8") for (int w = LANES / 2; w >= 1; w /= 2)                                            \
      for (int j = 0; j < w; j++) acc[j] = COMB(acc[j], acc[j + w]);                                           \
    if (full == n) return acc[0];                                                                              \
    return COMB(acc[0], NAME##_short(x + full * s, n - full, s, p, g));                                        \
  }                                                                                                            \
  static void NAME##_chunk(const char *xc, int64_t n, int64_t s, const void *pp, double g, void *out) {        \
    *(A *)out = NAME##_run((const T *)(const void *)xc, n, s, pp ? *(const A *)pp : (A)0, g);                  \
  }                                                                                                            \
  /* out[r] = run r of nrows runs rs elements apart (n <= TC__RED_CHUNK each) */                               \
  static void NAME##_rows(const char *xc, int64_t nrows, int64_t rs, int64_t n, int64_t s, const void *pp,     \
                          double g, void *outv) {                                                              \
    const T *x = (const T *)(const void *)xc;                                                                  \
    const A *pa = (const A *)pp;                                                                               \
    A *out = (A *)outv;                                                                                        \
    if (pa)                                                                                                    \
      for (int64_t r = 0; r < nrows; r++) out[r] = NAME##_run(x + r * rs, n, s, pa[r], g);                     \
    else                                                                                                       \
      for (int64_t r = 0; r < nrows; r++) out[r] = NAME##_run(x + r * rs, n, s, (A)0, g);                      \
  }                                                                                                            \
  static void NAME##_combine(void *a, const void *b) { *(A *)a = COMB(*(A *)a, *(const A *)b); }               \
  /* Narrow columns over contiguous rows (rs == w, k = LANES / w >= 2): k rows at a time fill LANES            \
   * lanes (lane j holds column j % w), then the k groups are folded pairwise. nr <= CROWS * k. */             \
  static inline void NAME##_narrow(const T *restrict x, int64_t nr, int64_t w, int64_t k, const A *pv, double g,\
                                   A *restrict out) {                                                          \
    A acc[LANES], pl[LANES];                                                                                   \
    int64_t L = k * w, r = 0;                                                                                  \
    for (int64_t j = 0; j < L; j++) acc[j] = INIT, pl[j] = pv[j % w];                                          \
    (void)pl; /* unused by maps without a parameter */                                                         \
    for (; r + k <= nr; r += k)                                                                                \
      for (int64_t j = 0; j < L; j++) acc[j] = COMB(acc[j], MAP(x[r * w + j], pl[j], g));                      \
    for (; r < nr; r++) /* fewer than k rows left: into the first group */                                     \
      for (int64_t j = 0; j < w; j++) acc[j] = COMB(acc[j], MAP(x[r * w + j], pl[j], g));                      \
    for (int64_t h = 1; h < k; h *= 2)                                                                         \
      for (int64_t q = 0; q + h < k; q += 2 * h)                                                               \
        for (int64_t j = 0; j < w; j++) acc[q * w + j] = COMB(acc[q * w + j], acc[(q + h) * w + j]);           \
    for (int64_t j = 0; j < w; j++) out[j] = acc[j];                                                           \
  }                                                                                                            \
  /* Rows combined pairwise over base blocks of CROWS rows (CROWS * k for narrow contiguous blocks). */        \
  static void NAME##_cols_pw(const T *x, int64_t nr, int64_t rs, int64_t w, const A *pv, double g, A *out) {   \
    int64_t k = (rs == w && 2 * w <= (LANES)) ? (LANES) / w : 1, base = CROWS * k;                             \
    if (nr <= base) {                                                                                          \
      A acc[CW];                                                                                               \
      if (k > 1) {                                                                                             \
        NAME##_narrow(x, nr, w, k, pv, g, out);                                                                \
      } else if (w == CW) {                                                                                    \
        for (int j = 0; j < CW; j++) acc[j] = INIT;                                                            \
        for (int64_t r = 0; r < nr; r++) {                                                                     \
          const T *xr = x + r * rs;                                                                            \
          for (int j = 0; j < CW; j++) acc[j] = COMB(acc[j], MAP(xr[j], pv[j], g));                            \
        }                                                                                                      \
        for (int j = 0; j < CW; j++) out[j] = acc[j];                                                          \
      } else {                                                                                                 \
        for (int64_t j = 0; j < w; j++) acc[j] = INIT;                                                         \
        for (int64_t r = 0; r < nr; r++) {                                                                     \
          const T *xr = x + r * rs;                                                                            \
          for (int64_t j = 0; j < w; j++) acc[j] = COMB(acc[j], MAP(xr[j], pv[j], g));                         \
        }                                                                                                      \
        for (int64_t j = 0; j < w; j++) out[j] = acc[j];                                                       \
      }                                                                                                        \
      return;                                                                                                  \
    }                                                                                                          \
    int64_t m = ((nr + base - 1) / base / 2) * base;                                                           \
    A tmp[CW];                                                                                                 \
    NAME##_cols_pw(x, m, rs, w, pv, g, out);                                                                   \
    NAME##_cols_pw(x + m * rs, nr - m, rs, w, pv, g, tmp);                                                     \
    for (int64_t j = 0; j < w; j++) out[j] = COMB(out[j], tmp[j]);                                             \
  }                                                                                                            \
  static void NAME##_cols(const char *x, int64_t nr, int64_t rs, int64_t w, const void *p, double g, void *out) { \
    A pv[CW];                                                                                                  \
    for (int64_t j = 0; j < w; j++) pv[j] = p ? ((const A *)p)[j] : (A)0;                                      \
    NAME##_cols_pw((const T *)(const void *)x, nr, rs, w, pv, g, (A *)out);                                    \
  }

#define RK(NAME, T, A) {sizeof(T), sizeof(A), NAME##_chunk, NAME##_rows, NAME##_combine, NAME##_cols, CWOF(A)}

/* maps */
#define M_ID(v, p, g) (v)
#define M_U64(v, p, g) ((uint64_t)(v))
#define M_D(v, p, g) ((double)(v))
#define M_NZB(v, p, g) ((uint8_t)((v) != 0))
#define M_ABSF(v, p, g) fabsf(v)
#define M_ABSD(v, p, g) fabs(v)
#define M_SQ(v, p, g) ((v) * (v))
#define M_NZF(v, p, g) ((v) != 0 ? 1.0f : 0.0f)
#define M_NZD(v, p, g) ((v) != 0 ? 1.0 : 0.0)
#define M_POWF(v, p, g) powf(fabsf(v), (float)(g))
#define M_POWD(v, p, g) pow(fabs(v), (g))
#define M_SQDEV(v, p, g) (((double)(v) - (p)) * ((double)(v) - (p)))
#define M_EXPF(v, p, g) tc__expf((v) - (p))
#define M_EXPD(v, p, g) exp((v) - (p))
/* combines (NaN wins in the float max/min, as PyTorch) */
#define C_ADD(a, b) ((a) + (b))
#define C_MUL(a, b) ((a) * (b))
#define C_NMAX(a, b) (((a) > (b) || (a) != (a)) ? (a) : (b))
#define C_NMIN(a, b) (((a) < (b) || (a) != (a)) ? (a) : (b))
#define C_IMAX(a, b) ((a) > (b) ? (a) : (b))
#define C_IMIN(a, b) ((a) < (b) ? (a) : (b))
#define C_AND(a, b) ((uint8_t)((a) & (b)))
#define C_OR(a, b) ((uint8_t)((a) | (b)))

/* integer sums and products wrap modulo 2^64 like PyTorch's int64 arithmetic (in uint64: no UB) */
DEF_RKERN(sum_f, float, float, 64, CWOF(float), 0.0f, M_ID, C_ADD)
DEF_RKERN(sum_d, double, double, 32, CWOF(double), 0.0, M_ID, C_ADD)
DEF_RKERN(sum_i, int64_t, uint64_t, 32, CWOF(uint64_t), 0, M_U64, C_ADD)
DEF_RKERN(sumd_f, float, double, 32, CWOF(double), 0.0, M_D, C_ADD)
DEF_RKERN(prod_f, float, float, 64, CWOF(float), 1.0f, M_ID, C_MUL)
DEF_RKERN(prod_d, double, double, 32, CWOF(double), 1.0, M_ID, C_MUL)
DEF_RKERN(prod_i, int64_t, uint64_t, 32, CWOF(uint64_t), 1, M_U64, C_MUL)
DEF_RKERN(max_f, float, float, 64, CWOF(float), -INFINITY, M_ID, C_NMAX)
DEF_RKERN(max_d, double, double, 32, CWOF(double), -INFINITY, M_ID, C_NMAX)
DEF_RKERN(max_i, int64_t, int64_t, 32, CWOF(int64_t), INT64_MIN, M_ID, C_IMAX)
DEF_RKERN(min_f, float, float, 64, CWOF(float), INFINITY, M_ID, C_NMIN)
DEF_RKERN(min_d, double, double, 32, CWOF(double), INFINITY, M_ID, C_NMIN)
DEF_RKERN(min_i, int64_t, int64_t, 32, CWOF(int64_t), INT64_MAX, M_ID, C_IMIN)
DEF_RKERN(all_b, uint8_t, uint8_t, 64, CWOF(uint8_t), 1, M_NZB, C_AND)
DEF_RKERN(any_b, uint8_t, uint8_t, 64, CWOF(uint8_t), 0, M_NZB, C_OR)
DEF_RKERN(n1_f, float, float, 64, CWOF(float), 0.0f, M_ABSF, C_ADD)
DEF_RKERN(n1_d, double, double, 32, CWOF(double), 0.0, M_ABSD, C_ADD)
DEF_RKERN(n2_f, float, float, 64, CWOF(float), 0.0f, M_SQ, C_ADD)
DEF_RKERN(n2_d, double, double, 32, CWOF(double), 0.0, M_SQ, C_ADD)
DEF_RKERN(n0_f, float, float, 64, CWOF(float), 0.0f, M_NZF, C_ADD)
DEF_RKERN(n0_d, double, double, 32, CWOF(double), 0.0, M_NZD, C_ADD)
DEF_RKERN(np_f, float, float, 64, CWOF(float), 0.0f, M_POWF, C_ADD)
DEF_RKERN(np_d, double, double, 32, CWOF(double), 0.0, M_POWD, C_ADD)
DEF_RKERN(ninf_f, float, float, 64, CWOF(float), 0.0f, M_ABSF, C_NMAX)
DEF_RKERN(ninf_d, double, double, 32, CWOF(double), 0.0, M_ABSD, C_NMAX)
DEF_RKERN(nninf_f, float, float, 64, CWOF(float), INFINITY, M_ABSF, C_NMIN)
DEF_RKERN(nninf_d, double, double, 32, CWOF(double), INFINITY, M_ABSD, C_NMIN)
DEF_RKERN(sqdev_f, float, double, 32, CWOF(double), 0.0, M_SQDEV, C_ADD)
DEF_RKERN(sqdev_d, double, double, 32, CWOF(double), 0.0, M_SQDEV, C_ADD)
DEF_RKERN(lse_f, float, float, 64, CWOF(float), 0.0f, M_EXPF, C_ADD)
DEF_RKERN(lse_d, double, double, 32, CWOF(double), 0.0, M_EXPD, C_ADD)

/* index: 0 f32, 1 f64, 2 i64 */
static const tc__rkern rk_sum[3] = {RK(sum_f, float, float), RK(sum_d, double, double),
                                    RK(sum_i, int64_t, uint64_t)};
static const tc__rkern rk_prod[3] = {RK(prod_f, float, float), RK(prod_d, double, double),
                                     RK(prod_i, int64_t, uint64_t)};
const tc__rkern tc__rk_max[3] = {RK(max_f, float, float), RK(max_d, double, double),
                                 RK(max_i, int64_t, int64_t)};
const tc__rkern tc__rk_min[3] = {RK(min_f, float, float), RK(min_d, double, double),
                                 RK(min_i, int64_t, int64_t)};
static const tc__rkern rk_all = RK(all_b, uint8_t, uint8_t);
static const tc__rkern rk_any = RK(any_b, uint8_t, uint8_t);
static const tc__rkern rk_sumd_f = RK(sumd_f, float, double);
static const tc__rkern rk_n1[2] = {RK(n1_f, float, float), RK(n1_d, double, double)};
static const tc__rkern rk_n2[2] = {RK(n2_f, float, float), RK(n2_d, double, double)};
static const tc__rkern rk_n0[2] = {RK(n0_f, float, float), RK(n0_d, double, double)};
static const tc__rkern rk_np[2] = {RK(np_f, float, float), RK(np_d, double, double)};
static const tc__rkern rk_ninf[2] = {RK(ninf_f, float, float), RK(ninf_d, double, double)};
static const tc__rkern rk_nninf[2] = {RK(nninf_f, float, float), RK(nninf_d, double, double)};
static const tc__rkern rk_sqdev[2] = {RK(sqdev_f, float, double), RK(sqdev_d, double, double)};
static const tc__rkern rk_lse[2] = {RK(lse_f, float, float), RK(lse_d, double, double)};

static int kidx(tc_dtype d) { return d == TC_F32 ? 0 : d == TC_F64 ? 1 : 2; }

/* ---- helpers ---------------------------------------------------------------------------------- */

/* A new result tensor of rs's shape holding kernel k's accumulators over src (already in k's input
 * dtype). out_dtype must have k's accumulator layout. */
static tc_tensor *reduce_into(const tc_tensor *src, const tc__rshape *rs, const tc__rkern *k, tc_dtype out_dtype,
                              const void *param, double g) {
  tc_tensor *out = tc__empty(rs->out_shape, rs->out_ndim, out_dtype, src->storage->device);
  if (!out) return NULL;
  if (rs->onumel == 0) return out;
  if (tc__reduce_run(k, src, rs->mask, param, g, tc__ptr(out)) != TC_OK) {
    tc_tensor_release(out);
    return NULL;
  }
  return out;
}

/* t in dtype d: a new reference to t itself when it already has it, else a contiguous copy. */
static tc_tensor *as_dtype(const tc_tensor *t, tc_dtype d) {
  if (t->dtype == d) return tc_tensor_retain((tc_tensor *)t);
  return tc__to_dtype_contig(t, d);
}

/* Converts r to dtype d (consuming r). */
static tc_tensor *finish(tc_tensor *r, tc_dtype d) {
  if (!r || r->dtype == d) return r;
  tc_tensor *c = tc__to_dtype_contig(r, d);
  tc_tensor_release(r);
  return c;
}

static tc_status setup(const char *fn, const tc_tensor *t, const int64_t *dims, int64_t ndims, bool keepdim,
                       tc__rshape *rs) {
  if (tc__require_cpu(fn, t)) return tc_last_status();
  return tc__reduce_dims(fn, t, dims, ndims, keepdim, rs);
}

/* ---- device reductions ---------------------------------------------------------------------------
 * The reduced dims moved last (a permuted view), made contiguous on the device, then the
 * backend's deterministic row reduction: (onumel rows, rnumel each) -> onumel results. */
tc_tensor *tc__reduced_last(const tc_tensor *t, const tc__rshape *rs) {
  int64_t sizes[TC_MAX_DIMS], strides[TC_MAX_DIMS];
  int nd = 0;
  for (int pass = 0; pass < 2; pass++)
    for (int d = 0; d < t->ndim; d++)
      if (rs->mask[d] == (pass == 1)) {
        sizes[nd] = t->sizes[d];
        strides[nd++] = t->strides[d];
      }
  tc_tensor *v = tc__view(t, sizes, strides, nd, t->offset);
  tc_tensor *c = v && !tc__is_contiguous(v) ? tc__to_dtype_contig(v, v->dtype) : tc_tensor_retain(v);
  tc_tensor_release(v);
  return c;
}

tc_tensor *tc__device_reduce(const char *fn, const tc_tensor *t, const tc__rshape *rs, tc__red_kind kind,
                             tc_dtype out_dtype) {
  const tc__device_api *api = tc__backend(t);
  if (!api || !api->reduce_rows) {
    tc__kernel_missing(fn, t);
    return NULL;
  }
  if (t->dtype == TC_C64) {
    tc__error(TC_ERR_UNSUPPORTED, "%s: complex64 reductions run on the CPU only", fn);
    return NULL;
  }
  tc_tensor *c = tc__reduced_last(t, rs);
  tc_tensor *out = c ? tc__empty(rs->out_shape, rs->out_ndim, out_dtype, t->storage->device) : NULL;
  if (out && rs->onumel > 0 &&
      api->reduce_rows(tc__dev_index(t), kind, c->dtype, tc__ptr(c), rs->onumel, rs->rnumel, out_dtype,
                       tc__ptr(out))) {
    tc_tensor_release(out);
    out = NULL;
  }
  tc_tensor_release(c);
  return out;
}

/* Device forms of var/std/norm composed of device ops, without history (the public op records its
 * own) and releasing every intermediate itself (callers may run with scopes paused). */
static void drop_all(tc_tensor **ts, int n) {
  for (int i = 0; i < n; i++) tc_tensor_release(ts[i]);
}

static tc_tensor *device_var_std(const tc_tensor *t, const tc__rshape *rs, const int64_t *dims, int64_t ndims,
                                 double correction, bool keepdim, bool take_sqrt) {
  double n = (double)rs->rnumel, div = n - correction > 0 ? n - correction : 0;
  tc_tensor *k[7] = {0};
  tc_no_grad_push();
  k[0] = tc_to_dtype(t, tc__compute_dtype(t->dtype));
  k[1] = tc_mean(k[0], dims, ndims, true);
  k[2] = tc_sub(k[0], k[1], 1.0);
  k[3] = tc_mul(k[2], k[2]);
  k[4] = tc_sum(k[3], dims, ndims, keepdim);
  k[5] = tc_div_scalar(k[4], div);
  if (take_sqrt) k[6] = tc_sqrt(k[5]);
  tc_tensor *r = tc_to_dtype(take_sqrt ? k[6] : k[5], t->dtype);
  tc_no_grad_pop();
  drop_all(k, 7);
  return r;
}

static tc_tensor *device_norm(const tc_tensor *t, const tc__rshape *rs, double p, const int64_t *dims, int64_t ndims,
                              bool keepdim) {
  tc_dtype cd = tc__compute_dtype(t->dtype);
  tc_tensor *k[5] = {0}, *r = NULL;
  tc_no_grad_push();
  k[0] = tc_to_dtype(t, cd);
  k[1] = tc_abs(k[0]);
  if (!k[1]) {
  } else if (p == INFINITY || p == -INFINITY) {
    k[2] = tc__device_reduce("tc_norm", k[1], rs, p > 0 ? TC__RED_MAX : TC__RED_MIN, cd);
  } else if (p == 0) {
    k[3] = tc_to_dtype(k[4] = tc_ne_scalar(k[1], 0), cd);
    k[2] = tc_sum(k[3], dims, ndims, keepdim);
  } else if (p == 1) {
    k[2] = tc_sum(k[1], dims, ndims, keepdim);
  } else if (p == 2) {
    k[3] = tc_sum(k[4] = tc_mul(k[1], k[1]), dims, ndims, keepdim);
    k[2] = tc_sqrt(k[3]);
  } else {
    k[3] = tc_sum(k[4] = tc_pow_scalar(k[1], p), dims, ndims, keepdim);
    k[2] = tc_pow_scalar(k[3], 1.0 / p);
  }
  if (k[2]) r = tc_to_dtype(k[2], t->dtype);
  tc_no_grad_pop();
  drop_all(k, 5);
  return r;
}

static tc_status need_float(const char *fn, const tc_tensor *t, const char *what) {
  if (tc_dtype_is_floating(t->dtype)) return TC_OK;
  return tc__error(TC_ERR_DTYPE, "%s: %s a floating point input, got %s", fn, what, tc_dtype_name(t->dtype));
}

/* A float32 view of a complex64 tensor with a trailing dim of 2 (re, im). */
static tc_tensor *complex_as_pairs(const tc_tensor *t) {
  int64_t sizes[TC_MAX_DIMS], strides[TC_MAX_DIMS];
  if (t->ndim + 1 > TC_MAX_DIMS) {
    tc__error(TC_ERR_SHAPE, "complex reduction: %d dims is too many", t->ndim);
    return NULL;
  }
  for (int d = 0; d < t->ndim; d++) sizes[d] = t->sizes[d], strides[d] = 2 * t->strides[d];
  sizes[t->ndim] = 2;
  strides[t->ndim] = 1;
  tc_tensor *v = tc__view(t, sizes, strides, t->ndim + 1, 2 * t->offset);
  if (v) v->dtype = TC_F32;
  return v;
}

/* sum or mean of a complex64 tensor: the (re, im) pairs reduced as float32. */
static tc_tensor *complex_sum(const tc_tensor *t, const tc__rshape *rs, bool mean) {
  tc_tensor *v = complex_as_pairs(t);
  if (!v) return NULL;
  bool mask[TC_MAX_DIMS] = {0};
  memcpy(mask, rs->mask, sizeof(bool) * (size_t)t->ndim);
  tc_tensor *out = tc__empty(rs->out_shape, rs->out_ndim, TC_C64, t->storage->device);
  tc_status st = out ? TC_OK : tc_last_status();
  if (out && rs->onumel > 0) st = tc__reduce_run(&rk_sum[0], v, mask, NULL, 0, tc__ptr(out));
  tc_tensor_release(v);
  if (st != TC_OK) {
    tc_tensor_release(out);
    return NULL;
  }
  if (mean) {
    float *o = (float *)(void *)tc__ptr(out), n = (float)rs->rnumel;
    for (int64_t i = 0; i < 2 * rs->onumel; i++) o[i] = o[i] / n;
  }
  return out;
}

/* ---- sum, mean, prod -------------------------------------------------------------------------- */

/* sum (prod = false) or prod over rs of t: floats keep their dtype, integers and bool -> int64. */
static tc_tensor *sum_prod(const tc_tensor *t, const tc__rshape *rs, bool prod) {
  tc_dtype cd = tc_dtype_is_floating(t->dtype) ? tc__compute_dtype(t->dtype) : TC_I64;
  tc_tensor *src = as_dtype(t, cd);
  if (!src) return NULL;
  tc_tensor *out = reduce_into(src, rs, prod ? &rk_prod[kidx(cd)] : &rk_sum[kidx(cd)], cd, NULL, 0);
  tc_tensor_release(src);
  return finish(out, tc_dtype_is_floating(t->dtype) ? t->dtype : TC_I64);
}

tc_tensor *tc__sum_fwd(const tc_tensor *t, const int64_t *dims, int64_t ndims, bool keepdim) {
  const char *fn = "tc_sum";
  TC__NONNULL_T(t, fn);
  tc__rshape rs;
  if (!tc__is_cpu(t)) {
    if (tc__reduce_dims(fn, t, dims, ndims, keepdim, &rs)) return NULL;
    return tc__device_reduce(fn, t, &rs, TC__RED_SUM, tc_dtype_is_floating(t->dtype) ? t->dtype : TC_I64);
  }
  if (setup(fn, t, dims, ndims, keepdim, &rs)) return NULL;
  if (t->dtype == TC_C64) return complex_sum(t, &rs, false);
  return sum_prod(t, &rs, false);
}

tc_tensor *tc__prod_fwd(const tc_tensor *t, const int64_t *dims, int64_t ndims, bool keepdim) {
  const char *fn = "tc_prod";
  TC__NONNULL_T(t, fn);
  tc__rshape rs;
  if (t->dtype == TC_C64) {
    tc__error(TC_ERR_DTYPE, "%s: complex64 input is not supported", fn);
    return NULL;
  }
  if (!tc__is_cpu(t)) {
    if (tc__reduce_dims(fn, t, dims, ndims, keepdim, &rs)) return NULL;
    return tc__device_reduce(fn, t, &rs, TC__RED_PROD, tc_dtype_is_floating(t->dtype) ? t->dtype : TC_I64);
  }
  if (setup(fn, t, dims, ndims, keepdim, &rs)) return NULL;
  return sum_prod(t, &rs, true);
}

/* Divides the n accumulators of a float32/float64 tensor by count, in its dtype (as PyTorch's
 * sum(...).div_(count)). */
static void divide_by(tc_tensor *r, int64_t n, int64_t count) {
  if (r->dtype == TC_F32) {
    float *o = (float *)(void *)tc__ptr(r), c = (float)count;
    for (int64_t i = 0; i < n; i++) o[i] = o[i] / c;
  } else {
    double *o = (double *)(void *)tc__ptr(r), c = (double)count;
    for (int64_t i = 0; i < n; i++) o[i] = o[i] / c;
  }
}

tc_tensor *tc__mean_fwd(const tc_tensor *t, const int64_t *dims, int64_t ndims, bool keepdim) {
  const char *fn = "tc_mean";
  TC__NONNULL_T(t, fn);
  tc__rshape rs;
  if (!tc__is_cpu(t)) {
    if (tc__reduce_dims(fn, t, dims, ndims, keepdim, &rs) || need_float(fn, t, "needs")) return NULL;
    return tc__device_reduce(fn, t, &rs, TC__RED_MEAN, t->dtype);
  }
  if (setup(fn, t, dims, ndims, keepdim, &rs)) return NULL;
  if (t->dtype == TC_C64) return complex_sum(t, &rs, true);
  if (need_float(fn, t, "needs")) return NULL;
  tc_dtype cd = tc__compute_dtype(t->dtype);
  tc_tensor *src = as_dtype(t, cd);
  if (!src) return NULL;
  tc_tensor *out = reduce_into(src, &rs, &rk_sum[kidx(cd)], cd, NULL, 0);
  tc_tensor_release(src);
  if (out && rs.onumel > 0) divide_by(out, rs.onumel, rs.rnumel);
  return finish(out, t->dtype);
}

/* ---- var, std --------------------------------------------------------------------------------- */

/* Two passes in double: the mean, then the sum of squared deviations from it (PyTorch accumulates
 * var/std in double on the CPU). divisor = max(0, N - correction): N <= correction gives inf/nan. */
static tc_tensor *var_std(const char *fn, const tc_tensor *t, const int64_t *dims, int64_t ndims, double correction,
                          bool keepdim, bool take_sqrt) {
  TC__NONNULL_T(t, fn);
  tc__rshape rs;
  if (!tc__is_cpu(t)) {
    if (tc__reduce_dims(fn, t, dims, ndims, keepdim, &rs) || need_float(fn, t, "std and var need")) return NULL;
    return device_var_std(t, &rs, dims, ndims, correction, keepdim, take_sqrt);
  }
  if (setup(fn, t, dims, ndims, keepdim, &rs)) return NULL;
  if (need_float(fn, t, "std and var need")) return NULL;
  tc_dtype cd = tc__compute_dtype(t->dtype);
  tc_tensor *src = as_dtype(t, cd);
  if (!src) return NULL;
  const tc__rkern *ksum = cd == TC_F32 ? &rk_sumd_f : &rk_sum[1];
  tc_tensor *mu = reduce_into(src, &rs, ksum, TC_F64, NULL, 0);
  tc_tensor *m2 = NULL;
  if (mu) {
    if (rs.onumel > 0) divide_by(mu, rs.onumel, rs.rnumel);
    m2 = reduce_into(src, &rs, &rk_sqdev[kidx(cd)], TC_F64, rs.onumel > 0 ? tc__ptr(mu) : NULL, 0);
  }
  tc_tensor_release(src);
  tc_tensor_release(mu);
  if (!m2) return NULL;
  double n = (double)rs.rnumel, div = n - correction > 0 ? n - correction : 0;
  double *v = (double *)(void *)tc__ptr(m2);
  for (int64_t i = 0; i < rs.onumel; i++) {
    v[i] = v[i] / div;
    if (take_sqrt) v[i] = sqrt(v[i]);
  }
  return finish(m2, t->dtype);
}

tc_tensor *tc__var_fwd(const tc_tensor *t, const int64_t *dims, int64_t ndims, double correction, bool keepdim) {
  return var_std("tc_var", t, dims, ndims, correction, keepdim, false);
}

tc_tensor *tc__std_fwd(const tc_tensor *t, const int64_t *dims, int64_t ndims, double correction, bool keepdim) {
  return var_std("tc_std", t, dims, ndims, correction, keepdim, true);
}

/* ---- norm ------------------------------------------------------------------------------------- */

/* torch.linalg.vector_norm: p = 0 counts non-zeros, inf / -inf take max / min |x|, others
 * (sum |x|^p)^(1/p) (computed in the input's float type, as PyTorch). */
tc_tensor *tc__norm_fwd(const tc_tensor *t, double p, const int64_t *dims, int64_t ndims, bool keepdim) {
  const char *fn = "tc_norm";
  TC__NONNULL_T(t, fn);
  tc__rshape rs;
  if (tc__is_cpu(t) ? setup(fn, t, dims, ndims, keepdim, &rs) : tc__reduce_dims(fn, t, dims, ndims, keepdim, &rs))
    return NULL;
  if (need_float(fn, t, "needs")) return NULL;
  if (isnan(p)) {
    tc__error(TC_ERR_ARG, "%s: p is NaN", fn);
    return NULL;
  }
  if (rs.rnumel == 0 && (p < 0 || p == INFINITY)) {
    tc__error(TC_ERR_ARG, "%s: cannot compute the %g norm over an empty reduction (input shape %s): it has no identity",
              fn, p, tc__tshape(t));
    return NULL;
  }
  if (!tc__is_cpu(t)) return device_norm(t, &rs, p, dims, ndims, keepdim);
  tc_dtype cd = tc__compute_dtype(t->dtype);
  int ki = kidx(cd);
  const tc__rkern *k = p == 0 ? &rk_n0[ki] : p == 1 ? &rk_n1[ki] : p == 2 ? &rk_n2[ki]
                     : p == INFINITY ? &rk_ninf[ki] : p == -INFINITY ? &rk_nninf[ki] : &rk_np[ki];
  tc_tensor *src = as_dtype(t, cd);
  if (!src) return NULL;
  tc_tensor *out = reduce_into(src, &rs, k, cd, NULL, p);
  tc_tensor_release(src);
  if (!out) return NULL;
  if (p == 2 || (k == &rk_np[ki])) {
    int64_t n = rs.onumel;
    if (cd == TC_F32) {
      float *o = (float *)(void *)tc__ptr(out), inv = 1.0f / (float)p;
      for (int64_t i = 0; i < n; i++) o[i] = p == 2 ? sqrtf(o[i]) : powf(o[i], inv);
    } else {
      double *o = (double *)(void *)tc__ptr(out), inv = 1.0 / p;
      for (int64_t i = 0; i < n; i++) o[i] = p == 2 ? sqrt(o[i]) : pow(o[i], inv);
    }
  }
  return finish(out, t->dtype);
}

/* ---- logsumexp -------------------------------------------------------------------------------- */

/* logsumexp on a device, composed of device ops in the compute dtype cd (as the CPU's steps). */
static tc_tensor *device_logsumexp(const tc_tensor *t, const int64_t *dims, int64_t ndims, bool keepdim,
                                   const tc__rshape *rs, tc_dtype cd) {
  tc__rshape rk; /* the max kept as size-1 dims, to broadcast against t */
  if (tc__reduce_dims("tc_logsumexp", t, dims, ndims, true, &rk)) return NULL;
  tc_tensor *k[10] = {0}, *r = NULL;
  tc_no_grad_push();
  if ((k[0] = tc_to_dtype(t, cd)) && (k[1] = tc__device_reduce("tc_logsumexp", k[0], &rk, TC__RED_MAX, cd)) &&
      (k[2] = tc_isinf(k[1])) && (k[3] = tc_masked_fill(k[1], k[2], 0.0)) && (k[4] = tc_sub(k[0], k[3], 1.0)) &&
      (k[5] = tc_exp(k[4])) && (k[6] = tc_sum(k[5], dims, ndims, keepdim)) && (k[7] = tc_log(k[6])) &&
      (k[8] = tc_reshape(k[3], rs->out_shape, rs->out_ndim)))
    r = tc_add(k[7], k[8], 1.0);
  tc_no_grad_pop();
  drop_all(k, 10);
  return r;
}

/* max m over the dims (set to 0 where infinite), then log(sum(exp(x - m))) + m, as PyTorch. */
tc_tensor *tc__logsumexp_fwd(const tc_tensor *t, const int64_t *dims, int64_t ndims, bool keepdim) {
  const char *fn = "tc_logsumexp";
  TC__NONNULL_T(t, fn);
  tc__rshape rs;
  if (tc__is_cpu(t) ? setup(fn, t, dims, ndims, keepdim, &rs) : tc__reduce_dims(fn, t, dims, ndims, keepdim, &rs))
    return NULL;
  if (t->dtype == TC_C64) {
    tc__error(TC_ERR_DTYPE, "%s: complex64 input is not supported", fn);
    return NULL;
  }
  /* integer and bool inputs compute in the default float dtype, as PyTorch 2.x */
  tc_dtype rd = tc_dtype_is_floating(t->dtype) ? t->dtype : TC_F32;
  tc_dtype cd = tc__compute_dtype(rd);
  if (!tc__is_cpu(t)) return finish(device_logsumexp(t, dims, ndims, keepdim, &rs, cd), rd);
  int ki = kidx(cd);
  tc_tensor *src = as_dtype(t, cd);
  if (!src) return NULL;
  tc_tensor *m = reduce_into(src, &rs, &tc__rk_max[ki], cd, NULL, 0), *s = NULL;
  if (m) {
    int64_t n = rs.onumel;
    if (cd == TC_F32) {
      float *mp = (float *)(void *)tc__ptr(m);
      for (int64_t i = 0; i < n; i++) mp[i] = isinf(mp[i]) ? 0.0f : mp[i];
    } else {
      double *mp = (double *)(void *)tc__ptr(m);
      for (int64_t i = 0; i < n; i++) mp[i] = isinf(mp[i]) ? 0.0 : mp[i];
    }
    s = reduce_into(src, &rs, &rk_lse[ki], cd, n > 0 ? tc__ptr(m) : NULL, 0);
    if (s && n > 0) {
      if (cd == TC_F32) {
        float *sp = (float *)(void *)tc__ptr(s), *mp = (float *)(void *)tc__ptr(m);
        for (int64_t i = 0; i < n; i++) sp[i] = logf(sp[i]) + mp[i];
      } else {
        double *sp = (double *)(void *)tc__ptr(s), *mp = (double *)(void *)tc__ptr(m);
        for (int64_t i = 0; i < n; i++) sp[i] = log(sp[i]) + mp[i];
      }
    }
  }
  tc_tensor_release(src);
  tc_tensor_release(m);
  return finish(s, rd);
}

/* ---- all, any --------------------------------------------------------------------------------- */

static tc_tensor *all_any(const char *fn, const tc_tensor *t, const int64_t *dims, int64_t ndims, bool keepdim,
                          bool any) {
  TC__NONNULL_T(t, fn);
  tc__rshape rs;
  if (!tc__is_cpu(t)) { /* truth values, then max (any) or min (all) over bool */
    if (tc__reduce_dims(fn, t, dims, ndims, keepdim, &rs)) return NULL;
    tc_tensor *r;
    if (rs.rnumel == 0) { /* nothing reduced: all is true, any false */
      r = tc__empty(rs.out_shape, rs.out_ndim, TC_BOOL, t->storage->device);
      if (r && tc__fill(r, any ? 0.0 : 1.0)) {
        tc_tensor_release(r);
        r = NULL;
      }
    } else {
      tc_tensor *b = tc__to_dtype_contig(t, TC_BOOL);
      r = b ? tc__device_reduce(fn, b, &rs, any ? TC__RED_MAX : TC__RED_MIN, TC_BOOL) : NULL;
      tc_tensor_release(b);
    }
    if (r && t->dtype == TC_U8) {
      tc_tensor *u = tc__to_dtype_contig(r, TC_U8);
      tc_tensor_release(r);
      r = u;
    }
    return r;
  }
  if (setup(fn, t, dims, ndims, keepdim, &rs)) return NULL;
  const tc__rkern *k = any ? &rk_any : &rk_all;
  tc_tensor *src;
  if (t->dtype == TC_C64) {
    /* a complex element is true when re or im is non-zero: any over the (re, im) pair first */
    tc_tensor *v = complex_as_pairs(t);
    tc_tensor *b = v ? tc__to_dtype_contig(v, TC_BOOL) : NULL;
    tc_tensor_release(v);
    if (!b) return NULL;
    tc__rshape pr;
    memset(&pr, 0, sizeof pr);
    pr.mask[t->ndim] = true;
    pr.onumel = tc__numel(t->sizes, t->ndim);
    pr.out_ndim = t->ndim;
    memcpy(pr.out_shape, t->sizes, sizeof(int64_t) * (size_t)t->ndim);
    src = reduce_into(b, &pr, &rk_any, TC_BOOL, NULL, 0);
    tc_tensor_release(b);
  } else {
    src = as_dtype(t, TC_BOOL);
  }
  if (!src) return NULL;
  tc_tensor *out = reduce_into(src, &rs, k, t->dtype == TC_U8 ? TC_U8 : TC_BOOL, NULL, 0);
  tc_tensor_release(src);
  return out;
}

tc_tensor *tc_all(const tc_tensor *t, const int64_t *dims, int64_t ndims, bool keepdim) {
  return all_any("tc_all", t, dims, ndims, keepdim, false);
}

tc_tensor *tc_any(const tc_tensor *t, const int64_t *dims, int64_t ndims, bool keepdim) {
  return all_any("tc_any", t, dims, ndims, keepdim, true);
}
