/* core/src/nn/pool.c — max, average and adaptive average pooling (1-d and 2-d), forward and
 * backward, as torch.nn.functional.
 *
 * Every pooling call works on planes: x (N, C, H, W) or unbatched (C, H, W) is B = N*C (or C)
 * contiguous (H, W) planes, and the output (.., OH, OW) likewise; 1-d pooling is 2-d pooling of
 * x.unsqueeze(-2) with a (1, k) window followed by .squeeze(-2), which is also how PyTorch builds
 * it (so y.grad_fn is SqueezeBackward1 over MaxPool2DWithIndicesBackward0 / AvgPool2DBackward0 /
 * AdaptiveAvgPool2DBackward0, as in PyTorch).
 *
 * Geometry (PyTorch's pooling_output_shape): OH = floor((H + 2p - d(k-1) - 1 + (ceil ? s-1 : 0)) / s)
 * + 1, minus one in ceil mode when the last window would start at or past H + p (it must start
 * inside the input or the left padding). Checks as PyTorch: kernel/stride/dilation > 0,
 * 0 <= pad <= kernel/2, an output of at least one element, non-empty non-batch dims.
 *
 * Max pooling keeps the first maximum of each window in row-major order, except that NaN wins (a
 * later NaN replaces an earlier one), and returns indices as flat positions h*W + w within the
 * plane, as PyTorch. Average pooling divides by divisor_override, or by the window clipped to the
 * padded input (count_include_pad) or to the input itself; int64 inputs divide with truncation as
 * PyTorch. Adaptive pooling averages rows [floor(o*H/OH), ceil((o+1)*H/OH)).
 *
 * Backward scatters each output gradient into its window (max: to the saved index). Work is
 * parallel over planes; a plane is written by one task in a fixed order, so results do not depend
 * on the thread count. float16/bfloat16 compute in float32.
 *
 * Device tensors go to the backend's pool_fwd / pool_bwd (cuda/pool.cu) with the same geometry
 * (tc__pool_desc) on contiguous f32/f64 planes, f16/bf16 converted as here; the device kernels
 * also max-pool integers (average pooling of int64 is CPU-only: TC_ERR_UNSUPPORTED there).
 */
#include <math.h>
#if defined(__SSE4_1__)
#include <smmintrin.h>
#endif
#include "../autograd/autograd_internal.h"
#include "ctorch/nn_functional.h"

#define POOL_GRAIN_ELEMS 32768

typedef enum { POOL_MAX, POOL_AVG, POOL_ADAPTIVE } pool_kind;

typedef struct {
  pool_kind kind;
  int64_t B;      /* planes */
  int64_t IH, IW; /* plane */
  int64_t OH, OW;
  int64_t kH, kW, sH, sW, pH, pW, dH, dW;
  bool count_include_pad;
  int64_t divisor; /* 0: none */
} pool_geom;

/* ---- geometry ------------------------------------------------------------------------------------------ */
static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static int64_t pool_out_size(int64_t in, int64_t k, int64_t pad, int64_t stride, int64_t dil, bool ceil_mode) {
  int64_t out = floor_div(in + 2 * pad - dil * (k - 1) - 1 + (ceil_mode ? stride - 1 : 0), stride) + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad) out--;
  return out;
}

/* "3x6x6" */
static void dims_str(char *buf, size_t cap, const int64_t *v, int n) {
  size_t len = 0;
  buf[0] = 0;
  for (int i = 0; i < n && len < cap; i++) {
    int w = snprintf(buf + len, cap - len, i ? "x%lld" : "%lld", (long long)v[i]);
    if (w < 0) break;
    len += (size_t)w;
  }
}

/* Input rank: spatial + 1 (unbatched) or spatial + 2, every non-batch dim non-empty. (Any device:
 * pool2d_run checks what a device backend supports.) */
static tc_status check_pool_input(const char *fn, const tc_tensor *x, int spatial) {
  bool ok = x->ndim == spatial + 1 || x->ndim == spatial + 2;
  for (int d = x->ndim == spatial + 2 ? 1 : 0; ok && d < x->ndim; d++) ok = x->sizes[d] > 0;
  if (!ok)
    return tc__error(TC_ERR_SHAPE,
                     "%s: expected a %dD or %dD (batch mode) tensor with optional 0 dim batch size and non-empty "
                     "other dims for input, but got %s", fn, spatial + 1, spatial + 2, tc__tshape(x));
  return TC_OK;
}

/* Resolves kernel/stride/padding/dilation/ceil_mode for a max (or avg) pooling of `spatial` dims;
 * the plane geometry is always 2-D (1-D: H = 1, a (1, k) window). */
static tc_status pool_resolve(const char *fn, const tc_tensor *x, const tc_pool_opts *o, int spatial, pool_kind kind,
                              pool_geom *g) {
  if (check_pool_input(fn, x, spatial)) return tc_last_status();
  if (!o) return tc__error(TC_ERR_ARG, "%s: options are NULL (the kernel size is required)", fn);
  bool is_max = kind == POOL_MAX;
  if (!tc_dtype_is_floating(x->dtype)) {
    bool ok = is_max ? (tc_dtype_is_integral(x->dtype, false)) : x->dtype == TC_I64;
    if (!ok)
      return tc__error(TC_ERR_DTYPE, "%s: unsupported dtype %s (expects %s)", fn, tc_dtype_name(x->dtype),
                       is_max ? "floating-point or integer inputs" : "floating-point or int64 inputs");
  }
  int64_t k[2], s[2], p[2], d[2];
  for (int i = 0; i < spatial; i++) {
    k[i] = o->kernel[i];
    s[i] = o->stride[i] ? o->stride[i] : k[i];
    p[i] = o->padding[i];
    d[i] = is_max && o->dilation[i] ? o->dilation[i] : 1;
    if (!is_max && o->dilation[i] != 0 && o->dilation[i] != 1)
      return tc__error(TC_ERR_ARG, "%s: dilation is for max pooling only (got %lld)", fn, (long long)o->dilation[i]);
  }
  if (spatial == 1) { /* a (1, k) window on (1, L) planes */
    k[1] = k[0], s[1] = s[0], p[1] = p[0], d[1] = d[0];
    k[0] = 1, s[0] = 1, p[0] = 0, d[0] = 1;
  }
  const int lo = spatial == 1 ? 1 : 0; /* the dims the user gave */
  for (int i = lo; i < 2; i++) {
    if (k[i] <= 0)
      return tc__error(TC_ERR_ARG, "%s: kernel size should be greater than zero, but got %lld", fn, (long long)k[i]);
    if (s[i] <= 0)
      return tc__error(TC_ERR_ARG, "%s: stride should be greater than zero, but got %lld", fn, (long long)s[i]);
    if (d[i] <= 0)
      return tc__error(TC_ERR_ARG, "%s: dilation should be greater than zero, but got %lld", fn, (long long)d[i]);
    if (p[i] < 0) return tc__error(TC_ERR_ARG, "%s: pad must be non-negative, but got %lld", fn, (long long)p[i]);
    if (p[i] > k[i] / 2)
      return tc__error(TC_ERR_ARG,
                       "%s: pad should be at most half of effective kernel size, but got pad=%lld, kernel_size=%lld "
                       "and dilation=%lld", fn, (long long)p[i], (long long)k[i], (long long)d[i]);
  }
  int nd = x->ndim;
  int64_t IH = spatial == 2 ? x->sizes[nd - 2] : 1, IW = x->sizes[nd - 1];
  *g = (pool_geom){.kind = kind, .B = tc__numel(x->sizes, nd - spatial), .IH = IH, .IW = IW,
                   .kH = k[0], .kW = k[1], .sH = s[0], .sW = s[1], .pH = p[0], .pW = p[1], .dH = d[0], .dW = d[1],
                   .count_include_pad = !o->count_include_pad_false, .divisor = is_max ? 0 : o->divisor_override};
  g->OH = pool_out_size(IH, k[0], p[0], s[0], d[0], o->ceil_mode);
  g->OW = pool_out_size(IW, k[1], p[1], s[1], d[1], o->ceil_mode);
  if (g->OH < 1 || g->OW < 1) {
    int64_t in[3], out[3];
    int n = 0;
    in[n] = out[n] = nd == spatial + 2 ? x->sizes[1] : x->sizes[0];
    n++;
    if (spatial == 2) in[n] = IH, out[n++] = g->OH;
    in[n] = IW, out[n++] = g->OW;
    char a[96], b[96];
    dims_str(a, sizeof a, in, n);
    dims_str(b, sizeof b, out, n);
    return tc__error(TC_ERR_SHAPE, "%s: given input size: (%s). Calculated output size: (%s). Output size is too small",
                     fn, a, b);
  }
  return TC_OK;
}

/* ---- kernels --------------------------------------------------------------------------------------------- */
typedef struct {
  const pool_geom *g;
  const char *x; /* B planes (IH, IW), contiguous */
  char *y;       /* B planes (OH, OW) */
  int64_t *idx;  /* max: B planes (OH, OW) of indices, or NULL */
  const char *gy;
  char *gx;
} pool_job;

/* Output columns whose window lies inside the input horizontally (no padding, no clipping):
 * [*lo, *hi). They are computed a row chunk at a time with vector loops over the outputs; the
 * others (near the borders) one by one. */
static void interior_cols(const pool_geom *g, int64_t *lo, int64_t *hi) {
  int64_t a = (g->pW + g->sW - 1) / g->sW;
  int64_t lim = g->IW - 1 - (g->kW - 1) * g->dW + g->pW;
  int64_t b = lim >= 0 ? lim / g->sW + 1 : 0;
  if (b > g->OW) b = g->OW;
  if (a > b) a = b;
  *lo = a;
  *hi = b;
}

#define POOL_CHUNK 64

/* max pooling forward over planes [b0, b1) for one element type. Each window is scanned in row-major
 * order keeping the first maximum, a NaN replacing the current one (PyTorch's order and rule); the
 * interior columns run the same scan for POOL_CHUNK outputs at once, branch-free. */
#define DEF_MAX_FWD(SUF, T, INIT)                                                                      \
  static void max_fwd_##SUF(const pool_job *j, int64_t b0, int64_t b1) {                               \
    const pool_geom *g = j->g;                                                                         \
    int64_t clo, chi;                                                                                  \
    interior_cols(g, &clo, &chi);                                                                      \
    const int64_t IW = g->IW, sW = g->sW, dW = g->dW, kW = g->kW;                                      \
    for (int64_t b = b0; b < b1; b++) {                                                                \
      const T *restrict x = (const T *)(const void *)j->x + b * g->IH * IW;                            \
      T *restrict y = (T *)(void *)j->y + b * g->OH * g->OW;                                           \
      int64_t *restrict idx = j->idx ? j->idx + b * g->OH * g->OW : NULL;                              \
      for (int64_t oh = 0; oh < g->OH; oh++) {                                                         \
        int64_t h0 = oh * g->sH - g->pH, h1 = h0 + (g->kH - 1) * g->dH + 1;                            \
        if (h1 > g->IH) h1 = g->IH;                                                                    \
        while (h0 < 0) h0 += g->dH;                                                                    \
        for (int64_t ow = 0; ow < g->OW; ow++) {                                                       \
          if (ow == clo && chi > clo) ow = chi; /* the interior runs below */                         \
          if (ow >= g->OW) break;                                                                      \
          int64_t w0 = ow * sW - g->pW, w1 = w0 + (kW - 1) * dW + 1;                                   \
          if (w1 > IW) w1 = IW;                                                                        \
          while (w0 < 0) w0 += dW;                                                                     \
          int64_t mi = h0 * IW + w0;                                                                   \
          T m = INIT;                                                                                  \
          for (int64_t h = h0; h < h1; h += g->dH)                                                     \
            for (int64_t w = w0; w < w1; w += dW) {                                                    \
              T v = x[h * IW + w];                                                                     \
              if (v > m || v != v) { /* NaN wins */                                                    \
                m = v;                                                                                 \
                mi = h * IW + w;                                                                       \
              }                                                                                        \
            }                                                                                          \
          y[oh * g->OW + ow] = m;                                                                      \
          if (idx) idx[oh * g->OW + ow] = mi;                                                          \
        }                                                                                              \
        for (int64_t a = clo; a < chi; a += POOL_CHUNK) {                                              \
          int64_t n = chi - a < POOL_CHUNK ? chi - a : POOL_CHUNK, wb = a * sW - g->pW;                \
          T m[POOL_CHUNK];                                                                             \
          int64_t mi[POOL_CHUNK];                                                                      \
          for (int64_t q = 0; q < n; q++) m[q] = INIT, mi[q] = h0 * IW + wb + q * sW;                  \
          for (int64_t h = h0; h < h1; h += g->dH)                                                     \
            for (int64_t kw = 0; kw < kW; kw++) {                                                      \
              int64_t base = h * IW + wb + kw * dW;                                                    \
              const T *restrict src = x + base;                                                        \
              if (idx) {                                                                        \
                for (int64_t q = 0; q < n; q++) {                                                      \
                  T v = src[q * sW];                                                                   \
                  bool t = (v > m[q]) | (v != v);                                                       \
                  m[q] = t ? v : m[q];                                                                 \
                  mi[q] = t ? base + q * sW : mi[q];                                                   \
                }                                                                                      \
              } else {                                                                                 \
                for (int64_t q = 0; q < n; q++) {                                                      \
                  T v = src[q * sW];                                                                   \
                  m[q] = ((v > m[q]) | (v != v)) ? v : m[q];                                                \
                }                                                                                      \
              }                                                                                        \
            }                                                                                          \
          memcpy(y + oh * g->OW + a, m, sizeof(T) * (size_t)n);                                        \
          if (idx) memcpy(idx + oh * g->OW + a, mi, sizeof(int64_t) * (size_t)n);                      \
        }                                                                                              \
      }                                                                                                \
    }                                                                                                  \
  }
DEF_MAX_FWD(f32, float, -INFINITY)
DEF_MAX_FWD(f64, double, -INFINITY)
DEF_MAX_FWD(i64, int64_t, INT64_MIN)
DEF_MAX_FWD(i32, int32_t, INT32_MIN)
DEF_MAX_FWD(i16, int16_t, INT16_MIN)
DEF_MAX_FWD(i8, int8_t, INT8_MIN)
DEF_MAX_FWD(u8, uint8_t, 0)
DEF_MAX_FWD(u16, uint16_t, 0)

/* 2x2 windows, stride 2, no padding or dilation (the common case), float32 */
static void max_fwd_2x2_f32(const pool_job *j, int64_t b0, int64_t b1) {
  const pool_geom *g = j->g;
  for (int64_t b = b0; b < b1; b++) {
    const float *restrict x = (const float *)(const void *)j->x + b * g->IH * g->IW;
    float *restrict y = (float *)(void *)j->y + b * g->OH * g->OW;
    int64_t *restrict idx = j->idx ? j->idx + b * g->OH * g->OW : NULL;
    for (int64_t oh = 0; oh < g->OH; oh++) {
      const float *r0 = x + 2 * oh * g->IW, *r1 = r0 + g->IW;
      float *yr = y + oh * g->OW;
      if (!idx) {
        for (int64_t ow = 0; ow < g->OW; ow++) {
          float a = r0[2 * ow], c = r0[2 * ow + 1], d = r1[2 * ow], e = r1[2 * ow + 1], m = a;
          if (c > m || c != c) m = c;
          if (d > m || d != d) m = d;
          if (e > m || e != e) m = e;
          yr[ow] = m;
        }
        continue;
      }
      int64_t *ir = idx + oh * g->OW, base = 2 * oh * g->IW;
      for (int64_t ow = 0; ow < g->OW; ow++) {
        float m = r0[2 * ow], v;
        int64_t mi = base + 2 * ow;
        v = r0[2 * ow + 1];
        if (v > m || v != v) m = v, mi = base + 2 * ow + 1;
        v = r1[2 * ow];
        if (v > m || v != v) m = v, mi = base + g->IW + 2 * ow;
        v = r1[2 * ow + 1];
        if (v > m || v != v) m = v, mi = base + g->IW + 2 * ow + 1;
        yr[ow] = m;
        ir[ow] = mi;
      }
    }
  }
}

/* Dilation-1 windows of any size and stride, float32 (a ResNet stem's 3x3 stride-2 pooling): each
 * output scans its clipped window row by row, first maximum kept and a NaN replacing it, as the
 * generic kernel; plain loops over the few taps beat its chunked vector form on small planes. */
static void max_fwd_dense_f32(const pool_job *j, int64_t b0, int64_t b1) {
  const pool_geom *g = j->g;
  const int64_t IH = g->IH, IW = g->IW, OH = g->OH, OW = g->OW;
  for (int64_t b = b0; b < b1; b++) {
    const float *restrict x = (const float *)(const void *)j->x + b * IH * IW;
    float *restrict y = (float *)(void *)j->y + b * OH * OW;
    int64_t *restrict idx = j->idx ? j->idx + b * OH * OW : NULL;
    for (int64_t oh = 0; oh < OH; oh++) {
      int64_t h0 = oh * g->sH - g->pH, h1 = h0 + g->kH;
      if (h0 < 0) h0 = 0;
      if (h1 > IH) h1 = IH;
      for (int64_t ow = 0; ow < OW; ow++) {
        int64_t w0 = ow * g->sW - g->pW, w1 = w0 + g->kW;
        if (w0 < 0) w0 = 0;
        if (w1 > IW) w1 = IW;
#if defined(__SSE4_1__)
        /* blends, not branches: on real data the comparisons are unpredictable. Indices fit in
         * int32 (the caller checks the plane size). */
        __m128 m = _mm_set_ss(-INFINITY);
        __m128i mi = _mm_cvtsi32_si128((int)(h0 * IW + w0));
        for (int64_t h = h0; h < h1; h++) {
          const float *restrict r = x + h * IW;
          for (int64_t w = w0; w < w1; w++) {
            __m128 v = _mm_load_ss(r + w);
            __m128 t = _mm_or_ps(_mm_cmpgt_ss(v, m), _mm_cmpunord_ss(v, v));
            m = _mm_blendv_ps(m, v, t);
            mi = _mm_blendv_epi8(mi, _mm_cvtsi32_si128((int)(h * IW + w)), _mm_castps_si128(t));
          }
        }
        y[oh * OW + ow] = _mm_cvtss_f32(m);
        if (idx) idx[oh * OW + ow] = _mm_cvtsi128_si32(mi);
#else
        float m = -INFINITY;
        int64_t mi = h0 * IW + w0;
        for (int64_t h = h0; h < h1; h++) {
          const float *restrict r = x + h * IW;
          for (int64_t w = w0; w < w1; w++) {
            float v = r[w];
            int t = (v > m) | (v != v);
            m = t ? v : m;
            mi = t ? h * IW + w : mi;
          }
        }
        y[oh * OW + ow] = m;
        if (idx) idx[oh * OW + ow] = mi;
#endif
      }
    }
  }
}

/* average pooling forward; ACC: accumulator type, DIV(sum, n): the division */
#define DEF_AVG_FWD(SUF, T, ACC)                                                                       \
  static void avg_fwd_##SUF(const pool_job *j, int64_t b0, int64_t b1) {                               \
    const pool_geom *g = j->g;                                                                         \
    int64_t clo, chi;                                                                                  \
    interior_cols(g, &clo, &chi);                                                                      \
    for (int64_t b = b0; b < b1; b++) {                                                                \
      const T *restrict x = (const T *)(const void *)j->x + b * g->IH * g->IW;                         \
      T *restrict y = (T *)(void *)j->y + b * g->OH * g->OW;                                           \
      for (int64_t oh = 0; oh < g->OH; oh++) {                                                         \
        int64_t h0 = oh * g->sH - g->pH, h1 = h0 + g->kH;                                              \
        if (h1 > g->IH + g->pH) h1 = g->IH + g->pH;                                                    \
        int64_t ph = h1 - h0;                                                                          \
        if (h0 < 0) h0 = 0;                                                                            \
        if (h1 > g->IH) h1 = g->IH;                                                                    \
        for (int64_t ow = 0; ow < g->OW; ow++) {                                                       \
          if (ow == clo && chi > clo && h0 < h1) ow = chi; /* the interior runs below */               \
          if (ow >= g->OW) break;                                                                      \
          int64_t w0 = ow * g->sW - g->pW, w1 = w0 + g->kW;                                            \
          if (w1 > g->IW + g->pW) w1 = g->IW + g->pW;                                                  \
          int64_t pool = ph * (w1 - w0);                                                               \
          if (w0 < 0) w0 = 0;                                                                          \
          if (w1 > g->IW) w1 = g->IW;                                                                  \
          if (h0 >= h1 || w0 >= w1) {                                                                  \
            y[oh * g->OW + ow] = 0;                                                                    \
            continue;                                                                                  \
          }                                                                                            \
          ACC s = 0;                                                                                   \
          for (int64_t h = h0; h < h1; h++)                                                            \
            for (int64_t w = w0; w < w1; w++) s += x[h * g->IW + w];                                   \
          int64_t div = g->divisor ? g->divisor : g->count_include_pad ? pool : (h1 - h0) * (w1 - w0); \
          y[oh * g->OW + ow] = (T)(s / (ACC)div);                                                      \
        }                                                                                              \
        if (h0 >= h1) continue;                                                                        \
        /* interior: the window is kW columns wide, unclipped; the same sum order (rows, then taps) */ \
        ACC idiv = (ACC)(g->divisor ? g->divisor : g->count_include_pad ? ph * g->kW : (h1 - h0) * g->kW); \
        for (int64_t a = clo; a < chi; a += POOL_CHUNK) {                                              \
          int64_t n = chi - a < POOL_CHUNK ? chi - a : POOL_CHUNK, wb = a * g->sW - g->pW;             \
          ACC sm[POOL_CHUNK];                                                                          \
          for (int64_t q = 0; q < n; q++) sm[q] = 0;                                                   \
          for (int64_t h = h0; h < h1; h++)                                                            \
            for (int64_t kw = 0; kw < g->kW; kw++) {                                                   \
              const T *restrict src = x + h * g->IW + wb + kw;                                         \
              for (int64_t q = 0; q < n; q++) sm[q] += src[q * g->sW];                                 \
            }                                                                                          \
          for (int64_t q = 0; q < n; q++) y[oh * g->OW + a + q] = (T)(sm[q] / idiv);                   \
        }                                                                                              \
      }                                                                                                \
    }                                                                                                  \
  }
DEF_AVG_FWD(f32, float, float)
DEF_AVG_FWD(f64, double, double)
DEF_AVG_FWD(i64, int64_t, int64_t)

/* adaptive windows: [start, end) of output o of n_out over n_in */
static inline int64_t ad_start(int64_t o, int64_t n_out, int64_t n_in) {
  return (o / n_out) * n_in + ((o % n_out) * n_in) / n_out;
}
static inline int64_t ad_end(int64_t o, int64_t n_out, int64_t n_in) { return 1 + ((o + 1) * n_in - 1) / n_out; }

/* sum of p[0..n): sequential for short runs, 16 independent lanes for long ones (whole rows or
 * planes of an adaptive window) */
#define DEF_SEG_SUM(SUF, T)                                                                            \
  static inline T seg_sum_##SUF(const T *restrict p, int64_t n) {                                      \
    if (n < 64) {                                                                                      \
      T s = 0;                                                                                         \
      for (int64_t i = 0; i < n; i++) s += p[i];                                                       \
      return s;                                                                                        \
    }                                                                                                  \
    T acc[16] = {0};                                                                                   \
    int64_t i = 0;                                                                                     \
    for (; i + 16 <= n; i += 16)                                                                       \
      for (int q = 0; q < 16; q++) acc[q] += p[i + q];                                                 \
    for (int q = 0; i < n; i++, q++) acc[q] += p[i];                                                   \
    for (int w = 8; w >= 1; w /= 2)                                                                    \
      for (int q = 0; q < w; q++) acc[q] += acc[q + w];                                                \
    return acc[0];                                                                                     \
  }
DEF_SEG_SUM(f32, float)
DEF_SEG_SUM(f64, double)

#define DEF_ADAPT_FWD(SUF, T)                                                                          \
  static void adapt_fwd_##SUF(const pool_job *j, int64_t b0, int64_t b1) {                             \
    const pool_geom *g = j->g;                                                                         \
    for (int64_t b = b0; b < b1; b++) {                                                                \
      const T *restrict x = (const T *)(const void *)j->x + b * g->IH * g->IW;                         \
      T *restrict y = (T *)(void *)j->y + b * g->OH * g->OW;                                           \
      for (int64_t oh = 0; oh < g->OH; oh++) {                                                         \
        int64_t h0 = ad_start(oh, g->OH, g->IH), h1 = ad_end(oh, g->OH, g->IH);                        \
        for (int64_t ow = 0; ow < g->OW; ow++) {                                                       \
          int64_t w0 = ad_start(ow, g->OW, g->IW), w1 = ad_end(ow, g->OW, g->IW);                      \
          T s = 0;                                                                                     \
          if (w0 == 0 && w1 == g->IW) /* whole rows: one contiguous run */                            \
            s = seg_sum_##SUF(x + h0 * g->IW, (h1 - h0) * g->IW);                                      \
          else                                                                                         \
            for (int64_t h = h0; h < h1; h++) s += seg_sum_##SUF(x + h * g->IW + w0, w1 - w0);         \
          y[oh * g->OW + ow] = s / (T)((h1 - h0) * (w1 - w0));                                         \
        }                                                                                              \
      }                                                                                                \
    }                                                                                                  \
  }
DEF_ADAPT_FWD(f32, float)
DEF_ADAPT_FWD(f64, double)

/* ---- backward kernels (float types): gx planes zeroed, then each output's gradient scattered ---- */
#define DEF_BWD(SUF, T)                                                                                \
  static void max_bwd_##SUF(const pool_job *j, int64_t b0, int64_t b1) {                               \
    const pool_geom *g = j->g;                                                                         \
    int64_t L = g->OH * g->OW;                                                                         \
    for (int64_t b = b0; b < b1; b++) {                                                                \
      T *restrict gx = (T *)(void *)j->gx + b * g->IH * g->IW;                                         \
      const T *restrict gy = (const T *)(const void *)j->gy + b * L;                                   \
      const int64_t *restrict idx = j->idx + b * L;                                                    \
      memset(gx, 0, sizeof(T) * (size_t)(g->IH * g->IW));                                              \
      for (int64_t i = 0; i < L; i++) {                                                                \
        int64_t k = idx[i];                                                                            \
        if (k >= 0 && k < g->IH * g->IW) gx[k] += gy[i];                                               \
      }                                                                                                \
    }                                                                                                  \
  }                                                                                                    \
  static void avg_bwd_##SUF(const pool_job *j, int64_t b0, int64_t b1) {                               \
    const pool_geom *g = j->g;                                                                         \
    int64_t clo = 0, chi = 0; /* average pooling: interior columns a chunk at a time */                \
    if (g->kind == POOL_AVG) interior_cols(g, &clo, &chi);                                             \
    for (int64_t b = b0; b < b1; b++) {                                                                \
      T *restrict gx = (T *)(void *)j->gx + b * g->IH * g->IW;                                         \
      const T *restrict gy = (const T *)(const void *)j->gy + b * g->OH * g->OW;                       \
      memset(gx, 0, sizeof(T) * (size_t)(g->IH * g->IW));                                              \
      for (int64_t oh = 0; oh < g->OH; oh++) {                                                         \
        int64_t h0, h1, ph;                                                                            \
        if (g->kind == POOL_ADAPTIVE) {                                                                \
          h0 = ad_start(oh, g->OH, g->IH), h1 = ad_end(oh, g->OH, g->IH), ph = h1 - h0;                \
        } else {                                                                                       \
          h0 = oh * g->sH - g->pH, h1 = h0 + g->kH;                                                    \
          if (h1 > g->IH + g->pH) h1 = g->IH + g->pH;                                                  \
          ph = h1 - h0;                                                                                \
          if (h0 < 0) h0 = 0;                                                                          \
          if (h1 > g->IH) h1 = g->IH;                                                                  \
        }                                                                                              \
        for (int64_t ow = 0; ow < g->OW; ow++) {                                                       \
          if (ow == clo && chi > clo && h0 < h1) ow = chi; /* the interior runs below */               \
          if (ow >= g->OW) break;                                                                      \
          int64_t w0, w1, div;                                                                         \
          if (g->kind == POOL_ADAPTIVE) {                                                              \
            w0 = ad_start(ow, g->OW, g->IW), w1 = ad_end(ow, g->OW, g->IW);                            \
            div = ph * (w1 - w0);                                                                      \
          } else {                                                                                     \
            w0 = ow * g->sW - g->pW, w1 = w0 + g->kW;                                                  \
            if (w1 > g->IW + g->pW) w1 = g->IW + g->pW;                                                \
            int64_t pool = ph * (w1 - w0);                                                             \
            if (w0 < 0) w0 = 0;                                                                        \
            if (w1 > g->IW) w1 = g->IW;                                                                \
            div = g->divisor ? g->divisor : g->count_include_pad ? pool : (h1 - h0) * (w1 - w0);       \
          }                                                                                            \
          if (h0 >= h1 || w0 >= w1) continue;                                                          \
          T d = gy[oh * g->OW + ow] / (T)div;                                                          \
          for (int64_t h = h0; h < h1; h++)                                                            \
            for (int64_t w = w0; w < w1; w++) gx[h * g->IW + w] += d;                                  \
        }                                                                                              \
        if (h0 >= h1 || chi <= clo) continue;                                                          \
        T idiv = (T)(g->divisor ? g->divisor : g->count_include_pad ? ph * g->kW : (h1 - h0) * g->kW); \
        for (int64_t a = clo; a < chi; a += POOL_CHUNK) {                                              \
          int64_t n = chi - a < POOL_CHUNK ? chi - a : POOL_CHUNK, wb = a * g->sW - g->pW;             \
          T d[POOL_CHUNK];                                                                             \
          for (int64_t q = 0; q < n; q++) d[q] = gy[oh * g->OW + a + q] / idiv;                        \
          for (int64_t h = h0; h < h1; h++)                                                            \
            for (int64_t kw = 0; kw < g->kW; kw++) {                                                   \
              T *restrict dst = gx + h * g->IW + wb + kw;                                              \
              for (int64_t q = 0; q < n; q++) dst[q * g->sW] += d[q];                                  \
            }                                                                                          \
        }                                                                                              \
      }                                                                                                \
    }                                                                                                  \
  }
DEF_BWD(f32, float)
DEF_BWD(f64, double)

typedef void (*plane_fn)(const pool_job *j, int64_t b0, int64_t b1);
typedef struct {
  plane_fn fn;
  const pool_job *j;
} plane_task;

static void plane_task_run(int64_t b0, int64_t b1, void *ctx) {
  const plane_task *t = ctx;
  t->fn(t->j, b0, b1);
}

static void run_planes(plane_fn fn, const pool_job *j, int64_t per_plane) {
  if (j->g->B == 0) return;
  plane_task t = {fn, j};
  int64_t grain = per_plane >= POOL_GRAIN_ELEMS ? 1 : POOL_GRAIN_ELEMS / (per_plane > 0 ? per_plane : 1);
  tc_parallel_for(j->g->B, grain, plane_task_run, &t);
}

static plane_fn fwd_kernel(const pool_geom *g, tc_dtype dt) {
  if (g->kind == POOL_MAX) {
    if (dt == TC_F32 && g->kH == 2 && g->kW == 2 && g->sH == 2 && g->sW == 2 && g->pH == 0 && g->pW == 0 &&
        g->dH == 1 && g->dW == 1 && 2 * g->OH <= g->IH && 2 * g->OW <= g->IW) /* no window clipped */
      return max_fwd_2x2_f32;
    if (dt == TC_F32 && g->dH == 1 && g->dW == 1 && g->kH * g->kW <= 16 && g->OW < 64 &&
        g->IH * g->IW <= INT32_MAX)
      return max_fwd_dense_f32;
    switch (dt) {
      case TC_F32: return max_fwd_f32;
      case TC_F64: return max_fwd_f64;
      case TC_I64: return max_fwd_i64;
      case TC_I32: return max_fwd_i32;
      case TC_I16: return max_fwd_i16;
      case TC_I8: return max_fwd_i8;
      case TC_U8: return max_fwd_u8;
      case TC_U16: return max_fwd_u16;
      default: return NULL;
    }
  }
  if (g->kind == POOL_AVG) return dt == TC_F32 ? avg_fwd_f32 : dt == TC_F64 ? avg_fwd_f64 : dt == TC_I64 ? avg_fwd_i64 : NULL;
  return dt == TC_F32 ? adapt_fwd_f32 : dt == TC_F64 ? adapt_fwd_f64 : NULL;
}

/* ---- the op: forward with its node ------------------------------------------------------------------------- */
typedef struct {
  pool_geom g;
  int ndim; /* input rank (plane-major sizes) */
  int64_t sizes[TC_MAX_DIMS];
} pool_ctx;

static tc_status pool_backward(tc__node *n, tc_tensor *const *go, tc_tensor **gi);

/* Output sizes: x's sizes with the last two replaced by (OH, OW). */
static int out_sizes(const tc_tensor *x, const pool_geom *g, int64_t *sz) {
  int nd = x->ndim;
  memcpy(sz, x->sizes, sizeof(int64_t) * (size_t)nd);
  sz[nd - 2] = g->OH;
  sz[nd - 1] = g->OW;
  return nd;
}

/* The geometry in the device ABI's form. */
static tc__pool_desc pool_desc_of(const pool_geom *g) {
  return (tc__pool_desc){.kind = g->kind == POOL_MAX ? 0 : g->kind == POOL_AVG ? 1 : 2, .B = g->B, .IH = g->IH,
                         .IW = g->IW, .OH = g->OH, .OW = g->OW, .kH = g->kH, .kW = g->kW, .sH = g->sH, .sW = g->sW,
                         .pH = g->pH, .pW = g->pW, .dH = g->dH, .dW = g->dW,
                         .count_include_pad = g->count_include_pad, .divisor = g->divisor};
}

/* The backend of a device tensor x if it has both pooling kernels, else NULL with the error set
 * (the device kernels pool floating-point inputs, and integers for max pooling). */
static const tc__device_api *pool_backend(const char *fn, const tc_tensor *x, const pool_geom *g) {
  if (!tc_dtype_is_floating(x->dtype) && g->kind != POOL_MAX) {
    char b[32];
    tc__error(TC_ERR_UNSUPPORTED, "%s: %s inputs are not supported on %s (floating-point only)", fn,
              tc_dtype_name(x->dtype), tc_device_str(x->storage->device, b, sizeof b));
    return NULL;
  }
  const tc__device_api *api = tc__backend(x);
  if (!api || !api->pool_fwd || !api->pool_bwd) {
    tc__kernel_missing(fn, x);
    return NULL;
  }
  return api;
}

/* Pools x (.., IH, IW) (2-D planes) with geometry g; *indices (max) when want_idx. Records the
 * node on the output. On a device the backend's pool_fwd computes in f32/f64 (which always
 * writes the indices of a max pooling). */
static tc_tensor *pool2d_run(const char *fn, const tc_tensor *x, const pool_geom *g, const char *node_name,
                             bool want_idx, tc_tensor **indices) {
  tc_dtype dt = x->dtype, cdt = tc__compute_dtype(dt);
  tc_device dev = x->storage->device;
  const tc__device_api *api = NULL;
  if (!tc__is_cpu(x) && !(api = pool_backend(fn, x, g))) return NULL;
  int64_t sz[TC_MAX_DIMS];
  int nd = out_sizes(x, g, sz);
  const tc_tensor *in[1] = {x};
  bool grad = tc__grad_needed(1, in);
  bool need_idx = g->kind == POOL_MAX && (want_idx || grad || api != NULL);
  tc_tensor *xt = NULL, *y = NULL, *idx = NULL;
  if (!(y = tc__empty(sz, nd, cdt, dev))) goto fail;
  if (need_idx && !(idx = tc__empty(sz, nd, TC_I64, dev))) goto fail;
  if (g->B > 0) {
    const tc_tensor *xs = x;
    if (x->dtype != cdt || !tc__is_contiguous(x)) {
      if (!(xt = tc__to_dtype_contig(x, cdt))) goto fail;
      xs = xt;
    }
    int64_t *ip = idx ? (int64_t *)(void *)tc__ptr(idx) : NULL;
    if (api) {
      tc__pool_desc d = pool_desc_of(g);
      if (api->pool_fwd(tc__dev_index(x), cdt, &d, tc__ptr(xs), tc__ptr(y), ip)) goto fail;
    } else {
      pool_job j = {.g = g, .x = tc__ptr(xs), .y = tc__ptr(y), .idx = ip};
      int64_t per = g->kind == POOL_ADAPTIVE ? g->IH * g->IW : g->OH * g->OW * g->kH * g->kW;
      run_planes(fwd_kernel(g, cdt), &j, per > g->IH * g->IW ? per : g->IH * g->IW);
    }
    tc_tensor_release(xt);
    xt = NULL;
  }
  if (cdt != dt) {
    tc_tensor *r = tc__to_dtype_contig(y, dt);
    tc_tensor_release(y);
    if (!(y = r)) goto fail;
  }
  if (grad) {
    pool_ctx pc = {.g = *g, .ndim = x->ndim};
    memcpy(pc.sizes, x->sizes, sizeof(int64_t) * (size_t)x->ndim);
    const tc_tensor *save[1] = {idx};
    y = tc__record(y, node_name, pool_backward, 1, in, idx ? 1 : 0, save, &pc, sizeof pc);
    if (!y) goto fail;
  }
  if (want_idx) *indices = idx;
  else tc_tensor_release(idx);
  return y;
fail:
  tc_tensor_release(xt);
  tc_tensor_release(y);
  tc_tensor_release(idx);
  return NULL;
}

static tc_status pool_backward(tc__node *n, tc_tensor *const *go, tc_tensor **gi) {
  const pool_ctx *pc = tc__node_ctx(n);
  const pool_geom *g = &pc->g;
  const tc_tensor *idx = NULL;
  if (g->kind == POOL_MAX && !(idx = tc__node_saved(n, 0))) return tc_last_status();
  tc_dtype dt = n->out_meta[0].dtype, cdt = tc__compute_dtype(dt);
  tc_tensor *gyt = NULL, *gx = NULL;
  if (!(gx = tc__empty(pc->sizes, pc->ndim, cdt, n->out_meta[0].device))) return tc_last_status();
  const tc__device_api *api = NULL;
  if (!tc__is_cpu(gx) && (!(api = tc__backend(gx)) || !api->pool_bwd)) {
    tc__kernel_missing(n->name, gx);
    goto fail;
  }
  if (g->B > 0) {
    const tc_tensor *gy = go[0];
    if (gy->dtype != cdt || !tc__is_contiguous(gy)) {
      if (!(gyt = tc__to_dtype_contig(gy, cdt))) goto fail;
      gy = gyt;
    }
    const int64_t *ip = idx ? (const int64_t *)(const void *)tc__ptr(idx) : NULL;
    if (api) { /* every element of gx written, in a fixed order */
      tc__pool_desc d = pool_desc_of(g);
      tc_status st = api->pool_bwd(tc__dev_index(gx), cdt, &d, tc__ptr(gy), ip, tc__ptr(gx));
      tc_tensor_release(gyt);
      if (st) goto fail;
    } else {
      pool_job j = {.g = g, .gy = tc__ptr(gy), .gx = tc__ptr(gx), .idx = (int64_t *)ip};
      plane_fn fn = g->kind == POOL_MAX ? (cdt == TC_F64 ? max_bwd_f64 : max_bwd_f32)
                                        : (cdt == TC_F64 ? avg_bwd_f64 : avg_bwd_f32);
      run_planes(fn, &j, g->IH * g->IW + g->OH * g->OW * (g->kind == POOL_MAX ? 1 : g->kH * g->kW));
      tc_tensor_release(gyt);
    }
  } else if (api) { /* an empty output: no gradient reaches the input */
    if (tc__numel(gx->sizes, gx->ndim) > 0 && tc__fill(gx, 0.0)) goto fail;
  } else {
    tc__cpu_fill(gx, 0.0); /* an empty output: no gradient reaches the input */
  }
  if (cdt != dt) {
    tc_tensor *r = tc__to_dtype_contig(gx, dt);
    tc_tensor_release(gx);
    if (!(gx = r)) return tc_last_status();
  }
  gi[0] = gx;
  return TC_OK;
fail:
  tc_tensor_release(gx);
  return tc_last_status();
}

/* 1-d pooling: pool2d_run on x.unsqueeze(-2), then .squeeze(-2) (values and indices). */
static tc_tensor *pool1d_run(const char *fn, const tc_tensor *x, pool_geom *g, const char *node_name,
                             tc_tensor **indices) {
  tc_tensor *x2 = tc_unsqueeze(x, -2), *i2 = NULL, *y = NULL;
  tc_tensor *y2 = x2 ? pool2d_run(fn, x2, g, node_name, indices != NULL, indices ? &i2 : NULL) : NULL;
  if (y2) y = tc_squeeze_dim(y2, -2);
  if (y && indices && !(*indices = tc_squeeze_dim(i2, -2))) {
    tc_tensor_release(y);
    y = NULL;
  }
  tc_tensor_release(x2);
  tc_tensor_release(y2);
  tc_tensor_release(i2);
  return y;
}

/* ---- public functions --------------------------------------------------------------------------------------- */
static tc_tensor *max_pool(const char *fn, int spatial, const tc_tensor *x, const tc_pool_opts *o,
                           tc_tensor **indices) {
  if (indices) *indices = NULL;
  TC__NONNULL_T(x, fn);
  pool_geom g;
  if (pool_resolve(fn, x, o, spatial, POOL_MAX, &g)) return NULL;
  if (spatial == 1) return pool1d_run(fn, x, &g, "MaxPool2DWithIndicesBackward0", indices);
  tc_tensor *i2 = NULL;
  tc_tensor *y = pool2d_run(fn, x, &g, "MaxPool2DWithIndicesBackward0", indices != NULL, &i2);
  if (indices) *indices = i2;
  return y;
}

tc_tensor *tc_max_pool1d(const tc_tensor *x, const tc_pool_opts *o, tc_tensor **indices) {
  return max_pool("tc_max_pool1d", 1, x, o, indices);
}
tc_tensor *tc_max_pool2d(const tc_tensor *x, const tc_pool_opts *o, tc_tensor **indices) {
  return max_pool("tc_max_pool2d", 2, x, o, indices);
}

static tc_tensor *avg_pool(const char *fn, int spatial, const tc_tensor *x, const tc_pool_opts *o) {
  TC__NONNULL_T(x, fn);
  pool_geom g;
  if (pool_resolve(fn, x, o, spatial, POOL_AVG, &g)) return NULL;
  if (spatial == 1) return pool1d_run(fn, x, &g, "AvgPool2DBackward0", NULL);
  return pool2d_run(fn, x, &g, "AvgPool2DBackward0", false, NULL);
}

tc_tensor *tc_avg_pool1d(const tc_tensor *x, const tc_pool_opts *o) { return avg_pool("tc_avg_pool1d", 1, x, o); }
tc_tensor *tc_avg_pool2d(const tc_tensor *x, const tc_pool_opts *o) { return avg_pool("tc_avg_pool2d", 2, x, o); }

static tc_tensor *adaptive_pool(const char *fn, int spatial, const tc_tensor *x, int64_t oh, int64_t ow) {
  TC__NONNULL_T(x, fn);
  if (x->ndim != spatial + 1 && x->ndim != spatial + 2) {
    tc__error(TC_ERR_SHAPE, "%s: expected a %dD or %dD tensor, but got %s", fn, spatial + 1, spatial + 2,
              tc__tshape(x));
    return NULL;
  }
  for (int d = 1; d < x->ndim; d++)
    if (x->sizes[d] == 0) {
      tc__error(TC_ERR_SHAPE,
                "%s: expected input to have non-zero size for non-batch dimensions, but input has sizes %s with "
                "dimension %d being empty", fn, tc__tshape(x), d);
      return NULL;
    }
  if (!tc_dtype_is_floating(x->dtype)) {
    tc__error(TC_ERR_DTYPE, "%s: unsupported dtype %s (expects floating-point inputs)", fn, tc_dtype_name(x->dtype));
    return NULL;
  }
  if (oh < 0 || ow < 0) {
    if (spatial == 2)
      tc__error(TC_ERR_ARG, "%s: elements of output_size must be greater than or equal to 0 but received {%lld, %lld}",
                fn, (long long)oh, (long long)ow);
    else
      tc__error(TC_ERR_ARG, "%s: output_size must be greater than or equal to 0 but received %lld", fn,
                (long long)ow);
    return NULL;
  }
  int nd = x->ndim;
  pool_geom g = {.kind = POOL_ADAPTIVE, .B = tc__numel(x->sizes, nd - spatial),
                 .IH = spatial == 2 ? x->sizes[nd - 2] : 1, .IW = x->sizes[nd - 1], .OH = oh, .OW = ow,
                 .kH = 1, .kW = 1, .sH = 1, .sW = 1, .dH = 1, .dW = 1};
  /* PyTorch computes a 1x1 adaptive average as a mean over the plane (MeanBackward1) */
  const char *name = (oh == 1 && ow == 1) ? "MeanBackward1" : "AdaptiveAvgPool2DBackward0";
  if (oh * ow == 0) g.B = 0; /* an empty output: nothing to compute */
  if (spatial == 1) return pool1d_run(fn, x, &g, name, NULL);
  return pool2d_run(fn, x, &g, name, false, NULL);
}

tc_tensor *tc_adaptive_avg_pool1d(const tc_tensor *x, int64_t out_size) {
  return adaptive_pool("tc_adaptive_avg_pool1d", 1, x, 1, out_size);
}
tc_tensor *tc_adaptive_avg_pool2d(const tc_tensor *x, int64_t out_h, int64_t out_w) {
  return adaptive_pool("tc_adaptive_avg_pool2d", 2, x, out_h, out_w);
}
