/* core/src/ops/scalar_math.h — per-element helpers of the op tables (ops/unary.def,
 * ops/binary.def) with PyTorch's definitions, shared by the CPU kernels (C) and the CUDA kernels
 * (C++ device code): TC__SM marks them host+device under nvcc and static inline in C. */
#ifndef CTORCH_OPS_SCALAR_MATH_H
#define CTORCH_OPS_SCALAR_MATH_H

#include <math.h>
#include <stdint.h>

#ifdef __CUDACC__
#define TC__SM static __host__ __device__ inline
#else
#define TC__SM static inline
#endif

TC__SM float tc__remf(float a, float b) {
  float m = fmodf(a, b);
  if (m != 0 && ((b < 0) != (m < 0))) m += b;
  return m;
}
TC__SM double tc__rem(double a, double b) {
  double m = fmod(a, b);
  if (m != 0 && ((b < 0) != (m < 0))) m += b;
  return m;
}
/* floor division as PyTorch's div_floor_floating (exact for representable quotients) */
#define DEF_FLOORDIV(NAME, T, FMOD, FLOOR, COPYSIGN)                 \
  TC__SM T NAME(T a, T b) {                                   \
    if (b == 0) return a / b;                                        \
    T mod = FMOD(a, b);                                              \
    T div = (a - mod) / b;                                           \
    if (mod != 0 && ((b < 0) != (mod < 0))) div -= 1;                \
    T fd;                                                            \
    if (div != 0) {                                                  \
      fd = FLOOR(div);                                               \
      if (div - fd > (T)0.5) fd += 1;                                \
    } else {                                                         \
      fd = COPYSIGN((T)0, a / b);                                    \
    }                                                                \
    return fd;                                                       \
  }
DEF_FLOORDIV(tc__floordivf, float, fmodf, floorf, copysignf)
DEF_FLOORDIV(tc__floordiv, double, fmod, floor, copysign)

/* Integer division helpers: the pipeline rejects a zero divisor before the kernel runs. x / -1
 * is computed as a wrapping negation (INT_MIN / -1 would trap). */
#define TC__ITRUNCDIV(T, x, y) ((y) == -1 ? (T)(0 - (U)(x)) : (y) == 0 ? (T)0 : (T)((x) / (y)))
#define TC__IFLOORDIV(T, x, y)                                                                 \
  ((y) == -1 ? (T)(0 - (U)(x))                                                                 \
   : (y) == 0 ? (T)0                                                                           \
              : (T)((x) / (y) - ((((x) % (y)) != 0) && (((x) < 0) != ((y) < 0)) ? 1 : 0)))
#define TC__IREM(T, x, y)                                                                      \
  ((y) == -1 || (y) == 0 ? (T)0                                                                \
                         : (T)((((x) % (y)) != 0 && ((((x) % (y)) < 0) != ((y) < 0))) ? ((x) % (y)) + (y) : ((x) % (y))))

/* integer power as PyTorch's powi: negative exponents give 0 except for bases 1 and -1 */
TC__SM int64_t tc__ipow(int64_t base, int64_t exp) {
  if (exp < 0) {
    if (base == 1) return 1;
    if (base == -1) return (exp & 1) ? -1 : 1;
    return 0;
  }
  uint64_t r = 1, b = (uint64_t)base;
  while (exp) {
    if (exp & 1) r *= b;
    b *= b;
    exp >>= 1;
  }
  return (int64_t)r;
}

#endif
