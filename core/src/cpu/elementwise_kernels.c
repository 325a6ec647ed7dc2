/* core/src/cpu/elementwise_kernels.c — CPU inner loops for the unary and binary op tables.
 *
 * Each (op, dtype) gets one loop generated from ops/unary.def and ops/binary.def. Loops have a
 * contiguous fast path (which gcc vectorises) and, for binary ops, fast paths for a broadcast
 * scalar on either side; a generic byte-strided loop handles the rest. Signed integer arithmetic
 * goes through unsigned types so overflow wraps as in PyTorch without undefined behaviour.
 */
#include <math.h>
#include "../dtype_macros.h"
#include "elementwise_kernels.h"

#include "../ops/scalar_math.h"

/* ---- loop shapes ------------------------------------------------------------------------------- */
#define UN_LOOP(OT, IT, EXPR)                                                           \
  {                                                                                     \
    char *po = p[0];                                                                    \
    const char *pi = p[1];                                                              \
    if (s[0] == (int64_t)sizeof(OT) && s[1] == (int64_t)sizeof(IT)) {                   \
      OT *o = (OT *)(void *)po;                                                         \
      const IT *in = (const IT *)(const void *)pi;                                      \
      for (int64_t i = 0; i < n; i++) {                                                 \
        IT x = in[i];                                                                   \
        o[i] = (OT)(EXPR);                                                              \
      }                                                                                 \
    } else {                                                                            \
      for (int64_t i = 0; i < n; i++, po += s[0], pi += s[1]) {                         \
        IT x = *(const IT *)(const void *)pi;                                           \
        *(OT *)(void *)po = (OT)(EXPR);                                                 \
      }                                                                                 \
    }                                                                                   \
  }

#define BIN_LOOP(OT, IT, EXPR)                                                                     \
  {                                                                                                \
    char *po = p[0];                                                                               \
    const char *pa = p[1], *pb = p[2];                                                             \
    const int64_t so = s[0], sa = s[1], sb = s[2];                                                 \
    OT *o = (OT *)(void *)po;                                                                      \
    const IT *a = (const IT *)(const void *)pa, *b = (const IT *)(const void *)pb;                 \
    if (so == (int64_t)sizeof(OT) && sa == (int64_t)sizeof(IT) && sb == (int64_t)sizeof(IT)) {     \
      for (int64_t i = 0; i < n; i++) {                                                            \
        IT x = a[i], y = b[i];                                                                     \
        o[i] = (OT)(EXPR);                                                                         \
      }                                                                                            \
    } else if (so == (int64_t)sizeof(OT) && sa == (int64_t)sizeof(IT) && sb == 0) {               \
      const IT y = b[0];                                                                           \
      for (int64_t i = 0; i < n; i++) {                                                            \
        IT x = a[i];                                                                               \
        o[i] = (OT)(EXPR);                                                                         \
      }                                                                                            \
    } else if (so == (int64_t)sizeof(OT) && sa == 0 && sb == (int64_t)sizeof(IT)) {               \
      const IT x = a[0];                                                                           \
      for (int64_t i = 0; i < n; i++) {                                                            \
        IT y = b[i];                                                                               \
        o[i] = (OT)(EXPR);                                                                         \
      }                                                                                            \
    } else {                                                                                       \
      for (int64_t i = 0; i < n; i++, po += so, pa += sa, pb += sb) {                              \
        IT x = *(const IT *)(const void *)pa, y = *(const IT *)(const void *)pb;                   \
        *(OT *)(void *)po = (OT)(EXPR);                                                            \
      }                                                                                            \
    }                                                                                              \
  }

#define KSIG(name) static void name(char **p, const int64_t *s, int64_t n, void *ctx_)

/* integer types with their unsigned twins (wide enough that products do not overflow int) */
#define FOR_INTS(X, ...)                  \
  X(TC_I64, int64_t, uint64_t, __VA_ARGS__) \
  X(TC_I32, int32_t, uint32_t, __VA_ARGS__) \
  X(TC_I16, int16_t, uint32_t, __VA_ARGS__) \
  X(TC_I8, int8_t, uint32_t, __VA_ARGS__)   \
  X(TC_U8, uint8_t, uint32_t, __VA_ARGS__)  \
  X(TC_U16, uint16_t, uint32_t, __VA_ARGS__)

/* ---- unary --------------------------------------------------------------------------------------- */
#define TC_UNARY_FLOAT(name, f32, f64)                 \
  KSIG(un_##name##_f32) { (void)ctx_; UN_LOOP(float, float, f32) } \
  KSIG(un_##name##_f64) { (void)ctx_; UN_LOOP(double, double, f64) }
#define INT_SAME(TAG, CT, CU, name, iexpr) \
  KSIG(un_##name##_##TAG) { (void)ctx_; typedef CT T; typedef CU U; UN_LOOP(T, T, iexpr) }
#define TC_UNARY_SAME(name, f32, f64, iexpr, bool_ok)                \
  KSIG(un_##name##_f32) { (void)ctx_; UN_LOOP(float, float, f32) } \
  KSIG(un_##name##_f64) { (void)ctx_; UN_LOOP(double, double, f64) } \
  FOR_INTS(INT_SAME, name, iexpr)                                    \
  KSIG(un_##name##_bool) { (void)ctx_; typedef bool T; typedef uint32_t U; UN_LOOP(bool, bool, iexpr) }
#define INT_PRED(TAG, CT, CU, name, iexpr) \
  KSIG(un_##name##_##TAG) { (void)ctx_; typedef CT T; UN_LOOP(bool, T, iexpr) }
#define TC_UNARY_PRED(name, f32, f64, iexpr)                        \
  KSIG(un_##name##_f32) { (void)ctx_; UN_LOOP(bool, float, f32) } \
  KSIG(un_##name##_f64) { (void)ctx_; UN_LOOP(bool, double, f64) } \
  FOR_INTS(INT_PRED, name, iexpr)                                   \
  KSIG(un_##name##_bool) { (void)ctx_; UN_LOOP(bool, bool, iexpr) }
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wtype-limits"
#pragma GCC diagnostic ignored "-Wbool-operation"
#pragma GCC diagnostic ignored "-Wint-in-bool-context"
#pragma GCC diagnostic ignored "-Wbool-compare"
/* placeholder expressions (an op PyTorch refuses for a dtype) leave operands unused */
#pragma GCC diagnostic ignored "-Wunused-variable"
#pragma GCC diagnostic ignored "-Wunused-local-typedefs"
#endif
#include "../ops/unary.def"

/* ---- binary -------------------------------------------------------------------------------------- */
#define INT_ARITH(TAG, CT, CU, name, iexpr)                  \
  KSIG(bin_##name##_##TAG) {                                 \
    typedef CT T;                                            \
    typedef CU U;                                            \
    const tc__binary_ctx *c = ctx_;                          \
    (void)c;                                                 \
    BIN_LOOP(T, T, iexpr)                                    \
  }
#define TC_BINARY_ARITH(name, f32, f64, iexpr, bexpr)                                         \
  KSIG(bin_##name##_f32) { const tc__binary_ctx *c = ctx_; (void)c; BIN_LOOP(float, float, f32) }  \
  KSIG(bin_##name##_f64) { const tc__binary_ctx *c = ctx_; (void)c; BIN_LOOP(double, double, f64) } \
  FOR_INTS(INT_ARITH, name, iexpr)                                                            \
  KSIG(bin_##name##_bool) { const tc__binary_ctx *c = ctx_; (void)c; BIN_LOOP(bool, bool, bexpr) }
#define INT_CMP(TAG, CT, CU, name, op) \
  KSIG(bin_##name##_##TAG) { (void)ctx_; BIN_LOOP(bool, CT, x op y) }
#define TC_BINARY_CMP(name, op)                                      \
  KSIG(bin_##name##_f32) { (void)ctx_; BIN_LOOP(bool, float, x op y) } \
  KSIG(bin_##name##_f64) { (void)ctx_; BIN_LOOP(bool, double, x op y) } \
  FOR_INTS(INT_CMP, name, op)                                        \
  KSIG(bin_##name##_bool) { (void)ctx_; BIN_LOOP(bool, bool, x op y) }
#include "../ops/binary.def"
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

/* ---- tables --------------------------------------------------------------------------------------- */
#define UROW_F(name) [TC__UN_##name] = {[TC_F32] = un_##name##_f32, [TC_F64] = un_##name##_f64},
#define UROW_ALL(name, bool_ok)                                                                       \
  [TC__UN_##name] = {[TC_F32] = un_##name##_f32,   [TC_F64] = un_##name##_f64,                       \
                     [TC_I64] = un_##name##_TC_I64, [TC_I32] = un_##name##_TC_I32,                   \
                     [TC_I16] = un_##name##_TC_I16, [TC_I8] = un_##name##_TC_I8,                     \
                     [TC_U8] = un_##name##_TC_U8,   [TC_U16] = un_##name##_TC_U16,                   \
                     [TC_BOOL] = (bool_ok) ? un_##name##_bool : NULL},

static const tc__loop_fn unary_table[TC__UN_COUNT][TC_NUM_DTYPES] = {
#define TC_UNARY_FLOAT(name, f32, f64) UROW_F(name)
#define TC_UNARY_SAME(name, f32, f64, iexpr, bool_ok) UROW_ALL(name, bool_ok)
#define TC_UNARY_PRED(name, f32, f64, iexpr) UROW_ALL(name, 1)
#include "../ops/unary.def"
};

#define BROW_ALL(name)                                                                                 \
  [TC__BIN_##name] = {[TC_F32] = bin_##name##_f32,    [TC_F64] = bin_##name##_f64,                    \
                      [TC_I64] = bin_##name##_TC_I64, [TC_I32] = bin_##name##_TC_I32,                 \
                      [TC_I16] = bin_##name##_TC_I16, [TC_I8] = bin_##name##_TC_I8,                   \
                      [TC_U8] = bin_##name##_TC_U8,   [TC_U16] = bin_##name##_TC_U16,                 \
                      [TC_BOOL] = bin_##name##_bool},

static const tc__loop_fn binary_table[TC__BIN_COUNT][TC_NUM_DTYPES] = {
#define TC_BINARY_ARITH(name, f32, f64, iexpr, bexpr) BROW_ALL(name)
#define TC_BINARY_CMP(name, op) BROW_ALL(name)
#include "../ops/binary.def"
};

/* ---- complex64: the arithmetic subset (add, sub, mul, div, eq, ne, neg, abs -> float) -------- */
KSIG(bin_add_c64) { const tc__binary_ctx *c = ctx_; BIN_LOOP(tc__c64, tc__c64, x + c->af * y) }
KSIG(bin_sub_c64) { const tc__binary_ctx *c = ctx_; BIN_LOOP(tc__c64, tc__c64, x - c->af * y) }
KSIG(bin_mul_c64) { (void)ctx_; BIN_LOOP(tc__c64, tc__c64, x * y) }
KSIG(bin_div_c64) { (void)ctx_; BIN_LOOP(tc__c64, tc__c64, x / y) }
KSIG(bin_eq_c64) { (void)ctx_; BIN_LOOP(bool, tc__c64, x == y) }
KSIG(bin_ne_c64) { (void)ctx_; BIN_LOOP(bool, tc__c64, x != y) }
KSIG(un_neg_c64) { (void)ctx_; UN_LOOP(tc__c64, tc__c64, -x) }
KSIG(un_abs_c64) { (void)ctx_; UN_LOOP(float, tc__c64, cabsf(x)) }
KSIG(un_isnan_c64) { (void)ctx_; UN_LOOP(bool, tc__c64, crealf(x) != crealf(x) || cimagf(x) != cimagf(x)) }

tc__loop_fn tc__cpu_unary_kernel(tc__unary_op op, tc_dtype dtype) {
  if ((int)op < 0 || op >= TC__UN_COUNT || !tc__dtype_valid(dtype)) return NULL;
  if (dtype == TC_C64)
    return op == TC__UN_neg ? un_neg_c64 : op == TC__UN_abs ? un_abs_c64 : op == TC__UN_isnan ? un_isnan_c64 : NULL;
  return unary_table[op][dtype];
}

tc__loop_fn tc__cpu_binary_kernel(tc__binary_op op, tc_dtype dtype) {
  if ((int)op < 0 || op >= TC__BIN_COUNT || !tc__dtype_valid(dtype)) return NULL;
  if (dtype == TC_C64) {
    switch (op) {
      case TC__BIN_add: return bin_add_c64;
      case TC__BIN_sub: return bin_sub_c64;
      case TC__BIN_mul: return bin_mul_c64;
      case TC__BIN_div: return bin_div_c64;
      case TC__BIN_eq: return bin_eq_c64;
      case TC__BIN_ne: return bin_ne_c64;
      default: return NULL;
    }
  }
  return binary_table[op][dtype];
}

/* ---- clamp ------------------------------------------------------------------------------------ */
#define CLAMP_F(T)                                                  \
  {                                                                 \
    const tc__clamp_ctx *c = ctx_;                                  \
    const T lo = c->has_lo ? (T)c->lo : (T)-INFINITY;               \
    const T hi = c->has_hi ? (T)c->hi : (T)INFINITY;                \
    UN_LOOP(T, T, (x != x) ? x : (x < lo ? lo : x) > hi ? hi : (x < lo ? lo : x)) \
  }
KSIG(clamp_f32) { CLAMP_F(float) }
KSIG(clamp_f64) { CLAMP_F(double) }
#define CLAMP_INT(TAG, T, U, unused)                                                       \
  KSIG(clamp_##TAG) {                                                                      \
    const tc__clamp_ctx *c = ctx_;                                                         \
    const int64_t lo = c->has_lo ? c->ilo : INT64_MIN, hi = c->has_hi ? c->ihi : INT64_MAX; \
    UN_LOOP(T, T, (T)((int64_t)x < lo ? lo : ((int64_t)x > hi ? hi : (int64_t)x)))          \
  }
FOR_INTS(CLAMP_INT, 0)

tc__loop_fn tc__cpu_clamp_kernel(tc_dtype dtype) {
  switch (dtype) {
    case TC_F32: return clamp_f32;
    case TC_F64: return clamp_f64;
    case TC_I64: return clamp_TC_I64;
    case TC_I32: return clamp_TC_I32;
    case TC_I16: return clamp_TC_I16;
    case TC_I8: return clamp_TC_I8;
    case TC_U8: return clamp_TC_U8;
    case TC_U16: return clamp_TC_U16;
    default: return NULL;
  }
}
