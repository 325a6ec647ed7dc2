/* core/src/alloc.c — host allocation through one counted path (the debug allocator).
 *
 * Every host block gets a 64-byte header holding its size, so live bytes can be counted on free
 * and data stays 64-byte aligned (AVX-512 friendly). tc_debug_fail_allocation(n) makes the nth
 * allocation from now fail, which the tests use to prove failure paths leak nothing.
 */
#include <stdlib.h>
#include "internal.h"

#define HDR 64

static atomic_llong live_bytes;
static atomic_llong live_count;
static atomic_llong total_count;
static atomic_llong fail_at; /* the allocation number (total_count) that fails; 0 = none */

static bool should_fail(void) {
  long long n = atomic_fetch_add(&total_count, 1) + 1;
  long long f = atomic_load(&fail_at);
  return f != 0 && n == f;
}

void *tc__aligned_alloc(size_t n) {
  if (n > (size_t)INT64_MAX - HDR) {
    tc__error(TC_ERR_NOMEM, "out of memory: %zu bytes requested", n);
    return NULL;
  }
  if (should_fail()) {
    tc__error(TC_ERR_NOMEM, "out of memory allocating %zu bytes (debug allocator: forced failure)", n);
    return NULL;
  }
  size_t total = (n + HDR + 63) & ~(size_t)63;
  char *p = aligned_alloc(64, total);
  if (!p) {
    tc__error(TC_ERR_NOMEM, "out of memory allocating %zu bytes", n);
    return NULL;
  }
  *(size_t *)p = n;
  atomic_fetch_add(&live_bytes, (long long)n);
  atomic_fetch_add(&live_count, 1);
  return p + HDR;
}

void tc__aligned_free(void *q) {
  if (!q) return;
  char *p = (char *)q - HDR;
  atomic_fetch_sub(&live_bytes, (long long)*(size_t *)p);
  atomic_fetch_sub(&live_count, 1);
  free(p);
}

void *tc__malloc(size_t n) { return tc__aligned_alloc(n); }

void *tc__calloc(size_t n) {
  void *p = tc__aligned_alloc(n);
  if (p) memset(p, 0, n);
  return p;
}

void *tc__realloc(void *q, size_t n) {
  if (!q) return tc__aligned_alloc(n);
  size_t old = *(size_t *)((char *)q - HDR);
  void *p = tc__aligned_alloc(n);
  if (!p) return NULL; /* q stays valid, as realloc */
  memcpy(p, q, old < n ? old : n);
  tc__aligned_free(q);
  return p;
}

void tc__free(void *p) { tc__aligned_free(p); }

char *tc__strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = tc__malloc(n);
  if (p) memcpy(p, s, n);
  return p;
}

void tc_free(void *p) { tc__free(p); }

int64_t tc_debug_live_bytes(void) { return atomic_load(&live_bytes); }
int64_t tc_debug_live_allocations(void) { return atomic_load(&live_count); }
int64_t tc_debug_allocation_count(void) { return atomic_load(&total_count); }

void tc_debug_fail_allocation(int64_t nth) {
  atomic_store(&fail_at, nth > 0 ? atomic_load(&total_count) + nth : 0);
}
