/* core/src/cuda/cuda_allocator.c — the caching allocator of CUDA device memory.
 *
 * cudaMalloc and cudaFree synchronise the device and cost tens of microseconds, so freed blocks
 * are kept per device and handed out again: a request takes the smallest cached block that fits
 * (and wastes at most a quarter of it); only a miss reaches cudaMalloc. When cudaMalloc reports
 * the device full, the cache is released and the call retried once; a second failure is
 * TC_ERR_NOMEM with the sizes in the message (never an abort). empty_cache returns every cached
 * block to the driver.
 *
 * Reuse is safe without events because a block is handed out again only to work on the stream it
 * was allocated on (the device's default stream unless the thread made another current): a later
 * kernel writing a reused block runs after the kernels that used it. A tensor used on another
 * stream must be synchronised with (an event) before it is released, as with PyTorch's
 * record_stream.
 *
 * Statistics (as torch.cuda.memory_allocated / memory_reserved / max_*): allocated counts the
 * bytes of blocks handed out (rounded sizes), reserved the bytes held from the driver.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cuda_backend.h"

typedef struct block {
  void *ptr;
  size_t size;
  cudaStream_t stream; /* the stream it was allocated on (NULL: the device's default stream) */
  struct block *next; /* in a hash chain (in use) or the free list */
} block;

#define NBUCKETS 4096

typedef struct {
  pthread_mutex_t lock;
  block *used[NBUCKETS]; /* blocks handed out, by pointer */
  block *free_list;      /* cached blocks */
  tc__mem_stats st;
} dev_pool;

static dev_pool pools[TC__CUDA_MAX_DEVICES];
static pthread_once_t pools_once = PTHREAD_ONCE_INIT;

static void init_pools(void) {
  for (int i = 0; i < TC__CUDA_MAX_DEVICES; i++) pthread_mutex_init(&pools[i].lock, NULL);
}

static dev_pool *pool(int index) {
  pthread_once(&pools_once, init_pools);
  return index >= 0 && index < TC__CUDA_MAX_DEVICES ? &pools[index] : NULL;
}

static size_t bucket(const void *p) { return ((uintptr_t)p >> 9) % NBUCKETS; }

/* 512-byte granules up to 1 MiB, then 128 KiB: few distinct sizes, so cached blocks fit again */
static size_t round_size(size_t n) {
  if (n == 0) n = 1;
  size_t g = n <= (1u << 20) ? 512 : (128u << 10);
  return (n + g - 1) / g * g;
}

/* With the lock held: cudaFree every cached block. */
static void release_cached(dev_pool *d) {
  block *b = d->free_list;
  d->free_list = NULL;
  while (b) {
    block *next = b->next;
    cudaFree(b->ptr);
    d->st.reserved -= (int64_t)b->size;
    free(b);
    b = next;
  }
}

static void note_alloc(dev_pool *d, block *b) {
  size_t h = bucket(b->ptr);
  b->next = d->used[h];
  d->used[h] = b;
  d->st.allocated += (int64_t)b->size;
  d->st.alloc_calls++;
  if (d->st.allocated > d->st.peak_allocated) d->st.peak_allocated = d->st.allocated;
  if (d->st.reserved > d->st.peak_reserved) d->st.peak_reserved = d->st.reserved;
}

void *tc__cuda_alloc(size_t nbytes, int index) {
  dev_pool *d = pool(index);
  if (!d) {
    tc__cuda_set_error(TC_ERR_DEVICE, "cuda:%d: no such device", index);
    return NULL;
  }
  size_t size = round_size(nbytes);
  cudaStream_t stream = tc__cuda_current_stream_raw(index);
  pthread_mutex_lock(&d->lock);
  /* best fit among the stream's cached blocks, wasting at most a quarter */
  block **best = NULL;
  for (block **pp = &d->free_list; *pp; pp = &(*pp)->next) {
    size_t s = (*pp)->size;
    if ((*pp)->stream == stream && s >= size && s - size <= s / 4 && (!best || s < (*best)->size)) best = pp;
  }
  if (best) {
    block *b = *best;
    *best = b->next;
    note_alloc(d, b);
    pthread_mutex_unlock(&d->lock);
    return b->ptr;
  }
  block *b = malloc(sizeof *b);
  if (!b) {
    pthread_mutex_unlock(&d->lock);
    tc__cuda_set_error(TC_ERR_NOMEM, "cuda:%d: out of host memory for allocator bookkeeping", index);
    return NULL;
  }
  void *p = NULL;
  cudaError_t e = cudaSetDevice(index);
  if (e == cudaSuccess) e = cudaMalloc(&p, size);
  if (e == cudaErrorMemoryAllocation) { /* give the cache back to the driver and try once more */
    cudaGetLastError();
    release_cached(d);
    e = cudaMalloc(&p, size);
  }
  if (e != cudaSuccess) {
    int64_t alloc = d->st.allocated, res = d->st.reserved;
    pthread_mutex_unlock(&d->lock);
    free(b);
    cudaGetLastError();
    if (e == cudaErrorMemoryAllocation)
      tc__cuda_set_error(TC_ERR_NOMEM,
                         "cuda:%d: out of memory allocating %zu bytes (%lld bytes allocated by ctorch, %lld reserved)",
                         index, size, (long long)alloc, (long long)res);
    else
      tc__cuda_set_error(TC_ERR_CUDA, "cuda:%d: allocating %zu bytes failed: %s", index, size, cudaGetErrorString(e));
    return NULL;
  }
  b->ptr = p;
  b->size = size;
  b->stream = stream;
  d->st.reserved += (int64_t)size;
  d->st.device_allocs++;
  note_alloc(d, b);
  pthread_mutex_unlock(&d->lock);
  return p;
}

void tc__cuda_free(void *p, int index) {
  dev_pool *d = pool(index);
  if (!p || !d) return;
  pthread_mutex_lock(&d->lock);
  for (block **pp = &d->used[bucket(p)]; *pp; pp = &(*pp)->next) {
    if ((*pp)->ptr != p) continue;
    block *b = *pp;
    *pp = b->next;
    d->st.allocated -= (int64_t)b->size;
    b->next = d->free_list;
    d->free_list = b;
    break;
  }
  pthread_mutex_unlock(&d->lock);
}

void tc__cuda_mem_stats(int index, tc__mem_stats *out) {
  dev_pool *d = pool(index);
  if (!out) return;
  memset(out, 0, sizeof *out);
  if (!d) return;
  pthread_mutex_lock(&d->lock);
  *out = d->st;
  pthread_mutex_unlock(&d->lock);
}

void tc__cuda_reset_peak(int index) {
  dev_pool *d = pool(index);
  if (!d) return;
  pthread_mutex_lock(&d->lock);
  d->st.peak_allocated = d->st.allocated;
  d->st.peak_reserved = d->st.reserved;
  pthread_mutex_unlock(&d->lock);
}

void tc__cuda_empty_cache(int index) {
  dev_pool *d = pool(index);
  if (!d) return;
  /* blocks may still be read by queued kernels that freed them: wait for the device first */
  if (cudaSetDevice(index) == cudaSuccess) cudaDeviceSynchronize();
  pthread_mutex_lock(&d->lock);
  release_cached(d);
  pthread_mutex_unlock(&d->lock);
}
