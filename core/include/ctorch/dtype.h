/* ctorch/dtype.h — element types and PyTorch's type promotion.
 *
 *   tc_dtype d = tc_promote_types(TC_I32, TC_F16);   // TC_F16, as torch.promote_types
 *   size_t sz = tc_dtype_size(TC_BF16);              // 2
 */
#ifndef CTORCH_DTYPE_H
#define CTORCH_DTYPE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "ctorch/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tc_dtype {
  TC_DTYPE_DEFAULT = 0, /* in tc_options only: "the factory's default" (f32; int64 for randint...) */
  TC_F32,     /* float (the default dtype) */
  TC_F64,     /* double */
  TC_F16,     /* IEEE half */
  TC_BF16,    /* bfloat16 */
  TC_I64,
  TC_I32,
  TC_I16,
  TC_I8,
  TC_U8,
  TC_U16,
  TC_BOOL,    /* one byte, 0 or 1 */
  TC_C64,     /* complex64: two floats (re, im) */
  TC_NUM_DTYPES
} tc_dtype;

TC_API size_t tc_dtype_size(tc_dtype d);
/* "float32", "int64", ... as PyTorch names them (torch.float32 -> "float32"). */
TC_API const char *tc_dtype_name(tc_dtype d);
TC_API bool tc_dtype_is_floating(tc_dtype d); /* f16, bf16, f32, f64 */
TC_API bool tc_dtype_is_complex(tc_dtype d);
TC_API bool tc_dtype_is_integral(tc_dtype d, bool include_bool);
TC_API bool tc_dtype_is_signed(tc_dtype d);

/* torch.promote_types(a, b). */
TC_API tc_dtype tc_promote_types(tc_dtype a, tc_dtype b);

/* The dtype of `tensor (op) scalar`, where the scalar is a Python number of the given kind
 * (PyTorch: a scalar only raises the category, never the width within a category):
 * int tensor + float scalar -> f32 (the default float); bool + int scalar -> i64. */
TC_API tc_dtype tc_promote_scalar(tc_dtype tensor_dtype, bool scalar_is_float);

/* Half-precision conversions (round to nearest even), usable by any library. */
TC_API float tc_half_to_float(uint16_t h);
TC_API uint16_t tc_float_to_half(float f);
TC_API float tc_bf16_to_float(uint16_t h);
TC_API uint16_t tc_float_to_bf16(float f);

#ifdef __cplusplus
}
#endif
#endif
