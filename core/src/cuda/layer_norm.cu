/* core/src/cuda/layer_norm.cu — layer norm over the last K elements of contiguous (M, K) rows,
 * f32 or f64 (the core converts f16/bf16 to f32 first, as the CPU does).
 *
 * Forward: one block per row. Float rows of a multiple of 4 up to 8192 elements are held in
 * registers (16-byte accesses, x read once); otherwise at least 16 elements per thread, the row
 * cached in shared memory when it fits (48 KB). Mean and
 * variance in two passes over the cached row (accurate when |mean| >> std), rstd = 1 / sqrt(var +
 * eps), y = (x - mean) * rstd * w + b. mean and rstd are written per row for the backward.
 * Backward, xhat = (x - mean) * rstd, h = g * w:
 *   gx = rstd * (h - mean_k(h) - xhat * mean_k(h * xhat))        one block per row
 *   gw = sum_rows g * xhat, gb = sum_rows g                      columns: rows split in fixed chunks,
 *                                                                chunk partials summed in order
 * No atomics: results are bit-identical from run to run.
 */
#include <stdint.h>
#include "cuda_backend.h"
#include "device_math.cuh"

using namespace tcu;

namespace {

constexpr int kSmemBytes = 48 * 1024;
constexpr int kColThreads = 256;

__device__ __forceinline__ float rsqrt_exact(float v) { return 1.0f / sqrtf(v); }
__device__ __forceinline__ double rsqrt_exact(double v) { return 1.0 / sqrt(v); }

template <typename T>
__device__ __forceinline__ T block_sum(T v, T *scratch) {
  return block_reduce<T, false>(v, scratch);
}

/* VEC (float, K % 4 == 0, 16-byte aligned): 16-byte loads and stores of x, w, b and y. */
template <typename T, bool SMEM, bool VEC>
__global__ void ln_fwd(const T *x, const T *w, const T *b, int64_t M, int64_t K, T eps, T *y, T *mean_out,
                       T *rstd_out) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  T *row = reinterpret_cast<T *>(smem_raw);
  __shared__ T scratch[33];
  for (int64_t r = blockIdx.x; r < M; r += gridDim.x) {
    const T *xr = x + r * K;
    T *yr = y + r * K;
    T s = 0;
    if constexpr (VEC) {
      for (int64_t i = threadIdx.x; i < K / 4; i += blockDim.x) {
        float4 v = reinterpret_cast<const float4 *>(xr)[i];
        if (SMEM) reinterpret_cast<float4 *>(row)[i] = v;
        s += (v.x + v.y) + (v.z + v.w);
      }
    } else {
      for (int64_t i = threadIdx.x; i < K; i += blockDim.x) {
        T v = xr[i];
        if (SMEM) row[i] = v;
        s += v;
      }
    }
    T mean = block_sum(s, scratch) / (T)K;
    T q = 0;
    for (int64_t i = threadIdx.x; i < K; i += blockDim.x) {
      T d = (SMEM ? row[i] : xr[i]) - mean;
      q += d * d;
    }
    T rstd = rsqrt_exact(block_sum(q, scratch) / (T)K + eps);
    if constexpr (VEC) {
      const float4 *src = reinterpret_cast<const float4 *>(SMEM ? (const T *)row : xr);
      for (int64_t i = threadIdx.x; i < K / 4; i += blockDim.x) {
        float4 v = src[i];
        v = make_float4((v.x - mean) * rstd, (v.y - mean) * rstd, (v.z - mean) * rstd, (v.w - mean) * rstd);
        if (w) {
          float4 wv = reinterpret_cast<const float4 *>(w)[i];
          v = make_float4(v.x * wv.x, v.y * wv.y, v.z * wv.z, v.w * wv.w);
        }
        if (b) {
          float4 bv = reinterpret_cast<const float4 *>(b)[i];
          v = make_float4(v.x + bv.x, v.y + bv.y, v.z + bv.z, v.w + bv.w);
        }
        reinterpret_cast<float4 *>(yr)[i] = v;
      }
    } else {
      for (int64_t i = threadIdx.x; i < K; i += blockDim.x) {
        T v = ((SMEM ? row[i] : xr[i]) - mean) * rstd;
        if (w) v = v * w[i];
        if (b) v = v + b[i];
        yr[i] = v;
      }
    }
    if (threadIdx.x == 0) {
      mean_out[r] = mean;
      rstd_out[r] = rstd;
    }
    __syncthreads();
  }
}

/* float rows of K % 4 == 0 up to kRegThreads * 4 * VPT elements, held in registers: x is read once
 * from memory (the shared-memory kernel above stages it instead, which limits blocks per SM). */
constexpr int kRegThreads = 256;
template <int VPT>
__global__ void __launch_bounds__(kRegThreads) ln_fwd_reg(const float *x, const float *w, const float *b, int64_t M,
                                                          int64_t K, float eps, float *y, float *mean_out,
                                                          float *rstd_out) {
  __shared__ float scratch[33];
  const int64_t K4 = K / 4;
  for (int64_t r = blockIdx.x; r < M; r += gridDim.x) {
    const float4 *xr = reinterpret_cast<const float4 *>(x + r * K);
    float4 v[VPT];
    float s = 0;
#pragma unroll
    for (int j = 0; j < VPT; j++) {
      int64_t i = threadIdx.x + (int64_t)j * kRegThreads;
      v[j] = i < K4 ? __ldcs(xr + i) : make_float4(0.f, 0.f, 0.f, 0.f); /* streamed: read once */
      s += (v[j].x + v[j].y) + (v[j].z + v[j].w);
    }
    float mean = block_sum(s, scratch) / (float)K;
    float q = 0;
#pragma unroll
    for (int j = 0; j < VPT; j++) {
      if (threadIdx.x + (int64_t)j * kRegThreads >= K4) continue;
      float a = v[j].x - mean, c = v[j].y - mean, d = v[j].z - mean, e = v[j].w - mean;
      q += (a * a + c * c) + (d * d + e * e);
    }
    float rstd = rsqrt_exact(block_sum(q, scratch) / (float)K + eps);
    float4 *yr = reinterpret_cast<float4 *>(y + r * K);
#pragma unroll
    for (int j = 0; j < VPT; j++) {
      int64_t i = threadIdx.x + (int64_t)j * kRegThreads;
      if (i >= K4) continue;
      float4 o = make_float4((v[j].x - mean) * rstd, (v[j].y - mean) * rstd, (v[j].z - mean) * rstd,
                             (v[j].w - mean) * rstd);
      if (w) {
        float4 wv = reinterpret_cast<const float4 *>(w)[i];
        o = make_float4(o.x * wv.x, o.y * wv.y, o.z * wv.z, o.w * wv.w);
      }
      if (b) {
        float4 bv = reinterpret_cast<const float4 *>(b)[i];
        o = make_float4(o.x + bv.x, o.y + bv.y, o.z + bv.z, o.w + bv.w);
      }
      __stcs(yr + i, o);
    }
    if (threadIdx.x == 0) {
      mean_out[r] = mean;
      rstd_out[r] = rstd;
    }
  }
}

template <typename T>
__global__ void ln_bwd_rows(const T *x, const T *g, const T *w, const T *mean, const T *rstd, int64_t M, int64_t K,
                            T *gx) {
  __shared__ T scratch[33];
  for (int64_t r = blockIdx.x; r < M; r += gridDim.x) {
    const T *xr = x + r * K, *gr = g + r * K;
    T mu = mean[r], rs = rstd[r], sh = 0, shx = 0;
    for (int64_t i = threadIdx.x; i < K; i += blockDim.x) {
      T h = gr[i] * (w ? w[i] : (T)1), xh = (xr[i] - mu) * rs;
      sh += h;
      shx += h * xh;
    }
    sh = block_sum(sh, scratch) / (T)K;
    shx = block_sum(shx, scratch) / (T)K;
    T *o = gx + r * K;
    for (int64_t i = threadIdx.x; i < K; i += blockDim.x) {
      T h = gr[i] * (w ? w[i] : (T)1), xh = (xr[i] - mu) * rs;
      o[i] = rs * (h - sh - xh * shx);
    }
  }
}

/* partial column sums of chunk c (rows [c*R/chunks, (c+1)*R/chunks)) for each column k */
template <typename T>
__global__ void ln_bwd_cols(const T *x, const T *g, const T *mean, const T *rstd, int64_t M, int64_t K,
                            int64_t chunks, T *pw, T *pb) {
  int64_t k = (int64_t)blockIdx.x * blockDim.x + threadIdx.x, c = blockIdx.y;
  if (k >= K) return;
  int64_t r0 = c * M / chunks, r1 = (c + 1) * M / chunks;
  T sw = 0, sb = 0;
  for (int64_t r = r0; r < r1; r++) {
    T gv = g[r * K + k];
    sw += gv * ((x[r * K + k] - mean[r]) * rstd[r]);
    sb += gv;
  }
  if (pw) pw[c * K + k] = sw;
  if (pb) pb[c * K + k] = sb;
}

template <typename T>
__global__ void sum_chunks(const T *part, int64_t chunks, int64_t K, T *out) {
  int64_t k = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (k >= K) return;
  T s = 0;
  for (int64_t c = 0; c < chunks; c++) s += part[c * K + k];
  out[k] = s;
}

/* at least 16 elements per thread: work to overlap the loads */
int threads_for(int64_t K) {
  int t = 32;
  while (t < 1024 && t * 16 < K) t *= 2;
  return t;
}

bool aligned16(const void *p) { return p == nullptr || ((uintptr_t)p % 16) == 0; }

unsigned grid_rows(int64_t M) { return (unsigned)(M < 65535 * 16 ? M : 65535 * 16); }

template <typename T>
tc_status fwd(int index, const T *x, const T *w, const T *b, int64_t M, int64_t K, double eps, T *y, T *mean,
              T *rstd) {
  cudaStream_t s = tc__cuda_stream(index);
  if (!s) return TC_ERR_CUDA;
  if (M == 0 || K == 0) return TC_OK;
  size_t smem = (size_t)K * sizeof(T);
  bool cache = smem <= (size_t)kSmemBytes;
  bool vec = sizeof(T) == 4 && K % 4 == 0 && aligned16(x) && aligned16(w) && aligned16(b) && aligned16(y);
  unsigned g = grid_rows(M);
  int t = threads_for(K);
  if constexpr (sizeof(T) == 4) {
    if (vec && K <= (int64_t)kRegThreads * 4 * 8) {
      const float *xf = (const float *)x, *wf = (const float *)w, *bf = (const float *)b;
      float *yf = (float *)y, *mf = (float *)mean, *rf = (float *)rstd;
      int64_t per = (K / 4 + kRegThreads - 1) / kRegThreads; /* float4 per thread */
      if (per <= 1) ln_fwd_reg<1><<<g, kRegThreads, 0, s>>>(xf, wf, bf, M, K, (float)eps, yf, mf, rf);
      else if (per <= 2) ln_fwd_reg<2><<<g, kRegThreads, 0, s>>>(xf, wf, bf, M, K, (float)eps, yf, mf, rf);
      else if (per <= 4) ln_fwd_reg<4><<<g, kRegThreads, 0, s>>>(xf, wf, bf, M, K, (float)eps, yf, mf, rf);
      else ln_fwd_reg<8><<<g, kRegThreads, 0, s>>>(xf, wf, bf, M, K, (float)eps, yf, mf, rf);
      cudaError_t e = cudaGetLastError();
      return e == cudaSuccess ? TC_OK : tc__cuda_fail(e, "layer norm kernel", index);
    }
  }
  if (vec && cache) ln_fwd<T, true, sizeof(T) == 4><<<g, t, smem, s>>>(x, w, b, M, K, (T)eps, y, mean, rstd);
  else if (vec) ln_fwd<T, false, sizeof(T) == 4><<<g, t, 0, s>>>(x, w, b, M, K, (T)eps, y, mean, rstd);
  else if (cache) ln_fwd<T, true, false><<<g, t, smem, s>>>(x, w, b, M, K, (T)eps, y, mean, rstd);
  else ln_fwd<T, false, false><<<g, t, 0, s>>>(x, w, b, M, K, (T)eps, y, mean, rstd);
  cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? TC_OK : tc__cuda_fail(e, "layer norm kernel", index);
}

template <typename T>
tc_status bwd(int index, const T *x, const T *g, const T *w, const T *mean, const T *rstd, int64_t M, int64_t K, T *gx,
              T *gw, T *gb) {
  cudaStream_t s = tc__cuda_stream(index);
  if (!s) return TC_ERR_CUDA;
  if (M == 0 || K == 0) return TC_OK;
  if (gx) ln_bwd_rows<T><<<grid_rows(M), threads_for(K), 0, s>>>(x, g, w, mean, rstd, M, K, gx);
  if (gw || gb) {
    /* enough chunks of rows to fill the device, at least 32 rows each */
    int64_t cblocks = (K + kColThreads - 1) / kColThreads, chunks = (4 * 132 + cblocks - 1) / cblocks;
    if (chunks > M / 32) chunks = M / 32;
    if (chunks < 1) chunks = 1;
    if (chunks > 65535) chunks = 65535;
    T *part = (T *)tc__cuda_alloc((size_t)(2 * chunks * K) * sizeof(T), index);
    if (!part) return TC_ERR_NOMEM;
    dim3 grid((unsigned)cblocks, (unsigned)chunks);
    ln_bwd_cols<T><<<grid, kColThreads, 0, s>>>(x, g, mean, rstd, M, K, chunks, gw ? part : NULL,
                                                gb ? part + chunks * K : NULL);
    if (gw) sum_chunks<T><<<(unsigned)cblocks, kColThreads, 0, s>>>(part, chunks, K, gw);
    if (gb) sum_chunks<T><<<(unsigned)cblocks, kColThreads, 0, s>>>(part + chunks * K, chunks, K, gb);
    tc__cuda_free(part, index); /* reused only by later work on the same stream */
  }
  cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? TC_OK : tc__cuda_fail(e, "layer norm backward kernel", index);
}

}  // namespace

extern "C" tc_status tc__cuda_layer_norm_fwd(int index, tc_dtype dt, const void *x, const void *w, const void *b,
                                             int64_t M, int64_t K, double eps, void *y, void *mean, void *rstd) {
  if (dt == TC_F32)
    return fwd<float>(index, (const float *)x, (const float *)w, (const float *)b, M, K, eps, (float *)y,
                      (float *)mean, (float *)rstd);
  if (dt == TC_F64)
    return fwd<double>(index, (const double *)x, (const double *)w, (const double *)b, M, K, eps, (double *)y,
                       (double *)mean, (double *)rstd);
  return tc__cuda_set_error(TC_ERR_DTYPE, "cuda layer norm: dtype %d is not supported", (int)dt);
}

extern "C" tc_status tc__cuda_layer_norm_bwd(int index, tc_dtype dt, const void *x, const void *g, const void *w,
                                             const void *mean, const void *rstd, int64_t M, int64_t K, void *gx,
                                             void *gw, void *gb) {
  if (dt == TC_F32)
    return bwd<float>(index, (const float *)x, (const float *)g, (const float *)w, (const float *)mean,
                      (const float *)rstd, M, K, (float *)gx, (float *)gw, (float *)gb);
  if (dt == TC_F64)
    return bwd<double>(index, (const double *)x, (const double *)g, (const double *)w, (const double *)mean,
                       (const double *)rstd, M, K, (double *)gx, (double *)gw, (double *)gb);
  return tc__cuda_set_error(TC_ERR_DTYPE, "cuda layer norm: dtype %d is not supported", (int)dt);
}
