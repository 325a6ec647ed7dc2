/* core/src/elementwise_backward.h — autograd recording for the elementwise ops (internal). */
#ifndef CTORCH_ELEMENTWISE_BACKWARD_H
#define CTORCH_ELEMENTWISE_BACKWARD_H

#include "cpu/elementwise_kernels.h"

/* Each returns out (with its grad_fn set when grad is needed), or NULL after releasing out. */
tc_tensor *tc__unary_record(tc__unary_op op, const tc_tensor *x, tc_tensor *out);
/* a or b is NULL for a scalar operand (av / bv). */
tc_tensor *tc__binary_record(tc__binary_op op, const tc_tensor *a, double av, const tc_tensor *b, double bv,
                             double alpha, tc_tensor *out);
tc_tensor *tc__clamp_record(const tc_tensor *x, double lo, double hi, tc_tensor *out);

/* In-place op under autograd: compute(self_copy, ctx) returns the out-of-place result, which is
 * written into self; self takes the result's history. */
typedef tc_tensor *(*tc__inplace_compute)(const tc_tensor *self_value, void *ctx);
tc_status tc__inplace_with_grad(const char *fn, tc_tensor *self, tc__inplace_compute compute, void *ctx);

#endif
