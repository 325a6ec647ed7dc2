/* core/src/internal.h — definitions shared by the core's source files (not installed).
 *
 * Tensor layout: a tc_tensor holds sizes, element strides, an element offset and a dtype over a
 * refcounted tc__storage. Views are new tc_tensor structs pointing at the same storage.
 * Naming: internal functions are tc__name (double underscore) and are not exported.
 */
#ifndef CTORCH_INTERNAL_H
#define CTORCH_INTERNAL_H

#include <stdatomic.h>
#include <stdarg.h>
#include <string.h>
#include "ctorch/ctorch.h"
#include "device_abi.h"

typedef struct tc__storage {
  atomic_long refcount;
  void *data;           /* device memory; NULL when nbytes == 0 */
  size_t nbytes;
  tc_device device;
  /* Owner of `data`: NULL means ctorch's allocator for `device`; else the caller's deleter
   * (from_blob), called with deleter_ctx. from_blob without a deleter sets `borrowed`. */
  void (*deleter)(void *data, void *ctx);
  void *deleter_ctx;
  bool borrowed;
  atomic_ulong version; /* bumped by in-place writes; autograd checks saved tensors against it */
  /* The root tensor: the one created with this storage (tc__empty, from_blob). Views of it reach
   * its geometry and its autograd state through the storage, so an in-place write into a view can
   * rewrite the root's history (CopySlices) without views holding the root tensor alive. */
  int root_ndim;
  int64_t root_offset;
  int64_t root_sizes[TC_MAX_DIMS], root_strides[TC_MAX_DIMS];
  void *root_meta;      /* the root's autograd state: a weak pointer while the root tensor owns it, */
  bool root_meta_owned; /* or owned here when an in-place write into a view created it */
} tc__storage;

struct tc_tensor {
  atomic_long refcount;
  tc__storage *storage;
  tc_dtype dtype;
  int ndim;
  int64_t offset; /* elements */
  int64_t sizes[TC_MAX_DIMS];
  int64_t strides[TC_MAX_DIMS]; /* elements */
  atomic_int scoped;            /* 1 while a scope holds this tensor's creation reference */
  void *autograd;               /* autograd metadata (grad_fn, grad, requires_grad); NULL if none */
  bool is_root;                 /* created with its storage (see tc__storage.root_*) */
  bool is_view;                 /* made by a view op (slice, select, view, ...): in-place writes into
                                   it rewrite the root's history */
};

/* ---- errors (error.c) ------------------------------------------------------------------------ */
/* Sets the thread's error; returns code. */
tc_status tc__error(tc_status code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* For a NULL argument: keeps an earlier message (propagation) or sets "fn: name is NULL". */
tc_status tc__null_arg(const char *fn, const char *name);
/* Shape as "[2, 3]" in a thread-local rotating buffer (8 slots): valid for a few calls. */
const char *tc__shape_str(const int64_t *sizes, int ndim);
const char *tc__tshape(const tc_tensor *t);
void tc__log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define TC__NONNULL_T(t, fn)                 \
  do {                                       \
    if (!(t)) {                              \
      tc__null_arg(fn, #t);                  \
      return NULL;                           \
    }                                        \
  } while (0)
#define TC__NONNULL_S(t, fn)                 \
  do {                                       \
    if (!(t)) return tc__null_arg(fn, #t);   \
  } while (0)

/* Internal invariant (a bug in ctorch, never user input): aborts with a message. */
#define TC_ASSERT(cond)                                                                  \
  do {                                                                                   \
    if (!(cond)) tc__assert_fail(#cond, __FILE__, __LINE__);                             \
  } while (0)
_Noreturn void tc__assert_fail(const char *cond, const char *file, int line);

/* ---- host memory (alloc.c): counted by the debug allocator, can be made to fail ------------- */
void *tc__malloc(size_t n);  /* sets TC_ERR_NOMEM message on failure */
void *tc__calloc(size_t n);
void *tc__realloc(void *p, size_t n);
void tc__free(void *p);
char *tc__strdup(const char *s);
/* 64-byte aligned allocations for tensor data. */
void *tc__aligned_alloc(size_t n);
void tc__aligned_free(void *p);

/* ---- devices and backends (device.c) ---------------------------------------------------------
 * Each device type has a tc__device_api (device_abi.h); the CPU's is built in, CUDA's comes from
 * libctorch_cuda when first asked for. */
/* The API for a device, or NULL with an error set (e.g. CUDA not available). */
const tc__device_api *tc__device_api_for(tc_device d, const char *fn);
tc_status tc__check_device(const char *fn, tc_device d);
/* TC_ERR_UNSUPPORTED unless t is on the CPU (ops whose kernels exist only for the CPU so far). */
/* PyTorch lets a 0-d CPU tensor combine with a tensor on a device, as a scalar: when t is 0-d on
 * the CPU and other is on a device, t moved there (a recorded copy: its gradient comes back; a new
 * reference, NULL on failure) with *moved set; else t itself, *moved false. */
tc_tensor *tc__scalar_to_device_of(const tc_tensor *t, const tc_tensor *other, bool *moved);
tc_status tc__require_cpu(const char *fn, const tc_tensor *t);
/* The backend of a tensor's device: NULL for the CPU (whose kernels are called directly). */
const tc__device_api *tc__backend(const tc_tensor *t);
/* Sets "fn: no kernel for device X in this build" (TC_ERR_UNSUPPORTED). */
tc_status tc__kernel_missing(const char *fn, const tc_tensor *t);
/* Device-generic elementwise copy (converting dtype; src may be an expanded view) and fill, on
 * dst's device (both tensors on one device). */
tc_status tc__copy(tc_tensor *dst, const tc_tensor *src);
tc_status tc__fill(tc_tensor *t, double v);

/* ---- storage and tensors (tensor.c) ----------------------------------------------------------- */
tc__storage *tc__storage_new(size_t nbytes, tc_device device);
void tc__storage_retain(tc__storage *s);
void tc__storage_release(tc__storage *s);

/* A new contiguous tensor, uninitialised, recorded in the current scope. */
tc_tensor *tc__empty(const int64_t *sizes, int ndim, tc_dtype dtype, tc_device device);
/* A new tensor struct over base's storage (retained), recorded in the current scope. */
tc_tensor *tc__view(const tc_tensor *base, const int64_t *sizes, const int64_t *strides, int ndim, int64_t offset);
/* Drops a tensor's (or a storage's) reference to its autograd state (autograd/node.c). */
void tc__autograd_free(tc_tensor *t);
void tc__autograd_meta_unref(void *meta);
/* Makes t the root of its storage (records its geometry there). */
void tc__mark_root(tc_tensor *t);
/* Records a fresh tensor in the current scope (tensor.c calls it for every tensor it makes). */
void tc__scope_record(tc_tensor *t);
void tc__scope_forget(tc_tensor *t);
/* Stops recording new tensors in scopes on this thread (returns the previous state for resume);
 * code that owns every reference it makes (the autograd engine) runs paused. */
int tc__scope_pause(void);
void tc__scope_resume(int was);

int64_t tc__numel(const int64_t *sizes, int ndim);
void tc__contiguous_strides(const int64_t *sizes, int ndim, int64_t *strides);
bool tc__is_contiguous(const tc_tensor *t);
/* Pointer to element [0,..,0] of a CPU tensor. */
static inline char *tc__ptr(const tc_tensor *t) {
  return (char *)t->storage->data + t->offset * (int64_t)tc_dtype_size(t->dtype);
}
static inline bool tc__is_cpu(const tc_tensor *t) { return t->storage->device.type == TC_DEVICE_CPU; }
static inline int tc__dev_index(const tc_tensor *t) { return t->storage->device.index; }
static inline void tc__bump_version(tc_tensor *t) {
  atomic_fetch_add_explicit(&t->storage->version, 1, memory_order_relaxed);
}
/* Wraps a possibly negative dim into [0, ndim) (ndim 0 accepts -1 and 0, as PyTorch). */
tc_status tc__wrap_dim(const char *fn, int64_t *dim, int64_t ndim);
/* tc_options with defaults resolved. */
tc_dtype tc__opt_dtype(const tc_options *opt, tc_dtype dflt);
tc_device tc__opt_device(const tc_options *opt);
/* Options for a *_like factory: t's dtype and device unless opt overrides them (create.c). */
tc_options tc__like_opts(const tc_tensor *t, const tc_options *opt);

/* ---- shapes and broadcasting (shape.c) ---------------------------------------------------------- */
/* out = broadcast(a, b); message names both shapes on failure. */
tc_status tc__broadcast_shapes(const char *fn, const int64_t *a, int na, const int64_t *b, int nb,
                               int64_t *out, int *nout);
/* A view of t expanded to sizes (stride 0 where broadcast); t must broadcast. */
tc_tensor *tc__expand_to(const tc_tensor *t, const int64_t *sizes, int ndim);
tc_status tc__check_same_device(const char *fn, const tc_tensor *a, const tc_tensor *b);

/* ---- dtypes (dtype.c) -------------------------------------------------------------------------- */
/* The dtype kernels compute in: f16/bf16 compute in f32 (then round back). */
static inline tc_dtype tc__compute_dtype(tc_dtype d) { return (d == TC_F16 || d == TC_BF16) ? TC_F32 : d; }
bool tc__dtype_valid(tc_dtype d);

/* ---- strided iteration over CPU tensors (iter.c) ---------------------------------------------
 * tc__foreach runs `loop` over all elements of nops same-shaped tensors (ops[0] is usually the
 * output; inputs may be expanded views with stride 0). Dims are coalesced; the innermost run is
 * handed to `loop` with byte strides per operand. Parallel over the pool when numel >= grain
 * (grain 0 = never). */
typedef void (*tc__loop_fn)(char **ptrs, const int64_t *strides, int64_t n, void *ctx);
void tc__foreach(int nops, const tc_tensor *const *ops, tc__loop_fn loop, void *ctx, int64_t grain);
/* The same coalesced iteration as a device-neutral plan (device_abi.h) for backend kernels. */
void tc__kplan_make(int nops, const tc_tensor *const *ops, tc__kplan *kp);
/* Default parallel grain for cheap elementwise work. */
#define TC__GRAIN_ELEMENTWISE 32768

/* ---- conversion (convert.c) -------------------------------------------------------------------- */
/* Copies src into dst elementwise (same shape; src may be an expanded view), converting dtype.
 * Both on the same CPU device. */
void tc__cpu_copy(tc_tensor *dst, const tc_tensor *src);
/* Writes v (converted) to every element. */
void tc__cpu_fill(tc_tensor *t, double v);
/* Reads/writes one element as double (slow path for item(), printing and tests). */
double tc__load_double(const void *p, tc_dtype d);
void tc__store_double(void *p, tc_dtype d, double v);
int64_t tc__load_int64(const void *p, tc_dtype d);
/* Converts a double to int64 without undefined behaviour (NaN/out of range -> INT64_MIN, as x86). */
int64_t tc__double_to_i64(double v);
/* Makes a CPU tensor with the same contents on t's device as a new contiguous tensor of dtype. */
tc_tensor *tc__to_dtype_contig(const tc_tensor *t, tc_dtype dtype);
/* t itself (retained) when it is contiguous and of dtype, else a contiguous copy in dtype. */
tc_tensor *tc__contig_as(const tc_tensor *t, tc_dtype dtype);

/* ---- random (random.c) ------------------------------------------------------------------------- */
tc_generator *tc__gen_or_default(tc_generator *g);
void tc__gen_lock(tc_generator *g);
void tc__gen_unlock(tc_generator *g);
float tc__gen_uniform_f32(tc_generator *g);   /* as torch: 24 bits of one u32 */
double tc__gen_uniform_f64(tc_generator *g);  /* as torch: 53 bits of one u64 */

/* ---- parallel (parallel.c) --------------------------------------------------------------------- */
int tc__num_threads(void);
/* How BLAS reads a (rows, cols) row-major matrix with element strides (rs, cs): NoTrans with
 * ld = rs when columns are unit-stride, Trans with ld = cs when rows are; false when neither
 * holds and the operand must be copied (linalg.c; used by linalg and nn/linear). */
bool tc__blas_layout(int64_t rows, int64_t cols, int64_t rs, int64_t cs, bool *trans, int64_t *ld);
/* Sets OpenBLAS's own threads (linalg.c owns the OpenBLAS link). */
void tc__blas_set_threads(int n);
/* Row-major C(m, n) = op(A) op(B) + beta * C (f32/f64, BLAS leading dimensions), tiled over the
 * pool when called outside a parallel region (results bit-identical to one BLAS call). */
void tc__gemm_rm(tc_dtype dt, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const void *a, int64_t lda,
                 const void *b, int64_t ldb, double beta, void *c, int64_t ldc);

#endif
