/* core/src/cuda/cuda_device.c — libctorch_cuda: the CUDA device API the core loads on demand.
 *
 * The core never links the CUDA runtime; the first time a CUDA device is asked for it dlopens
 * this library and calls tc__cuda_device_api() (see core/src/device.c). This library links the
 * static CUDA runtime, never -lcuda, so it loads on a machine without a driver and simply reports
 * zero devices there (cudaGetDeviceCount fails with cudaErrorInsufficientDriver).
 *
 * Memory: cudaMalloc/cudaFree per storage for now; the caching allocator comes with the CUDA
 * kernels. Copies are synchronous cudaMemcpy on the current device.
 */
#include <cuda_runtime_api.h>
#include <pthread.h>
#include "../internal.h"

/* The core hands over its error setter when it loads this library, so errors land in the
 * loading core's thread-local state (a statically linked core included); this library links no
 * copy of the core. */
typedef tc_status (*set_error_fn)(tc_status code, const char *fmt, ...);
static set_error_fn set_error;

static int device_count_cached = -1;
static pthread_once_t count_once = PTHREAD_ONCE_INIT;

static void count_devices(void) {
  int n = 0; /* stays 0 when the driver is missing (error 35) */
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    n = 0;
    cudaGetLastError(); /* clear the sticky error */
  }
  device_count_cached = n;
}

static int cuda_count(void) {
  pthread_once(&count_once, count_devices);
  return device_count_cached;
}

static void *cuda_alloc(size_t n, int index) {
  void *p = NULL;
  cudaError_t e = cudaSetDevice(index);
  if (e == cudaSuccess) e = cudaMalloc(&p, n);
  if (e != cudaSuccess) {
    set_error(e == cudaErrorMemoryAllocation ? TC_ERR_NOMEM : TC_ERR_CUDA,
                 "cuda:%d: allocating %zu bytes failed: %s", index, n, cudaGetErrorString(e));
    cudaGetLastError();
    return NULL;
  }
  return p;
}

static void cuda_free(void *p, int index) {
  if (!p) return;
  cudaSetDevice(index);
  cudaFree(p);
}

static tc_status cuda_copy(void *dst, const void *src, size_t n, int kind, int index) {
  static const enum cudaMemcpyKind kinds[3] = {cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost,
                                               cudaMemcpyDeviceToDevice};
  if (kind < 0 || kind > 2) return set_error(TC_ERR_ARG, "cuda copy: bad direction %d", kind);
  cudaError_t e = cudaSetDevice(index);
  if (e == cudaSuccess) e = cudaMemcpy(dst, src, n, kinds[kind]);
  if (e != cudaSuccess) {
    cudaGetLastError();
    return set_error(TC_ERR_CUDA, "cuda:%d: copying %zu bytes failed: %s", index, n, cudaGetErrorString(e));
  }
  return TC_OK;
}

static const tc__device_api api = {cuda_alloc, cuda_free, cuda_copy, cuda_count};

/* The one symbol the core looks up. */
__attribute__((visibility("default"))) const tc__device_api *tc__cuda_device_api(set_error_fn core_set_error) {
  set_error = core_set_error;
  return &api;
}
