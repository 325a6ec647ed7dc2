/* Autograd engine: graph recording, backward, accumulation, retain_graph, grad(), no_grad, hooks,
 * version checks, and gradcheck over the elementwise op tables and the view ops. */
#include <string.h>
#include "test_util.h"

static tc_tensor *leaf64(const int64_t *shape, int64_t nd, double lo, double hi, uint64_t seed) {
  tc_generator *g = tc_generator_create(seed);
  tc_tensor *t = tc_rand(shape, nd, TC_OPTS(.dtype = TC_F64, .generator = g));
  tc_generator_destroy(g);
  ck_assert_ptr_nonnull(t);
  ck_assert_int_eq(tc_mul_scalar_inplace(t, hi - lo), TC_OK);
  ck_assert_int_eq(tc_add_scalar_inplace(t, lo), TC_OK);
  ck_assert_int_eq(tc_tensor_requires_grad_(t, true), TC_OK);
  return t;
}

/* backward of sum(y), as the vector-Jacobian product with ones (independent of sum's own backward) */
static tc_status backward_sum_ex(const tc_tensor *y, bool retain) {
  tc_tensor *o = tc_ones_like(y, NULL);
  tc_status s = tc_backward_ex(y, o, retain);
  tc_tensor_release(o);
  return s;
}
static tc_status backward_sum(const tc_tensor *y) { return backward_sum_ex(y, false); }

START_TEST(test_simple_graph) {
  LEAK_BEGIN;
  tc_scope_push();
  /* y = sum((w * x + b)^2), grads by hand */
  tc_tensor *w = T_F32(SHAPE(3), 1, 1, 2, 3), *x = T_F32(SHAPE(3), 1, 4, 5, 6), *b = T_F32(SHAPE(1), 1, 0.5f);
  tc_tensor_requires_grad_(w, true);
  tc_tensor_requires_grad_(b, true);
  tc_tensor *z = tc_add(tc_mul(w, x), b, 1.0);
  ck_assert_str_eq(tc_tensor_grad_fn_name(z), "AddBackward0");
  ck_assert(!tc_tensor_is_leaf(z) && tc_tensor_is_leaf(w) && tc_tensor_is_leaf(x));
  ck_assert(!tc_tensor_requires_grad(x));
  tc_tensor *y = tc_pow_scalar(z, 2);
  ck_assert_int_eq(backward_sum(y), TC_OK);
  /* dy/dw = 2 z x, dy/db = sum 2 z */
  tc_tensor *gw = tc_tensor_grad(w), *gb = tc_tensor_grad(b);
  assert_close(gw, T_F32(SHAPE(3), 1, 2 * 4.5f * 4, 2 * 10.5f * 5, 2 * 18.5f * 6), 1e-6, 0, "dw");
  assert_close(gb, T_F32(SHAPE(1), 1, 2 * (4.5f + 10.5f + 18.5f)), 1e-6, 0, "db");
  ck_assert_ptr_null(tc_tensor_grad(x));
  /* without retain_graph a second backward fails clearly */
  ck_assert_int_eq(backward_sum(y), TC_ERR_STATE);
  assert_error(TC_ERR_STATE, "second time");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_accumulate_and_retain) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *w = T_F32(SHAPE(2), 1, 1, -2);
  tc_tensor_requires_grad_(w, true);
  tc_tensor *y = tc_mul(w, w);
  ck_assert_int_eq(backward_sum_ex(y, true), TC_OK);
  ck_assert_int_eq(backward_sum_ex(y, false), TC_OK); /* retained: works, and adds */
  assert_close(tc_tensor_grad(w), T_F32(SHAPE(2), 1, 4, -8), 0, 0, "accumulated twice");
  ck_assert_int_eq(tc_tensor_set_grad(w, NULL), TC_OK);
  ck_assert_ptr_null(tc_tensor_grad(w));
  /* vector-Jacobian product with an explicit gradient */
  tc_tensor *v = tc_mul_scalar(w, 3);
  ck_assert_int_eq(tc_backward(v), TC_ERR_SHAPE); /* not a scalar */
  assert_error(TC_ERR_SHAPE, "scalar outputs");
  ck_assert_int_eq(tc_backward_ex(v, T_F32(SHAPE(2), 1, 1, 10), false), TC_OK);
  assert_close(tc_tensor_grad(w), T_F32(SHAPE(2), 1, 3, 30), 0, 0, "vjp");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_autograd_grad_and_no_grad) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *a = T_F32(SHAPE(2, 2), 2, 1, 2, 3, 4);
  tc_tensor_requires_grad_(a, true);
  tc_tensor *unused = T_F32(SHAPE(1), 1, 1);
  tc_tensor_requires_grad_(unused, true);
  tc_tensor *y = tc_exp(a);
  tc_tensor *g[2];
  const tc_tensor *ins[2] = {a, unused};
  const tc_tensor *ones = tc_ones_like(y, NULL);
  ck_assert_int_eq(tc_autograd_grad((const tc_tensor *const *)&y, 1, &ones, ins, 2, g, true, false), TC_ERR_STATE);
  assert_error(TC_ERR_STATE, "not have been used");
  ck_assert_int_eq(tc_autograd_grad((const tc_tensor *const *)&y, 1, &ones, ins, 2, g, false, true), TC_OK);
  assert_close(g[0], tc_exp(a), 1e-6, 0, "grad of sum exp");
  ck_assert_ptr_null(g[1]);
  ck_assert_ptr_null(tc_tensor_grad(a)); /* .grad untouched */
  /* no_grad nests and records nothing */
  tc_no_grad_push();
  tc_no_grad_push();
  ck_assert(!tc_is_grad_enabled());
  tc_tensor *n1 = tc_mul_scalar(a, 2);
  tc_no_grad_pop();
  tc_tensor *n2 = tc_mul_scalar(a, 2);
  tc_no_grad_pop();
  ck_assert(tc_is_grad_enabled());
  ck_assert(!tc_tensor_requires_grad(n1) && !tc_tensor_requires_grad(n2));
  ck_assert_ptr_null(tc_tensor_grad_fn_name(n1));
  tc_tensor *d = tc_detach(tc_mul_scalar(a, 2));
  ck_assert(!tc_tensor_requires_grad(d) && tc_tensor_is_leaf(d));
  /* requires_grad_ only on floating leaves */
  tc_tensor *i = tc_arange(0, 3, 1, NULL);
  ck_assert_int_eq(tc_tensor_requires_grad_(i, true), TC_ERR_DTYPE);
  ck_assert_int_eq(tc_tensor_requires_grad_(tc_mul_scalar(a, 2), false), TC_ERR_STATE);
  ck_assert_int_eq(backward_sum(tc_mul_scalar(i, 2)), TC_ERR_STATE);
  assert_error(TC_ERR_STATE, "does not require grad");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

static tc_status double_hook(const tc_tensor *grad, tc_tensor **replace, void *user) {
  (*(int *)user)++;
  *replace = tc_mul_scalar(grad, 2);
  return *replace ? TC_OK : tc_last_status();
}

START_TEST(test_hooks) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *w = T_F32(SHAPE(2), 1, 1, 1);
  tc_tensor_requires_grad_(w, true);
  int calls = 0;
  int64_t h = tc_tensor_register_hook(w, double_hook, &calls);
  ck_assert(h > 0);
  tc_tensor *mid = tc_mul_scalar(w, 3);
  int64_t h2 = tc_tensor_register_hook(mid, double_hook, &calls); /* non-leaf hook */
  ck_assert(h2 > 0);
  ck_assert_int_eq(backward_sum(mid), TC_OK);
  ck_assert_int_eq(calls, 2);
  assert_close(tc_tensor_grad(w), T_F32(SHAPE(2), 1, 12, 12), 0, 0, "hooked grad"); /* 1 * 2 * 3 * 2 */
  ck_assert_int_eq(tc_tensor_remove_hook(w, h), TC_OK);
  ck_assert_int_eq(tc_tensor_remove_hook(w, h), TC_ERR_ARG);
  tc_tensor_set_grad(w, NULL);
  ck_assert_int_eq(backward_sum(tc_mul_scalar(w, 3)), TC_OK);
  assert_close(tc_tensor_grad(w), T_F32(SHAPE(2), 1, 3, 3), 0, 0, "hook removed");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_version_counter) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *w = T_F32(SHAPE(3), 1, 1, 2, 3);
  tc_tensor_requires_grad_(w, true);
  tc_tensor *e = tc_exp(w);          /* ExpBackward saves its output */
  tc_tensor *y = tc_mul_scalar(e, 1);
  ck_assert_int_eq(tc_mul_scalar_inplace(e, 2), TC_OK); /* modifies the saved output */
  ck_assert_int_eq(backward_sum(y), TC_ERR_STATE);
  assert_error(TC_ERR_STATE, "modified by an in-place operation");
  /* in-place on a leaf that requires grad is refused */
  ck_assert_int_eq(tc_add_scalar_inplace(w, 1), TC_ERR_STATE);
  assert_error(TC_ERR_STATE, "leaf");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_inplace_history) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *w = T_F32(SHAPE(3), 1, 1, 2, 3), *v = T_F32(SHAPE(3), 1, 4, 5, 6);
  tc_tensor_requires_grad_(w, true);
  tc_tensor_requires_grad_(v, true);
  tc_tensor *a = tc_mul_scalar(w, 1);   /* non-leaf copy */
  ck_assert_int_eq(tc_mul_inplace(a, v), TC_OK); /* a = w * v */
  ck_assert_str_eq(tc_tensor_grad_fn_name(a), "MulBackward0");
  ck_assert_int_eq(tc_add_scalar_inplace(a, 1), TC_OK);
  ck_assert_int_eq(backward_sum(a), TC_OK);
  assert_close(tc_tensor_grad(w), v, 0, 0, "d/dw");
  assert_close(tc_tensor_grad(v), w, 0, 0, "d/dv");
  /* a tensor without grad becomes part of the graph when an operand requiring grad is written in */
  tc_tensor *z = tc_zeros(SHAPE(3), 1, NULL);
  ck_assert_int_eq(tc_copy_inplace(z, v), TC_OK);
  ck_assert(tc_tensor_requires_grad(z));
  ck_assert_int_eq(tc_fill_inplace(z, 2), TC_OK);
  ck_assert_str_eq(tc_tensor_grad_fn_name(z), "FillBackward0");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_inplace_on_views) {
  LEAK_BEGIN;
  tc_scope_push();
  /* x = w * 1 (2, 3); x[:, 1] *= v; x[0] = u  (PyTorch: CopySlices on x) */
  tc_tensor *w = T_F32(SHAPE(2, 3), 2, 1, 2, 3, 4, 5, 6), *v = T_F32(SHAPE(2), 1, 10, 20),
            *u = T_F32(SHAPE(3), 1, 7, 8, 9);
  tc_tensor_requires_grad_(w, true);
  tc_tensor_requires_grad_(v, true);
  tc_tensor_requires_grad_(u, true);
  tc_tensor *x = tc_mul_scalar(w, 1);
  tc_tensor *col = tc_select(x, 1, 1);
  ck_assert_int_eq(tc_mul_inplace(col, v), TC_OK);
  ck_assert_str_eq(tc_tensor_grad_fn_name(x), "CopySlices");
  ck_assert_str_eq(tc_tensor_grad_fn_name(col), "AsStridedBackward0");
  tc_tensor *row = tc_select(x, 0, 0);
  ck_assert_int_eq(tc_copy_inplace(row, u), TC_OK);
  /* loss = sum(x * c) with c = [[1, 2, 3], [4, 5, 6]] */
  tc_tensor *c = T_F32(SHAPE(2, 3), 2, 1, 2, 3, 4, 5, 6);
  ck_assert_int_eq(tc_backward_ex(x, c, false), TC_OK);
  /* x[0] comes from u; x[1] = w[1] except x[1][1] = w[1][1] * v[1] */
  assert_close(tc_tensor_grad(u), T_F32(SHAPE(3), 1, 1, 2, 3), 0, 0, "du");
  assert_close(tc_tensor_grad(w), T_F32(SHAPE(2, 3), 2, 0, 0, 0, 4, 5 * 20, 6), 0, 0, "dw");
  assert_close(tc_tensor_grad(v), T_F32(SHAPE(2), 1, 0, 5 * 5), 0, 0, "dv");
  /* a plain tensor written through a view from a tensor requiring grad joins the graph */
  tc_tensor *z = tc_zeros(SHAPE(2, 2), 2, NULL);
  tc_tensor *zr = tc_select(z, 0, 1);
  ck_assert_int_eq(tc_copy_inplace(zr, tc_slice(u, 0, 0, 2, 1)), TC_OK);
  ck_assert(tc_tensor_requires_grad(z));
  tc_tensor_set_grad(u, NULL);
  ck_assert_int_eq(tc_backward_ex(z, T_F32(SHAPE(2, 2), 2, 1, 2, 3, 4), false), TC_OK);
  assert_close(tc_tensor_grad(u), T_F32(SHAPE(3), 1, 3, 4, 0), 0, 0, "du through z[1]");
  /* a view taken before its root had history picks it up (PyTorch regenerates grad_fn) */
  tc_tensor *r = tc_zeros(SHAPE(3), 1, NULL);
  tc_tensor *rv = tc_narrow(r, 0, 1, 2);
  ck_assert_int_eq(tc_copy_inplace(r, u), TC_OK);
  ck_assert(tc_tensor_requires_grad(rv));
  ck_assert_int_eq(tc_mul_scalar_inplace(rv, 2), TC_OK);
  tc_tensor_set_grad(u, NULL);
  ck_assert_int_eq(tc_backward_ex(r, T_F32(SHAPE(3), 1, 1, 1, 1), false), TC_OK);
  assert_close(tc_tensor_grad(u), T_F32(SHAPE(3), 1, 1, 2, 2), 0, 0, "view made before the root's history");
  /* views of leaves that require grad refuse in-place writes */
  tc_tensor *wv = tc_select(w, 0, 0);
  ck_assert_int_eq(tc_fill_inplace(wv, 0), TC_ERR_STATE);
  assert_error(TC_ERR_STATE, "view of a leaf");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* ---- gradcheck over the elementwise op tables ---------------------------------------------------- */
typedef tc_tensor *(*unary_fn)(const tc_tensor *);
static const struct {
  const char *name;
  unary_fn fn;
} unary_ops[] = {
#define TC_UNARY_FLOAT(name, f32, f64) {#name, tc_##name},
#define TC_UNARY_SAME(name, f32, f64, iexpr, bool_ok) {#name, tc_##name},
#define TC_UNARY_PRED(name, f32, f64, iexpr)
#include "ops/unary.def"
};

static tc_tensor *apply_unary(const tc_tensor *const *in, int64_t n, void *user) {
  (void)n;
  return ((unary_fn)user)(in[0]);
}

START_TEST(test_gradcheck_unary) {
  LEAK_BEGIN;
  tc_scope_push();
  /* inputs away from kinks (abs, relu at 0) and inside every domain (log, sqrt: positive) */
  tc_tensor *x = leaf64(SHAPE(2, 3), 2, 0.2, 0.9, 1);
  tc_tensor *xt = tc_t(tc_detach(x)); /* non-contiguous input too */
  tc_tensor_requires_grad_(xt, true);
  for (size_t i = 0; i < sizeof unary_ops / sizeof *unary_ops; i++) {
    const tc_tensor *in[1] = {x};
    tc_status s = tc_gradcheck(apply_unary, in, 1, (void *)unary_ops[i].fn, 1e-6, 1e-7, 1e-5);
    ck_assert_msg(s == TC_OK, "gradcheck %s: %s", unary_ops[i].name, tc_last_error());
    in[0] = xt;
    s = tc_gradcheck(apply_unary, in, 1, (void *)unary_ops[i].fn, 1e-6, 1e-7, 1e-5);
    ck_assert_msg(s == TC_OK, "gradcheck %s (transposed): %s", unary_ops[i].name, tc_last_error());
  }
  tc_scope_pop();
  LEAK_END;
}
END_TEST

typedef tc_tensor *(*binary_fn)(const tc_tensor *, const tc_tensor *);
static tc_tensor *add2(const tc_tensor *a, const tc_tensor *b) { return tc_add(a, b, 2.5); }
static tc_tensor *sub3(const tc_tensor *a, const tc_tensor *b) { return tc_sub(a, b, 3.0); }
static tc_tensor *divf(const tc_tensor *a, const tc_tensor *b) { return tc_div_mode(a, b, TC_ROUND_FLOOR); }
static tc_tensor *clampt(const tc_tensor *a, const tc_tensor *b) { return tc_clamp_tensor(a, b, NULL); }
static const struct {
  const char *name;
  binary_fn fn;
} binary_ops[] = {{"add", add2},       {"sub", sub3},         {"mul", tc_mul},         {"div", tc_div},
                  {"div_floor", divf}, {"remainder", tc_remainder}, {"pow", tc_pow}, {"minimum", tc_minimum},
                  {"maximum", tc_maximum}, {"clamp_tensor", clampt}};

static tc_tensor *apply_binary(const tc_tensor *const *in, int64_t n, void *user) {
  (void)n;
  return ((binary_fn)user)(in[0], in[1]);
}

START_TEST(test_gradcheck_binary) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *a = leaf64(SHAPE(2, 3), 2, 0.5, 2.0, 2);
  tc_tensor *b = leaf64(SHAPE(3), 1, 0.3, 1.7, 3); /* broadcast */
  for (size_t i = 0; i < sizeof binary_ops / sizeof *binary_ops; i++) {
    const tc_tensor *in[2] = {a, b};
    tc_status s = tc_gradcheck(apply_binary, in, 2, (void *)binary_ops[i].fn, 1e-6, 1e-7, 1e-5);
    ck_assert_msg(s == TC_OK, "gradcheck %s: %s", binary_ops[i].name, tc_last_error());
    in[0] = b;
    in[1] = a;
    s = tc_gradcheck(apply_binary, in, 2, (void *)binary_ops[i].fn, 1e-6, 1e-7, 1e-5);
    ck_assert_msg(s == TC_OK, "gradcheck %s (swapped): %s", binary_ops[i].name, tc_last_error());
  }
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* scalar forms and views */
static tc_tensor *chain_views(const tc_tensor *const *in, int64_t n, void *user) {
  (void)n;
  (void)user;
  const tc_tensor *x = in[0]; /* (2, 3, 4) */
  tc_tensor *p = tc_permute(x, SHAPE(2, 0, 1), 3);         /* (4, 2, 3) */
  tc_tensor *s = tc_slice(p, 0, 1, TC_END, 2);             /* (2, 2, 3) */
  tc_tensor *r = tc_reshape(s, SHAPE(4, 3), 2);             /* copy (non-viewable) */
  tc_tensor *e = tc_expand(tc_unsqueeze(tc_select(r, 1, 2), 0), SHAPE(5, 4), 2);
  tc_tensor *f = tc_flatten(tc_transpose(tc_narrow(x, 2, 1, 2), 0, 1), 0, -1);
  tc_tensor *q = tc_mul(tc_slice(tc_select(e, 0, 3), 0, 1, 3, 1), tc_squeeze(tc_unflatten(f, 0, SHAPE(3, 2, 2), 3)));
  tc_tensor *c = tc_clamp(tc_rsub_scalar(tc_pow_scalar(q, 3), 1.5), -50, 50);
  return tc_add(c, tc_div_scalar(tc_to_dtype(q, TC_F64), 7), 1);
}

START_TEST(test_gradcheck_views_and_scalars) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *x = leaf64(SHAPE(2, 3, 4), 3, -1, 1, 4);
  const tc_tensor *in[1] = {x};
  tc_status s = tc_gradcheck(chain_views, in, 1, NULL, 1e-6, 1e-5, 1e-4);
  ck_assert_msg(s == TC_OK, "gradcheck views: %s", tc_last_error());
  tc_scope_pop();
  LEAK_END;
}
END_TEST

static int train_step(void *ctx) {
  (void)ctx;
  int rc = 1;
  tc_tensor *w = tc_ones(SHAPE(3, 2), 2, NULL);
  tc_tensor *x = tc_ones(SHAPE(4, 3), 2, NULL);
  tc_tensor *m = NULL, *r = NULL, *l = NULL, *g = NULL;
  if (w && x && tc_tensor_requires_grad_(w, true) == TC_OK) {
    tc_tensor *wt = tc_t(w);
    tc_tensor *xs = wt ? tc_select(x, 0, 1) : NULL;
    tc_tensor *ws = xs ? tc_select(wt, 0, 0) : NULL;
    m = ws ? tc_mul(xs, ws) : NULL;
    tc_tensor_release(ws);
    tc_tensor_release(xs);
    tc_tensor_release(wt);
    r = tc_relu(m);
    l = r ? tc_ones_like(r, NULL) : NULL;
    if (l && tc_backward_ex(r, l, false) == TC_OK && (g = tc_tensor_grad(w))) rc = 0;
  }
  tc_tensor *all[] = {w, x, m, r, l, g};
  for (int i = 0; i < 6; i++) tc_tensor_release(all[i]);
  return rc;
}

START_TEST(test_alloc_failures) { check_alloc_failures(train_step, NULL, "forward + backward"); }
END_TEST

int main(void) {
  Suite *s = suite_create("core_autograd");
  TCase *tc = tcase_create("autograd");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_simple_graph);
  tcase_add_test(tc, test_accumulate_and_retain);
  tcase_add_test(tc, test_autograd_grad_and_no_grad);
  tcase_add_test(tc, test_hooks);
  tcase_add_test(tc, test_version_counter);
  tcase_add_test(tc, test_inplace_history);
  tcase_add_test(tc, test_inplace_on_views);
  tcase_add_test(tc, test_gradcheck_unary);
  tcase_add_test(tc, test_gradcheck_binary);
  tcase_add_test(tc, test_gradcheck_views_and_scalars);
  tcase_add_test(tc, test_alloc_failures);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
