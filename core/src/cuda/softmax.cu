/* core/src/cuda/softmax.cu — softmax and log_softmax over the last dim of a contiguous (rows, D)
 * tensor, f32/f64/f16/bf16 (f16/bf16 read and written as such, computed in f32).
 *
 * One block per row (grid-stride over rows), at least 16 elements per thread. The row is loaded
 * once into shared memory when it fits (48 KB: 12288 floats), so the input is read once and the
 * output written once; longer rows read the input three times through the cache. float rows of a
 * multiple of 4 use 16-byte loads and stores. As the CPU kernel (core/src/softmax.c):
 * m = max (a NaN anywhere makes the row NaN), s = sum exp(x - m), softmax = exp(x - m) * (1 / s),
 * log_softmax = (x - m) - log(s). The block combines its threads' partial results in a fixed
 * order, so results are bit-identical from run to run.
 */
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>
#include <type_traits>
#include "cuda_backend.h"
#include "device_math.cuh"

using namespace tcu;

namespace {

constexpr int kSmemBytes = 48 * 1024;

/* VEC (float rows, D % 4 == 0): 16-byte loads and stores. */
template <typename T, typename AT, bool LOG, bool SMEM, bool VEC>
__global__ void softmax_rows(const T *x, T *y, int64_t rows, int64_t D) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  AT *row_cache = reinterpret_cast<AT *>(smem_raw);
  __shared__ AT scratch[33];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T *xr = x + r * D;
    T *yr = y + r * D;
    AT m = (AT)-INFINITY;
    if constexpr (VEC) {
      const float4 *x4 = reinterpret_cast<const float4 *>(xr);
      for (int64_t i = threadIdx.x; i < D / 4; i += blockDim.x) {
        float4 v = x4[i];
        if (SMEM) reinterpret_cast<float4 *>(row_cache)[i] = v;
        m = nan_max(nan_max(m, (AT)v.x), nan_max(nan_max((AT)v.y, (AT)v.z), (AT)v.w));
      }
    } else {
      for (int64_t i = threadIdx.x; i < D; i += blockDim.x) {
        AT v = load<AT>(xr, i);
        if (SMEM) row_cache[i] = v;
        m = nan_max(m, v);
      }
    }
    m = block_reduce<AT, true>(m, scratch);
    AT s = 0;
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) s += ex((SMEM ? row_cache[i] : load<AT>(xr, i)) - m);
    s = block_reduce<AT, false>(s, scratch);
    const AT ls = LOG ? lg(s) : (AT)0, inv = LOG ? (AT)0 : (AT)1 / s;
    if constexpr (VEC) {
      float4 *y4 = reinterpret_cast<float4 *>(yr);
      const float4 *src4 = reinterpret_cast<const float4 *>(SMEM ? (const void *)row_cache : (const void *)xr);
      for (int64_t i = threadIdx.x; i < D / 4; i += blockDim.x) {
        float4 v = src4[i];
        if (LOG) v = make_float4((v.x - m) - ls, (v.y - m) - ls, (v.z - m) - ls, (v.w - m) - ls);
        else v = make_float4(ex(v.x - m) * inv, ex(v.y - m) * inv, ex(v.z - m) * inv, ex(v.w - m) * inv);
        y4[i] = v;
      }
    } else {
      for (int64_t i = threadIdx.x; i < D; i += blockDim.x) {
        AT v = (SMEM ? row_cache[i] : load<AT>(xr, i)) - m;
        store(yr, i, LOG ? v - ls : ex(v) * inv);
      }
    }
    __syncthreads(); /* the row cache is refilled for the next row */
  }
}

template <typename T, typename AT, bool VEC>
void launch_rows(const T *x, T *y, int64_t rows, int64_t D, bool log, bool cache, unsigned grid, int threads,
                 cudaStream_t s) {
  size_t smem = cache ? (size_t)D * sizeof(AT) : 0;
  if (cache) {
    if (log) softmax_rows<T, AT, true, true, VEC><<<grid, threads, smem, s>>>(x, y, rows, D);
    else softmax_rows<T, AT, false, true, VEC><<<grid, threads, smem, s>>>(x, y, rows, D);
  } else {
    if (log) softmax_rows<T, AT, true, false, VEC><<<grid, threads, 0, s>>>(x, y, rows, D);
    else softmax_rows<T, AT, false, false, VEC><<<grid, threads, 0, s>>>(x, y, rows, D);
  }
}

template <typename T, typename AT>
tc_status run(int index, const void *in, void *out, int64_t rows, int64_t D, bool log) {
  cudaStream_t s = tc__cuda_stream(index);
  if (!s) return TC_ERR_CUDA;
  if (rows == 0 || D == 0) return TC_OK;
  int threads = 32; /* at least 16 elements per thread: work to overlap the loads */
  while (threads < 1024 && threads * 16 < D) threads *= 2;
  unsigned grid = (unsigned)(rows < 65535 * 16 ? rows : 65535 * 16);
  bool cache = (size_t)D * sizeof(AT) <= (size_t)kSmemBytes;
  const T *x = (const T *)in;
  T *y = (T *)out;
  bool vec = std::is_same<T, float>::value && D % 4 == 0 && ((uintptr_t)in % 16) == 0 && ((uintptr_t)out % 16) == 0;
  if constexpr (std::is_same<T, float>::value) {
    if (vec) launch_rows<T, AT, true>(x, y, rows, D, log, cache, grid, threads, s);
    else launch_rows<T, AT, false>(x, y, rows, D, log, cache, grid, threads, s);
  } else {
    launch_rows<T, AT, false>(x, y, rows, D, log, cache, grid, threads, s);
  }
  cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? TC_OK : tc__cuda_fail(e, "softmax kernel", index);
}

}  // namespace

extern "C" tc_status tc__cuda_softmax(int index, tc_dtype dtype, const void *in, void *out, int64_t rows, int64_t d,
                                      bool log) {
  switch (dtype) {
    case TC_F32: return run<float, float>(index, in, out, rows, d, log);
    case TC_F64: return run<double, double>(index, in, out, rows, d, log);
    case TC_F16: return run<__half, float>(index, in, out, rows, d, log);
    case TC_BF16: return run<__nv_bfloat16, float>(index, in, out, rows, d, log);
    default: return tc__cuda_set_error(TC_ERR_DTYPE, "cuda softmax: dtype %d is not supported", (int)dtype);
  }
}
