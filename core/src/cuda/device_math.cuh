/* core/src/cuda/device_math.cuh — device helpers shared by the row kernels (softmax.cu, loss.cu,
 * layer_norm.cu): element load/store with f16/bf16 through f32, NaN-propagating max, exp/log per
 * type, and warp/block reductions that combine in a fixed order (results bit-identical from run
 * to run). block_reduce needs `scratch` of 33 values in shared memory and all threads of the block.
 */
#ifndef CTORCH_CUDA_DEVICE_MATH_CUH
#define CTORCH_CUDA_DEVICE_MATH_CUH

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>
#include <type_traits>

namespace tcu {

template <typename AT, typename T>
__device__ __forceinline__ AT load(const T *p, int64_t i) {
  if constexpr (std::is_same<T, __half>::value) return __half2float(p[i]);
  else if constexpr (std::is_same<T, __nv_bfloat16>::value) return __bfloat162float(p[i]);
  else return p[i];
}

template <typename T, typename AT>
__device__ __forceinline__ void store(T *p, int64_t i, AT v) {
  if constexpr (std::is_same<T, __half>::value) p[i] = __float2half_rn((float)v);
  else if constexpr (std::is_same<T, __nv_bfloat16>::value) p[i] = __float2bfloat16_rn((float)v);
  else p[i] = (T)v;
}

template <typename AT>
__device__ __forceinline__ AT nan_max(AT a, AT b) {
  return (a > b || a != a) ? a : b;
}

__device__ __forceinline__ float ex(float v) { return expf(v); }
__device__ __forceinline__ double ex(double v) { return exp(v); }
__device__ __forceinline__ float lg(float v) { return logf(v); }
__device__ __forceinline__ double lg(double v) { return log(v); }

/* Block-wide reduction in a fixed order: warps by shuffles, then warp 0 over the warps' values. */
template <typename AT, bool MAX>
__device__ AT block_reduce(AT v, AT *scratch) {
  for (int o = 16; o > 0; o >>= 1) {
    AT w = __shfl_down_sync(0xffffffffu, v, o);
    v = MAX ? nan_max(v, w) : v + w;
  }
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = (blockDim.x + 31) >> 5;
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < nwarps ? scratch[lane] : (MAX ? (AT)-INFINITY : (AT)0);
    for (int o = 16; o > 0; o >>= 1) {
      AT w = __shfl_down_sync(0xffffffffu, v, o);
      v = MAX ? nan_max(v, w) : v + w;
    }
    if (lane == 0) scratch[32] = v;
  }
  __syncthreads();
  AT r = scratch[32];
  __syncthreads(); /* scratch is reused by the next reduction */
  return r;
}

template <typename T>
__device__ __forceinline__ T warp_sum(T v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
template <typename T>
__device__ __forceinline__ T warp_max(T v) {
  for (int o = 16; o > 0; o >>= 1) v = nan_max(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

}  // namespace tcu

#endif
