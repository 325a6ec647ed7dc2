/* The thread pool: coverage of ranges, inline nesting, thread count changes, concurrent callers. */
#include <pthread.h>
#include <stdlib.h>
#include <stdatomic.h>
#include "test_util.h"

typedef struct {
  atomic_int *hits;
  atomic_int calls;
  atomic_int nested_inline;
} cover_ctx;

static void nested_body(int64_t b, int64_t e, void *ctx) {
  atomic_int *count = ctx;
  atomic_fetch_add(count, (int)(e - b));
}

static void cover_body(int64_t b, int64_t e, void *ctx) {
  cover_ctx *c = ctx;
  atomic_fetch_add(&c->calls, 1);
  if (!tc_in_parallel_region()) atomic_fetch_add(&c->nested_inline, 1000000); /* fails the check below */
  for (int64_t i = b; i < e; i++) atomic_fetch_add(&c->hits[i], 1);
  /* a nested parallel_for runs inline, in one call */
  atomic_int count = 0;
  tc_parallel_for(100, 1, nested_body, &count);
  if (atomic_load(&count) == 100) atomic_fetch_add(&c->nested_inline, 1);
}

static void run_cover(int64_t n, int64_t grain) {
  atomic_int *hits = calloc((size_t)n, sizeof *hits);
  cover_ctx c = {hits, 0, 0};
  tc_parallel_for(n, grain, cover_body, &c);
  /* (Check records every passing assertion through a pipe: assert once per run, not per index) */
  int64_t bad = -1;
  for (int64_t i = 0; i < n && bad < 0; i++)
    if (atomic_load(&hits[i]) != 1) bad = i;
  ck_assert_msg(bad < 0, "index %lld run %d times", (long long)bad, bad < 0 ? 1 : atomic_load(&hits[bad]));
  ck_assert_int_eq(atomic_load(&c.nested_inline), atomic_load(&c.calls));
  free(hits);
}

START_TEST(test_ranges_cover_once) {
  ck_assert(!tc_in_parallel_region());
  for (int threads = 1; threads <= 4; threads++) {
    tc_set_num_threads(threads);
    ck_assert_int_eq(tc_get_num_threads(), threads);
    run_cover(1, 1);
    run_cover(7, 1);
    run_cover(1000, 10);
    run_cover(100003, 4096);
    run_cover(5, 100); /* below the grain: inline */
  }
  tc_parallel_for(0, 1, NULL, NULL); /* empty: nothing runs */
}
END_TEST

static void *caller(void *arg) {
  (void)arg;
  for (int i = 0; i < 50; i++) run_cover(20000, 100);
  return NULL;
}

START_TEST(test_concurrent_callers) {
  tc_set_num_threads(2);
  pthread_t th[3];
  for (int i = 0; i < 3; i++) ck_assert_int_eq(pthread_create(&th[i], NULL, caller, NULL), 0);
  for (int i = 0; i < 3; i++) pthread_join(th[i], NULL);
}
END_TEST

START_TEST(test_many_small_jobs) {
  tc_set_num_threads(2);
  for (int i = 0; i < 5000; i++) run_cover(64, 1);
}
END_TEST

int main(void) {
  Suite *s = suite_create("core_parallel");
  TCase *tc = tcase_create("parallel");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_ranges_cover_once);
  tcase_add_test(tc, test_concurrent_callers);
  tcase_add_test(tc, test_many_small_jobs);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
