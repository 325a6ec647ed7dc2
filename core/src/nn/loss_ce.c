/* core/src/nn/loss_ce.c — cross_entropy and nll_loss (torch.nn.functional), fused forward and
 * backward kernels.
 *
 * The input is viewed as (N, C, S): batch N, classes C, S = d1 * d2 * ... positions per sample
 * ((N, C) inputs have S = 1; an unbatched (C) input is N = S = 1). A target is either class
 * indices (N, S) (int64 or uint8, as PyTorch) or, for cross_entropy when its shape equals the
 * input's, class probabilities (N, C, S). Per position p = (n, s), with w the class weights
 * (ones when absent), W = sum_c w[c], eps = label_smoothing and lse = m + log s, m = max_c x[c],
 * s = sum_c exp(x[c] - m):
 *
 *   cross_entropy, class t:  loss_p = (1 - eps) w[t] (lse - x[t]) + eps/C (W lse - sum_c w[c] x[c])
 *                            (0 when t == ignore_index). This is PyTorch's
 *                            (1 - eps) nll_loss(log_softmax(x)) + eps/C smooth_loss, term by term.
 *                            mean = sum_p loss_p / sum_p w[t_p] over the non-ignored p (nan when
 *                            every target is ignored, as PyTorch).
 *     d/dx[c] = g_p (softmax[c] ((1 - eps) w[t] + eps W / C) - eps/C w[c] - (1 - eps) w[t] [c == t])
 *   cross_entropy, probabilities y, y' = (1 - eps) y + eps/C:
 *                            loss_p = sum_c w[c] y'[c] (lse - x[c]); mean divides by N * S.
 *     d/dx[c] = g_p (softmax[c] sum_k w[k] y'[k] - w[c] y'[c])
 *     d/dy[c] = -g_p (1 - eps) w[c] ((x[c] - m) - log s)
 *   nll_loss (x holds log-probabilities): loss_p = -w[t] x[t]; d/dx[t] = -g_p w[t].
 *
 * g_p is the upstream gradient (divided by the mean's denominator for reduction mean).
 *
 * Kernels: S == 1 works on rows (units of RU rows): a max pass and an exp-sum pass per row. S > 1
 * works on blocks of IB adjacent positions, vectorised across them (the classes are S apart).
 * What the backward keeps (PyTorch keeps log_softmax's output likewise):
 *   class targets: E = exp(x - m) (stored by the exp-sum pass) and 1/s per position, so the backward
 *                  is one multiply-add pass, softmax = E / s, with no exp and without x;
 *   probabilities: x, m and log s per position (d/dy needs log_softmax = (x - m) - log s, which
 *                  keeps its precision where |lse| is large);
 *   nll_loss:      the target and weights only.
 * Per-unit partial sums are combined in unit order, so results do not depend on the thread count.
 * Each op records its own node; nothing depends on other ops' autograd.
 */
#include <math.h>
#include "../reduce_impl.h"
#include "loss_internal.h"
#include "../amp/amp_internal.h"

#define LANES 32 /* independent accumulators in row reductions */
#define RU 16    /* rows per work unit (S == 1) */
#define IB 64    /* adjacent positions per work unit (S > 1) */
#define MAXV(a, b) ((a) > (b) ? (a) : (b))

typedef enum { K_CE = 0, K_CE_PROB, K_NLL } ce_kind;

/* what the kernels see; pointers into contiguous compute-dtype tensors */
typedef struct {
  ce_kind kind;
  int64_t N, C, S, nb; /* nb: position blocks per sample (S > 1) */
  int64_t ignore;
  double eps, W;           /* label smoothing; sum of class weights (C without weights) */
  const char *x, *y, *w;   /* (N, C, S); probabilities (N, C, S) or NULL; (C) or NULL */
  const int64_t *t;        /* (N, S) classes, or NULL */
  char *e;                 /* class targets: (N, C, S) exp(x - m), or NULL (forward: written) */
  char *st;                /* per-position statistics, or NULL (forward: written). Class targets:
                              (N, S) 1/s; probabilities: (2, N, S) m and log s */
  char *out;               /* forward: (N, S) per-position losses (reduction none) or NULL */
  double *part_l, *part_w; /* forward: per unit, sum of losses and of target weights */
  const char *g;           /* backward: (N, S) upstream gradient (reduction none) or NULL */
  double gs;               /* backward: scalar upstream gradient / denominator */
  char *gx, *gy;           /* backward: (N, C, S) outputs or NULL */
} ce_run;

#define DEF_CE(P, T, EXP)                                                                            \
  static T P##_max(const T *restrict x, int64_t n) {                                                 \
    if (n < LANES) { /* short rows (few classes): no lane setup and reduction tree */                \
      T m1 = -INFINITY;                                                                              \
      for (int64_t i = 0; i < n; i++) m1 = MAXV(m1, x[i]);                                           \
      return m1;                                                                                     \
    }                                                                                                \
    T mx[LANES];                                                                                     \
    for (int j = 0; j < LANES; j++) mx[j] = -INFINITY;                                               \
    int64_t i = 0, full = n - n % LANES;                                                             \
    for (; i < full; i += LANES)                                                                     \
      for (int j = 0; j < LANES; j++) mx[j] = MAXV(mx[j], x[i + j]);                                 \
    for (int j = 0; i + j < n; j++) mx[j] = MAXV(mx[j], x[i + j]);                                   \
    for (int v = LANES / 2; v >= 1; v /= 2)                                                          \
      for (int j = 0; j < v; j++) mx[j] = MAXV(mx[j], mx[j + v]);                                    \
    return mx[0];                                                                                    \
  }                                                                                                  \
  /* sum exp(x - m), storing the exponentials in e when e is not NULL */                             \
  static double P##_sumexp(const T *restrict x, T *restrict e, int64_t n, T m) {                     \
    if (n < LANES) {                                                                                 \
      T s1 = 0;                                                                                      \
      for (int64_t i = 0; i < n; i++) {                                                              \
        T v = EXP(x[i] - m);                                                                         \
        if (e) e[i] = v;                                                                             \
        s1 += v;                                                                                     \
      }                                                                                              \
      return (double)s1;                                                                             \
    }                                                                                                \
    T s[LANES];                                                                                      \
    for (int j = 0; j < LANES; j++) s[j] = 0;                                                        \
    int64_t i = 0, full = n - n % LANES;                                                             \
    if (e) {                                                                                         \
      for (; i < full; i += LANES)                                                                   \
        for (int j = 0; j < LANES; j++) {                                                            \
          T v = EXP(x[i + j] - m);                                                                   \
          e[i + j] = v;                                                                              \
          s[j] += v;                                                                                 \
        }                                                                                            \
    } else {                                                                                         \
      for (; i < full; i += LANES)                                                                   \
        for (int j = 0; j < LANES; j++) s[j] += EXP(x[i + j] - m);                                   \
    }                                                                                                \
    for (int j = 0; i + j < n; j++) {                                                                \
      T v = EXP(x[i + j] - m);                                                                       \
      if (e) e[i + j] = v;                                                                           \
      s[j] += v;                                                                                     \
    }                                                                                                \
    for (int v = LANES / 2; v >= 1; v /= 2)                                                          \
      for (int j = 0; j < v; j++) s[j] += s[j + v];                                                  \
    return (double)s[0];                                                                             \
  }                                                                                                  \
  /* sum w[c] x[c] (w NULL: sum x) */                                                                \
  static double P##_wsum(const T *restrict x, const T *restrict w, int64_t n) {                      \
    double s[8] = {0};                                                                               \
    int64_t i = 0, full = n - n % 8;                                                                 \
    if (w)                                                                                           \
      for (; i < full; i += 8)                                                                       \
        for (int j = 0; j < 8; j++) s[j] += (double)(w[i + j] * x[i + j]);                           \
    else                                                                                             \
      for (; i < full; i += 8)                                                                       \
        for (int j = 0; j < 8; j++) s[j] += (double)x[i + j];                                        \
    for (; i < n; i++) s[0] += (double)(w ? w[i] * x[i] : x[i]);                                     \
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));                        \
  }                                                                                                  \
  /* probabilities: *a = sum w y', *b = sum w y' x with y' = (1 - eps) y + eps / C (b may be NULL) */ \
  static void P##_probsums(const T *restrict x, const T *restrict y, const T *restrict w, int64_t n, \
                           T keep, T add, double *a, double *b) {                                    \
    double sa = 0, sb = 0;                                                                           \
    for (int64_t i = 0; i < n; i++) {                                                                \
      T yp = y[i] * keep + add;                                                                      \
      if (w) yp *= w[i];                                                                             \
      sa += (double)yp;                                                                              \
      sb += (double)(yp * x[i]);                                                                     \
    }                                                                                                \
    *a = sa;                                                                                         \
    if (b) *b = sb;                                                                                  \
  }                                                                                                  \
                                                                                                     \
  /* ---- forward, rows (S == 1) ---- */                                                             \
  static void P##_fwd_rows(const ce_run *c, int64_t u) {                                             \
    const T *x = (const T *)(const void *)c->x, *w = (const T *)(const void *)c->w;                  \
    const T *y = (const T *)(const void *)c->y;                                                      \
    T *st = (T *)(void *)c->st, *e = (T *)(void *)c->e, *out = (T *)(void *)c->out;                  \
    const int64_t C = c->C, NS = c->N, r1 = (u + 1) * RU < c->N ? (u + 1) * RU : c->N;               \
    const double eps = c->eps, ec = C ? eps / (double)C : 0.0;                                       \
    double ls = 0, ws = 0;                                                                           \
    for (int64_t r = u * RU; r < r1; r++) {                                                          \
      const T *xr = x + r * C;                                                                       \
      double loss = 0, wt = 0;                                                                       \
      int64_t t = c->t ? c->t[r] : 0;                                                                \
      if (c->kind == K_NLL) {                                                                        \
        if (t != c->ignore) {                                                                        \
          wt = w ? (double)w[t] : 1.0;                                                               \
          loss = -wt * (double)xr[t];                                                                \
        }                                                                                            \
      } else if (c->kind == K_CE) {                                                                  \
        if (t != c->ignore) { /* ignored rows: nothing to compute (their gradient is zero) */        \
          const T m = P##_max(xr, C);                                                                \
          const double sum = P##_sumexp(xr, e ? e + r * C : NULL, C, m), l = (double)m + log(sum);   \
          if (st) st[r] = (T)(1.0 / sum);                                                            \
          wt = w ? (double)w[t] : 1.0;                                                               \
          loss = (1 - eps) * wt * (l - (double)xr[t]);                                               \
          if (eps > 0) loss += ec * (c->W * l - P##_wsum(xr, w, C));                                 \
        }                                                                                            \
      } else if (C > 0) {                                                                            \
        const T m = P##_max(xr, C);                                                                  \
        const double lg = log(P##_sumexp(xr, NULL, C, m)), l = (double)m + lg;                       \
        if (st) {                                                                                    \
          st[r] = m;                                                                                 \
          st[NS + r] = (T)lg;                                                                        \
        }                                                                                            \
        double a, b;                                                                                 \
        P##_probsums(xr, y + r * C, w, C, (T)(1 - eps), (T)ec, &a, &b);                              \
        loss = l * a - b;                                                                            \
      } else if (st) { /* no classes: nothing to normalise */                                        \
        st[r] = 0;                                                                                   \
        st[NS + r] = 0;                                                                              \
      }                                                                                              \
      if (out) out[r] = (T)loss;                                                                     \
      ls += loss;                                                                                    \
      ws += wt;                                                                                      \
    }                                                                                                \
    c->part_l[u] = ls;                                                                               \
    c->part_w[u] = ws;                                                                               \
  }                                                                                                  \
                                                                                                     \
  /* ---- forward, blocks of positions (S > 1): xb[k * S + j] is class k at position j ---- */       \
  static void P##_fwd_cols(const ce_run *c, int64_t u) {                                             \
    const T *w = (const T *)(const void *)c->w;                                                      \
    const int64_t C = c->C, S = c->S, NS = c->N * S, n = u / c->nb, j0 = (u % c->nb) * IB;           \
    const int64_t bw = S - j0 < IB ? S - j0 : IB, p0 = n * S + j0, off = n * C * S + j0;             \
    const T *xb = (const T *)(const void *)c->x + off;                                               \
    T *st = (T *)(void *)c->st, *out = (T *)(void *)c->out;                                          \
    T *eb = c->e ? (T *)(void *)c->e + off : NULL;                                                   \
    const double eps = c->eps, ec = C ? eps / (double)C : 0.0;                                       \
    double ls = 0, ws = 0;                                                                           \
    if (c->kind == K_NLL) {                                                                          \
      for (int64_t j = 0; j < bw; j++) {                                                             \
        int64_t t = c->t[p0 + j];                                                                    \
        double loss = 0, wt = 0;                                                                     \
        if (t != c->ignore) {                                                                        \
          wt = w ? (double)w[t] : 1.0;                                                               \
          loss = -wt * (double)xb[t * S + j];                                                        \
        }                                                                                            \
        if (out) out[p0 + j] = (T)loss;                                                              \
        ls += loss;                                                                                  \
        ws += wt;                                                                                    \
      }                                                                                              \
    } else {                                                                                         \
      T m[IB];                                                                                       \
      double s[IB], l[IB], a[IB], b[IB];                                                             \
      for (int64_t j = 0; j < bw; j++) m[j] = -INFINITY, s[j] = 0, a[j] = 0, b[j] = 0;               \
      for (int64_t k = 0; k < C; k++)                                                                \
        for (int64_t j = 0; j < bw; j++) m[j] = MAXV(m[j], xb[k * S + j]);                           \
      if (eb)                                                                                        \
        for (int64_t k = 0; k < C; k++)                                                              \
          for (int64_t j = 0; j < bw; j++) {                                                         \
            T v = EXP(xb[k * S + j] - m[j]);                                                         \
            eb[k * S + j] = v;                                                                       \
            s[j] += (double)v;                                                                       \
          }                                                                                          \
      else                                                                                           \
        for (int64_t k = 0; k < C; k++)                                                              \
          for (int64_t j = 0; j < bw; j++) s[j] += (double)EXP(xb[k * S + j] - m[j]);                \
      for (int64_t j = 0; j < bw; j++) l[j] = (double)m[j] + log(s[j]);                              \
      if (c->kind == K_CE && eps > 0) { /* a = sum_k w[k] x[k] */                                    \
        for (int64_t k = 0; k < C; k++) {                                                            \
          const T wk = w ? w[k] : (T)1;                                                              \
          for (int64_t j = 0; j < bw; j++) a[j] += (double)(wk * xb[k * S + j]);                     \
        }                                                                                            \
      } else if (c->kind == K_CE_PROB) { /* a = sum w y', b = sum w y' x */                          \
        const T *yb = (const T *)(const void *)c->y + off;                                           \
        const T keep = (T)(1 - eps), add = (T)ec;                                                    \
        for (int64_t k = 0; k < C; k++) {                                                            \
          const T wk = w ? w[k] : (T)1;                                                              \
          for (int64_t j = 0; j < bw; j++) {                                                         \
            T yp = (yb[k * S + j] * keep + add) * wk;                                                \
            a[j] += (double)yp;                                                                      \
            b[j] += (double)(yp * xb[k * S + j]);                                                    \
          }                                                                                          \
        }                                                                                            \
      }                                                                                              \
      for (int64_t j = 0; j < bw; j++) {                                                             \
        double loss = 0, wt = 0;                                                                     \
        if (c->kind == K_CE_PROB) {                                                                  \
          if (C > 0) loss = l[j] * a[j] - b[j];                                                      \
          if (st) {                                                                                  \
            st[p0 + j] = C > 0 ? m[j] : (T)0;                                                        \
            st[NS + p0 + j] = C > 0 ? (T)log(s[j]) : (T)0;                                           \
          }                                                                                          \
        } else {                                                                                     \
          int64_t t = c->t[p0 + j];                                                                  \
          if (st) st[p0 + j] = (T)(1.0 / s[j]);                                                      \
          if (t != c->ignore) {                                                                      \
            wt = w ? (double)w[t] : 1.0;                                                             \
            loss = (1 - eps) * wt * (l[j] - (double)xb[t * S + j]);                                  \
            if (eps > 0) loss += ec * (c->W * l[j] - a[j]);                                          \
          }                                                                                          \
        }                                                                                            \
        if (out) out[p0 + j] = (T)loss;                                                              \
        ls += loss;                                                                                  \
        ws += wt;                                                                                    \
      }                                                                                              \
    }                                                                                                \
    c->part_l[u] = ls;                                                                               \
    c->part_w[u] = ws;                                                                               \
  }                                                                                                  \
  static void P##_fwd_task(int64_t b, int64_t e, void *ctx) {                                        \
    const ce_run *c = ctx;                                                                           \
    for (int64_t u = b; u < e; u++) c->S == 1 ? P##_fwd_rows(c, u) : P##_fwd_cols(c, u);             \
  }                                                                                                  \
                                                                                                     \
  /* ---- backward, rows (S == 1) ---- */                                                            \
  static void P##_bwd_rows(const ce_run *c, int64_t u) {                                             \
    const T *x = (const T *)(const void *)c->x, *w = (const T *)(const void *)c->w;                  \
    const T *y = (const T *)(const void *)c->y, *st = (const T *)(const void *)c->st;                \
    const T *e = (const T *)(const void *)c->e, *g = (const T *)(const void *)c->g;                  \
    T *gx = (T *)(void *)c->gx, *gy = (T *)(void *)c->gy;                                            \
    const int64_t C = c->C, r1 = (u + 1) * RU < c->N ? (u + 1) * RU : c->N;                          \
    const double eps = c->eps, ec = C ? eps / (double)C : 0.0;                                       \
    for (int64_t r = u * RU; r < r1; r++) {                                                          \
      T *restrict gr = gx ? gx + r * C : NULL;                                                       \
      const double sc = g ? (double)g[r] : c->gs;                                                    \
      const int64_t t = c->t ? c->t[r] : 0;                                                          \
      if (c->kind != K_CE_PROB && t == c->ignore) {                                                  \
        for (int64_t k = 0; k < C; k++) gr[k] = 0;                                                   \
        continue;                                                                                    \
      }                                                                                              \
      if (c->kind == K_NLL) {                                                                        \
        for (int64_t k = 0; k < C; k++) gr[k] = 0;                                                   \
        gr[t] = (T)(-sc * (w ? (double)w[t] : 1.0));                                                 \
      } else if (c->kind == K_CE) { /* softmax = E / s */                                            \
        const T *restrict er = e + r * C;                                                            \
        const double wt = w ? (double)w[t] : 1.0;                                                    \
        const T A = (T)(sc * ((1 - eps) * wt + ec * c->W) * (double)st[r]), B = (T)(sc * ec);        \
        if (w && eps > 0)                                                                            \
          for (int64_t k = 0; k < C; k++) gr[k] = er[k] * A - B * w[k];                              \
        else                                                                                         \
          for (int64_t k = 0; k < C; k++) gr[k] = er[k] * A - B;                                     \
        gr[t] -= (T)(sc * (1 - eps) * wt);                                                           \
      } else {                                                                                       \
        const T *restrict xr = x + r * C, *restrict yr = y + r * C;                                  \
        const T m = st[r], lg = st[c->N + r], keep = (T)(1 - eps), add = (T)ec, s = (T)sc;           \
        if (gr) {                                                                                    \
          double a;                                                                                  \
          P##_probsums(xr, yr, w, C, keep, add, &a, NULL);                                           \
          const T A = (T)(sc * a);                                                                   \
          if (w)                                                                                     \
            for (int64_t k = 0; k < C; k++) gr[k] = EXP((xr[k] - m) - lg) * A - s * w[k] * (yr[k] * keep + add); \
          else                                                                                       \
            for (int64_t k = 0; k < C; k++) gr[k] = EXP((xr[k] - m) - lg) * A - s * (yr[k] * keep + add); \
        }                                                                                            \
        if (gy) {                                                                                    \
          T *restrict gyr = gy + r * C;                                                              \
          const T f = (T)(-sc * (1 - eps));                                                          \
          for (int64_t k = 0; k < C; k++) gyr[k] = f * (w ? w[k] : (T)1) * ((xr[k] - m) - lg);       \
        }                                                                                            \
      }                                                                                              \
    }                                                                                                \
  }                                                                                                  \
                                                                                                     \
  /* ---- backward, blocks of positions (S > 1) ---- */                                             \
  static void P##_bwd_cols(const ce_run *c, int64_t u) {                                             \
    const T *w = (const T *)(const void *)c->w, *st = (const T *)(const void *)c->st;                \
    const T *g = (const T *)(const void *)c->g;                                                      \
    const int64_t C = c->C, S = c->S, NS = c->N * S, n = u / c->nb, j0 = (u % c->nb) * IB;           \
    const int64_t bw = S - j0 < IB ? S - j0 : IB, p0 = n * S + j0, off = n * C * S + j0;             \
    T *gxb = c->gx ? (T *)(void *)c->gx + off : NULL, *gyb = c->gy ? (T *)(void *)c->gy + off : NULL; \
    const double eps = c->eps, ec = C ? eps / (double)C : 0.0;                                       \
    T sc[IB], A[IB], B[IB];                                                                          \
    for (int64_t j = 0; j < bw; j++) sc[j] = g ? g[p0 + j] : (T)c->gs;                               \
    if (c->kind == K_NLL) {                                                                          \
      for (int64_t k = 0; k < C; k++)                                                                \
        for (int64_t j = 0; j < bw; j++) gxb[k * S + j] = 0;                                         \
      for (int64_t j = 0; j < bw; j++) {                                                             \
        int64_t t = c->t[p0 + j];                                                                    \
        if (t != c->ignore) gxb[t * S + j] = (T)(-(double)sc[j] * (w ? (double)w[t] : 1.0));         \
      }                                                                                              \
    } else if (c->kind == K_CE) {                                                                    \
      const T *eb = (const T *)(const void *)c->e + off;                                             \
      for (int64_t j = 0; j < bw; j++) {                                                             \
        int64_t t = c->t[p0 + j];                                                                    \
        bool ig = t == c->ignore;                                                                    \
        double wt = ig ? 0.0 : w ? (double)w[t] : 1.0;                                               \
        A[j] = ig ? (T)0 : (T)((double)sc[j] * ((1 - eps) * wt + ec * c->W) * (double)st[p0 + j]);   \
        B[j] = ig ? (T)0 : (T)((double)sc[j] * ec);                                                  \
      }                                                                                              \
      for (int64_t k = 0; k < C; k++) {                                                              \
        const T wk = w ? w[k] : (T)1;                                                                \
        for (int64_t j = 0; j < bw; j++) gxb[k * S + j] = eb[k * S + j] * A[j] - B[j] * wk;          \
      }                                                                                              \
      for (int64_t j = 0; j < bw; j++) {                                                             \
        int64_t t = c->t[p0 + j];                                                                    \
        if (t == c->ignore) {                                                                        \
          for (int64_t k = 0; k < C; k++) gxb[k * S + j] = 0; /* even where x is not finite */      \
          continue;                                                                                  \
        }                                                                                            \
        gxb[t * S + j] -= (T)((double)sc[j] * (1 - eps) * (w ? (double)w[t] : 1.0));                 \
      }                                                                                              \
    } else {                                                                                         \
      const T *xb = (const T *)(const void *)c->x + off, *yb = (const T *)(const void *)c->y + off;  \
      const T keep = (T)(1 - eps), add = (T)ec;                                                      \
      T m[IB], lg[IB];                                                                               \
      for (int64_t j = 0; j < bw; j++) m[j] = st[p0 + j], lg[j] = st[NS + p0 + j];                   \
      if (gxb) {                                                                                     \
        for (int64_t j = 0; j < bw; j++) A[j] = 0;                                                   \
        for (int64_t k = 0; k < C; k++) {                                                            \
          const T wk = w ? w[k] : (T)1;                                                              \
          for (int64_t j = 0; j < bw; j++) A[j] += (yb[k * S + j] * keep + add) * wk;                \
        }                                                                                            \
        for (int64_t j = 0; j < bw; j++) A[j] *= sc[j];                                              \
        for (int64_t k = 0; k < C; k++) {                                                            \
          const T wk = w ? w[k] : (T)1;                                                              \
          for (int64_t j = 0; j < bw; j++)                                                           \
            gxb[k * S + j] = EXP((xb[k * S + j] - m[j]) - lg[j]) * A[j] - sc[j] * wk * (yb[k * S + j] * keep + add); \
        }                                                                                            \
      }                                                                                              \
      if (gyb)                                                                                       \
        for (int64_t k = 0; k < C; k++) {                                                            \
          const T wk = (w ? w[k] : (T)1) * (T)(-(1 - eps));                                          \
          for (int64_t j = 0; j < bw; j++) gyb[k * S + j] = sc[j] * wk * ((xb[k * S + j] - m[j]) - lg[j]); \
        }                                                                                            \
    }                                                                                                \
  }                                                                                                  \
  static void P##_bwd_task(int64_t b, int64_t e, void *ctx) {                                        \
    const ce_run *c = ctx;                                                                           \
    for (int64_t u = b; u < e; u++) c->S == 1 ? P##_bwd_rows(c, u) : P##_bwd_cols(c, u);             \
  }

static inline double exp_d(double v) { return exp(v); }
DEF_CE(ce_f, float, tc__expf)
DEF_CE(ce_d, double, exp_d)

/* work units and the number of units per parallel task */
static int64_t ce_units(const ce_run *c) { return c->S == 1 ? (c->N + RU - 1) / RU : c->N * c->nb; }
static int64_t ce_grain(const ce_run *c) {
  int64_t per = (c->S == 1 ? RU : IB) * (c->C > 0 ? c->C : 1) * 3;
  int64_t g = TC__GRAIN_ELEMENTWISE / per;
  return g < 1 ? 1 : g;
}

/* ---- autograd node --------------------------------------------------------------------------- */
/* Saved tensors: 0 the target (int64 classes, or probabilities), then by kind
 * K_CE: 1 E, 2 1/s; K_CE_PROB: 1 x, 2 (m, log s); K_NLL: nothing more; the weight last if any. */
typedef struct {
  ce_kind kind;
  int64_t N, C, S, ignore;
  double eps, W, den;
  tc_reduction red;
  tc_dtype cd; /* compute dtype (of the saved tensors and of the gradients made here) */
  int64_t in_shape[TC_MAX_DIMS];
  int in_nd;
  int i_w; /* index of the saved weight, -1 when absent */
} ce_node;

static tc_status ce_backward(tc__node *n, tc_tensor *const *go, tc_tensor **gi) {
  const ce_node *k = tc__node_ctx(n);
  const int n_mid = k->kind == K_NLL ? 0 : 2;
  const tc_tensor *sv[4] = {NULL};
  for (int i = 0; i <= n_mid; i++)
    if (!(sv[i] = tc__node_saved(n, i))) return tc_last_status();
  const tc_tensor *ws = k->i_w >= 0 ? tc__node_saved(n, k->i_w) : NULL;
  if (k->i_w >= 0 && !ws) return tc_last_status();
  const bool need_x = n->next[0].node != NULL, need_y = k->kind == K_CE_PROB && n->next[1].node != NULL;
  const tc_device dev = sv[0]->storage->device;
  ce_run c = {.kind = k->kind, .N = k->N, .C = k->C, .S = k->S, .nb = (k->S + IB - 1) / IB, .ignore = k->ignore,
              .eps = k->eps, .W = k->W};
  tc_tensor *g = NULL, *gx = NULL, *gy = NULL;
  if (k->red == TC_REDUCTION_NONE) {
    if (!(g = tc__loss_contig(go[0], k->cd))) return tc_last_status();
    c.g = tc__ptr(g);
  } else {
    double gv = tc__load_double(tc__ptr(go[0]), go[0]->dtype);
    c.gs = k->red == TC_REDUCTION_MEAN ? gv / k->den : gv;
  }
  if (need_x && !(gx = tc__empty(k->in_shape, k->in_nd, k->cd, dev))) goto fail;
  if (need_y && !(gy = tc__empty(k->in_shape, k->in_nd, k->cd, dev))) goto fail;
  if (k->kind == K_CE_PROB) {
    c.y = tc__ptr(sv[0]);
    c.x = tc__ptr(sv[1]);
  } else {
    c.t = (const int64_t *)(const void *)tc__ptr(sv[0]);
    if (k->kind == K_CE) c.e = (char *)tc__ptr(sv[1]);
  }
  if (n_mid) c.st = (char *)tc__ptr(sv[2]);
  c.w = ws ? tc__ptr(ws) : NULL;
  c.gx = gx ? tc__ptr(gx) : NULL;
  c.gy = gy ? tc__ptr(gy) : NULL;
  if (gx || gy) tc_parallel_for(ce_units(&c), ce_grain(&c), k->cd == TC_F32 ? ce_f_bwd_task : ce_d_bwd_task, &c);
  tc_tensor_release(g);
  gi[0] = gx;
  if (k->kind == K_CE_PROB) gi[1] = gy;
  return TC_OK;
fail:
  tc_tensor_release(g);
  tc_tensor_release(gx);
  return tc_last_status();
}

/* ---- forward --------------------------------------------------------------------------------- */
static bool same_shape(const tc_tensor *a, const tc_tensor *b) {
  return a->ndim == b->ndim && !memcmp(a->sizes, b->sizes, sizeof(int64_t) * (size_t)a->ndim);
}

/* Checks every target is a class in [0, C) or ignore_index; names the first that is not. */
static tc_status check_targets(const char *fn, const int64_t *t, int64_t n, int64_t C, int64_t ignore,
                               const tc_tensor *target) {
  for (int64_t p = 0; p < n; p++) {
    if (t[p] == ignore || (t[p] >= 0 && t[p] < C)) continue;
    int64_t idx[TC_MAX_DIMS], q = p;
    for (int d = target->ndim - 1; d >= 0; d--) {
      idx[d] = target->sizes[d] ? q % target->sizes[d] : 0;
      q = target->sizes[d] ? q / target->sizes[d] : 0;
    }
    return tc__error(TC_ERR_ARG, "%s: target %lld is out of bounds: classes are 0..%lld (ignore_index %lld), at target%s",
                     fn, (long long)t[p], (long long)(C - 1), (long long)ignore, tc__shape_str(idx, target->ndim));
  }
  return TC_OK;
}

/* ---- on a device (class targets): the backend's fused kernels, reductions on the device ------- */
typedef struct {
  bool nll;
  int64_t N, C, S, ignore;
  double eps, W;
  tc_reduction red;
  tc_dtype cd;
  int64_t in_shape[TC_MAX_DIMS];
  int in_nd;
  bool has_w;
} ce_dev_node;

/* saved: 0 target (int64, contiguous), 1 x (cd, contiguous), 2 lse (P), 3 the mean's denominator
 * (0-d; a placeholder otherwise), 4 the weight when present */
static tc_status ce_device_backward(tc__node *n, tc_tensor *const *go, tc_tensor **gi) {
  const ce_dev_node *k = tc__node_ctx(n);
  const tc_tensor *sv[5] = {NULL};
  for (int i = 0; i < (k->has_w ? 5 : 4); i++)
    if (!(sv[i] = tc__node_saved(n, i))) return tc_last_status();
  if (!n->next[0].node) return TC_OK;
  const tc__device_api *api = tc__backend(sv[1]);
  tc_tensor *g = tc__loss_contig(go[0], k->cd), *gs = NULL;
  if (g && k->red == TC_REDUCTION_MEAN) gs = tc_div(g, sv[3]); /* upstream / sum of target weights */
  else gs = tc_tensor_retain(g);
  tc_tensor *gx = gs ? tc__empty(k->in_shape, k->in_nd, k->cd, sv[1]->storage->device) : NULL;
  tc_status st = gx ? TC_OK : tc_last_status();
  if (!st)
    st = api->class_loss_bwd(tc__dev_index(sv[1]), k->cd, k->nll, tc__ptr(sv[1]), (const int64_t *)tc__ptr(sv[0]),
                             k->has_w ? tc__ptr(sv[4]) : NULL, tc__ptr(sv[2]), k->N * k->S, k->C, k->S, k->ignore,
                             k->eps, k->W, tc__ptr(gs), k->red == TC_REDUCTION_NONE ? 1 : 0, tc__ptr(gx));
  tc_tensor_release(g);
  tc_tensor_release(gs);
  if (st) {
    tc_tensor_release(gx);
    return st;
  }
  gi[0] = gx;
  return TC_OK;
}

/* cross_entropy with class probabilities on a device, composed of recorded device ops (autograd
 * follows them): -sum_c w_c y'_c log_softmax(x)_c per position, y' = (1 - eps) y + eps / C, then
 * the reduction (mean: over the positions, as the CPU's). Result in dtype rd. */
static tc_tensor *device_prob_loss(const tc_tensor *input, const tc_tensor *target, const tc_tensor *weight,
                                   double eps, tc_reduction reduction, int64_t C, tc_dtype rd) {
  int cdim = input->ndim == 1 ? 0 : 1;
  int64_t wshape[TC_MAX_DIMS];
  for (int d = 0; d < input->ndim; d++) wshape[d] = d == cdim ? C : 1;
  tc_dtype cd = tc__compute_dtype(rd); /* every operand in the compute dtype first, as the CPU's */
  tc_tensor *k[12] = {0}, *r = NULL;
  tc_tensor *y = k[9] = tc_to_dtype(target, cd);
  if (y && (k[10] = tc_to_dtype(input, cd)) && (k[0] = tc_log_softmax(k[10], cdim)) && eps > 0)
    y = k[1] = tc_add_scalar(k[2] = tc_mul_scalar(k[9], 1 - eps), eps / (double)C);
  tc_tensor *prod = y && k[0] ? (k[3] = tc_mul(y, k[0])) : NULL;
  if (prod && weight)
    prod = k[5] = (k[11] = tc_to_dtype(weight, cd)) && (k[4] = tc_reshape(k[11], wshape, input->ndim)) ? tc_mul(prod, k[4])
                                                                                                   : NULL;
  tc_tensor *per = prod ? (k[6] = tc_neg(k[7] = tc_sum(prod, (int64_t[]){cdim}, 1, false))) : NULL;
  if (per) {
    if (reduction == TC_REDUCTION_NONE) r = tc_tensor_retain(per);
    else r = reduction == TC_REDUCTION_SUM ? tc_sum(per, NULL, 0, false) : tc_mean(per, NULL, 0, false);
  }
  if (r && r->dtype != rd) {
    k[8] = r;
    r = tc_to_dtype(k[8], rd);
  }
  for (int i = 0; i < 12; i++) tc_tensor_release(k[i]);
  return r;
}

static tc_tensor *device_class_loss(const char *fn, const tc_tensor *input, const tc_tensor *target,
                                    const tc_tensor *weight, const tc_ce_opts *o, bool nll, int64_t N, int64_t C,
                                    int64_t S, const int64_t *oshape, int ond, tc_dtype cd, tc_dtype rd) {
  const tc__device_api *api = tc__backend(input);
  if (!api || !api->class_loss_fwd) {
    tc__kernel_missing(fn, input);
    return NULL;
  }
  if (tc__check_same_device(fn, input, target) || (weight && tc__check_same_device(fn, input, weight))) return NULL;
  const tc_device dev = input->storage->device;
  const int64_t P = N * S;
  double eps = nll ? 0.0 : o->label_smoothing, W = (double)C;
  tc_tensor *xs = NULL, *ts = NULL, *ws = NULL, *th = NULL, *wh = NULL, *lse = NULL, *loss = NULL, *wt = NULL,
            *den = NULL, *res = NULL;
  if (!(xs = tc__loss_contig(input, cd)) || !(ts = tc__loss_contig(target, TC_I64))) goto done;
  if (weight && !(ws = tc__loss_contig(weight, cd))) goto done;
  /* targets are checked on the host (a device assert would abort the process) */
  if (!(th = tc_tensor_to(ts, tc_cpu()))) goto done;
  if (check_targets(fn, (const int64_t *)(const void *)tc__ptr(th), P, C, o->ignore_index, target)) goto done;
  if (ws) {
    if (!(wh = tc_tensor_to(ws, tc_cpu()))) goto done;
    W = 0;
    for (int64_t c = 0; c < C; c++) W += tc__load_double(tc__ptr(wh) + (size_t)c * tc_dtype_size(cd), cd);
  }
  if (!(lse = tc__empty(&P, 1, cd, dev)) || !(loss = tc__empty(&P, 1, cd, dev)) || !(wt = tc__empty(&P, 1, cd, dev)))
    goto done;
  if (api->class_loss_fwd(tc__dev_index(input), cd, nll, tc__ptr(xs), (const int64_t *)tc__ptr(ts),
                          ws ? tc__ptr(ws) : NULL, P, C, S, o->ignore_index, eps, W, tc__ptr(loss), tc__ptr(wt),
                          tc__ptr(lse)))
    goto done;
  tc_tensor *r = NULL;
  if (o->reduction == TC_REDUCTION_NONE) {
    int64_t st[TC_MAX_DIMS];
    tc__contiguous_strides(oshape, ond, st);
    r = tc__view(loss, oshape, st, ond, 0);
    if (!(den = tc__empty(NULL, 0, cd, dev))) goto done;
  } else {
    tc_tensor *total = tc_sum(loss, NULL, 0, false);
    if (!total) goto done;
    if (!(den = nll || o->reduction == TC_REDUCTION_MEAN ? tc_sum(wt, NULL, 0, false) : tc__empty(NULL, 0, cd, dev))) {
      tc_tensor_release(total);
      goto done;
    }
    r = o->reduction == TC_REDUCTION_MEAN ? tc_div(total, den) : tc_tensor_retain(total);
    tc_tensor_release(total);
  }
  res = tc__loss_cast(r, rd);
  const tc_tensor *ins[1] = {input};
  if (res && tc__grad_needed(1, ins)) {
    ce_dev_node k = {.nll = nll, .N = N, .C = C, .S = S, .ignore = o->ignore_index, .eps = eps, .W = W,
                     .red = o->reduction, .cd = cd, .in_nd = input->ndim, .has_w = ws != NULL};
    memcpy(k.in_shape, input->sizes, sizeof(int64_t) * (size_t)input->ndim);
    const tc_tensor *save[5] = {ts, xs, lse, den, ws};
    const char *name = !nll ? "CrossEntropyLossBackward0" : input->ndim >= 3 ? "NllLoss2DBackward0" : "NllLossBackward0";
    res = tc__record(res, name, ce_device_backward, 1, ins, ws ? 5 : 4, save, &k, sizeof k);
  }
done:
  tc_tensor_release(den);
  tc_tensor_release(wt);
  tc_tensor_release(loss);
  tc_tensor_release(lse);
  tc_tensor_release(wh);
  tc_tensor_release(th);
  tc_tensor_release(ws);
  tc_tensor_release(ts);
  tc_tensor_release(xs);
  return res;
}

static tc_tensor *class_loss(const char *fn, const tc_tensor *input, const tc_tensor *target, const tc_ce_opts *opts,
                             bool nll) {
  TC__NONNULL_T(input, fn);
  TC__NONNULL_T(target, fn);
  const tc_ce_opts dflt = TC_CE_DEFAULTS;
  const tc_ce_opts *o = opts ? opts : &dflt;
  const tc_tensor *weight = o->weight;
  if (tc__loss_check_reduction(fn, o->reduction)) return NULL;
  const bool on_device = !tc__is_cpu(input);
  if (!on_device &&
      (tc__require_cpu(fn, input) || tc__require_cpu(fn, target) || (weight && tc__require_cpu(fn, weight))))
    return NULL;
  if (!tc_dtype_is_floating(input->dtype)) {
    tc__error(TC_ERR_DTYPE, "%s: input must be a floating point tensor of %s, got %s", fn,
              nll ? "log-probabilities" : "logits", tc_dtype_name(input->dtype));
    return NULL;
  }
  if (input->ndim < 1) {
    tc__error(TC_ERR_SHAPE, "%s: input must be (C), (N, C) or (N, C, d1, ...), got a 0-d tensor", fn);
    return NULL;
  }
  const double eps = nll ? 0.0 : o->label_smoothing;
  if (!(eps >= 0.0 && eps <= 1.0)) {
    tc__error(TC_ERR_ARG, "%s: label_smoothing must be between 0.0 and 1.0, got %g", fn, eps);
    return NULL;
  }
  const bool prob = !nll && same_shape(input, target);
  const int64_t C = input->ndim == 1 ? input->sizes[0] : input->sizes[1];
  const int64_t N = input->ndim == 1 ? 1 : input->sizes[0];
  int64_t S = 1, oshape[TC_MAX_DIMS];
  int ond = 0;
  for (int d = 0; d < input->ndim; d++) {
    if (d >= 2) S *= input->sizes[d];
    if (d != (input->ndim == 1 ? 0 : 1)) oshape[ond++] = input->sizes[d];
  }
  if (weight && (weight->ndim != 1 || weight->sizes[0] != C)) {
    tc__error(TC_ERR_SHAPE, "%s: weight should have one entry per class (%lld classes, input %s), got shape %s", fn,
              (long long)C, tc__tshape(input), tc__tshape(weight));
    return NULL;
  }
  tc_dtype rd = input->dtype;
  if (prob) {
    if (!tc_dtype_is_floating(target->dtype)) {
      tc__error(TC_ERR_DTYPE, "%s: a target shaped like the input (%s) holds class probabilities and must be floating point, got %s",
                fn, tc__tshape(input), tc_dtype_name(target->dtype));
      return NULL;
    }
    if (o->ignore_index >= 0) {
      tc__error(TC_ERR_ARG, "%s: ignore_index (%lld) is not supported for class-probability targets", fn,
                (long long)o->ignore_index);
      return NULL;
    }
    if (weight && !tc_dtype_is_floating(weight->dtype)) {
      tc__error(TC_ERR_DTYPE, "%s: weight must be floating point, got %s", fn, tc_dtype_name(weight->dtype));
      return NULL;
    }
    rd = tc_promote_types(input->dtype, target->dtype);
    if (weight) rd = tc_promote_types(rd, weight->dtype);
  } else {
    if (target->dtype != TC_I64 && target->dtype != TC_U8) {
      tc__error(TC_ERR_DTYPE, "%s: expected target dtype to be int64 or uint8 (class indices), got %s", fn,
                tc_dtype_name(target->dtype));
      return NULL;
    }
    bool ok = target->ndim == ond && !memcmp(target->sizes, oshape, sizeof(int64_t) * (size_t)ond);
    if (input->ndim == 1 && target->ndim == 1 && target->sizes[0] == 1) ok = true; /* (C) with (1), as PyTorch */
    if (!ok) {
      tc__error(TC_ERR_SHAPE, "%s: input of shape %s needs a target of shape %s, got %s", fn, tc__tshape(input),
                tc__shape_str(oshape, ond), tc__tshape(target));
      return NULL;
    }
    if (weight && weight->dtype != input->dtype) {
      tc__error(TC_ERR_DTYPE, "%s: weight must have the input's dtype %s, got %s", fn, tc_dtype_name(input->dtype),
                tc_dtype_name(weight->dtype));
      return NULL;
    }
  }
  const tc_dtype cd = tc__compute_dtype(rd);
  if (on_device) {
    if (prob) return device_prob_loss(input, target, weight, eps, o->reduction, C, rd);
    return device_class_loss(fn, input, target, weight, o, nll, N, C, S, oshape, ond, cd, rd);
  }
  const tc_device dev = input->storage->device;
  const tc_tensor *ins[2] = {input, target};
  const int n_in = prob ? 2 : 1;
  const bool need_grad = tc__grad_needed(n_in, ins);
  const ce_kind kind = nll ? K_NLL : prob ? K_CE_PROB : K_CE;

  tc_tensor *xs = NULL, *ts = NULL, *ws = NULL, *e = NULL, *st = NULL, *out = NULL, *res = NULL;
  double *part = NULL;
  ce_run c = {.kind = kind, .N = N, .C = C, .S = S, .nb = (S + IB - 1) / IB, .ignore = o->ignore_index, .eps = eps,
              .W = (double)C};
  if (!(xs = tc__loss_contig(input, cd))) goto done;
  if (!(ts = tc__loss_contig(target, prob ? cd : TC_I64))) goto done;
  if (weight && !(ws = tc__loss_contig(weight, cd))) goto done;
  if (!prob && check_targets(fn, (const int64_t *)(const void *)tc__ptr(ts), N * S, C, o->ignore_index, target))
    goto done;
  if (ws) {
    c.W = 0;
    for (int64_t k = 0; k < C; k++) c.W += tc__load_double(tc__ptr(ws) + (size_t)k * tc_dtype_size(cd), cd);
  }
  if (need_grad && kind == K_CE) { /* what the backward keeps: E = exp(x - m) and 1/s */
    if (!(e = tc__empty(xs->sizes, xs->ndim, cd, dev)) || !(st = tc__empty((int64_t[]){N * S}, 1, cd, dev))) goto done;
  } else if (need_grad && kind == K_CE_PROB) { /* m and log s */
    if (!(st = tc__empty((int64_t[]){2, N * S}, 2, cd, dev))) goto done;
  }
  if (o->reduction == TC_REDUCTION_NONE && !(out = tc__empty(oshape, ond, cd, dev))) goto done;
  const int64_t units = ce_units(&c);
  if (!(part = tc__malloc(sizeof(double) * (size_t)(2 * units + 2)))) goto done;
  c.x = tc__ptr(xs);
  c.y = prob ? tc__ptr(ts) : NULL;
  c.t = prob ? NULL : (const int64_t *)(const void *)tc__ptr(ts);
  c.w = ws ? tc__ptr(ws) : NULL;
  c.e = e ? tc__ptr(e) : NULL;
  c.st = st ? tc__ptr(st) : NULL;
  c.out = out ? tc__ptr(out) : NULL;
  c.part_l = part;
  c.part_w = part + units;
  tc_parallel_for(units, ce_grain(&c), cd == TC_F32 ? ce_f_fwd_task : ce_d_fwd_task, &c);
  double den = prob ? (C > 0 ? (double)(N * S) : 0.0) : tc__loss_sum(c.part_w, units);
  if (out) {
    res = tc__loss_cast(out, rd);
    out = NULL;
  } else {
    double total = tc__loss_sum(c.part_l, units);
    res = tc__loss_scalar(o->reduction == TC_REDUCTION_MEAN ? total / den : total, rd, dev);
  }
  if (res && need_grad) {
    ce_node k = {.kind = kind, .N = N, .C = C, .S = S, .ignore = o->ignore_index, .eps = eps, .W = c.W, .den = den,
                 .red = o->reduction, .cd = cd, .in_nd = input->ndim, .i_w = -1};
    memcpy(k.in_shape, input->sizes, sizeof(int64_t) * (size_t)input->ndim);
    const tc_tensor *save[4] = {ts, kind == K_CE ? e : xs, st};
    int ns = kind == K_NLL ? 1 : 3;
    if (ws) save[k.i_w = ns++] = ws;
    const char *name = kind != K_NLL ? "CrossEntropyLossBackward0" : input->ndim >= 3 ? "NllLoss2DBackward0"
                                                                                       : "NllLossBackward0";
    res = tc__record(res, name, ce_backward, n_in, ins, ns, save, &k, sizeof k);
  }
done:
  tc__free(part);
  tc_tensor_release(out);
  tc_tensor_release(st);
  tc_tensor_release(e);
  tc_tensor_release(ws);
  tc_tensor_release(ts);
  tc_tensor_release(xs);
  return res;
}

tc_tensor *tc_cross_entropy(const tc_tensor *input, const tc_tensor *target, const tc_ce_opts *opts) {
  tc__amp_call am; /* class targets are integers: only the input (or probability targets) cast */
  if (tc__amp_begin(&am, TC__AMP_F32, 2, input, target, NULL))
    return tc__amp_end(&am, am.ok ? tc_cross_entropy(am.in[0], am.in[1], opts) : NULL);
  return class_loss("tc_cross_entropy", input, target, opts, false);
}

tc_tensor *tc_nll_loss(const tc_tensor *input, const tc_tensor *target, const tc_ce_opts *opts) {
  tc__amp_call am;
  if (tc__amp_begin(&am, TC__AMP_F32, 1, input, NULL, NULL))
    return tc__amp_end(&am, am.ok ? tc_nll_loss(am.in[0], target, opts) : NULL);
  return class_loss("tc_nll_loss", input, target, opts, true);
}
