/* core/src/dtype_macros.h — X-macros over dtypes, and element load/store in C types.
 *
 * TC__FOR_EACH_DTYPE(X) calls X(TAG, CTYPE, KIND) for every dtype, where KIND is one of
 * INT (integers), BOOL, FLT (float/double), HALF (f16 as uint16_t), BF16, CPLX (two floats).
 * Kernels written once per C type instantiate through these so no dtype is forgotten.
 */
#ifndef CTORCH_DTYPE_MACROS_H
#define CTORCH_DTYPE_MACROS_H

#include <complex.h>
#include "internal.h"

typedef float _Complex tc__c64;

#define TC__FOR_EACH_DTYPE(X) \
  X(TC_F32, float, FLT)       \
  X(TC_F64, double, FLT)      \
  X(TC_F16, uint16_t, HALF)   \
  X(TC_BF16, uint16_t, BF16)  \
  X(TC_I64, int64_t, INT)     \
  X(TC_I32, int32_t, INT)     \
  X(TC_I16, int16_t, INT)     \
  X(TC_I8, int8_t, INT)       \
  X(TC_U8, uint8_t, INT)      \
  X(TC_U16, uint16_t, INT)    \
  X(TC_BOOL, bool, BOOL)      \
  X(TC_C64, tc__c64, CPLX)

/* The dtypes kernels compute in natively (f16/bf16 go through f32; complex is separate). */
#define TC__FOR_EACH_REAL(X) \
  X(TC_F32, float)           \
  X(TC_F64, double)          \
  X(TC_I64, int64_t)         \
  X(TC_I32, int32_t)         \
  X(TC_I16, int16_t)         \
  X(TC_I8, int8_t)           \
  X(TC_U8, uint8_t)          \
  X(TC_U16, uint16_t)        \
  X(TC_BOOL, bool)

#define TC__FOR_EACH_INT(X) \
  X(TC_I64, int64_t)        \
  X(TC_I32, int32_t)        \
  X(TC_I16, int16_t)        \
  X(TC_I8, int8_t)          \
  X(TC_U8, uint8_t)         \
  X(TC_U16, uint16_t)

#define TC__FOR_EACH_FLOAT(X) \
  X(TC_F32, float)            \
  X(TC_F64, double)

/* float -> integer without undefined behaviour: out of range and NaN give the x86 "integer
 * indefinite" INT64_MIN, then narrow by wrapping (what PyTorch produces on x86). */
static inline int64_t tc__f2i(double v) {
  if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0)) return INT64_MIN;
  return (int64_t)v;
}

/* Load one element as a "wide" value of its kind. */
#define TC__LOAD_INT(p, T) ((int64_t) * (const T *)(p))
#define TC__LOAD_BOOL(p, T) ((int64_t)(*(const uint8_t *)(p) != 0))
#define TC__LOAD_FLT(p, T) ((double)*(const T *)(p))
#define TC__LOAD_HALF(p, T) ((double)tc_half_to_float(*(const uint16_t *)(p)))
#define TC__LOAD_BF16(p, T) ((double)tc_bf16_to_float(*(const uint16_t *)(p)))

#endif
