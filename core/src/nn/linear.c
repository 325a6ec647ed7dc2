/* core/src/nn/linear.c — F.linear: y = x W^T + b as one fused op with its own backward.
 *
 * x: (*, in), W: (out, in), b: (out) or NULL -> y: (*, out). The batch dims of x are flattened
 * into M rows (without a copy when their strides allow it), and every product is one OpenBLAS
 * gemm on the strided operands (W^T is W read with CblasTrans, never copied):
 *   forward   Y(M, out)  = X(M, in) @ W^T        (bias rows written first, then beta = 1)
 *   backward  dX(M, in)  = G(M, out) @ W(out, in)
 *             dW(out, in) = G^T(out, M) @ X(M, in)
 *             db(out)    = sum over M of G      (the pairwise reduction of tc_sum)
 * so forward + backward costs three sgemm calls and a column sum, as PyTorch's addmm path.
 * The node is "AddmmBackward0" with a bias and "MmBackward0" without (PyTorch's names for 2-D
 * input); it does not go through tc_mm's autograd.
 *
 * Threads: OpenBLAS runs single-threaded (see linalg.c); a large product is cut into tiles of
 * rows or columns on the pool, planned as linalg.c plans them (sgemm edges on multiples of 16,
 * dgemm by rows in multiples of 48, no tile small enough for OpenBLAS's small-matrix kernels), so
 * every element is computed as in one call and results do not depend on the thread count.
 * float16/bfloat16 compute in float32 and round once, as PyTorch.
 */
#include <cblas.h>
#include <limits.h>
#include "../autograd/autograd_internal.h"
#include "ctorch/nn_functional.h"
#include "../amp/amp_internal.h"

/* ---- gemm on the pool ------------------------------------------------------------------------------ */
#define SPLIT_MIN_WORK ((int64_t)1 << 21) /* multiply-adds below which a product stays on one thread */
#define TILE_ALIGN 16                     /* sgemm tile edges (rows or columns) */
#define DGEMM_TILE_ALIGN 48               /* dgemm tiles: rows only, in blocks of its 24-row kernel */
#define GEMM_TILE_MIN 128                 /* smaller tiles lose time repacking the other operand */
/* OpenBLAS computes products of at most 100^3 multiply-adds with "small matrix" kernels that
 * round differently: no tile may fall under that unless the whole product does (linalg.c). */
#define OPENBLAS_SMALL_WORK 1e6

/* C(m, n) = alpha op(A)(m, k) op(B)(k, n) + beta C, row-major; A and B as BLAS sees them. */
typedef struct {
  bool f64;
  bool ta, tb;
  int64_t m, n, k;
  const char *a;
  int64_t lda;
  const char *b;
  int64_t ldb;
  double beta;
  char *c;
  int64_t ldc;
} gemm_job;

static void gemm_serial(const gemm_job *g) {
  if (g->m == 0 || g->n == 0) return;
  size_t es = g->f64 ? 8 : 4;
  if (g->k == 0) { /* no product: C = beta C */
    for (int64_t i = 0; i < g->m; i++) {
      char *row = g->c + (size_t)(i * g->ldc) * es;
      if (g->beta == 0) {
        memset(row, 0, (size_t)g->n * es);
      } else if (g->beta != 1) {
        for (int64_t j = 0; j < g->n; j++) {
          if (g->f64)
            ((double *)(void *)row)[j] *= g->beta;
          else
            ((float *)(void *)row)[j] *= (float)g->beta;
        }
      }
    }
    return;
  }
  CBLAS_TRANSPOSE ta = g->ta ? CblasTrans : CblasNoTrans, tb = g->tb ? CblasTrans : CblasNoTrans;
  if (g->f64)
    cblas_dgemm(CblasRowMajor, ta, tb, (int)g->m, (int)g->n, (int)g->k, 1.0, (const double *)(const void *)g->a,
                (int)g->lda, (const double *)(const void *)g->b, (int)g->ldb, g->beta, (double *)(void *)g->c,
                (int)g->ldc);
  else
    cblas_sgemm(CblasRowMajor, ta, tb, (int)g->m, (int)g->n, (int)g->k, 1.0f, (const float *)(const void *)g->a,
                (int)g->lda, (const float *)(const void *)g->b, (int)g->ldb, (float)g->beta, (float *)(void *)g->c,
                (int)g->ldc);
}

typedef struct {
  const gemm_job *g;
  bool rows; /* tiles of C's rows, else of its columns */
  int64_t tile, ntiles;
  atomic_llong next;
} tiles_t;

static void tiles_task(int64_t b0, int64_t b1, void *ctx) {
  (void)b0, (void)b1;
  tiles_t *t = ctx;
  const gemm_job *g = t->g;
  size_t es = g->f64 ? 8 : 4;
  for (;;) {
    int64_t i = atomic_fetch_add(&t->next, 1);
    if (i >= t->ntiles) break;
    gemm_job s = *g;
    int64_t lo = i * t->tile, dim = t->rows ? g->m : g->n, hi = lo + t->tile < dim ? lo + t->tile : dim;
    if (t->rows) { /* rows lo..hi of op(A) and C */
      s.m = hi - lo;
      s.a = g->a + (size_t)(g->ta ? lo : lo * g->lda) * es;
      s.c = g->c + (size_t)(lo * g->ldc) * es;
    } else { /* columns lo..hi of op(B) and C */
      s.n = hi - lo;
      s.b = g->b + (size_t)(g->tb ? lo * g->ldb : lo) * es;
      s.c = g->c + (size_t)lo * es;
    }
    gemm_serial(&s);
  }
}

/* Tiles for `dim` rows (or columns) costing `per_row` each: at most `want` of at least
 * `min_tile`, edges on multiples of `align`, the last above OPENBLAS_SMALL_WORK (linalg.c's plan). */
static int64_t plan_tiles(int64_t dim, int64_t want, int64_t min_tile, int64_t align, double per_row, int64_t *tile) {
  for (int64_t n = want; n >= 2; n--) {
    int64_t t = (dim + n - 1) / n;
    if (t < min_tile) continue;
    t = (t + align - 1) / align * align;
    int64_t count = (dim + t - 1) / t;
    if (count < 2 || (double)(dim - (count - 1) * t) * per_row <= OPENBLAS_SMALL_WORK) continue;
    *tile = t;
    return count;
  }
  return 1;
}

/* One product, split over the pool when it is worth it; bit-identical for any thread count. */
static void gemm_run(const gemm_job *g) {
  if (g->m == 0 || g->n == 0) return;
  if (openblas_get_num_threads() != 1) openblas_set_num_threads(1); /* a host program may have changed it */
  int nt = tc_in_parallel_region() ? 1 : tc_get_num_threads();
  double work = (double)g->m * (double)g->n * (double)(g->k > 0 ? g->k : 1);
  if (nt <= 1 || work < 2.0 * (double)SPLIT_MIN_WORK || g->k == 0) {
    gemm_serial(g);
    return;
  }
  tiles_t t = {.g = g, .rows = g->f64 || g->m >= g->n};
  int64_t align = g->f64 ? DGEMM_TILE_ALIGN : TILE_ALIGN;
  int64_t dim = t.rows ? g->m : g->n, other = t.rows ? g->n : g->m;
  int64_t want = 2 * (int64_t)nt, by_work = (int64_t)(work / (double)SPLIT_MIN_WORK);
  if (want > by_work) want = by_work;
  int64_t min_tile = other < GEMM_TILE_MIN ? align : GEMM_TILE_MIN;
  t.ntiles = plan_tiles(dim, want, min_tile, align, (double)other * (double)g->k, &t.tile);
  if (t.ntiles < 2) {
    gemm_serial(g);
    return;
  }
  atomic_store(&t.next, 0);
  tc_parallel_for(t.ntiles < nt ? t.ntiles : nt, 1, tiles_task, &t);
}

/* ---- matrices over strided tensors ------------------------------------------------------------------ */
/* A (rows, cols) matrix: element (i, j) at p + (i*rs + j*cs) elements. `tmp` owns a copy when the
 * tensor's own layout could not be used. */
typedef struct {
  const char *p;
  int64_t rows, cols, rs, cs;
  tc_tensor *tmp;
} mat;

static mat mat_t(mat m) { return (mat){m.p, m.cols, m.rows, m.cs, m.rs, NULL}; }

/* t (*, k) viewed as (M, k) in dtype `dt`: t's own memory when the leading dims merge and BLAS can
 * read the result, else a contiguous copy (converted to dt). */
static tc_status as_mat(const tc_tensor *t, tc_dtype dt, mat *m) {
  int nd = t->ndim;
  int64_t k = t->sizes[nd - 1];
  int64_t rows = tc__numel(t->sizes, nd - 1);
  *m = (mat){NULL, rows, k, k, 1, NULL};
  bool ok = t->dtype == dt;
  int64_t rs = 0;
  bool have = false;
  for (int d = nd - 2; ok && d >= 0; d--) { /* innermost leading dim first */
    if (t->sizes[d] == 1) continue;
    if (!have) {
      rs = t->strides[d];
      have = true;
    } else {
      int64_t inner = 1; /* rows covered by the dims inside d */
      for (int e = d + 1; e < nd - 1; e++) inner *= t->sizes[e];
      ok = t->strides[d] == rs * inner;
    }
  }
  int64_t cs = k > 1 ? t->strides[nd - 1] : 1;
  if (!have) rs = k > 0 ? k * (cs > 0 ? cs : 1) : 1;
  bool tr;
  int64_t ld;
  if (ok && tc__blas_layout(rows, k, rs, cs, &tr, &ld)) {
    m->p = tc__ptr(t);
    m->rs = rs;
    m->cs = cs;
    return TC_OK;
  }
  m->tmp = tc__to_dtype_contig(t, dt);
  if (!m->tmp) return tc_last_status();
  m->p = tc__ptr(m->tmp);
  return TC_OK;
}

/* C(m, n) (contiguous rows, ldc) = A @ B + beta C; the operands already BLAS-readable. */
static void matmul_into(bool f64, mat a, mat b, char *c, int64_t ldc, double beta) {
  gemm_job g = {
      .f64 = f64, .m = a.rows, .n = b.cols, .k = a.cols, .a = a.p, .b = b.p, .beta = beta, .c = c, .ldc = ldc};
  tc__blas_layout(a.rows, a.cols, a.rs, a.cs, &g.ta, &g.lda);
  tc__blas_layout(b.rows, b.cols, b.rs, b.cs, &g.tb, &g.ldb);
  gemm_run(&g);
}

/* ---- forward ------------------------------------------------------------------------------------------ */
typedef struct {
  bool has_bias;
} linear_ctx;

static tc_status linear_backward(tc__node *n, tc_tensor *const *go, tc_tensor **gi);

/* y = x W^T + b computed into a new tensor (compute dtype f32/f64). */
static tc_tensor *linear_compute(const tc_tensor *x, const tc_tensor *w, const tc_tensor *b, tc_dtype cdt) {
  bool f64 = cdt == TC_F64;
  int64_t out_f = w->sizes[0];
  mat X = {0}, W = {0};
  tc_tensor *bc = NULL, *y = NULL;
  if (as_mat(x, cdt, &X) || as_mat(w, cdt, &W)) goto done;
  if (b && !(bc = tc__to_dtype_contig(b, cdt))) goto done;
  int64_t shape[TC_MAX_DIMS];
  memcpy(shape, x->sizes, sizeof(int64_t) * (size_t)x->ndim);
  shape[x->ndim - 1] = out_f;
  if (!(y = tc__empty(shape, x->ndim, cdt, x->storage->device))) goto done;
  int64_t M = X.rows;
  if (M > INT_MAX || out_f > INT_MAX) {
    tc__error(TC_ERR_UNSUPPORTED, "tc_linear: input %s, weight %s: a matrix dim above %d is beyond 32-bit BLAS",
              tc__tshape(x), tc__tshape(w), INT_MAX);
    tc_tensor_release(y);
    y = NULL;
    goto done;
  }
  if (M > 0 && out_f > 0) {
    char *c = tc__ptr(y);
    if (bc) { /* every row starts as the bias */
      size_t row = (size_t)out_f * (f64 ? 8 : 4);
      const char *bp = tc__ptr(bc);
      for (int64_t i = 0; i < M; i++) memcpy(c + (size_t)i * row, bp, row);
    }
    matmul_into(f64, X, mat_t(W), c, out_f, bc ? 1.0 : 0.0);
  }
done:
  tc_tensor_release(X.tmp);
  tc_tensor_release(W.tmp);
  tc_tensor_release(bc);
  return y;
}

tc_tensor *tc_linear(const tc_tensor *x, const tc_tensor *w, const tc_tensor *b) {
  const char *fn = "tc_linear";
  tc__amp_call am;
  if (tc__amp_begin(&am, TC__AMP_LOWER, 3, x, w, b))
    return tc__amp_end(&am, am.ok ? tc_linear(am.in[0], am.in[1], am.in[2]) : NULL);
  TC__NONNULL_T(x, fn);
  TC__NONNULL_T(w, fn);
  if (tc__check_same_device(fn, x, w)) return NULL;
  if (b && tc__check_same_device(fn, x, b)) return NULL;
  if (!tc_dtype_is_floating(x->dtype)) {
    tc__error(TC_ERR_DTYPE, "%s: expected a floating-point input, got %s", fn, tc_dtype_name(x->dtype));
    return NULL;
  }
  if (w->dtype != x->dtype || (b && b->dtype != x->dtype)) {
    tc__error(TC_ERR_DTYPE, "%s: input, weight and bias must have the same dtype, got %s, %s and %s", fn,
              tc_dtype_name(x->dtype), tc_dtype_name(w->dtype), b ? tc_dtype_name(b->dtype) : "none");
    return NULL;
  }
  if (w->ndim != 2) {
    tc__error(TC_ERR_SHAPE, "%s: weight must be 2-D (out_features, in_features), got %s", fn, tc__tshape(w));
    return NULL;
  }
  if (x->ndim < 1) {
    tc__error(TC_ERR_SHAPE, "%s: input must have at least 1 dim (*, in_features), got %s", fn, tc__tshape(x));
    return NULL;
  }
  if (x->sizes[x->ndim - 1] != w->sizes[1]) {
    tc__error(TC_ERR_SHAPE, "%s: input %s has %lld features but weight %s expects %lld", fn, tc__tshape(x),
              (long long)x->sizes[x->ndim - 1], tc__tshape(w), (long long)w->sizes[1]);
    return NULL;
  }
  if (b && (b->ndim != 1 || b->sizes[0] != w->sizes[0])) {
    tc__error(TC_ERR_SHAPE, "%s: bias %s does not match weight %s: expected [%lld]", fn, tc__tshape(b), tc__tshape(w),
              (long long)w->sizes[0]);
    return NULL;
  }
  if (!tc__is_cpu(x)) { /* a device: x @ w^T (+ b) through the recorded device ops */
    tc_tensor *wt = tc_t(w), *xw = tc_matmul(x, wt);
    tc_tensor_release(wt);
    if (!b || !xw) return xw;
    tc_tensor *r = tc_add(xw, b, 1.0);
    tc_tensor_release(xw);
    return r;
  }
  tc_dtype cdt = tc__compute_dtype(x->dtype);
  tc_tensor *y = linear_compute(x, w, b, cdt);
  if (y && cdt != x->dtype) {
    tc_tensor *r = tc__to_dtype_contig(y, x->dtype);
    tc_tensor_release(y);
    y = r;
  }
  if (!y) return NULL;
  const tc_tensor *in[3] = {x, w, b};
  linear_ctx c = {b != NULL};
  return tc__record(y, b ? "AddmmBackward0" : "MmBackward0", linear_backward, b ? 3 : 2, in, 2, in, &c, sizeof c);
}

/* ---- backward ----------------------------------------------------------------------------------------- */
/* gradient in the compute dtype -> the input's dtype (new reference; consumes g) */
static tc_tensor *finish(tc_tensor *g, tc_dtype dt) {
  if (!g || g->dtype == dt) return g;
  tc_tensor *r = tc__to_dtype_contig(g, dt);
  tc_tensor_release(g);
  return r;
}

static tc_status linear_backward(tc__node *n, tc_tensor *const *go, tc_tensor **gi) {
  const linear_ctx *c = tc__node_ctx(n);
  const tc_tensor *x = tc__node_saved(n, 0), *w = tc__node_saved(n, 1);
  if (!x || !w) return tc_last_status();
  const tc_tensor *g = go[0]; /* (*, out) */
  tc_dtype dt = x->dtype, cdt = tc__compute_dtype(dt);
  bool f64 = cdt == TC_F64;
  bool need_x = n->next[0].node, need_w = n->next[1].node, need_b = c->has_bias && n->next[2].node;
  int64_t in_f = w->sizes[1], out_f = w->sizes[0];
  mat G = {0}, X = {0}, W = {0};
  tc_tensor *gx = NULL, *gw = NULL, *gb = NULL;
  tc_status s = as_mat(g, cdt, &G);
  if (!s && need_x) { /* dX(M, in) = G(M, out) @ W(out, in) */
    s = as_mat(w, cdt, &W);
    if (!s && !(gx = tc__empty(x->sizes, x->ndim, cdt, x->storage->device))) s = tc_last_status();
    if (!s) {
      if (G.rows > 0 && in_f > 0) matmul_into(f64, G, W, tc__ptr(gx), in_f, 0.0);
      if (!(gx = finish(gx, dt))) s = tc_last_status();
    }
  }
  if (!s && need_w) { /* dW(out, in) = G^T(out, M) @ X(M, in) */
    s = as_mat(x, cdt, &X);
    if (!s && !(gw = tc__empty(w->sizes, 2, cdt, w->storage->device))) s = tc_last_status();
    if (!s) {
      if (out_f > 0 && in_f > 0) matmul_into(f64, mat_t(G), X, tc__ptr(gw), in_f, 0.0);
      if (!(gw = finish(gw, dt))) s = tc_last_status();
    }
  }
  if (!s && need_b) {                         /* db(out) = sum of G's rows */
    const tc_tensor *src = G.tmp ? G.tmp : g; /* (M, out) with G's strides, in the compute dtype */
    int64_t sz[2] = {G.rows, out_f}, st[2] = {G.rs, G.cs};
    tc_tensor *v = tc__view(src, sz, st, 2, src->offset);
    if (!v) {
      s = tc_last_status();
    } else {
      int64_t d0 = 0;
      gb = tc_sum(v, &d0, 1, false);
      tc_tensor_release(v);
      if (!gb || !(gb = finish(gb, dt))) s = tc_last_status();
    }
  }
  tc_tensor_release(G.tmp);
  tc_tensor_release(X.tmp);
  tc_tensor_release(W.tmp);
  if (s) {
    tc_tensor_release(gx);
    tc_tensor_release(gw);
    tc_tensor_release(gb);
    return s;
  }
  gi[0] = gx;
  gi[1] = gw;
  if (c->has_bias) gi[2] = gb;
  return TC_OK;
}
