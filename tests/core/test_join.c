/* Joining ops against PyTorch fixtures (tests/fixtures/gen/gen_index.py): cat, stack, hstack,
 * vstack — strided inputs, negative dims, dtype promotion, legacy empty tensors; the parallel
 * memcpy path on many large inputs; error messages, no leaks, allocation failures. */
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

#define FAM "index"

#include "deferred_checks.h"

#define LIST(...) ((const tc_tensor *const[]){__VA_ARGS__})
#define NLIST(...) (int64_t)(sizeof((const tc_tensor *[]){__VA_ARGS__}) / sizeof(tc_tensor *))
#define CAT(dim, ...) tc_cat(LIST(__VA_ARGS__), NLIST(__VA_ARGS__), (dim))
#define STACK(dim, ...) tc_stack(LIST(__VA_ARGS__), NLIST(__VA_ARGS__), (dim))
#define HSTACK(...) tc_hstack(LIST(__VA_ARGS__), NLIST(__VA_ARGS__))
#define VSTACK(...) tc_vstack(LIST(__VA_ARGS__), NLIST(__VA_ARGS__))

START_TEST(test_cat) {
  BEGIN;
  tc_tensor *ca = fx("ca"), *cb = fx("cb"), *cc = fx("cc"), *cd = fx("cd");
  CHECK(CAT(1, ca, cb, cc), "cat_d1_out");
  CHECK(CAT(0, ca, cd, tc_zeros(SHAPE(0, 3), 2, NULL)), "cat_d0_out");
  tc_tensor *i32 = tc_to_dtype(T_I64(SHAPE(2), 1, 1, 2), TC_I32);
  tc_tensor *h = tc_to_dtype(T_F32(SHAPE(3), 1, 2.5, -1, 3), TC_F16);
  tc_tensor *b = tc_ones(SHAPE(1), 1, TC_OPTS(.dtype = TC_BOOL));
  CHECK(CAT(0, i32, h, b), "cat_promo_out");
  CHECK(CAT(1, ca, tc_zeros(SHAPE(0), 1, TC_OPTS(.dtype = TC_F64)), cc), "cat_legacy_out");
  CHECK(CAT(0, tc_t(ca), tc_t(cc), tc_t(cb)), "cat_t_out");
  tc_tensor *c3a = fx("c3a"), *c3b = fx("c3b");
  CHECK(CAT(-2, c3a, c3b, fx("c3c")), "cat3_out");
  tc_tensor *sa = tc_slice(tc_slice(c3a, 1, 1, TC_END, 1), 2, 0, TC_END, 2); /* c3a[:, 1:, ::2] */
  tc_tensor *sb = tc_slice(c3b, 2, 1, TC_END, 2);                            /* c3b[:, :, 1::2] */
  CHECK(CAT(1, sa, sb), "cat3_slice_out");
  /* one tensor: a contiguous copy */
  tc_tensor *one = CAT(0, tc_t(ca));
  ck_assert(tc_tensor_is_contiguous(one));
  EQ(one, tc_t(ca), "cat of one");
  /* every input a legacy empty [0]: the result is [0] whatever dim says */
  tc_tensor *e = CAT(5, tc_zeros(SHAPE(0), 1, NULL), tc_zeros(SHAPE(0), 1, TC_OPTS(.dtype = TC_I32)));
  assert_shape(e, SHAPE(0), 1);
  ck_assert_int_eq(tc_tensor_dtype(e), TC_F32);
  END;
}
END_TEST

START_TEST(test_stack) {
  BEGIN;
  tc_tensor *ca = fx("ca"), *cc = fx("cc"), *cd = fx("cd");
  CHECK(STACK(0, ca, tc_slice(cc, 1, 1, TC_END, 1), ca), "stack_d0_out");
  CHECK(STACK(2, ca, tc_expand(cd, SHAPE(2, 3), 2)), "stack_d2_out");
  CHECK(STACK(-2, ca, ca), "stack_neg_out");
  CHECK(STACK(1, ca, tc_to_dtype(ca, TC_F64), tc_to_dtype(ca, TC_I64)), "stack_promo_out");
  CHECK(STACK(0, tc_scalar_tensor(1.5, NULL), tc_scalar_tensor(2.5, NULL)), "stack_0d_out");
  CHECK(HSTACK(T_F32(SHAPE(2), 1, 1, 2), T_F32(SHAPE(1), 1, 3), tc_scalar_tensor(4, NULL)), "hstack_1d_out");
  CHECK(HSTACK(ca, fx("cb"), cc), "hstack_2d_out");
  CHECK(VSTACK(T_F32(SHAPE(3), 1, 1, 2, 3), ca, cd), "vstack_1d_out");
  CHECK(VSTACK(tc_scalar_tensor(1, NULL), tc_scalar_tensor(2, NULL)), "vstack_0d_out");
  END;
}
END_TEST

/* 64 tensors, big enough for the parallel copy, along every dim; and more than 64 inputs. */
START_TEST(test_many_large) {
  BEGIN;
  enum { N = 64, R = 64, C = 256 };
  tc_tensor *ts[N + 36];
  for (int i = 0; i < N + 36; i++) {
    ts[i] = tc_arange(i * R * C, (i + 1) * R * C, 1, TC_OPTS(.dtype = TC_F32));
    ts[i] = tc_view(ts[i], SHAPE(R, C), 2);
  }
  const tc_tensor *const *l = (const tc_tensor *const *)ts;
  /* cat dim 0: the inputs back to back */
  tc_tensor *c0 = tc_cat(l, N, 0);
  assert_shape(c0, SHAPE(N * R, C), 2);
  const float *d = tc_tensor_data(c0);
  for (int64_t k = 0; k < (int64_t)N * R * C; k++) ck_assert(d[k] == (float)k);
  /* cat dim 1: row r holds row r of every input */
  tc_tensor *c1 = tc_cat(l, N, -1);
  assert_shape(c1, SHAPE(R, N * C), 2);
  d = tc_tensor_data(c1);
  for (int64_t r = 0; r < R; r++)
    for (int64_t i = 0; i < N; i++)
      for (int64_t c = 0; c < C; c++) ck_assert(d[(r * N + i) * C + c] == (float)(i * R * C + r * C + c));
  /* stack dims 0, 1, 2 */
  for (int64_t dim = 0; dim < 3; dim++) {
    tc_tensor *s = tc_stack(l, N, dim);
    d = tc_tensor_data(s);
    const int64_t *sz = tc_tensor_shape(s);
    ck_assert(sz[dim] == N);
    int64_t idx[3];
    for (idx[0] = 0; idx[0] < sz[0]; idx[0]++)
      for (idx[1] = 0; idx[1] < sz[1]; idx[1]++)
        for (idx[2] = 0; idx[2] < sz[2]; idx[2]++) {
          int64_t i = idx[dim], rc[2], j = 0;
          for (int64_t k = 0; k < 3; k++)
            if (k != dim) rc[j++] = idx[k];
          ck_assert(*d++ == (float)(i * R * C + rc[0] * C + rc[1]));
        }
  }
  /* 100 inputs (beyond the on-stack part table), with strided and int inputs mixed in: equal to
   * the cat of contiguous float copies */
  tc_tensor *mixed[N + 36], *plain[N + 36];
  for (int i = 0; i < N + 36; i++) {
    if (i % 7 == 3) mixed[i] = tc_t(tc_clone(tc_t(ts[i]))); /* same values, column-major */
    else if (i % 11 == 5) mixed[i] = tc_to_dtype(ts[i], TC_I32);
    else mixed[i] = ts[i];
    plain[i] = tc_to_dtype(tc_contiguous(mixed[i]), TC_F32);
  }
  for (int64_t dim = 0; dim < 2; dim++)
    EQ(tc_cat((const tc_tensor *const *)mixed, N + 36, dim), tc_cat((const tc_tensor *const *)plain, N + 36, dim),
       "mixed cat");
  EQ(tc_stack((const tc_tensor *const *)mixed, N + 36, 1), tc_stack((const tc_tensor *const *)plain, N + 36, 1),
     "mixed stack");
  END;
}
END_TEST

START_TEST(test_errors) {
  BEGIN;
  tc_tensor *a = tc_zeros(SHAPE(3, 4), 2, NULL), *b = tc_zeros(SHAPE(3, 5), 2, NULL);
  ck_assert_ptr_null(CAT(0, a, a, b));
  assert_error(TC_ERR_SHAPE, "tc_cat: tensor 2 has shape [3, 5] but tensor 0 has [3, 4]: sizes must match except in dim 0");
  ck_assert_ptr_null(CAT(1, a, tc_zeros(SHAPE(3, 4, 1), 3, NULL)));
  assert_error(TC_ERR_SHAPE, "tc_cat: tensor 1 has shape [3, 4, 1] but tensor 0 has [3, 4]: tensors must have the same number of dims");
  ck_assert_ptr_null(CAT(0, tc_zeros(SHAPE(0), 1, NULL), a, tc_zeros(SHAPE(2), 1, NULL)));
  assert_error(TC_ERR_SHAPE, "tensor 2 has shape [2] but tensor 1 has [3, 4]");
  ck_assert_ptr_null(CAT(0, a, tc_scalar_tensor(1, NULL)));
  assert_error(TC_ERR_SHAPE, "tc_cat: tensor 1 is zero-dimensional");
  ck_assert_ptr_null(CAT(2, a, b));
  assert_error(TC_ERR_ARG, "tc_cat: dim 2 out of range");
  ck_assert_ptr_null(tc_cat(LIST(a), 0, 0));
  assert_error(TC_ERR_ARG, "tc_cat: expected a non-empty list of tensors");
  ck_assert_ptr_null(tc_cat(NULL, 2, 0));
  assert_error(TC_ERR_ARG, "non-empty list");
  tc_clear_error();
  ck_assert_ptr_null(CAT(0, a, NULL));
  assert_error(TC_ERR_ARG, "tc_cat: tensors[1] is NULL");
  ck_assert_ptr_null(CAT(0, tc_zeros(SHAPE(1), 1, TC_OPTS(.dtype = TC_C64)), tc_zeros(SHAPE(1), 1, TC_OPTS(.dtype = TC_F64))));
  assert_error(TC_ERR_DTYPE, "tc_cat: tensor 1 has dtype float64: no common dtype with complex64");
  ck_assert_ptr_null(STACK(0, a, a, b));
  assert_error(TC_ERR_SHAPE, "tc_stack: tensor 2 has shape [3, 5] but tensor 0 has [3, 4]: all tensors must have the same shape");
  ck_assert_ptr_null(STACK(3, a, a));
  assert_error(TC_ERR_ARG, "tc_stack: dim 3 out of range");
  ck_assert_ptr_null(HSTACK(T_F32(SHAPE(2), 1, 1, 2), a));
  assert_error(TC_ERR_SHAPE, "tc_hstack: tensor 1 has shape [3, 4] but tensor 0 has [2]");
  ck_assert_ptr_null(VSTACK(T_F32(SHAPE(2), 1, 1, 2), a));
  assert_error(TC_ERR_SHAPE, "tc_vstack: tensor 1 has shape [3, 4] but tensor 0 has [1, 2]: sizes must match except in dim 0");
  ck_assert_ptr_null(tc_vstack(NULL, 0));
  assert_error(TC_ERR_ARG, "tc_vstack: expected a non-empty list");
  END;
}
END_TEST

/* ---- allocation failures ---------------------------------------------------------------------- */

static int run_cat(void *ctx) {
  int64_t n = *(int64_t *)ctx; /* parts: the first n-1 contiguous f32 views, the last strided */
  tc_tensor *base = tc_zeros(SHAPE(4, 3), 2, NULL);
  tc_tensor *t = base ? tc_t(base) : NULL;                       /* [3, 4] strided */
  tc_tensor *i = base ? tc_ones(SHAPE(3, 4), 2, TC_OPTS(.dtype = TC_I32)) : NULL; /* converted */
  tc_tensor *c = base ? tc_ones(SHAPE(3, 4), 2, NULL) : NULL;
  tc_tensor *r = NULL, *s = NULL;
  if (t && i && c) {
    const tc_tensor **l = malloc(sizeof *l * (size_t)n);
    for (int64_t k = 0; k < n; k++) l[k] = k == n - 1 ? t : k % 2 ? i : c;
    r = tc_cat(l, n, 1);
    s = r ? tc_stack(l, n, 0) : NULL;
    free(l);
  }
  int rc = s ? 0 : 1;
  tc_tensor *list[] = {base, t, i, c, r, s};
  for (size_t k = 0; k < 6; k++) tc_tensor_release(list[k]);
  return rc;
}

static int run_hvstack(void *ctx) {
  (void)ctx;
  tc_tensor *a = tc_ones(SHAPE(3), 1, NULL), *b = tc_scalar_tensor(2, NULL);
  tc_tensor *h = a && b ? tc_hstack((const tc_tensor *const[]){a, b}, 2) : NULL;
  tc_tensor *v = h ? tc_vstack((const tc_tensor *const[]){a, a}, 2) : NULL;
  int rc = v ? 0 : 1;
  tc_tensor *list[] = {a, b, h, v};
  for (size_t k = 0; k < 4; k++) tc_tensor_release(list[k]);
  return rc;
}

START_TEST(test_alloc_failures) {
  LEAK_BEGIN;
  int64_t n = 3;
  check_alloc_failures(run_cat, &n, "tc_cat/tc_stack, 3 inputs");
  n = 70;
  check_alloc_failures(run_cat, &n, "tc_cat/tc_stack, 70 inputs");
  check_alloc_failures(run_hvstack, NULL, "tc_hstack/tc_vstack");
  LEAK_END;
}
END_TEST

int main(void) {
  Suite *s = suite_create("join");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_cat);
  tcase_add_test(tc, test_stack);
  tcase_add_test(tc, test_many_large);
  tcase_add_test(tc, test_errors);
  tcase_add_test(tc, test_alloc_failures);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
