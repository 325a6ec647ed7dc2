/* core/src/cpu/elementwise_kernels.h — CPU kernel lookup for the unary and binary op tables.
 * The op pipeline (core/src/elementwise.c) checks arguments, picks dtypes, allocates and then
 * asks for the inner loop of (op, compute dtype) here; NULL means the dtype is not supported. */
#ifndef CTORCH_CPU_ELEMENTWISE_KERNELS_H
#define CTORCH_CPU_ELEMENTWISE_KERNELS_H

#include "../internal.h"

/* The op enums (tc__unary_op, tc__binary_op) and the per-call constants (tc__binary_ctx,
 * tc__clamp_ctx) are in device_abi.h, shared with the device backends. */

/* Inner loops for tc__foreach: unary ptrs = {out, in}; binary ptrs = {out, a, b}. For PRED and
 * CMP ops the output is bool and `dtype` is the input dtype. */
tc__loop_fn tc__cpu_unary_kernel(tc__unary_op op, tc_dtype dtype);
tc__loop_fn tc__cpu_binary_kernel(tc__binary_op op, tc_dtype dtype);
/* Clamp in dtype (f32/f64/ints); ctx is a tc__clamp_ctx. */
tc__loop_fn tc__cpu_clamp_kernel(tc_dtype dtype);

#endif
