/* ctorch/device.h — devices. A tensor lives on one device; ops require their inputs on one device.
 *
 *   tc_device cpu = tc_cpu();
 *   if (tc_cuda_is_available()) { tc_device gpu = tc_cuda(0); ... }
 *
 * CUDA support is a separate library (libctorch_cuda) that the core loads the first time a CUDA
 * device is used, so CPU-only programs never load the CUDA runtime or cuBLAS. These functions
 * exist in every build; without the CUDA library or a GPU they report no device.
 */
#ifndef CTORCH_DEVICE_H
#define CTORCH_DEVICE_H

#include <stdbool.h>
#include "ctorch/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tc_device_type { TC_DEVICE_CPU = 0, TC_DEVICE_CUDA = 1, TC_NUM_DEVICE_TYPES } tc_device_type;

typedef struct tc_device {
  tc_device_type type;
  int index; /* 0 for the CPU; the CUDA ordinal for CUDA */
} tc_device;

static inline tc_device tc_cpu(void) { tc_device d = {TC_DEVICE_CPU, 0}; return d; }
static inline tc_device tc_cuda(int index) { tc_device d = {TC_DEVICE_CUDA, index}; return d; }
static inline bool tc_device_equal(tc_device a, tc_device b) { return a.type == b.type && a.index == b.index; }

/* "cpu", "cuda:0" into buf (at least 16 bytes); returns buf. */
TC_API const char *tc_device_str(tc_device d, char *buf, int buflen);

/* True when libctorch_cuda loads and the driver reports at least one device. */
TC_API bool tc_cuda_is_available(void);
TC_API int tc_cuda_device_count(void);

/* Waits until all work queued on the device has finished (torch.cuda.synchronize). Kernels run
 * asynchronously on one stream per device; copies to the host wait by themselves. */
TC_API tc_status tc_cuda_synchronize(int device);

/* The caching allocator (torch.cuda.memory_*): freed blocks are kept for reuse; allocated counts
 * bytes in tensors (rounded to the allocator's granule), reserved bytes held from the driver. */
typedef struct tc_cuda_memory_stats {
  int64_t allocated, reserved;           /* now */
  int64_t peak_allocated, peak_reserved; /* since start or the last reset */
  int64_t alloc_calls;                   /* allocations served */
  int64_t device_allocs;                 /* of those, the ones that reached cudaMalloc */
} tc_cuda_memory_stats;
TC_API tc_status tc_cuda_memory_stats_get(int device, tc_cuda_memory_stats *out);
TC_API tc_status tc_cuda_reset_peak_memory_stats(int device);
/* Returns cached blocks that no tensor uses to the driver (torch.cuda.empty_cache). */
TC_API tc_status tc_cuda_empty_cache(int device);

/* A CPU copy of t (any device) in pinned (page-locked) host memory, from which copies to a CUDA
 * device run at full speed (torch.Tensor.pin_memory). TC_ERR_DEVICE when CUDA is not available. */
typedef struct tc_tensor tc_tensor;
TC_API tc_tensor *tc_tensor_pin_memory(const tc_tensor *t);
TC_API bool tc_tensor_is_pinned(const tc_tensor *t);

/* ---- streams and events (torch.cuda.Stream, torch.cuda.Event) ----------------------------------------
 * Work on a device is queued on the calling thread's current stream for that device: the device's
 * default stream, or one made current with tc_cuda_set_stream. Kernels on one stream run in order;
 * streams run concurrently; events order work across streams and measure time.
 *
 *   tc_cuda_stream *side = tc_cuda_stream_create(0);
 *   tc_cuda_set_stream(0, side);               // with torch.cuda.stream(side):
 *   tc_tensor *y = tc_matmul(a, b);            //   queued on `side`
 *   tc_cuda_set_stream(0, NULL);               // back to the default stream
 *   tc_cuda_event *done = tc_cuda_event_create(0, false);
 *   tc_cuda_event_record(done, side);
 *   tc_cuda_stream_wait_event(NULL, done);     // the default stream waits for `side`
 *
 * Memory: a block freed by work on one stream is reused only by work on the same stream. A tensor
 * used on a stream other than the one it was made on must not be released before that use is
 * known to be finished (an event, or a synchronize), as with PyTorch's record_stream. */
typedef struct tc_cuda_stream tc_cuda_stream;
typedef struct tc_cuda_event tc_cuda_event;
TC_API tc_cuda_stream *tc_cuda_stream_create(int device);
/* Destroys s (NULL-safe); queued work still completes. The calling thread goes back to the default
 * stream if s was current; s must not be current on another thread. */
TC_API void tc_cuda_stream_destroy(tc_cuda_stream *s);
/* Makes s (NULL: the default stream) the calling thread's current stream on `device`. */
TC_API tc_status tc_cuda_set_stream(int device, tc_cuda_stream *s);
/* Waits until all work queued on s is done. */
TC_API tc_status tc_cuda_stream_synchronize(tc_cuda_stream *s);
/* Work queued on s (NULL: the current stream of e's device) after this call waits for e. */
TC_API tc_status tc_cuda_stream_wait_event(tc_cuda_stream *s, tc_cuda_event *e);
/* enable_timing: the event can be used with tc_cuda_event_elapsed_ms. */
TC_API tc_cuda_event *tc_cuda_event_create(int device, bool enable_timing);
TC_API void tc_cuda_event_destroy(tc_cuda_event *e);
/* Records e on s (NULL: the current stream of e's device). */
TC_API tc_status tc_cuda_event_record(tc_cuda_event *e, tc_cuda_stream *s);
TC_API tc_status tc_cuda_event_synchronize(tc_cuda_event *e);
/* 1 when the work before e's record is done, 0 when not yet, -1 on error. */
TC_API int tc_cuda_event_query(tc_cuda_event *e);
/* Milliseconds between two recorded timing events. */
TC_API tc_status tc_cuda_event_elapsed_ms(tc_cuda_event *start, tc_cuda_event *end, double *ms);
/* tc_tensor_to with non_blocking=True: a copy from pinned host memory to a device, or from a device
 * to the host (into new pinned memory), is queued on the current stream and returns at once; read
 * the result (or reuse the pinned source) only after synchronizing. Other copies block. */
TC_API tc_tensor *tc_tensor_to_nonblocking(const tc_tensor *t, tc_device device);

/* TF32 tensor cores for float32 matrix products (torch.backends.cuda.matmul.allow_tf32): off by
 * default, so float32 products are computed in full FP32. set = 0 or 1 changes it, set < 0 only
 * reads; returns the value before the call. Process-wide. */
TC_API bool tc_cuda_matmul_allow_tf32(int set);

/* Convolutions on CUDA run on cuDNN (libcudnn.so.9, loaded on first use; CTORCH_CUDNN may give its
 * path, or "none"), always with deterministic algorithms; without cuDNN they are composed of other
 * device ops (gathered columns and a matmul: slower, more memory). As torch.backends.cudnn:
 *   allow_tf32 (on by default, as PyTorch): float32 convolutions may use TF32 tensor cores;
 *   benchmark (off by default): time the candidate algorithms once per shape and keep the fastest,
 *   instead of taking cuDNN's heuristic choice.
 * set = 0 or 1 changes the flag, set < 0 only reads; returns the value before the call. */
TC_API bool tc_cudnn_allow_tf32(int set);
TC_API bool tc_cudnn_benchmark(int set);

#ifdef __cplusplus
}
#endif
#endif
