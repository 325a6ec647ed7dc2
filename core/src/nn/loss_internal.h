/* core/src/nn/loss_internal.h — helpers shared by the loss functions (loss_ce.c,
 * loss_pointwise.c) and their modules (loss_modules.c). Not installed.
 *
 * Every loss computes in its compute dtype (f32 or f64; f16/bf16 inputs compute in f32), sums in
 * double over fixed blocks (so results never depend on the thread count) and casts the result to
 * the loss's result dtype at the end. Each loss records its own backward node.
 */
#ifndef CTORCH_NN_LOSS_INTERNAL_H
#define CTORCH_NN_LOSS_INTERNAL_H

#include "../autograd/autograd_internal.h"
#include "ctorch/nn_functional.h"

/* TC_ERR_ARG unless r is one of mean / sum / none. */
tc_status tc__loss_check_reduction(const char *fn, tc_reduction r);

/* t's values as a contiguous tensor of dtype: t itself (retained) when it already is one, else a
 * converted copy. t may be an expanded view. New reference or NULL. */
tc_tensor *tc__loss_contig(const tc_tensor *t, tc_dtype dtype);

/* Converts a compute-dtype result r to dtype, taking over r's reference. */
tc_tensor *tc__loss_cast(tc_tensor *r, tc_dtype dtype);

/* A 0-d tensor of dtype holding v. */
tc_tensor *tc__loss_scalar(double v, tc_dtype dtype, tc_device device);

/* Sums n doubles in a fixed pairwise order (deterministic, accurate). */
double tc__loss_sum(const double *v, int64_t n);

#endif
