/* core/src/cuda/cuda_backend.h — declarations shared by the files of libctorch_cuda (C and CUDA
 * C++). The library's one exported symbol, tc__cuda_device_api (cuda_device.c), hands the core a
 * tc__device_api (device_abi.h) whose entries are the functions below.
 *
 * Execution model: every kernel and copy of a device runs on that device's stream (one per
 * device, created on first use), so work is ordered without host synchronisation; copies to the
 * host wait for the stream. Freed device memory returns to the caching allocator
 * (cuda_allocator.c) and is reused by later work on the same stream, which runs after the work
 * that used it before.
 */
#ifndef CTORCH_CUDA_BACKEND_H
#define CTORCH_CUDA_BACKEND_H

#include <cuda_runtime_api.h>
#include "../device_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The core's error setter (set when the core loads the library). */
extern tc__set_error_fn tc__cuda_set_error;
/* Reports a failed CUDA call as TC_ERR_CUDA (TC_ERR_NOMEM for an allocation failure) naming what. */
tc_status tc__cuda_fail(cudaError_t e, const char *what, int index);
/* Makes `index` current and returns the calling thread's current stream on it (the device's
 * default stream unless tc__cuda_set_current_stream chose another); NULL and an error on failure. */
cudaStream_t tc__cuda_stream(int index);

/* cuda_allocator.c */
void *tc__cuda_alloc(size_t nbytes, int index);
void tc__cuda_free(void *p, int index);
void tc__cuda_mem_stats(int index, tc__mem_stats *out);
void tc__cuda_reset_peak(int index);
void tc__cuda_empty_cache(int index);

/* elementwise.cu */
tc_status tc__cuda_unary(int index, tc__unary_op op, tc_dtype compute, const tc__kplan *p);
tc_status tc__cuda_binary(int index, tc__binary_op op, tc_dtype compute, const tc__kplan *p, const tc__binary_ctx *c);
tc_status tc__cuda_clamp(int index, tc_dtype compute, const tc__kplan *p, const tc__clamp_ctx *c);
tc_status tc__cuda_copy(int index, const tc__kplan *p);
tc_status tc__cuda_fill(int index, const tc__kplan *p, double v, int64_t iv);
tc_status tc__cuda_index_gather(int index, const tc__kplan *p, int64_t mul);
tc_status tc__cuda_index_scatter(int index, const tc__kplan *p, int64_t mul);
tc_status tc__cuda_select(int index, const tc__kplan *p, int es);

/* scan.cu */
tc_status tc__cuda_scan(int index, bool prod, tc_dtype dt, bool wide, const void *in, void *out, int64_t outer,
                        int64_t d, int64_t inner);

/* random.cu */
tc_status tc__cuda_bernoulli_scaled(int index, tc_dtype dt, void *noise, int64_t n, double keep_prob,
                                    double keep_value, uint64_t seed, uint64_t offset);

/* reduce.cu */
tc_status tc__cuda_reduce_rows(int index, tc__red_kind kind, tc_dtype dtype, const void *in, int64_t rows, int64_t n,
                               tc_dtype out_dtype, void *out);

tc_status tc__cuda_arg_reduce_rows(int index, bool is_max, tc_dtype dtype, const void *in, int64_t rows, int64_t n,
                                   void *val, int64_t *idx);

/* softmax.cu */
tc_status tc__cuda_softmax(int index, tc_dtype dtype, const void *in, void *out, int64_t rows, int64_t d, bool log);

/* loss.cu */
tc_status tc__cuda_class_loss_fwd(int index, tc_dtype dt, bool nll, const void *x, const int64_t *t, const void *w,
                                  int64_t P, int64_t C, int64_t S, int64_t ignore, double eps, double W, void *loss,
                                  void *wt, void *lse);
tc_status tc__cuda_class_loss_bwd(int index, tc_dtype dt, bool nll, const void *x, const int64_t *t, const void *w,
                                  const void *lse, int64_t P, int64_t C, int64_t S, int64_t ignore, double eps,
                                  double W, const void *g, int64_t g_stride, void *gx);

/* layer_norm.cu */
tc_status tc__cuda_layer_norm_fwd(int index, tc_dtype dt, const void *x, const void *w, const void *b, int64_t M,
                                  int64_t K, double eps, void *y, void *mean, void *rstd);
tc_status tc__cuda_layer_norm_bwd(int index, tc_dtype dt, const void *x, const void *g, const void *w,
                                  const void *mean, const void *rstd, int64_t M, int64_t K, void *gx, void *gw,
                                  void *gb);

/* optim.cu */
tc_status tc__cuda_optim_run(int index, const tc__optim_job *jobs, int64_t njobs);

/* blas.c */
tc_status tc__cuda_gemm(int index, tc_dtype dtype, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                        double alpha, const void *a, int64_t lda, int64_t stride_a, const void *b, int64_t ldb,
                        int64_t stride_b, double beta, void *c, int64_t ldc, int64_t stride_c, int64_t batch,
                        bool allow_tf32);

/* scatter_add.cu */
tc_status tc__cuda_index_scatter_add(int index, const tc__kplan *p, int64_t mul, double alpha, int64_t extent);

/* cudnn.c: cuDNN, loaded with dlopen on first use (libcudnn.so.9, or the path in CTORCH_CUDNN) */
bool tc__cuda_conv_available(void);
tc_status tc__cuda_conv_fwd(int index, tc_dtype dt, const tc__conv_desc *d, const void *x, const void *w,
                            const void *b, void *y);
tc_status tc__cuda_conv_bwd_data(int index, tc_dtype dt, const tc__conv_desc *d, const void *gy, const void *w,
                                 void *gx);
tc_status tc__cuda_conv_bwd_filter(int index, tc_dtype dt, const tc__conv_desc *d, const void *gy, const void *x,
                                   void *gw);

/* pool.cu */
tc_status tc__cuda_pool_fwd(int index, tc_dtype dt, const tc__pool_desc *d, const void *x, void *y, int64_t *idx);
tc_status tc__cuda_pool_bwd(int index, tc_dtype dt, const tc__pool_desc *d, const void *gy, const int64_t *idx,
                            void *gx);

/* batch_norm.cu */
tc_status tc__cuda_batch_norm_fwd(int index, tc_dtype dt, const void *x, int64_t N, int64_t C, int64_t S,
                                  const void *w, const void *b, void *rm, void *rv, bool training, double momentum,
                                  double eps, void *y, void *mean, void *invstd);
tc_status tc__cuda_batch_norm_bwd(int index, tc_dtype dt, const void *x, const void *gy, int64_t N, int64_t C,
                                  int64_t S, const void *w, const void *mean, const void *invstd, bool training,
                                  void *gx, void *gw, void *gb);

/* streams.c and cuda_device.c: streams and events; the thread's current stream per device */
void tc__cuda_set_current_stream(int index, cudaStream_t s);
cudaStream_t tc__cuda_current_stream_raw(int index); /* NULL: the default stream */
void *tc__cuda_stream_create(int index);
void tc__cuda_stream_destroy(int index, void *stream);
tc_status tc__cuda_stream_set_current(int index, void *stream);
void *tc__cuda_stream_get_current(int index);
tc_status tc__cuda_stream_synchronize(int index, void *stream);
tc_status tc__cuda_stream_wait_event(int index, void *stream, void *event);
void *tc__cuda_event_create(int index, bool timing);
void tc__cuda_event_destroy(int index, void *event);
tc_status tc__cuda_event_record(int index, void *event, void *stream);
tc_status tc__cuda_event_synchronize(int index, void *event);
int tc__cuda_event_query(int index, void *event);
tc_status tc__cuda_event_elapsed_ms(int index, void *start, void *end, double *ms);

#define TC__CUDA_MAX_DEVICES 16

#ifdef __cplusplus
}
#endif
#endif
