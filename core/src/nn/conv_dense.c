/* core/src/nn/conv_dense.c — convolutions of tiny planes as one dense product per batch.
 *
 * When an input plane has no more pixels than the kernel has taps (H*W <= KH*KW: 2x2 planes under
 * a 3x3 kernel, ResNet's third stage on CIFAR-sized images), the convolution of a sample is a
 * dense linear map
 *     y (OC*L) = K (OC*L, C*HW) x (C*HW),   K[o*L + p, c*HW + q] = w[o, c, tap(p, q)]
 * where tap(p, q) is the kernel tap through which output pixel p reads input pixel q (0 in K when
 * q is outside p's window). x (N, C, H, W) and y (N, OC, OH, OW) are already (N, C*HW) and
 * (N, OC*L) matrices, so the whole batch is one GEMM with no im2col and no layout change, and it
 * skips im2col's zero columns: for 2x2 planes under 3x3 taps, 16 products per (o, c) instead of 36.
 * The backward is two more GEMMs: grad_x = grad_y K, grad_K = grad_y^T x, whose entries are then
 * summed per tap into grad_w. Planes of one pixel keep the cropped-kernel path (conv.c), which is
 * this same product with K = the centre taps.
 */
#include "conv_internal.h"

/* K (OC*L x C*HW) and the products stay small: the dense path is for tiny planes only. */
#define DENSE_MAX_BYTES ((int64_t)64 << 20)

bool tc__conv_dense_eligible(const tc__conv_geom *g, size_t es) {
  int64_t HW = g->H * g->W, L = g->OH * g->OW;
  return g->G == 1 && HW > 1 && HW <= g->KH * g->KW && L > 0 && g->C > 0 && g->OC > 0 &&
         g->OC * L * g->C * HW * (int64_t)es <= DENSE_MAX_BYTES;
}

/* The tap (i*KW + j) through which output pixel p reads input pixel q, or -1. */
static int64_t tap_of(const tc__conv_geom *g, int64_t p, int64_t q) {
  int64_t dh = q / g->W - ((p / g->OW) * g->sh - g->pt), dw = q % g->W - ((p % g->OW) * g->sw - g->pl);
  if (dh < 0 || dw < 0 || dh % g->dh || dw % g->dw) return -1;
  int64_t i = dh / g->dh, j = dw / g->dw;
  return i < g->KH && j < g->KW ? i * g->KW + j : -1;
}

typedef struct {
  const tc__conv_geom *g;
  const int64_t *taps; /* (L, HW) */
  const char *src;
  char *dst;
  size_t es;
} dense_ctx;

/* K rows of output channels [o0, o1) from w (OC, C, KH, KW) */
#define BUILD_ROWS(T)                                                                      \
  for (int64_t o = o0; o < o1; o++)                                                        \
    for (int64_t p = 0; p < L; p++) {                                                      \
      T *row = (T *)(void *)c->dst + (o * L + p) * g->C * HW;                              \
      const int64_t *tp = c->taps + p * HW;                                                \
      const T *wo = (const T *)(const void *)c->src + o * g->C * KK;                       \
      for (int64_t ch = 0; ch < g->C; ch++, row += HW, wo += KK)                           \
        for (int64_t q = 0; q < HW; q++) row[q] = tp[q] < 0 ? (T)0 : wo[tp[q]];            \
    }
static void build_task(int64_t o0, int64_t o1, void *vc) {
  const dense_ctx *c = vc;
  const tc__conv_geom *g = c->g;
  const int64_t L = g->OH * g->OW, HW = g->H * g->W, KK = g->KH * g->KW;
  if (c->es == 8) {
    BUILD_ROWS(double)
  } else {
    BUILD_ROWS(float)
  }
}
#undef BUILD_ROWS

/* grad_w rows of output channels [o0, o1): each tap's entries of grad_K summed, in (p, q) order;
 * grad_K's rows are read once, in order, and a channel's taps stay in L1. */
#define FOLD_ROWS(T)                                                                       \
  for (int64_t o = o0; o < o1; o++) {                                                      \
    T *gwo = (T *)(void *)c->dst + o * g->C * KK;                                          \
    memset(gwo, 0, sizeof(T) * (size_t)(g->C * KK));                                       \
    for (int64_t p = 0; p < L; p++) {                                                      \
      const T *row = (const T *)(const void *)c->src + (o * L + p) * g->C * HW;            \
      const int64_t *tp = c->taps + p * HW;                                                \
      T *gk = gwo;                                                                         \
      for (int64_t ch = 0; ch < g->C; ch++, row += HW, gk += KK)                           \
        for (int64_t q = 0; q < HW; q++)                                                   \
          if (tp[q] >= 0) gk[tp[q]] += row[q];                                             \
    }                                                                                      \
  }
static void fold_task(int64_t o0, int64_t o1, void *vc) {
  const dense_ctx *c = vc;
  const tc__conv_geom *g = c->g;
  const int64_t L = g->OH * g->OW, HW = g->H * g->W, KK = g->KH * g->KW;
  if (c->es == 8) {
    FOLD_ROWS(double)
  } else {
    FOLD_ROWS(float)
  }
}
#undef FOLD_ROWS

static int64_t *tap_table(const tc__conv_geom *g) {
  const int64_t L = g->OH * g->OW, HW = g->H * g->W;
  int64_t *taps = tc__malloc(sizeof(int64_t) * (size_t)(L * HW));
  if (!taps) {
    tc__error(TC_ERR_NOMEM, "conv: out of memory for a %lldx%lld tap table", (long long)L, (long long)HW);
    return NULL;
  }
  for (int64_t p = 0; p < L; p++)
    for (int64_t q = 0; q < HW; q++) taps[p * HW + q] = tap_of(g, p, q);
  return taps;
}

tc_tensor *tc__conv_dense_kernel(const tc__conv_geom *g, const tc_tensor *w, tc_dtype dt) {
  const int64_t L = g->OH * g->OW, HW = g->H * g->W;
  int64_t *taps = tap_table(g);
  tc_tensor *k = taps ? tc__empty((const int64_t[]){g->OC * L, g->C * HW}, 2, dt, w->storage->device) : NULL;
  if (k) {
    dense_ctx c = {g, taps, tc__ptr(w), tc__ptr(k), tc_dtype_size(dt)};
    tc_parallel_for(g->OC, 1 + 4096 / (L * g->C * HW + 1), build_task, &c);
  }
  tc__free(taps);
  return k;
}

bool tc__conv_dense_is_kernel(const tc__conv_geom *g, const tc_tensor *k, tc_dtype dt) {
  return k && k->dtype == dt && k->ndim == 2 && k->sizes[0] == g->OC * g->OH * g->OW && k->sizes[1] == g->C * g->H * g->W;
}

void tc__conv_dense_forward(const tc__conv_geom *g, tc_dtype dt, const void *x, const void *k, const void *b,
                            void *y) {
  const int64_t L = g->OH * g->OW, n = g->OC * L, kd = g->C * g->H * g->W;
  tc__gemm_rm(dt, false, true, g->N, n, kd, x, kd, k, kd, 0.0, y, n); /* y = x K^T */
  if (!b) return;
  for (int64_t s = 0; s < g->N; s++)
    for (int64_t o = 0; o < g->OC; o++) {
      if (dt == TC_F64) {
        double *yp = (double *)y + s * n + o * L, bv = ((const double *)b)[o];
        for (int64_t p = 0; p < L; p++) yp[p] += bv;
      } else {
        float *yp = (float *)y + s * n + o * L, bv = ((const float *)b)[o];
        for (int64_t p = 0; p < L; p++) yp[p] += bv;
      }
    }
}

tc_status tc__conv_dense_backward(const tc__conv_geom *g, tc_dtype dt, const void *gy, const void *x, const void *k,
                                  void *gx, void *gw) {
  const int64_t L = g->OH * g->OW, n = g->OC * L, kd = g->C * g->H * g->W;
  if (gx) tc__gemm_rm(dt, false, false, g->N, kd, n, gy, n, k, kd, 0.0, gx, kd); /* grad_x = grad_y K */
  if (!gw) return TC_OK;
  size_t es = tc_dtype_size(dt);
  void *gk = tc__malloc((size_t)(n * kd) * es);
  int64_t *taps = gk ? tap_table(g) : NULL;
  if (!taps) {
    tc__free(gk);
    return tc__error(TC_ERR_NOMEM, "conv backward: out of memory for a %lldx%lld kernel gradient", (long long)n,
                     (long long)kd);
  }
  tc__gemm_rm(dt, true, false, n, kd, g->N, gy, n, x, kd, 0.0, gk, kd); /* grad_K = grad_y^T x */
  dense_ctx c = {g, taps, gk, gw, es};
  tc_parallel_for(g->OC, 1 + 4096 / (L * kd + 1), fold_task, &c);
  tc__free(taps);
  tc__free(gk);
  return TC_OK;
}
