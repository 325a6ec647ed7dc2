/* core/src/cuda/elementwise_launch.cuh — the launcher shared by the elementwise kernel files.
 *
 * Every elementwise kernel walks a tc__kplan (device_abi.h) with a functor applied at per-operand
 * element offsets:
 *   - all operands contiguous (the common case): a flat index;
 *   - otherwise each thread turns its linear index into per-operand offsets, with 32-bit index
 *     math when the iteration has fewer than 2^31 elements.
 * Kernels are split over several files (unary, binary, copy) so they compile in parallel.
 */
#ifndef CTORCH_CUDA_ELEMENTWISE_LAUNCH_CUH
#define CTORCH_CUDA_ELEMENTWISE_LAUNCH_CUH

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>
#include <type_traits>
#include "../ops/scalar_math.h"
#include "cuda_backend.h"

namespace tcu {


constexpr int kThreads = 256;

/* ---- offsets of element i in each operand -------------------------------------------------------- */
template <int N, typename I>
__device__ __forceinline__ void offsets(const tc__kplan &p, I i, int64_t *off) {
#pragma unroll
  for (int k = 0; k < N; k++) off[k] = 0;
  for (int d = p.ndim - 1; d >= 0; d--) {
    I sz = (I)p.sizes[d];
    I q = i / sz;
    I c = i - q * sz;
    i = q;
#pragma unroll
    for (int k = 0; k < N; k++) off[k] += (int64_t)c * p.strides[k][d];
  }
}

/* bytes per element (the library links no copy of the core, so no tc_dtype_size) */
inline int elem_size(tc_dtype d) {
  switch (d) {
    case TC_F64: case TC_I64: case TC_C64: return 8;
    case TC_F32: case TC_I32: return 4;
    case TC_F16: case TC_BF16: case TC_I16: case TC_U16: return 2;
    default: return 1;
  }
}

inline bool all_contiguous(const tc__kplan &p) {
  if (p.ndim == 0) return true;
  if (p.ndim != 1) return false;
  for (int k = 0; k < p.nops; k++)
    if (p.strides[k][0] != 1) return false;
  return true;
}

/* F: a functor with `void operator()(int64_t *off) const` applying the op at the offsets. */
template <int N, bool CONTIG, typename I, typename F>
__global__ void ew_kernel(tc__kplan p, F f) {
  I n = (I)p.numel;
  I stride = (I)gridDim.x * blockDim.x;
  for (I i = (I)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
    int64_t off[N];
    if (CONTIG) {
#pragma unroll
      for (int k = 0; k < N; k++) off[k] = p.ndim == 0 ? 0 : (int64_t)i;
    } else {
      offsets<N, I>(p, i, off);
    }
    f(off);
  }
}

template <int N, typename F>
tc_status launch(int index, const tc__kplan *p, F f, const char *what) {
  if (p->numel == 0) return TC_OK;
  cudaStream_t s = tc__cuda_stream(index);
  if (!s) return TC_ERR_CUDA;
  int64_t blocks = (p->numel + kThreads - 1) / kThreads;
  if (blocks > 65536) blocks = 65536; /* grid-stride beyond this */
  bool small = p->numel < (int64_t(1) << 31);
  if (all_contiguous(*p)) {
    if (small) ew_kernel<N, true, int32_t><<<(unsigned)blocks, kThreads, 0, s>>>(*p, f);
    else ew_kernel<N, true, int64_t><<<(unsigned)blocks, kThreads, 0, s>>>(*p, f);
  } else {
    if (small) ew_kernel<N, false, int32_t><<<(unsigned)blocks, kThreads, 0, s>>>(*p, f);
    else ew_kernel<N, false, int64_t><<<(unsigned)blocks, kThreads, 0, s>>>(*p, f);
  }
  cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? TC_OK : tc__cuda_fail(e, what, index);
}

}  // namespace tcu

#endif
