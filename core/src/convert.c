/* core/src/convert.c — elementwise copy with dtype conversion (all 12 x 12 pairs), fill, and
 * single-element load/store. Conversions follow PyTorch: float -> int truncates toward zero,
 * anything -> bool is (x != 0), complex -> real drops the imaginary part. */
#include <math.h>
#include "dtype_macros.h"

/* ---- per-element conversion from a source kind to a destination type ------------------------ */
/* from an integer value (int64_t) */
#define FROM_IK_INT(v, T) ((T)(v))
#define FROM_IK_BOOL(v, T) ((v) != 0)
#define FROM_IK_FLT(v, T) ((T)(v))
#define FROM_IK_HALF(v, T) tc_float_to_half((float)(v))
#define FROM_IK_BF16(v, T) tc_float_to_bf16((float)(v))
#define FROM_IK_CPLX(v, T) ((tc__c64)(float)(v))
/* from a float value (double; exact for f32/f16/bf16 sources) */
#define FROM_FK_INT(v, T) ((T)tc__f2i(v))
#define FROM_FK_BOOL(v, T) ((v) != 0)
#define FROM_FK_FLT(v, T) ((T)(v))
#define FROM_FK_HALF(v, T) tc_float_to_half((float)(v))
#define FROM_FK_BF16(v, T) tc_float_to_bf16((float)(v))
#define FROM_FK_CPLX(v, T) ((tc__c64)(float)(v))

/* source kind -> (load expression kind, FROM_ family) */
#define SRCKIND_INT IK
#define SRCKIND_BOOL IK
#define SRCKIND_FLT FK
#define SRCKIND_HALF FK
#define SRCKIND_BF16 FK
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define CAT3(a, b, c) CAT(CAT(a, b), c)

typedef void (*conv_fn)(char **ptrs, const int64_t *strides, int64_t n, void *ctx);

/* conv_<DST>_<SRC>: ptrs[0] = dst, ptrs[1] = src */
#define DEF_CONV(DTAG, DT, DKIND, STAG, ST, SKIND)                                                \
  static void conv_##DTAG##_##STAG(char **ptrs, const int64_t *strides, int64_t n, void *ctx) {   \
    (void)ctx;                                                                                    \
    char *d = ptrs[0];                                                                            \
    const char *s = ptrs[1];                                                                      \
    for (int64_t i = 0; i < n; i++, d += strides[0], s += strides[1]) {                           \
      *(DT *)d = CAT3(FROM_, SRCKIND_##SKIND, _##DKIND)(TC__LOAD_##SKIND(s, ST), DT);             \
    }                                                                                             \
  }
/* complex source: take the real part as a float value */
#define DEF_CONV_FROM_C(DTAG, DT, DKIND)                                                         \
  static void conv_##DTAG##_TC_C64(char **ptrs, const int64_t *strides, int64_t n, void *ctx) {  \
    (void)ctx;                                                                                   \
    char *d = ptrs[0];                                                                           \
    const char *s = ptrs[1];                                                                     \
    for (int64_t i = 0; i < n; i++, d += strides[0], s += strides[1]) {                          \
      double v = (double)crealf(*(const tc__c64 *)s);                                            \
      *(DT *)d = CAT(FROM_FK_, DKIND)(v, DT);                                                     \
    }                                                                                            \
  }

/* For each destination, define conversions from every non-complex source. */
#define DEF_FOR_DST(DTAG, DT, DKIND)     \
  DEF_CONV(DTAG, DT, DKIND, TC_F32, float, FLT)      \
  DEF_CONV(DTAG, DT, DKIND, TC_F64, double, FLT)     \
  DEF_CONV(DTAG, DT, DKIND, TC_F16, uint16_t, HALF)  \
  DEF_CONV(DTAG, DT, DKIND, TC_BF16, uint16_t, BF16) \
  DEF_CONV(DTAG, DT, DKIND, TC_I64, int64_t, INT)    \
  DEF_CONV(DTAG, DT, DKIND, TC_I32, int32_t, INT)    \
  DEF_CONV(DTAG, DT, DKIND, TC_I16, int16_t, INT)    \
  DEF_CONV(DTAG, DT, DKIND, TC_I8, int8_t, INT)      \
  DEF_CONV(DTAG, DT, DKIND, TC_U8, uint8_t, INT)     \
  DEF_CONV(DTAG, DT, DKIND, TC_U16, uint16_t, INT)   \
  DEF_CONV(DTAG, DT, DKIND, TC_BOOL, bool, BOOL)

TC__FOR_EACH_DTYPE(DEF_FOR_DST)

/* complex -> non-complex */
DEF_CONV_FROM_C(TC_F32, float, FLT)
DEF_CONV_FROM_C(TC_F64, double, FLT)
DEF_CONV_FROM_C(TC_F16, uint16_t, HALF)
DEF_CONV_FROM_C(TC_BF16, uint16_t, BF16)
DEF_CONV_FROM_C(TC_I64, int64_t, INT)
DEF_CONV_FROM_C(TC_I32, int32_t, INT)
DEF_CONV_FROM_C(TC_I16, int16_t, INT)
DEF_CONV_FROM_C(TC_I8, int8_t, INT)
DEF_CONV_FROM_C(TC_U8, uint8_t, INT)
DEF_CONV_FROM_C(TC_U16, uint16_t, INT)
DEF_CONV_FROM_C(TC_BOOL, bool, BOOL)
static void conv_TC_C64_TC_C64(char **ptrs, const int64_t *strides, int64_t n, void *ctx) {
  (void)ctx;
  char *d = ptrs[0];
  const char *s = ptrs[1];
  for (int64_t i = 0; i < n; i++, d += strides[0], s += strides[1]) memcpy(d, s, sizeof(tc__c64));
}

#define ROW(DTAG, DT, DKIND)                                                                     \
  [DTAG] = {[TC_F32] = conv_##DTAG##_TC_F32, [TC_F64] = conv_##DTAG##_TC_F64,                    \
            [TC_F16] = conv_##DTAG##_TC_F16, [TC_BF16] = conv_##DTAG##_TC_BF16,                  \
            [TC_I64] = conv_##DTAG##_TC_I64, [TC_I32] = conv_##DTAG##_TC_I32,                    \
            [TC_I16] = conv_##DTAG##_TC_I16, [TC_I8] = conv_##DTAG##_TC_I8,                      \
            [TC_U8] = conv_##DTAG##_TC_U8,   [TC_U16] = conv_##DTAG##_TC_U16,                    \
            [TC_BOOL] = conv_##DTAG##_TC_BOOL, [TC_C64] = conv_##DTAG##_TC_C64},

static const conv_fn conv_table[TC_NUM_DTYPES][TC_NUM_DTYPES] = {TC__FOR_EACH_DTYPE(ROW)};

/* Same dtype: memcpy runs when both are contiguous in the inner dim. */
static void copy_same(char **ptrs, const int64_t *strides, int64_t n, void *ctx) {
  size_t es = *(const size_t *)ctx;
  if (strides[0] == (int64_t)es && strides[1] == (int64_t)es) {
    memcpy(ptrs[0], ptrs[1], (size_t)n * es);
    return;
  }
  char *d = ptrs[0];
  const char *s = ptrs[1];
  switch (es) {
    case 1: for (int64_t i = 0; i < n; i++, d += strides[0], s += strides[1]) *(uint8_t *)d = *(const uint8_t *)s; break;
    case 2: for (int64_t i = 0; i < n; i++, d += strides[0], s += strides[1]) memcpy(d, s, 2); break;
    case 4: for (int64_t i = 0; i < n; i++, d += strides[0], s += strides[1]) memcpy(d, s, 4); break;
    default: for (int64_t i = 0; i < n; i++, d += strides[0], s += strides[1]) memcpy(d, s, 8); break;
  }
}

void tc__cpu_copy(tc_tensor *dst, const tc_tensor *src) {
  const tc_tensor *ops[2] = {dst, src};
  if (dst->dtype == src->dtype) {
    size_t es = tc_dtype_size(dst->dtype);
    tc__foreach(2, ops, copy_same, &es, TC__GRAIN_ELEMENTWISE * 4);
  } else {
    tc__foreach(2, ops, conv_table[dst->dtype][src->dtype], NULL, TC__GRAIN_ELEMENTWISE);
  }
}

static void fill_loop(char **ptrs, const int64_t *strides, int64_t n, void *ctx) {
  const size_t *pat = ctx; /* pat[0] = element size, then the element bytes */
  size_t es = pat[0];
  const char *v = (const char *)&pat[1];
  char *d = ptrs[0];
  if (es == 4 && strides[0] == 4) {
    uint32_t x;
    memcpy(&x, v, 4);
    for (int64_t i = 0; i < n; i++) ((uint32_t *)(void *)d)[i] = x;
    return;
  }
  for (int64_t i = 0; i < n; i++, d += strides[0]) memcpy(d, v, es);
}

void tc__cpu_fill(tc_tensor *t, double v) {
  size_t pat[3] = {tc_dtype_size(t->dtype), 0, 0};
  tc__store_double(&pat[1], t->dtype, v);
  const tc_tensor *ops[1] = {t};
  tc__foreach(1, ops, fill_loop, pat, TC__GRAIN_ELEMENTWISE * 4);
}

/* ---- single elements -------------------------------------------------------------------------- */
double tc__load_double(const void *p, tc_dtype d) {
  switch (d) {
    case TC_F32: return *(const float *)p;
    case TC_F64: return *(const double *)p;
    case TC_F16: return tc_half_to_float(*(const uint16_t *)p);
    case TC_BF16: return tc_bf16_to_float(*(const uint16_t *)p);
    case TC_I64: return (double)*(const int64_t *)p;
    case TC_I32: return *(const int32_t *)p;
    case TC_I16: return *(const int16_t *)p;
    case TC_I8: return *(const int8_t *)p;
    case TC_U8: return *(const uint8_t *)p;
    case TC_U16: return *(const uint16_t *)p;
    case TC_BOOL: return *(const uint8_t *)p != 0;
    case TC_C64: return crealf(*(const tc__c64 *)p);
    default: return 0;
  }
}

int64_t tc__load_int64(const void *p, tc_dtype d) {
  switch (d) {
    case TC_I64: return *(const int64_t *)p;
    case TC_I32: return *(const int32_t *)p;
    case TC_I16: return *(const int16_t *)p;
    case TC_I8: return *(const int8_t *)p;
    case TC_U8: return *(const uint8_t *)p;
    case TC_U16: return *(const uint16_t *)p;
    case TC_BOOL: return *(const uint8_t *)p != 0;
    default: return tc__f2i(tc__load_double(p, d));
  }
}

int64_t tc__double_to_i64(double v) { return tc__f2i(v); }

void tc__store_double(void *p, tc_dtype d, double v) {
  switch (d) {
    case TC_F32: *(float *)p = (float)v; break;
    case TC_F64: *(double *)p = v; break;
    case TC_F16: *(uint16_t *)p = tc_float_to_half((float)v); break;
    case TC_BF16: *(uint16_t *)p = tc_float_to_bf16((float)v); break;
    case TC_I64: *(int64_t *)p = tc__f2i(v); break;
    case TC_I32: *(int32_t *)p = (int32_t)tc__f2i(v); break;
    case TC_I16: *(int16_t *)p = (int16_t)tc__f2i(v); break;
    case TC_I8: *(int8_t *)p = (int8_t)tc__f2i(v); break;
    case TC_U8: *(uint8_t *)p = (uint8_t)tc__f2i(v); break;
    case TC_U16: *(uint16_t *)p = (uint16_t)tc__f2i(v); break;
    case TC_BOOL: *(uint8_t *)p = v != 0; break;
    case TC_C64: *(tc__c64 *)p = (tc__c64)(float)v; break;
    default: break;
  }
}
