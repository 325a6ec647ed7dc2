/* Indexing ops against PyTorch fixtures (tests/fixtures/gen/gen_index.py): index_select, gather,
 * scatter/scatter_add/index_add (and in place), masked_fill/masked_select/where, advanced indexing
 * (tc_index, tc_index_put_inplace), writes through slices; error paths with their messages, no
 * leaks, allocation failures, and the parallel paths against serial references. */
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

#define FAM "index"

#include "deferred_checks.h"

#define I64(...) T_I64(SHAPE(sizeof((int64_t[]){__VA_ARGS__}) / 8), 1, __VA_ARGS__)

static tc_tensor *t_(const tc_tensor *t) { return tc_t(t); }
static tc_tensor *perm3(const tc_tensor *t, int64_t a, int64_t b, int64_t c) {
  return tc_permute(t, SHAPE(a, b, c), 3);
}

/* ---- index_select / gather ----------------------------------------------------------------------- */

START_TEST(test_index_select) {
  BEGIN;
  tc_tensor *x = fx("is_x"), *i = fx("is_i");
  CHECK(tc_index_select(x, 0, i), "is_d0_out");
  CHECK(tc_index_select(x, -1, I64(4, 0, 2)), "is_d1_out");
  CHECK(tc_index_select(t_(x), 0, i), "is_t_out");
  CHECK(tc_index_select(perm3(fx("is3_x"), 2, 0, 1), 1, I64(2, 2, 0)), "is3_out");
  tc_tensor *i32 = tc_to_dtype(I64(1, 4), TC_I32);
  CHECK(tc_index_select(fx("is_int_x"), 1, i32), "is_int_out");
  tc_tensor *i0 = tc_scalar_tensor(2, TC_OPTS(.dtype = TC_I64));
  CHECK(tc_index_select(x, 0, i0), "is_0d_out");
  /* empty index, 0-d input */
  tc_tensor *e = tc_index_select(x, 1, tc_zeros(SHAPE(0), 1, TC_OPTS(.dtype = TC_I64)));
  assert_shape(e, SHAPE(4, 0), 2);
  tc_tensor *s = tc_index_select(tc_scalar_tensor(5, NULL), 0, I64(0));
  assert_shape(s, SHAPE(0), 0);
  double v;
  tc_item_double(s, &v);
  ck_assert(v == 5.0);
  END;
}
END_TEST

START_TEST(test_gather) {
  BEGIN;
  tc_tensor *g = fx("g_x");
  CHECK(tc_gather(g, 1, fx("g_i1")), "g_d1_out");
  CHECK(tc_gather(g, 0, fx("g_i0")), "g_d0_out");
  CHECK(tc_gather(g, -1, fx("g_ismall")), "g_small_out");
  CHECK(tc_gather(t_(g), 0, fx("g_ismall")), "g_t_out");
  CHECK(tc_gather(fx("g3_x"), 1, fx("g3_i")), "g3_out");
  CHECK(tc_gather(fx("g3_x"), 1, tc_to_dtype(fx("g3_i"), TC_I32)), "g3_i32_out");
  /* a transposed index gives the same values as its contiguous copy */
  tc_tensor *it = tc_t(fx("g_i0")); /* (4, 2) */
  tc_tensor *a = tc_gather(t_(g), 1, it), *b = tc_gather(t_(g), 1, tc_contiguous(it));
  EQ(a, b, "gather strided index");
  assert_shape(tc_gather(g, 1, tc_zeros(SHAPE(5, 0), 2, TC_OPTS(.dtype = TC_I64))), SHAPE(5, 0), 2);
  assert_shape(tc_gather(tc_scalar_tensor(3, NULL), 0, I64(0, 0)), SHAPE(2), 1);
  END;
}
END_TEST

START_TEST(test_index_select_gather_errors) {
  BEGIN;
  tc_tensor *x = fx("is_x"); /* [4, 5] */
  ck_assert_ptr_null(tc_index_select(x, 0, I64(1, 4)));
  assert_error(TC_ERR_ARG, "tc_index_select: index 4 is out of range for dim 0 with size 4");
  ck_assert_ptr_null(tc_index_select(x, 1, I64(-1)));
  assert_error(TC_ERR_ARG, "index -1 is out of range for dim 1 with size 5");
  ck_assert_ptr_null(tc_index_select(x, 0, tc_zeros(SHAPE(2), 1, NULL)));
  assert_error(TC_ERR_DTYPE, "index must be int64 or int32, got float32");
  ck_assert_ptr_null(tc_index_select(x, 0, tc_zeros(SHAPE(2), 1, TC_OPTS(.dtype = TC_I16))));
  assert_error(TC_ERR_DTYPE, "got int16");
  ck_assert_ptr_null(tc_index_select(x, 0, tc_zeros(SHAPE(1, 1), 2, TC_OPTS(.dtype = TC_I64))));
  assert_error(TC_ERR_SHAPE, "index must be 0-d or 1-d, got shape [1, 1]");
  ck_assert_ptr_null(tc_index_select(x, 2, I64(0)));
  assert_error(TC_ERR_ARG, "dim 2 out of range");
  ck_assert_ptr_null(tc_index_select(tc_scalar_tensor(1, NULL), 0, I64(0, 0)));
  assert_error(TC_ERR_SHAPE, "exactly one index");
  tc_clear_error();
  ck_assert_ptr_null(tc_index_select(NULL, 0, I64(0)));
  assert_error(TC_ERR_ARG, "tc_index_select: t is NULL");

  tc_tensor *g = fx("g_x"); /* [3, 4] */
  ck_assert_ptr_null(tc_gather(g, 1, T_I64(SHAPE(4, 1), 2, 0, 1, 2, 0)));
  assert_error(TC_ERR_SHAPE, "tc_gather: index has shape [4, 1] but input is [3, 4]: index.size(0) = 4 must be <= input.size(0) = 3");
  ck_assert_ptr_null(tc_gather(g, 1, I64(0, 1)));
  assert_error(TC_ERR_SHAPE, "index has 1 dims but input has 2");
  ck_assert_ptr_null(tc_gather(g, 1, T_I64(SHAPE(2, 1), 2, 0, 4)));
  assert_error(TC_ERR_ARG, "tc_gather: index 4 is out of range for dim 1 with size 4");
  ck_assert_ptr_null(tc_gather(g, 0, T_I64(SHAPE(1, 2), 2, 0, -1)));
  assert_error(TC_ERR_ARG, "index -1 is out of range for dim 0 with size 3");
  ck_assert_ptr_null(tc_gather(g, 0, tc_zeros(SHAPE(1, 1), 2, TC_OPTS(.dtype = TC_U8))));
  assert_error(TC_ERR_DTYPE, "got uint8");
  END;
}
END_TEST

/* ---- scatter family ----------------------------------------------------------------------------- */

START_TEST(test_scatter) {
  BEGIN;
  tc_tensor *self = fx("sc_self"), *src = fx("sc_src");
  CHECK(tc_scatter(self, 1, fx("sc_i"), src), "sc_d1_out");
  CHECK(tc_scatter(self, 0, fx("sc_i0"), src), "sc_d0_out");
  CHECK(tc_scatter_value(self, 1, fx("sc_i"), 7.25), "sc_val_out");
  CHECK(tc_scatter(t_(self), 0, t_(fx("sc_i0")), t_(src)), "sc_t_out");
  CHECK(tc_scatter_add(self, 1, fx("sa_i"), src), "sa_out");
  CHECK(tc_scatter_add(self, -2, fx("sc_i0"), src), "sa_neg_out");
  CHECK(tc_scatter_add(fx("sa_h_self"), 0, fx("sa_h_i"), fx("sa_h_src")), "sa_h_out");
  tc_tensor *ii = T_I64(SHAPE(2, 3), 2, 0, 0, 2, 1, 1, 1);
  CHECK(tc_scatter_add(fx("sa_int_self"), 1, ii, tc_full(SHAPE(2, 3), 2, 5, TC_OPTS(.dtype = TC_I32))), "sa_int_out");
  /* 0-d self: scatter_add of two values into the one element */
  tc_tensor *z = tc_scatter_add(tc_scalar_tensor(1, NULL), 0, I64(0, 0), T_F32(SHAPE(2), 1, 5, 6));
  double zv;
  ck_assert_int_eq(tc_item_double(z, &zv), TC_OK);
  ck_assert(zv == 12.0);
  /* the input is not modified; empty index returns a copy */
  EQ(self, fx("sc_self"), "scatter leaves input");
  tc_tensor *c = tc_scatter(self, 0, tc_zeros(SHAPE(0), 1, TC_OPTS(.dtype = TC_I64)), src);
  EQ(c, self, "empty index");
  ck_assert(!tc_tensor_shares_storage(c, self));
  END;
}
END_TEST

START_TEST(test_scatter_inplace) {
  BEGIN;
  /* in place into a transposed view of a copy: writes land in the underlying storage */
  tc_tensor *base = tc_clone(t_(fx("sc_self"))); /* [5, 3] contiguous */
  tc_tensor *view = tc_t(base);                   /* [3, 5] strided, = sc_self */
  ck_assert_int_eq(tc_scatter_inplace(view, 1, fx("sc_i"), fx("sc_src")), TC_OK);
  CHECK(view, "sc_d1_out");
  tc_tensor *b2 = tc_clone(t_(fx("sc_self")));
  tc_tensor *v2 = tc_t(b2);
  ck_assert_int_eq(tc_scatter_add_inplace(v2, 1, fx("sa_i"), fx("sc_src")), TC_OK);
  CHECK(v2, "sa_out");
  tc_tensor *b3 = tc_clone(fx("ia_self"));
  ck_assert_int_eq(tc_index_add_inplace(b3, 0, fx("ia_i"), fx("ia_src"), 2.0), TC_OK);
  CHECK(b3, "ia_d0_out");
  END;
}
END_TEST

START_TEST(test_index_add) {
  BEGIN;
  tc_tensor *self = fx("ia_self");
  CHECK(tc_index_add(self, 0, fx("ia_i"), fx("ia_src"), 2.0), "ia_d0_out");
  tc_tensor *i1 = tc_to_dtype(I64(2, 2, 0, 1), TC_I32);
  CHECK(tc_index_add(self, 1, i1, fx("ia_src1"), -0.5), "ia_d1_out");
  CHECK(tc_index_add(t_(self), 1, fx("ia_i"), t_(fx("ia_src")), 1.0), "ia_t_out");
  CHECK(tc_index_add(fx("ia_big_self"), 0, fx("ia_big_i"), fx("ia_big_src"), 1.5), "ia_big_out");
  CHECK(tc_index_add(fx("ia_h_self"), 0, I64(1, 1, 1, 1), fx("ia_h_src"), 0.1), "ia_h_out");
  tc_tensor *ones = tc_ones(SHAPE(3, 2), 2, TC_OPTS(.dtype = TC_I64));
  CHECK(tc_index_add(ones, 0, I64(0, 0, 2), tc_full(SHAPE(3, 2), 2, 5, TC_OPTS(.dtype = TC_I64)), 2.5), "ia_int_out");
  /* 0-d self and source */
  tc_tensor *z = tc_index_add(tc_scalar_tensor(1, NULL), 0, I64(0), tc_scalar_tensor(2, NULL), 1.0);
  double v;
  ck_assert_int_eq(tc_item_double(z, &v), TC_OK);
  ck_assert(v == 3.0);
  END;
}
END_TEST

START_TEST(test_scatter_errors) {
  BEGIN;
  tc_tensor *self = tc_clone(fx("sc_self")); /* [3, 5] */
  tc_tensor *src = fx("sc_src");            /* [4, 6] */
  tc_tensor *keep = tc_clone(self);
  /* out of range after valid entries: nothing is written */
  ck_assert_int_eq(tc_scatter_inplace(self, 1, T_I64(SHAPE(1, 3), 2, 0, 1, 5), src), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "tc_scatter_inplace: index 5 is out of range for dim 1 with size 5");
  EQ(self, keep, "untouched after a failed scatter");
  ck_assert_int_eq(tc_scatter_add_inplace(self, 0, T_I64(SHAPE(1, 2), 2, 1, -1), src), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "index -1 is out of range for dim 0 with size 3");
  EQ(self, keep, "untouched after a failed scatter_add");
  ck_assert_ptr_null(tc_scatter(self, 1, fx("sc_i"), tc_to_dtype(src, TC_F64)));
  assert_error(TC_ERR_DTYPE, "tc_scatter: src dtype float64 does not match self dtype float32");
  ck_assert_ptr_null(tc_scatter(self, 1, T_I64(SHAPE(1, 7), 2, 0, 0, 0, 0, 0, 0, 0), src));
  assert_error(TC_ERR_SHAPE, "index has shape [1, 7] but src is [4, 6]: index.size(1) = 7 must be <= src.size(1) = 6");
  ck_assert_ptr_null(tc_scatter(self, 1, T_I64(SHAPE(4, 1), 2, 0, 0, 0, 0), src));
  assert_error(TC_ERR_SHAPE, "index.size(0) = 4 must be <= self.size(0) = 3");
  ck_assert_ptr_null(tc_scatter(self, 1, I64(0), src));
  assert_error(TC_ERR_SHAPE, "index has 1 dims but self has 2");
  ck_assert_ptr_null(tc_scatter_value(tc_zeros(SHAPE(3), 1, TC_OPTS(.dtype = TC_I8)), 0, I64(0), 300));
  assert_error(TC_ERR_ARG, "value 300 cannot be converted to int8 without overflow");
  ck_assert_ptr_null(tc_scatter_add(self, 1, tc_zeros(SHAPE(1, 1), 2, NULL), src));
  assert_error(TC_ERR_DTYPE, "index must be int64 or int32");
  /* index_add */
  tc_tensor *ia = fx("ia_self"); /* [5, 3] */
  ck_assert_ptr_null(tc_index_add(ia, 0, I64(0, 5), tc_ones(SHAPE(2, 3), 2, NULL), 1));
  assert_error(TC_ERR_ARG, "tc_index_add: index 5 is out of range for dim 0 with size 5");
  ck_assert_ptr_null(tc_index_add(ia, 0, I64(0), tc_ones(SHAPE(2, 3), 2, NULL), 1));
  assert_error(TC_ERR_SHAPE, "1 indices given but source.size(0) = 2");
  ck_assert_ptr_null(tc_index_add(ia, 0, I64(0), tc_ones(SHAPE(1, 4), 2, NULL), 1));
  assert_error(TC_ERR_SHAPE, "source has shape [1, 4] but self is [5, 3]");
  ck_assert_ptr_null(tc_index_add(ia, 0, I64(0), tc_ones(SHAPE(1, 3), 2, TC_OPTS(.dtype = TC_F64)), 1));
  assert_error(TC_ERR_DTYPE, "source dtype float64 does not match self dtype float32");
  ck_assert_ptr_null(tc_index_add(ia, 0, T_I64(SHAPE(1, 1), 2, 0), tc_ones(SHAPE(1, 3), 2, NULL), 1));
  assert_error(TC_ERR_SHAPE, "index must be 0-d or 1-d");
  /* in place into a broadcast view */
  tc_tensor *ex = tc_expand(tc_zeros(SHAPE(1, 3), 2, NULL), SHAPE(4, 3), 2);
  ck_assert_int_eq(tc_index_add_inplace(ex, 0, I64(0), tc_ones(SHAPE(1, 3), 2, NULL), 1), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "broadcast view");
  tc_clear_error();
  ck_assert_int_eq(tc_scatter_inplace(NULL, 0, I64(0), src), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "self is NULL");
  END;
}
END_TEST

/* The parallel paths give the same bits as the serial/generic ones. */
START_TEST(test_parallel_paths) {
  BEGIN;
  /* index_add: contiguous fast path (parallel over destination rows) vs the dim-loop path on a
   * transposed layout of the same values */
  int64_t S = 300, K = 5000, D = 64;
  tc_tensor *self = tc_randn(SHAPE(S, D), 2, NULL);
  tc_tensor *src = tc_randn(SHAPE(K, D), 2, NULL);
  tc_tensor *idx = tc_randint(0, S, SHAPE(K), 1, NULL);
  tc_tensor *fast = tc_index_add(self, 0, idx, src, 0.75);
  tc_tensor *self_t = tc_t(tc_clone(tc_t(self))); /* same values, column-major */
  tc_tensor *src_t = tc_t(tc_clone(tc_t(src)));
  ck_assert(!tc_tensor_is_contiguous(self_t));
  tc_tensor *r = tc_index_add(self_t, 0, idx, src_t, 0.75);
  EQ(fast, r, "index_add fast vs generic");
  /* scatter_add big vs index_add (same contributions, same order per element) */
  tc_tensor *sidx = tc_contiguous(tc_expand(tc_unsqueeze(idx, 1), SHAPE(K, D), 2));
  tc_tensor *sa = tc_scatter_add(self, 0, sidx, src);
  tc_tensor *ia = tc_index_add(self, 0, idx, src, 1.0);
  EQ(sa, ia, "scatter_add vs index_add");
  /* gather / index_select big vs a direct loop */
  tc_tensor *x = tc_randn(SHAPE(400, 300), 2, NULL);
  tc_tensor *gi = tc_randint(0, 300, SHAPE(400, 250), 2, NULL);
  tc_tensor *g = tc_gather(x, 1, gi);
  const float *xd = tc_tensor_data(x), *gd = tc_tensor_data(g);
  const int64_t *id = tc_tensor_data(gi);
  for (int64_t i = 0; i < 400; i++)
    for (int64_t j = 0; j < 250; j++) ck_assert(gd[i * 250 + j] == xd[i * 300 + id[i * 250 + j]]);
  tc_tensor *si = tc_randint(0, 400, SHAPE(1000), 1, NULL);
  tc_tensor *s = tc_index_select(x, 0, si);
  const float *sd = tc_tensor_data(s);
  const int64_t *sid = tc_tensor_data(si);
  for (int64_t i = 0; i < 1000; i++)
    for (int64_t j = 0; j < 300; j++) ck_assert(sd[i * 300 + j] == xd[sid[i] * 300 + j]);
  tc_tensor *s1 = tc_index_select(x, 1, tc_randint(0, 300, SHAPE(700), 1, NULL));
  assert_shape(s1, SHAPE(400, 700), 2);
  /* masked_fill / where big: against masked_fill's semantics element by element */
  tc_tensor *m = tc_contiguous(tc_expand(tc_tensor_from_data((bool[]){true, false, true}, SHAPE(3, 1, 1), 3, TC_BOOL),
                                         SHAPE(3, 200, 200), 3));
  tc_tensor *big = tc_randn(SHAPE(3, 200, 200), 3, NULL);
  tc_tensor *mf = tc_masked_fill(big, m, 4.0);
  tc_tensor *w = tc_where(m, tc_full(SHAPE(1), 1, 4.0, NULL), big);
  EQ(mf, w, "masked_fill vs where");
  tc_tensor *ms = tc_masked_select(big, m);
  assert_shape(ms, SHAPE(80000), 1);
  END;
}
END_TEST

/* Masks walked in parallel chunks: transposed and broadcast masks, chunk borders inside rows. */
START_TEST(test_large_masks) {
  BEGIN;
  enum { R = 700, C = 600 };
  bool *md = malloc(R * C), *rd = malloc(C);
  unsigned seed = 12345;
  for (int i = 0; i < R * C; i++) md[i] = ((seed = seed * 1103515245u + 12345u) >> 16) % 3 == 0;
  for (int j = 0; j < C; j++) rd[j] = j % 7 != 2;
  tc_tensor *x = tc_view(tc_arange(0, R * C, 1, TC_OPTS(.dtype = TC_F32)), SHAPE(R, C), 2);
  tc_tensor *m = tc_tensor_from_data(md, SHAPE(R, C), 2, TC_BOOL);
  tc_tensor *row = tc_tensor_from_data(rd, SHAPE(C), 1, TC_BOOL);
  /* transposed: element (j, i) of the views is (i, j) of the data */
  tc_tensor *sel = tc_masked_select(tc_t(x), tc_t(m));
  tc_tensor *adv = tc_index(tc_t(x), (const tc_tensor *const[]){tc_t(m)}, 1);
  int64_t n = 0;
  for (int j = 0; j < C; j++)
    for (int i = 0; i < R; i++) n += md[i * C + j];
  assert_shape(sel, SHAPE(n), 1);
  const float *sd = tc_tensor_data(sel);
  int64_t k = 0;
  for (int j = 0; j < C; j++)
    for (int i = 0; i < R; i++)
      if (md[i * C + j]) ck_assert(sd[k++] == (float)(i * C + j));
  EQ(adv, sel, "x.t()[m.t()] vs masked_select");
  /* a broadcast mask row */
  tc_tensor *sr = tc_masked_select(x, row);
  const float *rs = tc_tensor_data(sr);
  k = 0;
  for (int i = 0; i < R; i++)
    for (int j = 0; j < C; j++)
      if (rd[j]) ck_assert(rs[k++] == (float)(i * C + j));
  ck_assert_int_eq(k, tc_tensor_numel(sr));
  /* x[:, row] keeps rows: the same values */
  tc_tensor *xr = tc_index(x, (const tc_tensor *const[]){NULL, row}, 2);
  EQ(tc_flatten(xr, 0, -1), sr, "x[:, row]");
  /* index_put through the same mask, accumulate: every selected element + 1 */
  tc_tensor *y = tc_clone(x);
  ck_assert_int_eq(tc_index_put_inplace(y, (const tc_tensor *const[]){m}, 1, tc_ones(SHAPE(1), 1, NULL), true), TC_OK);
  const float *yd = tc_tensor_data(y);
  for (int i = 0; i < R * C; i++) ck_assert(yd[i] == (float)i + (md[i] ? 1.0f : 0.0f));
  free(md);
  free(rd);
  END;
}
END_TEST

/* ---- masked ops / where -------------------------------------------------------------------------- */

START_TEST(test_masked_fill_select) {
  BEGIN;
  tc_tensor *x = fx("m_x"), *m = fx("m_mask"), *row = fx("m_row"), *b3 = fx("m_b3");
  CHECK(tc_masked_fill(x, m, -2.5), "mf_out");
  CHECK(tc_masked_fill(x, row, 9.0), "mf_row_out");
  CHECK(tc_masked_fill(x, b3, 1.0), "mf_b3_out");
  CHECK(tc_masked_fill(t_(x), t_(m), 0.5), "mf_t_out");
  CHECK(tc_masked_fill(tc_view(tc_arange(0, 12, 1, NULL), SHAPE(3, 4), 2), m, 2.5), "mf_int_out");
  CHECK(tc_masked_select(x, m), "ms_out");
  CHECK(tc_masked_select(x, row), "ms_row_out");
  CHECK(tc_masked_select(x, b3), "ms_b3_out");
  CHECK(tc_masked_select(t_(x), t_(m)), "ms_t_out");
  tc_tensor *c = tc_clone(x);
  ck_assert_int_eq(tc_masked_fill_inplace(c, m, -2.5), TC_OK);
  CHECK(c, "mf_out");
  tc_tensor *base = tc_clone(t_(x));
  tc_tensor *v = tc_t(base);
  ck_assert_int_eq(tc_masked_fill_inplace(v, row, 9.0), TC_OK);
  CHECK(v, "mf_row_out");
  /* 0-d input with a 1-d mask broadcasts; empty select */
  assert_shape(tc_masked_fill(tc_scalar_tensor(1, NULL), tc_ones(SHAPE(2), 1, TC_OPTS(.dtype = TC_BOOL)), 0), SHAPE(2), 1);
  assert_shape(tc_masked_select(x, tc_zeros(SHAPE(4), 1, TC_OPTS(.dtype = TC_BOOL))), SHAPE(0), 1);
  assert_shape(tc_masked_select(tc_scalar_tensor(3, NULL), tc_ones(NULL, 0, TC_OPTS(.dtype = TC_BOOL))), SHAPE(1), 1);
  /* bool and f16 tensors */
  tc_tensor *bt = tc_masked_fill(tc_zeros(SHAPE(4), 1, TC_OPTS(.dtype = TC_BOOL)), row, 2.5);
  CHECK(bt, "m_row");
  tc_tensor *h = tc_masked_fill(tc_zeros(SHAPE(4), 1, TC_OPTS(.dtype = TC_F16)), row, 0.1);
  double hv;
  tc_item_double(tc_select(h, 0, 0), &hv);
  ck_assert(hv == (double)tc_half_to_float(tc_float_to_half(0.1f)));
  END;
}
END_TEST

START_TEST(test_where) {
  BEGIN;
  tc_tensor *m = fx("m_mask"), *a = fx("w_a"), *b = fx("w_b"), *row = fx("m_row"), *ai = fx("w_ai");
  CHECK(tc_where(m, a, b), "w_out");
  CHECK(tc_where(row, tc_slice(a, 1, 0, 1, 1), tc_slice(b, 0, 0, 1, 1)), "w_bc_out");
  CHECK(tc_where(m, ai, tc_scalar_tensor(2.5, TC_OPTS(.dtype = TC_F64))), "w_promo_out");
  CHECK(tc_where(m, tc_to_dtype(ai, TC_U8), tc_scalar_tensor(-1, TC_OPTS(.dtype = TC_I8))), "w_promo2_out");
  CHECK(tc_where(m, ai, tc_to_dtype(b, TC_F16)), "w_promo3_out");
  CHECK(tc_where(m, tc_to_dtype(ai, TC_U8), tc_to_dtype(ai, TC_I8)), "w_promo4_out");
  CHECK(tc_where(t_(m), t_(a), t_(b)), "w_t_out");
  CHECK(tc_where(tc_to_dtype(m, TC_U8), a, b), "w_out"); /* uint8 condition, as PyTorch (deprecated) */
  END;
}
END_TEST

START_TEST(test_masked_errors) {
  BEGIN;
  tc_tensor *x = fx("m_x"), *m = fx("m_mask");
  ck_assert_ptr_null(tc_masked_fill(x, tc_to_dtype(m, TC_U8), 1));
  assert_error(TC_ERR_DTYPE, "tc_masked_fill: mask must be bool, got uint8");
  ck_assert_ptr_null(tc_masked_fill(x, tc_ones(SHAPE(3), 1, TC_OPTS(.dtype = TC_BOOL)), 1));
  assert_error(TC_ERR_SHAPE, "tc_masked_fill: shapes [3, 4] and [3] cannot broadcast");
  ck_assert_ptr_null(tc_masked_fill(tc_zeros(SHAPE(2), 1, TC_OPTS(.dtype = TC_I8)), tc_ones(SHAPE(2), 1, TC_OPTS(.dtype = TC_BOOL)), 300));
  assert_error(TC_ERR_ARG, "value 300 cannot be converted to int8 without overflow");
  ck_assert_ptr_null(tc_masked_fill(tc_zeros(SHAPE(2), 1, TC_OPTS(.dtype = TC_I32)), tc_ones(SHAPE(2), 1, TC_OPTS(.dtype = TC_BOOL)), NAN));
  assert_error(TC_ERR_ARG, "cannot be converted to int32");
  ck_assert_ptr_null(tc_masked_fill(tc_zeros(SHAPE(2), 1, TC_OPTS(.dtype = TC_F16)), tc_ones(SHAPE(2), 1, TC_OPTS(.dtype = TC_BOOL)), 1e6));
  assert_error(TC_ERR_ARG, "cannot be converted to float16");
  ck_assert_ptr_nonnull(tc_masked_fill(tc_zeros(SHAPE(2), 1, TC_OPTS(.dtype = TC_U8)), tc_ones(SHAPE(2), 1, TC_OPTS(.dtype = TC_BOOL)), -1));
  tc_tensor *small = tc_zeros(SHAPE(4), 1, NULL);
  ck_assert_int_eq(tc_masked_fill_inplace(small, tc_ones(SHAPE(2, 1), 2, TC_OPTS(.dtype = TC_BOOL)), 1), TC_ERR_SHAPE);
  assert_error(TC_ERR_SHAPE, "mask of shape [2, 1] does not broadcast to self's shape [4]");
  ck_assert_ptr_null(tc_masked_select(x, tc_to_dtype(m, TC_U8)));
  assert_error(TC_ERR_DTYPE, "tc_masked_select: mask must be bool");
  ck_assert_ptr_null(tc_where(x, x, x));
  assert_error(TC_ERR_DTYPE, "tc_where: condition must be bool, got float32");
  ck_assert_ptr_null(tc_where(m, x, tc_zeros(SHAPE(2), 1, NULL)));
  assert_error(TC_ERR_SHAPE, "tc_where: shapes [3, 4] and [2] cannot broadcast");
  ck_assert_ptr_null(tc_where(m, tc_zeros(SHAPE(1), 1, TC_OPTS(.dtype = TC_C64)), tc_zeros(SHAPE(1), 1, TC_OPTS(.dtype = TC_F64))));
  assert_error(TC_ERR_DTYPE, "no common dtype");
  tc_clear_error();
  ck_assert_ptr_null(tc_where(m, NULL, x));
  assert_error(TC_ERR_ARG, "tc_where: a is NULL");
  END;
}
END_TEST

/* ---- advanced indexing ------------------------------------------------------------------------- */

#define IDX(...) ((const tc_tensor *const[]){__VA_ARGS__})
#define NIDX(...) (int64_t)(sizeof((const tc_tensor *[]){__VA_ARGS__}) / sizeof(tc_tensor *))
#define INDEX(t, ...) tc_index((t), IDX(__VA_ARGS__), NIDX(__VA_ARGS__))

START_TEST(test_index_adv) {
  BEGIN;
  tc_tensor *x = fx("ax"); /* [2, 3, 4, 5] */
  tc_tensor *m23 = fx("amask23"), *m34 = fx("amask34"), *m2 = fx("amask2");
  tc_tensor *t_true = tc_ones(NULL, 0, TC_OPTS(.dtype = TC_BOOL)), *t_false = tc_zeros(NULL, 0, TC_OPTS(.dtype = TC_BOOL));
  CHECK(INDEX(x, I64(1, 0, 1)), "ai_a_out");
  CHECK(INDEX(x, NULL, I64(2, 0)), "ai_b_out");
  CHECK(INDEX(x, I64(0, 1), NULL, I64(1, 3)), "ai_c_out");
  CHECK(INDEX(x, NULL, I64(0, 2), I64(1, 3)), "ai_d_out");
  CHECK(INDEX(x, T_I64(SHAPE(2, 1), 2, 0, 1), I64(0, 1, 2)), "ai_e_out");
  CHECK(INDEX(x, m23), "ai_f_out");
  CHECK(INDEX(x, NULL, m34), "ai_g_out");
  CHECK(INDEX(x, I64(0, 1), NULL, NULL, I64(-1, -2)), "ai_h_out");
  CHECK(INDEX(x, m2, NULL, I64(1, 2, 3)), "ai_i_out");
  CHECK(INDEX(x, t_true), "ai_j_out");
  CHECK(INDEX(x, NULL, t_false), "ai_k_out");
  CHECK(INDEX(x, tc_to_dtype(I64(1, 0), TC_I32), tc_to_dtype(I64(2, 2), TC_I32)), "ai_l_out");
  CHECK(INDEX(x, NULL, tc_scalar_tensor(1, TC_OPTS(.dtype = TC_I64)), NULL, I64(0, 2)), "ai_m_out");
  CHECK(INDEX(tc_permute(x, SHAPE(3, 1, 0, 2), 4), I64(4, 0), NULL, I64(1, 0)), "ai_n_out");
  CHECK(INDEX(x, fx("amask_all")), "ai_o_out");
  CHECK(INDEX(x, m2, I64(2, 0)), "ai_p_out");
  CHECK(INDEX(x, I64(0, 1), fx("amask34b")), "ai_q_out");
  CHECK(INDEX(x, tc_to_dtype(m2, TC_U8)), "ai_u8_out");
  /* empty index, no advanced index (a copy), 0-d input with a 0-d mask */
  assert_shape(INDEX(x, tc_zeros(SHAPE(0), 1, TC_OPTS(.dtype = TC_I64))), SHAPE(0, 3, 4, 5), 4);
  assert_shape(INDEX(x, NULL, tc_zeros(SHAPE(0), 1, TC_OPTS(.dtype = TC_I64)), tc_zeros(SHAPE(0), 1, TC_OPTS(.dtype = TC_I64))),
               SHAPE(2, 0, 5), 3);
  tc_tensor *cp = INDEX(x, NULL);
  EQ(cp, x, "x[:]");
  ck_assert(!tc_tensor_shares_storage(cp, x));
  EQ(tc_index(x, NULL, 0), x, "x[()]");
  tc_tensor *s = INDEX(tc_scalar_tensor(5, NULL), t_true);
  assert_shape(s, SHAPE(1), 1);
  END;
}
END_TEST

/* A copy of base with base[idx] = vals (or += when acc). */
static tc_tensor *put(const tc_tensor *base, bool acc, const tc_tensor *vals, const tc_tensor *const *idx, int64_t n) {
  tc_tensor *y = tc_clone(base);
  tc_status s = tc_index_put_inplace(y, idx, n, vals, acc);
  ck_assert_msg(s == TC_OK, "index_put failed: %s", tc_last_error());
  return y;
}
#define PUT(base, acc, vals, ...) put((base), (acc), (vals), IDX(__VA_ARGS__), NIDX(__VA_ARGS__))

START_TEST(test_index_put) {
  BEGIN;
  tc_tensor *py = fx("py"), *pz = fx("pz"), *pmask = fx("pmask");
  CHECK(PUT(py, false, fx("pv24"), I64(0, 2)), "ip_a_out");
  CHECK(PUT(py, true, fx("pv34"), I64(0, 0, 2)), "ip_b_out");
  CHECK(PUT(py, true, fx("pv33"), NULL, I64(1, 1, 3)), "ip_c_out");
  CHECK(PUT(py, false, tc_scalar_tensor(-1, NULL), pmask), "ip_d_out");
  CHECK(PUT(py, true, fx("pvn"), pmask), "ip_e_out");
  CHECK(PUT(py, false, fx("pv2"), I64(0, 2), I64(1, 3)), "ip_f_out");
  CHECK(PUT(py, false, fx("pv4"), I64(-1)), "ip_g_out");
  CHECK(PUT(pz, false, tc_slice(fx("pv33"), 0, 0, 2, 1), I64(0, 1), NULL, I64(1, 2)), "ip_h_out");
  CHECK(PUT(fx("ph"), true, tc_full(SHAPE(4, 3), 2, 0.1, TC_OPTS(.dtype = TC_F16)), I64(1, 1, 1, 1)), "ip_i_out");
  CHECK(PUT(fx("pint"), true, I64(5, 6, 7), I64(0, 0, 1), I64(2, 2, 0)), "ip_j_out");
  CHECK(PUT(py, false, fx("pv1134"), I64(1, 2)), "ip_k_out"); /* [1, 1, 4] values: leading 1 dropped */
  CHECK(PUT(py, false, fx("pv34"), I64(0, 0, 0)), "ip_l_out");
  CHECK(PUT(pz, false, tc_scalar_tensor(5, NULL), tc_tensor_from_data((bool[]){true, false}, SHAPE(2), 1, TC_BOOL),
            I64(2, 0)),
        "ip_m_out");
  /* into a strided view: writes reach the base */
  tc_tensor *base = tc_clone(t_(py)); /* [4, 3] */
  tc_tensor *v = tc_t(base);          /* [3, 4] = py */
  ck_assert_int_eq(tc_index_put_inplace(v, IDX(I64(0, 0, 2)), 1, fx("pv34"), true), TC_OK);
  CHECK(v, "ip_b_out");
  /* 0-d self with a 0-d mask; no advanced index (t[:] = v) */
  tc_tensor *z = tc_scalar_tensor(5, NULL);
  ck_assert_int_eq(tc_index_put_inplace(z, IDX(tc_ones(NULL, 0, TC_OPTS(.dtype = TC_BOOL))), 1, tc_scalar_tensor(1, NULL), false), TC_OK);
  double d;
  tc_item_double(z, &d);
  ck_assert(d == 1.0);
  tc_tensor *all = tc_clone(py);
  ck_assert_int_eq(tc_index_put_inplace(all, IDX(NULL), 1, tc_scalar_tensor(2, NULL), true), TC_OK);
  tc_tensor *all2 = tc_clone(py);
  ck_assert_int_eq(tc_index_put_inplace(all2, NULL, 0, tc_full(SHAPE(4), 1, 2, NULL), false), TC_OK);
  const float *ad = tc_tensor_data(all), *a2 = tc_tensor_data(all2);
  for (int i = 0; i < 12; i++) {
    ck_assert(ad[i] == (float)i + 2);
    ck_assert(a2[i] == 2.0f);
  }
  END;
}
END_TEST

START_TEST(test_index_errors) {
  BEGIN;
  tc_tensor *x = fx("ax"); /* [2, 3, 4, 5] */
  ck_assert_ptr_null(INDEX(x, NULL, I64(0, 3)));
  assert_error(TC_ERR_ARG, "tc_index: index 3 is out of range for dim 1 with size 3");
  ck_assert_ptr_null(INDEX(x, I64(-3)));
  assert_error(TC_ERR_ARG, "index -3 is out of range for dim 0 with size 2");
  ck_assert_ptr_null(INDEX(x, NULL, NULL, NULL, NULL, I64(0)));
  assert_error(TC_ERR_ARG, "too many indices for a tensor of shape [2, 3, 4, 5]");
  ck_assert_ptr_null(INDEX(x, NULL, NULL, NULL, fx("amask34")));
  assert_error(TC_ERR_ARG, "too many indices");
  ck_assert_ptr_null(INDEX(x, NULL, NULL, fx("amask34")));
  assert_error(TC_ERR_SHAPE, "the shape of the mask [3, 4] at index 2 does not match");
  ck_assert_ptr_null(INDEX(x, fx("amask34")));
  assert_error(TC_ERR_SHAPE, "the shape of the mask [3, 4] at index 0 does not match the shape of the indexed tensor [2, 3, 4, 5] at dim 0");
  ck_assert_ptr_null(INDEX(x, I64(0, 1), I64(0, 1, 2)));
  assert_error(TC_ERR_SHAPE, "tc_index: shapes [2] and [3] cannot broadcast");
  ck_assert_ptr_null(INDEX(x, NULL, tc_zeros(SHAPE(1), 1, NULL)));
  assert_error(TC_ERR_DTYPE, "indices[1] has dtype float32: index tensors must be int64, int32, bool or uint8");
  ck_assert_ptr_null(tc_index(x, NULL, 2));
  assert_error(TC_ERR_ARG, "indices is NULL");
  ck_assert_ptr_null(INDEX(tc_scalar_tensor(1, NULL), I64(0)));
  assert_error(TC_ERR_ARG, "too many indices");
  /* index_put: nothing is written on failure */
  tc_tensor *y = tc_clone(fx("py")), *keep = tc_clone(y);
  ck_assert_int_eq(tc_index_put_inplace(y, IDX(I64(0, 1, 3)), 1, tc_scalar_tensor(1, NULL), false), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "tc_index_put_inplace: index 3 is out of range for dim 0 with size 3");
  EQ(y, keep, "untouched after a failed index_put");
  ck_assert_int_eq(tc_index_put_inplace(y, IDX(I64(0)), 1, tc_scalar_tensor(1, TC_OPTS(.dtype = TC_F64)), false), TC_ERR_DTYPE);
  assert_error(TC_ERR_DTYPE, "values dtype float64 does not match self dtype float32");
  ck_assert_int_eq(tc_index_put_inplace(y, IDX(I64(0, 1)), 1, tc_zeros(SHAPE(3), 1, NULL), false), TC_ERR_SHAPE);
  assert_error(TC_ERR_SHAPE, "values of shape [3] cannot be broadcast to the indexing result of shape [2, 4]");
  ck_assert_int_eq(tc_index_put_inplace(y, IDX(I64(0)), 1, tc_zeros(SHAPE(2, 1, 4), 3, NULL), false), TC_ERR_SHAPE);
  EQ(y, keep, "untouched");
  tc_tensor *ex = tc_expand(tc_zeros(SHAPE(1, 4), 2, NULL), SHAPE(3, 4), 2);
  ck_assert_int_eq(tc_index_put_inplace(ex, IDX(I64(0)), 1, tc_scalar_tensor(1, NULL), false), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "broadcast view");
  END;
}
END_TEST

/* t[:, 1] = 0 and t[1:3] = other work through views. */
START_TEST(test_write_through_slices) {
  BEGIN;
  tc_tensor *t = tc_clone(fx("py")); /* [3, 4] = 0..11 */
  ck_assert_int_eq(tc_fill_inplace(tc_select(t, 1, 1), 0), TC_OK);
  ck_assert_int_eq(tc_copy_inplace(tc_slice(t, 0, 1, 3, 1), tc_full(SHAPE(4), 1, -1, NULL)), TC_OK);
  ck_assert_int_eq(tc_fill_inplace(tc_slice(tc_select(t, 0, 0), 0, 2, TC_END, 1), 9), TC_OK); /* t[0, 2:] = 9 */
  EQ(t, T_F32(SHAPE(3, 4), 2, 0, 0, 9, 9, -1, -1, -1, -1, -1, -1, -1, -1), "slice writes");
  END;
}
END_TEST

/* ---- allocation failures --------------------------------------------------------------------- */

static int run_index(void *ctx) {
  (void)ctx;
  tc_tensor *x = tc_arange(0, 120, 1, TC_OPTS(.dtype = TC_F32));
  tc_tensor *xv = x ? tc_view(x, SHAPE(2, 3, 4, 5), 4) : NULL;
  bool mask[3] = {true, false, true};
  tc_tensor *m = tc_tensor_from_data(mask, SHAPE(3), 1, TC_BOOL);
  int64_t iv[2] = {1, 3};
  tc_tensor *i = tc_tensor_from_data(iv, SHAPE(2), 1, TC_I64);
  tc_tensor *r = NULL;
  if (xv && m && i) {
    const tc_tensor *idx[4] = {NULL, m, NULL, i};
    r = tc_index(xv, idx, 4);
  }
  int rc = r ? 0 : 1;
  tc_tensor *list[] = {x, xv, m, i, r};
  for (size_t k = 0; k < 5; k++) tc_tensor_release(list[k]);
  return rc;
}

static int run_index_put(void *ctx) {
  (void)ctx;
  tc_tensor *x = tc_zeros(SHAPE(3, 4), 2, NULL);
  int64_t iv[3] = {0, 2, 0};
  tc_tensor *i = tc_tensor_from_data(iv, SHAPE(3), 1, TC_I64);
  tc_tensor *v = tc_ones(SHAPE(1, 3), 2, NULL);
  int rc = 1;
  if (x && i && v) {
    const tc_tensor *idx[2] = {i, i};
    rc = tc_index_put_inplace(x, idx, 2, v, true) != TC_OK;
  }
  tc_tensor_release(x);
  tc_tensor_release(i);
  tc_tensor_release(v);
  return rc;
}

static int run_scatter_add_half(void *ctx) {
  (void)ctx;
  tc_tensor *x = tc_ones(SHAPE(2, 3), 2, TC_OPTS(.dtype = TC_F16));
  tc_tensor *s = tc_ones(SHAPE(2, 3), 2, TC_OPTS(.dtype = TC_F16));
  tc_tensor *i = tc_zeros(SHAPE(2, 3), 2, TC_OPTS(.dtype = TC_I64));
  tc_tensor *r = x && s && i ? tc_scatter_add(x, 0, i, s) : NULL;
  tc_tensor *c = r ? tc_zeros(SHAPE(3), 1, TC_OPTS(.dtype = TC_BOOL)) : NULL;
  tc_tensor *w = c ? tc_where(c, r, s) : NULL;
  int rc = w ? 0 : 1;
  tc_tensor *list[] = {x, s, i, r, c, w};
  for (size_t k = 0; k < 6; k++) tc_tensor_release(list[k]);
  return rc;
}

static int run_masked_select(void *ctx) {
  (void)ctx; /* more than 64 chunks of 65536: the chunk table is allocated */
  tc_tensor *t = tc_ones(SHAPE(70 * 65536), 1, TC_OPTS(.dtype = TC_BOOL));
  tc_tensor *r = t ? tc_masked_select(t, t) : NULL;
  int rc = r && tc_tensor_numel(r) == 70 * 65536 ? 0 : 1;
  tc_tensor_release(t);
  tc_tensor_release(r);
  return rc;
}

START_TEST(test_alloc_failures) {
  LEAK_BEGIN;
  check_alloc_failures(run_index, NULL, "tc_index");
  check_alloc_failures(run_index_put, NULL, "tc_index_put_inplace");
  check_alloc_failures(run_scatter_add_half, NULL, "scatter_add f16 + where");
  check_alloc_failures(run_masked_select, NULL, "tc_masked_select");
  LEAK_END;
}
END_TEST

int main(void) {
  Suite *s = suite_create("index");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_index_select);
  tcase_add_test(tc, test_gather);
  tcase_add_test(tc, test_index_select_gather_errors);
  tcase_add_test(tc, test_scatter);
  tcase_add_test(tc, test_scatter_inplace);
  tcase_add_test(tc, test_index_add);
  tcase_add_test(tc, test_scatter_errors);
  tcase_add_test(tc, test_parallel_paths);
  tcase_add_test(tc, test_large_masks);
  tcase_add_test(tc, test_masked_fill_select);
  tcase_add_test(tc, test_where);
  tcase_add_test(tc, test_masked_errors);
  tcase_add_test(tc, test_index_adv);
  tcase_add_test(tc, test_index_put);
  tcase_add_test(tc, test_index_errors);
  tcase_add_test(tc, test_write_through_slices);
  tcase_add_test(tc, test_alloc_failures);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
