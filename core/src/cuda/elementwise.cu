/* core/src/cuda/elementwise.cu — CUDA kernels of the elementwise op tables, copy and fill.
 *
 * The unary and binary kernels are generated from the same X-macro tables as the CPU loops
 * (ops/unary.def, ops/binary.def) with the same per-element helpers (ops/scalar_math.h), so an
 * op added there gets its CUDA kernel too. Every kernel walks a tc__kplan (device_abi.h):
 *   - all operands contiguous (the common case): a flat index, 4 elements per thread;
 *   - otherwise each thread turns its linear index into per-operand offsets, with 32-bit index
 *     math when the iteration has fewer than 2^31 elements.
 * unary/binary operands are already in the compute dtype (the core converts f16/bf16 to f32
 * first, as on the CPU); copy converts between any two dtypes with the CPU's rules.
 */
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>
#include <type_traits>
#include "../ops/scalar_math.h"
#include "cuda_backend.h"

namespace {

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
int elem_size(tc_dtype d) {
  switch (d) {
    case TC_F64: case TC_I64: case TC_C64: return 8;
    case TC_F32: case TC_I32: return 4;
    case TC_F16: case TC_BF16: case TC_I16: case TC_U16: return 2;
    default: return 1;
  }
}

bool all_contiguous(const tc__kplan &p) {
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

/* ---- unary ops from the table: one functor per op ------------------------------------------------- */
#define TC_UNARY_FLOAT(name, f32, f64)                                        \
  struct un_##name {                                                          \
    __device__ float operator()(float x) const { return f32; }               \
    __device__ double operator()(double x) const { return f64; }             \
    template <typename T, typename U>                                         \
    __device__ T iop(T x) const { return x; }                                 \
    static constexpr bool has_int = false, pred = false;                      \
  };
#define TC_UNARY_SAME(name, f32, f64, iexpr, bool_ok)                         \
  struct un_##name {                                                          \
    __device__ float operator()(float x) const { return f32; }               \
    __device__ double operator()(double x) const { return f64; }             \
    template <typename T, typename U>                                         \
    __device__ T iop(T x) const { return (T)(iexpr); }                        \
    static constexpr bool has_int = true, pred = false, bool_ok_ = bool_ok;   \
  };
#define TC_UNARY_PRED(name, f32, f64, iexpr)                                  \
  struct un_##name {                                                          \
    __device__ bool operator()(float x) const { return f32; }                \
    __device__ bool operator()(double x) const { return f64; }               \
    template <typename T, typename U>                                         \
    __device__ bool iop(T x) const { return (iexpr); }                        \
    static constexpr bool has_int = true, pred = true;                        \
  };
#include "../ops/unary.def"

template <typename OT, typename IT, typename Op, bool INT, typename U>
struct unary_fn {
  Op op;
  void *o;
  const void *a;
  __device__ void operator()(const int64_t *off) const {
    IT x = ((const IT *)a)[off[1]];
    if constexpr (INT) ((OT *)o)[off[0]] = (OT)op.template iop<IT, U>(x);
    else ((OT *)o)[off[0]] = (OT)op(x);
  }
};

template <typename Op, typename IT, bool INT, typename U>
tc_status run_unary(int index, const tc__kplan *p, bool pred) {
  if (pred) return launch<2>(index, p, unary_fn<bool, IT, Op, INT, U>{Op{}, p->data[0], p->data[1]}, "unary kernel");
  return launch<2>(index, p, unary_fn<IT, IT, Op, INT, U>{Op{}, p->data[0], p->data[1]}, "unary kernel");
}

template <typename Op>
tc_status unary_for(int index, tc_dtype dt, const tc__kplan *p) {
  constexpr bool pred = Op::pred;
  switch (dt) {
    case TC_F32: return run_unary<Op, float, false, float>(index, p, pred);
    case TC_F64: return run_unary<Op, double, false, double>(index, p, pred);
    default: break;
  }
  if constexpr (Op::has_int) {
    switch (dt) {
      case TC_I64: return run_unary<Op, int64_t, true, uint64_t>(index, p, pred);
      case TC_I32: return run_unary<Op, int32_t, true, uint32_t>(index, p, pred);
      case TC_I16: return run_unary<Op, int16_t, true, uint32_t>(index, p, pred);
      case TC_I8: return run_unary<Op, int8_t, true, uint32_t>(index, p, pred);
      case TC_U8: return run_unary<Op, uint8_t, true, uint32_t>(index, p, pred);
      case TC_U16: return run_unary<Op, uint16_t, true, uint32_t>(index, p, pred);
      case TC_BOOL: return run_unary<Op, bool, true, uint32_t>(index, p, pred);
      default: break;
    }
  }
  return tc__cuda_set_error(TC_ERR_DTYPE, "cuda unary op: dtype %d is not supported", (int)dt);
}

/* ---- binary ops from the table -------------------------------------------------------------------- */
#define TC_BINARY_ARITH(name, f32, f64, iexpr, bexpr)                                            \
  struct bin_##name {                                                                            \
    tc__binary_ctx cx;                                                                           \
    __device__ float operator()(float x, float y) const { const tc__binary_ctx *c = &cx; (void)c; return f32; }    \
    __device__ double operator()(double x, double y) const { const tc__binary_ctx *c = &cx; (void)c; return f64; } \
    template <typename T, typename U>                                                            \
    __device__ T iop(T x, T y) const { const tc__binary_ctx *c = &cx; (void)c; return (T)(iexpr); } \
    __device__ bool bop(bool x, bool y) const { return (bexpr); }                                \
    static constexpr bool cmp = false;                                                           \
  };
#define TC_BINARY_CMP(name, op_)                                                  \
  struct bin_##name {                                                             \
    tc__binary_ctx cx;                                                            \
    template <typename T>                                                         \
    __device__ bool operator()(T x, T y) const { return x op_ y; }                \
    template <typename T, typename U>                                             \
    __device__ bool iop(T x, T y) const { return x op_ y; }                       \
    __device__ bool bop(bool x, bool y) const { return x op_ y; }                 \
    static constexpr bool cmp = true;                                             \
  };
#include "../ops/binary.def"

/* KIND: 0 float, 1 integer, 2 bool */
template <typename OT, typename IT, typename Op, int KIND, typename U>
struct binary_fn {
  Op op;
  void *o;
  const void *a, *b;
  __device__ void operator()(const int64_t *off) const {
    IT x = ((const IT *)a)[off[1]], y = ((const IT *)b)[off[2]];
    if constexpr (KIND == 0) ((OT *)o)[off[0]] = (OT)op(x, y);
    else if constexpr (KIND == 1) ((OT *)o)[off[0]] = (OT)op.template iop<IT, U>(x, y);
    else ((OT *)o)[off[0]] = (OT)op.bop(x, y);
  }
};

template <typename Op, typename IT, int KIND, typename U>
tc_status run_binary(int index, const tc__kplan *p, Op op) {
  using OT = typename std::conditional<Op::cmp, bool, IT>::type;
  return launch<3>(index, p, binary_fn<OT, IT, Op, KIND, U>{op, p->data[0], p->data[1], p->data[2]}, "binary kernel");
}

template <typename Op>
tc_status binary_for(int index, tc_dtype dt, const tc__kplan *p, const tc__binary_ctx *c) {
  Op op{*c};
  switch (dt) {
    case TC_F32: return run_binary<Op, float, 0, float>(index, p, op);
    case TC_F64: return run_binary<Op, double, 0, double>(index, p, op);
    case TC_I64: return run_binary<Op, int64_t, 1, uint64_t>(index, p, op);
    case TC_I32: return run_binary<Op, int32_t, 1, uint32_t>(index, p, op);
    case TC_I16: return run_binary<Op, int16_t, 1, uint32_t>(index, p, op);
    case TC_I8: return run_binary<Op, int8_t, 1, uint32_t>(index, p, op);
    case TC_U8: return run_binary<Op, uint8_t, 1, uint32_t>(index, p, op);
    case TC_U16: return run_binary<Op, uint16_t, 1, uint32_t>(index, p, op);
    case TC_BOOL: return run_binary<Op, bool, 2, uint32_t>(index, p, op);
    default: return tc__cuda_set_error(TC_ERR_DTYPE, "cuda binary op: dtype %d is not supported", (int)dt);
  }
}

/* ---- element load/store with the CPU's conversion rules (convert.c) --------------------------------- */
/* A value in its "wide" kind: floats as double, integers and bool as int64. */
struct wide {
  double f;
  int64_t i;
  bool is_float;
};

__device__ __forceinline__ wide load_wide(const void *base, int64_t off, tc_dtype d) {
  wide w{0, 0, false};
  switch (d) {
    case TC_F32: w.f = ((const float *)base)[off]; w.is_float = true; break;
    case TC_F64: w.f = ((const double *)base)[off]; w.is_float = true; break;
    case TC_F16: w.f = __half2float(((const __half *)base)[off]); w.is_float = true; break;
    case TC_BF16: w.f = __bfloat162float(((const __nv_bfloat16 *)base)[off]); w.is_float = true; break;
    case TC_C64: w.f = ((const float *)base)[2 * off]; w.is_float = true; break; /* the real part */
    case TC_I64: w.i = ((const int64_t *)base)[off]; break;
    case TC_I32: w.i = ((const int32_t *)base)[off]; break;
    case TC_I16: w.i = ((const int16_t *)base)[off]; break;
    case TC_I8: w.i = ((const int8_t *)base)[off]; break;
    case TC_U8: w.i = ((const uint8_t *)base)[off]; break;
    case TC_U16: w.i = ((const uint16_t *)base)[off]; break;
    case TC_BOOL: w.i = ((const uint8_t *)base)[off] != 0; break;
    default: break;
  }
  return w;
}

/* float -> integer as the CPU (tc__f2i): NaN and out of range give INT64_MIN, then wrap */
__device__ __forceinline__ int64_t f2i(double v) {
  if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0)) return INT64_MIN;
  return (int64_t)v;
}

__device__ __forceinline__ void store_wide(void *base, int64_t off, tc_dtype d, wide w) {
  int64_t iv = w.is_float ? f2i(w.f) : w.i;
  double fv = w.is_float ? w.f : (double)w.i;
  /* int64 -> f32 rounds once (as C's conversion on the CPU), not through double */
  float f32v = w.is_float ? (float)w.f : (float)w.i;
  switch (d) {
    case TC_F32: ((float *)base)[off] = f32v; break;
    case TC_F64: ((double *)base)[off] = fv; break;
    case TC_F16: ((__half *)base)[off] = __float2half_rn(f32v); break;
    case TC_BF16: ((__nv_bfloat16 *)base)[off] = __float2bfloat16_rn(f32v); break;
    case TC_C64: ((float *)base)[2 * off] = f32v; ((float *)base)[2 * off + 1] = 0.0f; break;
    case TC_I64: ((int64_t *)base)[off] = iv; break;
    case TC_I32: ((int32_t *)base)[off] = (int32_t)(uint32_t)(uint64_t)iv; break;
    case TC_I16: ((int16_t *)base)[off] = (int16_t)(uint16_t)(uint64_t)iv; break;
    case TC_I8: ((int8_t *)base)[off] = (int8_t)(uint8_t)(uint64_t)iv; break;
    case TC_U8: ((uint8_t *)base)[off] = (uint8_t)(uint64_t)iv; break;
    case TC_U16: ((uint16_t *)base)[off] = (uint16_t)(uint64_t)iv; break;
    case TC_BOOL: ((uint8_t *)base)[off] = w.is_float ? (w.f != 0) : (w.i != 0); break;
    default: break;
  }
}

struct copy_fn {
  void *o;
  const void *a;
  tc_dtype od, ad;
  __device__ void operator()(const int64_t *off) const { store_wide(o, off[0], od, load_wide(a, off[1], ad)); }
};

template <typename T>
struct copy_same_fn {
  void *o;
  const void *a;
  __device__ void operator()(const int64_t *off) const { ((T *)o)[off[0]] = ((const T *)a)[off[1]]; }
};

template <typename T>
struct fill_fn {
  void *o;
  T v;
  __device__ void operator()(const int64_t *off) const { ((T *)o)[off[0]] = v; }
};

template <typename T>
struct clamp_fn {
  void *o;
  const void *a;
  tc__clamp_ctx c;
  __device__ void operator()(const int64_t *off) const {
    T x = ((const T *)a)[off[1]];
    if constexpr (std::is_floating_point<T>::value) {
      T lo = c.has_lo ? (T)c.lo : (T)-INFINITY, hi = c.has_hi ? (T)c.hi : (T)INFINITY;
      T r = (x != x) ? x : (x < lo ? lo : x);
      ((T *)o)[off[0]] = (x != x) ? x : (r > hi ? hi : r);
    } else {
      int64_t lo = c.has_lo ? c.ilo : INT64_MIN, hi = c.has_hi ? c.ihi : INT64_MAX, v = (int64_t)x;
      ((T *)o)[off[0]] = (T)(v < lo ? lo : (v > hi ? hi : v));
    }
  }
};

template <typename T>
tc_status clamp_t(int index, const tc__kplan *p, const tc__clamp_ctx *c) {
  return launch<2>(index, p, clamp_fn<T>{p->data[0], p->data[1], *c}, "clamp kernel");
}

}  // namespace

extern "C" tc_status tc__cuda_unary(int index, tc__unary_op op, tc_dtype compute, const tc__kplan *p) {
  switch (op) {
#define TC_UNARY_FLOAT(name, f32, f64) \
  case TC__UN_##name: return unary_for<un_##name>(index, compute, p);
#define TC_UNARY_SAME(name, f32, f64, iexpr, bool_ok) \
  case TC__UN_##name: return unary_for<un_##name>(index, compute, p);
#define TC_UNARY_PRED(name, f32, f64, iexpr) \
  case TC__UN_##name: return unary_for<un_##name>(index, compute, p);
#include "../ops/unary.def"
    default: return tc__cuda_set_error(TC_ERR_ARG, "cuda unary op: unknown op %d", (int)op);
  }
}

extern "C" tc_status tc__cuda_binary(int index, tc__binary_op op, tc_dtype compute, const tc__kplan *p,
                                     const tc__binary_ctx *c) {
  switch (op) {
#define TC_BINARY_ARITH(name, f32, f64, iexpr, bexpr) \
  case TC__BIN_##name: return binary_for<bin_##name>(index, compute, p, c);
#define TC_BINARY_CMP(name, op_) \
  case TC__BIN_##name: return binary_for<bin_##name>(index, compute, p, c);
#include "../ops/binary.def"
    default: return tc__cuda_set_error(TC_ERR_ARG, "cuda binary op: unknown op %d", (int)op);
  }
}

extern "C" tc_status tc__cuda_clamp(int index, tc_dtype compute, const tc__kplan *p, const tc__clamp_ctx *c) {
  switch (compute) {
    case TC_F32: return clamp_t<float>(index, p, c);
    case TC_F64: return clamp_t<double>(index, p, c);
    case TC_I64: return clamp_t<int64_t>(index, p, c);
    case TC_I32: return clamp_t<int32_t>(index, p, c);
    case TC_I16: return clamp_t<int16_t>(index, p, c);
    case TC_I8: return clamp_t<int8_t>(index, p, c);
    case TC_U8: return clamp_t<uint8_t>(index, p, c);
    case TC_U16: return clamp_t<uint16_t>(index, p, c);
    default: return tc__cuda_set_error(TC_ERR_DTYPE, "cuda clamp: dtype %d is not supported", (int)compute);
  }
}

extern "C" tc_status tc__cuda_copy(int index, const tc__kplan *p) {
  if (p->dtype[0] == p->dtype[1]) {
    switch (elem_size(p->dtype[0])) {
      case 1: return launch<2>(index, p, copy_same_fn<uint8_t>{p->data[0], p->data[1]}, "copy kernel");
      case 2: return launch<2>(index, p, copy_same_fn<uint16_t>{p->data[0], p->data[1]}, "copy kernel");
      case 4: return launch<2>(index, p, copy_same_fn<uint32_t>{p->data[0], p->data[1]}, "copy kernel");
      case 8: return launch<2>(index, p, copy_same_fn<uint64_t>{p->data[0], p->data[1]}, "copy kernel");
      default: break;
    }
  }
  return launch<2>(index, p, copy_fn{p->data[0], p->data[1], p->dtype[0], p->dtype[1]}, "copy kernel");
}

extern "C" tc_status tc__cuda_fill(int index, const tc__kplan *p, double v, int64_t iv) {
  void *o = p->data[0];
  switch (p->dtype[0]) {
    case TC_F32: return launch<1>(index, p, fill_fn<float>{o, (float)v}, "fill kernel");
    case TC_F64: return launch<1>(index, p, fill_fn<double>{o, v}, "fill kernel");
    case TC_F16: return launch<1>(index, p, fill_fn<__half>{o, __float2half_rn((float)v)}, "fill kernel");
    case TC_BF16: return launch<1>(index, p, fill_fn<__nv_bfloat16>{o, __float2bfloat16_rn((float)v)}, "fill kernel");
    case TC_I64: return launch<1>(index, p, fill_fn<int64_t>{o, iv}, "fill kernel");
    case TC_I32: return launch<1>(index, p, fill_fn<int32_t>{o, (int32_t)iv}, "fill kernel");
    case TC_I16: return launch<1>(index, p, fill_fn<int16_t>{o, (int16_t)iv}, "fill kernel");
    case TC_I8: return launch<1>(index, p, fill_fn<int8_t>{o, (int8_t)iv}, "fill kernel");
    case TC_U8: return launch<1>(index, p, fill_fn<uint8_t>{o, (uint8_t)iv}, "fill kernel");
    case TC_U16: return launch<1>(index, p, fill_fn<uint16_t>{o, (uint16_t)iv}, "fill kernel");
    case TC_BOOL: return launch<1>(index, p, fill_fn<uint8_t>{o, (uint8_t)(v != 0)}, "fill kernel");
    case TC_C64: return launch<1>(index, p, fill_fn<float2>{o, make_float2((float)v, 0.0f)}, "fill kernel");
    default: return tc__cuda_set_error(TC_ERR_DTYPE, "cuda fill: unknown dtype %d", (int)p->dtype[0]);
  }
}
