/* tests/common/test_util.c — fixture loading and comparison helpers for the Check suites. */
#include "test_util.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

tc_tensor *fx_try_load(const char *family, const char *name) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s/%s.npy", CTORCH_FIXTURES_DIR, family, name);
  if (access(path, R_OK) != 0) return NULL;
  return tc_npy_load(path); /* owned by the enclosing scope, if any, else by the caller */
}

tc_tensor *fx_load(const char *family, const char *name) {
  tc_tensor *t = fx_try_load(family, name);
  ck_assert_msg(t != NULL, "fixture %s/%s.npy missing or unreadable: %s", family, name, tc_last_error());
  return t;
}

static tc_tensor *as_f64(const tc_tensor *t) {
  tc_tensor *c = tc_to_dtype(t, TC_F64);
  ck_assert_msg(c != NULL, "to_dtype failed: %s", tc_last_error());
  tc_tensor *cc = tc_contiguous(c);
  tc_tensor_release(c);
  tc_scope_keep(cc);
  return cc;
}

void assert_shape_msg(const tc_tensor *t, const int64_t *shape, int64_t ndim, const char *file, int line) {
  ck_assert_msg(t != NULL, "%s:%d: tensor is NULL: %s", file, line, tc_last_error());
  bool ok = tc_tensor_ndim(t) == ndim;
  for (int64_t i = 0; ok && i < ndim; i++) ok = tc_tensor_shape(t)[i] == shape[i];
  if (!ok) {
    char a[256] = "", b[256] = "";
    for (int64_t i = 0; i < tc_tensor_ndim(t); i++)
      snprintf(a + strlen(a), sizeof a - strlen(a), "%lld ", (long long)tc_tensor_shape(t)[i]);
    for (int64_t i = 0; i < ndim; i++) snprintf(b + strlen(b), sizeof b - strlen(b), "%lld ", (long long)shape[i]);
    ck_abort_msg("%s:%d: shape [%s] != expected [%s]", file, line, a, b);
  }
}

void assert_close_msg(const tc_tensor *actual, const tc_tensor *expected, double rtol, double atol, const char *what,
                      const char *file, int line) {
  ck_assert_msg(actual != NULL, "%s:%d: %s: result is NULL: %s", file, line, what, tc_last_error());
  ck_assert_msg(expected != NULL, "%s:%d: %s: expected is NULL", file, line, what);
  assert_shape_msg(actual, tc_tensor_shape(expected), tc_tensor_ndim(expected), file, line);
  tc_tensor *a = as_f64(actual), *e = as_f64(expected);
  const double *pa = tc_tensor_data(a), *pe = tc_tensor_data(e);
  int64_t n = tc_tensor_numel(a);
  for (int64_t i = 0; i < n; i++) {
    double x = pa[i], y = pe[i];
    if (isnan(y) && isnan(x)) continue;
    if (isinf(y) && x == y) continue;
    if (!(fabs(x - y) <= atol + rtol * fabs(y))) {
      tc_tensor_release(a);
      tc_tensor_release(e);
      ck_abort_msg("%s:%d: %s: element %lld: got %.9g, expected %.9g (rtol %g, atol %g)", file, line, what,
                   (long long)i, x, y, rtol, atol);
    }
  }
  tc_tensor_release(a);
  tc_tensor_release(e);
}

void assert_equal_msg(const tc_tensor *actual, const tc_tensor *expected, const char *what, const char *file,
                      int line) {
  ck_assert_msg(actual != NULL, "%s:%d: %s: result is NULL: %s", file, line, what, tc_last_error());
  ck_assert_msg(tc_tensor_dtype(actual) == tc_tensor_dtype(expected), "%s:%d: %s: dtype %s != expected %s", file,
                line, what, tc_dtype_name(tc_tensor_dtype(actual)), tc_dtype_name(tc_tensor_dtype(expected)));
  assert_close_msg(actual, expected, 0, 0, what, file, line);
}

void assert_error_msg(tc_status code, const char *needle, const char *file, int line) {
  ck_assert_msg(tc_last_status() == code, "%s:%d: expected %s, got %s (%s)", file, line, tc_status_name(code),
                tc_status_name(tc_last_status()), tc_last_error());
  if (needle)
    ck_assert_msg(strstr(tc_last_error(), needle) != NULL, "%s:%d: message '%s' lacks '%s'", file, line,
                  tc_last_error(), needle);
}

void check_alloc_failures(int (*fn)(void *ctx), void *ctx, const char *what) {
  for (int64_t n = 1; n < 100000; n++) {
    int64_t live = tc_debug_live_bytes(), cnt = tc_debug_live_allocations();
    int64_t before = tc_debug_allocation_count();
    tc_clear_error();
    tc_debug_fail_allocation(n);
    int rc = fn(ctx);
    tc_debug_fail_allocation(0);
    int64_t made = tc_debug_allocation_count() - before;
    ck_assert_msg(tc_debug_live_bytes() == live && tc_debug_live_allocations() == cnt,
                  "%s: leak of %lld bytes when allocation %lld fails", what, (long long)(tc_debug_live_bytes() - live),
                  (long long)n);
    if (made < n) {
      ck_assert_msg(rc == 0, "%s: failed without a forced allocation failure: %s", what, tc_last_error());
      return;
    }
    ck_assert_msg(rc != 0, "%s: succeeded although allocation %lld failed", what, (long long)n);
    ck_assert_msg(tc_last_status() == TC_ERR_NOMEM, "%s: allocation %lld failed but status is %s (%s)", what,
                  (long long)n, tc_status_name(tc_last_status()), tc_last_error());
  }
}

int run_suite(Suite *s) {
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

tc_tensor *t_f32(const int64_t *shape, int64_t ndim, const float *data) {
  tc_tensor *t = tc_tensor_from_data(data, shape, ndim, TC_F32);
  ck_assert_msg(t != NULL, "t_f32: %s", tc_last_error());
  return t;
}

tc_tensor *t_i64(const int64_t *shape, int64_t ndim, const int64_t *data) {
  tc_tensor *t = tc_tensor_from_data(data, shape, ndim, TC_I64);
  ck_assert_msg(t != NULL, "t_i64: %s", tc_last_error());
  return t;
}

double max_abs_diff(const tc_tensor *a, const tc_tensor *b) {
  tc_tensor *x = tc_to_dtype(a, TC_F64), *y = tc_to_dtype(b, TC_F64);
  ck_assert_ptr_nonnull(x);
  ck_assert_ptr_nonnull(y);
  ck_assert_int_eq(tc_tensor_numel(x), tc_tensor_numel(y));
  tc_tensor *xc = tc_contiguous(x), *yc = tc_contiguous(y);
  const double *p = tc_tensor_data(xc), *q = tc_tensor_data(yc);
  double m = 0;
  for (int64_t i = 0; i < tc_tensor_numel(xc); i++) m = fmax(m, fabs(p[i] - q[i]));
  tc_tensor_release(x), tc_tensor_release(y), tc_tensor_release(xc), tc_tensor_release(yc);
  return m;
}
