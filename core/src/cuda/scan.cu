/* core/src/cuda/scan.cu — cumsum and cumprod along the middle dim of contiguous (outer, d, inner).
 *
 * One thread per line (o, j): it walks the d elements in order, keeping the running value in the
 * accumulate type (double for float32 lines when `wide`, else the data type; int64 wraps as the
 * CPU's uint64 arithmetic), and writes each prefix rounded to the data type. This is the CPU's
 * scan (scan.c) element for element, so results match it and never depend on the launch shape.
 * Adjacent threads take adjacent j, so accesses coalesce when inner > 1; for inner == 1 each
 * thread reads its own row (strided across the warp), which is still one pass over the data.
 */
#include <stdint.h>
#include "cuda_backend.h"

namespace {

template <typename T, typename A, bool PROD>
__global__ void scan_lines(const T *__restrict__ x, T *__restrict__ y, int64_t lines, int64_t d, int64_t inner) {
  for (int64_t l = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; l < lines; l += (int64_t)gridDim.x * blockDim.x) {
    int64_t o = l / inner, j = l - o * inner;
    const T *xp = x + o * d * inner + j;
    T *yp = y + o * d * inner + j;
    A acc = PROD ? (A)1 : (A)0;
    for (int64_t i = 0; i < d; i++) {
      A v = (A)xp[i * inner];
      acc = PROD ? (A)(acc * v) : (A)(acc + v);
      yp[i * inner] = (T)acc;
    }
  }
}

template <typename T, typename A>
tc_status run(int index, bool prod, const void *in, void *out, int64_t outer, int64_t d, int64_t inner) {
  int64_t lines = outer * inner;
  if (lines == 0 || d == 0) return TC_OK;
  cudaStream_t s = tc__cuda_stream(index);
  if (!s) return TC_ERR_CUDA;
  int64_t blocks = (lines + 255) / 256;
  if (blocks > 65536) blocks = 65536;
  if (prod) scan_lines<T, A, true><<<(unsigned)blocks, 256, 0, s>>>((const T *)in, (T *)out, lines, d, inner);
  else scan_lines<T, A, false><<<(unsigned)blocks, 256, 0, s>>>((const T *)in, (T *)out, lines, d, inner);
  cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? TC_OK : tc__cuda_fail(e, "scan kernel", index);
}

}  // namespace

extern "C" tc_status tc__cuda_scan(int index, bool prod, tc_dtype dt, bool wide, const void *in, void *out,
                                   int64_t outer, int64_t d, int64_t inner) {
  switch (dt) {
    case TC_F32:
      return wide ? run<float, double>(index, prod, in, out, outer, d, inner)
                  : run<float, float>(index, prod, in, out, outer, d, inner);
    case TC_F64: return run<double, double>(index, prod, in, out, outer, d, inner);
    case TC_I64: return run<int64_t, uint64_t>(index, prod, in, out, outer, d, inner);
    default: return tc__cuda_set_error(TC_ERR_DTYPE, "cuda scan: dtype %d is not supported", (int)dt);
  }
}
