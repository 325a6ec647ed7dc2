/* core/src/device_abi.h — what crosses the boundary between the core and a device backend.
 *
 * The CUDA backend (libctorch_cuda) is a separate library that the core dlopens; it links no copy
 * of the core and is partly C++ (nvcc), so this header is plain C that also compiles as C++ and
 * holds only data layouts and function tables: no tensors, no core internals.
 *
 *   - tc__kplan: an elementwise iteration over up to TC__MAX_OPS same-shaped strided operands
 *     (operand 0 is the output), with size-1 dims dropped and contiguous dims merged. The core
 *     builds it (iter.c, tc__kplan_make); a backend only walks it.
 *   - the op enums of ops/unary.def and ops/binary.def, and the per-call constants of those ops;
 *   - tc__device_api: memory, copies and kernels of one device type. A kernel a backend lacks is
 *     NULL and the core reports TC_ERR_UNSUPPORTED.
 */
#ifndef CTORCH_DEVICE_ABI_H
#define CTORCH_DEVICE_ABI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ctorch/dtype.h"
#include "ctorch/status.h"
#include "ctorch/optim.h"  /* tc_optim_kind */
#include "ctorch/tensor.h" /* TC_MAX_DIMS */

#ifdef __cplusplus
extern "C" {
#endif

#define TC__MAX_OPS 4

/* ---- the elementwise op tables --------------------------------------------------------------- */
typedef enum {
#define TC_UNARY_FLOAT(name, f32, f64) TC__UN_##name,
#define TC_UNARY_SAME(name, f32, f64, iexpr, bool_ok) TC__UN_##name,
#define TC_UNARY_PRED(name, f32, f64, iexpr) TC__UN_##name,
#include "ops/unary.def"
  TC__UN_COUNT
} tc__unary_op;

typedef enum {
#define TC_BINARY_ARITH(name, f32, f64, iexpr, bexpr) TC__BIN_##name,
#define TC_BINARY_CMP(name, op) TC__BIN_##name,
#include "ops/binary.def"
  TC__BIN_COUNT
} tc__binary_op;

/* Per-call constants for binary kernels (alpha of add/sub in each compute type). */
typedef struct {
  float af;
  double ad;
  int64_t ai;
} tc__binary_ctx;

/* Clamp to [lo, hi] (f32/f64 use lo/hi, integers ilo/ihi). NaN inputs stay NaN. */
typedef struct {
  double lo, hi;
  int64_t ilo, ihi;
  bool has_lo, has_hi;
} tc__clamp_ctx;

/* ---- an elementwise iteration ------------------------------------------------------------------ */
typedef struct tc__kplan {
  int nops;  /* operands; 0 is the output */
  int ndim;  /* after dropping size-1 dims and merging contiguous ones; 0 = one element */
  int64_t numel;
  int64_t sizes[TC_MAX_DIMS];                /* innermost last */
  int64_t strides[TC__MAX_OPS][TC_MAX_DIMS]; /* elements, per operand (0 where broadcast) */
  void *data[TC__MAX_OPS];                   /* element [0, ..., 0] of each operand */
  tc_dtype dtype[TC__MAX_OPS];
} tc__kplan;

/* Reduction kinds of the device row-reduce kernel (input (rows, n) contiguous -> out (rows)). */
typedef enum { TC__RED_SUM = 0, TC__RED_MEAN, TC__RED_MAX, TC__RED_MIN, TC__RED_PROD } tc__red_kind;

/* One parameter's fused optimizer update (optim/optim_kernels.c prepares it; optim_update.h holds
 * the per-element formulas both devices run). p, g and the state buffers s0..s2 are contiguous,
 * of one dtype (f32 or f64), on one device. */
typedef struct {
  double a, b, c, d, e, f, h; /* the kind's scalars (optim_update.h) */
} tc__optim_scal;
typedef struct {
  tc_optim_kind kind;
  int flags;
  tc_dtype dtype;
  char *p;
  const char *g;
  char *s0, *s1, *s2;
  tc__optim_scal k;
  int64_t n;     /* elements */
  int64_t start; /* offset of this parameter in the concatenation of all jobs (set by the runner) */
} tc__optim_job;

/* Memory statistics of one device's caching allocator, in bytes. */
typedef struct {
  int64_t allocated, reserved, peak_allocated, peak_reserved;
  int64_t alloc_calls, device_allocs; /* requests served, and those that reached the driver */
} tc__mem_stats;

/* A 2-D convolution, every option resolved (nn/conv.c): input (N, C, H, W), weight (OC, C/G, KH, KW),
 * output (N, OC, OH, OW), all contiguous; symmetric zero padding (ph, pw). allow_tf32: TF32 tensor
 * cores for float32 (torch.backends.cudnn.allow_tf32); benchmark: time the candidate algorithms
 * once per shape (torch.backends.cudnn.benchmark) instead of taking the heuristic's first. Only
 * deterministic algorithms are used. */
typedef struct {
  int64_t N, C, H, W, OC, G, KH, KW, OH, OW;
  int64_t sh, sw, dh, dw, ph, pw;
  bool allow_tf32, benchmark;
} tc__conv_desc;

/* 2-D pooling over B contiguous planes (IH, IW) -> (OH, OW) (nn/pool.c has the geometry rules).
 * kind: 0 max (idx: flat h*IW + w of the first maximum of the window, a NaN wins), 1 average
 * (count_include_pad, divisor: 0 none), 2 adaptive average (rows [floor(o*IH/OH),
 * ceil((o+1)*IH/OH)), likewise columns). */
typedef struct {
  int kind;
  int64_t B, IH, IW, OH, OW;
  int64_t kH, kW, sH, sW, pH, pW, dH, dW;
  bool count_include_pad;
  int64_t divisor;
} tc__pool_desc;

#define TC__COPY_ASYNC 16

/* ---- one device type's backend ------------------------------------------------------------------ */
typedef tc_status (*tc__set_error_fn)(tc_status code, const char *fmt, ...);

typedef struct tc__device_api {
  /* sizeof(tc__device_api) as the backend was built: the core refuses a backend built against
   * another layout of this table (an older libctorch_cuda found on the loader's path). */
  size_t struct_size;
  /* memory: alloc sets an error (TC_ERR_NOMEM when the device is full) and returns NULL on failure */
  void *(*alloc)(size_t nbytes, int index);
  void (*free)(void *p, int index);
  /* Copies nbytes between host and device or device and device (kind: 0 h2d, 1 d2h, 2 d2d), on
   * the current stream; h2d and d2h wait for the copy unless kind has TC__COPY_ASYNC (pinned host
   * memory: the caller synchronizes before reading or reusing the host buffer). */
  tc_status (*memcpy)(void *dst, const void *src, size_t nbytes, int kind, int index);
  int (*device_count)(void);

  /* The rest is NULL on the CPU (whose kernels the core calls directly). */
  tc_status (*synchronize)(int index);
  void (*mem_stats)(int index, tc__mem_stats *out);
  void (*reset_peak)(int index);
  void (*empty_cache)(int index);
  /* Pinned (page-locked) host memory for fast and asynchronous copies. */
  void *(*host_alloc)(size_t nbytes);
  void (*host_free)(void *p);

  /* Elementwise kernels over a plan (operand 0 the output). unary/binary compute in `compute`
   * (f32, f64 or an integer/bool type; f16/bf16 operands are converted on the fly); predicates
   * and comparisons write bool. copy converts operand 1 into operand 0's dtype; fill writes v. */
  tc_status (*unary)(int index, tc__unary_op op, tc_dtype compute, const tc__kplan *p);
  tc_status (*binary)(int index, tc__binary_op op, tc_dtype compute, const tc__kplan *p, const tc__binary_ctx *c);
  tc_status (*clamp)(int index, tc_dtype compute, const tc__kplan *p, const tc__clamp_ctx *c);
  tc_status (*copy)(int index, const tc__kplan *p);
  tc_status (*fill)(int index, const tc__kplan *p, double v, int64_t iv);

  /* gather / scatter in elementwise form over a plan {out or dst, src, idx (int32/int64)}:
   * out[i] = src[i + idx[i] * mul], dst[i + idx[i] * mul] = src[i] (mul: elements). */
  tc_status (*index_gather)(int index, const tc__kplan *p, int64_t mul);
  tc_status (*index_scatter)(int index, const tc__kplan *p, int64_t mul);

  /* select over a plan {out, cond (bool/uint8), a, b} of one element size es (1, 2, 4 or 8 bytes,
   * so every dtype): out[i] = cond[i] ? a[i] : b[i]. where, masked_fill (a: a broadcast scalar)
   * and the in-place forms (b is out) run on it. */
  tc_status (*select)(int index, const tc__kplan *p, int es);

  /* Inclusive scan (prod: cumprod, else cumsum) along the middle dim of contiguous (outer, d,
   * inner) data, in and out of dtype dt (f32, f64 or i64); each line runs in order, so results
   * are deterministic. wide: float32 lines accumulate in float64 (the CPU's rule for float32
   * input; f16/bf16 input, widened to float32 by the core, accumulates in float32). i64 wraps. */
  tc_status (*scan)(int index, bool prod, tc_dtype dt, bool wide, const void *in, void *out, int64_t outer,
                    int64_t d, int64_t inner);

  /* Philox4x32-10 Bernoulli draws into contiguous noise (n elements, f32/f64/f16/bf16):
   * keep_value where u < keep_prob, else 0; u from the counter (element / 4, offset) under seed.
   * A draw spans (n + 3) / 4 counters: the caller advances its offset by that much. */
  tc_status (*bernoulli_scaled)(int index, tc_dtype dt, void *noise, int64_t n, double keep_prob, double keep_value,
                                uint64_t seed, uint64_t offset);

  /* in (rows, n) contiguous of dtype -> out (rows) of out_dtype, in a fixed order (bit-identical
   * from run to run); f16/bf16 accumulate in f32, f32 in f32 with a tree, integers in int64. */
  tc_status (*reduce_rows)(int index, tc__red_kind kind, tc_dtype dtype, const void *in, int64_t rows, int64_t n,
                           tc_dtype out_dtype, void *out);

  /* max (is_max) or min of each row of a contiguous (rows, n) tensor with the first index of the
   * extreme (a NaN wins): val (rows) in dtype (may be NULL), idx (rows) int64. */
  tc_status (*arg_reduce_rows)(int index, bool is_max, tc_dtype dtype, const void *in, int64_t rows, int64_t n,
                               void *val, int64_t *idx);

  /* softmax (log: log_softmax) over the last dim of a contiguous (rows, d) tensor of dtype
   * (f32/f64/f16/bf16; the half types computed in f32), out the same layout and dtype. */
  tc_status (*softmax)(int index, tc_dtype dtype, const void *in, void *out, int64_t rows, int64_t d, bool log);

  /* cross_entropy (nll false) or nll_loss with class targets over (N, C, S) contiguous x of dtype
   * (f32/f64), P = N * S positions, t int64 (P), w (C) or NULL; forward writes loss, wt (the
   * target's weight) and lse per position; backward writes gx (N, C, S) from g (g_stride 0: a
   * scalar). See cuda/loss.cu. */
  tc_status (*class_loss_fwd)(int index, tc_dtype dt, bool nll, const void *x, const int64_t *t, const void *w,
                              int64_t P, int64_t C, int64_t S, int64_t ignore, double eps, double W, void *loss,
                              void *wt, void *lse);
  tc_status (*class_loss_bwd)(int index, tc_dtype dt, bool nll, const void *x, const int64_t *t, const void *w,
                              const void *lse, int64_t P, int64_t C, int64_t S, int64_t ignore, double eps, double W,
                              const void *g, int64_t g_stride, void *gx);

  /* layer norm over contiguous (M, K) rows of dtype (f32/f64); w, b (K) or NULL; mean and rstd
   * (M) written by the forward for the backward; gx/gw/gb NULL when not wanted. */
  tc_status (*layer_norm_fwd)(int index, tc_dtype dt, const void *x, const void *w, const void *b, int64_t M,
                              int64_t K, double eps, void *y, void *mean, void *rstd);
  tc_status (*layer_norm_bwd)(int index, tc_dtype dt, const void *x, const void *g, const void *w, const void *mean,
                              const void *rstd, int64_t M, int64_t K, void *gx, void *gw, void *gb);

  /* Runs optimizer updates (all on this device) in one launch. */
  tc_status (*optim_run)(int index, const tc__optim_job *jobs, int64_t njobs);

  /* C[b] = alpha * op(A[b]) @ op(B[b]) + beta * C[b] for b < batch, column-major as BLAS (the core
   * swaps operands for row-major), f32/f64/f16/bf16. TF32 only when allow_tf32. */
  tc_status (*gemm)(int index, tc_dtype dtype, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                    double alpha, const void *a, int64_t lda, int64_t stride_a, const void *b, int64_t ldb,
                    int64_t stride_b, double beta, void *c, int64_t ldc, int64_t stride_c, int64_t batch,
                    bool allow_tf32);

  /* dst[i + idx[i] * mul] += alpha * src[i] over a plan {dst, src, idx (int32/int64)}, with no
   * atomics: the additions to one element are summed in the order of i (the plan's element order)
   * in float32 (f16/bf16/f32), float64 or int64, then added to the element with one rounding.
   * extent: elements reachable from dst's data pointer (every target offset is in [0, extent)). */
  tc_status (*index_scatter_add)(int index, const tc__kplan *p, int64_t mul, double alpha, int64_t extent);

  /* Convolution (cuDNN where the backend has it; TC_ERR_UNSUPPORTED with a message otherwise) on
   * f32/f64/f16/bf16 tensors laid out as tc__conv_desc says. conv_fwd adds b (OC) when not NULL;
   * the backward entries write gx (x's shape) and gw (w's shape) from gy. (The bias gradient is a
   * sum the core's deterministic reduction computes.) */
  tc_status (*conv_fwd)(int index, tc_dtype dt, const tc__conv_desc *d, const void *x, const void *w, const void *b,
                        void *y);
  /* Whether conv_fwd and the backward entries can run (cuDNN found and loaded; loads it on the first
   * call). Without them the core composes convolutions of other device ops. */
  bool (*conv_available)(void);
  tc_status (*conv_bwd_data)(int index, tc_dtype dt, const tc__conv_desc *d, const void *gy, const void *w, void *gx);
  tc_status (*conv_bwd_filter)(int index, tc_dtype dt, const tc__conv_desc *d, const void *gy, const void *x,
                               void *gw);

  /* Pooling on f32/f64 planes (max pooling also on the integer dtypes): y (B, OH, OW); idx
   * (B, OH, OW) int64 for max (never NULL for max).
   * The backward writes every element of gx (B, IH, IW) in a fixed order (no atomics). */
  tc_status (*pool_fwd)(int index, tc_dtype dt, const tc__pool_desc *d, const void *x, void *y, int64_t *idx);
  tc_status (*pool_bwd)(int index, tc_dtype dt, const tc__pool_desc *d, const void *gy, const int64_t *idx, void *gx);

  /* Batch norm over contiguous x (N, C, S) of dtype f32/f64, per channel c; w, b, rm, rv (C) of dt
   * or NULL. training: normalise with the batch's mean and biased variance, write them to mean and
   * invstd (C) = 1/sqrt(var + eps), and when rm/rv are given update them in place:
   * r = (1 - momentum) r + momentum * stat, with the unbiased variance. Not training: normalise
   * with rm/rv and write those mean/invstd. Statistics are reduced in a fixed order. */
  tc_status (*batch_norm_fwd)(int index, tc_dtype dt, const void *x, int64_t N, int64_t C, int64_t S, const void *w,
                              const void *b, void *rm, void *rv, bool training, double momentum, double eps, void *y,
                              void *mean, void *invstd);
  /* gx (N, C, S), gw and gb (C) from gy, each NULL when not wanted; mean/invstd as the forward
   * wrote them; training: gx includes the batch statistics' dependence on x. */
  tc_status (*batch_norm_bwd)(int index, tc_dtype dt, const void *x, const void *gy, int64_t N, int64_t C, int64_t S,
                              const void *w, const void *mean, const void *invstd, bool training, void *gx, void *gw,
                              void *gb);

  /* Streams and events (opaque handles of the device's runtime). The current stream is per thread
   * and device (NULL: the device's default stream); every kernel and copy goes to it. */
  void *(*stream_create)(int index);
  void (*stream_destroy)(int index, void *stream);
  tc_status (*stream_set_current)(int index, void *stream);
  void *(*stream_get_current)(int index); /* NULL: the default stream */
  tc_status (*stream_synchronize)(int index, void *stream); /* NULL: the default stream */
  tc_status (*stream_wait_event)(int index, void *stream, void *event);
  void *(*event_create)(int index, bool timing);
  void (*event_destroy)(int index, void *event);
  tc_status (*event_record)(int index, void *event, void *stream); /* stream NULL: the current one */
  tc_status (*event_synchronize)(int index, void *event);
  int (*event_query)(int index, void *event); /* 1 done, 0 pending, < 0 error (set) */
  tc_status (*event_elapsed_ms)(int index, void *start, void *end, double *ms);
} tc__device_api;

#ifdef __cplusplus
}
#endif
#endif
