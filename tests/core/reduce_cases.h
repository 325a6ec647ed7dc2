/* tests/core/reduce_cases.h — runs the golden cases of tests/fixtures/reduce (made by
 * tests/fixtures/gen/gen_reduce.py; its docstring describes the case table). Included by
 * test_reduce.c and test_softmax.c, each running its own range of ops. */
#ifndef CTORCH_TEST_REDUCE_CASES_H
#define CTORCH_TEST_REDUCE_CASES_H

#include <string.h>
#include "test_util.h"

/* Op numbering of gen_reduce.py's OPS list. */
enum {
  OP_SUM, OP_MEAN, OP_PROD, OP_VAR, OP_STD, OP_NORM, OP_LSE, OP_ALL, OP_ANY, OP_MAX, OP_MIN, OP_MAX_DIM,
  OP_MIN_DIM, OP_ARGMAX, OP_ARGMIN, OP_CUMSUM, OP_CUMPROD, OP_SOFTMAX, OP_LOG_SOFTMAX, OP_COUNT
};
static const char *const op_names[OP_COUNT] = {"sum", "mean", "prod", "var", "std", "norm", "logsumexp",
                                               "all", "any", "max", "min", "max_dim", "min_dim", "argmax",
                                               "argmin", "cumsum", "cumprod", "softmax", "log_softmax"};
#define CASE_COLS 14

static tc_tensor *apply_view(const tc_tensor *x, int v) {
  int64_t nd = tc_tensor_ndim(x);
  switch (v) {
    case 1: return tc_transpose(x, 0, 1);
    case 2: return tc_slice(x, 0, 0, TC_END, 2);
    case 3: return tc_slice(x, -1, 1, TC_END, 1);
    case 4: {
      int64_t perm[TC_MAX_DIMS];
      for (int64_t i = 0; i < nd; i++) perm[i] = nd - 1 - i;
      return tc_permute(x, perm, nd);
    }
    case 5: {
      tc_tensor *u = tc_unsqueeze(x, 1);
      int64_t shape[TC_MAX_DIMS];
      memcpy(shape, tc_tensor_shape(u), sizeof(int64_t) * (size_t)(nd + 1));
      shape[1] = 3;
      tc_tensor *e = tc_expand(u, shape, nd + 1);
      tc_tensor_release(u);
      return e;
    }
    default: return tc_view(x, tc_tensor_shape(x), nd);
  }
}

/* Compares complex64 tensors (assert_close looks at real parts only). */
static void assert_close_c64(const tc_tensor *a, const tc_tensor *e, double rtol, double atol, const char *what) {
  ck_assert_msg(a != NULL, "%s: result is NULL: %s", what, tc_last_error());
  assert_shape(a, tc_tensor_shape(e), tc_tensor_ndim(e));
  ck_assert_msg(tc_tensor_dtype(a) == TC_C64, "%s: dtype %s", what, tc_dtype_name(tc_tensor_dtype(a)));
  tc_tensor *ac = tc_contiguous(a), *ec = tc_contiguous(e);
  const float *pa = tc_tensor_data(ac), *pe = tc_tensor_data(ec);
  for (int64_t i = 0; i < 2 * tc_tensor_numel(e); i++)
    ck_assert_msg(fabs(pa[i] - pe[i]) <= atol + rtol * fabs(pe[i]), "%s: component %lld: %g vs %g", what,
                  (long long)i, pa[i], pe[i]);
  tc_tensor_release(ac);
  tc_tensor_release(ec);
}

static void tolerances(int out_dt, double *rtol, double *atol) {
  switch (out_dt) {
    case TC_F64: *rtol = 1e-9, *atol = 1e-12; break;
    case TC_F32: case TC_C64: *rtol = 2e-5, *atol = 2e-6; break;
    case TC_F16: *rtol = 2e-3, *atol = 1e-3; break;
    case TC_BF16: *rtol = 1.6e-2, *atol = 1e-2; break;
    default: *rtol = 0, *atol = 0; break;
  }
}

/* Runs every case whose op is in [lo, hi); returns how many ran. */
static int run_reduce_cases(int lo, int hi) {
  tc_tensor *table = fx_load("reduce", "cases");
  tc_tensor *tf = tc_to_dtype(table, TC_F64);
  tc_tensor *tc = tc_contiguous(tf);
  const double *rows = tc_tensor_data(tc);
  int64_t ncases = tc_tensor_shape(tc)[0];
  ck_assert_int_eq(tc_tensor_shape(tc)[1], CASE_COLS);
  int ran = 0;
  for (int64_t i = 0; i < ncases; i++) {
    const double *r = rows + i * CASE_COLS;
    int op = (int)r[0];
    if (op < lo || op >= hi) continue;
    int inp = (int)r[1], v = (int)r[3], err = (int)r[6], out_dt = (int)r[7], nd = (int)r[8];
    tc_dtype dt = (tc_dtype)(int)r[2];
    bool keepdim = r[4] != 0;
    double param = r[5];
    int64_t dims[4] = {0};
    for (int k = 0; k < nd; k++) dims[k] = (int64_t)r[9 + k];
    char name[64], what[160];
    snprintf(what, sizeof what, "case %lld (%s, input %d, dtype %s, view %d, ndims %d, keepdim %d)", (long long)i,
             op_names[op], inp, tc_dtype_name(dt), v, nd, (int)keepdim);
    snprintf(name, sizeof name, "in_%d", inp);
    tc_tensor *x0 = fx_load("reduce", name);
    tc_tensor *x1 = tc_to_dtype(x0, dt);
    tc_tensor *x = apply_view(x1, v);
    ck_assert_msg(x != NULL, "%s: view failed: %s", what, tc_last_error());
    const int64_t *dp = nd < 0 ? NULL : dims;
    int64_t dn = nd < 0 ? 0 : nd;
    int64_t dim1 = nd < 0 ? TC_ALL_DIMS : dims[0];
    tc_tensor *got = NULL, *idx = NULL;
    tc_status st = TC_OK;
    tc_clear_error();
    switch (op) {
      case OP_SUM: got = tc_sum(x, dp, dn, keepdim); break;
      case OP_MEAN: got = tc_mean(x, dp, dn, keepdim); break;
      case OP_PROD: got = tc_prod(x, dp, dn, keepdim); break;
      case OP_VAR: got = tc_var(x, dp, dn, param, keepdim); break;
      case OP_STD: got = tc_std(x, dp, dn, param, keepdim); break;
      case OP_NORM: got = tc_norm(x, param, dp, dn, keepdim); break;
      case OP_LSE: got = tc_logsumexp(x, dp, dn, keepdim); break;
      case OP_ALL: got = tc_all(x, dp, dn, keepdim); break;
      case OP_ANY: got = tc_any(x, dp, dn, keepdim); break;
      case OP_MAX: got = tc_max(x); break;
      case OP_MIN: got = tc_min(x); break;
      case OP_MAX_DIM: st = tc_max_dim(x, dim1, keepdim, &got, &idx); break;
      case OP_MIN_DIM: st = tc_min_dim(x, dim1, keepdim, &got, &idx); break;
      case OP_ARGMAX: got = tc_argmax(x, dim1, keepdim); break;
      case OP_ARGMIN: got = tc_argmin(x, dim1, keepdim); break;
      case OP_CUMSUM: got = tc_cumsum(x, dim1); break;
      case OP_CUMPROD: got = tc_cumprod(x, dim1); break;
      case OP_SOFTMAX: got = tc_softmax(x, dim1); break;
      case OP_LOG_SOFTMAX: got = tc_log_softmax(x, dim1); break;
      default: ck_abort_msg("%s: unknown op", what);
    }
    if (err) {
      ck_assert_msg(got == NULL && idx == NULL, "%s: PyTorch raises but the call succeeded", what);
      ck_assert_msg(tc_last_status() != TC_OK && strncmp(tc_last_error(), "tc_", 3) == 0,
                    "%s: failed without a message (%s)", what, tc_last_error());
      ck_assert_msg(op != OP_MAX_DIM && op != OP_MIN_DIM ? true : st != TC_OK, "%s: status", what);
    } else {
      ck_assert_msg(got != NULL, "%s: failed: %s", what, tc_last_error());
      snprintf(name, sizeof name, "c%lld_out", (long long)i);
      tc_tensor *want = fx_load("reduce", name);
      ck_assert_msg(tc_tensor_dtype(got) == (tc_dtype)out_dt, "%s: dtype %s, expected %s", what,
                    tc_dtype_name(tc_tensor_dtype(got)), tc_dtype_name((tc_dtype)out_dt));
      double rtol, atol;
      tolerances(out_dt, &rtol, &atol);
      if (out_dt == TC_C64) assert_close_c64(got, want, rtol, atol, what);
      else assert_close(got, want, rtol, atol, what);
      tc_tensor_release(want);
      if (idx) {
        snprintf(name, sizeof name, "c%lld_idx", (long long)i);
        want = fx_load("reduce", name);
        assert_equal(idx, want, what);
        tc_tensor_release(want);
      }
    }
    tc_tensor_release(got);
    tc_tensor_release(idx);
    tc_tensor_release(x);
    tc_tensor_release(x1);
    tc_tensor_release(x0);
    ran++;
  }
  tc_tensor_release(tc);
  tc_tensor_release(tf);
  tc_tensor_release(table);
  return ran;
}

#endif
