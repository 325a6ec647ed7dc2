/* ctorch/parallel.h — the CPU thread pool.
 *
 * One persistent pool runs ctorch's CPU kernels. OpenBLAS always runs single-threaded: large
 * matrix products are split into tiles over this pool (linalg.c), so the two never
 * oversubscribe the cores (OpenBLAS's own threads spin when idle and serialise concurrent calls).
 * Idle workers sleep (they do not spin), which matters on small shared machines.
 *
 *   static void body(int64_t begin, int64_t end, void *ctx) { ... }
 *   tc_parallel_for(n, 4096, body, ctx);    // chunks of at least 4096 iterations
 */
#ifndef CTORCH_PARALLEL_H
#define CTORCH_PARALLEL_H

#include <stdint.h>
#include <stdbool.h>
#include "ctorch/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Sets the number of threads for ctorch kernels (>= 1). Default: the number of online cores (or
 * the CTORCH_NUM_THREADS environment variable). */
TC_API void tc_set_num_threads(int n);
TC_API int tc_get_num_threads(void);

/* Runs fn over [0, n) split into contiguous ranges of at least `grain` iterations, on the pool,
 * and returns when all are done. Runs inline when n <= grain, with one thread, or when called from
 * inside a pool task (no nested parallelism). fn must not call tc_parallel_for expecting more
 * threads. */
typedef void (*tc_range_fn)(int64_t begin, int64_t end, void *ctx);
TC_API void tc_parallel_for(int64_t n, int64_t grain, tc_range_fn fn, void *ctx);

/* True inside a tc_parallel_for task. */
TC_API int tc_in_parallel_region(void);
/* Makes the calling thread run every kernel on itself alone (true), or use the pool again
 * (false): threads that are themselves workers (the DataLoader's) keep to one core each, so they
 * and the pool share the thread budget instead of oversubscribing it. */
TC_API void tc_set_thread_serial(bool serial);

#ifdef __cplusplus
}
#endif
#endif
