/* core/src/cuda/streams.c — user streams and events (torch.cuda.Stream / torch.cuda.Event).
 *
 * A stream made current on a thread (tc__cuda_set_current_stream) receives every kernel and copy
 * that thread issues on that device; the caching allocator hands a block only to work on the
 * stream it was allocated on, so reuse stays ordered. Streams are non-blocking (no implicit
 * synchronisation with the legacy default stream).
 */
#include "cuda_backend.h"

void *tc__cuda_stream_create(int index) {
  cudaError_t e = cudaSetDevice(index);
  cudaStream_t s = NULL;
  if (e == cudaSuccess) e = cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking);
  if (e != cudaSuccess) {
    tc__cuda_fail(e, "creating a stream", index);
    return NULL;
  }
  return s;
}

void tc__cuda_stream_destroy(int index, void *stream) {
  if (!stream) return;
  if (tc__cuda_current_stream_raw(index) == (cudaStream_t)stream) tc__cuda_set_current_stream(index, NULL);
  cudaSetDevice(index);
  cudaStreamDestroy((cudaStream_t)stream); /* returns at once; pending work still completes */
}

tc_status tc__cuda_stream_set_current(int index, void *stream) {
  tc__cuda_set_current_stream(index, (cudaStream_t)stream);
  return TC_OK;
}

void *tc__cuda_stream_get_current(int index) { return tc__cuda_current_stream_raw(index); }

tc_status tc__cuda_stream_synchronize(int index, void *stream) {
  cudaStream_t s = stream ? (cudaStream_t)stream : NULL;
  if (!s) { /* the device's default stream */
    cudaStream_t saved = tc__cuda_current_stream_raw(index);
    tc__cuda_set_current_stream(index, NULL);
    s = tc__cuda_stream(index);
    tc__cuda_set_current_stream(index, saved);
    if (!s) return TC_ERR_CUDA;
  }
  cudaError_t e = cudaStreamSynchronize(s);
  return e == cudaSuccess ? TC_OK : tc__cuda_fail(e, "synchronizing a stream", index);
}

tc_status tc__cuda_stream_wait_event(int index, void *stream, void *event) {
  cudaStream_t s = stream ? (cudaStream_t)stream : tc__cuda_stream(index);
  if (!s) return TC_ERR_CUDA;
  cudaError_t e = cudaStreamWaitEvent(s, (cudaEvent_t)event, 0);
  return e == cudaSuccess ? TC_OK : tc__cuda_fail(e, "making a stream wait for an event", index);
}

void *tc__cuda_event_create(int index, bool timing) {
  cudaError_t e = cudaSetDevice(index);
  cudaEvent_t ev = NULL;
  if (e == cudaSuccess) e = cudaEventCreateWithFlags(&ev, timing ? cudaEventDefault : cudaEventDisableTiming);
  if (e != cudaSuccess) {
    tc__cuda_fail(e, "creating an event", index);
    return NULL;
  }
  return ev;
}

void tc__cuda_event_destroy(int index, void *event) {
  (void)index;
  if (event) cudaEventDestroy((cudaEvent_t)event);
}

tc_status tc__cuda_event_record(int index, void *event, void *stream) {
  cudaStream_t s = stream ? (cudaStream_t)stream : tc__cuda_stream(index);
  if (!s) return TC_ERR_CUDA;
  cudaError_t e = cudaEventRecord((cudaEvent_t)event, s);
  return e == cudaSuccess ? TC_OK : tc__cuda_fail(e, "recording an event", index);
}

tc_status tc__cuda_event_synchronize(int index, void *event) {
  cudaError_t e = cudaEventSynchronize((cudaEvent_t)event);
  return e == cudaSuccess ? TC_OK : tc__cuda_fail(e, "waiting for an event", index);
}

int tc__cuda_event_query(int index, void *event) {
  cudaError_t e = cudaEventQuery((cudaEvent_t)event);
  if (e == cudaSuccess) return 1;
  if (e == cudaErrorNotReady) {
    cudaGetLastError();
    return 0;
  }
  tc__cuda_fail(e, "querying an event", index);
  return -1;
}

tc_status tc__cuda_event_elapsed_ms(int index, void *start, void *end, double *ms) {
  float f = 0;
  cudaError_t e = cudaEventElapsedTime(&f, (cudaEvent_t)start, (cudaEvent_t)end);
  if (e != cudaSuccess) return tc__cuda_fail(e, "measuring the time between two events", index);
  *ms = f;
  return TC_OK;
}
