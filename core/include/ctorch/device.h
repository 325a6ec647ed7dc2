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

/* TF32 tensor cores for float32 matrix products (torch.backends.cuda.matmul.allow_tf32): off by
 * default, so float32 products are computed in full FP32. set = 0 or 1 changes it, set < 0 only
 * reads; returns the value before the call. Process-wide. */
TC_API bool tc_cuda_matmul_allow_tf32(int set);

#ifdef __cplusplus
}
#endif
#endif
