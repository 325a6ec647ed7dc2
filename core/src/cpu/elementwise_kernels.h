/* core/src/cpu/elementwise_kernels.h — CPU kernel lookup for the unary and binary op tables.
 * The op pipeline (core/src/elementwise.c) checks arguments, picks dtypes, allocates and then
 * asks for the inner loop of (op, compute dtype) here; NULL means the dtype is not supported. */
#ifndef CTORCH_CPU_ELEMENTWISE_KERNELS_H
#define CTORCH_CPU_ELEMENTWISE_KERNELS_H

#include "../internal.h"

typedef enum {
#define TC_UNARY_FLOAT(name, f32, f64) TC__UN_##name,
#define TC_UNARY_SAME(name, f32, f64, iexpr, bool_ok) TC__UN_##name,
#define TC_UNARY_PRED(name, f32, f64, iexpr) TC__UN_##name,
#include "../ops/unary.def"
  TC__UN_COUNT
} tc__unary_op;

typedef enum {
#define TC_BINARY_ARITH(name, f32, f64, iexpr, bexpr) TC__BIN_##name,
#define TC_BINARY_CMP(name, op) TC__BIN_##name,
#include "../ops/binary.def"
  TC__BIN_COUNT
} tc__binary_op;

/* Per-call constants for binary kernels (alpha of add/sub in each compute type). */
typedef struct {
  float af;
  double ad;
  int64_t ai;
} tc__binary_ctx;

/* Inner loops for tc__foreach: unary ptrs = {out, in}; binary ptrs = {out, a, b}. For PRED and
 * CMP ops the output is bool and `dtype` is the input dtype. */
tc__loop_fn tc__cpu_unary_kernel(tc__unary_op op, tc_dtype dtype);
tc__loop_fn tc__cpu_binary_kernel(tc__binary_op op, tc_dtype dtype);
/* Clamp to [lo, hi] in dtype (f32/f64/ints); ctx is a tc__clamp_ctx. NaN inputs stay NaN. */
typedef struct {
  double lo, hi;
  int64_t ilo, ihi;
  bool has_lo, has_hi;
} tc__clamp_ctx;
tc__loop_fn tc__cpu_clamp_kernel(tc_dtype dtype);

#endif
