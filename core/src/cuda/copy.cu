/* core/src/cuda/copy.cu — copies with dtype conversion (the CPU's rules, convert.c) and fills. */
#include "elementwise_launch.cuh"

using namespace tcu;

namespace {

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

}  // namespace

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

/* ---- gather and scatter, elementwise form (index.c): ops {out or dst, src, idx} --------------------
 * gather:  out[i] = src[i + idx[i] * mul]     scatter: dst[i + idx[i] * mul] = src[i]
 * (i: the operand's own offset; mul: the indexed dim's stride in elements). Indices were
 * validated by the core. A scatter with repeated targets keeps one of the writes (as PyTorch on
 * CUDA); the core uses it where targets are distinct. */
namespace {

template <typename T, typename I, bool SCATTER>
struct index_fn {
  void *o;
  const void *s;
  const void *ix;
  int64_t mul;
  __device__ void operator()(const int64_t *off) const {
    int64_t k = (int64_t)((const I *)ix)[off[2]];
    if (SCATTER) ((T *)o)[off[0] + k * mul] = ((const T *)s)[off[1]];
    else ((T *)o)[off[0]] = ((const T *)s)[off[1] + k * mul];
  }
};

template <bool SCATTER, typename I>
tc_status index_by_size(int index, const tc__kplan *p, int64_t mul) {
  const char *what = SCATTER ? "scatter kernel" : "gather kernel";
  switch (elem_size(p->dtype[0])) {
    case 1: return launch<3>(index, p, index_fn<uint8_t, I, SCATTER>{p->data[0], p->data[1], p->data[2], mul}, what);
    case 2: return launch<3>(index, p, index_fn<uint16_t, I, SCATTER>{p->data[0], p->data[1], p->data[2], mul}, what);
    case 4: return launch<3>(index, p, index_fn<uint32_t, I, SCATTER>{p->data[0], p->data[1], p->data[2], mul}, what);
    default: return launch<3>(index, p, index_fn<uint64_t, I, SCATTER>{p->data[0], p->data[1], p->data[2], mul}, what);
  }
}

}  // namespace

extern "C" tc_status tc__cuda_index_gather(int index, const tc__kplan *p, int64_t mul) {
  return p->dtype[2] == TC_I32 ? index_by_size<false, int32_t>(index, p, mul) : index_by_size<false, int64_t>(index, p, mul);
}

extern "C" tc_status tc__cuda_index_scatter(int index, const tc__kplan *p, int64_t mul) {
  return p->dtype[2] == TC_I32 ? index_by_size<true, int32_t>(index, p, mul) : index_by_size<true, int64_t>(index, p, mul);
}

/* ---- select: out = cond ? a : b over a plan {out, cond, a, b} (elements moved by size) --------- */
namespace {

template <typename T>
struct select_fn {
  void *o;
  const void *c, *a, *b;
  __device__ void operator()(const int64_t *off) const {
    ((T *)o)[off[0]] = ((const uint8_t *)c)[off[1]] ? ((const T *)a)[off[2]] : ((const T *)b)[off[3]];
  }
};

}  // namespace

extern "C" tc_status tc__cuda_select(int index, const tc__kplan *p, int es) {
  const void *c = p->data[1], *a = p->data[2], *b = p->data[3];
  switch (es) {
    case 1: return launch<4>(index, p, select_fn<uint8_t>{p->data[0], c, a, b}, "select kernel");
    case 2: return launch<4>(index, p, select_fn<uint16_t>{p->data[0], c, a, b}, "select kernel");
    case 4: return launch<4>(index, p, select_fn<uint32_t>{p->data[0], c, a, b}, "select kernel");
    case 8: return launch<4>(index, p, select_fn<uint64_t>{p->data[0], c, a, b}, "select kernel");
    default: return tc__cuda_set_error(TC_ERR_ARG, "cuda select: element size %d is not 1, 2, 4 or 8", es);
  }
}
