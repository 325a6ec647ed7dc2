/* tests/common/test_util.h — helpers shared by the Check suites.
 *
 *   tc_tensor *x = fx_load("elementwise", "add_a");      // tests/fixtures/elementwise/add_a.npy
 *   assert_close(got, expected, 1e-6, 1e-6, "add");
 *   LEAK_BEGIN; ... ; LEAK_END;                             // debug allocator back to where it was
 *   check_alloc_failures(fn, ctx);                          // fail allocation N = 1, 2, ... : no leak
 */
#ifndef CTORCH_TEST_UTIL_H
#define CTORCH_TEST_UTIL_H

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <ctorch/ctorch.h>

/* Loads tests/fixtures/<family>/<name>.npy; fails the test when missing. */
tc_tensor *fx_load(const char *family, const char *name);
/* Same, but returns NULL when the fixture does not exist. */
tc_tensor *fx_try_load(const char *family, const char *name);

/* Shapes equal and |a - e| <= atol + rtol * |e| elementwise (NaN matches NaN, inf matches the same
 * inf). Compared in double after converting both to float64 (any dtype). `what` names the case. */
void assert_close_msg(const tc_tensor *actual, const tc_tensor *expected, double rtol, double atol, const char *what,
                      const char *file, int line);
#define assert_close(a, e, rtol, atol, what) assert_close_msg((a), (e), (rtol), (atol), (what), __FILE__, __LINE__)
/* Shapes, dtypes and every value identical. */
void assert_equal_msg(const tc_tensor *actual, const tc_tensor *expected, const char *what, const char *file, int line);
#define assert_equal(a, e, what) assert_equal_msg((a), (e), (what), __FILE__, __LINE__)
/* max |a - b| over all elements, compared in float64 (element counts must match; for reporting how
 * close a result came, next to the assertions above). */
double max_abs_diff(const tc_tensor *a, const tc_tensor *b);
/* Shape equals the given sizes. */
void assert_shape_msg(const tc_tensor *t, const int64_t *shape, int64_t ndim, const char *file, int line);
#define assert_shape(t, shape, ndim) assert_shape_msg((t), (shape), (ndim), __FILE__, __LINE__)

/* The call failed with `code` and its message contains `needle` (NULL to skip). */
void assert_error_msg(tc_status code, const char *needle, const char *file, int line);
#define assert_error(code, needle) assert_error_msg((code), (needle), __FILE__, __LINE__)

#define LEAK_BEGIN int64_t leak_live0__ = tc_debug_live_bytes(), leak_cnt0__ = tc_debug_live_allocations()
#define LEAK_END                                                                                          \
  do {                                                                                                    \
    ck_assert_msg(tc_debug_live_bytes() == leak_live0__ && tc_debug_live_allocations() == leak_cnt0__,    \
                  "leak: %lld bytes in %lld allocations", (long long)(tc_debug_live_bytes() - leak_live0__), \
                  (long long)(tc_debug_live_allocations() - leak_cnt0__));                                \
  } while (0)

/* Runs fn(ctx) with allocation N failing, for N = 1, 2, ... until a run makes fewer than N
 * allocations. Each failing run must return nonzero with status TC_ERR_NOMEM and leak nothing;
 * fn returns 0 on success, nonzero on failure, and releases whatever it made. */
void check_alloc_failures(int (*fn)(void *ctx), void *ctx, const char *what);

/* Runs a suite and returns the process exit code (0 when all pass). */
int run_suite(Suite *s);

/* A tensor from a literal: T_F32(((int64_t[]){2, 2}), 2, 1, 2, 3, 4) */
tc_tensor *t_f32(const int64_t *shape, int64_t ndim, const float *data);
tc_tensor *t_i64(const int64_t *shape, int64_t ndim, const int64_t *data);
#define T_F32(shape, ndim, ...) t_f32((shape), (ndim), (const float[]){__VA_ARGS__})
#define T_I64(shape, ndim, ...) t_i64((shape), (ndim), (const int64_t[]){__VA_ARGS__})
#define SHAPE(...) ((const int64_t[]){__VA_ARGS__})

#endif
