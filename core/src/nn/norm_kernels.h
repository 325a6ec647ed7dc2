/* core/src/nn/norm_kernels.h — the inner loops of the normalisation layers (norm.c), written once
 * and instantiated per compute type: norm.c includes this file with NK_T (float or double) and
 * NK_SUF (f32 or f64) defined, and gets functions named <name>_<NK_SUF>.
 *
 * All loops run over contiguous runs of elements. Reductions keep NK_LANES independent partial
 * sums (the compiler turns the lane loops into vector code without reassociating anything), add
 * the lanes pairwise in a fixed order, and hand block results to the caller in double: the result
 * of every reduction depends only on the data and the run length, never on threads.
 */
#ifndef NK_T
#error "define NK_T and NK_SUF before including norm_kernels.h"
#endif

#define NK_CAT2(a, b) a##_##b
#define NK_CAT(a, b) NK_CAT2(a, b)
#define NK(name) NK_CAT(name, NK_SUF)

#ifndef NK_NO_MEMCPY
#if defined(__GNUC__) && !defined(__clang__)
#define NK_NO_MEMCPY __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define NK_NO_MEMCPY
#endif
#endif

/* Lanes per reduction: two 512-bit (four 256-bit) vectors of partial sums. */
#define NK_LANES ((int64_t)(128 / sizeof(NK_T)))

static inline double NK(lanes_total)(NK_T *acc) {
  for (int64_t w = NK_LANES / 2; w >= 1; w /= 2)
    for (int64_t j = 0; j < w; j++) acc[j] += acc[j + w];
  return (double)acc[0];
}

/* sum of p[0..n) */
static inline double NK(run_sum)(const NK_T *restrict p, int64_t n) {
  NK_T acc[NK_LANES];
  for (int64_t j = 0; j < NK_LANES; j++) acc[j] = 0;
  int64_t i = 0;
  for (; i + NK_LANES <= n; i += NK_LANES)
    for (int64_t j = 0; j < NK_LANES; j++) acc[j] += p[i + j];
  for (int64_t j = 0; i < n; i++, j++) acc[j] += p[i];
  return NK(lanes_total)(acc);
}

/* r = sum (p - c), q = sum (p - c)^2 */
static inline void NK(run_dev)(const NK_T *restrict p, int64_t n, NK_T c, double *r, double *q) {
  NK_T ar[NK_LANES], aq[NK_LANES];
  for (int64_t j = 0; j < NK_LANES; j++) ar[j] = aq[j] = 0;
  int64_t i = 0;
  for (; i + NK_LANES <= n; i += NK_LANES)
    for (int64_t j = 0; j < NK_LANES; j++) {
      NK_T d = p[i + j] - c;
      ar[j] += d;
      aq[j] += d * d;
    }
  for (int64_t j = 0; i < n; i++, j++) {
    NK_T d = p[i] - c;
    ar[j] += d;
    aq[j] += d * d;
  }
  *r = NK(lanes_total)(ar);
  *q = NK(lanes_total)(aq);
}

/* Adds the elements p[0..n) to the running statistics (count, mean, M2 = sum of squared
 * deviations), a block of NK_BLOCK elements at a time: each block is summed once for a centre c
 * (its rounded mean), then its deviations from c give the block's exact mean and M2 (the second
 * pass reads the block from L1), and the blocks are merged with Chan's formula in double. */
#define NK_BLOCK 4096
static inline void NK(run_stats)(const NK_T *restrict p, int64_t n, double *cnt, double *mean, double *m2) {
  for (int64_t b0 = 0; b0 < n; b0 += NK_BLOCK) {
    int64_t len = n - b0 < NK_BLOCK ? n - b0 : NK_BLOCK;
    double dl = (double)len;
    NK_T c = (NK_T)(NK(run_sum)(p + b0, len) / dl);
    double r, q;
    NK(run_dev)(p + b0, len, c, &r, &q);
    double bm = (double)c + r / dl, bq = q - r * r / dl;
    if (bq < 0) bq = 0;
    double tot = *cnt + dl, delta = bm - *mean;
    *mean += delta * dl / tot;
    *m2 += bq + delta * delta * *cnt * dl / tot;
    *cnt = tot;
  }
}

/* sum gy and sum gy * (x - mean) over n elements, blockwise into double */
static inline void NK(run_grad_sums)(const NK_T *restrict gy, const NK_T *restrict x, int64_t n, NK_T mean,
                                     double *sum_gy, double *dot) {
  for (int64_t b0 = 0; b0 < n; b0 += NK_BLOCK) {
    int64_t len = n - b0 < NK_BLOCK ? n - b0 : NK_BLOCK;
    const NK_T *restrict g = gy + b0, *restrict v = x + b0;
    NK_T as[NK_LANES], ad[NK_LANES];
    for (int64_t j = 0; j < NK_LANES; j++) as[j] = ad[j] = 0;
    int64_t i = 0;
    for (; i + NK_LANES <= len; i += NK_LANES)
      for (int64_t j = 0; j < NK_LANES; j++) {
        as[j] += g[i + j];
        ad[j] += g[i + j] * (v[i + j] - mean);
      }
    for (int64_t j = 0; i < len; i++, j++) {
      as[j] += g[i];
      ad[j] += g[i] * (v[i] - mean);
    }
    *sum_gy += NK(lanes_total)(as);
    *dot += NK(lanes_total)(ad);
  }
}

/* y = x * scale + shift */
static inline void NK(run_affine)(NK_T *restrict y, const NK_T *restrict x, int64_t n, NK_T scale, NK_T shift) {
  for (int64_t i = 0; i < n; i++) y[i] = x[i] * scale + shift;
}

/* gx = a * gy + b * (x - mean) + c */
static inline void NK(run_grad_apply)(NK_T *restrict gx, const NK_T *restrict gy, const NK_T *restrict x, int64_t n,
                                      NK_T a, NK_T b, NK_T mean, NK_T c) {
  if (b == 0) {
    for (int64_t i = 0; i < n; i++) gx[i] = a * gy[i] + c;
    return;
  }
  for (int64_t i = 0; i < n; i++) gx[i] = a * gy[i] + b * (x[i] - mean) + c;
}

/* layer norm row: y = (x - mean) * rstd * w + b (w, b: NULL = 1, 0) */
static inline void NK(row_norm)(NK_T *restrict y, const NK_T *restrict x, int64_t n, NK_T mean, NK_T rstd,
                                const NK_T *restrict w, const NK_T *restrict b) {
  if (w && b)
    for (int64_t i = 0; i < n; i++) y[i] = (x[i] - mean) * rstd * w[i] + b[i];
  else if (w)
    for (int64_t i = 0; i < n; i++) y[i] = (x[i] - mean) * rstd * w[i];
  else if (b)
    for (int64_t i = 0; i < n; i++) y[i] = (x[i] - mean) * rstd + b[i];
  else
    for (int64_t i = 0; i < n; i++) y[i] = (x[i] - mean) * rstd;
}

/* layer norm backward sums over a row: A = sum gy * w, B = sum gy * w * xhat with
 * xhat = (x - mean) * rstd (w NULL = 1) */
static inline void NK(row_grad_sums)(const NK_T *restrict gy, const NK_T *restrict x, int64_t n, NK_T mean, NK_T rstd,
                                     const NK_T *restrict w, double *A, double *B) {
  *A = *B = 0;
  for (int64_t b0 = 0; b0 < n; b0 += NK_BLOCK) {
    int64_t len = n - b0 < NK_BLOCK ? n - b0 : NK_BLOCK;
    const NK_T *restrict g = gy + b0, *restrict v = x + b0;
    const NK_T *restrict ww = w ? w + b0 : NULL;
    NK_T aa[NK_LANES], ab[NK_LANES];
    for (int64_t j = 0; j < NK_LANES; j++) aa[j] = ab[j] = 0;
    int64_t i = 0;
    if (ww) {
      for (; i + NK_LANES <= len; i += NK_LANES)
        for (int64_t j = 0; j < NK_LANES; j++) {
          NK_T gw = g[i + j] * ww[i + j];
          aa[j] += gw;
          ab[j] += gw * ((v[i + j] - mean) * rstd);
        }
      for (int64_t j = 0; i < len; i++, j++) {
        NK_T gw = g[i] * ww[i];
        aa[j] += gw;
        ab[j] += gw * ((v[i] - mean) * rstd);
      }
    } else {
      for (; i + NK_LANES <= len; i += NK_LANES)
        for (int64_t j = 0; j < NK_LANES; j++) {
          aa[j] += g[i + j];
          ab[j] += g[i + j] * ((v[i + j] - mean) * rstd);
        }
      for (int64_t j = 0; i < len; i++, j++) {
        aa[j] += g[i];
        ab[j] += g[i] * ((v[i] - mean) * rstd);
      }
    }
    *A += NK(lanes_total)(aa);
    *B += NK(lanes_total)(ab);
  }
}

/* layer norm row gradient: gx = rstd * (gy * w - a - xhat * b), a = A / n, b = B / n */
static inline void NK(row_grad_apply)(NK_T *restrict gx, const NK_T *restrict gy, const NK_T *restrict x, int64_t n,
                                      NK_T mean, NK_T rstd, const NK_T *restrict w, NK_T a, NK_T b) {
  if (w)
    for (int64_t i = 0; i < n; i++) gx[i] = rstd * (gy[i] * w[i] - a - (x[i] - mean) * rstd * b);
  else
    for (int64_t i = 0; i < n; i++) gx[i] = rstd * (gy[i] - a - (x[i] - mean) * rstd * b);
}

/* layer norm weight/bias partials over a row: pw += gy * xhat, pb += gy (double accumulators) */
static inline void NK(row_param_acc)(double *restrict pw, double *restrict pb, const NK_T *restrict gy,
                                     const NK_T *restrict x, int64_t n, NK_T mean, NK_T rstd) {
  if (pw)
    for (int64_t i = 0; i < n; i++) pw[i] += (double)(gy[i] * ((x[i] - mean) * rstd));
  if (pb)
    for (int64_t i = 0; i < n; i++) pb[i] += (double)gy[i];
}

/* ---- short rows (layer norm rows of up to NK_SHORT elements): one 256-bit vector of lanes, a
 * single block, no merge; 1/n precomputed by the caller ---------------------------------------------- */
#define NK_SHORT 512
#define NK_SLANES ((int64_t)(32 / sizeof(NK_T)))

static inline NK_T NK(slanes_total)(NK_T *a) {
  for (int64_t w = NK_SLANES / 2; w >= 1; w /= 2)
    for (int64_t j = 0; j < w; j++) a[j] += a[j + w];
  return a[0];
}

static inline void NK(short_stats)(const NK_T *restrict p, int64_t n, double inv_n, double *mean, double *m2) {
  NK_T a[NK_SLANES], ar[NK_SLANES], aq[NK_SLANES];
  for (int64_t j = 0; j < NK_SLANES; j++) a[j] = ar[j] = aq[j] = 0;
  int64_t i = 0;
  for (; i + NK_SLANES <= n; i += NK_SLANES)
    for (int64_t j = 0; j < NK_SLANES; j++) a[j] += p[i + j];
  for (int64_t j = 0; i < n; i++, j++) a[j] += p[i];
  NK_T c = (NK_T)((double)NK(slanes_total)(a) * inv_n);
  for (i = 0; i + NK_SLANES <= n; i += NK_SLANES)
    for (int64_t j = 0; j < NK_SLANES; j++) {
      NK_T d = p[i + j] - c;
      ar[j] += d;
      aq[j] += d * d;
    }
  for (int64_t j = 0; i < n; i++, j++) {
    NK_T d = p[i] - c;
    ar[j] += d;
    aq[j] += d * d;
  }
  double r = (double)NK(slanes_total)(ar), q = (double)NK(slanes_total)(aq);
  *mean = (double)c + r * inv_n;
  double v = q - r * r * inv_n;
  *m2 = v > 0 ? v : 0;
}

/* short-row form of row_grad_sums */
static inline void NK(short_grad_sums)(const NK_T *restrict g, const NK_T *restrict v, int64_t n, NK_T mean,
                                       NK_T rstd, const NK_T *restrict w, double *A, double *B) {
  NK_T aa[NK_SLANES], ab[NK_SLANES];
  for (int64_t j = 0; j < NK_SLANES; j++) aa[j] = ab[j] = 0;
  int64_t i = 0;
  if (w) {
    for (; i + NK_SLANES <= n; i += NK_SLANES)
      for (int64_t j = 0; j < NK_SLANES; j++) {
        NK_T gw = g[i + j] * w[i + j];
        aa[j] += gw;
        ab[j] += gw * ((v[i + j] - mean) * rstd);
      }
    for (int64_t j = 0; i < n; i++, j++) {
      NK_T gw = g[i] * w[i];
      aa[j] += gw;
      ab[j] += gw * ((v[i] - mean) * rstd);
    }
  } else {
    for (; i + NK_SLANES <= n; i += NK_SLANES)
      for (int64_t j = 0; j < NK_SLANES; j++) {
        aa[j] += g[i + j];
        ab[j] += g[i + j] * ((v[i + j] - mean) * rstd);
      }
    for (int64_t j = 0; i < n; i++, j++) {
      aa[j] += g[i];
      ab[j] += g[i] * ((v[i] - mean) * rstd);
    }
  }
  *A = (double)NK(slanes_total)(aa);
  *B = (double)NK(slanes_total)(ab);
}

#undef NK_SLANES

/* ---- batch norm: one channel's elements [e0, e1) of x viewed as (N, C, S), where element e of
 * channel c is x[(e / S) * C + c][e % S]; a range crosses planes as needed. ---------------------------- */
#define NK_CHANNEL_RANGE(base, C, S, c, e0, e1, BODY)                        \
  for (int64_t e_ = (e0), n_ = (S) > 0 ? (e0) / (S) : 0, s_ = (e0) - n_ * (S); e_ < (e1); n_++, s_ = 0) { \
    int64_t len = (S) - s_ < (e1) - e_ ? (S) - s_ : (e1) - e_;               \
    int64_t off = (n_ * (C) + (c)) * (S) + s_;                               \
    BODY;                                                                    \
    e_ += len;                                                               \
  }

/* Channels made of short runs (S < NK_GATHER_S elements per plane: the last stages of a CNN, S = 1
 * after global pooling) are reduced from a gathered copy of up to NK_BLOCK elements: run by run, the
 * lane set-up and merge of each reduction would cost far more than its few elements. */
#define NK_GATHER_S 64

/* elements [e0, e0 + n) of channel c, n <= NK_BLOCK, into buf (runs of a few elements: plain
 * copies, not memcpy calls) */
NK_NO_MEMCPY static inline void NK(gather)(NK_T *restrict buf, const NK_T *restrict base, int64_t C, int64_t S, int64_t c,
                              int64_t e0, int64_t n) {
  if (S == 1) {
    const NK_T *restrict p = base + e0 * C + c;
    for (int64_t i = 0; i < n; i++) buf[i] = p[i * C];
    return;
  }
  int64_t i = 0, e_end = e0 + n;
  NK_CHANNEL_RANGE(base, C, S, c, e0, e_end, {
    for (int64_t k = 0; k < len; k++) buf[i + k] = base[off + k];
    i += len;
  })
}

static inline void NK(bn_stats)(const void *xv, int64_t C, int64_t S, int64_t c, int64_t e0, int64_t e1, double *cnt,
                                double *mean, double *m2) {
  const NK_T *x = xv;
  if (S < NK_GATHER_S) {
    NK_T buf[NK_BLOCK];
    for (int64_t b = e0; b < e1; b += NK_BLOCK) {
      int64_t len = e1 - b < NK_BLOCK ? e1 - b : NK_BLOCK;
      NK(gather)(buf, x, C, S, c, b, len);
      NK(run_stats)(buf, len, cnt, mean, m2);
    }
    return;
  }
  NK_CHANNEL_RANGE(x, C, S, c, e0, e1, NK(run_stats)(x + off, len, cnt, mean, m2))
}

static inline void NK(bn_apply)(void *yv, const void *xv, int64_t C, int64_t S, int64_t c, int64_t e0, int64_t e1,
                                double scale, double shift) {
  NK_T *y = yv;
  const NK_T *x = xv;
  NK_CHANNEL_RANGE(x, C, S, c, e0, e1, NK(run_affine)(y + off, x + off, len, (NK_T)scale, (NK_T)shift))
}

static inline void NK(bn_grad_sums)(const void *gyv, const void *xv, int64_t C, int64_t S, int64_t c, int64_t e0,
                                    int64_t e1, double mean, double *sum_gy, double *dot) {
  const NK_T *gy = gyv, *x = xv;
  if (S < NK_GATHER_S) {
    NK_T gb[NK_BLOCK], xb[NK_BLOCK];
    for (int64_t b = e0; b < e1; b += NK_BLOCK) {
      int64_t len = e1 - b < NK_BLOCK ? e1 - b : NK_BLOCK;
      NK(gather)(gb, gy, C, S, c, b, len);
      if (!x) {
        *sum_gy += NK(run_sum)(gb, len);
        continue;
      }
      NK(gather)(xb, x, C, S, c, b, len);
      NK(run_grad_sums)(gb, xb, len, (NK_T)mean, sum_gy, dot);
    }
    return;
  }
  if (!x) { /* only sum gy (bias gradient alone) */
    NK_CHANNEL_RANGE(gy, C, S, c, e0, e1, *sum_gy += NK(run_sum)(gy + off, len))
    return;
  }
  NK_CHANNEL_RANGE(gy, C, S, c, e0, e1, NK(run_grad_sums)(gy + off, x + off, len, (NK_T)mean, sum_gy, dot))
}

static inline void NK(bn_grad_apply)(void *gxv, const void *gyv, const void *xv, int64_t C, int64_t S, int64_t c,
                                     int64_t e0, int64_t e1, double a, double b, double mean, double cc) {
  NK_T *gx = gxv;
  const NK_T *gy = gyv, *x = xv;
  NK_CHANNEL_RANGE(gy, C, S, c, e0, e1,
                   NK(run_grad_apply)(gx + off, gy + off, x ? x + off : NULL, len, (NK_T)a, x ? (NK_T)b : 0,
                                      (NK_T)mean, (NK_T)cc))
}
#undef NK_CHANNEL_RANGE

#undef NK_LANES
#undef NK_BLOCK
#undef NK_GATHER_S
#undef NK
#undef NK_CAT
#undef NK_CAT2
