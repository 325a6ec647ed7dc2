/* core/src/cuda/pool.cu — 2-D max / average / adaptive average pooling over B contiguous planes,
 * f32 and f64 (the core converts f16/bf16 to f32 first and pools 1-d inputs as (1, L) planes).
 *
 * The geometry arrives resolved in a tc__pool_desc (nn/pool.c computes OH/OW, ceil mode, default
 * stride); the per-window rules below are those of nn/pool.c's CPU kernels, line for line:
 *   max       rows h0 = oh*sH - pH, h0 + (kH-1)*dH + 1 clipped to IH, h0 stepped by dH until >= 0
 *             (likewise columns); scanned row-major keeping the first maximum, a NaN replacing
 *             the current best (so the last NaN wins); idx = h*IW + w of the kept element.
 *   average   window [oh*sH - pH, +kH) clipped first to IH + pH (the padded size, which
 *             count_include_pad divides by) and then to the input; sums in row-major order;
 *             divisor = divisor_override, or the padded count, or the clipped count.
 *   adaptive  rows [floor(o*IH/OH), ceil((o+1)*IH/OH)), likewise columns.
 *
 * Forward: one thread per output element (grid-stride over B*OH*OW), except adaptive windows of
 * many elements (global average pooling), which take one warp per output: lanes stride over the
 * window and a fixed shuffle tree adds their sums.
 * Backward without atomics: one thread per input element (b, h, w) visits the outputs whose
 * window covers it in output order (oh, then ow, ascending; average pooling puts a row's border
 * windows before its interior ones, as the CPU does) and adds their contributions (max: gy where
 * the saved index is this element; average: gy / divisor) to a zero start: the same additions
 * in the same order as the CPU's scatter, and identical from run to run.
 * Index math is 32-bit when every count and product fits, with divisions by the sizes and strides
 * done as multiply-high and shift (Div32): 64-bit divisions made the backward compute-bound
 * (ResNet's stem pooling backward on an H100: 1.41 ms with them, 0.84 ms without).
 */
#include <stdint.h>
#include <type_traits>
#include "cuda_backend.h"
#include "device_math.cuh"

namespace {

constexpr int kThreads = 256;

/* blocks for a grid-stride loop over n items of `per_block` each */
unsigned grid_for(int64_t n, int64_t per_block) {
  int64_t b = (n + per_block - 1) / per_block;
  const int64_t cap = (int64_t)1 << 20;
  return (unsigned)(b < 1 ? 1 : b > cap ? cap : b);
}

/* n / d for 0 <= n < 2^31 and 1 <= d < 2^31 by a multiply-high and a shift (the divisor's magic
 * number computed once on the host): the index math runs per element, and a hardware-less
 * integer division costs tens of instructions. */
struct Div32 {
  uint32_t m, s;
  Div32() = default;
  explicit Div32(int64_t d) {
    s = 0;
    while (((int64_t)1 << s) < d) s++;
    m = (uint32_t)((((uint64_t)1 << 32) * (((uint64_t)1 << s) - (uint64_t)d)) / (uint64_t)d + 1);
  }
  __device__ __forceinline__ int32_t operator()(int32_t n) const {
    uint32_t t = __umulhi((uint32_t)n, m);
    return (int32_t)((t + (uint32_t)n) >> s);
  }
};
struct Div64 {
  int64_t d;
  Div64() = default;
  explicit Div64(int64_t v) : d(v) {}
  __device__ __forceinline__ int64_t operator()(int64_t n) const { return n / d; }
};

/* The geometry in the kernels' index type I (int32_t when every index and product below fits,
 * else int64_t), with dividers for the sizes and strides the kernels divide by. */
template <typename I>
struct Geo {
  using D = typename std::conditional<std::is_same<I, int32_t>::value, Div32, Div64>::type;
  I B, IH, IW, OH, OW, kH, kW, sH, sW, pH, pW, dH, dW, divisor;
  bool cip;
  I clo, chi; /* average backward: the CPU's interior columns */
  D dIH, dIW, dOH, dOW, dsH, dsW;
};

template <typename I>
Geo<I> make_geo(const tc__pool_desc &d) {
  using D = typename Geo<I>::D;
  Geo<I> g;
  g.B = (I)d.B, g.IH = (I)d.IH, g.IW = (I)d.IW, g.OH = (I)d.OH, g.OW = (I)d.OW;
  g.kH = (I)d.kH, g.kW = (I)d.kW, g.sH = (I)d.sH, g.sW = (I)d.sW, g.pH = (I)d.pH, g.pW = (I)d.pW;
  g.dH = (I)d.dH, g.dW = (I)d.dW, g.divisor = (I)d.divisor, g.cip = d.count_include_pad;
  /* nn/pool.c interior_cols (average pooling has no dilation) */
  int64_t clo = (d.pW + d.sW - 1) / d.sW, lim = d.IW - 1 - (d.kW - 1) + d.pW;
  int64_t chi = lim >= 0 ? lim / d.sW + 1 : 0;
  if (chi > d.OW) chi = d.OW;
  if (clo > chi) clo = chi;
  g.clo = (I)clo, g.chi = (I)chi;
  auto mk = [](int64_t v) { return D(v > 0 ? v : 1); };
  g.dIH = mk(d.IH), g.dIW = mk(d.IW), g.dOH = mk(d.OH), g.dOW = mk(d.OW), g.dsH = mk(d.sH), g.dsW = mk(d.sW);
  return g;
}

/* 32-bit index math when every element count, flat index and adaptive product fits */
bool fits32(const tc__pool_desc &d) {
  const int64_t lim = ((int64_t)1 << 31) - 1;
  return d.B * d.IH * d.IW < lim && d.B * d.OH * d.OW < lim && d.IH * d.OH < lim && d.IW * d.OW < lim &&
         d.IH + 2 * d.pH + d.kH * d.dH < lim && d.IW + 2 * d.pW + d.kW * d.dW < lim;
}

/* adaptive windows: [start, end) of output o of n_out over n_in (dv divides by n_out; the 64-bit
 * forms avoid overflow as the CPU's) */
__device__ __forceinline__ int32_t ad_start(int32_t o, int32_t, int32_t n_in, const Div32 &dv) { return dv(o * n_in); }
__device__ __forceinline__ int32_t ad_end(int32_t o, int32_t, int32_t n_in, const Div32 &dv) {
  return 1 + dv((o + 1) * n_in - 1);
}
__device__ __forceinline__ int64_t ad_start(int64_t o, int64_t n_out, int64_t n_in, const Div64 &) {
  return (o / n_out) * n_in + ((o % n_out) * n_in) / n_out;
}
__device__ __forceinline__ int64_t ad_end(int64_t o, int64_t n_out, int64_t n_in, const Div64 &) {
  return 1 + ((o + 1) * n_in - 1) / n_out;
}

/* ---- forward ------------------------------------------------------------------------------------ */
/* output i -> (b, oh, ow) */
template <typename I>
__device__ __forceinline__ void out_pos(const Geo<I> &g, I i, I *b, I *oh, I *ow) {
  I q = g.dOW(i);
  *ow = i - q * g.OW;
  *b = g.dOH(q);
  *oh = q - *b * g.OH;
}

/* the smallest value of T: -inf for the floating types, the minimum for integers */
template <typename T>
__device__ __forceinline__ T lowest() {
  if constexpr (std::is_floating_point<T>::value) return (T)-INFINITY;
  else if constexpr (std::is_signed<T>::value) return (T)(-(int64_t)(((uint64_t)1 << (sizeof(T) * 8 - 1)) - 1) - 1);
  else return (T)0;
}

template <typename T, typename I>
__global__ void max_fwd(Geo<I> g, const T *__restrict__ x, T *__restrict__ y, int64_t *__restrict__ idx, I total) {
  for (I i = (I)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (I)gridDim.x * blockDim.x) {
    I b, oh, ow;
    out_pos(g, i, &b, &oh, &ow);
    const T *xp = x + (int64_t)b * g.IH * g.IW;
    I h0 = oh * g.sH - g.pH, h1 = h0 + (g.kH - 1) * g.dH + 1;
    if (h1 > g.IH) h1 = g.IH;
    if (h0 < 0) h0 += (-h0 + g.dH - 1) / g.dH * g.dH; /* the first tap at or after row 0 */
    I w0 = ow * g.sW - g.pW, w1 = w0 + (g.kW - 1) * g.dW + 1;
    if (w1 > g.IW) w1 = g.IW;
    if (w0 < 0) w0 += (-w0 + g.dW - 1) / g.dW * g.dW;
    I mi = h0 * g.IW + w0;
    T m = lowest<T>();
    for (I h = h0; h < h1; h += g.dH)
      for (I w = w0; w < w1; w += g.dW) {
        T v = xp[h * g.IW + w];
        if (v > m || v != v) { /* NaN wins */
          m = v;
          mi = h * g.IW + w;
        }
      }
    y[i] = m;
    idx[i] = mi;
  }
}

template <typename T, typename I>
__global__ void avg_fwd(Geo<I> g, const T *__restrict__ x, T *__restrict__ y, I total) {
  for (I i = (I)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (I)gridDim.x * blockDim.x) {
    I b, oh, ow;
    out_pos(g, i, &b, &oh, &ow);
    const T *xp = x + (int64_t)b * g.IH * g.IW;
    I h0 = oh * g.sH - g.pH, h1 = h0 + g.kH;
    if (h1 > g.IH + g.pH) h1 = g.IH + g.pH;
    I ph = h1 - h0;
    if (h0 < 0) h0 = 0;
    if (h1 > g.IH) h1 = g.IH;
    I w0 = ow * g.sW - g.pW, w1 = w0 + g.kW;
    if (w1 > g.IW + g.pW) w1 = g.IW + g.pW;
    I pool = ph * (w1 - w0);
    if (w0 < 0) w0 = 0;
    if (w1 > g.IW) w1 = g.IW;
    if (h0 >= h1 || w0 >= w1) {
      y[i] = 0;
      continue;
    }
    T s = 0;
    for (I h = h0; h < h1; h++)
      for (I w = w0; w < w1; w++) s += xp[h * g.IW + w];
    I div = g.divisor ? g.divisor : g.cip ? pool : (h1 - h0) * (w1 - w0);
    y[i] = s / (T)div;
  }
}

template <typename T, typename I>
__global__ void adapt_fwd(Geo<I> g, const T *__restrict__ x, T *__restrict__ y, I total) {
  for (I i = (I)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (I)gridDim.x * blockDim.x) {
    I b, oh, ow;
    out_pos(g, i, &b, &oh, &ow);
    const T *xp = x + (int64_t)b * g.IH * g.IW;
    I h0 = ad_start(oh, g.OH, g.IH, g.dOH), h1 = ad_end(oh, g.OH, g.IH, g.dOH);
    I w0 = ad_start(ow, g.OW, g.IW, g.dOW), w1 = ad_end(ow, g.OW, g.IW, g.dOW);
    T s = 0;
    for (I h = h0; h < h1; h++)
      for (I w = w0; w < w1; w++) s += xp[h * g.IW + w];
    y[i] = s / (T)((h1 - h0) * (w1 - w0));
  }
}

/* adaptive average with one warp per output (large windows): lane l adds the window's elements
 * l, l + 32, ... (row by row, or along one run when the window spans whole rows); a fixed
 * shuffle tree adds the lanes. */
template <typename T>
__global__ void adapt_fwd_warp(Geo<int64_t> g, const T *__restrict__ x, T *__restrict__ y, int64_t total) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = (int64_t)gridDim.x * (blockDim.x >> 5);
  for (int64_t i = (int64_t)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5); i < total; i += warps) {
    int64_t b, oh, ow;
    out_pos(g, i, &b, &oh, &ow);
    const T *xp = x + b * g.IH * g.IW;
    int64_t h0 = ad_start(oh, g.OH, g.IH, g.dOH), h1 = ad_end(oh, g.OH, g.IH, g.dOH);
    int64_t w0 = ad_start(ow, g.OW, g.IW, g.dOW), w1 = ad_end(ow, g.OW, g.IW, g.dOW);
    T s = 0;
    if (w0 == 0 && w1 == g.IW) { /* whole rows: one contiguous run */
      const T *p = xp + h0 * g.IW;
      int64_t n = (h1 - h0) * g.IW;
      for (int64_t k = lane; k < n; k += 32) s += p[k];
    } else {
      for (int64_t h = h0; h < h1; h++)
        for (int64_t w = w0 + lane; w < w1; w += 32) s += xp[h * g.IW + w];
    }
    s = tcu::warp_sum(s);
    if (lane == 0) y[i] = s / (T)((h1 - h0) * (w1 - w0));
  }
}

/* ---- backward: one thread per input element ------------------------------------------------------ */
/* input i -> (b, h, w) */
template <typename I>
__device__ __forceinline__ void in_pos(const Geo<I> &g, I i, I *b, I *h, I *w) {
  I q = g.dIW(i);
  *w = i - q * g.IW;
  *b = g.dIH(q);
  *h = q - *b * g.IH;
}

/* outputs [lo, hi) along one dim whose window extent [o*s - p, o*s - p + ext) holds position h */
template <typename I, typename D>
__device__ __forceinline__ void covering(I h, I p, const D &ds, I ext, I n_out, I *lo, I *hi) {
  *lo = h + p < ext ? 0 : ds(h + p - ext) + 1;
  I e = ds(h + p) + 1;
  *hi = e < n_out ? e : n_out;
}

template <typename T, typename I>
__global__ void max_bwd(Geo<I> g, const T *__restrict__ gy, const int64_t *__restrict__ idx, T *__restrict__ gx,
                        I total) {
  for (I i = (I)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (I)gridDim.x * blockDim.x) {
    I b, h, w, oh0, oh1, ow0, ow1;
    in_pos(g, i, &b, &h, &w);
    covering(h, g.pH, g.dsH, (g.kH - 1) * g.dH + 1, g.OH, &oh0, &oh1);
    covering(w, g.pW, g.dsW, (g.kW - 1) * g.dW + 1, g.OW, &ow0, &ow1);
    const int64_t plane = (int64_t)b * g.OH * g.OW, me = (int64_t)h * g.IW + w;
    T acc = 0;
    for (I oh = oh0; oh < oh1; oh++)
      for (I ow = ow0; ow < ow1; ow++) {
        int64_t o = plane + oh * g.OW + ow;
        if (idx[o] == me) acc += gy[o];
      }
    gx[i] = acc;
  }
}

/* Within one output row the CPU adds the border columns (outside [clo, chi), the windows that
 * lie inside the input horizontally) before the interior ones; the same order here keeps the
 * sums identical to its. */
template <typename T, typename I>
__global__ void avg_bwd(Geo<I> g, const T *__restrict__ gy, T *__restrict__ gx, I total) {
  for (I i = (I)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (I)gridDim.x * blockDim.x) {
    I b, h, w, oh0, oh1, ow0, ow1;
    in_pos(g, i, &b, &h, &w);
    covering(h, g.pH, g.dsH, g.kH, g.OH, &oh0, &oh1);
    covering(w, g.pW, g.dsW, g.kW, g.OW, &ow0, &ow1);
    const T *gp = gy + (int64_t)b * g.OH * g.OW;
    T acc = 0;
    for (I oh = oh0; oh < oh1; oh++) {
      I h0 = oh * g.sH - g.pH, h1 = h0 + g.kH;
      if (h1 > g.IH + g.pH) h1 = g.IH + g.pH;
      I ph = h1 - h0;
      if (h0 < 0) h0 = 0;
      if (h1 > g.IH) h1 = g.IH;
      for (int pass = 0; pass < 2; pass++) /* border columns, then interior ones */
        for (I ow = ow0; ow < ow1; ow++) {
          if ((ow >= g.clo && ow < g.chi) != (pass == 1)) continue;
          I w0 = ow * g.sW - g.pW, w1 = w0 + g.kW;
          if (w1 > g.IW + g.pW) w1 = g.IW + g.pW;
          I pool = ph * (w1 - w0);
          if (w0 < 0) w0 = 0;
          if (w1 > g.IW) w1 = g.IW;
          I div = g.divisor ? g.divisor : g.cip ? pool : (h1 - h0) * (w1 - w0);
          acc += gp[oh * g.OW + ow] / (T)div;
        }
    }
    gx[i] = acc;
  }
}

template <typename T, typename I>
__global__ void adapt_bwd(Geo<I> g, const T *__restrict__ gy, T *__restrict__ gx, I total) {
  for (I i = (I)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (I)gridDim.x * blockDim.x) {
    I b, h, w;
    in_pos(g, i, &b, &h, &w);
    const T *gp = gy + (int64_t)b * g.OH * g.OW;
    T acc = 0;
    /* the first window holding h is floor(h*OH/IH); windows grow monotonically, so the others
     * follow while they start at or before h */
    for (I oh = g.dIH(h * g.OH); oh < g.OH; oh++) {
      I h0 = ad_start(oh, g.OH, g.IH, g.dOH), h1 = ad_end(oh, g.OH, g.IH, g.dOH);
      if (h0 > h) break;
      if (h >= h1) continue;
      for (I ow = g.dIW(w * g.OW); ow < g.OW; ow++) {
        I w0 = ad_start(ow, g.OW, g.IW, g.dOW), w1 = ad_end(ow, g.OW, g.IW, g.dOW);
        if (w0 > w) break;
        if (w >= w1) continue;
        acc += gp[oh * g.OW + ow] / (T)((h1 - h0) * (w1 - w0));
      }
    }
    gx[i] = acc;
  }
}

template <typename T, typename I>
void launch_fwd(cudaStream_t s, const tc__pool_desc *d, const T *x, T *y, int64_t *idx, int64_t total) {
  Geo<I> g = make_geo<I>(*d);
  unsigned grid = grid_for(total, kThreads);
  if (d->kind == 0) {
    max_fwd<T, I><<<grid, kThreads, 0, s>>>(g, x, y, idx, (I)total);
  } else if constexpr (std::is_floating_point<T>::value) { /* integers: max pooling only */
    if (d->kind == 1) avg_fwd<T, I><<<grid, kThreads, 0, s>>>(g, x, y, (I)total);
    else adapt_fwd<T, I><<<grid, kThreads, 0, s>>>(g, x, y, (I)total);
  }
}

template <typename T, typename I>
void launch_bwd(cudaStream_t s, const tc__pool_desc *d, const T *gy, const int64_t *idx, T *gx, int64_t total) {
  Geo<I> g = make_geo<I>(*d);
  unsigned grid = grid_for(total, kThreads);
  if (d->kind == 0) max_bwd<T, I><<<grid, kThreads, 0, s>>>(g, gy, idx, gx, (I)total);
  else if (d->kind == 1) avg_bwd<T, I><<<grid, kThreads, 0, s>>>(g, gy, gx, (I)total);
  else adapt_bwd<T, I><<<grid, kThreads, 0, s>>>(g, gy, gx, (I)total);
}

template <typename T>
tc_status fwd(int index, const tc__pool_desc *d, const T *x, T *y, int64_t *idx) {
  cudaStream_t s = tc__cuda_stream(index);
  if (!s) return TC_ERR_CUDA;
  int64_t total = d->B * d->OH * d->OW;
  if (total == 0) return TC_OK;
  if (d->IH <= 0 || d->IW <= 0 || d->sH <= 0 || d->sW <= 0 || d->dH <= 0 || d->dW <= 0)
    return tc__cuda_set_error(TC_ERR_SHAPE, "cuda pooling: invalid geometry (planes %lldx%lld)", (long long)d->IH,
                              (long long)d->IW);
  if (d->kind < 0 || d->kind > 2) return tc__cuda_set_error(TC_ERR_ARG, "cuda pooling: unknown kind %d", d->kind);
  if (d->kind == 0 && !idx) return tc__cuda_set_error(TC_ERR_ARG, "cuda max pooling: the indices output is required");
  /* adaptive: the largest window is at most ceil(IH/OH) + 1 rows by ceil(IW/OW) + 1 columns */
  int64_t win = d->kind == 2 ? ((d->IH + d->OH - 1) / d->OH + 1) * ((d->IW + d->OW - 1) / d->OW + 1) : 0;
  if constexpr (std::is_floating_point<T>::value) {
    if (win >= 128) {
      adapt_fwd_warp<T><<<grid_for(total, kThreads / 32), kThreads, 0, s>>>(make_geo<int64_t>(*d), x, y, total);
      cudaError_t e = cudaGetLastError();
      return e == cudaSuccess ? TC_OK : tc__cuda_fail(e, "pooling kernel", index);
    }
  }
  if (fits32(*d)) launch_fwd<T, int32_t>(s, d, x, y, idx, total);
  else launch_fwd<T, int64_t>(s, d, x, y, idx, total);
  cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? TC_OK : tc__cuda_fail(e, "pooling kernel", index);
}

template <typename T>
tc_status bwd(int index, const tc__pool_desc *d, const T *gy, const int64_t *idx, T *gx) {
  cudaStream_t s = tc__cuda_stream(index);
  if (!s) return TC_ERR_CUDA;
  int64_t total = d->B * d->IH * d->IW;
  if (total == 0) return TC_OK;
  if (d->OH <= 0 || d->OW <= 0) { /* no output: no gradient reaches the input */
    cudaError_t e = cudaMemsetAsync(gx, 0, (size_t)total * sizeof(T), s);
    return e == cudaSuccess ? TC_OK : tc__cuda_fail(e, "pooling backward (zero fill)", index);
  }
  if (d->sH <= 0 || d->sW <= 0 || d->dH <= 0 || d->dW <= 0)
    return tc__cuda_set_error(TC_ERR_SHAPE, "cuda pooling backward: invalid geometry");
  if (d->kind < 0 || d->kind > 2)
    return tc__cuda_set_error(TC_ERR_ARG, "cuda pooling backward: unknown kind %d", d->kind);
  if (d->kind == 0 && !idx)
    return tc__cuda_set_error(TC_ERR_ARG, "cuda max pooling backward: the indices are required");
  if (fits32(*d)) launch_bwd<T, int32_t>(s, d, gy, idx, gx, total);
  else launch_bwd<T, int64_t>(s, d, gy, idx, gx, total);
  cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? TC_OK : tc__cuda_fail(e, "pooling backward kernel", index);
}

}  // namespace

extern "C" tc_status tc__cuda_pool_fwd(int index, tc_dtype dt, const tc__pool_desc *d, const void *x, void *y,
                                       int64_t *idx) {
  if (dt == TC_F32) return fwd<float>(index, d, (const float *)x, (float *)y, idx);
  if (dt == TC_F64) return fwd<double>(index, d, (const double *)x, (double *)y, idx);
  if (d->kind == 0) { /* max pooling of integers (no backward: integers take no gradient) */
    switch (dt) {
      case TC_I64: return fwd<int64_t>(index, d, (const int64_t *)x, (int64_t *)y, idx);
      case TC_I32: return fwd<int32_t>(index, d, (const int32_t *)x, (int32_t *)y, idx);
      case TC_I16: return fwd<int16_t>(index, d, (const int16_t *)x, (int16_t *)y, idx);
      case TC_I8: return fwd<int8_t>(index, d, (const int8_t *)x, (int8_t *)y, idx);
      case TC_U8: return fwd<uint8_t>(index, d, (const uint8_t *)x, (uint8_t *)y, idx);
      case TC_U16: return fwd<uint16_t>(index, d, (const uint16_t *)x, (uint16_t *)y, idx);
      default: break;
    }
  }
  return tc__cuda_set_error(TC_ERR_DTYPE, "cuda pooling: dtype %d is not supported (max pooling: float32, float64 "
                            "and integers; average pooling: float32/float64)", (int)dt);
}

extern "C" tc_status tc__cuda_pool_bwd(int index, tc_dtype dt, const tc__pool_desc *d, const void *gy,
                                       const int64_t *idx, void *gx) {
  if (dt == TC_F32) return bwd<float>(index, d, (const float *)gy, idx, (float *)gx);
  if (dt == TC_F64) return bwd<double>(index, d, (const double *)gy, idx, (double *)gx);
  return tc__cuda_set_error(TC_ERR_DTYPE, "cuda pooling backward: dtype %d is not supported (float32/float64 only)",
                            (int)dt);
}
