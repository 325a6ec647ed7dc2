/* core/src/cuda/random.cu — the device random number generator: Philox4x32-10, counter-based.
 *
 * Element i of a draw uses the 128-bit counter (i / 4, offset) under the 64-bit key seed and takes
 * word i % 4 of the output, so a draw depends only on (seed, offset, i): no state lives on the
 * device, any thread computes any element, and results do not depend on the launch shape. The
 * core advances the generator's offset by each draw's counter span, so draws never overlap.
 * (The stream differs from PyTorch's CUDA generator: masks are not bit-identical to torch's.)
 */
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>
#include <type_traits>
#include "cuda_backend.h"

namespace {

struct u4 {
  uint32_t x, y, z, w;
};

__device__ __forceinline__ u4 philox(uint64_t ctr_lo, uint64_t ctr_hi, uint64_t key) {
  uint32_t c0 = (uint32_t)ctr_lo, c1 = (uint32_t)(ctr_lo >> 32), c2 = (uint32_t)ctr_hi, c3 = (uint32_t)(ctr_hi >> 32);
  uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
#pragma unroll
  for (int r = 0; r < 10; r++) {
    uint32_t hi0 = __umulhi(0xD2511F53u, c0), lo0 = 0xD2511F53u * c0;
    uint32_t hi1 = __umulhi(0xCD9E8D57u, c2), lo1 = 0xCD9E8D57u * c2;
    uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
    c0 = n0, c1 = lo1, c2 = n2, c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return u4{c0, c1, c2, c3};
}

template <typename T>
__device__ __forceinline__ T from_float(float v) {
  if constexpr (sizeof(T) == 2) {
    if constexpr (std::is_same<T, __half>::value) return __float2half_rn(v);
    else return __float2bfloat16_rn(v);
  } else {
    return (T)v;
  }
}

/* noise[i] = keep_value where u_i < keep_prob, else 0; u_i uniform in [0, 1) with 24 bits */
template <typename T>
__global__ void bernoulli_kernel(T *noise, int64_t n, float keep_prob, T keep, uint64_t seed, uint64_t offset) {
  for (int64_t g = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; g * 4 < n; g += (int64_t)gridDim.x * blockDim.x) {
    u4 r = philox((uint64_t)g, offset, seed);
    uint32_t w[4] = {r.x, r.y, r.z, r.w};
#pragma unroll
    for (int j = 0; j < 4; j++) {
      int64_t i = g * 4 + j;
      if (i < n) noise[i] = (float)(w[j] >> 8) * (1.0f / 16777216.0f) < keep_prob ? keep : from_float<T>(0.0f);
    }
  }
}

template <typename T>
tc_status run(int index, void *noise, int64_t n, double keep_prob, T keep, uint64_t seed, uint64_t offset) {
  cudaStream_t s = tc__cuda_stream(index);
  if (!s) return TC_ERR_CUDA;
  if (n == 0) return TC_OK;
  int64_t groups = (n + 3) / 4, blocks = (groups + 255) / 256;
  bernoulli_kernel<T><<<(unsigned)(blocks < 65535 * 8 ? blocks : 65535 * 8), 256, 0, s>>>((T *)noise, n,
                                                                                           (float)keep_prob, keep,
                                                                                           seed, offset);
  cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? TC_OK : tc__cuda_fail(e, "dropout kernel", index);
}

}  // namespace

extern "C" tc_status tc__cuda_bernoulli_scaled(int index, tc_dtype dt, void *noise, int64_t n, double keep_prob,
                                               double keep_value, uint64_t seed, uint64_t offset) {
  switch (dt) {
    case TC_F32: return run<float>(index, noise, n, keep_prob, (float)keep_value, seed, offset);
    case TC_F64: return run<double>(index, noise, n, keep_prob, keep_value, seed, offset);
    case TC_F16: return run<__half>(index, noise, n, keep_prob, __float2half_rn((float)keep_value), seed, offset);
    case TC_BF16:
      return run<__nv_bfloat16>(index, noise, n, keep_prob, __float2bfloat16_rn((float)keep_value), seed, offset);
    default: return tc__cuda_set_error(TC_ERR_DTYPE, "cuda bernoulli: dtype %d is not supported", (int)dt);
  }
}
