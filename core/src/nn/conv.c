/* core/src/nn/conv.c — conv1d/conv2d forward and backward on the CPU (im2col + OpenBLAS GEMM).
 *
 * Every convolution is resolved once (tc__conv_resolve: checks, 'same'/'valid'/defaults) into a
 * tc__conv_geom, shared by forward and backward; conv1d is conv2d with H = 1. Layout: x (N, C, H,
 * W), w (OC, Cg, KH, KW), y (N, OC, OH, OW), all made contiguous in the compute dtype first (f32
 * or f64; f16/bf16 compute in f32 and round the results back, as PyTorch).
 *
 * Per group gi (C = G*Cg, OC = G*OCg), with CK = Cg*KH*KW and L = OH*OW:
 *   forward  y[n, gi] (OCg, L)  = w[gi] (OCg, CK) x col (CK, L)      col = im2col(x[n, gi])
 *   grad_w   gw[gi]^T (CK, OCg) += col (CK, L) x gy[n, gi]^T (L, OCg)  summed over n (this
 *            orientation runs faster in OpenBLAS than gy x col^T; transposed back at the end)
 *   grad_x   gx[n, gi]          = col2im(w[gi]^T (CK, OCg) x gy[n, gi])
 *   grad_b   gb[o]              = sum over n and L of gy[n, o]
 * Paths:
 *   - 3x3, stride 1, dilation 1, at least 16 channels per group: Winograd F(2x2, 3x3)
 *     (conv_winograd.h), 2.25x fewer multiplications: the forward, grad_x (the convolution of
 *     grad_out with the flipped kernels) and, for planes of 128+ tiles, grad_w (F(3x3, 2x2)).
 *   - 1x1, stride 1, no padding: x[n, gi] (Cg, L) is its own column matrix: plain GEMMs.
 *   - depthwise (Cg == 1 with several groups): a stencil per plane over a zero-padded copy of
 *     the plane (no GEMM: per group it would be a matrix-vector product). A single-group Cg == 1
 *     convolution (LeNet's first layer) takes the GEMM path.
 *   - otherwise im2col into a per-thread buffer reused across samples. Large planes are cut into
 *     tiles of output rows whose column buffer (tc__conv_tile_bytes) stays in L2; tiny planes
 *     (L < 64) are batched, B samples per GEMM. With zero padding, im2col first copies the input
 *     rows a tile reads into a padded buffer and col2im accumulates into padded planes, so their
 *     loops have no bounds checks.
 *
 * Threads: OpenBLAS runs single-threaded (linalg.c's policy: tc__blas_set_threads pins it to one
 * thread; the pool and OpenBLAS never run multithreaded together) and ctorch's pool splits the
 * work: forward over (sample, row tile) units, depthwise over planes, backward over parts of the
 * batch. grad_w sums over the batch: the samples are cut into P parts, P chosen from the shapes
 * only, each part sums into its own buffer, and the parts are added in order — so results do not
 * depend on the thread count. All memory is allocated before the parallel region (nothing in a
 * task can fail): one scratch slot per concurrently running task, claimed with an atomic flag.
 */
#include <cblas.h>
#include <limits.h>
#include <sched.h>
#include "nn/conv_internal.h"

/* GCC turns short copy loops back into memcpy calls, which cost more than the copy for the
 * few-element rows of small images. */
#if defined(__GNUC__) && !defined(__clang__)
#define CONV_NO_MEMCPY_PATTERN __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define CONV_NO_MEMCPY_PATTERN
#endif
/* The stencil kernels may fuse multiply-adds (strict -std=c11 turns contraction off); the
 * results stay independent of the thread count. */
#if defined(__GNUC__) && !defined(__clang__)
#define CONV_FMA __attribute__((optimize("fp-contract=fast")))
#else
#define CONV_FMA
#endif

/* ---- plan and shared state of one call ------------------------------------------------------- */
typedef struct {
  const tc__conv_geom *g;
  int64_t CK, L;  /* Cg*KH*KW, OH*OW */
  bool x_is_col;  /* 1x1, stride 1, no padding */
  bool direct;    /* Cg == 1 stencil path */
  int64_t B;      /* samples per unit (B > 1 only for whole small planes) */
  int64_t TR, T;  /* output rows per tile, tiles per plane (T > 1 only when B == 1) */
  int64_t U;      /* sample units: ceil(N / B); the forward runs U * T units (sample unit, tile) */
  int64_t P;      /* parts of the backward (unit ranges) */
  const void *x, *w, *b, *gy;
  void *y, *gx, *gw;
  bool need_x, need_w;
  char *partials; /* P grad_w-sized buffers (grad_w's layout), part p's sum; grad_w itself when P == 1 */
  /* scratch slots: nslots buffers of slot_elems elements: the column buffer (col_elems), then at
   * element offsets tmp_off a GEMM result or stacked grad_out (B > 1), xp_off the padded input
   * rows of a tile, gxp_off padded grad_x planes (backward) */
  char *scratch;
  int64_t col_elems, tmp_off, xp_off, gxp_off, slot_elems;
  atomic_int *busy;
  /* Winograd F(2x2, 3x3): tiles per plane (TH x TW), tile rows per unit (TRB), units per plane
   * (NBLK), the transformed weights (16 per kernel, owned) */
  bool wino;
  int64_t wTH, wTW, wTRB, wNBLK;
  int64_t wB; /* samples per unit: > 1 only when a unit holds whole planes (wNBLK == 1) */
  void *wU;
  int nslots;
} conv_run;

static void *slot_acquire(conv_run *r, size_t es) {
  for (;;) {
    for (int i = 0; i < r->nslots; i++) {
      int expected = 0;
      if (atomic_compare_exchange_strong(&r->busy[i], &expected, 1))
        return r->scratch + (size_t)i * (size_t)r->slot_elems * es;
    }
    sched_yield(); /* only if the thread count grew since the slots were counted */
  }
}

static void slot_release(conv_run *r, void *p, size_t es) {
  int i = (int)(((char *)p - r->scratch) / ((ptrdiff_t)r->slot_elems * (ptrdiff_t)es));
  atomic_store(&r->busy[i], 0);
}

static int64_t part_start(const conv_run *r, int64_t p) { return p * r->U / r->P; }

#define CT float
#define CSUF f32
#include "nn/conv_kernels.h"
#include "nn/conv_tasks.h"
#include "nn/conv_winograd.h"
#undef CT
#undef CSUF
#define CT double
#define CSUF f64
#include "nn/conv_kernels.h"
#include "nn/conv_tasks.h"
#include "nn/conv_winograd.h"
#undef CT
#undef CSUF

/* ---- resolving a call ------------------------------------------------------------------------- */
static int64_t opt_or(int64_t v, int64_t dflt) { return v == 0 ? dflt : v; }

static bool conv_dtype_ok(tc_dtype d) { return d == TC_F32 || d == TC_F64 || d == TC_F16 || d == TC_BF16; }

/* Largest stride, padding or dilation accepted (keeps every size computation far from overflow). */
#define CONV_OPT_MAX ((int64_t)1 << 31)

tc_status tc__conv_resolve(const char *fn, int spatial, const tc_tensor *x, const tc_tensor *w, const tc_tensor *b,
                           const tc_conv_opts *opts, tc__conv_geom *g) {
  TC__NONNULL_S(x, fn);
  TC__NONNULL_S(w, fn);
  tc_status s;
  if ((s = tc__check_same_device(fn, x, w)) != TC_OK) return s;
  if (b && (s = tc__check_same_device(fn, x, b)) != TC_OK) return s;
  if (!conv_dtype_ok(x->dtype))
    return tc__error(TC_ERR_DTYPE, "%s: input must be float32, float64, float16 or bfloat16, got %s", fn,
                     tc_dtype_name(x->dtype));
  if (w->dtype != x->dtype)
    return tc__error(TC_ERR_DTYPE, "%s: input is %s but weight is %s (they must match)", fn, tc_dtype_name(x->dtype),
                     tc_dtype_name(w->dtype));
  if (b && b->dtype != x->dtype)
    return tc__error(TC_ERR_DTYPE, "%s: input is %s but bias is %s (they must match)", fn, tc_dtype_name(x->dtype),
                     tc_dtype_name(b->dtype));
  if (x->ndim != spatial + 1 && x->ndim != spatial + 2)
    return tc__error(TC_ERR_SHAPE, "%s: expected a %d-D (unbatched) or %d-D (batched) input, got input %s", fn,
                     spatial + 1, spatial + 2, tc__tshape(x));
  if (w->ndim != spatial + 2)
    return tc__error(TC_ERR_SHAPE, "%s: weight must be %d-D (C_out, C_in/groups, %s), got weight %s", fn, spatial + 2,
                     spatial == 1 ? "K" : "KH, KW", tc__tshape(w));
  memset(g, 0, sizeof *g);
  g->spatial = spatial;
  g->batched = x->ndim == spatial + 2;
  const int64_t *xs = x->sizes + (g->batched ? 0 : -1); /* xs[1] is C either way */
  g->N = g->batched ? x->sizes[0] : 1;
  g->C = xs[1];
  g->H = spatial == 2 ? xs[2] : 1;
  g->W = xs[spatial + 1];
  g->OC = w->sizes[0];
  g->KH = spatial == 2 ? w->sizes[2] : 1;
  g->KW = w->sizes[spatial + 1];

  tc_conv_opts o = opts ? *opts : (tc_conv_opts){0};
  int64_t st[2] = {opt_or(o.stride[0], 1), opt_or(o.stride[1], 1)};
  int64_t dl[2] = {opt_or(o.dilation[0], 1), opt_or(o.dilation[1], 1)};
  int64_t pd[2] = {o.padding[0], o.padding[1]};
  int64_t groups = opt_or(o.groups, 1);
  for (int i = 0; i < spatial; i++) {
    if (st[i] < 1 || st[i] > CONV_OPT_MAX)
      return tc__error(TC_ERR_ARG, "%s: stride must be positive (and at most 2^31), got %lld", fn, (long long)st[i]);
    if (dl[i] < 1 || dl[i] > CONV_OPT_MAX)
      return tc__error(TC_ERR_ARG, "%s: dilation must be positive (and at most 2^31), got %lld", fn,
                       (long long)dl[i]);
    if (o.padding_kind == TC_CONV_EXPLICIT && (pd[i] < 0 || pd[i] > CONV_OPT_MAX))
      return tc__error(TC_ERR_ARG, "%s: padding must be non-negative (and at most 2^31), got %lld", fn,
                       (long long)pd[i]);
  }
  if (groups < 1 || groups > CONV_OPT_MAX)
    return tc__error(TC_ERR_ARG, "%s: groups must be positive, got %lld", fn, (long long)groups);
  if (o.padding_kind != TC_CONV_EXPLICIT && o.padding_kind != TC_CONV_SAME && o.padding_kind != TC_CONV_VALID)
    return tc__error(TC_ERR_ARG, "%s: unknown padding_kind %d", fn, (int)o.padding_kind);
  if (g->KW < 1 || g->KH < 1)
    return tc__error(TC_ERR_SHAPE, "%s: weight %s has an empty kernel", fn, tc__tshape(w));
  if (g->KW > CONV_OPT_MAX || g->KH > CONV_OPT_MAX)
    return tc__error(TC_ERR_SHAPE, "%s: weight %s has a kernel larger than 2^31", fn, tc__tshape(w));
  if (g->OC % groups != 0)
    return tc__error(TC_ERR_SHAPE, "%s: weight %s has %lld output channels, not divisible by groups %lld", fn,
                     tc__tshape(w), (long long)g->OC, (long long)groups);
  if (w->sizes[1] * groups != g->C)
    return tc__error(TC_ERR_SHAPE, "%s: weight %s expects %lld input channels (groups %lld) but input %s has %lld", fn,
                     tc__tshape(w), (long long)(w->sizes[1] * groups), (long long)groups, tc__tshape(x),
                     (long long)g->C);
  if (b && (b->ndim != 1 || b->sizes[0] != g->OC))
    return tc__error(TC_ERR_SHAPE, "%s: bias must be 1-D with %lld elements (weight %s), got bias %s", fn,
                     (long long)g->OC, tc__tshape(w), tc__tshape(b));
  g->G = groups;
  g->Cg = w->sizes[1];
  g->OCg = g->OC / groups;
  /* spatial dim i of 2: index 0 is H, 1 is W; conv1d's only dim is W. */
  int64_t *stv[2] = {&g->sh, &g->sw}, *dlv[2] = {&g->dh, &g->dw}, *lo[2] = {&g->pt, &g->pl}, *hi[2] = {&g->pb, &g->pr};
  int64_t k[2] = {g->KH, g->KW};
  g->sh = g->dh = 1;
  for (int i = 0; i < spatial; i++) {
    int d = spatial == 2 ? i : 1;
    *stv[d] = st[i];
    *dlv[d] = dl[i];
    if (o.padding_kind == TC_CONV_SAME) {
      if (st[i] != 1)
        return tc__error(TC_ERR_ARG, "%s: padding 'same' needs stride 1, got stride %lld", fn, (long long)st[i]);
      int64_t total = dl[i] * (k[d] - 1);
      *lo[d] = total / 2; /* PyTorch puts the odd extra cell on the right/bottom */
      *hi[d] = total - total / 2;
    } else if (o.padding_kind == TC_CONV_EXPLICIT) {
      *lo[d] = *hi[d] = pd[i];
    }
  }
  int64_t in[2] = {g->H, g->W}, ksz[2], padded[2], out[2];
  for (int d = 0; d < 2; d++) {
    ksz[d] = *dlv[d] * (k[d] - 1) + 1;
    padded[d] = in[d] + *lo[d] + *hi[d];
    out[d] = padded[d] >= ksz[d] ? (padded[d] - ksz[d]) / *stv[d] + 1 : 0;
  }
  if (padded[0] < ksz[0] || padded[1] < ksz[1]) {
    if (spatial == 1)
      return tc__error(TC_ERR_SHAPE,
                       "%s: padded input size %lld is smaller than the dilated kernel size %lld (input %s, weight %s)",
                       fn, (long long)padded[1], (long long)ksz[1], tc__tshape(x), tc__tshape(w));
    return tc__error(TC_ERR_SHAPE,
                     "%s: padded input size (%lld x %lld) is smaller than the dilated kernel size (%lld x %lld) "
                     "(input %s, weight %s)",
                     fn, (long long)padded[0], (long long)padded[1], (long long)ksz[0], (long long)ksz[1],
                     tc__tshape(x), tc__tshape(w));
  }
  g->OH = out[0];
  g->OW = out[1];
  return TC_OK;
}

int tc__conv_out_shape(const tc__conv_geom *g, int64_t *shape) {
  int n = 0;
  if (g->batched) shape[n++] = g->N;
  shape[n++] = g->OC;
  if (g->spatial == 2) shape[n++] = g->OH;
  shape[n++] = g->OW;
  return n;
}

/* t as a contiguous tensor of dtype dt: t itself (retained) when it already is one. */
static tc_tensor *as_contig(const tc_tensor *t, tc_dtype dt) {
  if (t->dtype == dt && tc__is_contiguous(t)) return tc_tensor_retain((tc_tensor *)t);
  return tc__to_dtype_contig(t, dt);
}

/* A result computed in dtype dt handed back in `want` (consumes r). */
static tc_tensor *to_result(tc_tensor *r, tc_dtype want) {
  if (!r || r->dtype == want) return r;
  tc_tensor *o = tc__to_dtype_contig(r, want);
  tc_tensor_release(r);
  return o;
}

/* ---- planning --------------------------------------------------------------------------------- */
/* Columns one GEMM should have at least (B samples are batched until B*L reaches this). Wider
 * GEMMs do not help: OpenBLAS runs a (16, 150) x (150, 64) product at full speed (its small-matrix
 * kernel) and slows down once the operands leave L2. */
#define CONV_MIN_COLS 64
/* Upper bound on an im2col buffer, per slot, in elements (B is not raised past it). */
#define CONV_MAX_COL_ELEMS ((int64_t)1 << 21)
/* Most backward parts, and the most memory their grad_w partial sums may take. */
#define CONV_MAX_PARTS 16
#define CONV_PARTIALS_BYTES ((int64_t)32 << 20)
/* Bytes of one im2col tile: output rows are processed in tiles whose column buffer stays in L2.
 * A variable so that the tests can force one-row tiles. */
int64_t tc__conv_tile_bytes = (int64_t)256 << 10;
/* Multiply-adds below which a task is not worth waking the pool for. */
#define CONV_GRAIN_WORK ((int64_t)1 << 18)

static bool blas_dims_ok(const char *fn, int64_t a, int64_t b, int64_t c) {
  if (a <= INT_MAX && b <= INT_MAX && c <= INT_MAX) return true;
  tc__error(TC_ERR_UNSUPPORTED, "%s: convolution too large for BLAS (matrix dims %lld, %lld, %lld)", fn,
            (long long)a, (long long)b, (long long)c);
  return false;
}

static void plan_run(conv_run *r, const tc__conv_geom *g, bool backward_w, bool backward_x, size_t es) {
  memset(r, 0, sizeof *r);
  r->g = g;
  r->CK = g->Cg * g->KH * g->KW;
  r->L = g->OH * g->OW;
  /* A 1x1 convolution reads x as its column matrix, unless the planes are too small for a GEMM per
   * sample (then im2col, a plain copy here, batches samples: a 1x1 plane would be a GEMV each). */
  r->x_is_col = g->KH == 1 && g->KW == 1 && g->sh == 1 && g->sw == 1 && g->pt == 0 && g->pb == 0 && g->pl == 0 &&
                g->pr == 0 && (r->L >= CONV_MIN_COLS || g->N == 1);
  /* The stencil path is for grouped convolutions with one input channel per group (depthwise),
   * where a GEMM per group would be a matrix-vector product. A single-group Cg == 1 convolution
   * (LeNet's first layer) is a fine GEMM. */
  r->direct = !r->x_is_col && g->Cg == 1 && g->G > 1;
  int64_t B = 1;
  if (!r->x_is_col && !r->direct && r->L < CONV_MIN_COLS) {
    B = (CONV_MIN_COLS + r->L - 1) / r->L;
    int64_t cap = CONV_MAX_COL_ELEMS / (r->CK * r->L > 0 ? r->CK * r->L : 1);
    if (B > cap) B = cap;
    if (B > g->N) B = g->N;
    if (B < 1) B = 1;
  }
  r->B = B;
  r->U = (g->N + B - 1) / B;
  /* Row tiles keep the column buffer (and the GEMM's operand) in L2. */
  r->TR = g->OH;
  if (B == 1 && !r->direct) {
    int64_t rows = (tc__conv_tile_bytes / (int64_t)es) / (r->CK * g->OW > 0 ? r->CK * g->OW : 1);
    if (rows < 1) rows = 1;
    if (rows < r->TR) r->TR = rows;
  }
  r->T = r->TR > 0 ? (g->OH + r->TR - 1) / r->TR : 1;
  r->P = r->U;
  if (backward_w && r->U > 0) {
    int64_t wbytes = g->OC * r->CK * 8 + 1;
    int64_t pmax = CONV_PARTIALS_BYTES / wbytes;
    if (pmax < 1) pmax = 1;
    r->P = r->U < CONV_MAX_PARTS ? r->U : CONV_MAX_PARTS;
    if (r->P > pmax) r->P = pmax;
  }
  bool im2col = !r->x_is_col && !r->direct, padded = (g->pt | g->pb | g->pl | g->pr) != 0;
  int64_t Hp = g->H + g->pt + g->pb, Wp = g->W + g->pl + g->pr;
  r->col_elems = im2col ? r->CK * B * r->TR * g->OW : 0;
  r->tmp_off = r->col_elems;
  r->xp_off = r->tmp_off + (B > 1 ? g->OCg * B * r->L : 0);
  r->gxp_off = r->xp_off + (im2col && padded ? g->Cg * ((r->TR - 1) * g->sh + (g->KH - 1) * g->dh + 1) * Wp : 0);
  r->slot_elems = r->gxp_off + (im2col && padded && backward_x ? g->Cg * Hp * Wp : 0);
  if (r->direct) { /* a padded plane: of x (forward, grad_w), or of grad_out plus a flipped kernel (grad_x) */
    int64_t xp = (g->H + g->pt + g->pb) * (g->W + g->pl + g->pr);
    int64_t gp = (g->H + g->dh * (g->KH - 1)) * (g->W + g->dw * (g->KW - 1)) + g->KH * g->KW;
    r->slot_elems = xp > gp ? xp : gp;
  }
}

/* Allocates nslots scratch slots for `tasks` parallel tasks. */
static tc_status alloc_slots(conv_run *r, int64_t tasks, size_t es) {
  if (r->slot_elems == 0 || tasks == 0) return TC_OK;
  int64_t nt = tc__num_threads();
  r->nslots = (int)(tasks < nt ? tasks : nt);
  r->scratch = tc__aligned_alloc((size_t)r->nslots * (size_t)r->slot_elems * es);
  if (!r->scratch) return TC_ERR_NOMEM;
  r->busy = tc__malloc(sizeof(atomic_int) * (size_t)r->nslots);
  if (!r->busy) {
    tc__aligned_free(r->scratch);
    r->scratch = NULL;
    return TC_ERR_NOMEM;
  }
  for (int i = 0; i < r->nslots; i++) atomic_init(&r->busy[i], 0);
  return TC_OK;
}

static void free_run(conv_run *r) {
  tc__aligned_free(r->scratch);
  tc__free(r->busy);
  tc__aligned_free(r->partials);
  tc__aligned_free(r->wU);
  r->wU = NULL;
  r->scratch = r->partials = NULL;
  r->busy = NULL;
}

/* OpenBLAS must be single-threaded while the pool calls it (a host program may have changed it). */
static void blas_one_thread(void) {
  if (openblas_get_num_threads() != 1) tc__blas_set_threads(1);
}

/* Runs fn over n tasks: on the pool, or, with fewer tasks than threads, on the calling thread
 * outside a parallel region so that the tasks' GEMMs are tiled over the pool instead (the deep,
 * small-plane layers of a network are one or two big GEMMs). Results are the same either way. */
static void run_tasks(int64_t n, int64_t grain, tc_range_fn fn, void *ctx) {
  if (n > 0 && n < tc__num_threads() && !tc_in_parallel_region()) {
    fn(0, n, ctx);
    return;
  }
  tc_parallel_for(n, grain, fn, ctx);
}

static int64_t grain_for(int64_t work_per_item) {
  int64_t w = work_per_item > 0 ? work_per_item : 1;
  int64_t gr = CONV_GRAIN_WORK / w;
  return gr < 1 ? 1 : gr;
}

/* Smallest input and output channel counts per group for Winograd (below them the transforms
 * cost more than the multiplications saved). A variable so that the tests can force it. */
int64_t tc__conv_winograd_min_channels = 16;

/* Whether g is a 3x3, stride 1, dilation 1 convolution that Winograd F(2x2, 3x3) runs, forward
 * and (as a convolution of grad_out with the flipped kernels, padded by 2 - p) for grad_x. */
static bool wino_eligible(const tc__conv_geom *g) {
  int64_t big = g->C > g->OC ? g->C : g->OC; /* GEMM dims and leading dims stay below INT_MAX */
  if (big > INT_MAX / 16 || (g->W + 4) * 16 > INT_MAX / (big > 0 ? big : 1)) return false;
  /* The GEMMs' inner dimension is the tiles of a unit: one plane's, or several samples' whole
   * small planes (wino_plan); below 16 in all they are matrix-vector products that im2col beats. */
  int64_t tiles = ((g->OH + 1) / 2) * ((g->OW + 1) / 2) * (g->N < 16 ? g->N : 16);
  return g->spatial == 2 && g->KH == 3 && g->KW == 3 && g->sh == 1 && g->sw == 1 && g->dh == 1 && g->dw == 1 &&
         g->pt <= 2 && g->pb <= 2 && g->pl <= 2 && g->pr <= 2 && g->Cg >= tc__conv_winograd_min_channels &&
         g->OCg >= tc__conv_winograd_min_channels && g->Cg > 1 &&
         (tiles >= 16 || tc__conv_winograd_min_channels <= 1);
}

/* Bytes of the transformed tiles (V and M) of one Winograd unit (about L2). */
#define CONV_WINO_BLOCK_BYTES ((int64_t)1 << 20)
/* Tiles per unit that small planes are batched up to (the GEMMs' inner dimension). */
#define CONV_WINO_MIN_COLS 128

/* Elements of a wino_units_small / wino_gw_parts_small slot (conv_winograd.h, wcl_carve): the
 * transposed padded input XT (Hp x Wp x Cg), VT (16 x LD x Cg), MT (16 x LD x OCg), YT (2TH x 2TW x
 * OCg), 3 spare rows of OCg for the outputs of edge tiles that fall outside, h (16 x Cg), s (8 x
 * OCg). */
static int64_t wino_small_slot_elems(const tc__conv_geom *g, int64_t TH, int64_t TW, int64_t LD) {
  return (2 * TH + 2) * (2 * TW + 2) * g->Cg + 16 * LD * (g->Cg + g->OCg) + (4 * TH * TW + 3) * g->OCg +
         16 * g->Cg + 8 * g->OCg;
}

/* Plans r (zeroed) as a Winograd run of g: tiles, units of tile rows sized for L2, samples per
 * unit for small planes, slots. */
static void wino_plan(conv_run *r, const tc__conv_geom *g, size_t es) {
  memset(r, 0, sizeof *r);
  r->g = g;
  r->wino = true;
  r->CK = g->Cg * 9;
  r->L = g->OH * g->OW;
  r->wTH = (g->OH + 1) / 2;
  r->wTW = (g->OW + 1) / 2;
  int64_t per_row = 16 * (g->Cg + g->OCg) * r->wTW * (int64_t)es; /* V and M bytes per tile row */
  r->wTRB = CONV_WINO_BLOCK_BYTES / (per_row > 0 ? per_row : 1);
  if (r->wTRB < 1) r->wTRB = 1;
  if (r->wTRB > r->wTH) r->wTRB = r->wTH;
  r->wNBLK = (r->wTH + r->wTRB - 1) / r->wTRB;
  /* small planes (wino_units_small): several samples per unit, so that the GEMMs' tile dimension
   * reaches about CONV_WINO_MIN_COLS within the block; chosen from the shapes only (results do not
   * depend on the thread count) */
  r->wB = 1;
  if (r->wNBLK == 1) {
    int64_t tiles = r->wTH * r->wTW, fit = CONV_WINO_BLOCK_BYTES / (per_row * r->wTH > 0 ? per_row * r->wTH : 1);
    int64_t want = (CONV_WINO_MIN_COLS + tiles - 1) / tiles;
    r->wB = want < fit ? want : fit;
    if (r->wB > g->N) r->wB = g->N;
    if (r->wB < 1) r->wB = 1;
  }
  r->U = (g->N + r->wB - 1) / r->wB;
  int64_t TW = r->wTW, TRB = r->wTRB;
  /* prow, hb, V, M (or grad_out's Ug), then the output rows (forward) or grad_out's row buffers */
  r->slot_elems = (2 * TW + 2) + 8 * (TRB + 1) * TW + 16 * (g->Cg + g->OCg) * TRB * TW + 4 * TW + 8 * TRB * TW;
  if (r->wNBLK == 1) {
    int64_t small = wino_small_slot_elems(g, r->wTH, TW, r->wB * r->wTH * TW);
    if (small > r->slot_elems) r->slot_elems = small;
  }
}

/* grad_w by Winograd sums over tiles with GEMMs whose inner dimension is a unit's tiles: a plane's
 * (below 128 tiles per plane, outputs smaller than about 22x22, too thin to win) or, for small
 * planes, wB samples' whole planes (at least 64 tiles in all). */
static bool wino_grad_w_eligible(const tc__conv_geom *g, size_t es) {
  if (!wino_eligible(g)) return false;
  const bool forced = tc__conv_winograd_min_channels <= 1; /* the tests' switch: every eligible case */
  if (((g->OH + 1) / 2) * ((g->OW + 1) / 2) >= (forced ? 1 : 128)) return true;
  conv_run p;
  wino_plan(&p, g, es);
  return p.wNBLK == 1 && p.wB * p.wTH * p.wTW >= (forced ? 1 : 64);
}

/* Runs the Winograd convolution planned in r: out = conv(in, weights) (+ bias). transposed: the
 * grad_x convolution of the forward weight w (see wino_weights). */
static tc_status wino_run(conv_run *r, tc_dtype dt, const void *in, const void *w, bool transposed, const void *bias,
                          void *out) {
  const tc__conv_geom *g = r->g;
  size_t es = tc_dtype_size(dt);
  r->wU = tc__aligned_alloc((size_t)(16 * g->OC * g->Cg) * es);
  const int64_t units = r->wNBLK == 1 ? r->U : g->N * r->wNBLK;
  if (!r->wU || alloc_slots(r, units, es) != TC_OK) return TC_ERR_NOMEM;
  if (dt == TC_F64) wino_weights_f64(g->G, g->OCg, g->Cg, w, transposed, r->wU);
  else wino_weights_f32(g->G, g->OCg, g->Cg, w, transposed, r->wU);
  r->x = in;
  r->b = bias;
  r->y = out;
  if (r->wNBLK == 1) /* whole planes: channels-last transforms, wB samples per unit */
    tc_parallel_for(units, grain_for(16 * g->OC * g->Cg * r->wTRB * r->wTW * r->wB),
                    dt == TC_F64 ? wino_units_small_f64 : wino_units_small_f32, r);
  else
    tc_parallel_for(units, grain_for(16 * g->OC * g->Cg * r->wTRB * r->wTW), dt == TC_F64 ? wino_units_f64 : wino_units_f32,
                    r);
  return TC_OK;
}

/* The grad_x convolution of a Winograd-eligible g: grad_out (N, OC, OH, OW) with the flipped,
 * transposed kernels and padding 2 - p gives grad_x (N, C, H, W). */
static tc__conv_geom wino_grad_x_geom(const tc__conv_geom *g) {
  tc__conv_geom t = *g;
  t.C = g->OC;
  t.H = g->OH;
  t.W = g->OW;
  t.OC = g->C;
  t.Cg = g->OCg;
  t.OCg = g->Cg;
  t.pt = 2 - g->pt;
  t.pb = 2 - g->pb;
  t.pl = 2 - g->pl;
  t.pr = 2 - g->pr;
  t.OH = g->H;
  t.OW = g->W;
  return t;
}

/* ---- kernel taps that only ever see padding ------------------------------------------------------- */
/* On small planes some kernel rows or columns read padding for every output position: a 3x3,
 * padding-1 convolution of a 1x1 plane (a CIFAR-sized ResNet's last stage) uses only its centre tap,
 * and one of stride 2 from 2x2 to 1x1 uses four of its nine. Those taps multiply zeros: the
 * convolution is computed with the kernel cropped to the taps that can see the input and the
 * padding reduced to match, which gives the same output positions and the same sums (the dropped
 * terms are all zero) for a fraction of the work. */

/* Taps [*k0, *k1) of a K-tap kernel axis (stride s, dilation d, leading padding p, `out` output
 * positions over `in` inputs) that read the input for at least one output position. */
static void live_taps(int64_t in, int64_t out, int64_t K, int64_t s, int64_t d, int64_t p, int64_t *k0, int64_t *k1) {
  *k0 = K, *k1 = 0;
  for (int64_t k = 0; k < K; k++) {
    int64_t need = p - k * d; /* o * s must reach at least this, and stay below need + in */
    int64_t o = need <= 0 ? 0 : (need + s - 1) / s;
    if (o < out && o * s < need + in) {
      if (k < *k0) *k0 = k;
      *k1 = k + 1;
    }
  }
}

/* The live kernel window of g as kc = {row0, row1, col0, col1}; when it is smaller than the kernel
 * (and the reduced leading padding stays non-negative), g becomes the cropped convolution and the
 * result is true. Winograd, 1x1 and depthwise paths then see the cropped kernel. */
static bool crop_dead_taps(tc__conv_geom *g, int64_t kc[4]) {
  kc[0] = 0, kc[1] = g->KH, kc[2] = 0, kc[3] = g->KW;
  if (g->OH == 0 || g->OW == 0 || g->N == 0) return false;
  int64_t r0, r1, c0, c1;
  live_taps(g->H, g->OH, g->KH, g->sh, g->dh, g->pt, &r0, &r1);
  live_taps(g->W, g->OW, g->KW, g->sw, g->dw, g->pl, &c0, &c1);
  if (r1 <= r0 || c1 <= c0) return false; /* no tap sees the input: left to the plain path */
  if (g->pt - r0 * g->dh < 0) r0 = 0;
  if (g->pl - c0 * g->dw < 0) c0 = 0;
  if (r0 == 0 && c0 == 0 && r1 == g->KH && c1 == g->KW) return false;
  int64_t pb = g->pb - (g->KH - r1) * g->dh, pr = g->pr - (g->KW - c1) * g->dw;
  g->pt -= r0 * g->dh, g->pl -= c0 * g->dw;
  g->pb = pb > 0 ? pb : 0, g->pr = pr > 0 ? pr : 0;
  g->KH = r1 - r0, g->KW = c1 - c0;
  kc[0] = r0, kc[1] = r1, kc[2] = c0, kc[3] = c1;
  return true;
}

/* Copies between a whole kernel (planes x KH x KW) and its window kc (planes x kh x kw), planes
 * [p0, p1): to_window, or back into the whole kernel with zeros outside the window. Kernel rows are
 * a few elements long, where memcpy calls would cost more than the copies. */
typedef struct {
  char *whole, *window;
  int64_t KH, KW, kc[4];
  size_t es;
  bool to_window;
} crop_copy;

#define CROP_COPY_LOOP(T)                                                                   \
  do {                                                                                      \
    T *whole = (T *)(void *)c->whole + p0 * KH * KW, *win = (T *)(void *)c->window + p0 * kh * kw; \
    for (int64_t p = p0; p < p1; p++, whole += KH * KW, win += kh * kw) {                  \
      if (c->to_window) {                                                                   \
        for (int64_t i = 0; i < kh; i++)                                                    \
          for (int64_t j = 0; j < kw; j++) win[i * kw + j] = whole[(kc0 + i) * KW + kc2 + j]; \
      } else {                                                                              \
        for (int64_t e = 0; e < KH * KW; e++) whole[e] = 0;                                 \
        for (int64_t i = 0; i < kh; i++)                                                    \
          for (int64_t j = 0; j < kw; j++) whole[(kc0 + i) * KW + kc2 + j] = win[i * kw + j]; \
      }                                                                                     \
    }                                                                                       \
  } while (0)

static CONV_NO_MEMCPY_PATTERN void crop_copy_task(int64_t p0, int64_t p1, void *vc) {
  const crop_copy *c = vc;
  const int64_t KH = c->KH, KW = c->KW, kh = c->kc[1] - c->kc[0], kw = c->kc[3] - c->kc[2], kc0 = c->kc[0],
                kc2 = c->kc[2];
  if (c->es == 4) CROP_COPY_LOOP(float);
  else CROP_COPY_LOOP(double);
}
#undef CROP_COPY_LOOP

static void crop_copy_run(char *whole, char *window, const tc_tensor *w, const int64_t kc[4], size_t es,
                          bool to_window) {
  crop_copy c = {whole, window, w->ndim == 4 ? w->sizes[2] : 1, w->sizes[w->ndim - 1], {kc[0], kc[1], kc[2], kc[3]},
                 es, to_window};
  tc_parallel_for(w->sizes[0] * w->sizes[1], grain_for(c.KH * c.KW * 64), crop_copy_task, &c);
}

/* w (OC, Cg, KH, KW) cropped to kc, contiguous, in dtype dt. */
static tc_tensor *cropped_weight(const tc_tensor *w, tc_dtype dt, const int64_t kc[4]) {
  tc_tensor *full = as_contig(w, dt);
  if (!full) return NULL;
  tc_tensor *out =
      tc__empty((const int64_t[]){w->sizes[0], w->sizes[1], kc[1] - kc[0], kc[3] - kc[2]}, 4, dt, w->storage->device);
  if (out) crop_copy_run(tc__ptr(full), tc__ptr(out), w, kc, tc_dtype_size(dt), true);
  tc_tensor_release(full);
  return out;
}

/* The gradient of the whole kernel from that of its cropped window gc: zeros around it. Consumes
 * gc; a tensor of w's shape, or NULL. */
static tc_tensor *uncropped_grad(tc_tensor *gc, const tc_tensor *w, const int64_t kc[4]) {
  if (!gc) return NULL;
  tc_tensor *g = tc__empty(w->sizes, w->ndim, gc->dtype, w->storage->device);
  if (g) crop_copy_run(tc__ptr(g), tc__ptr(gc), w, kc, tc_dtype_size(gc->dtype), false);
  tc_tensor_release(gc);
  return g;
}

/* The dense small-plane kernel matrix of w (conv_dense.c), in dtype dt. */
static tc_tensor *dense_kernel(const tc__conv_geom *g, const tc_tensor *w, tc_dtype dt) {
  tc_tensor *full = as_contig(w, dt);
  tc_tensor *k = full ? tc__conv_dense_kernel(g, full, dt) : NULL;
  tc_tensor_release(full);
  return k;
}

/* ---- on a device: the backend's convolution (cuDNN) ------------------------------------------------- */
static tc_status device_conv_desc(const char *fn, const tc__conv_geom *g, const tc_tensor *x, tc__conv_desc *d) {
  if (!tc__backend(x) || !tc__backend(x)->conv_fwd) return tc__kernel_missing(fn, x);
  if (g->pt != g->pb || g->pl != g->pr) {
    char dev[32];
    return tc__error(TC_ERR_UNSUPPORTED,
                     "%s: padding 'same' with an even dilated kernel pads one side more; on %s this is not supported "
                     "(pad the input with tc_pad and use padding 'valid')", fn,
                     tc_device_str(x->storage->device, dev, sizeof dev));
  }
  *d = (tc__conv_desc){.N = g->N, .C = g->C, .H = g->H, .W = g->W, .OC = g->OC, .G = g->G, .KH = g->KH, .KW = g->KW,
                       .OH = g->OH, .OW = g->OW, .sh = g->sh, .sw = g->sw, .dh = g->dh, .dw = g->dw, .ph = g->pt,
                       .pw = g->pl, .allow_tf32 = tc_cudnn_allow_tf32(-1), .benchmark = tc_cudnn_benchmark(-1)};
  return TC_OK;
}

/* y = conv(x, w) + b on x's device, in x's dtype (no conversion: cuDNN computes half types in
 * float32). An input without channels gives the bias (or zeros). */
static tc_tensor *device_conv_forward(const char *fn, const tc__conv_geom *g, const tc_tensor *x, const tc_tensor *w,
                                      const tc_tensor *b) {
  tc__conv_desc d;
  if (device_conv_desc(fn, g, x, &d)) return NULL;
  int64_t oshape[4];
  int ond = tc__conv_out_shape(g, oshape);
  tc_tensor *xc = NULL, *wc = NULL, *bc = NULL, *y = NULL;
  if (!(y = tc__empty(oshape, ond, x->dtype, x->storage->device))) goto fail;
  if (g->N * g->OC * g->OH * g->OW == 0) goto done;
  if (g->C == 0) { /* no input channels: the bias broadcast over the output, or zeros */
    if (tc__fill(y, 0.0)) goto fail;
    if (b) {
      tc_tensor *bv = tc_reshape(b, (int64_t[]){g->OC, 1, 1}, g->spatial == 2 ? 3 : 2);
      tc_no_grad_push(); /* the convolution records its own node */
      tc_status s = bv ? tc_add_inplace(y, bv, 1.0) : tc_last_status();
      tc_no_grad_pop();
      tc_tensor_release(bv);
      if (s) goto fail;
    }
    goto done;
  }
  if (!(xc = tc__contig_as(x, x->dtype)) || !(wc = tc__contig_as(w, x->dtype))) goto fail;
  if (b && !(bc = tc__contig_as(b, x->dtype))) goto fail;
  if (tc__backend(x)->conv_fwd(tc__dev_index(x), x->dtype, &d, tc__ptr(xc), tc__ptr(wc), bc ? tc__ptr(bc) : NULL,
                               tc__ptr(y)))
    goto fail;
done:
  tc_tensor_release(xc);
  tc_tensor_release(wc);
  tc_tensor_release(bc);
  return y;
fail:
  tc_tensor_release(xc);
  tc_tensor_release(wc);
  tc_tensor_release(bc);
  tc_tensor_release(y);
  return NULL;
}

/* The gradients of a device convolution: grad_x and grad_w by the backend, grad_b as the sum of
 * grad_out over every dim but the channels (the core's deterministic reduction). */
static tc_status device_conv_backward(const char *fn, const tc__conv_geom *g, const tc_tensor *grad_out,
                                      const tc_tensor *x, const tc_tensor *w, bool need_x, bool need_w, bool need_b,
                                      tc_tensor **grad_x, tc_tensor **grad_w, tc_tensor **grad_b) {
  tc__conv_desc d;
  tc_status st = device_conv_desc(fn, g, x, &d);
  if (st) return st;
  const tc__device_api *api = tc__backend(x);
  tc_dtype dt = x->dtype;
  tc_device dev = x->storage->device;
  bool empty = g->N * g->OC * g->OH * g->OW == 0 || g->C == 0;
  tc_tensor *gy = NULL, *xc = NULL, *wc = NULL, *gx = NULL, *gw = NULL, *gb = NULL;
  if (!(gy = tc__contig_as(grad_out, dt))) goto fail;
  if (need_x && !(gx = tc__empty(x->sizes, x->ndim, dt, dev))) goto fail;
  if (need_w && !(gw = tc__empty(w->sizes, w->ndim, dt, dev))) goto fail;
  if (empty) {
    if ((gx && tc__fill(gx, 0.0)) || (gw && tc__fill(gw, 0.0))) goto fail;
  } else {
    if (need_x && (!(wc = tc__contig_as(w, dt)) ||
                   api->conv_bwd_data(tc__dev_index(x), dt, &d, tc__ptr(gy), tc__ptr(wc), tc__ptr(gx))))
      goto fail;
    if (need_w && (!(xc = tc__contig_as(x, dt)) ||
                   api->conv_bwd_filter(tc__dev_index(x), dt, &d, tc__ptr(gy), tc__ptr(xc), tc__ptr(gw))))
      goto fail;
  }
  if (need_b) { /* gy viewed as (N, OC, L): sum over N and L */
    tc_tensor *v = tc_reshape(gy, (int64_t[]){g->N, g->OC, g->OH * g->OW}, 3);
    gb = v ? tc_sum(v, (int64_t[]){0, 2}, 2, false) : NULL;
    tc_tensor_release(v);
    if (!gb) goto fail;
  }
  tc_tensor_release(gy);
  tc_tensor_release(xc);
  tc_tensor_release(wc);
  if (grad_x) *grad_x = gx;
  if (grad_w) *grad_w = gw;
  if (grad_b) *grad_b = gb;
  return TC_OK;
fail:
  st = tc_last_status();
  tc_tensor_release(gy);
  tc_tensor_release(xc);
  tc_tensor_release(wc);
  tc_tensor_release(gx);
  tc_tensor_release(gw);
  tc_tensor_release(gb);
  return st ? st : TC_ERR_CUDA;
}

/* ---- forward ---------------------------------------------------------------------------------- */
static tc_tensor *conv_forward(const char *fn, int spatial, const tc_tensor *x, const tc_tensor *w,
                               const tc_tensor *b, const tc_conv_opts *opts, tc_tensor **kept_w) {
  if (kept_w) *kept_w = NULL;
  tc__conv_geom g;
  if (tc__conv_resolve(fn, spatial, x, w, b, opts, &g) != TC_OK) return NULL;
  if (!tc__is_cpu(x)) return device_conv_forward(fn, &g, x, w, b);
  tc_dtype dt = tc__compute_dtype(x->dtype);
  int64_t oshape[4], kc[4];
  int ond = tc__conv_out_shape(&g, oshape);
  bool dense = g.N > 0 && tc__conv_dense_eligible(&g, tc_dtype_size(dt));
  bool crop = !dense && crop_dead_taps(&g, kc);
  conv_run r;
  plan_run(&r, &g, false, false, tc_dtype_size(dt));
  if (!r.direct && !blas_dims_ok(fn, g.OCg, r.CK, r.B * r.L)) return NULL;
  tc_tensor *xc = as_contig(x, dt), *wc = NULL;
  if (xc) wc = dense ? dense_kernel(&g, w, dt) : crop ? cropped_weight(w, dt, kc) : as_contig(w, dt);
  tc_tensor *bc = (wc && b) ? as_contig(b, dt) : NULL;
  tc_tensor *y = (wc && (bc || !b)) ? tc__empty(oshape, ond, dt, x->storage->device) : NULL;
  if (!y) goto fail;
  size_t es = tc_dtype_size(dt);
  int64_t ny = g.N * g.OC * r.L;
  if (ny > 0 && r.CK == 0) { /* no input channels: the output is the bias (or zero) */
    tc__cpu_fill(y, 0.0);
    if (bc) {
      for (int64_t n = 0; n < g.N; n++)
        for (int64_t o = 0; o < g.OC; o++) {
          double bv = tc__load_double(tc__ptr(bc) + (size_t)o * es, dt);
          for (int64_t l = 0; l < r.L; l++) tc__store_double(tc__ptr(y) + (size_t)((n * g.OC + o) * r.L + l) * es, dt, bv);
        }
    }
  } else if (ny > 0) {
    r.x = tc__ptr(xc);
    r.w = tc__ptr(wc);
    r.b = bc ? tc__ptr(bc) : NULL;
    r.y = tc__ptr(y);
    blas_one_thread();
    if (dense) {
      tc__conv_dense_forward(&g, dt, r.x, r.w, r.b, r.y);
    } else if (wino_eligible(&g)) {
      wino_plan(&r, &g, es);
      if (wino_run(&r, dt, tc__ptr(xc), tc__ptr(wc), false, bc ? tc__ptr(bc) : NULL, tc__ptr(y)) != TC_OK) goto fail;
    } else if (r.direct) {
      if (alloc_slots(&r, g.N * g.C, es) != TC_OK) goto fail;
      tc_parallel_for(g.N * g.C, grain_for(g.OCg * r.L * g.KH * g.KW),
                      dt == TC_F64 ? direct_fwd_tasks_f64 : direct_fwd_tasks_f32, &r);
    } else {
      if (alloc_slots(&r, r.U * r.T, es) != TC_OK) goto fail;
      run_tasks(r.U * r.T, grain_for(r.B * g.OC * r.CK * r.TR * g.OW), dt == TC_F64 ? fwd_units_f64 : fwd_units_f32,
                &r);
    }
  }
  free_run(&r);
  tc_tensor_release(xc);
  if ((crop || dense) && kept_w) *kept_w = wc; /* the backward's grad_x reuses the prepared kernel */
  else tc_tensor_release(wc);
  tc_tensor_release(bc);
  return to_result(y, x->dtype);
fail:
  free_run(&r);
  tc_tensor_release(y);
  tc_tensor_release(xc);
  tc_tensor_release(wc);
  tc_tensor_release(bc);
  return NULL;
}

tc_tensor *tc__conv_fwd(int spatial, const tc_tensor *x, const tc_tensor *w, const tc_tensor *b,
                        const tc_conv_opts *opts, tc_tensor **kept_w) {
  return conv_forward(spatial == 2 ? "tc_conv2d" : "tc_conv1d", spatial, x, w, b, opts, kept_w);
}

/* ---- backward --------------------------------------------------------------------------------- */
typedef struct {
  const conv_run *r;
  void *gb;
  const void *gy;
  bool f64;
} bias_ctx;

static void bias_tasks(int64_t o0, int64_t o1, void *vctx) {
  const bias_ctx *c = vctx;
  const tc__conv_geom *g = c->r->g;
  int64_t L = c->r->L;
  for (int64_t o = o0; o < o1; o++) {
    double s = 0;
    for (int64_t n = 0; n < g->N; n++) {
      size_t off = (size_t)((n * g->OC + o) * L);
      s += c->f64 ? row_sum_f64((const double *)c->gy + off, L) : (double)row_sum_f32((const float *)c->gy + off, L);
    }
    if (c->f64) ((double *)c->gb)[o] = s;
    else ((float *)c->gb)[o] = (float)s;
  }
}

/* gw[row] = sum over parts p, in order, of partials[p][row] (rows of CK; deterministic). */
typedef struct {
  const conv_run *r;
  bool f64;
} reduce_ctx;

static void reduce_tasks(int64_t r0, int64_t r1, void *vctx) {
  const reduce_ctx *c = vctx;
  const conv_run *r = c->r;
  const int64_t CK = r->CK, wn = r->g->OC * CK;
  for (int64_t row = r0; row < r1; row++) {
    if (c->f64) {
      double *restrict d = (double *)r->gw + row * CK;
      const double *s0 = (const double *)(void *)r->partials + row * CK;
      for (int64_t k = 0; k < CK; k++) d[k] = s0[k];
      for (int64_t p = 1; p < r->P; p++) {
        const double *restrict s = s0 + p * wn;
        for (int64_t k = 0; k < CK; k++) d[k] += s[k];
      }
    } else {
      float *restrict d = (float *)r->gw + row * CK;
      const float *s0 = (const float *)(void *)r->partials + row * CK;
      for (int64_t k = 0; k < CK; k++) d[k] = s0[k];
      for (int64_t p = 1; p < r->P; p++) {
        const float *restrict s = s0 + p * wn;
        for (int64_t k = 0; k < CK; k++) d[k] += s[k];
      }
    }
  }
}

static tc_status conv_backward(const char *fn, int spatial, const tc_tensor *grad_out, const tc_tensor *x,
                               const tc_tensor *w, const tc_tensor *kept_w, const tc_conv_opts *opts, bool need_x,
                               bool need_w, bool need_b, tc_tensor **grad_x, tc_tensor **grad_w, tc_tensor **grad_b) {
  if (grad_x) *grad_x = NULL;
  if (grad_w) *grad_w = NULL;
  if (grad_b) *grad_b = NULL;
  if ((need_x && !grad_x) || (need_w && !grad_w) || (need_b && !grad_b))
    return tc__error(TC_ERR_ARG, "%s: a requested gradient has no output pointer", fn);
  TC__NONNULL_S(grad_out, fn);
  tc__conv_geom g;
  tc_status st = tc__conv_resolve(fn, spatial, x, w, NULL, opts, &g);
  if (st != TC_OK) return st;
  if ((st = tc__check_same_device(fn, x, grad_out)) != TC_OK) return st;
  int64_t oshape[4];
  int ond = tc__conv_out_shape(&g, oshape);
  bool same = grad_out->ndim == ond;
  for (int i = 0; same && i < ond; i++) same = grad_out->sizes[i] == oshape[i];
  if (!same)
    return tc__error(TC_ERR_SHAPE, "%s: grad_out is %s but the output of input %s and weight %s is %s", fn,
                     tc__tshape(grad_out), tc__tshape(x), tc__tshape(w), tc__shape_str(oshape, ond));
  if (!conv_dtype_ok(grad_out->dtype))
    return tc__error(TC_ERR_DTYPE, "%s: grad_out must be floating point, got %s", fn,
                     tc_dtype_name(grad_out->dtype));
  if (!tc__is_cpu(x)) return device_conv_backward(fn, &g, grad_out, x, w, need_x, need_w, need_b, grad_x, grad_w, grad_b);
  tc_dtype dt = tc__compute_dtype(x->dtype);
  size_t es = tc_dtype_size(dt);
  int64_t kc[4];
  bool dense = g.N > 0 && tc__conv_dense_eligible(&g, es);
  bool crop = !dense && crop_dead_taps(&g, kc);
  conv_run r;
  /* 3x3 stride-1 convolutions: grad_x and grad_w by Winograd, not im2col/col2im */
  bool wino_x = !dense && need_x && wino_eligible(&g), wino_w = !dense && need_w && wino_grad_w_eligible(&g, es);
  plan_run(&r, &g, need_w && !wino_w && !dense, need_x && !wino_x && !dense, es);
  r.need_x = need_x;
  r.need_w = need_w;
  if (!r.direct && (need_x || need_w) && !blas_dims_ok(fn, r.CK, g.OCg, r.B * r.L)) return TC_ERR_UNSUPPORTED;
  tc_tensor *gyc = NULL, *xc = NULL, *wc = NULL, *gx = NULL, *gw = NULL, *gb = NULL;
  st = TC_ERR_NOMEM;
  if (!(gyc = as_contig(grad_out, dt))) goto fail;
  if (need_w && !(xc = as_contig(x, dt))) goto fail;
  if (need_x && dense) {
    if (tc__conv_dense_is_kernel(&g, kept_w, dt)) wc = tc_tensor_retain((tc_tensor *)kept_w);
    else if (!(wc = dense_kernel(&g, w, dt))) goto fail;
  } else if (need_x && crop && kept_w && kept_w->dtype == dt) {
    wc = tc_tensor_retain((tc_tensor *)kept_w);
  } else if (need_x && !(wc = crop ? cropped_weight(w, dt, kc) : as_contig(w, dt))) {
    goto fail;
  }
  if (need_x && !(gx = tc__empty(x->sizes, x->ndim, dt, x->storage->device))) goto fail;
  if (need_w && !(gw = crop ? tc__empty((const int64_t[]){g.OC, g.Cg, g.KH, g.KW}, 4, dt, x->storage->device)
                            : tc__empty(w->sizes, w->ndim, dt, x->storage->device)))
    goto fail;
  if (need_b && !(gb = tc__empty(&g.OC, 1, dt, x->storage->device))) goto fail;
  int64_t ny = g.N * g.OC * r.L;
  if (ny == 0 || r.CK == 0) { /* an empty batch or no channels: zero gradients */
    if (gx) tc__cpu_fill(gx, 0.0);
    if (gw) tc__cpu_fill(gw, 0.0);
    if (gb && ny == 0) tc__cpu_fill(gb, 0.0);
    need_x = need_w = false;
  }
  blas_one_thread();
  r.gy = tc__ptr(gyc);
  r.x = xc ? tc__ptr(xc) : NULL;
  r.w = wc ? tc__ptr(wc) : NULL;
  r.gx = gx ? tc__ptr(gx) : NULL;
  r.gw = gw ? tc__ptr(gw) : NULL;
  if (gb && ny > 0) {
    bias_ctx bc = {&r, tc__ptr(gb), r.gy, dt == TC_F64};
    tc_parallel_for(g.OC, grain_for(g.N * r.L), bias_tasks, &bc);
  }
  if (dense && (need_x || need_w)) { /* two GEMMs and a fold: conv_dense.c */
    if ((st = tc__conv_dense_backward(&g, dt, r.gy, r.x, r.w, need_x ? r.gx : NULL, need_w ? r.gw : NULL))) goto fail;
    st = TC_ERR_NOMEM;
    need_x = need_w = r.need_x = r.need_w = false;
  }
  if (wino_w && need_w) { /* need_w is false for an empty batch */
    conv_run wr;
    wino_plan(&wr, &g, es);
    bool small = wr.wNBLK == 1; /* whole planes, channels last: a part per wB samples */
    int64_t psz = 16 * g.OC * g.Cg, pmax = CONV_PARTIALS_BYTES / (psz * (int64_t)es + 1);
    wr.P = small ? (g.N + wr.wB - 1) / wr.wB : g.N;
    if (wr.P > CONV_MAX_PARTS) wr.P = CONV_MAX_PARTS;
    if (wr.P > pmax) wr.P = pmax > 0 ? pmax : 1;
    wr.x = r.x;
    wr.gy = r.gy;
    wr.gw = r.gw;
    wr.partials = tc__aligned_alloc((size_t)(wr.P * psz) * es);
    if (!wr.partials || alloc_slots(&wr, wr.P, es) != TC_OK) {
      free_run(&wr);
      goto fail;
    }
    tc_parallel_for(wr.P, 1,
                    small ? (dt == TC_F64 ? wino_gw_parts_small_f64 : wino_gw_parts_small_f32)
                          : (dt == TC_F64 ? wino_gw_parts_f64 : wino_gw_parts_f32),
                    &wr);
    tc_parallel_for(g.OC, grain_for(wr.P * 16 * g.Cg), dt == TC_F64 ? wino_gw_finish_f64 : wino_gw_finish_f32, &wr);
    free_run(&wr);
    need_w = r.need_w = false;
  }
  if (wino_x && need_x) { /* grad_x as its own Winograd convolution */
    tc__conv_geom tg = wino_grad_x_geom(&g);
    conv_run xr;
    wino_plan(&xr, &tg, es);
    st = wino_run(&xr, dt, r.gy, tc__ptr(wc), true, NULL, r.gx);
    free_run(&xr);
    if (st != TC_OK) goto fail;
    st = TC_ERR_NOMEM;
    need_x = r.need_x = false;
  }
  if (r.direct && (need_x || need_w)) {
    if (alloc_slots(&r, g.N * g.C, es) != TC_OK) goto fail;
    if (need_x)
      tc_parallel_for(g.N * g.C, grain_for(g.OCg * r.L * g.KH * g.KW),
                      dt == TC_F64 ? direct_bwd_x_tasks_f64 : direct_bwd_x_tasks_f32, &r);
    if (need_w)
      tc_parallel_for(g.C, grain_for(g.N * g.OCg * r.L * g.KH * g.KW),
                      dt == TC_F64 ? direct_bwd_w_tasks_f64 : direct_bwd_w_tasks_f32, &r);
  } else if (need_x || need_w) {
    int64_t wn = g.OC * r.CK;
    bool direct_w = need_w && r.P == 1; /* one part: it sums straight into grad_w */
    if (need_w && !direct_w) {
      r.partials = tc__aligned_alloc((size_t)r.P * (size_t)wn * es);
      if (!r.partials) goto fail;
    }
    if (alloc_slots(&r, r.P, es) != TC_OK) goto fail;
    if (direct_w) r.partials = r.gw; /* never freed by free_run: reset below, before any exit */
    int64_t work = (r.U / r.P) * r.B * g.OC * r.CK * r.L * ((need_x ? 1 : 0) + (need_w ? 1 : 0));
    run_tasks(r.P, grain_for(work), dt == TC_F64 ? bwd_parts_f64 : bwd_parts_f32, &r);
    if (direct_w) {
      r.partials = NULL; /* grad_w's memory, not the run's */
    } else if (need_w) {
      reduce_ctx rc = {&r, dt == TC_F64};
      tc_parallel_for(g.OC, grain_for(r.P * r.CK * 4), reduce_tasks, &rc);
    }
  }
  free_run(&r);
  tc_tensor_release(gyc);
  tc_tensor_release(xc);
  tc_tensor_release(wc);
  st = TC_OK;
  if (gw && crop && !(gw = uncropped_grad(gw, w, kc))) st = TC_ERR_NOMEM;
  if (gx && !(gx = to_result(gx, x->dtype))) st = TC_ERR_NOMEM;
  if (gw && !(gw = to_result(gw, x->dtype))) st = TC_ERR_NOMEM;
  if (gb && !(gb = to_result(gb, x->dtype))) st = TC_ERR_NOMEM;
  if (st != TC_OK) {
    tc_tensor_release(gx);
    tc_tensor_release(gw);
    tc_tensor_release(gb);
    return st;
  }
  if (need_x || gx) *grad_x = gx;
  if (gw) *grad_w = gw;
  if (gb) *grad_b = gb;
  return TC_OK;
fail:
  free_run(&r);
  tc_tensor_release(gyc);
  tc_tensor_release(xc);
  tc_tensor_release(wc);
  tc_tensor_release(gx);
  tc_tensor_release(gw);
  tc_tensor_release(gb);
  return st;
}

tc_status tc__conv2d_backward(const tc_tensor *grad_out, const tc_tensor *x, const tc_tensor *w,
                              const tc_conv_opts *opts, bool need_x, bool need_w, bool need_b, tc_tensor **grad_x,
                              tc_tensor **grad_w, tc_tensor **grad_b) {
  return conv_backward("tc_conv2d_backward", 2, grad_out, x, w, NULL, opts, need_x, need_w, need_b, grad_x, grad_w,
                       grad_b);
}

tc_status tc__conv1d_backward(const tc_tensor *grad_out, const tc_tensor *x, const tc_tensor *w,
                              const tc_conv_opts *opts, bool need_x, bool need_w, bool need_b, tc_tensor **grad_x,
                              tc_tensor **grad_w, tc_tensor **grad_b) {
  return conv_backward("tc_conv1d_backward", 1, grad_out, x, w, NULL, opts, need_x, need_w, need_b, grad_x, grad_w,
                       grad_b);
}

tc_status tc__conv_backward_kept(int spatial, const tc_tensor *grad_out, const tc_tensor *x, const tc_tensor *w,
                                 const tc_tensor *kept_w, const tc_conv_opts *opts, bool need_x, bool need_w,
                                 bool need_b, tc_tensor **grad_x, tc_tensor **grad_w, tc_tensor **grad_b) {
  return conv_backward(spatial == 2 ? "tc_conv2d_backward" : "tc_conv1d_backward", spatial, grad_out, x, w, kept_w,
                       opts, need_x, need_w, need_b, grad_x, grad_w, grad_b);
}
