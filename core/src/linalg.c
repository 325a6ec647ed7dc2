/* core/src/linalg.c — matrix products on OpenBLAS: matmul, mm, bmm, mv, dot, outer, addmm.
 *
 * Every product is reduced to one engine: C = beta*C + alpha * A @ B over a batch of strided
 * matrices (1-D operands become a (1, k) row or a (k, 1) column, broadcast batch dims get stride
 * 0). Per dtype:
 *   - f32/f64/c64: OpenBLAS (cblas_?gemm, ?gemv for matrix-vector shapes, ?dot). A strided operand
 *     goes to BLAS without a copy when one of its last two strides is 1 (CblasTrans + ld); only
 *     other layouts are copied to contiguous first.
 *   - f16/bf16: computed in f32 and rounded back once, as PyTorch.
 *   - integers: a blocked C loop with wrapping (two's complement) arithmetic, as PyTorch's.
 *
 * Threads. OpenBLAS always runs single-threaded here (tc__blas_set_threads pins it to 1): its
 * thread count is process-global, and concurrent calls into a multi-threaded OpenBLAS 0.3.21 (from
 * pool tasks, or from several application threads) serialise inside it (measured: two 512^3
 * sgemm calls issued together with 2 OpenBLAS threads end at T and 2T; with 1 thread both end at
 * about T), while its idle threads spin and take the cores from ctorch's pool. Instead ctorch
 * parallelises the products itself, over its one pool:
 *   - a large single product is cut into row (or column) tiles, one OpenBLAS call per tile; tile
 *     edges fall where OpenBLAS computes every element with the same micro-kernel and k order as
 *     in one call (see gemm_run), so results are bit-identical for 1 or N threads;
 *   - a batch of small products runs batch entries in parallel, one call each;
 *   - a batch of large products runs one entry after another, each tiled over the pool;
 *   - matrix-vector products are cut into fixed chunks (independent of the thread count, so
 *     results are too); dots are one call.
 * Inside a pool task (tc_in_parallel_region) everything runs on the calling thread.
 */
#include <cblas.h>
#include <limits.h>
#include "dtype_macros.h"
#include "internal.h"

/* OpenBLAS stays single-threaded; `n` is the pool's count, which linalg reads itself. */
void tc__blas_set_threads(int n) {
  (void)n;
  openblas_set_num_threads(1);
}

/* A host program may have changed OpenBLAS's thread count since (openblas_set_num_threads is
 * process-global): put it back before ctorch calls BLAS from several threads. Cheap (reads an int). */
static void blas_single_threaded(void) {
  if (openblas_get_num_threads() != 1) openblas_set_num_threads(1);
}

/* Work (m*n*k multiply-adds) below which a product is not split over the pool: about 20 us on
 * one core, against a few us to wake the pool. */
#define SPLIT_MIN_WORK ((int64_t)1 << 21)
/* Tiles and chunks start on multiples of this (rows or columns): a multiple of the sgemm
 * micro-kernel's unroll (dgemm tiles use 48, see gemm_run). */
#define TILE_ALIGN 16
/* Fixed chunking for memory-bound matrix-vector products (elements per chunk). */
#define MV_CHUNK_WORK ((int64_t)1 << 16)

static bool is_blas_dtype(tc_dtype d) { return d == TC_F32 || d == TC_F64 || d == TC_C64; }

/* ---- one product: C(m,n) = beta*C + alpha * A(m,k) @ B(k,n) ---------------------------------- */
typedef struct {
  tc_dtype dt;      /* f32, f64, c64 or an integer dtype */
  int64_t m, n, k;
  char *a;          /* A(m,k): element (i,p) at a + (i*ars + p*acs) elements */
  int64_t ars, acs;
  char *b;          /* B(k,n) */
  int64_t brs, bcs;
  char *c;          /* C(m,n): rows of unit-stride elements, ldc apart */
  int64_t ldc;
  double alpha, beta; /* integers: truncated toward zero, as PyTorch */
} gemm_t;

/* How BLAS sees a (rows, cols) matrix with element strides (rs, cs) in row-major order: NoTrans
 * with ld = rs when columns are unit-stride, or Trans with ld = cs when rows are. False when
 * neither holds (the operand must be copied). Strides of size-1 dims do not matter. */
bool tc__blas_layout(int64_t rows, int64_t cols, int64_t rs, int64_t cs, bool *trans, int64_t *ld) {
  *trans = false;
  *ld = 1;
  if (rows > INT_MAX || cols > INT_MAX) return false;
  if (cols <= 1) cs = 1;
  if (rows <= 1) rs = cs == 1 ? (cols > 1 ? cols : 1) : 1;
  if (cs == 1 && rs >= (cols > 1 ? cols : 1) && rs <= INT_MAX) {
    *trans = false;
    *ld = rs;
    return true;
  }
  if (rs == 1 && cs >= (rows > 1 ? rows : 1) && cs <= INT_MAX) {
    *trans = true;
    *ld = cs;
    return true;
  }
  return false;
}

/* Whether the engine takes an operand as it is (else the caller copies it to contiguous). The
 * integer kernel wants B's rows unit-stride; BLAS wants tc__blas_layout. */
static bool layout_ok(tc_dtype dt, bool is_b, int64_t rows, int64_t cols, int64_t rs, int64_t cs) {
  bool t;
  int64_t ld;
  if (is_blas_dtype(dt)) return tc__blas_layout(rows, cols, rs, cs, &t, &ld);
  return !is_b || cols <= 1 || cs == 1;
}

/* C = beta*C for a BLAS dtype (beta 0 writes zeros, ignoring NaN in C as BLAS does). */
static void scale_c(const gemm_t *g) {
  size_t es = tc_dtype_size(g->dt);
  for (int64_t i = 0; i < g->m; i++) {
    char *row = g->c + (size_t)(i * g->ldc) * es;
    if (g->beta == 0) {
      memset(row, 0, (size_t)g->n * es);
    } else if (g->beta != 1) {
      if (g->dt == TC_F32) {
        float *r = (float *)(void *)row, bf = (float)g->beta;
        for (int64_t j = 0; j < g->n; j++) r[j] *= bf;
      } else if (g->dt == TC_F64) {
        double *r = (double *)(void *)row;
        for (int64_t j = 0; j < g->n; j++) r[j] *= g->beta;
      } else { /* c64: real beta */
        float *r = (float *)(void *)row, bf = (float)g->beta;
        for (int64_t j = 0; j < 2 * g->n; j++) r[j] *= bf;
      }
    }
  }
}

/* cblas_?gemm on the whole of g (layouts already checked). */
static void blas_gemm(const gemm_t *g) {
  bool ta, tb;
  int64_t lda, ldb;
  tc__blas_layout(g->m, g->k, g->ars, g->acs, &ta, &lda);
  tc__blas_layout(g->k, g->n, g->brs, g->bcs, &tb, &ldb);
  enum CBLAS_TRANSPOSE TA = ta ? CblasTrans : CblasNoTrans, TB = tb ? CblasTrans : CblasNoTrans;
  int m = (int)g->m, n = (int)g->n, k = (int)g->k;
  switch (g->dt) {
    case TC_F32:
      cblas_sgemm(CblasRowMajor, TA, TB, m, n, k, (float)g->alpha, (const float *)(void *)g->a, (int)lda,
                  (const float *)(void *)g->b, (int)ldb, (float)g->beta, (float *)(void *)g->c, (int)g->ldc);
      break;
    case TC_F64:
      cblas_dgemm(CblasRowMajor, TA, TB, m, n, k, g->alpha, (const double *)(void *)g->a, (int)lda,
                  (const double *)(void *)g->b, (int)ldb, g->beta, (double *)(void *)g->c, (int)g->ldc);
      break;
    default: {
      tc__c64 al = (float)g->alpha, be = (float)g->beta;
      cblas_cgemm(CblasRowMajor, TA, TB, m, n, k, &al, g->a, (int)lda, g->b, (int)ldb, &be, g->c, (int)g->ldc);
    }
  }
}

/* y = alpha * M x + beta * y with M (rows, cols) at p with layout (trans, ld) as tc__blas_layout gave. */
static void blas_gemv(tc_dtype dt, bool trans, int64_t rows, int64_t cols, int64_t ld, double alpha, const char *p,
                      const char *x, int64_t incx, double beta, char *y, int64_t incy) {
  /* Row-major (rows, cols) NoTrans; Trans means p holds (cols, rows) row-major, used transposed. */
  enum CBLAS_TRANSPOSE T = trans ? CblasTrans : CblasNoTrans;
  int M = (int)(trans ? cols : rows), N = (int)(trans ? rows : cols);
  switch (dt) {
    case TC_F32:
      cblas_sgemv(CblasRowMajor, T, M, N, (float)alpha, (const float *)(const void *)p, (int)ld,
                  (const float *)(const void *)x, (int)incx, (float)beta, (float *)(void *)y, (int)incy);
      break;
    case TC_F64:
      cblas_dgemv(CblasRowMajor, T, M, N, alpha, (const double *)(const void *)p, (int)ld,
                  (const double *)(const void *)x, (int)incx, beta, (double *)(void *)y, (int)incy);
      break;
    default: {
      tc__c64 al = (float)alpha, be = (float)beta;
      cblas_cgemv(CblasRowMajor, T, M, N, &al, p, (int)ld, x, (int)incx, &be, y, (int)incy);
    }
  }
}

/* c = alpha * dot(x, y) + beta * c (unconjugated; beta 0 ignores c). */
static void blas_dot_into(const gemm_t *g, const char *x, int64_t incx, const char *y, int64_t incy) {
  int n = (int)g->k, ix = (int)incx, iy = (int)incy;
  if (g->dt == TC_F32) {
    float d = cblas_sdot(n, (const float *)(const void *)x, ix, (const float *)(const void *)y, iy);
    float *c = (float *)(void *)g->c, al = (float)g->alpha, be = (float)g->beta;
    *c = be == 0 ? al * d : al * d + be * *c;
  } else if (g->dt == TC_F64) {
    double d = cblas_ddot(n, (const double *)(const void *)x, ix, (const double *)(const void *)y, iy);
    double *c = (double *)(void *)g->c;
    *c = g->beta == 0 ? g->alpha * d : g->alpha * d + g->beta * *c;
  } else {
    tc__c64 d = 0, *c = (tc__c64 *)(void *)g->c;
    float al = (float)g->alpha, be = (float)g->beta;
    cblas_cdotu_sub(n, x, ix, y, iy, &d);
    *c = be == 0 ? al * d : al * d + be * *c;
  }
}

/* ---- integer kernel ----------------------------------------------------------------------------
 * C = beta*C + alpha*A@B in wrapping arithmetic: products and sums are done in an unsigned type of
 * at least the element's width, so overflow wraps modulo 2^bits exactly as PyTorch's (which sums
 * in the element type) and is never undefined. Blocked so that a (KB x NB) panel of B stays in
 * L2 and a C row block in L1; the inner loop runs over unit-stride rows of B and C (vectorised). */
#define IGEMM_NB 256
#define IGEMM_KB 256

#define DEF_IGEMM(TAG, T, UW, UM)                                                                    \
  static void igemm_##TAG(const gemm_t *g) {                                                         \
    const T *a = (const T *)(const void *)g->a;                                                      \
    UW alpha = (UW)tc__double_to_i64(g->alpha), beta = (UW)tc__double_to_i64(g->beta);               \
    int64_t m = g->m, n = g->n, k = g->k;                                                            \
    for (int64_t i = 0; i < m; i++) {                                                                \
      UW *cr = (UW *)(void *)g->c + i * g->ldc;                                                      \
      if (beta == 0) {                                                                               \
        for (int64_t j = 0; j < n; j++) cr[j] = 0;                                                   \
      } else if (beta != 1) {                                                                        \
        for (int64_t j = 0; j < n; j++) cr[j] = (UW)((UM)beta * (UM)cr[j]);                          \
      }                                                                                              \
    }                                                                                                \
    if (k == 0 || alpha == 0) return;                                                                \
    if (n == 1) { /* matrix-vector: one dot per row */                                               \
      const UW *b = (const UW *)(const void *)g->b;                                                  \
      for (int64_t i = 0; i < m; i++) {                                                              \
        UM acc = 0;                                                                                  \
        const T *ar = a + i * g->ars;                                                                \
        for (int64_t p = 0; p < k; p++) acc += (UM)(UW)ar[p * g->acs] * (UM)b[p * g->brs];           \
        UW *cr = (UW *)(void *)g->c + i * g->ldc;                                                    \
        cr[0] = (UW)(cr[0] + (UW)((UM)alpha * acc));                                                 \
      }                                                                                              \
      return;                                                                                        \
    }                                                                                                \
    for (int64_t j0 = 0; j0 < n; j0 += IGEMM_NB) {                                                   \
      int64_t jn = n - j0 < IGEMM_NB ? n - j0 : IGEMM_NB;                                            \
      for (int64_t p0 = 0; p0 < k; p0 += IGEMM_KB) {                                                 \
        int64_t pn = k - p0 < IGEMM_KB ? k - p0 : IGEMM_KB;                                          \
        for (int64_t i = 0; i < m; i++) {                                                            \
          UW *restrict cr = (UW *)(void *)g->c + i * g->ldc + j0;                                    \
          const T *ar = a + i * g->ars;                                                              \
          for (int64_t p = p0; p < p0 + pn; p++) {                                                   \
            UM av = (UM)alpha * (UM)(UW)ar[p * g->acs];                                              \
            if (av == 0) continue;                                                                   \
            const UW *restrict br = (const UW *)(const void *)g->b + p * g->brs + j0;                \
            for (int64_t j = 0; j < jn; j++) cr[j] = (UW)(cr[j] + (UW)(av * (UM)br[j]));             \
          }                                                                                          \
        }                                                                                            \
      }                                                                                              \
    }                                                                                                \
  }
DEF_IGEMM(i64, int64_t, uint64_t, uint64_t)
DEF_IGEMM(i32, int32_t, uint32_t, uint32_t)
DEF_IGEMM(i16, int16_t, uint16_t, uint32_t)
DEF_IGEMM(i8, int8_t, uint8_t, uint32_t)
DEF_IGEMM(u8, uint8_t, uint8_t, uint32_t)
DEF_IGEMM(u16, uint16_t, uint16_t, uint32_t)

/* One product on the calling thread. */
static void gemm_serial(const gemm_t *g) {
  if (g->m == 0 || g->n == 0) return;
  switch (g->dt) {
    case TC_I64: igemm_i64(g); return;
    case TC_I32: igemm_i32(g); return;
    case TC_I16: igemm_i16(g); return;
    case TC_I8: igemm_i8(g); return;
    case TC_U8: igemm_u8(g); return;
    case TC_U16: igemm_u16(g); return;
    default: break;
  }
  if (g->k == 0 || g->alpha == 0) { /* no product: C = beta*C, as BLAS (NaN in A@B ignored) */
    scale_c(g);
    return;
  }
  bool ta, tb;
  int64_t lda, ldb;
  if (g->n == 1 || g->m == 1) {
    tc__blas_layout(g->m, g->k, g->ars, g->acs, &ta, &lda);
    tc__blas_layout(g->k, g->n, g->brs, g->bcs, &tb, &ldb);
    /* element strides of A's row and B's column as BLAS sees them */
    int64_t a_cs = ta ? lda : 1, b_rs = tb ? 1 : ldb;
    if (g->n == 1 && g->m == 1) {
      blas_dot_into(g, g->a, a_cs, g->b, b_rs);
      return;
    }
    if (g->beta == 0) scale_c(g); /* zero y first: gemv's beta = 0 may scale NaN */
    double beta = g->beta == 0 ? 1 : g->beta;
    if (g->n == 1) /* y(m) = A x: A as stored, x = B's column */
      blas_gemv(g->dt, ta, g->m, g->k, lda, g->alpha, g->a, g->b, b_rs, beta, g->c, g->ldc);
    else /* y(n) = B^T x: B transposed as stored, x = A's row */
      blas_gemv(g->dt, !tb, g->n, g->k, ldb, g->alpha, g->b, g->a, a_cs, beta, g->c, 1);
    return;
  }
  blas_gemm(g);
}

/* ---- splitting one product over the pool ------------------------------------------------------ */
typedef struct {
  const gemm_t *g;
  bool rows;          /* tiles of rows (else of columns) */
  int64_t tile;       /* rows or columns per tile */
  int64_t ntiles;
  atomic_llong next;  /* next tile to take */
} tiles_t;

/* The sub-product of tile `i`. */
static void run_tile(const tiles_t *t, int64_t i) {
  const gemm_t *g = t->g;
  size_t es = tc_dtype_size(g->dt);
  gemm_t s = *g;
  int64_t dim = t->rows ? g->m : g->n;
  int64_t lo = i * t->tile, hi = lo + t->tile < dim ? lo + t->tile : dim;
  if (t->rows) {
    s.m = hi - lo;
    s.a = g->a + (size_t)(lo * g->ars) * es;
    s.c = g->c + (size_t)(lo * g->ldc) * es;
  } else {
    s.n = hi - lo;
    s.b = g->b + (size_t)(lo * g->bcs) * es;
    s.c = g->c + (size_t)lo * es;
  }
  gemm_serial(&s);
}

/* Each pool thread takes tiles until none is left. A sleeping worker can take a while to wake on
 * a shared (virtual) machine; taking tiles one by one lets the threads already running do its
 * share meanwhile. Which thread computes a tile does not change its result. */
static void tiles_task(int64_t b, int64_t e, void *ctx) {
  (void)b, (void)e;
  tiles_t *t = ctx;
  for (;;) {
    int64_t i = atomic_fetch_add(&t->next, 1);
    if (i >= t->ntiles) break;
    run_tile(t, i);
  }
}

static void run_tiles(tiles_t *t, int nt) {
  atomic_store(&t->next, 0);
  int64_t workers = t->ntiles < nt ? t->ntiles : nt;
  tc_parallel_for(workers, 1, tiles_task, t);
}

/* Rows (or columns) per gemm tile: one tile per thread, at least 128 rows and SPLIT_MIN_WORK.
 * More, smaller tiles cost OpenBLAS time (each tile repacks the whole other operand): 256^3 in
 * tiles of 128 rows runs at 97% of one call, of 64 rows at 92%, of 32 rows at 83%; 1024^3 on 2
 * threads took 11.1 ms in 2 tiles against 11.7 ms in 4. */
#define GEMM_TILE_MIN 128
/* OpenBLAS (0.3.21, SkylakeX/Cooperlake kernels) computes products of at most 100^3 multiply-adds
 * with separate "small matrix" kernels that round differently: no tile may fall under that when
 * the whole product does not, or results would depend on the thread count. */
#define OPENBLAS_SMALL_WORK 1e6

/* Tiles for `dim` rows (or columns), each row costing `per_row` multiply-adds: at most `want`
 * tiles of at least `min_tile`, edges on multiples of `align`, the last (smallest) tile above
 * OPENBLAS_SMALL_WORK. Returns the tile count (1: do not split) and sets *tile. */
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

/* One product, split over the pool when it is worth it. */
static void gemm_run(const gemm_t *g) {
  if (g->m == 0 || g->n == 0) return;
  int nt = tc_in_parallel_region() ? 1 : tc__num_threads();
  double work = (double)g->m * (double)g->n * (double)(g->k > 0 ? g->k : 1);
  bool vec = g->m == 1 || g->n == 1;
  if (nt <= 1 || work < 2.0 * (double)SPLIT_MIN_WORK || (g->m == 1 && g->n == 1)) {
    gemm_serial(g);
    return;
  }
  tiles_t t = {.g = g};
  if (vec && is_blas_dtype(g->dt) && g->k > 0 && g->alpha != 0) {
    /* gemv: memory-bound; fixed chunks of the long side (independent of the thread count) */
    t.rows = g->n == 1;
    int64_t dim = t.rows ? g->m : g->n;
    int64_t per = (MV_CHUNK_WORK / g->k + TILE_ALIGN - 1) / TILE_ALIGN * TILE_ALIGN;
    t.tile = per < TILE_ALIGN ? TILE_ALIGN : per;
    t.ntiles = (dim + t.tile - 1) / t.tile;
    run_tiles(&t, nt);
    return;
  }
  /* gemm: tiles along the longer side. Checked bit for bit against one call (OpenBLAS 0.3.21):
   * sgemm splits anywhere on multiples of 16, rows or columns; dgemm only by rows on multiples of
   * 48 (its kernel works in blocks of 24 rows); cgemm is not split. Integers are exact. */
  if (g->dt == TC_C64) {
    gemm_serial(g);
    return;
  }
  t.rows = g->dt == TC_F64 || g->m >= g->n;
  int64_t align = g->dt == TC_F64 ? 48 : TILE_ALIGN;
  int64_t dim = t.rows ? g->m : g->n, other = t.rows ? g->n : g->m;
  int64_t want = nt;
  int64_t by_work = (int64_t)(work / (double)SPLIT_MIN_WORK);
  if (want > by_work) want = by_work;
  int64_t min_tile = other < GEMM_TILE_MIN ? align : GEMM_TILE_MIN;
  t.ntiles = plan_tiles(dim, want, min_tile, align, (double)other * (double)(g->k > 0 ? g->k : 1), &t.tile);
  if (t.ntiles < 2) {
    gemm_serial(g);
    return;
  }
  run_tiles(&t, nt);
}

/* Row-major C(m, n) = op(A) op(B) + beta * C for f32/f64 with BLAS-style leading dimensions (op
 * transposes when ta / tb): split over the pool outside a parallel region, one call inside one;
 * bit-identical either way (gemm_run). For kernels (convolution) that call BLAS on raw buffers. */
void tc__gemm_rm(tc_dtype dt, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const void *a, int64_t lda,
                 const void *b, int64_t ldb, double beta, void *c, int64_t ldc) {
  gemm_t g = {.dt = dt, .m = m, .n = n, .k = k, .a = (char *)a, .b = (char *)b, .c = c, .ldc = ldc,
              .alpha = 1.0, .beta = beta};
  g.ars = ta ? 1 : lda, g.acs = ta ? lda : 1; /* A(m, k): stored (k, m) when transposed */
  g.brs = tb ? 1 : ldb, g.bcs = tb ? ldb : 1; /* B(k, n): stored (n, k) when transposed */
  blas_single_threaded();
  gemm_run(&g);
}

/* ---- batches ------------------------------------------------------------------------------------ */
typedef struct {
  gemm_t g;                  /* entry 0 of the batch (pointers at batch index 0) */
  int bnd;                   /* batch dims of the output */
  int64_t bsz[TC_MAX_DIMS];
  int64_t ast[TC_MAX_DIMS];  /* batch strides of A, B in elements (0 where broadcast) */
  int64_t bst[TC_MAX_DIMS];
  int64_t cstride;           /* C's batch stride: m*n (contiguous output) */
  int64_t nb;                /* batch count */
} batch_t;

static void batch_entry(const batch_t *p, int64_t idx, gemm_t *g) {
  size_t es = tc_dtype_size(p->g.dt);
  *g = p->g;
  int64_t ao = 0, bo = 0, rem = idx;
  for (int d = p->bnd - 1; d >= 0; d--) {
    int64_t i = rem % p->bsz[d];
    rem /= p->bsz[d];
    ao += i * p->ast[d];
    bo += i * p->bst[d];
  }
  g->a += (size_t)ao * es;
  g->b += (size_t)bo * es;
  g->c += (size_t)(idx * p->cstride) * es;
}

static void batch_task(int64_t b0, int64_t b1, void *ctx) {
  const batch_t *p = ctx;
  for (int64_t i = b0; i < b1; i++) {
    gemm_t g;
    batch_entry(p, i, &g);
    gemm_serial(&g);
  }
}

/* Folds the batch into A's rows when B is the same matrix for every entry and A's batch and row
 * dims step uniformly (e.g. (B, n, k) contiguous @ (k, m)): one (B*n, k) @ (k, m) product. */
static bool fold_batch(batch_t *p) {
  for (int d = 0; d < p->bnd; d++)
    if (p->bsz[d] > 1 && p->bst[d] != 0) return false;
  int64_t rows = p->g.m, rs = p->g.ars, span = p->g.m; /* span: rows covered so far */
  bool have_rs = rows > 1;
  for (int d = p->bnd - 1; d >= 0; d--) {
    if (p->bsz[d] == 1) continue;
    if (!have_rs) { /* single-row entries: the batch stride is the row stride */
      if (p->ast[d] % span != 0) return false;
      rs = p->ast[d] / span;
      have_rs = true;
    }
    if (p->ast[d] != rs * span) return false;
    span *= p->bsz[d];
  }
  rows = span;
  if (rows > INT_MAX || !layout_ok(p->g.dt, false, rows, p->g.k, rs, p->g.acs)) return false;
  p->g.m = rows;
  p->g.ars = rs;
  p->nb = 1;
  p->bnd = 0;
  return true;
}

static void batch_run(batch_t *p) {
  if (p->nb == 0 || p->g.m == 0 || p->g.n == 0) return;
  if (is_blas_dtype(p->g.dt)) blas_single_threaded();
  if (p->nb > 1) fold_batch(p);
  if (p->nb == 1) {
    gemm_run(&p->g);
    return;
  }
  int nt = tc_in_parallel_region() ? 1 : tc__num_threads();
  double per = (double)p->g.m * (double)p->g.n * (double)(p->g.k > 0 ? p->g.k : 1);
  /* Large entries and a batch that would leave threads idle: tile each entry over the pool. */
  if (nt > 1 && per >= (double)SPLIT_MIN_WORK * nt && p->nb % nt != 0 && p->nb < 4 * nt) {
    for (int64_t i = 0; i < p->nb; i++) {
      gemm_t g;
      batch_entry(p, i, &g);
      gemm_run(&g);
    }
    return;
  }
  /* Otherwise entries in parallel, each on one thread; chunks of at least SPLIT_MIN_WORK. */
  int64_t grain = (int64_t)((double)SPLIT_MIN_WORK / per) + 1;
  tc_parallel_for(p->nb, grain, batch_task, p);
}

/* ---- the shared op pipeline --------------------------------------------------------------------- */
/* An operand: a matrix (last two dims) or a vector used as a (1, k) row (a) or (k, 1) column (b),
 * with leading batch dims. */
typedef struct {
  const tc_tensor *t;
  bool vec;
  int bnd;                  /* its batch dims */
  int64_t rows, cols, rs, cs;
} operand;

static void describe(operand *o, const tc_tensor *t, bool vec, bool is_b) {
  o->t = t;
  o->vec = vec;
  int nd = t->ndim;
  if (vec) {
    o->bnd = nd - 1;
    int64_t len = t->sizes[nd - 1], st = t->strides[nd - 1];
    if (is_b) { /* (k, 1) column */
      o->rows = len, o->cols = 1, o->rs = st, o->cs = 1;
    } else { /* (1, k) row */
      o->rows = 1, o->cols = len, o->rs = len, o->cs = st;
    }
  } else {
    o->bnd = nd - 2;
    o->rows = t->sizes[nd - 2], o->cols = t->sizes[nd - 1];
    o->rs = t->strides[nd - 2], o->cs = t->strides[nd - 1];
  }
}

/* Computes the product of a and b (already checked: same dtype, CPU, k matching, batch dims
 * broadcasting) into a new tensor of shape batch + [n unless a is a vector] + [m unless b is].
 * With `input` (addmm): out = beta*input + alpha*a@b, input broadcasting to out's shape. */
/* ---- device GEMM (cuBLAS through the backend) ---------------------------------------------------
 * The operands are expanded to the broadcast batch shape; a matrix BLAS can read as it is (one
 * unit stride, see tc__blas_layout) is passed in place when there is no batch, otherwise batches
 * are made contiguous. Row-major C = A @ B is computed as the column-major C^T = B^T @ A^T. */
/* t (a matrix with any number of batch dims, or with vec a vector) expanded to bshape + (r, c),
 * contiguous */
static tc_tensor *batched_contig(const tc_tensor *t, bool vec, const int64_t *bshape, int bnd, int64_t r, int64_t c) {
  int64_t shape[TC_MAX_DIMS + 2];
  memcpy(shape, bshape, sizeof(int64_t) * (size_t)bnd);
  shape[bnd] = r;
  shape[bnd + 1] = c;
  tc_tensor *v = tc_tensor_retain((tc_tensor *)t), *e = NULL, *out = NULL;
  if (vec) { /* (k) as (1, k) or (k, 1); a matrix with fewer batch dims is expanded as it is */
    int64_t vs[2] = {r, c}, st[2] = {r == 1 ? 0 : t->strides[0], c == 1 ? 0 : t->strides[0]};
    tc_tensor_release(v);
    v = tc__view(t, vs, st, 2, t->offset);
  }
  if (v) e = tc__expand_to(v, shape, bnd + 2);
  if (e) out = tc__is_contiguous(e) ? tc_tensor_retain(e) : tc__to_dtype_contig(e, e->dtype);
  tc_tensor_release(e);
  tc_tensor_release(v);
  return out;
}

static tc_tensor *device_product(const char *fn, const tc_tensor *a, bool a_vec, const tc_tensor *b, bool b_vec,
                                 const tc_tensor *input, double beta, double alpha) {
  const tc__device_api *api = tc__backend(a);
  tc_dtype dt = a->dtype;
  if (!api || !api->gemm) {
    tc__kernel_missing(fn, a);
    return NULL;
  }
  if (!tc_dtype_is_floating(dt)) {
    tc__error(TC_ERR_DTYPE, "%s: matrix products of %s tensors are not supported on CUDA (as PyTorch)", fn,
              tc_dtype_name(dt));
    return NULL;
  }
  int abnd = a_vec ? 0 : a->ndim - 2, bbnd = b_vec ? 0 : b->ndim - 2;
  int64_t m = a_vec ? 1 : a->sizes[a->ndim - 2], k = a->sizes[a->ndim - 1];
  int64_t n = b_vec ? 1 : b->sizes[b->ndim - 1];
  int bnd = abnd > bbnd ? abnd : bbnd;
  int64_t shape[TC_MAX_DIMS + 2];
  for (int i = 0; i < bnd; i++) {
    int ia = abnd - bnd + i, ib = bbnd - bnd + i;
    int64_t sa = ia >= 0 ? a->sizes[ia] : 1, sb = ib >= 0 ? b->sizes[ib] : 1;
    shape[i] = sa == 1 ? sb : sa;
  }
  int64_t nb = tc__numel(shape, bnd);
  tc_tensor *ac = NULL, *bc = NULL, *out = NULL;
  /* a plain matrix (no batch dims of its own) is read in place when BLAS can: batch stride 0 */
  bool ta = false, tb = false;
  int64_t lda = k, ldb = n, sa = m * k, sb = k * n;
  if (!a_vec && a->ndim == 2 && tc__blas_layout(m, k, a->strides[0], a->strides[1], &ta, &lda))
    ac = tc_tensor_retain((tc_tensor *)a), sa = 0;
  else
    ac = batched_contig(a, a_vec, shape, bnd, m, k), ta = false, lda = k;
  if (ac && !b_vec && b->ndim == 2 && tc__blas_layout(k, n, b->strides[0], b->strides[1], &tb, &ldb))
    bc = tc_tensor_retain((tc_tensor *)b), sb = 0;
  else if (ac)
    bc = batched_contig(b, b_vec, shape, bnd, k, n), tb = false, ldb = n;
  int64_t oshape[TC_MAX_DIMS + 2];
  int ond = bnd;
  memcpy(oshape, shape, sizeof(int64_t) * (size_t)bnd);
  if (!a_vec) oshape[ond++] = m;
  if (!b_vec) oshape[ond++] = n;
  if (bc) out = tc__empty(oshape, ond, dt, a->storage->device);
  tc_status st = out ? TC_OK : TC_ERR_NOMEM;
  if (out && input && beta != 0) {
    tc_tensor *ex = tc__expand_to(input, oshape, ond);
    st = ex ? tc__copy(out, ex) : tc_last_status();
    tc_tensor_release(ex);
  } else {
    beta = 0;
  }
  if (!st && out && nb * m * n > 0) {
    if (k == 0 && beta == 0) {
      st = tc__fill(out, 0.0);
    } else {
      st = api->gemm(tc__dev_index(a), dt, tb, ta, n, m, k, alpha, tc__ptr(bc), ldb, sb, tc__ptr(ac), lda, sa, beta,
                     tc__ptr(out), n, m * n, nb, tc_cuda_matmul_allow_tf32(-1));
    }
  }
  tc_tensor_release(ac);
  tc_tensor_release(bc);
  if (st) {
    tc_tensor_release(out);
    return NULL;
  }
  return out;
}

static tc_tensor *product(const char *fn, const tc_tensor *a, bool a_vec, const tc_tensor *b, bool b_vec,
                          const tc_tensor *input, double beta, double alpha) {
  if (!tc__is_cpu(a)) return device_product(fn, a, a_vec, b, b_vec, input, beta, alpha);
  tc_dtype dt = a->dtype;
  if (dt == TC_F16 || dt == TC_BF16) { /* compute in f32, round once */
    tc_tensor *a32 = tc__to_dtype_contig(a, TC_F32);
    tc_tensor *b32 = a32 ? tc__to_dtype_contig(b, TC_F32) : NULL;
    tc_tensor *r32 = b32 ? product(fn, a32, a_vec, b32, b_vec, input, beta, alpha) : NULL;
    tc_tensor *r = r32 ? tc__to_dtype_contig(r32, dt) : NULL;
    tc_tensor_release(r32);
    tc_tensor_release(b32);
    tc_tensor_release(a32);
    return r;
  }
  if (!is_blas_dtype(dt)) { /* integers: truncated scalars; beta 0 ignores input */
    beta = (double)tc__double_to_i64(beta);
    alpha = (double)tc__double_to_i64(alpha);
  }
  operand A, B;
  describe(&A, a, a_vec, false);
  describe(&B, b, b_vec, true);
  if (is_blas_dtype(dt) && (A.rows > INT_MAX || A.cols > INT_MAX || B.cols > INT_MAX)) {
    tc__error(TC_ERR_UNSUPPORTED, "%s: a is %s, b is %s: a matrix dim above %d is beyond 32-bit BLAS", fn,
              tc__tshape(a), tc__tshape(b), INT_MAX);
    return NULL;
  }
  /* output shape: broadcast batch dims, then the matrix dims that are not squeezed */
  int64_t shape[TC_MAX_DIMS + 2];
  int bnd = A.bnd > B.bnd ? A.bnd : B.bnd;
  for (int i = 0; i < bnd; i++) {
    int ia = A.bnd - bnd + i, ib = B.bnd - bnd + i;
    int64_t sa = ia >= 0 ? a->sizes[ia] : 1, sb = ib >= 0 ? b->sizes[ib] : 1;
    shape[i] = sa == 1 ? sb : sa;
  }
  int nd = bnd;
  if (!a_vec) shape[nd++] = A.rows;
  if (!b_vec) shape[nd++] = B.cols;
  /* copies (internal: no autograd history) only for layouts neither BLAS nor the integer kernel takes */
  tc_tensor *ac = NULL, *bc = NULL;
  if (!layout_ok(dt, false, A.rows, A.cols, A.rs, A.cs)) {
    if (!(ac = tc__to_dtype_contig(a, dt))) return NULL;
    describe(&A, ac, a_vec, false);
  }
  if (!layout_ok(dt, true, B.rows, B.cols, B.rs, B.cs)) {
    if (!(bc = tc__to_dtype_contig(b, dt))) {
      tc_tensor_release(ac);
      return NULL;
    }
    describe(&B, bc, b_vec, true);
  }
  tc_tensor *out = tc__empty(shape, nd, dt, a->storage->device);
  if (!out) goto fail;
  if (input && beta != 0) {
    tc_tensor *ex = tc__expand_to(input, shape, nd);
    if (!ex) goto fail;
    tc__cpu_copy(out, ex);
    tc_tensor_release(ex);
  } else {
    beta = 0;
  }
  batch_t p = {.bnd = bnd, .nb = tc__numel(shape, bnd)};
  p.g = (gemm_t){.dt = dt, .m = A.rows, .n = B.cols, .k = A.cols, .ars = A.rs, .acs = A.cs, .brs = B.rs,
                 .bcs = B.cs, .ldc = B.cols, .alpha = alpha, .beta = beta};
  if (tc__numel(shape, nd) > 0) {
    p.g.c = tc__ptr(out);
    if (p.g.k > 0) {
      p.g.a = tc__ptr(A.t);
      p.g.b = tc__ptr(B.t);
    }
    p.cstride = p.g.m * p.g.n;
    for (int i = 0; i < bnd; i++) {
      int ia = A.bnd - bnd + i, ib = B.bnd - bnd + i;
      p.bsz[i] = shape[i];
      p.ast[i] = ia >= 0 && A.t->sizes[ia] != 1 ? A.t->strides[ia] : 0;
      p.bst[i] = ib >= 0 && B.t->sizes[ib] != 1 ? B.t->strides[ib] : 0;
    }
    batch_run(&p);
  }
  tc_tensor_release(ac);
  tc_tensor_release(bc);
  return out;
fail:
  tc_tensor_release(out);
  tc_tensor_release(ac);
  tc_tensor_release(bc);
  return NULL;
}

/* ---- argument checks ---------------------------------------------------------------------------- */
/* Devices, dtypes (equal, supported). */
static tc_status check_pair(const char *fn, const char *na, const tc_tensor *a, const char *nb, const tc_tensor *b) {
  tc_status s;
  if ((s = tc__check_same_device(fn, a, b))) return s;
  if (a->dtype != b->dtype)
    return tc__error(TC_ERR_DTYPE, "%s: expected %s and %s of the same dtype, got %s and %s", fn, na, nb,
                     tc_dtype_name(a->dtype), tc_dtype_name(b->dtype));
  if (a->dtype == TC_BOOL)
    return tc__error(TC_ERR_DTYPE, "%s: matrix products of bool tensors are not supported, as in PyTorch", fn);
  return TC_OK;
}

static tc_status check_ndim(const char *fn, const char *name, const tc_tensor *t, int want) {
  if (t->ndim == want) return TC_OK;
  return tc__error(TC_ERR_SHAPE, "%s: %s must be %d-D, got %s", fn, name, want, tc__tshape(t));
}

/* The contracted sizes agree: "tc_mm: a is [2, 3], b is [4, 5]: 3 != 4". */
static tc_status check_k(const char *fn, const char *na, const tc_tensor *a, int64_t ka, const char *nb,
                         const tc_tensor *b, int64_t kb) {
  if (ka == kb) return TC_OK;
  return tc__error(TC_ERR_SHAPE, "%s: %s is %s, %s is %s: %lld != %lld", fn, na, tc__tshape(a), nb, tc__tshape(b),
                   (long long)ka, (long long)kb);
}

/* ---- public ops --------------------------------------------------------------------------------- */
tc_tensor *tc__mm_fwd(const tc_tensor *a, const tc_tensor *b) {
  const char *fn = "tc_mm";
  TC__NONNULL_T(a, fn);
  TC__NONNULL_T(b, fn);
  if (check_pair(fn, "a", a, "b", b) || check_ndim(fn, "a", a, 2) || check_ndim(fn, "b", b, 2) ||
      check_k(fn, "a", a, a->sizes[1], "b", b, b->sizes[0]))
    return NULL;
  return product(fn, a, false, b, false, NULL, 0, 1);
}

tc_tensor *tc__bmm_fwd(const tc_tensor *a, const tc_tensor *b) {
  const char *fn = "tc_bmm";
  TC__NONNULL_T(a, fn);
  TC__NONNULL_T(b, fn);
  if (check_pair(fn, "a", a, "b", b) || check_ndim(fn, "a", a, 3) || check_ndim(fn, "b", b, 3)) return NULL;
  if (a->sizes[0] != b->sizes[0]) {
    tc__error(TC_ERR_SHAPE, "%s: a is %s, b is %s: batch sizes %lld != %lld", fn, tc__tshape(a), tc__tshape(b),
              (long long)a->sizes[0], (long long)b->sizes[0]);
    return NULL;
  }
  if (check_k(fn, "a", a, a->sizes[2], "b", b, b->sizes[1])) return NULL;
  return product(fn, a, false, b, false, NULL, 0, 1);
}

tc_tensor *tc__mv_fwd(const tc_tensor *a, const tc_tensor *v) {
  const char *fn = "tc_mv";
  TC__NONNULL_T(a, fn);
  TC__NONNULL_T(v, fn);
  if (check_pair(fn, "a", a, "v", v) || check_ndim(fn, "a", a, 2) || check_ndim(fn, "v", v, 1) ||
      check_k(fn, "a", a, a->sizes[1], "v", v, v->sizes[0]))
    return NULL;
  return product(fn, a, false, v, true, NULL, 0, 1);
}

tc_tensor *tc__dot_fwd(const tc_tensor *a, const tc_tensor *b) {
  const char *fn = "tc_dot";
  TC__NONNULL_T(a, fn);
  TC__NONNULL_T(b, fn);
  if (check_pair(fn, "a", a, "b", b) || check_ndim(fn, "a", a, 1) || check_ndim(fn, "b", b, 1) ||
      check_k(fn, "a", a, a->sizes[0], "b", b, b->sizes[0]))
    return NULL;
  return product(fn, a, true, b, true, NULL, 0, 1);
}

tc_tensor *tc__matmul_fwd(const tc_tensor *a, const tc_tensor *b) {
  const char *fn = "tc_matmul";
  TC__NONNULL_T(a, fn);
  TC__NONNULL_T(b, fn);
  if (a->ndim == 0 || b->ndim == 0) {
    tc__error(TC_ERR_SHAPE, "%s: both arguments need at least 1 dim, got a %s and b %s", fn, tc__tshape(a),
              tc__tshape(b));
    return NULL;
  }
  if (check_pair(fn, "a", a, "b", b)) return NULL;
  bool av = a->ndim == 1, bv = b->ndim == 1;
  int64_t ka = a->sizes[a->ndim - 1], kb = b->sizes[bv ? 0 : b->ndim - 2];
  if (check_k(fn, "a", a, ka, "b", b, kb)) return NULL;
  int abnd = av ? 0 : a->ndim - 2, bbnd = bv ? 0 : b->ndim - 2;
  int64_t bs[TC_MAX_DIMS];
  int nbs;
  if (tc__broadcast_shapes(fn, a->sizes, abnd, b->sizes, bbnd, bs, &nbs)) {
    tc__error(TC_ERR_SHAPE, "%s: a is %s, b is %s: batch dims %s and %s do not broadcast", fn, tc__tshape(a),
              tc__tshape(b), tc__shape_str(a->sizes, abnd), tc__shape_str(b->sizes, bbnd));
    return NULL;
  }
  return product(fn, a, av, b, bv, NULL, 0, 1);
}

tc_tensor *tc__addmm_fwd(const tc_tensor *input, const tc_tensor *a, const tc_tensor *b, double beta, double alpha) {
  const char *fn = "tc_addmm";
  TC__NONNULL_T(input, fn);
  TC__NONNULL_T(a, fn);
  TC__NONNULL_T(b, fn);
  if (check_pair(fn, "a", a, "b", b) || check_pair(fn, "input", input, "a", a) || check_ndim(fn, "a", a, 2) ||
      check_ndim(fn, "b", b, 2) || check_k(fn, "a", a, a->sizes[1], "b", b, b->sizes[0]))
    return NULL;
  int64_t out[2] = {a->sizes[0], b->sizes[1]};
  bool ok = input->ndim <= 2;
  for (int i = 0; ok && i < input->ndim; i++) {
    int64_t s = input->sizes[input->ndim - 1 - i];
    ok = s == 1 || s == out[1 - i];
  }
  if (!ok) {
    tc__error(TC_ERR_SHAPE, "%s: input is %s but a @ b is %s (a is %s, b is %s): input must broadcast to it", fn,
              tc__tshape(input), tc__shape_str(out, 2), tc__tshape(a), tc__tshape(b));
    return NULL;
  }
  return product(fn, a, false, b, false, input, beta, alpha);
}

/* ---- outer ---------------------------------------------------------------------------------------
 * out[i, j] = a[i] * b[j] in the promoted dtype (torch.outer is a broadcasting mul). */
typedef struct {
  const char *a, *b;
  int64_t as, bs; /* bytes */
  char *out;
  int64_t m;
  tc_dtype dt;
} outer_t;

#define OUTER_ROWS(T, UT, EXPR)                                                                   \
  for (int64_t i = i0; i < i1; i++) {                                                             \
    T x = *(const T *)(const void *)(o->a + i * o->as);                                           \
    T *restrict r = (T *)(void *)o->out + i * o->m;                                               \
    if (o->bs == (int64_t)sizeof(T)) {                                                            \
      const T *restrict y = (const T *)(const void *)o->b;                                        \
      for (int64_t j = 0; j < o->m; j++) r[j] = EXPR(x, y[j], T, UT);                             \
    } else {                                                                                      \
      for (int64_t j = 0; j < o->m; j++) r[j] = EXPR(x, *(const T *)(const void *)(o->b + j * o->bs), T, UT); \
    }                                                                                             \
  }
#define MUL_PLAIN(x, y, T, UT) ((x) * (y))
#define MUL_WRAP(x, y, T, UT) ((T)((UT)(x) * (UT)(y)))
#define MUL_AND(x, y, T, UT) ((x) && (y))

static void outer_task(int64_t i0, int64_t i1, void *ctx) {
  const outer_t *o = ctx;
  switch (o->dt) {
    case TC_F32: OUTER_ROWS(float, float, MUL_PLAIN) break;
    case TC_F64: OUTER_ROWS(double, double, MUL_PLAIN) break;
    case TC_C64: OUTER_ROWS(tc__c64, tc__c64, MUL_PLAIN) break;
    case TC_I64: OUTER_ROWS(int64_t, uint64_t, MUL_WRAP) break;
    case TC_I32: OUTER_ROWS(int32_t, uint32_t, MUL_WRAP) break;
    case TC_I16: OUTER_ROWS(int16_t, uint32_t, MUL_WRAP) break;
    case TC_I8: OUTER_ROWS(int8_t, uint32_t, MUL_WRAP) break;
    case TC_U8: OUTER_ROWS(uint8_t, uint32_t, MUL_WRAP) break;
    case TC_U16: OUTER_ROWS(uint16_t, uint32_t, MUL_WRAP) break;
    case TC_BOOL: OUTER_ROWS(bool, bool, MUL_AND) break;
    default: break;
  }
}

tc_tensor *tc__outer_fwd(const tc_tensor *a, const tc_tensor *b) {
  const char *fn = "tc_outer";
  TC__NONNULL_T(a, fn);
  TC__NONNULL_T(b, fn);
  if (tc__check_same_device(fn, a, b) || check_ndim(fn, "a", a, 1) || check_ndim(fn, "b", b, 1)) return NULL;
  if (!tc__is_cpu(a)) { /* a as a column times b as a row, broadcast on the device */
    tc_tensor *ac = NULL, *r = NULL;
    tc_no_grad_push();
    if ((ac = tc_reshape(a, (int64_t[]){a->sizes[0], 1}, 2))) r = tc_mul(ac, b);
    tc_no_grad_pop();
    tc_tensor_release(ac);
    return r;
  }
  tc_dtype dt = tc_promote_types(a->dtype, b->dtype);
  tc_dtype ct = tc__compute_dtype(dt); /* f16/bf16: products are exact in f32, rounded once */
  tc_tensor *ac = a->dtype == ct ? tc_tensor_retain((tc_tensor *)a) : tc__to_dtype_contig(a, ct);
  tc_tensor *bc = !ac ? NULL : b->dtype == ct ? tc_tensor_retain((tc_tensor *)b) : tc__to_dtype_contig(b, ct);
  int64_t shape[2] = {a->sizes[0], b->sizes[0]};
  tc_tensor *out = bc ? tc__empty(shape, 2, ct, a->storage->device) : NULL;
  if (out && shape[0] * shape[1] > 0) {
    size_t es = tc_dtype_size(ct);
    outer_t o = {tc__ptr(ac), tc__ptr(bc), ac->strides[0] * (int64_t)es, bc->strides[0] * (int64_t)es, tc__ptr(out),
                 shape[1], ct};
    tc_parallel_for(shape[0], TC__GRAIN_ELEMENTWISE / shape[1] + 1, outer_task, &o);
  }
  if (out && ct != dt) {
    tc_tensor *r = tc__to_dtype_contig(out, dt);
    tc_tensor_release(out);
    out = r;
  }
  /* retained borrowed inputs: drop without touching any scope (they were not created here) */
  tc_tensor_release(ac);
  tc_tensor_release(bc);
  return out;
}
