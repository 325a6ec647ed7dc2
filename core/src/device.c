/* core/src/device.c — per-device memory APIs. The CPU's is built in; CUDA's lives in
 * libctorch_cuda, loaded with dlopen the first time a CUDA device is asked for, so CPU-only
 * processes never load the CUDA runtime or cuBLAS. */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include "internal.h"

static void *cpu_alloc(size_t n, int index) {
  (void)index;
  return tc__aligned_alloc(n);
}
static void cpu_free(void *p, int index) {
  (void)index;
  tc__aligned_free(p);
}
static tc_status cpu_memcpy(void *dst, const void *src, size_t n, int kind, int index) {
  (void)kind;
  (void)index;
  memcpy(dst, src, n);
  return TC_OK;
}
static int cpu_count(void) { return 1; }

static const tc__device_api cpu_api = {.struct_size = sizeof(tc__device_api), .alloc = cpu_alloc, .free = cpu_free,
                                       .memcpy = cpu_memcpy, .device_count = cpu_count};

/* ---- CUDA: loaded on demand ------------------------------------------------------------------- */
static pthread_once_t cuda_once = PTHREAD_ONCE_INIT;
static const tc__device_api *cuda_api;
static char cuda_load_error[512];

static void load_cuda(void) {
  /* CTORCH_CUDA_LIBRARY overrides; then the directory libctorch itself was loaded from (so an
   * installed or build-tree copy pairs with its own backend); then the loader's search path. */
  char beside[4096] = "";
  Dl_info info;
  if (dladdr((void *)&tc_cuda_device_count, &info) && info.dli_fname) {
    const char *slash = strrchr(info.dli_fname, '/');
    if (slash && (size_t)(slash - info.dli_fname) < sizeof beside - 32)
      snprintf(beside, sizeof beside, "%.*s/libctorch_cuda.so.0", (int)(slash - info.dli_fname), info.dli_fname);
  }
  const char *names[] = {getenv("CTORCH_CUDA_LIBRARY"), beside[0] ? beside : NULL, "libctorch_cuda.so.0",
                         "libctorch_cuda.so"};
  void *h = NULL;
  for (size_t i = 0; i < sizeof names / sizeof names[0] && !h; i++)
    if (names[i]) h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char *e = dlerror();
    snprintf(cuda_load_error, sizeof cuda_load_error, "libctorch_cuda could not be loaded (%s)", e ? e : "not found");
    return;
  }
  const tc__device_api *(*get)(tc__set_error_fn) = (const tc__device_api *(*)(tc__set_error_fn))dlsym(h, "tc__cuda_device_api");
  if (!get) {
    snprintf(cuda_load_error, sizeof cuda_load_error, "libctorch_cuda has no device API symbol");
    return;
  }
  cuda_api = get(tc_set_error);
  if (cuda_api && cuda_api->struct_size != sizeof(tc__device_api)) {
    cuda_api = NULL;
    snprintf(cuda_load_error, sizeof cuda_load_error,
             "libctorch_cuda does not match this libctorch (built from another version): reinstall both together");
    return;
  }
  if (cuda_api && cuda_api->device_count() <= 0) {
    snprintf(cuda_load_error, sizeof cuda_load_error, "no CUDA device is present");
  }
}

static const tc__device_api *get_cuda(void) {
  pthread_once(&cuda_once, load_cuda);
  return cuda_api;
}

bool tc_cuda_is_available(void) { return tc_cuda_device_count() > 0; }

int tc_cuda_device_count(void) {
  const tc__device_api *api = get_cuda();
  return api ? api->device_count() : 0;
}

const tc__device_api *tc__device_api_for(tc_device d, const char *fn) {
  if (d.type == TC_DEVICE_CPU) {
    if (d.index != 0) {
      tc__error(TC_ERR_DEVICE, "%s: invalid CPU device index %d", fn, d.index);
      return NULL;
    }
    return &cpu_api;
  }
  if (d.type == TC_DEVICE_CUDA) {
    const tc__device_api *api = get_cuda();
    if (!api) {
      tc__error(TC_ERR_DEVICE, "%s: CUDA is not available: %s", fn, cuda_load_error);
      return NULL;
    }
    int n = api->device_count();
    if (d.index < 0 || d.index >= n) {
      tc__error(TC_ERR_DEVICE, "%s: cuda:%d requested but %d CUDA device(s) present", fn, d.index, n);
      return NULL;
    }
    return api;
  }
  tc__error(TC_ERR_DEVICE, "%s: unknown device type %d", fn, (int)d.type);
  return NULL;
}

tc_status tc__check_device(const char *fn, tc_device d) {
  return tc__device_api_for(d, fn) ? TC_OK : tc_last_status();
}

const char *tc_device_str(tc_device d, char *buf, int buflen) {
  if (!buf || buflen <= 0) return "";
  if (d.type == TC_DEVICE_CPU) snprintf(buf, (size_t)buflen, "cpu");
  else if (d.type == TC_DEVICE_CUDA) snprintf(buf, (size_t)buflen, "cuda:%d", d.index);
  else snprintf(buf, (size_t)buflen, "device%d:%d", (int)d.type, d.index);
  return buf;
}

tc_tensor *tc__scalar_to_device_of(const tc_tensor *t, const tc_tensor *other, bool *moved) {
  *moved = false;
  if (!t || !other || t->ndim != 0 || !tc__is_cpu(t) || tc__is_cpu(other)) return (tc_tensor *)t;
  *moved = true;
  return tc_tensor_to(t, other->storage->device);
}

tc_status tc__require_cpu(const char *fn, const tc_tensor *t) {
  if (t->storage->device.type == TC_DEVICE_CPU) return TC_OK;
  char b[32];
  return tc__error(TC_ERR_UNSUPPORTED, "%s: no kernel for device %s in this build", fn,
                   tc_device_str(t->storage->device, b, sizeof b));
}

/* ---- device-generic copy and fill --------------------------------------------------------------- */
const tc__device_api *tc__backend(const tc_tensor *t) {
  tc_device d = t->storage->device;
  if (d.type == TC_DEVICE_CPU) return NULL;
  return d.type == TC_DEVICE_CUDA ? cuda_api : NULL; /* loaded: a tensor lives there */
}

tc_status tc__kernel_missing(const char *fn, const tc_tensor *t) {
  char b[32];
  return tc__error(TC_ERR_UNSUPPORTED, "%s: no kernel for device %s in this build", fn,
                   tc_device_str(t->storage->device, b, sizeof b));
}

tc_status tc__copy(tc_tensor *dst, const tc_tensor *src) {
  if (tc__is_cpu(dst)) {
    tc__cpu_copy(dst, src);
    return TC_OK;
  }
  const tc__device_api *api = tc__backend(dst);
  if (!api || !api->copy) return tc__kernel_missing("copy", dst);
  const tc_tensor *ops[2] = {dst, src};
  tc__kplan kp;
  tc__kplan_make(2, ops, &kp);
  return api->copy(dst->storage->device.index, &kp);
}

tc_status tc__fill(tc_tensor *t, double v) {
  if (tc__is_cpu(t)) {
    tc__cpu_fill(t, v);
    return TC_OK;
  }
  const tc__device_api *api = tc__backend(t);
  if (!api || !api->fill) return tc__kernel_missing("fill", t);
  const tc_tensor *ops[1] = {t};
  tc__kplan kp;
  tc__kplan_make(1, ops, &kp);
  return api->fill(t->storage->device.index, &kp, v, tc__double_to_i64(v));
}

/* ---- CUDA runtime controls ------------------------------------------------------------------------- */
static const tc__device_api *cuda_for(const char *fn, int device) {
  return tc__device_api_for(tc_cuda(device), fn);
}

tc_status tc_cuda_synchronize(int device) {
  const tc__device_api *api = cuda_for("tc_cuda_synchronize", device);
  return api ? api->synchronize(device) : tc_last_status();
}

tc_status tc_cuda_memory_stats_get(int device, tc_cuda_memory_stats *out) {
  if (!out) return tc__error(TC_ERR_ARG, "tc_cuda_memory_stats_get: out is NULL");
  memset(out, 0, sizeof *out);
  const tc__device_api *api = cuda_for("tc_cuda_memory_stats_get", device);
  if (!api) return tc_last_status();
  tc__mem_stats m;
  api->mem_stats(device, &m);
  *out = (tc_cuda_memory_stats){m.allocated, m.reserved, m.peak_allocated, m.peak_reserved, m.alloc_calls,
                                m.device_allocs};
  return TC_OK;
}

tc_status tc_cuda_reset_peak_memory_stats(int device) {
  const tc__device_api *api = cuda_for("tc_cuda_reset_peak_memory_stats", device);
  if (!api) return tc_last_status();
  api->reset_peak(device);
  return TC_OK;
}

tc_status tc_cuda_empty_cache(int device) {
  const tc__device_api *api = cuda_for("tc_cuda_empty_cache", device);
  if (!api) return tc_last_status();
  api->empty_cache(device);
  return TC_OK;
}

static atomic_bool allow_tf32;

bool tc_cuda_matmul_allow_tf32(int set) {
  if (set < 0) return atomic_load(&allow_tf32);
  return atomic_exchange(&allow_tf32, set != 0);
}

static atomic_bool cudnn_tf32 = true, cudnn_bench;

bool tc_cudnn_allow_tf32(int set) {
  if (set < 0) return atomic_load(&cudnn_tf32);
  return atomic_exchange(&cudnn_tf32, set != 0);
}

bool tc_cudnn_benchmark(int set) {
  if (set < 0) return atomic_load(&cudnn_bench);
  return atomic_exchange(&cudnn_bench, set != 0);
}

/* ---- pinned host memory --------------------------------------------------------------------------- */
static void pinned_free(void *data, void *ctx) {
  (void)ctx;
  if (cuda_api && cuda_api->host_free) cuda_api->host_free(data);
}

bool tc_tensor_is_pinned(const tc_tensor *t) {
  return t && t->storage->deleter == pinned_free;
}

bool tc__storage_is_pinned(const tc_tensor *t) { return tc_tensor_is_pinned(t); }

/* An uninitialised CPU tensor in pinned memory (the destination of a non-blocking copy to the
 * host); NULL with an error. */
tc_tensor *tc__pinned_empty(const int64_t *sizes, int ndim, tc_dtype dtype) {
  const tc__device_api *api = tc__device_api_for(tc_cuda(0), "pinned memory");
  if (!api) return NULL;
  size_t nbytes = (size_t)tc__numel(sizes, ndim) * tc_dtype_size(dtype);
  void *p = api->host_alloc(nbytes);
  tc_tensor *out = p ? tc_tensor_from_blob(p, sizes, NULL, ndim, dtype, pinned_free, NULL) : NULL;
  if (p && !out) api->host_free(p);
  return out;
}

tc_tensor *tc_tensor_pin_memory(const tc_tensor *t) {
  const char *fn = "tc_tensor_pin_memory";
  TC__NONNULL_T(t, fn);
  const tc__device_api *api = tc__device_api_for(tc_cuda(0), fn);
  if (!api) return NULL;
  tc_tensor *src = tc__is_cpu(t) ? tc_tensor_retain((tc_tensor *)t) : tc_tensor_to(t, tc_cpu());
  if (!src) return NULL;
  size_t nbytes = (size_t)tc__numel(t->sizes, t->ndim) * tc_dtype_size(t->dtype);
  void *p = api->host_alloc(nbytes);
  tc_tensor *out = p ? tc_tensor_from_blob(p, t->sizes, NULL, t->ndim, t->dtype, pinned_free, NULL) : NULL;
  if (p && !out) api->host_free(p);
  if (out && tc__copy(out, src)) {
    tc_tensor_release(out);
    out = NULL;
  }
  tc_tensor_release(src);
  return out;
}
