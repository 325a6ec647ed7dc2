/* tests/common/deferred_checks.h — fixtures held for a test and comparisons deferred until its
 * scope is popped, for suites written as: BEGIN; ... CHECK(result, "fixture"); ... END;
 * Include after defining FAM (the fixture family). Each test file gets its own copies (static). */
#ifndef CTORCH_DEFERRED_CHECKS_H
#define CTORCH_DEFERRED_CHECKS_H

#include <stdio.h>
#include "test_util.h"

/* Fixtures stay loaded for the test (taken out of the scope) and are released by fx_release_all(). */
static tc_tensor *held[512];
static int nheld;
static tc_tensor *fx(const char *name) {
  tc_tensor *t = tc_scope_keep(fx_load(FAM, name));
  ck_assert_int_lt(nheld, 512);
  held[nheld++] = t;
  return t;
}
static void fx_release_all(void) {
  while (nheld) tc_tensor_release(held[--nheld]);
}

/* Results are scope-owned; comparisons are recorded and run after the test's scope is popped. */
static struct {
  tc_tensor *got, *want;
  const char *what;
  int line;
} pend[256];
static int npend;
static void defer_eq(const tc_tensor *got, const tc_tensor *want, const char *what, int line) {
  ck_assert_msg(got != NULL, "line %d: %s: result is NULL: %s", line, what, tc_last_error());
  ck_assert_int_lt(npend, 256);
  pend[npend].got = tc_tensor_retain((tc_tensor *)got);
  pend[npend].want = tc_tensor_retain((tc_tensor *)want);
  pend[npend].what = what;
  pend[npend].line = line;
  npend++;
}
static void run_deferred(void) {
  for (int i = 0; i < npend; i++) {
    char what[160];
    snprintf(what, sizeof what, "%s (line %d)", pend[i].what, pend[i].line);
    assert_equal(pend[i].got, pend[i].want, what);
    tc_tensor_release(pend[i].got);
    tc_tensor_release(pend[i].want);
  }
  npend = 0;
}

/* Every test runs inside a scope and checks for leaks. */
#define BEGIN \
  LEAK_BEGIN; \
  tc_scope_push()
#define END         \
  tc_scope_pop();   \
  run_deferred();   \
  fx_release_all(); \
  LEAK_END
#define CHECK(got, name) defer_eq((got), fx(name), name, __LINE__)
#define EQ(got, want, what) defer_eq((got), (want), what, __LINE__)

#endif
