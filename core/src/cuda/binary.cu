/* core/src/cuda/binary.cu — the binary op table (ops/binary.def) as CUDA kernels: arithmetic and comparisons
 * for every real compute dtype, with alpha from tc__binary_ctx. */
#include "elementwise_launch.cuh"

using namespace tcu;

namespace {

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

}  // namespace

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

