/* core/src/cuda/optim.cu — the fused optimizer updates (SGD, Adam/AdamW, RMSprop, Adagrad) of
 * every parameter of one device in one launch.
 *
 * The jobs (device_abi.h, prepared by the core exactly as for the CPU) are copied to the device;
 * each thread takes elements of the jobs laid end to end, finds its job by binary search and
 * applies the same per-element formula as the CPU (optim/optim_update.h), with fmaf/sqrtf
 * (correctly rounded on the GPU, as on the CPU), so both devices give the same bits.
 */
#include <stdint.h>
#include <stdlib.h>
#include "../optim/optim_update.h"
#include "cuda_backend.h"

namespace {

template <typename T>
__device__ __forceinline__ T fma_t(T a, T b, T c) {
  return fma(a, b, c);
}
template <>
__device__ __forceinline__ float fma_t<float>(float a, float b, float c) {
  return fmaf(a, b, c);
}
template <typename T>
__device__ __forceinline__ T sqrt_t(T a) {
  return sqrt(a);
}
template <>
__device__ __forceinline__ float sqrt_t<float>(float a) {
  return sqrtf(a);
}

template <typename T>
__device__ void update(const tc__optim_job &j, int64_t i) {
  T *p = (T *)j.p;
  const T *g = (const T *)j.g;
  const int f = j.flags;
  const tc__optim_scal *k = &j.k;
#define FMA fma_t<T>
#define SQRT sqrt_t<T>
  switch (j.kind) {
    case TC_OPTIM_SGD: {
      T *buf = (T *)j.s0;
      TC__SGD_CONSTS(T, k);
      TC__SGD_BODY(T, FMA, i);
      break;
    }
    case TC_OPTIM_ADAM:
    case TC_OPTIM_ADAMW: {
      T *m_ = (T *)j.s0, *v_ = (T *)j.s1, *mx_ = (T *)j.s2;
      TC__ADAM_CONSTS(T, k);
      TC__ADAM_BODY(T, FMA, SQRT, i);
      break;
    }
    case TC_OPTIM_RMSPROP: {
      T *sq_ = (T *)j.s0, *buf_ = (T *)j.s1, *ga_ = (T *)j.s2;
      TC__RMSPROP_CONSTS(T, k);
      TC__RMSPROP_BODY(T, FMA, SQRT, i);
      break;
    }
    case TC_OPTIM_ADAGRAD: {
      T *sum_ = (T *)j.s0;
      TC__ADAGRAD_CONSTS(T, k);
      TC__ADAGRAD_BODY(T, FMA, SQRT, i);
      break;
    }
  }
#undef FMA
#undef SQRT
}

__global__ void optim_kernel(const tc__optim_job *jobs, int64_t njobs, int64_t total) {
  for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += (int64_t)gridDim.x * blockDim.x) {
    int64_t lo = 0, hi = njobs - 1; /* the job holding element e */
    while (lo < hi) {
      int64_t mid = (lo + hi + 1) / 2;
      if (jobs[mid].start <= e) lo = mid;
      else hi = mid - 1;
    }
    const tc__optim_job &j = jobs[lo];
    int64_t i = e - j.start;
    if (j.dtype == TC_F32) update<float>(j, i);
    else update<double>(j, i);
  }
}

}  // namespace

extern "C" tc_status tc__cuda_optim_run(int index, const tc__optim_job *jobs, int64_t njobs) {
  if (njobs <= 0) return TC_OK;
  cudaStream_t s = tc__cuda_stream(index);
  if (!s) return TC_ERR_CUDA;
  size_t bytes = (size_t)njobs * sizeof(tc__optim_job);
  tc__optim_job *host = (tc__optim_job *)malloc(bytes);
  if (!host) return tc__cuda_set_error(TC_ERR_NOMEM, "cuda optimizer step: out of host memory");
  /* empty parameters are left out, so every job in the table owns its start */
  int64_t total = 0, m = 0;
  for (int64_t i = 0; i < njobs; i++) {
    if (jobs[i].n == 0) continue;
    host[m] = jobs[i];
    host[m].start = total;
    total += jobs[i].n;
    m++;
  }
  if (total == 0) {
    free(host);
    return TC_OK;
  }
  tc__optim_job *dev = (tc__optim_job *)tc__cuda_alloc(bytes, index);
  if (!dev) {
    free(host);
    return TC_ERR_NOMEM;
  }
  /* pageable memory: the call returns once the table is staged, so host may be freed after it */
  cudaError_t e = cudaMemcpyAsync(dev, host, (size_t)m * sizeof(tc__optim_job), cudaMemcpyHostToDevice, s);
  free(host);
  if (e == cudaSuccess) {
    int64_t blocks = (total + 255) / 256;
    optim_kernel<<<(unsigned)(blocks < 65535 * 8 ? blocks : 65535 * 8), 256, 0, s>>>(dev, m, total);
    e = cudaGetLastError();
  }
  tc__cuda_free(dev, index); /* reused only by later work on the same stream */
  return e == cudaSuccess ? TC_OK : tc__cuda_fail(e, "optimizer kernel", index);
}
