/* Autograd of the indexing and joining ops: gradcheck (float64, finite differences) for every
 * differentiable op, with broadcasting, duplicate indices, bool masks, non-contiguous inputs and
 * the in-place forms on non-leaf tensors and on views of them; gradients against PyTorch's
 * (tests/fixtures/index_grad, from tests/fixtures/gen/gen_index_grad.py); node names; dtypes of
 * gradients through promoting ops; errors; allocation failures. */
#include <string.h>
#include "test_util.h"

#define FAM "index_grad"

/* a float64 leaf requiring grad, values in [-1, 1) */
static tc_tensor *leaf64(const int64_t *shape, int64_t nd, uint64_t seed) {
  tc_generator *g = tc_generator_create(seed);
  tc_tensor *t = tc_rand(shape, nd, TC_OPTS(.dtype = TC_F64, .generator = g));
  tc_generator_destroy(g);
  ck_assert_ptr_nonnull(t);
  ck_assert_int_eq(tc_mul_scalar_inplace(t, 2), TC_OK);
  ck_assert_int_eq(tc_add_scalar_inplace(t, -1), TC_OK);
  ck_assert_int_eq(tc_tensor_requires_grad_(t, true), TC_OK);
  return t;
}

/* the transpose of a fresh (n, m) leaf: a non-contiguous (m, n) leaf requiring grad */
static tc_tensor *leaf64_t(int64_t m, int64_t n, uint64_t seed) {
  tc_tensor *x = leaf64(SHAPE(n, m), 2, seed);
  tc_tensor *t = tc_t(tc_detach(x));
  ck_assert_int_eq(tc_tensor_requires_grad_(t, true), TC_OK);
  ck_assert(!tc_tensor_is_contiguous(t));
  return t;
}

static tc_tensor *t_bool(const int64_t *shape, int64_t nd, const int64_t *v) {
  tc_tensor *i = t_i64(shape, nd, v);
  return tc_to_dtype(i, TC_BOOL);
}
#define T_BOOL(shape, nd, ...) t_bool((shape), (nd), (const int64_t[]){__VA_ARGS__})

static void gradcheck_msg(tc_gradcheck_fn f, const tc_tensor *const *in, int64_t n, void *user, const char *what,
                          int line) {
  tc_status s = tc_gradcheck(f, in, n, user, 1e-6, 1e-7, 1e-5);
  ck_assert_msg(s == TC_OK, "line %d: gradcheck %s: %s", line, what, tc_last_error());
}
#define GRADCHECK(f, in, n, user, what) gradcheck_msg((f), (in), (n), (user), (what), __LINE__)

static tc_status backward_with(const tc_tensor *y, const tc_tensor *go) { return tc_backward_ex(y, go, false); }

/* ---- how the in-place forms are applied ------------------------------------------------------------
 * mode 0: out of place; 1: in place on y = x * 1 (a non-leaf); 2: in place on a non-contiguous view
 * of y: x is (cols, rows + 2), the target is y[:, 1:rows+1].t() of shape (rows, cols). */
typedef struct {
  int mode;
  int64_t rows;
} target;

static tc_tensor *target_view(const tc_tensor *x, const target *t, tc_tensor **y) {
  *y = tc_mul_scalar(x, 1.0);
  if (t->mode == 2) return tc_transpose(tc_narrow(*y, 1, 1, t->rows), 0, 1);
  return *y;
}

/* ---- index_select, gather ------------------------------------------------------------------------- */
typedef struct {
  int64_t dim;
  const tc_tensor *index;
} dim_index;

static tc_tensor *f_index_select(const tc_tensor *const *in, int64_t n, void *u) {
  (void)n;
  const dim_index *c = u;
  return tc_index_select(in[0], c->dim, c->index);
}

static tc_tensor *f_gather(const tc_tensor *const *in, int64_t n, void *u) {
  (void)n;
  const dim_index *c = u;
  return tc_gather(in[0], c->dim, c->index);
}

START_TEST(test_gradcheck_select_gather) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *x = leaf64(SHAPE(4, 5), 2, 1), *xt = leaf64_t(4, 5, 2);
  tc_tensor *dup = T_I64(SHAPE(4), 1, 3, 0, 3, 1);
  const tc_tensor *in[1] = {x};
  dim_index c = {0, dup};
  GRADCHECK(f_index_select, in, 1, &c, "index_select dim 0, duplicates");
  c = (dim_index){-1, T_I64(SHAPE(3), 1, 4, 4, 2)};
  GRADCHECK(f_index_select, in, 1, &c, "index_select dim -1");
  c = (dim_index){0, T_I64(SHAPE(1), 0, 2)};
  GRADCHECK(f_index_select, in, 1, &c, "index_select 0-d index");
  in[0] = xt;
  c = (dim_index){1, T_I64(SHAPE(5), 1, 4, 0, 4, 1, 3)};
  GRADCHECK(f_index_select, in, 1, &c, "index_select non-contiguous");
  in[0] = leaf64(SHAPE(1), 0, 3);
  c = (dim_index){0, T_I64(SHAPE(1), 1, 0)};
  GRADCHECK(f_index_select, in, 1, &c, "index_select 0-d input");
  /* gather */
  in[0] = x;
  c = (dim_index){1, T_I64(SHAPE(3, 3), 2, 0, 4, 4, 1, 1, 0, 2, 3, 2)};
  GRADCHECK(f_gather, in, 1, &c, "gather dim 1, smaller index");
  c = (dim_index){0, T_I64(SHAPE(2, 5), 2, 3, 0, 0, 1, 2, 3, 3, 3, 0, 1)};
  GRADCHECK(f_gather, in, 1, &c, "gather dim 0");
  in[0] = xt;
  c = (dim_index){-2, T_I64(SHAPE(2, 2), 2, 1, 0, 3, 3)};
  GRADCHECK(f_gather, in, 1, &c, "gather non-contiguous");
  in[0] = leaf64(SHAPE(2, 3, 4), 3, 4);
  c = (dim_index){2, T_I64(SHAPE(2, 2, 5), 3, 0, 3, 1, 1, 2, 3, 3, 3, 0, 0, 1, 2, 1, 0, 3, 2, 2, 2, 1, 0)};
  GRADCHECK(f_gather, in, 1, &c, "gather 3-d, index longer along dim");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* ---- scatter family ------------------------------------------------------------------------------- */
enum { K_SCATTER, K_SCATTER_VALUE, K_SCATTER_ADD, K_INDEX_ADD };
typedef struct {
  int kind;
  int64_t dim;
  const tc_tensor *index;
  double alpha;
  target tg;
} scat_case;

static tc_tensor *f_scatter(const tc_tensor *const *in, int64_t n, void *u) {
  (void)n;
  const scat_case *c = u;
  const tc_tensor *src = c->kind == K_SCATTER_VALUE ? NULL : in[1];
  if (c->tg.mode == 0) {
    switch (c->kind) {
      case K_SCATTER: return tc_scatter(in[0], c->dim, c->index, src);
      case K_SCATTER_VALUE: return tc_scatter_value(in[0], c->dim, c->index, 0.75);
      case K_SCATTER_ADD: return tc_scatter_add(in[0], c->dim, c->index, src);
      default: return tc_index_add(in[0], c->dim, c->index, src, c->alpha);
    }
  }
  tc_tensor *y, *v = target_view(in[0], &c->tg, &y);
  tc_status s;
  switch (c->kind) {
    case K_SCATTER: s = tc_scatter_inplace(v, c->dim, c->index, src); break;
    case K_SCATTER_ADD: s = tc_scatter_add_inplace(v, c->dim, c->index, src); break;
    default: s = tc_index_add_inplace(v, c->dim, c->index, src, c->alpha); break;
  }
  return s ? NULL : tc_mul(y, y); /* nonlinear in y: the gradient reaches through every element */
}

START_TEST(test_gradcheck_scatter) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *x = leaf64(SHAPE(3, 5), 2, 10), *xv = leaf64(SHAPE(5, 5), 2, 11); /* xv: base of a (3, 5) view */
  tc_tensor *src = leaf64(SHAPE(2, 5), 2, 12), *src_big = leaf64(SHAPE(3, 6), 2, 13);
  tc_tensor *uniq = T_I64(SHAPE(2, 5), 2, 0, 1, 2, 0, 2, 2, 0, 1, 1, 0);  /* unique per column */
  tc_tensor *dup = T_I64(SHAPE(2, 5), 2, 0, 1, 2, 0, 0, 0, 1, 0, 0, 2);   /* repeats */
  tc_tensor *small = T_I64(SHAPE(2, 3), 2, 1, 0, 2, 2, 2, 0);
  for (int mode = 0; mode < 3; mode++) {
    target tg = {mode, 3};
    const tc_tensor *in[2] = {mode == 2 ? xv : x, src};
    char what[64];
    scat_case c = {K_SCATTER, 0, uniq, 1, tg};
    snprintf(what, sizeof what, "scatter mode %d", mode);
    GRADCHECK(f_scatter, in, 2, &c, what);
    c = (scat_case){K_SCATTER_ADD, 0, dup, 1, tg};
    snprintf(what, sizeof what, "scatter_add duplicates mode %d", mode);
    GRADCHECK(f_scatter, in, 2, &c, what);
    /* index smaller than src: src elements the index does not reach get zero */
    in[1] = src_big;
    c = (scat_case){K_SCATTER_ADD, -1, small, 1, tg};
    snprintf(what, sizeof what, "scatter_add small index mode %d", mode);
    GRADCHECK(f_scatter, in, 2, &c, what);
    c = (scat_case){K_SCATTER, 1, T_I64(SHAPE(2, 3), 2, 4, 0, 2, 3, 1, 0), 1, tg};
    snprintf(what, sizeof what, "scatter small index mode %d", mode);
    GRADCHECK(f_scatter, in, 2, &c, what);
    /* index_add: duplicates, alpha */
    in[1] = leaf64(SHAPE(4, 5), 2, 14);
    c = (scat_case){K_INDEX_ADD, 0, T_I64(SHAPE(4), 1, 2, 0, 2, 1), 2.5, tg};
    snprintf(what, sizeof what, "index_add mode %d", mode);
    GRADCHECK(f_scatter, in, 2, &c, what);
    in[1] = leaf64_t(3, 4, 15); /* non-contiguous source (3, 4) along dim 1 */
    c = (scat_case){K_INDEX_ADD, 1, T_I64(SHAPE(4), 1, 4, 4, 0, 3), -1, tg};
    snprintf(what, sizeof what, "index_add dim 1 mode %d", mode);
    GRADCHECK(f_scatter, in, 2, &c, what);
  }
  /* scatter with a value; non-contiguous self */
  scat_case c = {K_SCATTER_VALUE, 1, T_I64(SHAPE(2, 2), 2, 4, 0, 1, 1), 1, {0, 0}};
  const tc_tensor *in1[1] = {x};
  GRADCHECK(f_scatter, in1, 1, &c, "scatter value");
  in1[0] = leaf64_t(3, 5, 16);
  GRADCHECK(f_scatter, in1, 1, &c, "scatter value non-contiguous");
  const tc_tensor *in2[2] = {leaf64_t(3, 5, 17), src};
  c = (scat_case){K_SCATTER_ADD, 0, dup, 1, {0, 0}};
  GRADCHECK(f_scatter, in2, 2, &c, "scatter_add non-contiguous self");
  /* 0-d self and source */
  const tc_tensor *in0[2] = {leaf64(SHAPE(1), 0, 18), leaf64(SHAPE(1), 0, 19)};
  c = (scat_case){K_INDEX_ADD, 0, T_I64(SHAPE(1), 1, 0), 3, {0, 0}};
  GRADCHECK(f_scatter, in0, 2, &c, "index_add 0-d");
  c = (scat_case){K_SCATTER_ADD, 0, T_I64(SHAPE(1), 0, 0), 1, {0, 0}};
  GRADCHECK(f_scatter, in0, 2, &c, "scatter_add 0-d");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* a tensor without grad written in place from a source requiring grad joins the graph */
static tc_tensor *f_into_zeros(const tc_tensor *const *in, int64_t n, void *u) {
  (void)n;
  const tc_tensor *idx = u;
  tc_tensor *z = tc_zeros(SHAPE(3, 5), 2, TC_OPTS(.dtype = TC_F64));
  if (tc_scatter_add_inplace(z, 0, idx, in[0])) return NULL;
  tc_tensor *zv = tc_narrow(z, 0, 1, 2); /* a view of z's new value */
  if (tc_index_add_inplace(zv, 1, T_I64(SHAPE(2), 1, 4, 4), in[1], 1.5)) return NULL;
  return tc_mul(z, z);
}

START_TEST(test_gradcheck_into_plain_tensor) {
  LEAK_BEGIN;
  tc_scope_push();
  const tc_tensor *in[2] = {leaf64(SHAPE(2, 5), 2, 20), leaf64(SHAPE(2, 2), 2, 21)};
  GRADCHECK(f_into_zeros, in, 2, T_I64(SHAPE(2, 5), 2, 0, 1, 2, 0, 0, 0, 1, 0, 0, 2), "into zeros");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* ---- masked_fill, masked_select, where ---------------------------------------------------------- */
typedef struct {
  const tc_tensor *mask;
  target tg;
} mask_case;

static tc_tensor *f_masked_fill(const tc_tensor *const *in, int64_t n, void *u) {
  (void)n;
  const mask_case *c = u;
  if (c->tg.mode == 0) return tc_masked_fill(in[0], c->mask, -0.5);
  tc_tensor *y, *v = target_view(in[0], &c->tg, &y);
  return tc_masked_fill_inplace(v, c->mask, -0.5) ? NULL : tc_mul(y, y);
}

static tc_tensor *f_masked_select(const tc_tensor *const *in, int64_t n, void *u) {
  (void)n;
  return tc_masked_select(in[0], ((const mask_case *)u)->mask);
}

static tc_tensor *f_where(const tc_tensor *const *in, int64_t n, void *u) {
  (void)n;
  return tc_where(((const mask_case *)u)->mask, in[0], in[1]);
}

START_TEST(test_gradcheck_masks) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *m34 = T_BOOL(SHAPE(3, 4), 2, 1, 0, 0, 1, 0, 1, 1, 0, 0, 0, 1, 1);
  tc_tensor *m4 = T_BOOL(SHAPE(4), 1, 0, 1, 1, 0);
  tc_tensor *x34 = leaf64(SHAPE(3, 4), 2, 30), *x31 = leaf64(SHAPE(3, 1), 2, 31), *x14 = leaf64(SHAPE(1, 4), 2, 32);
  const tc_tensor *in[2] = {x34};
  mask_case c = {m34, {0, 0}};
  GRADCHECK(f_masked_fill, in, 1, &c, "masked_fill");
  in[0] = x31;
  GRADCHECK(f_masked_fill, in, 1, &c, "masked_fill self broadcast");
  in[0] = leaf64_t(3, 4, 33);
  c.mask = m4;
  GRADCHECK(f_masked_fill, in, 1, &c, "masked_fill mask broadcast, non-contiguous");
  for (int mode = 1; mode < 3; mode++) {
    c = (mask_case){m4, {mode, 3}};
    in[0] = mode == 1 ? x34 : leaf64(SHAPE(4, 5), 2, 34);
    GRADCHECK(f_masked_fill, in, 1, &c, mode == 1 ? "masked_fill_" : "masked_fill_ on a view");
  }
  /* masked_select */
  c = (mask_case){m34, {0, 0}};
  in[0] = x34;
  GRADCHECK(f_masked_select, in, 1, &c, "masked_select");
  in[0] = x14;
  GRADCHECK(f_masked_select, in, 1, &c, "masked_select self broadcast");
  in[0] = leaf64_t(3, 4, 35);
  c.mask = m4;
  GRADCHECK(f_masked_select, in, 1, &c, "masked_select mask broadcast, non-contiguous");
  c.mask = T_BOOL(SHAPE(4), 1, 0, 0, 0, 0);
  GRADCHECK(f_masked_select, in, 1, &c, "masked_select nothing selected");
  /* where */
  c.mask = m34;
  in[0] = x34;
  in[1] = leaf64_t(3, 4, 36);
  GRADCHECK(f_where, in, 2, &c, "where");
  in[0] = x31;
  in[1] = leaf64(SHAPE(4), 1, 37);
  GRADCHECK(f_where, in, 2, &c, "where both broadcast");
  c.mask = tc_to_dtype(m4, TC_U8);
  in[0] = leaf64(SHAPE(1), 0, 38);
  in[1] = x34;
  GRADCHECK(f_where, in, 2, &c, "where 0-d operand, uint8 condition");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* ---- advanced indexing ------------------------------------------------------------------------------ */
typedef struct {
  const tc_tensor *idx[4];
  int64_t n;
  bool accumulate;
  target tg;
} adv_case;

static tc_tensor *f_index(const tc_tensor *const *in, int64_t n, void *u) {
  (void)n;
  const adv_case *c = u;
  return tc_index(in[0], c->idx, c->n);
}

static tc_tensor *f_index_put(const tc_tensor *const *in, int64_t n, void *u) {
  (void)n;
  const adv_case *c = u;
  tc_tensor *y, *v = target_view(in[0], &c->tg, &y);
  return tc_index_put_inplace(v, c->idx, c->n, in[1], c->accumulate) ? NULL : tc_mul(y, y);
}

START_TEST(test_gradcheck_advanced_indexing) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *x = leaf64(SHAPE(3, 4, 5), 3, 40);
  tc_tensor *i3 = T_I64(SHAPE(3), 1, 0, 2, 0), *i5 = T_I64(SHAPE(3), 1, 1, 1, -1);
  tc_tensor *m4 = T_BOOL(SHAPE(4), 1, 1, 0, 1, 1);
  tc_tensor *m34 = T_BOOL(SHAPE(3, 4), 2, 1, 0, 0, 1, 0, 1, 1, 0, 0, 0, 1, 1);
  const tc_tensor *in[2] = {x};
  struct {
    adv_case c;
    const char *what;
  } cases[] = {
      {{{i3}, 1, false, {0, 0}}, "t[int] with repeats"},
      {{{i3, NULL, i5}, 3, false, {0, 0}}, "t[int, :, int] (non-adjacent)"},
      {{{NULL, m4, i5}, 3, false, {0, 0}}, "t[:, mask, int]"},
      {{{m34}, 1, false, {0, 0}}, "t[mask2d]"},
      {{{m34, T_I64(SHAPE(1), 1, 3)}, 2, false, {0, 0}}, "t[mask2d, int]"},
      {{{T_BOOL(SHAPE(1), 0, 1), i3}, 2, false, {0, 0}}, "t[True, int]"},
      {{{NULL, T_I64(SHAPE(2, 2), 2, 3, 0, 0, -4)}, 2, false, {0, 0}}, "t[:, int2d]"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) GRADCHECK(f_index, in, 1, &cases[k].c, cases[k].what);
  in[0] = leaf64_t(4, 5, 41);
  adv_case c = {{T_I64(SHAPE(2), 1, 3, 3), T_I64(SHAPE(2), 1, 4, 0)}, 2, false, {0, 0}};
  GRADCHECK(f_index, in, 1, &c, "t[int, int] non-contiguous");
  /* index_put_: x is (4, 3) (or the (5, 6) base of a (4, 5) view... rows = 4 with cols = 3) */
  for (int mode = 1; mode < 3; mode++) {
    in[0] = mode == 1 ? leaf64(SHAPE(4, 3), 2, 42) : leaf64(SHAPE(3, 6), 2, 43);
    target tg = {mode, 4};
    char what[80];
    c = (adv_case){{T_I64(SHAPE(3), 1, 0, 2, 0)}, 1, true, tg};
    in[1] = leaf64(SHAPE(3, 3), 2, 44);
    snprintf(what, sizeof what, "index_put_ accumulate, duplicates, mode %d", mode);
    GRADCHECK(f_index_put, in, 2, &c, what);
    c = (adv_case){{T_I64(SHAPE(2), 1, 3, 1)}, 1, false, tg};
    in[1] = leaf64(SHAPE(3), 1, 45); /* broadcast along the indexed rows */
    snprintf(what, sizeof what, "index_put_ values broadcast, mode %d", mode);
    GRADCHECK(f_index_put, in, 2, &c, what);
    c = (adv_case){{T_BOOL(SHAPE(4), 1, 0, 1, 1, 0), T_I64(SHAPE(1), 1, 2)}, 2, false, tg};
    in[1] = leaf64(SHAPE(1, 1, 2), 3, 46); /* leading dims of size 1 dropped */
    snprintf(what, sizeof what, "index_put_ mask and int, mode %d", mode);
    GRADCHECK(f_index_put, in, 2, &c, what);
    c = (adv_case){{NULL, T_I64(SHAPE(2), 1, 2, 2)}, 2, true, tg};
    in[1] = leaf64_t(4, 2, 47); /* non-contiguous values (4, 2), repeated column */
    snprintf(what, sizeof what, "index_put_ [:, int] accumulate, mode %d", mode);
    GRADCHECK(f_index_put, in, 2, &c, what);
  }
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* ---- cat, stack, hstack, vstack -------------------------------------------------------------------- */
typedef struct {
  int op; /* 0 cat, 1 stack, 2 hstack, 3 vstack */
  int64_t dim;
} join_case;

static tc_tensor *f_join(const tc_tensor *const *in, int64_t n, void *u) {
  const join_case *c = u;
  switch (c->op) {
    case 0: return tc_cat(in, n, c->dim);
    case 1: return tc_stack(in, n, c->dim);
    case 2: return tc_hstack(in, n);
    default: return tc_vstack(in, n);
  }
}

START_TEST(test_gradcheck_join) {
  LEAK_BEGIN;
  tc_scope_push();
  const tc_tensor *in[4];
  in[0] = leaf64(SHAPE(2, 3), 2, 50);
  in[1] = leaf64_t(2, 2, 51);
  in[2] = leaf64(SHAPE(2, 2), 2, 52);
  join_case c = {0, -1};
  GRADCHECK(f_join, in, 3, &c, "cat dim -1");
  in[1] = leaf64(SHAPE(0), 1, 53); /* legacy empty [0]: skipped */
  in[2] = leaf64_t(4, 3, 54);
  c.dim = 0;
  GRADCHECK(f_join, in, 3, &c, "cat dim 0 with a legacy empty");
  in[0] = leaf64(SHAPE(2, 3), 2, 55);
  in[1] = leaf64_t(2, 3, 56);
  in[2] = leaf64(SHAPE(2, 3), 2, 57);
  c = (join_case){1, 1};
  GRADCHECK(f_join, in, 3, &c, "stack dim 1");
  c.dim = -1;
  GRADCHECK(f_join, in, 3, &c, "stack dim -1");
  in[0] = leaf64(SHAPE(3), 1, 58);
  in[1] = leaf64(SHAPE(1), 0, 59);
  in[2] = leaf64(SHAPE(2), 1, 60);
  c = (join_case){2, 0};
  GRADCHECK(f_join, in, 3, &c, "hstack 1-D and 0-d");
  in[1] = leaf64(SHAPE(3), 1, 61);
  in[2] = leaf64(SHAPE(2, 3), 2, 62);
  c = (join_case){3, 0};
  GRADCHECK(f_join, in, 3, &c, "vstack 1-D and 2-D");
  in[0] = leaf64(SHAPE(2, 2), 2, 63);
  in[1] = leaf64_t(2, 3, 64);
  c = (join_case){2, 0};
  GRADCHECK(f_join, in, 2, &c, "hstack 2-D");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* ---- against PyTorch -------------------------------------------------------------------------------- */
static tc_tensor *fx(const char *name) { return fx_load(FAM, name); }

static tc_tensor *fx_leaf(const char *name) {
  tc_tensor *t = fx(name);
  ck_assert_int_eq(tc_tensor_requires_grad_(t, true), TC_OK);
  return t;
}

static void check_grad(const tc_tensor *t, const char *name) {
  tc_tensor *g = tc_tensor_grad(t);
  ck_assert_msg(g != NULL, "%s: no gradient", name);
  tc_tensor *e = fx(name);
  ck_assert_msg(tc_tensor_dtype(g) == tc_tensor_dtype(e), "%s: gradient dtype %s, expected %s", name,
                tc_dtype_name(tc_tensor_dtype(g)), tc_dtype_name(tc_tensor_dtype(e)));
  assert_close(g, e, 0, 0, name);
}

START_TEST(test_against_torch) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *x = fx_leaf("isel_x");
  ck_assert_int_eq(backward_with(tc_index_select(x, 1, fx("isel_i")), fx("isel_go")), TC_OK);
  check_grad(x, "isel_gx");

  x = fx_leaf("gather_x");
  ck_assert_int_eq(backward_with(tc_gather(x, 1, fx("gather_i")), fx("gather_go")), TC_OK);
  check_grad(x, "gather_gx");

  x = fx_leaf("sadd_x");
  tc_tensor *src = fx_leaf("sadd_src");
  ck_assert_int_eq(backward_with(tc_scatter_add(x, 0, fx("sadd_i"), src), fx("sadd_go")), TC_OK);
  check_grad(x, "sadd_gx");
  check_grad(src, "sadd_gsrc");

  x = fx_leaf("scat_x");
  src = fx_leaf("scat_src");
  ck_assert_int_eq(backward_with(tc_scatter(x, 1, fx("scat_i"), src), fx("scat_go")), TC_OK);
  check_grad(x, "scat_gx");
  check_grad(src, "scat_gsrc");

  x = fx_leaf("iadd_x");
  src = fx_leaf("iadd_src");
  ck_assert_int_eq(backward_with(tc_index_add(x, 0, fx("iadd_i"), src, 2.5), fx("iadd_go")), TC_OK);
  check_grad(x, "iadd_gx");
  check_grad(src, "iadd_gsrc");

  x = fx_leaf("mfill_x");
  ck_assert_int_eq(backward_with(tc_masked_fill(x, fx("mfill_m"), 1.5), fx("mfill_go")), TC_OK);
  check_grad(x, "mfill_gx");

  x = fx_leaf("msel_x");
  ck_assert_int_eq(backward_with(tc_masked_select(x, fx("msel_m")), fx("msel_go")), TC_OK);
  check_grad(x, "msel_gx");

  tc_tensor *a = fx_leaf("where_a"), *b = fx_leaf("where_b");
  ck_assert_int_eq(backward_with(tc_where(fx("where_c"), a, b), fx("where_go")), TC_OK);
  check_grad(a, "where_ga");
  check_grad(b, "where_gb");

  x = fx_leaf("adv_x");
  const tc_tensor *idx[3] = {fx("adv_i0"), NULL, fx("adv_i2")};
  ck_assert_int_eq(backward_with(tc_index(x, idx, 3), fx("adv_go")), TC_OK);
  check_grad(x, "adv_gx");

  x = fx_leaf("advm_x");
  const tc_tensor *idxm[3] = {NULL, fx("advm_m"), fx("advm_i")};
  ck_assert_int_eq(backward_with(tc_index(x, idxm, 3), fx("advm_go")), TC_OK);
  check_grad(x, "advm_gx");

  const char *puts[2] = {"iput", "iput2"};
  for (int k = 0; k < 2; k++) {
    char name[32];
#define NAME(s) (snprintf(name, sizeof name, "%s_%s", puts[k], s), name)
    x = fx_leaf(NAME("x"));
    tc_tensor *v = fx_leaf(NAME("v"));
    tc_tensor *y = tc_mul_scalar(x, 1);
    const tc_tensor *pi[1] = {fx(NAME("i"))};
    ck_assert_int_eq(tc_index_put_inplace(y, pi, 1, v, k == 0), TC_OK);
    ck_assert_int_eq(backward_with(y, fx(NAME("go"))), TC_OK);
    check_grad(x, NAME("gx"));
    check_grad(v, NAME("gv"));
#undef NAME
  }

  a = fx_leaf("cat_a");
  b = fx_leaf("cat_b");
  ck_assert_int_eq(tc_tensor_dtype(a), TC_F32);
  const tc_tensor *ab[2] = {a, b};
  tc_tensor *cat = tc_cat(ab, 2, 1);
  ck_assert_int_eq(tc_tensor_dtype(cat), TC_F64);
  ck_assert_int_eq(backward_with(cat, fx("cat_go")), TC_OK);
  check_grad(a, "cat_ga");
  check_grad(b, "cat_gb");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* ---- node names, dtypes, no recording without grad --------------------------------------------------- */
static void assert_node(const tc_tensor *t, const char *name) {
  ck_assert_ptr_nonnull(t);
  const char *got = tc_tensor_grad_fn_name(t);
  ck_assert_msg(got && !strcmp(got, name), "grad_fn %s, expected %s", got ? got : "(none)", name);
}

START_TEST(test_node_names) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *x = leaf64(SHAPE(3, 4), 2, 70), *s = leaf64(SHAPE(2, 4), 2, 71);
  tc_tensor *i1 = T_I64(SHAPE(2), 1, 2, 0), *i2 = T_I64(SHAPE(2, 4), 2, 0, 1, 2, 0, 1, 2, 0, 1);
  tc_tensor *m = tc_gt_scalar(tc_detach(x), 0);
  assert_node(tc_index_select(x, 0, i1), "IndexSelectBackward0");
  assert_node(tc_gather(x, 0, i2), "GatherBackward0");
  assert_node(tc_scatter(x, 0, i2, s), "ScatterBackward0");
  assert_node(tc_scatter_value(x, 0, i2, 1), "ScatterBackward1");
  assert_node(tc_scatter_add(x, 0, i2, s), "ScatterAddBackward0");
  assert_node(tc_index_add(x, 0, i1, s, 1), "IndexAddBackward0");
  assert_node(tc_masked_fill(x, m, 0), "MaskedFillBackward0");
  assert_node(tc_masked_select(x, m), "MaskedSelectBackward0");
  assert_node(tc_where(m, x, x), "WhereBackward0");
  assert_node(tc_index(x, (const tc_tensor *const[]){i1}, 1), "IndexBackward0");
  assert_node(tc_index(x, (const tc_tensor *const[]){m}, 1), "IndexBackward0");
  const tc_tensor *xs[2] = {x, x};
  assert_node(tc_cat(xs, 2, 0), "CatBackward0");
  assert_node(tc_stack(xs, 2, 0), "StackBackward0");
  assert_node(tc_hstack(xs, 2), "CatBackward0");
  assert_node(tc_vstack(xs, 2), "CatBackward0");
  /* in place */
  tc_tensor *y = tc_mul_scalar(x, 1);
  ck_assert_int_eq(tc_scatter_inplace(y, 0, i2, s), TC_OK);
  assert_node(y, "ScatterBackward0");
  ck_assert_int_eq(tc_scatter_add_inplace(y, 0, i2, s), TC_OK);
  assert_node(y, "ScatterAddBackward0");
  ck_assert_int_eq(tc_index_add_inplace(y, 0, i1, s, 2), TC_OK);
  assert_node(y, "IndexAddBackward0");
  ck_assert_int_eq(tc_masked_fill_inplace(y, m, 0), TC_OK);
  assert_node(y, "MaskedFillBackward0");
  ck_assert_int_eq(tc_index_put_inplace(y, (const tc_tensor *const[]){i1}, 1, s, true), TC_OK);
  assert_node(y, "IndexPutBackward0");
  /* in place on a view: CopySlices on the base */
  tc_tensor *row = tc_select(y, 0, 1);
  ck_assert_int_eq(tc_masked_fill_inplace(row, tc_select(m, 0, 1), 3), TC_OK);
  assert_node(y, "CopySlices");
  assert_node(row, "AsStridedBackward0");
  /* nothing is recorded without grad, or under no_grad */
  tc_tensor *xd = tc_detach(x), *sd = tc_detach(s);
  ck_assert_ptr_null(tc_tensor_grad_fn_name(tc_scatter_add(xd, 0, i2, sd)));
  ck_assert_ptr_null(tc_tensor_grad_fn_name(tc_cat((const tc_tensor *const[]){xd, xd}, 2, 0)));
  tc_tensor *yd = tc_clone(xd);
  ck_assert_int_eq(tc_index_add_inplace(yd, 0, i1, sd, 1), TC_OK);
  ck_assert(!tc_tensor_requires_grad(yd));
  tc_no_grad_push();
  tc_tensor *ng = tc_where(m, x, s);
  ck_assert(ng == NULL); /* shapes do not broadcast: the error path under no_grad */
  ng = tc_index_select(x, 0, i1);
  ck_assert(!tc_tensor_requires_grad(ng));
  tc_tensor *yn = tc_mul_scalar(x, 1);
  ck_assert_int_eq(tc_scatter_inplace(yn, 0, i2, s), TC_OK);
  ck_assert(!tc_tensor_requires_grad(yn));
  tc_no_grad_pop();
  /* the out-of-place forms record only their own node (no clone node in between) */
  tc_tensor *sa = tc_scatter_add(x, 0, i2, s);
  ck_assert_int_eq(backward_with(sa, tc_ones_like(sa, NULL)), TC_OK);
  assert_close(tc_tensor_grad(x), tc_ones_like(x, NULL), 0, 0, "scatter_add self grad");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_grad_dtypes) {
  LEAK_BEGIN;
  tc_scope_push();
  /* cat promotes f32 + f64 (+ int, which gets no gradient): each gradient in its input's dtype */
  tc_tensor *a = T_F32(SHAPE(2), 1, 1, 2);
  tc_tensor *b = tc_to_dtype(T_F32(SHAPE(3), 1, 3, 4, 5), TC_F64);
  tc_tensor *i = T_I64(SHAPE(1), 1, 7);
  tc_tensor_requires_grad_(a, true);
  tc_tensor_requires_grad_(b, true);
  tc_tensor *c = tc_cat((const tc_tensor *const[]){a, i, b}, 3, 0);
  ck_assert_int_eq(tc_tensor_dtype(c), TC_F64);
  tc_tensor *go = tc_to_dtype(T_F32(SHAPE(6), 1, 10, 20, 30, 40, 50, 60), TC_F64);
  ck_assert_int_eq(backward_with(c, go), TC_OK);
  tc_tensor *ga = tc_tensor_grad(a), *gb = tc_tensor_grad(b);
  ck_assert_int_eq(tc_tensor_dtype(ga), TC_F32);
  ck_assert_int_eq(tc_tensor_dtype(gb), TC_F64);
  assert_close(ga, T_F32(SHAPE(2), 1, 10, 20), 0, 0, "cat grad a");
  assert_close(gb, T_F32(SHAPE(3), 1, 40, 50, 60), 0, 0, "cat grad b");
  ck_assert(!tc_tensor_requires_grad(i));
  /* stack of f32 with bf16 -> f32; the bf16 input's gradient comes back in bf16 */
  tc_tensor *h = tc_to_dtype(T_F32(SHAPE(2), 1, 1, 2), TC_BF16);
  tc_tensor_requires_grad_(h, true);
  tc_tensor_set_grad(a, NULL);
  tc_tensor *st = tc_stack((const tc_tensor *const[]){h, a}, 2, 1);
  ck_assert_int_eq(tc_tensor_dtype(st), TC_F32);
  ck_assert_int_eq(backward_with(st, T_F32(SHAPE(2, 2), 2, 1, 2, 3, 4)), TC_OK);
  ck_assert_int_eq(tc_tensor_dtype(tc_tensor_grad(h)), TC_BF16);
  assert_close(tc_tensor_grad(h), T_F32(SHAPE(2), 1, 1, 3), 0, 0, "stack grad bf16");
  assert_close(tc_tensor_grad(a), T_F32(SHAPE(2), 1, 2, 4), 0, 0, "stack grad f32");
  /* where: f32 [n] with a 0-d f64 gives f32; the 0-d operand's gradient is a f64 sum */
  tc_tensor *w = T_F32(SHAPE(3), 1, 1, 2, 3);
  tc_tensor *z = tc_to_dtype(T_F32(SHAPE(1), 0, 9), TC_F64);
  tc_tensor_requires_grad_(w, true);
  tc_tensor_requires_grad_(z, true);
  tc_tensor *cond = T_BOOL(SHAPE(3), 1, 1, 0, 0);
  tc_tensor *wh = tc_where(cond, w, z);
  ck_assert_int_eq(tc_tensor_dtype(wh), TC_F32);
  ck_assert_int_eq(backward_with(wh, T_F32(SHAPE(3), 1, 1, 2, 4)), TC_OK);
  assert_close(tc_tensor_grad(w), T_F32(SHAPE(3), 1, 1, 0, 0), 0, 0, "where grad a");
  ck_assert_int_eq(tc_tensor_dtype(tc_tensor_grad(z)), TC_F64);
  ck_assert_int_eq(tc_tensor_ndim(tc_tensor_grad(z)), 0);
  assert_close(tc_tensor_grad(z), T_F32(SHAPE(1), 0, 6), 0, 0, "where grad b");
  /* an integer tensor indexed by ops whose other input requires grad: only that input gets one */
  tc_tensor *xi = T_I64(SHAPE(3), 1, 1, 2, 3);
  tc_tensor *f = tc_where(cond, xi, w);
  ck_assert_int_eq(tc_tensor_dtype(f), TC_F32);
  ck_assert_str_eq(tc_tensor_grad_fn_name(f), "WhereBackward0");
  tc_tensor_set_grad(w, NULL);
  ck_assert_int_eq(backward_with(f, T_F32(SHAPE(3), 1, 1, 2, 4)), TC_OK);
  assert_close(tc_tensor_grad(w), T_F32(SHAPE(3), 1, 0, 2, 4), 0, 0, "where int operand");
  /* float16 through index_select and index_put */
  tc_tensor *hx = tc_to_dtype(T_F32(SHAPE(3), 1, 1, 2, 3), TC_F16);
  tc_tensor_requires_grad_(hx, true);
  tc_tensor *sel = tc_index_select(hx, 0, T_I64(SHAPE(3), 1, 2, 2, 0));
  ck_assert_int_eq(backward_with(sel, tc_to_dtype(T_F32(SHAPE(3), 1, 1, 2, 4), TC_F16)), TC_OK);
  ck_assert_int_eq(tc_tensor_dtype(tc_tensor_grad(hx)), TC_F16);
  assert_close(tc_tensor_grad(hx), T_F32(SHAPE(3), 1, 4, 0, 3), 0, 0, "index_select f16");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* ---- errors ------------------------------------------------------------------------------------------- */
START_TEST(test_errors) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *x = leaf64(SHAPE(3, 4), 2, 80), *s = leaf64(SHAPE(2, 4), 2, 81);
  tc_tensor *i1 = T_I64(SHAPE(2), 1, 2, 0), *bad = T_I64(SHAPE(2), 1, 2, 5);
  /* argument errors are the same with grad recording on */
  ck_assert_ptr_null(tc_index_select(x, 1, bad));
  assert_error(TC_ERR_ARG, "tc_index_select: index 5 is out of range for dim 1 with size 4");
  ck_assert_ptr_null(tc_gather(x, 0, T_I64(SHAPE(2), 1, 0, 1)));
  assert_error(TC_ERR_SHAPE, "tc_gather: index has 1 dims but input has 2");
  ck_assert_ptr_null(tc_index_add(x, 0, i1, tc_to_dtype(s, TC_F32), 1));
  assert_error(TC_ERR_DTYPE, "tc_index_add: source dtype float32 does not match self dtype float64");
  ck_assert_ptr_null(tc_masked_select(x, T_I64(SHAPE(4), 1, 1, 0, 1, 0)));
  assert_error(TC_ERR_DTYPE, "tc_masked_select: mask must be bool");
  ck_assert_ptr_null(tc_cat((const tc_tensor *const[]){x, s, T_F32(SHAPE(4), 1, 1, 2, 3, 4)}, 3, 0));
  assert_error(TC_ERR_SHAPE, "tc_cat: tensor 2 has shape [4] but tensor 0 has [3, 4]");
  tc_tensor *y = tc_mul_scalar(x, 1);
  ck_assert_int_eq(tc_scatter_inplace(y, 0, T_I64(SHAPE(1, 1), 2, 3), s), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "tc_scatter_inplace: index 3 is out of range for dim 0 with size 3");
  ck_assert_str_eq(tc_tensor_grad_fn_name(y), "MulBackward0"); /* history unchanged */
  const tc_tensor *pi[1] = {T_I64(SHAPE(1), 1, -4)};
  ck_assert_int_eq(tc_index_put_inplace(y, pi, 1, s, false), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "tc_index_put_inplace: index -4 is out of range for dim 0 with size 3");
  /* in-place writes into a leaf requiring grad (or a view of one) are refused, self untouched */
  ck_assert_int_eq(tc_scatter_add_inplace(x, 0, T_I64(SHAPE(1, 1), 2, 0), s), TC_ERR_STATE);
  assert_error(TC_ERR_STATE, "tc_scatter_add_inplace: a leaf tensor that requires grad");
  ck_assert_int_eq(tc_masked_fill_inplace(tc_select(x, 0, 0), T_BOOL(SHAPE(4), 1, 1, 1, 1, 1), 0), TC_ERR_STATE);
  assert_error(TC_ERR_STATE, "view of a leaf");
  ck_assert_int_eq(tc_index_add_inplace(x, 0, i1, s, 1), TC_ERR_STATE);
  ck_assert_int_eq(tc_scatter_inplace(x, 0, T_I64(SHAPE(1, 1), 2, 0), s), TC_ERR_STATE);
  ck_assert_int_eq(tc_index_put_inplace(x, (const tc_tensor *const[]){i1}, 1, s, false), TC_ERR_STATE);
  /* ... but allowed without grad mode */
  tc_tensor *xc = tc_clone(tc_detach(x));
  tc_no_grad_push();
  ck_assert_int_eq(tc_masked_fill_inplace(x, T_BOOL(SHAPE(4), 1, 0, 0, 0, 0), 0), TC_OK);
  tc_no_grad_pop();
  assert_equal(tc_detach(x), xc, "masked_fill_ of nothing");
  /* an index modified in place after the forward: backward reports it */
  tc_tensor *idx = T_I64(SHAPE(2), 1, 1, 0);
  tc_tensor *sel = tc_index_select(x, 0, idx);
  ck_assert_int_eq(tc_fill_inplace(idx, 2), TC_OK);
  ck_assert_int_eq(backward_with(sel, tc_ones_like(sel, NULL)), TC_ERR_STATE);
  assert_error(TC_ERR_STATE, "IndexSelectBackward0: one of the tensors needed for gradient computation");
  /* a second backward without retain_graph */
  tc_tensor *g = tc_gather(x, 0, T_I64(SHAPE(1, 4), 2, 0, 1, 2, 0));
  ck_assert_int_eq(backward_with(g, tc_ones_like(g, NULL)), TC_OK);
  ck_assert_int_eq(backward_with(g, tc_ones_like(g, NULL)), TC_ERR_STATE);
  assert_error(TC_ERR_STATE, "second time");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* ---- allocation failures --------------------------------------------------------------------------- */
static int cat_step(void *ctx) {
  (void)ctx;
  int rc = 1;
  tc_tensor *a = tc_ones(SHAPE(2, 3), 2, NULL), *b = tc_ones(SHAPE(2, 2), 2, TC_OPTS(.dtype = TC_F64));
  tc_tensor *c = NULL, *l = NULL, *ga = NULL, *gb = NULL;
  if (a && b && tc_tensor_requires_grad_(a, true) == TC_OK && tc_tensor_requires_grad_(b, true) == TC_OK) {
    const tc_tensor *ab[2] = {a, b};
    c = tc_cat(ab, 2, 1);
    l = c ? tc_ones_like(c, NULL) : NULL;
    if (l && tc_backward_ex(c, l, false) == TC_OK && (ga = tc_tensor_grad(a)) && (gb = tc_tensor_grad(b))) rc = 0;
  }
  tc_tensor *all[] = {a, b, c, l, ga, gb};
  for (int i = 0; i < 6; i++) tc_tensor_release(all[i]);
  return rc;
}

/* index_put_ into a view of a non-leaf, then backward (CopySlices) */
static int index_put_step(void *ctx) {
  (void)ctx;
  int rc = 1;
  tc_tensor *x = tc_ones(SHAPE(3, 4), 2, NULL), *v = tc_ones(SHAPE(2), 1, NULL);
  tc_tensor *idx = tc_arange(0, 2, 1, TC_OPTS(.dtype = TC_I64));
  tc_tensor *y = NULL, *row = NULL, *l = NULL, *gx = NULL, *gv = NULL;
  if (x && v && idx && tc_tensor_requires_grad_(x, true) == TC_OK && tc_tensor_requires_grad_(v, true) == TC_OK) {
    y = tc_mul_scalar(x, 2);
    row = y ? tc_select(y, 0, 1) : NULL;
    const tc_tensor *ix[1] = {idx};
    if (row && tc_index_put_inplace(row, ix, 1, v, true) == TC_OK) {
      l = tc_ones_like(y, NULL);
      if (l && tc_backward_ex(y, l, false) == TC_OK && (gx = tc_tensor_grad(x)) && (gv = tc_tensor_grad(v))) rc = 0;
    }
  }
  tc_tensor *all[] = {x, v, idx, y, row, l, gx, gv};
  for (int i = 0; i < 8; i++) tc_tensor_release(all[i]);
  return rc;
}

START_TEST(test_alloc_failures) {
  check_alloc_failures(cat_step, NULL, "cat forward + backward");
  check_alloc_failures(index_put_step, NULL, "index_put_ on a view + backward");
}
END_TEST

int main(void) {
  Suite *s = suite_create("core_index_grad");
  TCase *tc = tcase_create("index_grad");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_gradcheck_select_gather);
  tcase_add_test(tc, test_gradcheck_scatter);
  tcase_add_test(tc, test_gradcheck_into_plain_tensor);
  tcase_add_test(tc, test_gradcheck_masks);
  tcase_add_test(tc, test_gradcheck_advanced_indexing);
  tcase_add_test(tc, test_gradcheck_join);
  tcase_add_test(tc, test_against_torch);
  tcase_add_test(tc, test_node_names);
  tcase_add_test(tc, test_grad_dtypes);
  tcase_add_test(tc, test_errors);
  tcase_add_test(tc, test_alloc_failures);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
