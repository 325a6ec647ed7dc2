/* core/src/reduce_backward.h — the forward kernels of the reductions, scans and softmax
 * (reduce.c, reduce_minmax.c, scan.c, softmax.c). The public functions (tc_sum, ...) live in
 * reduce_backward.c: they call these and record the autograd node. */
#ifndef CTORCH_REDUCE_BACKWARD_H
#define CTORCH_REDUCE_BACKWARD_H

#include "internal.h"

tc_tensor *tc__sum_fwd(const tc_tensor *t, const int64_t *dims, int64_t ndims, bool keepdim);
tc_tensor *tc__prod_fwd(const tc_tensor *t, const int64_t *dims, int64_t ndims, bool keepdim);
tc_tensor *tc__mean_fwd(const tc_tensor *t, const int64_t *dims, int64_t ndims, bool keepdim);
tc_tensor *tc__var_fwd(const tc_tensor *t, const int64_t *dims, int64_t ndims, double correction, bool keepdim);
tc_tensor *tc__std_fwd(const tc_tensor *t, const int64_t *dims, int64_t ndims, double correction, bool keepdim);
tc_tensor *tc__norm_fwd(const tc_tensor *t, double p, const int64_t *dims, int64_t ndims, bool keepdim);
tc_tensor *tc__logsumexp_fwd(const tc_tensor *t, const int64_t *dims, int64_t ndims, bool keepdim);
tc_tensor *tc__max_fwd(const tc_tensor *t);
tc_tensor *tc__min_fwd(const tc_tensor *t);
tc_status tc__max_dim_fwd(const tc_tensor *t, int64_t dim, bool keepdim, tc_tensor **values, tc_tensor **indices);
tc_status tc__min_dim_fwd(const tc_tensor *t, int64_t dim, bool keepdim, tc_tensor **values, tc_tensor **indices);
tc_tensor *tc__softmax_fwd(const tc_tensor *t, int64_t dim);
tc_tensor *tc__log_softmax_fwd(const tc_tensor *t, int64_t dim);
tc_tensor *tc__cumsum_fwd(const tc_tensor *t, int64_t dim);
tc_tensor *tc__cumprod_fwd(const tc_tensor *t, int64_t dim);

#endif
