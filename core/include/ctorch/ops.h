/* ctorch/ops.h — tensor operations, as torch.* functions.
 *
 * Binary ops broadcast with NumPy/PyTorch rules and promote dtypes as torch.result_type (a scalar
 * argument only raises the category: int tensor * 2.5 -> float32; see tc_promote_scalar). Scalar
 * arguments are doubles; an integral value counts as an int scalar, any other as a float scalar.
 * All returned tensors are new references; see tensor.h for ownership and errors.
 *
 *   tc_tensor *z = tc_add(x, y, 1.0);          // x + y
 *   tc_tensor *m = tc_sum(z, (int64_t[]){-1}, 1, true);
 *   tc_tensor *p = tc_softmax(x, -1);
 *
 * In-place variants (`_inplace`) write into `self`, whose shape and dtype they never change: the
 * other operand must broadcast to self's shape and the result dtype must cast to self's, as PyTorch.
 */
#ifndef CTORCH_OPS_H
#define CTORCH_OPS_H

#include "ctorch/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- unary elementwise ------------------------------------------------------------------------
 * Float functions of integer/bool inputs return float32, as PyTorch. neg/abs/sign/relu/floor/ceil/
 * round/trunc keep the dtype. round is half-to-even. */
TC_API tc_tensor *tc_neg(const tc_tensor *t);
TC_API tc_tensor *tc_abs(const tc_tensor *t);
TC_API tc_tensor *tc_sign(const tc_tensor *t);
TC_API tc_tensor *tc_exp(const tc_tensor *t);
TC_API tc_tensor *tc_exp2(const tc_tensor *t);
TC_API tc_tensor *tc_log(const tc_tensor *t);
TC_API tc_tensor *tc_log2(const tc_tensor *t);
TC_API tc_tensor *tc_log1p(const tc_tensor *t);
TC_API tc_tensor *tc_expm1(const tc_tensor *t);
TC_API tc_tensor *tc_sqrt(const tc_tensor *t);
TC_API tc_tensor *tc_rsqrt(const tc_tensor *t);
TC_API tc_tensor *tc_sin(const tc_tensor *t);
TC_API tc_tensor *tc_cos(const tc_tensor *t);
TC_API tc_tensor *tc_tan(const tc_tensor *t);
TC_API tc_tensor *tc_tanh(const tc_tensor *t);
TC_API tc_tensor *tc_sigmoid(const tc_tensor *t);
TC_API tc_tensor *tc_relu(const tc_tensor *t);
TC_API tc_tensor *tc_erf(const tc_tensor *t);
TC_API tc_tensor *tc_floor(const tc_tensor *t);
TC_API tc_tensor *tc_ceil(const tc_tensor *t);
TC_API tc_tensor *tc_round(const tc_tensor *t);
TC_API tc_tensor *tc_trunc(const tc_tensor *t);
TC_API tc_tensor *tc_logical_not(const tc_tensor *t); /* -> bool */
TC_API tc_tensor *tc_isnan(const tc_tensor *t);       /* -> bool */
TC_API tc_tensor *tc_isinf(const tc_tensor *t);       /* -> bool */
TC_API tc_tensor *tc_isfinite(const tc_tensor *t);    /* -> bool */

/* ---- binary elementwise (broadcasting) ------------------------------------------------------- */
TC_API tc_tensor *tc_add(const tc_tensor *a, const tc_tensor *b, double alpha); /* a + alpha*b */
TC_API tc_tensor *tc_sub(const tc_tensor *a, const tc_tensor *b, double alpha); /* a - alpha*b */
TC_API tc_tensor *tc_mul(const tc_tensor *a, const tc_tensor *b);
TC_API tc_tensor *tc_div(const tc_tensor *a, const tc_tensor *b); /* true division, float result */
/* rounding_mode as torch.div: floor or trunc (keeps integer dtypes; integer division by zero is an
 * error TC_ERR_ARG, as PyTorch raises). */
typedef enum tc_rounding { TC_ROUND_NONE = 0, TC_ROUND_FLOOR, TC_ROUND_TRUNC } tc_rounding;
TC_API tc_tensor *tc_div_mode(const tc_tensor *a, const tc_tensor *b, tc_rounding mode);
TC_API tc_tensor *tc_floor_divide(const tc_tensor *a, const tc_tensor *b);
TC_API tc_tensor *tc_remainder(const tc_tensor *a, const tc_tensor *b); /* sign of b, as Python % */
TC_API tc_tensor *tc_pow(const tc_tensor *a, const tc_tensor *b);
TC_API tc_tensor *tc_minimum(const tc_tensor *a, const tc_tensor *b); /* NaN propagates */
TC_API tc_tensor *tc_maximum(const tc_tensor *a, const tc_tensor *b);
TC_API tc_tensor *tc_eq(const tc_tensor *a, const tc_tensor *b); /* comparisons -> bool */
TC_API tc_tensor *tc_ne(const tc_tensor *a, const tc_tensor *b);
TC_API tc_tensor *tc_lt(const tc_tensor *a, const tc_tensor *b);
TC_API tc_tensor *tc_le(const tc_tensor *a, const tc_tensor *b);
TC_API tc_tensor *tc_gt(const tc_tensor *a, const tc_tensor *b);
TC_API tc_tensor *tc_ge(const tc_tensor *a, const tc_tensor *b);
TC_API tc_tensor *tc_logical_and(const tc_tensor *a, const tc_tensor *b); /* -> bool */
TC_API tc_tensor *tc_logical_or(const tc_tensor *a, const tc_tensor *b);
TC_API tc_tensor *tc_logical_xor(const tc_tensor *a, const tc_tensor *b);

/* Scalar forms: tensor (op) s. */
TC_API tc_tensor *tc_add_scalar(const tc_tensor *a, double s);
TC_API tc_tensor *tc_sub_scalar(const tc_tensor *a, double s);
TC_API tc_tensor *tc_rsub_scalar(const tc_tensor *a, double s); /* s - a */
TC_API tc_tensor *tc_mul_scalar(const tc_tensor *a, double s);
TC_API tc_tensor *tc_div_scalar(const tc_tensor *a, double s);
TC_API tc_tensor *tc_remainder_scalar(const tc_tensor *a, double s);
TC_API tc_tensor *tc_pow_scalar(const tc_tensor *a, double exponent);
TC_API tc_tensor *tc_minimum_scalar(const tc_tensor *a, double s);
TC_API tc_tensor *tc_maximum_scalar(const tc_tensor *a, double s);
TC_API tc_tensor *tc_eq_scalar(const tc_tensor *a, double s);
TC_API tc_tensor *tc_ne_scalar(const tc_tensor *a, double s);
TC_API tc_tensor *tc_lt_scalar(const tc_tensor *a, double s);
TC_API tc_tensor *tc_le_scalar(const tc_tensor *a, double s);
TC_API tc_tensor *tc_gt_scalar(const tc_tensor *a, double s);
TC_API tc_tensor *tc_ge_scalar(const tc_tensor *a, double s);

/* clamp(t, min, max): -INFINITY / INFINITY for "no bound". tc_clamp_tensor takes tensor bounds
 * (either may be NULL). Integer inputs with float bounds promote, as PyTorch. */
TC_API tc_tensor *tc_clamp(const tc_tensor *t, double min, double max);
TC_API tc_tensor *tc_clamp_tensor(const tc_tensor *t, const tc_tensor *min, const tc_tensor *max);
/* where(cond, a, b): cond is bool, the three broadcast together. */
TC_API tc_tensor *tc_where(const tc_tensor *cond, const tc_tensor *a, const tc_tensor *b);

/* ---- in place (self is never broadcast; returns a status) ------------------------------------ */
TC_API tc_status tc_add_inplace(tc_tensor *self, const tc_tensor *other, double alpha);
TC_API tc_status tc_sub_inplace(tc_tensor *self, const tc_tensor *other, double alpha);
TC_API tc_status tc_mul_inplace(tc_tensor *self, const tc_tensor *other);
TC_API tc_status tc_div_inplace(tc_tensor *self, const tc_tensor *other);
TC_API tc_status tc_add_scalar_inplace(tc_tensor *self, double s);
TC_API tc_status tc_sub_scalar_inplace(tc_tensor *self, double s);
TC_API tc_status tc_mul_scalar_inplace(tc_tensor *self, double s);
TC_API tc_status tc_div_scalar_inplace(tc_tensor *self, double s);
TC_API tc_status tc_pow_scalar_inplace(tc_tensor *self, double s);
TC_API tc_status tc_clamp_inplace(tc_tensor *self, double min, double max);
TC_API tc_status tc_neg_inplace(tc_tensor *self);
TC_API tc_status tc_relu_inplace(tc_tensor *self);
TC_API tc_status tc_sigmoid_inplace(tc_tensor *self);
TC_API tc_status tc_exp_inplace(tc_tensor *self);
TC_API tc_status tc_sqrt_inplace(tc_tensor *self);

/* ---- reductions -------------------------------------------------------------------------------
 * dims: the dims to reduce (negative count back); dims NULL or ndims 0 reduces over all dims.
 * keepdim keeps reduced dims with size 1. Summation is pairwise (accurate) and gives the same bits
 * for any thread count. sum/prod of integer or bool inputs return int64; mean/std/var/norm need a
 * floating input (TC_ERR_DTYPE otherwise); logsumexp of integers returns float32, as PyTorch 2.x. */
TC_API tc_tensor *tc_sum(const tc_tensor *t, const int64_t *dims, int64_t ndims, bool keepdim);
TC_API tc_tensor *tc_mean(const tc_tensor *t, const int64_t *dims, int64_t ndims, bool keepdim);
TC_API tc_tensor *tc_prod(const tc_tensor *t, const int64_t *dims, int64_t ndims, bool keepdim);
/* Variance/std with Bessel-style correction (1 = unbiased, PyTorch's default; 0 = population). */
TC_API tc_tensor *tc_var(const tc_tensor *t, const int64_t *dims, int64_t ndims, double correction, bool keepdim);
TC_API tc_tensor *tc_std(const tc_tensor *t, const int64_t *dims, int64_t ndims, double correction, bool keepdim);
/* Vector p-norm (torch.linalg.vector_norm): any p, incl. 0 (count of non-zeros) and +-INFINITY. */
TC_API tc_tensor *tc_norm(const tc_tensor *t, double p, const int64_t *dims, int64_t ndims, bool keepdim);
TC_API tc_tensor *tc_logsumexp(const tc_tensor *t, const int64_t *dims, int64_t ndims, bool keepdim);
/* -> bool (uint8 for a uint8 input, as PyTorch) */
TC_API tc_tensor *tc_all(const tc_tensor *t, const int64_t *dims, int64_t ndims, bool keepdim);
TC_API tc_tensor *tc_any(const tc_tensor *t, const int64_t *dims, int64_t ndims, bool keepdim); /* -> bool */
/* max/min over everything -> 0-d tensor (NaN propagates). */
TC_API tc_tensor *tc_max(const tc_tensor *t);
TC_API tc_tensor *tc_min(const tc_tensor *t);
/* max/min along one dim: values and int64 indices (first occurrence), either out may be NULL. */
TC_API tc_status tc_max_dim(const tc_tensor *t, int64_t dim, bool keepdim, tc_tensor **values, tc_tensor **indices);
TC_API tc_status tc_min_dim(const tc_tensor *t, int64_t dim, bool keepdim, tc_tensor **values, tc_tensor **indices);
/* Index of the max/min (int64). dim = TC_ALL_DIMS flattens first. */
#define TC_ALL_DIMS INT64_MIN
TC_API tc_tensor *tc_argmax(const tc_tensor *t, int64_t dim, bool keepdim);
TC_API tc_tensor *tc_argmin(const tc_tensor *t, int64_t dim, bool keepdim);
TC_API tc_tensor *tc_cumsum(const tc_tensor *t, int64_t dim); /* integer inputs -> int64 */
TC_API tc_tensor *tc_cumprod(const tc_tensor *t, int64_t dim);
TC_API tc_tensor *tc_softmax(const tc_tensor *t, int64_t dim);     /* float inputs */
TC_API tc_tensor *tc_log_softmax(const tc_tensor *t, int64_t dim);

/* ---- linear algebra (OpenBLAS for f32/f64 on the CPU) ----------------------------------------
 * matmul follows torch.matmul: 1-D x 1-D dot, 2-D mm, 1-D operands promoted then squeezed, and
 * batched with broadcast batch dims. Both operands must have the same dtype. */
TC_API tc_tensor *tc_matmul(const tc_tensor *a, const tc_tensor *b);
TC_API tc_tensor *tc_mm(const tc_tensor *a, const tc_tensor *b);   /* (n,k) x (k,m) */
TC_API tc_tensor *tc_bmm(const tc_tensor *a, const tc_tensor *b);  /* (B,n,k) x (B,k,m) */
TC_API tc_tensor *tc_mv(const tc_tensor *a, const tc_tensor *v);   /* (n,k) x (k) */
TC_API tc_tensor *tc_dot(const tc_tensor *a, const tc_tensor *b);  /* (k) . (k) -> 0-d */
TC_API tc_tensor *tc_outer(const tc_tensor *a, const tc_tensor *b); /* (n) x (m) -> (n,m) */
/* beta * input + alpha * (a @ b); input broadcasts to (n, m). */
TC_API tc_tensor *tc_addmm(const tc_tensor *input, const tc_tensor *a, const tc_tensor *b, double beta, double alpha);

/* ---- indexing (copies, as PyTorch) ----------------------------------------------------------- */
TC_API tc_tensor *tc_index_select(const tc_tensor *t, int64_t dim, const tc_tensor *index);
TC_API tc_tensor *tc_gather(const tc_tensor *t, int64_t dim, const tc_tensor *index);
/* Out-of-place scatter: a copy of t with src values written at index along dim. */
TC_API tc_tensor *tc_scatter(const tc_tensor *t, int64_t dim, const tc_tensor *index, const tc_tensor *src);
TC_API tc_tensor *tc_scatter_value(const tc_tensor *t, int64_t dim, const tc_tensor *index, double value);
TC_API tc_tensor *tc_scatter_add(const tc_tensor *t, int64_t dim, const tc_tensor *index, const tc_tensor *src);
TC_API tc_tensor *tc_index_add(const tc_tensor *t, int64_t dim, const tc_tensor *index, const tc_tensor *src, double alpha);
TC_API tc_status tc_scatter_inplace(tc_tensor *self, int64_t dim, const tc_tensor *index, const tc_tensor *src);
TC_API tc_status tc_scatter_add_inplace(tc_tensor *self, int64_t dim, const tc_tensor *index, const tc_tensor *src);
TC_API tc_status tc_index_add_inplace(tc_tensor *self, int64_t dim, const tc_tensor *index, const tc_tensor *src, double alpha);
TC_API tc_tensor *tc_masked_fill(const tc_tensor *t, const tc_tensor *mask, double value);
TC_API tc_status tc_masked_fill_inplace(tc_tensor *self, const tc_tensor *mask, double value);
TC_API tc_tensor *tc_masked_select(const tc_tensor *t, const tc_tensor *mask); /* 1-D result */
/* Advanced indexing t[i0, i1, ...]: each of the n indices is an integer tensor, a bool mask, or
 * NULL for a full slice ':'. Index tensors broadcast together; the result places the indexed
 * dims as PyTorch/NumPy do (in place when adjacent, first otherwise). */
TC_API tc_tensor *tc_index(const tc_tensor *t, const tc_tensor *const *indices, int64_t n);
/* t[i0, i1, ...] = values (broadcast), or += when accumulate. */
TC_API tc_status tc_index_put_inplace(tc_tensor *self, const tc_tensor *const *indices, int64_t n,
                                      const tc_tensor *values, bool accumulate);

/* ---- joining --------------------------------------------------------------------------------- */
TC_API tc_tensor *tc_cat(const tc_tensor *const *tensors, int64_t n, int64_t dim);
TC_API tc_tensor *tc_stack(const tc_tensor *const *tensors, int64_t n, int64_t dim);
TC_API tc_tensor *tc_hstack(const tc_tensor *const *tensors, int64_t n);
TC_API tc_tensor *tc_vstack(const tc_tensor *const *tensors, int64_t n);

#ifdef __cplusplus
}
#endif
#endif
