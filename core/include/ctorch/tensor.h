/* ctorch/tensor.h — the tensor: lifecycle, attributes, creation, views.
 *
 * A tc_tensor is an opaque, reference-counted n-d array: sizes, element strides, an element
 * offset and a dtype over a reference-counted storage on one device. Views (slice, select,
 * transpose, view, expand, ...) share the storage; writes through one are seen through the other.
 *
 * Ownership: every function returning a tc_tensor* returns a new reference owned by the caller,
 * released with tc_tensor_release (or by the enclosing scope, see memory.h). Tensor arguments are
 * borrowed. On failure NULL is returned and tc_last_error() says why; a NULL tensor argument makes
 * the call return NULL (or TC_ERR_ARG) and keeps the first error message.
 *
 * Example:
 *   float data[6] = {1, 2, 3, 4, 5, 6};
 *   tc_tensor *x = tc_tensor_from_data(data, (int64_t[]){2, 3}, 2, TC_F32);
 *   tc_tensor *col = tc_select(x, 1, 0);          // view [1, 4]
 *   tc_tensor *y = tc_zeros((int64_t[]){2, 3}, 2, TC_OPTS(.dtype = TC_I64));
 *   tc_tensor_release(col); tc_tensor_release(x); tc_tensor_release(y);
 *
 * Thread-safety: distinct tensors may be used from different threads; retain/release are atomic.
 * Concurrent writes to the same storage are the caller's business, as in PyTorch.
 */
#ifndef CTORCH_TENSOR_H
#define CTORCH_TENSOR_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "ctorch/export.h"
#include "ctorch/status.h"
#include "ctorch/dtype.h"
#include "ctorch/device.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tc_tensor tc_tensor;
typedef struct tc_generator tc_generator;

/* The most dimensions a tensor may have. */
#define TC_MAX_DIMS 16

/* `end` argument of tc_slice meaning "to the end" (Python's omitted stop). */
#define TC_END INT64_MAX

/* Factory options, as PyTorch's dtype=/device=/generator= keyword arguments. A NULL pointer, or a
 * zeroed struct, means the defaults: the factory's default dtype (float32; int64 for randint,
 * randperm and integral arange) on the CPU, the default generator. */
typedef struct tc_options {
  tc_dtype dtype;
  tc_device device;
  tc_generator *generator; /* random factories only; NULL = the default generator */
} tc_options;

/* Options in place: tc_zeros(shape, 2, TC_OPTS(.dtype = TC_I64)). */
#define TC_OPTS(...) (&(const tc_options){__VA_ARGS__})

/* A list of tensors returned by chunk/split/unbind. Owned by the caller: tc_tensor_list_clear
 * releases the tensors and the array. */
typedef struct tc_tensor_list {
  tc_tensor **data;
  int64_t n;
} tc_tensor_list;
TC_API void tc_tensor_list_clear(tc_tensor_list *list);

/* ---- lifecycle ------------------------------------------------------------------------------ */
TC_API tc_tensor *tc_tensor_retain(tc_tensor *t); /* returns t; NULL-safe */
TC_API void tc_tensor_release(tc_tensor *t);      /* NULL-safe */

/* ---- attributes (t must not be NULL, except where noted) ------------------------------------- */
TC_API int64_t tc_tensor_ndim(const tc_tensor *t);
TC_API const int64_t *tc_tensor_shape(const tc_tensor *t);   /* ndim sizes, valid while t lives */
TC_API const int64_t *tc_tensor_strides(const tc_tensor *t); /* in elements */
TC_API int64_t tc_tensor_size(const tc_tensor *t, int64_t dim);   /* negative dims count back; -1 on error */
TC_API int64_t tc_tensor_stride(const tc_tensor *t, int64_t dim); /* 0 on error (see tc_last_error) */
TC_API int64_t tc_tensor_numel(const tc_tensor *t);
TC_API int64_t tc_tensor_offset(const tc_tensor *t); /* storage offset in elements */
TC_API tc_dtype tc_tensor_dtype(const tc_tensor *t);
TC_API tc_device tc_tensor_device(const tc_tensor *t);
TC_API bool tc_tensor_is_contiguous(const tc_tensor *t);
TC_API size_t tc_tensor_element_size(const tc_tensor *t);
/* Address of element [0,...,0] (CPU tensors; NULL for other devices or empty storage). */
TC_API void *tc_tensor_data(const tc_tensor *t);
/* True when a and b share one storage. */
TC_API bool tc_tensor_shares_storage(const tc_tensor *a, const tc_tensor *b);

/* ---- creation -------------------------------------------------------------------------------- */
/* Copies `data` (a C array of numel elements of `dtype`, row-major) into a new CPU tensor. */
TC_API tc_tensor *tc_tensor_from_data(const void *data, const int64_t *shape, int64_t ndim, tc_dtype dtype);
/* Wraps caller memory without copying (torch.from_numpy): both sides see each other's writes.
 * strides in elements (NULL = contiguous). `deleter(data, ctx)` runs when the last tensor using the
 * memory is released (NULL = the caller keeps ownership and must outlive the tensors). */
TC_API tc_tensor *tc_tensor_from_blob(void *data, const int64_t *shape, const int64_t *strides, int64_t ndim,
                                      tc_dtype dtype, void (*deleter)(void *data, void *ctx), void *ctx);
/* A 0-d tensor holding v (converted to opt->dtype). */
TC_API tc_tensor *tc_scalar_tensor(double v, const tc_options *opt);

TC_API tc_tensor *tc_empty(const int64_t *shape, int64_t ndim, const tc_options *opt);
TC_API tc_tensor *tc_zeros(const int64_t *shape, int64_t ndim, const tc_options *opt);
TC_API tc_tensor *tc_ones(const int64_t *shape, int64_t ndim, const tc_options *opt);
TC_API tc_tensor *tc_full(const int64_t *shape, int64_t ndim, double value, const tc_options *opt);
/* Uniform [0, 1) and standard normal; float dtypes only. Same streams as torch.rand/torch.randn. */
TC_API tc_tensor *tc_rand(const int64_t *shape, int64_t ndim, const tc_options *opt);
TC_API tc_tensor *tc_randn(const int64_t *shape, int64_t ndim, const tc_options *opt);
/* Integers uniform in [low, high); default dtype int64. */
TC_API tc_tensor *tc_randint(int64_t low, int64_t high, const int64_t *shape, int64_t ndim, const tc_options *opt);
/* A random permutation of 0..n-1 (int64 by default). */
TC_API tc_tensor *tc_randperm(int64_t n, const tc_options *opt);
/* Values start, start+step, ... < end. As torch.arange, the default dtype is int64 when start, end
 * and step are all integral, else float32. */
TC_API tc_tensor *tc_arange(double start, double end, double step, const tc_options *opt);
TC_API tc_tensor *tc_linspace(double start, double end, int64_t steps, const tc_options *opt);
TC_API tc_tensor *tc_logspace(double start, double end, int64_t steps, double base, const tc_options *opt);
/* n x m identity (m < 0 means m = n). */
TC_API tc_tensor *tc_eye(int64_t n, int64_t m, const tc_options *opt);

/* *_like: same shape, dtype and device as t unless opt is given. */
TC_API tc_tensor *tc_empty_like(const tc_tensor *t, const tc_options *opt);
TC_API tc_tensor *tc_zeros_like(const tc_tensor *t, const tc_options *opt);
TC_API tc_tensor *tc_ones_like(const tc_tensor *t, const tc_options *opt);
TC_API tc_tensor *tc_full_like(const tc_tensor *t, double value, const tc_options *opt);
TC_API tc_tensor *tc_rand_like(const tc_tensor *t, const tc_options *opt);
TC_API tc_tensor *tc_randn_like(const tc_tensor *t, const tc_options *opt);

/* In-place random fills (gen NULL = default generator). */
TC_API tc_status tc_uniform_inplace(tc_tensor *t, double from, double to, tc_generator *gen);
TC_API tc_status tc_normal_inplace(tc_tensor *t, double mean, double std, tc_generator *gen);
TC_API tc_status tc_bernoulli_inplace(tc_tensor *t, double p, tc_generator *gen);
/* New tensor of 0/1 drawn with probabilities `p` (same shape and dtype as p). */
TC_API tc_tensor *tc_bernoulli(const tc_tensor *p, tc_generator *gen);

/* ---- views (share storage) ------------------------------------------------------------------- */
/* One size may be -1 (inferred). view fails when the strides do not allow it; reshape copies then. */
TC_API tc_tensor *tc_view(const tc_tensor *t, const int64_t *shape, int64_t ndim);
TC_API tc_tensor *tc_reshape(const tc_tensor *t, const int64_t *shape, int64_t ndim);
TC_API tc_tensor *tc_permute(const tc_tensor *t, const int64_t *dims, int64_t ndim);
TC_API tc_tensor *tc_transpose(const tc_tensor *t, int64_t dim0, int64_t dim1);
TC_API tc_tensor *tc_t(const tc_tensor *t); /* 0-d, 1-d unchanged; 2-d transposed */
/* Broadcast to shape (stride 0 on expanded dims); -1 keeps a size. */
TC_API tc_tensor *tc_expand(const tc_tensor *t, const int64_t *shape, int64_t ndim);
TC_API tc_tensor *tc_expand_as(const tc_tensor *t, const tc_tensor *other);
TC_API tc_tensor *tc_squeeze(const tc_tensor *t);                 /* all size-1 dims */
TC_API tc_tensor *tc_squeeze_dim(const tc_tensor *t, int64_t dim); /* no-op if size != 1 */
TC_API tc_tensor *tc_unsqueeze(const tc_tensor *t, int64_t dim);
TC_API tc_tensor *tc_narrow(const tc_tensor *t, int64_t dim, int64_t start, int64_t length);
TC_API tc_tensor *tc_select(const tc_tensor *t, int64_t dim, int64_t index);
/* t[start:end:step] along dim, Python semantics: negative start/end count back, out-of-range
 * bounds clamp; step > 0. Use TC_END for an omitted end. */
TC_API tc_tensor *tc_slice(const tc_tensor *t, int64_t dim, int64_t start, int64_t end, int64_t step);
TC_API tc_tensor *tc_flatten(const tc_tensor *t, int64_t start_dim, int64_t end_dim);
TC_API tc_tensor *tc_unflatten(const tc_tensor *t, int64_t dim, const int64_t *sizes, int64_t nsizes);
TC_API tc_status tc_chunk(const tc_tensor *t, int64_t chunks, int64_t dim, tc_tensor_list *out);
TC_API tc_status tc_split(const tc_tensor *t, int64_t split_size, int64_t dim, tc_tensor_list *out);
TC_API tc_status tc_split_sizes(const tc_tensor *t, const int64_t *sizes, int64_t nsizes, int64_t dim,
                                tc_tensor_list *out);
TC_API tc_status tc_unbind(const tc_tensor *t, int64_t dim, tc_tensor_list *out);
/* A view sharing storage, shape and strides (autograd detaches here). */
TC_API tc_tensor *tc_detach(const tc_tensor *t);
/* t itself (a new reference) when already contiguous, else a contiguous copy. */
TC_API tc_tensor *tc_contiguous(const tc_tensor *t);
/* A contiguous copy with its own storage. */
TC_API tc_tensor *tc_clone(const tc_tensor *t);

/* ---- conversion and copying ------------------------------------------------------------------ */
/* A copy converted to dtype (a new reference to t when the dtype already matches). Float to int
 * truncates toward zero; to bool is (x != 0), as PyTorch. */
TC_API tc_tensor *tc_to_dtype(const tc_tensor *t, tc_dtype dtype);
/* A copy on `device` (a new reference to t when already there). */
TC_API tc_tensor *tc_tensor_to(const tc_tensor *t, tc_device device);
/* dst[...] = src, broadcasting src to dst's shape and converting dtype (dst is not broadcast);
 * src may live on another device (it is copied over first). */
TC_API tc_status tc_copy_inplace(tc_tensor *dst, const tc_tensor *src);
TC_API tc_status tc_fill_inplace(tc_tensor *t, double value);
TC_API tc_status tc_zero_inplace(tc_tensor *t);

/* The value of a one-element tensor. */
TC_API tc_status tc_item_double(const tc_tensor *t, double *out);
TC_API tc_status tc_item_int64(const tc_tensor *t, int64_t *out);
/* Copies all elements, row-major, in t's dtype, into buf (nbytes >= numel * element size). */
TC_API tc_status tc_tensor_copy_to_buffer(const tc_tensor *t, void *buf, size_t nbytes);

#ifdef __cplusplus
}
#endif
#endif
