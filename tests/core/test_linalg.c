/* Matrix products: matmul (1-D promotion, broadcast batch dims), mm, bmm, mv, dot, outer, addmm
 * against PyTorch fixtures (tests/fixtures/gen/gen_linalg.py); strided operands (BLAS Trans
 * layouts and copies); f64, integer (wrapping), f16, bf16, complex; empty dims; errors; large
 * products against a reference loop (split over the pool, bit-identical for 1 and 2 threads);
 * leaks and allocation failures. */
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

#define FX(name) fx_load("linalg", name)
#define RTOL 1e-5
#define ATOL 1e-5

/* ---- helpers ---------------------------------------------------------------------------------- */
/* Comparisons that are safe inside tc_scope_push/pop (they release their temporaries themselves,
 * so results and fixtures can be left to the test's scope). Values are read in row-major order. */
static double *values_f64(const tc_tensor *t) {
  int64_t n = tc_tensor_numel(t);
  tc_tensor *d = tc_to_dtype(t, TC_F64);
  ck_assert_msg(d != NULL, "to_dtype: %s", tc_last_error());
  double *buf = malloc((size_t)(n > 0 ? n : 1) * sizeof(double));
  ck_assert_int_eq(tc_tensor_copy_to_buffer(d, buf, (size_t)n * sizeof(double)), TC_OK);
  tc_tensor_release(d);
  return buf;
}

static void lin_close(const tc_tensor *got, const tc_tensor *want, double rtol, double atol, const char *what,
                      int line) {
  ck_assert_msg(got != NULL, "line %d: %s: result is NULL: %s", line, what, tc_last_error());
  ck_assert_msg(want != NULL, "line %d: %s: expected is NULL", line, what);
  assert_shape_msg(got, tc_tensor_shape(want), tc_tensor_ndim(want), __FILE__, line);
  int64_t n = tc_tensor_numel(got);
  double *g = values_f64(got), *w = values_f64(want);
  for (int64_t i = 0; i < n; i++) {
    if (isnan(g[i]) && isnan(w[i])) continue;
    if (!(fabs(g[i] - w[i]) <= atol + rtol * fabs(w[i]))) {
      double gi = g[i], wi = w[i];
      free(g);
      free(w);
      ck_abort_msg("line %d: %s: element %lld: got %.9g, expected %.9g", line, what, (long long)i, gi, wi);
    }
  }
  free(g);
  free(w);
}

/* Same dtype, shape and bits. */
static void lin_equal(const tc_tensor *got, const tc_tensor *want, const char *what, int line) {
  ck_assert_msg(got != NULL, "line %d: %s: result is NULL: %s", line, what, tc_last_error());
  ck_assert_msg(tc_tensor_dtype(got) == tc_tensor_dtype(want), "line %d: %s: dtype %s != %s", line, what,
                tc_dtype_name(tc_tensor_dtype(got)), tc_dtype_name(tc_tensor_dtype(want)));
  assert_shape_msg(got, tc_tensor_shape(want), tc_tensor_ndim(want), __FILE__, line);
  size_t nb = (size_t)tc_tensor_numel(got) * tc_tensor_element_size(got);
  char *g = malloc(nb + 1), *w = malloc(nb + 1);
  ck_assert_int_eq(tc_tensor_copy_to_buffer(got, g, nb), TC_OK);
  ck_assert_int_eq(tc_tensor_copy_to_buffer(want, w, nb), TC_OK);
  int diff = memcmp(g, w, nb);
  free(g);
  free(w);
  if (diff) lin_close(got, want, 0, 0, what, line); /* names the first differing element */
  ck_assert_msg(diff == 0, "line %d: %s: bits differ", line, what);
}
#undef assert_close
#undef assert_equal
#define assert_close(a, e, rtol, atol, what) lin_close((a), (e), (rtol), (atol), (what), __LINE__)
#define assert_equal(a, e, what) lin_equal((a), (e), (what), __LINE__)

static uint64_t lcg_state;
static double lcg(void) { /* uniform in [-1, 1) */
  lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (double)(lcg_state >> 11) / (double)(1ULL << 52) - 1.0;
}

/* A contiguous tensor of `dtype` filled with lcg values (integers: in [-50, 50)). */
static tc_tensor *filled(const int64_t *shape, int64_t nd, tc_dtype dtype) {
  tc_tensor *t = tc_empty(shape, nd, TC_OPTS(.dtype = TC_F64));
  ck_assert_ptr_nonnull(t);
  double *d = tc_tensor_data(t);
  int64_t n = tc_tensor_numel(t);
  bool integral = tc_dtype_is_integral(dtype, false);
  for (int64_t i = 0; i < n; i++) d[i] = integral ? floor(lcg() * 50) : lcg();
  tc_tensor *r = tc_to_dtype(t, dtype);
  ck_assert_ptr_nonnull(r);
  tc_tensor *c = tc_clone(r); /* (tc_contiguous of a contiguous tensor would record it twice in a scope) */
  tc_tensor_release(r);
  tc_tensor_release(t);
  return c;
}

/* Reference (..., n, k) @ (..., k, m) for same-batch 3-D (or 2-D) operands, in double. */
static tc_tensor *ref_bmm(const tc_tensor *a, const tc_tensor *b) {
  tc_tensor *a64 = tc_to_dtype(a, TC_F64), *b64 = tc_to_dtype(b, TC_F64);
  tc_tensor *ac = tc_clone(a64), *bc = tc_clone(b64);
  int nd = (int)tc_tensor_ndim(a);
  int64_t B = nd == 3 ? tc_tensor_size(a, 0) : 1;
  int64_t n = tc_tensor_size(a, -2), k = tc_tensor_size(a, -1), m = tc_tensor_size(b, -1);
  int64_t shape[3] = {B, n, m};
  tc_tensor *out = tc_zeros(nd == 3 ? shape : shape + 1, nd, TC_OPTS(.dtype = TC_F64));
  const double *pa = tc_tensor_data(ac), *pb = tc_tensor_data(bc);
  double *po = tc_tensor_data(out);
  for (int64_t z = 0; z < B; z++)
    for (int64_t i = 0; i < n; i++)
      for (int64_t p = 0; p < k; p++) {
        double av = pa[(z * n + i) * k + p];
        for (int64_t j = 0; j < m; j++) po[(z * n + i) * m + j] += av * pb[(z * k + p) * m + j];
      }
  tc_tensor_release(ac);
  tc_tensor_release(bc);
  tc_tensor_release(a64);
  tc_tensor_release(b64);
  return out;
}

static void expect_complex_close(const tc_tensor *got, const tc_tensor *want, double tol) {
  ck_assert_ptr_nonnull(got);
  ck_assert_int_eq(tc_tensor_dtype(got), TC_C64);
  ck_assert_int_eq(tc_tensor_numel(got), tc_tensor_numel(want));
  int64_t n = tc_tensor_numel(got);
  float *g = malloc((size_t)n * 8), *w = malloc((size_t)n * 8);
  ck_assert_int_eq(tc_tensor_copy_to_buffer(got, g, (size_t)n * 8), TC_OK);
  ck_assert_int_eq(tc_tensor_copy_to_buffer(want, w, (size_t)n * 8), TC_OK);
  for (int64_t i = 0; i < 2 * n; i++) ck_assert_msg(fabsf(g[i] - w[i]) <= tol * (1 + fabsf(w[i])), "%lld: %g vs %g", (long long)i, g[i], w[i]);
  free(g);
  free(w);
}

/* ---- mm ----------------------------------------------------------------------------------------- */
START_TEST(test_mm_f32) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *a = FX("mm_a"), *b = FX("mm_b");
  assert_close(tc_mm(a, b), FX("mm_out"), RTOL, ATOL, "mm");
  assert_close(tc_matmul(a, b), FX("mm_out"), RTOL, ATOL, "matmul 2-D");
  /* transposed views: BLAS Trans layouts, no copy */
  tc_tensor *at = tc_t(FX("mm_at")), *bt = tc_t(FX("mm_bt"));
  ck_assert(!tc_tensor_is_contiguous(at) && !tc_tensor_is_contiguous(bt));
  assert_close(tc_mm(at, bt), FX("mm_tt_out"), RTOL, ATOL, "mm of transposed views");
  assert_close(tc_matmul(at, bt), FX("mm_tt_out"), RTOL, ATOL, "matmul of transposed views");
  /* no unit stride at all: copied first */
  tc_tensor *s = tc_slice(tc_slice(FX("mm_s"), 0, 0, TC_END, 2), 1, 0, TC_END, 2);
  assert_close(tc_mm(s, b), FX("mm_s_out"), RTOL, ATOL, "mm of a doubly strided view");
  /* row 1 of a as a (1, 4) matrix with an arbitrary row stride; a column of b as (4, 1) */
  tc_tensor *r1 = tc_narrow(a, 0, 1, 1), *c2 = tc_narrow(b, 1, 2, 1);
  tc_tensor *e = tc_narrow(tc_narrow(FX("mm_out"), 0, 1, 1), 1, 2, 1);
  assert_close(tc_mm(r1, c2), e, RTOL, ATOL, "(1,k) @ (k,1)");
  assert_close(tc_mm(r1, b), tc_narrow(FX("mm_out"), 0, 1, 1), RTOL, ATOL, "(1,k) @ (k,m)");
  assert_close(tc_mm(a, c2), tc_narrow(FX("mm_out"), 1, 2, 1), RTOL, ATOL, "(n,k) @ (k,1)");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* ---- matmul: batch broadcasting and 1-D promotion ----------------------------------------------- */
START_TEST(test_matmul_broadcast) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *r = tc_matmul(FX("bc_a"), FX("bc_b"));
  assert_shape(r, SHAPE(2, 5, 3, 6), 4);
  assert_close(r, FX("bc_out"), RTOL, ATOL, "(2,1,3,4) @ (5,4,6)");
  /* b broadcast across a's batch: folded into one (6, 4) @ (4, 5) product */
  assert_close(tc_matmul(FX("b234"), FX("m45")), FX("bat_mat"), RTOL, ATOL, "(2,3,4) @ (4,5)");
  /* a's batch stride is not rows*row stride: not folded */
  tc_tensor *pa = tc_permute(FX("perm_a"), SHAPE(1, 0, 2), 3);
  assert_close(tc_matmul(pa, FX("m45")), FX("perm_out"), RTOL, ATOL, "permuted batch @ (4,5)");
  /* an expanded (stride 0) batch operand */
  tc_tensor *ex = tc_expand(tc_unsqueeze(FX("m34"), 0), SHAPE(2, 3, 4), 3);
  tc_tensor *want = tc_matmul(FX("m34"), FX("b245")); /* (3,4) @ (2,4,5) */
  assert_shape(want, SHAPE(2, 3, 5), 3);
  assert_close(tc_matmul(ex, FX("b245")), want, RTOL, ATOL, "expanded batch");
  tc_tensor *want0 = tc_mm(FX("m34"), tc_select(FX("b245"), 0, 0));
  assert_close(tc_select(want, 0, 0), want0, RTOL, ATOL, "2-D @ 3-D entry 0");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_matmul_1d) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *v4 = FX("v4"), *w4 = FX("w4");
  tc_tensor *r = tc_matmul(v4, w4);
  assert_shape(r, NULL, 0);
  assert_close(r, FX("vec_vec"), RTOL, ATOL, "(4) @ (4)");
  assert_close(tc_matmul(v4, FX("m45")), FX("vec_mat"), RTOL, ATOL, "(4) @ (4,5)");
  assert_close(tc_matmul(FX("m34"), v4), FX("mat_vec"), RTOL, ATOL, "(3,4) @ (4)");
  assert_close(tc_matmul(FX("b234"), v4), FX("bat_vec"), RTOL, ATOL, "(2,3,4) @ (4)");
  assert_close(tc_matmul(v4, FX("b245")), FX("vec_bat"), RTOL, ATOL, "(4) @ (2,4,5)");
  /* strided vector: every other element of an (8) */
  tc_tensor *v8 = tc_empty(SHAPE(8), 1, NULL);
  tc_tensor *sv = tc_slice(v8, 0, 0, TC_END, 2);
  ck_assert_int_eq(tc_copy_inplace(sv, v4), TC_OK);
  assert_close(tc_matmul(sv, FX("m45")), FX("vec_mat"), RTOL, ATOL, "strided (4) @ (4,5)");
  assert_close(tc_matmul(FX("m34"), sv), FX("mat_vec"), RTOL, ATOL, "(3,4) @ strided (4)");
  assert_close(tc_dot(sv, w4), FX("vec_vec"), RTOL, ATOL, "dot of a strided vector");
  /* a stride-0 vector is copied (BLAS refuses inc 0) */
  tc_tensor *ones = tc_expand(tc_ones(SHAPE(1), 1, NULL), SHAPE(4), 1);
  tc_tensor *sum_rows = tc_sum(FX("m34"), SHAPE(1), 1, false);
  assert_close(tc_matmul(FX("m34"), ones), sum_rows, RTOL, ATOL, "(3,4) @ expanded ones");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* ---- bmm, mv, dot, outer -------------------------------------------------------------------------- */
START_TEST(test_bmm_mv_dot_outer) {
  LEAK_BEGIN;
  tc_scope_push();
  assert_close(tc_bmm(FX("bmm_a"), FX("bmm_b")), FX("bmm_out"), RTOL, ATOL, "bmm");
  /* b with each matrix stored transposed */
  tc_tensor *bt = tc_transpose(tc_contiguous(tc_transpose(FX("bmm_b"), 1, 2)), 1, 2);
  ck_assert(!tc_tensor_is_contiguous(bt));
  assert_close(tc_bmm(FX("bmm_a"), bt), FX("bmm_tb_out"), RTOL, ATOL, "bmm, transposed b");
  assert_close(tc_mv(FX("m34"), FX("v4")), FX("mv_out"), RTOL, ATOL, "mv");
  assert_close(tc_mv(tc_t(FX("m45")), FX("w4")), FX("mvt_out"), RTOL, ATOL, "mv of a transposed matrix");
  tc_tensor *d = tc_dot(FX("v4"), FX("w4"));
  assert_shape(d, NULL, 0);
  assert_close(d, FX("dot_out"), RTOL, ATOL, "dot");
  assert_close(tc_outer(FX("outer_a"), FX("outer_b")), FX("outer_out"), RTOL, ATOL, "outer");
  tc_tensor *oi = tc_outer(FX("outer_i"), FX("outer_b"));
  ck_assert_int_eq(tc_tensor_dtype(oi), TC_F32); /* int64 x float32 promotes, as torch.outer */
  assert_close(oi, FX("outer_if_out"), RTOL, ATOL, "outer int64 x float32");
  /* outer of bool is logical and; of int8 wraps */
  tc_tensor *bl = tc_to_dtype(T_I64(SHAPE(3), 1, 0, 1, 2), TC_BOOL);
  tc_tensor *ob = tc_outer(bl, bl);
  ck_assert_int_eq(tc_tensor_dtype(ob), TC_BOOL);
  assert_equal(tc_to_dtype(ob, TC_I64), T_I64(SHAPE(3, 3), 2, 0, 0, 0, 0, 1, 1, 0, 1, 1), "outer bool");
  tc_tensor *i8 = tc_to_dtype(T_I64(SHAPE(2), 1, 100, -3), TC_I8);
  assert_equal(tc_to_dtype(tc_outer(i8, i8), TC_I64), T_I64(SHAPE(2, 2), 2, 16, -44, -44, 9), "outer int8 wraps");
  tc_tensor *h = tc_to_dtype(FX("outer_a"), TC_F16);
  tc_tensor *oh = tc_outer(h, h);
  ck_assert_int_eq(tc_tensor_dtype(oh), TC_F16);
  assert_close(oh, tc_outer(tc_to_dtype(h, TC_F32), tc_to_dtype(h, TC_F32)), 1e-3, 1e-3, "outer f16");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* ---- addmm ----------------------------------------------------------------------------------------- */
START_TEST(test_addmm) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *a = FX("addmm_a"), *b = FX("addmm_b");
  assert_close(tc_addmm(FX("addmm_row"), a, b, 0.5, 2.0), FX("addmm_row_out"), RTOL, ATOL, "addmm row input");
  assert_close(tc_addmm(FX("addmm_col"), a, b, -1.0, 0.25), FX("addmm_col_out"), RTOL, ATOL, "addmm column input");
  assert_close(tc_addmm(FX("addmm_full"), a, b, 1.0, 1.0), FX("addmm_full_out"), RTOL, ATOL, "addmm full input");
  /* beta = 0: NaN in input ignored */
  tc_tensor *nan = tc_full(SHAPE(3, 5), 2, NAN, NULL);
  assert_close(tc_addmm(nan, a, b, 0.0, 1.5), FX("addmm_beta0_out"), RTOL, ATOL, "addmm beta 0");
  /* alpha = 0: NaN in a @ b ignored, out = beta * input */
  tc_tensor *anan = tc_full(SHAPE(3, 4), 2, NAN, NULL);
  tc_tensor *r = tc_addmm(FX("addmm_full"), anan, b, 2.0, 0.0);
  assert_close(r, tc_mul_scalar(FX("addmm_full"), 2.0), RTOL, ATOL, "addmm alpha 0");
  /* 0-d input */
  tc_tensor *z = tc_scalar_tensor(1.0, NULL);
  assert_close(tc_addmm(z, a, b, 1.0, 1.0), tc_add_scalar(tc_mm(a, b), 1.0), RTOL, ATOL, "addmm 0-d input");
  /* transposed operands */
  assert_close(tc_addmm(FX("addmm_full"), tc_t(tc_contiguous(tc_t(a))), b, 1.0, 1.0), FX("addmm_full_out"), RTOL,
               ATOL, "addmm transposed a");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* ---- dtypes ---------------------------------------------------------------------------------------- */
START_TEST(test_dtypes) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *r = tc_mm(FX("f64_a"), FX("f64_b"));
  ck_assert_int_eq(tc_tensor_dtype(r), TC_F64);
  assert_close(r, FX("f64_out"), 1e-12, 1e-12, "f64");
  tc_tensor *ia = FX("i64_a"), *ib = FX("i64_b");
  assert_equal(tc_mm(ia, ib), FX("i64_out"), "int64 mm");
  assert_equal(tc_matmul(ia, ib), FX("i64_out"), "int64 matmul");
  tc_tensor *ibt = tc_t(tc_contiguous(tc_t(ib))); /* strides (1, 4): the integer kernel copies it */
  assert_equal(tc_mm(ia, ibt), FX("i64_bt_out"), "int64, transposed b");
  tc_tensor *ar = tc_arange(0, 5, 1, NULL);
  assert_equal(tc_addmm(ar, ia, ib, 2.7, -1.5), FX("i64_addmm_out"), "int64 addmm (scalars truncated)");
  assert_equal(tc_mm(FX("i32_a"), FX("i32_b")), FX("i32_out"), "int32 wraps");
  tc_tensor *a8 = FX("i8_a"), *b8 = FX("i8_b");
  assert_equal(tc_mm(a8, b8), FX("i8_out"), "int8 wraps");
  assert_equal(tc_mv(a8, tc_contiguous(tc_select(b8, 1, 0))), FX("i8_mv_out"), "int8 mv");
  assert_equal(tc_mv(a8, tc_select(b8, 1, 0)), FX("i8_mv_out"), "int8 mv, strided vector");
  assert_equal(tc_dot(tc_select(a8, 0, 0), tc_select(a8, 0, 1)), FX("i8_dot_out"), "int8 dot");
  /* uint8 and uint16 */
  tc_tensor *u = tc_to_dtype(T_I64(SHAPE(1, 2), 2, 200, 200), TC_U8);
  assert_equal(tc_to_dtype(tc_mm(u, tc_t(u)), TC_I64), T_I64(SHAPE(1, 1), 2, 128), "uint8 wraps");
  tc_tensor *u16 = tc_to_dtype(T_I64(SHAPE(1, 2), 2, 65535, 2), TC_U16);
  assert_equal(tc_to_dtype(tc_mm(u16, tc_t(u16)), TC_I64), T_I64(SHAPE(1, 1), 2, 5), "uint16 wraps");
  /* f16 / bf16: f32 compute, one rounding */
  tc_tensor *h = tc_mm(FX("f16_a"), FX("f16_b"));
  ck_assert_int_eq(tc_tensor_dtype(h), TC_F16);
  assert_close(h, FX("f16_out"), 1e-3, 2e-3, "f16");
  assert_close(tc_addmm(FX("f16_in"), FX("f16_a"), FX("f16_b"), 0.5, 2.0), FX("f16_addmm_out"), 1e-3, 4e-3,
               "f16 addmm");
  tc_tensor *ba = tc_to_dtype(FX("bf16_a"), TC_BF16), *bb = tc_to_dtype(FX("bf16_b"), TC_BF16);
  tc_tensor *bo = tc_mm(ba, bb);
  ck_assert_int_eq(tc_tensor_dtype(bo), TC_BF16);
  assert_close(bo, FX("bf16_out"), 8e-3, 1e-2, "bf16");
  assert_close(tc_matmul(tc_to_dtype(FX("v4"), TC_F16), tc_to_dtype(FX("w4"), TC_F16)), FX("vec_vec"), 5e-3, 5e-3,
               "f16 dot");
  /* complex64 */
  expect_complex_close(tc_mm(FX("c64_a"), FX("c64_b")), FX("c64_out"), 1e-5);
  expect_complex_close(tc_dot(tc_select(FX("c64_a"), 0, 0), tc_select(FX("c64_a"), 0, 1)), FX("c64_dot_out"), 1e-5);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* ---- empty dims ------------------------------------------------------------------------------------- */
START_TEST(test_empty) {
  LEAK_BEGIN;
  tc_scope_push();
  const tc_dtype dts[] = {TC_F32, TC_F64, TC_I64, TC_F16, TC_C64};
  for (int i = 0; i < 5; i++) {
    tc_dtype dt = dts[i];
    tc_tensor *r = tc_mm(tc_zeros(SHAPE(0, 3), 2, TC_OPTS(.dtype = dt)), tc_ones(SHAPE(3, 2), 2, TC_OPTS(.dtype = dt)));
    assert_shape(r, SHAPE(0, 2), 2);
    /* k = 0: zeros */
    r = tc_mm(tc_empty(SHAPE(2, 0), 2, TC_OPTS(.dtype = dt)), tc_empty(SHAPE(0, 3), 2, TC_OPTS(.dtype = dt)));
    assert_equal(r, tc_zeros(SHAPE(2, 3), 2, TC_OPTS(.dtype = dt)), "k = 0");
    r = tc_matmul(tc_empty(SHAPE(0), 1, TC_OPTS(.dtype = dt)), tc_empty(SHAPE(0), 1, TC_OPTS(.dtype = dt)));
    assert_equal(r, tc_zeros(NULL, 0, TC_OPTS(.dtype = dt)), "empty dot");
    r = tc_matmul(tc_empty(SHAPE(0, 2, 3), 3, TC_OPTS(.dtype = dt)), tc_ones(SHAPE(3, 4), 2, TC_OPTS(.dtype = dt)));
    assert_shape(r, SHAPE(0, 2, 4), 3);
    r = tc_matmul(tc_ones(SHAPE(2, 3), 2, TC_OPTS(.dtype = dt)), tc_empty(SHAPE(3, 0), 2, TC_OPTS(.dtype = dt)));
    assert_shape(r, SHAPE(2, 0), 2);
  }
  /* addmm with k = 0: beta * input */
  tc_tensor *in = tc_full(SHAPE(2, 3), 2, 2.0, NULL);
  assert_close(tc_addmm(in, tc_empty(SHAPE(2, 0), 2, NULL), tc_empty(SHAPE(0, 3), 2, NULL), 1.5, 3.0),
               tc_full(SHAPE(2, 3), 2, 3.0, NULL), 0, 0, "addmm k = 0");
  tc_tensor *ii = tc_full(SHAPE(2, 3), 2, 2.0, TC_OPTS(.dtype = TC_I64));
  assert_equal(tc_addmm(ii, tc_empty(SHAPE(2, 0), 2, TC_OPTS(.dtype = TC_I64)),
                        tc_empty(SHAPE(0, 3), 2, TC_OPTS(.dtype = TC_I64)), 3, 1),
               tc_full(SHAPE(2, 3), 2, 6.0, TC_OPTS(.dtype = TC_I64)), "int addmm k = 0");
  assert_shape(tc_outer(tc_empty(SHAPE(0), 1, NULL), tc_ones(SHAPE(3), 1, NULL)), SHAPE(0, 3), 2);
  assert_shape(tc_bmm(tc_empty(SHAPE(0, 2, 3), 3, NULL), tc_empty(SHAPE(0, 3, 4), 3, NULL)), SHAPE(0, 2, 4), 3);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* ---- errors ----------------------------------------------------------------------------------------- */
START_TEST(test_errors) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *a23 = tc_ones(SHAPE(2, 3), 2, NULL), *b45 = tc_ones(SHAPE(4, 5), 2, NULL);
  ck_assert_ptr_null(tc_matmul(a23, b45));
  assert_error(TC_ERR_SHAPE, "tc_matmul: a is [2, 3], b is [4, 5]: 3 != 4");
  ck_assert_ptr_null(tc_mm(a23, b45));
  assert_error(TC_ERR_SHAPE, "tc_mm: a is [2, 3], b is [4, 5]: 3 != 4");
  ck_assert_ptr_null(tc_matmul(tc_ones(SHAPE(3), 1, NULL), tc_ones(SHAPE(4), 1, NULL)));
  assert_error(TC_ERR_SHAPE, "tc_matmul: a is [3], b is [4]: 3 != 4");
  ck_assert_ptr_null(tc_matmul(tc_ones(SHAPE(2, 2, 3), 3, NULL), tc_ones(SHAPE(3, 3, 4), 3, NULL)));
  assert_error(TC_ERR_SHAPE, "batch dims [2] and [3] do not broadcast");
  ck_assert_ptr_null(tc_matmul(tc_scalar_tensor(1, NULL), tc_ones(SHAPE(3), 1, NULL)));
  assert_error(TC_ERR_SHAPE, "tc_matmul: both arguments need at least 1 dim");
  tc_tensor *d32 = tc_ones(SHAPE(3, 2), 2, TC_OPTS(.dtype = TC_F64));
  ck_assert_ptr_null(tc_matmul(a23, d32));
  assert_error(TC_ERR_DTYPE, "tc_matmul: expected a and b of the same dtype, got float32 and float64");
  ck_assert_ptr_null(tc_mm(tc_ones(SHAPE(3), 1, NULL), a23));
  assert_error(TC_ERR_SHAPE, "tc_mm: a must be 2-D, got [3]");
  ck_assert_ptr_null(tc_bmm(a23, a23));
  assert_error(TC_ERR_SHAPE, "tc_bmm: a must be 3-D, got [2, 3]");
  ck_assert_ptr_null(tc_bmm(tc_ones(SHAPE(2, 3, 3), 3, NULL), tc_ones(SHAPE(3, 3, 2), 3, NULL)));
  assert_error(TC_ERR_SHAPE, "tc_bmm: a is [2, 3, 3], b is [3, 3, 2]: batch sizes 2 != 3");
  ck_assert_ptr_null(tc_mv(a23, tc_ones(SHAPE(4), 1, NULL)));
  assert_error(TC_ERR_SHAPE, "tc_mv: a is [2, 3], v is [4]: 3 != 4");
  ck_assert_ptr_null(tc_dot(tc_ones(SHAPE(3), 1, NULL), tc_ones(SHAPE(4), 1, NULL)));
  assert_error(TC_ERR_SHAPE, "tc_dot: a is [3], b is [4]: 3 != 4");
  ck_assert_ptr_null(tc_dot(tc_ones(SHAPE(3, 1), 2, NULL), tc_ones(SHAPE(3), 1, NULL)));
  assert_error(TC_ERR_SHAPE, "tc_dot: a must be 1-D, got [3, 1]");
  ck_assert_ptr_null(tc_outer(tc_ones(SHAPE(3, 1), 2, NULL), tc_ones(SHAPE(3), 1, NULL)));
  assert_error(TC_ERR_SHAPE, "tc_outer: a must be 1-D, got [3, 1]");
  ck_assert_ptr_null(tc_addmm(tc_ones(SHAPE(3), 1, NULL), a23, tc_ones(SHAPE(3, 2), 2, NULL), 1, 1));
  assert_error(TC_ERR_SHAPE, "tc_addmm: input is [3] but a @ b is [2, 2]");
  ck_assert_ptr_null(tc_addmm(tc_ones(SHAPE(1, 2, 2), 3, NULL), a23, tc_ones(SHAPE(3, 2), 2, NULL), 1, 1));
  assert_error(TC_ERR_SHAPE, "tc_addmm: input is [1, 2, 2]");
  ck_assert_ptr_null(tc_addmm(tc_ones(SHAPE(2, 2), 2, TC_OPTS(.dtype = TC_F64)), a23, tc_ones(SHAPE(3, 2), 2, NULL), 1, 1));
  assert_error(TC_ERR_DTYPE, "tc_addmm: expected input and a of the same dtype, got float64 and float32");
  tc_tensor *bl = tc_ones(SHAPE(2, 2), 2, TC_OPTS(.dtype = TC_BOOL));
  ck_assert_ptr_null(tc_matmul(bl, bl));
  assert_error(TC_ERR_DTYPE, "bool");
  /* NULL arguments: the first message is kept */
  tc_clear_error();
  ck_assert_ptr_null(tc_matmul(NULL, a23));
  assert_error(TC_ERR_ARG, "tc_matmul: a is NULL");
  ck_assert_ptr_null(tc_mm(tc_matmul(a23, b45), a23));
  assert_error(TC_ERR_SHAPE, "tc_matmul: a is [2, 3], b is [4, 5]");
  tc_clear_error();
  ck_assert_ptr_null(tc_addmm(a23, a23, NULL, 1, 1));
  assert_error(TC_ERR_ARG, "tc_addmm: b is NULL");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* ---- large products: reference loop, tiling over the pool, thread-count invariance ---------------- */
START_TEST(test_large_against_reference) {
  LEAK_BEGIN;
  tc_scope_push();
  lcg_state = 42;
  /* one product split into tiles (odd sizes: a remainder tile) */
  tc_tensor *a = filled(SHAPE(301, 203), 2, TC_F32), *b = filled(SHAPE(203, 257), 2, TC_F32);
  assert_close(tc_mm(a, b), ref_bmm(a, b), 1e-4, 1e-4, "301x203 @ 203x257");
  /* transposed operands, tiled by columns (m < n) */
  tc_tensor *at = tc_t(filled(SHAPE(150, 70), 2, TC_F32)), *bt = tc_t(filled(SHAPE(900, 150), 2, TC_F32));
  assert_close(tc_mm(at, bt), ref_bmm(at, bt), 1e-4, 1e-4, "transposed 70x150 @ 150x900");
  /* f64 */
  tc_tensor *a64 = filled(SHAPE(200, 130), 2, TC_F64), *b64 = filled(SHAPE(130, 180), 2, TC_F64);
  assert_close(tc_mm(a64, b64), ref_bmm(a64, b64), 1e-12, 1e-12, "f64 200x130 @ 130x180");
  /* batches: many small entries in parallel; few large entries tiled one after another */
  tc_tensor *sa = filled(SHAPE(64, 9, 7), 3, TC_F32), *sb = filled(SHAPE(64, 7, 11), 3, TC_F32);
  assert_close(tc_bmm(sa, sb), ref_bmm(sa, sb), 1e-5, 1e-5, "64 x (9x7 @ 7x11)");
  tc_tensor *la = filled(SHAPE(3, 160, 170), 3, TC_F32), *lb = filled(SHAPE(3, 170, 180), 3, TC_F32);
  assert_close(tc_bmm(la, lb), ref_bmm(la, lb), 1e-4, 1e-4, "3 x (160x170 @ 170x180)");
  tc_tensor *lbt = tc_transpose(tc_contiguous(tc_transpose(lb, 1, 2)), 1, 2);
  assert_close(tc_matmul(la, lbt), ref_bmm(la, lb), 1e-4, 1e-4, "3 x (160x170 @ transposed 170x180)");
  /* matrix-vector, both orientations, cut in fixed chunks */
  tc_tensor *ma = filled(SHAPE(3000, 150), 2, TC_F32), *v = filled(SHAPE(150), 1, TC_F32);
  tc_tensor *vcol = tc_unsqueeze(v, 1);
  assert_close(tc_mv(ma, v), tc_squeeze_dim(ref_bmm(ma, vcol), 1), 1e-4, 1e-4, "mv 3000x150");
  tc_tensor *mat = tc_t(ma); /* (150, 3000) */
  assert_close(tc_matmul(v, mat), tc_squeeze_dim(ref_bmm(tc_unsqueeze(v, 0), mat), 0), 1e-4, 1e-4, "(150) @ 150x3000");
  tc_tensor *mt = tc_t(filled(SHAPE(150, 3000), 2, TC_F32)); /* (3000, 150), Trans layout */
  assert_close(tc_mv(mt, v), tc_squeeze_dim(ref_bmm(mt, vcol), 1), 1e-4, 1e-4, "mv of a transposed 3000x150");
  /* integers: blocked kernel (k > block) over the pool */
  tc_tensor *ia = filled(SHAPE(120, 300), 2, TC_I64), *ib = filled(SHAPE(300, 280), 2, TC_I64);
  assert_equal(tc_mm(ia, ib), tc_to_dtype(ref_bmm(ia, ib), TC_I64), "int64 120x300 @ 300x280");
  tc_tensor *i32a = filled(SHAPE(4, 30, 20), 3, TC_I32), *i32b = filled(SHAPE(4, 20, 25), 3, TC_I32);
  assert_equal(tc_bmm(i32a, i32b), tc_to_dtype(ref_bmm(i32a, i32b), TC_I32), "int32 batch");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_thread_count_invariance) {
  LEAK_BEGIN;
  tc_scope_push();
  lcg_state = 7;
  int saved = tc_get_num_threads();
  struct {
    int64_t n, k, m;
  } cases[] = {{301, 203, 257}, {64, 512, 700}, {1000, 64, 48}, {517, 333, 129}, {300, 100, 256}, {2100, 40, 40}};
  for (int c = 0; c < 6; c++) {
    tc_tensor *a = filled(SHAPE(cases[c].n, cases[c].k), 2, TC_F32);
    tc_tensor *b = filled(SHAPE(cases[c].k, cases[c].m), 2, TC_F32);
    tc_tensor *bt = tc_t(tc_contiguous(tc_t(b)));
    tc_set_num_threads(1);
    tc_tensor *r1 = tc_mm(a, b), *t1 = tc_mm(a, bt), *v1 = tc_mv(a, tc_select(b, 1, 0));
    tc_set_num_threads(2);
    tc_tensor *r2 = tc_mm(a, b), *t2 = tc_mm(a, bt), *v2 = tc_mv(a, tc_select(b, 1, 0));
    tc_set_num_threads(3);
    tc_tensor *r3 = tc_mm(a, b);
    tc_set_num_threads(4);
    tc_tensor *r4 = tc_mm(a, b);
    assert_equal(r2, r1, "mm, 2 threads vs 1");
    assert_equal(r3, r1, "mm, 3 threads vs 1");
    assert_equal(r4, r1, "mm, 4 threads vs 1");
    assert_equal(t2, t1, "mm transposed b, 2 threads vs 1");
    assert_equal(v2, v1, "mv, 2 threads vs 1");
  }
  /* batches: one call per entry (1 thread) or entries tiled over the pool (2 threads); f64 */
  tc_tensor *la = filled(SHAPE(3, 160, 170), 3, TC_F32), *lb = filled(SHAPE(3, 170, 180), 3, TC_F32);
  tc_set_num_threads(1);
  tc_tensor *q1 = tc_bmm(la, lb);
  tc_set_num_threads(2);
  assert_equal(tc_bmm(la, lb), q1, "bmm, 2 threads vs 1");
  for (int c = 0; c < 4; c++) {
    tc_tensor *da = filled(SHAPE(cases[c].n, cases[c].k), 2, TC_F64);
    tc_tensor *db = filled(SHAPE(cases[c].k, cases[c].m), 2, TC_F64);
    tc_set_num_threads(1);
    tc_tensor *d1 = tc_mm(da, db);
    for (int nt = 2; nt <= 3; nt++) {
      tc_set_num_threads(nt);
      assert_equal(tc_mm(da, db), d1, "f64 mm, 2 or 3 threads vs 1");
    }
  }
  tc_set_num_threads(saved);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* ---- allocation failures ----------------------------------------------------------------------------- */
typedef struct {
  const tc_tensor *a, *b, *in;
} pair_ctx;

static int run_matmul(void *ctx) {
  pair_ctx *p = ctx;
  tc_tensor *r = tc_matmul(p->a, p->b);
  if (!r) return 1;
  tc_tensor_release(r);
  return 0;
}

static int run_addmm(void *ctx) {
  pair_ctx *p = ctx;
  tc_tensor *r = tc_addmm(p->in, p->a, p->b, 0.5, 2);
  if (!r) return 1;
  tc_tensor_release(r);
  return 0;
}

static int run_outer(void *ctx) {
  pair_ctx *p = ctx;
  tc_tensor *r = tc_outer(p->a, p->b);
  if (!r) return 1;
  tc_tensor_release(r);
  return 0;
}

START_TEST(test_alloc_failures) {
  tc_tensor *a = fx_load("linalg", "bc_a"), *b = fx_load("linalg", "bc_b");
  pair_ctx p = {a, b, NULL};
  check_alloc_failures(run_matmul, &p, "matmul broadcast");
  tc_tensor *s0 = fx_load("linalg", "mm_s");
  tc_tensor *s1 = tc_slice(s0, 0, 0, TC_END, 2), *s = tc_slice(s1, 1, 0, TC_END, 2);
  tc_tensor *mb = fx_load("linalg", "mm_b");
  pair_ctx q = {s, mb, NULL};
  check_alloc_failures(run_matmul, &q, "matmul with a copied operand");
  tc_tensor *ha = tc_to_dtype(a, TC_F16), *hb = tc_to_dtype(b, TC_F16);
  pair_ctx h = {ha, hb, NULL};
  check_alloc_failures(run_matmul, &h, "matmul f16");
  tc_tensor *ia = fx_load("linalg", "i64_a"), *ib = fx_load("linalg", "i64_b"), *ibt0 = tc_t(ib);
  tc_tensor *ibt1 = tc_contiguous(ibt0), *ibt = tc_t(ibt1);
  pair_ctx ip = {ia, ibt, NULL};
  check_alloc_failures(run_matmul, &ip, "matmul int64 with a copied operand");
  tc_tensor *in = fx_load("linalg", "addmm_row"), *aa = fx_load("linalg", "addmm_a"), *ab = fx_load("linalg", "addmm_b");
  pair_ctx ad = {aa, ab, in};
  check_alloc_failures(run_addmm, &ad, "addmm");
  tc_tensor *oa = fx_load("linalg", "outer_i"), *ob = fx_load("linalg", "outer_b");
  pair_ctx o = {oa, ob, NULL};
  check_alloc_failures(run_outer, &o, "outer with promotion");
  tc_tensor *all[] = {a, b, s0, s1, s, mb, ha, hb, ia, ib, ibt0, ibt1, ibt, in, aa, ab, oa, ob};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) tc_tensor_release(all[i]);
}
END_TEST

int main(void) {
  Suite *s = suite_create("core_linalg");
  TCase *tc = tcase_create("linalg");
  tcase_add_test(tc, test_mm_f32);
  tcase_add_test(tc, test_matmul_broadcast);
  tcase_add_test(tc, test_matmul_1d);
  tcase_add_test(tc, test_bmm_mv_dot_outer);
  tcase_add_test(tc, test_addmm);
  tcase_add_test(tc, test_dtypes);
  tcase_add_test(tc, test_empty);
  tcase_add_test(tc, test_errors);
  tcase_add_test(tc, test_large_against_reference);
  tcase_add_test(tc, test_thread_count_invariance);
  tcase_add_test(tc, test_alloc_failures);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
