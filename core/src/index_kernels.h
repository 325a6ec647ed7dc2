/* core/src/index_kernels.h — checks and CPU kernels shared by the indexing ops, implemented in
 * index_kernels.c and used by index.c (index_select, gather, scatter, index_add), mask.c
 * (masked_fill, masked_select, where) and advindex.c (tc_index, tc_index_put_inplace). Not installed.
 *
 * Indices are int64 or int32 tensors. Kernels never check bounds: every caller validates all index
 * values first (tc__check_index_range), so a bad index is reported before anything is written.
 */
#ifndef CTORCH_INDEX_KERNELS_H
#define CTORCH_INDEX_KERNELS_H

#include "dtype_macros.h"

/* TC_ERR_DTYPE unless idx is int64 or int32 ("fn: <what> must be int64 or int32, got float32"). */
tc_status tc__check_index_dtype(const char *fn, const char *what, const tc_tensor *idx);

/* Checks every value v of idx (int64/int32, any strides): 0 <= v < size, or -size <= v < size when
 * allow_neg. The first bad value in row-major order gives TC_ERR_ARG
 * "fn: index 5 is out of range for dim 1 with size 4". */
tc_status tc__check_index_range(const char *fn, const tc_tensor *idx, int64_t size, int64_t dim, bool allow_neg);

/* TC_ERR_ARG when the scalar v cannot be written to dtype d without overflow (c10::checked_convert:
 * NaN into an integer, 300 into int8, 1e6 into float16; -1 into uint8 wraps and is allowed). */
tc_status tc__check_value_fits(const char *fn, const char *what, double v, tc_dtype d);

/* TC_ERR_ARG when an in-place op would write through a broadcast view (a dim of stride 0 and size > 1:
 * several elements share one memory location), as PyTorch's assert_no_internal_overlap. */
tc_status tc__check_no_overlap(const char *fn, const tc_tensor *self);

/* Gather, elementwise form. out, src and idx have one shape (views with any strides, src and idx
 * usually with stride 0 on some dims); for every element:
 *   out[i] = *(src_ptr[i] + idx[i] * mul)      (mul in bytes; idx already validated and >= 0)
 * out and src share a dtype (copied by element size). Parallel over the pool when large; on a
 * device, the backend's gather kernel. */
tc_status tc__index_gather(const tc_tensor *out, const tc_tensor *src, const tc_tensor *idx, int64_t mul);
/* On a device: out = cond ? a : b elementwise over one shape (views with any strides; out, a and b
 * of one dtype, cond bool/uint8), the backend's select kernel. out may be b (in place). */
tc_status tc__device_select(const tc_tensor *out, const tc_tensor *cond, const tc_tensor *a, const tc_tensor *b);
/* On a device: dst[i + idx[i] * mul] = src[i] (mul in elements; distinct targets), the backend's kernel. */
tc_status tc__device_index_scatter(const tc_tensor *dst, const tc_tensor *src, const tc_tensor *idx, int64_t mul);
/* Elements reachable from t's data pointer (the bound of every offset a view of t can form). */
static inline int64_t tc__view_extent(const tc_tensor *t) {
  int64_t e = 1;
  for (int d = 0; d < t->ndim; d++) {
    if (t->sizes[d] == 0) return 0;
    e += (t->sizes[d] - 1) * t->strides[d];
  }
  return e;
}
/* dst[i + idx[i] * mul] += alpha * src[i] on a device, deterministically (device_abi.h:
 * index_scatter_add); extent: elements of dst's storage reachable from its data pointer. */
tc_status tc__device_index_scatter_add(const tc_tensor *dst, const tc_tensor *src, const tc_tensor *idx, int64_t mul,
                                       double alpha, int64_t extent);

/* Scatter, elementwise form (index_put). dst, src and idx have one shape:
 *   *(dst_ptr[i] + idx[i] * mul) = src[i]     (or += when accumulate; f16/bf16 round per step)
 * Runs serially, in row-major order (duplicates: the last write wins, additions run in order),
 * unless `unique` says no two elements hit one location. */
void tc__index_scatter(const tc_tensor *dst, const tc_tensor *src, const tc_tensor *idx, int64_t mul, bool accumulate,
                       bool unique);

/* The nonzero elements of mask m (bool/uint8, any strides) as a new 1-D int64 tensor of offsets
 * sum_j coord_j * strides[j] (strides: one per mask dim, in elements of the tensor being indexed),
 * in row-major order, on m's device (a device mask is read on the host: the count sets the size).
 * Parallel over fixed chunks of the mask. NULL (NOMEM) on failure. */
tc_tensor *tc__mask_offsets(const tc_tensor *m, const int64_t *strides);

/* ---- element addition per dtype: d + s * alpha, integers wrap, bool is or --------------------- */
/* ADD_<KIND>(T, d, s, a) for the kinds of ADD_TYPES; f16/bf16 compute in float and round per step. */

typedef struct {
  double f;  /* alpha for float types */
  int64_t i; /* alpha for integer types (already converted, as PyTorch's alpha.to<T>()) */
  bool b;
} add_alpha;

static inline add_alpha tc__make_alpha(double alpha) {
  add_alpha a = {alpha, tc__double_to_i64(alpha), alpha != 0};
  return a;
}

#define ADD_FLT(T, d, s, a) ((T)((d) + (s) * (T)(a).f))
#define ADD_HALF(T, d, s, a) tc_float_to_half(tc_half_to_float(d) + tc_half_to_float(s) * (float)(a).f)
#define ADD_BF16(T, d, s, a) tc_float_to_bf16(tc_bf16_to_float(d) + tc_bf16_to_float(s) * (float)(a).f)
#define ADD_I64(T, d, s, a) ((T)((uint64_t)(d) + (uint64_t)(s) * (uint64_t)(a).i))
#define ADD_INT(T, d, s, a) ((T)((uint32_t)(d) + (uint32_t)(s) * (uint32_t)(a).i))
#define ADD_BOOL(T, d, s, a) ((d) | ((s) & (a).b))
#define ADD_CPLX(T, d, s, a) ((d) + (s) * (float)(a).f)

#define ADD_TYPES(X)              \
  X(TC_F32, f32, float, FLT)      \
  X(TC_F64, f64, double, FLT)     \
  X(TC_F16, f16, uint16_t, HALF)  \
  X(TC_BF16, bf16, uint16_t, BF16) \
  X(TC_I64, i64, int64_t, I64)    \
  X(TC_I32, i32, int32_t, INT)    \
  X(TC_I16, i16, int16_t, INT)    \
  X(TC_I8, i8, int8_t, INT)       \
  X(TC_U8, u8, uint8_t, INT)      \
  X(TC_U16, u16, uint16_t, INT)   \
  X(TC_BOOL, b8, bool, BOOL)      \
  X(TC_C64, c64, tc__c64, CPLX)

/* Copies by element size: any dtype moves as 1, 2, 4 or 8 raw bytes. */
#define COPY_SIZES(X) X(1, uint8_t) X(2, uint16_t) X(4, uint32_t) X(8, uint64_t)
static inline int tc__size_slot(size_t es) { return es == 1 ? 0 : es == 2 ? 1 : es == 4 ? 2 : 3; }

#endif
