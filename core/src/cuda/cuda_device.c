/* core/src/cuda/cuda_device.c — libctorch_cuda: the CUDA backend the core loads on demand.
 *
 * The core never links the CUDA runtime; the first time a CUDA device is asked for it dlopens
 * this library and calls tc__cuda_device_api() (see core/src/device.c), which returns the table
 * of memory, copy and kernel functions (device_abi.h). This library links the static CUDA
 * runtime and cuBLAS, never -lcuda, so it loads on a machine without a driver and simply reports
 * zero devices there (cudaGetDeviceCount fails with cudaErrorInsufficientDriver).
 *
 * This file: device count, the per-device stream, copies, synchronisation, pinned host memory.
 * Memory: cuda_allocator.c; kernels: elementwise.cu, reduce.cu; GEMM: blas.c.
 */
#include <pthread.h>
#include <stdio.h>
#include "cuda_backend.h"

tc__set_error_fn tc__cuda_set_error;

tc_status tc__cuda_fail(cudaError_t e, const char *what, int index) {
  cudaGetLastError(); /* clear a non-sticky error so later calls start clean */
  return tc__cuda_set_error(e == cudaErrorMemoryAllocation ? TC_ERR_NOMEM : TC_ERR_CUDA, "cuda:%d: %s failed: %s",
                            index, what, cudaGetErrorString(e));
}

/* ---- devices -------------------------------------------------------------------------------------- */
static int device_count_cached = -1;
static pthread_once_t count_once = PTHREAD_ONCE_INIT;

static void count_devices(void) {
  int n = 0; /* stays 0 when the driver is missing (error 35) */
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    n = 0;
    cudaGetLastError(); /* clear the sticky error */
  }
  device_count_cached = n > TC__CUDA_MAX_DEVICES ? TC__CUDA_MAX_DEVICES : n;
}

static int cuda_count(void) {
  pthread_once(&count_once, count_devices);
  return device_count_cached;
}

/* ---- one stream per device -------------------------------------------------------------------------- */
static cudaStream_t streams[TC__CUDA_MAX_DEVICES];
static pthread_mutex_t stream_lock = PTHREAD_MUTEX_INITIALIZER;

/* the calling thread's current stream per device (NULL: the device's default stream) */
static _Thread_local cudaStream_t current[TC__CUDA_MAX_DEVICES];

void tc__cuda_set_current_stream(int index, cudaStream_t s) { current[index] = s; }
cudaStream_t tc__cuda_current_stream_raw(int index) { return current[index]; }

cudaStream_t tc__cuda_stream(int index) {
  cudaError_t e = cudaSetDevice(index);
  if (e != cudaSuccess) {
    tc__cuda_fail(e, "selecting the device", index);
    return NULL;
  }
  if (current[index]) return current[index];
  pthread_mutex_lock(&stream_lock);
  if (!streams[index]) {
    /* non-blocking: no implicit synchronisation with the legacy default stream */
    e = cudaStreamCreateWithFlags(&streams[index], cudaStreamNonBlocking);
    if (e != cudaSuccess) {
      streams[index] = NULL;
      pthread_mutex_unlock(&stream_lock);
      tc__cuda_fail(e, "creating a stream", index);
      return NULL;
    }
  }
  cudaStream_t s = streams[index];
  pthread_mutex_unlock(&stream_lock);
  return s;
}

/* every stream of the device (torch.cuda.synchronize) */
static tc_status cuda_synchronize(int index) {
  cudaError_t e = cudaSetDevice(index);
  if (e == cudaSuccess) e = cudaDeviceSynchronize();
  return e == cudaSuccess ? TC_OK : tc__cuda_fail(e, "synchronize", index);
}

/* ---- copies ------------------------------------------------------------------------------------------ */
static tc_status cuda_copy(void *dst, const void *src, size_t n, int kind, int index) {
  static const enum cudaMemcpyKind kinds[3] = {cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost,
                                               cudaMemcpyDeviceToDevice};
  bool async = kind & TC__COPY_ASYNC;
  kind &= ~TC__COPY_ASYNC;
  if (kind < 0 || kind > 2) return tc__cuda_set_error(TC_ERR_ARG, "cuda copy: bad direction %d", kind);
  cudaStream_t s = tc__cuda_stream(index);
  if (!s) return TC_ERR_CUDA;
  /* ordered after the kernels already queued on the stream; a copy to the host waits for them
   * (the caller reads the data next); host-to-device copies from pageable memory return once the
   * source has been staged, so the caller may reuse it */
  cudaError_t e = cudaMemcpyAsync(dst, src, n, kinds[kind], s);
  if (e == cudaSuccess && kind != 2 && !async) e = cudaStreamSynchronize(s);
  if (e != cudaSuccess) {
    char what[64];
    snprintf(what, sizeof what, "copying %zu bytes", n);
    return tc__cuda_fail(e, what, index);
  }
  return TC_OK;
}

static void *cuda_host_alloc(size_t n) {
  void *p = NULL;
  cudaError_t e = cudaMallocHost(&p, n ? n : 1);
  if (e != cudaSuccess) {
    tc__cuda_fail(e, "allocating pinned host memory", 0);
    return NULL;
  }
  return p;
}

static void cuda_host_free(void *p) {
  if (p) cudaFreeHost(p);
}

static const tc__device_api api = {
    .struct_size = sizeof(tc__device_api),
    .alloc = tc__cuda_alloc,
    .free = tc__cuda_free,
    .memcpy = cuda_copy,
    .device_count = cuda_count,
    .synchronize = cuda_synchronize,
    .mem_stats = tc__cuda_mem_stats,
    .reset_peak = tc__cuda_reset_peak,
    .empty_cache = tc__cuda_empty_cache,
    .host_alloc = cuda_host_alloc,
    .host_free = cuda_host_free,
    .unary = tc__cuda_unary,
    .binary = tc__cuda_binary,
    .clamp = tc__cuda_clamp,
    .copy = tc__cuda_copy,
    .fill = tc__cuda_fill,
    .index_gather = tc__cuda_index_gather,
    .index_scatter = tc__cuda_index_scatter,
    .select = tc__cuda_select,
    .scan = tc__cuda_scan,
    .bernoulli_scaled = tc__cuda_bernoulli_scaled,
    .reduce_rows = tc__cuda_reduce_rows,
    .arg_reduce_rows = tc__cuda_arg_reduce_rows,
    .softmax = tc__cuda_softmax,
    .class_loss_fwd = tc__cuda_class_loss_fwd,
    .class_loss_bwd = tc__cuda_class_loss_bwd,
    .layer_norm_fwd = tc__cuda_layer_norm_fwd,
    .layer_norm_bwd = tc__cuda_layer_norm_bwd,
    .optim_run = tc__cuda_optim_run,
    .gemm = tc__cuda_gemm,
    .index_scatter_add = tc__cuda_index_scatter_add,
    .conv_fwd = tc__cuda_conv_fwd,
    .conv_available = tc__cuda_conv_available,
    .conv_bwd_data = tc__cuda_conv_bwd_data,
    .conv_bwd_filter = tc__cuda_conv_bwd_filter,
    .pool_fwd = tc__cuda_pool_fwd,
    .pool_bwd = tc__cuda_pool_bwd,
    .batch_norm_fwd = tc__cuda_batch_norm_fwd,
    .batch_norm_bwd = tc__cuda_batch_norm_bwd,
    .stream_create = tc__cuda_stream_create,
    .stream_destroy = tc__cuda_stream_destroy,
    .stream_set_current = tc__cuda_stream_set_current,
    .stream_get_current = tc__cuda_stream_get_current,
    .stream_synchronize = tc__cuda_stream_synchronize,
    .stream_wait_event = tc__cuda_stream_wait_event,
    .event_create = tc__cuda_event_create,
    .event_destroy = tc__cuda_event_destroy,
    .event_record = tc__cuda_event_record,
    .event_synchronize = tc__cuda_event_synchronize,
    .event_query = tc__cuda_event_query,
    .event_elapsed_ms = tc__cuda_event_elapsed_ms,
};

/* The one symbol the core looks up. */
__attribute__((visibility("default"))) const tc__device_api *tc__cuda_device_api(tc__set_error_fn core_set_error) {
  tc__cuda_set_error = core_set_error;
  return &api;
}
