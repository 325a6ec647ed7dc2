/* core/src/dtype.c — dtype sizes, names, PyTorch's promotion lattice, half conversions. */
#include <math.h>
#include "internal.h"

static const size_t sizes[TC_NUM_DTYPES] = {
    [TC_F32] = 4, [TC_F64] = 8, [TC_F16] = 2, [TC_BF16] = 2, [TC_I64] = 8, [TC_I32] = 4,
    [TC_I16] = 2, [TC_I8] = 1,  [TC_U8] = 1,  [TC_U16] = 2,  [TC_BOOL] = 1, [TC_C64] = 8,
};
static const char *const names[TC_NUM_DTYPES] = {
    [TC_DTYPE_DEFAULT] = "default", [TC_F32] = "float32", [TC_F64] = "float64", [TC_F16] = "float16",
    [TC_BF16] = "bfloat16",         [TC_I64] = "int64",   [TC_I32] = "int32",   [TC_I16] = "int16",
    [TC_I8] = "int8",               [TC_U8] = "uint8",    [TC_U16] = "uint16",  [TC_BOOL] = "bool",
    [TC_C64] = "complex64",
};

bool tc__dtype_valid(tc_dtype d) { return d > TC_DTYPE_DEFAULT && d < TC_NUM_DTYPES; }

size_t tc_dtype_size(tc_dtype d) { return (d >= 0 && d < TC_NUM_DTYPES) ? sizes[d] : 0; }

const char *tc_dtype_name(tc_dtype d) { return (d >= 0 && d < TC_NUM_DTYPES) ? names[d] : "invalid"; }

bool tc_dtype_is_floating(tc_dtype d) { return d == TC_F32 || d == TC_F64 || d == TC_F16 || d == TC_BF16; }
bool tc_dtype_is_complex(tc_dtype d) { return d == TC_C64; }
bool tc_dtype_is_integral(tc_dtype d, bool include_bool) {
  switch (d) {
    case TC_I64: case TC_I32: case TC_I16: case TC_I8: case TC_U8: case TC_U16: return true;
    case TC_BOOL: return include_bool;
    default: return false;
  }
}
bool tc_dtype_is_signed(tc_dtype d) {
  return tc_dtype_is_floating(d) || d == TC_C64 || d == TC_I64 || d == TC_I32 || d == TC_I16 || d == TC_I8;
}

/* Integer promotion: the smallest signed type holding both, as torch.promote_types; uint16 mixes
 * as NumPy does (PyTorch refuses those pairs). */
static int int_rank(tc_dtype d) { /* bits of a signed type that holds d */
  switch (d) {
    case TC_BOOL: return 0;
    case TC_I8: return 8;
    case TC_U8: return 9;  /* needs i16 to mix with signed */
    case TC_I16: return 16;
    case TC_U16: return 17; /* needs i32 to mix with signed */
    case TC_I32: return 32;
    case TC_I64: return 64;
    default: return -1;
  }
}

tc_dtype tc_promote_types(tc_dtype a, tc_dtype b) {
  if (!tc__dtype_valid(a) || !tc__dtype_valid(b)) return TC_DTYPE_DEFAULT;
  if (a == b) return a;
  if (a == TC_C64 || b == TC_C64) {
    tc_dtype o = a == TC_C64 ? b : a;
    return o == TC_F64 ? TC_DTYPE_DEFAULT : TC_C64; /* no complex128: an error for the caller */
  }
  if (a == TC_F64 || b == TC_F64) return TC_F64;
  if (a == TC_F32 || b == TC_F32) return TC_F32;
  if ((a == TC_F16 && b == TC_BF16) || (a == TC_BF16 && b == TC_F16)) return TC_F32;
  if (a == TC_F16 || b == TC_F16) return TC_F16;
  if (a == TC_BF16 || b == TC_BF16) return TC_BF16;
  /* both integral or bool */
  if (a == TC_BOOL) return b;
  if (b == TC_BOOL) return a;
  bool ua = a == TC_U8 || a == TC_U16, ub = b == TC_U8 || b == TC_U16;
  if (ua && ub) return (a == TC_U16 || b == TC_U16) ? TC_U16 : TC_U8;
  int r = int_rank(a) > int_rank(b) ? int_rank(a) : int_rank(b);
  if (r <= 8) return TC_I8;
  if (r <= 16) return TC_I16;
  if (r <= 32) return TC_I32;
  return TC_I64;
}

tc_dtype tc_promote_scalar(tc_dtype t, bool scalar_is_float) {
  if (scalar_is_float) return (tc_dtype_is_floating(t) || t == TC_C64) ? t : TC_F32;
  return t == TC_BOOL ? TC_I64 : t;
}

/* ---- half and bfloat16 ------------------------------------------------------------------------ */

static inline uint32_t f2u(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}
static inline float u2f(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

float tc_half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  if (exp == 0x1f) return u2f(sign | 0x7f800000u | (man << 13)); /* inf / nan */
  if (exp == 0) {
    if (man == 0) return u2f(sign);
    /* subnormal: man * 2^-24 */
    float v = (float)man * 5.9604644775390625e-8f;
    return sign ? -v : v;
  }
  return u2f(sign | ((exp + 112) << 23) | (man << 13));
}

uint16_t tc_float_to_half(float f) {
  uint32_t u = f2u(f);
  uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
  uint32_t a = u & 0x7fffffffu;
  if (a >= 0x7f800000u) return sign | (a > 0x7f800000u ? 0x7e00 : 0x7c00); /* nan / inf */
  if (a >= 0x477ff000u) return sign | 0x7c00;                               /* rounds to inf */
  if (a < 0x38800000u) {
    /* result is subnormal or zero: scale so the rounding happens in float arithmetic */
    float v = u2f(a) * 16777216.0f; /* 2^24: units of the smallest subnormal */
    uint32_t m = (uint32_t)lrintf(v); /* round half to even (default rounding mode) */
    return sign | (uint16_t)m;
  }
  /* normal: round mantissa from 23 to 10 bits, half to even */
  uint32_t r = a + 0xfffu + ((a >> 13) & 1u);
  r -= 0x38000000u; /* rebias exponent 127 -> 15 */
  return sign | (uint16_t)(r >> 13);
}

float tc_bf16_to_float(uint16_t h) { return u2f((uint32_t)h << 16); }

uint16_t tc_float_to_bf16(float f) {
  uint32_t u = f2u(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* quiet nan */
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}
