/* core/src/cuda/scatter_add.cu — deterministic scatter-add: dst[i + idx[i] * mul] += alpha * src[i].
 *
 * The backward of gather, index_select and embedding, and scatter_add/index_add themselves. A
 * floating-point atomicAdd would make the sums depend on thread timing; instead:
 *   1. one pass writes, for each element i of the plan (in plan order), its target offset (key)
 *      and alpha * src[i] in the accumulation type (float for f32/f16/bf16, double, int64);
 *   2. a stable radix sort (CUB, from the CUDA toolkit) orders the pairs by key, keeping plan order
 *      among equal keys;
 *   3. the first element of each run of equal keys sums its run in that order and adds the sum to
 *      the target with one rounding.
 * The result is the same on every run and for any launch configuration. Cost: a sort of n pairs
 * (n = the plan's elements); runs are usually short (a token's occurrences in a batch).
 */
#include <cub/device/device_radix_sort.cuh>
#include "elementwise_launch.cuh"

namespace {

using namespace tcu;

template <typename T> struct acc_of { using type = float; };
template <> struct acc_of<double> { using type = double; };
template <> struct acc_of<int64_t> { using type = int64_t; };
template <> struct acc_of<int32_t> { using type = int64_t; };
template <> struct acc_of<int16_t> { using type = int64_t; };
template <> struct acc_of<int8_t> { using type = int64_t; };
template <> struct acc_of<uint8_t> { using type = int64_t; };
template <> struct acc_of<uint16_t> { using type = int64_t; };

template <typename T> __device__ __forceinline__ float to_f(T v) { return (float)v; }
template <> __device__ __forceinline__ float to_f(__half v) { return __half2float(v); }
template <> __device__ __forceinline__ float to_f(__nv_bfloat16 v) { return __bfloat162float(v); }

template <typename T, typename A> __device__ __forceinline__ A load_acc(const T *p) {
  if constexpr (std::is_same<A, float>::value) return to_f(*p);
  else return (A)*p;
}

template <typename T, typename A> __device__ __forceinline__ void add_to(T *p, A v) {
  if constexpr (std::is_same<T, __half>::value) *p = __float2half_rn(__half2float(*p) + v);
  else if constexpr (std::is_same<T, __nv_bfloat16>::value) *p = __float2bfloat16_rn(__bfloat162float(*p) + v);
  else if constexpr (std::is_same<T, uint8_t>::value && std::is_same<A, int64_t>::value) *p = (T)((int64_t)*p + v);
  else *p = (T)(*p + v);
}

/* pass 1 over the plan: key and scaled value of element i (the plan's linear order) */
template <typename T, typename I, typename A, bool CONTIG>
__global__ void keys_kernel(tc__kplan p, int64_t mul, A alpha, uint64_t *keys, A *vals) {
  int64_t n = p.numel;
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t off[3];
    if (CONTIG) off[0] = off[1] = off[2] = p.ndim == 0 ? 0 : i;
    else offsets<3, int64_t>(p, i, off);
    int64_t k = (int64_t)((const I *)p.data[2])[off[2]];
    keys[i] = (uint64_t)(off[0] + k * mul);
    A v = load_acc<T, A>((const T *)p.data[1] + off[1]);
    vals[i] = v * alpha;
  }
}

/* pass 3: the head of each run of equal keys sums the run in order and updates the target */
template <typename T, typename A>
__global__ void runs_kernel(int64_t n, const uint64_t *keys, const A *vals, T *dst) {
  for (int64_t j = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; j < n; j += (int64_t)gridDim.x * blockDim.x) {
    uint64_t k = keys[j];
    if (j > 0 && keys[j - 1] == k) continue;
    A s = vals[j];
    for (int64_t e = j + 1; e < n && keys[e] == k; e++) s += vals[e];
    add_to<T, A>(dst + k, s);
  }
}

unsigned grid_for(int64_t n) {
  int64_t b = (n + kThreads - 1) / kThreads;
  return (unsigned)(b > 65536 ? 65536 : (b < 1 ? 1 : b));
}

template <typename T, typename I>
tc_status run(int index, const tc__kplan *p, int64_t mul, double alpha, int64_t extent) {
  using A = typename acc_of<T>::type;
  const int64_t n = p->numel;
  if (n == 0) return TC_OK;
  if (n > INT32_MAX) /* CUB's sort takes an int count */
    return tc__cuda_set_error(TC_ERR_UNSUPPORTED, "cuda scatter_add: %lld elements exceed 2^31-1", (long long)n);
  cudaStream_t s = tc__cuda_stream(index);
  if (!s) return TC_ERR_CUDA;
  int end_bit = 1; /* sort only the bits a key can use */
  while (end_bit < 64 && ((uint64_t)1 << end_bit) < (uint64_t)extent) end_bit++;
  size_t temp = 0;
  cudaError_t e = cub::DeviceRadixSort::SortPairs(nullptr, temp, (const uint64_t *)nullptr, (uint64_t *)nullptr,
                                                  (const A *)nullptr, (A *)nullptr, (int)n, 0, end_bit, s);
  if (e != cudaSuccess) return tc__cuda_fail(e, "scatter_add: sizing the sort", index);
  size_t key_bytes = sizeof(uint64_t) * (size_t)n, val_bytes = sizeof(A) * (size_t)n;
  size_t total = 2 * key_bytes + 2 * val_bytes + temp + 64;
  char *buf = (char *)tc__cuda_alloc(total, index);
  if (!buf) return TC_ERR_NOMEM;
  uint64_t *k_in = (uint64_t *)buf, *k_out = k_in + n;
  A *v_in = (A *)(buf + 2 * key_bytes), *v_out = v_in + n;
  void *tmp = buf + 2 * key_bytes + 2 * val_bytes;
  A a = (A)alpha;
  if (all_contiguous(*p)) keys_kernel<T, I, A, true><<<grid_for(n), kThreads, 0, s>>>(*p, mul, a, k_in, v_in);
  else keys_kernel<T, I, A, false><<<grid_for(n), kThreads, 0, s>>>(*p, mul, a, k_in, v_in);
  e = cudaGetLastError();
  if (e == cudaSuccess)
    e = cub::DeviceRadixSort::SortPairs(tmp, temp, k_in, k_out, v_in, v_out, (int)n, 0, end_bit, s);
  if (e == cudaSuccess) {
    runs_kernel<T, A><<<grid_for(n), kThreads, 0, s>>>(n, k_out, v_out, (T *)p->data[0]);
    e = cudaGetLastError();
  }
  tc__cuda_free(buf, index); /* stream-ordered */
  return e == cudaSuccess ? TC_OK : tc__cuda_fail(e, "scatter_add kernel", index);
}

template <typename I>
tc_status by_dtype(int index, const tc__kplan *p, int64_t mul, double alpha, int64_t extent) {
  switch (p->dtype[0]) {
    case TC_F32: return run<float, I>(index, p, mul, alpha, extent);
    case TC_F64: return run<double, I>(index, p, mul, alpha, extent);
    case TC_F16: return run<__half, I>(index, p, mul, alpha, extent);
    case TC_BF16: return run<__nv_bfloat16, I>(index, p, mul, alpha, extent);
    case TC_I64: return run<int64_t, I>(index, p, mul, alpha, extent);
    case TC_I32: return run<int32_t, I>(index, p, mul, alpha, extent);
    case TC_I16: return run<int16_t, I>(index, p, mul, alpha, extent);
    case TC_I8: return run<int8_t, I>(index, p, mul, alpha, extent);
    case TC_U8: return run<uint8_t, I>(index, p, mul, alpha, extent);
    case TC_U16: return run<uint16_t, I>(index, p, mul, alpha, extent);
    default:
      return tc__cuda_set_error(TC_ERR_DTYPE, "cuda scatter_add: dtype %d is not supported", (int)p->dtype[0]);
  }
}

}  // namespace

extern "C" tc_status tc__cuda_index_scatter_add(int index, const tc__kplan *p, int64_t mul, double alpha,
                                                int64_t extent) {
  return p->dtype[2] == TC_I32 ? by_dtype<int32_t>(index, p, mul, alpha, extent)
                               : by_dtype<int64_t>(index, p, mul, alpha, extent);
}
