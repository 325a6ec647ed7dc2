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

#ifdef __cplusplus
}
#endif
#endif
