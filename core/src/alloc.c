/* core/src/alloc.c — host allocation through one counted path (the debug allocator).
 *
 * Every host block gets a 64-byte header holding its size, so live bytes can be counted on free
 * and data stays 64-byte aligned (AVX-512 friendly). tc_debug_fail_allocation(n) makes the nth
 * allocation from now fail, which the tests use to prove failure paths leak nothing.
 *
 * Large blocks (>= 256 KiB) are cached after free in size classes (8 per doubling, so at most
 * 12.5% slack) up to 256 MiB in all (CTORCH_CPU_CACHE_MB overrides; 0 disables): glibc returns
 * such blocks to the kernel with munmap, and every big temporary of the next training step would
 * fault its pages in again, which cost more than the arithmetic on them. Cached bytes are not
 * live bytes.
 */
#include <pthread.h>
#include <stdlib.h>
#include "internal.h"

#define HDR 64
#define CACHE_MIN ((size_t)256 << 10)
#define CACHE_BINS 256
#define CACHE_PER_BIN 64

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static void *cache[CACHE_BINS][CACHE_PER_BIN];
static int cache_n[CACHE_BINS];
static size_t cache_bytes, cache_limit = (size_t)-1;

/* Size class of a block of `total` bytes: its index and rounded size. */
static int size_class(size_t total, size_t *rounded) {
  int e = 63 - __builtin_clzll((unsigned long long)total); /* 2^e <= total */
  size_t step = ((size_t)1 << e) / 8;
  size_t r = (total + step - 1) / step * step;
  if (r == ((size_t)1 << (e + 1))) {
    e++;
    step *= 2;
  }
  int idx = (e - 18) * 8 + (int)((r - ((size_t)1 << e)) / step);
  *rounded = r;
  return idx;
}

static size_t limit_bytes(void) {
  if (cache_limit == (size_t)-1) {
    const char *env = getenv("CTORCH_CPU_CACHE_MB");
    cache_limit = (env ? (size_t)atol(env) : 256) << 20;
  }
  return cache_limit;
}

static char *cache_take(size_t total, size_t *rounded, int *bin) {
  *bin = -1;
  *rounded = total;
  if (total < CACHE_MIN) return NULL;
  int b = size_class(total, rounded);
  if (b < 0 || b >= CACHE_BINS) return NULL;
  *bin = b;
  char *p = NULL;
  pthread_mutex_lock(&cache_mu);
  if (cache_n[b] > 0) {
    p = cache[b][--cache_n[b]];
    cache_bytes -= *rounded;
  }
  pthread_mutex_unlock(&cache_mu);
  return p;
}

/* Keeps a freed block of class `bin` (rounded size `total`); false when the cache is full. */
static bool cache_put(char *p, size_t total, int bin) {
  if (bin < 0) return false;
  bool kept = false;
  pthread_mutex_lock(&cache_mu);
  if (cache_n[bin] < CACHE_PER_BIN && cache_bytes + total <= limit_bytes()) {
    cache[bin][cache_n[bin]++] = p;
    cache_bytes += total;
    kept = true;
  }
  pthread_mutex_unlock(&cache_mu);
  return kept;
}

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
  size_t total = (n + HDR + 63) & ~(size_t)63, rounded;
  int bin;
  char *p = cache_take(total, &rounded, &bin);
  if (!p) p = aligned_alloc(64, (rounded + 63) & ~(size_t)63);
  if (!p) {
    tc__error(TC_ERR_NOMEM, "out of memory allocating %zu bytes", n);
    return NULL;
  }
  ((size_t *)p)[0] = n;
  ((size_t *)p)[1] = rounded;
  ((size_t *)p)[2] = (size_t)(bin + 1);
  atomic_fetch_add(&live_bytes, (long long)n);
  atomic_fetch_add(&live_count, 1);
  return p + HDR;
}

void tc__aligned_free(void *q) {
  if (!q) return;
  char *p = (char *)q - HDR;
  atomic_fetch_sub(&live_bytes, (long long)((size_t *)p)[0]);
  atomic_fetch_sub(&live_count, 1);
  if (!cache_put(p, ((size_t *)p)[1], (int)((size_t *)p)[2] - 1)) free(p);
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
void *tc_malloc(size_t n) { return tc__malloc(n); }
void *tc_calloc(size_t n) { return tc__calloc(n); }
char *tc_strdup(const char *s) { return tc__strdup(s); }

int64_t tc_debug_live_bytes(void) { return atomic_load(&live_bytes); }
int64_t tc_debug_live_allocations(void) { return atomic_load(&live_count); }
int64_t tc_debug_allocation_count(void) { return atomic_load(&total_count); }

void tc_debug_fail_allocation(int64_t nth) {
  atomic_store(&fail_at, nth > 0 ? atomic_load(&total_count) + nth : 0);
}
