/* core/src/parallel.c — one persistent thread pool for CPU kernels.
 *
 * Workers sleep on a condition variable between jobs (no spinning: on a shared 2-core machine a
 * spinning pool steals the core the other pool, or the other process, needs). A job is a range
 * [0, n) cut into chunks; the calling thread works too. One job runs at a time: a second caller
 * (another application thread, e.g. a DataLoader worker) runs its loop inline instead of waiting.
 */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include <time.h>
#include "internal.h"

/* A worker that just finished, and a caller waiting for its workers, poll for a short while
 * before sleeping: back-to-back kernels (a training step's ops) then skip the futex wake-up,
 * which costs tens of microseconds. The spin is bounded (CTORCH_SPIN_US, default 30 µs; 0 turns
 * it off), so an idle pool sleeps and does not take a shared core away. */
static atomic_llong spin_ns = -1; /* read lazily by every thread: atomic, relaxed (any thread may set it) */
static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}
static int64_t spin_budget(void) {
  long long v = atomic_load_explicit(&spin_ns, memory_order_relaxed);
  if (v < 0) {
    const char *e = getenv("CTORCH_SPIN_US");
    v = (e ? atol(e) : 30) * 1000;
    atomic_store_explicit(&spin_ns, v, memory_order_relaxed);
  }
  return v;
}
static inline void relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t wake, done;
  pthread_mutex_t job_mu; /* held by the thread whose job is running */
  pthread_t *threads;
  int nworkers;
  atomic_int stop;
  atomic_ullong generation; /* written under mu; read without it while spinning */
  /* current job */
  tc_range_fn fn;
  void *ctx;
  int64_t n, chunk, nchunks;
  atomic_llong next;     /* next chunk to take */
  atomic_llong finished; /* chunks done */
  int active;            /* workers inside the current job */
} pool_t;

static pool_t pool = {.mu = PTHREAD_MUTEX_INITIALIZER,
                      .wake = PTHREAD_COND_INITIALIZER,
                      .done = PTHREAD_COND_INITIALIZER,
                      .job_mu = PTHREAD_MUTEX_INITIALIZER};
static pthread_mutex_t config_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int num_threads; /* 0 = not yet decided */
static _Thread_local int in_region;

int tc_in_parallel_region(void) { return in_region; }
void tc_set_thread_serial(bool serial) { in_region = serial ? 1 : 0; }

static int default_threads(void) {
  const char *env = getenv("CTORCH_NUM_THREADS");
  if (env) {
    int n = atoi(env);
    if (n >= 1) return n;
  }
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n >= 1 ? (int)n : 1;
}

int tc__num_threads(void) {
  int n = atomic_load(&num_threads);
  if (n == 0) {
    n = default_threads();
    int expected = 0;
    if (atomic_compare_exchange_strong(&num_threads, &expected, n)) tc__blas_set_threads(n);
    else n = expected;
  }
  return n;
}

int tc_get_num_threads(void) { return tc__num_threads(); }

typedef struct {
  tc_range_fn fn;
  void *ctx;
  int64_t n, chunk, nchunks;
} job_t;

/* Job fields are written under pool.mu while no worker is active, and copied under pool.mu. */
static job_t job_snapshot(void) {
  job_t j = {pool.fn, pool.ctx, pool.n, pool.chunk, pool.nchunks};
  return j;
}

static void work_chunks(const job_t *j) {
  for (;;) {
    long long c = atomic_fetch_add(&pool.next, 1);
    if (c >= j->nchunks) break;
    int64_t b = c * j->chunk, e = b + j->chunk;
    if (e > j->n) e = j->n;
    j->fn(b, e, j->ctx);
    atomic_fetch_add(&pool.finished, 1);
  }
}

static void *worker_main(void *arg) {
  (void)arg;
  in_region = 1;
  uint64_t seen = 0;
  pthread_mutex_lock(&pool.mu);
  for (;;) {
    if (!atomic_load(&pool.stop) && atomic_load(&pool.generation) == seen) {
      pthread_mutex_unlock(&pool.mu);
      int64_t t0 = now_ns(), budget = spin_budget();
      for (int i = 0; !atomic_load(&pool.stop) && atomic_load(&pool.generation) == seen; i++) {
        relax();
        if ((i & 63) == 0 && now_ns() - t0 > budget) break;
      }
      pthread_mutex_lock(&pool.mu);
    }
    while (!pool.stop && pool.generation == seen) pthread_cond_wait(&pool.wake, &pool.mu);
    if (pool.stop) break;
    seen = pool.generation;
    pool.active++;
    job_t j = job_snapshot();
    pthread_mutex_unlock(&pool.mu);
    work_chunks(&j);
    pthread_mutex_lock(&pool.mu);
    if (--pool.active == 0) pthread_cond_broadcast(&pool.done);
  }
  pthread_mutex_unlock(&pool.mu);
  return NULL;
}

static void stop_workers(void) {
  pthread_mutex_lock(&pool.mu);
  pool.stop = 1;
  pthread_cond_broadcast(&pool.wake);
  pthread_mutex_unlock(&pool.mu);
  for (int i = 0; i < pool.nworkers; i++) pthread_join(pool.threads[i], NULL);
  free(pool.threads);
  pool.threads = NULL;
  pool.nworkers = 0;
  pool.stop = 0;
}

/* Starts nthreads-1 workers (the caller is the last). Called with job_mu held. */
static void ensure_workers(int want) {
  if (pool.nworkers == want) return;
  if (pool.nworkers) stop_workers();
  if (want <= 0) return;
  pool.threads = malloc(sizeof(pthread_t) * (size_t)want);
  if (!pool.threads) return;
  for (int i = 0; i < want; i++) {
    if (pthread_create(&pool.threads[i], NULL, worker_main, NULL) != 0) break;
    pool.nworkers++;
  }
}

void tc_set_num_threads(int n) {
  if (n < 1) n = 1;
  pthread_mutex_lock(&config_mu);
  pthread_mutex_lock(&pool.job_mu);
  atomic_store(&num_threads, n);
  ensure_workers(0); /* restarted lazily with the new count */
  pthread_mutex_unlock(&pool.job_mu);
  pthread_mutex_unlock(&config_mu);
  tc__blas_set_threads(n);
}

void tc_parallel_for(int64_t n, int64_t grain, tc_range_fn fn, void *ctx) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  int nt = tc__num_threads();
  if (nt <= 1 || n <= grain || in_region || pthread_mutex_trylock(&pool.job_mu) != 0) {
    int was = in_region;
    in_region = 1;
    fn(0, n, ctx);
    in_region = was;
    return;
  }
  ensure_workers(nt - 1);
  int64_t max_chunks = (n + grain - 1) / grain;
  int64_t nchunks = max_chunks < nt ? max_chunks : nt;
  pthread_mutex_lock(&pool.mu);
  while (pool.active > 0) pthread_cond_wait(&pool.done, &pool.mu); /* a late worker of the last job */
  pool.fn = fn;
  pool.ctx = ctx;
  pool.n = n;
  pool.chunk = (n + nchunks - 1) / nchunks;
  pool.nchunks = (n + pool.chunk - 1) / pool.chunk;
  atomic_store(&pool.next, 0);
  atomic_store(&pool.finished, 0);
  pool.generation++;
  job_t j = job_snapshot();
  pthread_cond_broadcast(&pool.wake);
  pthread_mutex_unlock(&pool.mu);

  in_region = 1;
  work_chunks(&j);
  in_region = 0;

  /* wait for the chunks taken by workers (polling briefly first), and for every worker to leave
   * the job */
  int64_t t0 = now_ns(), budget = spin_budget();
  for (int i = 0; atomic_load(&pool.finished) < pool.nchunks; i++) {
    relax();
    if ((i & 63) == 0 && now_ns() - t0 > budget) break;
  }
  pthread_mutex_lock(&pool.mu);
  while (atomic_load(&pool.finished) < pool.nchunks || pool.active > 0) pthread_cond_wait(&pool.done, &pool.mu);
  pthread_mutex_unlock(&pool.mu);
  pthread_mutex_unlock(&pool.job_mu);
}
