/* core/src/cuda_stream.c — the public streams and events (ctorch/device.h) over the CUDA
 * backend's stream and event entries (device_abi.h). Handles carry their device. */
#include "internal.h"

struct tc_cuda_stream {
  int device;
  void *handle;
};

struct tc_cuda_event {
  int device;
  void *handle;
};

static const tc__device_api *backend(const char *fn, int device) {
  const tc__device_api *api = tc__device_api_for(tc_cuda(device), fn);
  if (api && !api->stream_create) {
    tc__error(TC_ERR_UNSUPPORTED, "%s: the CUDA backend has no streams", fn);
    return NULL;
  }
  return api;
}

tc_cuda_stream *tc_cuda_stream_create(int device) {
  const tc__device_api *api = backend("tc_cuda_stream_create", device);
  if (!api) return NULL;
  tc_cuda_stream *s = tc__calloc(sizeof *s);
  if (!s) return NULL;
  s->device = device;
  if (!(s->handle = api->stream_create(device))) {
    tc__free(s);
    return NULL;
  }
  return s;
}

void tc_cuda_stream_destroy(tc_cuda_stream *s) {
  if (!s) return;
  const tc__device_api *api = backend("tc_cuda_stream_destroy", s->device);
  if (api) api->stream_destroy(s->device, s->handle);
  tc__free(s);
}

tc_status tc_cuda_set_stream(int device, tc_cuda_stream *s) {
  const char *fn = "tc_cuda_set_stream";
  const tc__device_api *api = backend(fn, device);
  if (!api) return tc_last_status();
  if (s && s->device != device)
    return tc__error(TC_ERR_DEVICE, "%s: the stream belongs to cuda:%d, not cuda:%d", fn, s->device, device);
  return api->stream_set_current(device, s ? s->handle : NULL);
}

tc_status tc_cuda_stream_synchronize(tc_cuda_stream *s) {
  TC__NONNULL_S(s, "tc_cuda_stream_synchronize");
  const tc__device_api *api = backend("tc_cuda_stream_synchronize", s->device);
  return api ? api->stream_synchronize(s->device, s->handle) : tc_last_status();
}

tc_status tc_cuda_stream_wait_event(tc_cuda_stream *s, tc_cuda_event *e) {
  const char *fn = "tc_cuda_stream_wait_event";
  TC__NONNULL_S(e, fn);
  int device = s ? s->device : e->device;
  const tc__device_api *api = backend(fn, device);
  return api ? api->stream_wait_event(device, s ? s->handle : NULL, e->handle) : tc_last_status();
}

tc_cuda_event *tc_cuda_event_create(int device, bool enable_timing) {
  const tc__device_api *api = backend("tc_cuda_event_create", device);
  if (!api) return NULL;
  tc_cuda_event *e = tc__calloc(sizeof *e);
  if (!e) return NULL;
  e->device = device;
  if (!(e->handle = api->event_create(device, enable_timing))) {
    tc__free(e);
    return NULL;
  }
  return e;
}

void tc_cuda_event_destroy(tc_cuda_event *e) {
  if (!e) return;
  const tc__device_api *api = backend("tc_cuda_event_destroy", e->device);
  if (api) api->event_destroy(e->device, e->handle);
  tc__free(e);
}

tc_status tc_cuda_event_record(tc_cuda_event *e, tc_cuda_stream *s) {
  const char *fn = "tc_cuda_event_record";
  TC__NONNULL_S(e, fn);
  if (s && s->device != e->device)
    return tc__error(TC_ERR_DEVICE, "%s: event of cuda:%d recorded on a stream of cuda:%d", fn, e->device, s->device);
  const tc__device_api *api = backend(fn, e->device);
  return api ? api->event_record(e->device, e->handle, s ? s->handle : NULL) : tc_last_status();
}

tc_status tc_cuda_event_synchronize(tc_cuda_event *e) {
  TC__NONNULL_S(e, "tc_cuda_event_synchronize");
  const tc__device_api *api = backend("tc_cuda_event_synchronize", e->device);
  return api ? api->event_synchronize(e->device, e->handle) : tc_last_status();
}

int tc_cuda_event_query(tc_cuda_event *e) {
  if (!e) {
    tc__error(TC_ERR_ARG, "tc_cuda_event_query: event is NULL");
    return -1;
  }
  const tc__device_api *api = backend("tc_cuda_event_query", e->device);
  return api ? api->event_query(e->device, e->handle) : -1;
}

tc_status tc_cuda_event_elapsed_ms(tc_cuda_event *start, tc_cuda_event *end, double *ms) {
  const char *fn = "tc_cuda_event_elapsed_ms";
  TC__NONNULL_S(start, fn);
  TC__NONNULL_S(end, fn);
  TC__NONNULL_S(ms, fn);
  const tc__device_api *api = backend(fn, start->device);
  return api ? api->event_elapsed_ms(start->device, start->handle, end->handle, ms) : tc_last_status();
}
