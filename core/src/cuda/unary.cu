/* core/src/cuda/unary.cu — the unary op table (ops/unary.def) and clamp as CUDA kernels: one functor per op,
 * instantiated for the dtypes the CPU table has. Operands are already in the compute dtype. */
#include "elementwise_launch.cuh"

using namespace tcu;

namespace {

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

