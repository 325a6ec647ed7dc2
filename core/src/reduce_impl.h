/* core/src/reduce_impl.h — the reduction engine shared by reduce.c, reduce_minmax.c, scan.c and
 * softmax.c (not installed).
 *
 * A reduction is planned as a 2-D problem: "output" dims O (kept) and "reduced" dims R of a strided
 * input. Size-1 dims are dropped and adjacent dims of each group merged where the strides allow.
 * The engine then runs one of two layouts without copying:
 *   rows:    R is one run (any stride): each output element reduces its run; parallel over outputs,
 *            or, for few long runs, over fixed-size chunks of one run.
 *   columns: R is one dim and O's innermost dim has stride 1: blocks of adjacent output elements
 *            are reduced together, vectorised across the contiguous inner dim.
 * Any other layout is first copied into a contiguous [O..., R...] buffer and run as rows.
 *
 * Determinism: every output element is computed by one fixed tree of operations that does not
 * depend on the thread count. A run is cut into TC__RED_CHUNK-element chunks combined pairwise
 * (halving the chunk range); each chunk is reduced pairwise over leaf blocks of a few hundred
 * elements, each leaf with LANES independent accumulators. Threads only decide which subtrees
 * are computed where; partial results always meet in the same order.
 *
 * A kernel (tc__rkern) is one (map, combine, identity, input type, accumulator type) instance:
 * sum, prod, max, norms, squared deviations, exp-sums... See reduce.c for the instances.
 */
#ifndef CTORCH_REDUCE_IMPL_H
#define CTORCH_REDUCE_IMPL_H

#include <math.h>
#include "internal.h"

#define TC__RED_CHUNK 16384 /* elements per top-level chunk of one run */
#define TC__RED_GRAIN 32768 /* elements of work per parallel task */

/* dims -> reduced-dim mask and result shape (PyTorch's dim-list rules). */
typedef struct {
  bool mask[TC_MAX_DIMS]; /* mask[d]: input dim d is reduced */
  int64_t out_shape[TC_MAX_DIMS];
  int out_ndim;
  int64_t onumel; /* result elements */
  int64_t rnumel; /* elements reduced into each result element */
} tc__rshape;

/* Checks dims (range, duplicates) and fills rs. dims NULL or ndims 0 reduce over all dims. */
tc_status tc__reduce_dims(const char *fn, const tc_tensor *t, const int64_t *dims, int64_t ndims, bool keepdim,
                          tc__rshape *rs);
/* The same for a single dim (max_dim, argmax, ...). */
tc_status tc__reduce_dim1(const char *fn, const tc_tensor *t, int64_t dim, bool keepdim, tc__rshape *rs);

/* A reduction kernel. Strides are in elements; `p` is the per-output parameter (an accumulator
 * value, e.g. the mean for squared deviations) or NULL; `g` a global parameter (the norm's p). */
typedef struct tc__rkern {
  size_t tsize, asize; /* input element and accumulator sizes */
  /* out = reduction of n <= TC__RED_CHUNK elements at x (stride s); n may be 0 (identity). */
  void (*chunk)(const char *x, int64_t n, int64_t s, const void *p, double g, void *out);
  /* out[r] = chunk of x + r * rs (n elements, stride s) for r < nrows: the same bits as chunk, without
   * a call per run (short runs). p: NULL or nrows parameters. */
  void (*rows)(const char *x, int64_t nrows, int64_t rs, int64_t n, int64_t s, const void *p, double g, void *out);
  /* a = a (op) b */
  void (*combine)(void *a, const void *b);
  /* out[j] = reduction over nrows rows (row stride rs) of x[r*rs + j], j < w <= cols_width. p is
   * NULL or w parameters. */
  void (*cols)(const char *x, int64_t nrows, int64_t rs, int64_t w, const void *p, double g, void *out);
  int64_t cols_width;
} tc__rkern;

/* Runs kernel k over t (its dtype must be k's input type; CPU) reducing the dims in mask, writing
 * rs->onumel accumulators (contiguous, result order) to out. param: NULL or onumel accumulators.
 * Returns TC_OK, or TC_ERR_NOMEM when a needed copy could not be made. */
tc_status tc__reduce_run(const tc__rkern *k, const tc_tensor *t, const bool *mask, const void *param, double g,
                         void *out);

/* Device reductions: t with its kept dims first and reduced dims last, contiguous (a new reference;
 * t itself viewed when it already is), and the backend's row reduction of it into a new tensor of
 * rs's shape and out_dtype. */
tc_tensor *tc__reduced_last(const tc_tensor *t, const tc__rshape *rs);
tc_tensor *tc__device_reduce(const char *fn, const tc_tensor *t, const tc__rshape *rs, tc__red_kind kind,
                             tc_dtype out_dtype);

/* Runs fn over [0, n) in blocks of `block` iterations that the pool's threads take in turn from a
 * shared counter (a thread that starts late, e.g. on a busy shared machine, simply takes fewer
 * blocks). Inline when n <= block, with one thread, or inside a parallel region. Results must not
 * depend on which thread runs a block (true of every caller: each output is computed whole). */
void tc__dyn_for(int64_t n, int64_t block, tc_range_fn fn, void *ctx);

/* Kernels other files use (defined in reduce.c). Index: 0 f32, 1 f64, 2 i64. */
extern const tc__rkern tc__rk_max[3], tc__rk_min[3];

/* ---- expf for vectorised loops -----------------------------------------------------------------
 * exp(x) in float with about 1 ulp error, written so that GCC vectorises loops calling it (no libm
 * call, no branches). Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2, a degree-6 polynomial for
 * e^r (Cephes' expf coefficients) and a scale by 2^n in two steps so that results down to the
 * subnormal range are right. NaN -> NaN, x > 88.73 -> inf, x < -103.98 -> 0. Uses fused
 * multiply-adds where the target has them (the strict C mode does not contract a*b+c itself). */
#ifdef __FMA__
#define TC__FMAF(a, b, c) __builtin_fmaf((a), (b), (c))
#else
#define TC__FMAF(a, b, c) ((a) * (b) + (c))
#endif
static inline float tc__expf(float x) {
  const float hi = 88.8f, lo = -104.0f;
  x = x > hi ? hi : x; /* NaN stays NaN: comparisons with NaN are false */
  x = x < lo ? lo : x;
  /* n = round(x / ln2) through the 1.5 * 2^23 trick (no float -> int conversion) */
  float t = TC__FMAF(x, 1.44269504088896341f, 12582912.0f);
  uint32_t tb;
  memcpy(&tb, &t, 4);
  float n = t - 12582912.0f;
  int32_t ni = (int32_t)(tb - 0x4B400000u);
  float r = TC__FMAF(n, -0.693359375f, x);
  r = TC__FMAF(n, 2.12194440e-4f, r);
  float p = 1.9875691500e-4f;
  p = TC__FMAF(p, r, 1.3981999507e-3f);
  p = TC__FMAF(p, r, 8.3334519073e-3f);
  p = TC__FMAF(p, r, 4.1665795894e-2f);
  p = TC__FMAF(p, r, 1.6666665459e-1f);
  p = TC__FMAF(p, r, 5.0000001201e-1f);
  p = TC__FMAF(p * r, r, r) + 1.0f;
  int32_t n1 = ni >> 1, n2 = ni - n1; /* each in [-75, 64] for x in [lo, hi] */
  uint32_t b1 = (uint32_t)(n1 + 127) << 23, b2 = (uint32_t)(n2 + 127) << 23;
  float s1, s2;
  memcpy(&s1, &b1, 4);
  memcpy(&s2, &b2, 4);
  return p * s1 * s2;
}

#endif
