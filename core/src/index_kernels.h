/* core/src/index_kernels.h — checks and CPU kernels shared by the indexing ops (index.c: index_select,
 * gather, scatter, index_add; mask.c: masked_fill, masked_select, where; advindex.c: tc_index and
 * tc_index_put_inplace). Not installed.
 *
 * Indices are int64 or int32 tensors. Kernels never check bounds: every caller validates all index
 * values first (tc__check_index_range), so a bad index is reported before anything is written.
 */
#ifndef CTORCH_INDEX_KERNELS_H
#define CTORCH_INDEX_KERNELS_H

#include "internal.h"

/* TC_ERR_DTYPE unless idx is int64 or int32 ("fn: <what> must be int64 or int32, got float32"). */
tc_status tc__check_index_dtype(const char *fn, const char *what, const tc_tensor *idx);

/* Checks every value v of idx (int64/int32, any strides): 0 <= v < size, or -size <= v < size when
 * allow_neg. The first bad value in row-major order gives TC_ERR_ARG
 * "fn: index 5 is out of range for dim 1 with size 4". */
tc_status tc__check_index_range(const char *fn, const tc_tensor *idx, int64_t size, int64_t dim, bool allow_neg);

/* TC_ERR_ARG when the scalar v cannot be written to dtype d without overflow (c10::checked_convert:
 * NaN into an integer, 300 into int8, 1e6 into float16; -1 into uint8 wraps and is allowed). */
tc_status tc__check_value_fits(const char *fn, const char *what, double v, tc_dtype d);

/* TC_ERR_ARG when an in-place op would write through a broadcast view (a dim of stride 0 and size > 1:
 * several elements share one memory location), as PyTorch's assert_no_internal_overlap. */
tc_status tc__check_no_overlap(const char *fn, const tc_tensor *self);

/* Gather, elementwise form. out, src and idx have one shape (views with any strides, src and idx
 * usually with stride 0 on some dims); for every element:
 *   out[i] = *(src_ptr[i] + idx[i] * mul)      (mul in bytes; idx already validated and >= 0)
 * out and src share a dtype (copied by element size). Parallel over the pool when large. */
void tc__index_gather(const tc_tensor *out, const tc_tensor *src, const tc_tensor *idx, int64_t mul);

/* Scatter, elementwise form (index_put). dst, src and idx have one shape:
 *   *(dst_ptr[i] + idx[i] * mul) = src[i]     (or += when accumulate; f16/bf16 round per step)
 * Runs serially, in row-major order (duplicates: the last write wins, additions run in order),
 * unless `unique` says no two elements hit one location. */
void tc__index_scatter(const tc_tensor *dst, const tc_tensor *src, const tc_tensor *idx, int64_t mul, bool accumulate,
                       bool unique);

#endif
