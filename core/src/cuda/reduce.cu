/* core/src/cuda/reduce.cu — deterministic row reductions: in (rows, n) contiguous -> out (rows).
 *
 * The core moves the reduced dims last and makes the input contiguous, so every reduction
 * (sum, mean, max, min, prod over any dims) is a row reduction here. Each block reduces a range
 * of one row: every thread accumulates a fixed strided subset in the accumulation type, then the
 * block combines the threads' values in a fixed tree. Long rows with few of them (a full sum)
 * are split into chunks whose partial results a second pass combines in chunk order. Nothing
 * depends on scheduling, so results are bit-identical from run to run (no atomics).
 *
 * Accumulation: f64 in double, f32/f16/bf16 in float, integers and bool in int64 (as PyTorch).
 * max/min propagate NaN.
 */
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>
#include <type_traits>
#include "cuda_backend.h"

namespace {

constexpr int kThreads = 256;

template <typename T>
__device__ __forceinline__ T load(const void *p, int64_t i) {
  return ((const T *)p)[i];
}

template <typename AT, typename IT>
__device__ __forceinline__ AT to_acc(IT v) {
  if constexpr (std::is_same<IT, __half>::value) return (AT)__half2float(v);
  else if constexpr (std::is_same<IT, __nv_bfloat16>::value) return (AT)__bfloat162float(v);
  else return (AT)v;
}

template <typename AT, int KIND>
__device__ __forceinline__ AT identity() {
  if constexpr (KIND == TC__RED_PROD) return (AT)1;
  else if constexpr (KIND == TC__RED_MAX) {
    if constexpr (std::is_floating_point<AT>::value) return (AT)-INFINITY;
    else return (AT)INT64_MIN;
  } else if constexpr (KIND == TC__RED_MIN) {
    if constexpr (std::is_floating_point<AT>::value) return (AT)INFINITY;
    else return (AT)INT64_MAX;
  } else {
    return (AT)0;
  }
}

template <typename AT, int KIND>
__device__ __forceinline__ AT combine(AT a, AT b) {
  if constexpr (KIND == TC__RED_PROD) return a * b;
  else if constexpr (KIND == TC__RED_MAX) {
    if constexpr (std::is_floating_point<AT>::value)
      if (a != a || b != b) return a != a ? a : b;
    return a > b ? a : b;
  } else if constexpr (KIND == TC__RED_MIN) {
    if constexpr (std::is_floating_point<AT>::value)
      if (a != a || b != b) return a != a ? a : b;
    return a < b ? a : b;
  } else {
    return a + b; /* sum and mean */
  }
}

template <typename OT, typename AT>
__device__ __forceinline__ void store(void *p, int64_t i, AT v) {
  if constexpr (std::is_same<OT, __half>::value) ((__half *)p)[i] = __float2half_rn((float)v);
  else if constexpr (std::is_same<OT, __nv_bfloat16>::value) ((__nv_bfloat16 *)p)[i] = __float2bfloat16_rn((float)v);
  else ((OT *)p)[i] = (OT)v;
}

/* Block b reduces chunk (b % chunks) of row (b / chunks), for a grid-stride over row*chunks.
 * final: write OT to out[row] (dividing by total for a mean); else write AT partials to
 * out[row * chunks + chunk]. */
template <typename IT, typename AT, typename OT, int KIND>
__global__ void reduce_kernel(const void *in, int64_t rows, int64_t n, int64_t chunks, int64_t total, bool final,
                              void *out) {
  __shared__ AT sh[kThreads];
  int64_t chunk_len = (n + chunks - 1) / chunks;
  for (int64_t job = blockIdx.x; job < rows * chunks; job += gridDim.x) {
    int64_t row = job / chunks, chunk = job % chunks;
    int64_t begin = chunk * chunk_len, end = begin + chunk_len < n ? begin + chunk_len : n;
    const IT *src = (const IT *)in + row * n;
    AT acc = identity<AT, KIND>();
    for (int64_t i = begin + threadIdx.x; i < end; i += kThreads) acc = combine<AT, KIND>(acc, to_acc<AT>(src[i]));
    sh[threadIdx.x] = acc;
    __syncthreads();
    for (int s = kThreads / 2; s > 0; s >>= 1) {
      if ((int)threadIdx.x < s) sh[threadIdx.x] = combine<AT, KIND>(sh[threadIdx.x], sh[threadIdx.x + s]);
      __syncthreads();
    }
    if (threadIdx.x == 0) {
      AT r = sh[0];
      if (final) {
        if constexpr (KIND == TC__RED_MEAN) r = r / (AT)total;
        store<OT, AT>(out, row, r);
      } else {
        ((AT *)out)[row * chunks + chunk] = r;
      }
    }
    __syncthreads();
  }
}

template <typename IT, typename AT, typename OT, int KIND>
tc_status run(int index, const void *in, int64_t rows, int64_t n, void *out) {
  cudaStream_t s = tc__cuda_stream(index);
  if (!s) return TC_ERR_CUDA;
  if (rows == 0) return TC_OK;
  int sms = 132;
  cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, index);
  /* split long rows when there are too few rows to fill the device */
  int64_t chunks = 1;
  if (rows < 2 * sms && n > 8 * kThreads) {
    chunks = (4 * sms + rows - 1) / rows;
    int64_t most = (n + 4 * kThreads - 1) / (4 * kThreads);
    if (chunks > most) chunks = most;
    if (chunks < 1) chunks = 1;
  }
  auto grid = [](int64_t jobs) { return (unsigned)(jobs < 65535 * 8 ? jobs : 65535 * 8); };
  constexpr int FIRST = KIND == TC__RED_MEAN ? TC__RED_SUM : KIND;
  if (chunks == 1) {
    reduce_kernel<IT, AT, OT, KIND><<<grid(rows), kThreads, 0, s>>>(in, rows, n, 1, n, true, out);
  } else {
    AT *tmp = (AT *)tc__cuda_alloc((size_t)(rows * chunks) * sizeof(AT), index);
    if (!tmp) return TC_ERR_NOMEM;
    reduce_kernel<IT, AT, AT, FIRST><<<grid(rows * chunks), kThreads, 0, s>>>(in, rows, n, chunks, n, false, tmp);
    reduce_kernel<AT, AT, OT, KIND><<<grid(rows), kThreads, 0, s>>>(tmp, rows, chunks, 1, n, true, out);
    tc__cuda_free(tmp, index); /* reused only by later work on the same stream */
  }
  cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? TC_OK : tc__cuda_fail(e, "reduction kernel", index);
}

/* The core asks for the input dtype out (floats; max/min), or int64 (sums and products of
 * integers and bool). */
template <typename IT, typename AT, int KIND>
tc_status by_out(int index, tc_dtype d, tc_dtype od, const void *in, int64_t rows, int64_t n, void *out) {
  if (od == d) return run<IT, AT, IT, KIND>(index, in, rows, n, out);
  if (od == TC_I64 && !std::is_floating_point<AT>::value) return run<IT, AT, int64_t, KIND>(index, in, rows, n, out);
  return tc__cuda_set_error(TC_ERR_DTYPE, "cuda reduction: output dtype %d for input dtype %d is not supported",
                            (int)od, (int)d);
}

template <int KIND>
tc_status by_in(int index, tc_dtype d, const void *in, int64_t rows, int64_t n, tc_dtype od, void *out) {
  switch (d) {
    case TC_F32: return by_out<float, float, KIND>(index, d, od, in, rows, n, out);
    case TC_F64: return by_out<double, double, KIND>(index, d, od, in, rows, n, out);
    case TC_F16: return by_out<__half, float, KIND>(index, d, od, in, rows, n, out);
    case TC_BF16: return by_out<__nv_bfloat16, float, KIND>(index, d, od, in, rows, n, out);
    case TC_I64: return by_out<int64_t, int64_t, KIND>(index, d, od, in, rows, n, out);
    case TC_I32: return by_out<int32_t, int64_t, KIND>(index, d, od, in, rows, n, out);
    case TC_I16: return by_out<int16_t, int64_t, KIND>(index, d, od, in, rows, n, out);
    case TC_I8: return by_out<int8_t, int64_t, KIND>(index, d, od, in, rows, n, out);
    case TC_U8: return by_out<uint8_t, int64_t, KIND>(index, d, od, in, rows, n, out);
    case TC_U16: return by_out<uint16_t, int64_t, KIND>(index, d, od, in, rows, n, out);
    case TC_BOOL: return by_out<bool, int64_t, KIND>(index, d, od, in, rows, n, out);
    default: return tc__cuda_set_error(TC_ERR_DTYPE, "cuda reduction: input dtype %d is not supported", (int)d);
  }
}

}  // namespace

extern "C" tc_status tc__cuda_reduce_rows(int index, tc__red_kind kind, tc_dtype dtype, const void *in, int64_t rows,
                                          int64_t n, tc_dtype out_dtype, void *out) {
  switch (kind) {
    case TC__RED_SUM: return by_in<TC__RED_SUM>(index, dtype, in, rows, n, out_dtype, out);
    case TC__RED_MEAN: return by_in<TC__RED_MEAN>(index, dtype, in, rows, n, out_dtype, out);
    case TC__RED_MAX: return by_in<TC__RED_MAX>(index, dtype, in, rows, n, out_dtype, out);
    case TC__RED_MIN: return by_in<TC__RED_MIN>(index, dtype, in, rows, n, out_dtype, out);
    case TC__RED_PROD: return by_in<TC__RED_PROD>(index, dtype, in, rows, n, out_dtype, out);
    default: return tc__cuda_set_error(TC_ERR_ARG, "cuda reduction: unknown kind %d", (int)kind);
  }
}

/* ---- max/min with the first index of the extreme (max_dim, min_dim, argmax, argmin) -----------------
 * One block per row. A NaN is the extreme once seen (as PyTorch); ties keep the first index. Each
 * thread scans a strided subset, then the block combines (value, index) pairs, which is
 * order-independent given the tie rule, so the result is exact and deterministic. */
namespace {

template <typename AT, bool MAX>
__device__ __forceinline__ bool takes(AT v, int64_t i, AT b, int64_t bi) {
  bool vn = v != v, bn = b != b;
  if (vn || bn) return vn && (!bn || i < bi);
  if (v == b) return i < bi;
  return MAX ? v > b : v < b;
}

template <typename IT, typename AT, bool MAX>
__global__ void arg_kernel(const IT *in, int64_t rows, int64_t n, IT *val, int64_t *idx) {
  __shared__ AT sv[kThreads];
  __shared__ int64_t si[kThreads];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const IT *x = in + r * n;
    AT best = 0;
    int64_t bi = -1;
    for (int64_t i = threadIdx.x; i < n; i += kThreads) {
      AT v = to_acc<AT>(x[i]);
      if (bi < 0 || takes<AT, MAX>(v, i, best, bi)) best = v, bi = i;
    }
    sv[threadIdx.x] = best;
    si[threadIdx.x] = bi;
    __syncthreads();
    for (int s = kThreads / 2; s > 0; s >>= 1) {
      if ((int)threadIdx.x < s) {
        int64_t j = si[threadIdx.x + s];
        if (j >= 0 && (si[threadIdx.x] < 0 || takes<AT, MAX>(sv[threadIdx.x + s], j, sv[threadIdx.x], si[threadIdx.x]))) {
          sv[threadIdx.x] = sv[threadIdx.x + s];
          si[threadIdx.x] = j;
        }
      }
      __syncthreads();
    }
    if (threadIdx.x == 0) {
      if (val) val[r] = x[si[0]]; /* the element itself: exact in its own dtype */
      idx[r] = si[0];
    }
    __syncthreads();
  }
}

template <typename IT, typename AT>
tc_status arg_run(int index, bool is_max, const void *in, int64_t rows, int64_t n, void *val, int64_t *idx) {
  cudaStream_t s = tc__cuda_stream(index);
  if (!s) return TC_ERR_CUDA;
  if (rows == 0 || n == 0) return TC_OK;
  unsigned grid = (unsigned)(rows < 65535 * 8 ? rows : 65535 * 8);
  if (is_max) arg_kernel<IT, AT, true><<<grid, kThreads, 0, s>>>((const IT *)in, rows, n, (IT *)val, idx);
  else arg_kernel<IT, AT, false><<<grid, kThreads, 0, s>>>((const IT *)in, rows, n, (IT *)val, idx);
  cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? TC_OK : tc__cuda_fail(e, "arg reduction kernel", index);
}

}  // namespace

extern "C" tc_status tc__cuda_arg_reduce_rows(int index, bool is_max, tc_dtype dtype, const void *in, int64_t rows,
                                              int64_t n, void *val, int64_t *idx) {
  switch (dtype) {
    case TC_F32: return arg_run<float, float>(index, is_max, in, rows, n, val, idx);
    case TC_F64: return arg_run<double, double>(index, is_max, in, rows, n, val, idx);
    case TC_F16: return arg_run<__half, float>(index, is_max, in, rows, n, val, idx);
    case TC_BF16: return arg_run<__nv_bfloat16, float>(index, is_max, in, rows, n, val, idx);
    case TC_I64: return arg_run<int64_t, int64_t>(index, is_max, in, rows, n, val, idx);
    case TC_I32: return arg_run<int32_t, int64_t>(index, is_max, in, rows, n, val, idx);
    case TC_I16: return arg_run<int16_t, int64_t>(index, is_max, in, rows, n, val, idx);
    case TC_I8: return arg_run<int8_t, int64_t>(index, is_max, in, rows, n, val, idx);
    case TC_U8: return arg_run<uint8_t, int64_t>(index, is_max, in, rows, n, val, idx);
    case TC_U16: return arg_run<uint16_t, int64_t>(index, is_max, in, rows, n, val, idx);
    case TC_BOOL: return arg_run<bool, int64_t>(index, is_max, in, rows, n, val, idx);
    default: return tc__cuda_set_error(TC_ERR_DTYPE, "cuda arg reduction: dtype %d is not supported", (int)dtype);
  }
}
