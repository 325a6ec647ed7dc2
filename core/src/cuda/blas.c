/* core/src/cuda/blas.c — GEMM on cuBLAS: one handle per device, bound to the device's stream.
 *
 * Column-major as BLAS: the core computes a row-major C = A @ B as C^T = B^T @ A^T by swapping
 * the operands. f16/bf16 operands accumulate in f32 (CUBLAS_COMPUTE_32F); f32 uses full FP32
 * unless the caller allows TF32 (as torch.backends.cuda.matmul.allow_tf32, off by default).
 */
#include <cublas_v2.h>
#include <pthread.h>
#include "cuda_backend.h"

static cublasHandle_t handles[TC__CUDA_MAX_DEVICES];
static pthread_mutex_t handle_lock = PTHREAD_MUTEX_INITIALIZER;

static cublasHandle_t handle_for(int index, cudaStream_t s) {
  pthread_mutex_lock(&handle_lock);
  if (!handles[index]) {
    cublasStatus_t st = cublasCreate(&handles[index]);
    if (st != CUBLAS_STATUS_SUCCESS) {
      handles[index] = NULL;
      pthread_mutex_unlock(&handle_lock);
      tc__cuda_set_error(TC_ERR_CUDA, "cuda:%d: creating the cuBLAS handle failed: %s", index, cublasGetStatusString(st));
      return NULL;
    }
  }
  cublasHandle_t h = handles[index];
  pthread_mutex_unlock(&handle_lock);
  cublasSetStream(h, s);
  return h;
}

tc_status tc__cuda_gemm(int index, tc_dtype dtype, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                        double alpha, const void *a, int64_t lda, int64_t stride_a, const void *b, int64_t ldb,
                        int64_t stride_b, double beta, void *c, int64_t ldc, int64_t stride_c, int64_t batch,
                        bool allow_tf32) {
  if (m == 0 || n == 0 || batch == 0) return TC_OK;
  if (m > INT32_MAX || n > INT32_MAX || k > INT32_MAX || lda > INT32_MAX || ldb > INT32_MAX || ldc > INT32_MAX ||
      batch > INT32_MAX)
    return tc__cuda_set_error(TC_ERR_UNSUPPORTED, "cuda gemm: a dimension exceeds 2^31-1 (m %lld, n %lld, k %lld)",
                              (long long)m, (long long)n, (long long)k);
  cudaStream_t s = tc__cuda_stream(index);
  if (!s) return TC_ERR_CUDA;
  cublasHandle_t h = handle_for(index, s);
  if (!h) return TC_ERR_CUDA;
  cudaDataType_t t;
  cublasComputeType_t ct;
  float af = (float)alpha, bf = (float)beta;
  const void *pa = &af, *pb = &bf;
  switch (dtype) {
    case TC_F32: t = CUDA_R_32F; ct = allow_tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F; break;
    case TC_F64: t = CUDA_R_64F; ct = CUBLAS_COMPUTE_64F; pa = &alpha; pb = &beta; break;
    case TC_F16: t = CUDA_R_16F; ct = CUBLAS_COMPUTE_32F; break;
    case TC_BF16: t = CUDA_R_16BF; ct = CUBLAS_COMPUTE_32F; break;
    default: return tc__cuda_set_error(TC_ERR_DTYPE, "cuda gemm: dtype %d is not supported", (int)dtype);
  }
  if (k == 0) { /* C = beta C; cuBLAS handles k = 0 as well */ }
  cublasStatus_t st = cublasGemmStridedBatchedEx(
      h, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, (int)m, (int)n, (int)k, pa, a, t,
      (int)lda, stride_a, b, t, (int)ldb, stride_b, pb, c, t, (int)ldc, stride_c, (int)batch, ct, CUBLAS_GEMM_DEFAULT);
  if (st != CUBLAS_STATUS_SUCCESS)
    return tc__cuda_set_error(TC_ERR_CUDA, "cuda:%d: cuBLAS gemm (%lld x %lld x %lld, batch %lld) failed: %s", index,
                              (long long)m, (long long)n, (long long)k, (long long)batch, cublasGetStatusString(st));
  return TC_OK;
}
